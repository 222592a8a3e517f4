/* Key chords: mxc_input_key, mxc_input_key_down and mxc_input_key_up. */
#include <stdio.h>

#include "input-private.h"

static void keysym_shown(xkb_keysym_t sym, char *buf, size_t size)
{
	if (xkb_keysym_get_name(sym, buf, size) < 0)
		snprintf(buf, size, "0x%x", sym);
}

int keys_resolve(struct mxc_input *in, const xkb_keysym_t *syms, size_t n,
		 struct key_press *ret_keys, struct mxc_error *err)
{
	xkb_keysym_t missing[MXC_INPUT_MAX_CHORD_KEYS];
	size_t n_missing = 0, free_cells = 0;
	uint64_t ready = 0;
	int r;

	r = keymap_tables(in, in->kbd.group, err);
	if (r < 0)
		return r;
	/* Count the cells needed first, so that a refusal changes nothing. */
	for (size_t i = 0; i < n; i++) {
		struct slot *s;
		bool seen = false;

		if (keymap_find_sym(in, syms[i]) || slots_find(in, syms[i], &s) >= 0)
			continue;
		for (size_t j = 0; j < n_missing; j++)
			seen = seen || missing[j] == syms[i];
		if (!seen)
			missing[n_missing++] = syms[i];
	}
	in->chunk++;
	if (n_missing) {
		for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++)
			if (in->is_slot[kc] && !in->slots[kc].pinned)
				free_cells += (in->holdable & XCB_MOD_MASK_SHIFT) ? 2 : 1;
		if (free_cells < n_missing) {
			char name[64];

			keysym_shown(missing[0], name, sizeof(name));
			return mxc_error_set(err, -ENOSPC,
					     "no spare keycode left for key '%s' (the layout lacks "
					     "it)",
					     name);
		}
	}

	for (size_t i = 0; i < n; i++) {
		const struct key_entry *e = keymap_find_sym(in, syms[i]);
		struct slot *s = NULL;
		uint64_t when = 0;
		int c;

		if (e) {
			ret_keys[i] = (struct key_press){
			    .sym = syms[i], .keycode = e->keycode, .mods = e->mods};
			continue;
		}
		c = slots_find(in, syms[i], &s);
		if (c >= 0)
			s->chunk[c] = in->chunk;
		else
			c = slots_assign(in, syms[i], &s, &when);
		if (c < 0) /* counted above: can't happen */
			return mxc_error_set(err, -ENOSPC, "no spare keycode left");
		if (when > ready)
			ready = when;
		ret_keys[i] = (struct key_press){.sym = syms[i],
						 .keycode = s->keycode,
						 .mods = c ? XCB_MOD_MASK_SHIFT : 0,
						 .slot = s};
	}
	if (ready > mxc_now_mono_ns()) {
		/* A cell that events sent moments ago used: give clients their grace period. */
		xcb_flush(in->conn);
		input_sleep_until(ready);
		/* The write sends other keys' maps back: they must not have changed meanwhile. */
		r = keymap_refresh(in, REFRESH_CHECK, err);
		if (r < 0)
			return r;
	}
	return slots_write(in, err);
}

