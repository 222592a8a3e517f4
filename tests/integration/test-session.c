/*
 * Sessions end to end: the real daemon, real Xvfb, real namespaces. Each test checks what a
 * user would check from the outside or from inside the session.
 */
#include <criterion/criterion.h>
#include <pwd.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"

static struct mxc_harness h;

static void setup(void)
{
	mxc_harness_start(&h);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(session, .init = setup, .fini = teardown, .timeout = 90);

static uid_t agent_uid(const char *name)
{
	struct passwd *pw = getpwnam(name);
	cr_assert_not_null(pw, "agent %s has no account", name);
	return pw->pw_uid;
}

/* Runs a shell command in the session as root's client and returns stdout (trimmed). */
static struct mxc_result in_session(const char *id, const char *script)
{
	return mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", script, NULL);
}

static long session_field(const char *id, const char *field)
{
	char *out = mxc_ok(&h, "session", "show", id, NULL);
	char *line = strstr(out, field);
	cr_assert_not_null(line, "no %s in session show", field);
	long v = strtol(line + strlen(field), NULL, 10);
	free(out);
	return v;
}

Test(session, start_prints_only_the_session_id)
{
	char *id = mxc_harness_session(&h, "coder");
	cr_assert_eq(strlen(id), 6, "session id '%s' is not 6 characters", id);
	cr_assert_eq(strspn(id, "0123456789abcdef"), 6, "session id '%s' is not hex", id);
	char *list = mxc_ok(&h, "session", "list", NULL);
	cr_assert_not_null(strstr(list, id));
	cr_assert_not_null(strstr(list, "running"));
	free(list);
	free(id);
}

Test(session, exec_runs_as_the_agent_with_its_groups)
{
	char *id = mxc_harness_session(&h, "coder");
	char uid[16];
	snprintf(uid, sizeof(uid), "%u", agent_uid("coder"));
	char *out = mxc_ok(&h, "exec", id, "--", "id", "-u", NULL);
	cr_assert_str_eq(out, uid);
	free(out);
	out = mxc_ok(&h, "exec", id, "--", "id", "-Gn", NULL);
	cr_assert_str_eq(out, "coder mxc-agents");
	free(out);
	free(id);
}

Test(session, host_homes_root_and_mxc_state_are_not_visible)
{
	char *id = mxc_harness_session(&h, "coder");
	char *other = mxc_ok(&h, "agent", "add", "other", NULL);
	free(other);
	char script[1024];
	snprintf(script, sizeof(script),
		 "for p in /home /root %s/state.db %s/home/other %s/sessiond.sock %s/sessions; do "
		 "  if test -e $p; then echo visible: $p; fi; done; ls -A %s/home; ls -A /run/mxc",
		 h.state, h.state, h.run, h.run, h.state);
	struct mxc_result r = in_session(id, script);
	cr_assert_eq(r.status, 0, "%s", r.err);
	/*
	 * Only the agent's own home is left of the state directory, and of the runtime
	 * directory only the session's own socket, at /run/mxc.
	 */
	cr_assert_str_eq(r.out, "coder\nsessiond.sock\n", "unexpected view: %s", r.out);
	mxc_result_free(&r);
	free(id);
}

Test(session, home_is_writable_and_the_system_read_only)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mxc_result r = in_session(
		id, "echo data > $HOME/file && cat $HOME/file; "
		    "for p in /usr/x /etc/x /var/x /x; do touch $p 2>/dev/null && echo wrote $p; done; "
		    "echo tmp > /tmp/t && cat /tmp/t; stat -c %a /tmp");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "data\ntmp\n1777\n");
	mxc_result_free(&r);
	char file[300];
	snprintf(file, sizeof(file), "%s/home/coder/file", h.state);
	struct stat st;
	cr_assert_eq(stat(file, &st), 0, "the file written in the session is not in the home");
	cr_assert_eq(st.st_uid, agent_uid("coder"));
	free(id);
}

