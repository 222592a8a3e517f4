/*
 * Screen capture: MIT-SHM into a memfd segment shared with the server, or core GetImage.
 *
 * The SHM segment is a memfd handed to the server with xcb_shm_attach_fd (MIT-SHM 1.2), not a
 * SysV segment: it works whatever IPC namespace and uid the server has, and nothing outlives
 * the connection. It is sealed against shrinking, because the server gets a file descriptor
 * of it and could otherwise truncate it under our mapping and kill us with SIGBUS.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <xcb/shm.h>

#include "display-private.h"

/* Whether the server's MIT-SHM can take file descriptors (1.2 or later). */
static int shm_version_ok(struct mxc_display *d, bool *ret_ok, struct mxc_error *err)
{
	const xcb_query_extension_reply_t *ext;
	xcb_shm_query_version_cookie_t cookie;
	xcb_shm_query_version_reply_t *reply = NULL;
	xcb_generic_error_t *xerr = NULL;
	bool ok;
	int r;

	/* Doesn't block: the prefetched answer came in with the round trip in finish_connect. */
	ext = xcb_get_extension_data(d->conn, &xcb_shm_id);
	if (!ext || !ext->present) {
		*ret_ok = false;
		return 0;
	}
	cookie = xcb_shm_query_version(d->conn);
	r = mxc_display_wait_reply(d, cookie.sequence, (void **)&reply, &xerr, err);
	if (r < 0)
		return r;
	ok = reply &&
	     (reply->major_version > 1 || (reply->major_version == 1 && reply->minor_version >= 2));
	free(reply);
	free(xerr);
	*ret_ok = ok;
	return 0;
}

int mxc_display_shm_init(struct mxc_display *d, struct mxc_error *err)
{
	size_t size = mxc_pixel_stride(&d->format, d->width) * d->height;
	xcb_void_cookie_t attach;
	xcb_generic_error_t *xerr;
	void *map = MAP_FAILED;
	int fd = -1, fd_for_server;
	bool ok;
	int r;

	r = shm_version_ok(d, &ok, err);
	if (r < 0 || !ok)
		return r;

	/* Any failure on our side just means GetImage: the capture works either way. */
	fd = memfd_create("mxc-display-capture", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return 0;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto out;
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto out;
	/* xcb closes the descriptor it sends, even when sending fails. */
	fd_for_server = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd_for_server < 0)
		goto out;

	d->shm_seg = xcb_generate_id(d->conn);
	attach = xcb_shm_attach_fd_checked(d->conn, d->shm_seg, fd_for_server, 0);
	/* Once the round trip is back, the check below doesn't block. */
	{
		xcb_get_input_focus_cookie_t sync = xcb_get_input_focus(d->conn);
		void *reply = NULL;

		xerr = NULL;
		r = mxc_display_wait_reply(d, sync.sequence, &reply, &xerr, err);
		free(reply);
		free(xerr);
		if (r < 0)
			goto out;
	}
	xerr = xcb_request_check(d->conn, attach);
	if (xerr) {
		free(xerr);
		goto out;
	}
	d->shm = true;
	d->shm_map = map;
	d->shm_size = size;
	map = MAP_FAILED;

out:
	if (map != MAP_FAILED)
		munmap(map, size);
	mxc_close(fd);
	return r < 0 ? r : 0;
}

void mxc_display_shm_finish(struct mxc_display *d)
{
	if (!d->shm)
		return;
	/*
	 * No ShmDetach: the server frees the segment with the connection, and a request here
	 * could meet a dead server. A connection that keeps running after disable_shm keeps
	 * the server's mapping until it ends.
	 */
	munmap(d->shm_map, d->shm_size);
	d->shm = false;
	d->shm_map = NULL;
	d->shm_size = 0;
}

static int bad_reply(struct mxc_display *d, const char *what, unsigned depth, uint32_t visual,
		     uint64_t bytes, size_t expected, struct mxc_error *err)
{
	return mxc_error_set(err, -EPROTO,
			     "the server sent an invalid %s reply: depth %u, visual %#x, %llu "
			     "bytes (expected depth %u, visual %#x, %zu bytes)",
			     what, depth, (unsigned)visual, (unsigned long long)bytes,
			     (unsigned)d->format.depth, (unsigned)d->visual, expected);
}

static int new_image(uint32_t w, uint32_t h, struct mxc_image *img, struct mxc_error *err)
{
	img->data = malloc((size_t)w * h * 3);
	if (!img->data)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	img->width = w;
	img->height = h;
	img->stride = w * 3;
	return 0;
}

/* 1 when the server refused the request (the caller falls back to GetImage). */
static int capture_shm(struct mxc_display *d, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
		       struct mxc_image *img, struct mxc_error *err)
{
	size_t stride = mxc_pixel_stride(&d->format, w), need = stride * h;
	xcb_shm_get_image_cookie_t cookie;
	xcb_shm_get_image_reply_t *reply = NULL;
	xcb_generic_error_t *xerr = NULL;
	int r;

