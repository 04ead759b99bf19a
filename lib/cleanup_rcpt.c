/* cleanup_rcpt - virtual alias expansion of envelope recipients.
 *
 * Contract: see cleanup_rcpt.h. Depth-first expansion with an explicit
 * "being expanded" path (loop detection) and a result set (duplicates).
 * Memory is bounded by the expansion limit times the address length.
 */
#include "sys_defs.h"

#include <string.h>
#include <strings.h>

#include "cleanup_rcpt.h"
#include "config.h"
#include "dict.h"
#include "htable.h"
#include "mail_addr_find.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

struct cleanup_rcpt {
    MAPS   *maps;			/* NULL: no virtual_alias_maps */
};

typedef struct cleanup_rcpt_state {
    CLEANUP_RCPT *cr;
    ARGV   *out;
    HTABLE *seen;			/* lower-cased results */
    ARGV   *path;			/* addresses being expanded */
    const char *error;
    VSTRING *errbuf;
} CLEANUP_RCPT_STATE;

/* cleanup_rcpt_create - open the maps */
CLEANUP_RCPT *cleanup_rcpt_create(const char *virtual_alias_maps)
{
    CLEANUP_RCPT *cr = mycalloc(1, sizeof(*cr));

    if (virtual_alias_maps && *virtual_alias_maps)
	cr->maps = maps_create("virtual_alias_maps", virtual_alias_maps, DICT_FLAG_FOLD_FIX);
    return cr;
}

/* cleanup_rcpt_free - close the maps */
void cleanup_rcpt_free(CLEANUP_RCPT **crp)
{
    if (*crp == NULL)
	return;
    if ((*crp)->maps)
	maps_free(&(*crp)->maps);
    myfree(*crp);
    *crp = NULL;
}

/* cleanup_rcpt_add - one final address (unless a duplicate) */
static int cleanup_rcpt_add(CLEANUP_RCPT_STATE *st, const char *addr)
{
    VSTRING *key = vstring_alloc(100);
    int rc = CLEANUP_RCPT_OK;

    vstring_set(key, addr);
    vstring_lower(key);
    if (htable_find(st->seen, STR(key)) == NULL) {
	if (st->out->argc >= var_virtual_alias_expansion_limit) {
	    vstring_fmt(st->errbuf, "unreasonable virtual_alias_maps expansion size for %s", addr);
	    st->error = STR(st->errbuf);
	    rc = CLEANUP_RCPT_PERM;
	} else {
	    htable_enter(st->seen, STR(key), (void *) 1);
	    argv_add(st->out, addr, (char *) 0);
	}
    }
    vstring_free(&key);
    return rc;
}

/* cleanup_rcpt_on_path - addr is being expanded higher up */
static bool cleanup_rcpt_on_path(CLEANUP_RCPT_STATE *st, const char *addr)
{
    for (int i = 0; i < st->path->argc; i++)
	if (strcasecmp(st->path->argv[i], addr) == 0)
	    return true;
    return false;
}

/* cleanup_rcpt_extension - "+ext" of addr that the matched key lacks */
static void cleanup_rcpt_extension(VSTRING *ext, const char *addr, const char *matched)
{
    const char *at = strrchr(addr, '@');
    size_t llen = at ? (size_t) (at - addr) : strlen(addr);
    char   *local = mystrndup(addr, llen);
    size_t base;

    vstring_reset(ext);
    if (var_recipient_delimiter && *var_recipient_delimiter) {
	base = mail_addr_find_split(local, var_recipient_delimiter);
	/* The full address matched: the extension was part of the key. */
	if (base < llen && (matched == NULL || strcasecmp(matched, addr) != 0))
	    vstring_catn(ext, local + base, llen - base);
    }
    myfree(local);
}

