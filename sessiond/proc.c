#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fs.h"
#include "proc.h"
#include "util.h"

pid_t mxc_clone(uint64_t flags, int *ret_pidfd)
{
	int pidfd = -1;
	struct clone_args args = {
		.flags = flags | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
	};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return -errno;
	if (pid > 0)
		*ret_pidfd = pidfd;
	return (pid_t)pid;
}

void mxc_child_reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

int mxc_child_arrange_fds(const int *fds, size_t n, int *keep, size_t n_keep)
{
	enum { HIGH = 1000 };
	int high[16];
	if (n > MXC_ARRAY_SIZE(high))
		return -EINVAL;
	/* First lift every source out of the way so that no target clobbers one. */
	for (size_t i = 0; i < n; i++) {
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, HIGH);
		if (high[i] < 0)
			return -errno;
	}
	for (size_t j = 0; j < n_keep; j++) {
		int k = fcntl(keep[j], F_DUPFD_CLOEXEC, HIGH);
		if (k < 0)
			return -errno;
		keep[j] = k;
	}
	for (size_t i = 0; i < n; i++)
		if (dup2(high[i], (int)i) < 0)
			return -errno;
	/* Everything from n up is closed on exec, including the lifted copies. */
	if (syscall(SYS_close_range, (unsigned)n, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void mxc_close_all_except(const int *keep, size_t n)
{
	int sorted[16];
	if (n > MXC_ARRAY_SIZE(sorted))
		n = MXC_ARRAY_SIZE(sorted);
	memcpy(sorted, keep, n * sizeof(int));
	qsort(sorted, n, sizeof(int), cmp_int);
	unsigned from = 0;
	for (size_t i = 0; i < n; i++) {
		if (sorted[i] < 0)
			continue;
		if ((unsigned)sorted[i] > from)
			syscall(SYS_close_range, from, (unsigned)sorted[i] - 1, 0U);
		from = (unsigned)sorted[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0U);
}

int mxc_proc_starttime(pid_t pid, uint64_t *ret)
{
	char path[64], *buf;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int r = mxc_read_file(path, 4096, &buf, NULL);
	if (r < 0)
		return r;
	/* The command name may hold spaces and parentheses: fields resume after the last ')'. */
	char *p = strrchr(buf, ')');
	r = -EBADMSG;
	if (p && (p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')) {
		/* A zombie has no namespaces left to enter: it counts as gone. */
		r = -ESRCH;
	} else if (p) {
		p++;
		for (int field = 3; field < 22 && p; field++)
			p = strchr(p + 1, ' ');
		if (p) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p + 1, &end, 10);
			if (errno == 0 && end != p + 1) {
				*ret = v;
				r = 0;
			}
		}
	}
	free(buf);
	return r;
}

int mxc_wait_status_code(int code, int status)
{
	if (code == CLD_KILLED || code == CLD_DUMPED)
		return 128 + status;
	return status;
}
