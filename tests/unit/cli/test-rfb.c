/*
 * The RFB engine (cli/rfb.h) against a VNC client scripted here, over a socketpair: the
 * handshake and VNC Authentication with its one-time password, updates with exactly the
 * expected pixels in the client's format, tile diffing, DesktopSize, input forwarding, and a
 * hostile client that lies about lengths, stalls or never finishes. The screen is synthetic
 * and changed by the test; the server runs in a thread of its own.
 */
#define OPENSSL_API_COMPAT 0x10100000L

#include <criterion/criterion.h>
#include <ctype.h>
#include <fcntl.h>
#include <openssl/des.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rfb.h"

#define IO_WAIT_MS 5000
#define MAX_EVENTS 512

struct event {
	bool key;
	uint32_t keysym;
	bool down;
	uint16_t x, y;
	uint8_t buttons;
};

/* The world of one test: a screen, a server, and the client's end of its connection. */
static struct {
	pthread_mutex_t lock;
	uint8_t *screen; /* packed RGB, guarded by lock */
	uint32_t width, height;
	uint8_t *given; /* the copy the engine reads, the server thread's own */
	struct event events[MAX_EVENTS];
	size_t n_events;

	struct mxc_rfb_server *srv;
	int stop[2];
	int fd;	       /* the client's end */
	int server_fd; /* the server's end, closed by its thread */
	pthread_t thread;
	bool running;
	int ret;
	enum mxc_rfb_end end;
	struct mxc_error err;
	uint64_t served_ns;	 /* how long serve() took */
	int handshake_ms, io_ms; /* for the next server; 0 for the tests' default */
} w;

static uint8_t pattern(uint32_t x, uint32_t y, int channel)
{
	switch (channel) {
	case 0:
		return (uint8_t)(x * 7 + y);
	case 1:
		return (uint8_t)(y * 3 + x * 5);
	default:
		return (uint8_t)(x ^ y);
	}
}

static void screen_set(uint32_t width, uint32_t height)
{
	pthread_mutex_lock(&w.lock);
	free(w.screen);
	w.screen = malloc((size_t)width * height * 3);
	cr_assert_not_null(w.screen);
	for (uint32_t y = 0; y < height; y++)
		for (uint32_t x = 0; x < width; x++)
			for (int c = 0; c < 3; c++)
				w.screen[((size_t)y * width + x) * 3 + c] = pattern(x, y, c);
	w.width = width;
	w.height = height;
	pthread_mutex_unlock(&w.lock);
}

static void screen_poke(uint32_t x, uint32_t y, uint8_t r, uint8_t g, uint8_t b)
{
	pthread_mutex_lock(&w.lock);
	uint8_t *p = w.screen + ((size_t)y * w.width + x) * 3;
	p[0] = r;
	p[1] = g;
	p[2] = b;
	pthread_mutex_unlock(&w.lock);
}

static const uint8_t *screen_at(uint32_t x, uint32_t y)
{
	return w.screen + ((size_t)y * w.width + x) * 3;
}

/* The source's frame: a copy of the screen, so that the test may change it meanwhile. */
static int source_frame(void *data, struct mxc_rfb_frame *ret_frame, struct mxc_error *err)
{
	pthread_mutex_lock(&w.lock);
	size_t len = (size_t)w.width * w.height * 3;
	free(w.given);
	w.given = malloc(len);
	memcpy(w.given, w.screen, len);
	*ret_frame = (struct mxc_rfb_frame){w.given, w.width, w.height, (size_t)w.width * 3};
	pthread_mutex_unlock(&w.lock);
	return 0;
}

static void record(struct event e)
{
	pthread_mutex_lock(&w.lock);
	if (w.n_events < MAX_EVENTS)
		w.events[w.n_events++] = e;
	pthread_mutex_unlock(&w.lock);
}

static int source_key(void *data, uint32_t keysym, bool down, struct mxc_error *err)
{
	record((struct event){.key = true, .keysym = keysym, .down = down});
	return 0;
}

static int source_pointer(void *data, uint16_t x, uint16_t y, uint8_t buttons,
			  struct mxc_error *err)
{
	record((struct event){.x = x, .y = y, .buttons = buttons});
	return 0;
}

static const struct mxc_rfb_source source = {
    .frame = source_frame,
    .key = source_key,
    .pointer = source_pointer,
};

static void *serve_thread(void *arg)
{
	uint64_t t0 = mxc_now_mono_ns();
	w.ret = mxc_rfb_server_serve(w.srv, w.server_fd, w.stop[0], &w.end, &w.err);
	w.served_ns = mxc_now_mono_ns() - t0;
	close(w.server_fd);
	return NULL;
}

/* A new connection to the current server. */
static void connect_client(void)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	w.fd = sv[0];
	w.server_fd = sv[1];
	mxc_error_clear(&w.err);
	w.ret = 1;
	cr_assert_eq(pthread_create(&w.thread, NULL, serve_thread, NULL), 0);
	w.running = true;
}

