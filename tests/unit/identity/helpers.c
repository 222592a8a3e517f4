#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fs.h"
#include "helpers.h"

struct mxc_testenv env;
struct mxc_identity_config cfg;
char home_base[256], subuid_path[256], subgid_path[256];
char test_mount[512];

void identity_setup(void)
{
	mxc_testenv_enter(&env);
	snprintf(home_base, sizeof(home_base), "%s/home", env.scratch);
	snprintf(subuid_path, sizeof(subuid_path), "%s/subuid", env.scratch);
	snprintf(subgid_path, sizeof(subgid_path), "%s/subgid", env.scratch);
	cfg = (struct mxc_identity_config){
	    .id_min = 70000,
	    .id_max = 70009,
	    .home_base = home_base,
	    .subuid_path = subuid_path,
	    .subgid_path = subgid_path,
	    .shell = "/usr/sbin/nologin",
	};
}

void identity_teardown(void)
{
	if (test_mount[0])
		umount2(test_mount, MNT_DETACH);
	char root[sizeof(env.root)];
	memcpy(root, env.root, sizeof(root));
	mxc_testenv_leave(&env);
	/*
	 * mxc_testenv_leave() removes the root with mxc_rm_rf(path), which fails on a directory
	 * (it fstat()s AT_FDCWD); remove it relative to its real parent until that is fixed.
	 */
	char *slash = strrchr(root, '/');
	if (!root[0] || !slash || slash == root || !path_exists(root))
		return;
	*slash = '\0';
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		mxc_rm_rf_at(fd, slash + 1);
		close(fd);
	}
}

char *getent(const char *db, const char *key)
{
	const char *argv[] = {"getent", db, key, NULL};
	char *out = NULL;
	int status = mxc_testenv_run_output(argv, &out);
	if (status != 0 || !out) {
		free(out);
		return NULL;
	}
	out[strcspn(out, "\n")] = '\0';
	return out;
}

void run_ok(const char *const *argv)
{
	cr_assert_eq(mxc_testenv_run(argv), 0, "%s %s failed", argv[0], argv[1] ? argv[1] : "");
}

char *slurp(const char *path)
{
	char *text = NULL;
	size_t len;
	int r = mxc_read_file(path, 64 << 20, &text, &len);
	cr_assert_eq(r, 0, "reading %s: %s", path, strerror(-r));
	return text;
}

void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "creating %s: %s", path, strerror(errno));
	fputs(content, f);
	cr_assert_eq(fclose(f), 0);
}

void assert_file_is(const char *path, const char *content)
{
	char *text = slurp(path);
	bool same = strcmp(text, content) == 0;
	free(text);
	cr_assert(same, "%s does not hold \"%s\"", path, content);
}

bool path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

void snapshot_take(struct accounts_snapshot *s)
{
	s->passwd = slurp("/etc/passwd");
	s->group = slurp("/etc/group");
	s->shadow = slurp("/etc/shadow");
	s->gshadow = slurp("/etc/gshadow");
}

void snapshot_assert_same(const struct accounts_snapshot *s)
{
	struct accounts_snapshot now;
	snapshot_take(&now);
	cr_assert_str_eq(now.passwd, s->passwd, "/etc/passwd changed");
	cr_assert_str_eq(now.group, s->group, "/etc/group changed");
	cr_assert_str_eq(now.shadow, s->shadow, "/etc/shadow changed");
	cr_assert_str_eq(now.gshadow, s->gshadow, "/etc/gshadow changed");
	snapshot_free(&now);
}

void snapshot_free(struct accounts_snapshot *s)
{
	free(s->passwd);
	free(s->group);
	free(s->shadow);
	free(s->gshadow);
}