Test(session, namespaces_are_the_sessions_own)
{
	char *id = mxc_harness_session(&h, "coder");
	static const char *const ns[] = { "mnt", "pid", "net", "ipc", "uts" };
	for (size_t i = 0; i < 5; i++) {
		char script[128], host[128], mine[128];
		snprintf(script, sizeof(script), "readlink /proc/self/ns/%s", ns[i]);
		snprintf(host, sizeof(host), "/proc/self/ns/%s", ns[i]);
		ssize_t n = readlink(host, mine, sizeof(mine) - 1);
		cr_assert(n > 0);
		mine[n] = '\0';
		struct mxc_result r = in_session(id, script);
		cr_assert_eq(r.status, 0);
		r.out[strcspn(r.out, "\n")] = '\0';
		cr_assert_str_neq(r.out, mine, "the session shares the %s namespace", ns[i]);
		mxc_result_free(&r);
	}
	char expect[64];
	snprintf(expect, sizeof(expect), "mxc-%s\nlo\n", id);
	struct mxc_result r = in_session(id, "hostname; ls /sys/class/net");
	cr_assert_str_eq(r.out, expect, "host name or interfaces: %s", r.out);
	mxc_result_free(&r);
	/* In its PID namespace the session sees only its own processes. */
	r = in_session(id, "cat /proc/1/comm");
	cr_assert_str_eq(r.out, "mxc-init\n");
	mxc_result_free(&r);
	free(id);
}

Test(session, every_process_is_a_child_of_the_sessions_init)
{
	char *id = mxc_harness_session(&h, "coder");
	/* Exec'd commands, the helper and launched programs are all forked by mxc-init. */
	/* init is not dumpable: its exe link is closed to the agent, its name is not. */
	struct mxc_result r = in_session(id, "echo $PPID; cat /proc/1/comm; "
					     "readlink /proc/1/exe || echo closed; ls /run/mxc-libexec; "
					     "for p in /proc/[0-9]*; do "
					     "  case $(readlink $p/exe) in *helper) "
					     "    grep PPid $p/status;; esac; done");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "1\nmxc-init\nclosed\nmxc-init\nmxc-session-helper\n"
				"PPid:\t1\n");
	mxc_result_free(&r);
	/* The programs are read-only and cannot gain privileges. */
	r = in_session(id, "grep mxc-libexec/ /proc/self/mountinfo | grep -c ' ro,nosuid,nodev'");
	cr_assert_str_eq(r.out, "2\n");
	mxc_result_free(&r);
	/* The daemon's control socket does not exist inside. */
	r = in_session(id, "ls /run/mxc");
	cr_assert_str_eq(r.out, "sessiond.sock\n");
	mxc_result_free(&r);
	free(id);
}

Test(session, exec_ends_with_the_daemon_launch_survives_it)
{
	char *id = mxc_harness_session(&h, "coder");
	free(mxc_ok(&h, "launch", id, "--", "sleep", "4242", NULL));
	pid_t client = fork();
	cr_assert(client >= 0);
	if (client == 0) {
		struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sleep", "4343", NULL);
		_exit(r.status);
	}
	struct mxc_result r;
	for (int i = 0; i < 100; i++) {
		r = in_session(id, "ps -eo args");
		bool running = strstr(r.out, "sleep 4343") != NULL;
		mxc_result_free(&r);
		if (running)
			break;
		usleep(50000);
	}
	mxc_harness_kill_daemon(&h);
	int status;
	cr_assert_eq(waitpid(client, &status, 0), client);
	cr_assert_neq(status, 0, "the exec client saw its command succeed");
	mxc_harness_start_daemon(&h);
	r = in_session(id, "ps -eo args");
	cr_assert_not_null(strstr(r.out, "sleep 4242"), "the launched program died: %s", r.out);
	cr_assert_null(strstr(r.out, "sleep 4343"), "the exec'd command outlived the daemon: %s",
		       r.out);
	mxc_result_free(&r);
	free(mxc_ok(&h, "session", "stop", id, NULL));
	free(id);
}

