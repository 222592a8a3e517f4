#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "broker.h"
#include "cgroup.h"
#include "config.h"
#include "digest.h"
#include "fs.h"
#include "json.h"
#include "landlock.h"
#include "log.h"
#include "seccomp-filter.h"
#include "server.h"
#include "session.h"
#include "view.h"

/* A client may queue this much unread output before it is dropped. */
#define MAX_CLIENT_OUTPUT (128u << 20)
#define MAX_CLIENTS 1024
/* Connections one non-root user may hold open, bounding what they can make us buffer. */
#define MAX_CLIENTS_PER_UID 64

static void client_destroy(struct mxc_client *c);
static void client_update_events(struct mxc_client *c);
static void client_process(struct mxc_client *c);

static void call_free(struct mxc_call *call)
{
	for (size_t i = 0; i < call->n_fds; i++)
		mxc_close(call->fds[i]);
	json_object_put(call->req);
	free(call);
}

int mxc_call_take_fd(struct mxc_call *call, size_t i)
{
	if (i >= call->n_fds)
		return -1;
	int fd = call->fds[i];
	call->fds[i] = -1;
	return fd;
}

/*
 * Marks a client for destruction: shutting its socket down makes epoll report a hang-up,
 * and on_client() frees it. Nothing else frees a client while events are dispatched.
 */
static void client_break(struct mxc_client *c)
{
	if (!c->broken) {
		c->broken = true;
		shutdown(c->fd, SHUT_RDWR);
	}
}

static void client_send(struct mxc_client *c, struct json_object *msg, const int *fds,
			size_t n_fds)
{
	size_t len;
	const char *s = mxc_json_str(msg, &len);
	char *line = malloc(len + 1);
	bool queued = false;
	if (line) {
		memcpy(line, s, len);
		line[len] = '\n';
		queued = mxc_outq_push(&c->out, line, len + 1, fds, n_fds) == 0;
	}
	if (!queued)
		for (size_t i = 0; i < n_fds; i++)
			mxc_close(fds[i]);
	free(line);
	json_object_put(msg);
	int r = mxc_outq_flush(&c->out, c->fd);
	if (!queued || (r < 0 && r != -EAGAIN)) {
		client_break(c);
		return;
	}
	if (c->out.bytes > MAX_CLIENT_OUTPUT) {
		log_warning("dropping client %s (pid %d): it does not read its responses",
			    c->peer.actor.name, c->peer.actor.pid);
		client_break(c);
		return;
	}
	client_update_events(c);
}

/* Ends a call; its client may then have its next request handled. */
static void call_finish(struct mxc_call *call, struct json_object *msg, const int *fds,
			size_t n_fds)
{
	struct mxc_client *c = call->client;
	call_free(call);
	if (!c) {
		json_object_put(msg);
		for (size_t i = 0; i < n_fds; i++)
			mxc_close(fds[i]);
		return;
	}
	c->call = NULL;
	client_send(c, msg, fds, n_fds);
	/* An answer given later, from another event, resumes the client's queue. */
	if (!c->dispatching)
		client_process(c);
}

void mxc_call_reply(struct mxc_call *call, struct json_object *result, const int *fds,
		    size_t n_fds)
{
	call_finish(call, mxc_proto_ok(result, n_fds), fds, n_fds);
}

void mxc_call_fail(struct mxc_call *call, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	call_finish(call, mxc_proto_error(code, msg), NULL, 0);
}

void mxc_call_fail_error(struct mxc_call *call, const struct mxc_error *err)
{
	mxc_call_fail(call, err->code ? err->code : -EIO, "%s", err->msg);
}

void mxc_server_audit_as(struct mxc_server *srv, const struct mxc_actor *actor,
			 const char *action, const char *agent, const char *session,
			 const char *object, const char *result, struct json_object *details)
{
	struct mxc_audit_entry e = {
		.actor_uid = actor->uid,
		.actor_name = actor->name,
		.agent = agent,
		.session = session,
		.action = action,
		.object = object,
		.result = result,
		.details = details,
	};
	struct mxc_error err = { 0 };
	if (mxc_audit_append(srv->db, &e, &err) < 0)
		log_error("%s", err.msg);
	json_object_put(details);
}

void mxc_call_audit(struct mxc_call *call, const char *action, const char *agent,
		    const char *session, const char *object, const char *result,
		    struct json_object *details)
{
	/* A flood of refused requests about a session must not flood the log. */
	if (strcmp(result, "denied") == 0) {
		if (!details)
			details = json_object_new_object();
		if (!mxc_session_refusal_audited(call->srv, session, call->actor.uid, action,
						 details)) {
			json_object_put(details);
			return;
		}
	}
	mxc_server_audit_as(call->srv, &call->actor, action, agent, session, object, result,
			    details);
}

