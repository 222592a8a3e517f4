/*
 * The audit log's hash chain (sessiond/audit.h) on a scratch database: every kind of
 * tampering an attacker with write access to state.db could try is reported, with the
 * row where the chain breaks.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "fs.h"
#include "json.h"

static char dir[64];
static struct mxc_db *db;

static void open_db(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mxc-test-audit-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/state.db", dir);
	struct mxc_error err = {0};
	cr_assert_eq(mxc_db_open(path, &db, &err), 0, "%s", err.msg);
}

static void close_db(void)
{
	mxc_db_close(db);
	db = NULL;
	mxc_rm_rf(dir);
}

TestSuite(audit, .init = open_db, .fini = close_db, .timeout = 30);

static void append(const char *action, const char *agent, const char *session, const char *result)
{
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "note", action);
	struct mxc_audit_entry e = {
	    .actor_uid = 1000,
	    .actor_name = "alice",
	    .agent = agent,
	    .session = session,
	    .action = action,
	    .object = NULL,
	    .result = result,
	    .details = d,
	};
	struct mxc_error err = {0};
	cr_assert_eq(mxc_audit_append(db, &e, &err), 0, "%s", err.msg);
	json_object_put(d);
}

/* Five rows: agent.add, session.start, session.exec, session.stop, session.end. */
static void five_rows(void)
{
	append("agent.add", "coder", NULL, "ok");
	append("session.start", "coder", "ab12cd", "ok");
	append("session.exec", "coder", "ab12cd", "ok");
	append("session.stop", "coder", "ab12cd", "ok");
	append("session.end", "coder", "ab12cd", "ok");
}

static void sql(const char *text)
{
	char *msg = NULL;
	cr_assert_eq(sqlite3_exec(db->sql, text, NULL, NULL, &msg), SQLITE_OK, "%s: %s", text,
		     msg ? msg : "");
}

static void expect_broken(int64_t first_bad, const char *reason_part)
{
	struct mxc_audit_report rep;
	cr_assert_eq(mxc_audit_verify(db, &rep), -EBADMSG, "tampering went unnoticed");
	cr_assert_eq(rep.first_bad, first_bad,
		     "first bad row %" PRId64 ", expected %" PRId64 ": %s", rep.first_bad,
		     first_bad, rep.reason);
	cr_assert_not_null(strstr(rep.reason, reason_part), "reason '%s' lacks '%s'", rep.reason,
			   reason_part);
}

Test(audit, an_empty_log_is_intact)
{
	struct mxc_audit_report rep;
	cr_assert_eq(mxc_audit_verify(db, &rep), 0);
	cr_assert_eq(rep.rows, 0);
	cr_assert_eq(rep.first_bad, 0);
}

Test(audit, appended_rows_verify_and_are_numbered_from_one)
{
	five_rows();
	struct mxc_audit_report rep;
	cr_assert_eq(mxc_audit_verify(db, &rep), 0, "%s", rep.reason);
	cr_assert_eq(rep.rows, 5);
	cr_assert_eq(rep.first_bad, 0);
	struct mxc_audit_filter f = {.actor_uid = -1};
	struct json_object *rows = mxc_audit_list(db, &f);
	cr_assert_eq(json_object_array_length(rows), 5);
	for (size_t i = 0; i < 5; i++) {
		int64_t seq = 0;
		mxc_json_get_i64(json_object_array_get_idx(rows, i), "seq", 0, 100, &seq, NULL);
		cr_assert_eq(seq, (int64_t)i + 1);
	}
	json_object_put(rows);
}

Test(audit, each_row_chains_to_the_hash_of_the_one_before)
{
	five_rows();
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(db->sql, "SELECT prev, hash FROM audit ORDER BY seq", -1, &st, NULL),
	    SQLITE_OK);
	char prev[MXC_SHA256_HEX_LEN + 1];
	memset(prev, '0', MXC_SHA256_HEX_LEN);
	prev[MXC_SHA256_HEX_LEN] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), prev);
		snprintf(prev, sizeof(prev), "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
}

Test(audit, a_modified_field_is_reported_at_its_row)
{
	five_rows();
	sql("UPDATE audit SET details = '{\"note\":\"nothing happened\"}' WHERE seq = 3");
	expect_broken(3, "row 3 was modified");
}

