/*
 * Unit tests for policies/: what a policy author sees (accepted, refused with a path and a
 * reason, warned about), what the daemon gets (the effective struct), and the normalized
 * form (round trip, digest).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "digest.h"
#include "fs.h"
#include "json.h"
#include "policy.h"

#ifndef POLICY_SOURCE_DIR
#define POLICY_SOURCE_DIR "."
#endif

/* ---- helpers ------------------------------------------------------------------------ */

static const char *source_root(void)
{
	const char *s = getenv("MXC_SOURCE_ROOT");
	return s && *s ? s : POLICY_SOURCE_DIR;
}

/*
 * Builds a policy text from a body written with single quotes (JSON needs double ones):
 * pol("'ui':{'allowWindows':true}") is {"version":"mxc/1","ui":{"allowWindows":true}}.
 * The result lives in one of 16 rotating static buffers.
 */
static char *quote(const char *prefix, const char *body, const char *suffix)
{
	static char bufs[16][256 * 1024];
	static unsigned next;
	char *b = bufs[next++ % 16];
	int n = snprintf(b, sizeof(bufs[0]), "%s%s%s", prefix, body, suffix);
	cr_assert(n > 0 && (size_t)n < sizeof(bufs[0]), "test policy too long");
	for (char *q = b; *q; q++)
		if (*q == '\'')
			*q = '"';
	return b;
}

static char *pol(const char *body)
{
	return quote(*body ? "{'version':'mxc/1'," : "{'version':'mxc/1'", body, "}");
}

static char *pol_v(const char *version, const char *body)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "{'version':'%s'%s", version, *body ? "," : "");
	return quote(prefix, body, "}");
}

static struct mxc_policy *parse_ok(const char *json)
{
	struct mxc_policy *p = NULL;
	struct mxc_error e = {0};
	int r = mxc_policy_parse(json, strlen(json), &p, &e);
	cr_assert_eq(r, 0, "refused (%d): %s\n%s", r, e.msg, json);
	cr_assert_not_null(p);
	cr_assert_not_null(p->warnings);
	return p;
}

static void expect_refused(const char *json, int code, const char *msg)
{
	struct mxc_policy *p = NULL;
	struct mxc_error e = {0};
	int r = mxc_policy_parse(json, strlen(json), &p, &e);
	cr_expect_eq(r, code, "%s\n  got %d (%s), want %d", json, r, e.msg, code);
	cr_expect_str_eq(e.msg, msg, "%s\n  got:  %s\n  want: %s", json, e.msg, msg);
	cr_expect_null(p, "%s: ret written on failure", json);
	mxc_policy_free(p);
}

struct refusal {
	const char *json; /* a pol() body */
	int code;
	const char *msg;
};

static void expect_refusals(const struct refusal *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_refused(pol(cases[i].json), cases[i].code, cases[i].msg);
}

static void expect_warnings(const struct mxc_policy *p, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	cr_expect_eq(mxc_strv_length(p->warnings), n, "want %zu warnings, got %zu", n,
		     mxc_strv_length(p->warnings));
	for (size_t i = 0; i < n && p->warnings[i]; i++)
		cr_expect_str_eq(p->warnings[i], want[i]);
}

static char *normalized(const struct mxc_policy *p)
{
	struct json_object *o = mxc_policy_to_json(p);
	cr_assert_not_null(o);
	char *s = strdup(mxc_json_str(o, NULL));
	json_object_put(o);
	cr_assert_not_null(s);
	return s;
}

/* parse(to_json(p)) == p, and normalizing is idempotent. */
static void expect_round_trip(const struct mxc_policy *p)
{
	char *text = normalized(p);
	struct mxc_policy *q = parse_ok(text);
	cr_expect(mxc_policy_equal(p, q), "round trip changed the policy:\n%s", text);
	cr_expect_eq(mxc_strv_length(q->warnings), 0, "normalized policy has warnings");
	char *again = normalized(q);
	cr_expect_str_eq(again, text, "normalizing is not idempotent");
	char d1[65], d2[65];
	cr_expect_eq(mxc_policy_digest(p, d1), 0);
	cr_expect_eq(mxc_policy_digest(q, d2), 0);
	cr_expect_str_eq(d1, d2);
	free(again);
	free(text);
	mxc_policy_free(q);
}

static char *read_source_file(const char *rel, size_t *ret_len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", source_root(), rel);
	char *text = NULL;
	size_t len = 0;
	int r = mxc_read_file(path, 4 * MXC_POLICY_MAX_BYTES, &text, &len);
	cr_assert_eq(r, 0, "cannot read %s: %s", path, strerror(-r));
	if (ret_len)
		*ret_len = len;
	return text;
}

static struct mxc_policy *parse_file_ok(const char *rel)
{
	size_t len;
	char *text = read_source_file(rel, &len);
	struct mxc_policy *p = NULL;
	struct mxc_error e = {0};
	int r = mxc_policy_parse(text, len, &p, &e);
	cr_assert_eq(r, 0, "%s refused: %s", rel, e.msg);
	free(text);
	return p;
}

static const char *cidr_str(const struct mxc_policy_cidr *c)
{
	static char buf[MXC_POLICY_CIDR_STRLEN];
	return mxc_policy_cidr_to_string(c, buf, sizeof(buf));
}

/* ---- the shipped examples and the default -------------------------------------------- */

static const char *const examples[] = {
    "policies/default.json",	   "policies/deny-all.json",	    "policies/coding-agent.json",
    "policies/browser-agent.json", "policies/document-worker.json",
};

Test(policy_examples, every_shipped_example_is_valid_without_warnings)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(examples); i++) {
		struct mxc_policy *p = parse_file_ok(examples[i]);
		cr_expect_eq(mxc_strv_length(p->warnings), 0, "%s has warnings", examples[i]);
		cr_expect_str_eq(p->version, MXC_POLICY_VERSION);
		expect_round_trip(p);
		mxc_policy_free(p);
	}
}

Test(policy_examples, default_text_means_the_same_as_default_json)
{
	struct mxc_policy *builtin = parse_ok(mxc_policy_default_text());
	struct mxc_policy *file = parse_file_ok("policies/default.json");
	cr_expect(mxc_policy_equal(builtin, file));
	char d1[65], d2[65];
	cr_assert_eq(mxc_policy_digest(builtin, d1), 0);
	cr_assert_eq(mxc_policy_digest(file, d2), 0);
	cr_expect_str_eq(d1, d2);
	mxc_policy_free(builtin);
	mxc_policy_free(file);
}

Test(policy_examples, default_policy_is_a_display_and_nothing_else)
{
	struct mxc_policy *p = parse_ok(mxc_policy_default_text());
	cr_expect(p->ui.allow_windows);
	cr_expect(p->ui.allow_input_injection);
	cr_expect_eq(p->ui.clipboard, MXC_POLICY_CLIPBOARD_NONE);
	cr_expect_eq(p->display.backend, MXC_POLICY_DISPLAY_XVFB);
	cr_expect_eq(p->display.width, 1280);
	cr_expect_eq(p->display.height, 800);
	cr_expect_eq(p->display.depth, 24);
	cr_expect_eq(p->network.egress_default, MXC_POLICY_DENY);
	cr_expect_eq(p->network.n_allow, 0);
	cr_expect_eq(p->network.ingress_default, MXC_POLICY_DENY);
	cr_expect_eq(p->network.host_loopback, MXC_POLICY_DENY);
	cr_expect_null(p->fs.readwrite[0]);
	cr_expect_null(p->fs.readonly[0]);
	cr_expect_null(p->fs.denied[0]);
	cr_expect_null(p->users[0]);
	cr_expect_eq(p->n_clipboard, 0);
	cr_expect_eq(p->n_handoff, 0);
	cr_expect_not(p->inspect.view || p->inspect.shell || p->inspect.control);
	cr_expect_null(p->process);
	cr_expect_eq(p->timeout_ms, 0);
	mxc_policy_free(p);
}

Test(policy_examples, deny_all_denies_everything)
{
	struct mxc_policy *p = parse_file_ok("policies/deny-all.json");
	cr_expect_not(p->ui.allow_windows);
	cr_expect_not(p->ui.allow_input_injection);
	cr_expect_eq(p->ui.clipboard, MXC_POLICY_CLIPBOARD_NONE);
	cr_expect_eq(p->network.egress_default, MXC_POLICY_DENY);
	cr_expect_eq(p->n_clipboard + p->n_handoff, 0);
	cr_expect_null(p->users[0]);
	cr_expect_eq(p->limits.tasks, 64);
	mxc_policy_free(p);
}

Test(policy_examples, coding_agent_blocks_secret_looking_text)
{
	struct mxc_policy *p = parse_file_ok("policies/coding-agent.json");
	const struct mxc_policy_transfer_rule *r = mxc_policy_transfer_match(
	    p->clipboard, p->n_clipboard, MXC_POLICY_AGENT_TO_HUMAN, "text/plain;charset=utf-8");
	cr_assert_not_null(r);
	bool matched = false;
	for (size_t i = 0; r->deny_patterns[i]; i++) {
		regex_t re;
		cr_assert_eq(mxc_policy_compile_pattern(r->deny_patterns[i], &re, NULL), 0);
		matched |= regexec(&re, "key = AKIAABCDEFGHIJKLMNOP", 0, NULL, 0) == 0;
		regfree(&re);
	}
	cr_expect(matched);
	mxc_policy_free(p);
}

/* MXC's own example configurations (../shared/reference/mxc, copied in tests/fuzz). */
static struct mxc_policy *parse_mxc_example(const char *name, int *ret_code, struct mxc_error *e)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "tests/fuzz/corpus/policy/%s", name);
	size_t len;
	char *text = read_source_file(rel, &len);
	struct mxc_policy *p = NULL;
	*ret_code = mxc_policy_parse(text, len, &p, e);
	free(text);
	return p;
}

Test(policy_mxc, example_11_lxc_hello_world_runs_with_warnings)
{
	struct mxc_error e = {0};
	int r;
	struct mxc_policy *p = parse_mxc_example("mxc-11_lxc_hello_world.json", &r, &e);
	cr_assert_eq(r, 0, "%s", e.msg);
	cr_assert_not_null(p->process);
	cr_expect_str_eq(p->process->command_line, "echo 'Hello from LXC container!'");
	cr_expect_str_eq(p->version, "0.6.0-alpha");
	expect_warnings(p,
			(const char *const[]){
			    "containment: ignored: mxc always isolates with its own session "
			    "sandbox (its own namespaces and mounts), not lxc",
			    "containerId: ignored: mxc names sessions itself",
			    "lxc.distribution: ignored: mxc uses the host's system directories",
			    "lxc.release: ignored: mxc uses the host's system directories", NULL});
	cr_expect_not(p->ui.allow_windows);
	cr_expect_eq(p->network.egress_default, MXC_POLICY_DENY);
	expect_round_trip(p);
	mxc_policy_free(p);
}

Test(policy_mxc, example_12_filesystem_access_maps_paths)
{
	struct mxc_error e = {0};
	int r;
	struct mxc_policy *p = parse_mxc_example("mxc-12_lxc_filesystem_access.json", &r, &e);
	cr_assert_eq(r, 0, "%s", e.msg);
	cr_expect_str_eq(p->fs.readonly[0], "/mnt/shared");
	cr_expect_str_eq(p->fs.readwrite[0], "/mnt/output");
	cr_expect_str_eq(p->fs.denied[0], "/etc/shadow");
	cr_expect_null(p->fs.denied[1]);
	expect_round_trip(p);
	mxc_policy_free(p);
}

