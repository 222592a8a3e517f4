/*
 * The keyboard's keymap: reading it (xkbcommon-x11), noticing when it changes, finding the key
 * and modifiers that type a keysym, and the spare keycodes that carry keysyms the layout lacks.
 *
 * Noticing changes: the display module drops every event while it waits for a reply, so XKB
 * map notifications can't be relied on. Instead, the start of each key or text call reads the
 * server's key sym maps (keysyms and key types of every key) and modifier mapping, in one
 * round trip with the XKB state and the keys held down, and compares them with the copy taken
 * last time; `setxkbmap` and `xmodmap` change them. A change that touches only key actions or
 * the types' definitions and leaves every key's keysyms, types and modifiers in place goes
 * unnoticed until something else changes.
 *
 * Remapping: spare keycodes get their keysyms through XkbSetMap rather than the core
 * ChangeKeyboardMapping, because one XkbSetMap can change every spare keycode a chunk of text
 * needs (sending the keys between them back unchanged), and each request makes every client
 * fetch the whole keymap again: one batch per chunk keeps that to one fetch.
 */
#include <stdlib.h>
#include <xkbcommon/xkbcommon-x11.h>

#include "input-private.h"

/* Keysyms of keys that set a modifier while held (XKB SetMods), as opposed to locks. */
static bool sets_modifier(xkb_keysym_t sym)
{
	switch (sym) {
	case XKB_KEY_Shift_L:
	case XKB_KEY_Shift_R:
	case XKB_KEY_Control_L:
	case XKB_KEY_Control_R:
	case XKB_KEY_Alt_L:
	case XKB_KEY_Alt_R:
	case XKB_KEY_Meta_L:
	case XKB_KEY_Meta_R:
	case XKB_KEY_Super_L:
	case XKB_KEY_Super_R:
	case XKB_KEY_Hyper_L:
	case XKB_KEY_Hyper_R:
	case XKB_KEY_ISO_Level3_Shift:
	case XKB_KEY_ISO_Level5_Shift:
		return true;
	default:
		return false;
	}
}

static bool is_keypad(xkb_keysym_t sym)
{
	return sym >= XKB_KEY_KP_Space && sym <= XKB_KEY_KP_Equal;
}

/* Canonical key types every XKB keymap starts with (XKB protocol, "Key Types"). */
#define XKB_TWO_LEVEL_INDEX 1

/* The key sym map a slot's keycode has on the server for cell contents sym. */
static size_t slot_wire(const struct slot *s, const xkb_keysym_t sym[2], uint8_t *out)
{
	xcb_xkb_key_sym_map_t m = s->orig;
	uint32_t syms[2];

	if (!sym[0] && !sym[1]) {
		m.nSyms = 0;
		memcpy(out, &m, sizeof(m));
		return sizeof(m);
	}
	/* One group of the TWO_LEVEL type: Shift selects the second cell. */
	m.kt_index[0] = XKB_TWO_LEVEL_INDEX;
	m.groupInfo = (uint8_t)((m.groupInfo & 0xf0) | 1);
	m.width = 2;
	m.nSyms = 2;
	syms[0] = sym[0] ? sym[0] : sym[1];
	syms[1] = sym[1] ? sym[1] : sym[0];
	memcpy(out, &m, sizeof(m));
	memcpy(out + sizeof(m), syms, sizeof(syms));
	return sizeof(m) + sizeof(syms);
}

/* Whether a slot's keycode still shows (in entry, len bytes) what we last sent for it. */
static bool slot_intact(const struct slot *s, const uint8_t *entry, size_t len)
{
	uint8_t want[sizeof(xcb_xkb_key_sym_map_t) + 8];
	size_t n = slot_wire(s, s->sent, want);

	return n == len && memcmp(want, entry, n) == 0;
}

void keymap_finish(struct mxc_input *in)
{
	xkb_state_unref(in->layout_state);
	xkb_keymap_unref(in->keymap);
	in->layout_state = NULL;
	in->keymap = NULL;
	free(in->symmap);
	free(in->modmap);
	free(in->by_sym);
	free(in->by_cp);
	in->symmap = NULL;
	in->modmap = NULL;
	in->by_sym = in->by_cp = NULL;
	in->n_by_sym = in->n_by_cp = 0;
	in->tables_valid = false;
}

