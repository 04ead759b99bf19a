/* dict_static - static:value tables: every key finds the same value.
 *
 * Contract: "static:text" returns text for any key; "static:{ text with
 * spaces }" strips the braces and the blanks inside them. An empty value
 * or an unbalanced brace is an open error.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "dict.h"
#include "mymalloc.h"
#include "vstring.h"

typedef struct dict_static {
    DICT_IMPL impl;
    char   *value;
} DICT_STATIC;

/* dict_static_lookup - always the value */
static int dict_static_lookup(DICT_IMPL *impl, const char *key PH_UNUSED,
			              const char **value_r, const char **error_r PH_UNUSED)
{
    *value_r = ((DICT_STATIC *) impl)->value;
    return DICT_FOUND;
}

/* dict_static_close - release */
static void dict_static_close(DICT_IMPL *impl)
{
    myfree(((DICT_STATIC *) impl)->value);
    myfree(impl);
}

/* dict_static_open - parse the value */
DICT_IMPL *dict_static_open(const char *type PH_UNUSED, const char *name, int open_flags PH_UNUSED,
			            int dict_flags PH_UNUSED, const char **error_r)
{
    static VSTRING *err;
    DICT_STATIC *ds;
    const char *s = name, *e = name + strlen(name);

    if (err == NULL)
	err = vstring_alloc(100);
    if (*s == '{') {
	if (e == s + 1 || e[-1] != '}') {
	    vstring_fmt(err, "static:%s: missing '}'", name);
	    *error_r = STR(err);
	    return NULL;
	}
	s++;
	e--;
	while (s < e && isspace((unsigned char) *s))
	    s++;
	while (e > s && isspace((unsigned char) e[-1]))
	    e--;
    }
    if (e == s) {
	vstring_fmt(err, "static:%s: empty value", name);
	*error_r = STR(err);
	return NULL;
    }
    ds = mycalloc(1, sizeof(*ds));
    ds->impl.props = DICT_PROP_FIXED;
    ds->impl.lookup = dict_static_lookup;
    ds->impl.close = dict_static_close;
    ds->value = mystrndup(s, (size_t) (e - s));
    return &ds->impl;
}
