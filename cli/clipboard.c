/*
 * mxc clipboard get|set|pull|push.
 *
 * get and set act on a session's clipboard with the data on standard input/output or in a
 * file; pull and push carry it between the session and the caller's own display, running as
 * the caller: pull takes the agent's clipboard and owns the caller's CLIPBOARD selection with
 * it (in the background until another client takes the selection, as xclip does); push reads
 * the caller's clipboard and sets the agent's. From the main socket every one of these is a
 * crossing the daemon checks against the session's policy; one the policy asks about waits
 * for the owner's decision. Data travels to and from the daemon as sealed memfds; what comes
 * out of a session and goes to a terminal is escaped, since it is the agent's to choose.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "clipboard.h"
#include "display.h"
#include "fs.h"
#include "json.h"

#define MAX_BYTES MXC_CLIPBOARD_MAX_BYTES

static int usage(void)
{
	fprintf(stderr,
		"usage: mxc clipboard get [ID] [--mime M] [-o FILE]\n"
		"       mxc clipboard set [ID] [--mime M] [TEXT | -i FILE]\n"
		"       mxc clipboard pull ID [--mime M] [-o FILE | -o -] [--display D] [--foreground]\n"
		"       mxc clipboard push ID [--mime M] [-i FILE | -i -] [--display D]\n"
		"M is text/plain (the default) or image/png. Without TEXT or -i, set reads standard\n"
		"input. pull and push use the caller's own display ($DISPLAY) unless -o or -i say\n"
		"otherwise.\n");
	return MXC_EXIT_USAGE;
}

struct opts {
	const char *mime, *output, *input, *display;
	uint64_t expires; /* seconds, 0: the daemon's default */
	bool foreground;
};

/* Text for a terminal: control characters (other than newline and tab) made visible. */
static void print_escaped(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
}

static int sealed_copy(const void *data, size_t len)
{
	int fd = memfd_create("mxc-clipboard", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || mxc_write_all(fd, data, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		mxc_close(fd);
		return -1;
	}
	return fd;
}

/* The data of a memfd from the daemon, mapped (its offset is shared with its writer). */
static int map_data(struct json_object *res, int fd, size_t n_fds, uint8_t **ret, size_t *ret_len)
{
	int64_t bytes = -1;
	struct stat st;
	mxc_json_get_i64(res, "bytes", 0, MAX_BYTES, &bytes, NULL);
	if (n_fds != 1 || bytes < 0 || fstat(fd, &st) < 0 || st.st_size != bytes)
		return -EBADMSG;
	void *p = bytes ? mmap(NULL, (size_t)bytes, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (p == MAP_FAILED)
		return -errno;
	*ret = p;
	*ret_len = (size_t)bytes;
	return 0;
}

/* Writes data to output ("-" or NULL: standard output, escaped on a terminal). */
static int write_out(struct mxc_cli *cli, struct json_object *res, const struct opts *o,
		     const uint8_t *p, size_t len)
{
	if (o->output && strcmp(o->output, "-") != 0) {
		int out = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
		if (out < 0 || mxc_write_all(out, p, len) < 0) {
			fprintf(stderr, "mxc: cannot write '%s': %s\n", o->output, strerror(errno));
			mxc_close(out);
			return MXC_EXIT_FAILURE;
		}
		close(out);
		if (cli->json) {
			mxc_json_add_str(res, "file", o->output);
			printf("%s\n", mxc_json_pretty(res));
		}
		return MXC_EXIT_OK;
	}
	if (isatty(STDOUT_FILENO)) {
		if (strcmp(o->mime, "text/plain") != 0) {
			fprintf(stderr, "mxc: not writing %s to a terminal; use -o FILE\n", o->mime);
			return MXC_EXIT_USAGE;
		}
		print_escaped(p, len);
		return MXC_EXIT_OK;
	}
	return mxc_write_all(STDOUT_FILENO, p, len) < 0 ? MXC_EXIT_FAILURE : MXC_EXIT_OK;
}

static int connect_display(const struct opts *o, struct mxc_display **d, struct mxc_clipboard **c,
			   struct mxc_error *err)
{
	const char *name = o->display ? o->display : getenv("DISPLAY");
	if (!name || !*name)
		return mxc_error_set(err, -ENXIO, "no display to use: set $DISPLAY or --display, or "
						  "use -o/-i for files and standard input/output");
	int r = mxc_display_connect(name, d, err);
	if (r == 0 && (r = mxc_clipboard_create(*d, c, err)) < 0) {
		mxc_display_destroy(*d);
		*d = NULL;
	}
	return r < 0 ? mxc_error_prefix(err, "display '%s'", name) : 0;
}

/*
 * pull: own the caller's clipboard with the data, then serve it from a background process
 * until another client takes the selection (or in the foreground with --foreground).
 */
static int own_selection(struct mxc_cli *cli, struct json_object *res, const struct opts *o,
			 const uint8_t *p, size_t len, const char *id)
{
	struct mxc_error err = { 0 };
	struct mxc_display *d = NULL;
	struct mxc_clipboard *c = NULL;
	if (connect_display(o, &d, &c, &err) < 0 || mxc_clipboard_set(c, o->mime, p, len, &err) < 0) {
		fprintf(stderr, "mxc: %s\n", err.msg);
		mxc_clipboard_destroy(c);
		mxc_display_destroy(d);
		return MXC_EXIT_FAILURE;
	}
	if (cli->json)
		printf("%s\n", mxc_json_pretty(res));
	else
		fprintf(stderr, "mxc: your clipboard holds %zu bytes of %s from session %s\n", len,
			o->mime, id);
	fflush(stdout);
	if (!o->foreground) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("mxc: fork");
			return MXC_EXIT_FAILURE;
		}
		if (pid > 0)
			_exit(MXC_EXIT_OK); /* the child holds the connection and the selection */
		setsid();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
	}
	int r = mxc_clipboard_serve_until_cleared(c, -1, &err);
	mxc_clipboard_destroy(c);
	mxc_display_destroy(d);
	return r < 0 && r != -ECONNRESET ? MXC_EXIT_FAILURE : MXC_EXIT_OK;
}

