/*
 * The wire protocol: JSON over a Unix stream socket, one request per line, one response per
 * line. File descriptors (a client's stdio for exec, a screenshot's memfd) travel as
 * SCM_RIGHTS attached to the first byte of the line they belong to.
 *
 *   request:  {"v":1,"verb":"session.start","args":{...}}
 *   success:  {"v":1,"ok":true,"result":{...},"fds":N}
 *   failure:  {"v":1,"ok":false,"error":{"code":"ENOENT","message":"..."}}
 *
 * The same framing carries the daemon's private channel to each session's helper.
 */
#ifndef MXC_COMMON_PROTO_H
#define MXC_COMMON_PROTO_H

#include <json-c/json.h>

#include "error.h"

#define MXC_PROTO_VERSION 1
/*
 * Longest request line the daemon accepts: room for a 1 MiB policy, JSON-escaped. Bulk
 * data (screenshots, documents) travels as file descriptors.
 */
#define MXC_PROTO_MAX_LINE (3u * 1024u * 1024u)
/* Longest response line a client accepts (a long audit listing). */
#define MXC_PROTO_MAX_RESPONSE (64u * 1024u * 1024u)
#define MXC_PROTO_MAX_FDS 4

/*
 * Buffered, line-oriented reader that also collects passed file descriptors, each with the
 * line it belongs to. A sender attaches descriptors to the first byte of their line and
 * sends that line with its own sendmsg(); the kernel ends a read right after the message
 * that carries descriptors, so they belong to the last line that begins in that read, even
 * when earlier lines without descriptors were read together with it.
 */
struct mxc_reader {
	char *buf;
	size_t len;      /* bytes buffered */
	size_t consumed; /* bytes of buf already returned as lines */
	size_t cap;
	size_t max_line;
	uint64_t base;   /* stream offset of buf[0] */
	uint64_t line;   /* stream offset of the line last returned, UINT64_MAX before any */
	int fds[2 * MXC_PROTO_MAX_FDS];
	uint64_t fd_lines[2 * MXC_PROTO_MAX_FDS]; /* stream offset of each descriptor's line */
	size_t n_fds;
};

void mxc_reader_init(struct mxc_reader *r, size_t max_line);
/* Frees the buffer and closes every fd not yet taken. */
void mxc_reader_finish(struct mxc_reader *r);
/*
 * One recvmsg() from sock. Returns bytes read (> 0), 0 at end of stream, -EAGAIN, or
 * -errno; -EMSGSIZE when more than max_line bytes arrive without a newline and -ETOOMANYREFS
 * when a message carries more descriptors than the reader holds.
 */
int mxc_reader_fill(struct mxc_reader *r, int sock);
/*
 * Returns 1 and the next complete line (NUL-terminated, newline stripped, valid until the
 * next call), 0 if no complete line is buffered, -EMSGSIZE if the line is too long.
 */
int mxc_reader_line(struct mxc_reader *r, char **ret_line, size_t *ret_len);
/*
 * Hands over up to max descriptors that came with the line mxc_reader_line() returned last,
 * oldest first. Returns how many.
 */
size_t mxc_reader_take_fds(struct mxc_reader *r, int *fds, size_t max);
/*
 * Closes the descriptors nobody took of the lines returned so far; those of lines still
 * buffered stay for them.
 */
void mxc_reader_drop_fds(struct mxc_reader *r);

/* Queue of outgoing lines for a non-blocking socket. Owns the queued descriptors. */
struct mxc_outq {
	struct mxc_chunk *head, *tail;
	size_t bytes;
};

int mxc_outq_push(struct mxc_outq *q, const char *data, size_t len, const int *fds, size_t n_fds);
/* Sends what the socket takes: 0 when empty, -EAGAIN when data remains, -errno on failure. */
int mxc_outq_flush(struct mxc_outq *q, int sock);
void mxc_outq_finish(struct mxc_outq *q);

/* Blocking send of a whole buffer, with fds attached to its first byte. */
int mxc_send_all(int sock, const char *data, size_t len, const int *fds, size_t n_fds);
/* Blocking: serialises obj, appends a newline and sends it with fds. */
int mxc_send_json(int sock, struct json_object *obj, const int *fds, size_t n_fds);
/*
 * Blocking: reads one line from sock through r and parses it as a JSON object.
 * -ECONNRESET at end of stream.
 */
int mxc_recv_json(struct mxc_reader *r, int sock, struct json_object **ret, struct mxc_error *err);

/* Builds {"v":1,"verb":verb,"args":args}; takes ownership of args (NULL -> {}). */
struct json_object *mxc_proto_request(const char *verb, struct json_object *args);
/* Builds a success response; takes ownership of result (NULL -> {}). */
struct json_object *mxc_proto_ok(struct json_object *result, size_t n_fds);
/* Builds a failure response from a negative errno and a message. */
struct json_object *mxc_proto_error(int code, const char *message);

/*
 * Checks a request: a JSON object with a supported "v", a string "verb" and an optional
 * object "args". ret_args may be NULL when the request has none.
 */
int mxc_proto_parse_request(struct json_object *req, const char **ret_verb,
			    struct json_object **ret_args, struct mxc_error *err);
/*
 * Checks a response. On success returns 0 with result and the count of passed fds; on a
 * failure response returns the negative errno it carries and its message in err.
 */
int mxc_proto_parse_response(struct json_object *resp, struct json_object **ret_result,
			     size_t *ret_n_fds, struct mxc_error *err);

/* "ENOENT" for -ENOENT and back; unknown names map to -EIO. */
const char *mxc_errno_name(int code);
int mxc_errno_from_name(const char *name);

#endif
