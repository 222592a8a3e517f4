/*
 * The daemon's verbs: one sorted table, one handler per verb. Session verbs live in
 * session.c; agent and audit verbs are here.
 */
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "broker.h"
#include "doctor.h"
#include "fs.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "session.h"
#include "view.h"
#include "worker.h"

/* ---- agents ---- */

/*
 * Account changes run one at a time in a worker (the shadow tools are blocking and
 * serialise on their own lock anyway); later requests wait in this queue.
 */
struct account_op {
	struct mxc_list link;
	struct mxc_call *call;
	struct mxc_server *srv;
	bool remove;
	bool keep_home;
	char name[MXC_AGENT_NAME_MAX + 1];
	struct mxc_identity_config idcfg;
	uint32_t *taken; /* ids the database knows, for the worker's allocation */
	size_t n_taken;
	struct mxc_account acct; /* for removal */
	char *policy;            /* the agent's default policy, written once it exists */
};

static void account_next(struct mxc_server *srv);

static void op_free(struct account_op *op)
{
	free(op->policy);
	free(op->taken);
	mxc_account_finish(&op->acct);
	free(op);
}

static bool taken_cb(uint32_t id, void *userdata)
{
	const struct account_op *op = userdata;
	for (size_t i = 0; i < op->n_taken; i++)
		if (op->taken[i] == id)
			return true;
	return false;
}

/* Runs in the worker. */
static int account_work(void *data, struct json_object **ret_result, struct mxc_error *err)
{
	struct account_op *op = data;
	if (op->remove)
		return mxc_identity_local.remove(&op->idcfg, &op->acct, op->keep_home, err);
	uint32_t gid;
	int r = mxc_identity_ensure_group(MXC_AGENTS_GROUP, &gid, err);
	if (r < 0)
		return r;
	struct mxc_account acct = { 0 };
	r = mxc_identity_local.add(&op->idcfg, op->name, taken_cb, op, &acct, err);
	if (r < 0)
		return r;
	struct json_object *res = json_object_new_object();
	mxc_json_add_i64(res, "uid", acct.uid);
	mxc_json_add_i64(res, "gid", acct.gid);
	mxc_json_add_str(res, "home", acct.home);
	mxc_account_finish(&acct);
	*ret_result = res;
	return 0;
}

static bool account_exists(const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	/* A failing lookup counts as existing: the record is only dropped for certain. */
	return getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res != NULL;
}

int mxc_agent_policy_path(struct mxc_server *srv, const char *name, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%s/policies/%s.json", srv->cfg.config_dir, name) < len
		       ? 0
		       : -ENAMETOOLONG;
}

/* Writes an agent's default policy: root's, 0644, replaced whole or not at all. */
static int write_policy(struct mxc_server *srv, const char *name, const char *text,
			struct mxc_error *err)
{
	char dir[4096], path[4096], tmp[4200];
	snprintf(dir, sizeof(dir), "%s/policies", srv->cfg.config_dir);
	if (mxc_agent_policy_path(srv, name, path, sizeof(path)) < 0)
		return mxc_error_set(err, -ENAMETOOLONG, "the policy path is too long");
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	int r = mxc_mkdir_p(dir, 0755);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to create '%s'", dir);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to create '%s'", tmp);
	r = mxc_write_all(fd, text, strlen(text));
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return mxc_error_errno(err, r, "failed to write '%s'", path);
	}
	return 0;
}

/* Removes an agent's default policy, so that a new agent of that name does not inherit it. */
static void remove_policy(struct mxc_server *srv, const char *name)
{
	char path[4096];
	if (mxc_agent_policy_path(srv, name, path, sizeof(path)) == 0 && unlink(path) < 0 &&
	    errno != ENOENT)
		log_warning("failed to remove '%s': %s", path, strerror(errno));
}

