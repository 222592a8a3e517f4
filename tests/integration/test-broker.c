/*
 * The broker's clipboard: pull and push between an agent session and the caller's own display
 * (a second Xvfb plays the human's), under the session's policy, with requests the owner
 * approves or denies, that expire, and that nobody inside a session can decide.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest.h"
#include "fs.h"
#include "harness.h"
#include "json.h"

#define ALICE 4101

static struct mxc_harness h;
static pid_t xvfb = -1;
static char human[32]; /* the human's display, ":N" */

/* A second X server, the human's desktop. */
static void start_human_display(void)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	xvfb = fork();
	cr_assert_geq(xvfb, 0);
	if (xvfb == 0) {
		/* It, and the clipboard owners living off it, go with the test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 3);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		execl("/usr/bin/Xvfb", "Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0",
		      "640x480x24", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[16] = { 0 };
	size_t n = 0;
	while (n < sizeof(buf) - 1 && read(p[0], buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	close(p[0]);
	buf[n] = '\0';
	cr_assert_gt(n, 0, "Xvfb did not start");
	snprintf(human, sizeof(human), ":%s", buf);
}

static void setup(void)
{
	mxc_harness_start(&h);
	mxc_testenv_add_user("alice", ALICE);
	start_human_display();
}

static void teardown(void)
{
	if (xvfb > 0) {
		kill(xvfb, SIGTERM);
		waitpid(xvfb, NULL, 0);
	}
	mxc_harness_stop(&h);
}

TestSuite(broker, .init = setup, .fini = teardown, .timeout = 180);

static const char *policy(const char *text)
{
	static char path[300];
	snprintf(path, sizeof(path), "%s/policy.json", h.env.scratch);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
	return path;
}

#define POLICY(clipboard_mode, rules)                                                       \
	"{\"version\":\"mxc/1\","                                                            \
	" \"ui\":{\"allowWindows\":true,\"allowInputInjection\":true,\"clipboard\":\"" \
	clipboard_mode "\"},"                                                                \
	" \"session\":{\"clipboard\":[" rules "]}}"

static char *start(const char *text)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	return mxc_ok(&h, "session", "start", "coder", "--policy", policy(text), NULL);
}

/* Runs a shell command on the host, returning its standard output (caller frees). */
static char *host(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	char *out = NULL;
	size_t len = 0;
	cr_assert_eq(mxc_read_fd(fileno(f), 1 << 24, &out, &len), 0);
	pclose(f);
	return out;
}

/* Runs a shell command inside the session as the agent; asserts it succeeds. */
static void inside(const char *id, const char *cmd)
{
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", cmd, NULL);
	cr_assert_eq(r.status, 0, "%s: %s", cmd, r.err);
	mxc_result_free(&r);
}

static char *inside_out(const char *id, const char *cmd)
{
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", cmd, NULL);
	free(r.err);
	return r.out;
}

/* A command running in the background: its result comes through a pipe when it ends. */
struct bg {
	pid_t pid;
	int fd;
};

static struct bg bg_run(uid_t uid, const char *a1, const char *a2, const char *a3,
			const char *a4, const char *a5, const char *a6, const char *a7,
			const char *a8)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct bg b = { fork(), p[0] };
	cr_assert_geq(b.pid, 0);
	if (b.pid == 0) {
		close(p[0]);
		struct mxc_result r = mxc_run(&h, uid, NULL, a1, a2, a3, a4, a5, a6, a7, a8, NULL);
		dprintf(p[1], "%d\n%s\n--\n%s", r.status, r.err, r.out);
		_exit(0);
	}
	close(p[1]);
	return b;
}

/* Waits for it: its status; *err gets its standard error, *out the rest (caller frees). */
static int bg_wait(struct bg *b, char **err)
{
	char *text = NULL;
	size_t len = 0;
	cr_assert_eq(mxc_read_fd(b->fd, 1 << 20, &text, &len), 0);
	close(b->fd);
	waitpid(b->pid, NULL, 0);
	int status = atoi(text);
	*err = text;
	return status;
}

