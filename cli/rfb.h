/*
 * An RFB (VNC) server engine, RFC 6143, for `mxc view`: one viewer at a time on a stream socket
 * the caller accepted, VNC Authentication with a one-time password, raw updates of the tiles
 * that changed since the client last saw them, and the DesktopSize pseudo-encoding.
 *
 * The engine knows nothing of sessions or of the daemon: pixels come from, and input goes to,
 * a struct mxc_rfb_source. The VNC client is hostile: every length it sends is bounded, nothing
 * is allocated from a size it chooses, and a client that stalls is dropped after a deadline.
 */
#ifndef MXC_CLI_RFB_H
#define MXC_CLI_RFB_H

#include "error.h"

/* Largest screen edge accepted from a source. */
#define MXC_RFB_MAX_EDGE 16384
/* VNC Authentication uses at most 8 password characters. */
#define MXC_RFB_PASSWORD_LEN 8
/* Failed authentications after which the password is spent. */
#define MXC_RFB_MAX_FAILURES 3
/* Entries of a SetEncodings message that are looked at; later ones are read and ignored. */
#define MXC_RFB_MAX_ENCODINGS 1024
/* Longest ClientCutText accepted (and discarded); a longer one closes the connection. */
#define MXC_RFB_MAX_CUT_TEXT (1u << 20)

/* One screen: rows of packed 8-bit R, G, B. */
struct mxc_rfb_frame {
	const uint8_t *pixels;
	uint32_t width, height; /* 1..MXC_RFB_MAX_EDGE */
	size_t stride;		/* bytes from one row to the next, >= width * 3 */
};

/* Where the pixels come from and where input goes; data is the source's own. */
struct mxc_rfb_source {
	/*
	 * The current screen. The pixels must stay valid and unchanged until the next call
	 * or until mxc_rfb_server_serve() returns. The size may differ from one call to the
	 * next.
	 */
	int (*frame)(void *data, struct mxc_rfb_frame *ret_frame, struct mxc_error *err);
	/* Called only for a server created with control. */
	int (*key)(void *data, uint32_t keysym, bool down, struct mxc_error *err);
	/* buttons is the RFB mask: bit 0 left, 1 middle, 2 right, 3-6 wheel, 7 back. */
	int (*pointer)(void *data, uint16_t x, uint16_t y, uint8_t buttons, struct mxc_error *err);
};

/* How mxc_rfb_server_serve() ended a connection. */
enum mxc_rfb_end {
	MXC_RFB_STOPPED,      /* stop_fd became readable */
	MXC_RFB_CLIENT_LEFT,  /* an authenticated client closed the connection */
	MXC_RFB_REFUSED,      /* authentication failed, or the password was spent already */
	MXC_RFB_CLIENT_FAULT, /* the client broke the protocol, stalled or left early */
};

struct mxc_rfb_server;

/*
 * Creates a server with a fresh one-time password of MXC_RFB_PASSWORD_LEN characters.
 * name is the desktop name shown by viewers (truncated to 255 bytes). Without control, key
 * and pointer events are read and dropped. source and data must outlive the server.
 */
int mxc_rfb_server_create(const char *name, bool control, const struct mxc_rfb_source *source,
			  void *data, struct mxc_rfb_server **ret_srv, struct mxc_error *err);
void mxc_rfb_server_destroy(struct mxc_rfb_server *srv);

/* The password to give the human; empty once a client used it. */
const char *mxc_rfb_server_password(const struct mxc_rfb_server *srv);
/* True once a client authenticated: the password is spent. */
bool mxc_rfb_server_authenticated(const struct mxc_rfb_server *srv);
/*
 * True once the password was used by a client, or after MXC_RFB_MAX_FAILURES failed
 * attempts: every later client is refused, so the caller may stop listening.
 */
bool mxc_rfb_server_spent(const struct mxc_rfb_server *srv);
/*
 * Replaces the deadlines (tests use short ones): the whole handshake (default 10 s), any
 * write that cannot progress or a message that stays incomplete (default 30 s), and the
 * interval between two looks at an unchanged screen (default 50 ms). 0 keeps a value.
 */
void mxc_rfb_server_set_timeouts(struct mxc_rfb_server *srv, int handshake_ms, int io_ms,
				 int frame_interval_ms);

/*
 * Serves one client on fd, a connected stream socket (made non-blocking; not closed), until
 * it leaves, misbehaves or stop_fd (may be -1) becomes readable. Returns 0 with how the
 * connection ended in *ret_end, and for MXC_RFB_REFUSED and MXC_RFB_CLIENT_FAULT the reason in
 * err; returns a negative errno when the source failed or memory ran out.
 */
int mxc_rfb_server_serve(struct mxc_rfb_server *srv, int fd, int stop_fd, enum mxc_rfb_end *ret_end,
			 struct mxc_error *err);

#endif
