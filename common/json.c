#include <stdlib.h>

#include "json.h"

/*
 * What json-c 0.16 lets through even in strict mode: object keys in single quotes (which
 * other parsers, and the policy's duplicate-key check, do not see as keys), NaN and
 * Infinity, and UTF-8 that is overlong, encodes a surrogate or lies beyond U+10FFFF
 * (RFC 3629). Outside strings a JSON text holds only the characters allowed here.
 */
static int check_text(const char *text, size_t len, struct mxc_error *err)
{
	bool in_string = false;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x80) {
			if (c == '"')
				in_string = !in_string;
			else if (c == '\\' && in_string)
				i++; /* the escaped character is checked by json-c */
			else if (!in_string && !strchr(" \t\r\n{}[]:,-+.0123456789eEtrufalsn", c))
				return mxc_error_set(err, -EINVAL,
						     "invalid JSON at offset %zu: unexpected character",
						     i);
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0)
			n = 1, min = 0x80, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			n = 2, min = 0x800, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			n = 3, min = 0x10000, cp = c & 0x07;
		else
			goto bad;
		if (n >= len - i)
			goto bad;
		for (size_t k = 1; k <= n; k++) {
			unsigned char b = (unsigned char)text[i + k];
			if ((b & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (b & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += n + 1;
		continue;
	bad:
		return mxc_error_set(err, -EINVAL, "invalid JSON at offset %zu: invalid UTF-8", i);
	}
	return 0;
}

int mxc_json_parse(const char *text, size_t len, struct json_object **ret, struct mxc_error *err)
{
	if (len > INT32_MAX)
		return mxc_error_set(err, -EMSGSIZE, "JSON text too long");
	if (memchr(text, '\0', len))
		return mxc_error_set(err, -EINVAL, "JSON text contains a NUL byte");
	int r = check_text(text, len, err);
	if (r < 0)
		return r;

	struct json_tokener *tok = json_tokener_new_ex(MXC_JSON_MAX_DEPTH);
	if (!tok)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

	struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* Let the tokener see the end of input: a bare number needs it. All of text
		 * was consumed then (the parse end now counts in the empty second buffer). */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	if (jerr != json_tokener_success || !obj) {
		r = mxc_error_set(err, -EINVAL, "invalid JSON at offset %zu: %s", end,
				  jerr == json_tokener_continue ? "unexpected end of input"
								: json_tokener_error_desc(jerr));
		goto out;
	}
	for (; end < len; end++) {
		char c = text[end];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			r = mxc_error_set(err, -EINVAL, "invalid JSON at offset %zu: trailing data",
					  end);
			goto out;
		}
	}
	*ret = obj;
	obj = NULL;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return r;
}

const char *mxc_json_str(struct json_object *obj, size_t *ret_len)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (ret_len)
		*ret_len = len;
	return s;
}