Test(session, processes_have_no_privileges)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mxc_result r = in_session(
		id, "grep -E '^(NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb)' /proc/self/status");
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out, "CapInh:\t0000000000000000\n"
				"CapPrm:\t0000000000000000\n"
				"CapEff:\t0000000000000000\n"
				"CapBnd:\t0000000000000000\n"
				"CapAmb:\t0000000000000000\n"
				"NoNewPrivs:\t1\n",
			 "%s", r.out);
	mxc_result_free(&r);
	/* The session's pid 1 and display server run as the agent too. */
	char uid[16];
	snprintf(uid, sizeof(uid), "%u", agent_uid("coder"));
	r = in_session(id, "stat -c %u /proc/[0-9]* | sort -u");
	r.out[strcspn(r.out, "\n")] = '\0';
	cr_assert_str_eq(r.out, uid, "a session process runs as another user");
	mxc_result_free(&r);
	free(id);
}

Test(session, environment_names_the_display_and_runtime_dir)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mxc_result r = in_session(
		id, "echo $DISPLAY $USER $HOME $XDG_RUNTIME_DIR $XAUTHORITY; "
		    "stat -c '%a %U' $XDG_RUNTIME_DIR $XAUTHORITY; ls /tmp/.X11-unix");
	char expect[512];
	uid_t uid = agent_uid("coder");
	snprintf(expect, sizeof(expect),
		 ":0 coder %s/home/coder /run/user/%u /run/user/%u/Xauthority\n"
		 "700 coder\n600 coder\nX0\n",
		 h.state, uid, uid);
	cr_assert_str_eq(r.out, expect);
	mxc_result_free(&r);
	free(id);
}

Test(session, display_needs_the_sessions_cookie)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mxc_result r = in_session(id, "xdpyinfo >/dev/null && echo with-cookie; "
					     "XAUTHORITY=/dev/null xdpyinfo >/dev/null 2>&1 || "
					     "echo refused-without");
	cr_assert_str_eq(r.out, "with-cookie\nrefused-without\n", "%s %s", r.out, r.err);
	mxc_result_free(&r);
	free(id);
}

Test(session, exec_streams_stdio_and_returns_the_exit_status)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mxc_result r = mxc_run(&h, 0, "line one\nline two\n", "exec", id, "--", "sh", "-c",
				      "tr a-z A-Z; echo to-stderr >&2; exit 42", NULL);
	cr_assert_eq(r.status, 42);
	cr_assert_str_eq(r.out, "LINE ONE\nLINE TWO\n");
	cr_assert_str_eq(r.err, "to-stderr\n");
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", "kill -TERM $$", NULL);
	cr_assert_eq(r.status, 128 + 15);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "exec", id, "--", "no-such-program", NULL);
	cr_assert_eq(r.status, 127);
	cr_assert_not_null(strstr(r.err, "no-such-program"));
	mxc_result_free(&r);
	/* Large output is not lost or truncated. */
	r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", "seq 1 200000", NULL);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(strlen(r.out), 1288895, "seq output was %zu bytes", strlen(r.out));
	mxc_result_free(&r);
	free(id);
}

/* Decodes a PNG file and returns its size; asserts it is valid. */
static void png_size(const char *file, uint32_t *w, uint32_t *hgt)
{
	char *data;
	size_t len;
	cr_assert_eq(mxc_read_file(file, 64 << 20, &data, &len), 0, "cannot read %s", file);
	spng_ctx *ctx = spng_ctx_new(0);
	spng_set_png_buffer(ctx, data, len);
	struct spng_ihdr ihdr;
	cr_assert_eq(spng_get_ihdr(ctx, &ihdr), 0, "not a PNG");
	size_t out_len;
	cr_assert_eq(spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &out_len), 0);
	void *pixels = malloc(out_len);
	cr_assert_eq(spng_decode_image(ctx, pixels, out_len, SPNG_FMT_RGB8, 0), 0,
		     "the PNG does not decode");
	*w = ihdr.width;
	*hgt = ihdr.height;
	free(pixels);
	spng_ctx_free(ctx);
	free(data);
}

Test(session, screenshot_is_a_png_of_the_session_size)
{
	char *out = mxc_ok(&h, "agent", "add", "coder", NULL);
	free(out);
	char *id = mxc_ok(&h, "session", "start", "coder", NULL);
	char *id2 = mxc_ok(&h, "session", "start", "coder", "--size", "800x600", NULL);
	char file[300];
	snprintf(file, sizeof(file), "%s/shot.png", h.env.scratch);
	uint32_t w, hh;
	free(mxc_ok(&h, "screenshot", id, "-o", file, NULL));
	png_size(file, &w, &hh);
	cr_assert(w == 1280 && hh == 800, "default screenshot is %ux%u", w, hh);
	free(mxc_ok(&h, "screenshot", id2, "-o", file, NULL));
	png_size(file, &w, &hh);
	cr_assert(w == 800 && hh == 600, "--size 800x600 screenshot is %ux%u", w, hh);
	cr_assert_eq(mxc_session_activity(&h, id, "screenshot"), 1, "activity not counted");
	free(id);
	free(id2);
}

