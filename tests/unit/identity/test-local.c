#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fs.h"
#include "helpers.h"

TestSuite(local, .init = identity_setup, .fini = identity_teardown);

static const struct mxc_identity_backend *be = &mxc_identity_local;

static void add_ok(const char *name, mxc_id_taken_fn taken, void *userdata, struct mxc_account *ret)
{
	struct mxc_error err = {0};
	int r = be->add(&cfg, name, taken, userdata, ret, &err);
	cr_assert_eq(r, 0, "adding '%s' failed: %s", name, err.msg);
}

static void remove_ok(const struct mxc_account *a, bool keep_home)
{
	struct mxc_error err = {0};
	int r = be->remove(&cfg, a, keep_home, &err);
	cr_assert_eq(r, 0, "removing '%s' failed: %s", a->name, err.msg);
}

static void home_of(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", home_base, name);
}

static void assert_owner(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(st.st_uid, uid, "%s is owned by uid %u, not %u", path, st.st_uid, uid);
	cr_assert_eq(st.st_gid, gid, "%s is owned by gid %u, not %u", path, st.st_gid, gid);
}

/* The account and its home are gone; nothing named name is left behind. */
static void assert_no_agent(const char *name)
{
	char home[512];
	home_of(name, home, sizeof(home));
	cr_assert_null(getent("passwd", name), "user '%s' is still there", name);
	cr_assert_null(getent("group", name), "group '%s' is still there", name);
	cr_assert_null(getent("shadow", name), "shadow entry of '%s' is still there", name);
	cr_assert_not(path_exists(home), "%s is still there", home);
	char *agents = getent("group", MXC_AGENTS_GROUP);
	if (agents) {
		cr_assert_null(strstr(agents, name), "%s", agents);
		free(agents);
	}
}

