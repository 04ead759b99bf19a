/* mynetworks.h - the default of mynetworks, from mynetworks_style.
 *
 * When main.cf does not set mynetworks, its value is derived (as Postfix
 * does) from the addresses this host receives mail on: inet_interfaces
 * ("all", "loopback-only", or addresses/host names) restricted to the IP
 * versions of inet_protocols, each turned into a network by
 * mynetworks_style:
 *   host    the address itself: a.b.c.d/32, [v6]/128;
 *   subnet  the address masked with its interface netmask;
 *   class   the class A/B/C (or D) network of an IPv4 address; IPv6 has
 *           no classes and is handled as subnet.
 * The result lists IPv4 networks first, then IPv6, each in interface
 * order, without repeats: "127.0.0.1/32 192.0.2.2/32 [::1]/128".
 *
 * Errors come back, never abort: -1 with a reason in *error_r (a static
 * buffer, valid until the next call into this module) and in *param_r the
 * parameter to blame (mynetworks_style, inet_protocols, inet_interfaces).
 */
#ifndef MYNETWORKS_H
#define MYNETWORKS_H

#include "sys_defs.h"
#include "vstring.h"

/* One interface address with its netmask. */
typedef struct mynetworks_addr {
    int     family;			/* AF_INET or AF_INET6 */
    unsigned char addr[16];		/* IPv4 in the first 4 bytes */
    unsigned char mask[16];		/* all ones when unknown */
} MYNETWORKS_ADDR;

/* mynetworks_format - append to out the networks of count addresses for
 * style ("host", "subnet", "class"), keeping only the IP versions of
 * protocols (inet_protocols syntax: "all", "ipv4", "ipv6", "ipv4, ipv6").
 * A pure function: no system calls. A netmask that is not a run of one
 * bits then zero bits is not trusted: that address counts as a host.
 * 0, or -1 with *param_r and *error_r (bad style, bad protocols, a class
 * E address under "class"); out is then unspecified. */
int mynetworks_format(VSTRING *out, const MYNETWORKS_ADDR *addrs, size_t count,
		      const char *style, const char *protocols,
		      const char **param_r, const char **error_r);

/* mynetworks_local - the addresses (with netmasks) that inet_interfaces
 * names, of the IP versions protocols allows, from getifaddrs(3); *addrs_r
 * is a new array of *count_r entries (myfree it; NULL when empty). 0, or
 * -1 with *param_r and *error_r (getifaddrs fails, a name that does not
 * resolve, an address that is on no local interface). */
int mynetworks_local(const char *interfaces, const char *protocols,
		     MYNETWORKS_ADDR **addrs_r, size_t *count_r,
		     const char **param_r, const char **error_r);

/* mynetworks_compute - mynetworks_local then mynetworks_format: the
 * default value of mynetworks as a new string (myfree it), or NULL with
 * *param_r and *error_r. */
char *mynetworks_compute(const char *style, const char *interfaces,
			 const char *protocols,
			 const char **param_r, const char **error_r);

#endif
