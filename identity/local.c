/*
 * The "local" backend: agents are accounts in the system account database, written only
 * through the shadow tools, which take the lock and keep passwd, group, shadow and gshadow
 * consistent with each other.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs.h"
#include "home.h"
#include "identity.h"
#include "nss.h"
#include "tool.h"

#define USERADD	 "/usr/sbin/useradd"
#define USERDEL	 "/usr/sbin/userdel"
#define USERMOD	 "/usr/sbin/usermod"
#define GROUPADD "/usr/sbin/groupadd"
#define GROUPDEL "/usr/sbin/groupdel"

/* How often add allocates anew when another writer took the id it chose. */
#define ADD_ATTEMPTS 8

#define NAME_RULE "agent names match ^[a-z_][a-z0-9_-]{0,30}$"

/* Appends "; text" to a message that is already set, keeping its code. */
static void MXC_PRINTF(2, 3) append(struct mxc_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	size_t len = strlen(err->msg);
	if (len + 2 >= sizeof(err->msg))
		return;
	memcpy(err->msg + len, "; ", 3);
	len += 2;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg + len, sizeof(err->msg) - len, fmt, ap);
	va_end(ap);
}

/*
 * Whether the user u called name is an agent account: uid in the range, a primary group
 * of the same number, a member of mxc-agents. 1 yes, 0 no (with the reason in why), or a
 * negative errno when NSS fails.
 */
static int check_agent(const struct mxc_identity_config *cfg, const char *name,
		       const struct mxc_identity_nss_user *u, char *why, size_t size)
{
	if (u->uid < cfg->id_min || u->uid > cfg->id_max) {
		snprintf(why, size,
			 "its uid %" PRIu32 " is outside the agent range %" PRIu32 "-%" PRIu32,
			 u->uid, cfg->id_min, cfg->id_max);
		return 0;
	}
	if (u->gid != u->uid) {
		snprintf(why, size, "its primary group %" PRIu32 " differs from its uid %" PRIu32,
			 u->gid, u->uid);
		return 0;
	}
	int r = mxc_identity_nss_group_has_member(MXC_AGENTS_GROUP, name);
	if (r == 0)
		snprintf(why, size, "it is not a member of group '%s'", MXC_AGENTS_GROUP);
	return r;
}

/* Fails unless name is valid, so that no hostile bytes reach a message or a tool. */
static int check_name(const char *name, struct mxc_error *err)
{
	if (!mxc_agent_name_valid(name))
		return mxc_error_set(err, -EINVAL, "invalid agent name (%s)", NAME_RULE);
	return 0;
}

static int fill_account(const char *name, uint32_t uid, uint32_t gid, const char *home,
			struct mxc_account *ret, struct mxc_error *err)
{
	struct mxc_account a = {
	    .name = strdup(name),
	    .uid = uid,
	    .gid = gid,
	    .home = strdup(home),
	    .backend = strdup("local"),
	};
	if (!a.name || !a.home || !a.backend) {
		mxc_account_finish(&a);
		return mxc_error_errno(err, -ENOMEM, "failed to describe agent '%s'", name);
	}
	*ret = a;
	return 0;
}

/*
 * Runs when add fails after it changed something: undoes, in reverse order, what it did.
 * The original error stays; failures to undo are appended to it.
 */
static void rollback(const char *name, uint32_t id, bool user, bool group, int basefd,
		     bool home_created, struct mxc_error *err)
{
	struct mxc_error e = {0};
	if (home_created) {
		int r = mxc_rm_rf_at(basefd, name);
		if (r < 0 && r != -ENOENT)
			append(err, "rolling back also failed: cannot remove the new home: %s",
			       strerror(-r));
	}
	if (user) {
		const char *argv[] = {USERDEL, name, NULL};
		if (mxc_identity_tool_run(argv, &e, "cannot remove account '%s'", name) < 0)
			append(err, "rolling back also failed: %s", e.msg);
	}
	if (group) {
		/* userdel removes a user's own group itself when USERGROUPS_ENAB is set. */
		uint32_t gid;
		if (mxc_identity_nss_group(name, &gid) > 0 && gid == id) {
			const char *argv[] = {GROUPDEL, name, NULL};
			if (mxc_identity_tool_run(argv, &e, "cannot remove group '%s'", name) < 0)
				append(err, "rolling back also failed: %s", e.msg);
		}
	}
}

