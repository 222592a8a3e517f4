/*
 * Input injection through XTEST: the object's life, waiting for replies, and the pointer
 * (motion, buttons, clicks, drags, scrolling).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xcb/xcbext.h>
#include <xcb/xkb.h>
#include <xcb/xtest.h>

#include "input-private.h"

int input_check_usable(struct mxc_input *in, struct mxc_error *err)
{
	if (in->broken || xcb_connection_has_error(in->conn)) {
		in->broken = true;
		return mxc_error_set(err, -EIO, "the connection to the display failed earlier");
	}
	return 0;
}

int input_wait_reply(struct mxc_input *in, unsigned int sequence, size_t min_size, const char *what,
		     void **ret_reply, struct mxc_error *err)
{
	xcb_generic_error_t *xerr = NULL;
	void *reply = NULL;
	int r;

	r = mxc_display_wait_reply(in->display, sequence, &reply, &xerr, err);
	if (r < 0) {
		in->broken = true;
		return mxc_error_prefix(err, "failed to read the reply to %s", what);
	}
	if (xerr) {
		unsigned code = xerr->error_code;

		free(xerr);
		return mxc_error_set(err, -EPROTO, "the display refused %s (X error %u)", what,
				     code);
	}
	/* xcb allocated 32 + 4 * length bytes; a fixed-size reply struct must fit. */
	if (32 + 4 * (size_t)((xcb_generic_reply_t *)reply)->length < min_size) {
		free(reply);
		return mxc_error_set(err, -EPROTO, "malformed reply to %s (too short)", what);
	}
	*ret_reply = reply;
	return 0;
}

int input_round_trip(struct mxc_input *in, struct mxc_error *err)
{
	xcb_get_input_focus_cookie_t cookie = xcb_get_input_focus(in->conn);
	void *reply;
	int r;

	r = input_wait_reply(in, cookie.sequence, sizeof(xcb_get_input_focus_reply_t),
			     "GetInputFocus", &reply, err);
	if (r < 0)
		return r;
	free(reply);
	return 0;
}

void input_fake_key(struct mxc_input *in, bool down, uint8_t keycode)
{
	/* The time field is a delay in XTEST: 0 (CurrentTime) means now. */
	xcb_test_fake_input(in->conn, down ? XCB_KEY_PRESS : XCB_KEY_RELEASE, keycode,
			    XCB_CURRENT_TIME, XCB_NONE, 0, 0, 0);
}

void input_press(struct mxc_input *in, uint8_t keycode)
{
	if (in->press_count[keycode]++ == 0)
		input_fake_key(in, true, keycode);
}

void input_release(struct mxc_input *in, uint8_t keycode)
{
	if (in->press_count[keycode] == 0)
		return;
	if (--in->press_count[keycode] == 0)
		input_fake_key(in, false, keycode);
}

static void fake_button(struct mxc_input *in, bool down, uint8_t button)
{
	xcb_test_fake_input(in->conn, down ? XCB_BUTTON_PRESS : XCB_BUTTON_RELEASE, button,
			    XCB_CURRENT_TIME, XCB_NONE, 0, 0, 0);
}

static void fake_motion(struct mxc_input *in, int32_t x, int32_t y)
{
	/* detail 0: absolute coordinates on root's screen. */
	xcb_test_fake_input(in->conn, XCB_MOTION_NOTIFY, 0, XCB_CURRENT_TIME, in->root, (int16_t)x,
			    (int16_t)y, 0);
}

/* Ends an action: a round trip, so that the server has processed every event on return. */
static int finish_action(struct mxc_input *in, struct mxc_sigpipe_guard *guard, int r,
			 struct mxc_error *err)
{
	if (r >= 0)
		r = input_round_trip(in, err);
	else if (!in->broken)
		xcb_flush(in->conn);
	mxc_sigpipe_restore(guard);
	return r;
}

