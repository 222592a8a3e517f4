/*
 * The socket API from the outside: raw lines on the daemon's socket, as a buggy or hostile
 * client would send them. Every mistake gets exactly one clear error line and the daemon
 * (and, where the stream can still be framed, the connection) goes on serving.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "json.h"
#include "proto.h"

static struct mxc_harness h;

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	mxc_harness_start(&h);
}

static void teardown(void)
{
	mxc_harness_stop(&h);
}

TestSuite(protocol, .init = setup, .fini = teardown, .timeout = 120);

struct conn {
	int fd;
	struct mxc_reader in;
};

static void conn_open(struct conn *c)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", h.sock);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(c->fd, 0);
	cr_assert_eq(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)), 0,
		     "cannot connect to the daemon: %s", strerror(errno));
	mxc_reader_init(&c->in, MXC_PROTO_MAX_RESPONSE);
}

static void conn_close(struct conn *c)
{
	c->fd = mxc_close(c->fd);
	mxc_reader_finish(&c->in);
}

static void send_raw(struct conn *c, const char *data, size_t len, const int *fds, size_t n_fds)
{
	cr_assert_eq(mxc_send_all(c->fd, data, len, fds, n_fds), 0, "send: %s", strerror(errno));
}

static void send_line(struct conn *c, const char *line)
{
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	memcpy(buf, line, len);
	buf[len] = '\n';
	send_raw(c, buf, len + 1, NULL, 0);
	free(buf);
}

static uint64_t now_ms(void)
{
	return mxc_now_mono_ns() / 1000000u;
}

/*
 * Reads one response line within timeout_ms; returns NULL at end of stream. Fails the test
 * if nothing complete arrives in time.
 */
static struct json_object *recv_resp(struct conn *c, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		char *line;
		size_t len;
		int k = mxc_reader_line(&c->in, &line, &len);
		cr_assert_geq(k, 0, "response line too long");
		if (k > 0) {
			struct json_object *o = NULL;
			struct mxc_error err = {0};
			cr_assert_eq(mxc_json_parse(line, len, &o, &err), 0,
				     "the response is not JSON (%s): %.200s", err.msg, line);
			return o;
		}
		int n = mxc_reader_fill(&c->in, c->fd);
		if (n == 0 || n == -ECONNRESET)
			return NULL;
		if (n > 0)
			continue;
		cr_assert_eq(n, -EAGAIN, "reading the response: %s", strerror(-n));
		uint64_t t = now_ms();
		cr_assert_lt(t, deadline, "no response within %d ms", timeout_ms);
		struct pollfd p = {c->fd, POLLIN, 0};
		poll(&p, 1, (int)(deadline - t));
	}
}

/* Whether a complete line (or end of stream) can be read within timeout_ms. */
static bool readable(struct conn *c, int timeout_ms)
{
	if (c->in.buf && memchr(c->in.buf + c->in.consumed, '\n', c->in.len - c->in.consumed))
		return true;
	struct pollfd p = {c->fd, POLLIN, 0};
	return poll(&p, 1, timeout_ms) > 0;
}

static bool resp_ok(struct json_object *r)
{
	struct json_object *ok = NULL;
	return json_object_object_get_ex(r, "ok", &ok) && json_object_get_boolean(ok);
}

static const char *resp_message(struct json_object *r)
{
	struct json_object *e = NULL;
	const char *msg = NULL;
	json_object_object_get_ex(r, "error", &e);
	mxc_json_get_str(e, "message", 4096, &msg, NULL);
	return msg ? msg : "";
}

static const char *resp_code(struct json_object *r)
{
	struct json_object *e = NULL;
	const char *code = NULL;
	json_object_object_get_ex(r, "error", &e);
	mxc_json_get_str(e, "code", 64, &code, NULL);
	return code ? code : "";
}

static struct json_object *resp_result(struct json_object *r)
{
	struct json_object *res = NULL;
	json_object_object_get_ex(r, "result", &res);
	return res;
}

