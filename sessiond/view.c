/*
 * The view verbs (view.h): view.start, view.frame, view.pointer, view.key, view.control,
 * view.stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "display.h"
#include "json.h"
#include "session-private.h"
#include "session.h"
#include "view.h"

/* RFB's pointer mask: bits 0-2 are buttons 1-3, 3-6 the wheel, 7 is "back" (button 8). */
#define WHEEL_BITS 0x78u

struct mxc_view {
	struct mxc_client *client;
	char session[9];
	char agent[65];
	struct mxc_actor viewer;
	bool control;
	uint8_t buttons; /* the mask last applied */
	int64_t started_at;
	uint64_t frames, inputs;
};

const char *mxc_view_controller_name(const struct mxc_view *v)
{
	return v->viewer.name;
}

static void audit_view(struct mxc_server *srv, struct mxc_view *v, const char *action,
		       struct json_object *d)
{
	/* The rows are the viewer's, whichever way the view ends. */
	mxc_json_add_bool(d, "control", v->control);
	mxc_server_audit_as(srv, &v->viewer, action, v->agent, v->session, NULL, "ok", d);
}

static void give_back(struct mxc_server *srv, struct mxc_view *v, const char *why)
{
	struct session *s = session_find(srv, v->session);
	if (s && s->controller == v)
		s->controller = NULL;
	if (!v->control)
		return;
	v->control = false;
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "change", "returned");
	mxc_json_add_str(d, "reason", why);
	audit_view(srv, v, "view.control", d);
}

static void view_end(struct mxc_client *c, const char *why)
{
	struct mxc_view *v = c->view;
	give_back(c->srv, v, why);
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "reason", why);
	mxc_json_add_i64(d, "seconds", (mxc_db_now_ms() - v->started_at) / 1000);
	mxc_json_add_i64(d, "frames", (int64_t)v->frames);
	mxc_json_add_i64(d, "inputs", (int64_t)v->inputs);
	audit_view(c->srv, v, "view.stop", d);
	c->view = NULL;
	free(v);
}

void mxc_view_client_gone(struct mxc_client *c)
{
	view_end(c, "the viewer disconnected");
}

/* Control needs the policy's session.inspect.control and nobody else holding it. */
static bool may_control(struct mxc_call *call, struct session *s, struct mxc_view *v)
{
	if (!s->policy->inspect.control) {
		mxc_call_audit(call, "view.control", s->agent, s->id, NULL, "denied",
			       mxc_audit_reason("session.inspect.control is false"));
		mxc_call_fail(call, -EPERM,
			      "session '%s': its policy does not allow taking control "
			      "(session.inspect.control is false)",
			      s->id);
		return false;
	}
	if (s->controller && s->controller != v) {
		mxc_call_fail(call, -EBUSY, "session '%s': %s has control already", s->id,
			      s->controller->viewer.name);
		return false;
	}
	return true;
}

static void take_control(struct mxc_call *call, struct session *s, struct mxc_view *v)
{
	s->controller = v;
	if (!v->control) {
		v->control = true;
		struct json_object *d = json_object_new_object();
		mxc_json_add_str(d, "change", "taken");
		audit_view(call->srv, v, "view.control", d);
	}
}

