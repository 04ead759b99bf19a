/* imap_utf7 - modified UTF-7 mailbox name coding (see imap_utf7.h).
 *
 * Contract: strict in both directions, so a name has exactly one encoded
 * form; invalid input is reported, never repaired.
 *
 * Limits: none beyond the VSTRING's own (the caller bounds name length).
 */
#include "sys_defs.h"

#include <string.h>

#include "imap_utf7.h"
#include "vstring.h"

static const char imap_utf7_b64[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* imap_utf7_b64val - the 6-bit value of a base64 character, -1 if none */
static int imap_utf7_b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
	return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
	return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
	return ch - '0' + 52;
    if (ch == '+')
	return 62;
    if (ch == ',')
	return 63;
    return -1;
}

/* imap_utf8_next - decode one UTF-8 code point; returns its length or 0 */
static size_t imap_utf8_next(const unsigned char *s, size_t len, uint32_t *cp_r)
{
    uint32_t cp;
    size_t  n;

    if (len == 0)
	return 0;
    if (s[0] < 0x80) {
	*cp_r = s[0];
	return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
	cp = s[0] & 0x1f;
	n = 2;
    } else if ((s[0] & 0xf0) == 0xe0) {
	cp = s[0] & 0x0f;
	n = 3;
    } else if ((s[0] & 0xf8) == 0xf0) {
	cp = s[0] & 0x07;
	n = 4;
    } else
	return 0;
    if (len < n)
	return 0;
    for (size_t i = 1; i < n; i++) {
	if ((s[i] & 0xc0) != 0x80)
	    return 0;
	cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
	|| cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
	return 0;
    *cp_r = cp;
    return n;
}

/* imap_utf8_put - append one code point as UTF-8 */
static void imap_utf8_put(VSTRING *out, uint32_t cp)
{
    if (cp < 0x80) {
	vstring_addch(out, (int) cp);
    } else if (cp < 0x800) {
	vstring_addch(out, (int) (0xc0 | (cp >> 6)));
	vstring_addch(out, (int) (0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
	vstring_addch(out, (int) (0xe0 | (cp >> 12)));
	vstring_addch(out, (int) (0x80 | ((cp >> 6) & 0x3f)));
	vstring_addch(out, (int) (0x80 | (cp & 0x3f)));
    } else {
	vstring_addch(out, (int) (0xf0 | (cp >> 18)));
	vstring_addch(out, (int) (0x80 | ((cp >> 12) & 0x3f)));
	vstring_addch(out, (int) (0x80 | ((cp >> 6) & 0x3f)));
	vstring_addch(out, (int) (0x80 | (cp & 0x3f)));
    }
}

/* imap_utf8_is_valid - strict UTF-8 check */
int     imap_utf8_is_valid(const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *) src;
    uint32_t cp;
    size_t  n;

    while (len > 0) {
	if ((n = imap_utf8_next(s, len, &cp)) == 0)
	    return 0;
	s += n;
	len -= n;
    }
    return 1;
}

/* imap_utf8_to_utf7 - encode */
int     imap_utf8_to_utf7(const char *src, size_t len, VSTRING *out)
{
    const unsigned char *s = (const unsigned char *) src;
    uint32_t cp, bits = 0;
    int     nbits = 0;
    bool    shifted = false;
    size_t  n;

    while (len > 0) {
	if ((n = imap_utf8_next(s, len, &cp)) == 0)
	    return -1;
	s += n;
	len -= n;
	if (cp >= 0x20 && cp <= 0x7e) {
	    if (shifted) {
		if (nbits > 0)
		    vstring_addch(out, imap_utf7_b64[(bits << (6 - nbits)) & 0x3f]);
		vstring_addch(out, '-');
		shifted = false;
		nbits = 0;
		bits = 0;
	    }
	    if (cp == '&')
		vstring_cat(out, "&-");
	    else
		vstring_addch(out, (int) cp);
	    continue;
	}
	if (!shifted) {
	    vstring_addch(out, '&');
	    shifted = true;
	}
	uint16_t units[2];
	int     nunits;

	if (cp >= 0x10000) {
	    cp -= 0x10000;
	    units[0] = (uint16_t) (0xd800 | (cp >> 10));
	    units[1] = (uint16_t) (0xdc00 | (cp & 0x3ff));
	    nunits = 2;
	} else {
	    units[0] = (uint16_t) cp;
	    nunits = 1;
	}
	for (int u = 0; u < nunits; u++) {
	    bits = (bits << 16) | units[u];
	    nbits += 16;
	    while (nbits >= 6) {
		nbits -= 6;
		vstring_addch(out, imap_utf7_b64[(bits >> nbits) & 0x3f]);
	    }
	    bits &= (1u << nbits) - 1;
	}
    }
    if (shifted) {
	if (nbits > 0)
	    vstring_addch(out, imap_utf7_b64[(bits << (6 - nbits)) & 0x3f]);
	vstring_addch(out, '-');
    }
    return 0;
}

/* imap_utf7_to_utf8 - decode */
int     imap_utf7_to_utf8(const char *src, size_t len, VSTRING *out)
{
    const unsigned char *s = (const unsigned char *) src, *end = s + len;
    bool    last_was_shift = false;

    while (s < end) {
	if (*s < 0x20 || *s > 0x7e)
	    return -1;
	if (*s != '&') {
	    vstring_addch(out, *s++);
	    last_was_shift = false;
	    continue;
	}
	s++;
	if (s < end && *s == '-') {
	    vstring_addch(out, '&');
	    s++;
	    last_was_shift = false;
	    continue;
	}
	/* Two shifted runs back to back are not the canonical form. */
	if (last_was_shift)
	    return -1;
	uint32_t bits = 0, high = 0;
	int     nbits = 0, nchars = 0;

	while (s < end && *s != '-') {
	    int     v = imap_utf7_b64val(*s);

	    if (v < 0)
		return -1;
	    s++;
	    nchars++;
	    bits = (bits << 6) | (uint32_t) v;
	    nbits += 6;
	    if (nbits >= 16) {
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;

		bits &= (1u << nbits) - 1;
		if (high) {
		    if (unit < 0xdc00 || unit > 0xdfff)
			return -1;
		    imap_utf8_put(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
		    high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
		    high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
		    return -1;
		} else if (unit >= 0x20 && unit <= 0x7e) {
		    return -1;		/* must have been written directly */
		} else {
		    imap_utf8_put(out, unit);
		}
	    }
	}
	if (s >= end || nchars == 0 || high || nbits >= 6 || bits != 0)
	    return -1;
	s++;					/* the '-' */
	last_was_shift = true;
    }
    return 0;
}

/* imap_utf7_is_valid - decode into scratch and report */
int     imap_utf7_is_valid(const char *src, size_t len)
{
    VSTRING *tmp = vstring_alloc(len + 16);
    int     ok = imap_utf7_to_utf8(src, len, tmp) == 0;

    vstring_free(&tmp);
    return ok;
}
