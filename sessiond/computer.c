/*
 * The computer-use verbs: observing a session's screen and driving its pointer, keyboard
 * and clipboard. One vocabulary for the socket, the CLI and the MCP server: screenshot,
 * screen_size, cursor_position, wait, move, click, mouse_down, mouse_up, drag, scroll, key,
 * key_down, key_up, hold_key, type, clipboard_get, clipboard_set.
 *
 * Coordinates: a screenshot answers with its mapping, {x, y, width, height} of the screen
 * region it shows and {image_width, image_height} of the image. Any pointer verb may be given
 * that mapping as "space" and then takes coordinates in the image; the daemon maps them to
 * the physical pixel the image pixel shows. Without a space, coordinates are physical.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "display.h"
#include "json.h"
#include "log.h"
#include "session-private.h"
#include "session.h"
#include "view.h"

/* Bounds on what one request may ask for. */
#define MAX_TYPE_BYTES (64 * 1024)
#define MAX_CHORD_BYTES 256
#define MAX_DRAG_POINTS 10000
#define MAX_SCROLL 1000
#define MAX_WAIT_MS 60000
/* Activity counters reach the database at most this long after they change. */
#define ACTIVITY_SAVE_MS 1000

const char *const session_activity_names[] = {
	[ACT_SCREENSHOT] = "screenshot",     [ACT_MOVE] = "move",
	[ACT_CLICK] = "click",               [ACT_MOUSE_DOWN] = "mouse_down",
	[ACT_MOUSE_UP] = "mouse_up",         [ACT_DRAG] = "drag",
	[ACT_SCROLL] = "scroll",             [ACT_KEY] = "key",
	[ACT_KEY_DOWN] = "key_down",         [ACT_KEY_UP] = "key_up",
	[ACT_HOLD_KEY] = "hold_key",         [ACT_TYPE] = "type",
	[ACT_CLIPBOARD_GET] = "clipboard_get", [ACT_CLIPBOARD_SET] = "clipboard_set",
	[ACT_LAUNCH] = "launch",             [ACT_EXEC] = "exec",
	[ACT_DENIED] = "denied",             [ACT_VIEW_FRAME] = "view_frame",
	[ACT_VIEW_INPUT] = "view_input",
};

/* The mapping between an image's pixels and the screen region it shows. */
struct space {
	int64_t x, y, width, height; /* region of the screen, in physical pixels */
	int64_t image_width, image_height;
};


static void space_full(const struct session *s, struct space *sp)
{
	*sp = (struct space){ 0, 0, s->screen_width, s->screen_height, s->screen_width,
			      s->screen_height };
}

/* Reads a region {x, y, width, height} that must lie inside the screen. */
static int parse_region(const struct session *s, struct json_object *o, const char *what,
			struct space *sp, struct mxc_error *err)
{
	static const char *const keys[] = { "x", "y", "width", "height", "image_width",
					    "image_height", "screen_width", "screen_height", NULL };
	int64_t x = 0, y = 0, w = s->screen_width, h = s->screen_height;
	if (!json_object_is_type(o, json_type_object))
		return mxc_error_set(err, -EINVAL, "'%s': must be an object", what);
	int r = mxc_json_check_keys(o, keys, err);
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_i64(o, "x", 0, s->screen_width - 1, &x, err));
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_i64(o, "y", 0, s->screen_height - 1, &y, err));
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_i64(o, "width", 1, s->screen_width, &w, err));
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_i64(o, "height", 1, s->screen_height, &h, err));
	if (r < 0)
		return mxc_error_prefix(err, "'%s'", what);
	if (x + w > s->screen_width || y + h > s->screen_height)
		return mxc_error_set(err, -ERANGE,
				     "'%s': %lldx%lld at %lld,%lld does not fit the %ux%u screen", what,
				     (long long)w, (long long)h, (long long)x, (long long)y,
				     s->screen_width, s->screen_height);
	sp->x = x;
	sp->y = y;
	sp->width = w;
	sp->height = h;
	return 0;
}

/*
 * The coordinate space of a request: its "space" (a screenshot's mapping, or just the
 * image size of a scaled full-screen shot), or the physical screen.
 */
