/*
 * Reading the selection: ConvertSelection, the owner's answer in a property on our window,
 * INCR transfers, the owner's TARGETS and what they stand for, and decoding text and images.
 *
 * The owner is hostile: it may never answer, answer with another type or format, announce an
 * INCR transfer of 4 GiB, send more than it announced, trickle bytes forever or delete the data
 * before we read it. Every wait shares the call's one deadline, and no buffer grows past the
 * caller's limit: an INCR size is a hint we compare, never one we allocate.
 */
#include <stdio.h>
#include <stdlib.h>

#include "clipboard-private.h"

/* The first buffer of an INCR transfer; it doubles from there, up to the caller's limit. */
#define INCR_FIRST_BUFFER (64u << 10)

static bool answered(const struct mxc_clipboard *c)
{
	return c->req.notified;
}

static bool chunk_ready(const struct mxc_clipboard *c)
{
	return c->req.new_values > 0;
}

/* GetProperty's long-length that reads max bytes and tells whether there are more. */
static uint32_t long_length_for(size_t max)
{
	return (uint32_t)(max / 4 + 1); /* max <= MXC_CLIPBOARD_MAX_BYTES */
}

/* Turns a property's value into a buffer of its own without copying it. */
static uint8_t *take_value(struct clip_property *p)
{
	uint8_t *buf = (uint8_t *)p->reply, *shrunk;
	size_t len = p->len;

	memmove(buf, p->value, len);
	p->reply = NULL;
	shrunk = realloc(buf, len ? len : 1);
	return shrunk ? shrunk : buf;
}

