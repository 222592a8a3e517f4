/*
 * The daemon's channel to a session's mxc-init, the session's spawner: every process the
 * daemon starts in a session (the display helper, exec'd commands, launched programs) is a
 * child of init, so it shares the session's namespaces, cgroup, Landlock domain, seccomp
 * filter and limits. The control socket lives in the session's runtime directory on the
 * host, which only root can reach; a restarted daemon connects to it again.
 *
 * init runs as the agent: what it says is treated as hostile (strict parsing, known ids
 * only); a violation ends the session.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "json.h"
#include "log.h"
#include "session-private.h"

struct init_req {
	struct mxc_list link;
	uint64_t id;
	bool detach;
	bool spawned;
	session_init_fn fn;
	void *data;
};

static void req_end(struct session *s, struct init_req *q, enum session_init_event ev, int value,
		    const char *msg)
{
	mxc_list_remove(&q->link);
	q->fn(s, q->data, q->id, ev, value, msg);
	free(q);
}

static struct init_req *find(struct session *s, uint64_t id)
{
	struct init_req *q;
	mxc_list_for_each(q, &s->init_pending, link) if (q->id == id) return q;
	return NULL;
}

void session_init_close(struct session *s, const char *why)
{
	mxc_source_remove(s->init_src);
	s->init_src = NULL;
	s->init_fd = mxc_close(s->init_fd);
	mxc_reader_finish(&s->init_in);
	mxc_outq_finish(&s->init_out);
	while (!mxc_list_empty(&s->init_pending)) {
		struct init_req *q = mxc_container_of(s->init_pending.next, struct init_req, link);
		req_end(s, q, INIT_LOST, -ECONNRESET, why);
	}
}

/* An event from init: spawned, failed or exited, for a request we made. */
static int handle(struct session *s, struct json_object *ev)
{
	const char *name = NULL;
	int64_t id = 0, v = 0;
	if (mxc_json_get_str(ev, "event", 16, &name, NULL) < 0 ||
	    mxc_json_get_i64(ev, "id", 1, INT64_MAX, &id, NULL) < 0)
		return -EBADMSG;
	struct init_req *q = find(s, (uint64_t)id);
	if (!q)
		return 0; /* an answer to a request already given up: dropped */
	if (strcmp(name, "spawned") == 0 && !q->spawned &&
	    mxc_json_get_i64(ev, "pid", 2, INT32_MAX, &v, NULL) == 0) {
		q->spawned = true;
		if (q->detach)
			req_end(s, q, INIT_SPAWNED, (int)v, NULL);
		else
			q->fn(s, q->data, q->id, INIT_SPAWNED, (int)v, NULL);
		return 0;
	}
	if (strcmp(name, "failed") == 0 && !q->spawned) {
		const char *code = NULL, *message = NULL;
		mxc_json_get_str(ev, "code", 32, &code, NULL);
		mxc_json_get_str(ev, "message", 256, &message, NULL);
		char msg[300];
		snprintf(msg, sizeof(msg), "%s", message ? message : "failed");
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = '?';
		req_end(s, q, INIT_FAILED, code ? mxc_errno_from_name(code) : -EIO, msg);
		return 0;
	}
	if (strcmp(name, "exited") == 0 && q->spawned &&
	    mxc_json_get_i64(ev, "status", 0, 255, &v, NULL) == 0) {
		req_end(s, q, INIT_EXITED, (int)v, NULL);
		return 0;
	}
	return -EBADMSG;
}

/* Runs when init's control connection is readable or writable. */
static void on_init_io(struct mxc_source *src, int fd, uint32_t events, void *data)
{
	struct session *s = data;
	if (events & EPOLLOUT)
		mxc_outq_flush(&s->init_out, fd);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		int n = mxc_reader_fill(&s->init_in, fd);
		if (n == 0 || (n < 0 && n != -EAGAIN)) {
			/* init is gone: the session ends through its leader's exit. */
			session_init_close(s, "the session's init went away");
			return;
		}
	}
	for (;;) {
		char *line;
		size_t len;
		int k = mxc_reader_line(&s->init_in, &line, &len);
		if (k == 0)
			break;
		struct json_object *ev = NULL;
		mxc_reader_drop_fds(&s->init_in);
		if (k < 0 || mxc_json_parse(line, len, &ev, NULL) < 0 || handle(s, ev) < 0) {
			json_object_put(ev);
			log_warning("session %s: its init broke the control protocol", s->id);
			session_init_close(s, "the session's init broke the control protocol");
			session_kill(s, "failed", "the session's init broke the control protocol", true);
			return;
		}
		json_object_put(ev);
		if (!s->init_src)
			return;
	}
	if (s->init_src)
		mxc_source_set_events(s->init_src, EPOLLIN | (s->init_out.head ? EPOLLOUT : 0));
}