/* cleanup_rcpt_target - a result with extension/catch-all applied */
static void cleanup_rcpt_target(VSTRING *out, const char *target, const char *addr,
				const VSTRING *ext)
{
    const char *at = strrchr(addr, '@');
    const char *tat;

    vstring_reset(out);
    if (*target == '@') {			/* @domain catch-all result */
	vstring_catn(out, addr, at ? (size_t) (at - addr) : strlen(addr));
	vstring_cat(out, target);
	return;
    }
    if (LEN(ext) == 0 || mail_addr_find_split(target, var_recipient_delimiter)
	< (size_t) ((tat = strrchr(target, '@')) ? tat - target : (long) strlen(target))) {
	vstring_set(out, target);
	return;
    }
    tat = strrchr(target, '@');
    vstring_catn(out, target, tat ? (size_t) (tat - target) : strlen(target));
    vstring_catn(out, STR(ext), LEN(ext));
    if (tat)
	vstring_cat(out, tat);
}

/* cleanup_rcpt_walk - expand one address at depth */
static int cleanup_rcpt_walk(CLEANUP_RCPT_STATE *st, const char *addr, int depth)
{
    const char *value, *matched = NULL, *error;
    ARGV   *targets;
    VSTRING *ext, *target;
    int rc;

    if (st->cr->maps == NULL)
	return cleanup_rcpt_add(st, addr);
    if (depth > var_virtual_alias_recursion_limit) {
	vstring_fmt(st->errbuf, "unreasonable virtual_alias_maps nesting for %s", addr);
	st->error = STR(st->errbuf);
	return CLEANUP_RCPT_PERM;
    }
    rc = mail_addr_find(st->cr->maps, addr, MA_FIND_VIRTUAL, &value, &matched, &error);
    if (rc == DICT_ERROR) {
	vstring_fmt(st->errbuf, "virtual_alias_maps lookup of %s failed: %s", addr,
		    error ? error : "table error");
	st->error = STR(st->errbuf);
	return CLEANUP_RCPT_TEMP;
    }
    if (rc != DICT_FOUND)
	return cleanup_rcpt_add(st, addr);

    /* Copy what the table returned before further lookups reuse buffers. */
    targets = argv_split(value, ", \t\r\n");
    ext = vstring_alloc(20);
    target = vstring_alloc(100);
    cleanup_rcpt_extension(ext, addr, matched);
    argv_add(st->path, addr, (char *) 0);
    rc = CLEANUP_RCPT_OK;
    if (targets->argc == 0)
	rc = cleanup_rcpt_add(st, addr);
    for (int i = 0; rc == CLEANUP_RCPT_OK && i < targets->argc; i++) {
	cleanup_rcpt_target(target, targets->argv[i], addr, ext);
	if (cleanup_rcpt_on_path(st, STR(target)))
	    rc = cleanup_rcpt_add(st, STR(target));	/* self or loop: final */
	else
	    rc = cleanup_rcpt_walk(st, STR(target), depth + 1);
    }
    argv_truncate(st->path, st->path->argc - 1);
    argv_free(&targets);
    vstring_free(&ext);
    vstring_free(&target);
    return rc;
}

/* cleanup_rcpt_expand - expand addr into out */
int cleanup_rcpt_expand(CLEANUP_RCPT *cr, const char *addr, ARGV *out, const char **error_r)
{
    static VSTRING *errbuf;
    CLEANUP_RCPT_STATE st;
    VSTRING *key = vstring_alloc(100);
    int rc;

    if (errbuf == NULL)
	errbuf = vstring_alloc(100);
    memset(&st, 0, sizeof(st));
    st.cr = cr;
    st.out = out;
    st.seen = htable_create(10);
    st.path = argv_alloc(4);
    st.errbuf = errbuf;
    for (int i = 0; i < out->argc; i++) {
	vstring_set(key, out->argv[i]);
	vstring_lower(key);
	htable_enter(st.seen, STR(key), (void *) 1);
    }
    rc = cleanup_rcpt_walk(&st, addr, 0);
    if (rc != CLEANUP_RCPT_OK)
	*error_r = st.error;
    htable_free(&st.seen, NULL);
    argv_free(&st.path);
    vstring_free(&key);
    return rc;
}
