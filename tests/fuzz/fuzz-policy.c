/*
 * libFuzzer target for the policy parser. Beyond "does not crash", it checks the parser's
 * promises on every accepted input: a refusal leaves *ret alone and says why; an accepted
 * policy normalizes to JSON that parses back to an equal policy, normalizing is idempotent,
 * and the digest is stable. Build and run with tests/fuzz/run-policy-fuzz.sh.
 */
#include <stdio.h>
#include <stdlib.h>

#include "json.h"
#include "policy.h"

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz-policy: check failed: %s: ", #cond);                 \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise_matchers(const struct mxc_policy *p)
{
	static const char *const mimes[] = {"text/plain", "image/png;x=y", "IMAGE/JPEG", "a/b",
					    "",		  "*/*",	   "text/"};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(mimes); i++) {
		mxc_policy_transfer_match(p->clipboard, p->n_clipboard, MXC_POLICY_AGENT_TO_HUMAN,
					  mimes[i]);
		mxc_policy_transfer_match(p->handoff, p->n_handoff, MXC_POLICY_HUMAN_TO_AGENT,
					  mimes[i]);
	}
	char user[] = "alice", group[] = "devs";
	char *groups[] = {group, NULL};
	mxc_policy_principal_match(p->users, user, groups);
	mxc_policy_principal_match(p->inspect.principals, user, groups);
	for (size_t i = 0; i < p->n_clipboard; i++)
		for (size_t k = 0; p->clipboard[i].deny_patterns[k]; k++) {
			regex_t re;
			struct mxc_error e = {0};
			int r =
			    mxc_policy_compile_pattern(p->clipboard[i].deny_patterns[k], &re, &e);
			CHECK(r == 0, "accepted pattern does not compile: %s", e.msg);
			static const char text[] = "AKIA0123456789ABCDEF\0secret\nab";
			CHECK(mxc_policy_pattern_search(&re, text, sizeof(text) - 1) >= 0,
			      "search failed");
			CHECK(mxc_policy_pattern_search(&re, "", 0) == 0,
			      "accepted pattern matches the empty text");
			regfree(&re);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mxc_policy *p = NULL, *q = NULL;
	struct mxc_error e = {0};
	int r = mxc_policy_parse((const char *)data, size, &p, &e);
	if (r < 0) {
		CHECK(p == NULL, "ret written on failure");
		CHECK(e.code == r && e.msg[0], "refused (%d) without a message", r);
		CHECK(r == -EINVAL || r == -EOPNOTSUPP || r == -EFBIG || r == -ENOMEM,
		      "unexpected error %d: %s", r, e.msg);
		return 0;
	}
	CHECK(p->warnings && p->fs.readwrite && p->fs.readonly && p->fs.denied && p->users &&
		  p->inspect.principals,
	      "a vector is NULL");

	struct json_object *o = mxc_policy_to_json(p);
	CHECK(o, "to_json failed");
	size_t len;
	const char *text = mxc_json_str(o, &len);
	r = mxc_policy_parse(text, len, &q, &e);
	CHECK(r == 0, "normalized form refused: %s\n%s", e.msg, text);
	CHECK(mxc_policy_equal(p, q), "round trip changed the policy:\n%s", text);
	CHECK(q->warnings[0] == NULL, "normalized form has warnings: %s", q->warnings[0]);

	struct json_object *o2 = mxc_policy_to_json(q);
	CHECK(o2, "to_json failed");
	const char *text2 = mxc_json_str(o2, NULL);
	CHECK(strcmp(text, text2) == 0, "normalizing is not idempotent:\n%s\n%s", text, text2);

	char d1[65], d2[65];
	CHECK(mxc_policy_digest(p, d1) == 0 && mxc_policy_digest(q, d2) == 0, "digest failed");
	CHECK(strcmp(d1, d2) == 0, "digest differs after a round trip");

	exercise_matchers(p);
	json_object_put(o);
	json_object_put(o2);
	mxc_policy_free(q);
	mxc_policy_free(p);
	return 0;
}
