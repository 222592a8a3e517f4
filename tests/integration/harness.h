/*
 * Integration harness: runs the real mxc-sessiond inside the test's private environment
 * (mount namespace, /etc overlay, scratch state and runtime directories) and the real mxc
 * CLI against it, as root or as any user.
 *
 * The daemon runs under a keeper process: a child subreaper that dies with the test (even
 * one killed by a timeout, through PR_SET_PDEATHSIG) and kills everything below it when it
 * goes, so sessions orphaned by a crashed daemon never outlive the test.
 */
#ifndef MXC_TESTS_HARNESS_H
#define MXC_TESTS_HARNESS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "testenv.h"

struct mxc_harness {
	struct mxc_testenv env;
	char state[160], run[160], conf[160], sock[200], log[200];
	char bin[256]; /* build root */
	pid_t daemon;
	pid_t keeper;
	int keeper_cmd; /* write end: one byte per daemon to start */
	int keeper_resp; /* read end: the daemon's pid */
};

struct mxc_result {
	int status; /* exit status, or 128+signal */
	char *out, *err;
};

/* Enters the environment and starts the daemon; aborts the test on failure. */
void mxc_harness_start(struct mxc_harness *h);
/* Stops the daemon (SIGTERM), kills anything left, leaves the environment. */
void mxc_harness_stop(struct mxc_harness *h);
/* Starts the daemon again (after mxc_harness_kill_daemon). */
void mxc_harness_start_daemon(struct mxc_harness *h);
/* kill -9 of the daemon, as a crash; returns once it is gone. */
void mxc_harness_kill_daemon(struct mxc_harness *h);
/* SIGTERM to the daemon (a clean shutdown); returns once it is gone. */
void mxc_harness_term_daemon(struct mxc_harness *h);

/*
 * Runs mxc with the given arguments (NULL-terminated) as uid (its primary group and
 * supplementary groups from the user database), feeding stdin_text (may be NULL).
 */
struct mxc_result mxc_run(struct mxc_harness *h, uid_t uid, const char *stdin_text, ...)
	__attribute__((sentinel));
void mxc_result_free(struct mxc_result *r);
/* Runs mxc as root and asserts it succeeds; returns its stdout with the newline trimmed. */
char *mxc_ok(struct mxc_harness *h, ...) __attribute__((sentinel));

/* Adds an agent and starts a session for it; returns the session id (caller frees). */
char *mxc_harness_session(struct mxc_harness *h, const char *agent);

/* Parses text as JSON, asserting it is; the caller puts the object. */
struct json_object *mxc_test_json(const char *text);
/* A member as a string (NULL if absent or not a string) or an integer (-1 if absent). */
const char *mxc_test_str(struct json_object *o, const char *key);
int64_t mxc_test_int(struct json_object *o, const char *key);

/*
 * Copies the file src into the agent's home as name, owned by the agent, mode 0755, and
 * puts its path there in ret (the build directory is not visible inside a session).
 */
void mxc_harness_install(const char *agent, const char *src, const char *name, char *ret,
			 size_t len);

/* A session's activity counter (`mxc session show --json`: activity.NAME), 0 if absent. */
int64_t mxc_session_activity(struct mxc_harness *h, const char *id, const char *name);

/* Whether a process with this pid exists. */
bool mxc_pid_alive(pid_t pid);
/* Number of processes of this test (below its keeper) running as uid. */
int mxc_processes_of(struct mxc_harness *h, uid_t uid);
/* The daemon's log so far (caller frees). */
char *mxc_harness_log(struct mxc_harness *h);

#endif