/* Waits for a pending request about session id to show up; returns it (caller puts). */
static struct json_object *pending(const char *id)
{
	for (int i = 0; i < 200; i++) {
		char *out = mxc_ok(&h, "requests", "--session", id, "--json", NULL);
		struct json_object *a = mxc_test_json(out);
		free(out);
		for (size_t k = 0; k < json_object_array_length(a); k++) {
			struct json_object *r = json_object_array_get_idx(a, k);
			if (mxc_streq(mxc_test_str(r, "state"), "pending")) {
				json_object_get(r);
				json_object_put(a);
				return r;
			}
		}
		json_object_put(a);
		usleep(50 * 1000);
	}
	cr_assert_fail("no request showed up");
	return NULL;
}

static struct json_object *audit_rows(const char *id)
{
	char *out = mxc_ok(&h, "audit", "--session", id, "--json", NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	return rows;
}

static struct json_object *row(struct json_object *rows, const char *action, const char *result)
{
	struct json_object *found = NULL;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		if (mxc_streq(mxc_test_str(r, "action"), action) &&
		    (!result || mxc_streq(mxc_test_str(r, "result"), result)))
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

static const char allow_all[] = POLICY(
	"all", "{\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\",\"image/png\"],"
	       "\"action\":\"allow\"},"
	       "{\"direction\":\"human-to-agent\",\"mime\":[\"text/plain\"],\"action\":\"allow\"}");

Test(broker, pull_puts_the_agents_text_and_image_on_the_callers_clipboard)
{
	char *id = start(allow_all);
	inside(id, "printf 'h\\303\\251llo from the agent' | xclip -selection clipboard -i");
	char *out = mxc_ok(&h, "clipboard", "pull", id, "--display", human, NULL);
	free(out);
	char *got = host("xclip -o -selection clipboard -display %s", human);
	cr_assert_str_eq(got, "h\xc3\xa9llo from the agent");
	free(got);

	/* An image: the session's own screenshot, copied inside as image/png. */
	char png[300];
	snprintf(png, sizeof(png), "%s/shot.png", h.env.scratch);
	free(mxc_ok(&h, "screenshot", id, "-o", png, NULL));
	char install[300];
	mxc_harness_install("coder", png, "shot.png", install, sizeof(install));
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "xclip -selection clipboard -t image/png -i %s", install);
	inside(id, cmd);
	free(mxc_ok(&h, "clipboard", "pull", id, "--mime", "image/png", "--display", human, NULL));
	char *a = host("sha256sum < %s", png);
	char *b = host("xclip -o -selection clipboard -t image/png -display %s | sha256sum", human);
	cr_assert_str_eq(a, b, "the image changed on its way");
	free(a);
	free(b);
	free(id);
}

Test(broker, push_puts_the_callers_clipboard_into_the_session)
{
	char *id = start(allow_all);
	free(host("printf 'from the human' | xclip -selection clipboard -i -display %s >/dev/null 2>&1", human));
	free(mxc_ok(&h, "clipboard", "push", id, "--display", human, NULL));
	char *seen = inside_out(id, "xclip -o -selection clipboard");
	cr_assert_str_eq(seen, "from the human");
	free(seen);
	/* From standard input too. */
	struct mxc_result r = mxc_run(&h, 0, "typed in", "clipboard", "push", id, "-i", "-", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	mxc_result_free(&r);
	seen = inside_out(id, "xclip -o -selection clipboard");
	cr_assert_str_eq(seen, "typed in");
	free(seen);
	free(id);
}

Test(broker, a_refused_transfer_names_the_rule_that_refused_it)
{
	char *id = start(POLICY("write",
				"{\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\"],"
				"\"action\":\"allow\",\"maxBytes\":16},"
				"{\"direction\":\"agent-to-human\",\"mime\":[\"image/png\"],"
				"\"action\":\"deny\"}"));
	free(host("printf 'sneaky' | xclip -selection clipboard -i -display %s >/dev/null 2>&1", human));
	struct mxc_result r = mxc_run(&h, 0, NULL, "clipboard", "push", id, "--display", human, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "ui.clipboard is \"write\""), "%s", r.err);
	mxc_result_free(&r);
	char *seen = inside_out(id, "xclip -o -selection clipboard 2>/dev/null");
	cr_assert_str_eq(seen, "", "refused data reached the session");
	free(seen);

	r = mxc_run(&h, 0, NULL, "clipboard", "pull", id, "--mime", "image/png", "-o", "-", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "session.clipboard[1] denies image/png"), "%s", r.err);
	mxc_result_free(&r);

