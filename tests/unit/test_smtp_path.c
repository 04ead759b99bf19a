/* test_smtp_path - RFC 5321 path parser and xtext unit tests, with hostile input. */
#include "sys_defs.h"

#include <string.h>

#include "smtp_path.h"
#include "vstring.h"
#include "unit.h"

#define NUL_OK SMTP_PATH_FLAG_NULL_OK
#define UTF8   SMTP_PATH_FLAG_UTF8
#define STRICT SMTP_PATH_FLAG_STRICT
#define LOCAL  SMTP_PATH_FLAG_LOCAL_OK

struct good_case {
    const char *in;
    int     flags;
    const char *given;
    const char *addr;
    const char *rest;
};

static const struct good_case good[] = {
    {"<user@example.com>", 0, "user@example.com", "user@example.com", ""},
    {"<user@example.com> SIZE=10", 0, "user@example.com", "user@example.com", " SIZE=10"},
    {"<>", NUL_OK, "", "", ""},
    {"<> BODY=8BITMIME", NUL_OK, "", "", " BODY=8BITMIME"},
    {"user@example.com SIZE=1", 0, "user@example.com", "user@example.com", " SIZE=1"},
    {"<@a.example,@b.example:user@c.example>", 0, "@a.example,@b.example:user@c.example", "user@c.example", ""},
    {"<@a.example:user@c.example>", 0, "@a.example:user@c.example", "user@c.example", ""},
    {"<\"john doe\"@example.com>", 0, "\"john doe\"@example.com", "\"john doe\"@example.com", ""},
    {"<\"a\\\"b>c\"@example.com>", 0, "\"a\\\"b>c\"@example.com", "\"a\\\"b>c\"@example.com", ""},
    {"<\"x@y\"@example.com>", 0, "\"x@y\"@example.com", "\"x@y\"@example.com", ""},
    {"<user@[127.0.0.1]>", 0, "user@[127.0.0.1]", "user@[127.0.0.1]", ""},
    {"<user@[IPv6:::1]>", 0, "user@[IPv6:::1]", "user@[IPv6:::1]", ""},
    {"<postmaster>", LOCAL, "postmaster", "postmaster", ""},
    {"<a.b+c/d=e!f#g$h%i&j'k*l?m^n_o`p{q|r}s~t@x-y.example>", 0,
     "a.b+c/d=e!f#g$h%i&j'k*l?m^n_o`p{q|r}s~t@x-y.example",
     "a.b+c/d=e!f#g$h%i&j'k*l?m^n_o`p{q|r}s~t@x-y.example", ""},
    {"<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", UTF8, "j\xc3\xb6rg@b\xc3\xbc" "cher.example",
     "j\xc3\xb6rg@b\xc3\xbc" "cher.example", ""},
};

struct bad_case {
    const char *in;
    int     flags;
};

static const struct bad_case bad[] = {
    {"<>", 0},				/* null path not allowed for RCPT */
    {"", NUL_OK},
    {"<user@example.com", 0},		/* missing > */
    {"<user@example.com> ", STRICT},	/* fine; replaced below */
    {"user@example.com", STRICT},
    {"<user>", 0},			/* no domain */
    {"<@example.com>", 0},
    {"<user@>", 0},
    {"<user@@example.com>", 0},
    {"<.user@example.com>", 0},
    {"<user.@example.com>", 0},
    {"<us..er@example.com>", 0},
    {"<us er@example.com>", 0},
    {"<user@exa mple.com>", 0},
    {"<user@example..com>", 0},
    {"<user@.example.com>", 0},
    {"<user@-example.com>", 0},
    {"<user@example-.com>", 0},
    {"<user@[1.2.3]>", 0},
    {"<user@[1.2.3.4>", 0},
    {"<user@[IPv6:zz]>", 0},
    {"<user@[]>", 0},
    {"<\"unterminated@example.com>", 0},
    {"<\"a\\", 0},
    {"<\"a\x01\"@example.com>", 0},
    {"<user\x7f@example.com>", 0},
    {"<j\xc3\xb6rg@example.com>", 0},	/* 8-bit without SMTPUTF8 */
    {"<j\xc3rg@example.com>", UTF8},	/* malformed UTF-8 */
    {"<\xed\xa0\x80@example.com>", UTF8},	/* surrogate */
    {"<\xc0\xaf@example.com>", UTF8},	/* overlong */
    {"<@a.example,user@c.example>", 0},	/* route without colon */
    {"<@a.example,:user@c.example>", 0},
    {"<@:user@c.example>", 0},
    {"<@a..example:user@c.example>", 0},
    {"<a<b@example.com>", 0},
    {"<user@example.com>>", 0},		/* handled: rest ">" is the caller's */
};

TEST(test_good)
{
    SMTP_PATH *p = smtp_path_alloc();
    size_t  i;

    for (i = 0; i < PH_ARRAY_LEN(good); i++) {
	const char *end = NULL;
	const char *err = NULL;

	if (smtp_path_parse(p, good[i].in, good[i].flags, &end, &err) != 0) {
	    UNIT_FAIL("case %zu \"%s\": %s", i, good[i].in, err);
	    continue;
	}
	CHECK_STR(STR(p->given), good[i].given);
	CHECK_STR(STR(p->addr), good[i].addr);
	CHECK_STR(end, good[i].rest);
    }
    smtp_path_parse(p, "<@a.example:u@b.example>", 0, NULL, &(const char *) {0});
    CHECK(p->has_route);
    CHECK(p->has_domain);
    smtp_path_parse(p, "<>", NUL_OK, NULL, &(const char *) {0});
    CHECK(p->is_null);
    smtp_path_free(&p);
    CHECK(p == NULL);
}

