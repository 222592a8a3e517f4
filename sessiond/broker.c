/*
 * The broker's requests (broker.h): held, listed, decided, expired, collected.
 *
 * A request is decided once, by its session's owner or an admin, on the main socket. The
 * main socket already refuses agents and processes in an agent session's PID namespace when
 * they connect; a decision looks again, at the connecting process as it is now: it must
 * still exist, still run as the uid it connected with, and share no PID, mount or network
 * namespace with any agent session. A process that connected from the host and then joined a
 * session (or handed its connection to one) cannot decide.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "session-private.h"
#include "session.h"

static const char *const kind_names[] = {
	[BROKER_CLIPBOARD] = "clipboard",
	[BROKER_HANDOFF] = "handoff",
	[BROKER_ATTENTION] = "attention",
};

static const char *const state_names[] = {
	[BROKER_PENDING] = "pending", [BROKER_APPROVED] = "approved", [BROKER_DONE] = "done",
	[BROKER_DENIED] = "denied",   [BROKER_EXPIRED] = "expired",   [BROKER_FAILED] = "failed",
};

static bool is_final(enum broker_state st)
{
	return st != BROKER_PENDING && st != BROKER_APPROVED;
}

int mxc_broker_init(struct mxc_server *srv, struct mxc_error *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/handoff", srv->cfg.state_dir);
	/* Documents held by a previous daemon belong to requests nobody remembers. */
	if (mxc_rm_rf(path) < 0 && errno != ENOENT)
		return mxc_error_errno(err, -errno, "failed to empty '%s'", path);
	if (mkdir(path, 0700) < 0)
		return mxc_error_errno(err, -errno, "failed to create '%s'", path);
	return 0;
}

static void request_free(struct broker_request *r)
{
	mxc_list_remove(&r->link);
	r->srv->n_requests--;
	if (r->timer)
		mxc_source_remove(r->timer);
	if (r->kind == BROKER_HANDOFF) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/handoff/%s", r->srv->cfg.state_dir, r->id);
		unlink(path);
	}
	mxc_close(r->fd);
	mxc_close(r->outcome_fd);
	json_object_put(r->outcome_result);
	free(r->name);
	free(r->note);
	free(r->preview);
	free(r);
}

void mxc_broker_finish(struct mxc_server *srv)
{
	struct broker_request *r, *tmp;
	mxc_list_for_each_safe(r, tmp, &srv->requests, link)
	{
		if (r->waiter)
			mxc_call_fail(r->waiter, -ECANCELED, "the daemon is shutting down");
		request_free(r);
	}
}

struct broker_request *mxc_broker_find(struct mxc_server *srv, const char *id)
{
	struct broker_request *r;
	mxc_list_for_each(r, &srv->requests, link) if (strcmp(r->id, id) == 0) return r;
	return NULL;
}

/* What a request carries: never the data itself. */
static void add_transfer(struct json_object *o, const struct broker_request *r)
{
	if (r->direction)
		mxc_json_add_str(o, "direction", mxc_policy_direction_to_string(r->direction));
	if (r->mime[0]) {
		mxc_json_add_str(o, "mime", r->mime);
		mxc_json_add_i64(o, "bytes", (int64_t)r->bytes);
		mxc_json_add_str(o, "sha256", r->sha256);
	}
	if (r->name)
		mxc_json_add_str(o, "name", r->name);
}

struct json_object *mxc_broker_json(const struct broker_request *r)
{
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "id", r->id);
	mxc_json_add_str(o, "kind", kind_names[r->kind]);
	mxc_json_add_str(o, "state", state_names[r->state]);
	mxc_json_add_str(o, "session", r->session);
	mxc_json_add_str(o, "agent", r->agent);
	add_transfer(o, r);
	if (r->note)
		mxc_json_add_str(o, "note", r->note);
	if (r->preview)
		mxc_json_add_str(o, "preview", r->preview);
	if (r->rule >= 0)
		mxc_json_add_i64(o, "rule", r->rule);
	mxc_json_add_str(o, "requested_by", r->requester.name);
	mxc_json_add_i64(o, "requested_by_uid", r->requester.uid);
	mxc_json_add_i64(o, "created_at", r->created_at);
	mxc_json_add_i64(o, "expires_at", r->expires_at);
	if (r->decided)
		mxc_json_add_str(o, "decided_by", r->decider.name);
	return o;
}

