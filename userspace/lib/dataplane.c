/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* dataplane.c - load, pin, adopt and attach the router; every map read and write */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cellgate/dataplane.h"
#include "cellgate/abi/hash.h"
#include "router.skel.h"

#define CG_BPFFS_ROOT "/sys/fs/bpf" /* where bpffs is mounted when it is not */
#define CG_PROG_PIN   "prog"	    /* pin name of the program in pin_dir */
#define CG_LINK_PIN   "link_"	    /* pin name prefix of a link: link_<ifname, escaped> */
#define CG_LINK_NAME  CG_DP_LINK_NAME_MAX

/* The per-CPU sums below read values as arrays of __u64, one stride per CPU. */
_Static_assert(sizeof(struct cg_counter) % 8 == 0, "per-CPU value stride is 8-byte aligned");
_Static_assert(sizeof(struct cg_svc_stats) % 8 == 0, "per-CPU value stride is 8-byte aligned");
_Static_assert(sizeof(struct cg_cell_stats) % 8 == 0, "per-CPU value stride is 8-byte aligned");

/* A link attached and held by dp because there is no pin_dir to pin it in. */
struct cg_dp_link {
	int ifindex; /* interface it runs on */
	int fd;	     /* the link: closing it detaches */
};

/*
 * What a map's content is, which decides what an upgrade may do with a pin
 * that is missing or does not match this build (type, key or value size,
 * flags, max_entries):
 * - DP_DERIVED: computed in full from the desired state by reconcile
 *   (reconcile.c writes every entry that differs from what cg_rec_new()
 *   read, and a fresh map reads as zeros). Such a pin is not adopted: the
 *   new program gets a fresh map, cellgated fills it before any interface
 *   runs the program, and cg_dp_pin_recreated() replaces the pin after.
 * - DP_RESETTABLE: program state that may start over (token buckets: a
 *   fresh one is full). Created fresh like a derived map; nothing refills it.
 * - DP_KEPT: program state that cannot be recomputed (the connection table,
 *   whose loss moves flows; the counters). A missing or mismatched pin
 *   refuses the adoption: only 'cellgated --teardown' starts them over.
 * - DP_COUNTER: a counter map newer than the first pinned builds, so that an
 *   upgrade from one of them finds no pin: created fresh at zero like a
 *   resettable map, and logged. Losing counts moves no flow; readers take
 *   deltas, and a counter that went down reads as a reset (cg_stats_delta()
 *   gives 0). A reader (readonly) without its pin reads it as zero.
 */
enum dp_map_kind {
	DP_DERIVED,
	DP_RESETTABLE,
	DP_KEPT,
	DP_COUNTER,
};

/* Every map of bpf/maps.h (its pin name) and its kind; cg_dp_open() checks the skeleton against it. */
static const struct dp_map_spec {
	const char *name;      /* the map's name in bpf/maps.h, its pin name */
	enum dp_map_kind kind; /* see enum dp_map_kind */
} dp_maps[] = {
	{ "settings", DP_DERIVED },   /* settings_desired() */
	{ "services", DP_DERIVED },   /* keys_desired(), listed from the map */
	{ "vips", DP_DERIVED },	      /* follows services (dp_vips_rebuild()) */
	{ "cells", DP_DERIVED },      /* cell_desired(); MACs from the next hops */
	{ "tables", DP_DERIVED },     /* plan_tables(): Maglev from the cells */
	{ "class4", DP_DERIVED },     /* apply_shedding(), listed from the map */
	{ "class6", DP_DERIVED },     /* ditto */
	{ "dscp", DP_DERIVED },	      /* apply_shedding() */
	{ "classes", DP_DERIVED },    /* classes_desired() */
	{ "shed", DP_DERIVED },	      /* cg_shed_effective() */
	{ "guard", DP_RESETTABLE },   /* per-prefix new-flow buckets */
	{ "buckets", DP_RESETTABLE }, /* the classes' ceiling buckets */
	{ "budgets", DP_RESETTABLE }, /* ICMP and too-big budgets */
	{ "conntrack", DP_KEPT },     /* flows: losing them moves them */
	{ "stats", DP_KEPT },	      /* counters */
	{ "svc_stats", DP_KEPT },     /* ditto */
	{ "cell_stats", DP_KEPT },    /* ditto */
	{ "cell_moves", DP_COUNTER }, /* added after the first pinned builds */
};

#define DP_NMAPS (sizeof(dp_maps) / sizeof(dp_maps[0]))
_Static_assert(DP_NMAPS <= 32, "struct cg_dp's recreated is a 32-bit mask of dp_maps[]");

/*
 * A table this process built, with its shared mapping kept: writing pages
 * already mapped costs a tenth of filling a fresh map (measured on a 65537
 * slot table: 0.07 ms against 1.0 ms for the first touch of new pages, plus
 * 0.4 ms to create and freeze it), so a retired table is filled again for
 * the next swap of its service instead of being thrown away.
 */
struct dp_table_buf {
	int fd;	       /* the inner map, -1 if none */
	uint32_t size; /* its slots: max_entries - 1 */
	__u32 *mem;    /* its mapping, len bytes */
	size_t len;
};

/*
 * Per service: live is the table the outer map holds, if this process built
 * it; spare the one it replaced, retired (the swap returned after an RCU
 * grace period: no program still reads it), to be filled next time.
 */
struct dp_tables {
	struct dp_table_buf live, spare;
};

/* Bytes of spare tables kept at most: 64 tables of the default 65537 slots (0.5 MiB each). */
#define DP_SPARE_BYTES_MAX (64UL << 20)

struct cg_dp {
	struct cg_router *skel;	  /* program and maps, loaded */
	char *pin_dir;		  /* NULL when nothing is pinned */
	uint32_t table_flags;	  /* map_flags of every inner table: the template's */
	struct cg_dp_link *links; /* unpinned links, nlinks of them */
	size_t nlinks;
	uint32_t recreated;	/* bit i: dp_maps[i] is fresh, its pin not replaced yet */
	struct dp_tables *tabs; /* tables this process built, by service id; NULL until one is */
	size_t spare_bytes;	/* mapped bytes of the spare tables, at most DP_SPARE_BYTES_MAX */
};

/*
 * Keep in sync with enum cg_stat in cellgate/abi/consts.h: these are metric and
 * JSON names, so a rename is an interface change.
 */
static const char *const cg_stat_names[] = {
	[CG_STAT_PASS_NOT_IP] = "pass_not_ip",
	[CG_STAT_PASS_NO_SERVICE] = "pass_no_service",
	[CG_STAT_PASS_L4_OTHER] = "pass_l4_other",
	[CG_STAT_PASS_V6_EXT] = "pass_v6_ext",
	[CG_STAT_FWD] = "fwd",
	[CG_STAT_FWD_ICMP] = "fwd_icmp",
	[CG_STAT_ICMP_TOO_BIG] = "icmp_too_big",
	[CG_STAT_DROP_MALFORMED] = "drop_malformed",
	[CG_STAT_DROP_NO_CELL] = "drop_no_cell",
	[CG_STAT_DROP_TOO_BIG] = "drop_too_big",
	[CG_STAT_DROP_ERROR] = "drop_error",
	[CG_STAT_DROP_SHED] = "drop_shed",
	[CG_STAT_DROP_SHED_HARD] = "drop_shed_hard",
	[CG_STAT_DROP_CEILING] = "drop_ceiling",
	[CG_STAT_DROP_GUARD] = "drop_guard",
	[CG_STAT_DROP_L2_GROUP] = "drop_l2_group",
	[CG_STAT_DROP_MARTIAN] = "drop_martian",
	[CG_STAT_DROP_PORT_ZERO] = "drop_port_zero",
	[CG_STAT_PASS_VLAN] = "pass_vlan",
	[CG_STAT_DROP_ICMP_RATE] = "drop_icmp_rate",
	[CG_STAT_DROP_TOO_BIG_RATE] = "drop_too_big_rate",
};
_Static_assert(sizeof(cg_stat_names) / sizeof(cg_stat_names[0]) == CG_STAT_MAX,
	       "cg_stat_names[] must name every enum cg_stat");

const char *cg_stat_name(unsigned int stat)
{
	return stat < CG_STAT_MAX ? cg_stat_names[stat] : NULL;
}

