/*
 * Session networks (sessiond/net.h) against a world of network namespaces this test makes:
 *
 *   host   the test process after unshare(CLONE_NEWNET): plays the daemon's namespace,
 *          192.0.2.1/24 and 2001:db8:1::1/64 on "up0", default routes to the outside
 *   outside a router with listeners (TCP 22 80 443 8080, UDP on demand, ICMP echo) on
 *          192.0.2.2, 198.51.100.1, 198.51.100.200, 203.0.113.5, 2001:db8:2::1, 2001:db8:2::2;
 *          routes the session pools back through the host
 *   session a child in its own network namespace, given its network by mxc_net_setup()
 *
 * Nothing here touches the real network: every namespace is private to the test process
 * and vanishes with it. Probes are run from inside the session's namespace: a reachable
 * destination must answer, a refused one must not. Each test checks both, so a rule that
 * went missing (or a world that does not route) fails it.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "net.h"
#include "policy.h"

#define ID   "a1b2c3"
#define LINK "mxc-" ID
#define WAIT 400 /* ms a refused probe is given to answer after all */

static const int tcp_ports[] = { 22, 80, 443, 8080 };

static int host_ns = -1, out_ns = -1;
static int tcp_fd[4];
static char last_peer[INET6_ADDRSTRLEN]; /* the source the outside saw last */

struct session {
	pid_t pid;
	int pidfd, ns;
	struct mxc_net *net;
	struct mxc_policy *policy;
	int listener; /* TCP 7000 inside the session */
};
static struct session sess[2];
static int host_listener = -1; /* TCP 7100 in the host (daemon) namespace */

/* ---- namespaces and commands ---- */

static void enter(int ns)
{
	cr_assert_eq(setns(ns, CLONE_NEWNET), 0, "setns: %s", strerror(errno));
}

static void write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, value, strlen(value)), (ssize_t)strlen(value), "write %s", path);
	close(fd);
}

static bool read_is(const char *path, const char *value)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, value) == 0;
}

/* Runs `ip ARGS` (split on spaces) in the namespace ns; the test fails if it fails. */
static void ip(int ns, const char *fmt, ...) MXC_PRINTF(2, 3);
static void ip(int ns, const char *fmt, ...)
{
	char cmd[512], prog[] = "ip", *argv[32] = { prog };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char text[512];
	snprintf(text, sizeof(text), "%s", cmd);
	int argc = 1;
	char *save = NULL;
	for (char *w = strtok_r(cmd, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setns(ns, CLONE_NEWNET) < 0)
			_exit(126);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execvp("ip", argv);
		_exit(127);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ip %s: failed (%d)", text, status);
}

/* A fresh namespace made from the host, with loopback up and no duplicate address detection. */
static int new_ns(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	write_file("/proc/sys/net/ipv6/conf/all/accept_dad", "0");
	write_file("/proc/sys/net/ipv6/conf/default/accept_dad", "0");
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	ip(fd, "link set lo up");
	return fd;
}

static int dual_socket(int type, int port)
{
	int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0, on = 1;
	cr_assert_geq(fd, 0);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %d: %s", port, strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 128), 0);
	return fd;
}

/* ---- the world ---- */

static bool tcp_from(int ns, const char *src, const char *dst, int port);

static void world_up(void)
{
	cr_assert_eq(geteuid(), 0, "these tests make network namespaces: run as root");
	host_ns = new_ns();
	out_ns = new_ns();
	enter(host_ns);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), out_ns);
	ip(host_ns, "link add up0 type veth peer name eth0 netns %s", path);
	/* Links up before addresses: an IPv6 address added to a down link takes a second more. */
	ip(host_ns, "link set up0 up");
	ip(out_ns, "link set eth0 up");
	ip(host_ns, "addr add 192.0.2.1/24 dev up0");
	ip(host_ns, "-6 addr add 2001:db8:1::1/64 dev up0 nodad");
	ip(host_ns, "route add default via 192.0.2.2");
	ip(host_ns, "-6 route add default via 2001:db8:1::2");
	ip(out_ns, "addr add 192.0.2.2/24 dev eth0");
	ip(out_ns, "-6 addr add 2001:db8:1::2/64 dev eth0 nodad");
	const char *extra[] = { "198.51.100.1/32", "198.51.100.200/32", "203.0.113.5/32" };
	for (size_t i = 0; i < 3; i++)
		ip(out_ns, "addr add %s dev lo", extra[i]);
	ip(out_ns, "-6 addr add 2001:db8:2::1/128 dev lo nodad");
	ip(out_ns, "-6 addr add 2001:db8:2::2/128 dev lo nodad");
	ip(out_ns, "route add 10.213.0.0/16 via 192.0.2.1");
	ip(out_ns, "-6 route add fd6d:7863::/48 via 2001:db8:1::1");

	enter(out_ns);
	for (size_t i = 0; i < 4; i++)
		tcp_fd[i] = dual_socket(SOCK_STREAM, tcp_ports[i]);
	enter(host_ns);
	host_listener = dual_socket(SOCK_STREAM, 7100);
	for (size_t i = 0; i < 2; i++)
		sess[i] = (struct session){ .pid = -1, .pidfd = -1, .ns = -1, .listener = -1 };
	/*
	 * The world routes before any session exists, both ways. (Neighbour discovery on a
	 * fresh link can lose its first solicitation: the kernel joins the solicited-node group
	 * from a work queue.)
	 */
	const char *peers[][2] = { { "192.0.2.2", "198.51.100.1" }, { "2001:db8:1::2", "2001:db8:2::1" } };
	for (size_t k = 0; k < 2; k++) {
		bool ok = false;
		for (int i = 0; i < 20 && !ok; i++)
			ok = tcp_from(host_ns, NULL, peers[k][0], 22) && tcp_from(host_ns, NULL, peers[k][1], 22) &&
			     tcp_from(out_ns, NULL, k ? "2001:db8:1::1" : "192.0.2.1", 7100);
		cr_assert(ok, "the test world does not route %s", peers[k][0]);
	}
}

