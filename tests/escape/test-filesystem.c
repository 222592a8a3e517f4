/*
 * Escape attempts against the filesystem view, each run as the agent inside a real session.
 * Every host file the agent tries to reach is world-readable (or writable): only mxc stands
 * between the agent and it, so a test fails the moment mxc's wall does.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

static struct mxc_harness h;

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0, "cannot create %s", path);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	fchmod(fd, mode);
	close(fd);
}

static void dir(const char *path, mode_t mode)
{
	cr_assert(mkdir(path, mode) == 0 || errno == EEXIST, "cannot create %s", path);
	chmod(path, mode);
}

/*
 * The host, as the test's private mount namespace shows it to the daemon: a human's home, a
 * file in /root, and a data tree in /srv with a bind alias of it at /srv/alias.
 */
static void setup(void)
{
	mxc_harness_start(&h);
	const char *tmp[] = { "/srv", "/home", "/root" };
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(mount("tmpfs", tmp[i], "tmpfs", 0, "mode=0755"), 0, "tmpfs on %s",
			     tmp[i]);
	put("/root/secret.txt", "ROOT-SECRET\n", 0644);
	dir("/home/alice", 0755);
	put("/home/alice/secret.txt", "ALICE-SECRET\n", 0644);
	dir("/srv/data", 0777);
	const char *dirs[] = { "pub", "secret", "ref", "out" };
	for (size_t i = 0; i < 4; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/srv/data/%s", dirs[i]);
		dir(p, 0777);
	}
	put("/srv/data/pub/readme.txt", "public\n", 0666);
	put("/srv/data/pub/hidden.txt", "HIDDEN-FILE\n", 0666);
	put("/srv/data/secret/key.txt", "TOP-SECRET\n", 0666);
	put("/srv/data/ref/ref.txt", "reference\n", 0666);
	put("/srv/data/a.txt", "A\n", 0666);
	cr_assert_eq(link("/srv/data/a.txt", "/srv/data/hard.txt"), 0);
	dir("/srv/alias", 0755);
	cr_assert_eq(mount("/srv/data", "/srv/alias", NULL, MS_BIND, NULL), 0);
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(filesystem, .init = setup, .fini = teardown, .timeout = 120);

/* A process-only session under a policy with the given filesystem object. */
static char *start(const char *filesystem)
{
	char path[300], text[2048];
	snprintf(path, sizeof(path), "%s/policy.json", h.env.scratch);
	snprintf(text, sizeof(text),
		 "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false},\"filesystem\":%s}",
		 filesystem);
	put(path, text, 0644);
	return mxc_ok(&h, "session", "start", "coder", "--policy", path, NULL);
}

static struct mxc_result as_agent(const char *id, const char *script)
{
	return mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", script, NULL);
}

/* Runs script as the agent and asserts it fails without printing secret (if not NULL). */
static void refused(const char *id, const char *script, const char *secret)
{
	struct mxc_result r = as_agent(id, script);
	cr_assert_neq(r.status, 0, "'%s' succeeded: %s", script, r.out);
	if (secret) {
		cr_assert_null(strstr(r.out, secret), "'%s' leaked: %s", script, r.out);
		cr_assert_null(strstr(r.err, secret), "'%s' leaked: %s", script, r.err);
	}
	mxc_result_free(&r);
}

static void allowed(const char *id, const char *script, const char *expect)
{
	struct mxc_result r = as_agent(id, script);
	cr_assert_eq(r.status, 0, "'%s' failed: %s", script, r.err);
	cr_assert_str_eq(r.out, expect, "'%s'", script);
	mxc_result_free(&r);
}

Test(filesystem, a_humans_home_and_root_are_absent)
{
	char *id = start("{\"readonlyPaths\":[\"/srv/data/pub\"]}");
	refused(id, "cat /home/alice/secret.txt", "ALICE-SECRET");
	refused(id, "ls /home/alice", "secret.txt");
	refused(id, "cat /root/secret.txt", "ROOT-SECRET");
	refused(id, "cat /proc/1/root/root/secret.txt", "ROOT-SECRET");
	refused(id, "find / -xdev -name secret.txt 2>/dev/null | grep .", "secret");
	free(id);
}

Test(filesystem, writes_outside_the_readwrite_paths_fail)
{
	char *id = start("{\"readwritePaths\":[\"/srv/data/out\"],"
			 "\"readonlyPaths\":[\"/srv/data/pub\"]}");
	allowed(id, "echo made > /srv/data/out/new.txt && cat /srv/data/out/new.txt", "made\n");
	refused(id, "echo x > /srv/data/pub/readme.txt", NULL);
	refused(id, "touch /srv/data/pub/new.txt", NULL);
	refused(id, "touch /srv/data/new.txt", NULL);
	const char *outside[] = { "/etc/x", "/usr/x", "/var/x", "/opt/x", "/srv/x", "/x", "/run/x" };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(outside); i++) {
		char s[64];
		snprintf(s, sizeof(s), "touch %s", outside[i]);
		refused(id, s, NULL);
	}
	free(mxc_ok(&h, "session", "stop", id, NULL));
	/* The agent's write reached the host, as the agent; nothing else changed. */
	struct stat st;
	cr_assert_eq(stat("/srv/data/out/new.txt", &st), 0);
	cr_assert_neq(st.st_uid, 0);
	cr_assert_neq(access("/srv/data/pub/new.txt", F_OK), 0);
	cr_assert_neq(access("/srv/data/new.txt", F_OK), 0);
	free(id);
}

