#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "digest.h"
#include "display.h"
#include "fs.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "net.h"
#include "policy.h"
#include "proc.h"
#include "sandbox.h"
#include "server.h"
#include "session-private.h"
#include "broker.h"
#include "session.h"

const char *const session_state_names[] = {
	[STARTING] = "starting",
	[RUNNING] = "running",
	[STOPPING] = "stopping",
};

struct session *session_find(struct mxc_server *srv, const char *id)
{
	struct session *s;
	mxc_list_for_each(s, &srv->sessions, link) if (strcmp(s->id, id) == 0) return s;
	return NULL;
}

bool mxc_session_pidns_is_session(struct mxc_server *srv, uint64_t pidns)
{
	struct session *s;
	if (pidns == 0)
		return false;
	mxc_list_for_each(s, &srv->sessions, link) if (s->pidns == pidns) return true;
	return false;
}

#define REFUSAL_ROW_INTERVAL_MS 60000

bool mxc_session_refusal_audited(struct mxc_server *srv, const char *session, uint32_t uid,
				 const char *action, struct json_object *details)
{
	struct session *s = session ? session_find(srv, session) : NULL;
	if (!s)
		return true;
	int64_t now = mxc_db_now_ms();
	size_t n = MXC_ARRAY_SIZE(s->refusals), slot = 0;
	for (size_t i = 0; i < n; i++) {
		if (s->refusals[i].uid == uid && strcmp(s->refusals[i].action, action) == 0) {
			slot = i;
			break;
		}
		if (s->refusals[i].at < s->refusals[slot].at)
			slot = i; /* else reuse the stalest entry */
	}
	__typeof__(s->refusals[0]) *e = &s->refusals[slot];
	if (e->uid != uid || strcmp(e->action, action) != 0) {
		*e = (__typeof__(*e)){ .uid = uid };
		snprintf(e->action, sizeof(e->action), "%s", action);
	}
	if (e->at && now - e->at < REFUSAL_ROW_INTERVAL_MS) {
		e->unwritten++;
		return false;
	}
	if (e->unwritten && details)
		mxc_json_add_i64(details, "refused_since_last_row", (int64_t)e->unwritten);
	e->at = now;
	e->unwritten = 0;
	return true;
}

unsigned mxc_session_count_for_agent(struct mxc_server *srv, const char *agent)
{
	unsigned n = 0;
	struct session *s;
	mxc_list_for_each(s, &srv->sessions, link) n += strcmp(s->agent, agent) == 0;
	return n;
}

void session_free(struct session *s)
{
	mxc_list_remove(&s->link);
	mxc_listener_close(s->listener);
	mxc_policy_free(s->policy);
	mxc_strv_free(s->command);
	mxc_strv_free(s->env);
	free(s->groups);
	free(s->owner_groups);
	free(s->home);
	free(s->dir);
	free(s->stop_waiters);
	free(s);
}

struct session *session_new(struct mxc_server *srv)
{
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->srv = srv;
	s->status_fd = -1;
	s->init_fd = -1;
	s->helper_fd = -1;
	mxc_list_init(&s->init_pending);
	mxc_list_init(&s->helper_sent);
	mxc_list_init(&s->helper_waiting);
	mxc_list_insert_tail(&srv->sessions, &s->link);
	return s;
}

/* The environment every process of the session starts with. */
char **session_env(const struct session *s)
{
	char xdg[32];
	mxc_sandbox_runtime_dir(s->uid, xdg);
	char **env = calloc(16, sizeof(char *));
	if (!env)
		return NULL;
	size_t n = 0;
	bool ok = asprintf(&env[n++], "HOME=%s", s->home) > 0 &&
		  asprintf(&env[n++], "USER=%s", s->agent) > 0 &&
		  asprintf(&env[n++], "LOGNAME=%s", s->agent) > 0 &&
		  asprintf(&env[n++], "SHELL=/bin/sh") > 0 &&
		  asprintf(&env[n++], "PATH=/usr/local/bin:/usr/bin:/bin") > 0 &&
		  asprintf(&env[n++], "LANG=C.UTF-8") > 0 &&
		  asprintf(&env[n++], "XDG_RUNTIME_DIR=%s", xdg) > 0 &&
		  asprintf(&env[n++], "MXC_SESSION=%s", s->id) > 0 &&
		  asprintf(&env[n++], "MXC_SOCKET=" MXC_SESSION_SOCKET) > 0;
	if (ok && s->policy->ui.allow_windows)
		ok = asprintf(&env[n++], "DISPLAY=:0") > 0 &&
		     asprintf(&env[n++], "XAUTHORITY=%s/Xauthority", xdg) > 0 &&
		     asprintf(&env[n++], "XDG_SESSION_TYPE=x11") > 0;
	if (!ok) {
		mxc_strv_free(env);
		return NULL;
	}
	return env;
}

