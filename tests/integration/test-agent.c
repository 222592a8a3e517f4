/*
 * Agent accounts end to end: the real daemon runs the real shadow tools on the test's
 * overlay of /etc, and each test checks the account database the way an admin would
 * (getpwnam, getspnam, getgrnam, the home on disk) besides what mxc prints.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "json.h"

static struct mxc_harness h;

static void setup(void)
{
	mxc_harness_start(&h);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(agent, .init = setup, .fini = teardown, .timeout = 90);

/* The audit log as JSON rows (root's view: everything). */
static struct json_object *audit_rows(void)
{
	char *out = mxc_ok(&h, "audit", "--json", NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	cr_assert(json_object_is_type(rows, json_type_array));
	return rows;
}

/* Number of audit rows with this action and result (and object, if not NULL). */
static size_t audit_count(const char *action, const char *result, const char *object)
{
	struct json_object *rows = audit_rows();
	size_t n = 0;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		n += mxc_streq(mxc_test_str(r, "action"), action) && mxc_streq(mxc_test_str(r, "result"), result) &&
		     (!object || mxc_streq(mxc_test_str(r, "object"), object));
	}
	json_object_put(rows);
	return n;
}

static size_t agent_count(void)
{
	char *out = mxc_ok(&h, "agent", "list", "--json", NULL);
	struct json_object *a = mxc_test_json(out);
	free(out);
	size_t n = json_object_array_length(a);
	json_object_put(a);
	return n;
}

static bool in_group(const char *group, const char *user)
{
	struct group *gr = getgrnam(group);
	if (!gr)
		return false;
	for (char **m = gr->gr_mem; *m; m++)
		if (strcmp(*m, user) == 0)
			return true;
	return false;
}

static void home_of(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/home/%s", h.state, name);
}

/* The line of name in an account file ("" if none), for checking that nothing changed. */
static char *account_line(const char *file, const char *name)
{
	char *text = NULL;
	cr_assert_eq(mxc_read_file(file, 1 << 20, &text, NULL), 0, "cannot read %s", file);
	size_t nlen = strlen(name);
	char *line = NULL;
	for (char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
			size_t l = strcspn(p, "\n");
			line = strndup(p, l);
			break;
		}
	}
	free(text);
	return line ? line : strdup("");
}

static size_t dir_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

Test(agent, add_creates_a_locked_nologin_account_in_the_agent_range)
{
	char *out = mxc_ok(&h, "agent", "add", "coder", NULL);
	struct passwd *pw = getpwnam("coder");
	cr_assert_not_null(pw, "no passwd entry for the new agent");
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	char expect_uid[32];
	snprintf(expect_uid, sizeof(expect_uid), "uid %u", uid);
	cr_assert_not_null(strstr(out, expect_uid), "the output does not give the uid: %s", out);
	free(out);

	cr_assert(uid >= 70000 && uid <= 79999, "uid %u outside 70000-79999", uid);
	cr_assert(gid >= 70000 && gid <= 79999, "gid %u outside 70000-79999", gid);
	cr_assert_str_eq(pw->pw_shell, "/usr/sbin/nologin");
	char home[300];
	home_of("coder", home, sizeof(home));
	cr_assert_str_eq(pw->pw_dir, home);
	struct group *own = getgrgid(gid);
	cr_assert_not_null(own, "the agent's primary group does not exist");
	cr_assert_str_eq(own->gr_name, "coder");

	struct stat st;
	cr_assert_eq(stat(home, &st), 0, "the home was not created");
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700, "home mode %o", st.st_mode & 07777);
	cr_assert_eq(st.st_uid, uid);
	cr_assert_eq(st.st_gid, gid);

	struct spwd *sp = getspnam("coder");
	cr_assert_not_null(sp, "no shadow entry");
	cr_assert(sp->sp_pwdp[0] == '!' || sp->sp_pwdp[0] == '*',
		  "the password is not locked: '%s'", sp->sp_pwdp);
	cr_assert(in_group("mxc-agents", "coder"), "the agent is not in mxc-agents");
	cr_assert_eq(audit_count("agent.add", "ok", NULL), 1);
}

Test(agent, add_json_output_describes_the_account)
{
	char *out = mxc_ok(&h, "agent", "add", "coder", "--json", NULL);
	struct json_object *o = mxc_test_json(out);
	struct passwd *pw = getpwnam("coder");
	cr_assert_not_null(pw);
	cr_assert_str_eq(mxc_test_str(o, "name"), "coder");
	cr_assert_eq(mxc_test_int(o, "uid"), pw->pw_uid);
	cr_assert_eq(mxc_test_int(o, "gid"), pw->pw_gid);
	cr_assert_str_eq(mxc_test_str(o, "home"), pw->pw_dir);
	json_object_put(o);
	free(out);
}

