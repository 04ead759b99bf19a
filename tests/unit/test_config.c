/* test_config - main.cf reading, expansion, typed values, warnings, reload.
 *
 * Each case writes main.cf into a private temp directory and loads it.
 * Expected values and messages are written out by hand, not computed by
 * the code under test. The -o cases run last: overrides cannot be undone.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";

/* write_file - DIR/name with len bytes */
static void write_file(const char *name, const char *data, size_t len)
{
    VSTRING *path = vstring_alloc(100);
    FILE   *fp;

    vstring_fmt(path, "%s/%s", tmpdir, name);
    if ((fp = fopen(STR(path), "w")) == NULL)
        msg_fatal("create %s: %m", STR(path));
    if (len && fwrite(data, 1, len, fp) != len)
        msg_fatal("write %s: %m", STR(path));
    fclose(fp);
    vstring_free(&path);
}

/* write_str - DIR/name with a C string */
static void write_str(const char *name, const char *data)
{
    write_file(name, data, strlen(data));
}

/* remove_file - DIR/name */
static void remove_file(const char *name)
{
    VSTRING *path = vstring_alloc(100);

    vstring_fmt(path, "%s/%s", tmpdir, name);
    unlink(STR(path));
    vstring_free(&path);
}

/* load_n - write len bytes as main.cf and load without warnings */
static int load_n(const char *text, size_t len, const char **err)
{
    write_file("main.cf", text, len);
    *err = NULL;
    return config_load(CONFIG_FLAG_NO_WARN, err);
}

/* load - NUL-terminated form */
static int load(const char *text, const char **err)
{
    return load_n(text, strlen(text), err);
}

/* load_warnings - load with warnings on; stderr text into out */
static int load_warnings(const char *text, VSTRING *out)
{
    char    path[] = "/tmp/test_config_err.XXXXXX";
    int     fd = mkstemp(path), saved = dup(2), rc;
    const char *err;
    char    buf[4096];
    ssize_t n;

    write_file("main.cf", text, strlen(text));
    fflush(stderr);
    dup2(fd, 2);
    rc = config_load(CONFIG_FLAG_NONE, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    vstring_reset(out);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        vstring_catn(out, buf, (size_t) n);
    close(fd);
    unlink(path);
    return rc;
}

/* expand - config_expand of text into a static buffer, or "ERROR: ..." */
static const char *expand(const char *text)
{
    static VSTRING *buf;
    const char *err;

    if (buf == NULL)
        buf = vstring_alloc(100);
    vstring_reset(buf);
    if (config_expand(buf, text, &err) < 0)
        vstring_fmt(buf, "ERROR: %s", err);
    return STR(buf);
}

#define CHECK_SUBSTR(hay, needle) do { const char *_h = (hay), *_n = (needle); \
        if (_h == NULL || strstr(_h, _n) == NULL) \
            UNIT_FAIL("\"%s\" does not contain \"%s\"", _h ? _h : "(null)", _n); } while (0)

TEST(test_mail_config_env)
{
    /* Runs first: before config_set_dir, $MAIL_CONFIG selects the dir. */
    setenv("MAIL_CONFIG", tmpdir, 1);
    CHECK_STR(config_get_dir(), tmpdir);
    VSTRING *want = vstring_alloc(100);

    vstring_fmt(want, "%s/main.cf", tmpdir);
    CHECK_STR(config_main_cf(), STR(want));
    vstring_fmt(want, "%s/master.cf", tmpdir);
    CHECK_STR(config_master_cf(), STR(want));
    vstring_free(&want);
    unsetenv("MAIL_CONFIG");
    config_set_dir(tmpdir);
}

