/*
 * Resource exhaustion from inside a session, run as the agent: a fork bomb, a memory bomb and
 * filling the session's tmpfs mounts. Each must stop at the policy's session.limits (tasks,
 * memoryBytes, tmpBytes), the host and the daemon must keep answering meanwhile, and nothing
 * of the session may remain once it is stopped. The probe (probe-limits.c) reports how far it
 * got; each test also shows that it does get somewhere (the limit bounds it, nothing else).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "util.h"

#define MIB (1024LL * 1024)

static struct mxc_harness h;
static uid_t agent_uid;
static char probe[300];

static void setup(void)
{
	mxc_harness_start(&h);
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	const struct passwd *pw = getpwnam("coder");
	cr_assert_not_null(pw);
	agent_uid = pw->pw_uid;
	char src[300];
	snprintf(src, sizeof(src), "%s/tests/escape/probe-limits", h.bin);
	mxc_harness_install("coder", src, "probe", probe, sizeof(probe));
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(limits, .init = setup, .fini = teardown, .timeout = 120);

/* A process-only session under a policy with the given session.limits object. */
static char *start(const char *limits)
{
	char path[300], text[1024];
	snprintf(path, sizeof(path), "%s/policy.json", h.env.scratch);
	snprintf(text, sizeof(text),
		 "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false},"
		 "\"session\":{\"limits\":%s}}",
		 limits);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
	return mxc_ok(&h, "session", "start", "coder", "--policy", path, NULL);
}

/* Stops the session and asserts nothing of the agent is left running. */
static void stop(char *id)
{
	free(mxc_ok(&h, "session", "stop", id, NULL));
	for (int i = 0; i < 100 && mxc_processes_of(&h, agent_uid) > 0; i++)
		usleep(20000);
	cr_assert_eq(mxc_processes_of(&h, agent_uid), 0,
		     "processes of the agent outlived session %s", id);
	free(id);
}

static struct mxc_result run_probe(const char *id, const char *cmd, const char *arg)
{
	return mxc_run(&h, 0, NULL, "exec", id, "--", probe, cmd, arg, NULL);
}

/* `mxc session show ID --json`: containment.limits (the caller puts the returned root). */
static struct json_object *show_limits(const char *id, struct json_object **ret_root)
{
	char *out = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *root = mxc_test_json(out), *c, *limits;
	free(out);
	cr_assert(json_object_object_get_ex(root, "containment", &c) &&
		      json_object_object_get_ex(c, "limits", &limits),
		  "no containment.limits in session show");
	*ret_root = root;
	return limits;
}

