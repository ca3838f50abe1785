// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cellgated_cmds.c - cellgated's control-socket commands: JSON in, desired-state change, JSON out */
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/config.h"
#include "cellgate/names.h"
#include "cellgate/region.h"
#include "cellgate/view.h"
#include "cellgate/field.h"
#include "cellgate/text.h"
#include "cellgate/locality.h"
#include "cellgated.h"

/*
 * Mutating commands copy the desired state, change the copy and hand it to
 * cgd_commit(), which validates it exactly as a config file would be,
 * persists it and reconciles. Arguments are checked for type here and for
 * meaning there, so a bad value gets the same words whether it came from a
 * file or from cellctl.
 */

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/*
 * Text a client sent, made safe to quote in a reply or a log line (cg_show):
 * one of four rotating buffers, so a message may quote up to four things.
 */
static const char *qs(const char *s)
{
	static char buf[4][CG_SHOW_TEXT_MAX];
	static unsigned int next;

	return cg_show(s, buf[next++ % 4], sizeof(buf[0]));
}

/* An optional string argument; -EINVAL if present and not a string. */
static int arg_str(const json_t *args, const char *key, const char **out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(args, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return ERR("'%s' must be a string", key);
	/* a NUL inside would cut the string short of what the client sent */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ERR("'%s' holds a NUL character", key);
	*out = json_string_value(v);
	return 0;
}

static int arg_need_str(const json_t *args, const char *key, const char **out, char *err,
			size_t errlen)
{
	int ret = arg_str(args, key, out, err, errlen);

	if (!ret && !*out)
		return ERR("missing '%s'", key);
	return ret;
}

/* An optional non-negative integer argument no larger than max. */
static int arg_uint(const json_t *args, const char *key, uint64_t max, uint64_t *out, bool *set,
		    char *err, size_t errlen)
{
	const json_t *v = json_object_get(args, key);

	*set = false;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return ERR("'%s' must be an integer 0..%llu", key, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	*set = true;
	return 0;
}

static int arg_bool(const json_t *args, const char *key, bool *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(args, key);

	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return ERR("'%s' must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

/* Refuse keys a command does not know: a typo must not be silently ignored. */
static int args_known(const json_t *args, const char *const *known, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)args, key, v) {
		size_t i;

		for (i = 0; known[i]; i++)
			if (!strcmp(key, known[i]))
				break;
		if (!known[i])
			return ERR("unknown argument '%s'", qs(key));
	}
	return 0;
}

static int arg_class(const struct cg_state *st, const json_t *args, const char *key, uint8_t *class,
		     char *err, size_t errlen);

/* An argument as the text cg_field_parse() reads: a string as it is, a number in decimal. */
static int arg_text(const json_t *v, const char *key, char *buf, size_t len, const char **text,
		    char *err, size_t errlen)
{
	if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
		return ERR("'%s' holds a NUL character", key);
	if (json_is_string(v))
		*text = json_string_value(v);
	else if (json_is_integer(v))
		*text = buf, snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		*text = json_is_true(v) ? "true" : "false";
	else
		return ERR("'%s' must be a string, a number or a boolean", key);
	return 0;
}

/*
 * The fields of object ob present in args, set on obj through its field
 * table (cg_field_parse()): the bounds, words and messages of the config
 * file. A class is a name or an id. Keys, assigned ids and lists are the
 * command's to read.
 */
static int args_fields(const struct cg_state *st, const json_t *args, const struct cg_object *ob,
		       void *obj, char *err, size_t errlen)
{
	const struct cg_field *f;
	const json_t *v;
	const char *text;
	char num[24];
	uint8_t class;
	int ret;

	for (f = ob->fields; f->name; f++) {
		if (f->flags & (CG_FF_KEY | CG_FF_ASSIGNED) || f->type == CG_F_NAMES)
			continue;
		v = json_object_get(args, f->name);
		if (!v)
			continue;
		if (f->type == CG_F_CLASS) {
			ret = arg_class(st, args, f->name, &class, err, errlen);
			if (!ret)
				cg_field_set(f, obj, class);
		} else {
			ret = arg_text(v, f->name, num, sizeof(num), &text, err, errlen);
			if (!ret)
				ret = cg_field_parse(f, obj, text, err, errlen);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* The object's key (its name) from a string: the one name rule. */
static int arg_key(const struct cg_object *ob, const char *text, void *obj, char *err,
		   size_t errlen)
{
	return cg_field_parse(cg_field_find(ob, "name"), obj, text, err, errlen);
}

/* Refuse keys that are neither fields of ob (NULL: none) nor in extra. */
static int args_known_obj(const json_t *args, const struct cg_object *ob, const char *const *extra,
			  char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)args, key, v) {
		if (ob && cg_field_find(ob, key) &&
		    !(cg_field_find(ob, key)->flags & CG_FF_ASSIGNED))
			continue;
		for (i = 0; extra && extra[i]; i++)
			if (!strcmp(key, extra[i]))
				break;
		if (!extra || !extra[i])
			return ERR("unknown argument '%s'", qs(key));
	}
	return 0;
}

/* Commit next and answer {changes, written}; frees next. */
/*
 * Who sent the request being run, as the kernel says (SO_PEERCRED): "uid 0
 * (root)", with "pid N" if with_pid. What a client says of itself is never
 * taken for this.
 */
static void peer_who(const struct cgd *d, bool with_pid, char *buf, size_t len)
{
	const struct cg_ctl_peer *p = d->ctl ? cg_ctl_server_peer(d->ctl) : NULL;
	struct passwd pw, *res = NULL;
	char pwbuf[1024];
	int o;

	if (!p) {
		snprintf(buf, len, "cellgated");
		return;
	}
	if (getpwuid_r(p->uid, &pw, pwbuf, sizeof(pwbuf), &res) || !res ||
	    !cg_name_valid(pw.pw_name))
		o = snprintf(buf, len, "uid %u", (unsigned int)p->uid);
	else
		o = snprintf(buf, len, "uid %u (%.32s)", (unsigned int)p->uid, pw.pw_name);
	if (with_pid && o >= 0 && (size_t)o < len)
		snprintf(buf + o, len - (size_t)o, " pid %d", (int)p->pid);
}

/* The flags of a change from its request: "dry_run" and "force" (both optional booleans). */
static int arg_flags(const json_t *args, unsigned int *flags, char *err, size_t errlen)
{
	bool dry_run = false, force = false;
	int ret;

	if ((ret = arg_bool(args, "dry_run", &dry_run, err, errlen)) ||
	    (ret = arg_bool(args, "force", &force, err, errlen)))
		return ret;
	*flags = (dry_run ? CGD_DRY_RUN : 0) | (force ? CGD_FORCE : 0);
	return 0;
}

static int commit_reply(struct cgd *d, struct cg_state *next, const char *cause, unsigned int flags,
			json_t **result, char *err, size_t errlen)
{
	bool dry_run = flags & CGD_DRY_RUN;
	json_t *changes = NULL, *written = NULL;
	char who[96], why[CG_NAME_MAX + 256];
	int ret;

	/* every change's log line says who made it */
	peer_who(d, true, who, sizeof(who));
	snprintf(why, sizeof(why), "%s; %s", cause, who);
	ret = cgd_commit(d, next, why, flags, &changes, &written, err, errlen);
	cg_state_free(next);
	if (ret < 0) {
		json_decref(changes);
		json_decref(written);
		return ret;
	}
	*result = json_pack("{s:o, s:b, s:I, s:o}", "changes", changes ? changes : json_array(),
			    "applied", !dry_run && ret > 0, "generation",
			    (json_int_t)d->st.generation, "written",
			    written ? written : json_object());
	if (!*result)
		return -ENOMEM;
	if (d->commit_warning[0])
		json_object_set_new(*result, "warning", json_string(d->commit_warning));
	if (d->commit_dp_error[0])
		json_object_set_new(*result, "dataplane_error", json_string(d->commit_dp_error));
	if (d->commit_overridden[0])
		json_object_set_new(*result, "overridden", json_string(d->commit_overridden));
	return 0;
}

/* ---- read-only ---- */

static int cmd_status(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct cgd *d = ctx;
	json_t *ifaces = json_array();
	uint64_t entries = 0;
	char digest[9];
	size_t i;

	for (i = 0; i < d->nifaces; i++)
		json_array_append_new(ifaces,
				      json_pack("{s:s, s:i, s:s}", "name", d->ifaces[i].name,
						"ifindex", d->ifaces[i].ifindex, "mode",
						d->ifaces[i].mode ? d->ifaces[i].mode : ""));
	cg_dp_conn_count(d->dp, &entries);
	snprintf(digest, sizeof(digest), "%08x", cg_state_digest(&d->st));
	*result = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:b, s:s, s:o, s:I, s:I, "
			    "s:I, s:{s:I, s:I}, s:I}",
			    "daemon", "cellgated", "version", CGD_VERSION, "pid", (int)getpid(),
			    "uptime_s", (json_int_t)((cg_loop_now_ms() - d->started_ms) / 1000),
			    "generation", (json_int_t)d->st.generation, "digest", digest,
			    "state_file", d->state_path, "pin_dir", d->pin_dir, "adopted",
			    d->adopted, "region", d->st.region, "interfaces", ifaces, "services",
			    (json_int_t)d->st.nservices, "cells", (json_int_t)d->st.ncells,
			    "regions", (json_int_t)d->st.nregions, "conntrack", "entries",
			    (json_int_t)entries, "capacity", (json_int_t)cg_dp_conn_capacity(d->dp),
			    "unready_cells", (json_int_t)d->last_rec.unready);
	if (!*result)
		return -ENOMEM;
	json_object_set_new(*result, "fail_static",
			    d->fail_static[0] ? json_string(d->fail_static) : json_null());
	json_object_set_new(*result, "health", cgd_health_status_json(d));
	json_object_set_new(*result, "metrics", cgd_metrics_json(d));
	/* names the key so a fleet's LBs can be compared; gives neither the key nor its seeds */
	json_object_set_new(*result, "hash_key_fingerprint", json_string(d->key_fp));
	return 0;
}

static int cmd_cell_list(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct cgd *d = ctx;

	json_t *c;
	size_t i;

	*result = cg_view_cells(&d->st, d->dp);
	if (!*result)
		return -ENOMEM;
	json_array_foreach(*result, i, c)
		json_object_set_new(c, "health",
				    cgd_health_cell_json(d, (uint32_t)json_integer_value(
								    json_object_get(c, "id"))));
	return 0;
}

static int cmd_service_list(void *ctx, const json_t *args, json_t **result, char *err,
			    size_t errlen)
{
	struct cgd *d = ctx;
	json_t *s;
	size_t i;

	*result = cg_view_services(&d->st, d->dp);
	if (!*result)
		return -ENOMEM;
	json_array_foreach(*result, i, s) {
		const struct cg_service_cfg *sv = cg_state_find_service(
			&d->st, json_string_value(json_object_get(s, "name")));

		if (sv)
			json_object_set_new(s, "locality", cgd_loc_service_json(d, sv));
	}
	return 0;
}

static int cmd_region_list(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct cgd *d = ctx;

	*result = cg_view_regions(&d->st, d->dp);
	return *result ? 0 : -ENOMEM;
}

static int cmd_stats(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct cgd *d = ctx;

	*result = cg_view_stats(&d->st, d->dp);
	return *result ? 0 : -ENOMEM;
}

static int cmd_config_get(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct cgd *d = ctx;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int ret;

	if (!mem)
		return -ENOMEM;
	ret = cg_state_write(&d->st, mem);
	if (fclose(mem) && !ret)
		ret = -ENOMEM;
	if (!ret)
		*result = json_pack("{s:s%}", "text", buf, len);
	free(buf);
	return ret;
}

/* ---- config ---- */

/* Parse args.text (named args.name in messages) into st. */
static int parse_text(const json_t *args, struct cg_state *st, char *err, size_t errlen)
{
	char why[64];
	const char *text, *name;
	size_t off;
	int ret;

	ret = arg_need_str(args, "text", &text, err, errlen);
	if (!ret)
		ret = arg_str(args, "name", &name, err, errlen);
	if (ret)
		return ret;
	/* the name starts every message: it is text like any other a client sends */
	if (name && (!name[0] || strlen(name) > 255 ||
		     cg_text_check(name, strlen(name), 0, &off, why, sizeof(why))))
		return ERR("'name' '%s' is not a file name cellgated shows (%s)", qs(name),
			   name[0] && strlen(name) <= 255 ? why : "1 to 255 bytes");
	return cg_config_parse_buf(name ? name : "config", text, strlen(text), st, err, errlen);
}

static int cmd_config_check(void *ctx, const json_t *args, json_t **result, char *err,
			    size_t errlen)
{
	static const char *const known[] = { "text", "name", NULL };
	struct cg_state st;
	int ret;

	ret = args_known(args, known, err, errlen);
	if (ret)
		return ret;
	cg_state_init(&st);
	ret = parse_text(args, &st, err, errlen);
	if (!ret)
		*result =
			json_pack("{s:I, s:I, s:I}", "services", (json_int_t)st.nservices, "cells",
				  (json_int_t)st.ncells, "regions", (json_int_t)st.nregions);
	cg_state_free(&st);
	return ret;
}

static int cmd_config_apply(void *ctx, const json_t *args, json_t **result, char *err,
			    size_t errlen)
{
	static const char *const known[] = { "text", "name", "dry_run", "force", NULL };
	struct cgd *d = ctx;
	struct cg_state st;
	unsigned int flags;
	int ret;

	ret = args_known(args, known, err, errlen);
	if (!ret)
		ret = arg_flags(args, &flags, err, errlen);
	if (ret)
		return ret;
	cg_state_init(&st);
	ret = parse_text(args, &st, err, errlen);
	/* evacuation records and the saga are cellctl region's: carried, not replaced */
	if (!ret)
		ret = cg_evac_carry(&st, d->st_valid ? &d->st : NULL, err, errlen);
	if (ret) {
		cg_state_free(&st);
		return ret;
	}
	if (flags & CGD_DRY_RUN)
		return commit_reply(d, &st, "config apply", flags, result, err, errlen);
	cgd_notify_reloading(d);
	ret = commit_reply(d, &st, "config apply", flags, result, err, errlen);
	cgd_notify_ready(d);
	return ret;
}

/* ---- cells ---- */

static int cmd_cell_set(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const extra[] = { "dry_run", "force", NULL };
	struct cgd *d = ctx;
	struct cg_cell_cfg *c;
	struct cg_state next;
	const char *name;
	unsigned int flags;
	char cause[96];
	int ret;

	if ((ret = args_known_obj(args, &cg_cell_obj, extra, err, errlen)) ||
	    (ret = arg_flags(args, &flags, err, errlen)) ||
	    (ret = arg_need_str(args, "name", &name, err, errlen)))
		return ret;
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	c = cg_state_find_cell(&next, name);
	if (!c) {
		cg_state_free(&next);
		snprintf(err, errlen, "cell '%s' not found", qs(name));
		return -ENOENT;
	}
	ret = args_fields(&d->st, args, &cg_cell_obj, c, err, errlen);
	if (ret) {
		cg_state_free(&next);
		return ret;
	}
	snprintf(cause, sizeof(cause), "cell set %s", name);
	return commit_reply(d, &next, cause, flags, result, err, errlen);
}

static int cmd_cell_add(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct cgd *d = ctx;
	struct cg_cell_cfg *cells, *c;
	struct cg_state next;
	const char *name, *s;
	char cause[96];
	int ret;

	if ((ret = args_known_obj(args, &cg_cell_obj, NULL, err, errlen)) ||
	    (ret = arg_need_str(args, "name", &name, err, errlen)) ||
	    (ret = arg_need_str(args, "region", &s, err, errlen)) ||
	    (ret = arg_need_str(args, "gateway", &s, err, errlen)))
		return ret;
	if (cg_state_find_cell(&d->st, name)) {
		snprintf(err, errlen, "cell '%s' exists", name);
		return -EEXIST;
	}
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	cells = realloc(next.cells, (next.ncells + 1) * sizeof(*cells));
	if (!cells) {
		cg_state_free(&next);
		return -ENOMEM;
	}
	next.cells = cells;
	c = &cells[next.ncells++];
	cg_object_defaults(&cg_cell_obj, c);
	c->encap = CG_ENCAP_GUE; /* cellctl's default; the config file has none */
	ret = arg_key(&cg_cell_obj, name, c, err, errlen);
	if (!ret)
		ret = args_fields(&d->st, args, &cg_cell_obj, c, err, errlen);
	if (ret) {
		cg_state_free(&next);
		return ret;
	}
	snprintf(cause, sizeof(cause), "cell add %s", name);
	return commit_reply(d, &next, cause, false, result, err, errlen);
}

static int cmd_cell_del(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const known[] = { "name", "dry_run", "force", NULL };
	struct cgd *d = ctx;
	struct cg_cell_cfg *c;
	struct cg_state next;
	const char *name;
	unsigned int flags;
	char cause[96];
	size_t i, j;
	int ret;

	if ((ret = args_known(args, known, err, errlen)) ||
	    (ret = arg_flags(args, &flags, err, errlen)) ||
	    (ret = arg_need_str(args, "name", &name, err, errlen)))
		return ret;
	if (!cg_state_find_cell(&d->st, name)) {
		snprintf(err, errlen, "cell '%s' not found", qs(name));
		return -ENOENT;
	}
	for (i = 0; i < d->st.nservices; i++)
		for (j = 0; j < d->st.services[i].ncells; j++)
			if (!strcmp(d->st.services[i].cells[j], name)) {
				snprintf(err, errlen,
					 "cell '%s' serves service '%s': remove it there first "
					 "(or set it down)",
					 name, d->st.services[i].name);
				return -EBUSY;
			}
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	c = cg_state_find_cell(&next, name);
	i = (size_t)(c - next.cells);
	memmove(&next.cells[i], &next.cells[i + 1], (next.ncells - i - 1) * sizeof(*c));
	next.ncells--;
	snprintf(cause, sizeof(cause), "cell del %s", name);
	return commit_reply(d, &next, cause, flags, result, err, errlen);
}

/* ---- services ---- */

static int cmd_service_add(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const svc_extra[] = { "dry_run", "force", NULL };
	unsigned int flags;
	struct cgd *d = ctx;
	struct cg_service_cfg *svcs, *s;
	struct cg_state next;
	const char *name, *vip, *proto;
	const json_t *cells, *cell;
	char cause[96];
	size_t i;
	int ret;

	if ((ret = args_known_obj(args, &cg_service_obj, svc_extra, err, errlen)) ||
	    (ret = arg_flags(args, &flags, err, errlen)) ||
	    (ret = arg_need_str(args, "name", &name, err, errlen)) ||
	    (ret = arg_need_str(args, "vip", &vip, err, errlen)) ||
	    (ret = arg_need_str(args, "protocol", &proto, err, errlen)))
		return ret;
	if (!json_object_get(args, "port"))
		return ERR("missing 'port'");
	cells = json_object_get(args, "cells");
	if (!json_is_array(cells) || !json_array_size(cells))
		return ERR("'cells' must be a non-empty list of cell names");
	if (cg_state_find_service(&d->st, name)) {
		snprintf(err, errlen, "service '%s' exists", name);
		return -EEXIST;
	}
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	svcs = realloc(next.services, (next.nservices + 1) * sizeof(*svcs));
	if (!svcs) {
		cg_state_free(&next);
		return -ENOMEM;
	}
	next.services = svcs;
	s = &svcs[next.nservices++];
	cg_object_defaults(&cg_service_obj, s);
	s->cells = calloc(json_array_size(cells), sizeof(*s->cells));
	if (!s->cells) {
		cg_state_free(&next);
		return -ENOMEM;
	}
	ret = arg_key(&cg_service_obj, name, s, err, errlen);
	if (!ret)
		ret = args_fields(&d->st, args, &cg_service_obj, s, err, errlen);
	json_array_foreach(cells, i, cell) {
		if (ret)
			break;
		if (!json_is_string(cell))
			ret = ERR("'cells' must be a list of cell names");
		else if (!cg_name_valid(json_string_value(cell)))
			ret = ERR("cell name '%.40s' is not a valid name", json_string_value(cell));
		else
			snprintf(s->cells[s->ncells++], CG_NAME_MAX, "%s", json_string_value(cell));
	}
	if (ret) {
		cg_state_free(&next);
		return ret;
	}
	snprintf(cause, sizeof(cause), "service add %s", name);
	return commit_reply(d, &next, cause, flags, result, err, errlen);
}

static int cmd_service_del(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const known[] = { "name", "dry_run", "force", NULL };
	struct cgd *d = ctx;
	struct cg_service_cfg *s;
	struct cg_state next;
	const char *name;
	unsigned int flags;
	char cause[96];
	size_t i;
	int ret;

	if ((ret = args_known(args, known, err, errlen)) ||
	    (ret = arg_flags(args, &flags, err, errlen)) ||
	    (ret = arg_need_str(args, "name", &name, err, errlen)))
		return ret;
	if (!cg_state_find_service(&d->st, name)) {
		snprintf(err, errlen, "service '%s' not found", qs(name));
		return -ENOENT;
	}
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	s = cg_state_find_service(&next, name);
	i = (size_t)(s - next.services);
	free(s->cells);
	memmove(&next.services[i], &next.services[i + 1], (next.nservices - i - 1) * sizeof(*s));
	next.nservices--;
	snprintf(cause, sizeof(cause), "service del %s", name);
	return commit_reply(d, &next, cause, flags, result, err, errlen);
}

/* ---- classes and shedding ---- */

static int cmd_class_list(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct cgd *d = ctx;

	*result = cg_view_classes(&d->st);
	return *result ? 0 : -ENOMEM;
}

static int cmd_class_rule_list(void *ctx, const json_t *args, json_t **result, char *err,
			       size_t errlen)
{
	struct cgd *d = ctx;

	*result = cg_view_rules(&d->st);
	return *result ? 0 : -ENOMEM;
}

/* A class argument: a name (string) or an id (integer). */
static int arg_class(const struct cg_state *st, const json_t *args, const char *key, uint8_t *class,
		     char *err, size_t errlen)
{
	const json_t *v = json_object_get(args, key);
	const struct cg_class_cfg *c = NULL;

	if (!v)
		return ERR("missing '%s'", key);
	if (json_is_string(v))
		c = cg_state_find_class(st, json_string_value(v));
	else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		 json_integer_value(v) < CG_MAX_CLASSES)
		c = cg_state_class_by_id(st, (uint32_t)json_integer_value(v));
	else
		return ERR("'%s' must be a class name or id", key);
	if (!c) {
		if (json_is_string(v))
			snprintf(err, errlen, "class '%s' not found", qs(json_string_value(v)));
		else
			snprintf(err, errlen, "class id %lld not found",
				 (long long)json_integer_value(v));
		return -ENOENT;
	}
	*class = (uint8_t)c->id;
	return 0;
}

/* A rule's match from args: {prefix: "A/LEN"} or {dscp: N}, by the class_rule field table. */
static int arg_rule(const json_t *args, struct cg_class_rule_cfg *r, char *err, size_t errlen)
{
	const json_t *prefix = json_object_get(args, "prefix"),
		     *dscp = json_object_get(args, "dscp");
	const struct cg_field *f;
	const char *text;
	char num[24];
	int ret;

	memset(r, 0, sizeof(*r));
	if (!!prefix == !!dscp)
		return ERR("give either 'prefix' or 'dscp'");
	f = cg_field_find(&cg_class_rule_obj, prefix ? "prefix" : "dscp");
	ret = arg_text(prefix ? prefix : dscp, f->name, num, sizeof(num), &text, err, errlen);
	if (!ret)
		ret = cg_field_parse(f, r, text, err, errlen);
	r->kind = prefix ? CG_RULE_PREFIX : CG_RULE_DSCP;
	return ret;
}

static int cmd_class_rule_add(void *ctx, const json_t *args, json_t **result, char *err,
			      size_t errlen)
{
	static const char *const known[] = { "prefix", "dscp", "class", NULL };
	struct cgd *d = ctx;
	struct cg_class_rule_cfg r, *rules;
	struct cg_state next;
	size_t i;
	int ret;

	if ((ret = args_known(args, known, err, errlen)) ||
	    (ret = arg_rule(args, &r, err, errlen)) ||
	    (ret = arg_class(&d->st, args, "class", &r.class, err, errlen)))
		return ret;
	for (i = 0; i < d->st.nrules; i++)
		if (!cg_rule_cmp(&d->st.rules[i], &r)) {
			snprintf(err, errlen, "a rule for that %s exists: delete it first",
				 r.kind == CG_RULE_DSCP ? "DSCP value" : "prefix");
			return -EEXIST;
		}
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	rules = realloc(next.rules, (next.nrules + 1) * sizeof(*rules));
	if (!rules) {
		cg_state_free(&next);
		return -ENOMEM;
	}
	next.rules = rules;
	rules[next.nrules++] = r;
	return commit_reply(d, &next, "class rule add", false, result, err, errlen);
}

static int cmd_class_rule_del(void *ctx, const json_t *args, json_t **result, char *err,
			      size_t errlen)
{
	static const char *const known[] = { "prefix", "dscp", NULL };
	struct cgd *d = ctx;
	struct cg_class_rule_cfg r;
	struct cg_state next;
	size_t i;
	int ret;

	if ((ret = args_known(args, known, err, errlen)) || (ret = arg_rule(args, &r, err, errlen)))
		return ret;
	for (i = 0; i < d->st.nrules; i++)
		if (!cg_rule_cmp(&d->st.rules[i], &r))
			break;
	if (i == d->st.nrules) {
		snprintf(err, errlen, "no rule for that %s",
			 r.kind == CG_RULE_DSCP ? "DSCP value" : "prefix");
		return -ENOENT;
	}
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	memmove(&next.rules[i], &next.rules[i + 1], (next.nrules - i - 1) * sizeof(next.rules[0]));
	next.nrules--;
	return commit_reply(d, &next, "class rule del", false, result, err, errlen);
}

/*
 * shed.show: the levels (cg_view_shed()), the controller's with who =
 * controller and its inputs, and the controller's view of every cell.
 */
static int cmd_shed_show(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	struct cgd *d = ctx;
	json_t *levels, *l;
	size_t i;

	(void)args;
	(void)err;
	(void)errlen;
	*result = cg_view_shed(&d->st, cg_rec_shed(d->rec), d->dp);
	if (!*result)
		return -ENOMEM;
	levels = json_object_get(*result, "levels");
	json_array_foreach(levels, i, l) {
		const struct cg_cell_cfg *c;
		const struct cg_class_cfg *cl;
		const char *src = json_string_value(json_object_get(l, "source"));

		if (!src || strcmp(src, "controller"))
			continue;
		c = cg_state_find_cell(&d->st, json_string_value(json_object_get(l, "cell")));
		cl = cg_state_find_class(&d->st, json_string_value(json_object_get(l, "class")));
		if (c && cl && cg_loc_is_no_carry(&d->st, c->id, (uint8_t)cl->id))
			cgd_loc_inputs(d, c, cl, l);
		else if (c)
			cgd_bp_inputs(d, c->id, l);
	}
	json_object_set_new(*result, "controller", cgd_bp_json(d));
	return 0;
}

/*
 * shed.mode {mode, cell | service, dry_run}: the controller's mode for every
 * cell (backpressure.mode), one cell or one service's cells (their shed_mode;
 * "default" there follows what is set above). Persisted, as any change.
 */
static int cmd_shed_mode(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const known[] = { "mode", "cell", "service", "dry_run", NULL };
	struct cgd *d = ctx;
	const char *mode, *cell, *service;
	unsigned int v, flags;
	struct cg_state next;
	char cause[CG_NAME_MAX + 32];
	int ret;

	if ((ret = args_known(args, known, err, errlen)) ||
	    (ret = arg_need_str(args, "mode", &mode, err, errlen)) ||
	    (ret = arg_str(args, "cell", &cell, err, errlen)) ||
	    (ret = arg_str(args, "service", &service, err, errlen)) ||
	    (ret = arg_flags(args, &flags, err, errlen)))
		return ret;
	if (cell && service)
		return ERR("give either 'cell' or 'service'");
	if (cg_enum_value(cell || service ? cg_bp_own_mode_names : cg_bp_mode_names, mode, &v))
		return ERR("bad mode '%s' (auto, manual, off%s)", qs(mode),
			   cell || service ? " or default" : "");
	if (cell && !cg_state_find_cell(&d->st, cell)) {
		snprintf(err, errlen, "cell '%s' not found", qs(cell));
		return -ENOENT;
	}
	if (service && !cg_state_find_service(&d->st, service)) {
		snprintf(err, errlen, "service '%s' not found", qs(service));
		return -ENOENT;
	}
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	if (cell)
		cg_state_find_cell(&next, cell)->shed_mode = (uint8_t)v;
	else if (service)
		cg_state_find_service(&next, service)->shed_mode = (uint8_t)v;
	else
		next.bp.mode = (uint8_t)v;
	snprintf(cause, sizeof(cause), "shed mode %s%s%s", mode,
		 cell	 ? " cell " :
		 service ? " service " :
			   "",
		 cell	 ? cell :
		 service ? service :
			   "");
	return commit_reply(d, &next, cause, flags, result, err, errlen);
}

#define CGD_SHED_TTL_DEFAULT 600 /* seconds an operator level lasts unless made permanent */

static int cmd_shed_set(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const known[] = { "cell",	  "class", "level",  "hard", "ttl_s",
					     "permanent", "by",	   "reason", NULL };
	struct cgd *d = ctx;
	struct cg_shed_cfg e = { 0 }, *shed;
	const char *cell, *level, *by, *reason;
	struct cg_state next;
	bool permanent, set;
	uint64_t ttl = CGD_SHED_TTL_DEFAULT;
	char cause[128];
	size_t i;
	int ret;

	if ((ret = args_known(args, known, err, errlen)) ||
	    (ret = arg_need_str(args, "cell", &cell, err, errlen)) ||
	    (ret = arg_need_str(args, "level", &level, err, errlen)) ||
	    (ret = arg_str(args, "by", &by, err, errlen)) ||
	    (ret = arg_str(args, "reason", &reason, err, errlen)) ||
	    (ret = arg_bool(args, "hard", &e.hard, err, errlen)) ||
	    (ret = arg_bool(args, "permanent", &permanent, err, errlen)) ||
	    (ret = arg_uint(args, "ttl_s", 366ULL * 86400, &ttl, &set, err, errlen)) ||
	    (ret = arg_class(&d->st, args, "class", &e.class, err, errlen)))
		return ret;
	if (set && permanent)
		return ERR("give either 'ttl_s' or 'permanent'");
	if (!set && !permanent)
		ttl = CGD_SHED_TTL_DEFAULT;
	if (!permanent && !ttl)
		return ERR("'ttl_s' must be at least 1");
	ret = cg_level_parse(level, &e.level_ppm);
	if (ret)
		return ERR("bad level '%s' (a decimal from 0 to 1, at most 6 decimals)", qs(level));
	if (strcmp(cell, CG_SHED_ANY_CELL) && !cg_state_find_cell(&d->st, cell)) {
		snprintf(err, errlen, "cell '%s' not found", qs(cell));
		return -ENOENT;
	}
	if ((ret = cg_field_parse(cg_field_find(&cg_shed_obj, "cell"), &e, cell, err, errlen)))
		return ret;
	e.expires = permanent ? 0 : (int64_t)time(NULL) + (int64_t)ttl;
	if (by && strlen(by) >= sizeof(e.by))
		return ERR("'by' is longer than %zu bytes", sizeof(e.by) - 1);
	if (reason && strlen(reason) >= sizeof(e.reason))
		return ERR("'reason' is longer than %zu bytes", sizeof(e.reason) - 1);
	/* by: the kernel's word for who asked; what the client says is kept only as "for X" */
	peer_who(d, false, e.by, sizeof(e.by));
	if (by && by[0]) {
		size_t o = strlen(e.by);

		snprintf(e.by + o, sizeof(e.by) - o, " for %s", by);
	}
	snprintf(e.reason, sizeof(e.reason), "%s", reason ? reason : "");

	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	for (i = 0; i < next.nshed; i++)
		if (!strcmp(next.shed[i].cell, e.cell) && next.shed[i].class == e.class)
			break;
	if (i == next.nshed) {
		shed = realloc(next.shed, (next.nshed + 1) * sizeof(*shed));
		if (!shed) {
			cg_state_free(&next);
			return -ENOMEM;
		}
		next.shed = shed;
		next.nshed++;
	}
	next.shed[i] = e;
	snprintf(cause, sizeof(cause), "shed set %s/%u", e.cell, e.class);
	return commit_reply(d, &next, cause, false, result, err, errlen);
}

static int cmd_shed_clear(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	static const char *const known[] = { "cell", "class", NULL };
	struct cgd *d = ctx;
	struct cg_state next;
	const char *cell;
	uint8_t class = 0;
	bool by_class = json_object_get(args, "class") != NULL;
	size_t i, n = 0;
	int ret;

	if ((ret = args_known(args, known, err, errlen)) ||
	    (ret = arg_str(args, "cell", &cell, err, errlen)) ||
	    (by_class && (ret = arg_class(&d->st, args, "class", &class, err, errlen))))
		return ret;
	if (cg_state_copy(&next, &d->st))
		return -ENOMEM;
	for (i = 0; i < next.nshed; i++) {
		if ((cell && strcmp(next.shed[i].cell, cell)) ||
		    (by_class && next.shed[i].class != class))
			next.shed[n++] = next.shed[i];
	}
	next.nshed = n;
	return commit_reply(d, &next, "shed clear", false, result, err, errlen);
}

/* ---- region transitions (failover.c runs them) ---- */

/*
 * region.evacuate / restore / abort / extend {name, dry_run, force, by,
 * reason, ttl_s (extend: required, seconds from now)}: who asked is the
 * kernel's word (SO_PEERCRED), what the client says is kept as "for X".
 */
/* text (may be NULL) as one line of at most max - 1 bytes, nothing hidden: 0 or -EINVAL */
static int arg_line(const char *text, const char *key, size_t max, char *err, size_t errlen)
{
	char why[96];
	size_t off;

	if (!text)
		return 0;
	if (strlen(text) >= max)
		return ERR("'%s' is longer than %zu bytes", key, max - 1);
	if (cg_text_check(text, strlen(text), 0, &off, why, sizeof(why)))
		return ERR("'%s': %s at byte %zu", key, why, off);
	return 0;
}

static int region_event(struct cgd *d, const json_t *args, enum cg_region_event ev, json_t **result,
			char *err, size_t errlen)
{
	static const char *const known[] = { "name",   "dry_run", "force", "by",
					     "reason", "ttl_s",	  NULL };
	const char *name, *by, *reason;
	char who[CG_SHED_BY_MAX];
	unsigned int flags;
	uint64_t ttl = 0;
	bool set = false;
	int ret;

	if ((ret = args_known(args, known, err, errlen)) ||
	    (ret = arg_flags(args, &flags, err, errlen)) ||
	    (ret = arg_need_str(args, "name", &name, err, errlen)) ||
	    (ret = arg_str(args, "by", &by, err, errlen)) ||
	    (ret = arg_str(args, "reason", &reason, err, errlen)) ||
	    (ret = arg_uint(args, "ttl_s", CG_EVAC_TTL_MAX, &ttl, &set, err, errlen)))
		return ret;
	if (ev == CG_EV_EXTEND && (!set || !ttl))
		return ERR("extend needs 'ttl_s', 1..%u seconds", CG_EVAC_TTL_MAX);
	if (ev != CG_EV_EXTEND && set)
		return ERR("'ttl_s' is for extend only");
	if ((ret = arg_line(reason, "reason", CG_SHED_REASON_MAX, err, errlen)) ||
	    (ret = arg_line(by, "by", CG_SHED_BY_MAX - 24, err, errlen)))
		return ret;
	peer_who(d, false, who, sizeof(who));
	if (by && by[0]) {
		size_t o = strlen(who);

		snprintf(who + o, sizeof(who) - o, " for %s", by);
	}
	return cgd_fo_event(d, name, ev, flags, who, reason, (int64_t)ttl, result, err, errlen);
}

static int cmd_region_evacuate(void *ctx, const json_t *args, json_t **result, char *err,
			       size_t errlen)
{
	return region_event(ctx, args, CG_EV_EVACUATE, result, err, errlen);
}

static int cmd_region_restore(void *ctx, const json_t *args, json_t **result, char *err,
			      size_t errlen)
{
	return region_event(ctx, args, CG_EV_RESTORE, result, err, errlen);
}

static int cmd_region_abort(void *ctx, const json_t *args, json_t **result, char *err,
			    size_t errlen)
{
	return region_event(ctx, args, CG_EV_ABORT, result, err, errlen);
}

static int cmd_region_extend(void *ctx, const json_t *args, json_t **result, char *err,
			     size_t errlen)
{
	return region_event(ctx, args, CG_EV_EXTEND, result, err, errlen);
}

/* ---- fail-static: what runs while the data plane is left as it is ---- */

enum gate {
	GATE_DP,    /* reads the maps: needs a data plane */
	GATE_STATE, /* reads the desired state: needs a valid one */
	GATE_RUN,   /* changes the state: not while fail-static (config.apply repairs) */
};

/* 0 if a command of level g may run now, else -ENOTRECOVERABLE with the reason in err. */
static int gate_check(const struct cgd *d, enum gate g, char *err, size_t errlen)
{
	if ((g == GATE_DP && d->dp) || (g == GATE_STATE && d->st_valid) ||
	    (g == GATE_RUN && !d->fail_static[0]))
		return 0;
	snprintf(err, errlen,
		 "cellgated is fail-static (%s): %s; 'cellctl config apply FILE' with a valid "
		 "state repairs it",
		 d->fail_static,
		 g == GATE_RUN	 ? "changes other than a config apply are refused" :
		 g == GATE_STATE ? "it has no valid desired state to show" :
				   "it has no data plane to read");
	return -ENOTRECOVERABLE;
}

#define GATED(fn, level)                                                                 \
	static int fn##_gated(void *ctx, const json_t *args, json_t **result, char *err, \
			      size_t errlen)                                             \
	{                                                                                \
		int ret = gate_check(ctx, level, err, errlen);                           \
                                                                                         \
		return ret ? ret : fn(ctx, args, result, err, errlen);                   \
	}

