/*
 * Agent homes under the home base: created, reused after "remove --keep-home" (the whole
 * tree re-owned to the new uid), removed. Everything below the home base is reached
 * through descriptors without following symbolic links or crossing mounts, because the
 * agent owns what is inside its home.
 */
#ifndef MXC_IDENTITY_HOME_H
#define MXC_IDENTITY_HOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* A home nested deeper than this cannot be reused (re-owning it is refused). */
#define MXC_HOME_REOWN_MAX_DEPTH 128

/*
 * Opens the home base directory, creating it (and missing parents) 0755 root:root when
 * create is set. Refuses one that is not a directory owned by root and writable only by
 * root: whoever can write it could swap an agent's home for something else.
 */
int mxc_identity_home_base_open(const char *home_base, bool create, int *ret_fd,
				struct mxc_error *err);

/*
 * The final component of home if home is home_base "/" NAME with NAME a single component
 * other than "." and ".."; NULL otherwise. Only such homes are ever created or removed.
 */
const char *mxc_identity_home_child(const char *home_base, const char *home);

/*
 * What is at name under basefd: 0 nothing, 1 a directory on the base's file system that
 * can be reused; -EEXIST (a file, a symbolic link, ...) or -EXDEV (a mount) otherwise.
 * home is the full path, for messages.
 */
int mxc_identity_home_probe(int basefd, const char *name, const char *home, struct mxc_error *err);

/*
 * Creates name under basefd mode 0700 owned by uid:gid, or reuses the directory found
 * there: its whole tree is re-owned to uid:gid (see mxc_identity_home_reown) and its mode
 * set to 0700. *ret_created tells the caller whether a rollback should remove it; it is
 * set even on failure.
 */
int mxc_identity_home_make(int basefd, const char *name, const char *home, uint32_t uid,
			   uint32_t gid, bool *ret_created, struct mxc_error *err);

/*
 * The uids and gids in [min, max] that own an entry of the home base: homes kept by
 * "remove --keep-home" still belong to the old agent's id, and a new agent given that id
 * would read them. *ret (free() it) may hold duplicates.
 */
int mxc_identity_home_owners(int basefd, uint32_t min, uint32_t max, uint32_t **ret, size_t *ret_n);

/*
 * Refuses (-EXDEV) to go on when anything is mounted at or below the directory name under
 * basefd, bind mounts of the same file system included (which st_dev cannot tell apart),
 * so that removing a home never deletes what a mount shows. 0 when nothing is (or when
 * there is no directory there).
 */
int mxc_identity_home_check_mounts(int basefd, const char *name, const char *home,
				   struct mxc_error *err);

/*
 * Re-owns the directory dirfd and everything below it to uid:gid. Symbolic links are
 * re-owned themselves, never followed; mounts below it are left alone; a non-directory
 * with more than one link that the previous owner of the top directory did not own is left
 * alone (it may be a hard link to someone else's file). -ELOOP beyond
 * MXC_HOME_REOWN_MAX_DEPTH levels. dirfd stays open.
 */
int mxc_identity_home_reown(int dirfd, uint32_t uid, uint32_t gid);

#endif
