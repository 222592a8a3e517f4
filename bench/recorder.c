/* The timestamping X recorder: see recorder.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xcb/xkb.h>
#include <xkbcommon/xkbcommon-x11.h>

#include "recorder.h"
#include "util.h"

/* data32[0] of the ClientMessage that ends the thread; settle markers count up from 1. */
#define STOP_MARKER 0xffffffffu
#define MARKER_ATOM "MXC_BENCH_MARKER"

static void fail(struct bench_recorder *r)
{
	pthread_mutex_lock(&r->lock);
	r->failed = true;
	pthread_mutex_unlock(&r->lock);
}

/* Fetches the keymap again, as xkbcommon-x11 clients do on a change notification. */
static int load_keymap(struct bench_recorder *r)
{
	struct xkb_keymap *km = xkb_x11_keymap_new_from_device(r->ctx, r->conn, r->device_id,
							       XKB_KEYMAP_COMPILE_NO_FLAGS);
	struct xkb_state *st;

	if (!km)
		return -EPROTO;
	st = xkb_x11_state_new_from_device(km, r->conn, r->device_id);
	if (!st) {
		xkb_keymap_unref(km);
		return -EPROTO;
	}
	xkb_state_unref(r->state);
	xkb_keymap_unref(r->keymap);
	r->keymap = km;
	r->state = st;
	return 0;
}

