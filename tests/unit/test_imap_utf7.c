/* test_imap_utf7 - modified UTF-7 mailbox names (RFC 3501 5.1.3). */
#include "sys_defs.h"

#include <string.h>

#include "imap_utf7.h"
#include "vstring.h"
#include "unit.h"

static const struct {
    const char *utf8;
    const char *utf7;
} cases[] = {
    {"INBOX", "INBOX"},
    {"", ""},
    {"&", "&-"},
    {"a&b", "a&-b"},
    {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-"},
    {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
     "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
    {"\xf0\x9f\x98\x80", "&2D3eAA-"},
    {"\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 & more", "&ANw-n&AO8-c&APY-d&AOk- &- more"},
    {"a\xc3\xa9\xf0\x9f\x98\x80" "b", "a&AOnYPd4A-b"},
};

TEST(table_both_ways)
{
    VSTRING *out = vstring_alloc(64);

    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	vstring_reset(out);
	CHECK_INT(imap_utf8_to_utf7(cases[i].utf8, strlen(cases[i].utf8), out), 0);
	CHECK_STR(STR(out), cases[i].utf7);
	vstring_reset(out);
	CHECK_INT(imap_utf7_to_utf8(cases[i].utf7, strlen(cases[i].utf7), out), 0);
	CHECK_STR(STR(out), cases[i].utf8);
	CHECK(imap_utf7_is_valid(cases[i].utf7, strlen(cases[i].utf7)));
    }
    vstring_free(&out);
}

TEST(bad_utf7)
{
    static const char *const bad[] = {
	"&Jjo",				/* no closing '-' */
	"&",				/* lone shift */
	"&-&",				/* trailing lone shift */
	"&AGE-",			/* 'a' must not be shifted */
	"&2D0-",			/* lone high surrogate */
	"&3gA-",			/* lone low surrogate */
	"&2D3YPQ-",			/* high surrogate followed by high */
	"&U,BTFw-&ZeVnLIqe-",		/* two shifted runs back to back */
	"&U,BTF2-",			/* non-zero padding bits */
	"&U,BTFw",			/* unterminated */
	"&U/BTFw-",			/* '/' is not modified base64 */
	"&=-",				/* not base64 */
	"tab\there",			/* control character */
	"caf\xc3\xa9",			/* 8-bit byte */
	"&AOkA-",			/* extra partial unit */
    };
    VSTRING *out = vstring_alloc(64);

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
	vstring_reset(out);
	if (imap_utf7_to_utf8(bad[i], strlen(bad[i]), out) != -1)
	    UNIT_FAIL("accepted bad utf7 \"%s\"", bad[i]);
	CHECK(!imap_utf7_is_valid(bad[i], strlen(bad[i])));
    }
    vstring_free(&out);
}

TEST(bad_utf8)
{
    static const char *const bad[] = {
	"\xc3\x28",			/* bad continuation */
	"\xc0\xaf",			/* overlong '/' */
	"\xe0\x80\xaf",			/* overlong */
	"\xed\xa0\x80",			/* surrogate */
	"\xf4\x90\x80\x80",		/* above U+10FFFF */
	"\xff",
	"abc\xe6\x97",			/* truncated */
    };
    VSTRING *out = vstring_alloc(64);

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
	vstring_reset(out);
	if (imap_utf8_to_utf7(bad[i], strlen(bad[i]), out) != -1)
	    UNIT_FAIL("accepted bad utf8 #%zu", i);
	CHECK(!imap_utf8_is_valid(bad[i], strlen(bad[i])));
    }
    vstring_free(&out);
}

/* put_utf8 - encode a code point (test-side, independent of the module) */
static size_t put_utf8(char *p, uint32_t cp)
{
    if (cp < 0x80) {
	p[0] = (char) cp;
	return 1;
    }
    if (cp < 0x800) {
	p[0] = (char) (0xc0 | (cp >> 6));
	p[1] = (char) (0x80 | (cp & 0x3f));
	return 2;
    }
    if (cp < 0x10000) {
	p[0] = (char) (0xe0 | (cp >> 12));
	p[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
	p[2] = (char) (0x80 | (cp & 0x3f));
	return 3;
    }
    p[0] = (char) (0xf0 | (cp >> 18));
    p[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    p[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    p[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}

TEST(random_round_trip)
{
    VSTRING *a = vstring_alloc(64), *b = vstring_alloc(64);
    uint32_t seed = 12345;
    char    in[256];

    for (int round = 0; round < 2000; round++) {
	size_t  len = 0;
	int     n = (int) (seed % 12);

	for (int i = 0; i < n; i++) {
	    seed = seed * 1103515245 + 12345;
	    uint32_t cp;

	    switch ((seed >> 16) % 4) {
	    case 0:
		cp = 0x20 + (seed >> 8) % 95;
		break;
	    case 1:
		cp = 0x80 + (seed >> 8) % 0x700;
		break;
	    case 2:
		cp = 0x800 + (seed >> 4) % 0xd000;
		if (cp >= 0xd800 && cp <= 0xdfff)
		    cp = 0x4e00;
		break;
	    default:
		cp = 0x10000 + (seed >> 4) % 0x100000;
		break;
	    }
	    len += put_utf8(in + len, cp);
	}
	seed = seed * 1103515245 + 12345;
	vstring_reset(a);
	vstring_reset(b);
	if (imap_utf8_to_utf7(in, len, a) != 0 || imap_utf7_to_utf8(STR(a), LEN(a), b) != 0
	    || LEN(b) != len || memcmp(STR(b), in, len) != 0) {
	    UNIT_FAIL("round trip failed in round %d", round);
	    break;
	}
	for (size_t i = 0; i < LEN(a); i++)
	    if (STR(a)[i] < 0x20 || STR(a)[i] > 0x7e) {
		UNIT_FAIL("non-ASCII output in round %d", round);
		break;
	    }
    }
    vstring_free(&a);
    vstring_free(&b);
}

int     main(void)
{
    RUN(table_both_ways);
    RUN(bad_utf7);
    RUN(bad_utf8);
    RUN(random_round_trip);
    return unit_done();
}
