/*
 * Screen capture against a real Xvfb: exact colours everywhere on the screen, with MIT-SHM and
 * with GetImage, whole screen and regions, at depth 24 and 16; the server dying or hanging.
 *
 * Each test draws a scene with core requests and keeps a model of the framebuffer (the pixel
 * value of every point), then compares every captured pixel to the model.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "display.h"
#include "testx.h"

static struct testx_server server;
static struct testx_client client;
static struct mxc_display *display;

static void setup(void)
{
	testx_init(&server);
	client = (struct testx_client){0};
	display = NULL;
	unsetenv(MXC_DISPLAY_NO_SHM_ENV);
	cr_assert_eq(testx_isolate(), 0, "failed to make private namespaces (tests run as root)");
}

/* Runs after every test, even one whose assertion failed: nothing may outlive it. */
static void teardown(void)
{
	mxc_display_destroy(display);
	testx_client_close(&client);
	testx_stop(&server);
}

TestSuite(capture, .init = setup, .fini = teardown, .timeout = 60);

struct scene {
	uint32_t width, height, depth;
	uint32_t *model; /* pixel values */
};

static void scene_fill(struct scene *s, uint32_t rgb, uint32_t x, uint32_t y, uint32_t w,
		       uint32_t h)
{
	uint32_t pixel = testx_pixel(s->depth, rgb);

	testx_fill(&client, pixel, (int16_t)x, (int16_t)y, (uint16_t)w, (uint16_t)h);
	for (uint32_t j = y; j < y + h; j++)
		for (uint32_t i = x; i < x + w; i++)
			s->model[(size_t)j * s->width + i] = pixel;
}

static void scene_noise(struct scene *s, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
			uint32_t seed)
{
	uint32_t *px = malloc((size_t)w * h * sizeof(*px));
	uint32_t mask = s->depth == 16 ? 0xffff : 0xffffff;

	cr_assert_not_null(px);
	for (size_t i = 0; i < (size_t)w * h; i++) {
		seed = seed * 1103515245 + 12345;
		px[i] = (seed >> 5) & mask;
	}
	cr_assert_eq(
	    testx_put_pixels(&client, (int16_t)x, (int16_t)y, (uint16_t)w, (uint16_t)h, px), 0);
	for (uint32_t j = 0; j < h; j++)
		for (uint32_t i = 0; i < w; i++)
			s->model[(size_t)(y + j) * s->width + x + i] = px[(size_t)j * w + i];
	free(px);
}

/*
 * Several colours, 1-pixel features on every edge and corner, a pixel whose low bits matter,
 * and a block of random pixel values (every value of every channel gets exercised).
 */
static void scene_draw(struct scene *s)
{
	uint32_t W = s->width, H = s->height;

	s->model = calloc((size_t)W * H, sizeof(*s->model));
	cr_assert_not_null(s->model);
	scene_fill(s, 0x102030, 0, 0, W, H);
	scene_fill(s, 0xff0000, 10, 10, 50, 40);
	scene_fill(s, 0x00ff00, 100, 50, 30, 30);
	scene_fill(s, 0x0000ff, 200, 100, 1, 1);
	scene_fill(s, 0xffffff, 300, 200, 17, 3);
	scene_fill(s, 0x123456, W - 60, H - 50, 40, 30);
	scene_fill(s, 0xfedcba, 5, H - 40, 25, 20);
	scene_fill(s, 0x010203, W / 2, H / 2, 1, 1);
	/* Corners. */
	scene_fill(s, 0xff00ff, 0, 0, 1, 1);
	scene_fill(s, 0x00ffff, W - 1, 0, 1, 1);
	scene_fill(s, 0xffff00, 0, H - 1, 1, 1);
	scene_fill(s, 0x808080, W - 1, H - 1, 1, 1);
	/* One-pixel lines along each edge. */
	scene_fill(s, 0x7f3f1f, W - 1, 100, 1, 100);
	scene_fill(s, 0x1f7f3f, 100, H - 1, 100, 1);
	scene_fill(s, 0x3f1f7f, 0, 150, 1, 80);
	scene_fill(s, 0xc0ffee, 150, 0, 90, 1);
	scene_noise(s, 400, 300, 97, 61, 42);
	cr_assert_eq(testx_sync(&client), 0);
}