int keys_resolve_chord(struct mxc_input *in, const char *chord, struct key_press *ret_keys,
		       size_t *ret_n, struct mxc_error *err)
{
	xkb_keysym_t syms[MXC_INPUT_MAX_CHORD_KEYS];
	size_t n;
	int r;

	r = chord_parse(chord, syms, &n, err);
	if (r < 0)
		return r;
	r = keymap_refresh(in, REFRESH, err);
	if (r < 0)
		return r;
	r = keys_resolve(in, syms, n, ret_keys, err);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

void keys_press(struct mxc_input *in, const struct key_press *k)
{
	for (unsigned m = 0; m < 8; m++)
		if (k->mods & (1u << m))
			input_press(in, in->mod_key[m]);
	input_press(in, k->keycode);
}

void keys_release(struct mxc_input *in, const struct key_press *k)
{
	input_release(in, k->keycode);
	for (unsigned m = 8; m-- > 0;)
		if (k->mods & (1u << m))
			input_release(in, in->mod_key[m]);
}

void keys_release_held(struct mxc_input *in)
{
	while (in->n_held > 0) {
		struct key_press *h = &in->held[--in->n_held];

		keys_release(in, h);
		if (h->slot && h->slot->pinned)
			h->slot->pinned--;
	}
}

/* Ends a key action: a round trip, then the remapped cells it used count as used now. */
static int finish(struct mxc_input *in, struct mxc_sigpipe_guard *guard, int r, const char *what,
		  const char *chord, struct mxc_error *err)
{
	if (r >= 0)
		r = input_round_trip(in, err);
	else if (!in->broken)
		xcb_flush(in->conn);
	if (r >= 0)
		slots_mark_used(in, mxc_now_mono_ns());
	mxc_sigpipe_restore(guard);
	if (r < 0)
		return mxc_error_prefix(err, "failed to %s '%.64s'", what, chord ? chord : "");
	return 0;
}

int mxc_input_key(struct mxc_input *in, const char *chord, struct mxc_error *err)
{
	struct key_press keys[MXC_INPUT_MAX_CHORD_KEYS];
	struct mxc_sigpipe_guard guard;
	size_t n;
	int r;

	r = input_check_usable(in, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to press '%.64s'", chord ? chord : "");
	mxc_sigpipe_block(&guard);
	r = keys_resolve_chord(in, chord, keys, &n, err);
	if (r >= 0) {
		for (size_t i = 0; i < n; i++)
			keys_press(in, &keys[i]);
		for (size_t i = n; i-- > 0;)
			keys_release(in, &keys[i]);
	}
	return finish(in, &guard, r, "press", chord, err);
}

int mxc_input_key_down(struct mxc_input *in, const char *chord, struct mxc_error *err)
{
	struct key_press keys[MXC_INPUT_MAX_CHORD_KEYS];
	struct mxc_sigpipe_guard guard;
	size_t n;
	int r;

	r = input_check_usable(in, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to hold '%.64s'", chord ? chord : "");
	mxc_sigpipe_block(&guard);
	r = keys_resolve_chord(in, chord, keys, &n, err);
	if (r >= 0 && in->n_held + n > MXC_INPUT_MAX_HELD)
		r = mxc_error_set(err, -ENOSPC, "more than %d keys held", MXC_INPUT_MAX_HELD);
	if (r >= 0)
		for (size_t i = 0; i < n; i++) {
			keys_press(in, &keys[i]);
			if (keys[i].slot)
				keys[i].slot->pinned++;
			in->held[in->n_held++] = keys[i];
		}
	return finish(in, &guard, r, "hold", chord, err);
}

/* Releases the last key held for sym, else the key sym is on (if any). */
static void release_sym(struct mxc_input *in, xkb_keysym_t sym)
{
	const struct key_entry *e;
	struct slot *s;
	uint8_t keycode;

	for (size_t i = in->n_held; i-- > 0;) {
		struct key_press h = in->held[i];

		if (h.sym != sym)
			continue;
		memmove(&in->held[i], &in->held[i + 1], (in->n_held - i - 1) * sizeof(in->held[0]));
		in->n_held--;
		keys_release(in, &h);
		if (h.slot) {
			if (h.slot->pinned)
				h.slot->pinned--;
			/* Its release event goes through the cell too. */
			h.slot->chunk[h.mods ? 1 : 0] = in->chunk;
		}
		return;
	}
	e = keymap_find_sym(in, sym);
	if (e)
		keycode = e->keycode;
	else if (slots_find(in, sym, &s) >= 0)
		keycode = s->keycode;
	else
		return; /* on no key: nothing can hold it down */
	/* Not ours, or held only as another key's level modifier: released as asked. */
	in->press_count[keycode] = 0;
	input_fake_key(in, false, keycode);
}

int mxc_input_key_up(struct mxc_input *in, const char *chord, struct mxc_error *err)
{
	xkb_keysym_t syms[MXC_INPUT_MAX_CHORD_KEYS];
	struct mxc_sigpipe_guard guard;
	size_t n;
	int r;

	r = input_check_usable(in, err);
	if (r >= 0)
		r = chord_parse(chord, syms, &n, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to release '%.64s'", chord ? chord : "");
	mxc_sigpipe_block(&guard);
	r = keymap_refresh(in, REFRESH, err);
	if (r >= 0)
		r = keymap_tables(in, in->kbd.group, err);
	if (r >= 0) {
		in->chunk++;
		for (size_t i = n; i-- > 0;)
			release_sym(in, syms[i]);
	}
	return finish(in, &guard, r, "release", chord, err);
}
