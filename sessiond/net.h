/*
 * A session's network: enforcement of network.egress and network.ingress (docs/POLICY.md,
 * "How the network policy is enforced").
 *
 * A session starts in a fresh network namespace with loopback only. When its policy needs
 * more (mxc_net_needs_veth), the daemon gives it a veth pair -- "mxc-ID" in the daemon's
 * network namespace, "eth0" in the session's -- with a /30 of the IPv4 pool and a /64 (or
 * /126) of the IPv6 pool: the host side is .1 / ::1, the session side .2 / ::2 with default
 * routes through the host side. Every packet to, from or through the session crosses the
 * host side, where one nftables table per session, "inet mxc_ID", decides:
 *
 *   forward, in from mxc-ID    egress: the session's outbound connections (deny rules, then
 *                              allow rules, then egress.default), masqueraded on the way out
 *   forward, out to mxc-ID     ingress: connections to the session from routed networks
 *                              (ingress.default)
 *   input, in from mxc-ID      the session reaching the host itself, any of its addresses
 *                              (egress deny rules, then ingress.hostLoopback)
 *   output, out to mxc-ID      the host reaching the session (ingress.hostLoopback)
 *
 * Replies to accepted connections pass by conntrack. The table is the only thing in the
 * host's ruleset mxc writes; removing it (and the veth pair, which takes eth0 with it) undoes
 * everything but the forwarding sysctls.
 *
 * Everything here runs in the daemon (root, single-threaded); every call is synchronous and
 * takes a few milliseconds (a netlink round trip per object, one nftables transaction).
 */
#ifndef MXC_SESSIOND_NET_H
#define MXC_SESSIOND_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "policy.h"

#define MXC_NET_DEFAULT_POOL4 "10.213.0.0/16"  /* a /30 per session: 16384 sessions */
#define MXC_NET_DEFAULT_POOL6 "fd6d:7863::/48" /* a /64 per session ("mxc" in hex) */
#define MXC_NET_MAX_ID	      11	       /* "mxc-" + id fits IFNAMSIZ */
#define MXC_NET_IFNAME	      "eth0"	       /* the session's side of the pair */

struct mxc_net_config {
	/*
	 * Address pools, "ADDR/LEN"; NULL for the defaults. pool4 must be a /30 or larger; a
	 * pool6 of /63 or larger gives each session a /64, a longer one (up to /124) a /126.
	 * Slots whose subnet overlaps an address already configured in the daemon's network
	 * namespace are skipped.
	 */
	const char *pool4;
	const char *pool6;
	/*
	 * Whether the daemon may turn on IPv4 and IPv6 forwarding in its network namespace
	 * when a session first needs it (what Docker does). Turning on IPv6 forwarding makes
	 * Linux ignore router advertisements on interfaces with accept_ra = 1, so those are set
	 * to 2 first. When false and forwarding is off, sessions that need it are refused.
	 */
	bool enable_forwarding;
};

struct mxc_net; /* one session's network */

/*
 * Refuses, with -EOPNOTSUPP and the JSON path, what the packet filter cannot enforce as
 * written: a destination inside the session's own loopback (127.0.0.0/8, ::1), which never
 * leaves the session; a destination inside ::ffff:0:0/96, whose packets leave as IPv4 and
 * would never meet the rule. mxc_net_setup() calls it too.
 */
int mxc_net_check(const struct mxc_policy_network *policy, struct mxc_error *err);

/* False when the session has loopback only: egress deny with no allow rule, ingress deny,
 * hostLoopback deny. */
bool mxc_net_needs_veth(const struct mxc_policy_network *policy);

/*
 * Gives session_id (1..MXC_NET_MAX_ID letters and digits) the network its policy asks for.
 * leader_pidfd is a pidfd of a process in the session's network namespace (or an fd of the
 * namespace itself). In order: the nftables table (so that no packet ever passes unfiltered),
 * forwarding, the veth pair with eth0 created directly in the session's namespace, addresses,
 * links up, default routes. On failure, whatever was made is removed again. For a
 * loopback-only policy nothing is made and *ret is a network that only remembers that.
 *
 * Errors: -EINVAL (bad id, bad pool), -EOPNOTSUPP (mxc_net_check, forwarding off and not
 * allowed), -EADDRNOTAVAIL (pool exhausted), -EEXIST (a network for session_id exists), or
 * what netlink or nftables said.
 */
int mxc_net_setup(const struct mxc_net_config *cfg, const char *session_id, int leader_pidfd,
		  const struct mxc_policy_network *policy, struct mxc_net **ret,
		  struct mxc_error *err);

/*
 * Removes the session's table and veth pair (either may be gone already, e.g. the session's
 * side with its namespace) and frees n. Accepts NULL. Returns the first failure; n is freed
 * regardless.
 */
int mxc_net_teardown(struct mxc_net *n, struct mxc_error *err);

/* The same by session id, for a session adopted after a daemon restart or found dead. */
int mxc_net_remove(const char *session_id, struct mxc_error *err);

/*
 * Removes the tables "inet mxc_ID" and veth links "mxc-ID" of every ID not in
 * live_session_ids (NULL-terminated, may be NULL). Removes nothing else. Only for a network
 * namespace where one daemon owns every session: the daemon itself removes the networks of
 * the sessions its database knows (recover.c), since daemons relocated for tests share the
 * host's namespace.
 */
int mxc_net_cleanup_stale(char *const *live_session_ids, struct mxc_error *err);

/*
 * What the daemon should log once after setup, or NULL: forwarding turned on, IPv6 not
 * available, a base chain of the host's own ruleset that drops forwarded or input packets
 * by default (Docker's FORWARD policy DROP), which mxc's accept cannot override.
 */
const char *mxc_net_notice(const struct mxc_net *n);

/* The session's address ("10.213.0.2", "fd6d:7863::2") and the host side's (the gateway)
 * for family AF_INET or AF_INET6; NULL for a loopback-only network or a missing family. */
const char *mxc_net_address(const struct mxc_net *n, int family);
const char *mxc_net_gateway(const struct mxc_net *n, int family);

/*
 * The nftables ruleset (nft's text syntax) for session_id with the given session addresses
 * (either may be NULL for a family the session lacks): what mxc_net_setup() loads. For tests,
 * documentation and `mxc policy show`. The caller frees *ret.
 */
int mxc_net_ruleset(const char *session_id, const char *addr4, const char *addr6,
		    const struct mxc_policy_network *policy, char **ret, struct mxc_error *err);

#endif
