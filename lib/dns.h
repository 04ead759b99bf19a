/* dns.h - DNS lookups through the libc resolver (res_nquery), for the smtp
 * client (MX, A, AAAA) and anything else in the suite that needs DNS.
 *
 * dns_lookup() asks one question and returns the answer's records of that
 * type as a list (CNAMEs are followed by the server; the records are those
 * whose type matches). dns_parse() is the reply parser by itself (for the
 * unit tests and the fuzz target): it never trusts the packet, checks every
 * length, and returns DNS_RETRY for a malformed reply.
 *
 * Results (as Postfix's dns_lookup): DNS_OK (at least one record),
 * DNS_NOTFOUND (NXDOMAIN: the name does not exist), DNS_NODATA (the name
 * exists, no records of that type), DNS_RETRY (SERVFAIL, timeout, no
 * server, malformed reply: try again later), DNS_FAIL (a permanent error
 * other than NXDOMAIN: REFUSED/FORMERR/NOTIMP, or an invalid name). *why
 * (may be NULL) gets a sentence for logs and DSNs, e.g.
 *   "Host or domain name not found. Name service error for
 *    name=nx.example type=MX: Host not found".
 *
 * The server: dns_set_server("127.0.0.53", "127.0.0.2:5353" or
 * "[127.0.0.2]:5353") points this process at one IPv4 server instead of
 * /etc/resolv.conf's (smtp_dns_resolver_address; tests use it to reach a
 * loopback dnsmasq); NULL or "" goes back to resolv.conf. Search domains
 * are never applied (names are absolute).
 *
 * DNSSEC (smtp_dns_support_level = dnssec): dns_set_dnssec(true) makes
 * every query ask for DNSSEC (the AD bit set in the header, RFC 6840 5.7,
 * and an EDNS0 OPT record with the DO bit) and tells the libc resolver to
 * pass the AD bit of replies through ("options trust-ad"). dns_lookup_sec
 * then reports in *secure_r whether the reply carried AD: the answer (or
 * the denial) was validated. That is only as good as the path to the
 * resolver: it must be a validating resolver on this host (Postfix makes
 * the same assumption); this module validates nothing itself.
 *
 * TLSA records (RFC 6698) come back with usage, selector, matching type
 * and the association data (mymalloc'ed, rr->data/rr->data_len).
 *
 * Limits: at most DNS_MAX_RR records per answer, replies up to 64 KiB
 * (retried over TCP when truncated, as the resolver does).
 */
#ifndef DNS_H
#define DNS_H

#include "sys_defs.h"
#include "vstring.h"

#define DNS_OK        0
#define DNS_NOTFOUND  1
#define DNS_NODATA    2
#define DNS_RETRY     3
#define DNS_FAIL      4

#define DNS_T_A     1
#define DNS_T_MX    15
#define DNS_T_TXT   16
#define DNS_T_AAAA  28
#define DNS_T_PTR   12
#define DNS_T_TLSA  52

#define DNS_MAX_RR  100
#define DNS_NAME_MAX 255

typedef struct dns_rr {
    int     type;			/* DNS_T_* */
    unsigned ttl;
    unsigned pref;			/* MX preference */
    char    name[DNS_NAME_MAX + 1];	/* MX/PTR target; TXT text (cut) */
    unsigned char addr[16];		/* A (4 bytes) or AAAA (16) */
    unsigned char usage;		/* TLSA certificate usage */
    unsigned char selector;		/* TLSA selector */
    unsigned char mtype;		/* TLSA matching type */
    unsigned char *data;		/* TLSA association data (or NULL) */
    size_t  data_len;
    struct dns_rr *next;
} DNS_RR;

/* dns_set_server - use one server (address[:port]); -1 + *error_r when
 * the text is not an IPv4 address with an optional port */
int dns_set_server(const char *server, const char **error_r);

/* dns_set_dnssec - ask for DNSSEC-validated answers (see above) */
void dns_set_dnssec(bool on);

/* dns_lookup_sec - dns_lookup that also reports, in *secure_r (may be
 * NULL), whether the reply had the AD bit: always false unless
 * dns_set_dnssec(true). For DNS_OK, NOTFOUND and NODATA alike. */
int dns_lookup_sec(const char *name, int type, DNS_RR **list_r, bool *secure_r, VSTRING *why);

/* dns_lookup - ask name/type; on DNS_OK *list_r is a new list (free with
 * dns_rr_free), else NULL */
int dns_lookup(const char *name, int type, DNS_RR **list_r, VSTRING *why);

/* dns_parse - parse a reply of len bytes for records of type; the result
 * codes as dns_lookup (the reply's RCODE decides NOTFOUND/RETRY/FAIL) */
int dns_parse(const unsigned char *reply, size_t len, int type, DNS_RR **list_r);

/* dns_rr_free - free a list; NULLs the pointer */
void dns_rr_free(DNS_RR **listp);
/* dns_rr_count - records in a list */
int dns_rr_count(const DNS_RR *list);
/* dns_rr_addr_text - "192.0.2.1" or "2001:db8::1" for an A/AAAA record */
const char *dns_rr_addr_text(const DNS_RR *rr, VSTRING *buf);

/* dns_mx_sort - order MX records by preference, shuffling records of equal
 * preference (RFC 5321 5.1); returns the new head */
DNS_RR *dns_mx_sort(DNS_RR *list);

/* dns_type_name - "MX", "A", ... for messages */
const char *dns_type_name(int type);
/* dns_status_name - "OK", "NOTFOUND", ... for tests and logs */
const char *dns_status_name(int status);

#endif
