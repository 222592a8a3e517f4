/*
 * The session's seccomp filter (sessiond/seccomp-filter.h) against a hostile agent. Each
 * test forks a child that drops to nobody, loads the filter and calls what it refuses.
 *
 * Most attacks run twice: once with the filter's refusals set to MARK, an errno the kernel
 * never returns (so a call refused by the kernel itself, say for lack of a capability,
 * cannot pass for one the filter refused: drop a rule and its call fails with something
 * else), and once with the production filter, which must answer EPERM.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "landlock.h"
#include "seccomp-filter.h"
#include "util.h"

#define MARK 4000 /* no kernel call returns this errno */

#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

TestSuite(seccomp, .timeout = 60);

/* In the child: nobody, no_new_privs, the filter with refusals as *deny. */
static void confine(int deny)
{
	struct mxc_error err = { 0 };
	child_become_nobody();
	int r = deny == EPERM ? mxc_seccomp_apply(&err) : mxc_seccomp_apply_errno(deny, &err);
	EXPECT(r == 0, "failed to load the filter: %s (%d)", err.msg, r);
}

/* Runs fn with MARK, then with the production EPERM. */
#define BOTH(fn)                                   \
	do {                                       \
		static int mark_ = MARK, eperm_ = EPERM; \
		CHILD_OK(fn, &mark_);              \
		CHILD_OK(fn, &eperm_);             \
	} while (0)

/*
 * Every unconditionally refused call with arguments that would do nothing as nobody if the
 * filter let it through (they fail for lack of a capability, a bad descriptor or a NULL).
 */
static const struct call {
	const char *name;
	long nr;
	long a[6];
} calls[] = {
	{ "init_module", SYS_init_module, { 0 } },
	{ "finit_module", SYS_finit_module, { -1 } },
	{ "delete_module", SYS_delete_module, { 0 } },
	{ "create_module", SYS_create_module, { 0 } },
	{ "query_module", SYS_query_module, { 0 } },
	{ "get_kernel_syms", SYS_get_kernel_syms, { 0 } },
	{ "kexec_load", SYS_kexec_load, { 0 } },
	{ "kexec_file_load", SYS_kexec_file_load, { -1, -1 } },
	{ "mount", SYS_mount, { 0 } },
	{ "umount2", SYS_umount2, { 0 } },
	{ "pivot_root", SYS_pivot_root, { 0 } },
	{ "chroot", SYS_chroot, { 0 } },
	{ "fsopen", SYS_fsopen, { 0 } },
	{ "fsconfig", SYS_fsconfig, { -1 } },
	{ "fsmount", SYS_fsmount, { -1 } },
	{ "fspick", SYS_fspick, { -1 } },
	{ "move_mount", SYS_move_mount, { -1, 0, -1 } },
	{ "open_tree", SYS_open_tree, { -1 } },
	{ "open_tree_attr", SYS_open_tree_attr, { -1 } },
	{ "mount_setattr", SYS_mount_setattr, { -1 } },
	{ "swapon", SYS_swapon, { 0 } },
	{ "swapoff", SYS_swapoff, { 0 } },
	{ "reboot", SYS_reboot, { 0 } },
	{ "settimeofday", SYS_settimeofday, { 0 } },
	{ "clock_settime", SYS_clock_settime, { 0 } },
	{ "adjtimex", SYS_adjtimex, { 0 } },
	{ "clock_adjtime", SYS_clock_adjtime, { 0 } },
	{ "bpf", SYS_bpf, { 0 } },
	{ "perf_event_open", SYS_perf_event_open, { 0, 0, -1, -1 } },
	{ "keyctl", SYS_keyctl, { 0 } },
	{ "add_key", SYS_add_key, { 0 } },
	{ "request_key", SYS_request_key, { 0 } },
	{ "userfaultfd", SYS_userfaultfd, { 0 } },
	{ "io_uring_setup", SYS_io_uring_setup, { 0 } },
	{ "io_uring_enter", SYS_io_uring_enter, { -1 } },
	{ "io_uring_register", SYS_io_uring_register, { -1 } },
	{ "setns", SYS_setns, { -1 } },
	{ "open_by_handle_at", SYS_open_by_handle_at, { -1 } },
	{ "name_to_handle_at", SYS_name_to_handle_at, { -1 } },
#ifdef SYS_iopl
	{ "iopl", SYS_iopl, { 0 } },
	{ "ioperm", SYS_ioperm, { 0 } },
#endif
	{ "acct", SYS_acct, { 0 } },
	{ "quotactl", SYS_quotactl, { 0 } },
	{ "quotactl_fd", SYS_quotactl_fd, { -1 } },
	{ "lookup_dcookie", SYS_lookup_dcookie, { 0 } },
	{ "nfsservctl", SYS_nfsservctl, { 0 } },
	{ "_sysctl", SYS__sysctl, { 0 } },
	{ "uselib", SYS_uselib, { 0 } },
	{ "syslog", SYS_syslog, { 0 } },
	{ "vhangup", SYS_vhangup, { 0 } },
};