GATED(cmd_stats, GATE_DP)
GATED(cmd_cell_list, GATE_STATE)
GATED(cmd_cell_add, GATE_RUN)
GATED(cmd_cell_set, GATE_RUN)
GATED(cmd_cell_del, GATE_RUN)
GATED(cmd_service_list, GATE_STATE)
GATED(cmd_service_add, GATE_RUN)
GATED(cmd_service_del, GATE_RUN)
GATED(cmd_region_list, GATE_STATE)
GATED(cmd_region_evacuate, GATE_RUN)
GATED(cmd_region_restore, GATE_RUN)
GATED(cmd_region_abort, GATE_RUN)
GATED(cmd_region_extend, GATE_RUN)
GATED(cmd_config_get, GATE_STATE)
GATED(cmd_class_list, GATE_STATE)
GATED(cmd_class_rule_list, GATE_STATE)
GATED(cmd_class_rule_add, GATE_RUN)
GATED(cmd_class_rule_del, GATE_RUN)
GATED(cmd_shed_show, GATE_STATE)
GATED(cmd_shed_set, GATE_RUN)
GATED(cmd_shed_clear, GATE_RUN)
GATED(cmd_shed_mode, GATE_RUN)

const struct cg_ctl_cmd cgd_cmds[] = {
	{ "status", cmd_status, false },
	{ "stats", cmd_stats_gated, false },
	{ "cell.list", cmd_cell_list_gated, false },
	{ "cell.add", cmd_cell_add_gated, true },
	{ "cell.set", cmd_cell_set_gated, true },
	{ "cell.del", cmd_cell_del_gated, true },
	{ "service.list", cmd_service_list_gated, false },
	{ "service.add", cmd_service_add_gated, true },
	{ "service.del", cmd_service_del_gated, true },
	{ "region.list", cmd_region_list_gated, false },
	{ "region.evacuate", cmd_region_evacuate_gated, true },
	{ "region.restore", cmd_region_restore_gated, true },
	{ "region.abort", cmd_region_abort_gated, true },
	{ "region.extend", cmd_region_extend_gated, true },
	{ "config.get", cmd_config_get_gated, false },
	{ "config.check", cmd_config_check, false },
	{ "config.apply", cmd_config_apply, true },
	{ "class.list", cmd_class_list_gated, false },
	{ "class.rule.list", cmd_class_rule_list_gated, false },
	{ "class.rule.add", cmd_class_rule_add_gated, true },
	{ "class.rule.del", cmd_class_rule_del_gated, true },
	{ "shed.show", cmd_shed_show_gated, false },
	{ "shed.set", cmd_shed_set_gated, true },
	{ "shed.clear", cmd_shed_clear_gated, true },
	{ "shed.mode", cmd_shed_mode_gated, true },
};
const size_t cgd_ncmds = sizeof(cgd_cmds) / sizeof(cgd_cmds[0]);
