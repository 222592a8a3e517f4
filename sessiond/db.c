#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "json.h"
#include "util.h"

/*
 * Never edit a migration that has shipped: append a new one. Each runs in a transaction
 * together with the user_version bump.
 */
const char *const mxc_db_migrations[] = {
	/* 1: agents, sessions, the audit log */
	"CREATE TABLE agents ("
	"  name TEXT PRIMARY KEY,"
	"  uid INTEGER NOT NULL UNIQUE,"
	"  gid INTEGER NOT NULL,"
	"  home TEXT NOT NULL,"
	"  backend TEXT NOT NULL,"
	"  policy TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  created_by INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  id TEXT PRIMARY KEY,"
	"  agent TEXT NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  owner_uid INTEGER NOT NULL,"
	"  owner_name TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  display TEXT,"
	"  width INTEGER, height INTEGER, depth INTEGER,"
	"  policy_digest TEXT NOT NULL,"
	"  policy TEXT NOT NULL,"
	"  command TEXT,"
	"  leader_pid INTEGER,"
	"  leader_start INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  ended_at INTEGER,"
	"  end_reason TEXT);"
	"CREATE INDEX sessions_state ON sessions(state);"
	"CREATE INDEX sessions_agent ON sessions(agent);"
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  actor_uid INTEGER NOT NULL,"
	"  actor_name TEXT NOT NULL,"
	"  agent TEXT,"
	"  session TEXT,"
	"  action TEXT NOT NULL,"
	"  object TEXT,"
	"  result TEXT NOT NULL,"
	"  details TEXT NOT NULL,"
	"  prev TEXT NOT NULL,"
	"  hash TEXT NOT NULL);"
	"CREATE INDEX audit_session ON audit(session);"
	"CREATE INDEX audit_agent ON audit(agent);",
	/* 2: what a session did, counted (screenshots, clicks, ...), kept across restarts */
	"ALTER TABLE sessions ADD COLUMN activity TEXT;",
};
const size_t mxc_db_n_migrations = MXC_ARRAY_SIZE(mxc_db_migrations);

int64_t mxc_db_now_ms(void)
{
	return (int64_t)(mxc_now_real_ns() / 1000000ull);
}

static int exec(sqlite3 *sql, const char *text, struct mxc_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(sql, text, NULL, NULL, &msg) != SQLITE_OK) {
		int r = mxc_error_set(err, -EIO, "%s", msg ? msg : sqlite3_errmsg(sql));
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

int mxc_db_version(sqlite3 *sql, int64_t *ret)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(sql, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int r = -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int mxc_db_migrate(sqlite3 *sql, const char *const *migrations, size_t n, struct mxc_error *err)
{
	int64_t version;
	if (mxc_db_version(sql, &version) < 0)
		return mxc_error_set(err, -EIO, "failed to read the schema version: %s",
				     sqlite3_errmsg(sql));
	if (version < 0 || (uint64_t)version > n)
		return mxc_error_set(err, -EPROTONOSUPPORT,
				     "database schema version %lld is newer than this mxc-sessiond "
				     "understands (%zu)",
				     (long long)version, n);
	for (size_t i = (size_t)version; i < n; i++) {
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %zu;", i + 1);
		int r = exec(sql, "BEGIN IMMEDIATE;", err);
		if (r == 0)
			r = exec(sql, migrations[i], err);
		if (r == 0)
			r = exec(sql, bump, err);
		if (r == 0)
			r = exec(sql, "COMMIT;", err);
		if (r < 0) {
			exec(sql, "ROLLBACK;", NULL);
			return mxc_error_prefix(err, "migration to schema version %zu failed", i + 1);
		}
	}
	return 0;
}

int mxc_db_open(const char *path, struct mxc_db **ret, struct mxc_error *err)
{
	struct mxc_db *db = calloc(1, sizeof(*db));
	if (!db)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	int r;
	if (sqlite3_open_v2(path, &db->sql,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
				    SQLITE_OPEN_EXRESCODE,
			    NULL) != SQLITE_OK) {
		r = mxc_error_set(err, -EIO, "failed to open database '%s': %s", path,
				  db->sql ? sqlite3_errmsg(db->sql) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db->sql, 5000);
	r = exec(db->sql,
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
		 "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;",
		 err);
	if (r < 0) {
		mxc_error_prefix(err, "failed to configure database '%s'", path);
		goto fail;
	}
	r = mxc_db_migrate(db->sql, mxc_db_migrations, mxc_db_n_migrations, err);
	if (r < 0) {
		mxc_error_prefix(err, "database '%s'", path);
		goto fail;
	}
	*ret = db;
	return 0;
fail:
	mxc_db_close(db);
	return r;
}

void mxc_db_close(struct mxc_db *db)
{
	if (!db)
		return;
	sqlite3_close_v2(db->sql);
	free(db);
}

int mxc_db_begin(struct mxc_db *db)
{
	return exec(db->sql, "BEGIN IMMEDIATE;", NULL);
}

int mxc_db_commit(struct mxc_db *db)
{
	return exec(db->sql, "COMMIT;", NULL);
}

void mxc_db_rollback(struct mxc_db *db)
{
	exec(db->sql, "ROLLBACK;", NULL);
}

/* Prepares sql and binds the arguments described by types: s=text, i=int64, n=NULL. */
static sqlite3_stmt *prepare(struct mxc_db *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	va_list ap;
	va_start(ap, types);
	for (int i = 1; types && *types; types++, i++) {
		switch (*types) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (s)
				sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i);
			break;
		}
		case 'i':
			sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		default:
			sqlite3_bind_null(st, i);
		}
	}
	va_end(ap);
	return st;
}

