/* The display helper: the daemon's hands inside a session, and the verbs it serves. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "display.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "session-private.h"
#include "session.h"
#include "spawn.h"

static void helper_fail_all(struct session *s, int code, const char *msg)
{
	struct mxc_list *lists[] = { &s->helper_sent, &s->helper_waiting };
	for (size_t i = 0; i < 2; i++) {
		while (!mxc_list_empty(lists[i])) {
			struct helper_req *q =
				mxc_container_of(lists[i]->next, struct helper_req, link);
			mxc_list_remove(&q->link);
			mxc_call_fail(q->call, code, "session '%s': %s", s->id, msg);
			free(q);
		}
	}
}

void session_helper_stop(struct session *s, const char *why)
{
	mxc_source_remove(s->helper_timer);
	s->helper_timer = NULL;
	mxc_source_kill(s->helper_proc, SIGKILL);
	mxc_source_remove(s->helper_proc);
	s->helper_proc = NULL;
	mxc_source_remove(s->helper_src);
	s->helper_src = NULL;
	s->helper_fd = mxc_close(s->helper_fd);
	mxc_reader_finish(&s->helper_in);
	mxc_outq_finish(&s->helper_out);
	s->helper_ready = false;
	helper_fail_all(s, s->helper_timed_out ? -ETIMEDOUT : -EIO, why);
}

static void helper_update_events(struct session *s)
{
	if (s->helper_src)
		mxc_source_set_events(s->helper_src, EPOLLIN | (s->helper_out.head ? EPOLLOUT : 0));
}

/* Runs when the helper has not answered in time. */
static void on_helper_timer(struct mxc_source *src, void *data)
{
	struct session *s = data;
	s->helper_timer = NULL;
	s->helper_timed_out = true;
	log_warning("session %s: the display helper did not answer in time", s->id);
	session_helper_stop(s, "the display helper did not answer in time");
	s->helper_timed_out = false;
	if (s->state == STARTING)
		session_kill(s, "failed", "the display helper did not start in time", true);
}

static void helper_arm_timer(struct session *s)
{
	mxc_source_remove(s->helper_timer);
	s->helper_timer = NULL;
	if (!s->helper_ready || !mxc_list_empty(&s->helper_sent))
		s->helper_timer = mxc_loop_add_timer(s->srv->loop, s->srv->cfg.helper_timeout_ms,
						     on_helper_timer, s);
}

static void helper_send(struct session *s, struct helper_req *q)
{
	struct json_object *req = mxc_proto_request(q->verb, NULL);
	size_t len;
	const char *text = mxc_json_str(req, &len);
	char *line = malloc(len + 1);
	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		mxc_outq_push(&s->helper_out, line, len + 1, NULL, 0);
		free(line);
	}
	json_object_put(req);
	mxc_list_insert_tail(&s->helper_sent, &q->link);
	mxc_outq_flush(&s->helper_out, s->helper_fd);
	helper_update_events(s);
	helper_arm_timer(s);
}

/* Forwards a request to the helper, starting it again if it died. */
static void helper_request(struct session *s, struct mxc_call *call, const char *verb)
{
	struct helper_req *q = calloc(1, sizeof(*q));
	if (!q) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	q->call = call;
	snprintf(q->verb, sizeof(q->verb), "%s", verb);
	if (!s->helper_proc) {
		struct mxc_error err = { 0 };
		if (s->helper_starts >= MAX_HELPER_STARTS) {
			free(q);
			mxc_call_fail(call, -EIO, "session '%s': its display helper keeps failing",
				      s->id);
			return;
		}
		if (session_helper_start(s, &err) < 0) {
			free(q);
			mxc_call_fail_error(call, &err);
			return;
		}
	}
	if (s->helper_ready)
		helper_send(s, q);
	else
		mxc_list_insert_tail(&s->helper_waiting, &q->link);
}

/* Checks a screenshot from the helper: one sealed memfd of the announced size. */
static int check_image_fd(int fd, uint64_t size)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size ||
	    size == 0 || size > MAX_SCREENSHOT_BYTES)
		return -EBADMSG;
	int seals = fcntl(fd, F_GET_SEALS);
	int need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
	return seals >= 0 && (seals & need) == need ? 0 : -EBADMSG;
}

