/* test_pop3_proto - POP3 command parser, UIDL format, RETR/TOP encoder,
 * with hostile input; expected bytes written out by hand. */
#include "sys_defs.h"

#include <string.h>

#include "pop3_proto.h"
#include "vstring.h"
#include "unit.h"

/* parse - parse a C string; returns the pop3_cmd_parse result */
static int parse(const char *text, POP3_CMD *cmd, const char **err)
{
    return pop3_cmd_parse(text, strlen(text), cmd, err);
}

TEST(parse_good)
{
    static POP3_CMD cmd;
    const char *err;

    CHECK_INT(parse("stat", &cmd, &err), 0);
    CHECK_STR(cmd.verb, "STAT");
    CHECK_INT(cmd.argc, 0);
    CHECK_STR(cmd.rest, "");
    CHECK_INT(parse("RETR 12", &cmd, &err), 0);
    CHECK_STR(cmd.verb, "RETR");
    CHECK_INT(cmd.argc, 1);
    CHECK_STR(cmd.args[0], "12");
    CHECK_INT(parse("Top  3   10 ", &cmd, &err), 0);
    CHECK_STR(cmd.verb, "TOP");
    CHECK_INT(cmd.argc, 2);
    CHECK_STR(cmd.args[0], "3");
    CHECK_STR(cmd.args[1], "10");
    CHECK_INT(parse("PASS pass word with  spaces ", &cmd, &err), 0);
    CHECK_STR(cmd.rest, "pass word with  spaces ");
    CHECK_INT(cmd.argc, 4);
    CHECK_INT(parse("PASS a\tb", &cmd, &err), 0);
    CHECK_STR(cmd.rest, "a\tb");
    pop3_cmd_wipe(&cmd);
    CHECK_INT(cmd.argbuf[0], 0);
}

TEST(parse_hostile)
{
    static POP3_CMD cmd;
    static char big[POP3_LINE_MAX + 10];
    const char *err;

    CHECK_INT(parse("", &cmd, &err), -1);
    CHECK_INT(parse(" STAT", &cmd, &err), -1);
    CHECK_INT(parse("ST4T", &cmd, &err), -1);
    CHECK_INT(parse("ABCDEFGHIJ", &cmd, &err), -1);
    CHECK_INT(parse("RETR\x01", &cmd, &err), -1);
    CHECK_INT(parse("RETR \x7f", &cmd, &err), -1);
    CHECK_INT(parse("\xc3\xa9", &cmd, &err), -1);
    CHECK_INT(parse("USER a b c d e", &cmd, &err), -1);
    CHECK_STR(err, "Too many arguments");
    CHECK_INT(pop3_cmd_parse("NOOP\0x", 6, &cmd, &err), -1);
    memset(big, 'A', sizeof(big) - 1);
    CHECK_INT(parse(big, &cmd, &err), -1);
    CHECK_STR(err, "Command line too long");
    memcpy(big, "NOOP ", 5);
    big[POP3_LINE_MAX] = 0;
    CHECK_INT(parse(big, &cmd, &err), 0);
    CHECK_INT(cmd.argc, 1);
}

TEST(numbers)
{
    CHECK_INT(pop3_number("1", 5, false), 1);
    CHECK_INT(pop3_number("5", 5, false), 5);
    CHECK_INT(pop3_number("6", 5, false), -1);
    CHECK_INT(pop3_number("0", 5, false), -1);
    CHECK_INT(pop3_number("0", 5, true), 0);
    CHECK_INT(pop3_number("007", 10, false), 7);
    CHECK_INT(pop3_number("-1", 5, false), -1);
    CHECK_INT(pop3_number("+1", 5, false), -1);
    CHECK_INT(pop3_number("1x", 5, false), -1);
    CHECK_INT(pop3_number("", 5, false), -1);
    CHECK_INT(pop3_number(NULL, 5, false), -1);
    CHECK_INT(pop3_number("99999999999999999999", 0x7fffffffL, false), -1);
    CHECK_INT(pop3_number("4294967297", 0x7fffffffL, false), -1);
}