/* Whether neither a user nor a group is called name (lookup failures count as "no"). */
static bool name_free(const char *name)
{
	struct mxc_identity_nss_user u = {0};
	int r = mxc_identity_nss_user(name, &u);
	free(u.home);
	return r == 0 && mxc_identity_nss_group(name, NULL) == 0;
}

/*
 * groupadd, then useradd with the same id; if useradd fails the group goes again. -EEXIST
 * when the name or the id turned out to be taken.
 */
static int create_account(const struct mxc_identity_config *cfg, const char *name, uint32_t id,
			  const char *home, struct mxc_error *err)
{
	char ids[16];
	snprintf(ids, sizeof(ids), "%" PRIu32, id);
	const char *groupadd[] = {GROUPADD, "-g", ids, name, NULL};
	int r = mxc_identity_tool_run(groupadd, err, "failed to create group '%s'", name);
	if (r < 0)
		return r;

	/*
	 * -M: the home is made later, safely. -l: no lastlog/faillog records (sparse files
	 * sized by the uid). SUB_*ID_COUNT=0: an agent gets no subordinate ids, which would let
	 * it map other uids into a user namespace through newuidmap.
	 */
	/* clang-format off */
	const char *useradd[] = {
		USERADD, "-u", ids, "-g", ids, "-G", MXC_AGENTS_GROUP, "-d", home, "-M", "-l",
		"-s", cfg->shell, "-c", MXC_AGENT_GECOS,
		"-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name, NULL,
	};
	/* clang-format on */
	r = mxc_identity_tool_run(useradd, err, "failed to create account '%s'", name);
	if (r < 0)
		rollback(name, id, false, true, -1, false, err);
	return r;
}

/* Locks the password unless useradd already did (it does: "!"); checks either way. */
static int lock_password(const char *name, struct mxc_error *err)
{
	int r = mxc_identity_nss_password_locked(name);
	if (r == 0) {
		const char *argv[] = {USERMOD, "-L", name, NULL};
		r = mxc_identity_tool_run(argv, err, "failed to lock the password of '%s'", name);
		if (r < 0)
			return r;
		r = mxc_identity_nss_password_locked(name);
	}
	if (r < 0)
		return mxc_error_errno(err, r,
				       "failed to check that the password of '%s' is locked", name);
	if (r == 0)
		return mxc_error_set(err, -EIO, "the password of '%s' is still not locked", name);
	return 0;
}

/* Refuses a name that is already a user or a group, saying whose it is. */
static int check_name_free(const struct mxc_identity_config *cfg, const char *name,
			   struct mxc_error *err)
{
	struct mxc_identity_nss_user u = {0};
	int r = mxc_identity_nss_user(name, &u);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to look up user '%s'", name);
	if (r > 0) {
		char why[160];
		r = check_agent(cfg, name, &u, why, sizeof(why));
		free(u.home);
		if (r < 0)
			return mxc_error_errno(err, r, "failed to look up group '%s'",
					       MXC_AGENTS_GROUP);
		if (r > 0)
			return mxc_error_set(err, -EEXIST, "agent '%s' already exists", name);
		return mxc_error_set(
		    err, -EEXIST, "a user named '%s' already exists and is not an mxc agent (%s)",
		    name, why);
	}
	r = mxc_identity_nss_group(name, NULL);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to look up group '%s'", name);
	if (r > 0)
		return mxc_error_set(err, -EEXIST,
				     "a group named '%s' already exists and is not an mxc agent",
				     name);
	return 0;
}

