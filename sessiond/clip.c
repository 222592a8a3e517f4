/*
 * clipboard_get and clipboard_set: the session's own clipboard.
 *
 * Through the session's own socket, the agent reads and sets its own clipboard: nothing
 * crosses, it is only counted. Through the main socket, reading the agent's clipboard is
 * data crossing from the agent to a human, and setting it crosses the other way: both are
 * allowed only as the session's policy says (ui.clipboard for the direction, the first
 * session.clipboard rule for the MIME type, its maxBytes, its deny patterns for text leaving
 * the session, and its action: "ask" holds the data as a request for the owner, broker.h),
 * and each transfer is an audit row with its direction, MIME type, size and SHA-256 — never
 * its contents.
 * Data travels as sealed memfds in both directions.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <sys/resource.h>
#include <unistd.h>

#include "broker.h"
#include "digest.h"
#include "json.h"
#include "session-private.h"
#include "session.h"
#include "worker.h"

#define CLIPBOARD_MAX_BYTES (64u << 20)

static const char *const mimes[] = { "text/plain", "image/png", NULL };

static int get_mime(struct json_object *args, const char **ret, struct mxc_error *err)
{
	const char *mime = "text/plain";
	int r = mxc_json_get_str(args, "mime", 64, &mime, err);
	if (r < 0 && r != -ENOENT)
		return r;
	for (size_t i = 0; mimes[i]; i++) {
		if (strcmp(mime, mimes[i]) == 0) {
			*ret = mimes[i];
			return 0;
		}
	}
	return mxc_error_set(err, -EINVAL, "'mime': '%.64s' is not text/plain or image/png", mime);
}

/*
 * Whether this transfer may happen, and up to how many bytes. A caller on the session's
 * own socket is the agent itself: allowed (*ret_rule NULL). Anyone else moves data across
 * the boundary: the first session.clipboard rule for the MIME type decides; "ask" and deny
 * patterns are for the caller to apply once it has the data.
 */
static int check_crossing(struct mxc_call *call, struct session *s,
			  enum mxc_policy_direction dir, const char *mime,
			  const struct mxc_policy_transfer_rule **ret_rule, uint64_t *ret_max,
			  struct mxc_error *err)
{
	*ret_max = CLIPBOARD_MAX_BYTES;
	*ret_rule = NULL;
	if (call->scope[0])
		return 0;
	const char *way = mxc_policy_direction_to_string(dir);
	if (!(s->policy->ui.clipboard & dir))
		return mxc_error_set(err, -EPERM,
				     "the session's policy does not let the clipboard cross %s "
				     "(ui.clipboard is \"%s\")",
				     way, mxc_policy_clipboard_mode_to_string(s->policy->ui.clipboard));
	const struct mxc_policy_transfer_rule *rule =
		mxc_policy_transfer_match(s->policy->clipboard, s->policy->n_clipboard, dir, mime);
	if (!rule)
		return mxc_error_set(err, -EPERM, "no session.clipboard rule allows %s %s", mime, way);
	size_t index = (size_t)(rule - s->policy->clipboard);
	if (rule->action == MXC_POLICY_DENY)
		return mxc_error_set(err, -EPERM, "session.clipboard[%zu] denies %s %s", index, mime,
				     way);
	*ret_rule = rule;
	*ret_max = rule->max_bytes < CLIPBOARD_MAX_BYTES ? rule->max_bytes : CLIPBOARD_MAX_BYTES;
	return 0;
}

/* A sealed memfd of at most max bytes: its size and contents cannot change any more. */
static int check_sealed(int fd, uint64_t max, uint64_t *ret_size)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0)
		return -EBADF;
	int seals = fcntl(fd, F_GET_SEALS);
	int need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
	if (seals < 0 || (seals & need) != need)
		return -EBADF;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

/* SHA-256 of a sealed memfd's contents (mapped: its offset is shared with the sender). */
static void digest_fd(int fd, uint64_t size, char hex[static MXC_SHA256_HEX_LEN + 1])
{
	void *p = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (size && p == MAP_FAILED) {
		hex[0] = '\0';
		return;
	}
	mxc_sha256_hex(p, size, hex);
	if (p)
		munmap(p, size);
}

