/*
 * JSON helpers on json-c. Every JSON text mxc reads is hostile: parsing is strict
 * (RFC 8259, no trailing data), depth-bounded, and the accessors check types, ranges and
 * embedded NUL bytes, reporting "'key': must be ..." through struct mxc_error.
 */
#ifndef MXC_COMMON_JSON_H
#define MXC_COMMON_JSON_H

#include <json-c/json.h>

#include "error.h"

#define MXC_JSON_MAX_DEPTH 32

/* Parses exactly one JSON value from text[0..len). */
int mxc_json_parse(const char *text, size_t len, struct json_object **ret, struct mxc_error *err);
/* Compact serialisation on one line; the string is owned by obj. */
const char *mxc_json_str(struct json_object *obj, size_t *ret_len);
/* Pretty serialisation for humans; owned by obj. */
const char *mxc_json_pretty(struct json_object *obj);

/*
 * Typed accessors for an object member. They return 0 when the member is present and
 * valid, -ENOENT when it is absent or null (ret untouched, err untouched), -EINVAL when
 * it has the wrong type or value (err set).
 */
int mxc_json_get_str(struct json_object *obj, const char *key, size_t max_len, const char **ret,
		     struct mxc_error *err);
/* For an optional member: an accessor's -ENOENT becomes 0. */
static inline int mxc_json_optional(int r)
{
	return r == -ENOENT ? 0 : r;
}
int mxc_json_get_u64(struct json_object *obj, const char *key, uint64_t max, uint64_t *ret,
		     struct mxc_error *err);
int mxc_json_get_i64(struct json_object *obj, const char *key, int64_t min, int64_t max,
		     int64_t *ret, struct mxc_error *err);
int mxc_json_get_bool(struct json_object *obj, const char *key, bool *ret, struct mxc_error *err);
/* An array of strings, each non-empty and at most max_len bytes; at most max_items. */
int mxc_json_get_strv(struct json_object *obj, const char *key, size_t max_items, size_t max_len,
		      char ***ret, struct mxc_error *err);
/* Refuses members of obj not named in allowed (NULL-terminated). */
int mxc_json_check_keys(struct json_object *obj, const char *const *allowed,
			struct mxc_error *err);

/* Builders; a NULL string becomes JSON null. */
void mxc_json_add_str(struct json_object *obj, const char *key, const char *val);
void mxc_json_add_i64(struct json_object *obj, const char *key, int64_t val);
void mxc_json_add_bool(struct json_object *obj, const char *key, bool val);
struct json_object *mxc_json_strv(char *const *v);

#endif
