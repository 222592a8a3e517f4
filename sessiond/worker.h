/*
 * Blocking work (account tools, directory searches) runs in a forked worker process so the
 * event loop never waits on it. The worker reports a status, a message and an optional JSON
 * result through a pipe; done() runs in the daemon when the worker has exited.
 */
#ifndef MXC_SESSIOND_WORKER_H
#define MXC_SESSIOND_WORKER_H

#include <json-c/json.h>

#include "error.h"
#include "loop.h"

/* Runs in the worker. Must not touch the daemon's database or sockets. */
typedef int (*mxc_work_fn)(void *data, struct json_object **ret_result, struct mxc_error *err);
/* Runs in the daemon; result may be NULL and is owned by the callee. */
typedef void (*mxc_work_done_fn)(int r, struct json_object *result, const struct mxc_error *err,
				 void *data);

int mxc_worker_run(struct mxc_loop *loop, mxc_work_fn work, mxc_work_done_fn done, void *data,
		   struct mxc_error *err);

#endif
