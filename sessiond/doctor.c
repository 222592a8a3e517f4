/*
 * The host report behind `mxc doctor`: see doctor.h. Checks that create anything run in a
 * throwaway child (probe_main) in namespaces of its own; it reports one line per check
 * through a pipe.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_link.h>
#include <linux/landlock.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <linux/veth.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "display.h"
#include "doctor.h"
#include "fs.h"
#include "json.h"
#include "proc.h"
#include "util.h"

#define PROBE_TIMEOUT_MS 2000
#define REASON_MAX	 240

enum check_id {
	C_PRIVILEGES,
	C_NS_MOUNT,
	C_NS_PID,
	C_NS_NET,
	C_NS_IPC,
	C_NS_UTS,
	C_NS_CGROUP,
	C_NS_USER,
	C_CLONE3,
	C_PIDFD,
	C_OPENAT2,
	C_MOUNT_API,
	C_TMPFS,
	C_OVERLAY,
	C_LANDLOCK,
	C_SECCOMP_FILTER,
	C_SECCOMP_LISTENER,
	C_CGROUPS,
	C_NFTABLES,
	C_VETH,
	C_XVFB,
	N_CHECKS,
};

static const struct {
	const char *name;
	bool required; /* no session starts without it */
	const char *used_for;
} checks[N_CHECKS] = {
	[C_PRIVILEGES] = { "privileges", true, "everything: the daemon runs as root" },
	[C_NS_MOUNT] = { "namespace.mount", true, "each session's own filesystem view" },
	[C_NS_PID] = { "namespace.pid", true, "each session's own processes" },
	[C_NS_NET] = { "namespace.net", true, "each session's own network" },
	[C_NS_IPC] = { "namespace.ipc", true, "each session's own System V IPC" },
	[C_NS_UTS] = { "namespace.uts", true, "each session's own host name" },
	[C_NS_CGROUP] = { "namespace.cgroup", true, "hiding the host's cgroup tree" },
	[C_NS_USER] = { "namespace.user", false, "nothing: mxc-sessiond runs as root" },
	[C_CLONE3] = { "clone3", true, "starting session leaders with a pidfd" },
	[C_PIDFD] = { "pidfd", true, "signalling session processes without pid races" },
	[C_OPENAT2] = { "openat2", true, "opening paths beneath an agent's directories" },
	[C_MOUNT_API] = { "mount_api", true, "building a session's filesystem view" },
	[C_TMPFS] = { "tmpfs", true, "a session's /tmp, /run and /dev (limits.tmpBytes)" },
	[C_OVERLAY] = { "overlay", false, "writable layers over read-only trees" },
	[C_LANDLOCK] = { "landlock", false, "filesystem and TCP rules inside sessions" },
	[C_SECCOMP_FILTER] = { "seccomp.filter", false, "the sessions' system call filter" },
	[C_SECCOMP_LISTENER] = { "seccomp.listener", false, "supervised system calls" },
	[C_CGROUPS] = { "cgroups", false, "session.limits memoryBytes and tasks" },
	[C_NFTABLES] = { "nftables", false, "network.egress and network.ingress rules" },
	[C_VETH] = { "veth", false, "sessions with network beyond loopback" },
	[C_XVFB] = { "xvfb", false, "sessions with a display (ui.allowWindows)" },
};

struct result {
	bool set, ok;
	char reason[REASON_MAX];
};

static void set_result(struct result *res, enum check_id id, bool ok, const char *fmt, ...)
	MXC_PRINTF(4, 5);
static void set_result(struct result *res, enum check_id id, bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res[id].reason, sizeof(res[id].reason), fmt, ap);
	va_end(ap);
	res[id].set = true;
	res[id].ok = ok;
}

/* ---- the throwaway child ---- */

static int report_fd = -1;

/* One line to the parent: "ID OK REASON". */
static void report(enum check_id id, bool ok, const char *fmt, ...) MXC_PRINTF(3, 4);
static void report(enum check_id id, bool ok, const char *fmt, ...)
{
	char reason[REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	for (char *p = reason; *p; p++)
		if (*p == '\n')
			*p = ' ';
	dprintf(report_fd, "%d %d %s\n", (int)id, ok ? 1 : 0, reason);
}

static bool try_unshare(int flag, enum check_id id, const char *flag_name)
{
	if (unshare(flag) == 0) {
		report(id, true, "unshare(%s) works", flag_name);
		return true;
	}
	report(id, false, "unshare(%s): %s", flag_name, strerror(errno));
	return false;
}

/* Appends attribute type with len bytes of data to the message in buf; returns it. */
static struct rtattr *add_attr(struct nlmsghdr *nh, size_t size, unsigned short type,
			       const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(nh->nlmsg_len), need = RTA_LENGTH(len);
	if (at + RTA_ALIGN(need) > size)
		return NULL;
	struct rtattr *rta = (struct rtattr *)((char *)nh + at);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)need;
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = (uint32_t)(at + RTA_ALIGN(need));
	return rta;
}

