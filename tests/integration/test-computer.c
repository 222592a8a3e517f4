/*
 * The computer-use verbs end to end, checked the way a user checks them: the real daemon, a
 * real session with its Xvfb, and inside it an X client of our own (xrecorder, running as the
 * agent) that paints known pixels and writes down every input event it receives, turning key
 * presses into text as real clients do. Screenshots are decoded and compared pixel by pixel
 * with what was painted; clicks are compared with where the recorder saw them land, computed
 * here independently of the daemon.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "json.h"
#include "proto.h"

#define SCREEN_W 1280
#define SCREEN_H 800
/* X modifier and button bits of an event's state. */
#define STATE_SHIFT   0x1
#define STATE_CONTROL 0x4
#define STATE_BUTTON1 0x100
#define STATE_BUTTON3 0x400

static struct mxc_harness h;

static void setup(void)
{
	/* A CLI that exits before reading all of its standard input must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	mxc_harness_start(&h);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(computer, .init = setup, .fini = teardown, .timeout = 120);

/* ---- running things ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs mxc as root and asserts it fails with exit status 1 and an error naming part. */
#define expect_cli_error(part, ...)                                                                \
	expect_failure(__LINE__, 1, part, mxc_run(&h, 0, NULL, __VA_ARGS__, NULL))

static void expect_failure(int line, int status, const char *part, struct mxc_result r)
{
	cr_assert_eq(r.status, status, "line %d: exit status %d, not %d (stdout '%s', stderr '%s')",
		     line, r.status, status, r.out, r.err);
	cr_assert_not_null(strstr(r.err, part), "line %d: the error does not say '%s': %s", line,
			   part, r.err);
	mxc_result_free(&r);
}

static const struct passwd *agent_account(const char *agent)
{
	const struct passwd *pw = getpwnam(agent);
	cr_assert_not_null(pw, "agent %s has no account", agent);
	return pw;
}

static struct json_object *session_show(const char *id)
{
	char *out = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(out);
	free(out);
	return o;
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *m = NULL;
	json_object_object_get_ex(o, key, &m);
	return m;
}

/* ---- the recorder inside the session ---- */

struct rec {
	char id[16];
	char file[400], fifo[400];
	off_t pos;     /* what rec_sync has consumed of the file */
	unsigned mark; /* last mark asked for */
};

/* The session's own log (the recorder's stderr goes there), for failure messages. */
static char *session_log(const char *id)
{
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c",
				      "cat $XDG_RUNTIME_DIR/session.log", NULL);
	free(r.err);
	return r.out;
}

/*
 * Starts xrecorder in the session (as the agent, through launch) with the given options
 * (painting) and waits until its window is on the screen.
 */
static void rec_start(struct rec *r, const char *agent, const char *id, const char *options)
{
	char src[400], exe[400], script[4096];
	*r = (struct rec){0};
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(src, sizeof(src), "%s/tests/integration/xrecorder", h.bin);
	mxc_harness_install(agent, src, "xrecorder", exe, sizeof(exe));
	const char *home = agent_account(agent)->pw_dir;
	/* Per session: sessions of one agent share its home. */
	snprintf(r->file, sizeof(r->file), "%s/events-%s.jsonl", home, id);
	snprintf(r->fifo, sizeof(r->fifo), "%s/marks-%s", home, id);
	snprintf(script, sizeof(script), "exec %s -o %s --fifo %s %s", exe, r->file, r->fifo,
		 options ? options : "");
	free(mxc_ok(&h, "launch", id, "--", "/bin/sh", "-c", script, NULL));
	for (int i = 0; i < 1000; i++) {
		char *text = NULL;
		size_t len = 0;
		if (mxc_read_file(r->file, 1 << 20, &text, &len) == 0) {
			char *nl = memchr(text, '\n', len);
			bool ready = nl && strstr(text, "\"type\":\"ready\"");
			if (ready)
				r->pos = nl + 1 - text;
			free(text);
			if (ready)
				return;
		}
		usleep(10000);
	}
	char *log = session_log(id);
	cr_assert_fail("the recorder did not start in session %s:\n%s", id, log);
}

/*
 * Every event the recorder received since the last call, once it has received them all:
 * a mark written to its FIFO comes back through the X server after them.
 */
static struct json_object *rec_sync(struct rec *r)
{
	unsigned n = ++r->mark;
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u\n", n);
	int fd = open(r->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(fd, 0, "the recorder's FIFO: %s", strerror(errno));
	cr_assert_eq(write(fd, buf, (size_t)len), len);
	close(fd);
	for (int i = 0; i < 2000; i++) {
		char *text = NULL;
		size_t tlen = 0;
		fd = open(r->file, O_RDONLY | O_CLOEXEC);
		cr_assert_geq(fd, 0);
		cr_assert_eq(lseek(fd, r->pos, SEEK_SET), r->pos);
		cr_assert_eq(mxc_read_fd(fd, 256u << 20, &text, &tlen), 0);
		close(fd);
		struct json_object *events = json_object_new_array();
		size_t p = 0;
		char *nl;
		while (p < tlen && (nl = memchr(text + p, '\n', tlen - p))) {
			*nl = '\0';
			struct json_object *e = mxc_test_json(text + p);
			p = (size_t)(nl + 1 - text);
			if (!mxc_streq(mxc_test_str(e, "type"), "mark")) {
				json_object_array_add(events, e);
				continue;
			}
			bool mine = mxc_test_int(e, "n") == n;
			json_object_put(e);
			if (mine) {
				r->pos += (off_t)p;
				free(text);
				return events;
			}
		}
		json_object_put(events);
		free(text);
		usleep(5000);
	}
	cr_assert_fail("the recorder in session %s did not come back with mark %u", r->id, n);
	return NULL;
}

static const char *ev_type(struct json_object *e)
{
	return mxc_test_str(e, "type");
}

/* The events that are not motion (a new array; the events are shared). */
static struct json_object *without_motion(struct json_object *events)
{
	struct json_object *out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		struct json_object *e = json_object_array_get_idx(events, i);
		if (!mxc_streq(ev_type(e), "motion"))
			json_object_array_add(out, json_object_get(e));
	}
	return out;
}

/* rec_sync, without the motion events. */
static struct json_object *rec_sync_nomotion(struct rec *r)
{
	struct json_object *ev = rec_sync(r), *out = without_motion(ev);
	json_object_put(ev);
	return out;
}

/* The text of the key presses, in order. */
static char *typed_text(struct json_object *events)
{
	size_t cap = 1024, len = 0;
	char *s = malloc(cap);
	cr_assert_not_null(s);
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		struct json_object *e = json_object_array_get_idx(events, i);
		const char *t = mxc_streq(ev_type(e), "key_press") ? mxc_test_str(e, "text") : NULL;
		size_t n = t ? strlen(t) : 0;
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			s = realloc(s, cap);
			cr_assert_not_null(s);
		}
		memcpy(s + len, t ? t : "", n);
		len += n;
	}
	s[len] = '\0';
	return s;
}

/* Asserts that event i is of this type, with this button (or key name) at (x, y). */
static void expect_button_event(struct json_object *events, size_t i, const char *type,
				int64_t button, int64_t x, int64_t y)
{
	cr_assert_gt(json_object_array_length(events), i, "no event %zu: %s", i,
		     mxc_json_str(events, NULL));
	struct json_object *e = json_object_array_get_idx(events, i);
	cr_assert_str_eq(ev_type(e), type, "event %zu: %s", i, mxc_json_str(e, NULL));
	cr_assert_eq(mxc_test_int(e, "button"), button, "event %zu: %s", i, mxc_json_str(e, NULL));
	cr_assert(mxc_test_int(e, "x") == x && mxc_test_int(e, "y") == y,
		  "event %zu is at %lld,%lld, not %lld,%lld", i, (long long)mxc_test_int(e, "x"),
		  (long long)mxc_test_int(e, "y"), (long long)x, (long long)y);
}

static void expect_key_event(struct json_object *events, size_t i, const char *type,
			     const char *base)
{
	cr_assert_gt(json_object_array_length(events), i, "no event %zu: %s", i,
		     mxc_json_str(events, NULL));
	struct json_object *e = json_object_array_get_idx(events, i);
	cr_assert_str_eq(ev_type(e), type, "event %zu: %s", i, mxc_json_str(e, NULL));
	cr_assert_str_eq(mxc_test_str(e, "base"), base, "event %zu: %s", i, mxc_json_str(e, NULL));
}

/* ---- the socket, raw ---- */

static int connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One request on an open connection; the response (caller puts) and its descriptor, if any. */
static struct json_object *request_on(int fd, const char *verb, struct json_object *args,
				      int *ret_fd)
{
	struct json_object *req = mxc_proto_request(verb, args);
	cr_assert_eq(mxc_send_json(fd, req, NULL, 0), 0);
	json_object_put(req);
	struct mxc_reader in;
	struct mxc_error err = {0};
	struct json_object *resp = NULL;
	mxc_reader_init(&in, MXC_PROTO_MAX_RESPONSE);
	cr_assert_eq(mxc_recv_json(&in, fd, &resp, &err), 0, "%s: no response: %s", verb, err.msg);
	int fds[MXC_PROTO_MAX_FDS];
	size_t n = mxc_reader_take_fds(&in, fds, MXC_PROTO_MAX_FDS);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 && ret_fd)
			*ret_fd = fds[0];
		else
			close(fds[i]);
	}
	mxc_reader_finish(&in);
	return resp;
}

/* One request on the main socket, as root. */
static struct json_object *request(const char *verb, struct json_object *args)
{
	int fd = connect_to(h.sock);
	cr_assert_geq(fd, 0, "cannot connect to the daemon: %s", strerror(errno));
	struct json_object *resp = request_on(fd, verb, args, NULL);
	close(fd);
	return resp;
}

static bool resp_ok(struct json_object *resp)
{
	struct json_object *ok = member(resp, "ok");
	return ok && json_object_get_boolean(ok);
}

static struct json_object *resp_result(struct json_object *resp)
{
	cr_assert(resp_ok(resp), "the request failed: %s", mxc_json_str(resp, NULL));
	return member(resp, "result");
}