TEST(test_basic)
{
    const char *err;
    size_t  n;
    const CONFIG_ENTRY *ents;

    CHECK_INT(load("# comment\n"
                   "\n"
                   "myhostname = mail.example.com\n"
                   "mydestination = a,\n"
                   "    b,\n"
                   "  # a comment inside the continuation\n"
                   "\n"
                   "\tc\n"
                   "message_size_limit=12345   \n"
                   "smtpd_helo_required = YES\n"
                   "max_idle = 2m\n"
                   "user_thing = $myhostname\n"
                   "myhostname = second.example.com\n", &err), 0);
    CHECK_STR(config_lookup_raw("mydestination"), "a, b, c");
    CHECK_STR(config_lookup("myhostname"), "second.example.com");
    CHECK_STR(config_lookup("user_thing"), "second.example.com");
    CHECK_STR(var_myhostname, "second.example.com");
    CHECK_INT(var_message_size_limit, 12345);
    CHECK(var_smtpd_helo_required == true);
    CHECK_INT(var_max_idle, 120);
    CHECK_INT(var_maximal_queue_lifetime, 5 * 86400);
    CHECK_STR(var_myorigin, "second.example.com");
    CHECK_STR(var_mydomain, "example.com");
    CHECK_STR(var_smtpd_banner, "second.example.com ESMTP Posthorn");
    CHECK_INT(var_smtp_destination_concurrency_limit, 20);
    CHECK(config_is_set("mydestination"));
    CHECK(!config_is_set("relayhost"));
    CHECK(config_lookup("no_such_parameter") == NULL);
    CHECK(config_lookup_raw("no_such_parameter") == NULL);
    CHECK_STR(config_lookup("relayhost"), "");

    /* Entries in file order; a duplicate keeps its place, takes the later
     * value and line. */
    ents = config_entries(&n);
    CHECK_INT(n, 6);
    CHECK_STR(ents[0].name, "myhostname");
    CHECK_STR(ents[0].value, "second.example.com");
    CHECK_INT(ents[0].line, 13);
    CHECK_STR(ents[1].name, "mydestination");
    CHECK_INT(ents[1].line, 4);
    CHECK_STR(ents[2].name, "message_size_limit");
    CHECK_INT(ents[2].line, 9);
}

TEST(test_unterminated_last_line)
{
    const char *err;

    CHECK_INT(load("mydestination = x\n  y", &err), 0);
    CHECK_STR(config_lookup("mydestination"), "x y");
    CHECK_INT(load("relayhost = [a]:587", &err), 0);
    CHECK_STR(var_relayhost, "[a]:587");
    CHECK_INT(load("", &err), 0);
    CHECK_STR(var_relayhost, "");
    CHECK_INT(load("relayhost =\n", &err), 0);
    CHECK_STR(var_relayhost, "");
    CHECK_INT(load("crlf = a\r\n  b\r\n", &err), 0);
    CHECK_STR(config_lookup("crlf"), "a b");
}

static const struct {
    const char *text;
    const char *error;		/* substring, path excluded */
} bad_cases[] = {
    {"a = 1\nbad line\n", "main.cf, line 2: missing '=' after parameter name: \"bad line\""},
    {"  cont\na = 1\n", "main.cf, line 1: continuation line"},
    {"# c\n\n\t x = 1\n", "main.cf, line 3: continuation line"},
    {"bad name = 1\n", "main.cf, line 1: bad parameter name: \"bad name\""},
    {"= 1\n", "main.cf, line 1: bad parameter name"},
    {"a-b = 1\n", "main.cf, line 1: bad parameter name: \"a-b\""},
    {"message_size_limit = abc\n", "main.cf, line 1: parameter message_size_limit: bad numerical value: abc"},
    {"x = 1\nmessage_size_limit = 12k\n", "main.cf, line 2: parameter message_size_limit: bad numerical value: 12k"},
    {"message_size_limit = 99999999999999999999999\n", "parameter message_size_limit: bad numerical value"},
    {"message_size_limit = -1\n", "parameter message_size_limit: value -1 out of range (0..2147483647)"},
    {"header_size_limit = 5\n", "line 1: parameter header_size_limit: value 5 out of range (1024..104857600)"},
    {"hash_queue_depth = 5\n", "parameter hash_queue_depth: value 5 out of range (1..4)"},
    {"smtpd_helo_required = maybe\n", "line 1: parameter smtpd_helo_required: bad boolean value: maybe"},
    {"smtpd_helo_required =\n", "parameter smtpd_helo_required: bad boolean value"},
    {"max_idle = 5x\n", "parameter max_idle: bad time value: 5x"},
    {"max_idle = 5mm\n", "parameter max_idle: bad time value: 5mm"},
    {"max_idle = s\n", "parameter max_idle: bad time value: s"},
    {"max_idle = -5\n", "parameter max_idle: bad time value: -5"},
    {"max_idle = 2d\n", "parameter max_idle: value 2d out of range (1..86400 seconds)"},
    {"max_idle = 0\n", "parameter max_idle: value 0 out of range"},
    {"max_idle = 99999999999999999999w\n", "parameter max_idle: bad time value"},
    {"smtpd_tls_security_level = maybe\n", "parameter smtpd_tls_security_level: invalid value \"maybe\" (expected none, may, encrypt or empty)"},
    {"inet_protocols = ipv5\n", "parameter inet_protocols: invalid value \"ipv5\""},
    {"inet_protocols =\n", "parameter inet_protocols: invalid value"},
    {"mynetworks_style = world\n", "parameter mynetworks_style: invalid value"},
    {"smtpd_forbid_bare_newline = sometimes\n", "parameter smtpd_forbid_bare_newline: invalid value"},
    {"smtp_address_preference = ipv7\n", "parameter smtp_address_preference"},
    {"ssl = always\n", "parameter ssl: invalid value \"always\" (expected no, yes, required)"},
    {"smtp_tls_security_level = strong\n", "parameter smtp_tls_security_level: invalid value"},
    {"a = $b\nb = $a\nmyhostname = $a\n", "line 3: parameter myhostname: expansion loop: $a -> $b -> $a"},
    {"a = $b\nb = $a\n", "line 1: parameter a: expansion loop: $a -> $b -> $a"},
    {"a = ${b}\nb = $(c)\nc = x$a\n", "parameter a: expansion loop: $a -> $b -> $c -> $a"},
    {"myhostname = $mydomain\nmydomain = $myhostname\n", "parameter myhostname: expansion loop: $myhostname -> $mydomain -> $myhostname"},
    {"a = ${a?x}\n", "parameter a: expansion loop: $a -> $a"},
    {"a = x ${b\n", "parameter a: missing '}' after \"${\""},
    {"a = x $(b\n", "parameter a: missing ')' after \"$(\""},
    {"a = x ${}\n", "parameter a: empty or bad name after \"${\""},
    {"a = x ${b!c}\n", "parameter a: bad character '!' after \"${b\""},
    {"a = cost $ 5\n", "parameter a: \"$\" not followed by a name"},
    {"a = trailing $\n", "parameter a: \"$\" not followed by a name"},
    {"relayhost = $bad\nbad = ${x\n", "line 2: parameter bad: missing '}'"},
};