/* Loads the account facts a session needs from the database and NSS. */
int session_load_agent(struct session *s, const char *agent, struct mxc_error *err)
{
	struct json_object *row;
	if (mxc_db_agent_get(s->srv->db, agent, &row) < 0)
		return mxc_error_set(err, -ENOENT, "agent '%s' does not exist", agent);
	int64_t uid = 0, gid = 0;
	const char *home = NULL;
	mxc_json_get_i64(row, "uid", 1, UINT32_MAX, &uid, NULL);
	mxc_json_get_i64(row, "gid", 1, UINT32_MAX, &gid, NULL);
	mxc_json_get_str(row, "home", 4096, &home, NULL);
	snprintf(s->agent, sizeof(s->agent), "%s", agent);
	s->uid = (uint32_t)uid;
	s->gid = (uint32_t)gid;
	s->home = home ? strdup(home) : NULL;
	json_object_put(row);
	if (!s->home || s->uid == 0 || s->gid == 0)
		return mxc_error_set(err, -EIO, "the record of agent '%s' is incomplete", agent);

	/* The account must still be the one recorded: a reused name must not inherit it. */
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwnam_r(agent, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return mxc_error_set(err, -ENOENT,
				     "the account of agent '%s' is missing from the user database",
				     agent);
	if (res->pw_uid != s->uid || res->pw_gid != s->gid || strcmp(res->pw_dir, s->home) != 0)
		return mxc_error_set(err, -EIO,
				     "the account of agent '%s' no longer matches its record "
				     "(uid, gid or home changed)",
				     agent);
	struct mxc_account acct = { .name = s->agent, .uid = s->uid, .gid = s->gid, .home = s->home };
	return mxc_identity_groups(&acct, &s->groups, &s->n_groups, err);
}

/* The policy a session runs under: the one given (admins only), the agent's, or the default. */
static int load_policy(struct session *s, const char *text, struct mxc_error *err)
{
	if (text) {
		int r = mxc_policy_parse(text, strlen(text), &s->policy, err);
		return r < 0 ? mxc_error_prefix(err, "invalid policy") : 0;
	}
	char path[4096];
	if (mxc_agent_policy_path(s->srv, s->agent, path, sizeof(path)) < 0)
		return mxc_error_set(err, -ENAMETOOLONG, "the policy path is too long");
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno != ENOENT)
			return mxc_error_errno(err, -errno, "failed to open policy '%s'", path);
		const char *def = mxc_policy_default_text();
		return mxc_policy_parse(def, strlen(def), &s->policy, err);
	}
	/* The agent's policy grants rights: only root may have written it. */
	struct stat st;
	char *buf = NULL;
	size_t len;
	int r;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0022))
		r = mxc_error_set(err, -EPERM,
				  "policy '%s' must be a regular file owned by root and writable only "
				  "by root",
				  path);
	else if ((r = mxc_read_fd(fd, MXC_POLICY_MAX_BYTES, &buf, &len)) < 0)
		mxc_error_errno(err, r, "failed to read policy '%s'", path);
	else if ((r = mxc_policy_parse(buf, len, &s->policy, err)) < 0)
		mxc_error_prefix(err, "policy '%s'", path);
	free(buf);
	close(fd);
	return r;
}

/*
 * Refuses what this daemon cannot enforce on this host: a policy that asks for more than
 * that would otherwise be silently weakened or silently not honoured. A policy's process is
 * run by the caller of a one-shot run (run), never by the daemon.
 */
static int check_enforceable(const struct mxc_server *srv, const struct mxc_policy *p, bool run,
			     struct mxc_error *err)
{
	static const char later[] = "not enforced by this version of mxc-sessiond yet";
	if (mxc_net_check(&p->network, err) < 0)
		return err->code;
	if (p->limits.memory_bytes && !(mxc_cgroups_controllers(srv->cgroups) & MXC_CGROUP_MEMORY))
		return mxc_error_set(err, -EOPNOTSUPP,
				     "session.limits.memoryBytes: this host has no memory cgroup "
				     "controller for mxc-sessiond (%s)",
				     mxc_cgroups_describe(srv->cgroups));
	if (p->ui.allow_windows && p->display.backend != MXC_POLICY_DISPLAY_XVFB)
		return mxc_error_set(err, -EOPNOTSUPP, "session.display.backend: %s: %s",
				     mxc_policy_display_backend_to_string(p->display.backend), later);
	if (p->process && !run)
		return mxc_error_set(err, -EOPNOTSUPP,
				     "process: a session policy does not run a process; use the "
				     "start command, or mxc run for a one-shot run");
	return 0;
}

/* Six hex digits, never used before (ended sessions keep their ids in the audit log). */
static int new_id(struct mxc_server *srv, char ret_id[static 8])
{
	for (int tries = 0; tries < 64; tries++) {
		uint8_t b[3];
		char id[8];
		if (getrandom(b, sizeof(b), 0) != sizeof(b))
			return -EIO;
		snprintf(id, sizeof(id), "%02x%02x%02x", b[0], b[1], b[2]);
		if (!session_find(srv, id) && !mxc_db_session_exists(srv->db, id)) {
			memcpy(ret_id, id, sizeof(id));
			return 0;
		}
	}
	return -EEXIST;
}

