/*
 * The clipboard object: its atoms and window, its event handler, and the waiting, timing and
 * property reading that the owner side (owner.c) and the requestor side (requestor.c) share.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clipboard-private.h"

static const char *const atom_names[N_ATOMS] = {
    [ATOM_CLIPBOARD] = "CLIPBOARD",	    [ATOM_TARGETS] = "TARGETS",
    [ATOM_TIMESTAMP] = "TIMESTAMP",	    [ATOM_MULTIPLE] = "MULTIPLE",
    [ATOM_ATOM_PAIR] = "ATOM_PAIR",	    [ATOM_INCR] = "INCR",
    [ATOM_UTF8_STRING] = "UTF8_STRING",	    [ATOM_TEXT] = "TEXT",
    [ATOM_COMPOUND_TEXT] = "COMPOUND_TEXT", [ATOM_TEXT_PLAIN_UTF8] = "text/plain;charset=utf-8",
    [ATOM_TEXT_PLAIN] = "text/plain",	    [ATOM_IMAGE_PNG] = "image/png",
    [ATOM_STAMP] = "_MXC_CLIPBOARD_TIME",   [ATOM_PROP0] = "_MXC_CLIPBOARD_0",
    [ATOM_PROP1] = "_MXC_CLIPBOARD_1",	    [ATOM_PROP2] = "_MXC_CLIPBOARD_2",
    [ATOM_PROP3] = "_MXC_CLIPBOARD_3",
};

/* The protocol's floor for the maximum request size, in 4-byte units (X11, section 8). */
#define MIN_REQUEST_WORDS 4096
/* The fixed part of a ChangeProperty request, in bytes. */
#define CHANGE_PROPERTY_HEADER 24

uint64_t clip_deadline(const struct mxc_clipboard *c)
{
	return mxc_now_mono_ns() + (uint64_t)c->timeout_ms * 1000000;
}

int clip_wait_reply(struct mxc_clipboard *c, unsigned sequence, const char *what, void **ret_reply,
		    struct mxc_error *err)
{
	xcb_generic_error_t *xerr = NULL;
	void *reply = NULL;
	int r;

	r = mxc_display_wait_reply(c->display, sequence, &reply, &xerr, err);
	if (r < 0) {
		c->broken = true;
		return r;
	}
	if (xerr) {
		unsigned code = xerr->error_code;

		free(xerr);
		return mxc_error_set(err, -EPROTO, "the display refused %s (X error %u)", what,
				     code);
	}
	*ret_reply = reply;
	return 0;
}

int clip_wait(struct mxc_clipboard *c, bool (*done)(const struct mxc_clipboard *c),
	      uint64_t deadline, const char *what, struct mxc_error *err)
{
	for (;;) {
		struct pollfd pfd;
		uint64_t now;
		int r;

		r = mxc_display_dispatch(c->display, err);
		if (r < 0) {
			if (r != -EBUSY)
				c->broken = true;
			return r;
		}
		if (done(c))
			return 0;
		now = mxc_now_mono_ns();
		if (now >= deadline)
			return mxc_error_set(err, -ETIMEDOUT, "no %s within %d ms", what,
					     c->timeout_ms);
		if (r > 0)
			continue; /* more events already queued */
		pfd = (struct pollfd){.fd = mxc_display_get_fd(c->display), .events = POLLIN};
		r = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (r < 0 && errno != EINTR)
			return mxc_error_errno(err, -errno, "failed to wait for the display");
	}
}

static bool stamp_seen(const struct mxc_clipboard *c)
{
	return c->stamp_seen;
}

int clip_server_time(struct mxc_clipboard *c, uint64_t deadline, xcb_timestamp_t *ret,
		     struct mxc_error *err)
{
	int r;

	/*
	 * ICCCM 2.1: a zero-length append changes nothing but makes the server send a
	 * PropertyNotify with its current time, which SetSelectionOwner needs (never CurrentTime).
	 */
	c->stamp_seen = false;
	xcb_change_property(c->conn, XCB_PROP_MODE_APPEND, c->window, c->atoms[ATOM_STAMP],
			    XCB_ATOM_INTEGER, 32, 0, NULL);
	r = clip_wait(c, stamp_seen, deadline, "time stamp from the display", err);
	if (r < 0)
		return r;
	*ret = c->stamp_time;
	return 0;
}

int clip_selection_owner(struct mxc_clipboard *c, xcb_window_t *ret, struct mxc_error *err)
{
	xcb_get_selection_owner_cookie_t cookie =
	    xcb_get_selection_owner(c->conn, c->atoms[ATOM_CLIPBOARD]);
	xcb_get_selection_owner_reply_t *reply;
	int r;

	r = clip_wait_reply(c, cookie.sequence, "GetSelectionOwner", (void **)&reply, err);
	if (r < 0)
		return r;
	*ret = reply->owner;
	free(reply);
	return 0;
}

