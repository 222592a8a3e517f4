/* The mxc subcommands, one handler each. */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "cli.h"
#include "client.h"
#include "fs.h"
#include "json.h"
#include "table.h"

/* Exit status of mxc exec when mxc itself (not the command) failed, as docker run does. */
#define EXEC_FAILED 125

static int usage_error(const char *fmt, ...) MXC_PRINTF(1, 2);
static void print_fields(struct json_object *o);
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mxc: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'mxc --help'.\n");
	va_end(ap);
	return MXC_EXIT_USAGE;
}

static int fail(const struct mxc_error *err)
{
	fprintf(stderr, "mxc: %s\n", err->msg);
	return MXC_EXIT_FAILURE;
}

/* Runs one request and returns its response (which owns *ret_result). */
static int call(struct mxc_cli *cli, const char *verb, struct json_object *args,
		struct json_object **ret_resp, struct json_object **ret_result)
{
	struct mxc_error err = { 0 };
	return mxc_conn_request(cli->socket, verb, args, NULL, 0, ret_resp, ret_result, NULL, 0,
				NULL, &err) < 0
		       ? fail(&err)
		       : 0;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", mxc_json_pretty(o));
}

static const char *str(struct json_object *o, const char *key)
{
	const char *s = NULL;
	mxc_json_get_str(o, key, SIZE_MAX, &s, NULL);
	return s;
}

static int64_t num(struct json_object *o, const char *key)
{
	int64_t v = -1;
	mxc_json_get_i64(o, key, INT64_MIN, INT64_MAX, &v, NULL);
	return v;
}

static void time_cell(struct json_object *o, const char *key, char buf[static 32])
{
	int64_t ms = num(o, key);
	if (ms > 0)
		mxc_format_local_ms(ms, buf);
	else
		snprintf(buf, 32, "-");
}

/* Parses only --json for commands that take no other option. */
static int simple_options(struct mxc_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c != 'j')
			return -1;
		cli->json = true;
	}
	return 0;
}

/* ---- agent ---- */

/*
 * A command with one positional argument, sent as args[key]; prints the result as JSON or
 * through human().
 */
static int one_arg(struct mxc_cli *cli, int argc, char **argv, const char *usage,
		   const char *verb, const char *key,
		   void (*human)(struct json_object *res, const char *arg))
{
	if (simple_options(cli, argc, argv) < 0 || argc - optind != 1)
		return usage_error("usage: %s", usage);
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, key, argv[optind]);
	int r = call(cli, verb, args, &resp, &res);
	if (r)
		return r;
	if (cli->json)
		print_json(res);
	else
		human(res, argv[optind]);
	json_object_put(resp);
	return 0;
}

static void added(struct json_object *res, const char *name)
{
	printf("added agent %s (uid %" PRId64 ", home %s)\n", name, num(res, "uid"),
	       str(res, "home"));
}

/*
 * Adds args.policy from the file at path, read as the caller: the daemon never opens a path
 * on a user's behalf. Prints why not and returns MXC_EXIT_FAILURE if it cannot be read.
 */
static int add_policy_arg(struct json_object *args, const char *path)
{
	char *text;
	size_t len;
	int r = mxc_read_file(path, 1024 * 1024, &text, &len);
	if (r < 0) {
		fprintf(stderr, "mxc: cannot read policy '%s': %s\n", path,
			r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return MXC_EXIT_FAILURE;
	}
	json_object_object_add(args, "policy", json_object_new_string_len(text, (int)len));
	free(text);
	return 0;
}

static int agent_add(struct mxc_cli *cli, int argc, char **argv)
{
	static const char use[] = "usage: mxc agent add NAME [--policy FILE]";
	static const struct option options[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'p')
			policy = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return usage_error(use);
	}
	if (argc - optind != 1)
		return usage_error(use);
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "name", argv[optind]);
	if (policy && add_policy_arg(args, policy) != 0) {
		json_object_put(args);
		return MXC_EXIT_FAILURE;
	}
	int r = call(cli, "agent.add", args, &resp, &res);
	if (r)
		return r;
	if (cli->json)
		print_json(res);
	else
		added(res, argv[optind]);
	json_object_put(resp);
	return 0;
}

