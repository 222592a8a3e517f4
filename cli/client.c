#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "client.h"
#include "config.h"
#include "json.h"

int mxc_conn_open(struct mxc_conn *c, const char *path, struct mxc_error *err)
{
	/* Closing a connection that failed to open is then harmless. */
	c->fd = -1;
	mxc_reader_init(&c->in, MXC_PROTO_MAX_RESPONSE);
	if (!path)
		path = getenv("MXC_SOCKET");
	if (!path || !*path)
		path = MXC_SOCKET_PATH;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path))
		return mxc_error_set(err, -ENAMETOOLONG, "socket path '%s' is too long", path);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return mxc_error_errno(err, -errno, "failed to create a socket");
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = -errno;
		close(c->fd);
		c->fd = -1;
		return mxc_error_errno(err, r, "cannot reach mxc-sessiond at '%s'%s", path,
				       r == -ENOENT || r == -ECONNREFUSED ? " (is it running?)" : "");
	}
	return 0;
}

void mxc_conn_close(struct mxc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	mxc_reader_finish(&c->in);
}

int mxc_conn_send(struct mxc_conn *c, const char *verb, struct json_object *args, const int *fds,
		  size_t n_fds, struct mxc_error *err)
{
	struct json_object *req = mxc_proto_request(verb, args);
	int r = mxc_send_json(c->fd, req, fds, n_fds);
	json_object_put(req);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to send the request to mxc-sessiond");
	return 0;
}

int mxc_conn_recv(struct mxc_conn *c, struct json_object **ret_resp,
		  struct json_object **ret_result, int *ret_fds, size_t max_fds, size_t *ret_n_fds,
		  struct mxc_error *err)
{
	struct json_object *resp = NULL, *result = NULL;
	size_t announced = 0;
	int r = mxc_recv_json(&c->in, c->fd, &resp, err);
	if (r == -ECONNRESET)
		return mxc_error_set(err, r, "mxc-sessiond closed the connection");
	if (r < 0)
		return r;
	r = mxc_proto_parse_response(resp, &result, &announced, err);
	size_t n = 0;
	if (r == 0 && ret_fds)
		n = mxc_reader_take_fds(&c->in, ret_fds, max_fds);
	mxc_reader_drop_fds(&c->in);
	if (r < 0) {
		json_object_put(resp);
		return r;
	}
	if (n < announced && max_fds >= announced) {
		for (size_t i = 0; i < n; i++)
			close(ret_fds[i]);
		json_object_put(resp);
		return mxc_error_set(err, -EBADMSG, "the response lacks its file descriptors");
	}
	if (ret_n_fds)
		*ret_n_fds = n;
	*ret_resp = resp;
	if (ret_result)
		*ret_result = result;
	return 0;
}

int mxc_conn_request(const char *socket_path, const char *verb, struct json_object *args,
		     const int *fds, size_t n_fds, struct json_object **ret_resp,
		     struct json_object **ret_result, int *ret_fds, size_t max_fds,
		     size_t *ret_n_fds, struct mxc_error *err)
{
	struct mxc_conn c;
	int r = mxc_conn_open(&c, socket_path, err);
	if (r < 0)
		json_object_put(args);
	else if ((r = mxc_conn_send(&c, verb, args, fds, n_fds, err)) == 0)
		r = mxc_conn_recv(&c, ret_resp, ret_result, ret_fds, max_fds, ret_n_fds, err);
	mxc_conn_close(&c);
	return r;
}
