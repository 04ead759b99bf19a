/* tls_certgen.c - a new key and self-signed server certificate, for
 * `posthorn tls new-server-cert` (the same job as Postfix's
 * `postfix tls new-server-cert`).
 *
 * Contract: tls_make_self_signed[_key]() in tls.h. The certificate is X.509
 * v3, SHA-256 signed, with a random 127-bit serial, CN = hostname (when it
 * fits the 64-character CN limit), subjectAltName DNS:hostname (IP: for an
 * address literal), basicConstraints CA:FALSE, keyUsage and extendedKeyUsage
 * serverAuth + clientAuth, valid from now for 3650 days. Files are written
 * atomically through safefile; the key never exists with a wider mode than
 * 0600.
 *
 * Limits: hostname must be a plain DNS name (letters, digits, '-', '.',
 * '_', at most 253 bytes) or an IPv4/IPv6 literal; anything else is an
 * error, so no text reaches the certificate's extension syntax unchecked.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "msg.h"
#include "safefile.h"
#include "vstring.h"
#include "tls_private.h"

#define TLS_CERT_DAYS 3650

/* tls_certgen_hostname_ok - 0: DNS name, 1: IP literal, -1: invalid */
static int tls_certgen_hostname_ok(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    size_t  len = strlen(name);

    if (inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1)
	return 1;
    if (len == 0 || len > 253 || name[0] == '.' || name[0] == '-')
	return -1;
    for (const char *cp = name; *cp; cp++)
	if (!isalnum((unsigned char) *cp) && *cp != '-' && *cp != '.' && *cp != '_')
	    return -1;
    if (strstr(name, "..") != NULL)
	return -1;
    return 0;
}

/* tls_certgen_ext - add one extension in OpenSSL's config syntax */
static int tls_certgen_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int     ok;

    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
	return -1;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* tls_certgen_build - key and signed certificate; NULL on failure */
static X509 *tls_certgen_build(const char *hostname, bool is_ip, int key_type,
			               EVP_PKEY **key_r)
{
    EVP_PKEY *key = key_type == TLS_KEY_ECDSA ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
    X509   *x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    VSTRING *san = vstring_alloc(300);
    X509_NAME *name;
    bool    ok = false;

    if (key == NULL || x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
	goto out;
    serial[0] &= 0x7f;				/* positive */
    serial[0] |= 0x40;				/* and not shortened */
    if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL
	|| BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL
	|| X509_set_version(x, X509_VERSION_3) != 1
	|| X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL
	|| X509_time_adj_ex(X509_getm_notAfter(x), TLS_CERT_DAYS, 0, NULL) == NULL
	|| X509_set_pubkey(x, key) != 1)
	goto out;
    name = X509_get_subject_name(x);
    if (strlen(hostname) <= 64
	&& X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				      (const unsigned char *) hostname, -1, -1, 0) != 1)
	goto out;
    if (X509_set_issuer_name(x, name) != 1)
	goto out;
    vstring_fmt(san, "%s:%s", is_ip ? "IP" : "DNS", hostname);
    if (tls_certgen_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0
	|| tls_certgen_ext(x, NID_key_usage, key_type == TLS_KEY_ECDSA ?
			   "critical,digitalSignature" :
			   "critical,digitalSignature,keyEncipherment") < 0
	|| tls_certgen_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") < 0
	|| tls_certgen_ext(x, NID_subject_key_identifier, "hash") < 0
	|| tls_certgen_ext(x, NID_subject_alt_name, STR(san)) < 0)
	goto out;
    if (X509_sign(x, key, EVP_sha256()) <= 0)
	goto out;
    ok = true;
out:
    BN_free(bn);
    vstring_free(&san);
    if (!ok) {
	X509_free(x);
	EVP_PKEY_free(key);
	return NULL;
    }
    *key_r = key;
    return x;
}

/* tls_certgen_append - append a BIO's contents to buf */
static void tls_certgen_append(VSTRING *buf, BIO *bio)
{
    char   *data;
    long    len = BIO_get_mem_data(bio, &data);

    if (len > 0)
	vstring_catn(buf, data, (size_t) len);
}

/* tls_make_self_signed_key - new key + self-signed certificate */
int     tls_make_self_signed_key(const char *cert_path, const char *key_path,
			                 const char *hostname, int key_type,
			                 const char **error_r)
{
    EVP_PKEY *key = NULL;
    X509   *x = NULL;
    BIO    *kbio = BIO_new(BIO_s_secmem()), *cbio = BIO_new(BIO_s_mem());
    VSTRING *kbuf = vstring_alloc(4096), *cbuf = vstring_alloc(4096);
    const char *why;
    bool    combined = key_path == NULL || strcmp(key_path, cert_path) == 0;
    int     is_ip, ret = -1;

    if (key_type != TLS_KEY_RSA && key_type != TLS_KEY_ECDSA)
	msg_panic("tls_make_self_signed_key: bad key type %d", key_type);
    if (kbio == NULL || cbio == NULL)
	msg_fatal("out of memory");
    if ((is_ip = tls_certgen_hostname_ok(hostname)) < 0) {
	*error_r = tls_error_fmt("invalid host name for a certificate: \"%.100s\"", hostname);
	goto out;
    }
    if ((x = tls_certgen_build(hostname, is_ip == 1, key_type, &key)) == NULL) {
	why = tls_library_errors();
	*error_r = tls_error_fmt("cannot make a certificate for %s: %s", hostname,
				 why ? why : "unknown error");
	goto out;
    }
    if (PEM_write_bio_PrivateKey(kbio, key, NULL, NULL, 0, NULL, NULL) != 1
	|| PEM_write_bio_X509(cbio, x) != 1) {
	why = tls_library_errors();
	*error_r = tls_error_fmt("cannot encode key or certificate: %s",
				 why ? why : "unknown error");
	goto out;
    }
    tls_certgen_append(kbuf, kbio);
    tls_certgen_append(cbuf, cbio);
    if (combined) {
	vstring_catn(kbuf, STR(cbuf), LEN(cbuf));
	if (safe_write_file(cert_path, STR(kbuf), LEN(kbuf), 0600, &why) < 0) {
	    *error_r = tls_error_fmt("cannot write %s: %s", cert_path, why);
	    goto out;
	}
    } else {
	if (safe_write_file(key_path, STR(kbuf), LEN(kbuf), 0600, &why) < 0) {
	    *error_r = tls_error_fmt("cannot write %s: %s", key_path, why);
	    goto out;
	}
	if (safe_write_file(cert_path, STR(cbuf), LEN(cbuf), 0644, &why) < 0) {
	    *error_r = tls_error_fmt("cannot write %s: %s", cert_path, why);
	    goto out;
	}
    }
    ret = 0;
out:
    vstring_wipe(kbuf);
    vstring_free(&kbuf);
    vstring_free(&cbuf);
    BIO_free(kbio);
    BIO_free(cbio);
    X509_free(x);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ret;
}

/* tls_make_self_signed - RSA 2048 flavour (what most clients accept) */
int     tls_make_self_signed(const char *cert_path, const char *key_path,
			             const char *hostname, const char **error_r)
{
    return tls_make_self_signed_key(cert_path, key_path, hostname, TLS_KEY_RSA, error_r);
}
