#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "identity.h"

static struct mxc_identity_config good(void)
{
	return (struct mxc_identity_config){
	    .id_min = 70000,
	    .id_max = 79999,
	    .home_base = "/var/lib/mxc/home",
	    .subuid_path = "/etc/subuid",
	    .subgid_path = "/etc/subgid",
	    .shell = "/usr/sbin/nologin",
	};
}

Test(config, accepts_the_defaults)
{
	struct mxc_identity_config c;
	mxc_identity_config_defaults(&c);
	struct mxc_error err = {0};
	cr_assert_eq(mxc_identity_config_check(&c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.id_min, 70000);
	cr_assert_eq(c.id_max, 79999);
	cr_assert_str_eq(c.shell, "/usr/sbin/nologin");
	cr_assert_lt(mxc_identity_config_check(&(struct mxc_identity_config){0}, NULL), 0);
	cr_assert_eq(mxc_identity_config_check(NULL, NULL), -EINVAL);
}

struct range_case {
	uint32_t min, max;
	bool ok;
};

static struct range_case range_cases[] = {
    {70000, 79999, true},
    {1000, 59999, true},   /* the low window, edge to edge */
    {65536, 524287, true}, /* the high window, edge to edge */
    {70000, 70000, true},  /* a single id */
    {70001, 70000, false}, /* empty */
    {500, 1500, false},	   /* system accounts */
    {0, 0, false},	   /* root */
    {999, 999, false},
    {59000, 60000, false}, /* Debian's static allocations */
    {60001, 60513, false}, /* systemd-homed */
    {61000, 61500, false}, /* systemd's dynamic users */
    {65519, 65519, false},
    {65000, 65600, false},   /* nobody */
    {65535, 65536, false},   /* (uint16_t)-1 */
    {524287, 524288, false}, /* systemd's container range */
    {500000, 600000, false},
    {2147483648u, 2147483700u, false}, /* "negative" */
    {4294967294u, 4294967295u, false}, /* -2 and -1 */
};

ParameterizedTestParameters(config, ranges)
{
	return cr_make_param_array(struct range_case, range_cases, MXC_ARRAY_SIZE(range_cases));
}

ParameterizedTest(struct range_case *c, config, ranges)
{
	struct mxc_identity_config cfg = good();
	cfg.id_min = c->min;
	cfg.id_max = c->max;
	struct mxc_error err = {0};
	int r = mxc_identity_config_check(&cfg, &err);
	if (c->ok) {
		cr_assert_eq(r, 0, "%u-%u refused: %s", c->min, c->max, err.msg);
	} else {
		cr_assert_eq(r, -ERANGE, "%u-%u accepted", c->min, c->max);
		cr_assert_eq(err.code, -ERANGE);
		cr_assert(strstr(err.msg, "range"), "%s", err.msg);
	}
}

/* Inline strings ("" = keep the good value): Criterion execs its test processes. */
struct path_case {
	char home_base[48], shell[16], subuid[16];
};

static struct path_case path_cases[] = {
    {"var/lib/mxc/home", "", ""},
    {"/", "", ""},
    {"/var/lib/mxc/home/", "", ""},
    {"/var/lib//home", "", ""},
    {"/var/lib/../etc", "", ""},
    {"/var/lib/mxc/..", "", ""},
    {"/var/lib/./mxc", "", ""},
    {"/var/lib/mxc/.", "", ""},
    {"/var/lib/mxc:home", "", ""},
    {"/var/lib/mxc\nroot::0:0::/:/bin/sh", "", ""},
    {"", "nologin", ""},
    {"", "/bin/sh:x", ""},
    {"", "", "subuid"},
};

ParameterizedTestParameters(config, bad_paths)
{
	return cr_make_param_array(struct path_case, path_cases, MXC_ARRAY_SIZE(path_cases));
}

ParameterizedTest(struct path_case *c, config, bad_paths)
{
	struct mxc_identity_config cfg = good();
	if (c->home_base[0])
		cfg.home_base = c->home_base;
	if (c->shell[0])
		cfg.shell = c->shell;
	if (c->subuid[0])
		cfg.subuid_path = c->subuid;
	struct mxc_error err = {0};
	cr_assert_eq(mxc_identity_config_check(&cfg, &err), -EINVAL, "accepted %s %s %s",
		     cfg.home_base, cfg.shell, cfg.subuid_path);
	cr_assert_neq(err.msg[0], '\0');
}

Test(config, refuses_missing_or_empty_paths)
{
	for (int empty = 0; empty < 2; empty++) {
		const char *bad = empty ? "" : NULL;
		struct mxc_identity_config cfg = good();
		cfg.home_base = bad;
		cr_assert_eq(mxc_identity_config_check(&cfg, NULL), -EINVAL);
		cfg = good();
		cfg.shell = bad;
		cr_assert_eq(mxc_identity_config_check(&cfg, NULL), -EINVAL);
		cfg = good();
		cfg.subuid_path = bad;
		cr_assert_eq(mxc_identity_config_check(&cfg, NULL), -EINVAL);
		cfg = good();
		cfg.subgid_path = bad;
		cr_assert_eq(mxc_identity_config_check(&cfg, NULL), -EINVAL);
	}
}
