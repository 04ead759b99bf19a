/* test_auth_proto - Dovecot auth protocol line syntax and AUTH parsing,
 * hostile input; auth_var %-expansion. */
#include "sys_defs.h"

#include <string.h>

#include "argv.h"
#include "auth_client.h"
#include "auth_proto.h"
#include "auth_var.h"
#include "vstring.h"
#include "unit.h"

/* split - helper over a C string */
static int split(const char *line, ARGV *args)
{
    const char *err;

    return auth_proto_split(line, strlen(line), args, &err);
}

TEST(test_split_and_escape)
{
    ARGV *a = argv_alloc(4);
    VSTRING *v = vstring_alloc(10);

    CHECK_INT(split("AUTH\t1\tPLAIN\tservice=smtp", a), 0);
    CHECK_INT(a->argc, 4);
    CHECK_STR(a->argv[3], "service=smtp");
    CHECK_INT(split("CONT\t1\t", a), 0);
    CHECK_INT(a->argc, 3);
    CHECK_STR(a->argv[2], "");
    CHECK_INT(split("X\ta\001tb\001nc\001rd\0011e\001xf", a), 0);
    CHECK_STR(a->argv[1], "a\tb\nc\rd\001exf");
    CHECK_INT(split("X\ta\0010", a), -1);		/* escaped NUL */
    CHECK_INT(split("X\ta\001", a), -1);		/* dangling escape */
    CHECK_INT(auth_proto_split("X\0Y", 3, a, &(const char *) {0}), -1);
    /* an escaped raw NUL was taken into the argument, cutting it short
     * ("alice\001\0evil" read as "alice") */
    CHECK_INT(auth_proto_split("USER\t1\talice\001\000evil", 18, a, &(const char *) {0}), -1);
    CHECK_INT(auth_proto_split("X\t\001\000", 4, a, &(const char *) {0}), -1);
    VSTRING *many = vstring_alloc(100);

    for (int i = 0; i < AUTH_PROTO_MAX_ARGS + 1; i++)
        vstring_cat(many, "x\t");
    CHECK_INT(split(STR(many), a), -1);
    vstring_free(&many);
    auth_proto_escape(v, "a\tb\nc\rd\001e");
    CHECK_STR(STR(v), "a\001tb\001nc\001rd\0011e");
    CHECK_INT(split(STR(v), a), 0);
    CHECK_STR(a->argv[0], "a\tb\nc\rd\001e");
    argv_free(&a);
    vstring_free(&v);
}

TEST(test_ids)
{
    unsigned id;

    CHECK_INT(auth_proto_parse_id("1", &id), 0);
    CHECK_INT(id, 1);
    CHECK_INT(auth_proto_parse_id("4294967295", &id), 0);
    CHECK_INT(id, 4294967295U);
    CHECK_INT(auth_proto_parse_id("4294967296", &id), -1);
    CHECK_INT(auth_proto_parse_id("0", &id), -1);
    CHECK_INT(auth_proto_parse_id("", &id), -1);
    CHECK_INT(auth_proto_parse_id("-1", &id), -1);
    CHECK_INT(auth_proto_parse_id("1x", &id), -1);
    CHECK_INT(auth_proto_parse_id("99999999999999999999", &id), -1);
}

TEST(test_parse_auth)
{
    ARGV *a = argv_alloc(4);
    AUTH_PROTO_AUTH req;
    const char *err;

    split("AUTH\t7\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=::1\tsecured\tresp=AGEAYg==\tfuture=x", a);
    CHECK_INT(auth_proto_parse_auth(a, &req, &err), 0);
    CHECK_INT(req.id, 7);
    CHECK_STR(req.mech, "PLAIN");
    CHECK_STR(req.service, "smtp");
    CHECK_STR(req.rip, "::1");
    CHECK_STR(req.lip, "127.0.0.1");
    CHECK_STR(req.resp, "AGEAYg==");
    CHECK(req.secured && req.nologin && !req.no_penalty);
    CHECK_STR(auth_proto_find(a, 3, "future"), "x");
    CHECK_STR(auth_proto_find(a, 3, "nologin"), "");
    CHECK(auth_proto_find(a, 3, "nolog") == NULL);

    static const char *bad[] = {
        "AUTH", "AUTH\t1", "AUTH\tx\tPLAIN", "AUTH\t0\tPLAIN", "AUTH\t1\t",
        "AUTH\t1\tPLAIN\trip=1.2.3", "AUTH\t1\tPLAIN\tlip=localhost", "CONT\t1\tPLAIN",
    };
    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
        split(bad[i], a);
        if (auth_proto_parse_auth(a, &req, &err) != -1)
            UNIT_FAIL("\"%s\" parsed", bad[i]);
    }
    split("AUTH\t1\tLOGIN\trip=\tlip=", a);
    CHECK_INT(auth_proto_parse_auth(a, &req, &err), 0);
    CHECK(req.rip == NULL && req.lip == NULL && req.service == NULL && req.resp == NULL);
    argv_free(&a);
}

