/*
 * A client connection to an X display: connecting, checking what the server says about its
 * screen, and waiting for replies with a deadline.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xcb/shm.h>

#include "display-private.h"

/* Sizes of the fixed parts of the connection setup (X11 protocol, section 8). */
_Static_assert(sizeof(xcb_setup_t) == 40, "xcb_setup_t");
_Static_assert(sizeof(xcb_format_t) == 8, "xcb_format_t");
_Static_assert(sizeof(xcb_screen_t) == 40, "xcb_screen_t");
_Static_assert(sizeof(xcb_depth_t) == 8, "xcb_depth_t");
_Static_assert(sizeof(xcb_visualtype_t) == 24, "xcb_visualtype_t");

void mxc_sigpipe_block(struct mxc_sigpipe_guard *g)
{
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old_mask);
}

void mxc_sigpipe_restore(struct mxc_sigpipe_guard *g)
{
	sigset_t pipe_set;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	/* A SIGPIPE that was pending before we started belongs to someone else: leave it. */
	if (!g->was_pending) {
		const struct timespec zero = {0, 0};

		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
}

/* Copies a display name for messages, replacing anything unprintable. */
static void copy_printable(char *dst, size_t size, const char *name)
{
	snprintf(dst, size, "%s", name);
	for (; *dst; dst++)
		if ((unsigned char)*dst < 0x20 || (unsigned char)*dst >= 0x7f)
			*dst = '?';
}

int mxc_display_connection_error(struct mxc_display *d, struct mxc_error *err)
{
	switch (xcb_connection_has_error(d->conn)) {
	case 0:
		return mxc_error_set(err, -EIO, "the connection failed");
	case XCB_CONN_CLOSED_MEM_INSUFFICIENT:
		return mxc_error_set(err, -ENOMEM,
				     "connection closed: out of memory (oversized reply?)");
	case XCB_CONN_CLOSED_REQ_LEN_EXCEED:
		return mxc_error_set(err, -E2BIG, "connection closed: request too long");
	case XCB_CONN_CLOSED_FDPASSING_FAILED:
		return mxc_error_set(err, -EIO, "connection closed: passing a descriptor failed");
	default:
		return mxc_error_set(err, -ECONNRESET,
				     "lost the connection (did the server exit?)");
	}
}

/* The bytes xcb allocated for an event (a GenericEvent carries 4 * length more). */
static size_t event_size(const xcb_generic_event_t *ev)
{
	if ((ev->response_type & 0x7f) == XCB_GE_GENERIC)
		return sizeof(xcb_ge_generic_event_t) +
		       4 * (size_t)((const xcb_ge_generic_event_t *)ev)->length;
	return sizeof(*ev);
}

/* Queues ev for the handlers, or frees it when nobody listens or the queue is full. */
static void queue_event(struct mxc_display *d, xcb_generic_event_t *ev)
{
	size_t size = event_size(ev);

	if (d->n_handlers == 0 || !d->queue || d->queue_len == MXC_DISPLAY_MAX_QUEUED_EVENTS ||
	    size > MXC_DISPLAY_MAX_QUEUED_BYTES - d->queue_bytes) {
		free(ev);
		d->dropped_events++;
		return;
	}
	d->queue[(d->queue_head + d->queue_len) % MXC_DISPLAY_MAX_QUEUED_EVENTS] = ev;
	d->queue_len++;
	d->queue_bytes += size;
}

static xcb_generic_event_t *unqueue_event(struct mxc_display *d)
{
	xcb_generic_event_t *ev;

	if (d->queue_len == 0)
		return NULL;
	ev = d->queue[d->queue_head];
	d->queue_head = (d->queue_head + 1) % MXC_DISPLAY_MAX_QUEUED_EVENTS;
	d->queue_len--;
	d->queue_bytes -= event_size(ev);
	return ev;
}

/*
 * Moves what xcb has already read (without reading more) into our bounded queue, so that
 * events can't pile up in xcb while we wait for a reply.
 */
static void queue_read_events(struct mxc_display *d)
{
	xcb_generic_event_t *ev;

	while ((ev = xcb_poll_for_queued_event(d->conn)))
		queue_event(d, ev);
}

int mxc_display_wait_reply(struct mxc_display *d, unsigned int sequence, void **ret_reply,
			   xcb_generic_error_t **ret_error, struct mxc_error *err)
{
	uint64_t deadline = mxc_now_mono_ns() + (uint64_t)d->timeout_ms * 1000000;

	if (xcb_flush(d->conn) <= 0)
		return mxc_display_connection_error(d, err);
	for (;;) {
		void *reply = NULL;
		xcb_generic_error_t *xerr = NULL;
		struct pollfd pfd;
		uint64_t now;
		int r;

		if (xcb_poll_for_reply(d->conn, sequence, &reply, &xerr)) {
			queue_read_events(d);
			if (reply || xerr) {
				*ret_reply = reply;
				*ret_error = xerr;
				return 0;
			}
			/* Neither: the connection is shut down. */
			return mxc_display_connection_error(d, err);
		}
		queue_read_events(d);
		if (xcb_connection_has_error(d->conn))
			return mxc_display_connection_error(d, err);

		now = mxc_now_mono_ns();
		if (now >= deadline) {
			d->broken = true;
			return mxc_error_set(err, -ETIMEDOUT,
					     "no answer from the server within %d ms",
					     d->timeout_ms);
		}
		pfd = (struct pollfd){.fd = xcb_get_file_descriptor(d->conn), .events = POLLIN};
		r = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (r < 0 && errno != EINTR)
			return mxc_error_errno(err, -errno, "failed to wait for the server");
	}
}

int mxc_display_add_event_handler(struct mxc_display *d, mxc_display_event_fn fn, void *data,
				  struct mxc_error *err)
{
	if (!fn)
		return mxc_error_set(err, -EINVAL, "no event handler given");
	if (!d->queue) {
		d->queue = calloc(MXC_DISPLAY_MAX_QUEUED_EVENTS, sizeof(*d->queue));
		if (!d->queue)
			return mxc_error_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(d->handlers); i++) {
		if (d->handlers[i].fn)
			continue;
		d->handlers[i].fn = fn;
		d->handlers[i].data = data;
		d->n_handlers++;
		return 0;
	}
	return mxc_error_set(err, -ENOSPC, "too many event handlers on display '%s' (at most %d)",
			     d->name, MXC_DISPLAY_MAX_EVENT_HANDLERS);
}

void mxc_display_remove_event_handler(struct mxc_display *d, mxc_display_event_fn fn, void *data)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(d->handlers); i++) {
		if (d->handlers[i].fn != fn || d->handlers[i].data != data)
			continue;
		/* Only the slot is cleared: a dispatch in progress skips it from now on. */
		d->handlers[i].fn = NULL;
		d->handlers[i].data = NULL;
		d->n_handlers--;
		return;
	}
}

