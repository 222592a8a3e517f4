/*
 * The attacker of the display escape tests: connects to an X server and performs the X11
 * connection setup, printing one line per attempt, "TARGET RESULT":
 *
 *   x11 WxH          the server accepted the client; WxH is its first screen's size, which
 *                    tells the displays apart (the human's, the session's, another one's)
 *   refused REASON   the server answered but refused the client (e.g. a wrong cookie)
 *   ENOENT, ...      the connection itself failed, with this errno
 *
 *   probe-display unix PATH AUTH          a filesystem socket
 *   probe-display abstract NAME AUTH      an abstract unix socket
 *   probe-display tcp HOST PORT AUTH      TCP to an IPv4 address, or "gateway" (the default
 *                                         route's), with a 3-second timeout
 *
 * AUTH is "cookie" (the first MIT-MAGIC-COOKIE-1 of $XAUTHORITY) or "none".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define COOKIE_NAME "MIT-MAGIC-COOKIE-1"

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int be16(const unsigned char *p)
{
	return p[0] << 8 | p[1];
}

/* The first MIT-MAGIC-COOKIE-1 in $XAUTHORITY (16 bytes), or 0 if there is none. */
static size_t read_cookie(unsigned char cookie[16])
{
	const char *path = getenv("XAUTHORITY");
	unsigned char buf[4096];
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (fd >= 0)
		close(fd);
	/* family, then address, display number, name and data, each with a 16-bit length. */
	for (size_t off = 0; n > 0 && off + 2 <= (size_t)n;) {
		const unsigned char *field[4];
		size_t len[4];
		off += 2;
		for (int i = 0; i < 4; i++) {
			if (off + 2 > (size_t)n)
				return 0;
			len[i] = (size_t)be16(buf + off);
			field[i] = buf + off + 2;
			off += 2 + len[i];
			if (off > (size_t)n)
				return 0;
		}
		if (len[2] == strlen(COOKIE_NAME) && memcmp(field[2], COOKIE_NAME, len[2]) == 0 &&
		    len[3] == 16) {
			memcpy(cookie, field[3], 16);
			return 16;
		}
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* The X11 connection setup on a connected socket; prints the outcome. */
static void setup(int fd, const char *target, const char *auth)
{
	unsigned char req[12 + 20 + 16] = {'l', 0, 11, 0, 0, 0}, cookie[16];
	size_t cookie_len = strcmp(auth, "cookie") == 0 ? read_cookie(cookie) : 0, len = 12;
	if (strcmp(auth, "cookie") == 0 && cookie_len == 0) {
		printf("%s no-cookie\n", target);
		return;
	}
	if (cookie_len) {
		req[6] = (unsigned char)strlen(COOKIE_NAME);
		req[8] = 16;
		memcpy(req + 12, COOKIE_NAME, strlen(COOKIE_NAME));
		memcpy(req + 12 + pad4(strlen(COOKIE_NAME)), cookie, 16);
		len += pad4(strlen(COOKIE_NAME)) + 16;
	}
	struct timeval tv = {3, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	unsigned char head[8];
	if (write(fd, req, len) != (ssize_t)len || read_full(fd, head, sizeof(head)) < 0) {
		printf("%s no-answer\n", target);
		return;
	}
	/* Little-endian from here, as requested. */
	size_t extra = (size_t)(head[6] | head[7] << 8) * 4;
	unsigned char *data = extra ? malloc(extra) : NULL;
	if (extra && (!data || read_full(fd, data, extra) < 0)) {
		printf("%s short-answer\n", target);
		free(data);
		return;
	}
	if (head[0] != 1) {
		size_t reason = head[0] == 0 ? head[1] : extra;
		if (reason > extra)
			reason = extra;
		while (reason > 0 && (data[reason - 1] == '\n' || data[reason - 1] == '\0'))
			reason--;
		printf("%s refused %.*s\n", target, (int)reason, data ? (char *)data : "");
		free(data);
		return;
	}
	if (!data || extra < 32) {
		printf("%s bad-setup\n", target);
		free(data);
		return;
	}
	size_t vendor = (size_t)(data[16] | data[17] << 8), formats = data[21];
	size_t screen = 32 + pad4(vendor) + 8 * formats;
	if (data[20] == 0 || screen + 24 > extra) {
		printf("%s bad-setup\n", target);
	} else {
		printf("%s x11 %dx%d\n", target, data[screen + 20] | data[screen + 21] << 8,
		       data[screen + 22] | data[screen + 23] << 8);
	}
	free(data);
}

static int unix_target(const char *target, const char *name, bool abstract, const char *auth)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	if (len + 1 >= sizeof(addr.sun_path))
		return 2;
	memcpy(addr.sun_path + abstract, name, len);
	socklen_t alen =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + len + !abstract);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, alen) < 0) {
		printf("%s %s\n", target, strerrorname_np(errno));
		return 0;
	}
	setup(fd, target, auth);
	close(fd);
	return 0;
}

/* The gateway of the default route, from /proc/net/route; 0 if there is none. */
static uint32_t gateway(void)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256];
	unsigned dest, gw = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %x %x", &dest, &gw) == 2 && dest == 0)
			break;
		gw = 0;
	}
	if (f)
		fclose(f);
	return gw; /* already in network byte order */
}

static int tcp_target(const char *target, const char *host, int port, const char *auth)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (strcmp(host, "gateway") == 0)
		addr.sin_addr.s_addr = gateway();
	else if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		return 2;
	if (addr.sin_addr.s_addr == 0) {
		printf("%s no-gateway\n", target);
		return 0;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
		printf("%s %s\n", target, strerrorname_np(errno));
		close(fd);
		return 0;
	}
	struct pollfd p = {fd, POLLOUT, 0};
	int e = 0;
	socklen_t elen = sizeof(e);
	if (poll(&p, 1, 3000) <= 0)
		e = ETIMEDOUT;
	else
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen);
	if (e) {
		printf("%s %s\n", target, strerrorname_np(e));
		close(fd);
		return 0;
	}
	fcntl(fd, F_SETFL, 0);
	setup(fd, target, auth);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "unix") == 0)
		return unix_target(argv[2], argv[2], false, argv[3]);
	if (argc == 4 && strcmp(argv[1], "abstract") == 0) {
		char target[200];
		snprintf(target, sizeof(target), "@%s", argv[2]);
		return unix_target(target, argv[2], true, argv[3]);
	}
	if (argc == 5 && strcmp(argv[1], "tcp") == 0) {
		char target[200];
		snprintf(target, sizeof(target), "%s:%s", argv[2], argv[3]);
		return tcp_target(target, argv[2], atoi(argv[3]), argv[4]);
	}
	fprintf(stderr, "usage: probe-display unix PATH AUTH | abstract NAME AUTH | "
			"tcp HOST PORT AUTH\n");
	return 2;
}
