/* test_path_expand - forward_path style template expansion, including
 * hostile templates. */
#include "sys_defs.h"

#include <string.h>

#include "path_expand.h"
#include "vstring.h"
#include "unit.h"

/* lookup - home, user, extension (defined); delim undefined */
static const char *lookup(const char *name, size_t len, void *ctx)
{
    static const char *table[][2] = {
	{"home", "/home/bob"}, {"user", "bob"}, {"extension", "lists"}, {"recipient_delimiter", "+"},
    };

    (void) ctx;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
	if (strlen(table[i][0]) == len && strncmp(table[i][0], name, len) == 0)
	    return table[i][1];
    return NULL;
}

#define CHECK_EXP(pat, rc, want) do { VSTRING *_o = vstring_alloc(10); \
	CHECK_INT(path_expand(_o, (pat), lookup, NULL), (rc)); \
	if ((rc) != PATH_EXPAND_SYNTAX) CHECK_STR(STR(_o), (want)); \
	vstring_free(&_o); } while (0)

TEST(defined_values)
{
    CHECK_EXP("$home/.forward", PATH_EXPAND_OK, "/home/bob/.forward");
    CHECK_EXP("${home}/.forward${recipient_delimiter}${extension}", PATH_EXPAND_OK,
	      "/home/bob/.forward+lists");
    CHECK_EXP("$(home)/x", PATH_EXPAND_OK, "/home/bob/x");
    CHECK_EXP("/var/forward/$user", PATH_EXPAND_OK, "/var/forward/bob");
    CHECK_EXP("no dollars", PATH_EXPAND_OK, "no dollars");
    CHECK_EXP("cost $ 5", PATH_EXPAND_OK, "cost $ 5");
    CHECK_EXP("trailing $", PATH_EXPAND_OK, "trailing $");
    CHECK_EXP("$$HOME/$$$user", PATH_EXPAND_OK, "$HOME/$bob");
}

TEST(undefined_and_conditionals)
{
    CHECK_EXP("$home/.forward$nothing", PATH_EXPAND_UNDEF, "/home/bob/.forward");
    CHECK_EXP("${nothing}", PATH_EXPAND_UNDEF, "");
    CHECK_EXP("${extension?+}${extension}", PATH_EXPAND_OK, "+lists");
    CHECK_EXP("${nothing?yes}${nothing:no}", PATH_EXPAND_OK, "no");
    CHECK_EXP("${home:x}${home?y}", PATH_EXPAND_OK, "y");
}

TEST(hostile)
{
    CHECK_EXP("${home", PATH_EXPAND_SYNTAX, "");
    CHECK_EXP("${}", PATH_EXPAND_SYNTAX, "");
    CHECK_EXP("${!x}", PATH_EXPAND_SYNTAX, "");
    CHECK_EXP("${home!x}", PATH_EXPAND_SYNTAX, "");
    CHECK_EXP("$(home}", PATH_EXPAND_SYNTAX, "");
    CHECK_EXP("${", PATH_EXPAND_SYNTAX, "");
    /* Output is bounded. */
    {
	char pat[20001];
	VSTRING *o = vstring_alloc(10);

	for (int i = 0; i < 4000; i++)
	    memcpy(pat + 5 * i, "$home", 5);
	pat[20000] = 0;
	CHECK_INT(path_expand(o, pat, lookup, NULL), PATH_EXPAND_SYNTAX);
	CHECK(LEN(o) <= PATH_EXPAND_MAX + 64);
	vstring_free(&o);
    }
}

int main(void)
{
    RUN(defined_values);
    RUN(undefined_and_conditionals);
    RUN(hostile);
    return unit_done();
}
