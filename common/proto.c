#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "json.h"
#include "proto.h"

void mxc_reader_init(struct mxc_reader *r, size_t max_line)
{
	*r = (struct mxc_reader){ .max_line = max_line, .line = UINT64_MAX };
}

/* Closes every descriptor, or those of the lines returned so far; the rest keep their order. */
static void close_fds_if(struct mxc_reader *r, bool all)
{
	uint64_t done = r->base + r->consumed; /* lines before this offset were returned */
	size_t k = 0;
	for (size_t i = 0; i < r->n_fds; i++) {
		if (all || r->fd_lines[i] < done) {
			mxc_close(r->fds[i]);
			continue;
		}
		r->fds[k] = r->fds[i];
		r->fd_lines[k] = r->fd_lines[i];
		k++;
	}
	r->n_fds = k;
}

void mxc_reader_drop_fds(struct mxc_reader *r)
{
	close_fds_if(r, false);
}

void mxc_reader_finish(struct mxc_reader *r)
{
	close_fds_if(r, true);
	free(r->buf);
	mxc_reader_init(r, r->max_line);
}

static void compact(struct mxc_reader *r)
{
	if (r->consumed == 0)
		return;
	memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
	r->len -= r->consumed;
	r->base += r->consumed;
	r->consumed = 0;
}

/*
 * The stream offset of the last line that begins in buf[at..at+n) (n > 0), or of the line
 * continued there if none begins in it. buf[0] always begins a line: only whole lines are
 * consumed.
 */
static uint64_t last_line_start(const struct mxc_reader *r, size_t at, size_t n)
{
	size_t p = at + n - 1;
	while (p > 0 && r->buf[p - 1] != '\n')
		p--;
	return r->base + p;
}

int mxc_reader_fill(struct mxc_reader *r, int sock)
{
	compact(r);
	/* Room for one maximal line, its newline and the terminating NUL. */
	size_t want = r->max_line + 2;
	if (r->len >= want - 1)
		return -EMSGSIZE;
	if (r->cap < want) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + 4096 && cap < want)
			cap *= 2;
		if (cap > want)
			cap = want;
		if (cap > r->cap) {
			char *b = realloc(r->buf, cap);
			if (!b)
				return -ENOMEM;
			r->buf = b;
			r->cap = cap;
		}
	}

	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MXC_PROTO_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = r->buf + r->len, .iov_len = r->cap - 1 - r->len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;

	int r_fds = 0;
	uint64_t line = n > 0 ? last_line_start(r, r->len, (size_t)n) : r->base + r->len;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *in = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < k; i++) {
			if (r->n_fds < MXC_ARRAY_SIZE(r->fds)) {
				r->fd_lines[r->n_fds] = line;
				r->fds[r->n_fds++] = in[i];
			} else {
				mxc_close(in[i]);
				r_fds = -ETOOMANYREFS;
			}
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		r_fds = -ETOOMANYREFS;
	if (r_fds < 0)
		return r_fds;
	r->len += (size_t)n;
	return (int)n;
}

int mxc_reader_line(struct mxc_reader *r, char **ret_line, size_t *ret_len)
{
	char *start = r->buf + r->consumed;
	size_t avail = r->len - r->consumed;
	char *nl = avail ? memchr(start, '\n', avail) : NULL;
	if (!nl)
		return avail > r->max_line ? -EMSGSIZE : 0;
	size_t len = (size_t)(nl - start);
	if (len > r->max_line)
		return -EMSGSIZE;
	*nl = '\0';
	r->line = r->base + r->consumed;
	r->consumed += len + 1;
	*ret_line = start;
	*ret_len = len;
	return 1;
}

size_t mxc_reader_take_fds(struct mxc_reader *r, int *fds, size_t max)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < r->n_fds; i++) {
		if (n < max && r->fd_lines[i] == r->line) {
			fds[n++] = r->fds[i];
			continue;
		}
		r->fds[k] = r->fds[i];
		r->fd_lines[k] = r->fd_lines[i];
		k++;
	}
	r->n_fds = k;
	return n;
}

struct mxc_chunk {
	struct mxc_chunk *next;
	size_t len, off;
	int fds[MXC_PROTO_MAX_FDS];
	size_t n_fds;
	char data[];
};

