/* cidr_match - parse and match IPv4/IPv6 network blocks.
 *
 * Contract: see cidr_match.h. Pure functions, no allocation beyond the
 * caller's VSTRING for the reason text.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr_match.h"

static const unsigned char cidr_match_v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* cidr_match_addr - parse an address, unmapping IPv4-mapped IPv6 */
int     cidr_match_addr(const char *text, int *family_r, unsigned char addr[16])
{
    char    buf[64];
    size_t  len = strlen(text);

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
	text++;
	len -= 2;
    }
    if (len == 0 || len >= sizeof(buf))
	return -1;
    memcpy(buf, text, len);
    buf[len] = 0;
    memset(addr, 0, 16);
    if (strchr(buf, ':') == NULL) {
	*family_r = AF_INET;
	return inet_pton(AF_INET, buf, addr) == 1 ? 0 : -1;
    }
    if (strncasecmp(buf, "ipv6:", 5) == 0)
	memmove(buf, buf + 5, len - 4);
    if (inet_pton(AF_INET6, buf, addr) != 1)
	return -1;
    if (memcmp(addr, cidr_match_v4mapped, 12) == 0) {
	memmove(addr, addr + 12, 4);
	memset(addr + 4, 0, 12);
	*family_r = AF_INET;
    } else {
	*family_r = AF_INET6;
    }
    return 0;
}

/* cidr_match_parse - "net/prefix", "[net]/prefix", "addr" */
int     cidr_match_parse(CIDR_MATCH *cm, const char *pattern, VSTRING *why)
{
    char    buf[80];
    const char *slash;
    size_t  alen;
    long    prefix = -1;
    int     maxbits;
    bool    mapped = false;

    memset(cm, 0, sizeof(*cm));
    slash = strrchr(pattern, '/');
    alen = slash ? (size_t) (slash - pattern) : strlen(pattern);
    if (alen == 0 || alen >= sizeof(buf)) {
	vstring_fmt(why, "bad network address \"%.100s\"", pattern);
	return -1;
    }
    memcpy(buf, pattern, alen);
    buf[alen] = 0;
    if (slash) {
	char   *end;

	if (!isdigit((unsigned char) slash[1]) || strlen(slash + 1) > 3
	    || (prefix = strtol(slash + 1, &end, 10), *end != 0)) {
	    vstring_fmt(why, "bad network mask in \"%.100s\"", pattern);
	    return -1;
	}
    }
    {
	/* Detect a mapped pattern before cidr_match_addr unmaps it. */
	unsigned char raw[16];
	const char *a = buf[0] == '[' ? buf + 1 : buf;
	char    tmp[80];
	size_t  n = strlen(a);

	if (n > 0 && a[n - 1] == ']')
	    n--;
	memcpy(tmp, a, n);
	tmp[n] = 0;
	if (strchr(tmp, ':') && inet_pton(AF_INET6, tmp, raw) == 1
	    && memcmp(raw, cidr_match_v4mapped, 12) == 0)
	    mapped = true;
    }
    if (cidr_match_addr(buf, &cm->family, cm->net) < 0) {
	vstring_fmt(why, "bad network address \"%.100s\"", pattern);
	return -1;
    }
    if (mapped && prefix >= 0) {
	if (prefix < 96) {
	    /* A block wider than the mapped range stays IPv6. */
	    cm->family = AF_INET6;
	    memmove(cm->net + 12, cm->net, 4);
	    memcpy(cm->net, cidr_match_v4mapped, 12);
	} else {
	    prefix -= 96;
	}
    }
    maxbits = cm->family == AF_INET ? 32 : 128;
    if (prefix < 0)
	prefix = maxbits;
    if (prefix > maxbits) {
	vstring_fmt(why, "bad network mask in \"%.100s\" (at most /%d)", pattern, maxbits);
	return -1;
    }
    cm->prefix = (int) prefix;
    for (int i = 0; i < maxbits / 8; i++) {
	int     bits = (int) prefix - i * 8;

	cm->mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (unsigned char) (0xff << (8 - bits));
    }
    for (int i = 0; i < 16; i++) {
	if (cm->net[i] & ~cm->mask[i]) {
	    char    good[INET6_ADDRSTRLEN];
	    unsigned char fixed[16];

	    for (int j = 0; j < 16; j++)
		fixed[j] = cm->net[j] & cm->mask[j];
	    inet_ntop(cm->family, fixed, good, sizeof(good));
	    vstring_fmt(why, "non-null host address bits in \"%.100s\", "
			"perhaps you should use \"%s/%d\" instead", pattern, good, cm->prefix);
	    return -1;
	}
    }
    return 0;
}

/* cidr_match_execute - address in block? */
bool    cidr_match_execute(const CIDR_MATCH *cm, int family, const unsigned char addr[16])
{
    if (family != cm->family)
	return false;
    for (int i = 0; i < (family == AF_INET ? 4 : 16); i++)
	if ((addr[i] & cm->mask[i]) != cm->net[i])
	    return false;
    return true;
}
