/*
 * The attacker of the process escape tests, run as the agent inside a session. Each attempt
 * prints one line, "WHO WHAT RESULT", RESULT being "ok" or the errno name, so that the test
 * checks every refusal for its reason and every positive control for its success.
 *
 *   probe-process outside PID...   signal, trace, open and read processes by host pid
 *   probe-process joined PID...    the same but scheduling, on a process that joined the
 *                                  session's namespaces from outside (its pid in the session)
 *   probe-process inside           the same against a child of its own (positive control)
 *   probe-process scan MARK        list /proc; "match PID" for a command line holding MARK
 *   probe-process killall          kill(-1, SIGKILL): every process the probe may signal
 *   probe-process sock LINE...     send request lines on the session's socket, print answers
 *   probe-process listen NAME SEC  serve the abstract unix socket NAME for SEC seconds
 *   probe-process connect NAME N   connect to the abstract unix socket NAME (N tries)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Read through /proc/PID/mem and process_vm_readv in the child, at the same address. */
static char secret[] = "inside-secret";

static const char *result(long r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

static void say(const char *who, const char *what, const char *res)
{
	printf("%s %s %s\n", who, what, res);
	fflush(stdout);
}

static const char *open_file(pid_t pid, const char *name, int flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return strerrorname_np(errno);
	char buf[64] = {0};
	ssize_t n = strcmp(name, "mem") == 0
			? pread(fd, buf, sizeof(secret), (off_t)(uintptr_t)secret)
			: read(fd, buf, sizeof(buf));
	int e = errno;
	close(fd);
	if (n < 0)
		return strerrorname_np(e);
	if (strcmp(name, "mem") == 0 && strcmp(buf, secret) != 0)
		return "wrong-data";
	return n > 0 ? "ok" : "empty";
}

static const char *vm_read(pid_t pid)
{
	char buf[sizeof(secret)] = {0};
	struct iovec local = {buf, sizeof(buf)}, remote = {secret, sizeof(secret)};
	ssize_t n = syscall(SYS_process_vm_readv, pid, &local, 1UL, &remote, 1UL, 0UL);
	if (n < 0)
		return strerrorname_np(errno);
	return strcmp(buf, secret) == 0 ? "ok" : "wrong-data";
}

/* PTRACE_ATTACH, then waits for the stop and detaches again. */
static const char *attach(pid_t pid)
{
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
		return strerrorname_np(errno);
	int status;
	if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status))
		return "no-stop";
	return ptrace(PTRACE_DETACH, pid, NULL, NULL) < 0 ? "detach-failed" : "ok";
}

static const char *seize(pid_t pid)
{
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
		return strerrorname_np(errno);
	int status;
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0 || waitpid(pid, &status, __WALL) != pid ||
	    !WIFSTOPPED(status))
		return "no-stop";
	return ptrace(PTRACE_DETACH, pid, NULL, NULL) < 0 ? "detach-failed" : "ok";
}

/*
 * Every attempt on pid, the destructive ones last; who names it in the output. Changes of
 * scheduling are left out when !scheduling: only the PID namespace stops them (Landlock
 * does not cover them), so they are tried only on processes outside it.
 */
static void attack(const char *who, pid_t pid, bool with_signals, bool scheduling)
{
	say(who, "kill0", result(kill(pid, 0)));
	say(who, "attach", attach(pid));
	say(who, "seize", seize(pid));
	long fd = syscall(SYS_pidfd_open, pid, 0);
	say(who, "pidfd", result(fd));
	if (fd >= 0) {
		/* Signalling through the descriptor is the same attack by another way. */
		say(who, "pidfd_signal0",
		    result(syscall(SYS_pidfd_send_signal, (int)fd, 0, NULL, 0U)));
		close((int)fd);
	}
	say(who, "status", open_file(pid, "status", O_RDONLY));
	say(who, "environ", open_file(pid, "environ", O_RDONLY));
	say(who, "mem", open_file(pid, "mem", O_RDONLY));
	say(who, "memwrite", open_file(pid, "mem", O_RDWR));
	say(who, "vmread", vm_read(pid));
	if (scheduling) {
		say(who, "prio", result(setpriority(PRIO_PROCESS, (id_t)pid, 10)));
		say(who, "sched",
		    result(sched_setscheduler(pid, SCHED_IDLE, &(struct sched_param){0})));
	}
	if (!with_signals)
		return;
	say(who, "stop", result(kill(pid, SIGSTOP)));
	say(who, "cont", result(kill(pid, SIGCONT)));
	say(who, "pgrp", result(kill(-pid, SIGTERM)));
	say(who, "term", result(kill(pid, SIGTERM)));
	say(who, "kill9", result(kill(pid, SIGKILL)));
}

