/*
 * Session cgroups: detection of what the host offers, mxc's subtree, one group per session.
 * See cgroup.h for the layout and the modes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <time.h>

#include "cgroup.h"
#include "fs.h"
#include "json.h"
#include "util.h"

#define MAX_HIER 2		 /* v1: memory and pids (one if co-mounted); v2: one */
#define MAX_DEPTH 8		 /* nesting removed below a session's group */
#define MAX_PROCS_BYTES (32u << 20) /* cgroup.procs of MXC_POLICY_MAX_TASKS tasks */
#define PIDFD_BATCH 256		 /* pidfds open at once while killing */
#define DESTROY_WAIT_MS 250
#define V1_NO_LIMIT (1ull << 62) /* v1 shows "no limit" as a huge page-rounded number */

struct hier {
	unsigned controllers;
	int fd;	    /* the subtree's directory; -1 when probing */
	char *path; /* its path, from the mount table */
};

struct mxc_cgroups {
	enum mxc_cgroup_mode mode;
	bool probe;
	bool swap_limited; /* memory.swap.max (v2) or memory.memsw.* (v1) */
	bool has_kill;	   /* cgroup.kill (v2, 5.14+) */
	bool moved;	   /* the daemon moved itself into <subtree>/daemon */
	bool undelegated;  /* v2 below a systemd unit without Delegate=yes */
	size_t n;
	struct hier h[MAX_HIER];
	char describe[1024];
	char note[768];
};

struct mxc_cgroup {
	struct mxc_cgroups *c;
	char id[MXC_CGROUP_ID_MAX + 1];
	int fd[MAX_HIER];
};

static const struct {
	const char *name;
	unsigned bit;
} controllers[] = {
	{ "memory", MXC_CGROUP_MEMORY },
	{ "pids", MXC_CGROUP_PIDS },
	{ "hugetlb", MXC_CGROUP_HUGETLB },
};

/* ---- small file helpers; every name is a constant or a validated id ---- */

static int write_at(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int r = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	close(fd);
	return r;
}

static int read_at(int dirfd, const char *name, size_t max, char **ret)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int r = mxc_read_fd(fd, max, ret, NULL);
	close(fd);
	return r;
}

/* A file holding one number or "max" (UINT64_MAX). */
static int read_u64_at(int dirfd, const char *name, uint64_t *ret)
{
	char *text;
	int r = read_at(dirfd, name, 64, &text);
	if (r < 0)
		return r;
	text[strcspn(text, "\n")] = '\0';
	if (strcmp(text, "max") == 0) {
		*ret = UINT64_MAX;
	} else {
		/* v1 writes "-1" nowhere we read, but a negative would be a parse error anyway. */
		r = mxc_parse_u64(text, UINT64_MAX, ret);
	}
	free(text);
	return r;
}

/* The value of "key N" in a flat-keyed file (memory.events, pids.events, ...). */
static int read_key_at(int dirfd, const char *name, const char *key, uint64_t *ret)
{
	char *text;
	int r = read_at(dirfd, name, 16384, &text);
	if (r < 0)
		return r;
	r = -ENOENT;
	size_t klen = strlen(key);
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			r = mxc_parse_u64(line + klen + 1, UINT64_MAX, ret);
			break;
		}
	}
	free(text);
	return r;
}

/* Controller names in a space-separated list (cgroup.controllers, subtree_control). */
static unsigned parse_mask(const char *text)
{
	unsigned mask = 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", text);
	char *save = NULL;
	for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		for (size_t i = 0; i < MXC_ARRAY_SIZE(controllers); i++)
			if (strcmp(t, controllers[i].name) == 0)
				mask |= controllers[i].bit;
	return mask;
}

static int read_mask_at(int dirfd, const char *name, unsigned *ret)
{
	char *text;
	int r = read_at(dirfd, name, 4096, &text);
	if (r < 0)
		return r;
	*ret = parse_mask(text);
	free(text);
	return 0;
}

/* "memory, pids" */
static void mask_names(unsigned mask, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < MXC_ARRAY_SIZE(controllers); i++)
		if (mask & controllers[i].bit) {
			size_t len = strlen(buf);
			snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
				 controllers[i].name);
		}
}

static int popcount(unsigned v)
{
	return __builtin_popcount(v);
}

static bool kernel_at_least(unsigned major, unsigned minor)
{
	struct utsname u;
	unsigned a, b;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &a, &b) != 2)
		return false;
	return a > major || (a == major && b >= minor);
}

static uint64_t now_ms(void)
{
	return mxc_now_mono_ns() / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * A directory of mxc's must belong to root and be writable by root only: anything else
 * would let its owner or everyone change limits or move processes.
 */
static int check_owner(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != 0)
		return -EPERM;
	if ((st.st_mode & 022) && fchmod(fd, st.st_mode & 0755 & ~022) < 0)
		return -errno;
	return 0;
}

/* Creates (or opens an existing) directory name under dirfd, owned by root and 0755. */
static int make_dir_at(int dirfd, const char *name, int *ret_fd)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = check_owner(fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* ---- where things are: /proc/self/cgroup and /proc/self/mountinfo ---- */

/*
 * The calling process's cgroup in the hierarchy holding controller (v1), or in the unified
 * hierarchy (controller NULL), as shown in /proc/self/cgroup.
 */
static int own_cgroup(const char *controller, char **ret)
{
	char *text;
	int r = mxc_read_file("/proc/self/cgroup", 65536, &text, NULL);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *list = strchr(line, ':'), *path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*list++ = '\0';
		*path++ = '\0';
		bool match = false;
		if (!controller) {
			match = strcmp(line, "0") == 0 && list[0] == '\0';
		} else {
			char *save = NULL;
			for (char *t = strtok_r(list, ",", &save); t && !match;
			     t = strtok_r(NULL, ",", &save))
				match = strcmp(t, controller) == 0;
		}
		if (match && path[0] == '/') {
			*ret = strdup(path);
			r = *ret ? 0 : -ENOMEM;
			break;
		}
	}
	free(text);
	return r;
}

