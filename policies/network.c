/* network: MXC 0.8's directional egress/ingress rules, and the legacy 0.6 fields. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "parse-internal.h"

#define MAX_CIDR_TEXT 64

static const struct name_value net_actions[] = {
    {"allow", MXC_POLICY_ALLOW},
    {"deny", MXC_POLICY_DENY},
    {NULL, 0},
};

static const struct name_value protocols[] = {
    {"tcp", MXC_POLICY_PROTO_TCP},
    {"udp", MXC_POLICY_PROTO_UDP},
    {"icmp", MXC_POLICY_PROTO_ICMP},
    {"any", MXC_POLICY_PROTO_ANY},
    {NULL, 0},
};

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void clear_host_bits(struct mxc_policy_cidr *c)
{
	unsigned bits = family_bits(c->family);
	for (unsigned b = c->prefix; b < bits; b++)
		c->addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
}

int policy_parse_cidr(const char *s, struct mxc_policy_cidr *ret, char *why, size_t why_len)
{
	char buf[MAX_CIDR_TEXT + 1];
	size_t len = strlen(s);
	if (len == 0 || len > MAX_CIDR_TEXT) {
		snprintf(why, why_len, "must be a CIDR such as 192.0.2.0/24 or 2001:db8::/32");
		return -EINVAL;
	}
	memcpy(buf, s, len + 1);

	struct mxc_policy_cidr c = {0};
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	c.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c.family, buf, c.addr) != 1) {
		snprintf(why, why_len, "\"%s\" is not an IP%s address", buf,
			 c.family == AF_INET ? "v4" : "v6");
		return -EINVAL;
	}
	unsigned bits = family_bits(c.family);
	if (!slash) {
		c.prefix = (uint8_t)bits;
	} else {
		const char *q = slash + 1;
		size_t qn = strlen(q);
		unsigned v = 0;
		bool ok = qn >= 1 && qn <= 3 && !(qn > 1 && q[0] == '0');
		for (size_t i = 0; ok && i < qn; i++) {
			ok = q[i] >= '0' && q[i] <= '9';
			v = v * 10 + (unsigned)(q[i] - '0');
		}
		if (!ok || v > bits) {
			snprintf(why, why_len, "prefix length must be between 0 and %u", bits);
			return -EINVAL;
		}
		c.prefix = (uint8_t)v;
	}
	struct mxc_policy_cidr net = c;
	clear_host_bits(&net);
	if (memcmp(net.addr, c.addr, sizeof(c.addr)) != 0) {
		char text[MXC_POLICY_CIDR_STRLEN];
		snprintf(why, why_len, "host bits set; did you mean %s?",
			 mxc_policy_cidr_to_string(&net, text, sizeof(text)));
		return -EINVAL;
	}
	*ret = c;
	return 0;
}

const char *mxc_policy_cidr_to_string(const struct mxc_policy_cidr *c, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	if (!inet_ntop(c->family, c->addr, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "?");
	snprintf(buf, size, "%s/%u", addr, c->prefix);
	return buf;
}

bool policy_cidr_contains(const struct mxc_policy_cidr *outer, const struct mxc_policy_cidr *inner)
{
	if (outer->family != inner->family || inner->prefix < outer->prefix)
		return false;
	struct mxc_policy_cidr masked = *inner;
	masked.prefix = outer->prefix;
	clear_host_bits(&masked);
	return memcmp(masked.addr, outer->addr, sizeof(masked.addr)) == 0;
}

static int get_cidr(struct pctx *c, const char *s, struct mxc_policy_cidr *ret)
{
	char why[160];
	if (policy_parse_cidr(s, ret, why, sizeof(why)) < 0)
		return perr(c, -EINVAL, "%s", why);
	return 0;
}

static int parse_peer(struct pctx *c, struct json_object *o, struct mxc_policy_peer *peer)
{
	static const char *const keys[] = {"cidr", "except", NULL};
	if (!json_object_is_type(o, json_type_object))
		return perr(c, -EINVAL, "must be an object");
	int r = policy_check_keys(c, o, keys);
	if (r < 0)
		return r;
	const char *s;
	r = policy_get_string(c, o, "cidr", MAX_CIDR_TEXT, &s);
	if (r == -ENOENT)
		return perr_key(c, "cidr", -EINVAL, "required");
	if (r < 0)
		return r;
	size_t mark = path_push_key(c, "cidr");
	r = get_cidr(c, s, &peer->cidr);
	path_pop(c, mark);
	if (r < 0)
		return r;

	struct json_object *arr;
	r = policy_get_array(c, o, "except", MXC_POLICY_MAX_EXCEPT, &arr);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t n = json_object_array_length(arr);
	if (n == 0)
		return 0;
	peer->except = calloc(n, sizeof(*peer->except));
	if (!peer->except)
		return perr_oom(c);
	mark = path_push_key(c, "except");
	for (size_t i = 0; i < n; i++) {
		r = policy_array_string(c, arr, i, MAX_CIDR_TEXT, &s);
		if (r < 0)
			break;
		size_t imark = path_push_index(c, i);
		struct mxc_policy_cidr *e = &peer->except[i];
		r = get_cidr(c, s, e);
		if (r == 0 &&
		    (!policy_cidr_contains(&peer->cidr, e) || e->prefix == peer->cidr.prefix)) {
			char text[MXC_POLICY_CIDR_STRLEN];
			r = perr(c, -EINVAL, "must lie inside cidr %s",
				 mxc_policy_cidr_to_string(&peer->cidr, text, sizeof(text)));
		}
		path_pop(c, imark);
		if (r < 0)
			break;
		peer->n_except++;
	}
	path_pop(c, mark);
	return r;
}

static int parse_port(struct pctx *c, struct json_object *o, struct mxc_policy_port *port)
{
	static const char *const keys[] = {"protocol", "port", "endPort", NULL};
	if (!json_object_is_type(o, json_type_object))
		return perr(c, -EINVAL, "must be an object");
	int r = policy_check_keys(c, o, keys);
	if (r < 0)
		return r;
	int proto = MXC_POLICY_PROTO_ANY;
	r = policy_get_enum(c, o, "protocol", protocols, &proto);
	if (r < 0 && r != -ENOENT)
		return r;
	port->protocol = (enum mxc_policy_protocol)proto;

	uint64_t first = 0, last = 0;
	r = policy_get_uint(c, o, "port", 1, 65535, &first);
	if (r < 0 && r != -ENOENT)
		return r;
	bool has_port = r == 0;
	r = policy_get_uint(c, o, "endPort", 1, 65535, &last);
	if (r < 0 && r != -ENOENT)
		return r;
	bool has_end = r == 0;
	if (has_port && proto == MXC_POLICY_PROTO_ICMP)
		return perr_key(c, "port", -EINVAL, "not allowed with protocol \"icmp\"");
	if (has_end && !has_port)
		return perr_key(c, "endPort", -EINVAL, "requires port");
	if (has_end && last < first)
		return perr_key(c, "endPort", -EINVAL, "must be >= port (%llu)",
				(unsigned long long)first);
	port->port = (uint16_t)first;
	port->end_port = (uint16_t)(has_end ? last : first);
	return 0;
}

static void rule_free(struct mxc_policy_net_rule *rule)
{
	for (size_t i = 0; i < rule->n_to; i++)
		free(rule->to[i].except);
	free(rule->to);
	free(rule->ports);
}

static int parse_rule(struct pctx *c, struct json_object *o, struct mxc_policy_net_rule *rule)
{
	static const char *const keys[] = {"to", "ports", NULL};
	if (!json_object_is_type(o, json_type_object))
		return perr(c, -EINVAL, "must be an object");
	int r = policy_check_keys(c, o, keys);
	if (r < 0)
		return r;

	struct json_object *arr;
	r = policy_get_array(c, o, "to", MXC_POLICY_MAX_PEERS, &arr);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0) {
		size_t n = json_object_array_length(arr);
		if (n == 0)
			return perr_key(c, "to", -EINVAL,
					"must not be empty (omit it to match every destination)");
		rule->to = calloc(n, sizeof(*rule->to));
		if (!rule->to)
			return perr_oom(c);
		size_t mark = path_push_key(c, "to");
		for (size_t i = 0; i < n && r == 0; i++) {
			size_t imark = path_push_index(c, i);
			/* Counted first so that a half-parsed peer's except list is freed. */
			rule->n_to++;
			r = parse_peer(c, json_object_array_get_idx(arr, i), &rule->to[i]);
			path_pop(c, imark);
		}
		path_pop(c, mark);
		if (r < 0)
			return r;
	}

	r = policy_get_array(c, o, "ports", MXC_POLICY_MAX_PORTS, &arr);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t n = json_object_array_length(arr);
	if (n == 0)
		return perr_key(c, "ports", -EINVAL,
				"must not be empty (omit it to match every protocol and port)");
	rule->ports = calloc(n, sizeof(*rule->ports));
	if (!rule->ports)
		return perr_oom(c);
	size_t mark = path_push_key(c, "ports");
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t imark = path_push_index(c, i);
		r = parse_port(c, json_object_array_get_idx(arr, i), &rule->ports[i]);
		path_pop(c, imark);
		if (r == 0)
			rule->n_ports++;
	}
	path_pop(c, mark);
	return r;
}

