/* dict_cidr - cidr: tables of network blocks, first match wins.
 *
 * Contract: the file is read at open (logical lines, comments as in
 * dict_text.h):
 *
 *	192.0.2.0/24	result		block and result
 *	2001:db8::/32	result		IPv6 block
 *	192.0.2.7	result		one address
 *	!192.0.2.0/24	result		matches addresses outside the block
 *	if 192.0.2.0/24			the rules up to endif apply inside
 *	endif
 *
 * Keys are client addresses; IPv4-mapped IPv6 keys match IPv4 blocks; a
 * key that is not an address finds nothing. Errors (bad address, bad
 * mask, host bits set, missing result, unbalanced if/endif) fail the open
 * with "FILE, line N: reason".
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "cidr_match.h"
#include "dict.h"
#include "dict_pattern.h"
#include "mymalloc.h"
#include "vstring.h"

typedef struct dict_cidr_rule {
    DICT_PATTERN_RULE rule;		/* first: kind, negate, result, ... */
    CIDR_MATCH block;
} DICT_CIDR_RULE;

typedef struct dict_cidr {
    DICT_IMPL impl;
    DICT_PATTERN rules;
} DICT_CIDR;

typedef struct dict_cidr_key {
    int     family;
    unsigned char addr[16];
} DICT_CIDR_KEY;

/* dict_cidr_free - release */
static void dict_cidr_free(DICT_IMPL *impl)
{
    DICT_CIDR *dc = (DICT_CIDR *) impl;

    dict_pattern_free(&dc->rules);
    myfree(dc->impl.file);
    myfree(dc);
}

/* dict_cidr_match - does the key's address lie in the rule's block */
static int dict_cidr_match(DICT_PATTERN_RULE *rule, void *context)
{
    DICT_CIDR_RULE *r = (DICT_CIDR_RULE *) rule;
    DICT_CIDR_KEY *k = (DICT_CIDR_KEY *) context;

    return cidr_match_execute(&r->block, k->family, k->addr) ? 1 : 0;
}

/* dict_cidr_lookup - first matching block */
static int dict_cidr_lookup(DICT_IMPL *impl, const char *key, const char **value_r,
			            const char **error_r PH_UNUSED)
{
    DICT_CIDR *dc = (DICT_CIDR *) impl;
    DICT_CIDR_KEY k;
    DICT_PATTERN_RULE *r;

    if (cidr_match_addr(key, &k.family, k.addr) < 0)
	return DICT_NOTFOUND;
    if (dict_pattern_first(&dc->rules, dict_cidr_match, &k, &r) <= 0)
	return DICT_NOTFOUND;
    *value_r = r->result;
    return DICT_FOUND;
}

/* dict_cidr_parse - "network/mask" at *sp; advances *sp; -1 with why */
static int dict_cidr_parse(DICT_PATTERN_RULE *rule, const char **sp,
			           void *context PH_UNUSED, VSTRING *why)
{
    DICT_CIDR_RULE *r = (DICT_CIDR_RULE *) rule;
    const char *s = *sp;
    char    pat[100];
    size_t  n;

    for (n = 0; s[n] && !isspace((unsigned char) s[n]); n++)
	 /* void */ ;
    if (n == 0 || n >= sizeof(pat)) {
	vstring_set(why, n ? "network address too long" : "expected network address");
	return -1;
    }
    memcpy(pat, s, n);
    pat[n] = 0;
    if (cidr_match_parse(&r->block, pat, why) < 0)
	return -1;
    *sp = s + n;
    return 0;
}

static const DICT_PATTERN_OPS dict_cidr_ops = {
    .rule_size = sizeof(DICT_CIDR_RULE),
    .if_what = "network/mask",
    .what = "network address",
    .parse = dict_cidr_parse,
};

/* dict_cidr_open - parse the whole file */
DICT_IMPL *dict_cidr_open(const char *type PH_UNUSED, const char *name, int open_flags PH_UNUSED,
			          int dict_flags PH_UNUSED, const char **error_r)
{
    DICT_CIDR *dc = mycalloc(1, sizeof(*dc));

    if (dict_pattern_load(&dc->rules, name, &dict_cidr_ops, NULL, error_r) < 0) {
	myfree(dc);
	return NULL;
    }
    dc->impl.props = DICT_PROP_PATTERN;
    dc->impl.lookup = dict_cidr_lookup;
    dc->impl.close = dict_cidr_free;
    dc->impl.file = mystrdup(name);
    return &dc->impl;
}
