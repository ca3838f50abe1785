// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_field.c - the shared parsers and the field tables (cellgate/field.h) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cellgate/config.h"
#include "cellgate/field.h"

static void test_prefix_parse_is_strict(void **unused)
{
	static const char *const bad[] = {
		"198.18.0.0/ 24", "198.18.0.0/+24", "198.18.0.0/024", "198.18.0.0/-1",
		"198.18.0.0/",	  "198.18.0.0",	    "198.18.0.0/33",  "2001:db8::/129",
		"198.18.0.1/24",  "198.18.0.0/24 ", "bogus/8",
	};
	struct cg_addr a;
	char err[128];
	uint8_t len;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cg_prefix_parse(bad[i], &a, &len, err, sizeof(err)), -EINVAL);
	assert_int_equal(cg_prefix_parse("198.18.0.1/24", &a, &len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "prefix '198.18.0.1/24' has host bits set "
				 "(did you mean 198.18.0.0/24?)");
	assert_int_equal(cg_prefix_parse("198.18.0.0/024", &a, &len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "prefix '198.18.0.0/024': length '024' is not a number");
	/* what the client sent is quoted escaped, never raw (terminal escapes, newlines) */
	assert_int_equal(cg_prefix_parse("\x1b[2J'/24", &a, &len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad IPv4 address '\\x1b[2J\\x27' in prefix '\\x1b[2J\\x27/24'");
	assert_int_equal(cg_prefix_parse("198.18.0.0/2\n4", &a, &len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "prefix '198.18.0.0/2\\x0a4': length '2\\x0a4' is not a number");
	assert_int_equal(cg_prefix_parse("198.18.0.0/24", &a, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 24);
	assert_int_equal(a.family, CG_AF_INET);
	assert_int_equal(cg_prefix_parse("0.0.0.0/0", &a, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 0);
	assert_int_equal(cg_prefix_parse("2001:db8::/32", &a, &len, err, sizeof(err)), 0);
	assert_string_equal(cg_prefix_format(&a, len, err, sizeof(err)), "2001:db8::/32");
}

static void test_addr_parse_and_format(void **unused)
{
	struct cg_addr a = { 0 };
	char err[128], buf[CG_ADDR_TEXT_MAX];

	(void)unused;
	assert_string_equal(cg_addr_format(&a, buf, sizeof(buf)), "");
	assert_int_equal(cg_addr_parse("10.0.0.1", 0, "gateway", &a, err, sizeof(err)), 0);
	assert_string_equal(cg_addr_format(&a, buf, sizeof(buf)), "10.0.0.1");
	assert_int_equal(cg_addr_parse("2001:db8::1", CG_AF_INET, "ipv4", &a, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "ipv4 '2001:db8::1' is not an IPv4 address");
	assert_int_equal(cg_addr_parse("10.0.0.300", 0, "gateway", &a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad IPv4 address '10.0.0.300' for gateway");
	assert_int_equal(cg_addr_parse("2001:DB8::1", 0, "vip", &a, err, sizeof(err)), 0);
	assert_string_equal(cg_addr_format(&a, buf, sizeof(buf)), "2001:db8::1");
}

static void test_name_valid(void **unused)
{
	(void)unused;
	assert_true(cg_name_valid("use1-a"));
	assert_true(cg_name_valid("0a._-"));
	assert_true(cg_name_valid("abcdefghijklmnopqrstuvwxyz01234"));	 /* 31 */
	assert_false(cg_name_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
	assert_false(cg_name_valid(""));
	assert_false(cg_name_valid("-a"));
	assert_false(cg_name_valid("a b"));
	assert_false(cg_name_valid("*"));
}

static void test_cell_fields(void **unused)
{
	struct cg_cell_cfg a, b;
	const struct cg_field *f;
	char err[160], buf[64];

	(void)unused;
	cg_object_defaults(&cg_cell_obj, &a);
	assert_int_equal(a.id, CG_ID_AUTO);
	assert_int_equal(a.weight, CG_DEFAULT_WEIGHT);
	assert_int_equal(a.gue_port, CG_GUE_DEFAULT_PORT);
	assert_int_equal(a.encap, CG_ENCAP_IPIP);
	assert_int_equal(a.state, CG_CELL_ACTIVE);
	b = a;
	assert_true(cg_object_equal(&cg_cell_obj, &a, &b));

	f = cg_field_find(&cg_cell_obj, "gue-port");
	assert_non_null(f);
	assert_ptr_equal(f, cg_field_find(&cg_cell_obj, "gue_port"));
	assert_null(cg_field_find(&cg_cell_obj, "nope"));
	assert_int_equal(cg_field_parse(f, &a, "0", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "gue_port 0 is out of range (1..65535)");
	assert_int_equal(cg_field_parse(f, &a, "-1", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "gue_port '-1' is not a number (negative)");
	assert_int_equal(cg_field_parse(f, &a, "7000", err, sizeof(err)), 0);
	assert_int_equal(a.gue_port, 7000);
	assert_string_equal(cg_field_format(f, &a, buf, sizeof(buf)), "7000");
	assert_true(cg_field_cmp(f, &a, &b) > 0);
	assert_false(cg_object_equal(&cg_cell_obj, &a, &b));

	f = cg_field_find(&cg_cell_obj, "state");
	assert_int_equal(cg_field_parse(f, &a, "up", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown state 'up' (expected active, draining or down)");
	assert_int_equal(cg_field_parse(f, &a, "draining", err, sizeof(err)), 0);
	assert_string_equal(cg_field_format(f, &a, buf, sizeof(buf)), "draining");

	f = cg_field_find(&cg_cell_obj, "gateway");
	assert_int_equal(cg_field_parse(f, &a, "127.0.0.1", err, sizeof(err)), -EINVAL);
	assert_int_equal(cg_field_parse(f, &a, "198.51.100.7", err, sizeof(err)), 0);
	assert_string_equal(cg_field_format(f, &a, buf, sizeof(buf)), "198.51.100.7");

	f = cg_field_find(&cg_cell_obj, "name");
	assert_true(f->flags & CG_FF_KEY);
	assert_int_equal(cg_field_parse(f, &a, "bad name", err, sizeof(err)), -EINVAL);
}

static void test_shed_fields(void **unused)
{
	struct cg_shed_cfg s;
	const struct cg_field *f;
	char err[160], buf[64];

	(void)unused;
	cg_object_defaults(&cg_shed_obj, &s);
	f = cg_field_find(&cg_shed_obj, "level");
	assert_int_equal(cg_field_parse(f, &s, "0.25", err, sizeof(err)), 0);
	assert_int_equal(s.level_ppm, 250000);
	assert_string_equal(cg_field_format(f, &s, buf, sizeof(buf)), "0.25");
	assert_int_equal(cg_field_parse(f, &s, "1.5", err, sizeof(err)), -EINVAL);
	f = cg_field_find(&cg_shed_obj, "cell");
	assert_int_equal(cg_field_parse(f, &s, "*", err, sizeof(err)), 0);
	f = cg_field_find(&cg_shed_obj, "hard");
	assert_int_equal(cg_field_parse(f, &s, "yes", err, sizeof(err)), -EINVAL);
	assert_int_equal(cg_field_parse(f, &s, "true", err, sizeof(err)), 0);
	assert_true(s.hard);
}

static void test_every_table_is_well_formed(void **unused)
{
	const struct cg_object *const objs[] = {
		&cg_settings_obj, &cg_region_obj,     &cg_cell_obj, &cg_service_obj,
		&cg_class_obj,	  &cg_class_rule_obj, &cg_shed_obj, &cg_guard_obj,
	};
	const struct cg_field *f;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		for (f = objs[i]->fields; f->name; f++) {
			assert_true(f->offset + f->size <= objs[i]->size);
			assert_non_null(f->doc);
			assert_true(f->min <= f->max || f->type == CG_F_ADDR || !f->max);
			if (f->type == CG_F_ENUM)
				assert_non_null(f->words);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse_is_strict),
		cmocka_unit_test(test_addr_parse_and_format),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_cell_fields),
		cmocka_unit_test(test_shed_fields),
		cmocka_unit_test(test_every_table_is_well_formed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