/* The init program's command line: mxc-init [--server-argc N SERVER...] [COMMAND...]. */
static char **init_argv(struct session *s, struct mxc_error *err)
{
	char **server = NULL;
	size_t n_server = 0;
	if (s->policy->ui.allow_windows) {
		char xdg[32], auth[64];
		mxc_sandbox_runtime_dir(s->uid, xdg);
		snprintf(auth, sizeof(auth), "%s/Xauthority", xdg);
		struct mxc_display_config cfg = {
			.backend = MXC_DISPLAY_XVFB,
			.width = s->width,
			.height = s->height,
			.depth = s->depth,
		};
		if (mxc_xvfb_argv(&cfg, 0, 3, auth, &server, err) < 0)
			return NULL;
		n_server = mxc_strv_length(server);
	}
	size_t n_cmd = mxc_strv_length(s->command);
	char **argv = calloc(9 + n_server + n_cmd, sizeof(char *));
	if (!argv) {
		mxc_strv_free(server);
		mxc_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	size_t n = 0;
	char xdg[32];
	mxc_sandbox_runtime_dir(s->uid, xdg);
	bool ok = (argv[n++] = strdup("mxc-init")) && (argv[n++] = strdup("--status-fd=3")) &&
		  (argv[n++] = strdup("--control-fd=4")) &&
		  asprintf(&argv[n++], "--log=%s/session.log", xdg) > 0;
	if (ok && n_server) {
		ok = asprintf(&argv[n++], "--server-argc=%zu", n_server) > 0 &&
		     (argv[n++] = strdup("--ready-fd=3"));
		for (size_t i = 0; ok && i < n_server; i++)
			ok = (argv[n++] = strdup(server[i])) != NULL;
	}
	if (ok)
		ok = (argv[n++] = strdup("--"));
	for (size_t i = 0; ok && i < n_cmd; i++)
		ok = (argv[n++] = strdup(s->command[i])) != NULL;
	mxc_strv_free(server);
	if (!ok) {
		mxc_strv_free(argv);
		mxc_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	return argv;
}

/*
 * The session leader, pid 1 of the new namespaces: waits until the daemon has recorded it,
 * builds the session, drops to the agent and becomes mxc-init with the status pipe as fd 3
 * and the control socket as fd 4. Reports failure on fd 3.
 */
static void __attribute__((noreturn))
leader_main(struct session *s, int status_fd, int control_fd, int go_fd, const uint8_t *cookie,
	    char **argv)
{
	struct mxc_error err = { 0 };
	mxc_child_reset_signals();
	char go;
	if (read(go_fd, &go, 1) != 1)
		_exit(1);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fds[5] = { null, null, null, status_fd, control_fd };
	char init_path[4096], helper_path[4096];
	snprintf(init_path, sizeof(init_path), "%s/mxc-init", s->srv->cfg.libexec_dir);
	snprintf(helper_path, sizeof(helper_path), "%s/mxc-session-helper",
		 s->srv->cfg.libexec_dir);
	struct mxc_sandbox_program programs[] = {
		{ "mxc-init", init_path, s->srv->init_fd },
		{ "mxc-session-helper", helper_path, s->srv->helper_fd },
	};
	int keep[2] = { programs[0].fd, programs[1].fd };
	if (null < 0 || mxc_child_arrange_fds(fds, 5, keep, 2) < 0)
		_exit(1);
	programs[0].fd = keep[0];
	programs[1].fd = keep[1];
	int alive[] = { 0, 1, 2, 3, 4, keep[0], keep[1] };
	mxc_close_all_except(alive, MXC_ARRAY_SIZE(alive));

	char hostname[32], x11[4096], root[4096], sock[4096];
	snprintf(hostname, sizeof(hostname), "mxc-%s", s->id);
	snprintf(x11, sizeof(x11), "%s/x11", s->dir);
	snprintf(sock, sizeof(sock), "%s/socket", s->dir);
	snprintf(root, sizeof(root), "%s/root", s->dir);
	const char *masks[] = { s->srv->cfg.state_dir, s->srv->cfg.runtime_dir, "/home", "/root",
				NULL };
	struct mxc_sandbox sb = {
		.hostname = hostname,
		.root = root,
		.x11_dir = s->policy->ui.allow_windows ? x11 : NULL,
		.socket_dir = sock,
		.programs = programs,
		.n_programs = MXC_ARRAY_SIZE(programs),
		.home = s->home,
		.masks = masks,
		.uid = s->uid,
		.gid = s->gid,
		.tmp_bytes = s->policy->limits.tmp_bytes,
		.runtime_bytes = RUNTIME_BYTES,
		.cookie = s->policy->ui.allow_windows ? cookie : NULL,
		.display = 0,
	};
	/* The policy's paths, as the user who asked for the session may reach them. */
	const char *protected[] = { s->srv->cfg.state_dir, s->srv->cfg.runtime_dir, NULL };
	struct mxc_fs_requester who = { s->owner.uid, s->owner.gid, s->owner_groups,
					s->n_owner_groups };
	struct mxc_fs_rules rules = { 0 };
	if (mxc_fs_rules_resolve(&s->policy->fs, &who, protected, s->home, &rules, &err) < 0)
		goto fail;
	sb.rules = &rules;
	/*
	 * The task limit is the session's pids cgroup where there is one; RLIMIT_NPROC, the
	 * fallback, counts every process of the agent's uid, in all its sessions at once.
	 */
	bool pids = mxc_cgroups_controllers(s->srv->cgroups) & MXC_CGROUP_PIDS;
	struct rlimit nproc = { s->policy->limits.tasks, s->policy->limits.tasks };
	bool restrict_tcp;
	uint16_t *tcp_ports;
	size_t n_tcp_ports;
	if (mxc_sandbox_tcp_ports(&s->policy->network, &restrict_tcp, &tcp_ports, &n_tcp_ports) < 0) {
		mxc_error_set(&err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (mxc_sandbox_setup(&sb, &err) < 0 || (!pids && setrlimit(RLIMIT_NPROC, &nproc) < 0) ||
	    mxc_sandbox_drop(s->uid, s->gid, s->groups, s->n_groups, &err) < 0 ||
	    mxc_sandbox_confine(&sb, restrict_tcp, tcp_ports, n_tcp_ports, &err) < 0)
		goto fail;
	close(keep[0]);
	close(keep[1]);
	if (chdir(s->home) < 0)
		mxc_error_errno(&err, -errno, "failed to enter home '%s'", s->home);
	execve(MXC_SESSION_LIBEXEC "/mxc-init", argv, s->env);
	mxc_error_errno(&err, -errno, "failed to execute mxc-init");
fail:
	dprintf(3, "error %s\n", err.msg[0] ? err.msg : "session setup failed");
	_exit(1);
}

/* The listening socket through which the daemon reaches the session's init, now and later. */
static int control_socket(struct session *s, struct mxc_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/control.sock", s->dir) >=
	    sizeof(addr.sun_path))
		return mxc_error_set(err, -ENAMETOOLONG, "the session's control socket path is too long");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
		int r = mxc_error_errno(err, -errno, "failed to create the session's control socket");
		mxc_close(fd);
		return r;
	}
	return fd;
}

static void reply_started(struct session *s)
{
	struct mxc_call *call = s->start_call;
	s->start_call = NULL;
	if (!call)
		return;
	struct json_object *r = json_object_new_object();
	mxc_json_add_str(r, "id", s->id);
	mxc_json_add_str(r, "agent", s->agent);
	mxc_json_add_str(r, "display", s->policy->ui.allow_windows ? ":0" : NULL);
	if (s->policy->warnings && s->policy->warnings[0])
		json_object_object_add(r, "warnings", mxc_json_strv(s->policy->warnings));
	mxc_call_reply(call, r, NULL, 0);
}

/* The session is up: display (if any) ready and helper connected. */
void session_running(struct session *s)
{
	mxc_source_remove(s->start_timer);
	s->start_timer = NULL;
	if (s->adopting) {
		s->adopting = false;
		log_notice("session %s: adopted after a daemon restart", s->id);
		mxc_server_audit(s->srv, "session.adopt", s->agent, s->id, NULL, "ok", NULL);
		return;
	}
	s->state = RUNNING;
	s->started_at = mxc_db_now_ms();
	mxc_db_session_set_running(s->srv->db, s->id, s->started_at);
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "policy_digest", s->digest);
	mxc_json_add_i64(d, "width", s->width);
	mxc_json_add_i64(d, "height", s->height);
	mxc_json_add_bool(d, "display", s->policy->ui.allow_windows);
	if (s->command)
		mxc_json_add_str(d, "command", s->command[0]);
	if (s->start_call)
		mxc_call_audit(s->start_call, "session.start", s->agent, s->id, NULL, "ok", d);
	else
		json_object_put(d);
	log_info("session %s: running for agent %s (owner %s)", s->id, s->agent, s->owner.name);
	reply_started(s);
}

/* Runs when the policy's timeoutMs has passed. */
static void on_timeout(struct mxc_source *src, void *data)
{
	struct session *s = data;
	s->timeout_timer = NULL;
	char reason[96];
	snprintf(reason, sizeof(reason), "timeout: the policy's timeoutMs (%" PRIu64 ") ran out",
		 s->policy->timeout_ms);
	session_kill(s, "stopped", reason, false);
}

void session_arm_timeout(struct session *s)
{
	if (!s->policy->timeout_ms)
		return;
	int64_t left = (int64_t)s->policy->timeout_ms;
	if (s->started_at)
		left -= mxc_db_now_ms() - s->started_at;
	s->timeout_timer = mxc_loop_add_timer(s->srv->loop, left > 0 ? (uint64_t)left : 0,
					      on_timeout, s);
}

/* Runs when the session start has taken longer than allowed. */
void session_on_start_timeout(struct mxc_source *src, void *data)
{
	struct session *s = data;
	s->start_timer = NULL;
	session_kill(s, "failed", "the session did not become ready in time", true);
}

/* Runs when the leader (then mxc-init) reports on its status pipe. */
static void on_status(struct mxc_source *src, int fd, uint32_t events, void *data)
{
	struct session *s = data;
	ssize_t n = read(fd, s->status + s->status_len, sizeof(s->status) - 1 - s->status_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	bool eof = n <= 0;
	if (n > 0)
		s->status_len += (size_t)n;
	s->status[s->status_len] = '\0';
	char *nl = strchr(s->status, '\n');
	if (!nl && !eof && s->status_len < sizeof(s->status) - 1)
		return;

	mxc_source_remove(s->status_src);
	s->status_src = NULL;
	s->status_fd = mxc_close(s->status_fd);
	if (nl)
		*nl = '\0';
	/* The message comes from inside the session: parsed strictly, never trusted further. */
	if (nl && strcmp(s->status, "ready") == 0) {
		struct mxc_error err = { 0 };
		if (session_init_connect(s, &err) < 0) {
			session_kill(s, "failed", err.msg, true);
		} else if (!s->policy->ui.allow_windows) {
			/* No display, no helper: the session is ready once mxc-init is. */
			session_running(s);
			session_arm_timeout(s);
		} else if (session_helper_start(s, &err) < 0) {
			session_kill(s, "failed", err.msg, true);
		}
		return;
	}
	char reason[600];
	if (nl && strncmp(s->status, "error ", 6) == 0)
		snprintf(reason, sizeof(reason), "%.500s", s->status + 6);
	else
		snprintf(reason, sizeof(reason), "the session ended while starting");
	for (char *p = reason; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	session_kill(s, "failed", reason, true);
}

static int make_runtime_dirs(struct session *s, struct mxc_error *err)
{
	char path[4096];
	if (asprintf(&s->dir, "%s/%s", s->srv->sessions_dir, s->id) < 0)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	if (mkdir(s->dir, 0700) < 0)
		return mxc_error_errno(err, -errno, "failed to create '%s'", s->dir);
	snprintf(path, sizeof(path), "%s/root", s->dir);
	if (mkdir(path, 0700) < 0)
		return mxc_error_errno(err, -errno, "failed to create '%s'", path);
	if (s->policy->ui.allow_windows) {
		/* The display socket directory belongs to the agent, whose Xvfb creates X0 in it. */
		snprintf(path, sizeof(path), "%s/x11", s->dir);
		if (mkdir(path, 0700) < 0 || chown(path, s->uid, s->gid) < 0)
			return mxc_error_errno(err, -errno, "failed to create '%s'", path);
	}
	snprintf(path, sizeof(path), "%s/socket", s->dir);
	if (mkdir(path, 0755) < 0)
		return mxc_error_errno(err, -errno, "failed to create '%s'", path);
	return session_listen(s, err);
}

int session_listen(struct session *s, struct mxc_error *err)
{
	/*
	 * The session's own socket. Its directory, not the socket, is bound into the session,
	 * so a socket made again after a daemon restart is what the session sees.
	 */
	char path[4096];
	snprintf(path, sizeof(path), "%s/socket/sessiond.sock", s->dir);
	return mxc_listener_open(s->srv, path, s->id, s->uid, s->gid, &s->listener, err);
}

/* The session's cgroup (its limits) and network, made from the daemon's side. */
static int contain_leader(struct session *s, int pidfd, struct mxc_error *err)
{
	const struct mxc_policy_limits *l = &s->policy->limits;
	int r = mxc_cgroup_create(s->srv->cgroups, s->id, l->memory_bytes, l->tasks, &s->cgroup, err);
	if (r == 0)
		r = mxc_cgroup_attach(s->cgroup, s->leader_pid, err);
	if (r == 0 && mxc_net_needs_veth(&s->policy->network)) {
		r = mxc_net_setup(&s->srv->net, s->id, pidfd, &s->policy->network, &s->net, err);
		const char *notice = r == 0 ? mxc_net_notice(s->net) : NULL;
		if (notice)
			log_notice("session %s: %s", s->id, notice);
	}
	if (r < 0)
		mxc_error_prefix(err, "failed to contain the session");
	return r;
}

/* Undoes contain_leader, for a live session or one adopted after a restart (s->net NULL). */
void session_uncontain(struct session *s)
{
	struct mxc_error err = { 0 };
	if (s->net || (s->policy && mxc_net_needs_veth(&s->policy->network))) {
		int r = s->net ? mxc_net_teardown(s->net, &err) : mxc_net_remove(s->id, &err);
		if (r < 0)
			log_error("session %s: %s", s->id, err.msg);
		s->net = NULL;
	}
	mxc_cgroup_destroy(s->cgroup);
	s->cgroup = NULL;
}

static int start_leader(struct session *s, struct mxc_error *err)
{
	int status[2] = { -1, -1 }, go[2] = { -1, -1 }, control = -1;
	uint8_t cookie[16];
	char **argv = NULL;
	int r;
	if (getrandom(cookie, sizeof(cookie), 0) != sizeof(cookie))
		return mxc_error_set(err, -EIO, "failed to generate the X cookie");
	if (!(argv = init_argv(s, err)))
		return err->code;
	if (pipe2(status, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		r = mxc_error_errno(err, -errno, "failed to create pipes");
		goto out;
	}
	if ((control = control_socket(s, err)) < 0) {
		r = control;
		goto out;
	}

	int pidfd;
	pid_t pid = mxc_clone(SESSION_NAMESPACES, &pidfd);
	if (pid < 0) {
		r = mxc_error_errno(err, pid, "failed to create the session's namespaces");
		goto out;
	}
	if (pid == 0)
		leader_main(s, status[1], control, go[0], cookie, argv);
	explicit_bzero(cookie, sizeof(cookie));

	s->leader_pid = pid;
	s->leader = mxc_loop_add_pidfd(s->srv->loop, pidfd, session_on_leader_exit, s);
	if (!s->leader) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
		r = mxc_error_errno(err, -errno, "failed to watch the session leader");
		goto out;
	}
	s->pidns = mxc_pidns_of(pid);
	uint64_t start = 0;
	mxc_proc_starttime(pid, &start);
	mxc_db_session_set_leader(s->srv->db, s->id, pid, start);
	/* Limits and network are in place before the leader runs anything. */
	if ((r = contain_leader(s, pidfd, err)) < 0)
		goto out;
	/* Recorded: the leader may go on. Had we died before this, it would have exited. */
	if (write(go[1], "g", 1) != 1) {
		r = mxc_error_errno(err, -errno, "failed to release the session leader");
		goto out;
	}
	s->status_fd = status[0];
	status[0] = -1;
	fcntl(s->status_fd, F_SETFL, O_NONBLOCK);
	s->status_src = mxc_loop_add_fd(s->srv->loop, s->status_fd, EPOLLIN, on_status, s);
	r = s->status_src ? 0 : mxc_error_errno(err, -errno, "failed to watch the session");
out:
	mxc_close(status[0]);
	mxc_close(status[1]);
	mxc_close(go[0]);
	mxc_close(go[1]);
	mxc_close(control);
	mxc_strv_free(argv);
	return r;
}

/* An inspector the session's policy names (session.inspect.principals). */
static bool is_inspector(struct mxc_call *call, struct session *s)
{
	if (!call->client)
		return false;
	char **groups = mxc_peer_group_names(&call->client->peer);
	bool named = mxc_policy_principal_match(s->policy->inspect.principals, call->actor.name,
						 groups);
	mxc_strv_free(groups);
	return named;
}

/*
 * Whether the call's actor may act on the session: its owner, or an admin; for inspection,
 * also the inspectors its policy names.
 */
static bool may_act(struct mxc_call *call, struct session *s, bool inspect)
{
	if (call->actor.admin || call->actor.uid == s->owner.uid ||
	    (inspect && is_inspector(call, s)))
		return true;
	mxc_call_audit(call, call->verb, s->agent, s->id, NULL, "denied",
		       mxc_audit_reason("not the session's owner"));
	mxc_call_fail(call, -EPERM, "session '%s' belongs to %s", s->id, s->owner.name);
	return false;
}

/*
 * Looks up the session named by the call's "session" argument, refusing unknown or ended
 * sessions and callers that may not act on it. Answers the call itself on refusal.
 */
static struct session *from_call(struct mxc_call *call, bool need_running, bool inspect)
{
	struct mxc_error err = { 0 };
	const char *id = NULL;
	int r = mxc_json_get_str(call->args, "session", 16, &id, &err);
	if (r == -ENOENT && call->scope[0]) {
		id = call->scope; /* on a session's socket, the session is implied */
	} else if (r == -ENOENT) {
		mxc_call_fail(call, -EINVAL, "'session': missing");
		return NULL;
	} else if (r < 0) {
		mxc_call_fail_error(call, &err);
		return NULL;
	}
	if (call->scope[0] && strcmp(id, call->scope) != 0) {
		mxc_call_audit(call, call->verb, NULL, call->scope, id, "denied",
			       mxc_audit_reason("another session than the socket's"));
		mxc_call_fail(call, -EPERM, "this socket acts on session '%s' only", call->scope);
		return NULL;
	}
	struct session *s = session_find(call->srv, id);
	if (!s) {
		struct json_object *row;
		bool ended = mxc_db_session_get(call->srv->db, id, &row) == 0;
		if (ended)
			json_object_put(row);
		mxc_call_fail(call, -ENOENT,
			      ended ? "session '%s' has ended" : "session '%s' does not exist", id);
		return NULL;
	}
	/* The agent, through its session's own socket, acts on that session. */
	if (!call->scope[0] && !may_act(call, s, inspect))
		return NULL;
	if (need_running && s->state != RUNNING) {
		mxc_call_fail(call, -EBUSY, "session '%s' is %s", s->id, session_state_names[s->state]);
		return NULL;
	}
	return s;
}

struct session *session_from_call(struct mxc_call *call, bool need_running)
{
	return from_call(call, need_running, false);
}

struct session *session_from_call_inspect(struct mxc_call *call)
{
	return from_call(call, true, true);
}


/* Runs if the client that asked for a session goes away before it is ready. */
static void start_cancelled(struct mxc_call *call)
{
	struct session *s = call->data;
	session_kill(s, "failed", "the client that started it disconnected", true);
}

void mxc_session_verb_start(struct mxc_call *call)
{
	static const char *const keys[] = { "agent", "width", "height", "policy", "command", "run",
					    NULL };
	struct mxc_server *srv = call->srv;
	struct mxc_error err = { 0 };
	const char *agent = NULL, *policy_text = NULL;
	uint64_t width = 0, height = 0;
	bool run = false;
	char **command = NULL;
	struct session *s = NULL;
	int r;

	r = mxc_json_check_keys(call->args, keys, &err);
	if (r == 0 &&
	    (r = mxc_json_get_str(call->args, "agent", MXC_AGENT_NAME_MAX, &agent, &err)) == -ENOENT)
		r = mxc_error_set(&err, -EINVAL, "'agent': missing");
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_u64(call->args, "width", MXC_DISPLAY_MAX_WIDTH, &width, &err));
	if (r == 0)
		r = mxc_json_optional(
			mxc_json_get_u64(call->args, "height", MXC_DISPLAY_MAX_HEIGHT, &height, &err));
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_str(call->args, "policy", MXC_POLICY_MAX_BYTES, &policy_text,
					      &err));
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_strv(call->args, "command", MAX_ARGV, MXC_PROTO_MAX_LINE,
					       &command, &err));
	if (r == 0)
		r = mxc_json_optional(mxc_json_get_bool(call->args, "run", &run, &err));
	if (r < 0)
		goto refuse;
	if ((width == 0) != (height == 0) || (width && (width < MXC_DISPLAY_MIN_WIDTH ||
						       height < MXC_DISPLAY_MIN_HEIGHT))) {
		r = mxc_error_set(&err, -EINVAL, "size must be between %ux%u and %ux%u",
				  MXC_DISPLAY_MIN_WIDTH, MXC_DISPLAY_MIN_HEIGHT,
				  MXC_DISPLAY_MAX_WIDTH, MXC_DISPLAY_MAX_HEIGHT);
		goto refuse;
	}
	if (command && !command[0]) {
		r = mxc_error_set(&err, -EINVAL, "'command': must not be empty");
		goto refuse;
	}
	if (policy_text && !call->actor.admin) {
		r = mxc_error_set(&err, -EPERM,
				  "only administrators may supply a policy; sessions of other users "
				  "run under the agent's policy");
		goto deny;
	}
	if (srv->shutting_down) {
		r = mxc_error_set(&err, -ESHUTDOWN, "mxc-sessiond is shutting down");
		goto refuse;
	}
	if (mxc_agent_busy(srv, agent)) {
		r = mxc_error_set(&err, -EBUSY, "agent '%s' is being changed; try again", agent);
		goto refuse;
	}

	if (!(s = session_new(srv))) {
		r = mxc_error_set(&err, -ENOMEM, "out of memory");
		goto refuse;
	}
	s->owner = call->actor;
	if (call->client && call->client->peer.n_groups) {
		size_t n = call->client->peer.n_groups;
		if (!(s->owner_groups = malloc(n * sizeof(uint32_t)))) {
			r = mxc_error_set(&err, -ENOMEM, "out of memory");
			goto refuse;
		}
		memcpy(s->owner_groups, call->client->peer.groups, n * sizeof(uint32_t));
		s->n_owner_groups = n;
	}
	s->command = command;
	command = NULL;
	if ((r = session_load_agent(s, agent, &err)) < 0 || (r = load_policy(s, policy_text, &err)) < 0)
		goto refuse;

	if (!call->actor.admin) {
		char **groups = call->client ? mxc_peer_group_names(&call->client->peer) : NULL;
		bool allowed = mxc_policy_principal_match(s->policy->users, call->actor.name, groups);
		mxc_strv_free(groups);
		if (!allowed) {
			r = mxc_error_set(&err, -EPERM,
					  "user '%s' may not start sessions for agent '%s': the "
					  "policy's session.users does not name them",
					  call->actor.name, agent);
			goto deny;
		}
	}
	if ((r = check_enforceable(srv, s->policy, run, &err)) < 0)
		goto refuse;

	s->width = width ? (uint32_t)width : s->policy->display.width;
	s->height = height ? (uint32_t)height : s->policy->display.height;
	s->depth = s->policy->display.depth;
	if ((r = new_id(srv, s->id)) < 0) {
		r = mxc_error_errno(&err, r, "failed to choose a session id");
		goto refuse;
	}
	if ((r = mxc_policy_digest(s->policy, s->digest)) < 0 || !(s->env = session_env(s))) {
		r = mxc_error_set(&err, r < 0 ? r : -ENOMEM, "failed to prepare the session");
		goto refuse;
	}

	struct json_object *pj = mxc_policy_to_json(s->policy);
	struct json_object *cmd = s->command ? mxc_json_strv(s->command) : NULL;
	struct mxc_session_row row = {
		.id = s->id,
		.agent = s->agent,
		.uid = s->uid,
		.owner_uid = s->owner.uid,
		.owner_name = s->owner.name,
		.state = "starting",
		.display = s->policy->ui.allow_windows ? ":0" : NULL,
		.width = s->width,
		.height = s->height,
		.depth = s->depth,
		.policy_digest = s->digest,
		.policy = pj ? mxc_json_str(pj, NULL) : "{}",
		.command = cmd ? mxc_json_str(cmd, NULL) : NULL,
		.created_at = mxc_db_now_ms(),
	};
	r = mxc_db_session_insert(srv->db, &row, &err);
	json_object_put(pj);
	json_object_put(cmd);
	if (r < 0)
		goto refuse;

	/* From here on the session exists: every failure ends it through session_kill. */
	s->state = STARTING;
	s->start_call = call;
	call->data = s;
	call->cancel = start_cancelled;
	if ((r = make_runtime_dirs(s, &err)) < 0 || (r = start_leader(s, &err)) < 0) {
		session_kill(s, "failed", err.msg, true);
		return;
	}
	s->start_timer =
		mxc_loop_add_timer(srv->loop, srv->cfg.start_timeout_ms, session_on_start_timeout, s);
	return;

deny:
	mxc_call_audit(call, "session.start", agent, NULL, NULL, "denied",
		       mxc_audit_reason(err.msg));
	goto fail;
refuse:
	mxc_call_audit(call, "session.start", agent, NULL, NULL, "error", mxc_audit_reason(err.msg));
fail:
	if (s)
		session_free(s);
	mxc_strv_free(command);
	mxc_call_fail_error(call, &err);
}

