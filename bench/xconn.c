/* Connecting to a session's display by its socket, and drawing on it: see xconn.h. */
#include <X11/Xauth.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "testx.h"
#include "xconn.h"

#define COOKIE_NAME "MIT-MAGIC-COOKIE-1"

static int read_cookie(const char *path, char ret_cookie[16], struct mxc_error *err)
{
	FILE *f = fopen(path, "re");
	Xauth *a;
	int r = -ENOENT;

	if (!f)
		return mxc_error_errno(err, -errno, "failed to open the Xauthority file '%s'",
				       path);
	while (r < 0 && (a = XauReadAuth(f))) {
		if (a->name_length == strlen(COOKIE_NAME) &&
		    memcmp(a->name, COOKIE_NAME, a->name_length) == 0 && a->data_length == 16) {
			memcpy(ret_cookie, a->data, 16);
			r = 0;
		}
		XauDisposeAuth(a);
	}
	fclose(f);
	if (r < 0)
		return mxc_error_set(err, r, "'%s' has no %s", path, COOKIE_NAME);
	return 0;
}

int bench_x_connect(const char *socket_path, const char *xauth_path, xcb_connection_t **ret,
		    struct mxc_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char name[] = COOKIE_NAME, cookie[16];
	xcb_auth_info_t auth = {
	    .namelen = sizeof(name) - 1, .name = name, .datalen = 16, .data = cookie};
	xcb_connection_t *conn;
	int fd, r;

	r = read_cookie(xauth_path, cookie, err);
	if (r < 0)
		return r;
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return mxc_error_set(err, -ENAMETOOLONG, "X socket path '%s' is too long",
				     socket_path);
	memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mxc_error_errno(err, -errno, "failed to create a socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		close(fd);
		return mxc_error_errno(err, r, "failed to connect to the X server at '%s'",
				       socket_path);
	}
	/* xcb owns fd from here, and closes it with the connection. */
	conn = xcb_connect_to_fd(fd, &auth);
	if (xcb_connection_has_error(conn)) {
		xcb_disconnect(conn);
		return mxc_error_set(
		    err, -ECONNREFUSED,
		    "the X server at '%s' refused the connection (cookie from '%s')", socket_path,
		    xauth_path);
	}
	*ret = conn;
	return 0;
}

int bench_x_draw_desktop(xcb_connection_t *conn, struct mxc_error *err)
{
	struct testx_client c = {.conn = conn};
	uint32_t values[1] = {0};
	int r;

	/* The session's own Xvfb, started by the daemon for this benchmark: its setup is sane. */
	c.screen = xcb_setup_roots_iterator(xcb_get_setup(conn)).data;
	c.depth = c.screen->root_depth;
	c.gc = xcb_generate_id(conn);
	xcb_create_gc(conn, c.gc, c.screen->root, XCB_GC_GRAPHICS_EXPOSURES, values);
	r = testx_draw_desktop(&c);
	xcb_free_gc(conn, c.gc);
	if (r == 0)
		r = testx_sync(&c);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to draw the desktop");
	return 0;
}
