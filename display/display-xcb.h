/*
 * The xcb side of a struct mxc_display, for modules that speak X on the same connection
 * (input injection through XTEST, selections). Kept out of display.h so that users of
 * screenshots alone don't see xcb.
 *
 * The rules display/ follows apply to callers too: treat every reply as hostile, wait for
 * replies with mxc_display_wait_reply (never xcb_wait_for_reply or a *_reply() function,
 * which block without a deadline), and don't let a write raise SIGPIPE (xcb writes without
 * MSG_NOSIGNAL; a helper process can simply ignore SIGPIPE).
 */
#ifndef MXC_DISPLAY_DISPLAY_XCB_H
#define MXC_DISPLAY_DISPLAY_XCB_H

#include <xcb/xcb.h>

#include "display.h"

xcb_connection_t *mxc_display_xcb(const struct mxc_display *d);
xcb_window_t mxc_display_root(const struct mxc_display *d);

/*
 * Flushes and waits, at most the display's timeout, for the reply to the request with this
 * sequence number (a cookie's .sequence; only for requests that have a reply). On 0 exactly
 * one of *ret_reply (a reply) and *ret_error (an X error) is set, both freed by the caller.
 * Negative (-ECONNRESET, -ETIMEDOUT, ...) when the connection fails or the time runs out; after
 * a timeout the display is unusable (captures fail with -EIO).
 */
int mxc_display_wait_reply(struct mxc_display *d, unsigned int sequence, void **ret_reply,
			   xcb_generic_error_t **ret_error, struct mxc_error *err);

#endif
