/*
 * Live views end to end: `mxc view` served to a real browser (noVNC through websockify, in
 * headless Chromium) and read back from its screenshot, and the view verbs spoken raw on the
 * main socket: who may start a view, what a frame holds, that a view is read-only unless the
 * policy lets it take control, that control shuts out every other source of input (the
 * agent's own socket included) until it is given back or its connection goes, and that the
 * agent cannot look at anything through the daemon.
 *
 * Everything the tests start in the background (mxc view, websockify, Chromium) runs in a
 * process group of its own, remembered here, and the test process is a subreaper: teardown
 * kills the groups and then whatever they left behind, however the test ended.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spng.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "harness.h"
#include "json.h"
#include "proto.h"

#define ALICE 4101
#define BOB   4102

#define SCREEN_W 1280
#define SCREEN_H 800
/* What the root window is painted, as xsetroot takes it and as bytes. */
#define PAINT	"#d02020"
#define PAINT_R 0xd0
#define PAINT_G 0x20
#define PAINT_B 0x20
/* Per channel: the browser may scale or blend the canvas a little. */
#define TOLERANCE 24

#define MAX_CHILDREN 16

static struct mxc_harness h;
/* Process groups started in the background, killed by teardown if still there. */
static pid_t children[MAX_CHILDREN];

static void setup(void)
{
	/* A viewer that goes away must not take the test with it. */
	signal(SIGPIPE, SIG_IGN);
	/* What Chromium's and websockify's children leave orphaned comes back to us to kill. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	mxc_harness_start(&h);
}

/* The parent of pid, or 0. */
static pid_t parent_of(pid_t pid)
{
	char path[64], *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (mxc_read_file(path, 4096, &text, NULL) < 0)
		return 0;
	int ppid = 0;
	char *paren = strrchr(text, ')');
	if (paren)
		sscanf(paren + 2, "%*c %d", &ppid);
	free(text);
	return ppid;
}

/* Kills every child of ours but the harness's keeper, until none comes back. */
static void kill_strays(void)
{
	for (int round = 0; round < 100; round++) {
		bool any = false;
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			pid_t pid = atoi(de->d_name);
			if (pid > 0 && pid != h.keeper && parent_of(pid) == getpid()) {
				kill(pid, SIGKILL);
				any = true;
			}
		}
		if (d)
			closedir(d);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			any = true;
		if (!any)
			return;
		usleep(10000);
	}
}

static void teardown(void)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] > 0) {
			kill(-children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	}
	kill_strays();
	mxc_harness_stop(&h);
}

TestSuite(view, .init = setup, .fini = teardown, .timeout = 300);

/* ---- sessions, policies, audit ---- */

static const char no_view[] = "{\"version\":\"mxc/1\", \"ui\":{\"allowWindows\":true}}";

static const char view_only[] = "{\"version\":\"mxc/1\", \"ui\":{\"allowWindows\":true},"
				" \"session\":{\"inspect\":{\"view\":true}}}";

static const char view_and_control[] =
    "{\"version\":\"mxc/1\", \"ui\":{\"allowWindows\":true,\"allowInputInjection\":true},"
    " \"session\":{\"inspect\":{\"view\":true,\"control\":true}}}";

static const char alice_views[] =
    "{\"version\":\"mxc/1\", \"ui\":{\"allowWindows\":true},"
    " \"session\":{\"inspect\":{\"principals\":[\"alice\"],\"view\":true}}}";

/* Starts a session of agent coder under the policy text; returns its id (caller frees). */
static char *start(const char *text)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/policy.json", h.env.scratch);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	return mxc_ok(&h, "session", "start", "coder", "--policy", path, NULL);
}

/* Paints the session's root window, from inside, as any X client of the agent's could. */
static void paint(const char *id)
{
	struct mxc_result r =
	    mxc_run(&h, 0, NULL, "exec", id, "--", "xsetroot", "-solid", PAINT, NULL);
	cr_assert_eq(r.status, 0, "xsetroot failed: %s", r.err);
	mxc_result_free(&r);
}

/* Installs the built mxc in the agent's home; its path inside the session goes in ret. */
static void install_cli(char *ret, size_t len)
{
	char src[300];
	snprintf(src, sizeof(src), "%s/cli/mxc", h.bin);
	mxc_harness_install("coder", src, "mxc", ret, len);
}

/* Runs a shell command inside the session as the agent. */
static struct mxc_result inside(const char *id, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", cmd, NULL);
}

static struct json_object *audit_rows(const char *id)
{
	char *out = mxc_ok(&h, "audit", "--session", id, "--json", NULL);
	struct json_object *rows = mxc_test_json(out);
	free(out);
	return rows;
}

static struct json_object *details(struct json_object *r)
{
	struct json_object *d = NULL;
	json_object_object_get_ex(r, "details", &d);
	return d;
}

/*
 * The last audit row of action with result (any if NULL) and, unless NULL, with details.change
 * equal to change; NULL if there is none.
 */