/* Called with the lock held. */
static int push(struct bench_recorder *r, struct bench_event *e, const char *text, size_t n)
{
	if (r->n_events == r->cap_events) {
		size_t cap = r->cap_events ? r->cap_events * 2 : 1024;
		struct bench_event *v = realloc(r->events, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->events = v;
		r->cap_events = cap;
	}
	if (r->text_len + n + 1 > r->text_cap) {
		size_t cap = (r->text_len + n + 1) * 2;
		char *t = realloc(r->text, cap);

		if (!t)
			return -ENOMEM;
		r->text = t;
		r->text_cap = cap;
	}
	memcpy(r->text + r->text_len, text, n);
	r->text_len += n;
	r->text[r->text_len] = '\0';
	e->text_end = r->text_len;
	r->events[r->n_events++] = *e;
	return 0;
}

static void on_input(struct bench_recorder *r, const xcb_generic_event_t *gev, uint64_t t_ns)
{
	/* Key, button and motion events share this layout. */
	const xcb_key_press_event_t *ev = (const xcb_key_press_event_t *)gev;
	struct bench_event e = {.t_ns = t_ns,
				.type = ev->response_type & 0x7f,
				.detail = ev->detail,
				.x = ev->event_x,
				.y = ev->event_y};
	char buf[64];
	int n = 0;

	if (e.type == XCB_KEY_PRESS) {
		/* The modifiers and group in force for this event, as the server reports them. */
		xkb_state_update_mask(r->state, ev->state & 0xff, 0, 0, 0, 0,
				      (ev->state >> 13) & 3);
		n = xkb_state_key_get_utf8(r->state, ev->detail, buf, sizeof(buf));
		if (n < 0 || (size_t)n >= sizeof(buf))
			n = 0;
	}
	pthread_mutex_lock(&r->lock);
	if (push(r, &e, buf, (size_t)n) < 0)
		r->failed = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Runs on the recorder's thread until the stop marker or the connection's end. */
static void *run(void *arg)
{
	struct bench_recorder *r = arg;
	xcb_generic_event_t *ev;

	while ((ev = xcb_wait_for_event(r->conn))) {
		uint64_t t_ns = mxc_now_mono_ns();
		uint8_t type = ev->response_type & 0x7f;
		bool stop = false;

		if (type == XCB_KEY_PRESS || type == XCB_KEY_RELEASE || type == XCB_BUTTON_PRESS ||
		    type == XCB_BUTTON_RELEASE) {
			on_input(r, ev, t_ns);
		} else if (type == XCB_MAPPING_NOTIFY) {
			if (((xcb_mapping_notify_event_t *)ev)->request == XCB_MAPPING_KEYBOARD &&
			    load_keymap(r) < 0)
				fail(r);
		} else if (type == r->xkb_event_base) {
			/*
			 * All XKB events share one code; the kind is the second byte. Like
			 * toolkits, only the core keyboard's changes count.
			 */
			const xcb_xkb_map_notify_event_t *x = (xcb_xkb_map_notify_event_t *)ev;

			if ((x->xkbType == XCB_XKB_NEW_KEYBOARD_NOTIFY ||
			     x->xkbType == XCB_XKB_MAP_NOTIFY) &&
			    x->deviceID == r->device_id && load_keymap(r) < 0)
				fail(r);
		} else if (type == XCB_CLIENT_MESSAGE) {
			uint32_t marker = ((xcb_client_message_event_t *)ev)->data.data32[0];

			stop = marker == STOP_MARKER;
			pthread_mutex_lock(&r->lock);
			if (!stop && marker > r->marker_seen)
				r->marker_seen = marker;
			pthread_cond_broadcast(&r->cond);
			pthread_mutex_unlock(&r->lock);
		}
		free(ev);
		if (stop)
			break;
	}
	pthread_mutex_lock(&r->lock);
	r->running = false;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static int setup_xkb(struct bench_recorder *r)
{
	const uint16_t events =
	    XCB_XKB_EVENT_TYPE_NEW_KEYBOARD_NOTIFY | XCB_XKB_EVENT_TYPE_MAP_NOTIFY;
	const uint16_t nkn = XCB_XKB_NKN_DETAIL_KEYCODES;
	const uint16_t parts = XCB_XKB_MAP_PART_KEY_TYPES | XCB_XKB_MAP_PART_KEY_SYMS |
			       XCB_XKB_MAP_PART_MODIFIER_MAP |
			       XCB_XKB_MAP_PART_EXPLICIT_COMPONENTS | XCB_XKB_MAP_PART_KEY_ACTIONS |
			       XCB_XKB_MAP_PART_VIRTUAL_MODS | XCB_XKB_MAP_PART_VIRTUAL_MOD_MAP;
	const xcb_xkb_select_events_details_t details = {.affectNewKeyboard = nkn,
							 .newKeyboardDetails = nkn};
	xcb_generic_error_t *xerr;

	if (!xkb_x11_setup_xkb_extension(r->conn, 1, 0, XKB_X11_SETUP_XKB_EXTENSION_NO_FLAGS, NULL,
					 NULL, &r->xkb_event_base, NULL))
		return -EOPNOTSUPP;
	r->device_id = xkb_x11_get_core_keyboard_device_id(r->conn);
	if (r->device_id < 0)
		return -EPROTO;
	xerr = xcb_request_check(
	    r->conn, xcb_xkb_select_events_aux_checked(r->conn, (xcb_xkb_device_spec_t)r->device_id,
						       events, 0, 0, parts, parts, &details));
	if (xerr) {
		free(xerr);
		return -EPROTO;
	}
	r->ctx = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
	if (!r->ctx)
		return -ENOMEM;
	return load_keymap(r);
}

static int make_window(struct bench_recorder *r)
{
	const uint32_t mask = XCB_CW_OVERRIDE_REDIRECT | XCB_CW_EVENT_MASK;
	const uint32_t values[2] = {1, XCB_EVENT_MASK_KEY_PRESS | XCB_EVENT_MASK_KEY_RELEASE |
					   XCB_EVENT_MASK_BUTTON_PRESS |
					   XCB_EVENT_MASK_BUTTON_RELEASE};
	xcb_screen_t *screen = xcb_setup_roots_iterator(xcb_get_setup(r->conn)).data;
	xcb_intern_atom_reply_t *atom;
	xcb_generic_error_t *xerr;

	r->win = xcb_generate_id(r->conn);
	xcb_create_window(r->conn, 0, r->win, screen->root, 0, 0, screen->width_in_pixels,
			  screen->height_in_pixels, 0, XCB_WINDOW_CLASS_INPUT_ONLY,
			  XCB_COPY_FROM_PARENT, mask, values);
	xcb_map_window(r->conn, r->win);
	xerr = xcb_request_check(r->conn,
				 xcb_set_input_focus_checked(r->conn, XCB_INPUT_FOCUS_POINTER_ROOT,
							     r->win, XCB_CURRENT_TIME));
	if (xerr) {
		free(xerr);
		return -EPROTO;
	}
	atom = xcb_intern_atom_reply(
	    r->conn, xcb_intern_atom(r->conn, 0, sizeof(MARKER_ATOM) - 1, MARKER_ATOM), NULL);
	if (!atom)
		return -EPROTO;
	r->marker_atom = atom->atom;
	free(atom);
	return 0;
}

int bench_recorder_start(struct bench_recorder *r, xcb_connection_t *conn)
{
	int ret;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->conn = conn;
	ret = make_window(r);
	if (ret == 0)
		ret = setup_xkb(r);
	if (ret < 0)
		goto fail;
	r->running = true;
	if (pthread_create(&r->thread, NULL, run, r) != 0) {
		r->running = false;
		ret = -EAGAIN;
		goto fail;
	}
	r->has_thread = true;
	ret = bench_recorder_settle(r);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	bench_recorder_stop(r);
	return ret;
}

static void send_marker(struct bench_recorder *r, uint32_t marker)
{
	xcb_client_message_event_t ev = {.response_type = XCB_CLIENT_MESSAGE,
					 .format = 32,
					 .window = r->win,
					 .type = r->marker_atom};

	ev.data.data32[0] = marker;
	/* No event mask: the server sends it to the window's creator, this client. */
	xcb_send_event(r->conn, 0, r->win, XCB_EVENT_MASK_NO_EVENT, (const char *)&ev);
	xcb_flush(r->conn);
}

void bench_recorder_stop(struct bench_recorder *r)
{
	if (!r->conn)
		return;
	if (r->has_thread) {
		send_marker(r, STOP_MARKER);
		pthread_join(r->thread, NULL);
	}
	xkb_state_unref(r->state);
	xkb_keymap_unref(r->keymap);
	xkb_context_unref(r->ctx);
	xcb_disconnect(r->conn);
	free(r->events);
	free(r->text);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	memset(r, 0, sizeof(*r));
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int bench_recorder_settle(struct bench_recorder *r)
{
	struct timespec deadline;
	uint32_t marker = ++r->marker_sent;
	int rc = 0;

	deadline_in(&deadline, 10000);
	send_marker(r, marker);
	pthread_mutex_lock(&r->lock);
	while (r->running && r->marker_seen < marker && rc == 0)
		rc = pthread_cond_timedwait(&r->cond, &r->lock, &deadline);
	if (r->marker_seen >= marker)
		rc = r->failed ? -EIO : 0;
	else
		rc = rc == ETIMEDOUT ? -ETIMEDOUT : -EPIPE;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void bench_recorder_clear(struct bench_recorder *r)
{
	pthread_mutex_lock(&r->lock);
	r->n_events = 0;
	r->text_len = 0;
	if (r->text)
		r->text[0] = '\0';
	pthread_mutex_unlock(&r->lock);
}

int bench_recorder_wait_event(struct bench_recorder *r, uint8_t type, int timeout_ms,
			      struct bench_event *ret)
{
	struct timespec deadline;
	size_t seen = 0;
	int rc = 0;

	deadline_in(&deadline, timeout_ms);
	pthread_mutex_lock(&r->lock);
	for (;;) {
		for (; seen < r->n_events; seen++) {
			if (r->events[seen].type == type) {
				*ret = r->events[seen];
				pthread_mutex_unlock(&r->lock);
				return 0;
			}
		}
		if (!r->running || rc != 0)
			break;
		rc = pthread_cond_timedwait(&r->cond, &r->lock, &deadline);
	}
	pthread_mutex_unlock(&r->lock);
	return r->running ? -ETIMEDOUT : -EPIPE;
}

char *bench_recorder_text(struct bench_recorder *r, uint64_t *ret_last_ns)
{
	uint64_t last = 0;
	char *t;

	pthread_mutex_lock(&r->lock);
	t = strndup(r->text ? r->text : "", r->text_len);
	/* The first event after which the text had its final length typed its last byte. */
	for (size_t i = 0; i < r->n_events && r->text_len; i++) {
		if (r->events[i].text_end == r->text_len) {
			last = r->events[i].t_ns;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	*ret_last_ns = last;
	return t;
}
