/*
 * ui (MXC's UI isolation, with mxc's names) and session (mxc's extension): display, limits,
 * clipboard and handoff rules, inspection and the users allowed to start sessions.
 */
#include <ctype.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "parse-internal.h"

#define MAX_MIME_LEN  255
#define MAX_MIME_PART 127
/* Rough upper bound on the nodes glibc's regcomp builds for a pattern; see estimate(). */
#define MAX_PATTERN_COST   2048
#define MAX_PATTERN_REPEAT 255
#define MAX_PATTERN_GROUPS 32

static const struct name_value clipboard_modes[] = {
    {"none", MXC_POLICY_CLIPBOARD_NONE},
    {"read", MXC_POLICY_CLIPBOARD_READ},
    {"write", MXC_POLICY_CLIPBOARD_WRITE},
    {"all", MXC_POLICY_CLIPBOARD_ALL},
    {NULL, 0},
};

static const struct name_value directions[] = {
    {"agent-to-human", MXC_POLICY_AGENT_TO_HUMAN},
    {"human-to-agent", MXC_POLICY_HUMAN_TO_AGENT},
    {NULL, 0},
};

static const struct name_value actions[] = {
    {"allow", MXC_POLICY_ALLOW},
    {"ask", MXC_POLICY_ASK},
    {"deny", MXC_POLICY_DENY},
    {NULL, 0},
};

static const struct name_value backends[] = {
    {"xvfb", MXC_POLICY_DISPLAY_XVFB},
    {"wlroots", MXC_POLICY_DISPLAY_WLROOTS},
    {NULL, 0},
};

/*
 * A boolean that MXC spells differently: mxc_key (value as is) and mxc_alias (value
 * inverted when invert). Both may be given only if they agree.
 */
static int get_aliased_bool(struct pctx *c, struct json_object *o, const char *mxc_key,
			    const char *alias, bool invert, bool def, bool *ret,
			    const char **ret_given)
{
	bool a = false, b = false;
	int ra = policy_get_bool(c, o, mxc_key, &a);
	if (ra < 0 && ra != -ENOENT)
		return ra;
	int rb = policy_get_bool(c, o, alias, &b);
	if (rb < 0 && rb != -ENOENT)
		return rb;
	if (rb == 0 && invert)
		b = !b;
	if (ra == 0 && rb == 0 && a != b)
		return perr_key(c, alias, -EINVAL, "conflicts with ui.%s (%s)", mxc_key,
				invert ? "disable must be the opposite of allowWindows"
				       : "both must have the same value");
	*ret = ra == 0 ? a : rb == 0 ? b : def;
	*ret_given = ra == 0 ? mxc_key : rb == 0 ? alias : NULL;
	return 0;
}

int policy_parse_ui(struct pctx *c, struct json_object *root, struct mxc_policy *p)
{
	static const char *const keys[] = {"allowWindows", "clipboard", "allowInputInjection",
					   "disable",	   "injection", NULL};
	struct json_object *ui = NULL;
	int r = policy_get_object(c, root, "ui", &ui);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t mark = path_push_key(c, "ui");
	const char *windows_key, *injection_key;
	int mode = MXC_POLICY_CLIPBOARD_NONE;
	r = policy_check_keys(c, ui, keys);
	if (r < 0)
		goto out;
	r = get_aliased_bool(c, ui, "allowWindows", "disable", true, false, &p->ui.allow_windows,
			     &windows_key);
	if (r < 0)
		goto out;
	r = get_aliased_bool(c, ui, "allowInputInjection", "injection", false, false,
			     &p->ui.allow_input_injection, &injection_key);
	if (r < 0)
		goto out;
	r = policy_get_enum(c, ui, "clipboard", clipboard_modes, &mode);
	if (r < 0 && r != -ENOENT)
		goto out;
	p->ui.clipboard = (enum mxc_policy_clipboard_mode)mode;
	r = 0;
	if (!p->ui.allow_windows) {
		if (p->ui.clipboard != MXC_POLICY_CLIPBOARD_NONE)
			r = perr_key(c, "clipboard", -EINVAL,
				     "\"%s\" needs a display, but windows are not allowed "
				     "(set ui.allowWindows to true)",
				     mxc_policy_clipboard_mode_to_string(p->ui.clipboard));
		else if (p->ui.allow_input_injection)
			r = perr_key(c, injection_key, -EINVAL,
				     "needs a display, but windows are not allowed (set "
				     "ui.allowWindows to true)");
	}
out:
	path_pop(c, mark);
	return r;
}