static struct json_object *row(struct json_object *rows, const char *action, const char *result,
			       const char *change)
{
	struct json_object *found = NULL;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);
		if (mxc_streq(mxc_test_str(r, "action"), action) &&
		    (!result || mxc_streq(mxc_test_str(r, "result"), result)) &&
		    (!change || mxc_streq(mxc_test_str(details(r), "change"), change)))
			found = r;
	}
	return found;
}

/* Waits up to ten seconds for such a row; asserts it shows up. Returns a copy (caller puts). */
static struct json_object *await_row(const char *id, const char *action, const char *result,
				     const char *change)
{
	for (int i = 0; i < 100; i++) {
		struct json_object *rows = audit_rows(id);
		struct json_object *r = row(rows, action, result, change);
		if (r) {
			json_object_get(r);
			json_object_put(rows);
			return r;
		}
		json_object_put(rows);
		usleep(100 * 1000);
	}
	cr_assert_fail("no audit row %s %s %s for session %s", action, result ? result : "",
		       change ? change : "", id);
	return NULL;
}

/* Whether the pixel at p (R, G, B) is the painted colour. */
static bool painted(const uint8_t *p)
{
	return abs(p[0] - PAINT_R) <= TOLERANCE && abs(p[1] - PAINT_G) <= TOLERANCE &&
	       abs(p[2] - PAINT_B) <= TOLERANCE;
}

/* The share of painted pixels in rows of packed R, G, B. */
static double painted_share(const uint8_t *rgb, uint32_t w, uint32_t hgt, size_t stride)
{
	uint64_t n = 0;
	for (uint32_t y = 0; y < hgt; y++)
		for (uint32_t x = 0; x < w; x++)
			n += painted(rgb + (size_t)y * stride + (size_t)x * 3);
	return (double)n / ((double)w * hgt);
}

/* ---- raw protocol on the main socket ---- */

struct raw {
	int fd;
	struct mxc_reader in;
};

/* An answer: the result or the refusal, and the descriptor that came with it. */
struct reply {
	int code; /* 0, or the refusal's negative errno */
	char msg[512];
	struct json_object *result; /* on success */
	int fd;			    /* -1 if none came */
};

static void reply_free(struct reply *r)
{
	json_object_put(r->result);
	mxc_close(r->fd);
	r->result = NULL;
	r->fd = -1;
}

static int connect_main(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", h.sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		mxc_close(fd);
		return -1;
	}
	return fd;
}

/*
 * A connection to the main socket made by uid: the daemon knows its callers by the credentials
 * of whoever connected, so a child of that uid connects and hands the socket over.
 */
static void raw_open_as(struct raw *c, uid_t uid)
{
	mxc_reader_init(&c->in, MXC_PROTO_MAX_RESPONSE);
	if (uid == 0) {
		c->fd = connect_main();
		cr_assert_geq(c->fd, 0, "cannot connect to %s: %s", h.sock, strerror(errno));
		return;
	}
	int sp[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const struct passwd *pw = getpwuid(uid);
		if (!pw || initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(uid) < 0)
			_exit(2);
		int fd = connect_main();
		if (fd < 0 || mxc_send_all(sp[1], "{}\n", 3, &fd, 1) < 0)
			_exit(3);
		_exit(0);
	}
	close(sp[1]);
	struct mxc_reader r;
	struct json_object *o = NULL;
	struct mxc_error err = {0};
	mxc_reader_init(&r, 16);
	int k = mxc_recv_json(&r, sp[0], &o, &err);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(k == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "uid %u could not connect (%d): %s", uid, WEXITSTATUS(status), err.msg);
	cr_assert_eq(mxc_reader_take_fds(&r, &c->fd, 1), 1, "no socket came from uid %u", uid);
	json_object_put(o);
	mxc_reader_finish(&r);
	close(sp[0]);
}

static void raw_open(struct raw *c)
{
	raw_open_as(c, 0);
}

static void raw_close(struct raw *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	mxc_reader_finish(&c->in);
}

/* One request, its arguments a JSON object given as printf format; waits for the answer. */
static struct reply raw_call(struct raw *c, const char *verb, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	struct json_object *req = mxc_proto_request(verb, mxc_test_json(text));
	cr_assert_eq(mxc_send_json(c->fd, req, NULL, 0), 0, "%s: cannot send", verb);
	json_object_put(req);

	struct reply rep = {.fd = -1};
	struct json_object *resp = NULL, *result = NULL;
	struct mxc_error err = {0};
	cr_assert_eq(mxc_recv_json(&c->in, c->fd, &resp, &err), 0, "%s: no answer: %s", verb,
		     err.msg);
	int fds[MXC_PROTO_MAX_FDS];
	size_t n_fds = mxc_reader_take_fds(&c->in, fds, MXC_PROTO_MAX_FDS), announced = 0;
	rep.code = mxc_proto_parse_response(resp, &result, &announced, &err);
	if (rep.code < 0) {
		snprintf(rep.msg, sizeof(rep.msg), "%s", err.msg);
	} else {
		rep.result = json_object_get(result);
		cr_assert_eq(n_fds, announced, "%s: %zu descriptors came, %zu announced", verb,
			     n_fds, announced);
	}
	for (size_t i = 0; i < n_fds; i++) {
		if (i == 0 && rep.code == 0)
			rep.fd = fds[i];
		else
			close(fds[i]);
	}
	json_object_put(resp);
	return rep;
}

