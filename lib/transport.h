/* transport.h - transport_maps: recipient -> transport:nexthop (transport(5)).
 *
 * Keys tried, in order (the first table hit wins; see lib/mail_addr_find.h):
 *   user+ext@domain, user@domain     (pattern tables see only the first)
 *   domain, then each parent as ".parent" (so ".example.com" matches
 *                                     every subdomain of example.com)
 *   "*"                              the catch-all
 * Keys are folded to lower case.
 *
 * Results, as transport(5):
 *   "transport:nexthop"   both replaced ("smtp:[mx.example.net]:2525",
 *                         "lmtp:unix:/run/lmtp", "lmtp:inet:host:24",
 *                         "error:5.1.1 no such user" ...). The split is at
 *                         the FIRST colon: the nexthop keeps its own colons.
 *   "transport" or "transport:"  the transport replaced, the nexthop reset
 *                         to the recipient domain
 *   ":nexthop"            the transport kept, the nexthop replaced
 *   ":" or ""             nothing changed (as if the table had no entry)
 *
 * transport_lookup() applies the result to the caller's transport/nexthop,
 * which hold the class default (resolve.c calls it after choosing the
 * default transport and nexthop, relayhost included).
 *
 * Tables are opened from var_transport_maps on first use, or by
 * transport_init() before a privilege drop; transport_reset() closes them
 * after a configuration reload.
 *
 * Errors: a table lookup failure returns -1 with *error_r: the caller
 * defers the recipient ("4.3.0 transport_maps lookup failure"). A result
 * that is too long or holds control characters is an error, too.
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include "sys_defs.h"
#include "vstring.h"

/* transport_parse - split one table result into the transport and nexthop
 * fields ("" when empty); 0, or -1 with *error_r when it is malformed */
int transport_parse(const char *result, VSTRING *transport, VSTRING *nexthop,
		    const char **error_r);

/* transport_lookup - search transport_maps for recipient (internal form,
 * user@domain). 1: a table matched and transport and nexthop were updated
 * per the rules above (domain is the recipient domain, for the "reset the
 * nexthop" case); 0: no match, nothing changed; -1: lookup error. */
int transport_lookup(const char *recipient, VSTRING *transport, VSTRING *nexthop,
		     const char **error_r);

/* transport_init - open transport_maps now (before the privilege drop) */
void transport_init(void);
/* transport_reset - close the tables (reopened on the next lookup) */
void transport_reset(void);

#endif
