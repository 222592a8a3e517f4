/*
 * Owning the selection: taking it with our data, answering SelectionRequest events (TARGETS,
 * TIMESTAMP, MULTIPLE and the data targets), INCR transfers for data larger than one request,
 * and noticing when another client takes the selection.
 *
 * Requestors are hostile: they may name windows that vanish, atoms that don't exist, targets we
 * never offered, and stop reading in the middle of an INCR transfer. Nothing they ask makes us
 * allocate (transfers share the offer's data), an X error their request causes arrives later as
 * an event and is ignored, and a transfer that doesn't progress within the timeout is dropped.
 */
#include <stdio.h>
#include <stdlib.h>

#include "clipboard-private.h"

void clip_offer_unref(struct clip_offer *o)
{
	if (!o || --o->refs > 0)
		return;
	free(o->data);
	free(o->latin1);
	free(o);
}

static void add_target(struct clip_offer *o, xcb_atom_t atom)
{
	for (size_t i = 0; i < o->n_targets; i++)
		if (o->targets[i] == atom)
			return;
	if (o->n_targets < MXC_ARRAY_SIZE(o->targets))
		o->targets[o->n_targets++] = atom;
}

/* The type and bytes we answer target with, or false when we don't offer it. */
static bool offer_data(const struct mxc_clipboard *c, const struct clip_offer *o, xcb_atom_t target,
		       xcb_atom_t *ret_type, const uint8_t **ret_data, size_t *ret_len)
{
	const xcb_atom_t *a = c->atoms;

	if (target == XCB_NONE)
		return false;
	if (!o->text) {
		if (target != o->mime_atom)
			return false;
		*ret_type = target;
		*ret_data = o->data;
		*ret_len = o->len;
		return true;
	}
	/* TEXT is the owner's choice (ICCCM 2.7.1): STRING when it can carry the text. */
	if ((target == XCB_ATOM_STRING || target == a[ATOM_TEXT]) && o->latin1) {
		*ret_type = XCB_ATOM_STRING;
		*ret_data = o->latin1;
		*ret_len = o->latin1_len;
		return true;
	}
	if (target == a[ATOM_TEXT]) {
		*ret_type = a[ATOM_UTF8_STRING];
	} else if (target == a[ATOM_UTF8_STRING] || target == a[ATOM_TEXT_PLAIN_UTF8] ||
		   target == a[ATOM_TEXT_PLAIN]) {
		*ret_type = target;
	} else {
		return false;
	}
	*ret_data = o->data;
	*ret_len = o->len;
	return true;
}

static void change_property(struct mxc_clipboard *c, xcb_window_t window, xcb_atom_t property,
			    xcb_atom_t type, uint8_t format, const void *data, size_t len)
{
	/* len <= c->max_chunk, checked by the callers: one request, no BIG-REQUESTS. */
	xcb_change_property(c->conn, XCB_PROP_MODE_REPLACE, window, property, type, format,
			    (uint32_t)(len / (format / 8)), data);
}

/*
 * Whether window was created on our own connection (another clipboard on the same display, say).
 * Event masks are per connection: changing ours on such a window would change its creator's.
 */
static bool own_window(const struct mxc_clipboard *c, xcb_window_t window)
{
	const xcb_setup_t *setup = xcb_get_setup(c->conn);

	return (window & ~setup->resource_id_mask) == setup->resource_id_base;
}

static void select_events(struct mxc_clipboard *c, xcb_window_t window, uint32_t mask)
{
	if (!own_window(c, window))
		xcb_change_window_attributes(c->conn, window, XCB_CW_EVENT_MASK, &mask);
}

static void drop_transfer(struct mxc_clipboard *c, struct clip_transfer *t, bool window_gone)
{
	bool shared = false;

	t->active = false;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++)
		shared |= c->transfers[i].active && c->transfers[i].requestor == t->requestor;
	/* Our event mask on the requestor's window is ours alone: give it back when done. */
	if (!shared && !window_gone && !c->broken)
		select_events(c, t->requestor, XCB_EVENT_MASK_NO_EVENT);
	clip_offer_unref(t->offer);
	*t = (struct clip_transfer){0};
}