Test(filesystem, a_readonly_path_inside_a_readwrite_one_stays_readonly)
{
	char *id = start("{\"readwritePaths\":[\"/srv/data\"],\"readonlyPaths\":[\"/srv/data/ref\"]}");
	allowed(id, "echo y > /srv/data/new.txt && cat /srv/data/ref/ref.txt", "reference\n");
	refused(id, "echo x >> /srv/data/ref/ref.txt", NULL);
	refused(id, "rm /srv/data/ref/ref.txt", NULL);
	refused(id, "mv /srv/data/ref /srv/data/moved", NULL);
	free(id);
	cr_assert_eq(access("/srv/data/ref/ref.txt", F_OK), 0);
}

Test(filesystem, a_denied_path_is_hidden_every_way_round)
{
	char *id = start("{\"readonlyPaths\":[\"/srv/data\"],"
			 "\"deniedPaths\":[\"/srv/data/secret\",\"/srv/data/pub/hidden.txt\"]}");
	allowed(id, "cat /srv/data/pub/readme.txt", "public\n");
	refused(id, "cat /srv/data/secret/key.txt", "TOP-SECRET");
	refused(id, "ls /srv/data/secret | grep .", "key");
	refused(id, "cat /srv/data/pub/hidden.txt", "HIDDEN-FILE");
	/* Through a symbolic link the agent makes. */
	refused(id, "ln -s /srv/data/secret ~/l && cat ~/l/key.txt", "TOP-SECRET");
	refused(id, "ln -sf /srv/data/pub/hidden.txt ~/h && cat ~/h", "HIDDEN-FILE");
	/* Through the host's bind alias of the same tree (in the baseline's /srv). */
	refused(id, "cat /srv/alias/secret/key.txt", "TOP-SECRET");
	refused(id, "cat /srv/alias/pub/hidden.txt", "HIDDEN-FILE");
	/* Through /proc's root links. */
	refused(id, "cat /proc/self/root/srv/data/secret/key.txt", "TOP-SECRET");
	refused(id, "cat /proc/1/root/srv/alias/secret/key.txt", "TOP-SECRET");
	/* By searching for it. */
	refused(id, "grep -r TOP-SECRET /srv /proc/self/root/srv 2>/dev/null", "TOP-SECRET");
	free(id);
}

Test(filesystem, one_object_listed_twice_gets_the_stricter_intent)
{
	/* The same directory through the alias, and the same file through a hard link. */
	char *id = start("{\"readwritePaths\":[\"/srv/data/out\",\"/srv/data/hard.txt\"],"
			 "\"readonlyPaths\":[\"/srv/data/a.txt\"],"
			 "\"deniedPaths\":[\"/srv/alias/out\"]}");
	refused(id, "touch /srv/data/out/x", NULL);
	refused(id, "ls -d /srv/data/out/.", NULL);
	refused(id, "echo B > /srv/data/hard.txt", NULL);
	allowed(id, "cat /srv/data/hard.txt", "A\n");
	free(id);
}