static int check_point(const struct mxc_input *in, int32_t x, int32_t y, struct mxc_error *err)
{
	if (x < 0 || y < 0 || (uint32_t)x >= in->width || (uint32_t)y >= in->height)
		return mxc_error_set(err, -ERANGE, "point (%d, %d) is outside the %ux%u screen", x,
				     y, in->width, in->height);
	return 0;
}

static int check_button(enum mxc_button b, struct mxc_error *err)
{
	switch (b) {
	case MXC_BUTTON_LEFT:
	case MXC_BUTTON_MIDDLE:
	case MXC_BUTTON_RIGHT:
	case MXC_BUTTON_BACK:
	case MXC_BUTTON_FORWARD:
		return 0;
	}
	return mxc_error_set(err, -EINVAL, "unknown button %d (1, 2, 3, 8 or 9)", (int)b);
}

/* Reads the extension replies that xcb_prefetch_extension_data asked for. */
static int check_extension(struct mxc_input *in, xcb_extension_t *ext, const char *name,
			   struct mxc_error *err)
{
	const xcb_query_extension_reply_t *r = xcb_get_extension_data(in->conn, ext);

	if (!r || !r->present)
		return mxc_error_set(err, -EOPNOTSUPP, "the display has no %s extension", name);
	return 0;
}

/* Checks XTEST and XKB, turns XKB on for this connection and finds the core keyboard. */
static int setup_extensions(struct mxc_input *in, struct mxc_error *err)
{
	xcb_test_get_version_cookie_t ver_cookie;
	xcb_xkb_use_extension_cookie_t use_cookie;
	xcb_xkb_get_device_info_cookie_t dev_cookie;
	xcb_test_get_version_reply_t *ver = NULL;
	xcb_xkb_use_extension_reply_t *use = NULL;
	xcb_xkb_get_device_info_reply_t *dev = NULL;
	int r;

	/*
	 * xcb_get_extension_data blocks without a deadline: ask now, and let a round trip
	 * (which has one) bring the answers in before reading them.
	 */
	xcb_prefetch_extension_data(in->conn, &xcb_test_id);
	xcb_prefetch_extension_data(in->conn, &xcb_xkb_id);
	r = input_round_trip(in, err);
	if (r < 0)
		return r;
	r = check_extension(in, &xcb_test_id, "XTEST", err);
	if (r < 0)
		return r;
	r = check_extension(in, &xcb_xkb_id, "XKEYBOARD", err);
	if (r < 0)
		return r;

	ver_cookie = xcb_test_get_version(in->conn, 2, 2);
	use_cookie = xcb_xkb_use_extension(in->conn, 1, 0);
	dev_cookie = xcb_xkb_get_device_info(in->conn, XCB_XKB_ID_USE_CORE_KBD, 0, 0, 0, 0, 0, 0);
	r = input_wait_reply(in, ver_cookie.sequence, sizeof(*ver), "XTEST GetVersion",
			     (void **)&ver, err);
	if (r < 0)
		goto out;
	r = input_wait_reply(in, use_cookie.sequence, sizeof(*use), "XkbUseExtension",
			     (void **)&use, err);
	if (r < 0)
		goto out;
	r = input_wait_reply(in, dev_cookie.sequence, sizeof(*dev), "XkbGetDeviceInfo",
			     (void **)&dev, err);
	if (r < 0)
		goto out;
	if (ver->major_version < 2 || (ver->major_version == 2 && ver->minor_version < 2)) {
		r = mxc_error_set(err, -EOPNOTSUPP, "the display has XTEST %u.%u (2.2 needed)",
				  ver->major_version, ver->minor_version);
		goto out;
	}
	if (!use->supported) {
		r = mxc_error_set(err, -EOPNOTSUPP, "the display refuses XKB 1.0 (it has %u.%u)",
				  use->serverMajor, use->serverMinor);
		goto out;
	}
	in->device_id = dev->deviceID;
	r = 0;
out:
	/* Replies not read yet after a failure would stay queued in xcb: drop them. */
	if (!ver)
		xcb_discard_reply(in->conn, ver_cookie.sequence);
	if (!use)
		xcb_discard_reply(in->conn, use_cookie.sequence);
	if (!dev)
		xcb_discard_reply(in->conn, dev_cookie.sequence);
	free(ver);
	free(use);
	free(dev);
	return r;
}

