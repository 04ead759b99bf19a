/* test_resolve - address classes, transports and every relay trick.
 *
 * The configuration is set with config_override (no main.cf): our domains
 * are example.com, mail.example.com and localhost; 127.0.0.1 and the proxy
 * address 192.0.2.99 are ours; relay.example is a relay domain;
 * valias.example and vmail.example are virtual domains.
 */
#include "sys_defs.h"

#include <string.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "resolve.h"
#include "vstring.h"
#include "unit.h"

/* load - apply overrides and reload */
static void load(void)
{
    const char *error;

    if (config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &error) < 0)
	msg_fatal("%s", error);
    resolve_reset();
}

/* setup - the baseline configuration */
static void setup(void)
{
    config_set_dir("/nonexistent");
    config_override("myhostname", "mail.example.com");
    config_override("mydomain", "example.com");
    config_override("myorigin", "$myhostname");
    config_override("mydestination", "$myhostname, localhost, example.com");
    config_override("inet_interfaces", "127.0.0.1");
    config_override("proxy_interfaces", "192.0.2.99");
    config_override("relay_domains", "relay.example");
    config_override("virtual_alias_domains", "valias.example");
    config_override("virtual_alias_maps", "");
    config_override("virtual_mailbox_domains", "vmail.example");
    config_override("relayhost", "");
    config_override("default_transport", "smtp");
    config_override("relay_transport", "relay");
    config_override("virtual_transport", "virtual");
    config_override("local_transport", "local:$myhostname");
    config_override("allow_percent_hack", "yes");
    config_override("swap_bangpath", "yes");
    load();
}

typedef struct {
    const char *addr;
    int     class;
    int     flags;
    const char *transport;
    const char *nexthop;
    const char *recipient;
} CASE;

#define L RESOLVE_CLASS_LOCAL
#define VA RESOLVE_CLASS_VIRTUAL_ALIAS
#define VM RESOLVE_CLASS_VIRTUAL_MAILBOX
#define R RESOLVE_CLASS_RELAY
#define D RESOLVE_CLASS_DEFAULT
#define ROUTED RESOLVE_FLAG_ROUTED
#define ERR RESOLVE_FLAG_ERROR

/* run_cases - resolve each address and compare every field */
static void run_cases(const CASE *cases, size_t n)
{
    RESOLVE_REPLY *rp = resolve_reply_alloc();

    for (size_t i = 0; i < n; i++) {
	const CASE *c = &cases[i];

	resolve_addr(c->addr, rp);
	if (rp->class != c->class || rp->flags != c->flags
	    || (c->transport && strcmp(STR(rp->transport), c->transport) != 0)
	    || (c->nexthop && strcmp(STR(rp->nexthop), c->nexthop) != 0)
	    || (c->recipient && strcmp(STR(rp->recipient), c->recipient) != 0))
	    UNIT_FAIL("%s: got class=%s flags=%d transport=%s nexthop=%s recipient=%s; "
		      "want class=%s flags=%d transport=%s nexthop=%s recipient=%s",
		      c->addr, resolve_class_name(rp->class), rp->flags, STR(rp->transport),
		      STR(rp->nexthop), STR(rp->recipient), resolve_class_name(c->class),
		      c->flags, c->transport ? c->transport : "*", c->nexthop ? c->nexthop : "*",
		      c->recipient ? c->recipient : "*");
    }
    resolve_reply_free(&rp);
    CHECK(rp == NULL);
}

TEST(test_classes)
{
    static const CASE cases[] = {
	{"alice@example.com", L, 0, "local", "mail.example.com", "alice@example.com"},
	{"alice@mail.example.com", L, 0, "local", "mail.example.com", NULL},
	{"alice@localhost", L, 0, "local", NULL, "alice@localhost"},
	{"alice", L, 0, "local", NULL, "alice@mail.example.com"},
	{"info@valias.example", VA, 0, "error", "5.1.1 User unknown in virtual alias table", NULL},
	{"user@vmail.example", VM, 0, "virtual", "vmail.example", NULL},
	{"user@relay.example", R, 0, "relay", "relay.example", NULL},
	{"user@sub.relay.example", R, 0, "relay", NULL, NULL},	/* parent matches */
	{"user@remote.test", D, 0, "smtp", "remote.test", "user@remote.test"},
	{"user@sub.example.com", D, 0, "smtp", "sub.example.com", NULL},
	{"user@example.com.remote.test", D, 0, NULL, NULL, NULL},
	{"user@notexample.com", D, 0, NULL, NULL, NULL},
    };

    run_cases(cases, PH_ARRAY_LEN(cases));
}

