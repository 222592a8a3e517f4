#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "landlock.h"
#include "util.h"

/*
 * Debian 12's headers are from Linux 6.1 (ABI 2). What later ABIs added is defined here;
 * the values are the kernel's UAPI and never change.
 */
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13) /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0) /* ABI 4 */
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1) /* ABI 6 */
#endif
#ifndef LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF
#define LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF (1U << 0) /* ABI 7 */
#endif
#ifndef LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON
#define LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON (1U << 1) /* ABI 7 */
#endif

/* enum landlock_rule_type grew LANDLOCK_RULE_NET_PORT in ABI 4; an enum cannot be tested. */
#define RULE_PATH_BENEATH 1
#define RULE_NET_PORT	  2

/* struct landlock_ruleset_attr as of ABI 6; the kernel takes a prefix of it (by size). */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

/* struct landlock_net_port_attr (ABI 4). */
struct net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

/* struct landlock_path_beneath_attr: packed, 12 bytes, unchanged since ABI 1. */
struct path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

#define FS_READ_FILE	LANDLOCK_ACCESS_FS_READ_FILE
#define FS_READ_DIR	LANDLOCK_ACCESS_FS_READ_DIR
#define FS_EXECUTE	LANDLOCK_ACCESS_FS_EXECUTE
#define FS_WRITE_FILE	LANDLOCK_ACCESS_FS_WRITE_FILE
#define FS_TRUNCATE	LANDLOCK_ACCESS_FS_TRUNCATE
#define FS_IOCTL_DEV	LANDLOCK_ACCESS_FS_IOCTL_DEV
/* What a writable directory allows besides writing files: never MAKE_CHAR or MAKE_BLOCK. */
#define FS_WRITE_DIR                                                                         \
	(LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                      \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER)
/* The only rights the kernel accepts in a rule on something that is not a directory. */
#define FS_FILE_RIGHTS (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV)

#define LL_RIGHTS (MXC_LL_READ | MXC_LL_WRITE | MXC_LL_EXEC | MXC_LL_DEV | MXC_LL_LIST)
#define LL_FLAGS  (MXC_LL_OPTIONAL | MXC_LL_NO_SYMLINKS)

static long ll_create_ruleset(const struct ruleset_attr *attr, size_t size, uint32_t flags)
{
	return syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static long ll_add_rule(int ruleset, int type, const void *attr)
{
	return syscall(SYS_landlock_add_rule, ruleset, type, attr, 0);
}

static long ll_restrict_self(int ruleset, uint32_t flags)
{
	return syscall(SYS_landlock_restrict_self, ruleset, flags);
}

int mxc_landlock_abi(void)
{
	long abi = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi <= 0)
		return 0; /* ENOSYS: not built; EOPNOTSUPP: disabled at boot */
	return abi > MXC_LANDLOCK_ABI_MAX ? MXC_LANDLOCK_ABI_MAX : (int)abi;
}

