/*
 * Schema migrations (sessiond/db.h): each step runs in its own transaction with the version
 * bump, data survives upgrades, a failed step changes nothing, and a database newer than
 * the code is refused rather than misread.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fs.h"

static char dir[64], path[128];
static sqlite3 *sql;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mxc-test-db-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/test.db", dir);
	cr_assert_eq(sqlite3_open(path, &sql), SQLITE_OK);
}

static void teardown(void)
{
	sqlite3_close(sql);
	sql = NULL;
	mxc_rm_rf(dir);
}

TestSuite(migrate, .init = setup, .fini = teardown, .timeout = 30);

static const char *const v2[] = {
    "CREATE TABLE t (a INTEGER NOT NULL);",
    "ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'new';"
    "CREATE TABLE u (x INTEGER);",
};

static int64_t version(void)
{
	int64_t v = -1;
	cr_assert_eq(mxc_db_version(sql, &v), 0);
	return v;
}

static int64_t count(const char *query)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(sql, query, -1, &st, NULL), SQLITE_OK, "%s: %s", query,
		     sqlite3_errmsg(sql));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static bool table_exists(const char *name)
{
	char q[128];
	snprintf(q, sizeof(q),
		 "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='%s'", name);
	return count(q) > 0;
}

static void exec(const char *text)
{
	cr_assert_eq(sqlite3_exec(sql, text, NULL, NULL, NULL), SQLITE_OK, "%s: %s", text,
		     sqlite3_errmsg(sql));
}

Test(migrate, a_fresh_database_ends_at_the_last_version)
{
	struct mxc_error err = {0};
	cr_assert_eq(version(), 0);
	cr_assert_eq(mxc_db_migrate(sql, v2, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(version(), 2);
	cr_assert(table_exists("t") && table_exists("u"));
	/* Running again is a no-op. */
	cr_assert_eq(mxc_db_migrate(sql, v2, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(version(), 2);
}

Test(migrate, an_older_database_is_upgraded_keeping_its_data)
{
	struct mxc_error err = {0};
	cr_assert_eq(mxc_db_migrate(sql, v2, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(version(), 1);
	cr_assert_not(table_exists("u"));
	exec("INSERT INTO t (a) VALUES (1), (2), (3);");
	cr_assert_eq(mxc_db_migrate(sql, v2, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(version(), 2);
	cr_assert_eq(count("SELECT COUNT(*) FROM t"), 3);
	cr_assert_eq(count("SELECT SUM(a) FROM t WHERE b = 'new'"), 6);
	cr_assert(table_exists("u"));
}

Test(migrate, a_database_newer_than_the_code_is_refused)
{
	struct mxc_error err = {0};
	cr_assert_eq(mxc_db_migrate(sql, v2, 2, &err), 0, "%s", err.msg);
	exec("INSERT INTO t (a) VALUES (7);");
	int r = mxc_db_migrate(sql, v2, 1, &err);
	cr_assert_eq(r, -EPROTONOSUPPORT);
	cr_assert_not_null(strstr(err.msg, "version 2 is newer"), "%s", err.msg);
	cr_assert_eq(version(), 2, "a refused database must not be touched");
	cr_assert_eq(count("SELECT COUNT(*) FROM t"), 1);
}

Test(migrate, a_failing_migration_rolls_back_and_keeps_the_version)
{
	static const char *const broken[] = {
	    "CREATE TABLE t (a INTEGER);",
	    /* The first statement works, the second fails: neither may stay. */
	    "CREATE TABLE half (x INTEGER); INSERT INTO t (a) VALUES (1);"
	    "INSERT INTO no_such_table VALUES (1);",
	};
	struct mxc_error err = {0};
	int r = mxc_db_migrate(sql, broken, 2, &err);
	cr_assert_lt(r, 0);
	cr_assert_not_null(strstr(err.msg, "migration to schema version 2 failed"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "no_such_table"), "%s", err.msg);
	cr_assert_eq(version(), 1, "the good first step stays, the failed second does not");
	cr_assert_not(table_exists("half"), "a failed migration left a table behind");
	cr_assert_eq(count("SELECT COUNT(*) FROM t"), 0);
	/* And the connection is usable: no transaction left open. */
	cr_assert(sqlite3_get_autocommit(sql), "a transaction was left open");
	cr_assert_eq(mxc_db_migrate(sql, v2, 1, &err), 0, "%s", err.msg);
}

Test(migrate, a_database_with_a_negative_version_is_refused)
{
	struct mxc_error err = {0};
	exec("PRAGMA user_version = -1;");
	cr_assert_lt(mxc_db_migrate(sql, v2, 2, &err), 0);
	cr_assert_eq(version(), -1);
}

/* ---- the daemon's own schema ---- */

Test(migrate, the_daemons_schema_opens_fresh_and_again)
{
	struct mxc_db *db = NULL;
	struct mxc_error err = {0};
	sqlite3_close(sql);
	sql = NULL;
	char real[160];
	snprintf(real, sizeof(real), "%s/state.db", dir);
	cr_assert_eq(mxc_db_open(real, &db, &err), 0, "%s", err.msg);
	int64_t v = 0;
	cr_assert_eq(mxc_db_version(db->sql, &v), 0);
	cr_assert_eq(v, (int64_t)mxc_db_n_migrations);
	struct mxc_agent_row a = {.name = "coder",
				  .uid = 70000,
				  .gid = 70000,
				  .home = "/var/lib/mxc/home/coder",
				  .backend = "local"};
	cr_assert_eq(mxc_db_agent_insert(db, &a, &err), 0, "%s", err.msg);
	mxc_db_close(db);
	db = NULL;
	cr_assert_eq(mxc_db_open(real, &db, &err), 0, "reopening: %s", err.msg);
	cr_assert(mxc_db_uid_is_agent(db, 70000), "data lost on reopening");
	mxc_db_close(db);
	cr_assert_eq(sqlite3_open(path, &sql), SQLITE_OK);
}

Test(migrate, the_daemon_refuses_a_state_database_from_a_newer_version)
{
	struct mxc_db *db = NULL;
	struct mxc_error err = {0};
	char pragma[64];
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu;", mxc_db_n_migrations + 1);
	exec(pragma);
	sqlite3_close(sql);
	sql = NULL;
	int r = mxc_db_open(path, &db, &err);
	cr_assert_lt(r, 0);
	cr_assert_null(db);
	cr_assert_not_null(strstr(err.msg, "newer than this mxc-sessiond"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, path), "the message should name the file: %s", err.msg);
	cr_assert_eq(sqlite3_open(path, &sql), SQLITE_OK);
	cr_assert_eq(version(), (int64_t)mxc_db_n_migrations + 1);
}

Test(migrate, agent_uids_are_unique_in_the_state_database)
{
	struct mxc_db *db = NULL;
	struct mxc_error err = {0};
	char real[160];
	snprintf(real, sizeof(real), "%s/state.db", dir);
	cr_assert_eq(mxc_db_open(real, &db, &err), 0, "%s", err.msg);
	struct mxc_agent_row a = {
	    .name = "coder", .uid = 70000, .gid = 70000, .home = "/h/coder", .backend = "local"};
	cr_assert_eq(mxc_db_agent_insert(db, &a, &err), 0, "%s", err.msg);
	a.name = "other";
	cr_assert_eq(mxc_db_agent_insert(db, &a, &err), -EEXIST, "two agents got uid 70000");
	a.name = "coder";
	a.uid = 70001;
	cr_assert_eq(mxc_db_agent_insert(db, &a, &err), -EEXIST, "two agents named coder");
	mxc_db_close(db);
}
