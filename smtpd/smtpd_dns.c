/* smtpd_dns - DNS questions and host name syntax for smtpd's restrictions.
 *
 * Contract: smtpd_dns.h. Lookups use the system resolver (res_query), so
 * resolv.conf timeouts apply; answers are parsed with ns_initparse and
 * bounded buffers. Nothing here keeps state between calls.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <resolv.h>
#include <string.h>

#include "smtpd_dns.h"
#include "vstring.h"

/* smtpd_dns_hostname_valid - RFC 1035 host name syntax (letters,
 * digits, hyphens; labels 1..63; total < 256; not all-numeric) or an
 * address literal */
bool smtpd_dns_hostname_valid(const char *name)
{
    size_t  len = strlen(name);
    size_t  label = 0;
    bool    all_numeric = true;
    unsigned char buf[16];

    if (len == 0 || len > 255)
	return false;
    if (name[0] == '[') {
	if (name[len - 1] != ']' || len < 3 || len > 64)
	    return false;
	char    lit[64];

	memcpy(lit, name + 1, len - 2);
	lit[len - 2] = 0;
	if (strncasecmp(lit, "ipv6:", 5) == 0)
	    return inet_pton(AF_INET6, lit + 5, buf) == 1;
	return inet_pton(AF_INET, lit, buf) == 1;
    }
    for (const char *cp = name; *cp; cp++) {
	unsigned char ch = (unsigned char) *cp;

	if (ch == '.') {
	    if (label == 0 || cp[-1] == '-')
		return false;
	    label = 0;
	    continue;
	}
	if (!isalnum(ch) && ch != '-' && ch != '_')
	    return false;
	if (ch == '-' && label == 0)
	    return false;
	if (!isdigit(ch))
	    all_numeric = false;
	if (++label > 63)
	    return false;
    }
    if (name[len - 1] == '-')
	return false;
    return !all_numeric;
}

/* smtpd_dns_fqdn - has a dot inside, or is an address literal */
bool smtpd_dns_fqdn(const char *name)
{
    const char *dot;

    if (*name == '[')
	return true;
    dot = strchr(name, '.');
    return dot != NULL && dot != name && dot[1] != 0;
}

/* smtpd_dns_domain_exists - does domain have MX, A or AAAA records:
 * 1 yes, 0 no (NXDOMAIN or no data), -1 temporary failure */
int smtpd_dns_domain_exists(const char *domain)
{
    static const int types[] = {ns_t_mx, ns_t_a, ns_t_aaaa};
    unsigned char answer[1024];
    bool    temp = false;

    if (*domain == '[')
	return 1;
    for (size_t i = 0; i < PH_ARRAY_LEN(types); i++) {
	h_errno = 0;
	if (res_query(domain, ns_c_in, types[i], answer, sizeof(answer)) >= 0)
	    return 1;
	if (h_errno == HOST_NOT_FOUND)
	    return 0;
	if (h_errno == TRY_AGAIN || h_errno == NO_RECOVERY || h_errno == NETDB_INTERNAL)
	    temp = true;
    }
    return temp ? -1 : 0;
}

/* smtpd_dns_listed - 1 when name has an A record in 127.0.0.0/8
 * (matching "=d.d.d.d" when given), with its TXT text in txt; 0 when not
 * listed or the lookup failed (a DNSBL outage must not block mail) */
int smtpd_dns_listed(const char *name, const char *want, VSTRING *txt)
{
    unsigned char answer[4096];
    ns_msg  msg;
    ns_rr   rr;
    int     len, listed = 0;

    vstring_reset(txt);
    if ((len = res_query(name, ns_c_in, ns_t_a, answer, sizeof(answer))) < 0)
	return 0;
    if (ns_initparse(answer, len, &msg) < 0)
	return 0;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
	char    text[INET_ADDRSTRLEN];

	if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_a
	    || ns_rr_rdlen(rr) != 4)
	    continue;
	if (ns_rr_rdata(rr)[0] != 127)
	    continue;				/* not a DNSBL answer */
	if (inet_ntop(AF_INET, ns_rr_rdata(rr), text, sizeof(text)) == NULL)
	    continue;
	if (want == NULL || strcmp(want, text) == 0)
	    listed = 1;
    }
    if (listed && (len = res_query(name, ns_c_in, ns_t_txt, answer, sizeof(answer))) > 0
	&& ns_initparse(answer, len, &msg) == 0) {
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
	    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_txt
		|| ns_rr_rdlen(rr) < 1)
		continue;
	    const unsigned char *rd = ns_rr_rdata(rr);
	    size_t  n = rd[0];

	    if (n + 1 > ns_rr_rdlen(rr))
		continue;
	    for (size_t k = 1; k <= n && LEN(txt) < 200; k++)
		vstring_addch(txt, isprint(rd[k]) ? rd[k] : '?');
	    break;
	}
    }
    return listed;
}

