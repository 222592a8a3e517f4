/*
 * The pointer, against a real Xvfb and a recording client: clicks land where asked with the
 * right button and count, modifiers are held around them, scrolling uses buttons 4-7, a drag
 * moves through its points with the button held, bad arguments change nothing; a server that
 * dies or hangs.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <xcb/xcb.h>

#include "world.h"

static struct world w;

static void setup(void)
{
	world_init(&w);
	cr_assert_eq(world_start(&w, 1024, 768, 0), 0, "failed to start Xvfb and the recorder");
}

/* Runs after every test, even one whose assertion failed: nothing may outlive it. */
static void teardown(void)
{
	world_stop(&w);
}

TestSuite(pointer, .init = setup, .fini = teardown, .timeout = 60);

static size_t settle_events(struct rec_event **ret)
{
	cr_assert_eq(recorder_settle(&w.rec), 0, "the recorder did not see the events");
	return recorder_events(&w.rec, ret);
}

/* Asserts no key or button is down on the server. */
static void assert_nothing_pressed(void)
{
	uint8_t keys[32], zero[32] = {0};
	uint16_t mask;

	cr_assert_eq(recorder_keys_down(&w.rec, keys), 0);
	cr_assert_eq(memcmp(keys, zero, sizeof(keys)), 0, "a key is still down");
	cr_assert_eq(recorder_pointer(&w.rec, NULL, NULL, &mask), 0);
	cr_assert_eq(mask & 0x1f00, 0, "a button is still down (mask %#x)", mask);
}

Test(pointer, clicks_land_exactly_with_the_button_and_count)
{
	const struct {
		int32_t x, y;
		enum mxc_button b;
		unsigned count;
	} cases[] = {
	    {0, 0, MXC_BUTTON_LEFT, 1},	      {1023, 767, MXC_BUTTON_RIGHT, 1},
	    {512, 384, MXC_BUTTON_MIDDLE, 2}, {17, 700, MXC_BUTTON_LEFT, 3},
	    {900, 3, MXC_BUTTON_BACK, 1},     {300, 200, MXC_BUTTON_FORWARD, 2},
	    {301, 200, MXC_BUTTON_LEFT, 2},
	};
	struct mxc_error err = {0};

	for (size_t c = 0; c < MXC_ARRAY_SIZE(cases); c++) {
		struct rec_event *ev;
		size_t n, presses = 0, releases = 0;
		int32_t cx, cy;

		recorder_clear(&w.rec);
		cr_assert_eq(mxc_input_click(w.input, cases[c].x, cases[c].y, cases[c].b,
					     cases[c].count, NULL, &err),
			     0, "%s", err.msg);
		n = settle_events(&ev);
		for (size_t i = 0; i < n; i++) {
			if (ev[i].type == XCB_MOTION_NOTIFY) {
				cr_expect_eq(presses, 0, "motion after the first press");
				continue;
			}
			cr_assert(ev[i].type == XCB_BUTTON_PRESS ||
				  ev[i].type == XCB_BUTTON_RELEASE);
			cr_expect_eq(ev[i].detail, cases[c].b, "case %zu: button %u", c,
				     ev[i].detail);
			cr_expect_eq(ev[i].x, cases[c].x, "case %zu: x %d", c, ev[i].x);
			cr_expect_eq(ev[i].y, cases[c].y, "case %zu: y %d", c, ev[i].y);
			/* Strictly alternating press, release. */
			if (ev[i].type == XCB_BUTTON_PRESS)
				cr_expect_eq(presses++, releases);
			else
				cr_expect_eq(++releases, presses);
		}
		cr_expect_eq(presses, cases[c].count, "case %zu: %zu presses", c, presses);
		cr_expect_eq(releases, cases[c].count, "case %zu: %zu releases", c, releases);
		cr_assert_eq(mxc_input_cursor(w.input, &cx, &cy, &err), 0, "%s", err.msg);
		cr_expect(cx == cases[c].x && cy == cases[c].y, "cursor at (%d, %d)", cx, cy);
		free(ev);
	}
	assert_nothing_pressed();
}