static int parse_space(const struct session *s, struct json_object *args, struct space *sp,
		       struct mxc_error *err)
{
	space_full(s, sp);
	struct json_object *o;
	if (!json_object_object_get_ex(args, "space", &o) || !o)
		return 0;
	int r = parse_region(s, o, "space", sp, err);
	int64_t iw = sp->width, ih = sp->height;
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_i64(o, "image_width", 1, MXC_DISPLAY_MAX_SIDE, &iw, err));
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_i64(o, "image_height", 1, MXC_DISPLAY_MAX_SIDE, &ih, err));
	if (r < 0)
		return r;
	sp->image_width = iw;
	sp->image_height = ih;
	return 0;
}

/* The physical pixel under the centre of image pixel (x, y). */
static int map_point(const struct space *sp, int64_t x, int64_t y, int32_t *px, int32_t *py,
		     struct mxc_error *err)
{
	if (x < 0 || y < 0 || x >= sp->image_width || y >= sp->image_height)
		return mxc_error_set(err, -ERANGE,
				     "coordinates %lld,%lld are off the %lldx%lld %s", (long long)x,
				     (long long)y, (long long)sp->image_width,
				     (long long)sp->image_height,
				     sp->image_width == sp->width && sp->x == 0 && sp->y == 0
					     ? "screen"
					     : "coordinate space");
	*px = (int32_t)(sp->x + (2 * x + 1) * sp->width / (2 * sp->image_width));
	*py = (int32_t)(sp->y + (2 * y + 1) * sp->height / (2 * sp->image_height));
	return 0;
}

/*
 * Physical back into a space: the image pixel showing it, the one whose area holds the
 * pixel's centre (clamped to the image). The centre, not the corner: then a point clicked in
 * a shrunk image maps back to the image pixel it was given as.
 */
static void unmap_point(const struct space *sp, int32_t px, int32_t py, int64_t *x, int64_t *y)
{
	int64_t ix = (2 * (px - sp->x) + 1) * sp->image_width / (2 * sp->width);
	int64_t iy = (2 * (py - sp->y) + 1) * sp->image_height / (2 * sp->height);
	*x = ix < 0 ? 0 : ix >= sp->image_width ? sp->image_width - 1 : ix;
	*y = iy < 0 ? 0 : iy >= sp->image_height ? sp->image_height - 1 : iy;
}

/* Reads "x" and "y" (both or neither) and maps them. Returns 1 when present. */
static int get_point(struct json_object *args, const struct space *sp, int32_t *px, int32_t *py,
		     struct mxc_error *err)
{
	int64_t x, y;
	int rx = mxc_json_get_i64(args, "x", INT32_MIN, INT32_MAX, &x, err);
	int ry = mxc_json_get_i64(args, "y", INT32_MIN, INT32_MAX, &y, err);
	if ((rx < 0 && rx != -ENOENT) || (ry < 0 && ry != -ENOENT))
		return -EINVAL;
	if (rx == -ENOENT && ry == -ENOENT)
		return 0;
	if (rx == -ENOENT || ry == -ENOENT)
		return mxc_error_set(err, -EINVAL, "'x' and 'y' go together");
	int r = map_point(sp, x, y, px, py, err);
	return r < 0 ? r : 1;
}

static const char *const buttons[] = { "left", "middle", "right", "back", "forward" };
static const int button_numbers[] = { 1, 2, 3, 8, 9 };

static int get_button(struct json_object *args, int *ret, struct mxc_error *err)
{
	const char *b = "left";
	int r = mxc_json_get_str(args, "button", 16, &b, err);
	if (r < 0 && r != -ENOENT)
		return r;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(buttons); i++) {
		if (strcmp(b, buttons[i]) == 0) {
			*ret = button_numbers[i];
			return 0;
		}
	}
	return mxc_error_set(err, -EINVAL,
			     "'button': '%.16s' is not left, right, middle, back or forward", b);
}

/* Runs a second after activity: the counters reach the database in batches. */
static void on_activity_timer(struct mxc_source *src, void *data)
{
	struct session *s = data;
	s->activity_timer = NULL;
	session_save_activity(s);
}