Test(session, stop_leaves_no_process_mount_or_directory)
{
	char *id = mxc_harness_session(&h, "coder");
	pid_t leader = (pid_t)session_field(id, "leader_pid");
	uid_t uid = agent_uid("coder");
	cr_assert(mxc_pid_alive(leader));
	cr_assert_gt(mxc_processes_of(&h, uid), 1, "Xvfb and mxc-init should run as the agent");
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/sessions/%s", h.run, id);
	struct stat st;
	cr_assert_eq(stat(dir, &st), 0);

	char *out = mxc_ok(&h, "session", "stop", id, NULL);
	free(out);
	cr_assert_not(mxc_pid_alive(leader), "the session leader survived the stop");
	cr_assert_eq(mxc_processes_of(&h, uid), 0, "processes of the agent survived the stop");
	cr_assert_neq(stat(dir, &st), 0, "the runtime directory survived the stop");
	char *mounts;
	cr_assert_eq(mxc_read_file("/proc/self/mountinfo", 1 << 20, &mounts, NULL), 0);
	cr_assert_null(strstr(mounts, h.run), "a mount under the runtime directory survived");
	free(mounts);
	out = mxc_ok(&h, "session", "list", "--all", NULL);
	cr_assert_not_null(strstr(out, "stopped"));
	free(out);
	free(id);
}

Test(session, stopping_twice_and_unknown_sessions_are_errors)
{
	char *id = mxc_harness_session(&h, "coder");
	free(mxc_ok(&h, "session", "stop", id, NULL));
	struct mxc_result r = mxc_run(&h, 0, NULL, "session", "stop", id, NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "has ended"), "%s", r.err);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "session", "stop", "abcdef", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "does not exist"), "%s", r.err);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "exec", id, "--", "true", NULL);
	cr_assert_eq(r.status, 125);
	mxc_result_free(&r);
	r = mxc_run(&h, 0, NULL, "session", "start", "nobody-here", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "does not exist"), "%s", r.err);
	mxc_result_free(&r);
	free(id);
}

Test(session, a_failing_start_command_fails_the_start_and_leaves_nothing)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	struct mxc_result r =
		mxc_run(&h, 0, NULL, "session", "start", "coder", "--", "no-such-program", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "cannot execute 'no-such-program'"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
	cr_assert_eq(mxc_processes_of(&h, agent_uid("coder")), 0);
	char *out = mxc_ok(&h, "session", "list", "--all", NULL);
	cr_assert_not_null(strstr(out, "failed"));
	free(out);
}

Test(session, start_command_runs_in_the_session_with_the_display)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	char *id = mxc_ok(&h, "session", "start", "coder", "--", "sh", "-c",
			  "echo $DISPLAY > $HOME/started; sleep 1000", NULL);
	/* The command starts after the display is ready; give it a moment to write. */
	struct mxc_result r = { 0 };
	for (int i = 0; i < 50; i++) {
		r = in_session(id, "cat $HOME/started 2>/dev/null");
		if (r.out[0])
			break;
		mxc_result_free(&r);
		usleep(50000);
	}
	cr_assert_str_eq(r.out, ":0\n");
	mxc_result_free(&r);
	free(id);
}

