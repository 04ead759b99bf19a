/* dict_inline - inline:{ key = value, { key = text, with commas } } tables.
 *
 * Contract: the table is written in the parameter value itself. The outer
 * braces are required. Elements are separated by commas or white space;
 * an element is "key=value", "key = value" (blanks around '=' allowed) or
 * a braced "{ key = text }" whose text may contain blanks, commas and
 * nested balanced braces. Keys are folded to lower case when the table is
 * opened with DICT_FLAG_FOLD_FIX; a duplicate key is an error. Any syntax
 * problem (missing brace, missing '=', empty key) fails the open with a
 * message naming the table.
 *
 * Limits: the text is bounded by the parameter value (config bounds it).
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "htable.h"
#include "mymalloc.h"
#include "vstring.h"

typedef struct dict_inline {
    DICT_IMPL impl;
    HTABLE *table;
    HTABLE_ENTRY **seq_list;
    size_t  seq_pos;
} DICT_INLINE;

/* dict_inline_lookup - one key */
static int dict_inline_lookup(DICT_IMPL *impl, const char *key, const char **value_r,
			              const char **error_r PH_UNUSED)
{
    const char *value = htable_find(((DICT_INLINE *) impl)->table, key);

    if (value == NULL)
	return DICT_NOTFOUND;
    *value_r = value;
    return DICT_FOUND;
}

/* dict_inline_cmp - key order */
static int dict_inline_cmp(const void *a, const void *b)
{
    return strcmp((*(HTABLE_ENTRY * const *) a)->key, (*(HTABLE_ENTRY * const *) b)->key);
}

/* dict_inline_sequence - iterate in key order */
static int dict_inline_sequence(DICT_IMPL *impl, int how, const char **key_r,
				        const char **value_r, const char **error_r PH_UNUSED)
{
    DICT_INLINE *di = (DICT_INLINE *) impl;

    if (how == DICT_SEQ_FIRST) {
	myfree(di->seq_list);
	di->seq_list = htable_list(di->table);
	qsort(di->seq_list, di->table->used, sizeof(*di->seq_list), dict_inline_cmp);
	di->seq_pos = 0;
    }
    if (di->seq_list == NULL || di->seq_list[di->seq_pos] == NULL)
	return DICT_NOTFOUND;
    *key_r = di->seq_list[di->seq_pos]->key;
    *value_r = di->seq_list[di->seq_pos]->value;
    di->seq_pos++;
    return DICT_FOUND;
}

/* dict_inline_close - release */
static void dict_inline_close(DICT_IMPL *impl)
{
    DICT_INLINE *di = (DICT_INLINE *) impl;

    htable_free(&di->table, myfree);
    myfree(di->seq_list);
    myfree(di);
}

/* dict_inline_brace_end - pointer just past the brace that closes s[0]
 * ('{'), or NULL when unbalanced */
static const char *dict_inline_brace_end(const char *s, const char *end)
{
    int     depth = 0;

    for (; s < end; s++) {
	if (*s == '{')
	    depth++;
	else if (*s == '}' && --depth == 0)
	    return s + 1;
    }
    return NULL;
}

/* dict_inline_add - store one pair; -1 with err */
static int dict_inline_add(DICT_INLINE *di, const char *k, size_t klen, const char *v,
			           size_t vlen, int dict_flags, VSTRING *err, VSTRING *tmp)
{
    while (klen > 0 && isspace((unsigned char) k[klen - 1]))
	klen--;
    while (vlen > 0 && isspace((unsigned char) *v))
	v++, vlen--;
    while (vlen > 0 && isspace((unsigned char) v[vlen - 1]))
	vlen--;
    if (klen == 0) {
	vstring_set(err, "empty key");
	return -1;
    }
    if (klen > DICT_KEY_MAX || vlen > DICT_VALUE_MAX) {
	vstring_set(err, "key or value too long");
	return -1;
    }
    vstring_setn(tmp, k, klen);
    if (memchr(STR(tmp), '{', klen) || memchr(STR(tmp), '}', klen)) {
	vstring_fmt(err, "brace in key \"%s\"", STR(tmp));
	return -1;
    }
    if (dict_flags & DICT_FLAG_FOLD_FIX)
	vstring_lower(tmp);
    if (htable_find(di->table, STR(tmp)) != NULL) {
	vstring_fmt(err, "duplicate key \"%s\"", STR(tmp));
	return -1;
    }
    htable_enter(di->table, STR(tmp), mystrndup(v, vlen));
    return 0;
}