Test(agent, agents_get_distinct_ids)
{
	free(mxc_ok(&h, "agent", "add", "one", NULL));
	free(mxc_ok(&h, "agent", "add", "two", NULL));
	struct passwd *pw = getpwnam("one");
	cr_assert_not_null(pw);
	uid_t one = pw->pw_uid;
	pw = getpwnam("two");
	cr_assert_not_null(pw);
	cr_assert_neq(pw->pw_uid, one);
}

Test(agent, invalid_names_are_refused_and_change_nothing)
{
	static const char *const names[] = {
	    "Coder", "1coder", "a0123456789012345678901234567890", "../x", "", "a b",
	};
	cr_assert_eq(strlen(names[2]), 32);
	char passwd_before[1 << 12];
	char *text = NULL;
	cr_assert_eq(mxc_read_file("/etc/passwd", 1 << 20, &text, NULL), 0);
	snprintf(passwd_before, sizeof(passwd_before), "%s", text);
	free(text);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(names); i++) {
		struct mxc_result r = mxc_run(&h, 0, NULL, "agent", "add", names[i], NULL);
		cr_assert_eq(r.status, 1, "'%s' was not refused (%d): %s", names[i], r.status,
			     r.out);
		cr_assert_not_null(strstr(r.err, "invalid agent name"), "'%s': %s", names[i],
				   r.err);
		cr_assert_str_eq(r.out, "");
		mxc_result_free(&r);
		if (names[i][0])
			cr_assert_null(getpwnam(names[i]), "'%s' got an account", names[i]);
		cr_assert_eq(audit_count("agent.add", "error", names[i]), 1,
			     "no audit row for the refused name '%s'", names[i]);
	}
	cr_assert_eq(agent_count(), 0);
	cr_assert_eq(mxc_read_file("/etc/passwd", 1 << 20, &text, NULL), 0);
	cr_assert_str_eq(text, passwd_before, "/etc/passwd changed");
	free(text);
	char homes[300];
	snprintf(homes, sizeof(homes), "%s/home", h.state);
	cr_assert_eq(dir_entries(homes), 0, "a home was created");
	cr_assert_eq(audit_count("agent.add", "ok", NULL), 0);
}

Test(agent, an_existing_user_is_refused_and_left_alone)
{
	mxc_testenv_add_user("alice", 4101);
	char *pw_before = account_line("/etc/passwd", "alice");
	char *sp_before = account_line("/etc/shadow", "alice");
	char *gr_before = account_line("/etc/group", "alice");
	struct mxc_result r = mxc_run(&h, 0, NULL, "agent", "add", "alice", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "not an mxc agent"), "%s", r.err);
	mxc_result_free(&r);
	char *pw_after = account_line("/etc/passwd", "alice");
	char *sp_after = account_line("/etc/shadow", "alice");
	char *gr_after = account_line("/etc/group", "alice");
	cr_assert_str_eq(pw_after, pw_before);
	cr_assert_str_eq(sp_after, sp_before);
	cr_assert_str_eq(gr_after, gr_before);
	cr_assert_not(in_group("mxc-agents", "alice"), "alice was made an agent");
	cr_assert_eq(agent_count(), 0);
	cr_assert_eq(audit_count("agent.add", "error", NULL), 1);
	free(pw_before);
	free(sp_before);
	free(gr_before);
	free(pw_after);
	free(sp_after);
	free(gr_after);

	/* Removing the user through mxc is refused too: it is not an agent. */
	r = mxc_run(&h, 0, NULL, "agent", "remove", "alice", NULL);
	cr_assert_eq(r.status, 1);
	mxc_result_free(&r);
	cr_assert_not_null(getpwnam("alice"));
}

Test(agent, an_existing_group_name_is_refused_and_left_alone)
{
	const char *groupadd[] = {"groupadd", "-g", "4150", "builders", NULL};
	cr_assert_eq(mxc_testenv_run(groupadd), 0);
	struct mxc_result r = mxc_run(&h, 0, NULL, "agent", "add", "builders", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "group named 'builders' already exists"), "%s", r.err);
	mxc_result_free(&r);
	struct group *gr = getgrnam("builders");
	cr_assert_not_null(gr);
	cr_assert_eq(gr->gr_gid, 4150);
	cr_assert_null(getpwnam("builders"), "a user was created over the group");
	cr_assert_eq(agent_count(), 0);
}

