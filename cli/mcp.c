/*
 * mxc mcp: a Model Context Protocol server over stdio for one session's computer-use verbs.
 *
 * The client (an agent runtime) speaks JSON-RPC 2.0 on our stdin and stdout, one message a
 * line; stdout carries nothing else, diagnostics go to stderr. Each daemon verb of the
 * computer-use vocabulary is one MCP tool of the same name and arguments, less "session",
 * which the server fills in. One connection to mxc-sessiond serves the whole run.
 *
 * Decisions:
 * - Coordinates: computer-use models click where they see things in the image they were
 *   shown. So the server remembers the mapping of the last screenshot and pointer tools read
 *   x and y as pixels of that image by default ("coordinates": "screenshot"); before any
 *   screenshot that is the screen. "coordinates": "screen" gives physical screen pixels, and
 *   a screenshot's mapping passed as "space" picks that image's pixels explicitly.
 * - Before initialize, requests are served anyway (as under the newest protocol revision):
 *   the server keeps no state that initialize sets up beyond the revision, and a strict
 *   refusal would only break scripts and debugging sessions. A second initialize is refused.
 * - Tool input that fails its schema, and every refusal of the daemon, is a tool result with
 *   isError (the model can read it and correct itself); unknown tools and malformed requests
 *   are JSON-RPC errors, as the specification says.
 * - The daemon may restart under us (an upgrade, a crash and adoption of the session): a
 *   call that finds the connection gone reconnects once. A request already sent when the
 *   connection broke is sent again only if it cannot have changed anything (read-only tools);
 *   for input it is reported as possibly done, never repeated blindly.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "cli.h"
#include "client.h"
#include "json.h"

/* Longest JSON-RPC message we read from the client. */
#define MAX_MESSAGE (8u << 20)
/* Largest PNG we hand to a client: base64 makes it 4/3 larger on one line. */
#define MAX_IMAGE_BYTES (48u << 20)
/* The daemon's bound on a screen or image side (MXC_DISPLAY_MAX_SIDE). */
#define MAX_SIDE 16384

/* JSON-RPC 2.0 error codes. */
enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
};

/* Protocol revisions we speak, newest first; the first is what we offer by default. */
static const char *const revisions[] = { "2025-11-25", "2025-06-18", "2025-03-26",
					 "2024-11-05" };
enum { REV_2025_11_25, REV_2025_06_18, REV_2025_03_26, REV_2024_11_05 };

struct server {
	const char *socket; /* NULL: $MXC_SOCKET or the default */
	const char *session;
	struct mxc_conn conn;
	bool connected;
	bool lost; /* the connection broke, and none has been made since */
	bool initialized;
	int revision; /* index into revisions[] */
	int64_t max_edge; /* applied to screenshots that ask for no size; 0: none */
	struct json_object *mapping; /* of the last screenshot, or NULL */
	struct json_object **schemas; /* parsed inputSchema of each tool */
	/* stdin, read in lines */
	char *buf;
	size_t len, cap, scanned, consumed;
	bool skipping, eof;
};

struct tool;
typedef struct json_object *(*tool_fn)(struct server *s, const struct tool *t,
				       struct json_object *args);

enum {
	READ_ONLY = 1 << 0,  /* changes nothing: safe to send again after a broken connection */
	POINTER = 1 << 1,    /* takes x, y in a coordinate space ("coordinates", "space") */
	IDEMPOTENT = 1 << 2, /* doing it twice is doing it once */
	HARMLESS = 1 << 3,   /* acts, but cannot destroy anything: moving the pointer */
};

struct tool {
	const char *name; /* the daemon verb */
	const char *title;
	const char *description;
	const char *schema; /* inputSchema, JSON */
	unsigned flags;
	tool_fn call; /* NULL: the daemon's result, as text */
};

/* ---- the tools ---- */

/* Schema fragments shared by the tools that take them. */
#define OBJECT(props, rest)                                                                        \
	"{\"type\": \"object\", \"properties\": {" props "}, "                                     \
	"\"additionalProperties\": false" rest "}"
#define COORDINATES                                                                                \
	"\"coordinates\": {\"type\": \"string\", \"enum\": [\"screenshot\", \"screen\"], "         \
	"\"default\": \"screenshot\", \"description\": \"What x and y count: 'screenshot' (the "   \
	"default) - pixels of the image of the last screenshot, which the server maps to the "     \
	"screen (before any screenshot, screen pixels); 'screen' - physical screen pixels.\"}"
#define SPACE                                                                                      \
	"\"space\": {\"type\": \"object\", \"description\": \"The mapping of a particular "        \
	"screenshot, as its result gave it: x and y are then pixels of that image, even after "    \
	"other screenshots.\", \"properties\": {"                                                  \
	"\"x\": {\"type\": \"integer\", \"minimum\": 0}, "                                         \
	"\"y\": {\"type\": \"integer\", \"minimum\": 0}, "                                         \
	"\"width\": {\"type\": \"integer\", \"minimum\": 1}, "                                     \
	"\"height\": {\"type\": \"integer\", \"minimum\": 1}, "                                    \
	"\"image_width\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16384}, "           \
	"\"image_height\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16384}, "          \
	"\"screen_width\": {\"type\": \"integer\", \"minimum\": 1}, "                              \
	"\"screen_height\": {\"type\": \"integer\", \"minimum\": 1}}, "                            \
	"\"additionalProperties\": false}"
#define XY(what)                                                                                   \
	"\"x\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 16383, \"description\": "     \
	"\"Pixels from the left edge" what " (see coordinates).\"}, "                              \
	"\"y\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 16383, \"description\": "     \
	"\"Pixels from the top edge" what " (see coordinates).\"}"
#define XY_TOGETHER ", \"dependentRequired\": {\"x\": [\"y\"], \"y\": [\"x\"]}"
#define BUTTON                                                                                     \
	"\"button\": {\"type\": \"string\", \"enum\": [\"left\", \"right\", \"middle\", "          \
	"\"back\", \"forward\"], \"default\": \"left\", \"description\": \"The mouse button.\"}"
#define MODIFIERS(what)                                                                            \
	"\"modifiers\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 256, "             \
	"\"description\": \"Keys held down during the " what ", joined with +: shift, ctrl, alt, " \
	"super, e.g. ctrl+shift.\"}"
#define KEYS(what)                                                                                 \
	"\"keys\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 256, \"description\": " \
	"\"The key or chord to " what ": a keysym name (Return, Tab, Escape, F5, a, eacute) or "   \
	"an alias (ctrl, alt, shift, super, enter, esc, tab, space, backspace, delete, home, "     \
	"end, pageup, pagedown, up, down, left, right, f1-f24), several joined with + for a "      \
	"chord, e.g. ctrl+s, ctrl+shift+t, alt+F4.\"}"
#define MS(what)                                                                                   \
	"\"ms\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 60000, \"description\": "    \
	"\"" what ", in milliseconds (0 to 60000).\"}"
#define POINTER_SPACE ", " COORDINATES ", " SPACE

#define POINTER_NOTE                                                                               \
	" x and y are pixels of the last screenshot's image by default (pass coordinates: screen " \
	"for screen pixels)."

static struct json_object *call_screenshot(struct server *s, const struct tool *t,
					   struct json_object *args);
static struct json_object *call_clipboard_get(struct server *s, const struct tool *t,
					      struct json_object *args);
static struct json_object *call_clipboard_set(struct server *s, const struct tool *t,
					      struct json_object *args);

