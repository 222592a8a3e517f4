/*
 * Session cgroups (sessiond/cgroup.h), on this host's real cgroups, as root.
 *
 * The suite "cgroup" runs in whatever mode detection picks. On this development host that is
 * cgroup v1 (memory and pids are bound to v1 hierarchies; the unified hierarchy at
 * /sys/fs/cgroup/unified has no controller to give); on a stock systemd host it is v2, for
 * which each test first moves its process into a cgroup of its own below the root, so that
 * detection meets the same "no internal processes" situation as a service with Delegate=yes.
 * Tests act as a hostile agent would: fork bombs, memory bombs, raising its own limits.
 *
 * The suite "cgroup_v2" exercises the v2 code (moving the daemon out of its cgroup, enabling
 * controllers, clone3 CLONE_INTO_CGROUP, cgroup.kill, removal) where v2's memory and pids
 * are out of reach, with the hugetlb controller, which nothing limits by and v1 leaves free
 * here. v2 memory and pids limits themselves can only be tested on a host that has them.
 *
 * Every cgroup a test makes is named after the test's process, "mxc-test-PID"; fixtures
 * remove them, and a hook of the test runner removes those of dead test processes, even
 * after a crash.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "cgroup.h"
#include "fs.h"

#define V1_BIT (1u << MXC_CGROUP_V1)
#define V2_BIT (1u << MXC_CGROUP_V2)
#define NONE_BIT (1u << MXC_CGROUP_NONE)

/* ---- helpers that read the host directly, not through the code under test ---- */

static char *slurp(const char *path)
{
	char *text = NULL;
	if (mxc_read_file(path, 1u << 20, &text, NULL) < 0)
		return NULL;
	return text;
}

static char *slurp_at(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return slurp(path);
}

static uint64_t u64_at(const char *dir, const char *name)
{
	char *t = slurp_at(dir, name);
	cr_assert_not_null(t, "cannot read %s/%s", dir, name);
	uint64_t v = strcmp(t, "max\n") == 0 ? UINT64_MAX : strtoull(t, NULL, 10);
	free(t);
	return v;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool exists_at(const char *dir, const char *name)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return exists(path);
}

static void sleep_forever(int unused)
{
	for (;;)
		pause();
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int r = n < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* The cgroup2 mount point, or NULL. */
static char *v2_mount(void)
{
	static char point[4096];
	char *text = slurp("/proc/self/mountinfo");
	if (!text)
		return NULL;
	char *found = NULL;
	for (char *line = strtok(text, "\n"); line && !found; line = strtok(NULL, "\n")) {
		char *sep = strstr(line, " - cgroup2 ");
		char root[4096], mnt[4096];
		if (sep && sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) == 2 &&
		    strcmp(root, "/") == 0) {
			snprintf(point, sizeof(point), "%s", mnt);
			found = point;
		}
	}
	free(text);
	return found;
}

static bool has_word(const char *text, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = text; p && (p = strstr(p, word)); p += len)
		if ((p == text || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
			return true;
	return false;
}

/* Whether the root of the cgroup2 mount offers memory and pids (a v2 host). */
static bool v2_root_has_memory_and_pids(void)
{
	char *m = v2_mount();
	char *t = m ? slurp_at(m, "cgroup.controllers") : NULL;
	bool yes = t && has_word(t, "memory") && has_word(t, "pids");
	free(t);
	return yes;
}

/* Whether this process is in v1 memory and pids hierarchies. */
static bool v1_has_memory_and_pids(void)
{
	char *t = slurp("/proc/self/cgroup");
	bool yes = t && strstr(t, ":memory:") && strstr(t, ":pids:");
	free(t);
	return yes;
}

/* The test's cgroup name; unique per test process. */
static char test_name[32];

static void make_name(void)
{
	snprintf(test_name, sizeof(test_name), "mxc-test-%d", (int)getpid());
}

/* Removes a cgroup tree, killing what is in it (the test's own, simple-minded version). */
static void rm_cgroup_tree(const char *path, int depth)
{
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    depth < 10) {
			char sub[4096];
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_cgroup_tree(sub, depth + 1);
		}
	closedir(d);
	for (int tries = 0; tries < 200 && rmdir(path) < 0 && errno == EBUSY; tries++) {
		char *procs = slurp_at(path, "cgroup.procs"), *psave = NULL;
		for (char *l = procs ? strtok_r(procs, "\n", &psave) : NULL; l;
		     l = strtok_r(NULL, "\n", &psave))
			kill((pid_t)atoi(l), SIGKILL);
		free(procs);
		usleep(5000);
	}
}

/* ---- the test runner sweeps what dead test processes left ---- */

static char v2_root_hugetlb_before = -1; /* runner: was +hugetlb in the v2 root already? */

static void sweep_dir(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		int pid;
		char tail;
		if (e->d_type != DT_DIR || sscanf(e->d_name, "mxc-test-%d%c", &pid, &tail) != 1)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", parent, e->d_name);
		rm_cgroup_tree(path, 0);
	}
	closedir(d);
}

