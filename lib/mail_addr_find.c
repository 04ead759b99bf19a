/* mail_addr_find - the user@domain / user / @domain search order.
 *
 * Contract: see mail_addr_find.h. Builds each candidate key in a buffer
 * and asks the maps; partial keys (anything but the full address) skip
 * pattern tables, as in Postfix.
 *
 * Limits: an address without '@' is a bare local part in a local domain.
 * The address is not unquoted: callers pass the internal (unquoted) form.
 */
#include "sys_defs.h"

#include <string.h>

#include "config.h"
#include "dict.h"
#include "mail_addr_find.h"
#include "maps.h"
#include "match_list.h"
#include "mymalloc.h"
#include "vstring.h"

static bool (*mail_addr_find_is_local) (const char *domain);

/* mail_addr_find_default_local - domain listed in mydestination? */
static bool mail_addr_find_default_local(const char *domain)
{
    static MATCH_LIST *list;
    static char *built_from;
    const char *why;
    const char *dest = var_mydestination ? var_mydestination : "";

    if (*domain == 0)
	return true;
    if (list == NULL || built_from == NULL || strcmp(built_from, dest) != 0) {
	match_list_free(&list);
	myfree(built_from);
	built_from = mystrdup(dest);
	list = match_list_create("mydestination", dest, MATCH_FLAG_DOMAIN, &why);
	if (list == NULL)
	    return false;
    }
    return match_list_match(list, domain, NULL, &why) > 0;
}

/* mail_addr_find_set_local - install the local-domain test */
void    mail_addr_find_set_local(bool (*is_local) (const char *domain))
{
    mail_addr_find_is_local = is_local;
}

/* mail_addr_find_split - base length of a local part */
size_t  mail_addr_find_split(const char *local, const char *delimiters)
{
    size_t  n;

    if (delimiters == NULL || *delimiters == 0 || *local == 0)
	return strlen(local);
    n = strcspn(local + 1, delimiters) + 1;	/* never split at position 0 */
    return local[n] ? n : strlen(local);
}

/* mail_addr_find_try - one key; remembers it for matched_r */
static int mail_addr_find_try(MAPS *maps, VSTRING *key, int flags, const char **value_r,
			              const char **error_r)
{
    return maps_find(maps, STR(key), flags, value_r, error_r);
}

/* mail_addr_find - search in the documented order */
int     mail_addr_find(MAPS *maps, const char *address, int strategy, const char **value_r,
		               const char **matched_r, const char **error_r)
{
    static VSTRING *key;
    const char *at = strrchr(address, '@');
    size_t  llen = at ? (size_t) (at - address) : strlen(address);
    const char *domain = at ? at + 1 : "";
    char   *local = mystrndup(address, llen);
    char   *ldomain;
    size_t  base = mail_addr_find_split(local, var_recipient_delimiter);
    bool    has_ext = base < llen;
    int     st = DICT_NOTFOUND;
    VSTRING *tmp = vstring_alloc(64);

    if (key == NULL)
	key = vstring_alloc(100);
    dict_fold(tmp, domain);
    ldomain = vstring_export(&tmp);

#define TRY(flags) do { \
	if ((st = mail_addr_find_try(maps, key, (flags), value_r, error_r)) != DICT_NOTFOUND) \
	    goto done; \
    } while (0)

    if ((strategy & MA_FIND_FULL) && at) {
	vstring_set(key, address);
	TRY(0);
    }
    if ((strategy & MA_FIND_NOEXT) && at && has_ext) {
	vstring_setn(key, local, base);
	vstring_addch(key, '@');
	vstring_cat(key, domain);
	TRY(MAPS_FIND_PARTIAL);
    }
    if ((strategy & MA_FIND_DOMAIN) && *ldomain) {
	const char *s = ldomain;

	vstring_set(key, ldomain);
	TRY(MAPS_FIND_PARTIAL);
	while ((s = strchr(s + 1, '.')) != NULL) {
	    vstring_set(key, (strategy & MA_FIND_PDMS) ? s + 1 : s);
	    TRY(MAPS_FIND_PARTIAL);
	}
    }
    if ((strategy & MA_FIND_LOCALPART_IF_LOCAL)
	&& (mail_addr_find_is_local ? mail_addr_find_is_local : mail_addr_find_default_local) (ldomain)) {
	vstring_set(key, local);
	TRY(at ? MAPS_FIND_PARTIAL : 0);
	if (has_ext) {
	    vstring_setn(key, local, base);
	    TRY(MAPS_FIND_PARTIAL);
	}
    }
    if ((strategy & MA_FIND_LOCALPART_AT) && at) {
	vstring_set(key, local);
	vstring_addch(key, '@');
	TRY(MAPS_FIND_PARTIAL);
	if (has_ext) {
	    vstring_setn(key, local, base);
	    vstring_addch(key, '@');
	    TRY(MAPS_FIND_PARTIAL);
	}
    }
    if ((strategy & MA_FIND_AT_DOMAIN) && at) {
	vstring_set(key, "@");
	vstring_cat(key, domain);
	TRY(MAPS_FIND_PARTIAL);
    }
#undef TRY

done:
    if (st == DICT_FOUND && matched_r)
	*matched_r = STR(key);
    myfree(local);
    myfree(ldomain);
    return st;
}