/* Runs in the daemon when an account worker has finished. */
static void account_done(int r, struct json_object *result, const struct mxc_error *err,
			 void *data)
{
	struct account_op *op = data;
	struct mxc_server *srv = op->srv;
	struct mxc_call *call = op->call;
	const char *action = op->remove ? "agent.remove" : "agent.add";
	struct mxc_error e = *err;
	bool account_missing = false;
	srv->account_running = NULL;

	if (r == 0 && !op->remove) {
		int64_t uid = 0, gid = 0;
		const char *home = NULL;
		mxc_json_get_i64(result, "uid", 1, UINT32_MAX, &uid, NULL);
		mxc_json_get_i64(result, "gid", 1, UINT32_MAX, &gid, NULL);
		mxc_json_get_str(result, "home", 4096, &home, NULL);
		struct mxc_agent_row row = {
			.name = op->name,
			.uid = (uint32_t)uid,
			.gid = (uint32_t)gid,
			.home = home,
			.backend = mxc_identity_local.name,
			.created_at = mxc_db_now_ms(),
			.created_by = call->actor.uid,
		};
		r = home && uid && gid ? mxc_db_agent_insert(srv->db, &row, &e)
				       : mxc_error_set(&e, -EIO, "the worker's report is incomplete");
		if (r == 0 && op->policy && (r = write_policy(srv, op->name, op->policy, &e)) < 0)
			mxc_db_agent_delete(srv->db, op->name);
		if (r < 0) {
			/* Never leave an account the database does not know of. */
			struct account_op undo = { .idcfg = op->idcfg };
			undo.acct.name = op->name;
			undo.acct.uid = (uint32_t)uid;
			undo.acct.home = (char *)home;
			struct mxc_error ignored = { 0 };
			mxc_identity_local.remove(&undo.idcfg, &undo.acct, false, &ignored);
		}
	} else if (op->remove && (r == 0 || !account_exists(op->name))) {
		/*
		 * Once the account is gone (now, or earlier behind mxc's back) so goes its record:
		 * kept, it could be neither removed nor added again.
		 */
		mxc_db_agent_delete(srv->db, op->name);
		remove_policy(srv, op->name);
		if (r == -ENOENT) {
			r = 0;
			account_missing = true;
		}
	}

	if (r == 0) {
		struct json_object *d = result ? json_object_get(result) : NULL;
		if (op->remove) {
			d = json_object_new_object();
			mxc_json_add_bool(d, "keep_home", op->keep_home);
			if (account_missing)
				mxc_json_add_bool(d, "account_missing", true);
		}
		mxc_call_audit(call, action, op->name, NULL, NULL, "ok", d);
		log_info("%s: agent %s by %s", action, op->name, call->actor.name);
		struct json_object *reply = result ? json_object_get(result) : json_object_new_object();
		mxc_json_add_str(reply, "name", op->name);
		if (account_missing)
			mxc_json_add_bool(reply, "account_missing", true);
		mxc_call_reply(call, reply, NULL, 0);
	} else {
		struct json_object *d = json_object_new_object();
		mxc_json_add_str(d, "reason", e.msg);
		mxc_call_audit(call, action, op->name, NULL, NULL, "error", d);
		mxc_call_fail_error(call, &e);
	}
	json_object_put(result);
	op_free(op);
	account_next(srv);
}

static void account_next(struct mxc_server *srv)
{
	while (!srv->account_running && !mxc_list_empty(&srv->account_queue)) {
		struct account_op *op =
			mxc_container_of(srv->account_queue.next, struct account_op, link);
		mxc_list_remove(&op->link);
		struct mxc_error err = { 0 };
		/* A removal re-checks at its turn: a session may have started meanwhile. */
		if (op->remove && mxc_session_count_for_agent(op->srv, op->name) > 0) {
			mxc_call_fail(op->call, -EBUSY, "agent '%s' has a running session", op->name);
			op_free(op);
			continue;
		}
		srv->account_running = op;
		if (mxc_worker_run(srv->loop, account_work, account_done, op, &err) < 0) {
			srv->account_running = NULL;
			mxc_call_fail_error(op->call, &err);
			op_free(op);
		}
	}
}

bool mxc_agent_busy(struct mxc_server *srv, const char *name)
{
	if (srv->account_running && strcmp(srv->account_running->name, name) == 0)
		return true;
	struct account_op *op;
	mxc_list_for_each(op, &srv->account_queue, link) if (strcmp(op->name, name) == 0) return true;
	return false;
}

