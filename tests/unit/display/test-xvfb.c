/* mxc_xvfb_argv, mxc_display_config_check and mxc_xauth_write, against a real Xvfb. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <X11/Xauth.h>

#include "display-xcb.h"
#include "display.h"
#include "testx.h"

static struct testx_server server;

static void isolate(void)
{
	testx_init(&server);
	cr_assert_eq(testx_isolate(), 0, "failed to make private namespaces (tests run as root)");
}

static void stop(void)
{
	testx_stop(&server);
}

static const struct mxc_display_config good = {
    .backend = MXC_DISPLAY_XVFB, .width = 1024, .height = 768, .depth = 24};

Test(xvfb_argv, refuses_sizes_and_depths_outside_the_limits)
{
	const struct mxc_display_config bad[] = {
	    {MXC_DISPLAY_XVFB, 319, 200, 24},
	    {MXC_DISPLAY_XVFB, 320, 199, 24},
	    {MXC_DISPLAY_XVFB, 7681, 768, 24},
	    {MXC_DISPLAY_XVFB, 1024, 4321, 24},
	    {MXC_DISPLAY_XVFB, 0, 0, 24},
	    {MXC_DISPLAY_XVFB, UINT32_MAX, 768, 24},
	    {MXC_DISPLAY_XVFB, 1024, 768, 0},
	    {MXC_DISPLAY_XVFB, 1024, 768, 8},
	    {MXC_DISPLAY_XVFB, 1024, 768, 15},
	    {MXC_DISPLAY_XVFB, 1024, 768, 32},
	    {(enum mxc_display_backend)7, 1024, 768, 24},
	};

	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++) {
		struct mxc_error err = {0};
		char **argv = NULL;
		int r = mxc_xvfb_argv(&bad[i], 5, 3, "/run/auth", &argv, &err);

		cr_expect_eq(r, -EINVAL, "config %zu (%ux%ux%u): got %d", i, bad[i].width,
			     bad[i].height, bad[i].depth, r);
		cr_expect_null(argv, "config %zu: argv written on failure", i);
		cr_expect(strstr(err.msg, "invalid display configuration"), "message: %s", err.msg);
		cr_expect_eq(mxc_display_config_check(&bad[i], NULL), -EINVAL);
	}
}

Test(xvfb_argv, accepts_the_limits)
{
	const struct mxc_display_config ok[] = {
	    {MXC_DISPLAY_XVFB, 320, 200, 16},
	    {MXC_DISPLAY_XVFB, 7680, 4320, 24},
	};

	for (size_t i = 0; i < MXC_ARRAY_SIZE(ok); i++) {
		char **argv = NULL;

		cr_assert_eq(mxc_xvfb_argv(&ok[i], 0, 3, "/a", &argv, NULL), 0);
		mxc_strv_free(argv);
	}
}

Test(xvfb_argv, refuses_wlroots_bad_numbers_fds_and_relative_auth_paths)
{
	struct mxc_display_config wl = good;
	struct mxc_error err = {0};
	char **argv = NULL;

	wl.backend = MXC_DISPLAY_WLROOTS;
	cr_expect_eq(mxc_xvfb_argv(&wl, 5, 3, "/a", &argv, &err), -EOPNOTSUPP);
	cr_expect_eq(mxc_xvfb_argv(&good, MXC_DISPLAY_MAX_NUMBER + 1, 3, "/a", &argv, &err),
		     -EINVAL);
	cr_expect_eq(mxc_xvfb_argv(&good, 5, -1, "/a", &argv, &err), -EBADF);
	cr_expect_eq(mxc_xvfb_argv(&good, 5, 3, "auth", &argv, &err), -EINVAL);
	cr_expect_eq(mxc_xvfb_argv(&good, 5, 3, "", &argv, &err), -EINVAL);
	cr_expect_eq(mxc_xvfb_argv(&good, 5, 3, NULL, &argv, &err), -EINVAL);
	cr_expect_eq(mxc_xvfb_argv(NULL, 5, 3, "/a", &argv, &err), -EINVAL);
	cr_expect_null(argv);
}

Test(xvfb_argv, is_the_hardened_command_line)
{
	const char *const expected[] = {
	    "/usr/bin/Xvfb", ":42",	"-displayfd", "7",	     "-auth", "/run/mxc/x/auth",
	    "-nolisten",     "tcp",	"-nolisten",  "local",	     "-nopn", "-noreset",
	    "-iglx",	     "-screen", "0",	      "1024x768x24", "-extension", "GLX",
	};
	char **argv = NULL;
	size_t n;

	cr_assert_eq(mxc_xvfb_argv(&good, 42, 7, "/run/mxc/x/auth", &argv, NULL), 0);
	n = mxc_strv_length(argv);
	cr_assert_eq(n, MXC_ARRAY_SIZE(expected), "got %zu arguments", n);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(argv[i], expected[i], "argument %zu", i);
	cr_expect_null(argv[n]);
	mxc_strv_free(argv);
}

Test(xvfb_argv, glx_is_loaded_only_when_asked_for)
{
	struct mxc_display_config with_glx = good;
	with_glx.glx = true;
	char **argv = NULL;
	cr_assert_eq(mxc_xvfb_argv(&with_glx, 42, 7, "/run/mxc/x/auth", &argv, NULL), 0);
	size_t n = mxc_strv_length(argv);
	cr_assert_str_eq(argv[n - 1], "1024x768x24", "GLX was disabled although asked for");
	mxc_strv_free(argv);
}

Test(xvfb_argv, starts_a_working_xvfb, .init = isolate, .fini = stop, .timeout = 30)
{
	struct mxc_display *d = NULL;
	struct mxc_error err = {0};
	uint32_t w, h;

	cr_assert_eq(testx_start(&server, 3, 800, 600, 24), 0, "Xvfb did not become ready");
	cr_assert_eq(server.number, 3);
	testx_use(&server);
	cr_assert_eq(mxc_display_connect(NULL, &d, &err), 0, "%s", err.msg);
	mxc_display_size(d, &w, &h);
	cr_expect_eq(w, 800);
	cr_expect_eq(h, 600);
	cr_expect_eq(mxc_display_depth(d), 24);

	/* Other modules speak X on the same connection, with the same bounded waits. */
	{
		xcb_get_geometry_cookie_t c =
		    xcb_get_geometry(mxc_display_xcb(d), mxc_display_root(d));
		xcb_get_geometry_reply_t *geom = NULL;
		xcb_generic_error_t *xerr = NULL;

		cr_assert_eq(mxc_display_wait_reply(d, c.sequence, (void **)&geom, &xerr, &err), 0,
			     "%s", err.msg);
		cr_assert_null(xerr);
		cr_expect_eq(geom->width, 800);
		cr_expect_eq(geom->height, 600);
		free(geom);
	}
	mxc_display_destroy(d);
}