/* In the order a client lists them: seeing first, then the pointer, then the keyboard. */
static const struct tool tools[] = {
	{ "screenshot", "Take a screenshot",
	  "Capture the session's screen as a PNG image. The result also gives the image's "
	  "mapping to the screen: from then on, pointer tools (click, move, drag, scroll, "
	  "mouse_down, mouse_up, cursor_position) read x and y as pixels of this image, so point "
	  "where you see things in it. Use max_edge or scale for a smaller image of the whole "
	  "screen, region to look closely at part of it.",
	  OBJECT("\"region\": {\"type\": \"object\", \"description\": \"Only this rectangle of "
		 "the screen, in screen pixels.\", \"properties\": {"
		 "\"x\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 16383}, "
		 "\"y\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 16383}, "
		 "\"width\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16384}, "
		 "\"height\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16384}}, "
		 "\"required\": [\"x\", \"y\", \"width\", \"height\"], "
		 "\"additionalProperties\": false}, "
		 "\"scale\": {\"type\": \"object\", \"description\": \"Resize the image to exactly "
		 "this size.\", \"properties\": {"
		 "\"width\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16384}, "
		 "\"height\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16384}}, "
		 "\"required\": [\"width\", \"height\"], \"additionalProperties\": false}, "
		 "\"max_edge\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 16384, "
		 "\"description\": \"Shrink the image, keeping its aspect ratio, until its longer "
		 "side is at most this many pixels (never enlarges). Not with scale.\"}",
		 ""),
	  READ_ONLY, call_screenshot },
	{ "screen_size", "Screen size", "The size of the session's screen, in screen pixels.",
	  OBJECT("", ""), READ_ONLY, NULL },
	{ "cursor_position", "Pointer position",
	  "Where the pointer is: x and y in the coordinate space (the last screenshot's image by "
	  "default), and screen_x and screen_y in screen pixels.",
	  OBJECT(COORDINATES ", " SPACE, ""), READ_ONLY | POINTER, NULL },
	{ "wait", "Wait",
	  "Wait before the next action, e.g. for a window to open or a page to load.",
	  OBJECT(MS("How long to wait"), ", \"required\": [\"ms\"]"), READ_ONLY, NULL },
	{ "move", "Move the pointer", "Move the pointer to x, y." POINTER_NOTE,
	  OBJECT(XY(" of the point") POINTER_SPACE, ", \"required\": [\"x\", \"y\"]"),
	  POINTER | IDEMPOTENT | HARMLESS, NULL },
	{ "click", "Click",
	  "Click a mouse button at x, y, or where the pointer is when they are left out. count 2 "
	  "double-clicks, 3 triple-clicks; modifiers holds keys during the click (shift+click, "
	  "ctrl+click)." POINTER_NOTE,
	  OBJECT(XY(" of the point to click") ", " BUTTON ", "
		 "\"count\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 3, "
		 "\"default\": 1, \"description\": \"Number of clicks: 2 double-clicks.\"}, "
		 MODIFIERS("click") POINTER_SPACE,
		 XY_TOGETHER),
	  POINTER, NULL },
	{ "mouse_down", "Press a mouse button",
	  "Press and hold a mouse button, at x, y if given (release it with mouse_up)."
	  POINTER_NOTE,
	  OBJECT(XY(" of the point") ", " BUTTON POINTER_SPACE, XY_TOGETHER), POINTER, NULL },
	{ "mouse_up", "Release a mouse button",
	  "Release a mouse button pressed with mouse_down, at x, y if given." POINTER_NOTE,
	  OBJECT(XY(" of the point") ", " BUTTON POINTER_SPACE, XY_TOGETHER), POINTER, NULL },
	{ "drag", "Drag",
	  "Press a mouse button at the first point of path, move through the others and release "
	  "it at the last: drag and drop, selecting text, moving a slider." POINTER_NOTE,
	  OBJECT("\"path\": {\"type\": \"array\", \"minItems\": 2, \"maxItems\": 10000, "
		 "\"description\": \"Points [x, y], the start first and the drop point last.\", "
		 "\"items\": {\"type\": \"array\", \"minItems\": 2, \"maxItems\": 2, "
		 "\"items\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 16383}}}, " BUTTON
			 POINTER_SPACE,
		 ", \"required\": [\"path\"]"),
	  POINTER, NULL },
	{ "scroll", "Scroll",
	  "Scroll by dy notches (positive down, negative up) and/or dx notches (positive right), "
	  "with the pointer at x, y if given." POINTER_NOTE,
	  OBJECT(XY(" of the point to scroll at") ", "
		 "\"dx\": {\"type\": \"integer\", \"minimum\": -1000, \"maximum\": 1000, "
		 "\"description\": \"Notches to the right (negative: left).\"}, "
		 "\"dy\": {\"type\": \"integer\", \"minimum\": -1000, \"maximum\": 1000, "
		 "\"description\": \"Notches down (negative: up).\"}, " MODIFIERS("scroll")
			 POINTER_SPACE,
		 XY_TOGETHER),
	  POINTER, NULL },
	{ "key", "Press a key",
	  "Press and release a key or a chord such as ctrl+s, ctrl+shift+t, alt+F4, Return or "
	  "super. To enter text, use type.",
	  OBJECT(KEYS("press"), ", \"required\": [\"keys\"]"), 0, NULL },
	{ "key_down", "Hold a key down",
	  "Press a key or chord and keep it down (release it with key_up), e.g. shift while "
	  "clicking.",
	  OBJECT(KEYS("press"), ", \"required\": [\"keys\"]"), 0, NULL },
	{ "key_up", "Release a key", "Release a key or chord pressed with key_down.",
	  OBJECT(KEYS("release"), ", \"required\": [\"keys\"]"), 0, NULL },
	{ "hold_key", "Hold a key",
	  "Hold a key or chord down for ms milliseconds, then release it.",
	  OBJECT(KEYS("hold") ", " MS("How long to hold it"), ", \"required\": [\"keys\", \"ms\"]"),
	  0, NULL },
	{ "type", "Type text",
	  "Type text into the focused window: exactly the given Unicode text (accents, any "
	  "script, emoji), whatever the session's keyboard layout. A newline presses Return.",
	  OBJECT("\"text\": {\"type\": \"string\", \"description\": \"The text, at most 64 KiB of "
		 "UTF-8.\"}",
		 ", \"required\": [\"text\"]"),
	  0, NULL },
	{ "launch", "Start a program",
	  "Start a program in the session, as its agent and on its display, detached (its output "
	  "goes to the session's log), e.g. [\"xterm\"] or [\"firefox\", \"https://example.org\"]. "
	  "Returns once the program has been executed.",
	  OBJECT("\"argv\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 4096, "
		 "\"description\": \"The program (looked up in PATH) and its arguments.\", "
		 "\"items\": {\"type\": \"string\", \"minLength\": 1}}, "
		 "\"cwd\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 4096, "
		 "\"description\": \"Working directory (default: the agent's home).\"}",
		 ", \"required\": [\"argv\"]"),
	  0, NULL },
	{ "clipboard_get", "Read the clipboard",
	  "Read the session's clipboard: its text (the default) as a text item, or with mime "
	  "image/png its image as an image item. From outside the session this takes data out "
	  "of it, so the session's policy may refuse.",
	  OBJECT("\"mime\": {\"type\": \"string\", \"enum\": [\"text/plain\", \"image/png\"], "
		 "\"default\": \"text/plain\", \"description\": \"What to read.\"}",
		 ""),
	  READ_ONLY, call_clipboard_get },
	{ "clipboard_set", "Set the clipboard",
	  "Put text, or a PNG image given as base64 data, on the session's clipboard, e.g. to "
	  "paste it with ctrl+v. From outside the session this brings data into it, so the "
	  "session's policy may refuse.",
	  OBJECT("\"text\": {\"type\": \"string\", \"description\": \"The text (not with "
		 "data).\"}, "
		 "\"data\": {\"type\": \"string\", \"contentEncoding\": \"base64\", "
		 "\"contentMediaType\": \"image/png\", \"description\": \"A PNG image, "
		 "base64-encoded (not with text).\"}, "
		 "\"mime\": {\"type\": \"string\", \"enum\": [\"text/plain\", \"image/png\"], "
		 "\"description\": \"The kind of data: text/plain with text, image/png with data "
		 "(the defaults).\"}",
		 ""),
	  0, call_clipboard_set },
};

