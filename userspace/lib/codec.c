/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* codec.c - the desired state's YAML format (docs/config.md): read and check a config, write the canonical form */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>
#include <zlib.h>

#include "cellgate/check.h"
#include "cellgate/codec.h"
#include "cellgate/text.h"
#include "cellgate/field.h"
#include "cellgate/names.h"

/*
 * The file is read in two passes. libyaml's event parser builds a small tree
 * of the document that remembers the line of every node (anchors, aliases
 * and tags are refused: they only obscure a config, and aliases allow
 * exponential "billion laughs" expansion). The tree is then walked against
 * the schema below, stopping at the first error, into a state that is only
 * handed to the caller once everything checked out.
 */

enum cg_ykind {
	CG_Y_SCALAR, /* a string; numbers too */
	CG_Y_SEQ,    /* a list */
	CG_Y_MAP,    /* a mapping */
};

/* One YAML node. */
struct cg_ynode {
	enum cg_ykind kind;    /* scalar, sequence or mapping */
	bool plain;	       /* scalar written without quotes: only these can be numbers */
	unsigned int line;     /* 1-based line the node starts on */
	char *str;	       /* scalar text, NUL-terminated; NULL for collections */
	size_t n;	       /* children; a mapping holds key, value, key, value... */
	size_t cap;	       /* slots allocated in kid */
	struct cg_ynode **kid; /* children, in file order */
};

#define CG_SHOW_BUFS 4 /* quotes one message can hold */

/* Parse context. */
struct cg_parse {
	const char *name;			   /* file name for messages */
	const char *buf;			   /* the text, to locate reader errors */
	char *err;				   /* message buffer; NULL when errlen is 0 */
	size_t errlen;				   /* its size */
	char show[CG_SHOW_BUFS][CG_SHOW_TEXT_MAX]; /* quoted input, escaped */
	unsigned int nshow;			   /* next show buffer to use */
	struct cg_state st;			   /* being built; the caller's only on success */
};

/* What a message says about the object being read. */
struct cg_obj {
	char label[CG_NAME_MAX + 32]; /* "cell 'use1-a'", "cell #3", "source"; "" at the top */
	char pre[CG_NAME_MAX + 40];   /* label + ": ", or "" at the top */
};

static int perr(struct cg_parse *p, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct cg_parse *p, unsigned int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!p->err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->name, line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	return -EINVAL;
}

/* Input text made safe for a one-line message: escaped, cut if long (cg_show()). */
static const char *show(struct cg_parse *p, const char *s)
{
	return cg_show(s, p->show[p->nshow++ % CG_SHOW_BUFS], sizeof(p->show[0]));
}

/* What a node is, for "expected X, found Y". */
static const char *found(struct cg_parse *p, const struct cg_ynode *n)
{
	char *out;

	switch (n->kind) {
	case CG_Y_SEQ:
		return "a list";
	case CG_Y_MAP:
		return "a mapping";
	default:
		break;
	}
	if (n->plain && !n->str[0])
		return "nothing";
	out = p->show[p->nshow++ % CG_SHOW_BUFS];
	/* show() wrote into the next buffer: quote it from ours */
	snprintf(out, sizeof(p->show[0]), "'%s'", show(p, n->str));
	return out;
}

/* ---- YAML to tree ---- */

static void ynode_free(struct cg_ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		ynode_free(n->kid[i]); /* depth is bounded by CG_CONFIG_MAX_DEPTH */
	free(n->kid);
	free(n->str);
	free(n);
}

