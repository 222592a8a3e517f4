#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "json.h"

static const char genesis[] = "0000000000000000000000000000000000000000000000000000000000000000";

static void put_int(struct mxc_sha256 *h, int64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "i%" PRId64 ";", v);
	mxc_sha256_update(h, buf, (size_t)n);
}

static void put_str(struct mxc_sha256 *h, const char *s)
{
	if (!s) {
		mxc_sha256_update(h, "n;", 2);
		return;
	}
	char buf[32];
	size_t len = strlen(s);
	int n = snprintf(buf, sizeof(buf), "s%zu:", len);
	mxc_sha256_update(h, buf, (size_t)n);
	mxc_sha256_update(h, s, len);
	mxc_sha256_update(h, ";", 1);
}

int mxc_audit_hash(const struct mxc_audit_row *row, char hex[static MXC_SHA256_HEX_LEN + 1])
{
	struct mxc_sha256 h;
	int r = mxc_sha256_init(&h);
	if (r < 0)
		return r;
	mxc_sha256_update(&h, "mxc-audit-1;", 12);
	put_int(&h, row->seq);
	put_int(&h, row->time);
	put_int(&h, row->actor_uid);
	put_str(&h, row->actor_name);
	put_str(&h, row->agent);
	put_str(&h, row->session);
	put_str(&h, row->action);
	put_str(&h, row->object);
	put_str(&h, row->result);
	put_str(&h, row->details);
	put_str(&h, row->prev);
	mxc_sha256_final_hex(&h, hex);
	return 0;
}

