/*
 * The broker's commands: requests, approve, deny, and handoff (send, list, accept, give,
 * attention). A transfer the policy says to ask about comes back as a pending request; the
 * requester's command then waits for the owner's decision on the same connection.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "handoff.h"
#include "json.h"
#include "table.h"

static const char *str(struct json_object *o, const char *key)
{
	const char *s = NULL;
	mxc_json_get_str(o, key, 1 << 20, &s, NULL);
	return s;
}

static int64_t num(struct json_object *o, const char *key)
{
	int64_t v = -1;
	mxc_json_get_i64(o, key, INT64_MIN, INT64_MAX, &v, NULL);
	return v;
}

/*
 * After an answer *res on connection c: if it is a pending request, waits for the decision,
 * replacing *resp and *res with request.wait's answer (and up to max_fds descriptors).
 */
static int await(struct mxc_conn *c, struct json_object **resp, struct json_object **res,
		 int *fds, size_t max_fds, size_t *n_fds, struct mxc_error *err)
{
	const char *id = str(*res, "request");
	if (!id || strcmp(str(*res, "state") ? str(*res, "state") : "", "pending") != 0)
		return 0;
	int64_t left = (num(*res, "expires_at") - (int64_t)(mxc_now_real_ns() / 1000000)) / 1000;
	fprintf(stderr,
		"mxc: the session's policy asks its owner to approve this: request %s\n"
		"mxc: waiting for 'mxc approve %s' or 'mxc deny %s' (expires in %" PRId64 " s)\n",
		id, id, id, left > 0 ? left : 0);
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "id", id);
	json_object_put(*resp);
	*resp = *res = NULL;
	int r = mxc_conn_send(c, "request.wait", args, NULL, 0, err);
	if (r == 0)
		r = mxc_conn_recv(c, resp, res, fds, max_fds, n_fds, err);
	return r;
}

int mxc_cli_transfer(struct mxc_cli *cli, const char *verb, struct json_object *args,
		     const int *fds, size_t n_fds, struct json_object **ret_resp,
		     struct json_object **ret_res, int *ret_fds, size_t max_fds, size_t *ret_n_fds,
		     struct mxc_error *err)
{
	struct mxc_conn c = { .fd = -1 };
	struct json_object *resp = NULL, *res = NULL;
	size_t n = 0;
	int r = mxc_conn_open(&c, cli->socket, err);
	if (r == 0)
		r = mxc_conn_send(&c, verb, args, fds, n_fds, err);
	else
		json_object_put(args);
	if (r == 0)
		r = mxc_conn_recv(&c, &resp, &res, ret_fds, max_fds, &n, err);
	if (r == 0)
		r = await(&c, &resp, &res, ret_fds, max_fds, &n, err);
	mxc_conn_close(&c);
	if (r < 0) {
		json_object_put(resp);
		return r;
	}
	*ret_resp = resp;
	*ret_res = res;
	if (ret_n_fds)
		*ret_n_fds = n;
	return 0;
}

static int fail(const struct mxc_error *err)
{
	fprintf(stderr, "mxc: %s\n", err->msg);
	return MXC_EXIT_FAILURE;
}

/* Options shared by the listing and deciding commands. */
static int parse(struct mxc_cli *cli, int argc, char **argv, const char *short_opts,
		 const struct option *options, int (*opt)(int c, void *data), void *data,
		 const char *usage)
{
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, short_opts, options, NULL)) != -1) {
		if (c == 'j')
			cli->json = true;
		else if (c == '?' || !opt || opt(c, data) < 0) {
			fprintf(stderr, "usage: mxc %s\n", usage);
			return -1;
		}
	}
	return 0;
}

/* ---- requests, approve, deny ---- */

struct list_opts {
	const char *session;
	bool all;
	const char *kind;
};

static int list_opt(int c, void *data)
{
	struct list_opts *o = data;
	if (c == 's')
		o->session = optarg;
	else if (c == 'a')
		o->all = true;
	else
		return -1;
	return 0;
}

