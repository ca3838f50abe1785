/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellctl.h - the operator's CLI: global options, command tables, output and daemon helpers */
#ifndef CELLCTL_H
#define CELLCTL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cellgate/field.h"

#include "cellgate/dataplane.h"
#include "cellgate/state.h"

/*
 * Every command is a function of its arguments (argv[0] is the first word
 * after the command) that prints its result and returns the exit status:
 * CLI_OK, CLI_FAIL (the daemon refused, a file could not be read, the
 * daemon is down for a mutating command) or CLI_USAGE (bad command line,
 * nothing was sent). Errors are printed with cli_err() before returning.
 *
 * Output goes one way: a command obtains a JSON value (the daemon's result,
 * or the same view built from the pinned maps, or one it composed), then
 * either cli_json_out() prints it (-j) or a text renderer reads the same
 * value field by field. Text and JSON cannot disagree.
 */

#define CLI_OK	  0 /* success */
#define CLI_FAIL  1 /* refused or failed: nothing changed by cellctl */
#define CLI_USAGE 2 /* bad command line: nothing sent */
#define CLI_SAVED 3 /* the change was saved, but the data plane refused it (cellgated retries) */

/* Global options, set once by main(). */
struct cli {
	bool json;	       /* -j: JSON on stdout */
	bool pretty;	       /* -p: indented JSON (implies -j) */
	const char *sock;      /* -s: control socket path */
	const char *pin_dir;   /* --pin-dir: where the maps are pinned */
	const char *state_dir; /* --state-dir: where cellgated persists the state */
	int timeout_ms;	       /* --timeout: per request, connect included */
	char what[64];	       /* "cell set": the command running, for messages */
};

extern struct cli cli;

/* One command of an object's table, bpftool style: { "show", do_show, "show NAME" }. */
struct cli_cmd {
	const char *name;		  /* the word; any unambiguous prefix selects it */
	int (*fn)(int argc, char **argv); /* the arguments after the word; returns an exit status */
	const char *usage;		  /* its synopsis, lines indented by the caller */
	const char *help;		  /* what it does and its options (command help only);
					   * NULL: fn dispatches a table of its own ("class
					   * rule"), which answers -h itself */
};

/*
 * Argument cursor macros for command functions with (int argc, char **argv).
 * REQ_ARGS(what) fails the command with "missing WHAT" when no word is left.
 */
#define NEXT_ARG() (argc--, argv++)
#define REQ_ARGS(what)                                            \
	do {                                                      \
		if (argc < 1)                                     \
			return cli_usage_err("missing %s", what); \
	} while (0)
#define BAD_ARG() cli_usage_err("unexpected argument '%s'", *argv)

/*
 * cli_dispatch - run the command of cmds that argv[0] names (exact, or an
 * unambiguous prefix) with the remaining words. object is its name in
 * messages ("cell"). With no word, def runs (NULL: "missing COMMAND").
 * "help" and -h/--help print the object's help (or the command's if they
 * follow a command word) to stdout. Returns the command's exit status.
 */
int cli_dispatch(const char *object, const struct cli_cmd *cmds, const char *def, int argc,
		 char **argv);

/*
 * cli_help - print the usage of object's commands (only cmd's if not NULL)
 * to stdout, with the global options. Returns CLI_OK.
 */
int cli_help(const char *object, const struct cli_cmd *cmds, const char *cmd);

/* cli_wants_help - true if a word of argv is -h or --help. */
bool cli_wants_help(int argc, char **argv);

/*
 * cli_err - report a failure: "cellctl: MSG" on stderr, or {"error": MSG}
 * on stdout in JSON mode. Returns CLI_FAIL.
 */
int cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_usage_err - as cli_err(), prefixed with the running command. Returns CLI_USAGE. */
int cli_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_note - one line on stderr, "cellctl: MSG", in every mode. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * cli_json_out - print v on stdout as one JSON document (indented with -p)
 * followed by a newline. Borrows v. Returns CLI_OK, CLI_FAIL if the write fails.
 */
int cli_json_out(const json_t *v);

/* ---- arguments ---- */

/* One option a command takes. */
struct cli_opt {
	const char *name; /* "--weight" */
	bool flag;	  /* takes no value ("--dry-run") */
	const char *val;  /* set by cli_parse_opts(): the value, "" for a flag; NULL if absent */
};

