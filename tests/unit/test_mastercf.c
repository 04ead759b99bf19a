/* test_mastercf - master.cf parsing: fields, defaults, -o, errors. */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "mastercf.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_mastercf.XXXXXX";
static char path[200];

/* write_n - master.cf with len bytes */
static void write_n(const char *data, size_t len)
{
    FILE   *fp = fopen(path, "w");

    if (fp == NULL)
        msg_fatal("create %s: %m", path);
    if (len && fwrite(data, 1, len, fp) != len)
        msg_fatal("write %s: %m", path);
    fclose(fp);
}

/* read_str - parse text quietly */
static MASTER_TABLE *read_str(const char *text, const char **err)
{
    write_n(text, strlen(text));
    *err = NULL;
    return mastercf_read_flags(path, MASTERCF_FLAG_QUIET, err);
}

#define CHECK_SUBSTR(hay, needle) do { const char *_h = (hay), *_n = (needle); \
        if (_h == NULL || strstr(_h, _n) == NULL) \
            UNIT_FAIL("\"%s\" does not contain \"%s\"", _h ? _h : "(null)", _n); } while (0)

/* joined - words of an ARGV joined by "|" (static buffer) */
static const char *joined(const ARGV *ap)
{
    static char *last;

    myfree(last);
    last = argv_join(ap, "|");
    return last;
}

TEST(test_good)
{
    const char *err;
    MASTER_TABLE *mt;
    MASTER_ENTRY *e;

    mt = read_str("# header comment\n"
                  "\n"
                  "smtp      inet  n       -       n       -       -       smtpd\n"
                  "submission inet - - - - 10 smtpd\n"
                  "  -o syslog_name=posthorn/submission\n"
                  "  # a comment between continuation lines\n"
                  "\n"
                  "  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n"
                  "\t-o smtpd_tls_security_level=encrypt -v\n"
                  "qmgr unix n - n 300 1 qmgr\n"
                  "flush unix n - y 1000? 0 flush\n"
                  "127.0.0.1:2525 inet n - n - - smtpd\n"
                  "pipe1 unix - n n - - pipe flags=R argv=/bin/cat { a b } ${recipient}\n"
                  "dgram unix-dgram n - n - 1 postlogd\n", &err);
    CHECK(mt != NULL);
    if (mt == NULL) {
        UNIT_FAIL("%s", err);
        return;
    }
    CHECK_INT(mt->count, 7);
    CHECK_STR(mt->path, path);

    e = mt->entries[0];
    CHECK_STR(e->name, "smtp");
    CHECK_STR(e->type, "inet");
    CHECK(e->private_ == false);
    CHECK(e->unpriv == true);
    CHECK(e->chroot == false);
    CHECK_INT(e->wakeup, 0);
    CHECK(!e->wakeup_if_used);
    CHECK_INT(e->maxproc, -1);
    CHECK_STR(e->command, "smtpd");
    CHECK_INT(e->args->argc, 0);
    CHECK_INT(e->overrides->argc, 0);
    CHECK_INT(e->line, 3);

    e = mastercf_find(mt, "submission", "inet");
    CHECK(e != NULL && e == mt->entries[1]);
    CHECK_INT(e->line, 4);
    CHECK(e->private_ == true);
    CHECK_INT(e->maxproc, 10);
    CHECK_STR(joined(e->overrides), "syslog_name=posthorn/submission|"
              "smtpd_client_restrictions=permit_sasl_authenticated, reject|"
              "smtpd_tls_security_level=encrypt");
    CHECK_STR(joined(e->args), "-v");
    CHECK_STR(joined(e->words), "submission|inet|-|-|-|-|10|smtpd|"
              "-o|syslog_name=posthorn/submission|"
              "-o|smtpd_client_restrictions=permit_sasl_authenticated, reject|"
              "-o|smtpd_tls_security_level=encrypt|-v");

    e = mastercf_find(mt, "qmgr", "unix");
    CHECK_INT(e->wakeup, 300);
    CHECK_INT(e->maxproc, 1);
    e = mastercf_find(mt, "flush", "unix");
    CHECK_INT(e->wakeup, 1000);
    CHECK(e->wakeup_if_used);
    CHECK(e->chroot == true);
    CHECK_INT(e->maxproc, 0);
    CHECK(mastercf_find(mt, "127.0.0.1:2525", "inet") != NULL);
    e = mastercf_find(mt, "pipe1", "unix");
    CHECK(e->unpriv == false);
    CHECK_STR(joined(e->args), "flags=R|argv=/bin/cat|a b|${recipient}");
    CHECK(mastercf_find(mt, "dgram", "unix-dgram") != NULL);
    CHECK(mastercf_find(mt, "smtp", "unix") == NULL);
    CHECK(mastercf_find(mt, "nosuch", "inet") == NULL);
    mastercf_free(&mt);
    CHECK(mt == NULL);
}