/* ---- messages to the client ---- */

/* Writes one message as one line. False when the client is gone. */
static bool emit(struct json_object *msg)
{
	size_t len;
	const char *text = mxc_json_str(msg, &len);
	int r = mxc_write_all(STDOUT_FILENO, text, len);
	if (r == 0)
		r = mxc_write_all(STDOUT_FILENO, "\n", 1);
	json_object_put(msg);
	if (r < 0 && r != -EPIPE)
		fprintf(stderr, "mxc mcp: cannot write to standard output: %s\n", strerror(-r));
	return r == 0;
}

/* Takes ownership of id and result. */
static bool reply(struct json_object *id, struct json_object *result)
{
	struct json_object *m = json_object_new_object();
	mxc_json_add_str(m, "jsonrpc", "2.0");
	json_object_object_add(m, "id", id);
	json_object_object_add(m, "result", result ? result : json_object_new_object());
	return emit(m);
}

/* Takes ownership of id (NULL: JSON null, when the request's own is unknown). */
static bool reply_error(struct json_object *id, int code, const char *fmt, ...) MXC_PRINTF(3, 4);
static bool reply_error(struct json_object *id, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct json_object *m = json_object_new_object(), *e = json_object_new_object();
	mxc_json_add_str(m, "jsonrpc", "2.0");
	json_object_object_add(m, "id", id);
	mxc_json_add_i64(e, "code", code);
	mxc_json_add_str(e, "message", msg);
	json_object_object_add(m, "error", e);
	return emit(m);
}

static struct json_object *text_item(const char *text)
{
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "type", "text");
	mxc_json_add_str(o, "text", text);
	return o;
}

/* A CallToolResult of content items (NULL-terminated, owned), structured content optional. */
static struct json_object *tool_result(const struct server *s, bool is_error,
				       struct json_object *structured, ...)
{
	struct json_object *res = json_object_new_object(), *content = json_object_new_array();
	va_list ap;
	va_start(ap, structured);
	struct json_object *item;
	while ((item = va_arg(ap, struct json_object *)))
		json_object_array_add(content, item);
	va_end(ap);
	json_object_object_add(res, "content", content);
	/* structuredContent came with 2025-06-18. */
	if (structured && s->revision <= REV_2025_06_18)
		json_object_object_add(res, "structuredContent", structured);
	else
		json_object_put(structured);
	mxc_json_add_bool(res, "isError", is_error);
	return res;
}

static struct json_object *tool_error(const struct server *s, const char *fmt, ...)
	MXC_PRINTF(2, 3);
static struct json_object *tool_error(const struct server *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tool_result(s, true, NULL, text_item(msg), NULL);
}

/* ---- checking arguments against a tool's schema ---- */

/*
 * JSON Schema, as far as the schemas above use it: type, properties, required,
 * additionalProperties (always false here), dependentRequired, enum, minimum, maximum,
 * minLength, maxLength, items, minItems, maxItems. The checked value comes back as a copy in
 * which a JSON null member counts as absent (what clients send for an unset optional
 * argument, and what the daemon reads it as) and an integral number written as 5.0 is the
 * integer it is in JSON Schema's eyes.
 */
static int check_value(struct json_object *schema, struct json_object *v, char *path,
		       size_t path_len, struct json_object **ret, struct mxc_error *err);

static bool schema_i64(struct json_object *schema, const char *key, int64_t *ret)
{
	struct json_object *o;
	if (!json_object_object_get_ex(schema, key, &o) || !json_object_is_type(o, json_type_int))
		return false;
	*ret = json_object_get_int64(o);
	return true;
}

/* Appends ".key" or "[i]" to path; returns the old length to restore. */
static size_t path_push(char *path, size_t path_len, const char *key, size_t index)
{
	size_t n = strlen(path);
	if (key)
		snprintf(path + n, path_len - n, "%s%s", n ? "." : "", key);
	else
		snprintf(path + n, path_len - n, "[%zu]", index);
	return n;
}

static int check_integer(struct json_object *schema, struct json_object *v, const char *path,
			 struct json_object **ret, struct mxc_error *err)
{
	int64_t i, min = INT64_MIN, max = INT64_MAX;
	if (json_object_is_type(v, json_type_int)) {
		errno = 0;
		i = json_object_get_int64(v);
		if (errno == EINVAL || (i == INT64_MAX && json_object_get_uint64(v) > INT64_MAX))
			return mxc_error_set(err, -EINVAL, "'%s': out of range", path);
	} else if (json_object_is_type(v, json_type_double)) {
		/* Within 2^53 a double holds integers exactly. */
		double d = json_object_get_double(v);
		if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0))
			return mxc_error_set(err, -EINVAL, "'%s': out of range", path);
		i = (int64_t)d;
		if ((double)i != d)
			return mxc_error_set(err, -EINVAL, "'%s': must be an integer", path);
	} else {
		return mxc_error_set(err, -EINVAL, "'%s': must be an integer", path);
	}
	bool has_min = schema_i64(schema, "minimum", &min);
	bool has_max = schema_i64(schema, "maximum", &max);
	if (i < min || i > max) {
		if (has_min && has_max)
			return mxc_error_set(err, -EINVAL, "'%s': must be between %" PRId64
					     " and %" PRId64 ", not %" PRId64,
					     path, min, max, i);
		return mxc_error_set(err, -EINVAL, "'%s': must be at %s %" PRId64 ", not %" PRId64,
				     path, has_min ? "least" : "most", has_min ? min : max, i);
	}
	*ret = json_object_new_int64(i);
	return 0;
}

static size_t utf8_length(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static int check_string(struct json_object *schema, struct json_object *v, const char *path,
			struct mxc_error *err)
{
	if (!json_object_is_type(v, json_type_string))
		return mxc_error_set(err, -EINVAL, "'%s': must be a string", path);
	const char *str = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(str) != len)
		return mxc_error_set(err, -EINVAL, "'%s': must not contain NUL characters", path);
	int64_t min, max;
	size_t chars = utf8_length(str, len);
	if (schema_i64(schema, "minLength", &min) && chars < (uint64_t)min)
		return min == 1 ? mxc_error_set(err, -EINVAL, "'%s': must not be empty", path)
				: mxc_error_set(err, -EINVAL, "'%s': shorter than %" PRId64
						" characters", path, min);
	if (schema_i64(schema, "maxLength", &max) && chars > (uint64_t)max)
		return mxc_error_set(err, -EINVAL, "'%s': longer than %" PRId64 " characters", path,
				     max);
	struct json_object *values;
	if (!json_object_object_get_ex(schema, "enum", &values))
		return 0;
	char list[256] = "";
	for (size_t i = 0; i < json_object_array_length(values); i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(values, i));
		if (strcmp(e, str) == 0)
			return 0;
		size_t n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", e);
	}
	return mxc_error_set(err, -EINVAL, "'%s': must be one of %s, not '%.64s'", path, list, str);
}

