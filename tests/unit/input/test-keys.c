/*
 * Key chords against a real Xvfb and a recording client: press order and reverse release
 * order, named keys, level modifiers (Shift, AltGr), keys the layout lacks, held keys, and
 * refusals that send nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <xcb/xcb.h>

#include "world.h"

static struct world w;

static void setup(void)
{
	world_init(&w);
	cr_assert_eq(world_start(&w, 800, 600, 0), 0, "failed to start Xvfb and the recorder");
}

/* Runs after every test, even one whose assertion failed: nothing may outlive it. */
static void teardown(void)
{
	world_stop(&w);
}

TestSuite(keys, .init = setup, .fini = teardown, .timeout = 60);

static size_t settle_events(struct rec_event **ret)
{
	cr_assert_eq(recorder_settle(&w.rec), 0, "the recorder did not see the events");
	return recorder_events(&w.rec, ret);
}

static void assert_no_key_down(void)
{
	uint8_t keys[32], zero[32] = {0};

	cr_assert_eq(recorder_keys_down(&w.rec, keys), 0);
	cr_assert_eq(memcmp(keys, zero, sizeof(keys)), 0, "a key is still down");
}

static const char *name_of(xkb_keysym_t sym, char buf[64])
{
	if (xkb_keysym_get_name(sym, buf, 64) < 0)
		snprintf(buf, 64, "0x%x", sym);
	return buf;
}

/* Asserts the key events are exactly presses of want[] in order, then releases in reverse. */
static void expect_chord(const struct rec_event *ev, size_t n, const xkb_keysym_t *want,
			 size_t n_want)
{
	char a[64], b[64];

	cr_assert_eq(n, 2 * n_want, "%zu key events for a chord of %zu keys", n, n_want);
	for (size_t i = 0; i < n_want; i++) {
		const struct rec_event *p = &ev[i], *r = &ev[2 * n_want - 1 - i];

		cr_expect_eq(p->type, XCB_KEY_PRESS, "event %zu is not a press", i);
		cr_expect_eq(p->base, want[i], "press %zu is %s, not %s", i, name_of(p->base, a),
			     name_of(want[i], b));
		cr_expect_eq(r->type, XCB_KEY_RELEASE, "event %zu is not a release",
			     2 * n_want - 1 - i);
		cr_expect_eq(r->detail, p->detail, "release %zu is not in reverse order", i);
	}
}

Test(keys, chord_presses_in_order_and_releases_in_reverse)
{
	const xkb_keysym_t want[] = {XKB_KEY_Control_L, XKB_KEY_Shift_L, XKB_KEY_t};
	struct mxc_error err = {0};
	struct rec_event *ev;
	size_t n;

	cr_assert_eq(mxc_input_key(w.input, "ctrl+shift+t", &err), 0, "%s", err.msg);
	n = settle_events(&ev);
	expect_chord(ev, n, want, 3);
	/* The t press carries both modifiers: a client sees Ctrl+Shift+T. */
	cr_expect_eq(ev[2].state & (XCB_MOD_MASK_CONTROL | XCB_MOD_MASK_SHIFT),
		     XCB_MOD_MASK_CONTROL | XCB_MOD_MASK_SHIFT, "state %#x", ev[2].state);
	cr_expect_eq(ev[2].sym, XKB_KEY_T);
	free(ev);

	recorder_clear(&w.rec);
	cr_assert_eq(mxc_input_key(w.input, "Control + Alt + Delete", &err), 0, "%s", err.msg);
	{
		const xkb_keysym_t want2[] = {XKB_KEY_Control_L, XKB_KEY_Alt_L, XKB_KEY_Delete};

		n = settle_events(&ev);
		expect_chord(ev, n, want2, 3);
		free(ev);
	}
	assert_no_key_down();
}

Test(keys, named_keys_and_aliases)
{
	const struct {
		const char *name;
		xkb_keysym_t sym;
	} cases[] = {
	    {"Return", XKB_KEY_Return},
	    {"enter", XKB_KEY_Return},
	    {"F5", XKB_KEY_F5},
	    {"f12", XKB_KEY_F12},
	    {"super", XKB_KEY_Super_L},
	    {"win", XKB_KEY_Super_L},
	    {"cmd", XKB_KEY_Super_L},
	    {"KP_Enter", XKB_KEY_KP_Enter},
	    {"kp_enter", XKB_KEY_KP_Enter},
	    {"esc", XKB_KEY_Escape},
	    {"Tab", XKB_KEY_Tab},
	    {"backspace", XKB_KEY_BackSpace},
	    {"del", XKB_KEY_Delete},
	    {"Home", XKB_KEY_Home},
	    {"end", XKB_KEY_End},
	    {"pageup", XKB_KEY_Prior},
	    {"page_down", XKB_KEY_Next},
	    {"up", XKB_KEY_Up},
	    {"left", XKB_KEY_Left},
	    {"insert", XKB_KEY_Insert},
	    {"space", XKB_KEY_space},
	    {"a", XKB_KEY_a},
	    {"XF86AudioMute", XKB_KEY_XF86AudioMute},
	};

	for (size_t c = 0; c < MXC_ARRAY_SIZE(cases); c++) {
		struct mxc_error err = {0};
		struct rec_event *ev;
		size_t n;

		recorder_clear(&w.rec);
		cr_assert_eq(mxc_input_key(w.input, cases[c].name, &err), 0, "%s: %s",
			     cases[c].name, err.msg);
		n = settle_events(&ev);
		expect_chord(ev, n, &cases[c].sym, 1);
		free(ev);
	}
	assert_no_key_down();
}

