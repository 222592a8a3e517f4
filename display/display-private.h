/* Shared between the files of display/: the connection state, reply waiting, pixel formats. */
#ifndef MXC_DISPLAY_PRIVATE_H
#define MXC_DISPLAY_PRIVATE_H

#include <signal.h>
#include <xcb/xcb.h>
#include <xcb/xcbext.h> /* xcb_poll_for_reply */
#include <xcb/shm.h>

#include "display-xcb.h"
#include "display.h"

/* The pixel layouts this module converts to RGB, as bytes in memory (all least significant first).
 */
enum mxc_pixel_layout {
	MXC_PIXEL_BGRX8888, /* depth 24, 32 bpp: B, G, R, unused */
	MXC_PIXEL_BGR888,   /* depth 24, 24 bpp: B, G, R */
	MXC_PIXEL_RGB565,   /* depth 16, 16 bpp: little-endian rrrrrggg gggbbbbb */
};

struct mxc_pixel_format {
	enum mxc_pixel_layout layout;
	uint8_t depth;
	uint8_t bits_per_pixel;
	uint8_t scanline_pad; /* bits: 8, 16 or 32 */
};

/*
 * Bytes per scanline of width pixels, rounded up to the scanline pad as the server sends them.
 * width <= MXC_DISPLAY_MAX_SIDE keeps this far from overflow.
 */
size_t mxc_pixel_stride(const struct mxc_pixel_format *f, uint32_t width);

/*
 * Converts w x h pixels at src (rows src_stride bytes apart) to packed RGB at dst
 * (w * 3 bytes per row). src may be shared memory that the server changes meanwhile: only
 * pixel values are read from it, never a length.
 */
void mxc_pixels_to_rgb(const struct mxc_pixel_format *f, const uint8_t *src, size_t src_stride,
		       uint32_t w, uint32_t h, uint8_t *dst);

struct mxc_display {
	xcb_connection_t *conn;
	char name[64]; /* for messages, printable */

	xcb_window_t root;
	xcb_visualid_t visual;
	uint32_t width, height;
	struct mxc_pixel_format format;

	int timeout_ms;
	bool broken; /* a round trip timed out: the reply stream can't be trusted any more */

	/* Event handlers (unused slots have fn == NULL) and the queue of undelivered events. */
	struct {
		mxc_display_event_fn fn;
		void *data;
	} handlers[MXC_DISPLAY_MAX_EVENT_HANDLERS];
	unsigned n_handlers;
	xcb_generic_event_t **queue; /* ring of MXC_DISPLAY_MAX_QUEUED_EVENTS, allocated lazily */
	size_t queue_head, queue_len, queue_bytes;
	uint64_t dropped_events;
	bool dispatching;

	/* MIT-SHM: one segment, the size of a full-screen image, for the connection's life. */
	bool shm;
	xcb_shm_seg_t shm_seg;
	uint8_t *shm_map; /* mapped read-only; the server writes it */
	size_t shm_size;
};

/* The error for a connection that xcb has shut down (xcb_connection_has_error). */
int mxc_display_connection_error(struct mxc_display *d, struct mxc_error *err);

/* Attaches the MIT-SHM segment, or leaves d->shm false when the server can't. */
int mxc_display_shm_init(struct mxc_display *d, struct mxc_error *err);
void mxc_display_shm_finish(struct mxc_display *d);

/* PNG encoder settings (png.c), exposed for the benchmark that chose them. */
struct mxc_png_settings {
	int level;    /* zlib level 0..9 */
	int strategy; /* Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE */
	int filters;  /* SPNG_FILTER_CHOICE_* mask */
};
extern const struct mxc_png_settings mxc_png_default_settings;
int mxc_png_encode_with(const struct mxc_image *img, const struct mxc_png_settings *settings,
			uint8_t **ret_buf, size_t *ret_len, struct mxc_error *err);

#endif