TEST(test_bad_input)
{
    const char *err;

    for (size_t i = 0; i < PH_ARRAY_LEN(bad_cases); i++) {
        int     rc = load(bad_cases[i].text, &err);

        if (rc != -1)
            UNIT_FAIL("case %zu (%s) loaded", i, bad_cases[i].text);
        else
            CHECK_SUBSTR(err, bad_cases[i].error);
    }
    /* The message starts with the full path of main.cf. */
    CHECK_INT(load("x\n", &err), -1);
    CHECK(strncmp(err, config_main_cf(), strlen(config_main_cf())) == 0);
}

TEST(test_nul_and_long_lines)
{
    const char *err;
    static const char nul1[] = "a = 1\nmyhostname = x\0y\n";
    static const char nul2[] = "mydestination = a,\n  b\0,\n";
    static const char nul3[] = "\0\n";
    size_t  big = 1024 * 1024 + 100;
    char   *text = mymalloc(big + 1);
    VSTRING *v = vstring_alloc(100);

    CHECK_INT(load_n(nul1, sizeof(nul1) - 1, &err), -1);
    CHECK_SUBSTR(err, "main.cf, line 2: parameter myhostname: NUL byte in line");
    CHECK_INT(load_n(nul2, sizeof(nul2) - 1, &err), -1);
    CHECK_SUBSTR(err, "main.cf, line 2: parameter mydestination: NUL byte in line");
    CHECK_INT(load_n(nul3, sizeof(nul3) - 1, &err), -1);
    CHECK_SUBSTR(err, "main.cf, line 1: NUL byte in line");

    /* One physical line over 1 MiB. */
    memcpy(text, "myhostname = ", 13);
    memset(text + 13, 'x', big - 13);
    CHECK_INT(load_n(text, big, &err), -1);
    CHECK_SUBSTR(err, "main.cf, line 1: parameter myhostname: line longer than 1048576 bytes");

    /* A logical line over 1 MiB made of short continuation lines. */
    vstring_cat(v, "# first\nmydestination = a");
    for (int i = 0; i < 1100; i++) {
        vstring_cat(v, "\n  ");
        for (int j = 0; j < 1000; j++)
            vstring_addch(v, 'b');
    }
    CHECK_INT(load_n(STR(v), LEN(v), &err), -1);
    CHECK_SUBSTR(err, "main.cf, line 2: parameter mydestination: logical line longer than 1048576 bytes");

    /* Just under the limit is fine. */
    memcpy(text, "relayhost = ", 12);
    memset(text + 12, 'y', 1000000);
    text[1000012] = '\n';
    CHECK_INT(load_n(text, 1000013, &err), 0);
    CHECK_INT(strlen(var_relayhost), 1000000);
    myfree(text);
    vstring_free(&v);
}