Test(local, add_creates_a_locked_account_with_its_own_group_and_home)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	char home[512];
	home_of("coder", home, sizeof(home));
	cr_assert_str_eq(a.name, "coder");
	cr_assert_eq(a.uid, 70000);
	cr_assert_eq(a.gid, 70000);
	cr_assert_str_eq(a.home, home);
	cr_assert_str_eq(a.backend, "local");

	char want[768];
	snprintf(want, sizeof(want), "coder:x:70000:70000:mxc agent:%s:/usr/sbin/nologin", home);
	char *pw = getent("passwd", "coder");
	cr_assert_not_null(pw);
	cr_assert_str_eq(pw, want);
	free(pw);

	char *sp = getent("shadow", "coder");
	cr_assert_not_null(sp);
	const char *hash = strchr(sp, ':') + 1;
	cr_assert(hash[0] == '!' || hash[0] == '*', "password not locked: %s", sp);
	free(sp);

	char *gr = getent("group", "coder");
	cr_assert_str_eq(gr, "coder:x:70000:");
	free(gr);
	gr = getent("group", MXC_AGENTS_GROUP);
	cr_assert_not_null(gr);
	cr_assert_not_null(strstr(gr, ":coder"), "%s", gr);
	free(gr);

	struct stat st;
	cr_assert_eq(lstat(home, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700);
	assert_owner(home, 70000, 70000);
	cr_assert_eq(lstat(home_base, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755);
	assert_owner(home_base, 0, 0);

	/* No subordinate ids for an agent. */
	char *subuid = slurp("/etc/subuid");
	cr_assert_null(strstr(subuid, "coder"), "%s", subuid);
	free(subuid);

	struct mxc_account b = {0};
	struct mxc_error err = {0};
	cr_assert_eq(be->lookup(&cfg, "coder", &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b.uid, 70000);
	cr_assert_eq(b.gid, 70000);
	cr_assert_str_eq(b.home, home);

	uint32_t *groups = NULL;
	size_t n = 0;
	cr_assert_eq(mxc_identity_groups(&b, &groups, &n, &err), 0, "%s", err.msg);
	struct group *agents = getgrnam(MXC_AGENTS_GROUP);
	cr_assert_not_null(agents);
	cr_assert_eq(n, 2);
	cr_assert_eq(groups[0], 70000);
	cr_assert_eq(groups[1], agents->gr_gid);
	free(groups);
	mxc_account_finish(&b);
	mxc_account_finish(&a);
	mxc_account_finish(&a); /* twice: the struct is zeroed */
	cr_assert_null(a.name);
}

Test(local, add_refuses_an_invalid_name_before_anything)
{
	struct accounts_snapshot s;
	snapshot_take(&s);
	static const char *names[] = {"Root", "../x", "", "-x", "a234567890123456789012345678901b"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(names); i++) {
		struct mxc_account a = {0};
		struct mxc_error err = {0};
		cr_assert_eq(be->add(&cfg, names[i], NULL, NULL, &a, &err), -EINVAL, "%s",
			     names[i]);
		cr_assert_null(a.name);
	}
	cr_assert_eq(be->add(&cfg, NULL, NULL, NULL, &(struct mxc_account){0}, NULL), -EINVAL);
	snapshot_assert_same(&s);
	cr_assert_not(path_exists(home_base));
	snapshot_free(&s);
}

Test(local, add_refuses_an_existing_user_and_changes_nothing)
{
	mxc_testenv_add_user("alice", 1500);
	/* Even one that looks like an agent by its uid but is not in mxc-agents. */
	mxc_testenv_add_user("bob", 70001);
	struct accounts_snapshot s;
	snapshot_take(&s);

	struct mxc_error err = {0};
	struct mxc_account a = {0};
	cr_assert_eq(be->add(&cfg, "alice", NULL, NULL, &a, &err), -EEXIST);
	cr_assert(strstr(err.msg, "a user named 'alice' already exists and is not an mxc agent"),
		  "%s", err.msg);
	cr_assert_eq(be->add(&cfg, "bob", NULL, NULL, &a, &err), -EEXIST);
	cr_assert(strstr(err.msg, "a user named 'bob' already exists and is not an mxc agent"),
		  "%s", err.msg);
	cr_assert_eq(be->add(&cfg, "root", NULL, NULL, &a, &err), -EEXIST);

	snapshot_assert_same(&s);
	cr_assert_not(path_exists(home_base), "nothing may be created for a refused add");
	snapshot_free(&s);
}

Test(local, add_refuses_an_existing_group_and_changes_nothing)
{
	run_ok((const char *[]){"groupadd", "-g", "1600", "devs", NULL});
	struct accounts_snapshot s;
	snapshot_take(&s);
	struct mxc_error err = {0};
	struct mxc_account a = {0};
	cr_assert_eq(be->add(&cfg, "devs", NULL, NULL, &a, &err), -EEXIST);
	cr_assert(strstr(err.msg, "a group named 'devs' already exists and is not an mxc agent"),
		  "%s", err.msg);
	snapshot_assert_same(&s);
	snapshot_free(&s);
}

Test(local, duplicate_add_is_refused)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	struct accounts_snapshot s;
	snapshot_take(&s);
	struct mxc_account b = {0};
	struct mxc_error err = {0};
	cr_assert_eq(be->add(&cfg, "coder", NULL, NULL, &b, &err), -EEXIST);
	cr_assert(strstr(err.msg, "agent 'coder' already exists"), "%s", err.msg);
	cr_assert_null(b.name);
	snapshot_assert_same(&s);
	snapshot_free(&s);
	mxc_account_finish(&a);
}

Test(local, failed_useradd_rolls_back_the_group)
{
	uint32_t gid;
	cr_assert_eq(mxc_identity_ensure_group(MXC_AGENTS_GROUP, &gid, NULL), 0);
	struct accounts_snapshot s;
	snapshot_take(&s);

	/* Someone else (this live process) holds the lock on /etc/passwd: useradd must fail. */
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	write_file("/etc/passwd.lock", pid);

	struct mxc_account a = {0};
	struct mxc_error err = {0};
	int r = be->add(&cfg, "coder", NULL, NULL, &a, &err);
	cr_assert_lt(r, 0);
	cr_assert(strstr(err.msg, "failed to create account 'coder': useradd: "), "%s", err.msg);
	cr_assert(strstr(err.msg, "lock"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "warning"), "warnings are dropped: %s", err.msg);
	cr_assert_null(strstr(err.msg, "rolling back also failed"), "%s", err.msg);
	cr_assert_null(a.name);

	cr_assert_eq(unlink("/etc/passwd.lock"), 0);
	snapshot_assert_same(&s);
	assert_no_agent("coder");
	snapshot_free(&s);

	/* With the lock gone the same add works and gets the id that was rolled back. */
	add_ok("coder", NULL, NULL, &a);
	cr_assert_eq(a.uid, 70000);
	mxc_account_finish(&a);
}

Test(local, add_refuses_a_symlink_or_file_at_the_home)
{
	char outside[512], home[512];
	snprintf(outside, sizeof(outside), "%s/outside", env.scratch);
	cr_assert_eq(mkdir(outside, 0755), 0);
	cr_assert_eq(mkdir(home_base, 0755), 0);
	home_of("coder", home, sizeof(home));
	cr_assert_eq(symlink(outside, home), 0);

	struct accounts_snapshot s;
	uint32_t gid;
	cr_assert_eq(mxc_identity_ensure_group(MXC_AGENTS_GROUP, &gid, NULL), 0);
	snapshot_take(&s);

	struct mxc_account a = {0};
	struct mxc_error err = {0};
	cr_assert_eq(be->add(&cfg, "coder", NULL, NULL, &a, &err), -EEXIST);
	cr_assert(strstr(err.msg, "symbolic link"), "%s", err.msg);
	snapshot_assert_same(&s);
	assert_owner(outside, 0, 0);

	cr_assert_eq(unlink(home), 0);
	write_file(home, "not a directory");
	cr_assert_eq(be->add(&cfg, "coder", NULL, NULL, &a, &err), -EEXIST);
	cr_assert(strstr(err.msg, "not a directory"), "%s", err.msg);
	snapshot_assert_same(&s);
	snapshot_free(&s);
}

Test(local, add_refuses_a_home_base_others_can_write)
{
	cr_assert_eq(mkdir(home_base, 0777), 0);
	cr_assert_eq(chmod(home_base, 0777), 0);
	struct accounts_snapshot s;
	snapshot_take(&s);
	struct mxc_account a = {0};
	struct mxc_error err = {0};
	cr_assert_eq(be->add(&cfg, "coder", NULL, NULL, &a, &err), -EPERM);
	cr_assert(strstr(err.msg, "writable only by root"), "%s", err.msg);
	snapshot_assert_same(&s);
	snapshot_free(&s);
}

Test(local, remove_deletes_account_group_and_home)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	char file[600];
	snprintf(file, sizeof(file), "%s/notes.txt", a.home);
	write_file(file, "work");
	remove_ok(&a, false);
	assert_no_agent("coder");
	cr_assert(path_exists(home_base), "the home base stays");

	struct mxc_error err = {0};
	cr_assert_eq(be->remove(&cfg, &a, false, &err), -ENOENT);
	cr_assert(strstr(err.msg, "agent 'coder' does not exist"), "%s", err.msg);
	struct mxc_account b = {0};
	cr_assert_eq(be->lookup(&cfg, "coder", &b, &err), -ENOENT);
	mxc_account_finish(&a);
}