void session_save_activity(struct session *s)
{
	if (!s->activity_dirty)
		return;
	struct json_object *o = session_activity_json(s);
	mxc_db_session_set_activity(s->srv->db, s->id, mxc_json_str(o, NULL));
	json_object_put(o);
	s->activity_dirty = false;
}

void session_count(struct session *s, enum session_activity a)
{
	s->activity[a]++;
	s->activity_dirty = true;
	if (!s->activity_timer)
		s->activity_timer = mxc_loop_add_timer(s->srv->loop, ACTIVITY_SAVE_MS,
						       on_activity_timer, s);
}

void session_load_activity(struct session *s, struct json_object *o)
{
	for (size_t i = 0; i < ACT_N; i++) {
		int64_t v;
		if (mxc_json_get_i64(o, session_activity_names[i], 0, INT64_MAX, &v, NULL) == 0)
			s->activity[i] = (uint64_t)v;
	}
}

struct json_object *session_activity_json(const struct session *s)
{
	struct json_object *o = json_object_new_object();
	for (size_t i = 0; i < ACT_N; i++)
		if (s->activity[i])
			mxc_json_add_i64(o, session_activity_names[i], (int64_t)s->activity[i]);
	return o;
}

/*
 * Refuses input while a human's view holds control (view.h), and input the policy does not
 * allow. Every refusal is counted; a policy refusal is audited, one "input" row a minute per
 * actor (the central throttle), naming the verb refused.
 */
static bool input_allowed(struct mxc_call *call, struct session *s)
{
	if (s->controller && (!call->client || call->client->view != s->controller)) {
		session_count(s, ACT_DENIED);
		mxc_call_fail(call, -EBUSY,
			      "session '%s': %s has taken control of its display; input resumes "
			      "when they give it back",
			      s->id, mxc_view_controller_name(s->controller));
		return false;
	}
	if (s->policy->ui.allow_input_injection)
		return true;
	session_count(s, ACT_DENIED);
	struct json_object *d =
		mxc_audit_reason("input injection is not allowed by the session's policy");
	mxc_json_add_str(d, "verb", call->verb);
	mxc_call_audit(call, "input", s->agent, s->id, NULL, "denied", d);
	mxc_call_fail(call, -EPERM,
		      "session '%s': input injection is not allowed by its policy "
		      "(ui.allowInputInjection is false)",
		      s->id);
	return false;
}

/* Looks the session up, checks the argument names, and that it has a display. */
static struct session *begin(struct mxc_call *call, const char *const *keys)
{
	struct mxc_error err = { 0 };
	if (mxc_json_check_keys(call->args, keys, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return NULL;
	}
	struct session *s = session_from_call(call, true);
	if (s && !s->policy->ui.allow_windows) {
		mxc_call_fail(call, -ENODEV, "session '%s' has no display (ui.allowWindows is false)",
			      s->id);
		return NULL;
	}
	return s;
}

/* ---- answers from the helper ---- */

/* A plain answer: {} or, for pointer verbs, where the pointer went (physical). */
struct plain {
	struct mxc_call *call;
	enum session_activity act;
	int32_t x, y;
	bool has_point;
};

static void plain_done(struct session *s, void *data, int r, const char *msg,
		       struct json_object *result, int *fds, size_t n_fds)
{
	struct plain *p = data;
	if (r < 0) {
		mxc_call_fail(p->call, r, "%s", msg);
	} else {
		session_count(s, p->act);
		struct json_object *o = json_object_new_object();
		if (p->has_point) {
			mxc_json_add_i64(o, "screen_x", p->x);
			mxc_json_add_i64(o, "screen_y", p->y);
		}
		mxc_call_reply(p->call, o, NULL, 0);
	}
	free(p);
}

static void send_plain(struct session *s, struct mxc_call *call, enum session_activity act,
		       const char *verb, struct json_object *args, bool has_point, int32_t x,
		       int32_t y)
{
	struct plain *p = calloc(1, sizeof(*p));
	if (!p) {
		json_object_put(args);
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	*p = (struct plain){ .call = call, .act = act, .x = x, .y = y, .has_point = has_point };
	session_helper_call(s, verb, args, NULL, 0, plain_done, p);
}

/* ---- observing ---- */

struct shot {
	struct mxc_call *call;
	struct space map;
};

/* Checks a screenshot from the helper: one sealed memfd of the announced size. */
static int check_image_fd(int fd, int64_t size)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != size ||
	    size <= 0 || (uint64_t)size > MAX_SCREENSHOT_BYTES)
		return -EBADMSG;
	int seals = fcntl(fd, F_GET_SEALS);
	int need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
	return seals >= 0 && (seals & need) == need ? 0 : -EBADMSG;
}

