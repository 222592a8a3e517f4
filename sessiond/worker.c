#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "fs.h"
#include "json.h"
#include "proc.h"
#include "worker.h"

/* A worker's report is small; larger output means something went wrong. */
#define MAX_REPORT (60u * 1024u)

struct worker {
	int pipe_fd;
	mxc_work_done_fn done;
	void *data;
};

/* Runs when the worker has exited: its report is complete in the pipe. */
static void on_worker_exit(struct mxc_source *src, const siginfo_t *info, void *data)
{
	struct worker *w = data;
	struct mxc_error err = { 0 };
	struct json_object *report = NULL, *result = NULL;
	char *text = NULL;
	size_t len = 0;
	int r = mxc_read_fd(w->pipe_fd, MAX_REPORT, &text, &len);
	int64_t code = -EIO;
	const char *msg = NULL;
	if (info->si_code != CLD_EXITED || info->si_status != 0 || r < 0 ||
	    mxc_json_parse(text, len, &report, NULL) < 0 ||
	    mxc_json_get_i64(report, "r", -4095, 0, &code, NULL) < 0) {
		mxc_error_set(&err, -EIO, "worker process failed (status %d)",
			      mxc_wait_status_code(info->si_code, info->si_status));
		code = -EIO;
	} else if (code < 0) {
		mxc_json_get_str(report, "msg", sizeof(err.msg), &msg, NULL);
		mxc_error_set(&err, (int)code, "%s", msg ? msg : strerror((int)-code));
	} else if (json_object_object_get_ex(report, "result", &result) && result) {
		json_object_get(result);
	}
	w->done((int)code, result, &err, w->data);
	json_object_put(report);
	free(text);
	close(w->pipe_fd);
	free(w);
}

int mxc_worker_run(struct mxc_loop *loop, mxc_work_fn work, mxc_work_done_fn done, void *data,
		   struct mxc_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return mxc_error_errno(err, -errno, "failed to create a pipe");
	int pidfd;
	pid_t pid = mxc_clone(0, &pidfd);
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return mxc_error_errno(err, pid, "failed to fork a worker");
	}
	if (pid == 0) {
		mxc_child_reset_signals();
		close(p[0]);
		struct mxc_error werr = { 0 };
		struct json_object *result = NULL;
		int r = work(data, &result, &werr);
		struct json_object *report = json_object_new_object();
		mxc_json_add_i64(report, "r", r < 0 ? r : 0);
		if (r < 0)
			mxc_json_add_str(report, "msg", werr.msg);
		if (result)
			json_object_object_add(report, "result", result);
		size_t len;
		const char *s = mxc_json_str(report, &len);
		_exit(len <= MAX_REPORT && mxc_write_all(p[1], s, len) == 0 ? 0 : 1);
	}
	close(p[1]);
	struct worker *w = calloc(1, sizeof(*w));
	if (!w || !mxc_loop_add_pidfd(loop, pidfd, on_worker_exit, w)) {
		/* The worker cannot be watched: it must not act unobserved. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(pidfd);
		close(p[0]);
		free(w);
		return mxc_error_set(err, -ENOMEM, "failed to watch a worker");
	}
	*w = (struct worker){ .pipe_fd = p[0], .done = done, .data = data };
	return 0;
}
