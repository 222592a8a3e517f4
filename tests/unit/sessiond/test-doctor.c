/*
 * The host report (sessiond/doctor.h): every check is there with a verdict, a reason and what
 * it is for; verdicts agree with what this host has, found out here by other means (the
 * kernel's own files, other tools); it is fast; and it leaves nothing behind: no mount,
 * network device, nftables table, cgroup, process, descriptor or seccomp filter.
 *
 * Expected on this development host (root, Linux 6.18, Debian 12): everything ok, Landlock
 * ABI 7, cgroups v1 with memory and pids.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "doctor.h"
#include "fs.h"

static const char *const names[] = {
	"privileges",	   "namespace.mount", "namespace.pid",	  "namespace.net",
	"namespace.ipc",   "namespace.uts",   "namespace.cgroup", "namespace.user",
	"clone3",	   "pidfd",	      "openat2",	  "mount_api",
	"tmpfs",	   "overlay",	      "landlock",	  "seccomp.filter",
	"seccomp.listener", "cgroups",	      "nftables",	  "veth",
	"xvfb",
};

static struct json_object *report;

static void fini(void)
{
	json_object_put(report);
	report = NULL;
}

TestSuite(doctor, .fini = fini, .timeout = 60);

static struct json_object *check(const char *name)
{
	struct json_object *checks, *c;
	cr_assert(json_object_object_get_ex(report, "checks", &checks));
	cr_assert(json_object_object_get_ex(checks, name, &c), "no check '%s'", name);
	return c;
}

static bool is_ok(const char *name)
{
	struct json_object *v;
	cr_assert(json_object_object_get_ex(check(name), "ok", &v));
	return json_object_get_boolean(v);
}

static const char *reason(const char *name)
{
	struct json_object *v;
	cr_assert(json_object_object_get_ex(check(name), "reason", &v));
	return json_object_get_string(v);
}

static void expect(const char *name, bool want, const char *why)
{
	cr_assert_eq(is_ok(name), want, "%s: reported %s (%s), expected %s because %s", name,
		     is_ok(name) ? "ok" : "missing", reason(name), want ? "ok" : "missing", why);
}

static bool kernel_at_least(unsigned major, unsigned minor)
{
	struct utsname u;
	unsigned a, b;
	cr_assert_eq(uname(&u), 0);
	cr_assert_eq(sscanf(u.release, "%u.%u", &a, &b), 2);
	return a > major || (a == major && b >= minor);
}

static bool file_has(const char *path, const char *needle)
{
	char *text = NULL;
	if (mxc_read_file(path, 1u << 20, &text, NULL) < 0)
		return false;
	bool yes = strstr(text, needle) != NULL;
	free(text);
	return yes;
}

/* Runs a shell command line with output discarded; true if it exits 0. */
static bool runs(const char *cmd)
{
	char line[512];
	snprintf(line, sizeof(line), "%s >/dev/null 2>&1", cmd);
	int status = system(line);
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Test(doctor, every_check_has_a_verdict_a_reason_and_a_purpose)
{
	report = mxc_doctor_report(NULL);
	cr_assert_not_null(report);
	struct json_object *v, *checks;
	cr_assert(json_object_object_get_ex(report, "ok", &v));
	cr_assert(json_object_is_type(v, json_type_boolean));
	cr_assert(json_object_object_get_ex(report, "kernel", &v));
	cr_assert(json_object_is_type(v, json_type_string));
	cr_assert(json_object_object_get_ex(report, "took_ms", &v));
	cr_assert(json_object_is_type(v, json_type_int));
	cr_assert(json_object_object_get_ex(report, "checks", &checks));
	cr_assert_eq((size_t)json_object_object_length(checks), MXC_ARRAY_SIZE(names),
		     "%s", json_object_to_json_string(checks));
	size_t i = 0;
	bool all_required = true;
	json_object_object_foreach(checks, key, c)
	{
		/* In the documented order. */
		cr_assert_str_eq(key, names[i], "check %zu is '%s', expected '%s'", i, key,
				 names[i]);
		i++;
		const char *fields[] = { "ok", "required", "used_for", "reason" };
		for (size_t k = 0; k < MXC_ARRAY_SIZE(fields); k++)
			cr_assert(json_object_object_get_ex(c, fields[k], &v), "%s: no %s", key,
				  fields[k]);
		json_object_object_get_ex(c, "ok", &v);
		cr_assert(json_object_is_type(v, json_type_boolean));
		bool ok = json_object_get_boolean(v);
		json_object_object_get_ex(c, "required", &v);
		cr_assert(json_object_is_type(v, json_type_boolean));
		if (json_object_get_boolean(v) && !ok)
			all_required = false;
		json_object_object_get_ex(c, "reason", &v);
		cr_assert(json_object_is_type(v, json_type_string));
		cr_assert_gt(json_object_get_string_len(v), 0, "%s: empty reason", key);
		cr_assert_null(strchr(json_object_get_string(v), '\n'), "%s: not one line", key);
		const char *why = json_object_get_string(v);
		json_object_object_get_ex(c, "used_for", &v);
		cr_assert_gt(json_object_get_string_len(v), 0);
		cr_log_info("%-18s %-7s %s", key, ok ? "ok" : "MISSING", why);
	}
	json_object_object_get_ex(report, "ok", &v);
	cr_assert_eq(json_object_get_boolean(v), all_required);
	cr_assert(json_object_object_get_ex(check("landlock"), "abi", &v));
	cr_assert(json_object_object_get_ex(check("cgroups"), "mode", &v));
	cr_assert(json_object_object_get_ex(check("cgroups"), "controllers", &v));
	cr_assert(json_object_object_get_ex(check("cgroups"), "location", &v));
}

Test(doctor, verdicts_agree_with_what_this_host_has)
{
	report = mxc_doctor_report(NULL);
	cr_assert_not_null(report);
	bool root = geteuid() == 0;
	expect("privileges", root, "the test runs as root");

	static const struct {
		const char *check, *ns;
	} ns[] = {
		{ "namespace.mount", "mnt" }, { "namespace.pid", "pid" },
		{ "namespace.net", "net" },   { "namespace.ipc", "ipc" },
		{ "namespace.uts", "uts" },   { "namespace.cgroup", "cgroup" },
		{ "namespace.user", "user" },
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(ns); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i].ns);
		expect(ns[i].check, root && access(path, F_OK) == 0,
		       "/proc/self/ns shows the namespace and we are root");
	}

	/* Landlock: what the kernel says to the same question asked directly. */
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	struct json_object *v;
	cr_assert(json_object_object_get_ex(check("landlock"), "abi", &v));
	cr_assert_eq(json_object_get_int64(v), abi < 0 ? 0 : abi);
	expect("landlock", abi >= 1, "landlock_create_ruleset answers with an ABI");
	cr_log_info("Landlock ABI %ld", abi);

	/* seccomp: the kernel lists its filter state for every process. */
	bool seccomp = prctl(PR_GET_SECCOMP) >= 0 &&
		       file_has("/proc/self/status", "Seccomp_filters:");
	expect("seccomp.filter", seccomp, "PR_GET_SECCOMP works and the kernel counts filters");
	expect("seccomp.listener", seccomp && kernel_at_least(5, 0),
	       "user notification exists since Linux 5.0");

	bool modern = kernel_at_least(5, 12);
	expect("clone3", kernel_at_least(5, 3), "clone3 exists since Linux 5.3");
	expect("pidfd", kernel_at_least(5, 3), "pidfd_open exists since Linux 5.3");
	expect("openat2", kernel_at_least(5, 6), "openat2 exists since Linux 5.6");
	expect("mount_api", root && modern, "mount_setattr exists since Linux 5.12");
	expect("tmpfs", file_has("/proc/filesystems", "\ttmpfs\n"), "/proc/filesystems lists it");
	if (file_has("/proc/filesystems", "\toverlay\n"))
		expect("overlay", true, "/proc/filesystems lists it");

	expect("xvfb", access("/usr/bin/Xvfb", X_OK) == 0, "/usr/bin/Xvfb is executable");

	/* Network: the same things with the standard tools in a scratch network namespace. */
	if (access("/usr/bin/unshare", X_OK) == 0 && access("/usr/sbin/nft", X_OK) == 0)
		expect("nftables", runs("/usr/bin/unshare --net /usr/sbin/nft add table inet t"),
		       "nft can add a table in a new network namespace");
	const char *ip = access("/usr/sbin/ip", X_OK) == 0  ? "/usr/sbin/ip"
			 : access("/usr/bin/ip", X_OK) == 0 ? "/usr/bin/ip"
							    : NULL;
	if (access("/usr/bin/unshare", X_OK) == 0 && ip) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/unshare --net %s link add name t0 type veth peer name t1", ip);
		expect("veth", runs(cmd), "ip can add a veth pair in a new network namespace");
	}

	/* cgroups: what detection itself finds. */
	struct mxc_cgroups *c = NULL;
	struct mxc_cgroups_options opt = { .probe = true };
	cr_assert_eq(mxc_cgroups_detect(&opt, &c, NULL), 0);
	cr_assert(json_object_object_get_ex(check("cgroups"), "mode", &v));
	cr_assert_str_eq(json_object_get_string(v), mxc_cgroup_mode_to_string(mxc_cgroups_mode(c)));
	unsigned both = MXC_CGROUP_MEMORY | MXC_CGROUP_PIDS;
	expect("cgroups", (mxc_cgroups_controllers(c) & both) == both,
	       "detection finds memory and pids");
	cr_log_info("cgroups: %s", reason("cgroups"));
	mxc_cgroups_free(c);
}