/* Every filesystem right the given ABI knows: all of them are handled. */
static uint64_t fs_handled(int abi)
{
	uint64_t all = 0;
	if (abi >= 1)
		all |= (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* EXECUTE .. MAKE_SYM */
	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= FS_TRUNCATE;
	if (abi >= 5)
		all |= FS_IOCTL_DEV;
	return all;
}

/* The kernel rights of a rule, for a directory or for any other file. */
static uint64_t fs_rights(unsigned access, bool dir)
{
	uint64_t r = 0;
	if (access & MXC_LL_READ)
		r |= FS_READ_FILE | FS_READ_DIR;
	if (access & MXC_LL_LIST)
		r |= FS_READ_DIR;
	if (access & MXC_LL_WRITE)
		r |= FS_WRITE_FILE | FS_TRUNCATE | FS_WRITE_DIR;
	if (access & MXC_LL_EXEC)
		r |= FS_EXECUTE;
	if (access & MXC_LL_DEV)
		r |= FS_IOCTL_DEV;
	return dir ? r : r & FS_FILE_RIGHTS;
}

static const char *rule_name(const struct mxc_landlock_path *p, char buf[static 32])
{
	if (p->path)
		return p->path;
	snprintf(buf, 32, "descriptor %d", p->fd);
	return buf;
}

/*
 * Opens the object of every rule: -1 for an optional path that does not exist. Runs before
 * anything is enforced, so that an error leaves the process as it was.
 */
static int open_rules(const struct mxc_landlock_spec *spec, int *fds, struct mxc_error *err)
{
	for (size_t i = 0; i < spec->n_paths; i++) {
		const struct mxc_landlock_path *p = &spec->paths[i];
		char name[32];
		fds[i] = -1;
		if ((p->access & ~(unsigned)(LL_RIGHTS | LL_FLAGS)) != 0)
			return mxc_error_set(err, -EINVAL, "unknown Landlock access bits 0x%x for '%s'",
					     p->access, rule_name(p, name));
		if (!p->path) {
			if (p->fd < 0)
				return mxc_error_set(err, -EBADF, "Landlock rule %zu has no path", i);
			fds[i] = fcntl(p->fd, F_DUPFD_CLOEXEC, 3);
			if (fds[i] < 0)
				return mxc_error_errno(err, -errno, "failed to use %s for Landlock",
						       rule_name(p, name));
			continue;
		}
		if (p->path[0] != '/')
			return mxc_error_set(err, -EINVAL, "Landlock path '%s' is not absolute",
					     p->path);
		if (p->access & MXC_LL_NO_SYMLINKS) {
			struct open_how how = {
				.flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
			};
			fds[i] = (int)syscall(SYS_openat2, AT_FDCWD, p->path, &how, sizeof(how));
		} else {
			fds[i] = open(p->path, O_PATH | O_CLOEXEC);
		}
		if (fds[i] < 0) {
			if (errno == ENOENT && (p->access & MXC_LL_OPTIONAL))
				continue;
			return mxc_error_errno(err, -errno, "failed to open '%s' for Landlock",
					       p->path);
		}
	}
	return 0;
}

/* Adds the rule for one opened path; a rule left without rights at this ABI is skipped. */
static int add_path_rule(int ruleset, const struct mxc_landlock_path *p, int fd, uint64_t handled,
			 struct mxc_error *err)
{
	char name[32];
	struct stat st;
	if (fstat(fd, &st) < 0)
		return mxc_error_errno(err, -errno, "failed to inspect '%s' for Landlock",
				       rule_name(p, name));
	struct path_beneath_attr attr = {
		.allowed_access = fs_rights(p->access, S_ISDIR(st.st_mode)) & handled,
		.parent_fd = fd,
	};
	if (attr.allowed_access == 0)
		return 0; /* e.g. MXC_LL_DEV alone below ABI 5: the kernel refuses empty rules */
	if (ll_add_rule(ruleset, RULE_PATH_BENEATH, &attr) < 0)
		return mxc_error_errno(err, -errno, "failed to add the Landlock rule for '%s'",
				       rule_name(p, name));
	return 0;
}

static int add_port_rules(int ruleset, const uint16_t *ports, size_t n, uint64_t access,
			  struct mxc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct net_port_attr attr = { .allowed_access = access, .port = ports[i] };
		if (ll_add_rule(ruleset, RULE_NET_PORT, &attr) < 0)
			return mxc_error_errno(err, -errno, "failed to add the Landlock rule for TCP port %u",
					       ports[i]);
	}
	return 0;
}

