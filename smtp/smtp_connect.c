/* smtp_connect - from a nexthop to connected sessions, one after another.
 *
 * Contract: smtp_connect_deliver() works out where a request goes and
 * tries the candidates in order until every recipient has a result:
 *   "[host]:port", "[addr]"      no MX lookup (the brackets say so)
 *   "domain", "domain:port"      MX lookup: preference order, equal
 *                                preferences shuffled; no MX -> the
 *                                domain's own A/AAAA; a null MX (RFC 7505)
 *                                -> bounce 5.1.10; NXDOMAIN -> bounce
 *                                5.4.4; DNS trouble -> defer 4.4.3
 *   lmtp: "unix:/path" (relative paths are under queue_directory),
 *         "inet:host:port", "host:port", "[host]" (port 24)
 * Host addresses come from DNS (A/AAAA per inet_protocols and
 * smtp_address_preference), or from the system's resolver (getaddrinfo:
 * /etc/hosts) when DNS has none and no smtp_dns_resolver_address is set.
 * At most smtp_mx_address_limit addresses and smtp_mx_session_limit
 * sessions (that got past the greeting) per request; 0 = no limit.
 * Connection failures, greetings other than 2xx and session-level 4xx go
 * on to the next address; what failed last is what pending recipients get.
 * A failed TLS handshake at level "may" is retried once on the same
 * address without TLS (as Postfix does); the cached session is then a
 * plaintext one.
 * A cached idle session to the same destination is reused first.
 * With DNSSEC lookups each address remembers whether the MX RRset (when
 * there was an MX lookup) and its own A/AAAA RRset were validated: the
 * condition for DANE (smtp_tls_dane in smtp_tls.c); without an MX record
 * the MX denial (NODATA) must have been validated too.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "dns.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtp.h"

typedef struct smtp_addr {
    char   *host;
    int     family;
    char    addr[INET6_ADDRSTRLEN];
    bool    secure;			/* MX and address DNSSEC-validated */
} SMTP_ADDR;

/* smtp_parse_nexthop - see smtp.h */
int smtp_parse_nexthop(const char *nexthop, bool lmtp, VSTRING *host, unsigned *port_r,
		       bool *mx_r, bool *unix_r, const char **error_r)
{
    const char *cp = nexthop, *colon;
    unsigned port = lmtp ? 24 : 25;
    bool mx = !lmtp;

    *unix_r = false;
    if (lmtp && strncmp(cp, "unix:", 5) == 0) {
	if (cp[5] == 0) {
	    *error_r = "empty unix socket path";
	    return -1;
	}
	vstring_set(host, cp + 5);
	*unix_r = true;
	*port_r = 0;
	*mx_r = false;
	return 0;
    }
    if (lmtp && strncmp(cp, "inet:", 5) == 0)
	cp += 5;
    if (*cp == '[') {
	const char *end = strchr(cp, ']');

	if (end == NULL || end == cp + 1) {
	    *error_r = "malformed [host] in nexthop";
	    return -1;
	}
	vstring_setn(host, cp + 1, (size_t) (end - cp - 1));
	mx = false;
	colon = end[1] == ':' ? end + 1 : NULL;
	if (end[1] != 0 && colon == NULL) {
	    *error_r = "garbage after ] in nexthop";
	    return -1;
	}
    } else {
	colon = strrchr(cp, ':');
	if (colon && strchr(cp, ':') != colon) {
	    *error_r = "IPv6 addresses in a nexthop need [brackets]";
	    return -1;
	}
	vstring_setn(host, cp, colon ? (size_t) (colon - cp) : strlen(cp));
    }
    if (colon) {
	char *ep;
	long p = strtol(colon + 1, &ep, 10);

	if (colon[1] == 0 || *ep != 0 || p < 1 || p > 65535) {
	    struct servent *se = getservbyname(colon + 1, "tcp");

	    if (se == NULL) {
		*error_r = "bad port in nexthop";
		return -1;
	    }
	    p = ntohs((uint16_t) se->s_port);
	}
	port = (unsigned) p;
    }
    if (LEN(host) == 0 || LEN(host) > DNS_NAME_MAX) {
	*error_r = "bad host name in nexthop";
	return -1;
    }
    if (strncmp(STR(host), "IPv6:", 5) == 0) {
	VSTRING *tmp = vstring_alloc(64);

	vstring_set(tmp, STR(host) + 5);
	vstring_set(host, STR(tmp));
	vstring_free(&tmp);
    }
    *port_r = port;
    *mx_r = mx;
    return 0;
}