static void expect_error(struct conn *c, const char *message_part)
{
	struct json_object *r = recv_resp(c, 10000);
	cr_assert_not_null(r, "the daemon closed the connection instead of answering");
	cr_assert_not(resp_ok(r), "a bad request succeeded: %s", mxc_json_str(r, NULL));
	cr_assert_not_null(strstr(resp_message(r), message_part), "'%s' lacks '%s'",
			   resp_message(r), message_part);
	cr_assert_eq(strncmp(resp_code(r), "E", 1), 0, "no errno name in %s",
		     mxc_json_str(r, NULL));
	int64_t v = 0;
	cr_assert_eq(mxc_json_get_i64(r, "v", 0, 10, &v, NULL), 0);
	cr_assert_eq(v, MXC_PROTO_VERSION);
	json_object_put(r);
}

static void expect_version(struct conn *c)
{
	send_line(c, "{\"v\":1,\"verb\":\"version\"}");
	struct json_object *r = recv_resp(c, 10000);
	cr_assert_not_null(r, "the connection was closed");
	cr_assert(resp_ok(r), "version failed: %s", mxc_json_str(r, NULL));
	const char *version = NULL;
	mxc_json_get_str(resp_result(r), "version", 64, &version, NULL);
	cr_assert_not_null(version);
	json_object_put(r);
}

/* The daemon still serves new connections. */
static void expect_daemon_serving(void)
{
	cr_assert(mxc_pid_alive(h.daemon), "mxc-sessiond died");
	struct conn c;
	conn_open(&c);
	expect_version(&c);
	conn_close(&c);
}

struct bad_line {
	const char *line;
	const char *message;
};

Test(protocol, each_malformed_request_gets_one_error_and_the_connection_goes_on)
{
	static const struct bad_line cases[] = {
	    {"{\"v\":1,\"verb\":", "invalid JSON"},
	    {"", "invalid JSON"},
	    {"not json at all", "invalid JSON"},
	    {"[1,2,3]", "not a JSON object"},
	    {"\"version\"", "not a JSON object"},
	    {"{\"verb\":\"version\"}", "no protocol version"},
	    {"{\"v\":2,\"verb\":\"version\"}", "protocol version 2 is not supported"},
	    {"{\"v\":\"1\",\"verb\":\"version\"}", "'v': must be an integer"},
	    {"{\"v\":1}", "no \"verb\""},
	    {"{\"v\":1,\"verb\":\"no.such.verb\"}", "unknown verb 'no.such.verb'"},
	    {"{\"v\":1,\"verb\":\"version\",\"args\":[]}", "\"args\" must be a JSON object"},
	    {"{\"v\":1,\"verb\":\"version\",\"extra\":1}", "unknown argument 'extra'"},
	    {"{\"v\":1,\"verb\":\"agent.show\",\"args\":{\"name\":\"x\",\"color\":\"red\"}}",
	     "unknown argument 'color'"},
	    {"{\"v\":1,\"verb\":\"agent.show\",\"args\":{\"name\":5}}", "'name': must be a string"},
	    {"{\"v\":1,\"verb\":\"agent.show\",\"args\":{}}", "'name': missing"},
	    {"{\"v\":1,\"verb\":\"session.start\",\"args\":{\"agent\":\"x\",\"width\":\"wide\"}}",
	     "'width': must be an integer"},
	    {"{\"v\":1,\"verb\":\"session.list\",\"args\":{\"all\":\"yes\"}}",
	     "'all': must be true or false"},
	    {"{\"v\":1,\"verb\":\"audit.list\",\"args\":{\"limit\":-1}}",
	     "'limit': must not be negative"},
	    {"{\"v\":1,\"verb\":\"exec\",\"args\":{\"session\":\"abcdef\",\"argv\":\"ls\"}}",
	     "'argv': must be an array of strings"},
	    {"{\"v\":1,\"verb\":\"session.stop\",\"args\":{\"session\":[]}}",
	     "'session': must be a string"},
	    {"{\"v\":1,\"verb\":\"agent.remove\",\"args\":{\"name\":\"x\",\"keep_home\":1}}",
	     "'keep_home': must be true or false"},
	    /* Two requests on one line are one malformed line, answered once. */
	    {"{\"v\":1,\"verb\":\"version\"}{\"v\":1,\"verb\":\"version\"}", "invalid JSON"},
	    {"{'v':1,'verb':'version'}", "invalid JSON"},
	};
	struct conn c;
	conn_open(&c);
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		send_line(&c, cases[i].line);
		expect_error(&c, cases[i].message);
		/* Exactly one answer: the next one is the version's. */
		expect_version(&c);
	}
	cr_assert_not(readable(&c, 50), "an extra response line is pending");
	conn_close(&c);
	expect_daemon_serving();
}

