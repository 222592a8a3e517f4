/*
 * Mount building blocks for a session's root (sandbox.c, fsrules.c). "rel" paths are
 * relative to a root directory descriptor and resolved beneath it without symbolic links
 * or "..", so nothing made here can land outside the root.
 */
#ifndef MXC_SESSIOND_MOUNT_H
#define MXC_SESSIOND_MOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* openat2 beneath rootfd (mounts may be crossed), refusing symbolic links and "..": -errno on failure. */
int mxc_root_open(int rootfd, const char *rel, uint64_t flags);
/* Creates every missing directory of rel beneath rootfd; existing ones are kept. */
int mxc_root_mkdirs(int rootfd, const char *rel, mode_t mode);
/* "/a/b" as "a/b"; "/" as ".". */
const char *mxc_rel_path(const char *abs);
/* Attaches the detached mount mntfd at rel beneath rootfd. */
int mxc_mount_attach(int mntfd, int rootfd, const char *rel);
/* Binds host path src at rel beneath rootfd with the given MOUNT_ATTR_* flags. */
int mxc_mount_bind(int rootfd, const char *src, const char *rel, uint64_t attrs, bool recursive,
		   struct mxc_error *err);
/* A detached mount of a new filesystem; options are key, value pairs; where names it in errors. */
int mxc_mount_new(const char *type, const char *const *options, unsigned attrs, const char *where,
		  struct mxc_error *err);
/* A new filesystem of type mounted at rel beneath rootfd. */
int mxc_mount_new_at(int rootfd, const char *rel, const char *type, const char *const *options,
		     unsigned attrs, struct mxc_error *err);
/* Makes the mount at rel (a directory) read-only. */
int mxc_mount_set_readonly(int rootfd, const char *rel, struct mxc_error *err);

#endif
