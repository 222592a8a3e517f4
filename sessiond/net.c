/*
 * A session's network: the veth pair, its addresses and routes (rtnetlink through libmnl),
 * and the nftables table that enforces the policy (libnftables, nft's text syntax). See
 * net.h for the shape and docs/POLICY.md for what a policy author can rely on.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <json-c/json.h>

#include "net.h"

#define LINK_PREFIX  "mxc-"
#define TABLE_PREFIX "mxc_"

typedef unsigned __int128 u128;

struct mxc_net {
	char id[MXC_NET_MAX_ID + 1];
	bool veth; /* false: loopback only, nothing was made */
	char addr[2][INET6_ADDRSTRLEN];
	char gateway[2][INET6_ADDRSTRLEN];
	char notice[1024];
};

/* ---- names ---- */

static bool id_valid(const char *id)
{
	size_t len = id ? strlen(id) : 0;
	if (len == 0 || len > MXC_NET_MAX_ID)
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
			return false;
	return true;
}

static void link_name(const char *id, char buf[static IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, LINK_PREFIX "%s", id);
}

static bool in_strv(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* ---- addresses as integers ---- */

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static u128 addr_to_u128(int family, const uint8_t *a)
{
	u128 v = 0;
	for (unsigned i = 0; i < family_bits(family) / 8; i++)
		v = (v << 8) | a[i];
	return v;
}

static void u128_to_addr(int family, u128 v, uint8_t a[static 16])
{
	unsigned n = family_bits(family) / 8;
	memset(a, 0, 16);
	for (unsigned i = n; i-- > 0;) {
		a[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* The host bits of a prefix of length len: (1 << (bits - len)) - 1, all ones for /0 of v6. */
static u128 host_mask(int family, unsigned len)
{
	unsigned host = family_bits(family) - len;
	return host >= 128 ? ~(u128)0 : (((u128)1 << host) - 1);
}

static void format_addr(int family, u128 v, char buf[static INET6_ADDRSTRLEN])
{
	uint8_t a[16];
	u128_to_addr(family, v, a);
	if (!inet_ntop(family, a, buf, INET6_ADDRSTRLEN))
		snprintf(buf, INET6_ADDRSTRLEN, "?");
}

/* Parses "ADDR/LEN" (a pool); host bits must be clear. */
static int parse_pool(const char *s, int family, u128 *ret_net, unsigned *ret_len)
{
	char buf[INET6_ADDRSTRLEN + 8];
	uint8_t a[16];
	uint64_t len;
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (inet_pton(family, buf, a) != 1 || mxc_parse_u64(slash + 1, family_bits(family), &len) < 0)
		return -EINVAL;
	u128 net = addr_to_u128(family, a);
	if (net & host_mask(family, (unsigned)len))
		return -EINVAL;
	*ret_net = net;
	*ret_len = (unsigned)len;
	return 0;
}

/* ---- interval sets: the exact destinations of a rule ---- */

struct ival {
	u128 lo, hi;
};

struct ivals {
	struct ival *v;
	size_t n, cap;
};

static int ivals_push(struct ivals *s, u128 lo, u128 hi)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct ival *v = reallocarray(s->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct ival){ lo, hi };
	return 0;
}

static int ival_cmp(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping and adjacent intervals: nftables refuses overlaps in a set. */
static void ivals_merge(struct ivals *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), ival_cmp);
	size_t out = 0;
	for (size_t i = 1; i < s->n; i++) {
		struct ival *last = &s->v[out];
		if (s->v[i].lo <= last->hi || s->v[i].lo - 1 == last->hi) {
			if (s->v[i].hi > last->hi)
				last->hi = s->v[i].hi;
		} else {
			s->v[++out] = s->v[i];
		}
	}
	s->n = out + 1;
}

static struct ival cidr_ival(const struct mxc_policy_cidr *c)
{
	u128 lo = addr_to_u128(c->family, c->addr);
	return (struct ival){ lo, lo | host_mask(c->family, c->prefix) };
}

/* Adds peer's cidr minus its excepts to s (of the peer's family). */
static int add_peer(struct ivals *s, const struct mxc_policy_peer *peer)
{
	struct ivals ex = { 0 };
	struct ival whole = cidr_ival(&peer->cidr);
	int r = 0;
	for (size_t i = 0; i < peer->n_except && r == 0; i++) {
		struct ival e = cidr_ival(&peer->except[i]);
		r = ivals_push(&ex, e.lo, e.hi);
	}
	if (r < 0)
		goto out;
	ivals_merge(&ex);
	u128 cur = whole.lo;
	bool done = false;
	for (size_t i = 0; i < ex.n && !done && r == 0; i++) {
		if (ex.v[i].lo > cur)
			r = ivals_push(s, cur, ex.v[i].lo - 1);
		if (ex.v[i].hi >= whole.hi)
			done = true;
		else
			cur = ex.v[i].hi + 1;
	}
	if (r == 0 && !done)
		r = ivals_push(s, cur, whole.hi);
out:
	free(ex.v);
	return r;
}

/* One element of an interval set: "a", "a/len" for an aligned block, "a-b" otherwise. */
static void format_ival(FILE *f, int family, const struct ival *iv)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
	format_addr(family, iv->lo, lo);
	if (iv->lo == iv->hi) {
		fputs(lo, f);
		return;
	}
	for (unsigned len = 0; len <= family_bits(family); len++) {
		if (host_mask(family, len) == iv->hi - iv->lo && (iv->lo & host_mask(family, len)) == 0) {
			fprintf(f, "%s/%u", lo, len);
			return;
		}
	}
	format_addr(family, iv->hi, hi);
	fprintf(f, "%s-%s", lo, hi);
}

/* ---- compiled rules ---- */

struct prange {
	uint16_t lo, hi;
};

struct pranges {
	struct prange *v;
	size_t n;
};

/* A policy rule as the packet filter sees it. */
struct crule {
	bool any_dest;	     /* no "to": every destination, both families */
	struct ivals dst[2]; /* [0] IPv4, [1] IPv6, merged */
	bool any_proto;	     /* no "ports", or "any" without a port */
	bool tcp_all, udp_all, icmp;
	struct pranges tcp, udp;
};

static int fam_index(int family)
{
	return family == AF_INET ? 0 : 1;
}

static int prange_cmp(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;
	return (int)x->lo - (int)y->lo;
}

static int pranges_add(struct pranges *p, uint16_t lo, uint16_t hi)
{
	struct prange *v = reallocarray(p->v, p->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->v = v;
	p->v[p->n++] = (struct prange){ lo, hi };
	return 0;
}

static void pranges_merge(struct pranges *p)
{
	if (p->n < 2)
		return;
	qsort(p->v, p->n, sizeof(*p->v), prange_cmp);
	size_t out = 0;
	for (size_t i = 1; i < p->n; i++) {
		if ((unsigned)p->v[i].lo <= (unsigned)p->v[out].hi + 1) {
			if (p->v[i].hi > p->v[out].hi)
				p->v[out].hi = p->v[i].hi;
		} else {
			p->v[++out] = p->v[i];
		}
	}
	p->n = out + 1;
}

static void crule_finish(struct crule *c)
{
	free(c->dst[0].v);
	free(c->dst[1].v);
	free(c->tcp.v);
	free(c->udp.v);
}

static int crule_init(struct crule *c, const struct mxc_policy_net_rule *rule)
{
	int r = 0;
	*c = (struct crule){ 0 };
	c->any_dest = rule->n_to == 0;
	for (size_t i = 0; i < rule->n_to && r == 0; i++)
		r = add_peer(&c->dst[fam_index(rule->to[i].cidr.family)], &rule->to[i]);
	c->any_proto = rule->n_ports == 0;
	for (size_t i = 0; i < rule->n_ports && r == 0; i++) {
		const struct mxc_policy_port *p = &rule->ports[i];
		bool all = p->port == 0;
		switch (p->protocol) {
		case MXC_POLICY_PROTO_ANY:
			if (all) {
				c->any_proto = true;
				break;
			}
			r = pranges_add(&c->tcp, p->port, p->end_port);
			if (r == 0)
				r = pranges_add(&c->udp, p->port, p->end_port);
			break;
		case MXC_POLICY_PROTO_TCP:
			if (all)
				c->tcp_all = true;
			else
				r = pranges_add(&c->tcp, p->port, p->end_port);
			break;
		case MXC_POLICY_PROTO_UDP:
			if (all)
				c->udp_all = true;
			else
				r = pranges_add(&c->udp, p->port, p->end_port);
			break;
		case MXC_POLICY_PROTO_ICMP:
			c->icmp = true;
			break;
		}
	}
	if (r < 0) {
		crule_finish(c);
		return r;
	}
	ivals_merge(&c->dst[0]);
	ivals_merge(&c->dst[1]);
	pranges_merge(&c->tcp);
	pranges_merge(&c->udp);
	return 0;
}

static void print_ports(FILE *f, const char *proto, const struct pranges *p)
{
	fprintf(f, "%s dport { ", proto);
	for (size_t i = 0; i < p->n; i++) {
		fprintf(f, "%s%u", i ? ", " : "", p->v[i].lo);
		if (p->v[i].hi != p->v[i].lo)
			fprintf(f, "-%u", p->v[i].hi);
	}
	fputs(" }", f);
}

/* The set declarations of a list's rules: "deny3_v4" holds deny[3]'s IPv4 destinations. */
static void print_sets(FILE *f, const char *list, const struct crule *c, size_t n)
{
	static const char *const type[2] = { "ipv4_addr", "ipv6_addr" };
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			if (c[i].dst[k].n == 0)
				continue;
			fprintf(f, "\tset %s%zu_v%d {\n\t\ttype %s\n\t\tflags interval\n\t\telements = { ",
				list, i, k ? 6 : 4, type[k]);
			for (size_t j = 0; j < c[i].dst[k].n; j++) {
				if (j)
					fputs(", ", f);
				format_ival(f, k ? AF_INET6 : AF_INET, &c[i].dst[k].v[j]);
			}
			fputs(" }\n\t}\n", f);
		}
	}
}