Test(session, daemon_crash_adopts_running_sessions)
{
	char *id = mxc_harness_session(&h, "coder");
	pid_t leader = (pid_t)session_field(id, "leader_pid");
	char file[300];
	snprintf(file, sizeof(file), "%s/before.png", h.env.scratch);
	free(mxc_ok(&h, "screenshot", id, "-o", file, NULL));
	/* Activity counters reach the database within a second; a crash keeps them. */
	usleep(1500000);
	mxc_harness_kill_daemon(&h);
	cr_assert(mxc_pid_alive(leader), "the session died with the daemon");
	mxc_harness_start_daemon(&h);

	/* Still usable: commands, screenshots. */
	char *out = mxc_ok(&h, "exec", id, "--", "echo", "still here", NULL);
	cr_assert_str_eq(out, "still here");
	free(out);
	snprintf(file, sizeof(file), "%s/after.png", h.env.scratch);
	free(mxc_ok(&h, "screenshot", id, "-o", file, NULL));
	cr_assert_eq(mxc_session_activity(&h, id, "screenshot"), 2, "counts lost in the crash");
	out = mxc_ok(&h, "audit", "--session", id, NULL);
	cr_assert_not_null(strstr(out, "session.adopt"), "no adoption in the audit log:\n%s", out);
	free(out);

	free(mxc_ok(&h, "session", "stop", id, NULL));
	cr_assert_not(mxc_pid_alive(leader));
	cr_assert_eq(mxc_processes_of(&h, agent_uid("coder")), 0);
	free(id);
}

Test(session, daemon_crash_ends_sessions_that_cannot_be_adopted)
{
	char *id = mxc_harness_session(&h, "coder");
	pid_t leader = (pid_t)session_field(id, "leader_pid");
	mxc_harness_kill_daemon(&h);
	/* The session dies while no daemon watches it; its row must not stay "running". */
	kill(leader, SIGKILL);
	/* Orphaned by the crash, the leader is reaped by the keeper. */
	for (int i = 0; i < 500 && kill(leader, 0) == 0; i++)
		usleep(2000);
	mxc_harness_start_daemon(&h);
	char *out = mxc_ok(&h, "session", "show", id, NULL);
	cr_assert_not_null(strstr(out, "failed"), "%s", out);
	cr_assert_not_null(strstr(out, "ended by a daemon restart"), "%s", out);
	free(out);
	cr_assert_eq(mxc_processes_of(&h, agent_uid("coder")), 0);
	char dir[300];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/sessions/%s", h.run, id);
	cr_assert_neq(stat(dir, &st), 0, "the runtime directory survived");
	free(id);
}

Test(session, daemon_shutdown_ends_every_session)
{
	char *id = mxc_harness_session(&h, "coder");
	pid_t leader = (pid_t)session_field(id, "leader_pid");
	mxc_harness_term_daemon(&h);
	cr_assert_not(mxc_pid_alive(leader));
	cr_assert_eq(mxc_processes_of(&h, agent_uid("coder")), 0);
	mxc_harness_start_daemon(&h);
	char *out = mxc_ok(&h, "session", "show", id, NULL);
	cr_assert_not_null(strstr(out, "mxc-sessiond shut down"), "%s", out);
	free(out);
	free(id);
}

Test(session, tasks_and_tmp_are_bounded)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mxc_result r = in_session(
		id, "awk '/^Max processes/ {print $3}' /proc/self/limits; df -B1 --output=size /tmp | tail -1");
	cr_assert_eq(r.status, 0, "%s", r.err);
	/* 1024 tasks: the session's pids cgroup where the host has one, else RLIMIT_NPROC. */
	char *out = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(out), *c, *limits, *usage;
	free(out);
	cr_assert(json_object_object_get_ex(o, "containment", &c) &&
		  json_object_object_get_ex(c, "limits", &limits));
	if (mxc_streq(mxc_test_str(limits, "tasks_by"), "pids cgroup")) {
		cr_assert(json_object_object_get_ex(limits, "usage", &usage));
		cr_assert_eq(mxc_test_int(usage, "tasks_max"), 1024);
		cr_assert_str_neq(r.out, "1024\n536870912\n", "RLIMIT_NPROC set as well: %s", r.out);
		cr_assert_not_null(strstr(r.out, "\n536870912\n"), "limits: %s", r.out);
	} else {
		cr_assert_str_eq(r.out, "1024\n536870912\n", "limits: %s", r.out);
	}
	json_object_put(o);
	mxc_result_free(&r);
	/* Writing past the size of /tmp fails instead of filling the host's memory. */
	r = in_session(id, "head -c 600000000 /dev/zero > /tmp/fill 2>/dev/null; echo $?");
	cr_assert_str_neq(r.out, "0\n", "/tmp took more than its size");
	mxc_result_free(&r);
	free(id);
}

