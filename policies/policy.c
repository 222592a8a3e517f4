/* The policy parser's entry points: version and top-level dispatch, defaults, freeing. */
#include <stdio.h>
#include <stdlib.h>

#include "fs.h"
#include "json.h"
#include "parse-internal.h"

/* Keep in step with policies/default.json (a test compares them). */
static const char default_text[] =
    "{\n"
    "  \"version\": \"mxc/1\",\n"
    "  \"filesystem\": {\n"
    "    \"readwritePaths\": [],\n"
    "    \"readonlyPaths\": [],\n"
    "    \"deniedPaths\": []\n"
    "  },\n"
    "  \"network\": {\n"
    "    \"egress\": { \"default\": \"deny\" },\n"
    "    \"ingress\": { \"default\": \"deny\", \"hostLoopback\": \"deny\" }\n"
    "  },\n"
    "  \"ui\": {\n"
    "    \"allowWindows\": true,\n"
    "    \"clipboard\": \"none\",\n"
    "    \"allowInputInjection\": true\n"
    "  },\n"
    "  \"session\": {\n"
    "    \"display\": { \"backend\": \"xvfb\", \"width\": 1280, "
    "\"height\": 800, \"depth\": 24 },\n"
    "    \"users\": []\n"
    "  }\n"
    "}\n";

const char *mxc_policy_default_text(void)
{
	return default_text;
}

static const struct {
	const char *name;
	enum policy_dialect dialect;
} versions[] = {
    {MXC_POLICY_VERSION, DIALECT_MXC1},
    {"0.8.0-alpha", DIALECT_MXC_0_8},
    {"0.7.0-alpha", DIALECT_MXC_0_7},
    {"0.6.0-alpha", DIALECT_MXC_0_6},
};

static int parse_version(struct pctx *c, struct json_object *root, const char **ret)
{
	const char *v;
	int r = policy_get_string(c, root, "version", 64, &v);
	if (r == -ENOENT)
		return perr_key(c, "version", -EINVAL, "required (\"%s\" or an MXC version)",
				MXC_POLICY_VERSION);
	if (r < 0)
		return r;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(versions); i++)
		if (strcmp(v, versions[i].name) == 0) {
			c->dialect = versions[i].dialect;
			*ret = versions[i].name;
			return 0;
		}
	return perr_key(c, "version", -EINVAL,
			"must be \"%s\", \"0.8.0-alpha\", \"0.7.0-alpha\" or \"0.6.0-alpha\"",
			MXC_POLICY_VERSION);
}

static struct mxc_policy *policy_new(void)
{
	struct mxc_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->display = (struct mxc_policy_display){
	    .backend = MXC_POLICY_DISPLAY_XVFB,
	    .width = MXC_POLICY_DEFAULT_WIDTH,
	    .height = MXC_POLICY_DEFAULT_HEIGHT,
	    .depth = MXC_POLICY_DEFAULT_DEPTH,
	};
	p->limits = (struct mxc_policy_limits){
	    .memory_bytes = MXC_POLICY_DEFAULT_MEMORY_BYTES,
	    .tasks = MXC_POLICY_DEFAULT_TASKS,
	    .tmp_bytes = MXC_POLICY_DEFAULT_TMP_BYTES,
	};
	p->fs.readwrite = calloc(1, sizeof(char *));
	p->fs.readonly = calloc(1, sizeof(char *));
	p->fs.denied = calloc(1, sizeof(char *));
	p->inspect.principals = calloc(1, sizeof(char *));
	p->users = calloc(1, sizeof(char *));
	if (!p->fs.readwrite || !p->fs.readonly || !p->fs.denied || !p->inspect.principals ||
	    !p->users) {
		mxc_policy_free(p);
		return NULL;
	}
	return p;
}

