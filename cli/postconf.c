/* postconf - show and edit the Posthorn configuration.
 *
 * Usage:
 *   postconf [-c DIR] [-n | -d] [-h] [-x] [-v] [name ...]
 *   postconf [-c DIR] -e 'name = value' ... | name=value ...
 *   postconf [-c DIR] -X name ...          remove parameters from main.cf
 *   postconf [-c DIR] -# name ...          comment parameters out
 *   postconf [-c DIR] -M [service[/type] ...]
 *   postconf -a | -A                       SASL server / client types
 *
 * Without names, every registry parameter is printed as "name = value"
 * (main.cf setting or default, unexpanded), plus the user-defined names of
 * main.cf, sorted by name. -n prints only main.cf settings, -d registry
 * defaults (computed ones resolved), -h values only, -x expanded values.
 * An unknown name gives "postconf: warning: NAME: unknown parameter" and,
 * as with Postfix 3.7, does not change the exit status.
 *
 * Edits (-e, -X, -#) work on the text of main.cf: a parameter's whole
 * logical line (first line and its continuation lines) is replaced,
 * removed or commented out; every comment line, including comments between
 * continuation lines, and the order of the file are kept; new names are
 * appended at the end. The file is replaced atomically (temp file, fsync,
 * rename) with its old permissions. Every occurrence of a duplicated name
 * is edited.
 *
 * -M prints master.cf entries one per line in Postfix's column layout,
 * "-o name=value" pairs included ("-o {name=value with spaces}").
 *
 * Exit status: 0, or 1 after "postconf: fatal: ..." (missing file, syntax
 * error with file and line, bad usage).
 *
 * Limits: main.cf is edited in memory and may be at most POSTCONF_MAX_FILE
 * bytes.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "argv.h"
#include "config.h"
#include "htable.h"
#include "mastercf.h"
#include "msg.h"
#include "mymalloc.h"
#include "safefile.h"
#include "vstring.h"

#define POSTCONF_MAX_FILE (64 * 1024 * 1024)

#define PC_SHOW_NONDEF  (1 << 0)		/* -n */
#define PC_SHOW_DEFS    (1 << 1)		/* -d */
#define PC_HIDE_NAME    (1 << 2)		/* -h */
#define PC_SHOW_EVAL    (1 << 3)		/* -x */

enum pc_mode { PC_SHOW, PC_EDIT, PC_REMOVE, PC_COMMENT, PC_MASTER, PC_SASL_SERVER, PC_SASL_CLIENT };

/* postconf_usage - complain and exit */
static void PH_NORETURN postconf_usage(void)
{
    msg_fatal("usage: postconf [-c config_dir] [-n | -d] [-h] [-x] [-v] [name ...]"
              " | -e name=value ... | -X name ... | -# name ... | -M [service[/type] ...]"
              " | -a | -A");
}

/* postconf_print - "name = value", "name =" or just the value */
static void postconf_print(const char *name, const char *value, int flags)
{
    VSTRING *buf = NULL;
    const char *why;

    if (flags & PC_SHOW_EVAL) {
        buf = vstring_alloc(100);
        if (config_expand(buf, value, &why) < 0)
            msg_fatal("parameter %s: %s", name, why);
        value = STR(buf);
    }
    if (flags & PC_HIDE_NAME)
        printf("%s\n", value);
    else if (*value)
        printf("%s = %s\n", name, value);
    else
        printf("%s =\n", name);
    if (buf)
        vstring_free(&buf);
}

/* postconf_value - value to show for name, NULL when not applicable */
static const char *postconf_value(const char *name, int flags)
{
    const PARAM_DEF *p = param_find(name);

    if (flags & PC_SHOW_DEFS)
        return p ? config_default(p) : NULL;
    if (flags & PC_SHOW_NONDEF)
        return config_is_set(name) ? config_lookup_raw(name) : NULL;
    return config_lookup_raw(name);
}

/* postconf_compute_warn - say why a computed default came out empty
 * (the daemons refuse to start with that message; postconf goes on) */
static void postconf_compute_warn(void)
{
    const char *why = config_compute_error();

    if (why != NULL)
        msg_warn("%s", why);
}