int clip_get_property(struct mxc_clipboard *c, xcb_window_t window, xcb_atom_t property,
		      bool delete, uint32_t long_length, struct clip_property *ret,
		      struct mxc_error *err)
{
	xcb_get_property_cookie_t cookie = xcb_get_property(
	    c->conn, delete, window, property, XCB_GET_PROPERTY_TYPE_ANY, 0, long_length);
	xcb_get_property_reply_t *reply;
	uint64_t have, len;
	int r;

	r = clip_wait_reply(c, cookie.sequence, "GetProperty", (void **)&reply, err);
	if (r < 0)
		return r;
	/* xcb allocated 32 + 4 * length bytes; the value must lie inside them, and inside what
	 * we asked for. */
	have = 4 * (uint64_t)reply->length;
	len = (uint64_t)reply->value_len * (reply->format / 8);
	if ((reply->format != 0 && reply->format != 8 && reply->format != 16 &&
	     reply->format != 32) ||
	    (reply->format == 0 && (reply->type != XCB_NONE || reply->value_len != 0)) ||
	    len > have || len > 4 * (uint64_t)long_length) {
		r = mxc_error_set(err, -EPROTO,
				  "malformed GetProperty reply (format %u, %u items, %llu bytes)",
				  reply->format, reply->value_len, (unsigned long long)have);
		free(reply);
		return r;
	}
	*ret = (struct clip_property){
	    .reply = reply,
	    .type = reply->type,
	    .format = reply->format,
	    .value = xcb_get_property_value(reply),
	    .len = (size_t)len,
	    .bytes_after = reply->bytes_after,
	};
	return 0;
}

void clip_property_finish(struct clip_property *p)
{
	free(p->reply);
	*p = (struct clip_property){0};
}

/*
 * Runs for every event of the display, from mxc_display_dispatch: picks out what concerns our
 * window, our requests and the selection we own. Other modules' events pass by untouched.
 */
static void on_event(void *data, xcb_generic_event_t *ev)
{
	struct mxc_clipboard *c = data;
	uint8_t type = ev->response_type & 0x7f;

	/*
	 * Any client can send any event to our window (SendEvent sets bit 7). SelectionNotify
	 * always comes that way, from the owner; the others only the server sends, and forged
	 * ones would make us drop the selection or push INCR chunks nobody asked for.
	 */
	if ((ev->response_type & 0x80) && type != XCB_SELECTION_NOTIFY)
		return;
	switch (type) {
	case 0: /* an error for a request of ours that has no reply */
		clip_owner_error(c, (const xcb_generic_error_t *)ev);
		break;
	case XCB_SELECTION_NOTIFY: {
		const xcb_selection_notify_event_t *e = (const void *)ev;
		struct clip_request *q = &c->req;

		if (!q->active || q->notified || e->requestor != c->window ||
		    e->selection != c->atoms[ATOM_CLIPBOARD] || e->target != q->target ||
		    (e->property != XCB_NONE && e->property != q->property))
			break;
		q->notified = true;
		q->answer = e->property;
		break;
	}
	case XCB_PROPERTY_NOTIFY: {
		const xcb_property_notify_event_t *e = (const void *)ev;

		if (e->window != c->window) {
			clip_owner_property_notify(c, e);
			break;
		}
		if (e->atom == c->atoms[ATOM_STAMP]) {
			c->stamp_seen = true;
			c->stamp_time = e->time;
		} else if (c->req.active && e->atom == c->req.property &&
			   e->state == XCB_PROPERTY_NEW_VALUE) {
			c->req.new_values++;
		}
		break;
	}
	case XCB_SELECTION_REQUEST:
		clip_owner_selection_request(c, (const xcb_selection_request_event_t *)ev);
		break;
	case XCB_SELECTION_CLEAR:
		clip_owner_selection_clear(c, (const xcb_selection_clear_event_t *)ev);
		break;
	case XCB_DESTROY_NOTIFY:
		clip_owner_destroy_notify(c, (const xcb_destroy_notify_event_t *)ev);
		break;
	default:
		break;
	}
}

