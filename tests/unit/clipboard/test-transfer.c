/*
 * Clipboard transfers between two connections to a real Xvfb: one sets (and serves from a
 * thread, as the session helper's loop would), the other reads. Text of every kind and size,
 * a PNG of several MiB, the targets offered, ownership changes, and events that arrive while
 * another module waits for a reply.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdlib.h>

#include "clipworld.h"

static struct clipworld w;

static void setup(void)
{
	clipworld_init(&w);
	cr_assert_eq(clipworld_start(&w, 5000), 0, "failed to start the world");
}

static void teardown(void)
{
	clipworld_stop(&w);
}

TestSuite(transfer, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(ownership, .init = setup, .fini = teardown, .timeout = 60);

static void set(unsigned i, const char *mime, const void *data, size_t len)
{
	struct mxc_error err = {0};

	cr_assert_eq(mxc_clipboard_set(w.c[i], mime, data, len, &err), 0, "%s", err.msg);
	cr_assert(mxc_clipboard_owned(w.c[i]));
}

/* Reads client i's view of the clipboard as mime and checks it is exactly data. */
static void expect_get(unsigned i, const char *mime, const void *data, size_t len)
{
	struct mxc_error err = {0};
	uint8_t *got = NULL;
	size_t got_len = 0;

	cr_assert_eq(mxc_clipboard_get(w.c[i], mime, MXC_CLIPBOARD_MAX_BYTES, &got, &got_len, &err),
		     0, "%s", err.msg);
	cr_assert_not_null(got);
	cr_assert_eq(got_len, len, "got %zu bytes, expected %zu", got_len, len);
	cr_assert(len == 0 || memcmp(got, data, len) == 0, "the bytes differ");
	free(got);
}

static void expect_targets(unsigned i, const char *const *expected)
{
	struct mxc_error err = {0};
	char **targets = NULL;
	size_t n = 0;

	cr_assert_eq(mxc_clipboard_targets(w.c[i], &targets, &err), 0, "%s", err.msg);
	for (; expected[n]; n++)
		cr_expect_str_eq(targets[n] ? targets[n] : "(end)", expected[n]);
	cr_expect_null(targets[n], "unexpected target '%s'", targets[n]);
	mxc_strv_free(targets);
}

/* Sets on client 0, served by its thread; client 1 reads. */
static void expect_round_trip(const char *mime, const void *data, size_t len)
{
	set(0, mime, data, len);
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	expect_get(1, mime, data, len);
	expect_targets(1, (const char *const[]){mime, NULL});
	clipworld_serve_stop(&w, 0);
	cr_assert_eq(w.serve[0].result, 0);
}

Test(transfer, ascii_text_arrives_byte_identical)
{
	static const char text[] = "Hello, clipboard!\n\tsecond line ~!@#$%^&*()";

	expect_round_trip("text/plain", text, sizeof(text) - 1);
}

Test(transfer, utf8_text_with_emoji_and_cjk_arrives_byte_identical)
{
	static const char text[] = "Grüße — 日本語のテキスト, 한국어, 中文 😀🎉👩‍💻 𝄞 "
				   "café";

	expect_round_trip("text/plain", text, sizeof(text) - 1);
}

Test(transfer, empty_text_arrives_empty)
{
	expect_round_trip("text/plain", "", 0);
}

static bool is_notify(xcb_generic_event_t *ev, void *data)
{
	return ((xcb_selection_notify_event_t *)ev)->target == *(xcb_atom_t *)data;
}

/* The type of the property a raw requestor gets when it asks for target. */
static xcb_atom_t raw_answer_type(struct raw_client *rc, const char *target_name)
{
	xcb_atom_t target = raw_atom(rc, target_name), prop = raw_atom(rc, "RAW_PROP");
	xcb_generic_event_t *ev;
	xcb_get_property_reply_t *reply;
	xcb_atom_t type;

	xcb_convert_selection(rc->conn, rc->window, raw_atom(rc, "CLIPBOARD"), target, prop,
			      XCB_CURRENT_TIME);
	ev = raw_wait_event(rc, XCB_SELECTION_NOTIFY, is_notify, &target, 3000);
	cr_assert_not_null(ev, "no answer to %s", target_name);
	free(ev);
	reply = xcb_get_property_reply(
	    rc->conn, xcb_get_property(rc->conn, 1, rc->window, prop, XCB_ATOM_ANY, 0, 1), NULL);
	cr_assert_not_null(reply);
	type = reply->type;
	free(reply);
	return type;
}

