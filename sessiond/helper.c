/*
 * mxc-session-helper: the daemon's hands inside a session. It runs as the agent in the
 * session's namespaces, holds the connection to the session's display, and answers the
 * daemon's requests on descriptor 3, in order (the daemon treats every answer as hostile:
 * this process is the agent's to tamper with). The first message is a greeting with the
 * screen size; screenshots travel back as sealed memfds. Coordinates arrive physical: the
 * daemon maps them from screenshot spaces.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "clipboard.h"
#include "display-xcb.h"
#include "display.h"
#include "input.h"
#include "json.h"
#include "proto.h"

#define DAEMON_FD 3

struct helper {
	struct mxc_display *display;
	struct mxc_input *input;
	struct mxc_clipboard *clipboard;
	uint32_t width, height;
	int fd_in; /* a descriptor that came with the request (clipboard_set), or -1 */
};

/* A handler answers through *ret_result (and *ret_fd) or returns a negative errno with err. */
typedef int (*verb_fn)(struct helper *h, struct json_object *args, struct json_object **ret_result,
		       int *ret_fd, struct mxc_error *err);

/* A sealed memfd holding data: the receiver can trust its size and contents not to change. */
static int sealed_memfd(const void *data, size_t len)
{
	int fd = memfd_create("mxc-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (mxc_write_all(fd, data, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* The daemon checked every argument; these only guard against a daemon bug. */
static int32_t arg_int(struct json_object *args, const char *key, int32_t fallback)
{
	int64_t v;
	return mxc_json_get_i64(args, key, INT32_MIN, INT32_MAX, &v, NULL) == 0 ? (int32_t)v
										: fallback;
}

static const char *arg_str(struct json_object *args, const char *key)
{
	const char *s = NULL;
	mxc_json_get_str(args, key, 1 << 20, &s, NULL);
	return s;
}

static int do_screenshot(struct helper *h, struct json_object *args, struct json_object **ret,
			 int *ret_fd, struct mxc_error *err)
{
	int32_t x = arg_int(args, "x", 0), y = arg_int(args, "y", 0);
	int32_t w = arg_int(args, "width", (int32_t)h->width);
	int32_t hh = arg_int(args, "height", (int32_t)h->height);
	int32_t iw = arg_int(args, "image_width", w), ih = arg_int(args, "image_height", hh);
	struct mxc_image img = { 0 }, scaled = { 0 };
	uint8_t *png = NULL;
	size_t len = 0;
	if (x < 0 || y < 0 || w <= 0 || hh <= 0 || iw <= 0 || ih <= 0)
		return mxc_error_set(err, -EINVAL, "invalid screenshot geometry");
	int r = (uint32_t)w == h->width && (uint32_t)hh == h->height
			? mxc_display_capture(h->display, &img, err)
			: mxc_display_capture_region(h->display, (uint32_t)x, (uint32_t)y,
						     (uint32_t)w, (uint32_t)hh, &img, err);
	if (r == 0 && (iw != w || ih != hh)) {
		r = mxc_image_scale(&img, (uint32_t)iw, (uint32_t)ih, &scaled, err);
		if (r == 0) {
			mxc_image_finish(&img);
			img = scaled;
		}
	}
	if (r == 0)
		r = mxc_png_encode(&img, &png, &len, err);
	if (r == 0 && (*ret_fd = sealed_memfd(png, len)) < 0)
		r = mxc_error_errno(err, *ret_fd, "failed to hand over the screenshot");
	if (r == 0) {
		*ret = json_object_new_object();
		mxc_json_add_i64(*ret, "width", img.width);
		mxc_json_add_i64(*ret, "height", img.height);
		mxc_json_add_i64(*ret, "bytes", (int64_t)len);
	}
	free(png);
	mxc_image_finish(&img);
	return r;
}

/* The whole screen as packed 8-bit RGB, for live views: no encoding, the viewer diffs it. */
static int do_frame(struct helper *h, struct json_object *args, struct json_object **ret,
		    int *ret_fd, struct mxc_error *err)
{
	struct mxc_image img = { 0 };
	int r = mxc_display_capture(h->display, &img, err);
	if (r == 0 && (*ret_fd = sealed_memfd(img.data, (size_t)img.stride * img.height)) < 0)
		r = mxc_error_errno(err, *ret_fd, "failed to hand over the frame");
	if (r == 0) {
		*ret = json_object_new_object();
		mxc_json_add_i64(*ret, "width", img.width);
		mxc_json_add_i64(*ret, "height", img.height);
		mxc_json_add_i64(*ret, "stride", img.stride);
	}
	mxc_image_finish(&img);
	return r;
}

static int do_cursor(struct helper *h, struct json_object *args, struct json_object **ret,
		     int *ret_fd, struct mxc_error *err)
{
	int32_t x, y;
	int r = mxc_input_cursor(h->input, &x, &y, err);
	if (r == 0) {
		*ret = json_object_new_object();
		mxc_json_add_i64(*ret, "x", x);
		mxc_json_add_i64(*ret, "y", y);
	}
	return r;
}

static int do_move(struct helper *h, struct json_object *args, struct json_object **ret,
		   int *ret_fd, struct mxc_error *err)
{
	return mxc_input_move(h->input, arg_int(args, "x", 0), arg_int(args, "y", 0), err);
}

/* The point of a pointer verb: the one given, or where the pointer is. */
static int point(struct helper *h, struct json_object *args, int32_t *x, int32_t *y,
		 struct mxc_error *err)
{
	struct json_object *o;
	if (json_object_object_get_ex(args, "x", &o)) {
		*x = arg_int(args, "x", 0);
		*y = arg_int(args, "y", 0);
		return 0;
	}
	return mxc_input_cursor(h->input, x, y, err);
}

static int do_click(struct helper *h, struct json_object *args, struct json_object **ret,
		    int *ret_fd, struct mxc_error *err)
{
	int32_t x, y;
	int r = point(h, args, &x, &y, err);
	if (r < 0)
		return r;
	return mxc_input_click(h->input, x, y, (enum mxc_button)arg_int(args, "button", 1),
			       (unsigned)arg_int(args, "count", 1), arg_str(args, "modifiers"), err);
}

static int do_button(struct helper *h, struct json_object *args, struct json_object **ret,
		     int *ret_fd, struct mxc_error *err)
{
	struct json_object *o;
	bool down = false;
	mxc_json_get_bool(args, "down", &down, NULL);
	if (json_object_object_get_ex(args, "x", &o)) {
		int r = mxc_input_move(h->input, arg_int(args, "x", 0), arg_int(args, "y", 0), err);
		if (r < 0)
			return r;
	}
	return mxc_input_button(h->input, (enum mxc_button)arg_int(args, "button", 1), down, err);
}

static int do_drag(struct helper *h, struct json_object *args, struct json_object **ret,
		   int *ret_fd, struct mxc_error *err)
{
	struct json_object *path = NULL;
	if (!json_object_object_get_ex(args, "path", &path) ||
	    !json_object_is_type(path, json_type_array))
		return mxc_error_set(err, -EINVAL, "drag: no path");
	size_t n = json_object_array_length(path);
	if (n < 2 || n > MXC_INPUT_MAX_DRAG_POINTS)
		return mxc_error_set(err, -EINVAL, "drag: 2 to %d points", MXC_INPUT_MAX_DRAG_POINTS);
	int32_t(*pts)[2] = calloc(n, sizeof(*pts));
	if (!pts)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(path, i);
		pts[i][0] = (int32_t)json_object_get_int64(json_object_array_get_idx(p, 0));
		pts[i][1] = (int32_t)json_object_get_int64(json_object_array_get_idx(p, 1));
	}
	int r = mxc_input_drag(h->input, (const int32_t(*)[2])pts, n,
			       (enum mxc_button)arg_int(args, "button", 1), err);
	free(pts);
	return r;
}

static int do_scroll(struct helper *h, struct json_object *args, struct json_object **ret,
		     int *ret_fd, struct mxc_error *err)
{
	int32_t x, y;
	int r = point(h, args, &x, &y, err);
	if (r < 0)
		return r;
	return mxc_input_scroll(h->input, x, y, arg_int(args, "dx", 0), arg_int(args, "dy", 0),
				arg_str(args, "modifiers"), err);
}

static int do_key(struct helper *h, struct json_object *args, struct json_object **ret,
		  int *ret_fd, struct mxc_error *err)
{
	return mxc_input_key(h->input, arg_str(args, "keys"), err);
}

static int do_key_down(struct helper *h, struct json_object *args, struct json_object **ret,
		       int *ret_fd, struct mxc_error *err)
{
	return mxc_input_key_down(h->input, arg_str(args, "keys"), err);
}

static int do_key_up(struct helper *h, struct json_object *args, struct json_object **ret,
		     int *ret_fd, struct mxc_error *err)
{
	return mxc_input_key_up(h->input, arg_str(args, "keys"), err);
}

static int do_type(struct helper *h, struct json_object *args, struct json_object **ret,
		   int *ret_fd, struct mxc_error *err)
{
	const char *text = arg_str(args, "text");
	return mxc_input_type(h->input, text ? text : "", text ? strlen(text) : 0, err);
}

static int do_clipboard_get(struct helper *h, struct json_object *args, struct json_object **ret,
			    int *ret_fd, struct mxc_error *err)
{
	const char *mime = arg_str(args, "mime");
	int64_t max = 0;
	mxc_json_get_i64(args, "max", 0, MXC_CLIPBOARD_MAX_BYTES, &max, NULL);
	uint8_t *data = NULL;
	size_t len = 0;
	int r = mxc_clipboard_get(h->clipboard, mime ? mime : "text/plain", (size_t)max, &data,
				  &len, err);
	if (r == 0 && (*ret_fd = sealed_memfd(data, len)) < 0)
		r = mxc_error_errno(err, *ret_fd, "failed to hand over the clipboard");
	free(data);
	if (r == 0) {
		*ret = json_object_new_object();
		mxc_json_add_i64(*ret, "bytes", (int64_t)len);
	}
	return r;
}

static int do_clipboard_set(struct helper *h, struct json_object *args, struct json_object **ret,
			    int *ret_fd, struct mxc_error *err)
{
	struct stat st;
	const char *mime = arg_str(args, "mime");
	if (h->fd_in < 0 || fstat(h->fd_in, &st) < 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > MXC_CLIPBOARD_MAX_BYTES)
		return mxc_error_set(err, -EINVAL, "clipboard_set: no data");
	size_t len = (size_t)st.st_size;
	void *p = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, h->fd_in, 0) : NULL;
	if (len && p == MAP_FAILED)
		return mxc_error_errno(err, -errno, "clipboard_set: failed to map the data");
	int r = mxc_clipboard_set(h->clipboard, mime ? mime : "text/plain", p, len, err);
	if (p)
		munmap(p, len);
	return r;
}

