/* dns - DNS lookups through the libc resolver; see dns.h.
 *
 * Contract: queries go out with res_nmkquery + res_nsend (so the reply is
 * seen even for NXDOMAIN and the resolver retries over TCP on truncation);
 * the reply is parsed here by dns_parse, which checks every offset against
 * the packet length, bounds name compression (pointers must point
 * backwards, names at most DNS_NAME_MAX bytes) and drops records whose
 * names are not host-name text. The resolver state is per process (the
 * suite's processes are single-threaded).
 * With dns_set_dnssec(true) the query gets the AD bit and an EDNS0 OPT
 * record (payload 1232, DO bit), and RES_TRUSTAD keeps glibc from
 * clearing AD in the reply; the AD bit of the reply is the verdict.
 * Limits: DNS_MAX_RR records per answer; IPv4 servers only for
 * dns_set_server (resolv.conf may still name IPv6 servers).
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "msg.h"
#include "mymalloc.h"

static struct __res_state dns_res;
static bool dns_res_ready;
static struct sockaddr_in dns_server;
static bool dns_server_set;
static bool dns_dnssec;

/* dns_init - set up the resolver state once */
static int dns_init(void)
{
    if (dns_res_ready)
	return 0;
    memset(&dns_res, 0, sizeof(dns_res));
    if (res_ninit(&dns_res) < 0)
	return -1;
    dns_res.options &= ~(unsigned long) (RES_DNSRCH | RES_DEFNAMES);
    dns_res.options |= RES_RECURSE;
#ifdef RES_TRUSTAD
    if (dns_dnssec)
	dns_res.options |= RES_TRUSTAD;
#endif
    if (dns_server_set) {
	dns_res.nscount = 1;
	dns_res.nsaddr_list[0] = dns_server;
	dns_res.retrans = 2;
	dns_res.retry = 2;
    }
    dns_res_ready = true;
    srandom((unsigned) (time(NULL) ^ (getpid() << 8)));
    return 0;
}

/* dns_set_server - see dns.h */
int dns_set_server(const char *server, const char **error_r)
{
    char host[64];
    const char *port = NULL, *end;
    size_t len;
    long pnum = 53;

    if (dns_res_ready) {
	res_nclose(&dns_res);
	dns_res_ready = false;
    }
    dns_server_set = false;
    if (server == NULL || *server == 0)
	return 0;
    if (*server == '[') {
	if ((end = strchr(server, ']')) == NULL) {
	    *error_r = "missing ']' in DNS server address";
	    return -1;
	}
	len = (size_t) (end - server - 1);
	server++;
	if (end[1] == ':')
	    port = end + 2;
	else if (end[1] != 0) {
	    *error_r = "garbage after ']' in DNS server address";
	    return -1;
	}
    } else if ((end = strchr(server, ':')) != NULL) {
	len = (size_t) (end - server);
	port = end + 1;
    } else {
	len = strlen(server);
    }
    if (len == 0 || len >= sizeof(host)) {
	*error_r = "bad DNS server address";
	return -1;
    }
    memcpy(host, server, len);
    host[len] = 0;
    if (port) {
	char *ep;

	pnum = strtol(port, &ep, 10);
	if (*port == 0 || *ep != 0 || pnum < 1 || pnum > 65535) {
	    *error_r = "bad DNS server port";
	    return -1;
	}
    }
    memset(&dns_server, 0, sizeof(dns_server));
    dns_server.sin_family = AF_INET;
    dns_server.sin_port = htons((uint16_t) pnum);
    if (inet_pton(AF_INET, host, &dns_server.sin_addr) != 1) {
	*error_r = "DNS server is not an IPv4 address";
	return -1;
    }
    dns_server_set = true;
    return 0;
}

/* dns_set_dnssec - see dns.h */
void dns_set_dnssec(bool on)
{
    if (dns_res_ready && on != dns_dnssec) {
	res_nclose(&dns_res);
	dns_res_ready = false;
    }
    dns_dnssec = on;
}

