/*
 * bench-wakeup [IDLE_MS...]: what waking one process costs on this machine, the floor under
 * every request that crosses processes. A parent sleeps IDLE_MS, stamps the time and writes
 * it down a pipe to a child blocked in read(2), which answers how long the stamp took to
 * reach it; 200 times for each IDLE_MS (default: 0 and 50). Prints the median and p90.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 200

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static int measure(int idle_ms)
{
	int to_child[2], to_parent[2];
	long long d[RUNS];
	if (pipe(to_child) < 0 || pipe(to_parent) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (int i = 0; i < RUNS; i++) {
			long long t, delta;
			if (read(to_child[0], &t, sizeof(t)) != sizeof(t))
				_exit(1);
			delta = now_ns() - t;
			if (write(to_parent[1], &delta, sizeof(delta)) != sizeof(delta))
				_exit(1);
		}
		_exit(0);
	}
	for (int i = 0; i < RUNS; i++) {
		struct timespec idle = { idle_ms / 1000, (long)(idle_ms % 1000) * 1000000L };
		nanosleep(&idle, NULL);
		long long t = now_ns();
		if (write(to_child[1], &t, sizeof(t)) != sizeof(t) ||
		    read(to_parent[0], &d[i], sizeof(d[i])) != sizeof(d[i]))
			return -1;
	}
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 2; i++) {
		close(to_child[i]);
		close(to_parent[i]);
	}
	qsort(d, RUNS, sizeof(d[0]), cmp);
	printf("after %3d ms idle: waking a process takes %6.1f us (median), %6.1f us (p90)\n",
	       idle_ms, d[RUNS / 2] / 1000.0, d[RUNS * 9 / 10] / 1000.0);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = { "0", "50" };
	const char *const *idle = argc > 1 ? (const char *const *)argv + 1 : defaults;
	int n = argc > 1 ? argc - 1 : 2;
	for (int i = 0; i < n; i++) {
		int ms = atoi(idle[i]);
		if (ms < 0 || ms > 10000 || measure(ms) < 0) {
			fprintf(stderr, "bench-wakeup: IDLE_MS from 0 to 10000\n");
			return 2;
		}
	}
	return 0;
}
