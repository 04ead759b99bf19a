/* auth_passdb_system - passdb over the system accounts (getpwnam +
 * getspnam + crypt(3)).
 *
 * Contract: the login name is looked up as given; accounts with a uid
 * outside first_valid_uid..last_valid_uid (last 0: no upper bound) are
 * treated as unknown, so root and system accounts cannot log in. The
 * shadow entry is used when readable (the service runs as root), else the
 * passwd field. Locked ("!", "*") or empty hashes never match.
 */
#include "sys_defs.h"

#include <pwd.h>
#include <shadow.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "password_scheme.h"

/* auth_passdb_system_init - nothing to open */
static void *auth_passdb_system_init(const char *args, const char **error_r)
{
    static int dummy;

    if (*args) {
        *error_r = "system takes no arguments";
        return NULL;
    }
    return &dummy;
}

/* auth_passdb_system_uid_ok - uid inside the allowed range */
static bool auth_passdb_system_uid_ok(uid_t uid)
{
    return (long) uid >= var_first_valid_uid
        && (var_last_valid_uid == 0 || (long) uid <= var_last_valid_uid);
}

/* auth_passdb_system_exists - known account in range */
static AUTH_DB_RESULT auth_passdb_system_exists(void *ctx, const AUTH_LOOKUP *lk,
                                               const char **why_r)
{
    struct passwd *pw = getpwnam(lk->user);

    (void) ctx, (void) why_r;
    return pw != NULL && auth_passdb_system_uid_ok(pw->pw_uid) ? AUTH_DB_OK : AUTH_DB_UNKNOWN;
}

/* auth_passdb_system_verify - check the password */
static AUTH_DB_RESULT auth_passdb_system_verify(void *ctx, const AUTH_LOOKUP *lk,
                                               const char *password, const char **why_r)
{
    struct passwd *pw = getpwnam(lk->user);
    struct spwd *sp;
    const char *hash;
    const char *err;
    int ret;

    (void) ctx;
    if (pw == NULL || !auth_passdb_system_uid_ok(pw->pw_uid))
        return AUTH_DB_UNKNOWN;
    sp = getspnam(lk->user);
    hash = sp ? sp->sp_pwdp : pw->pw_passwd;
    if (hash == NULL || *hash == 0 || *hash == '!' || *hash == '*' || strcmp(hash, "x") == 0)
        return AUTH_DB_MISMATCH;
    ret = password_verify(password, hash, "CRYPT", &err);
    if (ret == PASSWORD_ERROR) {
        *why_r = err;
        return AUTH_DB_TEMPFAIL;
    }
    return ret == PASSWORD_MATCH ? AUTH_DB_OK : AUTH_DB_MISMATCH;
}

/* auth_passdb_system_deinit - nothing to close */
static void auth_passdb_system_deinit(void *ctx)
{
    (void) ctx;
}

const AUTH_PASSDB_OPS auth_passdb_system = {
    "system", auth_passdb_system_init, auth_passdb_system_verify,
    auth_passdb_system_exists, auth_passdb_system_deinit,
};
