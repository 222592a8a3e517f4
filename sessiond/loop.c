#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "loop.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum source_kind {
	SOURCE_FD,
	SOURCE_PIDFD,
	SOURCE_TIMER,
	SOURCE_SIGNAL,
};

struct mxc_source {
	struct mxc_loop *loop;
	struct mxc_list link; /* in loop->sources, or loop->dead once removed */
	enum source_kind kind;
	int fd;
	bool dead;
	union {
		mxc_fd_fn fd_fn;
		mxc_exit_fn exit_fn;
		mxc_timer_fn timer_fn;
		mxc_signal_fn signal_fn;
	};
	void *data;
};

struct mxc_loop {
	int epfd;
	bool quit;
	int code;
	struct mxc_list sources;
	struct mxc_list dead; /* freed between dispatch rounds, so callbacks never see freed memory */
};

int mxc_loop_create(struct mxc_loop **ret)
{
	struct mxc_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int r = -errno;
		free(loop);
		return r;
	}
	mxc_list_init(&loop->sources);
	mxc_list_init(&loop->dead);
	*ret = loop;
	return 0;
}

static void free_dead(struct mxc_loop *loop)
{
	struct mxc_source *s, *tmp;
	mxc_list_for_each_safe(s, tmp, &loop->dead, link)
	{
		mxc_list_remove(&s->link);
		free(s);
	}
}

void mxc_loop_destroy(struct mxc_loop *loop)
{
	if (!loop)
		return;
	struct mxc_source *s, *tmp;
	mxc_list_for_each_safe(s, tmp, &loop->sources, link) mxc_source_remove(s);
	free_dead(loop);
	close(loop->epfd);
	free(loop);
}

static struct mxc_source *add(struct mxc_loop *loop, enum source_kind kind, int fd,
			      uint32_t events, void *data)
{
	struct mxc_source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	*s = (struct mxc_source){ .loop = loop, .kind = kind, .fd = fd, .data = data };
	struct epoll_event ev = { .events = events, .data.ptr = s };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(s);
		errno = e;
		return NULL;
	}
	mxc_list_insert_tail(&loop->sources, &s->link);
	return s;
}

struct mxc_source *mxc_loop_add_fd(struct mxc_loop *loop, int fd, uint32_t events, mxc_fd_fn fn,
				   void *data)
{
	struct mxc_source *s = add(loop, SOURCE_FD, fd, events, data);
	if (s)
		s->fd_fn = fn;
	return s;
}

int mxc_source_set_events(struct mxc_source *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };
	return epoll_ctl(src->loop->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0 ? -errno : 0;
}

struct mxc_source *mxc_loop_add_pidfd(struct mxc_loop *loop, int pidfd, mxc_exit_fn fn,
				      void *data)
{
	struct mxc_source *s = add(loop, SOURCE_PIDFD, pidfd, EPOLLIN, data);
	if (s)
		s->exit_fn = fn;
	return s;
}

int mxc_source_fd(const struct mxc_source *src)
{
	return src && !src->dead ? src->fd : -1;
}

int mxc_source_kill(struct mxc_source *src, int signo)
{
	if (!src || src->dead || src->kind != SOURCE_PIDFD)
		return -ESRCH;
	return syscall(SYS_pidfd_send_signal, src->fd, signo, NULL, 0) < 0 ? -errno : 0;
}

struct mxc_source *mxc_loop_add_timer(struct mxc_loop *loop, uint64_t delay_ms, mxc_timer_fn fn,
				      void *data)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct itimerspec its = {
		.it_value.tv_sec = (time_t)(delay_ms / 1000),
		.it_value.tv_nsec = (long)(delay_ms % 1000) * 1000000L,
	};
	if (delay_ms == 0)
		its.it_value.tv_nsec = 1; /* zero would disarm it */
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return NULL;
	}
	struct mxc_source *s = add(loop, SOURCE_TIMER, fd, EPOLLIN, data);
	if (!s) {
		close(fd);
		return NULL;
	}
	s->timer_fn = fn;
	return s;
}

int mxc_loop_add_signals(struct mxc_loop *loop, const int *signals, size_t n, mxc_signal_fn fn,
			 void *data)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct mxc_source *s = add(loop, SOURCE_SIGNAL, fd, EPOLLIN, data);
	if (!s) {
		int r = -errno;
		close(fd);
		return r;
	}
	s->signal_fn = fn;
	return 0;
}

void mxc_source_remove(struct mxc_source *src)
{
	if (!src || src->dead)
		return;
	src->dead = true;
	epoll_ctl(src->loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	if (src->kind != SOURCE_FD)
		close(src->fd);
	src->fd = -1;
	mxc_list_remove(&src->link);
	mxc_list_insert_tail(&src->loop->dead, &src->link);
}

static void dispatch(struct mxc_source *s, uint32_t events)
{
	switch (s->kind) {
	case SOURCE_FD:
		s->fd_fn(s, s->fd, events, s->data);
		break;
	case SOURCE_PIDFD: {
		siginfo_t info = { 0 };
		if (waitid((idtype_t)P_PIDFD, (id_t)s->fd, &info, WEXITED | WNOHANG) < 0) {
			if (errno != ECHILD)
				return;
			/* Not our child (adopted): it has exited, its status is not ours to know. */
			memset(&info, 0, sizeof(info));
		} else if (info.si_pid == 0) {
			return; /* spurious: still running */
		}
		mxc_exit_fn fn = s->exit_fn;
		void *data = s->data;
		mxc_source_remove(s);
		fn(s, &info, data);
		break;
	}
	case SOURCE_TIMER: {
		uint64_t ticks;
		if (read(s->fd, &ticks, sizeof(ticks)) < 0)
			return;
		mxc_timer_fn fn = s->timer_fn;
		void *data = s->data;
		mxc_source_remove(s);
		fn(s, data);
		break;
	}
	case SOURCE_SIGNAL: {
		struct signalfd_siginfo si;
		while (read(s->fd, &si, sizeof(si)) == sizeof(si))
			s->signal_fn(s->loop, (int)si.ssi_signo, s->data);
		break;
	}
	}
}

int mxc_loop_run(struct mxc_loop *loop)
{
	struct epoll_event events[32];
	while (!loop->quit) {
		int n = epoll_wait(loop->epfd, events, (int)MXC_ARRAY_SIZE(events), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct mxc_source *s = events[i].data.ptr;
			if (!s->dead)
				dispatch(s, events[i].events);
		}
		free_dead(loop);
	}
	return loop->code;
}

void mxc_loop_quit(struct mxc_loop *loop, int code)
{
	loop->quit = true;
	loop->code = code;
}