/* Compares img, captured at (x0, y0), with the model: every pixel. */
static void expect_matches(const struct scene *s, const struct mxc_image *img, uint32_t x0,
			   uint32_t y0)
{
	size_t mismatches = 0;
	uint32_t fx = 0, fy = 0, got = 0, want = 0;

	cr_assert_not_null(img->data);
	cr_assert_eq(img->stride, img->width * 3);
	for (uint32_t y = 0; y < img->height; y++) {
		for (uint32_t x = 0; x < img->width; x++) {
			uint32_t g = testx_rgb_at(img->data, img->stride, x, y);
			uint32_t w = testx_expected_rgb(
			    s->depth, s->model[(size_t)(y0 + y) * s->width + x0 + x]);

			if (g != w && mismatches++ == 0) {
				fx = x0 + x;
				fy = y0 + y;
				got = g;
				want = w;
			}
		}
	}
	cr_expect_eq(mismatches, 0,
		     "%zu of %ux%u pixels differ; first at (%u, %u): got %06x, expected %06x",
		     mismatches, img->width, img->height, fx, fy, got, want);
}

enum mode { MODE_SHM, MODE_GETIMAGE_ENV, MODE_GETIMAGE_FLAG };

static void start(struct scene *s, uint32_t w, uint32_t h, uint32_t depth, enum mode mode)
{
	struct mxc_error err = {0};

	cr_assert_eq(testx_start(&server, 1, w, h, depth), 0, "Xvfb did not start");
	testx_use(&server);
	cr_assert_eq(testx_client_connect(&client, server.display), 0);
	cr_assert_eq(client.depth, depth);
	*s = (struct scene){.width = w, .height = h, .depth = depth};
	scene_draw(s);

	if (mode == MODE_GETIMAGE_ENV)
		setenv(MXC_DISPLAY_NO_SHM_ENV, "1", 1);
	cr_assert_eq(mxc_display_connect(NULL, &display, &err), 0, "%s", err.msg);
	if (mode == MODE_GETIMAGE_FLAG) {
		cr_assert(mxc_display_uses_shm(display), "Xvfb offers MIT-SHM 1.2");
		mxc_display_disable_shm(display);
	}
	cr_assert_eq(mxc_display_uses_shm(display), mode == MODE_SHM);
	cr_assert_eq(mxc_display_depth(display), depth);
}

static void check_full_screen(uint32_t w, uint32_t h, uint32_t depth, enum mode mode)
{
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	struct scene s;

	start(&s, w, h, depth, mode);
	cr_assert_eq(mxc_display_capture(display, &img, &err), 0, "%s", err.msg);
	cr_assert_eq(img.width, w);
	cr_assert_eq(img.height, h);
	/* A few named spots first, for a readable failure. */
	if (depth == 24) {
		cr_expect_eq(testx_rgb_at(img.data, img.stride, 10, 10), 0xff0000);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, 59, 49), 0xff0000);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, 60, 49), 0x102030);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, 200, 100), 0x0000ff);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, w / 2, h / 2), 0x010203);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, w - 60, h - 50), 0x123456);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, w - 1, h - 1), 0x808080);
	} else {
		/* RGB565 widened by bit replication: 31 -> 255, 2 -> 0x10, 55 -> 0xdf, 16 -> 0x84.
		 */
		cr_expect_eq(testx_rgb_at(img.data, img.stride, 10, 10), 0xff0000);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, w - 60, h - 50), 0x103452);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, 5, h - 40), 0xffdfbd);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, w / 2, h / 2), 0x000000);
		cr_expect_eq(testx_rgb_at(img.data, img.stride, w - 1, h - 1), 0x848284);
	}
	cr_expect_eq(testx_rgb_at(img.data, img.stride, 0, 0), 0xff00ff);
	cr_expect_eq(testx_rgb_at(img.data, img.stride, w - 1, 0), 0x00ffff);
	cr_expect_eq(testx_rgb_at(img.data, img.stride, 0, h - 1), 0xffff00);
	expect_matches(&s, &img, 0, 0);
	mxc_image_finish(&img);
	cr_expect_null(img.data);
	free(s.model);
}