/* Runs a statement that returns no rows. */
static int run(sqlite3_stmt *st)
{
	if (!st)
		return -EIO;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	return (rc & 0xff) == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
}

/* Converts the current row into a JSON object keyed by column name. */
static struct json_object *row_json(sqlite3_stmt *st)
{
	struct json_object *o = json_object_new_object();
	int n = sqlite3_column_count(st);
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			json_object_object_add(o, name,
					       json_object_new_int64(sqlite3_column_int64(st, i)));
			break;
		case SQLITE_NULL:
			json_object_object_add(o, name, NULL);
			break;
		default: {
			/* Columns that hold JSON are handed on as JSON. */
			const char *text = (const char *)sqlite3_column_text(st, i);
			struct json_object *v = NULL;
			if ((strcmp(name, "activity") != 0 && strcmp(name, "command") != 0) ||
			    mxc_json_parse(text, strlen(text), &v, NULL) < 0)
				v = json_object_new_string(text);
			json_object_object_add(o, name, v);
		}
		}
	}
	return o;
}

static struct json_object *all_json(sqlite3_stmt *st)
{
	struct json_object *a = json_object_new_array();
	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_object_array_add(a, row_json(st));
	sqlite3_finalize(st);
	return a;
}

static int one_json(sqlite3_stmt *st, struct json_object **ret)
{
	if (!st)
		return -EIO;
	int r = -ENOENT;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ret = row_json(st);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int64_t one_int(sqlite3_stmt *st, int64_t fallback)
{
	int64_t v = fallback;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int mxc_db_agent_insert(struct mxc_db *db, const struct mxc_agent_row *a, struct mxc_error *err)
{
	int r = run(prepare(db,
			    "INSERT INTO agents (name, uid, gid, home, backend, policy, created_at, "
			    "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			    "siisssii", a->name, (int64_t)a->uid, (int64_t)a->gid, a->home,
			    a->backend, a->policy, a->created_at, (int64_t)a->created_by));
	if (r == -EEXIST)
		return mxc_error_set(err, r, "agent '%s' or its uid %u is already recorded",
				     a->name, a->uid);
	if (r < 0)
		return mxc_error_set(err, r, "failed to record agent '%s': %s", a->name,
				     sqlite3_errmsg(db->sql));
	return 0;
}

int mxc_db_agent_delete(struct mxc_db *db, const char *name)
{
	return run(prepare(db, "DELETE FROM agents WHERE name = ?", "s", name));
}

#define AGENT_COLUMNS "name, uid, gid, home, backend, policy, created_at, created_by"

int mxc_db_agent_get(struct mxc_db *db, const char *name, struct json_object **ret)
{
	return one_json(prepare(db, "SELECT " AGENT_COLUMNS " FROM agents WHERE name = ?", "s",
				name),
			ret);
}

struct json_object *mxc_db_agent_list(struct mxc_db *db)
{
	return all_json(prepare(db, "SELECT " AGENT_COLUMNS " FROM agents ORDER BY name", NULL));
}

bool mxc_db_agent_id_taken(struct mxc_db *db, uint32_t id)
{
	return one_int(prepare(db, "SELECT COUNT(*) FROM agents WHERE uid = ? OR gid = ?", "ii",
			       (int64_t)id, (int64_t)id),
		       1) > 0;
}

bool mxc_db_uid_is_agent(struct mxc_db *db, uint32_t uid)
{
	return one_int(prepare(db, "SELECT COUNT(*) FROM agents WHERE uid = ?", "i", (int64_t)uid),
		       1) > 0;
}

int mxc_db_session_insert(struct mxc_db *db, const struct mxc_session_row *s,
			  struct mxc_error *err)
{
	int r = run(prepare(db,
			    "INSERT INTO sessions (id, agent, uid, owner_uid, owner_name, state, "
			    "display, width, height, depth, policy_digest, policy, command, "
			    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			    "ssiisssiiisssi", s->id, s->agent, (int64_t)s->uid,
			    (int64_t)s->owner_uid, s->owner_name, s->state, s->display,
			    (int64_t)s->width, (int64_t)s->height, (int64_t)s->depth,
			    s->policy_digest, s->policy, s->command, s->created_at));
	if (r < 0)
		return mxc_error_set(err, r, "failed to record session '%s': %s", s->id,
				     sqlite3_errmsg(db->sql));
	return 0;
}

int mxc_db_session_set_leader(struct mxc_db *db, const char *id, int64_t pid, uint64_t starttime)
{
	return run(prepare(db, "UPDATE sessions SET leader_pid = ?, leader_start = ? WHERE id = ?",
			   "iis", pid, (int64_t)starttime, id));
}

int mxc_db_session_set_state(struct mxc_db *db, const char *id, const char *state)
{
	return run(prepare(db, "UPDATE sessions SET state = ? WHERE id = ?", "ss", state, id));
}

int mxc_db_session_set_running(struct mxc_db *db, const char *id, int64_t started_at)
{
	return run(prepare(db, "UPDATE sessions SET state = 'running', started_at = ? WHERE id = ?",
			   "is", started_at, id));
}

int mxc_db_session_set_ended(struct mxc_db *db, const char *id, const char *state,
			     const char *reason)
{
	return run(prepare(db,
			   "UPDATE sessions SET state = ?, ended_at = ?, end_reason = ?, "
			   "leader_pid = NULL, leader_start = NULL WHERE id = ?",
			   "siss", state, mxc_db_now_ms(), reason, id));
}

bool mxc_db_session_exists(struct mxc_db *db, const char *id)
{
	return one_int(prepare(db, "SELECT COUNT(*) FROM sessions WHERE id = ?", "s", id), 1) > 0;
}

#define SESSION_COLUMNS                                                                   \
	"id, agent, uid, owner_uid, owner_name, state, display, width, height, depth, "    \
	"policy_digest, command, leader_pid, leader_start, created_at, started_at, ended_at, " \
	"end_reason, activity"

int mxc_db_session_get(struct mxc_db *db, const char *id, struct json_object **ret)
{
	return one_json(prepare(db, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?", "s",
				id),
			ret);
}

#define LIVE_STATES "('starting', 'running', 'stopping')"

struct json_object *mxc_db_session_list(struct mxc_db *db, int64_t owner_uid, bool live_only,
					const char *agent)
{
	return all_json(prepare(db,
				"SELECT " SESSION_COLUMNS " FROM sessions"
				" WHERE (?1 < 0 OR owner_uid = ?1)"
				"   AND (?2 = 0 OR state IN " LIVE_STATES ")"
				"   AND (?3 IS NULL OR agent = ?3)"
				" ORDER BY created_at DESC, id",
				"iis", owner_uid, (int64_t)live_only, agent));
}

int mxc_db_agent_live_sessions(struct mxc_db *db, const char *agent)
{
	return (int)one_int(prepare(db,
				    "SELECT COUNT(*) FROM sessions WHERE agent = ? AND state IN " LIVE_STATES,
				    "s", agent),
			    1);
}

char *mxc_db_session_policy(struct mxc_db *db, const char *id)
{
	sqlite3_stmt *st = prepare(db, "SELECT policy FROM sessions WHERE id = ?", "s", id);
	char *text = NULL;
	if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		text = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return text;
}

int mxc_db_session_set_activity(struct mxc_db *db, const char *id, const char *activity)
{
	return run(prepare(db, "UPDATE sessions SET activity = ? WHERE id = ?", "ss", activity, id));
}
