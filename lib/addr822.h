/* addr822.h - RFC 5322 address lists and RFC 5321 local-part quoting.
 *
 * Addresses inside Posthorn (queue files, lookups, logs) are in Postfix's
 * "internal" form: the local part unquoted ("a b"@example.com is kept as
 * a b@example.com). The external (quoted) form is what goes on the wire
 * and into headers; addr822_quote converts internal -> external,
 * addr822_unquote external -> internal.
 *
 * addr822_parse_list extracts the addresses of an address-list header
 * value (To:, Cc:, Bcc:, From:, ... as sendmail -t needs them), the way
 * a mail system must: leniently. It understands display names, angle
 * brackets, comments (nested), quoted strings with backslash escapes,
 * domain literals, groups ("undisclosed-recipients:;" gives nothing),
 * source routes (<@a,@b:u@d> gives u@d) and folded (CRLF / LF + white
 * space) values. Junk never crashes it: unbalanced brackets or quotes end
 * at the end of the value. Bounds: at most max_addrs addresses are
 * returned; each address is at most ADDR822_MAX_LEN bytes (longer ones are
 * skipped with a count in *skipped_r).
 *
 * Nothing here aborts on input; a NULL argument is a panic.
 */
#ifndef ADDR822_H
#define ADDR822_H

#include "sys_defs.h"
#include "argv.h"
#include "vstring.h"

#define ADDR822_MAX_LEN 1024

/* addr822_parse_list - append each address of header value text (len
 * bytes) to list in internal form; returns the number appended.
 * Addresses beyond max_addrs, and overlong ones, are not appended and are
 * counted in *skipped_r (may be NULL). Empty addresses ("<>") are dropped. */
int addr822_parse_list(ARGV *list, const char *text, size_t len, int max_addrs,
		       int *skipped_r);

/* addr822_quote - external form of an internal address into out
 * (replacing its contents): the local part (up to the last '@') is
 * quoted when it is not a dot-atom; returns STR(out) */
const char *addr822_quote(VSTRING *out, const char *addr);

/* addr822_unquote - internal form of an external address (quoted local
 * part with backslash escapes) into out; returns STR(out) */
const char *addr822_unquote(VSTRING *out, const char *addr);

/* addr822_local_needs_quote - true when len bytes of a local part are not
 * a dot-atom (empty, leading/trailing/double dot, specials, space, ...) */
bool addr822_local_needs_quote(const char *local, size_t len);

#endif
