/* smtp_path.c - RFC 5321 path parsing and RFC 3461 xtext.
 *
 * Contract: see smtp_path.h. The parser is a strict single pass over the
 * bytes with explicit length bounds; it never allocates more than the
 * input size and never reads past the terminating NUL. Used by smtpd for
 * MAIL FROM / RCPT TO, and available to the client side and sendmail -bs.
 *
 * Limits: lengths as in smtp_path.h; NUL bytes cannot occur (C strings).
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "smtp_path.h"

/* smtp_path_alloc - empty result holder */
SMTP_PATH *smtp_path_alloc(void)
{
    SMTP_PATH *path = mycalloc(1, sizeof(*path));

    path->given = vstring_alloc(64);
    path->addr = vstring_alloc(64);
    vstring_set_limit(path->given, SMTP_PATH_MAX);
    vstring_set_limit(path->addr, SMTP_PATH_MAX);
    return path;
}

/* smtp_path_free - release, NULL the caller's pointer */
void smtp_path_free(SMTP_PATH **pathp)
{
    SMTP_PATH *path = *pathp;

    if (path == NULL)
	return;
    vstring_free(&path->given);
    vstring_free(&path->addr);
    myfree(path);
    *pathp = NULL;
}

/* smtp_utf8_valid - well-formed UTF-8 check */
bool smtp_utf8_valid(const char *str, size_t len)
{
    const unsigned char *cp = (const unsigned char *) str;
    const unsigned char *end = cp + len;

    while (cp < end) {
	unsigned c = *cp++;
	unsigned need, cp_val, min;

	if (c < 0x80)
	    continue;
	if (c >= 0xC2 && c <= 0xDF) {
	    need = 1, cp_val = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
	    need = 2, cp_val = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
	    need = 3, cp_val = c & 0x07, min = 0x10000;
	} else {
	    return false;
	}
	if ((size_t) (end - cp) < need)
	    return false;
	while (need-- > 0) {
	    if ((*cp & 0xC0) != 0x80)
		return false;
	    cp_val = (cp_val << 6) | (*cp++ & 0x3F);
	}
	if (cp_val < min || cp_val > 0x10FFFF || (cp_val >= 0xD800 && cp_val <= 0xDFFF))
	    return false;
    }
    return true;
}

/* smtp_path_atext - RFC 5322 atext (ASCII part) */
static bool smtp_path_atext(int ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
	return true;
    return ch != 0 && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

/* smtp_path_domain - validate a domain or address literal of len bytes */
static int smtp_path_domain(const char *dom, size_t len, int flags, const char **error_r)
{
    if (len == 0) {
	*error_r = "empty domain";
	return -1;
    }
    if (len > SMTP_PATH_DOMAIN_MAX) {
	*error_r = "domain too long";
	return -1;
    }
    if (dom[0] == '[') {
	char    lit[SMTP_PATH_DOMAIN_MAX + 1];
	unsigned char bin[16];
	size_t  n;

	if (len < 3 || dom[len - 1] != ']') {
	    *error_r = "bad address literal";
	    return -1;
	}
	n = len - 2;
	memcpy(lit, dom + 1, n);
	lit[n] = 0;
	if (strncasecmp(lit, "IPv6:", 5) == 0) {
	    if (inet_pton(AF_INET6, lit + 5, bin) != 1) {
		*error_r = "bad IPv6 address literal";
		return -1;
	    }
	    return 0;
	}
	if (lit[0] >= '0' && lit[0] <= '9') {
	    if (inet_pton(AF_INET, lit, bin) != 1) {
		*error_r = "bad IPv4 address literal";
		return -1;
	    }
	    return 0;
	}
	/* General-address-literal: Ldh-str ":" 1*dcontent */
	{
	    const char *colon = strchr(lit, ':');
	    const char *cp;

	    if (colon == NULL || colon == lit || colon[1] == 0) {
		*error_r = "bad address literal";
		return -1;
	    }
	    for (cp = lit; cp < colon; cp++)
		if (!((*cp >= 'a' && *cp <= 'z') || (*cp >= 'A' && *cp <= 'Z')
		      || (*cp >= '0' && *cp <= '9') || *cp == '-')) {
		    *error_r = "bad address literal";
		    return -1;
		}
	    for (cp = colon + 1; *cp; cp++)
		if (*cp < 33 || *cp > 126 || *cp == '[' || *cp == ']' || *cp == '\\') {
		    *error_r = "bad address literal";
		    return -1;
		}
	}
	return 0;
    }
    {
	size_t  label = 0;
	size_t  i;

	for (i = 0; i < len; i++) {
	    unsigned char ch = (unsigned char) dom[i];

	    if (ch == '.') {
		if (label == 0 || dom[i - 1] == '-') {
		    *error_r = "bad domain syntax";
		    return -1;
		}
		label = 0;
		continue;
	    }
	    if (ch >= 0x80) {
		if (!(flags & SMTP_PATH_FLAG_UTF8)) {
		    *error_r = "8-bit domain without SMTPUTF8";
		    return -1;
		}
	    } else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
			 || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) {
		*error_r = "bad domain syntax";
		return -1;
	    } else if (ch == '-' && label == 0) {
		*error_r = "bad domain syntax";
		return -1;
	    }
	    if (++label > 63) {
		*error_r = "domain label too long";
		return -1;
	    }
	}
	if (label == 0 || dom[len - 1] == '-') {
	    *error_r = "bad domain syntax";
	    return -1;
	}
	if ((flags & SMTP_PATH_FLAG_UTF8) && !smtp_utf8_valid(dom, len)) {
	    *error_r = "malformed UTF-8";
	    return -1;
	}
    }
    return 0;
}