Test(agent, adding_an_agent_twice_is_refused)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	uid_t uid = getpwnam("coder")->pw_uid;
	struct mxc_result r = mxc_run(&h, 0, NULL, "agent", "add", "coder", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "already exists"), "%s", r.err);
	mxc_result_free(&r);
	cr_assert_eq(getpwnam("coder")->pw_uid, uid, "the account changed");
	cr_assert_eq(agent_count(), 1);
	cr_assert_eq(audit_count("agent.add", "error", NULL), 1);
}

Test(agent, list_and_show_describe_the_agents)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	free(mxc_ok(&h, "agent", "add", "browser", NULL));
	struct passwd *pw = getpwnam("coder");
	cr_assert_not_null(pw);
	uid_t coder_uid = pw->pw_uid;
	char uid_text[16];
	snprintf(uid_text, sizeof(uid_text), "%u", coder_uid);

	char *out = mxc_ok(&h, "agent", "list", NULL);
	cr_assert_not_null(strstr(out, "NAME"), "%s", out);
	char *b = strstr(out, "browser"), *c = strstr(out, "coder");
	cr_assert(b && c && b < c, "agents missing or not sorted:\n%s", out);
	cr_assert_not_null(strstr(out, uid_text));
	free(out);

	out = mxc_ok(&h, "agent", "list", "--json", NULL);
	struct json_object *a = mxc_test_json(out);
	free(out);
	cr_assert_eq(json_object_array_length(a), 2);
	struct json_object *first = json_object_array_get_idx(a, 0);
	cr_assert_str_eq(mxc_test_str(first, "name"), "browser");
	cr_assert_eq(mxc_test_int(first, "sessions"), 0);
	json_object_put(a);

	out = mxc_ok(&h, "agent", "show", "coder", NULL);
	cr_assert_not_null(strstr(out, uid_text), "%s", out);
	cr_assert_not_null(strstr(out, pw->pw_dir), "%s", out);
	free(out);
	out = mxc_ok(&h, "agent", "show", "coder", "--json", NULL);
	struct json_object *o = mxc_test_json(out);
	free(out);
	cr_assert_str_eq(mxc_test_str(o, "name"), "coder");
	cr_assert_eq(mxc_test_int(o, "uid"), coder_uid);
	cr_assert_str_eq(mxc_test_str(o, "backend"), "local");
	cr_assert_eq(mxc_test_int(o, "created_by"), 0);
	json_object_put(o);

	struct mxc_result r = mxc_run(&h, 0, NULL, "agent", "show", "nobody-here", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "does not exist"), "%s", r.err);
	mxc_result_free(&r);
}

Test(agent, show_counts_live_sessions)
{
	char *id = mxc_harness_session(&h, "coder");
	char *out = mxc_ok(&h, "agent", "show", "coder", "--json", NULL);
	struct json_object *o = mxc_test_json(out);
	cr_assert_eq(mxc_test_int(o, "sessions"), 1);
	json_object_put(o);
	free(out);
	free(mxc_ok(&h, "session", "stop", id, NULL));
	out = mxc_ok(&h, "agent", "show", "coder", "--json", NULL);
	o = mxc_test_json(out);
	cr_assert_eq(mxc_test_int(o, "sessions"), 0);
	json_object_put(o);
	free(out);
	free(id);
}

Test(agent, remove_is_refused_while_a_session_runs_and_works_after_stop)
{
	char *id = mxc_harness_session(&h, "coder");
	struct passwd *pw = getpwnam("coder");
	cr_assert_not_null(pw);
	uid_t uid = pw->pw_uid;
	char home[300];
	home_of("coder", home, sizeof(home));

	struct mxc_result r = mxc_run(&h, 0, NULL, "agent", "remove", "coder", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "running session"), "%s", r.err);
	mxc_result_free(&r);
	cr_assert_not_null(getpwnam("coder"), "the account went while its session ran");
	cr_assert_gt(mxc_processes_of(&h, uid), 0, "the session was disturbed");
	cr_assert_eq(audit_count("agent.remove", "denied", NULL), 1);

	free(mxc_ok(&h, "session", "stop", id, NULL));
	char *out = mxc_ok(&h, "agent", "remove", "coder", NULL);
	cr_assert_not_null(strstr(out, "coder"), "%s", out);
	free(out);
	cr_assert_null(getpwnam("coder"), "the account survived the removal");
	cr_assert_null(getgrnam("coder"), "the group survived the removal");
	cr_assert_null(getspnam("coder"), "the shadow entry survived the removal");
	cr_assert_not(in_group("mxc-agents", "coder"));
	struct stat st;
	cr_assert_neq(stat(home, &st), 0, "the home survived the removal");
	cr_assert_eq(agent_count(), 0);
	cr_assert_eq(audit_count("agent.remove", "ok", NULL), 1);

	r = mxc_run(&h, 0, NULL, "agent", "remove", "coder", NULL);
	cr_assert_eq(r.status, 1, "removing twice succeeded");
	cr_assert_not_null(strstr(r.err, "does not exist"), "%s", r.err);
	mxc_result_free(&r);
	/* A new session for it is refused: the agent is gone. */
	r = mxc_run(&h, 0, NULL, "session", "start", "coder", NULL);
	cr_assert_eq(r.status, 1);
	mxc_result_free(&r);
	free(id);
}