/* smtp_addr_add - append an address (deduplicated, limited) */
static void smtp_addr_add(SMTP_ADDR **list, int *count, const char *host, int family,
			  const char *addr, bool secure)
{
    for (int i = 0; i < *count; i++)
	if (strcmp((*list)[i].addr, addr) == 0)
	    return;
    if (var_smtp_mx_address_limit > 0 && *count >= var_smtp_mx_address_limit)
	return;
    *list = myrealloc(*list, sizeof(**list) * (size_t) (*count + 1));
    (*list)[*count].host = mystrdup(host);
    (*list)[*count].family = family;
    (*list)[*count].secure = secure;
    ph_strlcpy((*list)[*count].addr, addr, sizeof((*list)[*count].addr));
    (*count)++;
}

/* smtp_want - which families inet_protocols allows */
static void smtp_want(bool *v4, bool *v6)
{
    const char *p = var_inet_protocols ? var_inet_protocols : "all";

    *v4 = strstr(p, "all") || strstr(p, "ipv4");
    *v6 = strstr(p, "all") || strstr(p, "ipv6");
}

/* smtp_host_addrs - addresses of one host, in preference order; DNS_*.
 * parent_secure: the MX lookup that named host was validated (true when
 * there was none); an address is secure when that holds and its own
 * A/AAAA answer was validated too. */
static int smtp_host_addrs(const char *host, bool parent_secure, SMTP_ADDR **list, int *count,
			   VSTRING *why)
{
    unsigned char bin[16];
    VSTRING *text = vstring_alloc(64);
    DNS_RR *a = NULL, *aaaa = NULL;
    int s4 = DNS_NODATA, s6 = DNS_NODATA, status;
    bool v4, v6, sec4 = false, sec6 = false;

    smtp_want(&v4, &v6);
    if (inet_pton(AF_INET, host, bin) == 1) {
	smtp_addr_add(list, count, host, AF_INET, host, false);
	vstring_free(&text);
	return DNS_OK;
    }
    if (inet_pton(AF_INET6, host, bin) == 1) {
	smtp_addr_add(list, count, host, AF_INET6, host, false);
	vstring_free(&text);
	return DNS_OK;
    }
    if (v4)
	s4 = dns_lookup_sec(host, DNS_T_A, &a, &sec4, why);
    if (v6)
	s6 = dns_lookup_sec(host, DNS_T_AAAA, &aaaa, &sec6, s4 == DNS_OK ? NULL : why);
    sec4 = sec4 && parent_secure;
    sec6 = sec6 && parent_secure;

    DNS_RR *first = a, *second = aaaa;

    if (strcmp(var_smtp_address_preference, "ipv6") == 0
	|| (strcmp(var_smtp_address_preference, "any") == 0 && (random() & 1))) {
	first = aaaa;
	second = a;
    }
    for (DNS_RR *rr = first; rr; rr = rr->next)
	smtp_addr_add(list, count, host, rr->type == DNS_T_A ? AF_INET : AF_INET6,
		      dns_rr_addr_text(rr, text), rr->type == DNS_T_A ? sec4 : sec6);
    for (DNS_RR *rr = second; rr; rr = rr->next)
	smtp_addr_add(list, count, host, rr->type == DNS_T_A ? AF_INET : AF_INET6,
		      dns_rr_addr_text(rr, text), rr->type == DNS_T_A ? sec4 : sec6);
    if (a || aaaa)
	status = DNS_OK;
    else if (s4 == DNS_RETRY || s6 == DNS_RETRY || s4 == DNS_FAIL || s6 == DNS_FAIL)
	status = DNS_RETRY;
    else if (s4 == DNS_NOTFOUND || s6 == DNS_NOTFOUND)
	status = DNS_NOTFOUND;
    else
	status = DNS_NODATA;
    dns_rr_free(&a);
    dns_rr_free(&aaaa);

    /* The system's resolver (/etc/hosts) when DNS has nothing to say. */
    if (status != DNS_OK && (var_smtp_dns_resolver_address == NULL || *var_smtp_dns_resolver_address == 0)) {
	struct addrinfo hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = v4 && !v6 ? AF_INET : v6 && !v4 ? AF_INET6 : AF_UNSPEC;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
	    char buf[INET6_ADDRSTRLEN];

	    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		const void *ap = ai->ai_family == AF_INET
		    ? (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr
		    : (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;

		if (inet_ntop(ai->ai_family, ap, buf, sizeof(buf)))
		    smtp_addr_add(list, count, host, ai->ai_family, buf, false);
	    }
	    freeaddrinfo(res);
	    status = DNS_OK;
	}
    }
    vstring_free(&text);
    return status;
}

