/* File helpers that stay safe in directories a user controls. */
#ifndef MXC_COMMON_FS_H
#define MXC_COMMON_FS_H

#include <sys/types.h>

#include "util.h"

/* Creates path and its missing parents with mode; existing directories are kept. */
int mxc_mkdir_p(const char *path, mode_t mode);
/*
 * Removes name (a file or a whole tree) under dirfd without following symbolic links and
 * without crossing into other mounts (bind mounts included: -EXDEV); -ENOENT if it does
 * not exist.
 */
int mxc_rm_rf_at(int dirfd, const char *name);
int mxc_rm_rf(const char *path);
/* Reads a whole file of at most max bytes; the buffer is NUL-terminated. -EFBIG if larger. */
int mxc_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
int mxc_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/*
 * openat2() confined beneath dirfd: no "..", no absolute paths, no symbolic or magic links.
 */
int mxc_open_beneath(int dirfd, const char *path, int flags, mode_t mode);

#endif
