/*
 * The inside of sessiond's session handling, shared by session.c (lifecycle and the
 * session verbs), helperlink.c (the display helper), exec.c and recover.c.
 */
#ifndef MXC_SESSIOND_SESSION_PRIVATE_H
#define MXC_SESSIOND_SESSION_PRIVATE_H

#include <signal.h>

#include "digest.h"
#include "identity.h"
#include "list.h"
#include "policy.h"
#include "server.h"

#define SESSION_NAMESPACES \
	(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)
/* Longest start command and exec argument vector accepted, in items. */
#define MAX_ARGV 4096
/* XDG_RUNTIME_DIR inside a session. */
#define RUNTIME_BYTES (64ull << 20)
/* A screenshot larger than this from a helper is refused. */
#define MAX_SCREENSHOT_BYTES (512ull << 20)
/* A helper that dies this often in one session is not started again. */
#define MAX_HELPER_STARTS 5

enum state {
	STARTING,
	RUNNING,
	STOPPING,
};

/* A request forwarded to the session's helper, answered in order. */
struct helper_req {
	struct mxc_list link;
	struct mxc_call *call;
	char verb[32];
};

/* A command started by exec, watched until it exits. */
struct exec_run {
	struct mxc_list link;
	struct session *s; /* NULL once the session has ended */
	struct mxc_call *call;
	struct mxc_source *proc;
};

struct session {
	struct mxc_list link;
	struct mxc_server *srv;
	char id[8];
	char agent[MXC_AGENT_NAME_MAX + 1];
	uint32_t uid, gid;
	uint32_t *groups;
	size_t n_groups;
	char *home;
	struct mxc_actor owner;
	struct mxc_policy *policy;
	char digest[MXC_SHA256_HEX_LEN + 1];
	uint32_t width, height, depth;
	char **command;
	char **env;
	enum state state;
	char *dir;     /* runtime_dir/sessions/ID */
	int64_t started_at;

	pid_t leader_pid;
	uint64_t pidns;
	struct mxc_source *leader; /* owns the leader's pidfd */
	int status_fd;
	struct mxc_source *status_src;
	char status[512];
	size_t status_len;
	struct mxc_source *start_timer, *kill_timer, *timeout_timer;
	struct mxc_call *start_call;
	struct mxc_call **stop_waiters;
	size_t n_stop_waiters;
	char end_state[16];
	char end_reason[512];
	bool adopting;

	/* The helper that holds the display connection inside the session. */
	struct mxc_source *helper_proc;
	int helper_fd;
	struct mxc_source *helper_src;
	struct mxc_reader helper_in;
	struct mxc_outq helper_out;
	bool helper_ready;
	bool helper_timed_out;
	unsigned helper_starts;
	struct mxc_list helper_sent;    /* awaiting an answer, oldest first */
	struct mxc_list helper_waiting; /* held until the helper is ready */
	struct mxc_source *helper_timer;

	struct mxc_list execs;
	uint64_t n_screenshots, n_execs;
};

extern const char *const session_state_names[];

struct session *session_find(struct mxc_server *srv, const char *id);
struct session *session_new(struct mxc_server *srv);
void session_free(struct session *s);
/* The environment every process of the session starts with. */
char **session_env(const struct session *s);
/* Loads the account facts a session needs from the database and NSS. */
int session_load_agent(struct session *s, const char *agent, struct mxc_error *err);
/* The session is up: display (if any) ready and helper connected. */
void session_running(struct session *s);
void session_arm_timeout(struct session *s);
/*
 * Ends a session: the first reason given is recorded. A graceful stop asks mxc-init to
 * terminate everything and kills it after the grace period; `now` kills at once. The rest
 * happens in session_finish() when the leader is gone, always from the event loop.
 */
void session_kill(struct session *s, const char *state, const char *reason, bool now);
void session_finish(struct session *s);
/*
 * Looks up the session named by the call's "session" argument, refusing unknown or ended
 * sessions and callers that may not act on it. Answers the call itself on refusal.
 */
struct session *session_from_call(struct mxc_call *call, bool need_running);
void session_on_leader_exit(struct mxc_source *src, const siginfo_t *info, void *data);
void session_on_start_timeout(struct mxc_source *src, void *data);

/* helperlink.c */
int session_helper_start(struct session *s, struct mxc_error *err);
void session_helper_stop(struct session *s, const char *why);

#endif
