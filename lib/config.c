/* config - main.cf: reading, $name expansion, typed parameter variables.
 *
 * Contract (config.h): config_load() reads DIR/main.cf into a table of
 * "name = value" entries (later duplicates override earlier ones, as in
 * Postfix), applies config_override() values on top, then expands and
 * type-checks every registry parameter (params.def) into its var_*
 * variable. Lookups fall back from -o to main.cf to the registry default;
 * "@computed" defaults are resolved here (directories from the compiled-in
 * DEF_*_DIR, myhostname from the system, ...).
 *
 * Syntax errors, bad values and expansion loops come back as one message
 * "FILE, line N: parameter NAME: what" ("-o" or "default" stand for FILE,
 * line N when the value came from there). Unknown main.cf names that no
 * other value references get a warning, never an error.
 *
 * Limits: a logical line (continuations joined) is at most
 * CONFIG_MAX_LINE bytes; a NUL byte in main.cf is an error; $name
 * recursion is at most CONFIG_MAX_DEPTH deep and one expanded value at
 * most CONFIG_MAX_EXPANSION bytes, so no value can loop or explode.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "htable.h"
#include "logical_line.h"
#include "mastercf.h"
#include "msg.h"
#include "mymalloc.h"
#include "mynetworks.h"
#include "vstring.h"

#ifndef DEF_CONFIG_DIR
#define DEF_CONFIG_DIR "/etc/posthorn"
#endif
#ifndef DEF_QUEUE_DIR
#define DEF_QUEUE_DIR "/var/spool/posthorn"
#endif
#ifndef DEF_DATA_DIR
#define DEF_DATA_DIR "/var/lib/posthorn"
#endif
#ifndef DEF_DAEMON_DIR
#define DEF_DAEMON_DIR "/usr/libexec/posthorn"
#endif
#ifndef DEF_COMMAND_DIR
#define DEF_COMMAND_DIR "/usr/sbin"
#endif
#ifndef DEF_MANPAGE_DIR
#define DEF_MANPAGE_DIR "/usr/share/man"
#endif

#define CONFIG_MAX_LINE       (1024 * 1024)	/* one logical line */
#define CONFIG_MAX_DEPTH      64	/* nested $name levels */
#define CONFIG_MAX_EXPANSION  (4 * 1024 * 1024)	/* one expanded value */
#define CONFIG_QUOTE_MAX      60	/* quoted input in messages */

/* Settings made before config_load. */
static char *config_dir;		/* config_set_dir */
static char *config_process;		/* config_set_process */
static HTABLE *config_overrides;	/* -o name -> char * value */

/* State of the last config_load. */
static CONFIG_ENTRY *config_ents;	/* main.cf entries, file order */
static size_t config_nents;
static size_t config_ents_size;
static HTABLE *config_index;		/* name -> entry index + 1 */
static HTABLE *config_cache;		/* name -> expanded char * */
static char **config_computed;		/* param_count resolved defaults */
static bool *config_computing;		/* param_count: being resolved */
static VSTRING *config_compute_why;	/* a default that could not be
					 * computed, NULL when none */
static ARGV *config_strings;		/* storage behind STR/LIST var_* */
static bool config_defaults_only;	/* CONFIG_FLAG_DEFAULTS_ONLY */
static VSTRING *config_err;		/* *error_r text */
static char *config_main_path;
static char *config_master_path;

/* One expansion in progress: the chain of names for loop messages. */
typedef struct config_expand_ctx {
    ARGV   *stack;			/* names being expanded, outermost first */
    int     depth;			/* nesting of names and conditionals */
    VSTRING *why;			/* error text */
    bool    loop;			/* why is about a loop */
    char   *err_name;			/* innermost name with a syntax error */
} CONFIG_EXPAND_CTX;

/* config_set_error - format the static error message */
static const char *PH_PRINTF(1, 2) config_set_error(const char *fmt,...)
{
    va_list ap;

    if (config_err == NULL)
        config_err = vstring_alloc(100);
    vstring_reset(config_err);
    va_start(ap, fmt);
    vstring_vfmt_append(config_err, fmt, ap);
    va_end(ap);
    return STR(config_err);
}

/* config_quote - printable, shortened copy of text for a message */
const char *config_quote(VSTRING *buf, const char *text, size_t len)
{
    vstring_reset(buf);
    for (size_t i = 0; i < len && i < CONFIG_QUOTE_MAX; i++) {
        unsigned char ch = (unsigned char) text[i];

        vstring_addch(buf, ch >= 0x20 && ch < 0x7f ? ch : '?');
    }
    if (len > CONFIG_QUOTE_MAX)
        vstring_cat(buf, "...");
    return STR(buf);
}

/* config_name_char - may ch appear in a parameter name */
static bool config_name_char(int ch)
{
    return isalnum((unsigned char) ch) || ch == '_';
}

/* config_valid_name - true for a non-empty [A-Za-z0-9_]+ name */
bool    config_valid_name(const char *name, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!config_name_char(name[i]))
            return false;
    return true;
}

/* config_clear_cache - forget expanded values and resolved defaults */
static void config_clear_cache(void)
{
    if (config_cache)
        htable_free(&config_cache, myfree);
    if (config_computed) {
        for (size_t i = 0; i < param_count; i++)
            myfree(config_computed[i]);
        myfree(config_computed);
        config_computed = NULL;
    }
    myfree(config_computing);
    config_computing = NULL;
    if (config_compute_why)
        vstring_free(&config_compute_why);
}

