/*
 * Documents handed between an agent and a human, end to end: the agent sends a file from
 * inside its session (the CLI installed in its home, or the probe speaking the protocol with
 * hostile descriptors and names), the daemon holds a copy as a request, the owner lists and
 * accepts it into a directory of their own; the owner gives a file into the agent's ~/Inbox,
 * at once or once approved. Checked the way a user would: file contents, modes, owners, the
 * origin attribute, the requests the owner sees and the audit rows, which never hold the
 * contents.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "digest.h"
#include "fs.h"
#include "handoff.h"
#include "harness.h"
#include "json.h"
#include "proto.h"

/* Plain users of the test's own (not admins): the owner of a session, and a stranger. */
#define ALICE 4101
#define BOB   4102

static struct mxc_harness h;
/* The agent's own mxc and the probe, installed in its home (paths inside the session). */
static char agent_cli[400], agent_probe[400];

static void setup(void)
{
	/* A CLI that exits before reading all of its standard input must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	mxc_harness_start(&h);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(handoff, .init = setup, .fini = teardown, .timeout = 300);

/* Documents out (plain text and PNG images, 1 KiB at most); plain text in, at once. */
static const char rules[] =
    "{\"version\":\"mxc/1\",\"session\":{\"handoff\":["
    " {\"direction\":\"agent-to-human\",\"mime\":[\"image/png\",\"text/plain\"],"
    "  \"maxBytes\":1024,\"action\":\"allow\"},"
    " {\"direction\":\"human-to-agent\",\"mime\":[\"text/plain\"],\"action\":\"allow\"}]}}";

/* Plain text in only once the owner approves. */
static const char rules_ask[] =
    "{\"version\":\"mxc/1\",\"session\":{\"handoff\":["
    " {\"direction\":\"human-to-agent\",\"mime\":[\"text/plain\"],\"action\":\"ask\"}]}}";

/* Documents out only: no rule for anything coming in. */
static const char rules_out_only[] =
    "{\"version\":\"mxc/1\",\"session\":{\"handoff\":["
    " {\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\"],\"action\":\"allow\"}]}}";

/* Documents out; plain text in explicitly denied by the second rule. */
static const char rules_deny_in[] =
    "{\"version\":\"mxc/1\",\"session\":{\"handoff\":["
    " {\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\"],\"action\":\"allow\"},"
    " {\"direction\":\"human-to-agent\",\"mime\":[\"text/plain\"],\"action\":\"deny\"}]}}";

/* The agent's policy when alice, not an admin, starts its sessions. */
static const char rules_alice[] =
    "{\"version\":\"mxc/1\",\"session\":{\"users\":[\"alice\"],\"handoff\":["
    " {\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\"],\"action\":\"allow\"}]}}";

/* ---- files ---- */

static void write_file(const char *path, const char *text, mode_t mode, uid_t owner)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0, "cannot create %s: %s", path, strerror(errno));
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	cr_assert_eq(fchmod(fd, mode), 0);
	cr_assert_eq(fchown(fd, owner, owner), 0);
	close(fd);
}

/* A file's whole content, or NULL if it cannot be read (caller frees). */
static char *read_text(const char *path)
{
	char *text = NULL;
	if (mxc_read_file(path, 1 << 20, &text, NULL) < 0)
		return NULL;
	return text;
}

/* A directory of the scratch area owned by uid, mode 0700; its path in buf. */
static void scratch_dir(const char *name, uid_t owner, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", h.env.scratch, name);
	cr_assert_eq(mkdir(buf, 0700), 0, "mkdir %s: %s", buf, strerror(errno));
	cr_assert_eq(chown(buf, owner, owner), 0);
}

/* Entries of a directory other than "." and ".."; -1 if it cannot be read. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void sha256_of(const char *text, char hex[static MXC_SHA256_HEX_LEN + 1])
{
	cr_assert_eq(mxc_sha256_hex(text, strlen(text), hex), 0);
}

/* ---- agents and sessions ---- */

/* A path in agent's home, as seen both here and inside its sessions. */
static void home_path(const char *agent, const char *name, char *buf, size_t len)
{
	const struct passwd *pw = getpwnam(agent);
	cr_assert_not_null(pw, "agent %s has no account", agent);
	snprintf(buf, len, "%s/%s", pw->pw_dir, name);
}

/* Adds agent and starts a session for it, as root, under the policy text. */
static char *start(const char *agent, const char *policy_text)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s.json", h.env.scratch, agent);
	write_file(path, policy_text, 0644, 0);
	free(mxc_ok(&h, "agent", "add", agent, NULL));
	return mxc_ok(&h, "session", "start", agent, "--policy", path, NULL);
}

/*
 * Adds the users alice and bob, then agent with rules_alice as its own policy, and has alice
 * start its session: she is its owner, not an admin.
 */
static char *start_as_alice(const char *agent)
{
	char path[300];
	mxc_testenv_add_user("alice", ALICE);
	mxc_testenv_add_user("bob", BOB);
	free(mxc_ok(&h, "agent", "add", agent, NULL));
	snprintf(path, sizeof(path), "%s/policies/%s.json", h.conf, agent);
	write_file(path, rules_alice, 0644, 0);
	struct mxc_result r = mxc_run(&h, ALICE, NULL, "session", "start", agent, NULL);
	cr_assert_eq(r.status, 0, "alice cannot start a session: %s", r.err);
	size_t len = strlen(r.out);
	while (len > 0 && r.out[len - 1] == '\n')
		r.out[--len] = '\0';
	free(r.err);
	return r.out;
}