bool keymap_sets_modifier(const struct mxc_input *in, uint8_t kc)
{
	const xkb_keysym_t *syms;

	return in->in_modmap[kc] &&
	       xkb_keymap_key_get_syms_by_level(in->keymap, kc, 0, 0, &syms) == 1 &&
	       sets_modifier(syms[0]);
}

/* Finds the keys that set each real modifier while held. */
static void find_modifier_keys(struct mxc_input *in)
{
	memset(in->in_modmap, 0, sizeof(in->in_modmap));
	memset(in->mod_key, 0, sizeof(in->mod_key));
	in->holdable = 0;
	for (unsigned m = 0; m < 8; m++)
		for (unsigned i = 0; i < in->modmap_per_mod; i++) {
			uint8_t kc = in->modmap[m * in->modmap_per_mod + i];
			const xkb_keysym_t *syms;

			if (kc < in->min_keycode || kc > in->max_keycode)
				continue;
			in->in_modmap[kc] = true;
			/* Lock is only ever locked, never held, for text. */
			if (m == 1 || in->mod_key[m])
				continue;
			if (xkb_keymap_key_get_syms_by_level(in->keymap, kc, 0, 0, &syms) == 1 &&
			    sets_modifier(syms[0])) {
				in->mod_key[m] = kc;
				in->holdable |= (uint8_t)(1u << m);
			}
		}
}

/* A parsed XkbGetMap reply: each key's entry in data. */
struct symmap {
	uint8_t *data;
	size_t len;
	uint32_t off[KEYCODES];
	uint16_t size[KEYCODES];
};

static const xcb_xkb_key_sym_map_t *entry_header(const uint8_t *data, uint32_t off)
{
	return (const xcb_xkb_key_sym_map_t *)(data + off);
}

/*
 * Reads the keymap again, after the server's key sym maps or modifier mapping changed (m and
 * modmap are the new copies, taken over). Slots whose keycode still shows what we sent stay
 * ours; the others were replaced by whoever changed the keymap and are forgotten. Keycodes
 * with no symbols at all become new slots.
 */
static int reload(struct mxc_input *in, struct symmap *m, uint8_t *modmap, uint8_t per_mod,
		  struct mxc_error *err)
{
	struct xkb_keymap *km;
	struct xkb_state *st;

	km = xkb_x11_keymap_new_from_device(in->ctx, in->conn, in->device_id,
					    XKB_KEYMAP_COMPILE_NO_FLAGS);
	if (!km) {
		free(modmap);
		if (xcb_connection_has_error(in->conn))
			in->broken = true;
		return mxc_error_set(err, -EPROTO, "failed to read the keyboard's keymap");
	}
	st = xkb_state_new(km);
	if (!st) {
		xkb_keymap_unref(km);
		free(modmap);
		return mxc_error_set(err, -ENOMEM, "out of memory");
	}
	keymap_finish(in);
	in->keymap = km;
	in->layout_state = st;
	in->modmap = modmap;
	in->modmap_per_mod = per_mod;
	find_modifier_keys(in);

	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		const xcb_xkb_key_sym_map_t *e = entry_header(m->data, m->off[kc]);
		struct slot *s = &in->slots[kc];
		bool ours = in->is_slot[kc] && (s->sent[0] || s->sent[1]) &&
			    slot_intact(s, m->data + m->off[kc], m->size[kc]);

		if (ours)
			continue;
		/* A slot replaced by someone else has nothing of ours left to restore. */
		*s = (struct slot){.keycode = (uint8_t)kc, .orig = *e};
		in->is_slot[kc] = e->nSyms == 0 && (e->groupInfo & 0x0f) == 0 &&
				  !in->in_modmap[kc] && xkb_keymap_num_layouts_for_key(km, kc) == 0;
	}
	return 0;
}

/*
 * Checks an XkbGetMap reply for the key sym maps of every keycode and copies them into *m.
 * The layout: the reply's fixed part, then per key an xcb_xkb_key_sym_map_t and nSyms keysyms.
 */
static int parse_symmap(struct mxc_input *in, const xcb_xkb_get_map_reply_t *r, struct symmap *m,
			struct mxc_error *err)
{
	unsigned count = (unsigned)in->max_keycode - in->min_keycode + 1;
	size_t total = 32 + 4 * (size_t)r->length, pos = sizeof(*r);

