/*
 * MXC's "process" object and its platform-specific objects. Each platform field is either
 * honoured (it asks for what mxc does anyway), ignored with a warning (ignoring it cannot
 * weaken what the author expects to be enforced), or refused (it asks for something mxc
 * cannot honour). docs/POLICY.md has the table; keep the two in step.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "parse-internal.h"

enum kind {
	K_STRING,
	K_BOOL,
	K_STRV,
	K_ENUM,
	K_OBJECT,
};

enum fate {
	F_NONE,		/* an object whose members carry their own fate */
	F_WARN,		/* accepted, ignored, warned about */
	F_REFUSE,	/* refused whenever present */
	F_REFUSE_TRUE,	/* true is refused; false is ignored with a warning */
	F_HONOUR_TRUE,	/* true is what mxc does; false is refused */
	F_HONOUR_FALSE, /* false is what mxc does; true is refused */
};

struct field {
	const char *key;
	enum kind kind;
	enum fate fate;
	const char *why;
	const struct name_value *values; /* K_ENUM */
	const struct field *members;	 /* K_OBJECT, terminated by a NULL key */
};

static const struct name_value capture_modes[] = {{"block", 0}, {"allow", 1}, {NULL, 0}};
static const struct name_value isolations[] = {
    {"desktop", 0}, {"handles", 1}, {"atoms", 2}, {"container", 3}, {NULL, 0}};
static const struct name_value launch_methods[] = {{"exec", 0}, {"open", 1}, {NULL, 0}};

#define WINDOWS_UI                                                                                 \
	"Windows UI isolation; every mxc agent has its own display server, which isolates "        \
	"more than any Windows level"