static int agent_remove(struct mxc_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "keep-home", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	bool keep = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'k')
			keep = true;
		else if (c == 'j')
			cli->json = true;
		else
			return usage_error("usage: mxc agent remove NAME [--keep-home]");
	}
	if (argc - optind != 1)
		return usage_error("usage: mxc agent remove NAME [--keep-home]");
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "name", argv[optind]);
	mxc_json_add_bool(args, "keep_home", keep);
	int r = call(cli, "agent.remove", args, &resp, &res);
	if (r)
		return r;
	if (cli->json)
		print_json(res);
	else
		printf("removed agent %s%s\n", argv[optind], keep ? " (home kept)" : "");
	json_object_put(resp);
	return 0;
}

static int agent_list(struct mxc_cli *cli, int argc, char **argv)
{
	if (simple_options(cli, argc, argv) < 0 || argc != optind)
		return usage_error("usage: mxc agent list [--json]");
	struct json_object *resp, *res, *agents = NULL;
	int r = call(cli, "agent.list", NULL, &resp, &res);
	if (r)
		return r;
	json_object_object_get_ex(res, "agents", &agents);
	if (cli->json) {
		print_json(agents);
	} else {
		static const char *const h[] = { "NAME", "UID", "GID", "SESSIONS", "HOME",
						 "CREATED" };
		struct mxc_table *t = mxc_table_new(6, h);
		for (size_t i = 0; t && i < json_object_array_length(agents); i++) {
			struct json_object *a = json_object_array_get_idx(agents, i);
			char uid[24], gid[24], n[24], when[32];
			snprintf(uid, sizeof(uid), "%" PRId64, num(a, "uid"));
			snprintf(gid, sizeof(gid), "%" PRId64, num(a, "gid"));
			snprintf(n, sizeof(n), "%" PRId64, num(a, "sessions"));
			time_cell(a, "created_at", when);
			const char *cells[] = { str(a, "name"), uid, gid, n, str(a, "home"), when };
			mxc_table_add(t, cells);
		}
		if (t)
			mxc_table_print(t, stdout);
		mxc_table_free(t);
	}
	json_object_put(resp);
	return 0;
}

/* Prints an object's members as "key: value" lines, times made readable, nested objects
 * as "outer.inner" keys. */
static void print_fields_under(struct json_object *o, const char *prefix)
{
	json_object_object_foreach(o, key, val)
	{
		char when[32], name[128];
		snprintf(name, sizeof(name), "%s%s", prefix, key);
		size_t klen = strlen(key);
		if (klen > 3 && strcmp(key + klen - 3, "_at") == 0 &&
		    json_object_is_type(val, json_type_int)) {
			time_cell(o, key, when);
			printf("%-16s %s\n", name, when);
		} else if (!val) {
			printf("%-16s -\n", name);
		} else if (json_object_is_type(val, json_type_string)) {
			printf("%-16s %s\n", name, json_object_get_string(val));
		} else if (json_object_is_type(val, json_type_object)) {
			char inner[128];
			snprintf(inner, sizeof(inner), "%s.", name);
			print_fields_under(val, inner);
		} else {
			printf("%-16s %s\n", name, mxc_json_str(val, NULL));
		}
	}
}

static void print_fields(struct json_object *o)
{
	print_fields_under(o, "");
}

static void fields(struct json_object *res, const char *arg)
{
	print_fields(res);
}

static int agent_show(struct mxc_cli *cli, int argc, char **argv)
{
	return one_arg(cli, argc, argv, "mxc agent show NAME [--json]", "agent.show", "name",
		       fields);
}

/* ---- sessions ---- */

