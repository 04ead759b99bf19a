/* mynetworks - the networks mynetworks_style derives from our addresses.
 *
 * Contract: see mynetworks.h. mynetworks_format is pure and is what the
 * unit tests drive; mynetworks_local is the only part that asks the
 * system (getifaddrs, getaddrinfo for host names in inet_interfaces).
 *
 * Decisions, after Postfix (src/global/mynetworks.c, own_inet_addr.c,
 * src/util/inet_addr_local.c):
 * - Interfaces that are not up, and the unspecified addresses 0.0.0.0 and
 *   ::, are skipped; nothing else is. In particular IPv6 link-local
 *   addresses (fe80::/10) are kept, as Postfix's inet_addr_local keeps
 *   them: "host" lists the address, "subnet" its /64. They are printed
 *   without a %scope suffix, which a network pattern cannot carry.
 * - "loopback-only" selects the interface addresses in 127.0.0.0/8 and
 *   ::1, as Postfix's sock_addr_in_loopback does.
 * - An address or host name in inet_interfaces takes the netmask of the
 *   local interface that has that address; an address on no local
 *   interface is an error (Postfix: "no local interface found for").
 * - "class": class A /8, B /16, C /24; class D (224/4) gives 224.0.0.0/4
 *   as in Postfix; class E (240/4) is an error, as in Postfix ("unknown
 *   address class"). IPv6 falls back to subnet.
 * - Where Postfix counts the bits of any netmask, a netmask that is not
 *   contiguous here makes the address a host (/32, /128): never trust
 *   more than the interface clearly says.
 *
 * Limits: none beyond memory; no allocation survives a call except the
 * caller's results and the static error buffer.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "argv.h"
#include "mymalloc.h"
#include "mynetworks.h"
#include "vstring.h"

#define MYNETWORKS_HOST   1
#define MYNETWORKS_SUBNET 2
#define MYNETWORKS_CLASS  3

static VSTRING *mynetworks_why;		/* *error_r text */

/* mynetworks_error - format the static error text */
static const char *PH_PRINTF(1, 2) mynetworks_error(const char *fmt,...)
{
    va_list ap;

    if (mynetworks_why == NULL)
	mynetworks_why = vstring_alloc(100);
    vstring_reset(mynetworks_why);
    va_start(ap, fmt);
    vstring_vfmt_append(mynetworks_why, fmt, ap);
    va_end(ap);
    return STR(mynetworks_why);
}

/* mynetworks_protocols - parse inet_protocols; 0 or -1 */
static int mynetworks_protocols(const char *protocols, bool *v4_r, bool *v6_r)
{
    ARGV   *words = argv_split_list(protocols ? protocols : "all");
    int     rc = words->argc > 0 ? 0 : -1;

    *v4_r = *v6_r = false;
    for (int i = 0; rc == 0 && i < words->argc; i++) {
	if (strcasecmp(words->argv[i], "all") == 0)
	    *v4_r = *v6_r = true;
	else if (strcasecmp(words->argv[i], "ipv4") == 0)
	    *v4_r = true;
	else if (strcasecmp(words->argv[i], "ipv6") == 0)
	    *v6_r = true;
	else
	    rc = -1;
    }
    argv_free(&words);
    return rc;
}

/* mynetworks_mask_prefix - length of a contiguous netmask, -1 if not */
static int mynetworks_mask_prefix(const unsigned char *mask, int len)
{
    int     prefix = 0;
    int     bit;

    for (bit = 0; bit < len * 8 && (mask[bit / 8] & (0x80 >> (bit % 8))); bit++)
	prefix++;
    for (; bit < len * 8; bit++)
	if (mask[bit / 8] & (0x80 >> (bit % 8)))
	    return -1;
    return prefix;
}

/* mynetworks_prefix - the prefix of one address under style; -1 with
 * *error_r for a class E address */
