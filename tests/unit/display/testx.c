/* Test helpers for display/: private namespaces, real Xvfb servers, a drawing client. */
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "display.h"
#include "testx.h"

int testx_isolate(void)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0)
		return -errno;
	/* Our mounts must not propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mkdir("/tmp/.X11-unix", 01777) < 0 && errno != EEXIST)
		return -errno;
	if (mount("tmpfs", "/tmp/.X11-unix", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=1777,size=1m") < 0)
		return -errno;
	return 0;
}

void testx_init(struct testx_server *s)
{
	*s = (struct testx_server){.pid = 0, .auth_fd = -1};
}

int testx_spawn(char *const *argv, int ready_fd, int ready_read, int timeout_ms, pid_t *ret_pid,
		unsigned *ret_number)
{
	pid_t parent = getpid(), pid;
	char buf[32];
	size_t got = 0;
	uint64_t deadline;
	uint64_t number;
	int r;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (!getenv("MXC_TEST_VERBOSE"))
				dup2(null, 2);
		}
		/* The readiness pipe is the one descriptor the server keeps. */
		fcntl(ready_fd, F_SETFD, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	close(ready_fd);

	deadline = mxc_now_mono_ns() + (uint64_t)timeout_ms * 1000000;
	for (;;) {
		struct pollfd pfd = {.fd = ready_read, .events = POLLIN};
		uint64_t now = mxc_now_mono_ns();
		ssize_t n;

		if (memchr(buf, '\n', got))
			break;
		if (now >= deadline || got == sizeof(buf) - 1) {
			r = -ETIMEDOUT;
			goto fail;
		}
		r = poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1);
		if (r < 0 && errno != EINTR) {
			r = -errno;
			goto fail;
		}
		if (r <= 0)
			continue;
		n = read(ready_read, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			r = -errno;
			goto fail;
		}
		if (n == 0) { /* the server exited without becoming ready */
			r = -ECHILD;
			goto fail;
		}
		if (n > 0)
			got += (size_t)n;
	}
	buf[got] = '\0';
	*strchr(buf, '\n') = '\0';
	r = mxc_parse_u64(buf, MXC_DISPLAY_MAX_NUMBER, &number);
	if (r < 0)
		goto fail;
	*ret_pid = pid;
	*ret_number = (unsigned)number;
	return 0;

fail:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return r;
}

