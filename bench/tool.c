/* Process-per-action tools: see tool.h. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "tool.h"
#include "util.h"

int bench_tool_start(char *const *argv, pid_t *ret_pid)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || null < 0)
			_exit(127);
		dup2(null, 0);
		dup2(null, 1);
		if (!getenv("MXC_BENCH_VERBOSE"))
			dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	*ret_pid = pid;
	return 0;
}

int bench_tool_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

int bench_tool_run(char *const *argv, uint64_t *ret_ns)
{
	uint64_t t0 = mxc_now_mono_ns();
	pid_t pid;
	int r = bench_tool_start(argv, &pid);

	if (r == 0)
		r = bench_tool_wait(pid);
	if (r == 0)
		*ret_ns = mxc_now_mono_ns() - t0;
	return r;
}

ssize_t bench_read_file(const char *path)
{
	char buf[65536];
	ssize_t total = 0, n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		total += n;
	}
	close(fd);
	return total;
}
