/*
 * Landlock for agent sessions: which files a session's processes may read, write, execute
 * and ioctl, which TCP ports they may bind and connect to, and whether they may reach
 * abstract Unix sockets and processes outside the session.
 *
 * Landlock is the second layer behind the session's mount namespace: the mount view decides
 * what exists, Landlock what may be done with it, and it keeps holding if the view is ever
 * wrong (a bind that exposes too much, a mount left writable). It can only grant: a rule on a
 * directory gives its rights to everything beneath it, and no rule can take them away again
 * below, so a narrower sub-path of an allowed tree (a read-only or denied path inside a
 * read-write one) must be enforced by the mount view, not here.
 *
 * The domain is applied once, in the calling process, and inherited by every descendant,
 * across execve; it can never be lifted, only narrowed by a nested domain. Descriptors opened
 * before it keep their access. What is never restricted at any ABI: connecting to named
 * (path) Unix sockets, UDP and other non-TCP protocols, path walks (chdir, stat), and mmap of
 * a file opened for reading (so `ld.so FILE` runs code from a tree without MXC_LL_EXEC; only
 * a noexec mount stops that).
 *
 * Per ABI (mxc_landlock_abi()); every right the running kernel knows is handled, so nothing
 * unlisted stays allowed:
 *   0  Landlock unavailable (not built or disabled at boot): nothing is enforced; apply
 *      succeeds and reports "filesystem" (and every other feature asked for) as missing.
 *   1  files: execute, read, write, list, create/remove each kind of file. Moving or linking
 *      a file to another directory is always refused (EXDEV), even within a writable tree.
 *   2  + moving and linking across directories where both sides grant MXC_LL_WRITE and the
 *      file gains no rights by the move.
 *   3  + truncation (truncate(2), O_TRUNC, ftruncate on descriptors opened after). Below:
 *      "truncate" is missing, and a file writable by DAC can be truncated anywhere.
 *   4  + TCP bind and connect by port. Below: "tcp ports" is missing.
 *   5  + ioctl on character and block devices (MXC_LL_DEV). Below: "device ioctls" is missing,
 *      and any ioctl is allowed on a device the process may open.
 *   6  + scopes: abstract Unix sockets and signals. Below: "abstract unix scope" and
 *      "signal scope" are missing.
 *   7  + logging of denials to the kernel audit log (spec->log_denials; ignored below).
 */
#ifndef MXC_SESSIOND_LANDLOCK_H
#define MXC_SESSIOND_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The highest ABI this file knows; a newer kernel is used at this level. */
#define MXC_LANDLOCK_ABI_MAX 7

/* The Landlock ABI of the running kernel, capped at MXC_LANDLOCK_ABI_MAX; 0 when unavailable. */
int mxc_landlock_abi(void);

/*
 * Rights and flags of a path rule. On a directory a right covers everything beneath it; on
 * any other file only that file (rights that only mean something for directories are then
 * left out, as the kernel requires).
 */
enum {
	MXC_LL_READ = 1 << 0,  /* read files; list directories */
	MXC_LL_WRITE = 1 << 1, /* write and truncate files; in directories also create, remove,
				* rename and link regular files, directories, symbolic links,
				* sockets and FIFOs (never device nodes) */
	MXC_LL_EXEC = 1 << 2,  /* execute files (and use them as ELF interpreters) */
	MXC_LL_DEV = 1 << 3,   /* ioctl on character and block devices (ABI >= 5) */
	MXC_LL_LIST = 1 << 4,  /* list directories only (READ without reading files) */

	/* Flags, not rights: */
	MXC_LL_OPTIONAL = 1 << 8,    /* a path that does not exist is skipped, not an error */
	MXC_LL_NO_SYMLINKS = 1 << 9, /* refuse the path if any component is a symbolic link
				      * (for paths in trees an agent controls, such as its home) */
};

/*
 * One rule: a path (absolute, in the caller's view; symbolic links are followed unless
 * MXC_LL_NO_SYMLINKS), or, with path NULL, an open descriptor of the file or directory
 * (O_PATH is enough; e.g. a program the session will execute through a descriptor from
 * outside its view). Two rules on the same object add up.
 */
struct mxc_landlock_path {
	const char *path;
	int fd;		 /* used only when path is NULL */
	unsigned access; /* MXC_LL_* */
};

struct mxc_landlock_spec {
	/* Everything else in the filesystem: no access at all. */
	const struct mxc_landlock_path *paths;
	size_t n_paths;
	/* TCP (ABI >= 4): with restrict_tcp_connect, connect only to connect_ports; with
	 * restrict_tcp_bind, bind only to bind_ports (any address, IPv4 and IPv6; loopback too).
	 * Port 0 in bind_ports allows binding an ephemeral port. listen() on an unbound socket
	 * still gets an ephemeral port: the kernel does not check that implicit bind. */
	bool restrict_tcp_connect;
	bool restrict_tcp_bind;
	const uint16_t *connect_ports;
	size_t n_connect;
	const uint16_t *bind_ports;
	size_t n_bind;
	/* ABI >= 6: no connecting or sending to abstract Unix sockets bound outside the domain. */
	bool scope_abstract_unix;
	/* ABI >= 6: no signals to processes outside the domain (kill, tgkill, pidfd_send_signal,
	 * SIGIO/SIGURG owners). */
	bool scope_signals;
	/* ABI >= 7: denials by the domain's processes (after their next execve, too) go to the
	 * kernel audit log. */
	bool log_denials;
};

/*
 * Restricts the calling process (and all its future descendants) to spec, irreversibly.
 * Requires no_new_privs to be set already (-EPERM otherwise; it is the caller's drop that
 * sets it, together with the uid change). Every path is opened before anything is enforced,
 * so an error (a missing path: -ENOENT naming it; an invalid rule: -EINVAL) leaves the
 * process unrestricted.
 *
 * On success, *ret_missing (if not NULL) is a NULL-terminated list (free with
 * mxc_strv_free) of what this kernel cannot enforce, in this order: "filesystem" (no
 * Landlock at all), "truncate" (ABI < 3), "tcp ports" (ABI < 4, when either restrict_tcp_*),
 * "device ioctls" (ABI < 5), "abstract unix scope" and "signal scope" (ABI < 6, when asked
 * for), "denial logging" (ABI < 7, when asked for); empty when everything is enforced.
 */
int mxc_landlock_apply(const struct mxc_landlock_spec *spec, char ***ret_missing,
		       struct mxc_error *err);

/*
 * What ABI abi cannot enforce of spec (the list mxc_landlock_apply reports), without applying
 * anything: for reports. -ENOMEM or 0.
 */
int mxc_landlock_missing(const struct mxc_landlock_spec *spec, int abi, char ***ret);

/*
 * Like mxc_landlock_apply, as if the kernel's ABI were min(abi, mxc_landlock_abi()): for
 * tests of the degraded levels, and to pin a level.
 */
int mxc_landlock_apply_abi(const struct mxc_landlock_spec *spec, int abi, char ***ret_missing,
			   struct mxc_error *err);

#endif