static int parse_size(const char *s, uint64_t *w, uint64_t *h)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%s", s);
	char *x = strchr(buf, 'x');
	if (!x)
		return -EINVAL;
	*x = '\0';
	return mxc_parse_u64(buf, 100000, w) < 0 || mxc_parse_u64(x + 1, 100000, h) < 0 ? -EINVAL
											  : 0;
}

static int session_start(struct mxc_cli *cli, int argc, char **argv)
{
	static const char use[] =
		"usage: mxc session start AGENT [--size WxH] [--policy FILE] [-- CMD ARGS...]";
	static const struct option options[] = {
		{ "size", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *size = NULL, *policy = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 's')
			size = optarg;
		else if (c == 'p')
			policy = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return usage_error(use);
	}
	if (optind >= argc)
		return usage_error(use);
	const char *agent = argv[optind++];
	/* getopt moved the words after "--" to the end: they are the start command. */
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "agent", agent);
	if (optind < argc)
		json_object_object_add(args, "command", mxc_json_strv(argv + optind));
	if (size) {
		uint64_t w, h;
		if (parse_size(size, &w, &h) < 0) {
			json_object_put(args);
			return usage_error("invalid --size '%s' (expected WxH, e.g. 1280x800)", size);
		}
		mxc_json_add_i64(args, "width", (int64_t)w);
		mxc_json_add_i64(args, "height", (int64_t)h);
	}
	if (policy && add_policy_arg(args, policy) != 0) {
		json_object_put(args);
		return MXC_EXIT_FAILURE;
	}
	struct json_object *resp, *res, *warnings = NULL;
	int r = call(cli, "session.start", args, &resp, &res);
	if (r)
		return r;
	if (json_object_object_get_ex(res, "warnings", &warnings))
		for (size_t i = 0; i < json_object_array_length(warnings); i++)
			fprintf(stderr, "mxc: warning: %s\n",
				json_object_get_string(json_object_array_get_idx(warnings, i)));
	if (cli->json)
		print_json(res);
	else
		printf("%s\n", str(res, "id"));
	json_object_put(resp);
	return 0;
}

static void stopped(struct json_object *res, const char *id)
{
	printf("session %s %s\n", id, str(res, "state"));
}

static int session_stop(struct mxc_cli *cli, int argc, char **argv)
{
	return one_arg(cli, argc, argv, "mxc session stop ID", "session.stop", "session", stopped);
}

static int session_list(struct mxc_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "agent", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args = json_object_new_object();
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'a')
			mxc_json_add_bool(args, "all", true);
		else if (c == 'A')
			mxc_json_add_str(args, "agent", optarg);
		else if (c == 'j')
			cli->json = true;
		else {
			json_object_put(args);
			return usage_error("usage: mxc session list [--all] [--agent NAME] [--json]");
		}
	}
	if (optind != argc) {
		json_object_put(args);
		return usage_error("usage: mxc session list [--all] [--agent NAME] [--json]");
	}
	struct json_object *resp, *res, *list = NULL;
	int r = call(cli, "session.list", args, &resp, &res);
	if (r)
		return r;
	json_object_object_get_ex(res, "sessions", &list);
	if (cli->json) {
		print_json(list);
	} else {
		static const char *const h[] = { "ID",   "AGENT", "OWNER",  "STATE",
						 "DISPLAY", "SIZE", "STARTED" };
		struct mxc_table *t = mxc_table_new(7, h);
		for (size_t i = 0; t && i < json_object_array_length(list); i++) {
			struct json_object *s = json_object_array_get_idx(list, i);
			char size[32], when[32];
			snprintf(size, sizeof(size), "%" PRId64 "x%" PRId64, num(s, "width"),
				 num(s, "height"));
			time_cell(s, "started_at", when);
			const char *cells[] = { str(s, "id"),    str(s, "agent"),   str(s, "owner_name"),
						str(s, "state"), str(s, "display"), size,
						when };
			mxc_table_add(t, cells);
		}
		if (t)
			mxc_table_print(t, stdout);
		mxc_table_free(t);
	}
	json_object_put(resp);
	return 0;
}