Test(doctor, uses_the_daemons_cgroups_when_given)
{
	struct mxc_cgroups *c = NULL;
	struct mxc_cgroups_options opt = { .probe = true, .modes = 1u << MXC_CGROUP_NONE };
	cr_assert_eq(mxc_cgroups_detect(&opt, &c, NULL), 0);
	report = mxc_doctor_report(c);
	struct json_object *v;
	cr_assert(json_object_object_get_ex(check("cgroups"), "mode", &v));
	cr_assert_str_eq(json_object_get_string(v), "none");
	expect("cgroups", false, "the daemon's cgroups are mode none");
	cr_assert(strstr(reason("cgroups"), "RLIMIT_NPROC"), "%s", reason("cgroups"));
	mxc_cgroups_free(c);
}

/*
 * Under AddressSanitizer a forked copy of the process takes far longer to tear down (its
 * shadow memory goes with it), which the report waits for.
 */
#ifdef __SANITIZE_ADDRESS__
#define FAST_MS 1000ull
#else
#define FAST_MS 100ull
#endif

Test(doctor, is_fast)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = mxc_now_mono_ns();
		struct json_object *r = mxc_doctor_report(NULL);
		uint64_t dt = mxc_now_mono_ns() - t0;
		cr_assert_not_null(r);
		json_object_put(r);
		cr_log_info("report %d took %.1f ms", i, (double)dt / 1e6);
		if (dt < best)
			best = dt;
	}
	cr_assert_lt(best, FAST_MS * 1000000ull, "the report took %.1f ms", (double)best / 1e6);
}

