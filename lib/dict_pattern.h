/* dict_pattern.h - the rule list shared by pattern tables (regexp:, cidr:).
 *
 * A pattern file is a list of rules read at open through dict_text.h
 * (DICT_TEXT_LINES):
 *
 *	PATTERN result		first matching rule wins
 *	!PATTERN result		matches when PATTERN does not
 *	if PATTERN		the rules up to the matching endif apply
 *	if !PATTERN		... only when PATTERN (does not) match
 *	endif
 *
 * This module owns what every pattern table has in common: the "if",
 * "endif" and "!" syntax, the if/endif nesting, the result text, the
 * rule array and the first-match walk. A backend supplies the pattern
 * syntax (DICT_PATTERN_OPS.parse) and the match (the callback of
 * dict_pattern_first). Each backend rule is a struct whose first member
 * is a DICT_PATTERN_RULE.
 *
 * Errors: every syntax problem fails the load with "FILE, line N: reason"
 * in *error_r (valid until the next dict_pattern_load); an if without
 * endif is reported at the line of the if.
 */
#ifndef DICT_PATTERN_H
#define DICT_PATTERN_H

#include "sys_defs.h"
#include "vstring.h"

typedef enum dict_pattern_kind {
    DICT_PATTERN_K_RULE, DICT_PATTERN_K_IF, DICT_PATTERN_K_ENDIF
} DICT_PATTERN_KIND;

typedef struct dict_pattern_rule {
    DICT_PATTERN_KIND kind;
    bool    negate;			/* "!PATTERN" */
    char   *result;			/* K_RULE: the result text */
    size_t  skip_to;			/* K_IF: index of its endif */
    int     line;			/* first line of the rule */
} DICT_PATTERN_RULE;

typedef struct dict_pattern_ops {
    size_t  rule_size;			/* backend rule, DICT_PATTERN_RULE first */
    const char *if_what;		/* "text after if IF_WHAT" */
    const char *what;			/* "no result after WHAT" */
    /* parse - the pattern at *sp into rule; advances *sp; -1 with why */
    int     (*parse) (DICT_PATTERN_RULE *rule, const char **sp, void *context,
		              VSTRING *why);
    /* check_result - optional: validate the result text; -1 with why */
    int     (*check_result) (DICT_PATTERN_RULE *rule, const char *result, VSTRING *why);
    /* free_rule - optional: release what parse allocated (may be partial) */
    void    (*free_rule) (DICT_PATTERN_RULE *rule);
} DICT_PATTERN_OPS;

typedef struct dict_pattern {
    const DICT_PATTERN_OPS *ops;
    char   *rules;			/* count rules of ops->rule_size bytes */
    size_t  count;
} DICT_PATTERN;

/* dict_pattern_load - read file name into dp; 0, or -1 with *error_r
 * (dp is then empty) */
int     dict_pattern_load(DICT_PATTERN *dp, const char *name, const DICT_PATTERN_OPS *ops,
			          void *context, const char **error_r);

/* dict_pattern_rule - rule number i */
DICT_PATTERN_RULE *dict_pattern_rule(const DICT_PATTERN *dp, size_t i);

/* dict_pattern_first - walk the rules honouring if/endif and "!": match
 * returns 1 (matches), 0 (does not) or -1 (error), before negation.
 * Returns 1 with *rule_r (first matching rule), 0 (none), -1 (match error) */
int     dict_pattern_first(const DICT_PATTERN *dp,
			           int (*match) (DICT_PATTERN_RULE *rule, void *context),
			           void *context, DICT_PATTERN_RULE **rule_r);

/* dict_pattern_free - release the rules (dp itself is the caller's) */
void    dict_pattern_free(DICT_PATTERN *dp);

#endif