static int check_array(struct json_object *schema, struct json_object *v, char *path,
		       size_t path_len, struct json_object **ret, struct mxc_error *err)
{
	if (!json_object_is_type(v, json_type_array))
		return mxc_error_set(err, -EINVAL, "'%s': must be an array", path);
	size_t n = json_object_array_length(v);
	int64_t min = 0, max = INT64_MAX;
	schema_i64(schema, "minItems", &min);
	schema_i64(schema, "maxItems", &max);
	if (n < (uint64_t)min || n > (uint64_t)max) {
		if (min == max)
			return mxc_error_set(err, -EINVAL, "'%s': must have %" PRId64
					     " items, not %zu", path, min, n);
		if (max == INT64_MAX)
			return mxc_error_set(err, -EINVAL, "'%s': must have at least %" PRId64
					     " items, not %zu", path, min, n);
		return mxc_error_set(err, -EINVAL, "'%s': must have %" PRId64 " to %" PRId64
				     " items, not %zu", path, min, max, n);
	}
	struct json_object *items = NULL, *out = json_object_new_array_ext((int)n);
	json_object_object_get_ex(schema, "items", &items);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i), *copy;
		size_t old = path_push(path, path_len, NULL, i);
		int r = items ? check_value(items, e, path, path_len, &copy, err)
			      : (copy = json_object_get(e), 0);
		path[old] = '\0';
		if (r < 0) {
			json_object_put(out);
			return r;
		}
		json_object_array_add(out, copy);
	}
	*ret = out;
	return 0;
}

/* Names the properties a schema allows, for a message. */
static void property_names(struct json_object *props, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!props)
		return;
	json_object_object_foreach(props, key, val)
	{
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", n ? ", " : "", key);
	}
}

static int check_object(struct json_object *schema, struct json_object *v, char *path,
			size_t path_len, struct json_object **ret, struct mxc_error *err)
{
	if (!json_object_is_type(v, json_type_object))
		return mxc_error_set(err, -EINVAL, "'%s': must be an object", path);
	struct json_object *props = NULL, *required = NULL, *dependent = NULL;
	json_object_object_get_ex(schema, "properties", &props);
	json_object_object_get_ex(schema, "required", &required);
	json_object_object_get_ex(schema, "dependentRequired", &dependent);
	struct json_object *out = json_object_new_object();
	int r = 0;
	json_object_object_foreach(v, key, val)
	{
		struct json_object *sub, *copy;
		if (!val)
			continue;
		size_t old = path_push(path, path_len, key, 0);
		if (!json_object_object_get_ex(props, key, &sub)) {
			char names[512];
			property_names(props, names, sizeof(names));
			r = mxc_error_set(err, -EINVAL, "'%.200s': unknown argument (%s%s)", path,
					  names[0] ? "expected: " : "this takes none", names);
		} else if ((r = check_value(sub, val, path, path_len, &copy, err)) == 0) {
			json_object_object_add(out, key, copy);
		}
		path[old] = '\0';
		if (r < 0)
			goto fail;
	}
	for (size_t i = 0; required && i < json_object_array_length(required); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(required, i));
		if (!json_object_object_get_ex(out, name, NULL)) {
			size_t old = path_push(path, path_len, name, 0);
			r = mxc_error_set(err, -EINVAL, "'%s': missing", path);
			path[old] = '\0';
			goto fail;
		}
	}
	if (!dependent)
		goto done;
	json_object_object_foreach(dependent, first, needs)
	{
		if (!json_object_object_get_ex(out, first, NULL))
			continue;
		for (size_t i = 0; i < json_object_array_length(needs); i++) {
			struct json_object *o = json_object_array_get_idx(needs, i);
			const char *other = json_object_get_string(o);
			if (!json_object_object_get_ex(out, other, NULL)) {
				r = mxc_error_set(err, -EINVAL, "'%s' and '%s' go together", first,
						  other);
				goto fail;
			}
		}
	}
done:
	*ret = out;
	return 0;
fail:
	json_object_put(out);
	return r;
}

static int check_value(struct json_object *schema, struct json_object *v, char *path,
		       size_t path_len, struct json_object **ret, struct mxc_error *err)
{
	const char *type = NULL;
	mxc_json_get_str(schema, "type", 16, &type, NULL);
	if (!type) {
		*ret = json_object_get(v);
		return 0;
	}
	if (strcmp(type, "object") == 0)
		return check_object(schema, v, path, path_len, ret, err);
	if (strcmp(type, "array") == 0)
		return check_array(schema, v, path, path_len, ret, err);
	if (strcmp(type, "integer") == 0)
		return check_integer(schema, v, path, ret, err);
	if (strcmp(type, "boolean") == 0) {
		if (!json_object_is_type(v, json_type_boolean))
			return mxc_error_set(err, -EINVAL, "'%s': must be true or false", path);
	} else if (strcmp(type, "string") == 0) {
		int r = check_string(schema, v, path, err);
		if (r < 0)
			return r;
	}
	*ret = json_object_get(v);
	return 0;
}

/* ---- the daemon ---- */

static void disconnect(struct server *s)
{
	if (s->connected)
		mxc_conn_close(&s->conn);
	s->connected = false;
}

/* Drops a connection that broke; the next call makes a new one. */
static void lose_connection(struct server *s)
{
	if (s->connected && !s->lost)
		fprintf(stderr, "mxc mcp: lost the connection to mxc-sessiond\n");
	disconnect(s);
	s->lost = true;
}

static int connect_daemon(struct server *s, struct mxc_error *err)
{
	int r = mxc_conn_open(&s->conn, s->socket, err);
	s->connected = r == 0;
	if (r == 0 && s->lost)
		fprintf(stderr, "mxc mcp: reconnected to mxc-sessiond\n");
	if (r == 0)
		s->lost = false;
	return r;
}

/*
 * Whether an idle connection is still there. Nothing is in flight, so anything readable is
 * the daemon's end of the stream (or a line it had no business sending).
 */
static bool connection_alive(struct server *s)
{
	struct pollfd p = { s->conn.fd, POLLIN, 0 };
	return poll(&p, 1, 0) == 0;
}

/* Sends a request and reads its response; > 0 when the connection broke on the way. */
static int exchange(struct server *s, const char *verb, struct json_object *args, int send_fd,
		    struct json_object **ret_resp, struct json_object **ret_result, int *ret_fd,
		    bool *ret_sent, struct mxc_error *err)
{
	*ret_sent = false;
	int r = mxc_conn_send(&s->conn, verb, json_object_get(args), &send_fd, send_fd >= 0,
			      err);
	struct json_object *resp = NULL, *result = NULL;
	if (r == 0) {
		*ret_sent = true;
		r = mxc_recv_json(&s->conn.in, s->conn.fd, &resp, err);
	}
	if (r < 0) {
		/* The stream is broken or out of step: start over on a new connection. */
		lose_connection(s);
		return r == -EPIPE || r == -ECONNRESET ? 1 : r;
	}
	size_t announced = 0, n = 0;
	int fd = -1;
	r = mxc_proto_parse_response(resp, &result, &announced, err);
	if (r == 0)
		n = mxc_reader_take_fds(&s->conn.in, &fd, 1);
	mxc_reader_drop_fds(&s->conn.in);
	if (r == 0 && n < announced)
		r = mxc_error_set(err, -EBADMSG, "the daemon's answer lacks its file descriptor");
	if (r == 0 && (!ret_fd && n > 0))
		r = mxc_error_set(err, -EBADMSG, "the daemon's answer carries an unexpected file");
	if (r < 0) {
		mxc_close(fd);
		json_object_put(resp);
		return r;
	}
	if (ret_fd)
		*ret_fd = fd;
	*ret_resp = resp;
	*ret_result = result;
	return 0;
}

