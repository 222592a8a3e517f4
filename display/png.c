/*
 * PNG encoding of screenshots with libspng.
 *
 * The settings are chosen by measuring (tests/unit/display/bench-capture.c, --sweep) on
 * 1280x800 screens of text, flat window areas and a photo-like gradient; see the numbers
 * in the comment on mxc_png_default_settings.
 */
#include <spng.h>
#include <stdlib.h>
#include <zlib.h>

#include "display-private.h"

/*
 * zlib level 1, default strategy, no row filter. Measured with
 * `bench-capture --runs 15 --sweep` (CPU time per encode, median; 1280x800 desktop, and its
 * editor-text and photo windows), zlib 1.2.13, libspng 0.7.3:
 *
 *   level strategy filter   desktop          text            photo
 *   1     default  none      9.1 ms 259 KiB  2.4 ms  62 KiB  4.7 ms 193 KiB   <- chosen
 *   1     default  sub      11.3 ms 252 KiB  3.3 ms  65 KiB  4.7 ms 181 KiB
 *   1     default  all      42.3 ms 254 KiB 10.1 ms  66 KiB  9.1 ms 192 KiB   (spng's default)
 *   1     rle      up       10.5 ms 355 KiB  2.9 ms  94 KiB  3.8 ms 253 KiB
 *   3     default  sub      15.2 ms 228 KiB  4.1 ms  56 KiB  8.8 ms 163 KiB
 *   6     default  sub      33.9 ms 208 KiB 10.0 ms  50 KiB 30.1 ms 162 KiB
 *
 * Screen content is mostly exact repeats (glyphs, flat fills), which LZ77 matches find on the
 * raw rows; filters help gradients and photos a little and cost a pass per row (adaptive
 * filtering, which tries all five, costs 4x). Levels 1-3 share zlib's fast deflate, which
 * ignores Z_FILTERED; Z_RLE and Huffman-only give up the matches that make text small.
 */
const struct mxc_png_settings mxc_png_default_settings = {
    .level = 1,
    .strategy = Z_DEFAULT_STRATEGY,
    .filters = SPNG_FILTER_CHOICE_NONE,
};

static int spng_failed(int r, const char *what, struct mxc_error *err)
{
	return mxc_error_set(err, r == SPNG_EMEM ? -ENOMEM : -EIO, "failed to encode PNG: %s: %s",
			     what, spng_strerror(r));
}

int mxc_png_encode_with(const struct mxc_image *img, const struct mxc_png_settings *settings,
			uint8_t **ret_buf, size_t *ret_len, struct mxc_error *err)
{
	struct spng_ihdr ihdr;
	spng_ctx *ctx;
	void *buf;
	size_t len;
	int r;

	if (!img || !img->data || img->width == 0 || img->height == 0 ||
	    img->width > MXC_DISPLAY_MAX_SIDE || img->height > MXC_DISPLAY_MAX_SIDE ||
	    img->stride != img->width * 3)
		return mxc_error_set(
		    err, -EINVAL, "failed to encode PNG: invalid image (%ux%u, stride %u)",
		    img ? img->width : 0, img ? img->height : 0, img ? img->stride : 0);

	ctx = spng_ctx_new(SPNG_CTX_ENCODER);
	if (!ctx)
		return mxc_error_set(err, -ENOMEM, "failed to encode PNG: out of memory");
	ihdr = (struct spng_ihdr){
	    .width = img->width,
	    .height = img->height,
	    .bit_depth = 8,
	    .color_type = SPNG_COLOR_TYPE_TRUECOLOR,
	};
	r = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
	if (r) {
		r = spng_failed(r, "buffer output", err);
		goto out;
	}
	r = spng_set_ihdr(ctx, &ihdr);
	if (r) {
		r = spng_failed(r, "header", err);
		goto out;
	}
	if ((r = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, settings->level)) ||
	    (r = spng_set_option(ctx, SPNG_IMG_COMPRESSION_STRATEGY, settings->strategy)) ||
	    (r = spng_set_option(ctx, SPNG_FILTER_CHOICE, settings->filters))) {
		r = spng_failed(r, "settings", err);
		goto out;
	}
	r = spng_encode_image(ctx, img->data, (size_t)img->stride * img->height, SPNG_FMT_PNG,
			      SPNG_ENCODE_FINALIZE);
	if (r) {
		r = spng_failed(r, "image", err);
		goto out;
	}
	/* The buffer comes from spng's allocator, which is malloc: ours to free(). */
	buf = spng_get_png_buffer(ctx, &len, &r);
	if (!buf) {
		r = spng_failed(r ? r : SPNG_EMEM, "output", err);
		goto out;
	}
	*ret_buf = buf;
	*ret_len = len;
	r = 0;
out:
	spng_ctx_free(ctx);
	return r;
}

int mxc_png_encode(const struct mxc_image *img, uint8_t **ret_buf, size_t *ret_len,
		   struct mxc_error *err)
{
	return mxc_png_encode_with(img, &mxc_png_default_settings, ret_buf, ret_len, err);
}
