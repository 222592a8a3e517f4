/*
 * mxc_input_type: text to key events, exactly, whatever the layout.
 *
 * A call runs in three steps. Decoding checks the whole text (UTF-8, control characters)
 * before anything is sent. Planning finds, for each code point, its key and level modifiers
 * in the active group, else in another group of the keymap (typed with that group locked for
 * the moment, like a user switching layouts: no remap, no notification to every client), else
 * marks it for a spare keycode. Sending first neutralizes the keyboard state (held modifiers
 * released, locks unlocked), then goes chunk by chunk: a chunk is as many code points as the
 * spare cells can carry; its remaps are sent as one batch before its events; between chunks a
 * round trip and the remap grace period let clients read the chunk before any of its cells
 * changes (see input.h). Finally the state is put back and one round trip ends the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <xcb/xkb.h>

#include "input-private.h"

/*
 * One code point's key: keycode, level mods and group, or sym when it goes on a spare keycode
 * (which types the same in every group).
 */
struct typed {
	uint8_t keycode;
	uint8_t mods;
	uint8_t group;
	xkb_keysym_t sym; /* non-zero: needs a cell */
};

/* What the keyboard is in while a text is typed. */
struct typing {
	uint8_t mods;  /* level modifiers held */
	uint8_t group; /* the locked group */
};

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/*
 * Decodes text into code points, with "\r\n", "\r" and "\n" as '\r' (Return's character) and
 * '\t' as Tab's; anything else that is a control character is refused.
 */
static int decode(const char *text, size_t len, uint32_t **ret_cps, size_t *ret_n,
		  struct mxc_error *err)
{
	uint32_t *cps = malloc((len ? len : 1) * sizeof(*cps));
	size_t pos = 0, n = 0;

	if (!cps)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	while (pos < len) {
		size_t at = pos;
		uint32_t cp;

		if (utf8_next(text, len, &pos, &cp) < 0) {
			free(cps);
			return mxc_error_set(err, -EINVAL, "invalid UTF-8 at byte %zu", at);
		}
		if (cp == '\n') {
			if (n > 0 && cps[n - 1] == '\r' && at > 0 && text[at - 1] == '\r')
				continue; /* "\r\n": one Return */
			cp = '\r';
		}
		if (is_control(cp) && cp != '\r' && cp != '\t') {
			free(cps);
			return mxc_error_set(err, -EINVAL, "control character U+%04X at byte %zu",
					     cp, at);
		}
		cps[n++] = cp;
	}
	*ret_cps = cps;
	*ret_n = n;
	return 0;
}

static xkb_keysym_t keysym_for(uint32_t cp)
{
	if (cp == '\r')
		return XKB_KEY_Return;
	if (cp == '\t')
		return XKB_KEY_Tab;
	return xkb_utf32_to_keysym(cp);
}

/* Finds each code point's key, or marks it for a cell. */
static int plan(struct mxc_input *in, const uint32_t *cps, size_t n, struct typed *out,
		struct mxc_error *err)
{
	bool need_cells = false;

	for (size_t i = 0; i < n; i++) {
		const struct key_entry *e = keymap_find_cp(in, cps[i]);

		if (e) {
			out[i] = (struct typed){
			    .keycode = e->keycode, .mods = e->mods, .group = e->group};
			continue;
		}
		out[i] = (struct typed){.sym = keysym_for(cps[i])};
		if (!out[i].sym)
			return mxc_error_set(err, -EINVAL, "no keysym for U+%04X", cps[i]);
		need_cells = true;
	}
	if (need_cells && !slots_available(in))
		return mxc_error_set(err, -ENOSPC,
				     "the layout lacks some characters and the keymap has no "
				     "spare keycode to put them on");
	return 0;
}

static void lock_group(struct mxc_input *in, uint8_t group)
{
	xcb_xkb_latch_lock_state(in->conn, XCB_XKB_ID_USE_CORE_KBD, 0, 0, 1, group, 0, 0, 0);
}

/*
 * Switches to t's group (locking it, as a layout switch does) and level modifiers, then
 * presses and releases its key.
 */
static void type_key(struct mxc_input *in, struct typing *st, const struct typed *t)
{
	if (!t->sym && t->group != st->group) {
		lock_group(in, t->group);
		st->group = t->group;
	}
	for (unsigned m = 0; m < 8; m++)
		if ((st->mods & ~t->mods) & (1u << m))
			input_fake_key(in, false, in->mod_key[m]);
	for (unsigned m = 0; m < 8; m++)
		if ((t->mods & ~st->mods) & (1u << m))
			input_fake_key(in, true, in->mod_key[m]);
	st->mods = t->mods;
	input_fake_key(in, true, t->keycode);
	input_fake_key(in, false, t->keycode);
}

/* Releases the level modifiers and locks the group the call started with again. */
static void end_typing(struct mxc_input *in, struct typing *st)
{
	for (unsigned m = 8; m-- > 0;)
		if (st->mods & (1u << m))
			input_fake_key(in, false, in->mod_key[m]);
	st->mods = 0;
	if (st->group != in->kbd.locked_group)
		lock_group(in, in->kbd.locked_group);
	st->group = in->kbd.locked_group;
}

static bool key_is_down(const struct kbd_state *k, unsigned kc)
{
	return k->keys_down[kc / 8] & (1u << (kc % 8));
}

/*
 * Releases what could change the characters: held modifier keys (to be pressed again by
 * restore_state if they set a modifier), held keys the text uses, latches and locks.
 */