static int ynode_add(struct cg_ynode *parent, struct cg_ynode *kid)
{
	struct cg_ynode **k;
	size_t cap;

	if (parent->n == parent->cap) {
		cap = parent->cap ? parent->cap * 2 : 8;
		k = realloc(parent->kid, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		parent->kid = k;
		parent->cap = cap;
	}
	parent->kid[parent->n++] = kid;
	return 0;
}

/* Line of a byte offset, for reader errors that carry no mark. */
static unsigned int offset_line(const char *buf, size_t off)
{
	unsigned int line = 1;
	size_t i;

	for (i = 0; i < off; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

static int yaml_syntax_error(struct cg_parse *p, const yaml_parser_t *yp)
{
	unsigned int line = (unsigned int)yp->problem_mark.line + 1;
	const char *problem = yp->problem ? yp->problem : "unknown problem";

	if (yp->error == YAML_MEMORY_ERROR) {
		perr(p, 0, "out of memory");
		return -ENOMEM;
	}
	if (yp->error == YAML_READER_ERROR)
		return perr(p, offset_line(p->buf, yp->problem_offset), "bad text: %s", problem);
	if (yp->context)
		return perr(p, line, "syntax error: %s %s started at line %u%s", problem,
			    yp->context, (unsigned int)yp->context_mark.line + 1,
			    strstr(yp->context, "alias") ? " (for every cell write \"*\", quoted)" :
							   "");
	return perr(p, line, "syntax error: %s", problem);
}

/* A new node for a scalar, sequence-start or mapping-start event. */
static int ynode_from_event(struct cg_parse *p, const yaml_event_t *ev, struct cg_ynode **out)
{
	unsigned int line = (unsigned int)ev->start_mark.line + 1;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	struct cg_ynode *n;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	default:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	}
	if (anchor)
		return perr(p, line, "anchors (&%s) are not supported",
			    show(p, (const char *)anchor));
	if (tag)
		return perr(p, line, "tags (%s) are not supported", show(p, (const char *)tag));

	n = calloc(1, sizeof(*n));
	if (!n)
		goto nomem;
	n->line = line;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->kind = CG_Y_SCALAR;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->str = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (!n->str) {
			free(n);
			goto nomem;
		}
		if (strlen(n->str) != ev->data.scalar.length) {
			ynode_free(n);
			return perr(p, line, "NUL character in a string");
		}
	} else {
		n->kind = ev->type == YAML_SEQUENCE_START_EVENT ? CG_Y_SEQ : CG_Y_MAP;
	}
	*out = n;
	return 0;
nomem:
	perr(p, 0, "out of memory");
	return -ENOMEM;
}

/* Parse buf into a tree; *rootp is NULL for a stream without a document. */
static int yaml_load(struct cg_parse *p, const char *buf, size_t len, struct cg_ynode **rootp)
{
	struct cg_ynode *stack[CG_CONFIG_MAX_DEPTH];
	struct cg_ynode *root = NULL, *n = NULL;
	unsigned int line, ndocs = 0;
	yaml_parser_t yp;
	yaml_event_t ev;
	size_t depth = 0;
	bool done = false;
	int ret = 0;

	if (!yaml_parser_initialize(&yp)) {
		perr(p, 0, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	while (!done && !ret) {
		if (!yaml_parser_parse(&yp, &ev)) {
			ret = yaml_syntax_error(p, &yp);
			break;
		}
		line = (unsigned int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1)
				ret = perr(p, line, "more than one YAML document");
			break;
		case YAML_ALIAS_EVENT:
			ret = perr(p, line, "aliases (*%s) are not supported",
				   show(p, (const char *)ev.data.alias.anchor));
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			ret = ynode_from_event(p, &ev, &n);
			if (ret)
				break;
			if (depth == 0) {
				root = n;
			} else if (ynode_add(stack[depth - 1], n)) {
				ynode_free(n);
				perr(p, 0, "out of memory");
				ret = -ENOMEM;
				break;
			}
			if (n->kind == CG_Y_SCALAR)
				break;
			if (depth == CG_CONFIG_MAX_DEPTH) {
				ret = perr(p, line, "nested more than %d levels deep",
					   CG_CONFIG_MAX_DEPTH);
				break;
			}
			stack[depth++] = n;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	if (ret) {
		ynode_free(root);
		return ret;
	}
	*rootp = root;
	return 0;
}

/* ---- schema helpers ---- */

static void obj_set(struct cg_obj *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void obj_set(struct cg_obj *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->label, sizeof(o->label), fmt, ap);
	va_end(ap);
	snprintf(o->pre, sizeof(o->pre), "%s%s", o->label, o->label[0] ? ": " : "");
}

/* The value of key in mapping m, or NULL. */
static const struct cg_ynode *map_get(const struct cg_ynode *m, const char *key)
{
	size_t i;

	for (i = 0; i + 1 < m->n; i += 2)
		if (m->kid[i]->kind == CG_Y_SCALAR && !strcmp(m->kid[i]->str, key))
			return m->kid[i + 1];
	return NULL;
}

/* Optimal string alignment distance, capped: for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[24][24], v;

	if (la > 22 || lb > 22)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* Check that m is a mapping whose keys are strings in keys (NULL-ended), each once. */
static int map_check(struct cg_parse *p, const struct cg_ynode *m, const struct cg_obj *o,
		     const char *const *keys)
{
	const char *near, *key;
	size_t i, j, best, d;

	if (m->kind != CG_Y_MAP) {
		if (!o->label[0])
			return perr(p, m->line, "expected a mapping of settings, found %s",
				    found(p, m));
		return perr(p, m->line, "%sexpected a mapping, found %s", o->pre, found(p, m));
	}
	for (i = 0; i + 1 < m->n; i += 2) {
		if (m->kid[i]->kind != CG_Y_SCALAR)
			return perr(p, m->kid[i]->line, "%sa key must be a string, found %s",
				    o->pre, found(p, m->kid[i]));
		key = m->kid[i]->str;
		for (j = 0; j < i; j += 2)
			if (!strcmp(m->kid[j]->str, key))
				return perr(p, m->kid[i]->line,
					    "duplicate key '%s'%s%s (first at line %u)",
					    show(p, key), o->label[0] ? " in " : "", o->label,
					    m->kid[j]->line);
		near = NULL;
		best = 3;
		for (j = 0; keys[j]; j++) {
			if (!strcmp(keys[j], key))
				break;
			d = edit_distance(keys[j], key);
			if (d < best && d * 2 <= strlen(keys[j])) {
				best = d;
				near = keys[j];
			}
		}
		if (keys[j])
			continue;
		return perr(p, m->kid[i]->line, "unknown key '%s'%s%s%s%s%s", show(p, key),
			    o->label[0] ? " in " : "", o->label, near ? " (did you mean '" : "",
			    near ? near : "", near ? "'?)" : "");
	}
	return 0;
}

/* The value of a required key, or an error. */
static int map_need(struct cg_parse *p, const struct cg_ynode *m, const struct cg_obj *o,
		    const char *key, const struct cg_ynode **v)
{
	*v = map_get(m, key);
	if (!*v)
		return perr(p, m->line, "%smissing '%s'", o->pre, key);
	return 0;
}

/* A non-empty scalar. */
static int get_str(struct cg_parse *p, const struct cg_obj *o, const char *key,
		   const struct cg_ynode *v, const char **s)
{
	if (v->kind != CG_Y_SCALAR)
		return perr(p, v->line, "%s%s: expected a string, found %s", o->pre, key,
			    found(p, v));
	if (!v->str[0])
		return perr(p, v->line, "%s%s has no value", o->pre, key);
	*s = v->str;
	return 0;
}

static int get_u64(struct cg_parse *p, const struct cg_obj *o, const char *key,
		   const struct cg_ynode *v, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t x = 0, d;
	bool over = false;
	const char *s = NULL;
	size_t i;

	if (v->kind != CG_Y_SCALAR)
		return perr(p, v->line, "%s%s: expected a number, found %s", o->pre, key,
			    found(p, v));
	s = v->str;
	if (!s[0])
		return perr(p, v->line, "%s%s has no value", o->pre, key);
	if (!v->plain)
		return perr(p, v->line, "%s%s: expected a number, found the quoted string '%s'",
			    o->pre, key, show(p, s));
	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return perr(p, v->line, "%s%s '%s' is not a number%s", o->pre, key,
				    show(p, s), s[0] == '-' ? " (negative)" : "");
	if (s[0] == '0' && s[1])
		return perr(p, v->line, "%s%s '%s' is not a number (leading zero)", o->pre, key,
			    show(p, s));
	for (i = 0; s[i] && !over; i++) {
		d = (uint64_t)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			over = true;
		x = x * 10 + d;
	}
	if (over || x < min || x > max)
		return perr(p, v->line, "%s%s %s is out of range (%llu..%llu)", o->pre, key,
			    show(p, s), (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 0;
}

/* key's value: one of names[]; *out is its value. */
static int get_enum(struct cg_parse *p, const struct cg_obj *o, const char *key,
		    const struct cg_ynode *v, const struct cg_enum *names, unsigned int *out)
{
	char expect[128] = "";
	const char *s = NULL;
	int ret;

	ret = get_str(p, o, key, v, &s);
	if (ret)
		return ret;
	if (!cg_enum_value(names, s, out))
		return 0;
	cg_enum_list(names, expect, sizeof(expect));
	return perr(p, v->line, "%sunknown %s '%s' (expected %s)", o->pre, key, show(p, s), expect);
}

static int get_name(struct cg_parse *p, const struct cg_obj *o, const char *key,
		    const struct cg_ynode *v, char out[CG_NAME_MAX])
{
	const char *s = NULL;
	int ret;

	ret = get_str(p, o, key, v, &s);
	if (ret)
		return ret;
	if (!cg_name_valid(s))
		return perr(p, v->line,
			    "%s%s '%s' is not a valid name (1 to %d of A-Z a-z 0-9 . _ -, "
			    "the first a letter or digit)",
			    o->pre, key, show(p, s), CG_NAME_MAX - 1);
	strcpy(out, s);
	return 0;
}

/* An address by cg_addr_parse(), the one address parser; family 0 takes either. */
static int get_addr(struct cg_parse *p, const struct cg_obj *o, const char *key,
		    const struct cg_ynode *v, int family, struct cg_addr *out)
{
	struct cg_addr a = { 0 };
	const char *s = NULL;
	char msg[384];
	int ret;

	ret = get_str(p, o, key, v, &s);
	if (ret)
		return ret;
	if (cg_addr_parse(s, family, key, &a, msg, sizeof(msg)))
		return perr(p, v->line, "%s%s", o->pre, msg);
	if (!cg_addr_unicast(&a))
		return perr(p, v->line, "%s%s %s is not a unicast address", o->pre, key,
			    show(p, s));
	*out = a;
	return 0;
}

/* The items of a list under key, with count limits. */
static int get_list(struct cg_parse *p, const struct cg_obj *o, const char *key,
		    const struct cg_ynode *v, size_t min, size_t max)
{
	if (v->kind != CG_Y_SEQ)
		return perr(p, v->line, "%s%s: expected a list, found %s%s", o->pre, key,
			    found(p, v),
			    v->kind == CG_Y_SCALAR && v->plain && !v->str[0] ?
				    " (write [] for an empty list)" :
				    "");
	if (v->n < min)
		return perr(p, v->line, "%s%s: needs at least %zu item%s", o->pre, key, min,
			    min == 1 ? "" : "s");
	if (v->n > max)
		return perr(p, v->line, "%stoo many %s (%zu, at most %zu)", o->pre, key, v->n, max);
	return 0;
}

/* ---- values by their field type ---- */

/* Label an item of a list: by its name if it has a good one, else by position. */
static void item_label(struct cg_obj *o, const char *kind, const struct cg_ynode *m, size_t idx,
		       bool named)
{
	const struct cg_ynode *v = named && m->kind == CG_Y_MAP ? map_get(m, "name") : NULL;

	if (v && v->kind == CG_Y_SCALAR && cg_name_valid(v->str))
		obj_set(o, "%s '%s'", kind, v->str);
	else
		obj_set(o, "%s #%zu", kind, idx + 1);
}

/* true or false. */
static int get_bool(struct cg_parse *p, const struct cg_obj *o, const char *key,
		    const struct cg_ynode *v, bool *out)
{
	if (v->kind == CG_Y_SCALAR && v->plain && !strcmp(v->str, "true")) {
		*out = true;
		return 0;
	}
	if (v->kind == CG_Y_SCALAR && v->plain && !strcmp(v->str, "false")) {
		*out = false;
		return 0;
	}
	return perr(p, v->line, "%s%s: expected true or false, found %s", o->pre, key, found(p, v));
}

/* Free text of at most size - 1 bytes, maybe empty, on one line. */
static int get_text(struct cg_parse *p, const struct cg_obj *o, const char *key,
		    const struct cg_ynode *v, char *out, size_t size)
{
	char why[64];
	size_t i, n;

	if (v->kind != CG_Y_SCALAR)
		return perr(p, v->line, "%s%s: expected a string, found %s", o->pre, key,
			    found(p, v));
	n = strlen(v->str);
	if (n >= size)
		return perr(p, v->line, "%s%s is too long (%zu bytes, at most %zu)", o->pre, key, n,
			    size - 1);
	if (cg_text_check(v->str, n, 0, &i, why, sizeof(why)))
		return perr(p, v->line, "%s%s '%s': %s at byte %zu is not allowed", o->pre, key,
			    show(p, v->str), why, i);
	memcpy(out, v->str, n + 1);
	return 0;
}

/*
 * A class given by name or id (an unquoted number). Messages drop the key
 * when it is "class": "rule #1: unknown class 'gold'".
 */
static int get_class_ref(struct cg_parse *p, const struct cg_obj *o, const char *key,
			 const struct cg_ynode *v, uint8_t *out)
{
	const struct cg_class_cfg *c;
	const char *s = NULL;
	char pre[sizeof(o->pre) + 32];
	uint64_t id = 0;
	int ret;

	snprintf(pre, sizeof(pre), "%s%s%s", o->pre, strcmp(key, "class") ? key : "",
		 strcmp(key, "class") ? ": " : "");
	if (v->kind == CG_Y_SCALAR && v->plain && cg_all_digits(v->str)) {
		ret = get_u64(p, o, key, v, 0, CG_MAX_CLASSES - 1, &id);
		if (ret)
			return ret;
		c = cg_state_class_by_id(&p->st, (uint32_t)id);
		if (!c)
			return perr(p, v->line, "%sunknown class id %u", pre, (unsigned int)id);
	} else {
		ret = get_str(p, o, key, v, &s);
		if (ret)
			return ret;
		c = cg_state_find_class(&p->st, s);
		if (!c)
			return perr(p, v->line, "%sunknown class '%s'", pre, show(p, s));
	}
	*out = (uint8_t)c->id;
	return 0;
}

/* A unix time: an unquoted decimal, not negative. */
static int get_time(struct cg_parse *p, const struct cg_obj *o, const char *key,
		    const struct cg_ynode *v, int64_t *out)
{
	uint64_t x = 0;
	int ret;

	if (v->kind == CG_Y_SCALAR && v->plain && v->str[0] == '-' && cg_all_digits(v->str + 1))
		return perr(p, v->line,
			    "%s%s %s is negative (a unix time in seconds; 0 = permanent)", o->pre,
			    key, show(p, v->str));
	ret = get_u64(p, o, key, v, 0, INT64_MAX, &x);
	if (!ret)
		*out = (int64_t)x;
	return ret;
}

/* A shed level: an unquoted decimal 0..1, at most CG_LEVEL_DECIMALS decimals. */
static int get_level(struct cg_parse *p, const struct cg_obj *o, const char *key,
		     const struct cg_ynode *v, uint32_t *ppm)
{
	if (v->kind != CG_Y_SCALAR)
		return perr(p, v->line, "%s%s: expected a number, found %s", o->pre, key,
			    found(p, v));
	if (!v->str[0])
		return perr(p, v->line, "%s%s has no value", o->pre, key);
	if (!v->plain)
		return perr(p, v->line, "%s%s: expected a number, found the quoted string '%s'",
			    o->pre, key, show(p, v->str));
	switch (cg_level_parse(v->str, ppm)) {
	case 0:
		return 0;
	case -ERANGE:
		return perr(p, v->line, "%s%s %s is out of range (0..1)", o->pre, key,
			    show(p, v->str));
	case -EDOM:
		return perr(p, v->line, "%s%s %s has more than %d decimals", o->pre, key,
			    show(p, v->str), CG_LEVEL_DECIMALS);
	default:
		return perr(p, v->line, "%s%s '%s' is not a number from 0 to 1 (e.g. 0.25)", o->pre,
			    key, show(p, v->str));
	}
}

/* A CG_F_LEVELS list: min..max levels into the struct's array, the count at f->aux. */
static int get_levels(struct cg_parse *p, const struct cg_obj *o, const char *key,
		      const struct cg_ynode *list, const struct cg_field *f, void *obj)
{
	uint32_t *v = (uint32_t *)(void *)((char *)obj + f->offset);
	size_t i, n = 0;
	int ret;

	ret = get_list(p, o, key, list, f->min, f->max);
	for (i = 0; !ret && i < list->n; i++) {
		ret = get_level(p, o, key, list->kid[i], &v[i]);
		n = i + 1;
	}
	if (!ret)
		memcpy((char *)obj + f->aux, &n, sizeof(n));
	return ret;
}

/* ADDRESS/LENGTH, host bits zero: cg_prefix_parse(), the one prefix parser. */
static int get_prefix(struct cg_parse *p, const struct cg_obj *o, const char *key,
		      const struct cg_ynode *v, struct cg_addr *out, uint8_t *lenp)
{
	const char *s = NULL;
	char msg[512];
	int ret;

	ret = get_str(p, o, key, v, &s);
	if (ret)
		return ret;
	if (cg_prefix_parse(s, out, lenp, msg, sizeof(msg)))
		return perr(p, v->line, "%s%s", o->pre, msg);
	return 0;
}

/*
 * A CG_F_NAMES list: min..max items, each a name by cg_name_valid() (a list
 * of cell names: f->ref) or an interface name, into the struct's array
 * (CG_FF_INLINE) or a new one; the count at f->aux.
 */
static int get_names(struct cg_parse *p, const struct cg_obj *o, const char *key,
		     const struct cg_ynode *list, const struct cg_field *f, void *obj)
{
	size_t i, width = f->flags & CG_FF_INLINE ? f->size / f->max : CG_NAME_MAX;
	char *names = (char *)obj + f->offset, *name;
	const char *s = NULL;
	int ret;

	ret = get_list(p, o, key, list, f->min, f->max);
	if (ret || !list->n) /* an empty list of cells: cg_state_check() */
		return ret;
	if (!(f->flags & CG_FF_INLINE)) {
		names = calloc(list->n, width);
		if (!names) {
			perr(p, 0, "out of memory");
			return -ENOMEM;
		}
		memcpy((char *)obj + f->offset, &names, sizeof(names));
	}
	for (i = 0; i < list->n; i++) {
		name = names + i * width;
		if (f->ref) {
			ret = get_name(p, o, key, list->kid[i], name);
		} else {
			ret = get_str(p, o, key, list->kid[i], &s);
			if (!ret && !cg_ifname_valid(s))
				ret = perr(p, list->kid[i]->line,
					   "%s%s: '%s' is not a valid interface name", o->pre, key,
					   show(p, s));
			if (!ret)
				strcpy(name, s);
		}
		if (ret)
			return ret;
		memcpy((char *)obj + f->aux, &(size_t){ i + 1 }, sizeof(size_t));
	}
	return 0;
}

/* Field f of obj from node v, by its type and bounds; key names it in messages. */
static int get_value(struct cg_parse *p, const struct cg_obj *o, const char *key,
		     const struct cg_ynode *v, const struct cg_field *f, void *obj)
{
	char *mem = (char *)obj + f->offset;
	const char *s = NULL;
	uint64_t x = 0;
	uint32_t ppm = 0;
	uint8_t cls = 0;
	int64_t t = 0;
	unsigned int e = 0;
	int ret;

	switch (f->type) {
	case CG_F_REF:
		if (f->flags & CG_FF_KEY && !strcmp(f->ref, "cell")) { /* a shed entry's: or * */
			ret = get_str(p, o, key, v, &s);
			if (!ret && strcmp(s, CG_SHED_ANY_CELL) && !cg_name_valid(s))
				ret = perr(p, v->line, "%sunknown cell '%s'", o->pre, show(p, s));
			if (!ret)
				strcpy(mem, s);
			return ret;
		}
		return get_name(p, o, key, v, mem);
	case CG_F_NAME:
		return get_name(p, o, key, v, mem);
	case CG_F_BOOL:
		return get_bool(p, o, key, v, (bool *)(void *)mem);
	case CG_F_ENUM:
		ret = get_enum(p, o, key, v, f->words, &e);
		x = e;
		break;
	case CG_F_ADDR:
		return get_addr(p, o, key, v, (int)f->min, (struct cg_addr *)(void *)mem);
	case CG_F_PREFIX:
		return get_prefix(p, o, key, v, (struct cg_addr *)(void *)mem,
				  (uint8_t *)obj + f->aux);
	case CG_F_LEVEL:
		ret = get_level(p, o, key, v, &ppm);
		x = ppm;
		break;
	case CG_F_TEXT:
		return get_text(p, o, key, v, mem, f->size);
	case CG_F_CLASS:
		ret = get_class_ref(p, o, key, v, &cls);
		x = cls;
		break;
	case CG_F_TIME:
		ret = get_time(p, o, key, v, &t);
		x = (uint64_t)t;
		break;
	case CG_F_NAMES:
		return get_names(p, o, key, v, f, obj);
	case CG_F_LEVELS:
		return get_levels(p, o, key, v, f, obj);
	default: /* CG_F_ID, CG_F_U8, CG_F_U16, CG_F_U32 */
		ret = get_u64(p, o, key, v, f->type == CG_F_ID ? 0 : f->min, f->max, &x);
		break;
	}
	if (!ret)
		cg_field_set(f, obj, x);
	return ret;
}

/* Same submapping: "source.ipv4" and "source.ipv6" (its fields are consecutive in the table). */
static bool same_head(const char *a, const char *b)
{
	const char *dot = strchr(a, '.');

	return dot && !strncmp(a, b, (size_t)(dot - a) + 1);
}

/*
 * map_check() with the keys of object ob: its fields' names, a submapping's
 * once by its head ("source"); with head, the keys of that submapping
 * ("ipv4", "ipv6"). first and more (NULL-ended) are keys before and after.
 */
static int map_check_obj(struct cg_parse *p, const struct cg_ynode *m, const struct cg_obj *o,
			 const struct cg_object *ob, const char *head, const char *first,
			 const char *const *more)
{
	char heads[4][CG_NAME_MAX];
	const char *keys[48], *dot;
	size_t n = 0, h = 0, i, hl = head ? strlen(head) : 0;
	const struct cg_field *f;

	if (first)
		keys[n++] = first;
	for (f = ob->fields; f->name && n < 32; f++) {
		dot = strchr(f->name, '.');
		if (head) {
			if (dot && (size_t)(dot - f->name) == hl && !strncmp(f->name, head, hl))
				keys[n++] = dot + 1;
		} else if (!dot) {
			keys[n++] = f->name;
		} else if ((f == ob->fields || !same_head(f[-1].name, f->name)) && h < 4) {
			snprintf(heads[h], sizeof(heads[h]), "%.*s", (int)(dot - f->name), f->name);
			keys[n++] = heads[h++];
		}
	}
	for (i = 0; more && more[i] && n + 1 < sizeof(keys) / sizeof(keys[0]); i++)
		keys[n++] = more[i];
	keys[n] = NULL;
	return map_check(p, m, o, keys);
}

enum cg_pass {
	CG_PASS_ALL,	 /* every field */
	CG_PASS_SCALARS, /* all but lists, whose presence only is checked */
	CG_PASS_LISTS,	 /* the lists */
};

/*
 * Field f of object ob from mapping m, by its type and bounds. A missing
 * field is an error if it is required, else it keeps its default. "a.b" is
 * key b of the submapping a, whose keys are checked with its first field.
 */
static int get_field(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
		     const struct cg_object *ob, const struct cg_field *f, void *obj,
		     enum cg_pass pass)
{
	const char *key = f->name, *dot = strchr(f->name, '.');
	const struct cg_ynode *v;
	char head[CG_NAME_MAX];
	struct cg_obj so;
	int ret;

	if (pass == CG_PASS_LISTS && f->type != CG_F_NAMES)
		return 0;
	if (dot) {
		snprintf(head, sizeof(head), "%.*s", (int)(dot - f->name), f->name);
		m = map_get(m, head);
		if (!m)
			return 0; /* a submapping's fields are optional */
		obj_set(&so, "%s%s%s", o->label, o->label[0] ? ": " : "", head);
		o = &so;
		key = dot + 1;
		if (f == ob->fields || !same_head(f[-1].name, f->name)) {
			ret = map_check_obj(p, m, o, ob, head, NULL, NULL);
			if (ret)
				return ret;
		}
	}
	if (f->flags & CG_FF_REQUIRED) {
		ret = map_need(p, m, o, key, &v);
		if (ret)
			return ret;
	} else if (!(v = map_get(m, key))) {
		return 0;
	}
	if (pass == CG_PASS_SCALARS && f->type == CG_F_NAMES)
		return 0;
	return get_value(p, o, key, v, f, obj);
}

/* Every field of ob of the pass, in table order. */
static int get_fields(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
		      const struct cg_object *ob, void *obj, enum cg_pass pass)
{
	const struct cg_field *f;
	int ret;

	for (f = ob->fields; f->name; f++) {
		ret = get_field(p, o, m, ob, f, obj, pass);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- the sections of the root ---- */

/* Default depth of a class's buckets: a tenth of a second of its (smaller) ceiling, >= 1. */
static int class_after(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
		       void *obj)
{
	struct cg_class_cfg *c = obj;
	uint32_t r = c->new_flows_per_sec;

	(void)p;
	(void)o;
	if (!r || (c->packets_per_sec && c->packets_per_sec < r))
		r = c->packets_per_sec;
	if (!map_get(m, "burst"))
		c->burst = r / 10 ? r / 10 : 1;
	return 0;
}

/* A class rule matches a prefix or a DSCP value, one of them: its kind. */
static int rule_before(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
		       void *obj)
{
	struct cg_class_rule_cfg *r = obj;
	bool prefix = map_get(m, "prefix"), dscp = map_get(m, "dscp");

	if (prefix && dscp)
		return perr(p, m->line, "%sgive either 'prefix' or 'dscp', not both", o->pre);
	if (!prefix && !dscp)
		return perr(p, m->line, "%smissing 'prefix' or 'dscp'", o->pre);
	r->kind = prefix ? CG_RULE_PREFIX : CG_RULE_DSCP;
	return 0;
}

/* The guard's burst defaults to twice its rate. */
static int guard_after(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
		       void *obj)
{
	struct cg_guard_cfg *g = obj;
	uint64_t burst = 2 * (uint64_t)g->new_flows_per_sec;

	(void)p;
	(void)o;
	if (!map_get(m, "burst"))
		g->burst = burst > UINT32_MAX ? UINT32_MAX : (uint32_t)burst;
	return 0;
}

/* A service's default_class defaults to class 0, which must exist; then its cells. */
static int service_after(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
			 void *obj)
{
	if (!map_get(m, "default_class") && !cg_state_class_by_id(&p->st, 0))
		return perr(p, m->line,
			    "%sno default_class given, and there is no class 0 to default to",
			    o->pre);
	return get_fields(p, o, m, &cg_service_obj, obj, CG_PASS_LISTS);
}

typedef int cg_item_fn(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
		       void *obj);

#define CG_SEC_ONE	0x1  /* one object in the struct (the guard), not a list */
#define CG_SEC_INLINE	0x2  /* the array is in struct cg_state (classes), not a pointer */
#define CG_SEC_NAMED	0x4  /* items are labelled by name in messages, else by position */
#define CG_SEC_FLOW	0x8  /* written {k: v, ...} on one line */
#define CG_SEC_NEEDED	0x10 /* the key must be given */
#define CG_SEC_LISTLAST 0x20 /* lists are read by after(), once the rest checked out */
#define CG_SEC_WRAP	0x40 /* long flow lists are wrapped (CG_WRAP_WIDTH) */

/* A section of the root after the settings: a list of objects (or one), in file order. */
struct cg_section {
	const char *key;	   /* "cells" */
	const char *label;	   /* an item in messages: "cell" */
	const struct cg_object *o; /* the items' field table */
	size_t min, max;	   /* items */
	size_t arr, count;  /* offsets in struct cg_state of the array (or pointer) and count */
	size_t line;	    /* offset of the item's line member */
	unsigned int flags; /* CG_SEC_* */
	cg_item_fn *before, *after;		  /* per item, around its fields */
	int (*cmp)(const void *a, const void *b); /* written order; NULL: by name */
	bool (*unused)(const void *obj);	  /* CG_SEC_ONE: not written when true */
};

/* The locality section is written only when it differs from the defaults. */
static bool loc_unused(const void *obj)
{
	struct cg_loc_settings d;

	cg_loc_settings_defaults(&d);
	return cg_object_equal(&cg_loc_obj, obj, &d);
}

/* The saga is written only while a transition is in flight. */
static bool saga_unused(const void *obj)
{
	return !((const struct cg_saga_cfg *)obj)->region[0];
}

/* The backpressure section is written only when it differs from the defaults. */
static bool bp_unused(const void *obj)
{
	struct cg_bp_settings d;

	cg_bp_settings_defaults(&d);
	return cg_object_equal(&cg_bp_obj, obj, &d);
}

/* The metrics section is written only when it differs from the defaults. */
static bool metrics_unused(const void *obj)
{
	struct cg_metrics_settings d;

	cg_metrics_settings_defaults(&d);
	return cg_object_equal(&cg_metrics_obj, obj, &d);
}

#define ST(m) offsetof(struct cg_state, m)

/* classes first: rules, services and shed entries refer to them */
static const struct cg_section sections[] = {
	{ "classes", "class", &cg_class_obj, 1, CG_MAX_CLASSES, ST(classes), ST(nclasses),
	  offsetof(struct cg_class_cfg, line), CG_SEC_INLINE | CG_SEC_NAMED, NULL, class_after,
	  cg_class_cmp_v, NULL },
	{ "class_rules", "class_rule", &cg_class_rule_obj, 0,
	  2 * CG_MAX_CLASS_RULES + CG_MAX_DSCP + 1, ST(rules), ST(nrules),
	  offsetof(struct cg_class_rule_cfg, line), CG_SEC_FLOW, rule_before, NULL, cg_rule_cmp_v,
	  NULL },
	{ "guard", "guard", &cg_guard_obj, 1, 1, ST(guard), 0, 0, CG_SEC_ONE, NULL, guard_after,
	  NULL, NULL },
	{ "locality", "locality", &cg_loc_obj, 1, 1, ST(locality), 0, 0, CG_SEC_ONE, NULL, NULL,
	  NULL, loc_unused },
	{ "health", "health", &cg_health_obj, 1, 1, ST(health), 0, 0, CG_SEC_ONE, NULL, NULL, NULL,
	  NULL },
	{ "failover", "failover", &cg_failover_obj, 1, 1, ST(failover), 0, 0, CG_SEC_ONE, NULL,
	  NULL, NULL, NULL },
	{ "backpressure", "backpressure", &cg_bp_obj, 1, 1, ST(bp), 0, 0, CG_SEC_ONE, NULL, NULL,
	  NULL, bp_unused },
	{ "metrics", "metrics", &cg_metrics_obj, 1, 1, ST(metrics), 0, 0, CG_SEC_ONE, NULL, NULL,
	  NULL, metrics_unused },
	{ "regions", "region", &cg_region_obj, 1, CG_MAX_REGIONS, ST(regions), ST(nregions),
	  offsetof(struct cg_region_cfg, line), CG_SEC_NAMED | CG_SEC_FLOW | CG_SEC_NEEDED, NULL,
	  NULL, NULL, NULL },
	{ "cells", "cell", &cg_cell_obj, 0, CG_MAX_CELLS, ST(cells), ST(ncells),
	  offsetof(struct cg_cell_cfg, line), CG_SEC_NAMED, NULL, NULL, NULL, NULL },
	{ "services", "service", &cg_service_obj, 0, CG_MAX_SERVICES, ST(services), ST(nservices),
	  offsetof(struct cg_service_cfg, line), CG_SEC_NAMED | CG_SEC_LISTLAST | CG_SEC_WRAP, NULL,
	  service_after, NULL, NULL },
	{ "shed", "shed", &cg_shed_obj, 0, CG_MAX_SHED, ST(shed), ST(nshed),
	  offsetof(struct cg_shed_cfg, line), 0, NULL, NULL, cg_shed_cmp_v, NULL },
	/* operational records, set by cellctl region (cg_evac_carry() on a config apply) */
	{ "evacuations", "evacuation", &cg_evac_obj, 0, CG_MAX_REGIONS, ST(evacs), ST(nevacs),
	  offsetof(struct cg_evac, line), 0, NULL, NULL, NULL, NULL },
	{ "saga", "saga", &cg_saga_obj, 1, 1, ST(saga), 0, 0, CG_SEC_ONE, NULL, NULL, NULL,
	  saga_unused },
};

#define CG_NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* One object of section s from mapping m (item idx of the list). */
static int parse_item(struct cg_parse *p, const struct cg_section *s, const struct cg_ynode *m,
		      size_t idx, void *obj)
{
	struct cg_obj o;
	unsigned int line = m->line;
	int ret;

	if (s->flags & CG_SEC_ONE) { /* the guard: cg_state_init()'s defaults */
		obj_set(&o, "%s", s->label);
	} else {
		cg_object_defaults(s->o, obj);
		memcpy((char *)obj + s->line, &line, sizeof(line));
		item_label(&o, s->label, m, idx, s->flags & CG_SEC_NAMED);
	}
	ret = map_check_obj(p, m, &o, s->o, NULL, NULL, NULL);
	if (!ret && s->before)
		ret = s->before(p, &o, m, obj);
	if (!ret)
		ret = get_fields(p, &o, m, s->o, obj,
				 s->flags & CG_SEC_LISTLAST ? CG_PASS_SCALARS : CG_PASS_ALL);
	if (!ret && s->after)
		ret = s->after(p, &o, m, obj);
	return ret;
}

/* Section s from node v: a list replaces what cg_state_init() put there. */
static int parse_section(struct cg_parse *p, const struct cg_section *s, const struct cg_ynode *v)
{
	struct cg_obj top = { "", "" };
	char *base = (char *)&p->st + s->arr;
	size_t i, n = 0;
	int ret;

	if (s->flags & CG_SEC_ONE)
		return parse_item(p, s, v, 0, base);
	ret = get_list(p, &top, s->key, v, s->min, s->max);
	if (ret)
		return ret;
	if (s->flags & CG_SEC_INLINE) {
		memset(base, 0, s->max * s->o->size);
	} else if (v->n) {
		base = calloc(v->n, s->o->size);
		if (!base) {
			perr(p, 0, "out of memory");
			return -ENOMEM;
		}
		memcpy((char *)&p->st + s->arr, &base, sizeof(base));
	}
	memcpy((char *)&p->st + s->count, &n, sizeof(n));
	for (i = 0; i < v->n; i++) {
		n = i + 1; /* counted before it is read: cg_state_free() frees its lists */
		memcpy((char *)&p->st + s->count, &n, sizeof(n));
		ret = parse_item(p, s, v->kid[i], i, base + i * s->o->size);
		if (ret)
			return ret;
	}
	return 0;
}

/* The ids' high-water marks: bookkeeping of the state file, next to its generation. */
static const struct {
	const char *key; /* top-level key */
	size_t off;	 /* offsetof(struct cg_state, ...), a uint32_t */
	uint32_t max;	 /* ids are below this */
} id_marks[] = {
	{ "next_region_id", offsetof(struct cg_state, next_region_id), CG_MAX_REGIONS },
	{ "next_cell_id", offsetof(struct cg_state, next_cell_id), CG_MAX_CELLS },
	{ "next_service_id", offsetof(struct cg_state, next_service_id), CG_MAX_SERVICES },
};

static int parse_root(struct cg_parse *p, const struct cg_ynode *root)
{
	/* the keys besides the settings: every section's and the id marks (one list each) */
	const char *more[CG_NSECTIONS + sizeof(id_marks) / sizeof(id_marks[0]) + 1];
	struct cg_obj top = { "", "" };
	const struct cg_ynode *v;
	size_t i, n = 0;
	uint64_t mark;
	int ret;

	for (i = 0; i < CG_NSECTIONS; i++)
		more[n++] = sections[i].key;
	for (i = 0; i < sizeof(id_marks) / sizeof(id_marks[0]); i++)
		more[n++] = id_marks[i].key;
	more[n] = NULL;

	ret = map_check_obj(p, root, &top, &cg_settings_obj, NULL, "generation", more);
	if (!ret && (v = map_get(root, "generation")))
		ret = get_u64(p, &top, "generation", v, 0, UINT64_MAX, &p->st.generation);
	for (i = 0; i < sizeof(id_marks) / sizeof(id_marks[0]) && !ret; i++) {
		v = map_get(root, id_marks[i].key);
		if (!v)
			continue;
		ret = get_u64(p, &top, id_marks[i].key, v, 0, id_marks[i].max, &mark);
		if (!ret)
			*(uint32_t *)((char *)&p->st + id_marks[i].off) = (uint32_t)mark;
	}
	if (!ret)
		ret = get_fields(p, &top, root, &cg_settings_obj, &p->st, CG_PASS_ALL);
	for (i = 0; i < CG_NSECTIONS && !ret; i++) {
		v = map_get(root, sections[i].key);
		if (!v && sections[i].flags & CG_SEC_NEEDED)
			ret = map_need(p, root, &top, sections[i].key, &v);
		else if (v)
			ret = parse_section(p, &sections[i], v);
	}
	return ret;
}

/* The list of objects of kind in the parsed text, or the root mapping for "settings". */
static const struct cg_ynode *kind_node(const struct cg_ynode *root, const char *kind)
{
	static const char *const lists[][2] = {
		{ "region", "regions" },	 { "cell", "cells" },
		{ "service", "services" },	 { "class", "classes" },
		{ "class_rule", "class_rules" }, { "shed", "shed" },
		{ "evacuation", "evacuations" },
	};
	size_t i;

	if (!strcmp(kind, "locality"))
		return map_get(root, kind);
	if (!strcmp(kind, "settings"))
		return root;
	if (!strcmp(kind, "guard") || !strcmp(kind, "health") || !strcmp(kind, "failover") ||
	    !strcmp(kind, "backpressure") || !strcmp(kind, "metrics") || !strcmp(kind, "saga"))
		return map_get(root, kind);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (!strcmp(kind, lists[i][0]))
			return map_get(root, lists[i][1]);
	return NULL;
}

/* cg_where.line for the text being parsed: objects are in the arrays in the order of the text. */
static unsigned int where_line(void *arg, const char *kind, size_t idx, const char *key, long item)
{
	const struct cg_ynode *m = kind_node(arg, kind), *v;
	const char *dot;
	char head[32];

	if (m && m->kind == CG_Y_SEQ)
		m = idx < m->n ? m->kid[idx] : NULL;
	if (!m)
		return 0;
	if (!key || m->kind != CG_Y_MAP)
		return m->line;
	dot = strchr(key, '.');
	if (dot && (size_t)(dot - key) < sizeof(head)) {
		snprintf(head, sizeof(head), "%.*s", (int)(dot - key), key);
		v = map_get(m, head);
		if (!v || v->kind != CG_Y_MAP)
			return v ? v->line : m->line;
		m = v;
		key = dot + 1;
	}
	v = map_get(m, key);
	if (!v)
		return m->line;
	if (item >= 0 && v->kind == CG_Y_SEQ && (size_t)item < v->n)
		return v->kid[item]->line;
	return v->line;
}

/*
 * A config is UTF-8 text without hidden characters (cellgate/text.h), checked
 * before libyaml reads it: libyaml would take a UTF-16 file, and it reads
 * U+0085 and U+2028 as line breaks, so such text would mean one thing here
 * and another to the next reader.
 */
int cg_config_text_check(const char *name, const char *buf, size_t len, char *err, size_t errlen)
{
	unsigned int line = 1, col = 1;
	char why[96];
	size_t off, i;

	if (!cg_text_check(buf, len, CG_TEXT_LINES, &off, why, sizeof(why)))
		return 0;
	for (i = 0; i < off; i++) {
		if (buf[i] == '\n')
			line++, col = 1;
		else if (((unsigned char)buf[i] & 0xc0) != 0x80)
			col++;
	}
	if (errlen)
		snprintf(err, errlen, "%s:%u: column %u: %s is not allowed in a config", name, line,
			 col, why);
	return -EINVAL;
}

int cg_config_parse_buf(const char *name, const char *buf, size_t len, struct cg_state *st,
			char *err, size_t errlen)
{
	struct cg_ynode *root = NULL;
	struct cg_parse *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p) {
		if (errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	p->name = name;
	p->buf = buf;
	p->err = errlen ? err : NULL;
	p->errlen = errlen;
	cg_state_init(&p->st);

	if (len > CG_CONFIG_MAX_SIZE) {
		perr(p, 0, "file is too large (%zu bytes, at most %u)", len, CG_CONFIG_MAX_SIZE);
		ret = -EFBIG;
		goto out;
	}
	ret = cg_config_text_check(name, buf, len, p->err, p->errlen);
	if (ret)
		goto out;
	ret = yaml_load(p, buf, len, &root);
	if (ret)
		goto out;
	if (!root || (root->kind == CG_Y_SCALAR && root->plain && !root->str[0])) {
		ret = perr(p, root ? root->line : 1, "file is empty");
		goto out;
	}
	ret = parse_root(p, root);
	if (!ret) {
		struct cg_where where = { name, where_line, root };

		ret = cg_state_check(&p->st, &where, p->err, p->errlen);
	}
	if (!ret)
		cg_state_sort(&p->st);
out:
	ynode_free(root);
	if (ret) {
		cg_state_free(&p->st);
	} else {
		*st = p->st;
	}
	free(p);
	return ret;
}

int cg_config_read_file(const char *path, char **bufp, size_t *lenp, char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	struct stat sb = { 0 };
	ssize_t n;
	int fd = -1, ret = 0;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (errlen)
			snprintf(err, errlen, "cannot open '%s': %s", path, strerror(-ret));
		goto out;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ret = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
		if (errlen && ret == -EISDIR)
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(EISDIR));
		else if (errlen)
			snprintf(err, errlen,
				 "'%s' is not a regular file (a FIFO, socket or device)", path);
		goto out;
	}
	if (sb.st_size > CG_CONFIG_MAX_SIZE) {
		ret = -EFBIG;
		if (errlen)
			snprintf(err, errlen, "%s: file is too large (%lld bytes, at most %u)",
				 path, (long long)sb.st_size, CG_CONFIG_MAX_SIZE);
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap > CG_CONFIG_MAX_SIZE) {
				ret = -EFBIG;
				if (errlen)
					snprintf(err, errlen,
						 "%s: file is too large (more than %u bytes)", path,
						 CG_CONFIG_MAX_SIZE);
				goto out;
			}
			cap = cap ? cap * 2 : 64 * 1024;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				ret = -ENOMEM;
				if (errlen)
					snprintf(err, errlen, "cannot read '%s': %s", path,
						 strerror(ENOMEM));
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			if (errlen)
				snprintf(err, errlen, "cannot read '%s': %s", path, strerror(-ret));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CG_CONFIG_MAX_SIZE) {
		ret = -EFBIG;
		if (errlen)
			snprintf(err, errlen, "%s: file is too large (%zu bytes, at most %u)", path,
				 len, CG_CONFIG_MAX_SIZE);
		goto out;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf) {
			ret = -ENOMEM;
			if (errlen)
				snprintf(err, errlen, "cannot read '%s': %s", path,
					 strerror(ENOMEM));
			goto out;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

int cg_config_parse(const char *path, struct cg_state *st, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = cg_config_read_file(path, &buf, &len, err, errlen);
	if (!ret)
		ret = cg_config_parse_buf(path, buf, len, st, err, errlen);
	free(buf);
	return ret;
}

/* ---- canonical form, through libyaml's emitter ---- */

/*
 * The canonical form is the state's events (a block mapping of the settings
 * and the sections, every object by its field table) put through libyaml's
 * emitter: 2-space indent, non-ASCII escaped (unicode off), no document
 * markers, no line width (nothing folded or wrapped) but for the services,
 * whose cell lists are wrapped so that lines stay under column 100. A string
 * is plain when it is a simple word (a name), else double-quoted, and the
 * emitter escapes what must be (\", \\, \xNN, \N, \uNNNN for any non-ASCII
 * character, bidi controls included), so client text reads back byte for
 * byte.
 *
 * libyaml writes a block sequence that is a mapping's value flush with its
 * key ("key:\n- item"; 0.2.5 has no option, libyaml issue #224); the
 * canonical form indents it ("key:\n  - item"). The write handler does: a
 * line the emitter starts with '-' or ' ' is below a top-level key (no
 * scalar spans lines: breaks are escaped and nothing is folded) and gets two
 * more spaces.
 */

#define CG_WRAP_WIDTH 64 /* items of a flow list start by this column: a name is < 32 bytes */

/* The emitter and the text it writes. */
struct cg_emit {
	yaml_emitter_t e;	   /* libyaml's, for one section */
	const struct cg_state *st; /* being written: class names */
	char *buf;		   /* the output so far */
	size_t len, cap;	   /* bytes in buf, allocated */
	bool bol;		   /* the next byte starts a line */
	int err;		   /* first error, -errno */
};

/* Append n bytes to buf. */
static int out_put(struct cg_emit *em, const char *b, size_t n)
{
	size_t cap = em->cap ? em->cap : 4096;
	char *nb;

	while (cap < em->len + n)
		cap *= 2;
	if (cap != em->cap) {
		nb = realloc(em->buf, cap);
		if (!nb) {
			em->err = -ENOMEM;
			return 0;
		}
		em->buf = nb;
		em->cap = cap;
	}
	memcpy(em->buf + em->len, b, n);
	em->len += n;
	return 1;
}

/* libyaml's write handler: append to buf, lines below a top-level key two spaces deeper. */
static int emit_out(void *data, unsigned char *b, size_t n)
{
	struct cg_emit *em = data;
	const char *s = (const char *)b, *nl;
	size_t k;

	while (n) {
		if (em->bol && (*s == '-' || *s == ' ') && !out_put(em, "  ", 2))
			return 0;
		nl = memchr(s, '\n', n);
		k = nl ? (size_t)(nl - s) + 1 : n;
		if (!out_put(em, s, k))
			return 0;
		em->bol = nl != NULL;
		s += k;
		n -= k;
	}
	return 1;
}

/* Emit ev if it was made (made is the *_event_initialize() result) and nothing failed yet. */
static void emit(struct cg_emit *em, yaml_event_t *ev, int made)
{
	if (!made) {
		if (!em->err)
			em->err = -EINVAL; /* out of memory, or a string that is not UTF-8 */
		return;
	}
	if (em->err) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&em->e, ev) && !em->err)
		em->err = em->e.error == YAML_MEMORY_ERROR ? -ENOMEM : -EIO;
}

static void emit_str(struct cg_emit *em, const char *s, size_t n, bool quoted)
{
	yaml_event_t ev;

	emit(em, &ev,
	     yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1,
					  quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE :
						   YAML_PLAIN_SCALAR_STYLE));
}

/* A word, a number: plain. */
static void emit_plain(struct cg_emit *em, const char *s)
{
	emit_str(em, s, strlen(s), false);
}

/* A string of at most max bytes: plain when it is a simple word, else double-quoted. */
static void emit_text(struct cg_emit *em, const char *s, size_t max)
{
	size_t i, k, off, n = strnlen(s, max);
	uint32_t cp;
	bool plain = n > 0;

	for (i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)s[i];

		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || (i && (c == '.' || c == '_' || c == '-'));
	}
	for (off = 0; off < n; off += k) { /* libyaml would write surrogates its reader refuses */
		k = cg_utf8_next((const unsigned char *)s + off, n - off, &cp);
		if (!k) {
			em->err = em->err ? em->err : -EINVAL;
			return;
		}
	}
	emit_str(em, s, n, !plain);
}

static void emit_map(struct cg_emit *em, bool flow)
{
	yaml_event_t ev;

	emit(em, &ev,
	     yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						 flow ? YAML_FLOW_MAPPING_STYLE :
							YAML_BLOCK_MAPPING_STYLE));
}

static void emit_map_end(struct cg_emit *em)
{
	yaml_event_t ev;

	emit(em, &ev, yaml_mapping_end_event_initialize(&ev));
}

/* A sequence; the emitter writes an empty one [] whatever its style. */
static void emit_seq(struct cg_emit *em, bool flow)
{
	yaml_event_t ev;

	emit(em, &ev,
	     yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						  flow ? YAML_FLOW_SEQUENCE_STYLE :
							 YAML_BLOCK_SEQUENCE_STYLE));
}

static void emit_seq_end(struct cg_emit *em)
{
	yaml_event_t ev;

	emit(em, &ev, yaml_sequence_end_event_initialize(&ev));
}

/* The pointer stored at p (a struct member reached by its offset). */
static const char *load_ptr(const char *p)
{
	const char *v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A CG_F_NAMES list: a flow sequence, sorted. */
static void emit_names(struct cg_emit *em, const struct cg_field *f, const void *obj)
{
	size_t width = f->flags & CG_FF_INLINE ? f->size / f->max : CG_NAME_MAX, *idx, i, n;
	const char *names = (const char *)obj + f->offset;

	if (!(f->flags & CG_FF_INLINE))
		names = load_ptr(names);
	memcpy(&n, (const char *)obj + f->aux, sizeof(n));
	idx = cg_sorted_index(names, width, n);
	if (!idx) {
		em->err = em->err ? em->err : -ENOMEM;
		return;
	}
	emit_seq(em, true);
	for (i = 0; i < n; i++)
		emit_text(em, names + idx[i] * width, width);
	emit_seq_end(em);
	free(idx);
}

/* A CG_F_LEVELS list: a flow sequence of levels, in their order. */
static void emit_levels(struct cg_emit *em, const struct cg_field *f, const void *obj)
{
	const uint32_t *v = (const uint32_t *)(const void *)((const char *)obj + f->offset);
	char one[16];
	size_t i, n;

	memcpy(&n, (const char *)obj + f->aux, sizeof(n));
	emit_seq(em, true);
	for (i = 0; i < n && i < f->size / sizeof(*v); i++) {
		cg_level_format(v[i], one, sizeof(one));
		emit_plain(em, one);
	}
	emit_seq_end(em);
}

/* Field f of obj in its canonical text (the reader's get_value() reads it back). */
static void emit_value(struct cg_emit *em, const struct cg_field *f, const void *obj)
{
	const char *mem = (const char *)obj + f->offset, *name;
	uint64_t x = cg_field_get(f, obj);
	char buf[CG_PREFIX_TEXT_MAX];

	switch (f->type) {
	case CG_F_NAME:
	case CG_F_REF:
	case CG_F_TEXT:
		emit_text(em, mem, f->size);
		return;
	case CG_F_ADDR:
	case CG_F_PREFIX: /* IPv6 quoted: its colons are not safe in a flow mapping */
		cg_field_format(f, obj, buf, sizeof(buf));
		emit_str(em, buf, strlen(buf),
			 ((const struct cg_addr *)(const void *)mem)->family == CG_AF_INET6);
		return;
	case CG_F_ENUM:
		emit_plain(em, cg_enum_name(f->words, (unsigned int)x, "invalid"));
		return;
	case CG_F_CLASS:
		name = f->flags & CG_FF_BYID ? NULL : cg_class_name(em->st, (uint32_t)x);
		if (name) {
			emit_text(em, name, CG_NAME_MAX);
			return;
		}
		break; /* by id */
	case CG_F_NAMES:
		emit_names(em, f, obj);
		return;
	case CG_F_LEVELS:
		emit_levels(em, f, obj);
		return;
	default:
		break;
	}
	emit_plain(em, cg_field_format(f, obj, buf, sizeof(buf)));
}

/* A class rule has the key of its kind only. */
static bool rule_unused(const struct cg_object *o, const struct cg_field *f, const void *obj)
{
	const struct cg_class_rule_cfg *r = obj;

	if (o != &cg_class_rule_obj)
		return false;
	return r->kind == CG_RULE_DSCP ? f->type == CG_F_PREFIX : f->type == CG_F_U8;
}

/*
 * The fields of obj into the current mapping, in table order: all but an
 * id not yet assigned, an optional address not set and the other kind's
 * key of a class rule. "a.b" goes into the flow submapping a, written even
 * when empty.
 */
static void emit_fields(struct cg_emit *em, const struct cg_object *o, const void *obj)
{
	const struct cg_field *f;
	const char *dot;
	char head[CG_NAME_MAX];
	bool sub = false;

	for (f = o->fields; f->name; f++) {
		dot = strchr(f->name, '.');
		if (sub && !(f != o->fields && same_head(f[-1].name, f->name))) {
			emit_map_end(em);
			sub = false;
		}
		if (dot && !sub) {
			snprintf(head, sizeof(head), "%.*s", (int)(dot - f->name), f->name);
			emit_plain(em, head);
			emit_map(em, true);
			sub = true;
		}
		if ((f->type == CG_F_ID && cg_field_get(f, obj) == CG_ID_AUTO) ||
		    (f->flags & CG_FF_OMITDEF && cg_field_get(f, obj) == f->def) ||
		    (f->type == CG_F_ADDR && !(f->flags & CG_FF_REQUIRED) &&
		     !((const struct cg_addr *)(const void *)((const char *)obj + f->offset))
			      ->family) ||
		    rule_unused(o, f, obj))
			continue;
		emit_plain(em, dot ? dot + 1 : f->name);
		emit_value(em, f, obj);
	}
	if (sub)
		emit_map_end(em);
}

/* Section s of st: its key, then a list of its objects in their order, or the one object. */
static void emit_section(struct cg_emit *em, const struct cg_section *s)
{
	const char *base = (const char *)em->st + s->arr;
	size_t *idx, i, n;

	emit_plain(em, s->key);
	if (s->flags & CG_SEC_ONE) {
		emit_map(em, s->flags & CG_SEC_FLOW);
		emit_fields(em, s->o, base);
		emit_map_end(em);
		return;
	}
	if (!(s->flags & CG_SEC_INLINE))
		base = load_ptr(base);
	memcpy(&n, (const char *)em->st + s->count, sizeof(n));
	if (s->flags & CG_SEC_INLINE && n > s->max)
		n = s->max;
	idx = s->cmp ? cg_sorted_index_by(base, s->o->size, n, s->cmp) :
		       cg_sorted_index(base, s->o->size, n);
	if (!idx) {
		em->err = em->err ? em->err : -ENOMEM;
		return;
	}
	emit_seq(em, false);
	for (i = 0; i < n; i++) {
		emit_map(em, s->flags & CG_SEC_FLOW);
		emit_fields(em, s->o, base + idx[i] * s->o->size);
		emit_map_end(em);
	}
	emit_seq_end(em);
	free(idx);
}

/* Start a stream of one block mapping: the top-level keys of a section. width -1: no wrapping. */
static void emit_begin(struct cg_emit *em, int width)
{
	yaml_event_t ev;

	if (em->err)
		return;
	if (!yaml_emitter_initialize(&em->e)) {
		em->err = -ENOMEM;
		return;
	}
	yaml_emitter_set_output(&em->e, emit_out, em);
	yaml_emitter_set_indent(&em->e, 2);
	yaml_emitter_set_width(&em->e, width);
	yaml_emitter_set_unicode(&em->e, 0);
	yaml_emitter_set_break(&em->e, YAML_LN_BREAK);
	emit(em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	emit(em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	emit_map(em, false);
}

static void emit_finish(struct cg_emit *em)
{
	yaml_event_t ev;

	if (em->err && !em->e.write_handler)
		return; /* emit_begin() failed */
	emit_map_end(em);
	emit(em, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(em, &ev, yaml_stream_end_event_initialize(&ev));
	if (!em->err && !yaml_emitter_flush(&em->e))
		em->err = -ENOMEM;
	yaml_emitter_delete(&em->e);
	memset(&em->e, 0, sizeof(em->e));
}

/*
 * The canonical form of st, with or without its generation line, into a new
 * buffer (*buf, *len; free() it): the settings, then each section. Returns
 * 0, -ENOMEM, -EINVAL if a string is not UTF-8.
 */
static int encode(const struct cg_state *st, bool generation, char **buf, size_t *len)
{
	struct cg_emit *em;
	char num[24];
	size_t i;
	int ret;

	em = calloc(1, sizeof(*em));
	if (!em)
		return -ENOMEM;
	em->st = st;
	em->bol = true;
	emit_begin(em, -1);
	if (generation) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)st->generation);
		emit_plain(em, "generation");
		emit_plain(em, num);
		for (i = 0; i < sizeof(id_marks) / sizeof(id_marks[0]); i++) {
			uint32_t mark = *(const uint32_t *)((const char *)st + id_marks[i].off);

			if (!mark)
				continue;
			snprintf(num, sizeof(num), "%u", mark);
			emit_plain(em, id_marks[i].key);
			emit_plain(em, num);
		}
	}
	emit_fields(em, &cg_settings_obj, st);
	emit_finish(em);
	for (i = 0; i < CG_NSECTIONS; i++) {
		if (sections[i].unused && sections[i].unused((const char *)st + sections[i].arr))
			continue;
		emit_begin(em, sections[i].flags & CG_SEC_WRAP ? CG_WRAP_WIDTH : -1);
		emit_section(em, &sections[i]);
		emit_finish(em);
	}
	ret = em->err;
	if (ret) {
		free(em->buf);
	} else {
		*buf = em->buf;
		*len = em->len;
	}
	free(em);
	return ret;
}

int cg_state_write(const struct cg_state *st, FILE *f)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = encode(st, true, &buf, &len);
	if (!ret && ((len && fwrite(buf, 1, len, f) != len) || fflush(f)))
		ret = -EIO;
	free(buf);
	return ret;
}

uint32_t cg_state_digest(const struct cg_state *st)
{
	char *buf = NULL;
	size_t len = 0;
	uint32_t crc;

	if (encode(st, false, &buf, &len))
		return 0;
	crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), (const Bytef *)buf, (uInt)len);
	free(buf);
	return crc;
}