static void shot_done(struct session *s, void *data, int r, const char *msg,
		      struct json_object *result, int *fds, size_t n_fds)
{
	struct shot *sh = data;
	int64_t w = 0, h = 0, size = 0;
	if (r < 0) {
		mxc_call_fail(sh->call, r, "%s", msg);
	} else if (n_fds != 1 ||
		   mxc_json_get_i64(result, "width", 1, MXC_DISPLAY_MAX_SIDE, &w, NULL) < 0 ||
		   mxc_json_get_i64(result, "height", 1, MXC_DISPLAY_MAX_SIDE, &h, NULL) < 0 ||
		   w != sh->map.image_width || h != sh->map.image_height ||
		   mxc_json_get_i64(result, "bytes", 1, (int64_t)MAX_SCREENSHOT_BYTES, &size,
				    NULL) < 0 ||
		   check_image_fd(fds[0], size) < 0) {
		mxc_call_fail(sh->call, -EBADMSG,
			      "session '%s': the display helper sent an invalid screenshot", s->id);
	} else {
		session_count(s, ACT_SCREENSHOT);
		struct json_object *out = json_object_new_object(), *m = json_object_new_object();
		mxc_json_add_i64(out, "width", w);
		mxc_json_add_i64(out, "height", h);
		mxc_json_add_str(out, "format", "png");
		mxc_json_add_i64(out, "bytes", size);
		mxc_json_add_i64(m, "x", sh->map.x);
		mxc_json_add_i64(m, "y", sh->map.y);
		mxc_json_add_i64(m, "width", sh->map.width);
		mxc_json_add_i64(m, "height", sh->map.height);
		mxc_json_add_i64(m, "image_width", sh->map.image_width);
		mxc_json_add_i64(m, "image_height", sh->map.image_height);
		mxc_json_add_i64(m, "screen_width", s->screen_width);
		mxc_json_add_i64(m, "screen_height", s->screen_height);
		json_object_object_add(out, "mapping", m);
		int fd = fds[0];
		fds[0] = -1;
		mxc_call_reply(sh->call, out, &fd, 1);
	}
	free(sh);
}

