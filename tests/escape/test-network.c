/*
 * Escape attempts against a session's network, each run as the agent inside a real session.
 *
 * The world is made of network namespaces private to the test, never a real network:
 *
 *   host     the test's own namespace, where the daemon runs (and routes and masquerades
 *            its sessions): 198.51.100.254/24 and 2001:db8:1::fe/64 on "up0", a listener on
 *            TCP 9000 (every address) and one on the abstract unix socket @mxc-escape-host
 *   outside  a namespace behind up0: 198.51.100.1 and .2/24, 2001:db8:1::1 and ::2/64 on
 *            "eth0", listeners on TCP 53, 80, 443, 8443 and a UDP echo on port 53 of each
 *            address; routes the session pools back through the host
 *
 * Every listener answers a connection with a banner naming itself and the peer it saw, so a
 * probe that connected says so, and every port a probe is refused on is open to the host
 * (setup checks), so the refusal is the session's policy and nothing else. The attacker is
 * probe-network.c, run as the agent; it prints the errno of a refusal, which each test
 * checks: ENETUNREACH (no route: loopback only), EACCES on a TCP connect (Landlock's port
 * list), ECONNREFUSED / EHOSTUNREACH / EACCES on UDP (nftables' reset and admin-prohibited),
 * ETIMEDOUT (nftables drops: ingress).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define OUT4	      "198.51.100.1"
#define OTHER4	      "198.51.100.2"
#define HOST4	      "198.51.100.254"
#define OUT6	      "2001:db8:1::1"
#define OTHER6	      "2001:db8:1::2"
#define HOST6	      "2001:db8:1::fe"
#define HOST_PORT     9000
#define HOST_ABSTRACT "mxc-escape-host"
#define SESSION_PORT  7000

static const int out_tcp_ports[] = { 53, 80, 443, 8443 };

static struct mxc_harness h;
static int host_ns = -1, out_ns = -1;
static pid_t server = -1;
static char probe[300];

/* ---- the world ---- */

static void enter(int ns)
{
	cr_assert_eq(setns(ns, CLONE_NEWNET), 0, "setns: %s", strerror(errno));
}

/*
 * Runs the command line (split on spaces) in the namespace ns and returns its stdout; the
 * test fails if it fails. The caller frees.
 */
static char *run_in(int ns, const char *cmdline)
{
	char cmd[512], *argv[32];
	snprintf(cmd, sizeof(cmd), "%s", cmdline);
	int argc = 0;
	char *save = NULL;
	for (char *w = strtok_r(cmd, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	int out[2];
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setns(ns, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(out[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	char buf[4096];
	ssize_t n;
	while ((n = read(out[0], buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, f);
	fclose(f);
	close(out[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: failed (%d)", cmdline,
		  status);
	return text;
}

static void ip(int ns, const char *fmt, ...) MXC_PRINTF(2, 3);
static void ip(int ns, const char *fmt, ...)
{
	char cmd[512] = "ip ";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd + 3, sizeof(cmd) - 3, fmt, ap);
	va_end(ap);
	free(run_in(ns, cmd));
}

/*
 * A socket of the given type made in the namespace ns, bound to addr (NULL: every address of
 * both families) and listening. A UDP server is bound to one address so that its replies
 * come from the address the datagram went to.
 */
static int listener_in(int ns, int type, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(*a6);
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons((uint16_t)port);
	if (addr && inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		len = sizeof(*a4);
	} else if (addr) {
		cr_assert_eq(inet_pton(AF_INET6, addr, &a6->sin6_addr), 1, "bad address %s", addr);
	}
	enter(ns);
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
	enter(host_ns);
	cr_assert_geq(fd, 0);
	int v6only = addr != NULL;
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0, "bind %s port %d: %s",
		     addr ? addr : "*", port, strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 64), 0);
	return fd;
}

static void format_peer(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_UNIX)
		snprintf(host, sizeof(host), "unix");
	else if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host,
			  sizeof(host));
	/* An IPv4 peer on a dual-stack socket, written as IPv4. */
	const char *shown = strncmp(host, "::ffff:", 7) == 0 && strchr(host, '.') ? host + 7 : host;
	snprintf(buf, size, "%s", shown);
}

/*
 * The listeners' server, a child that serves until killed: "NAME PORT from PEER" to every
 * TCP connection, "echo PEER DATA" back to every UDP datagram.
 */
static void serve(const int *fds, const char *const *names, const int *ports, const int *types,
		  size_t n)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct pollfd p[16];
	for (size_t i = 0; i < n; i++)
		p[i] = (struct pollfd){ fds[i], POLLIN, 0 };
	for (;;) {
		if (poll(p, n, -1) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			struct sockaddr_storage peer;
			socklen_t len = sizeof(peer);
			char from[INET6_ADDRSTRLEN], line[256], data[256];
			if (types[i] == SOCK_STREAM) {
				int c =
				    accept4(fds[i], (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
				if (c < 0)
					continue;
				format_peer(&peer, from, sizeof(from));
				int k = snprintf(line, sizeof(line), "%s %d from %s\n", names[i],
						 ports[i], from);
				(void)!write(c, line, (size_t)k);
				close(c);
			} else {
				ssize_t k = recvfrom(fds[i], data, sizeof(data) - 1, 0,
						     (struct sockaddr *)&peer, &len);
				if (k < 0)
					continue;
				data[k] = '\0';
				format_peer(&peer, from, sizeof(from));
				int m = snprintf(line, sizeof(line), "echo %s %s", from, data);
				sendto(fds[i], line, (size_t)m, 0, (struct sockaddr *)&peer, len);
			}
		}
	}
}

/*
 * Connects from the namespace ns to addr:port within timeout_ms and reads a banner line into
 * banner. 0, or a negative errno (-ETIMEDOUT when nothing answered in time).
 */
static int tcp_from(int ns, const char *addr, int port, int timeout_ms, char *banner,
		    size_t size)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		len = sizeof(*a4);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, addr, &a6->sin6_addr), 1, "bad address %s", addr);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		len = sizeof(*a6);
	}
	enter(ns);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	enter(host_ns);
	cr_assert_geq(fd, 0);
	int r = 0;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		r = errno == EINPROGRESS ? 0 : -errno;
		struct pollfd p = { fd, POLLOUT, 0 };
		if (r == 0 && poll(&p, 1, timeout_ms) <= 0)
			r = -ETIMEDOUT;
		int e = 0;
		socklen_t elen = sizeof(e);
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == 0 && e)
			r = -e;
	}
	if (r == 0) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n = poll(&p, 1, timeout_ms) == 1 ? read(fd, banner, size - 1) : -1;
		if (n <= 0)
			r = -EPIPE;
		else
			banner[n] = '\0';
	}
	close(fd);
	return r;
}