int mxc_audit_append(struct mxc_db *db, const struct mxc_audit_entry *e, struct mxc_error *err)
{
	struct json_object *empty = NULL;
	const char *details = e->details ? mxc_json_str(e->details, NULL)
					 : mxc_json_str(empty = json_object_new_object(), NULL);
	sqlite3_stmt *last = NULL, *ins = NULL;
	int r = mxc_db_begin(db);
	if (r < 0) {
		r = mxc_error_set(err, -EIO, "failed to write audit row: %s",
				  sqlite3_errmsg(db->sql));
		goto out;
	}

	struct mxc_audit_row row = {
		.seq = 1,
		.time = mxc_db_now_ms(),
		.actor_uid = e->actor_uid,
		.actor_name = e->actor_name ? e->actor_name : "?",
		.agent = e->agent,
		.session = e->session,
		.action = e->action,
		.object = e->object,
		.result = e->result,
		.details = details,
		.prev = genesis,
	};
	char prev[MXC_SHA256_HEX_LEN + 1];
	if (sqlite3_prepare_v2(db->sql, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
			       &last, NULL) != SQLITE_OK)
		goto sqlfail;
	int rc = sqlite3_step(last);
	if (rc == SQLITE_ROW) {
		row.seq = sqlite3_column_int64(last, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", (const char *)sqlite3_column_text(last, 1));
		row.prev = prev;
	} else if (rc != SQLITE_DONE) {
		goto sqlfail;
	}

	char hash[MXC_SHA256_HEX_LEN + 1];
	if (mxc_audit_hash(&row, hash) < 0)
		goto sqlfail;
	if (sqlite3_prepare_v2(db->sql,
			       "INSERT INTO audit (seq, time, actor_uid, actor_name, agent, session, "
			       "action, object, result, details, prev, hash) "
			       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &ins, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_int64(ins, 1, row.seq);
	sqlite3_bind_int64(ins, 2, row.time);
	sqlite3_bind_int64(ins, 3, row.actor_uid);
	const char *texts[] = { row.actor_name, row.agent, row.session, row.action, row.object,
				row.result, row.details, row.prev, hash };
	for (int i = 0; i < 9; i++) {
		if (texts[i])
			sqlite3_bind_text(ins, 4 + i, texts[i], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 4 + i);
	}
	if (sqlite3_step(ins) != SQLITE_DONE)
		goto sqlfail;
	if (mxc_db_commit(db) < 0)
		goto sqlfail;
	r = 0;
	goto out;
sqlfail:
	r = mxc_error_set(err, -EIO, "failed to write audit row: %s", sqlite3_errmsg(db->sql));
	mxc_db_rollback(db);
out:
	sqlite3_finalize(last);
	sqlite3_finalize(ins);
	json_object_put(empty);
	return r;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

struct json_object *mxc_audit_list(struct mxc_db *db, const struct mxc_audit_filter *f)
{
	struct json_object *a = json_object_new_array();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->sql,
			       "SELECT * FROM (SELECT seq, time, actor_uid, actor_name, agent, "
			       "session, action, object, result, details, hash FROM audit"
			       " WHERE (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR session = ?2)"
			       "   AND (?3 < 0 OR actor_uid = ?3)"
			       " ORDER BY seq DESC LIMIT ?4) ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		return a;
	if (f->agent)
		sqlite3_bind_text(st, 1, f->agent, -1, SQLITE_STATIC);
	if (f->session)
		sqlite3_bind_text(st, 2, f->session, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, f->actor_uid);
	sqlite3_bind_int64(st, 4, f->limit ? (int64_t)f->limit : -1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct json_object *o = json_object_new_object();
		char when[32];
		mxc_format_time((uint64_t)sqlite3_column_int64(st, 1) * 1000000ull, when);
		mxc_json_add_i64(o, "seq", sqlite3_column_int64(st, 0));
		mxc_json_add_str(o, "time", when);
		mxc_json_add_i64(o, "actor_uid", sqlite3_column_int64(st, 2));
		mxc_json_add_str(o, "actor", col_text(st, 3));
		mxc_json_add_str(o, "agent", col_text(st, 4));
		mxc_json_add_str(o, "session", col_text(st, 5));
		mxc_json_add_str(o, "action", col_text(st, 6));
		mxc_json_add_str(o, "object", col_text(st, 7));
		mxc_json_add_str(o, "result", col_text(st, 8));
		struct json_object *details = NULL;
		const char *d = col_text(st, 9);
		if (!d || mxc_json_parse(d, strlen(d), &details, NULL) < 0)
			details = json_object_new_string(d ? d : "");
		json_object_object_add(o, "details", details);
		mxc_json_add_str(o, "hash", col_text(st, 10));
		json_object_array_add(a, o);
	}
	sqlite3_finalize(st);
	return a;
}

int mxc_audit_verify(struct mxc_db *db, struct mxc_audit_report *ret)
{
	*ret = (struct mxc_audit_report){ 0 };
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->sql,
			       "SELECT seq, time, actor_uid, actor_name, agent, session, action, "
			       "object, result, details, prev, hash FROM audit ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(ret->reason, sizeof(ret->reason), "cannot read the audit log: %s",
			 sqlite3_errmsg(db->sql));
		return -EIO;
	}
	char prev[MXC_SHA256_HEX_LEN + 1];
	snprintf(prev, sizeof(prev), "%s", genesis);
	int64_t expect = 1;
	int r = 0;
	while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
		struct mxc_audit_row row = {
			.seq = sqlite3_column_int64(st, 0),
			.time = sqlite3_column_int64(st, 1),
			.actor_uid = sqlite3_column_int64(st, 2),
			.actor_name = col_text(st, 3),
			.agent = col_text(st, 4),
			.session = col_text(st, 5),
			.action = col_text(st, 6),
			.object = col_text(st, 7),
			.result = col_text(st, 8),
			.details = col_text(st, 9),
			.prev = col_text(st, 10),
		};
		const char *stored = col_text(st, 11);
		char hash[MXC_SHA256_HEX_LEN + 1];
		ret->rows++;
		if (row.seq != expect) {
			ret->first_bad = row.seq;
			snprintf(ret->reason, sizeof(ret->reason),
				 "row %" PRId64 " follows row %" PRId64 ": rows %" PRId64
				 "..%" PRId64 " are missing",
				 row.seq, expect - 1, expect, row.seq - 1);
			r = -EBADMSG;
		} else if (!row.prev || strcmp(row.prev, prev) != 0) {
			ret->first_bad = row.seq;
			snprintf(ret->reason, sizeof(ret->reason),
				 "row %" PRId64 " does not chain to row %" PRId64
				 ": a row was removed, replaced or reordered",
				 row.seq, row.seq - 1);
			r = -EBADMSG;
		} else if (mxc_audit_hash(&row, hash) < 0 || !stored || strcmp(hash, stored) != 0) {
			ret->first_bad = row.seq;
			snprintf(ret->reason, sizeof(ret->reason),
				 "row %" PRId64 " was modified: its contents do not match its hash",
				 row.seq);
			r = -EBADMSG;
		} else {
			snprintf(prev, sizeof(prev), "%s", stored);
			expect++;
		}
	}
	sqlite3_finalize(st);
	return r;
}
