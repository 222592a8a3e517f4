/*
 * mxc policy check|show FILE: validates a policy file, or prints its effective, normalized
 * form. Runs locally, as the caller: no daemon is needed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "json.h"
#include "policy.h"

int mxc_cli_policy(struct mxc_cli *cli, int argc, char **argv)
{
	/* argv: "policy", then check|show FILE [--json] */
	bool json = cli->json;
	int pos = 1;
	const char *action = NULL, *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (pos == 1 && (action = argv[i]))
			pos++;
		else if (pos == 2 && (file = argv[i]))
			pos++;
		else
			pos = 99;
	}
	bool check = mxc_streq(action, "check"), show = mxc_streq(action, "show");
	if ((!check && !show) || !file || pos != 3) {
		fprintf(stderr, "usage: mxc policy check|show FILE [--json]\n");
		return MXC_EXIT_USAGE;
	}
	struct mxc_policy *p = NULL;
	struct mxc_error err = { 0 };
	int r = mxc_policy_load_file(file, &p, &err);
	if (r < 0) {
		if (json) {
			struct json_object *o = json_object_new_object();
			mxc_json_add_bool(o, "valid", false);
			mxc_json_add_str(o, "error", err.msg);
			printf("%s\n", mxc_json_pretty(o));
			json_object_put(o);
		}
		fprintf(stderr, "mxc: %s\n", err.msg);
		return MXC_EXIT_FAILURE;
	}
	for (size_t i = 0; p->warnings && p->warnings[i]; i++)
		fprintf(stderr, "mxc: %s: warning: %s\n", file, p->warnings[i]);
	struct json_object *o = NULL;
	if (show) {
		o = mxc_policy_to_json(p);
		printf("%s\n", mxc_json_pretty(o));
	} else {
		char digest[65];
		mxc_policy_digest(p, digest);
		if (json) {
			o = json_object_new_object();
			mxc_json_add_bool(o, "valid", true);
			mxc_json_add_str(o, "digest", digest);
			json_object_object_add(o, "warnings", mxc_json_strv(p->warnings));
			printf("%s\n", mxc_json_pretty(o));
		} else {
			printf("%s: valid (sha256 %s)\n", file, digest);
		}
	}
	json_object_put(o);
	mxc_policy_free(p);
	return MXC_EXIT_OK;
}
