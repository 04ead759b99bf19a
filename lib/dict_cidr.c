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
#include "dict_text.h"
#include "mymalloc.h"
#include "vstring.h"

enum dict_cidr_kind {
    DICT_CIDR_K_RULE, DICT_CIDR_K_IF, DICT_CIDR_K_ENDIF
};

typedef struct dict_cidr_rule {
    enum dict_cidr_kind kind;
    CIDR_MATCH block;
    bool    negate;
    char   *result;
    size_t  skip_to;
    int     line;
} DICT_CIDR_RULE;

typedef struct dict_cidr {
    DICT_IMPL impl;
    DICT_CIDR_RULE *rules;
    size_t  count;
} DICT_CIDR;

/* dict_cidr_free - release */
static void dict_cidr_free(DICT_IMPL *impl)
{
    DICT_CIDR *dc = (DICT_CIDR *) impl;

    for (size_t i = 0; i < dc->count; i++)
	myfree(dc->rules[i].result);
    myfree(dc->rules);
    myfree(dc->impl.file);
    myfree(dc);
}

/* dict_cidr_lookup - first matching block */
static int dict_cidr_lookup(DICT_IMPL *impl, const char *key, const char **value_r,
			            const char **error_r PH_UNUSED)
{
    DICT_CIDR *dc = (DICT_CIDR *) impl;
    unsigned char addr[16];
    int     family;
    size_t  i = 0;

    if (cidr_match_addr(key, &family, addr) < 0)
	return DICT_NOTFOUND;
    while (i < dc->count) {
	DICT_CIDR_RULE *r = &dc->rules[i];
	bool    m;

	if (r->kind == DICT_CIDR_K_ENDIF) {
	    i++;
	    continue;
	}
	m = cidr_match_execute(&r->block, family, addr) != r->negate;
	if (r->kind == DICT_CIDR_K_IF) {
	    i = m ? i + 1 : r->skip_to + 1;
	    continue;
	}
	if (m) {
	    *value_r = r->result;
	    return DICT_FOUND;
	}
	i++;
    }
    return DICT_NOTFOUND;
}

/* dict_cidr_parse_line - one logical line; -1 with why */
static int dict_cidr_parse_line(DICT_CIDR_RULE *r, const char *s, VSTRING *why)
{
    char    pat[100];
    size_t  n;

    memset(r, 0, sizeof(*r));
    if (strncasecmp(s, "endif", 5) == 0 && (s[5] == 0 || isspace((unsigned char) s[5]))) {
	for (s += 5; isspace((unsigned char) *s); s++)
	     /* void */ ;
	if (*s) {
	    vstring_set(why, "text after endif");
	    return -1;
	}
	r->kind = DICT_CIDR_K_ENDIF;
	return 0;
    }
    r->kind = DICT_CIDR_K_RULE;
    if (strncasecmp(s, "if", 2) == 0 && isspace((unsigned char) s[2])) {
	r->kind = DICT_CIDR_K_IF;
	for (s += 2; isspace((unsigned char) *s); s++)
	     /* void */ ;
    }
    if (*s == '!') {
	r->negate = true;
	s++;
    }
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
    for (s += n; isspace((unsigned char) *s); s++)
	 /* void */ ;
    if (r->kind == DICT_CIDR_K_IF) {
	if (*s) {
	    vstring_set(why, "text after if network/mask");
	    return -1;
	}
	return 0;
    }
    if (*s == 0) {
	vstring_set(why, "no result after network address");
	return -1;
    }
    r->result = mystrdup(s);
    return 0;
}

/* dict_cidr_open - parse the whole file */
DICT_IMPL *dict_cidr_open(const char *type PH_UNUSED, const char *name, int open_flags PH_UNUSED,
			          int dict_flags PH_UNUSED, const char **error_r)
{
    static VSTRING *msg;
    DICT_TEXT *tp;
    DICT_CIDR *dc;
    const char *line, *value;
    int     lineno = 0, st;
    size_t  alloc = 16, *stack = NULL, depth = 0;
    VSTRING *why = vstring_alloc(100);

    if (msg == NULL)
	msg = vstring_alloc(100);
    if ((tp = dict_text_open(name, DICT_TEXT_LINES, error_r)) == NULL) {
	vstring_free(&why);
	return NULL;
    }
    dc = mycalloc(1, sizeof(*dc));
    dc->impl.props = DICT_PROP_PATTERN;
    dc->impl.lookup = dict_cidr_lookup;
    dc->impl.close = dict_cidr_free;
    dc->impl.file = mystrdup(name);
    dc->rules = mymalloc(alloc * sizeof(*dc->rules));
    while ((st = dict_text_next(tp, &line, &value, &lineno, error_r)) > 0) {
	DICT_CIDR_RULE *r;

	if (dc->count == alloc) {
	    alloc *= 2;
	    dc->rules = myreallocarray(dc->rules, alloc, sizeof(*dc->rules));
	}
	r = &dc->rules[dc->count];
	st = dict_cidr_parse_line(r, line, why);
	r->line = lineno;
	dc->count++;
	if (st < 0)
	    goto syntax;
	if (r->kind == DICT_CIDR_K_IF) {
	    stack = myreallocarray(stack, depth + 1, sizeof(*stack));
	    stack[depth++] = dc->count - 1;
	} else if (r->kind == DICT_CIDR_K_ENDIF) {
	    if (depth == 0) {
		vstring_set(why, "endif without matching if");
		goto syntax;
	    }
	    dc->rules[stack[--depth]].skip_to = dc->count - 1;
	}
    }
    if (st < 0) {
	vstring_set(msg, *error_r);		/* the reader's buffer goes away */
	*error_r = STR(msg);
	goto fail;
    }
    if (depth > 0) {
	lineno = dc->rules[stack[depth - 1]].line;
	vstring_set(why, "if without matching endif");
	goto syntax;
    }
    dict_text_close(&tp);
    myfree(stack);
    vstring_free(&why);
    return &dc->impl;

syntax:
    vstring_fmt(msg, "%s, line %d: %s", name, lineno, STR(why));
    *error_r = STR(msg);
fail:
    dict_text_close(&tp);
    myfree(stack);
    vstring_free(&why);
    dict_cidr_free(&dc->impl);
    return NULL;
}