/* Whether a datagram from the namespace ns to addr port 53 is echoed within timeout_ms. */
static bool udp_echoes(int ns, const char *addr, int timeout_ms)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(*a6);
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(53);
		len = sizeof(*a4);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, addr, &a6->sin6_addr), 1, "bad address %s", addr);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(53);
	}
	enter(ns);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	enter(host_ns);
	cr_assert_geq(fd, 0);
	char buf[128];
	struct pollfd p = { fd, POLLIN, 0 };
	bool ok = connect(fd, (struct sockaddr *)&ss, len) == 0 && send(fd, "world", 5, 0) == 5 &&
		  poll(&p, 1, timeout_ms) == 1 && recv(fd, buf, sizeof(buf), 0) > 0;
	close(fd);
	return ok;
}

/* Whether a banner line containing expect comes back from addr:port, tried a few times. */
static void world_answers(int ns, const char *addr, int port, const char *expect)
{
	char banner[256] = "";
	int r = -1;
	/* Neighbour discovery on a fresh link can lose its first solicitation. */
	for (int i = 0; i < 20 && r != 0; i++)
		if ((r = tcp_from(ns, addr, port, 500, banner, sizeof(banner))) != 0)
			usleep(50000);
	cr_assert_eq(r, 0, "the test world does not reach %s port %d: %s", addr, port,
		     strerror(-r));
	cr_assert_not_null(strstr(banner, expect), "%s port %d: %s", addr, port, banner);
}

static void setup(void)
{
	mxc_harness_start(&h);
	host_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(host_ns, 0);
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	out_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(out_ns, 0);
	enter(host_ns);

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), out_ns);
	ip(host_ns, "link add up0 type veth peer name eth0 netns %s", path);
	ip(out_ns, "link set lo up");
	/* Links up before addresses: an IPv6 address added to a down link takes longer. */
	ip(host_ns, "link set up0 up");
	ip(out_ns, "link set eth0 up");
	ip(host_ns, "addr add " HOST4 "/24 dev up0");
	ip(host_ns, "-6 addr add " HOST6 "/64 dev up0 nodad");
	ip(out_ns, "addr add " OUT4 "/24 dev eth0");
	ip(out_ns, "addr add " OTHER4 "/24 dev eth0");
	ip(out_ns, "-6 addr add " OUT6 "/64 dev eth0 nodad");
	/* Deprecated, so that the outside's own connections come from OUT6. */
	ip(out_ns, "-6 addr add " OTHER6 "/64 dev eth0 nodad preferred_lft 0");
	ip(out_ns, "route add 10.213.0.0/16 via " HOST4);
	ip(out_ns, "-6 route add fd6d:7863::/48 via " HOST6);

	int fds[16], ports[16], types[16];
	const char *names[16];
	size_t n = 0;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(out_tcp_ports); i++, n++) {
		fds[n] = listener_in(out_ns, SOCK_STREAM, NULL, out_tcp_ports[i]);
		names[n] = "outside";
		ports[n] = out_tcp_ports[i];
		types[n] = SOCK_STREAM;
	}
	const char *outside[] = { OUT4, OTHER4, OUT6, OTHER6 };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(outside); i++, n++) {
		fds[n] = listener_in(out_ns, SOCK_DGRAM, outside[i], 53);
		names[n] = "outside";
		ports[n] = 53;
		types[n] = SOCK_DGRAM;
	}
	fds[n] = listener_in(host_ns, SOCK_STREAM, NULL, HOST_PORT);
	names[n] = "host";
	ports[n] = HOST_PORT;
	types[n++] = SOCK_STREAM;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	memcpy(un.sun_path + 1, HOST_ABSTRACT, strlen(HOST_ABSTRACT));
	socklen_t unlen =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(HOST_ABSTRACT));
	fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(fds[n] >= 0 && bind(fds[n], (struct sockaddr *)&un, unlen) == 0 &&
			  listen(fds[n], 8) == 0,
		  "abstract socket: %s", strerror(errno));
	names[n] = "host-abstract";
	ports[n] = 0;
	types[n++] = SOCK_STREAM;
	server = fork();
	cr_assert_geq(server, 0);
	if (server == 0)
		serve(fds, names, ports, types, n);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);

	/* Every outside port is open to the host, and the host's listener to the outside. */
	for (size_t i = 0; i < MXC_ARRAY_SIZE(outside); i++) {
		for (size_t j = 0; j < MXC_ARRAY_SIZE(out_tcp_ports); j++)
			world_answers(host_ns, outside[i], out_tcp_ports[j], "outside");
		cr_assert(udp_echoes(host_ns, outside[i], 500), "no UDP echo from %s", outside[i]);
	}
	world_answers(out_ns, HOST4, HOST_PORT, "host 9000 from " OUT4);
	world_answers(out_ns, HOST6, HOST_PORT, "host 9000 from " OUT6);
	int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char line[64] = "";
	cr_assert(u >= 0 && connect(u, (struct sockaddr *)&un, unlen) == 0 &&
			  read(u, line, sizeof(line) - 1) > 0 && strstr(line, "host-abstract"),
		  "the host's abstract socket does not answer: %s", line);
	close(u);

	free(mxc_ok(&h, "agent", "add", "coder", NULL));
	char src[300];
	snprintf(src, sizeof(src), "%s/tests/escape/probe-network", h.bin);
	mxc_harness_install("coder", src, "probe", probe, sizeof(probe));
}