static const struct field capture_denials[] = {
    {"mode", K_ENUM, F_NONE, NULL, capture_modes, NULL},
    {"outputPath", K_STRING, F_NONE, NULL, NULL, NULL},
    {"retainEtl", K_BOOL, F_NONE, NULL, NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field pc_network[] = {
    {"allowedProxyPeer", K_STRING, F_REFUSE,
     "mxc does not route sessions through a proxy; allow the proxy's address in "
     "network.egress instead",
     NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field pc_ui[] = {
    {"desktopSystemControl", K_BOOL, F_WARN, WINDOWS_UI, NULL, NULL},
    {"ime", K_BOOL, F_WARN, WINDOWS_UI, NULL, NULL},
    {"isolation", K_ENUM, F_WARN, WINDOWS_UI, isolations, NULL},
    {"systemSettings", K_STRING, F_WARN, WINDOWS_UI, NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field process_container[] = {
    {"capabilities", K_STRV, F_WARN,
     "Windows AppContainer capabilities grant nothing in mxc; access comes only from "
     "filesystem and network",
     NULL, NULL},
    {"captureDenials", K_OBJECT, F_REFUSE,
     "Windows denial capture; mxc records denials in its audit log instead", NULL, capture_denials},
    {"learningMode", K_BOOL, F_WARN,
     "Windows learning mode (accesses stay denied either way; mxc audits denials)", NULL, NULL},
    {"leastPrivilege", K_BOOL, F_REFUSE_TRUE,
     "Windows least-privilege AppContainers; mxc sessions see the host's system "
     "directories read-only",
     NULL, NULL},
    {"network", K_OBJECT, F_NONE, NULL, NULL, pc_network},
    {"ui", K_OBJECT, F_NONE, NULL, NULL, pc_ui},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field seatbelt[] = {
    {"extraMachLookups", K_STRV, F_WARN, "macOS Mach services do not exist on Linux", NULL, NULL},
    {"guiAccess", K_BOOL, F_WARN, "macOS only; ui.allowWindows decides about the display", NULL,
     NULL},
    {"keychainAccess", K_BOOL, F_WARN, "macOS Keychain does not exist on Linux", NULL, NULL},
    {"launchMethod", K_ENUM, F_WARN, "macOS only", launch_methods, NULL},
    {"nestedPty", K_BOOL, F_WARN, "macOS only; mxc sessions may always allocate a pty", NULL, NULL},
    {"profileOverride", K_STRING, F_REFUSE,
     "a raw macOS Seatbelt profile cannot be enforced on Linux", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field lifecycle[] = {
    {"destroyOnExit", K_BOOL, F_HONOUR_TRUE,
     "mxc always destroys a session's processes, mounts and network when it ends", NULL, NULL},
    {"preservePolicy", K_BOOL, F_HONOUR_FALSE,
     "mxc never keeps a session's policy applied after the session ends", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field lxc[] = {
    {"distribution", K_STRING, F_WARN, "mxc uses the host's system directories", NULL, NULL},
    {"release", K_STRING, F_WARN, "mxc uses the host's system directories", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field fallback[] = {
    {"allowDaclMutation", K_BOOL, F_WARN, "mxc never changes host file permissions", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field runtime_config[] = {
    {"networkProxy", K_STRING, F_REFUSE,
     "mxc does not route sessions through a proxy; allow the proxy's address in "
     "network.egress instead",
     NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const struct field platform[] = {
    {"containerId", K_STRING, F_WARN, "mxc names sessions itself", NULL, NULL},
    {"lifecycle", K_OBJECT, F_NONE, NULL, NULL, lifecycle},
    {"lxc", K_OBJECT, F_NONE, NULL, NULL, lxc},
    {"processContainer", K_OBJECT, F_NONE, NULL, NULL, process_container},
    {"seatbelt", K_OBJECT, F_NONE, NULL, NULL, seatbelt},
    {"fallback", K_OBJECT, F_NONE, NULL, NULL, fallback},
    {"runtimeConfig", K_OBJECT, F_NONE, NULL, NULL, runtime_config},
    {NULL, 0, 0, NULL, NULL, NULL},
};

/* Longest string accepted in an ignored or refused field. */
#define MAX_PLATFORM_STRING 4096

static int check_fields(struct pctx *c, struct json_object *obj, const struct field *fields);

/* Type-checks one member; returns 1 if present, 0 if absent, <0 on error. */
static int check_field(struct pctx *c, struct json_object *obj, const struct field *f,
		       bool *ret_bool)
{
	struct json_object *v;
	const char *s;
	int e, r;
	switch (f->kind) {
	case K_STRING:
		r = policy_get_string(c, obj, f->key, MAX_PLATFORM_STRING, &s);
		break;
	case K_BOOL:
		r = policy_get_bool(c, obj, f->key, ret_bool);
		break;
	case K_ENUM:
		r = policy_get_enum(c, obj, f->key, f->values, &e);
		break;
	case K_STRV:
		r = policy_get_array(c, obj, f->key, MXC_POLICY_MAX_PATHS, &v);
		if (r == 0) {
			size_t mark = path_push_key(c, f->key);
			for (size_t i = 0; r == 0 && i < json_object_array_length(v); i++)
				r = policy_array_string(c, v, i, MAX_PLATFORM_STRING, &s);
			path_pop(c, mark);
		}
		break;
	case K_OBJECT:
		r = policy_get_object(c, obj, f->key, &v);
		if (r == 0) {
			size_t mark = path_push_key(c, f->key);
			r = check_fields(c, v, f->members);
			path_pop(c, mark);
		}
		break;
	default:
		r = -EINVAL;
	}
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : 1;
}

/* The table's depth bounds the recursion (three levels). */
static int check_fields(struct pctx *c, struct json_object *obj, const struct field *fields)
{
	const char *keys[16];
	size_t n = 0;
	for (const struct field *f = fields; f->key && n + 1 < MXC_ARRAY_SIZE(keys); f++)
		keys[n++] = f->key;
	keys[n] = NULL;
	int r = policy_check_keys(c, obj, keys);
	if (r < 0)
		return r;
	for (const struct field *f = fields; f->key; f++) {
		bool b = false;
		r = check_field(c, obj, f, &b);
		if (r <= 0) {
			if (r < 0)
				return r;
			continue;
		}
		switch (f->fate) {
		case F_NONE:
			break;
		case F_WARN:
			r = pwarn_key(c, f->key, "ignored: %s", f->why);
			break;
		case F_REFUSE:
			r = perr_key(c, f->key, -EOPNOTSUPP, "not supported: %s", f->why);
			break;
		case F_REFUSE_TRUE:
			r = b ? perr_key(c, f->key, -EOPNOTSUPP, "not supported: %s", f->why)
			      : pwarn_key(c, f->key, "ignored: %s", f->why);
			break;
		case F_HONOUR_TRUE:
			if (!b)
				r = perr_key(c, f->key, -EOPNOTSUPP, "false is not supported: %s",
					     f->why);
			break;
		case F_HONOUR_FALSE:
			if (b)
				r = perr_key(c, f->key, -EOPNOTSUPP, "true is not supported: %s",
					     f->why);
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_containment(struct pctx *c, struct json_object *root)
{
	enum { PROCESS, LINUX, WINDOWS, MACOS };
	static const struct name_value kinds[] = {
	    {"process", PROCESS},	   {"lxc", LINUX},	{"bubblewrap", LINUX},
	    {"processcontainer", WINDOWS}, {"seatbelt", MACOS}, {NULL, 0},
	};
	int kind;
	const char *name = "?";
	int r = policy_get_enum(c, root, "containment", kinds, &kind);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	policy_get_string(c, root, "containment", 32, &name);
	switch (kind) {
	case LINUX:
		return pwarn_key(c, "containment",
				 "ignored: mxc always isolates with its own session sandbox "
				 "(its own namespaces and mounts), not %s",
				 name);
	case WINDOWS:
		return perr_key(c, "containment", -EOPNOTSUPP,
				"\"%s\" is a Windows backend; mxc runs sessions on Linux (use "
				"\"process\" or omit it)",
				name);
	case MACOS:
		return perr_key(c, "containment", -EOPNOTSUPP,
				"\"%s\" is a macOS backend; mxc runs sessions on Linux (use "
				"\"process\" or omit it)",
				name);
	default:
		/* The abstract intent: the host's own sandbox, which mxc is. */
		return 0;
	}
}

int policy_parse_platform(struct pctx *c, struct json_object *root)
{
	int r = parse_containment(c, root);
	if (r < 0)
		return r;
	for (const struct field *f = platform; f->key; f++) {
		bool b;
		r = check_field(c, root, f, &b);
		if (r < 0)
			return r;
		if (r > 0 && f->fate == F_WARN) {
			r = pwarn_key(c, f->key, "ignored: %s", f->why);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

void policy_process_free(struct mxc_policy_process *proc)
{
	if (!proc)
		return;
	free(proc->command_line);
	free(proc->cwd);
	mxc_strv_free(proc->env);
	free(proc);
}

static int parse_env(struct pctx *c, struct json_object *o, struct mxc_policy_process *proc)
{
	struct json_object *arr;
	int r = policy_get_array(c, o, "env", MXC_POLICY_MAX_ENV, &arr);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	size_t n = json_object_array_length(arr), count = 0;
	proc->env = calloc(1, sizeof(char *));
	if (!proc->env)
		return perr_oom(c);
	size_t mark = path_push_key(c, "env");
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *s;
		r = policy_array_string(c, arr, i, MXC_POLICY_MAX_ENV_LEN, &s);
		if (r < 0)
			break;
		size_t imark = path_push_index(c, i);
		const char *eq = strchr(s, '=');
		size_t klen = eq ? (size_t)(eq - s) : 0;
		if (klen == 0)
			r = perr(c, -EINVAL, "must be \"KEY=VALUE\" with a non-empty KEY");
		for (size_t k = 0; r == 0 && k < klen; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				r = perr(c, -EINVAL, "KEY must not contain control characters");
		for (size_t j = 0; r == 0 && j < count; j++)
			if (strncmp(proc->env[j], s, klen + 1) == 0)
				r = perr(c, -EINVAL, "\"%.*s\" is set twice",
					 (int)(klen > 64 ? 64 : klen), s);
		if (r == 0 && strv_push(&proc->env, &count, s) < 0)
			r = perr_oom(c);
		path_pop(c, imark);
	}
	path_pop(c, mark);
	return r;
}

int policy_parse_process(struct pctx *c, struct json_object *root, struct mxc_policy *p)
{
	static const char *const keys[] = {"commandLine", "cwd", "env", "timeout", NULL};
	struct json_object *o;
	int r = policy_get_object(c, root, "process", &o);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	struct mxc_policy_process *proc = calloc(1, sizeof(*proc));
	if (!proc)
		return perr_oom(c);
	size_t mark = path_push_key(c, "process");
	const char *s;
	r = policy_check_keys(c, o, keys);
	if (r < 0)
		goto out;

	r = policy_get_string(c, o, "commandLine", MXC_POLICY_MAX_COMMAND_LINE, &s);
	if (r < 0 && r != -ENOENT)
		goto out;
	if (r == 0 && !s[0]) {
		r = perr_key(c, "commandLine", -EINVAL, "must not be empty");
		goto out;
	}
	if (r == 0 && !(proc->command_line = strdup(s))) {
		r = perr_oom(c);
		goto out;
	}

	r = policy_get_string(c, o, "cwd", PATH_MAX - 1, &s);
	if (r < 0 && r != -ENOENT)
		goto out;
	/* MXC: an empty cwd is the same as an omitted one. */
	if (r == 0 && s[0]) {
		size_t cmark = path_push_key(c, "cwd");
		r = policy_normalize_path(c, s, &proc->cwd);
		path_pop(c, cmark);
		if (r < 0)
			goto out;
	}

	r = parse_env(c, o, proc);
	if (r < 0)
		goto out;

	r = policy_get_uint(c, o, "timeout", 0, UINT32_MAX, &proc->timeout_ms);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = 0;
	p->process = proc;
	proc = NULL;
out:
	path_pop(c, mark);
	policy_process_free(proc);
	return r;
}