/* Undoes mountinfo's octal escapes (\040 for a space ...) in place. */
static void unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

static bool has_token(const char *list, const char *token)
{
	size_t len = strlen(token);
	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, token, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

/*
 * The directory of cgroup own (a path as in /proc/self/cgroup) through a mount of fstype
 * ("cgroup2", or "cgroup" with controller among its options) whose root contains it.
 */
static int cgroup_dir(const char *fstype, const char *controller, const char *own, char **ret)
{
	char *text;
	int r = mxc_read_file("/proc/self/mountinfo", 4u << 20, &text, NULL);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* id parent dev root point options [optional...] - fstype source super */
		char *f[6], *save = NULL, *sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		size_t n = 0;
		for (char *t = strtok_r(line, " ", &save); t && n < 6;
		     t = strtok_r(NULL, " ", &save))
			f[n++] = t;
		char *type = strtok_r(sep + 3, " ", &save), *source = strtok_r(NULL, " ", &save);
		char *super = strtok_r(NULL, " ", &save);
		if (n < 6 || !type || !source || !super || strcmp(type, fstype) != 0)
			continue;
		if (controller && !has_token(super, controller))
			continue;
		char *root = f[3], *point = f[4];
		unescape(root);
		unescape(point);
		size_t rlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(own, root, rlen) != 0 || (own[rlen] != '/' && own[rlen] != '\0'))
			continue;
		const char *rest = strcmp(own + rlen, "/") == 0 ? "" : own + rlen;
		if (asprintf(ret, "%s%s", point, rest) < 0)
			r = -ENOMEM;
		else
			r = 0;
		break;
	}
	free(text);
	return r;
}

/* Whether controller is bound to a v1 hierarchy (then v2 cannot have it). */
static bool bound_to_v1(const char *controller)
{
	char *text;
	if (mxc_read_file("/proc/cgroups", 65536, &text, NULL) < 0)
		return false;
	bool bound = false;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char name[64];
		unsigned hierarchy;
		if (sscanf(line, "%63s %u", name, &hierarchy) == 2 && strcmp(name, controller) == 0)
			bound = hierarchy != 0;
	}
	free(text);
	return bound;
}

/* A path outside the cgroup namespace shows as "/../..": nothing to build on. */
static bool path_usable(const char *own)
{
	size_t len = strlen(own);
	return !strstr(own, "/../") && !(len >= 3 && strcmp(own + len - 3, "/..") == 0);
}

static bool host_has_swap(void)
{
	char *text;
	if (mxc_read_file("/proc/swaps", 65536, &text, NULL) < 0)
		return false;
	char *nl = strchr(text, '\n');
	bool any = nl && nl[1] != '\0';
	free(text);
	return any;
}

/*
 * Whether dir is a cgroup systemd manages without having delegated it: systemd (pid 1 in
 * /init.scope) marks delegated cgroups with the xattr trusted.delegate (user.delegate for
 * unprivileged units); anything else below it is its to rewrite.
 */
static bool systemd_undelegated(const char *dir, const char *own)
{
	if (strcmp(own, "/") == 0)
		return false;
	char *init = NULL;
	bool systemd = mxc_read_file("/proc/1/cgroup", 65536, &init, NULL) == 0 &&
		       strstr(init, "0::/init.scope\n");
	free(init);
	char v[8];
	return systemd && getxattr(dir, "trusted.delegate", v, sizeof(v)) < 0 &&
	       getxattr(dir, "user.delegate", v, sizeof(v)) < 0;
}

static void note_add(struct mxc_cgroups *c, const char *fmt, ...) MXC_PRINTF(2, 3);
static void note_add(struct mxc_cgroups *c, const char *fmt, ...)
{
	size_t len = strlen(c->note);
	if (len && len < sizeof(c->note) - 2) {
		snprintf(c->note + len, sizeof(c->note) - len, "; ");
		len += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->note + len, sizeof(c->note) - len, fmt, ap);
	va_end(ap);
}

static void hier_reset(struct mxc_cgroups *c)
{
	for (size_t i = 0; i < c->n; i++) {
		mxc_close(c->h[i].fd);
		free(c->h[i].path);
	}
	c->n = 0;
	c->swap_limited = c->has_kill = c->undelegated = false;
}

/* ---- v2 ---- */

/*
 * Enables mask in the subtree_control of dirfd. On -EBUSY (the cgroup holds processes and
 * is not the root) the caller moves itself out first.
 */
static int enable_controllers(int dirfd, unsigned mask)
{
	char buf[128] = "";
	for (size_t i = 0; i < MXC_ARRAY_SIZE(controllers); i++)
		if (mask & controllers[i].bit) {
			size_t len = strlen(buf);
			snprintf(buf + len, sizeof(buf) - len, "%s+%s", len ? " " : "",
				 controllers[i].name);
		}
	return write_at(dirfd, "cgroup.subtree_control", buf);
}

/*
 * Moves the calling process into <own>/<name>/daemon, so that <own> may hand controllers
 * to its children.
 */
static int move_self(int ownfd, const char *name, bool *ret_moved)
{
	int basefd = -1, daemonfd = -1;
	int r = make_dir_at(ownfd, name, &basefd);
	if (r >= 0)
		r = make_dir_at(basefd, "daemon", &daemonfd);
	if (r >= 0)
		r = write_at(daemonfd, "cgroup.procs", "0");
	if (r >= 0)
		*ret_moved = true;
	mxc_close(daemonfd);
	mxc_close(basefd);
	return r;
}

