/* exec: commands run inside a session as the agent, with the caller's stdio. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "display.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "session-private.h"
#include "session.h"
#include "spawn.h"

static void exec_free(struct exec_run *e)
{
	mxc_list_remove(&e->link);
	free(e);
}

/* Runs when an exec'd command (its waiting process) has exited. */
static void on_exec_exit(struct mxc_source *src, const siginfo_t *info, void *data)
{
	struct exec_run *e = data;
	struct json_object *r = json_object_new_object();
	int code = mxc_wait_status_code(info->si_code, info->si_status);
	mxc_json_add_i64(r, "exit_code", code);
	mxc_call_reply(e->call, r, NULL, 0);
	exec_free(e);
}

/* Runs if the exec's client goes away: the command is killed with its waiting process. */
static void exec_cancelled(struct mxc_call *call)
{
	struct exec_run *e = call->data;
	mxc_source_kill(e->proc, SIGKILL);
}

static void argv_digest(char *const *argv, char hex[static MXC_SHA256_HEX_LEN + 1])
{
	struct mxc_sha256 h;
	if (mxc_sha256_init(&h) < 0) {
		hex[0] = '\0';
		return;
	}
	for (size_t i = 0; argv[i]; i++)
		mxc_sha256_update(&h, argv[i], strlen(argv[i]) + 1);
	mxc_sha256_final_hex(&h, hex);
}

void mxc_session_verb_exec(struct mxc_call *call)
{
	static const char *const keys[] = { "session", "argv", "cwd", NULL };
	struct mxc_error err = { 0 };
	char **argv = NULL;
	const char *cwd = NULL;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_strv(call->args, "argv", MAX_ARGV, MXC_PROTO_MAX_LINE, &argv, &err) <
		    -ENOENT ||
	    mxc_json_get_str(call->args, "cwd", 4096, &cwd, &err) < -ENOENT) {
		mxc_strv_free(argv);
		mxc_call_fail_error(call, &err);
		return;
	}
	if (!argv || !argv[0] || !argv[0][0]) {
		mxc_strv_free(argv);
		mxc_call_fail(call, -EINVAL, "'argv': a command is needed");
		return;
	}
	if (call->n_fds != 3) {
		mxc_strv_free(argv);
		mxc_call_fail(call, -EINVAL,
			      "exec needs three descriptors (stdin, stdout, stderr), got %zu",
			      call->n_fds);
		return;
	}
	struct session *s = session_from_call(call, true);
	if (!s) {
		mxc_strv_free(argv);
		return;
	}
	struct exec_run *e = calloc(1, sizeof(*e));
	if (!e) {
		mxc_strv_free(argv);
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
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
		.fds = call->fds,
		.n_fds = 3,
		.nproc = s->policy->limits.tasks,
	};
	int pidfd;
	char digest[MXC_SHA256_HEX_LEN + 1];
	argv_digest(argv, digest);
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "program", argv[0]);
	mxc_json_add_i64(d, "argc", (int64_t)mxc_strv_length(argv));
	mxc_json_add_str(d, "argv_sha256", digest);
	int r = mxc_spawn_in_session(&sp, &pidfd, &err);
	mxc_call_audit(call, "session.exec", s->agent, s->id, argv[0], r < 0 ? "error" : "ok", d);
	mxc_strv_free(argv);
	if (r < 0) {
		free(e);
		mxc_call_fail_error(call, &err);
		return;
	}
	/* The command holds the client's descriptors now; the daemon lets go of its copies. */
	for (size_t i = 0; i < call->n_fds; i++)
		call->fds[i] = mxc_close(call->fds[i]);
	e->s = s;
	e->call = call;
	e->proc = mxc_loop_add_pidfd(s->srv->loop, pidfd, on_exec_exit, e);
	if (!e->proc) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
		free(e);
		mxc_call_fail(call, -ENOMEM, "failed to watch the command");
		return;
	}
	mxc_list_insert_tail(&s->execs, &e->link);
	s->n_execs++;
	call->data = e;
	call->cancel = exec_cancelled;
}