/* smtp_path_check_mailbox - validate local-part [@ domain] */
int smtp_path_check_mailbox(const char *mbox, size_t len, int flags, bool *has_domain_r,
			    const char **error_r)
{
    size_t  i = 0;
    size_t  local_len;

    *has_domain_r = false;
    if (len == 0) {
	*error_r = "empty address";
	return -1;
    }
    if (mbox[0] == '"') {
	for (i = 1;; i++) {
	    unsigned char ch;

	    if (i >= len) {
		*error_r = "unterminated quoted string";
		return -1;
	    }
	    ch = (unsigned char) mbox[i];
	    if (ch == '"')
		break;
	    if (ch == '\\') {
		if (++i >= len || (unsigned char) mbox[i] < 32 || (unsigned char) mbox[i] > 126) {
		    *error_r = "bad quoted pair";
		    return -1;
		}
		continue;
	    }
	    if (ch >= 0x80) {
		if (!(flags & SMTP_PATH_FLAG_UTF8)) {
		    *error_r = "8-bit address without SMTPUTF8";
		    return -1;
		}
		continue;
	    }
	    if (ch < 32 || ch > 126) {
		*error_r = "control character in quoted string";
		return -1;
	    }
	}
	i++;					/* past the closing quote */
	if (i == 2) {
	    /* "" is a valid (if odd) quoted local part; accept it */
	}
    } else {
	bool    prev_dot = true;		/* no leading dot */

	for (; i < len && mbox[i] != '@'; i++) {
	    unsigned char ch = (unsigned char) mbox[i];

	    if (ch == '.') {
		if (prev_dot) {
		    *error_r = "bad local part syntax";
		    return -1;
		}
		prev_dot = true;
		continue;
	    }
	    prev_dot = false;
	    if (ch >= 0x80) {
		if (!(flags & SMTP_PATH_FLAG_UTF8)) {
		    *error_r = "8-bit address without SMTPUTF8";
		    return -1;
		}
		continue;
	    }
	    if (!smtp_path_atext(ch)) {
		*error_r = "bad local part syntax";
		return -1;
	    }
	}
	if (i == 0 || prev_dot) {
	    *error_r = "bad local part syntax";
	    return -1;
	}
    }
    local_len = i;
    if (local_len > SMTP_PATH_LOCAL_MAX) {
	*error_r = "local part too long";
	return -1;
    }
    if ((flags & SMTP_PATH_FLAG_UTF8) && !smtp_utf8_valid(mbox, local_len)) {
	*error_r = "malformed UTF-8";
	return -1;
    }
    if (i == len) {
	if (!(flags & SMTP_PATH_FLAG_LOCAL_OK)) {
	    *error_r = "domain missing";
	    return -1;
	}
	return 0;
    }
    if (mbox[i] != '@') {
	*error_r = "bad local part syntax";
	return -1;
    }
    if (smtp_path_domain(mbox + i + 1, len - i - 1, flags, error_r) < 0)
	return -1;
    *has_domain_r = true;
    return 0;
}

/* smtp_path_route - validate "@a,@b" of len bytes */
static int smtp_path_route(const char *route, size_t len, int flags, const char **error_r)
{
    size_t  start = 0;

    while (start < len) {
	size_t  end = start;

	if (route[start] != '@') {
	    *error_r = "bad source route";
	    return -1;
	}
	while (end < len && route[end] != ',')
	    end++;
	if (smtp_path_domain(route + start + 1, end - start - 1, flags & ~SMTP_PATH_FLAG_UTF8,
			     error_r) < 0) {
	    *error_r = "bad source route";
	    return -1;
	}
	if (route[start + 1] == '[') {
	    /* an address literal in a route is allowed by RFC 5321 */
	}
	start = end + 1;
	if (end < len && start == len) {
	    *error_r = "bad source route";
	    return -1;
	}
    }
    return 0;
}