Test(protocol, nul_bytes_and_invalid_utf8_are_refused)
{
	struct conn c;
	conn_open(&c);
	static const char nul[] = "{\"v\":1,\"verb\":\"version\"\0}\n";
	send_raw(&c, nul, sizeof(nul) - 1, NULL, 0);
	expect_error(&c, "NUL");
	expect_version(&c);
	static const char utf8[] =
	    "{\"v\":1,\"verb\":\"agent.show\",\"args\":{\"name\":\"\xc0\xaf\"}}\n";
	send_raw(&c, utf8, sizeof(utf8) - 1, NULL, 0);
	expect_error(&c, "UTF-8");
	expect_version(&c);
	conn_close(&c);
}

Test(protocol, a_request_of_exactly_the_limit_is_served)
{
	size_t len = MXC_PROTO_MAX_LINE;
	char *line = malloc(len + 1);
	static const char head[] = "{\"v\":1,\"verb\":\"version\"";
	memcpy(line, head, sizeof(head) - 1);
	memset(line + sizeof(head) - 1, ' ', len - sizeof(head));
	line[len - 1] = '}';
	line[len] = '\n';
	struct conn c;
	conn_open(&c);
	send_raw(&c, line, len + 1, NULL, 0);
	free(line);
	struct json_object *r = recv_resp(&c, 20000);
	cr_assert_not_null(r);
	cr_assert(resp_ok(r), "a line of exactly MXC_PROTO_MAX_LINE was refused: %s",
		  resp_message(r));
	json_object_put(r);
	expect_version(&c);
	conn_close(&c);
}

