// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_load.c - offered load per cell and class from a counter delta */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tstate.h"

#include "cellgate/config.h"
#include "cellgate/load.h"
#include "cellgate/region.h"

static const char cfg[] =
	"region: r1\n"
	"interfaces: [eth0]\n"
	"source: {ipv4: 198.18.0.1}\n"
	"regions:\n"
	"  - {name: r1, cost: 0}\n"
	"  - {name: r2, cost: 10}\n"
	"cells:\n"
	"  - {name: a1, region: r1, gateway: 198.18.1.10, encap: gue}\n"
	"  - {name: b1, region: r2, gateway: 198.18.2.10, encap: gue}\n"
	"services:\n"
	"  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp, cells: [a1, b1]}\n";

struct fx {
	struct cg_state st;
	struct cg_stats_snap *d;
	uint32_t load[2 * CG_MAX_CLASSES];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || tstate_parse(&f->st, cfg))
		return -1;
	f->st.cells[0].id = 3; /* ids as cellgated would assign them, not indexes */
	f->st.cells[1].id = 7;
	f->d = cg_stats_new();
	*state = f;
	return f->d ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cg_stats_free(f->d);
	cg_state_free(&f->st);
	free(f);
	return 0;
}

#define L(cell, class) f->load[(cell) * CG_MAX_CLASSES + (class)]

/* pinned plus shed is offered; guard and ceiling refusals are not; per second of the delta */
static void test_offered_is_pinned_plus_shed(void **state)
{
	struct fx *f = *state;
	uint32_t a1 = f->st.cells[0].id, b1 = f->st.cells[1].id;

	f->d->t_ns = 2000000000ULL; /* 2 s */
	f->d->cell[a1][0].new_flows = 300;
	f->d->cell[a1][3].new_flows = 100;
	f->d->cell[a1][3].shed = 900;
	f->d->cell[a1][3].guard = 5000;
	f->d->cell[a1][3].ceiling = 7000;
	f->d->cell[b1][1].new_flows = 1;
	cg_load_offered(&f->st, f->d, NULL, f->load);
	assert_int_equal(L(0, 0), 150);
	assert_int_equal(L(0, 3), 500);
	assert_int_equal(L(0, 1), 0);
	assert_int_equal(L(1, 1), 1); /* 0.5/s rounds up */
	f->d->t_ns = 0;
	cg_load_offered(&f->st, f->d, NULL, f->load);
	assert_int_equal(L(0, 0), 0);
}

/* a ramping region's cells are scaled to their full share; a region at 0 offers nothing */
static void test_fraction_scales_to_full_share(void **state)
{
	struct fx *f = *state;
	uint32_t frac[2] = { CG_PPM, 250000 };

	f->d->t_ns = 1000000000ULL;
	f->d->cell[f->st.cells[0].id][2].new_flows = 40;
	f->d->cell[f->st.cells[1].id][2].new_flows = 40;
	cg_load_offered(&f->st, f->d, frac, f->load);
	assert_int_equal(L(0, 2), 40);
	assert_int_equal(L(1, 2), 160);
	frac[1] = 0;
	cg_load_offered(&f->st, f->d, frac, f->load);
	assert_int_equal(L(1, 2), 0);
}

static void test_saturates(void **state)
{
	struct fx *f = *state;

	f->d->t_ns = 1;
	f->d->cell[f->st.cells[0].id][0].new_flows = UINT64_MAX / 2;
	cg_load_offered(&f->st, f->d, NULL, f->load);
	assert_int_equal(L(0, 0), UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offered_is_pinned_plus_shed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fraction_scales_to_full_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_saturates, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
