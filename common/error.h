/* A negative errno with a message for the user, filled by library code. */
#ifndef MXC_COMMON_ERROR_H
#define MXC_COMMON_ERROR_H

#include "util.h"

struct mxc_error {
	int code;      /* negative errno, 0 when unset */
	char msg[512]; /* "failed to start Xvfb for session 'ab12': No such file or directory" */
};

/*
 * Records code (a negative errno) and a formatted message in err (which may be NULL) and
 * returns code, so that callers can write `return mxc_error_set(err, -ENOENT, "...")`.
 */
int mxc_error_set(struct mxc_error *err, int code, const char *fmt, ...) MXC_PRINTF(3, 4);
/* Like mxc_error_set, appending ": strerror(code)". */
int mxc_error_errno(struct mxc_error *err, int code, const char *fmt, ...) MXC_PRINTF(3, 4);
/* Prepends "prefix: " to a message that is already set. Returns err->code. */
int mxc_error_prefix(struct mxc_error *err, const char *fmt, ...) MXC_PRINTF(2, 3);
void mxc_error_clear(struct mxc_error *err);

#endif