static void raw_calls(void *arg)
{
	int deny = *(int *)arg;
	confine(deny);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(calls); i++) {
		const struct call *c = &calls[i];
		errno = 0;
		long r = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
		EXPECT(r == -1 && errno == deny, "%s: expected %s, got %s", c->name, strerror(deny),
		       r == -1 ? strerror(errno) : "success");
	}
}

Test(seccomp, refused_calls_fail_through_syscall)
{
	BOTH(raw_calls);
}

static void wrapper_calls(void *arg)
{
	int deny = *(int *)arg;
	confine(deny);
	struct timespec ts = { 0 };
	struct timeval tv = { 0 };
	struct timex tx = { 0 };
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + 128];
	} h = { .fh.handle_bytes = 128 };
	int mnt_id;
	EXPECT_ERRNO(mount("none", "/tmp", "tmpfs", 0, NULL), deny);
	EXPECT_ERRNO(umount2("/tmp", MNT_DETACH), deny);
	EXPECT_ERRNO(umount("/tmp"), deny);
	EXPECT_ERRNO(chroot("/"), deny);
	EXPECT_ERRNO(swapon("/nonexistent", 0), deny);
	EXPECT_ERRNO(swapoff("/nonexistent"), deny);
	EXPECT_ERRNO(reboot(RB_AUTOBOOT), deny);
	EXPECT_ERRNO(settimeofday(&tv, NULL), deny);
	EXPECT_ERRNO(clock_settime(CLOCK_REALTIME, &ts), deny);
	EXPECT_ERRNO(adjtimex(&tx), deny); /* a read-only query, too */
	EXPECT_ERRNO(ntp_adjtime(&tx), deny);
	EXPECT_ERRNO(acct(NULL), deny);
	EXPECT_ERRNO(quotactl(QCMD(Q_SYNC, USRQUOTA), NULL, 0, NULL), deny);
	EXPECT_ERRNO(klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), deny);
	EXPECT_ERRNO(vhangup(), deny);
	EXPECT_ERRNO(unshare(CLONE_NEWUSER), deny);
	EXPECT_ERRNO(setns(0, 0), deny);
	EXPECT_ERRNO(name_to_handle_at(AT_FDCWD, "/", &h.fh, &mnt_id, 0), deny);
	EXPECT_ERRNO(open_by_handle_at(AT_FDCWD, &h.fh, O_RDONLY), deny);
#ifdef SYS_iopl
	EXPECT_ERRNO(iopl(0), deny);
	EXPECT_ERRNO(ioperm(0x80, 1, 1), deny);
#endif
	EXPECT_ERRNO(personality(ADDR_NO_RANDOMIZE), deny);
}