Test(pointer, modifiers_are_held_around_the_click)
{
	const uint16_t want = XCB_MOD_MASK_CONTROL | XCB_MOD_MASK_SHIFT;
	struct mxc_error err = {0};
	struct rec_event *ev;
	size_t n, buttons = 0;

	cr_assert_eq(mxc_input_click(w.input, 40, 50, MXC_BUTTON_LEFT, 1, "ctrl+shift", &err), 0,
		     "%s", err.msg);
	n = settle_events(&ev);
	for (size_t i = 0; i < n; i++) {
		if (ev[i].type != XCB_BUTTON_PRESS && ev[i].type != XCB_BUTTON_RELEASE)
			continue;
		buttons++;
		cr_expect_eq(ev[i].state & want, want, "button event state %#x", ev[i].state);
	}
	cr_expect_eq(buttons, 2);
	free(ev);

	/* And the next click has none. */
	recorder_clear(&w.rec);
	cr_assert_eq(mxc_input_click(w.input, 41, 50, MXC_BUTTON_LEFT, 1, "", &err), 0, "%s",
		     err.msg);
	n = settle_events(&ev);
	for (size_t i = 0; i < n; i++)
		if (ev[i].type == XCB_BUTTON_PRESS)
			cr_expect_eq(ev[i].state & 0xff, 0, "state %#x", ev[i].state);
	free(ev);
	assert_nothing_pressed();
}

/* Counts button presses per button, checking each press has its release. */
static void count_buttons(const struct rec_event *ev, size_t n, unsigned counts[16])
{
	memset(counts, 0, 16 * sizeof(counts[0]));
	for (size_t i = 0; i < n; i++) {
		if (ev[i].type != XCB_BUTTON_PRESS)
			continue;
		cr_assert_lt(ev[i].detail, 16);
		counts[ev[i].detail]++;
		cr_assert(i + 1 < n && ev[i + 1].type == XCB_BUTTON_RELEASE &&
			      ev[i + 1].detail == ev[i].detail,
			  "press of %u without its release", ev[i].detail);
	}
}

Test(pointer, scrolling_uses_buttons_4_to_7_once_per_notch)
{
	const struct {
		int32_t dx, dy;
		unsigned up, down, left, right;
	} cases[] = {
	    {0, 3, 0, 3, 0, 0},	 {0, -2, 2, 0, 0, 0}, {4, 0, 0, 0, 0, 4},
	    {-1, 5, 0, 5, 1, 0}, {0, 0, 0, 0, 0, 0},
	};
	struct mxc_error err = {0};

	for (size_t c = 0; c < MXC_ARRAY_SIZE(cases); c++) {
		struct rec_event *ev;
		unsigned counts[16];
		size_t n;

		recorder_clear(&w.rec);
		cr_assert_eq(
		    mxc_input_scroll(w.input, 600, 300, cases[c].dx, cases[c].dy, NULL, &err), 0,
		    "%s", err.msg);
		n = settle_events(&ev);
		count_buttons(ev, n, counts);
		cr_expect_eq(counts[4], cases[c].up, "case %zu: %u up", c, counts[4]);
		cr_expect_eq(counts[5], cases[c].down, "case %zu: %u down", c, counts[5]);
		cr_expect_eq(counts[6], cases[c].left, "case %zu: %u left", c, counts[6]);
		cr_expect_eq(counts[7], cases[c].right, "case %zu: %u right", c, counts[7]);
		for (size_t i = 0; i < n; i++)
			if (ev[i].type == XCB_BUTTON_PRESS)
				cr_expect(ev[i].x == 600 && ev[i].y == 300, "scroll at (%d, %d)",
					  ev[i].x, ev[i].y);
		free(ev);
	}
	/* With a modifier: ctrl+scroll is zoom in most clients. */
	{
		struct rec_event *ev;
		size_t n, seen = 0;

		recorder_clear(&w.rec);
		cr_assert_eq(mxc_input_scroll(w.input, 10, 10, 0, -1, "ctrl", &err), 0, "%s",
			     err.msg);
		n = settle_events(&ev);
		for (size_t i = 0; i < n; i++)
			if (ev[i].type == XCB_BUTTON_PRESS) {
				seen++;
				cr_expect_eq(ev[i].detail, 4);
				cr_expect(ev[i].state & XCB_MOD_MASK_CONTROL);
			}
		cr_expect_eq(seen, 1);
		free(ev);
	}
	assert_nothing_pressed();
}

