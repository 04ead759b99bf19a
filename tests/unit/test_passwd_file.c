/* test_passwd_file - Dovecot passwd-file parsing, hostile lines with
 * file:line warnings, extra fields, change detection. */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "passwd_file.h"
#include "vstring.h"
#include "unit.h"

/* has_warning - a warning equal to text */
static bool has_warning(const ARGV *w, const char *text)
{
    for (int i = 0; i < w->argc; i++)
        if (strcmp(w->argv[i], text) == 0)
            return true;
    return false;
}

TEST(test_good_lines)
{
    static const char text[] =
        "# comment\n"
        "\n"
        "alice@example.com:{PLAIN}secret:1000:1000::/home/alice::userdb_mail=maildir:~/M nopassword\n"
        "bob:{SHA512-CRYPT}$6$x$y:1001:1001:Bob B:/home/bob:/bin/sh\r\n"
        "carol:pw\n"
        "  dave:pw::::/home/dave:::::extra:colons\n"
        "erin";
    ARGV *w = argv_alloc(1);
    PASSWD_FILE *pf = passwd_file_parse("users", text, sizeof(text) - 1, w);
    const PASSWD_FILE_ENTRY *e;

    CHECK_INT(w->argc, 0);
    CHECK_INT(passwd_file_count(pf), 5);
    e = passwd_file_lookup(pf, "alice@example.com");
    CHECK(e != NULL);
    if (e) {
        CHECK_STR(e->password, "{PLAIN}secret");
        CHECK_INT(e->uid, 1000);
        CHECK_INT(e->gid, 1000);
        CHECK_STR(e->home, "/home/alice");
        CHECK_STR(passwd_file_extra(e, "userdb_mail"), "maildir:~/M");
        CHECK_STR(passwd_file_extra(e, "nopassword"), "");
        CHECK(passwd_file_extra(e, "userdb") == NULL);
        CHECK(passwd_file_extra(e, "nopass") == NULL);
    }
    e = passwd_file_lookup(pf, "bob");
    CHECK(e && strcmp(e->password, "{SHA512-CRYPT}$6$x$y") == 0 && strcmp(e->home, "/home/bob") == 0);
    e = passwd_file_lookup(pf, "carol");
    CHECK(e && e->uid == -1 && e->gid == -1 && *e->home == 0 && *e->extra == 0);
    e = passwd_file_lookup(pf, "dave");
    CHECK(e && strcmp(e->extra, ":::extra:colons") == 0);
    e = passwd_file_lookup(pf, "erin");
    CHECK(e && *e->password == 0);
    CHECK(passwd_file_lookup(pf, "Alice@example.com") == NULL);
    CHECK(passwd_file_lookup(pf, "") == NULL);
    passwd_file_free(&pf);
    CHECK(pf == NULL);
    argv_free(&w);
}

TEST(test_hostile_lines)
{
    VSTRING *text = vstring_alloc(100);
    ARGV *w = argv_alloc(1);
    PASSWD_FILE *pf;

    vstring_cat(text, ":nouser:1:1\n");				/* 1 */
    vstring_cat(text, "white space:pw\n");			/* 2 */
    vstring_cat(text, "x:pw:abc:1\n");				/* 3 */
    vstring_cat(text, "y:pw:1:-1\n");				/* 4 */
    vstring_cat(text, "z:pw:99999999999:1\n");			/* 5 */
    vstring_cat(text, "ok:pw\n");				/* 6 */
    vstring_cat(text, "ok:other\n");				/* 7 */
    vstring_cat(text, "ctl\001:pw\n");				/* 8 */
    vstring_cat(text, "nul:p");					/* 9 */
    vstring_addch(text, 0);
    vstring_cat(text, "w\n");
    for (int i = 0; i < 300; i++)				/* 10 */
        vstring_addch(text, 'u');
    vstring_cat(text, ":pw\n");
    for (int i = 0; i < PASSWD_FILE_MAX_LINE + 10; i++)	/* 11 */
        vstring_addch(text, 'l');
    vstring_cat(text, "\nlast:pw:1:2\n");			/* 12 */
    pf = passwd_file_parse("/etc/users", STR(text), LEN(text), w);
    CHECK_INT(passwd_file_count(pf), 2);
    CHECK(has_warning(w, "/etc/users:1: empty user name"));
    CHECK(has_warning(w, "/etc/users:2: white space or control character in user name"));
    CHECK(has_warning(w, "/etc/users:3: uid or gid is not a number"));
    CHECK(has_warning(w, "/etc/users:4: uid or gid is not a number"));
    CHECK(has_warning(w, "/etc/users:5: uid or gid is not a number"));
    CHECK(has_warning(w, "/etc/users:7: duplicate user ok (the first one is used)"));
    CHECK(has_warning(w, "/etc/users:8: white space or control character in user name"));
    CHECK(has_warning(w, "/etc/users:9: NUL byte in line"));
    CHECK(has_warning(w, "/etc/users:10: user name too long"));
    CHECK(has_warning(w, "/etc/users:11: line too long"));
    CHECK_INT(w->argc, 10);
    CHECK(passwd_file_lookup(pf, "ok") && strcmp(passwd_file_lookup(pf, "ok")->password, "pw") == 0);
    CHECK(passwd_file_lookup(pf, "last") && passwd_file_lookup(pf, "last")->gid == 2);
    passwd_file_free(&pf);
    /* no warnings list: still parses */
    pf = passwd_file_parse("x", STR(text), LEN(text), NULL);
    CHECK_INT(passwd_file_count(pf), 2);
    passwd_file_free(&pf);
    /* empty input */
    pf = passwd_file_parse("x", "", 0, w);
    CHECK_INT(passwd_file_count(pf), 0);
    passwd_file_free(&pf);
    vstring_free(&text);
    argv_free(&w);
}

TEST(test_open_and_changed)
{
    char path[] = "/tmp/test_passwd_file.XXXXXX";
    int fd = mkstemp(path);
    const char *err;
    ARGV *w = argv_alloc(1);
    PASSWD_FILE *pf;

    CHECK(fd >= 0);
    CHECK(write(fd, "a:pw\n", 5) == 5);
    close(fd);
    pf = passwd_file_open(path, w, &err);
    CHECK(pf != NULL);
    if (pf) {
        CHECK(!passwd_file_changed(pf));
        fd = open(path, O_WRONLY | O_APPEND);
        CHECK(write(fd, "b:pw\n", 5) == 5);
        close(fd);
        CHECK(passwd_file_changed(pf));
        passwd_file_free(&pf);
    }
    unlink(path);
    CHECK(passwd_file_open(path, w, &err) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
    CHECK(passwd_file_open("/tmp", w, &err) == NULL);
    argv_free(&w);
}

/* main - run the tests */
int main(void)
{
    RUN(test_good_lines);
    RUN(test_hostile_lines);
    RUN(test_open_and_changed);
    return unit_done();
}