static void check_regions(uint32_t w, uint32_t h, uint32_t depth, enum mode mode)
{
	const uint32_t regions[][4] = {
	    {0, 0, 1, 1},   {w - 1, h - 1, 1, 1}, {w - 1, 0, 1, h},   {0, h - 1, w, 1},
	    {7, 9, 33, 17}, {399, 299, 99, 63},	  {w - 33, 0, 33, h}, {1, 1, w - 2, h - 2},
	    {0, 0, w, h},   {w / 2, h / 2, 1, 1},
	};
	struct scene s;

	start(&s, w, h, depth, mode);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(regions); i++) {
		const uint32_t *r = regions[i];
		struct mxc_image img = {0};
		struct mxc_error err = {0};

		cr_assert_eq(
		    mxc_display_capture_region(display, r[0], r[1], r[2], r[3], &img, &err), 0,
		    "region %zu: %s", i, err.msg);
		cr_assert_eq(img.width, r[2]);
		cr_assert_eq(img.height, r[3]);
		expect_matches(&s, &img, r[0], r[1]);
		mxc_image_finish(&img);
	}
	cr_expect_eq(mxc_display_uses_shm(display), mode == MODE_SHM,
		     "the capture path changed on its own");
	free(s.model);
}

Test(capture, depth24_shm_full_screen_is_exact)
{
	check_full_screen(640, 480, 24, MODE_SHM);
}

Test(capture, depth24_getimage_full_screen_is_exact)
{
	check_full_screen(640, 480, 24, MODE_GETIMAGE_ENV);
}

Test(capture, depth24_shm_regions_are_exact)
{
	check_regions(640, 480, 24, MODE_SHM);
}

Test(capture, depth24_getimage_regions_are_exact)
{
	check_regions(640, 480, 24, MODE_GETIMAGE_FLAG);
}

/* An odd width: 16 bpp rows are then padded to 4 bytes by the server. */
Test(capture, depth16_shm_full_screen_is_exact)
{
	check_full_screen(641, 401, 16, MODE_SHM);
}

Test(capture, depth16_getimage_full_screen_is_exact)
{
	check_full_screen(641, 401, 16, MODE_GETIMAGE_FLAG);
}

Test(capture, depth16_shm_regions_are_exact)
{
	check_regions(641, 401, 16, MODE_SHM);
}

Test(capture, depth16_getimage_regions_are_exact)
{
	check_regions(641, 401, 16, MODE_GETIMAGE_ENV);
}

Test(capture, sees_what_changed_since_the_last_capture)
{
	struct mxc_image a = {0}, b = {0};
	struct scene s;

	start(&s, 640, 480, 24, MODE_SHM);
	cr_assert_eq(mxc_display_capture(display, &a, NULL), 0);
	scene_fill(&s, 0x445566, 20, 20, 300, 200);
	cr_assert_eq(testx_sync(&client), 0);
	cr_assert_eq(mxc_display_capture(display, &b, NULL), 0);
	cr_expect_eq(testx_rgb_at(a.data, a.stride, 20, 20), 0xff0000);
	cr_expect_eq(testx_rgb_at(b.data, b.stride, 20, 20), 0x445566);
	expect_matches(&s, &b, 0, 0);
	mxc_image_finish(&a);
	mxc_image_finish(&b);
	free(s.model);
}

/* Counts this process's mappings of the capture memfd. */
static int shm_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "memfd:mxc-display-capture"))
			n++;
	fclose(f);
	return n;
}

Test(capture, shm_segment_is_made_once_per_connection)
{
	struct scene s;

	start(&s, 640, 480, 24, MODE_SHM);
	cr_expect_eq(shm_mappings(), 1);
	for (int i = 0; i < 20; i++) {
		struct mxc_image img = {0};

		cr_assert_eq(
		    mxc_display_capture_region(display, (uint32_t)i, 0, 100, 100, &img, NULL), 0);
		mxc_image_finish(&img);
	}
	cr_expect_eq(shm_mappings(), 1);
	mxc_display_destroy(display);
	display = NULL;
	cr_expect_eq(shm_mappings(), 0, "the segment outlived its connection");
	free(s.model);
}

