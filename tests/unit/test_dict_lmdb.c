/* test_dict_lmdb - lmdb:/hash:/btree: tables, atomic rebuild, refresh. */
#include "sys_defs.h"

#include <sys/stat.h>

#include "dict.h"
#include "mkmap.h"
#include "msg.h"
#include "unit.h"
#include "dict_tmp.h"

/* build - write entries into type:path through the dict interface */
static int build(const char *spec, const char *const *kv)
{
    const char *why;
    DICT   *d = dict_open(spec, O_RDWR | O_CREAT | O_TRUNC, DICT_FLAG_FOLD_FIX, &why);

    if (d == NULL) {
	fprintf(stderr, "%s\n", why);
	return -1;
    }
    for (; kv[0]; kv += 2)
	if (dict_update(d, kv[0], kv[1], &why) != DICT_FOUND)
	    return -1;
    if (dict_commit(d, &why) < 0) {
	fprintf(stderr, "%s\n", why);
	return -1;
    }
    dict_close(&d);
    return 0;
}

TEST(test_build_and_read)
{
    char    spec[300];
    static const char *const kv[] = {"Alpha", "1", "beta", "two words", "gamma", "3", NULL};
    const char *why, *k, *v;
    DICT   *d;
    struct stat st;

    snprintf(spec, sizeof(spec), "hash:%s", dict_tmp_path("t1"));
    CHECK_INT(build(spec, kv), 0);
    CHECK(stat(dict_tmp_path("t1.lmdb"), &st) == 0);
    CHECK(stat(dict_tmp_path("t1.lmdb-lock"), &st) < 0);	/* no lock file */
    d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "alpha"), "1");
    CHECK_STR(dict_tmp_get(d, "ALPHA"), "1");
    CHECK_STR(dict_tmp_get(d, "beta"), "two words");
    CHECK_STR(dict_tmp_get(d, "delta"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, ""), "<notfound>");
    {
	char    huge[2000];

	memset(huge, 'k', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = 0;
	CHECK_STR(dict_tmp_get(d, huge), "<notfound>");
    }
    CHECK_INT(dict_sequence(d, DICT_SEQ_FIRST, &k, &v, &why), DICT_FOUND);
    CHECK_STR(k, "alpha");
    CHECK_INT(dict_sequence(d, DICT_SEQ_NEXT, &k, &v, &why), DICT_FOUND);
    CHECK_STR(k, "beta");
    CHECK_INT(dict_sequence(d, DICT_SEQ_NEXT, &k, &v, &why), DICT_FOUND);
    CHECK_STR(k, "gamma");
    CHECK_INT(dict_sequence(d, DICT_SEQ_NEXT, &k, &v, &why), DICT_NOTFOUND);

    /* Same spec and flags: the same shared handle. */
    DICT   *d2 = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);

    CHECK(d2 == d);
    CHECK_INT(d->refcount, 2);
    dict_close(&d2);
    CHECK(d2 == NULL);
    CHECK_INT(d->refcount, 1);
    dict_close(&d);
}

TEST(test_update_remove)
{
    char    spec[300];
    static const char *const kv[] = {"a", "1", "b", "2", NULL};
    const char *why;
    DICT   *d;

    snprintf(spec, sizeof(spec), "lmdb:%s", dict_tmp_path("t2"));
    CHECK_INT(build(spec, kv), 0);
    d = dict_open(spec, O_RDWR, 0, &why);
    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_INT(dict_remove(d, "a", &why), DICT_FOUND);
    CHECK_INT(dict_remove(d, "a", &why), DICT_NOTFOUND);
    CHECK_INT(dict_update(d, "c", "3", &why), DICT_FOUND);
    CHECK_INT(dict_update(d, "", "3", &why), DICT_ERROR);
    CHECK_INT(dict_commit(d, &why), 0);
    dict_close(&d);
    d = dict_open(spec, O_RDONLY, 0, &why);
    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "a"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, "b"), "2");
    CHECK_STR(dict_tmp_get(d, "c"), "3");
    dict_close(&d);
}

