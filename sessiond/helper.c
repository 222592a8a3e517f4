/*
 * mxc-session-helper: the daemon's hands inside a session. It runs as the agent in the
 * session's namespaces, holds the connection to the session's display, and answers the
 * daemon's requests on descriptor 3 (the daemon treats every answer as hostile: this
 * process is the agent's to tamper with). The first message is a greeting with the screen
 * size; screenshots travel back as sealed memfds.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "display.h"
#include "json.h"
#include "proto.h"

#define DAEMON_FD 3

static int send_error(int code, const char *msg)
{
	struct json_object *m = mxc_proto_error(code, msg);
	int r = mxc_send_json(DAEMON_FD, m, NULL, 0);
	json_object_put(m);
	return r;
}

/* A sealed memfd holding data: the receiver can trust its size and contents not to change. */
static int sealed_memfd(const void *data, size_t len)
{
	int fd = memfd_create("mxc-screenshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
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

static int screenshot(struct mxc_display *d)
{
	struct mxc_error err = { 0 };
	struct mxc_image img = { 0 };
	uint8_t *png = NULL;
	size_t len = 0;
	int r = mxc_display_capture(d, &img, &err);
	if (r == 0)
		r = mxc_png_encode(&img, &png, &len, &err);
	if (r < 0) {
		mxc_image_finish(&img);
		return send_error(r, err.msg);
	}
	int fd = sealed_memfd(png, len);
	free(png);
	if (fd < 0) {
		mxc_image_finish(&img);
		return send_error(fd, "failed to hand over the screenshot");
	}
	struct json_object *res = json_object_new_object();
	mxc_json_add_i64(res, "width", img.width);
	mxc_json_add_i64(res, "height", img.height);
	mxc_json_add_i64(res, "bytes", (int64_t)len);
	mxc_image_finish(&img);
	struct json_object *m = mxc_proto_ok(res, 1);
	r = mxc_send_json(DAEMON_FD, m, &fd, 1);
	json_object_put(m);
	close(fd);
	return r;
}

int main(void)
{
	struct mxc_error err = { 0 };
	struct mxc_display *d = NULL;
	/* A display or daemon that went away is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	if (mxc_display_connect(NULL, &d, &err) < 0) {
		send_error(err.code, err.msg);
		return 1;
	}
	uint32_t w, h;
	mxc_display_size(d, &w, &h);
	struct json_object *hello = json_object_new_object();
	mxc_json_add_str(hello, "event", "hello");
	mxc_json_add_i64(hello, "width", w);
	mxc_json_add_i64(hello, "height", h);
	mxc_json_add_bool(hello, "shm", mxc_display_uses_shm(d));
	struct json_object *m = mxc_proto_ok(hello, 0);
	int r = mxc_send_json(DAEMON_FD, m, NULL, 0);
	json_object_put(m);

	struct mxc_reader in;
	mxc_reader_init(&in, MXC_PROTO_MAX_LINE);
	while (r == 0) {
		struct json_object *req = NULL, *args = NULL;
		const char *verb;
		r = mxc_recv_json(&in, DAEMON_FD, &req, &err);
		if (r < 0)
			break;
		mxc_reader_drop_fds(&in);
		if (mxc_proto_parse_request(req, &verb, &args, &err) < 0)
			r = send_error(err.code, err.msg);
		else if (strcmp(verb, "screenshot") == 0)
			r = screenshot(d);
		else if (strcmp(verb, "ping") == 0) {
			struct json_object *ok = mxc_proto_ok(NULL, 0);
			r = mxc_send_json(DAEMON_FD, ok, NULL, 0);
			json_object_put(ok);
		} else
			r = send_error(-EOPNOTSUPP, "unknown helper verb");
		json_object_put(req);
	}
	mxc_reader_finish(&in);
	mxc_display_destroy(d);
	return 0;
}
