/*
 * A hostile X server: the agent can replace its Xvfb with any program. A fake server on a
 * socketpair sends a crafted setup and crafted replies; the library must refuse what it can't
 * convert correctly, never read past what it received, and never hang.
 *
 * Each test has a positive twin (a well-formed fake reply that converts exactly), so the fake
 * server itself is known to speak correct X11.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "display-xcb.h"
#include "display.h"

#define ROOT	  0x100
#define VISUAL	  0x21
#define SHM_MAJOR 130

enum get_image_mode {
	GI_GOOD,
	GI_SHORT,
	GI_LONG,
	GI_WRONG_DEPTH,
	GI_WRONG_VISUAL,
	GI_WRAPPING_LENGTH, /* a length field whose byte count wraps in 32 bits */
	GI_X_ERROR,
	GI_SILENT,
	GI_CLOSE,
	GI_EVENTS_FIRST,     /* many unasked-for events, then a good reply */
	GI_FEW_EVENTS_FIRST, /* ten numbered events, then a good reply */
	GI_EVENT_FLOOD,	     /* events without end, never a reply */
	GI_SHUT_READ,	     /* a good reply, then stop reading: the next write gets EPIPE */
};

enum shm_mode {
	SHM_NONE, /* MIT-SHM absent */
	SHM_GOOD,
	SHM_SHRINK_FIRST, /* truncate the segment (must fail: sealed), then a good reply */
	SHM_WRONG_SIZE,
	SHM_REFUSE, /* X error to ShmGetImage: the client falls back to GetImage */
};

struct fake {
	/* setup */
	uint8_t byte_order;
	uint8_t depth, bpp, pad;
	uint8_t visual_class;
	uint32_t masks[3];
	uint16_t width, height;
	uint16_t vendor_len;  /* claimed; 4 bytes are sent */
	uint16_t visuals_len; /* claimed; 1 is sent */
	uint32_t root_visual;
	uint8_t format_depth;
	/* behaviour */
	enum get_image_mode get_image;
	enum shm_mode shm;
};

static const struct fake good_fake = {
    .byte_order = 0,
    .depth = 24,
    .bpp = 32,
    .pad = 32,
    .visual_class = 4, /* TrueColor */
    .masks = {0xff0000, 0x00ff00, 0x0000ff},
    .width = 64,
    .height = 48,
    .vendor_len = 4,
    .visuals_len = 1,
    .root_visual = VISUAL,
    .format_depth = 24,
};

/* The colour the fake server shows at (x, y). */
static uint32_t fake_rgb(uint32_t x, uint32_t y)
{
	return ((x * 7 + y * 3) & 0xff) << 16 | ((x * 5) & 0xff) << 8 | ((y * 11 + 1) & 0xff);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static uint32_t get16(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8;
}

/* ---- the fake server (runs in a child process) ---- */

static int server_fd;
static int shm_fd = -1;

static void send_all(const void *buf, size_t len)
{
	if (mxc_write_all(server_fd, buf, len) < 0)
		_exit(0);
}

/* Reads exactly len bytes, keeping a passed file descriptor (ShmAttachFd). */
static void recv_all(void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		char control[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {.iov_base = (char *)buf + got, .iov_len = len - got};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control,
				     .msg_controllen = sizeof(control)};
		ssize_t n = recvmsg(server_fd, &msg, MSG_CMSG_CLOEXEC);
		struct cmsghdr *c;

		if (n <= 0)
			_exit(0);
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				memcpy(&shm_fd, CMSG_DATA(c), sizeof(int));
		got += (size_t)n;
	}
}

