/*
 * The session's clipboard through clipboard_get/clipboard_set: free for the agent on its own
 * socket; from outside a crossing allowed only by the session's policy, each one an audit
 * row with size and digest, never the contents.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "fs.h"
#include "harness.h"
#include "json.h"

static struct mxc_harness h;

static void setup(void)
{
	mxc_harness_start(&h);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(clipboard, .init = setup, .fini = teardown, .timeout = 120);

/* A policy file in the scratch directory; returns its path. */
static const char *policy(const char *name, const char *text)
{
	static char path[300];
	snprintf(path, sizeof(path), "%s/%s.json", h.env.scratch, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
	return path;
}

static const char rules[] =
	"{\"version\":\"mxc/1\","
	" \"ui\":{\"allowWindows\":true,\"allowInputInjection\":true,\"clipboard\":\"all\"},"
	" \"session\":{\"clipboard\":["
	"  {\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\"],\"maxBytes\":100,"
	"   \"action\":\"allow\"},"
	"  {\"direction\":\"agent-to-human\",\"mime\":[\"image/png\"],\"action\":\"ask\"},"
	"  {\"direction\":\"human-to-agent\",\"mime\":[\"text/plain\"],\"maxBytes\":1000,"
	"   \"action\":\"allow\"}]}}";

static char *start(const char *policy_file)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	return policy_file ? mxc_ok(&h, "session", "start", "coder", "--policy", policy_file, NULL)
			   : mxc_ok(&h, "session", "start", "coder", NULL);
}

/* The session's CLIPBOARD as its own X clients see it. */
static char *inside(const char *id)
{
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "xclip", "-o", "-selection",
				      "clipboard", NULL);
	free(r.err);
	return r.out;
}

static struct json_object *audit_rows(const char *id)
{
	char *out = mxc_ok(&h, "audit", "--session", id, "--json", NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	return rows;
}

/* The last audit row of action with result, or NULL. */
static struct json_object *row(struct json_object *rows, const char *action, const char *result)
{
	struct json_object *found = NULL;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		if (mxc_streq(mxc_test_str(r, "action"), action) &&
		    mxc_streq(mxc_test_str(r, "result"), result))
			found = r;
	}
	return found;
}

static struct json_object *details(struct json_object *r)
{
	struct json_object *d = NULL;
	json_object_object_get_ex(r, "details", &d);
	return d;
}

Test(clipboard, the_default_policy_lets_nothing_cross_and_says_why)
{
	char *id = start(NULL);
	struct mxc_result r = mxc_run(&h, 0, NULL, "clipboard", "set", id, "secret", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "ui.clipboard is \"none\""), "%s", r.err);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "clipboard", "get", id, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "agent-to-human"), "%s", r.err);
	mxc_result_free(&r);
	char *seen = inside(id);
	cr_assert_str_eq(seen, "", "refused data reached the session");
	free(seen);
	struct json_object *rows = audit_rows(id);
	cr_assert_not_null(row(rows, "clipboard.set", "denied"), "the refusal is not audited");
	cr_assert_not_null(row(rows, "clipboard.get", "denied"), "the refusal is not audited");
	json_object_put(rows);
	free(id);
}

