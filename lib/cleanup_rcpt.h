/* cleanup_rcpt.h - recipient rewriting before a queue file is written:
 * virtual alias expansion (virtual(5)), as Postfix's cleanup does it.
 *
 * cleanup_rcpt_expand() looks the address up in virtual_alias_maps with
 * the virtual(5) order (lib/mail_addr_find.h: user+ext@domain,
 * user@domain, user+ext and user for local domains, @domain) and
 * replaces it by the result, a list of addresses (commas and/or white
 * space), recursively:
 *   - a result starting with "@" (an "@domain @other" catch-all) keeps the
 *     local part: user@domain -> user@other;
 *   - an address extension that the match did not include (user+ext@d
 *     matched by user@d) is kept on results that have none, when
 *     recipient_delimiter is set;
 *   - an address that maps to itself (a@d -> a@d, b@d) is final, as is an
 *     address already being expanded higher up (alias loops end there);
 *   - duplicates are dropped (case-insensitively);
 *   - more than virtual_alias_recursion_limit levels or more than
 *     virtual_alias_expansion_limit results is an error.
 * Each final address is returned with the ORIGINAL address it came from
 * (what the caller stores as the recipient's ORCPT, "rfc822;ORIG", when
 * the client gave none, so bounces and agents see the address as sent).
 *
 * Results: CLEANUP_RCPT_OK with the list; CLEANUP_RCPT_TEMP (a table
 * lookup failed: try again later) or CLEANUP_RCPT_PERM (limits exceeded)
 * with *error_r. Never aborts on input.
 */
#ifndef CLEANUP_RCPT_H
#define CLEANUP_RCPT_H

#include "sys_defs.h"
#include "argv.h"
#include "maps.h"

#define CLEANUP_RCPT_OK    0
#define CLEANUP_RCPT_TEMP  (-1)
#define CLEANUP_RCPT_PERM  (-2)

typedef struct cleanup_rcpt CLEANUP_RCPT;

/* cleanup_rcpt_create - use these maps (NULL or "" for none: expansion is
 * the identity); opens the tables once */
CLEANUP_RCPT *cleanup_rcpt_create(const char *virtual_alias_maps);
/* cleanup_rcpt_free - close; NULLs the pointer */
void cleanup_rcpt_free(CLEANUP_RCPT **crp);
/* cleanup_rcpt_expand - final addresses for addr, appended to out
 * (duplicates of what out already holds are not added) */
int cleanup_rcpt_expand(CLEANUP_RCPT *cr, const char *addr, ARGV *out, const char **error_r);

#endif
