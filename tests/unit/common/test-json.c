/*
 * Strict JSON parsing (common/json.h): every text the daemon reads is hostile, so the
 * parser refuses trailing data, NUL bytes, invalid UTF-8 and deep nesting, and the
 * accessors refuse wrong types.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int parse(const char *text, size_t len, struct mxc_error *err)
{
	struct json_object *o = NULL;
	int r = mxc_json_parse(text, len, &o, err);
	if (r == 0)
		cr_assert_not_null(o);
	json_object_put(o);
	return r;
}

static int parse_str(const char *text, struct mxc_error *err)
{
	return parse(text, strlen(text), err);
}

Test(json, accepts_one_value_with_surrounding_whitespace)
{
	struct mxc_error err = {0};
	cr_assert_eq(parse_str("{\"a\":[1,2,{\"b\":null}]}", &err), 0, "%s", err.msg);
	cr_assert_eq(parse_str("  {}\r\n\t ", &err), 0, "%s", err.msg);
	cr_assert_eq(parse_str("42", &err), 0, "a bare number: %s", err.msg);
	cr_assert_eq(parse_str("\"caf\xc3\xa9\"", &err), 0, "valid UTF-8: %s", err.msg);
}

Test(json, refuses_trailing_data)
{
	struct mxc_error err = {0};
	cr_assert_eq(parse_str("{} x", &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "invalid JSON at offset 3"), "%s", err.msg);
	cr_assert_eq(parse_str("42 x", &err), -EINVAL);
	cr_assert_eq(parse_str("{}{}", &err), -EINVAL);
	cr_assert_eq(parse_str("{\"v\":1}\n{\"v\":1}", &err), -EINVAL,
		     "two requests on one line must not pass as one");
	cr_assert_eq(parse_str("[1],", &err), -EINVAL);
}

Test(json, refuses_incomplete_and_invalid_text)
{
	struct mxc_error err = {0};
	static const char *const bad[] = {
	    "",	       "   ",	    "{",	  "{\"v\":1,",	"[1,2",	       "\"open",
	    "{'v':1}", "{v:1}",	    "[1,]",	  "{\"a\":1,}", "nul",	       "01",
	    "NaN",     "{\"a\" 1}", "/* c */ {}", "Infinity",	"[-Infinity]", "{\"a\":NaN}",
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++) {
		err.msg[0] = '\0';
		cr_assert_eq(parse_str(bad[i], &err), -EINVAL, "'%s' was accepted", bad[i]);
		cr_assert_not_null(strstr(err.msg, "invalid JSON"), "'%s': %s", bad[i], err.msg);
	}
}

Test(json, refuses_single_quoted_keys)
{
	/* json-c takes them in strict mode; other parsers and reviewers do not see a key. */
	struct mxc_error err = {0};
	cr_assert_eq(parse_str("{'v':1}", &err), -EINVAL);
	cr_assert_eq(parse_str("{\"a\":1,'a':2}", &err), -EINVAL);
	cr_assert_eq(parse_str("['a']", &err), -EINVAL);
	/* Inside strings a single quote is just a character. */
	cr_assert_eq(parse_str("{\"it's\":\"a 'quote' \\\" here\"}", &err), 0, "%s", err.msg);
}

Test(json, accepts_every_valid_utf8_length)
{
	struct mxc_error err = {0};
	/* U+007F, U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF */
	cr_assert_eq(parse_str("\"\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf "
			       "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"",
			       &err),
		     0, "%s", err.msg);
}

Test(json, refuses_nul_bytes)
{
	struct mxc_error err = {0};
	static const char text[] = "{\"a\":\"x\0y\"}";
	cr_assert_eq(parse(text, sizeof(text) - 1, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "NUL"), "%s", err.msg);
	/* A NUL after a complete value is refused too, not taken as the end of the text. */
	static const char after[] = "{}\0garbage";
	cr_assert_eq(parse(after, sizeof(after) - 1, &err), -EINVAL);
}

Test(json, refuses_invalid_utf8)
{
	struct mxc_error err = {0};
	static const char *const bad[] = {
	    "\"\xff\"",			/* never valid */
	    "\"\xc3\"",			/* truncated sequence */
	    "\"\xc0\xaf\"",		/* overlong '/' */
	    "{\"\x80\":1}",		/* a lone continuation byte in a key */
	    "\"\xe0\x80\xaf\"",		/* overlong in three bytes */
	    "\"\xed\xa0\x80\"",		/* a UTF-16 surrogate, U+D800 */
	    "\"\xf4\x90\x80\x80\"",	/* beyond U+10FFFF */
	    "\"\xf8\x88\x80\x80\x80\"", /* five bytes */
	    "\"ok\xe2\x82\"",		/* cut short before the closing quote */
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++)
		cr_assert_eq(parse_str(bad[i], &err), -EINVAL, "invalid UTF-8 #%zu was accepted",
			     i);
}

/* n nested arrays around a number. */
static char *nested(int n)
{
	char *s = malloc((size_t)n * 2 + 2);
	memset(s, '[', (size_t)n);
	s[n] = '1';
	memset(s + n + 1, ']', (size_t)n);
	s[2 * n + 1] = '\0';
	return s;
}

