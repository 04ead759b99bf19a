/* resolve.h - classify a recipient address and pick its transport.
 *
 * The library form of Postfix's trivial-rewrite "resolve" service: given
 * an address as it appeared in the envelope, decide which address class
 * it belongs to and where it goes next.
 *
 *   RESOLVE_CLASS_LOCAL            domain in mydestination, or an address
 *                                  literal of this host ([127.0.0.1],
 *                                  an inet_interfaces/proxy_interfaces
 *                                  address)
 *   RESOLVE_CLASS_VIRTUAL_ALIAS    domain in virtual_alias_domains
 *   RESOLVE_CLASS_VIRTUAL_MAILBOX  domain in virtual_mailbox_domains
 *   RESOLVE_CLASS_RELAY            domain in relay_domains
 *   RESOLVE_CLASS_DEFAULT          anything else
 *
 * Address tricks. A local part that still carries routing operators is
 * "sender-specified routing": "user@remote"@local, user%remote@local
 * (allow_percent_hack), remote!user@local (swap_bangpath), user@remote@local
 * and source routes @a,@b:user@c. When the domain is ours the operator is
 * applied (the address is rewritten to user@remote and resolved again, up
 * to RESOLVE_MAX_HOPS times); either way RESOLVE_FLAG_ROUTED is set, and
 * relay control (smtpd_check) never treats a ROUTED address as one of ours.
 * Domains are compared in lower case with trailing dots removed; an
 * address literal is ours only when it parses (inet_pton) to one of our
 * addresses, so [127.0.0.01], [127.1] or an unterminated "[" are not.
 *
 * Transport and nexthop: local_transport / virtual_transport /
 * relay_transport / default_transport ("transport[:nexthop]"); a missing
 * nexthop is relayhost (RELAY, DEFAULT) or the recipient domain. Virtual
 * alias domains resolve to the "error" transport ("User unknown in
 * virtual alias table"), as in Postfix: their addresses must be rewritten
 * by virtual_alias_maps before delivery. transport_maps (lib/transport.h)
 * are applied last, on top of the class default, for every class but
 * virtual alias; a transport_maps lookup error sets RESOLVE_FLAG_FAIL.
 *
 * Configuration comes from the var_* parameters (config_load first). The
 * domain lists are built on first use; resolve_reset() drops them after a
 * configuration reload.
 *
 * Errors: a malformed address (empty, overlong, unbalanced quotes or
 * brackets) sets RESOLVE_FLAG_ERROR; a table lookup that fails (a domain
 * list that names an unreadable table) sets RESOLVE_FLAG_FAIL: the caller
 * should answer "try again later". Neither aborts.
 */
#ifndef RESOLVE_H
#define RESOLVE_H

#include "sys_defs.h"
#include "vstring.h"

#define RESOLVE_CLASS_LOCAL		1
#define RESOLVE_CLASS_VIRTUAL_ALIAS	2
#define RESOLVE_CLASS_VIRTUAL_MAILBOX	3
#define RESOLVE_CLASS_RELAY		4
#define RESOLVE_CLASS_DEFAULT		5

#define RESOLVE_FLAG_ROUTED	(1 << 0)	/* sender-specified routing seen */
#define RESOLVE_FLAG_ERROR	(1 << 1)	/* malformed address */
#define RESOLVE_FLAG_FAIL	(1 << 2)	/* lookup failed: try again later */

#define RESOLVE_MAX_HOPS	10		/* local rewrites of one address */
#define RESOLVE_ADDR_MAX	1024		/* longer addresses are malformed */

typedef struct resolve_reply {
    int     class;			/* RESOLVE_CLASS_* */
    int     flags;			/* RESOLVE_FLAG_* */
    VSTRING *transport;			/* "local", "smtp", "relay", "error", ... */
    VSTRING *nexthop;			/* host, [host]:port, domain or error text */
    VSTRING *recipient;			/* final address: local part @ domain
					 * (domain folded, no trailing dot) */
    VSTRING *domain;			/* its domain ("" when none) */
} RESOLVE_REPLY;

/* resolve_reply_alloc / resolve_reply_free - reply storage */
RESOLVE_REPLY *resolve_reply_alloc(void);
void resolve_reply_free(RESOLVE_REPLY **rpp);

/* resolve_addr - resolve addr (external form, without <>; quotes allowed)
 * into reply. Returns reply->class; check reply->flags for ERROR/FAIL. */
int resolve_addr(const char *addr, RESOLVE_REPLY *reply);

/* resolve_local_domain - 1 when domain (folded, no trailing dot) is
 * mydestination or an address literal of ours, 0 when not, -1 when a
 * table lookup failed */
int resolve_local_domain(const char *domain);

/* resolve_class_name - "local", "virtual_alias", ..., for logs and tests */
const char *resolve_class_name(int class);

/* resolve_init - build the domain lists now (before a privilege drop, so
 * tables named in them are opened with privileges); fatal when a list is
 * malformed. Optional: lists are otherwise built on first use. */
void resolve_init(void);

/* resolve_reset - forget the domain lists (after config_load) */
void resolve_reset(void);

/* resolve_own_literal - 1 when text ("1.2.3.4" or "IPv6:::1", without the
 * brackets) is an address of this host per inet_interfaces and
 * proxy_interfaces */
int resolve_own_literal(const char *text);

#endif
