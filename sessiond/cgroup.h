/*
 * Session resource limits with cgroups.
 *
 * At start-up the daemon finds out once what the host offers and sets up mxc's own subtree
 * (mxc_cgroups_detect); every session then gets a cgroup of its own below it
 * (mxc_cgroup_create) with a memory limit (no way around it through swap) and a task limit,
 * which the kernel enforces on every process of the session however it was made. Three
 * modes, best first:
 *
 *   cgroup v2: a unified hierarchy whose memory and pids controllers can be enabled for the
 *     daemon's own cgroup (on systemd: the service has Delegate=yes). The subtree is
 *     <own>/mxc, sessions are <own>/mxc/<id>; when <own> is not the root cgroup, the daemon
 *     first moves itself into <own>/mxc/daemon, since a cgroup that hands controllers to its
 *     children may not hold processes ("no internal processes").
 *   cgroup v1: memory and pids hierarchies (legacy or hybrid hosts). The subtree is
 *     <own>/mxc in each of them, <own> being the daemon's cgroup there; sessions are
 *     <own>/mxc/<id>.
 *   none: no cgroup; tasks are bounded only by RLIMIT_NPROC of the agent's uid (which the
 *     session leader sets anyway), memory is not bounded at all: RLIMIT_AS limits a single
 *     process's address space, not a session.
 *
 * Mode v2 is chosen when it offers at least as many of memory and pids as v1; a mode that
 * offers only one of them still counts (mxc_cgroups_controllers says which).
 *
 * The agent is never given a cgroup: directories and files belong to root and are not
 * writable by anyone else, so nothing in a session can raise its limits, leave its cgroup
 * or make sub-groups. Memory exhaustion inside a session triggers the OOM killer of the
 * session's cgroup, which picks among the session's processes only.
 *
 * All paths are built from detected mount points and validated session ids (lowercase hex)
 * only, and opened relative to directory descriptors held from detection on.
 */
#ifndef MXC_SESSIOND_CGROUP_H
#define MXC_SESSIOND_CGROUP_H

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum mxc_cgroup_mode { MXC_CGROUP_NONE, MXC_CGROUP_V1, MXC_CGROUP_V2 };

/* Controllers, as bits. */
enum {
	MXC_CGROUP_MEMORY = 1u << 0,
	MXC_CGROUP_PIDS = 1u << 1,
	/* Never used for sessions: lets tests exercise v2 on hosts whose memory and pids
	 * controllers are bound to v1 hierarchies. */
	MXC_CGROUP_HUGETLB = 1u << 2,
};

/* Longest session id accepted (lowercase hex digits). */
#define MXC_CGROUP_ID_MAX 32

/* "Unknown" in stats: the controller that would know is not in use. */
#define MXC_CGROUP_UNKNOWN UINT64_MAX

struct mxc_cgroups; /* the host's, detected once */
struct mxc_cgroup;  /* one session's */

struct mxc_cgroups_options {
	const char *name; /* the subtree below the daemon's cgroup; NULL: "mxc" */
	unsigned modes;	  /* allowed modes as bits (1u << MXC_CGROUP_V1...); 0: all */
	bool probe;	  /* only find out: create, write and move nothing (mxc doctor) */
	unsigned v2_controllers; /* looked for on v2; 0: memory and pids */
};

/*
 * Finds what the host offers and, unless opt->probe, prepares mxc's subtree as described
 * above (may move the calling process into <own>/mxc/daemon on v2). opt may be NULL. Not
 * finding any cgroup support is no error: the result is mode none with the reason in
 * mxc_cgroups_describe. Errors: -ENOMEM, or the failure to prepare the subtree of a mode
 * that looked usable (-EACCES, -EBUSY ...) after falling back failed too.
 */
int mxc_cgroups_detect(const struct mxc_cgroups_options *opt, struct mxc_cgroups **ret,
		       struct mxc_error *err);
/* Frees; cgroups on the host stay. Accepts NULL. */
void mxc_cgroups_free(struct mxc_cgroups *c);
/*
 * Removes the subtree itself (not in probe mode), for uninstalling and tests: -EBUSY while
 * session cgroups or processes remain in it. On v2 the daemon must have left
 * <own>/mxc/daemon first.
 */
int mxc_cgroups_remove(struct mxc_cgroups *c, struct mxc_error *err);

enum mxc_cgroup_mode mxc_cgroups_mode(const struct mxc_cgroups *c);
/* MXC_CGROUP_MEMORY | MXC_CGROUP_PIDS as far as enforced. */
unsigned mxc_cgroups_controllers(const struct mxc_cgroups *c);
/*
 * One line for logs and `mxc session show`: "cgroup v2 (memory, pids) at
 * /sys/fs/cgroup/system.slice/mxc-sessiond.service/mxc", "cgroup v1 (memory, pids) at
 * /sys/fs/cgroup/memory/mxc, /sys/fs/cgroup/pids/mxc", "none: ..." with why.
 */
