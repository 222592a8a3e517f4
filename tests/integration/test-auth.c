/*
 * Who may do what: the daemon decides from SO_PEERCRED, so each test runs the real CLI as
 * real (overlay) users and checks both the refusal and the audit row it leaves.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "json.h"

#define ALICE 4101
#define BOB   4102
#define CAROL 4103

static struct mxc_harness h;

static void setup(void)
{
	mxc_harness_start(&h);
	mxc_testenv_add_user("alice", ALICE);
	mxc_testenv_add_user("bob", BOB);
	mxc_testenv_add_user("carol", CAROL);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 90);

/* Audit rows (root's view) with this action, result and actor uid. */
static size_t audit_count(const char *action, const char *result, int64_t actor_uid)
{
	char *out = mxc_ok(&h, "audit", "--json", NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	size_t n = 0;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		n += mxc_streq(mxc_test_str(r, "action"), action) && mxc_streq(mxc_test_str(r, "result"), result) &&
		     mxc_test_int(r, "actor_uid") == actor_uid;
	}
	json_object_put(rows);
	return n;
}

/* Runs mxc as uid, expects it to fail with status and a message containing what. */
static void refused(uid_t uid, int status, const char *what, const char *a1, const char *a2,
		    const char *a3, const char *a4)
{
	struct mxc_result r = mxc_run(&h, uid, NULL, a1, a2, a3, a4, NULL);
	cr_assert_eq(r.status, status, "mxc %s %s %s as uid %u: status %d, expected %d (%s)", a1,
		     a2 ? a2 : "", a3 ? a3 : "", uid, r.status, status, r.err);
	cr_assert_not_null(strstr(r.err, what), "mxc %s %s as uid %u: '%s' lacks '%s'", a1,
			   a2 ? a2 : "", uid, r.err, what);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
}

static char *ok_as(uid_t uid, const char *a1, const char *a2, const char *a3, const char *a4)
{
	struct mxc_result r = mxc_run(&h, uid, NULL, a1, a2, a3, a4, NULL);
	cr_assert_eq(r.status, 0, "mxc %s %s %s as uid %u failed (%d): %s", a1, a2 ? a2 : "",
		     a3 ? a3 : "", uid, r.status, r.err);
	free(r.err);
	size_t len = strlen(r.out);
	while (len > 0 && r.out[len - 1] == '\n')
		r.out[--len] = '\0';
	return r.out;
}

static void run_tool(const char *const *argv)
{
	cr_assert_eq(mxc_testenv_run(argv), 0, "%s %s failed", argv[0], argv[1]);
}

static void add_to_group(const char *group, gid_t gid, const char *user)
{
	char id[16];
	snprintf(id, sizeof(id), "%u", gid);
	const char *groupadd[] = {"groupadd", "-g", id, group, NULL};
	const char *usermod[] = {"usermod", "-aG", group, user, NULL};
	struct group *gr = getgrnam(group);
	if (!gr)
		run_tool(groupadd);
	run_tool(usermod);
}

/* Writes CONF/policies/AGENT.json with text, mode and owner. */
static void write_policy(const char *agent, const char *text, mode_t mode, uid_t owner)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/policies/%s.json", h.conf, agent);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "cannot create %s", path);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	cr_assert_eq(fchmod(fd, mode), 0);
	cr_assert_eq(fchown(fd, owner, 0), 0);
	close(fd);
}

static const char policy_alice[] =
    "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":true,\"allowInputInjection\":true},"
    "\"session\":{\"users\":[\"alice\"]}}";
static const char policy_alice_bob[] =
    "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":true,\"allowInputInjection\":true},"
    "\"session\":{\"users\":[\"alice\",\"bob\"]}}";
static const char policy_testers[] =
    "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":true,\"allowInputInjection\":true},"
    "\"session\":{\"users\":[\"group:testers\"]}}";

Test(auth, non_admins_may_not_manage_agents_or_verify_the_audit_log)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	refused(ALICE, 1, "administrators", "agent", "add", "evil", NULL);
	cr_assert_null(getpwnam("evil"));
	refused(ALICE, 1, "administrators", "agent", "remove", "coder", NULL);
	cr_assert_not_null(getpwnam("coder"), "a non-admin removed an agent");
	refused(ALICE, 1, "administrators", "audit", "--verify", NULL, NULL);
	cr_assert_eq(audit_count("agent.add", "denied", ALICE), 1);
	cr_assert_eq(audit_count("agent.remove", "denied", ALICE), 1);
	cr_assert_eq(audit_count("audit.verify", "denied", ALICE), 1);
	/* The denied rows name who asked. */
	char *out = mxc_ok(&h, "audit", NULL);
	cr_assert_not_null(strstr(out, "alice"), "%s", out);
	free(out);
	/* Reading is allowed. */
	free(ok_as(ALICE, "agent", "list", NULL, NULL));
	free(ok_as(ALICE, "agent", "show", "coder", NULL));
}