static void session_end(struct session *s)
{
	struct mxc_error err = { 0 };
	if (s->net)
		cr_expect_eq(mxc_net_teardown(s->net, &err), 0, "%s", err.msg);
	s->net = NULL;
	mxc_policy_free(s->policy);
	s->policy = NULL;
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
	s->pidfd = mxc_close(s->pidfd);
	s->ns = mxc_close(s->ns);
	s->listener = mxc_close(s->listener);
}

static void world_down(void)
{
	for (size_t i = 0; i < 2; i++)
		session_end(&sess[i]);
	for (size_t i = 0; i < 4; i++)
		mxc_close(tcp_fd[i]);
	mxc_close(host_listener);
	mxc_close(out_ns);
	mxc_close(host_ns);
}

TestSuite(net, .init = world_up, .fini = world_down, .timeout = 90);

static struct mxc_policy *parse(const char *network_json)
{
	char text[4096];
	snprintf(text, sizeof(text), "{\"version\": \"mxc/1\", \"network\": %s}", network_json);
	struct mxc_policy *p = NULL;
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_policy_parse(text, strlen(text), &p, &err), 0, "%s: %s", text, err.msg);
	return p;
}

/* A child in a fresh network namespace; the session's pid 1 stand-in. */
static void session_start(struct session *s)
{
	int pipefd[2];
	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	s->pid = fork();
	cr_assert_geq(s->pid, 0);
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		(void)!write(pipefd[1], "r", 1);
		for (;;)
			pause();
	}
	char c;
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	cr_assert_geq(s->pidfd, 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", s->pid);
	s->ns = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(s->ns, 0);
	ip(s->ns, "link set lo up");
	enter(s->ns);
	write_file("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
	s->listener = dual_socket(SOCK_STREAM, 7000);
	enter(host_ns);
}

static const struct mxc_net_config config = { .enable_forwarding = true };

/* Starts a session under the network part of a policy and gives it its network. */
static struct session *start(int i, const char *id, const char *network_json)
{
	struct session *s = &sess[i];
	struct mxc_error err = { 0 };
	s->policy = parse(network_json);
	session_start(s);
	cr_assert_eq(mxc_net_setup(&config, id, s->pidfd, &s->policy->network, &s->net, &err), 0,
		     "mxc_net_setup: %s", err.msg);
	return s;
}

/* ---- probes ---- */

static socklen_t sockaddr_of(const char *addr, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET6, addr, &a->sin6_addr), 1, "%s", addr);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, addr, &a->sin_addr), 1, "%s", addr);
	return sizeof(*a);
}