void mxc_server_audit(struct mxc_server *srv, const char *action, const char *agent,
		      const char *session, const char *object, const char *result,
		      struct json_object *details)
{
	struct mxc_actor daemon = { .uid = 0, .admin = true };
	snprintf(daemon.name, sizeof(daemon.name), "mxc-sessiond");
	mxc_server_audit_as(srv, &daemon, action, agent, session, object, result, details);
}

struct json_object *mxc_audit_reason(const char *reason)
{
	struct json_object *d = json_object_new_object();
	mxc_json_add_str(d, "reason", reason);
	return d;
}

bool mxc_call_require_admin(struct mxc_call *call)
{
	if (call->actor.admin)
		return true;
	mxc_call_audit(call, call->verb, NULL, NULL, NULL, "denied",
		       mxc_audit_reason("administrators only"));
	mxc_call_fail(call, -EPERM, "'%s' is for administrators (root or group mxc-admin)",
		      call->verb);
	return false;
}

/*
 * On the main socket, refuses a caller that is an agent or runs inside an agent session;
 * on a session's socket, anyone but that session's agent.
 */
static const char *refusal_reason(struct mxc_client *c)
{
	struct mxc_server *srv = c->srv;
	const struct mxc_peer *p = &c->peer;
	if (c->scope[0])
		return p->actor.uid == c->scope_uid
			       ? NULL
			       : "only the session's agent may use the session's socket";
	if (p->actor.uid != 0) {
		if (mxc_db_uid_is_agent(srv->db, p->actor.uid) ||
		    (p->actor.uid >= srv->cfg.id_min && p->actor.uid <= srv->cfg.id_max) ||
		    (srv->have_agents_gid && mxc_peer_in_group(p, srv->agents_gid)))
			return "agent accounts may not use the main socket";
	}
	if (mxc_session_pidns_is_session(srv, p->pidns))
		return "processes inside an agent session may not use the main socket";
	return NULL;
}

static void dispatch(struct mxc_client *c, char *line, size_t len)
{
	struct mxc_error err = { 0 };
	struct json_object *req = NULL, *args = NULL;
	const char *verb;
	if (mxc_json_parse(line, len, &req, &err) < 0 ||
	    mxc_proto_parse_request(req, &verb, &args, &err) < 0) {
		json_object_put(req);
		mxc_reader_drop_fds(&c->in);
		client_send(c, mxc_proto_error(err.code ? err.code : -EBADMSG, err.msg), NULL, 0);
		return;
	}

	struct mxc_call *call = calloc(1, sizeof(*call));
	if (!call) {
		json_object_put(req);
		client_send(c, mxc_proto_error(-ENOMEM, "out of memory"), NULL, 0);
		return;
	}
	call->srv = c->srv;
	call->client = c;
	call->actor = c->peer.actor;
	memcpy(call->scope, c->scope, sizeof(call->scope));
	call->req = req;
	call->args = args;
	snprintf(call->verb, sizeof(call->verb), "%s", verb);
	call->n_fds = mxc_reader_take_fds(&c->in, call->fds, MXC_PROTO_MAX_FDS);
	mxc_reader_drop_fds(&c->in);
	c->call = call;

	const char *refused = refusal_reason(c);
	if (refused) {
		mxc_call_audit(call, call->verb, NULL, NULL, NULL, "denied",
			       mxc_audit_reason(refused));
		mxc_call_fail(call, -EPERM, "%s", refused);
		return;
	}
	const struct mxc_verb *v = mxc_verb_lookup(call->verb);
	if (!v) {
		mxc_call_fail(call, -EOPNOTSUPP, "unknown verb '%s'", call->verb);
		return;
	}
	if (call->scope[0] && !v->on_session_socket) {
		mxc_call_audit(call, call->verb, NULL, call->scope, NULL, "denied",
			       mxc_audit_reason("not available on a session's socket"));
		mxc_call_fail(call, -EPERM, "'%s' is not available on a session's socket",
			      call->verb);
		return;
	}
	log_debug("%s (uid %u, pid %d%s%s): %s", call->actor.name, call->actor.uid, call->actor.pid,
		  call->scope[0] ? ", session socket " : "", call->scope, call->verb);
	v->fn(call);
}