static int parse_rules(struct pctx *c, struct json_object *egress, const char *key,
		       struct mxc_policy_net_rule **ret, size_t *ret_n)
{
	struct json_object *arr;
	int r = policy_get_array(c, egress, key, MXC_POLICY_MAX_NET_RULES, &arr);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t n = json_object_array_length(arr);
	if (n == 0)
		return 0;
	*ret = calloc(n, sizeof(**ret));
	if (!*ret)
		return perr_oom(c);
	size_t mark = path_push_key(c, key);
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t imark = path_push_index(c, i);
		(*ret_n)++;
		r = parse_rule(c, json_object_array_get_idx(arr, i), &(*ret)[i]);
		path_pop(c, imark);
	}
	path_pop(c, mark);
	return r;
}

static int parse_egress(struct pctx *c, struct json_object *net, struct mxc_policy_network *n)
{
	static const char *const keys[] = {"default", "allow", "deny", NULL};
	struct json_object *eg;
	int r = policy_get_object(c, net, "egress", &eg);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t mark = path_push_key(c, "egress");
	r = policy_check_keys(c, eg, keys);
	int v = MXC_POLICY_DENY;
	if (r == 0) {
		r = policy_get_enum(c, eg, "default", net_actions, &v);
		if (r == -ENOENT)
			r = 0;
	}
	n->egress_default = (enum mxc_policy_action)v;
	if (r == 0)
		r = parse_rules(c, eg, "allow", &n->allow, &n->n_allow);
	if (r == 0)
		r = parse_rules(c, eg, "deny", &n->deny, &n->n_deny);
	path_pop(c, mark);
	return r;
}