static int mynetworks_prefix(const MYNETWORKS_ADDR *a, int style, const char **error_r)
{
    int     bits = a->family == AF_INET ? 32 : 128;
    int     prefix;
    char    text[INET6_ADDRSTRLEN];

    if (style == MYNETWORKS_HOST)
	return bits;
    if (style == MYNETWORKS_CLASS && a->family == AF_INET) {
	if (a->addr[0] < 128)
	    return 8;
	if (a->addr[0] < 192)
	    return 16;
	if (a->addr[0] < 224)
	    return 24;
	if (a->addr[0] < 240)
	    return 4;
	if (inet_ntop(AF_INET, a->addr, text, sizeof(text)) == NULL)
	    ph_strlcpy(text, "?", sizeof(text));
	*error_r = mynetworks_error("class: address %s is in no class A, B, C or D network",
				    text);
	return -1;
    }
    /* subnet, or class for IPv6 */
    prefix = mynetworks_mask_prefix(a->mask, bits / 8);
    return prefix < 0 ? bits : prefix;
}

/* mynetworks_format - see mynetworks.h */
int     mynetworks_format(VSTRING *out, const MYNETWORKS_ADDR *addrs, size_t count,
			  const char *style, const char *protocols,
			  const char **param_r, const char **error_r)
{
    static const int families[2] = {AF_INET, AF_INET6};
    int     how;
    bool    v4, v6;
    size_t  start = LEN(out);
    size_t  nseen = 0;
    MYNETWORKS_ADDR *seen;
    int    *seen_prefix;

    if (style == NULL)
	style = "host";
    if (strcasecmp(style, "host") == 0) {
	how = MYNETWORKS_HOST;
    } else if (strcasecmp(style, "subnet") == 0) {
	how = MYNETWORKS_SUBNET;
    } else if (strcasecmp(style, "class") == 0) {
	how = MYNETWORKS_CLASS;
    } else {
	*param_r = "mynetworks_style";
	*error_r = mynetworks_error("invalid value \"%.60s\" (expected host, subnet, class)",
				    style);
	return -1;
    }
    if (mynetworks_protocols(protocols, &v4, &v6) < 0) {
	*param_r = "inet_protocols";
	*error_r = mynetworks_error("invalid value \"%.60s\" (expected all, ipv4, ipv6)",
				    protocols);
	return -1;
    }
    seen = mycalloc(count + 1, sizeof(*seen));
    seen_prefix = mycalloc(count + 1, sizeof(*seen_prefix));
    for (int f = 0; f < 2; f++) {
	int     family = families[f];

	if ((family == AF_INET && !v4) || (family == AF_INET6 && !v6))
	    continue;
	for (size_t i = 0; i < count; i++) {
	    const MYNETWORKS_ADDR *a = &addrs[i];
	    MYNETWORKS_ADDR net;
	    char    text[INET6_ADDRSTRLEN];
	    int     prefix;
	    int     len = family == AF_INET ? 4 : 16;
	    bool    dup = false;

	    if (a->family != family)
		continue;
	    if ((prefix = mynetworks_prefix(a, how, error_r)) < 0) {
		*param_r = "mynetworks_style";
		myfree(seen);
		myfree(seen_prefix);
		return -1;
	    }
	    memset(&net, 0, sizeof(net));
	    net.family = family;
	    for (int b = 0; b < prefix; b++)
		net.addr[b / 8] |= (unsigned char) (a->addr[b / 8] & (0x80 >> (b % 8)));
	    for (size_t s = 0; !dup && s < nseen; s++)
		dup = seen[s].family == family && seen_prefix[s] == prefix
		    && memcmp(seen[s].addr, net.addr, (size_t) len) == 0;
	    if (dup)
		continue;
	    seen[nseen] = net;
	    seen_prefix[nseen++] = prefix;
	    if (inet_ntop(family, net.addr, text, sizeof(text)) == NULL)
		continue;			/* cannot happen for AF_INET/6 */
	    if (LEN(out) > start)
		vstring_addch(out, ' ');
	    vstring_fmt_append(out, family == AF_INET ? "%s/%d" : "[%s]/%d", text, prefix);
	}
    }
    myfree(seen);
    myfree(seen_prefix);
    return 0;
}

/* mynetworks_from_sa - fill a from an address and a netmask (may be NULL);
 * false for other families and unspecified addresses */
