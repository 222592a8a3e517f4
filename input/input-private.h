/* Shared between the files of input/: the state of one struct mxc_input. */
#ifndef MXC_INPUT_PRIVATE_H
#define MXC_INPUT_PRIVATE_H

#include <signal.h>
#include <xcb/xcb.h>
#include <xcb/xkb.h>
#include <xkbcommon/xkbcommon.h>

#include "display-xcb.h"
#include "input.h"

/* X keycodes are one byte; the server's range is checked to lie inside 8..255. */
#define KEYCODES 256

/*
 * A keysym with the key that types it, the modifiers (real mods mask) its level needs and the
 * group (layout) it is in.
 */
struct key_entry {
	uint32_t key; /* a keysym (by_sym) or a Unicode code point (by_cp) */
	uint8_t keycode;
	uint8_t mods;
	uint8_t group;
};

/*
 * A spare keycode (no symbols in the keymap we found) that can carry two keysyms of our own:
 * cell 0 on the first level, cell 1 on the Shift level (the key gets the canonical TWO_LEVEL
 * type). An empty cell is written as a copy of the other one.
 */
struct slot {
	uint8_t keycode;
	xkb_keysym_t sym[2];	    /* 0: empty */
	xkb_keysym_t sent[2];	    /* what the server was last sent for it */
	xcb_xkb_key_sym_map_t orig; /* its key sym map when we found it (no symbols) */
	uint64_t used_ns[2];	    /* when the server last processed an event through the cell */
	uint32_t chunk[2];	    /* the chunk that last used the cell */
	unsigned pinned;	    /* held through mxc_input_key_down */
	bool write_pending;	    /* to be sent */
};

/* A key pressed for a chord, with the level modifiers pressed right before it. */
struct key_press {
	xkb_keysym_t sym;
	uint8_t keycode;
	uint8_t mods;	   /* level modifiers (real mods mask) */
	struct slot *slot; /* the spare keycode it is on, or NULL */
};

/* What the start of a key or text call reads from the server. */
struct kbd_state {
	uint8_t latched_mods, locked_mods;
	uint8_t group, locked_group; /* effective and locked, 0..3 */
	int16_t latched_group;
	uint8_t keys_down[32]; /* QueryKeymap */
};

struct mxc_input {
	struct mxc_display *display;
	xcb_connection_t *conn;
	xcb_window_t root;
	uint32_t width, height;
	uint8_t min_keycode, max_keycode;
	int32_t device_id; /* the core keyboard's XKB device */
	bool broken;	   /* a connection error: every call fails */
	uint64_t grace_ns;

	/*
	 * The keymap, and the server's key sym maps (XkbGetMap, as on the wire: per key, an
	 * xcb_xkb_key_sym_map_t and its keysyms) that tell when it changes and that a remap
	 * sends back unchanged for the keys it doesn't touch.
	 */
	struct xkb_context *ctx;
	struct xkb_keymap *keymap;
	struct xkb_state *layout_state; /* only to resolve each key's layout for a group */
	uint8_t *symmap;
	size_t symmap_len;
	uint32_t sym_off[KEYCODES]; /* where each key's entry starts in symmap */
	uint16_t sym_len[KEYCODES]; /* and its size in bytes */
	uint8_t *modmap;	    /* GetModifierMapping: 8 rows of modmap_per_mod keycodes */
	uint8_t modmap_per_mod;
	bool in_modmap[KEYCODES];
	uint8_t mod_key[8]; /* a key that sets real modifier i while held, 0 if none */
	uint8_t holdable;   /* real mods that some key sets while held */

	/*
	 * Lookup tables, built when first needed for the active group: keysyms of that group
	 * (chords), code points of every group, those of the active group first (text).
	 */
	bool tables_valid;
	uint8_t tables_group;
	struct key_entry *by_sym, *by_cp;
	size_t n_by_sym, n_by_cp;

	/* Spare keycodes: slots[kc] is one when is_slot[kc]. */
	struct slot slots[KEYCODES];
	bool is_slot[KEYCODES];
	uint32_t chunk; /* counts chunks of events (a key call is one) */

	/* What this object holds down. */
	uint16_t press_count[KEYCODES];
	struct key_press held[MXC_INPUT_MAX_HELD]; /* through key_down, in order */
	size_t n_held;
	uint16_t buttons_down; /* bit b: button b */

	struct kbd_state kbd;
};

/* input.c */

/* Fails with -EIO when an earlier call broke the connection. */
int input_check_usable(struct mxc_input *in, struct mxc_error *err);
/*
 * Waits for the reply to sequence with the display's deadline; a reply smaller than min_size
 * bytes, or an X error, is -EPROTO naming what. A connection failure marks in broken.
 */
