/* match_list - domain and host/address lists (mydestination, mynetworks...).
 *
 * Contract: see match_list.h. Patterns are parsed once at create time
 * into an array; matching is a linear scan, first match decides.
 *
 * Limits: /file/name nesting is bounded (MATCH_LIST_MAX_DEPTH); a file is
 * read whole with the table-text reader's bounds.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "argv.h"
#include "cidr_match.h"
#include "config.h"
#include "dict.h"
#include "dict_text.h"
#include "maps.h"
#include "match_list.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define MATCH_LIST_MAX_DEPTH 5

enum match_kind {
    MATCH_K_NAME, MATCH_K_CIDR, MATCH_K_TABLE
};

typedef struct match_entry {
    enum match_kind kind;
    bool    negate;
    char   *name;		/* lower case; or the table spec */
    CIDR_MATCH cidr;
    DICT   *dict;
} MATCH_ENTRY;

struct match_list {
    char   *feature;
    int     flags;
    bool    pdms;		/* parent domain matches subdomains */
    MATCH_ENTRY *entries;
    int     count;
    VSTRING *err;
    VSTRING *key;
};

/* match_list_parent_matches - feature in parent_domain_matches_subdomains? */
bool    match_list_parent_matches(const char *feature)
{
    const char *list = var_parent_domain_matches_subdomains;
    ARGV   *av;
    bool    found = false;

    if (list == NULL) {
	const PARAM_DEF *p = param_find("parent_domain_matches_subdomains");

	list = p ? p->defval : "";
    }
    av = argv_split_list(list);
    for (int i = 0; i < av->argc && !found; i++)
	found = strcmp(av->argv[i], feature) == 0;
    argv_free(&av);
    return found;
}

/* match_list_looks_like_addr - a pattern that is an address block */
static bool match_list_looks_like_addr(const char *p)
{
    return *p == '[' || strchr(p, ':') != NULL
	|| (isdigit((unsigned char) *p) && strspn(p, "0123456789./") == strlen(p));
}

/* match_list_is_table - "type:name" with a known type (not an IPv6 address) */
static bool match_list_is_table(const char *p)
{
    const char *colon = strchr(p, ':');
    char   *type;
    bool    known;

    if (colon == NULL || colon == p || *p == '[')
	return false;
    type = mystrndup(p, (size_t) (colon - p));
    known = strcmp(type, "proxy") == 0 || dict_type_known(type);
    myfree(type);
    return known;
}

static int match_list_add(MATCH_LIST *list, const char *pattern, int depth, const char **error_r);

/* match_list_add_file - the patterns in a file */
static int match_list_add_file(MATCH_LIST *list, const char *path, int depth, const char **error_r)
{
    DICT_TEXT *tp;
    const char *line, *value;
    int     lineno, st;

    if (depth >= MATCH_LIST_MAX_DEPTH) {
	vstring_fmt(list->err, "%s: %s: files nested too deeply", list->feature, path);
	*error_r = STR(list->err);
	return -1;
    }
    if ((tp = dict_text_open(path, DICT_TEXT_LINES, error_r)) == NULL) {
	vstring_fmt(list->err, "%s: %s", list->feature, *error_r);
	*error_r = STR(list->err);
	return -1;
    }
    while ((st = dict_text_next(tp, &line, &value, &lineno, error_r)) > 0) {
	ARGV   *av = maps_split_list(line);

	for (int i = 0; i < av->argc && st > 0; i++)
	    if (match_list_add(list, av->argv[i], depth + 1, error_r) < 0)
		st = -1;
	argv_free(&av);
	if (st < 0)
	    break;
    }
    if (st < 0 && *error_r != STR(list->err)) {
	vstring_fmt(list->err, "%s: %s", list->feature, *error_r);
	*error_r = STR(list->err);
    }
    dict_text_close(&tp);
    return st < 0 ? -1 : 0;
}

/* match_list_add - one pattern */
static int match_list_add(MATCH_LIST *list, const char *pattern, int depth, const char **error_r)
{
    MATCH_ENTRY e;
    bool    negate = false;

    while (*pattern == '!') {
	negate = !negate;
	pattern++;
    }
    if (*pattern == 0)
	return 0;
    if (*pattern == '/') {
	if (negate) {
	    vstring_fmt(list->err, "%s: negated /file/name pattern is not supported: !%s",
			list->feature, pattern);
	    *error_r = STR(list->err);
	    return -1;
	}
	return match_list_add_file(list, pattern, depth, error_r);
    }
    memset(&e, 0, sizeof(e));
    e.negate = negate;
    if (match_list_is_table(pattern)) {
	const char *why;

	e.kind = MATCH_K_TABLE;
	e.name = mystrdup(pattern);
	if ((e.dict = dict_open(pattern, O_RDONLY, DICT_FLAG_FOLD_FIX, &why)) == NULL) {
	    msg_warn("%s: %s", list->feature, why);
	    e.dict = dict_surrogate(pattern, why);
	}
    } else if ((list->flags & MATCH_FLAG_HOST) && match_list_looks_like_addr(pattern)) {
	if (cidr_match_parse(&e.cidr, pattern, list->err) < 0) {
	    VSTRING *tmp = vstring_alloc(100);

	    vstring_fmt(tmp, "%s: %s", list->feature, STR(list->err));
	    vstring_set(list->err, STR(tmp));
	    vstring_free(&tmp);
	    *error_r = STR(list->err);
	    return -1;
	}
	e.kind = MATCH_K_CIDR;
    } else {
	VSTRING *tmp = vstring_alloc(64);

	e.kind = MATCH_K_NAME;
	dict_fold(tmp, pattern);
	e.name = vstring_export(&tmp);
    }
    list->entries = myreallocarray(list->entries, (size_t) list->count + 1, sizeof(e));
    list->entries[list->count++] = e;
    return 0;
}