/* The daemon's taken() widened by the owners of homes left in the home base. */
struct taken_ctx {
	mxc_id_taken_fn taken;
	void *userdata;
	uint32_t *owners;
	size_t n;
};

static bool taken_or_owner(uint32_t id, void *userdata)
{
	const struct taken_ctx *ctx = userdata;
	for (size_t i = 0; i < ctx->n; i++)
		if (ctx->owners[i] == id)
			return true;
	return ctx->taken && ctx->taken(id, ctx->userdata);
}

static int local_add(const struct mxc_identity_config *cfg, const char *name, mxc_id_taken_fn taken,
		     void *userdata, struct mxc_account *ret, struct mxc_error *err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	r = mxc_identity_config_check(cfg, err);
	if (r < 0)
		return r;
	r = check_name_free(cfg, name, err);
	if (r < 0)
		return r;

	char home[4096];
	snprintf(home, sizeof(home), "%s/%s", cfg->home_base, name);
	int basefd = -1;
	bool group = false, user = false, home_created = false;
	struct taken_ctx ctx = {0};
	/* What is at the home is checked now so that a refusal changes nothing. */
	r = mxc_identity_home_base_open(cfg->home_base, true, &basefd, err);
	if (r < 0)
		return r;
	r = mxc_identity_home_probe(basefd, name, home, err);
	if (r < 0)
		goto out;

	uint32_t agents_gid, id = 0;
	r = mxc_identity_ensure_group(MXC_AGENTS_GROUP, &agents_gid, err);
	if (r < 0)
		goto out;
	ctx.taken = taken;
	ctx.userdata = userdata;
	r = mxc_identity_home_owners(basefd, cfg->id_min, cfg->id_max, &ctx.owners, &ctx.n);
	if (r < 0) {
		mxc_error_errno(err, r, "failed to list the homes in '%s'", cfg->home_base);
		goto out;
	}
	/* Another writer may take the id between allocation and groupadd: then try again. */
	for (unsigned attempt = 1;; attempt++) {
		r = mxc_identity_allocate_id(cfg, taken_or_owner, &ctx, &id, err);
		if (r < 0)
			goto out;
		r = create_account(cfg, name, id, home, err);
		if (r == 0) {
			mxc_error_clear(err); /* what made earlier attempts fail */
			break;
		}
		if (r != -EEXIST || attempt == ADD_ATTEMPTS || !name_free(name))
			goto out;
	}
	group = user = true;

	struct mxc_identity_nss_user u = {0};
	r = mxc_identity_nss_user(name, &u);
	free(u.home);
	if (r < 0) {
		mxc_error_errno(err, r, "failed to look up the new account '%s'", name);
		goto out;
	}
	if (r == 0 || u.uid != id || u.gid != id) {
		r = mxc_error_set(
		    err, -EIO,
		    "account '%s' was created but NSS does not return it as uid %" PRIu32, name,
		    id);
		goto out;
	}

	r = lock_password(name, err);
	if (r < 0)
		goto out;
	r = mxc_identity_home_make(basefd, name, home, id, id, &home_created, err);
	if (r < 0)
		goto out;

	r = fill_account(name, id, id, home, ret, err);
out:
	if (r < 0)
		rollback(name, id, user, group, basefd, home_created, err);
	free(ctx.owners);
	mxc_close(basefd);
	return r;
}