/* A call that must succeed; returns its result (caller puts). */
static struct json_object *raw_ok(struct raw *c, const char *verb, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	struct reply r = raw_call(c, verb, "%s", text);
	cr_assert_eq(r.code, 0, "%s %s: %s", verb, text, r.msg);
	mxc_close(r.fd);
	return r.result;
}

/* A call that must be refused with code, saying part; returns nothing. */
static void raw_refused(struct raw *c, int code, const char *part, const char *verb,
			const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	struct reply r = raw_call(c, verb, "%s", text);
	cr_assert_eq(r.code, code, "%s %s: answered %d (%s), not %d", verb, text, r.code, r.msg,
		     code);
	cr_assert_not_null(strstr(r.msg, part), "%s: the refusal does not say '%s': %s", verb, part,
			   r.msg);
	reply_free(&r);
}

/* Where the session's pointer is, as the daemon reports it. */
static void cursor(const char *id, int64_t *x, int64_t *y)
{
	char *out = mxc_ok(&h, "input", id, "cursor_position", NULL);
	cr_assert_eq(sscanf(out, "%" SCNd64 " %" SCNd64, x, y), 2, "cursor_position: '%s'", out);
	free(out);
}

/* ---- background processes ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A free entry of children[]. */
static size_t free_slot(void)
{
	size_t slot;
	for (slot = 0; slot < MAX_CHILDREN && children[slot] > 0; slot++)
		;
	cr_assert_lt(slot, MAX_CHILDREN, "too many background processes");
	return slot;
}

/*
 * Starts argv (searched in PATH) in a process group of its own, standard error (and standard
 * output, unless ret_out) appended to log. With ret_out, its standard output is a pipe whose
 * read end goes there.
 */
static pid_t spawn(const char *const argv[], const char *log, int *ret_out)
{
	int p[2] = {-1, -1};
	if (ret_out)
		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	size_t slot = free_slot();
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		/* Should the test itself be killed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (null < 0 || out < 0)
			_exit(126);
		dup2(null, 0);
		dup2(ret_out ? p[1] : out, 1);
		dup2(out, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* Here too, so that a kill of the group right away cannot miss it. */
	setpgid(pid, pid);
	children[slot] = pid;
	if (ret_out) {
		close(p[1]);
		*ret_out = p[0];
	}
	return pid;
}

/*
 * Waits up to ms for a background process to end, first sending signo (0: none) to its group;
 * returns its exit status (128+signal), or -1 if it is still running.
 */