/* postconf_cmp - qsort by name */
static int postconf_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* postconf_show - the default mode */
static void postconf_show(int flags, char **names, int count)
{
    const char *why;

    if (config_load(CONFIG_FLAG_NO_EVAL
                    | ((flags & PC_SHOW_DEFS) ? CONFIG_FLAG_DEFAULTS_ONLY : 0), &why) < 0)
        msg_fatal("%s", why);
    if (count > 0) {
        for (int i = 0; i < count; i++) {
            const char *val = postconf_value(names[i], flags);

            if (val != NULL)
                postconf_print(names[i], val, flags);
            else if (!(flags & PC_SHOW_NONDEF) || param_find(names[i]) == NULL)
                msg_warn("%s: unknown parameter", names[i]);
        }
        postconf_compute_warn();
        return;
    }

    /* All names: the registry plus user-defined main.cf names. */
    size_t  nents, n = 0;
    const CONFIG_ENTRY *ents = config_entries(&nents);
    const char **all = mycalloc(param_count + nents + 1, sizeof(char *));

    for (size_t i = 0; i < param_count; i++)
        all[n++] = param_table[i].name;
    if (!(flags & PC_SHOW_DEFS))
        for (size_t i = 0; i < nents; i++)
            if (param_find(ents[i].name) == NULL)
                all[n++] = ents[i].name;
    qsort(all, n, sizeof(*all), postconf_cmp);
    for (size_t i = 0; i < n; i++) {
        const char *val = postconf_value(all[i], flags);

        if (val != NULL)
            postconf_print(all[i], val, flags);
    }
    myfree(all);
    postconf_compute_warn();
}

/* One physical line of main.cf. */
typedef struct pc_line {
    const char *text;			/* not terminated */
    size_t  len;			/* without the newline */
    bool    newline;			/* had one */
    enum { PC_L_OTHER, PC_L_START, PC_L_CONT } kind;	/* OTHER: comment/blank */
} PC_LINE;

/* postconf_split_lines - physical lines of buf */
static PC_LINE *postconf_split_lines(VSTRING *buf, size_t *count_r)
{
    size_t  count = 0, size = 64;
    PC_LINE *lines = mycalloc(size, sizeof(*lines));
    const char *cp = STR(buf), *end = STR(buf) + LEN(buf);

    while (cp < end) {
        const char *nl = memchr(cp, '\n', (size_t) (end - cp));
        PC_LINE *l;
        size_t  skip = 0;

        if (count == size) {
            size *= 2;
            lines = myreallocarray(lines, size, sizeof(*lines));
        }
        l = &lines[count++];
        l->text = cp;
        l->len = nl ? (size_t) (nl - cp) : (size_t) (end - cp);
        l->newline = nl != NULL;
        while (skip < l->len && isspace((unsigned char) cp[skip]))
            skip++;
        if (skip == l->len || cp[skip] == '#')
            l->kind = PC_L_OTHER;
        else if (skip > 0)
            l->kind = PC_L_CONT;
        else
            l->kind = PC_L_START;
        cp = nl ? nl + 1 : end;
    }
    *count_r = count;
    return lines;
}

/* postconf_line_name - parameter name of a start line, or "" */
static char *postconf_line_name(const PC_LINE *l)
{
    const char *eq = memchr(l->text, '=', l->len);
    size_t  n;

    if (eq == NULL)
        return mystrdup("");
    n = (size_t) (eq - l->text);
    while (n > 0 && isspace((unsigned char) l->text[n - 1]))
        n--;
    if (!config_valid_name(l->text, n))
        return mystrdup("");
    return mystrndup(l->text, n);
}

/* postconf_emit - append one physical line as it was */
static void postconf_emit(VSTRING *out, const PC_LINE *l)
{
    vstring_catn(out, l->text, l->len);
    if (l->newline)
        vstring_addch(out, '\n');
}

/* postconf_newline - make sure out ends a line before appending */
static void postconf_newline(VSTRING *out)
{
    if (LEN(out) > 0 && STR(out)[LEN(out) - 1] != '\n')
        vstring_addch(out, '\n');
}

