/*
 * The world a clipboard test runs in: private namespaces, a real Xvfb, several display
 * connections each with its own struct mxc_clipboard, threads that dispatch a connection's
 * events while the test's thread waits in another, raw xcb peers that a test drives by hand,
 * and child programs (xclip).
 *
 * Nothing here asserts (threads can't): functions return 0 or a negative errno.
 */
#ifndef MXC_TESTS_CLIPBOARD_CLIPWORLD_H
#define MXC_TESTS_CLIPBOARD_CLIPWORLD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <xcb/xcb.h>

#include "clipboard.h"
#include "display-xcb.h"
#include "testx.h"

#define CLIPWORLD_CLIENTS 3

/* A thread that dispatches one connection's events until stopped. */
struct serve_thread {
	pthread_t thread;
	bool running;
	int stop_fd; /* eventfd */
	struct mxc_display *display;
	int result; /* the dispatch error that ended it, or 0 */
};

struct clipworld {
	struct testx_server server;
	struct mxc_display *d[CLIPWORLD_CLIENTS];
	struct mxc_clipboard *c[CLIPWORLD_CLIENTS];
	struct serve_thread serve[CLIPWORLD_CLIENTS];
	pid_t child; /* a program the test started (xclip), killed by clipworld_stop */
};

/* Zeroes w so that clipworld_stop is safe before (or after a failed) clipworld_start. */
void clipworld_init(struct clipworld *w);

/*
 * testx_isolate plus a private /var/lib/xkb, an Xvfb (display :1, depth 24) and
 * CLIPWORLD_CLIENTS connections each with a clipboard (timeouts: timeout_ms).
 */
int clipworld_start(struct clipworld *w, int timeout_ms);

/* Stops the threads and the child, destroys the clipboards and connections, stops the server. */
void clipworld_stop(struct clipworld *w);

/* Starts / stops dispatching client i's events in a thread of its own. */
int clipworld_serve(struct clipworld *w, unsigned i);
void clipworld_serve_stop(struct clipworld *w, unsigned i);

/* Dispatches client i's events for ms milliseconds (in the calling thread). */
int clipworld_pump(struct clipworld *w, unsigned i, int ms);

/* A raw xcb connection to the world's server with a window of its own (PropertyChange). */
struct raw_client {
	xcb_connection_t *conn;
	xcb_window_t root, window;
};
int raw_connect(struct clipworld *w, struct raw_client *rc);
void raw_close(struct raw_client *rc);
xcb_atom_t raw_atom(struct raw_client *rc, const char *name);
char *raw_atom_name(struct raw_client *rc, xcb_atom_t atom);
/* Waits up to ms for an event of type (response_type & 0x7f) matching match (may be NULL). */
xcb_generic_event_t *raw_wait_event(struct raw_client *rc, uint8_t type,
				    bool (*match)(xcb_generic_event_t *ev, void *data), void *data,
				    int ms);
/* The CLIPBOARD owner (XCB_NONE when none). */
xcb_window_t raw_owner(struct raw_client *rc);

/*
 * Runs argv (argv[0] a path) with stdin from in_len bytes of in (or /dev/null when in is
 * NULL); its stdout is read into *ret_out (at most max bytes) while client i's events are
 * dispatched, until it exits or timeout_ms. Returns the exit status (>= 0) or -errno.
 */
int clipworld_run(struct clipworld *w, unsigned i, const char *const argv[], const uint8_t *in,
		  size_t in_len, uint8_t **ret_out, size_t *ret_len, size_t max, int timeout_ms);

/* Starts argv in the background (w->child) with stdin from in; its output goes to /dev/null. */
int clipworld_spawn(struct clipworld *w, const char *const argv[], const uint8_t *in,
		    size_t in_len);

/* Waits up to ms until somebody owns CLIPBOARD. */
int clipworld_wait_owner(struct clipworld *w, int ms);

/* Test data. */
uint8_t *make_text(size_t min_len, size_t *ret_len);
/* A PNG of noise, at least min_len bytes. */
int make_png(size_t min_len, uint8_t **ret, size_t *ret_len);

#endif