/* Audit details of a request: what it carries, never the data (nor its preview). */
static struct json_object *audit_details(const struct broker_request *r, const char *reason)
{
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "request", r->id);
	mxc_json_add_str(d, "kind", kind_names[r->kind]);
	add_transfer(d, r);
	if (r->decided)
		mxc_json_add_str(d, "decided_by", r->decider.name);
	if (reason)
		mxc_json_add_str(d, "reason", reason);
	return d;
}

/* Answers the requester's wait with the outcome, once. */
static void answer_waiter(struct broker_request *r)
{
	struct mxc_call *w = r->waiter;
	if (!w || !is_final(r->state))
		return;
	r->waiter = NULL;
	w->cancel = NULL;
	if (r->state != BROKER_DONE) {
		int code = r->state == BROKER_EXPIRED  ? -ETIMEDOUT
			   : r->state == BROKER_DENIED ? -EPERM
						       : (r->outcome < 0 ? r->outcome : -EIO);
		mxc_call_fail(w, code, "%s", r->outcome_msg);
		return;
	}
	struct json_object *o = r->outcome_result ? json_object_get(r->outcome_result)
						  : json_object_new_object();
	mxc_json_add_str(o, "request", r->id);
	mxc_json_add_str(o, "state", state_names[r->state]);
	int fd = r->outcome_fd;
	r->outcome_fd = -1; /* data is collected once */
	mxc_call_reply(w, o, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
}

/* How long a settled request's outcome is kept for its requester (and shown in lists). */
#define KEEP_OUTCOME_MS 30000

/* Runs when a request expires, and when the outcome of a settled one has been kept enough. */
static void on_expiry(struct mxc_source *src, void *data)
{
	struct broker_request *r = data;
	r->timer = NULL;
	if (!is_final(r->state)) {
		mxc_broker_finish_request(r, BROKER_EXPIRED, "nobody decided in time", NULL);
		return;
	}
	request_free(r);
}

void mxc_broker_finish_request(struct broker_request *r, enum broker_state state,
			       const char *reason, struct mxc_call *by)
{
	static const char *const actions[] = {
		[BROKER_DONE] = "request.done",	    [BROKER_DENIED] = "request.deny",
		[BROKER_EXPIRED] = "request.expire", [BROKER_FAILED] = "request.fail",
	};
	r->state = state;
	mxc_close(r->fd);
	r->fd = -1;
	if (state == BROKER_DENIED)
		snprintf(r->outcome_msg, sizeof(r->outcome_msg), "request %s was denied by %s%s%s",
			 r->id, r->decider.name, reason ? ": " : "", reason ? reason : "");
	else if (state == BROKER_EXPIRED)
		snprintf(r->outcome_msg, sizeof(r->outcome_msg),
			 "request %s expired: nobody decided in time", r->id);
	else if (state == BROKER_FAILED && !r->outcome_msg[0])
		snprintf(r->outcome_msg, sizeof(r->outcome_msg), "request %s failed: %s", r->id,
			 reason ? reason : "unknown error");
	/* A decision is the decider's row; what the daemon carried out (or let expire) is its
	 * own, naming the decider in the details. */
	struct json_object *d = audit_details(r, reason);
	const char *result = state == BROKER_DONE ? "ok" : state_names[state];
	if (by)
		mxc_call_audit(by, actions[state], r->agent, r->session, r->id, result, d);
	else
		mxc_server_audit(r->srv, actions[state], r->agent, r->session, r->id, result, d);
	answer_waiter(r);
	/* The outcome waits a little for a requester that has not asked for it yet. */
	mxc_source_remove(r->timer);
	r->timer = mxc_loop_add_timer(r->srv->loop, KEEP_OUTCOME_MS, on_expiry, r);
}

void mxc_broker_settle(struct broker_request *r, int code, const char *msg,
		       struct json_object *result, int fd)
{
	if (code < 0) {
		r->outcome = code;
		snprintf(r->outcome_msg, sizeof(r->outcome_msg), "request %s failed: %s", r->id,
			 msg ? msg : strerror(-code));
		json_object_put(result);
		mxc_close(fd);
		mxc_broker_finish_request(r, BROKER_FAILED, msg, NULL);
		return;
	}
	r->outcome_result = result;
	r->outcome_fd = fd;
	mxc_broker_finish_request(r, BROKER_DONE, NULL, NULL);
}

static int expiry_ms(struct mxc_call *call, uint64_t *ret, struct mxc_error *err)
{
	uint64_t s = MXC_BROKER_EXPIRY_MS / 1000;
	int r = mxc_json_get_u64(call->args, "expires_in", MXC_BROKER_EXPIRY_MS / 1000, &s, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (s == 0)
		return mxc_error_set(err, -ERANGE, "'expires_in': must be at least 1 second");
	*ret = s * 1000;
	return 0;
}

int mxc_broker_new_id(char id[static 13], struct mxc_error *err)
{
	uint8_t raw[6];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return mxc_error_errno(err, -errno, "failed to make a request id");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

int mxc_broker_hold(struct mxc_call *call, struct session *s, const struct broker_request *tmpl,
		    int fd, struct broker_request **ret, struct mxc_error *err)
{
	uint64_t ms = MXC_BROKER_EXPIRY_MS;
	int rc = expiry_ms(call, &ms, err);
	if (rc < 0)
		goto fail;
	size_t per_session = 0;
	struct broker_request *o;
	mxc_list_for_each(o, &call->srv->requests, link) per_session +=
		!is_final(o->state) && strcmp(o->session, s->id) == 0;
	if (per_session >= MXC_BROKER_MAX_PER_SESSION || call->srv->n_requests >= MXC_BROKER_MAX) {
		rc = mxc_error_set(err, -EBUSY,
				   "session '%s' has too many requests waiting for a decision", s->id);
		goto fail;
	}
	struct broker_request *r = calloc(1, sizeof(*r));
	if (!r) {
		rc = mxc_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	*r = *tmpl;
	mxc_list_init(&r->link);
	r->srv = call->srv;
	r->name = tmpl->name ? strdup(tmpl->name) : NULL;
	r->note = tmpl->note ? strdup(tmpl->note) : NULL;
	r->preview = tmpl->preview ? strdup(tmpl->preview) : NULL;
	if (!tmpl->id[0] && (rc = mxc_broker_new_id(r->id, err)) < 0) {
		free(r->name), free(r->note), free(r->preview), free(r);
		goto fail;
	}
	snprintf(r->session, sizeof(r->session), "%s", s->id);
	snprintf(r->agent, sizeof(r->agent), "%s", s->agent);
	r->owner_uid = s->owner.uid;
	r->requester = call->actor;
	snprintf(r->scope, sizeof(r->scope), "%s", call->scope);
	r->created_at = mxc_db_now_ms();
	r->expires_at = r->created_at + (int64_t)ms;
	r->state = BROKER_PENDING;
	r->decided = false;
	r->fd = fd;
	r->outcome_fd = -1;
	r->waiter = NULL;
	r->outcome_result = NULL;
	mxc_list_insert_tail(&call->srv->requests, &r->link);
	call->srv->n_requests++;
	r->timer = mxc_loop_add_timer(call->srv->loop, ms, on_expiry, r);
	if (!r->timer || (tmpl->name && !r->name) || (tmpl->note && !r->note) ||
	    (tmpl->preview && !r->preview)) {
		request_free(r);
		return mxc_error_set(err, -ENOMEM, "out of memory");
	}
	mxc_call_audit(call, "request.create", r->agent, r->session, r->id, "pending",
		       audit_details(r, r->note));
	*ret = r;
	return 0;
fail:
	mxc_close(fd);
	return rc;
}

struct json_object *mxc_broker_pending_reply(const struct broker_request *r)
{
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "request", r->id);
	mxc_json_add_str(o, "state", state_names[r->state]);
	mxc_json_add_i64(o, "expires_at", r->expires_at);
	return o;
}

struct broker_request *mxc_broker_from_call(struct mxc_call *call, const char *const *keys)
{
	struct mxc_error err = { 0 };
	const char *id;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_str(call->args, "id", 32, &id, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return NULL;
	}
	struct broker_request *r = mxc_broker_find(call->srv, id);
	/* Someone else's request is not even said to exist. */
	if (!r || (!call->actor.admin && r->owner_uid != call->actor.uid &&
		   r->requester.uid != call->actor.uid)) {
		mxc_call_fail(call, -ENOENT, "request '%.32s' does not exist (or has expired)", id);
		return NULL;
	}
	return r;
}

/* ---- deciding ---- */

static uint64_t ns_inode(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* The real and effective uids of pid now, from /proc/PID/status. */
static int uids_of(pid_t pid, uint32_t *ret_real, uint32_t *ret_effective)
{
	char path[64], *text = NULL;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int r = mxc_read_file(path, 1 << 16, &text, &len);
	if (r < 0)
		return r;
	const char *p = strstr(text, "\nUid:");
	unsigned real, eff;
	r = p && sscanf(p + 5, "%u %u", &real, &eff) == 2 ? 0 : -EPROTO;
	free(text);
	if (r == 0) {
		*ret_real = real;
		*ret_effective = eff;
	}
	return r;
}

/* Why the calling process may not decide anything, or NULL. */
static const char *where_refusal(struct mxc_call *call, char *buf, size_t size)
{
	static const char *const kinds[] = { "pid", "mnt", "net" };
	pid_t pid = call->actor.pid;
	uint32_t real, eff;
	if (pid <= 0 || uids_of(pid, &real, &eff) < 0)
		return "the process that connected is gone";
	if (real != call->actor.uid || eff != call->actor.uid)
		return "the process that connected now runs as another user";
	uint64_t mine[3];
	for (size_t i = 0; i < 3; i++)
		if ((mine[i] = ns_inode(pid, kinds[i])) == 0)
			return "the namespaces of the process that connected cannot be read";
	struct session *s;
	mxc_list_for_each(s, &call->srv->sessions, link)
	{
		if (s->leader_pid <= 0)
			continue;
		for (size_t i = 0; i < 3; i++) {
			uint64_t theirs = i == 0 && s->pidns ? s->pidns : ns_inode(s->leader_pid, kinds[i]);
			if (theirs && theirs == mine[i]) {
				snprintf(buf, size, "the caller is inside session '%s' (%s namespace)",
					 s->id, kinds[i]);
				return buf;
			}
		}
	}
	return NULL;
}

bool mxc_broker_may_decide(struct mxc_call *call, struct broker_request *r)
{
	char buf[128];
	const char *why = NULL;
	if (call->scope[0])
		why = "decisions are not taken from inside a session";
	else if (!call->actor.admin && call->actor.uid != r->owner_uid)
		why = "only the session's owner or an administrator decides";
	else
		why = where_refusal(call, buf, sizeof(buf));
	if (!why)
		return true;
	mxc_call_audit(call, call->verb, r->agent, r->session, r->id, "denied",
		       mxc_audit_reason(why));
	mxc_call_fail(call, -EPERM, "request %s: %s", r->id, why);
	return false;
}

struct broker_request *mxc_broker_decision(struct mxc_call *call, const char *const *keys)
{
	struct broker_request *r = mxc_broker_from_call(call, keys);
	if (!r || !mxc_broker_may_decide(call, r))
		return NULL;
	if (r->state != BROKER_PENDING) {
		mxc_call_fail(call, -EALREADY, "request %s is %s", r->id, state_names[r->state]);
		return NULL;
	}
	return r;
}

void mxc_broker_decided_by(struct broker_request *r, struct mxc_call *call)
{
	r->decider = call->actor;
	r->decided = true;
}

void mxc_broker_verb_approve(struct mxc_call *call)
{
	static const char *const keys[] = { "id", NULL };
	struct broker_request *r = mxc_broker_decision(call, keys);
	if (!r)
		return;
	if (r->kind == BROKER_HANDOFF && r->direction == MXC_POLICY_AGENT_TO_HUMAN) {
		mxc_call_fail(call, -EINVAL,
			      "request %s is a document: accept it with 'mxc handoff accept %s'",
			      r->id, r->id);
		return;
	}
	mxc_broker_decided_by(r, call);
	r->state = BROKER_APPROVED;
	mxc_call_audit(call, "request.approve", r->agent, r->session, r->id, "ok",
		       audit_details(r, NULL));
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "id", r->id);
	mxc_json_add_str(o, "state", state_names[r->state]);
	mxc_call_reply(call, o, NULL, 0);
	if (r->carry)
		r->carry(r);
	else
		mxc_broker_settle(r, 0, NULL, NULL, -1);
}

void mxc_broker_verb_deny(struct mxc_call *call)
{
	static const char *const keys[] = { "id", "reason", NULL };
	struct mxc_error err = { 0 };
	const char *reason = NULL;
	struct broker_request *r = mxc_broker_decision(call, keys);
	if (!r)
		return;
	if (mxc_json_optional(mxc_json_get_str(call->args, "reason", MXC_BROKER_MAX_NOTE, &reason,
					       &err)) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	mxc_broker_decided_by(r, call);
	mxc_broker_finish_request(r, BROKER_DENIED, reason, call);
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "id", r->id);
	mxc_json_add_str(o, "state", state_names[r->state]);
	mxc_call_reply(call, o, NULL, 0);
}

/* ---- the requester's side ---- */

static void wait_cancel(struct mxc_call *call)
{
	struct broker_request *r = call->data;
	if (r && r->waiter == call)
		r->waiter = NULL;
}

void mxc_broker_verb_wait(struct mxc_call *call)
{
	static const char *const keys[] = { "id", NULL };
	struct broker_request *r = mxc_broker_from_call(call, keys);
	if (!r)
		return;
	if (r->requester.uid != call->actor.uid || strcmp(r->scope, call->scope) != 0) {
		mxc_call_fail(call, -EPERM, "request %s is not yours to wait for", r->id);
		return;
	}
	if (r->waiter) {
		mxc_call_fail(call, -EBUSY, "request %s is already being waited for", r->id);
		return;
	}
	r->waiter = call;
	call->data = r;
	call->cancel = wait_cancel;
	answer_waiter(r); /* at once if it is already settled */
}

void mxc_broker_verb_list(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "all", NULL };
	struct mxc_error err = { 0 };
	const char *session = NULL;
	bool all = false;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_optional(mxc_json_get_str(call->args, "session", 16, &session, &err)) < 0 ||
	    mxc_json_optional(mxc_json_get_bool(call->args, "all", &all, &err)) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	if (all && !call->actor.admin) {
		mxc_call_fail(call, -EPERM, "'all' is for administrators");
		return;
	}
	struct json_object *a = json_object_new_array();
	struct broker_request *r;
	mxc_list_for_each(r, &call->srv->requests, link)
	{
		if (session && strcmp(session, r->session) != 0)
			continue;
		if (!all && r->owner_uid != call->actor.uid)
			continue;
		json_object_array_add(a, mxc_broker_json(r));
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "requests", a);
	mxc_call_reply(call, o, NULL, 0);
}

void mxc_broker_session_ended(struct mxc_server *srv, const char *session)
{
	struct broker_request *r, *tmp;
	mxc_list_for_each_safe(r, tmp, &srv->requests, link)
	{
		if (strcmp(r->session, session) != 0 || is_final(r->state))
			continue;
		/* What the agent handed over stays for its owner; nothing more goes in. */
		if (r->direction == MXC_POLICY_AGENT_TO_HUMAN && r->fd >= 0)
			continue;
		if (r->state == BROKER_APPROVED)
			continue; /* its carrying out fails on its own */
		mxc_broker_finish_request(r, BROKER_FAILED, "the session ended", NULL);
	}
}