	inside(id, "printf 'far more than sixteen bytes' | xclip -selection clipboard -i");
	r = mxc_run(&h, 0, NULL, "clipboard", "pull", id, "-o", "-", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "16"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
	free(id);
}

Test(broker, deny_patterns_keep_matching_text_in_the_session)
{
	char *id = start(POLICY("all", "{\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\"],"
				       "\"action\":\"allow\",\"denyPatterns\":"
				       "[\"AKIA[0-9A-Z]{16}\",\"BEGIN [A-Z ]*PRIVATE KEY\"]}"));
	inside(id, "printf 'key:\\n-----BEGIN OPENSSH PRIVATE KEY-----\\nabc' | "
		   "xclip -selection clipboard -i");
	struct mxc_result r = mxc_run(&h, 0, NULL, "clipboard", "pull", id, "-o", "-", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "session.clipboard[0].denyPatterns[1] matches"), "%s",
			   r.err);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
	/* Harmless text passes the same rule. */
	inside(id, "printf 'just notes' | xclip -selection clipboard -i");
	char *out = mxc_ok(&h, "clipboard", "pull", id, "-o", "-", NULL);
	cr_assert_str_eq(out, "just notes");
	free(out);
	struct json_object *rows = audit_rows(id);
	struct json_object *denied = row(rows, "clipboard.get", "denied");
	cr_assert_not_null(denied);
	cr_assert_null(strstr(json_object_to_json_string(rows), "PRIVATE KEY-----"),
		       "the audit log holds the refused text");
	json_object_put(rows);
	free(id);
}

static const char ask_out[] = POLICY(
	"all", "{\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\"],\"action\":\"ask\"},"
	       "{\"direction\":\"human-to-agent\",\"mime\":[\"text/plain\"],\"action\":\"ask\"}");

Test(broker, ask_then_approve_delivers_exactly_what_was_asked_about)
{
	char *id = start(ask_out);
	inside(id, "printf 'line one\\033[31m red' | xclip -selection clipboard -i");
	char file[300];
	snprintf(file, sizeof(file), "%s/pulled.txt", h.env.scratch);
	struct bg b = bg_run(0, "clipboard", "pull", id, "-o", file, NULL, NULL, NULL);
	struct json_object *req = pending(id);
	const char *text = "line one\x1b[31m red";
	char hex[MXC_SHA256_HEX_LEN + 1];
	mxc_sha256_hex(text, strlen(text), hex);
	cr_assert_str_eq(mxc_test_str(req, "kind"), "clipboard");
	cr_assert_str_eq(mxc_test_str(req, "direction"), "agent-to-human");
	cr_assert_str_eq(mxc_test_str(req, "mime"), "text/plain");
	cr_assert_eq(mxc_test_int(req, "bytes"), (int64_t)strlen(text));
	cr_assert_str_eq(mxc_test_str(req, "sha256"), hex);
	cr_assert_str_eq(mxc_test_str(req, "preview"), "line one\\x1b[31m red",
			 "the preview must show the text with its control characters escaped");
	cr_assert_str_eq(mxc_test_str(req, "requested_by"), "root");
	cr_assert_eq(mxc_test_int(req, "expires_at") - mxc_test_int(req, "created_at"), 300000,
		     "a request waits 5 minutes unless asked otherwise");
	/* Changing the clipboard now does not change what was asked about. */
	inside(id, "printf 'something else' | xclip -selection clipboard -i");
	char *rid = strdup(mxc_test_str(req, "id"));
	free(mxc_ok(&h, "approve", rid, NULL));
	char *err;
	cr_assert_eq(bg_wait(&b, &err), 0, "%s", err);
	cr_assert_not_null(strstr(err, rid), "the waiting command named no request: %s", err);
	free(err);
	char *data = NULL;
	size_t len;
	cr_assert_eq(mxc_read_file(file, 1024, &data, &len), 0);
	cr_assert_eq(len, strlen(text));
	cr_assert_eq(memcmp(data, text, len), 0);
	free(data);
	/* Decided once: a second approval is refused. */
	struct mxc_result r = mxc_run(&h, 0, NULL, "approve", rid, NULL);
	cr_assert_neq(r.status, 0);
	mxc_result_free(&r);

	struct json_object *rows = audit_rows(id);
	struct json_object *c = row(rows, "request.create", "pending");
	struct json_object *a = row(rows, "request.approve", "ok");
	struct json_object *d = row(rows, "request.done", "ok");
	cr_assert(c && a && d, "create, approve and done are audited");
	cr_assert_str_eq(mxc_test_str(details(d), "sha256"), hex);
	cr_assert_str_eq(mxc_test_str(details(d), "decided_by"), "root");
	cr_assert_null(strstr(json_object_to_json_string(rows), "line one"),
		       "the audit log holds the content");
	json_object_put(rows);
	json_object_put(req);
	free(rid);
	free(id);
}