static void helper_answer(struct session *s, struct helper_req *q, struct json_object *msg,
			  int *fds, size_t n_fds)
{
	struct mxc_error err = { 0 };
	struct json_object *result = NULL;
	size_t announced = 0;
	int r = mxc_proto_parse_response(msg, &result, &announced, &err);
	if (r < 0) {
		mxc_call_fail(q->call, r, "session '%s': %s", s->id, err.msg);
		return;
	}
	if (strcmp(q->verb, "screenshot") == 0) {
		int64_t w = 0, h = 0, size = 0;
		if (n_fds != 1 || announced != 1 ||
		    mxc_json_get_i64(result, "width", 1, MXC_DISPLAY_MAX_SIDE, &w, NULL) < 0 ||
		    mxc_json_get_i64(result, "height", 1, MXC_DISPLAY_MAX_SIDE, &h, NULL) < 0 ||
		    mxc_json_get_i64(result, "bytes", 1, (int64_t)MAX_SCREENSHOT_BYTES, &size,
				     NULL) < 0 ||
		    check_image_fd(fds[0], (uint64_t)size) < 0) {
			mxc_call_fail(q->call, -EBADMSG,
				      "session '%s': the display helper sent an invalid screenshot",
				      s->id);
			return;
		}
		s->n_screenshots++;
		struct json_object *out = json_object_new_object();
		mxc_json_add_i64(out, "width", w);
		mxc_json_add_i64(out, "height", h);
		mxc_json_add_str(out, "format", "png");
		mxc_json_add_i64(out, "bytes", size);
		int fd = fds[0];
		fds[0] = -1;
		mxc_call_reply(q->call, out, &fd, 1);
		return;
	}
	mxc_call_reply(q->call, result ? json_object_get(result) : NULL, NULL, 0);
}

/* Handles the helper's first message: it is connected to the display. */
static void helper_hello(struct session *s, struct json_object *msg)
{
	struct mxc_error err = { 0 };
	struct json_object *result = NULL;
	int64_t w = 0, h = 0;
	if (mxc_proto_parse_response(msg, &result, NULL, &err) < 0 ||
	    mxc_json_get_i64(result, "width", 1, MXC_DISPLAY_MAX_SIDE, &w, NULL) < 0 ||
	    mxc_json_get_i64(result, "height", 1, MXC_DISPLAY_MAX_SIDE, &h, NULL) < 0) {
		char why[600];
		snprintf(why, sizeof(why), "the display helper failed: %s",
			 err.msg[0] ? err.msg : "invalid greeting");
		session_helper_stop(s, why);
		if (s->state == STARTING)
			session_kill(s, "failed", why, true);
		return;
	}
	s->helper_ready = true;
	helper_arm_timer(s);
	while (!mxc_list_empty(&s->helper_waiting)) {
		struct helper_req *q = mxc_container_of(s->helper_waiting.next, struct helper_req, link);
		mxc_list_remove(&q->link);
		helper_send(s, q);
	}
	if (s->state == STARTING || s->adopting) {
		session_running(s);
		session_arm_timeout(s);
	}
}

