/* mkmap_cmd - the postmap / postalias / newaliases command logic.
 *
 * Contract: mkmap_cmd_main() is the whole program for cli/postmap.c and
 * cli/postalias.c (newaliases is postalias by argv[0]). Messages go to
 * stderr as "postmap: fatal: ..."; exit 0 on success, 1 on any fatal error
 * and when a -q/-d key was not found, as Postfix does.
 *
 * Limits: -q - and -d - read keys one per line; lines longer than
 * MKMAP_CMD_LINE_MAX bytes are ignored with a warning.
 */
#include "sys_defs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "dict.h"
#include "maps.h"
#include "mkmap.h"
#include "mkmap_cmd.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define MKMAP_CMD_LINE_MAX 4096

/* mkmap_cmd_read_line - one stdin line (no newline): 1, or 0 at EOF */
static int mkmap_cmd_read_line(FILE *fp, VSTRING *buf)
{
    int     ch;
    bool    any = false, toolong = false;

    vstring_reset(buf);
    while ((ch = getc(fp)) != EOF) {
	any = true;
	if (ch == '\n')
	    break;
	if (LEN(buf) >= MKMAP_CMD_LINE_MAX)
	    toolong = true;
	else
	    vstring_addch(buf, ch);
    }
    if (toolong) {
	msg_warn("ignoring input line longer than %d bytes", MKMAP_CMD_LINE_MAX);
	vstring_reset(buf);
    }
    vstring_chomp(buf);
    return any;
}

/* mkmap_cmd_spec - "type:file" with the default type filled in (caller frees) */
static char *mkmap_cmd_spec(const char *arg)
{
    char   *type, *file, *out;
    VSTRING *vp = vstring_alloc(64);

    mkmap_split(arg, &type, &file);
    vstring_fmt(vp, "%s:%s", type, file);
    myfree(type);
    myfree(file);
    out = vstring_export(&vp);
    return out;
}

/* mkmap_cmd_open - open every table for reading, fatal on error */
static DICT **mkmap_cmd_open_all(char **specs, int count, int dict_flags)
{
    DICT  **dicts = mycalloc((size_t) count + 1, sizeof(*dicts));

    for (int i = 0; i < count; i++) {
	char   *spec = mkmap_cmd_spec(specs[i]);
	const char *why;

	if ((dicts[i] = dict_open(spec, O_RDONLY, dict_flags, &why)) == NULL)
	    msg_fatal("%s", why);
	myfree(spec);
    }
    return dicts;
}

/* mkmap_cmd_query - search the tables in order: 1 found, 0 not */
static int mkmap_cmd_query(DICT **dicts, int count, const char *key, const char **value_r)
{
    const char *why;

    for (int i = 0; i < count; i++) {
	int     st = dict_lookup(dicts[i], key, 0, value_r, &why);

	if (st == DICT_ERROR)
	    msg_fatal("table %s: query error: %s", dicts[i]->spec, why);
	if (st == DICT_FOUND)
	    return 1;
    }
    return 0;
}

/* mkmap_cmd_delete - delete key from one table (opened for writing) */
static int mkmap_cmd_delete_keys(const char *arg, ARGV *keys, int dict_flags)
{
    char   *spec = mkmap_cmd_spec(arg);
    const char *why;
    DICT   *d = dict_open(spec, O_RDWR, dict_flags, &why);
    int     found = 0;

    if (d == NULL)
	msg_fatal("%s", why);
    for (int i = 0; i < keys->argc; i++) {
	int     st = dict_remove(d, keys->argv[i], &why);

	if (st == DICT_ERROR)
	    msg_fatal("%s", why);
	found += (st == DICT_FOUND);
    }
    if (found && dict_commit(d, &why) < 0)
	msg_fatal("%s", why);
    dict_close(&d);
    myfree(spec);
    return found;
}

/* mkmap_cmd_usage - complain and exit */
static void mkmap_cmd_usage(const char *prog)
{
    msg_fatal("usage: %s [-Nfinorsvw] [-c config_dir] [-d key] [-q key] [map_type:]file...", prog);
}