/* smtp_connect_addr - TCP connect with smtp_connect_timeout; fd or -1 */
static int smtp_connect_addr(const SMTP_ADDR *sa, unsigned port, VSTRING *why)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int fd, err = 0;
    socklen_t errlen = sizeof(err);
    struct pollfd pfd;

    memset(&ss, 0, sizeof(ss));
    if (sa->family == AF_INET) {
	struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t) port);
	inet_pton(AF_INET, sa->addr, &sin->sin_addr);
	sslen = sizeof(*sin);
    } else {
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t) port);
	inet_pton(AF_INET6, sa->addr, &sin6->sin6_addr);
	sslen = sizeof(*sin6);
    }
    if ((fd = socket(sa->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
	vstring_fmt(why, "socket: %s", strerror(errno));
	return -1;
    }
    if (connect(fd, (struct sockaddr *) &ss, sslen) < 0) {
	if (errno != EINPROGRESS) {
	    err = errno;
	    goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	int rc;

	do {
	    rc = poll(&pfd, 1, (int) var_smtp_connect_timeout * 1000);
	} while (rc < 0 && errno == EINTR);
	if (rc == 0) {
	    err = ETIMEDOUT;
	    goto fail;
	}
	if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) {
	    err = errno;
	    goto fail;
	}
	if (err != 0)
	    goto fail;
    }
    return fd;

fail:
    vstring_fmt(why, "%s", strerror(err));
    close(fd);
    return -1;
}

/* smtp_connect_unix - LMTP over a UNIX-domain socket; fd or -1 */
static int smtp_connect_unix(const char *path, VSTRING *why)
{
    struct sockaddr_un sun;
    int fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
	vstring_set(why, "socket path too long");
	return -1;
    }
    ph_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
	vstring_fmt(why, "socket: %s", strerror(errno));
	return -1;
    }
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
	vstring_fmt(why, "%s", strerror(errno));
	close(fd);
	return -1;
    }
    return fd;
}

/* smtp_session_new - wrap a connected fd */
static SMTP_SESSION *smtp_session_new(int fd, const char *host, const char *addr, unsigned port,
				      const char *dest_key, bool lmtp, bool secure)
{
    SMTP_SESSION *sess = mycalloc(1, sizeof(*sess));
    VSTRING *buf = vstring_alloc(100);

    sess->stream = stream_fdopen(fd, true);
    sess->host = mystrdup(host);
    sess->addr = mystrdup(addr);
    sess->port = port;
    if (port)
	vstring_fmt(buf, "%s[%s]:%u", host, addr, port);
    else
	vstring_fmt(buf, "%s[%s]", host, addr);
    sess->namaddr = vstring_export(&buf);
    sess->dest_key = mystrdup(dest_key);
    sess->lmtp = lmtp;
    sess->dnssec = secure;
    return sess;
}

