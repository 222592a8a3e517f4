/*
 * The audit trail as an admin reads it: every action leaves a row naming who, which agent
 * and session, and how it ended; filters work; and tampering with state.db behind the
 * running daemon's back is caught by `mxc audit --verify`.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fs.h"
#include "harness.h"
#include "json.h"

#define ALICE 4101

static struct mxc_harness h;

static void setup(void)
{
	mxc_harness_start(&h);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(audit, .init = setup, .fini = teardown, .timeout = 90);

/* `mxc audit --json [extra...]` as root. */
static struct json_object *audit_json(const char *a1, const char *a2)
{
	char *out = mxc_ok(&h, "audit", "--json", a1, a2, NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	cr_assert(json_object_is_type(rows, json_type_array), "not an array");
	return rows;
}

/* The first row with this action (and session, if given), or NULL. */
static struct json_object *find_row(struct json_object *rows, const char *action,
				    const char *session)
{
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		if (mxc_streq(mxc_test_str(r, "action"), action) &&
		    (!session || mxc_streq(mxc_test_str(r, "session"), session)))
			return r;
	}
	return NULL;
}

static struct json_object *details(struct json_object *row)
{
	struct json_object *d = NULL;
	json_object_object_get_ex(row, "details", &d);
	cr_assert(json_object_is_type(d, json_type_object), "details are not an object");
	return d;
}

static void expect_row(struct json_object *rows, const char *action, const char *session,
		       const char *actor, int64_t actor_uid, const char *agent, const char *result)
{
	struct json_object *r = find_row(rows, action, session);
	cr_assert_not_null(r, "no %s row%s%s", action, session ? " for session " : "",
			   session ? session : "");
	cr_assert_str_eq(mxc_test_str(r, "actor"), actor, "%s: actor", action);
	cr_assert_eq(mxc_test_int(r, "actor_uid"), actor_uid, "%s: actor uid", action);
	cr_assert_str_eq(mxc_test_str(r, "agent"), agent, "%s: agent", action);
	if (session)
		cr_assert_str_eq(mxc_test_str(r, "session"), session);
	cr_assert_str_eq(mxc_test_str(r, "result"), result, "%s: result", action);
	cr_assert_not_null(mxc_test_str(r, "time"), "%s: no time", action);
	cr_assert_eq(strlen(mxc_test_str(r, "hash")), MXC_SHA256_HEX_LEN);
}

static void write_policy_for_alice(const char *agent)
{
	static const char text[] =
	    "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":true,\"allowInputInjection\":true},"
	    "\"session\":{\"users\":[\"alice\"]}}";
	char path[300];
	snprintf(path, sizeof(path), "%s/policies/%s.json", h.conf, agent);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, text, sizeof(text) - 1), 0);
	fchmod(fd, 0644);
	close(fd);
}

static char *ok_as(uid_t uid, const char *a1, const char *a2, const char *a3, const char *a4,
		   const char *a5)
{
	struct mxc_result r = mxc_run(&h, uid, NULL, a1, a2, a3, a4, a5, NULL);
	cr_assert_eq(r.status, 0, "mxc %s %s as uid %u failed (%d): %s", a1, a2 ? a2 : "", uid,
		     r.status, r.err);
	free(r.err);
	size_t len = strlen(r.out);
	while (len > 0 && r.out[len - 1] == '\n')
		r.out[--len] = '\0';
	return r.out;
}