/*
 * One nft rule per (policy rule, family, protocol group): a packet matches policy rule i
 * when its destination is in the rule's set of its family and its protocol and port are
 * among the rule's ports.
 */
static void print_rules(FILE *f, const char *list, const struct crule *c, size_t n, const char *verdict)
{
	static const char *const icmp[3] = { "meta l4proto icmp", "meta l4proto ipv6-icmp",
					     "meta l4proto { icmp, ipv6-icmp }" };
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 3; k++) {
			char dest[64];
			if (c[i].any_dest != (k == 2) || (k < 2 && c[i].dst[k].n == 0))
				continue;
			if (k == 2)
				dest[0] = '\0';
			else
				snprintf(dest, sizeof(dest), "%s daddr @%s%zu_v%d ", k ? "ip6" : "ip", list,
					 i, k ? 6 : 4);
			if (c[i].any_proto) {
				fprintf(f, "\t\t%s%s\n", dest, verdict);
				continue;
			}
			if (c[i].tcp_all)
				fprintf(f, "\t\t%smeta l4proto tcp %s\n", dest, verdict);
			else if (c[i].tcp.n) {
				fprintf(f, "\t\t%s", dest);
				print_ports(f, "tcp", &c[i].tcp);
				fprintf(f, " %s\n", verdict);
			}
			if (c[i].udp_all)
				fprintf(f, "\t\t%smeta l4proto udp %s\n", dest, verdict);
			else if (c[i].udp.n) {
				fprintf(f, "\t\t%s", dest);
				print_ports(f, "udp", &c[i].udp);
				fprintf(f, " %s\n", verdict);
			}
			if (c[i].icmp)
				fprintf(f, "\t\t%s%s %s\n", dest, icmp[k], verdict);
		}
	}
}

static int compile(const struct mxc_policy_net_rule *rules, size_t n, struct crule **ret)
{
	struct crule *c = calloc(n ? n : 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = crule_init(&c[i], &rules[i]);
		if (r < 0) {
			while (i-- > 0)
				crule_finish(&c[i]);
			free(c);
			return r;
		}
	}
	*ret = c;
	return 0;
}

static void crules_free(struct crule *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		crule_finish(&c[i]);
	free(c);
}