TEST(test_empty)
{
    const char *err;
    MASTER_TABLE *mt = read_str("# only comments\n\n   \n#x\n", &err);

    CHECK(mt != NULL && mt->count == 0);
    mastercf_free(&mt);
    mt = read_str("", &err);
    CHECK(mt != NULL && mt->count == 0);
    mastercf_free(&mt);
    /* Last line without a newline. */
    mt = read_str("a unix - - - - - x\n  -o a=b", &err);
    CHECK(mt != NULL && mt->count == 1);
    if (mt)
        CHECK_STR(joined(mt->entries[0]->overrides), "a=b");
    mastercf_free(&mt);
}

static const struct {
    const char *text;
    const char *error;
} bad_cases[] = {
    {"smtp inet n - n - -\n", "line 1: bad field count (7, expected at least 8)"},
    {"# c\nsmtp inet n - n - - smtpd\nx\n", "line 3: bad field count"},
    {"smtp bogus n - n - - smtpd\n", "line 1: invalid type field \"bogus\""},
    {"smtp inet x - n - - smtpd\n", "line 1: invalid private field \"x\""},
    {"smtp inet n yes n - - smtpd\n", "line 1: invalid unpriv field \"yes\""},
    {"smtp inet n - 1 - - smtpd\n", "line 1: invalid chroot field \"1\""},
    {"smtp inet n - n abc - smtpd\n", "line 1: invalid wakeup field \"abc\""},
    {"smtp inet n - n ? - smtpd\n", "line 1: invalid wakeup field \"?\""},
    {"smtp inet n - n 5?? - smtpd\n", "line 1: invalid wakeup field \"5??\""},
    {"smtp inet n - n -5 - smtpd\n", "line 1: invalid wakeup field \"-5\""},
    {"smtp inet n - n 99999999999 - smtpd\n", "line 1: invalid wakeup field"},
    {"smtp inet n - n - -5 smtpd\n", "line 1: invalid maxproc field \"-5\""},
    {"smtp inet n - n - 1x smtpd\n", "line 1: invalid maxproc field \"1x\""},
    {"smtp inet n - n - 99999999999999999999 smtpd\n", "line 1: invalid maxproc field"},
    {"smtp inet n - n - - smtpd -o\n", "line 1: -o without name=value"},
    {"smtp inet n - n - - smtpd\n  -o foo\n", "line 1: -o needs name=value: \"foo\""},
    {"smtp inet n - n - - smtpd -o =x\n", "line 1: -o: bad parameter name: \"=x\""},
    {"smtp inet n - n - - smtpd -o {a b = c}\n", "line 1: -o: bad parameter name"},
    {"smtp inet n - n - - smtpd -o { a = b\n", "line 1: missing '}'"},
    {"smtp inet n - n - - smtpd\n  -o { a = b\n  -o c=d\n", "line 1: missing '}'"},
    {"smtp inet n - n - - smtpd {x}y\n", "line 1: text after '}'"},
    {"{smtp} inet n - n - - smtpd\n", "line 1: field 1 may not be a {} group"},
    {"smtp inet n - n - - {smtpd}\n", "line 1: field 8 may not be a {} group"},
    {"  -o a=b\nsmtp inet n - n - - smtpd\n", "line 1: continuation line (starting with white space) before any service"},
    {"smtp inet n - n - - smtpd\nsmtp inet n - n - - smtpd\n", "line 2: duplicate service smtp/inet (first at line 1)"},
    {"127.0.0.1: inet n - n - - smtpd\n", "line 1: service \"127.0.0.1:\": inet service needs [host:]port"},
    {":25 inet n - n - - smtpd\n", "empty host in inet service"},
    {"../evil unix n - n - - x\n", "line 1: service \"../evil\": service name must be a path"},
    {"/abs unix n - n - - x\n", "service name must be a path"},
};