static int session_show(struct mxc_cli *cli, int argc, char **argv)
{
	return one_arg(cli, argc, argv, "mxc session show ID [--json]", "session.show", "session",
		       fields);
}

/* ---- exec ---- */

/* Copies what is readable from a non-blocking `from` to `to`; false at end of input. */
static bool pump(int from, int to)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0)
			return false;
		mxc_write_all(to, buf, (size_t)n);
	}
}

static int exec_cmd(struct mxc_cli *cli, int argc, char **argv)
{
	static const char use[] = "usage: mxc exec [--cwd DIR] ID [--] CMD ARGS...";
	static const struct option options[] = {
		{ "cwd", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cwd = NULL;
	int c;
	optind = 0;
	/* "+": options end at the session id; everything after it belongs to the command. */
	while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		if (c == 'c')
			cwd = optarg;
		else
			return usage_error(use);
	}
	if (optind >= argc)
		return usage_error(use);
	const char *id = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc)
		return usage_error(use);
	return mxc_cli_exec(cli, id, argv + optind, cwd);
}

volatile sig_atomic_t mxc_cli_interrupted;

int mxc_cli_exec(struct mxc_cli *cli, const char *id, char *const *cmd, const char *cwd)
{

	/*
	 * The command gets pipes, never our terminal: a descriptor of the caller's tty in an
	 * agent's hands could inject keystrokes into it (TIOCSTI) or keep reading it.
	 */
	int in[2], out[2], errp[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		perror("mxc: pipe");
		return EXEC_FAILED;
	}
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "session", id);
	json_object_object_add(args, "argv", mxc_json_strv(cmd));
	if (cwd)
		mxc_json_add_str(args, "cwd", cwd);
	struct mxc_conn conn;
	struct mxc_error err = { 0 };
	int fds[3] = { in[0], out[1], errp[1] };
	if (mxc_conn_open(&conn, cli->socket, &err) < 0) {
		json_object_put(args);
		fprintf(stderr, "mxc: %s\n", err.msg);
		return EXEC_FAILED;
	}
	if (mxc_conn_send(&conn, "exec", args, fds, 3, &err) < 0) {
		mxc_conn_close(&conn);
		fprintf(stderr, "mxc: %s\n", err.msg);
		return EXEC_FAILED;
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	fcntl(in[1], F_SETFL, O_NONBLOCK);

	/*
	 * Our stdin goes to the command through a small buffer: we read more only when the
	 * pipe has taken what we have, so a command that never reads cannot block us.
	 */
	char buf[65536];
	size_t pend = 0, off = 0;
	int stdin_fd = STDIN_FILENO, in_w = in[1];
	int code = EXEC_FAILED;
	bool out_open = true, err_open = true, done = false;
	while (!done) {
		struct pollfd p[5] = {
			{ conn.fd, POLLIN, 0 },
			{ out_open ? out[0] : -1, POLLIN, 0 },
			{ err_open ? errp[0] : -1, POLLIN, 0 },
			{ in_w >= 0 && pend == 0 ? stdin_fd : -1, POLLIN, 0 },
			{ in_w >= 0 && pend > 0 ? in_w : -1, POLLOUT, 0 },
		};
		if (poll(p, 5, -1) < 0) {
			/* Interrupted (mxc run): closing the connection kills the command. */
			if (errno == EINTR && !mxc_cli_interrupted)
				continue;
			break;
		}
		if (p[1].revents)
			out_open = pump(out[0], STDOUT_FILENO);
		if (p[2].revents)
			err_open = pump(errp[0], STDERR_FILENO);
		if (p[3].revents) {
			ssize_t n = read(stdin_fd, buf, sizeof(buf));
			if (n > 0) {
				pend = (size_t)n;
				off = 0;
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* End of our input: the command sees end of file. */
				in_w = mxc_close(in_w);
			}
		}
		if (p[4].revents) {
			ssize_t n = write(in_w, buf + off, pend - off);
			if (n > 0) {
				off += (size_t)n;
				if (off == pend)
					pend = 0;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* The command closed its stdin. */
				in_w = mxc_close(in_w);
				pend = 0;
			}
		}
		if (p[0].revents) {
			struct json_object *resp, *res;
			if (mxc_conn_recv(&conn, &resp, &res, NULL, 0, NULL, &err) < 0) {
				fprintf(stderr, "mxc: %s\n", err.msg);
			} else {
				code = (int)num(res, "exit_code");
				json_object_put(resp);
			}
			done = true;
		}
	}
	/* The command has exited: what it wrote is in the pipes already. */
	if (out_open)
		pump(out[0], STDOUT_FILENO);
	if (err_open)
		pump(errp[0], STDERR_FILENO);
	mxc_close(in_w);
	close(out[0]);
	close(errp[0]);
	mxc_conn_close(&conn);
	return code < 0 || code > 255 ? EXEC_FAILED : code;
}

