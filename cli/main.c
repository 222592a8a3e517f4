/* mxc: the command-line client of mxc-sessiond. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>

#include "cli.h"

void mxc_cli_help(FILE *f)
{
	fprintf(f, "Usage: mxc [--socket PATH] COMMAND [ARGS...]\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < mxc_cli_n_commands; i++) {
		char line[128];
		snprintf(line, sizeof(line), "%s %s", mxc_cli_commands[i].name,
			 mxc_cli_commands[i].args);
		fprintf(f, "  %-62s %s\n", line, mxc_cli_commands[i].help);
	}
	fprintf(f, "\n"
		   "Options:\n"
		   "  --socket PATH   the daemon's socket (default $MXC_SOCKET, else %s)\n"
		   "  --json          machine-readable output (also accepted after a command)\n"
		   "  -h, --help      show this help\n"
		   "  --version       show the version\n"
		   "\n"
		   "mxc exec exits with the command's status, or 125 if mxc itself failed.\n",
		MXC_SOCKET_PATH);
}

static int cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct mxc_cli_command *)elem)->name);
}

static const struct mxc_cli_command *find(const char *name)
{
	return bsearch(name, mxc_cli_commands, mxc_cli_n_commands, sizeof(mxc_cli_commands[0]),
		       cmp);
}

int main(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_JSON, OPT_VERSION };
	static const struct option options[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct mxc_cli cli = { 0 };
	int c;
	/* Only options before the command are global; the rest belong to the command. */
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			cli.socket = optarg;
			break;
		case OPT_JSON:
			cli.json = true;
			break;
		case 'h':
			mxc_cli_help(stdout);
			return MXC_EXIT_OK;
		case OPT_VERSION:
			printf("mxc %s\n", MXC_CLI_VERSION);
			return MXC_EXIT_OK;
		default:
			fprintf(stderr, "Try 'mxc --help'.\n");
			return MXC_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		mxc_cli_help(stderr);
		return MXC_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);

	char two[128];
	const struct mxc_cli_command *cmd = NULL;
	int used = 1;
	if (optind + 1 < argc) {
		snprintf(two, sizeof(two), "%s %s", argv[optind], argv[optind + 1]);
		cmd = find(two);
		used = 2;
	}
	if (!cmd) {
		cmd = find(argv[optind]);
		used = 1;
	}
	if (!cmd) {
		fprintf(stderr, "mxc: unknown command '%s'", argv[optind]);
		if (optind + 1 < argc)
			fprintf(stderr, " '%s'", argv[optind + 1]);
		fprintf(stderr, "\nTry 'mxc --help'.\n");
		return MXC_EXIT_USAGE;
	}
	int first = optind + used - 1;
	/* Only right after the command: "mxc exec ID ls -h" passes -h on to ls. */
	if (first + 1 < argc &&
	    (strcmp(argv[first + 1], "-h") == 0 || strcmp(argv[first + 1], "--help") == 0)) {
		printf("Usage: mxc %s %s\n  %s\n", cmd->name, cmd->args, cmd->help);
		return MXC_EXIT_OK;
	}
	return cmd->fn(&cli, argc - first, argv + first);
}