/* config_set_dir - choose the configuration directory */
void    config_set_dir(const char *dir)
{
    myfree(config_dir);
    config_dir = mystrdup(dir);
    myfree(config_main_path);
    myfree(config_master_path);
    config_main_path = config_master_path = NULL;
    config_clear_cache();
}

/* config_get_dir - explicit dir, else $MAIL_CONFIG, else compiled-in */
const char *config_get_dir(void)
{
    const char *env;

    if (config_dir)
        return config_dir;
    if ((env = getenv("MAIL_CONFIG")) != NULL && *env)
        return env;
    return DEF_CONFIG_DIR;
}

/* config_file_in_dir - "DIR/name" cached in *slot */
static const char *config_file_in_dir(char **slot, const char *name)
{
    VSTRING *buf = vstring_alloc(100);

    vstring_fmt(buf, "%s/%s", config_get_dir(), name);
    if (*slot == NULL || strcmp(*slot, STR(buf)) != 0) {
        myfree(*slot);
        *slot = vstring_export(&buf);
    } else
        vstring_free(&buf);
    return *slot;
}

/* config_main_cf - path of main.cf */
const char *config_main_cf(void)
{
    return config_file_in_dir(&config_main_path, "main.cf");
}

/* config_master_cf - path of master.cf */
const char *config_master_cf(void)
{
    return config_file_in_dir(&config_master_path, "master.cf");
}

/* config_override - record "-o name=value" */
void    config_override(const char *name, const char *value)
{
    HTABLE_ENTRY *ht;

    if (config_overrides == NULL)
        config_overrides = htable_create(16);
    if ((ht = htable_locate(config_overrides, name)) != NULL) {
        myfree(ht->value);
        ht->value = mystrdup(value);
    } else
        htable_enter(config_overrides, name, mystrdup(value));
    if (config_cache)
        htable_free(&config_cache, myfree);
}

/* config_set_process - record the program name for $process_name */
void    config_set_process(const char *name)
{
    myfree(config_process);
    config_process = mystrdup(name);
    config_clear_cache();
}

/* config_free_state - release everything the last config_load made */
static void config_free_state(void)
{
    for (size_t i = 0; i < config_nents; i++) {
        myfree(config_ents[i].name);
        myfree(config_ents[i].value);
    }
    myfree(config_ents);
    config_ents = NULL;
    config_nents = config_ents_size = 0;
    if (config_index)
        htable_free(&config_index, NULL);
    config_clear_cache();
}

/* config_entry_find - main.cf entry by name, or NULL */
static CONFIG_ENTRY *config_entry_find(const char *name)
{
    void   *v;

    if (config_defaults_only || config_index == NULL)
        return NULL;
    if ((v = htable_find(config_index, name)) == NULL)
        return NULL;
    return &config_ents[(uintptr_t) v - 1];
}

/* config_override_find - -o value by name, or NULL */
static const char *config_override_find(const char *name)
{
    if (config_defaults_only || config_overrides == NULL)
        return NULL;
    return htable_find(config_overrides, name);
}

/* config_entries - main.cf entries in file order */
const CONFIG_ENTRY *config_entries(size_t *count_r)
{
    *count_r = config_nents;
    return config_ents;
}

/* config_hostname - the system host name, canonicalised once */
static const char *config_hostname(void)
{
    static char *hostname;
    char    buf[256];

    if (hostname)
        return hostname;
    if (gethostname(buf, sizeof(buf) - 1) < 0 || buf[0] == 0)
        ph_strlcpy(buf, "localhost", sizeof(buf));
    buf[sizeof(buf) - 1] = 0;
    if (strchr(buf, '.') == NULL) {
        struct addrinfo hints, *res = NULL;

        memset(&hints, 0, sizeof(hints));
        hints.ai_flags = AI_CANONNAME;
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(buf, NULL, &hints, &res) == 0 && res != NULL
            && res->ai_canonname && strchr(res->ai_canonname, '.'))
            ph_strlcpy(buf, res->ai_canonname, sizeof(buf));
        if (res)
            freeaddrinfo(res);
    }
    for (char *cp = buf; *cp; cp++)
        *cp = (char) tolower((unsigned char) *cp);
    /* As Postfix: a name without a dot gets ".localdomain", so myhostname
     * is always fully qualified and mydomain is "localdomain". */
    if (strchr(buf, '.') == NULL) {
        VSTRING *fq = vstring_alloc(64);

        vstring_fmt(fq, "%s.localdomain", buf);
        hostname = vstring_export(&fq);
        return hostname;
    }
    hostname = mystrdup(buf);
    return hostname;
}

/* config_domain_of - host name less its first label, or "localdomain" */
static char *config_domain_of(const char *host)
{
    const char *dot = strchr(host, '.');

    if (dot == NULL || dot[1] == 0)
        return mystrdup("localdomain");
    return mystrdup(dot + 1);
}

static const char *config_check_enum(const char *name, const char *value, VSTRING *why);
static const char *config_source(VSTRING *buf, const char *name);

/* config_compute_fail - remember why a default could not be computed
 * (the first reason wins) */