Test(audit, every_action_leaves_a_row_naming_actor_agent_session_and_result)
{
	mxc_testenv_add_user("alice", ALICE);
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	write_policy_for_alice("coder");
	/* The session is alice's: her uid, not root's, must be on its rows. */
	char *id = ok_as(ALICE, "session", "start", "coder", NULL, NULL);
	free(ok_as(ALICE, "exec", id, "true", NULL, NULL));
	free(ok_as(ALICE, "session", "stop", id, NULL, NULL));
	free(mxc_ok(&h, "agent", "remove", "coder", NULL));

	struct json_object *rows = audit_json(NULL, NULL);
	expect_row(rows, "agent.add", NULL, "root", 0, "coder", "ok");
	expect_row(rows, "session.start", id, "alice", ALICE, "coder", "ok");
	expect_row(rows, "session.exec", id, "alice", ALICE, "coder", "ok");
	expect_row(rows, "session.stop", id, "alice", ALICE, "coder", "ok");
	expect_row(rows, "session.end", id, "mxc-sessiond", 0, "coder", "ok");
	expect_row(rows, "agent.remove", NULL, "root", 0, "coder", "ok");
	/* In the order they happened, numbered without gaps. */
	static const char *const order[] = {"agent.add",    "session.start", "session.exec",
					    "session.stop", "session.end",   "agent.remove"};
	cr_assert_eq(json_object_array_length(rows), MXC_ARRAY_SIZE(order));
	for (size_t i = 0; i < MXC_ARRAY_SIZE(order); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		cr_assert_str_eq(mxc_test_str(r, "action"), order[i]);
		cr_assert_eq(mxc_test_int(r, "seq"), (int64_t)i + 1);
	}
	/* What the rows tell beyond the action. */
	struct json_object *d = details(find_row(rows, "session.start", id));
	cr_assert_eq(strlen(mxc_test_str(d, "policy_digest")), MXC_SHA256_HEX_LEN);
	d = details(find_row(rows, "session.end", id));
	cr_assert_str_eq(mxc_test_str(d, "state"), "stopped");
	struct json_object *activity = NULL;
	cr_assert(json_object_object_get_ex(d, "activity", &activity), "no activity counts");
	cr_assert_eq(mxc_test_int(activity, "exec"), 1);
	cr_assert_not_null(strstr(mxc_test_str(d, "reason"), "alice"), "the end reason names who stopped");
	d = details(find_row(rows, "agent.add", NULL));
	cr_assert_eq(mxc_test_int(d, "uid"), mxc_test_int(d, "gid"));
	json_object_put(rows);

	/* The table names the same things. */
	char *out = mxc_ok(&h, "audit", NULL);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(order); i++)
		cr_assert_not_null(strstr(out, order[i]), "the table lacks %s:\n%s", order[i], out);
	cr_assert_not_null(strstr(out, "ACTION"), "%s", out);
	free(out);
	free(id);
}

Test(audit, failures_and_refusals_are_rows_too)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	struct mxc_result r =
	    mxc_run(&h, 0, NULL, "session", "start", "coder", "--", "no-such-program", NULL);
	cr_assert_eq(r.status, 1);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "session", "start", "ghost", NULL);
	cr_assert_eq(r.status, 1);
	mxc_result_free(&r);
	struct json_object *rows = audit_json(NULL, NULL);
	size_t errors = 0;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		if (mxc_streq(mxc_test_str(row, "action"), "session.start")) {
			cr_assert_str_eq(mxc_test_str(row, "result"), "error");
			cr_assert_not_null(mxc_test_str(details(row), "reason"),
					   "an error row without reason");
			errors++;
		}
	}
	cr_assert_eq(errors, 2, "%zu session.start error rows", errors);
	json_object_put(rows);
}