Test(auth, non_admins_see_only_their_own_audit_rows)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	refused(ALICE, 1, "administrators", "agent", "add", "evil", NULL);
	refused(BOB, 1, "administrators", "agent", "add", "evil2", NULL);
	char *out = ok_as(ALICE, "audit", "--json", NULL, NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	cr_assert_eq(json_object_array_length(rows), 1, "alice sees others' rows");
	cr_assert_eq(mxc_test_int(json_object_array_get_idx(rows, 0), "actor_uid"), ALICE);
	json_object_put(rows);
}

Test(auth, members_of_mxc_admin_are_administrators)
{
	char *out = ok_as(CAROL, "version", "--json", NULL, NULL);
	struct json_object *v = mxc_test_json(out);
	cr_assert_not(json_object_get_boolean(json_object_object_get(v, "admin")));
	json_object_put(v);
	free(out);
	refused(CAROL, 1, "administrators", "agent", "add", "helper", NULL);

	/* The group may appear while the daemon runs. */
	add_to_group("mxc-admin", 4199, "carol");
	out = ok_as(CAROL, "version", "--json", NULL, NULL);
	v = mxc_test_json(out);
	cr_assert(json_object_get_boolean(json_object_object_get(v, "admin")),
		  "a member of mxc-admin is not an admin: %s", out);
	json_object_put(v);
	free(out);
	free(ok_as(CAROL, "agent", "add", "helper", NULL));
	cr_assert_not_null(getpwnam("helper"));
	free(ok_as(CAROL, "audit", "--verify", NULL, NULL));
	cr_assert_eq(audit_count("agent.add", "ok", CAROL), 1);
	/* An admin may start sessions of any agent and pass a policy. */
	char *id = ok_as(CAROL, "session", "start", "helper", NULL);
	free(ok_as(CAROL, "session", "stop", id, NULL));
	free(ok_as(CAROL, "agent", "remove", "helper", NULL));
	cr_assert_null(getpwnam("helper"));
	/* Others stay non-admins. */
	refused(ALICE, 1, "administrators", "agent", "add", "evil", NULL);
	free(id);
}

Test(auth, non_admin_session_start_needs_a_policy_naming_the_user)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	/* The built-in default policy names nobody. */
	refused(ALICE, 1, "session.users does not name them", "session", "start", "coder", NULL);
	cr_assert_eq(audit_count("session.start", "denied", ALICE), 1);
	cr_assert_eq(mxc_processes_of(&h, getpwnam("coder")->pw_uid), 0);

	write_policy("coder", policy_alice, 0644, 0);
	char *id = ok_as(ALICE, "session", "start", "coder", NULL);
	cr_assert_eq(strlen(id), 6, "not a session id: '%s'", id);
	char *list = ok_as(ALICE, "session", "list", NULL, NULL);
	cr_assert_not_null(strstr(list, id), "alice does not see her session:\n%s", list);
	cr_assert_not_null(strstr(list, "alice"), "the owner is not alice:\n%s", list);
	free(list);
	char *out = ok_as(ALICE, "exec", id, "id", "-un");
	cr_assert_str_eq(out, "coder");
	free(out);
	cr_assert_eq(audit_count("session.start", "ok", ALICE), 1);
	/* Bob is not named. */
	refused(BOB, 1, "session.users does not name them", "session", "start", "coder", NULL);
	free(ok_as(ALICE, "session", "stop", id, NULL));
	free(id);
}

Test(auth, a_policy_naming_a_group_admits_its_members)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	add_to_group("testers", 4198, "bob");
	write_policy("coder", policy_testers, 0644, 0);
	char *id = ok_as(BOB, "session", "start", "coder", NULL);
	free(ok_as(BOB, "session", "stop", id, NULL));
	free(id);
	refused(ALICE, 1, "session.users does not name them", "session", "start", "coder", NULL);
}

Test(auth, a_policy_file_others_could_have_written_is_refused)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	static const mode_t modes[] = {0664, 0646, 0666};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(modes); i++) {
		write_policy("coder", policy_alice, modes[i], 0);
		refused(ALICE, 1, "owned by root and writable only by root", "session", "start",
			"coder", NULL);
		/* Root too: the file is not trustworthy, whoever asks. */
		refused(0, 1, "owned by root and writable only by root", "session", "start",
			"coder", NULL);
	}
	write_policy("coder", policy_alice, 0644, ALICE);
	refused(ALICE, 1, "owned by root and writable only by root", "session", "start", "coder",
		NULL);
	/* A symbolic link is not followed, even to a good policy. */
	char good[300], link[300];
	snprintf(good, sizeof(good), "%s/good.json", h.env.scratch);
	snprintf(link, sizeof(link), "%s/policies/coder.json", h.conf);
	int fd = open(good, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, policy_alice, strlen(policy_alice)), 0);
	close(fd);
	unlink(link);
	cr_assert_eq(symlink(good, link), 0);
	refused(ALICE, 1, "policy", "session", "start", "coder", NULL);
	cr_assert_eq(mxc_processes_of(&h, getpwnam("coder")->pw_uid), 0);
	/* An invalid policy is refused with its reason. */
	unlink(link);
	write_policy("coder", "{\"version\":\"mxc/1\",\"session\":{\"users\":5}}", 0644, 0);
	refused(ALICE, 1, "session.users", "session", "start", "coder", NULL);
}