static void PH_PRINTF(1, 2) config_compute_fail(const char *fmt,...)
{
    va_list ap;

    if (config_compute_why != NULL)
        return;
    config_compute_why = vstring_alloc(100);
    va_start(ap, fmt);
    vstring_vfmt_append(config_compute_why, fmt, ap);
    va_end(ap);
}

/* config_compute_mynetworks - mynetworks from mynetworks_style over the
 * addresses of inet_interfaces and inet_protocols (as Postfix); "" and a
 * reason for config_compute_error when that cannot be done */
static char *config_compute_mynetworks(void)
{
    static const char *const inputs[] = {"mynetworks_style", "inet_interfaces",
                                         "inet_protocols"};
    const char *val[3];
    const char *param = "mynetworks";
    const char *error;
    VSTRING *src = vstring_alloc(100);
    VSTRING *why = vstring_alloc(100);
    char   *result;

    /* The inputs are checked here, not only in their own turn, because
     * mynetworks comes first in the registry: the message must name the
     * parameter that is wrong, with its file and line. */
    for (size_t i = 0; i < PH_ARRAY_LEN(inputs); i++) {
        if ((val[i] = config_lookup(inputs[i])) == NULL) {
            config_compute_fail("%s: parameter %s: cannot be expanded",
                                config_source(src, inputs[i]), inputs[i]);
            vstring_free(&src);
            vstring_free(&why);
            return mystrdup("");
        }
        if ((error = config_check_enum(inputs[i], val[i], why)) != NULL) {
            config_compute_fail("%s: parameter %s: %s",
                                config_source(src, inputs[i]), inputs[i], error);
            vstring_free(&src);
            vstring_free(&why);
            return mystrdup("");
        }
    }
    if ((result = mynetworks_compute(val[0], val[1], val[2], &param, &error)) == NULL) {
        config_compute_fail("%s: parameter %s: %s",
                            config_source(src, param), param, error);
        result = mystrdup("");
    }
    vstring_free(&src);
    vstring_free(&why);
    return result;
}

/* config_compute - resolve one "@computed" default (new string) */
static char *config_compute(const PARAM_DEF *p)
{
    const char *n = p->name;
    char    pid[32];

    if (strcmp(n, "config_directory") == 0)
        return mystrdup(config_get_dir());
    if (strcmp(n, "queue_directory") == 0)
        return mystrdup(DEF_QUEUE_DIR);
    if (strcmp(n, "data_directory") == 0)
        return mystrdup(DEF_DATA_DIR);
    if (strcmp(n, "daemon_directory") == 0)
        return mystrdup(DEF_DAEMON_DIR);
    if (strcmp(n, "command_directory") == 0)
        return mystrdup(DEF_COMMAND_DIR);
    if (strcmp(n, "manpage_directory") == 0)
        return mystrdup(DEF_MANPAGE_DIR);
    if (strcmp(n, "myhostname") == 0)
        return mystrdup(config_hostname());
    if (strcmp(n, "mydomain") == 0) {
        /* From a literal myhostname setting when there is one; never by
         * expansion, because "myhostname = mail.$mydomain" is common. */
        const char *set = config_override_find("myhostname");
        CONFIG_ENTRY *ent = config_entry_find("myhostname");

        if (set == NULL && ent != NULL)
            set = ent->value;
        if (set != NULL && *set && strchr(set, '$') == NULL)
            return config_domain_of(set);
        return config_domain_of(config_hostname());
    }
    if (strcmp(n, "process_name") == 0)
        return mystrdup(config_process ? config_process : msg_name());
    if (strcmp(n, "process_id") == 0) {
        snprintf(pid, sizeof(pid), "%ld", (long) getpid());
        return mystrdup(pid);
    }
    if (strcmp(n, "mail_version") == 0)
        return mystrdup(POSTHORN_VERSION);
    if (strcmp(n, "mynetworks") == 0)
        return config_compute_mynetworks();
    msg_panic("config_compute: no rule for computed parameter %s", n);
}

/* config_default - effective default of a registry parameter */
const char *config_default(const PARAM_DEF *p)
{
    size_t  idx;

    if (strcmp(p->defval, "@computed") != 0)
        return p->defval;
    idx = (size_t) (p - param_table);
    if (idx >= param_count)
        msg_panic("config_default: %s is not a registry entry", p->name);
    if (config_computed == NULL)
        config_computed = mycalloc(param_count, sizeof(char *));
    if (config_computing == NULL)
        config_computing = mycalloc(param_count, sizeof(bool));
    if (config_computed[idx] == NULL) {
        /* A default computed from other parameters that refer back to it
         * ("inet_interfaces = $mynetworks") would recurse forever. */
        if (config_computing[idx]) {
            config_compute_fail("default: parameter %s: its default depends on itself",
                                p->name);
            return "";
        }
        config_computing[idx] = true;
        config_computed[idx] = config_compute(p);
        config_computing[idx] = false;
    }
    return config_computed[idx];
}

/* config_compute_error - see config.h */
const char *config_compute_error(void)
{
    return config_compute_why ? STR(config_compute_why) : NULL;
}

/* config_lookup_raw - -o, else main.cf, else the registry default */
const char *config_lookup_raw(const char *name)
{
    const char *val;
    CONFIG_ENTRY *ent;
    const PARAM_DEF *p;

    if ((val = config_override_find(name)) != NULL)
        return val;
    if ((ent = config_entry_find(name)) != NULL)
        return ent->value;
    if ((p = param_find(name)) != NULL)
        return config_default(p);
    return NULL;
}