int mxc_display_dispatch(struct mxc_display *d, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	int r = 0;

	if (d->broken)
		return mxc_error_set(err, -EIO, "the connection to display '%s' failed earlier",
				     d->name);
	if (xcb_connection_has_error(d->conn))
		return mxc_display_connection_error(d, err);
	if (d->dispatching)
		return mxc_error_set(err, -EBUSY, "events are already being dispatched");
	d->dispatching = true;
	mxc_sigpipe_block(&guard);
	for (unsigned n = 0; n < MXC_DISPLAY_DISPATCH_BATCH; n++) {
		xcb_generic_event_t *ev = unqueue_event(d);

		if (!ev)
			ev = xcb_poll_for_event(d->conn);
		if (!ev)
			break;
		for (size_t i = 0; i < MXC_ARRAY_SIZE(d->handlers); i++)
			if (d->handlers[i].fn)
				d->handlers[i].fn(d->handlers[i].data, ev);
		free(ev);
	}
	/* Handlers answer with requests of their own (a selection's data, say). */
	if (xcb_flush(d->conn) <= 0 || xcb_connection_has_error(d->conn))
		r = mxc_display_connection_error(d, err);
	else if (d->broken)
		r = mxc_error_set(err, -EIO, "the connection to display '%s' failed", d->name);
	mxc_sigpipe_restore(&guard);
	d->dispatching = false;
	if (r < 0)
		return r;
	queue_read_events(d);
	return d->queue_len > 0;
}