/* Runs when a graceful stop has not ended the session in time. */
static void on_kill_timer(struct mxc_source *src, void *data)
{
	struct session *s = data;
	s->kill_timer = NULL;
	mxc_source_kill(s->leader, SIGKILL);
}

/* Runs right after session_kill() for a session that has no leader (any more). */
static void on_finish_timer(struct mxc_source *src, void *data)
{
	struct session *s = data;
	s->kill_timer = NULL;
	session_finish(s);
}

/*
 * Ends a session: the first reason given is recorded. A graceful stop asks mxc-init to
 * terminate everything and kills it after the grace period; `now` kills at once. The rest
 * happens in session_finish() when the leader is gone.
 */
void session_kill(struct session *s, const char *state, const char *reason, bool now)
{
	if (!s->end_reason[0]) {
		snprintf(s->end_state, sizeof(s->end_state), "%s", state);
		snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
	}
	if (s->state != STOPPING) {
		s->state = STOPPING;
		mxc_db_session_set_state(s->srv->db, s->id, "stopping");
	}
	if (!s->leader) {
		/* Finished from the loop, never under a caller that still uses s. */
		if (!s->kill_timer)
			s->kill_timer = mxc_loop_add_timer(s->srv->loop, 0, on_finish_timer, s);
		return;
	}
	if (now || s->start_call) {
		mxc_source_kill(s->leader, SIGKILL);
	} else if (!s->kill_timer) {
		mxc_source_kill(s->leader, SIGTERM);
		s->kill_timer =
			mxc_loop_add_timer(s->srv->loop, s->srv->cfg.stop_grace_ms, on_kill_timer, s);
	}
}