static int list(struct mxc_cli *cli, int argc, char **argv, const char *kind, const char *usage)
{
	static const struct option options[] = {
		{ "session", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct list_opts o = { .kind = kind };
	if (parse(cli, argc, argv, "", options, list_opt, &o, usage) < 0 || optind != argc)
		return MXC_EXIT_USAGE;
	struct json_object *args = json_object_new_object(), *resp, *res, *a;
	if (o.session)
		mxc_json_add_str(args, "session", o.session);
	if (o.all)
		mxc_json_add_bool(args, "all", true);
	struct mxc_error err = { 0 };
	if (mxc_conn_request(cli->socket, "request.list", args, NULL, 0, &resp, &res, NULL, 0, NULL,
			     &err) < 0)
		return fail(&err);
	json_object_object_get_ex(res, "requests", &a);
	struct json_object *kept = json_object_new_array();
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *r = json_object_array_get_idx(a, i);
		if (!kind || strcmp(str(r, "kind") ? str(r, "kind") : "", kind) == 0)
			json_object_array_add(kept, json_object_get(r));
	}
	if (cli->json) {
		printf("%s\n", mxc_json_pretty(kept));
	} else {
		static const char *const headers[] = { "ID",	"KIND",	   "STATE", "SESSION",
						       "AGENT", "WHAT", "EXPIRES" };
		struct mxc_table *t = mxc_table_new(7, headers);
		for (size_t i = 0; i < json_object_array_length(kept); i++) {
			struct json_object *r = json_object_array_get_idx(kept, i);
			char what[1024], expires[32];
			const char *dir = str(r, "direction");
			if (str(r, "name"))
				snprintf(what, sizeof(what), "%s %s (%s, %" PRId64 " bytes, sha256 %.16s)",
					 dir ? dir : "", str(r, "name"), str(r, "mime"), num(r, "bytes"),
					 str(r, "sha256"));
			else if (str(r, "mime"))
				snprintf(what, sizeof(what), "%s %s, %" PRId64 " bytes, sha256 %.16s%s%s",
					 dir ? dir : "", str(r, "mime"), num(r, "bytes"), str(r, "sha256"),
					 str(r, "preview") ? ": " : "",
					 str(r, "preview") ? str(r, "preview") : "");
			else
				snprintf(what, sizeof(what), "%s", str(r, "note") ? str(r, "note") : "");
			if (str(r, "note") && str(r, "mime")) {
				size_t len = strlen(what);
				snprintf(what + len, sizeof(what) - len, " - %s", str(r, "note"));
			}
			mxc_format_local_ms(num(r, "expires_at"), expires);
			const char *cells[] = { str(r, "id"),	   str(r, "kind"),  str(r, "state"),
						str(r, "session"), str(r, "agent"), what,
						expires };
			mxc_table_add(t, cells);
		}
		mxc_table_print(t, stdout);
		mxc_table_free(t);
	}
	json_object_put(kept);
	json_object_put(resp);
	return MXC_EXIT_OK;
}

int mxc_cli_requests(struct mxc_cli *cli, int argc, char **argv)
{
	return list(cli, argc, argv, NULL, "requests [--session ID] [--all] [--json]");
}

static int reason_opt(int c, void *data)
{
	if (c != 'r')
		return -1;
	*(const char **)data = optarg;
	return 0;
}

static int decide(struct mxc_cli *cli, int argc, char **argv, const char *verb)
{
	static const struct option options[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL;
	bool deny = strcmp(verb, "request.deny") == 0;
	const char *usage = deny ? "deny ID [--reason TEXT]" : "approve ID";
	if (parse(cli, argc, argv, "", options, deny ? reason_opt : NULL, &reason, usage) < 0 ||
	    optind + 1 != argc)
		return MXC_EXIT_USAGE;
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "id", argv[optind]);
	if (reason)
		mxc_json_add_str(args, "reason", reason);
	struct mxc_error err = { 0 };
	if (mxc_conn_request(cli->socket, verb, args, NULL, 0, &resp, &res, NULL, 0, NULL, &err) < 0)
		return fail(&err);
	if (cli->json)
		printf("%s\n", mxc_json_pretty(res));
	else
		printf("request %s: %s\n", str(res, "id"), str(res, "state"));
	json_object_put(resp);
	return MXC_EXIT_OK;
}

int mxc_cli_approve(struct mxc_cli *cli, int argc, char **argv)
{
	return decide(cli, argc, argv, "request.approve");
}

int mxc_cli_deny(struct mxc_cli *cli, int argc, char **argv)
{
	return decide(cli, argc, argv, "request.deny");
}

/* ---- handoff ---- */

/* Opens a document to pass along: a regular file, read-only, never through a final symlink. */
static int open_document(const char *path, struct mxc_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return mxc_error_errno(err, -errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mxc_error_set(err, -EINVAL, "'%s' is not a regular file", path);
	}
	return fd;
}

static void print_result(struct mxc_cli *cli, struct json_object *res, const char *fmt, ...)
	MXC_PRINTF(3, 4);
static void print_result(struct mxc_cli *cli, struct json_object *res, const char *fmt, ...)
{
	if (cli->json) {
		printf("%s\n", mxc_json_pretty(res));
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static int note_opt(int c, void *data)
{
	const char **o = data;
	if (c == 'n')
		o[0] = optarg;
	else if (c == 'o')
		o[1] = optarg;
	else if (c == 'r')
		o[2] = optarg;
	else if (c == 'e')
		o[3] = optarg;
	else
		return -1;
	return 0;
}

static const struct option handoff_options[] = {
	{ "note", required_argument, NULL, 'n' },
	{ "output", required_argument, NULL, 'o' },
	{ "reason", required_argument, NULL, 'r' },
	{ "expires-in", required_argument, NULL, 'e' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

static int add_expiry(struct json_object *args, const char *s)
{
	uint64_t v;
	if (!s)
		return 0;
	if (mxc_parse_u64(s, 300, &v) < 0 || v == 0) {
		json_object_put(args);
		fprintf(stderr, "mxc: --expires-in: 1 to 300 seconds\n");
		return -1;
	}
	mxc_json_add_i64(args, "expires_in", (int64_t)v);
	return 0;
}

static int handoff_send(struct mxc_cli *cli, const char **o, int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: mxc handoff send FILE [--note TEXT]\n");
		return MXC_EXIT_USAGE;
	}
	struct mxc_error err = { 0 };
	char name[MXC_HANDOFF_NAME_MAX + 1];
	int fd = open_document(argv[0], &err);
	if (fd < 0)
		return fail(&err);
	mxc_handoff_name_sanitize(argv[0], name, sizeof(name));
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "name", name);
	if (getenv("MXC_SESSION"))
		mxc_json_add_str(args, "session", getenv("MXC_SESSION"));
	if (o[0])
		mxc_json_add_str(args, "note", o[0]);
	if (add_expiry(args, o[3]) < 0) {
		close(fd);
		return MXC_EXIT_USAGE;
	}
	int r = mxc_conn_request(cli->socket, "handoff.send", args, &fd, 1, &resp, &res, NULL, 0,
				 NULL, &err);
	close(fd);
	if (r < 0)
		return fail(&err);
	print_result(cli, res, "request %s: '%s' (%" PRId64 " bytes) waits for the owner to accept it\n",
		     str(res, "request"), str(res, "name"), num(res, "bytes"));
	json_object_put(resp);
	return MXC_EXIT_OK;
}

static int handoff_give(struct mxc_cli *cli, const char **o, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mxc handoff give ID FILE\n");
		return MXC_EXIT_USAGE;
	}
	struct mxc_error err = { 0 };
	char name[MXC_HANDOFF_NAME_MAX + 1];
	int fd = open_document(argv[1], &err);
	if (fd < 0)
		return fail(&err);
	mxc_handoff_name_sanitize(argv[1], name, sizeof(name));
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "session", argv[0]);
	mxc_json_add_str(args, "name", name);
	if (add_expiry(args, o[3]) < 0) {
		close(fd);
		return MXC_EXIT_USAGE;
	}
	int r = mxc_cli_transfer(cli, "handoff.give", args, &fd, 1, &resp, &res, NULL, 0, NULL,
				 &err);
	close(fd);
	if (r < 0)
		return fail(&err);
	print_result(cli, res, "'%s' is in the agent's ~/Inbox as '%s'\n", name, str(res, "name"));
	json_object_put(resp);
	return MXC_EXIT_OK;
}

static int handoff_accept(struct mxc_cli *cli, const char **o, int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: mxc handoff accept ID [-o DIR]\n");
		return MXC_EXIT_USAGE;
	}
	const char *dir = o[1] ? o[1] : ".";
	struct mxc_error err = { 0 };
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fprintf(stderr, "mxc: cannot open directory '%s': %s\n", dir, strerror(errno));
		return MXC_EXIT_FAILURE;
	}
	struct mxc_conn c = { .fd = -1 };
	struct json_object *args = json_object_new_object(), *resp = NULL, *res = NULL;
	mxc_json_add_str(args, "id", argv[0]);
	int fd = -1, r;
	size_t n = 0;
	char final[MXC_HANDOFF_NAME_MAX + 1];
	if ((r = mxc_conn_open(&c, cli->socket, &err)) < 0) {
		json_object_put(args);
		goto out;
	}
	if ((r = mxc_conn_send(&c, "handoff.accept", args, NULL, 0, &err)) < 0 ||
	    (r = mxc_conn_recv(&c, &resp, &res, &fd, 1, &n, &err)) < 0)
		goto out;
	const char *name = str(res, "name"), *sha = str(res, "sha256"), *origin = str(res, "origin");
	int64_t bytes = num(res, "bytes");
	if (n != 1 || !name || !sha || bytes < 0) {
		r = mxc_error_set(&err, -EBADMSG, "the daemon's answer is incomplete");
		goto out;
	}
	/* The name came from the agent: the daemon checked it, and so does the writer. */
	r = mxc_handoff_write(dirfd, name, fd, (uint64_t)bytes, sha, origin, final, sizeof(final),
			      &err);
	if (r < 0)
		goto out;
	if (r == 1)
		fprintf(stderr, "mxc: '%s' does not keep extended attributes; the origin is not "
				"recorded on the file\n",
			dir);
	struct json_object *done = json_object_new_object(), *dresp = NULL, *dres = NULL;
	mxc_json_add_str(done, "id", argv[0]);
	mxc_json_add_str(done, "name", final);
	if ((r = mxc_conn_send(&c, "handoff.done", done, NULL, 0, &err)) < 0 ||
	    (r = mxc_conn_recv(&c, &dresp, &dres, NULL, 0, NULL, &err)) < 0)
		goto out;
	json_object_put(dresp);
	mxc_json_add_str(res, "file", final);
	print_result(cli, res, "%s/%s (%" PRId64 " bytes, sha256 %s, from agent %s)\n", dir, final,
		     bytes, sha, str(res, "agent"));