/* postconf_edit - -e, -X or -# on main.cf; edits: name -> value (or "") */
static void postconf_edit(enum pc_mode mode, HTABLE *edits, ARGV *order)
{
    const char *path = config_main_cf();
    VSTRING *buf = vstring_alloc(4096);
    VSTRING *out = vstring_alloc(4096);
    HTABLE *seen = htable_create(16);
    PC_LINE *lines;
    size_t  count, i;
    struct stat st;
    SAFE_FILE *sf;
    const char *why;

    if (safe_read_file(path, buf, POSTCONF_MAX_FILE) < 0)
        msg_fatal("open %s for reading: %s", path,
                  errno == EFBIG ? "file too large" : strerror(errno));
    if (stat(path, &st) < 0)
        msg_fatal("stat %s: %m", path);
    lines = postconf_split_lines(buf, &count);

    for (i = 0; i < count;) {
        size_t  last = i, j;
        char   *name;
        const char *val;

        if (lines[i].kind != PC_L_START) {
            postconf_emit(out, &lines[i++]);
            continue;
        }
        /* The logical line: continuation lines, across comment lines. */
        for (j = i + 1; j < count && lines[j].kind != PC_L_START; j++)
            if (lines[j].kind == PC_L_CONT)
                last = j;
        name = postconf_line_name(&lines[i]);
        if (*name == 0 || (val = htable_find(edits, name)) == NULL) {
            for (j = i; j <= last; j++)
                postconf_emit(out, &lines[j]);
        } else {
            if (htable_find(seen, name) != NULL)
                msg_warn("%s: multiple entries for \"%s\"", path, name);
            else
                htable_enter(seen, name, (void *) 1);
            switch (mode) {
            case PC_EDIT:
                vstring_fmt_append(out, "%s = %s\n", name, val);
                break;
            case PC_COMMENT:
                /* Each line in place, comments inside stay where they are. */
                for (j = i; j <= last; j++) {
                    if (lines[j].kind != PC_L_OTHER)
                        vstring_addch(out, '#');
                    postconf_emit(out, &lines[j]);
                    postconf_newline(out);
                }
                break;
            default:
                break;
            }
            /* Comments inside a replaced or removed logical line stay. */
            for (j = i + 1; mode != PC_COMMENT && j <= last; j++)
                if (lines[j].kind == PC_L_OTHER) {
                    postconf_emit(out, &lines[j]);
                    postconf_newline(out);
                }
        }
        myfree(name);
        i = last + 1;
    }
    if (mode == PC_EDIT) {
        for (int k = 0; k < order->argc; k++) {
            const char *name = order->argv[k];

            if (htable_find(seen, name) == NULL) {
                postconf_newline(out);
                vstring_fmt_append(out, "%s = %s\n", name, (char *) htable_find(edits, name));
                htable_enter(seen, name, (void *) 1);
            }
        }
    }
    if ((sf = safe_file_create(path, st.st_mode & 07777, &why)) == NULL)
        msg_fatal("%s", why);
    if (safe_file_write(sf, STR(out), LEN(out)) < 0) {
        int     saved = errno;

        safe_file_abort(&sf);
        msg_fatal("write %s: %s", path, strerror(saved));
    }
    if (safe_file_commit(&sf, &why) < 0)
        msg_fatal("%s", why);
    myfree(lines);
    htable_free(&seen, NULL);
    vstring_free(&buf);
    vstring_free(&out);
}

/* postconf_parse_edit - "name = value" or "name=value" into edits */
static void postconf_parse_edit(const char *arg, HTABLE *edits, ARGV *order)
{
    const char *eq = strchr(arg, '=');
    const char *ns = arg, *ne, *vs, *ve;
    HTABLE_ENTRY *ht;
    char   *name;

    if (eq == NULL)
        msg_fatal("missing '=' after parameter name: \"%s\"", arg);
    ne = eq;
    while (ns < ne && isspace((unsigned char) *ns))
        ns++;
    while (ne > ns && isspace((unsigned char) ne[-1]))
        ne--;
    if (!config_valid_name(ns, (size_t) (ne - ns)))
        msg_fatal("bad parameter name: \"%.*s\"", (int) (ne - ns), ns);
    for (vs = eq + 1; isspace((unsigned char) *vs); vs++)
         /* void */ ;
    for (ve = vs + strlen(vs); ve > vs && isspace((unsigned char) ve[-1]); ve--)
         /* void */ ;
    for (const char *cp = vs; cp < ve; cp++)
        if (*cp == '\n' || *cp == '\r')
            msg_fatal("value of %.*s contains a line break", (int) (ne - ns), ns);
    name = mystrndup(ns, (size_t) (ne - ns));
    if ((ht = htable_locate(edits, name)) != NULL) {
        myfree(ht->value);
        ht->value = mystrndup(vs, (size_t) (ve - vs));
    } else {
        htable_enter(edits, name, mystrndup(vs, (size_t) (ve - vs)));
        argv_add(order, name, (char *) 0);
    }
    myfree(name);
}

/* postconf_master_line - one entry in Postfix's postconf -M layout */
static void postconf_master_line(VSTRING *out, const MASTER_ENTRY *ent)
{
    static const size_t cols[] = {0, 11, 17, 25, 33, 41, 49, 57};
    ARGV   *w = ent->words;

    vstring_reset(out);
    for (int i = 0; i < w->argc; i++) {
        const char *word = w->argv[i];
        bool    braced = false;

        if (i > 0) {
            size_t  target = i < 8 ? cols[i] : 0;

            do
                vstring_addch(out, ' ');
            while (LEN(out) < target);
        }
        if (i >= 8)
            for (const char *cp = word; *cp && !braced; cp++)
                braced = isspace((unsigned char) *cp);
        if (braced)
            vstring_fmt_append(out, "{%s}", word);
        else
            vstring_cat(out, word);
    }
}

