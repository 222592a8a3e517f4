/* Shared between the files of clipboard/: the object, waiting, atoms, and the data checks. */
#ifndef MXC_CLIPBOARD_PRIVATE_H
#define MXC_CLIPBOARD_PRIVATE_H

#include <signal.h>
#include <xcb/xcb.h>

#include "clipboard.h"
#include "display-xcb.h"

/* Atoms interned at creation (the predefined STRING, ATOM and INTEGER come from xcb). */
enum clip_atom {
	ATOM_CLIPBOARD,
	ATOM_TARGETS,
	ATOM_TIMESTAMP,
	ATOM_MULTIPLE,
	ATOM_ATOM_PAIR,
	ATOM_INCR,
	ATOM_UTF8_STRING,
	ATOM_TEXT,
	ATOM_COMPOUND_TEXT,
	ATOM_TEXT_PLAIN_UTF8, /* text/plain;charset=utf-8 */
	ATOM_TEXT_PLAIN,
	ATOM_IMAGE_PNG,
	ATOM_STAMP, /* the property we append to on our window to learn the server's time */
	ATOM_PROP0, /* the properties our requests use, in turn: see struct clip_request */
	ATOM_PROP1,
	ATOM_PROP2,
	ATOM_PROP3,
	N_ATOMS,
};
#define N_REQUEST_PROPS 4

/* What the owner of a selection offers: one piece of data, shared with transfers under way. */
struct clip_offer {
	unsigned refs;
	char mime[MXC_CLIPBOARD_MAX_MIME + 1];
	bool text;
	xcb_atom_t mime_atom; /* the target of that name (text: ATOM_TEXT_PLAIN) */
	uint8_t *data;	      /* as given (text: UTF-8) */
	size_t len;
	uint8_t *latin1; /* text whose every character is in Latin-1, for STRING; else NULL */
	size_t latin1_len;
	xcb_atom_t targets[16];
	size_t n_targets;
};

/* An INCR transfer we serve: the requestor deletes the property, we write the next chunk. */
struct clip_transfer {
	bool active;
	xcb_window_t requestor;
	xcb_atom_t property, type;
	struct clip_offer *offer; /* holds a reference: the data stays while the transfer runs */
	const uint8_t *data;
	size_t len, offset;
	uint64_t deadline;
};

/*
 * The one request we have outstanding as a requestor (mxc_clipboard_get is synchronous). Each
 * request uses the next of N_REQUEST_PROPS properties on our window, so that a late answer to
 * an abandoned request (or the chunks of its INCR transfer) can't be taken for this one's.
 */
struct clip_request {
	bool active;
	xcb_atom_t target, property;
	bool notified;
	xcb_atom_t answer; /* the property from SelectionNotify; XCB_NONE when refused */
	unsigned new_values;
};

/* What GetAtomName said about a target: the MIME type it stands for, if any. */
struct clip_name {
	xcb_atom_t atom;
	char *mime;    /* NULL: not a MIME type */
	int text_rank; /* preference among text targets, 0 best; -1 when not text */
};
#define CLIP_NAME_CACHE MXC_CLIPBOARD_MAX_TARGETS

struct mxc_clipboard {
	struct mxc_display *display;
	xcb_connection_t *conn;
	xcb_window_t root, window;
	xcb_atom_t atoms[N_ATOMS];
	size_t max_chunk; /* the most data bytes one ChangeProperty carries on this server */
	int timeout_ms;
	bool broken; /* the connection failed: send nothing more */

	/* Ownership. */
	struct clip_offer *offer; /* NULL when we don't own the selection */
	xcb_timestamp_t own_time;
	struct clip_transfer transfers[MXC_CLIPBOARD_MAX_TRANSFERS];

	/* Requests. */
	struct clip_request req;
	unsigned next_prop;
	bool stamp_seen;
	xcb_timestamp_t stamp_time;

