/* mxc input: the computer-use actions from the command line, one daemon verb each. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "client.h"
#include "fs.h"
#include "json.h"

enum {
	OPT_BUTTON = 256,
	OPT_COUNT,
	OPT_MODIFIERS,
	OPT_DX,
	OPT_DY,
	OPT_SCALE,
	OPT_REGION,
	OPT_JSON,
};

/* What an action takes: positional words, and which options apply. */
struct action {
	const char *name;
	const char *usage;
	int min_args, max_args; /* positional words after the action */
	bool pointer;           /* coordinates, with --scale/--region spaces */
	bool button, count, modifiers, scroll;
};

static const struct action actions[] = {
	{ "click", "[X Y] [--button B] [--count 1-3] [--modifiers ctrl+shift]", 0, 2, true, true,
	  true, true, false },
	{ "cursor_position", "", 0, 0, true, false, false, false, false },
	{ "drag", "X1 Y1 X2 Y2 [X Y]... [--button B]", 4, 20000, true, true, false, false, false },
	{ "hold_key", "CHORD MS", 2, 2, false, false, false, false, false },
	{ "key", "CHORD (e.g. ctrl+s, Return, F5)", 1, 1, false, false, false, false, false },
	{ "key_down", "CHORD", 1, 1, false, false, false, false, false },
	{ "key_up", "CHORD", 1, 1, false, false, false, false, false },
	{ "mouse_down", "[X Y] [--button B]", 0, 2, true, true, false, false, false },
	{ "mouse_up", "[X Y] [--button B]", 0, 2, true, true, false, false, false },
	{ "move", "X Y", 2, 2, true, false, false, false, false },
	{ "screen_size", "", 0, 0, false, false, false, false, false },
	{ "scroll", "[X Y] [--dx N] [--dy N] [--modifiers M]", 0, 2, true, false, false, true,
	  true },
	{ "type", "TEXT (- reads standard input)", 1, 1, false, false, false, false, false },
	{ "wait", "MS", 1, 1, false, false, false, false, false },
};