/* Installs the built mxc and probe-handoff into agent's home. */
static void install_tools(const char *agent)
{
	char src[400];
	snprintf(src, sizeof(src), "%s/cli/mxc", h.bin);
	mxc_harness_install(agent, src, "mxc", agent_cli, sizeof(agent_cli));
	snprintf(src, sizeof(src), "%s/tests/integration/probe-handoff", h.bin);
	mxc_harness_install(agent, src, "probe-handoff", agent_probe, sizeof(agent_probe));
}

/* Runs a command inside session id, as its agent. */
#define inside(id, ...) mxc_run(&h, 0, NULL, "exec", id, "--", __VA_ARGS__, NULL)
/* Runs the agent's own mxc inside session id, on the session's socket. */
#define agent_mxc(id, ...) inside(id, agent_cli, __VA_ARGS__)
/* Runs the probe inside session id. */
#define probe(id, ...) inside(id, agent_probe, __VA_ARGS__)

/* The agent writes text into path (in its home), from inside session id. */
static void agent_writes(const char *id, const char *path, const char *text)
{
	struct mxc_result r =
	    inside(id, "sh", "-c", "printf '%s' \"$1\" > \"$2\"", "sh", text, path);
	cr_assert_eq(r.status, 0, "the agent cannot write %s: %s", path, r.err);
	mxc_result_free(&r);
}

/* Parses a command's JSON output, asserting it succeeded. */
static struct json_object *json_ok(struct mxc_result *r, const char *what)
{
	cr_assert_eq(r->status, 0, "%s failed (%d): %s%s", what, r->status, r->out, r->err);
	struct json_object *o = mxc_test_json(r->out);
	mxc_result_free(r);
	return o;
}

/* The agent sends path with its installed mxc; returns the request's id (caller frees). */
static char *agent_send(const char *id, const char *path, const char *note)
{
	struct mxc_result r = note
				  ? agent_mxc(id, "handoff", "send", path, "--note", note, "--json")
				  : agent_mxc(id, "handoff", "send", path, "--json");
	struct json_object *o = json_ok(&r, "handoff send");
	const char *rid = mxc_test_str(o, "request");
	cr_assert_not_null(rid, "no request id: %s", mxc_json_str(o, NULL));
	cr_assert_str_eq(mxc_test_str(o, "state"), "pending");
	char *copy = strdup(rid);
	json_object_put(o);
	return copy;
}

/* The agent asks for a human; returns the request's id (caller frees). */
static char *agent_attention(const char *id, const char *reason)
{
	struct mxc_result r = agent_mxc(id, "handoff", "attention", "--reason", reason, "--json");
	struct json_object *o = json_ok(&r, "handoff attention");
	cr_assert_not_null(mxc_test_str(o, "request"), "no request id: %s", mxc_json_str(o, NULL));
	char *copy = strdup(mxc_test_str(o, "request"));
	json_object_put(o);
	return copy;
}

/* ---- requests and the audit log ---- */

/* `mxc requests --json` as uid (with --all for an admin's view of everything). */
static struct json_object *requests(uid_t uid, bool all)
{
	struct mxc_result r = all ? mxc_run(&h, uid, NULL, "requests", "--all", "--json", NULL)
				  : mxc_run(&h, uid, NULL, "requests", "--json", NULL);
	struct json_object *a = json_ok(&r, "mxc requests");
	cr_assert(json_object_is_type(a, json_type_array), "%s", mxc_json_str(a, NULL));
	return a;
}

static struct json_object *find_request(struct json_object *a, const char *rid)
{
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *r = json_object_array_get_idx(a, i);
		if (mxc_streq(mxc_test_str(r, "id"), rid))
			return r;
	}
	return NULL;
}

/* The state of request rid as uid sees it: "gone" once it is no longer listed. */
static char *request_state(uid_t uid, const char *rid)
{
	struct json_object *a = requests(uid, false), *r = find_request(a, rid);
	char *state = strdup(r ? mxc_test_str(r, "state") : "gone");
	json_object_put(a);
	return state;
}

static struct json_object *audit_rows(const char *id)
{
	char *out = mxc_ok(&h, "audit", "--session", id, "--json", NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	return rows;
}

/* The last audit row of action about object (a request id), or NULL. */
static struct json_object *audit_row(struct json_object *rows, const char *action,
				     const char *object)
{
	struct json_object *found = NULL;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		if (mxc_streq(mxc_test_str(r, "action"), action) &&
		    (!object || mxc_streq(mxc_test_str(r, "object"), object)))
			found = r;
	}
	return found;
}

static size_t audit_count(struct json_object *rows, const char *action, const char *result)
{
	size_t n = 0;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		n += mxc_streq(mxc_test_str(r, "action"), action) &&
		     mxc_streq(mxc_test_str(r, "result"), result);
	}
	return n;
}

static struct json_object *details(struct json_object *row)
{
	struct json_object *d = NULL;
	cr_assert_not_null(row);
	json_object_object_get_ex(row, "details", &d);
	cr_assert_not_null(d, "a row without details: %s", mxc_json_str(row, NULL));
	return d;
}

/* ---- checks ---- */