Test(pointer, drag_moves_through_the_points_with_the_button_held)
{
	const int32_t path[][2] = {{100, 100}, {120, 105}, {160, 130}, {161, 300}, {400, 301}};
	struct mxc_error err = {0};
	struct rec_event *ev;
	size_t n, next = 1, press = SIZE_MAX, release = SIZE_MAX;

	cr_assert_eq(mxc_input_move(w.input, 5, 5, &err), 0, "%s", err.msg);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	recorder_clear(&w.rec);
	cr_assert_eq(mxc_input_drag(w.input, path, MXC_ARRAY_SIZE(path), MXC_BUTTON_RIGHT, &err), 0,
		     "%s", err.msg);
	n = settle_events(&ev);
	for (size_t i = 0; i < n; i++) {
		if (ev[i].type == XCB_BUTTON_PRESS) {
			cr_expect_eq(press, SIZE_MAX, "two presses");
			press = i;
			cr_expect_eq(ev[i].detail, 3);
			cr_expect(ev[i].x == path[0][0] && ev[i].y == path[0][1],
				  "pressed at (%d, %d)", ev[i].x, ev[i].y);
		} else if (ev[i].type == XCB_BUTTON_RELEASE) {
			release = i;
			cr_expect_eq(ev[i].detail, 3);
			cr_expect(ev[i].x == path[4][0] && ev[i].y == path[4][1],
				  "released at (%d, %d)", ev[i].x, ev[i].y);
		} else if (ev[i].type == XCB_MOTION_NOTIFY && press != SIZE_MAX) {
			/* Every point after the first, in order, with button 3 held. */
			cr_assert_lt(next, MXC_ARRAY_SIZE(path), "motion past the last point");
			cr_expect(ev[i].x == path[next][0] && ev[i].y == path[next][1],
				  "motion %zu at (%d, %d)", next, ev[i].x, ev[i].y);
			cr_expect(ev[i].state & XCB_BUTTON_MASK_3, "button not held in motion");
			next++;
		}
	}
	cr_expect_neq(press, SIZE_MAX, "no press");
	cr_expect_neq(release, SIZE_MAX, "no release");
	cr_expect_gt(release, press);
	cr_expect_eq(next, MXC_ARRAY_SIZE(path), "moved through %zu of the points", next);
	free(ev);
	assert_nothing_pressed();
}

