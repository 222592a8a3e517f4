/*
 * Escape attempts against processes outside the session: a process of the same uid as the
 * agent (which, without mxc, the agent could signal, trace and read at will), one of root,
 * and every process of another agent's session. The probe (probe-process.c) runs as the
 * agent inside the session and prints one line per attempt with its errno; each run is
 * paired with the same attempts against a process of the session's own, which must work.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "util.h"

#define MARK "mxc-escape-victim"

static struct mxc_harness h;
static pid_t victims[4];
static size_t n_victims;

static void setup(void)
{
	mxc_harness_start(&h);
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
}

static void teardown(void)
{
	for (size_t i = 0; i < n_victims; i++) {
		kill(victims[i], SIGKILL);
		waitpid(victims[i], NULL, 0);
	}
	n_victims = 0;
	mxc_harness_stop(&h);
}

TestSuite(process, .init = setup, .fini = teardown, .timeout = 120);

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

/* A process-only session of agent. */
static char *start(const char *agent)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/policy.json", h.env.scratch);
	put(path, "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false}}");
	return mxc_ok(&h, "session", "start", agent, "--policy", path, NULL);
}

/* Installs the probe into agent's home; its path there in probe. */
static void install(const char *agent, char *probe, size_t len)
{
	char src[300];
	snprintf(src, sizeof(src), "%s/tests/escape/probe-process", h.bin);
	mxc_harness_install(agent, src, "probe-process", probe, len);
}

/* Runs the probe in session id with the given arguments (NULL-terminated). */
static char *probe(const char *id, const char *path, ...) __attribute__((sentinel));
static char *probe(const char *id, const char *path, ...)
{
	const char *a[10] = {0};
	va_list ap;
	va_start(ap, path);
	for (size_t i = 0; i < 9 && (a[i] = va_arg(ap, const char *)); i++)
		;
	va_end(ap);
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", path, a[0], a[1], a[2], a[3],
				      a[4], a[5], a[6], a[7], a[8], NULL);
	cr_assert_eq(r.status, 0, "probe %s failed (%d): %s%s", a[0], r.status, r.out, r.err);
	free(r.err);
	return r.out;
}

/* Sleeps in the test's own namespaces as uid/gid (root: 0), named name; dies with the test. */
static pid_t victim(uid_t uid, gid_t gid, const char *name)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (uid != 0 && (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
				 setresuid(uid, uid, uid) < 0))
			_exit(126);
		/* After the change of uid, which clears it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execlp("sleep", name, "600", (char *)NULL);
		_exit(127);
	}
	victims[n_victims++] = pid;
	char path[64], *cmd = NULL;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	for (int i = 0; i < 500; i++) {
		free(cmd);
		cmd = NULL;
		if (mxc_read_file(path, 4096, &cmd, NULL) == 0 && strcmp(cmd, name) == 0)
			break;
		usleep(2000);
	}
	cr_assert(cmd && strcmp(cmd, name) == 0, "the victim %s did not start", name);
	free(cmd);
	return pid;
}

/* Asserts the victim still runs: not exited (nor a zombie), not stopped, not traced. */
static void assert_untouched(pid_t pid)
{
	int status = 0, w = waitpid(pid, &status, WNOHANG);
	/* Not the test's child (ECHILD): a zombie shows in its state below. */
	cr_assert(w == 0 || (w < 0 && errno == ECHILD), "victim %d ended (status %#x)", pid,
		  status);
	cr_assert_eq(kill(pid, 0), 0, "victim %d is gone", pid);
	char path[64], *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	/* Back asleep: a victim just detached from by the control may still be running. */
	for (int i = 0; i < 500; i++) {
		free(text);
		text = NULL;
		cr_assert_eq(mxc_read_file(path, 1 << 16, &text, NULL), 0);
		if (strstr(text, "\nState:\tS (sleeping)\n"))
			break;
		usleep(2000);
	}
	cr_assert_not_null(strstr(text, "\nState:\tS (sleeping)\n"), "victim %d: %s", pid, text);
	cr_assert_not_null(strstr(text, "\nTracerPid:\t0\n"), "victim %d traced: %s", pid, text);
	free(text);
}

