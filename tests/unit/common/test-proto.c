/*
 * The wire protocol (common/proto.h): line framing across reads, the line limit, file
 * descriptors passed with SCM_RIGHTS, and the shape checks of requests and responses.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "proto.h"

static int sv[2];

static void pair_open(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void pair_close(void)
{
	mxc_close(sv[0]);
	mxc_close(sv[1]);
}

TestSuite(reader, .init = pair_open, .fini = pair_close, .timeout = 10);

static void put(const char *s)
{
	cr_assert_eq(mxc_write_all(sv[0], s, strlen(s)), 0);
}

/* Asserts the next buffered line is `expect`. */
static void expect_line(struct mxc_reader *r, const char *expect)
{
	char *line;
	size_t len;
	cr_assert_eq(mxc_reader_line(r, &line, &len), 1, "no complete line, expected '%s'", expect);
	cr_assert_eq(len, strlen(expect));
	cr_assert_str_eq(line, expect);
}

static void expect_no_line(struct mxc_reader *r)
{
	char *line;
	size_t len;
	cr_assert_eq(mxc_reader_line(r, &line, &len), 0);
}

Test(reader, several_lines_in_one_read_come_out_one_by_one)
{
	struct mxc_reader r;
	mxc_reader_init(&r, 1024);
	put("one\ntwo\n\nthree\n");
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 15);
	expect_line(&r, "one");
	expect_line(&r, "two");
	expect_line(&r, "");
	expect_line(&r, "three");
	expect_no_line(&r);
	mxc_reader_finish(&r);
}

Test(reader, a_line_split_across_reads_is_joined)
{
	struct mxc_reader r;
	mxc_reader_init(&r, 1024);
	put("{\"v\":1,");
	cr_assert_gt(mxc_reader_fill(&r, sv[1]), 0);
	expect_no_line(&r);
	put("\"verb\":\"version\"}\nnext-");
	cr_assert_gt(mxc_reader_fill(&r, sv[1]), 0);
	expect_line(&r, "{\"v\":1,\"verb\":\"version\"}");
	expect_no_line(&r);
	put("part\n");
	cr_assert_gt(mxc_reader_fill(&r, sv[1]), 0);
	expect_line(&r, "next-part");
	mxc_reader_finish(&r);
}

Test(reader, many_small_writes_of_a_long_line_are_joined)
{
	struct mxc_reader r;
	mxc_reader_init(&r, 100000);
	char expect[50001];
	for (int i = 0; i < 50000; i++)
		expect[i] = (char)('a' + i % 26);
	expect[50000] = '\0';
	/* In pieces of 1000 bytes, each read as it arrives: the buffer must grow and keep them. */
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(mxc_write_all(sv[0], expect + 1000 * i, 1000), 0);
		cr_assert_gt(mxc_reader_fill(&r, sv[1]), 0);
		expect_no_line(&r);
	}
	put("\n");
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 1);
	expect_line(&r, expect);
	mxc_reader_finish(&r);
}

Test(reader, empty_socket_is_eagain_and_closed_peer_is_end_of_stream)
{
	struct mxc_reader r;
	mxc_reader_init(&r, 64);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), -EAGAIN);
	put("tail-without-newline");
	sv[0] = mxc_close(sv[0]);
	cr_assert_gt(mxc_reader_fill(&r, sv[1]), 0);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 0);
	/* An unterminated last line is never handed out as a request. */
	expect_no_line(&r);
	mxc_reader_finish(&r);
}

Test(reader, a_line_of_exactly_max_line_is_accepted)
{
	struct mxc_reader r;
	mxc_reader_init(&r, 16);
	put("0123456789abcdef\n");
	cr_assert_gt(mxc_reader_fill(&r, sv[1]), 0);
	expect_line(&r, "0123456789abcdef");
	mxc_reader_finish(&r);
}

Test(reader, a_line_over_max_line_is_refused)
{
	struct mxc_reader r;
	mxc_reader_init(&r, 16);
	put("0123456789abcdefX\n");
	int n = mxc_reader_fill(&r, sv[1]);
	char *line;
	size_t len;
	/* Either the read or the framing refuses it; never a truncated or joined line. */
	if (n > 0)
		cr_assert_eq(mxc_reader_line(&r, &line, &len), -EMSGSIZE);
	else
		cr_assert_eq(n, -EMSGSIZE);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), -EMSGSIZE);
	cr_assert_eq(mxc_reader_line(&r, &line, &len), -EMSGSIZE);
	mxc_reader_finish(&r);
}