static bool first_id_taken(uint32_t id, void *userdata)
{
	return id == 70000;
}

Test(local, keep_home_keeps_it_and_a_readd_reuses_and_reowns_it)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);

	/* An outside file the old agent linked to: re-owning must not follow the link. */
	char outside[512], path[700];
	snprintf(outside, sizeof(outside), "%s/outside-file", env.scratch);
	write_file(outside, "root's");
	snprintf(path, sizeof(path), "%s/link", a.home);
	cr_assert_eq(symlink(outside, path), 0);
	cr_assert_eq(lchown(path, 70000, 70000), 0);
	snprintf(path, sizeof(path), "%s/dir/sub", a.home);
	cr_assert_eq(mxc_mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/dir/sub/file", a.home);
	write_file(path, "data");
	snprintf(path, sizeof(path), "%s/dir", a.home);
	cr_assert_eq(chown(path, 70000, 70000), 0);
	cr_assert_eq(chmod(a.home, 0755), 0);

	remove_ok(&a, true);
	cr_assert_null(getent("passwd", "coder"));
	cr_assert_null(getent("group", "coder"));
	assert_owner(a.home, 70000, 70000);
	snprintf(path, sizeof(path), "%s/dir/sub/file", a.home);
	cr_assert(path_exists(path), "the home was kept");

	/* The daemon still knows of an agent with 70000: the new one gets 70001. */
	struct mxc_account b = {0};
	add_ok("coder", first_id_taken, NULL, &b);
	cr_assert_eq(b.uid, 70001);
	cr_assert_str_eq(b.home, a.home);

	static const char *entries[] = {"", "/link", "/dir", "/dir/sub", "/dir/sub/file"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(entries); i++) {
		snprintf(path, sizeof(path), "%s%s", b.home, entries[i]);
		assert_owner(path, 70001, 70001);
	}
	struct stat st;
	cr_assert_eq(stat(b.home, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0700);
	assert_owner(outside, 0, 0);
	assert_file_is(path, "data");
	mxc_account_finish(&a);
	mxc_account_finish(&b);
}

Test(local, reuse_leaves_foreign_hard_links_alone)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	char outside[512], path[700];
	snprintf(outside, sizeof(outside), "%s/outside-file", env.scratch);
	write_file(outside, "root's");
	snprintf(path, sizeof(path), "%s/hardlink", a.home);
	cr_assert_eq(link(outside, path), 0);
	remove_ok(&a, true);

	struct mxc_account b = {0};
	add_ok("coder", first_id_taken, NULL, &b);
	assert_owner(outside, 0, 0);
	mxc_account_finish(&a);
	mxc_account_finish(&b);
}