/* dns_get16 - big-endian 16 bits */
static unsigned dns_get16(const unsigned char *p)
{
    return (unsigned) p[0] << 8 | p[1];
}

/* dns_expand - a possibly compressed name at *offp into out (text, no
 * trailing dot, "." for the root); advances *offp past the name as stored
 * in place. -1 on a malformed name. */
static int dns_expand(const unsigned char *msg, size_t len, size_t *offp, char *out, size_t outsize)
{
    size_t off = *offp, o = 0, limit = off;
    bool jumped = false;

    for (;;) {
	if (off >= len)
	    return -1;
	unsigned c = msg[off];

	if (c == 0) {
	    if (!jumped)
		*offp = off + 1;
	    break;
	}
	if ((c & 0xc0) == 0xc0) {
	    if (off + 1 >= len)
		return -1;
	    size_t target = (c & 0x3f) << 8 | msg[off + 1];

	    if (!jumped)
		*offp = off + 2;
	    /* Pointers must go backwards: no loops. */
	    if (target >= limit)
		return -1;
	    limit = target;
	    off = target;
	    jumped = true;
	    continue;
	}
	if (c & 0xc0)
	    return -1;
	if (off + 1 + c > len)
	    return -1;
	if (o + c + 2 > outsize || o + c + 1 > DNS_NAME_MAX)
	    return -1;
	if (o > 0)
	    out[o++] = '.';
	memcpy(out + o, msg + off + 1, c);
	o += c;
	off += 1 + c;
    }
    if (o == 0)
	out[o++] = '.';
    out[o] = 0;
    return 0;
}

/* dns_name_ok - host-name text (letters, digits, '-', '_', '.') */
static bool dns_name_ok(const char *name)
{
    if (strcmp(name, ".") == 0)
	return true;
    for (const char *cp = name; *cp; cp++)
	if (!isalnum((unsigned char) *cp) && *cp != '-' && *cp != '_' && *cp != '.')
	    return false;
    return true;
}

