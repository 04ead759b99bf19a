/* params - the parameter registry as data: var_* storage and param_table[].
 *
 * Generated from params.def by the preprocessor; config.c fills the
 * variables in. Kept apart from the parser so any program can link the
 * registry (postconf -d, man page checks) without reading main.cf.
 */
#include "sys_defs.h"

#include <string.h>

#include "config.h"

#define PARAM(t, v, n, d, lo, hi, desc) PARAM_CTYPE_##t var_##v;
#include "params.def"
#undef PARAM

#define PARAM(t, v, n, d, lo, hi, desc) {n, PT_##t, d, lo, hi, desc, &var_##v},
const PARAM_DEF param_table[] = {
#include "params.def"
};
#undef PARAM

const size_t param_count = sizeof(param_table) / sizeof(param_table[0]);

/* param_find - registry entry by name (linear: ~250 entries, called at
 * start-up and by postconf, never per message) */
const PARAM_DEF *param_find(const char *name)
{
    for (size_t i = 0; i < param_count; i++)
        if (strcmp(param_table[i].name, name) == 0)
            return &param_table[i];
    return NULL;
}
