/* test_mynetworks - the mynetworks default for each mynetworks_style.
 *
 * mynetworks_format is fed hand-made (address, netmask) lists, so the
 * results do not depend on this machine's interfaces; the expected lists
 * are written out by hand. mynetworks_local is only checked for what every
 * test machine has (loopback) and for its errors. config_load is checked
 * for the computed default, an explicit setting, $mynetworks expansion and
 * the error for a bad style.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "mynetworks.h"
#include "vstring.h"
#include "unit.h"

#define MAXADDR 16

/* One case: "addr mask" pairs, a style, protocols and the result. */
typedef struct {
    const char *pairs[MAXADDR];		/* "192.0.2.1 255.255.255.0" */
    const char *style;
    const char *protocols;
    const char *want;			/* NULL: an error */
    const char *want_param;		/* with want == NULL */
} FORMAT_CASE;

/* parse_pairs - "addr mask" strings into entries; count */
static size_t parse_pairs(const char *const *pairs, MYNETWORKS_ADDR *out)
{
    size_t  n = 0;

    for (; n < MAXADDR && pairs[n]; n++) {
	char    buf[200], *sp;

	ph_strlcpy(buf, pairs[n], sizeof(buf));
	if ((sp = strchr(buf, ' ')) == NULL)
	    msg_fatal("bad test pair %s", pairs[n]);
	*sp++ = 0;
	memset(&out[n], 0, sizeof(out[n]));
	out[n].family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(out[n].family, buf, out[n].addr) != 1
	    || inet_pton(out[n].family, sp, out[n].mask) != 1)
	    msg_fatal("bad test pair %s", pairs[n]);
    }
    return n;
}

