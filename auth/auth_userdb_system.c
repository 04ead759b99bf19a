/* auth_userdb_system - userdb over the system accounts (getpwnam).
 *
 * Contract: uid, gid and home of the account; a uid outside
 * first_valid_uid..last_valid_uid is refused (a failure, not "unknown",
 * so the mail process learns why).
 */
#include "sys_defs.h"

#include <pwd.h>

#include "auth.h"
#include "config.h"

/* auth_userdb_system_init - nothing to open */
static void *auth_userdb_system_init(const char *args, const char **error_r)
{
    static int dummy;

    if (*args) {
        *error_r = "system takes no arguments";
        return NULL;
    }
    return &dummy;
}

/* auth_userdb_system_lookup - one account */
static AUTH_DB_RESULT auth_userdb_system_lookup(void *ctx, const AUTH_LOOKUP *lk,
                                               AUTH_USERDB_REPLY *reply, const char **why_r)
{
    struct passwd *pw = getpwnam(lk->user);

    (void) ctx;
    if (pw == NULL)
        return AUTH_DB_UNKNOWN;
    if ((long) pw->pw_uid < var_first_valid_uid
        || (var_last_valid_uid != 0 && (long) pw->pw_uid > var_last_valid_uid)) {
        *why_r = "uid outside first_valid_uid..last_valid_uid";
        return AUTH_DB_MISMATCH;
    }
    reply->uid = (long) pw->pw_uid;
    reply->gid = (long) pw->pw_gid;
    vstring_set(reply->home, pw->pw_dir);
    return AUTH_DB_OK;
}

/* auth_userdb_system_deinit - nothing to close */
static void auth_userdb_system_deinit(void *ctx)
{
    (void) ctx;
}

const AUTH_USERDB_OPS auth_userdb_system = {
    "system", auth_userdb_system_init, auth_userdb_system_lookup, auth_userdb_system_deinit,
};
