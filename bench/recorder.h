/*
 * An X client that records the input events delivered to it, each stamped with
 * CLOCK_MONOTONIC when the client reads it, and the text its key presses type, translated
 * through the keymap with xkbcommon the way toolkits do (fetching the keymap again after each
 * change notification). CLOCK_MONOTONIC is the same in every PID namespace, so the stamps
 * compare with times taken anywhere on the host.
 *
 * It maps an InputOnly window over the whole screen (invisible: screenshots still show the
 * desktop under it) and gives it the keyboard focus, so it receives every click and key.
 * Events are read on the recorder's own thread.
 */
#ifndef MXC_BENCH_RECORDER_H
#define MXC_BENCH_RECORDER_H

#include <pthread.h>
#include <stdbool.h>
#include <xcb/xcb.h>
#include <xkbcommon/xkbcommon.h>

struct bench_event {
	uint64_t t_ns;	 /* CLOCK_MONOTONIC when read */
	uint8_t type;	 /* XCB_KEY_PRESS, XCB_BUTTON_PRESS, ... */
	uint8_t detail;	 /* keycode or button */
	int16_t x, y;	 /* in the window, which covers the screen from 0,0 */
	size_t text_end; /* bytes of recorded text after this event */
};

struct bench_recorder {
	xcb_connection_t *conn;
	xcb_window_t win;
	xcb_atom_t marker_atom;
	struct xkb_context *ctx;
	struct xkb_keymap *keymap;
	struct xkb_state *state;
	int32_t device_id;
	uint8_t xkb_event_base;

	pthread_t thread;
	bool has_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock: */
	struct bench_event *events;
	size_t n_events, cap_events;
	char *text;
	size_t text_len, text_cap;
	uint32_t marker_sent, marker_seen;
	bool running, failed;
};

/* Takes over conn (closed by bench_recorder_stop, also on failure). */
int bench_recorder_start(struct bench_recorder *r, xcb_connection_t *conn);
void bench_recorder_stop(struct bench_recorder *r);

/* Forgets the events and text recorded so far. */
void bench_recorder_clear(struct bench_recorder *r);
/*
 * A round trip through the server and the recorder's thread: when it returns, every event
 * the server delivered before has been recorded. -ETIMEDOUT after 10 s, -EIO when an
 * event could not be recorded.
 */
int bench_recorder_settle(struct bench_recorder *r);
/*
 * Waits up to timeout_ms for the first event of the given type since the last clear and
 * copies it to *ret. -ETIMEDOUT if none came.
 */
int bench_recorder_wait_event(struct bench_recorder *r, uint8_t type, int timeout_ms,
			      struct bench_event *ret);
/*
 * The text typed since the last clear (free() it), and when the key press that typed its
 * last byte was read (0 when nothing was typed).
 */
char *bench_recorder_text(struct bench_recorder *r, uint64_t *ret_last_ns);

#endif