/* Waits for serve() to return; the client's end stays open. */
static void server_done(void)
{
	cr_assert(w.running);
	cr_assert_eq(pthread_join(w.thread, NULL), 0);
	w.running = false;
}

static void new_server(bool control)
{
	mxc_rfb_server_destroy(w.srv);
	w.srv = NULL;
	struct mxc_error err = {0};
	cr_assert_eq(mxc_rfb_server_create("mxc session ab12cd (tester)", control, &source, NULL,
					   &w.srv, &err),
		     0, "%s", err.msg);
	/* Short deadlines so that a stall shows in a test's time; frames every 10 ms. */
	mxc_rfb_server_set_timeouts(w.srv, w.handshake_ms ? w.handshake_ms : 2000,
				    w.io_ms ? w.io_ms : 2000, 10);
}

static void setup(void)
{
	pthread_mutex_init(&w.lock, NULL);
	cr_assert_eq(pipe2(w.stop, O_CLOEXEC), 0);
	w.fd = -1;
	screen_set(200, 150);
	new_server(false);
}

static void teardown(void)
{
	if (w.running) {
		/* Whatever the test left, the server stops and its thread ends. */
		cr_assert_eq(write(w.stop[1], "x", 1), 1);
		pthread_join(w.thread, NULL);
	}
	mxc_close(w.fd);
	mxc_close(w.stop[0]);
	mxc_close(w.stop[1]);
	mxc_rfb_server_destroy(w.srv);
	free(w.screen);
	free(w.given);
}

TestSuite(rfb, .init = setup, .fini = teardown, .timeout = 30);

/* ---- the scripted client ---- */