static void silent_log(struct xkb_context *ctx, enum xkb_log_level level, const char *fmt,
		       va_list args)
{
	/* Library code doesn't print; a keymap xkbcommon can't read fails on its own. */
}

int mxc_input_create(struct mxc_display *d, struct mxc_input **ret, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	const xcb_setup_t *setup;
	struct mxc_input *in;
	int r;

	in = calloc(1, sizeof(*in));
	if (!in)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	in->display = d;
	in->conn = mxc_display_xcb(d);
	in->root = mxc_display_root(d);
	mxc_display_size(d, &in->width, &in->height);
	in->grace_ns = (uint64_t)MXC_INPUT_DEFAULT_REMAP_GRACE_MS * 1000000;

	setup = xcb_get_setup(in->conn);
	if (setup->min_keycode < 8 || setup->min_keycode > setup->max_keycode) {
		free(in);
		return mxc_error_set(err, -EPROTO,
				     "failed to set up input: bad keycode range %u..%u",
				     setup->min_keycode, setup->max_keycode);
	}
	in->min_keycode = setup->min_keycode;
	in->max_keycode = setup->max_keycode;

	in->ctx =
	    xkb_context_new(XKB_CONTEXT_NO_DEFAULT_INCLUDES | XKB_CONTEXT_NO_ENVIRONMENT_NAMES);
	if (!in->ctx) {
		free(in);
		return mxc_error_set(err, -ENOMEM, "failed to set up input: out of memory");
	}
	xkb_context_set_log_fn(in->ctx, silent_log);

	mxc_sigpipe_block(&guard);
	r = setup_extensions(in, err);
	if (r >= 0)
		r = keymap_refresh(in, REFRESH_FORCE, err);
	mxc_sigpipe_restore(&guard);
	if (r < 0) {
		mxc_error_prefix(err, "failed to set up input");
		in->broken = true; /* nothing to release or restore */
		mxc_input_destroy(in);
		return r;
	}
	*ret = in;
	return 0;
}

