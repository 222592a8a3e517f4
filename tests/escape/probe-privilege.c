/*
 * The attacker of the privilege escape tests: run as the agent inside a session, it tries to
 * gain privilege or reach kernel interfaces a session has no business with, and prints one
 * line per attempt, "NAME RESULT", RESULT being "ok" when the call succeeded or the errno's
 * name ("EPERM") when it failed. Attempts through a forked child (foreign system call ABIs)
 * print how the child ended ("SIGSYS", "exit 0"). The test decides what is expected; the
 * probe only reports, so that the same probe can be run outside a session as a control.
 *
 *   probe ids         real, effective and saved uid and the effective capabilities
 *   probe creds       /proc/self/status's capability and confinement lines, setuid(0) & co
 *   probe mounts      mount(2) and the new mount API
 *   probe namespaces  unshare, clone with namespace flags, clone3, setns, foreign ABIs
 *   probe modules     kernel modules and kexec
 *   probe kernel      bpf, perf, keyrings, userfaultfd, io_uring and other kernel interfaces
 *   probe controls    ordinary operations that must work
 *   probe init        reaching into the session's init (pid 1): its memory, descriptors
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <grp.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* Prints the outcome of a call that returns -1 and sets errno on failure. */
static void report(const char *name, long r)
{
	if (r < 0)
		printf("%s %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	else
		printf("%s ok\n", name);
	fflush(stdout);
}

/* Like report, closing a descriptor the call may have returned. */
static void report_fd(const char *name, long fd)
{
	int saved = errno;
	if (fd >= 0)
		close((int)fd);
	errno = saved;
	report(name, fd);
}

/* The value of a "Key:\tvalue" line of /proc/self/status, or "?". */
static const char *status_value(const char *key, char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t n = strlen(key);
	snprintf(buf, len, "?");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			char *v = line + n + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(buf, len, "%s", v);
			break;
		}
	}
	if (f)
		fclose(f);
	return buf;
}

static int cmd_ids(void)
{
	uid_t r, e, s;
	char cap[64];
	getresuid(&r, &e, &s);
	printf("ids %u %u %u %s\n", r, e, s, status_value("CapEff", cap, sizeof(cap)));
	return 0;
}

static int cmd_creds(void)
{
	static const char *const keys[] = {"CapInh", "CapPrm",	   "CapEff", "CapBnd",
					   "CapAmb", "NoNewPrivs", "Seccomp"};
	char v[64];
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		printf("%s %s\n", keys[i], status_value(keys[i], v, sizeof(v)));
	printf("securebits %#x\n", (unsigned)prctl(PR_GET_SECUREBITS));
	fflush(stdout);
	/* Each in a child: one that succeeds must not change what the next one starts from. */
	static const char *const names[] = {"setuid0", "setresuid0",	   "setgid0", "setgroups0",
					    "capset",  "clear-securebits", "nnp-off"};
	for (int i = 0; i < 7; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			long r = -1;
			struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
			struct __user_cap_data_struct data[2] = {{~0u, ~0u, 0}, {~0u, ~0u, 0}};
			switch (i) {
			case 0:
				r = setuid(0);
				break;
			case 1:
				r = setresuid(0, 0, 0);
				break;
			case 2:
				r = setgid(0);
				break;
			case 3:
				r = setgroups(0, NULL);
				break;
			case 4:
				r = syscall(SYS_capset, &hdr, data);
				break;
			case 5:
				r = prctl(PR_SET_SECUREBITS, 0, 0, 0, 0);
				break;
			case 6:
				r = prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0);
				break;
			}
			report(names[i], r);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	}
	return 0;
}