Test(auth, non_admins_may_not_supply_a_policy)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	write_policy("coder", policy_alice, 0644, 0);
	char file[300];
	snprintf(file, sizeof(file), "%s/mine.json", h.env.scratch);
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, policy_alice, strlen(policy_alice)), 0);
	close(fd);
	struct mxc_result r =
	    mxc_run(&h, ALICE, NULL, "session", "start", "coder", "--policy", file, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "only administrators may supply a policy"), "%s", r.err);
	mxc_result_free(&r);
	cr_assert_eq(audit_count("session.start", "denied", ALICE), 1);
	cr_assert_eq(mxc_processes_of(&h, getpwnam("coder")->pw_uid), 0);
	/* Root may. */
	char *id = mxc_ok(&h, "session", "start", "coder", "--policy", file, NULL);
	free(mxc_ok(&h, "session", "stop", id, NULL));
	free(id);
}

/* Whether `session list [--all]` as uid mentions id. */
static bool lists(uid_t uid, const char *id, bool all)
{
	char *out = ok_as(uid, "session", "list", all ? "--all" : NULL, NULL);
	bool found = strstr(out, id) != NULL;
	free(out);
	return found;
}

Test(auth, users_act_only_on_their_own_sessions)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	write_policy("coder", policy_alice_bob, 0644, 0);
	char *id = ok_as(ALICE, "session", "start", "coder", NULL);

	refused(BOB, 1, "belongs to", "session", "stop", id, NULL);
	/* exec reports its own failures as 125, like docker run. */
	refused(BOB, 125, "belongs to", "exec", id, "true", NULL);
	refused(BOB, 1, "belongs to", "screenshot", id, NULL, NULL);
	refused(BOB, 1, "belongs to", "session", "show", id, NULL);
	cr_assert_eq(audit_count("session.stop", "denied", BOB), 1);
	cr_assert_eq(audit_count("exec", "denied", BOB), 1);
	cr_assert_eq(audit_count("screenshot", "denied", BOB), 1);
	cr_assert_eq(audit_count("session.show", "denied", BOB), 1);
	cr_assert_not(lists(BOB, id, false), "bob sees alice's session");
	cr_assert_not(lists(BOB, id, true), "bob sees alice's session with --all");
	cr_assert(lists(ALICE, id, false));

	/* Bob's attempts left it running, and alice can still use it. */
	char *out = ok_as(ALICE, "exec", id, "echo", "still mine");
	cr_assert_str_eq(out, "still mine");
	free(out);

	/* Bob's own session is his, and alice cannot touch it either. */
	char *bobs = ok_as(BOB, "session", "start", "coder", NULL);
	refused(ALICE, 1, "belongs to", "session", "stop", bobs, NULL);
	cr_assert(lists(BOB, bobs, false));
	cr_assert_not(lists(ALICE, bobs, false));

	/* Root is an admin: it sees and acts on everyone's sessions. */
	cr_assert(lists(0, id, false) && lists(0, bobs, false));
	out = mxc_ok(&h, "exec", id, "--", "id", "-un", NULL);
	cr_assert_str_eq(out, "coder");
	free(out);
	out = mxc_ok(&h, "session", "show", id, NULL);
	cr_assert_not_null(strstr(out, "alice"), "%s", out);
	free(out);
	free(mxc_ok(&h, "session", "stop", id, NULL));
	free(mxc_ok(&h, "session", "stop", bobs, NULL));
	cr_assert_eq(mxc_processes_of(&h, getpwnam("coder")->pw_uid), 0);
	free(id);
	free(bobs);
}

Test(auth, agent_accounts_may_not_use_the_main_socket)
{
	char *id = mxc_harness_session(&h, "coder");
	uid_t agent = getpwnam("coder")->pw_uid;
	refused(agent, 1, "agent accounts may not use the main socket", "version", NULL, NULL,
		NULL);
	refused(agent, 1, "agent accounts may not use the main socket", "session", "list", NULL,
		NULL);
	/* Not even on its own session. */
	refused(agent, 125, "agent accounts may not use the main socket", "exec", id, "true", NULL);
	refused(agent, 1, "agent accounts may not use the main socket", "session", "stop", id,
		NULL);
	cr_assert_gt(audit_count("version", "denied", agent), 0);
	cr_assert_gt(audit_count("session.stop", "denied", agent), 0);
	/* Any uid of the agent range counts, recorded agent or not. */
	refused(75000, 1, "agent accounts may not use the main socket", "version", NULL, NULL,
		NULL);
	/* The session is untouched. */
	char *out = mxc_ok(&h, "exec", id, "--", "echo", "ok", NULL);
	cr_assert_str_eq(out, "ok");
	free(out);
	free(id);
}

Test(auth, members_of_mxc_agents_may_not_use_the_main_socket)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	const char *usermod[] = {"usermod", "-aG", "mxc-agents", "alice", NULL};
	run_tool(usermod);
	refused(ALICE, 1, "agent accounts may not use the main socket", "version", NULL, NULL,
		NULL);
}