/* Asserts r failed with status 1 and its stderr says part; frees r. */
static void expect_failure(int line, struct mxc_result r, const char *part)
{
	cr_assert_eq(r.status, 1, "line %d: exit status %d, not 1 (stdout '%s', stderr '%s')", line,
		     r.status, r.out, r.err);
	cr_assert_not_null(strstr(r.err, part), "line %d: the error does not say '%s': %s", line,
			   part, r.err);
	mxc_result_free(&r);
}
#define expect_fails(part, r) expect_failure(__LINE__, r, part)

/* Asserts path holds exactly text, has mode 0600 and belongs to uid. */
static void expect_document(const char *path, const char *text, uid_t uid)
{
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0, "%s is missing: %s", path, strerror(errno));
	cr_assert(S_ISREG(st.st_mode), "%s is not a regular file", path);
	cr_assert_eq(st.st_mode & 07777, 0600, "%s has mode %o", path, st.st_mode & 07777);
	cr_assert_eq(st.st_uid, uid, "%s belongs to uid %u, not %u", path, st.st_uid, uid);
	char *got = read_text(path);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, text, "%s holds '%s'", path, got);
	free(got);
}

/* Asserts nothing is held: no request waits anywhere, no copy is in the daemon's store. */
static void expect_nothing_held(void)
{
	struct json_object *a = requests(0, true);
	cr_assert_eq(json_object_array_length(a), 0, "requests are held: %s",
		     mxc_json_str(a, NULL));
	json_object_put(a);
	char store[300];
	snprintf(store, sizeof(store), "%s/handoff", h.state);
	cr_assert_eq(count_entries(store), 0, "the daemon's store %s is not empty", store);
}

/* ---- 1-3. from the agent to its owner ---- */

Test(handoff, an_agents_document_reaches_its_owner_exactly_and_is_audited_without_content)
{
	static const char text[] = "weekly figures: 17 widgets, marker-5c1e9b0d\n";
	char hex[MXC_SHA256_HEX_LEN + 1], report[400], dir[300], file[400];
	char *id = start_as_alice("coder");
	install_tools("coder");
	home_path("coder", "report.txt", report, sizeof(report));
	agent_writes(id, report, text);
	sha256_of(text, hex);
	char *rid = agent_send(id, report, "weekly");

	/* The owner sees what waits, with its facts. */
	struct mxc_result r = mxc_run(&h, ALICE, NULL, "handoff", "list", "--json", NULL);
	struct json_object *list = json_ok(&r, "handoff list");
	cr_assert_eq(json_object_array_length(list), 1, "%s", mxc_json_str(list, NULL));
	struct json_object *req = find_request(list, rid);
	cr_assert_not_null(req, "%s is not listed: %s", rid, mxc_json_str(list, NULL));
	cr_assert_str_eq(mxc_test_str(req, "kind"), "handoff");
	cr_assert_str_eq(mxc_test_str(req, "state"), "pending");
	cr_assert_str_eq(mxc_test_str(req, "direction"), "agent-to-human");
	cr_assert_str_eq(mxc_test_str(req, "session"), id);
	cr_assert_str_eq(mxc_test_str(req, "agent"), "coder");
	cr_assert_str_eq(mxc_test_str(req, "name"), "report.txt");
	cr_assert_str_eq(mxc_test_str(req, "mime"), "text/plain");
	cr_assert_eq(mxc_test_int(req, "bytes"), (int64_t)strlen(text));
	cr_assert_str_eq(mxc_test_str(req, "sha256"), hex);
	cr_assert_str_eq(mxc_test_str(req, "note"), "weekly");
	json_object_put(list);

	/* Accepted into a directory of hers: written as her, exactly, privately. */
	scratch_dir("alice-out", ALICE, dir, sizeof(dir));
	r = mxc_run(&h, ALICE, NULL, "handoff", "accept", rid, "-o", dir, "--json", NULL);
	cr_assert_eq(r.status, 0, "accept failed: %s", r.err);
	bool warned = strstr(r.err, "does not keep extended attributes") != NULL;
	struct json_object *res = mxc_test_json(r.out);
	mxc_result_free(&r);
	cr_assert_str_eq(mxc_test_str(res, "file"), "report.txt");
	json_object_put(res);
	snprintf(file, sizeof(file), "%s/report.txt", dir);
	expect_document(file, text, ALICE);

	/* Where it came from, on the file itself (unless the file system cannot say). */
	char origin[MXC_HANDOFF_ORIGIN_MAX + 1];
	ssize_t n = getxattr(file, MXC_HANDOFF_ORIGIN_XATTR, origin, sizeof(origin) - 1);
	if (n < 0) {
		cr_assert_eq(errno, ENOTSUP, "no origin attribute: %s", strerror(errno));
		cr_assert(warned, "the origin was not recorded and the CLI did not say so");
	} else {
		origin[n] = '\0';
		struct json_object *o = mxc_test_json(origin);
		cr_assert_str_eq(mxc_test_str(o, "agent"), "coder", "%s", origin);
		cr_assert_str_eq(mxc_test_str(o, "session"), id, "%s", origin);
		cr_assert_str_eq(mxc_test_str(o, "sha256"), hex, "%s", origin);
		json_object_put(o);
		cr_assert_not(warned);
	}

	/* Settled: no longer waiting for anyone. */
	char *state = request_state(ALICE, rid);
	cr_assert(mxc_streq(state, "gone") || mxc_streq(state, "done"), "the request is %s", state);
	free(state);

	/* Audited with its facts, never its content. */
	struct json_object *rows = audit_rows(id);
	struct json_object *d = details(audit_row(rows, "request.create", rid));
	cr_assert_str_eq(mxc_test_str(d, "sha256"), hex);
	cr_assert_eq(mxc_test_int(d, "bytes"), (int64_t)strlen(text));
	cr_assert_str_eq(mxc_test_str(d, "name"), "report.txt");
	struct json_object *done = audit_row(rows, "request.done", rid);
	cr_assert_not_null(done, "the acceptance is not audited");
	cr_assert_str_eq(mxc_test_str(done, "result"), "ok");
	cr_assert_eq(mxc_test_int(done, "actor_uid"), ALICE);
	d = details(done);
	cr_assert_str_eq(mxc_test_str(d, "sha256"), hex);
	cr_assert_eq(mxc_test_int(d, "bytes"), (int64_t)strlen(text));
	cr_assert_null(strstr(mxc_json_str(rows, NULL), "marker-5c1e9b0d"),
		       "the document's content is in the audit log");
	json_object_put(rows);
	free(rid);
	free(id);
}