Test(filesystem, the_most_specific_path_wins)
{
	char *id = start("{\"readonlyPaths\":[\"/srv/data/pub\"],\"deniedPaths\":[\"/srv/data\"]}");
	allowed(id, "cat /srv/data/pub/readme.txt", "public\n");
	refused(id, "ls /srv/data | grep .", "secret");
	refused(id, "cat /srv/data/secret/key.txt", "TOP-SECRET");
	refused(id, "cat /srv/alias/secret/key.txt", "TOP-SECRET");
	free(id);
}

/* Starts a session under the policy and asserts it is refused with reason in the message. */
static void start_refused(uid_t uid, const char *filesystem, const char *reason)
{
	char path[300], text[2048];
	snprintf(path, sizeof(path), "%s/policies", h.conf);
	dir(path, 0755);
	snprintf(path, sizeof(path), "%s/policies/coder.json", h.conf);
	snprintf(text, sizeof(text),
		 "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false},"
		 "\"session\":{\"users\":[\"alice\",\"bob\"]},\"filesystem\":%s}",
		 filesystem);
	put(path, text, 0644);
	struct mxc_result r = mxc_run(&h, uid, NULL, "session", "start", "coder", NULL);
	cr_assert_neq(r.status, 0, "started under %s", filesystem);
	cr_assert_not_null(strstr(r.err, reason), "%s: %s", filesystem, r.err);
	mxc_result_free(&r);
}

Test(filesystem, paths_the_requesting_user_cannot_reach_are_refused)
{
	mxc_testenv_add_user("alice", 61001);
	mxc_testenv_add_user("bob", 61002);
	dir("/home/alice/private", 0700);
	cr_assert_eq(chown("/home/alice/private", 61001, 61001), 0);
	dir("/home/alice/shared", 0755);
	cr_assert_eq(chown("/home/alice/shared", 61001, 61001), 0);
	/* bob may neither read alice's private directory nor write her shared one. */
	start_refused(61002, "{\"readonlyPaths\":[\"/home/alice/private\"]}",
		      "not readable by the requesting user (uid 61002)");
	start_refused(61002, "{\"readwritePaths\":[\"/home/alice/shared\"]}",
		      "not writable by the requesting user (uid 61002)");
	/* alice may grant her own directory. */
	char path[300];
	snprintf(path, sizeof(path), "%s/policies/coder.json", h.conf);
	put(path,
	    "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false},"
	    "\"session\":{\"users\":[\"alice\"]},"
	    "\"filesystem\":{\"readwritePaths\":[\"/home/alice/private\"]}}",
	    0644);
	struct mxc_result r = mxc_run(&h, 61001, NULL, "session", "start", "coder", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	mxc_result_free(&r);
}

Test(filesystem, unsafe_or_meaningless_paths_are_refused)
{
	symlink("/srv/data/secret", "/srv/link");
	start_refused(0, "{\"readonlyPaths\":[\"/srv/link\"]}", "symbolic link");
	start_refused(0, "{\"readonlyPaths\":[\"/srv/link/key.txt\"]}", "symbolic link");
	start_refused(0, "{\"readwritePaths\":[\"/srv/nothing\"]}", "does not exist");
	start_refused(0, "{\"readonlyPaths\":[\"/\"]}", "the whole file system");
	start_refused(0, "{\"readonlyPaths\":[\"/proc/1\"]}", "its own /proc");
	start_refused(0, "{\"readonlyPaths\":[\"/dev/sda\"]}", "its own /dev");
	char text[400];
	snprintf(text, sizeof(text), "{\"readonlyPaths\":[\"%s\"]}", h.state);
	start_refused(0, text, "mxc's own directory");
	/* Above mxc's state directory would show it too. */
	char parent[200];
	snprintf(parent, sizeof(parent), "%s", h.state);
	*strrchr(parent, '/') = '\0';
	snprintf(text, sizeof(text), "{\"readonlyPaths\":[\"%s\"]}", parent);
	start_refused(0, text, "mxc's own directory");
	/* A denied path that does not exist denies nothing and is no error. */
	char *id = start("{\"deniedPaths\":[\"/srv/not-there\"]}");
	free(id);
}