static void send_setup(const struct fake *f)
{
	uint8_t buf[256] = {0};
	uint8_t *p = buf;
	size_t len;

	p[0] = 1;		   /* success */
	put16(p + 2, 11);	   /* protocol 11.0 */
	put32(p + 8, 0);	   /* release */
	put32(p + 12, 0x00200000); /* resource id base */
	put32(p + 16, 0x001fffff); /* resource id mask */
	put16(p + 24, f->vendor_len);
	put16(p + 26, 0xffff); /* maximum request length */
	p[28] = 1;	       /* screens */
	p[29] = 2;	       /* pixmap formats */
	p[30] = f->byte_order; /* image byte order */
	p[32] = 32;	       /* bitmap scanline unit */
	p[33] = 32;	       /* bitmap scanline pad */
	p[34] = 8;
	p[35] = 255;
	p += 40;
	memcpy(p, "fake", 4);
	p += 4;
	/* pixmap formats: depth 1, and the root's */
	p[0] = 1;
	p[1] = 1;
	p[2] = 32;
	p += 8;
	p[0] = f->format_depth;
	p[1] = f->bpp;
	p[2] = f->pad;
	p += 8;
	/* the screen */
	put32(p, ROOT);
	put32(p + 4, 0x20);
	put32(p + 8, 0xffffff);
	put16(p + 20, f->width);
	put16(p + 22, f->height);
	put16(p + 24, 300);
	put16(p + 26, 200);
	put16(p + 28, 1);
	put16(p + 30, 1);
	put32(p + 32, f->root_visual);
	p[38] = f->depth;
	p[39] = 1; /* allowed depths */
	p += 40;
	p[0] = f->depth;
	put16(p + 2, f->visuals_len);
	p += 8;
	put32(p, VISUAL);
	p[4] = f->visual_class;
	p[5] = 8;
	put16(p + 6, 256);
	put32(p + 8, f->masks[0]);
	put32(p + 12, f->masks[1]);
	put32(p + 16, f->masks[2]);
	p += 24;
	len = (size_t)(p - buf);
	put16(buf + 6, (uint32_t)(len - 8) / 4);
	send_all(buf, len);
}

static void send_reply(uint16_t seq, uint8_t data1, const uint8_t body[24], uint32_t extra_len)
{
	uint8_t r[32] = {1, data1};

	put16(r + 2, seq);
	put32(r + 4, extra_len);
	if (body)
		memcpy(r + 8, body, 24);
	send_all(r, sizeof(r));
}

static void send_error(uint16_t seq, uint8_t code)
{
	uint8_t e[32] = {0, code};

	put16(e + 2, seq);
	send_all(e, sizeof(e));
}

/* The Z-pixmap bytes of the fake screen for a region (BGRX or BGR, padded rows). */
static size_t image_bytes(const struct fake *f, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h,
			  uint8_t **ret)
{
	size_t stride = ((size_t)w * f->bpp + f->pad - 1) / f->pad * f->pad / 8;
	uint8_t *data = calloc(h ? h : 1, stride ? stride : 1);

	if (!data)
		_exit(1);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint32_t rgb = fake_rgb(x0 + x, y0 + y);
			uint8_t *p = data + y * stride + x * (f->bpp / 8);

			p[0] = (uint8_t)rgb;
			p[1] = (uint8_t)(rgb >> 8);
			p[2] = (uint8_t)(rgb >> 16);
			if (f->bpp == 32)
				p[3] = 0x5a; /* the unused byte is not ours to read as colour */
		}
	*ret = data;
	return stride * h;
}