__attribute__((format(printf, 1, 2))) static void dp_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* dir/name into buf; -ENAMETOOLONG if it does not fit. */
static int dp_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * The maps that are pinned and adopted: all but libbpf's .data/.bss/.rodata,
 * which belong to one build of the program (load-time knobs), not to the state.
 */
static bool dp_map_is_state(const struct bpf_map *map)
{
	return !bpf_map__is_internal(map);
}

static int dp_statfs_type(const char *path, long *type)
{
	struct statfs st;

	if (statfs(path, &st))
		return -errno;
	*type = (long)st.f_type;
	return 0;
}

/*
 * Make sure pin_dir can be made: mount bpffs on /sys/fs/bpf if pin_dir is
 * under it and it is not mounted, create the missing parents and check that
 * the parent is on bpffs.
 */
static int dp_bpffs_prepare(const char *pin_dir)
{
	char parent[PATH_MAX];
	size_t rootlen = strlen(CG_BPFFS_ROOT);
	long type = 0;
	char *p;
	int err;

	if (pin_dir[0] != '/' || strlen(pin_dir) >= sizeof(parent) - 64) {
		dp_msg("cannot pin to '%s': not an absolute path", pin_dir);
		return -EINVAL;
	}
	strcpy(parent, pin_dir);
	while ((p = strrchr(parent, '/')) && p[1] == '\0' && p != parent)
		*p = '\0'; /* trailing slashes */
	p = strrchr(parent, '/');
	if (p == parent)
		p[1] = '\0';
	else
		*p = '\0';

	if (!strncmp(pin_dir, CG_BPFFS_ROOT "/", rootlen + 1) &&
	    (dp_statfs_type(CG_BPFFS_ROOT, &type) || type != BPF_FS_MAGIC)) {
		if (mount("bpf", CG_BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			err = -errno;
			dp_msg("cannot mount bpffs on '%s': %s", CG_BPFFS_ROOT, strerror(-err));
			return err;
		}
	}
	for (p = parent + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(parent, 0700) && errno != EEXIST) {
			err = -errno;
			dp_msg("cannot create '%s': %s", parent, strerror(-err));
			return err;
		}
		*p = '/';
	}
	if (mkdir(parent, 0700) && errno != EEXIST) {
		err = -errno;
		dp_msg("cannot create '%s': %s", parent, strerror(-err));
		return err;
	}
	err = dp_statfs_type(parent, &type);
	if (err) {
		dp_msg("cannot stat '%s': %s", parent, strerror(-err));
		return err;
	}
	if (type != BPF_FS_MAGIC) {
		dp_msg("cannot pin in '%s': not a bpf filesystem", parent);
		return -EINVAL;
	}
	return 0;
}

/* 0 if dir is absent or empty, -EEXIST if it holds anything, -errno. */
static int dp_dir_empty(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			err = -EEXIST;
			break;
		}
	}
	closedir(d);
	return err;
}

/* Remove every entry of a flat directory, then the directory; best effort. */
static void dp_remove_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!dp_path(path, sizeof(path), dir, de->d_name))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Index of map in dp_maps[], or -1 if it is not listed. */
static int dp_map_index(const struct bpf_map *map)
{
	size_t i;

	for (i = 0; i < DP_NMAPS; i++)
		if (!strcmp(dp_maps[i].name, bpf_map__name(map)))
			return (int)i;
	return -1;
}

/*
 * Every state map of the skeleton is listed in dp_maps[] and every listed
 * map is in the skeleton: a map added to bpf/maps.h without a kind fails
 * every open, tests included. -EINVAL (logged) otherwise.
 */
static int dp_maps_check(const struct cg_dp *dp)
{
	const struct bpf_map *map;
	size_t n = 0;

	bpf_object__for_each_map(map, dp->skel->obj)
	{
		if (!dp_map_is_state(map))
			continue;
		if (dp_map_index(map) < 0) {
			dp_msg("cannot open the router: map '%s' has no kind in dataplane.c's dp_maps[]",
			       bpf_map__name(map));
			return -EINVAL;
		}
		n++;
	}
	if (n != DP_NMAPS) {
		dp_msg("cannot open the router: dataplane.c's dp_maps[] lists %zu maps, the "
		       "program has %zu",
		       DP_NMAPS, n);
		return -EINVAL;
	}
	return 0;
}

/*
 * What a pinned map has that the skeleton's does not expect ("value size"),
 * with the two values in nums as "48 -> 76" (pinned -> this build), or NULL.
 */
static const char *dp_map_mismatch(const struct bpf_map *map, const struct bpf_map_info *info,
				   bool sized_by_loader, char *nums, size_t len)
{
	const char *what = NULL;
	__u32 pinned = 0, want = 0;

	if (info->type != bpf_map__type(map)) {
		what = "type";
		pinned = info->type;
		want = bpf_map__type(map);
	} else if (info->key_size != bpf_map__key_size(map)) {
		what = "key size";
		pinned = info->key_size;
		want = bpf_map__key_size(map);
	} else if (info->value_size != bpf_map__value_size(map)) {
		what = "value size";
		pinned = info->value_size;
		want = bpf_map__value_size(map);
	} else if (info->map_flags != bpf_map__map_flags(map)) {
		what = "flags";
		pinned = info->map_flags;
		want = bpf_map__map_flags(map);
	} else if (!sized_by_loader && info->max_entries != bpf_map__max_entries(map)) {
		what = "max_entries";
		pinned = info->max_entries;
		want = bpf_map__max_entries(map);
	}
	if (what)
		snprintf(nums, len, "%u -> %u", pinned, want);
	return what;
}

/*
 * Point every state map of the skeleton at its pin in dir, after checking
 * that the pinned map is the one this build expects. max_entries may differ
 * only for conntrack, which the loader sizes; the pinned size is kept.
 *
 * Unless readonly, a derived, resettable or counter map (dp_maps[]) whose
 * pin is missing or does not match is left to the loader, which creates it
 * fresh; it is marked in dp->recreated and logged. The pin stays as it is
 * until cg_dp_pin_recreated(). A kept map's missing or mismatched pin
 * refuses. A reader skips a counter map without a matching pin: its reads
 * fail, and the snapshot has zeros.
 */
static int dp_adopt_maps(struct cg_dp *dp, const char *dir, bool readonly)
{
	struct bpf_map_info info;
	char path[PATH_MAX], why[DP_NMAPS][64], nums[48];
	struct bpf_map *map;
	enum dp_map_kind kind;
	const char *what;
	__u32 len;
	int fd = -1, idx, err = 0;

	bpf_object__for_each_map(map, dp->skel->obj)
	{
		if (!dp_map_is_state(map))
			continue;
		idx = dp_map_index(map);
		kind = dp_maps[idx].kind;
		err = dp_path(path, sizeof(path), dir, bpf_map__name(map));
		if (err) {
			dp_msg("cannot adopt '%s/%s': %s", dir, bpf_map__name(map), strerror(-err));
			goto out;
		}
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			if (err == -ENOENT && !readonly && kind != DP_KEPT) {
				snprintf(why[idx], sizeof(why[idx]), "no pin");
				err = 0;
				goto recreate;
			}
			if (err == -ENOENT && readonly && kind == DP_COUNTER) {
				err = 0;
				continue;
			}
			dp_msg("cannot adopt '%s': %s", path, strerror(-err));
			goto out;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (err) {
			dp_msg("cannot adopt '%s': %s", path, strerror(-err));
			goto out;
		}
		what = dp_map_mismatch(map, &info, map == dp->skel->maps.conntrack, nums,
				       sizeof(nums));
		if (what) {
			close(fd);
			fd = -1;
			snprintf(why[idx], sizeof(why[idx]), "%s %s", what, nums);
			if (!readonly && kind != DP_KEPT)
				goto recreate;
			if (readonly && kind == DP_COUNTER)
				continue;
			err = -EPROTO;
			dp_msg("cannot adopt '%s': its %s differs from this build's (%s)%s", path,
			       what, nums,
			       kind == DP_KEPT ?
				       "; 'cellgated --teardown' starts over but drops every "
				       "connection entry" :
				       "");
			goto out;
		}
		err = bpf_map__reuse_fd(map, fd);
		if (err) {
			dp_msg("cannot adopt '%s': %s", path, strerror(-err));
			goto out;
		}
		close(fd);
		fd = -1;
		continue;
recreate:
		dp->recreated |= 1U << idx;
	}
	/* logged once the adoption is sure: a refused one recreates nothing */
	for (idx = 0; idx < (int)DP_NMAPS; idx++) {
		if (!(dp->recreated & (1U << idx)))
			continue;
		if (dp_maps[idx].kind == DP_DERIVED)
			dp_msg("map '%s': recreated (%s), refilled from the desired state",
			       dp_maps[idx].name, why[idx]);
		else if (dp_maps[idx].kind == DP_COUNTER)
			dp_msg("map '%s': recreated (%s), its counters start at zero",
			       dp_maps[idx].name, why[idx]);
		else
			dp_msg("map '%s': recreated (%s), starts over (rate-limiter state: its "
			       "buckets start full)",
			       dp_maps[idx].name, why[idx]);
	}
out:
	if (err)
		dp->recreated = 0;
	if (fd >= 0)
		close(fd);
	return err;
}