static void sweep(void)
{
	/* Where the tests' cgroups can be: below this process's cgroup in each hierarchy, and
	 * at the v2 root (tests that move themselves there). */
	char *text = slurp("/proc/self/cgroup"), *mountinfo = slurp("/proc/self/mountinfo");
	char *save = NULL;
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *list = strchr(line, ':'), *own = list ? strchr(list + 1, ':') : NULL;
		if (!own)
			continue;
		*own++ = '\0';
		list++;
		char point[4096] = "";
		/* The mount of this hierarchy with root "/" (true on this host and systemd's). */
		char *mi = strdup(mountinfo ? mountinfo : ""), *msave = NULL;
		for (char *ml = strtok_r(mi, "\n", &msave); ml; ml = strtok_r(NULL, "\n", &msave)) {
			char root[4096], mnt[4096], type[64], super[1024];
			char *sep = strstr(ml, " - ");
			if (!sep || sscanf(ml, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
			    sscanf(sep + 3, "%63s %*s %1023s", type, super) != 2 ||
			    strcmp(root, "/") != 0)
				continue;
			bool v2 = !*list && strcmp(type, "cgroup2") == 0;
			bool v1 = *list && strcmp(type, "cgroup") == 0 && strstr(super, list) &&
				  (strstr(list, "memory") || strstr(list, "pids"));
			if (v2 || v1) {
				snprintf(point, sizeof(point), "%s", mnt);
				break;
			}
		}
		free(mi);
		if (!point[0])
			continue;
		char dir[8192];
		snprintf(dir, sizeof(dir), "%s%s", point, strcmp(own, "/") == 0 ? "" : own);
		sweep_dir(dir);
		if (!*list)
			sweep_dir(point);
	}
	free(text);
	free(mountinfo);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	sweep();
	char *m = v2_mount();
	char *t = m ? slurp_at(m, "cgroup.subtree_control") : NULL;
	v2_root_hugetlb_before = t ? has_word(t, "hugetlb") : -1;
	free(t);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	sweep();
	/* The v2 test turns hugetlb on at the root for its own cgroups; turn it off again. */
	char *m = v2_mount();
	if (m && v2_root_hugetlb_before == 0) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", m);
		int r = -EBUSY;
		for (int tries = 0; tries < 100 && (r = write_file(path, "-hugetlb")) == -EBUSY;
		     tries++)
			usleep(10000);
		if (r < 0)
			fprintf(stderr, "test-cgroup: cannot turn hugetlb off in %s: %s\n",
				path, strerror(-r));
	}
}

/* ---- fixtures ---- */

static struct mxc_cgroups *cg;
static struct mxc_cgroup *grp[4];
static char moved_to[4096]; /* v2 host: the cgroup this test process moved itself into */

/*
 * On a v2 host a test process sits in the runner's cgroup with other processes; it moves into
 * <v2 root>/mxc-test-PID first, where it is alone, as a daemon is in its service's cgroup.
 */
static void enter_own_v2_cgroup(void)
{
	char *m = v2_mount();
	cr_assert_not_null(m);
	snprintf(moved_to, sizeof(moved_to), "%s/%s", m, test_name);
	cr_assert(mkdir(moved_to, 0755) == 0 || errno == EEXIST, "mkdir %s: %m", moved_to);
	char procs[4200];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", moved_to);
	cr_assert_eq(write_file(procs, "0"), 0, "cannot move into %s", moved_to);
	/* What systemd marks a cgroup of a unit with Delegate=yes with. */
	setxattr(moved_to, "trusted.delegate", "1", 1, 0);
}

/* Moves this process back to the v2 root (always allowed) and removes its cgroup tree. */
static void leave_own_v2_cgroup(void)
{
	if (!moved_to[0])
		return;
	char procs[4096];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", v2_mount());
	write_file(procs, "0");
	rm_cgroup_tree(moved_to, 0);
	moved_to[0] = '\0';
}

/* Orphans of the tests' processes come back to the test, which reaps them. */
static void become_subreaper(void)
{
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void setup(void)
{
	make_name();
	become_subreaper();
	if (v2_root_has_memory_and_pids())
		enter_own_v2_cgroup();
	struct mxc_error err = { 0 };
	struct mxc_cgroups_options opt = { .name = test_name };
	cr_assert_eq(mxc_cgroups_detect(&opt, &cg, &err), 0, "%s", err.msg);
	cr_log_info("cgroups: %s", mxc_cgroups_describe(cg));
}

static void teardown(void)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(grp); i++) {
		mxc_cgroup_destroy(grp[i]);
		grp[i] = NULL;
	}
	if (cg) {
		mxc_cgroups_cleanup_stale(cg, NULL, NULL);
		if (!moved_to[0])
			mxc_cgroups_remove(cg, NULL);
		/* Whatever the code under test may have left. */
		for (size_t i = 0; mxc_cgroups_path(cg, i); i++)
			rm_cgroup_tree(mxc_cgroups_path(cg, i), 0);
	}
	leave_own_v2_cgroup();
	mxc_cgroups_free(cg);
	cg = NULL;
	reap_all();
}

TestSuite(cgroup, .init = setup, .fini = teardown, .timeout = 60);

/* Skips tests that need a controller this host cannot give. */
static void need(unsigned controllers)
{
	if ((mxc_cgroups_controllers(cg) & controllers) != controllers)
		cr_skip_test("this host cannot give mxc %s (cgroups: %s)",
			     controllers & MXC_CGROUP_MEMORY ? "a memory controller"
							     : "a pids controller",
			     mxc_cgroups_describe(cg));
}

/* The file names of the mode in use. */
static const char *memory_max_file(void)
{
	return mxc_cgroups_mode(cg) == MXC_CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max";
}

/* The directory of session id's group holding controller. */
static void group_dir(const char *id, unsigned controller, char *buf, size_t size)
{
	/* The subtree's paths are listed per hierarchy; a v1 path names its controller. */
	for (size_t i = 0; mxc_cgroups_path(cg, i); i++) {
		const char *p = mxc_cgroups_path(cg, i);
		snprintf(buf, size, "%s/%s", p, id);
		char probe[4200];
		snprintf(probe, sizeof(probe), "%s/%s", buf,
			 controller == MXC_CGROUP_MEMORY ? memory_max_file() : "pids.max");
		if (exists(probe))
			return;
	}
	cr_assert_fail("no directory of '%s' has %s", id,
		       controller == MXC_CGROUP_MEMORY ? "memory" : "pids");
}

