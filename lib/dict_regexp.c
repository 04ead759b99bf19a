/* dict_regexp - regexp: and pcre: pattern tables on PCRE2.
 *
 * Contract: Postfix's pattern-file syntax, read at open (see dict_text.h
 * for logical lines and comments):
 *
 *	/pattern/flags result		first matching rule wins
 *	!/pattern/flags result		matches when the pattern does not
 *	if /pattern/flags		rules up to the matching endif apply
 *	if !/pattern/flags		only when the pattern (does not) match
 *	endif
 *
 * Any non-alphanumeric, non-blank character may delimit the pattern; a
 * backslash escapes the delimiter (and stays in the pattern). Flags: i (toggle case sensitivity;
 * matching is case-insensitive by default), m (multi-line) and x (regexp:
 * accepted, no effect, as PCRE's syntax is always "extended"; pcre:
 * extended syntax); pcre: also s (dot matches newline), A (anchored), E
 * (dollar matches only at the end), U (ungreedy), X (accepted). Results
 * may use $1..$99 or ${n} for captured substrings and $$ for a dollar; a
 * reference past the pattern's groups, or any reference in a negated
 * rule, is an error.
 *
 * Errors: every syntax problem (bad pattern with PCRE2's message, unknown
 * flag, missing result, endif without if, if without endif) fails the
 * open with "FILE, line N: reason". A lookup that hits PCRE2's match limit
 * is DICT_ERROR, never a hang.
 *
 * Limits: keys are matched as bytes (no UTF mode); results are bounded by
 * DICT_VALUE_MAX.
 */
#include "sys_defs.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <string.h>

#include "dict.h"
#include "dict_pattern.h"
#include "mymalloc.h"
#include "vstring.h"

#define DICT_REGEXP_MATCH_LIMIT	200000
#define DICT_REGEXP_DEPTH_LIMIT	10000

typedef struct dict_regexp_rule {
    DICT_PATTERN_RULE rule;		/* first: kind, negate, result, ... */
    pcre2_code *re;
} DICT_REGEXP_RULE;

typedef struct dict_regexp {
    DICT_IMPL impl;
    DICT_PATTERN rules;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    VSTRING *value;
    VSTRING *err;
    const char *key;			/* during a lookup */
} DICT_REGEXP;

/* dict_regexp_free_rule - release one rule's compiled pattern */
static void dict_regexp_free_rule(DICT_PATTERN_RULE *rule)
{
    DICT_REGEXP_RULE *r = (DICT_REGEXP_RULE *) rule;

    if (r->re)
	pcre2_code_free(r->re);
}

/* dict_regexp_free - release */
static void dict_regexp_free(DICT_IMPL *impl)
{
    DICT_REGEXP *dr = (DICT_REGEXP *) impl;

    dict_pattern_free(&dr->rules);
    if (dr->md)
	pcre2_match_data_free(dr->md);
    if (dr->mctx)
	pcre2_match_context_free(dr->mctx);
    vstring_free(&dr->value);
    vstring_free(&dr->err);
    myfree(dr->impl.file);
    myfree(dr);
}

/* dict_regexp_match - 1 match, 0 no match, -1 error (limit) */
static int dict_regexp_match(DICT_PATTERN_RULE *rule, void *context)
{
    DICT_REGEXP *dr = (DICT_REGEXP *) context;
    DICT_REGEXP_RULE *r = (DICT_REGEXP_RULE *) rule;
    int     rc = pcre2_match(r->re, (PCRE2_SPTR) dr->key, strlen(dr->key), 0, 0,
			     dr->md, dr->mctx);

    if (rc >= 0)
	return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
	return 0;
    vstring_fmt(dr->err, "line %d: matching \"%.100s\": PCRE2 error %d",
		rule->line, dr->key, rc);
    return -1;
}

