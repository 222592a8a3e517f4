#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fs.h"

int mxc_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = saved;
		if (saved == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/*
 * Trees deeper than this are flattened: a too-deep directory is renamed into the top of the
 * tree being removed and removed from there, so a hostile tree cannot exhaust descriptors.
 */
#define RM_MAX_DEPTH 48

static int rm_tree(int topfd, int dirfd, const char *name, dev_t dev, unsigned depth,
		   unsigned long *moved);

/* Whether name under dirfd is the root of a mount (a bind mount keeps st_dev). */
static bool is_mount_root(int dirfd, const char *name)
{
	struct statx stx;
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 0, &stx) < 0)
		return false;
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int rm_entry(int topfd, int dirfd, const char *name, dev_t dev, unsigned depth,
		    unsigned long *moved)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev || is_mount_root(dirfd, name))
		return -EXDEV;
	if (depth >= RM_MAX_DEPTH) {
		for (;;) {
			char flat[64];
			snprintf(flat, sizeof(flat), ".mxc-rm-%lu", (*moved)++);
			if (renameat2(dirfd, name, topfd, flat, RENAME_NOREPLACE) == 0)
				return 0;
			if (errno != EEXIST)
				return -errno;
		}
	}
	return rm_tree(topfd, dirfd, name, dev, depth + 1, moved);
}

static int rm_tree(int topfd, int dirfd, const char *name, dev_t dev, unsigned depth,
		   unsigned long *moved)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	/* The top level scans again while deeper levels move directories up into it. */
	int r = 0;
	unsigned long before;
	do {
		before = *moved;
		rewinddir(d);
		struct dirent *de;
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			int k = rm_entry(depth == 0 ? fd : topfd, fd, de->d_name, dev, depth,
					 moved);
			if (k < 0 && r == 0)
				r = k;
		}
	} while (depth == 0 && *moved != before && r == 0);
	closedir(d);
	if (r < 0)
		return r;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

int mxc_rm_rf_at(int dirfd, const char *name)
{
	struct stat st, parent;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
	if (fstat(dirfd, &parent) < 0)
		return -errno;
	if (parent.st_dev != st.st_dev || is_mount_root(dirfd, name))
		return -EXDEV;
	unsigned long moved = 0;
	return rm_tree(-1, dirfd, name, st.st_dev, 0, &moved);
}

int mxc_rm_rf(const char *path)
{
	char buf[4096];
	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", path);
	char *slash = strrchr(buf, '/');
	const char *name = slash ? slash + 1 : buf;
	if (slash == buf)
		buf[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	int dirfd = open(slash ? buf : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	int r = mxc_rm_rf_at(dirfd, name);
	close(dirfd);
	return r;
}

int mxc_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap - 1) {
			if (cap - 1 > max) {
				free(buf);
				return -EFBIG;
			}
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(buf);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int mxc_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	int r = mxc_read_fd(fd, max, ret, ret_len);
	close(fd);
	return r;
}

int mxc_open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}
