/*
 * Escape attempts for privilege, each run as the agent inside a real session: setuid and
 * file-capability programs, mounts, namespaces, kernel modules and the kernel interfaces the
 * seccomp filter refuses (sessiond/seccomp-filter.h), and the credentials the agent is left
 * with. The probe (probe-privilege.c) reports each attempt's errno; where the kernel alone
 * would answer differently, the same probe run outside a session shows that the attempt is
 * real and that it is mxc that stops it.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "util.h"

static struct mxc_harness h;
static uid_t agent_uid;
static gid_t agent_gid;
static char probe[300];	    /* in the agent's home: the attacker inside a session */
static char probe_src[300]; /* the build's copy */

static void dir(const char *path, mode_t mode)
{
	cr_assert(mkdir(path, mode) == 0 || errno == EEXIST, "cannot create %s", path);
	chmod(path, mode);
}

/* Copies the probe to path, owned by root (mode applied after the owner: chown clears S_ISUID). */
static void copy_probe(const char *path, mode_t mode)
{
	char *data = NULL;
	size_t n = 0;
	cr_assert_eq(mxc_read_file(probe_src, 64u << 20, &data, &n), 0, "cannot read %s",
		     probe_src);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	cr_assert_geq(fd, 0, "cannot create %s", path);
	cr_assert_eq(mxc_write_all(fd, data, n), 0);
	cr_assert_eq(fchown(fd, 0, 0), 0);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
	free(data);
}

/*
 * The host, as the test's private mount namespace shows it to the daemon: /srv is a tmpfs
 * of the test's (no nosuid there) holding a root-owned copy of the probe for runs outside a
 * session.
 */
static void setup(void)
{
	mxc_harness_start(&h);
	cr_assert_eq(mount("tmpfs", "/srv", "tmpfs", 0, "mode=0755"), 0, "tmpfs on /srv");
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	const struct passwd *pw = getpwnam("coder");
	cr_assert_not_null(pw);
	agent_uid = pw->pw_uid;
	agent_gid = pw->pw_gid;
	snprintf(probe_src, sizeof(probe_src), "%s/tests/escape/probe-privilege", h.bin);
	mxc_harness_install("coder", probe_src, "probe", probe, sizeof(probe));
	dir("/srv/host", 0755);
	copy_probe("/srv/host/probe", 0755);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(privilege, .init = setup, .fini = teardown, .timeout = 120);

/* A process-only session; filesystem is the policy's filesystem object or NULL. */
static char *start(const char *filesystem)
{
	char path[300], text[1024];
	snprintf(path, sizeof(path), "%s/policy.json", h.env.scratch);
	snprintf(text, sizeof(text), "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false}%s%s}",
		 filesystem ? ",\"filesystem\":" : "", filesystem ? filesystem : "");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
	return mxc_ok(&h, "session", "start", "coder", "--policy", path, NULL);
}

/* Stops the session and asserts nothing of the agent is left running. */
static void stop(char *id)
{
	free(mxc_ok(&h, "session", "stop", id, NULL));
	for (int i = 0; i < 100 && mxc_processes_of(&h, agent_uid) > 0; i++)
		usleep(20000);
	cr_assert_eq(mxc_processes_of(&h, agent_uid), 0,
		     "processes of the agent outlived session %s", id);
	free(id);
}

/* Runs program (a path inside the session) with one argument as the agent; its stdout. */
static char *in_session(const char *id, const char *program, const char *arg)
{
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", program, arg, NULL);
	cr_assert_eq(r.status, 0, "%s %s failed (%d): %s%s", program, arg, r.status, r.out, r.err);
	free(r.err);
	return r.out;
}

static struct mxc_result shell(const char *id, const char *script)
{
	return mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", script, NULL);
}

static void shell_fails(const char *id, const char *script, const char *not_in_output)
{
	struct mxc_result r = shell(id, script);
	cr_assert_neq(r.status, 0, "'%s' succeeded: %s", script, r.out);
	if (not_in_output) {
		cr_assert_null(strstr(r.out, not_in_output), "'%s': %s", script, r.out);
		cr_assert_null(strstr(r.err, not_in_output), "'%s': %s", script, r.err);
	}
	mxc_result_free(&r);
}

static void shell_works(const char *id, const char *script)
{
	struct mxc_result r = shell(id, script);
	cr_assert_eq(r.status, 0, "'%s' failed (%d): %s%s", script, r.status, r.out, r.err);
	mxc_result_free(&r);
}

/*
 * Runs argv outside any session, as uid (root: in a mount namespace of its own with a fresh
 * /tmp, so that nothing it mounts or makes reaches the host); its stdout and stderr.
 */
static char *on_host(uid_t uid, gid_t gid, const char *const *argv)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (uid == 0) {
			if (unshare(CLONE_NEWNS) < 0 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777") < 0)
				_exit(126);
		} else if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
			_exit(126);
		}
		if (chdir("/") < 0 || setenv("HOME", "/tmp", 1) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0, cap = 65536;
	char *out = malloc(cap + 1);
	ssize_t k;
	while (out && (k = read(p[0], out + len, cap - len)) > 0)
		len += (size_t)k;
	close(p[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	cr_assert_not_null(out);
	out[len] = '\0';
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s on the host failed: %s",
		  argv[0], out);
	return out;
}

static char *probe_on_host(uid_t uid, const char *program, const char *cmd)
{
	const char *argv[] = {program, cmd, NULL};
	return on_host(uid, uid ? agent_gid : 0, argv);
}

/* The result the probe printed for attempt name ("EPERM", "ok", "SIGSYS" ...); asserts one. */
static const char *result(const char *out, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);
	for (const char *line = out; line && *line; line = strchr(line, '\n'), line += !!line) {
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			const char *v = line + n + 1;
			snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
			return buf;
		}
	}
	cr_assert_fail("the probe reported nothing for %s:\n%s", name, out);
	return NULL;
}

