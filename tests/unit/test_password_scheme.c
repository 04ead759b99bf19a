/* test_password_scheme - password hashes against known vectors (made by
 * Dovecot's `doveadm pw`, OpenSSL's `openssl passwd` and libxcrypt via
 * Python), round trips, hostile stored hashes; also base64_code. */
#include "sys_defs.h"

#include <string.h>

#include "base64_code.h"
#include "mymalloc.h"
#include "password_scheme.h"
#include "vstring.h"
#include "unit.h"

static const struct {
    const char *stored;
    const char *password;
} vectors[] = {
    {"{PLAIN}secret", "secret"},
    {"{CLEAR}secret", "secret"},
    {"{plain}secret", "secret"},
    {"{SHA512-CRYPT}$6$tdypu6k5qhyTl5NG$USSw8BxdLoJNkE6Dchc8F6IJduWyCTn8KVo8F8DJ52qg2U5eIDGigyTe3./c/iJMAexxEkAtXjiMNcnfszjwl0", "secret"},
    {"{SHA256-CRYPT}$5$1uL58HdsBRprRJcK$ix5Ru2g99i3VnHnEHB4LmPl8oW56R.805d8TPAXGhM2", "secret"},
    {"{BLF-CRYPT}$2y$05$QTB4dwgWOvyzYsokpZqvU.412RAk1dlxMPMALFmc/7M.VbanlxGKa", "secret"},
    {"{MD5-CRYPT}$1$iOPCWfKD$fpmlyHYMVdQfKPHNyejaj0", "secret"},
    {"{CRYPT}$1$abc$iCQ2D3nhptRYi27fDYv2s1", "secret"},
    {"{CRYPT}$6$1XdaPrqFsDfeQEdJ$Q92F1lNKWnQHFUQvda0LOY6rp0xDXtQ/uXcup44vMK5VnpCMP/NIHNkflmaRsmaHhx0umfbzxbM60OOOTnxD00", "secret"},
    {"{CRYPT}$y$j9T$e3aBRNjwRNskGptPT0uGN.$69IlgZRZkety1Bqqi6h5LUGu9qcAmru8fVsE6EI.Qj1", "secret"},
    {"{YESCRYPT}$y$j9T$e3aBRNjwRNskGptPT0uGN.$69IlgZRZkety1Bqqi6h5LUGu9qcAmru8fVsE6EI.Qj1", "secret"},
    {"{SSHA256}7s4X1Bf8FA5/Sm1BXY2oP65bWmDq2g2RRoA03d+s3cuQneWH", "secret"},
    {"{SSHA512}edB6FrEn0fSK4wf6Kx9uAIZThx+V4Grxaww7muzghroP/ZE1opo1v9PYyvyX+42vwMIRPdckR1qE0MLn1p+ofiFOQMM=", "secret"},
    {"{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=", "secret"},
    {"{SHA512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBhnWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/isg==", "secret"},
};

TEST(test_known_vectors)
{
    const char *err = NULL;

    for (size_t i = 0; i < PH_ARRAY_LEN(vectors); i++) {
        int r = password_verify(vectors[i].password, vectors[i].stored, NULL, &err);

        if (r != PASSWORD_MATCH)
            UNIT_FAIL("%s: %d (%s)", vectors[i].stored, r, r < 0 ? err : "mismatch");
        r = password_verify("Secret", vectors[i].stored, NULL, &err);
        if (r != PASSWORD_MISMATCH)
            UNIT_FAIL("%s with a wrong password: %d", vectors[i].stored, r);
        r = password_verify("", vectors[i].stored, NULL, &err);
        if (r != PASSWORD_MISMATCH)
            UNIT_FAIL("%s with an empty password: %d", vectors[i].stored, r);
    }
}

TEST(test_default_scheme)
{
    const char *err;

    /* no {SCHEME}: the caller's default applies */
    CHECK_INT(password_verify("secret", "secret", "PLAIN", &err), PASSWORD_MATCH);
    CHECK_INT(password_verify("secret", "$1$abc$iCQ2D3nhptRYi27fDYv2s1", "CRYPT", &err),
              PASSWORD_MATCH);
    CHECK_INT(password_verify("secret", "$1$abc$iCQ2D3nhptRYi27fDYv2s1", "SHA512-CRYPT", &err),
              PASSWORD_ERROR);
    CHECK_INT(password_verify("secret", "secret", NULL, &err), PASSWORD_ERROR);
    CHECK_STR(err, "no password scheme");
}

