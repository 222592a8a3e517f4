/*
 * What processes cost, from /proc: CPU time of the daemon, of the sessions' processes and of
 * the whole machine (which shows how much other work was running), and memory.
 */
#ifndef MXC_BENCH_PROCSTAT_H
#define MXC_BENCH_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

/* utime + stime of a process, in clock ticks (sysconf(_SC_CLK_TCK)); 0 if it is gone. */
uint64_t bench_proc_cpu_ticks(pid_t pid);
/* A "Key:  N kB" line of /proc/PID/status, in KiB; -1 if absent. */
long bench_proc_status_kib(pid_t pid, const char *key);
/*
 * CPU ticks of every process in the PID namespaces of the sessions whose pid 1 are leaders
 * (each session's mxc-init, Xvfb and helper), and of those named Xvfb among them.
 */
void bench_sessions_cpu_ticks(const pid_t *leaders, int n, uint64_t *ret_all, uint64_t *ret_xvfb);
/* The machine's busy and total CPU ticks since boot, summed over all CPUs. */
void bench_machine_ticks(uint64_t *ret_busy, uint64_t *ret_total);
/* This process's CPU time (all threads), in nanoseconds. */
uint64_t bench_self_cpu_ns(void);

#endif
