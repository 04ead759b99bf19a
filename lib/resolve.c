/* resolve - address class, transport and nexthop of a recipient.
 *
 * Contract: see resolve.h. The work is split in three steps:
 *   1. resolve_split: strip a source route, split the address at the last
 *      '@' outside quotes and brackets, dequote the local part, fold the
 *      domain and drop its trailing dots;
 *   2. the hop loop in resolve_addr: while the domain is ours and the
 *      local part still holds a routing operator (@ % !), apply it;
 *   3. resolve_classify / resolve_transport: domain lists, transports.
 * Limits: addresses longer than RESOLVE_ADDR_MAX and more than
 * RESOLVE_MAX_HOPS local rewrites are malformed (RESOLVE_FLAG_ERROR).
 * Domain lists are match_list domain lists (literal names, .subdomain,
 * !negation, type:table) built from the var_* parameters on first use.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "argv.h"
#include "config.h"
#include "match_list.h"
#include "msg.h"
#include "mymalloc.h"
#include "resolve.h"
#include "transport.h"
#include "vstring.h"

/* The domain lists, built on first use. */
static MATCH_LIST *resolve_mydest;
static MATCH_LIST *resolve_va_domains;
static MATCH_LIST *resolve_vm_domains;
static MATCH_LIST *resolve_relay_domains;

/* Our own addresses, for address literals. */
typedef struct resolve_inaddr {
    int     family;
    unsigned char addr[16];
} RESOLVE_INADDR;

static RESOLVE_INADDR *resolve_own_addrs;
static int resolve_own_count = -1;		/* -1: not collected yet */

/* resolve_class_name - printable class */
const char *resolve_class_name(int class)
{
    switch (class) {
    case RESOLVE_CLASS_LOCAL:
	return "local";
    case RESOLVE_CLASS_VIRTUAL_ALIAS:
	return "virtual_alias";
    case RESOLVE_CLASS_VIRTUAL_MAILBOX:
	return "virtual_mailbox";
    case RESOLVE_CLASS_RELAY:
	return "relay";
    case RESOLVE_CLASS_DEFAULT:
	return "default";
    default:
	return "unknown";
    }
}

/* resolve_reply_alloc - empty reply */
RESOLVE_REPLY *resolve_reply_alloc(void)
{
    RESOLVE_REPLY *rp = mycalloc(1, sizeof(*rp));

    rp->transport = vstring_alloc(16);
    rp->nexthop = vstring_alloc(64);
    rp->recipient = vstring_alloc(64);
    rp->domain = vstring_alloc(64);
    return rp;
}

/* resolve_reply_free - release and NULL the caller's pointer */
void resolve_reply_free(RESOLVE_REPLY **rpp)
{
    RESOLVE_REPLY *rp = *rpp;

    if (rp == NULL)
	return;
    vstring_free(&rp->transport);
    vstring_free(&rp->nexthop);
    vstring_free(&rp->recipient);
    vstring_free(&rp->domain);
    myfree(rp);
    *rpp = NULL;
}

/* resolve_reset - drop cached lists and addresses */
void resolve_reset(void)
{
    match_list_free(&resolve_mydest);
    transport_reset();
    match_list_free(&resolve_va_domains);
    match_list_free(&resolve_vm_domains);
    match_list_free(&resolve_relay_domains);
    myfree(resolve_own_addrs);
    resolve_own_addrs = NULL;
    resolve_own_count = -1;
}

/* resolve_own_add - remember one own address */
static void resolve_own_add(int family, const void *addr)
{
    resolve_own_addrs = myreallocarray(resolve_own_addrs, (size_t) resolve_own_count + 1,
				       sizeof(*resolve_own_addrs));
    RESOLVE_INADDR *ia = &resolve_own_addrs[resolve_own_count++];

    memset(ia, 0, sizeof(*ia));
    ia->family = family;
    memcpy(ia->addr, addr, family == AF_INET ? 4 : 16);
}

