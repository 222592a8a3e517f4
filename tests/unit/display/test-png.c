/* mxc_png_encode: valid PNG files that decode, with libspng, to exactly the input. */
#include <criterion/criterion.h>
#include <spng.h>
#include <stdlib.h>

#include "display.h"
#include "testx.h"

/* Decodes png to RGB8 with libspng, checking every CRC and the zlib checksum. */
static void decode(const uint8_t *png, size_t len, struct spng_ihdr *ihdr, uint8_t **ret_rgb,
		   size_t *ret_size)
{
	spng_ctx *ctx = spng_ctx_new(0);
	size_t size;
	uint8_t *out;
	int r;

	cr_assert_not_null(ctx);
	cr_assert_eq(spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR), 0);
	cr_assert_eq(spng_set_png_buffer(ctx, png, len), 0);
	r = spng_get_ihdr(ctx, ihdr);
	cr_assert_eq(r, 0, "IHDR: %s", spng_strerror(r));
	cr_assert_eq(spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &size), 0);
	out = malloc(size);
	cr_assert_not_null(out);
	r = spng_decode_image(ctx, out, size, SPNG_FMT_RGB8, 0);
	cr_assert_eq(r, 0, "decode: %s", spng_strerror(r));
	spng_ctx_free(ctx);
	*ret_rgb = out;
	*ret_size = size;
}

static void expect_round_trip(const struct mxc_image *img)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	struct mxc_error err = {0};
	struct spng_ihdr ihdr;
	uint8_t *png = NULL, *rgb;
	size_t len = 0, size, mismatches = 0, first = 0;

	cr_assert_eq(mxc_png_encode(img, &png, &len, &err), 0, "%s", err.msg);
	cr_assert_gt(len, 8 + 25 + 12);
	cr_expect_eq(memcmp(png, signature, 8), 0, "PNG signature");
	/* IHDR is the first chunk: length 13, then its name, at the fixed offset 8. */
	cr_expect_eq(memcmp(png + 12, "IHDR", 4), 0);
	cr_expect_eq(memcmp(png + len - 8, "IEND", 4), 0, "IEND is the last chunk");

	decode(png, len, &ihdr, &rgb, &size);
	cr_expect_eq(ihdr.width, img->width);
	cr_expect_eq(ihdr.height, img->height);
	cr_expect_eq(ihdr.bit_depth, 8);
	cr_expect_eq(ihdr.color_type, SPNG_COLOR_TYPE_TRUECOLOR);
	cr_expect_eq(ihdr.interlace_method, SPNG_INTERLACE_NONE);
	cr_assert_eq(size, (size_t)img->width * img->height * 3);
	for (size_t i = 0; i < size; i++)
		if (rgb[i] != img->data[i] && mismatches++ == 0)
			first = i;
	cr_expect_eq(mismatches, 0, "%zu bytes differ, first at pixel (%zu, %zu)", mismatches,
		     first / 3 % img->width, first / 3 / img->width);
	free(rgb);
	free(png);
}

static struct mxc_image random_image(uint32_t w, uint32_t h, uint32_t seed)
{
	struct mxc_image img = {.width = w, .height = h, .stride = w * 3};

	img.data = malloc((size_t)w * h * 3);
	cr_assert_not_null(img.data);
	for (size_t i = 0; i < (size_t)w * h * 3; i++) {
		seed = seed * 1103515245 + 12345;
		img.data[i] = (uint8_t)(seed >> 16);
	}
	return img;
}

Test(png, round_trips_small_and_odd_sizes)
{
	const uint32_t sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {3, 5}, {33, 17}, {257, 3}};

	for (size_t i = 0; i < MXC_ARRAY_SIZE(sizes); i++) {
		struct mxc_image img = random_image(sizes[i][0], sizes[i][1], (uint32_t)i + 1);

		expect_round_trip(&img);
		mxc_image_finish(&img);
	}
}

Test(png, round_trips_flat_and_gradient_content)
{
	struct mxc_image img = {.width = 1280, .height = 800, .stride = 1280 * 3};

	img.data = malloc((size_t)img.stride * img.height);
	cr_assert_not_null(img.data);
	for (uint32_t y = 0; y < img.height; y++)
		for (uint32_t x = 0; x < img.width; x++) {
			uint8_t *p = img.data + (size_t)y * img.stride + x * 3;

			p[0] = y < 400 ? 0x2e : (uint8_t)x;
			p[1] = y < 400 ? 0x34 : (uint8_t)y;
			p[2] = y < 400 ? 0x40 : (uint8_t)(x ^ y);
		}
	expect_round_trip(&img);
	mxc_image_finish(&img);
}

static struct testx_server server;
static struct testx_client client;

static void isolate(void)
{
	testx_init(&server);
	client = (struct testx_client){0};
	cr_assert_eq(testx_isolate(), 0);
}

static void stop(void)
{
	testx_client_close(&client);
	testx_stop(&server);
}

/* A real screenshot: text, flat areas and a photo; compression must actually happen. */
Test(png, round_trips_a_desktop_screenshot_and_compresses_it, .init = isolate, .fini = stop,
     .timeout = 60)
{
	struct mxc_display *d = NULL;
	struct mxc_image img = {0};
	uint8_t *png = NULL;
	size_t len = 0;

	cr_assert_eq(testx_start(&server, 1, 1280, 800, 24), 0);
	testx_use(&server);
	cr_assert_eq(testx_client_connect(&client, server.display), 0);
	cr_assert_eq(testx_draw_desktop(&client), 0);
	cr_assert_eq(mxc_display_connect(NULL, &d, NULL), 0);
	cr_assert_eq(mxc_display_capture(d, &img, NULL), 0);
	mxc_display_destroy(d);

	expect_round_trip(&img);
	cr_assert_eq(mxc_png_encode(&img, &png, &len, NULL), 0);
	cr_expect_lt(len, (size_t)img.stride * img.height / 4,
		     "%zu bytes for %u raw: the encoder does not compress", len,
		     img.stride * img.height);
	free(png);
	mxc_image_finish(&img);
}

Test(png, refuses_invalid_images)
{
	uint8_t pixel[3] = {1, 2, 3};
	const struct mxc_image bad[] = {
	    {.width = 1, .height = 1, .stride = 3, .data = NULL},
	    {.width = 0, .height = 1, .stride = 0, .data = pixel},
	    {.width = 1, .height = 0, .stride = 3, .data = pixel},
	    {.width = 1, .height = 1, .stride = 4, .data = pixel},
	    {.width = 1, .height = 1, .stride = 2, .data = pixel},
	    {.width = MXC_DISPLAY_MAX_SIDE + 1,
	     .height = 1,
	     .stride = (MXC_DISPLAY_MAX_SIDE + 1) * 3,
	     .data = pixel},
	};
	uint8_t *png = (uint8_t *)"untouched";
	size_t len = 12345;

	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++) {
		struct mxc_error err = {0};

		cr_expect_eq(mxc_png_encode(&bad[i], &png, &len, &err), -EINVAL, "image %zu", i);
		cr_expect(strstr(err.msg, "failed to encode PNG"), "%s", err.msg);
	}
	cr_expect_eq(mxc_png_encode(NULL, &png, &len, NULL), -EINVAL);
	cr_expect_str_eq((char *)png, "untouched");
	cr_expect_eq(len, 12345);
}
