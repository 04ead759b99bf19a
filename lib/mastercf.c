/* mastercf - read master.cf, Postfix's service table.
 *
 * Contract (mastercf.h): one entry per logical line (continuation lines
 * start with white space; "#" lines and blank lines are skipped anywhere),
 * seven fields, then the command and its arguments. "-" selects a field's
 * default. "-o name=value" and "-o { name = value }" become overrides; any
 * other "{ text }" is one argument with its spaces. Every problem is an
 * error "FILE, line N: ..." for the line where the entry starts; nothing
 * is half-read.
 *
 * Limits: a logical line is at most MASTERCF_MAX_LINE bytes, a NUL byte is
 * an error, wakeup and maxproc are at most MASTERCF_MAX_NUMBER, and a
 * service/type pair may appear once.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "argv.h"
#include "config.h"
#include "logical_line.h"
#include "mastercf.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define MASTERCF_MAX_LINE   (1024 * 1024)
#define MASTERCF_MAX_NUMBER 1000000000

static VSTRING *mastercf_err;

/* One word of a logical line. */
typedef struct mastercf_tok {
    char   *text;
    bool    braced;			/* was "{ text }" */
} MASTERCF_TOK;

/* mastercf_error - "FILE, line N: text" into the static buffer */
static const char *PH_PRINTF(3, 4) mastercf_error(const char *path, int line,
                                                  const char *fmt,...)
{
    va_list ap;

    if (mastercf_err == NULL)
        mastercf_err = vstring_alloc(100);
    if (line > 0)
        vstring_fmt(mastercf_err, "%s, line %d: ", path, line);
    else
        vstring_fmt(mastercf_err, "%s: ", path);
    va_start(ap, fmt);
    vstring_vfmt_append(mastercf_err, fmt, ap);
    va_end(ap);
    return STR(mastercf_err);
}

/* mastercf_quote - printable, shortened copy of a string for a message */
static const char *mastercf_quote(VSTRING *buf, const char *text)
{
    return config_quote(buf, text, strlen(text));
}

/* mastercf_entry_free - release one entry */
static void mastercf_entry_free(MASTER_ENTRY *ent)
{
    if (ent == NULL)
        return;
    myfree(ent->name);
    myfree(ent->type);
    myfree(ent->command);
    if (ent->args)
        argv_free(&ent->args);
    if (ent->overrides)
        argv_free(&ent->overrides);
    if (ent->words)
        argv_free(&ent->words);
    myfree(ent);
}

/* mastercf_free - release the table */
void    mastercf_free(MASTER_TABLE **mtp)
{
    MASTER_TABLE *mt = *mtp;

    if (mt == NULL)
        return;
    for (size_t i = 0; i < mt->count; i++)
        mastercf_entry_free(mt->entries[i]);
    myfree(mt->entries);
    myfree(mt->path);
    myfree(mt);
    *mtp = NULL;
}

/* mastercf_find - entry by service and type */
MASTER_ENTRY *mastercf_find(MASTER_TABLE *mt, const char *service, const char *type)
{
    for (size_t i = 0; i < mt->count; i++)
        if (strcmp(mt->entries[i]->name, service) == 0
            && strcmp(mt->entries[i]->type, type) == 0)
            return mt->entries[i];
    return NULL;
}

/* mastercf_trim - strip white space at both ends of [*s, *e) */
static void mastercf_trim(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char) **s))
        (*s)++;
    while (*e > *s && isspace((unsigned char) (*e)[-1]))
        (*e)--;
}