static bool mynetworks_from_sa(MYNETWORKS_ADDR *a, const struct sockaddr *sa,
			       const struct sockaddr *mask)
{
    memset(a, 0, sizeof(*a));
    memset(a->mask, 0xff, sizeof(a->mask));
    if (sa == NULL)
	return false;
    if (sa->sa_family == AF_INET) {
	const struct sockaddr_in *sin = (const struct sockaddr_in *) sa;

	if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
	    return false;
	a->family = AF_INET;
	memcpy(a->addr, &sin->sin_addr, 4);
	/* Linux may leave the netmask's family unset: trust the bytes. */
	if (mask)
	    memcpy(a->mask, &((const struct sockaddr_in *) mask)->sin_addr, 4);
	return true;
    }
    if (sa->sa_family == AF_INET6) {
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) sa;

	if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
	    return false;
	a->family = AF_INET6;
	memcpy(a->addr, &sin6->sin6_addr, 16);
	if (mask)
	    memcpy(a->mask, &((const struct sockaddr_in6 *) mask)->sin6_addr, 16);
	return true;
    }
    return false;
}

/* mynetworks_is_loopback - 127.0.0.0/8 or ::1 */
static bool mynetworks_is_loopback(const MYNETWORKS_ADDR *a)
{
    if (a->family == AF_INET)
	return a->addr[0] == 127;
    return memcmp(a->addr, &in6addr_loopback, 16) == 0;
}

/* mynetworks_same_net - is b in a's network (a's netmask) */
static bool mynetworks_same_net(const MYNETWORKS_ADDR *a, const MYNETWORKS_ADDR *b, int len)
{
    for (int k = 0; k < len; k++)
	if ((a->addr[k] & a->mask[k]) != (b->addr[k] & a->mask[k]))
	    return false;
    return true;
}

/* mynetworks_add - append one entry */
static void mynetworks_add(MYNETWORKS_ADDR **list, size_t *count, const MYNETWORKS_ADDR *a)
{
    *list = myreallocarray(*list, *count + 1, sizeof(**list));
    (*list)[(*count)++] = *a;
}

/* mynetworks_resolve - the addresses of one inet_interfaces entry: a
 * numeric address ("[...]" and "ipv6:" allowed) or a host name */
static int mynetworks_resolve(const char *name, MYNETWORKS_ADDR **list, size_t *count)
{
    char   *copy = mystrdup(name);
    char   *host = copy;
    size_t  len = strlen(host);
    MYNETWORKS_ADDR a;
    struct addrinfo hints, *res = NULL;
    int     rc = 0;

    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
	host[len - 1] = 0;
	host++;
    }
    if (strncasecmp(host, "ipv6:", 5) == 0)
	host += 5;
    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, host, a.addr) == 1) {
	a.family = AF_INET;
	mynetworks_add(list, count, &a);
    } else if (inet_pton(AF_INET6, host, a.addr) == 1) {
	a.family = AF_INET6;
	mynetworks_add(list, count, &a);
    } else {
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (*host == 0 || getaddrinfo(host, NULL, &hints, &res) != 0) {
	    rc = -1;
	} else {
	    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		if (mynetworks_from_sa(&a, ai->ai_addr, NULL))
		    mynetworks_add(list, count, &a);
	    freeaddrinfo(res);
	}
    }
    myfree(copy);
    return rc;
}