/* dict_inline_parse - fill the table from the text between the braces */
static int dict_inline_parse(DICT_INLINE *di, const char *s, const char *end,
			             int dict_flags, VSTRING *err)
{
    VSTRING *tmp = vstring_alloc(64);
    int     rc = 0;

    while (rc == 0) {
	while (s < end && (isspace((unsigned char) *s) || *s == ','))
	    s++;
	if (s >= end)
	    break;
	if (*s == '{') {
	    const char *close = dict_inline_brace_end(s, end);
	    const char *eq;

	    if (close == NULL) {
		vstring_set(err, "missing '}'");
		rc = -1;
		break;
	    }
	    eq = memchr(s + 1, '=', (size_t) (close - 1 - (s + 1)));
	    if (eq == NULL) {
		vstring_set(err, "expected { key = value }");
		rc = -1;
		break;
	    }
	    while (s + 1 < eq && isspace((unsigned char) s[1]))
		s++;
	    rc = dict_inline_add(di, s + 1, (size_t) (eq - s - 1), eq + 1,
				 (size_t) (close - 1 - (eq + 1)), dict_flags, err, tmp);
	    s = close;
	    continue;
	}
	if (*s == '}') {
	    vstring_set(err, "unexpected '}'");
	    rc = -1;
	    break;
	}
	/* key, optional blanks, '=', optional blanks, value up to a blank or comma */
	const char *k = s;

	while (s < end && *s != '=' && *s != ',' && *s != '{' && *s != '}'
	       && !isspace((unsigned char) *s))
	    s++;
	const char *kend = s;

	while (s < end && isspace((unsigned char) *s))
	    s++;
	if (s >= end || *s != '=') {
	    vstring_fmt(err, "expected key=value at \"%.*s\"", (int) (kend - k), k);
	    rc = -1;
	    break;
	}
	s++;
	while (s < end && isspace((unsigned char) *s))
	    s++;
	const char *v = s;

	while (s < end && *s != ',' && *s != '{' && *s != '}' && !isspace((unsigned char) *s))
	    s++;
	if (s < end && (*s == '{' || *s == '}')) {
	    vstring_set(err, "brace inside an unbraced value");
	    rc = -1;
	    break;
	}
	rc = dict_inline_add(di, k, (size_t) (kend - k), v, (size_t) (s - v), dict_flags, err, tmp);
    }
    vstring_free(&tmp);
    return rc;
}

/* dict_inline_open - parse "{ ... }" */
DICT_IMPL *dict_inline_open(const char *type PH_UNUSED, const char *name, int open_flags PH_UNUSED,
			            int dict_flags, const char **error_r)
{
    static VSTRING *msg;
    VSTRING *err = vstring_alloc(64);
    DICT_INLINE *di;
    const char *s = name, *end = name + strlen(name);

    if (msg == NULL)
	msg = vstring_alloc(100);
    while (s < end && isspace((unsigned char) *s))
	s++;
    while (end > s && isspace((unsigned char) end[-1]))
	end--;
    di = mycalloc(1, sizeof(*di));
    di->impl.props = DICT_PROP_FIXED;
    di->impl.lookup = dict_inline_lookup;
    di->impl.sequence = dict_inline_sequence;
    di->impl.close = dict_inline_close;
    di->table = htable_create(16);
    if (s == end || *s != '{' || dict_inline_brace_end(s, end) != end)
	vstring_set(err, "expected inline:{ key = value, ... }");
    else if (dict_inline_parse(di, s + 1, end - 1, dict_flags, err) == 0 && di->table->used == 0)
	vstring_set(err, "empty table");
    if (LEN(err) > 0) {
	vstring_fmt(msg, "inline:%.200s: syntax error: %s", name, STR(err));
	vstring_free(&err);
	dict_inline_close(&di->impl);
	*error_r = STR(msg);
	return NULL;
    }
    vstring_free(&err);
    return &di->impl;
}