TEST(uidl_format)
{
    VSTRING *out = vstring_alloc(64);
    const char *err;

    CHECK_INT(pop3_uidl_check("%08Xu%08Xv", &err), 0);
    pop3_uidl_expand(out, "%08Xu%08Xv", 0x1a, 0x65aBcdef);
    CHECK_STR(STR(out), "0000001a65abcdef");
    vstring_reset(out);
    CHECK_INT(pop3_uidl_check("%v.%u", &err), 0);
    pop3_uidl_expand(out, "%v.%u", 7, 1700000000);
    CHECK_STR(STR(out), "1700000000.7");
    vstring_reset(out);
    CHECK_INT(pop3_uidl_check("u%%%u", &err), 0);
    pop3_uidl_expand(out, "u%%%u", 42, 1);
    CHECK_STR(STR(out), "u%42");
    CHECK_INT(pop3_uidl_check("", &err), -1);
    CHECK_INT(pop3_uidl_check("%m", &err), -1);
    CHECK_INT(pop3_uidl_check("%f", &err), -1);
    CHECK_INT(pop3_uidl_check("%", &err), -1);
    CHECK_INT(pop3_uidl_check("%08X", &err), -1);
    CHECK_INT(pop3_uidl_check("%999u", &err), -1);
    CHECK_INT(pop3_uidl_check("a b%u", &err), -1);
    CHECK_INT(pop3_uidl_check("%20u%20u%20u%20u", &err), -1);	/* > 70 */
    CHECK_INT(pop3_uidl_check("%u%u%u%u%u%u%u", &err), 0);	/* 70 */
    vstring_free(&out);
}

/* encode - run the encoder over text in chunks of step bytes */
static void encode(VSTRING *out, const char *text, size_t len, long lines, size_t step)
{
    POP3_ENC enc;

    vstring_reset(out);
    pop3_enc_init(&enc, lines);
    for (size_t i = 0; i < len; i += step)
	if (!pop3_enc_feed(&enc, out, text + i, len - i < step ? len - i : step))
	    break;
    pop3_enc_finish(&enc, out);
}

TEST(encoder)
{
    static const struct {
	const char *in;
	long    lines;
	const char *out;
    }       cases[] = {
	{"", -1, ".\r\n"},
	{"a", -1, "a\r\n.\r\n"},
	{"a\n", -1, "a\r\n.\r\n"},
	{"a\r\n", -1, "a\r\n.\r\n"},
	{"a\rb\n", -1, "a\rb\r\n.\r\n"},
	{"a\r", -1, "a\r\n.\r\n"},
	{".\n..\n.x\nx.\n", -1, "..\r\n...\r\n..x\r\nx.\r\n.\r\n"},
	{"H: 1\n\nb1\nb2\nb3\n", 0, "H: 1\r\n\r\n.\r\n"},
	{"H: 1\n\nb1\nb2\nb3\n", 2, "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"},
	{"H: 1\r\n\r\nb1\r\n.b2\r\nb3", 2, "H: 1\r\n\r\nb1\r\n..b2\r\n.\r\n"},
	{"H: 1\n\nb1\n", 10, "H: 1\r\n\r\nb1\r\n.\r\n"},
	{"H: 1\nH: 2\n", 0, "H: 1\r\nH: 2\r\n.\r\n"},
	{"\n.\n", 0, "\r\n.\r\n"},
	{"\n.\n", 1, "\r\n..\r\n.\r\n"},
    };
    VSTRING *out = vstring_alloc(64);

    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	for (size_t step = 1; step <= 7; step += 3) {
	    encode(out, cases[i].in, strlen(cases[i].in), cases[i].lines, step);
	    if (strcmp(STR(out), cases[i].out) != 0)
		UNIT_FAIL("case %zu step %zu: got \"%s\"", i, step, STR(out));
	}
    }
    /* NUL bytes pass through (binary-safe) */
    encode(out, "a\0b\n", 4, -1, 2);
    CHECK_INT(LEN(out), 8);
    CHECK(memcmp(STR(out), "a\0b\r\n.\r\n", 8) == 0);
    vstring_free(&out);
}

/* main - run the tests */
int     main(void)
{
    RUN(parse_good);
    RUN(parse_hostile);
    RUN(numbers);
    RUN(uidl_format);
    RUN(encoder);
    return unit_done();
}