static struct account_op *account_op_new(struct mxc_call *call, const char *name)
{
	struct account_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->call = call;
	op->srv = call->srv;
	snprintf(op->name, sizeof(op->name), "%s", name);
	mxc_identity_config_defaults(&op->idcfg);
	op->idcfg.id_min = call->srv->cfg.id_min;
	op->idcfg.id_max = call->srv->cfg.id_max;
	op->idcfg.home_base = call->srv->home_base;
	return op;
}

static void agent_add(struct mxc_call *call)
{
	static const char *const keys[] = { "name", "policy", NULL };
	struct mxc_error err = { 0 };
	const char *name = NULL, *policy = NULL;
	if (!mxc_call_require_admin(call))
		return;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_str(call->args, "name", 64, &name, &err) < 0 ||
	    mxc_json_get_str(call->args, "policy", MXC_POLICY_MAX_BYTES, &policy, &err) < -ENOENT) {
		mxc_call_fail(call, -EINVAL, "%s", err.msg[0] ? err.msg : "'name': missing");
		return;
	}
	struct mxc_policy *parsed = NULL;
	/* Checked now: an account is not made for a policy that cannot be used. */
	if (policy && mxc_policy_parse(policy, strlen(policy), &parsed, &err) < 0) {
		mxc_error_prefix(&err, "invalid policy");
		mxc_call_audit(call, "agent.add", NULL, NULL, name, "error",
			       mxc_audit_reason(err.msg));
		mxc_call_fail_error(call, &err);
		return;
	}
	mxc_policy_free(parsed);
	if (!mxc_agent_name_valid(name)) {
		mxc_call_audit(call, "agent.add", NULL, NULL, name, "error",
			       mxc_audit_reason("invalid name"));
		mxc_call_fail(call, -EINVAL,
			      "invalid agent name '%.64s': it must match ^[a-z_][a-z0-9_-]{0,30}$",
			      name);
		return;
	}
	struct json_object *row;
	if (mxc_db_agent_get(call->srv->db, name, &row) == 0 || mxc_agent_busy(call->srv, name)) {
		json_object_put(row);
		mxc_call_audit(call, "agent.add", name, NULL, NULL, "error",
			       mxc_audit_reason("already exists"));
		mxc_call_fail(call, -EEXIST, "agent '%s' already exists", name);
		return;
	}
	struct account_op *op = account_op_new(call, name);
	struct json_object *agents = mxc_db_agent_list(call->srv->db);
	size_t n = json_object_array_length(agents);
	if (op) {
		op->taken = calloc(2 * n + 1, sizeof(uint32_t));
		op->policy = policy ? strdup(policy) : NULL;
	}
	if (!op || !op->taken || (policy && !op->policy)) {
		json_object_put(agents);
		if (op)
			op_free(op);
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(agents, i);
		int64_t v;
		if (mxc_json_get_i64(a, "uid", 0, UINT32_MAX, &v, NULL) == 0)
			op->taken[op->n_taken++] = (uint32_t)v;
		if (mxc_json_get_i64(a, "gid", 0, UINT32_MAX, &v, NULL) == 0)
			op->taken[op->n_taken++] = (uint32_t)v;
	}
	json_object_put(agents);
	mxc_list_insert_tail(&call->srv->account_queue, &op->link);
	account_next(call->srv);
}

static void agent_remove(struct mxc_call *call)
{
	static const char *const keys[] = { "name", "keep_home", NULL };
	struct mxc_error err = { 0 };
	const char *name = NULL, *home = NULL;
	bool keep_home = false;
	if (!mxc_call_require_admin(call))
		return;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_str(call->args, "name", 64, &name, &err) < 0 ||
	    mxc_json_get_bool(call->args, "keep_home", &keep_home, &err) < -ENOENT) {
		mxc_call_fail(call, -EINVAL, "%s", err.msg[0] ? err.msg : "'name': missing");
		return;
	}
	struct json_object *row = NULL;
	if (mxc_db_agent_get(call->srv->db, name, &row) < 0) {
		mxc_call_fail(call, -ENOENT, "agent '%.64s' does not exist", name);
		return;
	}
	if (mxc_session_count_for_agent(call->srv, name) > 0 || mxc_agent_busy(call->srv, name)) {
		json_object_put(row);
		mxc_call_audit(call, "agent.remove", name, NULL, NULL, "denied",
			       mxc_audit_reason("the agent has a running session"));
		mxc_call_fail(call, -EBUSY,
			      "agent '%s' has a running session: stop it first (mxc session list "
			      "--agent %s)",
			      name, name);
		return;
	}
	struct account_op *op = account_op_new(call, name);
	int64_t uid = 0;
	mxc_json_get_i64(row, "uid", 1, UINT32_MAX, &uid, NULL);
	mxc_json_get_str(row, "home", 4096, &home, NULL);
	if (op) {
		op->remove = true;
		op->keep_home = keep_home;
		op->acct.uid = (uint32_t)uid;
		op->acct.name = strdup(name);
		op->acct.home = home ? strdup(home) : NULL;
	}
	json_object_put(row);
	if (!op || !op->acct.name) {
		if (op)
			op_free(op);
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	mxc_list_insert_tail(&call->srv->account_queue, &op->link);
	account_next(call->srv);
}

