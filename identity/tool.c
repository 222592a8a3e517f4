#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

#include "tool.h"

static char *const tool_env[] = {
    (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    (char *)"LC_ALL=C",
    NULL,
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Exit statuses from useradd(8), groupadd(8), userdel(8), groupdel(8), usermod(8). */
static int status_errno(const char *tool, int status)
{
	bool adds = mxc_streq(tool, "useradd") || mxc_streq(tool, "groupadd");
	bool dels =
	    mxc_streq(tool, "userdel") || mxc_streq(tool, "groupdel") || mxc_streq(tool, "usermod");
	if (adds && (status == 4 || status == 9))
		return -EEXIST;
	if (adds && status == 6)
		return -ENOENT;
	if (dels && status == 6)
		return -ENOENT;
	if (dels && status == 8)
		return -EBUSY;
	return -EIO;
}

/*
 * Starts argv with its stdout and stderr on a pipe, reads at most out_size - 1 bytes of it
 * (draining the rest so the tool never blocks) and waits. Sets *ret_status to the exit
 * status, or *ret_signal to the signal that ended it (and the other to 0).
 */
static int run(const char *const *argv, char *out, size_t out_size, int *ret_status,
	       int *ret_signal)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;

	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	int r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		goto fail_pipe;
	r = posix_spawnattr_init(&attr);
	if (r != 0)
		goto fail_fa;
	if ((r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1)) ||
	    (r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2)) ||
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) ||
	    (r = posix_spawnattr_setsigmask(&attr, &none)) ||
	    (r = posix_spawnattr_setsigdefault(&attr, &all)) ||
	    (r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						     POSIX_SPAWN_SETSID)))
		goto fail_attr;

	pid_t pid;
	r = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, tool_env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		return -r;
	}

	size_t len = 0;
	for (;;) {
		char discard[512];
		char *dst = len + 1 < out_size ? out + len : discard;
		size_t room = len + 1 < out_size ? out_size - 1 - len : sizeof(discard);
		ssize_t n = read(pipefd[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != discard)
			len += (size_t)n;
	}
	out[len] = '\0';
	close(pipefd[0]);

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	*ret_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return 0;

fail_attr:
	posix_spawnattr_destroy(&attr);
fail_fa:
	posix_spawn_file_actions_destroy(&fa);
fail_pipe:
	close(pipefd[0]);
	close(pipefd[1]);
	return -r;
}

/* Whether a line is one of the tool's warnings ("useradd warning: ..."). */
static bool is_warning(const char *line, size_t len, const char *tool)
{
	size_t tl = strlen(tool);
	return len > tl + 9 && memcmp(line, tool, tl) == 0 &&
	       memcmp(line + tl, " warning:", 9) == 0;
}

/*
 * Turns captured output into one line for a message: lines joined with "; ", control
 * characters replaced, warnings dropped when there is anything else to say.
 */
static void summarize(const char *out, const char *tool, char *buf, size_t size)
{
	bool only_warnings = true;
	for (const char *l = out; *l;) {
		size_t n = strcspn(l, "\n");
		if (n > 0 && !is_warning(l, n, tool))
			only_warnings = false;
		l += n + (l[n] == '\n');
	}

	size_t len = 0;
	buf[0] = '\0';
	for (const char *l = out; *l;) {
		size_t n = strcspn(l, "\n");
		while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r'))
			n--;
		if (n > 0 && (only_warnings || !is_warning(l, n, tool))) {
			if (len > 0 && len + 2 < size) {
				memcpy(buf + len, "; ", 2);
				len += 2;
			}
			for (size_t i = 0; i < n && len + 1 < size; i++) {
				unsigned char c = (unsigned char)l[i];
				buf[len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
			}
			buf[len] = '\0';
		}
		l += strcspn(l, "\n");
		l += *l == '\n';
	}
}

int mxc_identity_tool_run(const char *const *argv, struct mxc_error *err, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);

	const char *tool = base_name(argv[0]);
	char out[MXC_IDENTITY_TOOL_OUTPUT_MAX];
	int status = 0, sig = 0;
	int r = run(argv, out, sizeof(out), &status, &sig);
	if (r < 0)
		return mxc_error_errno(err, r, "%s: cannot run %s", what, argv[0]);
	if (status == 0 && sig == 0)
		return 0;

	char summary[MXC_IDENTITY_TOOL_OUTPUT_MAX];
	summarize(out, tool, summary, sizeof(summary));
	r = sig ? -EIO : status_errno(tool, status);
	if (sig)
		return mxc_error_set(err, r, "%s: %s was killed by signal %d%s%s", what, tool, sig,
				     summary[0] ? ": " : "", summary);
	if (summary[0])
		return mxc_error_set(err, r, "%s: %s", what, summary);
	return mxc_error_set(err, r, "%s: %s exited with status %d", what, tool, status);
}