Test(reader, a_long_line_without_newline_is_refused_without_buffering_more)
{
	struct mxc_reader r;
	mxc_reader_init(&r, 1000);
	char big[5000];
	memset(big, 'x', sizeof(big));
	cr_assert_eq(mxc_write_all(sv[0], big, sizeof(big)), 0);
	for (int i = 0; i < 10 && mxc_reader_fill(&r, sv[1]) > 0; i++)
		;
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), -EMSGSIZE);
	cr_assert_leq(r.len, 1001, "the reader buffered %zu bytes for a 1000-byte limit", r.len);
	char *line;
	size_t len;
	cr_assert_eq(mxc_reader_line(&r, &line, &len), -EMSGSIZE);
	mxc_reader_finish(&r);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

Test(reader, passed_descriptors_arrive_with_their_line)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	int send_fds[2] = {p[0], p[1]};
	cr_assert_eq(mxc_send_all(sv[0], "with-fds\n", 9, send_fds, 2), 0);
	close(p[0]);
	close(p[1]);

	struct mxc_reader r;
	mxc_reader_init(&r, 64);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 9);
	expect_line(&r, "with-fds");
	int got[MXC_PROTO_MAX_FDS];
	cr_assert_eq(mxc_reader_take_fds(&r, got, MXC_PROTO_MAX_FDS), 2);
	cr_assert_eq(mxc_reader_take_fds(&r, got + 2, MXC_PROTO_MAX_FDS), 0);
	/* They are the pipe, in order: what goes into the second comes out of the first. */
	cr_assert_eq(write(got[1], "z", 1), 1);
	char c = 0;
	cr_assert_eq(read(got[0], &c, 1), 1);
	cr_assert_eq(c, 'z');
	cr_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC,
		  "received descriptors must be close-on-exec");
	close(got[0]);
	close(got[1]);
	mxc_reader_finish(&r);
}

Test(reader, descriptors_nobody_takes_are_closed)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	/* Only the write end travels; once the receiver drops it, the pipe has no writer. */
	cr_assert_eq(mxc_send_all(sv[0], "x\n", 2, &p[1], 1), 0);
	close(p[1]);
	struct mxc_reader r;
	mxc_reader_init(&r, 64);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 2);
	cr_assert_eq(r.n_fds, 1);
	int received = r.fds[0];
	cr_assert(fd_is_open(received));
	mxc_reader_finish(&r);
	cr_assert_not(fd_is_open(received), "mxc_reader_finish left a passed descriptor open");
	char c;
	cr_assert_eq(read(p[0], &c, 1), 0, "the pipe still has a writer");
	close(p[0]);

	/* mxc_reader_drop_fds does the same while the reader stays in use. */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(mxc_send_all(sv[0], "y\n", 2, &p[1], 1), 0);
	close(p[1]);
	mxc_reader_init(&r, 64);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 2);
	/* Before its line is read, a descriptor waits for it. */
	mxc_reader_drop_fds(&r);
	cr_assert_eq(r.n_fds, 1);
	expect_line(&r, "y");
	mxc_reader_drop_fds(&r);
	cr_assert_eq(r.n_fds, 0);
	cr_assert_eq(read(p[0], &c, 1), 0, "the pipe still has a writer");
	close(p[0]);
	mxc_reader_finish(&r);
}

Test(reader, descriptors_stay_with_their_line_when_lines_are_read_together)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	/* A line without descriptors, then one with two: the kernel hands both over in one
	 * read, the descriptors at its end. */
	cr_assert_eq(mxc_send_all(sv[0], "plain\n", 6, NULL, 0), 0);
	int two[2] = {p[0], p[1]};
	cr_assert_eq(mxc_send_all(sv[0], "with\n", 5, two, 2), 0);
	close(p[0]);
	close(p[1]);
	cr_assert_eq(mxc_send_all(sv[0], "after\n", 6, NULL, 0), 0);

	struct mxc_reader r;
	mxc_reader_init(&r, 64);
	int n = 0;
	while (n < 17) {
		int k = mxc_reader_fill(&r, sv[1]);
		cr_assert_gt(k, 0);
		n += k;
	}
	int got[MXC_PROTO_MAX_FDS];
	expect_line(&r, "plain");
	cr_assert_eq(mxc_reader_take_fds(&r, got, MXC_PROTO_MAX_FDS), 0,
		     "a line took descriptors sent with the next one");
	mxc_reader_drop_fds(&r);
	cr_assert_eq(r.n_fds, 2, "dropping after one line closed the next line's descriptors");
	expect_line(&r, "with");
	cr_assert_eq(mxc_reader_take_fds(&r, got, MXC_PROTO_MAX_FDS), 2);
	cr_assert_eq(write(got[1], "q", 1), 1);
	char c;
	cr_assert_eq(read(got[0], &c, 1), 1);
	close(got[0]);
	close(got[1]);
	expect_line(&r, "after");
	cr_assert_eq(mxc_reader_take_fds(&r, got, MXC_PROTO_MAX_FDS), 0);
	mxc_reader_finish(&r);
}