static int outside(int argc, char **argv, bool scheduling)
{
	for (int i = 0; i < argc; i++)
		attack(argv[i], (pid_t)atoi(argv[i]), true, scheduling);
	return 0;
}

/* The same attempts against a child of the probe's own, which must all work. */
static int inside(void)
{
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	if (child < 0)
		return 1;
	attack("child", child, false, true);
	say("child", "term", result(kill(child, SIGTERM)));
	int status;
	waitpid(child, &status, 0);
	say("child", "died", WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "no");
	return 0;
}

static int scan(const char *mark)
{
	DIR *d = opendir("/proc");
	if (!d) {
		say("proc", "opendir", strerrorname_np(errno));
		return 1;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		n++;
		char path[64], buf[4096];
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (len < 0)
			len = 0;
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		printf("proc %d %s\n", pid, buf);
		/* The probe's own command line names the mark. */
		if (pid != getpid() && strstr(buf, mark))
			printf("match %d\n", pid);
	}
	closedir(d);
	printf("procs %d\n", n);
	return 0;
}

static int killall(void)
{
	say("all", "kill9", result(kill(-1, SIGKILL)));
	return 0;
}

static int sock(int argc, char **argv)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "/run/mxc/sessiond.sock"};
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		say("sock", "connect", strerrorname_np(errno));
		return 1;
	}
	FILE *in = fdopen(dup(fd), "r");
	for (int i = 0; i < argc && in; i++) {
		char line[8192];
		dprintf(fd, "%s\n", argv[i]);
		if (!fgets(line, sizeof(line), in)) {
			say("sock", "read", "EOF");
			break;
		}
		fputs(line, stdout);
	}
	if (in)
		fclose(in);
	close(fd);
	return 0;
}

static socklen_t abstract(struct sockaddr_un *addr, const char *name)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	size_t len = strnlen(name, sizeof(addr->sun_path) - 1);
	memcpy(addr->sun_path + 1, name, len);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

static int listen_on(const char *name, int seconds)
{
	struct sockaddr_un addr;
	socklen_t len = abstract(&addr, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, 16) < 0) {
		say(name, "listen", strerrorname_np(errno));
		return 1;
	}
	alarm((unsigned)seconds);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		dprintf(c, "hello-from-%s\n", name);
		close(c);
	}
}

static int connect_to(const char *name, int tries)
{
	struct sockaddr_un addr;
	socklen_t len = abstract(&addr, name);
	for (int i = 0;; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 1;
		if (connect(fd, (struct sockaddr *)&addr, len) == 0) {
			/* A listener that never answers must not hang the probe. */
			struct timeval tv = {2, 0};
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			char buf[256] = {0};
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			close(fd);
			say(name, "connect", buf[0] ? buf : "no-greeting");
			return 0;
		}
		int e = errno;
		close(fd);
		if (e != ECONNREFUSED || i + 1 >= tries) {
			say(name, "connect", strerrorname_np(e));
			return 0;
		}
		usleep(100000);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "outside") == 0)
		return outside(argc - 2, argv + 2, true);
	if (argc >= 3 && strcmp(argv[1], "joined") == 0)
		return outside(argc - 2, argv + 2, false);
	if (argc == 2 && strcmp(argv[1], "inside") == 0)
		return inside();
	if (argc == 3 && strcmp(argv[1], "scan") == 0)
		return scan(argv[2]);
	if (argc == 2 && strcmp(argv[1], "killall") == 0)
		return killall();
	if (argc >= 3 && strcmp(argv[1], "sock") == 0)
		return sock(argc - 2, argv + 2);
	if (argc == 4 && strcmp(argv[1], "listen") == 0)
		return listen_on(argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "connect") == 0)
		return connect_to(argv[2], atoi(argv[3]));
	fprintf(stderr,
		"usage: probe-process outside|joined PID... | inside | scan MARK | killall | "
		"sock LINE... | listen NAME SEC | connect NAME TRIES\n");
	return 2;
}
