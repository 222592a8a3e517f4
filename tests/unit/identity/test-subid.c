#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

static struct mxc_subid_range *parse(const char *text, size_t *n, size_t *malformed)
{
	struct mxc_subid_range *r = NULL;
	cr_assert_eq(mxc_subid_parse(text, strlen(text), &r, n, malformed), 0);
	return r;
}

Test(subid, parses_good_lines)
{
	size_t n, bad;
	struct mxc_subid_range *r =
	    parse("alice:100000:65536\n1001:165536:65536\n\nbob:231072:1", &n, &bad);
	cr_assert_eq(n, 3);
	cr_assert_eq(bad, 0);
	cr_assert_eq(r[0].start, 100000);
	cr_assert_eq(r[0].count, 65536);
	cr_assert_eq(r[2].start, 231072);
	cr_assert_eq(r[2].count, 1);
	cr_assert(mxc_subid_contains(r, n, 100000));
	cr_assert(mxc_subid_contains(r, n, 165535));
	cr_assert(mxc_subid_contains(r, n, 231072));
	cr_assert_not(mxc_subid_contains(r, n, 99999));
	cr_assert_not(mxc_subid_contains(r, n, 231073));
	free(r);
}

Test(subid, skips_and_counts_malformed_lines)
{
	static const char text[] = "x\n"
				   "a:b:c\n"
				   "a:1\n"
				   "a:1:2:3\n"
				   ":1:2\n"
				   "a:-1:2\n"
				   "a:+1:2\n"
				   "a: 1:2\n"
				   "a:1:2\r\n"
				   "a:0x10:5\n"
				   "# comment\n"
				   "a::5\n"
				   "a:5:\n"
				   " \n"
				   "good:70000:10\n";
	size_t n, bad;
	struct mxc_subid_range *r = parse(text, &n, &bad);
	cr_assert_eq(bad, 14);
	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].start, 70000);
	cr_assert(mxc_subid_contains(r, n, 70009));
	cr_assert_not(mxc_subid_contains(r, n, 70010));
	free(r);
}

Test(subid, refuses_overflowing_numbers)
{
	static const char text[] = "a:18446744073709551616:1\n" /* 2^64 */
				   "a:99999999999999999999999999:1\n"
				   "a:4294967296:1\n" /* beyond the uid space */
				   "a:1:4294967297\n" /* more than 2^32 ids */
				   "a:1:18446744073709551615\n"
				   "a:4294967295:1\n"  /* the last id: fine */
				   "a:0:4294967296\n"; /* every id: fine */
	size_t n, bad;
	struct mxc_subid_range *r = parse(text, &n, &bad);
	cr_assert_eq(bad, 5);
	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].start, 4294967295u);
	cr_assert_eq(r[1].count, UINT64_C(4294967296));
	cr_assert(mxc_subid_contains(&r[0], 1, 4294967295u));
	cr_assert(mxc_subid_contains(&r[1], 1, 0));
	cr_assert(mxc_subid_contains(&r[1], 1, 4294967295u));
	cr_assert_not(mxc_subid_contains(&r[0], 1, 4294967294u));
	free(r);
}

Test(subid, embedded_nul_makes_a_line_malformed)
{
	static const char text[] = "a\0b:1:2\nc:3:4\nd:5\0:6\n";
	struct mxc_subid_range *r = NULL;
	size_t n, bad;
	cr_assert_eq(mxc_subid_parse(text, sizeof(text) - 1, &r, &n, &bad), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(bad, 2);
	cr_assert_eq(r[0].start, 3);
	free(r);
}

Test(subid, empty_input_has_no_ranges)
{
	struct mxc_subid_range *r = (void *)1;
	size_t n = 99, bad = 99;
	cr_assert_eq(mxc_subid_parse("", 0, &r, &n, &bad), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(bad, 0);
	cr_assert_not(mxc_subid_contains(r, n, 0));
	free(r);
}

Test(subid, parses_huge_input)
{
	const size_t lines = 500000;
	char *text = malloc(lines * 32);
	cr_assert_not_null(text);
	size_t len = 0;
	for (size_t i = 0; i < lines; i++)
		len += (size_t)sprintf(text + len, "u%zu:%zu:1\n", i, 100000 + 2 * i);
	len += (size_t)sprintf(text + len, "broken\n");
	struct mxc_subid_range *r = NULL;
	size_t n, bad;
	cr_assert_eq(mxc_subid_parse(text, len, &r, &n, &bad), 0);
	cr_assert_eq(n, lines);
	cr_assert_eq(bad, 1);
	cr_assert(mxc_subid_contains(r, n, 100000 + 2 * (lines - 1)));
	cr_assert_not(mxc_subid_contains(r, n, 100001));
	free(r);
	free(text);
}

Test(subid, load_refuses_a_file_beyond_the_limit, .init = identity_setup, .fini = identity_teardown)
{
	int fd = open(subuid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)MXC_SUBID_FILE_MAX + 1), 0);
	close(fd);
	struct mxc_subid_range *r = NULL;
	size_t n, bad;
	struct mxc_error err = {0};
	cr_assert_eq(mxc_subid_load(subuid_path, &r, &n, &bad, &err), -EFBIG);
	cr_assert(strstr(err.msg, subuid_path), "%s", err.msg);

	/* Allocation cannot tell which ids are free, so it refuses too. */
	uint32_t id;
	cr_assert_eq(mxc_identity_allocate_id(&cfg, NULL, NULL, &id, &err), -EFBIG);
}

Test(subid, load_of_a_missing_file_has_no_ranges, .init = identity_setup, .fini = identity_teardown)
{
	struct mxc_subid_range *r = NULL;
	size_t n = 99, bad = 99;
	cr_assert_eq(mxc_subid_load(subuid_path, &r, &n, &bad, NULL), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(bad, 0);
}

Test(subid, load_reports_malformed_lines, .init = identity_setup, .fini = identity_teardown)
{
	write_file(subuid_path, "alice:100000:65536\nnonsense\n");
	struct mxc_subid_range *r = NULL;
	size_t n, bad;
	cr_assert_eq(mxc_subid_load(subuid_path, &r, &n, &bad, NULL), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(bad, 1);
	free(r);
}