/*
 * cli_parse_opts - read argv as options of opts (a NULL-named entry ends
 * it): "--weight N", "--weight=N" or a flag. Returns CLI_OK with each
 * given option's val set, or CLI_USAGE (printed) for an unknown option, a
 * missing value, an option given twice, or a word that is not an option.
 */
int cli_parse_opts(int argc, char **argv, struct cli_opt *opts);

/*
 * cli_name_opts - the words of 'OBJECT CMD NAME [OPTIONS]': NAME first (a
 * valid object name, not an option), then opts as cli_parse_opts() reads
 * them. Returns CLI_OK with *name set, or CLI_USAGE (printed).
 */
int cli_name_opts(int argc, char **argv, const char **name, struct cli_opt *opts);

/*
 * cli_parse_u64 - read text as a decimal integer in min..max (no sign, no
 * spaces, no suffix). On failure print "bad OPT 'TEXT': not a number" or
 * "... must be MIN..MAX" as a usage error and return -1; else 0.
 */
int cli_parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max, uint64_t *out);

/*
 * cli_parse_duration - a duration given as option opt: seconds, or a number
 * with a unit ("30s", "10m", "2h", "1d"), 1 s..max s. 0 with *out set, -1
 * with a usage error printed ("bad --ttl 'x': ...").
 */
int cli_parse_duration(const char *opt, const char *text, uint64_t max, uint64_t *out);

/*
 * cli_check_name - true if text is a valid object name: 1..31 of
 * [A-Za-z0-9._-], the first a letter or digit. Otherwise a usage error
 * "bad WHAT 'TEXT': ..." is printed and false returned.
 */
bool cli_check_name(const char *what, const char *text);

/*
 * cli_class_arg - a class as the daemon takes it: text of digits is an id
 * (0..CG_MAX_CLASSES-1, a JSON integer), anything else a class name (a
 * string). NULL with a usage error "bad OPT 'TEXT': ..." printed if it is
 * neither, or on allocation failure.
 */
json_t *cli_class_arg(const char *opt, const char *text);

/* cli_check_addr - true if text is an IPv4 or IPv6 address; else a usage error, false. */
bool cli_check_addr(const char *opt, const char *text);

/*
 * cli_check_enum - true if text is a word of the enum table; else a usage
 * error listing the words ("bad --state 'x' (active, draining, down)"), false.
 */
bool cli_check_enum(const char *opt, const char *text, const struct cg_enum *words);

/*
 * cli_field_arg - check text, given as option opt, as field field of object
 * o (by its field table: names, addresses, words, numbers within the
 * field's bounds, classes by name or id) and put it into args under the
 * field's name (a number as an integer). CLI_OK, or CLI_USAGE after a usage
 * error; semantic checks (does the region exist?) are cellgated's.
 */
int cli_field_arg(const struct cg_object *o, const char *field, const char *opt, const char *text,
		  json_t *args);

/* ---- the daemon, and the pins when it is down ---- */

/* What a read-only command shows when cellgated is down: state file + pinned maps. */
struct cli_local {
	struct cg_state st;	   /* the persisted desired state */
	struct cg_dp *dp;	   /* the pinned maps, read-only; NULL if none could be opened */
	bool pins_found;	   /* pin_dir holds maps (dp is NULL if opening them failed) */
	char state_path[PATH_MAX]; /* STATE_DIR/state.yaml */
};

/* Builds a read-only command's result from the local view; NULL on allocation failure. */
typedef json_t *(*cli_local_fn)(struct cli_local *loc);

/*
 * cli_call - send cmd with args (stolen, may be NULL) to cellgated and put
 * its result in *result. Returns CLI_OK, or CLI_FAIL with the reason
 * printed: the daemon's own message ("cell 'x' not found"), or the
 * connection failure ("cannot connect to '...': ... (is cellgated running?)").
 */
int cli_call(const char *cmd, json_t *args, json_t **result);

/*
 * cli_read - the result of a read-only command: cellgated's answer to cmd,
 * or, if cellgated is not running (socket missing or refusing), what local
 * builds from the state file and the pins. The fallback says so once on
 * stderr and marks every object of the result "source": "pinned" (or
 * "state" with nothing pinned). Returns as cli_call().
 */
int cli_read(const char *cmd, cli_local_fn local, json_t **result);

/* cli_local_get - the local view, loaded on first use; NULL (error printed) if unreadable. */
struct cli_local *cli_local_get(void);
/* cli_local_free - release the local view, if one was loaded. */
void cli_local_free(void);

