/*
 * Hostile peers on a real Xvfb. A fake owner (a raw xcb connection in a thread) that never
 * answers, answers with the wrong type or format, announces a 4 GiB INCR transfer, sends more
 * than it announced, trickles bytes forever, deletes its answer before we read it, or sends
 * data that isn't what it claims. Raw requestors that ask for absurd targets, vanish, stop
 * reading in the middle of an INCR transfer, or flood us with requests.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "clipworld.h"

static struct clipworld w;

enum owner_mode {
	OWN_SILENT,	    /* never answers */
	OWN_WRONG_TYPE,	    /* UTF8_STRING answered as INTEGER */
	OWN_WRONG_FORMAT,   /* UTF8_STRING answered in format 16 */
	OWN_HUGE_INCR,	    /* announces 4 GiB - 16 */
	OWN_LYING_INCR,	    /* announces 10 bytes, then sends 64 KiB chunks without end */
	OWN_TRICKLE,	    /* INCR, one byte every 20 ms, never ends */
	OWN_EARLY_DELETE,   /* deletes its answer before notifying */
	OWN_INVALID_UTF8,   /* UTF8_STRING that isn't */
	OWN_NOT_PNG,	    /* image/png that is a GIF */
	OWN_LATIN1_ONLY,    /* no TARGETS, no UTF8_STRING: only STRING */
	OWN_ODD_TARGETS,    /* a TARGETS list full of odd names */
	OWN_GARBAGE_NOTIFY, /* notifies for other targets and properties, then a good answer */
};

struct fake_owner {
	struct raw_client rc;
	enum owner_mode mode;
	pthread_t thread;
	int stop_fd;
	bool running;
	xcb_atom_t clipboard, targets, utf8, png, incr;
	/* The INCR transfer under way. */
	xcb_window_t requestor;
	xcb_atom_t property, type;
	bool started; /* the requestor deleted the INCR property */
	unsigned chunks;
};

static struct fake_owner owner;

static void setup(void)
{
	clipworld_init(&w);
	owner = (struct fake_owner){.stop_fd = -1};
	cr_assert_eq(clipworld_start(&w, 500), 0, "failed to start the world");
}

static void stop_owner(void)
{
	uint64_t one = 1;

	if (owner.running) {
		(void)!write(owner.stop_fd, &one, sizeof(one));
		pthread_join(owner.thread, NULL);
		owner.running = false;
	}
	owner.stop_fd = mxc_close(owner.stop_fd);
	raw_close(&owner.rc);
}

static void teardown(void)
{
	stop_owner();
	clipworld_stop(&w);
}

