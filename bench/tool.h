/* Running the tools users would otherwise use (scrot, import, xdotool) one process per action. */
#ifndef MXC_BENCH_TOOL_H
#define MXC_BENCH_TOOL_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Starts argv[0] (an absolute path) with argv, this process's environment, stdin and stdout
 * on /dev/null and stderr to /dev/null unless $MXC_BENCH_VERBOSE is set. It dies with us.
 */
int bench_tool_start(char *const *argv, pid_t *ret_pid);
/* Waits for pid; 0 when it exited with status 0, -ECHILD otherwise. */
int bench_tool_wait(pid_t pid);
/* start + wait: the wall time from before the fork until it was reaped, or a negative errno. */
int bench_tool_run(char *const *argv, uint64_t *ret_ns);
/* Reads the whole file at path, as a caller of the tool would; returns its size or -errno. */
ssize_t bench_read_file(const char *path);

#endif
