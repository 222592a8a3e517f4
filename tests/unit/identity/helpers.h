/* Shared pieces of the identity tests: a configuration inside the test environment. */
#ifndef MXC_TESTS_IDENTITY_HELPERS_H
#define MXC_TESTS_IDENTITY_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "identity.h"
#include "testenv.h"

extern struct mxc_testenv env;
extern struct mxc_identity_config cfg;
/* cfg.home_base and two subordinate id files in env.scratch (which do not exist yet). */
extern char home_base[256], subuid_path[256], subgid_path[256];

/* A mount a test made, detached by identity_teardown() even when the test fails. */
extern char test_mount[512];

/* Enters the test environment and fills cfg (range 70000-70009). */
void identity_setup(void);
void identity_teardown(void);

/* `getent DB KEY`; the first line of its output (without '\n') or NULL if it failed. */
char *getent(const char *db, const char *key);
/* Runs argv and asserts that it exits 0. */
void run_ok(const char *const *argv);
/* The whole content of a file, NUL-terminated (asserts it can be read). */
char *slurp(const char *path);
void write_file(const char *path, const char *content);
void assert_file_is(const char *path, const char *content);
bool path_exists(const char *path);

/* The account database, for "nothing changed" checks. */
struct accounts_snapshot {
	char *passwd, *group, *shadow, *gshadow;
};
void snapshot_take(struct accounts_snapshot *s);
void snapshot_assert_same(const struct accounts_snapshot *s);
void snapshot_free(struct accounts_snapshot *s);

#endif
