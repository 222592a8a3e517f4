/* The benchmark's mxc client: see verbs.h. */
#include <json-c/json.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "json.h"
#include "verbs.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

int bench_client_open(struct bench_client *c, const char *socket_path, const char *session,
		      struct mxc_error *err)
{
	c->session = session;
	return mxc_conn_open(&c->conn, socket_path, err);
}

void bench_client_close(struct bench_client *c)
{
	mxc_conn_close(&c->conn);
}

static struct json_object *session_args(struct bench_client *c)
{
	struct json_object *args = json_object_new_object();

	mxc_json_add_str(args, "session", c->session);
	return args;
}

/* Sends verb with args and waits for the answer; keeps up to one descriptor. */
static int call(struct bench_client *c, const char *verb, struct json_object *args,
		struct json_object **ret_resp, struct json_object **ret_result, int *ret_fd,
		struct mxc_error *err)
{
	size_t n_fds = 0;
	int r = mxc_conn_send(&c->conn, verb, args, NULL, 0, err);

	if (r == 0)
		r = mxc_conn_recv(&c->conn, ret_resp, ret_result, ret_fd, ret_fd ? 1 : 0, &n_fds,
				  err);
	if (r < 0)
		return mxc_error_prefix(err, "%s of session '%s'", verb, c->session);
	if (ret_fd && n_fds != 1) {
		json_object_put(*ret_resp);
		return mxc_error_set(err, -EBADMSG, "%s of session '%s': no descriptor", verb,
				     c->session);
	}
	return 0;
}

int bench_client_screenshot(struct bench_client *c, const int region[4], size_t *ret_bytes,
			    uint32_t *ret_width, uint32_t *ret_height, struct mxc_error *err)
{
	struct json_object *resp, *result, *args = session_args(c);
	int64_t bytes = 0, width = 0, height = 0;
	volatile uint8_t sink = 0;
	struct stat st;
	uint8_t *png;
	int fd = -1, r;

	if (region) {
		struct json_object *o = json_object_new_object();

		mxc_json_add_i64(o, "x", region[0]);
		mxc_json_add_i64(o, "y", region[1]);
		mxc_json_add_i64(o, "width", region[2]);
		mxc_json_add_i64(o, "height", region[3]);
		json_object_object_add(args, "region", o);
	}
	r = call(c, "screenshot", args, &resp, &result, &fd, err);
	if (r < 0)
		return r;
	if (mxc_json_get_i64(result, "bytes", 1, INT32_MAX, &bytes, err) < 0 ||
	    mxc_json_get_i64(result, "width", 1, 65535, &width, err) < 0 ||
	    mxc_json_get_i64(result, "height", 1, 65535, &height, err) < 0) {
		r = -EBADMSG;
		goto out;
	}
	if (fstat(fd, &st) < 0 || st.st_size != bytes) {
		r = mxc_error_set(err, -EBADMSG, "the screenshot's memfd is not %lld bytes",
				  (long long)bytes);
		goto out;
	}
	png = mmap(NULL, (size_t)bytes, PROT_READ, MAP_PRIVATE, fd, 0);
	if (png == MAP_FAILED) {
		r = mxc_error_errno(err, -errno, "failed to map the screenshot");
		goto out;
	}
	if (bytes < 8 || memcmp(png, png_signature, 8) != 0) {
		r = mxc_error_set(err, -EBADMSG, "the screenshot is not a PNG");
	} else {
		/* In hand: every page read, as a client encoding or sending it would. */
		uint8_t x = 0;

		for (int64_t i = 0; i < bytes; i++)
			x ^= png[i];
		sink = x;
	}
	(void)sink;
	munmap(png, (size_t)bytes);
	if (r == 0) {
		*ret_bytes = (size_t)bytes;
		*ret_width = (uint32_t)width;
		*ret_height = (uint32_t)height;
	}
out:
	close(fd);
	json_object_put(resp);
	return r;
}

int bench_client_call(struct bench_client *c, const char *verb, bool session, struct mxc_error *err)
{
	struct json_object *resp, *result;
	int r = call(c, verb, session ? session_args(c) : json_object_new_object(), &resp, &result,
		     NULL, err);

	if (r == 0)
		json_object_put(resp);
	return r;
}

static int pointer_verb(struct bench_client *c, const char *verb, int x, int y,
			struct mxc_error *err)
{
	struct json_object *args = session_args(c), *resp, *result;
	int r;

	mxc_json_add_i64(args, "x", x);
	mxc_json_add_i64(args, "y", y);
	r = call(c, verb, args, &resp, &result, NULL, err);
	if (r == 0)
		json_object_put(resp);
	return r;
}

int bench_client_click(struct bench_client *c, int x, int y, struct mxc_error *err)
{
	return pointer_verb(c, "click", x, y, err);
}

int bench_client_move(struct bench_client *c, int x, int y, struct mxc_error *err)
{
	return pointer_verb(c, "move", x, y, err);
}

int bench_client_type(struct bench_client *c, const char *text, struct mxc_error *err)
{
	struct json_object *args = session_args(c), *resp, *result;
	int r;

	mxc_json_add_str(args, "text", text);
	r = call(c, "type", args, &resp, &result, NULL, err);
	if (r == 0)
		json_object_put(resp);
	return r;
}