/* The session of a view verb, which the calling connection must be viewing. */
static struct session *viewed(struct mxc_call *call, const char *const *keys, bool need_control)
{
	struct mxc_error err = { 0 };
	if (mxc_json_check_keys(call->args, keys, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return NULL;
	}
	struct session *s = session_from_call_inspect(call);
	if (!s)
		return NULL;
	struct mxc_view *v = call->client ? call->client->view : NULL;
	if (!v || strcmp(v->session, s->id) != 0) {
		mxc_call_fail(call, -EINVAL, "this connection is not viewing session '%s' (view.start)",
			      s->id);
		return NULL;
	}
	if (need_control && !v->control) {
		mxc_call_fail(call, -EPERM, "session '%s': this view is read-only", s->id);
		return NULL;
	}
	return s;
}

void mxc_view_verb_start(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "control", NULL };
	struct mxc_error err = { 0 };
	bool control = false;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_optional(mxc_json_get_bool(call->args, "control", &control, &err)) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct session *s = session_from_call_inspect(call);
	if (!s)
		return;
	if (!s->policy->inspect.view || !s->policy->ui.allow_windows) {
		mxc_call_audit(call, "view.start", s->agent, s->id, NULL, "denied",
			       mxc_audit_reason("session.inspect.view is false"));
		mxc_call_fail(call, -EPERM,
			      "session '%s': its policy does not allow viewing its screen "
			      "(session.inspect.view is false)",
			      s->id);
		return;
	}
	if (!call->client || call->client->view) {
		mxc_call_fail(call, -EBUSY, "this connection is viewing a session already");
		return;
	}
	if (control && !may_control(call, s, NULL))
		return;
	struct mxc_view *v = calloc(1, sizeof(*v));
	if (!v) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	v->client = call->client;
	v->viewer = call->actor;
	v->started_at = mxc_db_now_ms();
	snprintf(v->session, sizeof(v->session), "%s", s->id);
	snprintf(v->agent, sizeof(v->agent), "%s", s->agent);
	call->client->view = v;
	audit_view(call->srv, v, "view.start", json_object_new_object());
	if (control)
		take_control(call, s, v);
	struct json_object *o = json_object_new_object();
	mxc_json_add_i64(o, "width", s->screen_width);
	mxc_json_add_i64(o, "height", s->screen_height);
	mxc_json_add_bool(o, "control", v->control);
	mxc_json_add_str(o, "agent", s->agent);
	mxc_call_reply(call, o, NULL, 0);
}

void mxc_view_verb_stop(struct mxc_call *call)
{
	static const char *const keys[] = { "session", NULL };
	if (!viewed(call, keys, false))
		return;
	view_end(call->client, "the viewer stopped");
	mxc_call_reply(call, NULL, NULL, 0);
}