static const char *resp_message(struct json_object *resp)
{
	const char *m = mxc_test_str(member(resp, "error"), "message");
	return m ? m : "";
}

static const char *resp_code(struct json_object *resp)
{
	const char *c = mxc_test_str(member(resp, "error"), "code");
	return c ? c : "";
}

/* Sends a request on the main socket and asserts it fails with code and a message naming part. */
static void expect_refused(const char *verb, const char *args_json, const char *code,
			   const char *part)
{
	struct json_object *resp = request(verb, mxc_test_json(args_json));
	cr_assert_not(resp_ok(resp), "%s %s was served: %s", verb, args_json,
		      mxc_json_str(resp, NULL));
	cr_assert_str_eq(resp_code(resp), code, "%s %s: %s", verb, args_json,
			 mxc_json_str(resp, NULL));
	cr_assert_not_null(strstr(resp_message(resp), part),
			   "%s %s: the error does not say '%s': %s", verb, args_json, part,
			   resp_message(resp));
	json_object_put(resp);
}

/* ---- images ---- */

struct image {
	uint32_t w, h;
	uint8_t *rgb;
};

static void png_decode(const void *data, size_t len, struct image *img)
{
	spng_ctx *ctx = spng_ctx_new(0);
	struct spng_ihdr ihdr;
	size_t n;
	cr_assert_not_null(ctx);
	spng_set_png_buffer(ctx, data, len);
	cr_assert_eq(spng_get_ihdr(ctx, &ihdr), 0, "not a PNG");
	cr_assert_eq(spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &n), 0);
	img->rgb = malloc(n);
	cr_assert_not_null(img->rgb);
	cr_assert_eq(spng_decode_image(ctx, img->rgb, n, SPNG_FMT_RGB8, 0), 0,
		     "the PNG does not decode");
	img->w = ihdr.width;
	img->h = ihdr.height;
	spng_ctx_free(ctx);
}

static void png_file(const char *file, struct image *img)
{
	char *data = NULL;
	size_t len = 0;
	cr_assert_eq(mxc_read_file(file, 256u << 20, &data, &len), 0, "cannot read %s", file);
	png_decode(data, len, img);
	free(data);
}

static uint32_t pixel(const struct image *img, uint32_t x, uint32_t y)
{
	const uint8_t *p = img->rgb + ((size_t)y * img->w + x) * 3;
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/*
 * `mxc screenshot ID -o FILE --json [OPTIONS]` (up to two option pairs, NULL ends them):
 * decodes the image and returns the answer (caller puts).
 */
static struct json_object *screenshot(const char *id, struct image *img, const char *o1,
				      const char *v1, const char *o2, const char *v2)
{
	static unsigned n;
	char file[300];
	snprintf(file, sizeof(file), "%s/shot-%u.png", h.env.scratch, n++);
	struct mxc_result r =
	    mxc_run(&h, 0, NULL, "screenshot", id, "-o", file, "--json", o1, v1, o2, v2, NULL);
	cr_assert_eq(r.status, 0, "screenshot %s %s %s %s failed: %s", o1 ? o1 : "", v1 ? v1 : "",
		     o2 ? o2 : "", v2 ? v2 : "", r.err);
	struct json_object *res = mxc_test_json(r.out);
	mxc_result_free(&r);
	png_file(file, img);
	cr_assert_eq(img->w, mxc_test_int(res, "width"), "the PNG's width is not the answer's");
	cr_assert_eq(img->h, mxc_test_int(res, "height"), "the PNG's height is not the answer's");
	return res;
}

/* Asserts the answer's mapping is exactly this. */
static void expect_mapping(struct json_object *res, int64_t x, int64_t y, int64_t w, int64_t hh,
			   int64_t iw, int64_t ih)
{
	struct json_object *m = member(res, "mapping");
	cr_assert_not_null(m, "no mapping in %s", mxc_json_str(res, NULL));
	int64_t want[] = {x, y, w, hh, iw, ih, SCREEN_W, SCREEN_H};
	static const char *const keys[] = {"x",
					   "y",
					   "width",
					   "height",
					   "image_width",
					   "image_height",
					   "screen_width",
					   "screen_height"};
	for (size_t i = 0; i < 8; i++)
		cr_assert_eq(mxc_test_int(m, keys[i]), want[i], "mapping %s is %lld, not %lld: %s",
			     keys[i], (long long)mxc_test_int(m, keys[i]), (long long)want[i],
			     mxc_json_str(m, NULL));
	cr_assert_eq(mxc_test_int(res, "width"), iw);
	cr_assert_eq(mxc_test_int(res, "height"), ih);
}

/* ---- what the recorder paints ---- */

struct rect {
	int x, y, w, h;
	uint32_t rgb;
};

/* xrecorder --pattern: every pixel its own colour. */
static uint32_t pattern_rgb(int x, int y)
{
	return (uint32_t)(x & 0xff) << 16 | (uint32_t)(y & 0xff) << 8 | (uint32_t)((x >> 8) & 0xf) |
	       (uint32_t)((y >> 8) & 0xf) << 4;
}

/* The scene the capture tests paint: the pattern, and solid rectangles over it. */
static const struct rect scene[] = {
    {0, 0, 100, 100, 0xff0000},	    {1180, 700, 100, 100, 0x00ff00}, {600, 380, 80, 40, 0x0000ff},
    {301, 203, 11, 9, 0xffffff},    {640, 0, 1, 800, 0x123456},	     {0, 400, 1280, 1, 0xabcdef},
    {150, 120, 200, 150, 0xff8000}, {200, 170, 40, 30, 0x00ffff},
};

static const char scene_options[] =
    "--pattern --rect 0,0,100,100,ff0000 --rect 1180,700,100,100,00ff00 "
    "--rect 600,380,80,40,0000ff --rect 301,203,11,9,ffffff --rect 640,0,1,800,123456 "
    "--rect 0,400,1280,1,abcdef --rect 150,120,200,150,ff8000 --rect 200,170,40,30,00ffff";

/* The colour of screen pixel (x, y): the last rectangle over it (the topmost), or the pattern. */
static uint32_t scene_rgb(int x, int y)
{
	for (size_t i = MXC_ARRAY_SIZE(scene); i-- > 0;) {
		const struct rect *r = &scene[i];
		if (x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h)
			return r->rgb;
	}
	return pattern_rgb(x, y);
}

/* The physical pixel under the centre of image pixel i, along one axis. */
static int64_t phys(int64_t r0, int64_t rw, int64_t iw, int64_t i)
{
	return r0 + (2 * i + 1) * rw / (2 * iw);
}

/*
 * The screen pixels (and their weights) image pixel i shows along one axis, computed on our
 * own: the pixel under its centre when enlarging, the pixels it covers, by the fraction
 * covered, when shrinking.
 */
static size_t axis_sources(int64_t r0, int64_t rw, int64_t iw, int64_t i, int64_t *src, double *w)
{
	if (iw >= rw) {
		src[0] = phys(r0, rw, iw, i);
		w[0] = 1;
		return 1;
	}
	double lo = (double)i * (double)rw / (double)iw,
	       hi = (double)(i + 1) * (double)rw / (double)iw;
	size_t n = 0;
	for (int64_t s = (int64_t)lo; (double)s < hi; s++) {
		double a = lo > (double)s ? lo : (double)s;
		double b = hi < (double)(s + 1) ? hi : (double)(s + 1);
		if (b > a) {
			src[n] = r0 + s;
			w[n++] = (b - a) / (hi - lo);
		}
	}
	return n;
}

/*
 * Asserts that every pixel of a screenshot shows what the scene has where its mapping says:
 * exactly where it is not shrunk, within 2 levels of our own average where it is.
 */
static void expect_image_shows_scene(const struct image *img, struct json_object *res)
{
	struct json_object *m = member(res, "mapping");
	int64_t rx = mxc_test_int(m, "x"), ry = mxc_test_int(m, "y");
	int64_t rw = mxc_test_int(m, "width"), rh = mxc_test_int(m, "height");
	int64_t iw = img->w, ih = img->h;
	int tolerance = iw < rw || ih < rh ? 2 : 0;
	int64_t xs[64], ys[64];
	double xw[64], yw[64];
	for (int64_t j = 0; j < ih; j++) {
		size_t ny = axis_sources(ry, rh, ih, j, ys, yw);
		for (int64_t i = 0; i < iw; i++) {
			size_t nx = axis_sources(rx, rw, iw, i, xs, xw);
			double c[3] = {0, 0, 0};
			for (size_t b = 0; b < ny; b++)
				for (size_t a = 0; a < nx; a++) {
					uint32_t rgb = scene_rgb((int)xs[a], (int)ys[b]);
					for (int k = 0; k < 3; k++)
						c[k] += xw[a] * yw[b] *
							(double)((rgb >> (16 - 8 * k)) & 0xff);
				}
			uint32_t got = pixel(img, (uint32_t)i, (uint32_t)j);
			for (int k = 0; k < 3; k++) {
				double d = (double)((got >> (16 - 8 * k)) & 0xff) - c[k];
				cr_assert(d <= tolerance && d >= -tolerance,
					  "image pixel %lld,%lld of %s is %06x, not about "
					  "%02x%02x%02x",
					  (long long)i, (long long)j, mxc_json_str(m, NULL), got,
					  (unsigned)(c[0] + 0.5), (unsigned)(c[1] + 0.5),
					  (unsigned)(c[2] + 0.5));
			}
		}
	}
}

/* ---- 1. capture ---- */

Test(computer, screenshots_show_exactly_what_is_on_the_screen)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, scene_options);
	struct image img;

	struct json_object *res = screenshot(id, &img, NULL, NULL, NULL, NULL);
	expect_mapping(res, 0, 0, SCREEN_W, SCREEN_H, SCREEN_W, SCREEN_H);
	cr_assert_str_eq(mxc_test_str(res, "format"), "png");
	for (int y = 0; y < SCREEN_H; y++)
		for (int x = 0; x < SCREEN_W; x++)
			cr_assert_eq(pixel(&img, (uint32_t)x, (uint32_t)y), scene_rgb(x, y),
				     "pixel %d,%d is %06x, not %06x", x, y,
				     pixel(&img, (uint32_t)x, (uint32_t)y), scene_rgb(x, y));
	json_object_put(res);
	free(img.rgb);

	/* Regions: exactly those pixels, at the edges of the screen too. */
	static const int regions[][4] = {
	    {100, 50, 300, 200}, {1180, 700, 100, 100}, {0, 0, 1, 1},
	    {1279, 799, 1, 1},	 {639, 0, 3, 800},	{0, 399, 1280, 3},
	};
	for (size_t k = 0; k < MXC_ARRAY_SIZE(regions); k++) {
		const int *g = regions[k];
		char arg[64];
		snprintf(arg, sizeof(arg), "%d,%d,%d,%d", g[0], g[1], g[2], g[3]);
		res = screenshot(id, &img, "--region", arg, NULL, NULL);
		expect_mapping(res, g[0], g[1], g[2], g[3], g[2], g[3]);
		for (int y = 0; y < g[3]; y++)
			for (int x = 0; x < g[2]; x++)
				cr_assert_eq(pixel(&img, (uint32_t)x, (uint32_t)y),
					     scene_rgb(g[0] + x, g[1] + y),
					     "region %s: pixel %d,%d is %06x, not %06x", arg, x, y,
					     pixel(&img, (uint32_t)x, (uint32_t)y),
					     scene_rgb(g[0] + x, g[1] + y));
		json_object_put(res);
		free(img.rgb);
	}
	free(id);
}