/*
 * Sets up (or, probing, finds) the v2 subtree. Returns the controllers it offers (> 0),
 * 0 when v2 is of no use here (c->note says why), or a negative errno.
 */
static int setup_v2(struct mxc_cgroups *c, const char *name, unsigned want, bool probe)
{
	char *own = NULL, *dir = NULL, names[64];
	int ownfd = -1, basefd = -1, r;
	r = own_cgroup(NULL, &own);
	if (r == -ENOENT) {
		note_add(c, "cgroup v2: this process has no cgroup v2 membership");
		return 0;
	}
	if (r < 0)
		return r;
	if (!path_usable(own)) {
		note_add(c, "cgroup v2: own cgroup '%s' lies outside the cgroup namespace", own);
		r = 0;
		goto out;
	}
	/* A daemon that moved itself before and was restarted in place: start from <own>. */
	char suffix[128];
	snprintf(suffix, sizeof(suffix), "/%s/daemon", name);
	size_t olen = strlen(own), slen = strlen(suffix);
	if (olen > slen && strcmp(own + olen - slen, suffix) == 0)
		own[olen - slen] = '\0';
	else if (olen == slen && strcmp(own, suffix) == 0)
		own[1] = '\0';
	r = cgroup_dir("cgroup2", NULL, own, &dir);
	if (r == -ENOENT) {
		note_add(c, "cgroup v2: no cgroup2 file system mounted");
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	ownfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ownfd < 0) {
		r = -errno;
		note_add(c, "cgroup v2: cannot open '%s': %s", dir, strerror(-r));
		goto out;
	}
	unsigned avail = 0, enabled = 0;
	if ((r = read_mask_at(ownfd, "cgroup.controllers", &avail)) < 0)
		goto out;
	unsigned missing = want & ~avail;
	if (missing) {
		char why[256] = "";
		for (size_t i = 0; i < MXC_ARRAY_SIZE(controllers); i++) {
			if (!(missing & controllers[i].bit))
				continue;
			size_t len = strlen(why);
			snprintf(why + len, sizeof(why) - len, "%s%s %s", len ? ", " : "",
				 controllers[i].name,
				 bound_to_v1(controllers[i].name) ? "is in use by cgroup v1"
								  : "is not delegated to it");
		}
		note_add(c, "cgroup v2 at %s: %s", dir, why);
	}
	avail &= want;
	if (!avail) {
		r = 0;
		goto out;
	}
	char *path;
	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		r = -ENOMEM;
		goto out;
	}
	c->h[0] = (struct hier){ .controllers = avail, .fd = -1, .path = path };
	c->n = 1;
	/* Used all the same (the kernel allows it), but said loudly: systemd may undo it. */
	c->undelegated = systemd_undelegated(dir, own);
	if (c->undelegated)
		note_add(c, "cgroup v2: %s is systemd's and not delegated (Delegate=yes)", dir);
	if (probe) {
		/* What a daemon would find: the files of a session group's parent (if any). */
		int fd = openat(ownfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int probe_fd = fd >= 0 ? fd : ownfd;
		c->has_kill = faccessat(probe_fd, "cgroup.kill", F_OK, 0) == 0 ||
			      kernel_at_least(5, 14);
		c->swap_limited = faccessat(probe_fd, "memory.swap.max", F_OK, 0) == 0;
		mxc_close(fd);
		r = (int)avail;
		goto out;
	}

	bool is_root = faccessat(ownfd, "cgroup.type", F_OK, 0) < 0 && errno == ENOENT;
	if ((r = read_mask_at(ownfd, "cgroup.subtree_control", &enabled)) < 0)
		goto fail;
	if (avail & ~enabled) {
		r = enable_controllers(ownfd, avail & ~enabled);
		if (r == -EBUSY && !is_root) {
			r = move_self(ownfd, name, &c->moved);
			if (r < 0) {
				note_add(c, "cgroup v2: cannot move mxc-sessiond into %s/%s: %s",
					 path, "daemon", strerror(-r));
				goto fail;
			}
			r = enable_controllers(ownfd, avail & ~enabled);
			if (r == -EBUSY)
				note_add(c, "cgroup v2: %s holds processes other than mxc-sessiond",
					 dir);
		}
		if (r < 0) {
			mask_names(avail & ~enabled, names, sizeof(names));
			if (r != -EBUSY)
				note_add(c, "cgroup v2: cannot enable %s for %s: %s", names, dir,
					 strerror(-r));
			goto fail;
		}
	}
	if ((r = make_dir_at(ownfd, name, &basefd)) < 0) {
		note_add(c, "cgroup v2: cannot create %s: %s", path, strerror(-r));
		goto fail;
	}
	if ((r = read_mask_at(basefd, "cgroup.subtree_control", &enabled)) < 0)
		goto fail;
	if ((avail & ~enabled) && (r = enable_controllers(basefd, avail & ~enabled)) < 0) {
		note_add(c, "cgroup v2: cannot enable controllers for %s: %s", path, strerror(-r));
		goto fail;
	}
	c->h[0].fd = basefd;
	basefd = -1;
	c->has_kill = faccessat(c->h[0].fd, "cgroup.kill", F_OK, 0) == 0;
	c->swap_limited = faccessat(c->h[0].fd, "memory.swap.max", F_OK, 0) == 0;
	r = (int)avail;
	goto out;
fail:
	hier_reset(c);
out:
	mxc_close(basefd);
	mxc_close(ownfd);
	free(dir);
	free(own);
	return r;
}

/* ---- v1 ---- */