Test(pointer, bad_arguments_are_refused_and_send_nothing)
{
	const int32_t off_path[][2] = {{10, 10}, {20, 20}, {1024, 20}, {30, 30}};
	const int32_t one[][2] = {{10, 10}};
	struct mxc_error err = {0};
	struct rec_event *ev;
	size_t n;

	cr_expect_eq(mxc_input_move(w.input, -1, 0, &err), -ERANGE);
	cr_expect_eq(mxc_input_move(w.input, 1024, 0, &err), -ERANGE);
	cr_expect_eq(mxc_input_move(w.input, 0, 768, &err), -ERANGE);
	cr_expect(strstr(err.msg, "outside"), "message: %s", err.msg);
	cr_expect_eq(mxc_input_click(w.input, 0, -5, MXC_BUTTON_LEFT, 1, NULL, &err), -ERANGE);
	cr_expect_eq(mxc_input_click(w.input, 5, 5, MXC_BUTTON_LEFT, 0, NULL, &err), -EINVAL);
	cr_expect_eq(mxc_input_click(w.input, 5, 5, MXC_BUTTON_LEFT, 4, NULL, &err), -EINVAL);
	cr_expect_eq(mxc_input_click(w.input, 5, 5, (enum mxc_button)4, 1, NULL, &err), -EINVAL);
	cr_expect_eq(mxc_input_click(w.input, 5, 5, (enum mxc_button)0, 1, NULL, &err), -EINVAL);
	cr_expect_eq(mxc_input_click(w.input, 5, 5, MXC_BUTTON_LEFT, 1, "ctrl+nosuchkey", &err),
		     -EINVAL);
	cr_expect(strstr(err.msg, "nosuchkey"), "message: %s", err.msg);
	cr_expect_eq(mxc_input_button(w.input, (enum mxc_button)10, true, &err), -EINVAL);
	cr_expect_eq(mxc_input_drag(w.input, off_path, 4, MXC_BUTTON_LEFT, &err), -ERANGE);
	cr_expect_eq(mxc_input_drag(w.input, one, 1, MXC_BUTTON_LEFT, &err), -EINVAL);
	cr_expect_eq(mxc_input_drag(w.input, NULL, 2, MXC_BUTTON_LEFT, &err), -EINVAL);
	cr_expect_eq(mxc_input_scroll(w.input, 5, 5, 0, MXC_INPUT_MAX_SCROLL + 1, NULL, &err),
		     -EINVAL);
	cr_expect_eq(mxc_input_scroll(w.input, 5, 5000, 0, 1, NULL, &err), -ERANGE);

	n = settle_events(&ev);
	cr_expect_eq(n, 0, "%zu events from refused calls", n);
	free(ev);
	assert_nothing_pressed();
}

Test(pointer, held_buttons_and_keys_are_released_by_destroy)
{
	struct mxc_error err = {0};
	uint8_t keys[32], zero[32] = {0};
	uint16_t mask;

	cr_assert_eq(mxc_input_move(w.input, 50, 60, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_button(w.input, MXC_BUTTON_LEFT, true, &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key_down(w.input, "ctrl+alt", &err), 0, "%s", err.msg);
	cr_assert_eq(recorder_pointer(&w.rec, NULL, NULL, &mask), 0);
	cr_expect(mask & XCB_BUTTON_MASK_1, "button 1 not down");
	cr_assert_eq(recorder_keys_down(&w.rec, keys), 0);
	cr_expect_neq(memcmp(keys, zero, 32), 0, "no key down");

	mxc_input_destroy(w.input);
	w.input = NULL;
	assert_nothing_pressed();
}

Test(pointer, a_dead_server_fails_cleanly_and_for_good)
{
	struct mxc_error err = {0};
	int r;

	/* SIGPIPE keeps its default action: the calls must not let one through. */
	recorder_stop(&w.rec);
	testx_stop(&w.server);
	r = mxc_input_click(w.input, 10, 10, MXC_BUTTON_LEFT, 1, NULL, &err);
	cr_expect_lt(r, 0, "a click on a dead server succeeded");
	cr_expect_eq(mxc_input_type(w.input, "abc", 3, &err), -EIO, "%s", err.msg);
	cr_expect_eq(mxc_input_key(w.input, "a", &err), -EIO);
	cr_expect_eq(mxc_input_restore_keymap(w.input, &err), -EIO);
}

Test(pointer, a_server_that_stops_answering_times_out)
{
	struct mxc_error err = {0};
	int r;

	mxc_display_set_timeout(w.display, 300);
	cr_assert_eq(kill(w.server.pid, SIGSTOP), 0);
	r = mxc_input_type(w.input, "abc", 3, &err);
	kill(w.server.pid, SIGCONT);
	cr_expect_eq(r, -ETIMEDOUT, "type: %d (%s)", r, err.msg);
	/* The reply stream can't be trusted any more. */
	cr_expect_eq(mxc_input_move(w.input, 1, 1, &err), -EIO);
}
