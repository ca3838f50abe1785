/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* testskip.h - the one way a cmocka test skips: the reason printed, cmocka counting the skip */
#ifndef CG_TEST_SKIP_H
#define CG_TEST_SKIP_H

/*
 * Header only: the benchmark links tests/lib/ without cmocka. Include it after <cmocka.h>'s
 * own prerequisites (<setjmp.h>, <stdarg.h>, <stddef.h>); it includes <cmocka.h> itself.
 *
 * In a test body:   cg_test_require_root("BPF maps");
 *                   cg_test_require(lab.vlan, "kernel has no 802.1Q VLAN devices");
 *                   cg_test_skip("cannot make a directory read-only for this process");
 * For a whole group whose fixtures cannot run here (no root for the group setup):
 *                   return cg_test_run_group(tests, setup, teardown, reason_or_NULL);
 * Every skip prints "skipped: REASON" and is counted in cmocka's "[  SKIPPED ]" summary, which
 * is what tests/run.sh counts. Never print a SKIPPED line by hand.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Print "skipped: " and the printf-style reason on cmocka's output. */
static inline __attribute__((format(printf, 1, 2))) void cg_test_skip_print_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_message("skipped: ");
	vprint_message(fmt, ap);
	print_message("\n");
	va_end(ap);
}

/*
 * cg_test_skip - end the running test as skipped, printing "skipped: " and the printf-style
 * reason. Only in a test body (cmocka counts a skip in a setup function as an error). Does not
 * return: free what the test holds before calling it.
 */
#define cg_test_skip(...)                         \
	do {                                      \
		cg_test_skip_print_(__VA_ARGS__); \
		skip();                           \
	} while (0)

/* cg_test_require - skip the running test with the printf-style reason unless cond holds. */
#define cg_test_require(cond, ...)                 \
	do {                                       \
		if (!(cond))                       \
			cg_test_skip(__VA_ARGS__); \
	} while (0)

/* cg_test_require_root - skip the running test unless it runs as root; why: what needs it. */
#define cg_test_require_root(why) cg_test_require(geteuid() == 0, "needs root (%s)", why)

/* The reason every test of a group run by cg_test_run_group_() skips with. */
static inline const char **cg_test_group_reason_(void)
{
	static const char *reason;

	return &reason;
}

static inline void cg_test_skipped_(void **state)
{
	(void)state;
	cg_test_skip("%s", *cg_test_group_reason_());
}

/*
 * cg_test_run_group - run the cmocka group tests (an array) with its group fixtures, or, when
 * reason is not NULL, report every test of it as skipped with that reason without running any
 * fixture. Returns what cmocka_run_group_tests() returns (the number of failed tests).
 */
#define cg_test_run_group(tests, setup, teardown, reason)                                      \
	cg_test_run_group_(#tests, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown, \
			   reason)

static inline int cg_test_run_group_(const char *name, const struct CMUnitTest *tests, size_t n,
				     CMFixtureFunction setup, CMFixtureFunction teardown,
				     const char *reason)
{
	struct CMUnitTest *skipped;
	size_t i;
	int ret;

	if (!reason)
		return _cmocka_run_group_tests(name, tests, n, setup, teardown);
	skipped = calloc(n, sizeof(*skipped));
	if (!skipped) {
		fprintf(stderr, "%s: out of memory\n", name);
		return 1;
	}
	*cg_test_group_reason_() = reason;
	for (i = 0; i < n; i++) {
		skipped[i].name = tests[i].name;
		skipped[i].test_func = cg_test_skipped_;
	}
	ret = _cmocka_run_group_tests(name, skipped, n, NULL, NULL);
	free(skipped);
	return ret;
}

#endif /* CG_TEST_SKIP_H */