Test(seccomp, refused_calls_fail_through_the_c_library)
{
	BOTH(wrapper_calls);
}

/* clone(flags) with the child's stack shared, as fork() does; the child exits at once. */
static long clone_flags(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

static void namespaces(void *arg)
{
	static const unsigned long ns[] = { CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS,
					    CLONE_NEWIPC, CLONE_NEWUSER,   CLONE_NEWPID,
					    CLONE_NEWNET, CLONE_NEWTIME };
	int deny = *(int *)arg;
	confine(deny);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(ns); i++) {
		unsigned long f = ns[i];
		EXPECT(unshare((int)f) == -1 && errno == deny, "unshare(%#lx): %s", f,
		       strerror(errno));
		EXPECT(syscall(SYS_unshare, f | CLONE_FILES) == -1 && errno == deny,
		       "unshare(%#lx | CLONE_FILES): %s", f, strerror(errno));
		if (f == CLONE_NEWTIME) /* in clone, that bit is part of the exit signal */
			continue;
		EXPECT(clone_flags(f) == -1 && errno == deny, "clone(%#lx): %s", f, strerror(errno));
		/* The kernel reads only the low 32 bits of clone's flags. */
		EXPECT(clone_flags(f | (1ul << 32)) == -1 && errno == deny,
		       "clone(%#lx | 1 << 32): %s", f, strerror(errno));
	}
	EXPECT_ERRNO(clone_flags(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID), deny);
	/* What is not a namespace keeps working. */
	EXPECT_OK(unshare(0));
	EXPECT_OK(unshare(CLONE_FILES | CLONE_FS | CLONE_SYSVSEM));
	EXPECT_OK(clone_flags(0));
	pid_t pid = fork();
	EXPECT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	EXPECT(waitpid(pid, NULL, 0) == pid, "waitpid: %s", strerror(errno));
}

Test(seccomp, no_namespace_can_be_created)
{
	BOTH(namespaces);
}

static void *thread_main(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

static void clone3_call(void *arg)
{
	int deny = *(int *)arg;
	confine(deny);
	struct clone_args ca = { .exit_signal = SIGCHLD };
	long r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0)
		_exit(0);
	EXPECT(r == -1 && errno == ENOSYS, "clone3: %s", r == -1 ? strerror(errno) : "success");
	ca.flags = CLONE_NEWUSER;
	r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0)
		_exit(0);
	EXPECT(r == -1 && errno == ENOSYS, "clone3(CLONE_NEWUSER): %s",
	       r == -1 ? strerror(errno) : "success");
	/* The C library falls back to clone for threads, fork and posix_spawn. */
	pthread_t t;
	int v = 0;
	EXPECT(pthread_create(&t, NULL, thread_main, &v) == 0, "pthread_create failed");
	EXPECT(pthread_join(t, NULL) == 0 && v == 42, "the thread did not run");
	pid_t pid;
	const char *argv[] = { "true", NULL };
	EXPECT(posix_spawn(&pid, "/bin/true", NULL, NULL, (char **)argv, environ) == 0,
	       "posix_spawn failed");
	int st;
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "the spawned program failed");
}

Test(seccomp, clone3_is_unavailable_and_the_c_library_falls_back)
{
	BOTH(clone3_call);
}

/* A pty whose slave is the caller's controlling terminal (so TIOCSTI would work). */
static void open_pty(int *master, int *slave)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	EXPECT(*master >= 0 && grantpt(*master) == 0 && unlockpt(*master) == 0,
	       "cannot make a pty: %s", strerror(errno));
	EXPECT_OK(setsid());
	*slave = open(ptsname(*master), O_RDWR | O_CLOEXEC);
	EXPECT(*slave >= 0, "cannot open the pty: %s", strerror(errno));
	EXPECT_OK(ioctl(*slave, TIOCSCTTY, 0));
}

