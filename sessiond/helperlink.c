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

/* Time typing may take per byte of text, on top of the helper's usual deadline. */
#define HELPER_TYPE_MS_PER_BYTE 2

static void req_free(struct helper_req *q)
{
	json_object_put(q->args);
	for (size_t i = 0; i < q->n_fds; i++)
		mxc_close(q->fds[i]);
	free(q);
}

/* Runs a request's completion exactly once and frees the request. */
static void req_done(struct session *s, struct helper_req *q, int r, const char *msg,
		     struct json_object *result, int *fds, size_t n_fds)
{
	q->done(s, q->data, r, msg, result, fds, n_fds);
	req_free(q);
}

static void helper_fail_all(struct session *s, int code, const char *msg)
{
	struct mxc_list *lists[] = { &s->helper_sent, &s->helper_waiting };
	char text[600];
	snprintf(text, sizeof(text), "session '%s': %s", s->id, msg);
	for (size_t i = 0; i < 2; i++) {
		while (!mxc_list_empty(lists[i])) {
			struct helper_req *q =
				mxc_container_of(lists[i]->next, struct helper_req, link);
			mxc_list_remove(&q->link);
			req_done(s, q, code, text, NULL, NULL, 0);
		}
	}
}

void session_helper_stop(struct session *s, const char *why)
{
	mxc_source_remove(s->helper_timer);
	s->helper_timer = NULL;
	if (s->helper_id) {
		session_init_kill(s, s->helper_id, SIGKILL);
		s->helper_id = 0; /* its exit, still to come, is no longer ours */
	}
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

/*
 * How long the helper may take over its oldest request: a round trip's time, and for text the
 * time typing takes besides. Typing waits for clients to read each batch of remapped keys
 * (see mxc_input_type), so 64 KiB of characters the layout lacks takes a minute or more.
 */
static uint64_t helper_deadline_ms(struct session *s)
{
	uint64_t ms = s->srv->cfg.helper_timeout_ms;
	const char *text = NULL;
	if (mxc_list_empty(&s->helper_sent))
		return ms;
	struct helper_req *q = mxc_container_of(s->helper_sent.next, struct helper_req, link);
	if (strcmp(q->verb, "type") == 0 &&
	    mxc_json_get_str(q->args, "text", MXC_PROTO_MAX_LINE, &text, NULL) == 0)
		ms += HELPER_TYPE_MS_PER_BYTE * strlen(text);
	return ms;
}

static void helper_arm_timer(struct session *s)
{
	mxc_source_remove(s->helper_timer);
	s->helper_timer = NULL;
	if (!s->helper_ready || !mxc_list_empty(&s->helper_sent))
		s->helper_timer = mxc_loop_add_timer(s->srv->loop, helper_deadline_ms(s),
						     on_helper_timer, s);
}

static void helper_send(struct session *s, struct helper_req *q)
{
	/* The request keeps its arguments until answered: its deadline depends on them. */
	struct json_object *req = mxc_proto_request(q->verb, json_object_get(q->args));
	size_t len;
	const char *text = mxc_json_str(req, &len);
	char *line = malloc(len + 1);
	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		if (mxc_outq_push(&s->helper_out, line, len + 1, q->fds, q->n_fds) == 0)
			q->n_fds = 0; /* the queue owns them now */
		free(line);
	}
	json_object_put(req);
	mxc_list_insert_tail(&s->helper_sent, &q->link);
	mxc_outq_flush(&s->helper_out, s->helper_fd);
	helper_update_events(s);
	helper_arm_timer(s);
}