/* The rest of an INCR transfer, into *ret (at most max bytes). */
static int read_incr(struct mxc_clipboard *c, uint8_t format, size_t max, uint64_t deadline,
		     xcb_atom_t *ret_type, uint8_t **ret, size_t *ret_len, struct mxc_error *err)
{
	struct clip_request *q = &c->req;
	xcb_atom_t type = XCB_NONE;
	uint8_t *buf = NULL;
	size_t have = 0, cap = 0;
	int r;

	/* Deleting the INCR property asks for the first chunk. */
	q->new_values = 0;
	xcb_delete_property(c->conn, c->window, q->property);
	for (;;) {
		struct clip_property p;

		r = clip_wait(c, chunk_ready, deadline, "complete INCR transfer from the owner",
			      err);
		if (r < 0)
			goto fail;
		q->new_values = 0;
		/* Deleting (which the server does only when we read it all) asks for the next. */
		r = clip_get_property(c, c->window, q->property, true, long_length_for(max - have),
				      &p, err);
		if (r < 0)
			goto fail;
		if (p.type == XCB_NONE) { /* a notification for a chunk we already read */
			clip_property_finish(&p);
			continue;
		}
		if (p.len == 0) { /* the end */
			clip_property_finish(&p);
			break;
		}
		if (p.format != format || (type != XCB_NONE && p.type != type)) {
			r = mxc_error_set(err, -EPROTO,
					  "the owner changed type or format during an INCR "
					  "transfer (type %u, format %u)",
					  p.type, p.format);
			clip_property_finish(&p);
			goto fail;
		}
		type = p.type;
		if (p.bytes_after > 0 || p.len > max - have) {
			r = mxc_error_set(err, -EFBIG,
					  "the owner sent more than %zu bytes with INCR", max);
			clip_property_finish(&p);
			goto fail;
		}
		if (have + p.len > cap) {
			size_t want = cap ? cap : INCR_FIRST_BUFFER;
			uint8_t *grown;

			while (want < have + p.len)
				want *= 2;
			if (want > max)
				want = max;
			grown = realloc(buf, want);
			if (!grown) {
				clip_property_finish(&p);
				r = mxc_error_set(err, -ENOMEM, "out of memory");
				goto fail;
			}
			buf = grown;
			cap = want;
		}
		memcpy(buf + have, p.value, p.len);
		have += p.len;
		clip_property_finish(&p);
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf) {
			r = mxc_error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	*ret_type = type;
	*ret = buf;
	*ret_len = have;
	return 0;

fail:
	free(buf);
	return r;
}

/*
 * Asks the owner of CLIPBOARD to convert it to target and reads the answer: items of format
 * bits, at most max bytes, by the deadline. -ENODATA when the owner refuses.
 */
static int read_selection(struct mxc_clipboard *c, xcb_atom_t target, uint8_t format, size_t max,
			  uint64_t deadline, xcb_atom_t *ret_type, uint8_t **ret, size_t *ret_len,
			  struct mxc_error *err)
{
	struct clip_request *q = &c->req;
	struct clip_property p = {0};
	int r;

	*q = (struct clip_request){
	    .active = true,
	    .target = target,
	    .property = c->atoms[ATOM_PROP0 + c->next_prop++ % N_REQUEST_PROPS],
	};
	xcb_convert_selection(c->conn, c->window, c->atoms[ATOM_CLIPBOARD], target, q->property,
			      XCB_CURRENT_TIME);
	r = clip_wait(c, answered, deadline, "answer from the clipboard's owner", err);
	if (r < 0)
		goto out;
	if (q->answer == XCB_NONE) {
		r = mxc_error_set(err, -ENODATA, "the owner refused the conversion");
		goto out;
	}
	/* Not deleted yet: deleting an INCR property would start a transfer we may refuse. */
	r = clip_get_property(c, c->window, q->property, false, long_length_for(max), &p, err);
	if (r < 0)
		goto out;
	if (p.type == XCB_NONE) {
		r = mxc_error_set(err, -EPROTO, "the owner's answer was gone before it was read");
		goto out;
	}
	if (p.type == c->atoms[ATOM_INCR]) {
		uint32_t size = 0;

		/*
		 * A lower bound by ICCCM: enough to refuse, never a size to allocate. Some owners
		 * (xclip) announce no size at all.
		 */
		if (p.format == 32 && p.len >= sizeof(size))
			memcpy(&size, p.value, sizeof(size));
		if (size > max) {
			r = mxc_error_set(err, -EFBIG,
					  "the owner announces %u bytes (at most %zu accepted)",
					  size, max);
			goto out;
		}
		clip_property_finish(&p);
		r = read_incr(c, format, max, deadline, ret_type, ret, ret_len, err);
		goto out;
	}
	xcb_delete_property(c->conn, c->window, q->property);
	if (p.format != format) {
		r = mxc_error_set(err, -EPROTO, "the owner answered with format %u (expected %u)",
				  p.format, format);
		goto out;
	}
	if (p.bytes_after > 0 || p.len > max) {
		r = mxc_error_set(err, -EFBIG, "the owner's answer is larger than %zu bytes", max);
		goto out;
	}
	*ret_type = p.type;
	*ret_len = p.len;
	*ret = take_value(&p);
out:
	clip_property_finish(&p);
	q->active = false;
	return r;
}

/* The owner's TARGETS, into *ret (free with free()). */
static int read_targets(struct mxc_clipboard *c, uint64_t deadline, xcb_atom_t **ret, size_t *ret_n,
			struct mxc_error *err)
{
	uint8_t *data;
	size_t len;
	xcb_atom_t type;
	int r;

	r = read_selection(c, c->atoms[ATOM_TARGETS], 32,
			   MXC_CLIPBOARD_MAX_TARGETS * sizeof(xcb_atom_t), deadline, &type, &data,
			   &len, err);
	if (r < 0)
		return mxc_error_prefix(err, "failed to read the owner's TARGETS");
	/* ATOM by ICCCM; some toolkits say TARGETS. */
	if (type != XCB_ATOM_ATOM && type != c->atoms[ATOM_TARGETS]) {
		free(data);
		return mxc_error_set(err, -EPROTO, "the owner answered TARGETS with type %u", type);
	}
	*ret = (xcb_atom_t *)data;
	*ret_n = len / sizeof(xcb_atom_t);
	return 0;
}

static const struct clip_name *find_name(const struct mxc_clipboard *c, xcb_atom_t atom)
{
	for (size_t i = 0; i < c->n_names; i++)
		if (c->names[i].atom == atom)
			return &c->names[i];
	return NULL;
}

static void clear_names(struct mxc_clipboard *c)
{
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i].mime);
	c->n_names = 0;
}

/*
 * Learns (GetAtomName, all requests first, then the replies) what the atoms not yet in the
 * cache stand for. Atoms never change their name while the server runs, so the cache holds.
 */
