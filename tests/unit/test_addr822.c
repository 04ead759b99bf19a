/* test_addr822 - address-list extraction and local-part quoting. */
#include "sys_defs.h"

#include <string.h>

#include "addr822.h"
#include "argv.h"
#include "msg.h"
#include "mymalloc.h"
#include "unit.h"
#include "vstring.h"

/* Each case: header value, then the expected addresses joined by "|". */
static const char *const cases[][2] = {
    {"a@example.com", "a@example.com"},
    {"  a@example.com  ,b@example.org", "a@example.com|b@example.org"},
    {"John Doe <john@example.com>", "john@example.com"},
    {"\"Doe, John\" <john@example.com>, jane@example.com", "john@example.com|jane@example.com"},
    {"john@example.com (John Doe), x@y", "john@example.com|x@y"},
    {"(comment (nested) here) a@b", "a@b"},
    {"\"a b\"@example.com", "a b@example.com"},
    {"\"a\\\"q\"@example.com", "a\"q@example.com"},
    {"<@relay1,@relay2:user@example.com>", "user@example.com"},
    {"undisclosed-recipients:;", ""},
    {"Friends: a@b, \"C\" <c@d>; e@f", "a@b|c@d|e@f"},
    {"a@[127.0.0.1]", "a@[127.0.0.1]"},
    {"a@example.com,\r\n\tb@example.com", "a@example.com|b@example.com"},
    {"<>", ""},
    {"", ""},
    {",,,", ""},
    {"user", "user"},
    {"<a@b", "a@b"},
    {"\"unterminated <a@b>", "unterminated <a@b>"},
    {"a@b>, c@d", "a@b|c@d"},
    {"(unterminated comment a@b", ""},
    {"Name <a@b>, <c@d> (x)", "a@b|c@d"},
    {"first.last@sub.example.com", "first.last@sub.example.com"},
};

/* joined - the list as "a|b|c" */
static char *joined(ARGV *av)
{
    return argv_join(av, "|");
}

TEST(test_parse_cases)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	ARGV   *av = argv_alloc(4);
	int     skipped = -1;
	int     n = addr822_parse_list(av, cases[i][0], strlen(cases[i][0]), 100, &skipped);
	char   *got = joined(av);

	if (strcmp(got, cases[i][1]) != 0)
	    UNIT_FAIL("case %zu \"%s\": got \"%s\", expected \"%s\"", i, cases[i][0], got,
		      cases[i][1]);
	CHECK_INT(n, av->argc);
	CHECK_INT(skipped, 0);
	myfree(got);
	argv_free(&av);
    }
}

TEST(test_bounds)
{
    ARGV   *av = argv_alloc(4);
    VSTRING *big = vstring_alloc(100);
    int     skipped;

    CHECK_INT(addr822_parse_list(av, "a@b, c@d, e@f", 13, 2, &skipped), 2);
    CHECK_INT(skipped, 1);
    argv_truncate(av, 0);
    for (int i = 0; i < ADDR822_MAX_LEN + 10; i++)
	vstring_addch(big, 'x');
    vstring_cat(big, "@example.com, ok@example.com");
    CHECK_INT(addr822_parse_list(av, STR(big), LEN(big), 100, &skipped), 1);
    CHECK_INT(skipped, 1);
    CHECK_STR(av->argv[0], "ok@example.com");
    /* embedded NULs are white space */
    argv_truncate(av, 0);
    CHECK_INT(addr822_parse_list(av, "a@b\0c@d", 7, 100, NULL), 1);
    CHECK_STR(av->argv[0], "a@bc@d");
    CHECK_PANICS(addr822_parse_list(NULL, "x", 1, 1, NULL));
    vstring_free(&big);
    argv_free(&av);
}

TEST(test_quote)
{
    VSTRING *out = vstring_alloc(10);

    CHECK_STR(addr822_quote(out, "a@example.com"), "a@example.com");
    CHECK_STR(addr822_quote(out, "a b@example.com"), "\"a b\"@example.com");
    CHECK_STR(addr822_quote(out, "a\"q@x"), "\"a\\\"q\"@x");
    CHECK_STR(addr822_quote(out, "back\\slash@x"), "\"back\\\\slash\"@x");
    CHECK_STR(addr822_quote(out, ".lead@x"), "\".lead\"@x");
    CHECK_STR(addr822_quote(out, "a..b@x"), "\"a..b\"@x");
    CHECK_STR(addr822_quote(out, "odd@local@x"), "\"odd@local\"@x");
    CHECK_STR(addr822_quote(out, "@x"), "\"\"@x");
    CHECK_STR(addr822_quote(out, ""), "");
    CHECK_STR(addr822_quote(out, "postmaster"), "postmaster");
    CHECK_STR(addr822_quote(out, "us er"), "\"us er\"");
    CHECK_STR(addr822_unquote(out, "\"a b\"@example.com"), "a b@example.com");
    CHECK_STR(addr822_unquote(out, "\"a\\\"q\"@x"), "a\"q@x");
    CHECK_STR(addr822_unquote(out, "plain@x"), "plain@x");
    CHECK_STR(addr822_unquote(out, "\"unterminated@x"), "unterminated@x");
    CHECK_STR(addr822_unquote(out, "\"trail\\"), "trail\\");
    /* round trip */
    {
	static const char *const rt[] = {"a b@x", "a\"b\\c@x", "x.y@z", "odd@local@x"};
	VSTRING *q = vstring_alloc(10);

	for (size_t i = 0; i < PH_ARRAY_LEN(rt); i++) {
	    addr822_quote(q, rt[i]);
	    CHECK_STR(addr822_unquote(out, STR(q)), rt[i]);
	}
	vstring_free(&q);
    }
    CHECK(addr822_local_needs_quote("", 0));
    CHECK(!addr822_local_needs_quote("a.b", 3));
    CHECK(addr822_local_needs_quote("a.", 2));
    vstring_free(&out);
}

int main(void)
{
    msg_init("test_addr822", MSG_TO_STDERR);
    RUN(test_parse_cases);
    RUN(test_bounds);
    RUN(test_quote);
    return unit_done();
}
