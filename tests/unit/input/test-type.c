/*
 * mxc_input_type against a real Xvfb and a recording client that translates key events the way
 * real clients do: exactly the text, for every script, under several layouts; the keyboard
 * mapping given back after the grace period; no leaking modifiers or locks; the remap race.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <xcb/xcb.h>

#include "world.h"

static struct world w;

static void start(int slow_ms)
{
	world_init(&w);
	cr_assert_eq(world_start(&w, 800, 600, slow_ms), 0,
		     "failed to start Xvfb and the recorder");
}

static void setup(void)
{
	start(0);
}

/* Runs after every test, even one whose assertion failed: nothing may outlive it. */
static void teardown(void)
{
	world_stop(&w);
}

TestSuite(type, .init = setup, .fini = teardown, .timeout = 120);
/*
 * Same, with a recorder that takes 25 ms to fetch a changed keymap (a busy client; a fetch
 * takes a millisecond or two otherwise). A remap batch reaches it as three notifications (XKB
 * map notify, core MappingNotify, and XKB new-keyboard notify when the master keyboard takes
 * the XTEST keyboard's keymap), so it is 75 ms behind per batch.
 */
TestSuite(type_slow, .init = NULL, .fini = teardown, .timeout = 120);

/* What a client reads for text: Return is "\r" ("\r\n" and "\n" are typed as Return). */
static char *expected(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;

	cr_assert_not_null(out);
	for (const char *p = text; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		*o++ = *p == '\n' ? '\r' : *p;
	}
	*o = '\0';
	return out;
}

/* Types text and asserts the recorder read exactly it. */
static void type_and_check(const char *what, const char *text)
{
	struct mxc_error err = {0};
	char *got, *want = expected(text);

	/* Whatever came before must be read before it is forgotten. */
	cr_assert_eq(recorder_settle(&w.rec), 0, "%s: the recorder failed", what);
	recorder_clear(&w.rec);
	cr_assert_eq(mxc_input_type(w.input, text, strlen(text), &err), 0, "%s: %s", what, err.msg);
	cr_assert_eq(recorder_settle(&w.rec), 0, "%s: the recorder failed", what);
	got = recorder_text(&w.rec);
	cr_expect_str_eq(got, want, "%s: typed\n  %s\nread back\n  %s", what, want, got);
	free(got);
	free(want);
}

static void assert_no_key_down(void)
{
	uint8_t keys[32], zero[32] = {0};

	cr_assert_eq(recorder_keys_down(&w.rec, keys), 0);
	cr_assert_eq(memcmp(keys, zero, sizeof(keys)), 0, "a key is still down");
}

static char *printable_ascii(void)
{
	char *s = malloc(0x7f - 0x20 + 8), *o = s;

	cr_assert_not_null(s);
	for (int c = 0x20; c < 0x7f; c++)
		*o++ = (char)c;
	strcpy(o, "\n\t\r\nx");
	return s;
}

static const char latin[] = "àâäçéèêëîïôöùûüÿñÑßÀÉÈÊÇÖÜÄẞøØåÅæÆœŒ¿¡€£¥©®°±µ¶·½ ÿŸ łŁ ăĂ";
static const char cyrillic[] = "Съешь же ещё этих мягких французских булок, да выпей чаю. ЁЖИК";
static const char cjk[] = "日本語のテキスト、中文字符，한국어 テスト。東京都";
/* Above U+FFFF, skin tones, ZWJ sequences, flags, variation selectors. */
static const char emoji[] =
    "😀👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🧑🏿‍🚀 𝄞 🀄";

/*
 * At least 500 code points mixing everything, with far more distinct characters missing from
 * any one layout than there are spare keycodes, so that it is typed in several chunks.
 */
static char *long_mixed(void)
{
	static const char *const parts[] = {
	    "The quick brown fox jumps over the lazy dog. ",
	    "Grüße aus Köln, señor Muñoz! ",
	    "Привет, мир: Эх, чужак! ",
	    "一二三四五六七八九十百千万円年月日時分秒週曜春夏秋冬東西南北上下左右前後内外山川海空雨"
	    "雪風花鳥魚犬猫馬牛羊",
	    "ひらがなカタカナ漢字 ",
	    "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗 ",
	    "αβγδεζηθικλμνξοπρστυφχψω ",
	    "{[(<@#$%^&*_+=|\\/~`>)]} ",
	};
	size_t cap = 8192, len = 0;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < MXC_ARRAY_SIZE(parts); i++) {
			size_t n = strlen(parts[(i + (size_t)round) % MXC_ARRAY_SIZE(parts)]);

			cr_assert_lt(len + n, cap);
			memcpy(s + len, parts[(i + (size_t)round) % MXC_ARRAY_SIZE(parts)], n);
			len += n;
		}
	s[len] = '\0';
	return s;
}