int mxc_outq_push(struct mxc_outq *q, const char *data, size_t len, const int *fds, size_t n_fds)
{
	if (n_fds > MXC_PROTO_MAX_FDS)
		return -EINVAL;
	struct mxc_chunk *c = malloc(sizeof(*c) + len);
	if (!c)
		return -ENOMEM;
	*c = (struct mxc_chunk){ .len = len, .n_fds = n_fds };
	memcpy(c->data, data, len);
	if (n_fds)
		memcpy(c->fds, fds, n_fds * sizeof(int));
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->bytes += len;
	return 0;
}

static ssize_t send_with_fds(int sock, const char *data, size_t len, const int *fds, size_t n_fds,
			     int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MXC_PROTO_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds > MXC_PROTO_MAX_FDS)
		return -EINVAL;
	if (n_fds > 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (!c)
			return -EINVAL;
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	ssize_t n;
	do
		n = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void chunk_free(struct mxc_chunk *c)
{
	for (size_t i = 0; i < c->n_fds; i++)
		mxc_close(c->fds[i]);
	free(c);
}

int mxc_outq_flush(struct mxc_outq *q, int sock)
{
	while (q->head) {
		struct mxc_chunk *c = q->head;
		ssize_t n = send_with_fds(sock, c->data + c->off, c->len - c->off,
					  c->off == 0 ? c->fds : NULL, c->off == 0 ? c->n_fds : 0,
					  MSG_DONTWAIT);
		if (n == -EWOULDBLOCK)
			return -EAGAIN;
		if (n < 0)
			return (int)n;
		if (c->off == 0) {
			/* The kernel holds its own references now. */
			for (size_t i = 0; i < c->n_fds; i++)
				mxc_close(c->fds[i]);
			c->n_fds = 0;
		}
		c->off += (size_t)n;
		q->bytes -= (size_t)n;
		if (c->off < c->len)
			continue;
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
		chunk_free(c);
	}
	return 0;
}

void mxc_outq_finish(struct mxc_outq *q)
{
	while (q->head) {
		struct mxc_chunk *c = q->head;
		q->head = c->next;
		chunk_free(c);
	}
	*q = (struct mxc_outq){ 0 };
}

int mxc_send_all(int sock, const char *data, size_t len, const int *fds, size_t n_fds)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send_with_fds(sock, data + off, len - off, off == 0 ? fds : NULL,
					  off == 0 ? n_fds : 0, 0);
		if (n < 0)
			return (int)n;
		off += (size_t)n;
	}
	return 0;
}

int mxc_send_json(int sock, struct json_object *obj, const int *fds, size_t n_fds)
{
	size_t len;
	const char *s = mxc_json_str(obj, &len);
	char *line = malloc(len + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, len);
	line[len] = '\n';
	int r = mxc_send_all(sock, line, len + 1, fds, n_fds);
	free(line);
	return r;
}

int mxc_recv_json(struct mxc_reader *r, int sock, struct json_object **ret, struct mxc_error *err)
{
	for (;;) {
		char *line;
		size_t len;
		int k = mxc_reader_line(r, &line, &len);
		if (k < 0)
			return mxc_error_set(err, k, "message longer than %zu bytes", r->max_line);
		if (k > 0) {
			struct json_object *obj;
			int p = mxc_json_parse(line, len, &obj, err);
			if (p < 0)
				return p;
			if (!json_object_is_type(obj, json_type_object)) {
				json_object_put(obj);
				return mxc_error_set(err, -EBADMSG, "message is not a JSON object");
			}
			*ret = obj;
			return 0;
		}
		int n = mxc_reader_fill(r, sock);
		if (n == -EAGAIN) {
			/* The reader never blocks; a blocking caller waits here. */
			struct pollfd pfd = { .fd = sock, .events = POLLIN };
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return mxc_error_errno(err, -errno, "failed to wait for a message");
			continue;
		}
		if (n == 0)
			return mxc_error_set(err, -ECONNRESET, "connection closed by peer");
		if (n < 0)
			return mxc_error_errno(err, n, "failed to read message");
	}
}

struct json_object *mxc_proto_request(const char *verb, struct json_object *args)
{
	struct json_object *o = json_object_new_object();
	mxc_json_add_i64(o, "v", MXC_PROTO_VERSION);
	mxc_json_add_str(o, "verb", verb);
	json_object_object_add(o, "args", args ? args : json_object_new_object());
	return o;
}

