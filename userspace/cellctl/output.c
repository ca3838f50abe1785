// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* output.c - what cellctl prints: one-line errors, JSON, tables, human-scaled numbers */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cellctl.h"

static void vreport(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cli.json) {
		json_t *o = json_pack("{s:s}", "error", msg);

		fflush(stdout);
		if (o)
			cli_json_out(o);
		json_decref(o);
		return;
	}
	fflush(stdout);
	fprintf(stderr, "cellctl: %s\n", msg);
}

int cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return CLI_FAIL;
}

int cli_usage_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli.what[0])
		cli_err("%s: %s", cli.what, msg);
	else
		cli_err("%s", msg);
	return CLI_USAGE;
}

void cli_note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("cellctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_json_out(const json_t *v)
{
	size_t flags = JSON_ENCODE_ANY | (cli.pretty ? JSON_INDENT(2) : JSON_COMPACT);

	if (json_dumpf(v, stdout, flags) || fputc('\n', stdout) == EOF || fflush(stdout)) {
		fprintf(stderr, "cellctl: cannot write the output: %s\n", strerror(errno));
		return CLI_FAIL;
	}
	return CLI_OK;
}

struct cli_table {
	size_t ncols; /* columns */
	bool *right;  /* right-aligned columns */
	char **cells; /* nrows * ncols strings, row-major */
	size_t nrows; /* rows, the header included */
	size_t cap;   /* rows allocated */
};

struct cli_table *cli_table_new(size_t ncols, const bool *right)
{
	struct cli_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->right = calloc(ncols, sizeof(*t->right));
	if (!t->right) {
		free(t);
		return NULL;
	}
	if (right)
		memcpy(t->right, right, ncols * sizeof(*right));
	return t;
}

void cli_table_row(struct cli_table *t, const char *const *cells)
{
	char **grown;
	size_t i;

	if (!t)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;

		grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));
		if (!grown)
			return;
		t->cells = grown;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

void cli_table_print(struct cli_table *t)
{
	size_t *width, r, c;

	if (!t)
		return;
	width = calloc(t->ncols, sizeof(*width));
	for (r = 0; width && r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t len = s ? strlen(s) : 0;

			if (len > width[c])
				width[c] = len;
		}
	for (r = 0; width && r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			bool last = c + 1 == t->ncols;

			if (!s)
				s = "";
			if (t->right[c])
				printf("%*s", (int)width[c], s);
			else if (last)
				printf("%s", s);
			else
				printf("%-*s", (int)width[c], s);
			if (!last)
				printf("  ");
		}
		putchar('\n');
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(width);
	free(t->cells);
	free(t->right);
	free(t);
}

/* n scaled by step with the prefixes of units: one decimal below 100 ("12.3k"), none above. */
static const char *scaled(double n, double step, const char *const *units, const char *sep,
			  const char *unit, char *buf, size_t len)
{
	size_t i = 0;

	/* step - 0.5: what would print as "1000k" is "1.0M" */
	while (n >= step - 0.5 && units[i + 1]) {
		n /= step;
		i++;
	}
	if (i == 0 && n == (double)(uint64_t)n)
		snprintf(buf, len, "%.0f%s%s%s", n, sep, units[i], unit);
	else if (n < 99.95)
		snprintf(buf, len, "%.1f%s%s%s", n, sep, units[i], unit);
	else
		snprintf(buf, len, "%.0f%s%s%s", n, sep, units[i], unit);
	return buf;
}

const char *cli_count(uint64_t n, char *buf, size_t len)
{
	static const char *const si[] = { "", "k", "M", "G", "T", "P", NULL };

	return scaled((double)n, 1000, si, "", "", buf, len);
}

const char *cli_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const iec[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", NULL };

	return scaled((double)n, 1024, iec, "", "", buf, len);
}

const char *cli_rate(double per_s, const char *unit, char *buf, size_t len)
{
	static const char *const si[] = { "", "k", "M", "G", "T", NULL };

	if (per_s < 0)
		per_s = 0;
	return scaled(per_s, 1000, si, unit[0] == '/' ? "" : " ", unit, buf, len);
}

uint64_t cli_u64(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) :
								 0;
}

const char *cli_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

void cli_print_kv(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("%-14s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void cli_print_counter(const char *label, uint64_t n, bool bytes)
{
	char h[16];

	if (bytes)
		cli_bytes(n, h, sizeof(h));
	else
		cli_count(n, h, sizeof(h));
	if (!bytes && n < 1000)
		cli_print_kv(label, "%llu", (unsigned long long)n);
	else
		cli_print_kv(label, "%llu (%s)", (unsigned long long)n, h);
}

json_t *cli_find(const json_t *arr, const char *name)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
		if (!strcmp(cli_str(e, "name"), name))
			return e;
	return NULL;
}
