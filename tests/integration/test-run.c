/*
 * mxc run CONFIG.json: MXC's example configurations and a few of our own, one-shot, end to
 * end. After every run, nothing of it may be left: no agent, no account, no session.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"

static struct mxc_harness h;

static void setup(void)
{
	mxc_harness_start(&h);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 120);

/* The path of one of MXC's example configurations kept in tests/data/mxc. */
static void example(const char *name, char *buf, size_t len)
{
	const char *src = getenv("MXC_SOURCE_ROOT");
	cr_assert_not_null(src);
	snprintf(buf, len, "%s/tests/data/mxc/%s", src, name);
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0, "cannot create %s", path);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static void config(const char *text, char *buf, size_t len)
{
	snprintf(buf, len, "%s/config.json", h.env.scratch);
	put(buf, text, 0644);
}

/* Nothing of any run is left: no agent the daemon knows, no account, no session. */
static void nothing_left(void)
{
	char *out = mxc_ok(&h, "agent", "list", "--json", NULL);
	cr_assert_null(strstr(out, "run-"), "a run's agent is left: %s", out);
	free(out);
	out = mxc_ok(&h, "session", "list", "--json", NULL);
	cr_assert_str_eq(out, "[\n]", "a run's session is left: %s", out);
	free(out);
	setpwent();
	for (struct passwd *pw; (pw = getpwent());)
		cr_assert_neq(strncmp(pw->pw_name, "run-", 4), 0, "account %s is left", pw->pw_name);
	endpwent();
}

Test(run, hello_world_prints_and_leaves_nothing)
{
	char path[512];
	example("11_lxc_hello_world.json", path, sizeof(path));
	struct mxc_result r = mxc_run(&h, 0, NULL, "run", path, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "Hello from LXC container!\n");
	/* What means nothing here is named, not silently dropped. */
	cr_assert_not_null(strstr(r.err, "lxc.distribution"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "containment"), "%s", r.err);
	mxc_result_free(&r);
	nothing_left();
}

Test(run, filesystem_example_reads_writes_and_is_denied_what_it_should)
{
	cr_assert_eq(mount("tmpfs", "/mnt", "tmpfs", 0, "mode=0755"), 0);
	cr_assert_eq(mkdir("/mnt/shared", 0755), 0);
	cr_assert_eq(mkdir("/mnt/output", 0777), 0);
	chmod("/mnt/output", 0777);
	put("/mnt/shared/input.txt", "in\n", 0644);
	char path[512];
	example("12_lxc_filesystem_access.json", path, sizeof(path));
	struct mxc_result r = mxc_run(&h, 0, NULL, "run", path, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "input.txt"), "%s", r.out);
	size_t n = strlen(r.out);
	cr_assert(n >= 5 && strcmp(r.out + n - 5, "test\n") == 0, "%s", r.out);
	mxc_result_free(&r);
	char *text = NULL;
	size_t len;
	cr_assert_eq(mxc_read_file("/mnt/output/result.txt", 64, &text, &len), 0);
	cr_assert_str_eq(text, "test\n");
	free(text);

	/* Its deniedPaths hold: /etc/shadow is not readable even where it would be. */
	char cfg[300];
	config("{\"version\":\"0.8.0-alpha\",\"process\":{\"commandLine\":\"cat /etc/shadow\"},"
	       "\"filesystem\":{\"readonlyPaths\":[\"/etc\"],\"deniedPaths\":[\"/etc/shadow\"]}}",
	       cfg, sizeof(cfg));
	r = mxc_run(&h, 0, NULL, "run", cfg, NULL);
	cr_assert_neq(r.status, 0);
	cr_assert_null(strstr(r.out, "root:"), "%s", r.out);
	mxc_result_free(&r);
	nothing_left();
}

Test(run, a_config_that_cannot_be_enforced_is_refused_before_anything_exists)
{
	char path[512];
	example("13_lxc_network_restricted.json", path, sizeof(path));
	struct mxc_result r = mxc_run(&h, 0, NULL, "run", path, NULL);
	cr_assert_eq(r.status, 125);
	cr_assert_not_null(strstr(r.err, "network.allowedHosts"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
	nothing_left();

	char cfg[300];
	config("{\"version\":\"0.8.0-alpha\",\"filesystem\":{}}", cfg, sizeof(cfg));
	r = mxc_run(&h, 0, NULL, "run", cfg, NULL);
	cr_assert_eq(r.status, 125);
	cr_assert_not_null(strstr(r.err, "process.commandLine"), "%s", r.err);
	mxc_result_free(&r);
	nothing_left();
}

Test(run, directional_network_example_runs_under_its_egress_rules)
{
	char path[512];
	example("30_network_0_8_directional.json", path, sizeof(path));
	struct mxc_result r = mxc_run(&h, 0, NULL, "run", path, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "schema 0.8 directional network example\n");
	mxc_result_free(&r);
	nothing_left();
}

Test(run, stdio_env_cwd_and_exit_status_pass_through)
{
	char cfg[300];
	config("{\"version\":\"0.8.0-alpha\",\"process\":{\"commandLine\":"
	       "\"echo \\\"$GREETING\\\"; pwd; cat; echo oops >&2; exit 7\","
	       "\"cwd\":\"/tmp\",\"env\":[\"GREETING=hi there\"]}}",
	       cfg, sizeof(cfg));
	struct mxc_result r = mxc_run(&h, 0, "piped in\n", "run", cfg, NULL);
	cr_assert_eq(r.status, 7, "%s", r.err);
	cr_assert_str_eq(r.out, "hi there\n/tmp\npiped in\n");
	cr_assert_str_eq(r.err, "oops\n");
	mxc_result_free(&r);
	nothing_left();
}

Test(run, the_process_timeout_ends_the_run_with_124)
{
	char cfg[300];
	config("{\"version\":\"0.8.0-alpha\",\"process\":{\"commandLine\":\"echo started; sleep 60\","
	       "\"timeout\":500}}",
	       cfg, sizeof(cfg));
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct mxc_result r = mxc_run(&h, 0, NULL, "run", cfg, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_assert_eq(r.status, 124, "%s", r.err);
	cr_assert_str_eq(r.out, "started\n");
	cr_assert_not_null(strstr(r.err, "timed out"), "%s", r.err);
	cr_assert_lt(b.tv_sec - a.tv_sec, 20, "the timeout did not end the run");
	mxc_result_free(&r);
	nothing_left();
}

Test(run, a_signal_ends_the_run_and_still_cleans_up)
{
	char cfg[300], mxc[300];
	config("{\"version\":\"0.8.0-alpha\",\"process\":{\"commandLine\":\"echo started; sleep 60\"}}",
	       cfg, sizeof(cfg));
	snprintf(mxc, sizeof(mxc), "%s/cli/mxc", h.bin);
	int out[2];
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		execl(mxc, "mxc", "--socket", h.sock, "run", cfg, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	/* Once the command runs, the session and the run's agent exist. */
	char buf[16] = "";
	cr_assert_eq(read(out[0], buf, sizeof(buf) - 1), 8);
	cr_assert_str_eq(buf, "started\n");
	char *agents = mxc_ok(&h, "agent", "list", "--json", NULL);
	cr_assert_not_null(strstr(agents, "run-"), "%s", agents);
	free(agents);
	kill(pid, SIGTERM);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	close(out[0]);
	cr_assert(WIFEXITED(status), "mxc run died of the signal instead of cleaning up");
	cr_assert_eq(WEXITSTATUS(status), 128 + SIGTERM);
	nothing_left();
}
