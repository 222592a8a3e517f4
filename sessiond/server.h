/*
 * The daemon core: one server struct, the clients connected to the main socket, the
 * sessions, and the request ("call") each client has in flight.
 */
#ifndef MXC_SESSIOND_SERVER_H
#define MXC_SESSIOND_SERVER_H

#include <sys/types.h>

#include "audit.h"
#include "auth.h"
#include "db.h"
#include "list.h"
#include "loop.h"
#include "net.h"
#include "proto.h"

struct mxc_config {
	const char *socket_path;  /* main socket */
	const char *state_dir;    /* state.db and home/ */
	const char *runtime_dir;  /* sessions/ */
	const char *config_dir;   /* policies/ */
	const char *libexec_dir;  /* mxc-init, mxc-session-helper */
	uint32_t id_min, id_max;  /* agent uid/gid range */
	uint64_t start_timeout_ms;
	uint64_t stop_grace_ms;
	uint64_t helper_timeout_ms;
};

/*
 * A listening socket: the main one (no scope), or a session's own, through which only that
 * session's agent may act, and only on that session.
 */
struct mxc_listener {
	struct mxc_server *srv;
	int fd;
	struct mxc_source *src;
	char *path;
	char scope[8];      /* session id, "" for the main socket */
	uint32_t scope_uid; /* the only uid a session socket serves */
};

struct mxc_cgroups;

struct mxc_server {
	struct mxc_config cfg;
	struct mxc_loop *loop;
	struct mxc_db *db;
	struct mxc_listener *main_listener;
	struct mxc_list clients;
	struct mxc_list sessions;
	struct mxc_list requests; /* the broker's (broker.h) */
	size_t n_requests;
	char *db_path;
	char *home_base;    /* state_dir/home */
	char *sessions_dir; /* runtime_dir/sessions */
	int init_fd;        /* O_PATH descriptors of the session-side programs */
	int helper_fd;
	/* What this host can enforce, found out once at start-up. */
	struct mxc_cgroups *cgroups;
	int landlock_abi;                 /* 0: no Landlock */
	struct mxc_net_config net;
	uint32_t admin_gid, agents_gid;
	bool have_admin_gid, have_agents_gid;
	bool shutting_down;
	struct mxc_list account_queue;        /* account changes waiting for their turn */
	struct account_op *account_running;   /* the one a worker is doing */
};

struct mxc_client {
	struct mxc_list link;
	struct mxc_server *srv;
	int fd;
	struct mxc_source *src;
	struct mxc_reader in;
	struct mxc_outq out;
	struct mxc_peer peer;
	char scope[8];         /* the session whose socket it came through, "" for the main one */
	uint32_t scope_uid;
	struct mxc_call *call; /* the request in flight, at most one */
	struct mxc_view *view; /* set while it views a session (view.h) */
	bool read_shut;        /* the peer will send nothing more */
	bool dispatching;      /* inside client_process() */
	bool broken;           /* shut down; freed by its next event */
};

/*
 * One request. Handlers answer it at once or keep it and answer later; answering frees it.
 * If the client goes away first, call->client becomes NULL and cancel (if set) runs; the
 * holder still answers the call eventually, which then only frees it.
 */
struct mxc_call {
	struct mxc_server *srv;
	struct mxc_client *client;
	struct mxc_actor actor;
	char scope[8]; /* set for calls through a session's socket: they act on it alone */
	char verb[64];
	struct json_object *req; /* owns args */
	struct json_object *args;
	int fds[MXC_PROTO_MAX_FDS];
	size_t n_fds;
	void (*cancel)(struct mxc_call *call);
	void *data;
};

/* Takes ownership of result (NULL: {}) and of fds. */
void mxc_call_reply(struct mxc_call *call, struct json_object *result, const int *fds,
		    size_t n_fds);
void mxc_call_fail(struct mxc_call *call, int code, const char *fmt, ...) MXC_PRINTF(3, 4);
void mxc_call_fail_error(struct mxc_call *call, const struct mxc_error *err);
/* Takes the passed descriptor at index i (or -1 when absent). */
int mxc_call_take_fd(struct mxc_call *call, size_t i);

/* Writes an audit row as the call's actor, taking details (may be NULL); failures are
 * logged, never fatal. */
void mxc_call_audit(struct mxc_call *call, const char *action, const char *agent,
		    const char *session, const char *object, const char *result,
		    struct json_object *details);
/* Same for the daemon itself (uid 0, "mxc-sessiond"). */
void mxc_server_audit(struct mxc_server *srv, const char *action, const char *agent,
		      const char *session, const char *object, const char *result,
		      struct json_object *details);

/* Same, as actor (who acted through a connection that may be gone by now). */
void mxc_server_audit_as(struct mxc_server *srv, const struct mxc_actor *actor,
			 const char *action, const char *agent, const char *session,
			 const char *object, const char *result, struct json_object *details);

/* Audit details {"reason": reason}. */
struct json_object *mxc_audit_reason(const char *reason);

/* Refuses with EPERM (and an audit row) unless the caller is an admin. */
bool mxc_call_require_admin(struct mxc_call *call);

int mxc_server_init(struct mxc_server *srv, const struct mxc_config *cfg, struct mxc_error *err);
int mxc_server_run(struct mxc_server *srv);
void mxc_server_finish(struct mxc_server *srv);

/* Whether an account change for the agent is queued or running (verbs.c). */
bool mxc_agent_busy(struct mxc_server *srv, const char *name);
/* Where an agent's default policy is: CONFIG_DIR/policies/NAME.json. */
int mxc_agent_policy_path(struct mxc_server *srv, const char *name, char *buf, size_t len);

/*
 * Opens a listening socket at path. A scoped one (a session's) is owned by uid:gid, mode
 * 0600, and serves only that uid, acting only on that session.
 */
int mxc_listener_open(struct mxc_server *srv, const char *path, const char *scope,
		      uint32_t uid, uint32_t gid, struct mxc_listener **ret,
		      struct mxc_error *err);
/* Stops listening and removes the socket file. Accepts NULL. */
void mxc_listener_close(struct mxc_listener *l);

/* The verb table (verbs.c). */
typedef void (*mxc_verb_fn)(struct mxc_call *call);
struct mxc_verb {
	const char *name;
	mxc_verb_fn fn;
	bool on_session_socket; /* an agent may use it on its own session's socket */
};
const struct mxc_verb *mxc_verb_lookup(const char *name);

#endif