static void end_nest(struct nlmsghdr *nh, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)nh + nh->nlmsg_len - (char *)nest);
}

/* A veth pair in the child's own network namespace, through rtnetlink. */
static void check_veth(void)
{
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} req = { 0 };
	struct nlmsghdr *nh = &req.nh;
	nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	nh->nlmsg_type = RTM_NEWLINK;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nh->nlmsg_seq = 1;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *peer;
	bool ok = add_attr(nh, sizeof(req), IFLA_IFNAME, "mxcdoc0", 8) &&
		  (info = add_attr(nh, sizeof(req), IFLA_LINKINFO, NULL, 0)) &&
		  add_attr(nh, sizeof(req), IFLA_INFO_KIND, "veth", 5) &&
		  (data = add_attr(nh, sizeof(req), IFLA_INFO_DATA, NULL, 0)) &&
		  (peer = add_attr(nh, sizeof(req), VETH_INFO_PEER, &ifi, sizeof(ifi))) &&
		  add_attr(nh, sizeof(req), IFLA_IFNAME, "mxcdoc1", 8);
	if (!ok) {
		report(C_VETH, false, "netlink message too large");
		return;
	}
	end_nest(nh, peer);
	end_nest(nh, data);
	end_nest(nh, info);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		report(C_VETH, false, "rtnetlink socket: %s", strerror(errno));
		return;
	}
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int err = -EIO;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
	} else {
		union {
			struct nlmsghdr nh;
			char buf[4096];
		} ans;
		ssize_t n = recv(fd, &ans, sizeof(ans), 0);
		if (n < 0)
			err = -errno;
		else if ((size_t)n >= NLMSG_LENGTH(sizeof(struct nlmsgerr)) &&
			 ans.nh.nlmsg_type == NLMSG_ERROR)
			err = ((struct nlmsgerr *)NLMSG_DATA(&ans.nh))->error;
	}
	close(fd);
	if (err == 0)
		report(C_VETH, true, "created a veth pair in a scratch network namespace");
	else if (err == -EOPNOTSUPP)
		report(C_VETH, false, "the kernel has no veth driver (module veth)");
	else
		report(C_VETH, false, "creating a veth pair: %s", strerror(-err));
}

/*
 * The kind of ruleset mxc loads (net.h): an inet table with a forward filter chain that
 * uses conntrack and a postrouting NAT chain that masquerades.
 */
static void check_nftables(void)
{
	static const char ruleset[] =
		"table inet mxc_doctor {\n"
		"  chain forward { type filter hook forward priority 0; policy accept;\n"
		"    ct state established,related accept; }\n"
		"  chain post { type nat hook postrouting priority 100; masquerade; }\n"
		"}\n";
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		report(C_NFTABLES, false, "libnftables: cannot create a context");
		return;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, ruleset) == 0) {
		report(C_NFTABLES, true,
		       "libnftables loaded a table with conntrack and masquerade rules in a "
		       "scratch network namespace");
	} else {
		const char *e = nft_ctx_get_error_buffer(nft);
		char first[160];
		snprintf(first, sizeof(first), "%s", e && *e ? e : "unknown error");
		first[strcspn(first, "\n")] = '\0';
		report(C_NFTABLES, false, "libnftables: %s", first);
	}
	nft_ctx_free(nft);
}

