// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_shedlevels.c - which shed level applies: operators, the controller, protected classes, expiry */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cellgate/config.h"
#include "cellgate/shed.h"

static const char cfg[] =
	"region: r1\n"
	"interfaces: [eth0]\n"
	"source: {ipv4: 198.18.0.1}\n"
	"regions: [{name: r1, cost: 0}]\n"
	"cells:\n"
	"  - {name: a, id: 1, region: r1, gateway: 198.18.1.10, encap: gue}\n"
	"  - {name: b, id: 2, region: r1, gateway: 198.18.1.11, encap: gue}\n"
	"classes:\n"
	"  - {name: critical, id: 0, protected: true}\n"
	"  - {name: normal, id: 2}\n"
	"  - {name: sheddable, id: 3}\n"
	"services:\n"
	"  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp, cells: [a, b]}\n"
	"shed:\n"
	"  - {cell: \"*\", class: sheddable, level: 0.5, expires: 2000, by: ops, reason: test}\n"
	"  - {cell: b, class: sheddable, level: 0.25, expires: 0, by: ops, reason: test}\n"
	"  - {cell: a, class: normal, level: 0.1, hard: true, expires: 1000, by: ops, reason: x}\n";

#define AT(cell, class) ((cell) * CG_MAX_CLASSES + (class))

struct fx {
	struct cg_state st;
	struct cg_shed_eff *eff;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	f->eff = calloc((size_t)CG_MAX_CELLS * CG_MAX_CLASSES, sizeof(*f->eff));
	cg_state_init(&f->st);
	if (cg_config_parse_buf("t.yaml", cfg, strlen(cfg), &f->st, err, sizeof(err))) {
		print_error("%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cg_state_free(&f->st);
	free(f->eff);
	free(f);
	return 0;
}

static void test_shed_named_cell_beats_wildcard(void **state)
{
	struct fx *f = *state;

	cg_shed_effective(&f->st, NULL, 0, 500, f->eff);
	assert_int_equal(f->eff[AT(1, 3)].soft_ppm, 500000); /* a: from "*" */
	assert_int_equal(f->eff[AT(2, 3)].soft_ppm, 250000); /* b: its own entry */
	assert_int_equal(f->eff[AT(2, 3)].source, CG_SHED_OPERATOR);
	assert_string_equal(f->st.shed[f->eff[AT(2, 3)].entry].cell, "b");
	assert_int_equal(f->eff[AT(1, 3)].hard_ppm, 0);
}

static void test_shed_hard_entry_sets_both(void **state)
{
	struct fx *f = *state;

	cg_shed_effective(&f->st, NULL, 0, 500, f->eff);
	assert_int_equal(f->eff[AT(1, 2)].soft_ppm, 100000);
	assert_int_equal(f->eff[AT(1, 2)].hard_ppm, 100000);
	assert_int_equal(f->eff[AT(2, 2)].soft_ppm, 0);
}

static void test_shed_expired_entries_stop_applying(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cg_shed_effective(&f->st, NULL, 0, 500, f->eff), 1000);
	assert_int_equal(cg_shed_effective(&f->st, NULL, 0, 1000, f->eff), 2000);
	assert_int_equal(f->eff[AT(1, 2)].soft_ppm, 0); /* expired at 1000 */
	assert_int_equal(cg_shed_effective(&f->st, NULL, 0, 2000, f->eff), 0);
	assert_int_equal(f->eff[AT(1, 3)].soft_ppm, 0);	     /* "*" expired */
	assert_int_equal(f->eff[AT(2, 3)].soft_ppm, 250000); /* permanent */
}

static void test_shed_controller_never_sheds_protected_class(void **state)
{
	struct fx *f = *state;
	const struct cg_shed_level ctl[] = {
		{ .cell = 1, .class = 0, .level_ppm = 900000 }, /* critical: protected */
		{ .cell = 2, .class = 2, .level_ppm = 300000, .hard = true },
	};

	cg_shed_effective(&f->st, ctl, 2, 5000, f->eff);
	assert_int_equal(f->eff[AT(1, 0)].soft_ppm, 0);
	assert_int_equal(f->eff[AT(1, 0)].source, CG_SHED_NONE);
	assert_int_equal(f->eff[AT(2, 2)].soft_ppm, 300000);
	assert_int_equal(f->eff[AT(2, 2)].hard_ppm, 300000);
	assert_int_equal(f->eff[AT(2, 2)].source, CG_SHED_CONTROLLER);
}

static void test_shed_operator_beats_controller_and_may_shed_protected(void **state)
{
	struct fx *f = *state;
	const struct cg_shed_level ctl[] = { { .cell = 2, .class = 3, .level_ppm = 800000 } };
	struct cg_state st;

	cg_shed_effective(&f->st, ctl, 1, 5000, f->eff);
	assert_int_equal(f->eff[AT(2, 3)].soft_ppm, 250000); /* b's permanent operator entry */
	assert_int_equal(f->eff[AT(2, 3)].source, CG_SHED_OPERATOR);

	/* an operator override on the protected class applies */
	assert_int_equal(cg_state_copy(&st, &f->st), 0);
	st.shed[0].class = 0;
	st.shed[0].expires = 0;
	cg_shed_effective(&st, NULL, 0, 5000, f->eff);
	assert_int_equal(f->eff[AT(1, 0)].soft_ppm, 500000);
	cg_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shed_named_cell_beats_wildcard),
		cmocka_unit_test(test_shed_hard_entry_sets_both),
		cmocka_unit_test(test_shed_expired_entries_stop_applying),
		cmocka_unit_test(test_shed_controller_never_sheds_protected_class),
		cmocka_unit_test(test_shed_operator_beats_controller_and_may_shed_protected),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
