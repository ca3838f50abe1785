// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* text.c - strict UTF-8 for what comes in, escapes for what goes out (cellgate/text.h) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/text.h"

size_t cg_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	*cp = c;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. */
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool cg_char_hidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x200b && cp <= 0x200d) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || cp == 0x2060 || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff;
}

/* What kind of hidden character cp is, for a message. */
static const char *hidden_kind(uint32_t cp)
{
	if (cp < 0x20 || cp == 0x7f)
		return "a control character";
	if (cp <= 0x9f)
		return "a C1 control character";
	if (cp == 0x2028 || cp == 0x2029)
		return "a Unicode line separator";
	if (cp == 0xfeff)
		return "a byte-order mark";
	if ((cp >= 0x200b && cp <= 0x200d) || cp == 0x2060)
		return "a zero-width character";
	return "a bidirectional control";
}

int cg_text_check(const char *buf, size_t len, unsigned int flags, size_t *off, char *why,
		  size_t whylen)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0, n;
	uint32_t cp;

	if (len >= 2 && ((s[0] == 0xff && s[1] == 0xfe) || (s[0] == 0xfe && s[1] == 0xff))) {
		*off = 0;
		if (why && whylen)
			snprintf(why, whylen, "a UTF-16 byte-order mark (save the file as UTF-8)");
		return -EILSEQ;
	}
	while (i < len) {
		n = cg_utf8_next(s + i, len - i, &cp);
		if (!n) {
			*off = i;
			if (why && whylen)
				snprintf(why, whylen, "invalid UTF-8 byte 0x%02x", s[i]);
			return -EILSEQ;
		}
		if (cp == 0) {
			*off = i;
			if (why && whylen)
				snprintf(why, whylen, "a NUL byte (is the file UTF-16?)");
			return -EILSEQ;
		}
		if (cg_char_hidden(cp) &&
		    !((flags & (CG_TEXT_LINES | CG_TEXT_TAB)) && cp == '\t') &&
		    !((flags & CG_TEXT_LINES) && (cp == '\n' || cp == '\r'))) {
			*off = i;
			if (why && whylen)
				snprintf(why, whylen, "U+%04X (%s)", (unsigned int)cp,
					 hidden_kind(cp));
			return -EILSEQ;
		}
		i += n;
	}
	return 0;
}

size_t cg_escape(char *dst, size_t dstlen, const char *src, size_t srclen, unsigned int flags)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, n, need;
	char tmp[24];
	uint32_t cp;

	if (!dstlen)
		return 0;
	while (i < srclen) {
		n = cg_utf8_next(s + i, srclen - i, &cp);
		if (!n) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
			n = 1;
		} else if ((cp == '\n' && (flags & CG_ESC_LF)) ||
			   (cp == '\t' && (flags & CG_ESC_LF))) {
			tmp[0] = (char)cp, tmp[1] = '\0';
		} else if (cp < 0x20 || cp == 0x7f ||
			   ((flags & CG_ESC_QUOTES) && (cp == '\'' || cp == '"' || cp == '\\'))) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", (unsigned int)cp);
		} else if (cg_char_hidden(cp)) {
			snprintf(tmp, sizeof(tmp), "\\u{%04x}", (unsigned int)cp);
		} else {
			memcpy(tmp, s + i, n);
			tmp[n] = '\0';
		}
		need = strlen(tmp);
		if (o + need >= dstlen)
			break;
		memcpy(dst + o, tmp, need);
		o += need;
		i += n;
	}
	dst[o] = '\0';
	return i;
}

#define CG_SHOW_MAX 48 /* input quoted in a message is cut after this many bytes */

const char *cg_show(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s), cut = n > CG_SHOW_MAX ? CG_SHOW_MAX : n, used;

	if (len < 4) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--; /* not inside a UTF-8 sequence */
	used = cg_escape(buf, len - 3, s, cut, CG_ESC_QUOTES);
	if (used < n)
		strcat(buf, "...");
	return buf;
}

/* ---- an escaping FILE (fopencookie) ---- */

struct esc_stream {
	FILE *f;
	unsigned int flags;
	unsigned char held[4]; /* the start of a sequence cut by the last write */
	size_t nheld;
};

/* Bytes at the end of buf[0..len) that may start a sequence not yet complete. */
static size_t cut_tail(const unsigned char *buf, size_t len)
{
	size_t k, need;

	for (k = 1; k <= 3 && k <= len; k++) {
		unsigned char c = buf[len - k];

		if ((c & 0xc0) == 0x80)
			continue; /* a continuation byte: look further back */
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return need > k ? k : 0;
	}
	return 0;
}

static int esc_put(struct esc_stream *e, const unsigned char *buf, size_t len)
{
	char out[1024];
	size_t done = 0, used;

	while (done < len) {
		used = cg_escape(out, sizeof(out), (const char *)buf + done, len - done, e->flags);
		if (!used)
			return -1;
		if (fputs(out, e->f) == EOF)
			return -1;
		done += used;
	}
	return 0;
}

static ssize_t esc_write(void *cookie, const char *buf, size_t size)
{
	struct esc_stream *e = cookie;
	size_t total = e->nheld + size, tail;
	unsigned char *all = malloc(total ? total : 1);
	int ret;

	if (!all)
		return -1;
	/* the bytes held from the last write come first */
	memcpy(all, e->held, e->nheld);
	memcpy(all + e->nheld, buf, size);
	tail = cut_tail(all, total);
	ret = esc_put(e, all, total - tail);
	memcpy(e->held, all + total - tail, tail);
	e->nheld = tail;
	free(all);
	if (ret || fflush(e->f) == EOF)
		return -1;
	return (ssize_t)size;
}

static int esc_close(void *cookie)
{
	struct esc_stream *e = cookie;
	int ret = 0;

	if (e->nheld && esc_put(e, e->held, e->nheld))
		ret = EOF;
	if (fflush(e->f) == EOF)
		ret = EOF;
	free(e);
	return ret;
}

FILE *cg_escape_stream(FILE *f, unsigned int flags)
{
	cookie_io_functions_t io = { .write = esc_write, .close = esc_close };
	struct esc_stream *e = calloc(1, sizeof(*e));
	FILE *out;

	if (!e)
		return NULL;
	e->f = f;
	e->flags = flags | CG_ESC_LF;
	out = fopencookie(e, "w", io);
	if (!out)
		free(e);
	return out;
}

int cg_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