int mxc_net_ruleset(const char *session_id, const char *addr4, const char *addr6,
		    const struct mxc_policy_network *p, char **ret, struct mxc_error *err)
{
	char ifname[IFNAMSIZ];
	struct crule *deny = NULL, *allow = NULL;
	char *text = NULL;
	size_t len = 0;
	int r;
	if (!id_valid(session_id))
		return mxc_error_set(err, -EINVAL, "invalid session id for a network");
	link_name(session_id, ifname);
	if ((r = compile(p->deny, p->n_deny, &deny)) < 0 ||
	    (r = compile(p->allow, p->n_allow, &allow)) < 0) {
		crules_free(deny, p->n_deny);
		return mxc_error_set(err, r, "out of memory");
	}
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		r = mxc_error_errno(err, -errno, "out of memory");
		goto out;
	}
	/* The session's own addresses; a family it lacks has none, and nothing passes in it. */
	char src4[64], src6[96];
	snprintf(src4, sizeof(src4), "%s", addr4 ? addr4 : "0.0.0.0/0");
	snprintf(src6, sizeof(src6), "%s", addr6 ? addr6 : "::/0");
	const char *nomatch4 = addr4 ? "!= " : "", *nomatch6 = addr6 ? "!= " : "";

	fprintf(f, "table inet " TABLE_PREFIX "%s {\n", session_id);
	fprintf(f, "\tcomment \"mxc session %s: network policy; removed with the session\"\n",
		session_id);
	print_sets(f, "deny", deny, p->n_deny);
	print_sets(f, "allow", allow, p->n_allow);

	fprintf(f, "\tchain forward {\n"
		   "\t\ttype filter hook forward priority filter; policy accept;\n"
		   "\t\tiifname \"%s\" jump egress\n"
		   "\t\toifname \"%s\" jump ingress\n"
		   "\t}\n",
		ifname, ifname);
	fprintf(f, "\tchain input {\n"
		   "\t\ttype filter hook input priority filter; policy accept;\n"
		   "\t\tiifname \"%s\" jump to_host\n"
		   "\t}\n",
		ifname);
	fprintf(f, "\tchain output {\n"
		   "\t\ttype filter hook output priority filter; policy accept;\n"
		   "\t\toifname \"%s\" jump from_host\n"
		   "\t}\n",
		ifname);
	fprintf(f, "\tchain postrouting {\n"
		   "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	if (addr4)
		fprintf(f, "\t\tip saddr %s oifname != \"%s\" masquerade\n", addr4, ifname);
	if (addr6)
		fprintf(f, "\t\tip6 saddr %s oifname != \"%s\" masquerade\n", addr6, ifname);
	fputs("\t}\n", f);

	/* Connections the session opens to other hosts: deny wins, then allow, then default. */
	fprintf(f, "\tchain egress {\n"
		   "\t\tct state established,related accept\n"
		   "\t\tct state invalid drop\n"
		   "\t\tip saddr %s%s drop\n"
		   "\t\tip6 saddr %s%s drop\n",
		nomatch4, src4, nomatch6, src6);
	print_rules(f, "deny", deny, p->n_deny, "goto refuse");
	print_rules(f, "allow", allow, p->n_allow, "accept");
	fprintf(f, "\t\t%s\n\t}\n", p->egress_default == MXC_POLICY_ALLOW ? "accept" : "goto refuse");

	/* Connections to the session from routed networks. */
	fprintf(f, "\tchain ingress {\n"
		   "\t\tct state established,related accept\n"
		   "\t\t%s\n"
		   "\t}\n",
		p->ingress_default == MXC_POLICY_ALLOW ? "ct state new accept\n\t\tdrop" : "drop");

	/*
	 * The session reaching the host itself. Neighbour discovery is what makes the link
	 * work at all (IPv4's ARP is not IP and never gets here); deny rules still win.
	 */
	fprintf(f, "\tchain to_host {\n"
		   "\t\tct state established,related accept\n"
		   "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n"
		   "\t\tct state invalid drop\n"
		   "\t\tip saddr %s%s drop\n",
		nomatch4, src4);
	if (addr6)
		fprintf(f, "\t\tip6 saddr != { %s, fe80::/10 } drop\n", addr6);
	else
		fputs("\t\tmeta nfproto ipv6 drop\n", f);
	print_rules(f, "deny", deny, p->n_deny, "goto refuse");
	fprintf(f, "\t\t%s\n\t}\n", p->host_loopback == MXC_POLICY_ALLOW ? "accept" : "goto refuse");

	/*
	 * The host reaching the session. ICMP errors pass: the host's own rejections (and
	 * "packet too big" on the way back) are not part of a tracked connection.
	 */
	fprintf(f, "\tchain from_host {\n"
		   "\t\tct state established,related accept\n"
		   "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, destination-unreachable, "
		   "packet-too-big, time-exceeded, parameter-problem } accept\n"
		   "\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem } accept\n"
		   "\t\t%s\n"
		   "\t}\n",
		p->host_loopback == MXC_POLICY_ALLOW ? "accept" : "drop");

	/* A refusal the agent sees at once rather than after a timeout. */
	fputs("\tchain refuse {\n"
	      "\t\tmeta l4proto tcp reject with tcp reset\n"
	      "\t\treject with icmpx type admin-prohibited\n"
	      "\t}\n"
	      "}\n",
	      f);
	if (fclose(f) != 0) {
		r = mxc_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	*ret = text;
	text = NULL;
	r = 0;
out:
	free(text);
	crules_free(deny, p->n_deny);
	crules_free(allow, p->n_allow);
	return r;
}

/* ---- policy checks ---- */

static bool cidr_within(const struct mxc_policy_cidr *c, int family, const char *net, unsigned len)
{
	uint8_t a[16] = { 0 };
	if (c->family != family || c->prefix < len || inet_pton(family, net, a) != 1)
		return false;
	u128 mask = ~host_mask(family, len);
	return (addr_to_u128(family, c->addr) & mask) == (addr_to_u128(family, a) & mask);
}

static int check_rules(const struct mxc_policy_net_rule *rules, size_t n, const char *list,
		       struct mxc_error *err)
{
	char text[MXC_POLICY_CIDR_STRLEN];
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < rules[i].n_to; j++) {
			const struct mxc_policy_cidr *c = &rules[i].to[j].cidr;
			mxc_policy_cidr_to_string(c, text, sizeof(text));
			if (cidr_within(c, AF_INET, "127.0.0.0", 8) ||
			    cidr_within(c, AF_INET6, "::1", 128))
				return mxc_error_set(
					err, -EOPNOTSUPP,
					"network.egress.%s[%zu].to[%zu].cidr: %s is the session's own "
					"loopback, which never leaves the session and cannot be "
					"filtered; the host's loopback is network.ingress.hostLoopback",
					list, i, j, text);
			if (cidr_within(c, AF_INET6, "::ffff:0:0", 96))
				return mxc_error_set(
					err, -EOPNOTSUPP,
					"network.egress.%s[%zu].to[%zu].cidr: %s is IPv4-mapped: such "
					"packets leave as IPv4 and would never meet this rule; write "
					"the IPv4 network",
					list, i, j, text);
		}
	}
	return 0;
}