void mxc_view_verb_control(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "take", NULL };
	struct mxc_error err = { 0 };
	bool take = false;
	struct session *s = viewed(call, keys, false);
	if (!s)
		return;
	if (mxc_json_get_bool(call->args, "take", &take, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct mxc_view *v = call->client->view;
	if (take && !may_control(call, s, v))
		return;
	if (take)
		take_control(call, s, v);
	else
		give_back(call->srv, v, "the viewer gave it back");
	struct json_object *o = json_object_new_object();
	mxc_json_add_bool(o, "control", v->control);
	mxc_call_reply(call, o, NULL, 0);
}

struct frame {
	struct mxc_call *call;
	struct mxc_client *client;
};

static void frame_done(struct session *s, void *data, int r, const char *msg,
		       struct json_object *result, int *fds, size_t n_fds)
{
	struct frame *f = data;
	int64_t w = 0, h = 0, stride = 0;
	struct stat st;
	if (r < 0) {
		mxc_call_fail(f->call, r, "%s", msg);
	} else if (n_fds != 1 ||
		   mxc_json_get_i64(result, "width", 1, MXC_DISPLAY_MAX_SIDE, &w, NULL) < 0 ||
		   mxc_json_get_i64(result, "height", 1, MXC_DISPLAY_MAX_SIDE, &h, NULL) < 0 ||
		   mxc_json_get_i64(result, "stride", w * 3, w * 4 + 64, &stride, NULL) < 0 ||
		   fstat(fds[0], &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != stride * h) {
		mxc_call_fail(f->call, -EBADMSG, "session '%s': the display helper sent an invalid frame",
			      s->id);
	} else {
		session_count(s, ACT_VIEW_FRAME);
		if (f->call->client && f->call->client->view)
			f->call->client->view->frames++;
		struct json_object *o = json_object_new_object();
		mxc_json_add_i64(o, "width", w);
		mxc_json_add_i64(o, "height", h);
		mxc_json_add_i64(o, "stride", stride);
		mxc_json_add_str(o, "format", "rgb24");
		int fd = fds[0];
		fds[0] = -1;
		mxc_call_reply(f->call, o, &fd, 1);
	}
	free(f);
}

void mxc_view_verb_frame(struct mxc_call *call)
{
	static const char *const keys[] = { "session", NULL };
	struct session *s = viewed(call, keys, false);
	if (!s)
		return;
	struct frame *f = calloc(1, sizeof(*f));
	if (!f) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	f->call = call;
	session_helper_call(s, "frame", json_object_new_object(), NULL, 0, frame_done, f);
}

/* Several helper requests for one view input; the call is answered after the last. */
struct input {
	struct mxc_call *call;
	unsigned left;
	int r;
	char msg[256];
};

static void input_done(struct session *s, void *data, int r, const char *msg,
		       struct json_object *result, int *fds, size_t n_fds)
{
	struct input *in = data;
	if (r < 0 && in->r == 0) {
		in->r = r;
		snprintf(in->msg, sizeof(in->msg), "%s", msg ? msg : "input failed");
	}
	if (--in->left)
		return;
	if (in->r < 0)
		mxc_call_fail(in->call, in->r, "%s", in->msg);
	else
		mxc_call_reply(in->call, NULL, NULL, 0);
	free(in);
}

static void send_input(struct session *s, struct input *in, const char *verb,
		       struct json_object *args)
{
	in->left++;
	session_helper_call(s, verb, args, NULL, 0, input_done, in);
}

void mxc_view_verb_pointer(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "x", "y", "buttons", NULL };
	struct mxc_error err = { 0 };
	struct session *s = viewed(call, keys, true);
	if (!s)
		return;
	int64_t x, y, buttons;
	if (mxc_json_get_i64(call->args, "x", 0, (int64_t)s->screen_width - 1, &x, &err) < 0 ||
	    mxc_json_get_i64(call->args, "y", 0, (int64_t)s->screen_height - 1, &y, &err) < 0 ||
	    mxc_json_get_i64(call->args, "buttons", 0, 255, &buttons, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct input *in = calloc(1, sizeof(*in));
	if (!in) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	in->call = call;
	in->left = 1; /* held until every request is sent */
	struct mxc_view *v = call->client->view;
	v->inputs++;
	session_count(s, ACT_VIEW_INPUT);
	struct json_object *a = json_object_new_object();
	mxc_json_add_i64(a, "x", x);
	mxc_json_add_i64(a, "y", y);
	send_input(s, in, "move", a);
	uint8_t now = (uint8_t)buttons, changed = now ^ v->buttons;
	for (unsigned bit = 0; bit < 8; bit++) {
		uint8_t m = (uint8_t)(1u << bit);
		if (!(changed & m))
			continue;
		if (m & WHEEL_BITS) {
			/* A wheel "button" scrolls one notch as it goes down. */
			if (!(now & m))
				continue;
			a = json_object_new_object();
			mxc_json_add_i64(a, "x", x);
			mxc_json_add_i64(a, "y", y);
			mxc_json_add_i64(a, bit < 5 ? "dy" : "dx", bit == 3 || bit == 5 ? -1 : 1);
			mxc_json_add_i64(a, bit < 5 ? "dx" : "dy", 0);
			send_input(s, in, "scroll", a);
			continue;
		}
		a = json_object_new_object();
		mxc_json_add_i64(a, "button", bit == 7 ? 8 : (int64_t)bit + 1);
		mxc_json_add_bool(a, "down", now & m);
		send_input(s, in, "button", a);
	}
	v->buttons = now;
	input_done(s, in, 0, NULL, NULL, NULL, 0);
}

void mxc_view_verb_key(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "keysym", "down", NULL };
	struct mxc_error err = { 0 };
	struct session *s = viewed(call, keys, true);
	if (!s)
		return;
	int64_t keysym;
	bool down;
	if (mxc_json_get_i64(call->args, "keysym", 1, 0x1fffffff, &keysym, &err) < 0 ||
	    mxc_json_get_bool(call->args, "down", &down, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct input *in = calloc(1, sizeof(*in));
	if (!in) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	in->call = call;
	call->client->view->inputs++;
	session_count(s, ACT_VIEW_INPUT);
	char name[16];
	snprintf(name, sizeof(name), "0x%llx", (unsigned long long)keysym);
	struct json_object *a = json_object_new_object();
	mxc_json_add_str(a, "keys", name);
	send_input(s, in, down ? "key_down" : "key_up", a);
}