Test(audit, every_column_is_covered_by_the_hash)
{
	static const char *const updates[] = {
	    "UPDATE audit SET time = time + 1 WHERE seq = 2",
	    "UPDATE audit SET actor_uid = 0 WHERE seq = 2",
	    "UPDATE audit SET actor_name = 'root' WHERE seq = 2",
	    "UPDATE audit SET agent = 'other' WHERE seq = 2",
	    "UPDATE audit SET agent = NULL WHERE seq = 2",
	    "UPDATE audit SET session = 'ffffff' WHERE seq = 2",
	    "UPDATE audit SET action = 'session.show' WHERE seq = 2",
	    "UPDATE audit SET object = 'x' WHERE seq = 2",
	    "UPDATE audit SET result = 'denied' WHERE seq = 2",
	    "UPDATE audit SET details = '{}' WHERE seq = 2",
	    "UPDATE audit SET prev = (SELECT hash FROM audit WHERE seq = 3) WHERE seq = 2",
	    "UPDATE audit SET hash = 'ab' || substr(hash, 3) WHERE seq = 2",
	};
	five_rows();
	for (size_t i = 0; i < MXC_ARRAY_SIZE(updates); i++) {
		sql("SAVEPOINT t");
		sql(updates[i]);
		struct mxc_audit_report rep;
		cr_assert_eq(mxc_audit_verify(db, &rep), -EBADMSG, "not detected: %s", updates[i]);
		cr_assert_eq(rep.first_bad, 2, "%s: %s", updates[i], rep.reason);
		sql("ROLLBACK TO t");
		sql("RELEASE t");
	}
	struct mxc_audit_report rep;
	cr_assert_eq(mxc_audit_verify(db, &rep), 0, "the rollbacks did not restore the log");
}

Test(audit, a_deleted_row_is_reported_as_missing)
{
	five_rows();
	sql("DELETE FROM audit WHERE seq = 3");
	expect_broken(4, "missing");
	struct mxc_audit_report rep;
	mxc_audit_verify(db, &rep);
	cr_assert_not_null(strstr(rep.reason, "row 4 follows row 2"), "%s", rep.reason);
}

Test(audit, a_deleted_first_row_is_reported)
{
	five_rows();
	sql("DELETE FROM audit WHERE seq = 1");
	expect_broken(2, "missing");
}

Test(audit, deleted_rows_renumbered_to_close_the_gap_do_not_chain)
{
	five_rows();
	sql("DELETE FROM audit WHERE seq = 3");
	sql("UPDATE audit SET seq = seq - 1 WHERE seq > 3");
	/* Row 3 is now what was row 4: its seq and prev no longer match its place. */
	struct mxc_audit_report rep;
	cr_assert_eq(mxc_audit_verify(db, &rep), -EBADMSG);
	cr_assert_eq(rep.first_bad, 3, "%s", rep.reason);
}

Test(audit, swapped_rows_do_not_chain)
{
	five_rows();
	/* Exchange the contents of rows 2 and 3, each keeping its stored hash. */
	sql("UPDATE audit SET seq = -2 WHERE seq = 2");
	sql("UPDATE audit SET seq = 2 WHERE seq = 3");
	sql("UPDATE audit SET seq = 3 WHERE seq = -2");
	expect_broken(2, "does not chain");
}