Test(protocol, a_request_over_the_limit_is_refused_and_the_connection_closed)
{
	size_t len = MXC_PROTO_MAX_LINE + 4096;
	char *line = malloc(len + 1);
	memset(line, 'x', len);
	line[len] = '\n';
	struct conn c;
	conn_open(&c);
	/* The daemon may hang up before taking it all: a failed send is fine here. */
	size_t off = 0;
	while (off < len + 1) {
		ssize_t n = send(c.fd, line + off, len + 1 - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(line);
	struct json_object *r = recv_resp(&c, 20000);
	cr_assert_not_null(r, "no error before the connection was closed");
	cr_assert_not(resp_ok(r));
	cr_assert_str_eq(resp_code(r), "EMSGSIZE");
	cr_assert_not_null(strstr(resp_message(r), "longer than the limit"), "%s", resp_message(r));
	json_object_put(r);
	/* The stream cannot be framed any more: the daemon closes it. */
	r = recv_resp(&c, 10000);
	cr_assert_null(r, "the daemon went on reading a stream it cannot frame: %s",
		       mxc_json_str(r, NULL));
	conn_close(&c);
	expect_daemon_serving();
}

Test(protocol, a_client_leaving_mid_request_does_not_disturb_the_daemon)
{
	struct conn c;
	conn_open(&c);
	send_raw(&c, "{\"v\":1,\"verb\":\"vers", 19, NULL, 0);
	conn_close(&c);
	/* A whole request whose answer nobody reads. */
	conn_open(&c);
	send_line(&c, "{\"v\":1,\"verb\":\"version\"}");
	shutdown(c.fd, SHUT_WR);
	conn_close(&c);
	/* One that half-closes its side still gets its answer. */
	conn_open(&c);
	send_line(&c, "{\"v\":1,\"verb\":\"version\"}");
	shutdown(c.fd, SHUT_WR);
	struct json_object *r = recv_resp(&c, 10000);
	cr_assert_not_null(r, "a half-closed client got no answer");
	cr_assert(resp_ok(r));
	json_object_put(r);
	cr_assert_null(recv_resp(&c, 10000), "the daemon did not close a finished connection");
	conn_close(&c);
	expect_daemon_serving();
}

static uid_t agent_uid(const char *name)
{
	struct passwd *pw = getpwnam(name);
	cr_assert_not_null(pw);
	return pw->pw_uid;
}

/* The state of the newest session, from session.list on its own connection ("" if none). */
static void newest_session(char id[static 8], char state[static 16])
{
	struct conn c;
	conn_open(&c);
	send_line(&c, "{\"v\":1,\"verb\":\"session.list\",\"args\":{\"all\":true}}");
	struct json_object *r = recv_resp(&c, 10000);
	cr_assert_not_null(r);
	struct json_object *list = NULL;
	json_object_object_get_ex(resp_result(r), "sessions", &list);
	id[0] = state[0] = '\0';
	if (json_object_array_length(list) > 0) {
		struct json_object *s = json_object_array_get_idx(list, 0);
		const char *v = NULL;
		if (mxc_json_get_str(s, "id", 7, &v, NULL) == 0)
			snprintf(id, 8, "%s", v);
		if (mxc_json_get_str(s, "state", 15, &v, NULL) == 0)
			snprintf(state, 16, "%s", v);
	}
	json_object_put(r);
	conn_close(&c);
}

Test(protocol, a_client_leaving_during_session_start_ends_the_session)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	uid_t uid = agent_uid("coder");
	struct conn a;
	conn_open(&a);
	send_line(&a, "{\"v\":1,\"verb\":\"session.start\",\"args\":{\"agent\":\"coder\"}}");
	/* Leave once the daemon is working on it, before it can answer. */
	char id[8], state[16];
	for (int i = 0; i < 2000; i++) {
		newest_session(id, state);
		if (id[0])
			break;
		usleep(1000);
	}
	cr_assert_str_eq(state, "starting", "the session was not caught while starting");
	cr_assert_not(readable(&a, 0), "the start was answered already");
	conn_close(&a);

	for (int i = 0; i < 500; i++) {
		newest_session(id, state);
		if (strcmp(state, "failed") == 0)
			break;
		usleep(10000);
	}
	cr_assert_str_eq(state, "failed", "session %s is %s after its client left", id, state);
	char *out = mxc_ok(&h, "session", "show", id, NULL);
	cr_assert_not_null(strstr(out, "disconnected"), "%s", out);
	free(out);
	cr_assert_eq(mxc_processes_of(&h, uid), 0, "processes of the abandoned session remain");
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/sessions/%s", h.run, id);
	cr_assert_neq(access(dir, F_OK), 0, "the runtime directory remains");
	expect_daemon_serving();
	/* And the agent is free for the next session. */
	char *next = mxc_ok(&h, "session", "start", "coder", NULL);
	free(mxc_ok(&h, "session", "stop", next, NULL));
	free(next);
}

Test(protocol, a_slow_request_never_blocks_other_clients)
{
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	struct conn a, b;
	conn_open(&a);
	conn_open(&b);
	uint64_t t0 = now_ms();
	send_line(&a, "{\"v\":1,\"verb\":\"session.start\",\"args\":{\"agent\":\"coder\"}}");
	/* Let the daemon take up the start first: a blocking daemon would then be stuck in it. */
	usleep(20000);
	uint64_t t1 = now_ms();
	send_line(&b, "{\"v\":1,\"verb\":\"version\"}");
	struct json_object *r = recv_resp(&b, 10000);
	uint64_t t2 = now_ms();
	cr_assert_not_null(r);
	cr_assert(resp_ok(r));
	json_object_put(r);
	cr_assert_not(readable(&a, 0), "the session start (%llu ms) was answered before version",
		      (unsigned long long)(t2 - t0));
	/* Milliseconds normally; the bound leaves room for sanitizer builds on a busy host. */
	cr_assert_lt(t2 - t1, 250, "version took %llu ms while a session was starting",
		     (unsigned long long)(t2 - t1));

	r = recv_resp(&a, 30000);
	uint64_t t3 = now_ms();
	cr_assert_not_null(r);
	cr_assert(resp_ok(r), "the session did not start: %s", resp_message(r));
	const char *id = NULL;
	mxc_json_get_str(resp_result(r), "id", 16, &id, NULL);
	cr_assert_not_null(id);
	cr_log_info("session start %llu ms, version %llu ms", (unsigned long long)(t3 - t0),
		    (unsigned long long)(t2 - t1));
	free(mxc_ok(&h, "session", "stop", id, NULL));
	json_object_put(r);
	conn_close(&a);
	conn_close(&b);
}

static int count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether the read end of a pipe reports end of file (no writer left) within timeout_ms. */
static bool pipe_orphaned(int rfd, int timeout_ms)
{
	struct pollfd p = {rfd, POLLIN, 0};
	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	char c;
	return read(rfd, &c, 1) == 0;
}

Test(protocol, wrongly_passed_descriptors_are_refused_and_released)
{
	char *id = mxc_harness_session(&h, "coder");
	/* Settled: the CLI's connection may still be closing on the daemon's side. */
	int before = count_fds(h.daemon);
	for (int i = 0; i < 100; i++) {
		usleep(10000);
		int now = count_fds(h.daemon);
		if (now == before)
			break;
		before = now;
	}
	char req[256];
	snprintf(req, sizeof(req),
		 "{\"v\":1,\"verb\":\"exec\",\"args\":{\"session\":\"%s\",\"argv\":[\"true\"]}}\n",
		 id);
	struct conn c;
	conn_open(&c);

	send_raw(&c, req, strlen(req), NULL, 0);
	expect_error(&c, "exec needs three descriptors (stdin, stdout, stderr), got 0");

	static const size_t counts[] = {1, 2, MXC_PROTO_MAX_FDS};
	for (size_t k = 0; k < MXC_ARRAY_SIZE(counts); k++) {
		int p[2];
		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
		int fds[MXC_PROTO_MAX_FDS];
		for (size_t i = 0; i < counts[k]; i++)
			fds[i] = p[1];
		send_raw(&c, req, strlen(req), fds, counts[k]);
		close(p[1]);
		char expect[32];
		snprintf(expect, sizeof(expect), "got %zu", counts[k]);
		expect_error(&c, expect);
		cr_assert(pipe_orphaned(p[0], 2000), "the daemon kept %zu passed descriptors",
			  counts[k]);
		close(p[0]);
	}
	/* Descriptors sent with a request that takes none are dropped too. */
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	send_raw(&c, "{\"v\":1,\"verb\":\"version\"}\n", 25, &p[1], 1);
	close(p[1]);
	struct json_object *r = recv_resp(&c, 10000);
	cr_assert(resp_ok(r));
	json_object_put(r);
	cr_assert(pipe_orphaned(p[0], 2000), "the daemon kept a descriptor sent with version");
	close(p[0]);
	/* ... and with a malformed request. */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	send_raw(&c, "{oops}\n", 7, &p[1], 1);
	close(p[1]);
	expect_error(&c, "invalid JSON");
	cr_assert(pipe_orphaned(p[0], 2000), "the daemon kept a descriptor of a bad request");
	close(p[0]);

	expect_version(&c);
	conn_close(&c);
	int after = count_fds(h.daemon);
	for (int i = 0; i < 100 && after > before; i++) {
		usleep(10000);
		after = count_fds(h.daemon);
	}
	cr_assert_leq(after, before, "the daemon holds %d descriptors, %d before", after, before);
	/* The session is unharmed and exec with three descriptors works. */
	char *out = mxc_ok(&h, "exec", id, "--", "echo", "fine", NULL);
	cr_assert_str_eq(out, "fine");
	free(out);
	free(id);
}

Test(protocol, more_descriptors_than_the_protocol_allows_end_the_connection)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	int fds[MXC_PROTO_MAX_FDS + 1];
	for (size_t i = 0; i < MXC_ARRAY_SIZE(fds); i++)
		fds[i] = p[1];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(fds))];
	} control;
	memset(&control, 0, sizeof(control));
	static const char line[] = "{\"v\":1,\"verb\":\"version\"}\n";
	struct iovec iov = {.iov_base = (void *)line, .iov_len = sizeof(line) - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	struct conn c;
	conn_open(&c);
	cr_assert_eq(sendmsg(c.fd, &msg, 0), (ssize_t)sizeof(line) - 1);
	close(p[1]);
	struct json_object *r = recv_resp(&c, 10000);
	cr_assert_not_null(r, "no error before the connection was closed");
	cr_assert_not(resp_ok(r));
	json_object_put(r);
	cr_assert_null(recv_resp(&c, 10000), "the connection stayed open");
	conn_close(&c);
	cr_assert(pipe_orphaned(p[0], 2000), "the daemon kept the descriptors");
	close(p[0]);
	expect_daemon_serving();
}

