#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "seccomp-filter.h"
#include "util.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Calls refused unconditionally. raw: the number on architectures with the unified table
 * (x86_64, arm64) for calls libseccomp 2.5 does not know yet; 0 when it knows them. */
static const struct {
	const char *name;
	int raw;
} denied[] = {
	{ "init_module", 0 },	  { "finit_module", 0 },      { "delete_module", 0 },
	{ "create_module", 0 },	  { "query_module", 0 },      { "get_kernel_syms", 0 },
	{ "kexec_load", 0 },	  { "kexec_file_load", 0 },   { "mount", 0 },
	{ "umount", 0 },	  { "umount2", 0 },	      { "pivot_root", 0 },
	{ "chroot", 0 },	  { "fsopen", 0 },	      { "fsconfig", 0 },
	{ "fsmount", 0 },	  { "fspick", 0 },	      { "move_mount", 0 },
	{ "open_tree", 0 },	  { "open_tree_attr", 467 },  { "mount_setattr", 0 },
	{ "swapon", 0 },	  { "swapoff", 0 },	      { "reboot", 0 },
	{ "settimeofday", 0 },	  { "stime", 0 },	      { "clock_settime", 0 },
	{ "adjtimex", 0 },	  { "clock_adjtime", 0 },     { "bpf", 0 },
	{ "perf_event_open", 0 }, { "keyctl", 0 },	      { "add_key", 0 },
	{ "request_key", 0 },	  { "userfaultfd", 0 },	      { "io_uring_setup", 0 },
	{ "io_uring_enter", 0 },  { "io_uring_register", 0 }, { "setns", 0 },
	{ "open_by_handle_at", 0 }, { "name_to_handle_at", 0 }, { "iopl", 0 },
	{ "ioperm", 0 },	  { "acct", 0 },	      { "quotactl", 0 },
	{ "quotactl_fd", 0 },	  { "lookup_dcookie", 0 },    { "nfsservctl", 0 },
	{ "_sysctl", 0 },	  { "uselib", 0 },	      { "syslog", 0 },
	{ "vhangup", 0 },
};

/* Namespace flags refused in unshare; clone shares them but for CLONE_NEWTIME, whose bit is
 * part of the exit signal there (CSIGNAL). */
static const uint64_t ns_flags[] = {
	CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET, CLONE_NEWTIME,
};

static const uint64_t denied_ioctls[] = { TIOCSTI, TIOCLINUX, TIOCSETD };

/* The number of a call on the native architecture; -1 when it does not exist there. */
static int syscall_nr(const char *name, int raw)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR) {
#if defined(__x86_64__) || defined(__aarch64__)
		nr = raw > 0 ? raw : -1;
#else
		(void)raw;
		nr = -1;
#endif
	}
	return nr < 0 ? -1 : nr; /* negative: a pseudo number, no such call here */
}

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, int raw, unsigned n_cmp,
	       const struct scmp_arg_cmp *cmp, struct mxc_error *err)
{
	int nr = syscall_nr(name, raw);
	if (nr < 0)
		return 0;
	int r = seccomp_rule_add_array(ctx, action, nr, n_cmp, cmp);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to add the seccomp rule for %s", name);
	return 0;
}

/* The ioctl command is an unsigned int in the kernel: only the low 32 bits count. */
static int add_ioctls(scmp_filter_ctx ctx, uint32_t action, struct mxc_error *err)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(denied_ioctls); i++) {
		struct scmp_arg_cmp cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, denied_ioctls[i]);
		int r = add(ctx, action, "ioctl", 0, 1, &cmp, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_namespaces(scmp_filter_ctx ctx, uint32_t action, struct mxc_error *err)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(ns_flags); i++) {
		struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
		int r = add(ctx, action, "unshare", 0, 1, &cmp, err);
		if (r == 0 && ns_flags[i] != CLONE_NEWTIME)
			r = add(ctx, action, "clone", 0, 1, &cmp, err); /* flags: arg 0 on x86 and arm */
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * personality: allowed are PER_LINUX (0), PER_LINUX32 (8), either with UNAME26 (0x20000), and
 * the query 0xffffffff. The kernel reads an unsigned int, so only the low 32 bits count;
 * libseccomp cannot compare one argument twice in a rule, so "not one of these" is spelled
 * as a union of single masked comparisons:
 *   - bit 31 clear and a bit other than 3 and 17 set: one rule per such bit;
 *   - bit 31 set and some bit 0..30 clear (anything but 0xffffffff): one rule per bit.
 */
static int add_personality(scmp_filter_ctx ctx, uint32_t action, struct mxc_error *err)
{
	const uint64_t allowed_bits = 0x8 | 0x20000, top = 1ull << 31;
	for (unsigned b = 0; b < 31; b++) {
		uint64_t bit = 1ull << b;
		int r = 0;
		if (!(bit & allowed_bits)) {
			struct scmp_arg_cmp set = SCMP_A0(SCMP_CMP_MASKED_EQ, bit | top, bit);
			r = add(ctx, action, "personality", 0, 1, &set, err);
		}
		struct scmp_arg_cmp clear = SCMP_A0(SCMP_CMP_MASKED_EQ, bit | top, top);
		if (r == 0)
			r = add(ctx, action, "personality", 0, 1, &clear, err);
		if (r < 0)
			return r;
	}
	return 0;
}

bool mxc_seccomp_available(void)
{
	uint32_t kill = SECCOMP_RET_KILL_PROCESS, errno_action = SECCOMP_RET_ERRNO;
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &kill) == 0 &&
	       syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &errno_action) == 0;
}

int mxc_seccomp_apply_errno(int deny_errno, struct mxc_error *err)
{
	if (deny_errno < 1 || deny_errno > 4095)
		return mxc_error_set(err, -EINVAL, "invalid errno %d for the seccomp filter",
				     deny_errno);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return mxc_error_set(err, -EPERM,
				     "refusing to load the seccomp filter: no_new_privs is not set");
	if (!mxc_seccomp_available())
		return mxc_error_set(err, -EOPNOTSUPP, "this kernel has no seccomp filters");

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return mxc_error_set(err, -ENOMEM, "failed to create the seccomp filter");
	uint32_t deny = SCMP_ACT_ERRNO((uint32_t)deny_errno);
	int r;
	/* The caller's no_new_privs is checked above, not set behind its back; other ABIs'
	 * entry points (only the native architecture is in the filter) kill the process. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0) {
		mxc_error_errno(err, r, "failed to configure the seccomp filter");
		goto out;
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(denied); i++)
		if ((r = add(ctx, deny, denied[i].name, denied[i].raw, 0, NULL, err)) < 0)
			goto out;
	if ((r = add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 435, 0, NULL, err)) < 0 ||
	    (r = add_namespaces(ctx, deny, err)) < 0 || (r = add_ioctls(ctx, deny, err)) < 0 ||
	    (r = add_personality(ctx, deny, err)) < 0)
		goto out;
	if ((r = seccomp_load(ctx)) < 0) {
		mxc_error_errno(err, r, "failed to load the seccomp filter");
		goto out;
	}
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

int mxc_seccomp_apply(struct mxc_error *err)
{
	return mxc_seccomp_apply_errno(EPERM, err);
}