Test(json, refuses_nesting_deeper_than_the_limit)
{
	/* Depth counts every level down to the innermost value: [[1]] is 3 deep. */
	struct mxc_error err = {0};
	char *ok = nested(MXC_JSON_MAX_DEPTH - 1);
	cr_assert_eq(parse_str(ok, &err), 0, "depth %d: %s", MXC_JSON_MAX_DEPTH, err.msg);
	free(ok);
	char *deep = nested(MXC_JSON_MAX_DEPTH);
	cr_assert_eq(parse_str(deep, &err), -EINVAL, "depth %d was accepted",
		     MXC_JSON_MAX_DEPTH + 1);
	cr_assert_not_null(strstr(err.msg, "nesting too deep"), "%s", err.msg);
	free(deep);
	/* A hostile depth costs nothing: refused, not a stack overflow. */
	char *bomb = nested(100000);
	cr_assert_eq(parse_str(bomb, &err), -EINVAL);
	free(bomb);
	/* Objects count as levels too. */
	char obj[1024] = "";
	for (int i = 0; i < MXC_JSON_MAX_DEPTH; i++)
		strcat(obj, "{\"a\":");
	strcat(obj, "1");
	for (int i = 0; i < MXC_JSON_MAX_DEPTH; i++)
		strcat(obj, "}");
	cr_assert_eq(parse_str(obj, &err), -EINVAL);
}

/* ---- accessors ---- */

static struct json_object *obj(const char *text)
{
	struct json_object *o = NULL;
	struct mxc_error err = {0};
	cr_assert_eq(mxc_json_parse(text, strlen(text), &o, &err), 0, "%s", err.msg);
	return o;
}

Test(json, accessors_check_types_and_ranges)
{
	struct mxc_error err = {0};
	struct json_object *o = obj("{\"s\":\"abc\",\"n\":5,\"neg\":-1,\"b\":true,\"nul\":null,"
				    "\"big\":18446744073709551615,\"f\":1.5}");
	const char *s = NULL;
	uint64_t u = 0;
	int64_t i = 0;
	bool b = false;
	cr_assert_eq(mxc_json_get_str(o, "s", 3, &s, &err), 0);
	cr_assert_str_eq(s, "abc");
	cr_assert_eq(mxc_json_get_str(o, "s", 2, &s, &err), -EINVAL, "length limit");
	cr_assert_eq(mxc_json_get_str(o, "n", 10, &s, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "'n': must be a string");
	cr_assert_eq(mxc_json_get_str(o, "missing", 10, &s, &err), -ENOENT);
	cr_assert_eq(mxc_json_get_str(o, "nul", 10, &s, &err), -ENOENT, "null means absent");

	cr_assert_eq(mxc_json_get_u64(o, "n", 5, &u, &err), 0);
	cr_assert_eq(u, 5);
	cr_assert_eq(mxc_json_get_u64(o, "n", 4, &u, &err), -EINVAL);
	cr_assert_eq(mxc_json_get_u64(o, "neg", 100, &u, &err), -EINVAL);
	cr_assert_eq(mxc_json_get_u64(o, "f", 100, &u, &err), -EINVAL, "a fraction is no integer");
	cr_assert_eq(mxc_json_get_i64(o, "neg", -1, 1, &i, &err), 0);
	cr_assert_eq(i, -1);
	cr_assert_eq(mxc_json_get_i64(o, "big", INT64_MIN, INT64_MAX, &i, &err), -EINVAL,
		     "2^64-1 must not saturate into INT64_MAX");
	cr_assert_eq(mxc_json_get_bool(o, "b", &b, &err), 0);
	cr_assert(b);
	cr_assert_eq(mxc_json_get_bool(o, "n", &b, &err), -EINVAL);
	json_object_put(o);
}

Test(json, strings_with_escaped_nul_are_refused_by_accessors)
{
	struct mxc_error err = {0};
	struct json_object *o = obj("{\"s\":\"a\\u0000b\",\"v\":[\"x\",\"a\\u0000b\"]}");
	const char *s;
	char **v = NULL;
	cr_assert_eq(mxc_json_get_str(o, "s", 100, &s, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "NUL"), "%s", err.msg);
	cr_assert_eq(mxc_json_get_strv(o, "v", 10, 100, &v, &err), -EINVAL);
	cr_assert_null(v);
	json_object_put(o);
}

Test(json, check_keys_names_the_unknown_key)
{
	static const char *const keys[] = {"name", "keep_home", NULL};
	struct mxc_error err = {0};
	struct json_object *o = obj("{\"name\":\"x\",\"keep_home\":true}");
	cr_assert_eq(mxc_json_check_keys(o, keys, &err), 0);
	json_object_put(o);
	o = obj("{\"name\":\"x\",\"force\":true}");
	cr_assert_eq(mxc_json_check_keys(o, keys, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "unknown argument 'force'");
	json_object_put(o);
	cr_assert_eq(mxc_json_check_keys(NULL, keys, &err), 0, "no arguments at all is fine");
}

Test(json, strv_bounds_items_and_lengths)
{
	struct mxc_error err = {0};
	struct json_object *o = obj("{\"a\":[\"x\",\"yy\"],\"b\":[\"x\",1],\"c\":\"x\"}");
	char **v = NULL;
	cr_assert_eq(mxc_json_get_strv(o, "a", 2, 2, &v, &err), 0);
	cr_assert_str_eq(v[0], "x");
	cr_assert_str_eq(v[1], "yy");
	cr_assert_null(v[2]);
	mxc_strv_free(v);
	v = NULL;
	cr_assert_eq(mxc_json_get_strv(o, "a", 1, 2, &v, &err), -EINVAL, "item count");
	cr_assert_eq(mxc_json_get_strv(o, "a", 2, 1, &v, &err), -EINVAL, "item length");
	cr_assert_eq(mxc_json_get_strv(o, "b", 2, 2, &v, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "'b[1]': must be a string");
	cr_assert_eq(mxc_json_get_strv(o, "c", 2, 2, &v, &err), -EINVAL);
	cr_assert_null(v);
	json_object_put(o);
}
