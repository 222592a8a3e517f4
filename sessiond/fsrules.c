#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "fsrules.h"
#include "mount.h"
#include "util.h"

/* Listed paths and their aliases together; more means a mount table gone wild. */
#define MAX_RULES 4096
/* The mount table read to find aliases. */
#define MAX_MOUNTINFO (16u << 20)

_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "group ids are 32 bits");

static const char *const list_keys[] = {
	[MXC_FS_RW] = "readwritePaths",
	[MXC_FS_RO] = "readonlyPaths",
	[MXC_FS_DENY] = "deniedPaths",
};

const char *mxc_fs_intent_name(enum mxc_fs_intent intent)
{
	static const char *const names[] = { "read-write", "read-only", "denied" };
	return names[intent];
}

void mxc_fs_rules_free(struct mxc_fs_rules *rules)
{
	for (size_t i = 0; i < rules->n; i++)
		free(rules->v[i].path);
	free(rules->v);
	*rules = (struct mxc_fs_rules){ 0 };
}

/* Whether path is dir or beneath it. */
static bool within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static size_t depth(const char *path)
{
	size_t d = 0;
	for (; *path; path++)
		d += *path == '/';
	return d;
}

/* Refuses places a policy cannot name; own_home is the agent's, open to its own policy. */
static int check_place(const char *path, enum mxc_fs_intent intent,
		       const char *const *protected, const char *own_home, struct mxc_error *err)
{
	static const char *const own[] = { "/proc", "/sys", "/dev" };
	if (strcmp(path, "/") == 0)
		return mxc_error_set(err, -EINVAL, "the whole file system cannot be listed");
	for (size_t i = 0; i < MXC_ARRAY_SIZE(own); i++)
		if (within(path, own[i]))
			return mxc_error_set(err, -EINVAL,
					     "'%s': the session has its own %s, not the host's",
					     path, own[i]);
	if (intent == MXC_FS_DENY || (own_home && within(path, own_home)))
		return 0;
	for (size_t i = 0; protected && protected[i]; i++)
		if (within(path, protected[i]) || within(protected[i], path))
			return mxc_error_set(err, -EPERM, "'%s' would show mxc's own directory '%s'",
					     path, protected[i]);
	return 0;
}

/* File system checks from now on are the requester's: their ids and groups, no privilege. */
static int become(const struct mxc_fs_requester *who)
{
	if (setgroups(who->n_groups, (const gid_t *)who->groups) < 0)
		return -errno;
	setfsgid(who->gid);
	setfsuid(who->uid);
	/* Both calls return the previous id; asking again with an invalid one reads it. */
	if ((uid_t)setfsuid((uid_t)-1) != who->uid || (gid_t)setfsgid((gid_t)-1) != who->gid)
		return -EPERM;
	return 0;
}

static void unbecome(void)
{
	setfsuid(0);
	setfsgid(0);
	setgroups(0, NULL);
}

static int open_nofollow(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC, /* (with O_NOFOLLOW a final link would be opened) */
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* Opens a read-write or read-only path as the requester and checks their access to it. */
static int open_granted(const char *path, enum mxc_fs_intent intent,
			const struct mxc_fs_requester *who, struct mxc_error *err)
{
	int r = become(who);
	if (r < 0) {
		unbecome();
		return mxc_error_errno(err, r, "failed to take the requesting user's identity");
	}
	int fd = open_nofollow(path);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) < 0)
		r = -errno;
	else if (fd >= 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (fd >= 0) {
		int mode = R_OK | (intent == MXC_FS_RW ? W_OK : 0) | (S_ISDIR(st.st_mode) ? X_OK : 0);
		if (syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH | AT_EACCESS) < 0)
			r = -errno;
	}
	unbecome();
	if (fd < 0)
		r = fd;
	if (r == 0)
		return fd;
	mxc_close(fd);
	if (fd < 0 && r == -ELOOP)
		return mxc_error_set(err, r,
				     "'%s' has a symbolic link on the way; list the path it leads to",
				     path);
	if (fd < 0 && (r == -ENOENT || r == -ENOTDIR))
		return mxc_error_set(err, -ENOENT, "'%s' does not exist", path);
	if (r == -EINVAL)
		return mxc_error_set(err, r, "'%s' is neither a directory nor a regular file", path);
	if (r == -EROFS)
		return mxc_error_set(err, r, "'%s' is on a read-only file system", path);
	if (r == -EACCES || r == -EPERM)
		return mxc_error_set(err, -EACCES,
				     "'%s' is not %s by the requesting user (uid %u), so it cannot be "
				     "granted",
				     path, fd < 0 ? "reachable" : intent == MXC_FS_RW ? "writable" : "readable",
				     who->uid);
	return mxc_error_errno(err, r, "failed to open '%s'", path);
}