TEST(test_errors)
{
    const char *e = dict_tmp_open_err("lmdb:/nonexistent/dir/table");
    const char *why;

    CHECK_STR(e, "open database /nonexistent/dir/table.lmdb: No such file or directory");
    /* A file that is not an LMDB database. */
    dict_tmp_text("junk.lmdb", "this is not a database at all, just text\n");
    {
	char    spec[300];

	snprintf(spec, sizeof(spec), "lmdb:%s", dict_tmp_path("junk"));
	e = dict_tmp_open_err(spec);
	CHECK(strstr(e, "open database") != NULL);
    }
    CHECK(dict_open("nosuchtype:x", O_RDONLY, 0, &why) == NULL);
    CHECK_STR(why, "unsupported dictionary type: nosuchtype");
    CHECK(dict_open("nocolon", O_RDONLY, 0, &why) == NULL);
    CHECK(strstr(why, "expected type:name") != NULL);
}

TEST(test_refresh)
{
    char    spec[300];
    static const char *const v1[] = {"k", "old", NULL};
    static const char *const v2[] = {"k", "new", "k2", "added", NULL};
    const char *why;
    DICT   *d;

    snprintf(spec, sizeof(spec), "proxy:lmdb:%s", dict_tmp_path("t3"));
    CHECK_INT(build(spec, v1), 0);
    d = dict_open(spec, O_RDONLY, 0, &why);
    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(d->type, "lmdb");			/* proxy: stripped */
    CHECK(dict_changed_name() == NULL);
    CHECK_INT(dict_refresh(), 0);
    CHECK_STR(dict_tmp_get(d, "k"), "old");
    CHECK_INT(build(spec, v2), 0);
    /* The old snapshot stays whole until the safe point. */
    CHECK_STR(dict_tmp_get(d, "k"), "old");
    CHECK_STR(dict_tmp_get(d, "k2"), "<notfound>");
    CHECK(dict_changed_name() != NULL && strstr(dict_changed_name(), "t3") != NULL);
    CHECK_INT(dict_refresh(), 1);
    CHECK_STR(dict_tmp_get(d, "k"), "new");
    CHECK_STR(dict_tmp_get(d, "k2"), "added");
    CHECK(dict_changed_name() == NULL);
    /* A table that disappears keeps its contents. */
    unlink(dict_tmp_path("t3.lmdb"));
    CHECK_INT(dict_refresh(), 0);
    CHECK_STR(dict_tmp_get(d, "k"), "new");
    dict_close(&d);
}

TEST(test_mkmap_atomic)
{
    const char *src = dict_tmp_text("src", "# c\nkey1 value1\nKEY2 value2\n  continued\n");
    const char *why;
    char    spec[300];
    DICT   *d;

    CHECK_INT(mkmap_build(src, NULL, 0, &why), 0);
    snprintf(spec, sizeof(spec), "lmdb:%s", src);
    d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "key2"), "value2 continued");
    dict_close(&d);
    CHECK_INT(mkmap_build("regexp:/x", NULL, 0, &why), -1);
    CHECK(strstr(why, "unsupported dictionary type") != NULL);
    CHECK_INT(mkmap_build(dict_tmp_path("missing"), NULL, 0, &why), -1);
    CHECK(strstr(why, "No such file or directory") != NULL);
    /* A bad source leaves the old table in place. */
    dict_tmp_write("src", "key1 x\nbad\0key y\n", 17);
    CHECK_INT(mkmap_build(src, NULL, 0, &why), -1);
    CHECK(strstr(why, "line 2: NUL byte") != NULL);
    d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    CHECK(d != NULL);
    if (d) {
	CHECK_STR(dict_tmp_get(d, "key1"), "value1");
	dict_close(&d);
    }
}

int     main(void)
{
    msg_init("test_dict_lmdb", 0);
    RUN(test_build_and_read);
    RUN(test_update_remove);
    RUN(test_errors);
    RUN(test_refresh);
    RUN(test_mkmap_atomic);
    dict_tmp_cleanup();
    return unit_done();
}
