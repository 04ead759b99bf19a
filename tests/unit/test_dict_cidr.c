/* test_dict_cidr - cidr: tables and the CIDR parser, incl. IPv6 corners. */
#include "sys_defs.h"

#include <sys/socket.h>

#include "cidr_match.h"
#include "dict.h"
#include "msg.h"
#include "unit.h"
#include "dict_tmp.h"

/* open_cidr - open a cidr table with text, or NULL (error printed) */
static DICT *open_cidr(const char *text)
{
    static int n;
    char    name[32], spec[300];
    const char *why;
    DICT   *d;

    snprintf(name, sizeof(name), "c%d", n++);
    snprintf(spec, sizeof(spec), "cidr:%s", dict_tmp_text(name, text));
    if ((d = dict_open(spec, O_RDONLY, 0, &why)) == NULL)
	fprintf(stderr, "%s\n", why);
    return d;
}

/* cidr_error - open error for text */
static const char *cidr_error(const char *text)
{
    static int n;
    char    name[32], spec[300];

    snprintf(name, sizeof(name), "cb%d", n++);
    snprintf(spec, sizeof(spec), "cidr:%s", dict_tmp_text(name, text));
    return dict_tmp_open_err(spec);
}

TEST(test_first_match)
{
    DICT   *d = open_cidr("# nets\n"
			  "192.0.2.0/25   low\n"
			  "192.0.2.0/24   whole\n"
			  "198.51.100.7   one\n"
			  "2001:db8::/32  v6\n"
			  "::1            loop6\n"
			  "0.0.0.0/0      any4\n");

    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "192.0.2.1"), "low");
    CHECK_STR(dict_tmp_get(d, "192.0.2.200"), "whole");
    CHECK_STR(dict_tmp_get(d, "198.51.100.7"), "one");
    CHECK_STR(dict_tmp_get(d, "198.51.100.8"), "any4");
    CHECK_STR(dict_tmp_get(d, "2001:DB8::5"), "v6");
    CHECK_STR(dict_tmp_get(d, "2001:db9::5"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, "::1"), "loop6");
    CHECK_STR(dict_tmp_get(d, "::ffff:192.0.2.1"), "low");	/* mapped -> IPv4 */
    CHECK_STR(dict_tmp_get(d, "::ffff:127.0.0.1"), "any4");
    CHECK_STR(dict_tmp_get(d, "[192.0.2.1]"), "low");
    CHECK_STR(dict_tmp_get(d, "not an address"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, ""), "<notfound>");
    CHECK_STR(dict_tmp_get(d, "1.2.3"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, "1.2.3.4.5"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, "::ffff:1.2.3.4.5"), "<notfound>");
    dict_close(&d);
}

TEST(test_if_and_negation)
{
    DICT   *d = open_cidr("if 10.0.0.0/8\n"
			  "if !10.1.0.0/16\n"
			  "10.0.0.0/8 ten-not-one\n"
			  "endif\n"
			  "10.1.2.0/24 ten-one-two\n"
			  "endif\n"
			  "!127.0.0.0/8 not-loopback\n");

    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "10.2.3.4"), "ten-not-one");
    CHECK_STR(dict_tmp_get(d, "10.1.2.3"), "ten-one-two");
    CHECK_STR(dict_tmp_get(d, "10.1.3.3"), "not-loopback");
    CHECK_STR(dict_tmp_get(d, "127.0.0.1"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, "::1"), "not-loopback");
    dict_close(&d);
}

TEST(test_errors)
{
    const char *e;

    e = cidr_error("192.0.2.1/24 x\n");
    CHECK(strstr(e, "line 1: non-null host address bits in \"192.0.2.1/24\", perhaps you should use \"192.0.2.0/24\" instead") != NULL);
    e = cidr_error("# c\n2001:db8::1/32 x\n");
    CHECK(strstr(e, "line 2: non-null host address bits") != NULL && strstr(e, "2001:db8::/32") != NULL);
    e = cidr_error("192.0.2.0/33 x\n");
    CHECK(strstr(e, "bad network mask") != NULL);
    e = cidr_error("::/129 x\n");
    CHECK(strstr(e, "bad network mask") != NULL);
    e = cidr_error("192.0.2.0/-1 x\n");
    CHECK(strstr(e, "bad network mask") != NULL);
    e = cidr_error("192.0.2.0/ x\n");
    CHECK(strstr(e, "bad network mask") != NULL);
    e = cidr_error("300.0.0.0/8 x\n");
    CHECK(strstr(e, "bad network address") != NULL);
    e = cidr_error("example.com x\n");
    CHECK(strstr(e, "bad network address") != NULL);
    e = cidr_error("192.0.2.0/24\n");
    CHECK(strstr(e, "no result") != NULL);
    e = cidr_error("endif\n");
    CHECK(strstr(e, "line 1: endif without matching if") != NULL);
    e = cidr_error("a 1\n");
    CHECK(strstr(e, "line 1:") != NULL);
    e = cidr_error("\n\nif 10.0.0.0/8\n10.0.0.0/8 x\n");
    CHECK(strstr(e, "line 3: if without matching endif") != NULL);
    e = cidr_error("1:2:3:4:5:6:7:8:9 x\n");
    CHECK(strstr(e, "bad network address") != NULL);
}

TEST(test_parser_mapped_patterns)
{
    CIDR_MATCH cm;
    VSTRING *why = vstring_alloc(100);
    unsigned char a[16];
    int     fam;

    CHECK_INT(cidr_match_parse(&cm, "::ffff:192.0.2.0/120", why), 0);
    CHECK_INT(cm.family, AF_INET);
    CHECK_INT(cm.prefix, 24);
    CHECK_INT(cidr_match_addr("192.0.2.9", &fam, a), 0);
    CHECK(cidr_match_execute(&cm, fam, a));
    CHECK_INT(cidr_match_parse(&cm, "[::1]/128", why), 0);
    CHECK_INT(cm.family, AF_INET6);
    CHECK_INT(cidr_match_parse(&cm, "[::1]", why), 0);
    CHECK_INT(cidr_match_addr("::1", &fam, a), 0);
    CHECK(cidr_match_execute(&cm, fam, a));
    CHECK_INT(cidr_match_parse(&cm, "::/0", why), 0);
    CHECK_INT(cidr_match_addr("::ffff:10.0.0.1", &fam, a), 0);
    CHECK_INT(fam, AF_INET);			/* unmapped: ::/0 does not cover it */
    CHECK(!cidr_match_execute(&cm, fam, a));
    CHECK_INT(cidr_match_addr("[ipv6:2001:db8::1]", &fam, a), 0);
    CHECK_INT(fam, AF_INET6);
    CHECK_INT(cidr_match_addr("[]", &fam, a), -1);
    CHECK_INT(cidr_match_addr("[", &fam, a), -1);
    CHECK_INT(cidr_match_parse(&cm, "/24", why), -1);
    CHECK_INT(cidr_match_parse(&cm, "[::1/128", why), -1);
    vstring_free(&why);
}

int     main(void)
{
    msg_init("test_dict_cidr", 0);
    RUN(test_first_match);
    RUN(test_if_and_negation);
    RUN(test_errors);
    RUN(test_parser_mapped_patterns);
    dict_tmp_cleanup();
    return unit_done();
}
