/*
 * The RFB engine (see rfb.h). One connection at a time, in one thread: poll() waits for the
 * client, the stop descriptor and the next moment worth looking at the screen. Messages are
 * read whole once their first byte is in, within a deadline, so a client that sends half a
 * message and stops holds us at most that long. Updates are built in a fixed buffer and
 * written as it fills: nothing the client says decides how much is allocated.
 *
 * What the client shows is kept as a shadow copy in the source's RGB layout; an incremental
 * request is answered with the 64x64 tiles that differ from it (runs of them along a row
 * merged), which is what makes raw encoding good enough on loopback.
 */
/* DES_ecb_encrypt is deprecated in OpenSSL 3 but is what VNC Authentication needs. */
#define OPENSSL_API_COMPAT 0x10100000L

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/des.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "rfb.h"

#define TILE		      64
#define DEFAULT_HANDSHAKE_MS  10000
#define DEFAULT_IO_MS	      30000
#define DEFAULT_INTERVAL_MS   50
#define ENCODING_RAW	      0
#define ENCODING_DESKTOP_SIZE (-223)
#define NS_PER_MS	      1000000ull

/* Refusals travel inside the engine as this code; nothing else there returns it. */
#define REFUSED (-EACCES)

enum {
	MSG_SET_PIXEL_FORMAT = 0,
	MSG_SET_ENCODINGS = 2,
	MSG_UPDATE_REQUEST = 3,
	MSG_KEY_EVENT = 4,
	MSG_POINTER_EVENT = 5,
	MSG_CLIENT_CUT_TEXT = 6,
};

/* Nothing a human could misread: no 0/O/o, no 1/l/I. */
static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/* 32 bits per pixel, depth 24, little-endian, true colour, 8 bits each at 16, 8 and 0. */
static const uint8_t native_format[16] = {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0};

struct mxc_rfb_server {
	char name[256];
	bool control;
	const struct mxc_rfb_source *source;
	void *data;
	char password[MXC_RFB_PASSWORD_LEN + 1];
	bool used;
	unsigned failures;
	int handshake_ms, io_ms, interval_ms;
};

struct rect {
	uint32_t x, y, w, h;
};

/* The client's pixel format, as a value per 8-bit channel level, shifted in place. */
struct format {
	unsigned bytes; /* 1, 2 or 4 */
	bool big_endian;
	uint32_t pad; /* bits of a 32-bit pixel outside every channel, sent as ones */
	uint32_t r[256], g[256], b[256];
};

struct conn {
	struct mxc_rfb_server *srv;
	int fd, stop_fd;
	struct mxc_error *err;
	uint64_t handshake_deadline; /* 0 once the handshake is over */
	bool authenticated;
	bool local_failure; /* the error is ours (the source, memory), not the client's */

	uint8_t in[4096];
	size_t in_off, in_len;
	uint8_t out[64 * 1024];
	size_t out_len;

	struct format fmt;
	bool desktop_size; /* the client announced the DesktopSize pseudo-encoding */

	uint32_t width, height; /* the client's framebuffer */
	uint8_t *shadow;	/* what the client shows: width * height * 3 */
	struct rect *rects;
	size_t max_rects;
	bool lost;    /* the client's framebuffer holds nothing we know of */
	bool resized; /* a DesktopSize rectangle is owed */

	/* The latest frame, in the client's size. */
	const uint8_t *pix;
	size_t pix_stride;
	uint8_t *canvas; /* the frame padded or cropped, for a client that cannot resize */
	uint32_t screen_w, screen_h;
	uint64_t frame_at;

	bool want; /* an update request is outstanding */
	struct rect full, incr;
	uint64_t next_look;