static int push(struct mxc_fs_rules *rules, const char *path, enum mxc_fs_intent intent,
		const struct stat *st, bool alias)
{
	for (size_t i = 0; i < rules->n; i++) {
		if (strcmp(rules->v[i].path, path) == 0) {
			/* The same place twice (an alias of a listed path): the stricter intent. */
			if (intent > rules->v[i].intent)
				rules->v[i].intent = intent;
			return 0;
		}
	}
	if (rules->n == MAX_RULES)
		return -E2BIG;
	struct mxc_fs_rule *v = realloc(rules->v, (rules->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	rules->v = v;
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	v[rules->n++] = (struct mxc_fs_rule){
		.path = copy,
		.intent = intent,
		.dir = S_ISDIR(st->st_mode),
		.alias = alias,
		.dev = st->st_dev,
		.ino = st->st_ino,
	};
	return 0;
}

/* One line of /proc/self/mountinfo: its id, device, root within the device, mount point. */
struct mount_entry {
	uint64_t id;
	char *dev;
	char *root;
	char *point;
};

/* Decodes the octal escapes (\040 for a space) of a mountinfo field in place. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Parses the mount table; entries point into text, which the caller frees. */
static int read_mounts(char **ret_text, struct mount_entry **ret, size_t *ret_n)
{
	char *text = NULL;
	size_t len;
	int r = mxc_read_file("/proc/self/mountinfo", MAX_MOUNTINFO, &text, &len);
	if (r < 0)
		return r;
	size_t n = 0, cap = 0;
	struct mount_entry *v = NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[5], *fs = NULL;
		size_t k = 0;
		for (char *t = strtok_r(line, " ", &fs); t && k < 5; t = strtok_r(NULL, " ", &fs))
			f[k++] = t;
		uint64_t id;
		if (k < 5 || mxc_parse_u64(f[0], UINT64_MAX, &id) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct mount_entry *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				free(text);
				return -ENOMEM;
			}
			v = nv;
		}
		unescape(f[3]);
		unescape(f[4]);
		v[n++] = (struct mount_entry){ id, f[2], f[3], f[4] };
	}
	*ret_text = text;
	*ret = v;
	*ret_n = n;
	return 0;
}

/* What follows prefix in path ("" when equal); prefix "/" leaves path as it is. */
static const char *after(const char *path, const char *prefix)
{
	return strcmp(prefix, "/") == 0 ? path : path + strlen(prefix);
}

/*
 * Adds every other place the mount table shows the object of rule i at: the object's path
 * within its device, seen through each mount of that device whose root contains it.
 */