Test(reader, descriptors_sent_with_the_start_of_a_long_line_belong_to_it)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	struct mxc_reader r;
	mxc_reader_init(&r, 1 << 20);
	/* The line arrives in three reads, the descriptor with the start of the second line. */
	cr_assert_eq(mxc_send_all(sv[0], "before\n", 7, NULL, 0), 0);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 7);
	cr_assert_eq(mxc_send_all(sv[0], "sta", 3, &p[1], 1), 0);
	close(p[1]);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 3);
	cr_assert_eq(mxc_send_all(sv[0], "rt-of-it\n", 9, NULL, 0), 0);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), 9);
	int got = -1;
	expect_line(&r, "before");
	cr_assert_eq(mxc_reader_take_fds(&r, &got, 1), 0);
	expect_line(&r, "start-of-it");
	cr_assert_eq(mxc_reader_take_fds(&r, &got, 1), 1);
	close(got);
	close(p[0]);
	mxc_reader_finish(&r);
}

Test(reader, more_descriptors_than_a_message_may_carry_are_refused_and_closed)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	int fds[MXC_PROTO_MAX_FDS + 1];
	for (size_t i = 0; i < MXC_ARRAY_SIZE(fds); i++)
		fds[i] = p[1];
	/* Raw sendmsg: mxc_send_all itself refuses to send this many. */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(fds))];
	} control = {0};
	struct iovec iov = {.iov_base = (void *)"x\n", .iov_len = 2};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	cr_assert_eq(sendmsg(sv[0], &msg, 0), 2);
	close(p[1]);

	struct mxc_reader r;
	mxc_reader_init(&r, 64);
	cr_assert_eq(mxc_reader_fill(&r, sv[1]), -ETOOMANYREFS);
	mxc_reader_finish(&r);
	char ch;
	cr_assert_eq(read(p[0], &ch, 1), 0, "a passed descriptor was kept open");
	close(p[0]);
}

Test(reader, send_all_refuses_more_descriptors_than_the_protocol_allows)
{
	int fds[MXC_PROTO_MAX_FDS + 1];
	for (size_t i = 0; i < MXC_ARRAY_SIZE(fds); i++)
		fds[i] = sv[0];
	cr_assert_eq(mxc_send_all(sv[0], "x\n", 2, fds, MXC_ARRAY_SIZE(fds)), -EINVAL);
	struct mxc_outq q = {0};
	cr_assert_eq(mxc_outq_push(&q, "x\n", 2, fds, MXC_ARRAY_SIZE(fds)), -EINVAL);
	mxc_outq_finish(&q);
}

Test(reader, outq_sends_lines_in_order_with_their_descriptors)
{
	struct mxc_outq q = {0};
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(mxc_outq_push(&q, "first\n", 6, NULL, 0), 0);
	cr_assert_eq(mxc_outq_push(&q, "second\n", 7, &p[1], 1), 0);
	cr_assert_eq(q.bytes, 13);
	cr_assert_eq(mxc_outq_flush(&q, sv[0]), 0);
	cr_assert_null(q.head);
	cr_assert_eq(q.bytes, 0);
	struct mxc_reader r;
	mxc_reader_init(&r, 64);
	/* The descriptor travels with the first byte of its line: a second read. */
	int total = 0;
	for (int i = 0; i < 3 && total < 13; i++) {
		int n = mxc_reader_fill(&r, sv[1]);
		if (n > 0)
			total += n;
	}
	cr_assert_eq(total, 13);
	expect_line(&r, "first");
	expect_line(&r, "second");
	int got = -1;
	cr_assert_eq(mxc_reader_take_fds(&r, &got, 1), 1);
	cr_assert_eq(write(got, "w", 1), 1);
	char c;
	cr_assert_eq(read(p[0], &c, 1), 1);
	close(got);
	close(p[0]);
	mxc_reader_finish(&r);
}

