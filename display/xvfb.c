/* The Xvfb backend's server side: the command line a session's display server runs with. */
#include <stdio.h>
#include <stdlib.h>

#include "display.h"

int mxc_display_config_check(const struct mxc_display_config *cfg, struct mxc_error *err)
{
	if (!cfg)
		return mxc_error_set(err, -EINVAL, "invalid display configuration: missing");
	if (cfg->backend == MXC_DISPLAY_WLROOTS)
		return mxc_error_set(err, -EOPNOTSUPP,
				     "invalid display configuration: the wlroots backend is not "
				     "available yet");
	if (cfg->backend != MXC_DISPLAY_XVFB)
		return mxc_error_set(err, -EINVAL,
				     "invalid display configuration: unknown backend %d",
				     (int)cfg->backend);
	if (cfg->width < MXC_DISPLAY_MIN_WIDTH || cfg->width > MXC_DISPLAY_MAX_WIDTH ||
	    cfg->height < MXC_DISPLAY_MIN_HEIGHT || cfg->height > MXC_DISPLAY_MAX_HEIGHT)
		return mxc_error_set(err, -EINVAL,
				     "invalid display configuration: size %ux%u is outside "
				     "%ux%u..%ux%u",
				     cfg->width, cfg->height, MXC_DISPLAY_MIN_WIDTH,
				     MXC_DISPLAY_MIN_HEIGHT, MXC_DISPLAY_MAX_WIDTH,
				     MXC_DISPLAY_MAX_HEIGHT);
	if (cfg->depth != 16 && cfg->depth != 24)
		return mxc_error_set(
		    err, -EINVAL, "invalid display configuration: depth %u (16 or 24)", cfg->depth);
	return 0;
}

int mxc_xvfb_argv(const struct mxc_display_config *cfg, unsigned display_number, int ready_fd,
		  const char *auth_path, char ***ret_argv, struct mxc_error *err)
{
	char display[16], fd[16], screen[48];
	/* clang-format off */
	const char *args[] = {
		MXC_XVFB_PATH, display,
		"-displayfd", fd,
		"-auth", auth_path,
		"-nolisten", "tcp",
		"-nolisten", "local",
		"-nopn",
		"-noreset",
		"-iglx",
		"-screen", "0", screen,
		NULL, NULL, /* room for -extension GLX */
		NULL,
	};
	/* clang-format on */
	char **argv;
	int r;

	r = mxc_display_config_check(cfg, err);
	if (r < 0)
		return r;
	if (display_number > MXC_DISPLAY_MAX_NUMBER)
		return mxc_error_set(err, -EINVAL, "invalid display number %u (at most %u)",
				     display_number, MXC_DISPLAY_MAX_NUMBER);
	if (ready_fd < 0)
		return mxc_error_set(err, -EBADF, "invalid readiness file descriptor %d", ready_fd);
	/* Relative to Xvfb's working directory, a relative path would mean something else. */
	if (!auth_path || auth_path[0] != '/')
		return mxc_error_set(err, -EINVAL, "invalid Xauthority path '%s': must be absolute",
				     auth_path ? auth_path : "");

	snprintf(display, sizeof(display), ":%u", display_number);
	snprintf(fd, sizeof(fd), "%d", ready_fd);
	snprintf(screen, sizeof(screen), "%ux%ux%u", cfg->width, cfg->height, cfg->depth);
	if (!cfg->glx) {
		size_t n = 0;
		while (args[n])
			n++;
		args[n] = "-extension";
		args[n + 1] = "GLX";
	}

	argv = mxc_strv_copy((char *const *)args);
	if (!argv)
		return mxc_error_set(err, -ENOMEM,
				     "failed to build the Xvfb command line: out of memory");
	*ret_argv = argv;
	return 0;
}