uint64_t mxc_display_dropped_events(const struct mxc_display *d)
{
	return d->dropped_events;
}

/* A round trip (GetInputFocus, the cheapest request with a reply). */
static int sync_display(struct mxc_display *d, struct mxc_error *err)
{
	xcb_get_input_focus_cookie_t cookie = xcb_get_input_focus(d->conn);
	xcb_generic_error_t *xerr = NULL;
	void *reply = NULL;
	int r;

	r = mxc_display_wait_reply(d, cookie.sequence, &reply, &xerr, err);
	if (r < 0)
		return r;
	free(reply);
	if (xerr) {
		free(xerr);
		return mxc_error_set(err, -EPROTO, "the server refused GetInputFocus");
	}
	return 0;
}

/*
 * Bounded reader over the connection setup. xcb checks the setup's total length only, and its
 * iterators trust the counts inside, so a hostile server could walk them off the buffer:
 * every count here is checked against the bytes actually received.
 */
struct setup_reader {
	const uint8_t *buf;
	size_t len, pos;
};

static const void *take(struct setup_reader *r, size_t n)
{
	const void *p;

	if (n > r->len - r->pos)
		return NULL;
	p = r->buf + r->pos;
	r->pos += n;
	return p;
}

static int malformed(const char *what, struct mxc_error *err)
{
	return mxc_error_set(err, -EPROTO, "malformed connection setup (%s)", what);
}

static int unsupported_format(unsigned depth, unsigned bpp, unsigned byte_order,
			      const xcb_visualtype_t *v, struct mxc_error *err)
{
	return mxc_error_set(err, -EOPNOTSUPP,
			     "unsupported pixel format: depth %u, %u bits per pixel, %s first, "
			     "visual class %u, masks %#x/%#x/%#x (supported: TrueColor depth 24 at "
			     "24 or 32 bits per pixel, depth 16 RGB565, LSB first)",
			     depth, bpp, byte_order == XCB_IMAGE_ORDER_LSB_FIRST ? "LSB" : "MSB",
			     v->_class, v->red_mask, v->green_mask, v->blue_mask);
}