int input_wait_reply(struct mxc_input *in, unsigned int sequence, size_t min_size, const char *what,
		     void **ret_reply, struct mxc_error *err);
/* A round trip (GetInputFocus). */
int input_round_trip(struct mxc_input *in, struct mxc_error *err);

void input_fake_key(struct mxc_input *in, bool down, uint8_t keycode);
/* Press and release through the press counts: only the first press and last release are sent. */
void input_press(struct mxc_input *in, uint8_t keycode);
void input_release(struct mxc_input *in, uint8_t keycode);

/* keymap.c */

enum refresh_mode {
	REFRESH,       /* reload the keymap if it changed */
	REFRESH_FORCE, /* reload it anyway */
	REFRESH_CHECK, /* fail with -EAGAIN if it changed; keep in->kbd */
};

/*
 * Reads the keymap's fingerprint (XKB key sym maps and the modifier mapping), the XKB state
 * and the keys held down into in->kbd, and reloads the keymap when it changed. One round trip
 * (plus the keymap's own reading when it changed).
 */
int keymap_refresh(struct mxc_input *in, enum refresh_mode mode, struct mxc_error *err);
void keymap_finish(struct mxc_input *in);
/* Builds the lookup tables for group (no-op when they are current). */
int keymap_tables(struct mxc_input *in, uint8_t group, struct mxc_error *err);
/* The best key for a keysym (by_sym) or a code point (by_cp) in the current tables, or NULL. */
const struct key_entry *keymap_find_sym(const struct mxc_input *in, xkb_keysym_t sym);
const struct key_entry *keymap_find_cp(const struct mxc_input *in, uint32_t cp);
/* Whether kc is a key that sets a modifier while held (Shift_L, ...), as opposed to a lock. */
bool keymap_sets_modifier(const struct mxc_input *in, uint8_t kc);

/* The cell carrying sym (0 or 1), or -1. */
int slots_find(struct mxc_input *in, xkb_keysym_t sym, struct slot **ret_slot);
/*
 * Picks a cell for sym (none may carry it) that the current chunk hasn't used: an empty one
 * first, else the least recently used. -ENOSPC when there is none. *ret_ready_ns is when its
 * old keysym's grace period ends (0 for an empty cell).
 */
int slots_assign(struct mxc_input *in, xkb_keysym_t sym, struct slot **ret_slot,
		 uint64_t *ret_ready_ns);
/* Whether any cell could ever take a keysym (a spare keycode not pinned). */
bool slots_available(const struct mxc_input *in);
/*
 * Sends the pending slot changes in one XkbSetMap, so that clients get one notification (and
 * fetch the keymap once) per batch. -E2BIG in the (absurd) case the keys between two slots
 * carry too many keysyms for one request; nothing is sent then.
 */
int slots_write(struct mxc_input *in, struct mxc_error *err);
/* Stamps every cell the current chunk used with now (after a round trip). */
void slots_mark_used(struct mxc_input *in, uint64_t now);
/* Clears the cells whose grace period has passed; returns ns until the next one's, or 0. */
uint64_t slots_expire(struct mxc_input *in, uint64_t now, bool all);

/* names.c */

/*
 * Decodes one code point of strict UTF-8 at s[*pos] (no overlong forms, surrogates or values
 * above U+10FFFF) and advances *pos. -EILSEQ when invalid.
 */
int utf8_next(const char *s, size_t len, size_t *pos, uint32_t *ret_cp);
/*
 * Splits a chord into at most MXC_INPUT_MAX_CHORD_KEYS keysyms (see mxc_input_key for what a
 * key may be).
 */
int chord_parse(const char *chord, xkb_keysym_t *ret_syms, size_t *ret_n, struct mxc_error *err);

/* Sleeps until CLOCK_MONOTONIC reaches when_ns. */
void input_sleep_until(uint64_t when_ns);

/* keys.c */

/*
 * Resolves keysyms to keys on the current layout (group: the effective one) or on spare
 * keycodes, sending the remaps they need. Starts a chunk.
 */
int keys_resolve(struct mxc_input *in, const xkb_keysym_t *syms, size_t n,
		 struct key_press *ret_keys, struct mxc_error *err);
/* Parses and resolves a chord, after a keymap refresh. */
int keys_resolve_chord(struct mxc_input *in, const char *chord, struct key_press *ret_keys,
		       size_t *ret_n, struct mxc_error *err);
void keys_press(struct mxc_input *in, const struct key_press *k);
void keys_release(struct mxc_input *in, const struct key_press *k);
/* Releases everything held through key_down, in reverse order. */
void keys_release_held(struct mxc_input *in);

#endif
