#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "json.h"

static void path(char *buf, size_t len, const char *a, const char *b)
{
	snprintf(buf, len, "%s/%s", a, b);
}

/* The process table: pid -> parent, for walking descendants. */
struct ptable {
	int pid[8192], ppid[8192];
	unsigned uid[8192];
	size_t n;
};

static void ptable_read(struct ptable *t)
{
	t->n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d)) && t->n < 8192) {
		char p[64], *text = NULL;
		int pid = atoi(de->d_name);
		struct stat st;
		if (pid <= 0)
			continue;
		snprintf(p, sizeof(p), "/proc/%d/stat", pid);
		if (stat(p, &st) < 0 || mxc_read_file(p, 4096, &text, NULL) < 0)
			continue;
		char *close_paren = strrchr(text, ')');
		int ppid = 0;
		if (close_paren)
			sscanf(close_paren + 2, "%*c %d", &ppid);
		free(text);
		t->pid[t->n] = pid;
		t->ppid[t->n] = ppid;
		t->uid[t->n] = st.st_uid;
		t->n++;
	}
	if (d)
		closedir(d);
}

static bool descends_from(const struct ptable *t, int pid, int ancestor)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		size_t i;
		for (i = 0; i < t->n && t->pid[i] != pid; i++)
			;
		if (i == t->n)
			return false;
		if (t->ppid[i] == ancestor)
			return true;
		pid = t->ppid[i];
	}
	return false;
}

/* Kills every child of the calling process, again and again as orphans come back to it. */
static void kill_children(void)
{
	static struct ptable t;
	for (int round = 0; round < 200; round++) {
		bool any = false;
		ptable_read(&t);
		for (size_t i = 0; i < t.n; i++) {
			if (t.ppid[i] == getpid()) {
				kill(t.pid[i], SIGKILL);
				any = true;
			}
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			any = true;
		if (!any)
			return;
		usleep(10000);
	}
}

/*
 * The keeper: starts daemons on request and reaps whatever is orphaned below it. When the
 * test ends (its command pipe closes, SIGTERM, or the test dies), it kills everything.
 */
static void __attribute__((noreturn)) keeper_main(struct mxc_harness *h, int cmd, int resp,
						  pid_t test)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (getppid() != test || sfd < 0)
		_exit(1);
	char daemon[320], libexec[300];
	path(daemon, sizeof(daemon), h->bin, "sessiond/mxc-sessiond");
	path(libexec, sizeof(libexec), h->bin, "sessiond");
	for (;;) {
		struct pollfd p[2] = { { cmd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			bool term = false;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				term |= si.ssi_signo == SIGTERM;
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			if (term)
				break;
		}
		if (p[0].revents) {
			char c;
			if (read(cmd, &c, 1) != 1)
				break;
			pid_t pid = fork();
			if (pid == 0) {
				sigprocmask(SIG_UNBLOCK, &mask, NULL);
				int log = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
				int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
				dup2(null, 0);
				dup2(log, 1);
				dup2(log, 2);
				/* Only stdio: not the test framework's or the keeper's descriptors. */
				syscall(SYS_close_range, 3U, ~0U, 0U);
				execl(daemon, "mxc-sessiond", "--socket", h->sock, "--state-dir",
				      h->state, "--runtime-dir", h->run, "--config-dir", h->conf,
				      "--libexec-dir", libexec, "--log-level", "debug", (char *)NULL);
				_exit(127);
			}
			mxc_write_all(resp, &pid, sizeof(pid));
		}
	}
	kill_children();
	_exit(0);
}

void mxc_harness_start_daemon(struct mxc_harness *h)
{
	cr_assert_eq(write(h->keeper_cmd, "S", 1), 1, "the keeper is gone");
	pid_t pid = 0;
	cr_assert_eq(mxc_read_full(h->keeper_resp, &pid, sizeof(pid)), (ssize_t)sizeof(pid));
	h->daemon = pid;
	/* Ready when its socket answers a request. */
	for (int i = 0; i < 300; i++) {
		struct stat st;
		if (stat(h->sock, &st) == 0) {
			struct mxc_result r = mxc_run(h, 0, NULL, "version", NULL);
			int status = r.status;
			mxc_result_free(&r);
			if (status == 0)
				return;
		}
		if (kill(pid, 0) < 0) {
			char *log = mxc_harness_log(h);
			cr_assert_fail("mxc-sessiond exited at start-up:\n%s", log ? log : "");
		}
		usleep(20000);
	}
	cr_assert_fail("mxc-sessiond did not start listening");
}

/*
 * A network namespace of the test's own, with loopback up: the daemon's session networks
 * (veth pairs, nftables tables, forwarding) are made in it and vanish with the test, never
 * touching the host's.
 */
static void enter_network(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0, "loopback up: %s", strerror(errno));
	close(fd);
}