Test(local, remove_never_follows_symlinks_out_of_the_home)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);

	char outdir[512], outfile[600], path[700];
	snprintf(outdir, sizeof(outdir), "%s/outside", env.scratch);
	cr_assert_eq(mkdir(outdir, 0755), 0);
	snprintf(outfile, sizeof(outfile), "%s/precious", outdir);
	write_file(outfile, "keep me");
	snprintf(path, sizeof(path), "%s/to-dir", a.home);
	cr_assert_eq(symlink(outdir, path), 0);
	snprintf(path, sizeof(path), "%s/to-file", a.home);
	cr_assert_eq(symlink(outfile, path), 0);
	snprintf(path, sizeof(path), "%s/to-root", a.home);
	cr_assert_eq(symlink("/", path), 0);

	remove_ok(&a, false);
	assert_no_agent("coder");
	assert_file_is(outfile, "keep me");
	cr_assert(path_exists("/etc/passwd"));
	mxc_account_finish(&a);
}

Test(local, remove_refuses_a_home_outside_the_home_base)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	char elsewhere[512];
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", env.scratch);
	cr_assert_eq(mkdir(elsewhere, 0700), 0);
	char elsewhere_file[600];
	snprintf(elsewhere_file, sizeof(elsewhere_file), "%s/file", elsewhere);
	write_file(elsewhere_file, "x");
	char other[600];
	snprintf(other, sizeof(other), "%s/other", home_base);
	cr_assert_eq(mkdir(other, 0700), 0);

	/* Outside, "/", the base itself, tricks, and another agent's home in the base. */
	static const char *suffixes[] = {"", "/..", "/a/b", "/.", "/other", "//coder"};
	char homes[MXC_ARRAY_SIZE(suffixes) + 2][600];
	snprintf(homes[0], sizeof(homes[0]), "%s", elsewhere);
	snprintf(homes[1], sizeof(homes[1]), "/");
	for (size_t i = 0; i < MXC_ARRAY_SIZE(suffixes); i++)
		snprintf(homes[i + 2], sizeof(homes[i + 2]), "%s%s", home_base, suffixes[i]);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(homes); i++) {
		const char *home = homes[i];
		run_ok((const char *[]){"usermod", "-d", home, "coder", NULL});
		struct mxc_account b = {0};
		struct mxc_error err = {0};
		cr_assert_eq(be->lookup(&cfg, "coder", &b, &err), 0, "%s", err.msg);
		struct accounts_snapshot s;
		snapshot_take(&s);
		cr_assert_eq(be->remove(&cfg, &b, false, &err), -EPERM, "home %s", home);
		cr_assert(strstr(err.msg, "refusing to remove the home"), "%s", err.msg);
		snapshot_assert_same(&s);
		snapshot_free(&s);
		mxc_account_finish(&b);
	}
	cr_assert(path_exists(elsewhere_file));
	cr_assert(path_exists(a.home));
	cr_assert(path_exists(other));

	/* Keeping the home, the account can still go. */
	struct mxc_account b = {0};
	cr_assert_eq(be->lookup(&cfg, "coder", &b, NULL), 0);
	remove_ok(&b, true);
	cr_assert_null(getent("passwd", "coder"));
	cr_assert(path_exists(elsewhere));
	mxc_account_finish(&a);
	mxc_account_finish(&b);
}