TEST(test_bad)
{
    SMTP_PATH *p = smtp_path_alloc();
    size_t  i;

    for (i = 0; i < PH_ARRAY_LEN(bad); i++) {
	const char *err = NULL;
	const char *end = NULL;
	int     ret = smtp_path_parse(p, bad[i].in, bad[i].flags, &end, &err);

	if (i == 3) {				/* the strict form with brackets is fine */
	    CHECK_INT(ret, 0);
	    continue;
	}
	if (strcmp(bad[i].in, "<user@example.com>>") == 0) {
	    CHECK_INT(ret, 0);
	    CHECK_STR(end, ">");
	    continue;
	}
	if (ret == 0)
	    UNIT_FAIL("case %zu \"%s\" accepted", i, bad[i].in);
	else
	    CHECK(err != NULL && *err);
    }
    smtp_path_free(&p);
}

TEST(test_lengths)
{
    SMTP_PATH *p = smtp_path_alloc();
    VSTRING *buf = vstring_alloc(100);
    const char *err;
    size_t  i;

    /* local part at the limit, and one past it */
    vstring_set(buf, "<");
    for (i = 0; i < SMTP_PATH_LOCAL_MAX; i++)
	vstring_addch(buf, 'a');
    vstring_cat(buf, "@example.com>");
    CHECK_INT(smtp_path_parse(p, STR(buf), 0, NULL, &err), 0);
    vstring_set(buf, "<a");
    for (i = 0; i < SMTP_PATH_LOCAL_MAX; i++)
	vstring_addch(buf, 'a');
    vstring_cat(buf, "@example.com>");
    CHECK_INT(smtp_path_parse(p, STR(buf), 0, NULL, &err), -1);

    /* a 64-byte label */
    vstring_set(buf, "<a@");
    for (i = 0; i < 64; i++)
	vstring_addch(buf, 'b');
    vstring_cat(buf, ".example>");
    CHECK_INT(smtp_path_parse(p, STR(buf), 0, NULL, &err), -1);

    /* a domain over 255 bytes */
    vstring_set(buf, "<a@");
    for (i = 0; i < 30; i++)
	vstring_cat(buf, "abcdefghi.");
    vstring_cat(buf, "example>");
    CHECK_INT(smtp_path_parse(p, STR(buf), 0, NULL, &err), -1);

    /* a huge path */
    vstring_set(buf, "<");
    for (i = 0; i < 100000; i++)
	vstring_addch(buf, 'a');
    vstring_cat(buf, "@example.com>");
    CHECK_INT(smtp_path_parse(p, STR(buf), 0, NULL, &err), -1);
    CHECK_STR(err, "address too long");
    vstring_free(&buf);
    smtp_path_free(&p);
}

TEST(test_xtext)
{
    VSTRING *out = vstring_alloc(10);

    CHECK_INT(smtp_xtext_decode(out, "abc+2Bdef+3D"), 0);
    CHECK_STR(STR(out), "abc+def=");
    CHECK_INT(smtp_xtext_decode(out, "rfc822;user+40example.com"), 0);
    CHECK_STR(STR(out), "rfc822;user@example.com");
    CHECK_INT(smtp_xtext_decode(out, "a+2"), -1);
    CHECK_INT(smtp_xtext_decode(out, "a+"), -1);
    CHECK_INT(smtp_xtext_decode(out, "a+2b"), -1);	/* lower-case hex */
    CHECK_INT(smtp_xtext_decode(out, "a=b"), -1);
    CHECK_INT(smtp_xtext_decode(out, "a b"), -1);
    CHECK_INT(smtp_xtext_decode(out, "a\x80"), -1);
    CHECK(smtp_xtext_valid("QQ12345"));
    CHECK(!smtp_xtext_valid("QQ+ZZ"));
    vstring_free(&out);
}

TEST(test_utf8)
{
    CHECK(smtp_utf8_valid("abc", 3));
    CHECK(smtp_utf8_valid("\xe2\x82\xac", 3));
    CHECK(smtp_utf8_valid("\xf0\x9f\x98\x80", 4));
    CHECK(!smtp_utf8_valid("\xe2\x82", 2));
    CHECK(!smtp_utf8_valid("\xf5\x80\x80\x80", 4));
    CHECK(!smtp_utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
    CHECK(!smtp_utf8_valid("\xe0\x80\x80", 3));	/* overlong */
    CHECK(!smtp_utf8_valid("\x80", 1));
}

TEST(test_panics)
{
    CHECK_PANICS(smtp_path_parse(NULL, "<a@b>", 0, NULL, &(const char *) {0}));
}

int     main(void)
{
    RUN(test_good);
    RUN(test_bad);
    RUN(test_lengths);
    RUN(test_xtext);
    RUN(test_utf8);
    RUN(test_panics);
    return unit_done();
}