int mxc_net_check(const struct mxc_policy_network *p, struct mxc_error *err)
{
	int r = check_rules(p->deny, p->n_deny, "deny", err);
	return r < 0 ? r : check_rules(p->allow, p->n_allow, "allow", err);
}

bool mxc_net_needs_veth(const struct mxc_policy_network *p)
{
	return p->egress_default == MXC_POLICY_ALLOW || p->n_allow > 0 ||
	       p->ingress_default == MXC_POLICY_ALLOW || p->host_loopback == MXC_POLICY_ALLOW;
}

/* Whether packets are routed through the host at all (rather than to and from it). */
static bool needs_forwarding(const struct mxc_policy_network *p)
{
	return p->egress_default == MXC_POLICY_ALLOW || p->n_allow > 0 ||
	       p->ingress_default == MXC_POLICY_ALLOW;
}

/* ---- nftables ---- */

/*
 * Runs nft commands (one atomic transaction) in the calling thread's network namespace.
 * With json, *ret_out (if not NULL) receives the JSON output; the caller frees it.
 */
static int nft_run(const char *cmds, bool json, char **ret_out, struct mxc_error *err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return mxc_error_set(err, -ENOMEM, "failed to create an nftables context");
	int r = 0;
	if (json)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		r = mxc_error_set(err, -ENOMEM, "failed to set up nftables buffers");
		goto out;
	}
	if (nft_run_cmd_from_buffer(ctx, cmds) != 0) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		size_t n = e ? strcspn(e, "\n") : 0;
		r = mxc_error_set(err, -EIO, "nftables: %.*s", (int)(n > 300 ? 300 : n), e ? e : "");
		goto out;
	}
	if (ret_out) {
		const char *o = nft_ctx_get_output_buffer(ctx);
		if (!(*ret_out = strdup(o ? o : "")))
			r = mxc_error_set(err, -ENOMEM, "out of memory");
	}
out:
	nft_ctx_free(ctx);
	return r;
}

/* Removes the table if it exists: "add" makes the "delete" safe, in one transaction. */
static int table_remove(const char *id, struct mxc_error *err)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "add table inet " TABLE_PREFIX "%s\ndelete table inet " TABLE_PREFIX "%s\n",
		 id, id);
	int r = nft_run(cmd, false, NULL, err);
	return r < 0 ? mxc_error_prefix(err, "failed to remove the nftables table of session '%s'", id)
		     : 0;
}

/* Parses `nft -j list ...` output and calls fn for each object of kind ("table", "chain"). */
static int nft_each(const char *cmd, const char *kind,
		    int (*fn)(struct json_object *o, void *data), void *data, struct mxc_error *err)
{
	char *out = NULL;
	int r = nft_run(cmd, true, &out, err);
	if (r < 0)
		return r;
	struct json_object *root = json_tokener_parse(out), *list;
	free(out);
	if (!root || !json_object_object_get_ex(root, "nftables", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(root);
		return mxc_error_set(err, -EIO, "nftables: unexpected JSON listing");
	}
	for (size_t i = 0; i < json_object_array_length(list) && r == 0; i++) {
		struct json_object *o;
		if (json_object_object_get_ex(json_object_array_get_idx(list, i), kind, &o))
			r = fn(o, data);
	}
	json_object_put(root);
	return r;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : "";
}

struct host_check {
	bool forward, input;
	char *notice;
	size_t size;
};

/* Called for each chain of the host's ruleset: notes base chains that drop by default. */
static int note_dropping_chain(struct json_object *o, void *data)
{
	struct host_check *hc = data;
	const char *table = json_str(o, "table"), *hook = json_str(o, "hook");
	if (strncmp(table, TABLE_PREFIX, strlen(TABLE_PREFIX)) == 0 || strcmp(json_str(o, "policy"), "drop") != 0)
		return 0;
	if (!((hc->forward && strcmp(hook, "forward") == 0) || (hc->input && strcmp(hook, "input") == 0)))
		return 0;
	size_t used = strlen(hc->notice);
	snprintf(hc->notice + used, hc->size - used,
		 "%sthe host's nftables chain '%s %s %s' (hook %s) drops packets by default; mxc's "
		 "rules cannot override it: it must accept traffic of the interfaces " LINK_PREFIX "*"
		 " (with Docker: the DOCKER-USER chain)",
		 used ? "; " : "", json_str(o, "family"), table, json_str(o, "name"), hook);
	return 0;
}

/* ---- sysctls ---- */

static int sysctl_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	int r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int sysctl_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = mxc_write_all(fd, value, strlen(value));
	close(fd);
	return r;
}

static bool sysctl_is(const char *path, const char *value)
{
	char buf[32];
	return sysctl_read(path, buf, sizeof(buf)) == 0 && strcmp(buf, value) == 0;
}

