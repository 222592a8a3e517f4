/*
 * Input injection into an X display through XTEST: pointer motion, buttons, clicks, drags and
 * scrolling, key chords, and text typed exactly whatever the keyboard layout.
 *
 * Keys go through the display's current keymap (read with xkbcommon-x11 and re-checked at the
 * start of every key or text call, so `setxkbmap` between calls is picked up). A character the
 * layout can type is typed with its own key and the modifiers its level needs (Shift, AltGr, ...);
 * one it can't type is put on a spare keycode (one with no symbols) for as long as clients may
 * still be reading the events that use it, and that keycode is given back later: see
 * mxc_input_type and mxc_input_restore_keymap.
 *
 * Trust: the display server is the agent's, so every reply is checked (sizes, counts) and every
 * round trip has the display's deadline (mxc_display_set_timeout). The one exception is reading
 * a keymap that changed, which xkbcommon-x11 does with its own blocking round trips: a server
 * that stops answering in the middle of that hangs the caller, like the connection setup does
 * (see mxc_display_connect: the daemon runs the session helper under its own deadline).
 *
 * Cost: an action sends its events without waiting and ends with one round trip, so that when it
 * returns the server has processed every event. Key and text calls (and clicks or scrolls with
 * modifiers) add one round trip at the start, which reads the keymap's fingerprint, the
 * keyboard state and the keys held down. No round trip per key.
 *
 * Errors are negative errno values with a message in err: -EINVAL (bad argument: a key name,
 * a button, a count, invalid UTF-8), -ERANGE (a point outside the screen), -E2BIG (too long),
 * -ENOSPC (no spare keycode left for a character the layout lacks), -EAGAIN (the keymap
 * changed in the middle of a long text), -EOPNOTSUPP (no XTEST or XKB), and the display's
 * connection errors (-ETIMEDOUT, -ECONNRESET, -EPROTO, ...). After a connection error every
 * call fails with -EIO. A call that fails leaves no key or button of its own pressed: arguments
 * are checked before the first event is sent, and a text stopped midway releases its
 * modifiers and puts the keyboard state back.
 *
 * Not thread-safe; one struct mxc_input per struct mxc_display, used from the display's thread.
 * xcb writes without MSG_NOSIGNAL: the calls block SIGPIPE while they write, and consume the one
 * a dead server raises.
 */
#ifndef MXC_INPUT_INPUT_H
#define MXC_INPUT_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display.h"
#include "error.h"

/* Longest text mxc_input_type accepts, in bytes of UTF-8. */
#define MXC_INPUT_MAX_TEXT (64 * 1024)
/* Most keys in one chord ("ctrl+alt+shift+t" is 4). */
#define MXC_INPUT_MAX_CHORD_KEYS 8
/* Longest chord string, in bytes. */
#define MXC_INPUT_MAX_CHORD_LEN 256
/* Most points in one drag. */
#define MXC_INPUT_MAX_DRAG_POINTS 10000
/* Most notches in one direction of one scroll. */
#define MXC_INPUT_MAX_SCROLL 1000
/* Most keys held at once through mxc_input_key_down. */
#define MXC_INPUT_MAX_HELD 32
/* Default for mxc_input_set_remap_grace. */
#define MXC_INPUT_DEFAULT_REMAP_GRACE_MS 100

struct mxc_input;

/*
 * Binds input injection to d, which must outlive it: checks that the server has XTEST (2.2) and
 * XKB (1.0), and reads the keyboard's keymap.
 */
int mxc_input_create(struct mxc_display *d, struct mxc_input **ret, struct mxc_error *err);

/*
 * Releases every key and button still held through this object (in the reverse order of
 * pressing), gives back every remapped keycode (waiting, at most the remap grace, for clients
 * to read the last events that used one), and frees. Accepts NULL. Does nothing on the server
 * when the connection has failed.
 */
void mxc_input_destroy(struct mxc_input *in);

enum mxc_button {
	MXC_BUTTON_LEFT = 1,
	MXC_BUTTON_MIDDLE = 2,
	MXC_BUTTON_RIGHT = 3,
	MXC_BUTTON_BACK = 8,
	MXC_BUTTON_FORWARD = 9,
};

/*
 * Moves the pointer to (x, y), in screen pixels from the top left corner. Outside the screen:
 * -ERANGE.
 */
int mxc_input_move(struct mxc_input *in, int32_t x, int32_t y, struct mxc_error *err);

/* Presses (down) or releases button b where the pointer is. */
int mxc_input_button(struct mxc_input *in, enum mxc_button b, bool down, struct mxc_error *err);

/*
 * Moves to (x, y) and clicks button b count times (1 to 3: that many press/release pairs in a
 * row, which clients see as a double or triple click). modifiers, if not NULL or empty, is a
 * chord (see mxc_input_key) held around the clicks: pressed in order after the move, released
 * in reverse after the last release.
 */
int mxc_input_click(struct mxc_input *in, int32_t x, int32_t y, enum mxc_button b, unsigned count,
		    const char *modifiers, struct mxc_error *err);

/*
 * Moves to points[0], presses b, moves through points[1] .. points[n - 1] in order, and releases
 * b there. 2 <= n <= MXC_INPUT_MAX_DRAG_POINTS; every point must be on the screen.
 */
int mxc_input_drag(struct mxc_input *in, const int32_t (*points)[2], size_t n, enum mxc_button b,
		   struct mxc_error *err);

/*
 * Moves to (x, y) and scrolls dy notches down (negative: up) with buttons 5 (4) and dx notches
 * right (negative: left) with buttons 7 (6), one press/release per notch, vertical first.
 * |dx|, |dy| <= MXC_INPUT_MAX_SCROLL. modifiers as for mxc_input_click.
 */
