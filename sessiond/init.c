/*
 * mxc-init: pid 1 of an agent session, running as the agent. It starts the display server
 * and waits until it is ready, starts the session's command, reports to the daemon, then
 * reaps orphans until the display server dies (the session ends) or the daemon asks it to
 * stop (SIGTERM from outside the session: everything gets SIGTERM, then it exits and the
 * kernel kills whatever is left).
 *
 *   mxc-init --status-fd=N [--log=PATH] [--server-argc=K --ready-fd=M SERVER...] -- [CMD...]
 *
 * Status lines on the status fd: "ready" or "error MESSAGE".
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Exit statuses the daemon reads. */
#define EXIT_DISPLAY_DIED 2
#define EXIT_SETUP 1
/* Time processes get between SIGTERM and the end of the session. */
#define STOP_GRACE_MS 2000

static int status_fd = -1;
static int log_fd = -1;

static void report(const char *fmt, ...) MXC_PRINTF(1, 2);
static void report(const char *fmt, ...)
{
	if (status_fd < 0)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[n++] = '\n';
	mxc_write_all(status_fd, buf, (size_t)n);
}

static void __attribute__((noreturn)) fail(const char *fmt, ...)
{
	char buf[480];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	report("error %s", buf);
	_exit(EXIT_SETUP);
}

/* Starts argv with stdio on /dev/null and the log; target_fd (if >= 0) gets extra_fd. */
static pid_t start(char **argv, int extra_fd, int target_fd, int exec_err_fd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int out = log_fd >= 0 ? log_fd : null;
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	if (target_fd >= 0 && (extra_fd == target_fd ? fcntl(target_fd, F_SETFD, 0)
						      : dup2(extra_fd, target_fd)) < 0)
		_exit(127);
	syscall(SYS_close_range, target_fd >= 0 ? (unsigned)target_fd + 1 : 3U, ~0U,
		CLOSE_RANGE_CLOEXEC);
	execvp(argv[0], argv);
	int e = errno;
	if (exec_err_fd >= 0)
		mxc_write_all(exec_err_fd, &e, sizeof(e));
	_exit(127);
}

static uint64_t now_ms(void)
{
	return mxc_now_mono_ns() / 1000000ull;
}

/* Reaps every exited child; returns true if the display server was among them. */
static bool reap(pid_t server, int *ret_status)
{
	bool server_died = false;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == server) {
			server_died = true;
			*ret_status = status;
		}
	}
	return server_died;
}

static int parse_int_opt(const char *arg, const char *name, uint64_t max)
{
	size_t n = strlen(name);
	uint64_t v;
	if (strncmp(arg, name, n) != 0 || arg[n] != '=' || mxc_parse_u64(arg + n + 1, max, &v) < 0)
		return -1;
	return (int)v;
}

int main(int argc, char **argv)
{
	const char *log_path = NULL;
	char **server_argv = NULL;
	int server_argc = 0, ready_fd = -1, i = 1, v;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if ((v = parse_int_opt(argv[i], "--status-fd", 1024)) >= 0) {
			status_fd = v;
		} else if (strncmp(argv[i], "--log=", 6) == 0) {
			log_path = argv[i] + 6;
		} else if ((v = parse_int_opt(argv[i], "--server-argc", 4096)) > 0 && i + 1 < argc &&
			   (ready_fd = parse_int_opt(argv[i + 1], "--ready-fd", 1024)) >= 0 &&
			   i + 2 + v <= argc) {
			/* --server-argc=K --ready-fd=M, then the K words of the server's argv */
			server_argc = v;
			server_argv = &argv[i + 2];
			i += 1 + v;
		} else {
			fail("mxc-init: bad argument '%s'", argv[i]);
		}
	}
	char **command = i < argc ? &argv[i] : NULL;
	if (status_fd >= 0)
		fcntl(status_fd, F_SETFD, FD_CLOEXEC);

	/*
	 * As pid 1 of the session's PID namespace, signals with default handling sent from
	 * inside are dropped; blocked ones are queued and read here, filtered by sender.
	 */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fail("mxc-init: signalfd: %s", strerror(errno));

	if (log_path)
		log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

	pid_t server = 0;
	int server_status = 0;
	if (server_argv) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			fail("mxc-init: pipe: %s", strerror(errno));
		char **sargv = calloc((size_t)server_argc + 1, sizeof(char *));
		if (!sargv)
			fail("mxc-init: out of memory");
		memcpy(sargv, server_argv, (size_t)server_argc * sizeof(char *));
		server = start(sargv, p[1], ready_fd, -1);
		free(sargv);
		close(p[1]);
		if (server < 0)
			fail("failed to start the display server: %s", strerror(errno));
		/*
		 * Ready when the server has written its display number and a newline, which
		 * may come in separate writes. The pipe stays open: closing it early would
		 * kill the server with SIGPIPE in the middle of its announcement.
		 */
		size_t got = 0;
		bool ready = false;
		while (!ready) {
			struct pollfd pfd[2] = { { p[0], POLLIN, 0 }, { sfd, POLLIN, 0 } };
			if (poll(pfd, 2, -1) < 0 && errno != EINTR)
				fail("mxc-init: poll: %s", strerror(errno));
			if (pfd[0].revents) {
				char buf[32];
				ssize_t n = read(p[0], buf, sizeof(buf));
				if (n > 0) {
					got += (size_t)n;
					ready = memchr(buf, '\n', (size_t)n) != NULL || got > 16;
					continue;
				}
				if (n == 0) {
					waitpid(server, &server_status, 0);
					fail("the display server exited before it was ready (status %d)",
					     WIFEXITED(server_status) ? WEXITSTATUS(server_status)
								      : 128 + WTERMSIG(server_status));
				}
			}
			if (pfd[1].revents) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) == sizeof(si))
					if (si.ssi_signo == SIGTERM && si.ssi_pid == 0)
						_exit(0);
				if (reap(server, &server_status))
					fail("the display server exited before it was ready");
			}
		}
	}

	if (command) {
		int e[2];
		if (pipe2(e, O_CLOEXEC) < 0)
			fail("mxc-init: pipe: %s", strerror(errno));
		pid_t pid = start(command, -1, -1, e[1]);
		close(e[1]);
		int err = 0;
		ssize_t n = pid < 0 ? -1 : mxc_read_full(e[0], &err, sizeof(err));
		close(e[0]);
		if (pid < 0)
			fail("failed to start '%s': %s", command[0], strerror(errno));
		if (n == sizeof(err))
			fail("cannot execute '%s': %s", command[0], strerror(err));
	}

	report("ready");
	status_fd = mxc_close(status_fd);

	uint64_t deadline = 0;
	for (;;) {
		int timeout = -1;
		if (deadline) {
			uint64_t now = now_ms();
			if (now >= deadline)
				_exit(0);
			timeout = (int)(deadline - now);
		}
		struct pollfd pfd = { sfd, POLLIN, 0 };
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
			_exit(EXIT_SETUP);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			/* Only the daemon, outside the session (sender pid 0 here), may stop it. */
			if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && si.ssi_pid == 0 &&
			    !deadline) {
				kill(-1, SIGTERM);
				deadline = now_ms() + STOP_GRACE_MS;
			}
		}
		if (reap(server, &server_status) && server && !deadline)
			_exit(EXIT_DISPLAY_DIED);
		if (deadline && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			_exit(0);
	}
}
