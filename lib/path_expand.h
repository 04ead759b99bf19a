/* path_expand.h - $name expansion of per-recipient path templates
 * (forward_path and the like).
 *
 * Syntax: $name, ${name}, $(name) insert a value; ${name?text} inserts
 * text when name is defined, ${name:text} when it is not (text is
 * literal). "$$" is a literal "$". A name is [A-Za-z0-9_]+. A '$' not followed by a name or a
 * brace is kept as is. Values come from the caller's lookup function,
 * which returns NULL for "undefined".
 *
 * Results: PATH_EXPAND_OK; PATH_EXPAND_UNDEF when a plain reference
 * ($name, ${name}) named an undefined value (the caller usually skips
 * that template, as Postfix does with $extension for an address without
 * one); PATH_EXPAND_SYNTAX for an unterminated brace or an unknown
 * operator. out holds the expansion so far in every case. Never aborts
 * on input; the output is at most PATH_EXPAND_MAX bytes (longer is a
 * syntax error).
 */
#ifndef PATH_EXPAND_H
#define PATH_EXPAND_H

#include "sys_defs.h"
#include "vstring.h"

#define PATH_EXPAND_OK      0
#define PATH_EXPAND_UNDEF   1
#define PATH_EXPAND_SYNTAX  (-1)

#define PATH_EXPAND_MAX     4096

/* lookup: the value of name[0..len), or NULL when undefined */
typedef const char *(*PATH_EXPAND_LOOKUP_FN) (const char *name, size_t len, void *ctx);

/* path_expand - expand pattern into out (replacing its contents) */
int path_expand(VSTRING *out, const char *pattern, PATH_EXPAND_LOOKUP_FN lookup, void *ctx);

#endif