Test(handoff, accepting_never_overwrites_a_file_of_the_same_name)
{
	static const char mine[] = "the owner's own report, not to be touched\n";
	static const char theirs[] = "the agent's report\n";
	char dir[300], path[400], report[400];
	char *id = start("coder", rules);
	install_tools("coder");
	scratch_dir("out", 0, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	write_file(path, mine, 0644, 0);

	home_path("coder", "report.txt", report, sizeof(report));
	agent_writes(id, report, theirs);
	char *rid = agent_send(id, report, NULL);
	struct mxc_result r =
	    mxc_run(&h, 0, NULL, "handoff", "accept", rid, "-o", dir, "--json", NULL);
	struct json_object *res = json_ok(&r, "handoff accept");
	cr_assert_str_eq(mxc_test_str(res, "file"), "report (1).txt", "%s",
			 mxc_json_str(res, NULL));
	json_object_put(res);

	char *old = read_text(path);
	cr_assert_str_eq(old, mine, "the existing file was changed");
	free(old);
	snprintf(path, sizeof(path), "%s/report (1).txt", dir);
	expect_document(path, theirs, 0);
	/* Accepted once only: a second accept neither succeeds nor writes a third file. */
	expect_fails(" is done", mxc_run(&h, 0, NULL, "handoff", "accept", rid, "-o", dir, NULL));
	cr_assert_eq(count_entries(dir), 2);
	free(rid);
	free(id);
}

Test(handoff, the_owner_receives_the_file_as_sent_whatever_the_agent_does_after)
{
	static const char sent[] = "version one, as sent\n";
	char hex[MXC_SHA256_HEX_LEN + 1], report[400], dir[300], path[400];
	char *id = start("coder", rules);
	install_tools("coder");
	home_path("coder", "report.txt", report, sizeof(report));
	agent_writes(id, report, sent);
	sha256_of(sent, hex);
	char *rid = agent_send(id, report, NULL);

	/* The same file, truncated and rewritten in place after it was sent. */
	struct mxc_result r =
	    inside(id, "sh", "-c", ": > \"$1\" && printf 'rewritten!' >> \"$1\"", "sh", report);
	cr_assert_eq(r.status, 0, "%s", r.err);
	mxc_result_free(&r);
	char *now = read_text(report);
	cr_assert_str_eq(now, "rewritten!");
	free(now);

	struct json_object *a = requests(0, false), *req = find_request(a, rid);
	cr_assert_not_null(req);
	cr_assert_str_eq(mxc_test_str(req, "sha256"), hex);
	json_object_put(a);
	scratch_dir("out", 0, dir, sizeof(dir));
	r = mxc_run(&h, 0, NULL, "handoff", "accept", rid, "-o", dir, "--json", NULL);
	struct json_object *res = json_ok(&r, "handoff accept");
	cr_assert_str_eq(mxc_test_str(res, "sha256"), hex);
	json_object_put(res);
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	expect_document(path, sent, 0);
	free(rid);
	free(id);
}

/* ---- 4. hostile sends ---- */

/* What the probe's `sends` must get for each case: the errno name and part of the message. */
static const struct {
	const char *label, *code, *part;
} hostile[] = {
    {"symlink", "EINVAL", "is not a regular file (a symbolic link)"},
    {"fifo", "EINVAL", "is not a regular file (a FIFO)"},
    {"device", "EINVAL", "is not a regular file (a device)"},
    {"directory", "EINVAL", "is not a regular file (a directory)"},
    {"write-only", "EBADF", "was not opened for reading"},
    {"path-only", "EBADF", "was not opened for reading"},
    {"too-large", "EFBIG", "more than session.handoff[0].maxBytes (1024)"},
    {"parent-path", "EINVAL", "invalid file name"},
    {"slash", "EINVAL", "it contains '/'"},
    {"dotdot", "EINVAL", "it is '.' or '..'"},
    {"hidden", "EINVAL", "hidden files are not accepted"},
    {"dash", "EINVAL", "it could be read as an option"},
    {"empty-name", "EINVAL", "it is empty"},
    {"control", "EINVAL", "it contains a control character"},
    {"newline", "EINVAL", "it contains a control character"},
    {"long-name", "EINVAL", "it is longer than 255 bytes"},
    {"bidi", "EINVAL", "bidirectional formatting character"},
    {"bidi-isolate", "EINVAL", "bidirectional formatting character"},
    {"not-png", "EMEDIUMTYPE", "is not image/png"},
    {"no-rule", "EPERM", "no session.handoff rule allows application/octet-stream agent-to-human"},
    /* Refused before any check of a document (and so not audited as a refused document). */
    {"no-fd", "EINVAL", "one descriptor"},
    {"two-fds", "EINVAL", "one descriptor"},
};

/* The probe's line for label ("LABEL CODE MESSAGE"), or NULL; points into out. */
static const char *probe_line(const char *out, const char *label, char *buf, size_t len)
{
	size_t n = strlen(label);
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, label, n) == 0 && p[n] == ' ') {
			size_t end = strcspn(p, "\n");
			snprintf(buf, len, "%.*s", (int)end, p);
			return buf;
		}
	}
	return NULL;
}