TEST(test_expansion_bounds)
{
    const char *err;
    VSTRING *v = vstring_alloc(1000);

    /* Exponential growth: a1 = $a0$a0, ..., a30: stopped at 4 MiB. */
    vstring_cat(v, "a0 = xxxxxxxxxxxxxxxx\n");
    for (int i = 1; i <= 30; i++)
        vstring_fmt_append(v, "a%d = $a%d$a%d\n", i, i - 1, i - 1);
    CHECK_INT(load(STR(v), &err), -1);
    CHECK_SUBSTR(err, "bytes after expansion");

    /* A chain of 200 names: stopped by the depth limit, not the stack. */
    vstring_reset(v);
    for (int i = 0; i < 200; i++)
        vstring_fmt_append(v, "c%d = $c%d\n", i, i + 1);
    CHECK_INT(load(STR(v), &err), -1);
    CHECK_SUBSTR(err, "nested more than");

    /* Deeply nested conditionals. */
    vstring_set(v, "x = 1\nd = ");
    for (int i = 0; i < 5000; i++)
        vstring_cat(v, "${x?");
    for (int i = 0; i < 5000; i++)
        vstring_cat(v, "}");
    vstring_cat(v, "\n");
    CHECK_INT(load(STR(v), &err), -1);
    CHECK_SUBSTR(err, "nested more than");
    vstring_free(&v);
}

TEST(test_expand)
{
    const char *err;

    CHECK_INT(load("full = yes\nempty =\nname = world\nref = $name\n"
                   "lit = a$$b\n", &err), 0);
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"hello $name", "hello world"},
        {"hello ${name}!", "hello world!"},
        {"hello $(name)!", "hello world!"},
        {"$name$name", "worldworld"},
        {"$ref.", "world."},
        {"${full?set}", "set"},
        {"${full:unset}", ""},
        {"${empty?set}", ""},
        {"${empty:unset}", "unset"},
        {"${nosuch:unset}", "unset"},
        {"${nosuch?set}", ""},
        {"${full?${name}-$ref}", "world-world"},
        {"${full?a{b}c}", "a{b}c"},
        {"$(full?x)", "x"},
        {"$$name", "$name"},
        {"$lit", "a$b"},
        {"a $nosuch b", "a  b"},
        {"no refs at all", "no refs at all"},
        {"", ""},
        {"${name", "ERROR: missing '}' after \"${\""},
        {"$", "ERROR: \"$\" not followed by a name, {name}, (name) or $"},
        {"${ name}", "ERROR: empty or bad name after \"${\""},
    };
    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++)
        CHECK_STR(expand(cases[i].in), cases[i].out);
}

TEST(test_computed_defaults)
{
    const char *err;
    const PARAM_DEF *p;

    CHECK_INT(load("myhostname = host.sub.example.org\n", &err), 0);
    CHECK_STR(var_config_directory, tmpdir);
    CHECK_STR(var_queue_directory, DEF_QUEUE_DIR);
    CHECK_STR(var_data_directory, DEF_DATA_DIR);
    CHECK_STR(var_daemon_directory, DEF_DAEMON_DIR);
    CHECK_STR(var_command_directory, DEF_COMMAND_DIR);
    CHECK_STR(var_manpage_directory, DEF_MANPAGE_DIR);
    CHECK_STR(var_mydomain, "sub.example.org");
    CHECK_STR(var_mail_version, POSTHORN_VERSION);
    CHECK(atol(var_process_id) == (long) getpid());

    /* "myhostname = mail.$mydomain" must not loop through the computed
     * mydomain default. */
    CHECK_INT(load("myhostname = mail.$mydomain\n", &err), 0);
    CHECK(strncmp(var_myhostname, "mail.", 5) == 0);
    CHECK(strchr(var_mydomain, '$') == NULL);

    /* The system host name is always qualified. */
    p = param_find("myhostname");
    CHECK(p != NULL && strchr(config_default(p), '.') != NULL);
    p = param_find("myorigin");
    CHECK_STR(config_default(p), "$myhostname");

    config_set_process("testprog");
    CHECK_INT(load("", &err), 0);
    CHECK_STR(var_process_name, "testprog");
    CHECK_STR(config_lookup("process_name"), "testprog");
}

