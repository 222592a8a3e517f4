/*
 * What this host can enforce (`mxc doctor`): every kernel feature and tool a session relies
 * on, each found out by trying it, not by reading version numbers.
 *
 * Trying happens without side effects: everything that creates something (namespaces, mounts,
 * a veth pair, an nftables table, seccomp filters) is done by a throwaway child in namespaces
 * of its own, which the kernel tears down with it; the mount namespace is made private before
 * anything is mounted. The rest only queries (Landlock's ABI, pidfd_open of itself, openat2
 * of "/"). Takes a few tens of milliseconds; a child that hangs is killed after two seconds
 * and what it did not report counts as missing.
 */
#ifndef MXC_SESSIOND_DOCTOR_H
#define MXC_SESSIOND_DOCTOR_H

#include <json-c/json.h>

struct mxc_cgroups;

/*
 * The report:
 *
 *   {"ok": bool,                 every check with "required": true passed
 *    "kernel": "6.1.0-18-amd64",
 *    "took_ms": n,
 *    "checks": {NAME: {"ok": bool, "required": bool, "used_for": "...", "reason": "...",
 *                      ...extra facts}, ...}}
 *
 * NAMEs, in this order: privileges, namespace.mount, namespace.pid, namespace.net,
 * namespace.ipc, namespace.uts, namespace.cgroup, namespace.user, clone3, pidfd, openat2,
 * mount_api, tmpfs, overlay, landlock ("abi": n), seccomp.filter, seccomp.listener,
 * cgroups ("mode", "controllers", "location", "swap_limited", "kill"), nftables, veth,
 * xvfb ("path"). "reason" is one line: what was found, or why it is missing.
 *
 * cgroups is the daemon's detected state, or NULL to probe (detection without side effects).
 * NULL only when out of memory.
 */
struct json_object *mxc_doctor_report(const struct mxc_cgroups *cgroups);

#endif
