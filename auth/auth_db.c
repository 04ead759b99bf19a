/* auth_db - the passdb/userdb registry and the ordered lookups.
 *
 * Contract: auth_passdb and auth_userdb are lists of "type[:args]"
 * entries tried in order. A passdb that does not know the user passes to
 * the next; the first that knows the user decides (match or mismatch); a
 * temporary failure is remembered and wins over "unknown" at the end. A
 * userdb that does not know the user passes to the next one.
 * Backends are registered by name in the tables below, one file each.
 * Limits: AUTH_DB_MAX entries per list. sqlite/pgsql/mysql are not
 * available in this build (start-up fails with a clear message).
 */
#include "sys_defs.h"

#include <string.h>

#include "argv.h"
#include "auth.h"
#include "config.h"
#include "msg.h"
#include "mymalloc.h"

#define AUTH_DB_MAX 16

static const AUTH_PASSDB_OPS *const auth_passdb_types[] = {
    &auth_passdb_passwd_file, &auth_passdb_system,
};
static const AUTH_USERDB_OPS *const auth_userdb_types[] = {
    &auth_userdb_passwd_file, &auth_userdb_system, &auth_userdb_static,
};

typedef struct auth_db {
    const void *ops;
    void   *ctx;
    char   *name;		/* the type, for log lines */
} AUTH_DB;

static AUTH_DB auth_passdbs[AUTH_DB_MAX];
static int auth_passdb_count;
static AUTH_DB auth_userdbs[AUTH_DB_MAX];
static int auth_userdb_count;

/* auth_db_split_list - list entries; name=value tokens continue an entry */
ARGV   *auth_db_split_list(const char *value)
{
    ARGV *tokens = argv_split_list(value);
    ARGV *out = argv_alloc(4);
    VSTRING *cur = vstring_alloc(100);
    bool have = false;

    for (int i = 0; i < tokens->argc; i++) {
        const char *tok = tokens->argv[i];
        const char *eq = strchr(tok, '=');
        const char *colon = strchr(tok, ':');
        bool cont = have && eq != NULL && (colon == NULL || colon > eq);

        if (cont) {
            vstring_addch(cur, ' ');
            vstring_cat(cur, tok);
            continue;
        }
        if (have)
            argv_add(out, STR(cur), (char *) 0);
        vstring_set(cur, tok);
        have = true;
    }
    if (have)
        argv_add(out, STR(cur), (char *) 0);
    argv_free(&tokens);
    vstring_free(&cur);
    return out;
}

/* auth_db_parse - split "type[:args]" */
static void auth_db_parse(const char *entry, VSTRING *type, const char **args_r)
{
    const char *colon = strchr(entry, ':');
    const char *space = strchr(entry, ' ');

    if (colon != NULL && (space == NULL || colon < space)) {
        vstring_setn(type, entry, (size_t) (colon - entry));
        *args_r = colon + 1;
    } else if (space != NULL) {
        vstring_setn(type, entry, (size_t) (space - entry));
        *args_r = space + 1;
    } else {
        vstring_set(type, entry);
        *args_r = "";
    }
}