/* resolve_own_add_sa - remember the address of a sockaddr */
static void resolve_own_add_sa(const struct sockaddr *sa)
{
    if (sa == NULL)
	return;
    if (sa->sa_family == AF_INET)
	resolve_own_add(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr);
    else if (sa->sa_family == AF_INET6)
	resolve_own_add(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr);
}

/* resolve_own_add_name - add the addresses of one interface list entry */
static void resolve_own_add_name(const char *name)
{
    struct addrinfo hints, *res = NULL;
    unsigned char buf[16];
    char   *copy = mystrdup(name);
    char   *host = copy;

    /* Accept "[addr]" and "IPv6:addr" spellings too. */
    if (*host == '[') {
	host++;
	char   *end = strchr(host, ']');

	if (end)
	    *end = 0;
    }
    if (strncasecmp(host, "ipv6:", 5) == 0)
	host += 5;
    if (inet_pton(AF_INET, host, buf) == 1) {
	resolve_own_add(AF_INET, buf);
    } else if (inet_pton(AF_INET6, host, buf) == 1) {
	resolve_own_add(AF_INET6, buf);
    } else {
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
	    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		resolve_own_add_sa(ai->ai_addr);
	    freeaddrinfo(res);
	} else {
	    msg_warn("inet_interfaces or proxy_interfaces: cannot find the address of \"%s\"",
		     name);
	}
    }
    myfree(copy);
}

/* resolve_own_collect - collect our addresses from inet_interfaces and
 * proxy_interfaces ("all": every interface; "loopback-only") */
static void resolve_own_collect(void)
{
    static const unsigned char lo4[4] = {127, 0, 0, 1};
    const char *lists[2] = {var_inet_interfaces ? var_inet_interfaces : "all",
			    var_proxy_interfaces ? var_proxy_interfaces : ""};

    resolve_own_count = 0;
    for (int l = 0; l < 2; l++) {
	ARGV   *av = argv_split_list(lists[l]);

	for (int i = 0; i < av->argc; i++) {
	    const char *name = av->argv[i];

	    if (l == 0 && strcasecmp(name, "all") == 0) {
		struct ifaddrs *ifa = NULL;

		if (getifaddrs(&ifa) == 0) {
		    for (struct ifaddrs *p = ifa; p; p = p->ifa_next)
			resolve_own_add_sa(p->ifa_addr);
		    freeifaddrs(ifa);
		}
		resolve_own_add(AF_INET, lo4);
		resolve_own_add(AF_INET6, &in6addr_loopback);
	    } else if (l == 0 && strcasecmp(name, "loopback-only") == 0) {
		resolve_own_add(AF_INET, lo4);
		resolve_own_add(AF_INET6, &in6addr_loopback);
	    } else {
		resolve_own_add_name(name);
	    }
	}
	argv_free(&av);
    }
}

/* resolve_own_literal - is text (no brackets) one of our addresses */
int resolve_own_literal(const char *text)
{
    unsigned char buf[16];
    int     family;

    if (strncasecmp(text, "ipv6:", 5) == 0) {
	if (inet_pton(AF_INET6, text + 5, buf) != 1)
	    return 0;
	family = AF_INET6;
    } else if (inet_pton(AF_INET, text, buf) == 1) {
	family = AF_INET;
    } else {
	return 0;
    }
    if (resolve_own_count < 0)
	resolve_own_collect();
    for (int i = 0; i < resolve_own_count; i++)
	if (resolve_own_addrs[i].family == family
	    && memcmp(resolve_own_addrs[i].addr, buf, family == AF_INET ? 4 : 16) == 0)
	    return 1;
    return 0;
}

/* resolve_list - build a domain list on first use (fatal when the
 * configuration is wrong: a daemon must not start with a broken list) */
