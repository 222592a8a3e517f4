/*
 * The CLIPBOARD selection of an X display: what its owner offers, reading it as text or an
 * image, and owning it with data of our own (ICCCM 2.0 selections, with INCR both ways).
 *
 * Data is named by MIME type. "text/plain" is UTF-8 text: read from UTF8_STRING,
 * text/plain;charset=utf-8, STRING (Latin-1, converted), text/plain or TEXT, and offered under
 * all of those. "image/png" is a PNG file. Other types ("text/html", ...) pass through as bytes
 * under the target of that name. A MIME type here is "type/subtype", RFC 6838 restricted names,
 * compared case-insensitively, at most MXC_CLIPBOARD_MAX_MIME bytes.
 *
 * Trust: the other clients of the display (the selection's owner, whoever asks us for ours) and
 * the server itself are hostile. Every reply and property is checked (type, format, sizes);
 * nothing is allocated beyond the caller's limit (at most MXC_CLIPBOARD_MAX_BYTES) whatever a
 * peer announces; text is checked to be UTF-8 and images to be PNG; every wait has a deadline,
 * including a whole INCR transfer, so a peer that answers slowly or never can't hold us. A
 * requestor that stops taking the chunks of an INCR transfer is dropped after the timeout.
 *
 * Events: the object registers a handler on the display. It answers requests for the selection
 * it owns, and notices losing it, only while the display's events are dispatched: either the
 * caller's loop calls mxc_display_dispatch (see display-xcb.h: whenever the display's fd is
 * readable, and before every poll), or the caller waits in mxc_clipboard_serve_until_cleared.
 * mxc_clipboard_get and the other calls that wait dispatch too, so other modules' handlers may
 * run inside them (and theirs, ours).
 *
 * Where this may block: xcb writes without a deadline. Data goes out in requests of at most the
 * server's maximum request size (256 KiB on Xvfb), so a server that stops reading can block a
 * write once the socket buffer is full, as for every module on the connection (display.h).
 *
 * Not thread-safe; use from the display's thread. Calls block SIGPIPE while they write and
 * consume the one a dead server raises.
 */
#ifndef MXC_CLIPBOARD_CLIPBOARD_H
#define MXC_CLIPBOARD_CLIPBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display.h"
#include "error.h"

/* The most any transfer carries, either way (the policy's MXC_POLICY_CLIPBOARD_MAX_BYTES). */
#define MXC_CLIPBOARD_MAX_BYTES (64u << 20)
/* Longest MIME type accepted or listed. */
#define MXC_CLIPBOARD_MAX_MIME 255
/* Most targets read from an owner's TARGETS list (a longer list is refused with -EFBIG). */
#define MXC_CLIPBOARD_MAX_TARGETS 1024
/* Most INCR transfers served at once; a further requestor that needs one is refused. */
#define MXC_CLIPBOARD_MAX_TRANSFERS 8
/* Most (target, property) pairs answered in one MULTIPLE request. */
#define MXC_CLIPBOARD_MAX_MULTIPLE 64
/* Default for mxc_clipboard_set_timeout: the display's default round-trip timeout. */
#define MXC_CLIPBOARD_DEFAULT_TIMEOUT_MS MXC_DISPLAY_DEFAULT_TIMEOUT_MS

struct mxc_clipboard;

/*
 * Binds a clipboard to d, which must outlive it: interns the atoms it needs, creates an
 * unmapped window of its own (the requestor and owner of its transfers) and registers its
 * event handler. One per display connection is enough. Several may coexist and transfer
 * between them, but X tells no client that another window of its own took a selection, so
 * mxc_clipboard_owned stays true for the one that lost it to a sibling on the same connection.
 * Errors: the display's connection errors, -EPROTO (a server whose maximum request size is
 * below the protocol's minimum), -ENOSPC (no event handler slot left), -ENOMEM.
 */
int mxc_clipboard_create(struct mxc_display *d, struct mxc_clipboard **ret, struct mxc_error *err);

/*
 * Unregisters, destroys the window (which gives up the selection if we own it, and ends every
 * transfer in progress) and frees. Accepts NULL. Sends nothing when the connection failed.
 */
void mxc_clipboard_destroy(struct mxc_clipboard *c);

/*
 * How long (milliseconds, >= 1) mxc_clipboard_get, mxc_clipboard_targets and mxc_clipboard_set
 * may take altogether, and how long a requestor may take to ask for the next chunk of an INCR
 * transfer we serve. The round trips inside these calls also obey the display's own timeout
 * (mxc_display_set_timeout), so a call ends at most that much after its deadline.
 */
