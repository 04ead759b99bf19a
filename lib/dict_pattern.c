/* dict_pattern - the rule list shared by pattern tables (regexp:, cidr:).
 *
 * Contract: see dict_pattern.h. dict_pattern_load reads the file with
 * dict_text (logical lines), splits each into "if"/"endif"/"!" syntax,
 * the backend's pattern and the result, checks the if/endif nesting and
 * records, for each if, the index of its endif so that a lookup can skip
 * the block in one step.
 *
 * Limits: nesting depth and rule count are bounded by memory only; the
 * error text lives in one static buffer shared by all backends.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "dict_pattern.h"
#include "dict_text.h"
#include "mymalloc.h"

/* dict_pattern_skip_space - past white space */
static const char *dict_pattern_skip_space(const char *s)
{
    while (isspace((unsigned char) *s))
	s++;
    return s;
}

/* dict_pattern_parse_line - one logical line into r; -1 with why */
static int dict_pattern_parse_line(DICT_PATTERN_RULE *r, const char *s,
				           const DICT_PATTERN_OPS *ops, void *context,
				           VSTRING *why)
{
    if (strncasecmp(s, "endif", 5) == 0 && (s[5] == 0 || isspace((unsigned char) s[5]))) {
	if (*dict_pattern_skip_space(s + 5)) {
	    vstring_set(why, "text after endif");
	    return -1;
	}
	r->kind = DICT_PATTERN_K_ENDIF;
	return 0;
    }
    r->kind = DICT_PATTERN_K_RULE;
    if (strncasecmp(s, "if", 2) == 0 && isspace((unsigned char) s[2])) {
	r->kind = DICT_PATTERN_K_IF;
	s = dict_pattern_skip_space(s + 2);
    }
    if (*s == '!') {
	r->negate = true;
	s++;
    }
    if (ops->parse(r, &s, context, why) < 0)
	return -1;
    s = dict_pattern_skip_space(s);
    if (r->kind == DICT_PATTERN_K_IF) {
	if (*s) {
	    vstring_fmt(why, "text after if %s", ops->if_what);
	    return -1;
	}
	return 0;
    }
    if (*s == 0) {
	vstring_fmt(why, "no result after %s", ops->what);
	return -1;
    }
    if (ops->check_result && ops->check_result(r, s, why) < 0)
	return -1;
    r->result = mystrdup(s);
    return 0;
}

/* dict_pattern_load - read and check the whole file */
int     dict_pattern_load(DICT_PATTERN *dp, const char *name, const DICT_PATTERN_OPS *ops,
			          void *context, const char **error_r)
{
    static VSTRING *msg;
    DICT_TEXT *tp;
    const char *line, *value;
    int     lineno = 0, st;
    size_t  alloc = 16, *stack = NULL, depth = 0;
    VSTRING *why;

    if (msg == NULL)
	msg = vstring_alloc(100);
    dp->ops = ops;
    dp->rules = NULL;
    dp->count = 0;
    if ((tp = dict_text_open(name, DICT_TEXT_LINES, error_r)) == NULL)
	return -1;
    why = vstring_alloc(100);
    dp->rules = myreallocarray(NULL, alloc, ops->rule_size);
    while ((st = dict_text_next(tp, &line, &value, &lineno, error_r)) > 0) {
	DICT_PATTERN_RULE *r;

	if (dp->count == alloc) {
	    alloc *= 2;
	    dp->rules = myreallocarray(dp->rules, alloc, ops->rule_size);
	}
	r = (DICT_PATTERN_RULE *) (dp->rules + dp->count * ops->rule_size);
	memset(r, 0, ops->rule_size);
	st = dict_pattern_parse_line(r, line, ops, context, why);
	r->line = lineno;
	dp->count++;
	if (st < 0)
	    goto syntax;
	if (r->kind == DICT_PATTERN_K_IF) {
	    stack = myreallocarray(stack, depth + 1, sizeof(*stack));
	    stack[depth++] = dp->count - 1;
	} else if (r->kind == DICT_PATTERN_K_ENDIF) {
	    if (depth == 0) {
		vstring_set(why, "endif without matching if");
		goto syntax;
	    }
	    dict_pattern_rule(dp, stack[--depth])->skip_to = dp->count - 1;
	}
    }
    if (st < 0) {
	vstring_set(msg, *error_r);		/* the reader's buffer goes away */
	*error_r = STR(msg);
	goto fail;
    }
    if (depth > 0) {
	lineno = dict_pattern_rule(dp, stack[depth - 1])->line;
	vstring_set(why, "if without matching endif");
	goto syntax;
    }
    dict_text_close(&tp);
    myfree(stack);
    vstring_free(&why);
    return 0;

syntax:
    vstring_fmt(msg, "%s, line %d: %s", name, lineno, STR(why));
    *error_r = STR(msg);
fail:
    dict_text_close(&tp);
    myfree(stack);
    vstring_free(&why);
    dict_pattern_free(dp);
    return -1;
}

/* dict_pattern_rule - rule number i */
DICT_PATTERN_RULE *dict_pattern_rule(const DICT_PATTERN *dp, size_t i)
{
    return (DICT_PATTERN_RULE *) (dp->rules + i * dp->ops->rule_size);
}

/* dict_pattern_first - first matching rule, honouring if/endif */
int     dict_pattern_first(const DICT_PATTERN *dp,
			           int (*match) (DICT_PATTERN_RULE *rule, void *context),
			           void *context, DICT_PATTERN_RULE **rule_r)
{
    size_t  i = 0;
    int     m;

    while (i < dp->count) {
	DICT_PATTERN_RULE *r = dict_pattern_rule(dp, i);

	if (r->kind == DICT_PATTERN_K_ENDIF) {
	    i++;
	    continue;
	}
	if ((m = match(r, context)) < 0)
	    return -1;
	m = (m > 0) != r->negate;
	if (r->kind == DICT_PATTERN_K_IF) {
	    i = m ? i + 1 : r->skip_to + 1;
	    continue;
	}
	if (m) {
	    *rule_r = r;
	    return 1;
	}
	i++;
    }
    return 0;
}

/* dict_pattern_free - release the rules */
void    dict_pattern_free(DICT_PATTERN *dp)
{
    for (size_t i = 0; i < dp->count; i++) {
	DICT_PATTERN_RULE *r = dict_pattern_rule(dp, i);

	if (dp->ops->free_rule)
	    dp->ops->free_rule(r);
	myfree(r->result);
    }
    myfree(dp->rules);
    dp->rules = NULL;
    dp->count = 0;
}
