/* auth_passdb_passwd_file - passdb over a Dovecot passwd-file.
 *
 * Contract: the user's line decides; its password field is checked with
 * password_verify (default scheme: scheme= arg, else
 * auth_default_password_scheme). An empty password field never matches.
 * A hash the scheme code cannot use is a temporary failure, logged with
 * the file's user so the administrator can fix the line.
 */
#include "sys_defs.h"

#include "auth.h"
#include "msg.h"
#include "passwd_file.h"
#include "password_scheme.h"

/* auth_passdb_passwd_file_init - open */
static void *auth_passdb_passwd_file_init(const char *args, const char **error_r)
{
    return auth_passwd_file_init(args, error_r);
}

/* auth_passdb_passwd_file_verify - check a password */
static AUTH_DB_RESULT auth_passdb_passwd_file_verify(void *ctx, const AUTH_LOOKUP *lk,
                                                     const char *password, const char **why_r)
{
    AUTH_PASSWD_FILE *apf = ctx;
    const PASSWD_FILE_ENTRY *ent = auth_passwd_file_find(apf, lk, why_r);
    const char *err;
    int ret;

    if (ent == NULL)
        return *why_r ? AUTH_DB_TEMPFAIL : AUTH_DB_UNKNOWN;
    if (*ent->password == 0)
        return AUTH_DB_MISMATCH;
    ret = password_verify(password, ent->password, auth_passwd_file_scheme(apf), &err);
    if (ret == PASSWORD_ERROR) {
        msg_warn("passwd-file(%s): invalid password field: %s",
                 auth_request_log_user(lk->user), err);
        *why_r = err;
        return AUTH_DB_TEMPFAIL;
    }
    return ret == PASSWORD_MATCH ? AUTH_DB_OK : AUTH_DB_MISMATCH;
}

/* auth_passdb_passwd_file_exists - is there a line for the user */
static AUTH_DB_RESULT auth_passdb_passwd_file_exists(void *ctx, const AUTH_LOOKUP *lk,
                                                     const char **why_r)
{
    const PASSWD_FILE_ENTRY *ent = auth_passwd_file_find(ctx, lk, why_r);

    if (ent == NULL)
        return *why_r ? AUTH_DB_TEMPFAIL : AUTH_DB_UNKNOWN;
    return AUTH_DB_OK;
}

const AUTH_PASSDB_OPS auth_passdb_passwd_file = {
    "passwd-file", auth_passdb_passwd_file_init, auth_passdb_passwd_file_verify,
    auth_passdb_passwd_file_exists, auth_passwd_file_deinit,
};