Test(computer, a_screenshot_over_the_socket_is_a_sealed_png)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, scene_options);
	char args[128];
	snprintf(args, sizeof(args),
		 "{\"session\":\"%s\",\"region\":{\"x\":150,\"y\":120,\"width\":16,\"height\":8}}",
		 id);
	int fd = connect_to(h.sock), png = -1;
	cr_assert_geq(fd, 0);
	struct json_object *resp = request_on(fd, "screenshot", mxc_test_json(args), &png);
	close(fd);
	struct json_object *res = resp_result(resp);
	cr_assert_geq(png, 0, "no descriptor with the screenshot");
	struct stat st;
	cr_assert_eq(fstat(png, &st), 0);
	cr_assert_eq(st.st_size, mxc_test_int(res, "bytes"), "the memfd is not the announced size");
	int seals = fcntl(png, F_GET_SEALS);
	cr_assert(seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) ==
				    (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW),
		  "the screenshot's memfd is not sealed (%#x)", seals);
	char *data = malloc((size_t)st.st_size);
	cr_assert_eq(pread(png, data, (size_t)st.st_size, 0), st.st_size);
	close(png);
	struct image img;
	png_decode(data, (size_t)st.st_size, &img);
	free(data);
	expect_mapping(res, 150, 120, 16, 8, 16, 8);
	for (uint32_t y = 0; y < 8; y++)
		for (uint32_t x = 0; x < 16; x++)
			cr_assert_eq(pixel(&img, x, y), 0xff8000);
	free(img.rgb);
	json_object_put(resp);

	/* screen_size says the same. */
	char *out = mxc_ok(&h, "input", id, "screen_size", NULL);
	cr_assert_str_eq(out, "1280x800");
	free(out);
	free(id);
}

/* ---- 2. coordinates ---- */

/* A coordinate space, as asked for on the command line, and the mapping it must give. */
struct space_case {
	const char *scale, *max_edge, *region;
	int64_t x, y, w, h, iw, ih;
};

static const struct space_case spaces[] = {
    {"1000x625", NULL, NULL, 0, 0, 1280, 800, 1000, 625},
    {"640x400", NULL, NULL, 0, 0, 1280, 800, 640, 400},
    {"997x611", NULL, NULL, 0, 0, 1280, 800, 997, 611},
    {"1600x1000", NULL, NULL, 0, 0, 1280, 800, 1600, 1000},
    {NULL, "500", NULL, 0, 0, 1280, 800, 500, 313},
    {NULL, "2000", NULL, 0, 0, 1280, 800, 1280, 800},
    {NULL, NULL, "37,41,123,77", 37, 41, 123, 77, 123, 77},
    {"1000x625", NULL, "100,60,320,200", 100, 60, 320, 200, 1000, 625},
    {NULL, "50", "200,100,400,300", 200, 100, 400, 300, 50, 38},
};

/* Takes the case's screenshot and checks its mapping; returns the answer (caller puts). */
static struct json_object *space_screenshot(const char *id, const struct space_case *c,
					    struct image *img)
{
	const char *o1 = NULL, *v1 = NULL, *o2 = NULL, *v2 = NULL;
	if (c->scale) {
		o1 = "--scale";
		v1 = c->scale;
	} else if (c->max_edge) {
		o1 = "--max-edge";
		v1 = c->max_edge;
	}
	if (c->region) {
		o2 = "--region";
		v2 = c->region;
		if (!o1) {
			o1 = o2;
			v1 = v2;
			o2 = v2 = NULL;
		}
	}
	struct json_object *res = screenshot(id, img, o1, v1, o2, v2);
	expect_mapping(res, c->x, c->y, c->w, c->h, c->iw, c->ih);
	return res;
}

Test(computer, scaled_and_zoomed_screenshots_show_what_their_mapping_says)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, scene_options);
	for (size_t k = 0; k < MXC_ARRAY_SIZE(spaces); k++) {
		struct image img;
		struct json_object *res = space_screenshot(id, &spaces[k], &img);
		expect_image_shows_scene(&img, res);
		json_object_put(res);
		free(img.rgb);
	}
	free(id);
}

/* The image pixels a space case clicks: corners, the middle, odd places. */
static size_t space_points(const struct space_case *c, int64_t pts[][2])
{
	int64_t w = c->iw, hh = c->ih;
	int64_t p[][2] = {{0, 0},      {w - 1, hh - 1},	    {w / 2, hh / 2},	{w - 1, 0},
			  {1, hh - 2}, {w * 2 / 3, hh / 5}, {w / 7, hh * 5 / 6}};
	memcpy(pts, p, sizeof(p));
	return MXC_ARRAY_SIZE(p);
}

/* The CLI options that name a case's space for input: the image's size, and the region. */
static void space_cli(const struct space_case *c, const char **o1, const char **v1, const char **o2,
		      const char **v2, char *size, size_t len)
{
	*o1 = *v1 = *o2 = *v2 = NULL;
	if (c->scale || c->max_edge) {
		snprintf(size, len, "%lldx%lld", (long long)c->iw, (long long)c->ih);
		*o1 = "--scale";
		*v1 = size;
	}
	if (c->region && *o1) {
		*o2 = "--region";
		*v2 = c->region;
	} else if (c->region) {
		*o1 = "--region";
		*v1 = c->region;
	}
}

Test(computer, clicks_in_image_coordinates_land_under_the_image_pixel)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	for (size_t k = 0; k < MXC_ARRAY_SIZE(spaces); k++) {
		const struct space_case *c = &spaces[k];
		struct image img;
		struct json_object *shot = space_screenshot(id, c, &img);
		free(img.rgb);
		struct json_object *mapping = member(shot, "mapping");
		int64_t pts[16][2];
		size_t n = space_points(c, pts);
		for (size_t i = 0; i < n; i++) {
			int64_t ix = pts[i][0], iy = pts[i][1];
			int64_t px = phys(c->x, c->w, c->iw, ix), py = phys(c->y, c->h, c->ih, iy);
			char sx[16], sy[16], size[32];
			const char *o1, *v1, *o2, *v2;
			snprintf(sx, sizeof(sx), "%lld", (long long)ix);
			snprintf(sy, sizeof(sy), "%lld", (long long)iy);
			space_cli(c, &o1, &v1, &o2, &v2, size, sizeof(size));

			/* From the command line, with --scale / --region. */
			char *out = mxc_ok(&h, "input", id, "click", sx, sy, "--json", o1, v1, o2,
					   v2, NULL);
			struct json_object *res = mxc_test_json(out);
			free(out);
			cr_assert(mxc_test_int(res, "screen_x") == px &&
				      mxc_test_int(res, "screen_y") == py,
				  "space %zu, image %lld,%lld: the answer says %s, not %lld,%lld",
				  k, (long long)ix, (long long)iy, mxc_json_str(res, NULL),
				  (long long)px, (long long)py);
			json_object_put(res);
			struct json_object *ev = rec_sync_nomotion(&r);
			cr_assert_eq(json_object_array_length(ev), 2, "space %zu: %s", k,
				     mxc_json_str(ev, NULL));
			expect_button_event(ev, 0, "button_press", 1, px, py);
			expect_button_event(ev, 1, "button_release", 1, px, py);
			json_object_put(ev);

			/* On the socket, with the screenshot's mapping as the space. */
			struct json_object *args = json_object_new_object();
			mxc_json_add_str(args, "session", id);
			mxc_json_add_i64(args, "x", ix);
			mxc_json_add_i64(args, "y", iy);
			mxc_json_add_str(args, "button", "right");
			json_object_object_add(args, "space", json_object_get(mapping));
			struct json_object *resp = request("click", args);
			res = resp_result(resp);
			cr_assert(mxc_test_int(res, "screen_x") == px &&
				      mxc_test_int(res, "screen_y") == py,
				  "space %zu: %s", k, mxc_json_str(res, NULL));
			json_object_put(resp);
			ev = rec_sync_nomotion(&r);
			cr_assert_eq(json_object_array_length(ev), 2);
			expect_button_event(ev, 0, "button_press", 3, px, py);
			expect_button_event(ev, 1, "button_release", 3, px, py);
			json_object_put(ev);

			/* And the pointer's position maps back into the space. */
			args = json_object_new_object();
			mxc_json_add_str(args, "session", id);
			json_object_object_add(args, "space", json_object_get(mapping));
			resp = request("cursor_position", args);
			res = resp_result(resp);
			int64_t cx = mxc_test_int(res, "x"), cy = mxc_test_int(res, "y");
			cr_assert(mxc_test_int(res, "screen_x") == px &&
				      mxc_test_int(res, "screen_y") == py,
				  "space %zu: %s", k, mxc_json_str(res, NULL));
			/*
			 * Shrunk or 1:1, the image pixel clicked is the one showing the pointer;
			 * zoomed, several show it, and the one given must lead back to it.
			 */
			if (c->iw <= c->w)
				cr_assert_eq(cx, ix, "space %zu: cursor x %lld, clicked %lld", k,
					     (long long)cx, (long long)ix);
			else
				cr_assert_eq(phys(c->x, c->w, c->iw, cx), px, "space %zu", k);
			if (c->ih <= c->h)
				cr_assert_eq(cy, iy, "space %zu: cursor y %lld, clicked %lld", k,
					     (long long)cy, (long long)iy);
			else
				cr_assert_eq(phys(c->y, c->h, c->ih, cy), py, "space %zu", k);
			json_object_put(resp);
		}
		/* The command line's cursor_position speaks the space too. */
		char size[32];
		const char *o1, *v1, *o2, *v2;
		space_cli(c, &o1, &v1, &o2, &v2, size, sizeof(size));
		char *out = mxc_ok(&h, "input", id, "cursor_position", o1, v1, o2, v2, NULL);
		long long cx = -1, cy = -1;
		int64_t lx = pts[n - 1][0], ly = pts[n - 1][1];
		cr_assert_eq(sscanf(out, "%lld %lld", &cx, &cy), 2, "cursor_position said '%s'", out);
		cr_assert(c->iw <= c->w ? cx == lx
					: phys(c->x, c->w, c->iw, cx) == phys(c->x, c->w, c->iw, lx),
			  "space %zu: cursor_position says '%s', clicked %lld,%lld", k, out,
			  (long long)lx, (long long)ly);
		cr_assert(c->ih <= c->h ? cy == ly
					: phys(c->y, c->h, c->ih, cy) == phys(c->y, c->h, c->ih, ly),
			  "space %zu: cursor_position says '%s', clicked %lld,%lld", k, out,
			  (long long)lx, (long long)ly);
		free(out);
		json_object_put(shot);
	}
	free(id);
}

