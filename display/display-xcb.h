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

#include <signal.h>
#include <stdbool.h>
#include <xcb/xcb.h>

#include "display.h"

/*
 * xcb writes with writev/sendmsg without MSG_NOSIGNAL, so a write to a server that has exited
 * raises SIGPIPE. A library may not change the process's signal dispositions; instead, calls
 * that may write (here and in the modules that share the connection) block SIGPIPE in the calling thread and consume the one they caused.
 */
struct mxc_sigpipe_guard {
	sigset_t old_mask;
	bool was_pending;
};
void mxc_sigpipe_block(struct mxc_sigpipe_guard *g);
void mxc_sigpipe_restore(struct mxc_sigpipe_guard *g);

xcb_connection_t *mxc_display_xcb(const struct mxc_display *d);
xcb_window_t mxc_display_root(const struct mxc_display *d);

/*
 * Flushes and waits, at most the display's timeout, for the reply to the request with this
 * sequence number (a cookie's .sequence; only for requests that have a reply). On 0 exactly
 * one of *ret_reply (a reply) and *ret_error (an X error) is set, both freed by the caller.
 * Negative (-ECONNRESET, -ETIMEDOUT, ...) when the connection fails or the time runs out; after
 * a timeout the display is unusable (captures fail with -EIO). Events that arrive meanwhile are
 * queued for the handlers (below), never delivered from inside this call.
 */
int mxc_display_wait_reply(struct mxc_display *d, unsigned int sequence, void **ret_reply,
			   xcb_generic_error_t **ret_error, struct mxc_error *err);

/*
 * Events. Several modules share one connection (selections, keyboard notifications), so events
 * go to every registered handler rather than to whoever happens to be reading.
 *
 * Handlers run only from mxc_display_dispatch, never from inside another call: events that
 * arrive while mxc_display_wait_reply (or a capture, or any other round trip) waits are queued
 * and delivered by the next dispatch, in the order the server sent them. A handler may
 * therefore make round trips of its own; it must not free the event, and can't dispatch
 * (mxc_display_dispatch fails with -EBUSY inside a handler, and so do calls that wait for
 * events, such as reading the clipboard).
 *
 * Bounds: the queue holds at most MXC_DISPLAY_MAX_QUEUED_EVENTS events and
 * MXC_DISPLAY_MAX_QUEUED_BYTES bytes; what a server sends beyond that before the next dispatch
 * is dropped (counted, see mxc_display_dropped_events), so that a flood of events neither grows
 * memory nor stretches a round trip past its deadline. With no handler registered every event
 * is dropped at once, as before handlers existed. X errors for requests whose replies nobody
 * waits for (xcb's unchecked void requests) arrive as events with response_type 0.
 */
#define MXC_DISPLAY_MAX_EVENT_HANDLERS 8
#define MXC_DISPLAY_MAX_QUEUED_EVENTS  4096
#define MXC_DISPLAY_MAX_QUEUED_BYTES   (1u << 20)
/* Most events one mxc_display_dispatch delivers, so that a flood can't hold the caller there. */
#define MXC_DISPLAY_DISPATCH_BATCH 256

/* Runs for each event, from mxc_display_dispatch; ev belongs to the display. */
typedef void (*mxc_display_event_fn)(void *data, xcb_generic_event_t *ev);

/*
 * Registers fn(data, ev) for every event from now on. -ENOSPC beyond
 * MXC_DISPLAY_MAX_EVENT_HANDLERS, -ENOMEM. A pair registered twice runs twice.
 */
int mxc_display_add_event_handler(struct mxc_display *d, mxc_display_event_fn fn, void *data,
				  struct mxc_error *err);
/* Unregisters the (fn, data) pair (one registration of it); safe from inside a handler. */
void mxc_display_remove_event_handler(struct mxc_display *d, mxc_display_event_fn fn, void *data);

/*
 * Delivers queued events to the handlers and reads whatever else the server has sent, without
 * blocking, at most MXC_DISPLAY_DISPATCH_BATCH events; then flushes the requests handlers made.
 * Returns 0 when nothing is left queued, 1 when events remain (call again before blocking),
 * or a connection error (-ECONNRESET, -EIO after a timed-out round trip, ...).
 *
 * A caller with its own poll loop calls it when the connection's fd (mxc_display_get_fd) is
 * readable and also before every poll(): a round trip made since the last dispatch may have
 * read events into the queue, and the fd won't signal those.
 */
int mxc_display_dispatch(struct mxc_display *d, struct mxc_error *err);

/* Events dropped so far because the queue was full or nobody had registered a handler. */
uint64_t mxc_display_dropped_events(const struct mxc_display *d);

#endif