static size_t code_points(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Criterion copies parameters into the test's process: no pointers in them. */
struct layout_param {
	char name[16];
};

ParameterizedTestParameters(type, exact_text_under_each_layout)
{
	static struct layout_param layouts[] = {{"us"}, {"de"}, {"fr"}, {"ru"}, {"us,ru"}};

	return cr_make_param_array(struct layout_param, layouts, MXC_ARRAY_SIZE(layouts));
}

ParameterizedTest(struct layout_param *layout, type, exact_text_under_each_layout)
{
	char *ascii = printable_ascii(), *mixed = long_mixed();

	cr_assert_eq(world_set_layout(&w, layout->name), 0, "setxkbmap %s failed", layout->name);
	cr_assert_geq(code_points(mixed), 500);
	type_and_check("ASCII", ascii);
	type_and_check("Latin", latin);
	type_and_check("Cyrillic", cyrillic);
	type_and_check("CJK", cjk);
	type_and_check("emoji", emoji);
	type_and_check("long mixed", mixed);
	/* Everything again, now that many keysyms sit on spare keycodes. */
	type_and_check("ASCII again", ascii);
	type_and_check("Cyrillic again", cyrillic);
	assert_no_key_down();
	free(ascii);
	free(mixed);
}

static void mapping(uint32_t **ret, size_t *ret_len)
{
	cr_assert_eq(recorder_keyboard_mapping(&w.rec, ret, ret_len), 0);
}

static bool same_mapping(const uint32_t *a, size_t an, const uint32_t *b, size_t bn)
{
	return an == bn && memcmp(a, b, an * sizeof(*a)) == 0;
}

/* Keycodes that had keysyms before have the same ones now: remaps touch spare keycodes only. */
static void expect_only_spare_keycodes_changed(const uint32_t *a, size_t an, const uint32_t *b,
					       size_t bn)
{
	const size_t keycodes = 248; /* 8..255 on Xvfb */
	size_t per = an / keycodes, changed = 0;

	cr_assert_eq(an, bn, "the mapping changed width");
	cr_assert_eq(an % keycodes, 0);
	for (size_t k = 0; k < keycodes; k++) {
		bool spare = true;

		for (size_t i = 0; i < per; i++)
			spare = spare && a[k * per + i] == 0;
		if (memcmp(a + k * per, b + k * per, per * sizeof(*a)) == 0)
			continue;
		changed++;
		cr_expect(spare, "keycode %zu had keysyms and changed (%#x -> %#x)", k + 8,
			  a[k * per], b[k * per]);
	}
	cr_expect_gt(changed, 0);
}

Test(type, keymap_is_given_back_after_the_grace_period)
{
	struct mxc_error err = {0};
	uint32_t *before, *during, *after;
	size_t nb, nd, na;
	int due;

	mxc_input_set_remap_grace(w.input, 200);
	mapping(&before, &nb);
	type_and_check("missing characters", "Ωμέγα 日本 😀");
	mapping(&during, &nd);
	cr_expect_not(same_mapping(before, nb, during, nd), "no keycode was remapped");
	expect_only_spare_keycodes_changed(before, nb, during, nd);

	/* Too early: clients may still be reading the events. */
	due = mxc_input_restore_keymap(w.input, &err);
	cr_assert_gt(due, 0, "restore due in %d ms (%s)", due, err.msg);
	cr_assert_leq(due, 201);
	mapping(&after, &na);
	cr_expect(same_mapping(during, nd, after, na), "restored within the grace period");
	free(after);

	usleep((useconds_t)due * 1000);
	cr_assert_eq(mxc_input_restore_keymap(w.input, &err), 0, "%s", err.msg);
	mapping(&after, &na);
	cr_expect(same_mapping(before, nb, after, na), "the mapping was not given back");
	free(after);

	/* Typing again after the restore still reads right. */
	type_and_check("again", "Ωμέγα 日本 😀");
	free(before);
	free(during);
}

Test(type, a_restore_after_a_layout_change_keeps_the_new_layout)
{
	struct mxc_error err = {0};
	uint32_t *de, *after;
	size_t nd, na;
	int due;

	mxc_input_set_remap_grace(w.input, 50);
	type_and_check("missing characters", "Ωμέγα 日本 😀");
	cr_assert_eq(world_set_layout(&w, "de"), 0);
	mapping(&de, &nd);
	usleep(60 * 1000);
	due = mxc_input_restore_keymap(w.input, &err);
	cr_assert_eq(due, 0, "restore: %d (%s)", due, err.msg);
	mapping(&after, &na);
	cr_expect(same_mapping(de, nd, after, na), "the restore changed the new layout");
	type_and_check("de", "yz@ Ωμέγα");
	free(de);
	free(after);
}

Test(type, destroy_gives_the_keymap_back)
{
	uint32_t *before, *after;
	size_t nb, na;

	mapping(&before, &nb);
	type_and_check("missing characters", "ĉu ŝi 한국어");
	mxc_input_destroy(w.input);
	w.input = NULL;
	mapping(&after, &na);
	cr_expect(same_mapping(before, nb, after, na), "the mapping was not given back");
	free(before);
	free(after);
}

Test(type, caps_lock_and_held_modifiers_do_not_leak)
{
	struct mxc_error err = {0};
	uint8_t locked;
	char *text;

	cr_assert_eq(mxc_input_key(w.input, "Caps_Lock", &err), 0, "%s", err.msg);
	cr_assert_eq(recorder_locked_mods(&w.rec, &locked), 0);
	cr_assert(locked & XCB_MOD_MASK_LOCK, "Caps Lock did not lock");
	type_and_check("with Caps Lock", "abc ABC ёж ÉÀ 1!");
	cr_assert_eq(recorder_locked_mods(&w.rec, &locked), 0);
	cr_expect(locked & XCB_MOD_MASK_LOCK, "Caps Lock was not locked again");
	cr_assert_eq(mxc_input_key(w.input, "Caps_Lock", &err), 0, "%s", err.msg);

	cr_assert_eq(mxc_input_key_down(w.input, "ctrl+shift", &err), 0, "%s", err.msg);
	type_and_check("with ctrl+shift held", "abc XYZ 12 ;");
	/* Still held afterwards. */
	recorder_clear(&w.rec);
	cr_assert_eq(mxc_input_key(w.input, "a", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key_up(w.input, "ctrl+shift", &err), 0, "%s", err.msg);
	cr_assert_eq(mxc_input_key(w.input, "a", &err), 0, "%s", err.msg);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	text = recorder_text(&w.rec);
	/* Ctrl+Shift+a is the control character 0x01 for xkbcommon. */
	cr_expect_str_eq(text, "\x01"
			       "a");
	free(text);
	assert_no_key_down();
}

Test(type, the_active_group_is_used)
{
	struct mxc_error err = {0};

	cr_assert_eq(world_set_layout(&w, "us,ru"), 0, "setxkbmap us,ru failed");
	cr_assert_eq(recorder_lock_group(&w.rec, 1), 0);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	type_and_check("ru group", "привет hello ЁЖ ?!");
	cr_assert_eq(recorder_lock_group(&w.rec, 0), 0);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	type_and_check("us group", "hello привет");
	cr_assert_eq(mxc_input_sync(w.input, &err), 0, "%s", err.msg);
}

Test(type, a_layout_change_between_calls_is_noticed)
{
	type_and_check("us", "yz@\"");
	cr_assert_eq(world_set_layout(&w, "de"), 0);
	type_and_check("de", "yz@\"");
	cr_assert_eq(world_set_layout(&w, "fr"), 0);
	type_and_check("fr", "azqw1&é");
	cr_assert_eq(world_set_layout(&w, "us"), 0);
	type_and_check("us again", "azqw1&é");
}

Test(type, line_ends_and_tabs)
{
	type_and_check("line ends", "a\nb\r\nc\td\n\n");
}

Test(type, invalid_text_is_refused_and_sends_nothing)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
	    {"ok\xc0\xaf", 4},		/* overlong '/' */
	    {"\xed\xa0\x80", 3},	/* a surrogate */
	    {"\xe6\x97", 2},		/* truncated */
	    {"\xf4\x90\x80\x80", 4},	/* above U+10FFFF */
	    {"\xff", 1},		/* never valid */
	    {"bell\x07", 5},		/* a control character */
	    {"nul\0in the middle", 17}, /* U+0000 */
	    {"\xc2\x85", 2},		/* NEL, a C1 control */
	};
	struct mxc_error err = {0};
	struct rec_event *ev;
	char *big;
	size_t n;

	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++)
		cr_expect_eq(mxc_input_type(w.input, bad[i].text, bad[i].len, &err), -EINVAL,
			     "case %zu", i);
	cr_expect(strstr(err.msg, "at byte 0"), "message: %s", err.msg);
	big = malloc(MXC_INPUT_MAX_TEXT + 1);
	cr_assert_not_null(big);
	memset(big, 'a', MXC_INPUT_MAX_TEXT + 1);
	cr_expect_eq(mxc_input_type(w.input, big, MXC_INPUT_MAX_TEXT + 1, &err), -E2BIG);
	free(big);
	cr_expect_eq(mxc_input_type(w.input, NULL, 3, &err), -EINVAL);
	cr_expect_eq(mxc_input_type(w.input, "", 0, &err), 0);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	n = recorder_events(&w.rec, &ev);
	cr_expect_eq(n, 0, "%zu events from refused text", n);
	free(ev);
	assert_no_key_down();
}