static void expect(const char *out, const char *name, const char *want)
{
	char buf[64];
	cr_assert_str_eq(result(out, name, buf, sizeof(buf)), want, "%s: %s, not %s", name, buf,
			 want);
}

static void expect_not(const char *out, const char *name, const char *unwanted)
{
	char buf[64];
	cr_assert_str_neq(result(out, name, buf, sizeof(buf)), unwanted, "%s: %s", name, buf);
}

/* A sysctl as a number; fallback if the file does not exist on this kernel. */
static long sysctl_value(const char *path, long fallback)
{
	char *text = NULL;
	long v = fallback;
	if (mxc_read_file(path, 64, &text, NULL) == 0)
		v = strtol(text, NULL, 10);
	free(text);
	return v;
}

Test(privilege, setuid_and_file_capability_programs_give_nothing)
{
	/* A setuid-root copy of the probe, and one with file capabilities (sys_admin, setuid),
	 * in a directory the policy grants. */
	dir("/srv/suid", 0755);
	copy_probe("/srv/suid/probe", 04755);
	copy_probe("/srv/suid/probe-caps", 0755);
	struct vfs_cap_data caps = {.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE};
	caps.data[0].permitted = (1u << CAP_SYS_ADMIN) | (1u << CAP_SETUID);
	cr_assert_eq(
	    setxattr("/srv/suid/probe-caps", "security.capability", &caps, XATTR_CAPS_SZ_2, 0), 0,
	    "setting file capabilities: %s", strerror(errno));

	/* Control: outside a session they do give the agent root and the capabilities. */
	char *out = probe_on_host(agent_uid, "/srv/suid/probe", "ids");
	unsigned r = 1, e = 1, s = 1;
	char cap[32];
	cr_assert_eq(sscanf(out, "ids %u %u %u %31s", &r, &e, &s, cap), 4, "%s", out);
	cr_assert(r == agent_uid && e == 0 && s == 0, "the setuid copy does not work: %s", out);
	free(out);
	out = probe_on_host(agent_uid, "/srv/suid/probe-caps", "ids");
	cr_assert_eq(sscanf(out, "ids %u %u %u %31s", &r, &e, &s, cap), 4, "%s", out);
	cr_assert_eq(strtoull(cap, NULL, 16), (1ull << CAP_SYS_ADMIN) | (1ull << CAP_SETUID),
		     "the file capabilities do not work: %s", out);
	free(out);

	char *id = start("{\"readonlyPaths\":[\"/srv/suid\"]}");
	/* The bit is there to see; exec ignores it (no_new_privs, and the mount is nosuid). */
	shell_works(id, "test -u /srv/suid/probe && test -x /srv/suid/probe-caps");
	char want[80];
	snprintf(want, sizeof(want), "ids %u %u %u 0000000000000000\n", agent_uid, agent_uid,
		 agent_uid);
	out = in_session(id, "/srv/suid/probe", "ids");
	cr_assert_str_eq(out, want, "the setuid-root probe gained privilege");
	free(out);
	out = in_session(id, "/srv/suid/probe-caps", "ids");
	cr_assert_str_eq(out, want, "the file-capability probe gained privilege");
	free(out);
	stop(id);
}