Test(audit, filters_by_agent_and_session_and_limits_to_the_latest)
{
	char *a = mxc_harness_session(&h, "coder");
	char *b = mxc_harness_session(&h, "other");
	free(mxc_ok(&h, "exec", a, "--", "true", NULL));
	free(mxc_ok(&h, "session", "stop", a, NULL));
	free(mxc_ok(&h, "session", "stop", b, NULL));

	struct json_object *all = audit_json(NULL, NULL);
	size_t total = json_object_array_length(all);
	cr_assert_geq(total, 8);

	struct json_object *rows = audit_json("--agent", "other");
	cr_assert_gt(json_object_array_length(rows), 0);
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		cr_assert_str_eq(mxc_test_str(json_object_array_get_idx(rows, i), "agent"), "other");
	cr_assert_not_null(find_row(rows, "agent.add", NULL));
	cr_assert_lt(json_object_array_length(rows), total);
	json_object_put(rows);

	rows = audit_json("--session", a);
	/* start, exec, stop, end */
	cr_assert_eq(json_object_array_length(rows), 4);
	for (size_t i = 0; i < 4; i++)
		cr_assert_str_eq(mxc_test_str(json_object_array_get_idx(rows, i), "session"), a);
	json_object_put(rows);

	rows = audit_json("--limit", "3");
	cr_assert_eq(json_object_array_length(rows), 3);
	/* The latest three, oldest first. */
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(mxc_test_int(json_object_array_get_idx(rows, i), "seq"),
			     mxc_test_int(json_object_array_get_idx(all, total - 3 + i), "seq"));
	json_object_put(rows);

	rows = audit_json("--session", "ffffff");
	cr_assert_eq(json_object_array_length(rows), 0);
	json_object_put(rows);
	json_object_put(all);
	free(a);
	free(b);
}

/* ---- tampering ---- */

/* Makes some history: 8 or more rows. */
static void history(void)
{
	char *id = mxc_harness_session(&h, "coder");
	free(mxc_ok(&h, "exec", id, "--", "true", NULL));
	free(mxc_ok(&h, "exec", id, "--", "true", NULL));
	free(mxc_ok(&h, "session", "stop", id, NULL));
	free(mxc_ok(&h, "agent", "add", "other", NULL));
	free(mxc_ok(&h, "agent", "remove", "other", NULL));
	free(id);
}

/* Runs SQL on the live state database, behind the daemon's back. */
static void tamper(const char *text)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/state.db", h.state);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	cr_assert_eq(sqlite3_exec(db, text, NULL, NULL, &msg), SQLITE_OK, "%s: %s", text,
		     msg ? msg : "");
	cr_assert_gt(sqlite3_changes(db), 0, "%s changed nothing", text);
	sqlite3_close(db);
}

static void expect_verify_breaks_at(const char *row_text, const char *reason)
{
	struct mxc_result r = mxc_run(&h, 0, NULL, "audit", "--verify", NULL);
	cr_assert_eq(r.status, 1, "verify passed a tampered log: %s", r.out);
	char expect[64];
	snprintf(expect, sizeof(expect), "BROKEN at row %s", row_text);
	cr_assert_not_null(strstr(r.out, expect), "'%s' lacks '%s'", r.out, expect);
	cr_assert_not_null(strstr(r.out, reason), "'%s' lacks '%s'", r.out, reason);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "audit", "--verify", "--json", NULL);
	cr_assert_eq(r.status, 1);
	struct json_object *o = mxc_test_json(r.out);
	cr_assert_not(json_object_get_boolean(json_object_object_get(o, "intact")));
	cr_assert_eq(mxc_test_int(o, "first_bad"), strtoll(row_text, NULL, 10));
	json_object_put(o);
	mxc_result_free(&r);
}

Test(audit, verify_says_an_untouched_log_is_intact)
{
	history();
	char *out = mxc_ok(&h, "audit", "--verify", NULL);
	cr_assert_not_null(strstr(out, "intact"), "%s", out);
	free(out);
	out = mxc_ok(&h, "audit", "--verify", "--json", NULL);
	struct json_object *o = mxc_test_json(out);
	cr_assert(json_object_get_boolean(json_object_object_get(o, "intact")));
	cr_assert_geq(mxc_test_int(o, "rows"), 8);
	json_object_put(o);
	free(out);
}