struct json_object *mxc_proto_ok(struct json_object *result, size_t n_fds)
{
	struct json_object *o = json_object_new_object();
	mxc_json_add_i64(o, "v", MXC_PROTO_VERSION);
	mxc_json_add_bool(o, "ok", true);
	json_object_object_add(o, "result", result ? result : json_object_new_object());
	if (n_fds)
		mxc_json_add_i64(o, "fds", (int64_t)n_fds);
	return o;
}

struct json_object *mxc_proto_error(int code, const char *message)
{
	struct json_object *o = json_object_new_object();
	struct json_object *e = json_object_new_object();
	mxc_json_add_i64(o, "v", MXC_PROTO_VERSION);
	mxc_json_add_bool(o, "ok", false);
	mxc_json_add_str(e, "code", mxc_errno_name(code));
	mxc_json_add_str(e, "message", message && *message ? message : strerror(-code));
	json_object_object_add(o, "error", e);
	return o;
}

static int check_version(struct json_object *msg, struct mxc_error *err)
{
	int64_t v;
	int r = mxc_json_get_i64(msg, "v", 0, INT32_MAX, &v, err);
	if (r == -ENOENT)
		return mxc_error_set(err, -EPROTO, "message has no protocol version \"v\"");
	if (r < 0)
		return r;
	if (v != MXC_PROTO_VERSION)
		return mxc_error_set(err, -EPROTONOSUPPORT,
				     "protocol version %lld is not supported (this side speaks %d)",
				     (long long)v, MXC_PROTO_VERSION);
	return 0;
}

int mxc_proto_parse_request(struct json_object *req, const char **ret_verb,
			    struct json_object **ret_args, struct mxc_error *err)
{
	static const char *const keys[] = { "v", "verb", "args", NULL };
	if (!json_object_is_type(req, json_type_object))
		return mxc_error_set(err, -EBADMSG, "request is not a JSON object");
	int r = mxc_json_check_keys(req, keys, err);
	if (r < 0)
		return r;
	r = check_version(req, err);
	if (r < 0)
		return r;
	const char *verb;
	r = mxc_json_get_str(req, "verb", 64, &verb, err);
	if (r == -ENOENT)
		return mxc_error_set(err, -EBADMSG, "request has no \"verb\"");
	if (r < 0)
		return r;
	struct json_object *args = NULL;
	if (json_object_object_get_ex(req, "args", &args) && args &&
	    !json_object_is_type(args, json_type_object))
		return mxc_error_set(err, -EBADMSG, "\"args\" must be a JSON object");
	*ret_verb = verb;
	*ret_args = args;
	return 0;
}

int mxc_proto_parse_response(struct json_object *resp, struct json_object **ret_result,
			     size_t *ret_n_fds, struct mxc_error *err)
{
	int r = check_version(resp, err);
	if (r < 0)
		return r;
	bool ok;
	if (mxc_json_get_bool(resp, "ok", &ok, err) < 0)
		return mxc_error_set(err, -EBADMSG, "response has no \"ok\"");
	if (!ok) {
		struct json_object *e = NULL;
		const char *code = NULL, *message = NULL;
		json_object_object_get_ex(resp, "error", &e);
		mxc_json_get_str(e, "code", 64, &code, NULL);
		mxc_json_get_str(e, "message", 4096, &message, NULL);
		return mxc_error_set(err, code ? mxc_errno_from_name(code) : -EIO, "%s",
				     message ? message : "unknown error");
	}
	uint64_t n_fds = 0;
	mxc_json_get_u64(resp, "fds", MXC_PROTO_MAX_FDS, &n_fds, NULL);
	struct json_object *result = NULL;
	json_object_object_get_ex(resp, "result", &result);
	*ret_result = result;
	if (ret_n_fds)
		*ret_n_fds = (size_t)n_fds;
	return 0;
}

const char *mxc_errno_name(int code)
{
	const char *s = strerrorname_np(-code);
	return s ? s : "EIO";
}

int mxc_errno_from_name(const char *name)
{
	for (int e = 1; e < 134; e++) {
		const char *s = strerrorname_np(e);
		if (s && strcmp(s, name) == 0)
			return -e;
	}
	return -EIO;
}
