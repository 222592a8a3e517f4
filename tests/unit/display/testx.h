/*
 * Test helpers for display/: a private X world (namespaces), real Xvfb servers started with
 * mxc_xvfb_argv, and a plain xcb client that draws known content.
 *
 * Nothing here asserts: functions return 0 or a negative errno so that the benchmark can use
 * them too; tests wrap them in cr_assert.
 */
#ifndef MXC_TESTS_DISPLAY_TESTX_H
#define MXC_TESTS_DISPLAY_TESTX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <xcb/xcb.h>

/*
 * Moves the calling process into its own mount and network namespaces with an empty tmpfs on
 * /tmp/.X11-unix. Display numbers and sockets are then private: Xvfb with -displayfd neither
 * locks its display number nor refuses to replace another server's socket, so sharing the
 * host's /tmp/.X11-unix with other test runs would let servers steal each other's displays.
 * The network namespace hides abstract sockets (which xcb tries first) for the same reason.
 * Everything vanishes with the process. Needs root (tests run as root). Creates the host's
 * /tmp/.X11-unix (mode 1777, as any X server would) only if it is missing.
 */
int testx_isolate(void);

struct testx_server {
	pid_t pid;
	unsigned number;
	char display[16];   /* ":N" */
	int auth_fd;	    /* memfd with the Xauthority entry: nothing on disk to leave behind */
	char auth_path[64]; /* /proc/<pid>/fd/<auth_fd> */
	uint8_t cookie[16];
	uint32_t width, height, depth;
};

/* Zeroes s so that testx_stop is safe before any start. */
void testx_init(struct testx_server *s);

/*
 * Creates s's Xauthority memfd with a random cookie (mxc_xauth_write) and starts
 * mxc_xvfb_argv's command line for display :number, waiting (10 s at most) for -displayfd.
 * The server dies with the calling thread (PR_SET_PDEATHSIG) if testx_stop never runs.
 */
int testx_start(struct testx_server *s, unsigned number, uint32_t width, uint32_t height,
		uint32_t depth);

/* Sets DISPLAY and XAUTHORITY to s's. */
void testx_use(const struct testx_server *s);

/* Kills (SIGKILL) and reaps the server, closes the auth memfd. Safe to call twice. */
void testx_stop(struct testx_server *s);

/*
 * Runs argv (execv) with ready_fd kept open in the child, its output to /dev/null (stderr
 * kept when MXC_TEST_VERBOSE is set), dying with the calling thread; reads the -displayfd line
 * from ready_read within timeout_ms. ready_fd is closed in the parent.
 */
int testx_spawn(char *const *argv, int ready_fd, int ready_read, int timeout_ms, pid_t *ret_pid,
		unsigned *ret_number);

/* A plain xcb client that draws on the root window. */
struct testx_client {
	xcb_connection_t *conn;
	xcb_screen_t *screen;
	xcb_gcontext_t gc;
	uint32_t depth;
};

int testx_client_connect(struct testx_client *c, const char *display);
void testx_client_close(struct testx_client *c);

/* The pixel value for an 0xRRGGBB colour at depth 24 (exact) or 16 (top bits, RGB565). */
uint32_t testx_pixel(uint32_t depth, uint32_t rgb);
/* What a capture must return for a pixel value: 0xRRGGBB (565 widened by bit replication). */
uint32_t testx_expected_rgb(uint32_t depth, uint32_t pixel);

void testx_fill(struct testx_client *c, uint32_t pixel, int16_t x, int16_t y, uint16_t w,
		uint16_t h);
/* Puts w x h pixel values (row-major uint32_t, one per pixel) at (x, y) as a Z-pixmap. */
int testx_put_pixels(struct testx_client *c, int16_t x, int16_t y, uint16_t w, uint16_t h,
		     const uint32_t *pixels);
/* A round trip, so that everything drawn so far is on the screen. */
int testx_sync(struct testx_client *c);

/*
 * Draws a realistic desktop on the whole screen: flat background, windows with title bars,
 * terminal and editor text in the server's "fixed" font, and a photo-like window (smooth
 * gradients with sensor-like noise). Deterministic.
 */
int testx_draw_desktop(struct testx_client *c);

/* Reads RGB at (x, y) of a packed RGB image as 0xRRGGBB. */
uint32_t testx_rgb_at(const uint8_t *data, uint32_t stride, uint32_t x, uint32_t y);

#endif