int mxc_landlock_missing(const struct mxc_landlock_spec *spec, int abi, char ***ret)
{
	const char *m[8];
	size_t n = 0;
	if (abi < 1)
		m[n++] = "filesystem";
	if (abi < 3)
		m[n++] = "truncate";
	if (abi < 4 && (spec->restrict_tcp_connect || spec->restrict_tcp_bind))
		m[n++] = "tcp ports";
	if (abi < 5)
		m[n++] = "device ioctls";
	if (abi < 6 && spec->scope_abstract_unix)
		m[n++] = "abstract unix scope";
	if (abi < 6 && spec->scope_signals)
		m[n++] = "signal scope";
	if (abi < 7 && spec->log_denials)
		m[n++] = "denial logging";
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(v[i] = strdup(m[i]))) {
			mxc_strv_free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

int mxc_landlock_apply_abi(const struct mxc_landlock_spec *spec, int abi, char ***ret_missing,
			   struct mxc_error *err)
{
	int ruleset = -1, r;
	char **missing = NULL;

	int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (nnp != 1)
		return mxc_error_set(err, -EPERM,
				     "refusing to apply Landlock: no_new_privs is not set");
	int *fds = calloc(spec->n_paths ? spec->n_paths : 1, sizeof(*fds));
	if (!fds)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < spec->n_paths; i++)
		fds[i] = -1;
	if ((r = open_rules(spec, fds, err)) < 0)
		goto out;

	int kernel = mxc_landlock_abi();
	if (abi > kernel)
		abi = kernel;
	if (abi < 0)
		abi = 0;
	if (ret_missing && (r = mxc_landlock_missing(spec, abi, &missing)) < 0) {
		mxc_error_set(err, r, "out of memory");
		goto out;
	}
	if (abi == 0) {
		r = 0; /* nothing to enforce with; the caller learns it from the list */
		goto done;
	}

	struct ruleset_attr attr = { .handled_access_fs = fs_handled(abi) };
	size_t size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		size = offsetof(struct ruleset_attr, scoped);
		attr.handled_access_net =
			(spec->restrict_tcp_bind ? LANDLOCK_ACCESS_NET_BIND_TCP : 0) |
			(spec->restrict_tcp_connect ? LANDLOCK_ACCESS_NET_CONNECT_TCP : 0);
	}
	if (abi >= 6) {
		size = sizeof(attr);
		attr.scoped = (spec->scope_abstract_unix ? LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET : 0) |
			      (spec->scope_signals ? LANDLOCK_SCOPE_SIGNAL : 0);
	}
	ruleset = (int)ll_create_ruleset(&attr, size, 0);
	if (ruleset < 0) {
		r = mxc_error_errno(err, -errno, "failed to create a Landlock ruleset (ABI %d)", abi);
		goto out;
	}

	for (size_t i = 0; i < spec->n_paths; i++)
		if (fds[i] >= 0 &&
		    (r = add_path_rule(ruleset, &spec->paths[i], fds[i], attr.handled_access_fs,
				       err)) < 0)
			goto out;
	if (((attr.handled_access_net & LANDLOCK_ACCESS_NET_CONNECT_TCP) &&
	     (r = add_port_rules(ruleset, spec->connect_ports, spec->n_connect,
				 LANDLOCK_ACCESS_NET_CONNECT_TCP, err)) < 0) ||
	    ((attr.handled_access_net & LANDLOCK_ACCESS_NET_BIND_TCP) &&
	     (r = add_port_rules(ruleset, spec->bind_ports, spec->n_bind,
				 LANDLOCK_ACCESS_NET_BIND_TCP, err)) < 0))
		goto out;

	uint32_t flags = 0;
	if (abi >= 7)
		flags = spec->log_denials ? LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON
					  : LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF;
	if (ll_restrict_self(ruleset, flags) < 0) {
		r = mxc_error_errno(err, -errno, "failed to enforce the Landlock ruleset");
		goto out;
	}
	r = 0;
done:
	if (ret_missing) {
		*ret_missing = missing;
		missing = NULL;
	}
out:
	mxc_strv_free(missing);
	mxc_close(ruleset);
	for (size_t i = 0; i < spec->n_paths; i++)
		mxc_close(fds[i]);
	free(fds);
	return r;
}

int mxc_landlock_apply(const struct mxc_landlock_spec *spec, char ***ret_missing,
		       struct mxc_error *err)
{
	return mxc_landlock_apply_abi(spec, MXC_LANDLOCK_ABI_MAX, ret_missing, err);
}
