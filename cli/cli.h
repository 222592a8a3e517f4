/* The mxc command-line client. */
#ifndef MXC_CLI_CLI_H
#define MXC_CLI_CLI_H

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "util.h"

#define MXC_CLI_VERSION MXC_VERSION

enum {
	MXC_EXIT_OK = 0,
	MXC_EXIT_FAILURE = 1,
	MXC_EXIT_USAGE = 2,
};

struct mxc_cli {
	const char *socket; /* NULL: $MXC_SOCKET or the default */
	bool json;
};

/* A handler gets its own argv: argv[0] is the command's last word, options follow. */
typedef int (*mxc_cli_fn)(struct mxc_cli *cli, int argc, char **argv);

struct mxc_cli_command {
	const char *name; /* one or two words: "exec", "session start" */
	mxc_cli_fn fn;
	const char *args;
	const char *help;
};

extern const struct mxc_cli_command mxc_cli_commands[];
extern const size_t mxc_cli_n_commands;

void mxc_cli_help(FILE *f);

/* mcp.c: the MCP server over stdio */
int mxc_cli_mcp(struct mxc_cli *cli, int argc, char **argv);

/* clipboard.c */
int mxc_cli_clipboard(struct mxc_cli *cli, int argc, char **argv);

/* broker.c */
int mxc_cli_requests(struct mxc_cli *cli, int argc, char **argv);
int mxc_cli_approve(struct mxc_cli *cli, int argc, char **argv);
int mxc_cli_deny(struct mxc_cli *cli, int argc, char **argv);
int mxc_cli_handoff(struct mxc_cli *cli, int argc, char **argv);
struct mxc_error;
/*
 * One request on a connection of its own, as mxc_conn_request; when the answer is a pending
 * request (the policy asks the owner), says so on standard error and waits for the decision
 * with request.wait, whose answer it returns instead.
 */
int mxc_cli_transfer(struct mxc_cli *cli, const char *verb, struct json_object *args,
		     const int *fds, size_t n_fds, struct json_object **ret_resp,
		     struct json_object **ret_res, int *ret_fds, size_t max_fds, size_t *ret_n_fds,
		     struct mxc_error *err);

/*
 * commands.c: runs cmd in session id as the agent with our stdin, stdout and stderr (through
 * pipes); returns its exit status, or 125 if it could not be run. Stops waiting, killing the
 * command, once a signal handler sets mxc_cli_interrupted (to the signal's number).
 */
int mxc_cli_exec(struct mxc_cli *cli, const char *id, char *const *cmd, const char *cwd);
extern volatile sig_atomic_t mxc_cli_interrupted;

/* run.c */
int mxc_cli_run(struct mxc_cli *cli, int argc, char **argv);

/* doctor.c */
int mxc_cli_doctor(struct mxc_cli *cli, int argc, char **argv);

/* policy.c */
int mxc_cli_policy(struct mxc_cli *cli, int argc, char **argv);

/* view.c: serves a live view of a session's screen to one VNC client */
int mxc_cli_view(struct mxc_cli *cli, int argc, char **argv);

/* input.c */
int mxc_cli_input(struct mxc_cli *cli, int argc, char **argv);
/* "WxH" */
int mxc_cli_parse_size(const char *s, int64_t *w, int64_t *h);
/* "X,Y,W,H" as {x, y, width, height}, or NULL */
struct json_object *mxc_cli_parse_region(const char *s);

#endif