/* auth_db_init - open every configured backend */
void auth_db_init(void)
{
    ARGV *list;
    VSTRING *type = vstring_alloc(32);
    const char *args, *error;

    list = auth_db_split_list(var_auth_passdb);
    for (int i = 0; i < list->argc; i++) {
        const AUTH_PASSDB_OPS *ops = NULL;

        auth_db_parse(list->argv[i], type, &args);
        for (size_t k = 0; k < PH_ARRAY_LEN(auth_passdb_types); k++)
            if (strcmp(auth_passdb_types[k]->type, STR(type)) == 0)
                ops = auth_passdb_types[k];
        if (ops == NULL)
            msg_fatal("auth_passdb: unsupported passdb type \"%s\" (supported: passwd-file, system)",
                      STR(type));
        if (auth_passdb_count >= AUTH_DB_MAX)
            msg_fatal("auth_passdb: more than %d entries", AUTH_DB_MAX);
        if ((auth_passdbs[auth_passdb_count].ctx = ops->init(args, &error)) == NULL)
            msg_fatal("auth_passdb: %s: %s", list->argv[i], error);
        auth_passdbs[auth_passdb_count].ops = ops;
        auth_passdbs[auth_passdb_count].name = mystrdup(ops->type);
        auth_passdb_count++;
    }
    argv_free(&list);
    list = auth_db_split_list(var_auth_userdb);
    for (int i = 0; i < list->argc; i++) {
        const AUTH_USERDB_OPS *ops = NULL;

        auth_db_parse(list->argv[i], type, &args);
        for (size_t k = 0; k < PH_ARRAY_LEN(auth_userdb_types); k++)
            if (strcmp(auth_userdb_types[k]->type, STR(type)) == 0)
                ops = auth_userdb_types[k];
        if (ops == NULL)
            msg_fatal("auth_userdb: unsupported userdb type \"%s\" (supported: passwd-file, system, static)",
                      STR(type));
        if (auth_userdb_count >= AUTH_DB_MAX)
            msg_fatal("auth_userdb: more than %d entries", AUTH_DB_MAX);
        if ((auth_userdbs[auth_userdb_count].ctx = ops->init(args, &error)) == NULL)
            msg_fatal("auth_userdb: %s: %s", list->argv[i], error);
        auth_userdbs[auth_userdb_count].ops = ops;
        auth_userdbs[auth_userdb_count].name = mystrdup(ops->type);
        auth_userdb_count++;
    }
    argv_free(&list);
    vstring_free(&type);
    if (auth_passdb_count == 0)
        msg_warn("auth_passdb is empty: every authentication fails");
}

/* auth_db_verify - passdbs in order */
AUTH_DB_RESULT auth_db_verify(const AUTH_LOOKUP *lk, const char *password,
                              const char **dbname_r, const char **why_r)
{
    AUTH_DB_RESULT result = AUTH_DB_UNKNOWN;

    *dbname_r = auth_passdb_count ? auth_passdbs[0].name : "passdb";
    *why_r = "unknown user";
    for (int i = 0; i < auth_passdb_count; i++) {
        const AUTH_PASSDB_OPS *ops = auth_passdbs[i].ops;
        const char *why = NULL;
        AUTH_DB_RESULT r = ops->verify(auth_passdbs[i].ctx, lk, password, &why);

        if (r == AUTH_DB_UNKNOWN) {
            if (result == AUTH_DB_UNKNOWN)
                *dbname_r = auth_passdbs[i].name;
            continue;
        }
        if (r == AUTH_DB_TEMPFAIL) {
            result = r;
            *dbname_r = auth_passdbs[i].name;
            *why_r = why ? why : "temporary failure";
            continue;
        }
        *dbname_r = auth_passdbs[i].name;
        *why_r = r == AUTH_DB_OK ? "ok" : "Password mismatch";
        return r;
    }
    return result;
}

/* auth_db_exists - some passdb knows the user */
AUTH_DB_RESULT auth_db_exists(const AUTH_LOOKUP *lk, const char **why_r)
{
    AUTH_DB_RESULT result = AUTH_DB_UNKNOWN;

    for (int i = 0; i < auth_passdb_count; i++) {
        const AUTH_PASSDB_OPS *ops = auth_passdbs[i].ops;
        AUTH_DB_RESULT r = ops->exists(auth_passdbs[i].ctx, lk, why_r);

        if (r == AUTH_DB_OK)
            return r;
        if (r == AUTH_DB_TEMPFAIL)
            result = r;
    }
    return result;
}

/* auth_db_user - userdbs in order */
AUTH_DB_RESULT auth_db_user(const AUTH_LOOKUP *lk, AUTH_USERDB_REPLY *reply,
                            const char **why_r)
{
    AUTH_DB_RESULT result = AUTH_DB_UNKNOWN;

    *why_r = "unknown user";
    for (int i = 0; i < auth_userdb_count; i++) {
        const AUTH_USERDB_OPS *ops = auth_userdbs[i].ops;
        const char *why = NULL;
        AUTH_DB_RESULT r;

        reply->uid = reply->gid = -1;
        vstring_reset(reply->home);
        argv_truncate(reply->extra, 0);
        r = ops->lookup(auth_userdbs[i].ctx, lk, reply, &why);
        if (r == AUTH_DB_OK)
            return r;
        if (r == AUTH_DB_TEMPFAIL || r == AUTH_DB_MISMATCH) {
            result = AUTH_DB_TEMPFAIL;
            *why_r = why ? why : "temporary failure";
        }
    }
    return result;
}
