/*
 * mxc view: a live view of a session's screen for any VNC client, or noVNC through websockify.
 * The RFB protocol is spoken here, by the human's own mxc, never by the root daemon: the
 * daemon only decides who may view or control, audits, and hands over raw frames and takes
 * input on this command's connection. The VNC client is hostile to us (rfb.c), and so are the
 * frames, which come from inside the agent's session.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cli.h"
#include "client.h"
#include "json.h"
#include "rfb.h"

/* rgb24 rows are width * 3 bytes, perhaps padded; anything much wider is not a frame. */
#define MAX_STRIDE (MXC_RFB_MAX_EDGE * 4)
#define BACKLOG	   4

struct view {
	struct mxc_conn conn;
	const char *id;
	uint8_t *pixels; /* the latest frame, read out of its memfd */
	size_t cap;
};

static int usage(void)
{
	fprintf(stderr, "usage: mxc view ID [--port N | --listen PATH] [--control] [--json]\n"
			"Try 'mxc --help'.\n");
	return MXC_EXIT_USAGE;
}

/* One request on the view's connection, which has one request in flight at a time. */
static int request(struct view *v, const char *verb, struct json_object *args,
		   struct json_object **ret_resp, struct json_object **ret_res, int *ret_fds,
		   size_t max_fds, size_t *ret_n_fds, struct mxc_error *err)
{
	int r = mxc_conn_send(&v->conn, verb, args, NULL, 0, err);
	if (r < 0)
		return r;
	return mxc_conn_recv(&v->conn, ret_resp, ret_res, ret_fds, max_fds, ret_n_fds, err);
}

/* A request whose answer carries nothing we need. */
static int call(struct view *v, const char *verb, struct json_object *args, struct mxc_error *err)
{
	struct json_object *resp, *res;
	int r = request(v, verb, args, &resp, &res, NULL, 0, NULL, err);
	if (r == 0)
		json_object_put(resp);
	return r;
}

static struct json_object *session_args(const struct view *v)
{
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "session", v->id);
	return args;
}

static int read_at(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		done += (size_t)n;
	}
	return 0;
}

static int grow(struct view *v, size_t len)
{
	uint8_t *p = realloc(v->pixels, len);
	if (!p)
		return -ENOMEM;
	v->pixels = p;
	v->cap = len;
	return 0;
}

/*
 * The rfb source's frame: view.frame answers with the size and a memfd of rgb24 rows. Its
 * pixels are the agent's, its numbers the daemon's; both are checked before use, and the
 * pixels are copied out (pread) so that nothing done to the memfd can fault us later.
 */
static int view_frame(void *data, struct mxc_rfb_frame *ret_frame, struct mxc_error *err)
{
	struct view *v = data;
	struct json_object *resp, *res;
	int fd = -1;
	size_t n_fds = 0;
	int r = request(v, "view.frame", session_args(v), &resp, &res, &fd, 1, &n_fds, err);
	if (r < 0)
		return r;
	int64_t width = 0, height = 0, stride = 0;
	const char *format = NULL;
	mxc_json_get_i64(res, "width", 1, MXC_RFB_MAX_EDGE, &width, NULL);
	mxc_json_get_i64(res, "height", 1, MXC_RFB_MAX_EDGE, &height, NULL);
	mxc_json_get_i64(res, "stride", 1, MAX_STRIDE, &stride, NULL);
	mxc_json_get_str(res, "format", 16, &format, NULL);
	size_t len = (size_t)stride * (size_t)height;
	struct stat st;
	if (n_fds != 1 || width < 1 || height < 1 || stride < width * 3 ||
	    !mxc_streq(format, "rgb24")) {
		r = mxc_error_set(err, -EBADMSG, "the frame of session '%s' is not valid rgb24",
				  v->id);
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)len) {
		r = mxc_error_set(err, -EBADMSG,
				  "the frame of session '%s' is shorter than its size says", v->id);
	} else if (len > v->cap && (r = grow(v, len)) < 0) {
		mxc_error_set(err, r, "out of memory for a %" PRId64 "x%" PRId64 " frame", width,
			      height);
	} else {
		r = read_at(fd, v->pixels, len);
		if (r < 0)
			mxc_error_errno(err, r, "failed to read the frame of session '%s'", v->id);
	}
	mxc_close(fd);
	json_object_put(resp);
	if (r < 0)
		return r;
	*ret_frame = (struct mxc_rfb_frame){
	    .pixels = v->pixels,
	    .width = (uint32_t)width,
	    .height = (uint32_t)height,
	    .stride = (size_t)stride,
	};
	return 0;
}