Test(agent, remove_keep_home_keeps_the_files)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	char home[300], file[400];
	home_of("coder", home, sizeof(home));
	snprintf(file, sizeof(file), "%s/notes.txt", home);
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, "kept\n", 5), 0);
	close(fd);
	char *out = mxc_ok(&h, "agent", "remove", "coder", "--keep-home", NULL);
	cr_assert_not_null(strstr(out, "home kept"), "%s", out);
	free(out);
	cr_assert_null(getpwnam("coder"));
	cr_assert_null(getgrnam("coder"));
	char *text = NULL;
	cr_assert_eq(mxc_read_file(file, 64, &text, NULL), 0, "the kept home lost its files");
	cr_assert_str_eq(text, "kept\n");
	free(text);
	cr_assert_eq(agent_count(), 0);
	struct json_object *rows = audit_rows();
	struct json_object *last =
	    json_object_array_get_idx(rows, json_object_array_length(rows) - 1);
	struct json_object *d = NULL;
	cr_assert_str_eq(mxc_test_str(last, "action"), "agent.remove");
	json_object_object_get_ex(last, "details", &d);
	cr_assert(json_object_get_boolean(json_object_object_get(d, "keep_home")));
	json_object_put(rows);
}

Test(agent, an_account_deleted_behind_mxcs_back_can_still_be_removed)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	const char *userdel[] = {"userdel", "coder", NULL};
	cr_assert_eq(mxc_testenv_run(userdel), 0);
	cr_assert_null(getpwnam("coder"));
	/* Its record must not outlive it: removable once, then gone from the list. */
	char *out = mxc_ok(&h, "agent", "remove", "coder", "--json", NULL);
	cr_assert_not_null(strstr(out, "account_missing"), "%s", out);
	free(out);
	cr_assert_eq(agent_count(), 0);
	struct mxc_result r = mxc_run(&h, 0, NULL, "agent", "remove", "coder", NULL);
	cr_assert_eq(r.status, 1);
	mxc_result_free(&r);
	/* And the name can be used again. */
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	cr_assert_not_null(getpwnam("coder"));
}

Test(agent, readding_after_keep_home_hands_the_files_to_the_new_account)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	uid_t old = getpwnam("coder")->pw_uid;
	char home[300], file[400];
	home_of("coder", home, sizeof(home));
	snprintf(file, sizeof(file), "%s/work.txt", home);
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fchown(fd, old, old), 0);
	close(fd);
	free(mxc_ok(&h, "agent", "remove", "coder", "--keep-home", NULL));
	/* Another agent must not inherit the kept home's id, and with it the files. */
	free(mxc_ok(&h, "agent", "add", "intruder", NULL));
	cr_assert_neq(getpwnam("intruder")->pw_uid, old, "a new agent got the kept home's uid");

	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	uid_t now = getpwnam("coder")->pw_uid;
	struct stat st;
	cr_assert_eq(stat(file, &st), 0, "the kept file is gone");
	cr_assert_eq(st.st_uid, now, "the kept file belongs to uid %u, the agent is %u", st.st_uid,
		     now);
	cr_assert_eq(stat(home, &st), 0);
	cr_assert_eq(st.st_uid, now);
	cr_assert_eq(st.st_mode & 07777, 0700);
}