/* Fills d->root, visual, size and format from the setup of screen screen_index. */
static int parse_setup(struct mxc_display *d, int screen_index, struct mxc_error *err)
{
	const xcb_setup_t *setup = xcb_get_setup(d->conn);
	const xcb_screen_t *scr = NULL;
	const xcb_format_t *formats, *format = NULL;
	const xcb_visualtype_t *visual = NULL;
	struct setup_reader r;
	const xcb_setup_t *s;
	unsigned bpp, pad;

	/* xcb allocated and read exactly 8 + 4 * length bytes (xcb_conn.c, read_setup). */
	r = (struct setup_reader){.buf = (const uint8_t *)setup,
				  .len = 8 + (size_t)setup->length * 4};
	s = take(&r, sizeof(*s));
	if (!s)
		return malformed("too short", err);
	if (!take(&r, ((size_t)s->vendor_len + 3) & ~(size_t)3))
		return malformed("vendor", err);
	formats = take(&r, (size_t)s->pixmap_formats_len * sizeof(*formats));
	if (!formats)
		return malformed("pixmap formats", err);
	if (screen_index < 0 || screen_index >= s->roots_len)
		return mxc_error_set(err, -ENXIO, "no screen %d", screen_index);

	for (int i = 0; i <= screen_index; i++) {
		scr = take(&r, sizeof(*scr));
		if (!scr)
			return malformed("screens", err);
		for (unsigned j = 0; j < scr->allowed_depths_len; j++) {
			const xcb_depth_t *dp = take(&r, sizeof(*dp));
			const xcb_visualtype_t *vs;

			if (!dp)
				return malformed("depths", err);
			vs = take(&r, (size_t)dp->visuals_len * sizeof(*vs));
			if (!vs)
				return malformed("visuals", err);
			if (i != screen_index || dp->depth != scr->root_depth)
				continue;
			for (unsigned k = 0; k < dp->visuals_len && !visual; k++)
				if (vs[k].visual_id == scr->root_visual)
					visual = &vs[k];
		}
	}
	/* The first format listed for a depth is the one that counts. */
	for (unsigned i = 0; i < s->pixmap_formats_len && !format; i++)
		if (formats[i].depth == scr->root_depth)
			format = &formats[i];

	if (!visual)
		return malformed("the root visual is not listed", err);
	if (!format)
		return malformed("no pixmap format for the root depth", err);
	bpp = format->bits_per_pixel;
	pad = format->scanline_pad;
	if (pad != 8 && pad != 16 && pad != 32)
		return malformed("scanline pad", err);

	d->format = (struct mxc_pixel_format){
	    .depth = scr->root_depth, .bits_per_pixel = (uint8_t)bpp, .scanline_pad = (uint8_t)pad};
	if (s->image_byte_order != XCB_IMAGE_ORDER_LSB_FIRST ||
	    visual->_class != XCB_VISUAL_CLASS_TRUE_COLOR)
		return unsupported_format(scr->root_depth, bpp, s->image_byte_order, visual, err);
	if (scr->root_depth == 24 && visual->red_mask == 0xff0000 &&
	    visual->green_mask == 0x00ff00 && visual->blue_mask == 0x0000ff && bpp == 32)
		d->format.layout = MXC_PIXEL_BGRX8888;
	else if (scr->root_depth == 24 && visual->red_mask == 0xff0000 &&
		 visual->green_mask == 0x00ff00 && visual->blue_mask == 0x0000ff && bpp == 24)
		d->format.layout = MXC_PIXEL_BGR888;
	else if (scr->root_depth == 16 && visual->red_mask == 0xf800 &&
		 visual->green_mask == 0x07e0 && visual->blue_mask == 0x001f && bpp == 16)
		d->format.layout = MXC_PIXEL_RGB565;
	else
		return unsupported_format(scr->root_depth, bpp, s->image_byte_order, visual, err);

	if (scr->width_in_pixels == 0 || scr->height_in_pixels == 0 ||
	    scr->width_in_pixels > MXC_DISPLAY_MAX_SIDE ||
	    scr->height_in_pixels > MXC_DISPLAY_MAX_SIDE)
		return mxc_error_set(err, -EOPNOTSUPP, "%ux%u screen (at most %ux%u is supported)",
				     scr->width_in_pixels, scr->height_in_pixels,
				     MXC_DISPLAY_MAX_SIDE, MXC_DISPLAY_MAX_SIDE);
	d->root = scr->root;
	d->visual = scr->root_visual;
	d->width = scr->width_in_pixels;
	d->height = scr->height_in_pixels;
	return 0;
}

static bool shm_wanted(void)
{
	const char *v = getenv(MXC_DISPLAY_NO_SHM_ENV);

	return !v || !*v || mxc_streq(v, "0");
}

/* Turns a fresh xcb connection (which may be one of xcb's error objects) into *ret. */
static int finish_connect(xcb_connection_t *conn, int screen, struct mxc_display **ret,
			  struct mxc_error *err)
{
	struct mxc_display *d;
	bool want_shm = shm_wanted();
	int r;

	r = xcb_connection_has_error(conn);
	if (r != 0)
		xcb_disconnect(conn); /* a no-op for xcb's static error objects */
	switch (r) {
	case 0:
		break;
	case XCB_CONN_CLOSED_PARSE_ERR:
		return mxc_error_set(err, -EINVAL, "invalid display name");
	case XCB_CONN_CLOSED_INVALID_SCREEN:
		return mxc_error_set(err, -ENXIO, "no such screen");
	case XCB_CONN_CLOSED_MEM_INSUFFICIENT:
		return mxc_error_set(err, -ENOMEM, "out of memory");
	default:
		return mxc_error_set(err, -ECONNREFUSED,
				     "no server answers there, or it refused the connection (not "
				     "authorized?)");
	}

	d = calloc(1, sizeof(*d));
	if (!d) {
		xcb_disconnect(conn);
		return mxc_error_set(err, -ENOMEM, "out of memory");
	}
	d->conn = conn;
	d->timeout_ms = MXC_DISPLAY_DEFAULT_TIMEOUT_MS;

