/*
 * clipboard_get and clipboard_set: the session's own clipboard.
 *
 * Through the session's own socket, the agent reads and sets its own clipboard: nothing
 * crosses, it is only counted. Through the main socket, reading the agent's clipboard is
 * data crossing from the agent to a human, and setting it crosses the other way: both are
 * allowed only as the session's policy says (ui.clipboard for the direction, the first
 * session.clipboard rule for the MIME type, its maxBytes and its action), and each transfer
 * is an audit row with its direction, MIME type, size and SHA-256 — never its contents.
 * Data travels as sealed memfds in both directions.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "digest.h"
#include "json.h"
#include "session-private.h"
#include "session.h"

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
 * own socket is the agent itself: allowed. Anyone else moves data across the boundary.
 */
static int check_crossing(struct mxc_call *call, struct session *s,
			  enum mxc_policy_direction dir, const char *mime, uint64_t *ret_max,
			  struct mxc_error *err)
{
	*ret_max = CLIPBOARD_MAX_BYTES;
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
	if (rule->action == MXC_POLICY_ASK)
		return mxc_error_set(err, -EPERM,
				     "session.clipboard[%zu] asks the owner to approve %s %s, which "
				     "this verb cannot do",
				     index, mime, way);
	if (rule->deny_patterns[0])
		return mxc_error_set(err, -EPERM,
				     "session.clipboard[%zu] has deny patterns, which this verb "
				     "does not check",
				     index);
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
	const char *mime;
	uint64_t max;
	uint64_t size;
};

static void get_done(struct session *s, void *data, int r, const char *msg,
		     struct json_object *result, int *fds, size_t n_fds)
{
	struct clip *c = data;
	uint64_t size = 0;
	if (r == -EFBIG) {
		/* Larger than the rule's maxBytes: a refusal by policy, recorded as one. */
		audit_crossing(c->call, s, "clipboard.get", MXC_POLICY_AGENT_TO_HUMAN, c->mime, -1,
			       0, msg);
		mxc_call_fail(c->call, r, "%s", msg);
	} else if (r < 0) {
		mxc_call_fail(c->call, r, "%s", msg);
	} else if (n_fds != 1 || check_sealed(fds[0], c->max, &size) < 0) {
		mxc_call_fail(c->call, -EBADMSG,
			      "session '%s': the display helper sent invalid clipboard data", s->id);
	} else {
		session_count(s, ACT_CLIPBOARD_GET);
		audit_crossing(c->call, s, "clipboard.get", MXC_POLICY_AGENT_TO_HUMAN, c->mime,
			       fds[0], size, NULL);
		struct json_object *o = json_object_new_object();
		mxc_json_add_str(o, "mime", c->mime);
		mxc_json_add_i64(o, "bytes", (int64_t)size);
		int fd = fds[0];
		fds[0] = -1;
		mxc_call_reply(c->call, o, &fd, 1);
	}
	free(c);
}

void mxc_session_verb_clipboard_get(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "mime", NULL };
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
	if (check_crossing(call, s, MXC_POLICY_AGENT_TO_HUMAN, mime, &max, &err) < 0) {
		audit_crossing(call, s, "clipboard.get", MXC_POLICY_AGENT_TO_HUMAN, mime, -1, 0,
			       err.msg);
		mxc_call_fail_error(call, &err);
		return;
	}
	struct clip *c = calloc(1, sizeof(*c));
	if (!c) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	*c = (struct clip){ .call = call, .mime = mime, .max = max };
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
	free(c);
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
	static const char *const keys[] = { "session", "mime", "text", NULL };
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
	if (check_crossing(call, s, MXC_POLICY_HUMAN_TO_AGENT, mime, &max, &err) < 0) {
		audit_crossing(call, s, "clipboard.set", MXC_POLICY_HUMAN_TO_AGENT, mime, -1, 0,
			       err.msg);
		mxc_call_fail_error(call, &err);
		return;
	}
	if (set_data(call, mime, max, &fd, &size, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	audit_crossing(call, s, "clipboard.set", MXC_POLICY_HUMAN_TO_AGENT, mime, fd, size, NULL);
	struct clip *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	*c = (struct clip){ .call = call, .mime = mime, .max = max, .size = size };
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "mime", mime);
	session_helper_call(s, "clipboard_set", args, &fd, 1, set_done, c);
}
