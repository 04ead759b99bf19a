/* test_cleanup_rcpt - virtual alias expansion: order, recursion, loops,
 * catch-alls, extensions, duplicates, limits, table failures. */
#include "unit.h"

#include "argv.h"
#include "cleanup_rcpt.h"
#include "config.h"
#include "dict_tmp.h"
#include "msg.h"
#include "mymalloc.h"

static const char *table_spec;

static CLEANUP_RCPT *make(void)
{
    return cleanup_rcpt_create(table_spec);
}

/* expand - the result list joined with spaces, or "TEMP: ..."/"PERM: ..." */
static const char *expand(CLEANUP_RCPT *cr, const char *addr)
{
    static char buf[2048];
    ARGV   *out = argv_alloc(4);
    const char *err = NULL;
    int rc = cleanup_rcpt_expand(cr, addr, out, &err);
    char   *joined;

    if (rc != CLEANUP_RCPT_OK) {
	snprintf(buf, sizeof(buf), "%s: %s", rc == CLEANUP_RCPT_TEMP ? "TEMP" : "PERM", err);
    } else {
	joined = argv_join(out, " ");
	snprintf(buf, sizeof(buf), "%s", joined);
	myfree(joined);
    }
    argv_free(&out);
    return buf;
}

static int prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

TEST(identity_without_maps)
{
    CLEANUP_RCPT *cr = cleanup_rcpt_create("");

    CHECK_STR(expand(cr, "a@example.com"), "a@example.com");
    cleanup_rcpt_free(&cr);
    CHECK(cr == NULL);
}

TEST(simple_and_recursive)
{
    CLEANUP_RCPT *cr = make();

    CHECK_STR(expand(cr, "nobody@else.example"), "nobody@else.example");
    CHECK_STR(expand(cr, "info@v.example"), "joe@real.example");
    CHECK_STR(expand(cr, "INFO@V.Example"), "joe@real.example");
    /* team -> sales, info -> (sales -> ann, bob), joe */
    CHECK_STR(expand(cr, "team@v.example"), "ann@real.example bob@real.example joe@real.example");
    cleanup_rcpt_free(&cr);
}

TEST(self_reference_and_loops_end)
{
    CLEANUP_RCPT *cr = make();

    /* keep@ maps to itself plus a copy */
    CHECK_STR(expand(cr, "keep@v.example"), "keep@v.example copy@real.example");
    /* a -> b -> a: ends at a */
    CHECK_STR(expand(cr, "loopa@v.example"), "loopa@v.example");
    cleanup_rcpt_free(&cr);
}

TEST(duplicates_dropped)
{
    CLEANUP_RCPT *cr = make();
    ARGV   *out = argv_alloc(4);
    const char *err;

    /* dup -> ann, ANN, sales (-> ann, bob) */
    CHECK_STR(expand(cr, "dup@v.example"), "ann@real.example bob@real.example");
    /* what the list already holds is not added again */
    argv_add(out, "bob@real.example", (char *) 0);
    CHECK_INT(cleanup_rcpt_expand(cr, "sales@v.example", out, &err), CLEANUP_RCPT_OK);
    CHECK_INT(out->argc, 2);
    CHECK_STR(out->argv[1], "ann@real.example");
    argv_free(&out);
    cleanup_rcpt_free(&cr);
}

TEST(catch_all_and_extensions)
{
    CLEANUP_RCPT *cr = make();

    /* @c.example -> @real.example keeps the local part */
    CHECK_STR(expand(cr, "who@c.example"), "who@real.example");
    /* @d.example -> fixed mailbox */
    CHECK_STR(expand(cr, "any@d.example"), "catch@real.example");
    /* user+ext matched by user@: extension propagates */
    CHECK_STR(expand(cr, "info+news@v.example"), "joe+news@real.example");
    /* full key with extension matches first, no propagation */
    CHECK_STR(expand(cr, "info+special@v.example"), "special@real.example");
    /* a result that has its own extension keeps it */
    CHECK_STR(expand(cr, "tagged+x@v.example"), "t+fixed@real.example");
    cleanup_rcpt_free(&cr);
}

TEST(limits)
{
    CLEANUP_RCPT *cr = make();
    long saved = var_virtual_alias_recursion_limit;

    var_virtual_alias_recursion_limit = 2;
    CHECK(prefix(expand(cr, "deep1@v.example"), "PERM: unreasonable virtual_alias_maps nesting"));
    var_virtual_alias_recursion_limit = saved;
    CHECK_STR(expand(cr, "deep1@v.example"), "end@real.example");
    saved = var_virtual_alias_expansion_limit;
    var_virtual_alias_expansion_limit = 1;
    CHECK(prefix(expand(cr, "sales@v.example"), "PERM: unreasonable virtual_alias_maps expansion"));
    var_virtual_alias_expansion_limit = saved;
    cleanup_rcpt_free(&cr);
}

TEST(table_failure_is_temporary)
{
    CLEANUP_RCPT *cr = cleanup_rcpt_create("fail:virtual");

    CHECK(prefix(expand(cr, "a@v.example"), "TEMP: "));
    cleanup_rcpt_free(&cr);
}

int main(void)
{
    const char *path;
    static char spec[300];

    msg_init("test_cleanup_rcpt", MSG_TO_STDERR);
    var_recipient_delimiter = "+";
    var_mydestination = "localhost";
    var_virtual_alias_recursion_limit = 1000;
    var_virtual_alias_expansion_limit = 1000;
    path = dict_tmp_text("virtual",
			 "info@v.example joe@real.example\n"
			 "info+special@v.example special@real.example\n"
			 "sales@v.example ann@real.example, bob@real.example\n"
			 "team@v.example sales@v.example info@v.example\n"
			 "keep@v.example keep@v.example, copy@real.example\n"
			 "loopa@v.example loopb@v.example\n"
			 "loopb@v.example loopa@v.example\n"
			 "dup@v.example ann@real.example ANN@real.example sales@v.example\n"
			 "@c.example @real.example\n"
			 "@d.example catch@real.example\n"
			 "tagged@v.example t+fixed@real.example\n"
			 "deep1@v.example deep2@v.example\n"
			 "deep2@v.example deep3@v.example\n"
			 "deep3@v.example end@real.example\n");
    snprintf(spec, sizeof(spec), "texthash:%s", path);
    table_spec = spec;
    RUN(identity_without_maps);
    RUN(simple_and_recursive);
    RUN(self_reference_and_loops_end);
    RUN(duplicates_dropped);
    RUN(catch_all_and_extensions);
    RUN(limits);
    RUN(table_failure_is_temporary);
    dict_tmp_cleanup();
    return unit_done();
}
