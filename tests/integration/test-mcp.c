/*
 * mxc mcp end to end: a scripted MCP client runs the real `mxc mcp` against the real daemon
 * and a real session, over pipes, and checks what an agent runtime would see on the wire.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spng.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

TestSuite(mcp, .init = setup, .fini = teardown, .timeout = 120);

/* Every computer-use verb of the daemon (docs/PROTOCOL.md), one tool each. */
static const char *const verbs[] = {
	"screenshot", "screen_size", "cursor_position", "wait", "move", "click",
	"mouse_down", "mouse_up", "drag", "scroll", "key", "key_down", "key_up", "hold_key",
	"type", "launch", "clipboard_get", "clipboard_set",
};
static const char *const read_only[] = { "screenshot", "screen_size", "cursor_position", "wait",
					 "clipboard_get" };

/* ---- a scripted MCP client ---- */

struct mcp {
	pid_t pid;
	int in, out; /* its stdin (we write), its stdout (we read) */
	char err[300]; /* its stderr, a file */
	char *buf;
	size_t len, cap;
	int64_t next_id;
};

/*
 * Starts `mxc --socket S mcp ARGS...` (NULL-terminated); env_session is its $MXC_SESSION
 * (NULL: unset).
 */
static void mcp_start(struct mcp *m, const char *env_session, ...)
{
	const char *argv[16];
	size_t n = 0;
	char mxc[300];
	snprintf(mxc, sizeof(mxc), "%s/cli/mxc", h.bin);
	argv[n++] = "mxc";
	argv[n++] = "--socket";
	argv[n++] = h.sock;
	argv[n++] = "mcp";
	va_list ap;
	va_start(ap, env_session);
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 15)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;

	static int serial;
	memset(m, 0, sizeof(*m));
	m->next_id = 1;
	snprintf(m->err, sizeof(m->err), "%s/mcp-%d.err", h.env.scratch, serial++);
	int in[2], out[2];
	cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	int err = open(m->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(err, 0);
	m->pid = fork();
	cr_assert_geq(m->pid, 0);
	if (m->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err, 2);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		if (env_session)
			setenv("MXC_SESSION", env_session, 1);
		else
			unsetenv("MXC_SESSION");
		unsetenv("MXC_SOCKET");
		execv(mxc, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err);
	m->in = in[1];
	m->out = out[0];
}

static void mcp_send(struct mcp *m, const char *line)
{
	cr_assert_eq(mxc_write_all(m->in, line, strlen(line)), 0, "mxc mcp stopped reading");
	cr_assert_eq(mxc_write_all(m->in, "\n", 1), 0);
}

/* The next line mxc mcp writes (caller frees), or NULL at its end of output. */
static char *mcp_line(struct mcp *m)
{
	for (;;) {
		char *nl = m->buf ? memchr(m->buf, '\n', m->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - m->buf);
			char *line = strndup(m->buf, n);
			memmove(m->buf, nl + 1, m->len - n - 1);
			m->len -= n + 1;
			return line;
		}
		if (m->cap - m->len < 65536) {
			m->cap = 2 * m->cap + 65536;
			m->buf = realloc(m->buf, m->cap);
		}
		struct pollfd p = { m->out, POLLIN, 0 };
		cr_assert_eq(poll(&p, 1, 30000), 1, "mxc mcp did not answer within 30 s");
		ssize_t k = read(m->out, m->buf + m->len, m->cap - m->len);
		cr_assert_geq(k, 0);
		if (k == 0) {
			cr_assert_eq(m->len, 0, "mxc mcp ended with half a line");
			return NULL;
		}
		m->len += (size_t)k;
	}
}

/* The next message: one JSON-RPC 2.0 object per line, nothing else on stdout. */
static struct json_object *mcp_recv(struct mcp *m)
{
	char *line = mcp_line(m);
	cr_assert_not_null(line, "mxc mcp ended instead of answering");
	struct json_object *o = mxc_test_json(line);
	cr_assert(json_object_is_type(o, json_type_object), "not an object: %s", line);
	cr_assert_str_eq(mxc_test_str(o, "jsonrpc"), "2.0", "%s", line);
	free(line);
	return o;
}

