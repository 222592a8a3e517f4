/*
 * mxc-init: pid 1 of an agent session, running as the agent, and the session's spawner.
 *
 * It starts the display server and waits until it is ready, starts the session's command,
 * reports to the daemon on the status fd, then serves the daemon on the control socket:
 * every later process of the session (exec'd commands, launched programs, the display
 * helper) is its child, so that all of them share its namespaces, cgroup, Landlock domain,
 * seccomp filter and limits. It reaps orphans, ends the session when the display server
 * dies, and stops it when the daemon asks (SIGTERM from outside the session: everything
 * gets SIGTERM, then it exits and the kernel kills whatever is left).
 *
 *   mxc-init --status-fd=N --control-fd=N [--log=PATH]
 *            [--server-argc=K --ready-fd=M SERVER...] -- [CMD...]
 *
 * Status lines on the status fd: "ready" or "error MESSAGE". The control fd is a listening
 * socket reachable only by root on the host; the daemon connects to it (again after a
 * restart) and sends, one JSON line each:
 *   {"v":1,"verb":"spawn","args":{"id":N,"argv":[...],"cwd":"...","detach":false,"output":"..."}}
 *      with the new process's descriptors 0, 1, 2 (and 3...) attached
 *   {"v":1,"verb":"kill","args":{"id":N,"signal":9}}
 * and gets events: {"v":1,"event":"spawned","id":N,"pid":P}, {"v":1,"event":"failed","id":N,
 * "code":"ENOENT","message":"..."}, {"v":1,"event":"exited","id":N,"status":S}.
 * Processes spawned without "detach" end when the daemon's connection does.
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "proto.h"
#include "util.h"

/* Exit statuses the daemon reads. */
#define EXIT_DISPLAY_DIED 2
#define EXIT_SETUP 1
/* Time processes get between SIGTERM and the end of the session. */
#define STOP_GRACE_MS 2000
/* Processes the daemon may have spawned and not yet seen exit. */
#define MAX_CHILDREN 4096
#define MAX_SPAWN_FDS 4

static int status_fd = -1;
static int log_fd = -1;

/* A process spawned for the daemon. */
struct child {
	uint64_t id;
	pid_t pid;
	bool tracked; /* its exit is reported, and it ends with the daemon's connection */
};

static struct child children[MAX_CHILDREN];
static size_t n_children;
static int control = -1; /* the daemon's connection */

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

static void child_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

/*
 * Forks and executes argv in a session of its own. fds[i] becomes descriptor i; with no
 * fds, stdio is /dev/null and the log; with output, stdout and stderr are appended there (or
 * to the log if it cannot be opened). Returns the pid, or -errno if it could not be
 * executed (the reason comes back through a close-on-exec pipe).
 */
static pid_t start(char **argv, const int *fds, size_t n_fds, const char *cwd,
		   const char *output)
{
	int e[2];
	if (pipe2(e, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(e[0]);
		close(e[1]);
		return r;
	}
	if (pid == 0) {
		child_signals();
		setsid();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int out = output ? open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
					0600)
				 : -1;
		if (out < 0 && (output || !n_fds))
			out = log_fd >= 0 ? log_fd : null;
		int src[MAX_SPAWN_FDS];
		size_t n = n_fds ? n_fds : 3;
		for (size_t i = 0; i < n; i++) {
			int from = (i == 1 || i == 2) && out >= 0 ? out : n_fds ? fds[i] : null;
			/* Lifted high first, so that no target overwrites a later source. */
			src[i] = fcntl(from, F_DUPFD_CLOEXEC, 100);
		}
		for (size_t i = 0; i < n; i++)
			if (src[i] < 0 || dup2(src[i], (int)i) < 0)
				_exit(127);
		syscall(SYS_close_range, (unsigned)n, ~0U, CLOSE_RANGE_CLOEXEC);
		if (cwd && chdir(cwd) < 0 && chdir("/") < 0)
			_exit(127);
		execvp(argv[0], argv);
		int err = errno;
		mxc_write_all(e[1], &err, sizeof(err));
		_exit(127);
	}
	close(e[1]);
	int err = 0;
	ssize_t n = mxc_read_full(e[0], &err, sizeof(err));
	close(e[0]);
	if (n == sizeof(err)) {
		waitpid(pid, NULL, 0);
		return -err;
	}
	return pid;
}