/* Handles the complete requests buffered, one at a time, without recursion. */
static void client_process(struct mxc_client *c)
{
	c->dispatching = true;
	while (!c->call && !c->broken) {
		char *line;
		size_t len;
		int r = mxc_reader_line(&c->in, &line, &len);
		if (r == 0)
			break;
		if (r < 0) {
			/* The rest of the stream cannot be framed any more. */
			client_send(c, mxc_proto_error(-EMSGSIZE, "request longer than the limit"),
				    NULL, 0);
			client_break(c);
			break;
		}
		dispatch(c, line, len);
	}
	c->dispatching = false;
	if (c->broken)
		return;
	if (!c->call && c->read_shut && !c->out.head)
		client_break(c);
	else
		client_update_events(c);
}

static void client_update_events(struct mxc_client *c)
{
	/* Level-triggered: a read side that is already shut must not be reported again. */
	uint32_t ev = c->read_shut ? 0 : EPOLLRDHUP;
	if (!c->call && !c->read_shut)
		ev |= EPOLLIN;
	if (c->out.head)
		ev |= EPOLLOUT;
	mxc_source_set_events(c->src, ev);
}

/* Runs when a client socket is readable, writable, or its peer went away. */
static void on_client(struct mxc_source *src, int fd, uint32_t events, void *data)
{
	struct mxc_client *c = data;
	if (c->broken || (events & (EPOLLHUP | EPOLLERR))) {
		client_destroy(c);
		return;
	}
	if (events & EPOLLOUT) {
		int r = mxc_outq_flush(&c->out, fd);
		if (r < 0 && r != -EAGAIN) {
			client_destroy(c);
			return;
		}
	}
	if (events & EPOLLIN) {
		int r = mxc_reader_fill(&c->in, fd);
		if (r == 0) {
			c->read_shut = true;
		} else if (r == -EMSGSIZE) {
			client_send(c, mxc_proto_error(-EMSGSIZE, "request longer than the limit"),
				    NULL, 0);
			client_break(c);
			return;
		} else if (r < 0 && r != -EAGAIN) {
			client_send(c, mxc_proto_error(r, "malformed request"), NULL, 0);
			client_break(c);
			return;
		}
	} else if (events & EPOLLRDHUP) {
		c->read_shut = true;
	}
	client_process(c);
}

static void client_destroy(struct mxc_client *c)
{
	if (c->call) {
		struct mxc_call *call = c->call;
		call->client = NULL;
		c->call = NULL;
		if (call->cancel)
			call->cancel(call);
	}
	if (c->view)
		mxc_view_client_gone(c);
	mxc_source_remove(c->src);
	mxc_list_remove(&c->link);
	mxc_reader_finish(&c->in);
	mxc_outq_finish(&c->out);
	mxc_peer_finish(&c->peer);
	close(c->fd);
	free(c);
}

/* The admin and agent groups may be created or removed while the daemon runs. */
static void refresh_groups(struct mxc_server *srv)
{
	struct group *gr = getgrnam("mxc-admin");
	srv->have_admin_gid = gr != NULL;
	srv->admin_gid = gr ? gr->gr_gid : 0;
	gr = getgrnam("mxc-agents");
	srv->have_agents_gid = gr != NULL;
	srv->agents_gid = gr ? gr->gr_gid : 0;
}

/* Runs when a listening socket has a connection to accept. */
static void on_listen(struct mxc_source *src, int fd, uint32_t events, void *data)
{
	struct mxc_listener *l = data;
	struct mxc_server *srv = l->srv;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warning("accept failed: %s", strerror(errno));
			return;
		}
		struct mxc_client *c = calloc(1, sizeof(*c));
		struct mxc_error err = { 0 };
		refresh_groups(srv);
		if (!c || mxc_peer_from_socket(cfd, srv->admin_gid, srv->have_admin_gid, &c->peer,
					       &err) < 0) {
			log_warning("refusing a connection: %s", c ? err.msg : "out of memory");
			free(c);
			close(cfd);
			continue;
		}
		size_t n = 0, mine = 0;
		struct mxc_client *it;
		mxc_list_for_each(it, &srv->clients, link)
		{
			n++;
			mine += it->peer.actor.uid == c->peer.actor.uid;
		}
		if (n >= MAX_CLIENTS || (c->peer.actor.uid != 0 && mine >= MAX_CLIENTS_PER_UID)) {
			log_warning("refusing a connection from %s (uid %u): too many connections",
				    c->peer.actor.name, c->peer.actor.uid);
			mxc_peer_finish(&c->peer);
			free(c);
			close(cfd);
			continue;
		}
		c->srv = srv;
		c->fd = cfd;
		memcpy(c->scope, l->scope, sizeof(c->scope));
		c->scope_uid = l->scope_uid;
		mxc_reader_init(&c->in, MXC_PROTO_MAX_LINE);
		c->src = mxc_loop_add_fd(srv->loop, cfd, EPOLLIN | EPOLLRDHUP, on_client, c);
		if (!c->src) {
			mxc_peer_finish(&c->peer);
			free(c);
			close(cfd);
			continue;
		}
		mxc_list_insert_tail(&srv->clients, &c->link);
	}
}

