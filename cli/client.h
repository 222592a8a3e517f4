/* The CLI's side of the wire protocol. */
#ifndef MXC_CLI_CLIENT_H
#define MXC_CLI_CLIENT_H

#include "proto.h"

struct mxc_conn {
	int fd;
	struct mxc_reader in;
};

/* Connects to path, or to $MXC_SOCKET, or to the default socket. c may be closed even after
 * a failure. */
int mxc_conn_open(struct mxc_conn *c, const char *path, struct mxc_error *err);
void mxc_conn_close(struct mxc_conn *c);
/* Sends a request; takes ownership of args; fds are attached, not closed. */
int mxc_conn_send(struct mxc_conn *c, const char *verb, struct json_object *args, const int *fds,
		  size_t n_fds, struct mxc_error *err);
/*
 * Waits for the response. On success *ret_resp owns *ret_result and *ret_fds receives up to
 * max_fds descriptors (others are closed). A failure response returns its negative errno.
 */
int mxc_conn_recv(struct mxc_conn *c, struct json_object **ret_resp,
		  struct json_object **ret_result, int *ret_fds, size_t max_fds, size_t *ret_n_fds,
		  struct mxc_error *err);
/*
 * One request on a connection of its own: connects, sends verb with args (always consumed)
 * and fds (not closed), waits for the answer, disconnects. Up to max_fds descriptors of the
 * answer go to ret_fds (may be NULL with max_fds 0).
 */
int mxc_conn_request(const char *socket_path, const char *verb, struct json_object *args,
		     const int *fds, size_t n_fds, struct json_object **ret_resp,
		     struct json_object **ret_result, int *ret_fds, size_t max_fds,
		     size_t *ret_n_fds, struct mxc_error *err);

#endif