out:
	mxc_conn_close(&c);
	mxc_close(fd);
	close(dirfd);
	json_object_put(resp);
	return r < 0 ? fail(&err) : MXC_EXIT_OK;
}

static int handoff_attention(struct mxc_cli *cli, const char **o, int argc, char **argv)
{
	if (argc != 0 || !o[2]) {
		fprintf(stderr, "usage: mxc handoff attention --reason TEXT\n");
		return MXC_EXIT_USAGE;
	}
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "reason", o[2]);
	if (getenv("MXC_SESSION"))
		mxc_json_add_str(args, "session", getenv("MXC_SESSION"));
	if (add_expiry(args, o[3]) < 0)
		return MXC_EXIT_USAGE;
	struct mxc_error err = { 0 };
	if (mxc_conn_request(cli->socket, "handoff.attention", args, NULL, 0, &resp, &res, NULL, 0,
			     NULL, &err) < 0)
		return fail(&err);
	print_result(cli, res, "request %s: the owner has been asked for\n", str(res, "request"));
	json_object_put(resp);
	return MXC_EXIT_OK;
}

int mxc_cli_handoff(struct mxc_cli *cli, int argc, char **argv)
{
	static const char usage[] =
		"usage: mxc handoff send FILE [--note TEXT]        (inside a session)\n"
		"       mxc handoff attention --reason TEXT         (inside a session)\n"
		"       mxc handoff list [--session ID] [--all]\n"
		"       mxc handoff accept ID [-o DIR]\n"
		"       mxc handoff give ID FILE\n";
	/* argv[0] is "handoff"; its action word follows the options. */
	if (argc < 2) {
		fputs(usage, stderr);
		return MXC_EXIT_USAGE;
	}
	const char *action = argv[1];
	if (strcmp(action, "list") == 0)
		return list(cli, argc - 1, argv + 1, "handoff",
			    "handoff list [--session ID] [--all] [--json]");
	const char *o[4] = { NULL };
	if (parse(cli, argc - 1, argv + 1, "o:", handoff_options, note_opt, o, "handoff ...") < 0)
		return MXC_EXIT_USAGE;
	int rest = argc - 1 - optind;
	char **args = argv + 1 + optind;
	if (strcmp(action, "send") == 0)
		return handoff_send(cli, o, rest, args);
	if (strcmp(action, "give") == 0)
		return handoff_give(cli, o, rest, args);
	if (strcmp(action, "accept") == 0)
		return handoff_accept(cli, o, rest, args);
	if (strcmp(action, "attention") == 0)
		return handoff_attention(cli, o, rest, args);
	fputs(usage, stderr);
	return MXC_EXIT_USAGE;
}