Test(protocol, pipelined_requests_are_answered_in_order)
{
	enum { N = 100 };
	char *buf = malloc(N * 128);
	size_t len = 0;
	for (int i = 0; i < N; i++) {
		if (i % 2 == 0)
			len += (size_t)sprintf(buf + len, "{\"v\":1,\"verb\":\"version\"}\n");
		else
			len +=
			    (size_t)sprintf(buf + len,
					    "{\"v\":1,\"verb\":\"agent.show\",\"args\":{\"name\":"
					    "\"n%d\"}}\n",
					    i);
	}
	struct conn c;
	conn_open(&c);
	send_raw(&c, buf, len, NULL, 0);
	free(buf);
	for (int i = 0; i < N; i++) {
		struct json_object *r = recv_resp(&c, 10000);
		cr_assert_not_null(r, "only %d of %d answers", i, N);
		if (i % 2 == 0) {
			cr_assert(resp_ok(r), "answer %d: %s", i, mxc_json_str(r, NULL));
		} else {
			char expect[32];
			snprintf(expect, sizeof(expect), "agent 'n%d' does not exist", i);
			cr_assert_not(resp_ok(r), "answer %d succeeded", i);
			cr_assert_str_eq(resp_message(r), expect, "answer %d out of order", i);
		}
		json_object_put(r);
	}
	cr_assert_not(readable(&c, 50), "more answers than requests");
	conn_close(&c);
}