/* Like setup_v2 for the v1 memory and pids hierarchies. */
static int setup_v1(struct mxc_cgroups *c, const char *name, bool probe)
{
	static const unsigned wanted[] = { MXC_CGROUP_MEMORY, MXC_CGROUP_PIDS };
	unsigned mask = 0;
	int r = 0;
	for (size_t k = 0; k < MXC_ARRAY_SIZE(wanted); k++) {
		const char *ctl = wanted[k] == MXC_CGROUP_MEMORY ? "memory" : "pids";
		char *own = NULL, *dir = NULL, *path = NULL;
		int ownfd = -1, basefd = -1;
		r = own_cgroup(ctl, &own);
		if (r == -ENOENT) {
			note_add(c, "cgroup v1: no %s hierarchy", ctl);
			r = 0;
			continue;
		}
		if (r < 0)
			goto fail;
		if (!path_usable(own) || (r = cgroup_dir("cgroup", ctl, own, &dir)) < 0) {
			note_add(c, "cgroup v1: the %s hierarchy is not mounted here", ctl);
			free(own);
			r = r == -ENOMEM ? r : 0;
			if (r < 0)
				goto fail;
			continue;
		}
		free(own);
		if (asprintf(&path, "%s/%s", dir, name) < 0) {
			free(dir);
			r = -ENOMEM;
			goto fail;
		}
		/* Co-mounted controllers share one hierarchy, hence one directory. */
		bool shared = false;
		for (size_t i = 0; i < c->n; i++)
			if (strcmp(c->h[i].path, path) == 0) {
				c->h[i].controllers |= wanted[k];
				shared = true;
			}
		if (shared) {
			mask |= wanted[k];
			free(dir);
			free(path);
			continue;
		}
		if (!probe) {
			ownfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			r = ownfd < 0 ? -errno : make_dir_at(ownfd, name, &basefd);
			mxc_close(ownfd);
			if (r < 0) {
				note_add(c, "cgroup v1: cannot create %s: %s", path, strerror(-r));
				free(dir);
				free(path);
				goto fail;
			}
		}
		c->h[c->n++] =
			(struct hier){ .controllers = wanted[k], .fd = basefd, .path = path };
		mask |= wanted[k];
		if (wanted[k] == MXC_CGROUP_MEMORY) {
			/* Probing: the parent shows the same files as the subtree would. */
			char memsw[4096];
			snprintf(memsw, sizeof(memsw), "%s/memory.memsw.limit_in_bytes", dir);
			c->swap_limited = probe ? access(memsw, F_OK) == 0
						: faccessat(basefd, "memory.memsw.limit_in_bytes",
							    F_OK, 0) == 0;
		}
		free(dir);
	}
	return (int)mask;
fail:
	hier_reset(c);
	return r;
}

/* ---- detection ---- */

static void describe(struct mxc_cgroups *c)
{
	char names[64];
	mask_names(mxc_cgroups_controllers(c), names, sizeof(names));
	if (c->mode == MXC_CGROUP_NONE) {
		snprintf(c->describe, sizeof(c->describe),
			 "none: tasks limited by RLIMIT_NPROC of the agent uid only, memory not "
			 "limited (RLIMIT_AS bounds single processes, not a session)%s%s",
			 c->note[0] ? " — " : "", c->note);
		return;
	}
	int n = snprintf(c->describe, sizeof(c->describe), "cgroup %s (%s) at ",
			 mxc_cgroup_mode_to_string(c->mode), names);
	for (size_t i = 0; i < c->n && n > 0 && (size_t)n < sizeof(c->describe); i++)
		n += snprintf(c->describe + n, sizeof(c->describe) - (size_t)n, "%s%s",
			      i ? ", " : "", c->h[i].path);
	if (n > 0 && (size_t)n < sizeof(c->describe)) {
		unsigned ctl = mxc_cgroups_controllers(c);
		if (!(ctl & MXC_CGROUP_MEMORY))
			n += snprintf(c->describe + n, sizeof(c->describe) - (size_t)n,
				      "; memory not limited");
		else if (!c->swap_limited && host_has_swap())
			n += snprintf(c->describe + n, sizeof(c->describe) - (size_t)n,
				      "; swap not limited");
	}
	if (n > 0 && (size_t)n < sizeof(c->describe) &&
	    !(mxc_cgroups_controllers(c) & MXC_CGROUP_PIDS))
		n += snprintf(c->describe + n, sizeof(c->describe) - (size_t)n,
			      "; tasks limited by RLIMIT_NPROC of the agent uid");
	if (n > 0 && (size_t)n < sizeof(c->describe) && c->mode == MXC_CGROUP_V2 &&
	    c->undelegated)
		snprintf(c->describe + n, sizeof(c->describe) - (size_t)n,
			 "; not delegated by systemd: give mxc-sessiond's unit Delegate=yes");
}

int mxc_cgroups_detect(const struct mxc_cgroups_options *opt, struct mxc_cgroups **ret,
		       struct mxc_error *err)
{
	struct mxc_cgroups_options o = opt ? *opt : (struct mxc_cgroups_options){ 0 };
	if (!o.name)
		o.name = "mxc";
	if (!o.modes)
		o.modes = (1u << MXC_CGROUP_V1) | (1u << MXC_CGROUP_V2);
	if (!o.v2_controllers)
		o.v2_controllers = MXC_CGROUP_MEMORY | MXC_CGROUP_PIDS;
	/* The name becomes a path component: the same rules as a file name, no dot names. */
	if (!o.name[0] || strlen(o.name) > 64 || strchr(o.name, '/') || o.name[0] == '.')
		return mxc_error_set(err, -EINVAL, "invalid cgroup subtree name '%s'", o.name);

	struct mxc_cgroups *c = calloc(1, sizeof(*c));
	if (!c)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	c->probe = o.probe;