Test(audit, the_chain_continues_across_daemon_restarts)
{
	history();
	mxc_harness_kill_daemon(&h);
	mxc_harness_start_daemon(&h);
	free(mxc_ok(&h, "agent", "add", "after-crash", NULL));
	mxc_harness_term_daemon(&h);
	mxc_harness_start_daemon(&h);
	free(mxc_ok(&h, "agent", "add", "after-stop", NULL));
	char *out = mxc_ok(&h, "audit", "--verify", NULL);
	cr_assert_not_null(strstr(out, "intact"), "%s", out);
	free(out);
	struct json_object *rows = audit_json(NULL, NULL);
	size_t n = json_object_array_length(rows);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(mxc_test_int(json_object_array_get_idx(rows, i), "seq"), (int64_t)i + 1);
	cr_assert_str_eq(mxc_test_str(json_object_array_get_idx(rows, n - 1), "agent"), "after-stop");
	json_object_put(rows);
}

Test(audit, verify_names_a_modified_row)
{
	history();
	tamper("UPDATE audit SET details = '{\"argc\":1,\"note\":\"harmless\"}' WHERE seq = 4");
	expect_verify_breaks_at("4", "modified");
	/* The daemon goes on logging, and the break stays visible. */
	free(mxc_ok(&h, "agent", "add", "later", NULL));
	expect_verify_breaks_at("4", "modified");
}

Test(audit, verify_names_the_row_after_a_deleted_one)
{
	history();
	tamper("DELETE FROM audit WHERE seq = 4");
	expect_verify_breaks_at("5", "missing");
}

Test(audit, verify_detects_a_swapped_pair_of_rows)
{
	history();
	tamper("UPDATE audit SET seq = -3 WHERE seq = 3");
	tamper("UPDATE audit SET seq = 3 WHERE seq = 4");
	tamper("UPDATE audit SET seq = 4 WHERE seq = -3");
	expect_verify_breaks_at("3", "does not chain");
}

Test(audit, rows_hold_digests_not_command_arguments)
{
	static const char secret[] = "hunter2-s3cr3t-token";
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	char start_secret[64];
	snprintf(start_secret, sizeof(start_secret), "start-%s", secret);
	char *id =
	    mxc_ok(&h, "session", "start", "coder", "--", "sleep", "1000", start_secret, NULL);
	free(mxc_ok(&h, "exec", id, "--", "sh", "-c", "echo \"$1\" >/dev/null", "x", secret, NULL));
	free(mxc_ok(&h, "session", "stop", id, NULL));

	char *out = mxc_ok(&h, "audit", "--json", NULL);
	cr_assert_null(strstr(out, secret), "an argument reached the audit log:\n%s", out);
	free(out);
	/* Nor any column of the audit table itself. */
	char path[300];
	snprintf(path, sizeof(path), "%s/state.db", h.state);
	sqlite3 *sql;
	cr_assert_eq(sqlite3_open_v2(path, &sql, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(sql,
					"SELECT COUNT(*) FROM audit WHERE instr(details, ?1) OR "
					"instr(object, ?1) OR instr(action, ?1)",
					-1, &st, NULL),
		     SQLITE_OK);
	sqlite3_bind_text(st, 1, secret, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(st, 0), 0, "a row holds the argument");
	sqlite3_finalize(st);
	sqlite3_close(sql);

	/* The exec row carries the program, the count and a digest of the whole argv. */
	struct json_object *rows = audit_json(NULL, NULL);
	struct json_object *d = details(find_row(rows, "session.exec", id));
	cr_assert_str_eq(mxc_test_str(d, "program"), "sh");
	cr_assert_eq(mxc_test_int(d, "argc"), 5);
	struct mxc_sha256 s;
	char hex[MXC_SHA256_HEX_LEN + 1];
	const char *argv[] = {"sh", "-c", "echo \"$1\" >/dev/null", "x", secret};
	cr_assert_eq(mxc_sha256_init(&s), 0);
	for (size_t i = 0; i < 5; i++)
		mxc_sha256_update(&s, argv[i], strlen(argv[i]) + 1);
	mxc_sha256_final_hex(&s, hex);
	cr_assert_str_eq(mxc_test_str(d, "argv_sha256"), hex, "the digest is not of the argv");
	json_object_put(rows);
	free(id);
}