static void teardown(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
	}
	server = -1;
	mxc_harness_stop(&h);
	host_ns = mxc_close(host_ns);
	out_ns = mxc_close(out_ns);
}

TestSuite(network, .init = setup, .fini = teardown, .timeout = 120);

/* ---- sessions and probes ---- */

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "cannot create %s", path);
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static const char *policy_file(const char *network)
{
	static char path[300];
	char text[4096];
	snprintf(path, sizeof(path), "%s/policy.json", h.env.scratch);
	if (network)
		snprintf(text, sizeof(text),
			 "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false},\"network\":%s}",
			 network);
	else
		snprintf(text, sizeof(text),
			 "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false}}");
	put(path, text);
	return path;
}

/* A process-only session under a policy with the given network object (NULL: none). */
static char *start(const char *network)
{
	return mxc_ok(&h, "session", "start", "coder", "--policy", policy_file(network), NULL);
}

struct session_net {
	char mode[128], addr4[64], addr6[64], gw4[64], gw6[64];
};

static struct session_net session_net(const char *id)
{
	char *text = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(text), *c, *net;
	cr_assert(json_object_object_get_ex(o, "containment", &c) &&
			  json_object_object_get_ex(c, "network", &net),
		  "no containment.network: %s", text);
	struct session_net s = { 0 };
	const char *v;
#define COPY(field, key)              \
	if ((v = mxc_test_str(net, key))) \
		snprintf(s.field, sizeof(s.field), "%s", v);
	COPY(mode, "mode")
	COPY(addr4, "address4")
	COPY(addr6, "address6")
	COPY(gw4, "gateway4")
	COPY(gw6, "gateway6")
#undef COPY
	json_object_put(o);
	free(text);
	return s;
}

/* containment.landlock.tcp_ports_restricted of `mxc session show`. */
static bool tcp_ports_restricted(const char *id)
{
	char *text = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(text), *c, *ll, *v;
	cr_assert(json_object_object_get_ex(o, "containment", &c) &&
			  json_object_object_get_ex(c, "landlock", &ll) &&
			  json_object_object_get_ex(ll, "tcp_ports_restricted", &v),
		  "no containment.landlock.tcp_ports_restricted: %s", text);
	bool restricted = json_object_get_boolean(v);
	json_object_put(o);
	free(text);
	return restricted;
}

/* Runs the probe as the agent with the space-separated arguments. */
static struct mxc_result run_probe(const char *id, const char *args)
{
	char buf[256], *a[8] = { 0 }, *save = NULL;
	snprintf(buf, sizeof(buf), "%s", args);
	size_t n = 0;
	for (char *w = strtok_r(buf, " ", &save); w && n < 7; w = strtok_r(NULL, " ", &save))
		a[n++] = w;
	return mxc_run(&h, 0, NULL, "exec", id, "--", probe, a[0], a[1], a[2], a[3], a[4], a[5],
		       a[6], NULL);
}

/* The probe succeeds and prints expect. */
static void reaches(const char *id, const char *args, const char *expect)
{
	struct mxc_result r = run_probe(id, args);
	cr_assert_eq(r.status, 0, "probe %s failed (%d): %s%s", args, r.status, r.out, r.err);
	cr_assert_not_null(strstr(r.out, expect), "probe %s: expected '%s', got: %s", args,
			   expect, r.out);
	mxc_result_free(&r);
}

/*
 * The probe's attempt fails with the errno named errname (or one of "A|B"): a refusal, not
 * a broken probe (which exits 2 or 125) or a connection without a banner (3).
 */
static void refused(const char *id, const char *args, const char *errname)
{
	struct mxc_result r = run_probe(id, args);
	cr_assert_eq(r.status, 1, "probe %s was not refused (%d): %s%s", args, r.status, r.out,
		     r.err);
	bool match = false;
	char names[64], *save = NULL;
	snprintf(names, sizeof(names), "%s", errname);
	for (char *n = strtok_r(names, "|", &save); n && !match; n = strtok_r(NULL, "|", &save)) {
		char expect[64];
		snprintf(expect, sizeof(expect), "fail: %s\n", n);
		match = strcmp(r.out, expect) == 0;
	}
	cr_assert(match, "probe %s: expected fail: %s, got %s%s", args, errname, r.out, r.err);
	mxc_result_free(&r);
}