static void note_peer(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
		inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], last_peer, sizeof(last_peer));
	else
		inet_ntop(AF_INET6, &a->sin6_addr, last_peer, sizeof(last_peer));
}

/* Takes every pending connection off a listener, remembering the last peer. */
static int drain(int listener)
{
	int n = 0;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(listener, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd < 0)
			return n;
		note_peer(&ss);
		close(fd);
		n++;
	}
}

/* A socket of the namespace ns (sockets keep the namespace they were made in). */
static int socket_in(int ns, int family, int type, int proto)
{
	enter(ns);
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	enter(host_ns);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	return fd;
}

/* Whether a TCP connection from namespace ns (source src, or the default) to dst:port opens. */
static bool tcp_from(int ns, const char *src, const char *dst, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(dst, port, &ss);
	int fd = socket_in(ns, ss.ss_family, SOCK_STREAM, 0);
	if (src) {
		struct sockaddr_storage bs;
		socklen_t blen = sockaddr_of(src, 0, &bs);
		int on = 1;
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
		cr_assert_eq(bind(fd, (struct sockaddr *)&bs, blen), 0, "bind %s: %s", src, strerror(errno));
	}
	int r = connect(fd, (struct sockaddr *)&ss, len);
	if (r < 0 && errno == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int e = 0;
		socklen_t elen = sizeof(e);
		r = poll(&p, 1, WAIT) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == 0 && e == 0 ? 0
														: -1;
	}
	close(fd);
	for (size_t i = 0; i < 4; i++)
		drain(tcp_fd[i]);
	for (size_t i = 0; i < 2; i++)
		if (sess[i].listener >= 0)
			drain(sess[i].listener);
	drain(host_listener);
	return r == 0;
}

static bool tcp(const struct session *s, const char *dst, int port)
{
	return tcp_from(s->ns, NULL, dst, port);
}

static bool wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, WAIT) == 1 && (p.revents & POLLIN);
}

/*
 * Whether a datagram from the session reaches dst:port and the outside's answer comes back.
 * The outside answers from the address asked (a socket bound to it), as a UDP server must
 * for the answer to be a reply.
 */
static bool udp(const struct session *s, const char *dst, int port)
{
	struct sockaddr_storage ss, peer;
	socklen_t len = sockaddr_of(dst, port, &ss), plen = sizeof(peer);
	int out = socket_in(out_ns, ss.ss_family, SOCK_DGRAM, 0);
	cr_assert_eq(bind(out, (struct sockaddr *)&ss, len), 0, "bind %s: %s", dst, strerror(errno));
	int fd = socket_in(s->ns, ss.ss_family, SOCK_DGRAM, 0);
	char buf[16];
	bool ok = sendto(fd, "ping", 4, 0, (struct sockaddr *)&ss, len) == 4 && wait_in(out) &&
		  recvfrom(out, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen) == 4 &&
		  sendto(out, "pong", 4, 0, (struct sockaddr *)&peer, plen) == 4 && wait_in(fd) &&
		  recv(fd, buf, sizeof(buf), 0) == 4 && memcmp(buf, "pong", 4) == 0;
	close(fd);
	close(out);
	return ok;
}

/* Whether an ICMP (or ICMPv6) echo request from the session to dst is answered. */
static bool ping(const struct session *s, const char *dst)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(dst, 0, &ss);
	bool v6 = ss.ss_family == AF_INET6;
	int fd = socket_in(s->ns, ss.ss_family, SOCK_DGRAM, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	uint8_t pkt[16] = { v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO, 0 }, reply[64];
	pkt[7] = 1; /* sequence */
	bool ok = sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len) == sizeof(pkt) &&
		  wait_in(fd) && recv(fd, reply, sizeof(reply), 0) >= 8 &&
		  reply[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY);
	close(fd);
	return ok;
}

/* ---- listings ---- */

static char *nft_list(const char *cmd)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	cr_assert_not_null(ctx);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	cr_assert_eq(nft_run_cmd_from_buffer(ctx, cmd), 0, "nft %s: %s", cmd, nft_ctx_get_error_buffer(ctx));
	char *out = strdup(nft_ctx_get_output_buffer(ctx));
	nft_ctx_free(ctx);
	return out;
}

static bool has_table(const char *name)
{
	char *out = nft_list("list tables");
	char want[64];
	snprintf(want, sizeof(want), "table inet %s\n", name);
	bool found = strstr(out, want) != NULL;
	free(out);
	return found;
}

