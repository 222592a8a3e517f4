#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>

#include "tool.h"

static int sh(const char *script, struct mxc_error *err)
{
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	return mxc_identity_tool_run(argv, err, "failed to test");
}

Test(tool, success_output_is_dropped)
{
	struct mxc_error err = {0};
	cr_assert_eq(sh("echo all fine; echo 'sh warning: noise' >&2", &err), 0);
	cr_assert_eq(err.code, 0);
	cr_assert_str_eq(err.msg, "");
}

Test(tool, failure_output_becomes_the_message_without_warnings)
{
	struct mxc_error err = {0};
	int r = sh("echo 'sh warning: uid outside UID_MAX' >&2; echo 'sh: cannot lock' >&2; "
		   "echo 'second line'; exit 3",
		   &err);
	cr_assert_eq(r, -EIO);
	cr_assert_eq(err.code, -EIO);
	cr_assert_str_eq(err.msg, "failed to test: sh: cannot lock; second line");
}

Test(tool, only_warnings_are_kept_when_nothing_else_was_said)
{
	struct mxc_error err = {0};
	cr_assert_eq(sh("echo 'sh warning: odd' >&2; exit 1", &err), -EIO);
	cr_assert_str_eq(err.msg, "failed to test: sh warning: odd");
}

Test(tool, silent_failure_names_the_status_and_signal)
{
	struct mxc_error err = {0};
	cr_assert_eq(sh("exit 7", &err), -EIO);
	cr_assert_str_eq(err.msg, "failed to test: sh exited with status 7");
	cr_assert_eq(sh("kill -9 $$", &err), -EIO);
	cr_assert_str_eq(err.msg, "failed to test: sh was killed by signal 9");
}

Test(tool, runs_with_a_fixed_environment_and_nothing_inherited)
{
	/* Whatever the caller has: environment, blocked or ignored signals, open files. */
	setenv("LD_PRELOAD", "/nonexistent.so", 1);
	setenv("IFS", "x", 1);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGINT, SIG_IGN);
	int leaked = open("/dev/null", O_RDONLY); /* without O_CLOEXEC */
	cr_assert_geq(leaked, 3);

	/* awk reads its own /proc status: a shell would reset the mask and add PWD. */
	struct mxc_error err = {0};
	const char *awk[] = {"/usr/bin/awk",
			     "BEGIN { for (k in ENVIRON) print k \"=\" ENVIRON[k] | \"sort\"; "
			     "close(\"sort\") } /^Sig(Blk|Ign)/ { print } END { exit 1 }",
			     "/proc/self/status", NULL};
	mxc_identity_tool_run(awk, &err, "env");
	const char *want = "env: LC_ALL=C; PATH=/usr/sbin:/usr/bin:/sbin:/bin; "
			   "SigBlk:?0000000000000000; SigIgn:?";
	cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
	/* glibc itself keeps its internal signals 32 and 33 ignored across posix_spawn. */
	unsigned long long ign = strtoull(err.msg + strlen(want), NULL, 16);
	cr_assert_eq(ign & 0x7fffffffull, 0, "ignored signals: %s", err.msg);

	/* Descriptors 0-2 only, and stdin at its end at once. */
	sh("ls /proc/$$/fd; cat; exit 1", &err);
	cr_assert_str_eq(err.msg, "failed to test: 0; 1; 2");
}

Test(tool, huge_output_is_bounded_and_never_blocks)
{
	struct mxc_error err = {0};
	cr_assert_eq(sh("head -c 3000000 /dev/zero | tr '\\000' a; exit 2", &err), -EIO);
	cr_assert_eq(strlen(err.msg), sizeof(err.msg) - 1);
	cr_assert_eq(strncmp(err.msg, "failed to test: aaaa", 20), 0);
}

Test(tool, control_characters_are_replaced)
{
	struct mxc_error err = {0};
	cr_assert_eq(sh("printf 'a\\033[31mb\\tc\\n'; exit 1", &err), -EIO);
	cr_assert_str_eq(err.msg, "failed to test: a?[31mb?c");
}

Test(tool, exit_statuses_map_to_errno)
{
	struct mxc_error err = {0};
	/* Fake tools by name: only the base name and the status matter. */
	const char *useradd[] = {"/bin/sh", "-c", "exit 9", NULL};
	cr_assert_eq(mxc_identity_tool_run(useradd, &err, "x"), -EIO, "not a shadow tool");
	const char *missing[] = {"/nonexistent/useradd", NULL};
	cr_assert_eq(mxc_identity_tool_run(missing, &err, "failed to create account 'x'"), -ENOENT);
	cr_assert(strstr(err.msg, "cannot run /nonexistent/useradd"), "%s", err.msg);
}
