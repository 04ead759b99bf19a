/* test_dict_unix - unix:passwd.byname and unix:group.byname. */
#include "sys_defs.h"

#include "dict.h"
#include "msg.h"
#include "unit.h"
#include "dict_tmp.h"

TEST(test_passwd)
{
    const char *why;
    DICT   *d = dict_open("proxy:unix:passwd.byname", O_RDONLY, DICT_FLAG_FOLD_FIX, &why);

    CHECK(d != NULL);
    if (!d)
	return;
    CHECK(strncmp(dict_tmp_get(d, "root"), "root:x:0:0:", 11) == 0);
    CHECK(strncmp(dict_tmp_get(d, "ROOT"), "root:x:0:0:", 11) == 0);	/* folded */
    CHECK_STR(dict_tmp_get(d, "no-such-user-ph"), "<notfound>");
    CHECK_STR(dict_tmp_get(d, ""), "<notfound>");
    dict_close(&d);
}

TEST(test_group)
{
    const char *why;
    DICT   *d = dict_open("unix:group.byname", O_RDONLY, 0, &why);

    CHECK(d != NULL);
    if (!d)
	return;
    CHECK(strncmp(dict_tmp_get(d, "root"), "root:x:0:", 9) == 0);
    CHECK_STR(dict_tmp_get(d, "no-such-group-ph"), "<notfound>");
    dict_close(&d);
    CHECK(strstr(dict_tmp_open_err("unix:shadow.byname"), "unknown table") != NULL);
}

int     main(void)
{
    msg_init("test_dict_unix", 0);
    RUN(test_passwd);
    RUN(test_group);
    return unit_done();
}