static int local_remove(const struct mxc_identity_config *cfg, const struct mxc_account *acct,
			bool keep_home, struct mxc_error *err)
{
	if (!acct)
		return mxc_error_set(err, -EINVAL, "no agent to remove");
	const char *name = acct->name;
	int r = check_name(name, err);
	if (r < 0)
		return r;
	r = mxc_identity_config_check(cfg, err);
	if (r < 0)
		return r;

	struct mxc_identity_nss_user u = {0};
	int basefd = -1;
	r = mxc_identity_nss_user(name, &u);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to look up user '%s'", name);
	if (r == 0)
		return mxc_error_set(err, -ENOENT, "agent '%s' does not exist", name);

	char why[160];
	r = check_agent(cfg, name, &u, why, sizeof(why));
	if (r < 0) {
		mxc_error_errno(err, r, "failed to look up group '%s'", MXC_AGENTS_GROUP);
		goto out;
	}
	if (r == 0) {
		r = mxc_error_set(err, -EPERM, "refusing to remove '%s': not an mxc agent (%s)",
				  name, why);
		goto out;
	}
	if (u.uid != acct->uid || (acct->home && strcmp(acct->home, u.home) != 0)) {
		r = mxc_error_set(err, -ESTALE,
				  "refusing to remove agent '%s': the account (uid %" PRIu32
				  ", home '%s') is not the one expected",
				  name, u.uid, u.home);
		goto out;
	}

	/* Everything that could refuse is checked before the account is touched. */
	const char *child = NULL;
	if (!keep_home) {
		/* Only the home add made: never another agent's, never what passwd says. */
		child = mxc_identity_home_child(cfg->home_base, u.home);
		if (!mxc_streq(child, name)) {
			r = mxc_error_set(
			    err, -EPERM,
			    "refusing to remove the home '%s' of agent '%s': it is not "
			    "'%s/%s'",
			    u.home, name, cfg->home_base, name);
			goto out;
		}
		r = mxc_identity_home_base_open(cfg->home_base, false, &basefd, err);
		if (r == -ENOENT) {
			child = NULL; /* no base, no home to remove */
			mxc_error_clear(err);
		} else if (r < 0) {
			goto out;
		} else {
			r = mxc_identity_home_check_mounts(basefd, child, u.home, err);
			if (r < 0)
				goto out;
		}
	}

	const char *userdel[] = {USERDEL, name, NULL};
	r = mxc_identity_tool_run(userdel, err, "failed to remove account '%s'", name);
	if (r < 0)
		goto out;

	uint32_t gid;
	r = mxc_identity_nss_group(name, &gid);
	if (r < 0) {
		mxc_error_errno(err, r, "account '%s' removed, but looking up its group failed",
				name);
		goto out;
	}
	if (r > 0 && gid == u.gid) {
		const char *groupdel[] = {GROUPDEL, name, NULL};
		r = mxc_identity_tool_run(
		    groupdel, err, "account '%s' removed, but removing its group failed", name);
		if (r < 0)
			goto out;
	}

	r = 0;
	if (child) {
		r = mxc_rm_rf_at(basefd, child);
		if (r == -ENOENT)
			r = 0;
		else if (r == -EXDEV)
			mxc_error_set(
			    err, r,
			    "account '%s' removed, but its home '%s' holds a mount point "
			    "(mounted while it was removed) and was not removed completely",
			    name, u.home);
		else if (r < 0)
			mxc_error_errno(err, r,
					"account '%s' removed, but removing its home '%s' failed",
					name, u.home);
	}
out:
	mxc_close(basefd);
	free(u.home);
	return r;
}

static int local_lookup(const struct mxc_identity_config *cfg, const char *name,
			struct mxc_account *ret, struct mxc_error *err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	r = mxc_identity_config_check(cfg, err);
	if (r < 0)
		return r;

	struct mxc_identity_nss_user u = {0};
	r = mxc_identity_nss_user(name, &u);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to look up user '%s'", name);
	if (r == 0)
		return mxc_error_set(err, -ENOENT, "agent '%s' does not exist", name);

	char why[160];
	r = check_agent(cfg, name, &u, why, sizeof(why));
	if (r < 0)
		mxc_error_errno(err, r, "failed to look up group '%s'", MXC_AGENTS_GROUP);
	else if (r == 0)
		r = mxc_error_set(err, -EPERM, "user '%s' is not an mxc agent (%s)", name, why);
	else
		r = fill_account(name, u.uid, u.gid, u.home, ret, err);
	free(u.home);
	return r;
}

const struct mxc_identity_backend mxc_identity_local = {
    .name = "local",
    .add = local_add,
    .remove = local_remove,
    .lookup = local_lookup,
};