Test(reader, recv_json_reads_one_object_and_refuses_other_values)
{
	struct mxc_reader r;
	struct mxc_error err = {0};
	struct json_object *o = NULL;
	mxc_reader_init(&r, 1024);
	put("{\"a\":1}\n[1]\n");
	cr_assert_eq(mxc_recv_json(&r, sv[1], &o, &err), 0, "%s", err.msg);
	cr_assert(json_object_is_type(o, json_type_object));
	json_object_put(o);
	cr_assert_eq(mxc_recv_json(&r, sv[1], &o, &err), -EBADMSG);
	cr_assert_not_null(strstr(err.msg, "not a JSON object"), "%s", err.msg);
	sv[0] = mxc_close(sv[0]);
	cr_assert_eq(mxc_recv_json(&r, sv[1], &o, &err), -ECONNRESET);
	mxc_reader_finish(&r);
}

/* ---- request and response shapes ---- */

static int parse_req(const char *text, const char **verb, struct json_object **args,
		     struct mxc_error *err)
{
	static struct json_object *held;
	json_object_put(held);
	held = NULL;
	int r = mxc_json_parse(text, strlen(text), &held, err);
	cr_assert_eq(r, 0, "test input '%s' is not JSON: %s", text, err->msg);
	return mxc_proto_parse_request(held, verb, args, err);
}

Test(request, well_formed_requests_are_accepted)
{
	struct mxc_error err = {0};
	const char *verb = NULL;
	struct json_object *args = (void *)1;
	cr_assert_eq(parse_req("{\"v\":1,\"verb\":\"version\"}", &verb, &args, &err), 0, "%s",
		     err.msg);
	cr_assert_str_eq(verb, "version");
	cr_assert_null(args);
	cr_assert_eq(parse_req("{\"v\":1,\"verb\":\"agent.show\",\"args\":{\"name\":\"x\"}}", &verb,
			       &args, &err),
		     0, "%s", err.msg);
	cr_assert_str_eq(verb, "agent.show");
	cr_assert(json_object_is_type(args, json_type_object));
	args = (void *)1;
	cr_assert_eq(parse_req("{\"args\":null,\"verb\":\"v\",\"v\":1}", &verb, &args, &err), 0);
	cr_assert_null(args);
}

struct bad_request {
	char text[96];
	int code;
	char message[48];
};

static struct bad_request bad_requests[] = {
    {"[1,2]", -EBADMSG, "not a JSON object"},
    {"\"version\"", -EBADMSG, "not a JSON object"},
    {"{\"verb\":\"version\"}", -EPROTO, "no protocol version"},
    {"{\"v\":2,\"verb\":\"version\"}", -EPROTONOSUPPORT, "version 2 is not supported"},
    {"{\"v\":0,\"verb\":\"version\"}", -EPROTONOSUPPORT, "not supported"},
    {"{\"v\":\"1\",\"verb\":\"version\"}", -EINVAL, "'v': must be an integer"},
    {"{\"v\":1.0,\"verb\":\"version\"}", -EINVAL, "'v': must be an integer"},
    {"{\"v\":1}", -EBADMSG, "no \"verb\""},
    {"{\"v\":1,\"verb\":7}", -EINVAL, "'verb': must be a string"},
    {"{\"v\":1,\"verb\":\"version\",\"args\":[]}", -EBADMSG, "\"args\" must be a JSON object"},
    {"{\"v\":1,\"verb\":\"version\",\"args\":\"x\"}", -EBADMSG, "must be a JSON object"},
    {"{\"v\":1,\"verb\":\"version\",\"id\":3}", -EINVAL, "unknown argument 'id'"},
};

ParameterizedTestParameters(request, malformed_requests_are_refused)
{
	return cr_make_param_array(struct bad_request, bad_requests, MXC_ARRAY_SIZE(bad_requests));
}

ParameterizedTest(struct bad_request *c, request, malformed_requests_are_refused)
{
	struct mxc_error err = {0};
	const char *verb = NULL;
	struct json_object *args = NULL;
	int r = parse_req(c->text, &verb, &args, &err);
	cr_assert_eq(r, c->code, "'%s': got %d (%s), expected %d", c->text, r, err.msg, c->code);
	cr_assert_not_null(strstr(err.msg, c->message), "'%s': message '%s' lacks '%s'", c->text,
			   err.msg, c->message);
	cr_assert_null(verb, "a refused request must not set its verb");
}

Test(request, a_verb_longer_than_64_bytes_is_refused)
{
	char text[256], verb[80];
	memset(verb, 'a', 65);
	verb[65] = '\0';
	snprintf(text, sizeof(text), "{\"v\":1,\"verb\":\"%s\"}", verb);
	struct mxc_error err = {0};
	const char *v = NULL;
	struct json_object *args;
	cr_assert_eq(parse_req(text, &v, &args, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "longer than 64"), "%s", err.msg);
}

