/* path_expand - $name expansion of path templates (see the header). */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "path_expand.h"
#include "vstring.h"

/* path_expand_name - length of the name at cp */
static size_t path_expand_name(const char *cp)
{
    size_t n = 0;

    while (isalnum((unsigned char) cp[n]) || cp[n] == '_')
	n++;
    return n;
}

/* path_expand - expand pattern */
int path_expand(VSTRING *out, const char *pattern, PATH_EXPAND_LOOKUP_FN lookup, void *ctx)
{
    const char *cp = pattern;
    int status = PATH_EXPAND_OK;

    vstring_reset(out);
    while (*cp) {
	if (LEN(out) > PATH_EXPAND_MAX)
	    return PATH_EXPAND_SYNTAX;
	if (*cp != '$') {
	    vstring_addch(out, *cp++);
	    continue;
	}
	cp++;
	if (*cp == '$') {
	    vstring_addch(out, *cp++);
	    continue;
	}
	if (*cp == '{' || *cp == '(') {
	    char close = *cp == '{' ? '}' : ')';
	    const char *name = cp + 1, *end = strchr(name, close), *op, *val;
	    size_t n = path_expand_name(name);

	    if (end == NULL || n == 0 || name + n > end)
		return PATH_EXPAND_SYNTAX;
	    op = name + n;
	    val = lookup(name, n, ctx);
	    if (op == end) {
		if (val == NULL)
		    status = PATH_EXPAND_UNDEF;
		else
		    vstring_cat(out, val);
	    } else if (*op == '?' || *op == ':') {
		if ((*op == '?') == (val != NULL))
		    vstring_catn(out, op + 1, (size_t) (end - op - 1));
	    } else {
		return PATH_EXPAND_SYNTAX;
	    }
	    cp = end + 1;
	} else {
	    size_t n = path_expand_name(cp);
	    const char *val;

	    if (n == 0) {
		vstring_addch(out, '$');
		continue;
	    }
	    if ((val = lookup(cp, n, ctx)) == NULL)
		status = PATH_EXPAND_UNDEF;
	    else
		vstring_cat(out, val);
	    cp += n;
	}
    }
    return LEN(out) > PATH_EXPAND_MAX ? PATH_EXPAND_SYNTAX : status;
}