Test(policy_mxc, example_13_allowed_hosts_is_refused_with_a_pointer_to_egress)
{
	struct mxc_error e = {0};
	int r;
	struct mxc_policy *p = parse_mxc_example("mxc-13_lxc_network_restricted.json", &r, &e);
	cr_expect_eq(r, -EOPNOTSUPP);
	cr_expect_null(p);
	cr_expect_str_eq(e.msg, "network.allowedHosts: not supported: mxc enforces network "
				"policy with a packet filter and cannot match host names; use "
				"network.egress.allow with CIDRs");
}

Test(policy_mxc, example_30_directional_network_is_parsed)
{
	struct mxc_error e = {0};
	int r;
	struct mxc_policy *p = parse_mxc_example("mxc-30_network_0_8_directional.json", &r, &e);
	cr_assert_eq(r, 0, "%s", e.msg);
	expect_warnings(p, (const char *const[]){"containerId: ignored: mxc names sessions itself",
						 NULL}); /* containment "process" needs none */
	const struct mxc_policy_network *n = &p->network;
	cr_expect_eq(n->egress_default, MXC_POLICY_DENY);
	cr_assert_eq(n->n_allow, 1);
	cr_assert_eq(n->allow[0].n_to, 1);
	cr_expect_str_eq(cidr_str(&n->allow[0].to[0].cidr), "192.0.2.0/24");
	cr_assert_eq(n->allow[0].n_ports, 1);
	cr_expect_eq(n->allow[0].ports[0].protocol, MXC_POLICY_PROTO_TCP);
	cr_expect_eq(n->allow[0].ports[0].port, 443);
	cr_expect_eq(n->allow[0].ports[0].end_port, 443);
	cr_expect_eq(n->ingress_default, MXC_POLICY_DENY);
	cr_expect_eq(n->host_loopback, MXC_POLICY_DENY);
	cr_assert_not_null(p->process);
	mxc_policy_free(p);
}

/* ---- top level ----------------------------------------------------------------------- */

Test(policy_top, refuses_what_is_not_a_policy)
{
	expect_refused("", -EINVAL, "invalid JSON at offset 0: unexpected end of data");
	expect_refused("[]", -EINVAL, "policy must be a JSON object");
	expect_refused("\"mxc/1\"", -EINVAL, "policy must be a JSON object");
	expect_refused("{\"version\":\"mxc/1\",}", -EINVAL,
		       "invalid JSON at offset 19: unexpected character");
	expect_refused("{\"version\":\"mxc/1\"} x", -EINVAL,
		       "invalid JSON at offset 20: unexpected character");
}

Test(policy_top, version_is_required_and_exact)
{
	expect_refused("{}", -EINVAL, "version: required (\"mxc/1\" or an MXC version)");
	expect_refused("{\"version\":null}", -EINVAL,
		       "version: required (\"mxc/1\" or an MXC version)");
	const char *bad[] = {"0.9.0-alpha", "mxc/2", "0.8.0", "MXC/1", ""};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++)
		expect_refused(pol_v(bad[i], ""), -EINVAL,
			       "version: must be \"mxc/1\", \"0.8.0-alpha\", \"0.7.0-alpha\" or "
			       "\"0.6.0-alpha\"");
	expect_refused("{\"version\":1}", -EINVAL, "version: must be a string");
	const char *good[] = {"mxc/1", "0.8.0-alpha", "0.7.0-alpha", "0.6.0-alpha"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(good); i++) {
		struct mxc_policy *p = parse_ok(pol_v(good[i], ""));
		cr_expect_str_eq(p->version, good[i]);
		mxc_policy_free(p);
	}
}