/* Principals: "name" or "group:name", name matching ^[a-z_][a-z0-9_.-]{0,31}$ with an
 * optional trailing '$' (Samba machine accounts). */
bool mxc_policy_principal_valid(const char *s)
{
	if (!s)
		return false;
	if (strncmp(s, "group:", 6) == 0)
		s += 6;
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '$')
		n--;
	if (n < 1 || n > 32)
		return false;
	if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

bool mxc_policy_principal_match(char *const *principals, const char *user, char *const *groups)
{
	for (size_t i = 0; principals && principals[i]; i++) {
		const char *pr = principals[i];
		if (strncmp(pr, "group:", 6) == 0) {
			for (size_t g = 0; groups && groups[g]; g++)
				if (strcmp(pr + 6, groups[g]) == 0)
					return true;
		} else if (user && strcmp(pr, user) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * Parses an array of strings under key with a per-entry check; refuses duplicates;
 * the result is sorted and never NULL.
 */
static int parse_string_set(struct pctx *c, struct json_object *obj, const char *key,
			    size_t max_items, size_t max_len,
			    int (*check)(struct pctx *c, const char *s, char **ret), bool non_empty,
			    char ***ret)
{
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;
	if (!v)
		return perr_oom(c);
	struct json_object *arr;
	int r = policy_get_array(c, obj, key, max_items, &arr);
	if (r == -ENOENT) {
		if (non_empty) {
			mxc_strv_free(v);
			return perr_key(c, key, -EINVAL, "required");
		}
		*ret = v;
		return 0;
	}
	if (r < 0) {
		mxc_strv_free(v);
		return r;
	}
	size_t len = json_object_array_length(arr);
	if (non_empty && len == 0) {
		mxc_strv_free(v);
		return perr_key(c, key, -EINVAL, "must not be empty");
	}
	size_t mark = path_push_key(c, key);
	for (size_t i = 0; i < len && r == 0; i++) {
		const char *s;
		r = policy_array_string(c, arr, i, max_len, &s);
		if (r < 0)
			break;
		size_t imark = path_push_index(c, i);
		char *norm = NULL;
		r = check(c, s, &norm);
		for (size_t j = 0; r == 0 && j < n; j++)
			if (strcmp(v[j], norm) == 0)
				r = perr(c, -EINVAL, "\"%.128s\" is listed twice", norm);
		if (r == 0) {
			char **nv = realloc(v, (n + 2) * sizeof(char *));
			if (!nv) {
				r = perr_oom(c);
			} else {
				v = nv;
				v[n++] = norm;
				v[n] = NULL;
				norm = NULL;
			}
		}
		free(norm);
		path_pop(c, imark);
	}
	path_pop(c, mark);
	if (r < 0) {
		mxc_strv_free(v);
		return r;
	}
	strv_sort(v);
	*ret = v;
	return 0;
}

static int check_principal(struct pctx *c, const char *s, char **ret)
{
	if (!mxc_policy_principal_valid(s))
		return perr(c, -EINVAL,
			    "\"%.64s\" is not a valid principal (a user name or \"group:NAME\"; "
			    "lowercase letters, digits, '_', '.', '-')",
			    s);
	*ret = strdup(s);
	return *ret ? 0 : perr_oom(c);
}

int policy_parse_principals(struct pctx *c, struct json_object *obj, const char *key, char ***ret)
{
	return parse_string_set(c, obj, key, MXC_POLICY_MAX_PRINCIPALS, 80, check_principal, false,
				ret);
}

/* RFC 6838 restricted-name, or "*" where allowed. */
static bool mime_part_valid(const char *s, size_t n)
{
	if (n == 0 || n > MAX_MIME_PART || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("!#$&-^_.+", s[i]))
			return false;
	return true;
}

static int check_mime(struct pctx *c, const char *s, char **ret)
{
	size_t n = strlen(s);
	const char *slash = strchr(s, '/');
	bool ok = slash && n <= MAX_MIME_LEN;
	if (ok) {
		size_t tn = (size_t)(slash - s), sn = n - tn - 1;
		const char *sub = slash + 1;
		bool star_type = tn == 1 && s[0] == '*', star_sub = sn == 1 && sub[0] == '*';
		if (star_type)
			ok = star_sub;
		else
			ok = mime_part_valid(s, tn) && (star_sub || mime_part_valid(sub, sn));
	}
	if (!ok)
		return perr(c, -EINVAL,
			    "\"%.64s\" is not a MIME type (type/subtype, type/* or */*; no "
			    "parameters)",
			    s);
	char *lower = strdup(s);
	if (!lower)
		return perr_oom(c);
	for (char *q = lower; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	*ret = lower;
	return 0;
}

/* One parenthesized group (or the whole pattern) while checking a pattern. */
struct pattern_frame {
	uint64_t total;	       /* estimated size of the finished atoms */
	uint64_t last;	       /* estimated size of the last atom (it may still be repeated) */
	bool have_last;	       /* there is an atom a repetition would apply to */
	bool last_repeated;    /* ... and it is already repeated */
	bool last_nullable;    /* ... and it can match the empty text */
	bool before_nullable;  /* the atoms of this alternative before the last can */
	bool any_alt_nullable; /* an earlier alternative of this group can */
};

static bool frame_nullable(const struct pattern_frame *f)
{
	return f->any_alt_nullable || (f->before_nullable && (!f->have_last || f->last_nullable));
}

static void frame_atom(struct pattern_frame *f, uint64_t size, bool nullable)
{
	f->total += f->last;
	f->before_nullable = f->before_nullable && (!f->have_last || f->last_nullable);
	f->last = size;
	f->have_last = true;
	f->last_repeated = false;
	f->last_nullable = nullable;
}

/*
 * Refuses the patterns that make glibc's regcomp slow or huge, and estimates the size of the
 * automaton it builds:
 *  - it copies a subexpression once per repetition, so nested counted repetitions multiply
 *    (the estimate is bounded);
 *  - repeating what can match the empty text ("(a*)*", "(a?)+", "((a|)*){9}") makes its
 *    epsilon closures explode -- such a repetition always has a simpler spelling;
 *  - POSIX leaves repeated repetitions ("a**", "a+{2}") undefined.
 */
static int estimate(const char *pat, char *why, size_t why_len)
{
	struct pattern_frame frames[MAX_PATTERN_GROUPS + 1];
	size_t depth = 0, i = 0, n = strlen(pat);
	frames[0] = (struct pattern_frame){.before_nullable = true};
	while (i < n) {
		struct pattern_frame *f = &frames[depth];
		char ch = pat[i];
		if (ch == '\\') {
			/* GNU's zero-width escapes: word boundaries, buffer start and end. */
			bool zero_width = i + 1 < n && strchr("bB<>`'", pat[i + 1]);
			if (i + 1 < n && pat[i + 1] >= '1' && pat[i + 1] <= '9') {
				snprintf(why, why_len, "back-references are not allowed");
				return -EINVAL;
			}
			frame_atom(f, 1, zero_width);
			i += i + 1 < n ? 2 : 1;
		} else if (ch == '[') {
			size_t j = i + 1;
			if (j < n && pat[j] == '^')
				j++;
			if (j < n && pat[j] == ']')
				j++;
			while (j < n && pat[j] != ']') {
				if (pat[j] == '[' && j + 1 < n && strchr(":=.", pat[j + 1])) {
					char close[3] = {pat[j + 1], ']', '\0'};
					const char *end = strstr(pat + j + 2, close);
					if (!end)
						break;
					j = (size_t)(end - pat) + 2;
				} else {
					j++;
				}
			}
			if (j >= n || pat[j] != ']') {
				snprintf(why, why_len, "unmatched '['");
				return -EINVAL;
			}
			frame_atom(f, 1, false);
			i = j + 1;
		} else if (ch == '(') {
			if (depth >= MAX_PATTERN_GROUPS) {
				snprintf(why, why_len, "more than %d nested groups",
					 MAX_PATTERN_GROUPS);
				return -EINVAL;
			}
			frames[++depth] = (struct pattern_frame){.before_nullable = true};
			i++;
			continue;
		} else if (ch == ')') {
			/* A lone ')' is literal to glibc, but would close the group that
			 * mxc_policy_compile_pattern wraps the pattern in. */
			if (depth == 0) {
				snprintf(why, why_len,
					 "unmatched ')'; write \\) for a literal one");
				return -EINVAL;
			}
			if (f->total == 0 && !f->have_last && !f->any_alt_nullable) {
				snprintf(why, why_len, "empty group '()'");
				return -EINVAL;
			}
			uint64_t size = f->total + f->last + 1;
			bool nullable = frame_nullable(f);
			depth--;
			frame_atom(&frames[depth], size, nullable);
			i++;
		} else if (ch == '|') {
			f->any_alt_nullable = frame_nullable(f);
			f->total += f->last;
			f->last = 0;
			f->have_last = f->last_repeated = f->last_nullable = false;
			f->before_nullable = true;
			i++;
			continue;
		} else if (ch == '*' || ch == '+' || ch == '?' || ch == '{') {
			uint64_t copies = 1;
			bool optional = ch != '+';
			size_t next = i + 1;
			if (ch == '{') {
				size_t j = i + 1;
				uint64_t m = 0, mx = 0;
				bool digits = false, comma = false, upper = false;
				for (; j < n && pat[j] >= '0' && pat[j] <= '9' && m <= 100000;
				     j++, digits = true)
					m = m * 10 + (uint64_t)(pat[j] - '0');
				if (j < n && pat[j] == ',') {
					comma = true;
					for (j++; j < n && pat[j] >= '0' && pat[j] <= '9' &&
						  mx <= 100000;
					     j++, upper = true)
						mx = mx * 10 + (uint64_t)(pat[j] - '0');
				}
				if (!(j < n && pat[j] == '}' && (digits || comma))) {
					/* Not an interval: a literal '{' or an error for regcomp.
					 */
					frame_atom(f, 1, false);
					i++;
					goto check;
				}
				if (m > MAX_PATTERN_REPEAT || mx > MAX_PATTERN_REPEAT) {
					snprintf(why, why_len,
						 "repetition counts above %d are not allowed",
						 MAX_PATTERN_REPEAT);
					return -EINVAL;
				}
				copies = !comma ? m : upper ? (mx > m ? mx : m) : m + 1;
				optional = m == 0;
				next = j + 1;
			}
			if (!f->have_last) {
				snprintf(why, why_len, "'%c' repeats nothing", ch);
				return -EINVAL;
			}
			if (f->last_repeated) {
				snprintf(why, why_len,
					 "a repetition of a repetition ('%c' after "
					 "another); POSIX leaves it undefined",
					 ch);
				return -EINVAL;
			}
			if (ch != '?' && f->last_nullable) {
				snprintf(why, why_len,
					 "'%c' repeats something that can match the empty text "
					 "(write \"(a*)*\" as \"a*\")",
					 ch);
				return -EINVAL;
			}
			f->last = f->last * (copies + 1) + 1;
			f->last_repeated = true;
			f->last_nullable = f->last_nullable || optional;
			i = next;
		} else {
			/* '^' and '$' are anchors: they match the empty text. */
			frame_atom(f, 1, ch == '^' || ch == '$');
			i++;
		}
	check:
		f = &frames[depth];
		if (f->total + f->last > MAX_PATTERN_COST) {
			snprintf(why, why_len, "too complex (nested or long repetitions)");
			return -EINVAL;
		}
	}
	return 0;
}

int policy_check_pattern(const char *pattern, char *why, size_t why_len)
{
	if (!pattern[0]) {
		snprintf(why, why_len, "must not be empty");
		return -EINVAL;
	}
	if (strlen(pattern) > MXC_POLICY_MAX_PATTERN_LEN) {
		snprintf(why, why_len, "longer than %d bytes", MXC_POLICY_MAX_PATTERN_LEN);
		return -EINVAL;
	}
	return estimate(pattern, why, why_len);
}

/* regcomp in the C locale: byte semantics, and the same result in every process. */
static int compile_c_locale(regex_t *re, const char *pattern)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!c)
		return REG_ESPACE;
	locale_t old = uselocale(c);
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	uselocale(old);
	freelocale(c);
	return rc;
}

static int regex_error(struct mxc_error *err, int rc, const regex_t *re)
{
	char why[160];
	regerror(rc, re, why, sizeof(why));
	return mxc_error_set(err, rc == REG_ESPACE ? -ENOMEM : -EINVAL,
			     "not a valid POSIX extended regular expression: %s", why);
}

int mxc_policy_compile_pattern(const char *pattern, regex_t *ret, struct mxc_error *err)
{
	char why[160];
	if (policy_check_pattern(pattern, why, sizeof(why)) < 0)
		return mxc_error_set(err, -EINVAL, "%s", why);
	/* The pattern must be valid on its own, not only inside the wrapper below. */
	regex_t re;
	int rc = compile_c_locale(&re, pattern);
	if (rc != 0)
		return regex_error(err, rc, &re);
	regfree(&re);
	/*
	 * glibc's regexec restarts an unanchored search at every offset, which is quadratic on a
	 * long text ("a.*b" over 64 KiB of 'a' takes seconds). Anchored behind ".*" the same
	 * search is a single pass. Without REG_NEWLINE '.' also matches a newline and '^' and '$'
	 * inside the pattern keep their meaning.
	 */
	char wrapped[MXC_POLICY_MAX_PATTERN_LEN + 8];
	snprintf(wrapped, sizeof(wrapped), "^.*(%s)", pattern);
	rc = compile_c_locale(&re, wrapped);
	if (rc != 0)
		return regex_error(err, rc, &re);
	if (mxc_policy_pattern_search(&re, "", 0) != 0) {
		regfree(&re);
		return mxc_error_set(err, -EINVAL,
				     "matches the empty text, so it would deny "
				     "everything");
	}
	*ret = re;
	return 0;
}

int mxc_policy_pattern_search(const regex_t *re, const char *text, size_t len)
{
	if (len > INT32_MAX) /* glibc's offsets are ints */
		return -EFBIG;
	/*
	 * '.' never matches NUL, so each NUL-free stretch is searched on its own. A private,
	 * NUL-terminated copy makes every stretch a C string: the text need not be terminated,
	 * and nothing (REG_STARTEND, or a sanitizer's regexec interceptor) reads past it.
	 */
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	if (len > 0)
		memcpy(copy, text, len);
	copy[len] = '\0';
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!c) {
		free(copy);
		return -ENOMEM;
	}
	locale_t old = uselocale(c);
	int r = 0;
	for (size_t start = 0;;) {
		int rc = regexec(re, copy + start, 0, NULL, 0);
		if (rc == 0) {
			r = 1;
			break;
		}
		if (rc != REG_NOMATCH) {
			r = rc == REG_ESPACE ? -ENOMEM : -EINVAL;
			break;
		}
		start += strlen(copy + start) + 1;
		if (start > len)
			break;
	}
	uselocale(old);
	freelocale(c);
	free(copy);
	return r;
}

static int check_pattern(struct pctx *c, const char *s, char **ret)
{
	regex_t re;
	struct mxc_error e = {0};
	int r = mxc_policy_compile_pattern(s, &re, &e);
	if (r < 0)
		return perr(c, r, "%s", e.msg);
	regfree(&re);
	*ret = strdup(s);
	return *ret ? 0 : perr_oom(c);
}

void policy_transfer_rules_free(struct mxc_policy_transfer_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		mxc_strv_free(r[i].mime);
		mxc_strv_free(r[i].deny_patterns);
	}
	free(r);
}