static MATCH_LIST *resolve_list(MATCH_LIST **lp, const char *param, const char *value)
{
    const char *error;

    if (*lp == NULL) {
	*lp = match_list_create(param, value ? value : "", MATCH_FLAG_DOMAIN, &error);
	if (*lp == NULL)
	    msg_fatal("parameter %s", error);	/* error names param */
    }
    return *lp;
}

/* resolve_init - build every list now */
void resolve_init(void)
{
    (void) resolve_list(&resolve_mydest, "mydestination", var_mydestination);
    (void) resolve_list(&resolve_va_domains, "virtual_alias_domains", var_virtual_alias_domains);
    (void) resolve_list(&resolve_vm_domains, "virtual_mailbox_domains",
			var_virtual_mailbox_domains);
    (void) resolve_list(&resolve_relay_domains, "relay_domains", var_relay_domains);
    if (resolve_own_count < 0)
	resolve_own_collect();
}

/* resolve_list_match - 1 match, 0 none, -1 lookup error */
static int resolve_list_match(MATCH_LIST **lp, const char *param, const char *value,
			      const char *domain)
{
    const char *error;
    int     rc = match_list_match(resolve_list(lp, param, value), domain, NULL, &error);

    if (rc < 0)
	msg_warn("%s lookup for \"%s\": %s", param, domain, error);
    return rc;
}

/* resolve_local_domain - mydestination or one of our literals */
int resolve_local_domain(const char *domain)
{
    size_t  len = strlen(domain);

    if (len >= 2 && domain[0] == '[' && domain[len - 1] == ']') {
	char   *lit = mystrndup(domain + 1, len - 2);
	int     ours = resolve_own_literal(lit);

	myfree(lit);
	return ours;
    }
    return resolve_list_match(&resolve_mydest, "mydestination", var_mydestination, domain);
}

/* resolve_fold_domain - lower case, no trailing dots; 0, or -1 when the
 * domain is malformed (white space or control characters, empty labels,
 * unbalanced brackets) */
static int resolve_fold_domain(VSTRING *domain)
{
    size_t  len;

    vstring_lower(domain);
    while ((len = LEN(domain)) > 0 && STR(domain)[len - 1] == '.')
	vstring_truncate(domain, len - 1);
    len = LEN(domain);
    const char *d = STR(domain);

    if (len > 0 && d[0] == '[')
	return (len >= 3 && d[len - 1] == ']' && strchr(d + 1, '[') == NULL
		&& strchr(d, ']') == d + len - 1) ? 0 : -1;
    for (size_t i = 0; i < len; i++) {
	unsigned char ch = (unsigned char) d[i];

	if (ch <= ' ' || ch == 0x7f || ch == '[' || ch == ']' || ch == '@'
	    || ch == '"' || ch == '\\' || ch == '<' || ch == '>')
	    return -1;
	if (ch == '.' && (i == 0 || d[i - 1] == '.'))
	    return -1;
    }
    return 0;
}

/* resolve_split - source route, local part, domain; returns flags */
static int resolve_split(const char *addr, VSTRING *local, VSTRING *domain)
{
    int     flags = 0;
    const char *cp;
    const char *at = NULL;
    int     quoted = 0;
    int     bracket = 0;

    vstring_reset(local);
    vstring_reset(domain);

    /* A source route "@a,@b:user@c": the destination is user@c. */
    if (*addr == '@') {
	for (cp = addr; *cp; cp++) {
	    if (*cp == '"' || *cp == '\\')
		break;
	    if (*cp == ':') {
		addr = cp + 1;
		flags |= RESOLVE_FLAG_ROUTED;
		break;
	    }
	}
    }

    /* The last '@' outside quotes and brackets separates the domain. */
    for (cp = addr; *cp; cp++) {
	if (quoted) {
	    if (*cp == '\\' && cp[1])
		cp++;
	    else if (*cp == '"')
		quoted = 0;
	} else if (*cp == '"') {
	    quoted = 1;
	} else if (*cp == '\\' && cp[1]) {
	    cp++;
	} else if (*cp == '[') {
	    bracket++;
	} else if (*cp == ']') {
	    if (bracket > 0)
		bracket--;
	} else if (*cp == '@' && bracket == 0) {
	    at = cp;
	}
    }
    if (quoted)
	flags |= RESOLVE_FLAG_ERROR;

    /* Dequote the local part: "user@remote" -> user@remote. */
    const char *end = at ? at : addr + strlen(addr);

    quoted = 0;
    for (cp = addr; cp < end; cp++) {
	if (*cp == '"') {
	    quoted = !quoted;
	} else if (*cp == '\\' && cp + 1 < end) {
	    vstring_addch(local, *++cp);
	} else {
	    vstring_addch(local, *cp);
	}
    }
    if (at) {
	vstring_set(domain, at + 1);
	if (resolve_fold_domain(domain) < 0)
	    flags |= RESOLVE_FLAG_ERROR;
    }
    return flags;
}