static bool has_link_in(int ns, const char *name)
{
	enter(ns);
	bool found = if_nametoindex(name) != 0;
	enter(host_ns);
	return found;
}

/* ---- policy checks (no namespaces needed, but cheap enough in the world) ---- */

Test(net, check_refuses_loopback_destinations_with_the_json_path)
{
	struct mxc_error err = { 0 };
	struct mxc_policy *p = parse("{\"egress\": {\"default\": \"allow\", \"deny\": ["
				     "{\"to\": [{\"cidr\": \"192.0.2.0/24\"}]},"
				     "{\"to\": [{\"cidr\": \"198.51.100.0/24\"}, {\"cidr\": \"127.0.0.1\"}]}]}}");
	cr_assert_eq(mxc_net_check(&p->network, &err), -EOPNOTSUPP);
	cr_expect(strncmp(err.msg, "network.egress.deny[1].to[1].cidr: 127.0.0.1/32 ", 48) == 0, "%s", err.msg);
	mxc_policy_free(p);

	p = parse("{\"egress\": {\"allow\": [{\"to\": [{\"cidr\": \"::1\"}]}]}}");
	cr_assert_eq(mxc_net_check(&p->network, &err), -EOPNOTSUPP);
	cr_expect(strstr(err.msg, "network.egress.allow[0].to[0].cidr: ::1/128") == err.msg, "%s", err.msg);
	/* Refused before anything is made. */
	session_start(&sess[0]);
	struct mxc_net *n = NULL;
	cr_expect_eq(mxc_net_setup(&config, ID, sess[0].pidfd, &p->network, &n, &err), -EOPNOTSUPP);
	cr_expect_not(has_link_in(host_ns, LINK));
	cr_expect_not(has_table("mxc_" ID));
	mxc_policy_free(p);
}

Test(net, check_refuses_ipv4_mapped_destinations)
{
	struct mxc_error err = { 0 };
	struct mxc_policy *p = parse("{\"egress\": {\"default\": \"allow\", \"deny\": ["
				     "{\"to\": [{\"cidr\": \"::ffff:192.0.2.0/120\"}]}]}}");
	cr_assert_eq(mxc_net_check(&p->network, &err), -EOPNOTSUPP);
	cr_expect(strstr(err.msg, "network.egress.deny[0].to[0].cidr: ") == err.msg, "%s", err.msg);
	cr_expect(strstr(err.msg, "IPv4-mapped"), "%s", err.msg);
	mxc_policy_free(p);
	/* Wider networks that merely contain those are fine, and so are ordinary ones. */
	p = parse("{\"egress\": {\"deny\": [{\"to\": [{\"cidr\": \"::/0\"}, {\"cidr\": \"0.0.0.0/0\"}]}],"
		  "\"allow\": [{\"to\": [{\"cidr\": \"10.0.0.0/8\"}]}]}}");
	cr_expect_eq(mxc_net_check(&p->network, &err), 0, "%s", err.msg);
	mxc_policy_free(p);
}

Test(net, needs_veth_only_beyond_loopback)
{
	const char *lo[] = { "{}", "{\"egress\": {\"default\": \"deny\"}, \"ingress\": {\"default\": \"deny\"}}",
			     "{\"egress\": {\"deny\": [{\"to\": [{\"cidr\": \"192.0.2.0/24\"}]}]}}" };
	const char *veth[] = { "{\"egress\": {\"default\": \"allow\"}}",
			       "{\"egress\": {\"allow\": [{\"to\": [{\"cidr\": \"192.0.2.0/24\"}]}]}}",
			       "{\"ingress\": {\"default\": \"allow\"}}", "{\"ingress\": {\"hostLoopback\": \"allow\"}}" };
	for (size_t i = 0; i < 3; i++) {
		struct mxc_policy *p = parse(lo[i]);
		cr_expect_not(mxc_net_needs_veth(&p->network), "%s", lo[i]);
		mxc_policy_free(p);
	}
	for (size_t i = 0; i < 4; i++) {
		struct mxc_policy *p = parse(veth[i]);
		cr_expect(mxc_net_needs_veth(&p->network), "%s", veth[i]);
		mxc_policy_free(p);
	}
}