static int finish(pid_t pid, int signo, int ms)
{
	if (signo)
		kill(-pid, signo);
	uint64_t deadline = now_ms() + (uint64_t)ms;
	int status;
	pid_t r;
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		usleep(20 * 1000);
	if (r != pid)
		return -1;
	/* Its group may have more than it: those go with it. */
	kill(-pid, SIGKILL);
	for (size_t i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Ends a background process for good: SIGTERM, then SIGKILL. */
static void stop(pid_t pid)
{
	if (finish(pid, SIGTERM, 5000) < 0)
		finish(pid, SIGKILL, 5000);
}

/* Reads one line from fd within ms; NULL if it ends first or stays silent (caller frees). */
static char *read_line(int fd, int ms)
{
	char buf[1024];
	size_t n = 0;
	uint64_t deadline = now_ms() + (uint64_t)ms;
	while (n < sizeof(buf) - 1) {
		int64_t left = (int64_t)(deadline - now_ms());
		struct pollfd p = {fd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return NULL;
		if (read(fd, buf + n, 1) != 1)
			return NULL;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return strdup(buf);
		}
		n++;
	}
	return NULL;
}

/* A TCP port on 127.0.0.1 that nothing listens on (the test's network is its own). */
static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Waits up to ms for something to accept connections on 127.0.0.1:port. */
static bool await_listening(uint16_t port, int ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;
	do {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = {
		    .sin_family = AF_INET,
		    .sin_port = htons(port),
		    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		};
		bool up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		mxc_close(fd);
		if (up)
			return true;
		usleep(100 * 1000);
	} while (now_ms() < deadline);
	return false;
}

static char *log_text(const char *file)
{
	char *text = NULL;
	mxc_read_file(file, 1 << 20, &text, NULL);
	return text ? text : strdup("");
}

/* ---- 1. the policy decides ---- */

Test(view, a_policy_without_inspect_view_refuses_before_listening)
{
	char *id = start(no_view);
	struct mxc_result r = mxc_run(&h, 0, NULL, "view", id, "--json", NULL);
	cr_assert_eq(r.status, 1, "mxc view exited %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "session.inspect.view"), "%s", r.err);
	/* Nothing was offered: no address, no password. */
	cr_assert_str_eq(r.out, "", "mxc view printed '%s' though refused", r.out);
	cr_assert_null(strstr(r.err, "waiting for"), "%s", r.err);
	mxc_result_free(&r);

	struct json_object *rows = audit_rows(id);
	struct json_object *denied = row(rows, "view.start", "denied", NULL);
	cr_assert_not_null(denied, "the refusal is not audited");
	cr_assert_str_eq(mxc_test_str(denied, "actor"), "root");
	cr_assert_null(row(rows, "view.start", "ok", NULL),
		       "a refused view was audited as started");
	json_object_put(rows);
	free(id);
}

/* ---- 2. in a browser ---- */

/*
 * Answers each HTTP request on 127.0.0.1:port hold_ms after it came, in the background.
 * Chromium takes its headless screenshot once the page has loaded, and its virtual time runs
 * ahead of the real time the VNC connection takes: an image from here holds the page's load
 * event back, in real time.
 */
static void slow_server(uint16_t port, int hold_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {
	    .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 8) == 0,
		  "cannot listen on 127.0.0.1:%u: %s", port, strerror(errno));
	size_t slot = free_slot();
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		static const char answer[] = "HTTP/1.0 204 No Content\r\nConnection: close\r\n\r\n";
		for (;;) {
			char buf[4096];
			int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			if (read(c, buf, sizeof(buf)) > 0) {
				usleep((useconds_t)hold_ms * 1000);
				mxc_write_all(c, answer, sizeof(answer) - 1);
			}
			close(c);
		}
	}
	setpgid(pid, pid);
	children[slot] = pid;
	close(fd);
}

/* Reads a PNG file; returns the share of its pixels showing the painted colour. */
static double png_painted_share(const char *file)
{
	char *data = NULL;
	size_t len = 0, n;
	cr_assert_eq(mxc_read_file(file, 64u << 20, &data, &len), 0, "cannot read %s", file);
	spng_ctx *ctx = spng_ctx_new(0);
	struct spng_ihdr ihdr;
	cr_assert_not_null(ctx);
	spng_set_png_buffer(ctx, data, len);
	cr_assert_eq(spng_get_ihdr(ctx, &ihdr), 0, "%s is not a PNG", file);
	cr_assert_eq(spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &n), 0);
	uint8_t *rgb = malloc(n);
	cr_assert_not_null(rgb);
	cr_assert_eq(spng_decode_image(ctx, rgb, n, SPNG_FMT_RGB8, 0), 0, "%s does not decode",
		     file);
	double share = painted_share(rgb, ihdr.width, ihdr.height, (size_t)ihdr.width * 3);
	free(rgb);
	spng_ctx_free(ctx);
	free(data);
	return share;
}

/*
 * One try at the browser route: a fresh `mxc view` (its password admits one client), noVNC
 * served by websockify, and a headless Chromium screenshot of noVNC's page, taken hold_ms
 * after it started loading. Returns the share of the screenshot showing the painted colour;
 * the view has ended when this returns, its exit status in *view_status.
 */