/* ---- 3. input ---- */

Test(computer, clicks_use_the_button_and_count_asked)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	static const struct {
		const char *name;
		int number;
	} buttons[] = {{"left", 1}, {"right", 3}, {"middle", 2}, {"back", 8}, {"forward", 9}};
	for (size_t b = 0; b < MXC_ARRAY_SIZE(buttons); b++) {
		for (int count = 1; count <= 3; count++) {
			char x[16], y[16], n[4];
			snprintf(x, sizeof(x), "%zu", 10 + b * 100);
			snprintf(y, sizeof(y), "%d", 20 + count * 50);
			snprintf(n, sizeof(n), "%d", count);
			free(mxc_ok(&h, "input", id, "click", x, y, "--button", buttons[b].name,
				    "--count", n, NULL));
			struct json_object *ev = rec_sync_nomotion(&r);
			cr_assert_eq(json_object_array_length(ev), (size_t)(2 * count),
				     "%s x%d: %s", buttons[b].name, count, mxc_json_str(ev, NULL));
			for (int i = 0; i < count; i++) {
				expect_button_event(ev, (size_t)(2 * i), "button_press",
						    buttons[b].number, atoi(x), atoi(y));
				expect_button_event(ev, (size_t)(2 * i + 1), "button_release",
						    buttons[b].number, atoi(x), atoi(y));
			}
			json_object_put(ev);
		}
	}
	/* Without a point: where the pointer is. */
	free(mxc_ok(&h, "input", id, "move", "321", "123", NULL));
	free(mxc_ok(&h, "input", id, "click", NULL));
	struct json_object *ev = rec_sync(&r);
	struct json_object *buttons_only = without_motion(ev);
	cr_assert_eq(json_object_array_length(buttons_only), 2);
	expect_button_event(buttons_only, 0, "button_press", 1, 321, 123);
	struct json_object *last_motion = json_object_array_get_idx(ev, 0);
	cr_assert_str_eq(ev_type(last_motion), "motion", "move made no motion");
	cr_assert(mxc_test_int(last_motion, "x") == 321 && mxc_test_int(last_motion, "y") == 123);
	json_object_put(buttons_only);
	json_object_put(ev);
	char *out = mxc_ok(&h, "input", id, "cursor_position", NULL);
	cr_assert_str_eq(out, "321 123");
	free(out);
	free(id);
}

Test(computer, chords_press_in_order_and_release_in_reverse)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);

	free(mxc_ok(&h, "input", id, "key", "ctrl+shift+t", NULL));
	struct json_object *ev = rec_sync(&r);
	cr_assert_eq(json_object_array_length(ev), 6, "%s", mxc_json_str(ev, NULL));
	expect_key_event(ev, 0, "key_press", "Control_L");
	expect_key_event(ev, 1, "key_press", "Shift_L");
	expect_key_event(ev, 2, "key_press", "t");
	expect_key_event(ev, 3, "key_release", "t");
	expect_key_event(ev, 4, "key_release", "Shift_L");
	expect_key_event(ev, 5, "key_release", "Control_L");
	int64_t state = mxc_test_int(json_object_array_get_idx(ev, 2), "state");
	cr_assert_eq(state & (STATE_CONTROL | STATE_SHIFT), STATE_CONTROL | STATE_SHIFT,
		     "t was pressed without ctrl+shift held (state %#llx)", (long long)state);
	json_object_put(ev);

	/* Named keys, and a character the layout lacks. */
	static const struct {
		const char *keys, *sym, *text;
	} singles[] = {{"Return", "Return", "\r"}, {"F5", "F5", ""},	 {"super", "Super_L", ""},
		       {"esc", "Escape", "\x1b"},  {"é", "eacute", "é"}, {"A", "A", "A"}};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(singles); i++) {
		free(mxc_ok(&h, "input", id, "key", singles[i].keys, NULL));
		ev = rec_sync(&r);
		struct json_object *press = NULL;
		for (size_t k = 0; k < json_object_array_length(ev); k++) {
			struct json_object *e = json_object_array_get_idx(ev, k);
			if (mxc_streq(ev_type(e), "key_press") &&
			    mxc_streq(mxc_test_str(e, "sym"), singles[i].sym))
				press = e;
		}
		cr_assert_not_null(press, "key %s: no press of %s in %s", singles[i].keys,
				   singles[i].sym, mxc_json_str(ev, NULL));
		cr_assert_str_eq(mxc_test_str(press, "text"), singles[i].text, "key %s",
				 singles[i].keys);
		/* Every key pressed is released. */
		size_t presses = 0, releases = 0;
		for (size_t k = 0; k < json_object_array_length(ev); k++) {
			presses +=
			    mxc_streq(ev_type(json_object_array_get_idx(ev, k)), "key_press");
			releases +=
			    mxc_streq(ev_type(json_object_array_get_idx(ev, k)), "key_release");
		}
		cr_assert_eq(presses, releases, "key %s: %s", singles[i].keys,
			     mxc_json_str(ev, NULL));
		json_object_put(ev);
	}

	/* A click with modifiers holds them around the click. */
	free(mxc_ok(&h, "input", id, "click", "30", "40", "--modifiers", "ctrl+shift", NULL));
	ev = rec_sync_nomotion(&r);
	cr_assert_eq(json_object_array_length(ev), 6, "%s", mxc_json_str(ev, NULL));
	expect_key_event(ev, 0, "key_press", "Control_L");
	expect_key_event(ev, 1, "key_press", "Shift_L");
	expect_button_event(ev, 2, "button_press", 1, 30, 40);
	state = mxc_test_int(json_object_array_get_idx(ev, 2), "state");
	cr_assert_eq(state & (STATE_CONTROL | STATE_SHIFT), STATE_CONTROL | STATE_SHIFT);
	expect_button_event(ev, 3, "button_release", 1, 30, 40);
	expect_key_event(ev, 4, "key_release", "Shift_L");
	expect_key_event(ev, 5, "key_release", "Control_L");
	json_object_put(ev);

	/* key_down holds a key across other verbs until key_up. */
	free(mxc_ok(&h, "input", id, "key_down", "shift", NULL));
	free(mxc_ok(&h, "input", id, "click", "50", "60", NULL));
	free(mxc_ok(&h, "input", id, "key_up", "shift", NULL));
	ev = rec_sync_nomotion(&r);
	cr_assert_eq(json_object_array_length(ev), 4, "%s", mxc_json_str(ev, NULL));
	expect_key_event(ev, 0, "key_press", "Shift_L");
	expect_button_event(ev, 1, "button_press", 1, 50, 60);
	cr_assert(mxc_test_int(json_object_array_get_idx(ev, 1), "state") & STATE_SHIFT);
	expect_key_event(ev, 3, "key_release", "Shift_L");
	json_object_put(ev);
	free(id);
}

/* The texts typed under every layout. */
static char *printable_ascii(void)
{
	char *s = malloc(0x7f - 0x20 + 1), *o = s;
	cr_assert_not_null(s);
	for (int c = 0x20; c < 0x7f; c++)
		*o++ = (char)c;
	*o = '\0';
	return s;
}

static const char latin[] = "àâäçéèêëîïôöùûüÿñÑßÀÉÈÊÇÖÜÄøØåÅæÆœŒ¿¡€£¥©°±µ½ łŁ";
static const char cyrillic[] = "Съешь же ещё этих мягких французских булок, да выпей чаю. ЁЖИК";
static const char cjk[] = "日本語のテキスト、中文字符，한국어 テスト。東京都";
static const char emoji[] =
    "😀👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🧑🏿‍🚀 𝄞 🀄";

/* A long text with more distinct characters missing from any layout than spare keycodes. */
static char *long_mixed(void)
{
	static const char *const parts[] = {
	    "The quick brown fox jumps over the lazy dog. ",
	    "Grüße aus Köln, señor Muñoz! ",
	    "Привет, мир: Эх, чужак! ",
	    "一二三四五六七八九十百千万円年月日時分秒週曜春夏秋冬東西南北上下左右前後内外",
	    "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗 ",
	    "αβγδεζηθικλμνξοπρστυφχψω {[(<@#$%^&*_+=|\\/~`>)]}\n",
	};
	size_t cap = 16384, len = 0;
	char *s = malloc(cap);
	cr_assert_not_null(s);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < MXC_ARRAY_SIZE(parts); i++) {
			size_t n = strlen(parts[i]);
			cr_assert_lt(len + n, cap);
			memcpy(s + len, parts[i], n);
			len += n;
		}
	s[len] = '\0';
	return s;
}

