/*
 * The attacker of the handoff tests: run as the agent inside its session, it speaks the wire
 * protocol to the session's own socket ($MXC_SOCKET) directly, without any of the CLI's own
 * checks, and prints one line per request: "CASE ok RESULT" when the daemon accepted it
 * (RESULT its answer as JSON), or "CASE CODE MESSAGE" with the errno name and message of the
 * refusal. The probe only reports; the test decides what is expected.
 *
 *   probe-handoff sends DIR               handoff.send with hostile descriptors and names,
 *                                         made in DIR (created; it must not exist)
 *   probe-handoff call VERB ARGS [FILE]   one request: VERB with the JSON object ARGS and,
 *                                         with FILE, that file opened read-only attached
 *
 * Exits 0 when every request was sent and answered, 1 otherwise (the reason on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "proto.h"
#include "util.h"

/* Bytes of the file too large for the tests' rule (its maxBytes is 1024). */
#define BIG_SIZE 2000
/* Bytes of the overlong name's stem: with ".txt", well past the 255 a name may have. */
#define LONG_STEM 300

static int connect_session(void)
{
	const char *path = getenv("MXC_SOCKET");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (!path || strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "probe-handoff: $MXC_SOCKET is unset or too long\n");
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "probe-handoff: cannot connect to %s: %s\n", path, strerror(errno));
		mxc_close(fd);
		return -1;
	}
	return fd;
}

/* Prints text on the current line with every control byte as '?': one line per case. */
static void print_flat(const char *text)
{
	for (const char *p = text; *p; p++)
		putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
}

/*
 * Sends verb with args (taken) and fds on a connection of its own and prints the outcome
 * under name. Returns 0 once an answer came, whatever it says.
 */
static int call(const char *name, const char *verb, struct json_object *args, const int *fds,
		size_t n_fds)
{
	struct json_object *req = mxc_proto_request(verb, args), *resp = NULL, *e = NULL;
	struct mxc_reader in;
	struct mxc_error err = {0};
	const char *code = NULL, *message = NULL;
	bool ok = false;
	int r = -1;
	int sock = connect_session();
	mxc_reader_init(&in, MXC_PROTO_MAX_RESPONSE);
	if (sock < 0)
		goto out;
	if ((r = mxc_send_json(sock, req, fds, n_fds)) < 0) {
		fprintf(stderr, "probe-handoff: %s: cannot send: %s\n", name, strerror(-r));
		goto out;
	}
	if ((r = mxc_recv_json(&in, sock, &resp, &err)) < 0) {
		fprintf(stderr, "probe-handoff: %s: no answer: %s\n", name, err.msg);
		goto out;
	}
	mxc_json_get_bool(resp, "ok", &ok, NULL);
	printf("%s ", name);
	if (ok) {
		json_object_object_get_ex(resp, "result", &e);
		printf("ok ");
		print_flat(e ? mxc_json_str(e, NULL) : "{}");
	} else {
		json_object_object_get_ex(resp, "error", &e);
		mxc_json_get_str(e, "code", 64, &code, NULL);
		mxc_json_get_str(e, "message", 4096, &message, NULL);
		print_flat(code ? code : "E?");
		putchar(' ');
		print_flat(message ? message : "");
	}
	putchar('\n');
	fflush(stdout);
	r = 0;
out:
	mxc_reader_finish(&in);
	json_object_put(resp);
	json_object_put(req);
	mxc_close(sock);
	return r;
}

/* handoff.send of name with the given descriptors (none for n_fds 0). */
static int send_as(const char *label, const char *name, const int *fds, size_t n_fds)
{
	struct json_object *args = json_object_new_object();
	mxc_json_add_str(args, "name", name);
	return call(label, "handoff.send", args, fds, n_fds);
}

static int write_at(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int r = fd < 0 ? -errno : mxc_write_all(fd, data, len);
	mxc_close(fd);
	return r;
}

/* A descriptor made for a case, or a report of why it could not be. */
static int opened(const char *what, int fd)
{
	if (fd < 0)
		fprintf(stderr, "probe-handoff: cannot open the %s: %s\n", what, strerror(errno));
	return fd;
}

/*
 * Every way of offering something that is not a clean, readable, allowed document: each must
 * be refused, and none may leave anything held.
 */