Test(local, remove_refuses_non_agents_and_stale_accounts)
{
	mxc_testenv_add_user("alice", 1500);
	struct accounts_snapshot s;
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	snapshot_take(&s);

	struct mxc_error err = {0};
	struct mxc_account alice = {.name = (char *)"alice", .uid = 1500, .gid = 1500};
	cr_assert_eq(be->remove(&cfg, &alice, true, &err), -EPERM);
	cr_assert(strstr(err.msg, "not an mxc agent"), "%s", err.msg);
	struct mxc_account root = {.name = (char *)"root", .uid = 0, .gid = 0, .home = (char *)"/"};
	cr_assert_eq(be->remove(&cfg, &root, false, &err), -EPERM);

	/* A record of an older agent of the same name must not remove the new one. */
	struct mxc_account stale = a;
	stale.uid = 70005;
	cr_assert_eq(be->remove(&cfg, &stale, false, &err), -ESTALE);
	snapshot_assert_same(&s);
	snapshot_free(&s);
	cr_assert(path_exists(a.home));
	mxc_account_finish(&a);
}

Test(local, lookup_refuses_non_agent_users)
{
	mxc_testenv_add_user("alice", 1500); /* outside the range */
	mxc_testenv_add_user("bob", 70003);  /* inside, but not in mxc-agents */
	struct mxc_account a = {0};
	struct mxc_error err = {0};
	cr_assert_eq(be->lookup(&cfg, "alice", &a, &err), -EPERM);
	cr_assert(strstr(err.msg, "user 'alice' is not an mxc agent"), "%s", err.msg);
	cr_assert(strstr(err.msg, "outside the agent range"), "%s", err.msg);
	cr_assert_eq(be->lookup(&cfg, "bob", &a, &err), -EPERM);
	cr_assert(strstr(err.msg, "not a member of group 'mxc-agents'"), "%s", err.msg);
	cr_assert_eq(be->lookup(&cfg, "root", &a, &err), -EPERM);
	cr_assert_eq(be->lookup(&cfg, "nosuchagent", &a, &err), -ENOENT);
	cr_assert_eq(be->lookup(&cfg, "../etc", &a, &err), -EINVAL);
	cr_assert_null(a.name);
}

Test(local, ensure_group_creates_a_system_group_once)
{
	cr_assert_null(getent("group", MXC_ADMIN_GROUP));
	uint32_t gid1, gid2;
	struct mxc_error err = {0};
	cr_assert_eq(mxc_identity_ensure_group(MXC_ADMIN_GROUP, &gid1, &err), 0, "%s", err.msg);
	cr_assert_lt(gid1, 1000, "a system group");
	struct group *g = getgrnam(MXC_ADMIN_GROUP);
	cr_assert_not_null(g);
	cr_assert_eq(g->gr_gid, gid1);
	cr_assert_eq(mxc_identity_ensure_group(MXC_ADMIN_GROUP, &gid2, &err), 0, "%s", err.msg);
	cr_assert_eq(gid1, gid2);
	cr_assert_eq(mxc_identity_ensure_group("Bad Name", &gid2, &err), -EINVAL);
}