static int parse_transfer_rule(struct pctx *c, struct json_object *o, bool clipboard,
			       enum mxc_policy_clipboard_mode mode,
			       struct mxc_policy_transfer_rule *rule)
{
	static const char *const clipboard_keys[] = {"direction", "mime",	  "maxBytes",
						     "action",	  "denyPatterns", NULL};
	if (!json_object_is_type(o, json_type_object))
		return perr(c, -EINVAL, "must be an object");
	struct json_object *v;
	if (!clipboard && policy_member(o, "denyPatterns", &v) == 0)
		return perr_key(c, "denyPatterns", -EINVAL,
				"only allowed in session.clipboard rules");
	int r = policy_check_keys(c, o, clipboard_keys);
	if (r < 0)
		return r;

	int dir;
	r = policy_get_enum(c, o, "direction", directions, &dir);
	if (r == -ENOENT)
		return perr_key(c, "direction", -EINVAL, "required");
	if (r < 0)
		return r;
	rule->direction = (enum mxc_policy_direction)dir;
	if (clipboard && !(mode & dir))
		return perr_key(c, "direction", -EINVAL,
				"\"%s\" is forbidden by ui.clipboard (\"%s\")",
				mxc_policy_direction_to_string(rule->direction),
				mxc_policy_clipboard_mode_to_string(mode));

