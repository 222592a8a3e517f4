/*
 * xrecorder: an X client the computer-use tests run *inside* an agent session, as the agent.
 * It maps one override-redirect window over the whole screen, takes the keyboard focus, paints
 * what it is told to, and writes one JSON line per input event it receives:
 *
 *   {"type":"key_press","keycode":38,"sym":"a","base":"a","text":"a","state":0,"x":..,"y":..,
 *    "time":..}
 *   {"type":"button_press","button":1,"state":0,"x":..,"y":..,"time":..}
 *   {"type":"motion","state":0,"x":..,"y":..,"time":..}
 *
 * x and y are root (physical screen) coordinates. Key presses are turned into text the way
 * real clients do it: through an xkbcommon-x11 keymap fetched again whenever the server says
 * the keymap changed, with the modifiers and group each event carries, strictly in order.
 *
 * Synchronisation: every line written to the FIFO (--fifo) is a number N; the recorder sends
 * itself a ClientMessage carrying N and writes {"type":"mark","n":N} when it comes back. The
 * server queues it after every event it had already delivered, so once the mark is in the
 * file, so is every event of an input verb that had returned before N was written.
 *
 *   xrecorder -o FILE [--fifo PATH] [--pattern] [--bg RRGGBB] [--rect X,Y,W,H,RRGGBB]...
 *
 * --pattern paints every pixel (x, y) with a colour of its own: red x & 255, green y & 255,
 * blue (x >> 8) & 15 | ((y >> 8) & 15) << 4. Rectangles are child windows drawn over it.
 * Once the window is on the screen it writes {"type":"ready",...} to FILE and "ready" to
 * standard output. Built without sanitizers: it runs in a session that only sees /usr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xcb/xcb.h>
#include <xcb/xkb.h>
#include <xkbcommon/xkbcommon-x11.h>
#include <xkbcommon/xkbcommon.h>

#define MAX_RECTS      64
#define LINE_MAX_BYTES 1024

struct rect {
	int x, y, w, h;
	uint32_t rgb;
};

struct rec {
	xcb_connection_t *conn;
	xcb_screen_t *screen;
	xcb_window_t win;
	xcb_atom_t marker;
	int out;
	int fifo;
	char fifo_buf[64];
	size_t fifo_len;
	uint8_t xkb_event_base;
	int32_t device_id;
	struct xkb_context *ctx;
	struct xkb_keymap *keymap;
	struct xkb_state *state;
};

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "xrecorder: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* Writes one line at once (the test reads the file while it grows). */
static void emit(struct rec *r, const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(r->out, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("cannot write the events: %s", strerror(errno));
		line += n;
		len -= (size_t)n;
	}
}

/* Appends s as a JSON string (with quotes) to buf at *pos. */
static void put_json_string(char *buf, size_t cap, size_t *pos, const char *s)
{
	size_t p = *pos;
	if (p < cap)
		buf[p++] = '"';
	for (; *s && p + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[p++] = '\\';
			buf[p++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			p += (size_t)snprintf(buf + p, cap - p, "\\u%04x", c);
		} else {
			buf[p++] = (char)c;
		}
	}
	if (p < cap)
		buf[p++] = '"';
	*pos = p;
}

static int load_keymap(struct rec *r)
{
	struct xkb_keymap *km = xkb_x11_keymap_new_from_device(r->ctx, r->conn, r->device_id,
							       XKB_KEYMAP_COMPILE_NO_FLAGS);
	if (!km)
		return -EPROTO;
	struct xkb_state *st = xkb_x11_state_new_from_device(km, r->conn, r->device_id);
	if (!st) {
		xkb_keymap_unref(km);
		return -EPROTO;
	}
	xkb_state_unref(r->state);
	xkb_keymap_unref(r->keymap);
	r->keymap = km;
	r->state = st;
	return 0;
}

