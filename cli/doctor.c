/*
 * mxc doctor [--json]: what this host can enforce, as the daemon finds it (sessiond/doctor.h):
 * one row per check, then what sessions lack. Exits 1 when something every session needs is
 * missing, so scripts can gate on it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "client.h"
#include "json.h"
#include "table.h"

static const char *member_str(struct json_object *o, const char *key)
{
	const char *s = NULL;
	mxc_json_get_str(o, key, 4096, &s, NULL);
	return s;
}

static bool member_bool(struct json_object *o, const char *key)
{
	bool b = false;
	mxc_json_get_bool(o, key, &b, NULL);
	return b;
}

/* The report comes from the daemon: printed, never trusted beyond its types. */
static void print_human(struct json_object *res)
{
	struct json_object *checks = NULL;
	int64_t took = -1;
	mxc_json_get_i64(res, "took_ms", 0, INT64_MAX, &took, NULL);
	const char *kernel = member_str(res, "kernel");
	printf("Linux %s, checked in %lld ms\n\n", kernel ? kernel : "?", (long long)took);
	static const char *const headers[] = { "CHECK", "STATUS", "DETAIL" };
	struct mxc_table *t = mxc_table_new(3, headers);
	char missing_required[1024] = "";
	if (json_object_object_get_ex(res, "checks", &checks) &&
	    json_object_is_type(checks, json_type_object)) {
		json_object_object_foreach(checks, name, c)
		{
			if (!json_object_is_type(c, json_type_object))
				continue;
			bool ok = member_bool(c, "ok"), required = member_bool(c, "required");
			const char *cells[] = { name,
						ok	   ? "ok"
						: required ? "MISSING"
							   : "missing",
						member_str(c, "reason") };
			mxc_table_add(t, cells);
			if (!ok && required) {
				size_t len = strlen(missing_required);
				snprintf(missing_required + len, sizeof(missing_required) - len,
					 "%s%s", len ? ", " : "", name);
			}
		}
	}
	mxc_table_print(t, stdout);
	mxc_table_free(t);
	/* What each missing optional feature costs, in the daemon's words. */
	bool header = false;
	if (checks && json_object_is_type(checks, json_type_object)) {
		json_object_object_foreach(checks, name2, c2)
		{
			if (!json_object_is_type(c2, json_type_object) || member_bool(c2, "ok") ||
			    member_bool(c2, "required"))
				continue;
			if (!header) {
				printf("\nWithout the missing features, mxc cannot offer:\n");
				header = true;
			}
			const char *what = member_str(c2, "used_for");
			printf("  %s: %s\n", name2, what ? what : "?");
		}
	}
	if (missing_required[0])
		printf("\nSessions cannot start: missing %s.\n", missing_required);
	else
		printf("\nEverything sessions need is there.\n");
}

int mxc_cli_doctor(struct mxc_cli *cli, int argc, char **argv)
{
	bool json = cli->json;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else {
			fprintf(stderr, "usage: mxc doctor [--json]\n");
			return MXC_EXIT_USAGE;
		}
	}
	struct mxc_error err = { 0 };
	struct json_object *resp = NULL, *res = NULL;
	if (mxc_conn_request(cli->socket, "doctor", json_object_new_object(), NULL, 0, &resp, &res,
			     NULL, 0, NULL, &err) < 0) {
		fprintf(stderr, "mxc: %s\n", err.msg);
		return MXC_EXIT_FAILURE;
	}
	if (json)
		printf("%s\n", mxc_json_pretty(res));
	else
		print_human(res);
	bool ok = member_bool(res, "ok");
	json_object_put(resp);
	return ok ? MXC_EXIT_OK : MXC_EXIT_FAILURE;
}
