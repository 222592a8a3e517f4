#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fs.h"
#include "home.h"

int mxc_identity_home_base_open(const char *home_base, bool create, int *ret_fd,
				struct mxc_error *err)
{
	bool created = false;
	struct stat st;
	if (create && stat(home_base, &st) < 0) {
		if (errno != ENOENT)
			return mxc_error_errno(err, -errno,
					       "failed to inspect agent home base '%s'", home_base);
		int r = mxc_mkdir_p(home_base, 0755);
		if (r < 0)
			return mxc_error_errno(err, r, "failed to create agent home base '%s'",
					       home_base);
		created = true;
	}

	int fd = open(home_base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to open agent home base '%s'",
				       home_base);
	/* Whatever the umask made of it. */
	if (created && (fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0)) {
		int r = -errno;
		close(fd);
		return mxc_error_errno(err, r, "failed to set up agent home base '%s'", home_base);
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return mxc_error_errno(err, r, "failed to inspect agent home base '%s'", home_base);
	}
	if (st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return mxc_error_set(err, -EPERM,
				     "refusing agent home base '%s': it must be owned by root and "
				     "writable only by root",
				     home_base);
	}
	*ret_fd = fd;
	return 0;
}

const char *mxc_identity_home_child(const char *home_base, const char *home)
{
	if (!home_base || !home)
		return NULL;
	size_t bl = strlen(home_base);
	if (strncmp(home, home_base, bl) != 0 || home[bl] != '/')
		return NULL;
	const char *name = home + bl + 1;
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return NULL;
	return name;
}

/* Whether fd (any kind of descriptor) is the root of a mount. */
static int is_mount_root(int fd, bool *ret)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
		return -errno;
	*ret = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

int mxc_identity_home_probe(int basefd, const char *name, const char *home, struct mxc_error *err)
{
	struct stat st, base;
	if (fstatat(basefd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return mxc_error_errno(err, -errno, "failed to inspect '%s'", home);
	}
	if (S_ISLNK(st.st_mode))
		return mxc_error_set(err, -EEXIST,
				     "refusing to use '%s' as a home: it is a symbolic link", home);
	if (!S_ISDIR(st.st_mode))
		return mxc_error_set(err, -EEXIST,
				     "refusing to use '%s' as a home: it exists and is not a "
				     "directory",
				     home);
	if (fstat(basefd, &base) < 0)
		return mxc_error_errno(err, -errno, "failed to inspect the parent of '%s'", home);
	int fd = openat(basefd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to open '%s'", home);
	bool mount_root = false;
	int r = is_mount_root(fd, &mount_root);
	close(fd);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to inspect '%s'", home);
	if (st.st_dev != base.st_dev || mount_root)
		return mxc_error_set(err, -EXDEV,
				     "refusing to reuse '%s' as a home: it is a mount point", home);
	return 1;
}

/* /proc/self/mountinfo escapes ' ', '\t', '\n' and '\\' in paths as \ooo octal. */
static void unescape_mount_path(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

#define MOUNTINFO_MAX (64u << 20)

int mxc_identity_home_check_mounts(int basefd, const char *name, const char *home,
				   struct mxc_error *err)
{
	int fd = openat(basefd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
		return mxc_error_errno(err, -errno, "failed to open '%s'", home);
	}
	/* The kernel's name for it: mountinfo knows no symbolic links in the base path. */
	char proc[64], path[4096];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, path, sizeof(path) - 1);
	int r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to resolve '%s'", home);
	if ((size_t)n >= sizeof(path) - 1)
		return mxc_error_set(err, -ENAMETOOLONG, "failed to resolve '%s'", home);
	path[n] = '\0';
	size_t plen = (size_t)n;

	char *info = NULL;
	r = mxc_read_file("/proc/self/mountinfo", MOUNTINFO_MAX, &info, NULL);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to read the mount table");
	r = 0;
	for (char *line = info, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "id parent major:minor root mount-point options ..." */
		char *save = NULL, *field = strtok_r(line, " ", &save);
		for (int i = 0; field && i < 4; i++)
			field = strtok_r(NULL, " ", &save);
		if (!field)
			continue;
		unescape_mount_path(field);
		if (strncmp(field, path, plen) == 0 &&
		    (field[plen] == '\0' || field[plen] == '/')) {
			r = mxc_error_set(err, -EXDEV,
					  "refusing to remove '%s': '%s' is mounted inside it",
					  home, field);
			break;
		}
	}
	free(info);
	return r;
}

int mxc_identity_home_owners(int basefd, uint32_t min, uint32_t max, uint32_t **ret, size_t *ret_n)
{
	int fd = openat(basefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	uint32_t *ids = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			r = -errno;
			break;
		}
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(basefd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		uint32_t found[2] = {st.st_uid, st.st_gid};
		for (size_t i = 0; i < 2; i++) {
			if (found[i] < min || found[i] > max)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				uint32_t *g = reallocarray(ids, ncap, sizeof(*g));
				if (!g) {
					r = -ENOMEM;
					goto out;
				}
				ids = g;
				cap = ncap;
			}
			ids[n++] = found[i];
		}
	}
out:
	closedir(d);
	if (r < 0) {
		free(ids);
		return r;
	}
	*ret = ids;
	*ret_n = n;
	return 0;
}

struct reown {
	uid_t uid, old_uid;
	gid_t gid;
	dev_t dev;
};

/* Re-owns the entries of the directory d (the directory itself is done by the caller). */
static int reown_dir(const struct reown *o, DIR *d, unsigned depth)
{
	int dfd = dirfd(d);
	int r = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de)
			return errno ? -errno : 0;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* O_PATH: a FIFO or a device is never opened, a symbolic link never followed. */
		int fd = openat(dfd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		struct stat st;
		bool mount_root = false;
		if (fstat(fd, &st) < 0 || (r = is_mount_root(fd, &mount_root)) < 0) {
			r = r < 0 ? r : -errno;
			close(fd);
			return r;
		}
		if (st.st_dev != o->dev || mount_root) {
			close(fd);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (st.st_nlink > 1 && st.st_uid != o->old_uid) {
				close(fd);
				continue;
			}
			r = fchownat(fd, "", o->uid, o->gid, AT_EMPTY_PATH) < 0 ? -errno : 0;
			close(fd);
			if (r < 0)
				return r;
			continue;
		}
		if (depth + 1 >= MXC_HOME_REOWN_MAX_DEPTH) {
			close(fd);
			return -ELOOP;
		}
		/* Reopening "." of the O_PATH descriptor keeps it the same directory. */
		int sub = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		if (sub < 0)
			return -errno;
		if (fchown(sub, o->uid, o->gid) < 0) {
			r = -errno;
			close(sub);
			return r;
		}
		DIR *subd = fdopendir(sub);
		if (!subd) {
			r = -errno;
			close(sub);
			return r;
		}
		r = reown_dir(o, subd, depth + 1);
		closedir(subd);
		if (r < 0)
			return r;
	}
}

