/* match_list.h - domain lists and host/address lists.
 *
 * The lists mydestination, relay_domains, mynetworks, debug_peer_list and
 * the like are made of, in Postfix syntax (commas and/or white space):
 *
 *	example.com		the domain; its subdomains too when the list's
 *				parameter is in parent_domain_matches_subdomains
 *	.example.com		subdomains of example.com
 *	192.0.2.0/24 2001:db8::/32 [2001:db8::]/32 [::1]/128 [::1] 192.0.2.1
 *				address blocks (host lists only)
 *	type:table		looked up by domain (and parent domains as
 *				above), then by address; found means match
 *	/file/name		the patterns in that file (recursively, bounded)
 *	!pattern		a match means "no match": stop, not listed
 *
 * The first pattern that matches decides. Names are compared without
 * regard to case.
 *
 * Errors: match_list_create fails (NULL, *error_r) for a bad address
 * block or an unreadable /file; a table that cannot be opened becomes a
 * surrogate whose lookups fail. match_list_match returns -1 with *error_r
 * when a table lookup fails (the caller defers).
 */
#ifndef MATCH_LIST_H
#define MATCH_LIST_H

#include "sys_defs.h"

#define MATCH_FLAG_DOMAIN 0		/* domain names only */
#define MATCH_FLAG_HOST   1		/* host names and addresses */

typedef struct match_list MATCH_LIST;

/* match_list_create - parse patterns for feature (a parameter name) */
MATCH_LIST *match_list_create(const char *feature, const char *patterns, int flags,
			              const char **error_r);
/* match_list_match - 1 when name (domain or host name, may be NULL/empty)
 * or addr (host lists; may be NULL) is listed, 0 when not, -1 on error */
int match_list_match(MATCH_LIST *list, const char *name, const char *addr, const char **error_r);
/* match_list_free - release; NULLs the pointer */
void match_list_free(MATCH_LIST **listp);
/* match_list_parent_matches - is feature listed in
 * parent_domain_matches_subdomains? */
bool match_list_parent_matches(const char *feature);

#endif