/* mastercf_tokenize - split a logical line; -1 with *why on bad braces */
static int mastercf_tokenize(const char *text, MASTERCF_TOK **toks_r,
                             size_t *count_r, const char **why)
{
    MASTERCF_TOK *toks = NULL;
    size_t  count = 0, size = 0;
    const char *cp = text;

    for (;;) {
        const char *s, *e;
        bool    braced = false;

        while (isspace((unsigned char) *cp))
            cp++;
        if (*cp == 0)
            break;
        if (*cp == '{') {
            int     level = 1;

            s = ++cp;
            for (; *cp; cp++) {
                if (*cp == '{')
                    level++;
                else if (*cp == '}' && --level == 0)
                    break;
            }
            if (*cp != '}') {
                *why = "missing '}'";
                goto fail;
            }
            e = cp++;
            if (*cp != 0 && !isspace((unsigned char) *cp)) {
                *why = "text after '}'";
                goto fail;
            }
            mastercf_trim(&s, &e);
            braced = true;
        } else {
            s = cp;
            while (*cp && !isspace((unsigned char) *cp))
                cp++;
            e = cp;
        }
        if (count == size) {
            size = size ? size * 2 : 16;
            toks = myreallocarray(toks, size, sizeof(*toks));
        }
        toks[count].text = mystrndup(s, (size_t) (e - s));
        toks[count].braced = braced;
        count++;
    }
    *toks_r = toks;
    *count_r = count;
    return 0;
fail:
    for (size_t i = 0; i < count; i++)
        myfree(toks[i].text);
    myfree(toks);
    return -1;
}

/* mastercf_yesno - y/n/- field; 0 or -1 */
static int mastercf_yesno(const char *text, bool def, bool *val_r)
{
    if (strcmp(text, "-") == 0)
        *val_r = def;
    else if (strcmp(text, "y") == 0)
        *val_r = true;
    else if (strcmp(text, "n") == 0)
        *val_r = false;
    else
        return -1;
    return 0;
}

/* mastercf_number - decimal digits up to MASTERCF_MAX_NUMBER; 0 or -1 */
static int mastercf_number(const char *text, size_t len, int *val_r)
{
    long    val = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char) text[i]))
            return -1;
        val = val * 10 + (text[i] - '0');
        if (val > MASTERCF_MAX_NUMBER)
            return -1;
    }
    *val_r = (int) val;
    return 0;
}

/* mastercf_override - "name=value" (or "name = value" in braces) */
static int mastercf_override(MASTER_ENTRY *ent, const char *text, const char **why)
{
    const char *eq = strchr(text, '=');
    const char *ns = text, *ne, *vs, *ve;
    VSTRING *nv;

    if (eq == NULL) {
        *why = "-o needs name=value";
        return -1;
    }
    ne = eq;
    mastercf_trim(&ns, &ne);
    if (!config_valid_name(ns, (size_t) (ne - ns))) {
        *why = "-o: bad parameter name";
        return -1;
    }
    vs = eq + 1;
    ve = vs + strlen(vs);
    mastercf_trim(&vs, &ve);
    nv = vstring_alloc(64);
    vstring_catn(nv, ns, (size_t) (ne - ns));
    vstring_addch(nv, '=');
    vstring_catn(nv, vs, (size_t) (ve - vs));
    argv_add(ent->overrides, STR(nv), (char *) 0);
    argv_add(ent->words, "-o", STR(nv), (char *) 0);
    vstring_free(&nv);
    return 0;
}

/* mastercf_valid_service - check the service name field for its type */
static const char *mastercf_valid_service(const char *name, const char *type)
{
    if (strcmp(type, "inet") == 0) {
        const char *colon = strrchr(name, ':');
        const char *port = colon ? colon + 1 : name;

        if (*port == 0)
            return "inet service needs [host:]port";
        if (colon && colon == name)
            return "empty host in inet service";
        return NULL;
    }
    if (name[0] == '/' || strstr(name, "..") != NULL)
        return "service name must be a path relative to the queue directory without \"..\"";
    return NULL;
}

