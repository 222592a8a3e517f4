/*
 * A recording X client for the input tests and benchmark: one window covering the screen, with
 * the keyboard focus, on its own connection and thread. It records every key, button and motion
 * event, and turns key presses into text the way real clients do: through an xkbcommon-x11
 * keymap that it fetches again whenever the server says the keymap changed (XKB new-keyboard
 * and map notifications, core MappingNotify), with a state taken from each event's modifier
 * and group bits, processing events strictly in order.
 *
 * It runs concurrently with the code under test, like a real client: it may process a
 * MappingNotify (and fetch the keymap) late, which is what the remap race is about; slow_ms
 * makes it later on purpose.
 *
 * Nothing here asserts: functions return 0 or a negative errno.
 */
#ifndef MXC_TESTS_INPUT_RECORDER_H
#define MXC_TESTS_INPUT_RECORDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xcb/xcb.h>
#include <xkbcommon/xkbcommon.h>

struct rec_event {
	uint8_t type;	/* XCB_KEY_PRESS, XCB_KEY_RELEASE, XCB_BUTTON_PRESS, ... */
	uint8_t detail; /* keycode or button */
	uint16_t state; /* modifiers and buttons (and the group in bits 13-14) */
	int16_t x, y;
	xkb_keysym_t sym;  /* key events: the keysym translated with the event's state */
	xkb_keysym_t base; /* key events: the keysym of the key's first level */
};

struct recorder {
	xcb_connection_t *conn;
	xcb_window_t win;
	uint32_t width, height;
	int slow_ms; /* sleep before fetching a changed keymap */

	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;

	/* Under lock. */
	struct rec_event *events;
	size_t n_events, cap_events;
	char *text;
	size_t text_len, text_cap;
	uint32_t marker_seen;
	unsigned keymap_loads;
	bool failed;

	/* The thread's own. */
	uint32_t marker_sent;
	xcb_atom_t marker_atom;
	uint8_t xkb_event_base;
	int32_t device_id;
	struct xkb_context *ctx;
	struct xkb_keymap *keymap;
	struct xkb_state *state;
};

/* Connects to display (NULL: $DISPLAY), maps the window, takes the focus, starts the thread. */
int recorder_start(struct recorder *r, const char *display, int slow_ms);
/* Stops the thread and disconnects; safe on a recorder that never started. */
void recorder_stop(struct recorder *r);

/*
 * Waits (10 s at most) until the thread has processed every event the server sent before this
 * call: a ClientMessage to itself, sent after whatever the caller synced, comes after them.
 */
int recorder_settle(struct recorder *r);
/* Forgets the events and text recorded so far. */
void recorder_clear(struct recorder *r);

/* Copies of what was recorded (free them). */
char *recorder_text(struct recorder *r);
size_t recorder_events(struct recorder *r, struct rec_event **ret);

/* Queries on the recorder's connection. */
int recorder_keys_down(struct recorder *r, uint8_t ret_keys[32]);
int recorder_pointer(struct recorder *r, int16_t *ret_x, int16_t *ret_y, uint16_t *ret_mask);
/* GetKeyboardMapping of every keycode (free *ret). */
int recorder_keyboard_mapping(struct recorder *r, uint32_t **ret, size_t *ret_len);
/* Locks XKB group (0..3) on the core keyboard. */
int recorder_lock_group(struct recorder *r, unsigned group);
/* The XKB state's locked modifiers. */
int recorder_locked_mods(struct recorder *r, uint8_t *ret);

/* Runs setxkbmap with args (DISPLAY and XAUTHORITY from the environment); 0 on exit 0. */
int run_setxkbmap(const char *const *args);

#endif