/*
 * Fresh pins: every state map and the program into a staging directory
 * next to pin_dir, renamed to pin_dir at the end. rename() replaces an
 * empty pin_dir and fails on a non-empty one, so a concurrent loader cannot
 * be overwritten and a crash leaves no half-filled pin_dir.
 */
static int dp_pin_fresh(struct cg_dp *dp)
{
	char stage[PATH_MAX], path[PATH_MAX];
	struct bpf_map *map;
	int n, err = 0;

	/* no dots: bpffs reserves names with a dot (EPERM) */
	n = snprintf(stage, sizeof(stage), "%s-staging-%d", dp->pin_dir, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(stage)) {
		err = -ENAMETOOLONG;
		dp_msg("cannot pin to '%s': %s", dp->pin_dir, strerror(-err));
		return err;
	}
	dp_remove_dir(stage); /* a leftover of a process that had our pid */
	if (mkdir(stage, 0700)) {
		err = -errno;
		dp_msg("cannot create '%s': %s", stage, strerror(-err));
		return err;
	}
	bpf_object__for_each_map(map, dp->skel->obj)
	{
		if (!dp_map_is_state(map))
			continue;
		err = dp_path(path, sizeof(path), stage, bpf_map__name(map));
		if (!err && bpf_obj_pin(bpf_map__fd(map), path))
			err = -errno;
		if (err) {
			dp_msg("cannot pin '%s': %s", path, strerror(-err));
			goto out;
		}
	}
	err = dp_path(path, sizeof(path), stage, CG_PROG_PIN);
	if (!err && bpf_obj_pin(bpf_program__fd(dp->skel->progs.cg_router), path))
		err = -errno;
	if (err) {
		dp_msg("cannot pin '%s': %s", path, strerror(-err));
		goto out;
	}
	if (rename(stage, dp->pin_dir)) {
		err = errno == ENOTEMPTY ? -EEXIST : -errno;
		dp_msg("cannot pin to '%s': %s", dp->pin_dir, strerror(-err));
		goto out;
	}
out:
	if (err)
		dp_remove_dir(stage);
	return err;
}

static int dp_vips_rebuild(struct cg_dp *dp);

/* Adopted pins: replace pin_dir/prog with this program, atomically. */
static int dp_pin_prog(struct cg_dp *dp)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int n, err = 0;

	n = snprintf(tmp, sizeof(tmp), "%s/%s-new-%d", dp->pin_dir, CG_PROG_PIN, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		err = -ENAMETOOLONG;
	if (!err)
		err = dp_path(path, sizeof(path), dp->pin_dir, CG_PROG_PIN);
	if (err) {
		dp_msg("cannot pin to '%s': %s", dp->pin_dir, strerror(-err));
		return err;
	}
	unlink(tmp);
	if (bpf_obj_pin(bpf_program__fd(dp->skel->progs.cg_router), tmp)) {
		err = -errno;
		dp_msg("cannot pin '%s': %s", tmp, strerror(-err));
		return err;
	}
	if (rename(tmp, path)) {
		err = -errno;
		dp_msg("cannot pin '%s': %s", path, strerror(-err));
		unlink(tmp);
	}
	return err;
}

struct cg_dp *cg_dp_open(const struct cg_dp_opts *opts)
{
	struct bpf_map *inner;
	struct cg_dp *dp = NULL;
	uint32_t ct_size;
	size_t len;
	int err = 0;

	if (!opts || ((opts->adopt || opts->readonly) && !opts->pin_dir)) {
		dp_msg("cannot open the data plane: %s",
		       opts ? "adopting needs a pin directory" : "no options");
		errno = EINVAL;
		return NULL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		err = -ENOMEM;
		dp_msg("cannot open the data plane: %s", strerror(-err));
		goto out;
	}
	if (opts->pin_dir) {
		dp->pin_dir = strdup(opts->pin_dir);
		if (!dp->pin_dir) {
			err = -ENOMEM;
			dp_msg("cannot open the data plane: %s", strerror(-err));
			goto out;
		}
		len = strlen(dp->pin_dir);
		while (len > 1 && dp->pin_dir[len - 1] == '/')
			dp->pin_dir[--len] = '\0'; /* the staging dir is named after it */
		err = opts->readonly ? 0 : dp_bpffs_prepare(dp->pin_dir);
		if (err)
			goto out;
		if (!opts->adopt && !opts->readonly) {
			err = dp_dir_empty(dp->pin_dir);
			if (err) {
				dp_msg("cannot pin to '%s': %s", dp->pin_dir,
				       err == -EEXIST ? "it holds pins; adopt them or unpin first" :
							strerror(-err));
				goto out;
			}
		}
	}

	dp->skel = cg_router__open();
	if (!dp->skel) {
		err = -errno;
		dp_msg("cannot open the router: %s", strerror(-err));
		goto out;
	}
	/*
	 * Tables are filled through mmap(): 65538 slots take about 0.1 ms that
	 * way against about 10 ms with BPF_MAP_UPDATE_BATCH. The kernel only
	 * accepts an inner map whose flags equal the template's, so the
	 * template gets BPF_F_MMAPABLE too.
	 */
	inner = bpf_map__inner_map(dp->skel->maps.tables);
	if (!inner) {
		err = -EINVAL;
		dp_msg("cannot open the router: map 'tables' has no inner map template");
		goto out;
	}
	dp->table_flags = bpf_map__map_flags(inner) | BPF_F_MMAPABLE;
	err = bpf_map__set_map_flags(inner, dp->table_flags);
	if (err) {
		dp_msg("cannot open the router: %s", strerror(-err));
		goto out;
	}

	err = dp_maps_check(dp);
	if (err)
		goto out;
	if (opts->adopt || opts->readonly) {
		err = dp_adopt_maps(dp, dp->pin_dir, opts->readonly);
	} else {
		ct_size = opts->conntrack_size ? opts->conntrack_size : CG_DEFAULT_CONNTRACK;
		err = bpf_map__set_max_entries(dp->skel->maps.conntrack, ct_size);
		if (err)
			dp_msg("cannot size conntrack to %u entries: %s", ct_size, strerror(-err));
	}
	if (err || opts->readonly)
		goto out; /* a reader uses the pinned maps' fds; nothing is loaded or pinned */

	err = cg_router__load(dp->skel);
	if (err) {
		dp_msg("cannot load the router: %s", strerror(-err));
		goto out;
	}
	/* a fresh filter next to adopted services would hide their VIPs: it follows the map */
	if (dp->recreated & (1U << dp_map_index(dp->skel->maps.vips))) {
		err = dp_vips_rebuild(dp);
		if (err) {
			dp_msg("cannot fill map 'vips': %s", strerror(-err));
			goto out;
		}
	}
	if (dp->pin_dir)
		err = opts->adopt ? dp_pin_prog(dp) : dp_pin_fresh(dp);
out:
	if (err) {
		cg_dp_close(dp);
		errno = -err;
		return NULL;
	}
	return dp;
}

static void dp_buf_release(struct dp_table_buf *b);

void cg_dp_close(struct cg_dp *dp)
{
	size_t i;

	if (!dp)
		return;
	for (i = 0; i < dp->nlinks; i++)
		close(dp->links[i].fd);
	free(dp->links);
	if (dp->tabs)
		for (i = 0; i < CG_MAX_SERVICES; i++) {
			dp_buf_release(&dp->tabs[i].live);
			dp_buf_release(&dp->tabs[i].spare);
		}
	free(dp->tabs);
	cg_router__destroy(dp->skel);
	free(dp->pin_dir);
	free(dp);
}

