/*
 * Documents across the boundary, and an agent asking for a human.
 *
 * handoff.send (the agent, on its session's socket): an open file and its name. The daemon
 * checks the descriptor is a readable regular file, its name clean, its MIME type (from the
 * name, checked against the first bytes) and size against session.handoff, then copies it
 * into STATE_DIR/handoff/ (in a worker, hashing as it goes: what the owner receives is what
 * was hashed, whatever the agent does to its file later) and holds it as a request.
 * handoff.accept / handoff.done (the owner or an admin, main socket): the held copy is handed
 * to the CLI, which writes it as the owner (common/handoff.h) and reports back.
 * handoff.give (the owner or an admin, main socket): a file opened by the CLI as the human,
 * checked the same way, written into the agent's ~/Inbox by a worker running as the agent —
 * at once, or once approved when the rule says "ask".
 * handoff.attention (the agent): a request that only asks for a human.
 */
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "digest.h"
#include "handoff.h"
#include "json.h"
#include "session-private.h"
#include "session.h"
#include "worker.h"

#define COPY_CHUNK (1u << 20)

static void store_path(struct mxc_server *srv, const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/handoff/%s", srv->cfg.state_dir, id);
}

/*
 * Copies size bytes of src into dst from offset 0, hashing them. Fewer bytes than size means
 * the file changed under us.
 */