static void terminal(void *arg)
{
	int deny = *(int *)arg, master, slave, ldisc = 0;
	char c = 'x', linux_cmd[2] = { 2, 0 };
	confine(deny);
	open_pty(&master, &slave);
	EXPECT_ERRNO(ioctl(slave, TIOCSTI, &c), deny);
	EXPECT_ERRNO(ioctl(master, TIOCSTI, &c), deny);
	EXPECT_ERRNO(syscall(SYS_ioctl, slave, (1ul << 32) | TIOCSTI, &c), deny);
	EXPECT_ERRNO(syscall(SYS_ioctl, slave, (0xfffful << 32) | TIOCSTI, &c), deny);
	EXPECT_ERRNO(ioctl(slave, TIOCLINUX, linux_cmd), deny);
	EXPECT_ERRNO(ioctl(slave, TIOCSETD, &ldisc), deny);
	/* The rest of the terminal works. */
	struct termios t;
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	int n;
	EXPECT_OK(tcgetattr(slave, &t));
	EXPECT_OK(tcsetattr(slave, TCSANOW, &t));
	EXPECT_OK(ioctl(master, TIOCSWINSZ, &ws));
	EXPECT_OK(ioctl(slave, TIOCGWINSZ, &ws));
	EXPECT_OK(ioctl(slave, FIONREAD, &n));
	EXPECT_OK(ioctl(slave, TIOCGETD, &ldisc));
	EXPECT(n == 0, "a character was injected");
}

Test(seccomp, terminal_injection_is_refused)
{
	BOTH(terminal);
}

static void personas(void *arg)
{
	static const unsigned long refused[] = {
		ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO, ADDR_COMPAT_LAYOUT,
		ADDR_LIMIT_3GB,	   STICKY_TIMEOUTS,   PER_SVR4,	      PER_BSD,
		PER_LINUX32 | ADDR_NO_RANDOMIZE,	      0x80000000ul,   0xfffffffeul,
		0x7ffffffful,	   0xffff0000ul,      0x1ul,
	};
	static const unsigned long allowed[] = { PER_LINUX32, PER_LINUX32 | UNAME26, UNAME26,
						 PER_LINUX };
	int deny = *(int *)arg;
	confine(deny);
	EXPECT(personality(0xffffffff) == PER_LINUX, "not PER_LINUX to start with");
	for (size_t i = 0; i < MXC_ARRAY_SIZE(refused); i++)
		EXPECT(personality(refused[i]) == -1 && errno == deny, "personality(%#lx): %s",
		       refused[i], strerror(errno));
	/* Only the low 32 bits reach the kernel. */
	EXPECT_ERRNO(syscall(SYS_personality, (1ul << 32) | ADDR_NO_RANDOMIZE), deny);
	EXPECT_ERRNO(syscall(SYS_personality, (1ul << 63) | READ_IMPLIES_EXEC), deny);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(allowed); i++) {
		EXPECT_OK(personality(allowed[i]));
		EXPECT(personality(0xffffffff) == (int)allowed[i], "personality %#lx not set",
		       allowed[i]);
	}
	EXPECT_OK(syscall(SYS_personality, 1ul << 32)); /* PER_LINUX, to the kernel */
	EXPECT(personality(0xffffffff) == PER_LINUX, "a refused persona was set");
}

Test(seccomp, personality_keeps_to_the_defaults)
{
	BOTH(personas);
}

/* ---- other ABIs ---- */

#if defined(__x86_64__)
/* getpid through the 32-bit entry point (i386 number 20). */
static long int80_getpid(void)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static void int80_plain(void *arg)
{
	signal(SIGSEGV, SIG_DFL); /* no sanitizer report: a fault here just means no IA32 */
	long r = int80_getpid();
	EXPECT(r == getpid(), "int $0x80 getpid returned %ld", r);
}

static void int80_filtered(void *arg)
{
	confine(MARK);
	int80_getpid();
	EXPECT(false, "the 32-bit call returned");
}

