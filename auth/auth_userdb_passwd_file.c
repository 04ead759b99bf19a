/* auth_userdb_passwd_file - userdb over a Dovecot passwd-file.
 *
 * Contract: uid, gid and home come from the user's line; extra fields
 * named userdb_NAME=value are passed on as NAME=value (e.g. userdb_mail).
 * A line without uid or gid still answers; the caller decides whether it
 * can use a reply without them.
 */
#include "sys_defs.h"

#include <string.h>

#include "auth.h"
#include "passwd_file.h"

/* auth_userdb_passwd_file_init - open */
static void *auth_userdb_passwd_file_init(const char *args, const char **error_r)
{
    return auth_passwd_file_init(args, error_r);
}

/* auth_userdb_passwd_file_lookup - fill a reply */
static AUTH_DB_RESULT auth_userdb_passwd_file_lookup(void *ctx, const AUTH_LOOKUP *lk,
                                                     AUTH_USERDB_REPLY *reply,
                                                     const char **why_r)
{
    const PASSWD_FILE_ENTRY *ent = auth_passwd_file_find(ctx, lk, why_r);
    ARGV *extra;

    if (ent == NULL)
        return *why_r ? AUTH_DB_TEMPFAIL : AUTH_DB_UNKNOWN;
    reply->uid = ent->uid;
    reply->gid = ent->gid;
    vstring_set(reply->home, ent->home);
    extra = argv_split(ent->extra, " \t");
    for (int i = 0; i < extra->argc; i++)
        if (strncmp(extra->argv[i], "userdb_", 7) == 0 && extra->argv[i][7])
            argv_add(reply->extra, extra->argv[i] + 7, (char *) 0);
    argv_free(&extra);
    return AUTH_DB_OK;
}

const AUTH_USERDB_OPS auth_userdb_passwd_file = {
    "passwd-file", auth_userdb_passwd_file_init, auth_userdb_passwd_file_lookup,
    auth_passwd_file_deinit,
};