void mxc_clipboard_set_timeout(struct mxc_clipboard *c, int timeout_ms);

/*
 * The MIME types the current owner offers, from its TARGETS, in its order without duplicates,
 * as a NULL-terminated vector (free with mxc_strv_free), possibly empty. UTF8_STRING, STRING,
 * TEXT, text/plain and text/plain;charset=utf-8 all appear as "text/plain"; names that look like
 * MIME types appear lowercased (with a ";charset=utf-8" parameter dropped; any other parameter
 * excludes the name); everything else (TARGETS, TIMESTAMP, SAVE_TARGETS, COMPOUND_TEXT, ...)
 * is left out.
 * Errors: -ENOENT (nobody owns the clipboard), -ENODATA (the owner doesn't list its targets),
 * -ETIMEDOUT (the owner didn't answer in time), -EPROTO (a malformed answer), the display's
 * connection errors, -ENOMEM.
 */
int mxc_clipboard_targets(struct mxc_clipboard *c, char ***ret, struct mxc_error *err);

/*
 * Reads the clipboard as mime into a new buffer (*ret, free with free(); never NULL on success,
 * even for 0 bytes) of *ret_len bytes, at most max (capped at MXC_CLIPBOARD_MAX_BYTES). The
 * owner's target is chosen from its TARGETS (for text: UTF8_STRING first, then
 * text/plain;charset=utf-8, STRING, text/plain, TEXT); when it has no TARGETS the usual target
 * is tried directly. "text/plain" comes back as valid UTF-8 (Latin-1 STRING converted, ASCII-only
 * COMPOUND_TEXT accepted); "image/png" starts with the PNG signature. When we own the clipboard
 * ourselves the data comes from memory.
 * Errors: -ENOENT (nobody owns it), -ENODATA (the owner doesn't offer mime or refused to convert),
 * -EFBIG (more than max bytes, or an INCR transfer announcing more: refused before anything is
 * allocated), -EBADMSG (text that isn't UTF-8, an image that isn't PNG), -EPROTO (an answer of
 * the wrong type or format, data deleted before we read it), -ETIMEDOUT (no complete answer
 * within the timeout), -EINVAL (mime), -EBUSY (called from an event handler), the display's
 * connection errors, -ENOMEM.
 */
int mxc_clipboard_get(struct mxc_clipboard *c, const char *mime, size_t max, uint8_t **ret,
		      size_t *ret_len, struct mxc_error *err);

/*
 * Takes ownership of the clipboard with a copy of data (len bytes, at most
 * MXC_CLIPBOARD_MAX_BYTES) as mime, replacing what we offered before. Offers TARGETS, TIMESTAMP
 * and MULTIPLE, plus for "text/plain" (which must be valid UTF-8): UTF8_STRING,
 * text/plain;charset=utf-8, text/plain, TEXT and, when every character is in Latin-1, STRING;
 * for "image/png" (which must start with the PNG signature) and any other type: the target of
 * that name. Requests are served as events are dispatched; data larger than the server's maximum
 * request size goes out with INCR. MULTIPLE is answered for every pair that fits without INCR
 * (the others get None, as ICCCM allows).
 * Errors: -EINVAL (mime), -EFBIG, -EBADMSG (text not UTF-8, image not PNG), -EBUSY (another
 * client took the selection at the same moment), -ETIMEDOUT, the display's connection errors,
 * -ENOMEM.
 */
int mxc_clipboard_set(struct mxc_clipboard *c, const char *mime, const uint8_t *data, size_t len,
		      struct mxc_error *err);

/*
 * Whether we own the clipboard: true after mxc_clipboard_set, false once a dispatched
 * SelectionClear says another client took it (from then on our data is not served, except to
 * INCR transfers already under way, which finish).
 */
bool mxc_clipboard_owned(const struct mxc_clipboard *c);

/* INCR transfers we are serving (each ends, at the latest, timeout after its last progress). */
unsigned mxc_clipboard_transfers(struct mxc_clipboard *c);

/*
 * For a program that owns the clipboard and has nothing else to do (the CLI, like xclip):
 * dispatches the display's events until we no longer own the selection and no INCR transfer is
 * under way (at once when that is already so). timeout_ms < 0 waits as long as that takes.
 * 0 then, -ETIMEDOUT when timeout_ms passed first, or a connection error (the server exiting
 * ends the wait with -ECONNRESET).
 */
int mxc_clipboard_serve_until_cleared(struct mxc_clipboard *c, int timeout_ms,
				      struct mxc_error *err);

#endif
