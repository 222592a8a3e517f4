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

struct session;

/* What becomes of a process the daemon asked a session's init to start. */
enum session_init_event {
	INIT_SPAWNED, /* it runs (value: its pid in the session); final for a detached one */
	INIT_FAILED,  /* it could not be started (value: -errno, msg) */
	INIT_EXITED,  /* it ended (value: exit status, 128+N for signal N) */
	INIT_LOST,    /* the session or its init went away first (msg says why) */
};
typedef void (*session_init_fn)(struct session *s, void *data, uint64_t id,
				enum session_init_event ev, int value, const char *msg);

struct session_spawn {
	char *const *argv;  /* looked up in the session's PATH */
	const char *cwd;    /* NULL: the agent's home */
	const char *output; /* NULL: stdio from fds, else stdout and stderr appended there */
	bool detach;        /* survives the daemon; its exit is not reported */
	const int *fds;     /* its descriptors 0, 1, 2 (and 3): copied, not taken */
	size_t n_fds;
};

/* What a session's agent or owner did, counted for the audit log rather than a row each. */
enum session_activity {
	ACT_SCREENSHOT,
	ACT_MOVE,
	ACT_CLICK,
	ACT_MOUSE_DOWN,
	ACT_MOUSE_UP,
	ACT_DRAG,
	ACT_SCROLL,
	ACT_KEY,
	ACT_KEY_DOWN,
	ACT_KEY_UP,
	ACT_HOLD_KEY,
	ACT_TYPE,
	ACT_CLIPBOARD_GET,
	ACT_CLIPBOARD_SET,
	ACT_LAUNCH,
	ACT_EXEC,
	ACT_DENIED,
	ACT_VIEW_FRAME,
	ACT_VIEW_INPUT,
	ACT_N,
};

extern const char *const session_activity_names[];

/*
 * Completion of a request to the session's helper. r < 0 with msg on failure (the helper
 * refused, died, timed out, or the session ended); on success the result (owned by the
 * request) and the descriptors sent along (take one by setting it to -1).
 */
typedef void (*session_helper_done_fn)(struct session *s, void *data, int r, const char *msg,
				       struct json_object *result, int *fds, size_t n_fds);

/* A request forwarded to the session's helper, answered in order. */
struct helper_req {
	struct mxc_list link;
	char verb[32];
	struct json_object *args;
	int fds[MXC_PROTO_MAX_FDS];
	size_t n_fds;
	session_helper_done_fn done;
	void *data;
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
	uint32_t *owner_groups; /* the owner's groups when they started it */
	size_t n_owner_groups;
	struct mxc_policy *policy;
	char digest[MXC_SHA256_HEX_LEN + 1];
	uint32_t width, height, depth;
	char **command;
	char **env;
	enum state state;
	char *dir;     /* runtime_dir/sessions/ID */
	struct mxc_listener *listener; /* the session's own socket, for its agent */
	int64_t started_at;

	pid_t leader_pid;
	uint64_t pidns;
	struct mxc_cgroup *cgroup; /* its limits (cgroup.h) */
	struct mxc_net *net;       /* its network beyond loopback (net.h), or NULL */
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

	/* The control connection to mxc-init, the session's spawner (initlink.c). */
	int init_fd;
	struct mxc_source *init_src;
	struct mxc_reader init_in;
	struct mxc_outq init_out;
	uint64_t init_next_id;
	struct mxc_list init_pending;

	/* The helper that holds the display connection inside the session. */
	uint64_t helper_id;  /* its spawn request, 0 when none is running */
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
	uint32_t screen_width, screen_height; /* from the helper's greeting */

	/* Refusals written to the audit log at most once a minute per actor and action. */
	struct {
		uint32_t uid;
		char action[32];
		int64_t at;
		uint64_t unwritten;
	} refusals[16];
	uint64_t activity[ACT_N];
	bool activity_dirty;      /* changed since last written to the database */
	struct mxc_source *activity_timer;

	struct mxc_view *controller; /* the view that has taken control (view.c), or NULL */
};

/* Where a session sees its own daemon socket, and the mxc programs it runs. */
#define MXC_SESSION_SOCKET "/run/mxc/sessiond.sock"
#define MXC_SESSION_LIBEXEC "/run/mxc-libexec"

extern const char *const session_state_names[];

/* Removes the session's cgroup and network (session.c); for any session that ends. */
void session_uncontain(struct session *s);

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
/* Same for inspection: a running session, and the inspectors its policy names may act too. */
struct session *session_from_call_inspect(struct mxc_call *call);
void session_on_leader_exit(struct mxc_source *src, const siginfo_t *info, void *data);
void session_on_start_timeout(struct mxc_source *src, void *data);

/* Opens the session's own socket in DIR/socket/ (again, after a daemon restart). */
int session_listen(struct session *s, struct mxc_error *err);

/* computer.c */
void session_count(struct session *s, enum session_activity a);
/* The non-zero counters as {"screenshot": 3, "click": 10, ...}. */
struct json_object *session_activity_json(const struct session *s);
/* Writes changed counters to the database now. */
void session_save_activity(struct session *s);
/* Counters saved by a previous daemon, for an adopted session. */
void session_load_activity(struct session *s, struct json_object *activity);

/* initlink.c */
int session_init_connect(struct session *s, struct mxc_error *err);
/* Closes the connection; every pending request gets INIT_LOST with why. */
void session_init_close(struct session *s, const char *why);
/* Asks init to start a process; fn runs for each event until a final one. */
int session_init_spawn(struct session *s, const struct session_spawn *sp, session_init_fn fn,
		       void *data, uint64_t *ret_id, struct mxc_error *err);
void session_init_kill(struct session *s, uint64_t id, int signo);

/* helperlink.c */
int session_helper_start(struct session *s, struct mxc_error *err);
void session_helper_stop(struct session *s, const char *why);
/*
 * Sends verb with args (consumed) and fds (taken) to the session's helper, starting it if
 * it is not running; done runs exactly once, whatever happens.
 */
void session_helper_call(struct session *s, const char *verb, struct json_object *args,
			 const int *fds, size_t n_fds, session_helper_done_fn done, void *data);

#endif
