/* test_vstring - vstring, argv, htable, mymalloc unit tests. */
#include "sys_defs.h"

#include "argv.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "unit.h"

TEST(test_basic)
{
    VSTRING *vp = vstring_alloc(1);

    CHECK_STR(STR(vp), "");
    vstring_set(vp, "hello");
    vstring_cat(vp, ", world");
    CHECK_STR(STR(vp), "hello, world");
    CHECK_INT(LEN(vp), 12);
    vstring_fmt(vp, "%d-%s", 42, "x");
    CHECK_STR(STR(vp), "42-x");
    vstring_fmt_append(vp, "%0200d", 7);
    CHECK_INT(LEN(vp), 204);
    vstring_truncate(vp, 2);
    CHECK_STR(STR(vp), "42");
    vstring_free(&vp);
    CHECK(vp == NULL);
}

TEST(test_binary)
{
    VSTRING *vp = vstring_alloc(4);

    vstring_catn(vp, "a\0b", 3);
    CHECK_INT(LEN(vp), 3);
    CHECK(memcmp(STR(vp), "a\0b", 4) == 0);
    vstring_addch(vp, 0);
    CHECK_INT(LEN(vp), 4);
    vstring_free(&vp);
}

TEST(test_limit)
{
    VSTRING *vp = vstring_alloc(4);

    vstring_set_limit(vp, 5);
    vstring_cat(vp, "abc");
    CHECK(!vp->overflow);
    vstring_cat(vp, "defgh");
    CHECK_STR(STR(vp), "abcde");
    CHECK(vp->overflow);
    vstring_fmt_append(vp, "%s", "zzz");
    CHECK_STR(STR(vp), "abcde");
    vstring_reset(vp);
    CHECK(!vp->overflow);
    vstring_fmt(vp, "%s", "0123456789");
    CHECK_STR(STR(vp), "01234");
    CHECK(vp->overflow);
    vstring_free(&vp);
}

TEST(test_self_set)
{
    VSTRING *vp = vstring_alloc(4);

    vstring_set(vp, "  trimmed");
    vstring_setn(vp, STR(vp) + 2, LEN(vp) - 2);
    CHECK_STR(STR(vp), "trimmed");
    vstring_free(&vp);
}

TEST(test_reserve_commit)
{
    VSTRING *vp = vstring_alloc(4);
    char *p = vstring_reserve(vp, 100);

    memset(p, 'x', 100);
    vstring_commit(vp, 100);
    CHECK_INT(LEN(vp), 100);
    CHECK_PANICS(vstring_commit(vp, 1000000));
    vstring_free(&vp);
}

TEST(test_misc)
{
    VSTRING *vp = vstring_alloc(4);

    vstring_set(vp, "HeLLo\r\n\r\n");
    vstring_chomp(vstring_lower(vp));
    CHECK_STR(STR(vp), "hello");
    vstring_wipe(vp);
    CHECK_INT(LEN(vp), 0);
    char *s = vstring_export(&vp);
    CHECK(vp == NULL);
    CHECK_STR(s, "");
    myfree(s);

    char buf[4];
    CHECK_INT(ph_strlcpy(buf, "abcdef", sizeof(buf)), 6);
    CHECK_STR(buf, "abc");
}

TEST(test_argv)
{
    ARGV *ap = argv_split_list(" a, b\tc,,d ");

    CHECK_INT(ap->argc, 4);
    CHECK_STR(ap->argv[0], "a");
    CHECK_STR(ap->argv[3], "d");
    CHECK(ap->argv[4] == NULL);
    char *j = argv_join(ap, "|");
    CHECK_STR(j, "a|b|c|d");
    myfree(j);
    argv_truncate(ap, 1);
    CHECK_INT(ap->argc, 1);
    CHECK(ap->argv[1] == NULL);
    for (int i = 0; i < 1000; i++)
        argv_add(ap, "x", "y", (char *) 0);
    CHECK_INT(ap->argc, 2001);
    argv_free(&ap);
    CHECK(ap == NULL);
    ap = argv_split("", ", ");
    CHECK_INT(ap->argc, 0);
    argv_free(&ap);
}

TEST(test_htable)
{
    HTABLE *ht = htable_create(1);
    char key[32];

    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        htable_enter(ht, key, (void *) (intptr_t) (i + 1));
    }
    CHECK_INT(ht->used, 5000);
    CHECK_INT((intptr_t) htable_find(ht, "k4999"), 5000);
    CHECK(htable_find(ht, "nope") == NULL);
    htable_delete(ht, "k10", NULL);
    CHECK(htable_find(ht, "k10") == NULL);
    HTABLE_ENTRY **list = htable_list(ht);
    int n = 0;
    while (list[n])
        n++;
    CHECK_INT(n, 4999);
    myfree(list);
    htable_free(&ht, NULL);
    CHECK(ht == NULL);
}

TEST(test_malloc_overflow)
{
    CHECK_PANICS(mycalloc(SIZE_MAX / 2, 4));
    CHECK_PANICS(myreallocarray(NULL, SIZE_MAX / 2, 4));
}

TEST(test_unbounded_growth_panics)
{
    /* An unbounded vstring asked to hold more than the hard maximum. */
    CHECK_PANICS({ VSTRING *v = vstring_alloc(1); v->len = VSTRING_HARD_MAX; vstring_addch(v, 'x'); });
}

int main(void)
{
    msg_init("test_vstring", MSG_TO_STDERR);
    RUN(test_basic);
    RUN(test_binary);
    RUN(test_limit);
    RUN(test_self_set);
    RUN(test_reserve_commit);
    RUN(test_misc);
    RUN(test_argv);
    RUN(test_htable);
    RUN(test_malloc_overflow);
    RUN(test_unbounded_growth_panics);
    return unit_done();
}