/* config_is_set - set by main.cf or -o */
bool    config_is_set(const char *name)
{
    return config_override_find(name) != NULL || config_entry_find(name) != NULL;
}

/* config_find_close - matching close bracket before end (nesting counted) */
static const char *config_find_close(const char *text, const char *end,
                                     int open, int close)
{
    int     level = 1;

    for (const char *cp = text; cp < end; cp++) {
        if (*cp == open)
            level++;
        else if (*cp == close && --level == 0)
            return cp;
    }
    return NULL;
}

static const char *config_expand_name(const char *name, CONFIG_EXPAND_CTX *ctx);

/* config_expand_text - expand text into out; 0 or -1 with ctx->why */
static int config_expand_text(VSTRING *out, const char *text, size_t len,
                              CONFIG_EXPAND_CTX *ctx)
{
    const char *cp = text;
    const char *end = text + len;
    VSTRING *name = vstring_alloc(32);
    int     ret = -1;

    if (++ctx->depth > CONFIG_MAX_DEPTH) {
        vstring_fmt(ctx->why, "expansion nested more than %d levels deep", CONFIG_MAX_DEPTH);
        goto out;
    }
    while (cp < end) {
        const char *dollar = memchr(cp, '$', (size_t) (end - cp));
        const char *val;

        if (dollar == NULL) {
            vstring_catn(out, cp, (size_t) (end - cp));
            break;
        }
        vstring_catn(out, cp, (size_t) (dollar - cp));
        cp = dollar + 1;
        if (cp < end && *cp == '$') {		/* "$$" is a literal "$" */
            vstring_addch(out, '$');
            cp++;
        } else if (cp < end && (*cp == '{' || *cp == '(')) {
            int     open = *cp, close = open == '{' ? '}' : ')';
            const char *inner = cp + 1, *stop, *np;

            if ((stop = config_find_close(inner, end, open, close)) == NULL) {
                vstring_fmt(ctx->why, "missing '%c' after \"$%c\"", close, open);
                goto out;
            }
            for (np = inner; np < stop && config_name_char(*np); np++)
                 /* void */ ;
            if (np == inner) {
                vstring_fmt(ctx->why, "empty or bad name after \"$%c\"", open);
                goto out;
            }
            vstring_setn(name, inner, (size_t) (np - inner));
            if (np < stop && *np != '?' && *np != ':') {
                vstring_fmt(ctx->why, "bad character '%c' after \"$%c%s\"",
                            isprint((unsigned char) *np) ? *np : '?', open, STR(name));
                goto out;
            }
            if ((val = config_expand_name(STR(name), ctx)) == NULL)
                goto out;
            if (np == stop) {
                vstring_cat(out, val);
            } else if ((*np == '?') == (*val != 0)) {
                /* ${name?text}: text when name is non-empty;
                 * ${name:text}: text when name is empty. */
                if (config_expand_text(out, np + 1, (size_t) (stop - np - 1), ctx) < 0)
                    goto out;
            }
            cp = stop + 1;
        } else if (cp < end && config_name_char(*cp)) {
            const char *np = cp;

            while (np < end && config_name_char(*np))
                np++;
            vstring_setn(name, cp, (size_t) (np - cp));
            if ((val = config_expand_name(STR(name), ctx)) == NULL)
                goto out;
            vstring_cat(out, val);
            cp = np;
        } else {
            vstring_fmt(ctx->why, "\"$\" not followed by a name, {name}, (name) or $");
            goto out;
        }
        if (out->overflow) {
            vstring_fmt(ctx->why, "value longer than %d bytes after expansion",
                        CONFIG_MAX_EXPANSION);
            goto out;
        }
    }
    if (out->overflow) {
        vstring_fmt(ctx->why, "value longer than %d bytes after expansion",
                    CONFIG_MAX_EXPANSION);
        goto out;
    }
    ret = 0;
out:
    ctx->depth--;
    vstring_free(&name);
    return ret;
}

/* config_expand_name - expanded value of name (cached); "" when unknown,
 * NULL with ctx->why on a loop or syntax error */
static const char *config_expand_name(const char *name, CONFIG_EXPAND_CTX *ctx)
{
    const char *raw;
    char   *cached;
    VSTRING *val;
    int     rc;

    if (config_cache && (cached = htable_find(config_cache, name)) != NULL)
        return cached;
    for (int i = 0; i < ctx->stack->argc; i++) {
        if (strcmp(ctx->stack->argv[i], name) == 0) {
            vstring_fmt(ctx->why, "expansion loop: ");
            for (int j = i; j < ctx->stack->argc; j++)
                vstring_fmt_append(ctx->why, "$%s -> ", ctx->stack->argv[j]);
            vstring_fmt_append(ctx->why, "$%s", name);
            ctx->loop = true;
            return NULL;
        }
    }
    if ((raw = config_lookup_raw(name)) == NULL)
        return "";
    if (ctx->stack->argc >= CONFIG_MAX_DEPTH) {
        vstring_fmt(ctx->why, "expansion nested more than %d levels deep", CONFIG_MAX_DEPTH);
        return NULL;
    }
    argv_add(ctx->stack, name, (char *) 0);
    val = vstring_alloc(strlen(raw) + 1);
    vstring_set_limit(val, CONFIG_MAX_EXPANSION);
    rc = config_expand_text(val, raw, strlen(raw), ctx);
    argv_truncate(ctx->stack, ctx->stack->argc - 1);
    if (rc < 0) {
        if (!ctx->loop && ctx->err_name == NULL)
            ctx->err_name = mystrdup(name);
        vstring_free(&val);
        return NULL;
    }
    if (config_cache == NULL)
        config_cache = htable_create(64);
    /* A computed default whose inputs refer back to it was expanded (as
     * empty, with config_compute_error set) while we were busy: keep that
     * one, a second entry would leak. */
    if ((cached = htable_find(config_cache, name)) != NULL) {
        vstring_free(&val);
        return cached;
    }
    cached = vstring_export(&val);
    htable_enter(config_cache, name, cached);
    return cached;
}