/* Closes its stdin and returns its exit status; asserts it wrote nothing more. */
static int mcp_finish(struct mcp *m)
{
	close(m->in);
	char *line = mcp_line(m);
	cr_assert_null(line, "unexpected output: %s", line);
	close(m->out);
	int status;
	cr_assert_eq(waitpid(m->pid, &status, 0), m->pid);
	free(m->buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *mcp_stderr(struct mcp *m)
{
	char *text = NULL;
	cr_assert_eq(mxc_read_file(m->err, 1 << 20, &text, NULL), 0);
	return text;
}

/* JSON written with ' for ", for readability. */
static char *js(const char *fmt, ...) MXC_PRINTF(1, 2);
static char *js(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

/* Sends a request with the next numeric id and returns its response, checking the id. */
static struct json_object *mcp_request(struct mcp *m, const char *method, const char *params)
{
	int64_t id = m->next_id++;
	char *line = js("{'jsonrpc':'2.0','id':%lld,'method':'%s'%s%s}", (long long)id, method,
			params ? ",'params':" : "", params ? params : "");
	mcp_send(m, line);
	free(line);
	struct json_object *resp = mcp_recv(m), *rid;
	cr_assert(json_object_object_get_ex(resp, "id", &rid) &&
			  json_object_is_type(rid, json_type_int) &&
			  json_object_get_int64(rid) == id,
		  "answer to request %lld has another id: %s", (long long)id,
		  mxc_json_str(resp, NULL));
	return resp;
}

/* The result of a successful request (owned by *ret_resp). */
static struct json_object *mcp_result(struct mcp *m, const char *method, const char *params,
				      struct json_object **ret_resp)
{
	struct json_object *resp = mcp_request(m, method, params), *res;
	cr_assert(json_object_object_get_ex(resp, "result", &res) &&
			  json_object_is_type(res, json_type_object),
		  "%s failed: %s", method, mxc_json_str(resp, NULL));
	*ret_resp = resp;
	return res;
}

/* The JSON-RPC error code of a failed request. */
static int64_t mcp_error_code(struct json_object *resp)
{
	struct json_object *e;
	cr_assert(json_object_object_get_ex(resp, "error", &e), "no error: %s",
		  mxc_json_str(resp, NULL));
	cr_assert_not_null(mxc_test_str(e, "message"));
	return mxc_test_int(e, "code");
}

static void initialize(struct mcp *m, const char *version)
{
	char *params = js("{'protocolVersion':'%s','capabilities':{},"
			  "'clientInfo':{'name':'test-mcp','version':'1'}}",
			  version);
	struct json_object *resp;
	mcp_result(m, "initialize", params, &resp);
	free(params);
	json_object_put(resp);
	mcp_send(m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
}

/* A tool call's CallToolResult (owned by *ret_resp). args is JSON with ' for ". */
static struct json_object *call(struct mcp *m, const char *tool, const char *args,
				struct json_object **ret_resp)
{
	char *a = js("%s", args ? args : "{}");
	char *params = js("{'name':'%s','arguments':%s}", tool, a);
	struct json_object *res = mcp_result(m, "tools/call", params, ret_resp), *content;
	free(params);
	free(a);
	cr_assert(json_object_object_get_ex(res, "content", &content) &&
			  json_object_is_type(content, json_type_array) &&
			  json_object_array_length(content) > 0,
		  "%s: no content: %s", tool, mxc_json_str(res, NULL));
	return res;
}

static bool is_error(struct json_object *res)
{
	bool e = false;
	mxc_json_get_bool(res, "isError", &e, NULL);
	return e;
}

/* The text of the first text item. */
static const char *text_of(struct json_object *res)
{
	struct json_object *content;
	json_object_object_get_ex(res, "content", &content);
	for (size_t i = 0; i < json_object_array_length(content); i++) {
		struct json_object *item = json_object_array_get_idx(content, i);
		if (mxc_streq(mxc_test_str(item, "type"), "text"))
			return mxc_test_str(item, "text");
	}
	cr_assert_fail("no text item: %s", mxc_json_str(res, NULL));
	return NULL;
}

/* Calls a tool that must succeed; returns its structured content (owned by *ret_resp). */
static struct json_object *ok(struct mcp *m, const char *tool, const char *args,
			      struct json_object **ret_resp)
{
	struct json_object *res = call(m, tool, args, ret_resp), *sc = NULL;
	cr_assert_not(is_error(res), "%s %s failed: %s", tool, args ? args : "", text_of(res));
	json_object_object_get_ex(res, "structuredContent", &sc);
	return sc;
}

static void ok_done(struct mcp *m, const char *tool, const char *args)
{
	struct json_object *resp;
	ok(m, tool, args, &resp);
	json_object_put(resp);
}

/* Calls a tool that must fail as a tool result; returns a copy of its message. */
static char *fails(struct mcp *m, const char *tool, const char *args)
{
	struct json_object *resp, *res = call(m, tool, args, &resp);
	cr_assert(is_error(res), "%s %s succeeded: %s", tool, args ? args : "",
		  mxc_json_str(res, NULL));
	char *text = strdup(text_of(res));
	json_object_put(resp);
	return text;
}

/* Decodes the image item of a screenshot result: a PNG, whose size is returned. */
static void image_size(struct json_object *res, uint32_t *w, uint32_t *hgt)
{
	struct json_object *content, *item = NULL;
	json_object_object_get_ex(res, "content", &content);
	for (size_t i = 0; i < json_object_array_length(content); i++)
		if (mxc_streq(mxc_test_str(json_object_array_get_idx(content, i), "type"), "image"))
			item = json_object_array_get_idx(content, i);
	cr_assert_not_null(item, "no image item: %.300s", mxc_json_str(res, NULL));
	cr_assert_str_eq(mxc_test_str(item, "mimeType"), "image/png");
	const char *b64 = mxc_test_str(item, "data");
	cr_assert_not_null(b64);
	size_t len = strlen(b64);
	cr_assert(len > 0 && len % 4 == 0, "base64 of %zu characters", len);
	unsigned char *png = malloc(len);
	int n = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)len);
	cr_assert_gt(n, 0, "not base64");
	/* EVP_DecodeBlock counts the padding as data. */
	n -= (b64[len - 1] == '=') + (b64[len - 2] == '=');
	cr_assert_eq(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0, "not a PNG");

	spng_ctx *ctx = spng_ctx_new(0);
	spng_set_png_buffer(ctx, png, (size_t)n);
	struct spng_ihdr ihdr;
	cr_assert_eq(spng_get_ihdr(ctx, &ihdr), 0, "not a PNG");
	size_t out_len;
	cr_assert_eq(spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &out_len), 0);
	void *pixels = malloc(out_len);
	cr_assert_eq(spng_decode_image(ctx, pixels, out_len, SPNG_FMT_RGB8, 0), 0,
		     "the PNG does not decode");
	*w = ihdr.width;
	*hgt = ihdr.height;
	free(pixels);
	spng_ctx_free(ctx);
	free(png);
}

/* A screenshot that must succeed and be a PNG of w x hgt; returns its mapping (a copy). */
static struct json_object *screenshot(struct mcp *m, const char *args, uint32_t w, uint32_t hgt)
{
	struct json_object *resp, *res = call(m, "screenshot", args, &resp), *sc, *map;
	cr_assert_not(is_error(res), "screenshot %s failed: %s", args ? args : "", text_of(res));
	uint32_t iw, ih;
	image_size(res, &iw, &ih);
	cr_assert(iw == w && ih == hgt, "screenshot %s is %ux%u, not %ux%u", args ? args : "", iw,
		  ih, w, hgt);
	/* The text item: the mapping as JSON on its first line, then how to point in it. */
	const char *text = text_of(res);
	char *first = strndup(text, strcspn(text, "\n"));
	struct json_object *t = mxc_test_json(first), *tmap;
	cr_assert(json_object_object_get_ex(t, "mapping", &tmap));
	cr_assert_eq(mxc_test_int(tmap, "image_width"), w);
	cr_assert_eq(mxc_test_int(tmap, "image_height"), hgt);
	cr_assert_not_null(strstr(text, "\"coordinates\": \"screen\""), "%s", text);
	cr_assert(json_object_object_get_ex(res, "structuredContent", &sc));
	cr_assert(json_object_object_get_ex(sc, "mapping", &map));
	cr_assert_eq(mxc_test_int(sc, "width"), w);
	cr_assert_eq(mxc_test_int(sc, "height"), hgt);
	struct json_object *copy = NULL;
	cr_assert_eq(json_object_deep_copy(map, &copy, NULL), 0);
	json_object_put(t);
	free(first);
	json_object_put(resp);
	return copy;
}

/* Where the pointer is, in screen pixels. */
static void pointer_at(struct mcp *m, int64_t *x, int64_t *y)
{
	struct json_object *resp, *sc = ok(m, "cursor_position", "{'coordinates':'screen'}", &resp);
	*x = mxc_test_int(sc, "screen_x");
	*y = mxc_test_int(sc, "screen_y");
	cr_assert_eq(mxc_test_int(sc, "x"), *x);
	cr_assert_eq(mxc_test_int(sc, "y"), *y);
	json_object_put(resp);
}

static void assert_contains(const char *text, const char *part)
{
	cr_assert_not_null(strstr(text, part), "'%s' not in: %s", part, text);
}

/* Writes a policy file into the scratch directory; returns its path (static). */
static const char *policy_file(const char *name, const char *text)
{
	static char path[300];
	snprintf(path, sizeof(path), "%s/%s.json", h.env.scratch, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
	return path;
}

/* The base64 data of a result's image item (a copy). */
static char *image_data(struct json_object *res)
{
	struct json_object *content;
	json_object_object_get_ex(res, "content", &content);
	for (size_t i = 0; i < json_object_array_length(content); i++) {
		struct json_object *item = json_object_array_get_idx(content, i);
		if (mxc_streq(mxc_test_str(item, "type"), "image"))
			return strdup(mxc_test_str(item, "data"));
	}
	cr_assert_fail("no image item: %.300s", mxc_json_str(res, NULL));
	return NULL;
}

/* ---- lifecycle ---- */

Test(mcp, initialize_negotiates_the_protocol_version)
{
	static const struct {
		const char *asked, *answered;
	} cases[] = {
		{ "2025-11-25", "2025-11-25" }, { "2025-06-18", "2025-06-18" },
		{ "2025-03-26", "2025-03-26" }, { "2024-11-05", "2024-11-05" },
		{ "2099-01-01", "2025-11-25" }, { "", "2025-11-25" },
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		struct mcp m;
		mcp_start(&m, NULL, "abcdef", NULL);
		char *params = js("{'protocolVersion':'%s','capabilities':{},"
				  "'clientInfo':{'name':'t','version':'1'}}",
				  cases[i].asked);
		struct json_object *resp, *res = mcp_result(&m, "initialize", params, &resp);
		cr_assert_str_eq(mxc_test_str(res, "protocolVersion"), cases[i].answered,
				 "asked %s", cases[i].asked);
		struct json_object *caps, *tools, *info;
		cr_assert(json_object_object_get_ex(res, "capabilities", &caps) &&
			  json_object_object_get_ex(caps, "tools", &tools));
		bool changed = true;
		cr_assert_eq(mxc_json_get_bool(tools, "listChanged", &changed, NULL), 0);
		cr_assert_not(changed);
		cr_assert(json_object_object_get_ex(res, "serverInfo", &info));
		cr_assert_str_eq(mxc_test_str(info, "name"), "mxc");
		cr_assert_not_null(mxc_test_str(info, "version"));
		assert_contains(mxc_test_str(res, "instructions"), "abcdef");
		assert_contains(mxc_test_str(res, "instructions"), "screenshot");
		json_object_put(resp);
		mcp_send(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
		/* Initialized once: a second initialize is refused, the server goes on. */
		resp = mcp_request(&m, "initialize", params);
		cr_assert_eq(mcp_error_code(resp), -32600);
		json_object_put(resp);
		resp = mcp_request(&m, "ping", NULL);
		cr_assert(json_object_object_get_ex(resp, "result", NULL));
		json_object_put(resp);
		free(params);
		cr_assert_eq(mcp_finish(&m), 0);
		/* The session does not exist: said at start-up, on stderr. */
		char *err = mcp_stderr(&m);
		assert_contains(err, "abcdef");
		free(err);
	}
	/* Without a protocolVersion, initialize is a malformed request. */
	struct mcp m;
	mcp_start(&m, NULL, "abcdef", NULL);
	struct json_object *resp = mcp_request(&m, "initialize", "{}");
	cr_assert_eq(mcp_error_code(resp), -32602);
	json_object_put(resp);
	cr_assert_eq(mcp_finish(&m), 0);
}

Test(mcp, requests_before_initialize_are_served)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	struct json_object *resp, *res = mcp_result(&m, "ping", NULL, &resp);
	cr_assert_eq(json_object_object_length(res), 0);
	json_object_put(resp);
	res = mcp_result(&m, "tools/list", NULL, &resp);
	json_object_put(resp);
	struct json_object *sc = ok(&m, "screen_size", NULL, &resp);
	cr_assert_eq(mxc_test_int(sc, "width"), 1280);
	json_object_put(resp);
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);
}

/* ---- tools/list ---- */

static bool in_list(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

Test(mcp, tools_list_has_one_tool_per_verb_with_a_strict_schema)
{
	struct mcp m;
	mcp_start(&m, NULL, "abcdef", NULL);
	initialize(&m, "2025-11-25");
	struct json_object *resp, *res = mcp_result(&m, "tools/list", NULL, &resp), *tools;
	cr_assert(json_object_object_get_ex(res, "tools", &tools) &&
		  json_object_is_type(tools, json_type_array));
	cr_assert_null(mxc_test_str(res, "nextCursor"));
	size_t n = json_object_array_length(tools);
	bool seen[MXC_ARRAY_SIZE(verbs)] = { false };
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(tools, i), *schema, *props, *req,
				   *ann, *addl;
		const char *name = mxc_test_str(t, "name");
		cr_assert_not_null(name);
		size_t k;
		for (k = 0; k < MXC_ARRAY_SIZE(verbs) && strcmp(verbs[k], name) != 0; k++)
			;
		if (k < MXC_ARRAY_SIZE(verbs)) {
			cr_assert_not(seen[k], "tool %s listed twice", name);
			seen[k] = true;
		}
		const char *desc = mxc_test_str(t, "description");
		cr_assert(desc && strlen(desc) > 20, "%s: no real description", name);
		cr_assert_not_null(mxc_test_str(t, "title"), "%s: no title", name);
		cr_assert(json_object_object_get_ex(t, "inputSchema", &schema) &&
			  json_object_is_type(schema, json_type_object),
		  "%s: no inputSchema", name);
		cr_assert_str_eq(mxc_test_str(schema, "type"), "object", "%s", name);
		cr_assert(json_object_object_get_ex(schema, "properties", &props) &&
			  json_object_is_type(props, json_type_object), "%s: no properties", name);
		cr_assert(json_object_object_get_ex(schema, "additionalProperties", &addl) &&
			  json_object_is_type(addl, json_type_boolean) &&
			  !json_object_get_boolean(addl),
		  "%s: additionalProperties is not false", name);
		cr_assert_not(json_object_object_get_ex(props, "session", NULL),
			      "%s: the session is the server's to fill in", name);
		json_object_object_foreach(props, pname, pschema)
		{
			cr_assert(json_object_is_type(pschema, json_type_object) &&
				  mxc_test_str(pschema, "type"), "%s.%s: no type", name, pname);
		}
		if (json_object_object_get_ex(schema, "required", &req))
			for (size_t r = 0; r < json_object_array_length(req); r++) {
				struct json_object *o = json_object_array_get_idx(req, r);
				const char *p = json_object_get_string(o);
				cr_assert(json_object_object_get_ex(props, p, NULL),
					  "%s: requires '%s', which it does not define", name, p);
			}
		/* Pointer tools read coordinates in a screenshot's image or on the screen. */
		if (json_object_object_get_ex(props, "x", NULL) ||
		    json_object_object_get_ex(props, "path", NULL))
			cr_assert(json_object_object_get_ex(props, "coordinates", NULL) &&
				  json_object_object_get_ex(props, "space", NULL), "%s", name);
		cr_assert(json_object_object_get_ex(t, "annotations", &ann), "%s", name);
		bool ro = false;
		cr_assert_eq(mxc_json_get_bool(ann, "readOnlyHint", &ro, NULL), 0, "%s", name);
		cr_assert_eq(ro, in_list(read_only, MXC_ARRAY_SIZE(read_only), name),
			     "%s: readOnlyHint %d", name, ro);
		/* A click or a key may press "Delete": only moving the pointer is harmless. */
		bool destructive = true;
		mxc_json_get_bool(ann, "destructiveHint", &destructive, NULL);
		if (!ro)
			cr_assert_eq(destructive, strcmp(name, "move") != 0,
				     "%s: destructiveHint %d", name, destructive);
	}
	for (size_t k = 0; k < MXC_ARRAY_SIZE(verbs); k++)
		cr_assert(seen[k], "no tool for the verb %s", verbs[k]);
	/* Specific schemas: the enums and ranges a model needs to get arguments right. */
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(tools, i), *schema, *props, *p,
				   *e;
		json_object_object_get_ex(t, "inputSchema", &schema);
		json_object_object_get_ex(schema, "properties", &props);
		const char *name = mxc_test_str(t, "name");
		if (strcmp(name, "click") == 0) {
			cr_assert(json_object_object_get_ex(props, "button", &p) &&
				  json_object_object_get_ex(p, "enum", &e));
			cr_assert_eq(json_object_array_length(e), 5);
			cr_assert(json_object_object_get_ex(props, "count", &p));
			cr_assert_eq(mxc_test_int(p, "minimum"), 1);
			cr_assert_eq(mxc_test_int(p, "maximum"), 3);
		}
		if (strcmp(name, "type") == 0 || strcmp(name, "key") == 0)
			assert_contains(mxc_test_str(t, "description"),
					strcmp(name, "type") == 0 ? "Unicode" : "ctrl+s");
	}
	json_object_put(resp);
	/* A cursor we never handed out is invalid. */
	resp = mcp_request(&m, "tools/list", "{\"cursor\":\"x\"}");
	cr_assert_eq(mcp_error_code(resp), -32602);
	json_object_put(resp);
	cr_assert_eq(mcp_finish(&m), 0);
}