Test(net, ruleset_subtracts_excepts_exactly)
{
	struct mxc_policy *p = parse(
		"{\"egress\": {\"allow\": [{\"to\": ["
		"{\"cidr\": \"10.0.0.0/8\", \"except\": [\"10.1.0.0/16\", \"10.1.2.0/24\", \"10.255.255.255\"]},"
		"{\"cidr\": \"2001:db8::/32\", \"except\": [\"2001:db8::/33\"]},"
		"{\"cidr\": \"10.1.2.0/25\"}],"
		"\"ports\": [{\"protocol\": \"tcp\", \"port\": 443}, {\"protocol\": \"any\", \"port\": 440, \"endPort\": 444},"
		"{\"protocol\": \"udp\", \"port\": 53}]}]}}");
	char *text = NULL;
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_net_ruleset(ID, "10.213.0.2", "fd6d:7863::2", &p->network, &text, &err), 0, "%s", err.msg);
	cr_expect(strstr(text, "elements = { 10.0.0.0/16, 10.1.2.0/25, 10.2.0.0-10.255.255.254 }"), "%s", text);
	cr_expect(strstr(text, "elements = { 2001:db8:8000::/33 }"), "%s", text);
	cr_expect(strstr(text, "ip daddr @allow0_v4 tcp dport { 440-444 } accept"), "%s", text);
	cr_expect(strstr(text, "ip daddr @allow0_v4 udp dport { 53, 440-444 } accept"), "%s", text);
	cr_expect(strstr(text, "ip6 daddr @allow0_v6 tcp dport { 440-444 } accept"), "%s", text);
	cr_expect(strstr(text, "\t\tgoto refuse\n\t}\n\tchain ingress"), "%s", text);
	free(text);
	mxc_policy_free(p);
}

/* ---- enforcement ---- */

Test(net, loopback_only_policy_makes_nothing)
{
	struct session *s = start(0, ID, "{\"egress\": {\"default\": \"deny\"}}");
	cr_expect_null(mxc_net_address(s->net, AF_INET));
	cr_expect_not(has_link_in(host_ns, LINK));
	cr_expect_not(has_link_in(s->ns, "eth0"));
	cr_expect_not(has_table("mxc_" ID));
	cr_expect_not(tcp(s, "198.51.100.1", 443));
}

Test(net, egress_allow_rules_match_destination_port_and_protocol_exactly)
{
	struct session *s = start(0, ID,
		"{\"egress\": {\"default\": \"deny\", \"allow\": ["
		"{\"to\": [{\"cidr\": \"198.51.100.0/24\", \"except\": [\"198.51.100.128/25\"]}],"
		" \"ports\": [{\"protocol\": \"tcp\", \"port\": 443}]},"
		"{\"to\": [{\"cidr\": \"203.0.113.5\"}], \"ports\": [{\"protocol\": \"udp\", \"port\": 53}]},"
		"{\"to\": [{\"cidr\": \"203.0.113.0/24\"}], \"ports\": [{\"protocol\": \"icmp\"}]},"
		"{\"to\": [{\"cidr\": \"2001:db8:2::/64\", \"except\": [\"2001:db8:2::2\"]}],"
		" \"ports\": [{\"protocol\": \"tcp\", \"port\": 8000, \"endPort\": 8080}, {\"protocol\": \"icmp\"}]}]}}");
	cr_expect_str_eq(mxc_net_address(s->net, AF_INET), "10.213.0.2");
	cr_expect_str_eq(mxc_net_address(s->net, AF_INET6), "fd6d:7863::2");
	cr_expect_str_eq(mxc_net_gateway(s->net, AF_INET), "10.213.0.1");
	/* IPv4 TCP: the allowed port to the allowed network, nothing else. */
	cr_expect(tcp(s, "198.51.100.1", 443));
	cr_expect_str_eq(last_peer, "192.0.2.1", "masqueraded as the host: %s", last_peer);
	cr_expect_not(tcp(s, "198.51.100.1", 80), "another port");
	cr_expect_not(tcp(s, "198.51.100.200", 443), "inside the except");
	cr_expect_not(tcp(s, "203.0.113.5", 443), "no rule: default deny");
	cr_expect_not(tcp(s, "192.0.2.2", 443), "no rule: default deny");
	/* UDP: 53 to one host only. */
	cr_expect(udp(s, "203.0.113.5", 53));
	cr_expect_not(udp(s, "203.0.113.5", 123), "another UDP port");
	cr_expect_not(udp(s, "198.51.100.1", 53), "UDP where only TCP is allowed");
	cr_expect_not(tcp(s, "203.0.113.5", 80), "TCP where only UDP and ICMP are allowed");
	/* ICMP. */
	cr_expect(ping(s, "203.0.113.5"));
	cr_expect_not(ping(s, "198.51.100.1"), "ICMP where only TCP is allowed");
	/* IPv6: a port range, its own except, ICMPv6. */
	cr_expect(tcp(s, "2001:db8:2::1", 8080));
	cr_expect_str_eq(last_peer, "2001:db8:1::1", "masqueraded as the host: %s", last_peer);
	cr_expect_not(tcp(s, "2001:db8:2::1", 443), "outside the range");
	cr_expect_not(tcp(s, "2001:db8:2::2", 8080), "inside the except");
	cr_expect(ping(s, "2001:db8:2::1"));
	cr_expect_not(ping(s, "2001:db8:2::2"), "inside the except");
	cr_expect_not(udp(s, "2001:db8:2::1", 53), "UDP where only TCP and ICMP are allowed");
}

