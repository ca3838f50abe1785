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

static int get_u32(struct cg_parse *p, const struct cg_obj *o, const char *key,
		   const struct cg_ynode *v, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t x;
	int ret;

	ret = get_u64(p, o, key, v, min, max, &x);
	if (!ret)
		*out = (uint32_t)x;
	return ret;
}

/* A keyword of the format and the value it stands for. */
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

/* ---- the schema ---- */

static const char *const top_keys[] = {
	"generation", "region",	     "interfaces", "xdp_mode", "source",
	"mtu",	      "conntrack",   "classes",	   "regions",  "cells",
	"services",   "class_rules", "guard",	   "shed",     NULL,
};
static const char *const source_keys[] = { "ipv4", "ipv6", NULL };

/* Label an item of a list: by its name if it has a good one, else by position. */
static void item_label(struct cg_obj *o, const char *kind, const struct cg_ynode *m, size_t idx)
{
	const struct cg_ynode *v = m->kind == CG_Y_MAP ? map_get(m, "name") : NULL;

	if (v && v->kind == CG_Y_SCALAR && cg_name_valid(v->str))
		obj_set(o, "%s '%s'", kind, v->str);
	else
		obj_set(o, "%s #%zu", kind, idx + 1);
}

static int parse_interfaces(struct cg_parse *p, const struct cg_ynode *v)
{
	struct cg_obj top = { "", "" };
	struct cg_state *st = &p->st;
	const char *s = NULL;
	size_t i;
	int ret;

	ret = get_list(p, &top, "interfaces", v, 1, CG_MAX_IFACES);
	if (ret)
		return ret;
	for (i = 0; i < v->n; i++) {
		ret = get_str(p, &top, "interfaces", v->kid[i], &s);
		if (ret)
			return ret;
		if (!cg_ifname_valid(s))
			return perr(p, v->kid[i]->line,
				    "interfaces: '%s' is not a valid interface name", show(p, s));
		strcpy(st->ifaces[i], s);
	}
	st->nifaces = v->n;
	return 0;
}

static int parse_source(struct cg_parse *p, const struct cg_ynode *m)
{
	const struct cg_ynode *v;
	struct cg_obj o;
	int ret;

	obj_set(&o, "source");
	ret = map_check(p, m, &o, source_keys);
	if (ret)
		return ret;
	v = map_get(m, "ipv4");
	if (v) {
		ret = get_addr(p, &o, "ipv4", v, CG_AF_INET, &p->st.src4);
		if (ret)
			return ret;
	}
	v = map_get(m, "ipv6");
	if (v)
		ret = get_addr(p, &o, "ipv6", v, CG_AF_INET6, &p->st.src6);
	return ret;
}