static int add_aliases(struct mxc_fs_rules *rules, size_t i, uint64_t mnt_id,
		       const struct mount_entry *m, size_t n)
{
	const struct mount_entry *own = NULL;
	for (size_t k = 0; k < n && !own; k++)
		if (m[k].id == mnt_id)
			own = &m[k];
	if (!own || !within(rules->v[i].path, own->point))
		return 0;
	char inner[PATH_MAX];
	const char *rest = after(rules->v[i].path, own->point);
	if ((size_t)snprintf(inner, sizeof(inner), "%s%s", strcmp(own->root, "/") ? own->root : "",
			     rest) >= sizeof(inner))
		return 0;
	if (!inner[0])
		snprintf(inner, sizeof(inner), "/");
	struct stat st = { .st_mode = rules->v[i].dir ? S_IFDIR : S_IFREG,
			   .st_dev = rules->v[i].dev,
			   .st_ino = rules->v[i].ino };
	enum mxc_fs_intent intent = rules->v[i].intent;
	for (size_t k = 0; k < n; k++) {
		if (strcmp(m[k].dev, own->dev) != 0 || !within(inner, m[k].root))
			continue;
		char alias[PATH_MAX];
		const char *tail = after(inner, m[k].root);
		const char *point = strcmp(m[k].point, "/") ? m[k].point : "";
		if ((size_t)snprintf(alias, sizeof(alias), "%s%s", point, tail) >= sizeof(alias) ||
		    !alias[0] || strcmp(alias, rules->v[i].path) == 0)
			continue;
		int r = push(rules, alias, intent, &st, true);
		if (r < 0)
			return r;
	}
	return 0;
}