	if (r->present != XCB_XKB_MAP_PART_KEY_SYMS || r->firstKeySym != in->min_keycode ||
	    r->nKeySyms != count || r->minKeyCode != in->min_keycode ||
	    r->maxKeyCode != in->max_keycode)
		return mxc_error_set(err, -EPROTO, "malformed XKB map (keys %u+%u of %u..%u)",
				     r->firstKeySym, r->nKeySyms, r->minKeyCode, r->maxKeyCode);
	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		xcb_xkb_key_sym_map_t e;
		size_t size;

		if (total - pos < sizeof(e))
			return mxc_error_set(err, -EPROTO, "malformed XKB map (truncated)");
		memcpy(&e, (const uint8_t *)r + pos, sizeof(e));
		/* At most 4 groups of 255 levels: keeps every entry's size in 16 bits. */
		if (e.nSyms > 4 * 255)
			return mxc_error_set(
			    err, -EPROTO, "malformed XKB map (%u keysyms on key %u)", e.nSyms, kc);
		size = sizeof(e) + 4 * (size_t)e.nSyms;
		if (total - pos < size)
			return mxc_error_set(err, -EPROTO, "malformed XKB map (truncated)");
		m->off[kc] = (uint32_t)(pos - sizeof(*r));
		m->size[kc] = (uint16_t)size;
		pos += size;
	}
	m->len = pos - sizeof(*r);
	m->data = malloc(m->len ? m->len : 1);
	if (!m->data)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	memcpy(m->data, (const uint8_t *)r + sizeof(*r), m->len);
	return 0;
}

/* Whether the server's key sym maps differ from ours in something we didn't do. */
static bool symmap_changed(const struct mxc_input *in, const struct symmap *m)
{
	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		const uint8_t *e = m->data + m->off[kc];

		if (in->is_slot[kc]) {
			if (!slot_intact(&in->slots[kc], e, m->size[kc]))
				return true;
		} else if (m->size[kc] != in->sym_len[kc] ||
			   memcmp(e, in->symmap + in->sym_off[kc], m->size[kc])) {
			return true;
		}
	}
	return false;
}