static void answer_get_image(const struct fake *f, uint16_t seq, const uint8_t *req)
{
	uint32_t x = get16(req + 8), y = get16(req + 10), w = get16(req + 12), h = get16(req + 14);
	uint8_t body[24] = {0}, *data;
	size_t n = image_bytes(f, x, y, w, h, &data), padded = (n + 3) & ~(size_t)3;
	uint8_t depth = f->depth;

	put32(body, VISUAL);
	switch (f->get_image) {
	case GI_SILENT:
		free(data);
		return;
	case GI_CLOSE:
		_exit(0);
	case GI_X_ERROR:
		free(data);
		send_error(seq, 8 /* BadMatch */);
		return;
	case GI_WRAPPING_LENGTH:
		/* 0x40000000 * 4 is 0 in 32 bits: xcb keeps just the 32-byte header. */
		free(data);
		send_reply(seq, depth, body, 0x40000000);
		return;
	case GI_SHORT:
		padded -= 4;
		break;
	case GI_LONG:
		data = realloc(data, padded + 64);
		if (!data)
			_exit(1);
		memset(data + n, 0, padded + 64 - n);
		padded += 64;
		break;
	case GI_WRONG_DEPTH:
		depth = 16;
		break;
	case GI_WRONG_VISUAL:
		put32(body, VISUAL + 1);
		break;
	case GI_EVENTS_FIRST:
		for (int i = 0; i < 5000; i++) {
			uint8_t ev[32] = {19 /* MapNotify */};

			put16(ev + 2, seq);
			send_all(ev, sizeof(ev));
		}
		break;
	case GI_FEW_EVENTS_FIRST:
		for (uint32_t i = 0; i < 10; i++) {
			uint8_t ev[32] = {19 /* MapNotify */};

			put16(ev + 2, seq);
			put32(ev + 8, 0x400 + i); /* window */
			send_all(ev, sizeof(ev));
		}
		break;
	case GI_EVENT_FLOOD:
		free(data);
		for (;;) {
			uint8_t ev[32 * 64] = {0};

			for (size_t i = 0; i < sizeof(ev); i += 32) {
				ev[i] = 19;
				put16(ev + i + 2, seq);
			}
			send_all(ev, sizeof(ev));
		}
	case GI_GOOD:
	case GI_SHUT_READ:
		break;
	}
	if (padded > n) {
		data = realloc(data, padded);
		if (!data)
			_exit(1);
		memset(data + n, 0, padded - n);
	}
	/*
	 * Half-closed before the reply goes out, so that the client's next request, written
	 * once it has the reply, always meets EPIPE (the socket shows no POLLHUP).
	 */
	if (f->get_image == GI_SHUT_READ)
		shutdown(server_fd, SHUT_RD);
	send_reply(seq, depth, body, (uint32_t)(padded / 4));
	send_all(data, padded);
	free(data);
	if (f->get_image == GI_SHUT_READ) {
		for (;;)
			pause();
	}
}

static void answer_shm(const struct fake *f, uint16_t seq, uint8_t minor, const uint8_t *req)
{
	uint8_t body[24] = {0};

	switch (minor) {
	case 0: /* QueryVersion */
		put16(body, 1);
		put16(body + 2, 2);
		send_reply(seq, 0, body, 0);
		return;
	case 6: /* AttachFd: no reply */
		return;
	case 4: { /* GetImage */
		uint32_t x = get16(req + 8), y = get16(req + 10), w = get16(req + 12),
			 h = get16(req + 14);
		uint8_t *data, *map;
		size_t n = image_bytes(f, x, y, w, h, &data);
		struct stat st;

		if (f->shm == SHM_REFUSE) {
			free(data);
			send_error(seq, 8);
			return;
		}
		/*
		 * Sealed, this fails. If it worked, the client would die of SIGBUS reading
		 * its mapping; the size check below then ends the connection instead, so
		 * the test fails either way.
		 */
		if (f->shm == SHM_SHRINK_FIRST)
			(void)!ftruncate(shm_fd, 0);
		if (shm_fd < 0 || fstat(shm_fd, &st) < 0 || (size_t)st.st_size < n)
			_exit(1);
		map = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
		if (map == MAP_FAILED)
			_exit(1);
		memcpy(map, data, n);
		munmap(map, n ? n : 1);
		free(data);
		put32(body, VISUAL);
		put32(body + 4, (uint32_t)(f->shm == SHM_WRONG_SIZE ? n + 4 : n));
		send_reply(seq, f->depth, body, 0);
		return;
	}
	default:
		send_error(seq, 1);
	}
}