static void cl_write(const void *buf, size_t len)
{
	cr_assert_eq(send(w.fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads exactly len bytes, failing the test after IO_WAIT_MS without progress. */
static void cl_read(void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		struct pollfd p = {.fd = w.fd, .events = POLLIN};
		cr_assert_eq(poll(&p, 1, IO_WAIT_MS), 1, "the server sent nothing for %d ms",
			     IO_WAIT_MS);
		ssize_t n = read(w.fd, (uint8_t *)buf + done, len - done);
		cr_assert_gt(n, 0, "the server closed the connection after %zu of %zu bytes", done,
			     len);
		done += (size_t)n;
	}
}

static uint8_t cl_u8(void)
{
	uint8_t v;
	cl_read(&v, 1);
	return v;
}

static uint16_t cl_u16(void)
{
	uint8_t b[2];
	cl_read(b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t cl_u32(void)
{
	uint8_t b[4];
	cl_read(b, 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* True if the server sends nothing within ms. */
static bool cl_quiet(int ms)
{
	struct pollfd p = {.fd = w.fd, .events = POLLIN};
	return poll(&p, 1, ms) == 0;
}

/* Reads until the server closes; false if it keeps the connection open for IO_WAIT_MS. */
static bool cl_closed(void)
{
	uint8_t buf[4096];
	for (;;) {
		struct pollfd p = {.fd = w.fd, .events = POLLIN};
		if (poll(&p, 1, IO_WAIT_MS) != 1)
			return false;
		ssize_t n = read(w.fd, buf, sizeof(buf));
		if (n <= 0)
			return true;
	}
}

static uint8_t reverse_bits(uint8_t b)
{
	uint8_t r = 0;
	for (int i = 0; i < 8; i++)
		if (b & (1 << i))
			r |= (uint8_t)(0x80 >> i);
	return r;
}

/* The client's side of VNC Authentication, written here again on purpose. */
static void vnc_response(const char *password, const uint8_t challenge[16], uint8_t out[16])
{
	DES_cblock key = {0};
	DES_key_schedule ks;
	for (size_t i = 0; i < 8 && password[i]; i++)
		key[i] = reverse_bits((uint8_t)password[i]);
	DES_set_key_unchecked(&key, &ks);
	DES_ecb_encrypt((const_DES_cblock *)challenge, (DES_cblock *)out, &ks, DES_ENCRYPT);
	DES_ecb_encrypt((const_DES_cblock *)(challenge + 8), (DES_cblock *)(out + 8), &ks,
			DES_ENCRYPT);
}

/*
 * Runs the handshake up to the SecurityResult with a 3.x version and the password; returns
 * that result (0 is success). For 3.3 the server names the security type itself.
 */
static uint32_t cl_authenticate(const char *version, const char *password)
{
	char banner[13] = {0};
	cl_read(banner, 12);
	cr_assert_str_eq(banner, "RFB 003.008\n");
	cl_write(version, 12);
	if (strcmp(version, "RFB 003.007\n") != 0 && strcmp(version, "RFB 003.008\n") != 0) {
		cr_assert_eq(cl_u32(), 2, "3.3: the server names the type");
	} else {
		cr_assert_eq(cl_u8(), 1, "one security type is offered");
		cr_assert_eq(cl_u8(), 2, "the type is VNC Authentication");
		cl_write("\x02", 1);
	}
	uint8_t challenge[16], response[16];
	cl_read(challenge, sizeof(challenge));
	vnc_response(password, challenge, response);
	cl_write(response, sizeof(response));
	return cl_u32();
}

struct server_init {
	uint16_t width, height;
	uint8_t format[16];
	char name[256];
};

static struct server_init cl_init(void)
{
	struct server_init si = {0};
	cl_write("\x01", 1);
	si.width = cl_u16();
	si.height = cl_u16();
	cl_read(si.format, sizeof(si.format));
	uint32_t len = cl_u32();
	cr_assert_lt(len, sizeof(si.name));
	cl_read(si.name, len);
	return si;
}

/* A fresh server, connected and past ServerInit. */
static void cl_ready(bool control)
{
	new_server(control);
	connect_client();
	char password[16];
	snprintf(password, sizeof(password), "%s", mxc_rfb_server_password(w.srv));
	cr_assert_eq(cl_authenticate("RFB 003.008\n", password), 0);
	cl_init();
}

static void cl_request(bool incremental, uint16_t x, uint16_t y, uint16_t width, uint16_t height)
{
	uint8_t m[10] = {3,	   incremental, x >> 8,	      x & 0xff,	   y >> 8,
			 y & 0xff, width >> 8,	width & 0xff, height >> 8, height & 0xff};
	cl_write(m, sizeof(m));
}

static void cl_encodings(const int32_t *list, size_t n)
{
	uint8_t m[4] = {2, 0, (uint8_t)(n >> 8), (uint8_t)n};
	cl_write(m, sizeof(m));
	for (size_t i = 0; i < n; i++) {
		uint32_t v = (uint32_t)list[i];
		uint8_t e[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
				(uint8_t)v};
		cl_write(e, sizeof(e));
	}
}

static void cl_pixel_format(uint8_t bpp, uint8_t depth, bool big_endian, bool true_colour,
			    uint16_t max_r, uint16_t max_g, uint16_t max_b, uint8_t shift_r,
			    uint8_t shift_g, uint8_t shift_b)
{
	uint16_t max[3] = {max_r, max_g, max_b};
	uint8_t m[20] = {0, 0, 0, 0, bpp, depth, big_endian, true_colour};
	for (int i = 0; i < 3; i++) {
		m[8 + 2 * i] = (uint8_t)(max[i] >> 8);
		m[9 + 2 * i] = (uint8_t)max[i];
	}
	m[14] = shift_r;
	m[15] = shift_g;
	m[16] = shift_b;
	cl_write(m, sizeof(m));
}

static void cl_key(bool down, uint32_t keysym)
{
	uint8_t m[8] = {4,
			down,
			0,
			0,
			(uint8_t)(keysym >> 24),
			(uint8_t)(keysym >> 16),
			(uint8_t)(keysym >> 8),
			(uint8_t)keysym};
	cl_write(m, sizeof(m));
}

static void cl_pointer(uint8_t buttons, uint16_t x, uint16_t y)
{
	uint8_t m[6] = {5, buttons, x >> 8, x & 0xff, y >> 8, y & 0xff};
	cl_write(m, sizeof(m));
}

struct rect {
	uint16_t x, y, width, height;
	int32_t encoding;
	uint8_t *data; /* raw pixels, bpp bytes each */
};

/* Reads one FramebufferUpdate; returns its rectangle count (rects freed by rects_free). */
static size_t cl_update(struct rect *rects, size_t max, unsigned bytes_per_pixel)
{
	cr_assert_eq(cl_u8(), 0, "a FramebufferUpdate");
	cl_u8();
	size_t n = cl_u16();
	cr_assert_leq(n, max);
	for (size_t i = 0; i < n; i++) {
		struct rect *r = &rects[i];
		r->x = cl_u16();
		r->y = cl_u16();
		r->width = cl_u16();
		r->height = cl_u16();
		r->encoding = (int32_t)cl_u32();
		r->data = NULL;
		if (r->encoding == 0) {
			size_t len = (size_t)r->width * r->height * bytes_per_pixel;
			r->data = malloc(len ? len : 1);
			cl_read(r->data, len);
		} else {
			cr_assert_eq(r->encoding, -223, "only raw and DesktopSize are sent");
		}
	}
	return n;
}

static void rects_free(struct rect *rects, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rects[i].data);
}

/* Reads and drops one update. */
static void cl_skip_update(unsigned bytes_per_pixel)
{
	struct rect rects[64];
	rects_free(rects, cl_update(rects, 64, bytes_per_pixel));
}

/* v / 255 of max, rounded to the nearest. */
static uint32_t scale(uint8_t v, uint16_t max)
{
	return (2u * v * max + 255) / 510;
}

/*
 * Every pixel of a raw rectangle is the screen's, in 32 bpp little-endian (8 bits at 16/8/0),
 * its padding byte all ones (opaque to noVNC, which takes it for alpha).
 */
static void assert_rect_32le(const struct rect *r)
{
	for (uint32_t y = 0; y < r->height; y++) {
		for (uint32_t x = 0; x < r->width; x++) {
			const uint8_t *s = screen_at(r->x + x, r->y + y);
			const uint8_t *p = r->data + ((size_t)y * r->width + x) * 4;
			cr_assert(p[0] == s[2] && p[1] == s[1] && p[2] == s[0] && p[3] == 0xff,
				  "pixel (%u, %u): %02x%02x%02x%02x, expected %02x%02x%02xff",
				  r->x + x, r->y + y, p[0], p[1], p[2], p[3], s[2], s[1], s[0]);
		}
	}
}

static bool server_ended_within(int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (pthread_tryjoin_np(w.thread, NULL) == 0) {
			w.running = false;
			return true;
		}
		usleep(10000);
	}
	return false;
}

/* ---- authentication ---- */

Test(rfb, the_tests_vnc_response_matches_a_known_answer)
{
	/* DES of 00..0f under "password" with each key byte's bits reversed (openssl enc). */
	static const uint8_t expect[16] = {0xb8, 0x66, 0x92, 0x41, 0x25, 0xc8, 0xee, 0xbb,
					   0x9d, 0xeb, 0xc1, 0xdb, 0x61, 0xc5, 0x38, 0xe2};
	uint8_t challenge[16], out[16];
	for (int i = 0; i < 16; i++)
		challenge[i] = (uint8_t)i;
	vnc_response("password", challenge, out);
	cr_assert_arr_eq(out, expect, sizeof(expect));
}

Test(rfb, the_password_is_eight_unambiguous_printable_characters)
{
	for (int i = 0; i < 50; i++) {
		new_server(false);
		const char *p = mxc_rfb_server_password(w.srv);
		cr_assert_eq(strlen(p), MXC_RFB_PASSWORD_LEN);
		for (const char *c = p; *c; c++)
			cr_assert(isalnum((unsigned char)*c) && !strchr("0Oo1lI", *c),
				  "'%c' in password '%s'", *c, p);
	}
	char first[16];
	snprintf(first, sizeof(first), "%s", mxc_rfb_server_password(w.srv));
	new_server(false);
	cr_assert_str_neq(first, mxc_rfb_server_password(w.srv));
}

Test(rfb, the_right_password_opens_the_view_with_the_screen_size_and_name)
{
	connect_client();
	char password[16];
	snprintf(password, sizeof(password), "%s", mxc_rfb_server_password(w.srv));
	cr_assert_eq(cl_authenticate("RFB 003.008\n", password), 0);
	struct server_init si = cl_init();
	cr_assert_eq(si.width, 200);
	cr_assert_eq(si.height, 150);
	static const uint8_t native[16] = {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0};
	cr_assert_arr_eq(si.format, native, 16);
	cr_assert_str_eq(si.name, "mxc session ab12cd (tester)");
	cr_assert(mxc_rfb_server_authenticated(w.srv));
	cr_assert_str_eq(mxc_rfb_server_password(w.srv), "", "the password is forgotten");
	shutdown(w.fd, SHUT_WR);
	server_done();
	cr_assert_eq(w.ret, 0);
	cr_assert_eq(w.end, MXC_RFB_CLIENT_LEFT);
}

Test(rfb, clients_speaking_3_3_and_3_7_are_served)
{
	const char *versions[] = {"RFB 003.003\n", "RFB 003.007\n", "RFB 003.889\n"};
	for (size_t i = 0; i < 3; i++) {
		new_server(false);
		connect_client();
		char password[16];
		snprintf(password, sizeof(password), "%s", mxc_rfb_server_password(w.srv));
		cr_assert_eq(cl_authenticate(versions[i], password), 0, "%s", versions[i]);
		cr_assert_eq(cl_init().width, 200);
		close(w.fd);
		w.fd = -1;
		server_done();
		cr_assert_eq(w.end, MXC_RFB_CLIENT_LEFT);
	}
}

Test(rfb, a_client_that_is_not_rfb_is_dropped)
{
	connect_client();
	char banner[12];
	cl_read(banner, sizeof(banner));
	cl_write("GET / HTTP/1.1\r\n", 16);
	cr_assert(cl_closed());
	server_done();
	cr_assert_eq(w.end, MXC_RFB_CLIENT_FAULT);
	cr_assert_str_eq(w.err.msg, "the VNC client sent no RFB 3.x version");
	cr_assert_not(mxc_rfb_server_spent(w.srv), "no password was tried");
}

Test(rfb, a_security_type_not_offered_is_refused)
{
	connect_client();
	char banner[12];
	cl_read(banner, sizeof(banner));
	cl_write("RFB 003.008\n", 12);
	cl_u8();
	cl_u8();
	cl_write("\x01", 1); /* None */
	cr_assert_eq(cl_u32(), 1, "SecurityResult failed");
	cr_assert_gt(cl_u32(), 0, "with a reason");
	cr_assert(cl_closed());
	server_done();
	cr_assert_eq(w.end, MXC_RFB_CLIENT_FAULT);
	cr_assert(strstr(w.err.msg, "security type 1"), "%s", w.err.msg);
}

Test(rfb, a_wrong_password_is_refused_with_a_reason_and_may_be_retried)
{
	connect_client();
	cr_assert_eq(cl_authenticate("RFB 003.008\n", "wrongpw!"), 1);
	uint32_t len = cl_u32();
	char reason[64] = {0};
	cr_assert_lt(len, sizeof(reason));
	cl_read(reason, len);
	cr_assert_str_eq(reason, "authentication failed");
	cr_assert(cl_closed());
	server_done();
	cr_assert_eq(w.ret, 0);
	cr_assert_eq(w.end, MXC_RFB_REFUSED);
	cr_assert_not(mxc_rfb_server_spent(w.srv));

	close(w.fd);
	connect_client();
	char password[16];
	snprintf(password, sizeof(password), "%s", mxc_rfb_server_password(w.srv));
	cr_assert_eq(cl_authenticate("RFB 003.008\n", password), 0);
}

Test(rfb, three_failures_spend_the_password)
{
	char password[16];
	snprintf(password, sizeof(password), "%s", mxc_rfb_server_password(w.srv));
	for (int i = 0; i < MXC_RFB_MAX_FAILURES; i++) {
		connect_client();
		cr_assert_eq(cl_authenticate("RFB 003.008\n", "nopenope"), 1);
		server_done();
		close(w.fd);
	}
	cr_assert(mxc_rfb_server_spent(w.srv));
	connect_client();
	cr_assert_eq(cl_authenticate("RFB 003.008\n", password), 1,
		     "even the right password is refused now");
	server_done();
	cr_assert_eq(w.end, MXC_RFB_REFUSED);
	cr_assert_str_eq(w.err.msg, "VNC client refused: too many failed attempts");
}

Test(rfb, the_one_time_password_cannot_be_used_twice)
{
	char password[16];
	snprintf(password, sizeof(password), "%s", mxc_rfb_server_password(w.srv));
	connect_client();
	cr_assert_eq(cl_authenticate("RFB 003.008\n", password), 0);
	cl_init();
	close(w.fd);
	server_done();
	cr_assert(mxc_rfb_server_spent(w.srv));

	connect_client();
	cr_assert_eq(cl_authenticate("RFB 003.008\n", password), 1);
	uint32_t len = cl_u32();
	char reason[64] = {0};
	cr_assert_lt(len, sizeof(reason));
	cl_read(reason, len);
	cr_assert_str_eq(reason, "the one-time password was used already");
	server_done();
	cr_assert_eq(w.end, MXC_RFB_REFUSED);
}

/* ---- updates ---- */

Test(rfb, a_full_update_has_the_exact_pixels_in_32bpp_little_endian)
{
	cl_ready(false);
	cl_pixel_format(32, 24, false, true, 255, 255, 255, 16, 8, 0);
	cl_request(false, 0, 0, 200, 150);
	struct rect rects[4];
	size_t n = cl_update(rects, 4, 4);
	cr_assert_eq(n, 1);
	cr_assert(rects[0].x == 0 && rects[0].y == 0 && rects[0].width == 200 &&
		  rects[0].height == 150 && rects[0].encoding == 0);
	assert_rect_32le(&rects[0]);
	rects_free(rects, n);

	/* A region of it, and one reaching past the screen, clipped. */
	cl_request(false, 10, 20, 30, 40);
	n = cl_update(rects, 4, 4);
	cr_assert(n == 1 && rects[0].x == 10 && rects[0].y == 20 && rects[0].width == 30 &&
		  rects[0].height == 40);
	assert_rect_32le(&rects[0]);
	rects_free(rects, n);
	cl_request(false, 190, 140, 1000, 1000);
	n = cl_update(rects, 4, 4);
	cr_assert(n == 1 && rects[0].x == 190 && rects[0].y == 140 && rects[0].width == 10 &&
		  rects[0].height == 10);
	assert_rect_32le(&rects[0]);
	rects_free(rects, n);
}

Test(rfb, a_full_update_has_the_exact_pixels_in_rgb565_big_endian)
{
	cl_ready(false);
	cl_pixel_format(16, 16, true, true, 31, 63, 31, 11, 5, 0);
	cl_request(false, 0, 0, 200, 150);
	struct rect rects[4];
	size_t n = cl_update(rects, 4, 2);
	cr_assert_eq(n, 1);
	cr_assert(rects[0].width == 200 && rects[0].height == 150);
	for (uint32_t y = 0; y < 150; y++) {
		for (uint32_t x = 0; x < 200; x++) {
			const uint8_t *s = screen_at(x, y);
			uint32_t expect =
			    scale(s[0], 31) << 11 | scale(s[1], 63) << 5 | scale(s[2], 31);
			const uint8_t *p = rects[0].data + ((size_t)y * 200 + x) * 2;
			uint32_t got = (uint32_t)p[0] << 8 | p[1];
			cr_assert_eq(got, expect, "pixel (%u, %u): %04x, expected %04x", x, y, got,
				     expect);
		}
	}
	rects_free(rects, n);
}

Test(rfb, an_8bpp_bgr233_format_is_served)
{
	cl_ready(false);
	cl_pixel_format(8, 8, false, true, 7, 7, 3, 0, 3, 6);
	cl_request(false, 0, 0, 200, 150);
	struct rect rects[4];
	size_t n = cl_update(rects, 4, 1);
	cr_assert_eq(n, 1);
	for (uint32_t y = 0; y < 150; y++) {
		for (uint32_t x = 0; x < 200; x++) {
			const uint8_t *s = screen_at(x, y);
			uint32_t expect =
			    scale(s[0], 7) | scale(s[1], 7) << 3 | scale(s[2], 3) << 6;
			cr_assert_eq(rects[0].data[y * 200 + x], expect);
		}
	}
	rects_free(rects, n);
}

Test(rfb, an_incremental_update_sends_only_the_changed_tiles)
{
	cl_ready(false);
	cl_request(false, 0, 0, 200, 150);
	cl_skip_update(4);

	screen_poke(70, 130, 1, 2, 3); /* tile (64, 128), cut short by the screen's bottom */
	screen_poke(199, 10, 4, 5, 6); /* tile (192, 0), cut short by its right edge */
	screen_poke(130, 10, 7, 8, 9); /* tile (128, 0): a run with the one next to it */
	cl_request(true, 0, 0, 200, 150);
	struct rect rects[8];
	size_t n = cl_update(rects, 8, 4);
	cr_assert_eq(n, 2, "%zu rectangles", n);
	cr_assert(rects[0].x == 128 && rects[0].y == 0 && rects[0].width == 72 &&
		      rects[0].height == 64,
		  "%u,%u %ux%u", rects[0].x, rects[0].y, rects[0].width, rects[0].height);
	cr_assert(rects[1].x == 64 && rects[1].y == 128 && rects[1].width == 64 &&
		      rects[1].height == 22,
		  "%u,%u %ux%u", rects[1].x, rects[1].y, rects[1].width, rects[1].height);
	assert_rect_32le(&rects[0]);
	assert_rect_32le(&rects[1]);
	rects_free(rects, n);
}

Test(rfb, an_incremental_request_waits_until_something_changes)
{
	cl_ready(false);
	cl_request(false, 0, 0, 200, 150);
	cl_skip_update(4);
	cl_request(true, 0, 0, 200, 150);
	cr_assert(cl_quiet(300), "an update was sent though nothing changed");

	screen_poke(5, 5, 255, 255, 255);
	struct rect rects[4];
	size_t n = cl_update(rects, 4, 4);
	cr_assert_eq(n, 1);
	cr_assert(rects[0].x == 0 && rects[0].y == 0 && rects[0].width == 64 &&
		  rects[0].height == 64);
	assert_rect_32le(&rects[0]);
	rects_free(rects, n);
	cr_assert(cl_quiet(100), "one update per request");
}

Test(rfb, the_first_incremental_request_gets_the_whole_screen)
{
	cl_ready(false);
	cl_request(true, 0, 0, 200, 150);
	struct rect rects[4];
	size_t n = cl_update(rects, 4, 4);
	cr_assert(n == 1 && rects[0].width == 200 && rects[0].height == 150);
	rects_free(rects, n);
}

Test(rfb, a_new_screen_size_is_announced_with_desktop_size)
{
	cl_ready(false);
	cl_encodings((const int32_t[]){0, -223}, 2);
	cl_request(false, 0, 0, 200, 150);
	cl_skip_update(4);

	screen_set(300, 220);
	cl_request(true, 0, 0, 200, 150);
	struct rect rects[4];
	size_t n = cl_update(rects, 4, 4);
	cr_assert_eq(n, 1);
	cr_assert_eq(rects[0].encoding, -223);
	cr_assert(rects[0].width == 300 && rects[0].height == 220);
	rects_free(rects, n);

	/* The client's framebuffer is new: even an incremental request gets all of it. */
	cl_request(true, 0, 0, 300, 220);
	n = cl_update(rects, 4, 4);
	cr_assert(n == 1 && rects[0].encoding == 0 && rects[0].width == 300 &&
		  rects[0].height == 220);
	assert_rect_32le(&rects[0]);
	rects_free(rects, n);
}

Test(rfb, without_desktop_size_a_smaller_screen_is_padded_with_black)
{
	cl_ready(false);
	cl_request(false, 0, 0, 200, 150);
	cl_skip_update(4);

	screen_set(100, 100);
	cl_request(false, 0, 0, 200, 150);
	struct rect rects[4];
	size_t n = cl_update(rects, 4, 4);
	cr_assert(n == 1 && rects[0].encoding == 0 && rects[0].width == 200 &&
		  rects[0].height == 150);
	for (uint32_t y = 0; y < 150; y++) {
		for (uint32_t x = 0; x < 200; x++) {
			const uint8_t *p = rects[0].data + ((size_t)y * 200 + x) * 4;
			uint8_t r = 0, g = 0, b = 0;
			if (x < 100 && y < 100) {
				r = pattern(x, y, 0);
				g = pattern(x, y, 1);
				b = pattern(x, y, 2);
			}
			cr_assert(p[0] == b && p[1] == g && p[2] == r && p[3] == 0xff,
				  "pixel (%u, %u)", x, y);
		}
	}
	rects_free(rects, n);
}

/* ---- input ---- */

Test(rfb, a_read_only_view_drops_input)
{
	cl_ready(false);
	cl_key(true, 'a');
	cl_key(false, 'a');
	cl_pointer(1, 10, 10);
	cl_pointer(0, 10, 10);
	/* The answer to a request read after them shows they were all read. */
	cl_request(false, 0, 0, 1, 1);
	cl_skip_update(4);
	cr_assert_eq(w.n_events, 0);
}

Test(rfb, a_controlling_view_forwards_keys_and_buttons_in_order)
{
	cl_ready(true);
	cl_pointer(0, 10, 10);
	cl_key(true, 'a');
	cl_key(false, 'a');
	cl_pointer(1, 20, 20);
	for (uint16_t x = 21; x <= 30; x++)
		cl_pointer(1, x, 20);
	cl_pointer(0, 30, 20);
	cl_pointer(8, 30, 20); /* wheel up: press and release */
	cl_pointer(0, 30, 20);
	cl_key(true, 0xff0d);
	cl_request(false, 0, 0, 1, 1);
	cl_skip_update(4);

	/* Moves may be merged; keys and button changes all come, in order. */
	struct event expect[] = {
	    {.x = 10, .y = 10, .buttons = 0},
	    {.key = true, .keysym = 'a', .down = true},
	    {.key = true, .keysym = 'a', .down = false},
	    {.x = 20, .y = 20, .buttons = 1},
	    {.x = 30, .y = 20, .buttons = 0},
	    {.x = 30, .y = 20, .buttons = 8},
	    {.x = 30, .y = 20, .buttons = 0},
	    {.key = true, .keysym = 0xff0d, .down = true},
	};
	size_t j = 0;
	bool pointed = false;
	uint8_t buttons = 0;
	pthread_mutex_lock(&w.lock);
	for (size_t i = 0; i < w.n_events; i++) {
		const struct event *e = &w.events[i];
		/* A move: a pointer event after the first that changes no button. */
		if (!e->key && pointed && e->buttons == buttons) {
			cr_assert(e->buttons == 1 && e->y == 20 && e->x > 20 && e->x <= 30,
				  "a move to (%u, %u) with %u", e->x, e->y, e->buttons);
			continue;
		}
		if (!e->key) {
			pointed = true;
			buttons = e->buttons;
		}
		cr_assert_lt(j, MXC_ARRAY_SIZE(expect), "event %zu is one too many", i);
		cr_assert(e->key == expect[j].key && e->keysym == expect[j].keysym &&
			      e->down == expect[j].down && e->x == expect[j].x &&
			      e->y == expect[j].y && e->buttons == expect[j].buttons,
			  "event %zu is not the expected %zu", i, j);
		j++;
	}
	pthread_mutex_unlock(&w.lock);
	cr_assert_eq(j, MXC_ARRAY_SIZE(expect));
}

Test(rfb, pointer_moves_are_merged_and_the_last_one_arrives)
{
	cl_ready(true);
	for (uint16_t x = 0; x < 100; x++)
		cl_pointer(0, x, 50);
	/* Past an interval the held-back move is sent on its own. */
	usleep(200 * 1000);
	pthread_mutex_lock(&w.lock);
	size_t n = w.n_events;
	struct event last = n ? w.events[n - 1] : (struct event){0};
	pthread_mutex_unlock(&w.lock);
	cr_assert_lt(n, 100, "%zu of 100 moves forwarded", n);
	cr_assert(last.x == 99 && last.y == 50, "the last move forwarded is (%u, %u)", last.x,
		  last.y);
}

Test(rfb, pointer_positions_are_kept_on_the_screen)
{
	cl_ready(true);
	cl_pointer(1, 5000, 6000);
	cl_request(false, 0, 0, 1, 1);
	cl_skip_update(4);
	cr_assert_eq(w.n_events, 1);
	cr_assert(w.events[0].x == 199 && w.events[0].y == 149);
}

/* ---- a hostile client ---- */

static void assert_fault(const char *needle)
{
	cr_assert(cl_closed(), "the connection stays open");
	server_done();
	cr_assert_eq(w.ret, 0, "%s", w.err.msg);
	cr_assert_eq(w.end, MXC_RFB_CLIENT_FAULT, "%d: %s", w.end, w.err.msg);
	cr_assert(strstr(w.err.msg, needle), "'%s' lacks '%s'", w.err.msg, needle);
}

Test(rfb, an_unknown_message_type_closes_the_connection)
{
	cl_ready(false);
	cl_write("\x63", 1);
	assert_fault("message of unknown type 99");
}

Test(rfb, clipboard_text_of_2_gib_closes_the_connection)
{
	cl_ready(false);
	cl_write("\x06\0\0\0\x80\0\0\0", 8);
	assert_fault("2147483648 bytes of clipboard text");
}

Test(rfb, clipboard_text_within_the_bound_is_read_and_dropped)
{
	cl_ready(true);
	size_t len = 100000;
	uint8_t head[8] = {6, 0, 0, 0, 0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	cl_write(head, sizeof(head));
	char *text = malloc(len);
	memset(text, 'x', len);
	cl_write(text, len);
	free(text);
	cl_request(false, 0, 0, 1, 1);
	cl_skip_update(4);
	cr_assert_eq(w.n_events, 0, "nothing was made of it");
}

Test(rfb, set_encodings_with_65535_entries_honours_only_the_first_1024)
{
	cl_ready(false);
	int32_t *list = calloc(65535, sizeof(*list));
	list[2000] = -223; /* past the entries looked at */
	cl_encodings(list, 65535);
	free(list);
	cl_request(false, 0, 0, 200, 150);
	cl_skip_update(4);
	/* A resize is not announced, since DesktopSize came too late in the list. */
	screen_set(300, 220);
	cl_request(false, 0, 0, 200, 150);
	struct rect rects[4];
	size_t n = cl_update(rects, 4, 4);
	cr_assert(n == 1 && rects[0].encoding == 0 && rects[0].width == 200);
	rects_free(rects, n);
}

Test(rfb, a_colour_map_pixel_format_closes_the_connection)
{
	cl_ready(false);
	cl_pixel_format(8, 8, false, false, 0, 0, 0, 0, 0, 0);
	assert_fault("colour-map");
}

Test(rfb, impossible_pixel_formats_close_the_connection)
{
	cl_ready(false);
	cl_pixel_format(24, 24, false, true, 255, 255, 255, 16, 8, 0);
	assert_fault("24 bits per pixel");
	close(w.fd);
	cl_ready(false);
	cl_pixel_format(16, 16, false, true, 100, 63, 31, 11, 5, 0);
	assert_fault("red-max 100");
	close(w.fd);
	cl_ready(false);
	cl_pixel_format(16, 16, false, true, 31, 63, 255, 11, 5, 10);
	assert_fault("blue-max 255 at shift 10");
}

Test(rfb, a_truncated_message_then_the_end_of_the_stream_ends_cleanly)
{
	cl_ready(false);
	cl_write("\x03\x00\x00", 3);
	shutdown(w.fd, SHUT_WR);
	cr_assert(cl_closed());
	server_done();
	cr_assert_eq(w.ret, 0);
	cr_assert_eq(w.end, MXC_RFB_CLIENT_LEFT);
}

Test(rfb, a_truncated_message_that_stays_so_is_dropped)
{
	w.io_ms = 200;
	cl_ready(false);
	cl_write("\x00\x00\x00\x00\x20", 5); /* SetPixelFormat, 15 bytes short */
	assert_fault("left a message unfinished");
	cr_assert_lt(w.served_ns, 3000000000ull);
}

Test(rfb, a_handshake_that_never_finishes_is_dropped)
{
	w.handshake_ms = 200;
	new_server(false);
	connect_client();
	char banner[12];
	cl_read(banner, sizeof(banner));
	cl_write("RFB 003.", 8);
	assert_fault("did not finish the handshake within 0.2 s");
	cr_assert_lt(w.served_ns, 2000000000ull);
	cr_assert_not(mxc_rfb_server_spent(w.srv));
}

Test(rfb, a_client_that_stops_reading_is_dropped)
{
	screen_set(1024, 768); /* 3 MiB an update at 32 bpp: more than a socket holds */
	w.io_ms = 300;
	cl_ready(false);
	cl_request(false, 0, 0, 1024, 768);
	cr_assert(server_ended_within(5000), "the server waits for the client forever");
	cr_assert_eq(w.end, MXC_RFB_CLIENT_FAULT);
	cr_assert(strstr(w.err.msg, "stopped reading"), "%s", w.err.msg);
}

Test(rfb, the_stop_descriptor_ends_the_view)
{
	cl_ready(false);
	cl_request(true, 0, 0, 200, 150);
	cl_skip_update(4);
	cl_request(true, 0, 0, 200, 150);
	cr_assert_eq(write(w.stop[1], "x", 1), 1);
	cr_assert(server_ended_within(2000));
	cr_assert_eq(w.ret, 0);
	cr_assert_eq(w.end, MXC_RFB_STOPPED);
}

/* A source that fails ends the view with its error, not a client's fault. */
static int failing_frame(void *data, struct mxc_rfb_frame *ret_frame, struct mxc_error *err)
{
	return mxc_error_set(err, -ECONNRESET, "mxc-sessiond closed the connection");
}

Test(rfb, a_failing_source_is_an_error_of_the_server)
{
	static const struct mxc_rfb_source broken = {.frame = failing_frame};
	mxc_rfb_server_destroy(w.srv);
	struct mxc_error err = {0};
	cr_assert_eq(mxc_rfb_server_create("x", false, &broken, NULL, &w.srv, &err), 0);
	connect_client();
	char password[16];
	snprintf(password, sizeof(password), "%s", mxc_rfb_server_password(w.srv));
	cr_assert_eq(cl_authenticate("RFB 003.008\n", password), 0);
	cl_write("\x01", 1);
	cr_assert(cl_closed());
	server_done();
	cr_assert_eq(w.ret, -ECONNRESET);
	cr_assert_str_eq(w.err.msg, "mxc-sessiond closed the connection");
}
