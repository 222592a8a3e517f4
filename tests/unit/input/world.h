/*
 * The world an input test runs in: private namespaces, a real Xvfb, a recording client and an
 * mxc_input on its own display connection. Shared by the tests and the benchmark.
 */
#ifndef MXC_TESTS_INPUT_WORLD_H
#define MXC_TESTS_INPUT_WORLD_H

#include "display.h"
#include "input.h"
#include "recorder.h"
#include "testx.h"

struct world {
	struct testx_server server;
	struct recorder rec;
	struct mxc_display *display;
	struct mxc_input *input;
};

/* Zeroes w so that world_stop is safe before (or after a failed) world_start. */
void world_init(struct world *w);

/*
 * testx_isolate, plus a private /var/lib/xkb (when the host has one): Xvfb compiles keymaps
 * (setxkbmap) into /var/lib/xkb/server-<N>.xkm, which servers of other test runs with the same
 * display number would otherwise share. Then starts Xvfb (width x height, depth 24), the recorder
 * (slow_ms as in recorder_start) and the input object.
 */
int world_start(struct world *w, uint32_t width, uint32_t height, int slow_ms);

/* Destroys the input object, the display connection, the recorder and the server. */
void world_stop(struct world *w);

/* setxkbmap against the world's server, then waits until the recorder has the new keymap. */
int world_set_layout(struct world *w, const char *layout);

#endif