void clip_owner_expire(struct mxc_clipboard *c, uint64_t now)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++)
		if (c->transfers[i].active && now >= c->transfers[i].deadline)
			drop_transfer(c, &c->transfers[i], false);
}

void clip_owner_finish(struct mxc_clipboard *c)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++)
		if (c->transfers[i].active)
			drop_transfer(c, &c->transfers[i], false);
}

/* Starts an INCR transfer of data to (requestor, property); false when no slot is free. */
static bool start_incr(struct mxc_clipboard *c, struct clip_offer *o, xcb_window_t requestor,
		       xcb_atom_t property, xcb_atom_t type, const uint8_t *data, size_t len)
{
	struct clip_transfer *t = NULL;
	uint32_t size = (uint32_t)len; /* len <= MXC_CLIPBOARD_MAX_BYTES */

	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++) {
		struct clip_transfer *u = &c->transfers[i];

		/* The same property asked again: the requestor gave up on the first transfer. */
		if (u->active && u->requestor == requestor && u->property == property)
			drop_transfer(c, u, false);
		if (!u->active && !t)
			t = u;
	}
	if (!t)
		return false;
	o->refs++;
	*t = (struct clip_transfer){
	    .active = true,
	    .requestor = requestor,
	    .property = property,
	    .type = type,
	    .offer = o,
	    .data = data,
	    .len = len,
	    .deadline = clip_deadline(c),
	};
	/* Before the INCR property goes out, so that the requestor's delete can't be missed. */
	select_events(c, requestor,
		      XCB_EVENT_MASK_PROPERTY_CHANGE | XCB_EVENT_MASK_STRUCTURE_NOTIFY);
	change_property(c, requestor, property, c->atoms[ATOM_INCR], 32, &size, sizeof(size));
	return true;
}

/*
 * Writes target's value into (requestor, property). allow_incr: whether data larger than one
 * request may start an INCR transfer (not inside MULTIPLE). false: refused.
 */
static bool convert(struct mxc_clipboard *c, xcb_window_t requestor, xcb_atom_t target,
		    xcb_atom_t property, bool allow_incr)
{
	struct clip_offer *o = c->offer;
	const uint8_t *data;
	xcb_atom_t type;
	size_t len;

	if (target == c->atoms[ATOM_TARGETS]) {
		change_property(c, requestor, property, XCB_ATOM_ATOM, 32, o->targets,
				o->n_targets * sizeof(o->targets[0]));
		return true;
	}
	if (target == c->atoms[ATOM_TIMESTAMP]) {
		change_property(c, requestor, property, XCB_ATOM_INTEGER, 32, &c->own_time,
				sizeof(c->own_time));
		return true;
	}
	if (!offer_data(c, o, target, &type, &data, &len))
		return false;
	if (len <= c->max_chunk) {
		change_property(c, requestor, property, type, 8, data, len);
		return true;
	}
	return allow_incr && start_incr(c, o, requestor, property, type, data, len);
}

/* MULTIPLE (ICCCM 2.6.2): property holds (target, property) pairs; refused ones get None. */
static bool convert_multiple(struct mxc_clipboard *c, xcb_window_t requestor, xcb_atom_t property)
{
	struct clip_property p;
	xcb_atom_t pairs[2 * MXC_CLIPBOARD_MAX_MULTIPLE];
	size_t n;

	if (clip_get_property(c, requestor, property, false, MXC_ARRAY_SIZE(pairs), &p, NULL) < 0)
		return false; /* the window is gone, or the connection */
	n = p.len / sizeof(xcb_atom_t);
	if (p.format != 32 || p.bytes_after > 0 || n == 0 || n % 2 != 0) {
		clip_property_finish(&p);
		return false;
	}
	memcpy(pairs, p.value, n * sizeof(xcb_atom_t));
	clip_property_finish(&p);
	for (size_t i = 0; i < n; i += 2) {
		xcb_atom_t target = pairs[i], prop = pairs[i + 1];

		if (prop == XCB_NONE || target == c->atoms[ATOM_MULTIPLE] ||
		    !convert(c, requestor, target, prop, false))
			pairs[i + 1] = XCB_NONE;
	}
	change_property(c, requestor, property, c->atoms[ATOM_ATOM_PAIR], 32, pairs,
			n * sizeof(xcb_atom_t));
	return true;
}

