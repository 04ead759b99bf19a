/* test_dict_texthash - texthash: tables and the text-source reader. */
#include "sys_defs.h"

#include "dict.h"
#include "dict_text.h"
#include "msg.h"
#include "unit.h"
#include "dict_tmp.h"

TEST(test_texthash)
{
    const char *path = dict_tmp_text("th", "# comment\n\n  # indented comment\n"
				     "User@Example.COM  local\n"
				     "multi  first\n"
				     "\tsecond\r\n"
				     "# between\n"
				     "  third\n"
				     "dup 1\n"
				     "dup 2\n"
				     "novalue\n");
    char    spec[300];
    const char *why;
    DICT   *d;

    snprintf(spec, sizeof(spec), "texthash:%s", path);
    d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "user@example.com"), "local");
    CHECK_STR(dict_tmp_get(d, "USER@example.com"), "local");
    CHECK_STR(dict_tmp_get(d, "multi"), "first second third");
    CHECK_STR(dict_tmp_get(d, "dup"), "2");
    CHECK_STR(dict_tmp_get(d, "novalue"), "<notfound>");
    dict_close(&d);
}

TEST(test_reader_bounds)
{
    VSTRING *big = vstring_alloc(100);
    const char *path, *k, *v, *why;
    DICT_TEXT *tp;
    int     line;

    /* Key over DICT_KEY_MAX. */
    for (int i = 0; i < DICT_KEY_MAX + 1; i++)
	vstring_addch(big, 'k');
    vstring_cat(big, " v\n");
    path = dict_tmp_write("bigkey", STR(big), LEN(big));
    tp = dict_text_open(path, DICT_TEXT_MAP, &why);
    CHECK(tp != NULL);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), -1);
    CHECK(strstr(why, ", line 1: key too long") != NULL);
    dict_text_close(&tp);

    /* Value over DICT_VALUE_MAX, spread over continuation lines. */
    vstring_set(big, "key\n");
    for (int i = 0; i < 300; i++) {
	vstring_cat(big, " ");
	for (int j = 0; j < 1000; j++)
	    vstring_addch(big, 'v');
	vstring_cat(big, "\n");
    }
    path = dict_tmp_write("bigval", STR(big), LEN(big));
    tp = dict_text_open(path, DICT_TEXT_MAP, &why);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), -1);
    CHECK(strstr(why, "line 1: line too long") != NULL || strstr(why, "value too long") != NULL);
    dict_text_close(&tp);

    /* NUL byte on line 3. */
    path = dict_tmp_write("nul", "a 1\nb 2\nc \0 3\n", 14);
    tp = dict_text_open(path, DICT_TEXT_MAP, &why);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_INT(line, 2);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), -1);
    CHECK(strstr(why, ", line 3: NUL byte in input") != NULL);
    dict_text_close(&tp);

    /* Strict mode: malformed lines are errors with file:line. */
    path = dict_tmp_text("strict", "a 1\n\nlonely\n");
    tp = dict_text_open(path, DICT_TEXT_MAP | DICT_TEXT_STRICT, &why);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), -1);
    CHECK(strstr(why, ", line 3: expected format: key whitespace value") != NULL);
    dict_text_close(&tp);

    /* No final newline, CRLF, only comments. */
    path = dict_tmp_text("nonl", "a 1\r\nb 2");
    tp = dict_text_open(path, DICT_TEXT_MAP, &why);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_STR(v, "1");
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_STR(k, "b");
    CHECK_STR(v, "2");
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 0);
    dict_text_close(&tp);
    vstring_free(&big);

    CHECK(dict_text_open(dict_tmp_path("absent"), DICT_TEXT_MAP, &why) == NULL);
    CHECK(strstr(why, "open ") == why && strstr(why, ": No such file or directory") != NULL);
}

TEST(test_aliases_syntax)
{
    const char *path = dict_tmp_text("aliases", "# aliases\n"
				     "postmaster: root\n"
				     "Root:  admin, \"|/usr/bin/cmd arg\",\n"
				     "   /var/log/file,\n"
				     "\t:include:/etc/list\n"
				     "\"with space\": x\n"
				     "\"esc\\\"q\" : y\n"
				     "broken line\n"
				     "empty:\n"
				     "\"unterminated: z\n"
				     "last: end");
    DICT_TEXT *tp = dict_text_open(path, DICT_TEXT_ALIASES, &path);
    const char *k, *v, *why;
    int     line;

    CHECK(tp != NULL);
    if (!tp)
	return;
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_STR(k, "postmaster");
    CHECK_STR(v, "root");
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_STR(k, "Root");
    CHECK_STR(v, "admin, \"|/usr/bin/cmd arg\", /var/log/file, :include:/etc/list");
    CHECK_INT(line, 3);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_STR(k, "with space");
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);
    CHECK_STR(k, "esc\"q");
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 1);	/* malformed ones skipped */
    CHECK_STR(k, "last");
    CHECK_INT(line, 11);
    CHECK_INT(dict_text_next(tp, &k, &v, &line, &why), 0);
    dict_text_close(&tp);
}

TEST(test_texthash_refresh)
{
    char    path[256], spec[300];
    const char *why;
    DICT   *d;

    snprintf(path, sizeof(path), "%s", dict_tmp_text("thr", "k old\n"));	/* tmp paths rotate */
    snprintf(spec, sizeof(spec), "texthash:%s", path);
    d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "k"), "old");
    /* Replace by rename, as editors and postmap do. */
    dict_tmp_text("thr.new", "k new\n");
    CHECK(rename(dict_tmp_path("thr.new"), path) == 0);
    CHECK(dict_changed_name() != NULL);
    CHECK_INT(dict_refresh(), 1);
    CHECK_STR(dict_tmp_get(d, "k"), "new");
    /* A broken rewrite keeps the old contents. */
    dict_tmp_write("thr.new", "k x\n\0\n", 6);
    CHECK(rename(dict_tmp_path("thr.new"), path) == 0);
    CHECK_INT(dict_refresh(), 0);
    CHECK_STR(dict_tmp_get(d, "k"), "new");
    CHECK(dict_changed_name() == NULL);	/* not retried until it changes again */
    dict_tmp_text("thr.new", "k fixed\n");
    CHECK(rename(dict_tmp_path("thr.new"), path) == 0);
    CHECK_INT(dict_refresh(), 1);
    CHECK_STR(dict_tmp_get(d, "k"), "fixed");
    dict_close(&d);
}

int     main(void)
{
    msg_init("test_dict_texthash", 0);
    RUN(test_texthash);
    RUN(test_reader_bounds);
    RUN(test_aliases_syntax);
    RUN(test_texthash_refresh);
    dict_tmp_cleanup();
    return unit_done();
}