/* mynetworks_local - see mynetworks.h */
int     mynetworks_local(const char *interfaces, const char *protocols,
			 MYNETWORKS_ADDR **addrs_r, size_t *count_r,
			 const char **param_r, const char **error_r)
{
    struct ifaddrs *ifa = NULL;
    MYNETWORKS_ADDR *local = NULL, *out = NULL;
    size_t  nlocal = 0, nout = 0;
    bool    v4, v6;
    ARGV   *words;
    int     rc = 0;

    *addrs_r = NULL;
    *count_r = 0;
    if (mynetworks_protocols(protocols, &v4, &v6) < 0) {
	*param_r = "inet_protocols";
	*error_r = mynetworks_error("invalid value \"%.60s\" (expected all, ipv4, ipv6)",
				    protocols);
	return -1;
    }
    if (getifaddrs(&ifa) < 0) {
	*param_r = "inet_interfaces";
	*error_r = mynetworks_error("cannot list the network interfaces: getifaddrs: %s",
				    strerror(errno));
	return -1;
    }
    for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
	MYNETWORKS_ADDR a;

	if ((p->ifa_flags & IFF_UP) && mynetworks_from_sa(&a, p->ifa_addr, p->ifa_netmask)
	    && ((a.family == AF_INET && v4) || (a.family == AF_INET6 && v6)))
	    mynetworks_add(&local, &nlocal, &a);
    }
    freeifaddrs(ifa);

    words = argv_split_list(interfaces ? interfaces : "all");
    for (int w = 0; rc == 0 && w < words->argc; w++) {
	const char *name = words->argv[w];
	MYNETWORKS_ADDR *named = NULL;
	size_t  nnamed = 0;

	if (strcasecmp(name, "all") == 0) {
	    for (size_t i = 0; i < nlocal; i++)
		mynetworks_add(&out, &nout, &local[i]);
	    continue;
	}
	if (strcasecmp(name, "loopback-only") == 0) {
	    for (size_t i = 0; i < nlocal; i++)
		if (mynetworks_is_loopback(&local[i]))
		    mynetworks_add(&out, &nout, &local[i]);
	    continue;
	}
	if (mynetworks_resolve(name, &named, &nnamed) < 0) {
	    *param_r = "inet_interfaces";
	    *error_r = mynetworks_error("host not found: %.100s", name);
	    rc = -1;
	}
	for (size_t n = 0; rc == 0 && n < nnamed; n++) {
	    size_t  i;
	    int     len = named[n].family == AF_INET ? 4 : 16;

	    if ((named[n].family == AF_INET && !v4) || (named[n].family == AF_INET6 && !v6))
		continue;
	    for (i = 0; i < nlocal; i++)
		if (local[i].family == named[n].family
		    && memcmp(local[i].addr, named[n].addr, (size_t) len) == 0)
		    break;
	    if (i == nlocal) {
		/* Linux: every address of a loopback interface's network
		 * is local (127.0.0.2 and up, with lo's 127.0.0.1/8) */
		for (i = 0; i < nlocal; i++)
		    if (local[i].family == named[n].family && mynetworks_is_loopback(&local[i])
			&& mynetworks_same_net(&local[i], &named[n], len))
			break;
		if (i < nlocal) {
		    MYNETWORKS_ADDR a = named[n];

		    memcpy(a.mask, local[i].mask, sizeof(a.mask));
		    mynetworks_add(&out, &nout, &a);
		    continue;
		}
	    }
	    if (i < nlocal) {
		mynetworks_add(&out, &nout, &local[i]);
	    } else {
		char    text[INET6_ADDRSTRLEN];

		if (inet_ntop(named[n].family, named[n].addr, text, sizeof(text)) == NULL)
		    ph_strlcpy(text, "?", sizeof(text));
		*param_r = "inet_interfaces";
		*error_r = mynetworks_error("no local interface found for %s", text);
		rc = -1;
	    }
	}
	myfree(named);
    }
    argv_free(&words);
    myfree(local);
    if (rc < 0) {
	myfree(out);
	return -1;
    }
    *addrs_r = out;
    *count_r = nout;
    return 0;
}

/* mynetworks_compute - see mynetworks.h */
char   *mynetworks_compute(const char *style, const char *interfaces,
			   const char *protocols,
			   const char **param_r, const char **error_r)
{
    MYNETWORKS_ADDR *addrs;
    size_t  count;
    VSTRING *buf;
    int     rc;

    if (mynetworks_local(interfaces, protocols, &addrs, &count, param_r, error_r) < 0)
	return NULL;
    buf = vstring_alloc(100);
    rc = mynetworks_format(buf, addrs, count, style, protocols, param_r, error_r);
    myfree(addrs);
    if (rc < 0) {
	vstring_free(&buf);
	return NULL;
    }
    return vstring_export(&buf);
}