TEST(test_case_and_dots)
{
    static const CASE cases[] = {
	{"alice@EXAMPLE.COM", L, 0, NULL, NULL, "alice@example.com"},
	{"Alice@Example.Com.", L, 0, NULL, NULL, "Alice@example.com"},
	{"alice@example.com...", L, 0, NULL, NULL, "alice@example.com"},
	{"user@REMOTE.TEST.", D, 0, "smtp", "remote.test", "user@remote.test"},
	{"user@remote..test", D, ERR, NULL, NULL, NULL},
	{"user@.example.com", D, ERR, NULL, NULL, NULL},
	{"user@exa mple.com", D, ERR, NULL, NULL, NULL},
    };

    run_cases(cases, PH_ARRAY_LEN(cases));
}

TEST(test_routing_tricks)
{
    static const CASE cases[] = {
	/* percent hack through one of our domains */
	{"user%remote.test@example.com", D, ROUTED, "smtp", "remote.test", "user@remote.test"},
	{"user%remote.test", D, ROUTED, NULL, NULL, "user@remote.test"},
	{"user%remote.test@[127.0.0.1]", D, ROUTED, NULL, NULL, "user@remote.test"},
	/* quoted at-sign */
	{"\"user@remote.test\"@example.com", D, ROUTED, NULL, "remote.test", "user@remote.test"},
	{"\"user%remote.test\"@example.com", D, ROUTED, NULL, NULL, "user@remote.test"},
	{"\"us\\\"er@remote.test\"@example.com", D, ROUTED, NULL, NULL, NULL},
	/* double at */
	{"user@remote.test@example.com", D, ROUTED, NULL, NULL, "user@remote.test"},
	/* bang path */
	{"remote.test!user@example.com", D, ROUTED, NULL, NULL, "user@remote.test"},
	{"remote.test!user", D, ROUTED, NULL, NULL, "user@remote.test"},
	{"a.test!b.test!user@example.com", D, ROUTED, NULL, NULL, "b.test!user@a.test"},
	/* source routes */
	{"@example.com:user@remote.test", D, ROUTED, NULL, NULL, "user@remote.test"},
	{"@example.com,@mail.example.com:user@remote.test", D, ROUTED, NULL, NULL, NULL},
	{"@remote.test:alice@example.com", L, ROUTED, NULL, NULL, "alice@example.com"},
	/* routing operators left for a remote host are routing too */
	{"user%other.test@remote.test", D, ROUTED, NULL, "remote.test", NULL},
	{"other.test!user@remote.test", D, ROUTED, NULL, NULL, NULL},
	{"user%other.test@relay.example", R, ROUTED, NULL, NULL, NULL},
	/* routing that ends at one of our domains is still flagged */
	{"alice%example.com@example.com", L, ROUTED, NULL, NULL, "alice@example.com"},
	{"alice%localhost@mail.example.com", L, ROUTED, NULL, NULL, NULL},
	{"alice%vmail.example@example.com", VM, ROUTED, NULL, NULL, NULL},
	/* quoted local part without routing is plain */
	{"\"alice smith\"@example.com", L, 0, NULL, NULL, "alice smith@example.com"},
    };

    run_cases(cases, PH_ARRAY_LEN(cases));
}

TEST(test_percent_and_bang_off)
{
    static const CASE cases[] = {
	/* without the percent hack the % stays in a local user name, but is
	 * still sender-specified routing */
	{"user%remote.test@example.com", L, ROUTED, NULL, NULL, "user%remote.test@example.com"},
	{"remote.test!user@example.com", L, ROUTED, NULL, NULL, "remote.test!user@example.com"},
	/* an @ always routes */
	{"\"user@remote.test\"@example.com", D, ROUTED, NULL, NULL, "user@remote.test"},
    };

    config_override("allow_percent_hack", "no");
    config_override("swap_bangpath", "no");
    load();
    run_cases(cases, PH_ARRAY_LEN(cases));
    config_override("allow_percent_hack", "yes");
    config_override("swap_bangpath", "yes");
    load();
}