const char *mxc_json_pretty(struct json_object *obj)
{
	return json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int member(struct json_object *obj, const char *key, struct json_object **ret)
{
	struct json_object *v;
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return -ENOENT;
	*ret = v;
	return 0;
}

int mxc_json_get_str(struct json_object *obj, const char *key, size_t max_len, const char **ret,
		     struct mxc_error *err)
{
	struct json_object *v;
	if (member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return mxc_error_set(err, -EINVAL, "'%s': must be a string", key);
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		return mxc_error_set(err, -EINVAL, "'%s': must not contain NUL characters", key);
	if (len > max_len)
		return mxc_error_set(err, -EINVAL, "'%s': longer than %zu bytes", key, max_len);
	*ret = s;
	return 0;
}

int mxc_json_get_i64(struct json_object *obj, const char *key, int64_t min, int64_t max,
		     int64_t *ret, struct mxc_error *err)
{
	struct json_object *v;
	if (member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_int))
		return mxc_error_set(err, -EINVAL, "'%s': must be an integer", key);
	errno = 0;
	int64_t i = json_object_get_int64(v);
	/* json-c saturates out-of-range numbers and says so through errno. */
	if (errno == EINVAL || i < min || i > max)
		return mxc_error_set(err, -EINVAL, "'%s': must be between %lld and %lld", key,
				     (long long)min, (long long)max);
	if (json_object_get_uint64(v) > (uint64_t)INT64_MAX && i == INT64_MAX)
		return mxc_error_set(err, -EINVAL, "'%s': out of range", key);
	*ret = i;
	return 0;
}

int mxc_json_get_u64(struct json_object *obj, const char *key, uint64_t max, uint64_t *ret,
		     struct mxc_error *err)
{
	struct json_object *v;
	if (member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_int))
		return mxc_error_set(err, -EINVAL, "'%s': must be an integer", key);
	int64_t i = json_object_get_int64(v);
	if (i < 0)
		return mxc_error_set(err, -EINVAL, "'%s': must not be negative", key);
	errno = 0;
	uint64_t u = json_object_get_uint64(v);
	if (errno == EINVAL || u > max)
		return mxc_error_set(err, -EINVAL, "'%s': must be at most %llu", key,
				     (unsigned long long)max);
	*ret = u;
	return 0;
}

int mxc_json_get_bool(struct json_object *obj, const char *key, bool *ret, struct mxc_error *err)
{
	struct json_object *v;
	if (member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_boolean))
		return mxc_error_set(err, -EINVAL, "'%s': must be true or false", key);
	*ret = json_object_get_boolean(v);
	return 0;
}

int mxc_json_get_strv(struct json_object *obj, const char *key, size_t max_items, size_t max_len,
		      char ***ret, struct mxc_error *err)
{
	struct json_object *v;
	if (member(obj, key, &v) < 0)
		return -ENOENT;
	if (!json_object_is_type(v, json_type_array))
		return mxc_error_set(err, -EINVAL, "'%s': must be an array of strings", key);
	size_t n = json_object_array_length(v);
	if (n > max_items)
		return mxc_error_set(err, -EINVAL, "'%s': more than %zu items", key, max_items);
	char **strv = calloc(n + 1, sizeof(char *));
	if (!strv)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			mxc_strv_free(strv);
			return mxc_error_set(err, -EINVAL, "'%s[%zu]': must be a string", key, i);
		}
		const char *s = json_object_get_string(e);
		size_t len = (size_t)json_object_get_string_len(e);
		if (strlen(s) != len || len > max_len) {
			mxc_strv_free(strv);
			return mxc_error_set(err, -EINVAL,
					     "'%s[%zu]': must have no NUL and at most %zu bytes",
					     key, i, max_len);
		}
		strv[i] = strdup(s);
		if (!strv[i]) {
			mxc_strv_free(strv);
			return mxc_error_set(err, -ENOMEM, "out of memory");
		}
	}
	*ret = strv;
	return 0;
}

int mxc_json_check_keys(struct json_object *obj, const char *const *allowed,
			struct mxc_error *err)
{
	if (!obj)
		return 0;
	if (!json_object_is_type(obj, json_type_object))
		return mxc_error_set(err, -EINVAL, "arguments must be a JSON object");
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, key) == 0;
		if (!known)
			return mxc_error_set(err, -EINVAL, "unknown argument '%.64s'", key);
	}
	return 0;
}

void mxc_json_add_str(struct json_object *obj, const char *key, const char *val)
{
	json_object_object_add(obj, key, val ? json_object_new_string(val) : NULL);
}

void mxc_json_add_i64(struct json_object *obj, const char *key, int64_t val)
{
	json_object_object_add(obj, key, json_object_new_int64(val));
}

void mxc_json_add_bool(struct json_object *obj, const char *key, bool val)
{
	json_object_object_add(obj, key, json_object_new_boolean(val));
}

struct json_object *mxc_json_strv(char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}
