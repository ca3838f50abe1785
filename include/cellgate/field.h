/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/field.h - one field table per object of the desired state, and the shared parsers */
#ifndef CELLGATE_FIELD_H
#define CELLGATE_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/names.h"
#include "cellgate/state.h"
#include "cellgate/text.h" /* cg_show() */

/*
 * Every object of the desired state (state.h) has one table of its fields:
 * the YAML reader and writer, diff, the JSON views, cellgated's command
 * arguments and cellctl's options all walk it, on the parsers below. A
 * field's name is its YAML/JSON key; its CLI option is the same with '-'
 * for '_'. Adding a field is a struct member and one table line.
 */

enum cg_ftype {
	CG_F_NAME = 1, /* char[CG_NAME_MAX], cg_name_valid() */
	CG_F_REF,      /* char[CG_NAME_MAX], the name of another object (cg_field.ref) */
	CG_F_U8,       /* uint8_t in min..max */
	CG_F_U16,      /* uint16_t in min..max */
	CG_F_U32,      /* uint32_t in min..max */
	CG_F_ID,       /* uint32_t id in min..max, CG_ID_AUTO when not given */
	CG_F_BOOL,     /* bool: true or false */
	CG_F_ENUM,     /* uint8_t, one of cg_field.words */
	CG_F_ADDR,     /* struct cg_addr; min: 0 either family, else CG_AF_INET/CG_AF_INET6 */
	CG_F_LEVEL,    /* uint32_t ppm, cg_level_parse()/cg_level_format() */
	CG_F_TEXT,     /* char[size], free text of at most size - 1 bytes */
	CG_F_CLASS,    /* uint8_t class id, written as a class's name or id */
	CG_F_TIME,     /* int64_t unix seconds, 0 = never */
	CG_F_PREFIX,   /* struct cg_addr followed by its uint8_t length at cg_field.aux */
	CG_F_NAMES, /* list of min..max names, count (size_t) at aux: cell names if ref, else interfaces */
	CG_F_LEVELS, /* uint32_t ppm[size / 4] in the struct, min..max of them, count (size_t) at aux */
};

#define CG_FF_REQUIRED 0x1  /* must be given in the config */
#define CG_FF_KEY      0x2  /* identity key: objects are matched by it */
#define CG_FF_RUNTIME  0x4  /* settable at runtime (cellctl ... set) */
#define CG_FF_ASSIGNED 0x8  /* assigned by cellgated when not given (ids) */
#define CG_FF_BYID     0x10 /* CG_F_CLASS: written as the class's id, not its name */
#define CG_FF_INLINE \
	0x20 /* CG_F_NAMES: char[max][size / max] in the struct, not a pointer to char[][CG_NAME_MAX] */
#define CG_FF_OMITDEF \
	0x40 /* written only when it is not its default (older files stay as they were) */

/* One field of an object. */
struct cg_field {
	const char *name;  /* YAML/JSON key; "a.b": key b of map a (a's fields consecutive) */
	uint8_t type;	   /* enum cg_ftype */
	uint8_t flags;	   /* CG_FF_* */
	uint16_t offset;   /* of the member in the object's struct */
	uint16_t size;	   /* of the member */
	uint16_t aux;	   /* CG_F_PREFIX: offset of the length; CG_F_NAMES: of the count */
	uint64_t min, max; /* bounds of numbers; CG_F_ADDR: family in min */
	uint64_t def;	   /* default when not given */
	const struct cg_enum *words; /* CG_F_ENUM: the words */
	const char *ref;	     /* CG_F_REF: the object referred to ("region", "cell") */
	const char *doc;	     /* one line for docs and --help */
};

/* The fields of one object; a NULL name ends fields. */
struct cg_object {
	const char *name; /* "cell", "class_rule", ... as in messages */
	size_t size;	  /* of its struct */
	const struct cg_field *fields;
};