void mxc_harness_start(struct mxc_harness *h)
{
	memset(h, 0, sizeof(*h));
	const char *bin = getenv("MXC_BUILD_ROOT");
	cr_assert_not_null(bin, "MXC_BUILD_ROOT is not set (run the tests through meson test)");
	snprintf(h->bin, sizeof(h->bin), "%s", bin);
	mxc_testenv_enter(&h->env);
	enter_network();
	path(h->state, sizeof(h->state), h->env.root, "state");
	path(h->run, sizeof(h->run), h->env.root, "run");
	path(h->conf, sizeof(h->conf), h->env.root, "conf");
	path(h->sock, sizeof(h->sock), h->run, "sessiond.sock");
	path(h->log, sizeof(h->log), h->env.root, "daemon.log");
	cr_assert_eq(mxc_mkdir_p(h->conf, 0755), 0);
	char policies[200];
	path(policies, sizeof(policies), h->conf, "policies");
	cr_assert_eq(mxc_mkdir_p(policies, 0755), 0);

	int cmd[2], resp[2];
	cr_assert(pipe2(cmd, O_CLOEXEC) == 0 && pipe2(resp, O_CLOEXEC) == 0);
	pid_t test = getpid();
	h->keeper = fork();
	cr_assert(h->keeper >= 0);
	if (h->keeper == 0) {
		close(cmd[1]);
		close(resp[0]);
		keeper_main(h, cmd[0], resp[1], test);
	}
	close(cmd[0]);
	close(resp[1]);
	h->keeper_cmd = cmd[1];
	h->keeper_resp = resp[0];
	mxc_harness_start_daemon(h);
}

/* Signals the daemon and waits (through a pidfd: it is the keeper's child) until it is gone. */
static void end_daemon(struct mxc_harness *h, int signo, int wait_ms)
{
	if (h->daemon <= 0)
		return;
	int pidfd = (int)syscall(SYS_pidfd_open, h->daemon, 0);
	kill(h->daemon, signo);
	if (pidfd >= 0) {
		struct pollfd p = { pidfd, POLLIN, 0 };
		if (poll(&p, 1, wait_ms) == 0 && signo != SIGKILL) {
			kill(h->daemon, SIGKILL);
			poll(&p, 1, 5000);
		}
		close(pidfd);
	}
	/* Reaped by the keeper; wait until the pid is really gone. */
	for (int i = 0; i < 500 && kill(h->daemon, 0) == 0; i++)
		usleep(2000);
	h->daemon = 0;
}

void mxc_harness_kill_daemon(struct mxc_harness *h)
{
	end_daemon(h, SIGKILL, 5000);
}

void mxc_harness_term_daemon(struct mxc_harness *h)
{
	end_daemon(h, SIGTERM, 10000);
}