void mxc_computer_screenshot(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "region", "scale", "max_edge", NULL };
	struct session *s = begin(call, keys);
	if (!s)
		return;
	struct mxc_error err = { 0 };
	struct space map;
	struct json_object *o;
	space_full(s, &map);
	int r = 0;
	if (json_object_object_get_ex(call->args, "region", &o) && o)
		r = parse_region(s, o, "region", &map, &err);
	map.image_width = map.width;
	map.image_height = map.height;
	uint64_t max_edge = 0;
	bool scaled = json_object_object_get_ex(call->args, "scale", &o) && o;
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_u64(call->args, "max_edge", MXC_DISPLAY_MAX_SIDE, &max_edge,
					      &err));
	if (r == 0 && scaled && max_edge)
		r = mxc_error_set(&err, -EINVAL, "'scale' and 'max_edge' exclude each other");
	if (r == 0 && scaled) {
		static const char *const wh[] = { "width", "height", NULL };
		if (!json_object_is_type(o, json_type_object) ||
		    mxc_json_check_keys(o, wh, &err) < 0 ||
		    mxc_json_get_i64(o, "width", 1, MXC_DISPLAY_MAX_SIDE, &map.image_width, &err) <
			    0 ||
		    mxc_json_get_i64(o, "height", 1, MXC_DISPLAY_MAX_SIDE, &map.image_height,
				     &err) < 0)
			r = mxc_error_set(&err, -EINVAL,
					  "'scale': must be {\"width\": 1..%d, \"height\": 1..%d}",
					  MXC_DISPLAY_MAX_SIDE, MXC_DISPLAY_MAX_SIDE);
	}
	if (r == 0 && max_edge == 0 && json_object_object_get_ex(call->args, "max_edge", &o) && o)
		r = mxc_error_set(&err, -EINVAL, "'max_edge': must be at least 1");
	if (r == 0 && max_edge && (uint64_t)(map.width > map.height ? map.width : map.height) >
					  max_edge) {
		/* Shrink to fit, keeping the aspect ratio; never enlarge. */
		if (map.width >= map.height) {
			map.image_width = (int64_t)max_edge;
			map.image_height = (map.height * (int64_t)max_edge + map.width / 2) / map.width;
		} else {
			map.image_height = (int64_t)max_edge;
			map.image_width = (map.width * (int64_t)max_edge + map.height / 2) / map.height;
		}
		if (map.image_width < 1)
			map.image_width = 1;
		if (map.image_height < 1)
			map.image_height = 1;
	}
	if (r < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct shot *sh = calloc(1, sizeof(*sh));
	if (!sh) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	sh->call = call;
	sh->map = map;
	struct json_object *args = json_object_new_object();
	mxc_json_add_i64(args, "x", map.x);
	mxc_json_add_i64(args, "y", map.y);
	mxc_json_add_i64(args, "width", map.width);
	mxc_json_add_i64(args, "height", map.height);
	mxc_json_add_i64(args, "image_width", map.image_width);
	mxc_json_add_i64(args, "image_height", map.image_height);
	session_helper_call(s, "screenshot", args, NULL, 0, shot_done, sh);
}

void mxc_computer_screen_size(struct mxc_call *call)
{
	static const char *const keys[] = { "session", NULL };
	struct session *s = begin(call, keys);
	if (!s)
		return;
	struct json_object *o = json_object_new_object();
	mxc_json_add_i64(o, "width", s->screen_width);
	mxc_json_add_i64(o, "height", s->screen_height);
	mxc_call_reply(call, o, NULL, 0);
}

struct cursor {
	struct mxc_call *call;
	struct space space;
};

static void cursor_done(struct session *s, void *data, int r, const char *msg,
			struct json_object *result, int *fds, size_t n_fds)
{
	struct cursor *c = data;
	int64_t px, py;
	if (r < 0) {
		mxc_call_fail(c->call, r, "%s", msg);
	} else if (mxc_json_get_i64(result, "x", INT32_MIN, INT32_MAX, &px, NULL) < 0 ||
		   mxc_json_get_i64(result, "y", INT32_MIN, INT32_MAX, &py, NULL) < 0) {
		mxc_call_fail(c->call, -EBADMSG,
			      "session '%s': the display helper sent an invalid position", s->id);
	} else {
		int64_t x, y;
		unmap_point(&c->space, (int32_t)px, (int32_t)py, &x, &y);
		struct json_object *o = json_object_new_object();
		mxc_json_add_i64(o, "x", x);
		mxc_json_add_i64(o, "y", y);
		mxc_json_add_i64(o, "screen_x", px);
		mxc_json_add_i64(o, "screen_y", py);
		mxc_call_reply(c->call, o, NULL, 0);
	}
	free(c);
}

void mxc_computer_cursor_position(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "space", NULL };
	struct session *s = begin(call, keys);
	if (!s)
		return;
	struct mxc_error err = { 0 };
	struct cursor *c = calloc(1, sizeof(*c));
	if (!c || parse_space(s, call->args, &c->space, &err) < 0) {
		free(c);
		mxc_call_fail(call, c ? err.code : -ENOMEM, "%s", c ? err.msg : "out of memory");
		return;
	}
	c->call = call;
	session_helper_call(s, "cursor", NULL, NULL, 0, cursor_done, c);
}

static void wait_done(struct mxc_source *src, void *data)
{
	mxc_call_reply(data, NULL, NULL, 0);
}