Test(audit, a_replaced_row_with_a_recomputed_hash_breaks_the_next_link)
{
	five_rows();
	/* The attacker rewrites row 3 and gives it a valid hash of its own. */
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(db->sql,
			       "SELECT seq, time, actor_uid, actor_name, agent, session, "
			       "action, object, result, details, prev FROM audit WHERE seq = 3",
			       -1, &st, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	struct mxc_audit_row row = {
	    .seq = sqlite3_column_int64(st, 0),
	    .time = sqlite3_column_int64(st, 1),
	    .actor_uid = sqlite3_column_int64(st, 2),
	    .actor_name = (const char *)sqlite3_column_text(st, 3),
	    .agent = (const char *)sqlite3_column_text(st, 4),
	    .session = (const char *)sqlite3_column_text(st, 5),
	    .action = (const char *)sqlite3_column_text(st, 6),
	    .object = (const char *)sqlite3_column_text(st, 7),
	    .result = "denied",
	    .details = (const char *)sqlite3_column_text(st, 9),
	    .prev = (const char *)sqlite3_column_text(st, 10),
	};
	char hash[MXC_SHA256_HEX_LEN + 1], stmt[256];
	cr_assert_eq(mxc_audit_hash(&row, hash), 0);
	sqlite3_finalize(st);
	snprintf(stmt, sizeof(stmt),
		 "UPDATE audit SET result = 'denied', hash = '%s' WHERE seq = 3", hash);
	sql(stmt);
	expect_broken(4, "does not chain to row 3");
}

Test(audit, rows_appended_after_tampering_do_not_repair_the_chain)
{
	five_rows();
	sql("UPDATE audit SET actor_name = 'mallory' WHERE seq = 2");
	append("session.start", "coder", "ffffff", "ok");
	expect_broken(2, "modified");
}

Test(audit, list_filters_by_agent_and_session_and_keeps_the_latest_rows)
{
	five_rows();
	append("agent.add", "other", NULL, "ok");
	append("session.start", "other", "999999", "denied");
	struct mxc_audit_filter f = {.actor_uid = -1, .agent = "other"};
	struct json_object *rows = mxc_audit_list(db, &f);
	cr_assert_eq(json_object_array_length(rows), 2);
	json_object_put(rows);
	f = (struct mxc_audit_filter){.actor_uid = -1, .session = "ab12cd"};
	rows = mxc_audit_list(db, &f);
	cr_assert_eq(json_object_array_length(rows), 4);
	json_object_put(rows);
	f = (struct mxc_audit_filter){.actor_uid = -1, .limit = 2};
	rows = mxc_audit_list(db, &f);
	cr_assert_eq(json_object_array_length(rows), 2);
	int64_t a = 0, b = 0;
	mxc_json_get_i64(json_object_array_get_idx(rows, 0), "seq", 0, 100, &a, NULL);
	mxc_json_get_i64(json_object_array_get_idx(rows, 1), "seq", 0, 100, &b, NULL);
	cr_assert(a == 6 && b == 7, "--limit 2 gave rows %" PRId64 " and %" PRId64, a, b);
	json_object_put(rows);
	f = (struct mxc_audit_filter){.actor_uid = 4242};
	rows = mxc_audit_list(db, &f);
	cr_assert_eq(json_object_array_length(rows), 0, "the actor filter let rows through");
	json_object_put(rows);
}

/* ---- the row hash ---- */

static struct mxc_audit_row base_row(void)
{
	return (struct mxc_audit_row){
	    .seq = 7,
	    .time = 1700000000000,
	    .actor_uid = 1000,
	    .actor_name = "alice",
	    .agent = "coder",
	    .session = "ab12cd",
	    .action = "session.exec",
	    .object = "sh",
	    .result = "ok",
	    .details = "{\"argc\":3}",
	    .prev = "0000000000000000000000000000000000000000000000000000000000000000",
	};
}

static void hash_of(const struct mxc_audit_row *row, char hex[static MXC_SHA256_HEX_LEN + 1])
{
	cr_assert_eq(mxc_audit_hash(row, hex), 0);
	cr_assert_eq(strlen(hex), MXC_SHA256_HEX_LEN);
}

Test(audit_hash, is_deterministic)
{
	struct mxc_audit_row row = base_row();
	char a[MXC_SHA256_HEX_LEN + 1], b[MXC_SHA256_HEX_LEN + 1];
	hash_of(&row, a);
	hash_of(&row, b);
	cr_assert_str_eq(a, b);
}

Test(audit_hash, changes_when_any_field_changes)
{
	struct mxc_audit_row base = base_row();
	char ref[MXC_SHA256_HEX_LEN + 1], h[MXC_SHA256_HEX_LEN + 1];
	hash_of(&base, ref);
	for (int field = 0; field < 11; field++) {
		struct mxc_audit_row r = base_row();
		switch (field) {
		case 0:
			r.seq++;
			break;
		case 1:
			r.time++;
			break;
		case 2:
			r.actor_uid = 0;
			break;
		case 3:
			r.actor_name = "alicf";
			break;
		case 4:
			r.agent = "codex";
			break;
		case 5:
			r.session = "ab12ce";
			break;
		case 6:
			r.action = "session.stop";
			break;
		case 7:
			r.object = "sh ";
			break;
		case 8:
			r.result = "ko";
			break;
		case 9:
			r.details = "{\"argc\":4}";
			break;
		default:
			r.prev = "1000000000000000000000000000000000000000000000000000000000000000";
		}
		hash_of(&r, h);
		cr_assert_str_neq(h, ref, "field %d does not enter the hash", field);
	}
}

Test(audit_hash, null_and_empty_string_differ)
{
	struct mxc_audit_row a = base_row(), b = base_row();
	char ha[MXC_SHA256_HEX_LEN + 1], hb[MXC_SHA256_HEX_LEN + 1];
	a.agent = NULL;
	b.agent = "";
	hash_of(&a, ha);
	hash_of(&b, hb);
	cr_assert_str_neq(ha, hb);
	a = base_row();
	b = base_row();
	a.object = NULL;
	b.object = "";
	hash_of(&a, ha);
	hash_of(&b, hb);
	cr_assert_str_neq(ha, hb);
}

Test(audit_hash, text_moved_between_fields_changes_it)
{
	/* Length-prefixed: "ab"+"c" is not "a"+"bc", nor a NUL-looking "n;" spelled out. */
	struct mxc_audit_row a = base_row(), b = base_row();
	char ha[MXC_SHA256_HEX_LEN + 1], hb[MXC_SHA256_HEX_LEN + 1];
	a.agent = "ab";
	a.session = "c";
	b.agent = "a";
	b.session = "bc";
	hash_of(&a, ha);
	hash_of(&b, hb);
	cr_assert_str_neq(ha, hb);
	a = base_row();
	b = base_row();
	a.agent = NULL;
	a.session = "x";
	b.agent = "n;";
	b.session = "x";
	hash_of(&a, ha);
	hash_of(&b, hb);
	cr_assert_str_neq(ha, hb);
	a = base_row();
	b = base_row();
	a.seq = 12;
	a.time = 3;
	b.seq = 1;
	b.time = 23;
	hash_of(&a, ha);
	hash_of(&b, hb);
	cr_assert_str_neq(ha, hb);
}