Test(protocol, many_idle_connections_do_not_starve_an_active_one)
{
	enum { N = 40 };
	struct conn idle[N];
	for (int i = 0; i < N; i++) {
		conn_open(&idle[i]);
		send_raw(&idle[i], "{\"v\":1,", 7, NULL, 0);
	}
	struct conn c;
	conn_open(&c);
	expect_version(&c);
	conn_close(&c);
	for (int i = 0; i < N; i++)
		conn_close(&idle[i]);
	expect_daemon_serving();
}

/* Reads everything from a pipe until end of file (NUL-terminated, caller frees). */
static char *drain(int fd)
{
	char *text = NULL;
	size_t len;
	cr_assert_eq(mxc_read_fd(fd, 1 << 20, &text, &len), 0);
	return text;
}

Test(protocol, descriptors_belong_to_the_request_they_were_sent_with)
{
	char *id = mxc_harness_session(&h, "coder");
	free(mxc_ok(&h, "agent", "add", "other", NULL));
	struct conn c;
	conn_open(&c);
	/*
	 * A slow request first: while it is in flight the daemon reads nothing more from this
	 * connection, so what follows is queued in the socket and read in one go — a request
	 * without descriptors, then an exec with its three.
	 */
	send_line(&c, "{\"v\":1,\"verb\":\"session.start\",\"args\":{\"agent\":\"other\"}}");
	usleep(30000);
	send_line(&c, "{\"v\":1,\"verb\":\"version\"}");
	int in[2], out[2], err[2];
	cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 &&
		  pipe2(err, O_CLOEXEC) == 0);
	char req[256];
	snprintf(req, sizeof(req),
		 "{\"v\":1,\"verb\":\"exec\",\"args\":{\"session\":\"%s\",\"argv\":[\"sh\",\"-c\","
		 "\"echo out; echo err >&2\"]}}\n",
		 id);
	int fds[3] = {in[0], out[1], err[1]};
	send_raw(&c, req, strlen(req), fds, 3);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	close(in[1]);

	struct json_object *r = recv_resp(&c, 30000);
	cr_assert_not_null(r);
	cr_assert(resp_ok(r), "session.start: %s", resp_message(r));
	const char *other = NULL;
	mxc_json_get_str(resp_result(r), "id", 16, &other, NULL);
	char other_id[8];
	snprintf(other_id, sizeof(other_id), "%s", other ? other : "");
	json_object_put(r);
	r = recv_resp(&c, 10000);
	cr_assert_not_null(r);
	cr_assert(resp_ok(r), "version: %s", resp_message(r));
	json_object_put(r);
	r = recv_resp(&c, 10000);
	cr_assert_not_null(r);
	cr_assert(resp_ok(r), "the exec lost its descriptors to the request before it: %s",
		  resp_message(r));
	int64_t code = -1;
	mxc_json_get_i64(resp_result(r), "exit_code", 0, 255, &code, NULL);
	cr_assert_eq(code, 0);
	json_object_put(r);
	char *o = drain(out[0]), *e = drain(err[0]);
	cr_assert_str_eq(o, "out\n");
	cr_assert_str_eq(e, "err\n");
	free(o);
	free(e);
	close(out[0]);
	close(err[0]);
	conn_close(&c);
	free(mxc_ok(&h, "session", "stop", other_id, NULL));
	free(id);
}