/*
 * Runs a verb on the session, with send_fd attached (-1: none; it stays ours). On success
 * *ret_resp owns *ret_result, and *ret_fd (when asked for) is the descriptor that came with
 * it, or -1. A refusal of the daemon returns its negative errno and message.
 */
static int daemon_call(struct server *s, const char *verb, struct json_object *args,
		       int send_fd, bool resend_ok, struct json_object **ret_resp,
		       struct json_object **ret_result, int *ret_fd, struct mxc_error *err)
{
	mxc_json_add_str(args, "session", s->session);
	bool fresh = false;
	if (s->connected && !connection_alive(s))
		lose_connection(s);
	int r = 0;
	if (!s->connected) {
		if ((r = connect_daemon(s, err)) < 0)
			return r;
		fresh = true;
	}
	bool sent;
	r = exchange(s, verb, args, send_fd, ret_resp, ret_result, ret_fd, &sent, err);
	if (r <= 0 || fresh)
		return r > 0 ? mxc_error_set(err, -ECONNRESET, "mxc-sessiond closed the connection")
			     : r;
	/* The daemon went away since our last call (a restart): try once more. */
	if (sent && !resend_ok)
		return mxc_error_set(err, -ECONNRESET,
				     "mxc-sessiond closed the connection before answering; the "
				     "action may or may not have taken effect (check with a "
				     "screenshot)");
	if ((r = connect_daemon(s, err)) < 0)
		return r;
	r = exchange(s, verb, args, send_fd, ret_resp, ret_result, ret_fd, &sent, err);
	return r > 0 ? mxc_error_set(err, -ECONNRESET, "mxc-sessiond closed the connection") : r;
}

/* ---- calling tools ---- */

static int64_t member_i64(struct json_object *o, const char *key)
{
	int64_t v = 0;
	mxc_json_get_i64(o, key, INT64_MIN, INT64_MAX, &v, NULL);
	return v;
}

/* Whether a mapping shows the whole screen at full size: its pixels are screen pixels. */
static bool mapping_is_screen(struct json_object *m)
{
	return member_i64(m, "x") == 0 && member_i64(m, "y") == 0 &&
	       member_i64(m, "width") == member_i64(m, "image_width") &&
	       member_i64(m, "height") == member_i64(m, "image_height") &&
	       member_i64(m, "width") == member_i64(m, "screen_width") &&
	       member_i64(m, "height") == member_i64(m, "screen_height");
}

/*
 * Puts a pointer tool's coordinate space into its daemon arguments: an explicit "space", or
 * the last screenshot's mapping unless "coordinates" is "screen". *ret_implicit says whether
 * the remembered mapping was applied.
 */
static int apply_space(struct server *s, struct json_object *args, bool *ret_implicit,
		       struct mxc_error *err)
{
	const char *coords = "screenshot";
	mxc_json_get_str(args, "coordinates", 16, &coords, NULL);
	bool screen = strcmp(coords, "screen") == 0;
	bool explicit_space = json_object_object_get_ex(args, "space", NULL);
	json_object_object_del(args, "coordinates");
	*ret_implicit = false;
	if (explicit_space && screen)
		return mxc_error_set(err, -EINVAL,
				     "'space' and 'coordinates': \"screen\" exclude each other");
	if (!explicit_space && !screen && s->mapping) {
		json_object_object_add(args, "space", json_object_get(s->mapping));
		*ret_implicit = true;
	}
	return 0;
}

/* A plain tool: the daemon's result as text (and structured content), or "done". */
static struct json_object *call_plain(struct server *s, const struct tool *t,
				      struct json_object *args)
{
	struct mxc_error err = { 0 };
	bool implicit = false;
	if ((t->flags & POINTER) && apply_space(s, args, &implicit, &err) < 0)
		return tool_error(s, "%s", err.msg);
	struct json_object *resp, *result;
	int r = daemon_call(s, t->name, args, -1, t->flags & READ_ONLY, &resp, &result, NULL,
			    &err);
	if (r < 0) {
		/* Off the image: say in which image, since the model may not know we chose it. */
		if (r == -ERANGE && implicit && !mapping_is_screen(s->mapping))
			return tool_error(s,
					  "%s (x and y are pixels of the last screenshot's "
					  "%" PRId64 "x%" PRId64 " image; pass \"coordinates\": "
					  "\"screen\" for screen pixels)",
					  err.msg, member_i64(s->mapping, "image_width"),
					  member_i64(s->mapping, "image_height"));
		return tool_error(s, "%s", err.msg);
	}
	struct json_object *out;
	if (result && json_object_is_type(result, json_type_object) &&
	    json_object_object_length(result) > 0)
		out = tool_result(s, false, json_object_get(result),
				  text_item(mxc_json_str(result, NULL)), NULL);
	else
		out = tool_result(s, false, NULL, text_item("done"), NULL);
	json_object_put(resp);
	return out;
}

/* Base64 of a mapped file, as an image content item. */
static struct json_object *image_item(const void *png, size_t len)
{
	size_t b64_len = 4 * ((len + 2) / 3);
	unsigned char *b64 = malloc(b64_len + 1);
	if (!b64)
		return NULL;
	int n = EVP_EncodeBlock(b64, png, (int)len);
	struct json_object *o = json_object_new_object();
	mxc_json_add_str(o, "type", "image");
	json_object_object_add(o, "data", json_object_new_string_len((const char *)b64, n));
	mxc_json_add_str(o, "mimeType", "image/png");
	free(b64);
	return o;
}

/* The screenshot: its PNG as an image item, its mapping as text, remembered for pointing. */
static struct json_object *call_screenshot(struct server *s, const struct tool *t,
					   struct json_object *args)
{
	if (s->max_edge && !json_object_object_get_ex(args, "scale", NULL) &&
	    !json_object_object_get_ex(args, "max_edge", NULL))
		mxc_json_add_i64(args, "max_edge", s->max_edge);
	struct mxc_error err = { 0 };
	struct json_object *resp, *result, *mapping = NULL;
	int fd = -1;
	int r = daemon_call(s, t->name, args, -1, true, &resp, &result, &fd, &err);
	if (r < 0)
		return tool_error(s, "%s", err.msg);
	/*
	 * The PNG comes as a sealed memfd: mapped, never read, since its file offset is shared
	 * with its writer; the seals keep its size from changing under the mapping.
	 */
	int64_t bytes = member_i64(result, "bytes");
	struct stat st;
	void *png = MAP_FAILED;
	struct json_object *out = NULL;
	if (!json_object_object_get_ex(result, "mapping", &mapping) ||
	    !json_object_is_type(mapping, json_type_object) || fd < 0 || bytes <= 0 ||
	    fstat(fd, &st) < 0 || st.st_size != bytes) {
		out = tool_error(s, "mxc-sessiond sent a screenshot that cannot be read");
		goto out;
	}
	if ((uint64_t)bytes > MAX_IMAGE_BYTES) {
		out = tool_error(s,
				 "the screenshot is %" PRId64 " MiB, too large to send; ask for a "
				 "smaller one with max_edge, scale or region",
				 bytes >> 20);
		goto out;
	}
	png = mmap(NULL, (size_t)bytes, PROT_READ, MAP_PRIVATE, fd, 0);
	struct json_object *image = png == MAP_FAILED ? NULL : image_item(png, (size_t)bytes);
	if (!image) {
		out = tool_error(s, "cannot read the screenshot: %s", strerror(errno));
		goto out;
	}
	json_object_put(s->mapping);
	s->mapping = json_object_get(mapping);

