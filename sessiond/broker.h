/*
 * The broker's requests: a transfer the policy says to ask about, a document an agent hands
 * over, or an agent asking for a human. Each is held by the daemon until its session's owner
 * (or an admin) decides on the main socket, or until it expires; every step is an audit row.
 *
 * Requests live in the daemon's memory, with the data they carry (a sealed memfd, or a copy
 * in STATE_DIR/handoff/). A daemon restart drops them: the store is emptied at start-up.
 */
#ifndef MXC_SESSIOND_BROKER_H
#define MXC_SESSIOND_BROKER_H

#include "list.h"
#include "policy.h"
#include "server.h"

/* How long a request waits for a decision unless its requester asks for less. */
#define MXC_BROKER_EXPIRY_MS (5 * 60 * 1000)
/* Requests waiting at once, per session and in all. */
#define MXC_BROKER_MAX_PER_SESSION 32
#define MXC_BROKER_MAX 1024
/* Longest note or reason an agent may attach, in bytes. */
#define MXC_BROKER_MAX_NOTE 1024

enum broker_kind {
	BROKER_CLIPBOARD,
	BROKER_HANDOFF,
	BROKER_ATTENTION,
};

enum broker_state {
	BROKER_PENDING,	 /* waiting for a decision */
	BROKER_APPROVED, /* approved; being carried out, or waiting to be collected */
	BROKER_DONE,	 /* carried out (outcome held for the requester) */
	BROKER_DENIED,
	BROKER_EXPIRED,
	BROKER_FAILED, /* approved, but carrying it out failed */
};

struct broker_request;
struct session;

/*
 * Carries out an approved request, then calls broker_settle() exactly once (possibly later,
 * from the loop). NULL: nothing to do, the approval settles it.
 */
typedef void (*broker_carry_fn)(struct broker_request *r);

struct broker_request {
	struct mxc_list link;
	struct mxc_server *srv;
	char id[13]; /* 12 hex digits */
	char session[9];
	char agent[65];
	uint32_t owner_uid;
	enum broker_kind kind;
	enum mxc_policy_direction direction; /* 0 for attention */
	char mime[128];
	uint64_t bytes;
	char sha256[65];
	char *name;    /* documents */
	char *note;    /* the requester's note or reason */
	char *preview; /* text: its beginning, escaped for a terminal */
	int rule;      /* index of the policy rule that asked, -1 if none */
	struct mxc_actor requester;
	char scope[8]; /* the session socket it came through, "" for the main socket */
	int64_t created_at, expires_at;
	enum broker_state state;
	struct mxc_actor decider;
	bool decided;
	int fd; /* the data held, or -1 */
	broker_carry_fn carry;
	struct mxc_call *waiter; /* a request.wait of the requester */
	struct mxc_source *timer;
	/* The outcome, for the requester's request.wait. */
	int outcome;
	char outcome_msg[256];
	struct json_object *outcome_result;
	int outcome_fd;
};

/* Makes STATE_DIR/handoff (empty) for held documents; at daemon start. */
int mxc_broker_init(struct mxc_server *srv, struct mxc_error *err);
/* Drops every request (failing their waiters); at daemon shutdown. */
void mxc_broker_finish(struct mxc_server *srv);

/* A fresh request id: 12 hex digits. */
int mxc_broker_new_id(char id[static 13], struct mxc_error *err);
/*
 * Creates a pending request from call (its actor is the requester) about session s, with the
 * kind-specific fields of tmpl (copied; name, note and preview duplicated; its id if set,
 * else a new one), taking fd (also
 * on failure). Its expiry comes from the call's optional "expires_in" argument (seconds, at
 * most the default). Arms the timer and writes the audit row "request.create".
 * Errors: -EBUSY (too many requests waiting), -ENOMEM.
 */
int mxc_broker_hold(struct mxc_call *call, struct session *s, const struct broker_request *tmpl,
		    int fd, struct broker_request **ret, struct mxc_error *err);
/* The reply to the requester: {"request": ID, "state": "pending", "expires_at": ...}. */
struct json_object *mxc_broker_pending_reply(const struct broker_request *r);
/* Ends carrying out r: r < 0 fails it with msg; otherwise result and fd (taken) are its outcome. */
void mxc_broker_settle(struct broker_request *r, int code, const char *msg,
		       struct json_object *result, int fd);
struct broker_request *mxc_broker_find(struct mxc_server *srv, const char *id);
/*
 * Whether call may decide on r: its session's owner or an admin, on the main socket, from a
 * process that is still there and outside every agent session's namespaces. Audits and
 * answers the call on refusal.
 */
bool mxc_broker_may_decide(struct mxc_call *call, struct broker_request *r);
/*
 * Checks the call's argument names against keys and looks up the request named by its "id";
 * answers the call when they are wrong or there is no such request (for this caller).
 */
struct broker_request *mxc_broker_from_call(struct mxc_call *call, const char *const *keys);
/* Same, for a decision: the caller may decide and the request is still pending. */
struct broker_request *mxc_broker_decision(struct mxc_call *call, const char *const *keys);
/* Records the call's actor as the request's decider. */
void mxc_broker_decided_by(struct broker_request *r, struct mxc_call *call);
/* The request as a JSON object (for lists and audit details). */
struct json_object *mxc_broker_json(const struct broker_request *r);
/* A session ended: requests that would deliver into it fail. */
void mxc_broker_session_ended(struct mxc_server *srv, const char *session);
/*
 * The request is final: its state, the audit row ("request.done", ".deny", ".expire" or
 * ".fail"; the actor is by's, or the daemon's when by is NULL), the requester's wait answered.
 */
void mxc_broker_finish_request(struct broker_request *r, enum broker_state state,
			       const char *reason, struct mxc_call *by);

/* The verbs. */
void mxc_broker_verb_list(struct mxc_call *call);
void mxc_broker_verb_approve(struct mxc_call *call);
void mxc_broker_verb_deny(struct mxc_call *call);
void mxc_broker_verb_wait(struct mxc_call *call);

/* handoff.c */
void mxc_handoff_verb_send(struct mxc_call *call);
void mxc_handoff_verb_give(struct mxc_call *call);
void mxc_handoff_verb_accept(struct mxc_call *call);
void mxc_handoff_verb_done(struct mxc_call *call);
void mxc_handoff_verb_attention(struct mxc_call *call);

#endif