/* Runs when the session leader (mxc-init) has exited: the whole session is gone. */
void session_on_leader_exit(struct mxc_source *src, const siginfo_t *info, void *data)
{
	struct session *s = data;
	s->leader = NULL;
	if (!s->end_reason[0]) {
		char reason[128];
		if (info->si_code == CLD_EXITED && info->si_status == 2)
			snprintf(reason, sizeof(reason), "the display server exited");
		else if (info->si_code == CLD_EXITED)
			snprintf(reason, sizeof(reason), "the session's init exited with status %d",
				 info->si_status);
		else if (info->si_code)
			snprintf(reason, sizeof(reason), "the session's init was killed by SIG%s",
				 sigabbrev_np(info->si_status) ? sigabbrev_np(info->si_status) : "?");
		else
			snprintf(reason, sizeof(reason), "the session's init exited");
		snprintf(s->end_state, sizeof(s->end_state), "%s",
			 s->state == STARTING ? "failed" : "stopped");
		snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
	}
	session_finish(s);
}

void session_finish(struct session *s)
{
	struct mxc_server *srv = s->srv;
	mxc_source_kill(s->leader, SIGKILL);
	if (s->leader) {
		/* Wait for it: nothing of the session may outlive the answer to a stop. */
		struct pollfd p = { .fd = mxc_source_fd(s->leader), .events = POLLIN };
		siginfo_t info;
		poll(&p, 1, 5000);
		waitid((idtype_t)P_PIDFD, (id_t)p.fd, &info, WEXITED | WNOHANG);
		mxc_source_remove(s->leader);
		s->leader = NULL;
	}
	session_helper_stop(s, "the session has ended");
	session_init_close(s, "the session has ended");
	mxc_listener_close(s->listener);
	s->listener = NULL;
	mxc_source_remove(s->status_src);
	mxc_close(s->status_fd);
	mxc_source_remove(s->start_timer);
	mxc_source_remove(s->kill_timer);
	mxc_source_remove(s->timeout_timer);

	/* Commands still being waited for get their (killed) status through their own source. */
	session_uncontain(s);
	s->controller = NULL;
	mxc_broker_session_ended(srv, s->id);

	if (s->dir) {
		int r = mxc_rm_rf(s->dir);
		if (r < 0 && r != -ENOENT)
			log_error("session %s: failed to remove '%s': %s", s->id, s->dir,
				  strerror(-r));
	}
	mxc_source_remove(s->activity_timer);
	s->activity_timer = NULL;
	session_save_activity(s);
	const char *state = s->end_state[0] ? s->end_state : "stopped";
	mxc_db_session_set_ended(srv->db, s->id, state, s->end_reason);

	struct json_object *d = mxc_audit_reason(s->end_reason);
	mxc_json_add_str(d, "state", state);
	json_object_object_add(d, "activity", session_activity_json(s));
	if (s->started_at)
		mxc_json_add_i64(d, "duration_ms", mxc_db_now_ms() - s->started_at);
	if (s->start_call) {
		mxc_call_audit(s->start_call, "session.start", s->agent, s->id, NULL, "error", d);
		mxc_call_fail(s->start_call, -EIO, "failed to start session for agent '%s': %s",
			      s->agent, s->end_reason);
		s->start_call = NULL;
	} else {
		mxc_server_audit(srv, "session.end", s->agent, s->id, NULL,
				 strcmp(state, "failed") == 0 ? "error" : "ok", d);
	}
	log_info("session %s: %s (%s)", s->id, state, s->end_reason);

	for (size_t i = 0; i < s->n_stop_waiters; i++) {
		struct json_object *r = json_object_new_object();
		mxc_json_add_str(r, "id", s->id);
		mxc_json_add_str(r, "state", state);
		mxc_call_reply(s->stop_waiters[i], r, NULL, 0);
	}
	s->n_stop_waiters = 0;
	session_free(s);
}

