/* mail_addr_find.h - look an address up in maps the way Postfix tables do.
 *
 * Strategy bits name the keys tried, in this fixed order:
 *
 *   MA_FIND_FULL          user+ext@domain     (pattern tables: only this)
 *   MA_FIND_NOEXT         user@domain         (when there is an extension)
 *   MA_FIND_DOMAIN        domain, then parent domains as ".parent" or,
 *                         with MA_FIND_PDMS, "parent"          (access(5))
 *   MA_FIND_LOCALPART_IF_LOCAL  user+ext, user  (only when the domain is
 *                         local: see mail_addr_find_set_local) (virtual, aliases)
 *   MA_FIND_LOCALPART_AT  user+ext@, user@                     (access(5))
 *   MA_FIND_AT_DOMAIN     @domain                              (virtual(5))
 *
 * MA_FIND_VIRTUAL and MA_FIND_ACCESS are the documented orders of
 * virtual(5) and access(5). Extensions use recipient_delimiter (any of its
 * characters; the first one found splits). Keys are folded to lower case
 * except by pattern tables, which see the address as given.
 *
 * Results: DICT_FOUND with *value_r (and, when matched_r is not NULL, the
 * key that matched), DICT_NOTFOUND, or DICT_ERROR with *error_r; an error
 * stops the search.
 */
#ifndef MAIL_ADDR_FIND_H
#define MAIL_ADDR_FIND_H

#include "sys_defs.h"
#include "maps.h"

#define MA_FIND_FULL			(1 << 0)
#define MA_FIND_NOEXT			(1 << 1)
#define MA_FIND_DOMAIN			(1 << 2)
#define MA_FIND_PDMS			(1 << 3)
#define MA_FIND_LOCALPART_IF_LOCAL	(1 << 4)
#define MA_FIND_LOCALPART_AT		(1 << 5)
#define MA_FIND_AT_DOMAIN		(1 << 6)

#define MA_FIND_VIRTUAL (MA_FIND_FULL | MA_FIND_NOEXT | MA_FIND_LOCALPART_IF_LOCAL | MA_FIND_AT_DOMAIN)
#define MA_FIND_ACCESS  (MA_FIND_FULL | MA_FIND_NOEXT | MA_FIND_DOMAIN | MA_FIND_LOCALPART_AT)

/* mail_addr_find - search maps for address with the strategy */
int mail_addr_find(MAPS *maps, const char *address, int strategy, const char **value_r,
		           const char **matched_r, const char **error_r);
/* mail_addr_find_set_local - the test for "local domain" (default: the
 * domain is empty or listed in mydestination); NULL restores the default */
void mail_addr_find_set_local(bool (*is_local) (const char *domain));
/* mail_addr_find_split - split local part at recipient_delimiter: length
 * of the base local part, or strlen(local) when there is no extension */
size_t mail_addr_find_split(const char *local, const char *delimiters);

#endif