Test(mcp, older_revisions_get_no_fields_they_do_not_know)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2024-11-05");
	struct json_object *resp, *res = mcp_result(&m, "tools/list", NULL, &resp), *tools;
	json_object_object_get_ex(res, "tools", &tools);
	struct json_object *t = json_object_array_get_idx(tools, 0);
	cr_assert_not(json_object_object_get_ex(t, "annotations", NULL));
	cr_assert_not(json_object_object_get_ex(t, "title", NULL));
	json_object_put(resp);
	res = call(&m, "screen_size", NULL, &resp);
	cr_assert_not(is_error(res));
	cr_assert_not(json_object_object_get_ex(res, "structuredContent", NULL));
	struct json_object *size = mxc_test_json(text_of(res));
	cr_assert_eq(mxc_test_int(size, "width"), 1280);
	json_object_put(size);
	json_object_put(resp);
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);
}

/* ---- screenshots and coordinates ---- */

Test(mcp, screenshot_is_a_png_image_with_its_mapping)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2025-11-25");
	struct json_object *map = screenshot(&m, NULL, 1280, 800);
	cr_assert_eq(mxc_test_int(map, "screen_width"), 1280);
	cr_assert_eq(mxc_test_int(map, "screen_height"), 800);
	cr_assert_eq(mxc_test_int(map, "width"), 1280);
	json_object_put(map);
	map = screenshot(&m, "{'max_edge':640}", 640, 400);
	json_object_put(map);
	map = screenshot(&m, "{'scale':{'width':300,'height':100}}", 300, 100);
	json_object_put(map);
	map = screenshot(&m, "{'region':{'x':10,'y':20,'width':200,'height':150}}", 200, 150);
	cr_assert_eq(mxc_test_int(map, "x"), 10);
	cr_assert_eq(mxc_test_int(map, "y"), 20);
	json_object_put(map);
	/* The daemon's refusals come back as tool errors. */
	char *msg = fails(&m, "screenshot", "{'scale':{'width':10,'height':10},'max_edge':5}");
	assert_contains(msg, "exclude each other");
	free(msg);
	msg = fails(&m, "screenshot", "{'region':{'x':1200,'y':0,'width':200,'height':100}}");
	assert_contains(msg, "does not fit");
	free(msg);
	cr_assert_eq(mcp_finish(&m), 0);
	/* Counted as the session's screenshots. */
	cr_assert_eq(mxc_session_activity(&h, id, "screenshot"), 4);
	free(id);
}