	/*
	 * Find out first, without side effects, which mode offers more. The notes of the v2
	 * probe say why v2 was not (fully) usable; those of v1 matter only if nothing was.
	 */
	int v2 = 0, v1 = 0, r = 0;
	char v1_note[sizeof(c->note)] = "", v2_note[sizeof(c->note)] = "";
	if (o.modes & (1u << MXC_CGROUP_V2))
		v2 = setup_v2(c, o.name, o.v2_controllers, true);
	hier_reset(c);
	snprintf(v2_note, sizeof(v2_note), "%s", c->note);
	c->note[0] = '\0';
	if (o.modes & (1u << MXC_CGROUP_V1)) {
		struct mxc_cgroups scratch = { 0 };
		v1 = setup_v1(&scratch, o.name, true);
		hier_reset(&scratch);
		snprintf(v1_note, sizeof(v1_note), "%s", scratch.note);
	}
	if (v2 < 0 || v1 < 0) {
		r = v2 < 0 ? v2 : v1;
		mxc_error_errno(err, r, "failed to detect cgroup support");
		goto fail;
	}
	enum mxc_cgroup_mode order[2] = { MXC_CGROUP_NONE, MXC_CGROUP_NONE };
	if (v2 > 0 && popcount((unsigned)v2) >= popcount((unsigned)v1)) {
		order[0] = MXC_CGROUP_V2;
		order[1] = v1 > 0 ? MXC_CGROUP_V1 : MXC_CGROUP_NONE;
	} else if (v1 > 0) {
		order[0] = MXC_CGROUP_V1;
		order[1] = v2 > 0 ? MXC_CGROUP_V2 : MXC_CGROUP_NONE;
	}
	bool tried_v2 = false;
	for (size_t i = 0; i < 2 && c->mode == MXC_CGROUP_NONE && order[i]; i++) {
		tried_v2 |= order[i] == MXC_CGROUP_V2;
		int got = order[i] == MXC_CGROUP_V2
				  ? setup_v2(c, o.name, o.v2_controllers, o.probe)
				  : setup_v1(c, o.name, o.probe);
		if (got > 0) {
			c->mode = order[i];
		} else if (got < 0 && !r) {
			r = got;
		}
	}
	if (!tried_v2 && v2_note[0])
		note_add(c, "%s", v2_note);
	if (c->mode == MXC_CGROUP_NONE && r < 0) {
		mxc_error_set(err, r, "failed to set up cgroups: %s", c->note);
		goto fail;
	}
	if (c->mode == MXC_CGROUP_NONE && v1_note[0])
		note_add(c, "%s", v1_note);
	describe(c);
	*ret = c;
	return 0;
fail:
	mxc_cgroups_free(c);
	return r;
}

void mxc_cgroups_free(struct mxc_cgroups *c)
{
	if (!c)
		return;
	hier_reset(c);
	free(c);
}

int mxc_cgroups_remove(struct mxc_cgroups *c, struct mxc_error *err)
{
	if (c->probe)
		return mxc_error_set(err, -EPERM, "cgroups were only probed");
	for (size_t i = 0; i < c->n; i++) {
		if (rmdir(c->h[i].path) < 0 && errno != ENOENT)
			return mxc_error_errno(err, -errno, "failed to remove '%s'", c->h[i].path);
	}
	return 0;
}

enum mxc_cgroup_mode mxc_cgroups_mode(const struct mxc_cgroups *c)
{
	return c->mode;
}

unsigned mxc_cgroups_controllers(const struct mxc_cgroups *c)
{
	unsigned mask = 0;
	for (size_t i = 0; i < c->n; i++)
		mask |= c->h[i].controllers;
	return mask;
}

const char *mxc_cgroups_describe(const struct mxc_cgroups *c)
{
	return c->describe;
}

const char *mxc_cgroups_path(const struct mxc_cgroups *c, size_t i)
{
	return i < c->n ? c->h[i].path : NULL;
}

const char *mxc_cgroup_mode_to_string(enum mxc_cgroup_mode m)
{
	switch (m) {
	case MXC_CGROUP_V1:
		return "v1";
	case MXC_CGROUP_V2:
		return "v2";
	case MXC_CGROUP_NONE:
		break;
	}
	return "none";
}

struct json_object *mxc_cgroups_to_json(const struct mxc_cgroups *c)
{
	struct json_object *o = json_object_new_object(), *ctl = json_object_new_array(),
			   *loc = json_object_new_array();
	unsigned mask = mxc_cgroups_controllers(c);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(controllers); i++)
		if (mask & controllers[i].bit)
			json_object_array_add(ctl, json_object_new_string(controllers[i].name));
	for (size_t i = 0; i < c->n; i++)
		json_object_array_add(loc, json_object_new_string(c->h[i].path));
	mxc_json_add_str(o, "mode", mxc_cgroup_mode_to_string(c->mode));
	json_object_object_add(o, "controllers", ctl);
	json_object_object_add(o, "location", loc);
	mxc_json_add_bool(o, "swap_limited", (mask & MXC_CGROUP_MEMORY) && c->swap_limited);
	mxc_json_add_str(o, "kill",
			 c->mode == MXC_CGROUP_NONE ? NULL
			 : c->has_kill		    ? "cgroup.kill"
						    : "signals");
	mxc_json_add_str(o, "describe", c->describe);
	mxc_json_add_str(o, "note", c->note[0] ? c->note : NULL);
	return o;
}

/* ---- one session's group ---- */