void mxc_harness_stop(struct mxc_harness *h)
{
	mxc_harness_term_daemon(h);
	if (h->keeper > 0) {
		close(h->keeper_cmd);
		close(h->keeper_resp);
		waitpid(h->keeper, NULL, 0);
		h->keeper = 0;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (getenv("MXC_TEST_KEEP_LOG")) {
		char *log = mxc_harness_log(h);
		fprintf(stderr, "---- daemon log\n%s", log ? log : "");
		free(log);
	}
	mxc_testenv_leave(&h->env);
}

char *mxc_harness_log(struct mxc_harness *h)
{
	char *text = NULL;
	mxc_read_file(h->log, 16 << 20, &text, NULL);
	return text;
}

static void become(uid_t uid)
{
	if (uid == 0)
		return;
	struct passwd *pw = getpwuid(uid);
	gid_t gid = pw ? pw->pw_gid : uid;
	if (pw)
		initgroups(pw->pw_name, gid);
	else
		setgroups(0, NULL);
	if (setgid(gid) < 0 || setuid(uid) < 0)
		_exit(126);
}

struct mxc_result mxc_run(struct mxc_harness *h, uid_t uid, const char *stdin_text, ...)
{
	const char *argv[64];
	size_t n = 0;
	char mxc[300];
	path(mxc, sizeof(mxc), h->bin, "cli/mxc");
	argv[n++] = "mxc";
	argv[n++] = "--socket";
	argv[n++] = h->sock;
	va_list ap;
	va_start(ap, stdin_text);
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 62)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;

	int in[2], out[2], err[2];
	cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 &&
		  pipe2(err, O_CLOEXEC) == 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		become(uid);
		execv(mxc, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (stdin_text)
		mxc_write_all(in[1], stdin_text, strlen(stdin_text));
	close(in[1]);

	/* Both pipes are drained together so that neither can fill and stall the child. */
	struct { int fd; char *buf; size_t len, cap; } s[2] = { { out[0] }, { err[0] } };
	int open_n = 2;
	while (open_n > 0) {
		struct pollfd p[2] = { { s[0].fd, POLLIN, 0 }, { s[1].fd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (s[i].fd < 0 || !p[i].revents)
				continue;
			if (s[i].len + 65537 > s[i].cap) {
				s[i].cap = s[i].cap * 2 + 65537;
				s[i].buf = realloc(s[i].buf, s[i].cap);
			}
			ssize_t k = read(s[i].fd, s[i].buf + s[i].len, 65536);
			if (k > 0) {
				s[i].len += (size_t)k;
			} else {
				close(s[i].fd);
				s[i].fd = -1;
				open_n--;
			}
		}
	}
	struct mxc_result r = { 0 };
	for (int i = 0; i < 2; i++) {
		if (!s[i].buf)
			s[i].buf = calloc(1, 1);
		else
			s[i].buf[s[i].len] = '\0';
	}
	r.out = s[0].buf;
	r.err = s[1].buf;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return r;
}

void mxc_result_free(struct mxc_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

char *mxc_ok(struct mxc_harness *h, ...)
{
	const char *args[32];
	size_t n = 0;
	va_list ap;
	va_start(ap, h);
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 31)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	struct mxc_result r = mxc_run(h, 0, NULL, n > 0 ? args[0] : NULL, n > 1 ? args[1] : NULL,
				      n > 2 ? args[2] : NULL, n > 3 ? args[3] : NULL,
				      n > 4 ? args[4] : NULL, n > 5 ? args[5] : NULL,
				      n > 6 ? args[6] : NULL, n > 7 ? args[7] : NULL,
				      n > 8 ? args[8] : NULL, n > 9 ? args[9] : NULL, NULL);
	cr_assert_eq(r.status, 0, "mxc %s %s failed (%d): %s", n > 0 ? args[0] : "",
		     n > 1 ? args[1] : "", r.status, r.err);
	size_t len = strlen(r.out);
	while (len > 0 && r.out[len - 1] == '\n')
		r.out[--len] = '\0';
	free(r.err);
	return r.out;
}

char *mxc_harness_session(struct mxc_harness *h, const char *agent)
{
	char *out = mxc_ok(h, "agent", "add", agent, NULL);
	free(out);
	return mxc_ok(h, "session", "start", agent, NULL);
}

bool mxc_pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

int mxc_processes_of(struct mxc_harness *h, uid_t uid)
{
	static struct ptable t;
	ptable_read(&t);
	int n = 0;
	for (size_t i = 0; i < t.n; i++)
		n += t.uid[i] == uid && descends_from(&t, t.pid[i], h->keeper);
	return n;
}

struct json_object *mxc_test_json(const char *text)
{
	struct json_object *o = NULL;
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_json_parse(text, strlen(text), &o, &err), 0, "not JSON (%s):\n%s", err.msg,
		     text);
	return o;
}

const char *mxc_test_str(struct json_object *o, const char *key)
{
	const char *s = NULL;
	mxc_json_get_str(o, key, 1 << 20, &s, NULL);
	return s;
}

int64_t mxc_test_int(struct json_object *o, const char *key)
{
	int64_t v = -1;
	mxc_json_get_i64(o, key, INT64_MIN, INT64_MAX, &v, NULL);
	return v;
}

void mxc_harness_install(const char *agent, const char *src, const char *name, char *ret,
			 size_t len)
{
	const struct passwd *pw = getpwnam(agent);
	cr_assert_not_null(pw, "agent %s has no account", agent);
	char tmp[400], *data = NULL;
	size_t n = 0;
	cr_assert_eq(mxc_read_file(src, 512u << 20, &data, &n), 0, "cannot read %s", src);
	snprintf(ret, len, "%s/%s", pw->pw_dir, name);
	snprintf(tmp, sizeof(tmp), "%s.new", ret);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_geq(fd, 0, "cannot write %s: %s", tmp, strerror(errno));
	cr_assert_eq(mxc_write_all(fd, data, n), 0);
	cr_assert_eq(fchown(fd, pw->pw_uid, pw->pw_gid), 0);
	cr_assert_eq(fchmod(fd, 0755), 0);
	close(fd);
	cr_assert_eq(rename(tmp, ret), 0);
	free(data);
}

int64_t mxc_session_activity(struct mxc_harness *h, const char *id, const char *name)
{
	char *out = mxc_ok(h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(out), *activity;
	free(out);
	int64_t n = 0;
	if (json_object_object_get_ex(o, "activity", &activity))
		n = mxc_test_int(activity, name);
	json_object_put(o);
	return n < 0 ? 0 : n;
}