/* ---- output helpers ---- */

/*
 * A text table: rows of cells, printed with each column as wide as its
 * widest cell, two spaces apart; columns flagged right-aligned (numbers)
 * are padded on the left. The first row is the header.
 */
struct cli_table;

/* cli_table_new - a table of ncols columns; right[i] aligns column i right. NULL on ENOMEM. */
struct cli_table *cli_table_new(size_t ncols, const bool *right);

/* cli_table_row - add a row of ncols strings (copied; NULL prints "-"). */
void cli_table_row(struct cli_table *t, const char *const *cells);

/* cli_table_print - print the table to stdout and free it. */
void cli_table_print(struct cli_table *t);

/* cli_count - a count people read at a glance: 950, 12.3k, 1.2M, 4.0G. buf of 16. */
const char *cli_count(uint64_t n, char *buf, size_t len);

/* cli_bytes - a byte count: 512B, 1.5KiB, 3.4MiB. buf of 16. */
const char *cli_bytes(uint64_t n, char *buf, size_t len);

/*
 * cli_rate - a per-second rate with its unit: "3.4 kpps" for unit "pps",
 * "12.3 Mbit/s" for "bit/s", "120/s" for "/s". buf of 24.
 */
const char *cli_rate(double per_s, const char *unit, char *buf, size_t len);

/* cli_u64 - an integer field of o (0 if missing or not an integer). */
uint64_t cli_u64(const json_t *o, const char *key);

/* cli_str - a string field of o ("" if missing or not a string). */
const char *cli_str(const json_t *o, const char *key);

/*
 * cli_print_kv - one "label:   value" line of a text record, labels padded
 * to one column, printf-style value.
 */
void cli_print_kv(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_print_counter - a counter as a cli_print_kv() line: "1234567 (1.2M)", "0 (0B)". */
void cli_print_counter(const char *label, uint64_t n, bool bytes);

/*
 * cli_show_one - the start of every 'OBJECT show NAME': NAME (the only word
 * left), the list read with cmd (local when cellgated is down), and the
 * object of kind called NAME in it. With -j the object is printed and *list
 * is NULL; otherwise *list holds the list (the caller prints *obj as text,
 * then releases *list). Returns CLI_OK or the exit status of a failure,
 * already reported.
 */
int cli_show_one(int argc, char **argv, const char *kind, const char *cmd, cli_local_fn local,
		 json_t **list, json_t **obj);

/*
 * cli_change_named - 'OBJECT del NAME' and its kind: NAME (the only word
 * left) sent to the daemon's cmd as {name}, the changes printed. Returns
 * the exit status.
 */
int cli_change_named(int argc, char **argv, const char *cmd);

/*
 * cli_find - the object of array arr whose "name" is name, or NULL.
 * Borrowed from arr.
 */
json_t *cli_find(const json_t *arr, const char *name);

/*
 * cli_print_changes - print the reply of a mutating command: one line per
 * change ("~ cell use1-a weight 100 -> 200"), then "applied, generation N",
 * "dry run: nothing changed" or "no changes". In JSON mode the reply as is.
 * A reply's "warning" (saved, durability unknown) goes to stderr; its
 * "dataplane_error" (saved, but the data plane refused it) too, and makes the
 * exit status CLI_SAVED. Returns an exit status.
 */
int cli_print_changes(const json_t *reply, bool dry_run);

/*
 * cli_change_flags - put the --dry-run and --force options (either may be
 * NULL: not taken) into a change's args as "dry_run" and "force"; returns
 * whether it is a dry run.
 */
bool cli_change_flags(const struct cli_opt *dry_run, const struct cli_opt *force, json_t *args);

/* The help lines of --dry-run and --force, for every change that takes them. */
#define CLI_CHANGE_OPTIONS                                                               \
	"  --dry-run         print the changes and the rules' verdict, change nothing\n" \
	"  --force           go ahead even if a safety rule refuses (min_cells,\n"       \
	"                    min_regions, max_out); logged with who\n"

/* ---- objects: each file's entry point, argv after the object word ---- */

int do_status(int argc, char **argv);
int do_service(int argc, char **argv);
int do_cell(int argc, char **argv);
int do_region(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_config(int argc, char **argv);
int do_class(int argc, char **argv);
int do_shed(int argc, char **argv);

#endif /* CELLCTL_H */