bool mxc_cgroup_id_valid(const char *id)
{
	size_t len = id ? strlen(id) : 0;
	if (len == 0 || len > MXC_CGROUP_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

static struct mxc_cgroup *group_new(struct mxc_cgroups *c, const char *id)
{
	struct mxc_cgroup *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->c = c;
	snprintf(g->id, sizeof(g->id), "%s", id);
	for (size_t i = 0; i < MAX_HIER; i++)
		g->fd[i] = -1;
	return g;
}

void mxc_cgroup_free(struct mxc_cgroup *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < MAX_HIER; i++)
		mxc_close(g->fd[i]);
	free(g);
}

/* Reads a cgroup.procs file into a sorted array. */
static int read_pids(int dirfd, pid_t **ret, size_t *ret_n)
{
	char *text;
	int r = read_at(dirfd, "cgroup.procs", MAX_PROCS_BYTES, &text);
	if (r < 0)
		return r;
	size_t n = 0, cap = 0;
	pid_t *pids = NULL;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		uint64_t v;
		if (mxc_parse_u64(line, INT32_MAX, &v) < 0 || v == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			pid_t *p = realloc(pids, ncap * sizeof(*p));
			if (!p) {
				free(pids);
				free(text);
				return -ENOMEM;
			}
			pids = p;
			cap = ncap;
		}
		pids[n++] = (pid_t)v;
	}
	free(text);
	*ret = pids;
	*ret_n = n;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/*
 * One round of SIGKILL to the processes listed in dirfd's cgroup.procs. A pid is signalled
 * through a pidfd opened while it was listed, and only if it is still listed after the
 * pidfd was taken: if the number was recycled by a process elsewhere in between, the pidfd
 * names that process and the second listing does not hold it, or the process listed the
 * second time is the pidfd's own. Returns how many were listed, or a negative errno.
 */
static int signal_round(int dirfd)
{
	pid_t *first = NULL, *second = NULL;
	size_t n1 = 0, n2 = 0;
	int r = read_pids(dirfd, &first, &n1);
	if (r < 0 || n1 == 0) {
		free(first);
		return r < 0 ? r : 0;
	}
	for (size_t at = 0; at < n1 && r >= 0; at += PIDFD_BATCH) {
		size_t batch = n1 - at < PIDFD_BATCH ? n1 - at : PIDFD_BATCH;
		int fds[PIDFD_BATCH];
		for (size_t i = 0; i < batch; i++)
			fds[i] = (int)syscall(SYS_pidfd_open, first[at + i], 0);
		r = read_pids(dirfd, &second, &n2);
		if (r >= 0) {
			qsort(second, n2, sizeof(*second), cmp_pid);
			for (size_t i = 0; i < batch; i++)
				if (fds[i] >= 0 &&
				    bsearch(&first[at + i], second, n2, sizeof(*second), cmp_pid))
					syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0);
		}
		for (size_t i = 0; i < batch; i++)
			mxc_close(fds[i]);
		free(second);
		second = NULL;
	}
	free(first);
	return r < 0 ? r : (int)(n1 > INT32_MAX ? INT32_MAX : n1);
}

/* Whether any process is in the groups (fds of one group in each hierarchy). */
static int populated_fds(enum mxc_cgroup_mode mode, const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (mode == MXC_CGROUP_V2) {
			uint64_t v;
			int r = read_key_at(fds[i], "cgroup.events", "populated", &v);
			if (r < 0)
				return r;
			if (v)
				return 1;
		} else {
			pid_t *pids;
			size_t np;
			int r = read_pids(fds[i], &pids, &np);
			if (r < 0)
				return r;
			free(pids);
			if (np)
				return 1;
		}
	}
	return 0;
}

/* Kills what is in the groups fds[0..n) until they are empty or deadline (ms) passes. */
static int kill_fds(const struct mxc_cgroups *c, const int *fds, size_t n, uint64_t deadline)
{
	bool killed = false;
	if (c->mode == MXC_CGROUP_V2 && c->has_kill && n > 0 && fds[0] >= 0)
		killed = write_at(fds[0], "cgroup.kill", "1") == 0;
	for (unsigned wait = 1;; wait = wait < 8 ? wait * 2 : 8) {
		int p = populated_fds(c->mode, fds, n);
		if (p <= 0)
			return p;
		if (!killed)
			for (size_t i = 0; i < n; i++)
				if (fds[i] >= 0)
					signal_round(fds[i]);
		uint64_t now = now_ms();
		if (now >= deadline)
			return -EBUSY;
		sleep_ms(deadline - now < wait ? (unsigned)(deadline - now) : wait);
	}
}

static size_t n_fds(const struct mxc_cgroup *g)
{
	return g->c->mode == MXC_CGROUP_NONE ? 0 : g->c->n;
}

/* v1 memory limit and its memory+swap twin, which must never be below it. */
static int v1_set_memory(int fd, uint64_t bytes)
{
	char val[32];
	if (bytes)
		snprintf(val, sizeof(val), "%" PRIu64, bytes);
	else
		snprintf(val, sizeof(val), "-1");
	bool memsw = faccessat(fd, "memory.memsw.limit_in_bytes", F_OK, 0) == 0;
	int r = write_at(fd, "memory.limit_in_bytes", val);
	if (r == -EINVAL && memsw) {
		/* Raising the limit: the memsw limit goes first. */
		if ((r = write_at(fd, "memory.memsw.limit_in_bytes", val)) < 0)
			return r;
		r = write_at(fd, "memory.limit_in_bytes", val);
	}
	if (r >= 0 && memsw)
		r = write_at(fd, "memory.memsw.limit_in_bytes", val);
	/* New groups copy the parent's setting; an OOM must kill here, never hang the group. */
	if (r >= 0)
		r = write_at(fd, "memory.oom_control", "0");
	return r;
}