/* The arguments every clipboard verb takes. */
static struct json_object *clip_args(const char *id, const struct opts *o)
{
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "session", id);
	mxc_json_add_str(args, "mime", o->mime);
	if (o->expires)
		mxc_json_add_i64(args, "expires_in", (int64_t)o->expires);
	return args;
}

static int do_get(struct mxc_cli *cli, const char *id, const struct opts *o, bool pull)
{
	struct json_object *args = clip_args(id, o), *resp, *res;
	struct mxc_error err = { 0 };
	int fd = -1;
	size_t n_fds = 0;
	if (mxc_cli_transfer(cli, "clipboard_get", args, NULL, 0, &resp, &res, &fd, 1, &n_fds,
			     &err) < 0) {
		fprintf(stderr, "mxc: %s\n", err.msg);
		return MXC_EXIT_FAILURE;
	}
	uint8_t *p = NULL;
	size_t len = 0;
	int r = map_data(res, fd, n_fds, &p, &len);
	if (r < 0)
		fprintf(stderr, "mxc: the clipboard data could not be read\n");
	else if (pull && !o->output)
		r = own_selection(cli, res, o, p, len, id);
	else
		r = write_out(cli, res, o, p, len);
	if (p)
		munmap(p, len);
	mxc_close(fd);
	json_object_put(resp);
	return r < 0 ? MXC_EXIT_FAILURE : r;
}

