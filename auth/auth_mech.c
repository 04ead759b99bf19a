/* auth_mech - the mechanism registry: which SASL mechanisms exist and
 * which auth_mechanisms enables.
 *
 * Contract: auth_mech_init() checks auth_mechanisms at start-up (an
 * unknown name is fatal); lookups are case-insensitive.
 */
#include "sys_defs.h"

#include <string.h>

#include "argv.h"
#include "auth.h"
#include "config.h"
#include "msg.h"

static const AUTH_MECH *const auth_mech_all[] = {&auth_mech_plain, &auth_mech_login};
static const AUTH_MECH *auth_mech_enabled[PH_ARRAY_LEN(auth_mech_all) + 1];

/* auth_mech_init - enable the configured mechanisms */
void auth_mech_init(void)
{
    ARGV *names = argv_split_list(var_auth_mechanisms);
    size_t n = 0;

    for (int i = 0; i < names->argc; i++) {
        const AUTH_MECH *found = NULL;

        for (size_t k = 0; k < PH_ARRAY_LEN(auth_mech_all); k++)
            if (strcasecmp(auth_mech_all[k]->name, names->argv[i]) == 0)
                found = auth_mech_all[k];
        if (found == NULL)
            msg_fatal("auth_mechanisms: unsupported mechanism \"%s\" (supported: plain login)",
                      names->argv[i]);
        bool dup = false;

        for (size_t k = 0; k < n; k++)
            dup |= auth_mech_enabled[k] == found;
        if (!dup)
            auth_mech_enabled[n++] = found;
    }
    auth_mech_enabled[n] = NULL;
    argv_free(&names);
}

/* auth_mech_find - an enabled mechanism */
const AUTH_MECH *auth_mech_find(const char *name)
{
    for (const AUTH_MECH *const *mp = auth_mech_enabled; *mp; mp++)
        if (strcasecmp((*mp)->name, name) == 0)
            return *mp;
    return NULL;
}

/* auth_mech_list - enabled mechanisms */
const AUTH_MECH *const *auth_mech_list(void)
{
    return auth_mech_enabled;
}