Test(local, add_fails_cleanly_when_the_range_is_full)
{
	cfg.id_max = 70000;
	mxc_testenv_add_user("occupant", 70000);
	uint32_t gid;
	cr_assert_eq(mxc_identity_ensure_group(MXC_AGENTS_GROUP, &gid, NULL), 0);
	struct accounts_snapshot s;
	snapshot_take(&s);
	struct mxc_account a = {0};
	struct mxc_error err = {0};
	cr_assert_eq(be->add(&cfg, "coder", NULL, NULL, &a, &err), -ENOSPC);
	snapshot_assert_same(&s);
	snapshot_free(&s);
	assert_no_agent("coder");
}

Test(local, reuse_and_removal_never_cross_into_a_mount)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	char *mnt = test_mount, file[700];
	snprintf(mnt, sizeof(test_mount), "%s/mnt", a.home);
	snprintf(file, sizeof(file), "%s/file", mnt);
	cr_assert_eq(mkdir(mnt, 0755), 0);
	/* A bind mount shares the file system: only the mount flag tells it apart. */
	cr_assert_eq(mount(env.scratch, mnt, NULL, MS_BIND, NULL), 0, "%s", strerror(errno));
	write_file(file, "on another mount");
	remove_ok(&a, true);

	struct mxc_account b = {0};
	add_ok("coder", first_id_taken, NULL, &b);
	assert_owner(b.home, 70001, 70001);
	assert_owner(file, 0, 0);
	assert_owner(env.scratch, 0, 0);

	/* Refused before anything changes; the mount's files are not removed. */
	struct accounts_snapshot s;
	snapshot_take(&s);
	struct mxc_error err = {0};
	cr_assert_eq(be->remove(&cfg, &b, false, &err), -EXDEV);
	cr_assert(strstr(err.msg, "is mounted inside it"), "%s", err.msg);
	assert_file_is(file, "on another mount");
	snapshot_assert_same(&s);
	snapshot_free(&s);

	cr_assert_eq(umount2(mnt, MNT_DETACH), 0);
	test_mount[0] = '\0';
	remove_ok(&b, false);
	assert_no_agent("coder");
	cr_assert_not(path_exists(file));
	char kept[600];
	snprintf(kept, sizeof(kept), "%s/home", env.scratch);
	cr_assert(path_exists(kept), "only the home went");
	mxc_account_finish(&a);
	mxc_account_finish(&b);
}

Test(local, add_gives_no_subordinate_ids_in_the_regular_user_range)
{
	/* useradd hands out subordinate ids to uids between UID_MIN and UID_MAX by default. */
	cfg.id_min = 5000;
	cfg.id_max = 5009;
	cfg.subuid_path = "/etc/subuid";
	cfg.subgid_path = "/etc/subgid";
	write_file("/etc/subuid", "");
	write_file("/etc/subgid", "");
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	cr_assert_eq(a.uid, 5000);
	char *subuid = slurp("/etc/subuid"), *subgid = slurp("/etc/subgid");
	cr_assert_str_eq(subuid, "");
	cr_assert_str_eq(subgid, "");
	free(subuid);
	free(subgid);
	mxc_account_finish(&a);
}

Test(local, a_new_agent_never_gets_the_id_of_a_kept_home)
{
	struct mxc_account a = {0};
	add_ok("coder", NULL, NULL, &a);
	remove_ok(&a, true);
	assert_owner(a.home, 70000, 70000);

	/* 70000 is free in NSS again, but whoever got it would own coder's files. */
	struct mxc_account b = {0};
	add_ok("other", NULL, NULL, &b);
	cr_assert_eq(b.uid, 70001);
	assert_owner(a.home, 70000, 70000);
	mxc_account_finish(&a);
	mxc_account_finish(&b);
}