/*
 * Starts fn in a child that waits for a byte, attaches it to g and lets it go: what the daemon
 * does with a session leader. Returns the child's pid.
 */
static pid_t start_in_group(struct mxc_cgroup *g, void (*fn)(int), int arg)
{
	int go[2];
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(99);
		close(go[0]);
		fn(arg);
		_exit(0);
	}
	close(go[0]);
	struct mxc_error err = { 0 };
	int r = mxc_cgroup_attach(g, pid, &err);
	if (r < 0)
		kill(pid, SIGKILL);
	cr_assert_eq(r, 0, "%s", err.msg);
	cr_assert_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	return pid;
}

static int wait_status(pid_t pid)
{
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* ---- detection ---- */

Test(cgroup, detection_picks_the_mode_this_host_offers)
{
	/* This host: memory and pids bound to v1, the unified hierarchy without controllers:
	 * v1. A systemd host with a unified hierarchy: v2. */
	enum mxc_cgroup_mode expect = v2_root_has_memory_and_pids() ? MXC_CGROUP_V2
				      : v1_has_memory_and_pids()    ? MXC_CGROUP_V1
								    : MXC_CGROUP_NONE;
	cr_assert_eq(mxc_cgroups_mode(cg), expect, "detected %s, expected %s (%s)",
		     mxc_cgroup_mode_to_string(mxc_cgroups_mode(cg)),
		     mxc_cgroup_mode_to_string(expect), mxc_cgroups_describe(cg));
	const char *d = mxc_cgroups_describe(cg);
	if (expect == MXC_CGROUP_NONE) {
		cr_assert(strstr(d, "RLIMIT_NPROC"), "%s", d);
		return;
	}
	cr_assert_eq(mxc_cgroups_controllers(cg), MXC_CGROUP_MEMORY | MXC_CGROUP_PIDS);
	char want[64];
	snprintf(want, sizeof(want), "cgroup %s (memory, pids) at ",
		 mxc_cgroup_mode_to_string(expect));
	cr_assert(strncmp(d, want, strlen(want)) == 0, "%s", d);
	/* The subtree exists, belongs to root and is writable by root only. */
	for (size_t i = 0; mxc_cgroups_path(cg, i); i++) {
		struct stat st;
		cr_assert_eq(stat(mxc_cgroups_path(cg, i), &st), 0, "%s",
			     mxc_cgroups_path(cg, i));
		cr_assert_eq(st.st_uid, 0u);
		cr_assert_eq(st.st_mode & 022, 0u);
		cr_assert(strstr(d, mxc_cgroups_path(cg, i)));
	}
	struct json_object *j = mxc_cgroups_to_json(cg), *v;
	cr_assert(json_object_object_get_ex(j, "mode", &v));
	cr_assert_str_eq(json_object_get_string(v), mxc_cgroup_mode_to_string(expect));
	cr_assert(json_object_object_get_ex(j, "controllers", &v));
	cr_assert_eq(json_object_array_length(v), 2);
	json_object_put(j);
	if (expect == MXC_CGROUP_V1 && v2_mount()) {
		/* Why not v2: said, not guessed. */
		struct json_object *jj = mxc_cgroups_to_json(cg), *note;
		cr_assert(json_object_object_get_ex(jj, "note", &note) && note);
		cr_assert(strstr(json_object_get_string(note), "cgroup v2"), "%s",
			  json_object_get_string(note));
		cr_log_info("why not v2: %s", json_object_get_string(note));
		json_object_put(jj);
	}
}

Test(cgroup, probing_changes_nothing)
{
	struct mxc_error err = { 0 };
	struct mxc_cgroups *p = NULL;
	char name[48];
	snprintf(name, sizeof(name), "%s-probe", test_name);
	struct mxc_cgroups_options opt = { .name = name, .probe = true };
	cr_assert_eq(mxc_cgroups_detect(&opt, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_cgroups_mode(p), mxc_cgroups_mode(cg));
	for (size_t i = 0; mxc_cgroups_path(p, i); i++)
		cr_assert_not(exists(mxc_cgroups_path(p, i)), "probe created %s",
			      mxc_cgroups_path(p, i));
	struct mxc_cgroup *g = NULL;
	cr_assert_eq(mxc_cgroup_create(p, "abc", 0, 10, &g, &err), -EPERM);
	mxc_cgroups_free(p);
}

Test(cgroup, forced_none_mode_limits_nothing_but_says_so)
{
	struct mxc_error err = { 0 };
	struct mxc_cgroups *none = NULL;
	struct mxc_cgroups_options opt = { .name = test_name, .modes = NONE_BIT };
	cr_assert_eq(mxc_cgroups_detect(&opt, &none, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_cgroups_mode(none), MXC_CGROUP_NONE);
	cr_assert(strstr(mxc_cgroups_describe(none), "RLIMIT_NPROC"));
	cr_assert(strstr(mxc_cgroups_describe(none), "RLIMIT_AS"));
	struct mxc_cgroup *g = NULL;
	/* A memory limit nobody would enforce is refused, not silently dropped. */
	cr_assert_eq(mxc_cgroup_create(none, "abc123", 64u << 20, 100, &g, &err), -EOPNOTSUPP);
	cr_assert(strstr(err.msg, "memoryBytes"), "%s", err.msg);
	/* Tasks are left to RLIMIT_NPROC: the group is an empty shell. */
	cr_assert_eq(mxc_cgroup_create(none, "abc123", 0, 100, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_cgroup_fd(g), -1);
	cr_assert_eq(mxc_cgroup_attach(g, getpid(), &err), 0);
	cr_assert_eq(mxc_cgroup_kill(g, 0), 0);
	struct mxc_cgroup_stats s;
	cr_assert_eq(mxc_cgroup_stats(g, &s), 0);
	cr_assert_eq(s.tasks_max, MXC_CGROUP_UNKNOWN);
	mxc_cgroup_destroy(g);
	mxc_cgroups_free(none);
}

/* ---- limits ---- */

Test(cgroup, create_sets_the_limits_and_stats_show_them)
{
	need(MXC_CGROUP_MEMORY | MXC_CGROUP_PIDS);
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "a1b2c3", 64u << 20, 100, &grp[0], &err), 0, "%s",
		     err.msg);
	char mem[4096], pids[4096];
	group_dir("a1b2c3", MXC_CGROUP_MEMORY, mem, sizeof(mem));
	group_dir("a1b2c3", MXC_CGROUP_PIDS, pids, sizeof(pids));
	cr_assert_eq(u64_at(mem, memory_max_file()), 64u << 20);
	/* Swap is no way around the memory limit. */
	if (mxc_cgroups_mode(cg) == MXC_CGROUP_V1 && exists_at(mem, "memory.memsw.limit_in_bytes"))
		cr_assert_eq(u64_at(mem, "memory.memsw.limit_in_bytes"), 64u << 20);
	if (mxc_cgroups_mode(cg) == MXC_CGROUP_V2 && exists_at(mem, "memory.swap.max"))
		cr_assert_eq(u64_at(mem, "memory.swap.max"), 0);
	cr_assert_eq(u64_at(pids, "pids.max"), 100);
	/* Root's, and nobody else may write. */
	struct stat st;
	cr_assert_eq(stat(mem, &st), 0);
	cr_assert_eq(st.st_uid, 0u);
	cr_assert_eq(st.st_mode & 022, 0u);

	struct mxc_cgroup_stats s;
	cr_assert_eq(mxc_cgroup_stats(grp[0], &s), 0);
	cr_assert_eq(s.memory_max, 64u << 20);
	cr_assert_eq(s.tasks_max, 100);
	cr_assert_eq(s.tasks_current, 0);
	cr_assert_eq(s.oom_kills, 0);
	cr_assert_eq(s.tasks_refused, 0);
	cr_assert_eq(mxc_cgroup_populated(grp[0]), 0);

	/* A process in it counts, and its memory shows. */
	pid_t pid = start_in_group(grp[0], sleep_forever, 0);
	for (int i = 0; i < 200 && (mxc_cgroup_stats(grp[0], &s), s.tasks_current != 1); i++)
		usleep(5000);
	cr_assert_eq(s.tasks_current, 1);
	cr_assert_eq(mxc_cgroup_populated(grp[0]), 1);
	struct json_object *j = mxc_cgroup_to_json(grp[0]), *v;
	cr_assert(json_object_object_get_ex(j, "tasks_current", &v));
	cr_assert_eq(json_object_get_int64(v), 1);
	cr_assert(json_object_object_get_ex(j, "memory_max", &v));
	cr_assert_eq(json_object_get_int64(v), 64 << 20);
	cr_assert(json_object_object_get_ex(j, "paths", &v));
	cr_assert_geq(json_object_array_length(v), 1);
	json_object_put(j);
	kill(pid, SIGKILL);
	wait_status(pid);
}

Test(cgroup, no_limit_means_unlimited)
{
	need(MXC_CGROUP_MEMORY | MXC_CGROUP_PIDS);
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "0ff", 0, 0, &grp[0], &err), 0, "%s", err.msg);
	struct mxc_cgroup_stats s;
	mxc_cgroup_stats(grp[0], &s);
	cr_assert_eq(s.memory_max, 0);
	cr_assert_eq(s.tasks_max, 0);
}

