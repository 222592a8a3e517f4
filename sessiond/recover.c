/* Sessions left by a previous daemon: adopted or ended; and ending all at shutdown. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "display.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "net.h"
#include "proc.h"
#include "session-private.h"
#include "session.h"

/* Kills a leftover leader by pid, only if it is still the process that was recorded. */
static void kill_recorded(pid_t pid, uint64_t starttime)
{
	uint64_t now;
	if (pid <= 0 || mxc_proc_starttime(pid, &now) < 0 || now != starttime)
		return;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return;
	/* Checked again through the pidfd's own process, closing the pid-reuse window. */
	if (mxc_proc_starttime(pid, &now) == 0 && now == starttime) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		poll(&p, 1, 5000);
	}
	close(pidfd);
}

/* The cgroup and network of a session that was not adopted, if it had them. */
static void remove_resources(struct mxc_server *srv, const char *id)
{
	struct mxc_error err = { 0 };
	struct mxc_cgroup *g = NULL;
	if (mxc_cgroup_open(srv->cgroups, id, &g, &err) == 0)
		mxc_cgroup_destroy(g);
	char *text = mxc_db_session_policy(srv->db, id);
	struct mxc_policy *p = NULL;
	if (text && mxc_policy_parse(text, strlen(text), &p, &err) == 0 &&
	    mxc_net_needs_veth(&p->network) && mxc_net_remove(id, &err) < 0)
		log_error("session %s: %s", id, err.msg);
	mxc_policy_free(p);
	free(text);
}