Test(seccomp, the_32_bit_entry_point_kills)
{
	char msg[1024];
	int st = child_run(int80_plain, NULL, msg, sizeof(msg));
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		cr_skip_test("this kernel has no IA32 emulation (%s)", msg);
	st = child_run(int80_filtered, NULL, msg, sizeof(msg));
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "the child was not killed: %s", msg);
}

static void x32_filtered(void *arg)
{
	confine(MARK);
	syscall(0x40000000L | SYS_getpid);
	EXPECT(false, "the x32 call returned");
}

Test(seccomp, the_x32_entry_point_kills)
{
	char msg[1024];
	int st = child_run(x32_filtered, NULL, msg, sizeof(msg));
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "the child was not killed: %s", msg);
}
#endif

/* ---- the loaded program, read back and run on made-up calls ---- */

/* Runs a classic BPF seccomp program on d; enough of BPF for what libseccomp emits. */
static uint32_t bpf_run(const struct sock_filter *prog, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	const uint8_t *data = (const uint8_t *)d;
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &prog[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;
		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (BPF_MODE(f->code) == BPF_ABS) {
				cr_assert(f->k + 4 <= sizeof(*d), "load beyond seccomp_data");
				memcpy(&a, data + f->k, 4);
			} else if (BPF_MODE(f->code) == BPF_IMM) {
				a = f->k;
			} else if (BPF_MODE(f->code) == BPF_MEM) {
				a = mem[f->k % BPF_MEMWORDS];
			} else {
				cr_assert_fail("unknown load %#x", f->code);
			}
			break;
		case BPF_LDX:
			x = BPF_MODE(f->code) == BPF_MEM ? mem[f->k % BPF_MEMWORDS] : f->k;
			break;
		case BPF_ST:
			mem[f->k % BPF_MEMWORDS] = a;
			break;
		case BPF_STX:
			mem[f->k % BPF_MEMWORDS] = x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_LSH: a <<= src; break;
			case BPF_RSH: a >>= src; break;
			case BPF_NEG: a = -a; break;
			default: cr_assert_fail("unknown ALU op %#x", f->code);
			}
			break;
		case BPF_JMP:
			if (BPF_OP(f->code) == BPF_JA) {
				pc += f->k;
				break;
			}
			bool t;
			switch (BPF_OP(f->code)) {
			case BPF_JEQ: t = a == src; break;
			case BPF_JGT: t = a > src; break;
			case BPF_JGE: t = a >= src; break;
			case BPF_JSET: t = (a & src) != 0; break;
			default: cr_assert_fail("unknown jump %#x", f->code); t = false;
			}
			pc += t ? f->jt : f->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? a : f->k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	cr_assert_fail("the program ran off its end");
	return 0;
}

static struct sock_filter loaded[4096];
static size_t n_loaded;

static void load_and_stop(void *arg)
{
	confine(EPERM);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	raise(SIGSTOP);
	_exit(0);
}

/* Reads the filter a child loaded back from the kernel into loaded[]. */
static void read_loaded_filter(void)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		load_and_stop(NULL);
		_exit(1);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSTOPPED(st), "the child did not stop (%#x)", st);
	long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL);
	if (n < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_skip_test("cannot read filters back here: %s", strerror(errno));
	}
	cr_assert(n > 0 && (size_t)n <= MXC_ARRAY_SIZE(loaded), "%ld instructions", n);
	cr_assert_eq(ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, loaded), n);
	n_loaded = (size_t)n;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static uint32_t decide(uint32_t arch, int nr, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = { .nr = nr, .arch = arch, .args = { a0, a1 } };
	return bpf_run(loaded, n_loaded, &d);
}

#if defined(__x86_64__)
#define NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE AUDIT_ARCH_AARCH64
#endif

#ifdef NATIVE
#define ALLOW	 SECCOMP_RET_ALLOW
#define REFUSE	 (SECCOMP_RET_ERRNO | EPERM)
#define KILL_ALL SECCOMP_RET_KILL_PROCESS