static int parse_root(struct pctx *c, struct json_object *root, struct mxc_policy *p)
{
	static const char *const keys[] = {
	    "version", "$schema",	   "_comment", "timeoutMs",   "filesystem",    "network",
	    "ui",      "process",	   "session",  "containerId", "containment",   "lifecycle",
	    "lxc",     "processContainer", "seatbelt", "fallback",    "runtimeConfig", NULL,
	};
	const char *version = NULL, *s;
	int r = parse_version(c, root, &version);
	if (r < 0)
		return r;
	r = policy_check_keys(c, root, keys);
	if (r < 0)
		return r;
	/* Only the type is checked: MXC says both are accepted and ignored. */
	r = policy_get_string(c, root, "$schema", 4096, &s);
	if (r < 0 && r != -ENOENT)
		return r;
	p->version = strdup(version);
	if (!p->version)
		return perr_oom(c);

	r = policy_get_uint(c, root, "timeoutMs", 1, MXC_POLICY_MAX_TIMEOUT_MS, &p->timeout_ms);
	if (r < 0 && r != -ENOENT)
		return r;
	r = policy_parse_filesystem(c, root, p);
	if (r < 0)
		return r;
	r = policy_parse_network(c, root, p);
	if (r < 0)
		return r;
	r = policy_parse_ui(c, root, p);
	if (r < 0)
		return r;
	r = policy_parse_session(c, root, p);
	if (r < 0)
		return r;
	r = policy_parse_process(c, root, p);
	if (r < 0)
		return r;
	r = policy_parse_platform(c, root);
	if (r < 0)
		return r;

	/* In a one-shot run the session is the process's: whichever deadline comes first. */
	if (p->process && p->process->timeout_ms > 0 &&
	    (p->timeout_ms == 0 || p->process->timeout_ms < p->timeout_ms))
		p->timeout_ms = p->process->timeout_ms;
	return 0;
}

int mxc_policy_parse(const char *text, size_t len, struct mxc_policy **ret, struct mxc_error *err)
{
	struct json_object *root = NULL;
	struct mxc_policy *p = NULL;
	struct pctx c = {.err = err};
	int r;

	if (len > MXC_POLICY_MAX_BYTES)
		return mxc_error_set(err, -EFBIG, "policy is larger than %d bytes",
				     MXC_POLICY_MAX_BYTES);
	if (!text)
		return mxc_error_set(err, -EINVAL, "policy is empty");
	r = mxc_json_parse(text, len, &root, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(root, json_type_object)) {
		r = mxc_error_set(err, -EINVAL, "policy must be a JSON object");
		goto out;
	}
	r = policy_check_duplicate_keys(&c, text, len, root);
	if (r < 0)
		goto out;
	p = policy_new();
	if (!p) {
		r = mxc_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = parse_root(&c, root, p);
	if (r < 0)
		goto out;
	p->warnings = c.warnings ? c.warnings : calloc(1, sizeof(char *));
	c.warnings = NULL;
	if (!p->warnings) {
		r = mxc_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	*ret = p;
	p = NULL;
out:
	mxc_strv_free(c.warnings);
	mxc_policy_free(p);
	json_object_put(root);
	return r;
}

int mxc_policy_load_file(const char *path, struct mxc_policy **ret, struct mxc_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = mxc_read_file(path, MXC_POLICY_MAX_BYTES, &text, &len);
	if (r == -EFBIG)
		return mxc_error_set(err, r, "failed to read policy '%s': larger than %d bytes",
				     path, MXC_POLICY_MAX_BYTES);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to read policy '%s'", path);
	r = mxc_policy_parse(text, len, ret, err);
	free(text);
	if (r < 0)
		mxc_error_prefix(err, "policy '%s'", path);
	return r;
}

void mxc_policy_free(struct mxc_policy *p)
{
	if (!p)
		return;
	free(p->version);
	mxc_strv_free(p->fs.readwrite);
	mxc_strv_free(p->fs.readonly);
	mxc_strv_free(p->fs.denied);
	policy_network_free(&p->network);
	policy_transfer_rules_free(p->clipboard, p->n_clipboard);
	policy_transfer_rules_free(p->handoff, p->n_handoff);
	mxc_strv_free(p->inspect.principals);
	mxc_strv_free(p->users);
	policy_process_free(p->process);
	mxc_strv_free(p->warnings);
	free(p);
}