/* Writes the audit row of a crossing (calls on the session's own socket are counted only). */
static void audit_crossing(struct mxc_call *call, struct session *s, const char *action,
			   enum mxc_policy_direction dir, const char *mime, int fd,
			   uint64_t size, const char *refused)
{
	if (call->scope[0])
		return;
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "direction", mxc_policy_direction_to_string(dir));
	mxc_json_add_str(d, "mime", mime);
	if (refused) {
		mxc_json_add_str(d, "reason", refused);
	} else {
		char hex[MXC_SHA256_HEX_LEN + 1];
		digest_fd(fd, size, hex);
		mxc_json_add_i64(d, "bytes", (int64_t)size);
		mxc_json_add_str(d, "sha256", hex);
	}
	mxc_call_audit(call, action, s->agent, s->id, mime, refused ? "denied" : "ok", d);
}

struct clip {
	struct mxc_call *call;
	char session[9];
	const char *mime;
	int rule; /* index of the deciding session.clipboard rule, -1 on the session's socket */
	bool ask;
	uint64_t max;
	uint64_t size;
	int fd;
};

static void clip_free(struct clip *c)
{
	mxc_close(c->fd);
	free(c);
}

static struct clip *clip_new(struct mxc_call *call, struct session *s, const char *mime,
			     const struct mxc_policy_transfer_rule *rule, uint64_t max)
{
	struct clip *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = (struct clip){ .call = call, .mime = mime, .max = max, .fd = -1, .rule = -1 };
	snprintf(c->session, sizeof(c->session), "%s", s->id);
	if (rule) {
		c->rule = (int)(rule - s->policy->clipboard);
		c->ask = rule->action == MXC_POLICY_ASK;
	}
	return c;
}

/*
 * The beginning of a text, for an owner deciding on it: at most PREVIEW_BYTES of it, cut at
 * a character, with control characters (C0, DEL, C1) and invalid bytes written as \xNN.
 */
#define PREVIEW_BYTES 80
static char *preview_of(int fd, uint64_t size, const char *mime)
{
	if (strcmp(mime, "text/plain") != 0)
		return NULL;
	uint8_t buf[PREVIEW_BYTES];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return NULL;
	char *out = malloc((size_t)n * 4 + 4), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < (size_t)n;) {
		uint32_t cp;
		size_t len = mxc_utf8_decode(buf + i, (size_t)n - i, &cp);
		if (len == 0 && (size_t)n - i < 4 && (uint64_t)n < size)
			break; /* perhaps a character the preview's end cut */
		if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			o += sprintf(o, "\\x%02x", buf[i]);
			i++;
			continue;
		}
		memcpy(o, buf + i, len);
		o += len;
		i += len;
	}
	if ((uint64_t)n < size)
		o += sprintf(o, "...");
	*o = '\0';
	return out;
}

/* Carries out an approved agent-to-human transfer: the data goes to the requester's wait. */
static void pull_carry(struct broker_request *r)
{
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "mime", r->mime);
	mxc_json_add_i64(o, "bytes", (int64_t)r->bytes);
	mxc_json_add_str(o, "sha256", r->sha256);
	int fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		mxc_broker_settle(r, -errno, "failed to hand over the data", o, -1);
	else
		mxc_broker_settle(r, 0, NULL, o, fd);
}

static void push_done(struct session *s, void *data, int r, const char *msg,
		      struct json_object *result, int *fds, size_t n_fds)
{
	char *id = data;
	struct broker_request *req = mxc_broker_find(s->srv, id);
	free(id);
	if (!req)
		return;
	if (r == 0)
		session_count(s, ACT_CLIPBOARD_SET);
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "mime", req->mime);
	mxc_json_add_i64(o, "bytes", (int64_t)req->bytes);
	mxc_broker_settle(req, r, msg, o, -1);
}