	r = parse_string_set(c, o, "mime", MXC_POLICY_MAX_MIME, MAX_MIME_LEN + 1, check_mime, true,
			     &rule->mime);
	if (r < 0)
		return r;

	uint64_t max = clipboard ? MXC_POLICY_CLIPBOARD_MAX_BYTES : MXC_POLICY_HANDOFF_MAX_BYTES;
	rule->max_bytes =
	    clipboard ? MXC_POLICY_CLIPBOARD_DEFAULT_BYTES : MXC_POLICY_HANDOFF_DEFAULT_BYTES;
	r = policy_get_uint(c, o, "maxBytes", 1, max, &rule->max_bytes);
	if (r < 0 && r != -ENOENT)
		return r;

	int act;
	r = policy_get_enum(c, o, "action", actions, &act);
	if (r == -ENOENT)
		return perr_key(c, "action", -EINVAL, "required");
	if (r < 0)
		return r;
	rule->action = (enum mxc_policy_action)act;

	if (rule->direction == MXC_POLICY_HUMAN_TO_AGENT &&
	    policy_member(o, "denyPatterns", &v) == 0)
		return perr_key(c, "denyPatterns", -EINVAL,
				"only allowed for direction \"agent-to-human\"");
	return parse_string_set(c, o, "denyPatterns", MXC_POLICY_MAX_DENY_PATTERNS,
				MXC_POLICY_MAX_PATTERN_LEN, check_pattern, false,
				&rule->deny_patterns);
}