/* Connects to the main socket from a process in the session's PID namespace, as root. */
static int refused_from_inside(pid_t leader)
{
	pid_t pid = fork();
	if (pid == 0) {
		int pidfd = (int)syscall(SYS_pidfd_open, leader, 0);
		if (pidfd < 0 || setns(pidfd, CLONE_NEWPID) < 0)
			_exit(10);
		/* setns(CLONE_NEWPID) places children, not the caller, in the namespace. */
		pid_t inner = fork();
		if (inner == 0) {
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			struct sockaddr_un addr = { .sun_family = AF_UNIX };
			snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", h.sock);
			if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
				_exit(11);
			const char req[] = "{\"v\":1,\"verb\":\"version\"}\n";
			if (write(fd, req, sizeof(req) - 1) < 0)
				_exit(12);
			char buf[4096] = { 0 };
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			_exit(n > 0 && strstr(buf, "inside an agent session") ? 0 : 13);
		}
		int status;
		waitpid(inner, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 14);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(session, processes_inside_a_session_are_refused_on_the_main_socket)
{
	char *id = mxc_harness_session(&h, "coder");
	pid_t leader = (pid_t)session_field(id, "leader_pid");
	cr_assert_eq(refused_from_inside(leader), 0,
		     "a root process in the session's PID namespace was served");
	char *out = mxc_ok(&h, "audit", NULL);
	cr_assert_not_null(strstr(out, "inside an agent session"), "the refusal is not audited");
	free(out);
	free(id);
}

Test(session, doctor_reports_what_the_host_enforces_to_admins_only)
{
	struct mxc_result r = mxc_run(&h, 0, NULL, "doctor", "--json", NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	struct json_object *o = mxc_test_json(r.out), *checks, *c;
	mxc_result_free(&r);
	cr_assert(json_object_object_get_ex(o, "checks", &checks));
	static const char *const needed[] = { "namespace.mount", "namespace.pid", "namespace.net",
					      "seccomp.filter", "landlock", "cgroups" };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(needed); i++) {
		cr_assert(json_object_object_get_ex(checks, needed[i], &c), "no %s", needed[i]);
		cr_assert_not_null(mxc_test_str(c, "reason"), "%s has no reason", needed[i]);
	}
	json_object_object_get_ex(checks, "landlock", &c);
	cr_assert_gt(mxc_test_int(c, "abi"), 0, "this host has Landlock");
	json_object_put(o);
	/* The human table names the same checks. */
	char *out = mxc_ok(&h, "doctor", NULL);
	cr_assert_not_null(strstr(out, "seccomp.filter"), "%s", out);
	free(out);
	/* Not for everyone: the probes fork and the report describes the host. */
	r = mxc_run(&h, 65534, NULL, "doctor", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
}

Test(session, containment_is_in_place_and_shown)
{
	char *id = mxc_harness_session(&h, "coder");
	struct mxc_result r = in_session(id, "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "NoNewPrivs:\t1\nSeccomp:\t2\n");
	mxc_result_free(&r);
	char *out = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(out), *c, *part;
	free(out);
	cr_assert(json_object_object_get_ex(o, "containment", &c));
	cr_assert(json_object_object_get_ex(c, "landlock", &part));
	cr_assert_gt(mxc_test_int(part, "abi"), 0);
	cr_assert(json_object_object_get_ex(c, "network", &part));
	cr_assert_str_eq(mxc_test_str(part, "mode"), "loopback only");
	cr_assert(json_object_object_get_ex(c, "limits", &part));
	const char *mode = mxc_test_str(part, "mode");
	cr_assert(mxc_streq(mode, "v1") || mxc_streq(mode, "v2") || mxc_streq(mode, "none"), "%s",
		  mode);
	/* Every process of the session is in its cgroup, counted there. */
	struct json_object *usage;
	if (!mxc_streq(mode, "none")) {
		cr_assert(json_object_object_get_ex(part, "usage", &usage));
		cr_assert_geq(mxc_test_int(usage, "tasks_current"), 2, "init and the helper at least");
	}
	json_object_put(o);
	free(id);
}