int keymap_refresh(struct mxc_input *in, enum refresh_mode mode, struct mxc_error *err)
{
	unsigned count = (unsigned)in->max_keycode - in->min_keycode + 1;
	xcb_xkb_get_map_reply_t *map = NULL;
	xcb_get_modifier_mapping_reply_t *mods = NULL;
	xcb_xkb_get_state_reply_t *state = NULL;
	xcb_query_keymap_reply_t *keys = NULL;
	xcb_xkb_get_map_cookie_t map_cookie;
	xcb_get_modifier_mapping_cookie_t mods_cookie;
	xcb_xkb_get_state_cookie_t state_cookie;
	xcb_query_keymap_cookie_t keys_cookie;
	struct symmap m = {0};
	uint8_t *modmap = NULL;
	size_t modmap_len;
	bool changed = mode == REFRESH_FORCE;
	uint8_t per_mod;
	int r;

	/* One round trip for all four. */
	map_cookie =
	    xcb_xkb_get_map(in->conn, XCB_XKB_ID_USE_CORE_KBD, 0, XCB_XKB_MAP_PART_KEY_SYMS, 0, 0,
			    in->min_keycode, (uint8_t)count, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	mods_cookie = xcb_get_modifier_mapping(in->conn);
	state_cookie = xcb_xkb_get_state(in->conn, XCB_XKB_ID_USE_CORE_KBD);
	keys_cookie = xcb_query_keymap(in->conn);
	r = input_wait_reply(in, map_cookie.sequence, sizeof(*map), "XkbGetMap", (void **)&map,
			     err);
	if (r >= 0)
		r = input_wait_reply(in, mods_cookie.sequence, sizeof(*mods), "GetModifierMapping",
				     (void **)&mods, err);
	if (r >= 0)
		r = input_wait_reply(in, state_cookie.sequence, sizeof(*state), "XkbGetState",
				     (void **)&state, err);
	if (r >= 0)
		r = input_wait_reply(in, keys_cookie.sequence, sizeof(*keys), "QueryKeymap",
				     (void **)&keys, err);
	if (r < 0)
		goto out;

	r = parse_symmap(in, map, &m, err);
	if (r < 0)
		goto out;
	per_mod = mods->keycodes_per_modifier;
	modmap_len = (size_t)per_mod * 8;
	if ((size_t)mods->length * 4 != modmap_len) {
		r = mxc_error_set(err, -EPROTO, "malformed modifier mapping");
		goto out;
	}
	if (state->group > 3 || state->lockedGroup > 3) {
		r = mxc_error_set(err, -EPROTO, "malformed keyboard state (group %u)",
				  state->group);
		goto out;
	}
	modmap = malloc(modmap_len ? modmap_len : 1);
	if (!modmap) {
		r = mxc_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(modmap, xcb_get_modifier_mapping_keycodes(mods), modmap_len);

	if (!changed)
		changed = per_mod != in->modmap_per_mod || memcmp(modmap, in->modmap, modmap_len) ||
			  symmap_changed(in, &m);
	if (changed && mode == REFRESH_CHECK) {
		r = mxc_error_set(err, -EAGAIN, "the keyboard's keymap changed meanwhile");
		goto out;
	}
	if (changed) {
		r = reload(in, &m, modmap, per_mod, err);
		modmap = NULL;
		if (r < 0)
			goto out;
	}
	/* The current maps, echoed for the keys between slots when slots are written. */
	free(in->symmap);
	in->symmap = m.data;
	in->symmap_len = m.len;
	memcpy(in->sym_off, m.off, sizeof(m.off));
	memcpy(in->sym_len, m.size, sizeof(m.size));
	m.data = NULL;

	if (mode == REFRESH_CHECK) {
		r = 0;
		goto out;
	}
	in->kbd = (struct kbd_state){
	    .latched_mods = state->latchedMods,
	    .locked_mods = state->lockedMods,
	    .group = state->group,
	    .locked_group = state->lockedGroup,
	    .latched_group = state->latchedGroup,
	};
	memcpy(in->kbd.keys_down, keys->keys, sizeof(in->kbd.keys_down));
	r = 0;
out:
	/* Replies not read after a failure would stay queued in xcb: drop them. */
	if (!map)
		xcb_discard_reply(in->conn, map_cookie.sequence);
	if (!mods)
		xcb_discard_reply(in->conn, mods_cookie.sequence);
	if (!state)
		xcb_discard_reply(in->conn, state_cookie.sequence);
	if (!keys)
		xcb_discard_reply(in->conn, keys_cookie.sequence);
	free(map);
	free(mods);
	free(state);
	free(keys);
	free(m.data);
	free(modmap);
	if (r < 0)
		return mxc_error_prefix(err, "failed to read the keyboard");
	return 0;
}

static int popcount8(uint8_t m)
{
	return __builtin_popcount(m);
}

/* Sorting preference, once entries are grouped by key: the active group, fewer modifiers. */
static int compare_entries(const void *a, const void *b, void *active_group)
{
	const struct key_entry *x = a, *y = b;
	uint8_t active = *(const uint8_t *)active_group;
	bool xa = x->group == active, ya = y->group == active;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (xa != ya)
		return xa ? -1 : 1;
	if (x->group != y->group)
		return x->group - y->group;
	if (popcount8(x->mods) != popcount8(y->mods))
		return popcount8(x->mods) - popcount8(y->mods);
	if (x->mods != y->mods)
		return x->mods - y->mods;
	return x->keycode - y->keycode;
}

/* Sorts and keeps the best entry per key. */
static size_t sort_unique(struct key_entry *v, size_t n, uint8_t active)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort_r(v, n, sizeof(*v), compare_entries, &active);
	for (size_t i = 0; i < n; i++)
		if (out == 0 || v[out - 1].key != v[i].key)
			v[out++] = v[i];
	return out;
}

struct entry_vec {
	struct key_entry *v;
	size_t n, cap;
};

static int push(struct entry_vec *vec, uint32_t key, uint8_t keycode, uint8_t mods, uint8_t group)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 256;
		struct key_entry *v = reallocarray(vec->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] =
	    (struct key_entry){.key = key, .keycode = keycode, .mods = mods, .group = group};
	return 0;
}

/* The modifiers that select level of kc with the fewest keys we can hold, or -1. */
static int level_mods(const struct mxc_input *in, unsigned kc, xkb_layout_index_t layout,
		      xkb_level_index_t level)
{
	xkb_mod_mask_t masks[32];
	size_t n = xkb_keymap_key_get_mods_for_level(in->keymap, kc, layout, level, masks,
						     MXC_ARRAY_SIZE(masks));
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		/* Real modifiers only (bits 0-7), each held by some key. */
		if (masks[i] > 0xff || (masks[i] & ~(xkb_mod_mask_t)in->holdable))
			continue;
		if (best < 0 || popcount8((uint8_t)masks[i]) < popcount8((uint8_t)best))
			best = (int)masks[i];
	}
	return best;
}

