/*
 * Commands inside a session, as the agent: exec (waited for, with the caller's stdio) and
 * launch (detached, surviving the daemon, output to the session's log).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "json.h"
#include "proc.h"
#include "sandbox.h"
#include "session-private.h"
#include "session.h"
#include "spawn.h"

/* A command being waited for: the call to answer and its waiting process. */
struct command {
	struct mxc_call *call;
	struct mxc_source *proc;
	char program[64];
	char agent[64], session[8];
	struct json_object *details; /* a launch's audit row waits for its outcome */
};

static void command_free(struct command *c)
{
	json_object_put(c->details);
	free(c);
}

/* Runs when an exec'd command (its waiting process) has exited. */
static void on_exec_exit(struct mxc_source *src, const siginfo_t *info, void *data)
{
	struct command *c = data;
	struct json_object *r = json_object_new_object();
	mxc_json_add_i64(r, "exit_code", mxc_wait_status_code(info->si_code, info->si_status));
	mxc_call_reply(c->call, r, NULL, 0);
	command_free(c);
}

/* Runs once a launched command has been executed, or could not be. */
static void on_launch_exit(struct mxc_source *src, const siginfo_t *info, void *data)
{
	struct command *c = data;
	int code = mxc_wait_status_code(info->si_code, info->si_status);
	mxc_call_audit(c->call, "session.launch", c->agent, c->session, c->program,
		       code == 0 ? "ok" : "error", c->details);
	c->details = NULL;
	if (code == 0)
		mxc_call_reply(c->call, NULL, NULL, 0);
	else
		mxc_call_fail(c->call, code == MXC_SPAWN_NOT_FOUND ? -ENOENT : -EIO,
			      "cannot execute '%s'%s", c->program,
			      code == MXC_SPAWN_NOT_FOUND ? ": no such program" : "");
	command_free(c);
}

/* Runs if an exec's client goes away: the command is killed with its waiting process. */
static void exec_cancelled(struct mxc_call *call)
{
	struct command *c = call->data;
	mxc_source_kill(c->proc, SIGKILL);
}

/* What an audit row says of a command: never its arguments, which may hold secrets. */
static struct json_object *command_details(char *const *argv)
{
	struct mxc_sha256 h;
	char hex[MXC_SHA256_HEX_LEN + 1] = "";
	if (mxc_sha256_init(&h) == 0) {
		for (size_t i = 0; argv[i]; i++)
			mxc_sha256_update(&h, argv[i], strlen(argv[i]) + 1);
		mxc_sha256_final_hex(&h, hex);
	}
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "program", argv[0]);
	mxc_json_add_i64(d, "argc", (int64_t)mxc_strv_length(argv));
	mxc_json_add_str(d, "argv_sha256", hex);
	return d;
}

/*
 * Starts argv in the call's session ("session", "argv", "cwd" arguments) with fds as its
 * stdio, and watches its waiting process with on_exit. On failure answers (and so frees)
 * the call and returns a negative errno: the caller must not touch it then.
 */
static int start_command(struct mxc_call *call, const char *action, const int *fds,
			 bool detach, mxc_exit_fn on_exit, enum session_activity act)
{
	static const char *const keys[] = { "session", "argv", "cwd", NULL };
	struct mxc_error err = { 0 };
	char **argv = NULL;
	const char *cwd = NULL;
	struct command *c = NULL;
	bool call_answered = true; /* until the command is being watched */
	int r = mxc_json_check_keys(call->args, keys, &err);
	if (r == 0)
		r = mxc_json_get_strv(call->args, "argv", MAX_ARGV, MXC_PROTO_MAX_LINE, &argv, &err);
	if (r == 0 && !argv[0])
		r = -ENOENT;
	if (r == 0 && (r = mxc_json_get_str(call->args, "cwd", 4096, &cwd, &err)) == -ENOENT)
		r = 0;
	if (r < 0) {
		mxc_call_fail(call, -EINVAL, "%s",
			      r == -ENOENT ? "'argv': a command is needed" : err.msg);
		goto out;
	}
	if (!detach && call->n_fds != 3) {
		mxc_call_fail(call, -EINVAL,
			      "exec needs three descriptors (stdin, stdout, stderr), got %zu",
			      call->n_fds);
		goto out;
	}
	struct session *s = session_from_call(call, true);
	if (!s)
		goto out;
	if (!(c = calloc(1, sizeof(*c)))) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		goto out;
	}
	char log[64];
	mxc_sandbox_runtime_dir(s->uid, log);
	strcat(log, "/session.log");
	struct mxc_spawn sp = {
		.leader_pidfd = mxc_source_fd(s->leader),
		.uid = s->uid,
		.gid = s->gid,
		.groups = s->groups,
		.n_groups = s->n_groups,
		.exe_fd = -1,
		.argv = argv,
		.envp = s->env,
		.cwd = cwd ? cwd : s->home,
		.fds = fds,
		.n_fds = 3,
		.nproc = s->policy->limits.tasks,
		.detach = detach,
		.output = detach ? log : NULL,
	};
	int pidfd;
	r = mxc_spawn_in_session(&sp, &pidfd, &err);
	/* An exec is recorded as it starts; a launch once it is known to have started. */
	if (r < 0 || !detach)
		mxc_call_audit(call, action, s->agent, s->id, argv[0], r < 0 ? "error" : "ok",
			       command_details(argv));
	else
		c->details = command_details(argv);
	if (r < 0) {
		mxc_call_fail_error(call, &err);
		goto out;
	}
	c->call = call;
	snprintf(c->program, sizeof(c->program), "%s", argv[0]);
	snprintf(c->agent, sizeof(c->agent), "%s", s->agent);
	snprintf(c->session, sizeof(c->session), "%s", s->id);
	c->proc = mxc_loop_add_pidfd(s->srv->loop, pidfd, on_exit, c);
	if (!c->proc) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
		mxc_call_fail(call, -ENOMEM, "failed to watch the command");
		goto out;
	}
	session_count(s, act);
	call->data = c;
	c = NULL;
	r = 0;
	call_answered = false;
out:
	if (c)
		command_free(c);
	mxc_strv_free(argv);
	return call_answered ? -ECANCELED : 0;
}

void mxc_session_verb_exec(struct mxc_call *call)
{
	if (start_command(call, "session.exec", call->fds, false, on_exec_exit, ACT_EXEC) < 0)
		return;
	/* The command holds the client's descriptors now; the daemon lets go of its copies. */
	for (size_t i = 0; i < call->n_fds; i++)
		call->fds[i] = mxc_close(call->fds[i]);
	call->cancel = exec_cancelled;
}

void mxc_session_verb_launch(struct mxc_call *call)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0) {
		mxc_call_fail(call, -errno, "failed to open /dev/null");
		return;
	}
	int fds[3] = { null, null, null };
	start_command(call, "session.launch", fds, true, on_launch_exit, ACT_LAUNCH);
	close(null);
}
