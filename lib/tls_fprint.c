/* tls_fprint.c - certificate and public-key fingerprints for the
 * "fingerprint" security level of the SMTP client (Postfix semantics).
 *
 * Contract: see tls.h. A fingerprint is the digest, under
 * smtp_tls_fingerprint_digest, of either the DER form of the whole leaf
 * certificate or the DER form of its SubjectPublicKeyInfo; either kind may
 * match any configured value (as Postfix >= 2.9 does: the two encodings
 * cannot be confused with each other). Digests whose length differs from
 * a configured value simply never match it.
 *
 * Errors: bad input comes back as -1 (with *error_r where there is one);
 * nothing here panics or exits.
 */
#include "sys_defs.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls_private.h"

/* tls_fprint_hexval - the value of one hex digit, or -1 */
static int tls_fprint_hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
	return ch - '0';
    if (ch >= 'a' && ch <= 'f')
	return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
	return ch - 'A' + 10;
    return -1;
}

/* tls_fprint_decode - see tls.h */
int     tls_fprint_decode(const char *text, TLS_FPRINT *fp)
{
    const char *cp = text;
    size_t  n = 0;

    if (text == NULL || *text == 0)
	return -1;
    while (*cp) {
	int     hi = tls_fprint_hexval((unsigned char) cp[0]);
	int     lo = hi < 0 ? -1 : tls_fprint_hexval((unsigned char) cp[1]);

	if (lo < 0 || n >= TLS_FPRINT_MAX)
	    return -1;
	fp->md[n++] = (unsigned char) (hi << 4 | lo);
	cp += 2;
	/* One ":" between pairs: not at the end, never two in a row. */
	if (*cp == ':') {
	    cp++;
	    if (*cp == 0)
		return -1;
	}
    }
    fp->len = n;
    return 0;
}

/* tls_fprint_encode - see tls.h */
const char *tls_fprint_encode(const TLS_FPRINT *fp, VSTRING *buf)
{
    static const char hex[] = "0123456789ABCDEF";

    vstring_truncate(buf, 0);
    for (size_t i = 0; i < fp->len && i < TLS_FPRINT_MAX; i++) {
	if (i > 0)
	    vstring_catn(buf, ":", 1);
	char    pair[2] = {hex[fp->md[i] >> 4], hex[fp->md[i] & 0xf]};

	vstring_catn(buf, pair, 2);
    }
    return STR(buf);
}

/* tls_fprint_md - fetch a usable fixed-size digest; NULL + *error_r */
static EVP_MD *tls_fprint_md(const char *name, const char **error_r)
{
    EVP_MD *md;
    int     size;

    if (name == NULL || *name == 0 || (md = EVP_MD_fetch(NULL, name, NULL)) == NULL) {
	ERR_clear_error();
	*error_r = tls_error_fmt("Digest algorithm \"%s\" not found", name ? name : "");
	return NULL;
    }
    size = EVP_MD_get_size(md);
    /* XOFs (shake128, ...) have no fixed output. */
    if (size <= 0 || size > TLS_FPRINT_MAX
	|| (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0) {
	*error_r = tls_error_fmt("Digest algorithm \"%s\" output size %d not usable",
				 name, size);
	EVP_MD_free(md);
	return NULL;
    }
    return md;
}

/* tls_fprint_digest_check - see tls.h */
int     tls_fprint_digest_check(const char *name, const char **error_r)
{
    EVP_MD *md = tls_fprint_md(name, error_r);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int     ok;

    if (md == NULL)
	return -1;
    /* A provider may list an algorithm it cannot run (FIPS and md5). */
    ok = EVP_Digest("", 0, out, &len, md, NULL) == 1;
    EVP_MD_free(md);
    if (!ok) {
	ERR_clear_error();
	*error_r = tls_error_fmt("Digest algorithm \"%s\" not found", name);
	return -1;
    }
    return 0;
}

/* tls_fprint_compare - is the digest of data one of fps? */
static bool tls_fprint_compare(const unsigned char *data, size_t len, const EVP_MD *md,
			               const TLS_FPRINT *fps, int count)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int olen = 0;

    if (EVP_Digest(data, len, out, &olen, md, NULL) != 1) {
	ERR_clear_error();
	return false;
    }
    for (int i = 0; i < count; i++)
	if (fps[i].len == olen && CRYPTO_memcmp(fps[i].md, out, olen) == 0)
	    return true;
    return false;
}

/* tls_fprint_match_der - see tls.h */
int     tls_fprint_match_der(const unsigned char *der, size_t len, const char *digest,
			             const TLS_FPRINT *fps, int count, const char **which_r,
			             const char **error_r)
{
    const unsigned char *p = der;
    X509   *cert;
    EVP_MD *md;
    unsigned char *spki = NULL;
    int     spki_len, rc = 0;

    if (der == NULL || len == 0 || len > LONG_MAX
	|| (cert = d2i_X509(NULL, &p, (long) len)) == NULL) {
	ERR_clear_error();
	*error_r = tls_error_fmt("malformed certificate");
	return -1;
    }
    if ((md = tls_fprint_md(digest, error_r)) == NULL) {
	X509_free(cert);
	return -1;
    }
    /* Only the bytes d2i_X509 consumed are the certificate. */
    if (tls_fprint_compare(der, (size_t) (p - der), md, fps, count)) {
	if (which_r)
	    *which_r = "certificate";
	rc = 1;
    } else if ((spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki)) > 0
	       && tls_fprint_compare(spki, (size_t) spki_len, md, fps, count)) {
	if (which_r)
	    *which_r = "public key";
	rc = 1;
    }
    ERR_clear_error();
    OPENSSL_free(spki);
    EVP_MD_free(md);
    X509_free(cert);
    return rc;
}