	int64_t sw = member_i64(mapping, "screen_width"), sh = member_i64(mapping, "screen_height");
	int64_t w = member_i64(mapping, "width"), h = member_i64(mapping, "height");
	char what[128];
	if (mapping_is_screen(mapping))
		snprintf(what, sizeof(what), "the whole screen at full size: its pixels are screen "
					     "pixels");
	else if (w == sw && h == sh)
		snprintf(what, sizeof(what), "the whole %" PRId64 "x%" PRId64 " screen, scaled", sw,
			 sh);
	else
		snprintf(what, sizeof(what),
			 "the %" PRId64 "x%" PRId64 " region at %" PRId64 ",%" PRId64
			 " of the %" PRId64 "x%" PRId64 " screen",
			 w, h, member_i64(mapping, "x"), member_i64(mapping, "y"), sw, sh);
	char text[2048];
	int n = snprintf(text, sizeof(text), "%s\n", mxc_json_str(result, NULL));
	snprintf(text + n, sizeof(text) - (size_t)n,
		 "This %" PRId64 "x%" PRId64 " image shows %s. Pointer tools now read x and y as "
		 "pixels of this image and the server maps them to the screen; pass "
		 "\"coordinates\": \"screen\" for screen pixels instead, or this mapping as "
		 "\"space\" to keep using this image's pixels after another screenshot.",
		 member_i64(mapping, "image_width"), member_i64(mapping, "image_height"), what);
	out = tool_result(s, false, json_object_get(result), image, text_item(text), NULL);
out:
	if (png != MAP_FAILED)
		munmap(png, (size_t)bytes);
	mxc_close(fd);
	json_object_put(resp);
	return out;
}