/* postconf_master - -M */
static void postconf_master(char **reqs, int count)
{
    const char *why;
    MASTER_TABLE *mt = mastercf_read_flags(config_master_cf(), MASTERCF_FLAG_QUIET, &why);
    VSTRING *line;
    bool   *matched;

    if (mt == NULL)
        msg_fatal("%s", why);
    line = vstring_alloc(200);
    matched = mycalloc((size_t) count + 1, sizeof(bool));
    for (size_t i = 0; i < mt->count; i++) {
        const MASTER_ENTRY *ent = mt->entries[i];
        bool    show = count == 0;

        for (int r = 0; r < count; r++) {
            const char *slash = strchr(reqs[r], '/');
            size_t  nlen = slash ? (size_t) (slash - reqs[r]) : strlen(reqs[r]);

            if (strlen(ent->name) == nlen && strncmp(ent->name, reqs[r], nlen) == 0
                && (slash == NULL || strcmp(slash + 1, ent->type) == 0)) {
                matched[r] = true;
                show = true;
            }
        }
        if (show) {
            postconf_master_line(line, ent);
            printf("%s\n", STR(line));
        }
    }
    for (int r = 0; r < count; r++)
        if (!matched[r])
            msg_warn("unmatched request: \"%s\"", reqs[r]);
    myfree(matched);
    vstring_free(&line);
    mastercf_free(&mt);
}

/* postconf_set_mode - one of the exclusive modes */
static void postconf_set_mode(enum pc_mode *mode, enum pc_mode want)
{
    if (*mode != PC_SHOW && *mode != want)
        msg_fatal("specify only one of -a, -A, -e, -M, -X, -#");
    *mode = want;
}

int     main(int argc, char **argv)
{
    enum pc_mode mode = PC_SHOW;
    int     flags = 0, ch;

    msg_init("postconf", MSG_TO_STDERR);
    config_set_process("postconf");
    while ((ch = getopt(argc, argv, "aAc:dehMnvxX#")) != -1) {
        switch (ch) {
        case 'a':
            postconf_set_mode(&mode, PC_SASL_SERVER);
            break;
        case 'A':
            postconf_set_mode(&mode, PC_SASL_CLIENT);
            break;
        case 'c':
            config_set_dir(optarg);
            break;
        case 'd':
            flags |= PC_SHOW_DEFS;
            break;
        case 'e':
            postconf_set_mode(&mode, PC_EDIT);
            break;
        case 'h':
            flags |= PC_HIDE_NAME;
            break;
        case 'M':
            postconf_set_mode(&mode, PC_MASTER);
            break;
        case 'n':
            flags |= PC_SHOW_NONDEF;
            break;
        case 'v':
            msg_verbose++;
            break;
        case 'x':
            flags |= PC_SHOW_EVAL;
            break;
        case 'X':
            postconf_set_mode(&mode, PC_REMOVE);
            break;
        case '#':
            postconf_set_mode(&mode, PC_COMMENT);
            break;
        default:
            postconf_usage();
        }
    }
    if ((flags & PC_SHOW_NONDEF) && (flags & PC_SHOW_DEFS))
        msg_fatal("specify only one of -d and -n");
    if (mode != PC_SHOW && flags != 0)
        msg_fatal("-n, -d, -h and -x apply only to showing parameters");
    argv += optind;
    argc -= optind;

    switch (mode) {
    case PC_SHOW:
        postconf_show(flags, argv, argc);
        break;
    case PC_SASL_SERVER:
        if (argc)
            postconf_usage();
        printf("cyrus\ndovecot\n");
        break;
    case PC_SASL_CLIENT:
        if (argc)
            postconf_usage();
        printf("cyrus\n");
        break;
    case PC_MASTER:
        postconf_master(argv, argc);
        break;
    case PC_EDIT:
    case PC_REMOVE:
    case PC_COMMENT:{
            HTABLE *edits = htable_create(16);
            ARGV   *order = argv_alloc(8);

            if (argc == 0)
                postconf_usage();
            for (int i = 0; i < argc; i++) {
                if (mode == PC_EDIT) {
                    postconf_parse_edit(argv[i], edits, order);
                } else {
                    if (!config_valid_name(argv[i], strlen(argv[i])))
                        msg_fatal("bad parameter name: \"%s\"", argv[i]);
                    if (htable_find(edits, argv[i]) == NULL) {
                        htable_enter(edits, argv[i], mystrdup(""));
                        argv_add(order, argv[i], (char *) 0);
                    }
                }
            }
            postconf_edit(mode, edits, order);
            htable_free(&edits, myfree);
            argv_free(&order);
            break;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        msg_fatal("write error on standard output: %m");
    return 0;
}