Test(broker, ask_then_deny_fails_and_names_who_denied)
{
	char *id = start(ask_out);
	inside(id, "printf 'secret plan' | xclip -selection clipboard -i");
	struct bg b = bg_run(0, "clipboard", "pull", id, "-o", "-", NULL, NULL, NULL);
	struct json_object *req = pending(id);
	free(mxc_ok(&h, "deny", mxc_test_str(req, "id"), "--reason", "not now", NULL));
	char *err;
	cr_assert_eq(bg_wait(&b, &err), 1, "%s", err);
	cr_assert_not_null(strstr(err, "denied by root: not now"), "%s", err);
	cr_assert_null(strstr(err, "secret plan"), "denied data was delivered");
	free(err);
	struct json_object *rows = audit_rows(id);
	cr_assert_not_null(row(rows, "request.deny", "denied"));
	json_object_put(rows);
	json_object_put(req);
	free(id);
}

Test(broker, a_request_nobody_decides_expires)
{
	char *id = start(ask_out);
	inside(id, "printf 'stale' | xclip -selection clipboard -i");
	struct mxc_result r = mxc_run(&h, 0, NULL, "clipboard", "pull", id, "-o", "-",
				      "--expires-in", "1", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "expired"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
	struct json_object *rows = audit_rows(id);
	cr_assert_not_null(row(rows, "request.expire", "expired"));
	json_object_put(rows);
	free(id);
}

Test(broker, push_with_ask_sets_the_clipboard_only_once_approved)
{
	char *id = start(ask_out);
	char *err, file[300];
	snprintf(file, sizeof(file), "%s/in.txt", h.env.scratch);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(mxc_write_all(fd, "approved text", 13), 0);
	close(fd);
	struct bg b = bg_run(0, "clipboard", "push", id, "-i", file, NULL, NULL, NULL);
	struct json_object *req = pending(id);
	char *seen = inside_out(id, "xclip -o -selection clipboard 2>/dev/null");
	cr_assert_str_eq(seen, "", "the data crossed before the approval");
	free(seen);
	cr_assert_str_eq(mxc_test_str(req, "direction"), "human-to-agent");
	free(mxc_ok(&h, "approve", mxc_test_str(req, "id"), NULL));
	cr_assert_eq(bg_wait(&b, &err), 0, "%s", err);
	free(err);
	seen = inside_out(id, "xclip -o -selection clipboard");
	cr_assert_str_eq(seen, "approved text");
	free(seen);
	json_object_put(req);
	free(id);
}

/*
 * Connects to the main socket from the host, then moves into the session's mount and network
 * namespaces and asks for the approval there: the uid is root's, the place is the session.
 */
static char *approve_from_inside(int64_t leader, const char *rid)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", h.sock);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(2);
		/* Both opened first: once in the mount namespace, /proc is the session's. */
		char path[64];
		const char *const kinds[] = { "net", "mnt" };
		int ns[2];
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "/proc/%lld/ns/%s", (long long)leader, kinds[i]);
			ns[i] = open(path, O_RDONLY);
		}
		for (int i = 0; i < 2; i++) {
			if (ns[i] < 0 || setns(ns[i], 0) < 0) {
				dprintf(p[1], "setns %s: %s", kinds[i], strerror(errno));
				_exit(3);
			}
		}
		dprintf(s, "{\"v\":1,\"verb\":\"request.approve\",\"args\":{\"id\":\"%s\"}}\n", rid);
		char buf[1024];
		ssize_t n = read(s, buf, sizeof(buf) - 1);
		if (n > 0)
			write(p[1], buf, (size_t)n);
		_exit(0);
	}
	close(p[1]);
	char *out = NULL;
	size_t len;
	cr_assert_eq(mxc_read_fd(p[0], 4096, &out, &len), 0);
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the forger failed to set up (status %d): %s", status, out);
	return out;
}