static int set_limits(const struct mxc_cgroups *c, const struct hier *h, int fd,
		      uint64_t memory_bytes, uint64_t tasks, const char **ret_what)
{
	char val[32];
	int r = 0;
	if (h->controllers & MXC_CGROUP_MEMORY) {
		*ret_what = "memory limit";
		if (c->mode == MXC_CGROUP_V1) {
			r = v1_set_memory(fd, memory_bytes);
		} else {
			if (memory_bytes)
				snprintf(val, sizeof(val), "%" PRIu64, memory_bytes);
			else
				snprintf(val, sizeof(val), "max");
			r = write_at(fd, "memory.max", val);
			/* Swap would let the session hold more than memory.max. */
			if (r >= 0) {
				r = write_at(fd, "memory.swap.max", memory_bytes ? "0" : "max");
				if (r == -ENOENT)
					r = 0;
			}
		}
		if (r < 0)
			return r;
	}
	if (h->controllers & MXC_CGROUP_PIDS) {
		*ret_what = "task limit";
		if (tasks)
			snprintf(val, sizeof(val), "%" PRIu64, tasks);
		else
			snprintf(val, sizeof(val), "max");
		if ((r = write_at(fd, "pids.max", val)) < 0)
			return r;
	}
	if (c->mode == MXC_CGROUP_V2) {
		/* Nobody is meant to nest groups in a session: refuse it outright. */
		write_at(fd, "cgroup.max.descendants", "0");
	}
	return 0;
}

static int open_group(struct mxc_cgroups *c, const char *id, bool create, uint64_t memory_bytes,
		      uint64_t tasks, struct mxc_cgroup **ret, struct mxc_error *err)
{
	if (!mxc_cgroup_id_valid(id))
		return mxc_error_set(err, -EINVAL, "invalid session id for a cgroup");
	if (c->probe)
		return mxc_error_set(err, -EPERM, "cgroups were only probed");
	if (memory_bytes && !(mxc_cgroups_controllers(c) & MXC_CGROUP_MEMORY))
		return mxc_error_set(err, -EOPNOTSUPP,
				     "session.limits.memoryBytes: this host cannot limit a "
				     "session's memory (cgroups: %s)",
				     c->describe);
	struct mxc_cgroup *g = group_new(c, id);
	if (!g)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	size_t n = n_fds(g);
	int r = 0;
	bool made[MAX_HIER] = { false };
	for (size_t i = 0; i < n; i++) {
		const char *what = "cgroup";
		if (create) {
			bool existed = faccessat(c->h[i].fd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
			r = make_dir_at(c->h[i].fd, id, &g->fd[i]);
			made[i] = r >= 0 && !existed;
		} else {
			g->fd[i] = openat(c->h[i].fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
								  O_CLOEXEC);
			r = g->fd[i] < 0 ? -errno : check_owner(g->fd[i]);
		}
		if (r >= 0 && create && !made[i] && populated_fds(c->mode, &g->fd[i], 1) != 0) {
			r = -EBUSY;
			what = "cgroup (still holds processes)";
		}
		if (r >= 0 && create)
			r = set_limits(c, &c->h[i], g->fd[i], memory_bytes, tasks, &what);
		if (r < 0) {
			mxc_error_errno(err, r, "failed to %s the %s of session '%s' in '%s'",
					create ? "set up" : "open", what, id, c->h[i].path);
			goto fail;
		}
	}
	*ret = g;
	return 0;
fail:
	for (size_t i = 0; i < n; i++) {
		g->fd[i] = mxc_close(g->fd[i]);
		if (made[i])
			unlinkat(c->h[i].fd, id, AT_REMOVEDIR);
	}
	mxc_cgroup_free(g);
	return r;
}

int mxc_cgroup_create(struct mxc_cgroups *c, const char *id, uint64_t memory_bytes,
		      uint64_t tasks, struct mxc_cgroup **ret, struct mxc_error *err)
{
	return open_group(c, id, true, memory_bytes, tasks, ret, err);
}

int mxc_cgroup_open(struct mxc_cgroups *c, const char *id, struct mxc_cgroup **ret,
		    struct mxc_error *err)
{
	return open_group(c, id, false, 0, 0, ret, err);
}

int mxc_cgroup_attach(struct mxc_cgroup *g, pid_t pid, struct mxc_error *err)
{
	char val[16];
	snprintf(val, sizeof(val), "%d", (int)pid);
	if (pid <= 0)
		return mxc_error_set(err, -EINVAL, "invalid process id %d", (int)pid);
	for (size_t i = 0; i < n_fds(g); i++) {
		int r = write_at(g->fd[i], "cgroup.procs", val);
		if (r < 0)
			return mxc_error_errno(err, r,
					       "failed to move process %d into the cgroup of "
					       "session '%s' in '%s'",
					       (int)pid, g->id, g->c->h[i].path);
	}
	return 0;
}

int mxc_cgroup_fd(const struct mxc_cgroup *g)
{
	return g->c->mode == MXC_CGROUP_V2 ? g->fd[0] : -1;
}

int mxc_cgroup_populated(const struct mxc_cgroup *g)
{
	return populated_fds(g->c->mode, g->fd, n_fds(g));
}

int mxc_cgroup_stats(const struct mxc_cgroup *g, struct mxc_cgroup_stats *ret)
{
	struct mxc_cgroup_stats s = {
		.memory_current = MXC_CGROUP_UNKNOWN,
		.memory_peak = MXC_CGROUP_UNKNOWN,
		.memory_max = MXC_CGROUP_UNKNOWN,
		.oom_kills = MXC_CGROUP_UNKNOWN,
		.tasks_current = MXC_CGROUP_UNKNOWN,
		.tasks_max = MXC_CGROUP_UNKNOWN,
		.tasks_refused = MXC_CGROUP_UNKNOWN,
	};
	bool v1 = g->c->mode == MXC_CGROUP_V1;
	for (size_t i = 0; i < n_fds(g); i++) {
		int fd = g->fd[i];
		unsigned ctl = g->c->h[i].controllers;
		if (ctl & MXC_CGROUP_MEMORY) {
			read_u64_at(fd, v1 ? "memory.usage_in_bytes" : "memory.current",
				    &s.memory_current);
			read_u64_at(fd, v1 ? "memory.max_usage_in_bytes" : "memory.peak",
				    &s.memory_peak);
			if (read_u64_at(fd, v1 ? "memory.limit_in_bytes" : "memory.max",
					&s.memory_max) == 0 &&
			    s.memory_max >= V1_NO_LIMIT)
				s.memory_max = 0;
			read_key_at(fd, v1 ? "memory.oom_control" : "memory.events", "oom_kill",
				    &s.oom_kills);
		}
		if (ctl & MXC_CGROUP_PIDS) {
			read_u64_at(fd, "pids.current", &s.tasks_current);
			if (read_u64_at(fd, "pids.max", &s.tasks_max) == 0 &&
			    s.tasks_max == UINT64_MAX)
				s.tasks_max = 0;
			read_key_at(fd, "pids.events", "max", &s.tasks_refused);
		}
	}
	*ret = s;
	return 0;
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key,
			       v == MXC_CGROUP_UNKNOWN ? NULL : json_object_new_int64((int64_t)v));
}