/* Whether a request's time falls before we took the selection (ICCCM 2.2: refuse it). */
static bool before_ownership(const struct mxc_clipboard *c, xcb_timestamp_t time)
{
	return time != XCB_CURRENT_TIME && (int32_t)(time - c->own_time) < 0;
}

/*
 * Runs when another client asks for the selection (dispatched SelectionRequest). Answers with a
 * SelectionNotify in every case, naming the property on success and None on refusal, so that
 * the requestor never waits for nothing.
 */
void clip_owner_selection_request(struct mxc_clipboard *c, const xcb_selection_request_event_t *ev)
{
	xcb_selection_notify_event_t notify = {
	    .response_type = XCB_SELECTION_NOTIFY,
	    .time = ev->time,
	    .requestor = ev->requestor,
	    .selection = ev->selection,
	    .target = ev->target,
	    .property = XCB_NONE,
	};
	/* Obsolete requestors (ICCCM 2.2) name no property: use the target's name. */
	xcb_atom_t property = ev->property != XCB_NONE ? ev->property : ev->target;
	bool ok = false;

	/* For another window of this connection (another clipboard): not ours to answer. */
	if (c->broken || ev->owner != c->window)
		return;
	clip_owner_expire(c, mxc_now_mono_ns());
	/*
	 * Our own window as requestor would have its event mask replaced by a transfer's, the
	 * root's is not ours to change; no real requestor uses either.
	 */
	if (c->offer && ev->selection == c->atoms[ATOM_CLIPBOARD] &&
	    !before_ownership(c, ev->time) && ev->requestor != c->window &&
	    ev->requestor != c->root && property != XCB_NONE) {
		if (ev->target == c->atoms[ATOM_MULTIPLE])
			ok = ev->property != XCB_NONE &&
			     convert_multiple(c, ev->requestor, ev->property);
		else
			ok = convert(c, ev->requestor, ev->target, property, true);
	}
	if (ok)
		notify.property = property;
	xcb_send_event(c->conn, 0, ev->requestor, XCB_EVENT_MASK_NO_EVENT, (const char *)&notify);
}

/* Runs when another client took a selection from one of our windows (dispatched SelectionClear). */
void clip_owner_selection_clear(struct mxc_clipboard *c, const xcb_selection_clear_event_t *ev)
{
	xcb_window_t owner;

	if (!c->offer || ev->owner != c->window || ev->selection != c->atoms[ATOM_CLIPBOARD])
		return;
	/*
	 * A clear sent before we took the selection again is stale. Times of the same
	 * millisecond can't tell, the server can.
	 */
	if ((int32_t)(ev->time - c->own_time) <= 0) {
		if (clip_selection_owner(c, &owner, NULL) < 0 || owner == c->window)
			return;
	}
	/* Transfers under way keep their reference and finish (ICCCM 2.5). */
	clip_offer_unref(c->offer);
	c->offer = NULL;
}

/* Runs for property changes on other windows: a requestor took an INCR chunk (deleted it). */
void clip_owner_property_notify(struct mxc_clipboard *c, const xcb_property_notify_event_t *ev)
{
	uint64_t now = mxc_now_mono_ns();

	if (ev->state != XCB_PROPERTY_DELETE || c->broken)
		return;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++) {
		struct clip_transfer *t = &c->transfers[i];
		size_t n;

		if (!t->active || t->requestor != ev->window || t->property != ev->atom)
			continue;
		if (now >= t->deadline) {
			drop_transfer(c, t, false);
			continue;
		}
		n = t->len - t->offset;
		if (n > c->max_chunk)
			n = c->max_chunk;
		/* The last chunk is empty: it tells the requestor the transfer is complete. */
		change_property(c, t->requestor, t->property, t->type, 8, t->data + t->offset, n);
		t->offset += n;
		t->deadline = clip_deadline(c);
		/* Done: the requestor deletes the empty property without telling us anything. */
		if (n == 0)
			drop_transfer(c, t, false);
	}
}