/*
 * What the probe prints for a pid that is not in its PID namespace: every call by pid
 * ESRCH, every /proc file ENOENT.
 */
static char *expected_outside(pid_t pid)
{
	static const char *const lines[] = {
	    "kill0 ESRCH",   "attach ESRCH",   "seize ESRCH", "pidfd ESRCH",
	    "status ENOENT", "environ ENOENT", "mem ENOENT",  "memwrite ENOENT",
	    "vmread ESRCH",  "prio ESRCH",     "sched ESRCH", "stop ESRCH",
	    "cont ESRCH",    "pgrp ESRCH",     "term ESRCH",  "kill9 ESRCH",
	};
	char *text = calloc(1, 2048);
	size_t n = 0;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(lines); i++)
		n += (size_t)snprintf(text + n, 2048 - n, "%d %s\n", pid, lines[i]);
	return text;
}

static void assert_out_of_reach(const char *id, const char *path, pid_t pid)
{
	char arg[16];
	snprintf(arg, sizeof(arg), "%d", pid);
	char *out = probe(id, path, "outside", arg, NULL), *expect = expected_outside(pid);
	cr_assert_str_eq(out, expect, "attacks on pid %d:\n%s", pid, out);
	free(expect);
	free(out);
}

/*
 * Outside any session, a process of the agent's uid can signal and trace the same-uid
 * victim (and only signal-probe root's with EPERM): only mxc stands between them.
 * Returns kill(same, 0), ptrace attach of same, kill(root, 0) as errno values (0 = worked).
 */
static void reach_without_mxc(const struct passwd *pw, pid_t same, pid_t root, int ret[3])
{
	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int e[3] = {0};
		if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
			_exit(1);
		e[0] = kill(same, 0) < 0 ? errno : 0;
		if (ptrace(PTRACE_ATTACH, same, NULL, NULL) < 0) {
			e[1] = errno;
		} else {
			waitpid(same, NULL, __WALL);
			ptrace(PTRACE_DETACH, same, NULL, NULL);
		}
		e[2] = kill(root, 0) < 0 ? errno : 0;
		_exit(write(pipefd[1], e, sizeof(e)) == sizeof(e) ? 0 : 1);
	}
	close(pipefd[1]);
	cr_assert_eq(mxc_read_full(pipefd[0], ret, 3 * sizeof(int)), (ssize_t)(3 * sizeof(int)));
	close(pipefd[0]);
	waitpid(pid, NULL, 0);
}