/* What a client reads for a typed text: Return is "\r". */
static char *as_read(const char *text)
{
	char *out = strdup(text);
	cr_assert_not_null(out);
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = '\r';
	return out;
}

static void type_and_check(struct rec *r, const char *id, const char *layout, const char *what,
			   const char *text, bool from_stdin)
{
	struct mxc_result res = from_stdin ? mxc_run(&h, 0, text, "input", id, "type", "-", NULL)
					   : mxc_run(&h, 0, NULL, "input", id, "type", text, NULL);
	cr_assert_eq(res.status, 0, "%s, layout %s: %s", what, layout, res.err);
	mxc_result_free(&res);
	struct json_object *ev = rec_sync(r);
	char *got = typed_text(ev), *want = as_read(text);
	cr_expect_str_eq(got, want, "%s under layout %s: typed\n  %s\nread back\n  %s", what,
			 layout, want, got);
	/* Nothing stays pressed. */
	size_t presses = 0, releases = 0;
	for (size_t k = 0; k < json_object_array_length(ev); k++) {
		presses += mxc_streq(ev_type(json_object_array_get_idx(ev, k)), "key_press");
		releases += mxc_streq(ev_type(json_object_array_get_idx(ev, k)), "key_release");
	}
	cr_expect_eq(presses, releases, "%s under layout %s: %zu presses, %zu releases", what,
		     layout, presses, releases);
	free(got);
	free(want);
	json_object_put(ev);
}

struct layout_case {
	char name[8];
};

ParameterizedTestParameters(computer, type_gives_exactly_the_text_under_each_layout)
{
	static struct layout_case cases[] = {{"us"}, {"de"}, {"fr"}, {"ru"}};
	return cr_make_param_array(struct layout_case, cases, MXC_ARRAY_SIZE(cases));
}

ParameterizedTest(struct layout_case *layout, computer,
		  type_gives_exactly_the_text_under_each_layout)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	if (strcmp(layout->name, "us") != 0)
		free(mxc_ok(&h, "exec", id, "--", "setxkbmap", layout->name, NULL));
	char *ascii = printable_ascii(), *mixed = long_mixed();
	type_and_check(&r, id, layout->name, "printable ASCII", ascii, false);
	type_and_check(&r, id, layout->name, "Latin accents", latin, false);
	type_and_check(&r, id, layout->name, "Cyrillic", cyrillic, false);
	type_and_check(&r, id, layout->name, "CJK", cjk, false);
	type_and_check(&r, id, layout->name, "emoji", emoji, false);
	type_and_check(&r, id, layout->name, "tab and newline", "a\tb\nc", false);
	type_and_check(&r, id, layout->name, "a long mixed text", mixed, true);
	free(ascii);
	free(mixed);
	free(id);
}

/*
 * A text that takes longer to type than the helper gets for a round trip: many batches of
 * remapped keys, each waiting for clients to read it. It is typed whole, not cut off.
 */
Test(computer, a_long_text_is_typed_whole_however_long_it_takes)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	/*
	 * 400 distinct ideographs, 12 times over: every character needs a spare keycode, so
	 * every 38 or so a batch (over a hundred in all, at 100 ms of grace each).
	 */
	size_t len = 0, cap = 12 * 400 * 3 + 1;
	char *text = malloc(cap);
	cr_assert_not_null(text);
	for (int round = 0; round < 12; round++)
		for (uint32_t cp = 0x4e00; cp < 0x4e00 + 400; cp++) {
			text[len++] = (char)(0xe0 | cp >> 12);
			text[len++] = (char)(0x80 | (cp >> 6 & 0x3f));
			text[len++] = (char)(0x80 | (cp & 0x3f));
		}
	text[len] = '\0';
	struct mxc_result res = mxc_run(&h, 0, text, "input", id, "type", "-", NULL);
	cr_assert_eq(res.status, 0, "typing %zu bytes failed: %s", len, res.err);
	mxc_result_free(&res);
	struct json_object *ev = rec_sync(&r);
	char *got = typed_text(ev), *want = as_read(text);
	cr_assert(strcmp(got, want) == 0, "typed %zu bytes, read back %zu", strlen(want),
		  strlen(got));
	free(got);
	free(want);
	json_object_put(ev);
	free(text);
	free(id);
}

Test(computer, hold_key_holds_for_the_time_asked_and_wait_waits)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	uint64_t t0 = now_ms();
	free(mxc_ok(&h, "input", id, "hold_key", "shift", "400", NULL));
	uint64_t took = now_ms() - t0;
	cr_assert(took >= 400 && took < 5000, "hold_key 400 returned after %llu ms",
		  (unsigned long long)took);
	struct json_object *ev = rec_sync(&r);
	cr_assert_eq(json_object_array_length(ev), 2, "%s", mxc_json_str(ev, NULL));
	expect_key_event(ev, 0, "key_press", "Shift_L");
	expect_key_event(ev, 1, "key_release", "Shift_L");
	int64_t held = mxc_test_int(json_object_array_get_idx(ev, 1), "time") -
		       mxc_test_int(json_object_array_get_idx(ev, 0), "time");
	cr_assert(held >= 390 && held < 3000, "the key was held %lld ms, not about 400",
		  (long long)held);
	json_object_put(ev);

	/* A client that leaves while the key is held does not leave it held. */
	int fd = connect_to(h.sock);
	cr_assert_geq(fd, 0);
	char line[160];
	int len = snprintf(line, sizeof(line),
			   "{\"v\":1,\"verb\":\"hold_key\",\"args\":{\"session\":\"%s\","
			   "\"keys\":\"ctrl\",\"ms\":300}}\n",
			   id);
	cr_assert_eq(mxc_send_all(fd, line, (size_t)len, NULL, 0), 0);
	usleep(100000);
	close(fd);
	ev = json_object_new_array();
	for (int i = 0; i < 100 && json_object_array_length(ev) < 2; i++) {
		usleep(50000);
		struct json_object *more = rec_sync(&r);
		for (size_t k = 0; k < json_object_array_length(more); k++)
			json_object_array_add(ev,
					      json_object_get(json_object_array_get_idx(more, k)));
		json_object_put(more);
	}
	cr_assert_eq(json_object_array_length(ev), 2, "%s", mxc_json_str(ev, NULL));
	expect_key_event(ev, 0, "key_press", "Control_L");
	expect_key_event(ev, 1, "key_release", "Control_L");
	json_object_put(ev);
	free(mxc_ok(&h, "version", NULL));

	t0 = now_ms();
	free(mxc_ok(&h, "input", id, "wait", "300", NULL));
	took = now_ms() - t0;
	cr_assert(took >= 300 && took < 5000, "wait 300 returned after %llu ms",
		  (unsigned long long)took);
	free(id);
}

Test(computer, scroll_turns_notches_into_wheel_buttons)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	static const struct {
		const char *dx, *dy;
		int buttons[8];
		size_t n;
	} cases[] = {
	    {NULL, "3", {5, 5, 5}, 3}, {NULL, "-2", {4, 4}, 2},	 {"4", NULL, {7, 7, 7, 7}, 4},
	    {"-1", NULL, {6}, 1},      {"2", "1", {5, 7, 7}, 3}, {"-1", "-1", {4, 6}, 2},
	};
	for (size_t c = 0; c < MXC_ARRAY_SIZE(cases); c++) {
		const char *o1 = cases[c].dx ? "--dx" : "--dy",
			   *v1 = cases[c].dx ? cases[c].dx : cases[c].dy;
		const char *o2 = cases[c].dx && cases[c].dy ? "--dy" : NULL;
		char x[8];
		snprintf(x, sizeof(x), "%zu", 200 + c);
		free(mxc_ok(&h, "input", id, "scroll", x, "100", o1, v1, o2, cases[c].dy, NULL));
		struct json_object *ev = rec_sync_nomotion(&r);
		cr_assert_eq(json_object_array_length(ev), 2 * cases[c].n, "case %zu: %s", c,
			     mxc_json_str(ev, NULL));
		for (size_t i = 0; i < cases[c].n; i++) {
			expect_button_event(ev, 2 * i, "button_press", cases[c].buttons[i],
					    200 + (int64_t)c, 100);
			expect_button_event(ev, 2 * i + 1, "button_release", cases[c].buttons[i],
					    200 + (int64_t)c, 100);
		}
		json_object_put(ev);
	}
	free(id);
}

Test(computer, drag_presses_follows_the_path_and_releases)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	free(mxc_ok(&h, "input", id, "move", "5", "5", NULL));
	json_object_put(rec_sync(&r));
	struct mxc_result res = mxc_run(&h, 0, NULL, "input", id, "drag", "100", "100", "200",
					"150", "300", "120", "310", "700", NULL);
	cr_assert_eq(res.status, 0, "%s", res.err);
	mxc_result_free(&res);
	struct json_object *ev = rec_sync(&r), *b = without_motion(ev);
	cr_assert_eq(json_object_array_length(b), 2, "%s", mxc_json_str(b, NULL));
	expect_button_event(b, 0, "button_press", 1, 100, 100);
	expect_button_event(b, 1, "button_release", 1, 310, 700);
	json_object_put(b);
	/* While the button is down, the pointer passes each point of the path, in order. */
	static const int path[][2] = {{200, 150}, {300, 120}, {310, 700}};
	size_t next = 0;
	bool down = false;
	for (size_t i = 0; i < json_object_array_length(ev); i++) {
		struct json_object *e = json_object_array_get_idx(ev, i);
		if (mxc_streq(ev_type(e), "button_press"))
			down = true;
		if (!down || !mxc_streq(ev_type(e), "motion"))
			continue;
		cr_assert(mxc_test_int(e, "state") & STATE_BUTTON1, "motion without the button");
		if (next < 3 && mxc_test_int(e, "x") == path[next][0] &&
		    mxc_test_int(e, "y") == path[next][1])
			next++;
	}
	cr_assert_eq(next, 3, "the drag did not pass its path in order: %s",
		     mxc_json_str(ev, NULL));
	json_object_put(ev);

	/* By hand, with another button: down, move, up. */
	free(mxc_ok(&h, "input", id, "mouse_down", "50", "60", "--button", "right", NULL));
	free(mxc_ok(&h, "input", id, "move", "70", "80", NULL));
	free(mxc_ok(&h, "input", id, "mouse_up", "--button", "right", NULL));
	ev = rec_sync(&r);
	b = without_motion(ev);
	cr_assert_eq(json_object_array_length(b), 2, "%s", mxc_json_str(b, NULL));
	expect_button_event(b, 0, "button_press", 3, 50, 60);
	expect_button_event(b, 1, "button_release", 3, 70, 80);
	bool moved = false;
	for (size_t i = 0; i < json_object_array_length(ev); i++) {
		struct json_object *e = json_object_array_get_idx(ev, i);
		if (mxc_streq(ev_type(e), "motion") && mxc_test_int(e, "x") == 70 &&
		    mxc_test_int(e, "y") == 80)
			moved = mxc_test_int(e, "state") & STATE_BUTTON3;
	}
	cr_assert(moved, "no motion to 70,80 with the right button down: %s",
		  mxc_json_str(ev, NULL));
	json_object_put(b);
	json_object_put(ev);
	free(id);
}