Test(mcp, clicks_land_where_the_model_saw_them_in_a_scaled_screenshot)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2025-11-25");
	int64_t x, y;
	/* Before any screenshot, coordinates are screen pixels. */
	ok_done(&m, "move", "{'x':7,'y':9}");
	pointer_at(&m, &x, &y);
	cr_assert(x == 7 && y == 9, "pointer at %lld,%lld", (long long)x, (long long)y);

	/* A half-size shot: image pixel (100, 50) shows screen pixels 200-201 x 100-101. */
	struct json_object *half = screenshot(&m, "{'max_edge':640}", 640, 400);
	struct json_object *resp, *sc = ok(&m, "click", "{'x':100,'y':50}", &resp);
	cr_assert_eq(mxc_test_int(sc, "screen_x"), 201);
	cr_assert_eq(mxc_test_int(sc, "screen_y"), 101);
	json_object_put(resp);
	pointer_at(&m, &x, &y);
	cr_assert(x == 201 && y == 101, "the click landed on %lld,%lld", (long long)x,
		  (long long)y);
	/* cursor_position answers in the image by default. */
	sc = ok(&m, "cursor_position", NULL, &resp);
	cr_assert_eq(mxc_test_int(sc, "x"), 100);
	cr_assert_eq(mxc_test_int(sc, "y"), 50);
	json_object_put(resp);

	/* Screen pixels on request, with the image mapping still remembered. */
	ok_done(&m, "move", "{'x':1000,'y':700,'coordinates':'screen'}");
	pointer_at(&m, &x, &y);
	cr_assert(x == 1000 && y == 700);

	/* A zoomed-in region: its pixel (0, 0) is the region's corner. */
	struct json_object *region =
		screenshot(&m, "{'region':{'x':300,'y':200,'width':400,'height':300}}", 400, 300);
	ok_done(&m, "click", "{'x':0,'y':0,'button':'right'}");
	pointer_at(&m, &x, &y);
	cr_assert(x == 300 && y == 200, "pointer at %lld,%lld", (long long)x, (long long)y);
	/* The half-size shot's mapping, passed back as space, still reads its pixels. */
	char *args = js("{'x':100,'y':50,'space':%s}", mxc_json_str(half, NULL));
	ok_done(&m, "move", args);
	free(args);
	pointer_at(&m, &x, &y);
	cr_assert(x == 201 && y == 101, "pointer at %lld,%lld", (long long)x, (long long)y);
	/* drag and scroll read the same image. */
	ok_done(&m, "drag", "{'path':[[10,10],[20,20],[399,299]]}");
	pointer_at(&m, &x, &y);
	cr_assert(x == 699 && y == 499, "the drag ended at %lld,%lld", (long long)x,
		  (long long)y);
	ok_done(&m, "scroll", "{'x':200,'y':150,'dy':2}");
	pointer_at(&m, &x, &y);
	cr_assert(x == 500 && y == 350, "scrolled at %lld,%lld", (long long)x, (long long)y);

	/* Off the image the model is pointing in: refused, saying which image that is. */
	char *msg = fails(&m, "click", "{'x':400,'y':10}");
	assert_contains(msg, "400x300 image");
	assert_contains(msg, "\"coordinates\": \"screen\"");
	free(msg);
	msg = fails(&m, "move", "{'x':1280,'y':0,'coordinates':'screen'}");
	assert_contains(msg, "off the 1280x800 screen");
	free(msg);
	msg = fails(&m, "move", "{'x':1,'y':1,'coordinates':'screen','space':{'image_width':10}}");
	assert_contains(msg, "exclude each other");
	free(msg);
	json_object_put(half);
	json_object_put(region);
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);
}

