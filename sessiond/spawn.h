/*
 * Starting a process inside a running session: a short-lived root process enters the
 * session's namespaces through the leader's pidfd, forks the command as the agent (so it
 * lives in the session's PID namespace) and waits for it, exiting with its status. The
 * command dies with that process, which dies with the daemon.
 */
#ifndef MXC_SESSIOND_SPAWN_H
#define MXC_SESSIOND_SPAWN_H

#include <stdint.h>

#include "error.h"

struct mxc_spawn {
	int leader_pidfd;  /* whose namespaces to enter */
	uint32_t uid, gid;
	const uint32_t *groups;
	size_t n_groups;
	int exe_fd;        /* program to run (O_PATH), or -1 to look argv[0] up in PATH */
	char *const *argv;
	char *const *envp;
	const char *cwd;   /* falls back to / when it cannot be entered */
	const int *fds;    /* become descriptors 0..n_fds-1 of the command */
	size_t n_fds;
	uint64_t nproc;    /* RLIMIT_NPROC for the command (the agent uid's process limit) */
	/*
	 * Detached: the command is started in a new session (setsid), becomes a child of the
	 * session's pid 1 and survives the daemon; the waiting process exits as soon as it has
	 * been executed (0) or could not be (127, 126). Its output goes to output (a path
	 * inside the session, appended to) if set.
	 */
	bool detach;
	const char *output;
};

/* The status of a process that could not be started at all. */
#define MXC_SPAWN_FAILED 125
#define MXC_SPAWN_NOT_FOUND 127

/*
 * Returns the pidfd of the waiting process. Its exit status is the command's: the exit
 * code, 128+N when killed by signal N, 127 when the command could not be executed (the
 * reason is written to the command's descriptor 2) and 125 when the session could not be
 * entered.
 */
int mxc_spawn_in_session(const struct mxc_spawn *sp, int *ret_pidfd, struct mxc_error *err);

#endif