/* Whether IPv6 is usable in the calling thread's network namespace for new interfaces. */
static bool ipv6_available(void)
{
	return access("/proc/sys/net/ipv6/conf/default", F_OK) == 0 &&
	       !sysctl_is("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1") &&
	       !sysctl_is("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
}

static void append_notice(struct mxc_net *n, const char *fmt, ...) MXC_PRINTF(2, 3);
static void append_notice(struct mxc_net *n, const char *fmt, ...)
{
	size_t used = strlen(n->notice);
	va_list ap;
	if (used && used + 2 < sizeof(n->notice)) {
		memcpy(n->notice + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(n->notice + used, sizeof(n->notice) - used, fmt, ap);
	va_end(ap);
}

/*
 * Turning on IPv6 forwarding makes the kernel ignore router advertisements wherever
 * accept_ra is 1: those interfaces (and the default for new ones) get 2, which keeps the
 * host's own autoconfiguration exactly as it was.
 */
static int keep_accepting_ra(void)
{
	DIR *d = opendir("/proc/sys/net/ipv6/conf");
	if (!d)
		return -errno;
	int r = 0;
	for (struct dirent *e; (e = readdir(d));) {
		char path[PATH_MAX];
		if (e->d_name[0] == '.' || strcmp(e->d_name, "all") == 0 ||
		    strncmp(e->d_name, LINK_PREFIX, strlen(LINK_PREFIX)) == 0)
			continue;
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_ra", e->d_name);
		if (sysctl_is(path, "1") && sysctl_write(path, "2") < 0 && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	return r;
}

static int enable_forwarding(struct mxc_net *n, bool allowed, bool v6, struct mxc_error *err)
{
	static const char v4path[] = "/proc/sys/net/ipv4/ip_forward";
	static const char v6path[] = "/proc/sys/net/ipv6/conf/all/forwarding";
	bool on4 = sysctl_is(v4path, "1"), on6 = !v6 || sysctl_is(v6path, "1");
	if (on4 && on6)
		return 0;
	if (!allowed)
		return mxc_error_set(err, -EOPNOTSUPP,
				     "network: %s forwarding is off in mxc-sessiond's network "
				     "namespace (%s = 0) and the daemon may not turn it on; a session "
				     "that reaches beyond the host cannot be given its network",
				     on4 ? "IPv6" : "IPv4", on4 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward");
	int r;
	if (!on4) {
		if ((r = sysctl_write(v4path, "1")) < 0)
			return mxc_error_errno(err, r, "failed to turn on IPv4 forwarding");
		append_notice(n, "turned on IPv4 forwarding (net.ipv4.ip_forward = 1) for session networks");
	}
	if (!on6) {
		if ((r = keep_accepting_ra()) < 0)
			return mxc_error_errno(err, r, "failed to keep accepting IPv6 router advertisements");
		if ((r = sysctl_write(v6path, "1")) < 0)
			return mxc_error_errno(err, r, "failed to turn on IPv6 forwarding");
		append_notice(n, "turned on IPv6 forwarding (net.ipv6.conf.all.forwarding = 1) for "
				 "session networks; interfaces with accept_ra = 1 now have 2");
	}
	return 0;
}

/* ---- rtnetlink ---- */

struct nl {
	struct mnl_socket *sock;
	uint32_t portid, seq;
};

static int nl_open(struct nl *nl)
{
	*nl = (struct nl){ 0 };
	if (!(nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)))
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return r;
	}
	/* The kernel answers at once; a daemon must never hang on it all the same. */
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)mxc_now_mono_ns();
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* Sends nlh and reads until the acknowledgement (or the end of a dump); -errno from the kernel. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[32768];
	nlh->nlmsg_seq = ++nl->seq;
	/* NLM_F_DUMP is two bits, one of them NLM_F_EXCL's. */
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		errno = 0;
		int r = mnl_cb_run(buf, (size_t)n, nl->seq, nl->portid, cb, data);
		if (r < 0)
			return errno ? -errno : -EIO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *nl_msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/* Creates the pair: name here, MXC_NET_IFNAME directly in the namespace nsfd. */
static int nl_add_veth(struct nl *nl, const char *name, int nsfd)
{
	char buf[1024];
	struct nlmsghdr *nlh = nl_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow its own ifinfomsg. */
	struct ifinfomsg *pifm = mnl_nlmsg_get_payload_tail(nlh);
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, MXC_NET_IFNAME);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int nl_del_link(struct nl *nl, const char *name)
{
	char buf[256];
	struct nlmsghdr *nlh = nl_msg(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int r = nl_talk(nl, nlh, NULL, NULL);
	return r == -ENODEV ? 0 : r;
}

static int nl_link_up(struct nl *nl, int ifindex)
{
	char buf[256];
	struct nlmsghdr *nlh = nl_msg(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return nl_talk(nl, nlh, NULL, NULL);
}

struct link_state {
	int index;
	bool ready; /* operationally up, with a real queueing discipline */
	uint8_t mac[6];
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);
	if (type <= IFLA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int link_state_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_state *st = data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	st->index = ifm->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(st->mac))
		memcpy(st->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), sizeof(st->mac));
	st->ready = tb[IFLA_OPERSTATE] && mnl_attr_get_u8(tb[IFLA_OPERSTATE]) == IF_OPER_UP &&
		    tb[IFLA_QDISC] && mnl_attr_validate(tb[IFLA_QDISC], MNL_TYPE_STRING) == 0 &&
		    strcmp(mnl_attr_get_str(tb[IFLA_QDISC]), "noop") != 0;
	return MNL_CB_OK;
}

/* The state of the link name (or, with name NULL, of index); -ENODEV if there is none. */
static int nl_getlink(struct nl *nl, const char *name, int index, struct link_state *ret)
{
	char buf[256];
	struct link_state st = { 0 };
	struct nlmsghdr *nlh = nl_msg(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* A GET answers with the link, not an ack: no NLM_F_ACK, stop at the one message. */
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	char rbuf[8192];
	ssize_t n = mnl_socket_recvfrom(nl->sock, rbuf, sizeof(rbuf));
	if (n < 0)
		return -errno;
	errno = 0;
	if (mnl_cb_run(rbuf, (size_t)n, nl->seq, nl->portid, link_state_cb, &st) < 0)
		return errno ? -errno : -EIO;
	if (st.index <= 0)
		return -ENODEV;
	*ret = st;
	return 0;
}

/* The index of the link name, -ENODEV if there is none. */
static int nl_ifindex(struct nl *nl, const char *name)
{
	struct link_state st;
	int r = nl_getlink(nl, name, 0, &st);
	return r < 0 ? r : st.index;
}

/*
 * Waits (at most 3 s) until both ends can carry packets. A link that has just come up drops
 * what it is given until the kernel's link watcher has given it its queueing discipline,
 * which can take up to a second: a session's first DNS query would be lost.
 */
static int wait_ready(struct nl *a, int aidx, struct nl *b, int bidx)
{
	for (int i = 0; i < 300; i++) {
		struct link_state sa, sb;
		int r = nl_getlink(a, NULL, aidx, &sa);
		if (r == 0)
			r = nl_getlink(b, NULL, bidx, &sb);
		if (r < 0)
			return r;
		if (sa.ready && sb.ready)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static int nl_add_addr(struct nl *nl, int ifindex, int family, u128 addr, unsigned len)
{
	char buf[256];
	uint8_t a[16];
	u128_to_addr(family, addr, a);
	struct nlmsghdr *nlh = nl_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	size_t alen = family == AF_INET ? 4 : 16;
	mnl_attr_put(nlh, IFA_LOCAL, alen, a);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a);
	if (family == AF_INET6) /* no duplicate detection on a link of two known ends */
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return nl_talk(nl, nlh, NULL, NULL);
}

/*
 * A permanent neighbour entry. Each end of the pair knows the other's hardware address from
 * the start: neighbour discovery would otherwise race the kernel's joining of the
 * solicited-node multicast group (done from a work queue after the address is added), and
 * a first solicitation lost that way costs the session's first connection a second.
 */
static int nl_add_neigh(struct nl *nl, int ifindex, int family, u128 addr, const uint8_t mac[static 6])
{
	char buf[256];
	uint8_t a[16];
	u128_to_addr(family, addr, a);
	struct nlmsghdr *nlh = nl_msg(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (uint8_t)family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_PERMANENT;
	mnl_attr_put(nlh, NDA_DST, family == AF_INET ? 4 : 16, a);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int nl_add_default_route(struct nl *nl, int ifindex, int family, u128 gateway)
{
	char buf[256];
	uint8_t a[16];
	u128_to_addr(family, gateway, a);
	struct nlmsghdr *nlh = nl_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, a);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nl_talk(nl, nlh, NULL, NULL);
}

struct addr_list {
	int family[512];
	u128 addr[512];
	size_t n;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_list *l = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	if (nlh->nlmsg_type != RTM_NEWADDR || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return MNL_CB_OK;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(attr) != IFA_ADDRESS || mnl_attr_get_payload_len(attr) != alen ||
		    l->n == MXC_ARRAY_SIZE(l->addr))
			continue;
		l->family[l->n] = ifa->ifa_family;
		l->addr[l->n++] = addr_to_u128(ifa->ifa_family, mnl_attr_get_payload(attr));
	}
	return MNL_CB_OK;
}

static int nl_dump(struct nl *nl, uint16_t type, size_t hdr, mnl_cb_t cb, void *data)
{
	char buf[256];
	struct nlmsghdr *nlh = nl_msg(buf, type, NLM_F_DUMP);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, hdr);
	g->rtgen_family = AF_UNSPEC;
	return nl_talk(nl, nlh, cb, data);
}

struct link_list {
	char (*names)[IFNAMSIZ];
	size_t n, cap;
	int r;
};

static int info_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);
	if (type <= IFLA_INFO_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* Collects the veth links whose names look like ours. */
static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_list *l = data;
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 }, *info[IFLA_INFO_MAX + 1] = { 0 };
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, tb);
	if (!tb[IFLA_IFNAME] || !tb[IFLA_LINKINFO] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_STRING) < 0)
		return MNL_CB_OK;
	const char *name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_attr_cb, info);
	if (strncmp(name, LINK_PREFIX, strlen(LINK_PREFIX)) != 0 || !id_valid(name + strlen(LINK_PREFIX)) ||
	    !info[IFLA_INFO_KIND] || mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_STRING) < 0 ||
	    strcmp(mnl_attr_get_str(info[IFLA_INFO_KIND]), "veth") != 0)
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *v = reallocarray(l->names, cap, IFNAMSIZ);
		if (!v) {
			l->r = -ENOMEM;
			return MNL_CB_OK;
		}
		l->names = v;
		l->cap = cap;
	}
	snprintf(l->names[l->n++], IFNAMSIZ, "%s", name);
	return MNL_CB_OK;
}