/* Adds every key's levels in group (as the server resolves it for each key) to the tables. */
static int add_group(struct mxc_input *in, uint8_t group, uint8_t active, struct entry_vec *syms,
		     struct entry_vec *cps)
{
	xkb_state_update_mask(in->layout_state, 0, 0, 0, 0, 0, group);
	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		xkb_layout_index_t layout;
		xkb_level_index_t levels;

		if (in->is_slot[kc] || xkb_keymap_num_layouts_for_key(in->keymap, kc) == 0)
			continue;
		layout = xkb_state_key_get_layout(in->layout_state, kc);
		if (layout == XKB_LAYOUT_INVALID)
			continue;
		levels = xkb_keymap_num_levels_for_key(in->keymap, kc, layout);
		for (xkb_level_index_t l = 0; l < levels; l++) {
			const xkb_keysym_t *s;
			uint32_t cp;
			int mods;

			if (xkb_keymap_key_get_syms_by_level(in->keymap, kc, layout, l, &s) != 1)
				continue;
			mods = level_mods(in, kc, layout, l);
			if (mods < 0)
				continue;
			if (group == active &&
			    push(syms, s[0], (uint8_t)kc, (uint8_t)mods, group) < 0)
				return -ENOMEM;
			/* Text never goes through the keypad or a modifier key. */
			cp = xkb_keysym_to_utf32(s[0]);
			if (cp && !is_keypad(s[0]) && !in->in_modmap[kc] &&
			    push(cps, cp, (uint8_t)kc, (uint8_t)mods, group) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int keymap_tables(struct mxc_input *in, uint8_t group, struct mxc_error *err)
{
	xkb_layout_index_t groups = xkb_keymap_num_layouts(in->keymap);
	struct entry_vec syms = {0}, cps = {0};
	uint8_t active;

	if (in->tables_valid && in->tables_group == group)
		return 0;
	/* The server keeps the group within the keymap's; be safe anyway. */
	if (groups > 4)
		groups = 4;
	active = (uint8_t)(groups ? group % groups : 0);
	for (uint8_t g = 0; g < groups; g++)
		if (add_group(in, g, active, &syms, &cps) < 0) {
			free(syms.v);
			free(cps.v);
			return mxc_error_set(err, -ENOMEM, "out of memory");
		}
	free(in->by_sym);
	free(in->by_cp);
	in->by_sym = syms.v;
	in->n_by_sym = sort_unique(syms.v, syms.n, active);
	in->by_cp = cps.v;
	in->n_by_cp = sort_unique(cps.v, cps.n, active);
	in->tables_valid = true;
	in->tables_group = group;
	return 0;
}

static const struct key_entry *find(const struct key_entry *v, size_t n, uint32_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].key == key)
			return &v[mid];
		if (v[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct key_entry *keymap_find_sym(const struct mxc_input *in, xkb_keysym_t sym)
{
	return find(in->by_sym, in->n_by_sym, sym);
}

const struct key_entry *keymap_find_cp(const struct mxc_input *in, uint32_t cp)
{
	return find(in->by_cp, in->n_by_cp, cp);
}

/* Cells per slot: the second needs a Shift key. */
static unsigned slot_cells(const struct mxc_input *in)
{
	return (in->holdable & XCB_MOD_MASK_SHIFT) ? 2 : 1;
}

int slots_find(struct mxc_input *in, xkb_keysym_t sym, struct slot **ret_slot)
{
	unsigned cells = slot_cells(in);

	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		if (!in->is_slot[kc])
			continue;
		for (unsigned c = 0; c < cells; c++)
			if (in->slots[kc].sym[c] == sym) {
				*ret_slot = &in->slots[kc];
				return (int)c;
			}
	}
	return -1;
}

bool slots_available(const struct mxc_input *in)
{
	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++)
		if (in->is_slot[kc] && !in->slots[kc].pinned)
			return true;
	return false;
}

int slots_assign(struct mxc_input *in, xkb_keysym_t sym, struct slot **ret_slot,
		 uint64_t *ret_ready_ns)
{
	unsigned cells = slot_cells(in);
	struct slot *best = NULL;
	unsigned best_cell = 0;

	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		struct slot *s = &in->slots[kc];

		if (!in->is_slot[kc] || s->pinned)
			continue;
		for (unsigned c = 0; c < cells; c++) {
			if (s->sym[c] && s->chunk[c] == in->chunk)
				continue; /* this chunk's events use it */
			if (!best || (!s->sym[c] && best->sym[best_cell]) ||
			    (s->sym[c] && best->sym[best_cell] &&
			     s->used_ns[c] < best->used_ns[best_cell])) {
				best = s;
				best_cell = c;
			}
		}
	}
	if (!best)
		return -ENOSPC;
	*ret_ready_ns = best->sym[best_cell] ? best->used_ns[best_cell] + in->grace_ns : 0;
	best->sym[best_cell] = sym;
	best->chunk[best_cell] = in->chunk;
	best->used_ns[best_cell] = mxc_now_mono_ns();
	best->write_pending = true;
	*ret_slot = best;
	return (int)best_cell;
}

int slots_write(struct mxc_input *in, struct mxc_error *err)
{
	unsigned first = 0, last = 0, total = 0;
	uint8_t *buf, *p;
	size_t size = 0;

	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++)
		if (in->is_slot[kc] && in->slots[kc].write_pending) {
			first = first ? first : kc;
			last = kc;
		}
	if (!first)
		return 0;
	/*
	 * XkbSetMap sets a range of keys: the keys between the slots get their own maps back,
	 * unchanged (the key actions, behaviors and the rest aren't part of the request).
	 */
	for (unsigned kc = first; kc <= last; kc++) {
		const xcb_xkb_key_sym_map_t *e;

		if (in->is_slot[kc]) {
			size += sizeof(*e) + 8;
			total += 2;
			continue;
		}
		e = entry_header(in->symmap, in->sym_off[kc]);
		size += in->sym_len[kc];
		total += e->nSyms;
	}
	if (total > UINT16_MAX)
		return mxc_error_set(err, -E2BIG, "too many keysyms between spare keycodes");
	buf = malloc(size);
	if (!buf)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	p = buf;
	total = 0;
	for (unsigned kc = first; kc <= last; kc++) {
		struct slot *s = &in->slots[kc];
		size_t n;

		if (!in->is_slot[kc]) {
			memcpy(p, in->symmap + in->sym_off[kc], in->sym_len[kc]);
			n = in->sym_len[kc];
		} else {
			n = slot_wire(s, s->sym, p);
			s->sent[0] = s->sym[0];
			s->sent[1] = s->sym[1];
			s->write_pending = false;
		}
		total += ((const xcb_xkb_key_sym_map_t *)p)->nSyms;
		p += n;
	}
	xcb_xkb_set_map(in->conn, XCB_XKB_ID_USE_CORE_KBD, XCB_XKB_MAP_PART_KEY_SYMS, 0,
			in->min_keycode, in->max_keycode, 0, 0, (xcb_keycode_t)first,
			(uint8_t)(last - first + 1), (uint16_t)total, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0, buf);
	free(buf);
	return 0;
}

