#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "display.h"
#include "landlock.h"
#include "mount.h"
#include "sandbox.h"
#include "seccomp-filter.h"
#include "util.h"

void mxc_sandbox_runtime_dir(uint32_t uid, char buf[static 32])
{
	snprintf(buf, 32, "/run/user/%u", uid);
}

/* The host's system directories, visible read-only; symbolic links are recreated as such. */
static int add_system(int rootfd, struct mxc_error *err)
{
	static const char *const names[] = { "usr", "etc", "var",   "opt",   "srv",
					     "bin", "sbin", "lib",  "lib32", "lib64",
					     "libx32" };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(names); i++) {
		char src[32], link[256];
		struct stat st;
		snprintf(src, sizeof(src), "/%s", names[i]);
		if (lstat(src, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(src, link, sizeof(link) - 1);
			if (n < 0)
				return mxc_error_errno(err, -errno, "failed to read link '%s'", src);
			link[n] = '\0';
			if (symlinkat(link, rootfd, names[i]) < 0)
				return mxc_error_errno(err, -errno, "failed to link '%s'", src);
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		if (mkdirat(rootfd, names[i], 0755) < 0)
			return mxc_error_errno(err, -errno, "failed to create '%s'", src);
		int r = mxc_mount_bind(rootfd, src, names[i],
				MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_dev(int rootfd, uint64_t shm_bytes, struct mxc_error *err)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 },    { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },     { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },
	};
	static const char *const dev_opts[] = { "mode", "0755", "size", "1m", NULL };
	static const char *const pts_opts[] = { "ptmxmode", "0666", "mode", "0620", "gid", "5", NULL };
	char size[32];
	snprintf(size, sizeof(size), "%llu", (unsigned long long)shm_bytes);
	const char *const shm_opts[] = { "mode", "1777", "size", size, NULL };

	int r;
	if (mkdirat(rootfd, "dev", 0755) < 0)
		return mxc_error_errno(err, -errno, "failed to create '/dev'");
	r = mxc_mount_new_at(rootfd, "dev", "tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
	if (r < 0)
		return r;
	int dev = mxc_root_open(rootfd, "dev", O_PATH | O_DIRECTORY);
	if (dev < 0)
		return mxc_error_errno(err, dev, "failed to open '/dev'");
	for (size_t i = 0; i < MXC_ARRAY_SIZE(nodes) && r == 0; i++) {
		if (mknodat(dev, nodes[i].name, S_IFCHR | 0666,
			    makedev(nodes[i].major, nodes[i].minor)) < 0)
			r = mxc_error_errno(err, -errno, "failed to create '/dev/%s'", nodes[i].name);
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(links) && r == 0; i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0)
			r = mxc_error_errno(err, -errno, "failed to create '/dev/%s'", links[i][0]);
	if (r == 0 && (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0))
		r = mxc_error_errno(err, -errno, "failed to create '/dev/pts' or '/dev/shm'");
	close(dev);
	if (r == 0)
		r = mxc_mount_new_at(rootfd, "dev/pts", "devpts", pts_opts,
			  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
	if (r == 0)
		r = mxc_mount_new_at(rootfd, "dev/shm", "tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
			  err);
	return r;
}

static int add_run(int rootfd, const struct mxc_sandbox *sb, struct mxc_error *err)
{
	static const char *const run_opts[] = { "mode", "0755", "size", "1m", NULL };
	char size[32], uid[16], gid[16], xdg[32];
	snprintf(size, sizeof(size), "%llu", (unsigned long long)sb->runtime_bytes);
	snprintf(uid, sizeof(uid), "%u", sb->uid);
	snprintf(gid, sizeof(gid), "%u", sb->gid);
	mxc_sandbox_runtime_dir(sb->uid, xdg);
	const char *const xdg_opts[] = { "mode", "0700", "size", size, "uid", uid, "gid", gid, NULL };

	if (mkdirat(rootfd, "run", 0755) < 0)
		return mxc_error_errno(err, -errno, "failed to create '/run'");
	int r = mxc_mount_new_at(rootfd, "run", "tmpfs", run_opts,
		      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
	if (r == 0 && (r = mxc_root_mkdirs(rootfd, mxc_rel_path(xdg), 0755)) < 0)
		mxc_error_errno(err, r, "failed to create '%s'", xdg);
	if (r == 0)
		r = mxc_mount_new_at(rootfd, mxc_rel_path(xdg), "tmpfs", xdg_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
			  err);
	return r;
}

static int add_tmp(int rootfd, const struct mxc_sandbox *sb, struct mxc_error *err)
{
	char size[32];
	snprintf(size, sizeof(size), "%llu", (unsigned long long)sb->tmp_bytes);
	const char *const tmp_opts[] = { "mode", "1777", "size", size, NULL };

	if (mkdirat(rootfd, "tmp", 01777) < 0)
		return mxc_error_errno(err, -errno, "failed to create '/tmp'");
	int r = mxc_mount_new_at(rootfd, "tmp", "tmpfs", tmp_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);
	if (r == 0) {
		int vt = mxc_root_open(rootfd, "var/tmp", O_PATH | O_DIRECTORY);
		if (vt >= 0) {
			close(vt);
			r = mxc_mount_new_at(rootfd, "var/tmp", "tmpfs", tmp_opts,
				  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);
		}
	}
	if (r == 0 && sb->x11_dir) {
		if (mkdirat(rootfd, "tmp/.X11-unix", 0755) < 0)
			return mxc_error_errno(err, -errno, "failed to create '/tmp/.X11-unix'");
		r = mxc_mount_bind(rootfd, sb->x11_dir, "tmp/.X11-unix",
			    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, false, err);
	}
	return r;
}

/*
 * Masks the host paths that must not be seen (the state and runtime directories, other
 * agents' homes with them) with empty tmpfs mounts. Runs right after the system binds, so
 * that only host content is masked, never the session's own fresh mounts; the masks stay
 * writable until lock_masks() so that the home can be bound inside one of them.
 */
static int add_masks(int rootfd, const struct mxc_sandbox *sb, uint32_t *ret_masked,
		     struct mxc_error *err)
{
	static const char *const mask_opts[] = { "mode", "0755", "size", "64k", NULL };
	uint32_t masked = 0;
	for (size_t i = 0; sb->masks && sb->masks[i] && i < 32; i++) {
		int fd = mxc_root_open(rootfd, mxc_rel_path(sb->masks[i]), O_PATH | O_DIRECTORY);
		if (fd < 0)
			continue;
		close(fd);
		int r = mxc_mount_new_at(rootfd, mxc_rel_path(sb->masks[i]), "tmpfs", mask_opts,
			      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
		if (r < 0)
			return r;
		masked |= 1u << i;
	}
	*ret_masked = masked;
	return 0;
}

static int lock_masks(int rootfd, const struct mxc_sandbox *sb, uint32_t masked,
		      struct mxc_error *err)
{
	for (size_t i = 0; sb->masks && sb->masks[i] && i < 32; i++) {
		int r = masked & (1u << i) ? mxc_mount_set_readonly(rootfd, mxc_rel_path(sb->masks[i]), err) : 0;
		if (r < 0)
			return r;
	}
	return 0;
}

/* The agent's home, read-write at the path its account names. */
static int add_home(int rootfd, const struct mxc_sandbox *sb, struct mxc_error *err)
{
	int r = mxc_root_mkdirs(rootfd, mxc_rel_path(sb->home), 0755);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to create '%s' in the session", sb->home);
	return mxc_mount_bind(rootfd, sb->home, mxc_rel_path(sb->home), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		       false, err);
}

/* The session's own daemon socket directory, read-only at /run/mxc. */
static int add_socket_dir(int rootfd, const struct mxc_sandbox *sb, struct mxc_error *err)
{
	if (!sb->socket_dir)
		return 0;
	if (mkdirat(rootfd, "run/mxc", 0755) < 0)
		return mxc_error_errno(err, -errno, "failed to create '/run/mxc'");
	return mxc_mount_bind(rootfd, sb->socket_dir, "run/mxc",
		       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
		       false, err);
}

/*
 * The session-side programs, each bound over an empty file in /run/mxc-libexec: exactly the
 * files the daemon checked when it started, whatever their host directory holds besides.
 * (A mount of the host's namespace cannot be cloned through a descriptor from here; the path
 * is, and the inode says whether it is still the same file.)
 */
static int add_programs(int rootfd, const struct mxc_sandbox *sb, struct mxc_error *err)
{
	if (!sb->n_programs)
		return 0;
	if (mkdirat(rootfd, "run/mxc-libexec", 0755) < 0)
		return mxc_error_errno(err, -errno, "failed to create '/run/mxc-libexec'");
	for (size_t i = 0; i < sb->n_programs; i++) {
		const struct mxc_sandbox_program *p = &sb->programs[i];
		char rel[256];
		if (!p->name[0] || strchr(p->name, '/') ||
		    (size_t)snprintf(rel, sizeof(rel), "run/mxc-libexec/%s", p->name) >= sizeof(rel))
			return mxc_error_set(err, -EINVAL, "bad program name '%s'", p->name);
		int fd = openat(rootfd, rel, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0755);
		if (fd < 0)
			return mxc_error_errno(err, -errno, "failed to create '/%s'", rel);
		close(fd);
		int tree = open_tree(AT_FDCWD, p->path,
				     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
		if (tree < 0)
			return mxc_error_errno(err, -errno, "failed to clone program '%s'", p->path);
		struct stat a, b;
		if (fstat(tree, &a) < 0 || fstat(p->fd, &b) < 0 || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino) {
			close(tree);
			return mxc_error_set(err, -ESTALE,
					     "'%s' was replaced since mxc-sessiond started; restart "
					     "it",
					     p->path);
		}
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						       MOUNT_ATTR_NODEV,
					   .propagation = MS_PRIVATE };
		int r = mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ? -errno : 0;
		if (r == 0)
			r = mxc_mount_attach(tree, rootfd, rel);
		close(tree);
		if (r < 0)
			return mxc_error_errno(err, r, "failed to mount program '%s'", p->name);
	}
	return 0;
}

static int loopback_up(struct mxc_error *err)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return mxc_error_errno(err, -errno, "failed to open a socket");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int r = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (r == 0 && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(s);
	return r < 0 ? mxc_error_errno(err, r, "failed to bring up the loopback interface") : 0;
}

static int write_xauthority(int rootfd, const struct mxc_sandbox *sb, struct mxc_error *err)
{
	char xdg[32];
	mxc_sandbox_runtime_dir(sb->uid, xdg);
	int dir = mxc_root_open(rootfd, mxc_rel_path(xdg), O_PATH | O_DIRECTORY);
	if (dir < 0)
		return mxc_error_errno(err, dir, "failed to open '%s'", xdg);
	int fd = openat(dir, "Xauthority", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			0600);
	close(dir);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to create the X authority file");
	int r = mxc_xauth_write(fd, sb->display, sb->cookie, err);
	if (r == 0 && fchown(fd, sb->uid, sb->gid) < 0)
		r = mxc_error_errno(err, -errno, "failed to hand the X authority file to the agent");
	close(fd);
	return r;
}

int mxc_sandbox_setup(const struct mxc_sandbox *sb, struct mxc_error *err)
{
	static const char *const root_opts[] = { "mode", "0755", "size", "1m", NULL };
	static const char *const proc_opts[] = { NULL };
	int rootfd = -1, r;

	umask(0);
	/* Nothing mounted here may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return mxc_error_errno(err, -errno, "failed to make the mount namespace private");

	int mnt = mxc_mount_new("tmpfs", root_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, sb->root, err);
	if (mnt < 0)
		return mnt;
	r = move_mount(mnt, "", AT_FDCWD, sb->root, MOVE_MOUNT_F_EMPTY_PATH) < 0 ? -errno : 0;
	close(mnt);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to mount the session root on '%s'", sb->root);
	rootfd = open(sb->root, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (rootfd < 0)
		return mxc_error_errno(err, -errno, "failed to open the session root '%s'", sb->root);

	/* Masks go on right after the system binds: they must hide host content only. */
	uint32_t masked = 0;
	if ((r = add_system(rootfd, err)) < 0 || (r = add_masks(rootfd, sb, &masked, err)) < 0 ||
	    (r = add_tmp(rootfd, sb, err)) < 0 || (r = add_run(rootfd, sb, err)) < 0 ||
	    (r = add_dev(rootfd, sb->tmp_bytes, err)) < 0)
		goto out;

	if (mkdirat(rootfd, "proc", 0555) < 0 || mkdirat(rootfd, "sys", 0555) < 0) {
		r = mxc_error_errno(err, -errno, "failed to create '/proc' or '/sys'");
		goto out;
	}
	if ((r = mxc_mount_new_at(rootfd, "proc", "proc", proc_opts,
		       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err)) < 0 ||
	    (r = mxc_mount_new_at(rootfd, "sys", "sysfs", proc_opts,
		       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
		       err)) < 0)
		goto out;

	if ((r = add_home(rootfd, sb, err)) < 0 ||
	    (sb->rules && (r = mxc_fs_rules_apply(rootfd, sb->rules, err)) < 0) ||
	    (r = lock_masks(rootfd, sb, masked, err)) < 0 ||
	    (r = add_socket_dir(rootfd, sb, err)) < 0 || (r = add_programs(rootfd, sb, err)) < 0 ||
	    (r = mxc_mount_set_readonly(rootfd, "run", err)) < 0)
		goto out;
	if (sb->cookie && (r = write_xauthority(rootfd, sb, err)) < 0)
		goto out;

	if (sethostname(sb->hostname, strlen(sb->hostname)) < 0) {
		r = mxc_error_errno(err, -errno, "failed to set the host name");
		goto out;
	}
	if ((r = loopback_up(err)) < 0)
		goto out;

	/* Swap roots: the old root is stacked under the new one and detached from it. */
	if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		r = mxc_error_errno(err, -errno, "failed to switch to the session root");
		goto out;
	}
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(AT_FDCWD, "/", 0, &ro, sizeof(ro)) < 0) {
		r = mxc_error_errno(err, -errno, "failed to make the session root read-only");
		goto out;
	}
	r = 0;
out:
	mxc_close(rootfd);
	umask(022);
	return r;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 40;
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	return last;
}

int mxc_sandbox_drop(uint32_t uid, uint32_t gid, const uint32_t *groups, size_t n_groups,
		     struct mxc_error *err)
{
	if (uid == 0 || gid == 0)
		return mxc_error_set(err, -EPERM, "refusing to run a session as root");
	int last = last_cap();
	for (int c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return mxc_error_errno(err, -errno, "failed to drop capability %d", c);
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
					     SECBIT_NO_CAP_AMBIENT_RAISE |
					     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
		  0, 0, 0) < 0)
		return mxc_error_errno(err, -errno, "failed to lock securebits");
	if (setgroups(n_groups, (const gid_t *)groups) < 0)
		return mxc_error_errno(err, -errno, "failed to set groups");
	if (setresgid(gid, gid, gid) < 0)
		return mxc_error_errno(err, -errno, "failed to set gid %u", gid);
	if (setresuid(uid, uid, uid) < 0)
		return mxc_error_errno(err, -errno, "failed to set uid %u", uid);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return mxc_error_errno(err, -errno, "failed to set no_new_privs");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return mxc_error_errno(err, -errno, "failed to clear ambient capabilities");

	/* Verify rather than trust: no capability in any set, and no way back to root. */
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return mxc_error_errno(err, -errno, "failed to read capabilities");
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return mxc_error_set(err, -EPERM, "capabilities survived the drop");
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return mxc_error_set(err, -EPERM, "credentials are not the agent's after the drop");
	if (setuid(0) == 0 || setgid(0) == 0)
		return mxc_error_set(err, -EPERM, "root could be regained after the drop");
	return 0;
}

int mxc_sandbox_tcp_ports(const struct mxc_policy_network *net, bool *ret_restrict,
			  uint16_t **ret_ports, size_t *ret_n)
{
	*ret_restrict = false;
	*ret_ports = NULL;
	*ret_n = 0;
	/* Loopback only, or anything allowed by default: nothing a port list could add. */
	if (net->egress_default != MXC_POLICY_DENY || !net->n_allow)
		return 0;
	uint8_t seen[65536 / 8] = { 0 };
	size_t n = 0;
	for (size_t i = 0; i < net->n_allow; i++) {
		const struct mxc_policy_net_rule *rule = &net->allow[i];
		if (!rule->n_ports)
			return 0; /* every protocol and port */
		for (size_t j = 0; j < rule->n_ports; j++) {
			const struct mxc_policy_port *p = &rule->ports[j];
			if (p->protocol != MXC_POLICY_PROTO_TCP && p->protocol != MXC_POLICY_PROTO_ANY)
				continue;
			if (!p->port)
				return 0; /* every TCP port */
			for (uint32_t port = p->port; port <= p->end_port; port++) {
				if (seen[port / 8] & (1u << (port % 8)))
					continue;
				seen[port / 8] |= (uint8_t)(1u << (port % 8));
				if (++n > MXC_SANDBOX_MAX_TCP_PORTS)
					return 0;
			}
		}
	}
	uint16_t *ports = calloc(n ? n : 1, sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	size_t k = 0;
	for (uint32_t port = 1; port < 65536; port++)
		if (seen[port / 8] & (1u << (port % 8)))
			ports[k++] = (uint16_t)port;
	*ret_restrict = true;
	*ret_ports = ports;
	*ret_n = n;
	return 0;
}

/* What a session's Landlock domain asks for besides its paths and ports. */
static struct mxc_landlock_spec session_spec(bool restrict_tcp)
{
	return (struct mxc_landlock_spec){
		.restrict_tcp_connect = restrict_tcp,
		.scope_abstract_unix = true,
		.scope_signals = true,
	};
}

int mxc_sandbox_landlock_missing(const struct mxc_policy_network *net, int abi, bool *ret_tcp,
				 char ***ret)
{
	uint16_t *ports = NULL;
	size_t n = 0;
	int r = mxc_sandbox_tcp_ports(net, ret_tcp, &ports, &n);
	free(ports);
	if (r < 0)
		return r;
	struct mxc_landlock_spec spec = session_spec(*ret_tcp);
	return mxc_landlock_missing(&spec, abi, ret);
}

int mxc_sandbox_confine(const struct mxc_sandbox *sb, bool restrict_tcp, const uint16_t *tcp_ports,
			size_t n_tcp_ports, struct mxc_error *err)
{
	enum {
		R = MXC_LL_READ,
		RX = MXC_LL_READ | MXC_LL_EXEC,
		RWX = MXC_LL_READ | MXC_LL_WRITE | MXC_LL_EXEC,
		OPT = MXC_LL_OPTIONAL,
	};
	char xdg[32];
	mxc_sandbox_runtime_dir(sb->uid, xdg);
	/* The baseline of mxc_sandbox_setup(); links such as /bin resolve into /usr. */
	const struct mxc_landlock_path base[] = {
		{ "/", -1, MXC_LL_LIST },
		{ "/usr", -1, RX },
		{ "/etc", -1, R },
		{ "/var", -1, R },
		{ "/opt", -1, RX | OPT },
		{ "/srv", -1, R | OPT },
		{ "/bin", -1, RX | OPT },
		{ "/sbin", -1, RX | OPT },
		{ "/lib", -1, RX | OPT },
		{ "/lib32", -1, RX | OPT },
		{ "/lib64", -1, RX | OPT },
		{ "/libx32", -1, RX | OPT },
		{ "/tmp", -1, RWX },
		{ "/var/tmp", -1, RWX | OPT },
		{ "/dev", -1, MXC_LL_READ | MXC_LL_WRITE | MXC_LL_DEV },
		{ "/dev/shm", -1, RWX },
		{ "/proc", -1, MXC_LL_READ | MXC_LL_WRITE },
		{ "/sys", -1, R },
		{ "/run", -1, MXC_LL_LIST },
		{ xdg, -1, RWX },
		{ "/run/mxc", -1, R | OPT },
		{ "/run/mxc-libexec", -1, RX },
		{ sb->home, -1, RWX | MXC_LL_NO_SYMLINKS },
	};
	size_t n_rules = sb->rules ? sb->rules->n : 0;
	struct mxc_landlock_path *paths = calloc(MXC_ARRAY_SIZE(base) + n_rules, sizeof(*paths));
	if (!paths)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	memcpy(paths, base, sizeof(base));
	size_t n = MXC_ARRAY_SIZE(base);
	/* Denied paths and aliases get nothing: the mounts hide them, and Landlock only grants. */
	for (size_t i = 0; i < n_rules; i++) {
		const struct mxc_fs_rule *rule = &sb->rules->v[i];
		if (rule->alias || rule->intent == MXC_FS_DENY)
			continue;
		paths[n++] = (struct mxc_landlock_path){
			rule->path, -1, rule->intent == MXC_FS_RW ? RWX : RX
		};
	}
	struct mxc_landlock_spec spec = session_spec(restrict_tcp);
	spec.paths = paths;
	spec.n_paths = n;
	spec.connect_ports = tcp_ports;
	spec.n_connect = n_tcp_ports;
	int r = mxc_landlock_apply(&spec, NULL, err);
	free(paths);
	if (r < 0)
		return r;
	return mxc_seccomp_apply(err);
}