/* Carries out an approved human-to-agent transfer: the session's clipboard is set. */
static void push_carry(struct broker_request *r)
{
	struct session *s = session_find(r->srv, r->session);
	char *id = strdup(r->id);
	int fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
	if (!s || s->state != RUNNING || !id || fd < 0) {
		free(id);
		mxc_close(fd);
		mxc_broker_settle(r, s ? -EIO : -ENOENT, s ? "failed to pass the data on" : "the session ended",
				  NULL, -1);
		return;
	}
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "mime", r->mime);
	session_helper_call(s, "clipboard_set", args, &fd, 1, push_done, id);
}

/* Holds an "ask" transfer as a request for the owner, answering the requester with its id. */
static void hold(struct clip *c, struct session *s, enum mxc_policy_direction dir,
		 broker_carry_fn carry)
{
	struct mxc_error err = { 0 };
	struct broker_request tmpl = { .kind = BROKER_CLIPBOARD, .direction = dir, .rule = c->rule,
				       .bytes = c->size, .carry = carry };
	snprintf(tmpl.mime, sizeof(tmpl.mime), "%s", c->mime);
	digest_fd(c->fd, c->size, tmpl.sha256);
	tmpl.preview = preview_of(c->fd, c->size, c->mime);
	struct broker_request *r;
	int fd = c->fd;
	c->fd = -1;
	int rc = mxc_broker_hold(c->call, s, &tmpl, fd, &r, &err);
	free(tmpl.preview);
	if (rc < 0)
		mxc_call_fail_error(c->call, &err);
	else
		mxc_call_reply(c->call, mxc_broker_pending_reply(r), NULL, 0);
}

/* The data read from the agent's clipboard passed every check: out it goes, or to the owner. */
static void get_deliver(struct clip *c, struct session *s)
{
	if (c->ask) {
		hold(c, s, MXC_POLICY_AGENT_TO_HUMAN, pull_carry);
		return;
	}
	audit_crossing(c->call, s, "clipboard.get", MXC_POLICY_AGENT_TO_HUMAN, c->mime, c->fd,
		       c->size, NULL);
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "mime", c->mime);
	mxc_json_add_i64(o, "bytes", (int64_t)c->size);
	int fd = c->fd;
	c->fd = -1;
	mxc_call_reply(c->call, o, &fd, 1);
}

/*
 * Runs in a worker: searches the text for the rule's deny patterns, under CPU and memory
 * limits, since both the text and (through the policy) the patterns may be hostile.
 */
#define SCAN_CPU_SECONDS 10
#define SCAN_MEMORY_BYTES (2ull << 30)
struct scan {
	struct clip *clip;
	char *const *patterns;
	struct mxc_server *srv;
};

static int scan_work(void *data, struct json_object **ret_result, struct mxc_error *err)
{
	struct scan *sc = data;
	struct rlimit cpu = { SCAN_CPU_SECONDS, SCAN_CPU_SECONDS };
	if (setrlimit(RLIMIT_CPU, &cpu) < 0)
		return mxc_error_errno(err, -errno, "failed to limit the pattern search");
#ifndef __SANITIZE_ADDRESS__
	/* (AddressSanitizer's shadow memory needs terabytes of address space: not there.) */
	struct rlimit mem = { SCAN_MEMORY_BYTES, SCAN_MEMORY_BYTES };
	if (setrlimit(RLIMIT_AS, &mem) < 0)
		return mxc_error_errno(err, -errno, "failed to limit the pattern search");
#endif
	uint64_t size = sc->clip->size;
	const char *text = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, sc->clip->fd, 0) : "";
	if (text == MAP_FAILED)
		return mxc_error_errno(err, -errno, "failed to map the text");
	for (size_t j = 0; sc->patterns[j]; j++) {
		regex_t re;
		int r = mxc_policy_compile_pattern(sc->patterns[j], &re, err);
		if (r < 0)
			return r;
		r = mxc_policy_pattern_search(&re, text, size);
		regfree(&re);
		if (r != 0) {
			*ret_result = json_object_new_object();
			mxc_json_add_i64(*ret_result, "match", (int64_t)j);
			return 0;
		}
	}
	return 0;
}