Test(agent, names_at_the_limits_are_accepted)
{
	static const char *const names[] = {"a", "_svc", "agent-1_x",
					    "a01234567890123456789012345678_"};
	cr_assert_eq(strlen(names[3]), 31);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(names); i++) {
		free(mxc_ok(&h, "agent", "add", names[i], NULL));
		cr_assert_not_null(getpwnam(names[i]), "%s has no account", names[i]);
	}
	cr_assert_eq(agent_count(), MXC_ARRAY_SIZE(names));
}

/*
 * Runs `mxc agent add NAME` in a child that waits at a barrier (until the write end
 * barrier[1] is closed everywhere) first; returns its pid.
 */
static pid_t add_in_background(const char *name, const int barrier[2])
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char c;
		close(barrier[1]);
		/* Ends the child should the test die before it releases the barrier. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(barrier[0], &c, 1) < 0)
			_exit(99);
		char mxc[300];
		snprintf(mxc, sizeof(mxc), "%s/cli/mxc", h.bin);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		execl(mxc, "mxc", "--socket", h.sock, "agent", "add", name, (char *)NULL);
		_exit(127);
	}
	return pid;
}

Test(agent, concurrent_adds_all_succeed_with_distinct_ids)
{
	static const char *const names[] = {"a1", "a2", "a3", "a4"};
	enum { N = MXC_ARRAY_SIZE(names) };
	int barrier[2];
	cr_assert_eq(pipe2(barrier, O_CLOEXEC), 0);
	pid_t pids[N];
	for (size_t i = 0; i < N; i++)
		pids[i] = add_in_background(names[i], barrier);
	close(barrier[0]);
	/* Closing the barrier releases every client at once. */
	close(barrier[1]);
	for (size_t i = 0; i < N; i++) {
		int status;
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "concurrent agent add %s failed (status %d)", names[i], status);
	}
	uid_t uids[N];
	for (size_t i = 0; i < N; i++) {
		struct passwd *pw = getpwnam(names[i]);
		cr_assert_not_null(pw, "%s has no account", names[i]);
		uids[i] = pw->pw_uid;
		cr_assert_eq(pw->pw_gid, uids[i]);
		for (size_t k = 0; k < i; k++)
			cr_assert_neq(uids[k], uids[i], "%s and %s share uid %u", names[k],
				      names[i], uids[i]);
	}
	cr_assert_eq(agent_count(), N);
	cr_assert_eq(audit_count("agent.add", "ok", NULL), N);
}

Test(agent, add_with_a_policy_makes_it_the_agents_default_until_removed)
{
	char src[300], dst[300];
	snprintf(src, sizeof(src), "%s/p.json", h.env.scratch);
	snprintf(dst, sizeof(dst), "%s/policies/coder.json", h.conf);
	static const char text[] = "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false},"
				   "\"timeoutMs\":600000}";
	int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);

	/* An invalid policy makes no account. */
	static const char bad[] = "{\"version\":\"mxc/1\",\"ui\":{\"clipboard\":\"sometimes\"}}";
	char badp[300];
	snprintf(badp, sizeof(badp), "%s/bad.json", h.env.scratch);
	fd = open(badp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_eq(mxc_write_all(fd, bad, strlen(bad)), 0);
	close(fd);
	struct mxc_result r = mxc_run(&h, 0, NULL, "agent", "add", "coder", "--policy", badp, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "invalid policy"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "ui.clipboard"), "%s", r.err);
	mxc_result_free(&r);
	cr_assert_null(getpwnam("coder"));
	cr_assert_neq(access(dst, F_OK), 0);

	free(mxc_ok(&h, "agent", "add", "coder", "--policy", src, NULL));
	char *copy = NULL;
	size_t len;
	cr_assert_eq(mxc_read_file(dst, 1 << 20, &copy, &len), 0);
	cr_assert_str_eq(copy, text);
	free(copy);
	struct stat st;
	cr_assert_eq(stat(dst, &st), 0);
	cr_assert_eq(st.st_uid, 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	char *out = mxc_ok(&h, "agent", "show", "coder", NULL);
	cr_assert_not_null(strstr(out, dst), "%s", out);
	free(out);

	/* Sessions run under it: this one has no display. */
	char *id = mxc_ok(&h, "session", "start", "coder", NULL);
	out = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(out);
	cr_assert_null(mxc_test_str(o, "display"), "%s", out);
	json_object_put(o);
	free(out);
	free(mxc_ok(&h, "session", "stop", id, NULL));
	free(id);

	/* Removed with the agent: a new agent of that name starts from the default. */
	free(mxc_ok(&h, "agent", "remove", "coder", NULL));
	cr_assert_neq(access(dst, F_OK), 0, "the policy outlived its agent");
}
