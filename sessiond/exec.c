/*
 * Commands inside a session, as the agent: exec (waited for, with the caller's stdio) and
 * launch (detached, surviving the daemon, output to the session's log).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "json.h"
#include "sandbox.h"
#include "session-private.h"
#include "session.h"

/* A command being started or waited for, and the call to answer. */
struct command {
	struct mxc_call *call;
	struct session *session; /* alive as long as the request is pending */
	uint64_t id;             /* its spawn request */
	int err_fd;              /* an exec's stderr, until it has been executed */
	char program[64];
	struct json_object *details; /* a launch's audit row waits for its outcome */
};

static void command_free(struct command *c)
{
	mxc_close(c->err_fd);
	json_object_put(c->details);
	free(c);
}

/* What becomes of an exec'd command: it runs, could not be executed, or ended. */
static void on_exec_event(struct session *s, void *data, uint64_t id, enum session_init_event ev,
			  int value, const char *msg)
{
	struct command *c = data;
	if (ev == INIT_SPAWNED) {
		c->err_fd = mxc_close(c->err_fd);
		return;
	}
	int code = value;
	if (ev == INIT_FAILED) {
		/* As a shell says it: on the command's stderr, with status 127 or 126. */
		dprintf(c->err_fd, "mxc: cannot execute '%s': %s\n", c->program, msg);
		code = value == -ENOENT ? 127 : 126;
	} else if (ev == INIT_LOST) {
		code = 128 + SIGKILL; /* whatever init ran for the daemon was killed */
	}
	struct json_object *r = json_object_new_object();
	mxc_json_add_i64(r, "exit_code", code);
	mxc_call_reply(c->call, r, NULL, 0);
	command_free(c);
}

/* What becomes of a launched command: it was executed, or could not be. */
static void on_launch_event(struct session *s, void *data, uint64_t id,
			    enum session_init_event ev, int value, const char *msg)
{
	struct command *c = data;
	bool ok = ev == INIT_SPAWNED;
	if (!ok)
		mxc_json_add_str(c->details, "error", msg);
	mxc_call_audit(c->call, "session.launch", s->agent, s->id, c->program, ok ? "ok" : "error",
		       c->details);
	c->details = NULL;
	if (ok)
		mxc_call_reply(c->call, NULL, NULL, 0);
	else
		mxc_call_fail(c->call, ev == INIT_FAILED ? value : -EIO, "cannot execute '%s': %s",
			      c->program, msg);
	command_free(c);
}

/* Runs if an exec's client goes away: the command is killed, its answer dropped. */
static void exec_cancelled(struct mxc_call *call)
{
	struct command *c = call->data;
	session_init_kill(c->session, c->id, SIGKILL);
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
 * stdio; fn hears what becomes of it. On failure answers (and so frees) the call and returns
 * a negative errno: the caller must not touch it then.
 */
static int start_command(struct mxc_call *call, const char *action, const int *fds,
			 bool detach, session_init_fn fn, enum session_activity act)
{
	static const char *const keys[] = { "session", "argv", "cwd", NULL };
	struct mxc_error err = { 0 };
	char **argv = NULL;
	const char *cwd = NULL;
	struct command *c = NULL;
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
		r = -EINVAL;
		goto out;
	}
	struct session *s = session_from_call(call, true);
	if (!s) {
		r = -ENOENT;
		goto out;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	c->call = call;
	c->session = s;
	c->err_fd = detach ? -1 : fcntl(fds[2], F_DUPFD_CLOEXEC, 3);
	snprintf(c->program, sizeof(c->program), "%s", argv[0]);
	char log[64];
	mxc_sandbox_runtime_dir(s->uid, log);
	strcat(log, "/session.log");
	struct session_spawn sp = {
		.argv = argv,
		.cwd = cwd ? cwd : s->home,
		.output = detach ? log : NULL,
		.detach = detach,
		.fds = fds,
		.n_fds = 3,
	};
	r = session_init_spawn(s, &sp, fn, c, &c->id, &err);
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
	session_count(s, act);
	call->data = c;
	c = NULL;
out:
	if (c)
		command_free(c);
	mxc_strv_free(argv);
	return r;
}

void mxc_session_verb_exec(struct mxc_call *call)
{
	if (start_command(call, "session.exec", call->fds, false, on_exec_event, ACT_EXEC) < 0)
		return;
	/* init holds the client's descriptors now; the daemon lets go of its copies. */
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
	start_command(call, "session.launch", fds, true, on_launch_event, ACT_LAUNCH);
	close(null);
}