/* Runs if a client waiting for a stop goes away: the stop goes on, the answer is dropped. */
static void stop_cancelled(struct mxc_call *call)
{
}

void mxc_session_verb_stop(struct mxc_call *call)
{
	static const char *const keys[] = { "session", NULL };
	struct mxc_error err = { 0 };
	if (mxc_json_check_keys(call->args, keys, &err) < 0) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct session *s = session_from_call(call, false);
	if (!s)
		return;
	struct mxc_call **w = realloc(s->stop_waiters, (s->n_stop_waiters + 1) * sizeof(*w));
	if (!w) {
		mxc_call_fail(call, -ENOMEM, "out of memory");
		return;
	}
	s->stop_waiters = w;
	s->stop_waiters[s->n_stop_waiters++] = call;
	call->cancel = stop_cancelled;
	char reason[128];
	snprintf(reason, sizeof(reason), "stopped by %s (uid %u)", call->actor.name, call->actor.uid);
	mxc_call_audit(call, "session.stop", s->agent, s->id, NULL, "ok", NULL);
	session_kill(s, "stopped", reason, false);
}

void mxc_session_verb_list(struct mxc_call *call)
{
	static const char *const keys[] = { "all", "agent", NULL };
	struct mxc_error err = { 0 };
	bool all = false;
	const char *agent = NULL;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_bool(call->args, "all", &all, &err) < -ENOENT ||
	    mxc_json_get_str(call->args, "agent", MXC_AGENT_NAME_MAX, &agent, &err) < -ENOENT) {
		mxc_call_fail_error(call, &err);
		return;
	}
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "sessions",
			       mxc_db_session_list(call->srv->db,
						   call->actor.admin ? -1 : (int64_t)call->actor.uid, !all,
						   agent));
	mxc_call_reply(call, r, NULL, 0);
}

