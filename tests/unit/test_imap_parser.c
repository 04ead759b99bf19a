/* test_imap_parser - IMAP command assembly and tokenizing, with hostile
 * input: literals (sync and LITERAL+), limits, bad syntax, resync. */
#include "sys_defs.h"

#include <string.h>

#include "imap_parser.h"
#include "msg.h"
#include "mymalloc.h"
#include "unit.h"
#include "vstring.h"

/* dump - the args tree as text: atom, "quoted", {len}literal, (list) */
static void dump(VSTRING *out, const IMAP_ARG *args, size_t count)
{
    for (size_t i = 0; i < count; i++) {
	if (i > 0)
	    vstring_addch(out, ' ');
	switch (args[i].type) {
	case IMAP_ARG_ATOM:
	    vstring_cat(out, args[i].str);
	    break;
	case IMAP_ARG_QUOTED:
	    vstring_fmt_append(out, "\"%s\"", args[i].str);
	    break;
	case IMAP_ARG_LITERAL:
	    vstring_fmt_append(out, "{%zu}", args[i].len);
	    vstring_catn(out, args[i].str, args[i].len);
	    break;
	case IMAP_ARG_LIST:
	    vstring_addch(out, '(');
	    dump(out, args[i].list, args[i].len);
	    vstring_addch(out, ')');
	    break;
	}
    }
}

/* run - feed input (chunk bytes at a time, 0: all at once); the results
 * in order as letters (M more, C continue, D done, E error, F fatal),
 * each D followed by "[tag name: args]" and each E by "[tag: error]" */
static char *run(IMAP_PARSER *p, const char *in, size_t len, size_t chunk)
{
    VSTRING *out = vstring_alloc(64);
    size_t  pos = 0;

    while (pos < len) {
	size_t  n = chunk ? (len - pos < chunk ? len - pos : chunk) : len - pos;
	size_t  used = 0;
	int     r = imap_parser_feed(p, in + pos, n, &used);

	if (used > n)
	    UNIT_FAIL("used %zu > %zu", used, n);
	pos += used;
	switch (r) {
	case IMAP_PARSE_MORE:
	    if (used != n)
		UNIT_FAIL("MORE but not all consumed");
	    break;
	case IMAP_PARSE_CONTINUE:
	    vstring_cat(out, "C");
	    break;
	case IMAP_PARSE_DONE:{
		const IMAP_CMD *cmd = imap_parser_cmd(p);

		vstring_fmt_append(out, "D[%s %s:", cmd->tag, cmd->name);
		dump(out, cmd->args, cmd->count);
		vstring_cat(out, "]");
		imap_parser_reset(p);
		break;
	    }
	case IMAP_PARSE_ERROR:
	    vstring_fmt_append(out, "E[%s:%s]", imap_parser_tag(p) ? imap_parser_tag(p) : "*",
			       imap_parser_error(p));
	    imap_parser_reset(p);
	    break;
	case IMAP_PARSE_FATAL:
	    vstring_fmt_append(out, "F[%s]", imap_parser_error(p));
	    imap_parser_reset(p);
	    pos = len;
	    break;
	}
    }
    if (imap_parser_busy(p))
	vstring_cat(out, "M");
    return vstring_export(&out);
}