void session_helper_call(struct session *s, const char *verb, struct json_object *args,
			 const int *fds, size_t n_fds, session_helper_done_fn done, void *data)
{
	struct helper_req *q = calloc(1, sizeof(*q));
	if (!q) {
		json_object_put(args);
		for (size_t i = 0; i < n_fds; i++)
			mxc_close(fds[i]);
		done(s, data, -ENOMEM, "out of memory", NULL, NULL, 0);
		return;
	}
	snprintf(q->verb, sizeof(q->verb), "%s", verb);
	q->args = args;
	q->done = done;
	q->data = data;
	q->n_fds = n_fds < MXC_PROTO_MAX_FDS ? n_fds : MXC_PROTO_MAX_FDS;
	if (q->n_fds) /* fds may be NULL when there are none: memcpy must not see it */
		memcpy(q->fds, fds, q->n_fds * sizeof(int));
	if (!s->policy->ui.allow_windows) {
		char msg[128];
		snprintf(msg, sizeof(msg), "session '%s' has no display (ui.allowWindows is false)",
			 s->id);
		req_done(s, q, -ENODEV, msg, NULL, NULL, 0);
		return;
	}
	if (!s->helper_id) {
		struct mxc_error err = { 0 };
		if (s->helper_starts >= MAX_HELPER_STARTS) {
			char msg[128];
			snprintf(msg, sizeof(msg), "session '%s': its display helper keeps failing",
				 s->id);
			req_done(s, q, -EIO, msg, NULL, NULL, 0);
			return;
		}
		if (session_helper_start(s, &err) < 0) {
			req_done(s, q, err.code, err.msg, NULL, NULL, 0);
			return;
		}
	}
	if (s->helper_ready)
		helper_send(s, q);
	else
		mxc_list_insert_tail(&s->helper_waiting, &q->link);
}

/* Hands a response to its request's completion, after checking its shape. */
static void helper_answer(struct session *s, struct helper_req *q, struct json_object *msg,
			  int *fds, size_t n_fds)
{
	struct mxc_error err = { 0 };
	struct json_object *result = NULL;
	size_t announced = 0;
	int r = mxc_proto_parse_response(msg, &result, &announced, &err);
	if (r == 0 && announced != n_fds)
		r = mxc_error_set(&err, -EBADMSG, "the display helper sent %zu descriptors, not %zu",
				  n_fds, announced);
	if (r < 0) {
		char text[600];
		snprintf(text, sizeof(text), "session '%s': %s", s->id, err.msg);
		req_done(s, q, r, text, NULL, NULL, 0);
		return;
	}
	req_done(s, q, 0, NULL, result, fds, n_fds);
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
	s->screen_width = (uint32_t)w;
	s->screen_height = (uint32_t)h;
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

/* What becomes of the helper process: it must run, and its end ends its requests. */
static void on_helper_event(struct session *s, void *data, uint64_t id,
			    enum session_init_event ev, int value, const char *msg)
{
	if (ev == INIT_SPAWNED || id != s->helper_id)
		return; /* running; or a helper already stopped, whose end changes nothing */
	s->helper_id = 0;
	bool starting = s->state == STARTING || s->adopting;
	char why[400];
	if (ev == INIT_EXITED)
		snprintf(why, sizeof(why), "the display helper exited (status %d)", value);
	else
		snprintf(why, sizeof(why), "the display helper %s: %s",
			 ev == INIT_FAILED ? "could not be started" : "was lost", msg);
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
	char path[] = MXC_SESSION_LIBEXEC "/mxc-session-helper";
	char *argv[] = { path, NULL };
	struct session_spawn sp = { .argv = argv, .fds = fds, .n_fds = 4 };
	uint64_t id = 0;
	int r = null < 0 ? mxc_error_errno(err, -errno, "failed to open /dev/null")
			 : session_init_spawn(s, &sp, on_helper_event, NULL, &id, err);
	mxc_close(null);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	s->helper_id = id;
	s->helper_starts++;
	s->helper_fd = sv[0];
	fcntl(s->helper_fd, F_SETFL, O_NONBLOCK);
	mxc_reader_init(&s->helper_in, MXC_PROTO_MAX_LINE);
	s->helper_out = (struct mxc_outq){ 0 };
	s->helper_src = mxc_loop_add_fd(s->srv->loop, s->helper_fd, EPOLLIN, on_helper_io, s);
	if (!s->helper_src) {
		session_helper_stop(s, "failed to watch the display helper");
		return mxc_error_set(err, -ENOMEM, "failed to watch the display helper");
	}
	helper_arm_timer(s);
	return 0;
}
