/* Running the shadow tools (useradd, groupadd, ...), which own /etc/passwd and friends. */
#ifndef MXC_IDENTITY_TOOL_H
#define MXC_IDENTITY_TOOL_H

#include "error.h"

/* Bytes of a tool's combined stdout and stderr kept for an error message. */
#define MXC_IDENTITY_TOOL_OUTPUT_MAX 4096

/*
 * Runs argv (argv[0] an absolute path) with execve, never through a shell: a fixed
 * environment (PATH=/usr/sbin:/usr/bin:/sbin:/bin, LC_ALL=C), stdin from /dev/null, default
 * signal dispositions, an empty signal mask, no inherited descriptors, a new session.
 * Output is captured and dropped on success. On failure the error reads
 * "<fmt...>: <the tool's output>" and the return value maps the tool's exit status:
 * "in use" (4, 9 for the *add tools) -> -EEXIST, "does not exist" (6) -> -ENOENT, "in use
 * by a process / primary group" (8 for the *del and usermod tools) -> -EBUSY, else -EIO.
 */
int mxc_identity_tool_run(const char *const *argv, struct mxc_error *err, const char *fmt, ...)
    MXC_PRINTF(3, 4);

#endif