TEST(test_auth_var)
{
    AUTH_VARS v = {.user = "Alice.Smith@Example.COM", .service = "imap", .rip = "192.0.2.1",
                   .lip = "192.0.2.2", .home = "/h"};
    VSTRING *out = vstring_alloc(10);
    const char *err;

    CHECK_INT(auth_var_expand(out, "/var/vmail/%d/%n %u %s %r %l %h %%", &v, &err), 0);
    CHECK_STR(STR(out), "/var/vmail/Example.COM/Alice.Smith Alice.Smith@Example.COM imap 192.0.2.1 192.0.2.2 /h %");
    vstring_reset(out);
    CHECK_INT(auth_var_expand(out, "%Lu|%Un|%Ld|%{user}|%L{domain}", &v, &err), 0);
    CHECK_STR(STR(out), "alice.smith@example.com|ALICE.SMITH|example.com|Alice.Smith@Example.COM|example.com");
    v.user = "bob";
    vstring_reset(out);
    CHECK_INT(auth_var_expand(out, "[%n][%d]", &v, &err), 0);
    CHECK_STR(STR(out), "[bob][]");
    static const char *bad[] = {"%", "%q", "%{nosuch}", "%{user", "%L", "%Lz"};

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
        vstring_reset(out);
        if (auth_var_expand(out, bad[i], &v, &err) != -1)
            UNIT_FAIL("\"%s\" expanded", bad[i]);
    }
    vstring_free(&out);
}

/* test_cookie - what a pre-login hand-over may carry as the auth cookie */
static void test_cookie(void)
{
    static const char *bad[] = {
        "", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
        "0123456789abcdef0123456789abcdeg", "0123456789abcdef\t123456789abcdef",
        "0123456789abcdef 123456789abcdef", "-123456789abcdef0123456789abcdef",
    };
    AUTH_CLIENT_USER *u = auth_client_user_alloc();
    const char *err = NULL;
    const char *cookie;
    unsigned id = 99;

    CHECK_INT(auth_client_cookie_ok("0123456789abcdef0123456789ABCDEF"), 1);
    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++)
        if (auth_client_cookie_ok(bad[i]))
            UNIT_FAIL("cookie \"%s\" accepted", bad[i]);
    /* nothing was authenticated in this process */
    CHECK_INT(auth_client_last_login(&cookie, &id), 0);
    CHECK_INT(id, 0);
    /* bad REQUEST arguments are refused before any connection */
    CHECK_INT(auth_client_request("/nonexistent/socket", 0, 1,
                                  "0123456789abcdef0123456789abcdef", 5, u, &err), -1);
    CHECK_INT(auth_client_request("/nonexistent/socket", 123, 0,
                                  "0123456789abcdef0123456789abcdef", 5, u, &err), -1);
    CHECK_INT(auth_client_request("/nonexistent/socket", 123, 1, "x\ty", 5, u, &err), -1);
    CHECK_INT(strstr(err, "cookie") != NULL, 1);
    CHECK_INT(auth_client_request("/nonexistent/socket", 123, 1,
                                  "0123456789abcdef0123456789abcdef", 5, u, &err), -1);
    CHECK_INT(strstr(err, "connect") != NULL, 1);
    auth_client_user_free(&u);
}

/* main - run the tests */
int main(void)
{
    RUN(test_split_and_escape);
    RUN(test_ids);
    RUN(test_parse_auth);
    RUN(test_auth_var);
    RUN(test_cookie);
    return unit_done();
}
