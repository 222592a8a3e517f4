#include <stdlib.h>

#include "fs.h"
#include "identity.h"

/* Ids are 32 bits: a range starts at most at 2^32 - 1 and covers at most 2^32 ids. */
#define SUBID_START_MAX UINT64_C(0xffffffff)
#define SUBID_COUNT_MAX UINT64_C(0x100000000)

/* Parses [p, end) as an unsigned decimal of at most max; false for anything else. */
static bool parse_number(const char *p, const char *end, uint64_t max, uint64_t *ret)
{
	if (p == end)
		return false;
	uint64_t v = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
		/* max is far below UINT64_MAX / 10, so checking each step prevents overflow. */
		if (v > max)
			return false;
	}
	*ret = v;
	return true;
}

/* "owner:start:count", owner non-empty; the line excludes its '\n'. */
static bool parse_line(const char *line, const char *end, struct mxc_subid_range *ret)
{
	const char *c1 = memchr(line, ':', (size_t)(end - line));
	if (!c1 || c1 == line || memchr(line, '\0', (size_t)(c1 - line)))
		return false;
	const char *c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2)
		return false;
	return parse_number(c1 + 1, c2, SUBID_START_MAX, &ret->start) &&
	       parse_number(c2 + 1, end, SUBID_COUNT_MAX, &ret->count);
}

int mxc_subid_parse(const char *text, size_t len, struct mxc_subid_range **ret, size_t *ret_n,
		    size_t *ret_malformed)
{
	if (!text && len > 0)
		return -EINVAL;
	struct mxc_subid_range *ranges = NULL;
	size_t n = 0, cap = 0, malformed = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		struct mxc_subid_range r;
		if (line_end == p) {
			/* An empty line is nothing, not a mistake. */
		} else if (!parse_line(p, line_end, &r)) {
			malformed++;
		} else {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct mxc_subid_range *g = reallocarray(ranges, ncap, sizeof(*g));
				if (!g) {
					free(ranges);
					return -ENOMEM;
				}
				ranges = g;
				cap = ncap;
			}
			ranges[n++] = r;
		}
		p = nl ? nl + 1 : end;
	}
	*ret = ranges;
	*ret_n = n;
	if (ret_malformed)
		*ret_malformed = malformed;
	return 0;
}

bool mxc_subid_contains(const struct mxc_subid_range *r, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= r[i].start && id - r[i].start < r[i].count)
			return true;
	return false;
}

int mxc_subid_load(const char *path, struct mxc_subid_range **ret, size_t *ret_n,
		   size_t *ret_malformed, struct mxc_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = mxc_read_file(path, MXC_SUBID_FILE_MAX, &text, &len);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		if (ret_malformed)
			*ret_malformed = 0;
		return 0;
	}
	if (r == -EFBIG)
		return mxc_error_set(err, r, "refusing to read '%s': it is larger than %u bytes",
				     path, MXC_SUBID_FILE_MAX);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to read '%s'", path);
	r = mxc_subid_parse(text, len, ret, ret_n, ret_malformed);
	free(text);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to parse '%s'", path);
	return 0;
}