Test(net, egress_deny_wins_over_allow_and_default_allow)
{
	struct session *s = start(0, ID,
		"{\"egress\": {\"default\": \"allow\","
		" \"deny\": [{\"to\": [{\"cidr\": \"198.51.100.0/24\"}], \"ports\": [{\"protocol\": \"any\", \"port\": 80}]},"
		"           {\"to\": [{\"cidr\": \"2001:db8:2::2\"}]}],"
		" \"allow\": [{\"to\": [{\"cidr\": \"198.51.100.0/24\"}, {\"cidr\": \"2001:db8:2::/64\"}]}]}}");
	cr_expect_not(tcp(s, "198.51.100.1", 80), "denied TCP port, though allowed");
	cr_expect_not(udp(s, "198.51.100.1", 80), "denied UDP port (\"any\"), though allowed");
	cr_expect(tcp(s, "198.51.100.1", 443));
	cr_expect(udp(s, "198.51.100.1", 53));
	cr_expect(ping(s, "198.51.100.1"));
	cr_expect(tcp(s, "203.0.113.5", 80), "default allow");
	cr_expect(udp(s, "203.0.113.5", 80), "default allow");
	cr_expect(tcp(s, "2001:db8:2::1", 80));
	cr_expect_not(tcp(s, "2001:db8:2::2", 80), "denied host, though allowed");
	cr_expect_not(ping(s, "2001:db8:2::2"), "denied host, every protocol");
	/* A refusal is immediate for TCP (a reset), not a timeout. */
	uint64_t t0 = mxc_now_mono_ns();
	cr_expect_not(tcp(s, "198.51.100.1", 80));
	cr_expect_lt(mxc_now_mono_ns() - t0, (uint64_t)WAIT * 1000000 / 2, "refused, not dropped");
}

Test(net, egress_only_from_the_sessions_own_address)
{
	struct session *s = start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	cr_expect(tcp_from(s->ns, "fd6d:7863::2", "2001:db8:2::1", 443));
	/* Another address of the session's subnet: would be routed back, were it let out. */
	ip(s->ns, "-6 addr add fd6d:7863::99/64 dev eth0 nodad");
	cr_expect_not(tcp_from(s->ns, "fd6d:7863::99", "2001:db8:2::1", 443));
}

Test(net, ingress_default_deny_keeps_the_outside_out)
{
	struct session *s = start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	cr_expect(tcp(s, "198.51.100.1", 443), "egress works, replies come back");
	cr_expect_not(tcp_from(out_ns, NULL, "10.213.0.2", 7000));
	cr_expect_not(tcp_from(out_ns, NULL, "fd6d:7863::2", 7000));
}

Test(net, ingress_default_allow_lets_routed_networks_in)
{
	struct session *s = start(0, ID, "{\"ingress\": {\"default\": \"allow\"}}");
	cr_expect(tcp_from(out_ns, NULL, "10.213.0.2", 7000));
	cr_expect_str_eq(last_peer, "192.0.2.2", "not masqueraded: %s", last_peer);
	cr_expect(tcp_from(out_ns, NULL, "fd6d:7863::2", 7000));
	/* Ingress is not egress: the session still opens nothing. */
	cr_expect_not(tcp(s, "198.51.100.1", 443));
	/* Nor is it the host's loopback. */
	cr_expect_not(tcp_from(host_ns, NULL, "10.213.0.2", 7000));
}