unsigned int cg_dp_recreated(const struct cg_dp *dp)
{
	return dp ? (unsigned int)__builtin_popcount(dp->recreated) : 0;
}

/*
 * Why the pins of recreated maps are replaced only here, after the new
 * program runs on every interface (cellgated: after its attach), each by a
 * pin under a temporary name renamed over the old one (atomic on bpffs).
 * Where a crash leaves the pins, and what the next start does:
 * - before the attach: the pins are the old build's (settings of the old
 *   layout, no budgets); the new program and its fresh maps die with the
 *   process, the old program runs on, unchanged. The next start recreates
 *   the same maps again. (pin_dir/prog may already be the new program:
 *   nothing runs from that pin, the next start replaces it.)
 * - after the attach of some or all interfaces, before a rename: those
 *   interfaces run the new program on its fresh maps, which cellgated
 *   filled before attaching; the pins are still the old ones, so the next
 *   start recreates and fills them once more and its attach replaces this
 *   program; the maps of this one go with it.
 * - between two renames: each pin is the old build's map or the one the new
 *   program runs on, never a half-written one; the next start adopts the
 *   replaced ones (they match) and recreates the others.
 * - after a pin at the temporary name, before its rename: a leftover
 *   NAME-new-PID, removed with the rest by cg_dp_unpin().
 * Replacing them before the attach would let a crash leave pins that no
 * running program uses, while the old program still writes its own maps:
 * resettable state would diverge and a reader would see maps nothing
 * follows. Replacing them at all (not leaving the new maps unpinned) keeps
 * the next start from recreating them on every restart.
 */
int cg_dp_pin_recreated(struct cg_dp *dp)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	struct bpf_map *map;
	int idx, n, err = 0;

	if (!dp)
		return -EINVAL;
	if (!dp->pin_dir)
		return 0;
	bpf_object__for_each_map(map, dp->skel->obj)
	{
		if (!dp_map_is_state(map))
			continue;
		idx = dp_map_index(map);
		if (!(dp->recreated & (1U << idx)))
			continue;
		n = snprintf(tmp, sizeof(tmp), "%s/%s-new-%d", dp->pin_dir, bpf_map__name(map),
			     (int)getpid());
		err = n < 0 || (size_t)n >= sizeof(tmp) ?
			      -ENAMETOOLONG :
			      dp_path(path, sizeof(path), dp->pin_dir, bpf_map__name(map));
		if (err)
			break;
		unlink(tmp);
		if (bpf_obj_pin(bpf_map__fd(map), tmp)) {
			err = -errno;
			break;
		}
		if (rename(tmp, path)) {
			err = -errno;
			unlink(tmp);
			break;
		}
		dp->recreated &= ~(1U << idx);
	}
	return err;
}

/* Unlink dir/name; a missing pin is not an error. */
static int dp_unlink(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = dp_path(path, sizeof(path), dir, name);

	if (err)
		return err;
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

/* Detach and remove every link_* pin of dir, and a NAME-new-* a crash left. */
static int dp_unpin_links(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int fd, err = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (dp_path(path, sizeof(path), dir, de->d_name))
			continue;
		if (strstr(de->d_name, "-new-")) { /* prog-new-PID, MAP-new-PID */
			unlink(path);
			continue;
		}
		if (strncmp(de->d_name, CG_LINK_PIN, strlen(CG_LINK_PIN)))
			continue;
		/* detach first: another process may hold an fd of the link */
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	closedir(d);
	return err;
}

int cg_dp_unpin_dir(const char *pin_dir)
{
	size_t i;
	int err, ret = 0;

	if (!pin_dir)
		return -EINVAL;
	ret = dp_unpin_links(pin_dir);
	err = dp_unlink(pin_dir, CG_PROG_PIN);
	if (err && !ret)
		ret = err;
	for (i = 0; i < DP_NMAPS; i++) {
		err = dp_unlink(pin_dir, dp_maps[i].name);
		if (err && !ret)
			ret = err;
	}
	if (ret)
		return ret;
	if (rmdir(pin_dir) && errno != ENOENT)
		return -errno;
	return 0;
}

int cg_dp_unpin(struct cg_dp *dp)
{
	int err;

	if (!dp)
		return -EINVAL;
	if (!dp->pin_dir)
		return 0;
	err = cg_dp_unpin_dir(dp->pin_dir);
	if (err)
		return err;
	free(dp->pin_dir);
	dp->pin_dir = NULL;
	return 0;
}

int cg_dp_prog_fd(const struct cg_dp *dp)
{
	return dp ? bpf_program__fd(dp->skel->progs.cg_router) : -EINVAL;
}

void cg_dp_link_pin_name(char *name, size_t len, const char *ifname)
{
	size_t o = (size_t)snprintf(name, len, "%s", CG_LINK_PIN);

	for (; *ifname && o + 4 <= len; ifname++) {
		if (*ifname == '.' || *ifname == '%')
			o += (size_t)snprintf(name + o, len - o, "%%%02x", (unsigned char)*ifname);
		else
			name[o++] = *ifname;
	}
	name[o < len ? o : len - 1] = '\0';
}

/* The interface name a link pin's name stands for (cg_dp_link_pin_name() undone); false if it is not one. */
static bool dp_link_ifname(const char *name, char ifname[IF_NAMESIZE])
{
	size_t o = 0;
	unsigned int c;

	if (strncmp(name, CG_LINK_PIN, strlen(CG_LINK_PIN)))
		return false;
	for (name += strlen(CG_LINK_PIN); *name; name++) {
		if (o + 1 >= IF_NAMESIZE)
			return false;
		if (*name == '%') {
			if (sscanf(name + 1, "%2x", &c) != 1 || (c != '.' && c != '%'))
				return false;
			ifname[o++] = (char)c;
			name += 2;
		} else {
			ifname[o++] = *name;
		}
	}
	ifname[o] = '\0';
	return o > 0;
}

int cg_dp_pinned_links(const struct cg_dp *dp, char (*names)[IF_NAMESIZE], size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (!dp || !dp->pin_dir)
		return 0;
	d = opendir(dp->pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && n < max)
		if (dp_link_ifname(de->d_name, names[n]))
			n++;
	closedir(d);
	return (int)n;
}

int cg_dp_unpin_link(struct cg_dp *dp, const char *ifname)
{
	char name[CG_LINK_NAME], path[PATH_MAX];
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	int fd, err;

	if (!dp || !dp->pin_dir || !ifname)
		return -EINVAL;
	cg_dp_link_pin_name(name, sizeof(name), ifname);
	err = dp_path(path, sizeof(path), dp->pin_dir, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (!err && info.type != BPF_LINK_TYPE_XDP)
		err = -EEXIST; /* not ours to remove */
	if (!err)
		bpf_link_detach(fd); /* a link whose interface is gone is detached already */
	close(fd);
	if (!err && unlink(path) && errno != ENOENT)
		err = -errno;
	return err;
}

static struct cg_dp_link *dp_link_find(struct cg_dp *dp, int ifindex)
{
	size_t i;

	for (i = 0; i < dp->nlinks; i++)
		if (dp->links[i].ifindex == ifindex)
			return &dp->links[i];
	return NULL;
}

/*
 * The link pinned at path if it is an XDP link still on ifindex; a stale pin
 * (interface gone, or its name reused by another ifindex) is removed.
 * Returns its fd, -ENOENT if there is none, or -errno.
 */
static int dp_link_open_pinned(const char *path, int ifindex)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		close(fd);
		return err;
	}
	if (info.type != BPF_LINK_TYPE_XDP || (int)info.xdp.ifindex != ifindex) {
		close(fd);
		if (info.type != BPF_LINK_TYPE_XDP)
			return -EEXIST; /* not ours to remove */
		if (unlink(path) && errno != ENOENT)
			return -errno;
		return -ENOENT;
	}
	return fd;
}

/* -EEXIST if the program on ifindex runs in another mode than xdp_flags asks. */
static int dp_xdp_mode_check(int ifindex, uint32_t xdp_flags)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err;

	if (!(xdp_flags & XDP_FLAGS_MODES))
		return 0;
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	if ((xdp_flags & XDP_FLAGS_SKB_MODE) && q.attach_mode != XDP_ATTACHED_SKB)
		return -EEXIST;
	if ((xdp_flags & XDP_FLAGS_DRV_MODE) && q.attach_mode != XDP_ATTACHED_DRV)
		return -EEXIST;
	return 0;
}

