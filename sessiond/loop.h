/*
 * The daemon's one event loop: epoll over sockets, pipes, pidfds (child exits), timerfds
 * and a signalfd. Sources may be removed from inside any callback, including their own.
 */
#ifndef MXC_SESSIOND_LOOP_H
#define MXC_SESSIOND_LOOP_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

struct mxc_loop;
struct mxc_source;

typedef void (*mxc_fd_fn)(struct mxc_source *src, int fd, uint32_t events, void *data);
/* code is the exit status (si_code CLD_EXITED) or the signal (CLD_KILLED/CLD_DUMPED); for a
 * process that is not our child (adopted after a restart) si_code is 0 and status unknown. */
typedef void (*mxc_exit_fn)(struct mxc_source *src, const siginfo_t *info, void *data);
typedef void (*mxc_timer_fn)(struct mxc_source *src, void *data);
typedef void (*mxc_signal_fn)(struct mxc_loop *loop, int signo, void *data);

int mxc_loop_create(struct mxc_loop **ret);
void mxc_loop_destroy(struct mxc_loop *loop);
/* Runs until mxc_loop_quit(); returns the code given to it. */
int mxc_loop_run(struct mxc_loop *loop);
void mxc_loop_quit(struct mxc_loop *loop, int code);

/* Blocks the signals and delivers them through a signalfd. */
int mxc_loop_add_signals(struct mxc_loop *loop, const int *signals, size_t n, mxc_signal_fn fn,
			 void *data);

/* Watches fd (not owned: the caller closes it after removing the source). */
struct mxc_source *mxc_loop_add_fd(struct mxc_loop *loop, int fd, uint32_t events, mxc_fd_fn fn,
				   void *data);
int mxc_source_set_events(struct mxc_source *src, uint32_t events);

/* Watches a process through its pidfd, which the source owns and closes; reaps it. */
struct mxc_source *mxc_loop_add_pidfd(struct mxc_loop *loop, int pidfd, mxc_exit_fn fn,
				      void *data);
/* The descriptor a source watches (its pidfd for a pidfd source), -1 once removed. */
int mxc_source_fd(const struct mxc_source *src);
/* Sends a signal through a pidfd source's pidfd; -ESRCH once the process has gone. */
int mxc_source_kill(struct mxc_source *src, int signo);

/* A one-shot timer after delay_ms milliseconds. */
struct mxc_source *mxc_loop_add_timer(struct mxc_loop *loop, uint64_t delay_ms, mxc_timer_fn fn,
				      void *data);

/* Stops watching and frees the source (closing its owned fds). Accepts NULL. */
void mxc_source_remove(struct mxc_source *src);

#endif