/* ---- leaves nothing ---- */

static char *snapshot_dir(const char *path)
{
	DIR *d = opendir(path);
	cr_assert_not_null(d, "%s", path);
	size_t cap = 4096, len = 0;
	char *out = calloc(1, cap);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (len + n + 2 > cap) {
			cap = cap * 2 + n;
			out = realloc(out, cap);
		}
		memcpy(out + len, e->d_name, n);
		len += n;
		out[len++] = '\n';
		out[len] = '\0';
	}
	closedir(d);
	return out;
}

static char *slurp(const char *path)
{
	char *t = NULL;
	cr_assert_eq(mxc_read_file(path, 1u << 22, &t, NULL), 0, "%s", path);
	return t;
}

static int count_fds(void)
{
	char *s = snapshot_dir("/proc/self/fd");
	int n = 0;
	for (char *p = s; *p; p++)
		n += *p == '\n';
	free(s);
	return n;
}

static char *status_line(const char *key)
{
	char *s = slurp("/proc/self/status"), *p = strstr(s, key);
	cr_assert_not_null(p, "%s", key);
	char *line = strndup(p, strcspn(p, "\n"));
	free(s);
	return line;
}

Test(doctor, leaves_nothing_behind)
{
	char *links = snapshot_dir("/sys/class/net"), *mounts = slurp("/proc/self/mountinfo");
	char *cg_mem = NULL;
	bool have_nft = access("/usr/sbin/nft", X_OK) == 0;
	int fds = count_fds();
	char *seccomp = status_line("Seccomp:"), *nnp = status_line("NoNewPrivs:");
	/* Where a daemon would put its cgroup subtree: probing must not make it. */
	struct mxc_cgroups *c = NULL;
	struct mxc_cgroups_options opt = { .probe = true };
	cr_assert_eq(mxc_cgroups_detect(&opt, &c, NULL), 0);
	bool subtree_existed = mxc_cgroups_path(c, 0) && access(mxc_cgroups_path(c, 0), F_OK) == 0;
	if (mxc_cgroups_path(c, 0))
		cg_mem = strdup(mxc_cgroups_path(c, 0));

	report = mxc_doctor_report(NULL);
	cr_assert_not_null(report);

	char *links2 = snapshot_dir("/sys/class/net"), *mounts2 = slurp("/proc/self/mountinfo");
	cr_assert_str_eq(links2, links, "network devices changed");
	cr_assert_str_eq(mounts2, mounts, "mounts changed");
	cr_assert_eq(count_fds(), fds, "descriptors leaked");
	char *seccomp2 = status_line("Seccomp:"), *nnp2 = status_line("NoNewPrivs:");
	cr_assert_str_eq(seccomp2, seccomp, "the caller got a seccomp filter");
	cr_assert_str_eq(nnp2, nnp, "the caller got no_new_privs");
	/* No child left, not even a zombie. */
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
	cr_assert_eq(errno, ECHILD);
	if (cg_mem)
		cr_assert_eq(access(cg_mem, F_OK) == 0, subtree_existed, "%s appeared", cg_mem);
	if (have_nft)
		cr_assert_not(runs("/usr/sbin/nft list table inet mxc_doctor"),
			      "the doctor's table is in the host's ruleset");
	free(links);
	free(links2);
	free(mounts);
	free(mounts2);
	free(seccomp);
	free(seccomp2);
	free(nnp);
	free(nnp2);
	free(cg_mem);
	mxc_cgroups_free(c);
}