Test(handoff, hostile_descriptors_names_and_types_are_refused_and_nothing_is_held)
{
	char work[400], line[1024], path[400];
	char *id = start("coder", rules);
	install_tools("coder");
	home_path("coder", "probe-work", work, sizeof(work));

	struct mxc_result r = probe(id, "sends", work);
	cr_assert_eq(r.status, 0, "the probe failed (%d): %s%s", r.status, r.out, r.err);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(hostile); i++) {
		const char *l = probe_line(r.out, hostile[i].label, line, sizeof(line));
		cr_assert_not_null(l, "no answer for %s:\n%s", hostile[i].label, r.out);
		char want[128];
		snprintf(want, sizeof(want), "%s %s ", hostile[i].label, hostile[i].code);
		cr_assert_eq(strncmp(l, want, strlen(want)), 0, "%s: expected %s: %s",
			     hostile[i].label, hostile[i].code, l);
		cr_assert_not_null(strstr(l, hostile[i].part),
				   "%s: the error does not say '%s': %s", hostile[i].label,
				   hostile[i].part, l);
	}
	cr_assert_null(strstr(r.out, " ok "), "a hostile send was accepted:\n%s", r.out);
	mxc_result_free(&r);
	expect_nothing_held();
	/* Refusals are audited, a flood of them throttled: the first one at least is there. */
	struct json_object *rows = audit_rows(id);
	cr_assert_geq(audit_count(rows, "handoff.send", "denied"), 1,
		      "refused documents are not audited");
	json_object_put(rows);

	/* The CLI does not follow a link either: it opens with O_NOFOLLOW. */
	snprintf(path, sizeof(path), "%s/link.txt", work);
	r = agent_mxc(id, "handoff", "send", path);
	cr_assert_eq(r.status, 1, "the CLI sent a symbolic link: %s", r.out);
	cr_assert_not_null(strstr(r.err, "cannot open"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, strerror(ELOOP)), "%s", r.err);
	mxc_result_free(&r);
	expect_nothing_held();

	/* The control: the probe's way of sending works for a clean document. */
	snprintf(path, sizeof(path), "%s/real.txt", work);
	r = probe(id, "call", "handoff.send", "{\"name\":\"real.txt\"}", path);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert_eq(strncmp(r.out, "handoff.send ok ", 16), 0, "%s", r.out);
	mxc_result_free(&r);
	struct json_object *a = requests(0, true);
	cr_assert_eq(json_object_array_length(a), 1, "%s", mxc_json_str(a, NULL));
	cr_assert_str_eq(mxc_test_str(json_object_array_get_idx(a, 0), "name"), "real.txt");
	json_object_put(a);
	free(id);
}

/* ---- 5. which socket may do what ---- */

static int connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0,
		     "cannot connect to %s: %s", path, strerror(errno));
	return fd;
}

/* One request on the main socket as root, with fd attached; the response (caller puts). */
static struct json_object *main_request(const char *verb, struct json_object *args, int fd)
{
	int sock = connect_to(h.sock);
	struct json_object *req = mxc_proto_request(verb, args), *resp = NULL;
	cr_assert_eq(mxc_send_json(sock, req, &fd, 1), 0);
	json_object_put(req);
	struct mxc_reader in;
	struct mxc_error err = {0};
	mxc_reader_init(&in, MXC_PROTO_MAX_RESPONSE);
	cr_assert_eq(mxc_recv_json(&in, sock, &resp, &err), 0, "%s: no response: %s", verb,
		     err.msg);
	mxc_reader_finish(&in);
	close(sock);
	return resp;
}

/* Asserts the probe's single line is "VERB CODE ..." with part in it; frees r. */
static void expect_probe(struct mxc_result r, const char *verb, const char *code, const char *part)
{
	char want[128];
	cr_assert_eq(r.status, 0, "the probe failed (%d): %s%s", r.status, r.out, r.err);
	snprintf(want, sizeof(want), "%s %s ", verb, code);
	cr_assert_eq(strncmp(r.out, want, strlen(want)), 0, "expected '%s...': %s", want, r.out);
	cr_assert_not_null(strstr(r.out, part), "'%s' does not say '%s'", r.out, part);
	mxc_result_free(&r);
}