static int parse_ingress(struct pctx *c, struct json_object *net, struct mxc_policy_network *n)
{
	static const char *const keys[] = {"default", "hostLoopback", NULL};
	struct json_object *in;
	int r = policy_get_object(c, net, "ingress", &in);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t mark = path_push_key(c, "ingress");
	r = policy_check_keys(c, in, keys);
	int v = MXC_POLICY_DENY, lo = MXC_POLICY_DENY;
	if (r == 0) {
		r = policy_get_enum(c, in, "default", net_actions, &v);
		if (r == -ENOENT)
			r = 0;
	}
	if (r == 0) {
		r = policy_get_enum(c, in, "hostLoopback", net_actions, &lo);
		if (r == -ENOENT)
			r = 0;
	}
	n->ingress_default = (enum mxc_policy_action)v;
	n->host_loopback = (enum mxc_policy_action)lo;
	path_pop(c, mark);
	return r;
}

/* MXC 0.6's network fields, mapped onto the directional model where mxc can honour them. */
static int parse_legacy(struct pctx *c, struct json_object *net, struct mxc_policy_network *n)
{
	static const struct name_value default_policies[] = {
	    {"allow", MXC_POLICY_ALLOW},
	    {"block", MXC_POLICY_DENY},
	    {NULL, 0},
	};
	static const struct name_value enforcement[] = {
	    {"capabilities", 0},
	    {"firewall", 1},
	    {"both", 2},
	    {NULL, 0},
	};
	static const struct {
		const char *key, *rule;
	} hosts[] = {
	    {"allowedHosts", "network.egress.allow"},
	    {"blockedHosts", "network.egress.deny"},
	};
	int v, r;

	r = policy_get_enum(c, net, "defaultPolicy", default_policies, &v);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0)
		n->egress_default = (enum mxc_policy_action)v;

	r = policy_get_enum(c, net, "enforcementMode", enforcement, &v);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0) {
		r = pwarn_key(c, "enforcementMode",
			      "ignored: mxc always enforces network policy with its own packet "
			      "filter in the session's network namespace");
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < MXC_ARRAY_SIZE(hosts); i++) {
		struct json_object *arr;
		r = policy_get_array(c, net, hosts[i].key, MXC_POLICY_MAX_NET_RULES, &arr);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r == 0 && json_object_array_length(arr) > 0)
			return perr_key(c, hosts[i].key, -EOPNOTSUPP,
					"not supported: mxc enforces network policy with a packet "
					"filter and cannot match host names; use %s with CIDRs",
					hosts[i].rule);
	}

	bool local = false;
	r = policy_get_bool(c, net, "allowLocalNetwork", &local);
	if (r < 0 && r != -ENOENT)
		return r;
	n->ingress_default = local ? MXC_POLICY_ALLOW : MXC_POLICY_DENY;

	struct json_object *proxy;
	r = policy_get_object(c, net, "proxy", &proxy);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0)
		return perr_key(c, "proxy", -EOPNOTSUPP,
				"not supported: mxc does not route sessions through a proxy; allow "
				"the proxy's address in network.egress and set HTTPS_PROXY in the "
				"session's environment");
	return 0;
}

