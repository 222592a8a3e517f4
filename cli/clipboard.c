/*
 * mxc clipboard get|set: a session's own clipboard. Data travels to and from the daemon as
 * sealed memfds; what comes out of a session and goes to a terminal is escaped, since it is
 * the agent's to choose.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "cli.h"
#include "client.h"
#include "fs.h"
#include "json.h"

#define MAX_BYTES (64u << 20)

static int usage(void)
{
	fprintf(stderr, "usage: mxc clipboard get [ID] [--mime text/plain|image/png] [-o FILE]\n"
			"       mxc clipboard set [ID] [--mime text/plain|image/png] [TEXT | -i FILE]\n"
			"Without TEXT or -i, set reads standard input.\n");
	return MXC_EXIT_USAGE;
}

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

int mxc_cli_clipboard(struct mxc_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "mime", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mime = "text/plain", *output = NULL, *input = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:i:", options, NULL)) != -1) {
		switch (c) {
		case 'm': mime = optarg; break;
		case 'o': output = optarg; break;
		case 'i': input = optarg; break;
		case 'j': cli->json = true; break;
		default: return usage();
		}
	}
	/* argv[0] is "clipboard"'s action word: get or set. */
	if (optind >= argc)
		return usage();
	bool get = strcmp(argv[optind], "get") == 0;
	if (!get && strcmp(argv[optind], "set") != 0)
		return usage();
	optind++;
	const char *id = getenv("MXC_SESSION"), *text = NULL;
	int rest = argc - optind;
	/* set: [ID] [TEXT]; inside a session a lone word is the text. */
	if (get ? rest == 1 : rest == 2 || (rest == 1 && (!id || input)))
		id = argv[optind++];
	if (!get && optind < argc)
		text = argv[optind++];
	if (!id || optind != argc || (get && input) || (!get && output) || (text && input))
		return usage();

	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "session", id);
	mxc_json_add_str(args, "mime", mime);
	struct mxc_error err = { 0 };
	int fd = -1;
	size_t n_fds = 0;
	if (!get) {
		char *data = NULL;
		size_t len = 0;
		int r = text ? 0
			     : input ? mxc_read_file(input, MAX_BYTES, &data, &len)
				     : mxc_read_fd(STDIN_FILENO, MAX_BYTES, &data, &len);
		if (r < 0) {
			json_object_put(args);
			fprintf(stderr, "mxc: cannot read %s: %s\n", input ? input : "standard input",
				r == -EFBIG ? "larger than 64 MiB" : strerror(-r));
			return MXC_EXIT_FAILURE;
		}
		fd = sealed_copy(text ? text : data, text ? strlen(text) : len);
		free(data);
		if (fd < 0) {
			json_object_put(args);
			perror("mxc: memfd");
			return MXC_EXIT_FAILURE;
		}
	}
	int sent = fd;
	if (mxc_conn_request(cli->socket, get ? "clipboard_get" : "clipboard_set", args, &sent,
			     get ? 0 : 1, &resp, &res, &fd, get ? 1 : 0, &n_fds, &err) < 0) {
		if (!get)
			mxc_close(sent);
		fprintf(stderr, "mxc: %s\n", err.msg);
		return MXC_EXIT_FAILURE;
	}
	if (!get) {
		mxc_close(fd);
		if (cli->json)
			printf("%s\n", mxc_json_pretty(res));
		json_object_put(resp);
		return MXC_EXIT_OK;
	}

	/* get: the data is a sealed memfd, mapped (its offset is shared with its writer). */
	int64_t bytes = -1;
	mxc_json_get_i64(res, "bytes", 0, MAX_BYTES, &bytes, NULL);
	struct stat st;
	void *p = NULL;
	int r = MXC_EXIT_OK;
	if (n_fds != 1 || bytes < 0 || fstat(fd, &st) < 0 || st.st_size != bytes ||
	    (bytes && (p = mmap(NULL, (size_t)bytes, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)) {
		fprintf(stderr, "mxc: the clipboard data could not be read\n");
		r = MXC_EXIT_FAILURE;
		p = NULL;
	} else if (output) {
		int out = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
		if (out < 0 || mxc_write_all(out, p, (size_t)bytes) < 0) {
			fprintf(stderr, "mxc: cannot write '%s': %s\n", output, strerror(errno));
			r = MXC_EXIT_FAILURE;
		}
		mxc_close(out);
		if (r == MXC_EXIT_OK && cli->json) {
			mxc_json_add_str(res, "file", output);
			printf("%s\n", mxc_json_pretty(res));
		}
	} else if (isatty(STDOUT_FILENO)) {
		if (strcmp(mime, "text/plain") != 0) {
			fprintf(stderr, "mxc: not writing %s to a terminal; use -o FILE\n", mime);
			r = MXC_EXIT_USAGE;
		} else {
			print_escaped(p, (size_t)bytes);
		}
	} else if (mxc_write_all(STDOUT_FILENO, p, (size_t)bytes) < 0) {
		r = MXC_EXIT_FAILURE;
	}
	if (p)
		munmap(p, (size_t)bytes);
	mxc_close(fd);
	json_object_put(resp);
	return r;
}
