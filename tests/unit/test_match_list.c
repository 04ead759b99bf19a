/* test_match_list - domain and host/address lists. */
#include "sys_defs.h"

#include "config.h"
#include "match_list.h"
#include "msg.h"
#include "unit.h"
#include "dict_tmp.h"

/* m - match result for a fresh list */
static int m(const char *feature, const char *patterns, int flags, const char *name, const char *addr)
{
    const char *why;
    MATCH_LIST *list = match_list_create(feature, patterns, flags, &why);
    int     r;

    if (list == NULL)
	return -2;
    r = match_list_match(list, name, addr, &why);
    match_list_free(&list);
    return r;
}

TEST(test_domains)
{
    /* relay_domains is in parent_domain_matches_subdomains by default. */
    CHECK_INT(m("relay_domains", "example.com", 0, "example.com", NULL), 1);
    CHECK_INT(m("relay_domains", "example.com", 0, "Sub.Example.COM", NULL), 1);
    CHECK_INT(m("relay_domains", "example.com", 0, "badexample.com", NULL), 0);
    /* mydestination is not: exact names only, .domain for subdomains. */
    CHECK_INT(m("mydestination", "example.com", 0, "sub.example.com", NULL), 0);
    CHECK_INT(m("mydestination", "example.com", 0, "EXAMPLE.com", NULL), 1);
    CHECK_INT(m("mydestination", ".example.com", 0, "sub.example.com", NULL), 1);
    CHECK_INT(m("mydestination", ".example.com", 0, "example.com", NULL), 0);
    /* Negation: first match decides. */
    CHECK_INT(m("relay_domains", "!bad.example.com, example.com", 0, "bad.example.com", NULL), 0);
    CHECK_INT(m("relay_domains", "!bad.example.com, example.com", 0, "good.example.com", NULL), 1);
    CHECK_INT(m("relay_domains", "example.com !x.example.com", 0, "x.example.com", NULL), 1);
    CHECK_INT(m("mydestination", "", 0, "example.com", NULL), 0);
    CHECK_INT(m("mydestination", "localhost", 0, "", NULL), 0);
    /* Addresses are names in a domain list. */
    CHECK_INT(m("mydestination", "127.0.0.1", 0, "127.0.0.1", NULL), 1);
}

TEST(test_tables_and_files)
{
    const char *file = dict_tmp_text("domains", "# my domains\nfile.example\n!no.example other.example\n");
    char    pat[300];

    CHECK_INT(m("relay_domains", "inline:{ tab.example=ok }", 0, "tab.example", NULL), 1);
    CHECK_INT(m("relay_domains", "inline:{ tab.example=ok }", 0, "a.b.tab.example", NULL), 1);
    CHECK_INT(m("mydestination", "inline:{ tab.example=ok }", 0, "a.tab.example", NULL), 0);
    CHECK_INT(m("mydestination", "inline:{ .tab.example=ok }", 0, "a.tab.example", NULL), 1);
    CHECK_INT(m("mydestination", "fail:x", 0, "a.example", NULL), -1);
    snprintf(pat, sizeof(pat), "%s", file);
    CHECK_INT(m("mydestination", pat, 0, "file.example", NULL), 1);
    CHECK_INT(m("mydestination", pat, 0, "other.example", NULL), 1);
    CHECK_INT(m("mydestination", pat, 0, "no.example", NULL), 0);
    CHECK_INT(m("mydestination", "/nonexistent/file", 0, "x", NULL), -2);
    /* A file that includes itself is bounded. */
    {
	const char *self = dict_tmp_path("self");
	char    text[300];

	snprintf(text, sizeof(text), "%s\n", self);
	dict_tmp_text("self", text);
	CHECK_INT(m("mydestination", self, 0, "x", NULL), -2);
    }
}

TEST(test_hosts)
{
    const char *nets = "127.0.0.0/8 [::1]/128 192.0.2.0/24 [2001:db8::]/32 host.example 10.1.2.3";

    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, "", "127.0.0.1"), 1);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, NULL, "::1"), 1);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, NULL, "::ffff:127.0.0.1"), 1);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, NULL, "::2"), 0);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, NULL, "2001:db8:1::9"), 1);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, NULL, "10.1.2.3"), 1);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, NULL, "10.1.2.4"), 0);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, "HOST.example", "203.0.113.1"), 1);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, "a.host.example", "203.0.113.1"), 1);
    CHECK_INT(m("mynetworks", nets, MATCH_FLAG_HOST, "unknown", "garbage"), 0);
    CHECK_INT(m("mynetworks", "!192.0.2.7 192.0.2.0/24", MATCH_FLAG_HOST, NULL, "192.0.2.7"), 0);
    CHECK_INT(m("mynetworks", "192.0.2.1/24", MATCH_FLAG_HOST, NULL, "192.0.2.7"), -2);
    CHECK_INT(m("mynetworks", "[::1/128", MATCH_FLAG_HOST, NULL, "::1"), -2);
    CHECK_INT(m("mynetworks", "inline:{ 192.0.2.9=ok }", MATCH_FLAG_HOST, "x.example", "192.0.2.9"), 1);
    CHECK(match_list_parent_matches("smtpd_access_maps"));
    CHECK(!match_list_parent_matches("mydestination"));
}

int     main(void)
{
    msg_init("test_match_list", 0);
    RUN(test_domains);
    RUN(test_tables_and_files);
    RUN(test_hosts);
    dict_tmp_cleanup();
    return unit_done();
}