static void setup_xkb(struct rec *r)
{
	const uint16_t events =
	    XCB_XKB_EVENT_TYPE_NEW_KEYBOARD_NOTIFY | XCB_XKB_EVENT_TYPE_MAP_NOTIFY;
	const uint16_t nkn = XCB_XKB_NKN_DETAIL_KEYCODES;
	const uint16_t parts = XCB_XKB_MAP_PART_KEY_TYPES | XCB_XKB_MAP_PART_KEY_SYMS |
			       XCB_XKB_MAP_PART_MODIFIER_MAP |
			       XCB_XKB_MAP_PART_EXPLICIT_COMPONENTS | XCB_XKB_MAP_PART_KEY_ACTIONS |
			       XCB_XKB_MAP_PART_VIRTUAL_MODS | XCB_XKB_MAP_PART_VIRTUAL_MOD_MAP;
	const xcb_xkb_select_events_details_t details = {.affectNewKeyboard = nkn,
							 .newKeyboardDetails = nkn};
	if (!xkb_x11_setup_xkb_extension(r->conn, 1, 0, XKB_X11_SETUP_XKB_EXTENSION_NO_FLAGS, NULL,
					 NULL, &r->xkb_event_base, NULL))
		die("the display has no XKB");
	r->device_id = xkb_x11_get_core_keyboard_device_id(r->conn);
	if (r->device_id < 0)
		die("no core keyboard");
	xcb_generic_error_t *e = xcb_request_check(
	    r->conn, xcb_xkb_select_events_aux_checked(r->conn, (xcb_xkb_device_spec_t)r->device_id,
						       events, 0, 0, parts, parts, &details));
	if (e)
		die("cannot select XKB events");
	r->ctx = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
	if (!r->ctx || load_keymap(r) < 0)
		die("cannot read the keymap");
}