/* config_ctx_init - start an expansion */
static void config_ctx_init(CONFIG_EXPAND_CTX *ctx)
{
    ctx->stack = argv_alloc(8);
    ctx->depth = 0;
    ctx->why = vstring_alloc(100);
    ctx->loop = false;
    ctx->err_name = NULL;
}

/* config_ctx_free - end an expansion */
static void config_ctx_free(CONFIG_EXPAND_CTX *ctx)
{
    argv_free(&ctx->stack);
    vstring_free(&ctx->why);
    myfree(ctx->err_name);
}

/* config_expand - expand $name references in text, appending to out */
int     config_expand(VSTRING *out, const char *text, const char **error_r)
{
    CONFIG_EXPAND_CTX ctx;
    int     rc;

    config_ctx_init(&ctx);
    rc = config_expand_text(out, text, strlen(text), &ctx);
    if (rc < 0 && error_r)
        *error_r = config_set_error("%s", STR(ctx.why));
    config_ctx_free(&ctx);
    return rc;
}

/* config_lookup - expanded value, NULL when unknown (or not expandable) */
const char *config_lookup(const char *name)
{
    CONFIG_EXPAND_CTX ctx;
    const char *val;

    if (config_lookup_raw(name) == NULL)
        return NULL;
    config_ctx_init(&ctx);
    val = config_expand_name(name, &ctx);
    config_ctx_free(&ctx);
    return val;
}

/* config_parse_bool - yes/no/true/false/1/0 */
int     config_parse_bool(const char *text, bool *val_r)
{
    static const char *const yes[] = {"yes", "true", "1"};
    static const char *const no[] = {"no", "false", "0"};

    for (size_t i = 0; i < PH_ARRAY_LEN(yes); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *val_r = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *val_r = false;
            return 0;
        }
    }
    return -1;
}

/* config_parse_long - optional '-', decimal digits, nothing else */
static int config_parse_long(const char *text, long *val_r)
{
    char   *end;
    long    val;

    if (*text == 0 || !(isdigit((unsigned char) *text) || (*text == '-' && isdigit((unsigned char) text[1]))))
        return -1;
    errno = 0;
    val = strtol(text, &end, 10);
    if (errno != 0 || *end != 0)
        return -1;
    *val_r = val;
    return 0;
}

/* config_parse_time - digits plus optional unit s m h d w */
int     config_parse_time(const char *text, int default_unit, long *secs_r)
{
    const char *cp = text;
    long    val = 0, mult;
    int     unit;

    if (!isdigit((unsigned char) *cp))
        return -1;
    for (; isdigit((unsigned char) *cp); cp++) {
        if (val > (LONG_MAX - 9) / 10)
            return -1;
        val = val * 10 + (*cp - '0');
    }
    if (*cp == 0)
        unit = default_unit;
    else if (cp[1] == 0)
        unit = *cp;
    else
        return -1;
    switch (tolower(unit)) {
    case 's':
        mult = 1;
        break;
    case 'm':
        mult = 60;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    case 'w':
        mult = 7 * 86400;
        break;
    default:
        return -1;
    }
    if (val > LONG_MAX / mult)
        return -1;
    *secs_r = val * mult;
    return 0;
}

/* Enumerated string parameters: allowed values, '|'-separated; an empty
 * alternative allows the empty value. list: each word of a list. */
typedef struct config_enum {
    const char *name;
    const char *values;
    bool    list;
} CONFIG_ENUM;

static const CONFIG_ENUM config_enums[] = {
    {"smtpd_tls_security_level", "|none|may|encrypt", false},
    {"smtp_tls_security_level", "|none|may|encrypt|dane|dane-only|fingerprint|verify|secure", false},
    {"inet_protocols", "all|ipv4|ipv6", true},
    {"mynetworks_style", "host|subnet|class", false},
    {"smtpd_forbid_bare_newline", "normalize|reject|yes|no", false},
    {"smtp_address_preference", "any|ipv4|ipv6", false},
    {"smtp_dns_support_level", "|disabled|enabled|dnssec", false},
    {"ssl", "no|yes|required", false},
    {"ssl_min_protocol", "SSLv3|TLSv1|TLSv1.1|TLSv1.2|TLSv1.3", false},
    {"smtpd_sasl_type", "dovecot|cyrus", false},
    {"imap_hierarchy_separator", ".|/", false},
    {"syslog_facility", "mail|daemon|user|local0|local1|local2|local3|local4|local5|local6|local7", false},
};