/* smtp_now_us - wall clock in microseconds */
static int64_t smtp_now_us(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;
}

/* smtp_mx_list - the address list for a domain by MX; 0, or -1 after a
 * final result for everyone (bounce/defer decided here) */
static int smtp_mx_list(SMTP_STATE *st, const char *domain, SMTP_ADDR **list, int *count)
{
    DNS_RR *mx = NULL;
    VSTRING *why = vstring_alloc(100);
    bool secure = false;
    int status = dns_lookup_sec(domain, DNS_T_MX, &mx, &secure, why);
    int hstat = DNS_NODATA;

    switch (status) {
    case DNS_OK:
	if (dns_rr_count(mx) == 1 && strcmp(mx->name, ".") == 0) {
	    smtp_fail(st, DEL_STAT_BOUNCE, "5.1.10", NULL,
		      "Host or domain name not found. Domain %s does not accept mail (nullMX)", domain);
	    goto final;
	}
	mx = dns_mx_sort(mx);
	for (DNS_RR *rr = mx; rr; rr = rr->next) {
	    if (strcmp(rr->name, ".") == 0)
		continue;
	    int s = smtp_host_addrs(rr->name, secure, list, count, why);

	    if (s == DNS_OK || hstat == DNS_NODATA || hstat == DNS_NOTFOUND)
		hstat = s;
	}
	if (*count == 0) {
	    if (hstat == DNS_RETRY)
		smtp_fail(st, DEL_STAT_DEFER, "4.4.3", NULL, "%s", STR(why));
	    else
		smtp_fail(st, DEL_STAT_DEFER, "4.4.3", NULL,
			  "Host or domain name not found. No address for the MX hosts of %s", domain);
	    goto final;
	}
	break;
    case DNS_NODATA:
	/* No MX: the domain itself (RFC 5321 5.1). */
	hstat = smtp_host_addrs(domain, secure, list, count, why);
	if (*count == 0) {
	    if (hstat == DNS_RETRY)
		smtp_fail(st, DEL_STAT_DEFER, "4.4.3", NULL, "%s", STR(why));
	    else
		smtp_fail(st, DEL_STAT_BOUNCE, "5.4.4", NULL,
			  "Host or domain name not found. Name service error for name=%s type=A: "
			  "No address associated with hostname", domain);
	    goto final;
	}
	break;
    case DNS_NOTFOUND:
	smtp_fail(st, DEL_STAT_BOUNCE, "5.4.4", NULL, "%s", STR(why));
	goto final;
    default:
	smtp_fail(st, DEL_STAT_DEFER, "4.4.3", NULL, "%s", STR(why));
	goto final;
    }
    dns_rr_free(&mx);
    vstring_free(&why);
    return 0;

final:
    dns_rr_free(&mx);
    vstring_free(&why);
    return -1;
}