Test(transfer, five_mib_of_text_goes_through_incr)
{
	struct raw_client rc;
	size_t len;
	uint8_t *text = make_text(5u << 20, &len);

	cr_assert_not_null(text);
	set(0, "text/plain", text, len);
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	/* Larger than one request: the owner answers INCR. */
	cr_expect_eq(raw_answer_type(&rc, "UTF8_STRING"), raw_atom(&rc, "INCR"));
	raw_close(&rc);
	expect_get(1, "text/plain", text, len);
	/* The abandoned raw transfer and the real one both leave nothing behind. */
	expect_get(2, "text/plain", text, len);
	clipworld_serve_stop(&w, 0);
	free(text);
}

Test(transfer, a_png_of_several_mib_arrives_byte_identical)
{
	uint8_t *png;
	size_t len;

	cr_assert_eq(make_png(2u << 20, &png, &len), 0);
	expect_round_trip("image/png", png, len);
	free(png);
}

Test(transfer, other_mime_types_pass_through_as_bytes)
{
	static const char html[] = "<b>bold</b> and <i>italic</i>";
	struct mxc_error err = {0};
	uint8_t *got = NULL;
	size_t len;

	expect_round_trip("text/html", html, sizeof(html) - 1);
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	cr_expect_eq(mxc_clipboard_get(w.c[1], "text/plain", 100, &got, &len, &err), -ENODATA, "%s",
		     err.msg);
	cr_expect_null(got);
}

/* Names of the targets a raw requestor sees. */
static char **raw_targets(struct raw_client *rc)
{
	xcb_atom_t target = raw_atom(rc, "TARGETS"), prop = raw_atom(rc, "RAW_PROP");
	xcb_get_property_reply_t *reply;
	xcb_generic_event_t *ev;
	const xcb_atom_t *atoms;
	char **names;
	int n;

	xcb_convert_selection(rc->conn, rc->window, raw_atom(rc, "CLIPBOARD"), target, prop,
			      XCB_CURRENT_TIME);
	ev = raw_wait_event(rc, XCB_SELECTION_NOTIFY, is_notify, &target, 3000);
	cr_assert_not_null(ev);
	cr_assert_eq(((xcb_selection_notify_event_t *)ev)->property, prop);
	free(ev);
	reply = xcb_get_property_reply(
	    rc->conn, xcb_get_property(rc->conn, 1, rc->window, prop, XCB_ATOM_ANY, 0, 256), NULL);
	cr_assert_not_null(reply);
	cr_assert_eq(reply->type, XCB_ATOM_ATOM);
	cr_assert_eq(reply->format, 32);
	atoms = xcb_get_property_value(reply);
	n = xcb_get_property_value_length(reply) / 4;
	names = calloc((size_t)n + 1, sizeof(*names));
	for (int i = 0; i < n; i++)
		names[i] = raw_atom_name(rc, atoms[i]);
	free(reply);
	return names;
}

