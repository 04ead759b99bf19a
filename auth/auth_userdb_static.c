/* auth_userdb_static - the same uid/gid/home template for every user
 * (virtual mailboxes under one system account).
 *
 * Contract: args are "uid=N gid=N home=TEMPLATE [allow_all_users=yes]
 * [NAME=value ...]"; home and other values may use %u %n %d. Without
 * allow_all_users=yes a user must exist in some passdb (so a USER lookup
 * for a made-up name says NOTFOUND and local delivery bounces it).
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_var.h"
#include "mymalloc.h"

typedef struct auth_userdb_static_ctx {
    long    uid, gid;
    char   *home;
    bool    allow_all;
    ARGV   *extra;
} AUTH_USERDB_STATIC;

/* auth_userdb_static_number - a non-negative decimal id */
static bool auth_userdb_static_number(const char *text, long *val_r)
{
    char *end;
    long val;

    if (*text < '0' || *text > '9')
        return false;
    val = strtol(text, &end, 10);
    if (*end != 0 || val < 0 || val > 2147483647L)
        return false;
    *val_r = val;
    return true;
}

/* auth_userdb_static_deinit - release */
static void auth_userdb_static_deinit(void *ptr)
{
    AUTH_USERDB_STATIC *ctx = ptr;

    myfree(ctx->home);
    argv_free(&ctx->extra);
    myfree(ctx);
}

/* auth_userdb_static_init - parse the template */
static void *auth_userdb_static_init(const char *args, const char **error_r)
{
    AUTH_USERDB_STATIC *ctx = mycalloc(1, sizeof(*ctx));
    ARGV *words = argv_split(args, " \t");

    ctx->uid = ctx->gid = -1;
    ctx->extra = argv_alloc(2);
    *error_r = NULL;
    for (int i = 0; i < words->argc && *error_r == NULL; i++) {
        const char *w = words->argv[i];

        if (strncmp(w, "uid=", 4) == 0) {
            if (!auth_userdb_static_number(w + 4, &ctx->uid))
                *error_r = "uid= needs a number";
        } else if (strncmp(w, "gid=", 4) == 0) {
            if (!auth_userdb_static_number(w + 4, &ctx->gid))
                *error_r = "gid= needs a number";
        } else if (strncmp(w, "home=", 5) == 0) {
            myfree(ctx->home);
            ctx->home = mystrdup(w + 5);
        } else if (strcmp(w, "allow_all_users=yes") == 0) {
            ctx->allow_all = true;
        } else if (strchr(w, '=') != NULL && w[0] != '=') {
            argv_add(ctx->extra, w, (char *) 0);
        } else {
            *error_r = "expected name=value arguments (uid= gid= home=)";
        }
    }
    argv_free(&words);
    if (*error_r == NULL && (ctx->uid < 0 || ctx->gid < 0))
        *error_r = "static userdb needs uid= and gid=";
    if (*error_r != NULL) {
        auth_userdb_static_deinit(ctx);
        return NULL;
    }
    return ctx;
}

/* auth_userdb_static_lookup - expand the template for one user */
static AUTH_DB_RESULT auth_userdb_static_lookup(void *ptr, const AUTH_LOOKUP *lk,
                                               AUTH_USERDB_REPLY *reply, const char **why_r)
{
    AUTH_USERDB_STATIC *ctx = ptr;
    AUTH_VARS vars = {.user = lk->user, .service = lk->service, .rip = lk->rip, .lip = lk->lip};
    VSTRING *val = vstring_alloc(100);
    AUTH_DB_RESULT r;

    if (!ctx->allow_all && (r = auth_db_exists(lk, why_r)) != AUTH_DB_OK) {
        vstring_free(&val);
        return r;
    }
    reply->uid = ctx->uid;
    reply->gid = ctx->gid;
    if (ctx->home && auth_var_expand(reply->home, ctx->home, &vars, why_r) < 0) {
        vstring_free(&val);
        return AUTH_DB_TEMPFAIL;
    }
    for (int i = 0; i < ctx->extra->argc; i++) {
        vstring_reset(val);
        if (auth_var_expand(val, ctx->extra->argv[i], &vars, why_r) < 0) {
            vstring_free(&val);
            return AUTH_DB_TEMPFAIL;
        }
        argv_add(reply->extra, STR(val), (char *) 0);
    }
    vstring_free(&val);
    return AUTH_DB_OK;
}

const AUTH_USERDB_OPS auth_userdb_static = {
    "static", auth_userdb_static_init, auth_userdb_static_lookup, auth_userdb_static_deinit,
};