/* A reproducible stream of test values, denser in few-bit values than a uniform one. */
static uint64_t next_value(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	uint64_t v = *state;
	switch (v % 4) {
	case 0: return v;
	case 1: return v & (v >> 11) & (v >> 23);
	case 2: return v & 0xffffffffu;
	default: return (v & 0xffffffff00000000u) | (v >> 60);
	}
}

Test(seccomp, other_architectures_are_killed_whatever_the_call)
{
	read_loaded_filter();
	static const uint32_t foreign[] = { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64 ^ 1,
					    AUDIT_ARCH_AARCH64 == NATIVE ? AUDIT_ARCH_ARM
									 : AUDIT_ARCH_AARCH64 };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(foreign); i++)
		for (int nr = 0; nr < 600; nr++)
			cr_assert_eq(decide(foreign[i], nr, 0, 0), KILL_ALL, "arch %#x, call %d",
				     foreign[i], nr);
#if defined(__x86_64__)
	for (int nr = 0; nr < 600; nr++)
		cr_assert_eq(decide(NATIVE, 0x40000000 | nr, 0, 0), KILL_ALL, "x32 call %d", nr);
#endif
	static const int everyday[] = { SYS_read,  SYS_write, SYS_openat, SYS_mmap,  SYS_execve,
					SYS_ptrace, SYS_kill, SYS_socket, SYS_connect, SYS_wait4 };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(everyday); i++)
		cr_assert_eq(decide(NATIVE, everyday[i], 0, 0), ALLOW, "call %d", everyday[i]);
}

Test(seccomp, argument_rules_decide_exactly_as_the_kernel_reads_them)
{
	read_loaded_filter();
	const uint64_t ns_all = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
				CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME;
	const uint64_t ns_clone = ns_all & ~(uint64_t)CLONE_NEWTIME;
	uint64_t state = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 200000; i++) {
		uint64_t v = next_value(&state);
		uint32_t lo = (uint32_t)v;
		bool persona_ok = lo == 0 || lo == PER_LINUX32 || lo == UNAME26 ||
				  lo == (PER_LINUX32 | UNAME26) || lo == 0xffffffffu;
		cr_assert_eq(decide(NATIVE, SYS_personality, v, 0), persona_ok ? ALLOW : REFUSE,
			     "personality(%#llx)", (unsigned long long)v);
		cr_assert_eq(decide(NATIVE, SYS_unshare, v, 0), (v & ns_all) ? REFUSE : ALLOW,
			     "unshare(%#llx)", (unsigned long long)v);
		cr_assert_eq(decide(NATIVE, SYS_clone, v, 0), (lo & ns_clone) ? REFUSE : ALLOW,
			     "clone(%#llx)", (unsigned long long)v);
		bool tty = lo == TIOCSTI || lo == TIOCLINUX || lo == TIOCSETD;
		cr_assert_eq(decide(NATIVE, SYS_ioctl, 0, v), tty ? REFUSE : ALLOW,
			     "ioctl(%#llx)", (unsigned long long)v);
		/* The refused ioctl commands, whatever the high bits. */
		uint64_t hi = v & 0xffffffff00000000u;
		cr_assert_eq(decide(NATIVE, SYS_ioctl, 0, hi | TIOCSTI), REFUSE);
		cr_assert_eq(decide(NATIVE, SYS_personality, hi | ADDR_NO_RANDOMIZE, 0), REFUSE);
		cr_assert_eq(decide(NATIVE, SYS_personality, hi | PER_LINUX32, 0), ALLOW);
	}
	for (int b = 0; b < 64; b++) {
		uint64_t v = 1ull << b;
		bool persona_ok = b == 3 || b == 17 || b >= 32;
		cr_assert_eq(decide(NATIVE, SYS_personality, v, 0), persona_ok ? ALLOW : REFUSE,
			     "personality(1 << %d)", b);
	}
	cr_assert_eq(decide(NATIVE, SYS_clone3, 0, 0), SECCOMP_RET_ERRNO | ENOSYS);
}
#endif

