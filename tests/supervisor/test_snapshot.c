// SPDX-License-Identifier: Apache-2.0
/*
 * snapshot_env_check(): a snapshot's record against this process's app, binary and environment;
 * snapshot_env_apply(): that environment made the record's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "supervisor/snapshot.h"

static char why[600];

/* A record for app /srv/app, made by /bin/sh as it is on this machine, with @env_lines. */
static int check(const char *env_lines, const char *app, const char *exe)
{
	struct stat st;
	char rec[16384];

	cr_assert(stat("/bin/sh", &st) == 0);
	snprintf(rec, sizeof(rec),
		 "knext-snapshot 1\napp /srv/app\nnode v24.22.3\narch x64\nexe /bin/sh\n"
		 "exe-size %lld\nexe-mtime-ns %lld\nenumerated 0\nmodules 3\n%s",
		 (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, env_lines);
	return snapshot_env_check(rec, strlen(rec), app, exe, why, sizeof(why));
}

Test(snapshot, same_environment_is_used)
{
	setenv("KNEXT_T_A", "one", 1);
	unsetenv("KNEXT_T_B");
	cr_assert_eq(check("env KNEXT_T_A=one\nunset KNEXT_T_B\n", "/srv/app", "/bin/sh"), 0, "%s",
		     why);
}

Test(snapshot, differing_variables_are_named)
{
	setenv("KNEXT_T_A", "two", 1);
	setenv("KNEXT_T_B", "set", 1);
	unsetenv("KNEXT_T_C");
	cr_assert_eq(check("env KNEXT_T_A=one\nunset KNEXT_T_B\nenv KNEXT_T_C=x\nunset KNEXT_T_D\n",
			   "/srv/app", "/bin/sh"),
		     -ESTALE);
	cr_assert_str_eq(why, "the environment differs in KNEXT_T_A, KNEXT_T_B, KNEXT_T_C");
}

Test(snapshot, escaped_values)
{
	setenv("KNEXT_T_A", "a\\b\nc", 1);
	cr_assert_eq(check("env KNEXT_T_A=a\\\\b\\nc\n", "/srv/app", "/bin/sh"), 0, "%s", why);
	setenv("KNEXT_T_A", "a\\b", 1);
	cr_assert_eq(check("env KNEXT_T_A=a\\\\b\\nc\n", "/srv/app", "/bin/sh"), -ESTALE);
	setenv("KNEXT_T_A", "", 1);
	cr_assert_eq(check("env KNEXT_T_A=\n", "/srv/app", "/bin/sh"), 0, "%s", why);
	unsetenv("KNEXT_T_A");
	cr_assert_eq(check("env KNEXT_T_A=\n", "/srv/app", "/bin/sh"), -ESTALE);
}

Test(snapshot, other_app_or_runtime)
{
	cr_assert_eq(check("", "/srv/other", "/bin/sh"), -ESTALE);
	cr_assert(strstr(why, "another app directory"));
	cr_assert_eq(check("", "/srv/app", "/bin/true"), -ESTALE);
	cr_assert(strstr(why, "another runtime"));
	cr_assert_eq(check("", "/srv/app", NULL), 0, "%s", why);
}

Test(snapshot, bad_records)
{
	static const char *const bad[] = { "",
					   "app /srv/app\n",
					   "knext-snapshot 2\napp /srv/app\n",
					   "knext-snapshot 1\napp /srv/app\nnospace\n",
					   "knext-snapshot 1\napp /srv/app\nenv NOEQUALS\n",
					   "knext-snapshot 1\napp /srv/app\nenv =v\n" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(snapshot_env_check(bad[i], strlen(bad[i]), "/srv/app", NULL, why,
						sizeof(why)),
			     -EBADMSG, "record %zu", i);
}

Test(snapshot, many_names_are_cut)
{
	char lines[8192] = "";

	for (int i = 0; i < 200; i++) {
		char name[32];

		snprintf(name, sizeof(name), "KNEXT_T_LONG_NAME_%03d", i);
		unsetenv(name);
		snprintf(lines + strlen(lines), sizeof(lines) - strlen(lines), "env %s=x\n", name);
	}
	cr_assert_eq(check(lines, "/srv/app", "/bin/sh"), -ESTALE);
	cr_assert(strlen(why) < sizeof(why));
	cr_assert(strstr(why, "..."));
}

Test(snapshot, blob_hash_names_the_runtime)
{
	cr_assert_neq(snapshot_blob_hash("24.22.3", "x64"), snapshot_blob_hash("24.22.1", "x64"));
	cr_assert_eq(snapshot_blob_hash("24.22.3", "x64"), snapshot_blob_hash("24.22.3", "x64"));
}

/* snapshot_env_apply(): `cache warm`'s restored run gets the environment the record describes. */
Test(snapshot, apply_makes_the_environment_the_record_s)
{
	static const char rec[] = "knext-snapshot 1\napp /srv/app\nunset KNEXT_T_CI\n"
				  "env KNEXT_T_A=a\\\\b\\nc\nunset KNEXT_T_NEVER\n";

	setenv("KNEXT_T_CI", "true", 1);
	setenv("KNEXT_T_A", "other", 1);
	setenv("KNEXT_T_KEEP", "kept", 1);
	cr_assert_eq(snapshot_env_apply(rec, sizeof(rec) - 1), 0);
	cr_assert_null(getenv("KNEXT_T_CI"));
	cr_assert_str_eq(getenv("KNEXT_T_A"), "a\\b\nc");
	cr_assert_null(getenv("KNEXT_T_NEVER"));
	cr_assert_str_eq(getenv("KNEXT_T_KEEP"), "kept");
	/* Then the check agrees. */
	cr_assert_eq(check("unset KNEXT_T_CI\nenv KNEXT_T_A=a\\\\b\\nc\n", "/srv/app", NULL), 0,
		     "%s", why);
}
