/* Process accounting from /proc: see procstat.h. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "procstat.h"

uint64_t bench_proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime = 0, stime = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command name, which may hold spaces and parentheses. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return 0;
	return utime + stime;
}

long bench_proc_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t len = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, len) == 0 && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

/* The PID namespace of a process ("pid:[4026532123]"), or "" when it is gone. */
static void pid_ns(pid_t pid, char ret[64])
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	n = readlink(path, ret, 63);
	ret[n > 0 ? n : 0] = '\0';
}

/* By namespace, not by uid: other sessions on the machine may run under the same uid. */
void bench_sessions_cpu_ticks(const pid_t *leaders, int n, uint64_t *ret_all, uint64_t *ret_xvfb)
{
	char(*ns)[64] = calloc((size_t)n, sizeof(*ns)), path[300], comm[64], mine[64];
	struct dirent *de;
	DIR *d = opendir("/proc");

	*ret_all = *ret_xvfb = 0;
	if (!d || !ns) {
		if (d)
			closedir(d);
		free(ns);
		return;
	}
	for (int i = 0; i < n; i++)
		if (leaders[i] > 0)
			pid_ns(leaders[i], ns[i]);
	while ((de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		bool ours = false;
		uint64_t ticks;
		FILE *f;

		if (pid <= 0)
			continue;
		pid_ns(pid, mine);
		for (int i = 0; i < n && !ours; i++)
			ours = ns[i][0] && strcmp(ns[i], mine) == 0;
		if (!ours)
			continue;
		ticks = bench_proc_cpu_ticks(pid);
		*ret_all += ticks;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f) && strncmp(comm, "Xvfb", 4) == 0)
			*ret_xvfb += ticks;
		if (f)
			fclose(f);
	}
	closedir(d);
	free(ns);
}

void bench_machine_ticks(uint64_t *ret_busy, uint64_t *ret_total)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "re");

	*ret_busy = *ret_total = 0;
	if (!f)
		return;
	/* user nice system idle iowait irq softirq steal */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			*ret_total += v[i];
		*ret_busy = *ret_total - v[3] - v[4];
	}
	fclose(f);
}

uint64_t bench_self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}