static void scan_done(int r, struct json_object *result, const struct mxc_error *err,
		      void *data)
{
	struct scan *sc = data;
	struct clip *c = sc->clip;
	struct session *s = session_find(sc->srv, c->session);
	int64_t match = -1;
	if (result)
		mxc_json_get_i64(result, "match", 0, MXC_POLICY_MAX_DENY_PATTERNS, &match, NULL);
	json_object_put(result);
	if (!s) {
		mxc_call_fail(c->call, -ENOENT, "session '%s' ended", c->session);
	} else if (r < 0 || match >= 0) {
		/* A search that failed counts as a match: the text does not leave. */
		char why[256];
		if (match >= 0)
			snprintf(why, sizeof(why), "session.clipboard[%d].denyPatterns[%lld] matches the text",
				 c->rule, (long long)match);
		else
			snprintf(why, sizeof(why),
				 "session.clipboard[%d].denyPatterns could not be checked (%s)", c->rule,
				 err->msg);
		audit_crossing(c->call, s, "clipboard.get", MXC_POLICY_AGENT_TO_HUMAN, c->mime, -1, 0,
			       why);
		mxc_call_fail(c->call, -EPERM, "%s", why);
	} else {
		get_deliver(c, s);
	}
	clip_free(c);
	free(sc);
}

static void get_done(struct session *s, void *data, int r, const char *msg,
		     struct json_object *result, int *fds, size_t n_fds)
{
	struct clip *c = data;
	if (r == -EFBIG) {
		/* Larger than the rule's maxBytes: a refusal by policy, recorded as one. */
		audit_crossing(c->call, s, "clipboard.get", MXC_POLICY_AGENT_TO_HUMAN, c->mime, -1,
			       0, msg);
		mxc_call_fail(c->call, r, "%s", msg);
	} else if (r < 0) {
		mxc_call_fail(c->call, r, "%s", msg);
	} else if (n_fds != 1 || check_sealed(fds[0], c->max, &c->size) < 0) {
		mxc_call_fail(c->call, -EBADMSG,
			      "session '%s': the display helper sent invalid clipboard data", s->id);
	} else {
		session_count(s, ACT_CLIPBOARD_GET);
		c->fd = fds[0];
		fds[0] = -1;
		const struct mxc_policy_transfer_rule *rule =
			c->rule >= 0 ? &s->policy->clipboard[c->rule] : NULL;
		if (rule && rule->deny_patterns[0] && strcmp(c->mime, "text/plain") == 0) {
			struct mxc_error err = { 0 };
			struct scan *sc = calloc(1, sizeof(*sc));
			if (sc) {
				*sc = (struct scan){ c, rule->deny_patterns, s->srv };
				if (mxc_worker_run(s->srv->loop, scan_work, scan_done, sc, &err) == 0)
					return;
				free(sc);
			}
			mxc_call_fail(c->call, -EIO, "failed to check the text against the policy: %s",
				      sc ? err.msg : "out of memory");
		} else {
			get_deliver(c, s);
		}
	}
	clip_free(c);
}

void mxc_session_verb_clipboard_get(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "mime", "expires_in", NULL };
	struct mxc_error err = { 0 };
	const char *mime;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    get_mime(call->args, &mime, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct session *s = session_from_call(call, true);
	if (!s)
		return;
	uint64_t max;
	const struct mxc_policy_transfer_rule *rule;
	if (check_crossing(call, s, MXC_POLICY_AGENT_TO_HUMAN, mime, &rule, &max, &err) < 0) {
		audit_crossing(call, s, "clipboard.get", MXC_POLICY_AGENT_TO_HUMAN, mime, -1, 0,
			       err.msg);
		mxc_call_fail_error(call, &err);
		return;
	}
	struct clip *c = clip_new(call, s, mime, rule, max);
	if (!c) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "mime", mime);
	mxc_json_add_i64(args, "max", (int64_t)max);
	session_helper_call(s, "clipboard_get", args, NULL, 0, get_done, c);
}

