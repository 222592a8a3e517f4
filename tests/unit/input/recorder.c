/* A recording X client for the input tests: see recorder.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xcb/xkb.h>
#include <xkbcommon/xkbcommon-x11.h>

#include "recorder.h"

/* data32[0] of the ClientMessage that stops the thread; markers count up from 1. */
#define STOP_MARKER 0xffffffffu

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Fetches the keymap again, as xkbcommon-x11 clients do on a notification. */
static int load_keymap(struct recorder *r)
{
	struct xkb_keymap *km;
	struct xkb_state *st;

	if (r->slow_ms > 0)
		sleep_ms(r->slow_ms);
	km = xkb_x11_keymap_new_from_device(r->ctx, r->conn, r->device_id,
					    XKB_KEYMAP_COMPILE_NO_FLAGS);
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
	pthread_mutex_lock(&r->lock);
	r->keymap_loads++;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static int push_event(struct recorder *r, const struct rec_event *e)
{
	if (r->n_events == r->cap_events) {
		size_t cap = r->cap_events ? r->cap_events * 2 : 1024;
		struct rec_event *v = realloc(r->events, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->events = v;
		r->cap_events = cap;
	}
	r->events[r->n_events++] = *e;
	return 0;
}

static int push_text(struct recorder *r, const char *s, size_t n)
{
	if (r->text_len + n + 1 > r->text_cap) {
		size_t cap = (r->text_len + n + 1) * 2;
		char *t = realloc(r->text, cap);

		if (!t)
			return -ENOMEM;
		r->text = t;
		r->text_cap = cap;
	}
	memcpy(r->text + r->text_len, s, n);
	r->text_len += n;
	r->text[r->text_len] = '\0';
	return 0;
}

static void on_key(struct recorder *r, const xcb_key_press_event_t *ev)
{
	struct rec_event e = {.type = ev->response_type & 0x7f,
			      .detail = ev->detail,
			      .state = ev->state,
			      .x = ev->event_x,
			      .y = ev->event_y};
	const xkb_keysym_t *syms;
	char buf[64];
	int n = 0;

	/* The modifiers and group in force for this event, as the server reports them. */
	xkb_state_update_mask(r->state, ev->state & 0xff, 0, 0, 0, 0, (ev->state >> 13) & 3);
	e.sym = xkb_state_key_get_one_sym(r->state, ev->detail);
	if (xkb_keymap_key_get_syms_by_level(r->keymap, ev->detail, 0, 0, &syms) == 1)
		e.base = syms[0];
	if (e.type == XCB_KEY_PRESS)
		n = xkb_state_key_get_utf8(r->state, ev->detail, buf, sizeof(buf));
	pthread_mutex_lock(&r->lock);
	if (push_event(r, &e) < 0 || (n > 0 && push_text(r, buf, (size_t)n) < 0))
		r->failed = true;
	pthread_mutex_unlock(&r->lock);
}

static void on_pointer(struct recorder *r, const xcb_generic_event_t *gev)
{
	/* Button and motion events share this layout. */
	const xcb_button_press_event_t *ev = (const xcb_button_press_event_t *)gev;
	struct rec_event e = {.type = ev->response_type & 0x7f,
			      .detail = ev->detail,
			      .state = ev->state,
			      .x = ev->event_x,
			      .y = ev->event_y};

	pthread_mutex_lock(&r->lock);
	if (push_event(r, &e) < 0)
		r->failed = true;
	pthread_mutex_unlock(&r->lock);
}

/* Runs on the recorder's thread until the stop marker or the connection's end. */
static void *run(void *arg)
{
	struct recorder *r = arg;
	xcb_generic_event_t *ev;

	while ((ev = xcb_wait_for_event(r->conn))) {
		uint8_t type = ev->response_type & 0x7f;
		bool stop = false;

		if (type == XCB_KEY_PRESS || type == XCB_KEY_RELEASE) {
			on_key(r, (xcb_key_press_event_t *)ev);
		} else if (type == XCB_BUTTON_PRESS || type == XCB_BUTTON_RELEASE ||
			   type == XCB_MOTION_NOTIFY) {
			on_pointer(r, ev);
		} else if (type == XCB_MAPPING_NOTIFY) {
			if (((xcb_mapping_notify_event_t *)ev)->request == XCB_MAPPING_KEYBOARD &&
			    load_keymap(r) < 0) {
				pthread_mutex_lock(&r->lock);
				r->failed = true;
				pthread_mutex_unlock(&r->lock);
			}
		} else if (type == r->xkb_event_base) {
			/*
			 * All XKB events share one code; the kind is the second byte. Like
			 * xkbcommon's examples (and toolkits), only the core keyboard's count:
			 * the server also reports the changes of each slave keyboard.
			 */
			const xcb_xkb_map_notify_event_t *x = (xcb_xkb_map_notify_event_t *)ev;

			if ((x->xkbType == XCB_XKB_NEW_KEYBOARD_NOTIFY ||
			     x->xkbType == XCB_XKB_MAP_NOTIFY) &&
			    x->deviceID == r->device_id && load_keymap(r) < 0) {
				pthread_mutex_lock(&r->lock);
				r->failed = true;
				pthread_mutex_unlock(&r->lock);
			}
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

static int setup_xkb(struct recorder *r)
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

int recorder_start(struct recorder *r, const char *display, int slow_ms)
{
	const uint32_t mask = XCB_CW_OVERRIDE_REDIRECT | XCB_CW_EVENT_MASK;
	const uint32_t values[2] = {
	    1, XCB_EVENT_MASK_KEY_PRESS | XCB_EVENT_MASK_KEY_RELEASE | XCB_EVENT_MASK_BUTTON_PRESS |
		   XCB_EVENT_MASK_BUTTON_RELEASE | XCB_EVENT_MASK_POINTER_MOTION};
	xcb_intern_atom_reply_t *atom;
	xcb_screen_t *screen;
	int number = 0, r_;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->slow_ms = slow_ms;
	r->conn = xcb_connect(display, &number);
	if (xcb_connection_has_error(r->conn))
		return -ECONNREFUSED;
	/* Our own Xvfb: its setup and replies can be trusted. */
	screen = xcb_setup_roots_iterator(xcb_get_setup(r->conn)).data;
	r->width = screen->width_in_pixels;
	r->height = screen->height_in_pixels;
	r->win = xcb_generate_id(r->conn);
	xcb_create_window(r->conn, XCB_COPY_FROM_PARENT, r->win, screen->root, 0, 0,
			  (uint16_t)r->width, (uint16_t)r->height, 0, XCB_WINDOW_CLASS_INPUT_OUTPUT,
			  screen->root_visual, mask, values);
	xcb_map_window(r->conn, r->win);
	xcb_set_input_focus(r->conn, XCB_INPUT_FOCUS_POINTER_ROOT, r->win, XCB_CURRENT_TIME);
	atom = xcb_intern_atom_reply(r->conn, xcb_intern_atom(r->conn, 0, 15, "MXC_TEST_MARKER"),
				     NULL);
	if (!atom)
		return -EPROTO;
	r->marker_atom = atom->atom;
	free(atom);
	r_ = setup_xkb(r);
	if (r_ < 0)
		return r_;
	r->running = true;
	if (pthread_create(&r->thread, NULL, run, r) != 0) {
		r->running = false;
		return -EAGAIN;
	}
	return recorder_settle(r);
}

static void send_marker(struct recorder *r, uint32_t marker)
{
	xcb_client_message_event_t ev = {.response_type = XCB_CLIENT_MESSAGE,
					 .format = 32,
					 .window = r->win,
					 .type = r->marker_atom};

	ev.data.data32[0] = marker;
	xcb_send_event(r->conn, 0, r->win, XCB_EVENT_MASK_NO_EVENT, (const char *)&ev);
	xcb_flush(r->conn);
}

void recorder_stop(struct recorder *r)
{
	if (!r->conn)
		return;
	if (r->thread) {
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

int recorder_settle(struct recorder *r)
{
	struct timespec deadline;
	uint32_t marker = ++r->marker_sent;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
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

void recorder_clear(struct recorder *r)
{
	pthread_mutex_lock(&r->lock);
	r->n_events = 0;
	r->text_len = 0;
	if (r->text)
		r->text[0] = '\0';
	pthread_mutex_unlock(&r->lock);
}

char *recorder_text(struct recorder *r)
{
	char *t;

	pthread_mutex_lock(&r->lock);
	t = strndup(r->text ? r->text : "", r->text_len);
	pthread_mutex_unlock(&r->lock);
	return t;
}

size_t recorder_events(struct recorder *r, struct rec_event **ret)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->n_events;
	*ret = malloc((n ? n : 1) * sizeof(**ret));
	if (!*ret)
		n = 0;
	else if (n)
		memcpy(*ret, r->events, n * sizeof(**ret));
	pthread_mutex_unlock(&r->lock);
	return n;
}

int recorder_keys_down(struct recorder *r, uint8_t ret_keys[32])
{
	xcb_query_keymap_reply_t *k =
	    xcb_query_keymap_reply(r->conn, xcb_query_keymap(r->conn), NULL);

	if (!k)
		return -EPROTO;
	memcpy(ret_keys, k->keys, 32);
	free(k);
	return 0;
}

int recorder_pointer(struct recorder *r, int16_t *ret_x, int16_t *ret_y, uint16_t *ret_mask)
{
	xcb_query_pointer_reply_t *p =
	    xcb_query_pointer_reply(r->conn, xcb_query_pointer(r->conn, r->win), NULL);

	if (!p)
		return -EPROTO;
	if (ret_x)
		*ret_x = p->root_x;
	if (ret_y)
		*ret_y = p->root_y;
	if (ret_mask)
		*ret_mask = p->mask;
	free(p);
	return 0;
}

int recorder_keyboard_mapping(struct recorder *r, uint32_t **ret, size_t *ret_len)
{
	const xcb_setup_t *s = xcb_get_setup(r->conn);
	xcb_get_keyboard_mapping_reply_t *m = xcb_get_keyboard_mapping_reply(
	    r->conn,
	    xcb_get_keyboard_mapping(r->conn, s->min_keycode,
				     (uint8_t)(s->max_keycode - s->min_keycode + 1)),
	    NULL);
	size_t n;

	if (!m)
		return -EPROTO;
	n = (size_t)xcb_get_keyboard_mapping_keysyms_length(m);
	*ret = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!*ret) {
		free(m);
		return -ENOMEM;
	}
	memcpy(*ret, xcb_get_keyboard_mapping_keysyms(m), n * sizeof(uint32_t));
	*ret_len = n;
	free(m);
	return 0;
}

int recorder_lock_group(struct recorder *r, unsigned group)
{
	xcb_generic_error_t *e = xcb_request_check(
	    r->conn, xcb_xkb_latch_lock_state_checked(r->conn, XCB_XKB_ID_USE_CORE_KBD, 0, 0, 1,
						      (uint8_t)group, 0, 0, 0));

	if (e) {
		free(e);
		return -EPROTO;
	}
	return 0;
}

int recorder_locked_mods(struct recorder *r, uint8_t *ret)
{
	xcb_xkb_get_state_reply_t *s = xcb_xkb_get_state_reply(
	    r->conn, xcb_xkb_get_state(r->conn, XCB_XKB_ID_USE_CORE_KBD), NULL);

	if (!s)
		return -EPROTO;
	*ret = s->lockedMods;
	free(s);
	return 0;
}

int run_setxkbmap(const char *const *args)
{
	const char *argv[16] = {"/usr/bin/setxkbmap"};
	pid_t parent = getpid(), pid;
	size_t n = 1;
	int status;

	for (; args[n - 1] && n < sizeof(argv) / sizeof(argv[0]) - 1; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (!getenv("MXC_TEST_VERBOSE"))
				dup2(null, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}
