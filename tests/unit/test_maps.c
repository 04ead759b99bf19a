/* test_maps - table lists, surrogates, errors stop the search, and the
 * mail_addr_find strategies. */
#include "sys_defs.h"

#include "config.h"
#include "dict.h"
#include "mail_addr_find.h"
#include "maps.h"
#include "msg.h"
#include "unit.h"
#include "dict_tmp.h"

TEST(test_split)
{
    ARGV   *av = maps_split_list(" hash:/a, inline:{ a=1, { b = x, y } } ,regexp:/r\tstatic:{ q r }");

    CHECK_INT(av->argc, 4);
    CHECK_STR(av->argv[0], "hash:/a");
    CHECK_STR(av->argv[1], "inline:{ a=1, { b = x, y } }");
    CHECK_STR(av->argv[2], "regexp:/r");
    CHECK_STR(av->argv[3], "static:{ q r }");
    argv_free(&av);
    av = maps_split_list("");
    CHECK_INT(av->argc, 0);
    argv_free(&av);
}

TEST(test_order_and_errors)
{
    MAPS   *maps = maps_create("test_maps", "inline:{ a=first }, inline:{ a=second, b=two }", 0);
    const char *v, *why;

    CHECK_INT(maps->count, 2);
    CHECK_INT(maps_find(maps, "a", 0, &v, &why), DICT_FOUND);
    CHECK_STR(v, "first");
    CHECK_INT(maps_find(maps, "B", 0, &v, &why), DICT_FOUND);	/* folded */
    CHECK_STR(v, "two");
    CHECK_INT(maps_find(maps, "c", 0, &v, &why), DICT_NOTFOUND);
    maps_free(&maps);
    CHECK(maps == NULL);

    /* An error stops the search; a later table must not answer. */
    maps = maps_create("test_maps", "inline:{ x=1 }, fail:down, static:fallback", 0);
    CHECK_INT(maps_find(maps, "x", 0, &v, &why), DICT_FOUND);
    CHECK_INT(maps_find(maps, "y", 0, &v, &why), DICT_ERROR);
    CHECK(strstr(why, "fail:down") != NULL);
    maps_free(&maps);

    /* A table that cannot be opened defers instead of finding nothing. */
    maps = maps_create("test_maps", "hash:/nonexistent/aliases, static:x", 0);
    CHECK_INT(maps_find(maps, "y", 0, &v, &why), DICT_ERROR);
    CHECK(strstr(why, "/nonexistent/aliases.lmdb") != NULL);
    maps_free(&maps);

    /* One-result lookups. */
    maps = maps_create("test_maps", "inline:{ {a = x, y}, b=z }", 0);
    CHECK_INT(maps_find(maps, "a", DICT_LOOKUP_ONE, &v, &why), DICT_ERROR);
    CHECK(strstr(why, "expected one result") != NULL);
    CHECK_INT(maps_find(maps, "b", DICT_LOOKUP_ONE, &v, &why), DICT_FOUND);
    maps_free(&maps);
}

TEST(test_partial_skips_patterns)
{
    const char *re = dict_tmp_text("re", "/^user$/ from-regexp\n/^@example.com$/ at-regexp\n");
    char    names[400];
    const char *v, *m, *why;
    MAPS   *maps;

    snprintf(names, sizeof(names), "regexp:%s, inline:{ user=from-inline }", re);
    maps = maps_create("virtual_alias_maps", names, 0);
    var_recipient_delimiter = "+";
    var_mydestination = "localhost";
    CHECK_INT(mail_addr_find(maps, "user@localhost", MA_FIND_VIRTUAL, &v, &m, &why), DICT_FOUND);
    CHECK_STR(v, "from-inline");
    CHECK_STR(m, "user");
    CHECK_INT(mail_addr_find(maps, "x@example.com", MA_FIND_VIRTUAL, &v, &m, &why), DICT_NOTFOUND);
    maps_free(&maps);
}

int     main(void)
{
    msg_init("test_maps", 0);
    RUN(test_split);
    RUN(test_order_and_errors);
    RUN(test_partial_skips_patterns);
    dict_tmp_cleanup();
    return unit_done();
}
