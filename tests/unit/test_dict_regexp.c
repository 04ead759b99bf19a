/* test_dict_regexp - regexp: and pcre: tables, including hostile input. */
#include "sys_defs.h"

#include "dict.h"
#include "msg.h"
#include "unit.h"
#include "dict_tmp.h"

/* open_file - open type:path of a file with text */
static DICT *open_file(const char *type, const char *text)
{
    static int n;
    char    name[32], spec[300];
    const char *why;
    DICT   *d;

    snprintf(name, sizeof(name), "re%d", n++);
    snprintf(spec, sizeof(spec), "%s:%s", type, dict_tmp_text(name, text));
    d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);
    if (d == NULL)
	fprintf(stderr, "open %s: %s\n", spec, why);
    return d;
}

/* open_error - the open error for a file with text */
static const char *open_error(const char *type, const char *text)
{
    static int n;
    char    name[32], spec[300];

    snprintf(name, sizeof(name), "bad%d", n++);
    snprintf(spec, sizeof(spec), "%s:%s", type, dict_tmp_text(name, text));
    return dict_tmp_open_err(spec);
}

TEST(test_basic_first_match)
{
    DICT   *d = open_file("regexp",
			  "# comment\n"
			  "/^(.*)@example\\.com$/   local:$1\n"
			  "/^postmaster@/  ${0}x\n"
			  "/@/  catchall\n");

    CHECK(d == NULL);			/* ${0} is out of range */
    d = open_file("regexp",
		  "# comment\n"
		  "/^(.*)@example\\.com$/   local:$1\n"
		  "/^postmaster@/  pm\n"
		  "/@/  catch $$ all\n");
    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "joe@example.com"), "local:joe");
    CHECK_STR(dict_tmp_get(d, "JOE@EXAMPLE.COM"), "local:JOE");	/* case-insensitive, not folded */
    CHECK_STR(dict_tmp_get(d, "postmaster@other"), "pm");
    CHECK_STR(dict_tmp_get(d, "x@y"), "catch $ all");
    CHECK_STR(dict_tmp_get(d, "nothing"), "<notfound>");
    dict_close(&d);
}

TEST(test_flags_and_delims)
{
    DICT   *d = open_file("pcre",
			  "/^ABC$/i  sensitive\n"
			  "%x% percent-delimited\n"
			  "|a\\|b|  pipe\n"
			  "/^(\\d+)\\.(\\d+)$/ ${2}.$1\n"
			  "/^a . b$/x  extended\n");

    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "ABC"), "sensitive");
    CHECK_STR(dict_tmp_get(d, "abc"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, "x"), "percent-delimited");
    CHECK_STR(dict_tmp_get(d, "a|b"), "pipe");
    CHECK_STR(dict_tmp_get(d, "12.34"), "34.12");
    CHECK_STR(dict_tmp_get(d, "a+b"), "extended");
    dict_close(&d);
}

TEST(test_negation_and_if)
{
    DICT   *d = open_file("regexp",
			  "if /@example\\.com$/\n"
			  "  # comment inside\n"
			  "/^admin@/  ADMIN\n"
			  "if !/^bob@/\n"
			  "/./  NOT-BOB\n"
			  "endif\n"
			  "endif\n"
			  "!/@/  no-at\n"
			  "/^bob@/ \n"
			  "  continued result\n");

    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "admin@example.com"), "ADMIN");
    CHECK_STR(dict_tmp_get(d, "joe@example.com"), "NOT-BOB");
    CHECK_STR(dict_tmp_get(d, "bob@example.com"), "continued result");
    CHECK_STR(dict_tmp_get(d, "bob@other.com"), "continued result");
    CHECK_STR(dict_tmp_get(d, "plain"), "no-at");
    CHECK_STR(dict_tmp_get(d, "joe@other.com"), "<notfound>");
    dict_close(&d);
}