/* Runs when the helper's socket is readable or writable. */
static void on_helper_io(struct mxc_source *src, int fd, uint32_t events, void *data)
{
	struct session *s = data;
	if (events & EPOLLOUT)
		mxc_outq_flush(&s->helper_out, fd);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		int n = mxc_reader_fill(&s->helper_in, fd);
		if (n == 0 || (n < 0 && n != -EAGAIN)) {
			/* The exit handler reports it; stop reading a dead channel. */
			mxc_source_remove(s->helper_src);
			s->helper_src = NULL;
			return;
		}
	}
	for (;;) {
		char *line;
		size_t len;
		int k = mxc_reader_line(&s->helper_in, &line, &len);
		if (k == 0)
			break;
		struct json_object *msg = NULL;
		if (k < 0 || mxc_json_parse(line, len, &msg, NULL) < 0) {
			json_object_put(msg);
			session_helper_stop(s, "the display helper sent a malformed message");
			return;
		}
		int fds[MXC_PROTO_MAX_FDS];
		size_t n_fds = mxc_reader_take_fds(&s->helper_in, fds, MXC_PROTO_MAX_FDS);
		mxc_reader_drop_fds(&s->helper_in);
		if (!s->helper_ready) {
			helper_hello(s, msg);
		} else if (mxc_list_empty(&s->helper_sent)) {
			/* Unasked-for messages from inside the session end its helper. */
			json_object_put(msg);
			for (size_t i = 0; i < n_fds; i++)
				mxc_close(fds[i]);
			session_helper_stop(s, "the display helper sent an unexpected message");
			return;
		} else {
			struct helper_req *q =
				mxc_container_of(s->helper_sent.next, struct helper_req, link);
			mxc_list_remove(&q->link);
			helper_answer(s, q, msg, fds, n_fds);
			free(q);
			helper_arm_timer(s);
		}
		json_object_put(msg);
		for (size_t i = 0; i < n_fds; i++)
			mxc_close(fds[i]);
		if (!s->helper_src)
			return;
	}
	helper_update_events(s);
}

/* Runs when the helper process has exited. */
static void on_helper_exit(struct mxc_source *src, const siginfo_t *info, void *data)
{
	struct session *s = data;
	s->helper_proc = NULL;
	bool starting = s->state == STARTING || s->adopting;
	char why[128];
	snprintf(why, sizeof(why), "the display helper exited (status %d)",
		 mxc_wait_status_code(info->si_code, info->si_status));
	session_helper_stop(s, why);
	if (starting)
		session_kill(s, "failed", why, true);
}

int session_helper_start(struct session *s, struct mxc_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return mxc_error_errno(err, -errno, "failed to create the helper channel");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fds[4] = { null, null, null, sv[1] };
	char name[] = "mxc-session-helper";
	char *argv[] = { name, NULL };
	struct mxc_spawn sp = {
		.leader_pidfd = mxc_source_fd(s->leader),
		.uid = s->uid,
		.gid = s->gid,
		.groups = s->groups,
		.n_groups = s->n_groups,
		.exe_fd = s->srv->helper_fd,
		.argv = argv,
		.envp = s->env,
		.cwd = s->home,
		.fds = fds,
		.n_fds = 4,
		.nproc = s->policy->limits.tasks,
	};
	int pidfd = -1;
	int r = null < 0 ? mxc_error_errno(err, -errno, "failed to open /dev/null")
			 : mxc_spawn_in_session(&sp, &pidfd, err);
	mxc_close(null);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	s->helper_starts++;
	s->helper_fd = sv[0];
	fcntl(s->helper_fd, F_SETFL, O_NONBLOCK);
	mxc_reader_init(&s->helper_in, MXC_PROTO_MAX_LINE);
	s->helper_out = (struct mxc_outq){ 0 };
	s->helper_proc = mxc_loop_add_pidfd(s->srv->loop, pidfd, on_helper_exit, s);
	s->helper_src = mxc_loop_add_fd(s->srv->loop, s->helper_fd, EPOLLIN, on_helper_io, s);
	if (!s->helper_proc || !s->helper_src) {
		if (!s->helper_proc) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			close(pidfd);
		}
		session_helper_stop(s, "failed to watch the display helper");
		return mxc_error_set(err, -ENOMEM, "failed to watch the display helper");
	}
	helper_arm_timer(s);
	return 0;
}

void mxc_session_verb_screenshot(struct mxc_call *call)
{
	static const char *const keys[] = { "session", NULL };
	struct mxc_error err = { 0 };
	if (mxc_json_check_keys(call->args, keys, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct session *s = session_from_call(call, true);
	if (!s)
		return;
	if (!s->policy->ui.allow_windows) {
		mxc_call_fail(call, -ENODEV, "session '%s' has no display (ui.allowWindows is false)",
			      s->id);
		return;
	}
	helper_request(s, call, "screenshot");
}