/* dict_regexp_expand - substitute $n in the result */
static int dict_regexp_expand(DICT_REGEXP *dr, DICT_PATTERN_RULE *r, const char *key)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(dr->md);
    uint32_t npairs = pcre2_get_ovector_count(dr->md);
    const char *s;

    vstring_reset(dr->value);
    for (s = r->result; *s; s++) {
	if (*s != '$') {
	    vstring_addch(dr->value, *s);
	    continue;
	}
	s++;
	if (*s == '$') {
	    vstring_addch(dr->value, '$');
	    continue;
	}
	bool    brace = (*s == '{');
	unsigned n = 0;

	if (brace)
	    s++;
	while (isdigit((unsigned char) *s))
	    n = n * 10 + (unsigned) (*s++ - '0');
	if (!brace)
	    s--;
	if (n < npairs && ov[2 * n] != PCRE2_UNSET)
	    vstring_catn(dr->value, key + ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
	if (LEN(dr->value) > DICT_VALUE_MAX) {
	    vstring_fmt(dr->err, "line %d: result too long", r->line);
	    return -1;
	}
    }
    return 0;
}

/* dict_regexp_lookup - first matching rule */
static int dict_regexp_lookup(DICT_IMPL *impl, const char *key, const char **value_r,
			              const char **error_r)
{
    DICT_REGEXP *dr = (DICT_REGEXP *) impl;
    DICT_PATTERN_RULE *r;
    int     st;

    dr->key = key;
    st = dict_pattern_first(&dr->rules, dict_regexp_match, dr, &r);
    dr->key = NULL;
    if (st == 0)
	return DICT_NOTFOUND;
    if (st < 0)
	goto error;
    if (r->negate)
	vstring_set(dr->value, r->result);
    else if (dict_regexp_expand(dr, r, key) < 0)
	goto error;
    *value_r = STR(dr->value);
    return DICT_FOUND;

error:
    *error_r = STR(dr->err);
    return DICT_ERROR;
}

/* dict_regexp_check_refs - validate $ references against the groups */
static const char *dict_regexp_check_refs(const char *result, uint32_t ncap, bool negate)
{
    for (const char *s = result; *s; s++) {
	if (*s != '$')
	    continue;
	s++;
	if (*s == '$')
	    continue;
	bool    brace = (*s == '{');
	unsigned long n = 0;
	int     digits = 0;

	if (brace)
	    s++;
	while (isdigit((unsigned char) *s) && digits < 3) {
	    n = n * 10 + (unsigned long) (*s++ - '0');
	    digits++;
	}
	if (digits == 0 || digits > 2 || isdigit((unsigned char) *s) || (brace && *s != '}'))
	    return "bad $ in result (use $1..$99, ${n} or $$)";
	if (!brace)
	    s--;
	if (negate)
	    return "$number in the result of a negated pattern";
	if (n == 0 || n > ncap)
	    return "out-of-range $number in result";
    }
    return NULL;
}

/* dict_regexp_compile - parse "/pattern/flags" at *sp; advances *sp */
static pcre2_code *dict_regexp_compile(const char **sp, bool pcre, VSTRING *why)
{
    const char *s = *sp;
    char    delim = *s;
    VSTRING *pat;
    uint32_t opts = PCRE2_CASELESS;
    int     errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re;

    if (delim == 0 || isalnum((unsigned char) delim) || isspace((unsigned char) delim)
	|| delim == '\\') {
	vstring_set(why, "expected /pattern/");
	return NULL;
    }
    pat = vstring_alloc(64);
    for (s++; *s && *s != delim; s++) {
	if (*s == '\\' && s[1])
	    vstring_addch(pat, *s++);	/* keep the escape: "\\/" is "/" to PCRE */
	vstring_addch(pat, *s);
    }
    if (*s != delim) {
	vstring_fmt(why, "missing closing '%c' of pattern", delim);
	vstring_free(&pat);
	return NULL;
    }
    for (s++; *s && !isspace((unsigned char) *s); s++) {
	switch (*s) {
	case 'i':
	    opts ^= PCRE2_CASELESS;
	    break;
	case 'm':
	    opts ^= PCRE2_MULTILINE;
	    break;
	case 'x':
	    if (pcre)
		opts ^= PCRE2_EXTENDED;
	    break;
	case 's':
	case 'A':
	case 'E':
	case 'U':
	case 'X':
	    if (pcre) {
		opts ^= (*s == 's' ? PCRE2_DOTALL : *s == 'A' ? PCRE2_ANCHORED
			 : *s == 'E' ? PCRE2_DOLLAR_ENDONLY : *s == 'U' ? PCRE2_UNGREEDY : 0);
		break;
	    }
	    /* FALLTHROUGH */
	default:
	    vstring_fmt(why, "unknown pattern flag '%c'", isprint((unsigned char) *s) ? *s : '?');
	    vstring_free(&pat);
	    return NULL;
	}
    }
    re = pcre2_compile((PCRE2_SPTR) STR(pat), LEN(pat), opts, &errcode, &erroff, NULL);
    if (re == NULL) {
	PCRE2_UCHAR buf[256];

	pcre2_get_error_message(errcode, buf, sizeof(buf));
	vstring_fmt(why, "error in pattern at offset %zu: %s", (size_t) erroff, (char *) buf);
    }
    vstring_free(&pat);
    *sp = s;
    return re;
}