static int do_ping(struct helper *h, struct json_object *args, struct json_object **ret,
		   int *ret_fd, struct mxc_error *err)
{
	return 0;
}

static const struct verb {
	const char *name;
	verb_fn fn;
} verbs[] = {
	/* sorted by name */
	{ "button", do_button },
	{ "click", do_click },
	{ "clipboard_get", do_clipboard_get },
	{ "clipboard_set", do_clipboard_set },
	{ "cursor", do_cursor },
	{ "drag", do_drag },
	{ "frame", do_frame },
	{ "key", do_key },
	{ "key_down", do_key_down },
	{ "key_up", do_key_up },
	{ "move", do_move },
	{ "ping", do_ping },
	{ "screenshot", do_screenshot },
	{ "scroll", do_scroll },
	{ "type", do_type },
};

static int verb_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct verb *)elem)->name);
}

/* Answers one request; *ret_typed tells whether keys were sent (a keymap may need restoring). */
static int answer(struct helper *h, struct json_object *req, bool *ret_typed)
{
	struct mxc_error err = { 0 };
	struct json_object *args = NULL, *result = NULL, *msg;
	const char *name;
	int fd = -1, r = mxc_proto_parse_request(req, &name, &args, &err);
	const struct verb *v = NULL;
	if (r == 0 && !(v = bsearch(name, verbs, MXC_ARRAY_SIZE(verbs), sizeof(verbs[0]),
				    verb_cmp)))
		r = mxc_error_set(&err, -EOPNOTSUPP, "unknown helper verb '%.32s'", name);
	if (r == 0) {
		*ret_typed = v->fn == do_type || v->fn == do_key || v->fn == do_key_down ||
			     v->fn == do_key_up;
		r = v->fn(h, args, &result, &fd, &err);
	}
	if (r < 0) {
		json_object_put(result);
		mxc_close(fd);
		msg = mxc_proto_error(r, err.msg);
		fd = -1;
	} else {
		msg = mxc_proto_ok(result, fd >= 0 ? 1 : 0);
	}
	r = mxc_send_json(DAEMON_FD, msg, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
	json_object_put(msg);
	mxc_close(fd);
	return r;
}

int main(void)
{
	struct mxc_error err = { 0 };
	struct helper h = { 0 };
	/* A display or daemon that went away is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	h.fd_in = -1;
	if (mxc_display_connect(NULL, &h.display, &err) < 0 ||
	    mxc_input_create(h.display, &h.input, &err) < 0 ||
	    mxc_clipboard_create(h.display, &h.clipboard, &err) < 0) {
		struct json_object *m = mxc_proto_error(err.code, err.msg);
		mxc_send_json(DAEMON_FD, m, NULL, 0);
		json_object_put(m);
		return 1;
	}
	mxc_display_size(h.display, &h.width, &h.height);
	struct json_object *hello = json_object_new_object();
	mxc_json_add_str(hello, "event", "hello");
	mxc_json_add_i64(hello, "width", h.width);
	mxc_json_add_i64(hello, "height", h.height);
	mxc_json_add_bool(hello, "shm", mxc_display_uses_shm(h.display));
	struct json_object *m = mxc_proto_ok(hello, 0);
	int r = mxc_send_json(DAEMON_FD, m, NULL, 0);
	json_object_put(m);

	struct mxc_reader in;
	mxc_reader_init(&in, MXC_PROTO_MAX_LINE);
	/* When spare keycodes used for typing are due to be given back; 0: nothing pending. */
	uint64_t restore_at = 0;
	while (r == 0) {
		char *line;
		size_t len;
		int k = mxc_reader_line(&in, &line, &len);
		if (k < 0)
			break;
		if (k > 0) {
			struct json_object *req = NULL;
			bool typed = false;
			r = mxc_json_parse(line, len, &req, &err);
			h.fd_in = -1;
			mxc_reader_take_fds(&in, &h.fd_in, 1);
			mxc_reader_drop_fds(&in);
			if (r == 0)
				r = answer(&h, req, &typed);
			h.fd_in = mxc_close(h.fd_in);
			json_object_put(req);
			/* Spare keycodes used for typing go back once clients have read them. */
			if (typed)
				restore_at = mxc_now_mono_ns() / 1000000 + 1;
			continue;
		}
		/*
		 * Events a round trip already read do not wake poll(): handle what is queued
		 * first (the clipboard's requestors among them), then wait for either side.
		 */
		int d;
		while ((d = mxc_display_dispatch(h.display, &err)) == 1)
			;
		if (d < 0)
			break;
		struct pollfd p[2] = { { DAEMON_FD, POLLIN, 0 },
				       { mxc_display_get_fd(h.display), POLLIN, 0 } };
		uint64_t now = mxc_now_mono_ns() / 1000000;
		int timeout = !restore_at ? -1 : restore_at > now ? (int)(restore_at - now) : 0;
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[1].revents & (POLLHUP | POLLERR))
			break; /* the display is gone, and with it the session */
		if (p[0].revents) {
			int n = mxc_reader_fill(&in, DAEMON_FD);
			if (n == 0 || (n < 0 && n != -EAGAIN))
				break;
		}
		if (restore_at && mxc_now_mono_ns() / 1000000 >= restore_at) {
			int again = mxc_input_restore_keymap(h.input, &err);
			if (again < 0)
				break;
			restore_at = again ? mxc_now_mono_ns() / 1000000 + (uint64_t)again : 0;
		}
	}
	mxc_reader_finish(&in);
	mxc_clipboard_destroy(h.clipboard);
	mxc_input_destroy(h.input);
	mxc_display_destroy(h.display);
	return 0;
}