/* ---- launch ---- */

static int launch(struct mxc_cli *cli, int argc, char **argv)
{
	static const char use[] = "usage: mxc launch [--cwd DIR] [ID] -- CMD ARGS...";
	static const struct option options[] = {
		{ "cwd", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cwd = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		if (c == 'c')
			cwd = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return usage_error(use);
	}
	/* The command follows "--"; before it, the session (default: this one). */
	const char *id = getenv("MXC_SESSION");
	if (optind < argc && strcmp(argv[optind], "--") != 0)
		id = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (!id || optind >= argc)
		return usage_error(use);
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "session", id);
	json_object_object_add(args, "argv", mxc_json_strv(argv + optind));
	if (cwd)
		mxc_json_add_str(args, "cwd", cwd);
	int r = call(cli, "launch", args, &resp, &res);
	if (r)
		return r;
	if (cli->json)
		print_json(res);
	json_object_put(resp);
	return 0;
}

/* ---- screenshot ---- */

static int screenshot(struct mxc_cli *cli, int argc, char **argv)
{
	static const char use[] = "usage: mxc screenshot [ID] [-o FILE] [--scale WxH | --max-edge N] "
				  "[--region X,Y,W,H] [--json]";
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "scale", required_argument, NULL, 's' },
		{ "max-edge", required_argument, NULL, 'm' },
		{ "region", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	struct json_object *args = json_object_new_object(), *region;
	int c;
	int64_t w, h;
	uint64_t edge;
	bool bad = false;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:", options, NULL)) != -1) {
		if (c == 'o') {
			output = optarg;
		} else if (c == 's' && mxc_cli_parse_size(optarg, &w, &h) == 0) {
			struct json_object *scale = json_object_new_object();
			mxc_json_add_i64(scale, "width", w);
			mxc_json_add_i64(scale, "height", h);
			json_object_object_add(args, "scale", scale);
		} else if (c == 'm' && mxc_parse_u64(optarg, 100000, &edge) == 0) {
			mxc_json_add_i64(args, "max_edge", (int64_t)edge);
		} else if (c == 'r' && (region = mxc_cli_parse_region(optarg))) {
			json_object_object_add(args, "region", region);
		} else if (c == 'j') {
			cli->json = true;
		} else {
			bad = true;
		}
	}
	/* Inside a session, its own screen by default. */
	const char *id = argc - optind == 1 ? argv[optind] : getenv("MXC_SESSION");
	if (bad || argc - optind > 1 || !id) {
		json_object_put(args);
		return usage_error(use);
	}
	if (!output && isatty(STDOUT_FILENO)) {
		json_object_put(args);
		fprintf(stderr, "mxc: not writing a PNG to a terminal; use -o FILE or a pipe\n");
		return MXC_EXIT_USAGE;
	}
	struct mxc_error err = { 0 };
	struct json_object *resp, *res;
	mxc_json_add_str(args, "session", id);
	int fd = -1;
	size_t n_fds = 0;
	if (mxc_conn_request(cli->socket, "screenshot", args, NULL, 0, &resp, &res, &fd, 1, &n_fds,
			     &err) < 0)
		return fail(&err);
	/*
	 * The PNG arrives as a sealed memfd: mapped, not read, since its file offset is shared
	 * with whoever wrote it. The seals guarantee its size cannot change under the mapping.
	 */
	int64_t bytes = num(res, "bytes");
	struct stat st;
	void *png = MAP_FAILED;
	size_t len = 0;
	if (n_fds == 1 && bytes > 0 && fstat(fd, &st) == 0 && st.st_size == bytes) {
		len = (size_t)bytes;
		png = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	}
	mxc_close(fd);
	int r = 0;
	if (png == MAP_FAILED) {
		json_object_put(resp);
		fprintf(stderr, "mxc: the screenshot could not be read\n");
		return MXC_EXIT_FAILURE;
	}
	/* Written by this process, as the caller: the daemon never writes into a user's files. */
	int out = output ? open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644)
			 : STDOUT_FILENO;
	if (out < 0 || mxc_write_all(out, png, len) < 0) {
		fprintf(stderr, "mxc: cannot write '%s': %s\n", output ? output : "stdout",
			strerror(errno));
		r = MXC_EXIT_FAILURE;
	} else if (output) {
		if (cli->json) {
			mxc_json_add_str(res, "file", output);
			print_json(res);
		} else {
			printf("%s: %" PRId64 "x%" PRId64 " PNG, %zu bytes\n", output,
			       num(res, "width"), num(res, "height"), len);
		}
	}
	if (output && out >= 0)
		close(out);
	munmap(png, len);
	json_object_put(resp);
	return r;
}

