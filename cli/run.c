/*
 * mxc run CONFIG.json: an MXC configuration, one-shot. A fresh agent account for this run,
 * a session under the configuration's policy, process.commandLine run in it by /bin/sh as
 * the agent with our stdin, stdout and stderr, its exit status returned; then the session is
 * stopped and the account removed, however the run ended (a signal to us included).
 *
 * Exit status: the command's; 124 when the policy's or process.timeout ran out first; 125
 * when the run could not be set up (bad configuration, no daemon, refused); 128+N after
 * signal N.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "client.h"
#include "fs.h"
#include "json.h"
#include "policy.h"

#define RUN_FAILED  125
#define RUN_TIMEOUT 124

static void on_signal(int sig)
{
	mxc_cli_interrupted = sig;
}

/* One request; prints the daemon's refusal (unless it contains fine) and returns -1. */
static int request_unless(struct mxc_cli *cli, const char *verb, struct json_object *args,
			  const char *fine, struct json_object **ret_resp,
			  struct json_object **ret_res)
{
	struct mxc_error err = { 0 };
	struct json_object *resp = NULL, *res = NULL;
	if (mxc_conn_request(cli->socket, verb, args, NULL, 0, &resp, &res, NULL, 0, NULL, &err) <
	    0) {
		if (fine && strstr(err.msg, fine))
			return 0;
		fprintf(stderr, "mxc: %s\n", err.msg);
		return -1;
	}
	if (ret_resp) {
		*ret_resp = resp;
		*ret_res = res;
	} else {
		json_object_put(resp);
	}
	return 0;
}

static int request(struct mxc_cli *cli, const char *verb, struct json_object *args,
		   struct json_object **ret_resp, struct json_object **ret_res)
{
	return request_unless(cli, verb, args, NULL, ret_resp, ret_res);
}

/* The command a session runs for process: /bin/sh -c LINE, with env's variables added. */
static char **command_of(const struct mxc_policy_process *process)
{
	size_t n_env = mxc_strv_length(process->env);
	char **argv = calloc(n_env + 6, sizeof(char *));
	if (!argv)
		return NULL;
	size_t n = 0;
	bool ok = true;
	if (n_env) {
		/* env(1) adds them; "--" keeps an entry starting with '-' from being an option. */
		ok = (argv[n++] = strdup("/usr/bin/env")) && (argv[n++] = strdup("--"));
		for (size_t i = 0; ok && i < n_env; i++)
			ok = (argv[n++] = strdup(process->env[i])) != NULL;
	}
	ok = ok && (argv[n++] = strdup("/bin/sh")) && (argv[n++] = strdup("-c")) &&
	     (argv[n++] = strdup(process->command_line));
	if (!ok) {
		mxc_strv_free(argv);
		return NULL;
	}
	return argv;
}

/* Whether the session ended because its time ran out. */
static bool timed_out(struct mxc_cli *cli, const char *id)
{
	struct json_object *args = json_object_new_object(), *resp, *res;
	mxc_json_add_str(args, "session", id);
	if (request(cli, "session.show", args, &resp, &res) < 0)
		return false;
	const char *reason = NULL;
	mxc_json_get_str(res, "end_reason", 4096, &reason, NULL);
	bool r = reason && strncmp(reason, "timeout", 7) == 0;
	json_object_put(resp);
	return r;
}

int mxc_cli_run(struct mxc_cli *cli, int argc, char **argv)
{
	static const char use[] = "usage: mxc run CONFIG.json";
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "mxc: %s\n", use);
		return RUN_FAILED;
	}
	const char *path = argv[1];
	char *text = NULL;
	size_t len;
	struct mxc_policy *policy = NULL;
	struct mxc_error err = { 0 };
	int r = mxc_read_file(path, MXC_POLICY_MAX_BYTES, &text, &len);
	if (r < 0) {
		fprintf(stderr, "mxc: cannot read '%s': %s\n", path, strerror(-r));
		return RUN_FAILED;
	}
	if (mxc_policy_parse(text, len, &policy, &err) < 0) {
		fprintf(stderr, "mxc: %s: %s\n", path, err.msg);
		free(text);
		return RUN_FAILED;
	}
	for (size_t i = 0; policy->warnings && policy->warnings[i]; i++)
		fprintf(stderr, "mxc: %s: warning: %s\n", path, policy->warnings[i]);
	char **command = NULL;
	if (!policy->process || !policy->process->command_line) {
		fprintf(stderr, "mxc: %s: process.commandLine: required for mxc run\n", path);
		goto fail;
	}
	if (!(command = command_of(policy->process))) {
		fprintf(stderr, "mxc: out of memory\n");
		goto fail;
	}

	/* From here on, a signal ends the run, and the cleanup below still happens. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	uint8_t rnd[4];
	char agent[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		fprintf(stderr, "mxc: no randomness for the run's agent name\n");
		goto fail;
	}
	snprintf(agent, sizeof(agent), "run-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "name", agent);
	if (request(cli, "agent.add", args, NULL, NULL) < 0)
		goto fail;

	int code = RUN_FAILED;
	char id[16] = "";
	struct json_object *resp, *res;
	args = json_object_new_object();
	mxc_json_add_str(args, "agent", agent);
	json_object_object_add(args, "policy", json_object_new_string_len(text, (int)len));
	mxc_json_add_bool(args, "run", true);
	if (!mxc_cli_interrupted && request(cli, "session.start", args, &resp, &res) == 0) {
		const char *s = NULL;
		mxc_json_get_str(res, "id", 15, &s, NULL);
		snprintf(id, sizeof(id), "%s", s ? s : "");
		json_object_put(resp);
	}
	if (id[0] && !mxc_cli_interrupted) {
		code = mxc_cli_exec(cli, id, command, policy->process->cwd);
		if (!mxc_cli_interrupted && policy->timeout_ms && timed_out(cli, id)) {
			fprintf(stderr, "mxc: %s: timed out after %llu ms\n", path,
				(unsigned long long)policy->timeout_ms);
			code = RUN_TIMEOUT;
		}
	}
	if (mxc_cli_interrupted)
		code = 128 + mxc_cli_interrupted;
	/* Nothing of the run stays behind, whatever happened above. */
	if (id[0]) {
		args = json_object_new_object();
		mxc_json_add_str(args, "session", id);
		/* A session whose time ran out has ended already. */
		if (request_unless(cli, "session.stop", args, "has ended", NULL, NULL) < 0)
			code = RUN_FAILED;
	}
	args = json_object_new_object();
	mxc_json_add_str(args, "name", agent);
	if (request(cli, "agent.remove", args, NULL, NULL) < 0)
		code = RUN_FAILED;
	mxc_strv_free(command);
	mxc_policy_free(policy);
	free(text);
	return code;
fail:
	mxc_strv_free(command);
	mxc_policy_free(policy);
	free(text);
	return RUN_FAILED;
}