int cg_dp_attach(struct cg_dp *dp, int ifindex, uint32_t xdp_flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = xdp_flags);
	char ifname[IF_NAMESIZE], name[CG_LINK_NAME], path[PATH_MAX];
	const uint32_t modes = XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE;
	struct cg_dp_link *link, *links;
	int fd = -1, prog_fd, err = 0;

	if (!dp || ifindex <= 0 || (xdp_flags & ~modes) || xdp_flags == modes)
		return -EINVAL;
	if (!if_indextoname((unsigned int)ifindex, ifname))
		return -ENODEV;
	prog_fd = bpf_program__fd(dp->skel->progs.cg_router);

	/* already attached by us: switch the link to this program in place */
	link = dp_link_find(dp, ifindex);
	if (link) {
		err = dp_xdp_mode_check(ifindex, xdp_flags);
		return err ? err : bpf_link_update(link->fd, prog_fd, NULL);
	}
	if (dp->pin_dir) {
		cg_dp_link_pin_name(name, sizeof(name), ifname);
		err = dp_path(path, sizeof(path), dp->pin_dir, name);
		if (err)
			return err;
		fd = dp_link_open_pinned(path, ifindex);
		if (fd >= 0) {
			err = dp_xdp_mode_check(ifindex, xdp_flags);
			if (!err)
				err = bpf_link_update(fd, prog_fd, NULL);
			goto out;
		}
		if (fd != -ENOENT)
			return fd;
		fd = -1;
	}

	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lopts);
	if (fd < 0) {
		err = fd;
		fd = -1;
		goto out;
	}
	if (dp->pin_dir) {
		if (bpf_obj_pin(fd, path))
			err = -errno; /* closing fd below detaches again */
		goto out;
	}
	links = realloc(dp->links, (dp->nlinks + 1) * sizeof(*links));
	if (!links) {
		err = -ENOMEM;
		goto out;
	}
	dp->links = links;
	dp->links[dp->nlinks].ifindex = ifindex;
	dp->links[dp->nlinks].fd = fd;
	dp->nlinks++;
	fd = -1; /* held by dp */
out:
	if (fd >= 0)
		close(fd);
	return err;
}

int cg_dp_detach(struct cg_dp *dp, int ifindex)
{
	char ifname[IF_NAMESIZE], name[CG_LINK_NAME], path[PATH_MAX];
	struct cg_dp_link *link;
	int fd, err;

	if (!dp || ifindex <= 0)
		return -EINVAL;
	link = dp_link_find(dp, ifindex);
	if (link) {
		err = bpf_link_detach(link->fd);
		close(link->fd);
		*link = dp->links[--dp->nlinks];
		return err;
	}
	if (!dp->pin_dir)
		return -ENOENT;
	if (!if_indextoname((unsigned int)ifindex, ifname))
		return -ENODEV;
	cg_dp_link_pin_name(name, sizeof(name), ifname);
	err = dp_path(path, sizeof(path), dp->pin_dir, name);
	if (err)
		return err;
	fd = dp_link_open_pinned(path, ifindex);
	if (fd < 0)
		return fd;
	err = bpf_link_detach(fd);
	close(fd);
	if (unlink(path) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int cg_dp_conntrack_probe(uint32_t entries)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_NO_COMMON_LRU);
	int fd;

	/* the same type, flags, key and value as bpf/maps.h's conntrack */
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "cg_ct_probe", sizeof(struct cg_flow_key),
			    sizeof(struct cg_conn), entries, &mopts);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int cg_dp_config_set(struct cg_dp *dp, const struct cg_config *cfg)
{
	__u32 zero = 0;

	if (!dp || !cfg || (cfg->flags & ~CG_CFG_F_ALL) || cfg->mtu > 65535)
		return -EINVAL;
	if (cfg->guard_rate &&
	    (!cfg->guard_burst || cfg->guard_prefix4 < 1 || cfg->guard_prefix4 > 32 ||
	     cfg->guard_prefix6 < 1 || cfg->guard_prefix6 > 128))
		return -EINVAL;
	if (cfg->agg_rate && (!cfg->guard_rate || !cfg->agg_burst || cfg->agg_prefix4 < 1 ||
			      cfg->agg_prefix4 > cfg->guard_prefix4 || cfg->agg_prefix6 < 1 ||
			      cfg->agg_prefix6 > cfg->guard_prefix6))
		return -EINVAL;
	if ((cfg->icmp_rate && !cfg->icmp_burst) || (cfg->too_big_rate && !cfg->too_big_burst) ||
	    cfg->vlan > 4094)
		return -EINVAL;
	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.settings), &zero, cfg, BPF_ANY);
}

int cg_dp_config_get(struct cg_dp *dp, struct cg_config *cfg)
{
	__u32 zero = 0;

	if (!dp || !cfg)
		return -EINVAL;
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.settings), &zero, cfg);
}

static int dp_service_key_ok(const struct cg_service_key *key)
{
	if (key->family == CG_AF_INET) {
		if (key->addr[1] || key->addr[2] || key->addr[3])
			return 0; /* would never match what the parser builds */
	} else if (key->family != CG_AF_INET6) {
		return 0;
	}
	return key->proto == IPPROTO_TCP || key->proto == IPPROTO_UDP;
}

/*
 * The VIP pre-filter follows the services map: a bucket's bit is set before
 * the first key of a VIP in it is written, and cleared after the last is
 * removed. Each update rewrites the one 8 KiB value, in which a bit that
 * does not change keeps its value throughout, so a packet never sees a VIP
 * that stays a VIP filtered out.
 */
static int dp_vips_write(struct cg_dp *dp, const struct cg_vip_filter *vf)
{
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.vips), &zero, vf, BPF_ANY);
}

static int dp_vips_add(struct cg_dp *dp, const struct cg_service_key *key)
{
	__u32 zero = 0, b = cg_vip_bucket(key->addr, key->family);
	struct cg_vip_filter vf;
	int err;

	err = bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.vips), &zero, &vf);
	if (err || (vf.bits[b / 64] & (1ULL << (b % 64))))
		return err;
	vf.bits[b / 64] |= 1ULL << (b % 64);
	return dp_vips_write(dp, &vf);
}

/* Recompute the filter from the keys left in the services map. */
static int dp_vips_rebuild(struct cg_dp *dp)
{
	struct cg_service_key k, next;
	struct cg_vip_filter vf, cur;
	int fd = bpf_map__fd(dp->skel->maps.services), err;
	__u32 zero = 0, b;
	void *prev = NULL;

	memset(&vf, 0, sizeof(vf));
	while ((err = bpf_map_get_next_key(fd, prev, &next)) == 0) {
		k = next;
		prev = &k;
		b = cg_vip_bucket(k.addr, k.family);
		vf.bits[b / 64] |= 1ULL << (b % 64);
	}
	if (err != -ENOENT)
		return err;
	err = bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.vips), &zero, &cur);
	if (!err && !memcmp(&cur, &vf, sizeof(vf)))
		return 0;
	return dp_vips_write(dp, &vf);
}

int cg_dp_service_set(struct cg_dp *dp, const struct cg_service_key *key,
		      const struct cg_service *svc)
{
	bool alias;
	int err;

	if (!dp || !key || !svc || !dp_service_key_ok(key))
		return -EINVAL;
	alias = svc->flags & CG_SVC_F_FRAG_ALIAS;
	if ((svc->flags & ~CG_SVC_F_FRAG_ALIAS) || svc->default_class >= CG_MAX_CLASSES ||
	    alias != (key->port == 0))
		return -EINVAL;
	if (svc->id >= CG_MAX_SERVICES)
		return -ERANGE;
	err = dp_vips_add(dp, key);
	if (err)
		return err;
	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.services), key, svc, BPF_ANY);
}

int cg_dp_service_get(struct cg_dp *dp, const struct cg_service_key *key, struct cg_service *svc)
{
	if (!dp || !key || !svc)
		return -EINVAL;
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.services), key, svc);
}

int cg_dp_service_del(struct cg_dp *dp, const struct cg_service_key *key)
{
	int err;

	if (!dp || !key)
		return -EINVAL;
	err = bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.services), key);
	if (err)
		return err;
	return dp_vips_rebuild(dp);
}