/* ---- setup ---- */

/* The per-session subnets of the pools, and how many there are. */
struct pools {
	u128 net4, net6;
	unsigned len4, len6, sub6;
	size_t slots;
};

static int pools_parse(const struct mxc_net_config *cfg, struct pools *p, struct mxc_error *err)
{
	const char *s4 = cfg && cfg->pool4 ? cfg->pool4 : MXC_NET_DEFAULT_POOL4;
	const char *s6 = cfg && cfg->pool6 ? cfg->pool6 : MXC_NET_DEFAULT_POOL6;
	if (parse_pool(s4, AF_INET, &p->net4, &p->len4) < 0 || p->len4 > 30)
		return mxc_error_set(err, -EINVAL, "invalid IPv4 pool '%s': want a network of /30 or larger", s4);
	if (parse_pool(s6, AF_INET6, &p->net6, &p->len6) < 0 || p->len6 > 124)
		return mxc_error_set(err, -EINVAL, "invalid IPv6 pool '%s': want a network of /124 or larger", s6);
	p->sub6 = p->len6 <= 63 ? 64 : 126;
	unsigned b4 = 30 - p->len4, b6 = p->sub6 - p->len6, bits = b4 < b6 ? b4 : b6;
	p->slots = (size_t)1 << (bits > 16 ? 16 : bits);
	return 0;
}

static u128 slot_net(const struct pools *p, int family, size_t slot)
{
	return family == AF_INET ? p->net4 + ((u128)slot << 2) : p->net6 + ((u128)slot << (128 - p->sub6));
}

/* The lowest slot whose subnets hold no address already configured in this namespace. */
static int pick_slot(struct nl *nl, const struct pools *p, size_t *ret, struct mxc_error *err)
{
	struct addr_list *l = calloc(1, sizeof(*l));
	if (!l)
		return mxc_error_set(err, -ENOMEM, "out of memory");
	int r = nl_dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), addr_cb, l);
	if (r < 0) {
		free(l);
		return mxc_error_errno(err, r, "failed to list the host's addresses");
	}
	for (size_t slot = 0; slot < p->slots; slot++) {
		u128 n4 = slot_net(p, AF_INET, slot), n6 = slot_net(p, AF_INET6, slot);
		bool used = false;
		for (size_t i = 0; i < l->n && !used; i++) {
			if (l->family[i] == AF_INET)
				used = (l->addr[i] & ~host_mask(AF_INET, 30)) == n4;
			else
				used = (l->addr[i] & ~host_mask(AF_INET6, p->sub6)) == n6;
		}
		if (!used) {
			free(l);
			*ret = slot;
			return 0;
		}
	}
	free(l);
	return mxc_error_set(err, -EADDRNOTAVAIL, "the session address pools are exhausted (%zu sessions)",
			     p->slots);
}