/* ---- what must keep working ---- */

static volatile sig_atomic_t got_signal;

static void on_usr1(int sig)
{
	got_signal = sig;
}

static void loopback_tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = (int)EXPECT_OK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	EXPECT_OK(bind(l, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_OK(listen(l, 4));
	EXPECT_OK(getsockname(l, (struct sockaddr *)&a, &len));
	int c = (int)EXPECT_OK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	EXPECT_OK(connect(c, (struct sockaddr *)&a, sizeof(a)));
	int s = (int)EXPECT_OK(accept4(l, NULL, NULL, SOCK_CLOEXEC));
	char buf[4] = "";
	EXPECT_OK(send(c, "ping", 4, 0));
	EXPECT(recv(s, buf, 4, MSG_WAITALL) == 4 && memcmp(buf, "ping", 4) == 0, "no data");
	close(s);
	close(c);
	close(l);
}

static void traced_child(void)
{
	pid_t pid = fork();
	EXPECT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(5);
	}
	int st;
	EXPECT(waitpid(pid, &st, 0) == pid && WIFSTOPPED(st), "the traced child did not stop");
	errno = 0;
	ptrace(PTRACE_PEEKUSER, pid, NULL, NULL);
	EXPECT(errno == 0, "PTRACE_PEEKUSER: %s", strerror(errno));
	EXPECT_OK(ptrace(PTRACE_CONT, pid, NULL, NULL));
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 5,
	       "the traced child did not finish");
}

static void everyday(void *arg)
{
	confine(MARK);
	char buf[64];
	int fd = (int)EXPECT_OK(open("/etc/passwd", O_RDONLY | O_CLOEXEC));
	EXPECT_OK(read(fd, buf, sizeof(buf)));
	close(fd);

	pid_t pid = fork();
	EXPECT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 3", (char *)NULL);
		_exit(127);
	}
	int st;
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 3,
	       "/bin/sh did not run");

	pthread_t t;
	int v = 0;
	EXPECT(pthread_create(&t, NULL, thread_main, &v) == 0 && pthread_join(t, NULL) == 0 &&
		       v == 42,
	       "threads do not work");

	void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(p, 1, 8192);
	EXPECT_OK(mprotect(p, 4096, PROT_READ | PROT_EXEC));
	EXPECT_OK(munmap(p, 8192));
	fd = (int)EXPECT_OK(open("/bin/sh", O_RDONLY | O_CLOEXEC));
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	EXPECT(p != MAP_FAILED && memcmp(p, "\177ELF", 4) == 0, "mmap of a file failed");
	munmap(p, 4096);
	close(fd);

	int pp[2];
	EXPECT_OK(pipe2(pp, O_CLOEXEC));
	EXPECT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pp));
	EXPECT_OK(eventfd(0, EFD_CLOEXEC));
	EXPECT_OK(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
	EXPECT_OK(memfd_create("x", MFD_CLOEXEC));
	EXPECT_OK(inotify_init1(IN_CLOEXEC));
	EXPECT_OK(getrandom(buf, 16, 0));
	struct timespec ts;
	EXPECT_OK(clock_gettime(CLOCK_REALTIME, &ts));
	EXPECT_OK(prctl(PR_SET_NAME, "agent", 0, 0, 0));
	EXPECT_OK(personality(0xffffffff));
	loopback_tcp();

	struct sigaction sa = { .sa_handler = on_usr1 };
	EXPECT_OK(sigaction(SIGUSR1, &sa, NULL));
	EXPECT_OK(kill(getpid(), SIGUSR1));
	EXPECT(got_signal == SIGUSR1, "the signal was not delivered");
	traced_child();
	/* A program may confine itself further. */
	EXPECT(syscall(SYS_landlock_create_ruleset, NULL, 0, 1u) > 0 || errno != MARK,
	       "Landlock is refused");
}

