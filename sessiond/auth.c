#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "auth.h"
#include "util.h"

void mxc_uid_name(uint32_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", uid);
}

uint64_t mxc_pidns_of(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int mxc_peer_from_socket(int fd, uint32_t admin_gid, bool have_admin, struct mxc_peer *ret,
			 struct mxc_error *err)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return mxc_error_errno(err, -errno, "failed to read peer credentials");

	struct mxc_peer p = { 0 };
	p.actor.uid = cred.uid;
	p.actor.gid = cred.gid;
	p.actor.pid = cred.pid;

	/* SO_PEERGROUPS: size it first, then read; bounded by NGROUPS_MAX. */
	len = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) < 0 && errno != ERANGE)
		return mxc_error_errno(err, -errno, "failed to read peer groups");
	if (len > 65536 * sizeof(gid_t))
		return mxc_error_set(err, -E2BIG, "peer has too many groups");
	if (len > 0) {
		p.groups = malloc(len);
		if (!p.groups)
			return mxc_error_set(err, -ENOMEM, "out of memory");
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p.groups, &len) < 0) {
			free(p.groups);
			return mxc_error_errno(err, -errno, "failed to read peer groups");
		}
		p.n_groups = len / sizeof(gid_t);
	}
	mxc_uid_name(cred.uid, p.actor.name, sizeof(p.actor.name));
	p.actor.admin = cred.uid == 0 || (have_admin && mxc_peer_in_group(&p, admin_gid));
	p.pidns = mxc_pidns_of(cred.pid);
	*ret = p;
	return 0;
}

void mxc_peer_finish(struct mxc_peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->n_groups = 0;
}

bool mxc_peer_in_group(const struct mxc_peer *p, uint32_t gid)
{
	if (p->actor.gid == gid)
		return true;
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

char **mxc_peer_group_names(const struct mxc_peer *p)
{
	char **names = calloc(p->n_groups + 2, sizeof(char *));
	if (!names)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i <= p->n_groups; i++) {
		uint32_t gid = i == 0 ? p->actor.gid : p->groups[i - 1];
		struct group gr, *res = NULL;
		char tmp[16384];
		if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &res) != 0 || !res)
			continue;
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = strcmp(names[k], res->gr_name) == 0;
		if (!dup && !(names[n] = strdup(res->gr_name)))
			break;
		if (!dup)
			n++;
	}
	return names;
}