/*
 * `probe listen PORT TIMEOUT COUNT` run as the agent in the background: returns once it
 * listens, with its stdout in *ret_fd.
 */
static pid_t listen_in_session(const char *id, int timeout_ms, int count, int *ret_fd)
{
	char mxc[300], port[16], timeout[16], n[16];
	snprintf(mxc, sizeof(mxc), "%s/cli/mxc", h.bin);
	snprintf(port, sizeof(port), "%d", SESSION_PORT);
	snprintf(timeout, sizeof(timeout), "%d", timeout_ms);
	snprintf(n, sizeof(n), "%d", count);
	int out[2];
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		execl(mxc, "mxc", "--socket", h.sock, "exec", id, "--", probe, "listen", port,
		      timeout, n, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char line[64] = "";
	struct pollfd p = { out[0], POLLIN, 0 };
	ssize_t k = poll(&p, 1, 10000) == 1 ? read(out[0], line, sizeof(line) - 1) : -1;
	cr_assert_gt(k, 0, "the session's listener did not start");
	line[k] = '\0';
	cr_assert_str_eq(line, "listening\n");
	*ret_fd = out[0];
	return pid;
}

/* Waits for the background probe; its exit status, its further output in out. */
static int listen_result(pid_t pid, int fd, char *out, size_t size)
{
	size_t len = 0;
	ssize_t k;
	while (len + 1 < size && (k = read(fd, out + len, size - 1 - len)) > 0)
		len += (size_t)k;
	out[len] = '\0';
	close(fd);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool has_link(const char *prefix)
{
	char *links = run_in(host_ns, "ip -o link show");
	bool found = false;
	for (char *l = links; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		/* "3: mxc-ID@if2: <...": the name follows the index. */
		const char *name = strstr(l, ": ");
		if (name && strncmp(name + 2, prefix, strlen(prefix)) == 0)
			found = true;
	}
	free(links);
	return found;
}

static bool has_table(const char *prefix)
{
	char *tables = run_in(host_ns, "nft list tables");
	char needle[64];
	snprintf(needle, sizeof(needle), "table inet %s", prefix);
	bool found = strstr(tables, needle) != NULL;
	free(tables);
	return found;
}

/*
 * The link-local address of the host's side of the session's veth pair, "%eth0" appended,
 * once duplicate address detection has let both sides use their link-local addresses.
 */
static bool link_local_ready(const char *text)
{
	return strstr(text, "inet6 fe80:") && !strstr(text, "tentative");
}

static void host_link_local(const char *id, char *buf, size_t size)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ip -6 -o addr show dev mxc-%s scope link", id);
	char *text = NULL;
	for (int i = 0; i < 60; i++) {
		free(text);
		text = run_in(host_ns, cmd);
		struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "ip", "-6", "-o",
					      "addr", "show", "dev", "eth0", "scope", "link", NULL);
		bool ready = link_local_ready(text) && r.status == 0 && link_local_ready(r.out);
		mxc_result_free(&r);
		if (ready)
			break;
		usleep(50000);
	}
	cr_assert(link_local_ready(text), "mxc-%s has no usable link-local address: %s", id, text);
	char *a = strstr(text, "inet6 fe80:") + strlen("inet6 ");
	a[strcspn(a, "/")] = '\0';
	snprintf(buf, size, "%s%%eth0", a);
	free(text);
}

/* ---- the tests ---- */

Test(network, loopback_only_reaches_nothing_but_its_own_loopback)
{
	char *id = start(NULL);
	struct session_net net = session_net(id);
	cr_assert_str_eq(net.mode, "loopback only");
	cr_assert_str_empty(net.addr4);
	/* Its own loopback works, both families (the positive control). */
	reaches(id, "self 127.0.0.1", "banner: own-loopback");
	reaches(id, "self ::1", "banner: own-loopback");
	reaches(id, "self @mxc-probe-own", "banner: own-loopback");
	/* It has nothing but lo: no route anywhere. */
	struct mxc_result r = run_probe(id, "addrs");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "lo 127.0.0.1"), "%s", r.out);
	for (char *l = r.out; *l; l = strchr(l, '\n') + 1)
		cr_assert(strncmp(l, "lo ", 3) == 0, "an interface besides lo: %s", r.out);
	mxc_result_free(&r);
	refused(id, "tcp " OUT4 " 443", "ENETUNREACH");
	refused(id, "tcp " OUT6 " 443", "ENETUNREACH");
	refused(id, "udp " OUT4 " 53", "ENETUNREACH");
	refused(id, "tcp " HOST4 " 9000", "ENETUNREACH");
	refused(id, "tcp " HOST6 " 9000", "ENETUNREACH");
	/* The host's loopback is not the session's: nothing listens on the session's 9000. */
	refused(id, "tcp 127.0.0.1 9000", "ECONNREFUSED");
	/* Abstract unix sockets belong to a network namespace: the host's are not there. */
	refused(id, "unix @" HOST_ABSTRACT, "ECONNREFUSED");
	cr_assert_not(has_link("mxc-"), "a loopback-only session got a veth pair");
	free(id);
}