/* containment.limits.usage.KEY of the session; -1 if absent or unknown (null). */
static int64_t usage(const char *id, const char *key)
{
	struct json_object *root, *u;
	struct json_object *limits = show_limits(id, &root);
	int64_t v = json_object_object_get_ex(limits, "usage", &u) ? mxc_test_int(u, key) : -1;
	json_object_put(root);
	return v;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(limits, a_fork_bomb_stops_at_the_task_limit_and_the_host_answers)
{
	const long limit = 64;
	char *id = start("{\"tasks\":64}");
	struct mxc_result r = run_probe(id, "forkbomb", NULL);
	cr_assert_eq(r.status, 0, "the bomb did not go off (%d): %s%s", r.status, r.out, r.err);
	long forked = -1, retried = -1;
	char err[32] = "";
	cr_assert_eq(sscanf(r.out, "forked %ld errno %31s retried %ld", &forked, err, &retried), 3,
		     "%s", r.out);
	mxc_result_free(&r);
	/* It did fork (the session's own processes take a few of the 64), then was refused. */
	cr_assert_gt(forked, limit / 2, "only %ld forks before %s", forked, err);
	cr_assert_leq(forked + retried, limit, "%ld forks past a limit of %ld", forked + retried,
		      limit);
	cr_assert_str_eq(err, "EAGAIN");

	/* The bomb sits at its limit: the daemon still answers, quickly. */
	double t = now();
	free(mxc_ok(&h, "version", NULL));
	double took = now() - t;
	cr_assert_lt(took, 2.0, "mxc version took %.2f s during the fork bomb", took);
	int64_t current = usage(id, "tasks_current"), max = usage(id, "tasks_max");
	cr_assert_eq(max, limit, "the session's pids cgroup limit is %lld", (long long)max);
	cr_assert(current > limit - 8 && current <= limit,
		  "%lld tasks in the session during the bomb (limit %ld)", (long long)current,
		  limit);

	/* The agent may not reach more through another command either. */
	t = now();
	r = mxc_run(&h, 0, NULL, "exec", id, "--", "true", NULL);
	took = now() - t;
	mxc_result_free(&r);
	cr_assert_lt(took, 5.0, "mxc exec hung for %.2f s during the fork bomb", took);
	current = usage(id, "tasks_current");
	cr_assert_leq(current, limit, "%lld tasks in the session", (long long)current);

	stop(id);
}

/* The last "allocated N" the memory probe printed: how many MiB it reached. */
static long reached(const char *out)
{
	long n = 0, v;
	for (const char *line = out; line && *line; line = strchr(line, '\n'), line += !!line)
		if (sscanf(line, "allocated %ld", &v) == 1)
			n = v;
	return n;
}

Test(limits, a_memory_bomb_stops_at_the_memory_limit)
{
	char *id = start("{\"memoryBytes\":67108864}");
	struct json_object *root;
	struct json_object *limits = show_limits(id, &root);
	const char *by = mxc_test_str(limits, "memory_by");
	cr_assert(by && strstr(by, "memory cgroup"), "the memory limit is not enforced here: %s",
		  by ? by : "null");
	cr_assert_eq(mxc_test_int(limits, "memory_bytes"), 64 * MIB);
	json_object_put(root);
	cr_assert_eq(usage(id, "memory_max"), 64 * MIB);

	/* Control: well under the limit, allocating works. */
	struct mxc_result r = run_probe(id, "memory", "16");
	cr_assert_eq(r.status, 0, "16 MiB failed (%d): %s%s", r.status, r.out, r.err);
	cr_assert_not_null(strstr(r.out, "done 16\n"), "%s", r.out);
	mxc_result_free(&r);

	/* The bomb asks for 1 GiB: it is killed (137) or refused well before. */
	r = run_probe(id, "memory", "1024");
	long n = reached(r.out);
	cr_assert(r.status == 137 || (r.status == 2 && strstr(r.out, "errno ENOMEM")),
		  "the memory bomb ended with %d after %ld MiB: %s", r.status, n, r.err);
	cr_assert_leq(n, 64 + 4, "the memory bomb reached %ld MiB under a 64 MiB limit", n);
	cr_assert_geq(n, 16, "the memory bomb reached only %ld MiB", n);
	if (r.status == 137)
		cr_assert_geq(usage(id, "oom_kills"), 1, "killed, but no OOM kill counted");
	mxc_result_free(&r);

	/* The OOM killer chose among the bomb's processes: the session still works. */
	r = run_probe(id, "memory", "16");
	cr_assert_eq(r.status, 0, "16 MiB after the bomb failed (%d): %s%s", r.status, r.out,
		     r.err);
	mxc_result_free(&r);
	stop(id);
}

/* How many bytes the fill probe had written when it last said so. */
static long long progress(const char *out)
{
	long long n = 0, v;
	for (const char *line = out; line && *line; line = strchr(line, '\n'), line += !!line)
		if (sscanf(line, "progress %lld", &v) == 1 || sscanf(line, "wrote %lld", &v) == 1)
			n = v;
	return n;
}

/* Fills dir in the session; how many bytes the probe wrote before ENOSPC. */
static long long fill(const char *id, const char *dir)
{
	struct mxc_result r = run_probe(id, "fill", dir);
	cr_assert_eq(r.status, 0, "fill %s failed (%d): %s%s", dir, r.status, r.out, r.err);
	long long n = -1;
	char err[32] = "";
	const char *last = strstr(r.out, "wrote ");
	cr_assert(last && sscanf(last, "wrote %lld errno %31s", &n, err) == 2, "%s", r.out);
	cr_assert_str_eq(err, "ENOSPC", "fill %s: %s", dir, r.out);
	mxc_result_free(&r);
	return n;
}

/* Whether the host's directory has a file the fill probe made. */
static bool has_fill_file(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool found = false;
	while (d && (de = readdir(d)))
		found |= strncmp(de->d_name, "mxc-fill-", 9) == 0;
	if (d)
		closedir(d);
	return found;
}

static long long free_bytes(const char *path)
{
	struct statvfs v;
	cr_assert_eq(statvfs(path, &v), 0);
	return (long long)v.f_bavail * (long long)v.f_frsize;
}

Test(limits, tmp_and_shm_stop_at_tmpBytes)
{
	const long long limit = 8 * MIB, slack = 256 * 1024;
	long long host_tmp = free_bytes("/tmp"), host_var_tmp = free_bytes("/var/tmp");
	char *id = start("{\"tmpBytes\":8388608}");
	const char *dirs[] = {"/tmp", "/dev/shm", "/var/tmp"};
	long long written[3];
	for (size_t i = 0; i < MXC_ARRAY_SIZE(dirs); i++) {
		written[i] = fill(id, dirs[i]);
		cr_assert_leq(written[i], limit + slack, "%lld bytes written to %s (limit %lld)",
			      written[i], dirs[i], limit);
		cr_assert_gt(written[i], 1 * MIB, "only %lld bytes written to %s", written[i],
			     dirs[i]);
	}
	/* While the session's files exist, the host's own directories did not get them. */
	cr_assert(!has_fill_file("/tmp") && !has_fill_file("/var/tmp"));
	long long drop = host_tmp - free_bytes("/tmp");
	cr_assert_lt(drop, written[0] / 2, "the host's /tmp lost %lld bytes", drop);
	drop = host_var_tmp - free_bytes("/var/tmp");
	cr_assert_lt(drop, written[2] / 2, "the host's /var/tmp lost %lld bytes", drop);
	/* Full, and still a working session: a full /tmp is the agent's own problem. */
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c",
				      "rm /tmp/mxc-fill-* && echo ok > /tmp/a && cat /tmp/a", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "ok\n");
	mxc_result_free(&r);
	stop(id);
}