static int listen_on(const char *path, bool scoped, uint32_t uid, uint32_t gid,
		     struct mxc_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path))
		return mxc_error_set(err, -ENAMETOOLONG, "socket path '%s' is too long", path);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to create socket");

	/* A socket file left by a crashed daemon is replaced; a live daemon is not. */
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return mxc_error_set(err, -EEXIST, "'%s' exists and is not a socket", path);
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			close(probe);
			close(fd);
			return mxc_error_set(err, -EADDRINUSE,
					     "another mxc-sessiond is listening on '%s'", path);
		}
		mxc_close(probe);
		unlink(path);
	}
	/* Born inaccessible; opened up once it has its owner and mode. */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (r < 0 || listen(fd, 128) < 0 || (scoped && chown(path, uid, gid) < 0) ||
	    chmod(path, scoped ? 0600 : 0666) < 0) {
		r = mxc_error_errno(err, -errno, "failed to listen on '%s'", path);
		close(fd);
		return r;
	}
	/* The main socket: everyone may connect, what they may do is decided per request. */
	return fd;
}

int mxc_listener_open(struct mxc_server *srv, const char *path, const char *scope,
		      uint32_t uid, uint32_t gid, struct mxc_listener **ret,
		      struct mxc_error *err)
{
	struct mxc_listener *l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		return mxc_error_set(err, -ENOMEM, "out of memory");
	}
	l->srv = srv;
	l->scope_uid = uid;
	if (scope)
		snprintf(l->scope, sizeof(l->scope), "%s", scope);
	l->fd = listen_on(path, scope != NULL, uid, gid, err);
	if (l->fd < 0) {
		int r = l->fd;
		free(l->path);
		free(l);
		return r;
	}
	l->src = mxc_loop_add_fd(srv->loop, l->fd, EPOLLIN, on_listen, l);
	if (!l->src) {
		int r = mxc_error_errno(err, -errno, "failed to watch '%s'", path);
		mxc_listener_close(l);
		return r;
	}
	*ret = l;
	return 0;
}

void mxc_listener_close(struct mxc_listener *l)
{
	if (!l)
		return;
	mxc_source_remove(l->src);
	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->path);
	}
	free(l->path);
	free(l);
}

static int open_program(const char *dir, const char *name, struct mxc_error *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to find '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111) ||
	    (st.st_mode & 0022) || st.st_uid != 0) {
		close(fd);
		return mxc_error_set(err, -EPERM,
				     "'%s' must be an executable file owned by root and writable "
				     "only by root",
				     path);
	}
	return fd;
}