Test(network, an_allow_rule_opens_one_port_to_one_address)
{
	char *id = start("{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":\"" OUT4 "/32\"},"
			 "{\"cidr\":\"" OUT6 "/128\"}],"
			 "\"ports\":[{\"protocol\":\"tcp\",\"port\":443}]}]}}");
	struct session_net net = session_net(id);
	cr_assert_str_neq(net.addr4, "");
	/* The allowed destination answers, masqueraded behind the host (the positive control). */
	reaches(id, "tcp " OUT4 " 443", "banner: outside 443 from " HOST4);
	reaches(id, "tcp " OUT6 " 443", "banner: outside 443 from " HOST6);
	/* Another port: Landlock refuses the connect before a packet leaves. */
	refused(id, "tcp " OUT4 " 80", "EACCES");
	refused(id, "tcp " OUT4 " 8443", "EACCES");
	refused(id, "tcp " OUT6 " 80", "EACCES");
	/* The allowed port at another address: the packet filter resets it. */
	refused(id, "tcp " OTHER4 " 443", "ECONNREFUSED");
	refused(id, "tcp " OTHER6 " 443", "ECONNREFUSED");
	/* Another protocol to the allowed address: rejected with admin-prohibited. */
	refused(id, "udp " OUT4 " 53", "EHOSTUNREACH");
	refused(id, "udp " OUT6 " 53", "EACCES");
	free(id);
}

Test(network, port_rules_hold_in_the_packet_filter_without_landlock)
{
	/*
	 * A rule without ports means Landlock cannot restrict TCP ports: nftables alone holds
	 * the range 80-443 (both ends included) and "any" protocol port 53 (TCP and UDP).
	 */
	char *id = start("{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":\"" OUT4 "\"},"
			 "{\"cidr\":\"" OUT6 "\"}],"
			 "\"ports\":[{\"protocol\":\"tcp\",\"port\":80,\"endPort\":443}]},"
			 "{\"to\":[{\"cidr\":\"" OTHER4 "\"}],\"ports\":[{\"port\":53}]},"
			 "{\"to\":[{\"cidr\":\"203.0.113.9\"}]}]}}");
	cr_assert_not(tcp_ports_restricted(id));
	reaches(id, "tcp " OUT4 " 80", "banner: outside 80 from " HOST4);
	reaches(id, "tcp " OUT4 " 443", "banner: outside 443 from " HOST4);
	reaches(id, "tcp " OUT6 " 443", "banner: outside 443 from " HOST6);
	reaches(id, "tcp " OTHER4 " 53", "banner: outside 53 from " HOST4);
	reaches(id, "udp " OTHER4 " 53", "echo: echo " HOST4);
	refused(id, "tcp " OUT4 " 53", "ECONNREFUSED");
	refused(id, "tcp " OUT4 " 8443", "ECONNREFUSED");
	refused(id, "tcp " OUT6 " 8443", "ECONNREFUSED");
	refused(id, "tcp " OTHER4 " 443", "ECONNREFUSED");
	refused(id, "tcp " OTHER6 " 53", "ECONNREFUSED");
	refused(id, "udp " OUT4 " 53", "EHOSTUNREACH");
	free(id);
}

Test(network, a_deny_rule_wins_over_an_allow_rule)
{
	char *id =
	    start("{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":\"198.51.100.0/24\"},"
		  "{\"cidr\":\"2001:db8:1::/64\"}]}],"
		  "\"deny\":[{\"to\":[{\"cidr\":\"" OTHER4 "/32\"},{\"cidr\":\"" OTHER6 "\"}]}]}}");
	const char *ports[] = { "53", "80", "443", "8443" };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(ports); i++) {
		char args[64], expect[64];
		snprintf(expect, sizeof(expect), "banner: outside %s from", ports[i]);
		snprintf(args, sizeof(args), "tcp " OUT4 " %s", ports[i]);
		reaches(id, args, expect);
		snprintf(args, sizeof(args), "tcp " OUT6 " %s", ports[i]);
		reaches(id, args, expect);
		snprintf(args, sizeof(args), "tcp " OTHER4 " %s", ports[i]);
		refused(id, args, "ECONNREFUSED");
		snprintf(args, sizeof(args), "tcp " OTHER6 " %s", ports[i]);
		refused(id, args, "ECONNREFUSED");
	}
	reaches(id, "udp " OUT4 " 53", "echo: echo " HOST4 " mxc-probe-ping");
	reaches(id, "udp " OUT6 " 53", "echo: echo " HOST6 " mxc-probe-ping");
	refused(id, "udp " OTHER4 " 53", "EHOSTUNREACH");
	refused(id, "udp " OTHER6 " 53", "EACCES");
	/* The allowed network holds the host's own address: egress rules do not open the host. */
	refused(id, "tcp " HOST4 " 9000", "ECONNREFUSED");
	refused(id, "tcp " HOST6 " 9000", "ECONNREFUSED");
	free(id);
}

Test(network, an_except_network_is_cut_out_of_an_allow_rule)
{
	char *id = start("{\"egress\":{\"allow\":[{\"to\":["
			 "{\"cidr\":\"198.51.100.0/24\",\"except\":[\"" OTHER4 "/32\"]},"
			 "{\"cidr\":\"2001:db8:1::/64\",\"except\":[\"" OTHER6 "/128\"]}]}]}}");
	reaches(id, "tcp " OUT4 " 443", "banner: outside 443");
	reaches(id, "tcp " OUT6 " 80", "banner: outside 80");
	reaches(id, "udp " OUT4 " 53", "echo: echo");
	refused(id, "tcp " OTHER4 " 443", "ECONNREFUSED");
	refused(id, "tcp " OTHER4 " 80", "ECONNREFUSED");
	refused(id, "tcp " OTHER6 " 443", "ECONNREFUSED");
	refused(id, "udp " OTHER4 " 53", "EHOSTUNREACH");
	free(id);
}