TEST(test_hostile_hashes)
{
    static const char *bad[] = {
        "{NOSUCH}secret",		/* unknown scheme */
        "{PLAIN",			/* unterminated */
        "{}secret",			/* empty scheme */
        "{SHA512-CRYPT}",		/* empty hash */
        "{SHA512-CRYPT}$5$1uL58HdsBRprRJcK$ix5Ru2g99i3VnHnEHB4LmPl8oW56R.805d8TPAXGhM2",
        "{BLF-CRYPT}$6$x$y",
        "{CRYPT}",
        "{CRYPT}*",
        "{CRYPT}!",
        "{CRYPT}$9$unknown$method",
        "{SSHA256}!!!!",
        "{SSHA256}AAAA",		/* shorter than a digest */
        "{SSHA256}",
        "{SHA256}AAAA",			/* wrong length */
        "{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols",	/* bad padding */
        "{SSHA512}edB6FrEn0fSK4wf6Kx9uAIZThx+V4Grxaww7muzghroP/ZE1opo1v9PYyvyX+42vwMIRPdckR1qE0MLn1p+ofiFOQMM",
    };
    const char *err;

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
        err = NULL;
        int r = password_verify("secret", bad[i], NULL, &err);

        if (r != PASSWORD_ERROR || err == NULL)
            UNIT_FAIL("\"%s\" gave %d, expected an error", bad[i], r);
    }
    /* a setting without a hash can never match */
    CHECK(password_verify("secret", "{CRYPT}$6$", NULL, &err) != PASSWORD_MATCH);
    CHECK(password_verify("", "{CRYPT}$6$", NULL, &err) != PASSWORD_MATCH);
    /* an empty PLAIN password matches only the empty password */
    CHECK_INT(password_verify("", "{PLAIN}", NULL, &err), PASSWORD_MATCH);
    CHECK_INT(password_verify("x", "{PLAIN}", NULL, &err), PASSWORD_MISMATCH);
    /* prefix of the stored password is not a match */
    CHECK_INT(password_verify("secre", "{PLAIN}secret", NULL, &err), PASSWORD_MISMATCH);
    CHECK_INT(password_verify("secrets", "{PLAIN}secret", NULL, &err), PASSWORD_MISMATCH);
}

TEST(test_huge_password)
{
    char *big = mymalloc(100001);
    const char *err;

    memset(big, 'a', 100000);
    big[100000] = 0;
    CHECK_INT(password_verify(big, vectors[3].stored, NULL, &err), PASSWORD_MISMATCH);
    myfree(big);
}

TEST(test_generate_round_trip)
{
    static const char *schemes[] = {
        "PLAIN", "CLEAR", "CRYPT", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT",
        "YESCRYPT", "SHA256", "SHA512", "SSHA256", "SSHA512", "sha512-crypt",
    };
    VSTRING *out = vstring_alloc(100);
    VSTRING *out2 = vstring_alloc(100);
    const char *err;

    for (size_t i = 0; i < PH_ARRAY_LEN(schemes); i++) {
        vstring_reset(out);
        if (password_generate(out, "pässword 1", schemes[i], &err) < 0) {
            UNIT_FAIL("generate %s: %s", schemes[i], err);
            continue;
        }
        if (password_verify("pässword 1", STR(out), NULL, &err) != PASSWORD_MATCH)
            UNIT_FAIL("round trip %s: %s", schemes[i], STR(out));
        if (password_verify("pässword 2", STR(out), NULL, &err) != PASSWORD_MISMATCH)
            UNIT_FAIL("wrong password matched %s", STR(out));
        /* salted schemes give a new hash each time */
        vstring_reset(out2);
        password_generate(out2, "pässword 1", schemes[i], &err);
        if (strstr(schemes[i], "CRYPT") || strncmp(schemes[i], "SSHA", 4) == 0)
            if (strcmp(STR(out), STR(out2)) == 0)
                UNIT_FAIL("%s is not salted: %s", schemes[i], STR(out));
    }
    vstring_reset(out);
    CHECK_INT(password_generate(out, "x", "NOSUCH", &err), -1);
    CHECK_INT(password_generate(out, "x", "SHA512-CRYPT", &err), 0);
    CHECK(strncmp(STR(out), "{SHA512-CRYPT}$6$", 17) == 0);
    vstring_free(&out);
    vstring_free(&out2);
}

TEST(test_memeq)
{
    CHECK(password_memeq("abc", 3, "abc", 3));
    CHECK(!password_memeq("abc", 3, "abd", 3));
    CHECK(!password_memeq("abc", 3, "abcd", 4));
    CHECK(password_memeq("", 0, "", 0));
}

TEST(test_base64)
{
    static const struct {
        const char *plain;
        size_t len;
        const char *enc;
    } v[] = {
        {"", 0, ""}, {"f", 1, "Zg=="}, {"fo", 2, "Zm8="}, {"foo", 3, "Zm9v"},
        {"foob", 4, "Zm9vYg=="}, {"fooba", 5, "Zm9vYmE="}, {"foobar", 6, "Zm9vYmFy"},
        {"\0alice\0secret", 13, "AGFsaWNlAHNlY3JldA=="},
    };
    static const char *bad[] = {
        "Zg", "Zg=", "Z===", "====", "Zg==Zg==", "Zm9v!", "Zm 9v", "Zg=a", "=Zg=", "Zm9vY\n==",
    };
    VSTRING *out = vstring_alloc(10);

    for (size_t i = 0; i < PH_ARRAY_LEN(v); i++) {
        vstring_reset(out);
        base64_encode(out, v[i].plain, v[i].len);
        CHECK_STR(STR(out), v[i].enc);
        CHECK_INT(base64_decode(out, v[i].enc, strlen(v[i].enc)), 0);
        CHECK(LEN(out) == v[i].len && memcmp(STR(out), v[i].plain, v[i].len) == 0);
    }
    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++)
        if (base64_decode(out, bad[i], strlen(bad[i])) != -1)
            UNIT_FAIL("\"%s\" decoded", bad[i]);
    vstring_free(&out);
}

/* main - run the tests */
int main(void)
{
    RUN(test_known_vectors);
    RUN(test_default_scheme);
    RUN(test_hostile_hashes);
    RUN(test_huge_password);
    RUN(test_generate_round_trip);
    RUN(test_memeq);
    RUN(test_base64);
    return unit_done();
}
