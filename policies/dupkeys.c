/*
 * json-c keeps the last of two equal keys in an object, and cuts a key at an escaped NUL.
 * A policy reviewer (or another parser) may well read the first, or a different key: both
 * are refused here. The text has already been parsed successfully, so it is valid JSON and
 * its nesting is bounded by MXC_JSON_MAX_DEPTH.
 */
#include <stdlib.h>

#include "json.h"
#include "parse-internal.h"

#define NOT_OBJECT SIZE_MAX
#define MAX_STACK  (MXC_JSON_MAX_DEPTH + 2)

struct scan {
	size_t *counts;	 /* members of each object, in pre-order */
	size_t *offsets; /* where each object starts in the text */
	size_t n, cap;
};

static size_t skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

/* Skips the string starting at t[i] == '"'; returns the index after it. */
static size_t skip_string(const char *t, size_t len, size_t i, bool *ret_nul)
{
	bool nul = false;
	for (i++; i < len && t[i] != '"'; i++) {
		if (t[i] != '\\')
			continue;
		if (i + 5 < len && t[i + 1] == 'u' && memcmp(t + i + 2, "0000", 4) == 0)
			nul = true;
		i++;
	}
	*ret_nul = nul;
	return i + 1;
}

static int scan_text(struct pctx *c, const char *t, size_t len, struct scan *s)
{
	size_t stack[MAX_STACK];
	size_t depth = 0;
	for (size_t i = 0; i < len;) {
		char ch = t[i];
		if (ch == '"') {
			bool nul;
			size_t start = i;
			i = skip_string(t, len, i, &nul);
			size_t j = skip_ws(t, len, i);
			if (nul && j < len && t[j] == ':')
				return mxc_error_set(c->err, -EINVAL,
						     "invalid key at offset %zu: contains a NUL "
						     "character",
						     start);
			continue;
		}
		if (ch == '{' || ch == '[') {
			if (depth >= MAX_STACK)
				return mxc_error_set(c->err, -EINVAL, "JSON nested too deeply");
			if (ch == '[') {
				stack[depth++] = NOT_OBJECT;
			} else {
				if (s->n == s->cap) {
					size_t cap = s->cap ? s->cap * 2 : 64;
					size_t *nc = realloc(s->counts, cap * sizeof(size_t));
					if (!nc)
						return perr_oom(c);
					s->counts = nc;
					size_t *no = realloc(s->offsets, cap * sizeof(size_t));
					if (!no)
						return perr_oom(c);
					s->offsets = no;
					s->cap = cap;
				}
				s->counts[s->n] = 0;
				s->offsets[s->n] = i;
				stack[depth++] = s->n++;
			}
		} else if ((ch == '}' || ch == ']') && depth > 0) {
			depth--;
		} else if (ch == ':' && depth > 0 && stack[depth - 1] != NOT_OBJECT) {
			s->counts[stack[depth - 1]]++;
		}
		i++;
	}
	return 0;
}

/* Names the first repeated key of the object starting at t[off]. */
static int report_duplicate(struct pctx *c, const char *t, size_t len, size_t off)
{
	struct json_object *seen = json_object_new_object();
	int r = -EINVAL;
	int depth = 0;
	if (!seen)
		return perr_oom(c);
	for (size_t i = off + 1; i < len && depth >= 0;) {
		char ch = t[i];
		if (ch == '"') {
			bool nul;
			size_t start = i;
			i = skip_string(t, len, i, &nul);
			size_t j = skip_ws(t, len, i);
			if (depth != 0 || j >= len || t[j] != ':')
				continue;
			struct json_tokener *tok = json_tokener_new();
			if (!tok)
				break;
			struct json_object *k =
			    json_tokener_parse_ex(tok, t + start, (int)(i - start));
			json_tokener_free(tok);
			const char *key = k ? json_object_get_string(k) : NULL;
			if (key && json_object_object_get_ex(seen, key, NULL)) {
				r = perr_key(c, key, -EINVAL, "duplicate key");
				json_object_put(k);
				json_object_put(seen);
				return r;
			}
			if (key)
				json_object_object_add(seen, key, NULL);
			json_object_put(k);
			continue;
		}
		if (ch == '{' || ch == '[')
			depth++;
		else if (ch == '}' || ch == ']')
			depth--;
		i++;
	}
	json_object_put(seen);
	return perr(c, -EINVAL, "duplicate key");
}

static int walk(struct pctx *c, const char *t, size_t len, const struct scan *s,
		struct json_object *o, size_t *k, unsigned depth)
{
	if (depth > MXC_JSON_MAX_DEPTH + 1)
		return mxc_error_set(c->err, -EINVAL, "JSON nested too deeply");
	int r = 0;
	if (json_object_is_type(o, json_type_object)) {
		size_t idx = (*k)++;
		if (idx >= s->n)
			return mxc_error_set(c->err, -EINVAL, "duplicate key");
		if ((size_t)json_object_object_length(o) != s->counts[idx])
			return report_duplicate(c, t, len, s->offsets[idx]);
		json_object_object_foreach(o, key, val)
		{
			size_t mark = path_push_key(c, key);
			r = walk(c, t, len, s, val, k, depth + 1);
			path_pop(c, mark);
			if (r < 0)
				return r;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n && r == 0; i++) {
			size_t mark = path_push_index(c, i);
			r = walk(c, t, len, s, json_object_array_get_idx(o, i), k, depth + 1);
			path_pop(c, mark);
		}
	}
	return r;
}

int policy_check_duplicate_keys(struct pctx *c, const char *text, size_t len,
				struct json_object *root)
{
	struct scan s = {0};
	int r = scan_text(c, text, len, &s);
	size_t k = 0;
	if (r == 0)
		r = walk(c, text, len, &s, root, &k, 0);
	free(s.counts);
	free(s.offsets);
	return r;
}