int session_init_connect(struct session *s, struct mxc_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/control.sock", s->dir) >=
	    sizeof(addr.sun_path))
		return mxc_error_set(err, -ENAMETOOLONG, "the session's control socket path is too long");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = mxc_error_errno(err, -errno, "failed to reach the session's init");
		mxc_close(fd);
		return r;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	s->init_fd = fd;
	mxc_reader_init(&s->init_in, MXC_PROTO_MAX_LINE);
	s->init_out = (struct mxc_outq){ 0 };
	s->init_src = mxc_loop_add_fd(s->srv->loop, fd, EPOLLIN, on_init_io, s);
	if (!s->init_src) {
		s->init_fd = mxc_close(fd);
		return mxc_error_set(err, -ENOMEM, "failed to watch the session's init");
	}
	return 0;
}

static int send_request(struct session *s, struct json_object *req, const int *fds, size_t n_fds)
{
	size_t len;
	const char *text = mxc_json_str(req, &len);
	char *line = malloc(len + 1);
	int r = -ENOMEM;
	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		int dup_fds[MXC_PROTO_MAX_FDS];
		size_t n = 0;
		/* The queue owns what it sends: it gets copies, the caller keeps its own. */
		for (; n < n_fds; n++)
			if ((dup_fds[n] = fcntl(fds[n], F_DUPFD_CLOEXEC, 3)) < 0)
				break;
		r = n == n_fds ? mxc_outq_push(&s->init_out, line, len + 1, dup_fds, n) : -errno;
		if (r < 0)
			for (size_t i = 0; i < n; i++)
				close(dup_fds[i]);
		free(line);
	}
	json_object_put(req);
	if (r == 0) {
		int f = mxc_outq_flush(&s->init_out, s->init_fd);
		if (f < 0 && f != -EAGAIN)
			r = f;
		else if (s->init_src)
			mxc_source_set_events(s->init_src,
					      EPOLLIN | (s->init_out.head ? EPOLLOUT : 0));
	}
	return r;
}

int session_init_spawn(struct session *s, const struct session_spawn *sp, session_init_fn fn,
		       void *data, uint64_t *ret_id, struct mxc_error *err)
{
	if (s->init_fd < 0)
		return mxc_error_set(err, -ENOTCONN, "session '%s': its init is not reachable",
				     s->id);
	if (sp->n_fds > MXC_PROTO_MAX_FDS)
		return mxc_error_set(err, -EINVAL, "too many descriptors");
	struct init_req *q = calloc(1, sizeof(*q));
	if (!q)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	*q = (struct init_req){ .id = ++s->init_next_id, .detach = sp->detach, .fn = fn,
				.data = data };
	struct json_object *args = json_object_new_object();
	mxc_json_add_i64(args, "id", (int64_t)q->id);
	json_object_object_add(args, "argv", mxc_json_strv(sp->argv));
	if (sp->cwd)
		mxc_json_add_str(args, "cwd", sp->cwd);
	if (sp->output)
		mxc_json_add_str(args, "output", sp->output);
	mxc_json_add_bool(args, "detach", sp->detach);
	int r = send_request(s, mxc_proto_request("spawn", args), sp->fds, sp->n_fds);
	if (r < 0) {
		free(q);
		return mxc_error_errno(err, r, "session '%s': failed to reach its init", s->id);
	}
	mxc_list_insert_tail(&s->init_pending, &q->link);
	if (ret_id)
		*ret_id = q->id;
	return 0;
}

void session_init_kill(struct session *s, uint64_t id, int signo)
{
	if (s->init_fd < 0 || !find(s, id))
		return;
	struct json_object *args = json_object_new_object();
	mxc_json_add_i64(args, "id", (int64_t)id);
	mxc_json_add_i64(args, "signal", signo);
	send_request(s, mxc_proto_request("kill", args), NULL, 0);
}
