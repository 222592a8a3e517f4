#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdlib.h>

#include "nss.h"
#include "util.h"

/* Groups with many members need big buffers; beyond this the entry is refused. */
#define NSS_BUF_MAX (16u << 20)

/* glibc and NSS modules report "not found" as 0, ENOENT or ESRCH (getpwnam_r(3)). */
static bool absent(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH;
}

/*
 * Runs one reentrant lookup with a buffer that grows on ERANGE. fn returns what the
 * lookup function returned (an errno value) and sets *found.
 */
static int with_buffer(int (*fn)(char *buf, size_t size, void *ctx, bool *found), void *ctx)
{
	for (size_t size = 4096;; size *= 2) {
		char *buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		bool found = false;
		int e = fn(buf, size, ctx, &found);
		free(buf);
		if (found)
			return 1;
		if (e == ERANGE && size < NSS_BUF_MAX)
			continue;
		return absent(e) ? 0 : -e;
	}
}

struct user_query {
	const char *name;
	struct mxc_identity_nss_user *ret;
	int alloc_error;
};

static int user_fn(char *buf, size_t size, void *ctx, bool *found)
{
	struct user_query *q = ctx;
	struct passwd pw, *res = NULL;
	int e = getpwnam_r(q->name, &pw, buf, size, &res);
	if (!res)
		return e;
	char *home = strdup(pw.pw_dir ? pw.pw_dir : "");
	if (!home)
		return ENOMEM;
	q->ret->uid = pw.pw_uid;
	q->ret->gid = pw.pw_gid;
	q->ret->home = home;
	*found = true;
	return 0;
}

int mxc_identity_nss_user(const char *name, struct mxc_identity_nss_user *ret)
{
	struct user_query q = {.name = name, .ret = ret};
	return with_buffer(user_fn, &q);
}

static int uid_fn(char *buf, size_t size, void *ctx, bool *found)
{
	struct passwd pw, *res = NULL;
	int e = getpwuid_r(*(const uint32_t *)ctx, &pw, buf, size, &res);
	*found = res != NULL;
	return e;
}

int mxc_identity_nss_uid_exists(uint32_t uid)
{
	return with_buffer(uid_fn, &uid);
}

static int gid_fn(char *buf, size_t size, void *ctx, bool *found)
{
	struct group gr, *res = NULL;
	int e = getgrgid_r(*(const uint32_t *)ctx, &gr, buf, size, &res);
	*found = res != NULL;
	return e;
}

int mxc_identity_nss_gid_exists(uint32_t gid)
{
	return with_buffer(gid_fn, &gid);
}

struct group_query {
	const char *name;
	const char *member; /* NULL: any group of that name counts */
	uint32_t gid;
};

static int group_fn(char *buf, size_t size, void *ctx, bool *found)
{
	struct group_query *q = ctx;
	struct group gr, *res = NULL;
	int e = getgrnam_r(q->name, &gr, buf, size, &res);
	if (!res)
		return e;
	q->gid = gr.gr_gid;
	if (!q->member) {
		*found = true;
		return 0;
	}
	for (char **m = gr.gr_mem; m && *m; m++)
		if (strcmp(*m, q->member) == 0)
			*found = true;
	/* Present but without the member: "absent" for the caller. */
	return 0;
}

int mxc_identity_nss_group(const char *name, uint32_t *ret_gid)
{
	struct group_query q = {.name = name};
	int r = with_buffer(group_fn, &q);
	if (r > 0 && ret_gid)
		*ret_gid = q.gid;
	return r;
}

int mxc_identity_nss_group_has_member(const char *group, const char *user)
{
	struct group_query q = {.name = group, .member = user};
	return with_buffer(group_fn, &q);
}

struct shadow_query {
	const char *name;
	bool locked;
};

static int shadow_fn(char *buf, size_t size, void *ctx, bool *found)
{
	struct shadow_query *q = ctx;
	struct spwd sp, *res = NULL;
	int e = getspnam_r(q->name, &sp, buf, size, &res);
	if (!res)
		return e;
	q->locked = sp.sp_pwdp && (sp.sp_pwdp[0] == '!' || sp.sp_pwdp[0] == '*');
	*found = true;
	return 0;
}

int mxc_identity_nss_password_locked(const char *name)
{
	struct shadow_query q = {.name = name};
	int r = with_buffer(shadow_fn, &q);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	return q.locked ? 1 : 0;
}