TestSuite(hostile_owner, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(hostile_requestor, .init = setup, .fini = teardown, .timeout = 60);

static void notify(struct fake_owner *f, const xcb_selection_request_event_t *req,
		   xcb_atom_t target, xcb_atom_t property)
{
	xcb_selection_notify_event_t ev = {
	    .response_type = XCB_SELECTION_NOTIFY,
	    .time = req->time,
	    .requestor = req->requestor,
	    .selection = req->selection,
	    .target = target,
	    .property = property,
	};

	xcb_send_event(f->rc.conn, 0, req->requestor, 0, (const char *)&ev);
}

static void put(struct fake_owner *f, const xcb_selection_request_event_t *req, xcb_atom_t type,
		uint8_t format, const void *data, uint32_t n)
{
	xcb_change_property(f->rc.conn, XCB_PROP_MODE_REPLACE, req->requestor, req->property, type,
			    format, n, data);
}

static void start_incr(struct fake_owner *f, const xcb_selection_request_event_t *req,
		       uint32_t size)
{
	const uint32_t mask = XCB_EVENT_MASK_PROPERTY_CHANGE;

	f->requestor = req->requestor;
	f->property = req->property;
	f->type = req->target;
	xcb_change_window_attributes(f->rc.conn, req->requestor, XCB_CW_EVENT_MASK, &mask);
	put(f, req, f->incr, 32, &size, 1);
	notify(f, req, req->target, req->property);
}

/* Runs for each SelectionRequest the fake owner gets. */
static void on_request(struct fake_owner *f, const xcb_selection_request_event_t *req)
{
	const xcb_atom_t list[] = {f->targets, f->utf8, f->png};
	static const char bad_utf8[] = "ab\xc3\x28 cd";
	static const char gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00";

	if (f->mode == OWN_SILENT)
		return;
	if (req->target == f->targets && f->mode != OWN_LATIN1_ONLY) {
		if (f->mode == OWN_ODD_TARGETS) {
			static const char *const names[] = {
			    "TARGETS",		 "UTF8_STRING",
			    "text/html",	 "text/html;charset=utf-16",
			    "TEXT/URI-LIST",	 "SAVE_TARGETS",
			    "image/png",	 "STRING",
			    "application/x-foo", "text/plain;charset=UTF-8",
			    "not a type/x",	 "COMPOUND_TEXT",
			    "text/html"};
			xcb_atom_t atoms[MXC_ARRAY_SIZE(names) + 1];

			for (size_t i = 0; i < MXC_ARRAY_SIZE(names); i++)
				atoms[i] = raw_atom(&f->rc, names[i]);
			atoms[MXC_ARRAY_SIZE(names)] = XCB_NONE;
			put(f, req, XCB_ATOM_ATOM, 32, atoms, MXC_ARRAY_SIZE(atoms));
		} else {
			put(f, req, XCB_ATOM_ATOM, 32, list, MXC_ARRAY_SIZE(list));
		}
		notify(f, req, req->target, req->property);
		return;
	}
	switch (f->mode) {
	case OWN_WRONG_TYPE: {
		const uint32_t v[2] = {1, 2};

		put(f, req, XCB_ATOM_INTEGER, 32, v, 2);
		break;
	}
	case OWN_WRONG_FORMAT:
		put(f, req, f->utf8, 16, "abcd", 2);
		break;
	case OWN_HUGE_INCR:
		start_incr(f, req, 0xfffffff0u);
		return;
	case OWN_LYING_INCR:
		start_incr(f, req, 10);
		return;
	case OWN_TRICKLE:
		start_incr(f, req, 100);
		return;
	case OWN_EARLY_DELETE:
		put(f, req, f->utf8, 8, "gone", 4);
		xcb_delete_property(f->rc.conn, req->requestor, req->property);
		break;
	case OWN_INVALID_UTF8:
		put(f, req, f->utf8, 8, bad_utf8, sizeof(bad_utf8) - 1);
		break;
	case OWN_NOT_PNG:
		put(f, req, f->png, 8, gif, sizeof(gif) - 1);
		break;
	case OWN_LATIN1_ONLY:
		if (req->target != XCB_ATOM_STRING) {
			notify(f, req, req->target, XCB_NONE);
			return;
		}
		put(f, req, XCB_ATOM_STRING, 8, "caf\xe9 cr\xe8me", 10);
		break;
	case OWN_GARBAGE_NOTIFY:
		/* Answers to requests that were never made come first. */
		notify(f, req, f->png, req->property);
		notify(f, req, req->target, raw_atom(&f->rc, "SOMETHING_ELSE"));
		put(f, req, f->utf8, 8, "right", 5);
		break;
	case OWN_ODD_TARGETS:
		notify(f, req, req->target, XCB_NONE);
		return;
	case OWN_SILENT:
		return;
	}
	notify(f, req, req->target, req->property);
}

/* Runs when the requestor deleted our property: it wants the next INCR chunk. */
static void on_deleted(struct fake_owner *f)
{
	static uint8_t chunk[64 << 10];

	f->started = true;
	f->chunks++;
	if (f->mode == OWN_LYING_INCR) {
		memset(chunk, 'a', sizeof(chunk));
		xcb_change_property(f->rc.conn, XCB_PROP_MODE_REPLACE, f->requestor, f->property,
				    f->utf8, 8, sizeof(chunk), chunk);
	} else if (f->mode == OWN_TRICKLE) {
		usleep(20000);
		xcb_change_property(f->rc.conn, XCB_PROP_MODE_REPLACE, f->requestor, f->property,
				    f->utf8, 8, 1, "z");
	}
}

static void *owner_main(void *arg)
{
	struct fake_owner *f = arg;

	for (;;) {
		struct pollfd pfd[2] = {
		    {.fd = xcb_get_file_descriptor(f->rc.conn), .events = POLLIN},
		    {.fd = f->stop_fd, .events = POLLIN},
		};
		xcb_generic_event_t *ev;

		while ((ev = xcb_poll_for_event(f->rc.conn))) {
			uint8_t type = ev->response_type & 0x7f;

			if (type == XCB_SELECTION_REQUEST) {
				on_request(f, (xcb_selection_request_event_t *)ev);
			} else if (type == XCB_PROPERTY_NOTIFY) {
				xcb_property_notify_event_t *p = (void *)ev;

				if (p->window == f->requestor && p->atom == f->property &&
				    p->state == XCB_PROPERTY_DELETE)
					on_deleted(f);
			}
			free(ev);
		}
		xcb_flush(f->rc.conn);
		if (xcb_connection_has_error(f->rc.conn))
			break;
		poll(pfd, 2, -1);
		if (pfd[1].revents)
			break;
	}
	return NULL;
}

static void start_owner(enum owner_mode mode)
{
	owner.mode = mode;
	cr_assert_eq(raw_connect(&w, &owner.rc), 0);
	owner.clipboard = raw_atom(&owner.rc, "CLIPBOARD");
	owner.targets = raw_atom(&owner.rc, "TARGETS");
	owner.utf8 = raw_atom(&owner.rc, "UTF8_STRING");
	owner.png = raw_atom(&owner.rc, "image/png");
	owner.incr = raw_atom(&owner.rc, "INCR");
	xcb_set_selection_owner(owner.rc.conn, owner.rc.window, owner.clipboard, XCB_CURRENT_TIME);
	cr_assert_eq(raw_owner(&owner.rc), owner.rc.window);
	owner.stop_fd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(owner.stop_fd, 0);
	cr_assert_eq(pthread_create(&owner.thread, NULL, owner_main, &owner), 0);
	owner.running = true;
}

/* Reads as mime from client 0 expecting code, within ms; returns the message. */
static void expect_get_fails(const char *mime, size_t max, int code, const char *words, int max_ms)
{
	struct mxc_error err = {0};
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t start = mxc_now_mono_ns(), ms;
	int r;

	r = mxc_clipboard_get(w.c[0], mime, max, &data, &len, &err);
	ms = (mxc_now_mono_ns() - start) / 1000000;
	cr_expect_eq(r, code, "got %d: %s", r, err.msg);
	cr_expect_null(data);
	cr_expect(strstr(err.msg, words), "'%s' not in: %s", words, err.msg);
	cr_expect_lt(ms, (uint64_t)max_ms, "took %llu ms", (unsigned long long)ms);
}

Test(hostile_owner, an_owner_that_never_answers_times_out_within_the_deadline)
{
	uint64_t start = mxc_now_mono_ns();

	start_owner(OWN_SILENT);
	expect_get_fails("text/plain", 1000, -ETIMEDOUT, "within 500 ms", 900);
	cr_expect_geq((mxc_now_mono_ns() - start) / 1000000, 500);
	/* The display is fine: the next call works. */
	stop_owner();
	expect_get_fails("text/plain", 1000, -ENOENT, "nobody owns", 500);
}

Test(hostile_owner, an_answer_of_the_wrong_type_or_format_is_refused)
{
	start_owner(OWN_WRONG_TYPE);
	expect_get_fails("text/plain", 1000, -EPROTO, "format 32 (expected 8)", 400);
	stop_owner();
	start_owner(OWN_WRONG_FORMAT);
	expect_get_fails("text/plain", 1000, -EPROTO, "format 16", 400);
}

Test(hostile_owner, a_4_gib_incr_announcement_is_refused_before_the_transfer_starts)
{
	start_owner(OWN_HUGE_INCR);
	expect_get_fails("text/plain", MXC_CLIPBOARD_MAX_BYTES, -EFBIG, "announces 4294967280",
			 400);
	/* We never deleted the INCR property: the owner was never asked for a byte. */
	usleep(100000);
	cr_expect_not(owner.started);
}

Test(hostile_owner, an_owner_sending_more_than_it_announced_is_cut_off_at_max)
{
	start_owner(OWN_LYING_INCR);
	expect_get_fails("text/plain", 1u << 20, -EFBIG, "more than 1048576 bytes", 450);
	cr_expect_leq(owner.chunks, 17);
}

Test(hostile_owner, an_owner_that_trickles_data_forever_times_out_within_the_deadline)
{
	start_owner(OWN_TRICKLE);
	expect_get_fails("text/plain", 1u << 20, -ETIMEDOUT, "complete INCR transfer", 900);
	cr_expect_gt(owner.chunks, 3, "the trickle never started");
}

Test(hostile_owner, an_answer_deleted_before_we_read_it_is_refused)
{
	start_owner(OWN_EARLY_DELETE);
	expect_get_fails("text/plain", 1000, -EPROTO, "gone before it was read", 400);
}

Test(hostile_owner, invalid_utf8_for_text_is_refused)
{
	start_owner(OWN_INVALID_UTF8);
	expect_get_fails("text/plain", 1000, -EBADMSG, "not valid UTF-8", 400);
}

Test(hostile_owner, an_image_that_is_not_png_is_refused)
{
	start_owner(OWN_NOT_PNG);
	expect_get_fails("image/png", 1000, -EBADMSG, "not a PNG", 400);
}

Test(hostile_owner, an_owner_without_targets_still_gives_latin1_text_as_utf8)
{
	struct mxc_error err = {0};
	char **targets = NULL;
	uint8_t *data = NULL;
	size_t len = 0;

	start_owner(OWN_LATIN1_ONLY);
	cr_assert_eq(mxc_clipboard_get(w.c[0], "text/plain", 1000, &data, &len, &err), 0, "%s",
		     err.msg);
	cr_expect(len == strlen("café crème") && memcmp(data, "café crème", len) == 0);
	free(data);
	cr_expect_eq(mxc_clipboard_targets(w.c[0], &targets, &err), -ENODATA, "%s", err.msg);
	cr_expect(strstr(err.msg, "doesn't list its targets"), "%s", err.msg);
	/* Latin-1 doubles in UTF-8 at most: the limit applies to what we return. */
	expect_get_fails("text/plain", 10, -EFBIG, "larger than 10 bytes in UTF-8", 400);
}

Test(hostile_owner, odd_target_names_map_to_mime_types_or_are_left_out)
{
	static const char *const expected[] = {"text/plain", "text/html",	  "text/uri-list",
					       "image/png",  "application/x-foo", NULL};
	struct mxc_error err = {0};
	char **targets = NULL;
	size_t n = 0;

	start_owner(OWN_ODD_TARGETS);
	cr_assert_eq(mxc_clipboard_targets(w.c[0], &targets, &err), 0, "%s", err.msg);
	for (; expected[n]; n++)
		cr_expect_str_eq(targets[n] ? targets[n] : "(end)", expected[n]);
	cr_expect_null(targets[n], "unexpected '%s'", targets[n]);
	mxc_strv_free(targets);
	/* Offered, but refused when asked: no data, no wait. */
	expect_get_fails("text/html", 1000, -ENODATA, "refused", 400);
	expect_get_fails("text/rtf", 1000, -ENODATA, "doesn't offer it", 400);
	expect_get_fails("not-a-mime", 1000, -EINVAL, "not a MIME type", 400);
}

Test(hostile_owner, answers_to_other_requests_are_ignored)
{
	struct mxc_error err = {0};
	uint8_t *data = NULL;
	size_t len = 0;

	start_owner(OWN_GARBAGE_NOTIFY);
	cr_assert_eq(mxc_clipboard_get(w.c[0], "text/plain", 1000, &data, &len, &err), 0, "%s",
		     err.msg);
	cr_expect(len == 5 && memcmp(data, "right", 5) == 0);
	free(data);
}

/* ---- hostile requestors: client 0 owns, served by its thread ---- */

struct notify_match {
	xcb_window_t requestor;
	xcb_atom_t target, property;
};

static bool match_notify(xcb_generic_event_t *ev, void *data)
{
	const xcb_selection_notify_event_t *n = (void *)ev;
	const struct notify_match *m = data;

	return n->requestor == m->requestor && n->target == m->target;
}

/* Asks for target into property on window; the property the owner answered (None: refused). */
static xcb_atom_t ask(struct raw_client *rc, xcb_window_t window, xcb_atom_t target,
		      xcb_atom_t property, uint32_t time)
{
	struct notify_match m = {window, target, property};
	xcb_generic_event_t *ev;
	xcb_atom_t answer;

	xcb_convert_selection(rc->conn, window, raw_atom(rc, "CLIPBOARD"), target, property, time);
	ev = raw_wait_event(rc, XCB_SELECTION_NOTIFY, match_notify, &m, 3000);
	cr_assert_not_null(ev, "no answer at all");
	answer = ((xcb_selection_notify_event_t *)ev)->property;
	free(ev);
	return answer;
}

static void owner_serves(const char *mime, const void *data, size_t len)
{
	struct mxc_error err = {0};

	cr_assert_eq(mxc_clipboard_set(w.c[0], mime, data, len, &err), 0, "%s", err.msg);
	cr_assert_eq(clipworld_serve(&w, 0), 0);
}

/* Client 1 reads the text client 0 serves. */
static void expect_still_served(const void *data, size_t len)
{
	struct mxc_error err = {0};
	uint8_t *got = NULL;
	size_t got_len = 0;

	cr_assert_eq(
	    mxc_clipboard_get(w.c[1], "text/plain", MXC_CLIPBOARD_MAX_BYTES, &got, &got_len, &err),
	    0, "%s", err.msg);
	cr_expect(got_len == len && memcmp(got, data, len) == 0, "the bytes differ");
	free(got);
}

Test(hostile_requestor, absurd_targets_and_stale_requests_are_refused)
{
	struct raw_client rc;
	xcb_atom_t prop;

	owner_serves("text/plain", "data", 4);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	prop = raw_atom(&rc, "RAW_PROP");
	cr_expect_eq(ask(&rc, rc.window, raw_atom(&rc, "NO_SUCH_TARGET"), prop, 0), XCB_NONE);
	cr_expect_eq(ask(&rc, rc.window, raw_atom(&rc, "image/png"), prop, 0), XCB_NONE);
	cr_expect_eq(ask(&rc, rc.window, raw_atom(&rc, "INCR"), prop, 0), XCB_NONE);
	/* A request from before we took the selection (ICCCM 2.2). */
	cr_expect_eq(ask(&rc, rc.window, raw_atom(&rc, "UTF8_STRING"), prop, 1), XCB_NONE);
	/* MULTIPLE without a property to hold its pairs. */
	cr_expect_eq(ask(&rc, rc.window, raw_atom(&rc, "MULTIPLE"), XCB_NONE, 0), XCB_NONE);
	/* Still serving. */
	cr_expect_eq(ask(&rc, rc.window, raw_atom(&rc, "UTF8_STRING"), prop, 0), prop);
	raw_close(&rc);
	expect_still_served("data", 4);
}

Test(hostile_requestor, requestor_windows_that_vanish_are_harmless)
{
	struct raw_client rc;
	size_t len;
	uint8_t *text = make_text(1u << 20, &len);
	xcb_atom_t targets[] = {0, 0};

	cr_assert_not_null(text);
	owner_serves("text/plain", text, len);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	targets[0] = raw_atom(&rc, "UTF8_STRING");
	targets[1] = raw_atom(&rc, "TARGETS");
	/* Small and INCR-sized answers, to windows destroyed right after asking. */
	for (int i = 0; i < 20; i++) {
		xcb_window_t gone = xcb_generate_id(rc.conn);

		xcb_create_window(rc.conn, XCB_COPY_FROM_PARENT, gone, rc.root, 0, 0, 1, 1, 0,
				  XCB_WINDOW_CLASS_INPUT_ONLY, XCB_COPY_FROM_PARENT, 0, NULL);
		xcb_convert_selection(rc.conn, gone, raw_atom(&rc, "CLIPBOARD"), targets[i % 2],
				      raw_atom(&rc, "RAW_PROP"), XCB_CURRENT_TIME);
		xcb_destroy_window(rc.conn, gone);
	}
	/* And to a window that never existed. */
	xcb_convert_selection(rc.conn, 0x7ffffff0, raw_atom(&rc, "CLIPBOARD"), targets[0],
			      raw_atom(&rc, "RAW_PROP"), XCB_CURRENT_TIME);
	xcb_flush(rc.conn);
	raw_close(&rc);
	usleep(200000);
	expect_still_served(text, len);
	clipworld_serve_stop(&w, 0);
	cr_expect_eq(w.serve[0].result, 0);
	/* Transfers to vanished windows ended with them (DestroyNotify), not by timing out. */
	cr_expect_eq(mxc_clipboard_transfers(w.c[0]), 0);
	free(text);
}

static bool match_new_value(xcb_generic_event_t *ev, void *data)
{
	const xcb_property_notify_event_t *p = (void *)ev;

	return p->atom == *(xcb_atom_t *)data && p->state == XCB_PROPERTY_NEW_VALUE;
}

/* Starts an INCR transfer into prop and takes its first chunk; then reads no more. */
static void take_one_chunk(struct raw_client *rc, xcb_atom_t prop)
{
	xcb_get_property_reply_t *reply;
	xcb_generic_event_t *ev;

	cr_assert_eq(ask(rc, rc->window, raw_atom(rc, "UTF8_STRING"), prop, 0), prop);
	reply = xcb_get_property_reply(
	    rc->conn, xcb_get_property(rc->conn, 1, rc->window, prop, XCB_ATOM_ANY, 0, 16), NULL);
	cr_assert_not_null(reply);
	cr_assert_eq(reply->type, raw_atom(rc, "INCR"));
	free(reply);
	ev = raw_wait_event(rc, XCB_PROPERTY_NOTIFY, match_new_value, &prop, 3000);
	cr_assert_not_null(ev, "no first chunk");
	free(ev);
	reply = xcb_get_property_reply(
	    rc->conn, xcb_get_property(rc->conn, 1, rc->window, prop, XCB_ATOM_ANY, 0, 1 << 20),
	    NULL);
	cr_assert_not_null(reply);
	cr_assert_gt(xcb_get_property_value_length(reply), 0);
	free(reply);
}

Test(hostile_requestor, a_requestor_that_stops_reading_incr_chunks_is_dropped)
{
	struct raw_client rc;
	xcb_atom_t prop;
	xcb_generic_event_t *ev;
	size_t len;
	uint8_t *text = make_text(5u << 20, &len);

	cr_assert_not_null(text);
	/* Long enough that serving the other requestor below, on a loaded machine, stays within. */
	mxc_clipboard_set_timeout(w.c[0], 2000);
	owner_serves("text/plain", text, len);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	prop = raw_atom(&rc, "RAW_PROP");
	take_one_chunk(&rc, prop);
	/* Others are served meanwhile. */
	expect_still_served(text, len);
	clipworld_serve_stop(&w, 0);
	cr_expect_eq(mxc_clipboard_transfers(w.c[0]), 1);
	usleep(2200000); /* past the 2000 ms timeout */
	cr_expect_eq(mxc_clipboard_transfers(w.c[0]), 0);
	/* Reading on after being dropped gets nothing more (beyond the chunk already there). */
	free(raw_wait_event(&rc, 127 /* no such event */, NULL, NULL, 100));
	xcb_delete_property(rc.conn, rc.window, prop);
	xcb_flush(rc.conn);
	cr_assert_eq(clipworld_pump(&w, 0, 200), 0);
	ev = raw_wait_event(&rc, XCB_PROPERTY_NOTIFY, match_new_value, &prop, 200);
	cr_expect_null(ev, "a dropped transfer went on");
	free(ev);
	raw_close(&rc);
	free(text);
}

Test(hostile_requestor, serve_until_cleared_drops_a_stalled_transfer_and_returns)
{
	struct raw_client rc;
	struct mxc_error err = {0};
	size_t len;
	uint8_t *text = make_text(5u << 20, &len);
	uint64_t start;

	cr_assert_not_null(text);
	owner_serves("text/plain", text, len);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	take_one_chunk(&rc, raw_atom(&rc, "RAW_PROP"));
	clipworld_serve_stop(&w, 0);
	/* Somebody else takes the clipboard; the stalled transfer alone keeps us serving. */
	cr_assert_eq(mxc_clipboard_set(w.c[1], "text/plain", (const uint8_t *)"x", 1, &err), 0,
		     "%s", err.msg);
	start = mxc_now_mono_ns();
	cr_expect_eq(mxc_clipboard_serve_until_cleared(w.c[0], 5000, &err), 0, "%s", err.msg);
	cr_expect_lt((mxc_now_mono_ns() - start) / 1000000, 1500);
	cr_expect_not(mxc_clipboard_owned(w.c[0]));
	cr_expect_eq(mxc_clipboard_transfers(w.c[0]), 0);
	raw_close(&rc);
	free(text);
}

Test(hostile_requestor, concurrent_incr_transfers_are_bounded)
{
	struct raw_client rc;
	size_t len;
	uint8_t *text = make_text(1u << 20, &len);
	xcb_atom_t utf8;
	char name[32];

	cr_assert_not_null(text);
	owner_serves("text/plain", text, len);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	utf8 = raw_atom(&rc, "UTF8_STRING");
	for (int i = 0; i < MXC_CLIPBOARD_MAX_TRANSFERS; i++) {
		xcb_atom_t prop;

		snprintf(name, sizeof(name), "RAW_PROP_%d", i);
		prop = raw_atom(&rc, name);
		cr_expect_eq(ask(&rc, rc.window, utf8, prop, 0), prop);
	}
	cr_expect_eq(ask(&rc, rc.window, utf8, raw_atom(&rc, "RAW_PROP_LAST"), 0), XCB_NONE,
		     "a transfer beyond the limit was started");
	/* Small answers need no slot. */
	cr_expect_eq(ask(&rc, rc.window, raw_atom(&rc, "TARGETS"), raw_atom(&rc, "T"), 0),
		     raw_atom(&rc, "T"));
	/* Once the stalled ones time out, a new transfer is served in full. */
	usleep(600000);
	expect_still_served(text, len);
	raw_close(&rc);
	free(text);
}

Test(hostile_requestor, a_flood_of_requests_is_answered_in_full)
{
	struct raw_client rc;
	xcb_atom_t targets, prop;
	unsigned answered = 0;

	owner_serves("text/plain", "flood", 5);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	targets = raw_atom(&rc, "TARGETS");
	prop = raw_atom(&rc, "RAW_PROP");
	for (int i = 0; i < 2000; i++)
		xcb_convert_selection(rc.conn, rc.window, raw_atom(&rc, "CLIPBOARD"), targets, prop,
				      XCB_CURRENT_TIME);
	xcb_flush(rc.conn);
	for (;;) {
		xcb_generic_event_t *ev =
		    raw_wait_event(&rc, XCB_SELECTION_NOTIFY, NULL, NULL, 2000);

		if (!ev)
			break;
		answered += ((xcb_selection_notify_event_t *)ev)->property == prop;
		free(ev);
		if (answered == 2000)
			break;
	}
	cr_expect_eq(answered, 2000);
	raw_close(&rc);
	expect_still_served("flood", 5);
}

Test(hostile_requestor, multiple_is_answered_pair_by_pair)
{
	struct raw_client rc;
	xcb_atom_t multiple, pairs[6], prop, p1, p2, p3;
	xcb_get_property_reply_t *reply;
	const xcb_atom_t *back;

	owner_serves("text/plain", "multi", 5);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	multiple = raw_atom(&rc, "MULTIPLE");
	prop = raw_atom(&rc, "RAW_PAIRS");
	p1 = raw_atom(&rc, "RAW_P1");
	p2 = raw_atom(&rc, "RAW_P2");
	p3 = raw_atom(&rc, "RAW_P3");
	pairs[0] = raw_atom(&rc, "UTF8_STRING");
	pairs[1] = p1;
	pairs[2] = raw_atom(&rc, "NO_SUCH_TARGET");
	pairs[3] = p2;
	pairs[4] = raw_atom(&rc, "TARGETS");
	pairs[5] = p3;
	xcb_change_property(rc.conn, XCB_PROP_MODE_REPLACE, rc.window, prop,
			    raw_atom(&rc, "ATOM_PAIR"), 32, 6, pairs);
	cr_assert_eq(ask(&rc, rc.window, multiple, prop, 0), prop);
	reply = xcb_get_property_reply(
	    rc.conn, xcb_get_property(rc.conn, 0, rc.window, prop, XCB_ATOM_ANY, 0, 16), NULL);
	cr_assert_not_null(reply);
	cr_assert_eq(xcb_get_property_value_length(reply), 24);
	back = xcb_get_property_value(reply);
	cr_expect_eq(back[1], p1);
	cr_expect_eq(back[3], XCB_NONE, "an unknown target was not refused");
	cr_expect_eq(back[5], p3);
	free(reply);
	reply = xcb_get_property_reply(
	    rc.conn, xcb_get_property(rc.conn, 0, rc.window, p1, XCB_ATOM_ANY, 0, 16), NULL);
	cr_assert_not_null(reply);
	cr_expect(xcb_get_property_value_length(reply) == 5 &&
		  memcmp(xcb_get_property_value(reply), "multi", 5) == 0);
	free(reply);
	/* Garbage in the pairs property: refused as a whole. */
	xcb_change_property(rc.conn, XCB_PROP_MODE_REPLACE, rc.window, prop, XCB_ATOM_STRING, 8, 3,
			    "abc");
	cr_expect_eq(ask(&rc, rc.window, multiple, prop, 0), XCB_NONE);
	raw_close(&rc);
}

Test(hostile_requestor, forged_selection_events_are_ignored)
{
	struct raw_client rc;
	xcb_window_t ours;
	xcb_atom_t clipboard, prop;
	xcb_generic_event_t *ev;

	owner_serves("text/plain", "genuine", 7);
	cr_assert_eq(raw_connect(&w, &rc), 0);
	ours = raw_owner(&rc);
	clipboard = raw_atom(&rc, "CLIPBOARD");
	prop = raw_atom(&rc, "RAW_PROP");
	{
		/* "Somebody else took it", sent by a client rather than the server. */
		xcb_selection_clear_event_t clear = {
		    .response_type = XCB_SELECTION_CLEAR,
		    .time = 0x7fffffff,
		    .owner = ours,
		    .selection = clipboard,
		};
		/* A request the server never made, to write into our window. */
		xcb_selection_request_event_t req = {
		    .response_type = XCB_SELECTION_REQUEST,
		    .owner = ours,
		    .requestor = rc.window,
		    .selection = clipboard,
		    .target = raw_atom(&rc, "UTF8_STRING"),
		    .property = prop,
		};

		xcb_send_event(rc.conn, 0, ours, 0, (const char *)&clear);
		xcb_send_event(rc.conn, 0, ours, 0, (const char *)&req);
		xcb_flush(rc.conn);
	}
	ev = raw_wait_event(&rc, XCB_SELECTION_NOTIFY, NULL, NULL, 300);
	cr_expect_null(ev, "a forged request was answered");
	free(ev);
	clipworld_serve_stop(&w, 0);
	cr_expect(mxc_clipboard_owned(w.c[0]), "a forged SelectionClear ended our ownership");
	cr_expect_eq(raw_owner(&rc), ours);
	raw_close(&rc);
	cr_assert_eq(clipworld_serve(&w, 0), 0);
	expect_still_served("genuine", 7);
}