Test(mcp, max_edge_option_sizes_screenshots_that_ask_for_no_size)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, NULL, id, "--max-edge", "320", NULL);
	initialize(&m, "2025-11-25");
	json_object_put(screenshot(&m, NULL, 320, 200));
	json_object_put(screenshot(&m, "{'scale':{'width':64,'height':40}}", 64, 40));
	json_object_put(screenshot(&m, "{'max_edge':1280}", 1280, 800));
	ok_done(&m, "move", "{'x':0,'y':0}");
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);
}

/* ---- input ---- */

Test(mcp, input_tools_drive_the_session)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2025-11-25");
	/*
	 * A terminal that writes the line typed into it to a file: what the keyboard tools
	 * produce, checked from inside the session.
	 */
	ok_done(&m, "launch",
		"{'argv':['xterm','-geometry','80x10+0+0','-e','sh','-c',"
		"'read -r line; echo $line > typed.txt']}");
	char *msg = fails(&m, "launch", "{'argv':['no-such-program']}");
	assert_contains(msg, "no-such-program");
	free(msg);
	/* Wait until xterm's window is there: focus follows the pointer onto it. */
	bool mapped = false;
	for (int i = 0; i < 100 && !mapped; i++) {
		struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "xdotool", "search",
					      "--onlyvisible", "--class", "xterm", NULL);
		mapped = r.status == 0 && r.out[0];
		mxc_result_free(&r);
		if (!mapped)
			ok_done(&m, "wait", "{'ms':100}");
	}
	cr_assert(mapped, "xterm did not open");
	ok_done(&m, "click", "{'x':100,'y':50}");
	ok_done(&m, "type", "{'text':'typed by mcq'}");
	ok_done(&m, "key", "{'keys':'BackSpace'}");
	ok_done(&m, "type", "{'text':'p'}");
	ok_done(&m, "hold_key", "{'keys':'shift','ms':20}");
	ok_done(&m, "key_down", "{'keys':'shift'}");
	ok_done(&m, "key", "{'keys':'x'}");
	ok_done(&m, "key_up", "{'keys':'shift'}");
	ok_done(&m, "type", "{'text':' done\\n'}");
	char *text = NULL;
	for (int i = 0; i < 100; i++) {
		struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "cat", "typed.txt",
					      NULL);
		if (r.status == 0) {
			text = strdup(r.out);
			mxc_result_free(&r);
			break;
		}
		mxc_result_free(&r);
		usleep(50000);
	}
	cr_assert_not_null(text, "nothing reached the terminal");
	cr_assert_str_eq(text, "typed by mcpX done\n");
	free(text);
	ok_done(&m, "mouse_down", "{'x':10,'y':10,'button':'middle'}");
	ok_done(&m, "mouse_up", "{'button':'middle'}");
	ok_done(&m, "scroll", "{'dy':-1,'dx':1}");
	ok_done(&m, "wait", "{'ms':0}");
	cr_assert_eq(mcp_finish(&m), 0);
	cr_assert_eq(mxc_session_activity(&h, id, "type"), 3);
	free(id);
}