static int intern_atoms(struct mxc_clipboard *c, struct mxc_error *err)
{
	xcb_intern_atom_cookie_t cookies[N_ATOMS];
	int r = 0;

	for (size_t i = 0; i < N_ATOMS; i++)
		cookies[i] =
		    xcb_intern_atom(c->conn, 0, (uint16_t)strlen(atom_names[i]), atom_names[i]);
	/* Every reply is collected, even after a failure, so none is left behind in xcb. */
	for (size_t i = 0; i < N_ATOMS; i++) {
		xcb_intern_atom_reply_t *reply = NULL;
		int k = clip_wait_reply(c, cookies[i].sequence, "InternAtom", (void **)&reply, err);

		if (k < 0) {
			if (c->broken)
				return k;
			r = r < 0 ? r : k;
			continue;
		}
		c->atoms[i] = reply->atom;
		free(reply);
		if (c->atoms[i] == XCB_NONE && r == 0)
			r = mxc_error_set(err, -EPROTO, "the display interned '%s' as None",
					  atom_names[i]);
	}
	return r;
}

static int create_window(struct mxc_clipboard *c, struct mxc_error *err)
{
	/* Property changes: timestamps and INCR chunks; override-redirect: no window manager. */
	const uint32_t values[] = {1, XCB_EVENT_MASK_PROPERTY_CHANGE};
	xcb_void_cookie_t create;
	xcb_get_input_focus_cookie_t sync;
	xcb_generic_error_t *xerr;
	void *reply;
	int r;

	c->window = xcb_generate_id(c->conn);
	create =
	    xcb_create_window_checked(c->conn, XCB_COPY_FROM_PARENT, c->window, c->root, -10, -10,
				      1, 1, 0, XCB_WINDOW_CLASS_INPUT_ONLY, XCB_COPY_FROM_PARENT,
				      XCB_CW_OVERRIDE_REDIRECT | XCB_CW_EVENT_MASK, values);
	/* Once the round trip is back, the check below doesn't block. */
	sync = xcb_get_input_focus(c->conn);
	r = clip_wait_reply(c, sync.sequence, "GetInputFocus", &reply, err);
	if (r < 0)
		return r;
	free(reply);
	xerr = xcb_request_check(c->conn, create);
	if (xerr) {
		r = mxc_error_set(err, -EPROTO,
				  "the display refused to create a window (X error %u)",
				  xerr->error_code);
		free(xerr);
		c->window = XCB_NONE;
		return r;
	}
	return 0;
}

int mxc_clipboard_create(struct mxc_display *d, struct mxc_clipboard **ret, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	struct mxc_clipboard *c;
	const xcb_setup_t *setup;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return mxc_error_set(err, -ENOMEM, "failed to set up the clipboard: out of memory");
	c->display = d;
	c->conn = mxc_display_xcb(d);
	c->root = mxc_display_root(d);
	c->timeout_ms = MXC_CLIPBOARD_DEFAULT_TIMEOUT_MS;

	/*
	 * The core limit, not BIG-REQUESTS': data beyond it goes out with INCR, as ICCCM asks,
	 * and xcb never needs the (blocking) BIG-REQUESTS handshake for our requests.
	 */
	setup = xcb_get_setup(c->conn);
	if (setup->maximum_request_length < MIN_REQUEST_WORDS) {
		r = mxc_error_set(err, -EPROTO,
				  "the display's maximum request size (%u) is "
				  "below the protocol's minimum",
				  setup->maximum_request_length);
		goto fail;
	}
	c->max_chunk =
	    ((size_t)setup->maximum_request_length * 4 - CHANGE_PROPERTY_HEADER) & ~(size_t)3;

	mxc_sigpipe_block(&guard);
	r = intern_atoms(c, err);
	if (r >= 0)
		r = create_window(c, err);
	mxc_sigpipe_restore(&guard);
	if (r < 0)
		goto fail;
	r = mxc_display_add_event_handler(d, on_event, c, err);
	if (r < 0)
		goto fail;
	*ret = c;
	return 0;

fail:
	mxc_error_prefix(err, "failed to set up the clipboard");
	mxc_clipboard_destroy(c);
	return r;
}

void mxc_clipboard_destroy(struct mxc_clipboard *c)
{
	struct mxc_sigpipe_guard guard;

	if (!c)
		return;
	mxc_display_remove_event_handler(c->display, on_event, c);
	if (xcb_connection_has_error(c->conn))
		c->broken = true;
	mxc_sigpipe_block(&guard);
	clip_owner_finish(c);
	clip_offer_unref(c->offer);
	c->offer = NULL;
	/* The server gives up the selection of a window that goes away. */
	if (c->window != XCB_NONE && !c->broken) {
		xcb_destroy_window(c->conn, c->window);
		xcb_flush(c->conn);
	}
	mxc_sigpipe_restore(&guard);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i].mime);
	free(c);
}

void mxc_clipboard_set_timeout(struct mxc_clipboard *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms < 1 ? 1 : timeout_ms;
}

bool mxc_clipboard_owned(const struct mxc_clipboard *c)
{
	return c->offer != NULL;
}