Test(limits, tmpfs_files_count_against_the_memory_limit)
{
	/* /dev/shm may hold 512 MiB (the default tmpBytes), the session only 64 MiB: the files
	 * are memory, charged to the session, so the memory limit stops the writer. */
	char *id = start("{\"memoryBytes\":67108864}");
	struct mxc_result r = run_probe(id, "fill", "/dev/shm");
	long long n = progress(r.out);
	cr_assert(r.status == 137 || strstr(r.out, "errno ENOSPC") || strstr(r.out, "errno ENOMEM"),
		  "filling /dev/shm ended with %d after %lld MiB: %s", r.status, n / MIB, r.err);
	cr_assert_leq(n, 68 * MIB, "%lld MiB in /dev/shm under a 64 MiB memory limit", n / MIB);
	cr_assert_geq(n, 16 * MIB, "only %lld MiB in /dev/shm", n / MIB);
	mxc_result_free(&r);
	/* The files stay charged after the writer is killed, so the OOM killer may take the
	 * session's init next and end the session: then it must be gone entirely. */
	r = mxc_run(&h, 0, NULL, "session", "stop", id, NULL);
	cr_assert(r.status == 0 || strstr(r.err, "has ended"), "session stop: %s", r.err);
	mxc_result_free(&r);
	for (int i = 0; i < 100 && mxc_processes_of(&h, agent_uid) > 0; i++)
		usleep(20000);
	cr_assert_eq(mxc_processes_of(&h, agent_uid), 0,
		     "processes of the agent outlived the session");
	free(id);
}