struct json_object *mxc_cgroup_to_json(const struct mxc_cgroup *g)
{
	struct mxc_cgroup_stats s;
	mxc_cgroup_stats(g, &s);
	struct json_object *o = json_object_new_object(), *paths = json_object_new_array();
	mxc_json_add_str(o, "mode", mxc_cgroup_mode_to_string(g->c->mode));
	for (size_t i = 0; i < n_fds(g); i++) {
		char *p;
		if (asprintf(&p, "%s/%s", g->c->h[i].path, g->id) >= 0) {
			json_object_array_add(paths, json_object_new_string(p));
			free(p);
		}
	}
	json_object_object_add(o, "paths", paths);
	add_u64(o, "memory_current", s.memory_current);
	add_u64(o, "memory_peak", s.memory_peak);
	add_u64(o, "memory_max", s.memory_max);
	add_u64(o, "oom_kills", s.oom_kills);
	add_u64(o, "tasks_current", s.tasks_current);
	add_u64(o, "tasks_max", s.tasks_max);
	add_u64(o, "tasks_refused", s.tasks_refused);
	return o;
}

int mxc_cgroup_kill(struct mxc_cgroup *g, unsigned timeout_ms)
{
	return kill_fds(g->c, g->fd, n_fds(g), now_ms() + timeout_ms);
}

/*
 * Removes directory name under parent (a cgroup), first whatever nests in it (at most
 * MAX_DEPTH deep), killing the processes of each level.
 */
static int remove_group(const struct mxc_cgroups *c, int parent, const char *name,
			unsigned depth, uint64_t deadline)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = 0;
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		mxc_close(dfd);
		r = -errno;
		goto out;
	}
	/* Children first; directory entries of a cgroup are cgroups. */
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		int rr = depth < MAX_DEPTH ? remove_group(c, fd, e->d_name, depth + 1, deadline)
					   : -ELOOP;
		if (rr < 0 && !r)
			r = rr;
	}
	closedir(d);
	kill_fds(c, &fd, 1, deadline);
	/* Whatever went wrong below, the directory's removal tells whether it is gone. */
	r = unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
out:
	close(fd);
	return r;
}

void mxc_cgroup_destroy(struct mxc_cgroup *g)
{
	if (!g)
		return;
	uint64_t deadline = now_ms() + DESTROY_WAIT_MS;
	kill_fds(g->c, g->fd, n_fds(g), deadline);
	for (size_t i = 0; i < n_fds(g); i++) {
		g->fd[i] = mxc_close(g->fd[i]);
		remove_group(g->c, g->c->h[i].fd, g->id, 0, deadline);
	}
	mxc_cgroup_free(g);
}

static bool in_strv(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int mxc_cgroups_cleanup_stale(struct mxc_cgroups *c, char *const *live, struct mxc_error *err)
{
	if (c->probe)
		return mxc_error_set(err, -EPERM, "cgroups were only probed");
	if (c->mode == MXC_CGROUP_NONE)
		return 0;
	/* The union of stale ids over the hierarchies (a crash may leave one of two). */
	char **stale = NULL;
	size_t n = 0, cap = 0;
	int r = 0, removed = 0, first = 0;
	for (size_t i = 0; i < c->n && r >= 0; i++) {
		int dfd = dup(c->h[i].fd);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!d) {
			mxc_close(dfd);
			r = mxc_error_errno(err, -errno, "failed to list '%s'", c->h[i].path);
			break;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR || !mxc_cgroup_id_valid(e->d_name) ||
			    in_strv(live, e->d_name) || in_strv(stale, e->d_name))
				continue;
			if (n + 1 >= cap) {
				size_t ncap = cap ? cap * 2 : 16;
				char **v = realloc(stale, ncap * sizeof(*v));
				if (!v) {
					r = mxc_error_set(err, -ENOMEM, "out of memory");
					break;
				}
				stale = v;
				cap = ncap;
			}
			if (!(stale[n] = strdup(e->d_name))) {
				r = mxc_error_set(err, -ENOMEM, "out of memory");
				break;
			}
			stale[++n] = NULL;
		}
		closedir(d);
	}
	for (size_t k = 0; k < n && r >= 0; k++) {
		uint64_t deadline = now_ms() + DESTROY_WAIT_MS;
		bool ok = true;
		for (size_t i = 0; i < c->n; i++) {
			int rr = remove_group(c, c->h[i].fd, stale[k], 0, deadline);
			if (rr < 0 && rr != -ENOENT) {
				ok = false;
				if (!first)
					first = mxc_error_errno(err, rr,
							"failed to remove the stale cgroup '%s/%s'",
							c->h[i].path, stale[k]);
			}
		}
		removed += ok;
	}
	mxc_strv_free(stale);
	if (r < 0)
		return r;
	return first ? first : removed;
}