Test(mcp, input_is_a_tool_error_when_the_policy_forbids_it)
{
	free(mxc_ok(&h, "agent", "add", "viewer", NULL));
	const char *policy = policy_file("no-input", "{\"version\":\"mxc/1\",\"ui\":{"
						     "\"allowWindows\":true,"
						     "\"allowInputInjection\":false}}");
	char *id = mxc_ok(&h, "session", "start", "viewer", "--policy", policy, NULL);
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2025-11-25");
	/* Looking is allowed. */
	json_object_put(screenshot(&m, "{'max_edge':100}", 100, 63));
	static const char *const denied[][2] = {
		{ "click", "{'x':1,'y':1}" }, { "type", "{'text':'x'}" }, { "key", "{'keys':'a'}" },
		{ "move", "{'x':1,'y':1}" },  { "scroll", "{'dy':1}" },
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(denied); i++) {
		char *msg = fails(&m, denied[i][0], denied[i][1]);
		assert_contains(msg, "input injection is not allowed");
		assert_contains(msg, "allowInputInjection");
		free(msg);
	}
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);
}

/* ---- the clipboard ---- */

Test(mcp, clipboard_text_and_images_cross_as_the_policy_allows)
{
	free(mxc_ok(&h, "agent", "add", "clerk", NULL));
	const char *policy = policy_file(
		"clipboard",
		"{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":true,"
		"\"allowInputInjection\":true,\"clipboard\":\"all\"},\"session\":{\"clipboard\":["
		"{\"direction\":\"agent-to-human\",\"mime\":[\"text/plain\",\"image/png\"],"
		"\"maxBytes\":1048576,\"action\":\"allow\"},"
		"{\"direction\":\"human-to-agent\",\"mime\":[\"text/plain\",\"image/png\"],"
		"\"maxBytes\":1048576,\"action\":\"allow\"}]}}");
	char *id = mxc_ok(&h, "session", "start", "clerk", "--policy", policy, NULL);
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2025-11-25");

	/* Text, exactly, both ways; and really on the session's X clipboard. */
	static const char text[] = "h\u00e9llo \u2713 w\u00f6rld";
	char *args = js("{'text':'%s'}", text);
	struct json_object *resp, *sc = ok(&m, "clipboard_set", args, &resp);
	free(args);
	cr_assert_str_eq(mxc_test_str(sc, "mime"), "text/plain");
	cr_assert_eq(mxc_test_int(sc, "bytes"), 17);
	json_object_put(resp);
	char *out = mxc_ok(&h, "exec", id, "--", "xclip", "-o", "-selection", "clipboard", NULL);
	cr_assert_str_eq(out, text);
	free(out);
	struct json_object *res = call(&m, "clipboard_get", NULL, &resp);
	cr_assert_not(is_error(res), "%s", text_of(res));
	cr_assert_str_eq(text_of(res), text);
	json_object_object_get_ex(res, "structuredContent", &sc);
	cr_assert_str_eq(mxc_test_str(sc, "text"), text);
	json_object_put(resp);

	/* A PNG (a small screenshot) goes in as base64 and comes back the same. */
	res = call(&m, "screenshot", "{'scale':{'width':8,'height':5}}", &resp);
	char *png = image_data(res);
	json_object_put(resp);
	args = js("{'data':'%s'}", png);
	sc = ok(&m, "clipboard_set", args, &resp);
	free(args);
	cr_assert_str_eq(mxc_test_str(sc, "mime"), "image/png");
	json_object_put(resp);
	res = call(&m, "clipboard_get", "{'mime':'image/png'}", &resp);
	cr_assert_not(is_error(res), "%s", text_of(res));
	char *back = image_data(res);
	cr_assert_str_eq(back, png, "the image changed on the clipboard");
	uint32_t w, hh;
	image_size(res, &w, &hh);
	cr_assert(w == 8 && hh == 5);
	json_object_put(resp);
	free(back);
	free(png);

	static const char *const bad[][2] = {
		{ "{}", "'text' or 'data' is needed" },
		{ "{'text':'a','data':'iVBORw0KGgo='}", "exclude each other" },
		{ "{'data':'not base64!'}", "not base64" },
		{ "{'data':'aGVsbG8gd29ybGQ='}", "not a PNG" },
		{ "{'text':'a','mime':'image/png'}", "goes with 'data'" },
		{ "{'text':'a','mime':'text/html'}", "'mime': must be one of" },
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++) {
		char *msg = fails(&m, "clipboard_set", bad[i][0]);
		assert_contains(msg, bad[i][1]);
		free(msg);
	}
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);

	/* The default policy lets nothing cross: refused, with the policy's reason. */
	id = mxc_harness_session(&h, "coder");
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2025-11-25");
	char *msg = fails(&m, "clipboard_get", NULL);
	assert_contains(msg, "ui.clipboard");
	free(msg);
	msg = fails(&m, "clipboard_set", "{'text':'x'}");
	assert_contains(msg, "ui.clipboard");
	free(msg);
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);
}

/* ---- bad input ---- */