TEST(test_defaults_only)
{
    const char *err;

    write_str("main.cf", "relayhost = x\nmyorigin = o\n");
    CHECK_INT(config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_DEFAULTS_ONLY, &err), 0);
    CHECK_STR(config_lookup_raw("relayhost"), "");
    CHECK_STR(config_lookup_raw("myorigin"), "$myhostname");
    CHECK(!config_is_set("relayhost"));
    CHECK_INT(config_load(CONFIG_FLAG_NO_WARN, &err), 0);
    CHECK_STR(config_lookup_raw("relayhost"), "x");
}

TEST(test_no_eval_and_missing_file)
{
    const char *err;

    /* NO_EVAL reads the file but checks no types (postconf can show and
     * fix a bad value). */
    write_str("main.cf", "message_size_limit = abc\n");
    CHECK_INT(config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_EVAL, &err), 0);
    CHECK_STR(config_lookup_raw("message_size_limit"), "abc");

    remove_file("main.cf");
    CHECK_INT(config_load(CONFIG_FLAG_NO_WARN, &err), -1);
    CHECK_SUBSTR(err, "open ");
    CHECK_SUBSTR(err, "main.cf: No such file or directory");
    CHECK_INT(config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &err), 0);
    CHECK_INT(var_message_size_limit, 10240000);
}

TEST(test_reload)
{
    const char *err;
    size_t  n;

    CHECK_INT(load("relayhost = first\nmine = 1\nmessage_size_limit = 1000\n", &err), 0);
    CHECK_STR(var_relayhost, "first");
    CHECK_STR(config_lookup("mine"), "1");
    CHECK_INT(load("relayhost = second\n", &err), 0);
    CHECK_STR(var_relayhost, "second");
    CHECK(config_lookup("mine") == NULL);
    CHECK_INT(var_message_size_limit, 10240000);
    config_entries(&n);
    CHECK_INT(n, 1);
    /* A failed load, then a good one. */
    CHECK_INT(load("relayhost = $\n", &err), -1);
    CHECK_STR(var_relayhost, "second");	/* a failed reload changes no var_* */
    CHECK_INT(load("relayhost = fourth\nmessage_size_limit = x\n", &err), -1);
    CHECK_STR(var_relayhost, "second");
    CHECK_INT(load("relayhost = fifth\nu1 = $u2\nu2 = $u1\n", &err), -1);
    CHECK_SUBSTR(err, "parameter u1: expansion loop");
    CHECK_STR(var_relayhost, "second");
    CHECK_INT(load("relayhost = third\n", &err), 0);
    CHECK_STR(var_relayhost, "third");
}

TEST(test_unknown_warnings)
{
    VSTRING *out = vstring_alloc(100);

    remove_file("master.cf");
    CHECK_INT(load_warnings("typo_param = 1\n"
                            "helper = x\n"
                            "relayhost = $helper\n"
                            "cond_ref = y\n"
                            "smtpd_banner = ${cond_ref?yes} $(paren_ref)\n"
                            "paren_ref = z\n"
                            "myhostname = a\n"
                            "myhostname = b\n", out), 0);
    CHECK_SUBSTR(STR(out), "main.cf, line 1: unknown parameter typo_param");
    CHECK(strstr(STR(out), "helper") == NULL);
    CHECK(strstr(STR(out), "cond_ref") == NULL);
    CHECK(strstr(STR(out), "paren_ref") == NULL);
    CHECK_SUBSTR(STR(out), "main.cf, line 8: overriding earlier entry: myhostname=a");

    /* master.cf -o settings and references make a name known. */
    write_str("master.cf",
              "# comment\n"
              "smtp inet n - n - - smtpd\n"
              "  -o smtpd_client_restrictions=$my_restrictions\n"
              "  -o { user_setting = a b }\n");
    CHECK_INT(load_warnings("my_restrictions = permit\nuser_setting = c\nother = 1\n", out), 0);
    CHECK(strstr(STR(out), "my_restrictions") == NULL);
    CHECK(strstr(STR(out), "user_setting") == NULL);
    CHECK_SUBSTR(STR(out), "line 3: unknown parameter other");
    remove_file("master.cf");

    /* NO_WARN is quiet. */
    CHECK_INT(load("typo_param = 1\n", &(const char *) {NULL}), 0);
    vstring_free(&out);
}