static void neutralize(struct mxc_input *in, const struct typed *t, size_t n)
{
	const struct kbd_state *k = &in->kbd;
	bool used[KEYCODES] = {false};

	for (size_t i = 0; i < n; i++) {
		struct slot *s;

		if (!t[i].sym)
			used[t[i].keycode] = true;
		else if (slots_find(in, t[i].sym, &s) >= 0)
			used[s->keycode] = true; /* may be held through key_down */
	}
	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		if (!key_is_down(k, kc) || !(in->in_modmap[kc] || used[kc]))
			continue;
		input_fake_key(in, false, (uint8_t)kc);
		if (!keymap_sets_modifier(in, (uint8_t)kc))
			in->press_count[kc] = 0; /* not pressed again */
	}
	if (k->locked_mods || k->latched_mods || k->latched_group)
		xcb_xkb_latch_lock_state(in->conn, XCB_XKB_ID_USE_CORE_KBD, k->locked_mods, 0, 0, 0,
					 k->latched_mods, k->latched_group != 0, 0);
}

/* Presses the held modifier keys again and locks the locks again. */
static void restore_state(struct mxc_input *in)
{
	const struct kbd_state *k = &in->kbd;

	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++)
		if (key_is_down(k, kc) && keymap_sets_modifier(in, (uint8_t)kc))
			input_fake_key(in, true, (uint8_t)kc);
	if (k->locked_mods)
		xcb_xkb_latch_lock_state(in->conn, XCB_XKB_ID_USE_CORE_KBD, k->locked_mods,
					 k->locked_mods, 0, 0, 0, 0, 0);
}

/*
 * Gives cells to the code points from start on, until one finds none free: returns where the
 * chunk ends, and in *ret_ready_ns when its remaps may be sent.
 */
static size_t plan_chunk(struct mxc_input *in, struct typed *t, size_t start, size_t n,
			 uint64_t *ret_ready_ns)
{
	uint64_t ready = 0;
	size_t i;

	in->chunk++;
	for (i = start; i < n; i++) {
		struct slot *s;
		uint64_t when = 0;
		int c;

		if (!t[i].sym)
			continue;
		c = slots_find(in, t[i].sym, &s);
		if (c >= 0)
			s->chunk[c] = in->chunk;
		else
			c = slots_assign(in, t[i].sym, &s, &when);
		if (c < 0)
			break;
		if (when > ready)
			ready = when;
		t[i].keycode = s->keycode;
		t[i].mods = c ? XCB_MOD_MASK_SHIFT : 0;
	}
	*ret_ready_ns = ready;
	return i;
}

static int send_text(struct mxc_input *in, struct typed *t, size_t n, struct mxc_error *err)
{
	struct typing st = {.mods = 0, .group = in->kbd.locked_group};
	size_t i = 0;
	int r = 0;

	neutralize(in, t, n);
	while (i < n) {
		uint64_t ready;
		size_t end = plan_chunk(in, t, i, n, &ready);

		if (end == i) {
			r = mxc_error_set(err, -ENOSPC, "no spare keycode left");
			break;
		}
		if (ready > mxc_now_mono_ns()) {
			xcb_flush(in->conn);
			input_sleep_until(ready);
			/*
			 * The write sends other keys' maps back: they must not have changed
			 * while we slept (a setxkbmap in the middle ends the call).
			 */
			r = keymap_refresh(in, REFRESH_CHECK, err);
			if (r < 0) {
				mxc_error_prefix(err, "stopped after %zu of %zu characters", i, n);
				break;
			}
		}
		r = slots_write(in, err);
		if (r < 0)
			break;
		for (; i < end; i++)
			type_key(in, &st, &t[i]);
		if (i < n) {
			/* The next chunk's remaps wait for clients to read this one. */
			r = input_round_trip(in, err);
			if (r < 0)
				break;
			slots_mark_used(in, mxc_now_mono_ns());
		}
	}
	end_typing(in, &st);
	restore_state(in);
	return r;
}

int mxc_input_type(struct mxc_input *in, const char *utf8, size_t len, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	struct typed *t = NULL;
	uint32_t *cps = NULL;
	size_t n = 0;
	int r;

	r = input_check_usable(in, err);
	if (r >= 0 && len > MXC_INPUT_MAX_TEXT)
		r = mxc_error_set(err, -E2BIG, "text of %zu bytes (at most %d)", len,
				  MXC_INPUT_MAX_TEXT);
	if (r >= 0 && !utf8 && len)
		r = mxc_error_set(err, -EINVAL, "no text");
	if (r >= 0)
		r = decode(utf8, len, &cps, &n, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to type");
	if (n == 0) {
		free(cps);
		return 0;
	}
	t = calloc(n, sizeof(*t));
	if (!t) {
		free(cps);
		return mxc_error_set(err, -ENOMEM, "failed to type: out of memory");
	}

	mxc_sigpipe_block(&guard);
	r = keymap_refresh(in, REFRESH, err);
	/* Held keys are released for the call and latches cleared: the locked group is active. */
	if (r >= 0)
		r = keymap_tables(in, in->kbd.locked_group, err);
	if (r >= 0)
		r = plan(in, cps, n, t, err);
	if (r >= 0)
		r = send_text(in, t, n, err);
	if (r >= 0)
		r = input_round_trip(in, err);
	else if (!in->broken)
		xcb_flush(in->conn);
	/* Even after a failure: events may have gone out through the last chunk's cells. */
	slots_mark_used(in, mxc_now_mono_ns());
	mxc_sigpipe_restore(&guard);
	free(t);
	free(cps);
	return r < 0 ? mxc_error_prefix(err, "failed to type") : 0;
}