int policy_parse_network(struct pctx *c, struct json_object *root, struct mxc_policy *p)
{
	static const char *const keys[] = {"egress",	      "ingress",      "defaultPolicy",
					   "allowedHosts",    "blockedHosts", "allowLocalNetwork",
					   "enforcementMode", "proxy",	      NULL};
	static const char *const legacy[] = {"defaultPolicy",	  "allowedHosts",    "blockedHosts",
					     "allowLocalNetwork", "enforcementMode", "proxy"};
	static const char *const directional[] = {"egress", "ingress"};
	struct mxc_policy_network *n = &p->network;
	n->egress_default = MXC_POLICY_DENY;
	n->ingress_default = MXC_POLICY_DENY;
	n->host_loopback = MXC_POLICY_DENY;

	struct json_object *net, *v;
	int r = policy_get_object(c, root, "network", &net);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	size_t mark = path_push_key(c, "network");
	r = policy_check_keys(c, net, keys);
	if (r < 0)
		goto out;

	const char *legacy_key = NULL, *dir_key = NULL;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(legacy) && !legacy_key; i++)
		if (policy_member(net, legacy[i], &v) == 0)
			legacy_key = legacy[i];
	for (size_t i = 0; i < MXC_ARRAY_SIZE(directional) && !dir_key; i++)
		if (policy_member(net, directional[i], &v) == 0)
			dir_key = directional[i];
	if (dir_key && (c->dialect == DIALECT_MXC_0_6 || c->dialect == DIALECT_MXC_0_7)) {
		r = perr_key(c, dir_key, -EINVAL, "requires version \"0.8.0-alpha\" or \"%s\"",
			     MXC_POLICY_VERSION);
		goto out;
	}
	if (dir_key && legacy_key) {
		r = perr_key(c, legacy_key, -EINVAL,
			     "legacy MXC field cannot be combined with network.%s", dir_key);
		goto out;
	}
	if (legacy_key)
		r = parse_legacy(c, net, n);
	else {
		r = parse_egress(c, net, n);
		if (r == 0)
			r = parse_ingress(c, net, n);
	}
out:
	path_pop(c, mark);
	return r;
}

void policy_network_free(struct mxc_policy_network *n)
{
	for (size_t i = 0; i < n->n_allow; i++)
		rule_free(&n->allow[i]);
	for (size_t i = 0; i < n->n_deny; i++)
		rule_free(&n->deny[i]);
	free(n->allow);
	free(n->deny);
	n->allow = n->deny = NULL;
	n->n_allow = n->n_deny = 0;
}
