/* test_tls_fprint - the fingerprint parser/normaliser and the certificate /
 * public-key matcher of lib/tls_fprint.c (the "fingerprint" TLS level).
 *
 * Certificates and their digests come from the openssl command (not from
 * the code under test), made once in a temp directory.
 */
#include "sys_defs.h"

#include <stdio.h>
#include <sys/stat.h>

#include "msg.h"
#include "mymalloc.h"
#include "tls.h"
#include "vstring.h"
#include "unit.h"
#include "unit_shell.h"

static char tmpdir[] = "/tmp/test_tls_fprint.XXXXXX";

/* sh - run a shell command in the temp directory; exit status */
#define sh(...) unit_shell(tmpdir, __VA_ARGS__)

/* slurp - a file's bytes into buf; 0 or -1 */
static int slurp(const char *name, VSTRING *buf)
{
    char    file[512];
    char    chunk[4096];
    FILE   *fp;
    size_t  n;

    snprintf(file, sizeof(file), "%s/%s", tmpdir, name);
    if ((fp = fopen(file, "rb")) == NULL)
	return -1;
    vstring_truncate(buf, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
	vstring_catn(buf, chunk, n);
    fclose(fp);
    return 0;
}

/* decoded - tls_fprint_decode then encode: the canonical text, or "ERR" */
static const char *decoded(const char *text)
{
    static VSTRING *buf;
    TLS_FPRINT fp;

    if (buf == NULL)
	buf = vstring_alloc(200);
    memset(&fp, 0xA5, sizeof(fp));
    if (tls_fprint_decode(text, &fp) < 0)
	return "ERR";
    return tls_fprint_encode(&fp, buf);
}

TEST(test_decode)
{
    TLS_FPRINT fp;
    VSTRING *big = vstring_alloc(300);

    /* Well-formed: colons optional between pairs, either case. */
    CHECK_STR(decoded("AB:CD:EF"), "AB:CD:EF");
    CHECK_STR(decoded("abcdef"), "AB:CD:EF");
    CHECK_STR(decoded("aB:Cd0f"), "AB:CD:0F");
    CHECK_STR(decoded("00"), "00");
    CHECK(tls_fprint_decode("0a:FF", &fp) == 0 && fp.len == 2 && fp.md[0] == 0x0a && fp.md[1] == 0xff);

    /* Hostile or broken input. */
    CHECK_STR(decoded(""), "ERR");
    CHECK_STR(decoded("A"), "ERR");			/* odd number of digits */
    CHECK_STR(decoded("ABC"), "ERR");
    CHECK_STR(decoded("AB:C"), "ERR");
    CHECK_STR(decoded("A:BC"), "ERR");
    CHECK_STR(decoded(":AB"), "ERR");			/* leading colon */
    CHECK_STR(decoded("AB:"), "ERR");			/* trailing colon */
    CHECK_STR(decoded("AB::CD"), "ERR");		/* empty item */
    CHECK_STR(decoded(":"), "ERR");
    CHECK_STR(decoded("GG"), "ERR");			/* non-hex */
    CHECK_STR(decoded("0x12"), "ERR");
    CHECK_STR(decoded("AB CD"), "ERR");			/* the list splits, not us */
    CHECK_STR(decoded("AB|CD"), "ERR");
    CHECK_STR(decoded("AB,CD"), "ERR");
    CHECK_STR(decoded("AB\xC3\xA9"), "ERR");		/* 8-bit */
    CHECK_STR(decoded("-1"), "ERR");
    CHECK(tls_fprint_decode(NULL, &fp) < 0);

    /* Lengths: 64 bytes (SHA-512) is the most, with or without colons. */
    for (int i = 0; i < 64; i++)
	vstring_cat(big, i ? ":7f" : "7f");
    CHECK(tls_fprint_decode(STR(big), &fp) == 0 && fp.len == 64);
    vstring_cat(big, ":7f");
    CHECK_STR(decoded(STR(big)), "ERR");		/* 65 bytes */
    vstring_truncate(big, 0);
    for (int i = 0; i < 64; i++)
	vstring_cat(big, "00");
    CHECK(tls_fprint_decode(STR(big), &fp) == 0 && fp.len == 64);
    vstring_cat(big, "00");
    CHECK_STR(decoded(STR(big)), "ERR");
    vstring_truncate(big, 0);
    for (int i = 0; i < 5000; i++)
	vstring_cat(big, "ab:");
    CHECK_STR(decoded(STR(big)), "ERR");		/* far too long */
    vstring_free(&big);
}

TEST(test_digest_names)
{
    const char *err = NULL;

    CHECK_INT(tls_fprint_digest_check("sha256", &err), 0);
    CHECK_INT(tls_fprint_digest_check("SHA256", &err), 0);
    CHECK_INT(tls_fprint_digest_check("sha1", &err), 0);
    CHECK_INT(tls_fprint_digest_check("sha512", &err), 0);
    CHECK_INT(tls_fprint_digest_check("sha3-256", &err), 0);
    CHECK_INT(tls_fprint_digest_check("nosuchdigest", &err), -1);
    CHECK_STR(err, "Digest algorithm \"nosuchdigest\" not found");
    CHECK_INT(tls_fprint_digest_check("", &err), -1);
    /* An XOF has no fixed output: unusable for fingerprints. */
    CHECK_INT(tls_fprint_digest_check("shake128", &err), -1);
}

/* fp_of - the fingerprint of what cmd prints, as "openssl dgst -<alg>" of
 * it gives; 0 or -1 */
static int fp_of(const char *cmd, const char *alg, TLS_FPRINT *fp)
{
    VSTRING *buf = vstring_alloc(100);
    int     rc = -1;

    if (sh("%s | openssl dgst -%s -binary > digest.bin", cmd, alg) == 0
	&& slurp("digest.bin", buf) == 0 && LEN(buf) > 0 && LEN(buf) <= TLS_FPRINT_MAX) {
	memcpy(fp->md, STR(buf), LEN(buf));
	fp->len = LEN(buf);
	rc = 0;
    }
    vstring_free(&buf);
    return rc;
}

TEST(test_match)
{
    VSTRING *der = vstring_alloc(2000), *text = vstring_alloc(200);
    TLS_FPRINT cert256, key256, cert1, key1, cert512, other256, fps[3];
    const char *which = NULL, *err = NULL;
    const unsigned char *d;
    size_t  n;

    if (sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.pem"
	   " -days 30 -subj /CN=mail.example.test") != 0
	|| sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	      " -keyout other.key -out other.pem -days 30 -subj /CN=other.example.test") != 0
	|| sh("openssl x509 -in leaf.pem -outform DER -out leaf.der") != 0
	|| slurp("leaf.der", der) < 0
	|| fp_of("cat leaf.der", "sha256", &cert256) < 0
	|| fp_of("openssl x509 -in leaf.pem -noout -pubkey | openssl pkey -pubin -outform DER",
		 "sha256", &key256) < 0
	|| fp_of("cat leaf.der", "sha1", &cert1) < 0
	|| fp_of("openssl x509 -in leaf.pem -noout -pubkey | openssl pkey -pubin -outform DER",
		 "sha1", &key1) < 0
	|| fp_of("cat leaf.der", "sha512", &cert512) < 0
	|| fp_of("openssl x509 -in other.pem -outform DER", "sha256", &other256) < 0) {
	UNIT_FAIL("cannot make the test certificates");
	return;
    }
    d = (const unsigned char *) STR(der);
    n = LEN(der);

    /* The text form "openssl x509 -fingerprint" prints decodes to it. */
    if (sh("openssl x509 -in leaf.pem -noout -fingerprint -sha256 | sed 's/.*=//' > fp.txt") == 0
	&& slurp("fp.txt", text) == 0) {
	TLS_FPRINT parsed;

	vstring_chomp(text);
	CHECK_INT(tls_fprint_decode(STR(text), &parsed), 0);
	CHECK(parsed.len == 32 && memcmp(parsed.md, cert256.md, 32) == 0);
    } else {
	UNIT_FAIL("openssl x509 -fingerprint");
    }

    fps[0] = cert256;
    CHECK_INT(tls_fprint_match_der(d, n, "sha256", fps, 1, &which, &err), 1);
    CHECK_STR(which, "certificate");
    fps[0] = key256;
    CHECK_INT(tls_fprint_match_der(d, n, "sha256", fps, 1, &which, &err), 1);
    CHECK_STR(which, "public key");
    fps[0] = other256;
    CHECK_INT(tls_fprint_match_der(d, n, "sha256", fps, 1, &which, &err), 0);
    /* Any one of several. */
    fps[0] = other256;
    fps[1] = cert1;
    fps[2] = key256;
    CHECK_INT(tls_fprint_match_der(d, n, "sha256", fps, 3, &which, &err), 1);
    CHECK_STR(which, "public key");
    /* The digest decides: a sha1 value matches only under sha1. */
    fps[0] = cert1;
    CHECK_INT(tls_fprint_match_der(d, n, "sha256", fps, 1, NULL, &err), 0);
    CHECK_INT(tls_fprint_match_der(d, n, "SHA1", fps, 1, NULL, &err), 1);
    fps[0] = key1;
    CHECK_INT(tls_fprint_match_der(d, n, "sha1", fps, 1, &which, &err), 1);
    CHECK_STR(which, "public key");
    fps[0] = cert512;
    CHECK_INT(tls_fprint_match_der(d, n, "sha512", fps, 1, &which, &err), 1);
    /* A prefix of the right digest is not a match. */
    fps[0] = cert256;
    fps[0].len = 16;
    CHECK_INT(tls_fprint_match_der(d, n, "sha256", fps, 1, NULL, &err), 0);
    /* One flipped bit. */
    fps[0] = cert256;
    fps[0].md[31] ^= 1;
    CHECK_INT(tls_fprint_match_der(d, n, "sha256", fps, 1, NULL, &err), 0);
    /* Errors. */
    fps[0] = cert256;
    CHECK_INT(tls_fprint_match_der(d, n, "nosuchdigest", fps, 1, NULL, &err), -1);
    CHECK_STR(err, "Digest algorithm \"nosuchdigest\" not found");
    CHECK_INT(tls_fprint_match_der(d, n / 2, "sha256", fps, 1, NULL, &err), -1);
    CHECK_STR(err, "malformed certificate");
    CHECK_INT(tls_fprint_match_der((const unsigned char *) "garbage", 7, "sha256", fps, 1, NULL,
				   &err), -1);
    CHECK_INT(tls_fprint_match_der(d, 0, "sha256", fps, 1, NULL, &err), -1);
    vstring_free(&der);
    vstring_free(&text);
}

int     main(void)
{
    msg_init("test_tls_fprint", MSG_TO_STDERR);
    if (mkdtemp(tmpdir) == NULL)
	msg_fatal("mkdtemp: %m");
    RUN(test_decode);
    RUN(test_digest_names);
    RUN(test_match);
    (void) sh("rm -rf %s", tmpdir);
    return unit_done();
}