TEST(test_literals)
{
    static const CASE cases[] = {
	{"alice@[127.0.0.1]", L, 0, "local", NULL, "alice@[127.0.0.1]"},
	{"alice@[192.0.2.99]", L, 0, NULL, NULL, NULL},
	{"user@[192.0.2.1]", D, 0, "smtp", "[192.0.2.1]", NULL},
	{"user@[127.0.0.01]", D, 0, NULL, NULL, NULL},
	{"user@[127.1]", D, 0, NULL, NULL, NULL},
	{"user@[0x7f.0.0.1]", D, 0, NULL, NULL, NULL},
	{"user@[127.0.0.1", D, ERR, NULL, NULL, NULL},
	{"user@127.0.0.1]", D, ERR, NULL, NULL, NULL},
	{"user@[[127.0.0.1]]", D, ERR, NULL, NULL, NULL},
	{"user@[IPv6:::1]", D, 0, NULL, NULL, NULL},	/* not in inet_interfaces */
	{"user@[127.0.0.1].remote.test", D, ERR, NULL, NULL, NULL},
    };

    run_cases(cases, PH_ARRAY_LEN(cases));
    CHECK(resolve_own_literal("127.0.0.1") == 1);
    CHECK(resolve_own_literal("192.0.2.99") == 1);
    CHECK(resolve_own_literal("192.0.2.98") == 0);
    CHECK(resolve_own_literal("IPv6:::1") == 0);
    CHECK(resolve_own_literal("garbage") == 0);
    CHECK(resolve_local_domain("[127.0.0.1]") == 1);
    CHECK(resolve_local_domain("[127.0.0.2]") == 0);
    CHECK(resolve_local_domain("example.com") == 1);
    CHECK(resolve_local_domain("sub.example.com") == 0);

    config_override("inet_interfaces", "loopback-only");
    load();
    CHECK(resolve_own_literal("IPv6:::1") == 1);
    CHECK(resolve_own_literal("127.0.0.1") == 1);
    config_override("inet_interfaces", "127.0.0.1");
    load();
}

TEST(test_transports)
{
    static const CASE cases[] = {
	{"user@remote.test", D, 0, "smtp", "[smarthost.example]:587", NULL},
	{"user@relay.example", R, 0, "relay", "[smarthost.example]:587", NULL},
	{"alice@example.com", L, 0, "local", "mail.example.com", NULL},
	{"user@vmail.example", VM, 0, "lmtp", "unix:private/dovecot-lmtp", NULL},
    };

    config_override("relayhost", "[smarthost.example]:587");
    config_override("virtual_transport", "lmtp:unix:private/dovecot-lmtp");
    load();
    run_cases(cases, PH_ARRAY_LEN(cases));

    static const CASE cases2[] = {
	{"user@remote.test", D, 0, "smtp", "[mx.example]:25", NULL},
	{"user@relay.example", R, 0, "relay", "[relay.mx]", NULL},
    };

    config_override("relayhost", "");
    config_override("default_transport", "smtp:[mx.example]:25");
    config_override("relay_transport", "relay:[relay.mx]");
    load();
    run_cases(cases2, PH_ARRAY_LEN(cases2));
    setup();
}

TEST(test_hostile)
{
    RESOLVE_REPLY *rp = resolve_reply_alloc();
    VSTRING *big = vstring_alloc(100);

    /* overlong */
    for (int i = 0; i < 2000; i++)
	vstring_addch(big, 'a');
    vstring_cat(big, "@remote.test");
    resolve_addr(STR(big), rp);
    CHECK(rp->flags & RESOLVE_FLAG_ERROR);
    CHECK(rp->class == RESOLVE_CLASS_DEFAULT || rp->class == RESOLVE_CLASS_LOCAL);

    /* endless local rewriting is cut off */
    vstring_set(big, "u");
    for (int i = 0; i < 30; i++)
	vstring_cat(big, "%example.com");
    vstring_cat(big, "@example.com");
    resolve_addr(STR(big), rp);
    CHECK(rp->flags & RESOLVE_FLAG_ERROR);
    CHECK(rp->flags & RESOLVE_FLAG_ROUTED);
    CHECK(rp->class == RESOLVE_CLASS_DEFAULT);

    /* unbalanced quotes, lone specials, empty input */
    static const char *const junk[] = {
	"", "@", "@@", "\"", "\"@example.com", "a\"b@example.com", "\\", "[", "]",
	"@:", "@a:", ":", "%", "!", "a!", "!a", "%@example.com", "a%@example.com",
	"\"\"@example.com", "user@[", "user@]", "user@[]", "\001\002@\003",
	"@example.com:", "@example.com:@example.com:user@example.com",
    };
    for (size_t i = 0; i < PH_ARRAY_LEN(junk); i++) {
	int     class = resolve_addr(junk[i], rp);

	CHECK(class >= RESOLVE_CLASS_LOCAL && class <= RESOLVE_CLASS_DEFAULT);
	/* nothing hostile may become a relay-safe remote address */
	if (class == RESOLVE_CLASS_DEFAULT || class == RESOLVE_CLASS_RELAY)
	    CHECK(strchr(STR(rp->recipient), '@') != NULL);
    }
    CHECK(resolve_addr("a\"b@example.com", rp) && (rp->flags & RESOLVE_FLAG_ERROR));
    CHECK_STR(resolve_class_name(99), "unknown");
    vstring_free(&big);
    resolve_reply_free(&rp);
}

int     main(void)
{
    msg_init("test_resolve", MSG_TO_STDERR);
    setup();
    RUN(test_classes);
    RUN(test_case_and_dots);
    RUN(test_routing_tricks);
    RUN(test_percent_and_bang_off);
    RUN(test_literals);
    RUN(test_transports);
    RUN(test_hostile);
    resolve_reset();
    return unit_done();
}