static double browser_try(const char *id, int hold_ms, int *view_status)
{
	char view_log[300], ws_log[300], chrome_log[300], profile[300], png[300], page[300];
	snprintf(view_log, sizeof(view_log), "%s/view.log", h.env.scratch);
	snprintf(ws_log, sizeof(ws_log), "%s/websockify.log", h.env.scratch);
	snprintf(chrome_log, sizeof(chrome_log), "%s/chromium.log", h.env.scratch);
	snprintf(profile, sizeof(profile), "%s/chrome", h.env.scratch);
	snprintf(png, sizeof(png), "%s/page.png", h.env.scratch);
	snprintf(page, sizeof(page), "%s/page.html", h.env.scratch);
	unlink(png);

	char mxc[300];
	snprintf(mxc, sizeof(mxc), "%s/cli/mxc", h.bin);
	const char *view_argv[] = {mxc, "--socket", h.sock, "view", id, "--json", NULL};
	int out = -1;
	pid_t view = spawn(view_argv, view_log, &out);
	/* Printed as soon as it listens, while it keeps running to serve. */
	char *line = read_line(out, 20000);
	close(out);
	if (!line) {
		char *log = log_text(view_log);
		cr_assert_fail("mxc view printed no address: %s", log);
	}
	struct json_object *o = mxc_test_json(line);
	int64_t port = mxc_test_int(o, "port");
	const char *password = mxc_test_str(o, "password");
	char address[64];
	snprintf(address, sizeof(address), "127.0.0.1:%lld", (long long)port);
	cr_assert(port > 0 && port < 65536, "%s", line);
	cr_assert_str_eq(mxc_test_str(o, "address"), address, "%s", line);
	cr_assert(password && strlen(password) == 8, "%s", line);

	char listen_at[64];
	uint16_t wsport = free_port();
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%u", wsport);
	const char *ws_argv[] = {"websockify", "--web", "/usr/share/novnc",
				 listen_at,    address, NULL};
	pid_t ws = spawn(ws_argv, ws_log, NULL);
	if (!await_listening(wsport, 20000)) {
		char *log = log_text(ws_log);
		cr_assert_fail("websockify did not listen on %s: %s", listen_at, log);
	}

	/* noVNC's own page, framed so that the slow image keeps the whole from loading. */
	uint16_t slow = free_port();
	slow_server(slow, hold_ms);
	char html[1024];
	int len =
	    snprintf(html, sizeof(html),
		     "<!DOCTYPE html><html><body style=\"margin:0;overflow:hidden\">"
		     "<iframe style=\"border:0;width:800px;height:600px\" "
		     "src=\"http://127.0.0.1:%u/vnc.html?autoconnect=1&amp;password=%s&amp;"
		     "resize=off\"></iframe><img src=\"http://127.0.0.1:%u/hold\"></body></html>",
		     wsport, password, slow);
	int fd = open(page, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, html, (size_t)len), 0);
	close(fd);

	char url[320], shot[320], data_dir[320];
	snprintf(url, sizeof(url), "file://%s", page);
	snprintf(shot, sizeof(shot), "--screenshot=%s", png);
	snprintf(data_dir, sizeof(data_dir), "--user-data-dir=%s", profile);
	const char *chrome_argv[] = {"chromium",
				     "--headless",
				     "--no-sandbox",
				     "--disable-gpu",
				     data_dir,
				     "--window-size=800,600",
				     "--virtual-time-budget=2000",
				     shot,
				     url,
				     NULL};
	pid_t chrome = spawn(chrome_argv, chrome_log, NULL);
	int status = finish(chrome, 0, 120000);
	if (status < 0)
		stop(chrome);

	double share = 0;
	struct stat st;
	if (status == 0 && stat(png, &st) == 0) {
		share = png_painted_share(png);
	} else {
		char *log = log_text(chrome_log);
		fprintf(stderr, "Chromium (exit %d) made no screenshot: %s\n", status, log);
		free(log);
	}

	/*
	 * With the browser gone, websockify hangs up on the view, whose one client has then left:
	 * it ends by itself. If the browser never got through, it is told to stop.
	 */
	*view_status = finish(view, 0, share > 0.5 ? 20000 : 0);
	if (*view_status < 0)
		*view_status = finish(view, SIGTERM, 10000);
	stop(ws);
	json_object_put(o);
	free(line);
	return share;
}

Test(view, a_browser_shows_the_sessions_screen_through_novnc)
{
	char *id = start(view_only);
	paint(id);
	/* A slow machine may need longer to connect and draw: later tries wait longer. */
	static const int holds[] = {4000, 10000, 25000};
	double share = 0;
	int view_status = -1;
	for (size_t i = 0; i < sizeof(holds) / sizeof(holds[0]) && share <= 0.5; i++) {
		share = browser_try(id, holds[i], &view_status);
		if (share <= 0.5)
			fprintf(stderr, "try %zu: %.0f%% of the page painted\n", i + 1, share * 100);
	}
	char view_log[300];
	snprintf(view_log, sizeof(view_log), "%s/view.log", h.env.scratch);
	char *log = log_text(view_log);
	cr_assert_gt(share, 0.5, "only %.0f%% of the browser's page shows the session's colour: %s",
		     share * 100, log);
	cr_assert_eq(view_status, 0, "mxc view exited %d after its viewer left: %s", view_status,
		     log);
	free(log);

	struct json_object *started = await_row(id, "view.start", "ok", NULL);
	struct json_object *stopped = await_row(id, "view.stop", "ok", NULL);
	cr_assert_str_eq(mxc_test_str(started, "actor"), "root");
	cr_assert_str_eq(mxc_test_str(stopped, "actor"), "root");
	cr_assert_gt(mxc_test_int(details(stopped), "frames"), 0, "%s",
		     json_object_to_json_string(stopped));
	json_object_put(started);
	json_object_put(stopped);
	free(id);
}