static const FORMAT_CASE format_cases[] = {
    /* host: every address as /32 or /128, IPv4 first */
    {{"::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "127.0.0.1 255.0.0.0",
      "192.0.2.7 255.255.255.0", "2001:db8::1 ffff:ffff:ffff:ffff::"},
     "host", "all", "127.0.0.1/32 192.0.2.7/32 [::1]/128 [2001:db8::1]/128", NULL},
    /* style names are case-insensitive, as in Postfix */
    {{"192.0.2.7 255.255.255.0"}, "HOST", "all", "192.0.2.7/32", NULL},
    /* subnet: masked with the interface netmask */
    {{"127.0.0.1 255.0.0.0", "192.0.2.7 255.255.255.0", "::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "2001:db8::1 ffff:ffff:ffff:ffff::"},
     "subnet", "all", "127.0.0.0/8 192.0.2.0/24 [::1]/128 [2001:db8::]/64", NULL},
    /* odd prefixes: /20 and /7 for IPv4, /56 for IPv6 */
    {{"10.20.47.9 255.255.240.0", "11.1.1.1 254.0.0.0", "2001:db8:0:12ab::1 ffff:ffff:ffff:ff00::"},
     "subnet", "all", "10.20.32.0/20 10.0.0.0/7 [2001:db8:0:1200::]/56", NULL},
    /* /0 and /32 netmasks */
    {{"192.0.2.7 0.0.0.0", "198.51.100.1 255.255.255.255"},
     "subnet", "all", "0.0.0.0/0 198.51.100.1/32", NULL},
    /* link-local IPv6 is kept (as Postfix): host /128, subnet /64 */
    {{"fe80::fc:ff:fe00:1 ffff:ffff:ffff:ffff::"}, "host", "all", "[fe80::fc:ff:fe00:1]/128", NULL},
    {{"fe80::fc:ff:fe00:1 ffff:ffff:ffff:ffff::"}, "subnet", "all", "[fe80::]/64", NULL},
    /* class: A/B/C boundaries */
    {{"10.1.2.3 255.255.255.0", "127.255.255.254 255.0.0.0", "128.0.0.1 255.255.255.0",
      "172.16.5.4 255.255.255.0", "191.255.0.1 255.255.0.0", "192.168.1.7 255.255.0.0",
      "223.255.255.1 255.255.255.0"},
     "class", "all",
     "10.0.0.0/8 127.0.0.0/8 128.0.0.0/16 172.16.0.0/16 191.255.0.0/16 192.168.1.0/24 223.255.255.0/24",
     NULL},
    /* class D (multicast): 224.0.0.0/4, as Postfix's IN_CLASSD_NET */
    {{"224.1.2.3 255.255.255.0", "239.255.255.255 255.255.255.255"}, "class", "all", "224.0.0.0/4", NULL},
    /* class E: an error, as in Postfix */
    {{"240.0.0.1 255.255.255.0"}, "class", "all", NULL, "mynetworks_style"},
    {{"255.255.255.255 255.255.255.255"}, "class", "all", NULL, "mynetworks_style"},
    /* class E is fine for host and subnet */
    {{"240.0.0.1 255.255.255.0"}, "subnet", "all", "240.0.0.0/24", NULL},
    /* class: IPv6 has no classes, it is treated as subnet */
    {{"10.1.2.3 255.255.255.0", "2001:db8:1:2::3 ffff:ffff:ffff:ffff::"},
     "class", "all", "10.0.0.0/8 [2001:db8:1:2::]/64", NULL},
    /* duplicates: the same network once, first position kept */
    {{"192.0.2.7 255.255.255.0", "192.0.2.8 255.255.255.0", "192.0.2.7 255.255.255.0",
      "127.0.0.1 255.0.0.0", "2001:db8::1 ffff:ffff:ffff:ffff::",
      "2001:db8::2 ffff:ffff:ffff:ffff::"},
     "subnet", "all", "192.0.2.0/24 127.0.0.0/8 [2001:db8::]/64", NULL},
    {{"192.0.2.7 255.255.255.0", "192.0.2.7 255.255.0.0"},
     "subnet", "all", "192.0.2.0/24 192.0.0.0/16", NULL},
    {{"10.1.2.3 255.0.0.0", "10.9.9.9 255.255.0.0"}, "class", "all", "10.0.0.0/8", NULL},
    {{"192.0.2.7 255.255.255.0", "192.0.2.7 255.255.255.0"}, "host", "all", "192.0.2.7/32", NULL},
    /* inet_protocols filters */
    {{"127.0.0.1 255.0.0.0", "::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
     "host", "ipv4", "127.0.0.1/32", NULL},
    {{"127.0.0.1 255.0.0.0", "::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
     "host", "ipv6", "[::1]/128", NULL},
    {{"127.0.0.1 255.0.0.0", "::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
     "host", "ipv4, ipv6", "127.0.0.1/32 [::1]/128", NULL},
    {{"127.0.0.1 255.0.0.0", "::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
     "host", "IPv6,ipv4", "127.0.0.1/32 [::1]/128", NULL},
    {{"127.0.0.1 255.0.0.0"}, "host", "ipv6", "", NULL},
    /* no addresses: empty */
    {{NULL}, "subnet", "all", "", NULL},
    /* bad style and protocols */
    {{"127.0.0.1 255.0.0.0"}, "hosts", "all", NULL, "mynetworks_style"},
    {{"127.0.0.1 255.0.0.0"}, "", "all", NULL, "mynetworks_style"},
    {{"127.0.0.1 255.0.0.0"}, "host subnet", "all", NULL, "mynetworks_style"},
    {{"127.0.0.1 255.0.0.0"}, "host", "ipv5", NULL, "inet_protocols"},
    {{"127.0.0.1 255.0.0.0"}, "host", "", NULL, "inet_protocols"},
    /* hostile netmasks: non-contiguous ones are not trusted (host) */
    {{"192.0.2.7 255.0.255.0", "198.51.100.9 0.0.0.255", "2001:db8::1 ffff:0:ffff::"},
     "subnet", "all", "192.0.2.7/32 198.51.100.9/32 [2001:db8::1]/128", NULL},
    {{"192.0.2.7 255.255.255.1"}, "subnet", "all", "192.0.2.7/32", NULL},
    {{"2001:db8::1 ffff:ffff:ffff:ffff::1"}, "class", "all", "[2001:db8::1]/128", NULL},
};

/* format_table - every case of format_cases */
TEST(format_table)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(format_cases); i++) {
	const FORMAT_CASE *c = &format_cases[i];
	MYNETWORKS_ADDR addrs[MAXADDR];
	size_t  n = parse_pairs(c->pairs, addrs);
	VSTRING *out = vstring_alloc(10);
	const char *param = NULL, *error = NULL;
	int     rc = mynetworks_format(out, addrs, n, c->style, c->protocols, &param, &error);

	if (c->want) {
	    if (rc != 0)
		UNIT_FAIL("case %zu: error %s: %s", i, param ? param : "?", error ? error : "?");
	    else if (strcmp(STR(out), c->want) != 0)
		UNIT_FAIL("case %zu: \"%s\", expected \"%s\"", i, STR(out), c->want);
	} else {
	    if (rc != -1)
		UNIT_FAIL("case %zu: \"%s\", expected an error", i, STR(out));
	    else {
		CHECK_STR(param, c->want_param);
		CHECK(error != NULL && *error != 0);
	    }
	}
	vstring_free(&out);
    }
}

/* format_appends - the result is appended to what out holds */
TEST(format_appends)
{
    MYNETWORKS_ADDR a[1];
    const char *pairs[] = {"192.0.2.7 255.255.255.0", NULL};
    VSTRING *out = vstring_alloc(10);
    const char *param, *error;

    parse_pairs(pairs, a);
    vstring_set(out, "x=");
    CHECK_INT(mynetworks_format(out, a, 1, "subnet", "all", &param, &error), 0);
    CHECK_STR(STR(out), "x=192.0.2.0/24");
    vstring_free(&out);
}

/* format_messages - the reasons say what is wrong */
TEST(format_messages)
{
    MYNETWORKS_ADDR a[1];
    const char *pairs[] = {"240.1.2.3 255.0.0.0", NULL};
    VSTRING *out = vstring_alloc(10);
    const char *param, *error;

    parse_pairs(pairs, a);
    CHECK_INT(mynetworks_format(out, a, 1, "class", "all", &param, &error), -1);
    CHECK(strstr(error, "240.1.2.3") != NULL);
    CHECK_INT(mynetworks_format(out, a, 1, "bogus", "all", &param, &error), -1);
    CHECK_STR(error, "invalid value \"bogus\" (expected host, subnet, class)");
    vstring_free(&out);
}

/* format_garbage - random addresses and netmasks never crash and always
 * give a result that contains the address */
TEST(format_garbage)
{
    srandom(4711);
    for (int round = 0; round < 2000; round++) {
	MYNETWORKS_ADDR a[3];
	VSTRING *out = vstring_alloc(10);
	const char *param, *error;
	static const char *const styles[] = {"host", "subnet", "class"};

	for (int i = 0; i < 3; i++) {
	    a[i].family = (random() & 1) ? AF_INET : AF_INET6;
	    for (int b = 0; b < 16; b++) {
		a[i].addr[b] = (unsigned char) random();
		a[i].mask[b] = (unsigned char) random();
	    }
	    /* sometimes a good mask */
	    if (random() & 1) {
		int     prefix = (int) (random() % (a[i].family == AF_INET ? 33 : 129));

		memset(a[i].mask, 0, 16);
		for (int b = 0; b < prefix; b++)
		    a[i].mask[b / 8] |= (unsigned char) (0x80 >> (b % 8));
	    }
	}
	int     rc = mynetworks_format(out, a, 3, styles[round % 3], "all", &param, &error);

	CHECK(rc == 0 || (round % 3 == 2 && strcmp(param, "mynetworks_style") == 0));
	vstring_free(&out);
    }
}

/* local_loopback - loopback-only and 127.0.0.1 exist on every test host */
TEST(local_loopback)
{
    MYNETWORKS_ADDR *addrs;
    size_t  count;
    const char *param, *error;
    char   *nets;

    CHECK_INT(mynetworks_local("loopback-only", "ipv4", &addrs, &count, &param, &error), 0);
    CHECK(count >= 1);
    for (size_t i = 0; i < count; i++)
	CHECK(addrs[i].family == AF_INET && addrs[i].addr[0] == 127);
    myfree(addrs);

    nets = mynetworks_compute("host", "127.0.0.1", "ipv4", &param, &error);
    CHECK_STR(nets, "127.0.0.1/32");
    myfree(nets);
    nets = mynetworks_compute("subnet", "[127.0.0.1]", "all", &param, &error);
    CHECK(nets != NULL && strncmp(nets, "127.", 4) == 0);
    myfree(nets);
    /* filtered out by inet_protocols: nothing, and no error */
    nets = mynetworks_compute("host", "127.0.0.1", "ipv6", &param, &error);
    CHECK_STR(nets, "");
    myfree(nets);
}

/* local_errors - names that are not ours */
TEST(local_errors)
{
    const char *param = NULL, *error = NULL;
    char   *nets;

    /* TEST-NET-3: never a local address on a test host */
    nets = mynetworks_compute("host", "203.0.113.254", "all", &param, &error);
    CHECK(nets == NULL);
    CHECK_STR(param, "inet_interfaces");
    CHECK(error && strstr(error, "no local interface found for 203.0.113.254"));
    nets = mynetworks_compute("host", "no-such-host.invalid", "all", &param, &error);
    CHECK(nets == NULL);
    CHECK_STR(param, "inet_interfaces");
    nets = mynetworks_compute("nope", "loopback-only", "all", &param, &error);
    CHECK(nets == NULL);
    CHECK_STR(param, "mynetworks_style");
    nets = mynetworks_compute("host", "loopback-only", "ipx", &param, &error);
    CHECK(nets == NULL);
    CHECK_STR(param, "inet_protocols");
}

static char tmpdir[] = "/tmp/test_mynetworks.XXXXXX";

/* load - write main.cf and config_load it */
static int load(const char *text, const char **err)
{
    VSTRING *path = vstring_alloc(100);
    FILE   *fp;

    vstring_fmt(path, "%s/main.cf", tmpdir);
    if ((fp = fopen(STR(path), "w")) == NULL)
	msg_fatal("create %s: %m", STR(path));
    fputs(text, fp);
    fclose(fp);
    vstring_free(&path);
    *err = NULL;
    return config_load(CONFIG_FLAG_NO_WARN, err);
}

/* config_default - the computed default in config_load and expansion */
TEST(config_computed)
{
    const char *err;

    CHECK_INT(load("inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n", &err), 0);
    CHECK_STR(var_mynetworks, "127.0.0.1/32");
    CHECK_STR(config_lookup("smtpd_client_event_limit_exceptions"), "127.0.0.1/32");
    CHECK(config_compute_error() == NULL);

    CHECK_INT(load("inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
		   "mynetworks_style = subnet\n"
		   "x = $mynetworks\n", &err), 0);
    CHECK(strncmp(var_mynetworks, "127.", 4) == 0 && strstr(var_mynetworks, "/32") == NULL);
    CHECK_STR(config_lookup("x"), var_mynetworks);

    /* an explicit setting wins, and the style is not used */
    CHECK_INT(load("inet_interfaces = 203.0.113.254\nmynetworks = 10.0.0.0/8\n", &err), 0);
    CHECK_STR(var_mynetworks, "10.0.0.0/8");
    CHECK(config_compute_error() == NULL);
}

/* config_errors - a default that cannot be computed stops config_load */
TEST(config_errors)
{
    const char *err;
    VSTRING *want = vstring_alloc(100);

    CHECK_INT(load("# style\nmynetworks_style = bogus\n", &err), -1);
    vstring_fmt(want, "%s/main.cf, line 2: parameter mynetworks_style: invalid value \"bogus\""
		" (expected host, subnet, class)", tmpdir);
    CHECK_STR(err, STR(want));

    CHECK_INT(load("inet_interfaces = 203.0.113.254\n", &err), -1);
    vstring_fmt(want, "%s/main.cf, line 1: parameter inet_interfaces: "
		"no local interface found for 203.0.113.254", tmpdir);
    CHECK_STR(err, STR(want));

    CHECK_INT(load("inet_interfaces = 127.0.0.1\nmynetworks_style = class\n"
		   "inet_protocols = $mynetworks\n", &err), -1);
    CHECK(err != NULL && strstr(err, "mynetworks") != NULL);
    vstring_free(&want);

    /* a failed load keeps the previous values; a good one clears the error */
    CHECK_INT(load("inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n", &err), 0);
    CHECK(config_compute_error() == NULL);
}

int     main(void)
{
    if (mkdtemp(tmpdir) == NULL)
	msg_fatal("mkdtemp: %m");
    config_set_dir(tmpdir);
    RUN(format_table);
    RUN(format_appends);
    RUN(format_messages);
    RUN(format_garbage);
    RUN(local_loopback);
    RUN(local_errors);
    RUN(config_computed);
    RUN(config_errors);
    {
	VSTRING *path = vstring_alloc(100);

	vstring_fmt(path, "%s/main.cf", tmpdir);
	unlink(STR(path));
	vstring_free(&path);
	rmdir(tmpdir);
    }
    return unit_done();
}