/*
 * Every process forks until it cannot, reporting '+' per child and '-' at the end. A budget
 * shared by all of them stops the bomb ('!') should the limit under test not hold: a broken
 * build must fail this test, not take the host down.
 */
static int *bomb_budget;

static void fork_bomb(int fd)
{
	for (;;) {
		if (__atomic_sub_fetch(bomb_budget, 1, __ATOMIC_SEQ_CST) < 0) {
			if (write(fd, "!", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		pid_t p = fork();
		if (p == 0)
			continue;
		if (p > 0) {
			if (write(fd, "+", 1) != 1)
				_exit(1);
			continue;
		}
		if (write(fd, "-", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
}

Test(cgroup, fork_bomb_stops_at_the_task_limit)
{
	need(MXC_CGROUP_PIDS);
	enum { TASKS = 48 };
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "b0b", 0, TASKS, &grp[0], &err), 0, "%s", err.msg);
	char dir[4096];
	group_dir("b0b", MXC_CGROUP_PIDS, dir, sizeof(dir));
	cr_assert_eq(u64_at(dir, "pids.max"), TASKS, "no task limit: not starting the bomb");
	bomb_budget = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
	cr_assert_neq(bomb_budget, MAP_FAILED);
	*bomb_budget = 8 * TASKS;
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t bomb = start_in_group(grp[0], fork_bomb, p[1]);
	close(p[1]);

	/*
	 * Each process ends with one '-' (or '!') after its '+' as a parent, so once as many
	 * have ended as the limit allows processes and as were reported, all have. Fewer may
	 * have ended than were reported for a moment (a child failing before its parent said
	 * '+'), never the other way round.
	 */
	unsigned plus = 0, minus = 0, stopped = 0;
	uint64_t deadline = mxc_now_mono_ns() + 20ull * 1000000000ull;
	while ((minus + stopped < TASKS || minus + stopped < plus + 1) &&
	       mxc_now_mono_ns() < deadline) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		char buf[256];
		ssize_t n = read(p[0], buf, sizeof(buf));
		cr_assert_gt(n, 0);
		for (ssize_t i = 0; i < n; i++)
			buf[i] == '+' ? plus++ : buf[i] == '-' ? minus++ : stopped++;
	}
	cr_log_info("fork bomb: %u processes forked, %u refused at %d tasks", plus, minus, TASKS);
	cr_assert_eq(stopped, 0, "the task limit did not hold: the bomb ran out of budget");
	cr_assert_eq(minus, TASKS, "%u processes ended their bomb loop, %d expected", minus, TASKS);
	cr_assert_eq(plus, TASKS - 1, "the bomb got %u children, %d expected", plus, TASKS - 1);
	struct mxc_cgroup_stats s;
	mxc_cgroup_stats(grp[0], &s);
	cr_assert_eq(s.tasks_current, TASKS);
	cr_assert_geq(s.tasks_refused, TASKS);

	/* The host (this test) can still make processes at once. */
	uint64_t t0 = mxc_now_mono_ns();
	pid_t q = fork();
	if (q == 0)
		_exit(7);
	cr_assert_gt(q, 0);
	int status = wait_status(q);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	cr_assert_lt(mxc_now_mono_ns() - t0, 1000000000ull);

	cr_assert_eq(mxc_cgroup_kill(grp[0], 5000), 0);
	cr_assert_eq(mxc_cgroup_populated(grp[0]), 0);
	status = wait_status(bomb);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(p[0]);
	munmap(bomb_budget, sizeof(int));
}

/* Touches 256 MiB, 1 MiB at a time; exits 0 if it ever gets there. */
static void memory_bomb(int unused)
{
	for (int i = 0; i < 256; i++) {
		char *m = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m == MAP_FAILED)
			_exit(2);
		memset(m, 0x5a, 1u << 20);
	}
	_exit(0);
}

Test(cgroup, memory_bomb_is_oom_killed_inside_the_group)
{
	need(MXC_CGROUP_MEMORY);
	struct mxc_error err = { 0 };
	const uint64_t limit = 32u << 20;
	cr_assert_eq(mxc_cgroup_create(cg, "f00d", limit, 16, &grp[0], &err), 0, "%s", err.msg);
	char dir[4096];
	group_dir("f00d", MXC_CGROUP_MEMORY, dir, sizeof(dir));
	cr_assert_eq(u64_at(dir, memory_max_file()), limit, "no memory limit: no bomb");
	/* A bystander outside the group, and one inside that stays small. */
	pid_t outside = fork();
	if (outside == 0)
		for (;;)
			pause();
	pid_t small = start_in_group(grp[0], sleep_forever, 0);
	pid_t bomb = start_in_group(grp[0], memory_bomb, 0);
	int status = wait_status(bomb);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "the memory bomb was not OOM-killed (status 0x%x)", status);
	struct mxc_cgroup_stats s;
	mxc_cgroup_stats(grp[0], &s);
	cr_log_info("memory bomb: peak %" PRIu64 " bytes at a limit of %" PRIu64
		    ", %" PRIu64 " OOM kills",
		    s.memory_peak, limit, s.oom_kills);
	cr_assert_geq(s.oom_kills, 1);
	cr_assert_eq(s.memory_max, limit);
	if (s.memory_peak != MXC_CGROUP_UNKNOWN)
		cr_assert_leq(s.memory_peak, limit);
	cr_assert_lt(s.memory_current, limit);
	/* Only the hog: the test, the bystander and the small process live on. */
	cr_assert_eq(kill(outside, 0), 0);
	cr_assert_eq(kill(small, 0), 0);
	cr_assert_eq(waitpid(small, &status, WNOHANG), 0);
	kill(outside, SIGKILL);
	wait_status(outside);
	kill(small, SIGKILL);
	wait_status(small);
}

/* ---- kill, destroy, stale ---- */

/* Starts children that sleep, some double-forked away (reparented out of reach). */
static void spawn_sleepers(int n)
{
	signal(SIGCHLD, SIG_IGN); /* the double-fork middlemen leave no zombies */
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			if (i % 2 && fork() > 0)
				_exit(0);
			setsid();
			for (;;)
				pause();
		}
	}
	for (;;)
		pause();
}