Test(type, a_full_text_at_the_size_limit)
{
	char *text = malloc(MXC_INPUT_MAX_TEXT + 1);

	cr_assert_not_null(text);
	for (size_t i = 0; i < MXC_INPUT_MAX_TEXT; i++)
		text[i] = (char)('a' + i % 26);
	text[MXC_INPUT_MAX_TEXT] = '\0';
	type_and_check("64 KiB", text);
	free(text);
}

Test(type, refused_when_every_spare_keycode_is_held)
{
	static const char *const held[] = {"é", "ñ", "ж", "ω", "ß", "ø", "ł", "ĉ", "ŝ", "ğ",
					   "ă", "ő", "ų", "ž", "ț", "ė", "ā", "ī", "ū", "ē",
					   "ō", "ǎ", "ǐ", "ǒ", "ǔ", "ǖ", "ǘ", "ǚ", "ǜ", "ȩ"};
	struct mxc_error err = {0};
	uint8_t before[32], after[32];
	size_t n_held = 0;
	int r = 0;

	/* Each held key pins a spare keycode; hold until none is left. */
	for (; n_held < MXC_ARRAY_SIZE(held); n_held++) {
		r = mxc_input_key_down(w.input, held[n_held], &err);
		if (r < 0)
			break;
	}
	cr_assert_eq(r, -ENOSPC, "held %zu keys: %d (%s)", n_held, r, err.msg);
	cr_assert_gt(n_held, 5, "only %zu spare keycodes", n_held);
	cr_assert_eq(recorder_keys_down(&w.rec, before), 0);

	cr_expect_eq(mxc_input_type(w.input, "plain 日本", strlen("plain 日本"), &err), -ENOSPC);
	cr_expect(strstr(err.msg, "spare keycode"), "message: %s", err.msg);
	cr_assert_eq(recorder_keys_down(&w.rec, after), 0);
	cr_expect_eq(memcmp(before, after, 32), 0, "the failed call left a key down");

	for (size_t i = n_held; i-- > 0;)
		cr_assert_eq(mxc_input_key_up(w.input, held[i], &err), 0, "%s", err.msg);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	assert_no_key_down();
	type_and_check("after the release", "plain 日本");
}