Test(computer, input_from_several_clients_is_never_interleaved)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	/* Three clients send at once; each text arrives whole, one after the other. */
	static const char *const texts[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
					    "БББББББББББББББББББББББББББББББББББББББ",
					    "ccccccccccccccccccccccccccccccccccccc😀"};
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = connect_to(h.sock);
		cr_assert_geq(fds[i], 0);
		struct json_object *args = json_object_new_object();
		mxc_json_add_str(args, "session", id);
		mxc_json_add_str(args, "text", texts[i]);
		struct json_object *req = mxc_proto_request("type", args);
		cr_assert_eq(mxc_send_json(fds[i], req, NULL, 0), 0);
		json_object_put(req);
	}
	for (int i = 0; i < 3; i++) {
		struct mxc_reader in;
		struct mxc_error err = {0};
		struct json_object *resp = NULL;
		mxc_reader_init(&in, MXC_PROTO_MAX_RESPONSE);
		cr_assert_eq(mxc_recv_json(&in, fds[i], &resp, &err), 0, "%s", err.msg);
		cr_assert(resp_ok(resp), "%s", mxc_json_str(resp, NULL));
		json_object_put(resp);
		mxc_reader_finish(&in);
		close(fds[i]);
	}
	struct json_object *ev = rec_sync(&r);
	char *got = typed_text(ev);
	bool whole = false;
	static const int orders[][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					{1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	for (size_t o = 0; o < MXC_ARRAY_SIZE(orders); o++) {
		char want[512];
		snprintf(want, sizeof(want), "%s%s%s", texts[orders[o][0]], texts[orders[o][1]],
			 texts[orders[o][2]]);
		whole |= strcmp(got, want) == 0;
	}
	cr_assert(whole, "the texts were mixed: %s", got);
	free(got);
	json_object_put(ev);
	free(id);
}

Test(computer, computer_verbs_go_on_after_a_daemon_restart)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, NULL);
	free(mxc_ok(&h, "input", id, "type", "before", NULL));
	mxc_harness_kill_daemon(&h);
	mxc_harness_start_daemon(&h);
	/* The adopted session gets a new helper; input lands as before. */
	free(mxc_ok(&h, "input", id, "click", "320", "200", "--scale", "640x400", NULL));
	free(mxc_ok(&h, "input", id, "type", "after", NULL));
	struct json_object *ev = rec_sync(&r), *b = without_motion(ev);
	char *text = typed_text(ev);
	cr_assert_str_eq(text, "beforeafter");
	free(text);
	/* The click, in physical pixels, between the key events of the two words. */
	expect_button_event(b, 2 * strlen("before"), "button_press", 1, 641, 401);
	json_object_put(b);
	json_object_put(ev);
	free(id);
}

/* ---- 4. the agent's side ---- */

/* Runs the agent's own copy of mxc inside the session: `mxc exec ID -- ~/mxc ARGS`. */
#define agent_mxc(id, ...) mxc_run(&h, 0, NULL, "exec", id, "--", agent_cli, __VA_ARGS__, NULL)
static char agent_cli[400];

static void install_agent_cli(const char *agent)
{
	char src[400];
	snprintf(src, sizeof(src), "%s/cli/mxc", h.bin);
	mxc_harness_install(agent, src, "mxc", agent_cli, sizeof(agent_cli));
}

Test(computer, the_agent_drives_its_own_session_through_its_socket)
{
	char *id = mxc_harness_session(&h, "coder");
	struct rec r;
	rec_start(&r, "coder", id, scene_options);
	install_agent_cli("coder");
	char png[500];
	snprintf(png, sizeof(png), "%s/s.png", agent_account("coder")->pw_dir);

	struct mxc_result res = agent_mxc(id, "screenshot", "-o", png);
	cr_assert_eq(res.status, 0, "%s", res.err);
	mxc_result_free(&res);
	struct image img;
	png_file(png, &img);
	cr_assert(img.w == SCREEN_W && img.h == SCREEN_H);
	for (int y = 0; y < SCREEN_H; y += 7)
		for (int x = 0; x < SCREEN_W; x += 5)
			cr_assert_eq(pixel(&img, (uint32_t)x, (uint32_t)y), scene_rgb(x, y));
	free(img.rgb);

	res = agent_mxc(id, "input", "click", "10", "10");
	cr_assert_eq(res.status, 0, "%s", res.err);
	mxc_result_free(&res);
	res = agent_mxc(id, "input", "type", "hi");
	cr_assert_eq(res.status, 0, "%s", res.err);
	mxc_result_free(&res);
	struct json_object *ev = rec_sync(&r), *b = without_motion(ev);
	expect_button_event(b, 0, "button_press", 1, 10, 10);
	expect_button_event(b, 1, "button_release", 1, 10, 10);
	char *text = typed_text(ev);
	cr_assert_str_eq(text, "hi");
	free(text);
	json_object_put(b);
	json_object_put(ev);

	/* The agent's actions count for its session like anyone's. */
	struct json_object *show = session_show(id), *act = member(show, "activity");
	cr_assert_eq(mxc_test_int(act, "screenshot"), 1, "%s", mxc_json_str(act, NULL));
	cr_assert_eq(mxc_test_int(act, "click"), 1);
	cr_assert_eq(mxc_test_int(act, "type"), 1);
	json_object_put(show);
	free(id);
}

Test(computer, the_session_socket_acts_on_its_own_session_only)
{
	char *id = mxc_harness_session(&h, "coder");
	char *other = mxc_ok(&h, "session", "start", "coder", NULL);
	install_agent_cli("coder");
	char png[500];
	snprintf(png, sizeof(png), "%s/other.png", agent_account("coder")->pw_dir);

	/* Another running session of the same agent: refused, and left untouched. */
	expect_failure(__LINE__, 1, "this socket acts on session",
		       agent_mxc(id, "input", other, "click", "10", "10"));
	expect_failure(__LINE__, 1, "this socket acts on session",
		       agent_mxc(id, "input", other, "type", "x"));
	expect_failure(__LINE__, 1, "this socket acts on session",
		       agent_mxc(id, "screenshot", other, "-o", png));
	struct stat st;
	cr_assert_neq(stat(png, &st), 0, "a screenshot of another session was written");
	struct json_object *show = session_show(other);
	cr_assert_eq(json_object_object_length(member(show, "activity")), 0,
		     "the other session was acted on: %s", mxc_json_str(show, NULL));
	json_object_put(show);

	/* Administration is not offered on a session's socket. */
	expect_failure(__LINE__, 1, "not available on a session's socket",
		       agent_mxc(id, "agent", "list"));
	expect_failure(__LINE__, 1, "not available on a session's socket",
		       agent_mxc(id, "session", "list"));
	expect_failure(__LINE__, 1, "not available on a session's socket",
		       agent_mxc(id, "session", "stop", id));
	expect_failure(__LINE__, 1, "not available on a session's socket", agent_mxc(id, "audit"));
	expect_failure(__LINE__, 125, "not available on a session's socket",
		       agent_mxc(id, "exec", id, "--", "true"));
	/* Its own session still works, and the refusals are on the record. */
	struct mxc_result res = agent_mxc(id, "input", "screen_size");
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert_str_eq(res.out, "1280x800\n");
	mxc_result_free(&res);
	char *audit = mxc_ok(&h, "audit", "--session", id, NULL);
	cr_assert_not_null(strstr(audit, "not available on a session's socket"), "%s", audit);
	free(audit);
	free(other);
	free(id);
}

/* Keeps CAP_DAC_OVERRIDE (only) across a change to uid: the socket's mode is no obstacle. */
static int become_with_dac_override(uid_t uid)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};
	if (prctl(PR_SET_KEEPCAPS, 1) < 0 || setgroups(0, NULL) < 0 || setgid(uid) < 0 ||
	    setuid(uid) < 0)
		return -1;
	data[0].effective = data[0].permitted = 1u << CAP_DAC_OVERRIDE;
	return (int)syscall(SYS_capset, &hdr, data);
}

/*
 * Connects to the session's socket at /run/mxc/sessiond.sock from inside its mount and PID
 * namespaces, as uid (root stays root; another uid keeps CAP_DAC_OVERRIDE when dac is set, so
 * that the daemon, not the socket's mode, decides), and asks for the version. Returns 0 when
 * refused, 1 when served, other values on errors of the test itself.
 */