static int by_depth(const void *a, const void *b)
{
	const struct mxc_fs_rule *x = a, *y = b;
	size_t dx = depth(x->path), dy = depth(y->path);
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* The mount id of an open file, for finding it in the mount table. */
static uint64_t mount_id(int fd)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/* Resolves one listed path into rules; 1 when there is nothing to do (a missing denial). */
static int resolve_one(struct mxc_fs_rules *rules, uint64_t *mnt_ids, const char *path,
		       enum mxc_fs_intent intent, const struct mxc_fs_requester *who,
		       const char *const *protected, const char *own_home, struct mxc_error *err)
{
	int r = check_place(path, intent, protected, own_home, err);
	if (r < 0)
		return r;
	int fd;
	char real[PATH_MAX];
	if (intent == MXC_FS_DENY) {
		/* As root, following links: whatever the path reaches is what is denied. */
		fd = open(path, O_PATH | O_CLOEXEC);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
			return 1;
		if (fd < 0)
			return mxc_error_errno(err, -errno, "failed to open '%s'", path);
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, real, sizeof(real) - 1);
		if (n <= 0 || (size_t)n >= sizeof(real) - 1 || real[0] != '/') {
			close(fd);
			return mxc_error_set(err, -EINVAL, "'%s' leads nowhere a session can see",
					     path);
		}
		real[n] = '\0';
		if (strcmp(real, path) != 0 && (r = check_place(real, intent, NULL, NULL, err)) < 0) {
			close(fd);
			return mxc_error_prefix(err, "'%s' leads to '%s'", path, real);
		}
	} else {
		if ((fd = open_granted(path, intent, who, err)) < 0)
			return fd;
		snprintf(real, sizeof(real), "%s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		r = mxc_error_errno(err, -errno, "failed to look at '%s'", path);
	} else {
		size_t before = rules->n;
		r = push(rules, real, intent, &st, false);
		if (r < 0)
			mxc_error_errno(err, r, "too many paths");
		else if (rules->n > before)
			mnt_ids[before] = mount_id(fd);
	}
	close(fd);
	return r;
}

int mxc_fs_rules_resolve(const struct mxc_policy_fs *fs, const struct mxc_fs_requester *who,
			 const char *const *protected, const char *own_home,
			 struct mxc_fs_rules *ret, struct mxc_error *err)
{
	char *const *lists[] = { [MXC_FS_RW] = fs->readwrite,
				 [MXC_FS_RO] = fs->readonly,
				 [MXC_FS_DENY] = fs->denied };
	struct mxc_fs_rules rules = { 0 };
	char *text = NULL;
	struct mount_entry *mounts = NULL;
	size_t n_listed = 0, n_mounts = 0;
	int r = 0;
	for (int l = 0; l < 3; l++)
		n_listed += lists[l] ? mxc_strv_length((char **)lists[l]) : 0;
	uint64_t *mnt_ids = calloc(n_listed + 1, sizeof(uint64_t));
	if (!mnt_ids)
		return mxc_error_set(err, -ENOMEM, "out of memory");

	for (int l = 0; l < 3 && r >= 0; l++) {
		for (size_t i = 0; lists[l] && lists[l][i] && r >= 0; i++) {
			r = resolve_one(&rules, mnt_ids, lists[l][i], (enum mxc_fs_intent)l, who,
					protected, own_home, err);
			if (r < 0)
				mxc_error_prefix(err, "filesystem.%s", list_keys[l]);
		}
	}
	if (r < 0)
		goto out;
	r = 0;

	/* One object, several listed paths: all get the most restrictive intent. */
	for (size_t i = 0; i < rules.n; i++)
		for (size_t j = 0; j < rules.n; j++)
			if (rules.v[i].dev == rules.v[j].dev && rules.v[i].ino == rules.v[j].ino &&
			    rules.v[j].intent > rules.v[i].intent)
				rules.v[i].intent = rules.v[j].intent;

	/* What is read-only or denied stays so wherever else the host shows it. */
	size_t listed = rules.n;
	bool need_aliases = false;
	for (size_t i = 0; i < listed; i++)
		need_aliases |= rules.v[i].intent != MXC_FS_RW;
	if (need_aliases && (r = read_mounts(&text, &mounts, &n_mounts)) < 0) {
		mxc_error_errno(err, r, "failed to read the mount table");
		goto out;
	}
	for (size_t i = 0; need_aliases && i < listed && r == 0; i++)
		if (rules.v[i].intent != MXC_FS_RW && mnt_ids[i] &&
		    (r = add_aliases(&rules, i, mnt_ids[i], mounts, n_mounts)) < 0)
			mxc_error_errno(err, r, "filesystem: too many places to cover");
	if (r < 0)
		goto out;
	if (rules.n) /* (qsort's array may not be NULL, even when empty) */
		qsort(rules.v, rules.n, sizeof(*rules.v), by_depth);
	*ret = rules;
	rules = (struct mxc_fs_rules){ 0 };
out:
	mxc_fs_rules_free(&rules);
	free(mounts);
	free(text);
	free(mnt_ids);
	return r;
}

/* Creates the mount point for a rule whose path the session does not show yet. */
static int make_target(int rootfd, const char *rel, bool dir)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", rel);
	char *slash = strrchr(parent, '/');
	const char *base = rel;
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		int r = mxc_root_mkdirs(rootfd, parent, 0755);
		if (r < 0)
			return r;
	}
	int pfd = slash ? mxc_root_open(rootfd, parent, O_PATH | O_DIRECTORY)
			: fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (pfd < 0)
		return slash ? pfd : -errno;
	int r = 0;
	if (dir) {
		if (mkdirat(pfd, base, 0755) < 0)
			r = -errno;
	} else {
		int fd = openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			r = -errno;
		else
			close(fd);
	}
	close(pfd);
	return r;
}

/* Clones fd's mount (recursively) with attrs and attaches it at rel. */
static int bind_fd(int fd, int rootfd, const char *rel, uint64_t attrs)
{
	int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
					     AT_RECURSIVE);
	if (tree < 0)
		return -errno;
	struct mount_attr attr = { .attr_set = attrs, .propagation = MS_PRIVATE };
	int r = mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0
			? -errno
			: mxc_mount_attach(tree, rootfd, rel);
	close(tree);
	return r;
}

/* Whether a later (deeper) rule lies beneath rule i: its mask must let the agent through. */
static bool has_nested(const struct mxc_fs_rules *rules, size_t i)
{
	for (size_t j = i + 1; j < rules->n; j++)
		if (within(rules->v[j].path, rules->v[i].path))
			return true;
	return false;
}