/* mastercf_parse - one logical line into an entry; NULL with *why */
static MASTER_ENTRY *mastercf_parse(const char *text, int flags, const char *path,
                                    int line, const char **why)
{
    static const char *const types[] = {"inet", "unix", "unix-dgram", "fifo", "pass"};
    MASTERCF_TOK *toks = NULL;
    size_t  count = 0, i;
    MASTER_ENTRY *ent = NULL;
    VSTRING *q = vstring_alloc(64);
    const char *w;
    size_t  wlen;
    bool    ok = false;

    if (mastercf_tokenize(text, &toks, &count, why) < 0) {
        *why = mastercf_error(path, line, "%s", *why);
        goto out;
    }
    if (count < 8) {
        *why = mastercf_error(path, line, "bad field count (%zu, expected at least 8)", count);
        goto out;
    }
    for (i = 0; i < 8; i++) {
        if (toks[i].braced || toks[i].text[0] == 0) {
            *why = mastercf_error(path, line, "field %zu may not be a {} group", i + 1);
            goto out;
        }
    }
    ent = mycalloc(1, sizeof(*ent));
    ent->line = line;
    ent->args = argv_alloc(4);
    ent->overrides = argv_alloc(4);
    ent->words = argv_alloc(16);
    ent->name = mystrdup(toks[0].text);
    ent->type = mystrdup(toks[1].text);
    for (i = 0; i < 8; i++)
        argv_add(ent->words, toks[i].text, (char *) 0);
    for (i = 0; i < PH_ARRAY_LEN(types); i++)
        if (strcmp(ent->type, types[i]) == 0)
            break;
    if (i == PH_ARRAY_LEN(types)) {
        *why = mastercf_error(path, line, "invalid type field \"%s\"", mastercf_quote(q, ent->type));
        goto out;
    }
    if ((w = mastercf_valid_service(ent->name, ent->type)) != NULL) {
        *why = mastercf_error(path, line, "service \"%s\": %s", mastercf_quote(q, ent->name), w);
        goto out;
    }
    if (mastercf_yesno(toks[2].text, true, &ent->private_) < 0) {
        *why = mastercf_error(path, line, "invalid private field \"%s\"", mastercf_quote(q, toks[2].text));
        goto out;
    }
    if (mastercf_yesno(toks[3].text, true, &ent->unpriv) < 0) {
        *why = mastercf_error(path, line, "invalid unpriv field \"%s\"", mastercf_quote(q, toks[3].text));
        goto out;
    }
    if (mastercf_yesno(toks[4].text, false, &ent->chroot) < 0) {
        *why = mastercf_error(path, line, "invalid chroot field \"%s\"", mastercf_quote(q, toks[4].text));
        goto out;
    }
    if (ent->chroot && (flags & MASTERCF_FLAG_QUIET) == 0)
        msg_warn("%s, line %d: service %s/%s: chroot \"y\" ignored: Posthorn does not chroot",
                 path, line, ent->name, ent->type);
    w = toks[5].text;
    wlen = strlen(w);
    if (strcmp(w, "-") == 0) {
        ent->wakeup = 0;
    } else {
        if (wlen > 0 && w[wlen - 1] == '?') {
            ent->wakeup_if_used = true;
            wlen--;
        }
        if (mastercf_number(w, wlen, &ent->wakeup) < 0) {
            *why = mastercf_error(path, line, "invalid wakeup field \"%s\"", mastercf_quote(q, w));
            goto out;
        }
    }
    w = toks[6].text;
    if (strcmp(w, "-") == 0) {
        ent->maxproc = -1;
    } else if (mastercf_number(w, strlen(w), &ent->maxproc) < 0) {
        *why = mastercf_error(path, line, "invalid maxproc field \"%s\"", mastercf_quote(q, w));
        goto out;
    }
    ent->command = mystrdup(toks[7].text);
    for (i = 8; i < count; i++) {
        if (!toks[i].braced && strcmp(toks[i].text, "-o") == 0) {
            if (i + 1 >= count) {
                *why = mastercf_error(path, line, "-o without name=value");
                goto out;
            }
            if (mastercf_override(ent, toks[++i].text, why) < 0) {
                *why = mastercf_error(path, line, "%s: \"%s\"", *why, mastercf_quote(q, toks[i].text));
                goto out;
            }
        } else {
            argv_add(ent->args, toks[i].text, (char *) 0);
            argv_add(ent->words, toks[i].text, (char *) 0);
        }
    }
    ok = true;
out:
    for (i = 0; i < count; i++)
        myfree(toks[i].text);
    myfree(toks);
    vstring_free(&q);
    if (!ok) {
        mastercf_entry_free(ent);
        return NULL;
    }
    return ent;
}

