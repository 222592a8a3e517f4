/* Path-aware JSON accessors for the policy parser: every error names where it is. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "parse-internal.h"

/* Keys come from the policy author (unknown keys are reported): print at most this much. */
#define MAX_KEY_SHOWN 64

static size_t path_append(struct pctx *c, const char *s)
{
	size_t mark = c->path_len;
	size_t room = sizeof(c->path) - c->path_len;
	int n = snprintf(c->path + c->path_len, room, "%s", s);
	if (n < 0)
		n = 0;
	c->path_len += (size_t)n < room ? (size_t)n : room - 1;
	return mark;
}

size_t path_push_key(struct pctx *c, const char *key)
{
	char shown[MAX_KEY_SHOWN + 8];
	size_t i = 0, o = 0;
	if (c->path_len > 0)
		shown[o++] = '.';
	/* Only printable ASCII reaches a message; anything else is shown as '?'. */
	for (; key[i] && i < MAX_KEY_SHOWN; i++) {
		unsigned char ch = (unsigned char)key[i];
		shown[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (key[i]) {
		shown[o++] = '.';
		shown[o++] = '.';
		shown[o++] = '.';
	}
	shown[o] = '\0';
	return path_append(c, shown);
}

size_t path_push_index(struct pctx *c, size_t i)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "[%zu]", i);
	return path_append(c, buf);
}

void path_pop(struct pctx *c, size_t mark)
{
	if (mark <= c->path_len) {
		c->path_len = mark;
		c->path[mark] = '\0';
	}
}

static int vperr(struct pctx *c, int code, const char *fmt, va_list ap)
{
	char msg[sizeof(c->err->msg)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->path_len > 0)
		return mxc_error_set(c->err, code, "%s: %s", c->path, msg);
	return mxc_error_set(c->err, code, "%s", msg);
}

int perr(struct pctx *c, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vperr(c, code, fmt, ap);
	va_end(ap);
	return code;
}

int perr_key(struct pctx *c, const char *key, int code, const char *fmt, ...)
{
	size_t mark = path_push_key(c, key);
	va_list ap;
	va_start(ap, fmt);
	vperr(c, code, fmt, ap);
	va_end(ap);
	path_pop(c, mark);
	return code;
}

int perr_oom(struct pctx *c)
{
	return mxc_error_set(c->err, -ENOMEM, "out of memory");
}

int pwarn_key(struct pctx *c, const char *key, const char *fmt, ...)
{
	if (c->n_warnings >= MAX_WARNINGS)
		return 0;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t mark = path_push_key(c, key);
	char *w = NULL;
	int r = asprintf(&w, "%s: %s", c->path, msg);
	path_pop(c, mark);
	if (r < 0)
		return perr_oom(c);
	char **v = realloc(c->warnings, (c->n_warnings + 2) * sizeof(char *));
	if (!v) {
		free(w);
		return perr_oom(c);
	}
	c->warnings = v;
	v[c->n_warnings++] = w;
	v[c->n_warnings] = NULL;
	return 0;
}

int policy_member(struct json_object *obj, const char *key, struct json_object **ret)
{
	struct json_object *v;
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return -ENOENT;
	*ret = v;
	return 0;
}

int policy_check_keys(struct pctx *c, struct json_object *obj, const char *const *allowed)
{
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, key) == 0;
		if (!known)
			return perr_key(c, key, -EINVAL, "unknown field");
	}
	return 0;
}

int policy_get_object(struct pctx *c, struct json_object *obj, const char *key,
		      struct json_object **ret)
{
	struct json_object *v;
	if (policy_member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_object))
		return perr_key(c, key, -EINVAL, "must be an object");
	*ret = v;
	return 0;
}

int policy_get_array(struct pctx *c, struct json_object *obj, const char *key, size_t max_items,
		     struct json_object **ret)
{
	struct json_object *v;
	if (policy_member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_array))
		return perr_key(c, key, -EINVAL, "must be an array");
	if (json_object_array_length(v) > max_items)
		return perr_key(c, key, -EINVAL, "more than %zu entries", max_items);
	*ret = v;
	return 0;
}

static int check_string(struct pctx *c, struct json_object *v, size_t max_len, const char **ret)
{
	if (!json_object_is_type(v, json_type_string))
		return perr(c, -EINVAL, "must be a string");
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		return perr(c, -EINVAL, "must not contain NUL characters");
	if (len > max_len)
		return perr(c, -EINVAL, "longer than %zu bytes", max_len);
	*ret = s;
	return 0;
}

int policy_get_string(struct pctx *c, struct json_object *obj, const char *key, size_t max_len,
		      const char **ret)
{
	struct json_object *v;
	if (policy_member(obj, key, &v) < 0)
		return -ENOENT;
	size_t mark = path_push_key(c, key);
	int r = check_string(c, v, max_len, ret);
	path_pop(c, mark);
	return r;
}

int policy_array_string(struct pctx *c, struct json_object *arr, size_t i, size_t max_len,
			const char **ret)
{
	size_t mark = path_push_index(c, i);
	int r = check_string(c, json_object_array_get_idx(arr, i), max_len, ret);
	path_pop(c, mark);
	return r;
}

int policy_get_bool(struct pctx *c, struct json_object *obj, const char *key, bool *ret)
{
	struct json_object *v;
	if (policy_member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_boolean))
		return perr_key(c, key, -EINVAL, "must be true or false");
	*ret = json_object_get_boolean(v);
	return 0;
}

int policy_get_uint(struct pctx *c, struct json_object *obj, const char *key, uint64_t min,
		    uint64_t max, uint64_t *ret)
{
	struct json_object *v;
	if (policy_member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_int))
		return perr_key(c, key, -EINVAL, "must be an integer");
	/* json-c saturates out-of-range integers, which the range check then refuses; every
	 * max here is far below INT64_MAX. */
	int64_t i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max || i == INT64_MAX)
		return perr_key(c, key, -EINVAL, "must be between %llu and %llu",
				(unsigned long long)min, (unsigned long long)max);
	*ret = (uint64_t)i;
	return 0;
}

int policy_get_enum(struct pctx *c, struct json_object *obj, const char *key,
		    const struct name_value *names, int *ret)
{
	struct json_object *v;
	if (policy_member(obj, key, &v) < 0)
		return -ENOENT;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		if (strlen(s) == (size_t)json_object_get_string_len(v))
			for (const struct name_value *n = names; n->name; n++)
				if (strcmp(n->name, s) == 0) {
					*ret = n->value;
					return 0;
				}
	}
	char list[256];
	size_t o = 0;
	for (const struct name_value *n = names; n->name && o < sizeof(list); n++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s\"%s\"", o ? ", " : "", n->name);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	return perr_key(c, key, -EINVAL, "must be one of %s", list);
}

int strv_push(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	nv[(*n)++] = copy;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **v)
{
	size_t n = mxc_strv_length(v);
	if (n > 1)
		qsort(v, n, sizeof(char *), cmp_str);
}