static void on_key(struct rec *r, const xcb_key_press_event_t *ev)
{
	bool press = (ev->response_type & 0x7f) == XCB_KEY_PRESS;
	char line[LINE_MAX_BYTES], name[64], base[64] = "", text[64] = "";
	const xkb_keysym_t *syms;
	/* The modifiers and group in force for this event, as the server reports them. */
	xkb_state_update_mask(r->state, ev->state & 0xff, 0, 0, 0, 0, (ev->state >> 13) & 3);
	xkb_keysym_t sym = xkb_state_key_get_one_sym(r->state, ev->detail);
	if (xkb_keysym_get_name(sym, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (xkb_keymap_key_get_syms_by_level(r->keymap, ev->detail, 0, 0, &syms) == 1)
		xkb_keysym_get_name(syms[0], base, sizeof(base));
	if (press)
		xkb_state_key_get_utf8(r->state, ev->detail, text, sizeof(text));
	size_t p = (size_t)snprintf(line, sizeof(line), "{\"type\":\"%s\",\"keycode\":%u,\"sym\":",
				    press ? "key_press" : "key_release", ev->detail);
	put_json_string(line, sizeof(line), &p, name);
	p += (size_t)snprintf(line + p, sizeof(line) - p, ",\"base\":");
	put_json_string(line, sizeof(line), &p, base);
	p += (size_t)snprintf(line + p, sizeof(line) - p, ",\"text\":");
	put_json_string(line, sizeof(line), &p, text);
	p += (size_t)snprintf(line + p, sizeof(line) - p,
			      ",\"state\":%u,\"x\":%d,\"y\":%d,\"time\":%u}\n", ev->state,
			      ev->root_x, ev->root_y, ev->time);
	emit(r, line, p);
}

static void on_pointer(struct rec *r, const xcb_generic_event_t *gev)
{
	/* Button and motion events share this layout. */
	const xcb_button_press_event_t *ev = (const xcb_button_press_event_t *)gev;
	uint8_t type = ev->response_type & 0x7f;
	char line[256];
	int n;
	if (type == XCB_MOTION_NOTIFY)
		n = snprintf(line, sizeof(line),
			     "{\"type\":\"motion\",\"state\":%u,\"x\":%d,\"y\":%d,\"time\":%u}\n",
			     ev->state, ev->root_x, ev->root_y, ev->time);
	else
		n = snprintf(line, sizeof(line),
			     "{\"type\":\"%s\",\"button\":%u,\"state\":%u,\"x\":%d,\"y\":%d,"
			     "\"time\":%u}\n",
			     type == XCB_BUTTON_PRESS ? "button_press" : "button_release",
			     ev->detail, ev->state, ev->root_x, ev->root_y, ev->time);
	emit(r, line, (size_t)n);
}

static void send_marker(struct rec *r, uint32_t n)
{
	xcb_client_message_event_t ev = {
	    .response_type = XCB_CLIENT_MESSAGE, .format = 32, .window = r->win, .type = r->marker};
	ev.data.data32[0] = n;
	xcb_send_event(r->conn, 0, r->win, XCB_EVENT_MASK_NO_EVENT, (const char *)&ev);
	xcb_flush(r->conn);
}

/* Reads the numbers written to the FIFO and sends a marker for each. */
static void on_fifo(struct rec *r)
{
	ssize_t n = read(r->fifo, r->fifo_buf + r->fifo_len, sizeof(r->fifo_buf) - 1 - r->fifo_len);
	if (n <= 0)
		return;
	r->fifo_len += (size_t)n;
	char *nl;
	while ((nl = memchr(r->fifo_buf, '\n', r->fifo_len))) {
		*nl = '\0';
		send_marker(r, (uint32_t)strtoul(r->fifo_buf, NULL, 10));
		size_t used = (size_t)(nl + 1 - r->fifo_buf);
		memmove(r->fifo_buf, nl + 1, r->fifo_len - used);
		r->fifo_len -= used;
	}
	if (r->fifo_len == sizeof(r->fifo_buf) - 1)
		r->fifo_len = 0;
}

static void handle(struct rec *r, xcb_generic_event_t *ev)
{
	uint8_t type = ev->response_type & 0x7f;
	if (type == XCB_KEY_PRESS || type == XCB_KEY_RELEASE) {
		on_key(r, (xcb_key_press_event_t *)ev);
	} else if (type == XCB_BUTTON_PRESS || type == XCB_BUTTON_RELEASE ||
		   type == XCB_MOTION_NOTIFY) {
		on_pointer(r, ev);
	} else if (type == XCB_MAPPING_NOTIFY) {
		if (((xcb_mapping_notify_event_t *)ev)->request == XCB_MAPPING_KEYBOARD &&
		    load_keymap(r) < 0)
			die("cannot read the changed keymap");
	} else if (type == r->xkb_event_base) {
		/* All XKB events share one code; the kind is the second byte. */
		const xcb_xkb_map_notify_event_t *x = (xcb_xkb_map_notify_event_t *)ev;
		if ((x->xkbType == XCB_XKB_NEW_KEYBOARD_NOTIFY ||
		     x->xkbType == XCB_XKB_MAP_NOTIFY) &&
		    x->deviceID == r->device_id && load_keymap(r) < 0)
			die("cannot read the changed keymap");
	} else if (type == XCB_CLIENT_MESSAGE) {
		char line[64];
		int n = snprintf(line, sizeof(line), "{\"type\":\"mark\",\"n\":%u}\n",
				 ((xcb_client_message_event_t *)ev)->data.data32[0]);
		emit(r, line, (size_t)n);
	}
}

static uint32_t parse_rgb(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 16);
	if (end == s || *end || strlen(s) != 6)
		die("'%s' is not RRGGBB", s);
	return (uint32_t)v;
}

static void parse_rect(const char *s, struct rect *rc)
{
	char rgb[16];
	if (sscanf(s, "%d,%d,%d,%d,%15s", &rc->x, &rc->y, &rc->w, &rc->h, rgb) != 5 || rc->w <= 0 ||
	    rc->h <= 0)
		die("'%s' is not X,Y,W,H,RRGGBB", s);
	rc->rgb = parse_rgb(rgb);
}

/* The pattern's colour of pixel (x, y): see the top of the file. */
static uint32_t pattern_rgb(uint32_t x, uint32_t y)
{
	return (x & 0xff) << 16 | (y & 0xff) << 8 | ((x >> 8) & 0xf) | ((y >> 8) & 0xf) << 4;
}

/* A pixmap of the screen's size holding the pattern, for the window's background. */
static xcb_pixmap_t pattern_pixmap(struct rec *r)
{
	const xcb_setup_t *setup = xcb_get_setup(r->conn);
	xcb_screen_t *s = r->screen;
	uint32_t w = s->width_in_pixels, h = s->height_in_pixels;
	bool bpp32 = false;
	for (xcb_format_iterator_t f = xcb_setup_pixmap_formats_iterator(setup); f.rem;
	     xcb_format_next(&f))
		if (f.data->depth == s->root_depth && f.data->bits_per_pixel == 32)
			bpp32 = true;
	if (s->root_depth != 24 || !bpp32 || setup->image_byte_order != XCB_IMAGE_ORDER_LSB_FIRST)
		die("the pattern needs a 24-bit, 32 bpp, LSB-first screen");
	xcb_pixmap_t pm = xcb_generate_id(r->conn);
	xcb_create_pixmap(r->conn, s->root_depth, pm, s->root, (uint16_t)w, (uint16_t)h);
	xcb_gcontext_t gc = xcb_generate_id(r->conn);
	xcb_create_gc(r->conn, gc, pm, 0, NULL);
	/* In strips that fit a request without BIG-REQUESTS. */
	uint32_t rows = 60000 / (w * 4);
	uint32_t *strip = malloc((size_t)w * 4 * rows);
	if (!rows || !strip)
		die("out of memory");
	for (uint32_t y0 = 0; y0 < h; y0 += rows) {
		uint32_t n = y0 + rows <= h ? rows : h - y0;
		for (uint32_t y = 0; y < n; y++)
			for (uint32_t x = 0; x < w; x++)
				strip[y * w + x] = pattern_rgb(x, y0 + y);
		xcb_put_image(r->conn, XCB_IMAGE_FORMAT_Z_PIXMAP, pm, gc, (uint16_t)w, (uint16_t)n,
			      0, (int16_t)y0, 0, s->root_depth, w * 4 * n, (const uint8_t *)strip);
	}
	free(strip);
	xcb_free_gc(r->conn, gc);
	return pm;
}

int main(int argc, char **argv)
{
	struct rec r = {.out = -1, .fifo = -1};
	struct rect rects[MAX_RECTS];
	size_t n_rects = 0;
	const char *out = NULL, *fifo = NULL;
	bool pattern = false;
	uint32_t bg = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--pattern") == 0) {
			pattern = true;
			continue;
		}
		if (!v)
			die("usage: xrecorder -o FILE [--fifo PATH] [--pattern] [--bg RRGGBB] "
			    "[--rect X,Y,W,H,RRGGBB]...");
		i++;
		if (strcmp(a, "-o") == 0)
			out = v;
		else if (strcmp(a, "--fifo") == 0)
			fifo = v;
		else if (strcmp(a, "--bg") == 0)
			bg = parse_rgb(v);
		else if (strcmp(a, "--rect") == 0 && n_rects < MAX_RECTS)
			parse_rect(v, &rects[n_rects++]);
		else
			die("unknown option '%s'", a);
	}
	if (!out)
		die("-o FILE is needed");
	r.out = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (r.out < 0)
		die("cannot open '%s': %s", out, strerror(errno));
	if (fifo) {
		if (mkfifo(fifo, 0600) < 0 && errno != EEXIST)
			die("cannot make the FIFO '%s': %s", fifo, strerror(errno));
		/* Read and write: it never reaches end of file when a writer closes. */
		r.fifo = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (r.fifo < 0)
			die("cannot open the FIFO '%s': %s", fifo, strerror(errno));
	}

	r.conn = xcb_connect(NULL, NULL);
	if (xcb_connection_has_error(r.conn))
		die("cannot connect to the display '%s'",
		    getenv("DISPLAY") ? getenv("DISPLAY") : "");
	r.screen = xcb_setup_roots_iterator(xcb_get_setup(r.conn)).data;
	xcb_screen_t *s = r.screen;
	uint32_t mask = XCB_CW_BACK_PIXEL | XCB_CW_OVERRIDE_REDIRECT | XCB_CW_EVENT_MASK;
	uint32_t values[3] = {bg, 1,
			      XCB_EVENT_MASK_KEY_PRESS | XCB_EVENT_MASK_KEY_RELEASE |
				  XCB_EVENT_MASK_BUTTON_PRESS | XCB_EVENT_MASK_BUTTON_RELEASE |
				  XCB_EVENT_MASK_POINTER_MOTION};
	if (pattern) {
		mask = XCB_CW_BACK_PIXMAP | XCB_CW_OVERRIDE_REDIRECT | XCB_CW_EVENT_MASK;
		values[0] = pattern_pixmap(&r);
	}
	r.win = xcb_generate_id(r.conn);
	xcb_create_window(r.conn, XCB_COPY_FROM_PARENT, r.win, s->root, 0, 0, s->width_in_pixels,
			  s->height_in_pixels, 0, XCB_WINDOW_CLASS_INPUT_OUTPUT, s->root_visual,
			  mask, values);
	/* Rectangles: child windows the server paints; their events go on to the parent. */
	for (size_t i = 0; i < n_rects; i++) {
		xcb_window_t c = xcb_generate_id(r.conn);
		uint32_t v[1] = {rects[i].rgb};
		xcb_create_window(r.conn, XCB_COPY_FROM_PARENT, c, r.win, (int16_t)rects[i].x,
				  (int16_t)rects[i].y, (uint16_t)rects[i].w, (uint16_t)rects[i].h,
				  0, XCB_WINDOW_CLASS_INPUT_OUTPUT, s->root_visual,
				  XCB_CW_BACK_PIXEL, v);
	}
	xcb_map_subwindows(r.conn, r.win);
	xcb_map_window(r.conn, r.win);
	xcb_set_input_focus(r.conn, XCB_INPUT_FOCUS_POINTER_ROOT, r.win, XCB_CURRENT_TIME);
	xcb_intern_atom_reply_t *atom =
	    xcb_intern_atom_reply(r.conn, xcb_intern_atom(r.conn, 0, 15, "MXC_TEST_MARKER"), NULL);
	if (!atom)
		die("cannot intern an atom");
	r.marker = atom->atom;
	free(atom);
	setup_xkb(&r);
	/* The round trips above came after the map: the window is on the screen, painted. */
	char line[128];
	int n = snprintf(line, sizeof(line), "{\"type\":\"ready\",\"width\":%u,\"height\":%u}\n",
			 s->width_in_pixels, s->height_in_pixels);
	emit(&r, line, (size_t)n);
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		xcb_generic_event_t *ev;
		while ((ev = xcb_poll_for_event(r.conn))) {
			handle(&r, ev);
			free(ev);
		}
		if (xcb_connection_has_error(r.conn))
			break;
		xcb_flush(r.conn);
		struct pollfd p[2] = {{xcb_get_file_descriptor(r.conn), POLLIN, 0},
				      {r.fifo, POLLIN, 0}};
		if (poll(p, r.fifo >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (r.fifo >= 0 && p[1].revents)
			on_fifo(&r);
	}
	xkb_state_unref(r.state);
	xkb_keymap_unref(r.keymap);
	xkb_context_unref(r.ctx);
	xcb_disconnect(r.conn);
	return 0;
}