static void agent_list(struct mxc_call *call)
{
	struct json_object *r = json_object_new_object();
	struct json_object *agents = mxc_db_agent_list(call->srv->db);
	size_t n = json_object_array_length(agents);
	for (size_t i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(agents, i);
		const char *name = NULL;
		mxc_json_get_str(a, "name", 64, &name, NULL);
		mxc_json_add_i64(a, "sessions",
				 name ? mxc_session_count_for_agent(call->srv, name) : 0);
	}
	json_object_object_add(r, "agents", agents);
	mxc_call_reply(call, r, NULL, 0);
}

static void agent_show(struct mxc_call *call)
{
	static const char *const keys[] = { "name", NULL };
	struct mxc_error err = { 0 };
	const char *name = NULL;
	struct json_object *row;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_str(call->args, "name", 64, &name, &err) < 0) {
		mxc_call_fail(call, -EINVAL, "%s", err.msg[0] ? err.msg : "'name': missing");
		return;
	}
	if (mxc_db_agent_get(call->srv->db, name, &row) < 0) {
		mxc_call_fail(call, -ENOENT, "agent '%.64s' does not exist", name);
		return;
	}
	mxc_json_add_i64(row, "sessions", mxc_session_count_for_agent(call->srv, name));
	char path[4096];
	struct stat st;
	if (mxc_agent_policy_path(call->srv, name, path, sizeof(path)) == 0 && lstat(path, &st) == 0)
		mxc_json_add_str(row, "policy", path);
	mxc_call_reply(call, row, NULL, 0);
}

/* ---- audit ---- */

static void audit_list(struct mxc_call *call)
{
	static const char *const keys[] = { "agent", "session", "limit", NULL };
	struct mxc_error err = { 0 };
	struct mxc_audit_filter f = { .actor_uid = -1, .limit = 1000 };
	uint64_t limit = 0;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_str(call->args, "agent", 64, &f.agent, &err) < -ENOENT ||
	    mxc_json_get_str(call->args, "session", 16, &f.session, &err) < -ENOENT ||
	    mxc_json_get_u64(call->args, "limit", 1000000, &limit, &err) < -ENOENT) {
		mxc_call_fail_error(call, &err);
		return;
	}
	if (limit)
		f.limit = limit;
	/* Others see what they did themselves; admins see everything. */
	if (!call->actor.admin)
		f.actor_uid = call->actor.uid;
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "rows", mxc_audit_list(call->srv->db, &f));
	mxc_call_reply(call, r, NULL, 0);
}

static void audit_verify(struct mxc_call *call)
{
	if (!mxc_call_require_admin(call))
		return;
	struct mxc_audit_report rep;
	int r = mxc_audit_verify(call->srv->db, &rep);
	struct json_object *res = json_object_new_object();
	mxc_json_add_bool(res, "intact", r == 0);
	mxc_json_add_i64(res, "rows", rep.rows);
	if (r < 0) {
		mxc_json_add_i64(res, "first_bad", rep.first_bad);
		mxc_json_add_str(res, "reason", rep.reason);
	}
	mxc_call_reply(call, res, NULL, 0);
}

/* ---- the daemon ---- */