/* --listen: a Unix socket only its user can reach, that serves RFB and goes with the view. */
Test(view, a_unix_socket_view_is_its_users_alone_and_goes_with_it)
{
	char *id = start(view_only);
	char mxc[300], sock[300], log[300];
	snprintf(mxc, sizeof(mxc), "%s/cli/mxc", h.bin);
	snprintf(sock, sizeof(sock), "%s/view.sock", h.env.scratch);
	snprintf(log, sizeof(log), "%s/view.log", h.env.scratch);

	/* An existing path is never replaced. */
	int fd = open(sock, O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	struct mxc_result r =
		mxc_run(&h, 0, NULL, "view", id, "--listen", sock, "--json", NULL);
	cr_assert_neq(r.status, 0, "mxc view took an existing path: %s", r.out);
	mxc_result_free(&r);
	struct stat st;
	cr_assert(stat(sock, &st) == 0 && S_ISREG(st.st_mode), "the existing file was replaced");
	unlink(sock);

	const char *argv[] = {mxc, "--socket", h.sock, "view", id, "--listen", sock, "--json", NULL};
	int out = -1;
	pid_t view = spawn(argv, log, &out);
	char *line = read_line(out, 20000);
	close(out);
	cr_assert_not_null(line, "mxc view printed nothing: %s", log_text(log));
	struct json_object *o = mxc_test_json(line);
	cr_assert_str_eq(mxc_test_str(o, "path"), sock, "%s", line);
	cr_assert(mxc_test_str(o, "password") && strlen(mxc_test_str(o, "password")) == 8, "%s",
		  line);
	cr_assert_eq(stat(sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode), "not a socket");
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);

	/* It speaks RFB there. */
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	char greeting[13] = {0};
	struct pollfd p = {c, POLLIN, 0};
	cr_assert_gt(poll(&p, 1, 10000), 0, "no greeting");
	cr_assert_eq(mxc_read_full(c, greeting, 12), 12);
	cr_assert_str_eq(greeting, "RFB 003.008\n");
	close(c);

	/* Ended by a signal, it ends the view and removes its socket. */
	cr_assert_eq(finish(view, SIGTERM, 10000), 0, "%s", log_text(log));
	cr_assert(stat(sock, &st) < 0 && errno == ENOENT, "the socket is left behind");
	json_object_put(await_row(id, "view.stop", "ok", NULL));
	json_object_put(o);
	free(line);
	free(id);
}

/* ---- 3. frames ---- */

Test(view, a_frame_needs_a_view_and_shows_the_screen_as_rgb24)
{
	char *id = start(view_only);
	paint(id);
	struct raw c;
	raw_open(&c);
	raw_refused(&c, -EINVAL, "view.start", "view.frame", "{\"session\":\"%s\"}", id);

	struct json_object *v = raw_ok(&c, "view.start", "{\"session\":\"%s\"}", id);
	cr_assert_eq(mxc_test_int(v, "width"), SCREEN_W);
	cr_assert_eq(mxc_test_int(v, "height"), SCREEN_H);
	cr_assert_str_eq(mxc_test_str(v, "agent"), "coder");
	json_object_put(v);

	struct reply f = raw_call(&c, "view.frame", "{\"session\":\"%s\"}", id);
	cr_assert_eq(f.code, 0, "view.frame: %s", f.msg);
	cr_assert_geq(f.fd, 0, "view.frame passed no descriptor");
	int64_t w = mxc_test_int(f.result, "width"), hgt = mxc_test_int(f.result, "height");
	int64_t stride = mxc_test_int(f.result, "stride");
	cr_assert_str_eq(mxc_test_str(f.result, "format"), "rgb24");
	cr_assert(w == SCREEN_W && hgt == SCREEN_H, "a %lldx%lld frame", (long long)w,
		  (long long)hgt);
	cr_assert_geq(stride, w * 3);
	struct stat st;
	cr_assert_eq(fstat(f.fd, &st), 0);
	cr_assert_eq(st.st_size, stride * hgt, "the frame is %lld bytes, not stride*height %lld",
		     (long long)st.st_size, (long long)(stride * hgt));
	uint8_t *pixels = malloc((size_t)st.st_size);
	cr_assert_not_null(pixels);
	/* pread: the descriptor's offset is wherever its writer left it. */
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(f.fd, pixels + done, (size_t)st.st_size - done, (off_t)done);
		cr_assert_gt(n, 0, "cannot read the frame: %s", n < 0 ? strerror(errno) : "EOF");
		done += (size_t)n;
	}
	double share = painted_share(pixels, (uint32_t)w, (uint32_t)hgt, (size_t)stride);
	const uint8_t *mid = pixels + (size_t)(hgt / 2) * (size_t)stride + (size_t)(w / 2) * 3;
	cr_assert_geq(share, 0.99, "%.1f%% of the frame is painted; its middle is #%02x%02x%02x",
		      share * 100, mid[0], mid[1], mid[2]);
	free(pixels);
	reply_free(&f);

	/* Stopped, the connection views nothing any more. */
	json_object_put(raw_ok(&c, "view.stop", "{\"session\":\"%s\"}", id));
	raw_refused(&c, -EINVAL, "view.start", "view.frame", "{\"session\":\"%s\"}", id);
	raw_close(&c);
	free(id);
}

/* ---- 4. read-only unless allowed ---- */

