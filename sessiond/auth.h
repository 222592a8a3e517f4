/*
 * Who is asking: the peer of a connection on the main socket, from SO_PEERCRED and
 * SO_PEERGROUPS, and what that makes them (root, admin, agent).
 */
#ifndef MXC_SESSIOND_AUTH_H
#define MXC_SESSIOND_AUTH_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* What the daemon keeps of a caller for its decisions and audit rows. */
struct mxc_actor {
	uint32_t uid;
	uint32_t gid;
	int32_t pid;
	char name[64];
	bool admin;
};

struct mxc_peer {
	struct mxc_actor actor;
	uint32_t *groups; /* every group of the peer process at connect time */
	size_t n_groups;
	uint64_t pidns; /* inode of the peer's PID namespace, 0 if unknown */
};

/* Reads the peer's credentials; admin is uid 0 or membership of admin_gid (if have_admin). */
int mxc_peer_from_socket(int fd, uint32_t admin_gid, bool have_admin, struct mxc_peer *ret,
			 struct mxc_error *err);
void mxc_peer_finish(struct mxc_peer *p);
bool mxc_peer_in_group(const struct mxc_peer *p, uint32_t gid);
/* The names of the peer's groups (for policy principals); NULL-terminated, caller frees. */
char **mxc_peer_group_names(const struct mxc_peer *p);
/* The user name of uid, or its number as text. */
void mxc_uid_name(uint32_t uid, char *buf, size_t len);
/* Inode of /proc/PID/ns/pid, 0 if it cannot be read. */
uint64_t mxc_pidns_of(pid_t pid);

#endif