	r = parse_setup(d, screen, err);
	if (r < 0)
		goto fail;
	/*
	 * xcb_get_extension_data blocks without a deadline, so ask now and let the round trip
	 * below (which has one) bring the answer in.
	 */
	if (want_shm)
		xcb_prefetch_extension_data(conn, &xcb_shm_id);
	r = sync_display(d, err);
	if (r < 0)
		goto fail;
	if (want_shm) {
		r = mxc_display_shm_init(d, err);
		if (r < 0)
			goto fail;
	}
	*ret = d;
	return 0;

fail:
	mxc_display_destroy(d);
	return r;
}

int mxc_display_connect(const char *name, struct mxc_display **ret, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	const char *shown = name ? name : getenv("DISPLAY");
	struct mxc_display *d = NULL;
	xcb_connection_t *conn;
	int screen = 0, r;

	if (!shown || !*shown)
		return mxc_error_set(err, -EINVAL,
				     "failed to connect to the display: DISPLAY is not set");
	mxc_sigpipe_block(&guard);
	conn = xcb_connect(name, &screen);
	r = finish_connect(conn, screen, &d, err);
	mxc_sigpipe_restore(&guard);
	if (r < 0) {
		char safe[64];

		copy_printable(safe, sizeof(safe), shown);
		mxc_error_prefix(err, "failed to connect to display '%s'", safe);
		return r;
	}
	copy_printable(d->name, sizeof(d->name), shown);
	*ret = d;
	return 0;
}

int mxc_display_connect_fd(int fd, const uint8_t cookie[16], const char *label,
			   struct mxc_display **ret, struct mxc_error *err)
{
	static char auth_name[] = "MIT-MAGIC-COOKIE-1";
	struct mxc_sigpipe_guard guard;
	struct mxc_display *d = NULL;
	xcb_auth_info_t auth;
	uint8_t data[16] = {0};
	xcb_connection_t *conn;
	char safe[64];
	int r;

	copy_printable(safe, sizeof(safe), label ? label : "(socket)");
	if (fd < 0)
		return mxc_error_set(err, -EBADF, "failed to connect to display '%s': no socket",
				     safe);
	if (cookie)
		memcpy(data, cookie, sizeof(data));
	auth = (xcb_auth_info_t){.namelen = (int)strlen(auth_name),
				 .name = auth_name,
				 .datalen = sizeof(data),
				 .data = (char *)data};
	mxc_sigpipe_block(&guard);
	conn = xcb_connect_to_fd(fd, cookie ? &auth : NULL);
	explicit_bzero(data, sizeof(data));
	r = finish_connect(conn, 0, &d, err);
	mxc_sigpipe_restore(&guard);
	if (r < 0) {
		mxc_error_prefix(err, "failed to connect to display '%s'", safe);
		return r;
	}
	memcpy(d->name, safe, sizeof(d->name));
	*ret = d;
	return 0;
}

void mxc_display_destroy(struct mxc_display *d)
{
	if (!d)
		return;
	mxc_display_shm_finish(d);
	while (d->queue_len > 0)
		free(unqueue_event(d));
	free(d->queue);
	/* Only shuts the socket down and closes it: nothing is written, so no SIGPIPE. */
	xcb_disconnect(d->conn);
	free(d);
}

void mxc_display_size(const struct mxc_display *d, uint32_t *ret_width, uint32_t *ret_height)
{
	if (ret_width)
		*ret_width = d->width;
	if (ret_height)
		*ret_height = d->height;
}

xcb_connection_t *mxc_display_xcb(const struct mxc_display *d)
{
	return d->conn;
}

xcb_window_t mxc_display_root(const struct mxc_display *d)
{
	return d->root;
}

unsigned mxc_display_depth(const struct mxc_display *d)
{
	return d->format.depth;
}

int mxc_display_get_fd(const struct mxc_display *d)
{
	return xcb_get_file_descriptor(d->conn);
}

bool mxc_display_uses_shm(const struct mxc_display *d)
{
	return d->shm;
}

void mxc_display_disable_shm(struct mxc_display *d)
{
	mxc_display_shm_finish(d);
}

void mxc_display_set_timeout(struct mxc_display *d, int timeout_ms)
{
	d->timeout_ms = timeout_ms < 1 ? 1 : timeout_ms;
}
