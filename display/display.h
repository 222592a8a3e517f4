/*
 * Headless displays: the display server's command line and authorization file for a session,
 * a client connection to a display, screen capture and PNG encoding.
 *
 * Trust: the display server runs as the agent, so the agent can replace it with any program that
 * speaks X11. Everything a server sends (its setup, every reply, the contents of shared memory)
 * is treated as hostile: sizes are checked against what was asked for, pixel formats are checked
 * against the few this module converts, and a server that stops answering produces -ETIMEDOUT
 * rather than a hang (with the exceptions listed at mxc_display_connect).
 *
 * A struct mxc_display is not thread-safe; use one per thread.
 */
#ifndef MXC_DISPLAY_DISPLAY_H
#define MXC_DISPLAY_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum mxc_display_backend {
	MXC_DISPLAY_XVFB,
	MXC_DISPLAY_WLROOTS,
};

/* Accepted screen sizes for a session (mxc_display_config_check). */
#define MXC_DISPLAY_MIN_WIDTH  320
#define MXC_DISPLAY_MAX_WIDTH  7680
#define MXC_DISPLAY_MIN_HEIGHT 200
#define MXC_DISPLAY_MAX_HEIGHT 4320

/*
 * The largest screen side this module will connect to or encode. Above the session maximum so
 * that tools can look at a developer's desktop, and small enough that every byte count fits
 * comfortably in 32 bits (16384 * 16384 * 4 = 1 GiB), which the reply checks rely on.
 */
#define MXC_DISPLAY_MAX_SIDE 16384

/* Largest X display number accepted (the X TCP port 6000 + N must stay a valid port). */
#define MXC_DISPLAY_MAX_NUMBER 59535

/* Set to a non-empty value other than "0" to make mxc_display_connect skip MIT-SHM. */
#define MXC_DISPLAY_NO_SHM_ENV "MXC_DISPLAY_NO_SHM"

/* Default for mxc_display_set_timeout. */
#define MXC_DISPLAY_DEFAULT_TIMEOUT_MS 5000

struct mxc_display_config {
	enum mxc_display_backend backend;
	uint32_t width, height;
	uint32_t depth; /* 16 or 24 */
	/*
	 * OpenGL through GLX. Off by default: loading Mesa doubles Xvfb's start time and
	 * quadruples its memory (see docs/BENCHMARKS.md), and browsers, office suites and
	 * terminals render without it.
	 */
	bool glx;
};

/* Checks backend, size (MXC_DISPLAY_MIN/MAX_*) and depth. 0, or -EINVAL / -EOPNOTSUPP. */
int mxc_display_config_check(const struct mxc_display_config *cfg, struct mxc_error *err);

/*
 * The display server's command line for a session: /usr/bin/Xvfb as display ":<display_number>",
 * writing the display number to ready_fd once it accepts connections ("-displayfd"),
 * authorizing clients from auth_path (an absolute path), listening only on its filesystem socket
 * /tmp/.X11-unix/X<display_number>, with one screen of cfg's size and depth, plus:
 *
 *   -nopn     exit when any requested listening socket can't be made. With only the
 *             filesystem socket requested Xvfb already exits when that fails; -nopn keeps it
 *             so whatever transports a build listens on by default. The caller then sees
 *             ready_fd close without a number: a clean start failure;
 *   -noreset  don't reset the server when its last client disconnects: a reset clears the
 *             desktop's state (root properties, selections, keymap changes) and briefly refuses
 *             connections while the helper may be reconnecting; the session, not the client
 *             count, decides how long the server lives;
 *   -iglx     explicitly refuse indirect GLX (the default since xserver 1.17), the server code
 *             path with the longest CVE history, in case a build changes the default.
 *
 * Deliberately absent: -ac (never), -tst (the helper injects input through XTEST), and disabling
 * RECORD, GLX, RANDR and the like. The server is the agent's own process, so no X extension gives
 * the agent more than it has; disabling them only breaks the agent's tools (pynput listens
 * through RECORD, browsers use GLX).
 *
 * Note that with -displayfd the server takes no /tmp/.X<N>-lock and replaces an existing
 * /tmp/.X11-unix/X<N> socket: the caller must give each server its own socket directory (the
 * session's bind-mounted /tmp/.X11-unix) or pick a number nobody else uses.
 *
 * On success *ret_argv is a NULL-terminated vector for execv (free with mxc_strv_free).
 */
int mxc_xvfb_argv(const struct mxc_display_config *cfg, unsigned display_number, int ready_fd,
		  const char *auth_path, char ***ret_argv, struct mxc_error *err);

/* The absolute path used as argv[0] by mxc_xvfb_argv. */
#define MXC_XVFB_PATH "/usr/bin/Xvfb"

/*
 * Writes an Xauthority entry granting cookie (MIT-MAGIC-COOKIE-1) for display_number from any host
 * (FamilyWild) at fd's current offset, in the format libXau reads. fd stays open; the caller owns
 * the file (mode 0600, owned by whoever runs the server and its clients).
 */
