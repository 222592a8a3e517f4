/*
 * A private test environment: the calling process moves into its own mount namespace,
 * /etc is covered by an overlay whose writable layer is a temporary directory, and a
 * scratch directory is made. Account tools (useradd, groupadd, ...) then work for real
 * while the host's /etc is never written, and everything vanishes with the process.
 */
#ifndef MXC_TESTS_TESTENV_H
#define MXC_TESTS_TESTENV_H

#include <stdbool.h>
#include <sys/types.h>

struct mxc_testenv {
	char root[64];    /* scratch directory, e.g. /tmp/mxc-test-AbC123 */
	char scratch[96]; /* root/scratch: free for the test to use */
};

/* Enters the environment; aborts the test (cr_assert) on failure. */
void mxc_testenv_enter(struct mxc_testenv *env);
/* Removes the scratch directory. The mount namespace ends with the process. */
void mxc_testenv_leave(struct mxc_testenv *env);

/* Runs argv (searched in PATH) and returns its exit status, or -1 if it could not run. */
int mxc_testenv_run(const char *const *argv);
/* Like mxc_testenv_run, capturing stdout (NUL-terminated, caller frees). */
int mxc_testenv_run_output(const char *const *argv, char **ret_out);

/* Creates a plain (non-agent) user with its own group, for collision and permission tests. */
void mxc_testenv_add_user(const char *name, uid_t uid);

#endif