/* ---- audit ---- */

static int audit(struct mxc_cli *cli, int argc, char **argv)
{
	static const char use[] =
		"usage: mxc audit [--agent NAME] [--session ID] [--limit N] [--verify] [--json]";
	static const struct option options[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "session", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "verify", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args = json_object_new_object();
	bool verify = false;
	int c;
	uint64_t limit;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'a')
			mxc_json_add_str(args, "agent", optarg);
		else if (c == 's')
			mxc_json_add_str(args, "session", optarg);
		else if (c == 'l' && mxc_parse_u64(optarg, 1000000, &limit) == 0)
			mxc_json_add_i64(args, "limit", (int64_t)limit);
		else if (c == 'v')
			verify = true;
		else if (c == 'j')
			cli->json = true;
		else {
			json_object_put(args);
			return usage_error(use);
		}
	}
	if (optind != argc) {
		json_object_put(args);
		return usage_error(use);
	}
	struct json_object *resp, *res;
	if (verify) {
		json_object_put(args);
		int r = call(cli, "audit.verify", NULL, &resp, &res);
		if (r)
			return r;
		bool intact = false;
		mxc_json_get_bool(res, "intact", &intact, NULL);
		if (cli->json)
			print_json(res);
		else if (intact)
			printf("audit log intact: %" PRId64 " rows, hash chain verified\n",
			       num(res, "rows"));
		else
			printf("audit log BROKEN at row %" PRId64 ": %s\n", num(res, "first_bad"),
			       str(res, "reason"));
		json_object_put(resp);
		return intact ? 0 : MXC_EXIT_FAILURE;
	}
	struct json_object *rows = NULL;
	int r = call(cli, "audit.list", args, &resp, &res);
	if (r)
		return r;
	json_object_object_get_ex(res, "rows", &rows);
	if (cli->json) {
		print_json(rows);
	} else {
		static const char *const h[] = { "TIME",   "ACTOR",  "AGENT",  "SESSION",
						 "ACTION", "RESULT", "DETAILS" };
		struct mxc_table *t = mxc_table_new(7, h);
		for (size_t i = 0; t && i < json_object_array_length(rows); i++) {
			struct json_object *a = json_object_array_get_idx(rows, i), *d = NULL;
			json_object_object_get_ex(a, "details", &d);
			const char *details = d && json_object_object_length(d) ? mxc_json_str(d, NULL)
										: NULL;
			const char *cells[] = { str(a, "time"),    str(a, "actor"),  str(a, "agent"),
						str(a, "session"), str(a, "action"), str(a, "result"),
						details };
			mxc_table_add(t, cells);
		}
		if (t)
			mxc_table_print(t, stdout);
		mxc_table_free(t);
	}
	json_object_put(resp);
	return 0;
}

