/*
 * The state database (sqlite3, WAL): the truth for agents, sessions and the audit log.
 * The schema carries a version (PRAGMA user_version) and is brought up to date by
 * migrations when opened; a database newer than this daemon is refused.
 */
#ifndef MXC_SESSIOND_DB_H
#define MXC_SESSIOND_DB_H

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdint.h>

#include "error.h"

struct mxc_db {
	sqlite3 *sql;
};

/* The migrations of this daemon, oldest first; the schema version is their count. */
extern const char *const mxc_db_migrations[];
extern const size_t mxc_db_n_migrations;

int mxc_db_open(const char *path, struct mxc_db **ret, struct mxc_error *err);
void mxc_db_close(struct mxc_db *db);
/* Applies migrations[version..n) each in its own transaction. Exposed for tests. */
int mxc_db_migrate(sqlite3 *sql, const char *const *migrations, size_t n, struct mxc_error *err);
int mxc_db_version(sqlite3 *sql, int64_t *ret);

int mxc_db_begin(struct mxc_db *db);
int mxc_db_commit(struct mxc_db *db);
void mxc_db_rollback(struct mxc_db *db);

/* Milliseconds since the epoch. */
int64_t mxc_db_now_ms(void);

struct mxc_agent_row {
	const char *name;
	uint32_t uid, gid;
	const char *home;
	const char *backend;
	const char *policy; /* path of the agent's default policy, or NULL */
	int64_t created_at;
	uint32_t created_by;
};

int mxc_db_agent_insert(struct mxc_db *db, const struct mxc_agent_row *a, struct mxc_error *err);
int mxc_db_agent_delete(struct mxc_db *db, const char *name);
/* Agent as a JSON object, or -ENOENT. */
int mxc_db_agent_get(struct mxc_db *db, const char *name, struct json_object **ret);
struct json_object *mxc_db_agent_list(struct mxc_db *db);
/* True if an agent uses id as uid or gid. */
bool mxc_db_agent_id_taken(struct mxc_db *db, uint32_t id);
/* True if uid is an agent's uid. */
bool mxc_db_uid_is_agent(struct mxc_db *db, uint32_t uid);

struct mxc_session_row {
	const char *id;
	const char *agent;
	uint32_t uid;
	uint32_t owner_uid;
	const char *owner_name;
	const char *state;
	const char *display;
	uint32_t width, height, depth;
	const char *policy_digest;
	const char *policy;  /* normalized JSON */
	const char *command; /* JSON array, or NULL */
	int64_t created_at;
};

int mxc_db_session_insert(struct mxc_db *db, const struct mxc_session_row *s,
			  struct mxc_error *err);
int mxc_db_session_set_leader(struct mxc_db *db, const char *id, int64_t pid,
			      uint64_t starttime);
int mxc_db_session_set_state(struct mxc_db *db, const char *id, const char *state);
int mxc_db_session_set_running(struct mxc_db *db, const char *id, int64_t started_at);
int mxc_db_session_set_ended(struct mxc_db *db, const char *id, const char *state,
			     const char *reason);
bool mxc_db_session_exists(struct mxc_db *db, const char *id);
/* Session as a JSON object, or -ENOENT. */
int mxc_db_session_get(struct mxc_db *db, const char *id, struct json_object **ret);
/*
 * Sessions as a JSON array, newest first; owner_uid < 0 means everyone's; live_only keeps
 * sessions that are starting, running or stopping.
 */
struct json_object *mxc_db_session_list(struct mxc_db *db, int64_t owner_uid, bool live_only,
					const char *agent);
/* The session's activity counters (a JSON object), written as they change. */
int mxc_db_session_set_activity(struct mxc_db *db, const char *id, const char *activity);
/* The normalized policy text a session was started with (caller frees), or NULL. */
char *mxc_db_session_policy(struct mxc_db *db, const char *id);
/* Number of live sessions of an agent. */
int mxc_db_agent_live_sessions(struct mxc_db *db, const char *agent);

#endif