/* smtp_connect_deliver - see smtp.h */
void smtp_connect_deliver(SMTP_STATE *st)
{
    VSTRING *host = vstring_alloc(64), *why = vstring_alloc(100), *key = vstring_alloc(100);
    VSTRING *path = vstring_alloc(100);
    SMTP_ADDR *list = NULL;
    int count = 0, sessions = 0;
    unsigned port;
    bool mx, is_unix;
    const char *error;
    SMTP_SESSION *sess;

    vstring_fmt(key, "%s:%s", st->service, st->req->nexthop);
    if (smtp_parse_nexthop(st->req->nexthop, st->lmtp, host, &port, &mx, &is_unix, &error) < 0) {
	smtp_fail(st, DEL_STAT_DEFER, "4.3.5", NULL, "bad nexthop \"%s\": %s", st->req->nexthop, error);
	goto out;
    }
    st->conn_us = smtp_now_us();

    /* A cached session first. */
    if ((sess = smtp_cache_take(STR(key))) != NULL) {
	if (smtp_proto_rset(sess) == 0) {
	    sess->reuse_count++;
	    if (smtp_proto_deliver(st, sess, true) == SMTP_SESS_DONE) {
		smtp_cache_put(sess);
		goto out;
	    }
	}
	smtp_session_free(&sess);
    }

    if (is_unix) {
	if (*STR(host) != '/')
	    vstring_fmt(path, "%s/%s", var_queue_directory, STR(host));
	else
	    vstring_set(path, STR(host));
	int fd = smtp_connect_unix(STR(path), why);

	if (fd < 0) {
	    smtp_fail(st, DEL_STAT_DEFER, "4.4.1", NULL, "connect to %s: %s", STR(host), STR(why));
	    goto out;
	}
	sess = smtp_session_new(fd, var_myhostname, STR(host), 0, STR(key), true, false);
	if (smtp_proto_greet(st, sess) == 0 && smtp_proto_deliver(st, sess, false) == SMTP_SESS_DONE)
	    smtp_cache_put(sess);
	else
	    smtp_session_free(&sess);
	goto out;
    }

    if (mx) {
	if (smtp_mx_list(st, STR(host), &list, &count) < 0)
	    goto out;
    } else {
	int s = smtp_host_addrs(STR(host), true, &list, &count, why);

	if (count == 0) {
	    if (s == DNS_NOTFOUND || s == DNS_NODATA)
		smtp_fail(st, DEL_STAT_BOUNCE, "5.4.4", NULL, "%s", STR(why));
	    else
		smtp_fail(st, DEL_STAT_DEFER, "4.4.3", NULL, "%s", STR(why));
	    goto out;
	}
    }

    for (int i = 0; i < count && smtp_pending(st) > 0; i++) {
	int fd;

	if (var_smtp_mx_session_limit > 0 && sessions >= var_smtp_mx_session_limit)
	    break;
	if ((fd = smtp_connect_addr(&list[i], port, why)) < 0) {
	    msg_info("%s: connect to %s[%s]:%u: %s", st->req->queue_id, list[i].host,
		     list[i].addr, port, STR(why));
	    smtp_fail(st, DEL_STAT_DEFER, "4.4.1", NULL, "connect to %s[%s]:%u: %s",
		      list[i].host, list[i].addr, port, STR(why));
	    continue;
	}
	sess = smtp_session_new(fd, list[i].host, list[i].addr, port, STR(key), st->lmtp,
				list[i].secure);
	st->tls_failed = st->tls_off = false;
	if (smtp_proto_greet(st, sess) < 0) {
	    smtp_session_free(&sess);
	    if (!st->tls_failed)
		continue;
	    /* TLS at level may failed: once more in plaintext. */
	    msg_info("%s: TLS with %s[%s] failed: trying again without TLS", st->req->queue_id,
		     list[i].host, list[i].addr);
	    if ((fd = smtp_connect_addr(&list[i], port, why)) < 0)
		continue;
	    sess = smtp_session_new(fd, list[i].host, list[i].addr, port, STR(key), st->lmtp,
				    list[i].secure);
	    st->tls_off = true;
	    if (smtp_proto_greet(st, sess) < 0) {
		smtp_session_free(&sess);
		continue;
	    }
	}
	sessions++;
	if (smtp_proto_deliver(st, sess, false) == SMTP_SESS_DONE) {
	    smtp_cache_put(sess);
	    break;
	}
	smtp_session_free(&sess);
    }

out:
    for (int i = 0; i < count; i++)
	myfree(list[i].host);
    myfree(list);
    vstring_free(&host);
    vstring_free(&why);
    vstring_free(&key);
    vstring_free(&path);
}