/* The mount API, tmpfs and overlay, in the child's private mount namespace only. */
static void check_mounts(void)
{
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC), mnt = -1, tree = -1;
	if (fs < 0) {
		int e = errno;
		report(C_MOUNT_API, false, "fsopen: %s", strerror(e));
		report(C_TMPFS, false, "not tried: no mount API");
		report(C_OVERLAY, false, "not tried: no mount API");
		return;
	}
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", "1m", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		report(C_TMPFS, false, "tmpfs with a size limit: %s", strerror(errno));
		report(C_MOUNT_API, false, "not tried: no tmpfs");
		report(C_OVERLAY, false, "not tried: no tmpfs");
		close(fs);
		return;
	}
	report(C_TMPFS, true, "tmpfs with a size limit works");
	const char *step = "fsmount";
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOEXEC };
	const char *const targets[] = { "/tmp", "/run", "/mnt" };
	const char *target = NULL;
	bool ok = (mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)) >= 0;
	if (ok && !(ok = mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0))
		step = "mount_setattr";
	if (ok) {
		tree = open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (!(ok = tree >= 0))
			step = "open_tree";
	}
	for (size_t i = 0; ok && !target && i < MXC_ARRAY_SIZE(targets); i++)
		if (move_mount(mnt, "", AT_FDCWD, targets[i], MOVE_MOUNT_F_EMPTY_PATH) == 0)
			target = targets[i];
	if (ok && !target) {
		ok = false;
		step = "move_mount";
	}
	if (ok)
		report(C_MOUNT_API, true,
		       "fsopen, fsmount, mount_setattr, open_tree, move_mount work");
	else
		report(C_MOUNT_API, false, "%s: %s", step, strerror(errno));
	mxc_close(tree);
	mxc_close(mnt);
	close(fs);
	if (!ok) {
		report(C_OVERLAY, false, "not tried: no mount API");
		return;
	}

	/* On the scratch tmpfs, private to this child. */
	char l[64], u[64], w[64], m[64], opts[300], f[80];
	snprintf(l, sizeof(l), "%s/l", target);
	snprintf(u, sizeof(u), "%s/u", target);
	snprintf(w, sizeof(w), "%s/w", target);
	snprintf(m, sizeof(m), "%s/m", target);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", l, u, w);
	snprintf(f, sizeof(f), "%s/l/f", target);
	int fd;
	if (mkdir(l, 0755) < 0 || mkdir(u, 0755) < 0 || mkdir(w, 0755) < 0 || mkdir(m, 0755) < 0 ||
	    (fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		report(C_OVERLAY, false, "preparing directories: %s", strerror(errno));
		return;
	}
	close(fd);
	if (mount("overlay", m, "overlay", 0, opts) < 0) {
		int e = errno;
		report(C_OVERLAY, false, "%s",
		       e == ENODEV ? "the kernel has no overlay file system (module overlay)"
				   : strerror(e));
		return;
	}
	snprintf(f, sizeof(f), "%s/m/f", target);
	if (access(f, F_OK) == 0)
		report(C_OVERLAY, true, "mounted an overlay on tmpfs");
	else
		report(C_OVERLAY, false, "an overlay mount does not show its lower layer");
}

static void check_seccomp(void)
{
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = allow };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		report(C_SECCOMP_FILTER, false, "no_new_privs: %s", strerror(errno));
		report(C_SECCOMP_LISTENER, false, "not tried: no no_new_privs");
		return;
	}
	/* The actions a filter uses to refuse calls. */
	static const uint32_t actions[] = { SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(actions); i++) {
		uint32_t a = actions[i];
		if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &a) < 0) {
			report(C_SECCOMP_FILTER, false, "action 0x%x not available: %s", actions[i],
			       strerror(errno));
			report(C_SECCOMP_LISTENER, false, "not tried: no seccomp filter");
			return;
		}
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		report(C_SECCOMP_FILTER, false, "loading a filter: %s", strerror(errno));
		report(C_SECCOMP_LISTENER, false, "not tried: no seccomp filter");
		return;
	}
	report(C_SECCOMP_FILTER, true, "loaded a filter; errno and kill-process actions available");
	uint32_t notif = SECCOMP_RET_USER_NOTIF;
	long fd = -1;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &notif) < 0)
		report(C_SECCOMP_LISTENER, false, "user notification: %s", strerror(errno));
	else if ((fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			       SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)) < 0)
		report(C_SECCOMP_LISTENER, false, "a filter with a listener: %s", strerror(errno));
	else
		report(C_SECCOMP_LISTENER, true, "loaded a filter with a listener");
	if (fd >= 0)
		close((int)fd);
}

/*
 * The throwaway child. Whatever it creates lives in namespaces that die with it; the mount
 * namespace is made private first, or nothing is mounted at all.
 */
