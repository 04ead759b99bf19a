/* dict_fail - fail:name tables: every lookup is an error.
 *
 * Contract: used to force a temporary failure (tests, maintenance); the
 * error names the table. Never returns a value.
 */
#include "sys_defs.h"

#include "dict.h"
#include "mymalloc.h"

/* dict_fail_lookup - always an error */
static int dict_fail_lookup(DICT_IMPL *impl PH_UNUSED, const char *key PH_UNUSED,
			            const char **value_r PH_UNUSED, const char **error_r)
{
    *error_r = "table lookup failed (fail: table)";
    return DICT_ERROR;
}

/* dict_fail_sequence - iteration fails too */
static int dict_fail_sequence(DICT_IMPL *impl PH_UNUSED, int how PH_UNUSED,
			              const char **key_r PH_UNUSED, const char **value_r PH_UNUSED,
			              const char **error_r)
{
    *error_r = "table lookup failed (fail: table)";
    return DICT_ERROR;
}

/* dict_fail_close - release */
static void dict_fail_close(DICT_IMPL *impl)
{
    myfree(impl);
}

/* dict_fail_open - any name is accepted */
DICT_IMPL *dict_fail_open(const char *type PH_UNUSED, const char *name PH_UNUSED,
			          int open_flags PH_UNUSED, int dict_flags PH_UNUSED,
			          const char **error_r PH_UNUSED)
{
    DICT_IMPL *impl = mycalloc(1, sizeof(*impl));

    impl->props = DICT_PROP_FIXED;
    impl->lookup = dict_fail_lookup;
    impl->sequence = dict_fail_sequence;
    impl->close = dict_fail_close;
    return impl;
}
