/*
 * The audit log: one row per state change and per refusal, in the state database. Rows are
 * hash-chained: each carries the SHA-256 of the previous row's hash and its own fields, so a
 * modified, removed or reordered row is detected by mxc_audit_verify(). Contents of
 * clipboards and documents never go into details, only sizes and digests.
 */
#ifndef MXC_SESSIOND_AUDIT_H
#define MXC_SESSIOND_AUDIT_H

#include "db.h"
#include "digest.h"

struct mxc_audit_entry {
	uint32_t actor_uid;
	const char *actor_name;
	const char *agent;   /* may be NULL */
	const char *session; /* may be NULL */
	const char *action;  /* "session.start", "agent.add", ... */
	const char *object;  /* may be NULL */
	const char *result;  /* "ok", "denied", "error" */
	struct json_object *details; /* may be NULL; not consumed */
};

struct mxc_audit_row {
	int64_t seq, time, actor_uid;
	const char *actor_name, *agent, *session, *action, *object, *result, *details, *prev;
};

/* Hash of a row: SHA-256 over an unambiguous, length-prefixed encoding of its fields. */
int mxc_audit_hash(const struct mxc_audit_row *row, char hex[static MXC_SHA256_HEX_LEN + 1]);

int mxc_audit_append(struct mxc_db *db, const struct mxc_audit_entry *e, struct mxc_error *err);

struct mxc_audit_filter {
	const char *agent;
	const char *session;
	int64_t actor_uid; /* < 0: any */
	size_t limit;      /* the most recent rows, returned oldest first */
};
struct json_object *mxc_audit_list(struct mxc_db *db, const struct mxc_audit_filter *f);

struct mxc_audit_report {
	int64_t rows;
	int64_t first_bad; /* seq of the first row that breaks the chain, 0 if none */
	char reason[256];
};
/* 0 when the chain is intact, -EBADMSG when broken (report says where and why). */
int mxc_audit_verify(struct mxc_db *db, struct mxc_audit_report *ret);

#endif