static void __attribute__((noreturn)) probe_main(int fd)
{
	mxc_child_reset_signals();
	mxc_close_all_except(&fd, 1);
	report_fd = fd;
	report(C_CLONE3, true, "clone3 with CLONE_PIDFD works");

	bool private_mounts = try_unshare(CLONE_NEWNS, C_NS_MOUNT, "CLONE_NEWNS") &&
			      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	try_unshare(CLONE_NEWUTS, C_NS_UTS, "CLONE_NEWUTS");
	try_unshare(CLONE_NEWIPC, C_NS_IPC, "CLONE_NEWIPC");
	try_unshare(CLONE_NEWCGROUP, C_NS_CGROUP, "CLONE_NEWCGROUP");
	try_unshare(CLONE_NEWPID, C_NS_PID, "CLONE_NEWPID");
	if (try_unshare(CLONE_NEWNET, C_NS_NET, "CLONE_NEWNET")) {
		check_veth();
		check_nftables();
	} else {
		report(C_VETH, false, "not tried: never in the host's network namespace");
		report(C_NFTABLES, false, "not tried: never in the host's network namespace");
	}
	if (private_mounts) {
		check_mounts();
	} else {
		report(C_MOUNT_API, false, "not tried: no private mount namespace");
		report(C_TMPFS, false, "not tried: no private mount namespace");
		report(C_OVERLAY, false, "not tried: no private mount namespace");
	}
	check_seccomp();
	/* Last: a user namespace would take the privileges the checks above need. */
	try_unshare(CLONE_NEWUSER, C_NS_USER, "CLONE_NEWUSER");
	_exit(0);
}

/* Reads the child's lines until it closes the pipe or the deadline passes. */
static void collect(int fd, struct result *res, uint64_t deadline_ns)
{
	char buf[8192];
	size_t len = 0;
	for (;;) {
		uint64_t now = mxc_now_mono_ns();
		if (now >= deadline_ns)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)((deadline_ns - now) / 1000000u) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ssize_t got = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
		buf[len] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			int id, ok, off = 0;
			if (sscanf(line, "%d %d %n", &id, &ok, &off) == 2 && off > 0 && id >= 0 &&
			    id < N_CHECKS && !res[id].set)
				set_result(res, (enum check_id)id, ok == 1, "%s", line + off);
			line = nl + 1;
		}
		len = strlen(line);
		memmove(buf, line, len + 1);
		if (len == sizeof(buf) - 1)
			len = 0; /* a line that long is no report */
	}
}

/* Runs probe_main in a child and gathers its results. */
static void run_probe(struct result *res)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	int pidfd = -1;
	pid_t pid = mxc_clone(0, &pidfd);
	if (pid == -ENOSYS) {
		set_result(res, C_CLONE3, false, "clone3: %s", strerror(ENOSYS));
		pid = fork();
		if (pid < 0)
			pid = -errno;
	}
	if (pid == 0)
		probe_main(p[1]);
	close(p[1]);
	if (pid < 0) {
		set_result(res, C_CLONE3, false, "clone3: %s", strerror(-pid));
		close(p[0]);
		return;
	}
	collect(p[0], res, mxc_now_mono_ns() + PROBE_TIMEOUT_MS * 1000000ull);
	close(p[0]);
	kill(pid, SIGKILL); /* no-op if it is done; ends it if it hangs */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	mxc_close(pidfd);
}

/* ---- checks in the caller, all queries ---- */

static void check_privileges(struct result *res)
{
	static const struct {
		int bit;
		const char *name;
	} caps[] = {
		{ 21, "CAP_SYS_ADMIN" }, { 12, "CAP_NET_ADMIN" }, { 7, "CAP_SETUID" },
		{ 6, "CAP_SETGID" },	 { 5, "CAP_KILL" },
	};
	char *status = NULL;
	unsigned long long eff = 0;
	if (mxc_read_file("/proc/self/status", 65536, &status, NULL) == 0) {
		char *p = strstr(status, "\nCapEff:");
		if (p)
			eff = strtoull(p + 8, NULL, 16);
		free(status);
	}
	char missing[128] = "";
	for (size_t i = 0; i < MXC_ARRAY_SIZE(caps); i++)
		if (!(eff & (1ull << caps[i].bit))) {
			size_t len = strlen(missing);
			snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? ", " : "",
				 caps[i].name);
		}
	if (geteuid() != 0)
		set_result(res, C_PRIVILEGES, false, "not running as root (uid %u)",
			   (unsigned)geteuid());
	else if (missing[0])
		set_result(res, C_PRIVILEGES, false, "root without %s", missing);
	else
		set_result(res, C_PRIVILEGES, true,
			   "root with CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID, CAP_SETGID, "
			   "CAP_KILL");
}

static int check_landlock(struct result *res)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi >= 1) {
		set_result(res, C_LANDLOCK, true, "ABI %ld", abi);
		return (int)abi;
	}
	if (errno == EOPNOTSUPP)
		set_result(res, C_LANDLOCK, false,
			   "disabled at boot: add landlock to the kernel's lsm= parameter");
	else if (errno == ENOSYS)
		set_result(res, C_LANDLOCK, false,
			   "not built into this kernel (CONFIG_SECURITY_LANDLOCK)");
	else
		set_result(res, C_LANDLOCK, false, "landlock_create_ruleset: %s", strerror(errno));
	return 0;
}

