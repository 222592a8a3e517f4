/*
 * The inside of a session: the filesystem view, the network and host name of its fresh
 * namespaces, and the final drop to the agent. Everything here runs in the session leader
 * (pid 1 of new mount, PID, network, IPC, UTS and cgroup namespaces, still root) or in a
 * process that has just entered a session, never in the daemon itself.
 */
#ifndef MXC_SESSIOND_SANDBOX_H
#define MXC_SESSIOND_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fsrules.h"
#include "policy.h"

struct mxc_sandbox {
	const char *hostname;
	const char *root;    /* empty host directory the new root is assembled on */
	const char *x11_dir; /* host directory bound at /tmp/.X11-unix, or NULL */
	const char *socket_dir; /* host directory bound read-only at /run/mxc, or NULL */
	/*
	 * Programs bound read-only at /run/mxc-libexec/NAME from their host path, which must
	 * still be the file fd (O_PATH) refers to.
	 */
	const struct mxc_sandbox_program {
		const char *name;
		const char *path;
		int fd;
	} *programs;
	size_t n_programs;
	const char *home;    /* the agent's home, bound read-write at the same path */
	const struct mxc_fs_rules *rules; /* the policy's paths, applied over the baseline */
	const char *const *masks; /* host paths that must not be visible, NULL-terminated */
	uint32_t uid, gid;
	uint64_t tmp_bytes;        /* size of /tmp, /var/tmp and /dev/shm each */
	uint64_t runtime_bytes;    /* size of XDG_RUNTIME_DIR */
	const uint8_t *cookie;     /* 16-byte X cookie for XDG_RUNTIME_DIR/Xauthority, or NULL */
	unsigned display;
};

/*
 * Builds the session's filesystem on sb->root and pivots into it; brings up loopback and
 * sets the host name. The baseline: /usr, /etc, /var, /opt, /srv and the /bin, /lib, ...
 * links read-only, nosuid and nodev; fresh /tmp, /var/tmp, /dev/shm, /run and
 * /run/user/UID (the XDG_RUNTIME_DIR); a minimal /dev; a /proc of the session's PID
 * namespace; a read-only /sys; the home read-write; every mask path covered by an empty
 * read-only tmpfs; /home and /root absent; the session's own daemon socket directory
 * read-only at /run/mxc; the session-side mxc programs read-only at /run/mxc-libexec. The
 * policy's filesystem rules go over the baseline, before the masks are locked.
 */
int mxc_sandbox_setup(const struct mxc_sandbox *sb, struct mxc_error *err);

/*
 * Becomes the agent for good: empty capability bounding set, locked securebits, the
 * agent's groups, uid and gid, no_new_privs; verifies that no capability is left and
 * that root cannot be regained.
 */
int mxc_sandbox_drop(uint32_t uid, uint32_t gid, const uint32_t *groups, size_t n_groups,
		     struct mxc_error *err);

/*
 * The TCP ports a session may connect to, as Landlock's second wall behind the packet
 * filter: set (*ret_restrict) only when egress is denied by default and every allow rule
 * names its ports, so that TCP can only go to those; the union of their TCP ports, at most
 * MXC_SANDBOX_MAX_TCP_PORTS (more, and the packet filter alone decides). The caller frees
 * *ret_ports.
 */
#define MXC_SANDBOX_MAX_TCP_PORTS 4096
int mxc_sandbox_tcp_ports(const struct mxc_policy_network *net, bool *ret_restrict,
			  uint16_t **ret_ports, size_t *ret_n);

/*
 * The last walls, put up by the session leader after mxc_sandbox_drop (they need
 * no_new_privs) and inherited by everything the session runs: Landlock (the baseline view
 * and the policy's read-write and read-only paths as the only places with file access;
 * abstract Unix sockets and signals scoped to the session; TCP connects limited to
 * tcp_ports when restrict_tcp) and the seccomp filter (seccomp-filter.h). A Landlock
 * feature this kernel lacks is left out (the daemon reports which); seccomp is required.
 */
int mxc_sandbox_confine(const struct mxc_sandbox *sb, bool restrict_tcp, const uint16_t *tcp_ports,
			size_t n_tcp_ports, struct mxc_error *err);

/*
 * What Landlock at abi cannot enforce of what mxc_sandbox_confine asks for a session under
 * net (mxc_landlock_missing), and in *ret_tcp whether the session's TCP ports are limited.
 */
int mxc_sandbox_landlock_missing(const struct mxc_policy_network *net, int abi, bool *ret_tcp,
				 char ***ret);

/* XDG_RUNTIME_DIR inside a session for uid: "/run/user/UID". */
void mxc_sandbox_runtime_dir(uint32_t uid, char buf[static 32]);

#endif