Test(process, processes_outside_the_session_are_out_of_reach)
{
	struct passwd pw = *account("coder");
	pid_t same = victim(pw.pw_uid, pw.pw_gid, MARK "-agent-uid");
	pid_t root = victim(0, 0, MARK "-root");
	char *id = start("coder"), path[300];
	install("coder", path, sizeof(path));

	/* The same-uid victim really is reachable by the agent's uid, absent mxc. */
	int direct[3];
	reach_without_mxc(&pw, same, root, direct);
	cr_assert_eq(direct[0], 0, "kill(same-uid victim, 0) outside: %s", strerror(direct[0]));
	cr_assert_eq(direct[1], 0, "ptrace of the same-uid victim outside: %s",
		     strerror(direct[1]));
	cr_assert_eq(direct[2], EPERM, "kill(root victim, 0) outside: %s", strerror(direct[2]));
	assert_untouched(same);

	/* Positive control: the very same attempts on a child inside the session all work. */
	char *out = probe(id, path, "inside", NULL);
	cr_assert_str_eq(out,
			 "child kill0 ok\nchild attach ok\nchild seize ok\nchild pidfd ok\n"
			 "child pidfd_signal0 ok\nchild status ok\nchild environ ok\nchild mem ok\n"
			 "child memwrite ok\nchild vmread ok\nchild prio ok\nchild sched ok\n"
			 "child term ok\nchild died TERM\n",
			 "the probe cannot even reach its own child:\n%s", out);
	free(out);

	/* Signals, ptrace, pidfds, /proc files and memory reads by host pid: ESRCH / ENOENT. */
	assert_out_of_reach(id, path, same);
	assert_out_of_reach(id, path, root);
	assert_untouched(same);
	assert_untouched(root);

	/* /proc lists the session's own processes only. */
	out = probe(id, path, "scan", MARK, NULL);
	cr_assert_null(strstr(out, "\nmatch "), "an outside process is listed:\n%s", out);
	cr_assert_not_null(strstr(out, "/probe-process scan " MARK " \n"),
			   "the scan does not list the probe itself:\n%s", out);
	int procs = -1;
	char *count = strstr(out, "procs ");
	cr_assert_not_null(count, "%s", out);
	procs = atoi(count + 6);
	cr_assert(procs >= 2 && procs <= 4, "%d processes visible:\n%s", procs, out);
	free(out);

	/*
	 * kill(-1, SIGKILL): every process the agent may signal. Only the session's own are:
	 * a process launched in the session dies, the victims live on.
	 */
	free(mxc_ok(&h, "launch", id, "--", path, "listen", MARK "-inside", "60", NULL));
	out = probe(id, path, "connect", MARK "-inside", "50", NULL);
	cr_assert_str_eq(out, MARK "-inside connect hello-from-" MARK "-inside\n", "%s", out);
	free(out);
	out = probe(id, path, "killall", NULL);
	cr_assert_str_eq(out, "all kill9 ok\n", "%s", out);
	free(out);
	out = probe(id, path, "connect", MARK "-inside", "1", NULL);
	cr_assert_str_eq(out, MARK "-inside connect ECONNREFUSED\n", "%s", out);
	free(out);
	assert_untouched(same);
	assert_untouched(root);
	free(id);
}

static pid_t leader_of(const char *id)
{
	char *out = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(out);
	cr_assert_str_eq(mxc_test_str(o, "state"), "running", "%s", out);
	pid_t pid = (pid_t)mxc_test_int(o, "leader_pid");
	cr_assert_gt(pid, 1, "%s", out);
	json_object_put(o);
	free(out);
	return pid;
}

/* Asserts the sock output's one answer line refuses with message (or succeeds, if NULL). */
static void assert_answer(const char *out, size_t line, const char *message)
{
	const char *p = out;
	for (size_t i = 0; i < line && p; i++)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
	cr_assert(p && *p, "no answer %zu in:\n%s", line, out);
	char text[1024];
	snprintf(text, sizeof(text), "%.*s", (int)strcspn(p, "\n"), p);
	struct json_object *o = mxc_test_json(text), *ok = NULL;
	cr_assert(json_object_object_get_ex(o, "ok", &ok));
	if (!message) {
		cr_assert(json_object_get_boolean(ok), "refused: %s", text);
	} else {
		cr_assert_not(json_object_get_boolean(ok), "served: %s", text);
		cr_assert_not_null(strstr(text, message), "%s", text);
	}
	json_object_put(o);
}

