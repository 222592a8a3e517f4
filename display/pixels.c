/* Pixel conversion from the server's image format to packed RGB, and struct mxc_image. */
#include <stdlib.h>

#include "display-private.h"

void mxc_image_finish(struct mxc_image *img)
{
	if (!img)
		return;
	free(img->data);
	*img = (struct mxc_image){0};
}

size_t mxc_pixel_stride(const struct mxc_pixel_format *f, uint32_t width)
{
	size_t bits = (size_t)width * f->bits_per_pixel;
	size_t pad = f->scanline_pad;

	return (bits + pad - 1) / pad * pad / 8;
}

/*
 * Reads are bytewise so that the result doesn't depend on the host's byte order; the compiler
 * turns these loops into wide loads and shuffles.
 */
static void bgrx8888_row(const uint8_t *restrict s, uint32_t w, uint8_t *restrict d)
{
	for (uint32_t x = 0; x < w; x++) {
		d[0] = s[2];
		d[1] = s[1];
		d[2] = s[0];
		s += 4;
		d += 3;
	}
}

static void bgr888_row(const uint8_t *restrict s, uint32_t w, uint8_t *restrict d)
{
	for (uint32_t x = 0; x < w; x++) {
		d[0] = s[2];
		d[1] = s[1];
		d[2] = s[0];
		s += 3;
		d += 3;
	}
}

/*
 * 5 and 6 bit channels widen by bit replication, (v << 3) | (v >> 2) for 5 bits: 0 stays 0,
 * the maximum becomes 255, and steps stay even, which is what X servers and pixman do.
 */
static void rgb565_row(const uint8_t *restrict s, uint32_t w, uint8_t *restrict d)
{
	for (uint32_t x = 0; x < w; x++) {
		unsigned v = s[0] | (unsigned)s[1] << 8;
		unsigned r = v >> 11, g = (v >> 5) & 0x3f, b = v & 0x1f;

		d[0] = (uint8_t)(r << 3 | r >> 2);
		d[1] = (uint8_t)(g << 2 | g >> 4);
		d[2] = (uint8_t)(b << 3 | b >> 2);
		s += 2;
		d += 3;
	}
}

void mxc_pixels_to_rgb(const struct mxc_pixel_format *f, const uint8_t *src, size_t src_stride,
		       uint32_t w, uint32_t h, uint8_t *dst)
{
	void (*row)(const uint8_t *restrict, uint32_t, uint8_t *restrict);

	switch (f->layout) {
	case MXC_PIXEL_BGRX8888:
		row = bgrx8888_row;
		break;
	case MXC_PIXEL_BGR888:
		row = bgr888_row;
		break;
	case MXC_PIXEL_RGB565:
		row = rgb565_row;
		break;
	default:
		abort();
	}
	for (uint32_t y = 0; y < h; y++)
		row(src + y * src_stride, w, dst + (size_t)y * w * 3);
}