static int parse_transfer_rules(struct pctx *c, struct json_object *session, const char *key,
				bool clipboard, enum mxc_policy_clipboard_mode mode,
				struct mxc_policy_transfer_rule **ret, size_t *ret_n)
{
	struct json_object *arr = NULL;
	int r = policy_get_array(c, session, key, MXC_POLICY_MAX_TRANSFER_RULES, &arr);
	if (r < 0 && r != -ENOENT)
		return r;
	size_t n = arr ? json_object_array_length(arr) : 0;
	/* Room for the two implicit clipboard rules. */
	struct mxc_policy_transfer_rule *rules = calloc(n + 2, sizeof(*rules));
	if (!rules)
		return perr_oom(c);
	size_t count = 0;
	r = 0;
	size_t mark = path_push_key(c, key);
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t imark = path_push_index(c, i);
		count++;
		r = parse_transfer_rule(c, json_object_array_get_idx(arr, i), clipboard, mode,
					&rules[i]);
		path_pop(c, imark);
	}
	path_pop(c, mark);
	if (r < 0)
		goto fail;

	static const enum mxc_policy_direction dirs[] = {MXC_POLICY_AGENT_TO_HUMAN,
							 MXC_POLICY_HUMAN_TO_AGENT};
	for (size_t d = 0; clipboard && d < MXC_ARRAY_SIZE(dirs); d++) {
		if (!(mode & dirs[d]))
			continue;
		bool covered = false;
		for (size_t i = 0; i < count && !covered; i++)
			covered = rules[i].direction == dirs[d];
		if (covered)
			continue;
		struct mxc_policy_transfer_rule *rule = &rules[count++];
		rule->direction = dirs[d];
		rule->max_bytes = MXC_POLICY_CLIPBOARD_DEFAULT_BYTES;
		rule->action = MXC_POLICY_ASK;
		rule->implicit = true;
		size_t nm = 0;
		if (strv_push(&rule->mime, &nm, "image/png") < 0 ||
		    strv_push(&rule->mime, &nm, "text/plain") < 0 ||
		    !(rule->deny_patterns = calloc(1, sizeof(char *)))) {
			r = perr_oom(c);
			goto fail;
		}
	}
	if (count == 0) {
		free(rules);
		rules = NULL;
	}
	*ret = rules;
	*ret_n = count;
	return 0;
