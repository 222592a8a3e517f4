/*
 * The attacker for the network escape tests: run as the agent inside a session, it tries one
 * connection and says exactly what happened, so a test can tell a refusal (and which kind)
 * from a probe that did not work at all.
 *
 *   probe tcp ADDR PORT [TIMEOUT_MS]    connect, read the peer's banner line, print
 *                                       "banner: LINE"; exit 0 only if a banner came
 *   probe unix @NAME [TIMEOUT_MS]       the same to an abstract unix socket
 *   probe udp ADDR PORT [TIMEOUT_MS]    send a datagram, print "echo: REPLY" when it comes back
 *   probe listen PORT [TIMEOUT_MS [N]]  listen on every address (IPv4 and IPv6), print
 *                                       "listening", accept N connections (1) within the
 *                                       timeout, send each a banner, print "accepted PEER"
 *   probe socket raw4|raw6|packet|dgram open a socket of that kind, print "ok"
 *   probe self ADDR|@NAME               listen on ADDR (or an abstract unix socket) and
 *                                       connect to it: the session's own loopback
 *
 * ADDR is IPv4 or IPv6, with "%IFNAME" for a link-local IPv6 address.
 *   probe addrs                         the session's interfaces and addresses
 *
 * A failure prints "fail: ERRNO-NAME" and exits 1 (2 for bad usage, 3 for a connection
 * that gave no banner). Plain libc only: the build directory is not visible in a session.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 1500

union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

static int fail(int e)
{
	const char *name = strerrorname_np(e);
	printf("fail: %s\n", name ? name : "unknown");
	return 1;
}

static int usage(void)
{
	fputs("usage: probe tcp|udp ADDR PORT [TIMEOUT_MS] | unix @NAME [TIMEOUT_MS] | "
	      "listen PORT [TIMEOUT_MS [N]] | socket KIND | self ADDR|@NAME | addrs\n",
	      stderr);
	return 2;
}

static bool parse_int(const char *s, long lo, long hi, long *ret)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

/*
 * ADDR is an IPv4 or IPv6 address (IPv6 with an optional "%IFNAME" scope, for link-local
 * addresses) or "@NAME", an abstract unix socket (port ignored).
 */
static bool parse_addr(const char *s, long port, union addr *a, socklen_t *len)
{
	memset(a, 0, sizeof(*a));
	if (s[0] == '@') {
		struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
		size_t n = strlen(s + 1);
		if (n == 0 || n >= sizeof(un->sun_path) - 1)
			return false;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path + 1, s + 1, n); /* sun_path[0] = 0: abstract */
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
		return true;
	}
	if (inet_pton(AF_INET, s, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons((uint16_t)port);
		*len = sizeof(a->in);
		return true;
	}
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	snprintf(host, sizeof(host), "%s", s);
	char *scope = strchr(host, '%');
	if (scope) {
		*scope++ = '\0';
		if (!(a->in6.sin6_scope_id = if_nametoindex(scope)))
			return false;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		*len = sizeof(a->in6);
		return true;
	}
	return false;
}

static void format_addr(const union addr *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(a->in.sin_port));
	} else {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(a->in6.sin6_port));
	}
}

/* Waits for events on fd; 0 on an event, -ETIMEDOUT when none came in time. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { fd, events, 0 };
	int r;
	while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* Reads one line (without its newline) within timeout_ms; its length, or a negative errno. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t len = 0;
	while (len + 1 < size) {
		int r = wait_fd(fd, POLLIN, timeout_ms);
		if (r < 0)
			return r;
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return (int)strlen(buf);
}

/* A non-blocking connect that is given timeout_ms; a connected socket or a negative errno. */
static int tcp_connect(const union addr *a, socklen_t len, int timeout_ms)
{
	int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, &a->sa, len) < 0) {
		int r = -errno;
		if (r == -EINPROGRESS) {
			r = wait_fd(fd, POLLOUT, timeout_ms);
			int e = 0;
			socklen_t elen = sizeof(e);
			if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
				r = -errno;
			else if (r == 0 && e)
				r = -e;
		}
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	return fd;
}

static int cmd_tcp(int argc, char **argv)
{
	long port, timeout = DEFAULT_TIMEOUT_MS;
	union addr a;
	socklen_t len;
	if (strcmp(argv[1], "unix") == 0) {
		if (argc < 3 || argc > 4 || argv[2][0] != '@' ||
		    !parse_addr(argv[2], 0, &a, &len) ||
		    (argc == 4 && !parse_int(argv[3], 1, 60000, &timeout)))
			return usage();
	} else if (argc < 4 || argc > 5 || !parse_int(argv[3], 1, 65535, &port) ||
		   !parse_addr(argv[2], port, &a, &len) || a.sa.sa_family == AF_UNIX ||
		   (argc == 5 && !parse_int(argv[4], 1, 60000, &timeout))) {
		return usage();
	}
	int fd = tcp_connect(&a, len, (int)timeout);
	if (fd < 0)
		return fail(-fd);
	char line[256];
	int r = read_line(fd, line, sizeof(line), (int)timeout);
	close(fd);
	if (r <= 0) {
		printf("connected, no banner: %s\n", r < 0 ? strerrorname_np(-r) : "end of stream");
		return 3;
	}
	printf("banner: %s\n", line);
	return 0;
}

