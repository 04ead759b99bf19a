/* test_logical_line - continuations, comments, bounds, callback errors. */
#include "sys_defs.h"

#include <errno.h>

#include "logical_line.h"
#include "msg.h"
#include "vstring.h"
#include "unit.h"

static VSTRING *seen;				/* "N:line|" per logical line */
static VSTRING *errbuf;

/* collect - record each logical line; "FAIL" makes the callback fail */
static int collect(VSTRING *lline, int lstart, void *context PH_UNUSED, const char **error_r)
{
    if (strcmp(STR(lline), "FAIL") == 0) {
	*error_r = "callback failed";
	return -1;
    }
    vstring_fmt_append(seen, "%d:%s|", lstart, STR(lline));
    return 0;
}

/* report - "KIND@N[text]" so the tests see what the reader handed over */
static const char *report(LOGICAL_LINE_ERR err, int lineno, const char *text, size_t len,
			          void *context PH_UNUSED)
{
    static const char *const kind[] = {"read", "nul", "long", "logical-long", "cont-first"};

    vstring_fmt(errbuf, "%s@%d", kind[err], lineno);
    if (text) {
	vstring_cat(errbuf, "[");
	for (size_t i = 0; i < len && i < 10; i++)
	    vstring_addch(errbuf, text[i] ? text[i] : '?');
	vstring_cat(errbuf, "]");
    }
    return STR(errbuf);
}

static const LOGICAL_LINE_OPS ops = {.max_line = 64, .line = collect, .error = report};

/* run - read text (len bytes); the lines seen, or "ERR:" and the error */
static const char *run(const char *text, size_t len)
{
    FILE   *fp = fmemopen((void *) text, len, "r");
    const char *error = NULL;
    static VSTRING *res;

    if (res == NULL)
	res = vstring_alloc(100);
    vstring_reset(seen);
    if (logical_line_read(fp, &ops, NULL, &error) < 0)
	vstring_fmt(res, "%sERR:%s", STR(seen), error);
    else
	vstring_set(res, STR(seen));
    fclose(fp);
    return STR(res);
}

#define RUNS(s) run((s), sizeof(s) - 1)

TEST(test_lines)
{
    CHECK_STR(RUNS(""), "");
    CHECK_STR(RUNS("a = 1"), "1:a = 1|");		/* no final newline */
    CHECK_STR(RUNS("a = 1\nb = 2\n"), "1:a = 1|2:b = 2|");
    CHECK_STR(RUNS("# c\n\n   \na = 1  \r\n\t# c2\n  more\n\tand more\nb\n"),
	      "4:a = 1 more and more|8:b|");
    CHECK_STR(RUNS("a\n  # comment inside\n  x\n"), "1:a x|");
    CHECK_STR(RUNS("a\n\n  after blank\n"), "1:a after blank|");
}

TEST(test_errors)
{
    char    long_line[100];

    CHECK_STR(RUNS("  x\n"), "ERR:cont-first@1");
    CHECK_STR(RUNS("# c\n\n\t x = 1\n"), "ERR:cont-first@3");
    CHECK_STR(RUNS("a\nb\0c\n"), "ERR:nul@2[b?c]");
    CHECK_STR(RUNS("name\n x\0y\n"), "ERR:nul@2[name]");	/* the line it continues */
    memset(long_line, 'z', sizeof(long_line));
    CHECK_STR(run(long_line, sizeof(long_line)), "ERR:long@1[zzzzzzzzzz]");
    CHECK_STR(RUNS("key 0123456789\n 0123456789 0123456789\n 0123456789 0123456789\n 0123456789\n"),
	      "ERR:logical-long@1[key 012345]");
    CHECK_STR(RUNS("a\nFAIL\nc\n"), "1:a|ERR:callback failed");
    CHECK_STR(RUNS("a\nFAIL"), "1:a|ERR:callback failed");
}

int main(void)
{
    msg_init("test_logical_line", MSG_TO_STDERR);
    seen = vstring_alloc(100);
    errbuf = vstring_alloc(100);
    RUN(test_lines);
    RUN(test_errors);
    vstring_free(&seen);
    vstring_free(&errbuf);
    return unit_done();
}