static int adopt(struct mxc_server *srv, struct json_object *row, struct mxc_error *err)
{
	const char *id = NULL, *agent = NULL, *owner_name = NULL;
	int64_t pid = 0, start = 0, owner = 0, w = 0, h = 0, depth = 0, started = 0;
	mxc_json_get_str(row, "id", 16, &id, NULL);
	mxc_json_get_str(row, "agent", MXC_AGENT_NAME_MAX, &agent, NULL);
	mxc_json_get_str(row, "owner_name", 63, &owner_name, NULL);
	mxc_json_get_i64(row, "leader_pid", 1, INT32_MAX, &pid, NULL);
	mxc_json_get_i64(row, "leader_start", 0, INT64_MAX, &start, NULL);
	mxc_json_get_i64(row, "owner_uid", 0, UINT32_MAX, &owner, NULL);
	mxc_json_get_i64(row, "width", 0, UINT32_MAX, &w, NULL);
	mxc_json_get_i64(row, "height", 0, UINT32_MAX, &h, NULL);
	mxc_json_get_i64(row, "depth", 0, UINT32_MAX, &depth, NULL);
	mxc_json_get_i64(row, "started_at", 0, INT64_MAX, &started, NULL);
	if (!id || !agent || !pid)
		return mxc_error_set(err, -EINVAL, "its record is incomplete");

	struct session *s = session_new(srv);
	if (!s)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->owner.uid = (uint32_t)owner;
	snprintf(s->owner.name, sizeof(s->owner.name), "%s", owner_name ? owner_name : "?");
	s->width = (uint32_t)w;
	s->height = (uint32_t)h;
	/* What the new helper's greeting will confirm; verbs may arrive before it. */
	s->screen_width = s->width;
	s->screen_height = s->height;
	s->depth = (uint32_t)depth;
	s->started_at = started;
	s->state = RUNNING;
	struct json_object *activity = NULL;
	if (json_object_object_get_ex(row, "activity", &activity) && activity)
		session_load_activity(s, activity);
	s->adopting = true;
	char *policy = mxc_db_session_policy(srv->db, id);
	int r = session_load_agent(s, agent, err);
	if (r == 0)
		r = policy ? mxc_policy_parse(policy, strlen(policy), &s->policy, err)
			   : mxc_error_set(err, -EINVAL, "its policy is missing");
	free(policy);
	if (r == 0 && (mxc_policy_digest(s->policy, s->digest) < 0 || !(s->env = session_env(s)) ||
		       asprintf(&s->dir, "%s/%s", srv->sessions_dir, s->id) < 0))
		r = mxc_error_set(err, -ENOMEM, "out of memory");
	uint64_t now = 0;
	int pidfd = -1;
	if (r == 0 && (mxc_proc_starttime((pid_t)pid, &now) < 0 || now != (uint64_t)start ||
		       (pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0 ||
		       mxc_proc_starttime((pid_t)pid, &now) < 0 || now != (uint64_t)start))
		r = mxc_error_set(err, -ESRCH, "its processes are gone");
	if (r < 0) {
		mxc_close(pidfd);
		session_free(s);
		return r;
	}
	s->leader_pid = (pid_t)pid;
	s->pidns = mxc_pidns_of((pid_t)pid);
	/* Its network is found again by its id when it ends; a missing cgroup means no limits. */
	if (mxc_cgroup_open(srv->cgroups, s->id, &s->cgroup, err) < 0)
		log_warning("session %s: %s", s->id, err->msg);
	s->leader = mxc_loop_add_pidfd(srv->loop, pidfd, session_on_leader_exit, s);
	if (!s->leader) {
		close(pidfd);
		session_free(s);
		return mxc_error_set(err, -ENOMEM, "failed to watch it");
	}
	if (session_listen(s, err) < 0) {
		mxc_source_remove(s->leader);
		session_free(s);
		return err->code;
	}
	/* From here the session is live: failures end it through session_kill. */
	if (session_init_connect(s, err) < 0) {
		char why[600];
		snprintf(why, sizeof(why), "could not re-attach after a daemon restart: %s", err->msg);
		session_kill(s, "failed", why, true);
		return 0;
	}
	if (!s->policy->ui.allow_windows) {
		session_running(s);
		session_arm_timeout(s);
		return 0;
	}
	s->start_timer = mxc_loop_add_timer(srv->loop, srv->cfg.start_timeout_ms, session_on_start_timeout, s);
	if (session_helper_start(s, err) < 0) {
		char why[600];
		snprintf(why, sizeof(why), "could not re-attach after a daemon restart: %s", err->msg);
		session_kill(s, "failed", why, true);
	}
	return 0;
}

void mxc_sessions_recover(struct mxc_server *srv)
{
	struct json_object *live = mxc_db_session_list(srv->db, -1, true, NULL);
	size_t n = json_object_array_length(live);
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(live, i);
		const char *id = NULL, *state = NULL, *agent = NULL;
		int64_t pid = 0, start = 0;
		mxc_json_get_str(row, "id", 16, &id, NULL);
		mxc_json_get_str(row, "state", 16, &state, NULL);
		mxc_json_get_str(row, "agent", MXC_AGENT_NAME_MAX, &agent, NULL);
		mxc_json_get_i64(row, "leader_pid", 1, INT32_MAX, &pid, NULL);
		mxc_json_get_i64(row, "leader_start", 0, INT64_MAX, &start, NULL);
		if (!id)
			continue;
		struct mxc_error err = { 0 };
		if (mxc_streq(state, "running")) {
			if (adopt(srv, row, &err) == 0) {
				log_notice("session %s: re-attaching after a daemon restart", id);
				continue;
			}
		} else {
			mxc_error_set(&err, -ECANCELED, "it was %s", state ? state : "?");
		}
		/* Not adoptable: end it cleanly, leaving no process, directory or live row. */
		kill_recorded((pid_t)pid, (uint64_t)start);
		remove_resources(srv, id);
		char *dir;
		if (asprintf(&dir, "%s/%s", srv->sessions_dir, id) > 0) {
			mxc_rm_rf(dir);
			free(dir);
		}
		char reason[600];
		snprintf(reason, sizeof(reason), "ended by a daemon restart: %s", err.msg);
		mxc_db_session_set_ended(srv->db, id, "failed", reason);
		mxc_server_audit(srv, "session.end", agent, id, NULL, "error", mxc_audit_reason(reason));
		log_notice("session %s: %s", id, reason);
	}
	json_object_put(live);

	/* Session cgroups of this daemon's subtree that no live session owns. */
	struct session *s;
	size_t n_live = 0;
	mxc_list_for_each(s, &srv->sessions, link)
		n_live++;
	char **ids = calloc(n_live + 1, sizeof(*ids));
	struct mxc_error err = { 0 };
	if (ids) {
		size_t k = 0;
		mxc_list_for_each(s, &srv->sessions, link)
			ids[k++] = s->id;
		if (mxc_cgroups_cleanup_stale(srv->cgroups, ids, &err) < 0)
			log_error("failed to remove stale session cgroups: %s", err.msg);
		free(ids);
	}

	/* Runtime directories without a live session are leftovers of a crash. */
	int dfd = open(srv->sessions_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || session_find(srv, de->d_name))
			continue;
		log_notice("removing stale session directory %s/%s", srv->sessions_dir, de->d_name);
		mxc_rm_rf_at(dfd, de->d_name);
	}
	if (d)
		closedir(d);
	else
		mxc_close(dfd);
}

void mxc_sessions_shutdown(struct mxc_server *srv)
{
	while (!mxc_list_empty(&srv->sessions)) {
		struct session *s = mxc_container_of(srv->sessions.next, struct session, link);
		if (!s->end_reason[0]) {
			snprintf(s->end_state, sizeof(s->end_state), "stopped");
			snprintf(s->end_reason, sizeof(s->end_reason), "mxc-sessiond shut down");
		}
		session_finish(s);
	}
}