Test(handoff, sending_is_for_the_agent_and_deciding_for_the_main_socket)
{
	static const char not_here[] = "is not available on a session's socket";
	char forged[300], report[400], gift[400], args[128];
	char *id = start("coder", rules);
	install_tools("coder");

	/* A human cannot pass a document off as the agent's, raw or through the CLI. */
	snprintf(forged, sizeof(forged), "%s/forged.txt", h.env.scratch);
	write_file(forged, "not from the agent\n", 0644, 0);
	int fd = open(forged, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	struct json_object *a = json_object_new_object();
	mxc_json_add_str(a, "session", id);
	mxc_json_add_str(a, "name", "forged.txt");
	struct json_object *resp = main_request("handoff.send", a, fd), *e = NULL;
	close(fd);
	bool ok = true;
	mxc_json_get_bool(resp, "ok", &ok, NULL);
	cr_assert_not(ok, "the main socket took a document as the agent's");
	json_object_object_get_ex(resp, "error", &e);
	cr_assert_str_eq(mxc_test_str(e, "code"), "EPERM", "%s", mxc_json_str(resp, NULL));
	cr_assert_not_null(strstr(mxc_test_str(e, "message"), "for an agent"), "%s",
			   mxc_json_str(resp, NULL));
	json_object_put(resp);
	expect_fails("for an agent", mxc_run(&h, 0, NULL, "handoff", "send", forged, NULL));
	expect_nothing_held();

	/* Inside, nothing that decides or gives: not on the agent's own requests either. */
	home_path("coder", "report.txt", report, sizeof(report));
	agent_writes(id, report, "for the owner\n");
	char *rid = agent_send(id, report, NULL);
	char *att = agent_attention(id, "look at this");
	home_path("coder", "gift.txt", gift, sizeof(gift));
	agent_writes(id, gift, "a gift to itself\n");

	snprintf(args, sizeof(args), "{\"id\":\"%s\"}", rid);
	expect_probe(probe(id, "call", "handoff.accept", args), "handoff.accept", "EPERM",
		     not_here);
	snprintf(args, sizeof(args), "{\"id\":\"%s\",\"name\":\"report.txt\"}", rid);
	expect_probe(probe(id, "call", "handoff.done", args), "handoff.done", "EPERM", not_here);
	snprintf(args, sizeof(args), "{\"id\":\"%s\"}", att);
	expect_probe(probe(id, "call", "request.approve", args), "request.approve", "EPERM",
		     not_here);
	expect_probe(probe(id, "call", "request.deny", args), "request.deny", "EPERM", not_here);
	expect_probe(probe(id, "call", "handoff.give", "{\"name\":\"gift.txt\"}", gift),
		     "handoff.give", "EPERM", not_here);
	expect_fails(not_here, agent_mxc(id, "handoff", "accept", rid, "-o", "/tmp"));
	expect_fails(not_here, agent_mxc(id, "approve", att));
	expect_fails(not_here, agent_mxc(id, "deny", att));
	expect_fails(not_here, agent_mxc(id, "handoff", "give", id, gift));

	/* Both still wait for the owner, and nothing came in. */
	struct json_object *list = requests(0, false);
	cr_assert_str_eq(mxc_test_str(find_request(list, rid), "state"), "pending");
	cr_assert_str_eq(mxc_test_str(find_request(list, att), "state"), "pending");
	json_object_put(list);
	char inbox[400];
	home_path("coder", "Inbox", inbox, sizeof(inbox));
	cr_assert_leq(count_entries(inbox), 0, "something is in the agent's Inbox");
	free(att);
	free(rid);
	free(id);
}

/* ---- 6-8. from the owner to the agent ---- */

Test(handoff, the_owner_gives_a_document_into_the_agents_inbox)
{
	char file[300], path[400], home[400];
	char *id = start("coder", rules);
	snprintf(file, sizeof(file), "%s/notes.txt", h.env.scratch);
	write_file(file, "notes, first\n", 0600, 0);
	struct mxc_result r = mxc_run(&h, 0, NULL, "handoff", "give", id, file, "--json", NULL);
	struct json_object *res = json_ok(&r, "handoff give");
	cr_assert_str_eq(mxc_test_str(res, "name"), "notes.txt");
	json_object_put(res);

	/* As the agent sees it. */
	home_path("coder", "", home, sizeof(home));
	r = inside(id, "sh", "-c", "cd \"$1/Inbox\" && stat -c '%U %a' notes.txt && cat notes.txt",
		   "sh", home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "coder 600\nnotes, first\n");
	mxc_result_free(&r);

	/* The same name again: a copy beside it, the first untouched. */
	write_file(file, "notes, second\n", 0600, 0);
	r = mxc_run(&h, 0, NULL, "handoff", "give", id, file, "--json", NULL);
	res = json_ok(&r, "handoff give");
	cr_assert_str_eq(mxc_test_str(res, "name"), "notes (1).txt");
	json_object_put(res);
	r = inside(id, "sh", "-c",
		   "cd \"$1/Inbox\" && LC_ALL=C ls && cat notes.txt 'notes (1).txt'", "sh", home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "notes (1).txt\nnotes.txt\nnotes, first\nnotes, second\n");
	mxc_result_free(&r);
	home_path("coder", "Inbox/notes (1).txt", path, sizeof(path));
	expect_document(path, "notes, second\n", getpwnam("coder")->pw_uid);
	struct json_object *rows = audit_rows(id);
	cr_assert_eq(audit_count(rows, "handoff.give", "ok"), 2);
	json_object_put(rows);
	free(id);

	/* Without a rule for documents coming in, or with one that denies them: refused. */
	char *other = start("reader", rules_out_only);
	expect_fails("no session.handoff rule allows text/plain human-to-agent",
		     mxc_run(&h, 0, NULL, "handoff", "give", other, file, NULL));
	home_path("reader", "Inbox", path, sizeof(path));
	cr_assert_leq(count_entries(path), 0, "a refused document reached the Inbox");
	free(other);
	other = start("guarded", rules_deny_in);
	expect_fails("session.handoff[1] denies text/plain human-to-agent",
		     mxc_run(&h, 0, NULL, "handoff", "give", other, file, NULL));
	home_path("guarded", "Inbox", path, sizeof(path));
	cr_assert_leq(count_entries(path), 0, "a refused document reached the Inbox");
	free(other);
}

/* A `mxc handoff give` running in a child: it waits for a decision. */
struct background {
	pid_t pid;
	int out; /* read end: "STATUS\n" then the command's stderr */
};

static void give_in_background(struct background *b, const char *id, const char *file,
			       const char *expires_in)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	b->pid = fork();
	cr_assert_geq(b->pid, 0);
	if (b->pid == 0) {
		close(p[0]);
		struct mxc_result r = mxc_run(&h, 0, NULL, "handoff", "give", id, file,
					      "--expires-in", expires_in, NULL);
		dprintf(p[1], "%d\n%s", r.status, r.err);
		_exit(0);
	}
	close(p[1]);
	b->out = p[0];
}