void slots_mark_used(struct mxc_input *in, uint64_t now)
{
	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		struct slot *s = &in->slots[kc];

		if (!in->is_slot[kc])
			continue;
		for (unsigned c = 0; c < 2; c++)
			if (s->sym[c] && s->chunk[c] == in->chunk)
				s->used_ns[c] = now;
	}
}

uint64_t slots_expire(struct mxc_input *in, uint64_t now, bool all)
{
	const uint64_t default_ns = (uint64_t)MXC_INPUT_DEFAULT_REMAP_GRACE_MS * 1000000;
	const uint64_t held_retry = in->grace_ns > default_ns ? in->grace_ns : default_ns;
	uint64_t next = 0;

	for (unsigned kc = in->min_keycode; kc <= in->max_keycode; kc++) {
		struct slot *s = &in->slots[kc];
		uint64_t latest = 0, due;

		if (!in->is_slot[kc] || (!s->sym[0] && !s->sym[1]))
			continue;
		if (s->pinned) {
			/* Held down: look again later, not in a tight loop. */
			if (!next || held_retry < next)
				next = held_retry;
			continue;
		}
		for (unsigned c = 0; c < 2; c++)
			if (s->sym[c] && s->used_ns[c] > latest)
				latest = s->used_ns[c];
		due = latest + in->grace_ns;
		if (all || due <= now) {
			s->sym[0] = s->sym[1] = 0;
			s->chunk[0] = s->chunk[1] = 0;
			s->write_pending = true;
		} else if (!next || due - now < next) {
			next = due - now;
		}
	}
	return next;
}
