/*
 * Internal to policies/: the parse context shared by the parser's files, path-aware
 * accessors that report "json.path: reason", and the per-section parsers.
 */
#ifndef MXC_POLICIES_PARSE_INTERNAL_H
#define MXC_POLICIES_PARSE_INTERNAL_H

#include "policy.h"

/* Longest path reported in a message; keys are truncated so that it always fits. */
#define PATH_BUF_LEN 512
#define MAX_WARNINGS 64

/* Which format the policy is written in; decides which fields are allowed. */
enum policy_dialect {
	DIALECT_MXC_0_6, /* "0.6.0-alpha" */
	DIALECT_MXC_0_7, /* "0.7.0-alpha" */
	DIALECT_MXC_0_8, /* "0.8.0-alpha" */
	DIALECT_MXC1,	 /* "mxc/1" */
};

struct pctx {
	struct mxc_error *err;
	enum policy_dialect dialect;
	char path[PATH_BUF_LEN]; /* "network.egress.allow[1]" */
	size_t path_len;
	char **warnings;
	size_t n_warnings;
};

/* A string-to-enum table entry for policy_get_enum. */
struct name_value {
	const char *name;
	int value;
};

/* Path handling: push returns a mark to pass to pop. */
size_t path_push_key(struct pctx *c, const char *key);
size_t path_push_index(struct pctx *c, size_t i);
void path_pop(struct pctx *c, size_t mark);

/* Sets err to "<path>: <message>" (or the message alone at the root); returns code. */
int perr(struct pctx *c, int code, const char *fmt, ...) MXC_PRINTF(3, 4);
/* As perr, for the member key of the current object. */
int perr_key(struct pctx *c, const char *key, int code, const char *fmt, ...) MXC_PRINTF(4, 5);
int perr_oom(struct pctx *c);
/* Records "<path>.<key>: <message>" as a warning. */
int pwarn_key(struct pctx *c, const char *key, const char *fmt, ...) MXC_PRINTF(3, 4);

/*
 * Accessors for member key of obj. They return 0 when present and valid, -ENOENT when
 * absent or null (nothing set), or a negative errno with the error set.
 */
int policy_member(struct json_object *obj, const char *key, struct json_object **ret);
int policy_check_keys(struct pctx *c, struct json_object *obj, const char *const *allowed);
int policy_get_object(struct pctx *c, struct json_object *obj, const char *key,
		      struct json_object **ret);
int policy_get_array(struct pctx *c, struct json_object *obj, const char *key, size_t max_items,
		     struct json_object **ret);
int policy_get_string(struct pctx *c, struct json_object *obj, const char *key, size_t max_len,
		      const char **ret);
int policy_get_bool(struct pctx *c, struct json_object *obj, const char *key, bool *ret);
int policy_get_uint(struct pctx *c, struct json_object *obj, const char *key, uint64_t min,
		    uint64_t max, uint64_t *ret);
int policy_get_enum(struct pctx *c, struct json_object *obj, const char *key,
		    const struct name_value *names, int *ret);
/* The string at index i of array arr (checked: a string, no NUL, at most max_len bytes). */
int policy_array_string(struct pctx *c, struct json_object *arr, size_t i, size_t max_len,
			const char **ret);

/* Appends a copy of s to the NULL-terminated vector *v of length *n. */
int strv_push(char ***v, size_t *n, const char *s);
void strv_sort(char **v);

/* Path normalization (paths.c). Writes a normalized copy to *ret; errors name the path. */
int policy_normalize_path(struct pctx *c, const char *in, char **ret);
int policy_parse_filesystem(struct pctx *c, struct json_object *root, struct mxc_policy *p);

/* network.c */
int policy_parse_network(struct pctx *c, struct json_object *root, struct mxc_policy *p);
int policy_parse_cidr(const char *s, struct mxc_policy_cidr *ret, char *why, size_t why_len);
bool policy_cidr_contains(const struct mxc_policy_cidr *outer, const struct mxc_policy_cidr *inner);
void policy_network_free(struct mxc_policy_network *n);

/* session.c */
int policy_parse_ui(struct pctx *c, struct json_object *root, struct mxc_policy *p);
int policy_parse_session(struct pctx *c, struct json_object *root, struct mxc_policy *p);
int policy_parse_principals(struct pctx *c, struct json_object *obj, const char *key, char ***ret);
void policy_transfer_rules_free(struct mxc_policy_transfer_rule *r, size_t n);
int policy_check_pattern(const char *pattern, char *why, size_t why_len);

/* mxc-compat.c: MXC's process and platform-specific objects. */
int policy_parse_process(struct pctx *c, struct json_object *root, struct mxc_policy *p);
int policy_parse_platform(struct pctx *c, struct json_object *root);
void policy_process_free(struct mxc_policy_process *proc);

/* dupkeys.c: refuses objects with a repeated key, which json-c silently collapses. */
int policy_check_duplicate_keys(struct pctx *c, const char *text, size_t len,
				struct json_object *root);

#endif