Test(type_slow, a_slow_client_reads_the_right_text_within_the_grace_period)
{
	start(25);
	mxc_input_set_remap_grace(w.input, 150);
	/* More distinct missing characters than spare cells: typed in several chunks. */
	type_and_check("CJK chunks",
		       "一二三四五六七八九十百千万円年月日時分秒週曜春夏秋冬東西南北上下左右前後"
		       "内外山川海空雨雪風花鳥魚犬猫馬牛羊");
}

/*
 * The recorder is a real client: with no grace period it reads chunks with later mappings,
 * which is the race the grace period exists for (and what makes the test above meaningful).
 */
Test(type_slow, without_a_grace_period_a_slow_client_reads_wrong_text)
{
	const char text[] = "一二三四五六七八九十百千万円年月日時分秒週曜春夏秋冬東西南北上下左右"
			    "前後内外山川海空雨雪風花鳥魚犬猫馬牛羊";
	struct mxc_error err = {0};
	char *got;

	start(25);
	mxc_input_set_remap_grace(w.input, 0);
	cr_assert_eq(mxc_input_type(w.input, text, strlen(text), &err), 0, "%s", err.msg);
	cr_assert_eq(recorder_settle(&w.rec), 0);
	got = recorder_text(&w.rec);
	cr_expect_str_neq(got, text, "the race did not show: the recorder reads too early");
	free(got);
}