static int cmd_sends(const char *dir)
{
	static const char text[] = "a plain text document\n";
	static const char not_png[] = "this is text, not a PNG image\n";
	char big[BIG_SIZE], long_name[LONG_STEM + 8];
	int failed = 0, dirfd;

	if (mkdir(dir, 0700) < 0 || (dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "probe-handoff: cannot make %s: %s\n", dir, strerror(errno));
		return 1;
	}
	memset(big, 'x', sizeof(big));
	if (write_at(dirfd, "real.txt", text, strlen(text)) < 0 ||
	    write_at(dirfd, "big.txt", big, sizeof(big)) < 0 ||
	    write_at(dirfd, "fake.png", not_png, strlen(not_png)) < 0 ||
	    symlinkat("real.txt", dirfd, "link.txt") < 0 || mkfifoat(dirfd, "fifo.txt", 0600) < 0 ||
	    mkdirat(dirfd, "sub", 0700) < 0) {
		fprintf(stderr, "probe-handoff: cannot prepare %s: %s\n", dir, strerror(errno));
		close(dirfd);
		return 1;
	}
	memset(long_name, 'a', LONG_STEM);
	memcpy(long_name + LONG_STEM, ".txt", 5);

	const int real = opened("document", openat(dirfd, "real.txt", O_RDONLY | O_CLOEXEC));
	const struct {
		const char *label, *name;
		int fd;
	} cases[] = {
	    /* What the descriptor is. */
	    {"symlink", "link.txt",
	     opened("link", openat(dirfd, "link.txt", O_PATH | O_NOFOLLOW | O_CLOEXEC))},
	    /* Non-blocking: a FIFO without a writer would block the open. */
	    {"fifo", "fifo.txt",
	     opened("FIFO", openat(dirfd, "fifo.txt", O_RDONLY | O_NONBLOCK | O_CLOEXEC))},
	    {"device", "null.txt", opened("device", open("/dev/null", O_RDONLY | O_CLOEXEC))},
	    {"directory", "sub.txt",
	     opened("directory", openat(dirfd, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC))},
	    {"write-only", "real.txt",
	     opened("document", openat(dirfd, "real.txt", O_WRONLY | O_CLOEXEC))},
	    {"path-only", "real.txt",
	     opened("document", openat(dirfd, "real.txt", O_PATH | O_CLOEXEC))},
	    {"too-large", "big.txt",
	     opened("large file", openat(dirfd, "big.txt", O_RDONLY | O_CLOEXEC))},
	    /* What the name is, with a good descriptor. */
	    {"parent-path", "../x", real},
	    {"slash", "a/b", real},
	    {"dotdot", "..", real},
	    {"hidden", ".hidden", real},
	    {"dash", "-rf.txt", real},
	    {"empty-name", "", real},
	    {"control", "a\x1b[2Jb.txt", real},
	    {"newline", "a\nb.txt", real},
	    {"long-name", long_name, real},
	    /* U+202E RIGHT-TO-LEFT OVERRIDE: shown as "invoiceexe.txt". */
	    {"bidi", "invoice\xe2\x80\xaetxt.exe", real},
	    /* U+2066 LEFT-TO-RIGHT ISOLATE. */
	    {"bidi-isolate",
	     "a\xe2\x81\xa6"
	     "b.txt",
	     real},
	    /* What the content and type are. */
	    {"not-png", "fake.png",
	     opened("fake PNG", openat(dirfd, "fake.png", O_RDONLY | O_CLOEXEC))},
	    {"no-rule", "tool.exe", real},
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		if (cases[i].fd < 0) {
			failed = 1;
			continue;
		}
		failed |= send_as(cases[i].label, cases[i].name, &cases[i].fd, 1) < 0;
	}
	/* How many descriptors come along. */
	if (real >= 0) {
		const int two[] = {real, real};
		failed |= send_as("no-fd", "real.txt", NULL, 0) < 0;
		failed |= send_as("two-fds", "real.txt", two, 2) < 0;
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++)
		if (cases[i].fd != real)
			mxc_close(cases[i].fd);
	mxc_close(real);
	close(dirfd);
	return failed;
}

static int cmd_call(const char *verb, const char *args_text, const char *file)
{
	struct json_object *args = NULL;
	struct mxc_error err = {0};
	int fd = -1;
	if (mxc_json_parse(args_text, strlen(args_text), &args, &err) < 0 ||
	    !json_object_is_type(args, json_type_object)) {
		fprintf(stderr, "probe-handoff: ARGS is not a JSON object: %s\n", err.msg);
		json_object_put(args);
		return 1;
	}
	if (file && (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "probe-handoff: cannot open %s: %s\n", file, strerror(errno));
		json_object_put(args);
		return 1;
	}
	int r = call(verb, verb, args, &fd, fd >= 0 ? 1 : 0);
	mxc_close(fd);
	return r < 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "sends") == 0)
		return cmd_sends(argv[2]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "call") == 0)
		return cmd_call(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	fprintf(stderr, "usage: probe-handoff sends DIR\n"
			"       probe-handoff call VERB ARGS [FILE]\n");
	return 2;
}