void mxc_computer_wait(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "ms", NULL };
	struct mxc_error err = { 0 };
	uint64_t ms = 0;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_u64(call->args, "ms", MAX_WAIT_MS, &ms, &err) < 0) {
		mxc_call_fail(call, -EINVAL, "%s",
			      err.msg[0] ? err.msg : "'ms': missing (0..60000)");
		return;
	}
	/* Asked of a session like every verb (and refused for another one on a session's
	 * socket); once armed, a wait outlives its session harmlessly. */
	if (!session_from_call(call, false))
		return;
	if (!mxc_loop_add_timer(call->srv->loop, ms, wait_done, call))
		mxc_call_fail(call, -ENOMEM, "failed to arm a timer");
}

/* ---- pointer ---- */

void mxc_computer_move(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "x", "y", "space", NULL };
	struct session *s = begin(call, keys);
	if (!s || !input_allowed(call, s))
		return;
	struct mxc_error err = { 0 };
	struct space sp;
	int32_t x, y;
	int r = parse_space(s, call->args, &sp, &err);
	if (r == 0 && (r = get_point(call->args, &sp, &x, &y, &err)) == 0)
		r = mxc_error_set(&err, -EINVAL, "'x' and 'y': missing");
	if (r < 0) {
		mxc_call_fail(call, err.code ? err.code : r, "%s", err.msg);
		return;
	}
	struct json_object *args = json_object_new_object();
	mxc_json_add_i64(args, "x", x);
	mxc_json_add_i64(args, "y", y);
	send_plain(s, call, ACT_MOVE, "move", args, true, x, y);
}

/* click, mouse_down, mouse_up: a button, optionally at a point, with held modifiers. */
static void button_verb(struct mxc_call *call, enum session_activity act)
{
	static const char *const keys[] = { "session", "x",     "y",	 "space",
					    "button",  "count", "modifiers", NULL };
	struct session *s = begin(call, keys);
	if (!s || !input_allowed(call, s))
		return;
	struct mxc_error err = { 0 };
	struct space sp;
	int32_t x = 0, y = 0;
	int button = 1, has_point = 0;
	uint64_t count = 1;
	const char *modifiers = NULL;
	int r = parse_space(s, call->args, &sp, &err);
	if (r == 0)
		r = has_point = get_point(call->args, &sp, &x, &y, &err);
	if (r >= 0)
		r = get_button(call->args, &button, &err);
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_u64(call->args, "count", 3, &count, &err));
	if (r == 0 && (count < 1 || (act != ACT_CLICK && count != 1)))
		r = mxc_error_set(&err, -EINVAL, "'count': must be 1, 2 or 3 (clicks only)");
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_str(call->args, "modifiers", MAX_CHORD_BYTES, &modifiers,
					      &err));
	if (r == 0 && modifiers && act != ACT_CLICK)
		r = mxc_error_set(&err, -EINVAL,
				  "'modifiers': only for click (hold keys with key_down)");
	if (r < 0) {
		mxc_call_fail(call, err.code ? err.code : r, "%s", err.msg);
		return;
	}
	struct json_object *args = json_object_new_object();
	if (has_point) {
		mxc_json_add_i64(args, "x", x);
		mxc_json_add_i64(args, "y", y);
	}
	mxc_json_add_i64(args, "button", button);
	mxc_json_add_i64(args, "count", (int64_t)count);
	if (modifiers)
		mxc_json_add_str(args, "modifiers", modifiers);
	if (act != ACT_CLICK)
		mxc_json_add_bool(args, "down", act == ACT_MOUSE_DOWN);
	send_plain(s, call, act, act == ACT_CLICK ? "click" : "button", args, has_point, x, y);
}

void mxc_computer_click(struct mxc_call *call)
{
	button_verb(call, ACT_CLICK);
}

void mxc_computer_mouse_down(struct mxc_call *call)
{
	button_verb(call, ACT_MOUSE_DOWN);
}

void mxc_computer_mouse_up(struct mxc_call *call)
{
	button_verb(call, ACT_MOUSE_UP);
}