/*
 * Opens, from inside the session's network namespace, what the rest of the setup needs
 * there: an fd of the namespace and a netlink socket bound to it. The daemon's thread is in
 * the session's namespace only for these calls; were it unable to come back it could not
 * go on at all, so that aborts.
 */
static int enter_session(int leader_fd, bool v6, int *ret_nsfd, struct nl *ret_nl, struct mxc_error *err)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return mxc_error_errno(err, -errno, "failed to open the daemon's network namespace");
	if (setns(leader_fd, CLONE_NEWNET) < 0) {
		int r = mxc_error_errno(err, -errno, "failed to enter the session's network namespace");
		close(self);
		return r;
	}
	int r = 0, nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		r = mxc_error_errno(err, -errno, "failed to open the session's network namespace");
	else if ((r = nl_open(ret_nl)) < 0)
		mxc_error_errno(err, r, "failed to open netlink in the session's network namespace");
	/* eth0 is born with these: no duplicate address detection on a two-ended link. */
	else if (v6 && access("/proc/sys/net/ipv6/conf/default", F_OK) == 0 &&
		 ((r = sysctl_write("/proc/sys/net/ipv6/conf/default/accept_dad", "0")) < 0 ||
		  (r = sysctl_write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "0")) < 0))
		mxc_error_errno(err, r, "failed to configure IPv6 in the session's network namespace");
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(self);
	if (r < 0) {
		nl_close(ret_nl);
		mxc_close(nsfd);
		return r;
	}
	*ret_nsfd = nsfd;
	return 0;
}