TEST(test_syntax_errors)
{
    const char *e;

    e = open_error("regexp", "/abc(/ x\n");
    CHECK(strstr(e, ", line 1: error in pattern") != NULL);
    e = open_error("regexp", "# c\n\n/ok/ x\nendif\n");
    CHECK(strstr(e, ", line 4: endif without matching if") != NULL);
    e = open_error("regexp", "/ok/ x\nif /a/\n/b/ y\n");
    CHECK(strstr(e, ", line 2: if without matching endif") != NULL);
    e = open_error("regexp", "/abc/\n");
    CHECK(strstr(e, "line 1: no result") != NULL);
    e = open_error("regexp", "/abc x\n");
    CHECK(strstr(e, "missing closing") != NULL);
    e = open_error("regexp", "abc/ x\n");
    CHECK(strstr(e, "expected /pattern/") != NULL);
    e = open_error("regexp", "/a/q x\n");
    CHECK(strstr(e, "unknown pattern flag") != NULL);
    e = open_error("regexp", "/a/s x\n");		/* pcre-only flag */
    CHECK(strstr(e, "unknown pattern flag") != NULL);
    CHECK_STR(open_error("pcre", "/a/s x\n"), "<opened>");
    e = open_error("regexp", "/(a)/ $2\n");
    CHECK(strstr(e, "out-of-range") != NULL);
    e = open_error("regexp", "!/(a)/ $1\n");
    CHECK(strstr(e, "negated") != NULL);
    e = open_error("regexp", "/(a)/ $x\n");
    CHECK(strstr(e, "bad $") != NULL);
    e = open_error("regexp", "/(a)/ ${1\n");
    CHECK(strstr(e, "bad $") != NULL);
    e = open_error("regexp", "if /a/ extra\nendif\n");
    CHECK(strstr(e, "text after if") != NULL);
    e = open_error("regexp", "if /a/\nendif junk\n");
    CHECK(strstr(e, "text after endif") != NULL);
    e = dict_tmp_open_err("regexp:/nonexistent/file");
    CHECK_STR(e, "open /nonexistent/file: No such file or directory");
}

TEST(test_binary_and_oversize)
{
    const char *e;
    char    bin[] = "/a/ x\n/b\0c/ y\n";
    VSTRING *big = vstring_alloc(400000);
    const char *path;
    char    spec[300];

    path = dict_tmp_write("bin", bin, sizeof(bin) - 1);
    snprintf(spec, sizeof(spec), "regexp:%s", path);
    e = dict_tmp_open_err(spec);
    CHECK(strstr(e, ", line 2: NUL byte in input") != NULL);

    vstring_set(big, "/a/ ");
    for (int i = 0; i < 300000; i++)
	vstring_addch(big, 'x');
    vstring_addch(big, '\n');
    path = dict_tmp_write("big", STR(big), LEN(big));
    snprintf(spec, sizeof(spec), "regexp:%s", path);
    e = dict_tmp_open_err(spec);
    CHECK(strstr(e, ", line 1: line too long") != NULL);
    vstring_free(&big);

    /* Random junk must fail cleanly or open, never crash. */
    srand(1);
    for (int round = 0; round < 200; round++) {
	char    junk[200];

	for (size_t i = 0; i < sizeof(junk); i++)
	    junk[i] = (char) (rand() % 255 + 1);
	path = dict_tmp_write("junk", junk, sizeof(junk));
	snprintf(spec, sizeof(spec), "regexp:%s", path);
	(void) dict_tmp_open_err(spec);
    }
}

TEST(test_catastrophic_backtracking)
{
    DICT   *d = open_file("pcre", "/^(a+)+$/ slow\n");
    char    key[64];
    const char *value, *why;

    CHECK(d != NULL);
    if (!d)
	return;
    memset(key, 'a', 40);
    key[40] = '!';
    key[41] = 0;
    CHECK_INT(dict_lookup(d, key, 0, &value, &why), DICT_ERROR);
    CHECK(strstr(why, "pcre:") == why);
    dict_close(&d);
}

int     main(void)
{
    msg_init("test_dict_regexp", 0);
    RUN(test_basic_first_match);
    RUN(test_flags_and_delims);
    RUN(test_negation_and_if);
    RUN(test_syntax_errors);
    RUN(test_binary_and_oversize);
    RUN(test_catastrophic_backtracking);
    dict_tmp_cleanup();
    return unit_done();
}