void mxc_computer_drag(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "path", "button", "space", NULL };
	struct session *s = begin(call, keys);
	if (!s || !input_allowed(call, s))
		return;
	struct mxc_error err = { 0 };
	struct space sp;
	int button = 1;
	struct json_object *path = NULL;
	int r = parse_space(s, call->args, &sp, &err);
	if (r == 0)
		r = get_button(call->args, &button, &err);
	if (r == 0 && (!json_object_object_get_ex(call->args, "path", &path) ||
		       !json_object_is_type(path, json_type_array) ||
		       json_object_array_length(path) < 2 ||
		       json_object_array_length(path) > MAX_DRAG_POINTS))
		r = mxc_error_set(&err, -EINVAL,
				  "'path': must be 2 to %d points [x, y], start first",
				  MAX_DRAG_POINTS);
	struct json_object *out = json_object_new_array();
	for (size_t i = 0; r == 0 && i < json_object_array_length(path); i++) {
		struct json_object *pt = json_object_array_get_idx(path, i), *jx = NULL, *jy = NULL;
		int32_t x, y;
		/* json-c asserts on indexing anything but an array: look before indexing. */
		if (json_object_is_type(pt, json_type_array) && json_object_array_length(pt) == 2) {
			jx = json_object_array_get_idx(pt, 0);
			jy = json_object_array_get_idx(pt, 1);
		}
		if (!json_object_is_type(jx, json_type_int) ||
		    !json_object_is_type(jy, json_type_int)) {
			r = mxc_error_set(&err, -EINVAL, "'path[%zu]': must be [x, y]", i);
			break;
		}
		if ((r = map_point(&sp, json_object_get_int64(jx), json_object_get_int64(jy), &x, &y,
				   &err)) < 0) {
			mxc_error_prefix(&err, "'path[%zu]'", i);
			break;
		}
		struct json_object *p = json_object_new_array();
		json_object_array_add(p, json_object_new_int64(x));
		json_object_array_add(p, json_object_new_int64(y));
		json_object_array_add(out, p);
	}
	if (r < 0) {
		json_object_put(out);
		mxc_call_fail_error(call, &err);
		return;
	}
	struct json_object *args = json_object_new_object();
	json_object_object_add(args, "path", out);
	mxc_json_add_i64(args, "button", button);
	send_plain(s, call, ACT_DRAG, "drag", args, false, 0, 0);
}

void mxc_computer_scroll(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "x", "y", "dx", "dy", "modifiers", "space",
					    NULL };
	struct session *s = begin(call, keys);
	if (!s || !input_allowed(call, s))
		return;
	struct mxc_error err = { 0 };
	struct space sp;
	int32_t x = 0, y = 0;
	int64_t dx = 0, dy = 0;
	const char *modifiers = NULL;
	int has_point = 0;
	int r = parse_space(s, call->args, &sp, &err);
	if (r == 0)
		r = has_point = get_point(call->args, &sp, &x, &y, &err);
	if (r >= 0)
		r = mxc_json_optional(mxc_json_get_i64(call->args, "dx", -MAX_SCROLL, MAX_SCROLL, &dx, &err));
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_i64(call->args, "dy", -MAX_SCROLL, MAX_SCROLL, &dy, &err));
	if (r == 0 && dx == 0 && dy == 0)
		r = mxc_error_set(&err, -EINVAL, "'dx' or 'dy' (notches, non-zero) is needed");
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_str(call->args, "modifiers", MAX_CHORD_BYTES, &modifiers,
					      &err));
	if (r < 0) {
		mxc_call_fail(call, err.code ? err.code : r, "%s", err.msg);
		return;
	}
	struct json_object *args = json_object_new_object();
	if (has_point) {
		mxc_json_add_i64(args, "x", x);
		mxc_json_add_i64(args, "y", y);
	}
	mxc_json_add_i64(args, "dx", dx);
	mxc_json_add_i64(args, "dy", dy);
	if (modifiers)
		mxc_json_add_str(args, "modifiers", modifiers);
	send_plain(s, call, ACT_SCROLL, "scroll", args, has_point, x, y);
}

/* ---- keyboard ---- */