/* -nolisten local / tcp: only the filesystem socket takes connections. */
Test(xvfb_argv, listens_only_on_the_filesystem_socket, .init = isolate, .fini = stop, .timeout = 30)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[64], line[256];
	socklen_t len;
	FILE *tcp;
	int fd;

	cr_assert_eq(testx_start(&server, 4, 640, 480, 24), 0);

	/* The abstract socket "\0/tmp/.X11-unix/X4" that X servers open by default. */
	snprintf(path, sizeof(path), "/tmp/.X11-unix/X%u", server.number);
	memcpy(sa.sun_path + 1, path, strlen(path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_expect_neq(connect(fd, (struct sockaddr *)&sa, len), 0,
		      "the server listens on the abstract socket");
	close(fd);

	memset(sa.sun_path, 0, sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_expect_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "no filesystem socket: %s",
		     strerror(errno));
	close(fd);

	/* No TCP listener at all in this (private) network namespace. */
	for (const char *const *f = (const char *const[]){"/proc/net/tcp", "/proc/net/tcp6", NULL};
	     *f; f++) {
		tcp = fopen(*f, "r");
		if (!tcp)
			continue;
		while (fgets(line, sizeof(line), tcp)) {
			unsigned state = 0;

			if (sscanf(line, " %*u: %*s %*s %x", &state) == 1)
				cr_expect_neq(state, 0x0a, "a TCP socket listens: %s", line);
		}
		fclose(tcp);
	}
}

/* The caller learns of a failed start from the readiness pipe closing without a number. */
Test(xvfb_argv, a_server_that_cannot_make_its_socket_fails_to_start, .init = isolate, .fini = stop,
     .timeout = 30)
{
	/* A directory where the socket goes: Xvfb can neither remove it nor bind there. */
	cr_assert_eq(mkdir("/tmp/.X11-unix/X7", 0700), 0);
	cr_expect_eq(testx_start(&server, 7, 640, 480, 24), -ECHILD);
	cr_expect_eq(server.pid, 0, "a server is still running");
}

Test(xauth, writes_one_wild_entry_that_libxau_reads)
{
	const uint8_t cookie[16] = {0, 1, 2, 3, 0xff, 0xfe, 0x80, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	int fd = memfd_create("xauth", MFD_CLOEXEC);
	Xauth *a;
	FILE *f;

	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_xauth_write(fd, 17, cookie, NULL), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	f = fdopen(fd, "r");
	cr_assert_not_null(f);
	a = XauReadAuth(f);
	cr_assert_not_null(a);
	cr_expect_eq(a->family, FamilyWild);
	cr_expect_eq(a->address_length, 0);
	cr_expect_eq(a->number_length, 2);
	cr_expect_eq(memcmp(a->number, "17", 2), 0);
	cr_expect_eq(a->name_length, 18);
	cr_expect_eq(memcmp(a->name, "MIT-MAGIC-COOKIE-1", 18), 0);
	cr_expect_eq(a->data_length, 16);
	cr_expect_eq(memcmp(a->data, cookie, 16), 0);
	XauDisposeAuth(a);
	cr_expect_null(XauReadAuth(f), "more than one entry");
	fclose(f);
}

Test(xauth, refuses_bad_arguments_and_reports_write_errors)
{
	const uint8_t cookie[16] = {1};
	struct mxc_error err = {0};
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cr_expect_eq(mxc_xauth_write(1, MXC_DISPLAY_MAX_NUMBER + 1, cookie, NULL), -EINVAL);
	cr_expect_eq(mxc_xauth_write(1, 0, NULL, NULL), -EINVAL);
	cr_expect_lt(mxc_xauth_write(fd, 0, cookie, &err), 0, "wrote to a read-only file");
	cr_expect(strstr(err.msg, "failed to write Xauthority entry"), "%s", err.msg);
	close(fd);
	cr_expect_lt(mxc_xauth_write(-1, 0, cookie, NULL), 0);
}

Test(xauth, connecting_needs_the_cookie, .init = isolate, .fini = stop, .timeout = 30)
{
	struct mxc_display *d = NULL;
	struct mxc_error err = {0};
	uint8_t wrong[16];
	char path[64];
	int fd;

	cr_assert_eq(testx_start(&server, 5, 640, 480, 24), 0);
	testx_use(&server);

	/* No entry at all. */
	setenv("XAUTHORITY", "/dev/null", 1);
	cr_expect_eq(mxc_display_connect(NULL, &d, &err), -ECONNREFUSED, "%s", err.msg);
	cr_expect_null(d);
	cr_expect(strstr(err.msg, "failed to connect to display ':5'"), "%s", err.msg);

	/* An entry with the wrong cookie. */
	memcpy(wrong, server.cookie, sizeof(wrong));
	wrong[0] ^= 1;
	fd = memfd_create("wrong", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_xauth_write(fd, server.number, wrong, NULL), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	setenv("XAUTHORITY", path, 1);
	cr_expect_eq(mxc_display_connect(NULL, &d, &err), -ECONNREFUSED);
	cr_expect_null(d);
	close(fd);

	/* The right one. */
	testx_use(&server);
	cr_assert_eq(mxc_display_connect(NULL, &d, &err), 0, "%s", err.msg);
	mxc_display_destroy(d);
}

Test(xauth, connect_fd_sends_the_cookie, .init = isolate, .fini = stop, .timeout = 30)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct mxc_display *d = NULL;
	struct mxc_error err = {0};
	int fd;

	cr_assert_eq(testx_start(&server, 6, 640, 480, 16), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/.X11-unix/X%u", server.number);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_expect_eq(mxc_display_connect_fd(fd, NULL, "test", &d, &err), -ECONNREFUSED, "%s",
		     err.msg);
	cr_expect(strstr(err.msg, "'test'"), "%s", err.msg);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(mxc_display_connect_fd(fd, server.cookie, "test", &d, &err), 0, "%s", err.msg);
	cr_expect_eq(mxc_display_depth(d), 16);
	mxc_display_destroy(d);
}

Test(display, connect_without_display_is_refused)
{
	struct mxc_display *d = NULL;
	struct mxc_error err = {0};

	unsetenv("DISPLAY");
	cr_expect_eq(mxc_display_connect(NULL, &d, &err), -EINVAL);
	cr_expect(strstr(err.msg, "DISPLAY is not set"), "%s", err.msg);
	cr_expect_eq(mxc_display_connect("no display here", &d, &err), -EINVAL, "%s", err.msg);
	cr_expect_null(d);
	mxc_display_destroy(NULL);
}