static void version(struct mxc_call *call)
{
	struct json_object *r = json_object_new_object();
	mxc_json_add_str(r, "version", MXC_VERSION);
	mxc_json_add_i64(r, "protocol", MXC_PROTO_VERSION);
	mxc_json_add_str(r, "user", call->actor.name);
	mxc_json_add_bool(r, "admin", call->actor.admin);
	mxc_call_reply(call, r, NULL, 0);
}

/* The host report of doctor.h, made in a worker: its probes fork and may take a while. */
static int doctor_work(void *data, struct json_object **ret_result, struct mxc_error *err)
{
	const struct mxc_server *srv = data;
	*ret_result = mxc_doctor_report(srv->cgroups);
	return *ret_result ? 0 : mxc_error_set(err, -ENOMEM, "out of memory");
}

static void doctor_done(int r, struct json_object *result, const struct mxc_error *err,
			void *data)
{
	struct mxc_call *call = data;
	if (r < 0)
		mxc_call_fail_error(call, err);
	else
		mxc_call_reply(call, result, NULL, 0);
}

static void doctor(struct mxc_call *call)
{
	struct mxc_error err = { 0 };
	if (!mxc_call_require_admin(call))
		return;
	if (mxc_json_check_keys(call->args, (const char *const[]){ NULL }, &err) < 0 ||
	    mxc_worker_run(call->srv->loop, doctor_work, doctor_done, call, &err) < 0)
		mxc_call_fail_error(call, &err);
}

static const struct mxc_verb verbs[] = {
	/* sorted by name: looked up by binary search */
	{ "agent.add", agent_add, false },
	{ "agent.list", agent_list, false },
	{ "agent.remove", agent_remove, false },
	{ "agent.show", agent_show, false },
	{ "audit.list", audit_list, false },
	{ "audit.verify", audit_verify, false },
	{ "click", mxc_computer_click, true },
	{ "clipboard_get", mxc_session_verb_clipboard_get, true },
	{ "clipboard_set", mxc_session_verb_clipboard_set, true },
	{ "cursor_position", mxc_computer_cursor_position, true },
	{ "doctor", doctor, false },
	{ "drag", mxc_computer_drag, true },
	{ "exec", mxc_session_verb_exec, false },
	{ "handoff.accept", mxc_handoff_verb_accept, false },
	{ "handoff.attention", mxc_handoff_verb_attention, true },
	{ "handoff.done", mxc_handoff_verb_done, false },
	{ "handoff.give", mxc_handoff_verb_give, false },
	{ "handoff.send", mxc_handoff_verb_send, true },
	{ "hold_key", mxc_computer_hold_key, true },
	{ "key", mxc_computer_key, true },
	{ "key_down", mxc_computer_key_down, true },
	{ "key_up", mxc_computer_key_up, true },
	{ "launch", mxc_session_verb_launch, true },
	{ "mouse_down", mxc_computer_mouse_down, true },
	{ "mouse_up", mxc_computer_mouse_up, true },
	{ "move", mxc_computer_move, true },
	{ "request.approve", mxc_broker_verb_approve, false },
	{ "request.deny", mxc_broker_verb_deny, false },
	{ "request.list", mxc_broker_verb_list, false },
	{ "request.wait", mxc_broker_verb_wait, true },
	{ "screen_size", mxc_computer_screen_size, true },
	{ "screenshot", mxc_computer_screenshot, true },
	{ "scroll", mxc_computer_scroll, true },
	{ "session.list", mxc_session_verb_list, false },
	{ "session.show", mxc_session_verb_show, false },
	{ "session.start", mxc_session_verb_start, false },
	{ "session.stop", mxc_session_verb_stop, false },
	{ "type", mxc_computer_type, true },
	{ "version", version, true },
	{ "view.control", mxc_view_verb_control, false },
	{ "view.frame", mxc_view_verb_frame, false },
	{ "view.key", mxc_view_verb_key, false },
	{ "view.pointer", mxc_view_verb_pointer, false },
	{ "view.start", mxc_view_verb_start, false },
	{ "view.stop", mxc_view_verb_stop, false },
	{ "wait", mxc_computer_wait, true },
};

static int verb_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct mxc_verb *)elem)->name);
}

const struct mxc_verb *mxc_verb_lookup(const char *name)
{
	return bsearch(name, verbs, MXC_ARRAY_SIZE(verbs), sizeof(verbs[0]), verb_cmp);
}