fail:
	policy_transfer_rules_free(rules, count);
	return r;
}

static int parse_display(struct pctx *c, struct json_object *session, struct mxc_policy *p)
{
	static const char *const keys[] = {"backend", "width", "height", "depth", NULL};
	struct json_object *d;
	int r = policy_get_object(c, session, "display", &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (!p->ui.allow_windows)
		return perr_key(c, "display", -EINVAL,
				"given, but windows are not allowed (set ui.allowWindows to true)");
	size_t mark = path_push_key(c, "display");
	int backend = MXC_POLICY_DISPLAY_XVFB;
	uint64_t w = MXC_POLICY_DEFAULT_WIDTH, h = MXC_POLICY_DEFAULT_HEIGHT;
	uint64_t depth = MXC_POLICY_DEFAULT_DEPTH;
	r = policy_check_keys(c, d, keys);
	if (r < 0)
		goto out;
	r = policy_get_enum(c, d, "backend", backends, &backend);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = policy_get_uint(c, d, "width", MXC_POLICY_DISPLAY_MIN_WIDTH,
			    MXC_POLICY_DISPLAY_MAX_WIDTH, &w);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = policy_get_uint(c, d, "height", MXC_POLICY_DISPLAY_MIN_HEIGHT,
			    MXC_POLICY_DISPLAY_MAX_HEIGHT, &h);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = policy_get_uint(c, d, "depth", 16, 24, &depth);
	if (r < 0 && r != -ENOENT)
		goto out;
	if (depth != 16 && depth != 24) {
		r = perr_key(c, "depth", -EINVAL, "must be 16 or 24");
		goto out;
	}
	p->display.backend = (enum mxc_policy_display_backend)backend;
	p->display.width = (uint32_t)w;
	p->display.height = (uint32_t)h;
	p->display.depth = (uint32_t)depth;
	r = 0;
out:
	path_pop(c, mark);
	return r;
}

static int parse_limits(struct pctx *c, struct json_object *session, struct mxc_policy *p)
{
	static const char *const keys[] = {"memoryBytes", "tasks", "tmpBytes", NULL};
	struct json_object *l;
	int r = policy_get_object(c, session, "limits", &l);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t mark = path_push_key(c, "limits");
	r = policy_check_keys(c, l, keys);
	if (r < 0)
		goto out;
	r = policy_get_uint(c, l, "memoryBytes", MXC_POLICY_MIN_MEMORY_BYTES,
			    MXC_POLICY_MAX_MEMORY_BYTES, &p->limits.memory_bytes);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = policy_get_uint(c, l, "tasks", 1, MXC_POLICY_MAX_TASKS, &p->limits.tasks);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = policy_get_uint(c, l, "tmpBytes", MXC_POLICY_MIN_TMP_BYTES, MXC_POLICY_MAX_TMP_BYTES,
			    &p->limits.tmp_bytes);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = 0;
out:
	path_pop(c, mark);
	return r;
}

static int parse_inspect(struct pctx *c, struct json_object *session, struct mxc_policy *p)
{
	static const char *const keys[] = {"principals", "view", "shell", "control", NULL};
	static const char *const needs_display[] = {"view", "control"};
	struct json_object *in;
	int r = policy_get_object(c, session, "inspect", &in);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t mark = path_push_key(c, "inspect");
	r = policy_check_keys(c, in, keys);
	if (r < 0)
		goto out;
	mxc_strv_free(p->inspect.principals);
	p->inspect.principals = NULL;
	r = policy_parse_principals(c, in, "principals", &p->inspect.principals);
	if (r < 0)
		goto out;
	bool *flags[] = {&p->inspect.view, &p->inspect.shell, &p->inspect.control};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(flags); i++) {
		r = policy_get_bool(c, in, keys[i + 1], flags[i]);
		if (r < 0 && r != -ENOENT)
			goto out;
	}
	r = 0;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(needs_display) && !p->ui.allow_windows; i++) {
		bool on = false;
		if (policy_get_bool(c, in, needs_display[i], &on) == 0 && on) {
			r = perr_key(c, needs_display[i], -EINVAL,
				     "needs a display, but windows are not allowed (set "
				     "ui.allowWindows to true)");
			break;
		}
	}