static int connect_from_inside(pid_t leader, uid_t uid, bool dac)
{
	pid_t pid = fork();
	if (pid == 0) {
		int pidfd = (int)syscall(SYS_pidfd_open, leader, 0);
		if (pidfd < 0 || setns(pidfd, CLONE_NEWNS | CLONE_NEWPID) < 0)
			_exit(10);
		pid_t inner = fork();
		if (inner == 0) {
			if (uid != 0 && dac && become_with_dac_override(uid) < 0)
				_exit(11);
			if (uid != 0 && !dac &&
			    (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
				_exit(11);
			int fd = connect_to("/run/mxc/sessiond.sock");
			if (fd < 0)
				_exit(errno == EACCES ? 0 : 12); /* refused by the socket's mode */
			const char req[] = "{\"v\":1,\"verb\":\"version\"}\n";
			if (write(fd, req, sizeof(req) - 1) < 0)
				_exit(13);
			char buf[4096] = {0};
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			if (n > 0 && strstr(buf, "\"ok\":false") &&
			    strstr(buf, "only the session's agent may use the session's socket"))
				_exit(0);
			_exit(n > 0 && strstr(buf, "\"ok\":true") ? 1 : 14);
		}
		int status;
		waitpid(inner, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 15);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(computer, only_the_agent_may_use_the_session_socket)
{
	char *id = mxc_harness_session(&h, "coder");
	free(mxc_ok(&h, "agent", "add", "other", NULL));
	struct json_object *show = session_show(id);
	pid_t leader = (pid_t)mxc_test_int(show, "leader_pid");
	json_object_put(show);
	cr_assert_gt(leader, 1);
	uid_t other = agent_account("other")->pw_uid, coder = agent_account("coder")->pw_uid;
	cr_assert_eq(connect_from_inside(leader, 0, false), 0,
		     "root inside the session was served on the session's socket");
	cr_assert_eq(connect_from_inside(leader, other, false), 0,
		     "another agent was served on the session's socket");
	cr_assert_eq(connect_from_inside(leader, other, true), 0,
		     "another agent past the socket's mode was served on the session's socket");
	/* The agent itself is served there. */
	cr_assert_eq(connect_from_inside(leader, coder, false), 1,
		     "the agent was not served on its session's socket");
	/* The daemon refused root and the other agent itself, on the record. */
	char *out = mxc_ok(&h, "audit", "--json", NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	bool by_root = false, by_other = false;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		if (!mxc_streq(mxc_test_str(row, "result"), "denied") ||
		    !strstr(mxc_json_str(row, NULL), "only the session's agent may use"))
			continue;
		by_root |= mxc_test_int(row, "actor_uid") == 0;
		by_other |= mxc_test_int(row, "actor_uid") == (int64_t)other;
	}
	cr_assert(by_root && by_other, "the refusals are not audited:\n%s",
		  mxc_json_str(rows, NULL));
	json_object_put(rows);
	free(id);
}

/* ---- 5. policy ---- */

static char *start_with_policy(const char *agent, const char *policy)
{
	char file[300];
	snprintf(file, sizeof(file), "%s/%s-policy.json", h.env.scratch, agent);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, policy, strlen(policy)), 0);
	close(fd);
	free(mxc_ok(&h, "agent", "add", agent, NULL));
	return mxc_ok(&h, "session", "start", agent, "--policy", file, NULL);
}

static struct json_object *audit_rows(const char *id)
{
	char *out = mxc_ok(&h, "audit", "--json", "--session", id, NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	cr_assert(json_object_is_type(rows, json_type_array));
	return rows;
}

static size_t count_rows(struct json_object *rows, const char *result)
{
	size_t n = 0;
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		n += mxc_streq(mxc_test_str(json_object_array_get_idx(rows, i), "result"), result);
	return n;
}

static struct json_object *find_row(struct json_object *rows, const char *action)
{
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		if (mxc_streq(mxc_test_str(json_object_array_get_idx(rows, i), "action"), action))
			return json_object_array_get_idx(rows, i);
	return NULL;
}

Test(computer, a_policy_without_input_injection_refuses_input_and_audits_once)
{
	char *id =
	    start_with_policy("noinput", "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":true,"
					 "\"allowInputInjection\":false}}");
	const char *field = "ui.allowInputInjection is false";
	/* Every input verb, from the command line... */
	expect_cli_error(field, "input", id, "move", "10", "10");
	expect_cli_error(field, "input", id, "click", "10", "10");
	expect_cli_error(field, "input", id, "click");
	expect_cli_error(field, "input", id, "mouse_down");
	expect_cli_error(field, "input", id, "mouse_up");
	expect_cli_error(field, "input", id, "drag", "1", "1", "5", "5");
	expect_cli_error(field, "input", id, "scroll", "--dy", "1");
	expect_cli_error(field, "input", id, "key", "Return");
	expect_cli_error(field, "input", id, "key_down", "shift");
	expect_cli_error(field, "input", id, "key_up", "shift");
	expect_cli_error(field, "input", id, "hold_key", "a", "10");
	expect_cli_error(field, "input", id, "type", "hello");
	/* ...and on the socket: EPERM. */
	char args[128];
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"text\":\"x\"}", id);
	expect_refused("type", args, "EPERM", field);
	const size_t refusals = 13;

	/* Observing is still allowed. */
	struct image img;
	struct json_object *res = screenshot(id, &img, "--max-edge", "320", NULL, NULL);
	expect_mapping(res, 0, 0, SCREEN_W, SCREEN_H, 320, 200);
	free(img.rgb);
	json_object_put(res);
	char *out = mxc_ok(&h, "input", id, "cursor_position", NULL);
	free(out);

	/* One row for the burst of refusals; the session counts every one. */
	struct json_object *rows = audit_rows(id);
	cr_assert_eq(count_rows(rows, "denied"), 1, "%zu denied rows for %zu rapid refusals:\n%s",
		     count_rows(rows, "denied"), refusals, mxc_json_str(rows, NULL));
	struct json_object *denied = NULL;
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		if (mxc_streq(mxc_test_str(json_object_array_get_idx(rows, i), "result"), "denied"))
			denied = json_object_array_get_idx(rows, i);
	cr_assert_str_eq(mxc_test_str(denied, "action"), "input", "refused input is one kind of row");
	struct json_object *d = member(denied, "details");
	cr_assert_str_eq(mxc_test_str(d, "verb"), "move", "the first refusal is the row");
	cr_assert_not_null(strstr(mxc_json_str(denied, NULL), "input injection is not allowed"));
	json_object_put(rows);
	struct json_object *show = session_show(id), *act = member(show, "activity");
	cr_assert_eq(mxc_test_int(act, "denied"), (int64_t)refusals, "%s", mxc_json_str(act, NULL));
	cr_assert_eq(mxc_test_int(act, "screenshot"), 1, "%s", mxc_json_str(act, NULL));
	cr_assert_eq(mxc_test_int(act, "click"), -1, "a refused click was counted as a click");
	json_object_put(show);

	/* The end of the session carries the counts. */
	free(mxc_ok(&h, "session", "stop", id, NULL));
	rows = audit_rows(id);
	struct json_object *end = find_row(rows, "session.end");
	cr_assert_not_null(end, "no session.end row");
	act = member(member(end, "details"), "activity");
	cr_assert_eq(mxc_test_int(act, "denied"), (int64_t)refusals, "%s", mxc_json_str(end, NULL));
	cr_assert_eq(mxc_test_int(act, "screenshot"), 1, "%s", mxc_json_str(end, NULL));
	json_object_put(rows);
	free(id);
}

Test(computer, actions_are_counted_on_the_session_end_row_not_audited_one_by_one)
{
	char *id = mxc_harness_session(&h, "coder");
	struct image img;
	for (int i = 0; i < 2; i++) {
		json_object_put(screenshot(id, &img, NULL, NULL, NULL, NULL));
		free(img.rgb);
	}
	for (int i = 0; i < 3; i++)
		free(mxc_ok(&h, "input", id, "click", "10", "10", NULL));
	free(mxc_ok(&h, "input", id, "type", "abc", NULL));
	free(mxc_ok(&h, "input", id, "key", "Return", NULL));
	free(mxc_ok(&h, "input", id, "scroll", "--dy", "2", NULL));
	free(mxc_ok(&h, "input", id, "drag", "1", "1", "9", "9", NULL));
	free(mxc_ok(&h, "session", "stop", id, NULL));

	struct json_object *rows = audit_rows(id);
	static const char *const per_action[] = {"screenshot", "click",	 "type",
						 "key",	       "scroll", "drag"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(per_action); i++)
		cr_assert_null(find_row(rows, per_action[i]), "a row per %s:\n%s", per_action[i],
			       mxc_json_str(rows, NULL));
	struct json_object *end = find_row(rows, "session.end");
	cr_assert_not_null(end, "no session.end row:\n%s", mxc_json_str(rows, NULL));
	struct json_object *act = member(member(end, "details"), "activity");
	struct json_object *want = mxc_test_json("{\"screenshot\":2,\"click\":3,\"type\":1,"
						 "\"key\":1,\"scroll\":1,\"drag\":1}");
	cr_assert(json_object_equal(act, want), "session.end activity is %s, not %s",
		  mxc_json_str(act, NULL), mxc_json_str(want, NULL));
	json_object_put(want);
	json_object_put(rows);
	free(id);
}

Test(computer, a_session_without_windows_has_no_computer_verbs)
{
	char *id = start_with_policy("nowindows",
				     "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false}}");
	expect_cli_error("ui.allowWindows is false", "screenshot", id, "-o", "/dev/null");
	expect_cli_error("ui.allowWindows is false", "input", id, "screen_size");
	expect_cli_error("ui.allowWindows is false", "input", id, "cursor_position");
	expect_cli_error("ui.allowWindows is false", "input", id, "type", "x");
	free(mxc_ok(&h, "version", NULL));
	free(id);
}

/* ---- 6. bad input ---- */

/* The other session keeps working: a screenshot, and a click its recorder sees. */
static void expect_still_working(const char *id, struct rec *r)
{
	struct image img;
	json_object_put(screenshot(id, &img, "--region", "0,0,8,8", NULL, NULL));
	free(img.rgb);
	free(mxc_ok(&h, "input", id, "click", "77", "88", NULL));
	struct json_object *b = rec_sync_nomotion(r);
	cr_assert_eq(json_object_array_length(b), 2, "%s", mxc_json_str(b, NULL));
	expect_button_event(b, 0, "button_press", 1, 77, 88);
	json_object_put(b);
}

Test(computer, bad_arguments_are_clear_errors_and_the_daemon_goes_on)
{
	char *id = mxc_harness_session(&h, "coder");
	/* Another session, of another size: its own screen bounds coordinates. */
	char *good = mxc_ok(&h, "session", "start", "coder", "--size", "1024x768", NULL);
	struct rec r, rg;
	rec_start(&r, "coder", id, NULL);
	rec_start(&rg, "coder", good, NULL);
	expect_cli_error("off the 1024x768 screen", "input", good, "click", "1024", "0");
	free(mxc_ok(&h, "input", good, "click", "1023", "767", NULL));
	struct json_object *b = rec_sync_nomotion(&rg);
	expect_button_event(b, 0, "button_press", 1, 1023, 767);
	json_object_put(b);

	expect_cli_error("nosuchkey", "input", id, "key", "ctrl+nosuchkey");
	expect_cli_error("nosuchkey", "input", id, "hold_key", "nosuchkey", "10");
	expect_cli_error("'keys'", "input", id, "key", "");
	expect_cli_error("off the 1280x800 screen", "input", id, "click", "1280", "10");
	expect_cli_error("off the 1280x800 screen", "input", id, "click", "10", "800");
	/* Negative numbers come after "--" (else they read as options: a usage error). */
	expect_cli_error("off the 1280x800 screen", "input", id, "move", "--", "-1", "10");
	expect_cli_error("off the 1280x800 screen", "input", id, "click", "--", "10", "-5");
	expect_failure(__LINE__, 2, "usage: mxc input",
		       mxc_run(&h, 0, NULL, "input", id, "click", "-1", "10", NULL));
	expect_cli_error("off the 1280x800 screen", "input", id, "drag", "1", "1", "1280", "1");
	expect_cli_error("off the 1000x625 coordinate space", "input", id, "click", "1000", "10",
			 "--scale", "1000x625");
	expect_cli_error("'count'", "input", id, "click", "1", "1", "--count", "0");
	expect_cli_error("'count'", "input", id, "click", "1", "1", "--count", "4");
	expect_cli_error("'dx' or 'dy'", "input", id, "scroll", "10", "10");
	expect_cli_error("'dx' or 'dy'", "input", id, "scroll", "--dx", "0", "--dy", "0");
	expect_cli_error("'dy'", "input", id, "scroll", "--dy", "1001");
	expect_cli_error("'button': 'fourth'", "input", id, "click", "--button", "fourth");
	expect_cli_error("'text'", "input", id, "type", "");
	expect_cli_error("exclude each other", "screenshot", id, "-o", "/dev/null", "--scale",
			 "100x100", "--max-edge", "50");
	expect_cli_error("does not fit the 1280x800 screen", "screenshot", id, "-o", "/dev/null",
			 "--region", "1200,700,100,200");
	expect_cli_error("'region'", "screenshot", id, "-o", "/dev/null", "--region",
			 "1280,0,10,10");
	expect_cli_error("'region'", "screenshot", id, "-o", "/dev/null", "--region", "0,0,0,10");
	expect_cli_error("'max_edge'", "screenshot", id, "-o", "/dev/null", "--max-edge", "0");
	expect_still_working(good, &rg);

	/* Text over 64 KiB, from the command line and from standard input. */
	size_t big = 64 * 1024 + 1;
	char *text = malloc(big + 1);
	memset(text, 'a', big);
	text[big] = '\0';
	expect_cli_error("'text'", "input", id, "type", text);
	expect_failure(__LINE__, 1, "64 KiB", mxc_run(&h, 0, text, "input", id, "type", "-", NULL));
	free(text);

	/* A drag needs two points: the command line says how to use it, the socket why. */
	expect_failure(__LINE__, 2, "drag X1 Y1 X2 Y2",
		       mxc_run(&h, 0, NULL, "input", id, "drag", "10", "10", NULL));
	char args[256];
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"path\":[[10,10]]}", id);
	expect_refused("drag", args, "EINVAL", "'path': must be 2 to");
	/* Points of every wrong shape. */
	static const char *const bad_points[] = {"[5]", "5",	   "null",    "\"a\"",
						 "{}",	"[1,2,3]", "[1.5,2]", "[1,\"2\"]"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad_points); i++) {
		snprintf(args, sizeof(args), "{\"session\":\"%s\",\"path\":[[10,10],%s]}", id,
			 bad_points[i]);
		expect_refused("drag", args, "EINVAL", "'path[1]'");
	}
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"path\":[null,[10,10]]}", id);
	expect_refused("drag", args, "EINVAL", "'path[0]'");
	/* Arguments of the wrong type, each named. */
	static const struct {
		const char *verb, *args, *part;
	} wrong[] = {
	    {"drag", "\"path\":{}", "'path'"},
	    {"drag", "\"path\":\"1,2\"", "'path'"},
	    {"screenshot", "\"region\":[1,2,3,4]", "'region'"},
	    {"screenshot", "\"region\":{\"x\":1,\"y\":1,\"width\":5,\"height\":5,\"q\":1}", "'q'"},
	    {"screenshot", "\"scale\":\"2x2\"", "'scale'"},
	    {"screenshot", "\"scale\":{\"width\":10}", "'scale'"},
	    {"screenshot", "\"max_edge\":-1", "'max_edge'"},
	    {"click", "\"space\":5,\"x\":1,\"y\":1", "'space'"},
	    {"click", "\"space\":{\"image_width\":0},\"x\":1,\"y\":1", "'image_width'"},
	    {"click", "\"button\":1", "'button'"},
	    {"click", "\"modifiers\":5", "'modifiers'"},
	    {"click", "\"count\":2.5", "'count'"},
	    {"key", "\"keys\":5", "'keys'"},
	    {"key", "", "'keys'"},
	    {"type", "\"text\":[\"a\"]", "'text'"},
	    {"type", "", "'text'"},
	    {"scroll", "\"dy\":true", "'dy'"},
	    {"move", "", "'x' and 'y'"},
	    {"hold_key", "\"keys\":\"a\"", "'ms'"},
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(wrong); i++) {
		snprintf(args, sizeof(args), "{\"session\":\"%s\"%s%s}", id,
			 wrong[i].args[0] ? "," : "", wrong[i].args);
		expect_refused(wrong[i].verb, args, "EINVAL", wrong[i].part);
	}
	expect_refused("click", "{}", "EINVAL", "'session'");
	struct json_object *resp = request("click", NULL);
	cr_assert_str_eq(resp_code(resp), "EINVAL", "%s", mxc_json_str(resp, NULL));
	json_object_put(resp);
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"x\":-3,\"y\":4}", id);
	expect_refused("click", args, "ERANGE", "off the 1280x800 screen");
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"x\":3}", id);
	expect_refused("click", args, "EINVAL", "'x' and 'y' go together");
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"x\":\"3\",\"y\":4}", id);
	expect_refused("click", args, "EINVAL", "'x'");
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"x\":3,\"y\":4,\"z\":5}", id);
	expect_refused("click", args, "EINVAL", "'z'");
	snprintf(args, sizeof(args),
		 "{\"session\":\"%s\",\"scale\":{\"width\":10,\"height\":10},"
		 "\"max_edge\":5}",
		 id);
	expect_refused("screenshot", args, "EINVAL", "exclude each other");
	snprintf(args, sizeof(args),
		 "{\"session\":\"%s\",\"x\":1,\"y\":1,\"space\":{\"x\":1200,\"y\":0,\"width\":100,"
		 "\"height\":10}}",
		 id);
	expect_refused("click", args, "ERANGE", "does not fit the 1280x800 screen");
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"scale\":{\"width\":0,\"height\":9}}",
		 id);
	expect_refused("screenshot", args, "EINVAL", "'scale'");
	snprintf(args, sizeof(args), "{\"session\":\"%s\",\"keys\":\"shift\",\"ms\":60001}", id);
	expect_refused("hold_key", args, "EINVAL", "'ms'");

	/* Nothing of it reached the screen. */
	struct json_object *ev = rec_sync_nomotion(&r);
	cr_assert_eq(json_object_array_length(ev), 0, "refused input reached the session: %s",
		     mxc_json_str(ev, NULL));
	json_object_put(ev);
	/* Both sessions and the daemon go on. */
	free(mxc_ok(&h, "version", NULL));
	expect_still_working(id, &r);
	expect_still_working(good, &rg);
	free(good);
	free(id);
}