Test(broker, nobody_inside_a_session_and_no_other_user_can_decide)
{
	char *id = start(ask_out);
	inside(id, "printf 'wanted out' | xclip -selection clipboard -i");
	struct bg b = bg_run(0, "clipboard", "pull", id, "-o", "-", "--expires-in", "60", NULL);
	struct json_object *req = pending(id);
	const char *rid = mxc_test_str(req, "id");

	/* The agent, through its session's own socket. */
	char mxc[300], cmd[600];
	snprintf(cmd, sizeof(cmd), "%s/cli/mxc", h.bin);
	mxc_harness_install("coder", cmd, "mxc", mxc, sizeof(mxc));
	snprintf(cmd, sizeof(cmd), "%s approve %s", mxc, rid);
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", cmd, NULL);
	cr_assert_neq(r.status, 0, "the agent approved its own request");
	mxc_result_free(&r);

	/* Root's connection, carried into the session's namespaces. */
	char *out = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *s = mxc_test_json(out);
	free(out);
	char *answer = approve_from_inside(mxc_test_int(s, "leader_pid"), rid);
	json_object_put(s);
	cr_assert_not_null(strstr(answer, "\"ok\":false"), "%s", answer);
	cr_assert_not_null(strstr(answer, "inside session"), "%s", answer);
	free(answer);

	/* Another user: not even told the request exists. */
	r = mxc_run(&h, ALICE, NULL, "approve", rid, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "does not exist"), "%s", r.err);
	mxc_result_free(&r);

	/* Still pending: the owner denies it, and the data never left. */
	struct json_object *again = pending(id);
	cr_assert_str_eq(mxc_test_str(again, "id"), rid);
	json_object_put(again);
	free(mxc_ok(&h, "deny", rid, NULL));
	char *err;
	cr_assert_eq(bg_wait(&b, &err), 1, "%s", err);
	cr_assert_null(strstr(err, "wanted out"));
	free(err);
	struct json_object *rows = audit_rows(id);
	cr_assert_not_null(row(rows, "request.approve", "denied"), "the forged approval is audited");
	json_object_put(rows);
	json_object_put(req);
	free(id);
}

Test(broker, the_agent_reaches_neither_the_humans_clipboard_nor_its_screen)
{
	char *id = start(allow_all);
	free(host("printf 'human secret' | xclip -selection clipboard -i -display %s >/dev/null 2>&1", human));
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "xclip -o -selection clipboard -display %s 2>&1; echo rc=$?",
		 human);
	char *out = inside_out(id, cmd);
	cr_assert_null(strstr(out, "human secret"), "%s", out);
	cr_assert_null(strstr(out, "rc=0"), "%s", out);
	free(out);
	/* Nor through the daemon: views and the main socket's verbs are not on its socket. */
	char mxc[300], path[300];
	snprintf(path, sizeof(path), "%s/cli/mxc", h.bin);
	mxc_harness_install("coder", path, "mxc", mxc, sizeof(mxc));
	snprintf(cmd, sizeof(cmd), "%s view %s 2>&1; echo rc=$?", mxc, id);
	out = inside_out(id, cmd);
	cr_assert_null(strstr(out, "rc=0"), "%s", out);
	free(out);
	free(id);
}
