/* Key names and chords ("ctrl+shift+t") to keysyms, and strict UTF-8 decoding. */
#include <stdio.h>
#include <strings.h>

#include "input-private.h"

int utf8_next(const char *s, size_t len, size_t *pos, uint32_t *ret_cp)
{
	const uint8_t *p = (const uint8_t *)s + *pos;
	size_t left = len - *pos, n;
	uint32_t cp, min;

	if (left == 0)
		return -EILSEQ;
	if (p[0] < 0x80) {
		*ret_cp = p[0];
		*pos += 1;
		return 0;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return -EILSEQ;
	}
	if (left < n)
		return -EILSEQ;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -EILSEQ;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -EILSEQ;
	*ret_cp = cp;
	*pos += n;
	return 0;
}

/* Names people (and agent runtimes) use for keys, matched ignoring case. Sorted by name. */
static const struct {
	const char *name;
	xkb_keysym_t sym;
} aliases[] = {
    {"alt", XKB_KEY_Alt_L},
    {"altgr", XKB_KEY_ISO_Level3_Shift},
    {"backspace", XKB_KEY_BackSpace},
    {"capslock", XKB_KEY_Caps_Lock},
    {"cmd", XKB_KEY_Super_L},
    {"command", XKB_KEY_Super_L},
    {"control", XKB_KEY_Control_L},
    {"ctrl", XKB_KEY_Control_L},
    {"del", XKB_KEY_Delete},
    {"delete", XKB_KEY_Delete},
    {"down", XKB_KEY_Down},
    {"end", XKB_KEY_End},
    {"enter", XKB_KEY_Return},
    {"esc", XKB_KEY_Escape},
    {"escape", XKB_KEY_Escape},
    {"home", XKB_KEY_Home},
    {"ins", XKB_KEY_Insert},
    {"insert", XKB_KEY_Insert},
    {"left", XKB_KEY_Left},
    {"menu", XKB_KEY_Menu},
    {"meta", XKB_KEY_Super_L},
    {"option", XKB_KEY_Alt_L},
    {"page_down", XKB_KEY_Next},
    {"page_up", XKB_KEY_Prior},
    {"pagedown", XKB_KEY_Next},
    {"pageup", XKB_KEY_Prior},
    {"pgdn", XKB_KEY_Next},
    {"pgup", XKB_KEY_Prior},
    {"print", XKB_KEY_Print},
    {"printscreen", XKB_KEY_Print},
    {"return", XKB_KEY_Return},
    {"right", XKB_KEY_Right},
    {"shift", XKB_KEY_Shift_L},
    {"space", XKB_KEY_space},
    {"super", XKB_KEY_Super_L},
    {"tab", XKB_KEY_Tab},
    {"up", XKB_KEY_Up},
    {"win", XKB_KEY_Super_L},
    {"windows", XKB_KEY_Super_L},
};

/* Copies a user-given name for a message: printable ASCII and UTF-8 kept, the rest '?'. */
static void copy_shown(char *dst, size_t size, const char *name, size_t len)
{
	size_t o = 0, i = 0;

	while (i < len && o + 5 < size) {
		size_t start = i;
		uint32_t cp;

		if (utf8_next(name, len, &i, &cp) < 0) {
			dst[o++] = '?';
			i = start + 1;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			dst[o++] = '?';
			continue;
		}
		memcpy(dst + o, name + start, i - start);
		o += i - start;
	}
	if (i < len && o + 4 <= size) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* One key of a chord (len bytes at name, no '+' splitting left to do). */
static int key_from_name(const char *name, size_t len, xkb_keysym_t *ret, struct mxc_error *err)
{
	char buf[65], shown[80];
	xkb_keysym_t sym;
	size_t pos = 0;
	uint32_t cp;

	copy_shown(shown, sizeof(shown), name, len);
	if (len == 0)
		return mxc_error_set(err, -EINVAL, "empty key name");
	if (len >= sizeof(buf))
		return mxc_error_set(err, -EINVAL, "unknown key name '%s' (too long)", shown);
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (strlen(buf) != len)
		return mxc_error_set(err, -EINVAL, "unknown key name '%s'", shown);

	/* One character is that character's key. */
	if (utf8_next(buf, len, &pos, &cp) == 0 && pos == len) {
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return mxc_error_set(err, -EINVAL,
					     "unknown key name '%s' (a control character)", shown);
		sym = xkb_utf32_to_keysym(cp);
		if (sym == XKB_KEY_NoSymbol)
			return mxc_error_set(err, -EINVAL, "unknown key name '%s'", shown);
		*ret = sym;
		return 0;
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(aliases); i++)
		if (strcasecmp(buf, aliases[i].name) == 0) {
			*ret = aliases[i].sym;
			return 0;
		}
	sym = xkb_keysym_from_name(buf, XKB_KEYSYM_NO_FLAGS);
	if (sym == XKB_KEY_NoSymbol)
		sym = xkb_keysym_from_name(buf, XKB_KEYSYM_CASE_INSENSITIVE);
	if (sym == XKB_KEY_NoSymbol || sym == XKB_KEY_VoidSymbol)
		return mxc_error_set(err, -EINVAL, "unknown key name '%s'", shown);
	*ret = sym;
	return 0;
}

int chord_parse(const char *chord, xkb_keysym_t *ret_syms, size_t *ret_n, struct mxc_error *err)
{
	size_t len, pos = 0, n = 0;

	if (!chord)
		return mxc_error_set(err, -EINVAL, "no keys given");
	len = strnlen(chord, MXC_INPUT_MAX_CHORD_LEN + 1);
	if (len > MXC_INPUT_MAX_CHORD_LEN)
		return mxc_error_set(err, -E2BIG, "chord longer than %d bytes",
				     MXC_INPUT_MAX_CHORD_LEN);
	/*
	 * Keys are separated by '+'. A key that is itself "+" is a '+' where a key starts:
	 * "ctrl++", "+", "ctrl+++shift"... ("ctrl++" is ctrl and plus).
	 */
	while (pos < len) {
		size_t start, end;
		int r;

		while (pos < len && chord[pos] == ' ')
			pos++;
		start = pos;
		if (pos < len && chord[pos] == '+')
			pos++;
		while (pos < len && chord[pos] != '+')
			pos++;
		end = pos;
		while (end > start && chord[end - 1] == ' ')
			end--;
		if (n == MXC_INPUT_MAX_CHORD_KEYS)
			return mxc_error_set(err, -E2BIG, "more than %d keys in chord",
					     MXC_INPUT_MAX_CHORD_KEYS);
		r = key_from_name(chord + start, end - start, &ret_syms[n], err);
		if (r < 0)
			return r;
		n++;
		if (pos < len) {
			pos++; /* the separator */
			if (pos == len)
				return mxc_error_set(err, -EINVAL,
						     "chord ends with '+' (write the key "
						     "\"plus\" or \"ctrl++\")");
		}
	}
	if (n == 0)
		return mxc_error_set(err, -EINVAL, "no keys given");
	*ret_n = n;
	return 0;
}
