/* cidr_match.h - IPv4/IPv6 network blocks for cidr: tables and host lists.
 *
 * Patterns: "192.0.2.0/24", "192.0.2.1", "2001:db8::/32", "::1", and the
 * bracketed forms "[2001:db8::]/32", "[::1]" used in mynetworks. A pattern
 * with bits set past its prefix is an error that suggests the right
 * network. IPv4-mapped IPv6 ("::ffff:192.0.2.1") in a key or in a pattern
 * with a prefix of 96 or more is treated as the IPv4 address, so a client
 * on a dual-stack socket matches IPv4 entries.
 */
#ifndef CIDR_MATCH_H
#define CIDR_MATCH_H

#include "sys_defs.h"
#include "vstring.h"

typedef struct cidr_match {
    int     family;		/* AF_INET or AF_INET6 */
    unsigned char net[16];
    unsigned char mask[16];
    int     prefix;
} CIDR_MATCH;

/* cidr_match_parse - parse a pattern; 0, or -1 with a reason in why */
int cidr_match_parse(CIDR_MATCH *cm, const char *pattern, VSTRING *why);
/* cidr_match_addr - parse an address (no prefix; brackets allowed);
 * 0 with family and 16 bytes (IPv4 in the first 4), or -1 */
int cidr_match_addr(const char *text, int *family_r, unsigned char addr[16]);
/* cidr_match_execute - does the address fall in the block? */
bool cidr_match_execute(const CIDR_MATCH *cm, int family, const unsigned char addr[16]);

#endif