static const struct {
    const char *in;
    const char *want;
} cases[] = {
    {"a1 NOOP\r\n", "D[a1 NOOP:]"},
    {"a1 NOOP\n", "D[a1 NOOP:]"},
    {"a1 LOGIN user pass\r\n", "D[a1 LOGIN:user pass]"},
    {"a1 LOGIN \"us\\\"er\" \"p\\\\w\"\r\n", "D[a1 LOGIN:\"us\"er\" \"p\\w\"]"},
    {"a1 LOGIN {4}\r\nuser {4}\r\npass\r\n", "CCD[a1 LOGIN:{4}user {4}pass]"},
    {"a1 LOGIN {4+}\r\nuser {4+}\r\npass\r\n", "D[a1 LOGIN:{4}user {4}pass]"},
    {"a1 APPEND INBOX (\\Seen) {5}\r\na\r\n\"(\r\n", "CD[a1 APPEND:INBOX (\\Seen) {5}a\r\n\"(]"},
    {"a1 SELECT {0}\r\n\r\n", "CD[a1 SELECT:{0}]"},
    {"a1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)\r\n",
     "D[a1 FETCH:1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)]"},
    {"a1 FETCH 1 BODY[]\r\n", "D[a1 FETCH:1 BODY[]]"},
    {"a1 LIST \"\" *\r\n", "D[a1 LIST:\"\" *]"},
    {"a1 LIST \"\" %/x]\r\n", "D[a1 LIST:\"\" %/x]]"},
    {"a1 SEARCH OR (FROM a) (NOT (TO b)) ALL\r\n", "D[a1 SEARCH:OR (FROM a) (NOT (TO b)) ALL]"},
    {"a1 STORE 1 +FLAGS.SILENT ()\r\n", "D[a1 STORE:1 +FLAGS.SILENT ()]"},
    {"a1 X (()) ((a) b)\r\n", "D[a1 X:(()) ((a) b)]"},
    {"a1 SELECT NIL\r\n", "D[a1 SELECT:NIL]"},
    /* two commands in one read, then an error in between */
    {"a NOOP\r\nb NOOP\r\n", "D[a NOOP:]D[b NOOP:]"},
    {"a NOOP (\r\nb NOOP\r\n", "E[a:Missing ')']D[b NOOP:]"},
    /* hostile syntax */
    {"\r\n", "E[*:Empty command line]"},
    {"NOOP\r\n", "E[NOOP:Missing command name]"},
    {"a\r\n", "E[a:Missing command name]"},
    {"a  NOOP\r\n", "E[a:Invalid command name]"},
    {"(x NOOP\r\n", "E[*:Invalid tag]"},
    {"a+ NOOP\r\n", "E[*:Invalid tag]"},
    {"a N\"OOP\r\n", "E[a:Invalid command name]"},
    {"a NOOP )\r\n", "E[a:Unexpected ')']"},
    {"a NOOP ((x)\r\n", "E[a:Missing ')']"},
    {"a NOOP (x))\r\n", "E[a:Unexpected ')']"},
    {"a NOOP \"abc\r\n", "E[a:Unterminated quoted string]"},
    {"a NOOP \"a\\b\"\r\n", "E[a:Invalid escape in quoted string]"},
    {"a NOOP x\"y\"\r\n", "E[a:Invalid characters in atom]"},
    {"a NOOP x\001y\r\n", "E[a:Invalid characters in atom]"},
    {"a NOOP x  y\r\n", "E[a:Unexpected space]"},
    {"a NOOP x \r\n", "E[a:Unexpected space]"},
    {"a NOOP (x)(y)\r\n", "E[a:Missing space between arguments]"},
    {"a NOOP BODY[HEADER\r\n", "E[a:Missing ']']"},
    {"a NOOP BODY[[]]\r\n", "E[a:Nested '[']"},
    {"a NOOP {x}\r\n", "E[a:Invalid literal]"},
    {"a NOOP {3}x\r\n", "E[a:Invalid literal]"},
    {"a NOOP \"{3}\r\n", "E[a:Unterminated quoted string]"},
    {"a NOOP \"x\" {3}\r\nabcz\r\n", "CE[a:Missing space between arguments]"},
    {"a NOOP {3}\r\na\0c\r\nb NOOP\r\n", "CE[a:NUL in literal]D[b NOOP:]"},
    {"a NOOP {99999999999999}\r\nb NOOP\r\n", "E[a:Literal too large]D[b NOOP:]"},
    {"a NOOP {99999999999999+}\r\nb NOOP\r\n", "F[Non-synchronizing literal too large]"},
};

TEST(test_cases)
{
    for (size_t chunk = 0; chunk < 4; chunk++) {
	for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	    IMAP_PARSER *p = imap_parser_create(NULL);
	    const char *in = cases[i].in;
	    size_t  len = strlen(in);

	    /* the NUL case: the literal "a\0c" is 3 bytes */
	    if (strstr(in, "{3}\r\na") && len < 20)
		len = 25;
	    char   *got = run(p, in, len, chunk);

	    if (strcmp(got, cases[i].want) != 0)
		UNIT_FAIL("case %zu chunk %zu: got %s, want %s", i, chunk, got, cases[i].want);
	    myfree(got);
	    imap_parser_free(&p);
	    CHECK(p == NULL);
	}
    }
}