Test(cgroup, kill_leaves_the_group_empty)
{
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "de4d", 0, 200, &grp[0], &err), 0, "%s", err.msg);
	if (mxc_cgroups_mode(cg) == MXC_CGROUP_NONE)
		cr_skip_test("no cgroups on this host: %s", mxc_cgroups_describe(cg));
	pid_t leader = start_in_group(grp[0], spawn_sleepers, 20);
	struct mxc_cgroup_stats s;
	for (int i = 0; i < 400; i++) {
		mxc_cgroup_stats(grp[0], &s);
		if (s.tasks_current == 21 || s.tasks_current == MXC_CGROUP_UNKNOWN)
			break;
		usleep(5000);
	}
	/* A bystander the kill must not touch. */
	pid_t outside = fork();
	if (outside == 0)
		for (;;)
			pause();
	cr_assert_eq(mxc_cgroup_populated(grp[0]), 1);
	cr_assert_eq(mxc_cgroup_kill(grp[0], 5000), 0);
	cr_assert_eq(mxc_cgroup_populated(grp[0]), 0);
	int status = wait_status(leader);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	cr_assert_eq(kill(outside, 0), 0, "a process outside the group was hit");
	kill(outside, SIGKILL);
	wait_status(outside);
	/* Killing an empty group is fine. */
	cr_assert_eq(mxc_cgroup_kill(grp[0], 0), 0);
}