out:
	path_pop(c, mark);
	return r;
}

int policy_parse_session(struct pctx *c, struct json_object *root, struct mxc_policy *p)
{
	static const char *const keys[] = {"display", "limits", "clipboard", "handoff",
					   "inspect", "users",	NULL};
	struct json_object *s = NULL;
	int r = policy_get_object(c, root, "session", &s);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && c->dialect != DIALECT_MXC1)
		return perr_key(c, "session", -EINVAL, "requires version \"%s\"",
				MXC_POLICY_VERSION);
	size_t mark = path_push_key(c, "session");
	if (s) {
		r = policy_check_keys(c, s, keys);
		if (r < 0)
			goto out;
	}
	r = parse_display(c, s, p);
	if (r < 0)
		goto out;
	r = parse_limits(c, s, p);
	if (r < 0)
		goto out;
	r = parse_transfer_rules(c, s, "clipboard", true, p->ui.clipboard, &p->clipboard,
				 &p->n_clipboard);
	if (r < 0)
		goto out;
	r = parse_transfer_rules(c, s, "handoff", false, 0, &p->handoff, &p->n_handoff);
	if (r < 0)
		goto out;
	r = parse_inspect(c, s, p);
	if (r < 0)
		goto out;
	mxc_strv_free(p->users);
	p->users = NULL;
	r = policy_parse_principals(c, s, "users", &p->users);
out:
	path_pop(c, mark);
	return r;
}

static bool mime_match(const char *pattern, const char *mime, size_t mime_len)
{
	if (strcmp(pattern, "*/*") == 0)
		return memchr(mime, '/', mime_len) != NULL;
	size_t pn = strlen(pattern);
	if (pn >= 2 && pattern[pn - 1] == '*' && pattern[pn - 2] == '/')
		return mime_len > pn - 1 && strncasecmp(pattern, mime, pn - 1) == 0;
	return pn == mime_len && strncasecmp(pattern, mime, pn) == 0;
}

const struct mxc_policy_transfer_rule *
mxc_policy_transfer_match(const struct mxc_policy_transfer_rule *rules, size_t n,
			  enum mxc_policy_direction direction, const char *mime)
{
	if (!mime)
		return NULL;
	/* Parameters ("text/plain;charset=utf-8") do not take part in matching. */
	size_t len = strcspn(mime, "; \t");
	if (len == 0 || len > MAX_MIME_LEN)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (rules[i].direction != direction)
			continue;
		for (size_t m = 0; rules[i].mime && rules[i].mime[m]; m++)
			if (mime_match(rules[i].mime[m], mime, len))
				return &rules[i];
	}
	return NULL;
}