Test(net, host_loopback_allow_connects_session_and_host_both_ways)
{
	struct session *s = start(0, ID, "{\"ingress\": {\"hostLoopback\": \"allow\"}}");
	cr_expect(tcp(s, "10.213.0.1", 7100));
	cr_expect(tcp(s, "fd6d:7863::1", 7100));
	cr_expect(tcp(s, "192.0.2.1", 7100), "any of the host's addresses");
	cr_expect(ping(s, "10.213.0.1"));
	cr_expect(tcp_from(host_ns, NULL, "10.213.0.2", 7000));
	cr_expect(tcp_from(host_ns, NULL, "fd6d:7863::2", 7000));
	cr_expect_not(tcp(s, "198.51.100.1", 443), "the host, not beyond it");
}

Test(net, host_loopback_deny_separates_session_and_host)
{
	struct session *s = start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	cr_expect(tcp(s, "198.51.100.1", 443), "egress works");
	cr_expect_not(tcp(s, "10.213.0.1", 7100));
	cr_expect_not(tcp(s, "fd6d:7863::1", 7100));
	cr_expect_not(tcp(s, "192.0.2.1", 7100), "egress default allow does not open the host");
	cr_expect_not(tcp(s, "2001:db8:1::1", 7100));
	cr_expect_not(ping(s, "10.213.0.1"));
	cr_expect_not(tcp_from(host_ns, NULL, "10.213.0.2", 7000));
	cr_expect_not(tcp_from(host_ns, NULL, "fd6d:7863::2", 7000));
}

Test(net, host_loopback_allow_still_honours_deny_rules)
{
	struct session *s = start(0, ID, "{\"egress\": {\"deny\": [{\"to\": [{\"cidr\": \"10.213.0.0/16\"}],"
					 " \"ports\": [{\"protocol\": \"tcp\", \"port\": 7100}]}]},"
					 " \"ingress\": {\"hostLoopback\": \"allow\"}}");
	cr_expect_not(tcp(s, "10.213.0.1", 7100));
	cr_expect(tcp(s, "fd6d:7863::1", 7100));
}

Test(net, sessions_get_their_own_subnets_and_do_not_reach_each_other)
{
	struct session *a = start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	struct session *b = start(1, "d4e5f6", "{\"egress\": {\"default\": \"allow\"}}");
	cr_expect_str_eq(mxc_net_address(b->net, AF_INET), "10.213.0.6");
	cr_expect_str_eq(mxc_net_address(b->net, AF_INET6), "fd6d:7863:0:1::2");
	cr_expect(tcp(b, "198.51.100.1", 443));
	cr_expect_not(tcp(a, "10.213.0.6", 7000), "b's ingress is deny");
	cr_expect_not(tcp(a, "fd6d:7863:0:1::2", 7000), "b's ingress is deny");
}

Test(net, teardown_removes_link_table_and_the_sessions_side)
{
	struct session *s = start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	cr_assert(has_link_in(host_ns, LINK));
	cr_assert(has_link_in(s->ns, "eth0"));
	cr_assert(has_table("mxc_" ID));
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_net_teardown(s->net, &err), 0, "%s", err.msg);
	s->net = NULL;
	cr_expect_not(has_link_in(host_ns, LINK));
	cr_expect_not(has_link_in(s->ns, "eth0"));
	cr_expect_not(has_table("mxc_" ID));
	char *all = nft_list("list ruleset");
	cr_expect_null(strstr(all, "mxc"), "%s", all);
	free(all);
	/* Removing what is gone already is fine (a restarted daemon may do it). */
	cr_expect_eq(mxc_net_remove(ID, &err), 0, "%s", err.msg);
}

Test(net, setup_refuses_a_session_that_has_a_network)
{
	struct session *s = start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	session_start(&sess[1]);
	struct mxc_net *n = NULL;
	struct mxc_error err = { 0 };
	cr_expect_eq(mxc_net_setup(&config, ID, sess[1].pidfd, &s->policy->network, &n, &err), -EEXIST);
	cr_expect(has_table("mxc_" ID), "the first session keeps its table");
	cr_expect(tcp(s, "198.51.100.1", 443), "and its network");
}