int cg_dp_service_list(struct cg_dp *dp, struct cg_service_key *keys, struct cg_service *svcs,
		       size_t cap, size_t *n)
{
	int fd, err;
	struct cg_service_key key, next;
	size_t count = 0;
	void *prev = NULL;

	if (!dp || !n || (cap && (!keys || !svcs)))
		return -EINVAL;
	fd = bpf_map__fd(dp->skel->maps.services);
	while ((err = bpf_map_get_next_key(fd, prev, &next)) == 0) {
		key = next;
		prev = &key;
		if (count < cap) {
			err = bpf_map_lookup_elem(fd, &key, &svcs[count]);
			if (err == -ENOENT)
				continue; /* deleted under us */
			if (err)
				return err;
			keys[count] = key;
		}
		count++;
	}
	if (err != -ENOENT)
		return err;
	*n = count;
	return count > cap ? -ENOSPC : 0;
}

/* ---- load shedding ---- */

/* The LPM map and key of a family: IPv4 keys are struct cg_lpm4, IPv6 struct cg_lpm6. */
static int dp_lpm(struct cg_dp *dp, const struct cg_class_prefix *p, union cg_lpm_key *k)
{
	memset(k, 0, sizeof(*k));
	if (p->family == CG_AF_INET && p->len <= 32) {
		k->v4.prefixlen = p->len;
		k->v4.addr = p->addr[0];
		return bpf_map__fd(dp->skel->maps.class4);
	}
	if (p->family == CG_AF_INET6 && p->len <= 128) {
		k->v6.prefixlen = p->len;
		memcpy(k->v6.addr, p->addr, sizeof(k->v6.addr));
		return bpf_map__fd(dp->skel->maps.class6);
	}
	return -EINVAL;
}

int cg_dp_class_rule_set(struct cg_dp *dp, const struct cg_class_prefix *p,
			 const struct cg_class_rule *rule)
{
	union cg_lpm_key k;
	int fd;

	if (!dp || !p || !rule || rule->class >= CG_MAX_CLASSES)
		return -EINVAL;
	fd = dp_lpm(dp, p, &k);
	if (fd < 0)
		return fd;
	return bpf_map_update_elem(fd, &k, rule, BPF_ANY);
}

int cg_dp_class_rule_del(struct cg_dp *dp, const struct cg_class_prefix *p)
{
	union cg_lpm_key k;
	int fd;

	if (!dp || !p)
		return -EINVAL;
	fd = dp_lpm(dp, p, &k);
	if (fd < 0)
		return fd;
	return bpf_map_delete_elem(fd, &k);
}

int cg_dp_class_rule_list(struct cg_dp *dp, struct cg_class_prefix *prefixes,
			  struct cg_class_rule *rules, size_t cap, size_t *n)
{
	struct cg_lpm6 k6, next6;
	struct cg_lpm4 k4, next4;
	size_t count = 0;
	void *prev;
	int fd, err;

	if (!dp || !n || (cap && (!prefixes || !rules)))
		return -EINVAL;
	fd = bpf_map__fd(dp->skel->maps.class4);
	for (prev = NULL; (err = bpf_map_get_next_key(fd, prev, &next4)) == 0; prev = &k4) {
		k4 = next4;
		if (count < cap) {
			if (bpf_map_lookup_elem(fd, &k4, &rules[count]))
				continue;
			memset(&prefixes[count], 0, sizeof(prefixes[count]));
			prefixes[count].family = CG_AF_INET;
			prefixes[count].len = (uint8_t)k4.prefixlen;
			prefixes[count].addr[0] = k4.addr;
		}
		count++;
	}
	if (err != -ENOENT)
		return err;
	fd = bpf_map__fd(dp->skel->maps.class6);
	for (prev = NULL; (err = bpf_map_get_next_key(fd, prev, &next6)) == 0; prev = &k6) {
		k6 = next6;
		if (count < cap) {
			if (bpf_map_lookup_elem(fd, &k6, &rules[count]))
				continue;
			memset(&prefixes[count], 0, sizeof(prefixes[count]));
			prefixes[count].family = CG_AF_INET6;
			prefixes[count].len = (uint8_t)k6.prefixlen;
			memcpy(prefixes[count].addr, k6.addr, sizeof(k6.addr));
		}
		count++;
	}
	if (err != -ENOENT)
		return err;
	*n = count;
	return count > cap ? -ENOSPC : 0;
}

int cg_dp_dscp_set(struct cg_dp *dp, uint32_t dscp, const struct cg_dscp_rule *rule)
{
	if (!dp || !rule || (rule->flags & ~CG_DSCP_F_SET) || rule->class >= CG_MAX_CLASSES)
		return -EINVAL;
	if (dscp >= CG_DSCP_VALUES)
		return -ERANGE;
	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.dscp), &dscp, rule, BPF_ANY);
}

int cg_dp_dscp_get(struct cg_dp *dp, uint32_t dscp, struct cg_dscp_rule *rule)
{
	if (!dp || !rule)
		return -EINVAL;
	if (dscp >= CG_DSCP_VALUES)
		return -ERANGE;
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.dscp), &dscp, rule);
}

int cg_dp_class_set(struct cg_dp *dp, uint32_t class, const struct cg_class *c)
{
	if (!dp || !c || (c->flow_rate && !c->flow_burst) || (c->pkt_rate && !c->pkt_burst))
		return -EINVAL;
	if (class >= CG_MAX_CLASSES)
		return -ERANGE;
	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.classes), &class, c, BPF_ANY);
}

int cg_dp_class_get(struct cg_dp *dp, uint32_t class, struct cg_class *c)
{
	if (!dp || !c)
		return -EINVAL;
	if (class >= CG_MAX_CLASSES)
		return -ERANGE;
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.classes), &class, c);
}

int cg_dp_shed_set(struct cg_dp *dp, uint32_t cell, uint32_t class, const struct cg_shed *sh)
{
	uint32_t key = cell * CG_MAX_CLASSES + class;

	if (!dp || !sh)
		return -EINVAL;
	if (cell >= CG_MAX_CELLS || class >= CG_MAX_CLASSES)
		return -ERANGE;
	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.shed), &key, sh, BPF_ANY);
}

int cg_dp_shed_get(struct cg_dp *dp, uint32_t cell, uint32_t class, struct cg_shed *sh)
{
	uint32_t key = cell * CG_MAX_CLASSES + class;

	if (!dp || !sh)
		return -EINVAL;
	if (cell >= CG_MAX_CELLS || class >= CG_MAX_CLASSES)
		return -ERANGE;
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.shed), &key, sh);
}

uint32_t cg_dp_shed_threshold(uint32_t ppm)
{
	if (!ppm)
		return 0;
	if (ppm >= 1000000)
		return CG_SHED_ALL;
	/* level * 2^32, rounded down: a fraction ppm/1e6 of hashes lies below it */
	return (uint32_t)(((uint64_t)ppm << 32) / 1000000);
}

uint32_t cg_dp_shed_ppm(uint32_t threshold)
{
	if (threshold == CG_SHED_ALL)
		return 1000000;
	/* rounded up: undoes the rounding down above, as 2^32 / 1e6 > 1 */
	return (uint32_t)(((uint64_t)threshold * 1000000 + (1ULL << 32) - 1) >> 32);
}

int cg_dp_guard_forget(struct cg_dp *dp)
{
	struct cg_guard_key k;
	int fd, err;

	if (!dp)
		return -EINVAL;
	fd = bpf_map__fd(dp->skel->maps.guard);
	while ((err = bpf_map_get_next_key(fd, NULL, &k)) == 0)
		bpf_map_delete_elem(fd, &k);
	return err == -ENOENT ? 0 : err;
}

int cg_dp_cell_set(struct cg_dp *dp, uint32_t id, const struct cg_cell *cell)
{
	if (!dp || !cell)
		return -EINVAL;
	if (id >= CG_MAX_CELLS)
		return -ERANGE;
	if (cell->state > CG_CELL_DOWN)
		return -EINVAL;
	if (cell->state != CG_CELL_UNUSED &&
	    ((cell->family != CG_AF_INET && cell->family != CG_AF_INET6) ||
	     (cell->encap != CG_ENCAP_IPIP && cell->encap != CG_ENCAP_GUE) ||
	     cell->region >= CG_MAX_REGIONS))
		return -EINVAL;
	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.cells), &id, cell, BPF_ANY);
}

