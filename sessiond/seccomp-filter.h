/*
 * (Not "seccomp.h": that name is libseccomp's, which this file's implementation includes.)
 *
 * The seccomp filter of agent sessions: system calls an agent never needs, that reach parts
 * of the kernel a session has no business with, or that would let it leave its namespaces.
 *
 * The filter is a deny list: everything else is allowed, so programs keep working on newer
 * kernels and libcs. Refused calls fail with EPERM (the process lives on and can handle it),
 * except clone3, which fails with ENOSYS so that the C library falls back to clone, whose
 * flags the filter can inspect. A system call entered through another ABI (32-bit x86 through
 * `int $0x80` or sysenter, x32) kills the process: a session never runs such programs, and
 * the deny list would not apply to those entry points.
 *
 * Refused (EPERM):
 *   init_module finit_module delete_module create_module query_module get_kernel_syms
 *                          kernel code: only the host's admin loads modules
 *   kexec_load kexec_file_load   replacing the running kernel
 *   mount umount2 pivot_root chroot fsopen fsconfig fsmount fspick move_mount open_tree
 *   open_tree_attr mount_setattr
 *                          the session's filesystem view is fixed when it starts
 *   swapon swapoff         host memory configuration
 *   reboot                 host (or PID namespace) power state
 *   settimeofday clock_settime adjtimex clock_adjtime
 *                          the clock is the host's, shared with every session and the audit log
 *   bpf                    loads programs into the kernel (verifier bugs are a classic escape)
 *   perf_event_open        kernel profiling: side channels, a long record of kernel bugs
 *   keyctl add_key request_key
 *                          the kernel keyrings are not namespaced: a uid's keyring is shared
 *                          with everything else running as it
 *   userfaultfd            stalls kernel accesses to user memory at will: the standard tool
 *                          for winning kernel race conditions
 *   io_uring_setup io_uring_enter io_uring_register
 *                          a second system call interface that seccomp cannot see into, with
 *                          a long record of kernel bugs (disabled by ChromeOS, Android and
 *                          Docker's default profile); programs fall back to plain calls
 *   unshare, clone         with any CLONE_NEW* flag: a user namespace gives back every
 *                          capability inside it, hence mounts and the rest; the others need
 *                          capabilities a session does not have
 *   setns                  joining other namespaces
 *   open_by_handle_at name_to_handle_at
 *                          file handles bypass path lookup and mount boundaries ("shocker")
 *   iopl ioperm            raw I/O port access
 *   acct quotactl quotactl_fd
 *                          host accounting and quota administration
 *   lookup_dcookie nfsservctl _sysctl uselib
 *                          obsolete interfaces, removed or unused
 *   syslog                 the kernel log: host information and kernel addresses
 *   vhangup                hangs up the controlling terminal (the inspector's, too)
 *   ioctl                  TIOCSTI (typing into a terminal's input: into an inspector's shell),
 *                          TIOCLINUX (the same on virtual consoles, and console selection),
 *                          TIOCSETD (line disciplines: n_gsm, n_hdlc and their exploits)
 *   personality            anything but PER_LINUX, PER_LINUX32 (and their UNAME26 forms) and
 *                          the query 0xffffffff: ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC,
 *                          MMAP_PAGE_ZERO and the foreign personas weaken the process's
 *                          hardening or reach rarely used kernel paths
 * Refused (ENOSYS):
 *   clone3                 its flags are in memory, which seccomp cannot read
 *
 * Allowed on purpose: ptrace, process_vm_readv/writev, pidfd_getfd and kcmp. The session's
 * PID namespace already hides every process outside it, the agent's uid and Landlock's
 * ptrace rule (a domain cannot trace a process outside it) bound what can be traced, and a
 * debugger or strace inside the session is a legitimate tool. Same-uid processes can reach
 * each other's memory through /proc/PID/mem anyway; a process that must be protected from
 * the agent (mxc-init) marks itself non-dumpable. Since Linux 4.8 a tracer cannot use
 * ptrace to get around a seccomp filter. Landlock's own calls are allowed: a program may
 * restrict itself further.
 */
#ifndef MXC_SESSIOND_SECCOMP_FILTER_H
#define MXC_SESSIOND_SECCOMP_FILTER_H

#include <stdbool.h>

#include "error.h"

/* Whether this kernel has seccomp filters with the actions the session filter uses. */
bool mxc_seccomp_available(void);

/*
 * Loads the session filter in the calling process and all its threads, irreversibly; it is
 * inherited by every child and kept across execve. Requires no_new_privs to be set already
 * (-EPERM otherwise). -EOPNOTSUPP when the kernel has no seccomp filters.
 */
int mxc_seccomp_apply(struct mxc_error *err);

/*
 * Like mxc_seccomp_apply, refused calls failing with deny_errno (1..4095) instead of EPERM.
 * Tests use a value the kernel itself never returns, to tell the filter's refusals from the
 * kernel's own.
 */
int mxc_seccomp_apply_errno(int deny_errno, struct mxc_error *err);

#endif