static void set_done(struct session *s, void *data, int r, const char *msg,
		     struct json_object *result, int *fds, size_t n_fds)
{
	struct clip *c = data;
	if (r < 0) {
		mxc_call_fail(c->call, r, "%s", msg);
	} else {
		session_count(s, ACT_CLIPBOARD_SET);
		struct json_object *o = json_object_new_object();
		mxc_json_add_str(o, "mime", c->mime);
		mxc_json_add_i64(o, "bytes", (int64_t)c->size);
		mxc_call_reply(c->call, o, NULL, 0);
	}
	clip_free(c);
}
/* The data of a clipboard_set: the "text" argument, or a sealed memfd passed along. */
static int set_data(struct mxc_call *call, const char *mime, uint64_t max, int *ret_fd,
		    uint64_t *ret_size, struct mxc_error *err)
{
	const char *text = NULL;
	int r = mxc_json_get_str(call->args, "text", CLIPBOARD_MAX_BYTES, &text, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (text && call->n_fds)
		return mxc_error_set(err, -EINVAL, "give the data as 'text' or as a descriptor");
	if (text) {
		if (strcmp(mime, "text/plain") != 0)
			return mxc_error_set(err, -EINVAL, "'text' is for text/plain");
		size_t len = strlen(text);
		if (len > max)
			return mxc_error_set(err, -EFBIG, "%zu bytes: more than the %llu allowed", len,
					     (unsigned long long)max);
		int fd = memfd_create("mxc-clipboard", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || mxc_write_all(fd, text, len) < 0 ||
		    fcntl(fd, F_ADD_SEALS,
			  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
			r = mxc_error_errno(err, -errno, "failed to hold the clipboard data");
			mxc_close(fd);
			return r;
		}
		*ret_fd = fd;
		*ret_size = len;
		return 0;
	}
	if (call->n_fds != 1)
		return mxc_error_set(err, -EINVAL, "'text', or one sealed memfd with the data, is needed");
	r = check_sealed(call->fds[0], max, ret_size);
	if (r == -EFBIG)
		return mxc_error_set(err, r, "more than the %llu bytes allowed",
				     (unsigned long long)max);
	if (r < 0)
		return mxc_error_set(err, r, "the data must be a sealed memfd (write, grow, shrink)");
	*ret_fd = mxc_call_take_fd(call, 0);
	return 0;
}

void mxc_session_verb_clipboard_set(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "mime", "text", "expires_in", NULL };
	struct mxc_error err = { 0 };
	const char *mime;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    get_mime(call->args, &mime, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct session *s = session_from_call(call, true);
	if (!s)
		return;
	uint64_t max, size = 0;
	int fd = -1;
	const struct mxc_policy_transfer_rule *rule;
	if (check_crossing(call, s, MXC_POLICY_HUMAN_TO_AGENT, mime, &rule, &max, &err) < 0) {
		audit_crossing(call, s, "clipboard.set", MXC_POLICY_HUMAN_TO_AGENT, mime, -1, 0,
			       err.msg);
		mxc_call_fail_error(call, &err);
		return;
	}
	if (set_data(call, mime, max, &fd, &size, &err) < 0) {
		if (err.code == -EFBIG)
			audit_crossing(call, s, "clipboard.set", MXC_POLICY_HUMAN_TO_AGENT, mime, -1,
				       0, err.msg);
		mxc_call_fail_error(call, &err);
		return;
	}
	struct clip *c = clip_new(call, s, mime, rule, max);
	if (!c) {
		close(fd);
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	c->size = size;
	c->fd = fd;
	if (c->ask) {
		hold(c, s, MXC_POLICY_HUMAN_TO_AGENT, push_carry);
		clip_free(c);
		return;
	}
	audit_crossing(call, s, "clipboard.set", MXC_POLICY_HUMAN_TO_AGENT, mime, fd, size, NULL);
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "mime", mime);
	c->fd = -1;
	session_helper_call(s, "clipboard_set", args, &fd, 1, set_done, c);
}