Test(network, a_deny_rule_holds_under_default_allow)
{
	char *id = start("{\"egress\":{\"default\":\"allow\","
			 "\"deny\":[{\"ports\":[{\"protocol\":\"tcp\",\"port\":80}]}]}}");
	reaches(id, "tcp " OUT4 " 443", "banner: outside 443");
	reaches(id, "tcp " OTHER4 " 8443", "banner: outside 8443");
	reaches(id, "tcp " OUT6 " 443", "banner: outside 443");
	reaches(id, "udp " OTHER4 " 53", "echo: echo");
	refused(id, "tcp " OUT4 " 80", "ECONNREFUSED");
	refused(id, "tcp " OTHER4 " 80", "ECONNREFUSED");
	refused(id, "tcp " OUT6 " 80", "ECONNREFUSED");
	refused(id, "tcp " OTHER6 " 80", "ECONNREFUSED");
	free(id);
}

Test(network, a_udp_rule_opens_udp_only)
{
	char *id = start("{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":\"" OUT4 "\"},"
			 "{\"cidr\":\"" OUT6 "\"}],"
			 "\"ports\":[{\"protocol\":\"udp\",\"port\":53}]}]}}");
	reaches(id, "udp " OUT4 " 53", "echo: echo " HOST4 " mxc-probe-ping");
	reaches(id, "udp " OUT6 " 53", "echo: echo " HOST6 " mxc-probe-ping");
	/* No TCP port at all is allowed: Landlock refuses every TCP connect. */
	refused(id, "tcp " OUT4 " 53", "EACCES");
	refused(id, "tcp " OUT4 " 443", "EACCES");
	refused(id, "tcp " OUT6 " 53", "EACCES");
	/* UDP 53 elsewhere: the packet filter. */
	refused(id, "udp " OTHER4 " 53", "EHOSTUNREACH");
	refused(id, "udp " OTHER6 " 53", "EACCES");
	free(id);
}

Test(network, the_host_is_out_of_reach_unless_host_loopback_allows)
{
	char *id = start("{\"egress\":{\"default\":\"allow\"}}");
	struct session_net net = session_net(id);
	cr_assert_str_neq(net.gw4, "");
	cr_assert_str_neq(net.gw6, "");
	char args[128];
	/* The outside is reachable (the positive control) ... */
	reaches(id, "tcp " OUT4 " 443", "banner: outside 443");
	/* ... but not the host, at its gateway address or any other of its addresses. */
	snprintf(args, sizeof(args), "tcp %s %d", net.gw4, HOST_PORT);
	refused(id, args, "ECONNREFUSED");
	snprintf(args, sizeof(args), "tcp %s %d", net.gw6, HOST_PORT);
	refused(id, args, "ECONNREFUSED");
	refused(id, "tcp " HOST4 " 9000", "ECONNREFUSED");
	refused(id, "tcp " HOST6 " 9000", "ECONNREFUSED");
	char link_local[96];
	host_link_local(id, link_local, sizeof(link_local));
	/*
	 * Refused all the same, but the agent waits: the reset is routed by the kernel without
	 * the link's scope (nf_reject), out of another link.
	 */
	snprintf(args, sizeof(args), "tcp %s %d", link_local, HOST_PORT);
	refused(id, args, "ETIMEDOUT|ECONNREFUSED");
	/* Nor may the host reach the session. */
	int fd;
	pid_t pid = listen_in_session(id, 1500, 1, &fd);
	char banner[128] = "", out[256];
	cr_assert_eq(tcp_from(host_ns, net.addr4, SESSION_PORT, 500, banner, sizeof(banner)),
		     -ETIMEDOUT, "the host reached the session: %s", banner);
	cr_assert_eq(tcp_from(host_ns, net.addr6, SESSION_PORT, 500, banner, sizeof(banner)),
		     -ETIMEDOUT, "the host reached the session: %s", banner);
	cr_assert_eq(listen_result(pid, fd, out, sizeof(out)), 1, "%s", out);
	cr_assert_str_eq(out, "fail: ETIMEDOUT\n");
	free(mxc_ok(&h, "session", "stop", id, NULL));
	free(id);

	/* With hostLoopback allow, both ways work: the same probes were not broken. */
	id = start("{\"ingress\":{\"hostLoopback\":\"allow\"}}");
	net = session_net(id);
	char expect[128];
	snprintf(args, sizeof(args), "tcp %s %d", net.gw4, HOST_PORT);
	snprintf(expect, sizeof(expect), "banner: host 9000 from %s", net.addr4);
	reaches(id, args, expect);
	snprintf(args, sizeof(args), "tcp %s %d", net.gw6, HOST_PORT);
	snprintf(expect, sizeof(expect), "banner: host 9000 from %s", net.addr6);
	reaches(id, args, expect);
	host_link_local(id, link_local, sizeof(link_local));
	snprintf(args, sizeof(args), "tcp %s %d", link_local, HOST_PORT);
	reaches(id, args, "banner: host 9000 from fe80:");
	/* The host's abstract unix sockets stay in the host's namespace all the same. */
	refused(id, "unix @" HOST_ABSTRACT, "ECONNREFUSED");
	pid = listen_in_session(id, 3000, 2, &fd);
	cr_assert_eq(tcp_from(host_ns, net.addr4, SESSION_PORT, 1000, banner, sizeof(banner)), 0);
	cr_assert_str_eq(banner, "session-listener\n");
	cr_assert_eq(tcp_from(host_ns, net.addr6, SESSION_PORT, 1000, banner, sizeof(banner)), 0);
	cr_assert_str_eq(banner, "session-listener\n");
	cr_assert_eq(listen_result(pid, fd, out, sizeof(out)), 0, "%s", out);
	/* hostLoopback is not egress: the outside stays closed. */
	refused(id, "tcp " OUT4 " 443", "ECONNREFUSED");
	free(id);
}