TEST(test_bad)
{
    const char *err;

    for (size_t i = 0; i < PH_ARRAY_LEN(bad_cases); i++) {
        MASTER_TABLE *mt = read_str(bad_cases[i].text, &err);

        if (mt != NULL) {
            UNIT_FAIL("case %zu (%s) parsed", i, bad_cases[i].text);
            mastercf_free(&mt);
        } else {
            CHECK_SUBSTR(err, bad_cases[i].error);
            CHECK(strncmp(err, path, strlen(path)) == 0);
        }
    }
}

TEST(test_hostile)
{
    const char *err;
    static const char nul[] = "smtp inet n - n - - smtpd\n  -o a=\0b\n";
    size_t  big = 1024 * 1024 + 10;
    char   *text = mymalloc(big);
    VSTRING *v = vstring_alloc(100);
    MASTER_TABLE *mt;

    write_n(nul, sizeof(nul) - 1);
    CHECK(mastercf_read(path, &err) == NULL);
    CHECK_SUBSTR(err, "line 2: NUL byte in line");

    memcpy(text, "smtp inet n - n - - smtpd ", 26);
    memset(text + 26, 'a', big - 26);
    write_n(text, big);
    CHECK(mastercf_read(path, &err) == NULL);
    CHECK_SUBSTR(err, "line 1: line longer than 1048576 bytes");

    vstring_cat(v, "smtp inet n - n - - smtpd");
    for (int i = 0; i < 2000; i++) {
        vstring_cat(v, "\n  -o x=");
        for (int j = 0; j < 600; j++)
            vstring_addch(v, 'v');
    }
    write_n(STR(v), LEN(v));
    CHECK(mastercf_read(path, &err) == NULL);
    CHECK_SUBSTR(err, "line 1: logical line longer than 1048576 bytes");

    /* Deep braces are fine (no recursion). */
    vstring_set(v, "smtp inet n - n - - smtpd ");
    for (int i = 0; i < 10000; i++)
        vstring_addch(v, '{');
    for (int i = 0; i < 10000; i++)
        vstring_addch(v, '}');
    vstring_addch(v, '\n');
    write_n(STR(v), LEN(v));
    mt = mastercf_read(path, &err);
    CHECK(mt != NULL);
    mastercf_free(&mt);

    CHECK(mastercf_read("/nonexistent/dir/master.cf", &err) == NULL);
    CHECK_STR(err, "open /nonexistent/dir/master.cf: No such file or directory");
    myfree(text);
    vstring_free(&v);
}

int     main(void)
{
    int     rc;

    msg_init("test_mastercf", MSG_TO_STDERR);
    if (mkdtemp(tmpdir) == NULL)
        msg_fatal("mkdtemp: %m");
    snprintf(path, sizeof(path), "%s/master.cf", tmpdir);
    RUN(test_good);
    RUN(test_empty);
    RUN(test_bad);
    RUN(test_hostile);
    rc = unit_done();
    unlink(path);
    rmdir(tmpdir);
    return rc;
}