static int cmd_mounts(void)
{
	mkdir("/tmp/mnt", 0755);
	report("mount", mount("none", "/tmp/mnt", "tmpfs", 0, NULL));
	report("mount-bind", mount("/tmp", "/tmp/mnt", NULL, MS_BIND, NULL));
	report("mount-remount", mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL));
	report_fd("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
	report_fd("fspick", syscall(SYS_fspick, AT_FDCWD, "/tmp", 0));
	/* Given a bad descriptor, the kernel itself says EBADF: EPERM is the filter's. */
	report("fsconfig", syscall(SYS_fsconfig, -1, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
	report_fd("fsmount", syscall(SYS_fsmount, -1, 0, 0));
	report_fd("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/tmp", OPEN_TREE_CLONE));
	report_fd("open_tree_attr",
		  syscall(SYS_open_tree_attr, AT_FDCWD, "/tmp", OPEN_TREE_CLONE, NULL, 0));
	report("move_mount",
	       syscall(SYS_move_mount, -1, "", AT_FDCWD, "/tmp/mnt", MOVE_MOUNT_F_EMPTY_PATH));
	struct mount_attr attr = {.attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
	report("mount_setattr",
	       syscall(SYS_mount_setattr, AT_FDCWD, "/usr", 0, &attr, sizeof(attr)));
	/* Last, as they change the view of whoever succeeds (chroot only its own child's). */
	report("umount2", umount2("/tmp", MNT_DETACH));
	report("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp/mnt"));
	pid_t pid = fork();
	if (pid == 0) {
		report("chroot", chroot("/tmp"));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

/* A child made with raw clone(flags): "ok" if it was made (it exits at once). */
static void try_clone(const char *name, unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	report(name, pid);
}

/* Each unshare in a child, so that one that succeeds changes nothing for the next. */
static void try_unshare(const char *name, int flags)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		int r = unshare(flags);
		int e = errno;
		if (write(p[1], r == 0 ? &r : &e, sizeof(int)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	int e = -1;
	ssize_t n = read(p[0], &e, sizeof(e));
	close(p[0]);
	waitpid(pid, NULL, 0);
	errno = n == sizeof(e) ? e : EIO;
	report(name, n == sizeof(e) && e == 0 ? 0 : -1);
}

#if defined(__x86_64__)
/*
 * A system call through another ABI, in a child: how the child ended. The filter is written
 * for the native ABI, so these entry points must kill (SIGSYS) rather than slip past it.
 */
static void try_foreign(const char *name, int int80, long nr, long a1)
{
	pid_t pid = fork();
	if (pid == 0) {
		long r;
		if (int80) {
			__asm__ volatile("int $0x80"
					 : "=a"(r)
					 : "a"(nr), "b"(a1), "c"(0), "d"(0)
					 : "memory");
		} else {
			r = syscall(nr, a1, 0, 0);
		}
		_exit(r == 0 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("%s SIG%s\n", name,
		       sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	else
		printf("%s exit %d\n", name, WEXITSTATUS(status));
	fflush(stdout);
}
#endif

static int cmd_namespaces(void)
{
	static const struct {
		const char *name;
		int flags;
	} ns[] = {
	    {"unshare-user", CLONE_NEWUSER}, {"unshare-user-mnt", CLONE_NEWUSER | CLONE_NEWNS},
	    {"unshare-mnt", CLONE_NEWNS},    {"unshare-net", CLONE_NEWNET},
	    {"unshare-pid", CLONE_NEWPID},   {"unshare-uts", CLONE_NEWUTS},
	    {"unshare-ipc", CLONE_NEWIPC},   {"unshare-cgroup", CLONE_NEWCGROUP},
	    {"unshare-time", CLONE_NEWTIME},
	};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		try_unshare(ns[i].name, ns[i].flags);
	try_clone("clone-user", CLONE_NEWUSER);
	try_clone("clone-user-mnt", CLONE_NEWUSER | CLONE_NEWNS);
	try_clone("clone-net", CLONE_NEWNET);
	try_clone("clone-pid", CLONE_NEWPID);

	/* clone3's flags are in memory: the filter refuses the call as a whole. */
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	report("clone3-user", pid);

	/* setns with a bad descriptor: the kernel alone would say EBADF. */
	report("setns", syscall(SYS_setns, -1, 0));
	int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
	report("open-ns-of-1", fd);
	if (fd >= 0) {
		report("setns-mnt-of-1", setns(fd, CLONE_NEWNS));
		close(fd);
	}
#if defined(__x86_64__)
	/* i386 unshare is 310; x32 calls are the x86_64 numbers with bit 30 set. */
	try_foreign("int80-unshare-user", 1, 310, CLONE_NEWUSER);
	try_foreign("int80-getpid", 1, 20, 0);
	try_foreign("x32-unshare-user", 0, 0x40000000L | SYS_unshare, CLONE_NEWUSER);
#endif
	return 0;
}

static int cmd_modules(void)
{
	static char image[4096] = "\177ELF";
	report("init_module", syscall(SYS_init_module, image, sizeof(image), ""));
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	report("finit_module-devnull", syscall(SYS_finit_module, fd, "", 0));
	close(fd);
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	report("finit_module-file", syscall(SYS_finit_module, fd, "", 0));
	report("kexec_file_load", syscall(SYS_kexec_file_load, fd, fd, 1UL, "", 0UL));
	close(fd);
	report("delete_module", syscall(SYS_delete_module, "loop", O_NONBLOCK));
	report("kexec_load", syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL));
	return 0;
}

static int cmd_kernel(void)
{
	/* A two-instruction socket filter ("return 0"): the smallest program there is. */
	struct bpf_insn prog[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr pattr = {0};
	pattr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	pattr.insns = (uintptr_t)prog;
	pattr.insn_cnt = 2;
	pattr.license = (uintptr_t) "GPL";
	report_fd("bpf-prog-load", syscall(SYS_bpf, BPF_PROG_LOAD, &pattr, sizeof(pattr)));
	union bpf_attr mattr = {0};
	mattr.map_type = BPF_MAP_TYPE_ARRAY;
	mattr.key_size = 4;
	mattr.value_size = 4;
	mattr.max_entries = 1;
	report_fd("bpf-map-create", syscall(SYS_bpf, BPF_MAP_CREATE, &mattr, sizeof(mattr)));

	/* A software counter of this process in user space only: allowed at paranoid <= 2. */
	struct perf_event_attr pe = {0};
	pe.type = PERF_TYPE_SOFTWARE;
	pe.size = sizeof(pe);
	pe.config = PERF_COUNT_SW_TASK_CLOCK;
	pe.exclude_kernel = 1;
	pe.exclude_hv = 1;
	report_fd("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));

	/* Keyrings of this process only: nothing stays behind when the control runs on a host. */
	report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1));
	report("add_key",
	       syscall(SYS_add_key, "user", "mxc-probe", "data", 4, KEY_SPEC_PROCESS_KEYRING));
	report("request_key",
	       syscall(SYS_request_key, "user", "mxc-probe", NULL, KEY_SPEC_PROCESS_KEYRING));
	report_fd("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));

	struct io_uring_params up = {0};
	report_fd("io_uring_setup", syscall(SYS_io_uring_setup, 4, &up));
	report("io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
	report("io_uring_register", syscall(SYS_io_uring_register, -1, 0, NULL, 0));

	/* File handles: name_to_handle_at needs no privilege from the kernel itself. */
	struct {
		struct file_handle fh;
		unsigned char buf[MAX_HANDLE_SZ];
	} handle = {.fh.handle_bytes = MAX_HANDLE_SZ};
	int mount_id;
	report("name_to_handle_at",
	       syscall(SYS_name_to_handle_at, AT_FDCWD, "/usr", &handle.fh, &mount_id, 0));
	report_fd("open_by_handle_at",
		  syscall(SYS_open_by_handle_at, AT_FDCWD, &handle.fh, O_RDONLY));

	report("syslog", syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
	report("iopl", syscall(SYS_iopl, 3));
	report("ioperm", syscall(SYS_ioperm, 0x80, 1, 1));
	report("swapon", syscall(SYS_swapon, "/tmp/swap", 0));
	report("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL));
	struct timeval tv;
	gettimeofday(&tv, NULL);
	report("settimeofday", settimeofday(&tv, NULL));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	report("clock_settime", clock_settime(CLOCK_REALTIME, &ts));
	report("acct", syscall(SYS_acct, NULL));
	report("personality-no-aslr", personality(PER_LINUX | ADDR_NO_RANDOMIZE));
	report("personality-query", personality(0xffffffff));

	/* Typing into a terminal: the pseudo-terminal pair is the agent's own here. */
	int ptm = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	report("posix_openpt", ptm);
	if (ptm >= 0) {
		char c = 'x';
		report("ioctl-tiocsti", ioctl(ptm, TIOCSTI, &c));
		close(ptm);
	}
	return 0;
}

static void *thread_main(void *arg)
{
	return arg;
}

static int cmd_controls(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int status = 0;
	report("fork", pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			       WEXITSTATUS(status) == 7
			   ? 0
			   : -1);

	try_clone("clone-plain", 0);

	pthread_t t;
	void *ret = NULL;
	errno = pthread_create(&t, NULL, thread_main, (void *)1);
	report("pthread", errno == 0 && pthread_join(t, &ret) == 0 && ret == (void *)1 ? 0 : -1);

	char path[4096];
	const char *home = getenv("HOME");
	snprintf(path, sizeof(path), "%s/probe-control.txt", home ? home : ".");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	report("write-home", fd >= 0 && write(fd, "ok\n", 3) == 3 ? 0 : -1);
	if (fd >= 0)
		close(fd);
	unlink(path);

	/* Tracing a child of its own: stopped at its SIGSTOP, its registers read, let go. */
	pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(3);
	}
	long r = -1;
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFSTOPPED(status)) {
		errno = 0;
		long rip = ptrace(PTRACE_PEEKUSER, pid, (void *)0, NULL);
		if (errno == 0 && ptrace(PTRACE_CONT, pid, NULL, NULL) == 0 &&
		    waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 3)
			r = 0;
		(void)rip;
	}
	report("ptrace-child", r);

	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	r = ptrace(PTRACE_SEIZE, pid, NULL, NULL);
	report("ptrace-seize-child", r);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	report("mmap", m == MAP_FAILED ? -1 : 0);
	return 0;
}

/* The session's init (pid 1 here) holds the session's link to the daemon: no way into it. */
static int cmd_init(void)
{
	char exe[64];
	report("readlink-init-exe", readlink("/proc/1/exe", exe, sizeof(exe)));
	report_fd("open-init-mem", open("/proc/1/mem", O_RDONLY | O_CLOEXEC));
	/* Its descriptors past stdio (its control socket among them), one after another. */
	int pidfd = (int)syscall(SYS_pidfd_open, 1, 0);
	report("pidfd_open-init", pidfd);
	long got = -1;
	int first_errno = EBADF;
	for (int fd = 3; pidfd >= 0 && fd < 64 && got < 0; fd++) {
		got = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		if (got < 0 && errno != EBADF && first_errno == EBADF)
			first_errno = errno;
	}
	errno = first_errno;
	report_fd("pidfd_getfd-init", got);
	if (pidfd >= 0)
		close(pidfd);
	long r = ptrace(PTRACE_SEIZE, 1, NULL, NULL);
	report("ptrace-init", r);
	if (r == 0)
		ptrace(PTRACE_DETACH, 1, NULL, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(void);
	} cmds[] = {
	    {"ids", cmd_ids},		{"creds", cmd_creds},
	    {"mounts", cmd_mounts},	{"namespaces", cmd_namespaces},
	    {"modules", cmd_modules},	{"kernel", cmd_kernel},
	    {"controls", cmd_controls}, {"init", cmd_init},
	};
	for (size_t i = 0; argc == 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run();
	fprintf(stderr, "usage: probe ids|creds|mounts|namespaces|modules|kernel|controls\n");
	return 2;
}