/* The data to set: TEXT, a file, standard input, or (push) the caller's own clipboard. */
static int read_in(const struct opts *o, const char *text, bool push, uint8_t **ret, size_t *ret_len)
{
	struct mxc_error err = { 0 };
	if (text) {
		*ret = (uint8_t *)strdup(text);
		*ret_len = strlen(text);
		return *ret ? 0 : -ENOMEM;
	}
	if (push && !o->input) {
		struct mxc_display *d = NULL;
		struct mxc_clipboard *c = NULL;
		int r = connect_display(o, &d, &c, &err);
		if (r == 0)
			r = mxc_clipboard_get(c, o->mime, MAX_BYTES, ret, ret_len, &err);
		mxc_clipboard_destroy(c);
		mxc_display_destroy(d);
		if (r < 0)
			fprintf(stderr, "mxc: your clipboard: %s\n", err.msg);
		return r;
	}
	bool in_stdin = !o->input || strcmp(o->input, "-") == 0;
	char *data = NULL;
	int r = in_stdin ? mxc_read_fd(STDIN_FILENO, MAX_BYTES, &data, ret_len)
			 : mxc_read_file(o->input, MAX_BYTES, &data, ret_len);
	if (r < 0) {
		fprintf(stderr, "mxc: cannot read %s: %s\n", in_stdin ? "standard input" : o->input,
			r == -EFBIG ? "larger than 64 MiB" : strerror(-r));
		return r;
	}
	*ret = (uint8_t *)data;
	return 0;
}

static int do_set(struct mxc_cli *cli, const char *id, const struct opts *o, const char *text,
		  bool push)
{
	uint8_t *data = NULL;
	size_t len = 0;
	if (read_in(o, text, push, &data, &len) < 0)
		return MXC_EXIT_FAILURE;
	int fd = sealed_copy(data, len);
	free(data);
	if (fd < 0) {
		perror("mxc: memfd");
		return MXC_EXIT_FAILURE;
	}
	struct json_object *args = clip_args(id, o), *resp, *res;
	struct mxc_error err = { 0 };
	int r = mxc_cli_transfer(cli, "clipboard_set", args, &fd, 1, &resp, &res, NULL, 0, NULL, &err);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "mxc: %s\n", err.msg);
		return MXC_EXIT_FAILURE;
	}
	if (cli->json)
		printf("%s\n", mxc_json_pretty(res));
	else if (push)
		fprintf(stderr, "mxc: session %s's clipboard holds %zu bytes of %s\n", id, len, o->mime);
	json_object_put(resp);
	return MXC_EXIT_OK;
}

int mxc_cli_clipboard(struct mxc_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "mime", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		{ "display", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "expires-in", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .mime = "text/plain" };
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:i:", options, NULL)) != -1) {
		switch (c) {
		case 'm': o.mime = optarg; break;
		case 'o': o.output = optarg; break;
		case 'i': o.input = optarg; break;
		case 'd': o.display = optarg; break;
		case 'f': o.foreground = true; break;
		case 'e':
			if (mxc_parse_u64(optarg, 300, &o.expires) < 0 || o.expires == 0) {
				fprintf(stderr, "mxc: --expires-in: 1 to 300 seconds\n");
				return MXC_EXIT_USAGE;
			}
			break;
		case 'j': cli->json = true; break;
		default: return usage();
		}
	}
	/* argv[0] is "clipboard"; the action word comes first among the operands. */
	if (optind >= argc)
		return usage();
	const char *action = argv[optind++];
	bool get = strcmp(action, "get") == 0, set = strcmp(action, "set") == 0;
	bool pull = strcmp(action, "pull") == 0, push = strcmp(action, "push") == 0;
	if (!get && !set && !pull && !push)
		return usage();
	const char *id = getenv("MXC_SESSION"), *text = NULL;
	int rest = argc - optind;
	if (pull || push) {
		/* A human's commands: the session is always named. */
		if (rest != 1 || (pull && o.input) || (push && o.output))
			return usage();
		id = argv[optind];
		return pull ? do_get(cli, id, &o, true) : do_set(cli, id, &o, NULL, true);
	}
	/* set: [ID] [TEXT]; inside a session a lone word is the text. */
	if (get ? rest == 1 : rest == 2 || (rest == 1 && (!id || o.input)))
		id = argv[optind++];
	if (set && optind < argc)
		text = argv[optind++];
	if (!id || optind != argc || (get && o.input) || (set && o.output) || (text && o.input) ||
	    o.display || o.foreground)
		return usage();
	return get ? do_get(cli, id, &o, false) : do_set(cli, id, &o, text, false);
}