Test(mcp, bad_arguments_are_tool_errors_naming_the_argument)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2025-11-25");
	static const char *const cases[][3] = {
		{ "click", "{'x':'10','y':5}", "'x': must be an integer" },
		{ "click", "{'x':10.5,'y':5}", "'x': must be an integer" },
		{ "click", "{'x':10}", "'x' and 'y' go together" },
		{ "click", "{'button':'thumb'}", "'button': must be one of" },
		{ "click", "{'count':4}", "'count': must be between 1 and 3" },
		{ "click", "{'session':'abcdef'}", "'session': unknown argument" },
		{ "move", "{'x':-1,'y':0}", "'x': must be between 0 and" },
		{ "move", "{'x':1}", "'y': missing" },
		{ "move", "{'x':5000,'y':10,'coordinates':'screen'}", "off the 1280x800 screen" },
		{ "move", "{'x':1,'y':1,'coordinates':'image'}", "'coordinates': must be one of" },
		{ "drag", "{'path':[[1,1]]}", "'path': must have 2 to 10000 items" },
		{ "drag", "{'path':[[1,1],[2]]}", "'path[1]': must have 2 items" },
		{ "drag", "{'path':[[1,1],[2,'a']]}", "'path[1][1]': must be an integer" },
		{ "key", "{}", "'keys': missing" },
		{ "key", "{'keys':''}", "'keys': must not be empty" },
		{ "key", "{'keys':'nosuchkey'}", "nosuchkey" },
		{ "type", "{'text':5}", "'text': must be a string" },
		{ "wait", "{'ms':60001}", "'ms': must be between 0 and 60000" },
		{ "scroll", "{'x':1,'y':1}", "'dx' or 'dy'" },
		{ "screenshot", "{'region':{'x':0,'y':0}}", "'region.width': missing" },
		{ "screenshot", "{'max_edge':0}", "'max_edge': must be between 1 and 16384" },
		{ "screen_size", "{'x':1}", "'x': unknown argument (this takes none)" },
		{ "launch", "{'argv':[]}", "'argv': must have 1 to 4096 items" },
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		char *msg = fails(&m, cases[i][0], cases[i][1]);
		assert_contains(msg, cases[i][2]);
		free(msg);
	}
	/* Integral numbers written as 10.0 are integers; null means absent. */
	ok_done(&m, "move", "{'x':10.0,'y':20,'space':null}");
	int64_t x, y;
	pointer_at(&m, &x, &y);
	cr_assert(x == 10 && y == 20);
	/* arguments may be left out when a tool takes none; not a string, though. */
	struct json_object *res, *resp =
		mcp_request(&m, "tools/call", "{\"name\":\"screen_size\"}");
	cr_assert(json_object_object_get_ex(resp, "result", &res) && !is_error(res));
	json_object_put(resp);
	resp = mcp_request(&m, "tools/call", "{\"name\":\"screen_size\",\"arguments\":\"x\"}");
	cr_assert_eq(mcp_error_code(resp), -32602);
	json_object_put(resp);
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);
}

Test(mcp, protocol_errors_are_json_rpc_errors)
{
	struct mcp m;
	mcp_start(&m, NULL, "abcdef", NULL);
	initialize(&m, "2025-11-25");
	struct json_object *resp;
	/* Unknown tools and methods, malformed params. */
	resp = mcp_request(&m, "tools/call", "{\"name\":\"no_such_tool\",\"arguments\":{}}");
	cr_assert_eq(mcp_error_code(resp), -32602);
	assert_contains(mxc_json_str(resp, NULL), "no_such_tool");
	json_object_put(resp);
	resp = mcp_request(&m, "tools/call", "{\"arguments\":{}}");
	cr_assert_eq(mcp_error_code(resp), -32602);
	json_object_put(resp);
	resp = mcp_request(&m, "resources/list", NULL);
	cr_assert_eq(mcp_error_code(resp), -32601);
	json_object_put(resp);
	resp = mcp_request(&m, "ping", "[1]");
	cr_assert_eq(mcp_error_code(resp), -32602);
	json_object_put(resp);

	static const struct {
		const char *line;
		int code;
		const char *id; /* as echoed */
	} cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"", -32700, "null" },
		{ "not json at all", -32700, "null" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing", -32700, "null" },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600, "null" },
		{ "42", -32600, "null" },
		{ "{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"ping\"}", -32600, "5" },
		{ "{\"id\":6,\"method\":\"ping\"}", -32600, "6" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", -32600, "null" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600, "null" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", -32600, "null" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":3}", -32600, "7" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":\"s-8\",\"method\":\"nope\"}", -32601, "\"s-8\"" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"params\":\"x\"}", -32600,
		  "9" },
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		mcp_send(&m, cases[i].line);
		resp = mcp_recv(&m);
		struct json_object *rid = NULL;
		json_object_object_get_ex(resp, "id", &rid);
		cr_assert_str_eq(rid ? mxc_json_str(rid, NULL) : "null", cases[i].id, "%s -> %s",
				 cases[i].line, mxc_json_str(resp, NULL));
		cr_assert_eq(mcp_error_code(resp), cases[i].code, "%s -> %s", cases[i].line,
			     mxc_json_str(resp, NULL));
		json_object_put(resp);
	}

	/* Ids come back exactly as sent: strings, big integers. */
	static const char *const ids[] = { "\"abc\"", "\"\"", "0", "-3", "9007199254740993",
					   "\"\\u00e9\\n\"" };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(ids); i++) {
		char line[256];
		snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}",
			 ids[i]);
		mcp_send(&m, line);
		resp = mcp_recv(&m);
		struct json_object *rid = NULL, *want = mxc_test_json(ids[i]);
		cr_assert(json_object_object_get_ex(resp, "id", &rid) &&
				  json_object_equal(rid, want),
			  "sent id %s, got %s", ids[i], mxc_json_str(resp, NULL));
		cr_assert(json_object_object_get_ex(resp, "result", NULL));
		json_object_put(want);
		json_object_put(resp);
	}

	/* Notifications, known or not, valid or not, and responses get no answer. */
	mcp_send(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
		     "\"params\":{\"requestId\":1}}");
	mcp_send(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}");
	mcp_send(&m, "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}");
	mcp_send(&m, "{\"jsonrpc\":\"2.0\",\"id\":77,\"result\":{}}");
	mcp_send(&m, "");
	mcp_send(&m, "   ");
	resp = mcp_request(&m, "ping", NULL); /* checks that this is the next answer */
	json_object_put(resp);

	/* A line over the limit is refused, and the server reads on after it. */
	size_t big = (9u << 20);
	char *line = malloc(big + 1);
	memset(line, ' ', big);
	memcpy(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"", 45);
	line[big - 2] = '"';
	line[big - 1] = '}';
	line[big] = '\0';
	mcp_send(&m, line);
	free(line);
	resp = mcp_recv(&m);
	cr_assert_eq(mcp_error_code(resp), -32600);
	json_object_put(resp);
	resp = mcp_request(&m, "ping", NULL);
	json_object_put(resp);
	/* The end of input ends the server, successfully. */
	cr_assert_eq(mcp_finish(&m), 0);
}

