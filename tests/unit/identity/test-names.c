#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "identity.h"

/* Inline strings: Criterion hands parameters to test processes it execs, pointers die. */
struct name_case {
	char name[40];
	bool valid;
};

static struct name_case name_cases[] = {
    {"a", true},
    {"_", true},
    {"coder", true},
    {"agent-1", true},
    {"_svc_x-9", true},
    {"a0123456789012345678901234567_", true}, /* 31 characters */
    {"z-", true},
    {"a01234567890123456789012345678_x", false}, /* 32 characters */
    {"", false},
    {"Coder", false},
    {"codeR", false},
    {"1coder", false},
    {"-coder", false},
    {"../x", false},
    {"a/b", false},
    {"a.b", false},
    {"a b", false},
    {"a:b", false},
    {"coder$", false},
    {"coder\n", false},
    {"\xc3\xa9t\xc3\xa9", false}, /* "été" */
    {"a\xe2\x80\x8b"
     "b",
     false}, /* zero-width space */
};

ParameterizedTestParameters(names, table)
{
	return cr_make_param_array(struct name_case, name_cases, MXC_ARRAY_SIZE(name_cases));
}

ParameterizedTest(struct name_case *c, names, table)
{
	cr_assert_eq(mxc_agent_name_valid(c->name), c->valid, "'%s' should be %s", c->name,
		     c->valid ? "valid" : "invalid");
}

Test(names, null_is_invalid)
{
	cr_assert_not(mxc_agent_name_valid(NULL));
}

Test(names, length_limit_is_exactly_31)
{
	char name[64];
	memset(name, 'a', sizeof(name));
	name[MXC_AGENT_NAME_MAX] = '\0';
	cr_assert(mxc_agent_name_valid(name));
	name[MXC_AGENT_NAME_MAX] = 'a';
	name[MXC_AGENT_NAME_MAX + 1] = '\0';
	cr_assert_not(mxc_agent_name_valid(name));
	cr_assert_eq(MXC_AGENT_NAME_MAX, 31);
}