/* How the session is contained: each mechanism in use, and what this host lacks. */
static struct json_object *session_containment_json(const struct session *s)
{
	const struct mxc_server *srv = s->srv;
	const struct mxc_policy_limits *l = &s->policy->limits;
	unsigned controllers = mxc_cgroups_controllers(srv->cgroups);
	struct json_object *c = json_object_new_object();

	struct json_object *limits = json_object_new_object();
	mxc_json_add_str(limits, "mode", mxc_cgroup_mode_to_string(mxc_cgroups_mode(srv->cgroups)));
	mxc_json_add_i64(limits, "tasks", (int64_t)l->tasks);
	mxc_json_add_str(limits, "tasks_by",
			 controllers & MXC_CGROUP_PIDS ? "pids cgroup"
						       : "RLIMIT_NPROC of the agent uid");
	mxc_json_add_i64(limits, "memory_bytes", (int64_t)l->memory_bytes);
	mxc_json_add_str(limits, "memory_by",
			 controllers & MXC_CGROUP_MEMORY ? "memory cgroup (swap included)" : NULL);
	mxc_json_add_i64(limits, "tmp_bytes", (int64_t)l->tmp_bytes);
	if (s->cgroup)
		json_object_object_add(limits, "usage", mxc_cgroup_to_json(s->cgroup));
	json_object_object_add(c, "limits", limits);