/* Whether bytes [p, p + len) are UTF-8 (RFC 3629: no overlong forms, no surrogates). */
static size_t utf8_char(const unsigned char *p, size_t len)
{
	if (p[0] < 0x80)
		return 1;
	size_t n;
	uint32_t cp, min;
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, min = 0x80, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, min = 0x800, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, min = 0x10000, cp = p[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : n;
}

/*
 * Clipboard text as a JSON string. Another program put it there: bytes that are not UTF-8
 * (which JSON cannot carry) become U+FFFD.
 */
static struct json_object *text_from(const unsigned char *p, size_t len)
{
	char *out = malloc(3 * len + 1);
	if (!out)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_char(p + i, len - i);
		if (k) {
			memcpy(out + n, p + i, k);
			n += k;
			i += k;
		} else {
			memcpy(out + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		}
	}
	struct json_object *o = json_object_new_string_len(out, (int)n);
	free(out);
	return o;
}

/* The clipboard: text as a text item, an image as an image item. */
/*
 * A transfer the session's policy asks the owner about comes back as a pending request: the
 * owner decides with `mxc approve`, and this server does not hold a tool call open for that.
 */
static struct json_object *pending_error(struct server *s, struct json_object *result)
{
	const char *id = NULL;
	if (mxc_json_get_str(result, "request", 32, &id, NULL) < 0)
		return NULL;
	return tool_error(s,
			  "the session's policy asks its owner to approve this transfer: request "
			  "%s is waiting (mxc approve %s); this tool does not wait for approvals",
			  id, id);
}

static struct json_object *call_clipboard_get(struct server *s, const struct tool *t,
					      struct json_object *args)
{
	struct mxc_error err = { 0 };
	struct json_object *resp, *result, *out = NULL;
	int fd = -1;
	int r = daemon_call(s, t->name, args, -1, true, &resp, &result, &fd, &err);
	if (r < 0)
		return tool_error(s, "%s", err.msg);
	if ((out = pending_error(s, result))) {
		mxc_close(fd);
		json_object_put(resp);
		return out;
	}
	const char *mime = NULL;
	mxc_json_get_str(result, "mime", 64, &mime, NULL);
	int64_t bytes = member_i64(result, "bytes");
	bool image = mxc_streq(mime, "image/png");
	struct stat st;
	void *p = NULL;
	if (!mime || fd < 0 || bytes < 0 || fstat(fd, &st) < 0 || st.st_size != bytes) {
		out = tool_error(s, "mxc-sessiond sent clipboard data that cannot be read");
		goto out;
	}
	if ((uint64_t)bytes > (image ? MAX_IMAGE_BYTES : MAX_MESSAGE)) {
		out = tool_error(s, "the clipboard holds %" PRId64 " bytes, too many to send",
				 bytes);
		goto out;
	}
	if (image && bytes == 0) {
		out = tool_error(s, "the clipboard holds no image");
		goto out;
	}
	/* Mapped, not read: a sealed memfd whose offset is shared with its writer. */
	if (bytes > 0 && (p = mmap(NULL, (size_t)bytes, PROT_READ, MAP_PRIVATE, fd, 0)) ==
				 MAP_FAILED) {
		p = NULL;
		out = tool_error(s, "cannot read the clipboard data: %s", strerror(errno));
		goto out;
	}
	struct json_object *item = NULL, *text = NULL;
	if (image) {
		item = image_item(p, (size_t)bytes);
	} else if ((text = text_from(p, (size_t)bytes))) {
		item = json_object_new_object();
		mxc_json_add_str(item, "type", "text");
		json_object_object_add(item, "text", json_object_get(text));
		json_object_object_add(result, "text", text);
	}
	out = item ? tool_result(s, false, json_object_get(result), item, NULL)
		   : tool_error(s, "out of memory");
out:
	if (p)
		munmap(p, (size_t)bytes);
	mxc_close(fd);
	json_object_put(resp);
	return out;
}

/* Strict base64 (RFC 4648, padded, no line breaks) into a sealed memfd. */
static int memfd_from_base64(const char *b64, size_t len, int *ret_fd, struct mxc_error *err)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/=";
	if (len == 0 || len % 4 || strspn(b64, alphabet) != len ||
	    strcspn(b64, "=") < len - 2 || (b64[len - 2] == '=' && b64[len - 1] != '='))
		return mxc_error_set(err, -EINVAL, "'data': not base64");
	unsigned char *bin = malloc(len / 4 * 3);
	if (!bin)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	/* EVP_DecodeBlock counts the padding as data. */
	int n = EVP_DecodeBlock(bin, (const unsigned char *)b64, (int)len);
	n -= (b64[len - 1] == '=') + (b64[len - 2] == '=');
	int r = 0, fd = -1;
	if (n < 0)
		r = mxc_error_set(err, -EINVAL, "'data': not base64");
	else if (n < 8 || memcmp(bin, "\x89PNG\r\n\x1a\n", 8) != 0)
		r = mxc_error_set(err, -EINVAL, "'data': not a PNG image");
	else if ((fd = memfd_create("mxc-clipboard", MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0 ||
		 mxc_write_all(fd, bin, (size_t)n) < 0 ||
		 fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) <
			 0)
		r = mxc_error_errno(err, -errno, "failed to hold the image");
	free(bin);
	if (r < 0) {
		mxc_close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* Text goes as the verb's "text"; an image as a sealed memfd, the daemon's way for data. */
static struct json_object *call_clipboard_set(struct server *s, const struct tool *t,
					      struct json_object *args)
{
	struct mxc_error err = { 0 };
	struct json_object *data = NULL;
	bool has_text = json_object_object_get_ex(args, "text", NULL);
	bool has_data = json_object_object_get_ex(args, "data", &data);
	const char *mime = has_data ? "image/png" : "text/plain";
	mxc_json_get_str(args, "mime", 64, &mime, NULL);
	if (has_text == has_data)
		return tool_error(s, "clipboard_set: %s",
				  has_text ? "'text' and 'data' exclude each other"
					   : "'text' or 'data' is needed");
	if (has_data != mxc_streq(mime, "image/png"))
		return tool_error(s, "clipboard_set: 'mime': %s goes with '%s'", mime,
				  has_data ? "text" : "data");
	int fd = -1;
	if (has_data) {
		const char *b64 = json_object_get_string(data);
		if (memfd_from_base64(b64, strlen(b64), &fd, &err) < 0)
			return tool_error(s, "clipboard_set: %s", err.msg);
		json_object_object_del(args, "data");
	}
	mxc_json_add_str(args, "mime", mime);
	struct json_object *resp, *result;
	int r = daemon_call(s, t->name, args, fd, false, &resp, &result, NULL, &err);
	mxc_close(fd);
	if (r < 0)
		return tool_error(s, "%s", err.msg);
	struct json_object *out = pending_error(s, result);
	if (!out)
		out = tool_result(s, false, json_object_get(result),
				  text_item(mxc_json_str(result, NULL)), NULL);
	json_object_put(resp);
	return out;
}

static const struct tool *find_tool(const char *name)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(tools); i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

/* ---- methods ---- */

/*
 * A request handler runs for a message with an id; params is an object (maybe empty). It
 * answers through reply()/reply_error(), taking id, and returns false when the client is
 * gone.
 */
typedef bool (*method_fn)(struct server *s, struct json_object *id, struct json_object *params);

/* Runs for "initialize": negotiates the revision, describes the server. */
static bool initialize(struct server *s, struct json_object *id, struct json_object *params)
{
	const char *asked = NULL;
	if (s->initialized)
		return reply_error(id, RPC_INVALID_REQUEST, "already initialized");
	if (mxc_json_get_str(params, "protocolVersion", 64, &asked, NULL) < 0)
		return reply_error(id, RPC_INVALID_PARAMS,
				   "initialize: 'protocolVersion' must be a string");
	/* The client's revision if we speak it, else our newest: the client decides then. */
	s->revision = REV_2025_11_25;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(revisions); i++)
		if (strcmp(asked, revisions[i]) == 0)
			s->revision = (int)i;
	s->initialized = true;

	struct json_object *res = json_object_new_object(), *caps = json_object_new_object();
	struct json_object *tools_cap = json_object_new_object(), *info = json_object_new_object();
	mxc_json_add_str(res, "protocolVersion", revisions[s->revision]);
	mxc_json_add_bool(tools_cap, "listChanged", false);
	json_object_object_add(caps, "tools", tools_cap);
	json_object_object_add(res, "capabilities", caps);
	mxc_json_add_str(info, "name", "mxc");
	mxc_json_add_str(info, "version", MXC_CLI_VERSION);
	json_object_object_add(res, "serverInfo", info);
	char text[1024];
	snprintf(text, sizeof(text),
		 "These tools see and drive the desktop of mxc session %s: take a screenshot, "
		 "then click, move, drag or scroll at pixel coordinates of that screenshot's "
		 "image (the server maps them to the screen; pass \"coordinates\": \"screen\" for "
		 "screen pixels, or a screenshot's mapping as \"space\"). key presses keys and "
		 "chords such as ctrl+s; type enters exact Unicode text; launch starts a program. "
		 "Take a new screenshot to see what an action did.",
		 s->session);
	mxc_json_add_str(res, "instructions", text);
	return reply(id, res);
}

static bool ping(struct server *s, struct json_object *id, struct json_object *params)
{
	return reply(id, NULL);
}

static bool tools_list(struct server *s, struct json_object *id, struct json_object *params)
{
	/* One page holds every tool: we never hand out a cursor, so none is valid. */
	if (json_object_object_get_ex(params, "cursor", NULL))
		return reply_error(id, RPC_INVALID_PARAMS, "tools/list: invalid cursor");
	struct json_object *list = json_object_new_array();
	for (size_t i = 0; i < MXC_ARRAY_SIZE(tools); i++) {
		const struct tool *t = &tools[i];
		struct json_object *o = json_object_new_object();
		mxc_json_add_str(o, "name", t->name);
		if (s->revision <= REV_2025_06_18)
			mxc_json_add_str(o, "title", t->title);
		mxc_json_add_str(o, "description", t->description);
		json_object_object_add(o, "inputSchema", json_object_get(s->schemas[i]));
		if (s->revision <= REV_2025_03_26) {
			struct json_object *a = json_object_new_object();
			mxc_json_add_str(a, "title", t->title);
			mxc_json_add_bool(a, "readOnlyHint", t->flags & READ_ONLY);
			if (!(t->flags & READ_ONLY)) {
				/*
				 * A click or a key can press any button on screen, "Delete"
				 * included: input is destructive unless it cannot be.
				 */
				mxc_json_add_bool(a, "destructiveHint", !(t->flags & HARMLESS));
				mxc_json_add_bool(a, "idempotentHint", t->flags & IDEMPOTENT);
			}
			json_object_object_add(o, "annotations", a);
		}
		json_object_array_add(list, o);
	}
	struct json_object *res = json_object_new_object();
	json_object_object_add(res, "tools", list);
	return reply(id, res);
}

static bool tools_call(struct server *s, struct json_object *id, struct json_object *params)
{
	const char *name = NULL;
	struct json_object *args = NULL;
	if (mxc_json_get_str(params, "name", 256, &name, NULL) < 0)
		return reply_error(id, RPC_INVALID_PARAMS,
				   "tools/call: 'name' must be a tool name (a string)");
	const struct tool *t = find_tool(name);
	if (!t)
		return reply_error(id, RPC_INVALID_PARAMS, "Unknown tool: %.128s", name);
	if (json_object_object_get_ex(params, "arguments", &args) && args &&
	    !json_object_is_type(args, json_type_object))
		return reply_error(id, RPC_INVALID_PARAMS,
				   "tools/call: 'arguments' must be an object");

	struct mxc_error err = { 0 };
	struct json_object *checked = NULL, *empty = json_object_new_object();
	char path[256] = "";
	int r = check_value(s->schemas[t - tools], args ? args : empty, path, sizeof(path),
			    &checked, &err);
	json_object_put(empty);
	struct json_object *res;
	if (r < 0)
		res = tool_error(s, "%s: %s", t->name, err.msg);
	else
		res = (t->call ? t->call : call_plain)(s, t, checked);
	json_object_put(checked);
	return reply(id, res);
}

static const struct method {
	const char *name;
	method_fn fn;
} methods[] = {
	{ "initialize", initialize },
	{ "ping", ping },
	{ "tools/call", tools_call },
	{ "tools/list", tools_list },
};

/* Runs for a notification: nothing to answer, whatever it is. */
static void notification(struct server *s, const char *method)
{
	/*
	 * notifications/initialized needs nothing; notifications/cancelled cannot concern a
	 * request, which we answer before reading the next line.
	 */
}

/* Whether an id is one JSON-RPC and MCP allow: a string or an integer. */
static bool valid_id(struct json_object *id)
{
	return json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
}

/* Handles one line from the client. Returns false when the client is gone. */
static bool handle(struct server *s, const char *line, size_t len)
{
	struct mxc_error err = { 0 };
	struct json_object *msg = NULL, *id = NULL, *params = NULL, *jv = NULL;
	const char *method = NULL;
	bool ok = true;
	if (strspn(line, " \t\r") == len)
		return true;
	if (mxc_json_parse(line, len, &msg, &err) < 0)
		return reply_error(NULL, RPC_PARSE_ERROR, "Parse error: %s", err.msg);
	if (json_object_is_type(msg, json_type_array)) {
		ok = reply_error(NULL, RPC_INVALID_REQUEST,
				 "Invalid Request: batches are not supported");
		goto out;
	}
	if (!json_object_is_type(msg, json_type_object)) {
		ok = reply_error(NULL, RPC_INVALID_REQUEST, "Invalid Request: not an object");
		goto out;
	}
	bool has_id = json_object_object_get_ex(msg, "id", &id);
	if (has_id && !valid_id(id)) {
		ok = reply_error(NULL, RPC_INVALID_REQUEST,
				 "Invalid Request: 'id' must be a string or an integer");
		goto out;
	}
	if (!json_object_object_get_ex(msg, "jsonrpc", &jv) ||
	    !json_object_is_type(jv, json_type_string) ||
	    strcmp(json_object_get_string(jv), "2.0") != 0) {
		ok = !has_id ||
		     reply_error(json_object_get(id), RPC_INVALID_REQUEST,
				 "Invalid Request: 'jsonrpc' must be \"2.0\"");
		goto out;
	}
	if (mxc_json_get_str(msg, "method", 256, &method, NULL) < 0) {
		/* A response: we send no requests, so it answers nothing of ours. */
		if (has_id && (json_object_object_get_ex(msg, "result", NULL) ||
			       json_object_object_get_ex(msg, "error", NULL)))
			goto out;
		ok = !has_id || reply_error(json_object_get(id), RPC_INVALID_REQUEST,
					    "Invalid Request: 'method' must be a string");
		goto out;
	}
	if (json_object_object_get_ex(msg, "params", &params) && params &&
	    !json_object_is_type(params, json_type_object)) {
		ok = !has_id ||
		     reply_error(json_object_get(id),
				 json_object_is_type(params, json_type_array) ? RPC_INVALID_PARAMS
									      : RPC_INVALID_REQUEST,
				 "%s: 'params' must be an object", method);
		goto out;
	}
	if (!has_id) {
		notification(s, method);
		goto out;
	}
	struct json_object *empty = NULL;
	if (!params)
		params = empty = json_object_new_object();
	const struct method *m = NULL;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(methods); i++)
		if (strcmp(methods[i].name, method) == 0)
			m = &methods[i];
	if (m)
		ok = m->fn(s, json_object_get(id), params);
	else
		ok = reply_error(json_object_get(id), RPC_METHOD_NOT_FOUND,
				 "Method not found: %.128s", method);
	json_object_put(empty);
out:
	json_object_put(msg);
	return ok;
}

/* ---- standard input ---- */

/*
 * The next line of stdin, NUL-terminated, without its newline (nor a \r before it). Returns
 * 1 with a line, 0 at the end of input, -EMSGSIZE for a line over MAX_MESSAGE (which is
 * skipped), or a negative errno.
 */
static int next_line(struct server *s, char **ret, size_t *ret_len)
{
	if (s->consumed) {
		memmove(s->buf, s->buf + s->consumed, s->len - s->consumed);
		s->len -= s->consumed;
		s->scanned = s->scanned > s->consumed ? s->scanned - s->consumed : 0;
		s->consumed = 0;
	}
	for (;;) {
		char *nl = NULL;
		if (s->len > s->scanned)
			nl = memchr(s->buf + s->scanned, '\n', s->len - s->scanned);
		if (nl) {
			size_t n = (size_t)(nl - s->buf);
			s->consumed = n + 1;
			s->scanned = 0;
			if (s->skipping) {
				s->skipping = false;
				memmove(s->buf, s->buf + s->consumed, s->len - s->consumed);
				s->len -= s->consumed;
				s->consumed = 0;
				continue;
			}
			if (n > 0 && s->buf[n - 1] == '\r')
				n--;
			s->buf[n] = '\0';
			*ret = s->buf;
			*ret_len = n;
			return 1;
		}
		s->scanned = s->len;
		if (s->skipping) {
			s->len = s->scanned = 0;
		} else if (s->len > MAX_MESSAGE) {
			s->skipping = true;
			s->len = s->scanned = 0;
			return -EMSGSIZE;
		}
		if (s->eof) {
			if (s->len == 0)
				return 0;
			/* A last line without its newline. */
			s->buf[s->len] = '\0';
			*ret = s->buf;
			*ret_len = s->len;
			s->consumed = s->len;
			return 1;
		}
		if (s->cap - s->len < 65536 + 1) {
			size_t cap = s->cap ? 2 * s->cap : 65536 * 2;
			if (cap > MAX_MESSAGE + 65536 + 2)
				cap = MAX_MESSAGE + 65536 + 2;
			char *b = realloc(s->buf, cap);
			if (!b)
				return -ENOMEM;
			s->buf = b;
			s->cap = cap;
		}
		ssize_t n = read(STDIN_FILENO, s->buf + s->len, s->cap - s->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			s->eof = true;
		s->len += (size_t)n;
	}
}

/* ---- the command ---- */

static int usage(void)
{
	fprintf(stderr, "usage: mxc mcp [SESSION] [--max-edge N]\n"
			"  (inside a session, SESSION defaults to $MXC_SESSION)\n"
			"Try 'mxc --help'.\n");
	return MXC_EXIT_USAGE;
}

/* Checks the session at start-up, so that a wrong id shows in the runtime's server log. */
static void probe(struct server *s)
{
	struct mxc_error err = { 0 };
	struct json_object *args = json_object_new_object(), *resp, *result;
	if (daemon_call(s, "screen_size", args, -1, true, &resp, &result, NULL, &err) < 0)
		fprintf(stderr, "mxc mcp: warning: %s (serving anyway; tools will report it)\n",
			err.msg);
	else
		json_object_put(resp);
	json_object_put(args);
}

int mxc_cli_mcp(struct mxc_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "max-edge", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct server s = { .socket = cli->socket, .revision = REV_2025_11_25 };
	uint64_t edge = 0;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'm' && mxc_parse_u64(optarg, MAX_SIDE, &edge) == 0 && edge > 0)
			s.max_edge = (int64_t)edge;
		else
			return usage();
	}
	if (argc - optind > 1)
		return usage();
	s.session = argc - optind == 1 ? argv[optind] : getenv("MXC_SESSION");
	if (!s.session || !*s.session)
		return usage();

	int status = MXC_EXIT_OK;
	s.schemas = calloc(MXC_ARRAY_SIZE(tools), sizeof(*s.schemas));
	if (!s.schemas) {
		fprintf(stderr, "mxc mcp: out of memory\n");
		return MXC_EXIT_FAILURE;
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(tools); i++) {
		struct mxc_error err = { 0 };
		if (mxc_json_parse(tools[i].schema, strlen(tools[i].schema), &s.schemas[i], &err) <
		    0) {
			/* A defect of this file, caught by every test run. */
			fprintf(stderr, "mxc mcp: the schema of tool '%s' is invalid: %s\n",
				tools[i].name, err.msg);
			status = MXC_EXIT_FAILURE;
			goto out;
		}
	}
	probe(&s);

	for (;;) {
		char *line = NULL;
		size_t len = 0;
		int r = next_line(&s, &line, &len);
		if (r == 0)
			break;
		if (r == -EMSGSIZE) {
			if (!reply_error(NULL, RPC_INVALID_REQUEST,
					 "Invalid Request: message longer than %u bytes",
					 MAX_MESSAGE))
				break;
			continue;
		}
		if (r < 0) {
			fprintf(stderr, "mxc mcp: cannot read standard input: %s\n", strerror(-r));
			status = MXC_EXIT_FAILURE;
			break;
		}
		if (!handle(&s, line, len))
			break;
	}
out:
	disconnect(&s);
	json_object_put(s.mapping);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(tools); i++)
		json_object_put(s.schemas[i]);
	free(s.schemas);
	free(s.buf);
	return status;
}