/* Waits for the child; returns the command's exit status and its stderr (caller frees). */
static int background_end(struct background *b, char **ret_err)
{
	char *text = NULL;
	size_t len;
	cr_assert_eq(mxc_read_fd(b->out, 1 << 20, &text, &len), 0);
	close(b->out);
	int status;
	cr_assert_eq(waitpid(b->pid, &status, 0), b->pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child died");
	char *nl = strchr(text, '\n');
	cr_assert_not_null(nl, "the child reported nothing");
	*ret_err = strdup(nl + 1);
	int r = atoi(text);
	free(text);
	return r;
}

/* Waits until a document from the human waits for approval in session id; its request id. */
static char *pending_give(const char *id)
{
	for (int i = 0; i < 300; i++) {
		struct json_object *a = requests(0, false);
		for (size_t k = 0; k < json_object_array_length(a); k++) {
			struct json_object *r = json_object_array_get_idx(a, k);
			if (mxc_streq(mxc_test_str(r, "session"), id) &&
			    mxc_streq(mxc_test_str(r, "direction"), "human-to-agent") &&
			    mxc_streq(mxc_test_str(r, "state"), "pending")) {
				char *rid = strdup(mxc_test_str(r, "id"));
				json_object_put(a);
				return rid;
			}
		}
		json_object_put(a);
		usleep(50000);
	}
	cr_assert_fail("no pending request for the document given to session %s", id);
	return NULL;
}

Test(handoff, a_gift_the_policy_asks_about_waits_for_the_owner_or_expires)
{
	char file[300], path[400], inbox[400], *err = NULL;
	struct background b;
	char *id = start("coder", rules_ask);
	home_path("coder", "Inbox", inbox, sizeof(inbox));

	/* Approved: delivered, and the waiting command says so. */
	snprintf(file, sizeof(file), "%s/plan.txt", h.env.scratch);
	write_file(file, "the plan\n", 0600, 0);
	give_in_background(&b, id, file, "30");
	char *rid = pending_give(id);
	home_path("coder", "Inbox/plan.txt", path, sizeof(path));
	cr_assert_neq(access(path, F_OK), 0, "the document arrived before the approval");
	char *out = mxc_ok(&h, "approve", rid, NULL);
	free(out);
	cr_assert_eq(background_end(&b, &err), 0, "the approved give failed: %s", err);
	free(err);
	expect_document(path, "the plan\n", getpwnam("coder")->pw_uid);
	free(rid);

	/* Denied: the command fails saying so, nothing is delivered. */
	snprintf(file, sizeof(file), "%s/denied.txt", h.env.scratch);
	write_file(file, "not wanted\n", 0600, 0);
	give_in_background(&b, id, file, "30");
	rid = pending_give(id);
	free(mxc_ok(&h, "deny", rid, "--reason", "no", NULL));
	cr_assert_eq(background_end(&b, &err), 1, "the denied give succeeded");
	cr_assert_not_null(strstr(err, "denied"), "%s", err);
	cr_assert_not_null(strstr(err, ": no"), "the reason is not passed on: %s", err);
	free(err);
	free(rid);

	/* Undecided: it expires, the command fails saying so, nothing is delivered. */
	snprintf(file, sizeof(file), "%s/late.txt", h.env.scratch);
	write_file(file, "too late\n", 0600, 0);
	give_in_background(&b, id, file, "1");
	cr_assert_eq(background_end(&b, &err), 1, "the expired give succeeded");
	cr_assert_not_null(strstr(err, "expired"), "%s", err);
	free(err);

	cr_assert_eq(count_entries(inbox), 1, "the Inbox holds more than the approved document");
	struct json_object *rows = audit_rows(id);
	cr_assert_not_null(audit_row(rows, "request.approve", NULL));
	cr_assert_not_null(audit_row(rows, "request.deny", NULL));
	cr_assert_not_null(audit_row(rows, "request.expire", NULL));
	json_object_put(rows);
	free(id);
}

Test(handoff, a_gift_never_goes_through_a_link_the_agent_put_in_place_of_its_inbox)
{
	char file[300], home[400], elsewhere[400];
	char *id = start("coder", rules);
	snprintf(file, sizeof(file), "%s/notes.txt", h.env.scratch);
	write_file(file, "notes\n", 0600, 0);
	home_path("coder", "", home, sizeof(home));
	home_path("coder", "elsewhere", elsewhere, sizeof(elsewhere));

	/* To a directory of its own in its home. */
	struct mxc_result r = inside(id, "sh", "-c",
				     "cd \"$1\" && mkdir elsewhere && rm -rf Inbox && "
				     "ln -s elsewhere Inbox",
				     "sh", home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	mxc_result_free(&r);
	expect_fails("symbolic link", mxc_run(&h, 0, NULL, "handoff", "give", id, file, NULL));
	cr_assert_eq(count_entries(elsewhere), 0, "a document went through the link");

	/* To a directory of its own outside its home. */
	r = inside(id, "sh", "-c", "mkdir -p /tmp/x && cd \"$1\" && rm Inbox && ln -s /tmp/x Inbox",
		   "sh", home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	mxc_result_free(&r);
	expect_fails("symbolic link", mxc_run(&h, 0, NULL, "handoff", "give", id, file, NULL));
	r = inside(id, "sh", "-c", "ls -A /tmp/x && test -L \"$1/Inbox\"", "sh", home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "", "a document went through the link: %s", r.out);
	mxc_result_free(&r);

	struct json_object *rows = audit_rows(id);
	cr_assert_eq(audit_count(rows, "handoff.give", "failed"), 2,
		     "the failures are not audited");
	cr_assert_eq(audit_count(rows, "handoff.give", "ok"), 0);
	json_object_put(rows);
	free(id);
}

/* ---- 9-10. asking for a human; who decides ---- */

Test(handoff, an_agent_asks_for_a_human_and_the_owner_answers)
{
	char *id = mxc_harness_session(&h, "coder");
	install_tools("coder");
	char *rid = agent_attention(id, "need a login");

	struct json_object *a = requests(0, false), *req = find_request(a, rid);
	cr_assert_not_null(req, "%s is not listed: %s", rid, mxc_json_str(a, NULL));
	cr_assert_str_eq(mxc_test_str(req, "kind"), "attention");
	cr_assert_str_eq(mxc_test_str(req, "state"), "pending");
	cr_assert_str_eq(mxc_test_str(req, "session"), id);
	cr_assert_str_eq(mxc_test_str(req, "note"), "need a login");
	json_object_put(a);

	char *out = mxc_ok(&h, "approve", rid, NULL);
	cr_assert_not_null(strstr(out, "approved"), "%s", out);
	free(out);
	char *state = request_state(0, rid);
	cr_assert(mxc_streq(state, "done") || mxc_streq(state, "gone"), "the request is %s", state);
	free(state);

	struct json_object *rows = audit_rows(id), *row = audit_row(rows, "request.create", rid);
	cr_assert_not_null(row, "the request is not audited");
	cr_assert_str_eq(mxc_test_str(row, "result"), "pending");
	cr_assert_str_eq(mxc_test_str(details(row), "kind"), "attention");
	cr_assert_str_eq(mxc_test_str(details(row), "reason"), "need a login");
	cr_assert_not_null(audit_row(rows, "request.approve", rid));
	json_object_put(rows);
	free(rid);
	free(id);
}

Test(handoff, only_the_owner_or_an_admin_decides)
{
	char report[400], dir[300], path[400];
	char *id = start_as_alice("coder");
	install_tools("coder");
	home_path("coder", "report.txt", report, sizeof(report));
	agent_writes(id, report, "for alice only\n");
	char *rid = agent_send(id, report, NULL);
	char *att = agent_attention(id, "alice, please");

	/* Bob is told nothing exists. */
	scratch_dir("bob-out", BOB, dir, sizeof(dir));
	expect_fails("does not exist",
		     mxc_run(&h, BOB, NULL, "handoff", "accept", rid, "-o", dir, NULL));
	expect_fails("does not exist", mxc_run(&h, BOB, NULL, "approve", att, NULL));
	expect_fails("does not exist", mxc_run(&h, BOB, NULL, "deny", att, NULL));
	expect_fails("does not exist", mxc_run(&h, BOB, NULL, "approve", rid, NULL));
	expect_fails("for administrators", mxc_run(&h, BOB, NULL, "requests", "--all", NULL));
	struct json_object *a = requests(BOB, false);
	cr_assert_eq(json_object_array_length(a), 0, "bob sees %s", mxc_json_str(a, NULL));
	json_object_put(a);
	cr_assert_eq(count_entries(dir), 0);

	/* Both still wait; alice accepts, an admin answers for her. */
	a = requests(ALICE, false);
	cr_assert_str_eq(mxc_test_str(find_request(a, rid), "state"), "pending");
	cr_assert_str_eq(mxc_test_str(find_request(a, att), "state"), "pending");
	json_object_put(a);
	scratch_dir("alice-out", ALICE, dir, sizeof(dir));
	struct mxc_result r = mxc_run(&h, ALICE, NULL, "handoff", "accept", rid, "-o", dir, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	mxc_result_free(&r);
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	expect_document(path, "for alice only\n", ALICE);
	free(mxc_ok(&h, "approve", att, NULL));
	char *state = request_state(ALICE, att);
	cr_assert(mxc_streq(state, "done") || mxc_streq(state, "gone"), "the request is %s", state);
	free(state);
	free(att);
	free(rid);
	free(id);
}