TEST(test_limits)
{
    IMAP_PARSER_LIMITS lim = {.max_line = 40, .max_literal = 10, .max_literal_total = 15,
	.max_depth = 3, .max_args = 5};
    IMAP_PARSER *p = imap_parser_create(&lim);
    char   *got;

    /* line too long: rest of the line skipped, next command fine */
    got = run(p, "a NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nb NOOP\r\n", strlen("a NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nb NOOP\r\n"), 7);
    CHECK_STR(got, "E[a:Command line too long]D[b NOOP:]");
    myfree(got);
    /* a too long line that ends in LITERAL+: the literal is skipped */
    got = run(p, "a NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {5+}\r\nb NOO\r\nc NOOP\r\n", strlen("a NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {5+}\r\nb NOO\r\nc NOOP\r\n"), 0);
    CHECK_STR(got, "E[a:Command line too long]D[c NOOP:]");
    myfree(got);
    got = run(p, "a X ((()))\r\n", strlen("a X ((()))\r\n"), 0);
    CHECK_STR(got, "D[a X:((()))]");
    myfree(got);
    got = run(p, "a X (((())))\r\n", strlen("a X (((())))\r\n"), 0);
    CHECK_STR(got, "E[a:Too deep nesting]");
    myfree(got);
    got = run(p, "a X 1 2 3 4 5 6\r\n", strlen("a X 1 2 3 4 5 6\r\n"), 0);
    CHECK_STR(got, "E[a:Too many arguments]");
    myfree(got);
    got = run(p, "a X {10}\r\n0123456789\r\n", strlen("a X {10}\r\n0123456789\r\n"), 0);
    CHECK_STR(got, "CD[a X:{10}0123456789]");
    myfree(got);
    got = run(p, "a X {11}\r\nb NOOP\r\n", strlen("a X {11}\r\nb NOOP\r\n"), 0);
    CHECK_STR(got, "E[a:Literal too large]D[b NOOP:]");
    myfree(got);
    /* total literal bytes: the second sync literal is refused */
    got = run(p, "a X {10}\r\n0123456789 {6}\r\nb NOOP\r\n", strlen("a X {10}\r\n0123456789 {6}\r\nb NOOP\r\n"), 0);
    CHECK_STR(got, "CE[a:Literal too large]D[b NOOP:]");
    myfree(got);
    /* ... a non-sync one within the per-literal limit is read and dropped */
    got = run(p, "a X {10}\r\n0123456789 {6+}\r\nxxxxxx\r\nb NOOP\r\n", strlen("a X {10}\r\n0123456789 {6+}\r\nxxxxxx\r\nb NOOP\r\n"), 0);
    CHECK_STR(got, "CE[a:Literal too large]D[b NOOP:]");
    myfree(got);
    got = run(p, "a X {11+}\r\n", strlen("a X {11+}\r\n"), 0);
    CHECK_STR(got, "F[Non-synchronizing literal too large]");
    myfree(got);
    imap_parser_free(&p);
}

TEST(test_line_mode)
{
    IMAP_PARSER *p = imap_parser_create(NULL);
    size_t  used;

    imap_parser_set_line_mode(p, true);
    CHECK_INT(imap_parser_feed(p, "dXNlcg== {5}\r\nDONE\r\n", 20, &used), IMAP_PARSE_DONE);
    CHECK_INT(used, 14);
    CHECK_STR(imap_parser_cmd(p)->line, "dXNlcg== {5}");
    imap_parser_reset(p);
    CHECK(!imap_parser_busy(p));
    CHECK_INT(imap_parser_feed(p, "DONE\r\n", 6, &used), IMAP_PARSE_ERROR);
    imap_parser_reset(p);
    CHECK_INT(imap_parser_feed(p, "a NO", 4, &used), IMAP_PARSE_MORE);
    CHECK(imap_parser_busy(p));
    CHECK_PANICS({
	IMAP_PARSER * q = imap_parser_create(NULL);
	size_t u;
	imap_parser_feed(q, "a B\r\n", 5, &u);
	imap_parser_feed(q, "a B\r\n", 5, &u);
    });
    imap_parser_free(&p);
}

TEST(test_parse_args)
{
    const char *err = NULL;
    IMAP_ARGS *a = imap_parse_args("HEADER.FIELDS (From \"To\" x)", 27, 0, 0, &err);
    size_t  n;
    const IMAP_ARG *l;
    VSTRING *out = vstring_alloc(10);

    CHECK(a != NULL);
    l = imap_args_list(a, &n);
    dump(out, l, n);
    CHECK_STR(STR(out), "HEADER.FIELDS (From \"To\" x)");
    CHECK(imap_arg_is_atom(&l[0], "header.fields"));
    CHECK(imap_arg_astring(&l[1]) == NULL);
    CHECK(imap_arg_string(&l[1].list[0]) == NULL);
    CHECK_STR(imap_arg_string(&l[1].list[1]), "To");
    imap_args_free(&a);
    CHECK(a == NULL);
    CHECK(imap_parse_args("(a", 2, 0, 0, &err) == NULL);
    CHECK_STR(err, "Missing ')'");
    CHECK(imap_parse_args("{1}\nx", 5, 0, 0, &err) == NULL);
    a = imap_parse_args("", 0, 0, 0, &err);
    CHECK(a != NULL);
    imap_args_list(a, &n);
    CHECK_INT(n, 0);
    imap_args_free(&a);

    vstring_reset(out);
    imap_quote(out, "a\"b\\c", 5);
    CHECK_STR(STR(out), "\"a\\\"b\\\\c\"");
    vstring_reset(out);
    imap_quote(out, "a\r\nb", 4);
    CHECK_STR(STR(out), "{4}\r\na\r\nb");
    vstring_reset(out);
    imap_quote_nstring(out, NULL);
    CHECK_STR(STR(out), "NIL");
    vstring_free(&out);
}

/* main - run the tests */
int     main(void)
{
    msg_init("test_imap_parser", MSG_TO_STDERR);
    RUN(test_cases);
    RUN(test_limits);
    RUN(test_line_mode);
    RUN(test_parse_args);
    return unit_done();
}