Test(capture, regions_outside_the_screen_are_refused)
{
	const uint32_t bad[][4] = {
	    {640, 0, 1, 1},	   {0, 480, 1, 1},	  {0, 0, 0, 1},		 {0, 0, 1, 0},
	    {0, 0, 641, 1},	   {0, 0, 1, 481},	  {639, 0, 2, 1},	 {0, 479, 1, 2},
	    {UINT32_MAX, 0, 2, 1}, {1, 0, UINT32_MAX, 1}, {0, 1, 1, UINT32_MAX},
	};
	struct scene s;

	start(&s, 640, 480, 24, MODE_SHM);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++) {
		struct mxc_image img = {0};
		struct mxc_error err = {0};

		cr_expect_eq(mxc_display_capture_region(display, bad[i][0], bad[i][1], bad[i][2],
							bad[i][3], &img, &err),
			     -EINVAL, "region %zu", i);
		cr_expect_null(img.data);
		cr_expect(strstr(err.msg, "is not inside the 640x480 screen"), "%s", err.msg);
	}
	free(s.model);
}

static void check_server_death(enum mode mode)
{
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	struct pollfd pfd;
	sigset_t pending, mask;
	struct scene s;
	int r;

	/* The test runner may ignore or block SIGPIPE; a daemon's helper may not. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	start(&s, 640, 480, 24, mode);
	cr_assert_eq(mxc_display_capture(display, &img, NULL), 0);
	mxc_image_finish(&img);

	testx_client_close(&client);
	kill(server.pid, SIGKILL);
	waitpid(server.pid, NULL, 0);
	server.pid = 0;

	/* The descriptor tells that the server is gone. */
	pfd = (struct pollfd){.fd = mxc_display_get_fd(display), .events = POLLIN};
	cr_expect_eq(poll(&pfd, 1, 1000), 1);
	cr_expect(pfd.revents & (POLLIN | POLLHUP));

	/*
	 * A clean error, twice. (xcb sees the hang-up in poll before it writes, so SIGPIPE
	 * is not at stake here; test-hostile.c makes a server that does raise it.)
	 */
	for (int i = 0; i < 2; i++) {
		r = mxc_display_capture(display, &img, &err);
		cr_expect_lt(r, 0);
		cr_expect(r == -ECONNRESET || r == -EIO, "got %d: %s", r, err.msg);
		cr_expect_null(img.data);
		cr_expect(strstr(err.msg, "failed to capture display ':1'"), "%s", err.msg);
	}
	cr_expect(strstr(err.msg, "lost the connection"), "%s", err.msg);
	sigpending(&pending);
	cr_expect_eq(sigismember(&pending, SIGPIPE), 0, "a SIGPIPE was left pending");
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	cr_expect_eq(sigismember(&mask, SIGPIPE), 0, "SIGPIPE was left blocked");
	free(s.model);
}

Test(capture, server_death_gives_a_clean_error_with_shm)
{
	check_server_death(MODE_SHM);
}

Test(capture, server_death_gives_a_clean_error_with_getimage)
{
	check_server_death(MODE_GETIMAGE_FLAG);
}

Test(capture, a_server_that_stops_answering_times_out)
{
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	uint64_t t0, elapsed_ms;
	struct scene s;

	start(&s, 640, 480, 24, MODE_SHM);
	mxc_display_set_timeout(display, 300);
	cr_assert_eq(kill(server.pid, SIGSTOP), 0);

	t0 = mxc_now_mono_ns();
	cr_expect_eq(mxc_display_capture(display, &img, &err), -ETIMEDOUT, "%s", err.msg);
	elapsed_ms = (mxc_now_mono_ns() - t0) / 1000000;
	cr_expect_geq(elapsed_ms, 290);
	cr_expect_lt(elapsed_ms, 3000);
	cr_expect(strstr(err.msg, "no answer from the server within 300 ms"), "%s", err.msg);

	/* The late reply could be mistaken for another: the connection is done. */
	kill(server.pid, SIGCONT);
	cr_expect_eq(mxc_display_capture(display, &img, &err), -EIO);
	cr_expect(strstr(err.msg, "reconnect"), "%s", err.msg);
	cr_expect_null(img.data);
	free(s.model);
}