/* config_enum_match - is word one of the '|'-separated values */
static bool config_enum_match(const char *values, const char *word, size_t len)
{
    const char *cp = values;

    for (;;) {
        const char *bar = strchr(cp, '|');
        size_t  n = bar ? (size_t) (bar - cp) : strlen(cp);

        if (n == len && strncasecmp(cp, word, len) == 0)
            return true;
        if (bar == NULL)
            return false;
        cp = bar + 1;
    }
}

/* config_check_enum - validate an enumerated parameter; NULL or reason */
static const char *config_check_enum(const char *name, const char *value, VSTRING *why)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(config_enums); i++) {
        const CONFIG_ENUM *e = &config_enums[i];
        bool    ok = true;

        if (strcmp(e->name, name) != 0)
            continue;
        if (e->list) {
            ARGV   *words = argv_split_list(value);

            ok = words->argc > 0;
            for (int w = 0; ok && w < words->argc; w++)
                ok = config_enum_match(e->values, words->argv[w], strlen(words->argv[w]));
            argv_free(&words);
        } else {
            ok = config_enum_match(e->values, value, strlen(value));
        }
        if (ok)
            return NULL;
        vstring_fmt(why, "invalid value \"%s\" (expected ", value);
        for (const char *cp = e->values + (e->values[0] == '|'); *cp; cp++) {
            if (*cp == '|')
                vstring_cat(why, ", ");
            else
                vstring_addch(why, *cp);
        }
        vstring_cat(why, e->values[0] == '|' ? " or empty)" : ")");
        return STR(why);
    }
    return NULL;
}

/* config_source - "FILE, line N", "-o" or "default" for name */
static const char *config_source(VSTRING *buf, const char *name)
{
    CONFIG_ENTRY *ent;

    if (config_override_find(name))
        return vstring_set(buf, "-o")->data;
    if ((ent = config_entry_find(name)) != NULL)
        return vstring_fmt(buf, "%s, line %d", config_main_cf(), ent->line)->data;
    return vstring_set(buf, "default")->data;
}

/* A checked value waiting to be stored into its var_*. */
typedef union config_value {
    char   *str;
    long    num;
    bool    flag;
} CONFIG_VALUE;

/* config_store_string - a copy that lives as long as the var_* using it */
static char *config_store_string(ARGV *strings, const char *value)
{
    argv_add(strings, value, (char *) 0);
    return strings->argv[strings->argc - 1];
}

/* config_set_var - expand and check one registry parameter into *slot */
static int config_set_var(const PARAM_DEF *p, CONFIG_VALUE *slot, ARGV *strings,
                          const char **error_r)
{
    CONFIG_EXPAND_CTX ctx;
    VSTRING *src = vstring_alloc(100);
    VSTRING *why = vstring_alloc(100);
    VSTRING *q = vstring_alloc(100);
    const char *val;
    const char *bad = NULL;
    long    num;
    bool    flag;

    config_ctx_init(&ctx);
    if ((val = config_expand_name(p->name, &ctx)) == NULL) {
        bad = vstring_set(why, STR(ctx.why))->data;
        goto out;
    }
    myfree(ctx.err_name);
    ctx.err_name = NULL;
    switch (p->type) {
    case PT_STR:
    case PT_LIST:
        if ((bad = config_check_enum(p->name, val, why)) != NULL)
            goto out;
        slot->str = config_store_string(strings, val);
        break;
    case PT_BOOL:
        if (config_parse_bool(val, &flag) < 0) {
            bad = vstring_fmt(why, "bad boolean value: %s",
                              config_quote(q, val, strlen(val)))->data;
            goto out;
        }
        slot->flag = flag;
        break;
    case PT_INT:
    case PT_SIZE:
    case PT_TIME:
        if (p->type == PT_TIME ? config_parse_time(val, 's', &num) < 0
            : config_parse_long(val, &num) < 0) {
            bad = vstring_fmt(why, "bad %s value: %s",
                              p->type == PT_TIME ? "time" : "numerical",
                              config_quote(q, val, strlen(val)))->data;
            goto out;
        }
        if (num < p->min || num > p->max) {
            bad = vstring_fmt(why, "value %s out of range (%ld..%ld%s)",
                              config_quote(q, val, strlen(val)), p->min, p->max,
                              p->type == PT_TIME ? " seconds" : "")->data;
            goto out;
        }
        slot->num = num;
        break;
    }
out:
    if (bad) {
        /* A syntax error is reported where it is, not where it is used. */
        const char *where = ctx.err_name ? ctx.err_name : p->name;

        *error_r = config_set_error("%s: parameter %s: %s",
                                    config_source(src, where), where, bad);
    }
    config_ctx_free(&ctx);
    vstring_free(&src);
    vstring_free(&why);
    vstring_free(&q);
    return bad ? -1 : 0;
}

/* config_scan_refs - add every $name in text (also inside conditionals)
 * to refs; syntax errors are left for the expansion to report */
static void config_scan_refs(const char *text, HTABLE *refs)
{
    VSTRING *name = vstring_alloc(32);

    for (const char *cp = text; (cp = strchr(cp, '$')) != NULL;) {
        const char *np;

        cp++;
        if (*cp == '$') {
            cp++;
            continue;
        }
        if (*cp == '{' || *cp == '(')
            cp++;
        for (np = cp; config_name_char(*np); np++)
             /* void */ ;
        if (np > cp) {
            vstring_setn(name, cp, (size_t) (np - cp));
            if (htable_find(refs, STR(name)) == NULL)
                htable_enter(refs, STR(name), (void *) 1);
        }
        cp = np;
    }
    vstring_free(&name);
}

