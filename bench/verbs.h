/*
 * An mxc client with one persistent connection to mxc-sessiond, as an agent runtime would
 * keep, calling the computer-use verbs of one session (docs/PROTOCOL.md).
 */
#ifndef MXC_BENCH_VERBS_H
#define MXC_BENCH_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

struct bench_client {
	struct mxc_conn conn;
	const char *session;
};

int bench_client_open(struct bench_client *c, const char *socket_path, const char *session,
		      struct mxc_error *err);
void bench_client_close(struct bench_client *c);

/*
 * A PNG screenshot of the full screen (region NULL) or of region {x, y, width, height}, until
 * its bytes are in hand: the answer's sealed memfd is mapped, its PNG signature checked and
 * every byte read. *ret_bytes is the PNG's size.
 */
int bench_client_screenshot(struct bench_client *c, const int region[4], size_t *ret_bytes,
			    uint32_t *ret_width, uint32_t *ret_height, struct mxc_error *err);
/* Any verb without arguments but the session ("session": false: none at all). */
int bench_client_call(struct bench_client *c, const char *verb, bool session,
		      struct mxc_error *err);
/* A left click at x, y (screen pixels), until the daemon answers. */
int bench_client_click(struct bench_client *c, int x, int y, struct mxc_error *err);
/* Moves the pointer to x, y, until the daemon answers. */
int bench_client_move(struct bench_client *c, int x, int y, struct mxc_error *err);
/* Types text, until the daemon answers. */
int bench_client_type(struct bench_client *c, const char *text, struct mxc_error *err);

#endif