Test(net, cleanup_stale_removes_only_dead_sessions_leftovers)
{
	start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	start(1, "d4e5f6", "{\"egress\": {\"default\": \"allow\"}}");
	/* A daemon's leftovers without a session, and things that are not mxc's. */
	ip(host_ns, "link add mxc-0ld0ne type veth peer name x0");
	ip(host_ns, "link add mxcfoo type veth peer name x1");
	free(nft_list("add table inet mxc_0ld0ne\nadd table inet filter\nadd table ip mxc_ip\n"));
	char id[] = ID, *live[] = { id, NULL };
	struct mxc_error err = { 0 };
	cr_assert_eq(mxc_net_cleanup_stale(live, &err), 0, "%s", err.msg);
	cr_expect(has_link_in(host_ns, LINK));
	cr_expect(has_table("mxc_" ID));
	cr_expect_not(has_link_in(host_ns, "mxc-d4e5f6"));
	cr_expect_not(has_link_in(sess[1].ns, "eth0"));
	cr_expect_not(has_table("mxc_d4e5f6"));
	cr_expect_not(has_link_in(host_ns, "mxc-0ld0ne"));
	cr_expect_not(has_table("mxc_0ld0ne"));
	cr_expect(has_link_in(host_ns, "mxcfoo"));
	cr_expect(has_table("filter"));
	char *out = nft_list("list tables");
	cr_expect(strstr(out, "table ip mxc_ip"), "%s", out);
	free(out);
	cr_expect(tcp(&sess[0], "198.51.100.1", 443), "the live session keeps its network");
}

Test(net, forwarding_is_turned_on_and_said)
{
	cr_assert(read_is("/proc/sys/net/ipv4/ip_forward", "0"));
	write_file("/proc/sys/net/ipv6/conf/up0/accept_ra", "1");
	struct session *s = start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	cr_expect(read_is("/proc/sys/net/ipv4/ip_forward", "1"));
	cr_expect(read_is("/proc/sys/net/ipv6/conf/all/forwarding", "1"));
	cr_expect(read_is("/proc/sys/net/ipv6/conf/up0/accept_ra", "2"), "router advertisements still accepted");
	const char *notice = mxc_net_notice(s->net);
	cr_assert_not_null(notice);
	cr_expect(strstr(notice, "turned on IPv4 forwarding"), "%s", notice);
	cr_expect(strstr(notice, "turned on IPv6 forwarding"), "%s", notice);
}

Test(net, forwarding_off_and_not_allowed_is_refused)
{
	struct mxc_policy *p = parse("{\"egress\": {\"default\": \"allow\"}}");
	session_start(&sess[0]);
	struct mxc_net_config cfg = { .enable_forwarding = false };
	struct mxc_net *n = NULL;
	struct mxc_error err = { 0 };
	cr_expect_eq(mxc_net_setup(&cfg, ID, sess[0].pidfd, &p->network, &n, &err), -EOPNOTSUPP);
	cr_expect(strstr(err.msg, "forwarding is off"), "%s", err.msg);
	cr_expect(read_is("/proc/sys/net/ipv4/ip_forward", "0"));
	cr_expect_not(has_link_in(host_ns, LINK), "nothing left behind");
	cr_expect_not(has_table("mxc_" ID), "nothing left behind");
	mxc_policy_free(p);
	/* The host's loopback alone needs no forwarding. */
	p = parse("{\"ingress\": {\"hostLoopback\": \"allow\"}}");
	cr_expect_eq(mxc_net_setup(&cfg, ID, sess[0].pidfd, &p->network, &sess[0].net, &err), 0, "%s", err.msg);
	cr_expect(tcp(&sess[0], "10.213.0.1", 7100));
	mxc_policy_free(p);
}

Test(net, a_host_forward_chain_that_drops_is_reported)
{
	free(nft_list("add table ip filter\n"
		      "add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }\n"));
	struct session *s = start(0, ID, "{\"egress\": {\"default\": \"allow\"}}");
	const char *notice = mxc_net_notice(s->net);
	cr_assert_not_null(notice);
	cr_expect(strstr(notice, "'ip filter FORWARD' (hook forward) drops packets by default"), "%s", notice);
	cr_expect_not(tcp(s, "198.51.100.1", 443), "the host's drop wins, as said");
}