/* match_list_create - parse a pattern list */
MATCH_LIST *match_list_create(const char *feature, const char *patterns, int flags,
			              const char **error_r)
{
    MATCH_LIST *list = mycalloc(1, sizeof(*list));
    ARGV   *av = maps_split_list(patterns ? patterns : "");

    list->feature = mystrdup(feature);
    list->flags = flags;
    list->pdms = match_list_parent_matches(feature);
    list->err = vstring_alloc(100);
    list->key = vstring_alloc(64);
    for (int i = 0; i < av->argc; i++) {
	if (match_list_add(list, av->argv[i], 0, error_r) < 0) {
	    static VSTRING *msg;

	    if (msg == NULL)
		msg = vstring_alloc(100);
	    vstring_set(msg, *error_r);
	    *error_r = STR(msg);
	    argv_free(&av);
	    match_list_free(&list);
	    return NULL;
	}
    }
    argv_free(&av);
    return list;
}

/* match_list_name - does a name pattern match the (lower-case) name? */
static bool match_list_name(const MATCH_LIST *list, const char *pat, const char *name)
{
    size_t  plen = strlen(pat), nlen = strlen(name);

    if (strcmp(pat, name) == 0)
	return true;
    if (pat[0] == '.')
	return nlen > plen && strcmp(name + nlen - plen, pat) == 0;
    return list->pdms && nlen > plen + 1 && name[nlen - plen - 1] == '.'
	&& strcmp(name + nlen - plen, pat) == 0;
}

/* match_list_table - look name and its parents, then addr, up */
static int match_list_table(MATCH_LIST *list, DICT *d, const char *name, const char *addr,
			            const char **error_r)
{
    const char *value;
    int     st;

    if (name && *name) {
	const char *s = name;

	if ((st = dict_lookup(d, name, 0, &value, error_r)) != DICT_NOTFOUND)
	    return st;
	if (!(d->impl && (d->impl->props & DICT_PROP_PATTERN))) {
	    while ((s = strchr(s + 1, '.')) != NULL) {
		if ((st = dict_lookup(d, list->pdms ? s + 1 : s, 0, &value, error_r)) != DICT_NOTFOUND)
		    return st;
	    }
	}
    }
    if (addr && *addr)
	return dict_lookup(d, addr, 0, &value, error_r);
    return DICT_NOTFOUND;
}

/* match_list_match - first matching pattern decides */
int     match_list_match(MATCH_LIST *list, const char *name, const char *addr,
			         const char **error_r)
{
    const char *lname = name ? dict_fold(list->key, name) : NULL;
    unsigned char abuf[16];
    int     family = 0;
    bool    have_addr = false;

    if ((list->flags & MATCH_FLAG_HOST) && addr && *addr)
	have_addr = cidr_match_addr(addr, &family, abuf) == 0;
    for (int i = 0; i < list->count; i++) {
	MATCH_ENTRY *e = &list->entries[i];
	int     m = 0;

	switch (e->kind) {
	case MATCH_K_NAME:
	    m = lname && *lname && match_list_name(list, e->name, lname);
	    break;
	case MATCH_K_CIDR:
	    m = have_addr && cidr_match_execute(&e->cidr, family, abuf);
	    break;
	case MATCH_K_TABLE:
	    if ((m = match_list_table(list, e->dict, lname, (list->flags & MATCH_FLAG_HOST) ? addr : NULL,
				      error_r)) == DICT_ERROR)
		return -1;
	    break;
	}
	if (m)
	    return e->negate ? 0 : 1;
    }
    return 0;
}

/* match_list_free - release */
void    match_list_free(MATCH_LIST **listp)
{
    MATCH_LIST *list = *listp;

    if (list == NULL)
	return;
    *listp = NULL;
    for (int i = 0; i < list->count; i++) {
	myfree(list->entries[i].name);
	if (list->entries[i].dict)
	    dict_close(&list->entries[i].dict);
    }
    myfree(list->entries);
    myfree(list->feature);
    vstring_free(&list->err);
    vstring_free(&list->key);
    myfree(list);
}