Test(process, another_session_is_out_of_reach)
{
	free(mxc_ok(&h, "agent", "add", "other", NULL));
	char *a = start("coder"), *b = start("other"), pa[300], pb[300];
	install("coder", pa, sizeof(pa));
	install("other", pb, sizeof(pb));
	pid_t leader = leader_of(b);

	/* A process of B's, named with a mark, serving an abstract socket of B's network. */
	free(mxc_ok(&h, "launch", b, "--", pb, "listen", MARK "-b", "60", NULL));
	char *out = probe(b, pb, "connect", MARK "-b", "50", NULL);
	cr_assert_str_eq(out, MARK "-b connect hello-from-" MARK "-b\n", "%s", out);
	free(out);
	/* B sees it (the scan works) ... */
	out = probe(b, pb, "scan", MARK, NULL);
	cr_assert_not_null(strstr(out, "\nmatch "), "B's scan misses its own process:\n%s", out);
	free(out);
	/* ... A does not. */
	out = probe(a, pa, "scan", MARK, NULL);
	cr_assert_null(strstr(out, "\nmatch "), "A sees B's process:\n%s", out);
	free(out);

	/* B's home, B's session directory and the daemon's sockets are not in A's view. */
	char script[1024];
	snprintf(script, sizeof(script),
		 "for p in %s %s/home/other %s/sessions/%s %s/sessiond.sock; do "
		 "  stat $p >/dev/null 2>&1 && echo visible: $p; done; ls -A /run/mxc",
		 account("other")->pw_dir, h.state, h.run, b, h.run);
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", a, "--", "sh", "-c", script, NULL);
	cr_assert_str_eq(r.out, "sessiond.sock\n", "A's view: %s%s", r.out, r.err);
	mxc_result_free(&r);

	/* Every attempt on B's leader by its host pid fails; B runs on, its process too. */
	assert_out_of_reach(a, pa, leader);
	cr_assert_eq(leader_of(b), leader);
	cr_assert_eq(kill(leader, 0), 0);
	out = probe(b, pb, "connect", MARK "-b", "1", NULL);
	cr_assert_str_eq(out, MARK "-b connect hello-from-" MARK "-b\n", "%s", out);
	free(out);

	/*
	 * A's session socket acts on A only. Each refused request is paired with the same one
	 * for A, which the socket serves.
	 */
	char stop_b[256], shot_b[256], clip_b[256], launch_a[512], launch_b[512], exec_b[256],
		wait_b[256];
	snprintf(stop_b, sizeof(stop_b),
		 "{\"v\":1,\"verb\":\"session.stop\",\"args\":{\"session\":\"%s\"}}", b);
	snprintf(shot_b, sizeof(shot_b),
		 "{\"v\":1,\"verb\":\"screenshot\",\"args\":{\"session\":\"%s\"}}", b);
	snprintf(clip_b, sizeof(clip_b),
		 "{\"v\":1,\"verb\":\"clipboard_get\",\"args\":{\"session\":\"%s\"}}", b);
	snprintf(launch_a, sizeof(launch_a),
		 "{\"v\":1,\"verb\":\"launch\",\"args\":{\"session\":\"%s\",\"argv\":[\"%s\","
		 "\"listen\",\"" MARK "-a\",\"60\"]}}",
		 a, pa);
	snprintf(launch_b, sizeof(launch_b),
		 "{\"v\":1,\"verb\":\"launch\",\"args\":{\"session\":\"%s\",\"argv\":[\"%s\","
		 "\"listen\",\"" MARK "-stolen\",\"60\"]}}",
		 b, pb);
	snprintf(exec_b, sizeof(exec_b),
		 "{\"v\":1,\"verb\":\"exec\",\"args\":{\"session\":\"%s\",\"argv\":[\"true\"]}}",
		 b);
	snprintf(wait_b, sizeof(wait_b),
		 "{\"v\":1,\"verb\":\"wait\",\"args\":{\"session\":\"%s\",\"ms\":0}}", b);
	out = probe(a, pa, "sock", "{\"v\":1,\"verb\":\"version\"}", launch_a, launch_b, stop_b,
		    exec_b, shot_b, clip_b, wait_b, NULL);
	assert_answer(out, 0, NULL);
	assert_answer(out, 1, NULL);
	assert_answer(out, 2, "this socket acts on session");
	assert_answer(out, 3, "not available on a session's socket");
	assert_answer(out, 4, "not available on a session's socket");
	assert_answer(out, 5, "this socket acts on session");
	assert_answer(out, 6, "this socket acts on session");
	assert_answer(out, 7, "this socket acts on session");
	free(out);
	/* A's launch ran in A; B was neither stopped nor given a process. */
	out = probe(a, pa, "connect", MARK "-a", "50", NULL);
	cr_assert_str_eq(out, MARK "-a connect hello-from-" MARK "-a\n", "%s", out);
	free(out);
	cr_assert_eq(leader_of(b), leader);
	out = probe(b, pb, "scan", MARK "-stolen", NULL);
	cr_assert_null(strstr(out, "\nmatch "), "A launched a process in B:\n%s", out);
	free(out);
	free(a);
	free(b);
}