int testx_start(struct testx_server *s, unsigned number, uint32_t width, uint32_t height,
		uint32_t depth)
{
	const struct mxc_display_config cfg = {
	    .backend = MXC_DISPLAY_XVFB, .width = width, .height = height, .depth = depth};
	struct mxc_error err = {0};
	char **argv = NULL;
	int pipefd[2] = {-1, -1};
	unsigned got;
	int r;

	s->auth_fd = memfd_create("mxc-test-xauth", MFD_CLOEXEC);
	if (s->auth_fd < 0)
		return -errno;
	if (getrandom(s->cookie, sizeof(s->cookie), 0) != sizeof(s->cookie))
		return -EIO;
	r = mxc_xauth_write(s->auth_fd, number, s->cookie, &err);
	if (r < 0)
		return r;
	snprintf(s->auth_path, sizeof(s->auth_path), "/proc/%d/fd/%d", (int)getpid(), s->auth_fd);

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	r = mxc_xvfb_argv(&cfg, number, pipefd[1], s->auth_path, &argv, &err);
	if (r < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	r = testx_spawn(argv, pipefd[1], pipefd[0], 10000, &s->pid, &got);
	close(pipefd[0]);
	mxc_strv_free(argv);
	if (r < 0)
		return r;
	if (got != number)
		return -EPROTO;
	s->number = number;
	snprintf(s->display, sizeof(s->display), ":%u", number);
	s->width = width;
	s->height = height;
	s->depth = depth;
	return 0;
}

void testx_use(const struct testx_server *s)
{
	setenv("DISPLAY", s->display, 1);
	setenv("XAUTHORITY", s->auth_path, 1);
}

void testx_stop(struct testx_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	s->auth_fd = mxc_close(s->auth_fd);
}

int testx_client_connect(struct testx_client *c, const char *display)
{
	uint32_t values[1] = {0};
	int screen = 0;

	*c = (struct testx_client){0};
	c->conn = xcb_connect(display, &screen);
	if (xcb_connection_has_error(c->conn)) {
		xcb_disconnect(c->conn);
		c->conn = NULL;
		return -ECONNREFUSED;
	}
	/* Our own Xvfb: its setup can be trusted. */
	c->screen = xcb_setup_roots_iterator(xcb_get_setup(c->conn)).data;
	c->depth = c->screen->root_depth;
	c->gc = xcb_generate_id(c->conn);
	xcb_create_gc(c->conn, c->gc, c->screen->root, XCB_GC_GRAPHICS_EXPOSURES, values);
	return testx_sync(c);
}

void testx_client_close(struct testx_client *c)
{
	if (c->conn)
		xcb_disconnect(c->conn);
	c->conn = NULL;
}

uint32_t testx_pixel(uint32_t depth, uint32_t rgb)
{
	uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;

	if (depth == 16)
		return (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
	return rgb & 0xffffff;
}

uint32_t testx_expected_rgb(uint32_t depth, uint32_t pixel)
{
	if (depth == 16) {
		uint32_t r = (pixel >> 11) & 0x1f, g = (pixel >> 5) & 0x3f, b = pixel & 0x1f;

		return (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
	}
	return pixel & 0xffffff;
}

void testx_fill(struct testx_client *c, uint32_t pixel, int16_t x, int16_t y, uint16_t w,
		uint16_t h)
{
	xcb_rectangle_t rect = {x, y, w, h};

	xcb_change_gc(c->conn, c->gc, XCB_GC_FOREGROUND, &pixel);
	xcb_poly_fill_rectangle(c->conn, c->screen->root, c->gc, 1, &rect);
}

static unsigned bits_per_pixel(struct testx_client *c)
{
	xcb_format_iterator_t it = xcb_setup_pixmap_formats_iterator(xcb_get_setup(c->conn));

	for (; it.rem; xcb_format_next(&it))
		if (it.data->depth == c->depth)
			return it.data->bits_per_pixel;
	return 0;
}

int testx_put_pixels(struct testx_client *c, int16_t x, int16_t y, uint16_t w, uint16_t h,
		     const uint32_t *pixels)
{
	unsigned bpp = bits_per_pixel(c);
	size_t row_bytes = ((size_t)w * bpp + 31) / 32 * 4;
	uint16_t rows_per_chunk;
	uint8_t *buf;

	if (bpp != 16 && bpp != 32)
		return -EOPNOTSUPP;
	/* Stay under the core protocol's request size (256 KiB) without BIG-REQUESTS. */
	rows_per_chunk = (uint16_t)(200000 / row_bytes);
	if (rows_per_chunk == 0)
		return -E2BIG;
	buf = calloc(rows_per_chunk, row_bytes);
	if (!buf)
		return -ENOMEM;
	for (uint16_t y0 = 0; y0 < h; y0 += rows_per_chunk) {
		uint16_t n = (uint16_t)(h - y0 < rows_per_chunk ? h - y0 : rows_per_chunk);

		for (uint16_t j = 0; j < n; j++) {
			uint8_t *row = buf + j * row_bytes;

			for (uint16_t i = 0; i < w; i++) {
				uint32_t p = pixels[(size_t)(y0 + j) * w + i];

				if (bpp == 32) {
					row[i * 4 + 0] = (uint8_t)p;
					row[i * 4 + 1] = (uint8_t)(p >> 8);
					row[i * 4 + 2] = (uint8_t)(p >> 16);
					row[i * 4 + 3] = 0;
				} else {
					row[i * 2 + 0] = (uint8_t)p;
					row[i * 2 + 1] = (uint8_t)(p >> 8);
				}
			}
		}
		xcb_put_image(c->conn, XCB_IMAGE_FORMAT_Z_PIXMAP, c->screen->root, c->gc, w, n, x,
			      (int16_t)(y + y0), 0, (uint8_t)c->depth, (uint32_t)(row_bytes * n),
			      buf);
	}
	free(buf);
	return 0;
}

int testx_sync(struct testx_client *c)
{
	xcb_generic_error_t *e = NULL;
	xcb_get_input_focus_reply_t *reply =
	    xcb_get_input_focus_reply(c->conn, xcb_get_input_focus(c->conn), &e);

	if (!reply) {
		free(e);
		return -EIO;
	}
	free(reply);
	return 0;
}

uint32_t testx_rgb_at(const uint8_t *data, uint32_t stride, uint32_t x, uint32_t y)
{
	const uint8_t *p = data + (size_t)y * stride + (size_t)x * 3;

	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* A small deterministic generator (xorshift32) for noise and text. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static const char *const code_lines[] = {
    "static int capture_shm(struct mxc_display *d, uint32_t x, uint32_t y)",
    "{",
    "        size_t stride = mxc_pixel_stride(&d->format, w), need = stride * h;",
    "        xcb_shm_get_image_cookie_t cookie;",
    "        if (need > d->shm_size)",
    "                return 1;",
    "        r = mxc_display_wait_reply(d, cookie.sequence, &reply, &xerr, err);",
    "        /* The data length comes from the reply's length field. */",
    "        for (uint32_t y = 0; y < h; y++)",
    "                row(src + y * src_stride, w, dst + (size_t)y * w * 3);",
    "}",
    "",
    "$ ls -la /run/mxc/sessions/ab12",
    "drwx------  3 agent-coder agent-coder  120 Nov 22 09:55 .",
    "srwxrwxrwx  1 agent-coder agent-coder    0 Nov 22 09:55 X0",
    "$ make -j8 && ./test-display --verbose",
    "[====] Synthesis: Tested: 42 | Passing: 42 | Failing: 0 | Crashing: 0",
    "    def screenshot(self, region=None):",
    "        return self._session.request('screenshot', region=region)",
    "Compiling display/capture.c ... ok (0.41 s)",
};

static void draw_text(struct testx_client *c, xcb_font_t font, uint32_t fg, uint32_t bg, int16_t x,
		      int16_t y, uint16_t w, uint16_t h, uint32_t seed)
{
	uint32_t values[3] = {fg, bg, font};
	uint32_t state = seed;

	xcb_change_gc(c->conn, c->gc, XCB_GC_FOREGROUND | XCB_GC_BACKGROUND | XCB_GC_FONT, values);
	/* "fixed" is 6x13: baseline 10 pixels below the top of a 13 pixel line. */
	for (int line = 0; (line + 1) * 13 <= h; line++) {
		const char *text = code_lines[next_random(&state) % MXC_ARRAY_SIZE(code_lines)];
		size_t len = strlen(text);
		size_t max = w / 6;

		if (len > max)
			len = max;
		if (len > 255)
			len = 255;
		if (len)
			xcb_image_text_8(c->conn, (uint8_t)len, c->screen->root, c->gc, x,
					 (int16_t)(y + line * 13 + 10), text);
	}
}

static void draw_window(struct testx_client *c, int16_t x, int16_t y, uint16_t w, uint16_t h,
			uint32_t body)
{
	uint32_t d = c->depth;

	testx_fill(c, testx_pixel(d, 0x101010), (int16_t)(x - 1), (int16_t)(y - 1),
		   (uint16_t)(w + 2), (uint16_t)(h + 2));
	testx_fill(c, testx_pixel(d, 0x3b4252), x, y, w, 24);
	testx_fill(c, testx_pixel(d, 0xbf616a), (int16_t)(x + w - 20), (int16_t)(y + 6), 12, 12);
	testx_fill(c, testx_pixel(d, 0xebcb8b), (int16_t)(x + w - 38), (int16_t)(y + 6), 12, 12);
	testx_fill(c, testx_pixel(d, 0xa3be8c), (int16_t)(x + w - 56), (int16_t)(y + 6), 12, 12);
	testx_fill(c, testx_pixel(d, body), x, (int16_t)(y + 24), w, (uint16_t)(h - 24));
}

/* Sky, hills and noise like a camera's: hard for deflate, as photos are. */
static int draw_photo(struct testx_client *c, int16_t x, int16_t y, uint16_t w, uint16_t h)
{
	uint32_t *px = malloc((size_t)w * h * sizeof(*px));
	uint32_t state = 0x12345678;
	int r;

	if (!px)
		return -ENOMEM;
	for (uint16_t j = 0; j < h; j++) {
		for (uint16_t i = 0; i < w; i++) {
			double u = (double)i / w, v = (double)j / h;
			double hill = 0.55 + 0.12 * sin(u * 9.0) + 0.05 * sin(u * 23.0 + 1.0);
			int rr, gg, bb, n = (int)(next_random(&state) % 13) - 6;

			if (v < hill) {
				rr = (int)(90 + 100 * v);
				gg = (int)(150 + 80 * v);
				bb = (int)(235 - 20 * v);
			} else {
				double shade = 0.6 + 0.4 * sin(u * 40.0 + v * 30.0);

				rr = (int)(40 + 50 * shade);
				gg = (int)(100 + 80 * shade * (1.0 - v));
				bb = (int)(30 + 30 * shade);
			}
			rr += n;
			gg += n;
			bb += n;
			rr = rr < 0 ? 0 : rr > 255 ? 255 : rr;
			gg = gg < 0 ? 0 : gg > 255 ? 255 : gg;
			bb = bb < 0 ? 0 : bb > 255 ? 255 : bb;
			px[(size_t)j * w + i] =
			    testx_pixel(c->depth, (uint32_t)(rr << 16 | gg << 8 | bb));
		}
	}
	r = testx_put_pixels(c, x, y, w, h, px);
	free(px);
	return r;
}

int testx_draw_desktop(struct testx_client *c)
{
	uint16_t W = c->screen->width_in_pixels, H = c->screen->height_in_pixels;
	uint32_t d = c->depth;
	xcb_font_t font = xcb_generate_id(c->conn);
	int r;

	xcb_open_font(c->conn, font, 5, "fixed");
	testx_fill(c, testx_pixel(d, 0x2e3440), 0, 0, W, H);

	/* Terminal. */
	draw_window(c, 30, 30, (uint16_t)(W * 45 / 100), (uint16_t)(H * 55 / 100), 0x1d1f21);
	draw_text(c, font, testx_pixel(d, 0xc5c8c6), testx_pixel(d, 0x1d1f21), 36, 58,
		  (uint16_t)(W * 45 / 100 - 12), (uint16_t)(H * 55 / 100 - 30), 1);

	/* Editor: gutter and text on white. */
	{
		int16_t x = (int16_t)(W * 42 / 100), y = (int16_t)(H * 12 / 100);
		uint16_t w = (uint16_t)(W * 55 / 100), h = (uint16_t)(H * 62 / 100);

		draw_window(c, x, y, w, h, 0xffffff);
		testx_fill(c, testx_pixel(d, 0xeceff4), x, (int16_t)(y + 24), 40,
			   (uint16_t)(h - 24));
		draw_text(c, font, testx_pixel(d, 0x2e3440), testx_pixel(d, 0xffffff),
			  (int16_t)(x + 46), (int16_t)(y + 28), (uint16_t)(w - 52),
			  (uint16_t)(h - 32), 2);
		draw_text(c, font, testx_pixel(d, 0x4c566a), testx_pixel(d, 0xeceff4),
			  (int16_t)(x + 4), (int16_t)(y + 28), 36, (uint16_t)(h - 32), 3);
	}

	/* Photo viewer. */
	{
		int16_t x = (int16_t)(W * 22 / 100), y = (int16_t)(H * 48 / 100);
		uint16_t w = (uint16_t)(W * 42 / 100), h = (uint16_t)(H * 42 / 100);

		draw_window(c, x, y, w, h, 0x202020);
		r = draw_photo(c, (int16_t)(x + 8), (int16_t)(y + 32), (uint16_t)(w - 16),
			       (uint16_t)(h - 40));
		if (r < 0)
			return r;
	}

	/* Task bar with a few icons. */
	testx_fill(c, testx_pixel(d, 0x1f2329), 0, (int16_t)(H - 32), W, 32);
	for (int i = 0; i < 8; i++)
		testx_fill(c, testx_pixel(d, 0x5e81ac + (uint32_t)i * 0x0a0a00),
			   (int16_t)(8 + i * 36), (int16_t)(H - 26), 24, 20);
	xcb_close_font(c->conn, font);
	return testx_sync(c);
}
