// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_text.c - strict UTF-8 in, escaped text out (cellgate/text.h) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cellgate/field.h"
#include "cellgate/text.h"

static size_t next(const char *s, uint32_t *cp)
{
	return cg_utf8_next((const unsigned char *)s, strlen(s), cp);
}

static void test_utf8_decoding_is_strict(void **unused)
{
	static const char *const bad[] = {
		"\x80",		    /* a lone continuation byte */
		"\xc0\xaf",	    /* overlong '/' */
		"\xc1\xbf",	    /* overlong */
		"\xe0\x80\xaf",	    /* overlong, 3 bytes */
		"\xf0\x80\x80\xaf", /* overlong, 4 bytes */
		"\xed\xa0\x80",	    /* a UTF-16 surrogate, U+D800 */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xf5\x80\x80\x80", /* never a lead byte */
		"\xe2\x82",	    /* cut short */
		"\xe2\x28\xa1",	    /* a continuation that is not one */
	};
	uint32_t cp;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(next(bad[i], &cp), 0);
	assert_int_equal(next("a", &cp), 1);
	assert_int_equal(cp, 'a');
	assert_int_equal(next("\xc3\xa9", &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(next("\xe2\x82\xac", &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(next("\xf4\x8f\xbf\xbf", &cp), 4);
	assert_int_equal(cp, 0x10ffff);
}

static void test_hidden_characters(void **unused)
{
	static const uint32_t hidden[] = { 0x00,   0x1b,   0x7f,   0x85,   0x9f,   0x061c,
					   0x200b, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029,
					   0x202a, 0x202e, 0x2060, 0x2066, 0x2069, 0xfeff };
	static const uint32_t shown[] = { ' ', 'a', '~', 0xa0, 0xe9, 0x20ac, 0x2030, 0x1f600 };
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		assert_true(cg_char_hidden(hidden[i]));
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		assert_false(cg_char_hidden(shown[i]));
}

static void check_bad(const char *s, size_t len, unsigned int flags, size_t off, const char *why)
{
	char got[96];
	size_t at = 999;

	assert_int_equal(cg_text_check(s, len, flags, &at, got, sizeof(got)), -EILSEQ);
	assert_int_equal(at, off);
	assert_string_equal(got, why);
}

static void test_text_check(void **unused)
{
	size_t off;

	(void)unused;
	assert_int_equal(cg_text_check("caf\xc3\xa9 \xe2\x82\xac", 9, 0, &off, NULL, 0), 0);
	assert_int_equal(cg_text_check("a\tb\r\nc\n", 7, CG_TEXT_LINES, &off, NULL, 0), 0);
	assert_int_equal(cg_text_check("a\tb", 3, CG_TEXT_TAB, &off, NULL, 0), 0);
	check_bad("a\tb", 3, 0, 1, "U+0009 (a control character)");
	check_bad("a\nb", 3, CG_TEXT_TAB, 1, "U+000A (a control character)");
	check_bad("ab\xff", 3, CG_TEXT_LINES, 2, "invalid UTF-8 byte 0xff");
	check_bad("a\0b", 3, CG_TEXT_LINES, 1, "a NUL byte (is the file UTF-16?)");
	check_bad("\xff\xfe" "a\0", 4, CG_TEXT_LINES, 0,
		  "a UTF-16 byte-order mark (save the file as UTF-8)");
	check_bad("\xfe\xff\0a", 4, CG_TEXT_LINES, 0,
		  "a UTF-16 byte-order mark (save the file as UTF-8)");
	check_bad("x: a\xc2\x85" "b", 7, CG_TEXT_LINES, 4, "U+0085 (a C1 control character)");
	check_bad("ok\xe2\x80\xa8", 5, CG_TEXT_LINES, 2, "U+2028 (a Unicode line separator)");
	check_bad("\xe2\x80\xae" "evil", 7, 0, 0, "U+202E (a bidirectional control)");
	check_bad("a\xe2\x80\x8b", 4, 0, 1, "U+200B (a zero-width character)");
	check_bad("\xef\xbb\xbfregion: r1", 13, CG_TEXT_LINES, 0, "U+FEFF (a byte-order mark)");
	check_bad("del\x7f", 4, 0, 3, "U+007F (a control character)");
}

static void test_escape(void **unused)
{
	static const char in[] = "a\x1b[31m'\"\\\n\xff\xc2\x85\xe2\x80\xae\xc3\xa9";
	char out[128];
	size_t n;

	(void)unused;
	n = cg_escape(out, sizeof(out), in, sizeof(in) - 1, 0);
	assert_int_equal(n, sizeof(in) - 1);
	assert_string_equal(out, "a\\x1b[31m'\"\\\\x0a\\xff\\u{0085}\\u{202e}\xc3\xa9");
	cg_escape(out, sizeof(out), in, sizeof(in) - 1, CG_ESC_QUOTES | CG_ESC_LF);
	assert_string_equal(out, "a\\x1b[31m\\x27\\x22\\x5c\n\\xff\\u{0085}\\u{202e}\xc3\xa9");
	/* a full buffer stops before a character, never inside one or inside an escape */
	n = cg_escape(out, 6, "ab\xc3\xa9\x1b", 5, 0);
	assert_string_equal(out, "ab\xc3\xa9");
	assert_int_equal(n, 4);
	n = cg_escape(out, 5, "abc\x1b", 4, 0);
	assert_string_equal(out, "abc");
	assert_int_equal(n, 3);
}

static void test_show_cuts_at_a_character(void **unused)
{
	char in[64], out[CG_SHOW_TEXT_MAX];

	(void)unused;
	/* 47 bytes, then a 2-byte character across the 48-byte cut */
	memset(in, 'x', 47);
	memcpy(in + 47, "\xc3\xa9yz", 5);
	cg_show(in, out, sizeof(out));
	assert_int_equal(strlen(out), 47 + 3);
	assert_string_equal(out + 47, "...");
	assert_string_equal(cg_show("a'b\xe2\x80\x8f", out, sizeof(out)), "a\\x27b\\u{200f}");
}

/* Bytes written one at a time still come out as whole characters, escaped. */
static void test_escape_stream(void **unused)
{
	static const char in[] = "ok \xc3\xa9 \xe2\x80\xae \x1b[2J\n\xe2\x82";
	char buf[256];
	FILE *mem, *esc;
	size_t i, n;

	(void)unused;
	mem = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(mem);
	setvbuf(mem, NULL, _IONBF, 0);
	esc = cg_escape_stream(mem, 0);
	assert_non_null(esc);
	setvbuf(esc, NULL, _IONBF, 0);
	for (i = 0; i < sizeof(in) - 1; i++)
		assert_int_equal(fputc((unsigned char)in[i], esc), (unsigned char)in[i]);
	assert_int_equal(fclose(esc), 0);
	n = (size_t)ftell(mem);
	fclose(mem);
	buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
	/* the sequence cut at the end is not valid: shown byte by byte */
	assert_string_equal(buf, "ok \xc3\xa9 \\u{202e} \\x1b[2J\n\\xe2\\x82");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_decoding_is_strict),
		cmocka_unit_test(test_hidden_characters),
		cmocka_unit_test(test_text_check),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_show_cuts_at_a_character),
		cmocka_unit_test(test_escape_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