extern const struct cg_object cg_settings_obj;	 /* struct cg_state: the top-level settings */
extern const struct cg_object cg_region_obj;	 /* struct cg_region_cfg */
extern const struct cg_object cg_cell_obj;	 /* struct cg_cell_cfg */
extern const struct cg_object cg_service_obj;	 /* struct cg_service_cfg */
extern const struct cg_object cg_class_obj;	 /* struct cg_class_cfg */
extern const struct cg_object cg_class_rule_obj; /* struct cg_class_rule_cfg */
extern const struct cg_object cg_shed_obj;	 /* struct cg_shed_cfg */
extern const struct cg_object cg_guard_obj;	 /* struct cg_guard_cfg */
extern const struct cg_object cg_loc_obj;	 /* struct cg_loc_settings */
extern const struct cg_object cg_health_obj;	 /* struct cg_health_settings */
extern const struct cg_object cg_failover_obj;	 /* struct cg_failover_settings */
extern const struct cg_object cg_bp_obj;	 /* struct cg_bp_settings */
extern const struct cg_object cg_metrics_obj;	 /* struct cg_metrics_settings */
extern const struct cg_object cg_evac_obj;	 /* struct cg_evac */
extern const struct cg_object cg_saga_obj;	 /* struct cg_saga_cfg */

#define CG_ADDR_TEXT_MAX   46 /* INET6_ADDRSTRLEN */
#define CG_PREFIX_TEXT_MAX 50 /* address, '/', length, NUL */

/*
 * cg_addr_parse - read an address: family 0 takes either, CG_AF_INET or
 * CG_AF_INET6 only that one. Returns 0, or -EINVAL with a one-line reason in
 * err (naming what, e.g. "gateway").
 */
int cg_addr_parse(const char *text, int family, const char *what, struct cg_addr *out, char *err,
		  size_t errlen);

/*
 * cg_listen_parse - read a listen address: "A.B.C.D:PORT", "[IPV6]:PORT",
 * port 1..65535; "" and "off" mean none. Returns 0 with *addr and *port set,
 * 1 for none (both untouched), or -EINVAL with a one-line reason in err
 * ("metrics.listen 'x': ..."; what names the field).
 */
int cg_listen_parse(const char *text, const char *what, struct cg_addr *addr, uint16_t *port,
		    char *err, size_t errlen);

/*
 * cg_addr_format - the one text form of a: inet_ntop()'s (lower-case, IPv6
 * compressed); "" if unset (family 0, as the JSON views show it; a caller
 * that prints "none" tests a->family), "?" if the family is bad. Returns buf.
 */
const char *cg_addr_format(const struct cg_addr *a, char *buf, size_t len);

/* cg_addr_unicast - true if a may be a gateway, VIP or source (not 0/8, loopback, multicast). */
bool cg_addr_unicast(const struct cg_addr *a);

/*
 * cg_prefix_parse - read ADDRESS/LENGTH strictly: LENGTH is decimal digits
 * only, no sign, no spaces, no leading zero ("/ 24", "/+24", "/024" are
 * refused), within 0..32 or 0..128, and host bits must be zero. Returns 0, or
 * -EINVAL with today's config messages in err ("prefix 'X' has host bits set
 * (did you mean Y?)", ...).
 */
int cg_prefix_parse(const char *text, struct cg_addr *out, uint8_t *len, char *err, size_t errlen);

/*
 * cg_prefix_split - cg_prefix_parse() but for the host bits: the syntax of a
 * prefix alone (cellctl checks it; whether the bits are clear is cellgated's
 * to refuse). out gets the address as written.
 */
int cg_prefix_split(const char *text, struct cg_addr *out, uint8_t *len, char *err, size_t errlen);

/* cg_prefix_format - "198.18.11.0/24"; returns buf. */
const char *cg_prefix_format(const struct cg_addr *a, unsigned int len, char *buf, size_t size);

/* cg_prefix_mask - clear the bits of a beyond len; true if any was set. */
bool cg_prefix_mask(struct cg_addr *a, unsigned int len);

/* cg_name_valid - the one name rule: 1..31 of [A-Za-z0-9._-], the first a letter or digit. */
bool cg_name_valid(const char *s);

/* cg_ifname_valid - a name the kernel may give an interface: 1..15 bytes, no space, '/' or ':'. */
bool cg_ifname_valid(const char *s);