	struct json_object *ll = json_object_new_object();
	mxc_json_add_i64(ll, "abi", srv->landlock_abi);
	bool restrict_tcp = false;
	char **missing = NULL;
	mxc_sandbox_landlock_missing(&s->policy->network, srv->landlock_abi, &restrict_tcp, &missing);
	json_object_object_add(ll, "not_enforced", mxc_json_strv(missing));
	mxc_strv_free(missing);
	mxc_json_add_bool(ll, "tcp_ports_restricted", restrict_tcp && srv->landlock_abi >= 4);
	json_object_object_add(c, "landlock", ll);
	mxc_json_add_bool(c, "seccomp", true);

	struct json_object *net = json_object_new_object();
	bool veth = mxc_net_needs_veth(&s->policy->network);
	char mode[64];
	snprintf(mode, sizeof(mode), "veth mxc-%s, nftables table inet mxc_%s", s->id, s->id);
	mxc_json_add_str(net, "mode", veth ? mode : "loopback only");
	if (s->net) {
		mxc_json_add_str(net, "address4", mxc_net_address(s->net, AF_INET));
		mxc_json_add_str(net, "address6", mxc_net_address(s->net, AF_INET6));
		mxc_json_add_str(net, "gateway4", mxc_net_gateway(s->net, AF_INET));
		mxc_json_add_str(net, "gateway6", mxc_net_gateway(s->net, AF_INET6));
	}
	json_object_object_add(c, "network", net);
	return c;
}

void mxc_session_verb_show(struct mxc_call *call)
{
	static const char *const keys[] = { "session", NULL };
	struct mxc_error err = { 0 };
	const char *id = NULL;
	if (mxc_json_check_keys(call->args, keys, &err) < 0 ||
	    mxc_json_get_str(call->args, "session", 16, &id, &err) < 0) {
		mxc_call_fail(call, -EINVAL, "%s", err.msg[0] ? err.msg : "'session': missing");
		return;
	}
	struct json_object *row;
	int64_t owner = -1;
	if (mxc_db_session_get(call->srv->db, id, &row) < 0) {
		mxc_call_fail(call, -ENOENT, "session '%s' does not exist", id);
		return;
	}
	mxc_json_get_i64(row, "owner_uid", 0, UINT32_MAX, &owner, NULL);
	if (!call->actor.admin && owner != call->actor.uid) {
		const char *agent = NULL;
		mxc_json_get_str(row, "agent", MXC_AGENT_NAME_MAX, &agent, NULL);
		mxc_call_audit(call, call->verb, agent, id, NULL, "denied",
			       mxc_audit_reason("not the session's owner"));
		json_object_put(row);
		mxc_call_fail(call, -EPERM, "session '%s' belongs to another user", id);
		return;
	}
	struct session *s = session_find(call->srv, id);
	if (s) {
		/* Ending: why is known before the row says so. */
		if (s->end_reason[0])
			mxc_json_add_str(row, "end_reason", s->end_reason);
		json_object_object_add(row, "containment", session_containment_json(s));
		json_object_object_add(row, "activity", session_activity_json(s));
		mxc_json_add_bool(row, "helper_ready", s->helper_ready);
	}
	mxc_call_reply(call, row, NULL, 0);
}