static const struct action *find_action(const char *name)
{
	for (size_t i = 0; i < MXC_ARRAY_SIZE(actions); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

static bool mxc_cli_is_action(const char *word)
{
	return find_action(word) != NULL;
}

static int usage(const struct action *a)
{
	if (a)
		fprintf(stderr, "usage: mxc input [ID] %s %s [--scale WxH] [--region X,Y,W,H] [--json]\n",
			a->name, a->usage);
	else {
		fprintf(stderr, "usage: mxc input [ID] ACTION ARGS... [--json]\nactions:");
		for (size_t i = 0; i < MXC_ARRAY_SIZE(actions); i++)
			fprintf(stderr, " %s", actions[i].name);
		fprintf(stderr, "\n");
	}
	return MXC_EXIT_USAGE;
}

static int parse_int(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int mxc_cli_parse_size(const char *s, int64_t *w, int64_t *h)
{
	char buf[32], *x;
	snprintf(buf, sizeof(buf), "%s", s);
	if (!(x = strchr(buf, 'x')))
		return -EINVAL;
	*x = '\0';
	return parse_int(buf, 1, 100000, w) < 0 || parse_int(x + 1, 1, 100000, h) < 0 ? -EINVAL : 0;
}

struct json_object *mxc_cli_parse_region(const char *s)
{
	char buf[64];
	int64_t v[4];
	snprintf(buf, sizeof(buf), "%s", s);
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	for (int i = 0; i < 4; i++, tok = strtok_r(NULL, ",", &save))
		if (!tok || parse_int(tok, 0, 100000, &v[i]) < 0)
			return NULL;
	if (tok)
		return NULL;
	static const char *const names[] = { "x", "y", "width", "height" };
	struct json_object *o = json_object_new_object();
	for (int i = 0; i < 4; i++)
		mxc_json_add_i64(o, names[i], v[i]);
	return o;
}

/* The session an input command names, or inside a session its own ($MXC_SESSION). */
static const char *input_session(int *optind_io, int argc, char **argv)
{
	const char *env = getenv("MXC_SESSION");
	if (env && *env && *optind_io < argc && mxc_cli_is_action(argv[*optind_io]))
		return env;
	return *optind_io < argc ? argv[(*optind_io)++] : NULL;
}

int mxc_cli_input(struct mxc_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "button", required_argument, NULL, OPT_BUTTON },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "modifiers", required_argument, NULL, OPT_MODIFIERS },
		{ "dx", required_argument, NULL, OPT_DX },
		{ "dy", required_argument, NULL, OPT_DY },
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	const char *button = NULL, *modifiers = NULL, *scale = NULL, *region = NULL;
	const char *count = NULL, *dx = NULL, *dy = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_BUTTON: button = optarg; break;
		case OPT_COUNT: count = optarg; break;
		case OPT_MODIFIERS: modifiers = optarg; break;
		case OPT_DX: dx = optarg; break;
		case OPT_DY: dy = optarg; break;
		case OPT_SCALE: scale = optarg; break;
		case OPT_REGION: region = optarg; break;
		case OPT_JSON: cli->json = true; break;
		default: return usage(NULL);
		}
	}
	const char *session = input_session(&optind, argc, argv);
	if (!session || optind >= argc)
		return usage(NULL);
	const struct action *a = find_action(argv[optind++]);
	if (!a)
		return usage(NULL);
	int n = argc - optind;
	char **pos = argv + optind;
	if (n < a->min_args || n > a->max_args || (a->pointer && a->min_args == 0 && n == 1) ||
	    (!a->button && button) || (!a->count && count) || (!a->modifiers && modifiers) ||
	    (!a->scroll && (dx || dy)) || (!a->pointer && (scale || region)) ||
	    (strcmp(a->name, "drag") == 0 && n % 2))
		return usage(a);

	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "session", session);
	int64_t v = 0, w = 0, h = 0;
	bool bad = false;
	if (scale || region) {
		struct json_object *space = region ? mxc_cli_parse_region(region)
						   : json_object_new_object();
		bad |= !space || (scale && mxc_cli_parse_size(scale, &w, &h) < 0);
		if (space && scale && !bad) {
			mxc_json_add_i64(space, "image_width", w);
			mxc_json_add_i64(space, "image_height", h);
		}
		json_object_object_add(args, "space", space);
	}
	if (strcmp(a->name, "drag") == 0) {
		struct json_object *path = json_object_new_array();
		for (int i = 0; i + 1 < n; i += 2) {
			int64_t x = 0, y = 0;
			bad |= parse_int(pos[i], INT32_MIN, INT32_MAX, &x) < 0 ||
			       parse_int(pos[i + 1], INT32_MIN, INT32_MAX, &y) < 0;
			struct json_object *p = json_object_new_array();
			json_object_array_add(p, json_object_new_int64(x));
			json_object_array_add(p, json_object_new_int64(y));
			json_object_array_add(path, p);
		}
		json_object_object_add(args, "path", path);
	} else if (a->pointer && n == 2) {
		bad |= parse_int(pos[0], INT32_MIN, INT32_MAX, &v) < 0;
		mxc_json_add_i64(args, "x", v);
		bad |= parse_int(pos[1], INT32_MIN, INT32_MAX, &v) < 0;
		mxc_json_add_i64(args, "y", v);
	} else if (strcmp(a->name, "type") == 0) {
		char *text = NULL;
		size_t len = 0;
		int r = strcmp(pos[0], "-") == 0 ? mxc_read_fd(STDIN_FILENO, 64 * 1024, &text, &len)
						 : 0;
		if (r < 0) {
			/* Not a usage error: say what is wrong with the input. */
			json_object_put(args);
			fprintf(stderr, "mxc: cannot type standard input: %s\n",
				r == -EFBIG ? "longer than 64 KiB" : strerror(-r));
			return MXC_EXIT_FAILURE;
		}
		json_object_object_add(args, "text",
				       json_object_new_string_len(text ? text : pos[0],
								  (int)(text ? len : strlen(pos[0]))));
		free(text);
	} else if (strcmp(a->name, "wait") == 0) {
		bad |= parse_int(pos[0], 0, INT32_MAX, &v) < 0;
		mxc_json_add_i64(args, "ms", v);
	} else if (a->min_args >= 1) {
		mxc_json_add_str(args, "keys", pos[0]);
		if (n == 2) {
			bad |= parse_int(pos[1], 0, INT32_MAX, &v) < 0;
			mxc_json_add_i64(args, "ms", v);
		}
	}
	if (button)
		mxc_json_add_str(args, "button", button);
	if (modifiers)
		mxc_json_add_str(args, "modifiers", modifiers);
	if (count) {
		bad |= parse_int(count, INT32_MIN, INT32_MAX, &v) < 0;
		mxc_json_add_i64(args, "count", v);
	}
	if (dx) {
		bad |= parse_int(dx, INT32_MIN, INT32_MAX, &v) < 0;
		mxc_json_add_i64(args, "dx", v);
	}
	if (dy) {
		bad |= parse_int(dy, INT32_MIN, INT32_MAX, &v) < 0;
		mxc_json_add_i64(args, "dy", v);
	}
	if (bad) {
		json_object_put(args);
		return usage(a);
	}

	struct mxc_error err = { 0 };
	struct json_object *resp, *res;
	if (mxc_conn_request(cli->socket, a->name, args, NULL, 0, &resp, &res, NULL, 0, NULL,
			     &err) < 0) {
		fprintf(stderr, "mxc: %s\n", err.msg);
		return MXC_EXIT_FAILURE;
	}
	if (cli->json) {
		printf("%s\n", mxc_json_pretty(res));
	} else if (strcmp(a->name, "cursor_position") == 0) {
		int64_t x = -1, y = -1;
		mxc_json_get_i64(res, "x", INT64_MIN, INT64_MAX, &x, NULL);
		mxc_json_get_i64(res, "y", INT64_MIN, INT64_MAX, &y, NULL);
		printf("%" PRId64 " %" PRId64 "\n", x, y);
	} else if (strcmp(a->name, "screen_size") == 0) {
		int64_t sw = -1, sh = -1;
		mxc_json_get_i64(res, "width", INT64_MIN, INT64_MAX, &sw, NULL);
		mxc_json_get_i64(res, "height", INT64_MIN, INT64_MAX, &sh, NULL);
		printf("%" PRId64 "x%" PRId64 "\n", sw, sh);
	}
	json_object_put(resp);
	return MXC_EXIT_OK;
}