/* ---- the session and the daemon ---- */

Test(mcp, session_comes_from_the_argument_or_the_environment)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, id, NULL);
	initialize(&m, "2025-11-25");
	struct json_object *resp, *sc = ok(&m, "screen_size", NULL, &resp);
	cr_assert_eq(mxc_test_int(sc, "height"), 800);
	json_object_put(resp);
	cr_assert_eq(mcp_finish(&m), 0);
	/* Neither: a usage error, nothing on stdout. */
	mcp_start(&m, NULL, NULL);
	cr_assert_eq(mcp_finish(&m), 2);
	mcp_start(&m, NULL, id, "--max-edge", "0", NULL);
	cr_assert_eq(mcp_finish(&m), 2);
	/* Another session than the server's is out of reach. */
	mcp_start(&m, NULL, "abcdef", NULL);
	char *msg = fails(&m, "screen_size", NULL);
	assert_contains(msg, "abcdef");
	free(msg);
	cr_assert_eq(mcp_finish(&m), 0);
	free(id);
}

Test(mcp, an_agent_inside_its_session_needs_no_id)
{
	char *id = mxc_harness_session(&h, "coder");
	/*
	 * The build tree is not in the session's view of the file system: the agent gets a copy
	 * of mxc in its home, as it would find it in /usr/bin on a real host.
	 */
	char src[300], dst[300], *exe;
	size_t len;
	snprintf(src, sizeof(src), "%s/cli/mxc", h.bin);
	snprintf(dst, sizeof(dst), "%s/home/coder/mxc", h.state);
	cr_assert_eq(mxc_read_file(src, 256 << 20, &exe, &len), 0);
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, exe, len), 0);
	close(fd);
	free(exe);
	char script[1024];
	/* The agent's own mxc, on the session's own socket ($MXC_SOCKET, $MXC_SESSION). */
	snprintf(script, sizeof(script),
		 "printf '%%s\\n' "
		 "'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
		 "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
		 "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}' "
		 "'{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
		 "{\"name\":\"click\",\"arguments\":{\"x\":12,\"y\":34}}}' "
		 "'{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":"
		 "{\"name\":\"cursor_position\",\"arguments\":{}}}' "
		 "| ./mxc mcp");
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", script, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	char *second = strchr(r.out, '\n'), *third = second ? strchr(second + 1, '\n') : NULL;
	cr_assert_not_null(third, "%s", r.out);
	*third = '\0';
	struct json_object *o = mxc_test_json(third + 1), *res, *sc;
	cr_assert(json_object_object_get_ex(o, "result", &res), "%s", third + 1);
	cr_assert_not(is_error(res), "%s", third + 1);
	cr_assert(json_object_object_get_ex(res, "structuredContent", &sc));
	cr_assert(mxc_test_int(sc, "screen_x") == 12 && mxc_test_int(sc, "screen_y") == 34, "%s",
		  third + 1);
	json_object_put(o);
	mxc_result_free(&r);
	free(id);
}

/*
 * Waits until screen_size answers the session's 1280x800 after a daemon restart: an adopted
 * session knows its screen size only once its display helper is back, and says 0x0 until
 * then (a daemon matter, reported).
 */
static void screen_is_back(struct mcp *m)
{
	int64_t width = 0;
	for (int i = 0; i < 100 && width != 1280; i++) {
		struct json_object *resp, *sc = ok(m, "screen_size", NULL, &resp);
		width = mxc_test_int(sc, "width");
		json_object_put(resp);
		if (width != 1280)
			usleep(50000);
	}
	cr_assert_eq(width, 1280, "the adopted session's screen did not come back");
}

Test(mcp, the_daemon_going_away_makes_tool_errors_and_its_return_is_noticed)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mcp m;
	mcp_start(&m, NULL, id, NULL);
	initialize(&m, "2025-11-25");
	json_object_put(screenshot(&m, "{'max_edge':320}", 320, 200));

	/* Gone between calls. */
	mxc_harness_kill_daemon(&h);
	char *msg = fails(&m, "screen_size", NULL);
	assert_contains(msg, "cannot reach mxc-sessiond");
	free(msg);
	msg = fails(&m, "click", "{'x':1,'y':1}");
	assert_contains(msg, "cannot reach mxc-sessiond");
	free(msg);
	cr_assert(mxc_pid_alive(m.pid));
	/* Back (it adopts the session): the next call reconnects. */
	mxc_harness_start_daemon(&h);
	screen_is_back(&m);
	/* The last screenshot's mapping still holds. */
	struct json_object *resp, *sc = ok(&m, "move", "{'x':100,'y':100}", &resp);
	cr_assert_eq(mxc_test_int(sc, "screen_x"), 402);
	json_object_put(resp);

	/* Gone during a call: answered as an error, never a crash. */
	mcp_send(&m, "{\"jsonrpc\":\"2.0\",\"id\":\"w\",\"method\":\"tools/call\",\"params\":"
		     "{\"name\":\"hold_key\",\"arguments\":{\"keys\":\"shift\",\"ms\":3000}}}");
	usleep(300000);
	mxc_harness_kill_daemon(&h);
	resp = mcp_recv(&m);
	struct json_object *res;
	cr_assert(json_object_object_get_ex(resp, "result", &res), "%s", mxc_json_str(resp, NULL));
	cr_assert(is_error(res));
	assert_contains(text_of(res), "may or may not have taken effect");
	json_object_put(resp);
	mxc_harness_start_daemon(&h);
	mcp_send(&m, "{\"jsonrpc\":\"2.0\",\"id\":\"w2\",\"method\":\"tools/call\",\"params\":"
		     "{\"name\":\"wait\",\"arguments\":{\"ms\":3000}}}");
	usleep(300000);
	mxc_harness_kill_daemon(&h);
	resp = mcp_recv(&m);
	cr_assert(json_object_object_get_ex(resp, "result", &res) && is_error(res), "%s",
		  mxc_json_str(resp, NULL));
	json_object_put(resp);

	mxc_harness_start_daemon(&h);
	screen_is_back(&m);
	cr_assert_eq(mcp_finish(&m), 0);
	char *err = mcp_stderr(&m);
	assert_contains(err, "reconnected");
	free(err);
	free(id);
}