int cg_dp_cell_get(struct cg_dp *dp, uint32_t id, struct cg_cell *cell)
{
	if (!dp || !cell)
		return -EINVAL;
	if (id >= CG_MAX_CELLS)
		return -ERANGE;
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.cells), &id, cell);
}

/*
 * An array map keeps each value in an 8-byte aligned element (kernel
 * arraymap.c: elem_size = round_up(value_size, 8)); that is also the layout
 * mmap() shows, so a __u32 table slot is 8 bytes apart from the next.
 */
#define CG_ARRAY_STRIDE 8
#define CG_ARRAY_WORDS	(CG_ARRAY_STRIDE / sizeof(__u32)) /* __u32 words from slot to slot */

/* Unmap and close a table buffer; it is empty after. */
static void dp_buf_release(struct dp_table_buf *b)
{
	if (b->mem)
		munmap(b->mem, b->len);
	if (b->fd >= 0)
		close(b->fd);
	*b = (struct dp_table_buf){ .fd = -1 };
}

/* The per-service table buffers, allocated on first use. NULL if out of memory. */
static struct dp_tables *dp_tables_of(struct cg_dp *dp, uint32_t service_id)
{
	size_t i;

	if (!dp->tabs) {
		dp->tabs = calloc(CG_MAX_SERVICES, sizeof(*dp->tabs));
		if (!dp->tabs)
			return NULL;
		for (i = 0; i < CG_MAX_SERVICES; i++)
			dp->tabs[i].live.fd = dp->tabs[i].spare.fd = -1;
	}
	return &dp->tabs[service_id];
}

/* A new, empty inner map of size + 1 slots and its shared mapping into *b. */
static int dp_buf_create(struct cg_dp *dp, uint32_t service_id, uint32_t size,
			 struct dp_table_buf *b)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = dp->table_flags);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char name[BPF_OBJ_NAME_LEN];
	int err;

	*b = (struct dp_table_buf){ .fd = -1, .size = size };
	b->len = ((size_t)(size + 1) * CG_ARRAY_STRIDE + page - 1) & ~(page - 1);
	snprintf(name, sizeof(name), "table_%u", service_id);
	b->fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), sizeof(__u32), size + 1,
			       &copts);
	if (b->fd < 0) {
		err = b->fd;
		b->fd = -1;
		return err;
	}
	b->mem = mmap(NULL, b->len, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (b->mem == MAP_FAILED) {
		err = -errno;
		b->mem = NULL;
		dp_buf_release(b);
		return err;
	}
	return 0;
}

/*
 * The table of size slots for service_id, filled, into *b: the service's
 * spare if it has the size (retired: no program reads it), else a new map.
 * Slot 0 holds the size, slots 1..size the cells. Returns 0 or -errno.
 */
static int dp_table_build(struct cg_dp *dp, uint32_t service_id, const uint32_t *slots,
			  uint32_t size, struct dp_table_buf *b)
{
	struct dp_tables *t = dp_tables_of(dp, service_id);
	uint32_t i;
	int err;

	if (!t)
		return -ENOMEM;
	if (t->spare.fd >= 0 && t->spare.size == size) {
		*b = t->spare;
		t->spare = (struct dp_table_buf){ .fd = -1 };
		dp->spare_bytes -= b->len;
	} else {
		if (t->spare.fd >= 0) {
			dp->spare_bytes -= t->spare.len;
			dp_buf_release(&t->spare);
		}
		err = dp_buf_create(dp, service_id, size, b);
		if (err)
			return err;
	}
	/* only the value half of each element is ever written: the rest stays zero */
	b->mem[0] = size;
	for (i = 0; i < size; i++)
		b->mem[(i + 1) * CG_ARRAY_WORDS] = slots[i];
	return 0;
}

/* Keep b as service_id's spare if there is room, else release it. */
static void dp_table_retire(struct cg_dp *dp, uint32_t service_id, struct dp_table_buf *b)
{
	struct dp_tables *t = &dp->tabs[service_id];

	if (b->fd < 0)
		return;
	if (t->spare.fd < 0 && dp->spare_bytes + b->len <= DP_SPARE_BYTES_MAX) {
		t->spare = *b;
		dp->spare_bytes += b->len;
	} else {
		dp_buf_release(b);
	}
	*b = (struct dp_table_buf){ .fd = -1 };
}

/* The checks of one table of a swap: -EINVAL before anything is built. */
static int dp_table_check(const struct cg_dp_table *t)
{
	uint32_t i;

	if (!t->slots || t->service_id >= CG_MAX_SERVICES || t->size < 1 ||
	    t->size > CG_MAX_TABLE_SIZE)
		return -EINVAL;
	for (i = 0; i < t->size; i++)
		if (t->slots[i] >= CG_MAX_CELLS)
			return -EINVAL;
	return 0;
}

int cg_dp_table_swap_many(struct cg_dp *dp, const struct cg_dp_table *tables, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint64_t seen[(CG_MAX_SERVICES + 63) / 64] = { 0 };
	struct dp_table_buf *bufs = NULL;
	__u32 *keys = NULL, count = 0;
	size_t i, built = 0;
	int *fds = NULL;
	int err = 0;

	if (!dp || !tables || n < 1 || n > CG_MAX_SERVICES)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		err = dp_table_check(&tables[i]);
		if (err)
			return err;
		if (seen[tables[i].service_id / 64] & (1ULL << (tables[i].service_id % 64)))
			return -EINVAL;
		seen[tables[i].service_id / 64] |= 1ULL << (tables[i].service_id % 64);
	}
	keys = calloc(n, sizeof(*keys));
	fds = calloc(n, sizeof(*fds));
	bufs = calloc(n, sizeof(*bufs));
	if (!keys || !fds || !bufs) {
		err = -ENOMEM;
		goto out;
	}
	for (built = 0; built < n; built++) {
		err = dp_table_build(dp, tables[built].service_id, tables[built].slots,
				     tables[built].size, &bufs[built]);
		if (err)
			goto out;
		fds[built] = bufs[built].fd;
		keys[built] = tables[built].service_id;
	}
	/*
	 * The only writes readers can see, one per outer slot. The kernel
	 * waits for an RCU grace period after an update of a map-in-map
	 * (no program still runs with the old table when it returns), once
	 * per call: one batch pays it once for all its tables. That wait is
	 * what makes a replaced table safe to fill again.
	 */
	count = (__u32)n;
	err = bpf_map_update_batch(bpf_map__fd(dp->skel->maps.tables), keys, fds, &count, &bopts);
	if (err && count > n)
		count = 0;
out:
	/*
	 * The first count tables are live (a failed batch may have done some):
	 * each replaces its service's live one, which retires; the rest go
	 * back to the spares. The outer map holds what it took.
	 */
	for (i = 0; i < built; i++) {
		struct dp_tables *t = &dp->tabs[tables[i].service_id];

		if (i < count) {
			dp_table_retire(dp, tables[i].service_id, &t->live);
			t->live = bufs[i];
		} else {
			dp_table_retire(dp, tables[i].service_id, &bufs[i]);
		}
	}
	free(keys);
	free(fds);
	free(bufs);
	return err;
}

int cg_dp_table_swap(struct cg_dp *dp, uint32_t service_id, const uint32_t *slots, uint32_t size)
{
	struct cg_dp_table t = { .service_id = service_id, .slots = slots, .size = size };

	return cg_dp_table_swap_many(dp, &t, 1);
}

/*
 * fd of the live table of service_id. The outer map yields the table's id;
 * a swap between the lookup and the open frees that table, so try again.
 */
static int dp_table_open(struct cg_dp *dp, uint32_t service_id)
{
	__u32 id;
	int fd, err, tries;

	for (tries = 0; tries < 8; tries++) {
		err = bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.tables), &service_id, &id);
		if (err)
			return err;
		fd = bpf_map_get_fd_by_id(id);
		if (fd != -ENOENT)
			return fd;
	}
	return -EAGAIN;
}

/* All size + 1 values of a table through BPF_MAP_LOOKUP_BATCH into vals. */
static int dp_table_fetch(int fd, __u32 *keys, __u32 *vals, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 done = 0, count, out_batch = 0, in_batch = 0;
	int err = 0;

	while (done < n) {
		count = n - done;
		err = bpf_map_lookup_batch(fd, done ? &in_batch : NULL, &out_batch, keys + done,
					   vals + done, &count, &bopts);
		done += count;
		if (err == -ENOENT) /* end of the map, count is valid */
			break;
		if (err)
			return err;
		in_batch = out_batch;
	}
	return done == n ? 0 : -EIO;
}