	bool ptr_pending; /* a move not forwarded yet */
	uint16_t ptr_x, ptr_y;
	uint8_t ptr_buttons; /* the mask last forwarded */
	uint64_t ptr_at;
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double seconds(int ms)
{
	return ms / 1000.0;
}

static int ms_until(uint64_t when, uint64_t now)
{
	if (when <= now)
		return 0;
	uint64_t ms = (when - now + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static bool rect_empty(const struct rect *r)
{
	return r->w == 0 || r->h == 0;
}

static void rect_union(struct rect *acc, const struct rect *r)
{
	if (rect_empty(r))
		return;
	if (rect_empty(acc)) {
		*acc = *r;
		return;
	}
	uint32_t x1 = acc->x + acc->w > r->x + r->w ? acc->x + acc->w : r->x + r->w;
	uint32_t y1 = acc->y + acc->h > r->y + r->h ? acc->y + acc->h : r->y + r->h;
	acc->x = acc->x < r->x ? acc->x : r->x;
	acc->y = acc->y < r->y ? acc->y : r->y;
	acc->w = x1 - acc->x;
	acc->h = y1 - acc->y;
}

static bool rect_contains(const struct rect *outer, const struct rect *inner)
{
	return !rect_empty(outer) && inner->x >= outer->x && inner->y >= outer->y &&
	       inner->x + inner->w <= outer->x + outer->w &&
	       inner->y + inner->h <= outer->y + outer->h;
}

/* The part of (x, y, w, h) inside a width x height screen; empty if none. */
static struct rect rect_clip(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t width,
			     uint32_t height)
{
	struct rect r = {0};
	if (x >= width || y >= height)
		return r;
	r.x = x;
	r.y = y;
	r.w = w < width - x ? w : width - x;
	r.h = h < height - y ? h : height - y;
	return r;
}

/* ---- the server ---- */

static int make_password(char out[static MXC_RFB_PASSWORD_LEN + 1], struct mxc_error *err)
{
	const unsigned k = sizeof(alphabet) - 1;
	/* Bytes at or above this limit are drawn again, so that every character is as likely. */
	const unsigned limit = 256 - 256 % k;
	uint8_t buf[32];
	size_t n = 0;
	while (n < MXC_RFB_PASSWORD_LEN) {
		ssize_t got = getrandom(buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return mxc_error_errno(err, -errno, "failed to draw a password");
		for (ssize_t i = 0; i < got && n < MXC_RFB_PASSWORD_LEN; i++)
			if (buf[i] < limit)
				out[n++] = alphabet[buf[i] % k];
	}
	out[n] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int mxc_rfb_server_create(const char *name, bool control, const struct mxc_rfb_source *source,
			  void *data, struct mxc_rfb_server **ret_srv, struct mxc_error *err)
{
	if (!source || !source->frame || (control && (!source->key || !source->pointer)))
		return mxc_error_set(err, -EINVAL, "the RFB server lacks a frame or input source");
	struct mxc_rfb_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	int r = make_password(srv->password, err);
	if (r < 0) {
		free(srv);
		return r;
	}
	snprintf(srv->name, sizeof(srv->name), "%s", name ? name : "");
	srv->control = control;
	srv->source = source;
	srv->data = data;
	srv->handshake_ms = DEFAULT_HANDSHAKE_MS;
	srv->io_ms = DEFAULT_IO_MS;
	srv->interval_ms = DEFAULT_INTERVAL_MS;
	*ret_srv = srv;
	return 0;
}

void mxc_rfb_server_destroy(struct mxc_rfb_server *srv)
{
	if (!srv)
		return;
	explicit_bzero(srv->password, sizeof(srv->password));
	free(srv);
}

const char *mxc_rfb_server_password(const struct mxc_rfb_server *srv)
{
	return srv->password;
}

bool mxc_rfb_server_authenticated(const struct mxc_rfb_server *srv)
{
	return srv->used;
}

bool mxc_rfb_server_spent(const struct mxc_rfb_server *srv)
{
	return srv->used || srv->failures >= MXC_RFB_MAX_FAILURES;
}

void mxc_rfb_server_set_timeouts(struct mxc_rfb_server *srv, int handshake_ms, int io_ms,
				 int frame_interval_ms)
{
	if (handshake_ms > 0)
		srv->handshake_ms = handshake_ms;
	if (io_ms > 0)
		srv->io_ms = io_ms;
	if (frame_interval_ms > 0)
		srv->interval_ms = frame_interval_ms;
}

/* ---- reading and writing with deadlines ---- */

/* The deadline of the next wait: the handshake's while it lasts, else io_ms from now. */
static uint64_t io_deadline(const struct conn *c)
{
	if (c->handshake_deadline)
		return c->handshake_deadline;
	return mxc_now_mono_ns() + (uint64_t)c->srv->io_ms * NS_PER_MS;
}

/* Waits for events on the client socket: 0, -ETIMEDOUT, -ECANCELED (stop) or -errno. */
static int wait_client(struct conn *c, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mxc_now_mono_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p[2] = {
		    {.fd = c->fd, .events = events},
		    {.fd = c->stop_fd, .events = POLLIN},
		};
		if (poll(p, 2, ms_until(deadline, now)) < 0) {
			if (errno == EINTR)
				continue;
			return mxc_error_errno(c->err, -errno, "failed to wait for the VNC client");
		}
		if (p[1].revents)
			return -ECANCELED;
		if (p[0].revents)
			return 0;
	}
}

static int timed_out(struct conn *c, const char *what)
{
	if (c->handshake_deadline)
		return mxc_error_set(c->err, -ETIMEDOUT,
				     "the VNC client did not finish the handshake within %g s",
				     seconds(c->srv->handshake_ms));
	return mxc_error_set(c->err, -ETIMEDOUT, "the VNC client %s for %g s", what,
			     seconds(c->srv->io_ms));
}

/* Writes the output buffer; a client that takes nothing for io_ms is dropped. */
static int flush_out(struct conn *c)
{
	size_t done = 0;
	while (done < c->out_len) {
		ssize_t n =
		    send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return -ECONNRESET;
		if (n < 0 && errno != EAGAIN)
			return mxc_error_errno(c->err, -errno, "failed to write to the VNC client");
		int r = wait_client(c, POLLOUT, io_deadline(c));
		if (r == -ETIMEDOUT)
			return timed_out(c, "stopped reading");
		if (r < 0)
			return r;
	}
	c->out_len = 0;
	return 0;
}

/* Appends n bytes (n <= sizeof(c->out)), writing out what is buffered when it is full. */
static int put(struct conn *c, const void *data, size_t n)
{
	if (c->out_len + n > sizeof(c->out)) {
		int r = flush_out(c);
		if (r < 0)
			return r;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
	return 0;
}

static int put_u8(struct conn *c, uint8_t v)
{
	return put(c, &v, 1);
}

static int put_u16(struct conn *c, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return put(c, b, sizeof(b));
}

static int put_u32(struct conn *c, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return put(c, b, sizeof(b));
}

/* Reads what the socket has: 0, -EAGAIN when nothing is there, -ECONNRESET at its end. */
static int fill(struct conn *c)
{
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n > 0) {
		c->in_len += (size_t)n;
		return 0;
	}
	if (n == 0 || errno == ECONNRESET)
		return -ECONNRESET;
	if (errno == EAGAIN || errno == EINTR)
		return -EAGAIN;
	return mxc_error_errno(c->err, -errno, "failed to read from the VNC client");
}

/* Makes n bytes (n <= sizeof(c->in)) available at c->in + c->in_off, waiting for the rest. */
static int need(struct conn *c, size_t n)
{
	uint64_t deadline = io_deadline(c);
	while (c->in_len - c->in_off < n) {
		int r = fill(c);
		if (r == -EAGAIN) {
			r = wait_client(c, POLLIN, deadline);
			if (r == -ETIMEDOUT)
				return timed_out(c, "left a message unfinished");
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static const uint8_t *take(struct conn *c, size_t n)
{
	const uint8_t *p = c->in + c->in_off;
	c->in_off += n;
	return p;
}

/* ---- pixels ---- */

/* Takes an RFB PIXEL_FORMAT (16 bytes); refuses colour maps and impossible layouts. */
static int set_format(struct conn *c, const uint8_t *p)
{
	static const char *const names[] = {"red", "green", "blue"};
	unsigned bpp = p[0], depth = p[1];
	if (!p[3])
		return mxc_error_set(
		    c->err, -ENOTSUP,
		    "the VNC client asked for a colour-map pixel format; only true "
		    "colour is served");
	if (bpp != 8 && bpp != 16 && bpp != 32)
		return mxc_error_set(c->err, -ENOTSUP,
				     "the VNC client asked for %u bits per pixel; 8, 16 or 32 are "
				     "served",
				     bpp);
	if (depth == 0 || depth > bpp)
		return mxc_error_set(c->err, -EPROTO, "the VNC client asked for depth %u at %u bpp",
				     depth, bpp);
	struct format f = {.bytes = bpp / 8, .big_endian = p[2] != 0};
	uint32_t *tables[] = {f.r, f.g, f.b};
	for (unsigned i = 0; i < 3; i++) {
		uint32_t max = be16(p + 4 + 2 * i);
		unsigned shift = p[10 + i];
		/* max is 2^n - 1 and the n bits at shift fit in the pixel. */
		if (max == 0 || (max & (max + 1)) != 0 ||
		    shift + (unsigned)__builtin_popcount(max) > bpp)
			return mxc_error_set(c->err, -EPROTO,
					     "the VNC client asked for %s-max %u at shift %u in "
					     "%u bpp",
					     names[i], max, shift, bpp);
		for (uint32_t v = 0; v < 256; v++)
			tables[i][v] = ((v * max + 127) / 255) << shift;
	}
	/*
	 * The padding of a 32-bit pixel is no colour, but noVNC 1.3 (Debian 12) takes it as
	 * alpha for all but the first rows of a rectangle: opaque it must be.
	 */
	if (bpp == 32)
		f.pad = ~(f.r[255] | f.g[255] | f.b[255]);
	c->fmt = f;
	return 0;
}

static void convert(const struct format *f, const uint8_t *src, size_t n, uint8_t *dst)
{
	for (size_t i = 0; i < n; i++, src += 3) {
		uint32_t v = f->r[src[0]] | f->g[src[1]] | f->b[src[2]] | f->pad;
		switch (f->bytes) {
		case 4:
			if (f->big_endian) {
				*dst++ = (uint8_t)(v >> 24);
				*dst++ = (uint8_t)(v >> 16);
				*dst++ = (uint8_t)(v >> 8);
				*dst++ = (uint8_t)v;
			} else {
				*dst++ = (uint8_t)v;
				*dst++ = (uint8_t)(v >> 8);
				*dst++ = (uint8_t)(v >> 16);
				*dst++ = (uint8_t)(v >> 24);
			}
			break;
		case 2:
			if (f->big_endian) {
				*dst++ = (uint8_t)(v >> 8);
				*dst++ = (uint8_t)v;
			} else {
				*dst++ = (uint8_t)v;
				*dst++ = (uint8_t)(v >> 8);
			}
			break;
		default:
			*dst++ = (uint8_t)v;
			break;
		}
	}
}

/* Appends n pixels of packed RGB in the client's format. */
static int put_pixels(struct conn *c, const uint8_t *src, size_t n)
{
	while (n > 0) {
		size_t room = (sizeof(c->out) - c->out_len) / c->fmt.bytes;
		if (room == 0) {
			int r = flush_out(c);
			if (r < 0)
				return r;
			continue;
		}
		size_t k = n < room ? n : room;
		convert(&c->fmt, src, k, c->out + c->out_len);
		c->out_len += k * c->fmt.bytes;
		src += k * 3;
		n -= k;
	}
	return 0;
}

/* Makes the client's framebuffer width x height, its content unknown. */
static int resize(struct conn *c, uint32_t width, uint32_t height)
{
	size_t tiles_x = (width + TILE - 1) / TILE, tiles_y = (height + TILE - 1) / TILE;
	/* One complete region, and at most every other tile of a row as a run of its own. */
	size_t max_rects = 1 + (tiles_x + 1) / 2 * tiles_y;
	uint8_t *shadow = calloc((size_t)width * height, 3);
	struct rect *rects = calloc(max_rects, sizeof(*rects));
	if (!shadow || !rects) {
		free(shadow);
		free(rects);
		c->local_failure = true;
		return mxc_error_set(c->err, -ENOMEM, "out of memory for a %ux%u screen", width,
				     height);
	}
	free(c->shadow);
	free(c->rects);
	free(c->canvas);
	c->canvas = NULL;
	c->shadow = shadow;
	c->rects = rects;
	c->max_rects = max_rects;
	c->width = width;
	c->height = height;
	c->lost = true;
	c->full = c->incr = (struct rect){0};
	return 0;
}

/* Fits a frame of another size into the client's framebuffer: cropped, padded with black. */
static int compose(struct conn *c, const struct mxc_rfb_frame *f)
{
	size_t row = (size_t)c->width * 3;
	if (!c->canvas) {
		c->canvas = malloc(row * c->height);
		if (!c->canvas) {
			c->local_failure = true;
			return mxc_error_set(c->err, -ENOMEM, "out of memory");
		}
	}
	size_t copy = (size_t)(f->width < c->width ? f->width : c->width) * 3;
	for (uint32_t y = 0; y < c->height; y++) {
		uint8_t *dst = c->canvas + y * row;
		size_t n = y < f->height ? copy : 0;
		if (n)
			memcpy(dst, f->pixels + y * f->stride, n);
		memset(dst + n, 0, row - n);
	}
	c->pix = c->canvas;
	c->pix_stride = row;
	return 0;
}

/* Asks the source for the screen; notices a new size. */
static int look(struct conn *c)
{
	struct mxc_rfb_frame f = {0};
	int r = c->srv->source->frame(c->srv->data, &f, c->err);
	if (r < 0) {
		c->local_failure = true;
		return r;
	}
	if (!f.pixels || f.width < 1 || f.width > MXC_RFB_MAX_EDGE || f.height < 1 ||
	    f.height > MXC_RFB_MAX_EDGE || f.stride < (size_t)f.width * 3) {
		c->local_failure = true;
		return mxc_error_set(c->err, -EBADMSG, "the screen source gave a %ux%u frame",
				     f.width, f.height);
	}
	c->frame_at = mxc_now_mono_ns();
	c->screen_w = f.width;
	c->screen_h = f.height;
	if (f.width != c->width || f.height != c->height) {
		/* Without DesktopSize the client keeps its first size, and the frame is fitted. */
		if (c->width == 0 || c->desktop_size) {
			c->resized = c->width != 0;
			r = resize(c, f.width, f.height);
			if (r < 0)
				return r;
		}
	}
	if (f.width == c->width && f.height == c->height) {
		c->pix = f.pixels;
		c->pix_stride = f.stride;
		return 0;
	}
	return compose(c, &f);
}

static bool tile_changed(const struct conn *c, const struct rect *t)
{
	for (uint32_t y = t->y; y < t->y + t->h; y++)
		if (memcmp(c->shadow + ((size_t)y * c->width + t->x) * 3,
			   c->pix + y * c->pix_stride + (size_t)t->x * 3, (size_t)t->w * 3) != 0)
			return true;
	return false;
}

/* Appends to c->rects the runs of changed tiles in the incremental region. */
static size_t diff(struct conn *c, size_t n)
{
	const struct rect *in = &c->incr;
	for (uint32_t ty = in->y / TILE * TILE; ty < in->y + in->h; ty += TILE) {
		struct rect run = {0};
		for (uint32_t tx = in->x / TILE * TILE; tx < in->x + in->w; tx += TILE) {
			uint32_t x0 = tx > in->x ? tx : in->x, y0 = ty > in->y ? ty : in->y;
			uint32_t x1 = tx + TILE < in->x + in->w ? tx + TILE : in->x + in->w;
			uint32_t y1 = ty + TILE < in->y + in->h ? ty + TILE : in->y + in->h;
			struct rect t = {x0, y0, x1 - x0, y1 - y0};
			if (tile_changed(c, &t)) {
				if (rect_empty(&run))
					run = t;
				else
					run.w = t.x + t.w - run.x;
			} else if (!rect_empty(&run)) {
				c->rects[n++] = run;
				run = (struct rect){0};
			}
		}
		if (!rect_empty(&run))
			c->rects[n++] = run;
	}
	return n;
}

static int put_rect_header(struct conn *c, const struct rect *r, int32_t encoding)
{
	int e = put_u16(c, (uint16_t)r->x);
	if (!e)
		e = put_u16(c, (uint16_t)r->y);
	if (!e)
		e = put_u16(c, (uint16_t)r->w);
	if (!e)
		e = put_u16(c, (uint16_t)r->h);
	if (!e)
		e = put_u32(c, (uint32_t)encoding);
	return e;
}

/* Sends a raw rectangle and records that the client now shows it. */
static int put_raw(struct conn *c, const struct rect *rc)
{
	int r = put_rect_header(c, rc, ENCODING_RAW);
	for (uint32_t y = rc->y; r == 0 && y < rc->y + rc->h; y++) {
		const uint8_t *src = c->pix + y * c->pix_stride + (size_t)rc->x * 3;
		r = put_pixels(c, src, rc->w);
		memcpy(c->shadow + ((size_t)y * c->width + rc->x) * 3, src, (size_t)rc->w * 3);
	}
	return r;
}

static void request_done(struct conn *c)
{
	c->want = false;
	c->full = c->incr = (struct rect){0};
}

/*
 * Runs when an update request is outstanding and it is time to look at the screen. Sends
 * what the client asked for, or nothing and schedules the next look when nothing changed.
 */
static int update(struct conn *c)
{
	int r = look(c);
	if (r < 0)
		return r;
	if (c->resized) {
		/* A DesktopSize rectangle alone: the client asks again in its new size. */
		c->resized = false;
		struct rect whole = {0, 0, c->width, c->height};
		request_done(c);
		if ((r = put_u8(c, 0)) < 0 || (r = put_u8(c, 0)) < 0 || (r = put_u16(c, 1)) < 0 ||
		    (r = put_rect_header(c, &whole, ENCODING_DESKTOP_SIZE)) < 0)
			return r;
		return flush_out(c);
	}
	if (c->lost) {
		c->full = (struct rect){0, 0, c->width, c->height};
		c->lost = false;
	}
	size_t n = 0;
	if (!rect_empty(&c->full))
		c->rects[n++] = c->full;
	if (!rect_empty(&c->incr) && !rect_contains(&c->full, &c->incr))
		n = diff(c, n);
	if (n == 0) {
		c->next_look = c->frame_at + (uint64_t)c->srv->interval_ms * NS_PER_MS;
		return 0;
	}
	request_done(c);
	if ((r = put_u8(c, 0)) < 0 || (r = put_u8(c, 0)) < 0 || (r = put_u16(c, (uint16_t)n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((r = put_raw(c, &c->rects[i])) < 0)
			return r;
	return flush_out(c);
}

/* ---- input ---- */

static int forward_pointer(struct conn *c, uint16_t x, uint16_t y, uint8_t buttons)
{
	c->ptr_pending = false;
	c->ptr_buttons = buttons;
	c->ptr_at = mxc_now_mono_ns();
	int r = c->srv->source->pointer(c->srv->data, x, y, buttons, c->err);
	if (r < 0)
		c->local_failure = true;
	return r;
}

static int flush_pointer(struct conn *c)
{
	if (!c->ptr_pending)
		return 0;
	return forward_pointer(c, c->ptr_x, c->ptr_y, c->ptr_buttons);
}

/*
 * A move only is held back and forwarded at most once per frame interval, the latest one
 * winning; a change of buttons goes at once, with its own position, so that presses and
 * releases are never lost or reordered.
 */
static int pointer_event(struct conn *c, uint8_t buttons, uint16_t x, uint16_t y)
{
	if (!c->srv->control)
		return 0;
	/* The client's framebuffer may be larger than the screen when it cannot resize. */
	if (x >= c->screen_w)
		x = (uint16_t)(c->screen_w - 1);
	if (y >= c->screen_h)
		y = (uint16_t)(c->screen_h - 1);
	if (buttons != c->ptr_buttons)
		return forward_pointer(c, x, y, buttons);
	c->ptr_pending = true;
	c->ptr_x = x;
	c->ptr_y = y;
	uint64_t interval = (uint64_t)c->srv->interval_ms * NS_PER_MS;
	if (mxc_now_mono_ns() >= c->ptr_at + interval)
		return flush_pointer(c);
	return 0;
}

static int key_event(struct conn *c, bool down, uint32_t keysym)
{
	if (!c->srv->control)
		return 0;
	/* A key may act where the pointer is: the move it waits for goes first. */
	int r = flush_pointer(c);
	if (r < 0)
		return r;
	r = c->srv->source->key(c->srv->data, keysym, down, c->err);
	if (r < 0)
		c->local_failure = true;
	return r;
}

/* ---- client messages ---- */

static int set_encodings(struct conn *c)
{
	int r = need(c, 4);
	if (r < 0)
		return r;
	uint16_t n = be16(take(c, 4) + 2);
	c->desktop_size = false;
	/* Read one by one: the count is the client's, so nothing is allocated from it. */
	for (uint32_t i = 0; i < n; i++) {
		if ((r = need(c, 4)) < 0)
			return r;
		int32_t encoding = (int32_t)be32(take(c, 4));
		if (i < MXC_RFB_MAX_ENCODINGS && encoding == ENCODING_DESKTOP_SIZE)
			c->desktop_size = true;
	}
	return 0;
}

static void update_request(struct conn *c, const uint8_t *p)
{
	bool incremental = p[1] != 0;
	struct rect r =
	    rect_clip(be16(p + 2), be16(p + 4), be16(p + 6), be16(p + 8), c->width, c->height);
	uint64_t now = mxc_now_mono_ns();
	uint64_t at = now;
	if (incremental && !c->lost) {
		/* Not sooner than one interval after the last look: at most that many per second.
		 */
		uint64_t due = c->frame_at + (uint64_t)c->srv->interval_ms * NS_PER_MS;
		at = due > now ? due : now;
	}
	rect_union(incremental ? &c->incr : &c->full, &r);
	if (!c->want || at < c->next_look)
		c->next_look = at;
	/* Even an empty region is an answer owed: a new screen size may come in it. */
	c->want = true;
}

/* Clipboard text from a viewer is read and dropped: the clipboard crosses only via the broker. */
static int cut_text(struct conn *c)
{
	int r = need(c, 8);
	if (r < 0)
		return r;
	uint32_t left = be32(take(c, 8) + 4);
	if (left > MXC_RFB_MAX_CUT_TEXT)
		return mxc_error_set(c->err, -EMSGSIZE,
				     "the VNC client sent %" PRIu32 " bytes of clipboard text; at "
				     "most %u are accepted (and dropped)",
				     left, MXC_RFB_MAX_CUT_TEXT);
	while (left > 0) {
		if ((r = need(c, 1)) < 0)
			return r;
		size_t k = c->in_len - c->in_off;
		if (k > left)
			k = left;
		take(c, k);
		left -= (uint32_t)k;
	}
	return 0;
}

/* Runs when at least the first byte of a message is buffered; reads the message whole. */
static int handle_message(struct conn *c)
{
	const uint8_t *p;
	uint8_t type = c->in[c->in_off];
	int r;
	switch (type) {
	case MSG_SET_PIXEL_FORMAT:
		if ((r = need(c, 20)) < 0)
			return r;
		return set_format(c, take(c, 20) + 4);
	case MSG_SET_ENCODINGS:
		return set_encodings(c);
	case MSG_UPDATE_REQUEST:
		if ((r = need(c, 10)) < 0)
			return r;
		update_request(c, take(c, 10));
		return 0;
	case MSG_KEY_EVENT:
		if ((r = need(c, 8)) < 0)
			return r;
		p = take(c, 8);
		return key_event(c, p[1] != 0, be32(p + 4));
	case MSG_POINTER_EVENT:
		if ((r = need(c, 6)) < 0)
			return r;
		p = take(c, 6);
		return pointer_event(c, p[1], be16(p + 2), be16(p + 4));
	case MSG_CLIENT_CUT_TEXT:
		return cut_text(c);
	default:
		return mxc_error_set(c->err, -EPROTO,
				     "the VNC client sent a message of unknown type %u", type);
	}
}

/* ---- handshake ---- */

static uint8_t reverse_bits(uint8_t b)
{
	uint8_t r = 0;
	for (int i = 0; i < 8; i++)
		r |= (uint8_t)(((b >> i) & 1) << (7 - i));
	return r;
}

/* VNC Authentication: the challenge DES-encrypted with the password, bits of each byte
 * reversed, as the key. */
static void vnc_response(const char *password, const uint8_t challenge[16], uint8_t out[16])
{
	DES_cblock key = {0};
	DES_key_schedule schedule;
	for (size_t i = 0; i < sizeof(key) && password[i]; i++)
		key[i] = reverse_bits((uint8_t)password[i]);
	DES_set_key_unchecked(&key, &schedule);
	for (size_t i = 0; i < 16; i += 8)
		DES_ecb_encrypt((const_DES_cblock *)(challenge + i), (DES_cblock *)(out + i),
				&schedule, DES_ENCRYPT);
	explicit_bzero(&key, sizeof(key));
	explicit_bzero(&schedule, sizeof(schedule));
}

/* "RFB 003.008\n": returns the minor version to speak (3, 7 or 8), or -EPROTO. */
static int parse_version(const uint8_t v[12])
{
	static const char shape[] = "RFB ddd.ddd\n";
	for (size_t i = 0; i < 12; i++) {
		bool digit = v[i] >= '0' && v[i] <= '9';
		if (shape[i] == 'd' ? !digit : v[i] != (uint8_t)shape[i])
			return -EPROTO;
	}
	int major = (v[4] - '0') * 100 + (v[5] - '0') * 10 + (v[6] - '0');
	int minor = (v[8] - '0') * 100 + (v[9] - '0') * 10 + (v[10] - '0');
	if (major != 3)
		return -EPROTO;
	/* RFC 6143 7.1.1: anything else (3.5, 3.889, ...) is to be treated as 3.3. */
	return minor == 8 || minor == 7 ? minor : 3;
}

/* The answer to a VNC Authentication attempt; spends the password either way it goes. */
static const char *check_response(struct mxc_rfb_server *srv, const uint8_t challenge[16],
				  const uint8_t response[16])
{
	if (srv->used)
		return "the one-time password was used already";
	if (srv->failures >= MXC_RFB_MAX_FAILURES)
		return "too many failed attempts";
	uint8_t expect[16];
	vnc_response(srv->password, challenge, expect);
	bool ok = CRYPTO_memcmp(expect, response, sizeof(expect)) == 0;
	explicit_bzero(expect, sizeof(expect));
	if (!ok) {
		srv->failures++;
		return "authentication failed";
	}
	srv->used = true;
	explicit_bzero(srv->password, sizeof(srv->password));
	return NULL;
}

/* SecurityResult failed, with its reason from 3.8 on; the connection ends after it. */
static int refuse(struct conn *c, int minor, const char *reason)
{
	size_t len = strlen(reason);
	if (put_u32(c, 1) == 0 &&
	    (minor < 8 || (put_u32(c, (uint32_t)len) == 0 && put(c, reason, len) == 0)))
		flush_out(c);
	mxc_error_set(c->err, REFUSED, "VNC client refused: %s", reason);
	return REFUSED;
}

static int handshake(struct conn *c)
{
	static const char version[] = "RFB 003.008\n";
	int r;
	if ((r = put(c, version, 12)) < 0 || (r = flush_out(c)) < 0 || (r = need(c, 12)) < 0)
		return r;
	int minor = parse_version(take(c, 12));
	if (minor < 0)
		return mxc_error_set(c->err, -EPROTO, "the VNC client sent no RFB 3.x version");
	if (minor >= 7) {
		/* One security type offered: 2, VNC Authentication. */
		if ((r = put_u8(c, 1)) < 0 || (r = put_u8(c, 2)) < 0 || (r = flush_out(c)) < 0 ||
		    (r = need(c, 1)) < 0)
			return r;
		uint8_t type = *take(c, 1);
		if (type != 2) {
			if (minor == 8)
				refuse(c, minor, "only VNC Authentication is offered");
			return mxc_error_set(c->err, -EPROTO,
					     "the VNC client chose security type %u, which was not "
					     "offered",
					     type);
		}
	} else if ((r = put_u32(c, 2)) < 0) {
		return r;
	}

	uint8_t challenge[16], response[16];
	if (getrandom(challenge, sizeof(challenge), 0) != (ssize_t)sizeof(challenge)) {
		c->local_failure = true;
		return mxc_error_errno(c->err, -errno, "failed to draw a challenge");
	}
	if ((r = put(c, challenge, sizeof(challenge))) < 0 || (r = flush_out(c)) < 0 ||
	    (r = need(c, 16)) < 0)
		return r;
	memcpy(response, take(c, 16), sizeof(response));
	const char *reason = check_response(c->srv, challenge, response);
	if (reason)
		return refuse(c, minor, reason);
	c->authenticated = true;
	if ((r = put_u32(c, 0)) < 0 || (r = flush_out(c)) < 0)
		return r;

	/* ClientInit: its shared flag means nothing here, there is one viewer per server. */
	if ((r = need(c, 1)) < 0)
		return r;
	take(c, 1);
	if ((r = look(c)) < 0)
		return r;
	size_t name_len = strlen(c->srv->name);
	if ((r = put_u16(c, (uint16_t)c->width)) < 0 || (r = put_u16(c, (uint16_t)c->height)) < 0 ||
	    (r = put(c, native_format, sizeof(native_format))) < 0 ||
	    (r = put_u32(c, (uint32_t)name_len)) < 0 || (r = put(c, c->srv->name, name_len)) < 0 ||
	    (r = flush_out(c)) < 0)
		return r;
	c->handshake_deadline = 0;
	return 0;
}

/* ---- serving ---- */

/* Runs after the handshake until the client leaves, misbehaves or we are told to stop. */
static int run(struct conn *c)
{
	uint64_t interval = (uint64_t)c->srv->interval_ms * NS_PER_MS;
	for (;;) {
		int r;
		while (c->in_off < c->in_len)
			if ((r = handle_message(c)) < 0)
				return r;
		uint64_t now = mxc_now_mono_ns();
		if (c->ptr_pending && now >= c->ptr_at + interval && (r = flush_pointer(c)) < 0)
			return r;
		if (c->want && now >= c->next_look) {
			if ((r = update(c)) < 0)
				return r;
			now = mxc_now_mono_ns();
		}
		int timeout = -1;
		if (c->ptr_pending)
			timeout = ms_until(c->ptr_at + interval, now);
		if (c->want) {
			int t = ms_until(c->next_look, now);
			timeout = timeout < 0 || t < timeout ? t : timeout;
		}
		struct pollfd p[2] = {
		    {.fd = c->fd, .events = POLLIN},
		    {.fd = c->stop_fd, .events = POLLIN},
		};
		if (poll(p, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return mxc_error_errno(c->err, -errno, "failed to wait for the VNC client");
		}
		if (p[1].revents)
			return -ECANCELED;
		if (p[0].revents && (r = fill(c)) < 0 && r != -EAGAIN)
			return r;
	}
}

int mxc_rfb_server_serve(struct mxc_rfb_server *srv, int fd, int stop_fd, enum mxc_rfb_end *ret_end,
			 struct mxc_error *err)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	c->srv = srv;
	c->fd = fd;
	c->stop_fd = stop_fd;
	c->err = err;
	int r = set_format(c, native_format);
	int flags = fcntl(fd, F_GETFL);
	if (r < 0 || flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		r = mxc_error_errno(err, r < 0 ? r : -errno, "failed to set up the VNC connection");
		goto out;
	}
	c->handshake_deadline = mxc_now_mono_ns() + (uint64_t)srv->handshake_ms * NS_PER_MS;

	r = handshake(c);
	if (r == 0)
		r = run(c);
	/* A move the client made before leaving still counts. */
	if (r == -ECONNRESET && c->authenticated && !c->local_failure) {
		int e = flush_pointer(c);
		r = e < 0 ? e : r;
	}
	if (c->local_failure)
		goto out;
	enum mxc_rfb_end end;
	if (r == -ECANCELED) {
		end = MXC_RFB_STOPPED;
	} else if (r == REFUSED) {
		end = MXC_RFB_REFUSED;
	} else if (r == -ECONNRESET && c->authenticated) {
		end = MXC_RFB_CLIENT_LEFT;
	} else {
		if (r == -ECONNRESET)
			mxc_error_set(err, r, "the VNC client left during the handshake");
		end = MXC_RFB_CLIENT_FAULT;
	}
	*ret_end = end;
	r = 0;
out:
	free(c->canvas);
	free(c->rects);
	free(c->shadow);
	free(c);
	return r;
}
