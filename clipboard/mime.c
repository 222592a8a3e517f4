/*
 * The data side of selections: MIME names and the target names that stand for them, UTF-8 and
 * Latin-1 text, PNG signatures. Everything here reads bytes a hostile peer chose.
 */
#include <stdlib.h>
#include <strings.h>

#include "clipboard-private.h"

/* The longest type or subtype (RFC 6838: restricted-name is at most 127 characters). */
#define MAX_MIME_PART 127

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* RFC 6838 restricted-name. */
static bool mime_part_valid(const char *s, size_t n)
{
	if (n == 0 || n > MAX_MIME_PART || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !memchr("!#$&-^_.+", s[i], 9))
			return false;
	return true;
}

/* Whether s[0..n) is type/subtype. */
static bool mime_valid_n(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);

	if (!slash || n > MXC_CLIPBOARD_MAX_MIME)
		return false;
	return mime_part_valid(s, (size_t)(slash - s)) &&
	       mime_part_valid(slash + 1, n - (size_t)(slash - s) - 1);
}

bool clip_mime_valid(const char *s)
{
	size_t n = strnlen(s, MXC_CLIPBOARD_MAX_MIME + 1);

	return n <= MXC_CLIPBOARD_MAX_MIME && mime_valid_n(s, n);
}

void clip_mime_lower(const char *s, char *out)
{
	size_t i;

	for (i = 0; i < MXC_CLIPBOARD_MAX_MIME && s[i]; i++)
		out[i] = lower(s[i]);
	out[i] = '\0';
}

/* Whether s[0..n) is, ignoring spaces and case, charset=utf-8 (quoted or not, or "utf8"). */
static bool is_utf8_charset(const char *s, size_t n)
{
	char buf[32];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '"')
			continue;
		if (k == sizeof(buf) - 1)
			return false;
		buf[k++] = lower(s[i]);
	}
	buf[k] = '\0';
	return mxc_streq(buf, "charset=utf-8") || mxc_streq(buf, "charset=utf8");
}

bool clip_mime_of_target(const char *name, size_t len, char *out, int *ret_text_rank)
{
	static const struct {
		const char *name;
		int rank;
	} text_names[] = {
	    {"UTF8_STRING", 0},
	    {"STRING", 2},
	    {"TEXT", 4},
	};
	const char *semi;
	size_t base;

	for (size_t i = 0; i < MXC_ARRAY_SIZE(text_names); i++) {
		if (len == strlen(text_names[i].name) &&
		    memcmp(name, text_names[i].name, len) == 0) {
			strcpy(out, "text/plain");
			*ret_text_rank = text_names[i].rank;
			return true;
		}
	}
	if (len > MXC_CLIPBOARD_MAX_MIME)
		return false;
	semi = memchr(name, ';', len);
	base = semi ? (size_t)(semi - name) : len;
	/* Parameters other than the charset we read change what the bytes mean. */
	if (semi && !is_utf8_charset(semi + 1, len - base - 1))
		return false;
	while (base > 0 && name[base - 1] == ' ')
		base--;
	if (!mime_valid_n(name, base))
		return false;
	for (size_t i = 0; i < base; i++)
		out[i] = lower(name[i]);
	out[base] = '\0';
	*ret_text_rank = -1;
	if (mxc_streq(out, "text/plain"))
		*ret_text_rank = semi ? 1 : 3;
	return true;
}

bool clip_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t b = s[i];
		size_t n;
		uint32_t cp, min;

		if (b < 0x80) {
			i++;
			continue;
		}
		if ((b & 0xe0) == 0xc0) {
			n = 2;
			cp = b & 0x1f;
			min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			n = 3;
			cp = b & 0x0f;
			min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			n = 4;
			cp = b & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (len - i < n)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values past Unicode are all invalid. */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

int clip_latin1_to_utf8(const uint8_t *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len)
{
	size_t n = len, k = 0;
	uint8_t *out;

	for (size_t i = 0; i < len; i++)
		n += s[i] >= 0x80;
	if (n > max)
		return -EFBIG;
	out = malloc(n ? n : 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x80) {
			out[k++] = s[i];
		} else {
			out[k++] = (uint8_t)(0xc0 | s[i] >> 6);
			out[k++] = (uint8_t)(0x80 | (s[i] & 0x3f));
		}
	}
	*ret = out;
	*ret_len = n;
	return 0;
}

int clip_utf8_to_latin1(const uint8_t *s, size_t len, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out = malloc(len ? len : 1);
	size_t k = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x80) {
			out[k++] = s[i];
		} else if ((s[i] == 0xc2 || s[i] == 0xc3) && i + 1 < len) {
			/* U+0080..U+00FF; the input is known to be valid UTF-8. */
			out[k++] = (uint8_t)((s[i] & 0x03) << 6 | (s[i + 1] & 0x3f));
			i++;
		} else {
			free(out);
			return 1;
		}
	}
	*ret = out;
	*ret_len = k;
	return 0;
}

bool clip_png_signature(const uint8_t *s, size_t len)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	return len >= sizeof(sig) && memcmp(s, sig, sizeof(sig)) == 0;
}
