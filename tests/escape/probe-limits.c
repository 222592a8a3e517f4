/*
 * The attacker of the resource-limit tests: run as the agent inside a session, it tries to
 * take more than the policy's session.limits allow and reports how far it got.
 *
 *   probe forkbomb        forks until fork fails; the children (and the bomb's leader) stay,
 *                         paused, until the session ends. Prints "forked N errno NAME
 *                         retried M": N children made before the first failure and M made
 *                         by 100 more tries after it (processes that end free slots).
 *   probe memory MIB      allocates and touches memory 1 MiB at a time up to MIB, printing
 *                         "allocated N" after each step and "done N" at the end; prints
 *                         "failed N errno NAME" when an allocation fails.
 *   probe fill DIR        writes a file in DIR until a write fails, printing "progress
 *                         BYTES" at each MiB and "wrote BYTES errno NAME" at the end; the
 *                         file stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * In a sanitizer build, LeakSanitizer's exit-time check needs a thread of its own, which a
 * session at its task limit cannot start: it would fail the probe for the wrong reason.
 */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "detect_leaks=0";
}

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* Line-at-a-time output that reaches the reader even if the process is killed next. */
static void say(const char *text)
{
	size_t len = strlen(text);
	while (len > 0) {
		ssize_t k = write(1, text, len);
		if (k <= 0 && errno != EINTR)
			return;
		if (k > 0) {
			text += k;
			len -= (size_t)k;
		}
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * The bomb's leader, detached from the caller's output (so that `mxc exec` returns): forks
 * children that only wait, until fork fails, then reports through the pipe and waits too.
 */
static void __attribute__((noreturn)) bomb(int report)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);
	setsid();
	long forked = 0, retried = 0;
	int err = 0;
	for (;;) {
		pid_t pid = fork();
		if (pid == 0) {
			close(report);
			for (;;)
				pause();
		}
		if (pid < 0) {
			err = errno;
			break;
		}
		if (++forked >= 4096) /* far past any limit a test sets: not bounded at all */
			break;
	}
	/* At the limit forks keep failing; only slots freed by processes that end are taken. */
	for (int i = 0; i < 100; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			close(report);
			for (;;)
				pause();
		}
		retried += pid > 0;
		sleep_ms(2);
	}
	char line[128];
	snprintf(line, sizeof(line), "forked %ld errno %s retried %ld\n", forked, errno_name(err),
		 retried);
	if (write(report, line, strlen(line)) < 0)
		_exit(1);
	close(report);
	for (;;)
		pause();
}

static int cmd_forkbomb(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(p[0]);
		bomb(p[1]);
	}
	close(p[1]);
	char line[128] = "";
	ssize_t n = read(p[0], line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	say(n > 0 ? line : "bomb failed\n");
	return n > 0 ? 0 : 1;
}

static int cmd_memory(long max_mib)
{
	char line[96];
	for (long i = 1; i <= max_mib; i++) {
		char *p =
		    mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			snprintf(line, sizeof(line), "failed %ld errno %s\n", i - 1,
				 errno_name(errno));
			say(line);
			return 2;
		}
		/* Every page written, with something other than zeros. */
		memset(p, (int)(i & 0x7f) | 1, 1 << 20);
		snprintf(line, sizeof(line), "allocated %ld\n", i);
		say(line);
	}
	snprintf(line, sizeof(line), "done %ld\n", max_mib);
	say(line);
	return 0;
}

static int cmd_fill(const char *dir)
{
	char path[4096], line[128];
	snprintf(path, sizeof(path), "%s/mxc-fill-%d", dir, (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(line, sizeof(line), "open errno %s\n", errno_name(errno));
		say(line);
		return 1;
	}
	static char chunk[64 << 10];
	memset(chunk, 'x', sizeof(chunk));
	long long total = 0;
	int err = 0;
	for (;;) {
		ssize_t k = write(fd, chunk, sizeof(chunk));
		if (k < 0) {
			err = errno;
			break;
		}
		if (total / (1 << 20) != (total + k) / (1 << 20)) {
			snprintf(line, sizeof(line), "progress %lld\n", total + k);
			say(line);
		}
		total += k;
		if (k < (ssize_t)sizeof(chunk)) {
			/* A short write: the next one says why. */
			continue;
		}
		if (total >= (256LL << 20)) /* far past any limit a test sets: stop */
			break;
	}
	if (err == 0 && fsync(fd) < 0)
		err = errno;
	close(fd);
	snprintf(line, sizeof(line), "wrote %lld errno %s\n", total,
		 err ? errno_name(err) : "none");
	say(line);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "forkbomb") == 0)
		return cmd_forkbomb();
	if (argc == 3 && strcmp(argv[1], "memory") == 0)
		return cmd_memory(strtol(argv[2], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "fill") == 0)
		return cmd_fill(argv[2]);
	fprintf(stderr, "usage: probe forkbomb | memory MIB | fill DIR\n");
	return 2;
}