static int cmd_udp(int argc, char **argv)
{
	long port, timeout = DEFAULT_TIMEOUT_MS;
	union addr a;
	socklen_t len;
	if (argc < 4 || argc > 5 || !parse_int(argv[3], 1, 65535, &port) ||
	    !parse_addr(argv[2], port, &a, &len) ||
	    (argc == 5 && !parse_int(argv[4], 1, 60000, &timeout)))
		return usage();
	int fd = socket(a.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno);
	/* Connected, so that an ICMP error (a reject) comes back as the recv's errno. */
	if (connect(fd, &a.sa, len) < 0)
		return fail(errno);
	static const char ping[] = "mxc-probe-ping";
	if (send(fd, ping, sizeof(ping) - 1, 0) < 0)
		return fail(errno);
	int r = wait_fd(fd, POLLIN, (int)timeout);
	if (r < 0)
		return fail(-r);
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return fail(errno);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("echo: %s\n", buf);
	return 0;
}

/* Listening on every IPv4 and IPv6 address. */
static int listen_any(long port)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0, on = 1;
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int cmd_listen(int argc, char **argv)
{
	long port, timeout = DEFAULT_TIMEOUT_MS, count = 1;
	if (argc < 3 || argc > 5 || !parse_int(argv[2], 1, 65535, &port) ||
	    (argc >= 4 && !parse_int(argv[3], 1, 60000, &timeout)) ||
	    (argc == 5 && !parse_int(argv[4], 1, 16, &count)))
		return usage();
	int fd = listen_any(port);
	if (fd < 0)
		return fail(-fd);
	printf("listening\n");
	fflush(stdout);
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout / 1000;
	end.tv_nsec += timeout % 1000 * 1000000;
	for (long i = 0; i < count; i++) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left =
		    (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		int r = wait_fd(fd, POLLIN, left > 0 ? (int)left : 0);
		if (r < 0)
			return fail(-r);
		union addr peer;
		socklen_t len = sizeof(peer);
		int c = accept4(fd, &peer.sa, &len, SOCK_CLOEXEC);
		if (c < 0)
			return fail(errno);
		static const char banner[] = "session-listener\n";
		if (write(c, banner, sizeof(banner) - 1) < 0)
			return fail(errno);
		char text[128];
		format_addr(&peer, text, sizeof(text));
		printf("accepted %s\n", text);
		close(c);
	}
	close(fd);
	return 0;
}

/* A socket of a kind that could forge packets (raw, packet), or an ordinary one. */
static int cmd_socket(int argc, char **argv)
{
	static const struct {
		const char *name;
		int domain, type, protocol;
	} kinds[] = {
		{ "raw4", AF_INET, SOCK_RAW, IPPROTO_UDP },
		{ "raw6", AF_INET6, SOCK_RAW, IPPROTO_UDP },
		{ "packet", AF_PACKET, SOCK_RAW, 0 },
		{ "dgram", AF_INET, SOCK_DGRAM, 0 },
	};
	if (argc != 3)
		return usage();
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(argv[2], kinds[i].name) != 0)
			continue;
		int fd = socket(kinds[i].domain, kinds[i].type | SOCK_CLOEXEC, kinds[i].protocol);
		if (fd < 0)
			return fail(errno);
		printf("ok\n");
		close(fd);
		return 0;
	}
	return usage();
}

static int cmd_self(int argc, char **argv)
{
	union addr a;
	socklen_t len;
	if (argc != 3 || !parse_addr(argv[2], 1, &a, &len))
		return usage();
	if (a.sa.sa_family == AF_INET) /* the kernel picks the port */
		a.in.sin_port = 0;
	else if (a.sa.sa_family == AF_INET6)
		a.in6.sin6_port = 0;
	int l = socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, &a.sa, len) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, &a.sa, &len) < 0)
		return fail(errno);
	int fd = tcp_connect(&a, len, DEFAULT_TIMEOUT_MS);
	if (fd < 0)
		return fail(-fd);
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	static const char banner[] = "own-loopback\n";
	if (c < 0 || write(c, banner, sizeof(banner) - 1) < 0)
		return fail(errno);
	char line[64];
	int r = read_line(fd, line, sizeof(line), DEFAULT_TIMEOUT_MS);
	if (r <= 0)
		return fail(r < 0 ? -r : EPIPE);
	printf("banner: %s\n", line);
	return 0;
}

static int cmd_addrs(void)
{
	struct ifaddrs *list;
	if (getifaddrs(&list) < 0)
		return fail(errno);
	for (struct ifaddrs *i = list; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		int fam = i->ifa_addr->sa_family;
		if (fam != AF_INET && fam != AF_INET6) {
			printf("%s link\n", i->ifa_name);
			continue;
		}
		char host[INET6_ADDRSTRLEN];
		const void *p =
		    fam == AF_INET
			? (const void *)&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
		inet_ntop(fam, p, host, sizeof(host));
		printf("%s %s\n", i->ifa_name, host);
	}
	freeifaddrs(list);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "tcp") == 0 || strcmp(argv[1], "unix") == 0)
		return cmd_tcp(argc, argv);
	if (strcmp(argv[1], "udp") == 0)
		return cmd_udp(argc, argv);
	if (strcmp(argv[1], "listen") == 0)
		return cmd_listen(argc, argv);
	if (strcmp(argv[1], "socket") == 0)
		return cmd_socket(argc, argv);
	if (strcmp(argv[1], "self") == 0)
		return cmd_self(argc, argv);
	if (strcmp(argv[1], "addrs") == 0 && argc == 2)
		return cmd_addrs();
	return usage();
}