Test(computer, ended_sessions_refuse_computer_verbs)
{
	char *good = mxc_harness_session(&h, "coder");
	struct rec rg;
	rec_start(&rg, "coder", good, NULL);

	/* Stopped. */
	char *stopped = mxc_ok(&h, "session", "start", "coder", NULL);
	free(mxc_ok(&h, "session", "stop", stopped, NULL));
	char ended[64];
	snprintf(ended, sizeof(ended), "session '%s' has ended", stopped);
	expect_cli_error(ended, "input", stopped, "click", "1", "1");
	expect_cli_error(ended, "input", stopped, "type", "x");
	expect_cli_error(ended, "input", stopped, "cursor_position");
	expect_cli_error(ended, "screenshot", stopped, "-o", "/dev/null");
	expect_cli_error("does not exist", "input", "abcdef", "click", "1", "1");
	expect_still_working(good, &rg);

	/* Its display killed from inside: the session ends, and says so. */
	char *dead = mxc_ok(&h, "session", "start", "coder", NULL);
	struct mxc_result res =
	    mxc_run(&h, 0, NULL, "exec", dead, "--", "pkill", "-x", "Xvfb", NULL);
	mxc_result_free(&res);
	struct json_object *show = NULL;
	for (int i = 0; i < 500; i++) {
		json_object_put(show);
		show = session_show(dead);
		if (!mxc_streq(mxc_test_str(show, "state"), "running"))
			break;
		usleep(10000);
	}
	cr_assert_str_eq(mxc_test_str(show, "state"), "stopped", "%s", mxc_json_str(show, NULL));
	cr_assert_str_eq(mxc_test_str(show, "end_reason"), "the display server exited", "%s",
			 mxc_json_str(show, NULL));
	json_object_put(show);
	snprintf(ended, sizeof(ended), "session '%s' has ended", dead);
	expect_cli_error(ended, "input", dead, "click", "1", "1");
	expect_cli_error(ended, "input", dead, "key", "a");
	expect_cli_error(ended, "screenshot", dead, "-o", "/dev/null");
	char *rows = mxc_ok(&h, "audit", "--session", dead, NULL);
	cr_assert_not_null(strstr(rows, "session.end"), "%s", rows);
	free(rows);

	free(mxc_ok(&h, "version", NULL));
	expect_still_working(good, &rg);
	free(dead);
	free(stopped);
	free(good);
}