static void serve(const struct fake *f)
{
	uint8_t setup_req[12], req[1024];
	uint16_t seq = 0;
	size_t skip;

	recv_all(setup_req, sizeof(setup_req));
	skip = ((get16(setup_req + 6) + 3) & ~3u) + ((get16(setup_req + 8) + 3) & ~3u);
	if (skip > sizeof(req))
		_exit(1);
	recv_all(req, skip);
	send_setup(f);

	for (;;) {
		size_t len;

		recv_all(req, 4);
		seq++;
		len = get16(req + 2) * 4;
		if (len < 4 || len > sizeof(req))
			_exit(1);
		recv_all(req + 4, len - 4);
		switch (req[0]) {
		case 98: { /* QueryExtension */
			uint8_t body[24] = {0};
			bool shm = f->shm != SHM_NONE && get16(req + 4) == 7 &&
				   memcmp(req + 8, "MIT-SHM", 7) == 0;

			body[0] = shm;
			body[1] = shm ? SHM_MAJOR : 0;
			send_reply(seq, 0, body, 0);
			break;
		}
		case 43: { /* GetInputFocus */
			uint8_t body[24] = {0};

			put32(body, ROOT);
			send_reply(seq, 1, body, 0);
			break;
		}
		case 73:
			answer_get_image(f, seq, req);
			break;
		case SHM_MAJOR:
			answer_shm(f, seq, req[1], req);
			break;
		default:
			send_error(seq, 1 /* BadRequest */);
		}
	}
}

/* ---- the client side ---- */

static pid_t fake_pid;
static struct mxc_display *display;

static void setup(void)
{
	fake_pid = 0;
	display = NULL;
	unsetenv(MXC_DISPLAY_NO_SHM_ENV);
}

static void teardown(void)
{
	mxc_display_destroy(display);
	if (fake_pid > 0) {
		kill(fake_pid, SIGKILL);
		waitpid(fake_pid, NULL, 0);
	}
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 30);

static int connect_fake(const struct fake *f, struct mxc_error *err)
{
	pid_t parent = getpid();
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fake_pid = fork();
	cr_assert_geq(fake_pid, 0);
	if (fake_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		close(sv[0]);
		server_fd = sv[1];
		serve(f);
		_exit(0);
	}
	close(sv[1]);
	return mxc_display_connect_fd(sv[0], NULL, "fake", &display, err);
}

static void expect_connect_refused(const struct fake *f, int code, const char *words)
{
	struct mxc_error err = {0};

	cr_expect_eq(connect_fake(f, &err), code, "%s", err.msg);
	cr_expect_null(display);
	cr_expect(strstr(err.msg, "failed to connect to display 'fake'"), "%s", err.msg);
	cr_expect(strstr(err.msg, words), "'%s' not in: %s", words, err.msg);
}

static void expect_fake_image(const struct mxc_image *img, uint32_t x0, uint32_t y0)
{
	size_t bad = 0;

	for (uint32_t y = 0; y < img->height; y++)
		for (uint32_t x = 0; x < img->width; x++) {
			const uint8_t *p = img->data + (size_t)y * img->stride + x * 3;
			uint32_t got = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];

			bad += got != fake_rgb(x0 + x, y0 + y);
		}
	cr_expect_eq(bad, 0, "%zu pixels differ", bad);
}

static void expect_capture_refused(const struct fake *f, int code, const char *words)
{
	struct mxc_image img = {0};
	struct mxc_error err = {0};

	cr_assert_eq(connect_fake(f, &err), 0, "%s", err.msg);
	mxc_display_set_timeout(display, 300);
	cr_expect_eq(mxc_display_capture(display, &img, &err), code, "%s", err.msg);
	cr_expect_null(img.data);
	cr_expect(strstr(err.msg, "failed to capture display 'fake'"), "%s", err.msg);
	cr_expect(strstr(err.msg, words), "'%s' not in: %s", words, err.msg);
}