/* config_add_ref - note that a parameter name is used */
static void config_add_ref(HTABLE *refs, const char *name, size_t len)
{
    char   *copy = mystrndup(name, len);

    if (htable_find(refs, copy) == NULL)
        htable_enter(refs, copy, (void *) 1);
    myfree(copy);
}

/* config_collect_refs - names referenced or set outside main.cf entries */
static HTABLE *config_collect_refs(void)
{
    HTABLE *refs = htable_create(64);
    MASTER_TABLE *mt;
    const char *why;

    for (size_t i = 0; i < config_nents; i++)
        config_scan_refs(config_ents[i].value, refs);
    if (config_overrides) {
        HTABLE_ENTRY **list = htable_list(config_overrides);

        for (HTABLE_ENTRY **ht = list; *ht; ht++) {
            config_add_ref(refs, (*ht)->key, strlen((*ht)->key));
            config_scan_refs((*ht)->value, refs);
        }
        myfree(list);
    }
    /* master.cf -o settings make a user-defined name known. A broken or
     * missing master.cf is reported by the programs that use it. */
    if (access(config_master_cf(), F_OK) == 0
        && (mt = mastercf_read_flags(config_master_cf(), MASTERCF_FLAG_QUIET, &why)) != NULL) {
        for (size_t i = 0; i < mt->count; i++) {
            ARGV   *ov = mt->entries[i]->overrides;

            for (int j = 0; j < ov->argc; j++) {
                const char *eq = strchr(ov->argv[j], '=');

                if (eq) {
                    config_add_ref(refs, ov->argv[j], (size_t) (eq - ov->argv[j]));
                    config_scan_refs(eq + 1, refs);
                }
            }
        }
        mastercf_free(&mt);
    }
    return refs;
}

/* config_add_entry - record name = value from line, later ones override */
static void config_add_entry(const char *name, size_t nlen, const char *value,
                             size_t vlen, int line, int flags)
{
    char   *key = mystrndup(name, nlen);
    CONFIG_ENTRY *ent;
    void   *v;

    if (config_index == NULL)
        config_index = htable_create(64);
    if ((v = htable_find(config_index, key)) != NULL) {
        ent = &config_ents[(uintptr_t) v - 1];
        if ((flags & CONFIG_FLAG_NO_WARN) == 0) {
            VSTRING *q = vstring_alloc(80);

            msg_warn("%s, line %d: overriding earlier entry: %s=%s",
                     config_main_cf(), line, key, config_quote(q, ent->value, strlen(ent->value)));
            vstring_free(&q);
        }
        myfree(ent->value);
        ent->value = mystrndup(value, vlen);
        ent->line = line;
        myfree(key);
        return;
    }
    if (config_nents == config_ents_size) {
        config_ents_size = config_ents_size ? config_ents_size * 2 : 32;
        config_ents = myreallocarray(config_ents, config_ents_size, sizeof(*config_ents));
    }
    ent = &config_ents[config_nents++];
    ent->name = key;
    ent->value = mystrndup(value, vlen);
    ent->line = line;
    htable_enter(config_index, key, (void *) (uintptr_t) config_nents);
}

/* config_line_name - the parameter name at the start of text, for errors */
static const char *config_line_name(VSTRING *buf, const char *text, size_t len)
{
    size_t  n = 0;

    while (n < len && config_name_char(text[n]))
        n++;
    vstring_setn(buf, text, n);
    return n ? STR(buf) : NULL;
}

/* config_error_at - "FILE, line N: [parameter NAME: ]text" */
static const char *PH_PRINTF(3, 4) config_error_at(int line, const char *name,
                                                     const char *fmt,...)
{
    VSTRING *buf = vstring_alloc(100);
    va_list ap;
    const char *res;

    vstring_fmt(buf, "%s, line %d: ", config_main_cf(), line);
    if (name)
        vstring_fmt_append(buf, "parameter %s: ", name);
    va_start(ap, fmt);
    vstring_vfmt_append(buf, fmt, ap);
    va_end(ap);
    res = config_set_error("%s", STR(buf));
    vstring_free(&buf);
    return res;
}

/* config_logical - parse one logical line "name = value" */
static int config_logical(VSTRING *lline, int line, int flags, const char **error_r)
{
    const char *text = STR(lline);
    const char *eq = memchr(text, '=', LEN(lline));
    const char *ns, *ne, *vs, *ve;
    VSTRING *q;

    if (eq == NULL) {
        q = vstring_alloc(80);
        *error_r = config_error_at(line, NULL, "missing '=' after parameter name: \"%s\"",
                                   config_quote(q, text, LEN(lline)));
        vstring_free(&q);
        return -1;
    }
    for (ns = text; ns < eq && isspace((unsigned char) *ns); ns++)
         /* void */ ;
    for (ne = eq; ne > ns && isspace((unsigned char) ne[-1]); ne--)
         /* void */ ;
    if (!config_valid_name(ns, (size_t) (ne - ns))) {
        q = vstring_alloc(80);
        *error_r = config_error_at(line, NULL, "bad parameter name: \"%s\"",
                                   config_quote(q, ns, (size_t) (ne - ns)));
        vstring_free(&q);
        return -1;
    }
    for (vs = eq + 1; *vs && isspace((unsigned char) *vs); vs++)
         /* void */ ;
    for (ve = text + LEN(lline); ve > vs && isspace((unsigned char) ve[-1]); ve--)
         /* void */ ;
    config_add_entry(ns, (size_t) (ne - ns), vs, (size_t) (ve - vs), line, flags);
    return 0;
}