int mxc_net_setup(const struct mxc_net_config *cfg, const char *session_id, int leader_pidfd,
		  const struct mxc_policy_network *policy, struct mxc_net **ret, struct mxc_error *err)
{
	char ifname[IFNAMSIZ], path[PATH_MAX];
	struct nl hnl = { 0 }, snl = { 0 };
	struct pools pools;
	struct mxc_net *n = NULL;
	char *ruleset = NULL;
	bool made_table = false, made_link = false;
	int nsfd = -1, r;

	if (!id_valid(session_id))
		return mxc_error_set(err, -EINVAL, "invalid session id for a network: want 1 to %d "
						   "letters and digits", MXC_NET_MAX_ID);
	if ((r = mxc_net_check(policy, err)) < 0)
		return r;
	if (!(n = calloc(1, sizeof(*n))))
		return mxc_error_set(err, -ENOMEM, "out of memory");
	snprintf(n->id, sizeof(n->id), "%s", session_id);
	if (!mxc_net_needs_veth(policy)) {
		*ret = n;
		return 0;
	}
	link_name(session_id, ifname);
	if ((r = pools_parse(cfg, &pools, err)) < 0)
		goto fail;
	if ((r = nl_open(&hnl)) < 0) {
		mxc_error_errno(err, r, "failed to open netlink");
		goto fail;
	}
	if (nl_ifindex(&hnl, ifname) > 0) {
		r = mxc_error_set(err, -EEXIST, "the network of session '%s' exists already (link %s)",
				  session_id, ifname);
		goto fail;
	}
	bool v6 = ipv6_available();
	if (!v6)
		append_notice(n, "IPv6 is not available in mxc-sessiond's network namespace: session "
				 "'%s' has IPv4 only", session_id);
	size_t slot = 0;
	if ((r = pick_slot(&hnl, &pools, &slot, err)) < 0)
		goto fail;
	u128 net4 = slot_net(&pools, AF_INET, slot), net6 = slot_net(&pools, AF_INET6, slot);
	format_addr(AF_INET, net4 + 1, n->gateway[0]);
	format_addr(AF_INET, net4 + 2, n->addr[0]);
	if (v6) {
		format_addr(AF_INET6, net6 + 1, n->gateway[1]);
		format_addr(AF_INET6, net6 + 2, n->addr[1]);
	}

	/* The filter first: from the moment the link exists, every packet meets it. */
	if ((r = mxc_net_ruleset(session_id, n->addr[0], v6 ? n->addr[1] : NULL, policy, &ruleset,
				 err)) < 0)
		goto fail;
	char *cmds;
	if (asprintf(&cmds, "add table inet " TABLE_PREFIX "%s\ndelete table inet " TABLE_PREFIX "%s\n%s",
		     session_id, session_id, ruleset) < 0) {
		r = mxc_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r = nft_run(cmds, false, NULL, err);
	free(cmds);
	if (r < 0) {
		mxc_error_prefix(err, "failed to load the network policy of session '%s'", session_id);
		goto fail;
	}
	made_table = true;
	if (needs_forwarding(policy) &&
	    (r = enable_forwarding(n, cfg && cfg->enable_forwarding, v6, err)) < 0)
		goto fail;

	if ((r = enter_session(leader_pidfd, v6, &nsfd, &snl, err)) < 0)
		goto fail;
	if ((r = nl_add_veth(&hnl, ifname, nsfd)) < 0) {
		mxc_error_errno(err, r, "failed to create the veth pair %s/%s", ifname, MXC_NET_IFNAME);
		goto fail;
	}
	made_link = true;

	/*
	 * Both ends up, and carrying packets, before any address: an IPv6 address added to a
	 * link without carrier stays tentative until the kernel notices the carrier, and the
	 * first packets to it are lost.
	 */
	int hidx = nl_ifindex(&hnl, ifname), sidx = nl_ifindex(&snl, MXC_NET_IFNAME);
	if (hidx < 0 || sidx < 0) {
		r = mxc_error_errno(err, hidx < 0 ? hidx : sidx, "failed to find %s",
				    hidx < 0 ? ifname : MXC_NET_IFNAME);
		goto fail;
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_dad", ifname);
	if (v6 && (r = sysctl_write(path, "0")) < 0) {
		mxc_error_errno(err, r, "failed to write %s", path);
		goto fail;
	}
	if ((r = nl_link_up(&hnl, hidx)) < 0 || (r = nl_link_up(&snl, sidx)) < 0) {
		mxc_error_errno(err, r, "failed to bring up %s", ifname);
		goto fail;
	}
	struct link_state hst, sst;
	if ((r = wait_ready(&hnl, hidx, &snl, sidx)) < 0 || (r = nl_getlink(&hnl, NULL, hidx, &hst)) < 0 ||
	    (r = nl_getlink(&snl, NULL, sidx, &sst)) < 0) {
		mxc_error_errno(err, r, "%s of session '%s' did not come up", ifname, session_id);
		goto fail;
	}
	if ((r = nl_add_addr(&hnl, hidx, AF_INET, net4 + 1, 30)) < 0 ||
	    (v6 && (r = nl_add_addr(&hnl, hidx, AF_INET6, net6 + 1, pools.sub6)) < 0) ||
	    (r = nl_add_neigh(&hnl, hidx, AF_INET, net4 + 2, sst.mac)) < 0 ||
	    (v6 && (r = nl_add_neigh(&hnl, hidx, AF_INET6, net6 + 2, sst.mac)) < 0)) {
		mxc_error_errno(err, r, "failed to configure %s", ifname);
		goto fail;
	}
	if ((r = nl_add_addr(&snl, sidx, AF_INET, net4 + 2, 30)) < 0 ||
	    (v6 && (r = nl_add_addr(&snl, sidx, AF_INET6, net6 + 2, pools.sub6)) < 0) ||
	    (r = nl_add_neigh(&snl, sidx, AF_INET, net4 + 1, hst.mac)) < 0 ||
	    (v6 && (r = nl_add_neigh(&snl, sidx, AF_INET6, net6 + 1, hst.mac)) < 0) ||
	    (r = nl_add_default_route(&snl, sidx, AF_INET, net4 + 1)) < 0 ||
	    (v6 && (r = nl_add_default_route(&snl, sidx, AF_INET6, net6 + 1)) < 0)) {
		mxc_error_errno(err, r, "failed to configure %s in session '%s'", MXC_NET_IFNAME,
				session_id);
		goto fail;
	}

	/* What the host's own ruleset may do to us: said, not changed. */
	char warn[768] = "";
	struct host_check hc = { .forward = needs_forwarding(policy),
				 .input = policy->host_loopback == MXC_POLICY_ALLOW,
				 .notice = warn,
				 .size = sizeof(warn) };
	struct mxc_error ignored = { 0 };
	if (nft_each("list chains", "chain", note_dropping_chain, &hc, &ignored) == 0 && warn[0])
		append_notice(n, "%s", warn);

	n->veth = true;
	nl_close(&hnl);
	nl_close(&snl);
	close(nsfd);
	free(ruleset);
	*ret = n;
	return 0;

fail:
	if (made_link)
		nl_del_link(&hnl, ifname);
	if (made_table)
		table_remove(session_id, NULL);
	nl_close(&hnl);
	nl_close(&snl);
	mxc_close(nsfd);
	free(ruleset);
	free(n);
	return r;
}

/* ---- teardown ---- */

int mxc_net_remove(const char *session_id, struct mxc_error *err)
{
	char ifname[IFNAMSIZ];
	struct nl nl;
	if (!id_valid(session_id))
		return mxc_error_set(err, -EINVAL, "invalid session id for a network");
	link_name(session_id, ifname);
	int r = nl_open(&nl);
	if (r == 0) {
		r = nl_del_link(&nl, ifname);
		nl_close(&nl);
	}
	if (r < 0)
		mxc_error_errno(err, r, "failed to remove %s of session '%s'", ifname, session_id);
	struct mxc_error terr = { 0 };
	int t = table_remove(session_id, &terr);
	if (t < 0 && r == 0) {
		if (err)
			*err = terr;
		r = t;
	}
	return r;
}

int mxc_net_teardown(struct mxc_net *n, struct mxc_error *err)
{
	if (!n)
		return 0;
	int r = n->veth ? mxc_net_remove(n->id, err) : 0;
	free(n);
	return r;
}

struct stale {
	char *const *live;
	char (*ids)[MXC_NET_MAX_ID + 1];
	size_t n, cap;
};

static int stale_push(struct stale *s, const char *id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *v = reallocarray(s->ids, cap, sizeof(*s->ids));
		if (!v)
			return -ENOMEM;
		s->ids = v;
		s->cap = cap;
	}
	snprintf(s->ids[s->n++], sizeof(*s->ids), "%s", id);
	return 0;
}

/* Called for each table of the host's ruleset: remembers ours of dead sessions. */
static int note_stale_table(struct json_object *o, void *data)
{
	struct stale *s = data;
	const char *name = json_str(o, "name"), *id = name + strlen(TABLE_PREFIX);
	if (strcmp(json_str(o, "family"), "inet") != 0 ||
	    strncmp(name, TABLE_PREFIX, strlen(TABLE_PREFIX)) != 0 || !id_valid(id) || in_strv(s->live, id))
		return 0;
	return stale_push(s, id);
}

int mxc_net_cleanup_stale(char *const *live_session_ids, struct mxc_error *err)
{
	struct link_list links = { 0 };
	struct stale s = { .live = live_session_ids };
	struct nl nl;
	int r = nl_open(&nl);
	if (r < 0)
		return mxc_error_errno(err, r, "failed to open netlink");
	r = nl_dump(&nl, RTM_GETLINK, sizeof(struct ifinfomsg), link_cb, &links);
	if (r < 0 || links.r < 0) {
		r = mxc_error_errno(err, r < 0 ? r : links.r, "failed to list network links");
		goto out;
	}
	for (size_t i = 0; i < links.n; i++) {
		const char *id = links.names[i] + strlen(LINK_PREFIX);
		if (in_strv(live_session_ids, id))
			continue;
		if ((r = nl_del_link(&nl, links.names[i])) < 0) {
			mxc_error_errno(err, r, "failed to remove stale link %s", links.names[i]);
			goto out;
		}
	}
	if ((r = nft_each("list tables", "table", note_stale_table, &s, err)) < 0)
		goto out;
	for (size_t i = 0; i < s.n && r == 0; i++)
		r = table_remove(s.ids[i], err);
out:
	nl_close(&nl);
	free(links.names);
	free(s.ids);
	return r;
}

/* ---- accessors ---- */

const char *mxc_net_notice(const struct mxc_net *n)
{
	return n && n->notice[0] ? n->notice : NULL;
}

const char *mxc_net_address(const struct mxc_net *n, int family)
{
	if (!n || !n->veth || (family != AF_INET && family != AF_INET6))
		return NULL;
	const char *a = n->addr[fam_index(family)];
	return a[0] ? a : NULL;
}

const char *mxc_net_gateway(const struct mxc_net *n, int family)
{
	if (!n || !n->veth || (family != AF_INET && family != AF_INET6))
		return NULL;
	const char *a = n->gateway[fam_index(family)];
	return a[0] ? a : NULL;
}
