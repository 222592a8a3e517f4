/*
 * Confinement tests run each attack in a forked child: Landlock and seccomp are
 * irreversible, and a filter that kills must not take the test with it. The child checks
 * its expectations with the EXPECT macros below; the first one that fails ends it with a
 * message that the parent turns into the test's failure.
 */
#ifndef MXC_TESTS_SESSIOND_CHILD_H
#define MXC_TESTS_SESSIOND_CHILD_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#define NOBODY 65534

/* Runs fn(arg) in a child and returns its wait status; *msg gets its failure message. */
int child_run(void (*fn)(void *), void *arg, char *msg, size_t size);

/* Runs fn(arg) in a child and fails the test unless the child exits 0. */
#define CHILD_OK(fn, arg)                                                          \
	do {                                                                       \
		char msg_[1024] = "";                                              \
		int st_ = child_run(fn, arg, msg_, sizeof(msg_));                  \
		cr_assert(WIFEXITED(st_) && WEXITSTATUS(st_) == 0, "%s",           \
			  msg_[0] ? msg_ : "the child died or failed without a message"); \
	} while (0)

/* In the child: reports the failure and exits 1. */
void child_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* Drops to nobody (no groups, no capabilities) and sets no_new_privs. */
void child_become_nobody(void);

#define EXPECT(cond, ...)                                             \
	do {                                                          \
		if (!(cond))                                          \
			child_fail(__FILE__, __LINE__, __VA_ARGS__);  \
	} while (0)

/* expr (an int or long result) must fail with errno e. */
#define EXPECT_ERRNO(expr, e)                                                               \
	do {                                                                                \
		errno = 0;                                                                  \
		long r_ = (long)(expr);                                                     \
		int e_ = errno;                                                             \
		if (!(r_ == -1 && e_ == (e)))                                               \
			child_fail(__FILE__, __LINE__, "%s: expected %s, got %s", #expr,    \
				   strerror(e), r_ == -1 ? strerror(e_) : "success");       \
	} while (0)

/* expr (an int or long result) must not fail; evaluates to its result. */
#define EXPECT_OK(expr)                                                                     \
	({                                                                                  \
		errno = 0;                                                                  \
		long r_ = (long)(expr);                                                     \
		if (r_ < 0)                                                                 \
			child_fail(__FILE__, __LINE__, "%s failed: %s", #expr, strerror(errno)); \
		r_;                                                                         \
	})

#endif