static bool strv_contains(char **v, const char *s)
{
	for (; *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

Test(transfer, text_is_offered_under_every_text_target)
{
	static const char *const all[] = {
	    "TARGETS",	  "TIMESTAMP", "MULTIPLE", "UTF8_STRING", "text/plain;charset=utf-8",
	    "text/plain", "STRING",    "TEXT"};
	struct raw_client rc;
	char **names;

	set(0, "text/plain", "café", strlen("café"));
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	names = raw_targets(&rc);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(all); i++)
		cr_expect(strv_contains(names, all[i]), "%s is not offered", all[i]);
	cr_expect_eq(mxc_strv_length(names), MXC_ARRAY_SIZE(all));
	mxc_strv_free(names);
	clipworld_serve_stop(&w, 0);

	/* Text beyond Latin-1 isn't offered as STRING. */
	set(0, "text/plain", "日本", strlen("日本"));
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	names = raw_targets(&rc);
	cr_expect_not(strv_contains(names, "STRING"));
	cr_expect(strv_contains(names, "UTF8_STRING"));
	mxc_strv_free(names);
	raw_close(&rc);
}

/* Reads target as a raw requestor: the property's bytes, or NULL when refused. */
static uint8_t *raw_read(struct raw_client *rc, const char *target_name, xcb_atom_t *ret_type,
			 size_t *ret_len)
{
	xcb_atom_t target = raw_atom(rc, target_name), prop = raw_atom(rc, "RAW_PROP");
	xcb_get_property_reply_t *reply;
	xcb_generic_event_t *ev;
	uint8_t *data;

	xcb_convert_selection(rc->conn, rc->window, raw_atom(rc, "CLIPBOARD"), target, prop,
			      XCB_CURRENT_TIME);
	ev = raw_wait_event(rc, XCB_SELECTION_NOTIFY, is_notify, &target, 3000);
	cr_assert_not_null(ev);
	if (((xcb_selection_notify_event_t *)ev)->property == XCB_NONE) {
		free(ev);
		return NULL;
	}
	free(ev);
	reply = xcb_get_property_reply(
	    rc->conn, xcb_get_property(rc->conn, 1, rc->window, prop, XCB_ATOM_ANY, 0, 1 << 16),
	    NULL);
	cr_assert_not_null(reply);
	*ret_type = reply->type;
	*ret_len = (size_t)xcb_get_property_value_length(reply);
	data = malloc(*ret_len + 1);
	memcpy(data, xcb_get_property_value(reply), *ret_len);
	free(reply);
	return data;
}

Test(transfer, string_and_text_answer_latin1_or_utf8)
{
	struct raw_client rc;
	xcb_atom_t type;
	uint8_t *data;
	size_t len;

	set(0, "text/plain", "café crème", strlen("café crème"));
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	data = raw_read(&rc, "STRING", &type, &len);
	cr_assert_not_null(data);
	cr_expect_eq(type, XCB_ATOM_STRING);
	cr_expect(len == 10 && memcmp(data, "caf\xe9 cr\xe8me", 10) == 0);
	free(data);
	data = raw_read(&rc, "TEXT", &type, &len);
	cr_assert_not_null(data);
	cr_expect_eq(type, XCB_ATOM_STRING);
	free(data);
	data = raw_read(&rc, "TIMESTAMP", &type, &len);
	cr_assert_not_null(data);
	cr_expect_eq(type, XCB_ATOM_INTEGER);
	cr_expect_eq(len, 4);
	free(data);

	clipworld_serve_stop(&w, 0);
	set(0, "text/plain", "日本", strlen("日本"));
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	cr_expect_null(raw_read(&rc, "STRING", &type, &len));
	data = raw_read(&rc, "TEXT", &type, &len);
	cr_assert_not_null(data);
	cr_expect_eq(type, raw_atom(&rc, "UTF8_STRING"));
	cr_expect(len == strlen("日本") && memcmp(data, "日本", len) == 0);
	free(data);
	raw_close(&rc);
}

/* Two clipboards on one connection: the reader's wait dispatches the owner's requests. */
Test(transfer, two_clipboards_on_one_connection_transfer_through_incr)
{
	struct mxc_clipboard *second = NULL;
	struct mxc_error err = {0};
	uint8_t *text, *got = NULL;
	size_t len, got_len = 0;

	text = make_text(3u << 20, &len);
	cr_assert_not_null(text);
	cr_assert_eq(mxc_clipboard_create(w.d[0], &second, &err), 0, "%s", err.msg);
	set(0, "text/plain", text, len);
	cr_expect_eq(
	    mxc_clipboard_get(second, "text/plain", MXC_CLIPBOARD_MAX_BYTES, &got, &got_len, &err),
	    0, "%s", err.msg);
	cr_expect(got_len == len && got && memcmp(got, text, len) == 0, "the bytes differ");
	free(got);
	got = NULL;
	/* The reader's own window still works (its event mask was left alone). */
	cr_expect_eq(mxc_clipboard_set(second, "text/plain", (const uint8_t *)"b", 1, &err), 0,
		     "%s", err.msg);
	cr_expect_eq(mxc_clipboard_get(w.c[0], "text/plain", 10, &got, &got_len, &err), 0, "%s",
		     err.msg);
	cr_expect(got_len == 1 && got && got[0] == 'b');
	free(got);
	mxc_clipboard_destroy(second);
	free(text);
}

Test(transfer, reading_our_own_clipboard_comes_from_memory)
{
	static const char text[] = "mine";

	set(0, "text/plain", text, 4);
	expect_get(0, "text/plain", text, 4);
	expect_targets(0, (const char *const[]){"text/plain", NULL});
}

Test(transfer, nobody_owning_the_clipboard_is_enoent)
{
	struct mxc_error err = {0};
	char **targets = NULL;
	uint8_t *data = NULL;
	size_t len;

	cr_expect_eq(mxc_clipboard_get(w.c[1], "text/plain", 100, &data, &len, &err), -ENOENT, "%s",
		     err.msg);
	cr_expect(strstr(err.msg, "nobody owns the clipboard"), "%s", err.msg);
	cr_expect_eq(mxc_clipboard_targets(w.c[1], &targets, &err), -ENOENT, "%s", err.msg);
	cr_expect_null(data);
	cr_expect_null(targets);
}

Test(transfer, more_than_max_bytes_is_efbig)
{
	struct mxc_error err = {0};
	uint8_t *data = NULL, *big;
	size_t len, big_len;
	char text[1000];

	memset(text, 'x', sizeof(text));
	set(0, "text/plain", text, sizeof(text));
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	cr_expect_eq(mxc_clipboard_get(w.c[1], "text/plain", 999, &data, &len, &err), -EFBIG, "%s",
		     err.msg);
	cr_expect_null(data);
	/* Exactly max is fine. */
	cr_expect_eq(mxc_clipboard_get(w.c[1], "text/plain", 1000, &data, &len, &err), 0, "%s",
		     err.msg);
	cr_expect_eq(len, 1000);
	free(data);
	data = NULL;
	clipworld_serve_stop(&w, 0);

	/* An INCR transfer announcing more than max is refused at once. */
	big = make_text(5u << 20, &big_len);
	set(0, "text/plain", big, big_len);
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	cr_expect_eq(mxc_clipboard_get(w.c[1], "text/plain", 1u << 20, &data, &len, &err), -EFBIG,
		     "%s", err.msg);
	cr_expect_null(data);
	free(big);
}

Test(transfer, set_refuses_what_it_cannot_offer_faithfully)
{
	static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00";
	struct mxc_error err = {0};

	cr_expect_eq(mxc_clipboard_set(w.c[0], "text/plain", (const uint8_t *)"a\xff", 2, &err),
		     -EBADMSG, "%s", err.msg);
	cr_expect(strstr(err.msg, "UTF-8"), "%s", err.msg);
	cr_expect_eq(
	    mxc_clipboard_set(w.c[0], "text/plain", (const uint8_t *)"\xed\xa0\x80", 3, &err),
	    -EBADMSG, "a surrogate passed: %s", err.msg);
	cr_expect_eq(mxc_clipboard_set(w.c[0], "text/plain", (const uint8_t *)"\xc0\xaf", 2, &err),
		     -EBADMSG, "an overlong form passed: %s", err.msg);
	cr_expect_eq(mxc_clipboard_set(w.c[0], "image/png", gif, sizeof(gif) - 1, &err), -EBADMSG,
		     "%s", err.msg);
	cr_expect_eq(mxc_clipboard_set(w.c[0], "text plain", gif, 1, &err), -EINVAL, "%s", err.msg);
	cr_expect_eq(mxc_clipboard_set(w.c[0], "text/plain;charset=utf-8", gif, 1, &err), -EINVAL,
		     "%s", err.msg);
	cr_expect_eq(
	    mxc_clipboard_set(w.c[0], "text/plain", gif, (size_t)MXC_CLIPBOARD_MAX_BYTES + 1, &err),
	    -EFBIG, "%s", err.msg);
	cr_expect_not(mxc_clipboard_owned(w.c[0]));
}

Test(ownership, another_client_taking_the_clipboard_ends_ours)
{
	set(0, "text/plain", "first", 5);
	set(1, "text/plain", "second", 6);
	cr_assert_eq(clipworld_pump(&w, 0, 200), 0);
	cr_expect_not(mxc_clipboard_owned(w.c[0]));
	cr_expect(mxc_clipboard_owned(w.c[1]));
	/* Readers get the new owner's data, including the one that lost it. */
	cr_assert_eq(clipworld_serve(&w, 1), 0);
	expect_get(0, "text/plain", "second", 6);
	expect_get(2, "text/plain", "second", 6);
}

Test(ownership, setting_again_replaces_the_data_and_keeps_ownership)
{
	set(0, "text/plain", "one", 3);
	set(0, "image/png", "\x89PNG\r\n\x1a\n....", 12);
	cr_assert_eq(clipworld_pump(&w, 0, 100), 0);
	cr_expect(mxc_clipboard_owned(w.c[0]));
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	expect_get(1, "image/png", "\x89PNG\r\n\x1a\n....", 12);
	expect_targets(1, (const char *const[]){"image/png", NULL});
}

static void *take_later(void *arg)
{
	struct mxc_clipboard *c = arg;

	usleep(200000);
	mxc_clipboard_set(c, "text/plain", (const uint8_t *)"taken", 5, NULL);
	return NULL;
}

Test(ownership, serve_until_cleared_returns_once_another_client_takes_it)
{
	struct mxc_error err = {0};
	pthread_t thread;
	uint64_t start;

	set(0, "text/plain", "held", 4);
	cr_assert_eq(pthread_create(&thread, NULL, take_later, w.c[1]), 0);
	start = mxc_now_mono_ns();
	cr_expect_eq(mxc_clipboard_serve_until_cleared(w.c[0], 5000, &err), 0, "%s", err.msg);
	cr_expect_lt(mxc_now_mono_ns() - start, 3000000000ull);
	pthread_join(thread, NULL);
	cr_expect_not(mxc_clipboard_owned(w.c[0]));
	cr_expect(mxc_clipboard_owned(w.c[1]));
	/* Nothing owned: it returns at once. */
	cr_expect_eq(mxc_clipboard_serve_until_cleared(w.c[0], -1, &err), 0, "%s", err.msg);
}

Test(ownership, serve_until_cleared_times_out_while_nobody_takes_it)
{
	struct mxc_error err = {0};
	uint64_t start = mxc_now_mono_ns(), ms;

	set(0, "text/plain", "held", 4);
	cr_expect_eq(mxc_clipboard_serve_until_cleared(w.c[0], 300, &err), -ETIMEDOUT, "%s",
		     err.msg);
	ms = (mxc_now_mono_ns() - start) / 1000000;
	cr_expect(ms >= 300 && ms < 1000, "took %llu ms", (unsigned long long)ms);
	cr_expect(mxc_clipboard_owned(w.c[0]));
}

/*
 * A request that reaches the owner's connection while another module waits for a reply there
 * (a screenshot) is kept, and answered at the next dispatch.
 */
Test(ownership, a_request_arriving_during_a_capture_is_answered_at_the_next_dispatch)
{
	struct raw_client rc;
	struct mxc_image img = {0};
	struct mxc_error err = {0};
	xcb_atom_t target;
	xcb_generic_event_t *ev;

	set(0, "text/plain", "patience", 8);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	target = raw_atom(&rc, "UTF8_STRING");
	xcb_convert_selection(rc.conn, rc.window, raw_atom(&rc, "CLIPBOARD"), target,
			      raw_atom(&rc, "RAW_PROP"), XCB_CURRENT_TIME);
	xcb_flush(rc.conn);
	usleep(100000); /* the SelectionRequest is on its way to the owner */
	cr_assert_eq(mxc_display_capture(w.d[0], &img, &err), 0, "%s", err.msg);
	mxc_image_finish(&img);
	ev = raw_wait_event(&rc, XCB_SELECTION_NOTIFY, NULL, NULL, 200);
	cr_expect_null(ev, "answered without a dispatch");
	free(ev);
	cr_assert_eq(clipworld_pump(&w, 0, 50), 0);
	ev = raw_wait_event(&rc, XCB_SELECTION_NOTIFY, NULL, NULL, 2000);
	cr_assert_not_null(ev, "the request was lost");
	cr_expect_neq(((xcb_selection_notify_event_t *)ev)->property, XCB_NONE);
	free(ev);
	cr_expect_eq(mxc_display_dropped_events(w.d[0]), 0);
	raw_close(&rc);
}