Test(hostile, a_well_formed_fake_server_is_captured_exactly)
{
	struct mxc_image img = {0};
	struct mxc_error err = {0};

	cr_assert_eq(connect_fake(&good_fake, &err), 0, "%s", err.msg);
	cr_expect_not(mxc_display_uses_shm(display));
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	expect_fake_image(&img, 0, 0);
	mxc_image_finish(&img);
	cr_assert_eq(mxc_display_capture_region(display, 5, 7, 11, 13, &img, &err), 0, "%s",
		     err.msg);
	expect_fake_image(&img, 5, 7);
	mxc_image_finish(&img);
}

/* Packed 24 bpp (which Xvfb never uses) with rows padded to 4 bytes. */
Test(hostile, packed_24_bit_pixels_are_converted)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};

	f.bpp = 24;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_display_capture_region(display, 3, 2, 13, 5, &img, &err), 0, "%s",
		     err.msg);
	expect_fake_image(&img, 3, 2);
	mxc_image_finish(&img);
}

Test(hostile, msb_first_images_are_refused)
{
	struct fake f = good_fake;

	f.byte_order = 1;
	expect_connect_refused(&f, -EOPNOTSUPP, "MSB first");
}

Test(hostile, a_30_bit_visual_is_refused)
{
	struct fake f = good_fake;

	f.depth = f.format_depth = 30;
	f.masks[0] = 0x3ff00000;
	f.masks[1] = 0x000ffc00;
	f.masks[2] = 0x000003ff;
	expect_connect_refused(&f, -EOPNOTSUPP, "unsupported pixel format");
}

Test(hostile, other_masks_classes_and_depth_bpp_pairs_are_refused)
{
	struct fake variants[4];

	for (size_t i = 0; i < MXC_ARRAY_SIZE(variants); i++)
		variants[i] = good_fake;
	variants[0].masks[0] = 0x0000ff; /* RGBX, not BGRX */
	variants[0].masks[2] = 0xff0000;
	variants[1].visual_class = 5;			   /* DirectColor */
	variants[2].bpp = 16;				   /* depth 24 in 16 bits */
	variants[3].depth = variants[3].format_depth = 16; /* 16 bit, masks of 24 */
	for (size_t i = 0; i < MXC_ARRAY_SIZE(variants); i++) {
		expect_connect_refused(&variants[i], -EOPNOTSUPP, "unsupported pixel format");
		teardown();
		setup();
	}
}

Test(hostile, counts_that_run_past_the_setup_are_refused)
{
	struct fake f = good_fake;

	f.visuals_len = 1000;
	expect_connect_refused(&f, -EPROTO, "malformed connection setup");
	teardown();
	setup();
	f = good_fake;
	f.vendor_len = 60000;
	expect_connect_refused(&f, -EPROTO, "malformed connection setup");
}

Test(hostile, an_unlisted_root_visual_or_missing_format_is_refused)
{
	struct fake f = good_fake;

	f.root_visual = 0x99;
	expect_connect_refused(&f, -EPROTO, "root visual");
	teardown();
	setup();
	f = good_fake;
	f.format_depth = 8;
	expect_connect_refused(&f, -EPROTO, "pixmap format");
}

Test(hostile, an_oversized_screen_is_refused)
{
	struct fake f = good_fake;

	f.width = 20000;
	f.height = 20000;
	expect_connect_refused(&f, -EOPNOTSUPP, "20000x20000");
}

Test(hostile, short_image_data_is_refused)
{
	struct fake f = good_fake;

	f.get_image = GI_SHORT;
	expect_capture_refused(&f, -EPROTO, "invalid GetImage reply");
}

Test(hostile, long_image_data_is_refused)
{
	struct fake f = good_fake;

	f.get_image = GI_LONG;
	expect_capture_refused(&f, -EPROTO, "invalid GetImage reply");
}

/*
 * The reply claims 4 GiB but carries 32 bytes. Depending on the xcb version, xcb either
 * refuses to allocate (-ENOMEM, the connection closes) or wraps the size in 32 bits and keeps
 * just the header; then only our check of the length field stands between us and reading
 * 4 GiB past a 32-byte buffer. Either way: a clean error (and no ASan report).
 */