/* Runs when a window we watch goes away: a requestor that won't read any more. */
void clip_owner_destroy_notify(struct mxc_clipboard *c, const xcb_destroy_notify_event_t *ev)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++)
		if (c->transfers[i].active && c->transfers[i].requestor == ev->window)
			drop_transfer(c, &c->transfers[i], true);
}

/*
 * Runs for X errors of requests without replies, ours or other modules'. A BadWindow naming a
 * requestor means it went away before (or without) our watching it: end its transfers now
 * rather than after the timeout, so that vanishing requestors can't hold the slots.
 */
void clip_owner_error(struct mxc_clipboard *c, const xcb_generic_error_t *ev)
{
	if (ev->error_code != XCB_WINDOW)
		return;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++)
		if (c->transfers[i].active && c->transfers[i].requestor == ev->resource_id)
			drop_transfer(c, &c->transfers[i], true);
}

unsigned mxc_clipboard_transfers(struct mxc_clipboard *c)
{
	unsigned n = 0;

	if (!c->broken) {
		struct mxc_sigpipe_guard guard;

		mxc_sigpipe_block(&guard);
		clip_owner_expire(c, mxc_now_mono_ns());
		xcb_flush(c->conn);
		mxc_sigpipe_restore(&guard);
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++)
		n += c->transfers[i].active;
	return n;
}

static int check_data(const char *mime, const uint8_t *data, size_t len, struct mxc_error *err)
{
	if (len > MXC_CLIPBOARD_MAX_BYTES)
		return mxc_error_set(err, -EFBIG, "%zu bytes is more than the clipboard takes (%u)",
				     len, MXC_CLIPBOARD_MAX_BYTES);
	if (len && !data)
		return mxc_error_set(err, -EINVAL, "no data");
	if (mxc_streq(mime, "text/plain") && !clip_utf8_valid(data, len))
		return mxc_error_set(err, -EBADMSG, "the text is not valid UTF-8");
	if (mxc_streq(mime, "image/png") && !clip_png_signature(data, len))
		return mxc_error_set(err, -EBADMSG, "the image is not a PNG file");
	return 0;
}

static int new_offer(struct mxc_clipboard *c, const char *mime, const uint8_t *data, size_t len,
		     struct clip_offer **ret, struct mxc_error *err)
{
	const xcb_atom_t *a = c->atoms;
	struct clip_offer *o;
	int r;

	o = calloc(1, sizeof(*o));
	if (!o)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	o->refs = 1;
	snprintf(o->mime, sizeof(o->mime), "%s", mime);
	o->text = mxc_streq(mime, "text/plain");
	o->data = malloc(len ? len : 1);
	if (!o->data) {
		r = -ENOMEM;
		goto fail;
	}
	if (len)
		memcpy(o->data, data, len);
	o->len = len;
	add_target(o, a[ATOM_TARGETS]);
	add_target(o, a[ATOM_TIMESTAMP]);
	add_target(o, a[ATOM_MULTIPLE]);
	if (o->text) {
		o->mime_atom = a[ATOM_TEXT_PLAIN];
		r = clip_utf8_to_latin1(data, len, &o->latin1, &o->latin1_len);
		if (r < 0)
			goto fail;
		add_target(o, a[ATOM_UTF8_STRING]);
		add_target(o, a[ATOM_TEXT_PLAIN_UTF8]);
		add_target(o, a[ATOM_TEXT_PLAIN]);
		if (o->latin1)
			add_target(o, XCB_ATOM_STRING);
		add_target(o, a[ATOM_TEXT]);
	} else if (mxc_streq(mime, "image/png")) {
		o->mime_atom = a[ATOM_IMAGE_PNG];
		add_target(o, o->mime_atom);
	} else {
		xcb_intern_atom_cookie_t cookie =
		    xcb_intern_atom(c->conn, 0, (uint16_t)strlen(mime), mime);
		xcb_intern_atom_reply_t *reply;

		r = clip_wait_reply(c, cookie.sequence, "InternAtom", (void **)&reply, err);
		if (r < 0)
			goto fail_msg;
		o->mime_atom = reply->atom;
		free(reply);
		if (o->mime_atom == XCB_NONE) {
			r = mxc_error_set(err, -EPROTO, "the display interned '%s' as None", mime);
			goto fail_msg;
		}
		add_target(o, o->mime_atom);
	}
	*ret = o;
	return 0;

fail:
	mxc_error_set(err, r, "out of memory");
fail_msg:
	clip_offer_unref(o);
	return r;
}