	struct clip_name names[CLIP_NAME_CACHE];
	size_t n_names;
};

/* clipboard.c */
uint64_t clip_deadline(const struct mxc_clipboard *c);
/* A display round trip for sequence; an X error becomes -EPROTO naming what. */
int clip_wait_reply(struct mxc_clipboard *c, unsigned sequence, const char *what, void **ret_reply,
		    struct mxc_error *err);
/* Dispatches the display's events until done(c) or the deadline (-ETIMEDOUT naming what). */
int clip_wait(struct mxc_clipboard *c, bool (*done)(const struct mxc_clipboard *c),
	      uint64_t deadline, const char *what, struct mxc_error *err);
/* The server's current time, learned from a PropertyNotify on our window. */
int clip_server_time(struct mxc_clipboard *c, uint64_t deadline, xcb_timestamp_t *ret,
		     struct mxc_error *err);
/* The owner of CLIPBOARD (XCB_NONE when nobody). */
int clip_selection_owner(struct mxc_clipboard *c, xcb_window_t *ret, struct mxc_error *err);

/* A property as read by GetProperty, checked against what the reply really holds. */
struct clip_property {
	xcb_get_property_reply_t *reply;
	xcb_atom_t type; /* XCB_NONE: no such property */
	uint8_t format;	 /* 8, 16 or 32; 0 when there's no property */
	const uint8_t *value;
	size_t len; /* bytes */
	uint32_t bytes_after;
};
int clip_get_property(struct mxc_clipboard *c, xcb_window_t window, xcb_atom_t property,
		      bool delete, uint32_t long_length, struct clip_property *ret,
		      struct mxc_error *err);
/* Frees the reply; the value pointer dies with it. */
void clip_property_finish(struct clip_property *p);

/* owner.c: the event handlers of the owner side, and cleanup. */
void clip_owner_selection_request(struct mxc_clipboard *c, const xcb_selection_request_event_t *ev);
void clip_owner_selection_clear(struct mxc_clipboard *c, const xcb_selection_clear_event_t *ev);
void clip_owner_property_notify(struct mxc_clipboard *c, const xcb_property_notify_event_t *ev);
void clip_owner_destroy_notify(struct mxc_clipboard *c, const xcb_destroy_notify_event_t *ev);
void clip_owner_error(struct mxc_clipboard *c, const xcb_generic_error_t *ev);
/* Drops transfers whose requestor stalled past its deadline. */
void clip_owner_expire(struct mxc_clipboard *c, uint64_t now);
/* Ends every transfer (unselecting their windows unless the connection failed). */
void clip_owner_finish(struct mxc_clipboard *c);
void clip_offer_unref(struct clip_offer *o);

/* mime.c */
/* Whether s is "type/subtype" of RFC 6838 restricted names, at most MXC_CLIPBOARD_MAX_MIME. */
bool clip_mime_valid(const char *s);
/* Lowercases a valid MIME type into out (MXC_CLIPBOARD_MAX_MIME + 1 bytes). */
void clip_mime_lower(const char *s, char *out);
/*
 * The MIME type a target's atom name stands for (see mxc_clipboard_targets), into out
 * (MXC_CLIPBOARD_MAX_MIME + 1 bytes), with its rank among text targets (-1 when not text).
 * false when the name stands for none. name is len bytes, not terminated.
 */
bool clip_mime_of_target(const char *name, size_t len, char *out, int *ret_text_rank);
bool clip_utf8_valid(const uint8_t *s, size_t len);
/* Latin-1 bytes to UTF-8; -EFBIG when the result would exceed max. */
int clip_latin1_to_utf8(const uint8_t *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len);
/* Valid UTF-8 to Latin-1: 0, 1 when a character is outside Latin-1, -ENOMEM. */
int clip_utf8_to_latin1(const uint8_t *s, size_t len, uint8_t **ret, size_t *ret_len);
bool clip_png_signature(const uint8_t *s, size_t len);

#endif
