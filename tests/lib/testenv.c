#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "testenv.h"

void mxc_testenv_enter(struct mxc_testenv *env)
{
	cr_assert_eq(geteuid(), 0, "the mxc test suite runs as root");
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0,
		     "making / private: %s", strerror(errno));

	snprintf(env->root, sizeof(env->root), "/tmp/mxc-test-XXXXXX");
	cr_assert_not_null(mkdtemp(env->root), "mkdtemp: %s", strerror(errno));
	chmod(env->root, 0755);

	char upper[128], work[128], opts[512];
	snprintf(upper, sizeof(upper), "%s/etc-upper", env->root);
	snprintf(work, sizeof(work), "%s/etc-work", env->root);
	cr_assert_eq(mkdir(upper, 0755), 0);
	cr_assert_eq(mkdir(work, 0700), 0);
	snprintf(opts, sizeof(opts), "lowerdir=/etc,upperdir=%s,workdir=%s", upper, work);
	cr_assert_eq(mount("overlay", "/etc", "overlay", 0, opts), 0, "overlay on /etc: %s",
		     strerror(errno));

	snprintf(env->scratch, sizeof(env->scratch), "%s/scratch", env->root);
	cr_assert_eq(mkdir(env->scratch, 0755), 0);
}

void mxc_testenv_leave(struct mxc_testenv *env)
{
	if (!env->root[0])
		return;
	/* The overlay's work directory is only removable once the overlay is gone. */
	umount2("/etc", MNT_DETACH);
	mxc_rm_rf(env->root);
	env->root[0] = '\0';
}

static int run(const char *const *argv, char **ret_out)
{
	int pipefd[2] = { -1, -1 };
	if (ret_out && pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(ret_out ? pipefd[1] : null, 1);
		if (!getenv("MXC_TEST_VERBOSE"))
			dup2(null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (ret_out) {
		close(pipefd[1]);
		size_t len;
		if (mxc_read_fd(pipefd[0], 1 << 20, ret_out, &len) < 0)
			*ret_out = NULL;
		close(pipefd[0]);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int mxc_testenv_run(const char *const *argv)
{
	return run(argv, NULL);
}

int mxc_testenv_run_output(const char *const *argv, char **ret_out)
{
	return run(argv, ret_out);
}

void mxc_testenv_add_user(const char *name, uid_t uid)
{
	char id[16];
	snprintf(id, sizeof(id), "%u", (unsigned)uid);
	const char *groupadd[] = { "groupadd", "-g", id, name, NULL };
	const char *useradd[] = { "useradd", "-u", id, "-g", id, "-M", "-s", "/bin/sh", name, NULL };
	cr_assert_eq(mxc_testenv_run(groupadd), 0, "groupadd %s", name);
	cr_assert_eq(mxc_testenv_run(useradd), 0, "useradd %s", name);
}