static void send_event(struct json_object *ev)
{
	mxc_json_add_i64(ev, "v", MXC_PROTO_VERSION);
	if (control >= 0 && mxc_send_json(control, ev, NULL, 0) < 0)
		control = mxc_close(control);
	json_object_put(ev);
}

static struct json_object *event(const char *name, uint64_t id)
{
	struct json_object *ev = json_object_new_object();
	mxc_json_add_str(ev, "event", name);
	mxc_json_add_i64(ev, "id", (int64_t)id);
	return ev;
}

static void do_spawn(struct json_object *args, const int *fds, size_t n_fds)
{
	int64_t id = 0;
	char **argv = NULL;
	const char *cwd = NULL, *output = NULL;
	bool detach = false;
	mxc_json_get_i64(args, "id", 0, INT64_MAX, &id, NULL);
	mxc_json_get_str(args, "cwd", 4096, &cwd, NULL);
	mxc_json_get_str(args, "output", 4096, &output, NULL);
	mxc_json_get_bool(args, "detach", &detach, NULL);
	int r = mxc_json_get_strv(args, "argv", 4096, 1 << 20, &argv, NULL);
	if (r == 0 && !argv[0])
		r = -EINVAL;
	if (r == 0 && (n_fds > MAX_SPAWN_FDS || (n_fds && n_fds < 3)))
		r = -EINVAL;
	if (r == 0 && n_children == MAX_CHILDREN && !detach)
		r = -EAGAIN;
	pid_t pid = r < 0 ? r : start(argv, fds, n_fds, cwd, output);
	if (pid < 0) {
		struct json_object *ev = event("failed", (uint64_t)id);
		mxc_json_add_str(ev, "code", mxc_errno_name(pid));
		mxc_json_add_str(ev, "message", strerror(-pid));
		send_event(ev);
	} else {
		if (!detach)
			children[n_children++] = (struct child){ (uint64_t)id, pid, true };
		struct json_object *ev = event("spawned", (uint64_t)id);
		mxc_json_add_i64(ev, "pid", pid);
		send_event(ev);
	}
	mxc_strv_free(argv);
}

static void do_kill(struct json_object *args)
{
	int64_t id = -1, sig = SIGKILL;
	mxc_json_get_i64(args, "id", 0, INT64_MAX, &id, NULL);
	mxc_json_get_i64(args, "signal", 1, 64, &sig, NULL);
	for (size_t i = 0; i < n_children; i++)
		if (children[i].id == (uint64_t)id) {
			/* Its whole process group: a shell's children go with it. */
			kill(-children[i].pid, (int)sig);
			kill(children[i].pid, (int)sig);
		}
}

/* The daemon's connection is gone: what it spawned and watched ends with it. */
static void disconnected(void)
{
	control = mxc_close(control);
	for (size_t i = 0; i < n_children; i++) {
		kill(-children[i].pid, SIGKILL);
		kill(children[i].pid, SIGKILL);
	}
}

/* Reads and handles what the daemon sent; false when the connection ended. */
static bool serve(struct mxc_reader *in)
{
	int n = mxc_reader_fill(in, control);
	if (n == 0 || (n < 0 && n != -EAGAIN))
		return false;
	for (;;) {
		char *line;
		size_t len;
		int k = mxc_reader_line(in, &line, &len);
		if (k < 0)
			return false;
		if (k == 0)
			return true;
		struct json_object *req = NULL, *args = NULL;
		const char *verb = NULL;
		int fds[MXC_PROTO_MAX_FDS];
		size_t n_fds = mxc_reader_take_fds(in, fds, MXC_PROTO_MAX_FDS);
		mxc_reader_drop_fds(in);
		if (mxc_json_parse(line, len, &req, NULL) == 0 &&
		    mxc_proto_parse_request(req, &verb, &args, NULL) == 0) {
			if (strcmp(verb, "spawn") == 0)
				do_spawn(args, fds, n_fds);
			else if (strcmp(verb, "kill") == 0)
				do_kill(args);
		}
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		json_object_put(req);
	}
}

/* Accepts the daemon (root, on the host: nobody else can reach the socket's path). */
static void accept_daemon(int listen_fd, struct mxc_reader *in)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
		close(fd);
		return;
	}
	/* A new daemon replaces an old connection (and what it watched). */
	if (control >= 0)
		disconnected();
	mxc_reader_finish(in);
	mxc_reader_init(in, MXC_PROTO_MAX_LINE);
	control = fd;
}

static uint64_t now_ms(void)
{
	return mxc_now_mono_ns() / 1000000ull;
}