/* dns_parse - see dns.h */
int dns_parse(const unsigned char *msg, size_t len, int type, DNS_RR **list_r)
{
    DNS_RR *head = NULL, **tail = &head;
    unsigned qd, an, rcode;
    size_t off = 12;
    char name[DNS_NAME_MAX + 2];
    int count = 0;

    *list_r = NULL;
    if (len < 12)
	return DNS_RETRY;
    rcode = msg[3] & 0x0f;
    qd = dns_get16(msg + 4);
    an = dns_get16(msg + 6);
    switch (rcode) {
    case 0:
	break;
    case 3:
	return DNS_NOTFOUND;
    case 2:
    case 5:
	return DNS_RETRY;
    default:
	return DNS_FAIL;
    }
    for (unsigned i = 0; i < qd; i++) {
	if (dns_expand(msg, len, &off, name, sizeof(name)) < 0 || off + 4 > len)
	    return DNS_RETRY;
	off += 4;
    }
    for (unsigned i = 0; i < an; i++) {
	unsigned rtype, rdlen;
	unsigned long ttl;
	size_t rd;

	if (dns_expand(msg, len, &off, name, sizeof(name)) < 0 || off + 10 > len)
	    goto bad;
	rtype = dns_get16(msg + off);
	ttl = (unsigned long) dns_get16(msg + off + 4) << 16 | dns_get16(msg + off + 6);
	rdlen = dns_get16(msg + off + 8);
	off += 10;
	if (off + rdlen > len)
	    goto bad;
	rd = off;
	off += rdlen;
	if ((int) rtype != type || count >= DNS_MAX_RR)
	    continue;

	DNS_RR rr;

	memset(&rr, 0, sizeof(rr));
	rr.type = type;
	rr.ttl = (unsigned) ttl;
	switch (type) {
	case DNS_T_A:
	    if (rdlen != 4)
		goto bad;
	    memcpy(rr.addr, msg + rd, 4);
	    break;
	case DNS_T_AAAA:
	    if (rdlen != 16)
		goto bad;
	    memcpy(rr.addr, msg + rd, 16);
	    break;
	case DNS_T_MX:{
		size_t p = rd + 2;

		if (rdlen < 3)
		    goto bad;
		rr.pref = dns_get16(msg + rd);
		if (dns_expand(msg, rd + rdlen, &p, name, sizeof(name)) < 0)
		    goto bad;
		if (!dns_name_ok(name))
		    continue;
		memcpy(rr.name, name, strlen(name) + 1);
		break;
	    }
	case DNS_T_PTR:{
		size_t p = rd;

		if (dns_expand(msg, rd + rdlen, &p, name, sizeof(name)) < 0)
		    goto bad;
		if (!dns_name_ok(name))
		    continue;
		memcpy(rr.name, name, strlen(name) + 1);
		break;
	    }
	case DNS_T_TXT:{
		size_t p = rd, o = 0;

		while (p < rd + rdlen) {
		    unsigned sl = msg[p++];

		    if (p + sl > rd + rdlen)
			goto bad;
		    for (unsigned k = 0; k < sl && o < DNS_NAME_MAX; k++) {
			unsigned char ch = msg[p + k];

			rr.name[o++] = (char) (ch >= 0x20 && ch < 0x7f ? ch : '?');
		    }
		    p += sl;
		}
		rr.name[o] = 0;
		break;
	    }
	case DNS_T_TLSA:
	    if (rdlen < 3)
		goto bad;
	    rr.usage = msg[rd];
	    rr.selector = msg[rd + 1];
	    rr.mtype = msg[rd + 2];
	    rr.data_len = rdlen - 3;
	    rr.data = mymalloc(rr.data_len + 1);
	    memcpy(rr.data, msg + rd + 3, rr.data_len);
	    break;
	default:
	    break;
	}
	*tail = mymalloc(sizeof(**tail));
	**tail = rr;
	tail = &(*tail)->next;
	count++;
    }
    *list_r = head;
    return head ? DNS_OK : DNS_NODATA;

bad:
    dns_rr_free(&head);
    return DNS_RETRY;
}

/* dns_lookup - see dns.h */
int dns_lookup(const char *name, int type, DNS_RR **list_r, VSTRING *why)
{
    return dns_lookup_sec(name, type, list_r, NULL, why);
}

/* dns_lookup_sec - see dns.h */
int dns_lookup_sec(const char *name, int type, DNS_RR **list_r, bool *secure_r, VSTRING *why)
{
    unsigned char query[NS_PACKETSZ + DNS_NAME_MAX], *reply;
    int qlen, rlen, status;
    static const char *const texts[] = {
	"OK", "Host not found", "No address associated with hostname",
	"Host not found, try again", "Non-recoverable error",
    };

    *list_r = NULL;
    if (secure_r)
	*secure_r = false;
    if (dns_init() < 0) {
	if (why)
	    vstring_fmt(why, "Name service error for name=%s type=%s: cannot initialize the resolver",
			name, dns_type_name(type));
	return DNS_RETRY;
    }
    if (*name == 0 || strlen(name) > DNS_NAME_MAX || !dns_name_ok(name)) {
	if (why)
	    vstring_fmt(why, "Name service error for name=%.100s type=%s: malformed domain name",
			name, dns_type_name(type));
	return DNS_FAIL;
    }
    qlen = res_nmkquery(&dns_res, ns_o_query, name, ns_c_in, type, NULL, 0, NULL,
			query, (int) sizeof(query));
    if (qlen < 0) {
	if (why)
	    vstring_fmt(why, "Name service error for name=%s type=%s: cannot build query",
			name, dns_type_name(type));
	return DNS_FAIL;
    }
    if (dns_dnssec) {
	/* AD in the header; EDNS0 OPT: root name, type 41, payload 1232,
	 * extended RCODE 0, version 0, flags DO, no options. */
	static const unsigned char opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0};

	if ((size_t) qlen + sizeof(opt) > sizeof(query))
	    msg_panic("dns_lookup: no room for the OPT record");
	query[3] |= 0x20;
	memcpy(query + qlen, opt, sizeof(opt));
	qlen += (int) sizeof(opt);
	query[11] = (unsigned char) (query[11] + 1);	/* ARCOUNT 0 -> 1 */
    }
    reply = mymalloc(65536);
    rlen = res_nsend(&dns_res, query, qlen, reply, 65536);
    if (rlen < 0) {
	status = DNS_RETRY;
    } else {
	status = dns_parse(reply, (size_t) rlen, type, list_r);
	if (secure_r && dns_dnssec && rlen >= 4 && (reply[3] & 0x20))
	    *secure_r = true;
    }
    myfree(reply);
    if (status != DNS_OK && why) {
	if (status == DNS_NOTFOUND || status == DNS_NODATA)
	    vstring_fmt(why, "Host or domain name not found. Name service error for name=%s type=%s: %s",
			name, dns_type_name(type), texts[status]);
	else
	    vstring_fmt(why, "Name service error for name=%s type=%s: %s",
			name, dns_type_name(type), texts[status]);
    }
    return status;
}

