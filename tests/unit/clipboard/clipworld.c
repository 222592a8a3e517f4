/* The world a clipboard test runs in: see clipworld.h. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "clipworld.h"

void clipworld_init(struct clipworld *w)
{
	*w = (struct clipworld){.child = 0};
	testx_init(&w->server);
	for (size_t i = 0; i < CLIPWORLD_CLIENTS; i++)
		w->serve[i].stop_fd = -1;
}

static int isolate(void)
{
	int r = testx_isolate();

	if (r < 0)
		return r;
	/* Xvfb compiles its keymap into /var/lib/xkb: keep other test runs' servers apart. */
	if (access("/var/lib/xkb", F_OK) < 0)
		return 0;
	if (mount("tmpfs", "/var/lib/xkb", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=4m") < 0)
		return -errno;
	return 0;
}

int clipworld_start(struct clipworld *w, int timeout_ms)
{
	struct mxc_error err = {0};
	int r;

	r = isolate();
	if (r < 0)
		return r;
	r = testx_start(&w->server, 1, 640, 480, 24);
	if (r < 0)
		return r;
	testx_use(&w->server);
	for (size_t i = 0; i < CLIPWORLD_CLIENTS; i++) {
		r = mxc_display_connect(w->server.display, &w->d[i], &err);
		if (r < 0)
			return r;
		r = mxc_clipboard_create(w->d[i], &w->c[i], &err);
		if (r < 0)
			return r;
		mxc_clipboard_set_timeout(w->c[i], timeout_ms);
	}
	return 0;
}

static void stop_child(struct clipworld *w)
{
	if (w->child > 0) {
		kill(w->child, SIGKILL);
		waitpid(w->child, NULL, 0);
		w->child = 0;
	}
}

void clipworld_stop(struct clipworld *w)
{
	for (unsigned i = 0; i < CLIPWORLD_CLIENTS; i++)
		clipworld_serve_stop(w, i);
	stop_child(w);
	for (size_t i = 0; i < CLIPWORLD_CLIENTS; i++) {
		mxc_clipboard_destroy(w->c[i]);
		w->c[i] = NULL;
		mxc_display_destroy(w->d[i]);
		w->d[i] = NULL;
	}
	testx_stop(&w->server);
}

/* The loop a session helper runs: dispatch, then poll the display and its own fds. */
static void *serve_main(void *arg)
{
	struct serve_thread *t = arg;
	struct mxc_error err = {0};

	for (;;) {
		struct pollfd pfd[2] = {
		    {.fd = mxc_display_get_fd(t->display), .events = POLLIN},
		    {.fd = t->stop_fd, .events = POLLIN},
		};
		int r = mxc_display_dispatch(t->display, &err);

		if (r < 0) {
			t->result = r;
			break;
		}
		if (poll(pfd, 2, r > 0 ? 0 : -1) < 0 && errno != EINTR) {
			t->result = -errno;
			break;
		}
		if (pfd[1].revents)
			break;
	}
	return NULL;
}

int clipworld_serve(struct clipworld *w, unsigned i)
{
	struct serve_thread *t = &w->serve[i];
	int r;

	if (t->running)
		return -EBUSY;
	t->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (t->stop_fd < 0)
		return -errno;
	t->display = w->d[i];
	t->result = 0;
	r = pthread_create(&t->thread, NULL, serve_main, t);
	if (r != 0) {
		t->stop_fd = mxc_close(t->stop_fd);
		return -r;
	}
	t->running = true;
	return 0;
}

void clipworld_serve_stop(struct clipworld *w, unsigned i)
{
	struct serve_thread *t = &w->serve[i];
	uint64_t one = 1;

	if (!t->running)
		return;
	(void)!write(t->stop_fd, &one, sizeof(one));
	pthread_join(t->thread, NULL);
	t->running = false;
	t->stop_fd = mxc_close(t->stop_fd);
}

int clipworld_pump(struct clipworld *w, unsigned i, int ms)
{
	uint64_t end = mxc_now_mono_ns() + (uint64_t)ms * 1000000;
	struct mxc_error err = {0};

	for (;;) {
		struct pollfd pfd = {.fd = mxc_display_get_fd(w->d[i]), .events = POLLIN};
		uint64_t now = mxc_now_mono_ns();
		int r = mxc_display_dispatch(w->d[i], &err);

		if (r < 0)
			return r;
		if (now >= end)
			return 0;
		if (r == 0)
			poll(&pfd, 1, (int)((end - now) / 1000000) + 1);
	}
}

int raw_connect(struct clipworld *w, struct raw_client *rc)
{
	const uint32_t mask = XCB_EVENT_MASK_PROPERTY_CHANGE;
	int screen = 0;

	*rc = (struct raw_client){0};
	rc->conn = xcb_connect(w->server.display, &screen);
	if (xcb_connection_has_error(rc->conn)) {
		xcb_disconnect(rc->conn);
		rc->conn = NULL;
		return -ECONNREFUSED;
	}
	/* Our own Xvfb: its setup can be trusted. */
	rc->root = xcb_setup_roots_iterator(xcb_get_setup(rc->conn)).data->root;
	rc->window = xcb_generate_id(rc->conn);
	xcb_create_window(rc->conn, XCB_COPY_FROM_PARENT, rc->window, rc->root, 0, 0, 1, 1, 0,
			  XCB_WINDOW_CLASS_INPUT_ONLY, XCB_COPY_FROM_PARENT, XCB_CW_EVENT_MASK,
			  &mask);
	free(xcb_get_input_focus_reply(rc->conn, xcb_get_input_focus(rc->conn), NULL));
	return 0;
}

void raw_close(struct raw_client *rc)
{
	if (rc->conn)
		xcb_disconnect(rc->conn);
	rc->conn = NULL;
}

xcb_atom_t raw_atom(struct raw_client *rc, const char *name)
{
	xcb_intern_atom_reply_t *reply = xcb_intern_atom_reply(
	    rc->conn, xcb_intern_atom(rc->conn, 0, (uint16_t)strlen(name), name), NULL);
	xcb_atom_t atom = reply ? reply->atom : XCB_NONE;

	free(reply);
	return atom;
}

char *raw_atom_name(struct raw_client *rc, xcb_atom_t atom)
{
	xcb_get_atom_name_reply_t *reply =
	    xcb_get_atom_name_reply(rc->conn, xcb_get_atom_name(rc->conn, atom), NULL);
	char *name;

	if (!reply)
		return NULL;
	name = strndup(xcb_get_atom_name_name(reply), xcb_get_atom_name_name_length(reply));
	free(reply);
	return name;
}

xcb_generic_event_t *raw_wait_event(struct raw_client *rc, uint8_t type,
				    bool (*match)(xcb_generic_event_t *ev, void *data), void *data,
				    int ms)
{
	uint64_t end = mxc_now_mono_ns() + (uint64_t)ms * 1000000;

	xcb_flush(rc->conn);
	for (;;) {
		xcb_generic_event_t *ev;
		struct pollfd pfd = {.fd = xcb_get_file_descriptor(rc->conn), .events = POLLIN};
		uint64_t now;

		while ((ev = xcb_poll_for_event(rc->conn))) {
			if ((ev->response_type & 0x7f) == type && (!match || match(ev, data)))
				return ev;
			free(ev);
		}
		if (xcb_connection_has_error(rc->conn))
			return NULL;
		now = mxc_now_mono_ns();
		if (now >= end)
			return NULL;
		poll(&pfd, 1, (int)((end - now) / 1000000) + 1);
	}
}

xcb_window_t raw_owner(struct raw_client *rc)
{
	xcb_atom_t clipboard = raw_atom(rc, "CLIPBOARD");
	xcb_get_selection_owner_reply_t *reply = xcb_get_selection_owner_reply(
	    rc->conn, xcb_get_selection_owner(rc->conn, clipboard), NULL);
	xcb_window_t owner = reply ? reply->owner : XCB_NONE;

	free(reply);
	return owner;
}

/* A memfd holding data, at offset 0, to be a child's stdin. */
static int data_fd(const uint8_t *in, size_t in_len)
{
	int fd;

	if (!in)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = memfd_create("clipworld-input", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (mxc_write_all(fd, in, in_len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static pid_t start_child(const char *const argv[], int in_fd, int out_fd)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(in_fd, 0);
		dup2(out_fd >= 0 ? out_fd : null, 1);
		if (!getenv("MXC_TEST_VERBOSE"))
			dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int clipworld_spawn(struct clipworld *w, const char *const argv[], const uint8_t *in, size_t in_len)
{
	int fd = data_fd(in, in_len);
	pid_t pid;

	if (fd < 0)
		return fd;
	pid = start_child(argv, fd, -1);
	close(fd);
	if (pid < 0)
		return -errno;
	w->child = pid;
	return 0;
}

int clipworld_run(struct clipworld *w, unsigned i, const char *const argv[], const uint8_t *in,
		  size_t in_len, uint8_t **ret_out, size_t *ret_len, size_t max, int timeout_ms)
{
	uint64_t end = mxc_now_mono_ns() + (uint64_t)timeout_ms * 1000000;
	struct mxc_error err = {0};
	int in_fd = data_fd(in, in_len), pipefd[2] = {-1, -1}, status = 0, r;
	uint8_t *out = malloc(max + 1);
	size_t have = 0;
	bool eof = false;

	if (in_fd < 0 || !out || pipe2(pipefd, O_CLOEXEC) < 0) {
		r = in_fd < 0 ? in_fd : -ENOMEM;
		goto out;
	}
	w->child = start_child(argv, in_fd, pipefd[1]);
	pipefd[1] = mxc_close(pipefd[1]);
	if (w->child < 0) {
		w->child = 0;
		r = -errno;
		goto out;
	}
	/* Serve our selection while the child reads it, as the CLI would. */
	while (!eof) {
		struct pollfd pfd[2] = {
		    {.fd = mxc_display_get_fd(w->d[i]), .events = POLLIN},
		    {.fd = pipefd[0], .events = POLLIN},
		};
		uint64_t now = mxc_now_mono_ns();

		r = mxc_display_dispatch(w->d[i], &err);
		if (r < 0)
			goto out;
		if (now >= end) {
			r = -ETIMEDOUT;
			goto out;
		}
		poll(pfd, 2, r > 0 ? 0 : (int)((end - now) / 1000000) + 1);
		if (pfd[1].revents) {
			ssize_t n = read(pipefd[0], out + have, max + 1 - have);

			if (n < 0 && errno != EINTR) {
				r = -errno;
				goto out;
			}
			if (n == 0)
				eof = true;
			if (n > 0)
				have += (size_t)n;
			if (have > max) {
				r = -EFBIG;
				goto out;
			}
		}
	}
	if (waitpid(w->child, &status, 0) < 0) {
		r = -errno;
		goto out;
	}
	w->child = 0;
	*ret_out = out;
	*ret_len = have;
	out = NULL;
	r = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
out:
	free(out);
	mxc_close(in_fd);
	mxc_close(pipefd[0]);
	mxc_close(pipefd[1]);
	stop_child(w);
	return r;
}

int clipworld_wait_owner(struct clipworld *w, int ms)
{
	struct raw_client rc;
	uint64_t end = mxc_now_mono_ns() + (uint64_t)ms * 1000000;
	int r = -ETIMEDOUT;

	if (raw_connect(w, &rc) < 0)
		return -ECONNREFUSED;
	while (mxc_now_mono_ns() < end) {
		if (raw_owner(&rc) != XCB_NONE) {
			r = 0;
			break;
		}
		usleep(10000);
	}
	raw_close(&rc);
	return r;
}

uint8_t *make_text(size_t min_len, size_t *ret_len)
{
	static const char line[] = "Grüße, 世界! 😀 The quick brown fox — ñandú — 𝄞 end\n";
	size_t n = (min_len + sizeof(line) - 2) / (sizeof(line) - 1), len;
	uint8_t *buf;

	if (n == 0)
		n = 1;
	len = n * (sizeof(line) - 1);
	buf = malloc(len);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + i * (sizeof(line) - 1), line, sizeof(line) - 1);
		/* Lines differ, so that a chunk out of place can't go unnoticed. */
		buf[i * (sizeof(line) - 1)] = (uint8_t)('A' + i % 26);
	}
	*ret_len = len;
	return buf;
}

int make_png(size_t min_len, uint8_t **ret, size_t *ret_len)
{
	struct mxc_image img = {.width = 640, .height = 1, .stride = 640 * 3};
	struct mxc_error err = {0};
	uint32_t state = 0x9e3779b9;
	int r;

	/* Noise barely compresses: 3 bytes per pixel give a PNG about that large. */
	img.height = (uint32_t)(min_len / img.stride + 64);
	img.data = malloc((size_t)img.stride * img.height);
	if (!img.data)
		return -ENOMEM;
	for (size_t i = 0; i < (size_t)img.stride * img.height; i++) {
		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		img.data[i] = (uint8_t)state;
	}
	r = mxc_png_encode(&img, ret, ret_len, &err);
	mxc_image_finish(&img);
	if (r == 0 && *ret_len < min_len) {
		free(*ret);
		return -ERANGE;
	}
	return r;
}