static char *path_join(const char *a, const char *b)
{
	char *s;
	return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

static int make_dir(const char *path, mode_t mode, struct mxc_error *err)
{
	int r = mxc_mkdir_p(path, mode);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to create directory '%s'", path);
	return 0;
}

/*
 * The cgroup subtree of this daemon's sessions: "mxc" for the default runtime directory, a
 * name derived from the runtime directory otherwise, so that daemons relocated for tests or
 * second installs never clean up each other's sessions.
 */
static void cgroup_name(const char *runtime_dir, char buf[static 16])
{
	char hex[MXC_SHA256_HEX_LEN + 1];
	if (strcmp(runtime_dir, "/run/mxc") == 0 ||
	    mxc_sha256_hex(runtime_dir, strlen(runtime_dir), hex) < 0)
		snprintf(buf, 16, "mxc");
	else
		snprintf(buf, 16, "mxc-%.8s", hex);
}

/* What this host offers for containment, found out once; missing essentials are fatal. */
static int detect_containment(struct mxc_server *srv, struct mxc_error *err)
{
	if (!mxc_seccomp_available())
		return mxc_error_set(err, -EOPNOTSUPP,
				     "this kernel has no seccomp filters, which every session needs");
	srv->landlock_abi = mxc_landlock_abi();
	if (srv->landlock_abi)
		log_info("Landlock ABI %d: the second wall around session files is up",
			 srv->landlock_abi);
	else
		log_warning("Landlock is not available: session files are confined by the mount "
			    "namespace alone (see mxc doctor)");
	char name[16];
	cgroup_name(srv->cfg.runtime_dir, name);
	struct mxc_cgroups_options opt = { .name = name };
	int r = mxc_cgroups_detect(&opt, &srv->cgroups, err);
	if (r < 0)
		return r;
	log_notice("session limits: %s", mxc_cgroups_describe(srv->cgroups));
	srv->net = (struct mxc_net_config){ .enable_forwarding = true };
	return 0;
}

int mxc_server_init(struct mxc_server *srv, const struct mxc_config *cfg, struct mxc_error *err)
{
	*srv = (struct mxc_server){ .cfg = *cfg, .init_fd = -1, .helper_fd = -1 };
	mxc_list_init(&srv->clients);
	mxc_list_init(&srv->sessions);
	mxc_list_init(&srv->requests);
	mxc_list_init(&srv->account_queue);
	int r;
	if (geteuid() != 0)
		return mxc_error_set(err, -EPERM, "mxc-sessiond must run as root");

	srv->db_path = path_join(cfg->state_dir, "state.db");
	srv->home_base = path_join(cfg->state_dir, "home");
	srv->sessions_dir = path_join(cfg->runtime_dir, "sessions");
	if (!srv->db_path || !srv->home_base || !srv->sessions_dir)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	if ((r = make_dir(cfg->state_dir, 0755, err)) < 0 ||
	    (r = make_dir(srv->home_base, 0755, err)) < 0 ||
	    (r = make_dir(cfg->runtime_dir, 0755, err)) < 0 ||
	    (r = make_dir(srv->sessions_dir, 0700, err)) < 0)
		return r;
	chmod(cfg->state_dir, 0755);
	chmod(srv->sessions_dir, 0700);

	if ((srv->init_fd = open_program(cfg->libexec_dir, "mxc-init", err)) < 0 ||
	    (srv->helper_fd = open_program(cfg->libexec_dir, "mxc-session-helper", err)) < 0)
		return -ENOENT;
	if ((r = detect_containment(srv, err)) < 0)
		return r;

	if ((r = mxc_db_open(srv->db_path, &srv->db, err)) < 0)
		return r;
	chmod(srv->db_path, 0600);
	if ((r = mxc_broker_init(srv, err)) < 0)
		return r;

	if ((r = mxc_loop_create(&srv->loop)) < 0)
		return mxc_error_errno(err, r, "failed to create the event loop");

	/* Sessions left by a previous daemon are adopted or ended before anyone connects. */
	mxc_sessions_recover(srv);

	return mxc_listener_open(srv, cfg->socket_path, NULL, 0, 0, &srv->main_listener, err);
}

static void on_signal(struct mxc_loop *loop, int signo, void *data)
{
	struct mxc_server *srv = data;
	log_notice("received %s, shutting down", strsignal(signo));
	srv->shutting_down = true;
	mxc_loop_quit(loop, 0);
}

int mxc_server_run(struct mxc_server *srv)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	int r = mxc_loop_add_signals(srv->loop, sigs, MXC_ARRAY_SIZE(sigs), on_signal, srv);
	if (r < 0)
		return r;
	log_notice("mxc-sessiond " MXC_VERSION " listening on %s", srv->cfg.socket_path);
	return mxc_loop_run(srv->loop);
}

void mxc_server_finish(struct mxc_server *srv)
{
	while (!mxc_list_empty(&srv->clients))
		client_destroy(mxc_container_of(srv->clients.next, struct mxc_client, link));
	mxc_broker_finish(srv);
	if (srv->db)
		mxc_sessions_shutdown(srv);
	mxc_listener_close(srv->main_listener);
	mxc_loop_destroy(srv->loop);
	mxc_db_close(srv->db);
	mxc_close(srv->init_fd);
	mxc_close(srv->helper_fd);
	/* The subtree goes with the last daemon using it; while sessions live, it stays. */
	struct mxc_error err = { 0 };
	if (srv->cgroups && mxc_cgroups_remove(srv->cgroups, &err) < 0)
		log_debug("cgroup subtree kept: %s", err.msg);
	mxc_cgroups_free(srv->cgroups);
	free(srv->db_path);
	free(srv->home_base);
	free(srv->sessions_dir);
}
