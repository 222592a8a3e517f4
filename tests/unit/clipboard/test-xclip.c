/*
 * Interoperation with a real, independent implementation: xclip sets and we read, we set and
 * xclip reads, byte for byte, text and PNG, small and through INCR.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "clipworld.h"

#define XCLIP "/usr/bin/xclip"

static struct clipworld w;

static void setup(void)
{
	clipworld_init(&w);
	if (access(XCLIP, X_OK) < 0)
		cr_skip_test("xclip is not installed (apt-get install xclip)");
	cr_assert_eq(clipworld_start(&w, 5000), 0, "failed to start the world");
}

static void teardown(void)
{
	clipworld_stop(&w);
}

TestSuite(xclip, .init = setup, .fini = teardown, .timeout = 60);

/* xclip owns the clipboard with data as target; client 0 reads it as mime. */
static void expect_xclip_to_us(const char *target, const char *mime, const uint8_t *data,
			       size_t len)
{
	const char *argv[] = {XCLIP, "-quiet", "-selection", "clipboard", "-t", target, "-i", NULL};
	struct mxc_error err = {0};
	uint8_t *got = NULL;
	size_t got_len = 0;

	cr_assert_eq(clipworld_spawn(&w, argv, data, len), 0);
	cr_assert_eq(clipworld_wait_owner(&w, 5000), 0, "xclip never took the clipboard");
	cr_assert_eq(mxc_clipboard_get(w.c[0], mime, MXC_CLIPBOARD_MAX_BYTES, &got, &got_len, &err),
		     0, "%s", err.msg);
	cr_assert_eq(got_len, len, "got %zu bytes, expected %zu", got_len, len);
	cr_assert(memcmp(got, data, len) == 0, "the bytes differ");
	free(got);
}

/* Client 0 owns the clipboard with data as mime; xclip reads target. */
static void expect_us_to_xclip(const char *mime, const char *target, const uint8_t *data,
			       size_t len)
{
	const char *argv[] = {XCLIP, "-o", "-selection", "clipboard", "-t", target, NULL};
	struct mxc_error err = {0};
	uint8_t *out = NULL;
	size_t out_len = 0;

	cr_assert_eq(mxc_clipboard_set(w.c[0], mime, data, len, &err), 0, "%s", err.msg);
	cr_assert_eq(clipworld_run(&w, 0, argv, NULL, 0, &out, &out_len, 2 * len + 4096, 20000), 0,
		     "xclip failed");
	cr_assert_eq(out_len, len, "xclip got %zu bytes, expected %zu", out_len, len);
	cr_assert(memcmp(out, data, len) == 0, "the bytes differ");
	free(out);
}

Test(xclip, text_set_by_xclip_is_read_exactly)
{
	static const char text[] = "from xclip: Grüße, 日本語, 😀\nline two";
	char **targets = NULL;
	struct mxc_error err = {0};

	expect_xclip_to_us("UTF8_STRING", "text/plain", (const uint8_t *)text, sizeof(text) - 1);
	cr_assert_eq(mxc_clipboard_targets(w.c[0], &targets, &err), 0, "%s", err.msg);
	cr_expect_str_eq(targets[0], "text/plain");
	mxc_strv_free(targets);
}

Test(xclip, five_mib_of_text_set_by_xclip_is_read_exactly)
{
	size_t len;
	uint8_t *text = make_text(5u << 20, &len);

	cr_assert_not_null(text);
	expect_xclip_to_us("UTF8_STRING", "text/plain", text, len);
	free(text);
}

Test(xclip, a_png_set_by_xclip_is_read_exactly)
{
	uint8_t *png;
	size_t len;

	cr_assert_eq(make_png(2u << 20, &png, &len), 0);
	expect_xclip_to_us("image/png", "image/png", png, len);
	free(png);
}

Test(xclip, text_we_set_is_read_exactly_by_xclip)
{
	static const char text[] = "to xclip: café, 中文, 🎉\ttab";

	expect_us_to_xclip("text/plain", "UTF8_STRING", (const uint8_t *)text, sizeof(text) - 1);
}

Test(xclip, five_mib_of_text_we_set_is_read_exactly_by_xclip)
{
	size_t len;
	uint8_t *text = make_text(5u << 20, &len);

	cr_assert_not_null(text);
	expect_us_to_xclip("text/plain", "UTF8_STRING", text, len);
	free(text);
}

Test(xclip, a_png_we_set_is_read_exactly_by_xclip)
{
	uint8_t *png;
	size_t len;

	cr_assert_eq(make_png(2u << 20, &png, &len), 0);
	expect_us_to_xclip("image/png", "image/png", png, len);
	free(png);
}

Test(xclip, xclip_lists_our_targets)
{
	const char *argv[] = {XCLIP, "-o", "-selection", "clipboard", "-t", "TARGETS", NULL};
	struct mxc_error err = {0};
	uint8_t *out = NULL;
	size_t len = 0;

	cr_assert_eq(mxc_clipboard_set(w.c[0], "text/plain", (const uint8_t *)"x", 1, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(clipworld_run(&w, 0, argv, NULL, 0, &out, &len, 4096, 10000), 0);
	out[len] = '\0';
	for (const char *const *t = (const char *const[]){"TARGETS", "UTF8_STRING", "STRING",
							  "TEXT", "text/plain", NULL};
	     *t; t++)
		cr_expect(strstr((char *)out, *t), "%s missing from: %s", *t, (char *)out);
	free(out);
}
