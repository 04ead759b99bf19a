/* test_dict_inline - inline:{ ... } tables, nested braces, hostile text. */
#include "sys_defs.h"

#include "dict.h"
#include "msg.h"
#include "unit.h"
#include "dict_tmp.h"

/* open_inline - open spec or NULL */
static DICT *open_inline(const char *spec)
{
    const char *why;
    DICT   *d = dict_open(spec, O_RDONLY, DICT_FLAG_FOLD_FIX, &why);

    if (d == NULL)
	fprintf(stderr, "%s\n", why);
    return d;
}

TEST(test_forms)
{
    DICT   *d = open_inline("inline:{ key = value, { Long = value with spaces, and commas }, "
			    "a=1 b=2,c= 3 , {x={y}} }");

    CHECK(d != NULL);
    if (!d)
	return;
    CHECK_STR(dict_tmp_get(d, "key"), "value");
    CHECK_STR(dict_tmp_get(d, "KEY"), "value");		/* folded */
    CHECK_STR(dict_tmp_get(d, "long"), "value with spaces, and commas");
    CHECK_STR(dict_tmp_get(d, "a"), "1");
    CHECK_STR(dict_tmp_get(d, "b"), "2");
    CHECK_STR(dict_tmp_get(d, "c"), "3");
    CHECK_STR(dict_tmp_get(d, "x"), "{y}");
    CHECK_STR(dict_tmp_get(d, "value"), "<notfound>");
    {
	const char *k, *v, *why;
	int     n = 0;

	for (int st = dict_sequence(d, DICT_SEQ_FIRST, &k, &v, &why); st == DICT_FOUND;
	     st = dict_sequence(d, DICT_SEQ_NEXT, &k, &v, &why))
	    n++;
	CHECK_INT(n, 6);
    }
    dict_close(&d);
}

TEST(test_errors)
{
    static const char *bad[] = {
	"inline:",
	"inline:key=value",
	"inline:{",
	"inline:}",
	"inline:{ }",
	"inline:{ key }",
	"inline:{ key = }x",
	"inline:{ {key = value }",
	"inline:{ key = value } }",
	"inline:{ { novalue } }",
	"inline:{ { = value } }",
	"inline:{ a=1, a=2 }",
	"inline:{ a=b{c} }",
	"inline:{ =x }",
	"inline:{ a{=x }",
	"inline:{{{{{{{{{{",
	"inline:}}}}}}}",
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
	const char *e = dict_tmp_open_err(bad[i]);

	if (strstr(e, "syntax error") == NULL)
	    UNIT_FAIL("%s: %s", bad[i], e);
    }
    CHECK_STR(dict_tmp_open_err("inline:{ a = }"), "<opened>");	/* empty value is allowed */
}

int     main(void)
{
    msg_init("test_dict_inline", 0);
    RUN(test_forms);
    RUN(test_errors);
    return unit_done();
}