Test(privilege, the_systems_setuid_programs_give_nothing)
{
	struct stat st;
	if (stat("/usr/bin/mount", &st) < 0 || !(st.st_mode & S_ISUID) || st.st_uid != 0)
		cr_skip_test("/usr/bin/mount is not setuid root on this host");
	char *id = start(NULL);
	/* Control: the program is there, setuid, and runs. */
	shell_works(id, "test -u /usr/bin/mount && /usr/bin/mount --version");
	shell_fails(id, "mkdir -p /tmp/x && /usr/bin/mount -t tmpfs none /tmp/x", NULL);
	shell_fails(id, "grep ' /tmp/x ' /proc/self/mountinfo", NULL);
	shell_fails(id, "/usr/bin/umount -l /tmp", NULL);
	shell_works(id, "grep -q ' /tmp ' /proc/self/mountinfo");
	if (stat("/usr/bin/su", &st) == 0 && (st.st_mode & S_ISUID))
		shell_fails(id, "/usr/bin/su -c id root </dev/null", "uid=0");
	stop(id);
}

Test(privilege, mounts_are_refused)
{
	/* Control: with privilege (root, a mount namespace of its own) the probe's attempts
	 * work, so their failure in a session is not the probe's. */
	char *out = probe_on_host(0, "/srv/host/probe", "mounts");
	expect(out, "mount", "ok");
	expect(out, "mount-bind", "ok");
	expect(out, "umount2", "ok");
	expect(out, "chroot", "ok");
	expect(out, "fsopen", "ok");
	expect(out, "open_tree", "ok");
	free(out);

	char *id = start(NULL);
	out = in_session(id, probe, "mounts");
	static const char *const calls[] = {
	    "mount",	 "mount-bind",	   "mount-remount", "umount2",	    "pivot_root",
	    "chroot",	 "fsopen",	   "fspick",	    "fsconfig",	    "fsmount",
	    "open_tree", "open_tree_attr", "move_mount",    "mount_setattr"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(calls); i++)
		expect(out, calls[i], "EPERM");
	free(out);
	shell_fails(id, "grep ' /tmp/mnt ' /proc/self/mountinfo", NULL);
	stop(id);
}