/* dns_rr_free - free a list */
void dns_rr_free(DNS_RR **listp)
{
    DNS_RR *rr = *listp, *next;

    for (; rr; rr = next) {
	next = rr->next;
	if (rr->data)
	    myfree(rr->data);
	myfree(rr);
    }
    *listp = NULL;
}

/* dns_rr_count - list length */
int dns_rr_count(const DNS_RR *list)
{
    int n = 0;

    for (; list; list = list->next)
	n++;
    return n;
}

/* dns_rr_addr_text - an address record as text */
const char *dns_rr_addr_text(const DNS_RR *rr, VSTRING *buf)
{
    char text[INET6_ADDRSTRLEN];

    if (inet_ntop(rr->type == DNS_T_AAAA ? AF_INET6 : AF_INET, rr->addr, text, sizeof(text)) == NULL)
	ph_strlcpy(text, "?", sizeof(text));
    vstring_set(buf, text);
    return STR(buf);
}

/* dns_mx_sort - preference order, equal preferences shuffled */
DNS_RR *dns_mx_sort(DNS_RR *list)
{
    int n = dns_rr_count(list), i, j;
    DNS_RR **v, *head;

    if (n < 2)
	return list;
    (void) dns_init();
    v = mymalloc(sizeof(*v) * (size_t) n);
    for (i = 0; list; list = list->next)
	v[i++] = list;
    /* Shuffle first (Fisher-Yates), then a stable insertion sort by
     * preference keeps the random order among equals. */
    for (i = n - 1; i > 0; i--) {
	j = (int) (random() % (i + 1));
	DNS_RR *t = v[i];

	v[i] = v[j];
	v[j] = t;
    }
    for (i = 1; i < n; i++) {
	DNS_RR *t = v[i];

	for (j = i; j > 0 && v[j - 1]->pref > t->pref; j--)
	    v[j] = v[j - 1];
	v[j] = t;
    }
    for (i = 0; i < n - 1; i++)
	v[i]->next = v[i + 1];
    v[n - 1]->next = NULL;
    head = v[0];
    myfree(v);
    return head;
}

/* dns_type_name - type for messages */
const char *dns_type_name(int type)
{
    switch (type) {
    case DNS_T_A:
	return "A";
    case DNS_T_AAAA:
	return "AAAA";
    case DNS_T_MX:
	return "MX";
    case DNS_T_TXT:
	return "TXT";
    case DNS_T_PTR:
	return "PTR";
    case DNS_T_TLSA:
	return "TLSA";
    default:
	return "?";
    }
}

/* dns_status_name - status for tests and logs */
const char *dns_status_name(int status)
{
    static const char *const names[] = {"OK", "NOTFOUND", "NODATA", "RETRY", "FAIL"};

    return status >= 0 && status <= DNS_FAIL ? names[status] : "?";
}