static int copy_hashing(int src, int dst, uint64_t size, char hex[static MXC_SHA256_HEX_LEN + 1],
			struct mxc_error *err)
{
	struct mxc_sha256 sha;
	uint8_t *buf = malloc(COPY_CHUNK);
	int r = buf ? mxc_sha256_init(&sha) : -ENOMEM;
	if (r < 0) {
		free(buf);
		return mxc_error_set(err, r, "out of memory");
	}
	for (uint64_t off = 0; off < size && r == 0;) {
		size_t want = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
		ssize_t n = pread(src, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = mxc_error_errno(err, -errno, "failed to read the document");
		else if (n == 0)
			r = mxc_error_set(err, -EIO, "the document shrank while it was read");
		else if (dst >= 0 && mxc_write_all(dst, buf, (size_t)n) < 0)
			r = mxc_error_errno(err, -errno, "failed to store the document");
		else {
			mxc_sha256_update(&sha, buf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	if (r == 0)
		mxc_sha256_final_hex(&sha, hex);
	mxc_sha256_finish(&sha);
	free(buf);
	return r;
}

/* ---- checking what is offered ---- */

struct offer {
	const char *name;
	const char *mime;
	uint64_t size;
	int rule;
};

/*
 * The checks every document goes through, either way: a clean name, a readable regular
 * file, a rule of session.handoff that allows its type in this direction and its size, and
 * content that is what its name says.
 */
static int check_offer(struct session *s, enum mxc_policy_direction dir, const char *name,
		       int fd, struct offer *ret, struct mxc_error *err)
{
	int r = mxc_handoff_name_check(name, err);
	if (r < 0)
		return r;
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	if (fd < 0 || fstat(fd, &st) < 0 || fl < 0)
		return mxc_error_set(err, -EBADF, "no document was passed");
	if (!S_ISREG(st.st_mode))
		return mxc_error_set(err, -EINVAL, "'%s' is not a regular file (%s)", name,
				     S_ISFIFO(st.st_mode)  ? "a FIFO"
				     : S_ISLNK(st.st_mode) ? "a symbolic link"
				     : S_ISDIR(st.st_mode) ? "a directory"
				     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
				     : S_ISSOCK(st.st_mode)			   ? "a socket"
										   : "not a file");
	if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
		return mxc_error_set(err, -EBADF, "'%s' was not opened for reading", name);
	const char *mime = mxc_handoff_mime_of_name(name);
	const char *way = mxc_policy_direction_to_string(dir);
	const struct mxc_policy_transfer_rule *rule =
		mxc_policy_transfer_match(s->policy->handoff, s->policy->n_handoff, dir, mime);
	if (!rule)
		return mxc_error_set(err, -EPERM, "no session.handoff rule allows %s %s", mime, way);
	size_t index = (size_t)(rule - s->policy->handoff);
	if (rule->action == MXC_POLICY_DENY)
		return mxc_error_set(err, -EPERM, "session.handoff[%zu] denies %s %s", index, mime, way);
	if ((uint64_t)st.st_size > rule->max_bytes)
		return mxc_error_set(err, -EFBIG,
				     "'%s' has %lld bytes: more than session.handoff[%zu].maxBytes "
				     "(%llu)",
				     name, (long long)st.st_size, index,
				     (unsigned long long)rule->max_bytes);
	uint8_t head[MXC_HANDOFF_HEAD_MAX];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return mxc_error_errno(err, -errno, "failed to read '%s'", name);
	if ((r = mxc_handoff_check_content(name, mime, head, (size_t)n, err)) < 0)
		return r;
	*ret = (struct offer){ name, mime, (uint64_t)st.st_size, (int)index };
	return 0;
}

static void audit_refusal(struct mxc_call *call, struct session *s, const char *action,
			  enum mxc_policy_direction dir, const char *name, const char *why)
{
	struct json_object *d = mxc_audit_reason(why);
	mxc_json_add_str(d, "direction", mxc_policy_direction_to_string(dir));
	mxc_call_audit(call, action, s->agent, s->id, name, "denied", d);
}

/* ---- holding a copy ---- */

struct keep {
	struct mxc_call *call;
	struct mxc_server *srv;
	char session[9];
	struct broker_request tmpl;
	int src;
	int dst;
	bool give; /* answer with the request (human to agent) rather than the document's facts */
};

static int keep_work(void *data, struct json_object **ret_result, struct mxc_error *err)
{
	struct keep *k = data;
	char hex[MXC_SHA256_HEX_LEN + 1];
	int r = copy_hashing(k->src, k->dst, k->tmpl.bytes, hex, err);
	if (r == 0 && fsync(k->dst) < 0)
		r = mxc_error_errno(err, -errno, "failed to store the document");
	if (r < 0)
		return r;
	*ret_result = json_object_new_object();
	mxc_json_add_str(*ret_result, "sha256", hex);
	return 0;
}

static void keep_done(int r, struct json_object *result, const struct mxc_error *err, void *data)
{
	struct keep *k = data;
	struct session *s = session_find(k->srv, k->session);
	const char *hex = NULL;
	char path[4096];
	store_path(k->srv, k->tmpl.id, path, sizeof(path));
	mxc_close(k->src);
	if (r == 0)
		mxc_json_get_str(result, "sha256", MXC_SHA256_HEX_LEN, &hex, NULL);
	if (r < 0 || !hex || !s) {
		unlink(path);
		mxc_close(k->dst);
		if (!s)
			mxc_call_fail(k->call, -ENOENT, "session '%s' ended", k->session);
		else
			mxc_call_fail(k->call, r < 0 ? r : -EIO, "%s",
				      r < 0 ? err->msg : "failed to store the document");
	} else {
		struct mxc_error e = { 0 };
		struct broker_request *req;
		snprintf(k->tmpl.sha256, sizeof(k->tmpl.sha256), "%s", hex);
		/* The held copy is read back through a descriptor of its own. */
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		mxc_close(k->dst);
		if (fd < 0) {
			unlink(path);
			mxc_call_fail(k->call, -errno, "failed to reopen the stored document");
		} else if (mxc_broker_hold(k->call, s, &k->tmpl, fd, &req, &e) < 0) {
			unlink(path);
			mxc_call_fail_error(k->call, &e);
		} else {
			struct json_object *o = mxc_broker_pending_reply(req);
			mxc_json_add_str(o, "name", req->name);
			mxc_json_add_str(o, "mime", req->mime);
			mxc_json_add_i64(o, "bytes", (int64_t)req->bytes);
			mxc_json_add_str(o, "sha256", req->sha256);
			mxc_call_reply(k->call, o, NULL, 0);
		}
	}
	json_object_put(result);
	free(k->tmpl.name);
	free(k->tmpl.note);
	free(k);
}

/* Copies the offered file into the store (in a worker) and then holds it as a request. */
static void keep(struct mxc_call *call, struct session *s, enum mxc_policy_direction dir,
		 const struct offer *of, const char *note, int src, broker_carry_fn carry)
{
	struct mxc_error err = { 0 };
	struct keep *k = calloc(1, sizeof(*k));
	char path[4096];
	if (!k) {
		close(src);
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	*k = (struct keep){ .call = call, .srv = call->srv, .src = src, .dst = -1 };
	snprintf(k->session, sizeof(k->session), "%s", s->id);
	k->tmpl = (struct broker_request){ .kind = BROKER_HANDOFF, .direction = dir,
					   .rule = of->rule, .bytes = of->size, .carry = carry };
	snprintf(k->tmpl.mime, sizeof(k->tmpl.mime), "%s", of->mime);
	k->tmpl.name = strdup(of->name);
	k->tmpl.note = note ? strdup(note) : NULL;
	int r = mxc_broker_new_id(k->tmpl.id, &err);
	if (r == 0 && (!k->tmpl.name || (note && !k->tmpl.note)))
		r = mxc_error_set(&err, -ENOMEM, "out of memory");
	if (r == 0) {
		store_path(call->srv, k->tmpl.id, path, sizeof(path));
		k->dst = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (k->dst < 0)
			r = mxc_error_errno(&err, -errno, "failed to create '%s'", path);
	}
	if (r == 0 && (r = mxc_worker_run(call->srv->loop, keep_work, keep_done, k, &err)) == 0)
		return;
	if (k->dst >= 0) {
		close(k->dst);
		unlink(path);
	}
	close(src);
	free(k->tmpl.name);
	free(k->tmpl.note);
	free(k);
	mxc_call_fail_error(call, &err);
}

/* ---- into the agent's ~/Inbox ---- */

struct give {
	struct mxc_call *call;  /* a direct give, or NULL */
	struct mxc_server *srv;
	char request[13];       /* an approved request, or "" */
	char session[9];
	char agent[65];
	uint32_t uid, gid;
	char *home;
	char name[MXC_HANDOFF_NAME_MAX + 1];
	char mime[128];
	char origin[MXC_HANDOFF_ORIGIN_MAX];
	uint64_t size;
	int fd;
};

/* Runs in a worker, which becomes the agent before it touches anything of the agent's. */
static int give_work(void *data, struct json_object **ret_result, struct mxc_error *err)
{
	struct give *g = data;
	char hex[MXC_SHA256_HEX_LEN + 1], final[MXC_HANDOFF_NAME_MAX + 1];
	int home = -1, inbox = -1, r;
	if (setgroups(1, &g->gid) < 0 || setresgid(g->gid, g->gid, g->gid) < 0 ||
	    setresuid(g->uid, g->uid, g->uid) < 0)
		return mxc_error_errno(err, -errno, "failed to become agent '%s'", g->agent);
	/* The hash first, so that the origin names it and the writer checks it. */
	if ((r = copy_hashing(g->fd, -1, g->size, hex, err)) < 0)
		return r;
	size_t len = strlen(g->origin);
	snprintf(g->origin + len - 1, sizeof(g->origin) - len + 1, ",\"sha256\":\"%s\"}", hex);
	home = open(g->home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (home < 0)
		return mxc_error_errno(err, -errno, "failed to open the home of agent '%s'", g->agent);
	r = mxc_handoff_open_dir(home, "Inbox", true, &inbox, err);
	if (r == 0)
		r = mxc_handoff_write(inbox, g->name, g->fd, g->size, hex, g->origin, final,
				      sizeof(final), err);
	close(home);
	mxc_close(inbox);
	if (r < 0)
		return mxc_error_prefix(err, "failed to put '%s' in ~/Inbox of agent '%s'", g->name,
					g->agent);
	*ret_result = json_object_new_object();
	mxc_json_add_str(*ret_result, "name", final);
	mxc_json_add_str(*ret_result, "sha256", hex);
	mxc_json_add_bool(*ret_result, "origin_recorded", r == 0);
	return 0;
}

static void give_free(struct give *g)
{
	mxc_close(g->fd);
	free(g->home);
	free(g);
}

static void give_done(int r, struct json_object *result, const struct mxc_error *err, void *data)
{
	struct give *g = data;
	const char *name = NULL, *hex = NULL;
	if (r == 0 && (mxc_json_get_str(result, "name", MXC_HANDOFF_NAME_MAX, &name, NULL) < 0 ||
		       mxc_json_get_str(result, "sha256", MXC_SHA256_HEX_LEN, &hex, NULL) < 0))
		r = -EIO;
	struct json_object *o = json_object_new_object();
	if (r == 0) {
		mxc_json_add_str(o, "name", name);
		mxc_json_add_str(o, "path", "~/Inbox");
		mxc_json_add_str(o, "mime", g->mime);
		mxc_json_add_i64(o, "bytes", (int64_t)g->size);
		mxc_json_add_str(o, "sha256", hex);
	}
	const char *msg = r < 0 ? (err && err->msg[0] ? err->msg : "failed to deliver") : NULL;
	if (g->request[0]) {
		struct broker_request *req = mxc_broker_find(g->srv, g->request);
		if (req)
			mxc_broker_settle(req, r, msg, o, -1);
		else
			json_object_put(o);
	} else {
		struct mxc_call *call = g->call;
		struct json_object *d = json_object_new_object();
		mxc_json_add_str(d, "direction", "human-to-agent");
		mxc_json_add_str(d, "mime", g->mime);
		mxc_json_add_i64(d, "bytes", (int64_t)g->size);
		if (hex)
			mxc_json_add_str(d, "sha256", hex);
		if (msg)
			mxc_json_add_str(d, "reason", msg);
		mxc_call_audit(call, "handoff.give", g->agent, g->session, name ? name : g->name,
			       r < 0 ? "failed" : "ok", d);
		if (r < 0) {
			json_object_put(o);
			mxc_call_fail(call, r, "%s", msg);
		} else {
			mxc_call_reply(call, o, NULL, 0);
		}
	}
	json_object_put(result);
	give_free(g);
}

/* Starts writing fd (taken) into the agent's ~/Inbox; the outcome goes to call or request. */
static int give_start(struct mxc_server *srv, struct session *s, struct mxc_call *call,
		      const char *request, const char *name, const char *mime, uint64_t size,
		      const char *from, int fd, struct mxc_error *err)
{
	struct give *g = calloc(1, sizeof(*g));
	if (!g) {
		close(fd);
		return mxc_error_set(err, -ENOMEM, "out of memory");
	}
	*g = (struct give){ .call = call, .srv = srv, .uid = s->uid, .gid = s->gid, .size = size,
			    .fd = fd, .home = strdup(s->home) };
	snprintf(g->request, sizeof(g->request), "%s", request ? request : "");
	snprintf(g->session, sizeof(g->session), "%s", s->id);
	snprintf(g->agent, sizeof(g->agent), "%s", s->agent);
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->mime, sizeof(g->mime), "%s", mime);
	/* Ends with '}' so that the worker can add the hash. */
	struct json_object *origin = json_object_new_object();
	mxc_json_add_str(origin, "from", from);
	mxc_json_add_str(origin, "session", s->id);
	mxc_json_add_i64(origin, "time", mxc_db_now_ms() / 1000);
	snprintf(g->origin, sizeof(g->origin) - MXC_SHA256_HEX_LEN - 16, "%s",
		 json_object_to_json_string_ext(origin, JSON_C_TO_STRING_PLAIN));
	json_object_put(origin);
	int r = g->home ? mxc_worker_run(srv->loop, give_work, give_done, g, err)
			: mxc_error_set(err, -ENOMEM, "out of memory");
	if (r < 0)
		give_free(g);
	return r;
}

/* Carries out an approved human-to-agent document: from the store into ~/Inbox. */
static void give_carry(struct broker_request *r)
{
	struct mxc_error err = { 0 };
	struct session *s = session_find(r->srv, r->session);
	int fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
	if (!s || fd < 0) {
		mxc_close(fd);
		mxc_broker_settle(r, s ? -errno : -ENOENT, s ? "failed to read the stored document"
							   : "the session ended",
				  NULL, -1);
		return;
	}
	if (give_start(r->srv, s, NULL, r->id, r->name, r->mime, r->bytes, r->requester.name, fd,
		       &err) < 0)
		mxc_broker_settle(r, err.code, err.msg, NULL, -1);
}

/* ---- the verbs ---- */

static int get_note(struct mxc_call *call, const char *key, bool required, const char **ret,
		    struct mxc_error *err)
{
	int r = mxc_json_get_str(call->args, key, MXC_BROKER_MAX_NOTE, ret, err);
	if (r == -ENOENT && !required) {
		*ret = NULL;
		return 0;
	}
	return r;
}

void mxc_handoff_verb_send(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "name", "note", "expires_in", NULL };
	struct mxc_error err = { 0 };
	const char *name = NULL, *note = NULL;
	if (!call->scope[0]) {
		mxc_call_fail(call, -EPERM,
			      "handoff.send is for an agent, from inside its session; a human gives "
			      "documents with handoff.give");
		return;
	}
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_str(call->args, "name", 4096, &name, &err) < 0 ||
	    get_note(call, "note", false, &note, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct session *s = session_from_call(call, true);
	if (!s)
		return;
	struct offer of;
	if (call->n_fds != 1) {
		mxc_call_fail(call, -EINVAL, "handoff.send needs the open file (one descriptor)");
		return;
	}
	if (check_offer(s, MXC_POLICY_AGENT_TO_HUMAN, name, call->fds[0], &of, &err) < 0) {
		audit_refusal(call, s, "handoff.send", MXC_POLICY_AGENT_TO_HUMAN, NULL, err.msg);
		mxc_call_fail_error(call, &err);
		return;
	}
	keep(call, s, MXC_POLICY_AGENT_TO_HUMAN, &of, note, mxc_call_take_fd(call, 0), NULL);
}

void mxc_handoff_verb_give(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "name", "expires_in", NULL };
	struct mxc_error err = { 0 };
	const char *name = NULL;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_str(call->args, "name", 4096, &name, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct session *s = session_from_call(call, true);
	if (!s)
		return;
	if (call->scope[0]) {
		mxc_call_fail(call, -EPERM, "handoff.give is for humans, on the main socket");
		return;
	}
	struct offer of;
	if (call->n_fds != 1) {
		mxc_call_fail(call, -EINVAL, "handoff.give needs the open file (one descriptor)");
		return;
	}
	if (check_offer(s, MXC_POLICY_HUMAN_TO_AGENT, name, call->fds[0], &of, &err) < 0) {
		audit_refusal(call, s, "handoff.give", MXC_POLICY_HUMAN_TO_AGENT, NULL, err.msg);
		mxc_call_fail_error(call, &err);
		return;
	}
	int fd = mxc_call_take_fd(call, 0);
	if (s->policy->handoff[of.rule].action == MXC_POLICY_ASK) {
		keep(call, s, MXC_POLICY_HUMAN_TO_AGENT, &of, NULL, fd, give_carry);
		return;
	}
	if (give_start(call->srv, s, call, NULL, of.name, of.mime, of.size, call->actor.name, fd,
		       &err) < 0)
		mxc_call_fail_error(call, &err);
}

void mxc_handoff_verb_accept(struct mxc_call *call)
{
	static const char *const keys[] = { "id", NULL };
	struct broker_request *r = mxc_broker_decision(call, keys);
	if (!r)
		return;
	if (r->kind != BROKER_HANDOFF || r->direction != MXC_POLICY_AGENT_TO_HUMAN || r->fd < 0) {
		mxc_call_fail(call, -EINVAL, "request %s is not a document waiting to be accepted",
			      r->id);
		return;
	}
	/* A descriptor of its own, read-only: the CLI writes it where its user wants it. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r->fd);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mxc_call_fail(call, -errno, "failed to open the stored document");
		return;
	}
	struct json_object *o = mxc_broker_json(r), *origin = json_object_new_object();
	mxc_json_add_str(origin, "agent", r->agent);
	mxc_json_add_str(origin, "session", r->session);
	mxc_json_add_str(origin, "sha256", r->sha256);
	mxc_json_add_i64(origin, "time", r->created_at / 1000);
	mxc_json_add_str(o, "origin", json_object_to_json_string_ext(origin, JSON_C_TO_STRING_PLAIN));
	json_object_put(origin);
	mxc_call_reply(call, o, &fd, 1);
}

void mxc_handoff_verb_done(struct mxc_call *call)
{
	static const char *const keys[] = { "id", "name", NULL };
	struct mxc_error err = { 0 };
	const char *name = NULL;
	struct broker_request *r = mxc_broker_decision(call, keys);
	if (!r)
		return;
	if (mxc_json_get_str(call->args, "name", MXC_HANDOFF_NAME_MAX, &name, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	if (r->kind != BROKER_HANDOFF || r->direction != MXC_POLICY_AGENT_TO_HUMAN) {
		mxc_call_fail(call, -EINVAL, "request %s is not a document waiting to be accepted",
			      r->id);
		return;
	}
	mxc_broker_decided_by(r, call);
	char reason[MXC_HANDOFF_NAME_MAX + 32];
	snprintf(reason, sizeof(reason), "accepted as '%s'", name);
	mxc_broker_finish_request(r, BROKER_DONE, reason, call);
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "id", r->id);
	mxc_json_add_str(o, "state", "done");
	mxc_call_reply(call, o, NULL, 0);
}

void mxc_handoff_verb_attention(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "reason", "expires_in", NULL };
	struct mxc_error err = { 0 };
	const char *reason = NULL;
	if (!call->scope[0]) {
		mxc_call_fail(call, -EPERM, "handoff.attention is for an agent, from inside its session");
		return;
	}
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    get_note(call, "reason", true, &reason, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct session *s = session_from_call(call, true);
	if (!s)
		return;
	struct broker_request tmpl = { .kind = BROKER_ATTENTION, .rule = -1, .note = (char *)reason };
	struct broker_request *r;
	if (mxc_broker_hold(call, s, &tmpl, -1, &r, &err) < 0)
		mxc_call_fail_error(call, &err);
	else
		mxc_call_reply(call, mxc_broker_pending_reply(r), NULL, 0);
}
