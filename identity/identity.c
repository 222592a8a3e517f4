#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "identity.h"
#include "nss.h"
#include "tool.h"

bool mxc_agent_name_valid(const char *name)
{
	if (!name)
		return false;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	size_t i = 1;
	for (; name[i]; i++) {
		char c = name[i];
		if (i >= MXC_AGENT_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

void mxc_identity_config_defaults(struct mxc_identity_config *cfg)
{
	*cfg = (struct mxc_identity_config){
	    .id_min = MXC_UID_MIN,
	    .id_max = MXC_UID_MAX,
	    .home_base = MXC_STATE_DIR "/home",
	    .subuid_path = "/etc/subuid",
	    .subgid_path = "/etc/subgid",
	    .shell = "/usr/sbin/nologin",
	};
}

/* Ids an agent must never get; see mxc_identity_config_check() in identity.h. */
static const struct {
	uint32_t first, last;
	const char *what;
} reserved_ids[] = {
    {0, 999, "system accounts (0-999)"},
    {60000, 65535,
     "Debian's static allocations, systemd-homed and DynamicUser= users, nobody and "
     "(uint16_t)-1 (60000-65535)"},
    {524288, UINT32_MAX,
     "systemd's container and foreign ranges and ids software reads as negative "
     "(524288 and up)"},
};

/* A path that goes into /etc/passwd: absolute, no ':' and no control characters. */
static int check_path(const char *what, const char *path, struct mxc_error *err)
{
	if (!path || path[0] != '/')
		return mxc_error_set(err, -EINVAL, "%s must be an absolute path", what);
	if (strlen(path) >= 4096)
		return mxc_error_set(err, -EINVAL, "%s is too long", what);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p == ':' || *p < 0x20 || *p == 0x7f)
			return mxc_error_set(err, -EINVAL,
					     "%s '%s' contains ':' or a control character", what,
					     path);
	return 0;
}

int mxc_identity_config_check(const struct mxc_identity_config *cfg, struct mxc_error *err)
{
	if (!cfg)
		return mxc_error_set(err, -EINVAL, "no identity configuration");
	if (cfg->id_min > cfg->id_max)
		return mxc_error_set(err, -ERANGE,
				     "agent id range %" PRIu32 "-%" PRIu32 " is empty (minimum "
				     "above maximum)",
				     cfg->id_min, cfg->id_max);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(reserved_ids); i++)
		if (cfg->id_min <= reserved_ids[i].last && cfg->id_max >= reserved_ids[i].first)
			return mxc_error_set(err, -ERANGE,
					     "agent id range %" PRIu32 "-%" PRIu32
					     " overlaps the ids of %s",
					     cfg->id_min, cfg->id_max, reserved_ids[i].what);

	int r = check_path("the agent home base", cfg->home_base, err);
	if (r < 0)
		return r;
	const char *h = cfg->home_base;
	if (strcmp(h, "/") == 0)
		return mxc_error_set(err, -EINVAL, "the agent home base must not be '/'");
	size_t hl = strlen(h);
	if (h[hl - 1] == '/' || strstr(h, "//") || strstr(h, "/./") || strstr(h, "/../") ||
	    (hl >= 2 && strcmp(h + hl - 2, "/.") == 0) ||
	    (hl >= 3 && strcmp(h + hl - 3, "/..") == 0))
		return mxc_error_set(err, -EINVAL,
				     "the agent home base '%s' is not a normalized path (no "
				     "'.', '..', '//' or trailing '/')",
				     h);
	/* Room for "/" and a name of MXC_AGENT_NAME_MAX characters in a PATH_MAX path. */
	if (hl > 4096 - 2 - MXC_AGENT_NAME_MAX)
		return mxc_error_set(err, -EINVAL, "the agent home base is too long");

	r = check_path("the agent shell", cfg->shell, err);
	if (r < 0)
		return r;
	r = check_path("the subuid file", cfg->subuid_path, err);
	if (r < 0)
		return r;
	return check_path("the subgid file", cfg->subgid_path, err);
}

void mxc_account_finish(struct mxc_account *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->home);
	free(a->backend);
	*a = (struct mxc_account){0};
}