static socklen_t abstract(struct sockaddr_un *addr, const char *name)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path + 1, name, strlen(name));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

/* Listens on the abstract unix socket name in the test's network namespace (the host's). */
static int host_listener(const char *name)
{
	struct sockaddr_un addr;
	socklen_t len = abstract(&addr, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, len), 0, "bind @%s: %s", name,
		     strerror(errno));
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

Test(process, abstract_sockets_do_not_cross_sessions)
{
	free(mxc_ok(&h, "agent", "add", "other", NULL));
	char *a = start("coder"), *b = start("other"), pa[300], pb[300];
	install("coder", pa, sizeof(pa));
	install("other", pb, sizeof(pb));
	int host = host_listener(MARK "-host");

	free(mxc_ok(&h, "launch", b, "--", pb, "listen", MARK "-b", "60", NULL));
	free(mxc_ok(&h, "launch", a, "--", pa, "listen", MARK "-a", "60", NULL));
	/* Positive controls: each session reaches its own listener. */
	char *out = probe(b, pb, "connect", MARK "-b", "50", NULL);
	cr_assert_str_eq(out, MARK "-b connect hello-from-" MARK "-b\n", "%s", out);
	free(out);
	out = probe(a, pa, "connect", MARK "-a", "50", NULL);
	cr_assert_str_eq(out, MARK "-a connect hello-from-" MARK "-a\n", "%s", out);
	free(out);

	/* A reaches neither B's name nor the host's: they are in other network namespaces. */
	out = probe(a, pa, "connect", MARK "-b", "1", NULL);
	cr_assert_str_eq(out, MARK "-b connect ECONNREFUSED\n", "%s", out);
	free(out);
	out = probe(a, pa, "connect", MARK "-host", "1", NULL);
	cr_assert_str_eq(out, MARK "-host connect ECONNREFUSED\n", "%s", out);
	free(out);
	/* Nor B A's. */
	out = probe(b, pb, "connect", MARK "-a", "1", NULL);
	cr_assert_str_eq(out, MARK "-a connect ECONNREFUSED\n", "%s", out);
	free(out);

	/* B's listener was up all along. */
	out = probe(b, pb, "connect", MARK "-b", "1", NULL);
	cr_assert_str_eq(out, MARK "-b connect hello-from-" MARK "-b\n", "%s", out);
	free(out);
	close(host);
	free(a);
	free(b);
}

/*
 * A process that joins the session's PID and network namespaces from outside, as an
 * administrator's tool would (nsenter): as the agent's uid, in its own process group, serving
 * the abstract unix socket name in the session's network, named name. It is in every
 * namespace the agent is, with the agent's uid, but not in the session's Landlock domain.
 * Returns its host pid; *ret_inner is its pid in the session.
 */
