/*
 * NSS lookups that tell "absent" from "the lookup failed": an unreachable directory must
 * never make an id look free. Each returns 1 (found), 0 (absent) or a negative errno.
 */
#ifndef MXC_IDENTITY_NSS_H
#define MXC_IDENTITY_NSS_H

#include <stdbool.h>
#include <stdint.h>

struct mxc_identity_nss_user {
	uint32_t uid, gid;
	char *home; /* malloc()ed */
};

int mxc_identity_nss_user(const char *name, struct mxc_identity_nss_user *ret);
int mxc_identity_nss_uid_exists(uint32_t uid);
int mxc_identity_nss_gid_exists(uint32_t gid);
int mxc_identity_nss_group(const char *name, uint32_t *ret_gid);
int mxc_identity_nss_group_has_member(const char *group, const char *user);
/* 1 if name's password is locked ("!..." or "*..."), 0 if it is not, -ENOENT without entry. */
int mxc_identity_nss_password_locked(const char *name);

#endif