Test(network, ingress_from_the_outside_needs_ingress_allow)
{
	char *id = start("{\"egress\":{\"default\":\"allow\"}}");
	struct session_net net = session_net(id);
	int fd;
	pid_t pid = listen_in_session(id, 2000, 1, &fd);
	char banner[128] = "", out[256];
	cr_assert_eq(tcp_from(out_ns, net.addr4, SESSION_PORT, 700, banner, sizeof(banner)),
		     -ETIMEDOUT, "the outside reached the session: %s", banner);
	cr_assert_eq(tcp_from(out_ns, net.addr6, SESSION_PORT, 700, banner, sizeof(banner)),
		     -ETIMEDOUT, "the outside reached the session: %s", banner);
	cr_assert_eq(listen_result(pid, fd, out, sizeof(out)), 1, "%s", out);
	cr_assert_str_eq(out, "fail: ETIMEDOUT\n");
	free(mxc_ok(&h, "session", "stop", id, NULL));
	free(id);

	id = start("{\"ingress\":{\"default\":\"allow\"}}");
	net = session_net(id);
	pid = listen_in_session(id, 3000, 2, &fd);
	cr_assert_eq(tcp_from(out_ns, net.addr4, SESSION_PORT, 1000, banner, sizeof(banner)), 0);
	cr_assert_str_eq(banner, "session-listener\n");
	cr_assert_eq(tcp_from(out_ns, net.addr6, SESSION_PORT, 1000, banner, sizeof(banner)), 0);
	cr_assert_str_eq(banner, "session-listener\n");
	cr_assert_eq(listen_result(pid, fd, out, sizeof(out)), 0, "%s", out);
	/* Not translated on the way in: the session sees the outside's own addresses. */
	cr_assert_not_null(strstr(out, OUT4), "%s", out);
	cr_assert_not_null(strstr(out, OUT6), "%s", out);
	free(id);
}

Test(network, sessions_do_not_reach_each_other)
{
	char *a = start("{\"egress\":{\"default\":\"allow\"}}");
	char *b = start("{\"egress\":{\"default\":\"allow\"}}");
	struct session_net nb = session_net(b);
	cr_assert_str_neq(nb.addr4, session_net(a).addr4);
	char args[128], out[256];
	int fd;
	pid_t pid = listen_in_session(b, 2500, 1, &fd);
	snprintf(args, sizeof(args), "tcp %s %d 1000", nb.addr4, SESSION_PORT);
	refused(a, args, "ETIMEDOUT");
	cr_assert_eq(listen_result(pid, fd, out, sizeof(out)), 1, "%s", out);
	cr_assert_str_eq(out, "fail: ETIMEDOUT\n");
	free(mxc_ok(&h, "session", "stop", b, NULL));
	free(b);

	/* A session that allows ingress is reached by the same probe. */
	b = start("{\"ingress\":{\"default\":\"allow\"}}");
	nb = session_net(b);
	pid = listen_in_session(b, 3000, 1, &fd);
	snprintf(args, sizeof(args), "tcp %s %d 1000", nb.addr4, SESSION_PORT);
	reaches(a, args, "banner: session-listener");
	cr_assert_eq(listen_result(pid, fd, out, sizeof(out)), 0, "%s", out);
	free(a);
	free(b);
}

Test(network, the_session_cannot_reconfigure_its_network)
{
	char *id = start("{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":\"" OUT4 "\"}]}]}}");
	struct session_net net = session_net(id);
	char script[256];
	snprintf(script, sizeof(script), "ip -o addr show dev eth0 | grep -F ' %s/'", net.addr4);
	struct mxc_result r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", script, NULL);
	cr_assert_eq(r.status, 0, "eth0 lacks %s: %s%s", net.addr4, r.out, r.err);
	mxc_result_free(&r);
	/* Taking another address (to pass a rule for it) or a route: no CAP_NET_ADMIN. */
	const char *attempts[] = { "ip addr add " OTHER4 "/32 dev eth0",
				   "ip route add 198.51.100.0/24 dev eth0",
				   "ip link set eth0 down",
				   "ip link add x0 type dummy" };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(attempts); i++) {
		r = mxc_run(&h, 0, NULL, "exec", id, "--", "sh", "-c", attempts[i], NULL);
		cr_assert_neq(r.status, 0, "'%s' succeeded", attempts[i]);
		cr_assert_not_null(strstr(r.err, "Operation not permitted"), "'%s': %s",
				   attempts[i], r.err);
		mxc_result_free(&r);
	}
	/* Raw and packet sockets (to forge a source address) are refused; a datagram is not. */
	refused(id, "socket raw4", "EPERM");
	refused(id, "socket raw6", "EPERM");
	refused(id, "socket packet", "EPERM");
	reaches(id, "socket dgram", "ok");
	reaches(id, "tcp " OUT4 " 443", "banner: outside 443");
	free(id);
}

/* Whether the session's row says it has ended, polled for up to wait_ms. */
static bool ended_within(const char *id, int wait_ms)
{
	for (int waited = 0; waited <= wait_ms; waited += 50) {
		char *text = mxc_ok(&h, "session", "show", id, "--json", NULL);
		struct json_object *o = mxc_test_json(text);
		const char *state = mxc_test_str(o, "state");
		bool ended =
		    state && strcmp(state, "running") != 0 && strcmp(state, "starting") != 0;
		json_object_put(o);
		free(text);
		if (ended)
			return true;
		usleep(50000);
	}
	return false;
}

