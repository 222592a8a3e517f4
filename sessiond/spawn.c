#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "proc.h"
#include "sandbox.h"
#include "spawn.h"

#define SESSION_NAMESPACES \
	(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)


/*
 * For a detached command: forks the command off, reports whether it could be executed
 * through a close-on-exec pipe, and exits. Only the command returns from here.
 */
static void detach(const struct mxc_spawn *sp, int exe_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		_exit(MXC_SPAWN_FAILED);
	pid_t pid = fork();
	if (pid < 0)
		_exit(MXC_SPAWN_FAILED);
	if (pid > 0) {
		close(p[1]);
		int e = 0;
		ssize_t n = mxc_read_full(p[0], &e, sizeof(e));
		_exit(n == sizeof(e) ? (e == ENOENT ? MXC_SPAWN_NOT_FOUND : 126) : 0);
	}
	close(p[0]);
	setsid();
	if (sp->output) {
		int fd = open(sp->output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
	}
	if (exe_fd >= 0)
		syscall(SYS_execveat, exe_fd, "", sp->argv, sp->envp, AT_EMPTY_PATH);
	else
		execvp(sp->argv[0], sp->argv);
	int e = errno;
	mxc_write_all(p[1], &e, sizeof(e));
	_exit(127);
}

/* Runs in the command's process, inside the session: never returns. */
static void __attribute__((noreturn)) run_command(const struct mxc_spawn *sp)
{
	struct mxc_error err = { 0 };
	int keep[1] = { sp->exe_fd };
	if (mxc_child_arrange_fds(sp->fds, sp->n_fds, keep, sp->exe_fd >= 0 ? 1 : 0) < 0)
		_exit(MXC_SPAWN_FAILED);
	struct rlimit nproc = { sp->nproc, sp->nproc };
	if (sp->nproc && setrlimit(RLIMIT_NPROC, &nproc) < 0)
		_exit(MXC_SPAWN_FAILED);
	if (mxc_sandbox_drop(sp->uid, sp->gid, sp->groups, sp->n_groups, &err) < 0) {
		dprintf(2, "mxc: %s\n", err.msg);
		_exit(MXC_SPAWN_FAILED);
	}
	if (!sp->cwd || chdir(sp->cwd) < 0)
		if (chdir("/") < 0)
			_exit(MXC_SPAWN_FAILED);
	environ = (char **)sp->envp;
	if (sp->detach)
		detach(sp, keep[0]);
	/* Set only now: a credential change clears the parent-death signal. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (keep[0] >= 0 && sp->exe_fd >= 0)
		syscall(SYS_execveat, keep[0], "", sp->argv, sp->envp, AT_EMPTY_PATH);
	else
		execvp(sp->argv[0], sp->argv);
	int e = errno;
	dprintf(2, "mxc: cannot execute '%s': %s\n", sp->argv[0], strerror(e));
	_exit(e == ENOENT ? MXC_SPAWN_NOT_FOUND : 126);
}

int mxc_spawn_in_session(const struct mxc_spawn *sp, int *ret_pidfd, struct mxc_error *err)
{
	pid_t daemon_pid = getpid();
	int pidfd;
	pid_t pid = mxc_clone(0, &pidfd);
	if (pid < 0)
		return mxc_error_errno(err, pid, "failed to fork");
	if (pid > 0) {
		*ret_pidfd = pidfd;
		return 0;
	}

	/* The waiting process: root, outside the session's PID namespace. */
	mxc_child_reset_signals();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != daemon_pid)
		_exit(MXC_SPAWN_FAILED);
	if (setns(sp->leader_pidfd, SESSION_NAMESPACES) < 0) {
		if (sp->n_fds > 2)
			dprintf(sp->fds[2], "mxc: cannot enter the session: %s\n", strerror(errno));
		_exit(MXC_SPAWN_FAILED);
	}
	pid_t child = fork();
	if (child < 0)
		_exit(MXC_SPAWN_FAILED);
	if (child == 0)
		run_command(sp);

	/* Hold none of the command's descriptors, so its peers see end-of-file with it. */
	syscall(SYS_close_range, 0U, ~0U, 0U);
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			_exit(MXC_SPAWN_FAILED);
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}