/* smtp_path_parse - parse one path at the start of text */
int smtp_path_parse(SMTP_PATH *path, const char *text, int flags,
		    const char **end_r, const char **error_r)
{
    const char *cp = text;
    const char *inner;
    size_t  inner_len;
    bool    in_quote = false;
    bool    bracket;
    const char *mbox;
    size_t  mbox_len;

    if (path == NULL || text == NULL)
	msg_panic("smtp_path_parse: null argument");
    vstring_reset(path->given);
    vstring_reset(path->addr);
    path->is_null = path->has_route = path->eightbit = path->has_domain = false;

    bracket = (*cp == '<');
    if (!bracket && (flags & SMTP_PATH_FLAG_STRICT)) {
	*error_r = "missing <>";
	return -1;
    }
    if (bracket)
	cp++;
    inner = cp;
    for (;; cp++) {
	unsigned char ch = (unsigned char) *cp;

	if (ch == 0) {
	    if (bracket || in_quote) {
		*error_r = bracket ? "missing >" : "unterminated quoted string";
		return -1;
	    }
	    break;
	}
	if ((size_t) (cp - inner) > SMTP_PATH_MAX) {
	    *error_r = "address too long";
	    return -1;
	}
	if (in_quote) {
	    if (ch == '\\') {
		if (cp[1] == 0) {
		    *error_r = "bad quoted pair";
		    return -1;
		}
		cp++;
	    } else if (ch == '"') {
		in_quote = false;
	    }
	    continue;
	}
	if (ch == '"') {
	    in_quote = true;
	    continue;
	}
	if (bracket && ch == '>')
	    break;
	if (bracket && ch == '<') {
	    *error_r = "nested <";
	    return -1;
	}
	if (!bracket && (ch == ' ' || ch == '\t'))
	    break;
	if (ch >= 0x80)
	    path->eightbit = true;
    }
    inner_len = (size_t) (cp - inner);
    if (end_r)
	*end_r = bracket ? cp + 1 : cp;
    if (path->eightbit && !(flags & SMTP_PATH_FLAG_UTF8)) {
	*error_r = "8-bit address without SMTPUTF8";
	return -1;
    }
    vstring_setn(path->given, inner, inner_len);
    if (inner_len == 0) {
	if (!(flags & SMTP_PATH_FLAG_NULL_OK) || !bracket) {
	    *error_r = "empty address";
	    return -1;
	}
	path->is_null = true;
	return 0;
    }
    mbox = inner;
    mbox_len = inner_len;
    if (inner[0] == '@') {
	const char *colon = memchr(inner, ':', inner_len);

	if (colon == NULL) {
	    *error_r = "bad source route";
	    return -1;
	}
	if (smtp_path_route(inner, (size_t) (colon - inner), flags, error_r) < 0)
	    return -1;
	mbox = colon + 1;
	mbox_len = inner_len - (size_t) (mbox - inner);
	path->has_route = true;
    }
    if (smtp_path_check_mailbox(mbox, mbox_len, flags, &path->has_domain, error_r) < 0)
	return -1;
    vstring_setn(path->addr, mbox, mbox_len);
    return 0;
}

/* smtp_xtext_hex - value of one upper-case hex digit, or -1 */
static int smtp_xtext_hex(int ch)
{
    if (ch >= '0' && ch <= '9')
	return ch - '0';
    if (ch >= 'A' && ch <= 'F')
	return ch - 'A' + 10;
    return -1;
}

/* smtp_xtext_decode - RFC 3461 xtext into out */
int smtp_xtext_decode(VSTRING *out, const char *text)
{
    const unsigned char *cp;

    vstring_reset(out);
    for (cp = (const unsigned char *) text; *cp; cp++) {
	if (*cp < 33 || *cp > 126 || *cp == '=')
	    return -1;
	if (*cp == '+') {
	    int     hi, lo;

	    if (cp[1] == 0 || cp[2] == 0)
		return -1;
	    hi = smtp_xtext_hex(cp[1]);
	    lo = smtp_xtext_hex(cp[2]);
	    if (hi < 0 || lo < 0)
		return -1;
	    vstring_addch(out, hi * 16 + lo);
	    cp += 2;
	} else {
	    vstring_addch(out, *cp);
	}
    }
    return 0;
}

/* smtp_xtext_valid - syntax check only */
bool smtp_xtext_valid(const char *text)
{
    VSTRING *tmp = vstring_alloc(strlen(text) + 1);
    int     ret = smtp_xtext_decode(tmp, text);

    vstring_free(&tmp);
    return ret == 0;
}