void input_sleep_until(uint64_t when_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(when_ns / 1000000000),
			      .tv_nsec = (long)(when_ns % 1000000000)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void mxc_input_destroy(struct mxc_input *in)
{
	struct mxc_sigpipe_guard guard;

	if (!in)
		return;
	if (!in->broken && !xcb_connection_has_error(in->conn)) {
		uint64_t wait_ns;

		mxc_sigpipe_block(&guard);
		keys_release_held(in);
		for (unsigned kc = 0; kc < KEYCODES; kc++)
			if (in->press_count[kc]) {
				in->press_count[kc] = 0;
				input_fake_key(in, false, (uint8_t)kc);
			}
		for (uint8_t b = 1; b < 16; b++)
			if (in->buttons_down & (1u << b))
				fake_button(in, false, b);
		in->buttons_down = 0;
		/* Clients get the grace period to read the last remapped keys, then they go. */
		wait_ns = slots_expire(in, mxc_now_mono_ns(), false);
		if (wait_ns) {
			xcb_flush(in->conn);
			input_sleep_until(mxc_now_mono_ns() + wait_ns);
		}
		slots_expire(in, mxc_now_mono_ns(), true);
		/* Fresh maps of the other keys, which the write sends back. */
		if (keymap_refresh(in, REFRESH, NULL) == 0)
			slots_write(in, NULL);
		input_round_trip(in, NULL);
		mxc_sigpipe_restore(&guard);
	}
	keymap_finish(in);
	xkb_context_unref(in->ctx);
	free(in);
}

void mxc_input_set_remap_grace(struct mxc_input *in, unsigned ms)
{
	in->grace_ns = (uint64_t)ms * 1000000;
}

int mxc_input_restore_keymap(struct mxc_input *in, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	uint64_t next_ns;
	int r;

	r = input_check_usable(in, err);
	if (r < 0)
		return r;
	mxc_sigpipe_block(&guard);
	/* Fresh maps of the other keys, which the write sends back. */
	r = keymap_refresh(in, REFRESH, err);
	next_ns = slots_expire(in, mxc_now_mono_ns(), false);
	if (r >= 0)
		r = slots_write(in, err);
	r = finish_action(in, &guard, r, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to restore the keyboard mapping");
	if (!next_ns)
		return 0;
	return next_ns / 1000000 >= INT32_MAX ? INT32_MAX : (int)(next_ns / 1000000) + 1;
}

int mxc_input_sync(struct mxc_input *in, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	int r;

	r = input_check_usable(in, err);
	if (r < 0)
		return r;
	mxc_sigpipe_block(&guard);
	r = finish_action(in, &guard, 0, err);
	return r < 0 ? mxc_error_prefix(err, "failed to sync with the display") : 0;
}

int mxc_input_move(struct mxc_input *in, int32_t x, int32_t y, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	int r;

	r = input_check_usable(in, err);
	if (r >= 0)
		r = check_point(in, x, y, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to move the pointer");
	mxc_sigpipe_block(&guard);
	fake_motion(in, x, y);
	r = finish_action(in, &guard, 0, err);
	return r < 0 ? mxc_error_prefix(err, "failed to move the pointer") : 0;
}

int mxc_input_button(struct mxc_input *in, enum mxc_button b, bool down, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	int r;

	r = input_check_usable(in, err);
	if (r >= 0)
		r = check_button(b, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to %s a button", down ? "press" : "release");
	mxc_sigpipe_block(&guard);
	fake_button(in, down, (uint8_t)b);
	if (down)
		in->buttons_down |= (uint16_t)(1u << b);
	else
		in->buttons_down &= (uint16_t) ~(1u << b);
	r = finish_action(in, &guard, 0, err);
	return r < 0 ? mxc_error_prefix(err, "failed to %s button %d", down ? "press" : "release",
					(int)b)
		     : 0;
}

/* The modifiers argument of click and scroll: NULL or "" for none. */
static int resolve_modifiers(struct mxc_input *in, const char *modifiers, struct key_press *keys,
			     size_t *ret_n, struct mxc_error *err)
{
	if (!modifiers || !*modifiers) {
		*ret_n = 0;
		return 0;
	}
	return keys_resolve_chord(in, modifiers, keys, ret_n, err);
}

/* Moves, presses the modifiers, runs the buttons, releases the modifiers. */
static int pointer_action(struct mxc_input *in, int32_t x, int32_t y, const char *modifiers,
			  const uint8_t *buttons, const unsigned *counts, size_t n_buttons,
			  struct mxc_error *err)
{
	struct key_press keys[MXC_INPUT_MAX_CHORD_KEYS];
	struct mxc_sigpipe_guard guard;
	size_t n_keys = 0;
	int r;

	r = check_point(in, x, y, err);
	if (r < 0)
		return r;
	mxc_sigpipe_block(&guard);
	r = resolve_modifiers(in, modifiers, keys, &n_keys, err);
	if (r < 0) {
		mxc_sigpipe_restore(&guard);
		return r;
	}
	fake_motion(in, x, y);
	for (size_t i = 0; i < n_keys; i++)
		keys_press(in, &keys[i]);
	for (size_t i = 0; i < n_buttons; i++)
		for (unsigned c = 0; c < counts[i]; c++) {
			fake_button(in, true, buttons[i]);
			fake_button(in, false, buttons[i]);
		}
	for (size_t i = n_keys; i-- > 0;)
		keys_release(in, &keys[i]);
	r = finish_action(in, &guard, 0, err);
	if (r >= 0 && n_keys)
		slots_mark_used(in, mxc_now_mono_ns());
	return r;
}

int mxc_input_click(struct mxc_input *in, int32_t x, int32_t y, enum mxc_button b, unsigned count,
		    const char *modifiers, struct mxc_error *err)
{
	uint8_t button = (uint8_t)b;
	int r;

	r = input_check_usable(in, err);
	if (r >= 0)
		r = check_button(b, err);
	if (r >= 0 && (count < 1 || count > 3))
		r = mxc_error_set(err, -EINVAL, "click count %u (1 to 3)", count);
	if (r >= 0)
		r = pointer_action(in, x, y, modifiers, &button, &count, 1, err);
	return r < 0 ? mxc_error_prefix(err, "failed to click") : 0;
}

int mxc_input_scroll(struct mxc_input *in, int32_t x, int32_t y, int32_t dx, int32_t dy,
		     const char *modifiers, struct mxc_error *err)
{
	uint8_t buttons[2];
	unsigned counts[2];
	int r;

	r = input_check_usable(in, err);
	if (r >= 0 && (dx < -MXC_INPUT_MAX_SCROLL || dx > MXC_INPUT_MAX_SCROLL ||
		       dy < -MXC_INPUT_MAX_SCROLL || dy > MXC_INPUT_MAX_SCROLL))
		r = mxc_error_set(err, -EINVAL, "scroll by (%d, %d) notches (at most %d each way)",
				  dx, dy, MXC_INPUT_MAX_SCROLL);
	if (r < 0)
		return mxc_error_prefix(err, "failed to scroll");
	/* X: 4 up, 5 down, 6 left, 7 right. */
	buttons[0] = dy < 0 ? 4 : 5;
	counts[0] = (unsigned)(dy < 0 ? -dy : dy);
	buttons[1] = dx < 0 ? 6 : 7;
	counts[1] = (unsigned)(dx < 0 ? -dx : dx);
	r = pointer_action(in, x, y, modifiers, buttons, counts, 2, err);
	return r < 0 ? mxc_error_prefix(err, "failed to scroll") : 0;
}

int mxc_input_drag(struct mxc_input *in, const int32_t (*points)[2], size_t n, enum mxc_button b,
		   struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	int r;

	r = input_check_usable(in, err);
	if (r >= 0)
		r = check_button(b, err);
	if (r >= 0 && (!points || n < 2 || n > MXC_INPUT_MAX_DRAG_POINTS))
		r = mxc_error_set(err, -EINVAL, "a drag needs 2 to %d points, not %zu",
				  MXC_INPUT_MAX_DRAG_POINTS, points ? n : 0);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = check_point(in, points[i][0], points[i][1], err);
		if (r < 0)
			mxc_error_prefix(err, "point %zu", i);
	}
	if (r < 0)
		return mxc_error_prefix(err, "failed to drag");
	mxc_sigpipe_block(&guard);
	fake_motion(in, points[0][0], points[0][1]);
	fake_button(in, true, (uint8_t)b);
	for (size_t i = 1; i < n; i++)
		fake_motion(in, points[i][0], points[i][1]);
	fake_button(in, false, (uint8_t)b);
	r = finish_action(in, &guard, 0, err);
	return r < 0 ? mxc_error_prefix(err, "failed to drag") : 0;
}

int mxc_input_cursor(struct mxc_input *in, int32_t *ret_x, int32_t *ret_y, struct mxc_error *err)
{
	xcb_query_pointer_cookie_t cookie;
	xcb_query_pointer_reply_t *reply;
	struct mxc_sigpipe_guard guard;
	int r;

	r = input_check_usable(in, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to read the pointer position");
	mxc_sigpipe_block(&guard);
	cookie = xcb_query_pointer(in->conn, in->root);
	r = input_wait_reply(in, cookie.sequence, sizeof(*reply), "QueryPointer", (void **)&reply,
			     err);
	mxc_sigpipe_restore(&guard);
	if (r < 0)
		return mxc_error_prefix(err, "failed to read the pointer position");
	if (ret_x)
		*ret_x = reply->root_x;
	if (ret_y)
		*ret_y = reply->root_y;
	free(reply);
	return 0;
}