static void check_pidfd(struct result *res)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (fd < 0) {
		set_result(res, C_PIDFD, false, "pidfd_open: %s", strerror(errno));
		return;
	}
	bool ok = syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0;
	int e = errno;
	close(fd);
	if (ok)
		set_result(res, C_PIDFD, true, "pidfd_open and pidfd_send_signal work");
	else
		set_result(res, C_PIDFD, false, "pidfd_send_signal: %s", strerror(e));
}

static void check_openat2(struct result *res)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
	if (fd < 0) {
		set_result(res, C_OPENAT2, false, "openat2: %s", strerror(errno));
		return;
	}
	close(fd);
	set_result(res, C_OPENAT2, true, "openat2 with RESOLVE_BENEATH works");
}

static void check_xvfb(struct result *res)
{
	if (access(MXC_XVFB_PATH, X_OK) == 0)
		set_result(res, C_XVFB, true, "%s", MXC_XVFB_PATH);
	else
		set_result(res, C_XVFB, false, "%s: %s (Debian package xvfb)", MXC_XVFB_PATH,
			   strerror(errno));
}

/* Fills the cgroups check; returns the JSON facts to merge into it (owned by the caller). */
static struct json_object *check_cgroups(struct result *res, const struct mxc_cgroups *c)
{
	struct mxc_cgroups *probed = NULL;
	if (!c) {
		struct mxc_error err = { 0 };
		struct mxc_cgroups_options opt = { .probe = true };
		if (mxc_cgroups_detect(&opt, &probed, &err) < 0) {
			set_result(res, C_CGROUPS, false, "%s", err.msg);
			return NULL;
		}
		c = probed;
	}
	unsigned want = MXC_CGROUP_MEMORY | MXC_CGROUP_PIDS;
	set_result(res, C_CGROUPS, (mxc_cgroups_controllers(c) & want) == want, "%s",
		   mxc_cgroups_describe(c));
	struct json_object *facts = mxc_cgroups_to_json(c);
	mxc_cgroups_free(probed);
	return facts;
}

struct json_object *mxc_doctor_report(const struct mxc_cgroups *cgroups)
{
	uint64_t t0 = mxc_now_mono_ns();
	struct result res[N_CHECKS] = { 0 };
	check_privileges(res);
	int abi = check_landlock(res);
	check_pidfd(res);
	check_openat2(res);
	check_xvfb(res);
	struct json_object *cg = check_cgroups(res, cgroups);
	run_probe(res);

	struct json_object *report = json_object_new_object(), *all = json_object_new_object();
	if (!report || !all) {
		json_object_put(report);
		json_object_put(all);
		json_object_put(cg);
		return NULL;
	}
	bool ok = true;
	for (int i = 0; i < N_CHECKS; i++) {
		if (!res[i].set)
			set_result(res, (enum check_id)i, false,
				   "not reported: the probe process failed or timed out");
		struct json_object *o = json_object_new_object();
		mxc_json_add_bool(o, "ok", res[i].ok);
		mxc_json_add_bool(o, "required", checks[i].required);
		mxc_json_add_str(o, "used_for", checks[i].used_for);
		mxc_json_add_str(o, "reason", res[i].reason);
		if (i == C_LANDLOCK)
			mxc_json_add_i64(o, "abi", abi);
		if (i == C_XVFB)
			mxc_json_add_str(o, "path", MXC_XVFB_PATH);
		if (i == C_CGROUPS && cg) {
			static const char *const keys[] = { "mode", "controllers", "location",
							    "swap_limited", "kill", "note" };
			for (size_t k = 0; k < MXC_ARRAY_SIZE(keys); k++) {
				struct json_object *v;
				if (json_object_object_get_ex(cg, keys[k], &v))
					json_object_object_add(o, keys[k], json_object_get(v));
			}
		}
		json_object_object_add(all, checks[i].name, o);
		if (checks[i].required && !res[i].ok)
			ok = false;
	}
	json_object_put(cg);
	struct utsname u;
	mxc_json_add_bool(report, "ok", ok);
	mxc_json_add_str(report, "kernel", uname(&u) == 0 ? u.release : NULL);
	mxc_json_add_i64(report, "took_ms", (int64_t)((mxc_now_mono_ns() - t0) / 1000000u));
	json_object_object_add(report, "checks", all);
	return report;
}