/* ---- load shedding: classes, class rules, guard, shed levels ---- */

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
	uint32_t id = 0;
	int ret;

	snprintf(pre, sizeof(pre), "%s%s%s", o->pre, strcmp(key, "class") ? key : "",
		 strcmp(key, "class") ? ": " : "");
	if (v->kind == CG_Y_SCALAR && v->plain && cg_all_digits(v->str)) {
		ret = get_u32(p, o, key, v, 0, CG_MAX_CLASSES - 1, &id);
		if (ret)
			return ret;
		c = cg_state_class_by_id(&p->st, id);
		if (!c)
			return perr(p, v->line, "%sunknown class id %u", pre, id);
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

/* ---- objects read by their field tables (field.c) ---- */

static int get_level(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *v,
		     uint32_t *ppm);

/* map_check() with the keys of object ob: every field's name. */
static int map_check_obj(struct cg_parse *p, const struct cg_ynode *m, const struct cg_obj *o,
			 const struct cg_object *ob)
{
	const char *keys[32];
	size_t n = 0;
	const struct cg_field *f;

	for (f = ob->fields; f->name && n + 1 < sizeof(keys) / sizeof(keys[0]); f++)
		keys[n++] = f->name;
	keys[n] = NULL;
	return map_check(p, m, o, keys);
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

/*
 * Field f of obj from mapping m, by its type and bounds. A missing field is
 * an error if it is required, else it keeps its default. CG_F_PREFIX and
 * CG_F_NAMES are read by the object's parser.
 */
static int get_field(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
		     const struct cg_field *f, void *obj)
{
	char *mem = (char *)obj + f->offset;
	const struct cg_ynode *v;
	const char *s = NULL;
	unsigned int e = 0;
	uint32_t ppm = 0;
	uint8_t cls = 0;
	uint64_t x = 0;
	int64_t t = 0;
	int ret;

	if (f->flags & CG_FF_REQUIRED) {
		ret = map_need(p, m, o, f->name, &v);
		if (ret)
			return ret;
	} else if (!(v = map_get(m, f->name))) {
		return 0;
	}
	switch (f->type) {
	case CG_F_REF:
		if (f->flags & CG_FF_KEY && !strcmp(f->ref, "cell")) { /* a shed entry's: or * */
			ret = get_str(p, o, f->name, v, &s);
			if (!ret && strcmp(s, CG_SHED_ANY_CELL) && !cg_name_valid(s))
				ret = perr(p, v->line, "%sunknown cell '%s'", o->pre, show(p, s));
			if (!ret)
				strcpy(mem, s);
			return ret;
		}
		return get_name(p, o, f->name, v, mem);
	case CG_F_NAME:
		return get_name(p, o, f->name, v, mem);
	case CG_F_BOOL:
		return get_bool(p, o, f->name, v, (bool *)(void *)mem);
	case CG_F_ENUM:
		ret = get_enum(p, o, f->name, v, f->words, &e);
		break;
	case CG_F_ADDR:
		return get_addr(p, o, f->name, v, (int)f->min, (struct cg_addr *)(void *)mem);
	case CG_F_LEVEL:
		ret = get_level(p, o, v, &ppm);
		e = ppm;
		break;
	case CG_F_TEXT:
		return get_text(p, o, f->name, v, mem, f->size);
	case CG_F_CLASS:
		ret = get_class_ref(p, o, f->name, v, &cls);
		e = cls;
		break;
	case CG_F_TIME:
		ret = get_time(p, o, f->name, v, &t);
		if (!ret)
			cg_field_set(f, obj, (uint64_t)t);
		return ret;
	case CG_F_ID:
	case CG_F_U8:
	case CG_F_U16:
	case CG_F_U32:
		ret = get_u64(p, o, f->name, v, f->type == CG_F_ID ? 0 : f->min, f->max, &x);
		if (!ret)
			cg_field_set(f, obj, x);
		return ret;
	default:
		return 0;
	}
	if (!ret)
		cg_field_set(f, obj, e);
	return ret;
}

/* Every field of ob that get_field() reads, in table order. */
static int get_fields(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *m,
		      const struct cg_object *ob, void *obj)
{
	const struct cg_field *f;
	int ret;

	for (f = ob->fields; f->name; f++) {
		ret = get_field(p, o, m, f, obj);
		if (ret)
			return ret;
	}
	return 0;
}

/* Default depth of a class's buckets: a tenth of a second of its (smaller) ceiling, >= 1. */
static uint32_t class_default_burst(uint32_t flows, uint32_t packets)
{
	uint32_t r = flows;

	if (!r || (packets && packets < r))
		r = packets;
	return r / 10 ? r / 10 : 1;
}

static int parse_class(struct cg_parse *p, const struct cg_ynode *m, size_t idx,
		       struct cg_class_cfg *c)
{
	struct cg_obj o;
	int ret;

	cg_object_defaults(&cg_class_obj, c);
	c->line = m->line;
	item_label(&o, "class", m, idx);
	ret = map_check_obj(p, m, &o, &cg_class_obj);
	if (!ret)
		ret = get_fields(p, &o, m, &cg_class_obj, c);
	if (!ret && !map_get(m, "burst"))
		c->burst = class_default_burst(c->new_flows_per_sec, c->packets_per_sec);
	return ret;
}

static int parse_classes(struct cg_parse *p, const struct cg_ynode *list)
{
	struct cg_obj top = { "", "" };
	struct cg_state *st = &p->st;
	size_t i;
	int ret;

	ret = get_list(p, &top, "classes", list, 1, CG_MAX_CLASSES);
	if (ret)
		return ret;
	/* the list replaces the defaults cg_state_init() put there */
	memset(st->classes, 0, sizeof(st->classes));
	st->nclasses = 0;
	for (i = 0; i < list->n; i++) {
		ret = parse_class(p, list->kid[i], i, &st->classes[i]);
		if (ret)
			return ret;
		st->nclasses++;
	}
	return 0;
}

/* ADDRESS/LENGTH, host bits zero: cg_prefix_parse(), the one prefix parser. */
static int get_prefix(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *v,
		      struct cg_addr *out, uint8_t *lenp)
{
	const char *s = NULL;
	char msg[512];
	int ret;

	ret = get_str(p, o, "prefix", v, &s);
	if (ret)
		return ret;
	if (cg_prefix_parse(s, out, lenp, msg, sizeof(msg)))
		return perr(p, v->line, "%s%s", o->pre, msg);
	return 0;
}

static int parse_rule(struct cg_parse *p, const struct cg_ynode *m, size_t idx,
		      struct cg_class_rule_cfg *r)
{
	const struct cg_ynode *v, *pv, *dv;
	struct cg_obj o;
	uint32_t x = 0;
	int ret;

	r->line = m->line;
	obj_set(&o, "class_rule #%zu", idx + 1);
	ret = map_check_obj(p, m, &o, &cg_class_rule_obj);
	if (ret)
		return ret;
	pv = map_get(m, "prefix");
	dv = map_get(m, "dscp");
	if (pv && dv)
		return perr(p, m->line, "%sgive either 'prefix' or 'dscp', not both", o.pre);
	if (!pv && !dv)
		return perr(p, m->line, "%smissing 'prefix' or 'dscp'", o.pre);
	if (pv) {
		r->kind = CG_RULE_PREFIX;
		ret = get_prefix(p, &o, pv, &r->prefix, &r->prefix_len);
	} else {
		r->kind = CG_RULE_DSCP;
		ret = get_u32(p, &o, "dscp", dv, 0, CG_MAX_DSCP, &x);
		r->dscp = (uint8_t)x;
	}
	if (!ret)
		ret = map_need(p, m, &o, "class", &v);
	if (!ret)
		ret = get_class_ref(p, &o, "class", v, &r->class);
	return ret;
}

static int parse_rules(struct cg_parse *p, const struct cg_ynode *list)
{
	struct cg_obj top = { "", "" };
	struct cg_state *st = &p->st;
	size_t i;
	int ret;

	ret = get_list(p, &top, "class_rules", list, 0, 2 * CG_MAX_CLASS_RULES + CG_MAX_DSCP + 1);
	if (ret || !list->n)
		return ret;
	st->rules = calloc(list->n, sizeof(*st->rules));
	if (!st->rules) {
		perr(p, 0, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < list->n; i++) {
		ret = parse_rule(p, list->kid[i], i, &st->rules[st->nrules++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_guard(struct cg_parse *p, const struct cg_ynode *m)
{
	struct cg_guard_cfg *g = &p->st.guard;
	struct cg_obj o;
	uint64_t burst;
	int ret;

	obj_set(&o, "guard");
	ret = map_check_obj(p, m, &o, &cg_guard_obj);
	if (!ret)
		ret = get_fields(p, &o, m, &cg_guard_obj, g);
	if (!ret && !map_get(m, "burst")) {
		burst = 2 * (uint64_t)g->new_flows_per_sec;
		g->burst = burst > UINT32_MAX ? UINT32_MAX : (uint32_t)burst;
	}
	return ret;
}

/* A shed level: an unquoted decimal 0..1, at most CG_LEVEL_DECIMALS decimals. */
static int get_level(struct cg_parse *p, const struct cg_obj *o, const struct cg_ynode *v,
		     uint32_t *ppm)
{
	if (v->kind != CG_Y_SCALAR)
		return perr(p, v->line, "%slevel: expected a number, found %s", o->pre,
			    found(p, v));
	if (!v->str[0])
		return perr(p, v->line, "%slevel has no value", o->pre);
	if (!v->plain)
		return perr(p, v->line, "%slevel: expected a number, found the quoted string '%s'",
			    o->pre, show(p, v->str));
	switch (cg_level_parse(v->str, ppm)) {
	case 0:
		return 0;
	case -ERANGE:
		return perr(p, v->line, "%slevel %s is out of range (0..1)", o->pre,
			    show(p, v->str));
	case -EDOM:
		return perr(p, v->line, "%slevel %s has more than %d decimals", o->pre,
			    show(p, v->str), CG_LEVEL_DECIMALS);
	default:
		return perr(p, v->line, "%slevel '%s' is not a number from 0 to 1 (e.g. 0.25)",
			    o->pre, show(p, v->str));
	}
}

static int parse_shed_entry(struct cg_parse *p, const struct cg_ynode *m, size_t idx,
			    struct cg_shed_cfg *e)
{
	struct cg_obj o;
	int ret;

	cg_object_defaults(&cg_shed_obj, e);
	e->line = m->line;
	obj_set(&o, "shed #%zu", idx + 1);
	ret = map_check_obj(p, m, &o, &cg_shed_obj);
	if (!ret)
		ret = get_fields(p, &o, m, &cg_shed_obj, e);
	return ret;
}

static int parse_shed(struct cg_parse *p, const struct cg_ynode *list)
{
	struct cg_obj top = { "", "" };
	struct cg_state *st = &p->st;
	size_t i;
	int ret;

	ret = get_list(p, &top, "shed", list, 0, CG_MAX_SHED);
	if (ret || !list->n)
		return ret;
	st->shed = calloc(list->n, sizeof(*st->shed));
	if (!st->shed) {
		perr(p, 0, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < list->n; i++) {
		ret = parse_shed_entry(p, list->kid[i], i, &st->shed[st->nshed++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_regions(struct cg_parse *p, const struct cg_ynode *list)
{
	struct cg_obj top = { "", "" }, o;
	struct cg_state *st = &p->st;
	struct cg_region_cfg *r;
	size_t i;
	int ret;

	ret = get_list(p, &top, "regions", list, 1, CG_MAX_REGIONS);
	if (ret)
		return ret;
	st->regions = calloc(list->n, sizeof(*st->regions));
	if (!st->regions) {
		perr(p, 0, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < list->n; i++) {
		r = &st->regions[st->nregions++];
		cg_object_defaults(&cg_region_obj, r);
		r->line = list->kid[i]->line;
		item_label(&o, "region", list->kid[i], i);
		ret = map_check_obj(p, list->kid[i], &o, &cg_region_obj);
		if (!ret)
			ret = get_fields(p, &o, list->kid[i], &cg_region_obj, r);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_cell(struct cg_parse *p, const struct cg_ynode *m, size_t idx,
		      struct cg_cell_cfg *c)
{
	struct cg_obj o;
	int ret;

	cg_object_defaults(&cg_cell_obj, c);
	c->line = m->line;
	item_label(&o, "cell", m, idx);
	ret = map_check_obj(p, m, &o, &cg_cell_obj);
	if (!ret)
		ret = get_fields(p, &o, m, &cg_cell_obj, c);
	return ret;
}

static int parse_cells(struct cg_parse *p, const struct cg_ynode *list)
{
	struct cg_obj top = { "", "" };
	struct cg_state *st = &p->st;
	size_t i;
	int ret;

	ret = get_list(p, &top, "cells", list, 0, CG_MAX_CELLS);
	if (ret || !list->n)
		return ret;
	st->cells = calloc(list->n, sizeof(*st->cells));
	if (!st->cells) {
		perr(p, 0, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < list->n; i++) {
		ret = parse_cell(p, list->kid[i], i, &st->cells[st->ncells++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_service_cells(struct cg_parse *p, const struct cg_obj *o,
			       const struct cg_ynode *list, struct cg_service_cfg *s)
{
	size_t i;
	int ret;

	ret = get_list(p, o, "cells", list, 0, CG_MAX_CELLS);
	if (ret || !list->n) /* an empty list: cg_state_check() */
		return ret;
	s->cells = calloc(list->n, sizeof(*s->cells));
	if (!s->cells) {
		perr(p, 0, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < list->n; i++) {
		ret = get_name(p, o, "cells", list->kid[i], s->cells[i]);
		if (ret)
			return ret;
		s->ncells++;
	}
	return 0;
}

static int parse_service(struct cg_parse *p, const struct cg_ynode *m, size_t idx,
			 struct cg_service_cfg *s)
{
	struct cg_obj o;
	int ret;

	cg_object_defaults(&cg_service_obj, s);
	s->line = m->line;
	item_label(&o, "service", m, idx);
	ret = map_check_obj(p, m, &o, &cg_service_obj);
	if (!ret)
		ret = get_fields(p, &o, m, &cg_service_obj, s);
	if (!ret && !map_get(m, "default_class") && !cg_state_class_by_id(&p->st, 0))
		ret = perr(p, m->line,
			   "%sno default_class given, and there is no class 0 to default to",
			   o.pre);
	if (!ret)
		ret = parse_service_cells(p, &o, map_get(m, "cells"), s);
	return ret;
}

static int parse_services(struct cg_parse *p, const struct cg_ynode *list)
{
	struct cg_obj top = { "", "" };
	struct cg_state *st = &p->st;
	size_t i;
	int ret;

	ret = get_list(p, &top, "services", list, 0, CG_MAX_SERVICES);
	if (ret || !list->n)
		return ret;
	st->services = calloc(list->n, sizeof(*st->services));
	if (!st->services) {
		perr(p, 0, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < list->n; i++) {
		ret = parse_service(p, list->kid[i], i, &st->services[st->nservices++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_root(struct cg_parse *p, const struct cg_ynode *root)
{
	struct cg_obj top = { "", "" };
	struct cg_state *st = &p->st;
	const struct cg_ynode *v;
	unsigned int e = 0;
	int ret;

	ret = map_check(p, root, &top, top_keys);
	if (ret)
		return ret;
	if ((v = map_get(root, "generation"))) {
		ret = get_u64(p, &top, "generation", v, 0, UINT64_MAX, &st->generation);
		if (ret)
			return ret;
	}
	ret = map_need(p, root, &top, "region", &v);
	if (!ret)
		ret = get_name(p, &top, "region", v, st->region);
	if (!ret)
		ret = map_need(p, root, &top, "interfaces", &v);
	if (!ret)
		ret = parse_interfaces(p, v);
	if (!ret && (v = map_get(root, "xdp_mode"))) {
		ret = get_enum(p, &top, "xdp_mode", v, cg_xdp_mode_names, &e);
		st->xdp_mode = (uint8_t)e;
	}
	if (!ret && (v = map_get(root, "source")))
		ret = parse_source(p, v);
	if (!ret && (v = map_get(root, "mtu")))
		ret = get_u32(p, &top, "mtu", v, CG_MIN_MTU, CG_MAX_MTU, &st->mtu);
	if (!ret && (v = map_get(root, "conntrack")))
		ret = get_u32(p, &top, "conntrack", v, CG_MIN_CONNTRACK, CG_MAX_CONNTRACK,
			      &st->conntrack_size);
	/* classes first: rules, services and shed entries refer to them */
	if (!ret && (v = map_get(root, "classes")))
		ret = parse_classes(p, v);
	if (!ret && (v = map_get(root, "class_rules")))
		ret = parse_rules(p, v);
	if (!ret && (v = map_get(root, "guard")))
		ret = parse_guard(p, v);
	if (!ret)
		ret = map_need(p, root, &top, "regions", &v);
	if (!ret)
		ret = parse_regions(p, v);
	if (!ret && (v = map_get(root, "cells")))
		ret = parse_cells(p, v);
	if (!ret && (v = map_get(root, "services")))
		ret = parse_services(p, v);
	if (!ret && (v = map_get(root, "shed")))
		ret = parse_shed(p, v);
	return ret;
}

/* The list of objects of kind in the parsed text, or the root mapping for "settings". */
static const struct cg_ynode *kind_node(const struct cg_ynode *root, const char *kind)
{
	static const char *const lists[][2] = {
		{ "region", "regions" },	 { "cell", "cells" },
		{ "service", "services" },	 { "class", "classes" },
		{ "class_rule", "class_rules" }, { "shed", "shed" },
	};
	size_t i;

	if (!strcmp(kind, "settings"))
		return root;
	if (!strcmp(kind, "guard"))
		return map_get(root, "guard");
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

/* ---- canonical form ---- */

#define CG_WRAP_COLUMN 100 /* long service cell lists are wrapped before this column */

/* Where canonical text goes: a FILE, a checksum, or both. */
struct cg_sink {
	FILE *f;      /* output; NULL to only checksum */
	uint32_t crc; /* zlib crc32 of everything put */
	size_t col;   /* column of the next byte */
	int err;      /* first error, -errno */
};

static void sink_bytes(struct cg_sink *s, const char *buf, size_t n)
{
	const char *nl;

	if (s->err || !n)
		return;
	s->crc = (uint32_t)crc32(s->crc, (const Bytef *)buf, (uInt)n);
	if (s->f && fwrite(buf, 1, n, s->f) != n)
		s->err = -EIO;
	nl = memrchr(buf, '\n', n);
	s->col = nl ? (size_t)(buf + n - nl - 1) : s->col + n;
}

static void sink_put(struct cg_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sink_put(struct cg_sink *s, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		if (!s->err)
			s->err = -EOVERFLOW; /* every piece is short: a caller bug */
		return;
	}
	sink_bytes(s, buf, (size_t)n);
}

/* A string as YAML: plain when it is a simple word, else double-quoted. */
static void sink_scalar(struct cg_sink *s, const char *str, size_t max)
{
	size_t i, n = strnlen(str, max);
	bool plain = n > 0;
	char buf[8];

	for (i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)str[i];

		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || (i && (c == '.' || c == '_' || c == '-'));
	}
	if (plain) {
		sink_bytes(s, str, n);
		return;
	}
	sink_bytes(s, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)str[i];

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
			snprintf(buf, sizeof(buf), "\\x%02x", c);
			sink_bytes(s, buf, 4);
		} else {
			sink_bytes(s, &str[i], 1);
		}
	}
	sink_bytes(s, "\"", 1);
}

static void sink_addr(struct cg_sink *s, const struct cg_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 2];

	cg_addr_format(a, buf, sizeof(buf));
	if (a->family == CG_AF_INET6)
		sink_put(s, "\"%s\"", buf); /* colons: quoted to be safe in flow context */
	else
		sink_bytes(s, buf, strlen(buf));
}

static void encode_settings(const struct cg_state *st, struct cg_sink *s, bool generation)
{
	char ifaces[CG_MAX_IFACES][IF_NAMESIZE];
	size_t i, n = st->nifaces < CG_MAX_IFACES ? st->nifaces : CG_MAX_IFACES;

	if (generation)
		sink_put(s, "generation: %llu\n", (unsigned long long)st->generation);
	sink_put(s, "region: ");
	sink_scalar(s, st->region, CG_NAME_MAX);
	memcpy(ifaces, st->ifaces, n * IF_NAMESIZE);
	qsort(ifaces, n, IF_NAMESIZE, cg_ifname_cmp);
	sink_put(s, "\ninterfaces: [");
	for (i = 0; i < n; i++) {
		if (i)
			sink_put(s, ", ");
		sink_scalar(s, ifaces[i], IF_NAMESIZE);
	}
	sink_put(s, "]\nxdp_mode: %s\nsource: {",
		 cg_enum_name(cg_xdp_mode_names, st->xdp_mode, "invalid"));
	if (st->src4.family) {
		sink_put(s, "ipv4: ");
		sink_addr(s, &st->src4);
	}
	if (st->src6.family) {
		sink_put(s, "%sipv6: ", st->src4.family ? ", " : "");
		sink_addr(s, &st->src6);
	}
	sink_put(s, "}\nmtu: %u\nconntrack: %u\n", st->mtu, st->conntrack_size);
}

/* A class reference: its name, or its id if st has no such class. */
static void sink_class(struct cg_sink *s, const struct cg_state *st, uint32_t id)
{
	const char *name = cg_class_name(st, id);

	if (name)
		sink_scalar(s, name, CG_NAME_MAX);
	else
		sink_put(s, "%u", id);
}

/* A service's cells: a flow list, sorted, wrapped before CG_WRAP_COLUMN. */
static int sink_names(struct cg_sink *s, const struct cg_field *f, const void *obj)
{
	char(*names)[CG_NAME_MAX];
	size_t *idx, i, n;
	const char *name;

	memcpy(&names, (const char *)obj + f->offset, sizeof(names));
	memcpy(&n, (const char *)obj + f->aux, sizeof(n));
	idx = cg_sorted_index(names, CG_NAME_MAX, n);
	if (!idx)
		return -ENOMEM;
	sink_put(s, "[");
	for (i = 0; i < n; i++) {
		name = names[idx[i]];
		if (i)
			sink_put(s, ",");
		/* wrapped lines of a flow list are indented deeper than its key */
		if (i && s->col + strnlen(name, CG_NAME_MAX) + 3 > CG_WRAP_COLUMN)
			sink_put(s, "\n      ");
		else if (i)
			sink_put(s, " ");
		sink_scalar(s, name, CG_NAME_MAX);
	}
	sink_put(s, "]");
	free(idx);
	return 0;
}

/* Field f of obj in its canonical text (the reader's get_field() reads it back). */
static int sink_value(struct cg_sink *s, const struct cg_state *st, const struct cg_field *f,
		      const void *obj)
{
	const char *mem = (const char *)obj + f->offset;
	uint64_t x = cg_field_get(f, obj);
	char level[16];

	switch (f->type) {
	case CG_F_NAME:
	case CG_F_REF:
	case CG_F_TEXT:
		sink_scalar(s, mem, f->size);
		break;
	case CG_F_ADDR:
		sink_addr(s, (const struct cg_addr *)(const void *)mem);
		break;
	case CG_F_ENUM:
		sink_put(s, "%s", cg_enum_name(f->words, (unsigned int)x, "invalid"));
		break;
	case CG_F_BOOL:
		sink_put(s, "%s", x ? "true" : "false");
		break;
	case CG_F_LEVEL:
		cg_level_format((uint32_t)x, level, sizeof(level));
		sink_put(s, "%s", level);
		break;
	case CG_F_TIME:
		sink_put(s, "%lld", (long long)(int64_t)x);
		break;
	case CG_F_CLASS:
		if (f->flags & CG_FF_BYID)
			sink_put(s, "%llu", (unsigned long long)x);
		else
			sink_class(s, st, (uint32_t)x);
		break;
	case CG_F_NAMES:
		return sink_names(s, f, obj);
	default:
		sink_put(s, "%llu", (unsigned long long)x);
		break;
	}
	return 0;
}

/*
 * An object by its field table, every field in table order (an id only once
 * assigned): after lead, "{k: v, k: v}" on one line (flow) or one "k: v" a
 * line, indented under the list item.
 */
static int encode_obj(struct cg_sink *s, const struct cg_state *st, const struct cg_object *o,
		      const void *obj, const char *lead, bool flow)
{
	const struct cg_field *f;
	bool first = true;
	int ret = 0;

	sink_put(s, "%s%s", lead, flow ? "{" : "");
	for (f = o->fields; f->name && !ret; f++) {
		if (f->type == CG_F_ID && cg_field_get(f, obj) == CG_ID_AUTO)
			continue;
		if (!first)
			sink_put(s, "%s", flow ? ", " : "\n    ");
		first = false;
		sink_put(s, "%s: ", f->name);
		ret = sink_value(s, st, f, obj);
	}
	sink_put(s, "%s\n", flow ? "}" : "");
	return ret;
}

static void encode_rule(const struct cg_state *st, const struct cg_class_rule_cfg *r,
			struct cg_sink *s)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (r->kind == CG_RULE_DSCP)
		sink_put(s, "  - {dscp: %u, class: ", r->dscp);
	else if (r->prefix.family == CG_AF_INET6)
		sink_put(s, "  - {prefix: \"%s\", class: ", cg_rule_str(r, buf, sizeof(buf)));
	else
		sink_put(s, "  - {prefix: %s, class: ", cg_rule_str(r, buf, sizeof(buf)));
	sink_class(s, st, r->class);
	sink_put(s, "}\n");
}

/* Classes, class rules and the guard: what a packet's class and its limits are. */
static int encode_classify(const struct cg_state *st, struct cg_sink *s)
{
	size_t n = st->nclasses < CG_MAX_CLASSES ? st->nclasses : CG_MAX_CLASSES;
	size_t *ki, *ri, i;
	const struct cg_guard_cfg *g = &st->guard;

	ki = cg_sorted_index_by(st->classes, sizeof(st->classes[0]), n, cg_class_cmp_v);
	ri = cg_sorted_index_by(st->rules, sizeof(*st->rules), st->nrules, cg_rule_cmp_v);
	if (!ki || !ri) {
		free(ki);
		free(ri);
		return -ENOMEM;
	}
	sink_put(s, "classes:%s\n", n ? "" : " []");
	for (i = 0; i < n; i++)
		encode_obj(s, st, &cg_class_obj, &st->classes[ki[i]], "  - ", false);
	sink_put(s, "class_rules:%s\n", st->nrules ? "" : " []");
	for (i = 0; i < st->nrules; i++)
		encode_rule(st, &st->rules[ri[i]], s);
	encode_obj(s, st, &cg_guard_obj, g, "guard: ", true);
	free(ki);
	free(ri);
	return 0;
}

/* The canonical form of st, with or without its generation line. */
static int encode(const struct cg_state *st, struct cg_sink *s, bool generation)
{
	size_t *ri = NULL, *ci = NULL, *si = NULL, *hi = NULL, i;
	int ret = 0;

	ri = cg_sorted_index(st->regions, sizeof(*st->regions), st->nregions);
	ci = cg_sorted_index(st->cells, sizeof(*st->cells), st->ncells);
	si = cg_sorted_index(st->services, sizeof(*st->services), st->nservices);
	hi = cg_sorted_index_by(st->shed, sizeof(*st->shed), st->nshed, cg_shed_cmp_v);
	if (!ri || !ci || !si || !hi) {
		ret = -ENOMEM;
		goto out;
	}
	encode_settings(st, s, generation);
	ret = encode_classify(st, s);
	if (ret)
		goto out;
	sink_put(s, "regions:%s\n", st->nregions ? "" : " []");
	for (i = 0; i < st->nregions; i++)
		encode_obj(s, st, &cg_region_obj, &st->regions[ri[i]], "  - ", true);
	sink_put(s, "cells:%s\n", st->ncells ? "" : " []");
	for (i = 0; i < st->ncells; i++)
		encode_obj(s, st, &cg_cell_obj, &st->cells[ci[i]], "  - ", false);
	sink_put(s, "services:%s\n", st->nservices ? "" : " []");
	for (i = 0; i < st->nservices && !ret; i++)
		ret = encode_obj(s, st, &cg_service_obj, &st->services[si[i]], "  - ", false);
	if (ret)
		goto out;
	sink_put(s, "shed:%s\n", st->nshed ? "" : " []");
	for (i = 0; i < st->nshed; i++)
		encode_obj(s, st, &cg_shed_obj, &st->shed[hi[i]], "  - ", false);
	ret = s->err;
out:
	free(ri);
	free(ci);
	free(si);
	free(hi);
	return ret;
}

int cg_state_write(const struct cg_state *st, FILE *f)
{
	struct cg_sink s = { .f = f };
	int ret;

	ret = encode(st, &s, true);
	if (!ret && fflush(f))
		ret = -EIO;
	return ret;
}

uint32_t cg_state_digest(const struct cg_state *st)
{
	struct cg_sink s = { .f = NULL };

	s.crc = (uint32_t)crc32(0, Z_NULL, 0);
	if (encode(st, &s, false))
		return 0;
	return s.crc;
}