Test(cgroup, destroy_removes_the_group_even_with_processes_inside)
{
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "c0ffee", 64u << 20, 50, &grp[0], &err), 0, "%s",
		     err.msg);
	if (mxc_cgroups_mode(cg) == MXC_CGROUP_NONE)
		cr_skip_test("no cgroups on this host: %s", mxc_cgroups_describe(cg));
	pid_t leader = start_in_group(grp[0], spawn_sleepers, 5);
	char paths[MXC_ARRAY_SIZE(grp)][4200];
	size_t n = 0;
	for (size_t i = 0; mxc_cgroups_path(cg, i) && n < MXC_ARRAY_SIZE(paths); i++, n++) {
		snprintf(paths[n], sizeof(paths[n]), "%s/c0ffee", mxc_cgroups_path(cg, i));
		cr_assert(exists(paths[n]));
	}
	mxc_cgroup_destroy(grp[0]);
	grp[0] = NULL;
	for (size_t i = 0; i < n; i++)
		cr_assert_not(exists(paths[i]), "%s is still there", paths[i]);
	int status = wait_status(leader);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

Test(cgroup, stale_cleanup_removes_leftovers_but_not_live_groups)
{
	if (mxc_cgroups_mode(cg) == MXC_CGROUP_NONE)
		cr_skip_test("no cgroups on this host: %s", mxc_cgroups_describe(cg));
	struct mxc_error err = { 0 };
	const char *ids[] = { "aaa", "bbb", "ccc" };
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(mxc_cgroup_create(cg, ids[i], 0, 20, &grp[i], &err), 0, "%s",
			     err.msg);
	/* A stale group with a process left in it, as after a daemon crash. */
	pid_t left = start_in_group(grp[0], sleep_forever, 0);
	/* The daemon forgot about them: its handles go, the cgroups stay. */
	mxc_cgroup_free(grp[0]);
	mxc_cgroup_free(grp[2]);
	grp[0] = grp[2] = NULL;
	/* Something that is no session's must be left alone too. */
	char other[4200];
	snprintf(other, sizeof(other), "%s/not-a-session", mxc_cgroups_path(cg, 0));
	cr_assert_eq(mkdir(other, 0755), 0);

	char bbb[] = "bbb", *live[] = { bbb, NULL };
	int r = mxc_cgroups_cleanup_stale(cg, live, &err);
	cr_assert_eq(r, 2, "cleanup returned %d: %s", r, err.msg);
	for (size_t i = 0; mxc_cgroups_path(cg, i); i++) {
		char p[4200];
		for (size_t k = 0; k < 3; k++) {
			snprintf(p, sizeof(p), "%s/%s", mxc_cgroups_path(cg, i), ids[k]);
			cr_assert_eq(exists(p), k == 1, "%s", p);
		}
	}
	cr_assert(exists(other));
	rmdir(other);
	int status = wait_status(left);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

Test(cgroup, open_finds_a_group_left_by_an_earlier_daemon)
{
	need(MXC_CGROUP_PIDS);
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "ad0b7", 0, 33, &grp[0], &err), 0, "%s", err.msg);
	pid_t pid = start_in_group(grp[0], sleep_forever, 0);
	mxc_cgroup_free(grp[0]);
	grp[0] = NULL;
	/* The same id again while a process is in it: refused, not reset. */
	cr_assert_eq(mxc_cgroup_create(cg, "ad0b7", 0, 1000, &grp[1], &err), -EBUSY);
	cr_assert_eq(mxc_cgroup_open(cg, "ad0b7", &grp[0], &err), 0, "%s", err.msg);
	struct mxc_cgroup_stats s;
	mxc_cgroup_stats(grp[0], &s);
	cr_assert_eq(s.tasks_max, 33);
	cr_assert_eq(s.tasks_current, 1);
	cr_assert_eq(mxc_cgroup_open(cg, "beef", &grp[1], &err), -ENOENT);
	cr_assert_eq(mxc_cgroup_kill(grp[0], 2000), 0);
	wait_status(pid);
	/* Empty now: a leftover is reused with the new limits. */
	mxc_cgroup_free(grp[0]);
	cr_assert_eq(mxc_cgroup_create(cg, "ad0b7", 0, 44, &grp[0], &err), 0, "%s", err.msg);
	mxc_cgroup_stats(grp[0], &s);
	cr_assert_eq(s.tasks_max, 44);
}

/* ---- hostile input and a hostile agent ---- */

Test(cgroup, ids_that_are_not_hex_are_refused)
{
	struct mxc_error err = { 0 };
	const char *bad[] = { "",   "..", "../x",   "a/b",	"ABC",	    "daemon",
			      "a ", "-1", "a\nb", "0123456789abcdef0123456789abcdef0" };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++) {
		struct mxc_cgroup *g = NULL;
		cr_assert_eq(mxc_cgroup_create(cg, bad[i], 0, 10, &g, &err), -EINVAL, "'%s'",
			     bad[i]);
		cr_assert_eq(mxc_cgroup_open(cg, bad[i], &g, &err), -EINVAL, "'%s'", bad[i]);
		cr_assert_null(g);
	}
	cr_assert_eq(mxc_cgroup_create(cg, NULL, 0, 10, &grp[0], &err), -EINVAL);
	cr_assert(mxc_cgroup_id_valid("0123456789abcdef0123456789abcdef"));
	/* Nothing was made next to the subtree. */
	for (size_t i = 0; mxc_cgroups_path(cg, i); i++) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/../x", mxc_cgroups_path(cg, i));
		cr_assert_not(exists(p));
	}
	struct mxc_cgroups *c2 = NULL;
	struct mxc_cgroups_options opt = { .name = "../evil" };
	cr_assert_eq(mxc_cgroups_detect(&opt, &c2, &err), -EINVAL);
}