static int resolve_names(struct mxc_clipboard *c, const xcb_atom_t *atoms, size_t n,
			 struct mxc_error *err)
{
	xcb_get_atom_name_cookie_t *cookies;
	xcb_atom_t *asked;
	size_t n_asked = 0;
	int r = 0;

	_Static_assert(MXC_CLIPBOARD_MAX_TARGETS <= CLIP_NAME_CACHE, "cache holds a whole list");
	if (n > MXC_CLIPBOARD_MAX_TARGETS)
		n = MXC_CLIPBOARD_MAX_TARGETS;
	cookies = calloc(n ? n : 1, sizeof(*cookies));
	asked = calloc(n ? n : 1, sizeof(*asked));
	if (!cookies || !asked) {
		r = mxc_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool dup = atoms[i] == XCB_NONE || find_name(c, atoms[i]);

		for (size_t k = 0; k < n_asked && !dup; k++)
			dup = asked[k] == atoms[i];
		if (dup)
			continue;
		asked[n_asked] = atoms[i];
		cookies[n_asked++] = xcb_get_atom_name(c->conn, atoms[i]);
	}
	if (c->n_names + n_asked > CLIP_NAME_CACHE)
		clear_names(c);
	for (size_t k = 0; k < n_asked; k++) {
		xcb_get_atom_name_reply_t *reply = NULL;
		struct clip_name *name = &c->names[c->n_names];
		char mime[MXC_CLIPBOARD_MAX_MIME + 1];
		struct mxc_error e = {0};
		int rank = -1;

		r = clip_wait_reply(c, cookies[k].sequence, "GetAtomName", (void **)&reply, &e);
		if (r < 0 && c->broken) {
			if (err)
				*err = e;
			goto out;
		}
		*name = (struct clip_name){.atom = asked[k], .text_rank = -1};
		c->n_names++;
		r = 0;
		if (!reply) /* BadAtom: a target that stands for nothing */
			continue;
		if ((size_t)reply->name_len <= 4 * (size_t)reply->length &&
		    clip_mime_of_target(xcb_get_atom_name_name(reply), reply->name_len, mime,
					&rank)) {
			name->mime = strdup(mime);
			name->text_rank = rank;
			if (!name->mime)
				r = mxc_error_set(err, -ENOMEM, "out of memory");
		}
		free(reply);
		if (r < 0)
			goto out;
	}
out:
	free(cookies);
	free(asked);
	return r;
}

static bool strv_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (mxc_streq(v[i], s))
			return true;
	return false;
}

