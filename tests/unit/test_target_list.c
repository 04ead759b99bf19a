/* test_target_list - alias/.forward target list splitting, including
 * hostile input. Expected lists are written out by hand. */
#include "sys_defs.h"

#include "argv.h"
#include "mymalloc.h"
#include "target_list.h"
#include "unit.h"

/* joined - the split result as "a|b|c" with "|" between targets */
static char *joined(const char *text)
{
    ARGV *av = target_list_split(text);
    char *s = argv_join(av, "\x01");

    argv_free(&av);
    for (char *cp = s; *cp; cp++)
	if (*cp == '\x01')
	    *cp = '#';
    return s;
}

#define CHECK_SPLIT(in, want) do { char *_j = joined(in); CHECK_STR(_j, want); myfree(_j); } while (0)

TEST(plain_lists)
{
    CHECK_SPLIT("bob", "bob");
    CHECK_SPLIT("bob, carol@example.com,dave", "bob#carol@example.com#dave");
    CHECK_SPLIT("  bob  ,\tcarol  ", "bob#carol");
    CHECK_SPLIT("bob\ncarol\n", "bob#carol");
    CHECK_SPLIT("", "");
    CHECK_SPLIT(",,, ,\n\n", "");
}

TEST(commands_files_includes)
{
    CHECK_SPLIT("\"|/usr/bin/procmail -a x, y\"", "|/usr/bin/procmail -a x, y");
    CHECK_SPLIT("/var/log/mail.archive, \\bob", "/var/log/mail.archive#\\bob");
    CHECK_SPLIT(":include:/etc/mail/list", ":include:/etc/mail/list");
    CHECK_SPLIT("|cat > /tmp/x", "|cat > /tmp/x");
    CHECK_SPLIT("\"|echo \\\"q\\\"\", bob", "|echo \\\"q\\\"#bob");
}

TEST(comments)
{
    CHECK_SPLIT("# a comment\nbob\n#carol\ndave", "bob#dave");
    CHECK_SPLIT("#only a comment", "");
    CHECK_SPLIT("bob # not a comment here", "bob # not a comment here");
}

TEST(hostile)
{
    /* Unterminated quote runs to the end: one target, no crash. */
    CHECK_SPLIT("\"|cmd, bob", "\"|cmd, bob");
    CHECK_SPLIT("\"", "\"");
    CHECK_SPLIT("\"\"", "");
    CHECK_SPLIT("\"a\"b\"", "\"a\"b\"");
    CHECK_SPLIT("\\", "\\");
    CHECK_SPLIT("\"\\", "\"\\");
    /* A long list stays linear and complete. */
    {
	char *big = mymalloc(200001);
	ARGV *av;

	for (int i = 0; i < 100000; i++) {
	    big[2 * i] = 'x';
	    big[2 * i + 1] = ',';
	}
	big[200000] = 0;
	av = target_list_split(big);
	CHECK_INT(av->argc, 100000);
	argv_free(&av);
	myfree(big);
    }
}

int main(void)
{
    RUN(plain_lists);
    RUN(commands_files_includes);
    RUN(comments);
    RUN(hostile);
    return unit_done();
}