int mxc_clipboard_set(struct mxc_clipboard *c, const char *mime, const uint8_t *data, size_t len,
		      struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	struct clip_offer *o = NULL;
	char type[MXC_CLIPBOARD_MAX_MIME + 1];
	xcb_timestamp_t time;
	xcb_window_t owner;
	int r;

	if (!mime || !clip_mime_valid(mime)) {
		r = mxc_error_set(err, -EINVAL, "not a MIME type (type/subtype)");
		goto out_msg;
	}
	clip_mime_lower(mime, type);
	r = check_data(type, data, len, err);
	if (r < 0)
		goto out_msg;
	if (c->broken) {
		r = mxc_error_set(err, -EIO, "the connection to the display failed earlier");
		goto out_msg;
	}
	mxc_sigpipe_block(&guard);
	r = new_offer(c, type, data, len, &o, err);
	if (r < 0)
		goto out;
	r = clip_server_time(c, clip_deadline(c), &time, err);
	if (r < 0)
		goto out;
	xcb_set_selection_owner(c->conn, c->window, c->atoms[ATOM_CLIPBOARD], time);
	r = clip_selection_owner(c, &owner, err);
	if (r < 0)
		goto out;
	/* The server ignores our request when another client took the selection later. */
	if (owner != c->window) {
		r = mxc_error_set(err, -EBUSY,
				  "another client took the clipboard at the same time");
		goto out;
	}
	clip_offer_unref(c->offer);
	c->offer = o;
	c->own_time = time;
	o = NULL;
out:
	clip_offer_unref(o);
	mxc_sigpipe_restore(&guard);
out_msg:
	if (r < 0)
		mxc_error_prefix(err, "failed to set the clipboard to %zu bytes of %.64s", len,
				 mime ? mime : "(null)");
	return r;
}

static bool cleared(const struct mxc_clipboard *c)
{
	if (c->offer)
		return false;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++)
		if (c->transfers[i].active)
			return false;
	return true;
}

int mxc_clipboard_serve_until_cleared(struct mxc_clipboard *c, int timeout_ms,
				      struct mxc_error *err)
{
	uint64_t deadline = UINT64_MAX;
	int r;

	if (timeout_ms >= 0)
		deadline = mxc_now_mono_ns() + (uint64_t)timeout_ms * 1000000;
	for (;;) {
		uint64_t until = deadline, now;

		mxc_clipboard_transfers(c); /* drops stalled transfers */
		/* Wake up in time to drop a transfer that stalls. */
		for (size_t i = 0; i < MXC_ARRAY_SIZE(c->transfers); i++)
			if (c->transfers[i].active && c->transfers[i].deadline < until)
				until = c->transfers[i].deadline;
		r = clip_wait(c, cleared, until, "end of ownership", err);
		if (r != -ETIMEDOUT)
			break;
		now = mxc_now_mono_ns();
		if (now >= deadline) {
			r = mxc_error_set(err, -ETIMEDOUT, "still owning it after %d ms",
					  timeout_ms);
			break;
		}
		mxc_error_clear(err);
	}
	if (r < 0)
		mxc_error_prefix(err, "failed to serve the clipboard");
	return r;
}