int mxc_input_scroll(struct mxc_input *in, int32_t x, int32_t y, int32_t dx, int32_t dy,
		     const char *modifiers, struct mxc_error *err);

/* Where the pointer is (QueryPointer on the root window). */
int mxc_input_cursor(struct mxc_input *in, int32_t *ret_x, int32_t *ret_y, struct mxc_error *err);

/*
 * Presses the keys of a chord in order and releases them in reverse: "ctrl+shift+t", "Return",
 * "F5", "super", "KP_Enter", "a", "é", "ctrl++" (the last key is "+").
 *
 * A key is one character (one code point of UTF-8: "a", "A", "é", "+"), a common name (ctrl or
 * control, alt, altgr, shift, super/win/meta/cmd = Super_L, enter/return, esc/escape, tab,
 * space, backspace, delete/del, insert, home, end, pageup/page_up, pagedown/page_down,
 * up/down/left/right, menu, print, capslock), or any keysym name xkbcommon knows ("F13",
 * "XF86AudioMute", "U20AC"), matched exactly first, then ignoring case. Spaces around a key
 * are ignored (the space bar is "space"). At most MXC_INPUT_MAX_CHORD_KEYS keys; an unknown
 * name is -EINVAL with the name in the message.
 *
 * A keysym is found on the current layout (in the active group) and pressed with the modifiers
 * its level needs, right before it: "A" is Shift+a, "@" on a German layout is AltGr+q. A keysym
 * the layout lacks is put on a spare keycode (see mxc_input_type). Modifiers already held, and
 * Caps Lock, are left as they are: this presses keys, it does not produce text.
 */
int mxc_input_key(struct mxc_input *in, const char *chord, struct mxc_error *err);

/*
 * The press half of mxc_input_key: the keys stay held (at most MXC_INPUT_MAX_HELD) until
 * mxc_input_key_up, or mxc_input_destroy.
 */
int mxc_input_key_down(struct mxc_input *in, const char *chord, struct mxc_error *err);

/*
 * Releases the keys of a chord in reverse order: a key held through mxc_input_key_down is
 * released with the modifiers its level needed; any other key is released as found on the
 * layout (a release of a key that is up does nothing).
 */
int mxc_input_key_up(struct mxc_input *in, const char *chord, struct mxc_error *err);

/*
 * Types exactly the text utf8 (len bytes, at most MXC_INPUT_MAX_TEXT, valid UTF-8), one key
 * press/release per code point, in order: clients that translate key events through the
 * keymap (xkbcommon, Xlib, toolkits) read back the same code points. "\n" and "\r\n" are typed
 * as Return, "\t" as Tab; other control characters are refused (-EINVAL, with the offset).
 *
 * For the duration of the call, modifier keys held down are released (and pressed again
 * afterwards) and locked modifiers such as Caps Lock are unlocked (and locked again), so that
 * nothing but the level's own modifiers reaches the characters.
 *
 * A character is typed on the active group's key if it has one, else on another group's (that
 * group is locked for it, as a user switching layouts would, and the active one locked again
 * at the end), else on a spare keycode: Cyrillic on "us", Latin letters on "ru", CJK, emoji,
 * code points above U+FFFF, the parts of ZWJ sequences. Spare keycodes carry two keysyms each
 * (the second on the Shift level) and are changed with one XkbSetMap per batch.
 *
 * The remap race: a client reads a remapped key with whatever mapping it fetches when it gets
 * to the change notification, so a mapping restored or changed before it did types the wrong
 * character (xdotool's bug, which restores right after each key). Here a spare keycode is
 * never changed while events sent in the last remap grace period may still be read through it:
 *
 *  - a keysym stays on its keycode after the call, so typing it again costs nothing;
 *  - a text with more distinct missing characters than spare cells is typed in chunks: each
 *    chunk's remaps go out in one request before its events, and the next chunk's remaps wait
 *    until the grace period has passed since the server processed the chunk (a round trip,
 *    then a sleep; the keymap is checked again before sending, and a layout change meanwhile
 *    ends the call with -EAGAIN);
 *  - mxc_input_restore_keymap gives keycodes back once their grace period has passed, and
 *    mxc_input_destroy waits for it.
 *
 * Limit: a client that needs longer than the grace period to get through the notifications of
 * one batch (three per batch on Xorg: XKB map, core MappingNotify, XKB new keyboard when the
 * core keyboard takes the XTEST keyboard's keymap) and fetch the keymap can still read a chunk
 * with the next chunk's mapping. That only happens when one text needs more cells than the
 * keymap has spare (2 x 19 on Xvfb's default keymap); raise the grace for slow clients.
 * -ENOSPC when every spare keycode is held through mxc_input_key_down.
 */
int mxc_input_type(struct mxc_input *in, const char *utf8, size_t len, struct mxc_error *err);

/*
 * The remap grace period, in milliseconds (default MXC_INPUT_DEFAULT_REMAP_GRACE_MS): how long
 * clients are given to read events through a remapped keycode before it is changed or restored.
 */
void mxc_input_set_remap_grace(struct mxc_input *in, unsigned ms);

/*
 * Gives back every spare keycode that was remapped and that no event sent in the last grace
 * period used (nor a key held through mxc_input_key_down). Returns 0 when no keycode is
 * remapped any more, or the number of milliseconds after which to call it again; the session
 * helper calls it from a timer after each key or text call. One round trip (the keymap is read
 * again first: the request sends the other keys' maps back). Negative errno on failure.
 */
int mxc_input_restore_keymap(struct mxc_input *in, struct mxc_error *err);

/* A round trip: when it returns, the server has processed every event sent so far. */
int mxc_input_sync(struct mxc_input *in, struct mxc_error *err);

#endif