Test(request, built_requests_round_trip)
{
	struct json_object *a = json_object_new_object();
	mxc_json_add_str(a, "name", "coder");
	struct json_object *req = mxc_proto_request("agent.add", a);
	size_t len;
	const char *text = mxc_json_str(req, &len);
	cr_assert_null(memchr(text, '\n', len), "a request must fit on one line");
	struct mxc_error err = {0};
	const char *verb;
	struct json_object *args;
	cr_assert_eq(parse_req(text, &verb, &args, &err), 0, "%s", err.msg);
	cr_assert_str_eq(verb, "agent.add");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(args, "name")), "coder");
	json_object_put(req);
}

static int parse_resp(const char *text, struct json_object **result, size_t *n_fds,
		      struct mxc_error *err)
{
	static struct json_object *held;
	json_object_put(held);
	held = NULL;
	cr_assert_eq(mxc_json_parse(text, strlen(text), &held, err), 0, "%s", err->msg);
	return mxc_proto_parse_response(held, result, n_fds, err);
}

Test(response, success_carries_result_and_descriptor_count)
{
	struct mxc_error err = {0};
	struct json_object *result = NULL;
	size_t n = 99;
	cr_assert_eq(parse_resp("{\"v\":1,\"ok\":true,\"result\":{\"id\":\"ab12cd\"},\"fds\":1}",
				&result, &n, &err),
		     0, "%s", err.msg);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(result, "id")), "ab12cd");
	cr_assert_eq(parse_resp("{\"v\":1,\"ok\":true,\"result\":{}}", &result, &n, &err), 0);
	cr_assert_eq(n, 0);
}

Test(response, failure_returns_its_errno_and_message)
{
	struct mxc_error err = {0};
	struct json_object *result = NULL;
	int r = parse_resp("{\"v\":1,\"ok\":false,\"error\":{\"code\":\"ENOENT\",\"message\":"
			   "\"agent 'x' does not exist\"}}",
			   &result, NULL, &err);
	cr_assert_eq(r, -ENOENT);
	cr_assert_str_eq(err.msg, "agent 'x' does not exist");
	r = parse_resp("{\"v\":1,\"ok\":false,\"error\":{\"code\":\"ENOTANERRNO\"}}", &result, NULL,
		       &err);
	cr_assert_eq(r, -EIO, "an unknown error name must map to EIO");
}

Test(response, malformed_responses_are_refused)
{
	struct mxc_error err = {0};
	struct json_object *result = NULL;
	cr_assert_eq(parse_resp("{\"ok\":true}", &result, NULL, &err), -EPROTO);
	cr_assert_eq(parse_resp("{\"v\":3,\"ok\":true}", &result, NULL, &err), -EPROTONOSUPPORT);
	cr_assert_eq(parse_resp("{\"v\":1}", &result, NULL, &err), -EBADMSG);
	cr_assert_eq(parse_resp("{\"v\":1,\"ok\":\"yes\"}", &result, NULL, &err), -EBADMSG);
}

Test(response, built_responses_round_trip)
{
	struct mxc_error err = {0};
	struct json_object *ok = mxc_proto_ok(NULL, 2), *result = NULL;
	size_t n = 0;
	cr_assert_eq(mxc_proto_parse_response(ok, &result, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert(json_object_is_type(result, json_type_object));
	json_object_put(ok);
	struct json_object *fail = mxc_proto_error(-EPERM, "nope");
	cr_assert_eq(mxc_proto_parse_response(fail, &result, &n, &err), -EPERM);
	cr_assert_str_eq(err.msg, "nope");
	json_object_put(fail);
	/* No message: the errno's own text. */
	fail = mxc_proto_error(-ENOENT, NULL);
	cr_assert_eq(mxc_proto_parse_response(fail, &result, &n, &err), -ENOENT);
	cr_assert_str_eq(err.msg, strerror(ENOENT));
	json_object_put(fail);
}

Test(response, errno_names_round_trip)
{
	static const int codes[] = {EPERM,    ENOENT, EEXIST,	  EINVAL,    EBUSY,
				    EMSGSIZE, EPROTO, EOPNOTSUPP, ETIMEDOUT, ESHUTDOWN};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(codes); i++)
		cr_assert_eq(mxc_errno_from_name(mxc_errno_name(-codes[i])), -codes[i], "%s",
			     mxc_errno_name(-codes[i]));
	cr_assert_str_eq(mxc_errno_name(-EPERM), "EPERM");
}