/* mkmap_cmd_main - the program */
int     mkmap_cmd_main(int argc, char **argv, bool aliases)
{
    const char *slash = strrchr(argv[0], '/');
    const char *prog = slash ? slash + 1 : argv[0];
    bool    newaliases = strcmp(prog, "newaliases") == 0;
    const char *query = NULL, *del = NULL, *why;
    int     flags = aliases ? MKMAP_FLAG_ALIASES : 0;
    bool    dump = false, incremental = false;
    int     ch, dict_flags = DICT_FLAG_FOLD_FIX;
    VSTRING *line = vstring_alloc(100);
    int     status = 0;

    msg_init(prog, MSG_TO_STDERR);
    opterr = 0;
    while ((ch = getopt(argc, argv, "bc:d:fhimNnopq:rsuUvwxFP")) > 0) {
	switch (ch) {
	case 'c':
	    config_set_dir(optarg);
	    break;
	case 'd':
	    del = optarg;
	    break;
	case 'f':
	    flags |= MKMAP_FLAG_NOFOLD;
	    dict_flags &= ~DICT_FLAG_FOLD_FIX;
	    break;
	case 'i':
	    incremental = true;
	    break;
	case 'o':
	    flags |= MKMAP_FLAG_KEEP_OWNER;
	    break;
	case 'q':
	    query = optarg;
	    break;
	case 'r':
	    flags = (flags | MKMAP_FLAG_DUP_REPLACE) & ~MKMAP_FLAG_DUP_IGNORE;
	    break;
	case 'w':
	    flags = (flags | MKMAP_FLAG_DUP_IGNORE) & ~MKMAP_FLAG_DUP_REPLACE;
	    break;
	case 's':
	    dump = true;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	case 'b': case 'h': case 'm': case 'N': case 'n': case 'p':
	case 'u': case 'U': case 'x': case 'F': case 'P':
	    break;			/* accepted for compatibility; no effect */
	default:
	    mkmap_cmd_usage(prog);
	}
    }
    if (config_load(CONFIG_FLAG_NO_FILE_OK | CONFIG_FLAG_NO_WARN, &why) < 0)
	msg_fatal("%s", why);
    if ((query != NULL) + (del != NULL) + dump > 1)
	msg_fatal("specify only one of -q, -d, -s");

    if (newaliases && optind == argc) {
	ARGV   *dbs = maps_split_list(var_alias_database ? var_alias_database : "");

	for (int i = 0; i < dbs->argc; i++)
	    if (mkmap_build(dbs->argv[i], NULL, flags, &why) < 0)
		msg_fatal("%s", why);
	argv_free(&dbs);
	vstring_free(&line);
	return 0;
    }
    if (optind == argc)
	mkmap_cmd_usage(prog);

    if (query) {
	DICT  **dicts = mkmap_cmd_open_all(argv + optind, argc - optind, dict_flags);
	const char *value;
	int     found = 0;

	if (strcmp(query, "-") == 0) {
	    while (mkmap_cmd_read_line(stdin, line)) {
		if (LEN(line) == 0)
		    continue;
		if (mkmap_cmd_query(dicts, argc - optind, STR(line), &value)) {
		    printf("%s%s\t%s\n", STR(line), aliases ? ":" : "", value);
		    found++;
		}
	    }
	} else if ((found = mkmap_cmd_query(dicts, argc - optind, query, &value)) != 0) {
	    printf("%s\n", value);
	}
	status = found ? 0 : 1;
	for (int i = 0; i < argc - optind; i++)
	    dict_close(&dicts[i]);
	myfree(dicts);
    } else if (dump) {
	DICT  **dicts = mkmap_cmd_open_all(argv + optind, argc - optind, dict_flags);

	for (int i = 0; i < argc - optind; i++) {
	    const char *key, *value;
	    int     st;

	    for (st = dict_sequence(dicts[i], DICT_SEQ_FIRST, &key, &value, &why);
		 st == DICT_FOUND;
		 st = dict_sequence(dicts[i], DICT_SEQ_NEXT, &key, &value, &why))
		printf("%s%s\t%s\n", key, aliases ? ":" : "", value);
	    if (st == DICT_ERROR)
		msg_fatal("%s", why);
	    dict_close(&dicts[i]);
	}
	myfree(dicts);
    } else if (del) {
	ARGV   *keys = argv_alloc(4);
	int     found = 0;

	if (strcmp(del, "-") == 0) {
	    while (mkmap_cmd_read_line(stdin, line))
		if (LEN(line) > 0)
		    argv_add(keys, STR(line), (char *) 0);
	} else {
	    argv_add(keys, del, (char *) 0);
	}
	for (int i = optind; i < argc; i++)
	    found += mkmap_cmd_delete_keys(argv[i], keys, dict_flags);
	argv_free(&keys);
	status = found ? 0 : 1;
    } else {
	for (int i = optind; i < argc; i++)
	    if (mkmap_build(argv[i], incremental ? stdin : NULL, flags, &why) < 0)
		msg_fatal("%s", why);
    }
    fflush(stdout);
    if (ferror(stdout))
	msg_fatal("write error on standard output");
    vstring_free(&line);
    return status;
}