static void key_verb(struct mxc_call *call, enum session_activity act, const char *helper_verb)
{
	static const char *const keys[] = { "session", "keys", NULL };
	struct session *s = begin(call, keys);
	if (!s || !input_allowed(call, s))
		return;
	struct mxc_error err = { 0 };
	const char *chord = NULL;
	if (mxc_json_get_str(call->args, "keys", MAX_CHORD_BYTES, &chord, &err) < 0 || !*chord) {
		mxc_call_fail(call, -EINVAL, "%s",
			      err.msg[0] ? err.msg : "'keys': a key or chord, e.g. ctrl+s, is needed");
		return;
	}
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "keys", chord);
	send_plain(s, call, act, helper_verb, args, false, 0, 0);
}

void mxc_computer_key(struct mxc_call *call)
{
	key_verb(call, ACT_KEY, "key");
}

void mxc_computer_key_down(struct mxc_call *call)
{
	key_verb(call, ACT_KEY_DOWN, "key_down");
}

void mxc_computer_key_up(struct mxc_call *call)
{
	key_verb(call, ACT_KEY_UP, "key_up");
}

/* hold_key: key_down, a timer, key_up. The key is released even if the client has left. */
struct hold {
	struct mxc_call *call;
	char session[8]; /* by id: the session may end while the key is held */
	char keys[MAX_CHORD_BYTES + 1];
	uint64_t ms;
};

static void hold_up_done(struct session *s, void *data, int r, const char *msg,
			 struct json_object *result, int *fds, size_t n_fds)
{
	struct hold *h = data;
	if (r < 0)
		mxc_call_fail(h->call, r, "%s", msg);
	else {
		session_count(s, ACT_HOLD_KEY);
		mxc_call_reply(h->call, NULL, NULL, 0);
	}
	free(h);
}

static void hold_timer(struct mxc_source *src, void *data)
{
	struct hold *h = data;
	struct session *s = session_find(h->call->srv, h->session);
	if (!s) {
		/* The session ended while the key was held: nothing is left to release. */
		mxc_call_fail(h->call, -EIO, "the session ended while the key was held");
		free(h);
		return;
	}
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "keys", h->keys);
	session_helper_call(s, "key_up", args, NULL, 0, hold_up_done, h);
}

static void hold_down_done(struct session *s, void *data, int r, const char *msg,
			   struct json_object *result, int *fds, size_t n_fds)
{
	struct hold *h = data;
	if (r < 0) {
		mxc_call_fail(h->call, r, "%s", msg);
		free(h);
		return;
	}
	if (!mxc_loop_add_timer(s->srv->loop, h->ms, hold_timer, h))
		hold_timer(NULL, h);
}

void mxc_computer_hold_key(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "keys", "ms", NULL };
	struct session *s = begin(call, keys);
	if (!s || !input_allowed(call, s))
		return;
	struct mxc_error err = { 0 };
	const char *chord = NULL;
	uint64_t ms = 0;
	if (mxc_json_get_str(call->args, "keys", MAX_CHORD_BYTES, &chord, &err) < 0 || !*chord ||
	    mxc_json_get_u64(call->args, "ms", MAX_WAIT_MS, &ms, &err) < 0) {
		mxc_call_fail(call, -EINVAL, "%s",
			      err.msg[0] ? err.msg : "'keys' and 'ms' (0..60000) are needed");
		return;
	}
	struct hold *h = calloc(1, sizeof(*h));
	if (!h) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	h->call = call;
	snprintf(h->session, sizeof(h->session), "%s", s->id);
	h->ms = ms;
	snprintf(h->keys, sizeof(h->keys), "%s", chord);
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "keys", chord);
	session_helper_call(s, "key_down", args, NULL, 0, hold_down_done, h);
}

void mxc_computer_type(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "text", NULL };
	struct session *s = begin(call, keys);
	if (!s || !input_allowed(call, s))
		return;
	struct mxc_error err = { 0 };
	const char *text = NULL;
	if (mxc_json_get_str(call->args, "text", MAX_TYPE_BYTES, &text, &err) < 0) {
		mxc_call_fail(call, -EINVAL, "%s", err.msg[0] ? err.msg : "'text': missing");
		return;
	}
	/* Typing nothing is a client's mistake, reported like the other empty arguments. */
	if (!*text) {
		mxc_call_fail(call, -EINVAL, "'text': empty; there is nothing to type");
		return;
	}
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "text", text);
	send_plain(s, call, ACT_TYPE, "type", args, false, 0, 0);
}
