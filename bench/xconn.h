/*
 * Reaching a session's display from the host: its X socket (RUNTIME/sessions/ID/x11/X0) and
 * the cookie from its Xauthority, and drawing the benchmark's desktop on it.
 */
#ifndef MXC_BENCH_XCONN_H
#define MXC_BENCH_XCONN_H

#include <xcb/xcb.h>

#include "error.h"

/*
 * Connects to the X server listening on the Unix socket socket_path, authorizing with the
 * first MIT-MAGIC-COOKIE-1 entry of the Xauthority file xauth_path.
 */
int bench_x_connect(const char *socket_path, const char *xauth_path, xcb_connection_t **ret,
		    struct mxc_error *err);

/*
 * Draws the display library benchmark's desktop (testx_draw_desktop: windows, text in the
 * "fixed" font, a photo) on the root window, so that every tool captures the same content as
 * tests/unit/display/bench-capture does. Returns once it is on the screen.
 */
int bench_x_draw_desktop(xcb_connection_t *conn, struct mxc_error *err);

#endif
