/*
 * Agent accounts: one dedicated Unix account (uid, own primary group with the same number,
 * home, locked password, nologin shell) per agent. Backends are structs of function
 * pointers; local.c is the "local" backend, which writes the system account database
 * through the shadow tools. Everything here is blocking and runs as root.
 *
 * Decisions (ranges, home reuse, what removal may delete) are written down in README.md.
 */
#ifndef MXC_IDENTITY_IDENTITY_H
#define MXC_IDENTITY_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MXC_AGENT_NAME_MAX 31
#define MXC_AGENTS_GROUP   "mxc-agents"
#define MXC_ADMIN_GROUP	   "mxc-admin"
/* The GECOS field of every local agent account. */
#define MXC_AGENT_GECOS "mxc agent"
/* /etc/subuid and /etc/subgid larger than this are refused rather than read. */
#define MXC_SUBID_FILE_MAX (16u << 20)

/* ^[a-z_][a-z0-9_-]{0,30}$ */
bool mxc_agent_name_valid(const char *name);

struct mxc_identity_config {
	uint32_t id_min, id_max; /* inclusive agent uid/gid range */
	const char *home_base;	 /* directory holding agent homes, e.g. /var/lib/mxc/home */
	const char *subuid_path; /* "/etc/subuid" (tests may point elsewhere) */
	const char *subgid_path; /* "/etc/subgid" */
	const char *shell;	 /* "/usr/sbin/nologin" */
};

/*
 * Fills cfg with the build's defaults: MXC_UID_MIN..MXC_UID_MAX, MXC_STATE_DIR "/home",
 * /etc/subuid, /etc/subgid, /usr/sbin/nologin. The strings are static.
 */
void mxc_identity_config_defaults(struct mxc_identity_config *cfg);

/*
 * Refuses a configuration that could hand an agent an id or a path it must not have:
 * id_min > id_max; ids below 1000 (system accounts); 60000-65535 (Debian's global static
 * allocations, systemd-homed 60001-60513, systemd's DynamicUser= range 61184-65519, nobody
 * 65534 and the 16-bit (uid_t)-1 65535); ids from 524288 up (systemd-nspawn's container
 * range 524288-1879048191, the foreign range, ids >= 2^31 that software mistakes for
 * negative, and the reserved -2/-1). So the usable windows are 1000-59999 and
 * 65536-524287. home_base must be a normalized absolute path other than "/" (no "//",
 * "." or ".." components, no trailing "/"), shell an absolute path, and none of the paths
 * may hold ':', newlines or other control characters (they end up in /etc/passwd).
 * -EINVAL or -ERANGE with the reason.
 */
int mxc_identity_config_check(const struct mxc_identity_config *cfg, struct mxc_error *err);

struct mxc_account {
	char *name;
	uint32_t uid, gid;
	char *home;
	char *backend; /* "local" */
};

/* Frees the members and zeroes them; safe on a zeroed struct. */
void mxc_account_finish(struct mxc_account *a);

/* Whether the daemon already knows of an agent with this id (in its database). */
typedef bool (*mxc_id_taken_fn)(uint32_t id, void *userdata);

struct mxc_identity_backend {
	const char *name;
	/*
	 * Creates the account and its home. Blocking (runs shadow tools): the daemon calls it
	 * from a worker process. -EINVAL for a bad name, -EEXIST when the name is taken (by an
	 * agent or by anything else, the message says which) or something other than a
	 * directory sits at the home, -EXDEV when the home is a mount point, -EPERM when the
	 * home base is not root's alone, -ENOSPC when the range is full. A failure leaves
	 * the account database and the homes as they were (the shared mxc-agents group and
	 * the home base itself, once created, stay). Besides taken(), ids that own an entry of
	 * the home base (a home kept by remove) are never handed out.
	 */
	int (*add)(const struct mxc_identity_config *cfg, const char *name, mxc_id_taken_fn taken,
		   void *userdata, struct mxc_account *ret, struct mxc_error *err);
	/*
	 * Removes account and group; removes the home unless keep_home. acct->name must name
	 * an agent account whose uid is acct->uid (and home acct->home, if set; -ESTALE
	 * otherwise). Before changing anything, refuses to remove a home other than
	 * cfg->home_base/NAME (-EPERM) or one with something mounted inside (-EXDEV);
	 * -ENOENT if there is no such account; -EPERM if it is not an agent account; -EBUSY
	 * when userdel finds the agent's processes still running. An error after userdel
	 * succeeded says "account 'NAME' removed, but ...".
	 */
	int (*remove)(const struct mxc_identity_config *cfg, const struct mxc_account *acct,
		      bool keep_home, struct mxc_error *err);
	/*
	 * Looks an agent account up by name in NSS: -EINVAL for a bad name, -ENOENT if absent,
	 * -EPERM if the name exists but is not an agent account (uid outside the range, primary
	 * group not its own, or not a member of mxc-agents).
	 */
	int (*lookup)(const struct mxc_identity_config *cfg, const char *name,
		      struct mxc_account *ret, struct mxc_error *err);
};

extern const struct mxc_identity_backend mxc_identity_local;

/*
 * Lowest id in [id_min, id_max] free as uid and gid in NSS, outside every /etc/subuid and
 * /etc/subgid range, and not taken() (taken may be NULL); -ENOSPC when full. A failing NSS
 * lookup is an error, never "free".
 */
int mxc_identity_allocate_id(const struct mxc_identity_config *cfg, mxc_id_taken_fn taken,
			     void *userdata, uint32_t *ret, struct mxc_error *err);

/*
 * Subordinate id files: "owner:start:count" per line. Parsing is strict (decimal digits
 * only, exactly three fields, a non-empty owner, start <= 2^32-1, count <= 2^32); any
 * other non-empty line is skipped and counted in *ret_malformed. Empty lines are ignored.
 * Returns 0 or -ENOMEM; *ret (free() it) may be NULL when *ret_n is 0.
 */
struct mxc_subid_range {
	uint64_t start, count;
};
int mxc_subid_parse(const char *text, size_t len, struct mxc_subid_range **ret, size_t *ret_n,
		    size_t *ret_malformed);
bool mxc_subid_contains(const struct mxc_subid_range *r, size_t n, uint64_t id);
/*
 * Reads and parses a subordinate id file of at most MXC_SUBID_FILE_MAX bytes (-EFBIG
 * beyond); a missing file has no ranges. The daemon may call it at start-up to warn about
 * malformed lines, which allocation skips.
 */
int mxc_subid_load(const char *path, struct mxc_subid_range **ret, size_t *ret_n,
		   size_t *ret_malformed, struct mxc_error *err);

/*
 * Creates a system group if it does not exist (groupadd --system); returns its gid. For
 * mxc-agents and mxc-admin; name must pass mxc_agent_name_valid().
 */
int mxc_identity_ensure_group(const char *name, uint32_t *ret_gid, struct mxc_error *err);

/*
 * The agent's full group list (primary first, then supplementary, via getgrouplist) for
 * setgroups() in the session. *ret is malloc()ed.
 */
int mxc_identity_groups(const struct mxc_account *a, uint32_t **ret, size_t *ret_n,
			struct mxc_error *err);

#endif