/* cg_all_digits - true if s is one or more ASCII digits and nothing else. */
bool cg_all_digits(const char *s);

/* cg_u64_parse - a decimal without sign or leading zero in min..max: 0 or -EINVAL/-ERANGE. */
int cg_u64_parse(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/*
 * cg_level_parse - read a shed level, a decimal in 0..1 with at most
 * CG_LEVEL_DECIMALS decimals ("0", "1", "0.25", "1.000000"), exactly: no
 * floating point. *ppm gets parts per million (0.25 -> 250000).
 * Returns 0; -EINVAL if text is not such a decimal (empty, "+", exponent,
 * "0x", ".5", "5.", leading zeros, spaces); -ERANGE if it is a decimal above 1
 * or negative; -EDOM if it has more than 6 decimals. *ppm is unchanged on
 * failure.
 */
int cg_level_parse(const char *text, uint32_t *ppm);

/*
 * cg_level_format - the canonical text of a level in ppm: the shortest
 * decimal that cg_level_parse() reads back as ppm (250000 -> "0.25",
 * 1000000 -> "1", 0 -> "0", 1 -> "0.000001"). len >= 16 always suffices;
 * the text is cut to len - 1 bytes otherwise.
 */
void cg_level_format(uint32_t ppm, char *buf, size_t len);

/* cg_rule_str - a rule's name in messages and diffs: "198.18.11.0/24", "2001:db8::/32", "dscp 46". */
const char *cg_rule_str(const struct cg_class_rule_cfg *r, char *buf, size_t len);

/* cg_shed_str - a shed entry's name: "use1-a/sheddable"; the class id if st has no such class. */
const char *cg_shed_str(const struct cg_state *st, const struct cg_shed_cfg *e, char *buf,
			size_t len);

/* cg_field_find - the field of o called name ('-' matches '_'), or NULL. */
const struct cg_field *cg_field_find(const struct cg_object *o, const char *name);

/*
 * cg_field_parse - set field f of obj from text, within its bounds. Returns 0,
 * or -EINVAL with a one-line error naming the field in err. CG_F_CLASS takes
 * a class id here (names are resolved by the caller, which holds the state);
 * CG_F_NAMES is refused.
 */
int cg_field_parse(const struct cg_field *f, void *obj, const char *text, char *err, size_t errlen);

/* cg_field_format - the canonical text of field f of obj into buf; returns buf. */
const char *cg_field_format(const struct cg_field *f, const void *obj, char *buf, size_t len);

/*
 * cg_field_check - is field f of obj a value the field may hold (a name by
 * cg_name_valid(), a number within min..max, an enum value with a word, an
 * address of the field's family and unicast, a required address set, text
 * terminated, UTF-8, without control bytes)? Returns 0, or -EINVAL with one line in
 * err naming the field: "weight 0 is out of range (1..65535)". CG_F_PREFIX
 * and CG_F_NAMES are left to the object's owner (cg_state_check()).
 */
int cg_field_check(const struct cg_field *f, const void *obj, char *err, size_t errlen);

/* cg_object_check - cg_field_check() of every field of o, in table order; the first error. */
int cg_object_check(const struct cg_object *o, const void *obj, char *err, size_t errlen);

/* cg_field_get - a number field of obj (any CG_F_ numeric type, bool, enum) as a u64. */
uint64_t cg_field_get(const struct cg_field *f, const void *obj);

/* cg_field_set - set a number field of obj to x (cut to the member's size). */
void cg_field_set(const struct cg_field *f, void *obj, uint64_t x);

/* cg_field_cmp - <0, 0, >0 comparing field f of a and b (names by strcmp, numbers by value). */
int cg_field_cmp(const struct cg_field *f, const void *a, const void *b);

/* cg_field_equal - true if every field of o but line and CG_F_NAMES is equal in a and b. */
bool cg_object_equal(const struct cg_object *o, const void *a, const void *b);

/* cg_object_defaults - zero obj and set every field of o to its default. */
void cg_object_defaults(const struct cg_object *o, void *obj);

#endif /* CELLGATE_FIELD_H */