int mxc_identity_allocate_id(const struct mxc_identity_config *cfg, mxc_id_taken_fn taken,
			     void *userdata, uint32_t *ret, struct mxc_error *err)
{
	int r = mxc_identity_config_check(cfg, err);
	if (r < 0)
		return r;

	struct mxc_subid_range *subuid = NULL, *subgid = NULL;
	size_t n_subuid = 0, n_subgid = 0, malformed;
	r = mxc_subid_load(cfg->subuid_path, &subuid, &n_subuid, &malformed, err);
	if (r < 0)
		goto out;
	r = mxc_subid_load(cfg->subgid_path, &subgid, &n_subgid, &malformed, err);
	if (r < 0)
		goto out;

	/* Cheap checks first; NSS may be a directory server. */
	for (uint64_t id = cfg->id_min; id <= cfg->id_max; id++) {
		if (mxc_subid_contains(subuid, n_subuid, id) ||
		    mxc_subid_contains(subgid, n_subgid, id))
			continue;
		if (taken && taken((uint32_t)id, userdata))
			continue;
		r = mxc_identity_nss_uid_exists((uint32_t)id);
		if (r < 0) {
			mxc_error_errno(err, r, "failed to look up uid %" PRIu64, id);
			goto out;
		}
		if (r > 0)
			continue;
		r = mxc_identity_nss_gid_exists((uint32_t)id);
		if (r < 0) {
			mxc_error_errno(err, r, "failed to look up gid %" PRIu64, id);
			goto out;
		}
		if (r > 0)
			continue;
		*ret = (uint32_t)id;
		r = 0;
		goto out;
	}
	r = mxc_error_set(err, -ENOSPC,
			  "no free id left in the agent range %" PRIu32 "-%" PRIu32
			  " (every id is a user, a group, in a subordinate id range or known "
			  "to the daemon)",
			  cfg->id_min, cfg->id_max);
out:
	free(subuid);
	free(subgid);
	return r;
}

int mxc_identity_ensure_group(const char *name, uint32_t *ret_gid, struct mxc_error *err)
{
	if (!mxc_agent_name_valid(name))
		return mxc_error_set(err, -EINVAL, "invalid group name '%s'", name ? name : "");
	uint32_t gid;
	int r = mxc_identity_nss_group(name, &gid);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to look up group '%s'", name);
	if (r == 0) {
		const char *argv[] = {"/usr/sbin/groupadd", "--system", name, NULL};
		r = mxc_identity_tool_run(argv, err, "failed to create group '%s'", name);
		/* -EEXIST: created concurrently by someone else, which is just as good. */
		if (r < 0 && r != -EEXIST)
			return r;
		r = mxc_identity_nss_group(name, &gid);
		if (r < 0)
			return mxc_error_errno(err, r, "failed to look up group '%s'", name);
		if (r == 0)
			return mxc_error_set(
			    err, -ENOENT, "group '%s' was created but cannot be looked up", name);
	}
	*ret_gid = gid;
	return 0;
}

/* NGROUPS_MAX on Linux. */
#define GROUPS_MAX 65536

int mxc_identity_groups(const struct mxc_account *a, uint32_t **ret, size_t *ret_n,
			struct mxc_error *err)
{
	/* Directory-backed agents need not follow the local naming rule: only bound it. */
	if (!a || !a->name || !a->name[0] || strnlen(a->name, 256) == 256)
		return mxc_error_set(err, -EINVAL, "no valid agent name to list the groups of");
	int n = 32;
	gid_t *groups = NULL;
	for (;;) {
		gid_t *g = realloc(groups, (size_t)n * sizeof(gid_t));
		if (!g) {
			free(groups);
			return mxc_error_errno(err, -ENOMEM, "failed to list the groups of '%s'",
					       a->name);
		}
		groups = g;
		int want = n;
		if (getgrouplist(a->name, a->gid, groups, &want) >= 0) {
			n = want;
			break;
		}
		/* want is now the number needed; it only grows. */
		if (want <= n || want > GROUPS_MAX) {
			free(groups);
			return mxc_error_set(err, -E2BIG, "agent '%s' is in too many groups",
					     a->name);
		}
		n = want;
	}

	uint32_t *out = calloc((size_t)n, sizeof(uint32_t));
	if (!out) {
		free(groups);
		return mxc_error_errno(err, -ENOMEM, "failed to list the groups of '%s'", a->name);
	}
	/* getgrouplist puts the primary group first; keep it there. */
	for (int i = 0; i < n; i++)
		out[i] = groups[i];
	free(groups);
	*ret = out;
	*ret_n = (size_t)n;
	return 0;
}