/* One try of cg_dp_table_read(): -EAGAIN if the table was replaced while it was read. */
static int dp_table_read_once(struct cg_dp *dp, uint32_t service_id, uint32_t *slots, uint32_t cap,
			      uint32_t *size)
{
	struct bpf_map_info info;
	__u32 *keys = NULL, *vals = NULL, zero = 0, n, id;
	__u32 len = sizeof(info);
	int fd = -1, err;

	if (!dp || !size || (!slots && cap))
		return -EINVAL;
	if (service_id >= CG_MAX_SERVICES)
		return -ERANGE;
	fd = dp_table_open(dp, service_id);
	if (fd < 0)
		return fd;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (!err)
		err = bpf_map_lookup_elem(fd, &zero, &n);
	if (err)
		goto out;
	if (!n || n > CG_MAX_TABLE_SIZE || info.max_entries != n + 1) {
		err = -EIO;
		goto out;
	}
	*size = n;
	if (n > cap) {
		err = -ENOSPC;
		goto out;
	}
	/* zeroed: a checker that does not know BPF_MAP_LOOKUP_BATCH (valgrind) sees them defined */
	keys = calloc((size_t)n + 1, sizeof(*keys));
	vals = calloc((size_t)n + 1, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	err = dp_table_fetch(fd, keys, vals, n + 1);
	/*
	 * A table replaced while it was read may be filled again for the next
	 * swap (dp_table_build reuses retired tables): what was read counts
	 * only if the table is still the live one after.
	 */
	if (!err && (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.tables), &service_id, &id) ||
		     id != info.id))
		err = -EAGAIN;
	if (!err)
		memcpy(slots, vals + 1, (size_t)n * sizeof(*slots));
out:
	free(keys);
	free(vals);
	if (fd >= 0)
		close(fd);
	return err;
}

int cg_dp_table_read(struct cg_dp *dp, uint32_t service_id, uint32_t *slots, uint32_t cap,
		     uint32_t *size)
{
	int err = -EAGAIN, tries;

	for (tries = 0; tries < 8 && err == -EAGAIN; tries++)
		err = dp_table_read_once(dp, service_id, slots, cap, size);
	return err;
}

int cg_dp_table_del(struct cg_dp *dp, uint32_t service_id)
{
	int err;

	if (!dp)
		return -EINVAL;
	if (service_id >= CG_MAX_SERVICES)
		return -ERANGE;
	err = bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.tables), &service_id);
	/* gone from the outer map (or never there): neither table is worth keeping */
	if ((!err || err == -ENOENT) && dp->tabs) {
		dp_buf_release(&dp->tabs[service_id].live);
		if (dp->tabs[service_id].spare.fd >= 0) {
			dp->spare_bytes -= dp->tabs[service_id].spare.len;
			dp_buf_release(&dp->tabs[service_id].spare);
		}
	}
	return err;
}

int cg_dp_conn_lookup(struct cg_dp *dp, const struct cg_flow_key *key, struct cg_conn *conn)
{
	if (!dp || !key || !conn)
		return -EINVAL;
	return bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.conntrack), key, conn);
}

int cg_dp_conn_set(struct cg_dp *dp, const struct cg_flow_key *key, const struct cg_conn *conn)
{
	struct cg_config cfg;
	struct cg_conn c;
	int err;

	if (!dp || !key || !conn)
		return -EINVAL;
	if (conn->cell >= CG_MAX_CELLS || conn->service >= CG_MAX_SERVICES)
		return -ERANGE;
	err = cg_dp_config_get(dp, &cfg);
	if (err)
		return err;
	/* the entry carries the flow's hash (the settings' seed); the caller's value is not trusted */
	c = *conn;
	c.hash = cg_flow_hash(key, cfg.seed_cell);
	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.conntrack), key, &c, BPF_ANY);
}

int cg_dp_conn_del(struct cg_dp *dp, const struct cg_flow_key *key)
{
	if (!dp || !key)
		return -EINVAL;
	return bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.conntrack), key);
}

int cg_dp_conn_count(struct cg_dp *dp, uint64_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct cg_flow_key *keys = NULL;
	struct cg_conn *vals = NULL;
	__u32 batch = 1024, count, in_batch = 0, out_batch = 0;
	bool first = true;
	uint64_t total = 0;
	int fd, err = 0;

	if (!dp || !n)
		return -EINVAL;
	fd = bpf_map__fd(dp->skel->maps.conntrack);
	for (;;) {
		if (!keys) {
			keys = calloc(batch, sizeof(*keys));
			vals = calloc(batch, sizeof(*vals));
			if (!keys || !vals) {
				err = -ENOMEM;
				goto out;
			}
		}
		count = batch;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals,
					   &count, &bopts);
		if (err == -ENOSPC && batch < (1U << 20)) {
			/* one hash bucket holds more than a batch: grow, same bucket */
			batch *= 4;
			free(keys);
			free(vals);
			keys = NULL;
			vals = NULL;
			continue;
		}
		if (err && err != -ENOENT)
			goto out;
		total += count;
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		in_batch = out_batch;
		first = false;
	}
	*n = total;
out:
	free(keys);
	free(vals);
	return err;
}

uint32_t cg_dp_conn_capacity(const struct cg_dp *dp)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	if (!dp)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_map__fd(dp->skel->maps.conntrack), &info, &len))
		return 0;
	return info.max_entries;
}

/*
 * Sum a per-CPU value made of nwords __u64 counters over the possible CPUs
 * into out (nwords of them). The kernel hands out one value per CPU,
 * 8-byte aligned, which the value structs already are.
 */
static int dp_percpu_sum(int fd, __u32 key, void *out, size_t nwords)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *buf = NULL, sum;
	size_t cpu, w;
	int err;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	buf = calloc((size_t)ncpu * nwords, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	err = bpf_map_lookup_elem(fd, &key, buf);
	if (err)
		goto out;
	for (w = 0; w < nwords; w++) {
		sum = 0;
		for (cpu = 0; cpu < (size_t)ncpu; cpu++)
			sum += buf[cpu * nwords + w];
		memcpy((char *)out + w * sizeof(sum), &sum, sizeof(sum));
	}
out:
	free(buf);
	return err;
}

int cg_dp_stats_read(struct cg_dp *dp, struct cg_counter out[CG_STAT_MAX])
{
	__u32 i;
	int err;

	if (!dp || !out)
		return -EINVAL;
	for (i = 0; i < CG_STAT_MAX; i++) {
		err = dp_percpu_sum(bpf_map__fd(dp->skel->maps.stats), i, &out[i],
				    sizeof(out[i]) / sizeof(__u64));
		if (err)
			return err;
	}
	return 0;
}

int cg_dp_svc_stats_read(struct cg_dp *dp, uint32_t service_id, struct cg_svc_stats *out)
{
	if (!dp || !out)
		return -EINVAL;
	if (service_id >= CG_MAX_SERVICES)
		return -ERANGE;
	return dp_percpu_sum(bpf_map__fd(dp->skel->maps.svc_stats), service_id, out,
			     sizeof(*out) / sizeof(__u64));
}

int cg_dp_cell_moves_read(struct cg_dp *dp, uint32_t cell_id, uint64_t *out)
{
	__u64 sum = 0;
	int err;

	if (!dp || !out)
		return -EINVAL;
	if (cell_id >= CG_MAX_CELLS)
		return -ERANGE;
	err = dp_percpu_sum(bpf_map__fd(dp->skel->maps.cell_moves), cell_id, &sum, 1);
	*out = err ? 0 : sum;
	return err;
}

int cg_dp_cell_stats_read(struct cg_dp *dp, uint32_t cell_id, uint32_t class,
			  struct cg_cell_stats *out)
{
	if (!dp || !out)
		return -EINVAL;
	if (cell_id >= CG_MAX_CELLS || class >= CG_MAX_CLASSES)
		return -ERANGE;
	return dp_percpu_sum(bpf_map__fd(dp->skel->maps.cell_stats),
			     cell_id * CG_MAX_CLASSES + class, out, sizeof(*out) / sizeof(__u64));
}