static int view_key(void *data, uint32_t keysym, bool down, struct mxc_error *err)
{
	struct view *v = data;
	struct json_object *args = session_args(v);
	mxc_json_add_i64(args, "keysym", keysym);
	mxc_json_add_bool(args, "down", down);
	return call(v, "view.key", args, err);
}

static int view_pointer(void *data, uint16_t x, uint16_t y, uint8_t buttons, struct mxc_error *err)
{
	struct view *v = data;
	struct json_object *args = session_args(v);
	mxc_json_add_i64(args, "x", x);
	mxc_json_add_i64(args, "y", y);
	mxc_json_add_i64(args, "buttons", buttons);
	return call(v, "view.pointer", args, err);
}

static const struct mxc_rfb_source view_source = {
    .frame = view_frame,
    .key = view_key,
    .pointer = view_pointer,
};

/* 127.0.0.1 only: the password is all that stands between the port and the session. */
static int listen_tcp(uint16_t port, int *ret_fd, uint16_t *ret_port, struct mxc_error *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to create a socket");
	int one = 1;
	struct sockaddr_in addr = {
	    .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(addr);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
		int r = mxc_error_errno(err, -errno, "cannot listen on 127.0.0.1:%u", port);
		close(fd);
		return r;
	}
	*ret_fd = fd;
	*ret_port = ntohs(addr.sin_port);
	return 0;
}

/* A socket of mode 0600 from its first moment; an existing path is never replaced. */
static int listen_unix(const char *path, int *ret_fd, struct stat *ret_st, struct mxc_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		return mxc_error_set(err, -ENAMETOOLONG, "socket path '%s' is too long", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to create a socket");
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(old);
	if (r == -EADDRINUSE) {
		r = mxc_error_set(err, r, "'%s' exists already; remove it or choose another path",
				  path);
		goto fail;
	}
	if (r < 0) {
		r = mxc_error_errno(err, r, "cannot listen on '%s'", path);
		goto fail;
	}
	if (lstat(path, ret_st) < 0 || listen(fd, BACKLOG) < 0) {
		r = mxc_error_errno(err, -errno, "cannot listen on '%s'", path);
		unlink(path);
		goto fail;
	}
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return r;
}

/* Removes our socket, not whatever may have been put at its path since. */
static void unlink_ours(const char *path, const struct stat *ours)
{
	struct stat st;
	if (lstat(path, &st) == 0 && st.st_dev == ours->st_dev && st.st_ino == ours->st_ino)
		unlink(path);
}

static void print_address(const struct mxc_cli *cli, const char *path, uint16_t port,
			  const char *password)
{
	char address[64];
	snprintf(address, sizeof(address), "127.0.0.1:%u", port);
	if (cli->json) {
		struct json_object *o = json_object_new_object();
		mxc_json_add_str(o, "address", path ? path : address);
		if (path)
			json_object_object_add(o, "port", NULL);
		else
			mxc_json_add_i64(o, "port", port);
		mxc_json_add_str(o, "path", path);
		mxc_json_add_str(o, "password", password);
		printf("%s\n", mxc_json_str(o, NULL));
		json_object_put(o);
	} else {
		printf("address %s\npassword %s\n", path ? path : address, password);
	}
	fflush(stdout);
}

/* Empties the signalfd, so that unblocking the signals afterwards does not deliver them. */
static void drain_signals(int sfd)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
}

/*
 * Accepts clients until one has authenticated and gone, the password is spent, or a signal
 * arrives. Returns the exit status.
 */
