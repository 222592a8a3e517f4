/* The world an input test runs in: see world.h. */
#include <errno.h>
#include <sys/mount.h>
#include <unistd.h>

#include "world.h"

void world_init(struct world *w)
{
	testx_init(&w->server);
	w->rec = (struct recorder){0};
	w->display = NULL;
	w->input = NULL;
}

static int isolate(void)
{
	int r = testx_isolate();

	if (r < 0)
		return r;
	/* Only over the directory that is there: tests don't create anything on the host. */
	if (access("/var/lib/xkb", F_OK) < 0)
		return 0;
	if (mount("tmpfs", "/var/lib/xkb", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=4m") < 0)
		return -errno;
	return 0;
}

int world_start(struct world *w, uint32_t width, uint32_t height, int slow_ms)
{
	struct mxc_error err = {0};
	int r;

	r = isolate();
	if (r < 0)
		return r;
	r = testx_start(&w->server, 1, width, height, 24);
	if (r < 0)
		return r;
	testx_use(&w->server);
	r = recorder_start(&w->rec, w->server.display, slow_ms);
	if (r < 0)
		return r;
	r = mxc_display_connect(w->server.display, &w->display, &err);
	if (r < 0)
		return r;
	return mxc_input_create(w->display, &w->input, &err);
}

void world_stop(struct world *w)
{
	mxc_input_destroy(w->input);
	w->input = NULL;
	mxc_display_destroy(w->display);
	w->display = NULL;
	recorder_stop(&w->rec);
	testx_stop(&w->server);
}

int world_set_layout(struct world *w, const char *layout)
{
	const char *args[] = {"-display", w->server.display, layout, NULL};
	int r;

	r = run_setxkbmap(args);
	if (r < 0)
		return r;
	return recorder_settle(&w->rec);
}