Test(view, a_view_is_read_only_without_control)
{
	char *id = start(view_only);
	struct raw c;
	raw_open(&c);
	struct json_object *v = raw_ok(&c, "view.start", "{\"session\":\"%s\"}", id);
	bool control = true;
	cr_assert_eq(mxc_json_get_bool(v, "control", &control, NULL), 0);
	cr_assert_not(control, "a view started without control has it");
	json_object_put(v);
	raw_refused(&c, -EPERM, "read-only", "view.pointer",
		    "{\"session\":\"%s\",\"x\":100,\"y\":50,\"buttons\":1}", id);
	raw_refused(&c, -EPERM, "read-only", "view.key",
		    "{\"session\":\"%s\",\"keysym\":97,\"down\":true}", id);
	int64_t x, y;
	cursor(id, &x, &y);
	cr_assert(x != 100 || y != 50, "a read-only view moved the pointer");

	/* Asking for control when the policy does not allow it. */
	struct raw d;
	raw_open(&d);
	raw_refused(&d, -EPERM, "session.inspect.control", "view.start",
		    "{\"session\":\"%s\",\"control\":true}", id);
	raw_close(&d);
	/* Nor can the read-only view take it later. */
	raw_refused(&c, -EPERM, "session.inspect.control", "view.control",
		    "{\"session\":\"%s\",\"take\":true}", id);
	raw_close(&c);

	struct json_object *rows = audit_rows(id);
	cr_assert_not_null(row(rows, "view.control", "denied", NULL),
			   "the refused control is not audited");
	cr_assert_null(row(rows, "view.control", "ok", "taken"));
	json_object_put(rows);
	free(id);
}

/* ---- 5. control handoff ---- */

Test(view, control_shuts_out_every_other_input_until_given_back)
{
	char *id = start(view_and_control);
	char mxc[300];
	install_cli(mxc, sizeof(mxc));
	/* Before: the agent's input works. */
	struct mxc_result r = inside(id, "%s input click 10 10", mxc);
	cr_assert_eq(r.status, 0, "the agent's click failed before any view: %s", r.err);
	mxc_result_free(&r);
	free(mxc_ok(&h, "input", id, "move", "300", "200", NULL));

	struct raw c;
	raw_open(&c);
	struct json_object *v =
	    raw_ok(&c, "view.start", "{\"session\":\"%s\",\"control\":true}", id);
	bool control = false;
	cr_assert_eq(mxc_json_get_bool(v, "control", &control, NULL), 0);
	cr_assert(control, "view.start with control:true did not grant it");
	json_object_put(v);
	/* One controller at a time: a second viewer cannot take it too. */
	struct raw d;
	raw_open(&d);
	raw_refused(&d, -EBUSY, "has control already", "view.start",
		    "{\"session\":\"%s\",\"control\":true}", id);
	raw_close(&d);

	/* The agent, through its own socket. */
	r = inside(id, "%s input click 10 10", mxc);
	cr_assert_neq(r.status, 0, "the agent clicked while a human had control");
	cr_assert_not_null(strstr(r.err, "root has taken control"), "%s", r.err);
	mxc_result_free(&r);
	/* The owner, on another connection to the main socket. */
	r = mxc_run(&h, 0, NULL, "input", id, "move", "5", "5", NULL);
	cr_assert_neq(r.status, 0, "the owner moved the pointer while a view had control");
	cr_assert_not_null(strstr(r.err, "root has taken control"), "%s", r.err);
	mxc_result_free(&r);
	int64_t x, y;
	cursor(id, &x, &y);
	cr_assert(x == 300 && y == 200, "refused input moved the pointer to %lld,%lld",
		  (long long)x, (long long)y);

	/* The view's own input goes through. */
	json_object_put(raw_ok(&c, "view.pointer",
			       "{\"session\":\"%s\",\"x\":100,\"y\":50,\"buttons\":0}", id));
	cursor(id, &x, &y);
	cr_assert(x == 100 && y == 50, "view.pointer left the pointer at %lld,%lld", (long long)x,
		  (long long)y);

	v = raw_ok(&c, "view.control", "{\"session\":\"%s\",\"take\":false}", id);
	control = true;
	cr_assert_eq(mxc_json_get_bool(v, "control", &control, NULL), 0);
	cr_assert_not(control, "view.control take:false kept control");
	json_object_put(v);
	/* Given back: the view is read-only again, and the agent's input works. */
	raw_refused(&c, -EPERM, "read-only", "view.pointer",
		    "{\"session\":\"%s\",\"x\":1,\"y\":1,\"buttons\":0}", id);
	r = inside(id, "%s input click 10 10", mxc);
	cr_assert_eq(r.status, 0, "the agent's click failed after control was given back: %s",
		     r.err);
	mxc_result_free(&r);
	cursor(id, &x, &y);
	cr_assert(x == 10 && y == 10, "the agent's click left the pointer at %lld,%lld",
		  (long long)x, (long long)y);
	raw_close(&c);

	struct json_object *rows = audit_rows(id);
	struct json_object *taken = row(rows, "view.control", "ok", "taken");
	struct json_object *returned = row(rows, "view.control", "ok", "returned");
	cr_assert_not_null(taken, "taking control is not audited");
	cr_assert_not_null(returned, "giving control back is not audited");
	cr_assert_str_eq(mxc_test_str(taken, "actor"), "root");
	cr_assert_str_eq(mxc_test_str(returned, "actor"), "root");
	json_object_put(rows);
	free(id);
}

