/*
 * Resizing packed RGB images for scaled screenshots: area averaging when shrinking (every
 * source pixel contributes by the fraction of it an output pixel covers), nearest neighbour
 * when enlarging (a zoomed region shows the real pixels, not invented ones). Separable: one
 * horizontal pass, one vertical pass, with weights in 1/65536ths precomputed per axis.
 */
#include <stdlib.h>

#include "display.h"

/* The contributions of source pixels to each output position along one axis. */
struct axis {
	uint32_t *start; /* first source index per output index */
	uint32_t *count; /* number of contributing source pixels */
	uint32_t *off;   /* offset of its weights in weight[] */
	uint32_t *weight;
};

static void axis_free(struct axis *a)
{
	free(a->start);
	free(a->count);
	free(a->off);
	free(a->weight);
}

static int axis_init(struct axis *a, uint32_t src, uint32_t dst)
{
	/* Each output pixel covers src/dst source pixels, so at most ceil(src/dst)+1 of them. */
	size_t per = dst >= src ? 1 : (size_t)(src / dst) + 2;
	*a = (struct axis){
		.start = calloc(dst, sizeof(uint32_t)),
		.count = calloc(dst, sizeof(uint32_t)),
		.off = calloc(dst, sizeof(uint32_t)),
		.weight = calloc((size_t)dst * per, sizeof(uint32_t)),
	};
	if (!a->start || !a->count || !a->off || !a->weight) {
		axis_free(a);
		return -ENOMEM;
	}
	uint32_t used = 0;
	for (uint32_t i = 0; i < dst; i++) {
		a->off[i] = used;
		if (dst >= src) {
			/* Nearest: the source pixel under the output pixel's centre. */
			uint64_t s = ((uint64_t)i * 2 + 1) * src / (2 * (uint64_t)dst);
			a->start[i] = (uint32_t)(s < src ? s : src - 1);
			a->count[i] = 1;
			a->weight[used++] = 65536;
			continue;
		}
		/* Covered span [i*src/dst, (i+1)*src/dst) in units of 1/dst source pixel. */
		uint64_t lo = (uint64_t)i * src, hi = (uint64_t)(i + 1) * src;
		uint32_t first = (uint32_t)(lo / dst), last = (uint32_t)((hi - 1) / dst);
		uint64_t total = hi - lo, acc = 0;
		a->start[i] = first;
		a->count[i] = last - first + 1;
		for (uint32_t s = first; s <= last; s++) {
			uint64_t a0 = (uint64_t)s * dst > lo ? (uint64_t)s * dst : lo;
			uint64_t a1 = (uint64_t)(s + 1) * dst < hi ? (uint64_t)(s + 1) * dst : hi;
			/* Weights sum to exactly 65536: the last one takes the remainder. */
			uint64_t w = s == last ? 65536 - acc : (a1 - a0) * 65536 / total;
			acc += w;
			a->weight[used++] = (uint32_t)w;
		}
	}
	return 0;
}

int mxc_image_scale(const struct mxc_image *src, uint32_t width, uint32_t height,
		    struct mxc_image *ret, struct mxc_error *err)
{
	if (!src || !src->data || src->width == 0 || src->height == 0 || width == 0 || height == 0 ||
	    width > MXC_DISPLAY_MAX_SIDE || height > MXC_DISPLAY_MAX_SIDE)
		return mxc_error_set(err, -EINVAL, "invalid scale %ux%u", width, height);
	struct axis ax, ay;
	uint8_t *mid = NULL, *out = NULL;
	int r = -ENOMEM;
	if (axis_init(&ax, src->width, width) < 0)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	if (axis_init(&ay, src->height, height) < 0) {
		axis_free(&ax);
		return mxc_error_set(err, -ENOMEM, "out of memory");
	}
	mid = malloc((size_t)width * 3 * src->height);
	out = malloc((size_t)width * 3 * height);
	if (!mid || !out)
		goto out;

	for (uint32_t y = 0; y < src->height; y++) {
		const uint8_t *row = src->data + (size_t)y * src->stride;
		uint8_t *d = mid + (size_t)y * width * 3;
		for (uint32_t x = 0; x < width; x++) {
			const uint8_t *s = row + (size_t)ax.start[x] * 3;
			const uint32_t *w = ax.weight + ax.off[x];
			uint64_t c0 = 32768, c1 = 32768, c2 = 32768;
			for (uint32_t k = 0; k < ax.count[x]; k++, s += 3) {
				c0 += (uint64_t)s[0] * w[k];
				c1 += (uint64_t)s[1] * w[k];
				c2 += (uint64_t)s[2] * w[k];
			}
			d[3 * x] = (uint8_t)(c0 >> 16);
			d[3 * x + 1] = (uint8_t)(c1 >> 16);
			d[3 * x + 2] = (uint8_t)(c2 >> 16);
		}
	}
	size_t stride = (size_t)width * 3;
	for (uint32_t y = 0; y < height; y++) {
		const uint32_t *w = ay.weight + ay.off[y];
		uint8_t *d = out + (size_t)y * stride;
		for (size_t i = 0; i < stride; i++) {
			const uint8_t *s = mid + (size_t)ay.start[y] * stride + i;
			uint64_t c = 32768;
			for (uint32_t k = 0; k < ay.count[y]; k++, s += stride)
				c += (uint64_t)*s * w[k];
			d[i] = (uint8_t)(c >> 16);
		}
	}
	*ret = (struct mxc_image){ .width = width, .height = height, .stride = (uint32_t)stride,
				   .data = out };
	out = NULL;
	r = 0;
out:
	free(mid);
	free(out);
	axis_free(&ax);
	axis_free(&ay);
	return r < 0 ? mxc_error_set(err, r, "failed to scale the image: out of memory") : 0;
}