Test(keys, characters_get_their_level_modifiers)
{
	struct mxc_error err = {0};
	struct rec_event *ev;
	char *text;
	size_t n;

	/* "A" is Shift+a; "ctrl++" is Control and plus, which is Shift+equal on "us". */
	cr_assert_eq(mxc_input_key(w.input, "A", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key(w.input, "ctrl++", &err), 0, "%s", err.msg);
	n = settle_events(&ev);
	{
		const xkb_keysym_t want[] = {XKB_KEY_Shift_L, XKB_KEY_a};
		const xkb_keysym_t want2[] = {XKB_KEY_Control_L, XKB_KEY_Shift_L, XKB_KEY_equal};

		cr_assert_eq(n, 10);
		expect_chord(ev, 4, want, 2);
		expect_chord(ev + 4, 6, want2, 3);
		cr_expect_eq(ev[1].sym, XKB_KEY_A);
		cr_expect_eq(ev[6].sym, XKB_KEY_plus);
	}
	free(ev);

	/* "@" on a German layout is AltGr+q. */
	cr_assert_eq(world_set_layout(&w, "de"), 0, "setxkbmap de failed");
	recorder_clear(&w.rec);
	cr_assert_eq(mxc_input_key(w.input, "@", &err), 0, "%s", err.msg);
	n = settle_events(&ev);
	{
		const xkb_keysym_t want[] = {XKB_KEY_ISO_Level3_Shift, XKB_KEY_q};

		expect_chord(ev, n, want, 2);
	}
	free(ev);
	text = recorder_text(&w.rec);
	cr_expect_str_eq(text, "@");
	free(text);
	assert_no_key_down();
}

Test(keys, a_key_the_layout_lacks_goes_on_a_spare_keycode)
{
	struct mxc_error err = {0};
	char *text;

	cr_assert_eq(mxc_input_key(w.input, "é", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key(w.input, "Cyrillic_zhe", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key(w.input, "😀", &err), 0, "%s", err.msg);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	text = recorder_text(&w.rec);
	cr_expect_str_eq(text, "éж😀");
	free(text);
	assert_no_key_down();
}

Test(keys, held_keys_stay_down_until_released)
{
	struct mxc_error err = {0};
	char *text;

	cr_assert_eq(mxc_input_key_down(w.input, "shift", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key(w.input, "a", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key_up(w.input, "shift", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key(w.input, "a", &err), 0, "%s", err.msg);
	/* A held key the layout lacks keeps its spare keycode until released. */
	cr_assert_eq(mxc_input_key_down(w.input, "ctrl+ñ", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key_up(w.input, "ctrl+ñ", &err), 0, "%s", err.msg);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	text = recorder_text(&w.rec);
	/* ctrl+ñ has no control character: xkbcommon gives the plain character. */
	cr_expect_str_eq(text, "Aañ");
	free(text);
	assert_no_key_down();
}

Test(keys, bad_chords_are_refused_and_send_nothing)
{
	static const char *const bad[] = {
	    "ctrl+bogus",	 "",	      "ctrl+",	 "ctrl++shift+nope",
	    "a+b+c+d+e+f+g+h+i", "ctrl+\x01", "NoSymbol"};
	struct mxc_error err = {0};
	struct rec_event *ev;
	size_t n;

	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++) {
		int r = mxc_input_key(w.input, bad[i], &err);

		cr_expect(r == -EINVAL || r == -E2BIG, "'%s' gave %d", bad[i], r);
	}
	cr_expect_eq(mxc_input_key(w.input, "ctrl+bogus", &err), -EINVAL);
	cr_expect(strstr(err.msg, "unknown key name 'bogus'"), "message: %s", err.msg);
	cr_expect_eq(mxc_input_key(w.input, NULL, &err), -EINVAL);
	cr_expect_eq(mxc_input_key_down(w.input, "shift+bogus", &err), -EINVAL);
	cr_expect_eq(mxc_input_key_up(w.input, "bogus", &err), -EINVAL);
	n = settle_events(&ev);
	cr_expect_eq(n, 0, "%zu events from refused chords", n);
	free(ev);
	assert_no_key_down();
}
