/*
 * Mount building blocks for assembling a session's root: paths beneath a root descriptor
 * are resolved without following symbolic links, and mounts are made with the new mount
 * API (open_tree, fsopen, mount_setattr, move_mount).
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mount.h"

/* Opens rel beneath rootfd, refusing symbolic links and "..": paths stay inside the root. */
int mxc_root_open(int rootfd, const char *rel, uint64_t flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* Creates every missing directory of rel beneath rootfd; existing ones are kept. */
int mxc_root_mkdirs(int rootfd, const char *rel, mode_t mode)
{
	char buf[4096];
	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", rel);
	int dirfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (dirfd < 0)
		return -errno;
	char *save = NULL;
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0) {
			close(dirfd);
			return -EINVAL;
		}
		if (mkdirat(dirfd, c, mode) < 0 && errno != EEXIST) {
			int r = -errno;
			close(dirfd);
			return r;
		}
		int next = mxc_root_open(dirfd, c, O_PATH | O_DIRECTORY);
		close(dirfd);
		if (next < 0)
			return next;
		dirfd = next;
	}
	close(dirfd);
	return 0;
}

const char *mxc_rel_path(const char *abs)
{
	while (*abs == '/')
		abs++;
	return *abs ? abs : ".";
}

/* Attaches the detached mount mntfd at rel beneath rootfd. */
int mxc_mount_attach(int mntfd, int rootfd, const char *rel)
{
	int target = mxc_root_open(rootfd, rel, O_PATH);
	if (target < 0)
		return target;
	int r = move_mount(mntfd, "", target, "",
			   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0
			? -errno
			: 0;
	close(target);
	return r;
}

/* Binds host path src at rel beneath rootfd with the given MOUNT_ATTR_* flags. */
int mxc_mount_bind(int rootfd, const char *src, const char *rel, uint64_t attrs, bool recursive,
		   struct mxc_error *err)
{
	int tree = open_tree(AT_FDCWD, src,
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW |
				     (recursive ? AT_RECURSIVE : 0));
	if (tree < 0)
		return mxc_error_errno(err, -errno, "failed to clone mount '%s'", src);
	struct mount_attr attr = { .attr_set = attrs, .propagation = MS_PRIVATE };
	int r = 0;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
			  sizeof(attr)) < 0)
		r = mxc_error_errno(err, -errno, "failed to restrict mount '%s'", src);
	else if ((r = mxc_mount_attach(tree, rootfd, rel)) < 0)
		mxc_error_errno(err, r, "failed to mount '%s' at '/%s'", src, rel);
	close(tree);
	return r;
}

/* Creates a detached mount of a new filesystem; options are key, value pairs. */
int mxc_mount_new(const char *type, const char *const *options, unsigned attrs,
		    const char *where, struct mxc_error *err)
{
	int fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return mxc_error_errno(err, -errno, "failed to open a %s filesystem", type);
	int r = 0;
	for (size_t i = 0; options && options[i]; i += 2) {
		if (fsconfig(fs, FSCONFIG_SET_STRING, options[i], options[i + 1], 0) < 0) {
			r = mxc_error_errno(err, -errno, "failed to set %s=%s on %s for '%s'",
					    options[i], options[i + 1], type, where);
			goto out;
		}
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		r = mxc_error_errno(err, -errno, "failed to create %s for '%s'", type, where);
		goto out;
	}
	r = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (r < 0)
		r = mxc_error_errno(err, -errno, "failed to mount %s at '%s'", type, where);
out:
	close(fs);
	return r;
}

/* Mounts a new filesystem of type at rel beneath rootfd. */
int mxc_mount_new_at(int rootfd, const char *rel, const char *type, const char *const *options,
		 unsigned attrs, struct mxc_error *err)
{
	int mnt = mxc_mount_new(type, options, attrs, rel, err);
	if (mnt < 0)
		return mnt;
	int r = mxc_mount_attach(mnt, rootfd, rel);
	if (r < 0)
		mxc_error_errno(err, r, "failed to attach %s at '/%s'", type, rel);
	close(mnt);
	return r;
}

int mxc_mount_set_readonly(int rootfd, const char *rel, struct mxc_error *err)
{
	int fd = mxc_root_open(rootfd, rel, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return mxc_error_errno(err, fd, "failed to open '/%s'", rel);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	int r = mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to make '/%s' read-only", rel);
	return 0;
}