/* In a child that has become an unprivileged user: may it loosen its own cage? */
static void try_escape(int fd)
{
	char buf[4200];
	if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
		_exit(90);
	/* The directory path comes through the pipe's other end, see below. */
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		_exit(91);
	buf[n] = '\0';
	char path[4400];
	int fails = 0;
	const char *files[] = { "pids.max", "memory.max", "memory.limit_in_bytes",
				"memory.memsw.limit_in_bytes", "memory.swap.max", "cgroup.procs",
				"cgroup.subtree_control" };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", buf, files[i]);
		int f = open(path, O_WRONLY);
		if (f >= 0)
			_exit(10 + (int)i); /* could open a control file for writing */
		fails++;
	}
	snprintf(path, sizeof(path), "%s/sub", buf);
	if (mkdir(path, 0755) == 0)
		_exit(30);
	/* Leaving: writing itself into the parent (the subtree). */
	snprintf(path, sizeof(path), "%s/../cgroup.procs", buf);
	int f = open(path, O_WRONLY);
	if (f >= 0 && write(f, "0", 1) == 1)
		_exit(31);
	_exit(fails ? 0 : 92);
}

Test(cgroup, the_agent_cannot_raise_its_limits_or_leave)
{
	if (mxc_cgroups_mode(cg) == MXC_CGROUP_NONE)
		cr_skip_test("no cgroups on this host: %s", mxc_cgroups_describe(cg));
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "e5c", 0, 20, &grp[0], &err), 0, "%s", err.msg);
	for (size_t i = 0; mxc_cgroups_path(cg, i); i++) {
		int p[2];
		cr_assert_eq(pipe(p), 0);
		pid_t pid = start_in_group(grp[0], try_escape, p[0]);
		char dir[4200];
		int len = snprintf(dir, sizeof(dir), "%s/e5c", mxc_cgroups_path(cg, i));
		cr_assert_eq(write(p[1], dir, (size_t)len), len);
		close(p[0]);
		close(p[1]);
		int status = wait_status(pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "the agent got through in %s (exit %d)", dir, WEXITSTATUS(status));
	}
}

/* ---- the same life cycle as a session leader ---- */

static void report_cgroup(int fd)
{
	char *t = slurp("/proc/self/cgroup");
	if (!t || write(fd, t, strlen(t)) < 0)
		_exit(1);
	_exit(0);
}

Test(cgroup, a_leader_attached_before_go_runs_only_inside)
{
	if (mxc_cgroups_mode(cg) == MXC_CGROUP_NONE)
		cr_skip_test("no cgroups on this host: %s", mxc_cgroups_describe(cg));
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "1eade7", 0, 20, &grp[0], &err), 0, "%s", err.msg);
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = start_in_group(grp[0], report_cgroup, p[1]);
	close(p[1]);
	char buf[8192] = "";
	cr_assert_gt(mxc_read_full(p[0], buf, sizeof(buf) - 1), 0);
	close(p[0]);
	wait_status(pid);
	/* Every hierarchy in use shows .../<name>/1eade7 from its first instruction. */
	char want[128];
	snprintf(want, sizeof(want), "/%s/1eade7\n", test_name);
	size_t hits = 0;
	for (const char *q = buf; (q = strstr(q, want)); q++)
		hits++;
	size_t n = 0;
	while (mxc_cgroups_path(cg, n))
		n++;
	cr_assert_eq(hits, n, "%s", buf);
}

/* A leader that makes its cgroup namespace once it is inside its group. */
static void unshare_and_report(int fd)
{
	if (unshare(CLONE_NEWCGROUP) < 0)
		_exit(1);
	report_cgroup(fd);
}

Test(cgroup, a_leader_unsharing_its_cgroup_namespace_after_go_sees_its_group_as_root)
{
	if (mxc_cgroups_mode(cg) == MXC_CGROUP_NONE)
		cr_skip_test("no cgroups on this host: %s", mxc_cgroups_describe(cg));
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_cgroup_create(cg, "1eade8", 0, 20, &grp[0], &err), 0, "%s", err.msg);
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = start_in_group(grp[0], unshare_and_report, p[1]);
	close(p[1]);
	char buf[8192] = "";
	cr_assert_gt(mxc_read_full(p[0], buf, sizeof(buf) - 1), 0);
	close(p[0]);
	int status = wait_status(pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Nothing of the host's tree shows: not mxc's subtree, not the session id. */
	cr_assert_null(strstr(buf, "1eade8"), "%s", buf);
	cr_assert_null(strstr(buf, test_name), "%s", buf);
	bool v1 = mxc_cgroups_mode(cg) == MXC_CGROUP_V1;
	cr_assert(strstr(buf, v1 ? ":pids:/\n" : "0::/\n"), "%s", buf);
}

/* ---- v2 mechanics with hugetlb ---- */

static void v2_setup(void)
{
	make_name();
	become_subreaper();
	char *m = v2_mount();
	if (!m)
		return;
	char *t = slurp_at(m, "cgroup.controllers");
	bool hugetlb = t && has_word(t, "hugetlb");
	free(t);
	if (!hugetlb)
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", m);
	/* The runner's POST_ALL hook turns it off again if it was off. */
	cr_assert_eq(write_file(path, "+hugetlb"), 0);
	enter_own_v2_cgroup();
}

static void v2_teardown(void)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(grp); i++) {
		mxc_cgroup_destroy(grp[i]);
		grp[i] = NULL;
	}
	mxc_cgroups_free(cg);
	cg = NULL;
	leave_own_v2_cgroup();
	reap_all();
}