/* Hides a denied object: an empty directory nobody can list, or an empty unreadable file. */
static int mask(int rootfd, const struct mxc_fs_rules *rules, size_t i, bool *empty_made)
{
	const struct mxc_fs_rule *rule = &rules->v[i];
	const char *rel = mxc_rel_path(rule->path);
	if (rule->dir) {
		const char *opts[] = { "mode", has_nested(rules, i) ? "0111" : "0000", "size", "64k",
				       NULL };
		struct mxc_error ignored = { 0 };
		return mxc_mount_new_at(rootfd, rel, "tmpfs", opts,
					MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
					&ignored);
	}
	if (!*empty_made) {
		int fd = openat(rootfd, "run/mxc-denied",
				O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		close(fd);
		*empty_made = true;
	}
	int empty = mxc_root_open(rootfd, "run/mxc-denied", O_PATH);
	if (empty < 0)
		return empty;
	int r = bind_fd(empty, rootfd, rel, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	close(empty);
	return r;
}

static int apply_one(int rootfd, const struct mxc_fs_rules *rules, size_t i, bool *empty_made,
		     bool *ret_masked, struct mxc_error *err)
{
	const struct mxc_fs_rule *rule = &rules->v[i];
	const char *rel = mxc_rel_path(rule->path);
	int target = mxc_root_open(rootfd, rel, O_PATH);
	if (target == -ENOENT && !rule->alias && rule->intent != MXC_FS_DENY) {
		int r = make_target(rootfd, rel, rule->dir);
		if (r < 0)
			return mxc_error_errno(err, r, "failed to make '%s' in the session",
					       rule->path);
		target = mxc_root_open(rootfd, rel, O_PATH);
	}
	if (target < 0) {
		/* Not in the session's view: an alias or a denial has nothing to cover there. */
		if (rule->alias || (rule->intent == MXC_FS_DENY && target == -ENOENT))
			return 0;
		return mxc_error_errno(err, target, "failed to open '%s' in the session",
				       rule->path);
	}
	struct stat st;
	int r = fstat(target, &st) < 0 ? -errno : 0;
	bool same = r == 0 && st.st_dev == rule->dev && st.st_ino == rule->ino;
	if (rule->alias && !same) {
		close(target); /* covered by another mount there: not the object */
		return 0;
	}
	*ret_masked = false;
	if (r == 0 && rule->intent == MXC_FS_DENY) {
		r = mask(rootfd, rules, i, empty_made);
		*ret_masked = r == 0 && rule->dir;
	} else if (r == 0 && rule->alias) {
		/* A read-only alias: its own mount again, read-only. */
		r = bind_fd(target, rootfd, rel, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	} else if (r == 0) {
		int src = open_nofollow(rule->path);
		struct stat s2;
		if (src < 0 || fstat(src, &s2) < 0 || s2.st_dev != rule->dev || s2.st_ino != rule->ino) {
			mxc_close(src);
			close(target);
			return mxc_error_set(err, -ESTALE, "'%s' changed while the session started",
					     rule->path);
		}
		uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				 (rule->intent == MXC_FS_RO ? MOUNT_ATTR_RDONLY : 0);
		r = bind_fd(src, rootfd, rel, attrs);
		close(src);
	}
	close(target);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to make '%s' %s in the session", rule->path,
				       mxc_fs_intent_name(rule->intent));
	return 0;
}

int mxc_fs_rules_apply(int rootfd, const struct mxc_fs_rules *rules, struct mxc_error *err)
{
	bool empty_made = false;
	bool *masked = calloc(rules->n + 1, sizeof(bool));
	if (!masked)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	int r = 0;
	for (size_t i = 0; i < rules->n && r == 0; i++)
		r = apply_one(rootfd, rules, i, &empty_made, &masked[i], err);
	/* Masks stayed writable for the mount points of deeper rules; not any more. */
	for (size_t i = 0; i < rules->n && r == 0; i++)
		if (masked[i])
			r = mxc_mount_set_readonly(rootfd, mxc_rel_path(rules->v[i].path), err);
	free(masked);
	return r;
}
