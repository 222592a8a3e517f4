/*
 * A policy's filesystem paths as mounts in a session's root.
 *
 * Resolution happens in the session leader, on the host's mount table (its namespace is still
 * a copy of the daemon's), before the root is built:
 *   - read-write and read-only paths are opened as the user who asked for the session, who
 *     must be able to access them (read, and write for read-write), without following
 *     symbolic links (a path with one is refused: it must name what it means);
 *   - denied paths are opened as root, following symbolic links: the object is denied, so
 *     the target of a link is hidden, and one that does not exist is skipped;
 *   - paths that reach the same object (a bind mount, a hard link, a link's target) get the
 *     most restrictive intent of them all: deny > read-only > read-write;
 *   - every other place the host's mount table shows a read-only or denied object at (bind
 *     aliases) becomes an alias rule, applied if that place is visible in the session;
 *   - "/", the session's own /proc, /sys and /dev, and paths equal to, inside or above a
 *     protected directory (the daemon's state and runtime directories) are refused, except
 *     inside the agent's own home.
 * Rules are applied shortest path first, so the most specific path wins.
 */
#ifndef MXC_SESSIOND_FSRULES_H
#define MXC_SESSIOND_FSRULES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "policy.h"

enum mxc_fs_intent {
	MXC_FS_RW,
	MXC_FS_RO,
	MXC_FS_DENY, /* the most restrictive last: a larger value wins */
};

struct mxc_fs_rule {
	char *path; /* absolute, without symbolic links */
	enum mxc_fs_intent intent;
	bool dir;
	bool alias; /* another place the host shows a listed object at */
	dev_t dev;
	ino_t ino;
};

struct mxc_fs_rules {
	struct mxc_fs_rule *v;
	size_t n;
};

/* Who asked for the session: the paths it grants must be theirs to grant. */
struct mxc_fs_requester {
	uint32_t uid, gid;
	const uint32_t *groups;
	size_t n_groups;
};

/* Must run as root with the file system capabilities; leaves the fs ids at root. */
int mxc_fs_rules_resolve(const struct mxc_policy_fs *fs, const struct mxc_fs_requester *who,
			 const char *const *protected, const char *own_home,
			 struct mxc_fs_rules *ret, struct mxc_error *err);
/*
 * Mounts the rules beneath rootfd (the session's root being built, host paths still
 * reachable): binds for read-write and read-only paths, an empty read-only directory or file
 * over denied ones. Each source must still be the object resolved.
 */
int mxc_fs_rules_apply(int rootfd, const struct mxc_fs_rules *rules, struct mxc_error *err);
void mxc_fs_rules_free(struct mxc_fs_rules *rules);

const char *mxc_fs_intent_name(enum mxc_fs_intent intent);

#endif