/* config_read_line - logical_line callback: one "name = value" */
static int config_read_line(VSTRING *lline, int lstart, void *context, const char **error_r)
{
    return config_logical(lline, lstart, *(int *) context, error_r);
}

/* config_read_error - logical_line callback: main.cf's message shapes */
static const char *config_read_error(LOGICAL_LINE_ERR err, int lineno, const char *text,
                                             size_t len, void *context PH_UNUSED)
{
    int     saved_errno = errno;
    VSTRING *nbuf = vstring_alloc(32);
    const char *name = text ? config_line_name(nbuf, text, len) : NULL;
    const char *res = NULL;

    switch (err) {
    case LOGICAL_LINE_ERR_READ:
        res = config_set_error("read %s: %s", config_main_cf(), strerror(saved_errno));
        break;
    case LOGICAL_LINE_ERR_NUL:
        res = config_error_at(lineno, name, "NUL byte in line");
        break;
    case LOGICAL_LINE_ERR_LONG:
        res = config_error_at(lineno, name, "line longer than %d bytes", CONFIG_MAX_LINE);
        break;
    case LOGICAL_LINE_ERR_LOGICAL_LONG:
        res = config_error_at(lineno, name, "logical line longer than %d bytes", CONFIG_MAX_LINE);
        break;
    case LOGICAL_LINE_ERR_CONT_FIRST:
        res = config_error_at(lineno, NULL,
                       "continuation line (starting with white space) before any parameter");
        break;
    }
    vstring_free(&nbuf);
    return res;
}

/* config_read_main - read main.cf into config_ents */
static int config_read_main(FILE *fp, int flags, const char **error_r)
{
    static const LOGICAL_LINE_OPS ops = {
        .max_line = CONFIG_MAX_LINE,
        .line = config_read_line,
        .error = config_read_error,
    };

    return logical_line_read(fp, &ops, &flags, error_r);
}

/* config_load - read main.cf, apply overrides, fill var_* */
int     config_load(int flags, const char **error_r)
{
    const char *path = config_main_cf();
    const char *dummy;
    FILE   *fp;

    if (error_r == NULL)
        error_r = &dummy;
    config_free_state();
    config_defaults_only = (flags & CONFIG_FLAG_DEFAULTS_ONLY) != 0;
    if (!config_defaults_only) {
        if ((fp = fopen(path, "re")) == NULL) {
            if (errno != ENOENT || (flags & CONFIG_FLAG_NO_FILE_OK) == 0) {
                *error_r = config_set_error("open %s: %s", path, strerror(errno));
                return -1;
            }
        } else {
            int     rc = config_read_main(fp, flags, error_r);

            fclose(fp);
            if (rc < 0)
                return -1;
        }
        if ((flags & CONFIG_FLAG_NO_WARN) == 0) {
            HTABLE *refs = config_collect_refs();

            for (size_t i = 0; i < config_nents; i++)
                if (param_find(config_ents[i].name) == NULL
                    && htable_find(refs, config_ents[i].name) == NULL)
                    msg_warn("%s, line %d: unknown parameter %s",
                             path, config_ents[i].line, config_ents[i].name);
            htable_free(&refs, NULL);
        }
    }
    if (flags & CONFIG_FLAG_NO_EVAL)
        return 0;
    /* All or nothing: var_* change only when every value is good, so a
     * failed reload leaves the running configuration intact. */
    CONFIG_VALUE *values = mycalloc(param_count, sizeof(*values));
    ARGV   *strings = argv_alloc((int) param_count);

    for (size_t i = 0; i < param_count; i++) {
        if (config_set_var(&param_table[i], &values[i], strings, error_r) < 0
            || (config_compute_why != NULL
                && (*error_r = config_set_error("%s", STR(config_compute_why))) != NULL)) {
            myfree(values);
            argv_free(&strings);
            return -1;
        }
    }
    /* User-defined names must expand too (a loop among them is an error). */
    for (size_t i = 0; i < config_nents; i++) {
        CONFIG_EXPAND_CTX ctx;

        config_ctx_init(&ctx);
        if (config_expand_name(config_ents[i].name, &ctx) == NULL) {
            VSTRING *src = vstring_alloc(100);
            const char *where = ctx.err_name ? ctx.err_name : config_ents[i].name;

            *error_r = config_set_error("%s: parameter %s: %s",
                                        config_source(src, where), where, STR(ctx.why));
            vstring_free(&src);
            config_ctx_free(&ctx);
            myfree(values);
            argv_free(&strings);
            return -1;
        }
        config_ctx_free(&ctx);
    }
    for (size_t i = 0; i < param_count; i++) {
        const PARAM_DEF *p = &param_table[i];

        switch (p->type) {
        case PT_STR:
        case PT_LIST:
            *(char **) p->var = values[i].str;
            break;
        case PT_BOOL:
            *(bool *) p->var = values[i].flag;
            break;
        default:
            *(long *) p->var = values[i].num;
            break;
        }
    }
    myfree(values);
    if (config_strings)
        argv_free(&config_strings);
    config_strings = strings;
    return 0;
}