static int serve(struct mxc_rfb_server *srv, int lfd, int sfd)
{
	for (;;) {
		struct pollfd p[2] = {
		    {.fd = lfd, .events = POLLIN},
		    {.fd = sfd, .events = POLLIN},
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("mxc: poll");
			return MXC_EXIT_FAILURE;
		}
		if (p[1].revents)
			return MXC_EXIT_OK;
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			perror("mxc: accept");
			return MXC_EXIT_FAILURE;
		}
		struct mxc_error err = {0};
		enum mxc_rfb_end end;
		int r = mxc_rfb_server_serve(srv, cfd, sfd, &end, &err);
		close(cfd);
		if (r < 0) {
			fprintf(stderr, "mxc: %s\n", err.msg);
			return MXC_EXIT_FAILURE;
		}
		switch (end) {
		case MXC_RFB_STOPPED:
			return MXC_EXIT_OK;
		case MXC_RFB_CLIENT_LEFT:
			fprintf(stderr, "mxc: the viewer disconnected\n");
			return MXC_EXIT_OK;
		case MXC_RFB_REFUSED:
		case MXC_RFB_CLIENT_FAULT:
			fprintf(stderr, "mxc: %s\n", err.msg);
			break;
		}
		if (mxc_rfb_server_authenticated(srv))
			return MXC_EXIT_OK;
		if (mxc_rfb_server_spent(srv)) {
			fprintf(stderr, "mxc: %u failed attempts spent the password\n",
				MXC_RFB_MAX_FAILURES);
			return MXC_EXIT_FAILURE;
		}
	}
}

int mxc_cli_view(struct mxc_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"listen", required_argument, NULL, 'l'},
	    {"control", no_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	uint64_t port = 0;
	bool control = false, have_port = false, bad = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			have_port = true;
			bad |= mxc_parse_u64(optarg, UINT16_MAX, &port) < 0;
			break;
		case 'l':
			path = optarg;
			break;
		case 'c':
			control = true;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			bad = true;
			break;
		}
	}
	/* A human's command: the session is always named, even from inside one. */
	if (bad || argc - optind != 1 || (have_port && path) || (path && !*path))
		return usage();

	struct view v = {.id = argv[optind]};
	struct mxc_error err = {0};
	struct mxc_rfb_server *srv = NULL;
	struct json_object *resp, *res;
	struct stat sock_st;
	sigset_t mask, old_mask;
	int lfd = -1, sfd = -1, code = MXC_EXIT_FAILURE;
	bool started = false, blocked = false;

	/* The daemon decides first: a refusal is reported before anything listens. */
	struct json_object *args = session_args(&v);
	mxc_json_add_bool(args, "control", control);
	if (mxc_conn_open(&v.conn, cli->socket, &err) < 0 ||
	    request(&v, "view.start", args, &resp, &res, NULL, 0, NULL, &err) < 0) {
		if (v.conn.fd < 0)
			json_object_put(args);
		fprintf(stderr, "mxc: %s\n", err.msg);
		goto out;
	}
	started = true;
	bool granted = false;
	const char *agent = NULL;
	mxc_json_get_bool(res, "control", &granted, NULL);
	mxc_json_get_str(res, "agent", 64, &agent, NULL);
	char name[256];
	if (agent)
		snprintf(name, sizeof(name), "mxc session %s (%s)", v.id, agent);
	else
		snprintf(name, sizeof(name), "mxc session %s", v.id);
	json_object_put(resp);
	if (control && !granted)
		fprintf(stderr, "mxc: control was not granted; the view is read-only\n");
	if (mxc_rfb_server_create(name, control && granted, &view_source, &v, &srv, &err) < 0) {
		fprintf(stderr, "mxc: %s\n", err.msg);
		goto out;
	}

	uint16_t bound = 0;
	int r = path ? listen_unix(path, &lfd, &sock_st, &err)
		     : listen_tcp((uint16_t)port, &lfd, &bound, &err);
	if (r < 0) {
		fprintf(stderr, "mxc: %s\n", err.msg);
		goto out;
	}
	/* Signals end the view through a descriptor, so that view.stop is still sent. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old_mask);
	blocked = true;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		perror("mxc: signalfd");
		goto out;
	}
	print_address(cli, path, bound, mxc_rfb_server_password(srv));
	fprintf(stderr, "mxc: %s view of session %s; waiting for one VNC client\n",
		control && granted ? "controlling" : "read-only", v.id);
	code = serve(srv, lfd, sfd);
out:
	if (lfd >= 0) {
		close(lfd);
		if (path)
			unlink_ours(path, &sock_st);
	}
	mxc_rfb_server_destroy(srv);
	if (started && call(&v, "view.stop", session_args(&v), &err) < 0 && code == MXC_EXIT_OK) {
		fprintf(stderr, "mxc: %s\n", err.msg);
		code = MXC_EXIT_FAILURE;
	}
	mxc_conn_close(&v.conn);
	free(v.pixels);
	if (sfd >= 0) {
		drain_signals(sfd);
		close(sfd);
	}
	if (blocked)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return code;
}
