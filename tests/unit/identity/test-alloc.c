#include <criterion/criterion.h>
#include <stdlib.h>

#include "helpers.h"

TestSuite(alloc, .init = identity_setup, .fini = identity_teardown);

static uint32_t allocate_ok(mxc_id_taken_fn taken, void *userdata)
{
	uint32_t id = 0;
	struct mxc_error err = {0};
	int r = mxc_identity_allocate_id(&cfg, taken, userdata, &id, &err);
	cr_assert_eq(r, 0, "allocation failed: %s", err.msg);
	return id;
}

Test(alloc, returns_the_lowest_id)
{
	cr_assert_eq(allocate_ok(NULL, NULL), 70000);
}

Test(alloc, skips_ids_of_existing_users)
{
	/* Users whose primary group is elsewhere: only their uid is taken. */
	run_ok((const char *[]){"useradd", "-u", "70000", "-g", "100", "-M", "-l", "u0", NULL});
	run_ok((const char *[]){"useradd", "-u", "70001", "-g", "100", "-M", "-l", "u1", NULL});
	cr_assert_eq(allocate_ok(NULL, NULL), 70002);
}

Test(alloc, skips_ids_of_existing_groups)
{
	run_ok((const char *[]){"groupadd", "-g", "70000", "g0", NULL});
	cr_assert_eq(allocate_ok(NULL, NULL), 70001);
}

Test(alloc, skips_subordinate_id_ranges)
{
	write_file(subuid_path, "someone:69990:11\n");	      /* up to 70000 */
	write_file(subgid_path, "bad line\nother:70001:3\n"); /* 70001-70003 */
	cr_assert_eq(allocate_ok(NULL, NULL), 70004);
}

Test(alloc, honours_the_system_subuid_file)
{
	write_file("/etc/subuid", "someone:70000:5\n");
	cfg.subuid_path = "/etc/subuid";
	cr_assert_eq(allocate_ok(NULL, NULL), 70005);
}

struct taken_log {
	uint32_t seen[16];
	size_t n;
};

static bool taken_below_70003(uint32_t id, void *userdata)
{
	struct taken_log *log = userdata;
	if (log->n < MXC_ARRAY_SIZE(log->seen))
		log->seen[log->n++] = id;
	return id < 70003;
}

Test(alloc, skips_ids_the_daemon_knows)
{
	struct taken_log log = {0};
	cr_assert_eq(allocate_ok(taken_below_70003, &log), 70003);
	cr_assert_eq(log.n, 4);
	cr_assert_eq(log.seen[0], 70000);
	cr_assert_eq(log.seen[3], 70003);
}

static bool always_taken(uint32_t id, void *userdata)
{
	return true;
}

Test(alloc, fails_with_enospc_when_the_range_is_full)
{
	cfg.id_max = 70003;
	mxc_testenv_add_user("full0", 70000);
	run_ok((const char *[]){"groupadd", "-g", "70001", "full1", NULL});
	write_file(subuid_path, "x:70002:1\n");
	write_file(subgid_path, "x:70003:1\n");
	uint32_t id = 12345;
	struct mxc_error err = {0};
	cr_assert_eq(mxc_identity_allocate_id(&cfg, NULL, NULL, &id, &err), -ENOSPC);
	cr_assert_eq(id, 12345, "the out-parameter is written only on success");
	cr_assert(strstr(err.msg, "70000-70003"), "%s", err.msg);

	/* One id freed, and only the callback stands in the way. */
	write_file(subgid_path, "");
	cr_assert_eq(allocate_ok(NULL, NULL), 70003);
	cr_assert_eq(mxc_identity_allocate_id(&cfg, always_taken, NULL, &id, &err), -ENOSPC);
}

Test(alloc, refuses_a_bad_configuration)
{
	cfg.id_min = 100;
	uint32_t id;
	cr_assert_eq(mxc_identity_allocate_id(&cfg, NULL, NULL, &id, NULL), -ERANGE);
}