static int version(struct mxc_cli *cli, int argc, char **argv)
{
	if (simple_options(cli, argc, argv) < 0 || argc != optind)
		return usage_error("usage: mxc version [--json]");
	struct json_object *resp, *res;
	int r = call(cli, "version", NULL, &resp, &res);
	if (r)
		return r;
	if (cli->json)
		print_json(res);
	else
		printf("mxc %s, mxc-sessiond %s (protocol %" PRId64 ")\n", MXC_CLI_VERSION,
		       str(res, "version"), num(res, "protocol"));
	json_object_put(resp);
	return 0;
}

const struct mxc_cli_command mxc_cli_commands[] = {
	/* sorted by name: looked up by binary search */
	{ "agent add", agent_add, "NAME [--policy FILE]",
	  "create a dedicated account for an agent (and its default policy)" },
	{ "agent list", agent_list, "", "list agents" },
	{ "agent remove", agent_remove, "NAME [--keep-home]", "remove an agent's account" },
	{ "agent show", agent_show, "NAME", "show one agent" },
	{ "approve", mxc_cli_approve, "ID", "approve a request (as the session's owner or an admin)" },
	{ "audit", audit, "[--agent A] [--session S] [--limit N] [--verify]",
	  "list the audit log, or verify its hash chain" },
	{ "clipboard", mxc_cli_clipboard,
	  "get|set|pull|push [ID] [--mime M] [-o FILE | -i FILE | TEXT]",
	  "a session's clipboard: read or set it, or carry it to or from your own" },
	{ "deny", mxc_cli_deny, "ID [--reason TEXT]", "deny a request" },
	{ "doctor", mxc_cli_doctor, "[--json]", "what this host can enforce" },
	{ "exec", exec_cmd, "[--cwd DIR] ID [--] CMD ARGS...",
	  "run a command in a session as the agent" },
	{ "handoff", mxc_cli_handoff, "send|attention|list|accept|give ...",
	  "hand documents between a session and its owner; ask for a human" },
	{ "input", mxc_cli_input, "[ID] ACTION ARGS...",
	  "drive a session: click, move, drag, scroll, key, type, ..." },
	{ "launch", launch, "[--cwd DIR] [ID] -- CMD ARGS...",
	  "start a program in a session as the agent, detached" },
	{ "mcp", mxc_cli_mcp, "[SESSION] [--max-edge N]",
	  "serve a session's computer-use tools over MCP (stdio)" },
	{ "policy", mxc_cli_policy, "check|show FILE",
	  "validate a policy file, or print its effective form" },
	{ "requests", mxc_cli_requests, "[--session ID] [--all]",
	  "requests waiting for a decision: transfers, documents, attention" },
	{ "run", mxc_cli_run, "CONFIG.json",
	  "run an MXC configuration one-shot: a fresh agent, its session, the process" },
	{ "screenshot", screenshot, "[ID] [-o FILE] [--scale WxH | --max-edge N] [--region X,Y,W,H]",
	  "save a PNG of a session's screen" },
	{ "session list", session_list, "[--all] [--agent NAME]", "list sessions" },
	{ "session show", session_show, "ID", "show one session" },
	{ "session start", session_start, "AGENT [--size WxH] [--policy FILE] [-- CMD ARGS...]",
	  "start a session; prints its id" },
	{ "session stop", session_stop, "ID", "stop a session" },
	{ "version", version, "", "show client and daemon versions" },
	{ "view", mxc_cli_view, "ID [--port N | --listen PATH] [--control]",
	  "serve a live view of a session's screen to one VNC client" },
};
const size_t mxc_cli_n_commands = MXC_ARRAY_SIZE(mxc_cli_commands);
