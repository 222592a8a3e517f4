/* Which TCP ports Landlock lets a session connect to, from its policy's egress rules. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sandbox.h"

struct ports {
	bool restrict_tcp;
	uint16_t *v;
	size_t n;
};

static struct ports ports_of(const char *network)
{
	char text[2048];
	snprintf(text, sizeof(text), "{\"version\":\"mxc/1\",\"network\":%s}", network);
	struct mxc_policy *p = NULL;
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_policy_parse(text, strlen(text), &p, &err), 0, "%s", err.msg);
	struct ports r;
	cr_assert_eq(mxc_sandbox_tcp_ports(&p->network, &r.restrict_tcp, &r.v, &r.n), 0);
	mxc_policy_free(p);
	return r;
}

static const char *const allow_443_and_dns =
	"{\"egress\":{\"default\":\"deny\",\"allow\":["
	"{\"to\":[{\"cidr\":\"0.0.0.0/0\"}],\"ports\":[{\"protocol\":\"tcp\",\"port\":443}]},"
	"{\"to\":[{\"cidr\":\"10.0.0.1/32\"}],\"ports\":[{\"protocol\":\"udp\",\"port\":53},"
	"{\"protocol\":\"any\",\"port\":8000,\"endPort\":8002},{\"protocol\":\"tcp\",\"port\":443}]}]}}";

Test(tcp_ports, the_union_of_the_allow_rules_tcp_ports_sorted_without_duplicates)
{
	struct ports r = ports_of(allow_443_and_dns);
	cr_assert(r.restrict_tcp);
	cr_assert_eq(r.n, 4);
	uint16_t want[] = { 443, 8000, 8001, 8002 };
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(r.v[i], want[i], "port %zu: %u", i, r.v[i]);
	free(r.v);
}

Test(tcp_ports, no_restriction_when_a_rule_allows_every_port_or_egress_is_open)
{
	static const char *const open[] = {
		/* loopback only: nothing leaves, and the session's own loopback stays free */
		"{\"egress\":{\"default\":\"deny\"}}",
		/* allowed by default */
		"{\"egress\":{\"default\":\"allow\",\"deny\":[{\"to\":[{\"cidr\":\"10.0.0.0/8\"}]}]}}",
		/* a rule without ports: every protocol and port */
		"{\"egress\":{\"default\":\"deny\",\"allow\":[{\"to\":[{\"cidr\":\"10.0.0.0/8\"}]}]}}",
		/* every TCP port */
		"{\"egress\":{\"default\":\"deny\",\"allow\":[{\"to\":[{\"cidr\":\"10.0.0.0/8\"}],"
		"\"ports\":[{\"protocol\":\"tcp\"}]}]}}",
		/* more ports than Landlock rules are worth: the packet filter alone decides */
		"{\"egress\":{\"default\":\"deny\",\"allow\":[{\"to\":[{\"cidr\":\"10.0.0.0/8\"}],"
		"\"ports\":[{\"protocol\":\"tcp\",\"port\":1,\"endPort\":60000}]}]}}",
	};
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
		struct ports r = ports_of(open[i]);
		cr_assert_not(r.restrict_tcp, "policy %zu restricts", i);
		cr_assert_eq(r.n, 0);
		free(r.v);
	}
}

Test(tcp_ports, udp_only_rules_leave_no_tcp_port)
{
	struct ports r = ports_of("{\"egress\":{\"default\":\"deny\",\"allow\":[{\"to\":[{\"cidr\":"
				  "\"10.0.0.1/32\"}],\"ports\":[{\"protocol\":\"udp\",\"port\":53}]}]}}");
	cr_assert(r.restrict_tcp);
	cr_assert_eq(r.n, 0);
	free(r.v);
}