Test(policy_top, unknown_keys_are_refused_at_every_level)
{
	static const struct refusal cases[] = {
	    {"'bogus':1", -EINVAL, "bogus: unknown field"},
	    {"'filesystem':{'readPaths':[]}", -EINVAL, "filesystem.readPaths: unknown field"},
	    {"'network':{'egress':{'allow':[{'to':[{'cidr':'10.0.0.0/8','port':1}]}]}}", -EINVAL,
	     "network.egress.allow[0].to[0].port: unknown field"},
	    {"'ui':{'allowWindows':true,'Clipboard':'all'}", -EINVAL,
	     "ui.Clipboard: unknown field"},
	    {"'session':{'display':{'dpi':96}},'ui':{'allowWindows':true}", -EINVAL,
	     "session.display.dpi: unknown field"},
	    {"'process':{'args':[]}", -EINVAL, "process.args: unknown field"},
	    {"'lxc':{'arch':'x86_64'}", -EINVAL, "lxc.arch: unknown field"},
	    {"'processContainer':{'ui':{'x':1}}", -EINVAL, "processContainer.ui.x: unknown field"},
	    {"'x\\u0001\\u00e9':1", -EINVAL, "x???: unknown field"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

Test(policy_top, schema_and_comment_are_ignored_silently)
{
	struct mxc_policy *p = parse_ok(
	    pol("'$schema':'./mxc-config.schema.0.8.0-alpha.json','_comment':{'any':[1,2,{}]}"));
	cr_expect_eq(mxc_strv_length(p->warnings), 0);
	mxc_policy_free(p);
	expect_refused(pol("'$schema':1"), -EINVAL, "$schema: must be a string");
}

Test(policy_top, duplicate_keys_are_refused_with_their_path)
{
	expect_refused("{\"version\":\"mxc/1\",\"version\":\"mxc/1\"}", -EINVAL,
		       "version: duplicate key");
	expect_refused(pol("'ui':{'allowWindows':false,'allowWindows':true}"), -EINVAL,
		       "ui.allowWindows: duplicate key");
	expect_refused(pol("'network':{'egress':{'allow':[{},{'to':[{'cidr':'10.0.0.0/8',"
			   "'cidr':'0.0.0.0/0'}]}]}}"),
		       -EINVAL, "network.egress.allow[1].to[0].cidr: duplicate key");
	/* The same key spelled with an escape is the same key. */
	expect_refused(pol("'ui':{'clipboard':'none','clipbo\\u0061rd':'all'}"), -EINVAL,
		       "ui.clipboard: duplicate key");
	/* Inside ignored members too: a reviewer must read what the parser reads. */
	expect_refused(pol("'_comment':{'a':1,'a':2}"), -EINVAL, "_comment.a: duplicate key");
	/* Equal strings as values are fine. */
	struct mxc_policy *p = parse_ok(pol("'_comment':['a','a',{'a':'a'}]"));
	mxc_policy_free(p);
}

Test(policy_top, keys_with_nul_are_refused)
{
	expect_refused("{\"version\":\"mxc/1\",\"ui\\u0000x\":{}}", -EINVAL,
		       "invalid key at offset 19: contains a NUL character");
	/* An escaped backslash followed by u0000 is no NUL. */
	expect_refused("{\"version\":\"mxc/1\",\"a\\\\u0000\":1}", -EINVAL,
		       "a\\u0000: unknown field");
}

Test(policy_top, timeout_is_bounded)
{
	static const struct refusal cases[] = {
	    {"'timeoutMs':0", -EINVAL, "timeoutMs: must be between 1 and 9007199254740992"},
	    {"'timeoutMs':-5", -EINVAL, "timeoutMs: must be between 1 and 9007199254740992"},
	    {"'timeoutMs':9007199254740993", -EINVAL,
	     "timeoutMs: must be between 1 and 9007199254740992"},
	    {"'timeoutMs':99999999999999999999999", -EINVAL,
	     "timeoutMs: must be between 1 and 9007199254740992"},
	    {"'timeoutMs':1.5", -EINVAL, "timeoutMs: must be an integer"},
	    {"'timeoutMs':1e3", -EINVAL, "timeoutMs: must be an integer"},
	    {"'timeoutMs':'1000'", -EINVAL, "timeoutMs: must be an integer"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
	struct mxc_policy *p = parse_ok(pol("'timeoutMs':9007199254740992"));
	cr_expect_eq(p->timeout_ms, 1ull << 53);
	mxc_policy_free(p);
	p = parse_ok(pol("'timeoutMs':null"));
	cr_expect_eq(p->timeout_ms, 0);
	mxc_policy_free(p);
}

/* ---- omitted means denied ------------------------------------------------------------ */

Test(policy_defaults, an_empty_policy_denies_everything)
{
	const char *texts[] = {pol(""), pol_v("0.8.0-alpha", ""), pol_v("0.6.0-alpha", ""),
			       pol("'filesystem':null,'network':null,'ui':null,'session':null,"
				   "'process':null,'timeoutMs':null"),
			       pol("'filesystem':{},'network':{'egress':{},'ingress':{}},'ui':{},"
				   "'session':{'inspect':{}}")};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(texts); i++) {
		struct mxc_policy *p = parse_ok(texts[i]);
		cr_expect_not(p->ui.allow_windows);
		cr_expect_not(p->ui.allow_input_injection);
		cr_expect_eq(p->ui.clipboard, MXC_POLICY_CLIPBOARD_NONE);
		cr_expect_eq(p->network.egress_default, MXC_POLICY_DENY);
		cr_expect_eq(p->network.ingress_default, MXC_POLICY_DENY);
		cr_expect_eq(p->network.host_loopback, MXC_POLICY_DENY);
		cr_expect_eq(p->network.n_allow + p->network.n_deny, 0);
		cr_expect_null(p->fs.readwrite[0]);
		cr_expect_null(p->fs.readonly[0]);
		cr_expect_null(p->fs.denied[0]);
		cr_expect_eq(p->n_clipboard + p->n_handoff, 0);
		cr_expect_null(p->inspect.principals[0]);
		cr_expect_not(p->inspect.view || p->inspect.shell || p->inspect.control);
		cr_expect_null(p->users[0]);
		cr_expect_null(p->process);
		cr_expect_eq(p->timeout_ms, 0);
		cr_expect_eq(p->limits.memory_bytes, MXC_POLICY_DEFAULT_MEMORY_BYTES);
		cr_expect_eq(p->limits.tasks, MXC_POLICY_DEFAULT_TASKS);
		cr_expect_eq(p->limits.tmp_bytes, MXC_POLICY_DEFAULT_TMP_BYTES);
		cr_expect_eq(mxc_strv_length(p->warnings), 0);
		mxc_policy_free(p);
	}
}

Test(policy_defaults, normalized_form_spells_out_every_default)
{
	struct mxc_policy *p = parse_ok(pol("'ui':{'allowWindows':true}"));
	char *s = normalized(p);
	cr_expect_str_eq(
	    s, "{\"version\":\"mxc/1\",\"timeoutMs\":null,\"filesystem\":{\"readwritePaths\":[],"
	       "\"readonlyPaths\":[],\"deniedPaths\":[]},\"network\":{\"egress\":{\"default\":"
	       "\"deny\",\"allow\":[],\"deny\":[]},\"ingress\":{\"default\":\"deny\","
	       "\"hostLoopback\":\"deny\"}},\"ui\":{\"allowWindows\":true,\"clipboard\":"
	       "\"none\",\"allowInputInjection\":false},\"session\":{\"display\":{\"backend\":"
	       "\"xvfb\",\"width\":1280,\"height\":800,\"depth\":24},\"limits\":{"
	       "\"memoryBytes\":null,\"tasks\":1024,\"tmpBytes\":536870912},\"clipboard\":[],"
	       "\"handoff\":[],\"inspect\":{\"principals\":[],\"view\":false,\"shell\":false,"
	       "\"control\":false},\"users\":[]}}");
	free(s);
	mxc_policy_free(p);
}

/* ---- filesystem ---------------------------------------------------------------------- */

Test(policy_fs, paths_are_normalized_and_sorted)
{
	expect_refused(pol("'filesystem':{'readwritePaths':['//srv//b/./c/','/','/.']}"), -EINVAL,
		       "filesystem.readwritePaths[2]: \"/\" is listed twice (also at "
		       "readwritePaths[1])");

	struct mxc_policy *p = parse_ok(
	    pol("'filesystem':{'readwritePaths':['//srv//b/./c/','/srv/a','/'],"
		"'readonlyPaths':['/usr/share/./doc//'],'deniedPaths':['/srv/b/c/.ssh']}"));
	cr_expect_str_eq(p->fs.readwrite[0], "/");
	cr_expect_str_eq(p->fs.readwrite[1], "/srv/a");
	cr_expect_str_eq(p->fs.readwrite[2], "/srv/b/c");
	cr_expect_null(p->fs.readwrite[3]);
	cr_expect_str_eq(p->fs.readonly[0], "/usr/share/doc");
	cr_expect_str_eq(p->fs.denied[0], "/srv/b/c/.ssh");
	expect_round_trip(p);
	mxc_policy_free(p);
}

Test(policy_fs, bad_paths_are_refused)
{
	char long_path[PATH_MAX + 16];
	long_path[0] = '/';
	memset(long_path + 1, 'a', PATH_MAX);
	long_path[PATH_MAX + 1] = '\0';
	char body[PATH_MAX + 64];
	snprintf(body, sizeof(body), "'filesystem':{'deniedPaths':['%s']}", long_path);
	expect_refused(pol(body), -EINVAL, "filesystem.deniedPaths[0]: longer than 4095 bytes");
	/* Exactly PATH_MAX - 1 bytes is fine. */
	long_path[PATH_MAX - 1] = '\0';
	snprintf(body, sizeof(body), "'filesystem':{'deniedPaths':['%s']}", long_path);
	mxc_policy_free(parse_ok(pol(body)));

	static const struct refusal cases[] = {
	    {"'filesystem':{'readwritePaths':['srv/a']}", -EINVAL,
	     "filesystem.readwritePaths[0]: must be an absolute path (\"srv/a\")"},
	    {"'filesystem':{'readwritePaths':['./a']}", -EINVAL,
	     "filesystem.readwritePaths[0]: must be an absolute path (\"./a\")"},
	    {"'filesystem':{'readwritePaths':['~/a']}", -EINVAL,
	     "filesystem.readwritePaths[0]: must be an absolute path (\"~/a\")"},
	    {"'filesystem':{'readonlyPaths':['/ok','/srv/../etc']}", -EINVAL,
	     "filesystem.readonlyPaths[1]: must not contain '..' components (\"/srv/../etc\")"},
	    {"'filesystem':{'readonlyPaths':['/srv/..']}", -EINVAL,
	     "filesystem.readonlyPaths[0]: must not contain '..' components (\"/srv/..\")"},
	    {"'filesystem':{'deniedPaths':['']}", -EINVAL,
	     "filesystem.deniedPaths[0]: must not be empty"},
	    {"'filesystem':{'deniedPaths':['/a\\nb']}", -EINVAL,
	     "filesystem.deniedPaths[0]: must not contain control characters"},
	    {"'filesystem':{'deniedPaths':['/a\\u007f']}", -EINVAL,
	     "filesystem.deniedPaths[0]: must not contain control characters"},
	    {"'filesystem':{'deniedPaths':['/a\\u0000b']}", -EINVAL,
	     "filesystem.deniedPaths[0]: must not contain NUL characters"},
	    {"'filesystem':{'deniedPaths':[1]}", -EINVAL,
	     "filesystem.deniedPaths[0]: must be a string"},
	    {"'filesystem':{'deniedPaths':'/etc'}", -EINVAL,
	     "filesystem.deniedPaths: must be an array"},
	    {"'filesystem':[]", -EINVAL, "filesystem: must be an object"},
	    {"'filesystem':{'readwritePaths':['/srv/a','/srv/b','/srv//a/']}", -EINVAL,
	     "filesystem.readwritePaths[2]: \"/srv/a\" is listed twice (also at "
	     "readwritePaths[0])"},
	    {"'filesystem':{'readwritePaths':['/srv/a'],'deniedPaths':['/x','/srv/a/']}", -EINVAL,
	     "filesystem.deniedPaths[1]: \"/srv/a\" is also in filesystem.readwritePaths[0]"},
	    {"'filesystem':{'readonlyPaths':['/b','/srv/a'],'deniedPaths':['/srv/./a']}", -EINVAL,
	     "filesystem.deniedPaths[0]: \"/srv/a\" is also in filesystem.readonlyPaths[1]"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

static char *big_array_policy(const char *prefix, const char *item, size_t n, const char *suffix)
{
	size_t cap = strlen(prefix) + n * (strlen(item) + 16) + strlen(suffix) + 64;
	char *s = malloc(cap);
	cr_assert_not_null(s);
	size_t o = (size_t)snprintf(s, cap, "%s", prefix);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, i ? ",\"%s%zu\"" : "\"%s%zu\"", item, i);
	snprintf(s + o, cap - o, "%s", suffix);
	return s;
}

Test(policy_fs, at_most_256_paths_per_list)
{
	char *s = big_array_policy("{\"version\":\"mxc/1\",\"filesystem\":{\"readonlyPaths\":[",
				   "/p/", 256, "]}}");
	struct mxc_policy *p = parse_ok(s);
	cr_expect_eq(mxc_strv_length(p->fs.readonly), 256);
	mxc_policy_free(p);
	free(s);
	s = big_array_policy("{\"version\":\"mxc/1\",\"filesystem\":{\"readonlyPaths\":[", "/p/",
			     257, "]}}");
	expect_refused(s, -EINVAL, "filesystem.readonlyPaths: more than 256 entries");
	free(s);
}

/* ---- network ------------------------------------------------------------------------- */

Test(policy_net, egress_rules_are_parsed)
{
	struct mxc_policy *p = parse_ok(
	    pol("'network':{'egress':{'default':'allow','allow':[{'ports':[{'protocol':'icmp'}]},"
		"{'to':[{'cidr':'2001:DB8:0:0::/32','except':['2001:db8:ff::/48']},"
		"{'cidr':'198.51.100.7'}],'ports':[{'port':8000,'endPort':8999},{'protocol':'udp',"
		"'port':53}]}],'deny':[{'to':[{'cidr':'198.51.100.0/24'}]}]},"
		"'ingress':{'default':'allow','hostLoopback':'allow'}}"));
	const struct mxc_policy_network *n = &p->network;
	cr_expect_eq(n->egress_default, MXC_POLICY_ALLOW);
	cr_assert_eq(n->n_allow, 2);
	cr_expect_eq(n->allow[0].n_to, 0, "omitted \"to\" matches every destination");
	cr_assert_eq(n->allow[0].n_ports, 1);
	cr_expect_eq(n->allow[0].ports[0].protocol, MXC_POLICY_PROTO_ICMP);
	cr_expect_eq(n->allow[0].ports[0].port, 0);

	const struct mxc_policy_net_rule *r = &n->allow[1];
	cr_assert_eq(r->n_to, 2);
	cr_expect_eq(r->to[0].cidr.family, AF_INET6);
	cr_expect_eq(r->to[0].cidr.prefix, 32);
	cr_expect_str_eq(cidr_str(&r->to[0].cidr), "2001:db8::/32");
	cr_assert_eq(r->to[0].n_except, 1);
	cr_expect_str_eq(cidr_str(&r->to[0].except[0]), "2001:db8:ff::/48");
	cr_expect_eq(r->to[1].cidr.family, AF_INET);
	cr_expect_eq(r->to[1].cidr.prefix, 32, "a bare address is a host route");
	static const uint8_t addr[16] = {198, 51, 100, 7};
	cr_expect_arr_eq(r->to[1].cidr.addr, addr, 16);
	cr_assert_eq(r->n_ports, 2);
	cr_expect_eq(r->ports[0].protocol, MXC_POLICY_PROTO_ANY, "protocol defaults to any");
	cr_expect_eq(r->ports[0].port, 8000);
	cr_expect_eq(r->ports[0].end_port, 8999);
	cr_expect_eq(r->ports[1].protocol, MXC_POLICY_PROTO_UDP);
	cr_expect_eq(r->ports[1].end_port, 53, "a single port is a range of one");

	cr_assert_eq(n->n_deny, 1);
	cr_expect_str_eq(cidr_str(&n->deny[0].to[0].cidr), "198.51.100.0/24");
	cr_expect_eq(n->ingress_default, MXC_POLICY_ALLOW);
	cr_expect_eq(n->host_loopback, MXC_POLICY_ALLOW);
	expect_round_trip(p);
	mxc_policy_free(p);
}

Test(policy_net, equivalent_spellings_normalize_identically)
{
	struct mxc_policy *a = parse_ok(
	    pol("'network':{'egress':{'allow':[{'to':[{'cidr':'2001:0db8:0000::/32'}],'ports':[{"
		"'port':443}]}]}}"));
	struct mxc_policy *b = parse_ok(pol_v(
	    "0.8.0-alpha", "'network':{'egress':{'default':'deny','allow':[{'to':[{'cidr':"
			   "'2001:db8::/32','except':[]}],'ports':[{'protocol':'any','port':443,"
			   "'endPort':443}]}],'deny':[]}}"));
	cr_expect(mxc_policy_equal(a, b));
	char *na = normalized(a), *nb = normalized(b);
	cr_expect_str_eq(na, nb);
	free(na);
	free(nb);
	mxc_policy_free(a);
	mxc_policy_free(b);
}

Test(policy_net, bad_rules_are_refused_with_their_path)
{
	static const struct refusal cases[] = {
	    {"'network':{'egress':{'allow':[{'ports':[{'port':80}]},{'ports':[{'protocol':"
	     "'tcp','port':443,'endPort':80}]}]}}",
	     -EINVAL, "network.egress.allow[1].ports[0].endPort: must be >= port (443)"},
	    {"'network':{'egress':{'allow':[{'ports':[{'endPort':80}]}]}}", -EINVAL,
	     "network.egress.allow[0].ports[0].endPort: requires port"},
	    {"'network':{'egress':{'allow':[{'ports':[{'protocol':'icmp','port':8}]}]}}", -EINVAL,
	     "network.egress.allow[0].ports[0].port: not allowed with protocol \"icmp\""},
	    {"'network':{'egress':{'allow':[{'ports':[{'protocol':'sctp'}]}]}}", -EINVAL,
	     "network.egress.allow[0].ports[0].protocol: must be one of \"tcp\", \"udp\", "
	     "\"icmp\", \"any\""},
	    {"'network':{'egress':{'allow':[{'ports':[{'port':0}]}]}}", -EINVAL,
	     "network.egress.allow[0].ports[0].port: must be between 1 and 65535"},
	    {"'network':{'egress':{'allow':[{'ports':[{'port':65536}]}]}}", -EINVAL,
	     "network.egress.allow[0].ports[0].port: must be between 1 and 65535"},
	    {"'network':{'egress':{'allow':[{'ports':[]}]}}", -EINVAL,
	     "network.egress.allow[0].ports: must not be empty (omit it to match every protocol "
	     "and port)"},
	    {"'network':{'egress':{'deny':[{'to':[]}]}}", -EINVAL,
	     "network.egress.deny[0].to: must not be empty (omit it to match every "
	     "destination)"},
	    {"'network':{'egress':{'deny':[{'to':[{}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: required"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.1.0.0/8'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: host bits set; did you mean 10.0.0.0/8?"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'2001:db8::1/64'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: host bits set; did you mean 2001:db8::/64?"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.0.0.0/33'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: prefix length must be between 0 and 32"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'::/129'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: prefix length must be between 0 and 128"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.0.0.0/08'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: prefix length must be between 0 and 32"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.0.0.0/'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: prefix length must be between 0 and 32"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.0.0/24'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: \"10.0.0\" is not an IPv4 address"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'example.com'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: \"example.com\" is not an IPv4 address"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'fe80::1%eth0/128'}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: \"fe80::1%eth0\" is not an IPv6 address"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':''}]}]}}", -EINVAL,
	     "network.egress.deny[0].to[0].cidr: must be a CIDR such as 192.0.2.0/24 or "
	     "2001:db8::/32"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.0.0.0/8','except':["
	     "'10.1.0.0/16','11.0.0.0/16']}]}]}}",
	     -EINVAL, "network.egress.deny[0].to[0].except[1]: must lie inside cidr 10.0.0.0/8"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.0.0.0/8','except':["
	     "'10.0.0.0/8']}]}]}}",
	     -EINVAL, "network.egress.deny[0].to[0].except[0]: must lie inside cidr 10.0.0.0/8"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.0.0.0/8','except':["
	     "'::/1']}]}]}}",
	     -EINVAL, "network.egress.deny[0].to[0].except[0]: must lie inside cidr 10.0.0.0/8"},
	    {"'network':{'egress':{'deny':[{'to':[{'cidr':'10.0.0.0/8','except':["
	     "'10.0.0.1/8']}]}]}}",
	     -EINVAL,
	     "network.egress.deny[0].to[0].except[0]: host bits set; did you mean 10.0.0.0/8?"},
	    {"'network':{'egress':{'default':'block'}}", -EINVAL,
	     "network.egress.default: must be one of \"allow\", \"deny\""},
	    {"'network':{'ingress':{'hostLoopback':true}}", -EINVAL,
	     "network.ingress.hostLoopback: must be one of \"allow\", \"deny\""},
	    {"'network':{'egress':{'allow':{}}}", -EINVAL,
	     "network.egress.allow: must be an array"},
	    {"'network':{'egress':{'allow':[[]]}}", -EINVAL,
	     "network.egress.allow[0]: must be an object"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

Test(policy_net, legacy_fields_map_onto_egress_and_ingress)
{
	struct mxc_policy *p =
	    parse_ok(pol_v("0.6.0-alpha", "'network':{'defaultPolicy':'allow','allowLocalNetwork':"
					  "true,'allowedHosts':[],'blockedHosts':null}"));
	cr_expect_eq(p->network.egress_default, MXC_POLICY_ALLOW);
	cr_expect_eq(p->network.ingress_default, MXC_POLICY_ALLOW);
	cr_expect_eq(p->network.host_loopback, MXC_POLICY_DENY);
	cr_expect_eq(mxc_strv_length(p->warnings), 0);
	expect_round_trip(p);
	mxc_policy_free(p);

	p = parse_ok(pol_v("0.7.0-alpha", "'network':{'defaultPolicy':'block','enforcementMode':"
					  "'firewall','allowLocalNetwork':false}"));
	cr_expect_eq(p->network.egress_default, MXC_POLICY_DENY);
	cr_expect_eq(p->network.ingress_default, MXC_POLICY_DENY);
	expect_warnings(p, (const char *const[]){
			       "network.enforcementMode: ignored: mxc always enforces network "
			       "policy with its own packet filter in the session's network "
			       "namespace",
			       NULL});
	mxc_policy_free(p);
}

Test(policy_net, legacy_fields_that_cannot_be_honoured_are_refused)
{
	static const struct refusal cases[] = {
	    {"'network':{'blockedHosts':['ads.example']}", -EOPNOTSUPP,
	     "network.blockedHosts: not supported: mxc enforces network policy with a packet "
	     "filter and cannot match host names; use network.egress.deny with CIDRs"},
	    {"'network':{'allowedHosts':['203.0.113.0/24']}", -EOPNOTSUPP,
	     "network.allowedHosts: not supported: mxc enforces network policy with a packet "
	     "filter and cannot match host names; use network.egress.allow with CIDRs"},
	    {"'network':{'proxy':{'localhost':8080}}", -EOPNOTSUPP,
	     "network.proxy: not supported: mxc does not route sessions through a proxy; allow "
	     "the proxy's address in network.egress and set HTTPS_PROXY in the session's "
	     "environment"},
	    {"'network':{'defaultPolicy':'block','egress':{'default':'deny'}}", -EINVAL,
	     "network.defaultPolicy: legacy MXC field cannot be combined with network.egress"},
	    {"'network':{'ingress':{},'allowLocalNetwork':false}", -EINVAL,
	     "network.allowLocalNetwork: legacy MXC field cannot be combined with "
	     "network.ingress"},
	    {"'network':{'defaultPolicy':'deny'}", -EINVAL,
	     "network.defaultPolicy: must be one of \"allow\", \"block\""},
	    {"'network':{'enforcementMode':'magic'}", -EINVAL,
	     "network.enforcementMode: must be one of \"capabilities\", \"firewall\", "
	     "\"both\""},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
	expect_refused(pol_v("0.6.0-alpha", "'network':{'egress':{'default':'deny'}}"), -EINVAL,
		       "network.egress: requires version \"0.8.0-alpha\" or \"mxc/1\"");
	expect_refused(pol_v("0.7.0-alpha", "'network':{'ingress':{}}"), -EINVAL,
		       "network.ingress: requires version \"0.8.0-alpha\" or \"mxc/1\"");
}

Test(policy_net, counts_are_bounded)
{
	char *s = big_array_policy(
	    "{\"version\":\"mxc/1\",\"network\":{\"egress\":{\"deny\":[{\"to\":[{\"cidr\":"
	    "\"10.0.0.0/8\",\"except\":[",
	    "10.0.0.", 65, "]}]}]}}}");
	/* "10.0.0.64" etc. are valid host routes; there are simply too many. */
	expect_refused(s, -EINVAL, "network.egress.deny[0].to[0].except: more than 64 entries");
	free(s);
}

/* ---- ui ------------------------------------------------------------------------------ */

Test(policy_ui, mxc_names_and_mxc_aliases_mean_the_same)
{
	struct mxc_policy *a = parse_ok(
	    pol("'ui':{'allowWindows':true,'allowInputInjection':true,'clipboard':'read'}"));
	struct mxc_policy *b = parse_ok(
	    pol_v("0.8.0-alpha", "'ui':{'disable':false,'injection':true,'clipboard':'read'}"));
	struct mxc_policy *c = parse_ok(pol("'ui':{'allowWindows':true,'disable':false,"
					    "'allowInputInjection':true,'injection':true,"
					    "'clipboard':'read'}"));
	cr_expect(a->ui.allow_windows && a->ui.allow_input_injection);
	cr_expect_eq(a->ui.clipboard, MXC_POLICY_CLIPBOARD_READ);
	cr_expect(mxc_policy_equal(a, b));
	cr_expect(mxc_policy_equal(a, c));
	mxc_policy_free(a);
	mxc_policy_free(b);
	mxc_policy_free(c);

	a = parse_ok(pol_v("0.8.0-alpha", "'ui':{'disable':true}"));
	cr_expect_not(a->ui.allow_windows);
	mxc_policy_free(a);
}

Test(policy_ui, contradictions_are_refused)
{
	static const struct refusal cases[] = {
	    {"'ui':{'allowWindows':true,'disable':true}", -EINVAL,
	     "ui.disable: conflicts with ui.allowWindows (disable must be the opposite of "
	     "allowWindows)"},
	    {"'ui':{'allowWindows':false,'disable':false}", -EINVAL,
	     "ui.disable: conflicts with ui.allowWindows (disable must be the opposite of "
	     "allowWindows)"},
	    {"'ui':{'allowWindows':true,'allowInputInjection':false,'injection':true}", -EINVAL,
	     "ui.injection: conflicts with ui.allowInputInjection (both must have the same "
	     "value)"},
	    {"'ui':{'clipboard':'all'}", -EINVAL,
	     "ui.clipboard: \"all\" needs a display, but windows are not allowed (set "
	     "ui.allowWindows to true)"},
	    {"'ui':{'disable':true,'clipboard':'write'}", -EINVAL,
	     "ui.clipboard: \"write\" needs a display, but windows are not allowed (set "
	     "ui.allowWindows to true)"},
	    {"'ui':{'injection':true}", -EINVAL,
	     "ui.injection: needs a display, but windows are not allowed (set ui.allowWindows "
	     "to true)"},
	    {"'ui':{'allowInputInjection':true}", -EINVAL,
	     "ui.allowInputInjection: needs a display, but windows are not allowed (set "
	     "ui.allowWindows to true)"},
	    {"'ui':{'allowWindows':'yes'}", -EINVAL, "ui.allowWindows: must be true or false"},
	    {"'ui':{'allowWindows':true,'clipboard':'both'}", -EINVAL,
	     "ui.clipboard: must be one of \"none\", \"read\", \"write\", \"all\""},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

/* ---- session ------------------------------------------------------------------------- */

#define WIN	 "'ui':{'allowWindows':true},"
#define CLIP_ALL "'ui':{'allowWindows':true,'clipboard':'all'},"

Test(policy_session, requires_mxc_version)
{
	expect_refused(pol_v("0.8.0-alpha", "'session':{}"), -EINVAL,
		       "session: requires version \"mxc/1\"");
	expect_refused(pol("'session':[]"), -EINVAL, "session: must be an object");
}

Test(policy_session, display_settings_are_bounded)
{
	struct mxc_policy *p = parse_ok(pol(
	    WIN
	    "'session':{'display':{'backend':'wlroots','width':7680,'height':4320,'depth':16}}"));
	cr_expect_eq(p->display.backend, MXC_POLICY_DISPLAY_WLROOTS);
	cr_expect_eq(p->display.width, 7680);
	cr_expect_eq(p->display.height, 4320);
	cr_expect_eq(p->display.depth, 16);
	expect_round_trip(p);
	mxc_policy_free(p);

	static const struct refusal cases[] = {
	    {WIN "'session':{'display':{'width':319}}", -EINVAL,
	     "session.display.width: must be between 320 and 7680"},
	    {WIN "'session':{'display':{'height':4321}}", -EINVAL,
	     "session.display.height: must be between 200 and 4320"},
	    {WIN "'session':{'display':{'depth':32}}", -EINVAL,
	     "session.display.depth: must be between 16 and 24"},
	    {WIN "'session':{'display':{'depth':20}}", -EINVAL,
	     "session.display.depth: must be 16 or 24"},
	    {WIN "'session':{'display':{'backend':'x11'}}", -EINVAL,
	     "session.display.backend: must be one of \"xvfb\", \"wlroots\""},
	    {"'session':{'display':{}}", -EINVAL,
	     "session.display: given, but windows are not allowed (set ui.allowWindows to "
	     "true)"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

Test(policy_session, limits_are_bounded_and_defaulted)
{
	struct mxc_policy *p = parse_ok(
	    pol("'session':{'limits':{'memoryBytes':16777216,'tasks':1,'tmpBytes':1048576}}"));
	cr_expect_eq(p->limits.memory_bytes, 16ull << 20);
	cr_expect_eq(p->limits.tasks, 1);
	cr_expect_eq(p->limits.tmp_bytes, 1ull << 20);
	expect_round_trip(p);
	mxc_policy_free(p);

	p = parse_ok(pol("'session':{'limits':{'tasks':4194304}}"));
	cr_expect_eq(p->limits.tasks, 4194304);
	cr_expect_eq(p->limits.memory_bytes, 0, "no memory limit unless asked");
	cr_expect_eq(p->limits.tmp_bytes, 512ull << 20);
	mxc_policy_free(p);

	static const struct refusal cases[] = {
	    {"'session':{'limits':{'memoryBytes':16777215}}", -EINVAL,
	     "session.limits.memoryBytes: must be between 16777216 and 9007199254740992"},
	    {"'session':{'limits':{'tasks':0}}", -EINVAL,
	     "session.limits.tasks: must be between 1 and 4194304"},
	    {"'session':{'limits':{'tasks':4194305}}", -EINVAL,
	     "session.limits.tasks: must be between 1 and 4194304"},
	    {"'session':{'limits':{'tmpBytes':1048575}}", -EINVAL,
	     "session.limits.tmpBytes: must be between 1048576 and 9007199254740992"},
	    {"'session':{'limits':{'cpu':2}}", -EINVAL, "session.limits.cpu: unknown field"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

Test(policy_session, clipboard_rules_are_parsed)
{
	struct mxc_policy *p = parse_ok(pol(
	    CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':['Text/Plain',"
		     "'image/*'],'maxBytes':4096,'action':'ask','denyPatterns':['secret',"
		     "'AKIA[0-9A-Z]{16}']},{'direction':'human-to-agent','mime':['*/*'],"
		     "'action':'allow'}]}"));
	cr_assert_eq(p->n_clipboard, 2, "both directions covered: no implicit rule");
	const struct mxc_policy_transfer_rule *r = &p->clipboard[0];
	cr_expect_eq(r->direction, MXC_POLICY_AGENT_TO_HUMAN);
	cr_expect_str_eq(r->mime[0], "image/*");
	cr_expect_str_eq(r->mime[1], "text/plain", "MIME types are lowercased and sorted");
	cr_expect_eq(r->max_bytes, 4096);
	cr_expect_eq(r->action, MXC_POLICY_ASK);
	cr_expect_str_eq(r->deny_patterns[0], "AKIA[0-9A-Z]{16}");
	cr_expect_str_eq(r->deny_patterns[1], "secret");
	cr_expect_not(r->implicit);
	r = &p->clipboard[1];
	cr_expect_eq(r->direction, MXC_POLICY_HUMAN_TO_AGENT);
	cr_expect_eq(r->max_bytes, MXC_POLICY_CLIPBOARD_DEFAULT_BYTES, "omitted maxBytes: 10 MiB");
	cr_expect_null(r->deny_patterns[0]);
	expect_round_trip(p);
	mxc_policy_free(p);
}

Test(policy_session, permitted_direction_without_rule_gets_the_implicit_rule)
{
	struct mxc_policy *p = parse_ok(pol(CLIP_ALL "'session':{'clipboard':[{'direction':"
						     "'human-to-agent','mime':['text/plain'],"
						     "'action':'deny'}]}"));
	cr_assert_eq(p->n_clipboard, 2);
	const struct mxc_policy_transfer_rule *r = &p->clipboard[1];
	cr_expect(r->implicit);
	cr_expect_eq(r->direction, MXC_POLICY_AGENT_TO_HUMAN);
	cr_expect_str_eq(r->mime[0], "image/png");
	cr_expect_str_eq(r->mime[1], "text/plain");
	cr_expect_null(r->mime[2]);
	cr_expect_eq(r->max_bytes, 10ull << 20);
	cr_expect_eq(r->action, MXC_POLICY_ASK);
	expect_round_trip(p);
	mxc_policy_free(p);

	/* An MXC config: ui.clipboard "read" alone gives exactly the implicit paste rule. */
	p = parse_ok(pol_v("0.8.0-alpha", "'ui':{'disable':false,'clipboard':'read'}"));
	cr_assert_eq(p->n_clipboard, 1);
	cr_expect_eq(p->clipboard[0].direction, MXC_POLICY_HUMAN_TO_AGENT);
	char *s = normalized(p);
	cr_expect(strstr(s, "\"clipboard\":[{\"direction\":\"human-to-agent\",\"mime\":["
			    "\"image/png\",\"text/plain\"],\"maxBytes\":10485760,\"action\":"
			    "\"ask\"}]"),
		  "the implicit rule is explicit in the normalized form: %s", s);
	free(s);
	mxc_policy_free(p);
}

Test(policy_session, clipboard_rule_refusals)
{
	static const struct refusal cases[] = {
	    {"'ui':{'allowWindows':true,'clipboard':'read'},'session':{'clipboard':[{"
	     "'direction':'agent-to-human','mime':['text/plain'],'action':'allow'}]}",
	     -EINVAL,
	     "session.clipboard[0].direction: \"agent-to-human\" is forbidden by ui.clipboard "
	     "(\"read\")"},
	    {"'session':{'clipboard':[{'direction':'human-to-agent','mime':['text/plain'],"
	     "'action':'allow'}]}",
	     -EINVAL,
	     "session.clipboard[0].direction: \"human-to-agent\" is forbidden by ui.clipboard "
	     "(\"none\")"},
	    {CLIP_ALL "'session':{'clipboard':[{'mime':['text/plain'],'action':'allow'}]}", -EINVAL,
	     "session.clipboard[0].direction: required"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'both','mime':['text/plain'],"
		      "'action':'allow'}]}",
	     -EINVAL,
	     "session.clipboard[0].direction: must be one of \"agent-to-human\", "
	     "\"human-to-agent\""},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','action':'allow'}]}",
	     -EINVAL, "session.clipboard[0].mime: required"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':[],"
		      "'action':'allow'}]}",
	     -EINVAL, "session.clipboard[0].mime: must not be empty"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':['text'],"
		      "'action':'allow'}]}",
	     -EINVAL,
	     "session.clipboard[0].mime[0]: \"text\" is not a MIME type (type/subtype, type/* "
	     "or */*; no parameters)"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain;charset=utf-8'],'action':'allow'}]}",
	     -EINVAL,
	     "session.clipboard[0].mime[0]: \"text/plain;charset=utf-8\" is not a MIME type "
	     "(type/subtype, type/* or */*; no parameters)"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':['*/plain'],"
		      "'action':'allow'}]}",
	     -EINVAL,
	     "session.clipboard[0].mime[0]: \"*/plain\" is not a MIME type (type/subtype, "
	     "type/* or */*; no parameters)"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain','TEXT/PLAIN'],'action':'allow'}]}",
	     -EINVAL, "session.clipboard[0].mime[1]: \"text/plain\" is listed twice"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'maybe'}]}",
	     -EINVAL, "session.clipboard[0].action: must be one of \"allow\", \"ask\", \"deny\""},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain']}]}",
	     -EINVAL, "session.clipboard[0].action: required"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','maxBytes':67108865}]}",
	     -EINVAL, "session.clipboard[0].maxBytes: must be between 1 and 67108864"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','maxBytes':0}]}",
	     -EINVAL, "session.clipboard[0].maxBytes: must be between 1 and 67108864"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'human-to-agent','mime':["
		      "'text/plain'],'action':'ask','denyPatterns':['x']}]}",
	     -EINVAL,
	     "session.clipboard[0].denyPatterns: only allowed for direction "
	     "\"agent-to-human\""},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','denyPatterns':['(unclosed']}]}",
	     -EINVAL,
	     "session.clipboard[0].denyPatterns[0]: not a valid POSIX extended regular "
	     "expression: Unmatched ( or \\("},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','denyPatterns':['']}]}",
	     -EINVAL, "session.clipboard[0].denyPatterns[0]: must not be empty"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','denyPatterns':['(a)\\\\1']}]}",
	     -EINVAL, "session.clipboard[0].denyPatterns[0]: back-references are not allowed"},
	    {CLIP_ALL
	     "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
	     "'text/plain'],'action':'ask','denyPatterns':['((a{1,100}){1,100}){1,100}']}]}",
	     -EINVAL,
	     "session.clipboard[0].denyPatterns[0]: too complex (nested or long repetitions)"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','denyPatterns':['a{1000}']}]}",
	     -EINVAL,
	     "session.clipboard[0].denyPatterns[0]: repetition counts above 255 are not "
	     "allowed"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','denyPatterns':['a)|b']}]}",
	     -EINVAL,
	     "session.clipboard[0].denyPatterns[0]: unmatched ')'; write \\) for a literal one"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','denyPatterns':['secret|x*']}]}",
	     -EINVAL,
	     "session.clipboard[0].denyPatterns[0]: matches the empty text, so it would deny "
	     "everything"},
	    {CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
		      "'text/plain'],'action':'ask','denyPatterns':['x','x']}]}",
	     -EINVAL, "session.clipboard[0].denyPatterns[1]: \"x\" is listed twice"},
	    {CLIP_ALL "'session':{'clipboard':{}}", -EINVAL, "session.clipboard: must be an array"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

Test(policy_session, deny_patterns_are_bounded)
{
	char body[64 * 1024];
	size_t o =
	    (size_t)snprintf(body, sizeof(body),
			     CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human',"
				      "'mime':['text/plain'],'action':'ask','denyPatterns':[");
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "%s'p%d'", i ? "," : "", i);
	snprintf(body + o, sizeof(body) - o, "]}]}");
	expect_refused(pol(body), -EINVAL,
		       "session.clipboard[0].denyPatterns: more than 32 entries");

	char pat[300];
	memset(pat, 'a', 257);
	pat[257] = '\0';
	snprintf(body, sizeof(body),
		 CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
			  "'text/plain'],'action':'ask','denyPatterns':['%s']}]}",
		 pat);
	expect_refused(pol(body), -EINVAL,
		       "session.clipboard[0].denyPatterns[0]: longer than 256 bytes");
	pat[256] = '\0';
	snprintf(body, sizeof(body),
		 CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':["
			  "'text/plain'],'action':'ask','denyPatterns':['%s']}]}",
		 pat);
	mxc_policy_free(parse_ok(pol(body)));
}

Test(policy_session, handoff_rules)
{
	struct mxc_policy *p = parse_ok(
	    pol("'session':{'handoff':[{'direction':'agent-to-human','mime':['application/pdf'],"
		"'maxBytes':17179869184,'action':'ask'},{'direction':'human-to-agent','mime':["
		"'text/csv'],'action':'allow'}]}"));
	cr_assert_eq(p->n_handoff, 2, "handoff is independent of ui.clipboard");
	cr_expect_eq(p->handoff[0].max_bytes, 16ull << 30);
	cr_expect_eq(p->handoff[1].max_bytes, MXC_POLICY_HANDOFF_DEFAULT_BYTES);
	cr_expect_eq(p->n_clipboard, 0);
	expect_round_trip(p);
	mxc_policy_free(p);

	static const struct refusal cases[] = {
	    {"'session':{'handoff':[{'direction':'agent-to-human','mime':['application/pdf'],"
	     "'maxBytes':17179869185,'action':'ask'}]}",
	     -EINVAL, "session.handoff[0].maxBytes: must be between 1 and 17179869184"},
	    {"'session':{'handoff':[{'direction':'agent-to-human','mime':['application/pdf'],"
	     "'action':'ask','denyPatterns':['x']}]}",
	     -EINVAL, "session.handoff[0].denyPatterns: only allowed in session.clipboard rules"},
	    {"'session':{'handoff':[{'direction':'agent-to-human','mime':['application/pdf'],"
	     "'action':'ask','note':'x'}]}",
	     -EINVAL, "session.handoff[0].note: unknown field"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

Test(policy_session, transfer_match_takes_the_first_matching_rule)
{
	struct mxc_policy *p = parse_ok(pol(
	    CLIP_ALL "'session':{'clipboard':[{'direction':'agent-to-human','mime':['image/png'],"
		     "'action':'deny'},{'direction':'agent-to-human','mime':['image/*',"
		     "'text/plain'],'action':'allow'},{'direction':'human-to-agent','mime':["
		     "'*/*'],'action':'ask'}]}"));
	const struct mxc_policy_transfer_rule *r;
	r = mxc_policy_transfer_match(p->clipboard, p->n_clipboard, MXC_POLICY_AGENT_TO_HUMAN,
				      "image/png");
	cr_expect_eq(r, &p->clipboard[0]);
	r = mxc_policy_transfer_match(p->clipboard, p->n_clipboard, MXC_POLICY_AGENT_TO_HUMAN,
				      "IMAGE/JPEG");
	cr_expect_eq(r, &p->clipboard[1]);
	r = mxc_policy_transfer_match(p->clipboard, p->n_clipboard, MXC_POLICY_AGENT_TO_HUMAN,
				      "text/plain;charset=utf-8");
	cr_expect_eq(r, &p->clipboard[1]);
	cr_expect_null(mxc_policy_transfer_match(p->clipboard, p->n_clipboard,
						 MXC_POLICY_AGENT_TO_HUMAN, "text/html"));
	cr_expect_null(mxc_policy_transfer_match(p->clipboard, p->n_clipboard,
						 MXC_POLICY_AGENT_TO_HUMAN, "image/"));
	cr_expect_null(mxc_policy_transfer_match(p->clipboard, p->n_clipboard,
						 MXC_POLICY_AGENT_TO_HUMAN, "UTF8_STRING"));
	cr_expect_null(mxc_policy_transfer_match(p->clipboard, p->n_clipboard,
						 MXC_POLICY_AGENT_TO_HUMAN, NULL));
	r = mxc_policy_transfer_match(p->clipboard, p->n_clipboard, MXC_POLICY_HUMAN_TO_AGENT,
				      "application/x-anything");
	cr_expect_eq(r, &p->clipboard[2]);
	cr_expect_null(mxc_policy_transfer_match(p->clipboard, p->n_clipboard,
						 MXC_POLICY_HUMAN_TO_AGENT, "noslash"));
	mxc_policy_free(p);
}

Test(policy_session, inspect_and_users)
{
	struct mxc_policy *p = parse_ok(
	    pol(WIN "'session':{'inspect':{'principals':['group:ops','bob'],'view':true,'shell':"
		    "true,'control':true},'users':['alice','group:devs','machine$','_svc.x-y']}"));
	cr_expect_str_eq(p->inspect.principals[0], "bob");
	cr_expect_str_eq(p->inspect.principals[1], "group:ops");
	cr_expect(p->inspect.view && p->inspect.shell && p->inspect.control);
	cr_expect_eq(mxc_strv_length(p->users), 4);
	expect_round_trip(p);
	mxc_policy_free(p);

	/* A shell needs no display. */
	p = parse_ok(pol("'session':{'inspect':{'shell':true}}"));
	cr_expect(p->inspect.shell);
	mxc_policy_free(p);

	static const struct refusal cases[] = {
	    {"'session':{'users':['Alice']}", -EINVAL,
	     "session.users[0]: \"Alice\" is not a valid principal (a user name or "
	     "\"group:NAME\"; lowercase letters, digits, '_', '.', '-')"},
	    {"'session':{'users':['alice','bob','alice']}", -EINVAL,
	     "session.users[2]: \"alice\" is listed twice"},
	    {"'session':{'users':['group:']}", -EINVAL,
	     "session.users[0]: \"group:\" is not a valid principal (a user name or "
	     "\"group:NAME\"; lowercase letters, digits, '_', '.', '-')"},
	    {"'session':{'inspect':{'principals':['root user']}}", -EINVAL,
	     "session.inspect.principals[0]: \"root user\" is not a valid principal (a user "
	     "name or \"group:NAME\"; lowercase letters, digits, '_', '.', '-')"},
	    {"'session':{'inspect':{'view':true}}", -EINVAL,
	     "session.inspect.view: needs a display, but windows are not allowed (set "
	     "ui.allowWindows to true)"},
	    {"'session':{'inspect':{'control':true}}", -EINVAL,
	     "session.inspect.control: needs a display, but windows are not allowed (set "
	     "ui.allowWindows to true)"},
	    {"'session':{'users':'alice'}", -EINVAL, "session.users: must be an array"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

static int search(const char *pattern, const char *text, size_t len)
{
	regex_t re;
	struct mxc_error e = {0};
	cr_assert_eq(mxc_policy_compile_pattern(pattern, &re, &e), 0, "%s: %s", pattern, e.msg);
	int r = mxc_policy_pattern_search(&re, text, len);
	regfree(&re);
	return r;
}

#define SEARCH(p, t) search(p, t, sizeof(t) - 1)

Test(policy_patterns, patterns_that_make_regcomp_explode_are_refused, .timeout = 10)
{
	static const struct {
		const char *pattern, *msg;
	} cases[] = {
	    /* Found by the fuzzer: glibc's regcomp ran for minutes. */
	    {"(()++++++5})", "empty group '()'"},
	    {"((((((((((a?)+)+)+)+)+)+)+)+)+)",
	     "'+' repeats something that can match the empty text (write \"(a*)*\" as \"a*\")"},
	    {"((a*|b*|c*|d*)*){1,10}",
	     "'*' repeats something that can match the empty text (write \"(a*)*\" as \"a*\")"},
	    {"((a*){0,9}){0,9}",
	     "'{' repeats something that can match the empty text (write \"(a*)*\" as \"a*\")"},
	    {"(a|)*",
	     "'*' repeats something that can match the empty text (write \"(a*)*\" as \"a*\")"},
	    {"\\b+",
	     "'+' repeats something that can match the empty text (write \"(a*)*\" as \"a*\")"},
	    {"a+*", "a repetition of a repetition ('*' after another); POSIX leaves it undefined"},
	    {"a{2}{3}",
	     "a repetition of a repetition ('{' after another); POSIX leaves it undefined"},
	    {"a|*b", "'*' repeats nothing"},
	    {"[[:alpha:]", "unmatched '['"},
	    {"((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
	     "more than 32 nested groups"},
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		regex_t re;
		struct mxc_error e = {0};
		cr_expect_eq(mxc_policy_compile_pattern(cases[i].pattern, &re, &e), -EINVAL, "%s",
			     cases[i].pattern);
		cr_expect_str_eq(e.msg, cases[i].msg, "%s", cases[i].pattern);
	}
	/* Their harmless relatives stay valid. */
	const char *fine[] = {"(a*)?x", "(^a)+", "(a|b)?c", "(|a)b", "(a|b*c)+d", "x{0,255}y"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(fine); i++) {
		regex_t re;
		struct mxc_error e = {0};
		cr_expect_eq(mxc_policy_compile_pattern(fine[i], &re, &e), 0, "%s: %s", fine[i],
			     e.msg);
		if (e.code == 0)
			regfree(&re);
	}
}

Test(policy_patterns, search_finds_a_match_anywhere)
{
	cr_expect_eq(SEARCH("secret", "a secret here"), 1);
	cr_expect_eq(SEARCH("secret", "a secre t here"), 0);
	cr_expect_eq(SEARCH("AKIA[0-9A-Z]{16}", "x\nAKIA0123456789ABCDEF\n"), 1);
	cr_expect_eq(SEARCH("a|b", "xxb"), 1, "alternation is grouped");
	cr_expect_eq(SEARCH("^-----BEGIN", "-----BEGIN KEY"), 1);
	cr_expect_eq(SEARCH("^-----BEGIN", "x-----BEGIN KEY"), 0, "'^' keeps its meaning");
	cr_expect_eq(SEARCH("END$", "the END"), 1);
	cr_expect_eq(SEARCH("END$", "the END."), 0, "'$' keeps its meaning");
	cr_expect_eq(SEARCH("a.b", "a\nb"), 1, "'.' matches a newline");
	cr_expect_eq(SEARCH("\\(x\\)", "f(x)"), 1);
	cr_expect_eq(SEARCH("[)]", "f(x)"), 1);
	cr_expect_eq(SEARCH("caf.$", "caf\xc3\xa9"), 0, "byte semantics: '.' is one byte");
	cr_expect_eq(SEARCH("caf..$", "caf\xc3\xa9"), 1, "byte semantics: '.' is one byte");
	cr_expect_eq(SEARCH("a.$", "a\xff"), 1, "invalid UTF-8 is just bytes");
}

Test(policy_patterns, nul_bytes_do_not_hide_a_match)
{
	cr_expect_eq(SEARCH("secret", "harmless\0the secret"), 1);
	cr_expect_eq(SEARCH("secret", "\0\0secret\0"), 1);
	cr_expect_eq(SEARCH("sec.ret", "sec\0ret"), 0, "no match spans a NUL");
	cr_expect_eq(search("x", NULL, 0), 0);
}

Test(policy_patterns, search_is_linear_where_plain_regexec_is_quadratic, .timeout = 20)
{
	/* Plain regexec takes seconds for 64 KiB here and hours for 4 MiB. */
	size_t len = 4u << 20;
	char *text = malloc(len);
	cr_assert_not_null(text);
	memset(text, 'a', len);
	uint64_t t0 = mxc_now_mono_ns();
	cr_expect_eq(search("a.*b", text, len), 0);
	cr_expect_eq(search("[a-z]+b", text, len), 0);
	text[len - 1] = 'b';
	cr_expect_eq(search("a.*b", text, len), 1);
	cr_expect_lt(mxc_now_mono_ns() - t0, 5000000000ull, "too slow");
	free(text);
}

Test(policy_principals, syntax)
{
	const char *good[] = {"a",
			      "_",
			      "alice",
			      "group:devs",
			      "a.b-c_d",
			      "machine$",
			      "group:domain-admins$",
			      "abcdefghijklmnopqrstuvwxyz012345"};
	const char *bad[] = {"",	   "A",
			     "1abc",	   "-x",
			     ".x",	   "group:",
			     "group:Devs", "a b",
			     "a$b",	   "$",
			     "alice:",	   "grp:x",
			     "Group:x",	   "abcdefghijklmnopqrstuvwxyz0123456",
			     "a\xc3\xa9",  NULL};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(good); i++)
		cr_expect(mxc_policy_principal_valid(good[i]), "%s", good[i]);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++)
		cr_expect_not(mxc_policy_principal_valid(bad[i]), "%s", bad[i] ? bad[i] : "NULL");
}

Test(policy_principals, match_by_user_or_group)
{
	char alice[] = "alice", group_devs[] = "group:devs", users[] = "users", devs[] = "devs";
	char *principals[] = {alice, group_devs, NULL};
	char *groups_devs[] = {users, devs, NULL};
	char *groups_other[] = {users, alice, NULL};
	cr_expect(mxc_policy_principal_match(principals, "alice", NULL));
	cr_expect(mxc_policy_principal_match(principals, "bob", groups_devs));
	cr_expect_not(mxc_policy_principal_match(principals, "bob", groups_other),
		      "a group named like a user principal does not match");
	cr_expect_not(mxc_policy_principal_match(principals, "devs", NULL),
		      "a user named like a group principal does not match");
	cr_expect_not(mxc_policy_principal_match(principals, "group:devs", NULL));
	cr_expect_not(mxc_policy_principal_match(principals, "Alice", NULL));
	cr_expect_not(mxc_policy_principal_match(principals, NULL, NULL));
	cr_expect_not(mxc_policy_principal_match(NULL, "alice", groups_devs));
	char *none[] = {NULL};
	cr_expect_not(mxc_policy_principal_match(none, "alice", groups_devs));
}

/* ---- process --------------------------------------------------------------------------- */

Test(policy_process, every_mxc_field_is_parsed)
{
	struct mxc_policy *p = parse_ok(
	    pol_v("0.8.0-alpha", "'process':{'commandLine':'make -j4 test','cwd':'/srv//work/',"
				 "'env':['CI=1','PATH=/usr/bin:/bin','EMPTY='],'timeout':60000}"));
	cr_assert_not_null(p->process);
	cr_expect_str_eq(p->process->command_line, "make -j4 test");
	cr_expect_str_eq(p->process->cwd, "/srv/work");
	cr_assert_eq(mxc_strv_length(p->process->env), 3);
	cr_expect_str_eq(p->process->env[0], "CI=1", "env stays in the order written");
	cr_expect_str_eq(p->process->env[2], "EMPTY=");
	cr_expect_eq(p->process->timeout_ms, 60000);
	cr_expect_eq(p->timeout_ms, 60000, "process.timeout bounds the run");
	expect_round_trip(p);
	mxc_policy_free(p);

	p = parse_ok(pol_v("0.8.0-alpha", "'process':{'cwd':'','env':[]}"));
	cr_expect_null(p->process->command_line);
	cr_expect_null(p->process->cwd, "an empty cwd is an omitted one");
	cr_expect_not_null(p->process->env, "an empty env is not an omitted one");
	cr_expect_null(p->process->env[0]);
	expect_round_trip(p);
	mxc_policy_free(p);

	p = parse_ok(pol_v("0.8.0-alpha", "'process':{'commandLine':'x'}"));
	cr_expect_null(p->process->env, "an omitted env is the backend's default");
	mxc_policy_free(p);
}

Test(policy_process, timeouts_combine_to_the_earlier_deadline)
{
	static const struct {
		const char *body;
		uint64_t want;
	} cases[] = {
	    {"'timeoutMs':5000,'process':{'timeout':2000}", 2000},
	    {"'timeoutMs':5000,'process':{'timeout':9000}", 5000},
	    {"'timeoutMs':5000,'process':{'timeout':0}", 5000},
	    {"'process':{'timeout':0}", 0},
	    {"'process':{'timeout':4294967295}", 4294967295ull},
	    {"'timeoutMs':5000", 5000},
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		struct mxc_policy *p = parse_ok(pol(cases[i].body));
		cr_expect_eq(p->timeout_ms, cases[i].want, "%s", cases[i].body);
		expect_round_trip(p);
		mxc_policy_free(p);
	}
}

Test(policy_process, refusals)
{
	static const struct refusal cases[] = {
	    {"'process':{'commandLine':''}", -EINVAL, "process.commandLine: must not be empty"},
	    {"'process':{'commandLine':['ls']}", -EINVAL, "process.commandLine: must be a string"},
	    {"'process':{'cwd':'work'}", -EINVAL,
	     "process.cwd: must be an absolute path (\"work\")"},
	    {"'process':{'cwd':'/srv/../etc'}", -EINVAL,
	     "process.cwd: must not contain '..' components (\"/srv/../etc\")"},
	    {"'process':{'env':['NOVALUE']}", -EINVAL,
	     "process.env[0]: must be \"KEY=VALUE\" with a non-empty KEY"},
	    {"'process':{'env':['=x']}", -EINVAL,
	     "process.env[0]: must be \"KEY=VALUE\" with a non-empty KEY"},
	    {"'process':{'env':['A=1','B=2','A=3']}", -EINVAL,
	     "process.env[2]: \"A\" is set twice"},
	    {"'process':{'env':['A\\tB=1']}", -EINVAL,
	     "process.env[0]: KEY must not contain control characters"},
	    {"'process':{'timeout':4294967296}", -EINVAL,
	     "process.timeout: must be between 0 and 4294967295"},
	    {"'process':{'timeout':-1}", -EINVAL,
	     "process.timeout: must be between 0 and 4294967295"},
	    {"'process':'ls'", -EINVAL, "process: must be an object"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

/* ---- MXC platform objects ---------------------------------------------------------------- */

Test(policy_mxc, ignorable_platform_fields_warn_with_their_name)
{
	struct mxc_policy *p = parse_ok(pol_v(
	    "0.8.0-alpha",
	    "'containerId':'c1','containment':'bubblewrap','lifecycle':{'destroyOnExit':true,"
	    "'preservePolicy':false},'lxc':{'distribution':'alpine','release':'3.20'},"
	    "'processContainer':{'capabilities':['internetClient'],'learningMode':true,"
	    "'leastPrivilege':false,'ui':{'desktopSystemControl':false,'ime':true,"
	    "'isolation':'desktop','systemSettings':'none'}},'seatbelt':{'extraMachLookups':[],"
	    "'guiAccess':true,'keychainAccess':false,'launchMethod':'exec','nestedPty':true},"
	    "'fallback':{'allowDaclMutation':true}"));
	expect_warnings(
	    p, (const char *const[]){
		   "containment: ignored: mxc always isolates with its own session sandbox "
		   "(its own namespaces and mounts), not bubblewrap",
		   "containerId: ignored: mxc names sessions itself",
		   "lxc.distribution: ignored: mxc uses the host's system directories",
		   "lxc.release: ignored: mxc uses the host's system directories",
		   "processContainer.capabilities: ignored: Windows AppContainer "
		   "capabilities grant nothing in mxc; access comes only from filesystem "
		   "and network",
		   "processContainer.learningMode: ignored: Windows learning mode (accesses "
		   "stay denied either way; mxc audits denials)",
		   "processContainer.leastPrivilege: ignored: Windows least-privilege "
		   "AppContainers; mxc sessions see the host's system directories read-only",
		   "processContainer.ui.desktopSystemControl: ignored: Windows UI isolation; "
		   "every mxc agent has its own display server, which isolates more than any "
		   "Windows level",
		   "processContainer.ui.ime: ignored: Windows UI isolation; every mxc agent "
		   "has its own display server, which isolates more than any Windows level",
		   "processContainer.ui.isolation: ignored: Windows UI isolation; every mxc "
		   "agent has its own display server, which isolates more than any Windows "
		   "level",
		   "processContainer.ui.systemSettings: ignored: Windows UI isolation; every "
		   "mxc agent has its own display server, which isolates more than any "
		   "Windows level",
		   "seatbelt.extraMachLookups: ignored: macOS Mach services do not exist on "
		   "Linux",
		   "seatbelt.guiAccess: ignored: macOS only; ui.allowWindows decides about "
		   "the display",
		   "seatbelt.keychainAccess: ignored: macOS Keychain does not exist on Linux",
		   "seatbelt.launchMethod: ignored: macOS only",
		   "seatbelt.nestedPty: ignored: macOS only; mxc sessions may always allocate "
		   "a pty",
		   "fallback.allowDaclMutation: ignored: mxc never changes host file "
		   "permissions",
		   NULL});
	/* Ignored fields do not change the effective policy. */
	struct mxc_policy *plain = parse_ok(pol(""));
	cr_expect(mxc_policy_equal(p, plain));
	mxc_policy_free(plain);
	mxc_policy_free(p);

	p = parse_ok(pol_v("0.8.0-alpha", "'containment':'process','containerId':null,'lxc':null"));
	cr_expect_eq(mxc_strv_length(p->warnings), 0, "null is omitted: nothing to warn about");
	mxc_policy_free(p);
}

Test(policy_mxc, unhonourable_platform_fields_are_refused)
{
	static const struct refusal cases[] = {
	    {"'containment':'processcontainer'", -EOPNOTSUPP,
	     "containment: \"processcontainer\" is a Windows backend; mxc runs sessions on "
	     "Linux (use \"process\" or omit it)"},
	    {"'containment':'seatbelt'", -EOPNOTSUPP,
	     "containment: \"seatbelt\" is a macOS backend; mxc runs sessions on Linux (use "
	     "\"process\" or omit it)"},
	    {"'containment':'docker'", -EINVAL,
	     "containment: must be one of \"process\", \"lxc\", \"bubblewrap\", "
	     "\"processcontainer\", \"seatbelt\""},
	    {"'lifecycle':{'destroyOnExit':false}", -EOPNOTSUPP,
	     "lifecycle.destroyOnExit: false is not supported: mxc always destroys a session's "
	     "processes, mounts and network when it ends"},
	    {"'lifecycle':{'preservePolicy':true}", -EOPNOTSUPP,
	     "lifecycle.preservePolicy: true is not supported: mxc never keeps a session's "
	     "policy applied after the session ends"},
	    {"'runtimeConfig':{'networkProxy':'http://127.0.0.1:8080'}", -EOPNOTSUPP,
	     "runtimeConfig.networkProxy: not supported: mxc does not route sessions through a "
	     "proxy; allow the proxy's address in network.egress instead"},
	    {"'seatbelt':{'profileOverride':'(version 1)(allow default)'}", -EOPNOTSUPP,
	     "seatbelt.profileOverride: not supported: a raw macOS Seatbelt profile cannot be "
	     "enforced on Linux"},
	    {"'processContainer':{'leastPrivilege':true}", -EOPNOTSUPP,
	     "processContainer.leastPrivilege: not supported: Windows least-privilege "
	     "AppContainers; mxc sessions see the host's system directories read-only"},
	    {"'processContainer':{'captureDenials':{'mode':'block'}}", -EOPNOTSUPP,
	     "processContainer.captureDenials: not supported: Windows denial capture; mxc "
	     "records denials in its audit log instead"},
	    {"'processContainer':{'captureDenials':{'mode':'later'}}", -EINVAL,
	     "processContainer.captureDenials.mode: must be one of \"block\", \"allow\""},
	    {"'processContainer':{'network':{'allowedProxyPeer':'Contoso.Proxy_123'}}", -EOPNOTSUPP,
	     "processContainer.network.allowedProxyPeer: not supported: mxc does not route "
	     "sessions through a proxy; allow the proxy's address in network.egress instead"},
	    {"'lxc':{'distribution':3}", -EINVAL, "lxc.distribution: must be a string"},
	    {"'containerId':{}", -EINVAL, "containerId: must be a string"},
	    {"'seatbelt':{'extraMachLookups':[1]}", -EINVAL,
	     "seatbelt.extraMachLookups[0]: must be a string"},
	};
	expect_refusals(cases, MXC_ARRAY_SIZE(cases));
}

/* ---- normalized form and digest -------------------------------------------------------- */

Test(policy_digest, equivalent_policies_have_one_digest)
{
	const char *texts[] = {
	    pol("'ui':{'allowWindows':true,'allowInputInjection':true},'filesystem':{"
		"'readonlyPaths':['/b','/a']}"),
	    "{\n  \"filesystem\": {\"readonlyPaths\": [\"/a/\", \"//b\"], \"deniedPaths\": []},"
	    "\n  \"ui\": {\"injection\": true, \"disable\": false, \"clipboard\": \"none\"},"
	    "\n  \"version\": \"0.8.0-alpha\", \"containerId\": \"x\"\n}\n",
	    pol("'filesystem':{'readonlyPaths':['/a','/b']},'ui':{'allowWindows':true,"
		"'allowInputInjection':true},'session':{'display':{'backend':'xvfb','width':1280,"
		"'height':800,'depth':24},'limits':{'tasks':1024,'tmpBytes':536870912,"
		"'memoryBytes':null}}"),
	};
	char first[65];
	for (size_t i = 0; i < MXC_ARRAY_SIZE(texts); i++) {
		struct mxc_policy *p = parse_ok(texts[i]);
		char hex[65];
		cr_assert_eq(mxc_policy_digest(p, hex), 0);
		cr_expect_eq(strlen(hex), 64);
		if (i == 0)
			memcpy(first, hex, sizeof(first));
		else
			cr_expect_str_eq(hex, first, "%s", texts[i]);
		mxc_policy_free(p);
	}
}

Test(policy_digest, any_change_changes_the_digest)
{
	const char *texts[] = {
	    pol(""),
	    pol("'timeoutMs':1"),
	    pol("'filesystem':{'readonlyPaths':['/a']}"),
	    pol("'filesystem':{'readwritePaths':['/a']}"),
	    pol("'network':{'egress':{'default':'allow'}}"),
	    pol("'network':{'ingress':{'hostLoopback':'allow'}}"),
	    pol("'ui':{'allowWindows':true}"),
	    pol("'session':{'limits':{'tasks':1023}}"),
	    pol("'session':{'users':['alice']}"),
	    pol("'session':{'inspect':{'principals':['alice']}}"),
	    pol("'process':{}"),
	};
	char hex[MXC_ARRAY_SIZE(texts)][65];
	for (size_t i = 0; i < MXC_ARRAY_SIZE(texts); i++) {
		/* pol()'s buffers rotate: keep each text alive. */
		texts[i] = strdup(texts[i]);
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(texts); i++) {
		struct mxc_policy *p = parse_ok(texts[i]);
		cr_assert_eq(mxc_policy_digest(p, hex[i]), 0);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(hex[i], hex[j], "%s and %s", texts[i], texts[j]);
		mxc_policy_free(p);
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(texts); i++)
		free((char *)texts[i]);
}

Test(policy_digest, default_policy_digest_is_stable)
{
	/*
	 * The digest is recorded in the audit log and compared across daemon versions: a change
	 * here means every stored digest changes. Update deliberately, never by accident.
	 */
	struct mxc_policy *p = parse_ok(mxc_policy_default_text());
	char hex[65];
	cr_assert_eq(mxc_policy_digest(p, hex), 0);
	cr_expect_str_eq(hex, "b8f57b812da37a158176137b201f4f082eef905103a33edd9a96d949fbf79adf");
	/* It is the sha256 of the compact normalized form, which anyone can recompute. */
	char *text = normalized(p), again[65];
	cr_assert_eq(mxc_sha256_hex(text, strlen(text), again), 0);
	cr_expect_str_eq(again, hex);
	free(text);
	mxc_policy_free(p);
}

Test(policy_digest, null_is_handled)
{
	cr_expect_null(mxc_policy_to_json(NULL));
	char hex[65];
	cr_expect_lt(mxc_policy_digest(NULL, hex), 0);
	mxc_policy_free(NULL);
	cr_expect(mxc_policy_equal(NULL, NULL));
}

/* ---- hostile sizes ----------------------------------------------------------------------- */

Test(policy_limits, a_policy_over_one_mib_is_refused_before_parsing)
{
	size_t len = 2 * 1024 * 1024;
	char *s = malloc(len + 1);
	cr_assert_not_null(s);
	int n = snprintf(s, len, "{\"version\":\"mxc/1\",\"_comment\":\"");
	memset(s + n, 'x', len - (size_t)n - 2);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\0';
	struct mxc_policy *p = NULL;
	struct mxc_error e = {0};
	cr_expect_eq(mxc_policy_parse(s, len, &p, &e), -EFBIG);
	cr_expect_str_eq(e.msg, "policy is larger than 1048576 bytes");
	cr_expect_null(p);
	/* Exactly the limit is fine. */
	len = MXC_POLICY_MAX_BYTES;
	memset(s + n, 'x', len - (size_t)n - 2);
	memcpy(s + len - 2, "\"}", 2);
	cr_expect_eq(mxc_policy_parse(s, len, &p, &e), 0, "%s", e.msg);
	mxc_policy_free(p);
	free(s);
}

Test(policy_limits, ten_thousand_element_arrays_are_refused_cleanly)
{
	static const struct {
		const char *prefix, *item, *suffix, *msg;
	} cases[] = {
	    {"{\"version\":\"mxc/1\",\"filesystem\":{\"deniedPaths\":[", "/d/", "]}}",
	     "filesystem.deniedPaths: more than 256 entries"},
	    {"{\"version\":\"mxc/1\",\"session\":{\"users\":[", "u", "]}}",
	     "session.users: more than 256 entries"},
	    {"{\"version\":\"mxc/1\",\"process\":{\"env\":[", "K=", "]}}",
	     "process.env: more than 1024 entries"},
	    {"{\"version\":\"mxc/1\",\"seatbelt\":{\"extraMachLookups\":[", "m", "]}}",
	     "seatbelt.extraMachLookups: more than 256 entries"},
	    {"{\"version\":\"mxc/1\",\"network\":{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":"
	     "\"10.0.0.0/8\"}]}],\"deny\":[{\"to\":[{\"cidr\":\"10.0.0.0/8\",\"except\":[",
	     "10.1.", "]}]}]}}}", "network.egress.deny[0].to[0].except: more than 64 entries"},
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		char *s = big_array_policy(cases[i].prefix, cases[i].item, 10000, cases[i].suffix);
		expect_refused(s, -EINVAL, cases[i].msg);
		free(s);
	}

	/* Rules are objects: build 10 000 of them. */
	size_t cap = 10000 * 16 + 128, o = 0;
	char *s = malloc(cap);
	cr_assert_not_null(s);
	o +=
	    (size_t)snprintf(s, cap, "{\"version\":\"mxc/1\",\"network\":{\"egress\":{\"allow\":[");
	for (int i = 0; i < 10000; i++)
		o += (size_t)snprintf(s + o, cap - o, i ? ",{}" : "{}");
	snprintf(s + o, cap - o, "]}}}");
	expect_refused(s, -EINVAL, "network.egress.allow: more than 256 entries");
	free(s);
}

Test(policy_limits, deep_nesting_is_refused_cleanly)
{
	size_t depth = 100000;
	char *s = malloc(2 * depth + 64);
	cr_assert_not_null(s);
	size_t o = (size_t)sprintf(s, "{\"version\":\"mxc/1\",\"_comment\":");
	memset(s + o, '[', depth);
	memset(s + o + depth, ']', depth);
	strcpy(s + o + 2 * depth, "}");
	struct mxc_policy *p = NULL;
	struct mxc_error e = {0};
	cr_expect_eq(mxc_policy_parse(s, strlen(s), &p, &e), -EINVAL);
	cr_expect(strstr(e.msg, "invalid JSON at offset") && strstr(e.msg, "nesting too deep"),
		  "%s", e.msg);
	cr_expect_null(p);

	/* Nesting inside the limit is fine, even in an ignored member. */
	o = (size_t)sprintf(s, "{\"version\":\"mxc/1\",\"_comment\":");
	for (int i = 0; i < 30; i++)
		o += (size_t)sprintf(s + o, "{\"a\":");
	o += (size_t)sprintf(s + o, "1");
	for (int i = 0; i < 30; i++)
		s[o++] = '}';
	strcpy(s + o, "}");
	cr_expect_eq(mxc_policy_parse(s, strlen(s), &p, &e), 0, "%s", e.msg);
	mxc_policy_free(p);
	free(s);
}

Test(policy_limits, long_strings_are_refused_with_their_bound)
{
	size_t n = MXC_POLICY_MAX_COMMAND_LINE + 1;
	char *body = malloc(n + 64);
	cr_assert_not_null(body);
	int o = sprintf(body, "'process':{'commandLine':'");
	memset(body + o, 'x', n);
	strcpy(body + o + n, "'}");
	char *text = malloc(n + 128);
	cr_assert_not_null(text);
	sprintf(text, "{'version':'mxc/1',%s}", body);
	for (char *q = text; *q; q++)
		if (*q == '\'')
			*q = '"';
	expect_refused(text, -EINVAL, "process.commandLine: longer than 131072 bytes");
	free(text);
	free(body);
}

Test(policy_load, files_are_read_with_a_size_bound)
{
	struct mxc_policy *p = NULL;
	struct mxc_error e = {0};
	cr_expect_eq(mxc_policy_load_file("/nonexistent/policy.json", &p, &e), -ENOENT);
	cr_expect_str_eq(e.msg, "failed to read policy '/nonexistent/policy.json': No such file "
				"or directory");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/policies/coding-agent.json", source_root());
	cr_expect_eq(mxc_policy_load_file(path, &p, &e), 0, "%s", e.msg);
	mxc_policy_free(p);
	p = NULL;

	char tmpl[64];
	strcpy(tmpl, "/tmp/mxc-policy-test-XXXXXX");
	int fd = mkstemp(tmpl);
	cr_assert_geq(fd, 0);
	char buf[4096];
	memset(buf, ' ', sizeof(buf));
	for (size_t w = 0; w <= MXC_POLICY_MAX_BYTES; w += sizeof(buf))
		cr_assert_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	cr_expect_eq(mxc_policy_load_file(tmpl, &p, &e), -EFBIG);
	cr_expect(strstr(e.msg, "larger than 1048576 bytes"), "%s", e.msg);
	unlink(tmpl);

	strcpy(tmpl, "/tmp/mxc-policy-test-XXXXXX");
	fd = mkstemp(tmpl);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "{\"version\":\"mxc/1\",\"x\":1}", 25), 25);
	close(fd);
	cr_expect_eq(mxc_policy_load_file(tmpl, &p, &e), -EINVAL);
	char want[256];
	snprintf(want, sizeof(want), "policy '%s': x: unknown field", tmpl);
	cr_expect_str_eq(e.msg, want);
	unlink(tmpl);
}

/* ---- the fuzz corpus: every input that once mattered, kept as a regression test ----------- */

Test(policy_corpus, every_corpus_file_is_handled)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/policy", source_root());
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "cannot open %s", dir);
	size_t files = 0, accepted = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		char *text = NULL;
		size_t len = 0;
		cr_assert_eq(mxc_read_file(path, 4 * MXC_POLICY_MAX_BYTES, &text, &len), 0, "%s",
			     path);
		struct mxc_policy *p = NULL;
		struct mxc_error e = {0};
		int r = mxc_policy_parse(text, len, &p, &e);
		if (r == 0) {
			accepted++;
			expect_round_trip(p);
		} else {
			cr_expect(e.msg[0] != '\0', "%s: refused without a message", de->d_name);
			cr_expect_null(p);
		}
		mxc_policy_free(p);
		free(text);
		files++;
	}
	closedir(d);
	cr_expect_gt(files, 20, "the corpus is missing");
	cr_expect_gt(accepted, 5);
}