int mxc_identity_home_reown(int dirfd, uint32_t uid, uint32_t gid)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	struct reown o = {.uid = uid, .gid = gid, .old_uid = st.st_uid, .dev = st.st_dev};
	if (fchown(dirfd, uid, gid) < 0)
		return -errno;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	int r = reown_dir(&o, d, 0);
	closedir(d);
	return r;
}

int mxc_identity_home_make(int basefd, const char *name, const char *home, uint32_t uid,
			   uint32_t gid, bool *ret_created, struct mxc_error *err)
{
	*ret_created = false;
	if (mkdirat(basefd, name, 0700) == 0)
		*ret_created = true;
	else if (errno != EEXIST)
		return mxc_error_errno(err, -errno, "failed to create home '%s'", home);

	int r = mxc_identity_home_probe(basefd, name, home, err);
	if (r < 0)
		return r;
	if (r == 0)
		return mxc_error_set(err, -ENOENT, "home '%s' vanished while it was set up", home);

	int fd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to open home '%s'", home);
	if (*ret_created)
		r = fchown(fd, uid, gid) < 0 ? -errno : 0;
	else
		r = mxc_identity_home_reown(fd, uid, gid);
	if (r < 0) {
		close(fd);
		if (r == -ELOOP)
			return mxc_error_set(
			    err, r,
			    "failed to re-own home '%s': it is nested more than %d "
			    "levels deep",
			    home, MXC_HOME_REOWN_MAX_DEPTH);
		return mxc_error_errno(err, r, "failed to %s home '%s'",
				       *ret_created ? "set the owner of" : "re-own", home);
	}
	/* Last, whatever the umask made of mkdirat's mode or the old agent of its home. */
	if (fchmod(fd, 0700) < 0) {
		r = -errno;
		close(fd);
		return mxc_error_errno(err, r, "failed to set the mode of home '%s'", home);
	}
	close(fd);
	return 0;
}
