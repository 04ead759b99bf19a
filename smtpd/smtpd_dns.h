/* smtpd_dns.h - DNS questions and host name syntax for smtpd_check.c.
 *
 * Lookup failures are answered conservatively: a domain whose existence
 * cannot be decided is "temporary failure" (the caller defers), a DNSBL
 * that cannot be asked lists nobody (an outage must not block mail).
 */
#ifndef SMTPD_DNS_H
#define SMTPD_DNS_H

#include "sys_defs.h"
#include "vstring.h"

/* smtpd_dns_hostname_valid - RFC 1035 host name syntax or an address literal */
bool smtpd_dns_hostname_valid(const char *name);
/* smtpd_dns_fqdn - has a dot inside, or is an address literal */
bool smtpd_dns_fqdn(const char *name);
/* smtpd_dns_domain_exists - MX, A or AAAA records: 1 yes, 0 no (NXDOMAIN
 * or no data), -1 temporary failure; address literals exist */
int smtpd_dns_domain_exists(const char *domain);
/* smtpd_dns_listed - 1 when name (a DNSBL query) has an A record in
 * 127.0.0.0/8 (equal to want when not NULL), with the TXT text (printable,
 * at most 200 bytes) in txt; 0 when not listed or the lookup failed */
int smtpd_dns_listed(const char *name, const char *want, VSTRING *txt);

#endif
