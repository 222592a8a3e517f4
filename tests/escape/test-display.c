/*
 * Escape attempts against a human's X server, and against another session's. The test runs
 * a "human" Xvfb on the host with access control off (-ac) and listening everywhere it can:
 * its filesystem socket in the host's /tmp/.X11-unix, its abstract socket and TCP in the
 * host's network namespace. Anyone on the host may use it, the agent's uid included (the
 * test checks that first), so only mxc stands between a session and it.
 *
 * The probe (probe-display.c) performs a real X11 connection setup and prints the size of
 * the screen it reached, which tells the human's display (640x480) from the session's own
 * (1280x800) and from another session's (1024x768).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "util.h"

#define HUMAN_SIZE "640x480"

static struct mxc_harness h;
static pid_t human;	  /* the human's Xvfb */
static int human_display; /* its display number */
static int human_fd = -1; /* the read end of its -displayfd pipe */

/* Starts Xvfb :n, open to everyone; returns its pid once it is ready, or -1 if it failed. */
static pid_t start_human_x(int n)
{
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* SIGTERM, so that it removes its socket and lock file from the host's /tmp. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		/* Through a descriptor above 3: dup2 onto itself would keep O_CLOEXEC. */
		dup2(fcntl(fds[1], F_DUPFD_CLOEXEC, 10), 3);
		char display[16];
		snprintf(display, sizeof(display), ":%d", n);
		execlp("Xvfb", "Xvfb", display, "-displayfd", "3", "-ac", "-listen", "tcp",
		       "-screen", "0", HUMAN_SIZE "x24", "-nolisten", "inet6", "-noreset",
		       (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	/*
	 * Ready once the display number and a newline are written, which may come in separate
	 * writes. The pipe stays open while the server runs: closing it early would kill the
	 * server with SIGPIPE in the middle of its announcement.
	 */
	char buf[16] = {0};
	size_t got = 0;
	while (got < sizeof(buf) - 1 && !strchr(buf, '\n')) {
		struct pollfd p = {fds[0], POLLIN, 0};
		ssize_t k =
		    poll(&p, 1, 10000) == 1 ? read(fds[0], buf + got, sizeof(buf) - 1 - got) : -1;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	if (!strchr(buf, '\n') || atoi(buf) != n) {
		close(fds[0]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	human_fd = fds[0];
	return pid;
}

static void setup(void)
{
	mxc_harness_start(&h);
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	/* A display number free on the host (its /tmp is the host's). */
	for (int n = 57; n < 100 && human <= 0; n++) {
		char lock[32];
		snprintf(lock, sizeof(lock), "/tmp/.X%d-lock", n);
		if (access(lock, F_OK) == 0)
			continue;
		human = start_human_x(n);
		human_display = n;
	}
	cr_assert_gt(human, 0, "cannot start the human's Xvfb");
}

static void teardown(void)
{
	if (human > 0) {
		kill(human, SIGTERM);
		waitpid(human, NULL, 0);
		human = 0;
	}
	if (human_fd >= 0)
		close(human_fd);
	human_fd = -1;
	mxc_harness_stop(&h);
}

TestSuite(display, .init = setup, .fini = teardown, .timeout = 120);

static const struct passwd *account(const char *agent)
{
	const struct passwd *pw = getpwnam(agent);
	cr_assert_not_null(pw, "agent %s has no account", agent);
	return pw;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "cannot create %s", path);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* A session of agent with a display, under the given network object and of size (or NULL). */
static char *start(const char *agent, const char *network, const char *size)
{
	char path[300], text[1024];
	snprintf(path, sizeof(path), "%s/policy.json", h.env.scratch);
	snprintf(text, sizeof(text),
		 "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":true},\"network\":%s}",
		 network ? network : "null");
	put(path, text);
	if (size)
		return mxc_ok(&h, "session", "start", agent, "--policy", path, "--size", size,
			      NULL);
	return mxc_ok(&h, "session", "start", agent, "--policy", path, NULL);
}

static void install(const char *agent, char *probe, size_t len)
{
	char src[300];
	snprintf(src, sizeof(src), "%s/tests/escape/probe-display", h.bin);
	mxc_harness_install(agent, src, "probe-display", probe, len);
}

/* Runs argv (NULL-terminated) in session id as the agent; returns stdout. */
static char *run(const char *id, ...) __attribute__((sentinel));
static char *run(const char *id, ...)
{
	const char *a[8] = {0};
	va_list ap;
	va_start(ap, id);
	for (size_t i = 0; i < 7 && (a[i] = va_arg(ap, const char *)); i++)
		;
	va_end(ap);
	struct mxc_result r =
	    mxc_run(&h, 0, NULL, "exec", id, "--", a[0], a[1], a[2], a[3], a[4], a[5], a[6], NULL);
	free(r.err);
	return r.out;
}

/* Asserts the probe's one line of output for an attempt. */
static void expect(const char *id, const char *probe, const char *mode, const char *target,
		   const char *auth, const char *result)
{
	char *out;
	if (strcmp(mode, "tcp") == 0) {
		char host[64];
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(target, ":"), target);
		out = run(id, probe, mode, host, strchr(target, ':') + 1, auth, NULL);
	} else {
		out = run(id, probe, mode, target, auth, NULL);
	}
	char want[512];
	snprintf(want, sizeof(want), "%s%s %s\n", strcmp(mode, "abstract") == 0 ? "@" : "", target,
		 result);
	cr_assert_str_eq(out, want, "%s %s (%s): got '%s', want '%s'", mode, target, auth, out,
			 want);
	free(out);
}

/*
 * Runs the probe outside any session, as the agent's uid, in the test's (the host's)
 * namespaces; returns its output.
 */
static char *probe_outside(const char *agent, const char *probe, const char *mode, const char *a,
			   const char *b, const char *c)
{
	const struct passwd *pw = account(agent);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(126);
		execl(probe, "probe-display", mode, a, b, c, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char *out = calloc(1, 1024);
	cr_assert_geq(mxc_read_full(fds[0], out, 1023), 0);
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the probe failed outside");
	return out;
}

static char *printf_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *printf_str(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	return s;
}

static void assert_human_alive(void)
{
	cr_assert_eq(waitpid(human, NULL, WNOHANG), 0, "the human's Xvfb died");
}

Test(display, the_humans_display_is_out_of_reach)
{
	char *id = start("coder", NULL, NULL), probe[300];
	install("coder", probe, sizeof(probe));
	char *sock = printf_str("/tmp/.X11-unix/X%d", human_display);
	char *port = printf_str("%d", 6000 + human_display);
	char *tcp = printf_str("127.0.0.1:%s", port);

	/* Without mxc, the agent's uid reaches the human's display every way. */
	char *out = probe_outside("coder", probe, "unix", sock, "none", NULL);
	char *want = printf_str("%s x11 " HUMAN_SIZE "\n", sock);
	cr_assert_str_eq(out, want, "the human's display is not open to the agent's uid: %s", out);
	free(want);
	free(out);
	out = probe_outside("coder", probe, "abstract", sock, "none", NULL);
	want = printf_str("@%s x11 " HUMAN_SIZE "\n", sock);
	cr_assert_str_eq(out, want, "%s", out);
	free(want);
	free(out);
	out = probe_outside("coder", probe, "tcp", "127.0.0.1", port, "none");
	want = printf_str("%s x11 " HUMAN_SIZE "\n", tcp);
	cr_assert_str_eq(out, want, "%s", out);
	free(want);
	free(out);

	/* Positive control: the session's own display answers, with its cookie only. */
	expect(id, probe, "unix", "/tmp/.X11-unix/X0", "cookie", "x11 1280x800");
	expect(id, probe, "unix", "/tmp/.X11-unix/X0", "none",
	       "refused Authorization required, but no authorization protocol specified");

	/* The host's /tmp is not the session's: the socket file is not there, by any path. */
	expect(id, probe, "unix", sock, "cookie", "ENOENT");
	char *via = printf_str("/proc/self/root%s", sock);
	expect(id, probe, "unix", via, "cookie", "ENOENT");
	free(via);
	via = printf_str("/proc/1/root%s", sock);
	expect(id, probe, "unix", via, "cookie", "EACCES");
	free(via);
	/* Its abstract socket and TCP port are in the host's network namespace. */
	expect(id, probe, "abstract", sock, "cookie", "ECONNREFUSED");
	expect(id, probe, "abstract", sock, "none", "ECONNREFUSED");
	expect(id, probe, "tcp", tcp, "none", "ECONNREFUSED");

	/* The same with the X tools the session has. */
	char *display = printf_str(":%d", human_display);
	struct mxc_result r =
	    mxc_run(&h, 0, NULL, "exec", id, "--", "xdpyinfo", "-display", display, NULL);
	cr_assert_neq(r.status, 0, "xdpyinfo reached the human's display: %s", r.out);
	cr_assert_null(strstr(r.out, HUMAN_SIZE), "%s", r.out);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "exec", id, "--", "xdpyinfo", "-display", tcp, NULL);
	cr_assert_neq(r.status, 0, "xdpyinfo reached the human's display over TCP: %s", r.out);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "exec", id, "--", "xdpyinfo", NULL);
	cr_assert_eq(r.status, 0, "xdpyinfo cannot reach the session's own display: %s", r.err);
	cr_assert_not_null(strstr(r.out, "dimensions:    1280x800 pixels"), "%s", r.out);
	mxc_result_free(&r);

	assert_human_alive();
	free(display);
	free(tcp);
	free(port);
	free(sock);
	free(id);
}

Test(display, the_humans_display_over_the_hosts_network_is_filtered)
{
	/* Egress to everywhere, but not to the host itself: the default. */
	char *open_id = start("coder", "{\"egress\":{\"default\":\"allow\"}}", NULL);
	/* Positive control: a policy that lets the session reach the host. */
	char *host_id = start("coder", "{\"ingress\":{\"hostLoopback\":\"allow\"}}", NULL);
	char probe[300];
	install("coder", probe, sizeof(probe));
	char *tcp = printf_str("gateway:%d", 6000 + human_display);
	expect(host_id, probe, "tcp", tcp, "none", "x11 " HUMAN_SIZE);
	/* The host's side of the session's link: nftables rejects (a TCP reset). */
	expect(open_id, probe, "tcp", tcp, "none", "ECONNREFUSED");
	expect(open_id, probe, "tcp", tcp, "cookie", "ECONNREFUSED");
	assert_human_alive();
	free(tcp);
	free(host_id);
	free(open_id);
}

/* The host pid of the Xvfb in the session whose leader is leader. */
static pid_t xvfb_of(pid_t leader)
{
	char path[64], ns[64], other[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", leader);
	ssize_t n = readlink(path, ns, sizeof(ns) - 1);
	cr_assert_gt(n, 0);
	ns[n] = '\0';
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;
	while (d && (de = readdir(d)) && !found) {
		int pid = atoi(de->d_name);
		char *comm = NULL;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (pid <= 0 || mxc_read_file(path, 64, &comm, NULL) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
		n = readlink(path, other, sizeof(other) - 1);
		if (n > 0 && strcmp(comm, "Xvfb\n") == 0) {
			other[n] = '\0';
			if (strcmp(other, ns) == 0)
				found = pid;
		}
		free(comm);
	}
	if (d)
		closedir(d);
	cr_assert_gt(found, 0, "no Xvfb in the session of leader %d", leader);
	return found;
}

static pid_t leader_of(const char *id)
{
	char *out = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(out);
	pid_t pid = (pid_t)mxc_test_int(o, "leader_pid");
	cr_assert_gt(pid, 1, "%s", out);
	json_object_put(o);
	free(out);
	return pid;
}

/* Asserts that session a (of agent, with the probe at probe) cannot reach session b's display. */
static void assert_display_unreachable(const char *a, const char *probe, const char *b,
				       const char *own)
{
	/* B's socket directory on the host, and through its Xvfb's /proc root. */
	char *path = printf_str("%s/sessions/%s/x11/X0", h.run, b);
	expect(a, probe, "unix", path, "cookie", "ENOENT");
	free(path);
	path = printf_str("/proc/%d/root/tmp/.X11-unix/X0", xvfb_of(leader_of(b)));
	expect(a, probe, "unix", path, "cookie", "ENOENT");
	free(path);
	/* No abstract socket: session servers listen on their file only, in their own network. */
	expect(a, probe, "abstract", "/tmp/.X11-unix/X0", "cookie", "ECONNREFUSED");
	/* What A's /tmp/.X11-unix holds is its own display. */
	expect(a, probe, "unix", "/tmp/.X11-unix/X0", "cookie", own);
	struct mxc_result r =
	    mxc_run(&h, 0, NULL, "exec", a, "--", "ls", "-A", "/tmp/.X11-unix", NULL);
	cr_assert_str_eq(r.out, "X0\n", "%s", r.err);
	mxc_result_free(&r);
}

Test(display, another_sessions_display_is_out_of_reach)
{
	free(mxc_ok(&h, "agent", "add", "other", NULL));
	char *a = start("coder", NULL, NULL), *b = start("coder", NULL, "1024x768");
	char *c = start("other", NULL, "1024x768"), pa[300], pc[300];
	install("coder", pa, sizeof(pa));
	install("other", pc, sizeof(pc));
	/* Positive controls: B and C reach their own displays. */
	expect(b, pa, "unix", "/tmp/.X11-unix/X0", "cookie", "x11 1024x768");
	expect(c, pc, "unix", "/tmp/.X11-unix/X0", "cookie", "x11 1024x768");
	/* Another session of the same agent (same uid), and one of another agent. */
	assert_display_unreachable(a, pa, b, "x11 1280x800");
	assert_display_unreachable(a, pa, c, "x11 1280x800");
	assert_display_unreachable(c, pc, a, "x11 1024x768");
	free(a);
	free(b);
	free(c);
}
