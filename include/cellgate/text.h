/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/text.h - text a client or a file controls: strict UTF-8, and escaped wherever it is printed */
#ifndef CELLGATE_TEXT_H
#define CELLGATE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * One rule for every byte cellgate takes from outside (a config file, a
 * control message, an argument) and prints (a message, a log line, a table):
 *
 * - Text is UTF-8, strictly: no overlong form, no surrogate, nothing above
 *   U+10FFFF, no sequence cut short.
 * - Some characters change what a terminal or a reader shows without being
 *   seen: C0 controls and DEL, C1 controls (U+0080..U+009F, U+0085 among
 *   them, which YAML reads as a line break), the line and paragraph
 *   separators U+2028/U+2029, bidirectional controls (U+061C, U+200E/F,
 *   U+202A..U+202E, U+2066..U+2069), zero-width characters (U+200B..U+200D,
 *   U+2060) and the byte-order mark U+FEFF. cg_char_hidden() names them.
 * - Input refuses them (cg_text_check) except a config's tab, LF and CR.
 * - Output escapes them (cg_escape): a byte that is not valid UTF-8 or an
 *   ASCII control as \xNN, a hidden character as \u{XXXX}. Nothing printed
 *   can move the cursor, start a line or reorder what follows.
 */

/*
 * cg_utf8_next - decode the UTF-8 sequence at s (n > 0 bytes there). Returns
 * its length (1..4) with the code point in *cp, or 0 if the bytes are not a
 * valid sequence (then *cp is the first byte).
 */
size_t cg_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* cg_char_hidden - true for a code point that must never be stored or shown raw (above). */
bool cg_char_hidden(uint32_t cp);

#define CG_TEXT_LINES 0x1 /* cg_text_check: tab, LF and CR are allowed (a file) */
#define CG_TEXT_TAB   0x2 /* cg_text_check: tab is allowed (one line of text) */

/*
 * cg_text_check - whether buf[0..len) is text cellgate takes: valid UTF-8,
 * no NUL, no hidden character (flags may allow tab, LF, CR). Returns 0, or
 * -EILSEQ with *off the offset of the first bad byte and a short reason in
 * why ("a NUL byte", "invalid UTF-8 byte 0xff", "U+202E (a bidirectional
 * control)", "a UTF-16 byte-order mark (save the file as UTF-8)"). why may be
 * NULL.
 */
int cg_text_check(const char *buf, size_t len, unsigned int flags, size_t *off, char *why,
		  size_t whylen);

#define CG_ESC_QUOTES 0x1 /* cg_escape: also ' " and \ as \xNN (text quoted inside a line) */
#define CG_ESC_LF     0x2 /* cg_escape: let LF through (a sink of whole lines) */

/*
 * cg_escape - src[0..srclen) made safe to print (above), into dst (dstlen
 * bytes, always NUL-terminated when dstlen > 0). Stops at a character
 * boundary when dst is full. Returns the number of source bytes consumed.
 */
size_t cg_escape(char *dst, size_t dstlen, const char *src, size_t srclen, unsigned int flags);

/*
 * cg_escape_stream - a FILE that writes to f what is written to it, escaped
 * by cg_escape(flags | CG_ESC_LF) (a sequence cut between two writes is held
 * until the next). Closing it flushes and leaves f open. cellctl prints
 * through it; NULL with errno on failure.
 */
FILE *cg_escape_stream(FILE *f, unsigned int flags);

#define CG_SHOW_TEXT_MAX (48 * 4 + 8) /* room for cg_show() of any text */

/*
 * cg_show - text a client or a file controls, made safe to quote in a one-line
 * message: cg_escape(CG_ESC_QUOTES) of it (cellgate/text.h: controls, quotes,
 * backslash and invalid UTF-8 as \\xNN, hidden characters as \\u{XXXX}), cut
 * after 48 bytes with "...". Returns buf.
 */
const char *cg_show(const char *s, char *buf, size_t len);

/* cg_hex_digit - the value of hex digit c (either case), or -1. */
int cg_hex_digit(char c);

#endif /* CELLGATE_TEXT_H */
