/* test_transport - transport_maps lookups and result parsing (transport(5)).
 *
 * The table is inline: (no files); expected values are written out by
 * hand from transport(5)'s rules.
 */
#include "sys_defs.h"

#include <string.h>

#include "config.h"
#include "msg.h"
#include "resolve.h"
#include "transport.h"
#include "vstring.h"
#include "unit.h"

/* load - set transport_maps and reload */
static void load(const char *maps)
{
    const char *error;

    config_set_dir("/nonexistent");
    config_override("myhostname", "mail.example.com");
    config_override("mydomain", "example.com");
    config_override("mydestination", "$myhostname, localhost");
    config_override("relayhost", "");
    config_override("recipient_delimiter", "+");
    config_override("transport_maps", maps);
    if (config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &error) < 0)
	msg_fatal("%s", error);
    resolve_reset();
}

typedef struct {
    const char *rcpt;
    int     rc;
    const char *transport;		/* after, starting from "smtp" */
    const char *nexthop;		/* after, starting from "default.hop" */
} CASE;

static const char *table =
    "inline:{ example.net=smtp:[mx.example.net]:2525, "
    ".sub.example.net=relay:[gw.example.net], "
    "user@example.org=lmtp:unix:/run/lmtp, "
    "example.org=lmtp:inet:mailhost:24, "
    "{ bounce.example=error:5.7.1 go away }, "
    "void.example=discard:, "
    "keep.example=:, "
    "hop.example=:[other.hop], "
    "tr.example=local, "
    "tr2.example=relay:, "
    "ctl.example=smtp:[a]\x01 }";

TEST(test_lookup_order)
{
    static const CASE cases[] = {
	{"a@example.net", 1, "smtp", "[mx.example.net]:2525"},
	{"a@EXAMPLE.NET", 1, "smtp", "[mx.example.net]:2525"},
	{"a@x.sub.example.net", 1, "relay", "[gw.example.net]"},
	{"a@y.x.sub.example.net", 1, "relay", "[gw.example.net]"},
	{"a@sub.example.net", 0, "smtp", "default.hop"},	/* ".sub" is subdomains only */
	{"a@sub2.example.net", 0, "smtp", "default.hop"},	/* example.net: no parent match */
	{"user@example.org", 1, "lmtp", "unix:/run/lmtp"},
	{"user+ext@example.org", 1, "lmtp", "unix:/run/lmtp"},
	{"other@example.org", 1, "lmtp", "inet:mailhost:24"},
	{"a@bounce.example", 1, "error", "5.7.1 go away"},
	{"a@void.example", 1, "discard", "void.example"},
	{"a@keep.example", 0, "smtp", "default.hop"},
	{"a@hop.example", 1, "smtp", "[other.hop]"},
	{"a@tr.example", 1, "local", "tr.example"},
	{"a@tr2.example", 1, "relay", "tr2.example"},
	{"a@nowhere.example", 0, "smtp", "default.hop"},
	{"a@ctl.example", -1, "smtp", "default.hop"},
    };
    VSTRING *t = vstring_alloc(10), *n = vstring_alloc(10);
    const char *error;

    load(table);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	vstring_set(t, "smtp");
	vstring_set(n, "default.hop");
	error = NULL;
	int rc = transport_lookup(cases[i].rcpt, t, n, &error);

	if (rc != cases[i].rc)
	    UNIT_FAIL("%s: rc %d, expected %d", cases[i].rcpt, rc, cases[i].rc);
	if (strcmp(STR(t), cases[i].transport) || strcmp(STR(n), cases[i].nexthop))
	    UNIT_FAIL("%s: %s:%s, expected %s:%s", cases[i].rcpt, STR(t), STR(n),
		      cases[i].transport, cases[i].nexthop);
	if (rc < 0)
	    CHECK(error != NULL);
    }
    vstring_free(&t);
    vstring_free(&n);
}

TEST(test_wildcard)
{
    VSTRING *t = vstring_alloc(10), *n = vstring_alloc(10);
    const char *error;

    load("inline:{ example.net=smtp:[a], *=relay:[smarthost]:587 }");
    vstring_set(t, "smtp");
    vstring_set(n, "x");
    CHECK_INT(transport_lookup("u@example.net", t, n, &error), 1);
    CHECK_STR(STR(n), "[a]");
    CHECK_INT(transport_lookup("u@elsewhere.example", t, n, &error), 1);
    CHECK_STR(STR(t), "relay");
    CHECK_STR(STR(n), "[smarthost]:587");
    vstring_free(&t);
    vstring_free(&n);
}

TEST(test_no_maps)
{
    VSTRING *t = vstring_alloc(10), *n = vstring_alloc(10);
    const char *error;

    load("");
    vstring_set(t, "smtp");
    vstring_set(n, "x");
    CHECK_INT(transport_lookup("u@example.net", t, n, &error), 0);
    CHECK_STR(STR(t), "smtp");
    vstring_free(&t);
    vstring_free(&n);
}

TEST(test_resolve_uses_maps)
{
    RESOLVE_REPLY *r = resolve_reply_alloc();

    load("inline:{ example.net=smtp:[mx.example.net]:2525, mail.example.com=lmtp:unix:/x }");
    resolve_addr("u@example.net", r);
    CHECK_STR(STR(r->transport), "smtp");
    CHECK_STR(STR(r->nexthop), "[mx.example.net]:2525");
    resolve_addr("u@mail.example.com", r);
    CHECK_INT(r->class, RESOLVE_CLASS_LOCAL);
    CHECK_STR(STR(r->transport), "lmtp");
    CHECK_STR(STR(r->nexthop), "unix:/x");
    resolve_addr("u@other.example", r);
    CHECK_STR(STR(r->transport), "smtp");
    CHECK_STR(STR(r->nexthop), "other.example");
    /* A table that cannot be opened: lookups fail, the recipient defers. */
    load("texthash:/nonexistent/transport");
    resolve_addr("u@example.net", r);
    CHECK(r->flags & RESOLVE_FLAG_FAIL);
    resolve_reply_free(&r);
}

TEST(test_parse_hostile)
{
    VSTRING *t = vstring_alloc(10), *n = vstring_alloc(10);
    const char *error;
    char big[2000];

    CHECK_INT(transport_parse("smtp:[h]:25", t, n, &error), 0);
    CHECK_STR(STR(t), "smtp");
    CHECK_STR(STR(n), "[h]:25");
    CHECK_INT(transport_parse("  lmtp:unix:/a:b  ", t, n, &error), 0);
    CHECK_STR(STR(t), "lmtp");
    CHECK_STR(STR(n), "unix:/a:b");
    CHECK_INT(transport_parse("", t, n, &error), 0);
    CHECK_STR(STR(t), "");
    CHECK_STR(STR(n), "");
    CHECK_INT(transport_parse(":::", t, n, &error), 0);
    CHECK_STR(STR(n), "::");
    CHECK_INT(transport_parse("a\rb:c", t, n, &error), -1);
    CHECK_INT(transport_parse("a b:c", t, n, &error), -1);
    CHECK_INT(transport_parse("../x:c", t, n, &error), -1);
    CHECK_INT(transport_parse("[x]", t, n, &error), -1);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK_INT(transport_parse(big, t, n, &error), -1);
    vstring_free(&t);
    vstring_free(&n);
}

/* main - run the tests */
int main(void)
{
    msg_init("test_transport", 0);
    RUN(test_lookup_order);
    RUN(test_wildcard);
    RUN(test_no_maps);
    RUN(test_resolve_uses_maps);
    RUN(test_parse_hostile);
    return unit_done();
}