/* resolve_routing_split - apply a routing operator found in local (a
 * local part of one of our domains): user@host, user%host, host!user.
 * Returns 1 when local/domain were rewritten, 0 when there was none. */
static int resolve_routing_split(VSTRING *local, VSTRING *domain)
{
    char   *lp = STR(local);
    char   *op;
    char   *copy;

    if ((op = strrchr(lp, '@')) != NULL
	|| (var_allow_percent_hack && (op = strrchr(lp, '%')) != NULL)) {
	vstring_set(domain, op + 1);
	vstring_truncate(local, (size_t) (op - lp));
	return 1;
    }
    if (var_swap_bangpath && (op = strchr(lp, '!')) != NULL) {
	copy = mystrdup(lp);
	copy[op - lp] = 0;
	vstring_set(domain, copy);
	vstring_set(local, copy + (op - lp) + 1);
	myfree(copy);
	return 1;
    }
    return 0;
}

/* resolve_has_routing - does local still carry a routing operator */
static bool resolve_has_routing(const char *local)
{
    return strpbrk(local, "@%!") != NULL;
}

/* resolve_classify - address class of a (non-local) domain; -1 on lookup error */
static int resolve_classify(const char *domain)
{
    int     rc;

    if ((rc = resolve_list_match(&resolve_va_domains, "virtual_alias_domains",
				 var_virtual_alias_domains, domain)) != 0)
	return rc < 0 ? -1 : RESOLVE_CLASS_VIRTUAL_ALIAS;
    if ((rc = resolve_list_match(&resolve_vm_domains, "virtual_mailbox_domains",
				 var_virtual_mailbox_domains, domain)) != 0)
	return rc < 0 ? -1 : RESOLVE_CLASS_VIRTUAL_MAILBOX;
    if ((rc = resolve_list_match(&resolve_relay_domains, "relay_domains",
				 var_relay_domains, domain)) != 0)
	return rc < 0 ? -1 : RESOLVE_CLASS_RELAY;
    return RESOLVE_CLASS_DEFAULT;
}

/* resolve_transport_maps - apply transport_maps (lib/transport.h) on top
 * of the class default already in reply; a lookup error sets FAIL */
static void resolve_transport_maps(const char *recipient, RESOLVE_REPLY *reply)
{
    const char *error = NULL;

    if (transport_lookup(recipient, reply->transport, reply->nexthop, &error) < 0) {
	msg_warn("transport_maps lookup of %s failed: %s", recipient, error);
	reply->flags |= RESOLVE_FLAG_FAIL;
    }
}