Test(seccomp, everyday_work_still_works)
{
	CHILD_OK(everyday, NULL);
}

static void without_nnp(void *arg)
{
	struct mxc_error err = { 0 };
	int r = mxc_seccomp_apply(&err);
	EXPECT(r == -EPERM, "loaded without no_new_privs: %d", r);
	EXPECT(strstr(err.msg, "no_new_privs"), "unclear message: %s", err.msg);
	EXPECT(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0, "a filter was loaded");
	EXPECT(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "no_new_privs was set behind our back");
	r = mxc_seccomp_apply_errno(0, &err);
	EXPECT(r == -EINVAL, "errno 0 accepted: %d", r);
}

Test(seccomp, refuses_without_no_new_privs)
{
	CHILD_OK(without_nnp, NULL);
}

Test(seccomp, is_available_here)
{
	cr_assert(mxc_seccomp_available());
}

/* ---- both layers, as a session's leader applies them ---- */

static void session_stack(void *arg)
{
	const char *scratch = arg;
	struct mxc_error err = { 0 };
	const struct mxc_landlock_path paths[] = {
		{ .path = "/usr", .access = MXC_LL_READ | MXC_LL_EXEC },
		{ .path = "/bin", .access = MXC_LL_READ | MXC_LL_EXEC | MXC_LL_OPTIONAL },
		{ .path = "/lib", .access = MXC_LL_READ | MXC_LL_EXEC | MXC_LL_OPTIONAL },
		{ .path = "/lib64", .access = MXC_LL_READ | MXC_LL_EXEC | MXC_LL_OPTIONAL },
		{ .path = "/etc", .access = MXC_LL_READ },
		{ .path = "/proc", .access = MXC_LL_READ | MXC_LL_WRITE },
		{ .path = "/dev/null", .access = MXC_LL_READ | MXC_LL_WRITE },
		{ .path = scratch, .access = MXC_LL_READ | MXC_LL_WRITE | MXC_LL_EXEC },
	};
	const struct mxc_landlock_spec spec = {
		.paths = paths,
		.n_paths = MXC_ARRAY_SIZE(paths),
		.restrict_tcp_connect = true,
		.restrict_tcp_bind = true,
		.scope_abstract_unix = true,
		.scope_signals = true,
	};
	child_become_nobody();
	EXPECT(mxc_landlock_apply(&spec, NULL, &err) == 0, "Landlock: %s", err.msg);
	EXPECT(mxc_seccomp_apply(&err) == 0, "seccomp: %s", err.msg);
	char script[512];
	snprintf(script, sizeof(script),
		 "cd %s && echo ok > out && cp /bin/true ./t && ./t && [ \"$(cat out)\" = ok ] && "
		 "ls /usr >/dev/null && ! cat /var/log/* 2>/dev/null && "
		 "! ls / >/dev/null 2>&1",
		 scratch);
	pid_t pid = fork();
	EXPECT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	int st;
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "the shell failed (status %#x)", st);
	EXPECT_ERRNO(unshare(CLONE_NEWUSER), EPERM);
}

Test(seccomp, a_shell_works_under_both_layers)
{
	if (mxc_landlock_abi() < 1)
		cr_skip_test("no Landlock here");
	char scratch[] = "/tmp/mxc-test-sc-XXXXXX";
	cr_assert_not_null(mkdtemp(scratch));
	cr_assert_eq(chown(scratch, NOBODY, NOBODY), 0);
	CHILD_OK(session_stack, scratch);
	char out[64];
	snprintf(out, sizeof(out), "%s/out", scratch);
	cr_assert_eq(access(out, F_OK), 0, "the shell did not write in its directory");
	const char *argv[] = { "rm", "-rf", scratch, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}