TEST(test_parse_helpers)
{
    static const struct {
        const char *in;
        int     unit;
        int     rc;
        long    secs;
    } times[] = {
        {"0", 's', 0, 0}, {"10", 's', 0, 10}, {"10s", 'h', 0, 10}, {"10", 'm', 0, 600},
        {"2m", 's', 0, 120}, {"3h", 's', 0, 10800}, {"5d", 's', 0, 432000},
        {"1w", 's', 0, 604800}, {"1W", 's', 0, 604800}, {"", 's', -1, 0}, {"s", 's', -1, 0},
        {"1x", 's', -1, 0}, {"1 s", 's', -1, 0}, {"-1", 's', -1, 0}, {"1ss", 's', -1, 0},
        {"99999999999999999999", 's', -1, 0}, {"9223372036854775807w", 's', -1, 0},
    };
    static const struct {
        const char *in;
        int     rc;
        bool    val;
    } bools[] = {
        {"yes", 0, true}, {"YES", 0, true}, {"true", 0, true}, {"1", 0, true},
        {"no", 0, false}, {"No", 0, false}, {"false", 0, false}, {"0", 0, false},
        {"", -1, false}, {"y", -1, false}, {"yess", -1, false}, {"2", -1, false},
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(times); i++) {
        long    secs = -42;
        int     rc = config_parse_time(times[i].in, times[i].unit, &secs);

        if (rc != times[i].rc || (rc == 0 && secs != times[i].secs))
            UNIT_FAIL("time \"%s\": rc %d secs %ld", times[i].in, rc, secs);
    }
    for (size_t i = 0; i < PH_ARRAY_LEN(bools); i++) {
        bool    val = !bools[i].val;
        int     rc = config_parse_bool(bools[i].in, &val);

        if (rc != bools[i].rc || (rc == 0 && val != bools[i].val))
            UNIT_FAIL("bool \"%s\": rc %d", bools[i].in, rc);
    }
}

TEST(test_registry)
{
    /* Every registry default is valid for its type and bounds. */
    const char *err;

    remove_file("main.cf");
    CHECK_INT(config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &err), 0);
    CHECK(param_find("message_size_limit") != NULL);
    CHECK(param_find("no_such") == NULL);
    CHECK_INT(var_max_idle, 100);
    CHECK(var_disable_plaintext_auth == true);
    CHECK_INT(var_imap_literal_limit, 10240000);
}

TEST(test_overrides)
{
    /* Last: overrides stay for the rest of the process. */
    const char *err;

    config_override("message_size_limit", "5000");
    config_override("o_user", "$relayhost");
    CHECK_INT(load("message_size_limit = 7000\nrelayhost = r\n", &err), 0);
    CHECK_INT(var_message_size_limit, 5000);
    CHECK_STR(config_lookup("o_user"), "r");
    CHECK(config_is_set("message_size_limit"));
    CHECK(config_is_set("o_user"));
    config_override("message_size_limit", "abc");
    CHECK_INT(load("message_size_limit = 7000\n", &err), -1);
    CHECK_STR(err, "-o: parameter message_size_limit: bad numerical value: abc");
    config_override("message_size_limit", "6000");
    CHECK_INT(load("message_size_limit = 7000\n", &err), 0);
    CHECK_INT(var_message_size_limit, 6000);
}

int     main(void)
{
    VSTRING *cmd = vstring_alloc(100);
    int     rc;

    msg_init("test_config", MSG_TO_STDERR);
    if (mkdtemp(tmpdir) == NULL)
        msg_fatal("mkdtemp: %m");
    RUN(test_mail_config_env);
    RUN(test_basic);
    RUN(test_unterminated_last_line);
    RUN(test_bad_input);
    RUN(test_nul_and_long_lines);
    RUN(test_expansion_bounds);
    RUN(test_expand);
    RUN(test_computed_defaults);
    RUN(test_defaults_only);
    RUN(test_no_eval_and_missing_file);
    RUN(test_reload);
    RUN(test_unknown_warnings);
    RUN(test_parse_helpers);
    RUN(test_registry);
    RUN(test_overrides);
    rc = unit_done();
    remove_file("main.cf");
    remove_file("master.cf");
    rmdir(tmpdir);
    vstring_free(&cmd);
    return rc;
}