Test(hostile, an_absurd_length_field_is_refused_without_reading_past_the_reply)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	int r;

	f.get_image = GI_WRAPPING_LENGTH;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	r = mxc_display_capture(display, &img, &err);
	cr_expect(r == -EPROTO || r == -ENOMEM, "got %d: %s", r, err.msg);
	cr_expect_null(img.data);
	cr_expect(strstr(err.msg, "failed to capture display 'fake'"), "%s", err.msg);
}

Test(hostile, another_depth_or_visual_in_the_reply_is_refused)
{
	struct fake f = good_fake;

	f.get_image = GI_WRONG_DEPTH;
	expect_capture_refused(&f, -EPROTO, "depth 16");
	teardown();
	setup();
	f.get_image = GI_WRONG_VISUAL;
	expect_capture_refused(&f, -EPROTO, "visual 0x22");
}

Test(hostile, an_x_error_is_reported)
{
	struct fake f = good_fake;

	f.get_image = GI_X_ERROR;
	expect_capture_refused(&f, -EPROTO, "refused GetImage");
}

Test(hostile, a_silent_server_times_out_and_the_connection_is_then_unusable)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};

	f.get_image = GI_SILENT;
	expect_capture_refused(&f, -ETIMEDOUT, "within 300 ms");
	cr_expect_eq(mxc_display_capture(display, &img, &err), -EIO);
}

Test(hostile, a_server_that_hangs_up_mid_request_gives_a_clean_error)
{
	struct fake f = good_fake;

	f.get_image = GI_CLOSE;
	expect_capture_refused(&f, -ECONNRESET, "lost the connection");
}

/* A server that stops reading makes xcb's next write fail with EPIPE: no SIGPIPE may kill us. */
Test(hostile, a_server_that_stops_reading_raises_no_sigpipe)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	sigset_t pipe_set, pending;
	int r;

	/* The test runner may ignore or block SIGPIPE; a daemon's helper may not. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);

	f.get_image = GI_SHUT_READ;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	mxc_image_finish(&img);
	r = mxc_display_capture(display, &img, &err);
	cr_expect_eq(r, -ECONNRESET, "got %d: %s", r, err.msg);
	cr_expect(strstr(err.msg, "lost the connection"), "%s", err.msg);
	sigpending(&pending);
	cr_expect_eq(sigismember(&pending, SIGPIPE), 0, "a SIGPIPE was left pending");
}

Test(hostile, unasked_for_events_are_dropped)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};

	f.get_image = GI_EVENTS_FIRST;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	expect_fake_image(&img, 0, 0);
	mxc_image_finish(&img);
	/* Nobody listens: none is kept. */
	cr_expect_eq(mxc_display_dropped_events(display), 5000);
}

/* What an event handler saw. */
struct seen {
	unsigned count;
	uint32_t windows[16];
};

static void record_event(void *data, xcb_generic_event_t *ev)
{
	struct seen *s = data;

	if (s->count < MXC_ARRAY_SIZE(s->windows))
		s->windows[s->count] = ((xcb_map_notify_event_t *)ev)->window;
	s->count++;
}

/* Dispatches until nothing is queued; the number of calls that took. */
static unsigned dispatch_all(void)
{
	struct mxc_error err = {0};
	unsigned calls = 0;
	int r;

	do {
		r = mxc_display_dispatch(display, &err);
		cr_assert_geq(r, 0, "%s", err.msg);
		calls++;
	} while (r > 0 && calls < 1000);
	return calls;
}