Test(clipboard, allowed_crossings_arrive_and_are_audited_without_their_contents)
{
	char *id = start(policy("rules", rules));
	static const char text[] = "from the human, héllo 😀";
	free(mxc_ok(&h, "clipboard", "set", id, text, NULL));
	char *seen = inside(id);
	cr_assert_str_eq(seen, text, "the session's clients see '%s'", seen);
	free(seen);
	char *got = mxc_ok(&h, "clipboard", "get", id, NULL);
	cr_assert_str_eq(got, text);
	free(got);

	char hex[MXC_SHA256_HEX_LEN + 1];
	mxc_sha256_hex(text, strlen(text), hex);
	struct json_object *rows = audit_rows(id);
	struct json_object *set = details(row(rows, "clipboard.set", "ok"));
	cr_assert_str_eq(mxc_test_str(set, "direction"), "human-to-agent");
	cr_assert_str_eq(mxc_test_str(set, "mime"), "text/plain");
	cr_assert_eq(mxc_test_int(set, "bytes"), (int64_t)strlen(text));
	cr_assert_str_eq(mxc_test_str(set, "sha256"), hex);
	struct json_object *get = details(row(rows, "clipboard.get", "ok"));
	cr_assert_str_eq(mxc_test_str(get, "direction"), "agent-to-human");
	cr_assert_str_eq(mxc_test_str(get, "sha256"), hex);
	cr_assert_null(strstr(mxc_json_str(rows, NULL), "héllo"), "contents in the audit log");
	json_object_put(rows);
	free(id);
}

Test(clipboard, the_rules_limits_and_actions_are_enforced)
{
	char *id = start(policy("rules", rules));
	/* The agent copies more than agent-to-human's maxBytes (100). */
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c",
				      "printf %0200d 0 | xclip -selection clipboard -i", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "clipboard", "get", id, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "larger than 100 bytes"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
	/* (image/png out asks the owner: test-broker.c.) */
	/* No rule lets an image in. */
	char png[300];
	snprintf(png, sizeof(png), "%s/shot.png", h.env.scratch);
	free(mxc_ok(&h, "screenshot", id, "-o", png, NULL));
	r = mxc_run(&h, 0, NULL, "clipboard", "set", id, "--mime", "image/png", "-i", png, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "no session.clipboard rule allows image/png"), "%s",
			   r.err);
	mxc_result_free(&r);
	/* More than human-to-agent's maxBytes (1000). */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = mxc_run(&h, 0, big, "clipboard", "set", id, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "more than the 1000"), "%s", r.err);
	mxc_result_free(&r);
	struct json_object *rows = audit_rows(id);
	struct json_object *d = details(row(rows, "clipboard.get", "denied"));
	cr_assert_not_null(d, "an over-limit read is not audited as refused");
	json_object_put(rows);
	free(id);
}

Test(clipboard, the_agent_uses_its_own_clipboard_freely_on_its_socket)
{
	/* The default policy: nothing crosses, but the agent's own clipboard is its own. */
	char *id = start(NULL);
	char src[300], cli[300];
	snprintf(src, sizeof(src), "%s/cli/mxc", h.bin);
	mxc_harness_install("coder", src, "mxc", cli, sizeof(cli));
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c",
				      "\"$0\" clipboard set 'the agent wrote this' && "
				      "\"$0\" clipboard get && xclip -o -selection clipboard",
				      cli, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "the agent wrote thisthe agent wrote this");
	mxc_result_free(&r);
	/* Nothing crossed: no clipboard rows, only counters. */
	struct json_object *rows = audit_rows(id);
	cr_assert_null(row(rows, "clipboard.set", "ok"));
	cr_assert_null(row(rows, "clipboard.get", "ok"));
	json_object_put(rows);
	cr_assert_eq(mxc_session_activity(&h, id, "clipboard_set"), 1);
	cr_assert_eq(mxc_session_activity(&h, id, "clipboard_get"), 1);
	/* The owner still may not read it from outside. */
	r = mxc_run(&h, 0, NULL, "clipboard", "get", id, NULL);
	cr_assert_eq(r.status, 1);
	mxc_result_free(&r);
	free(id);
}

Test(clipboard, bad_arguments_are_refused)
{
	char *id = start(policy("rules", rules));
	struct mxc_result r = mxc_run(&h, 0, NULL, "clipboard", "get", id, "--mime", "text/html",
				      NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "is not text/plain or image/png"), "%s", r.err);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "clipboard", "set", id, "--mime", "image/png", "not a png",
		    NULL);
	cr_assert_eq(r.status, 1);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "clipboard", "get", "abcdef", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "does not exist"), "%s", r.err);
	mxc_result_free(&r);
	free(id);
}