/* dict_regexp_parse - "/pattern/flags" at *sp into the rule; -1 with why */
static int dict_regexp_parse(DICT_PATTERN_RULE *rule, const char **sp, void *context,
			             VSTRING *why)
{
    DICT_REGEXP_RULE *r = (DICT_REGEXP_RULE *) rule;
    bool    pcre = *(const bool *) context;

    return (r->re = dict_regexp_compile(sp, pcre, why)) == NULL ? -1 : 0;
}

/* dict_regexp_check_result - $ references in the result; -1 with why */
static int dict_regexp_check_result(DICT_PATTERN_RULE *rule, const char *result, VSTRING *why)
{
    DICT_REGEXP_RULE *r = (DICT_REGEXP_RULE *) rule;
    uint32_t ncap = 0;
    const char *bad;

    pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
    if ((bad = dict_regexp_check_refs(result, ncap, rule->negate)) != NULL) {
	vstring_set(why, bad);
	return -1;
    }
    return 0;
}

static const DICT_PATTERN_OPS dict_regexp_ops = {
    .rule_size = sizeof(DICT_REGEXP_RULE),
    .if_what = "/pattern/",
    .what = "pattern",
    .parse = dict_regexp_parse,
    .check_result = dict_regexp_check_result,
    .free_rule = dict_regexp_free_rule,
};

/* dict_regexp_open - parse the whole file */
DICT_IMPL *dict_regexp_open(const char *type, const char *name, int open_flags PH_UNUSED,
			            int dict_flags PH_UNUSED, const char **error_r)
{
    bool    pcre = strcmp(type, "pcre") == 0;
    DICT_REGEXP *dr = mycalloc(1, sizeof(*dr));
    uint32_t maxcap = 0;

    if (dict_pattern_load(&dr->rules, name, &dict_regexp_ops, &pcre, error_r) < 0) {
	myfree(dr);
	return NULL;
    }
    for (size_t i = 0; i < dr->rules.count; i++) {
	DICT_REGEXP_RULE *r = (DICT_REGEXP_RULE *) dict_pattern_rule(&dr->rules, i);
	uint32_t ncap = 0;

	if (r->re) {
	    pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
	    if (ncap > maxcap)
		maxcap = ncap;
	}
    }
    dr->impl.props = DICT_PROP_PATTERN;
    dr->impl.lookup = dict_regexp_lookup;
    dr->impl.close = dict_regexp_free;
    dr->impl.file = mystrdup(name);
    dr->value = vstring_alloc(100);
    dr->err = vstring_alloc(100);
    dr->md = pcre2_match_data_create(maxcap + 1, NULL);
    dr->mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(dr->mctx, DICT_REGEXP_MATCH_LIMIT);
    pcre2_set_depth_limit(dr->mctx, DICT_REGEXP_DEPTH_LIMIT);
    return &dr->impl;
}