/* resolve_transport - transport and nexthop for the class */
static void resolve_transport(RESOLVE_REPLY *reply)
{
    const char *spec;
    const char *domain = STR(reply->domain);
    bool    relayhost_applies = false;

    switch (reply->class) {
    case RESOLVE_CLASS_LOCAL:
	spec = var_local_transport;
	break;
    case RESOLVE_CLASS_VIRTUAL_ALIAS:
	vstring_set(reply->transport, "error");
	vstring_set(reply->nexthop, "5.1.1 User unknown in virtual alias table");
	return;
    case RESOLVE_CLASS_VIRTUAL_MAILBOX:
	spec = var_virtual_transport;
	break;
    case RESOLVE_CLASS_RELAY:
	spec = var_relay_transport;
	relayhost_applies = true;
	break;
    default:
	spec = var_default_transport;
	relayhost_applies = true;
	break;
    }
    if (spec == NULL || *spec == 0)
	spec = "smtp";
    const char *colon = strchr(spec, ':');

    if (colon) {
	vstring_setn(reply->transport, spec, (size_t) (colon - spec));
	vstring_set(reply->nexthop, colon + 1);
    } else {
	vstring_set(reply->transport, spec);
	vstring_reset(reply->nexthop);
    }
    if (LEN(reply->nexthop) == 0) {
	if (relayhost_applies && var_relayhost && *var_relayhost)
	    vstring_set(reply->nexthop, var_relayhost);
	else
	    vstring_set(reply->nexthop, domain);
    }
    resolve_transport_maps(STR(reply->recipient), reply);
}

/* resolve_addr - see resolve.h */
int resolve_addr(const char *addr, RESOLVE_REPLY *reply)
{
    VSTRING *local = vstring_alloc(64);
    VSTRING *domain = reply->domain;
    int     hops = 0;
    int     rc;

    reply->class = RESOLVE_CLASS_DEFAULT;
    reply->flags = 0;
    vstring_reset(reply->transport);
    vstring_reset(reply->nexthop);
    vstring_reset(reply->recipient);

    if (strlen(addr) > RESOLVE_ADDR_MAX) {
	reply->flags |= RESOLVE_FLAG_ERROR;
	addr = "";
    }
    reply->flags |= resolve_split(addr, local, domain);

    for (;;) {
	/* A bare local part belongs to $myorigin (as after canonicalization). */
	if (LEN(domain) == 0) {
	    vstring_set(domain, var_myorigin ? var_myorigin : "");
	    if (resolve_fold_domain(domain) < 0)
		reply->flags |= RESOLVE_FLAG_ERROR;
	}
	if ((rc = resolve_local_domain(STR(domain))) < 0) {
	    reply->flags |= RESOLVE_FLAG_FAIL;
	    break;
	}
	if (rc == 0) {
	    /* Not ours: leftover operators are the remote host's business,
	     * but they are still sender-specified routing. */
	    if (resolve_has_routing(STR(local)))
		reply->flags |= RESOLVE_FLAG_ROUTED;
	    if ((rc = resolve_classify(STR(domain))) < 0) {
		reply->flags |= RESOLVE_FLAG_FAIL;
		rc = RESOLVE_CLASS_DEFAULT;
	    }
	    reply->class = rc;
	    break;
	}
	/* Ours: apply a routing operator and look again. */
	if (!resolve_routing_split(local, domain)) {
	    /* With the percent hack or bang paths turned off the operator
	     * stays in the user name: still sender-specified routing. */
	    if (resolve_has_routing(STR(local)))
		reply->flags |= RESOLVE_FLAG_ROUTED;
	    reply->class = RESOLVE_CLASS_LOCAL;
	    break;
	}
	reply->flags |= RESOLVE_FLAG_ROUTED;
	if (resolve_fold_domain(domain) < 0)
	    reply->flags |= RESOLVE_FLAG_ERROR;
	if (++hops >= RESOLVE_MAX_HOPS) {
	    reply->flags |= RESOLVE_FLAG_ERROR;
	    reply->class = RESOLVE_CLASS_DEFAULT;
	    break;
	}
    }
    vstring_fmt(reply->recipient, "%s@%s", STR(local), STR(domain));
    resolve_transport(reply);
    vstring_free(&local);
    return reply->class;
}