TestSuite(cgroup_v2, .init = v2_setup, .fini = v2_teardown, .timeout = 60);

static pid_t clone_into(int cgroup_fd, uint64_t flags)
{
	struct clone_args a = {
		.flags = flags | CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgroup_fd,
	};
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

/* One test, since it changes the v2 root's subtree_control for the run. */
Test(cgroup_v2, moves_the_daemon_out_enables_controllers_clones_into_and_kills)
{
	if (!moved_to[0])
		cr_skip_test("no cgroup v2 hierarchy with a free controller (hugetlb) here");
	/* The test process is alone in its cgroup, like a daemon in its service's. */
	struct mxc_error err = { 0 };
	struct mxc_cgroups_options opt = { .modes = V2_BIT, .v2_controllers = MXC_CGROUP_HUGETLB };
	cr_assert_eq(mxc_cgroups_detect(&opt, &cg, &err), 0, "%s", err.msg);
	cr_log_info("v2: %s", mxc_cgroups_describe(cg));
	cr_assert_eq(mxc_cgroups_mode(cg), MXC_CGROUP_V2, "%s", mxc_cgroups_describe(cg));
	cr_assert_eq(mxc_cgroups_controllers(cg), MXC_CGROUP_HUGETLB);

	/* No internal processes: the daemon moved into <own>/mxc/daemon, controllers flow. */
	char path[4400];
	char *self = slurp("/proc/self/cgroup");
	snprintf(path, sizeof(path), "0::/%s/mxc/daemon\n", test_name);
	cr_assert(strstr(self, path), "%s", self);
	free(self);
	char *sc = slurp_at(moved_to, "cgroup.subtree_control");
	cr_assert(has_word(sc, "hugetlb"), "%s", sc);
	free(sc);
	snprintf(path, sizeof(path), "%s/mxc", moved_to);
	cr_assert_str_eq(mxc_cgroups_path(cg, 0), path);
	sc = slurp_at(path, "cgroup.subtree_control");
	cr_assert(has_word(sc, "hugetlb"), "%s", sc);
	free(sc);

	/* Detecting again (a restarted daemon) finds the same place. */
	struct mxc_cgroups *again = NULL;
	cr_assert_eq(mxc_cgroups_detect(&opt, &again, &err), 0, "%s", err.msg);
	cr_assert_str_eq(mxc_cgroups_path(again, 0), mxc_cgroups_path(cg, 0));
	mxc_cgroups_free(again);

	/* No memory controller, no memory limit. */
	cr_assert_eq(mxc_cgroup_create(cg, "abc", 1u << 30, 0, &grp[1], &err), -EOPNOTSUPP);
	cr_assert_eq(mxc_cgroup_create(cg, "5e55", 0, 0, &grp[0], &err), 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/5e55/hugetlb.2MB.max", mxc_cgroups_path(cg, 0));
	if (!exists(path))
		cr_log_info("no hugetlb files (no huge page sizes?)");

	/* clone3(CLONE_INTO_CGROUP): the child never runs elsewhere; with a new cgroup
	 * namespace it sees its group as the root. */
	int fd = mxc_cgroup_fd(grp[0]);
	cr_assert_geq(fd, 0);
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = clone_into(fd, CLONE_NEWCGROUP);
	if (pid == 0)
		report_cgroup(p[1]);
	cr_assert_gt(pid, 0, "clone3: %s", strerror(errno));
	close(p[1]);
	char buf[4096] = "";
	cr_assert_gt(mxc_read_full(p[0], buf, sizeof(buf) - 1), 0);
	close(p[0]);
	wait_status(pid);
	cr_assert(strstr(buf, "0::/\n"), "%s", buf);

	/* cgroup.kill ends everything, forks in flight included. */
	pid_t bomb = clone_into(fd, 0);
	if (bomb == 0)
		spawn_sleepers(30);
	cr_assert_gt(bomb, 0);
	usleep(50000);
	cr_assert_eq(mxc_cgroup_populated(grp[0]), 1);
	struct json_object *j = mxc_cgroups_to_json(cg), *v;
	cr_assert(json_object_object_get_ex(j, "kill", &v));
	cr_log_info("v2 kill by %s", json_object_get_string(v));
	json_object_put(j);
	cr_assert_eq(mxc_cgroup_kill(grp[0], 5000), 0);
	cr_assert_eq(mxc_cgroup_populated(grp[0]), 0);
	int status = wait_status(bomb);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* Stale cleanup and destroy. */
	cr_assert_eq(mxc_cgroup_create(cg, "57a1e", 0, 0, &grp[1], &err), 0, "%s", err.msg);
	pid_t left = clone_into(mxc_cgroup_fd(grp[1]), 0);
	if (left == 0)
		for (;;)
			pause();
	mxc_cgroup_free(grp[1]);
	grp[1] = NULL;
	char id5e55[] = "5e55", *live[] = { id5e55, NULL };
	cr_assert_eq(mxc_cgroups_cleanup_stale(cg, live, &err), 1, "%s", err.msg);
	status = wait_status(left);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	snprintf(path, sizeof(path), "%s/57a1e", mxc_cgroups_path(cg, 0));
	cr_assert_not(exists(path));
	snprintf(path, sizeof(path), "%s/5e55", mxc_cgroups_path(cg, 0));
	cr_assert(exists(path));
	mxc_cgroup_destroy(grp[0]);
	grp[0] = NULL;
	cr_assert_not(exists(path));
	/* The daemon's own group is never taken for a stale session. */
	snprintf(path, sizeof(path), "%s/daemon", mxc_cgroups_path(cg, 0));
	cr_assert(exists(path));
}