Test(privilege, namespaces_cannot_be_made_or_joined)
{
	/* Control: outside a session, this host lets an unprivileged user make a user
	 * namespace (and so every other) with unshare, clone and clone3. */
	if (sysctl_value("/proc/sys/user/max_user_namespaces", 1) > 0 &&
	    sysctl_value("/proc/sys/kernel/unprivileged_userns_clone", 1) == 1 &&
	    sysctl_value("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 0) == 0) {
		char *out = probe_on_host(agent_uid, "/srv/host/probe", "namespaces");
		expect(out, "unshare-user", "ok");
		expect(out, "unshare-user-mnt", "ok");
		expect(out, "clone-user", "ok");
		expect(out, "clone3-user", "ok");
		free(out);
	}

	char *id = start(NULL);
	char *out = in_session(id, probe, "namespaces");
	static const char *const eperm[] = {
	    "unshare-user",   "unshare-user-mnt", "unshare-mnt",    "unshare-net",  "unshare-pid",
	    "unshare-uts",    "unshare-ipc",	  "unshare-cgroup", "unshare-time", "clone-user",
	    "clone-user-mnt", "clone-net",	  "clone-pid",	    "setns",
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(eperm); i++)
		expect(out, eperm[i], "EPERM");
	/* clone3 is refused whatever its flags, with ENOSYS so that libc falls back to clone. */
	expect(out, "clone3-user", "ENOSYS");
	if (strstr(out, "setns-mnt-of-1 "))
		expect(out, "setns-mnt-of-1", "EPERM");
#if defined(__x86_64__)
	/* Another system call ABI must not get past the filter: x32 is killed by it; the
	 * 32-bit entry is killed by it too, or does not exist at all (SIGSEGV). */
	expect(out, "x32-unshare-user", "SIGSYS");
	expect_not(out, "int80-unshare-user", "exit 0");
	expect_not(out, "int80-getpid", "exit 0");
#endif
	free(out);
	/* util-linux's unshare runs (control), but not with a user namespace. */
	shell_works(id, "unshare true");
	shell_fails(id, "unshare -Ur true", NULL);
	shell_fails(id, "unshare -Ur id", "uid=0");
	stop(id);
}

Test(privilege, kernel_modules_and_kexec_are_refused)
{
	char *id = start(NULL);
	char *out = in_session(id, probe, "modules");
	static const char *const calls[] = {"init_module",	 "finit_module-devnull",
					    "finit_module-file", "kexec_file_load",
					    "delete_module",	 "kexec_load"};
	/* EPERM, not the kernel's own ENOSYS (no module support) or ENOEXEC: the filter. */
	for (size_t i = 0; i < MXC_ARRAY_SIZE(calls); i++)
		expect(out, calls[i], "EPERM");
	free(out);
	stop(id);
}

Test(privilege, kernel_interfaces_of_the_deny_list_are_refused)
{
	/* Control: outside a session the kernel gives these to any user on this host. */
	char *out = probe_on_host(agent_uid, "/srv/host/probe", "kernel");
	expect(out, "keyctl", "ok");
	expect(out, "add_key", "ok");
	expect(out, "userfaultfd", "ok");
	expect(out, "name_to_handle_at", "ok");
	expect(out, "personality-no-aslr", "ok");
	if (sysctl_value("/proc/sys/kernel/io_uring_disabled", 0) == 0)
		expect(out, "io_uring_setup", "ok");
	if (sysctl_value("/proc/sys/kernel/perf_event_paranoid", 2) <= 2)
		expect(out, "perf_event_open", "ok");
	free(out);

	char *id = start(NULL);
	out = in_session(id, probe, "kernel");
	static const char *const calls[] = {"bpf-prog-load",
					    "bpf-map-create",
					    "perf_event_open",
					    "keyctl",
					    "add_key",
					    "request_key",
					    "userfaultfd",
					    "io_uring_setup",
					    "io_uring_enter",
					    "io_uring_register",
					    "name_to_handle_at",
					    "open_by_handle_at",
					    "syslog",
					    "iopl",
					    "ioperm",
					    "swapon",
					    "reboot",
					    "settimeofday",
					    "clock_settime",
					    "acct",
					    "personality-no-aslr",
					    "ioctl-tiocsti"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(calls); i++)
		expect(out, calls[i], "EPERM");
	/* Controls: what the filter lets through still works. */
	expect(out, "personality-query", "ok");
	expect(out, "posix_openpt", "ok");
	free(out);
	stop(id);
}

Test(privilege, no_capabilities_and_no_way_back_to_root)
{
	/* Control: outside a session the probe reads a plain process's state. */
	char *out = probe_on_host(agent_uid, "/srv/host/probe", "creds");
	expect(out, "NoNewPrivs", "0");
	expect(out, "Seccomp", "0");
	free(out);

	char *id = start(NULL);
	out = in_session(id, probe, "creds");
	static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(caps); i++)
		expect(out, caps[i], "0000000000000000");
	expect(out, "NoNewPrivs", "1");
	expect(out, "Seccomp", "2");
	char buf[64];
	unsigned long bits = strtoul(result(out, "securebits", buf, sizeof(buf)), NULL, 16);
	cr_assert_eq(bits & 3, 3, "securebits %#lx: root is not locked out", bits);
	static const char *const eperm[] = {"setuid0",	  "setresuid0", "setgid0",
					    "setgroups0", "capset",	"clear-securebits"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(eperm); i++)
		expect(out, eperm[i], "EPERM");
	expect(out, "nnp-off", "EINVAL");
	free(out);
	stop(id);
}

Test(privilege, ordinary_operations_still_work)
{
	char *id = start(NULL);
	char *out = in_session(id, probe, "controls");
	static const char *const calls[] = {"fork",	  "clone-plain",  "pthread",
					    "write-home", "ptrace-child", "ptrace-seize-child",
					    "mmap"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(calls); i++)
		expect(out, calls[i], "ok");
	free(out);
	stop(id);
}

Test(privilege, the_sessions_init_is_out_of_the_agents_reach)
{
	/* mxc-init holds the session's link to the daemon; seccomp-filter.h allows ptrace and
	 * pidfd_getfd on the promise that it marks itself non-dumpable. */
	char *id = start(NULL);
	char *out = in_session(id, probe, "init");
	static const char *const calls[] = {"readlink-init-exe", "open-init-mem",
					    "pidfd_getfd-init", "ptrace-init"};
	char worked[256] = "", buf[64];
	for (size_t i = 0; i < MXC_ARRAY_SIZE(calls); i++)
		if (strcmp(result(out, calls[i], buf, sizeof(buf)), "ok") == 0)
			snprintf(worked + strlen(worked), sizeof(worked) - strlen(worked), " %s",
				 calls[i]);
	cr_assert_str_empty(worked, "the agent reached into mxc-init (pid 1):%s", worked);
	free(out);
	/* Control: the same agent may trace its own processes. */
	out = in_session(id, probe, "controls");
	expect(out, "ptrace-seize-child", "ok");
	free(out);
	stop(id);
}
