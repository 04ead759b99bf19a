/* test_dict_static - static: and fail: tables. */
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

TEST(test_static_and_fail)
{
    DICT   *d = open_inline("static:5000");
    const char *v, *why;

    CHECK(d != NULL);
    if (d) {
	CHECK_STR(dict_tmp_get(d, "anything"), "5000");
	dict_close(&d);
    }
    d = open_inline("static:{ text with spaces }");
    CHECK(d != NULL);
    if (d) {
	CHECK_STR(dict_tmp_get(d, "x"), "text with spaces");
	dict_close(&d);
    }
    CHECK(strstr(dict_tmp_open_err("static:"), "empty value") != NULL);
    CHECK(strstr(dict_tmp_open_err("static:{ x"), "missing '}'") != NULL);
    CHECK(strstr(dict_tmp_open_err("static:{ }"), "empty value") != NULL);

    d = open_inline("fail:maintenance");
    CHECK(d != NULL);
    if (d) {
	CHECK_INT(dict_lookup(d, "x", 0, &v, &why), DICT_ERROR);
	CHECK(strstr(why, "fail:maintenance") == why);
	dict_close(&d);
    }
}

int     main(void)
{
    msg_init("test_dict_static", 0);
    RUN(test_static_and_fail);
    return unit_done();
}