Test(network, a_sessions_link_and_table_go_with_it)
{
	char *id =
	    start("{\"egress\":{\"default\":\"allow\"},\"ingress\":{\"hostLoopback\":\"allow\"}}");
	char link[32], table[32];
	snprintf(link, sizeof(link), "mxc-%s", id);
	snprintf(table, sizeof(table), "mxc_%s", id);
	struct session_net net = session_net(id);
	char mode[128];
	snprintf(mode, sizeof(mode), "veth %s, nftables table inet %s", link, table);
	cr_assert_str_eq(net.mode, mode);
	cr_assert(has_link(link), "no %s while the session runs", link);
	cr_assert(has_table(table), "no table %s while the session runs", table);
	free(mxc_ok(&h, "session", "stop", id, NULL));
	cr_assert_not(has_link("mxc-"), "a mxc- link outlived the session");
	cr_assert_not(has_table("mxc_"), "a mxc_ table outlived the session");
	free(id);

	/* A session that ends by itself (its timeoutMs) takes them too. */
	char path[300];
	snprintf(path, sizeof(path), "%s/timeout.json", h.env.scratch);
	put(path, "{\"version\":\"mxc/1\",\"ui\":{\"allowWindows\":false},\"timeoutMs\":1000,"
		  "\"network\":{\"egress\":{\"default\":\"allow\"}}}");
	id = mxc_ok(&h, "session", "start", "coder", "--policy", path, NULL);
	snprintf(link, sizeof(link), "mxc-%s", id);
	cr_assert(has_link(link), "no %s while the session runs", link);
	cr_assert(ended_within(id, 5000), "session %s outlived its timeoutMs", id);
	cr_assert_not(has_link("mxc-"), "a mxc- link outlived the session");
	cr_assert_not(has_table("mxc_"), "a mxc_ table outlived the session");
	free(id);
}

Test(network, the_filter_outlives_a_daemon_crash_and_goes_with_the_session)
{
	char *id = start("{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":\"" OUT4 "\"}],"
			 "\"ports\":[{\"protocol\":\"tcp\",\"port\":443}]}]}}");
	char link[32];
	snprintf(link, sizeof(link), "mxc-%s", id);
	mxc_harness_kill_daemon(&h);
	/* The session runs on, and so does its filter. */
	cr_assert(has_link(link));
	cr_assert(has_table("mxc_"));
	mxc_harness_start_daemon(&h);
	reaches(id, "tcp " OUT4 " 443", "banner: outside 443");
	refused(id, "tcp " OTHER4 " 443", "ECONNREFUSED");
	free(mxc_ok(&h, "session", "stop", id, NULL));
	cr_assert_not(has_link("mxc-"), "a mxc- link outlived an adopted session");
	cr_assert_not(has_table("mxc_"), "a mxc_ table outlived an adopted session");
	free(id);

	/* A session that dies while the daemon is down is cleaned up when it comes back. */
	id = start("{\"egress\":{\"default\":\"allow\"}}");
	char *text = mxc_ok(&h, "session", "show", id, "--json", NULL);
	struct json_object *o = mxc_test_json(text);
	pid_t leader = (pid_t)mxc_test_int(o, "leader_pid");
	json_object_put(o);
	free(text);
	cr_assert_gt(leader, 1);
	mxc_harness_kill_daemon(&h);
	cr_assert_eq(kill(leader, SIGKILL), 0);
	for (int i = 0; i < 200 && mxc_pid_alive(leader); i++)
		usleep(10000);
	mxc_harness_start_daemon(&h);
	cr_assert_not(has_link("mxc-"), "a dead session's link survived the daemon's restart");
	cr_assert_not(has_table("mxc_"), "a dead session's table survived the daemon's restart");
	free(id);
}

Test(network, destinations_the_filter_cannot_see_are_refused)
{
	static const struct {
		const char *network, *path;
	} bad[] = {
		{ "{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":\"127.0.0.1/32\"}]}]}}",
		  "network.egress.allow[0].to[0].cidr: 127.0.0.1/32 is the session's own "
		  "loopback" },
		{ "{\"egress\":{\"default\":\"allow\",\"deny\":[{\"to\":[{\"cidr\":\"" OUT4
		  "\"},{\"cidr\":\"::1\"}]}]}}",
		  "network.egress.deny[0].to[1].cidr: ::1/128 is the session's own loopback" },
		{ "{\"egress\":{\"allow\":[{\"to\":[{\"cidr\":\"::ffff:198.51.100.0/120\"}]}]}}",
		  "network.egress.allow[0].to[0].cidr: ::ffff:198.51.100.0/120 is IPv4-mapped" },
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(bad); i++) {
		struct mxc_result r = mxc_run(&h, 0, NULL, "session", "start", "coder", "--policy",
					      policy_file(bad[i].network), NULL);
		cr_assert_neq(r.status, 0, "started under %s", bad[i].network);
		cr_assert_not_null(strstr(r.err, bad[i].path), "%s: %s", bad[i].network, r.err);
		mxc_result_free(&r);
	}
	char *list = mxc_ok(&h, "session", "list", NULL);
	cr_assert_null(strstr(list, "coder"), "a refused session runs: %s", list);
	free(list);
	cr_assert_not(has_link("mxc-"));
	cr_assert_not(has_table("mxc_"));
}