	if (need > d->shm_size) /* can't happen for a region inside the screen */
		return 1;
	cookie =
	    xcb_shm_get_image(d->conn, d->root, (int16_t)x, (int16_t)y, (uint16_t)w, (uint16_t)h,
			      UINT32_MAX, XCB_IMAGE_FORMAT_Z_PIXMAP, d->shm_seg, 0);
	r = mxc_display_wait_reply(d, cookie.sequence, (void **)&reply, &xerr, err);
	if (r < 0)
		return r;
	if (xerr) {
		free(xerr);
		return 1;
	}
	if (reply->depth != d->format.depth || reply->visual != d->visual || reply->size != need) {
		r = bad_reply(d, "MIT-SHM GetImage", reply->depth, reply->visual, reply->size, need,
			      err);
		goto out;
	}
	r = new_image(w, h, img, err);
	if (r < 0)
		goto out;
	mxc_pixels_to_rgb(&d->format, d->shm_map, stride, w, h, img->data);
out:
	free(reply);
	return r;
}

static int capture_get_image(struct mxc_display *d, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
			     struct mxc_image *img, struct mxc_error *err)
{
	size_t stride = mxc_pixel_stride(&d->format, w), need = stride * h;
	xcb_get_image_cookie_t cookie;
	xcb_get_image_reply_t *reply = NULL;
	xcb_generic_error_t *xerr = NULL;
	uint64_t bytes;
	int r;

	cookie = xcb_get_image(d->conn, XCB_IMAGE_FORMAT_Z_PIXMAP, d->root, (int16_t)x, (int16_t)y,
			       (uint16_t)w, (uint16_t)h, UINT32_MAX);
	r = mxc_display_wait_reply(d, cookie.sequence, (void **)&reply, &xerr, err);
	if (r < 0)
		return r;
	if (xerr) {
		r = mxc_error_set(err, -EPROTO, "the server refused GetImage (X error %u)",
				  xerr->error_code);
		free(xerr);
		return r;
	}
	/*
	 * The data length comes from the reply's length field, never from
	 * xcb_get_image_data_length (an int). xcb sizes its buffer from the same field, and
	 * some versions compute that in 32 bits, which a hostile length wraps; a length that
	 * matches need (at most 1 GiB) can't have wrapped, so the buffer really holds it. The
	 * server pads the data to 4 bytes.
	 */
	bytes = (uint64_t)reply->length * 4;
	if (reply->depth != d->format.depth || reply->visual != d->visual || bytes < need ||
	    bytes - need > 3) {
		r = bad_reply(d, "GetImage", reply->depth, reply->visual, bytes, need, err);
		goto out;
	}
	r = new_image(w, h, img, err);
	if (r < 0)
		goto out;
	mxc_pixels_to_rgb(&d->format, xcb_get_image_data(reply), stride, w, h, img->data);
out:
	free(reply);
	return r;
}

int mxc_display_capture_region(struct mxc_display *d, uint32_t x, uint32_t y, uint32_t w,
			       uint32_t h, struct mxc_image *ret, struct mxc_error *err)
{
	struct mxc_sigpipe_guard guard;
	struct mxc_image img = {0};
	int r;

	if (w == 0 || h == 0 || x >= d->width || y >= d->height || w > d->width - x ||
	    h > d->height - y)
		return mxc_error_set(err, -EINVAL,
				     "failed to capture display '%s': region %ux%u+%u+%u is not "
				     "inside the %ux%u screen",
				     d->name, w, h, x, y, d->width, d->height);
	if (d->broken)
		return mxc_error_set(err, -EIO,
				     "failed to capture display '%s': the server stopped answering "
				     "earlier; reconnect",
				     d->name);

	mxc_sigpipe_block(&guard);
	r = 1;
	if (xcb_connection_has_error(d->conn))
		r = mxc_display_connection_error(d, err);
	else if (d->shm) {
		r = capture_shm(d, x, y, w, h, &img, err);
		if (r > 0) /* refused: use GetImage from now on */
			mxc_display_shm_finish(d);
	}
	if (r > 0)
		r = capture_get_image(d, x, y, w, h, &img, err);
	mxc_sigpipe_restore(&guard);

	if (r < 0) {
		mxc_image_finish(&img);
		mxc_error_prefix(err, "failed to capture display '%s'", d->name);
		return r;
	}
	*ret = img;
	return 0;
}

int mxc_display_capture(struct mxc_display *d, struct mxc_image *ret, struct mxc_error *err)
{
	return mxc_display_capture_region(d, 0, 0, d->width, d->height, ret, err);
}