Test(hostile, events_that_arrive_during_a_round_trip_reach_every_handler_in_order)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	struct seen a = {0}, b = {0};

	f.get_image = GI_FEW_EVENTS_FIRST;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_display_add_event_handler(display, record_event, &a, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(mxc_display_add_event_handler(display, record_event, &b, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	mxc_image_finish(&img);
	/* Handlers run from dispatch only, never inside somebody else's round trip. */
	cr_expect_eq(a.count, 0);
	dispatch_all();
	cr_assert_eq(a.count, 10);
	cr_assert_eq(b.count, 10);
	for (uint32_t i = 0; i < 10; i++) {
		cr_expect_eq(a.windows[i], 0x400 + i);
		cr_expect_eq(b.windows[i], 0x400 + i);
	}
	cr_expect_eq(mxc_display_dropped_events(display), 0);

	/* A handler removed sees nothing more; the other still does. */
	mxc_display_remove_event_handler(display, record_event, &a);
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	mxc_image_finish(&img);
	dispatch_all();
	cr_expect_eq(a.count, 10);
	cr_expect_eq(b.count, 20);
}

Test(hostile, the_event_queue_is_bounded_and_dispatch_works_in_batches)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	struct seen a = {0};

	f.get_image = GI_EVENTS_FIRST;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_display_add_event_handler(display, record_event, &a, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	expect_fake_image(&img, 0, 0);
	mxc_image_finish(&img);
	cr_expect_eq(dispatch_all(), MXC_DISPLAY_MAX_QUEUED_EVENTS / MXC_DISPLAY_DISPATCH_BATCH);
	cr_expect_eq(a.count, MXC_DISPLAY_MAX_QUEUED_EVENTS);
	cr_expect_eq(mxc_display_dropped_events(display), 5000 - MXC_DISPLAY_MAX_QUEUED_EVENTS);
}

Test(hostile, a_flood_of_events_does_not_stretch_the_deadline)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	struct seen a = {0};
	uint64_t start, ms;

	f.get_image = GI_EVENT_FLOOD;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_display_add_event_handler(display, record_event, &a, &err), 0, "%s",
		     err.msg);
	mxc_display_set_timeout(display, 300);
	start = mxc_now_mono_ns();
	cr_expect_eq(mxc_display_capture(display, &img, &err), -ETIMEDOUT, "%s", err.msg);
	ms = (mxc_now_mono_ns() - start) / 1000000;
	cr_expect(ms >= 300 && ms < 800, "took %llu ms", (unsigned long long)ms);
	cr_expect_gt(mxc_display_dropped_events(display), 0);
	cr_expect_eq(a.count, 0);
	/* The connection timed out: dispatching fails like every other call. */
	cr_expect_eq(mxc_display_dispatch(display, &err), -EIO);
}

Test(hostile, shm_from_a_fake_server_is_captured_exactly)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};

	f.shm = SHM_GOOD;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert(mxc_display_uses_shm(display));
	cr_assert_eq(mxc_display_capture_region(display, 1, 2, 30, 20, &img, &err), 0, "%s",
		     err.msg);
	expect_fake_image(&img, 1, 2);
	mxc_image_finish(&img);
}

/* Without the seals the server's ftruncate would make the capture die of SIGBUS. */
Test(hostile, the_server_cannot_shrink_the_shm_segment)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};

	f.shm = SHM_SHRINK_FIRST;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert(mxc_display_uses_shm(display));
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	expect_fake_image(&img, 0, 0);
	mxc_image_finish(&img);
}

Test(hostile, a_wrong_shm_size_is_refused)
{
	struct fake f = good_fake;

	f.shm = SHM_WRONG_SIZE;
	expect_capture_refused(&f, -EPROTO, "invalid MIT-SHM GetImage reply");
}

Test(hostile, a_refused_shm_request_falls_back_to_getimage)
{
	struct fake f = good_fake;
	struct mxc_image img = {0};
	struct mxc_error err = {0};

	f.shm = SHM_REFUSE;
	cr_assert_eq(connect_fake(&f, &err), 0, "%s", err.msg);
	cr_assert(mxc_display_uses_shm(display));
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	cr_expect_not(mxc_display_uses_shm(display));
	expect_fake_image(&img, 0, 0);
	mxc_image_finish(&img);
}