/* Appends a copy of s to the NULL-terminated *v of *n entries unless it's there already. */
static int strv_add(char ***v, size_t *n, const char *s)
{
	char **grown;

	if (strv_has(*v, *n, s))
		return 0;
	grown = realloc(*v, (*n + 2) * sizeof(**v));
	if (!grown)
		return -ENOMEM;
	*v = grown;
	grown[*n] = strdup(s);
	if (!grown[*n])
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

int mxc_clipboard_targets(struct mxc_clipboard *c, char ***ret, struct mxc_error *err)
{
	uint64_t deadline = clip_deadline(c);
	struct mxc_sigpipe_guard guard;
	xcb_atom_t *atoms = NULL;
	xcb_window_t owner;
	char **list = NULL;
	size_t n = 0, n_atoms = 0;
	int r;

	if (c->broken)
		return mxc_error_set(err, -EIO,
				     "failed to list the clipboard's types: the "
				     "connection to the display failed earlier");
	if (c->req.active)
		return mxc_error_set(err, -EBUSY,
				     "failed to list the clipboard's types: a read "
				     "is in progress");
	mxc_sigpipe_block(&guard);
	list = calloc(1, sizeof(*list));
	if (!list) {
		r = mxc_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = clip_selection_owner(c, &owner, err);
	if (r < 0)
		goto out;
	if (owner == XCB_NONE) {
		r = mxc_error_set(err, -ENOENT, "nobody owns the clipboard");
		goto out;
	}
	if (owner == c->window && c->offer) {
		r = strv_add(&list, &n, c->offer->mime) < 0
			? mxc_error_set(err, -ENOMEM, "out of memory")
			: 0;
		goto out;
	}
	r = read_targets(c, deadline, &atoms, &n_atoms, err);
	if (r == -ENODATA)
		mxc_error_set(err, r, "the owner doesn't list its targets");
	if (r < 0)
		goto out;
	r = resolve_names(c, atoms, n_atoms, err);
	for (size_t i = 0; i < n_atoms && r >= 0; i++) {
		const struct clip_name *name = find_name(c, atoms[i]);

		if (name && name->mime && strv_add(&list, &n, name->mime) < 0)
			r = mxc_error_set(err, -ENOMEM, "out of memory");
	}
out:
	mxc_sigpipe_restore(&guard);
	free(atoms);
	if (r < 0) {
		mxc_strv_free(list);
		return mxc_error_prefix(err, "failed to list the clipboard's types");
	}
	*ret = list;
	return 0;
}

/* The best target the owner offers for mime (XCB_NONE: none). */
static xcb_atom_t choose_target(const struct mxc_clipboard *c, const char *mime,
				const xcb_atom_t *atoms, size_t n)
{
	xcb_atom_t best = XCB_NONE;
	int best_rank = 0;

	for (size_t i = 0; i < n; i++) {
		const struct clip_name *name = find_name(c, atoms[i]);

		if (!name || !mxc_streq(name->mime, mime))
			continue;
		if (best == XCB_NONE || name->text_rank < best_rank) {
			best = atoms[i];
			best_rank = name->text_rank;
		}
	}
	return best;
}

/* Checks and converts the owner's answer (type, data) for mime; takes data either way. */
static int decode(struct mxc_clipboard *c, const char *mime, xcb_atom_t target, xcb_atom_t type,
		  uint8_t *data, size_t len, size_t max, uint8_t **ret, size_t *ret_len,
		  struct mxc_error *err)
{
	const xcb_atom_t *a = c->atoms;
	int r = 0;

	if (mxc_streq(mime, "text/plain")) {
		bool utf8 = type == a[ATOM_UTF8_STRING] || type == a[ATOM_TEXT_PLAIN_UTF8] ||
			    type == a[ATOM_TEXT_PLAIN] ||
			    (type == target && target != XCB_ATOM_STRING && target != a[ATOM_TEXT]);

		if (utf8) {
			if (!clip_utf8_valid(data, len))
				r = mxc_error_set(err, -EBADMSG, "the text is not valid UTF-8");
		} else if (type == XCB_ATOM_STRING) {
			uint8_t *converted;

			r = clip_latin1_to_utf8(data, len, max, &converted, &len);
			if (r == -EFBIG)
				r = mxc_error_set(err, r,
						  "the text is larger than %zu bytes "
						  "in UTF-8",
						  max);
			else if (r < 0)
				r = mxc_error_set(err, r, "out of memory");
			else {
				free(data);
				data = converted;
			}
		} else if (type == a[ATOM_COMPOUND_TEXT]) {
			/* ASCII without escape sequences reads the same in UTF-8. */
			for (size_t i = 0; i < len && r == 0; i++)
				if (data[i] >= 0x80 || data[i] == 0x1b)
					r = mxc_error_set(err, -EBADMSG,
							  "COMPOUND_TEXT beyond ASCII is not "
							  "supported");
		} else {
			r = mxc_error_set(err, -EPROTO, "the owner answered with type %u, not text",
					  type);
		}
	} else if (type != target) {
		r = mxc_error_set(err, -EPROTO, "the owner answered %u with type %u", target, type);
	} else if (mxc_streq(mime, "image/png") && !clip_png_signature(data, len)) {
		r = mxc_error_set(err, -EBADMSG, "the image is not a PNG file");
	}
	if (r < 0) {
		free(data);
		return r;
	}
	*ret = data;
	*ret_len = len;
	return 0;
}

/* Our own offer, as mime. */
static int get_own(struct mxc_clipboard *c, const char *mime, size_t max, uint8_t **ret,
		   size_t *ret_len, struct mxc_error *err)
{
	const struct clip_offer *o = c->offer;
	uint8_t *copy;

	if (!mxc_streq(o->mime, mime))
		return mxc_error_set(err, -ENODATA, "the clipboard (ours) holds %s", o->mime);
	if (o->len > max)
		return mxc_error_set(err, -EFBIG, "the clipboard (ours) holds more than %zu bytes",
				     max);
	copy = malloc(o->len ? o->len : 1);
	if (!copy)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	if (o->len)
		memcpy(copy, o->data, o->len);
	*ret = copy;
	*ret_len = o->len;
	return 0;
}

/* The target to ask an owner without TARGETS for mime. */
static int fallback_target(struct mxc_clipboard *c, const char *mime, xcb_atom_t *ret,
			   struct mxc_error *err)
{
	xcb_intern_atom_cookie_t cookie;
	xcb_intern_atom_reply_t *reply;
	int r;

	if (mxc_streq(mime, "text/plain")) {
		*ret = c->atoms[ATOM_UTF8_STRING];
		return 0;
	}
	if (mxc_streq(mime, "image/png")) {
		*ret = c->atoms[ATOM_IMAGE_PNG];
		return 0;
	}
	/* Only if it exists: a name nobody interned is a target nobody offers. */
	cookie = xcb_intern_atom(c->conn, 1, (uint16_t)strlen(mime), mime);
	r = clip_wait_reply(c, cookie.sequence, "InternAtom", (void **)&reply, err);
	if (r < 0)
		return r;
	*ret = reply->atom;
	free(reply);
	return 0;
}

int mxc_clipboard_get(struct mxc_clipboard *c, const char *mime, size_t max, uint8_t **ret,
		      size_t *ret_len, struct mxc_error *err)
{
	uint64_t deadline = clip_deadline(c);
	struct mxc_sigpipe_guard guard;
	char type[MXC_CLIPBOARD_MAX_MIME + 1];
	xcb_atom_t *atoms = NULL, target = XCB_NONE, answer_type;
	size_t n_atoms = 0, len;
	bool listed = false;
	xcb_window_t owner;
	uint8_t *data;
	int r;

	if (!mime || !clip_mime_valid(mime))
		return mxc_error_set(err, -EINVAL,
				     "failed to read the clipboard: not a MIME "
				     "type (type/subtype)");
	clip_mime_lower(mime, type);
	if (max > MXC_CLIPBOARD_MAX_BYTES)
		max = MXC_CLIPBOARD_MAX_BYTES;
	if (c->broken) {
		r = mxc_error_set(err, -EIO, "the connection to the display failed earlier");
		goto out_msg;
	}
	if (c->req.active) {
		r = mxc_error_set(err, -EBUSY, "another read is in progress");
		goto out_msg;
	}
	mxc_sigpipe_block(&guard);
	r = clip_selection_owner(c, &owner, err);
	if (r < 0)
		goto out;
	if (owner == XCB_NONE) {
		r = mxc_error_set(err, -ENOENT, "nobody owns the clipboard");
		goto out;
	}
	if (owner == c->window && c->offer) {
		r = get_own(c, type, max, ret, ret_len, err);
		goto out;
	}
	r = read_targets(c, deadline, &atoms, &n_atoms, err);
	if (r == -ENODATA) {
		mxc_error_clear(err);
		r = fallback_target(c, type, &target, err);
	} else if (r >= 0) {
		listed = true;
		r = resolve_names(c, atoms, n_atoms, err);
		target = choose_target(c, type, atoms, n_atoms);
	}
	if (r < 0)
		goto out;
	if (target == XCB_NONE) {
		r = mxc_error_set(err, -ENODATA, "the owner doesn't offer it");
		goto out;
	}
	r = read_selection(c, target, 8, max, deadline, &answer_type, &data, &len, err);
	/* An owner without TARGETS may still have the text as STRING. */
	if (r == -ENODATA && !listed && target == c->atoms[ATOM_UTF8_STRING]) {
		mxc_error_clear(err);
		target = XCB_ATOM_STRING;
		r = read_selection(c, target, 8, max, deadline, &answer_type, &data, &len, err);
	}
	if (r < 0)
		goto out;
	r = decode(c, type, target, answer_type, data, len, max, ret, ret_len, err);
out:
	mxc_sigpipe_restore(&guard);
	free(atoms);
out_msg:
	if (r < 0)
		mxc_error_prefix(err, "failed to read the clipboard as %s", type);
	return r;
}