int mxc_xauth_write(int fd, unsigned display_number, const uint8_t cookie[16],
		    struct mxc_error *err);

/* An image in packed 8-bit RGB, stride = width * 3. */
struct mxc_image {
	uint32_t width, height, stride;
	uint8_t *data;
};

/* Frees img's pixels and zeroes it; accepts an image that was never filled. */
void mxc_image_finish(struct mxc_image *img);

/* A client connection to a display. */
struct mxc_display;

/*
 * Connects to the display called name (NULL: $DISPLAY), authorizing with $XAUTHORITY (or
 * ~/.Xauthority) as every X client does, checks that the server's screen has a pixel format
 * this module converts (24-bit TrueColor in 32 or 24 bits per pixel, or 16-bit RGB565, least
 * significant byte first) and sets up MIT-SHM capture unless MXC_DISPLAY_NO_SHM_ENV says not to.
 *
 * Where this may block: xcb's connection setup (socket connect and the server's setup reply)
 * has no timeout, so a server that accepts the connection and never answers blocks this call;
 * the daemon must run whoever calls it (the session helper) under its own deadline, as it must
 * anyway since the agent can SIGSTOP its own helper. Every later round trip, here and in the
 * capture calls, waits in poll() with the timeout (mxc_display_set_timeout). xcb's writes could
 * block on a full socket buffer, but a capture writes a few dozen bytes and a connection that
 * timed out is never written to again.
 *
 * Errors: -EINVAL (bad or missing display name), -ECONNREFUSED (no server, or not authorized),
 * -EOPNOTSUPP (pixel format), -EPROTO (malformed setup), -ETIMEDOUT, -ENOMEM.
 */
int mxc_display_connect(const char *name, struct mxc_display **ret, struct mxc_error *err);

/*
 * Like mxc_display_connect, over an already connected stream socket, which it takes over
 * (closed by mxc_display_destroy, or at once on failure). cookie, if not NULL, is sent as
 * MIT-MAGIC-COOKIE-1 authorization. label names the display in messages.
 */
int mxc_display_connect_fd(int fd, const uint8_t cookie[16], const char *label,
			   struct mxc_display **ret, struct mxc_error *err);

/* Disconnects and frees; accepts NULL. */
void mxc_display_destroy(struct mxc_display *d);

void mxc_display_size(const struct mxc_display *d, uint32_t *ret_width, uint32_t *ret_height);
/* The depth of the screen's root window: 16 or 24. */
unsigned mxc_display_depth(const struct mxc_display *d);

/*
 * The connection's socket, to poll for events (see mxc_display_dispatch in display-xcb.h) and
 * for the server going away (POLLHUP or POLLIN with nothing to read). Never read from or write
 * to it.
 */
int mxc_display_get_fd(const struct mxc_display *d);

/* Whether captures go through MIT-SHM (false: GetImage). */
bool mxc_display_uses_shm(const struct mxc_display *d);
/* Stops using MIT-SHM on this connection; later captures use GetImage. */
void mxc_display_disable_shm(struct mxc_display *d);

/*
 * Sets how long one round trip to the server may take (milliseconds, >= 1). A server that
 * misses it leaves the connection unusable: every later call fails with -EIO, so the caller
 * reconnects.
 */
void mxc_display_set_timeout(struct mxc_display *d, int timeout_ms);

/*
 * Captures the whole screen into *ret (free with mxc_image_finish). Uses MIT-SHM with a memfd
 * segment attached once per connection (xcb_shm_attach_fd, SHM 1.2); falls back to GetImage,
 * for good, when the server refuses a SHM request.
 *
 * Errors: -ECONNRESET (the server went away), -ETIMEDOUT, -EPROTO (a reply that doesn't match
 * the request), -EIO (the connection failed earlier), -ENOMEM. No SIGPIPE reaches the process:
 * the calls block it while xcb writes and consume the one a dead server causes.
 */
int mxc_display_capture(struct mxc_display *d, struct mxc_image *ret, struct mxc_error *err);

/* Same, for the region at (x, y) of w x h pixels, which must lie inside the screen (-EINVAL). */
int mxc_display_capture_region(struct mxc_display *d, uint32_t x, uint32_t y, uint32_t w,
			       uint32_t h, struct mxc_image *ret, struct mxc_error *err);

/*
 * Resizes src to width x height into *ret (free with mxc_image_finish): area averaging
 * when shrinking, nearest neighbour when enlarging. -EINVAL for sizes of 0 or beyond
 * MXC_DISPLAY_MAX_SIDE.
 */
int mxc_image_scale(const struct mxc_image *src, uint32_t width, uint32_t height,
		    struct mxc_image *ret, struct mxc_error *err);

/*
 * Encodes img as an 8-bit RGB PNG into a new buffer (free with free()). Settings (zlib level,
 * strategy, row filter) are chosen for screen content; see png.c for the measurements.
 */
int mxc_png_encode(const struct mxc_image *img, uint8_t **ret_buf, size_t *ret_len,
		   struct mxc_error *err);

#endif
