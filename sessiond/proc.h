/* Process plumbing: clone with a pidfd, child hygiene, /proc facts. */
#ifndef MXC_SESSIOND_PROC_H
#define MXC_SESSIOND_PROC_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Like fork(), also creating the namespaces in flags (CLONE_NEW*) and returning a pidfd for
 * the child through ret_pidfd. Returns 0 in the child, the child's pid in the parent, or a
 * negative errno. Only for a single-threaded caller.
 */
pid_t mxc_clone(uint64_t flags, int *ret_pidfd);
/* In a fresh child: default signal dispositions and an empty signal mask. */
void mxc_child_reset_signals(void);
/*
 * In a child about to exec: fds[i] becomes descriptor i (i < n); each keep[j] is moved above
 * them (and updated) close-on-exec; every other descriptor is marked close-on-exec.
 */
int mxc_child_arrange_fds(const int *fds, size_t n, int *keep, size_t n_keep);
/* Closes every descriptor except those in keep. */
void mxc_close_all_except(const int *keep, size_t n);
/* The start time of a process in clock ticks since boot (/proc/PID/stat field 22);
 * -ESRCH for a process that is gone, zombies included. */
int mxc_proc_starttime(pid_t pid, uint64_t *ret);
/* 128+signal for a signal death, the exit status otherwise. */
int mxc_wait_status_code(int code, int status);

#endif