/* Reaps every exited child; returns true if the display server was among them. */
static bool reap(pid_t server)
{
	bool server_died = false;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == server)
			server_died = true;
		for (size_t i = 0; i < n_children; i++) {
			if (children[i].pid != pid)
				continue;
			struct json_object *ev = event("exited", children[i].id);
			mxc_json_add_i64(ev, "status",
					 WIFEXITED(status) ? WEXITSTATUS(status)
							   : 128 + WTERMSIG(status));
			send_event(ev);
			children[i] = children[--n_children];
			break;
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

static pid_t start_server(char **argv, int argc, int ready_fd, int sfd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		fail("mxc-init: pipe: %s", strerror(errno));
	char **sargv = calloc((size_t)argc + 1, sizeof(char *));
	if (!sargv)
		fail("mxc-init: out of memory");
	memcpy(sargv, argv, (size_t)argc * sizeof(char *));
	/* The server's readiness pipe goes to the descriptor its command line names. */
	int fds[MAX_SPAWN_FDS] = { -1, -1, -1, -1 };
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	fds[0] = null;
	fds[1] = fds[2] = log_fd >= 0 ? log_fd : null;
	if (ready_fd != 3)
		fail("mxc-init: the display server's ready fd must be 3");
	fds[3] = p[1];
	pid_t server = start(sargv, fds, 4, NULL, NULL);
	free(sargv);
	close(p[1]);
	close(null);
	if (server < 0)
		fail("failed to start the display server: %s", strerror((int)-server));
	/*
	 * Ready when the server has written its display number and a newline, which may come
	 * in separate writes. The pipe stays open: closing it early would kill the server with
	 * SIGPIPE in the middle of its announcement.
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
				int status = 0;
				waitpid(server, &status, 0);
				fail("the display server exited before it was ready (status %d)",
				     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			}
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGTERM && si.ssi_pid == 0)
					_exit(0);
			if (reap(server))
				fail("the display server exited before it was ready");
		}
	}
	return server;
}

int main(int argc, char **argv)
{
	const char *log_path = NULL;
	char **server_argv = NULL;
	int server_argc = 0, ready_fd = -1, listen_fd = -1, i = 1, v;
	/*
	 * First of all, before the agent has a process: not dumpable, so that the agent's
	 * processes (same uid) can neither trace us, read our memory, nor take our descriptors
	 * (the daemon's control socket) with pidfd_getfd. execve made us dumpable again.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("mxc-init: cannot make itself non-dumpable: %s", strerror(errno));
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if ((v = parse_int_opt(argv[i], "--status-fd", 1024)) >= 0) {
			status_fd = v;
		} else if ((v = parse_int_opt(argv[i], "--control-fd", 1024)) >= 0) {
			listen_fd = v;
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
	if (listen_fd < 0 || fcntl(listen_fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(listen_fd, F_SETFL, O_NONBLOCK) < 0)
		fail("mxc-init: no control socket");

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
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fail("mxc-init: signalfd: %s", strerror(errno));

	if (log_path)
		log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

	pid_t server = server_argv ? start_server(server_argv, server_argc, ready_fd, sfd) : 0;
	if (command) {
		pid_t pid = start(command, NULL, 0, NULL, NULL);
		if (pid < 0)
			fail("cannot execute '%s': %s", command[0], strerror((int)-pid));
	}
	report("ready");
	status_fd = mxc_close(status_fd);

	struct mxc_reader in;
	mxc_reader_init(&in, MXC_PROTO_MAX_LINE);
	uint64_t deadline = 0;
	for (;;) {
		int timeout = -1;
		if (deadline) {
			uint64_t now = now_ms();
			if (now >= deadline)
				_exit(0);
			timeout = (int)(deadline - now);
		}
		struct pollfd p[3] = { { sfd, POLLIN, 0 },
				       { listen_fd, POLLIN, 0 },
				       { control, POLLIN, 0 } };
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			_exit(EXIT_SETUP);
		if (p[1].revents)
			accept_daemon(listen_fd, &in);
		if (p[2].revents && control >= 0 && !serve(&in))
			disconnected();
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			/* Only the daemon, outside the session (sender pid 0 here), may stop it. */
			if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && si.ssi_pid == 0 &&
			    !deadline) {
				kill(-1, SIGTERM);
				deadline = now_ms() + STOP_GRACE_MS;
			}
		}
		if (reap(server) && server && !deadline)
			_exit(EXIT_DISPLAY_DIED);
		if (deadline && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			_exit(0);
	}
}