const char *mxc_cgroups_describe(const struct mxc_cgroups *c);
/* The i-th directory of the subtree (one per hierarchy), NULL past the last. */
const char *mxc_cgroups_path(const struct mxc_cgroups *c, size_t i);
/*
 * {"mode": "v1", "controllers": ["memory", "pids"], "location": [paths],
 *  "swap_limited": bool, "kill": "cgroup.kill" | "signals" | null,
 *  "describe": "...", "note": why a better mode was not used, or null}
 */
struct json_object *mxc_cgroups_to_json(const struct mxc_cgroups *c);
/* "none", "v1", "v2" */
const char *mxc_cgroup_mode_to_string(enum mxc_cgroup_mode m);

/* Whether id is a well-formed session id: 1..MXC_CGROUP_ID_MAX lowercase hex digits. */
bool mxc_cgroup_id_valid(const char *id);

/*
 * Creates the cgroup of session id with memory_bytes (0: no limit; also no swap) and tasks
 * (0: no limit) and returns it. A cgroup left from an earlier daemon with the same id is
 * reused if it holds no process (-EBUSY otherwise). In mode none, or without the
 * controller, a memory limit is -EOPNOTSUPP; a task limit without the pids controller is
 * left to RLIMIT_NPROC (the group is still made). In mode none the group is an empty
 * shell, so callers need no special case. -EINVAL for an invalid id. c must outlive the
 * group.
 */
int mxc_cgroup_create(struct mxc_cgroups *c, const char *id, uint64_t memory_bytes,
		      uint64_t tasks, struct mxc_cgroup **ret, struct mxc_error *err);
/* Opens the existing cgroup of session id (a session adopted after a daemon restart):
 * -ENOENT if there is none. */
int mxc_cgroup_open(struct mxc_cgroups *c, const char *id, struct mxc_cgroup **ret,
		    struct mxc_error *err);
/*
 * Moves process pid (all its threads) into the group. For a session leader: before it is
 * let go, so that nothing it starts runs outside. No-op in mode none.
 */
int mxc_cgroup_attach(struct mxc_cgroup *g, pid_t pid, struct mxc_error *err);
/* v2: the group's directory, for clone3(CLONE_INTO_CGROUP); -1 otherwise. Owned by g. */
int mxc_cgroup_fd(const struct mxc_cgroup *g);

struct mxc_cgroup_stats {
	uint64_t memory_current; /* bytes in use (v1 and v2 count kernel memory too) */
	uint64_t memory_peak;	 /* highest memory_current (v2: kernel 5.19+) */
	uint64_t memory_max;	 /* the limit; 0: none */
	uint64_t oom_kills;	 /* processes the OOM killer ended in the group */
	uint64_t tasks_current;	 /* processes and threads */
	uint64_t tasks_max;	 /* the limit; 0: none */
	uint64_t tasks_refused;	 /* forks refused at tasks_max */
};
/* Current values; fields no controller knows are MXC_CGROUP_UNKNOWN. */
int mxc_cgroup_stats(const struct mxc_cgroup *g, struct mxc_cgroup_stats *ret);
/* The stats as {"memory_current": n, ...} (unknown: null) plus "mode" and "path". */
struct json_object *mxc_cgroup_to_json(const struct mxc_cgroup *g);
/* 1 if processes are in the group, 0 if not, or a negative errno. */
int mxc_cgroup_populated(const struct mxc_cgroup *g);

/*
 * Kills every process in the group: cgroup.kill on v2 (kernel 5.14+), else SIGKILL to each
 * listed process, again and again so that none forked meanwhile escapes (a listed pid is
 * signalled only through a pidfd taken while it was still listed, so a recycled pid is never
 * hit). Waits up to timeout_ms for the group to be empty: 0 when it is, -EBUSY when
 * processes remain (they are dying, or stuck in the kernel). 0 at once in mode none.
 */
int mxc_cgroup_kill(struct mxc_cgroup *g, unsigned timeout_ms);
/*
 * Removes the group's directories and frees g; accepts NULL. Processes still inside are
 * killed first (waiting up to 250 ms); if the directory cannot go, it stays until
 * mxc_cgroups_cleanup_stale.
 */
void mxc_cgroup_destroy(struct mxc_cgroup *g);
/* Frees g and leaves the cgroup as it is (the daemon exits, the session lives on). */
void mxc_cgroup_free(struct mxc_cgroup *g);

/*
 * Kills and removes every session cgroup of the subtree whose id is not in live (NULL or
 * NULL-terminated). Returns how many were removed, or the first error (after trying all).
 */
int mxc_cgroups_cleanup_stale(struct mxc_cgroups *c, char *const *live, struct mxc_error *err);

#endif