/* ---- 6. the connection is the view ---- */

Test(view, closing_the_connection_ends_the_view_and_returns_control)
{
	char *id = start(view_and_control);
	char mxc[300];
	install_cli(mxc, sizeof(mxc));
	struct raw c;
	raw_open(&c);
	json_object_put(raw_ok(&c, "view.start", "{\"session\":\"%s\",\"control\":true}", id));
	struct mxc_result r = inside(id, "%s input click 10 10", mxc);
	cr_assert_neq(r.status, 0, "the agent clicked while a human had control");
	mxc_result_free(&r);
	struct json_object *rows = audit_rows(id);
	cr_assert_null(row(rows, "view.stop", NULL, NULL), "the view stopped while still open");
	json_object_put(rows);

	raw_close(&c);
	struct json_object *stopped = await_row(id, "view.stop", "ok", NULL);
	cr_assert_str_eq(mxc_test_str(stopped, "actor"), "root");
	cr_assert_str_eq(mxc_test_str(details(stopped), "reason"), "the viewer disconnected");
	json_object_put(stopped);
	json_object_put(await_row(id, "view.control", "ok", "returned"));

	r = inside(id, "%s input click 10 10", mxc);
	cr_assert_eq(r.status, 0, "the agent's input stayed blocked after the viewer left: %s",
		     r.err);
	mxc_result_free(&r);
	free(id);
}

/* ---- 7. inspectors ---- */

Test(view, inspectors_the_policy_names_may_view_and_nobody_else)
{
	mxc_testenv_add_user("alice", ALICE);
	mxc_testenv_add_user("bob", BOB);
	char *id = start(alice_views);
	paint(id);

	struct raw a;
	raw_open_as(&a, ALICE);
	json_object_put(raw_ok(&a, "view.start", "{\"session\":\"%s\"}", id));
	struct reply f = raw_call(&a, "view.frame", "{\"session\":\"%s\"}", id);
	cr_assert_eq(f.code, 0, "alice's view.frame: %s", f.msg);
	cr_assert_geq(f.fd, 0);
	reply_free(&f);

	struct raw b;
	raw_open_as(&b, BOB);
	raw_refused(&b, -EPERM, "belongs to", "view.start", "{\"session\":\"%s\"}", id);
	raw_refused(&b, -EPERM, "belongs to", "view.frame", "{\"session\":\"%s\"}", id);
	raw_close(&b);
	/* And through the CLI, which says so before listening. */
	struct mxc_result r = mxc_run(&h, BOB, NULL, "view", id, NULL);
	cr_assert_eq(r.status, 1, "bob's mxc view exited %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "belongs to"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	mxc_result_free(&r);
	raw_close(&a);

	struct json_object *alice_stop = await_row(id, "view.stop", "ok", NULL);
	cr_assert_str_eq(mxc_test_str(alice_stop, "actor"), "alice");
	json_object_put(alice_stop);
	struct json_object *rows = audit_rows(id);
	struct json_object *started = row(rows, "view.start", "ok", NULL);
	cr_assert_not_null(started);
	cr_assert_str_eq(mxc_test_str(started, "actor"), "alice");
	struct json_object *denied = row(rows, "view.start", "denied", NULL);
	cr_assert_not_null(denied, "bob's refusal is not audited");
	cr_assert_str_eq(mxc_test_str(denied, "actor"), "bob");
	json_object_put(rows);
	free(id);
}

/* ---- 8. not from inside ---- */

Test(view, the_agent_cannot_start_a_view)
{
	char *id = start(view_and_control);
	char mxc[300];
	install_cli(mxc, sizeof(mxc));
	struct mxc_result r = inside(id, "%s view %s --json", mxc, id);
	cr_assert_neq(r.status, 0, "the agent started a view of its own session: %s", r.out);
	cr_assert_str_eq(r.out, "", "the agent was offered a view: %s", r.out);
	cr_assert_not_null(strstr(r.err, "not available on a session's socket"), "%s", r.err);
	mxc_result_free(&r);
	/* With control asked for, or another session named, no differently. */
	r = inside(id, "%s view %s --control", mxc, id);
	cr_assert_neq(r.status, 0);
	mxc_result_free(&r);
	r = inside(id, "%s view abcdef12", mxc);
	cr_assert_neq(r.status, 0);
	mxc_result_free(&r);

	struct json_object *rows = audit_rows(id);
	cr_assert_not_null(row(rows, "view.start", "denied", NULL), "the attempt is not audited");
	cr_assert_null(row(rows, "view.start", "ok", NULL), "the agent's view was started");
	json_object_put(rows);
	free(id);
}