/* mastercf_add - append an entry, refusing a duplicate service/type */
static int mastercf_add(MASTER_TABLE *mt, MASTER_ENTRY *ent, const char **why)
{
    MASTER_ENTRY *old = mastercf_find(mt, ent->name, ent->type);

    if (old) {
        *why = mastercf_error(mt->path, ent->line, "duplicate service %s/%s (first at line %d)",
                              ent->name, ent->type, old->line);
        mastercf_entry_free(ent);
        return -1;
    }
    if ((mt->count & (mt->count - 1)) == 0)	/* 0, 1, 2, 4, ...: grow */
        mt->entries = myreallocarray(mt->entries, mt->count ? mt->count * 2 : 1,
                                     sizeof(*mt->entries));
    mt->entries[mt->count++] = ent;
    return 0;
}

/* mastercf_flush - parse and add the pending logical line */
static int mastercf_flush(MASTER_TABLE *mt, VSTRING *lline, int lstart, int flags,
                          const char **why)
{
    MASTER_ENTRY *ent = mastercf_parse(STR(lline), flags, mt->path, lstart, why);

    if (ent == NULL)
        return -1;
    return mastercf_add(mt, ent, why);
}

typedef struct mastercf_read_ctx {
    MASTER_TABLE *mt;
    int     flags;
} MASTERCF_READ_CTX;

/* mastercf_read_line - logical_line callback: one service entry */
static int mastercf_read_line(VSTRING *lline, int lstart, void *context, const char **why)
{
    MASTERCF_READ_CTX *ctx = context;

    return mastercf_flush(ctx->mt, lline, lstart, ctx->flags, why);
}

/* mastercf_read_error - logical_line callback: master.cf's message shapes */
static const char *mastercf_read_error(LOGICAL_LINE_ERR err, int lineno,
                                               const char *text PH_UNUSED,
                                               size_t len PH_UNUSED, void *context)
{
    const char *path = ((MASTERCF_READ_CTX *) context)->mt->path;

    switch (err) {
    case LOGICAL_LINE_ERR_READ:
        return mastercf_error(path, 0, "read error: %s", strerror(errno));
    case LOGICAL_LINE_ERR_NUL:
        return mastercf_error(path, lineno, "NUL byte in line");
    case LOGICAL_LINE_ERR_LONG:
        return mastercf_error(path, lineno, "line longer than %d bytes", MASTERCF_MAX_LINE);
    case LOGICAL_LINE_ERR_LOGICAL_LONG:
        return mastercf_error(path, lineno, "logical line longer than %d bytes",
                              MASTERCF_MAX_LINE);
    case LOGICAL_LINE_ERR_CONT_FIRST:
        return mastercf_error(path, lineno,
                          "continuation line (starting with white space) before any service");
    }
    return mastercf_error(path, lineno, "unknown read error");
}

/* mastercf_read_flags - parse a master.cf */
MASTER_TABLE *mastercf_read_flags(const char *path, int flags, const char **error_r)
{
    static const LOGICAL_LINE_OPS ops = {
        .max_line = MASTERCF_MAX_LINE,
        .line = mastercf_read_line,
        .error = mastercf_read_error,
    };
    MASTERCF_READ_CTX ctx;
    MASTER_TABLE *mt;
    FILE   *fp;
    const char *dummy;
    int     st;

    if (error_r == NULL)
        error_r = &dummy;
    if ((fp = fopen(path, "re")) == NULL) {
        /* Postfix's shape: "open /x/master.cf: No such file or directory" */
        *error_r = mastercf_error("open", 0, "%s", path);
        vstring_truncate(mastercf_err, LEN(mastercf_err) - strlen(path) - 2);
        vstring_fmt_append(mastercf_err, " %s: %s", path, strerror(errno));
        return NULL;
    }
    mt = mycalloc(1, sizeof(*mt));
    mt->path = mystrdup(path);
    ctx.mt = mt;
    ctx.flags = flags;
    st = logical_line_read(fp, &ops, &ctx, error_r);
    fclose(fp);
    if (st < 0)
        mastercf_free(&mt);
    return mt;
}

/* mastercf_read - parse a master.cf with warnings */
MASTER_TABLE *mastercf_read(const char *path, const char **error_r)
{
    return mastercf_read_flags(path, MASTERCF_FLAG_NONE, error_r);
}