static pid_t joined_victim(pid_t leader, const struct passwd *pw, const char *name,
			   pid_t *ret_inner)
{
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	int pipefd[2];
	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid_t mid = fork();
	cr_assert_geq(mid, 0);
	if (mid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int pidfd = (int)syscall(SYS_pidfd_open, leader, 0);
		if (pidfd < 0 || setns(pidfd, CLONE_NEWPID | CLONE_NEWNET) < 0)
			_exit(1);
		pid_t pid = fork();
		if (pid == 0) {
			struct sockaddr_un addr;
			socklen_t len = abstract(&addr, name);
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (setsid() < 0 || fd < 0 || bind(fd, (struct sockaddr *)&addr, len) < 0 ||
			    listen(fd, 4) < 0 || setgroups(0, NULL) < 0 ||
			    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
				_exit(126);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			execlp("sleep", name, "600", (char *)NULL);
			_exit(127);
		}
		if (write(pipefd[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		waitpid(pid, NULL, 0);
		_exit(0);
	}
	victims[n_victims++] = mid;
	close(pipefd[1]);
	pid_t pid = 0;
	cr_assert_eq(mxc_read_full(pipefd[0], &pid, sizeof(pid)), (ssize_t)sizeof(pid),
		     "the joining process failed");
	close(pipefd[0]);
	victims[n_victims++] = pid;
	char path[64], *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	for (int i = 0; i < 500; i++) {
		free(text);
		text = NULL;
		if (mxc_read_file(path, 4096, &text, NULL) == 0 && strcmp(text, name) == 0)
			break;
		usleep(2000);
	}
	cr_assert(text && strcmp(text, name) == 0, "the joined victim did not start");
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	cr_assert_eq(mxc_read_file(path, 1 << 16, &text, NULL), 0);
	char *ns = strstr(text, "\nNSpid:\t");
	int host = 0, inner = 0;
	cr_assert(ns && sscanf(ns, "\nNSpid:\t%d\t%d", &host, &inner) == 2, "%s", text);
	free(text);
	cr_assert_eq(host, pid);
	*ret_inner = inner;
	return pid;
}

/* Connects to name in the session's network namespace from outside its Landlock domain. */
static int connect_in_session_net(pid_t leader, const char *name)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int pidfd = (int)syscall(SYS_pidfd_open, leader, 0);
		struct sockaddr_un addr;
		socklen_t len = abstract(&addr, name);
		if (pidfd < 0 || setns(pidfd, CLONE_NEWNET) < 0)
			_exit(255);
		/* Made after setns: a socket's abstract names are its own namespace's. */
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			_exit(255);
		_exit(connect(fd, (struct sockaddr *)&addr, len) < 0 ? errno : 0);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(process, a_process_joining_the_session_from_outside_is_guarded_by_landlock)
{
	const struct passwd *pw = account("coder");
	char *id = start("coder"), path[300];
	install("coder", path, sizeof(path));
	pid_t leader = leader_of(id), inner = 0;
	pid_t joined = joined_victim(leader, pw, MARK "-joined", &inner);

	/* Positive controls: the session sees the process, and its socket is in its network. */
	char *out = probe(id, path, "scan", MARK, NULL);
	char match[32];
	snprintf(match, sizeof(match), "\nmatch %d\n", inner);
	cr_assert_not_null(strstr(out, match), "the session does not list pid %d:\n%s", inner, out);
	free(out);
	int e = connect_in_session_net(leader, MARK "-joined");
	cr_assert_eq(e, 0, "the joined process does not listen in the session's network: %s",
		     strerror(e));
	out = probe(id, path, "inside", NULL);
	cr_assert_not_null(strstr(out, "child attach ok\n"), "%s", out);
	cr_assert_not_null(strstr(out, "child died TERM\n"), "%s", out);
	free(out);

	/* Same uid, same PID namespace: only Landlock's scopes and ptrace rule are left. */
	char arg[16];
	snprintf(arg, sizeof(arg), "%d", inner);
	out = probe(id, path, "joined", arg, NULL);
	/*
	 * Signals, direct or through a pidfd (whose opening is no permission): Landlock's signal
	 * scope (EPERM). Tracing and memory: its ptrace rule (EPERM; EACCES for /proc files).
	 */
	static const char *const lines[] = {
	    "kill0 EPERM",	   "attach EPERM", "seize EPERM",    "pidfd ok",
	    "pidfd_signal0 EPERM", "status ok",	   "environ EACCES", "mem EACCES",
	    "memwrite EACCES",	   "vmread EPERM", "stop EPERM",     "cont EPERM",
	    "pgrp EPERM",	   "term EPERM",   "kill9 EPERM",
	};
	char expect[1024];
	size_t n = 0;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(lines); i++)
		n += (size_t)snprintf(expect + n, sizeof(expect) - n, "%d %s\n", inner, lines[i]);
	cr_assert_str_eq(out, expect, "attacks on the joined process:\n%s", out);
	free(out);
	/* Its abstract socket, in the session's own network: Landlock's abstract unix scope. */
	out = probe(id, path, "connect", MARK "-joined", "1", NULL);
	cr_assert_str_eq(out, MARK "-joined connect EPERM\n", "%s", out);
	free(out);
	assert_untouched(joined);
	free(id);
}
