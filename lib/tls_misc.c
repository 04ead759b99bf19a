/* tls_misc.c - TLS pieces both sides share: the Postfix protocol-list
 * syntax, level and trust names, cipher grades, context options, loading
 * certificates, keys and CAs, and the module's error text.
 *
 * Contract: see tls.h. Errors come back with a reason from
 * tls_error_fmt() (one static buffer, valid until the next call).
 *
 * Limits: protocol lists are parsed without allocation per token beyond
 * one copy of the list; a token longer than 64 bytes is an error. PEM files
 * with more than TLS_PEM_MAX_ITEMS objects are refused. Encrypted private
 * keys are refused (a daemon cannot ask for a pass phrase).
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include "argv.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "tls_private.h"

#define TLS_PEM_MAX_ITEMS 64
#define TLS_PROTO_TOKEN_MAX 64

#define TLS_DEF_HIGH   "aNULL:-aNULL:HIGH:@STRENGTH"
#define TLS_DEF_MEDIUM "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH"

static VSTRING *tls_error_buf;

/* tls_error_fmt - format into the module's static error buffer (the
 * arguments may point into that buffer: formatting goes via a scratch) */
const char *tls_error_fmt(const char *fmt, ...)
{
    static VSTRING *scratch;
    va_list ap;

    if (tls_error_buf == NULL) {
	tls_error_buf = vstring_alloc(100);
	vstring_set_limit(tls_error_buf, 1000);
	scratch = vstring_alloc(100);
	vstring_set_limit(scratch, 1000);
    }
    vstring_reset(scratch);
    va_start(ap, fmt);
    vstring_vfmt_append(scratch, fmt, ap);
    va_end(ap);
    vstring_reset(tls_error_buf);
    vstring_catn(tls_error_buf, STR(scratch), LEN(scratch));
    return STR(tls_error_buf);
}

/* tls_library_errors - log and empty OpenSSL's error queue */
const char *tls_library_errors(void)
{
    static char first[256];
    char    buf[256];
    unsigned long err;
    const char *file, *data;
    int     line, flags;
    bool    have = false;

    while ((err = ERR_get_error_all(&file, &line, NULL, &data, &flags)) != 0) {
	ERR_error_string_n(err, buf, sizeof(buf));
	if ((flags & ERR_TXT_STRING) && data && *data)
	    msg_warn("TLS library problem: %s:%s", buf, data);
	else
	    msg_warn("TLS library problem: %s", buf);
	if (!have) {
	    const char *reason = ERR_reason_error_string(err);

	    ph_strlcpy(first, reason ? reason : buf, sizeof(first));
	    have = true;
	}
    }
    return have ? first : NULL;
}

/* ---- protocol names and the Postfix list syntax ---- */

static const struct {
    const char *name;
    int     proto;
} tls_proto_table[] = {
    {"SSLv2", TLS_PROTO_SSLv2},
    {"SSLv3", TLS_PROTO_SSLv3},
    {"TLSv1", TLS_PROTO_TLSv1},
    {"TLSv1.1", TLS_PROTO_TLSv1_1},
    {"TLSv1.2", TLS_PROTO_TLSv1_2},
    {"TLSv1.3", TLS_PROTO_TLSv1_3},
};

/* tls_protocol_name - printable name of a TLS_PROTO_* value */
const char *tls_protocol_name(int proto)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(tls_proto_table); i++)
	if (tls_proto_table[i].proto == proto)
	    return tls_proto_table[i].name;
    return "unknown";
}

/* tls_protocol_lookup - TLS_PROTO_* for a name of len bytes, or 0 */
static int tls_protocol_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(tls_proto_table); i++)
	if (strlen(tls_proto_table[i].name) == len
	    && strncasecmp(tls_proto_table[i].name, name, len) == 0)
	    return tls_proto_table[i].proto;
    return 0;
}

/* tls_protocols_parse - Postfix protocol list to a [min, max] range */
int     tls_protocols_parse(const char *spec, int *min_r, int *max_r, const char **error_r)
{
    static const char sep[] = " \t\r\n,:";
    unsigned include = 0, exclude = 0;
    int     lo = TLS_PROTO_SSLv2, hi = TLS_PROTO_TLSv1_3;
    const char *cp;
    bool    any = false;

    if (spec == NULL)
	spec = "";
    for (cp = spec; *cp; ) {
	size_t  len = strcspn(cp, sep);
	const char *tok = cp;
	int     proto;

	if (len == 0) {
	    cp++;
	    continue;
	}
	cp += len;
	any = true;
	if (len > TLS_PROTO_TOKEN_MAX) {
	    *error_r = tls_error_fmt("invalid TLS protocol list \"%.40s...\": token too long", spec);
	    return -1;
	}
	if (len > 2 && (strncmp(tok, ">=", 2) == 0 || strncmp(tok, "<=", 2) == 0)) {
	    if ((proto = tls_protocol_lookup(tok + 2, len - 2)) == 0)
		goto bad;
	    if (tok[0] == '>') {
		if (proto > lo)
		    lo = proto;
	    } else if (proto < hi) {
		hi = proto;
	    }
	} else if (tok[0] == '!') {
	    if ((proto = tls_protocol_lookup(tok + 1, len - 1)) == 0)
		goto bad;
	    exclude |= 1u << proto;
	} else {
	    if ((proto = tls_protocol_lookup(tok, len)) == 0)
		goto bad;
	    include |= 1u << proto;
	}
	continue;
bad:
	*error_r = tls_error_fmt("invalid TLS protocol list \"%s\": unknown protocol \"%.*s\"",
				 spec, (int) len, tok);
	return -1;
    }
    if (!any) {
	*min_r = TLS_PROTO_TLSv1_2;
	*max_r = TLS_PROTO_TLSv1_3;
	return 0;
    }

    /* The set left after inclusions, exclusions and bounds. */
    unsigned set = 0;

    for (int p = TLS_PROTO_SSLv2; p <= TLS_PROTO_TLSv1_3; p++)
	if ((include == 0 || (include & (1u << p))) && !(exclude & (1u << p))
	    && p >= lo && p <= hi)
	    set |= 1u << p;
    if (set == 0) {
	*error_r = tls_error_fmt("invalid TLS protocol list \"%s\": no protocol left", spec);
	return -1;
    }
    int     min = 0, max = 0;

    for (int p = TLS_PROTO_SSLv2; p <= TLS_PROTO_TLSv1_3; p++)
	if (set & (1u << p)) {
	    if (min == 0)
		min = p;
	    max = p;
	}
    for (int p = min; p <= max; p++)
	if (!(set & (1u << p))) {
	    *error_r = tls_error_fmt("invalid TLS protocol list \"%s\": %s is excluded"
				     " between %s and %s", spec, tls_protocol_name(p),
				     tls_protocol_name(min), tls_protocol_name(max));
	    return -1;
	}
    *min_r = min;
    *max_r = max;
    return 0;
}

/* tls_protocol_openssl - OpenSSL version constant for a TLS_PROTO_* */
static int tls_protocol_openssl(int proto)
{
    switch (proto) {
    case TLS_PROTO_SSLv2:		/* OpenSSL 3 has no SSLv2 */
    case TLS_PROTO_SSLv3:
	return SSL3_VERSION;
    case TLS_PROTO_TLSv1:
	return TLS1_VERSION;
    case TLS_PROTO_TLSv1_1:
	return TLS1_1_VERSION;
    case TLS_PROTO_TLSv1_2:
	return TLS1_2_VERSION;
    default:
	return TLS1_3_VERSION;
    }
}

/* ---- levels and trust ---- */

static const char *const tls_level_names[] = {
    [TLS_LEV_NONE] = "none",
    [TLS_LEV_MAY] = "may",
    [TLS_LEV_ENCRYPT] = "encrypt",
    [TLS_LEV_FPRINT] = "fingerprint",
    [TLS_LEV_DANE] = "dane",
    [TLS_LEV_DANE_ONLY] = "dane-only",
    [TLS_LEV_VERIFY] = "verify",
    [TLS_LEV_SECURE] = "secure",
};

/* tls_level_parse - smtp_tls_security_level value to TLS_LEVEL, or -1 */
int     tls_level_parse(const char *name)
{
    if (name == NULL || *name == 0)
	return TLS_LEV_NONE;
    for (size_t i = 0; i < PH_ARRAY_LEN(tls_level_names); i++)
	if (strcasecmp(name, tls_level_names[i]) == 0)
	    return (int) i;
    return -1;
}

/* tls_level_name - the Postfix name of a level */
const char *tls_level_name(TLS_LEVEL level)
{
    if ((size_t) level >= PH_ARRAY_LEN(tls_level_names))
	msg_panic("tls_level_name: bad level %d", (int) level);
    return tls_level_names[level];
}

/* tls_trust_name - the word Postfix logs for a trust state */
const char *tls_trust_name(TLS_TRUST trust)
{
    switch (trust) {
    case TLS_TRUST_ANONYMOUS:
	return "Anonymous";
    case TLS_TRUST_UNTRUSTED:
	return "Untrusted";
    case TLS_TRUST_TRUSTED:
	return "Trusted";
    case TLS_TRUST_VERIFIED:
	return "Verified";
    }
    msg_panic("tls_trust_name: bad trust %d", (int) trust);
}

/* ---- ciphers and context options ---- */

/* tls_cipher_rank - 0 best: forward secrecy with AEAD first */
static int tls_cipher_rank(const SSL_CIPHER *c)
{
    int     kx = SSL_CIPHER_get_kx_nid(c);
    bool    aead = SSL_CIPHER_is_aead(c);
    bool    ecdhe = (kx == NID_kx_ecdhe);
    bool    dhe = (kx == NID_kx_dhe);

    if (ecdhe && aead)
	return 0;
    if (dhe && aead)
	return 1;
    if (ecdhe)
	return 2;
    if (dhe)
	return 3;
    return 4;
}

/* tls_ctx_ciphers - grade -> cipher list, exclusions, then reorder */
static int tls_ctx_ciphers(SSL_CTX *ctx, const char *grade, const char *high,
			           const char *medium, const char *exclude,
			           const char **error_r)
{
    VSTRING *list = vstring_alloc(200);
    const char *base;
    int     ret = -1;

    if (grade == NULL || *grade == 0 || strcasecmp(grade, "medium") == 0)
	base = (medium && *medium) ? medium : TLS_DEF_MEDIUM;
    else if (strcasecmp(grade, "high") == 0)
	base = (high && *high) ? high : TLS_DEF_HIGH;
    else {
	*error_r = tls_error_fmt("invalid TLS cipher grade \"%s\" (use high or medium)", grade);
	goto out;
    }
    vstring_set(list, base);
    if (exclude && *exclude) {
	ARGV   *ex = argv_split_list(exclude);

	for (int i = 0; i < ex->argc; i++)
	    vstring_fmt_append(list, ":!%s", ex->argv[i]);
	argv_free(&ex);
    }
    if (SSL_CTX_set_cipher_list(ctx, STR(list)) != 1) {
	(void) tls_library_errors();
	*error_r = tls_error_fmt("invalid TLS cipher list \"%s\"", STR(list));
	goto out;
    }

    /* Stable reordering: ECDHE+AEAD, DHE+AEAD, ECDHE, DHE, rest. */
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);

    vstring_reset(list);
    for (int rank = 0; rank <= 4; rank++) {
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
	    const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);

	    if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0
		|| tls_cipher_rank(c) != rank)
		continue;
	    if (LEN(list))
		vstring_addch(list, ':');
	    vstring_cat(list, SSL_CIPHER_get_name(c));
	}
    }
    if (LEN(list) && SSL_CTX_set_cipher_list(ctx, STR(list)) != 1) {
	(void) tls_library_errors();
	*error_r = tls_error_fmt("cannot reorder TLS cipher list");
	goto out;
    }
    ret = 0;
out:
    vstring_free(&list);
    return ret;
}

/* tls_ctx_common - options both sides share */
int     tls_ctx_common(SSL_CTX *ctx, bool server, const char *protocols,
		               const char *grade, const char *high, const char *medium,
		               const char *exclude, const char **error_r)
{
    int     min, max;
    uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
	| SSL_OP_IGNORE_UNEXPECTED_EOF;

    if (tls_protocols_parse(protocols, &min, &max, error_r) < 0)
	return -1;
    if (!SSL_CTX_set_min_proto_version(ctx, tls_protocol_openssl(min))
	|| !SSL_CTX_set_max_proto_version(ctx, tls_protocol_openssl(max))) {
	(void) tls_library_errors();
	*error_r = tls_error_fmt("cannot set TLS protocol range %s..%s",
				 tls_protocol_name(min), tls_protocol_name(max));
	return -1;
    }
    if (tls_ctx_ciphers(ctx, grade, high, medium, exclude, error_r) < 0)
	return -1;
    if (server)
	opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    SSL_CTX_set_options(ctx, opts);
    SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
		     | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return 0;
}

/* tls_load_CA - trust store from CAfile and/or CApath */
int     tls_load_CA(SSL_CTX *ctx, const char *CAfile, const char *CApath,
		            const char **error_r)
{
    if (CAfile && !*CAfile)
	CAfile = NULL;
    if (CApath && !*CApath)
	CApath = NULL;
    if (CAfile == NULL && CApath == NULL)
	return 0;
    if (SSL_CTX_load_verify_locations(ctx, CAfile, CApath) != 1) {
	const char *why = tls_library_errors();

	*error_r = tls_error_fmt("cannot load CA certificates from %s%s%s: %s",
				 CAfile ? CAfile : "", CAfile && CApath ? " and " : "",
				 CApath ? CApath : "", why ? why : "unknown error");
	return -1;
    }
    return 0;
}

/* ---- PEM files: keys and certificate chains ---- */

typedef struct tls_pem_item {
    X509   *cert;			/* exactly one of cert, key is set */
    EVP_PKEY *key;
} TLS_PEM_ITEM;

typedef struct tls_pem_list {
    TLS_PEM_ITEM items[TLS_PEM_MAX_ITEMS];
    int     count;
} TLS_PEM_LIST;

/* tls_pem_list_free - release what a list holds */
static void tls_pem_list_free(TLS_PEM_LIST *pl)
{
    for (int i = 0; i < pl->count; i++) {
	X509_free(pl->items[i].cert);
	EVP_PKEY_free(pl->items[i].key);
    }
    pl->count = 0;
}

/* tls_pem_read - append the keys and certificates of file, in order */
static int tls_pem_read(TLS_PEM_LIST *pl, const char *file, const char **error_r)
{
    BIO    *bio = BIO_new_file(file, "r");
    char   *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long    len;
    int     ret = -1, found = 0;

    if (bio == NULL) {
	int     saved_errno = errno;

	ERR_clear_error();
	*error_r = tls_error_fmt("cannot open %s: %s", file, strerror(saved_errno));
	return -1;
    }
    while (PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
	const unsigned char *p = data;
	TLS_PEM_ITEM item = {NULL, NULL};

	if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0) {
	    item.cert = d2i_X509(NULL, &p, len);
	} else if (strcmp(name, "TRUSTED CERTIFICATE") == 0) {
	    item.cert = d2i_X509_AUX(NULL, &p, len);
	} else if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0
		   || (strstr(name, "PRIVATE KEY") && header && *header)) {
	    *error_r = tls_error_fmt("%s: encrypted private keys are not supported", file);
	    goto out;
	} else if (strstr(name, "PRIVATE KEY")) {
	    item.key = d2i_AutoPrivateKey(NULL, &p, len);
	} else {
	    goto next;				/* EC PARAMETERS and friends */
	}
	if (item.cert == NULL && item.key == NULL) {
	    const char *why = tls_library_errors();

	    *error_r = tls_error_fmt("%s: cannot decode %s: %s", file, name,
				     why ? why : "bad data");
	    goto out;
	}
	if (pl->count >= TLS_PEM_MAX_ITEMS) {
	    X509_free(item.cert);
	    EVP_PKEY_free(item.key);
	    *error_r = tls_error_fmt("%s: more than %d keys and certificates",
				     file, TLS_PEM_MAX_ITEMS);
	    goto out;
	}
	pl->items[pl->count++] = item;
	found++;
next:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	name = header = NULL;
	data = NULL;
    }
    /* The loop ends with "no start line" at EOF: not an error by itself. */
    unsigned long err = ERR_peek_last_error();

    if (err && ERR_GET_REASON(err) != PEM_R_NO_START_LINE) {
	const char *why = tls_library_errors();

	*error_r = tls_error_fmt("%s: bad PEM data: %s", file, why ? why : "unknown");
	goto out;
    }
    ERR_clear_error();
    if (found == 0) {
	*error_r = tls_error_fmt("%s: no certificate or private key found", file);
	goto out;
    }
    ret = 0;
out:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(bio);
    return ret;
}

/* tls_key_type_name - for messages */
static const char *tls_key_type_name(const EVP_PKEY *key)
{
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
	return "RSA";
    case EVP_PKEY_EC:
	return "ECDSA";
    case EVP_PKEY_ED25519:
	return "Ed25519";
    case EVP_PKEY_ED448:
	return "Ed448";
    default:
	return "other";
    }
}

/* tls_use_chain - install key + leaf + chain; refuse a second key of a type */
static int tls_use_chain(SSL_CTX *ctx, EVP_PKEY *key, X509 *leaf, STACK_OF(X509) *chain,
			         unsigned *types_used, const char *where, const char **error_r)
{
    int     type = EVP_PKEY_get_base_id(key);
    unsigned bit = type == EVP_PKEY_RSA ? 1 : type == EVP_PKEY_EC ? 2
	: type == EVP_PKEY_ED25519 ? 4 : type == EVP_PKEY_ED448 ? 8 : 16;

    if (*types_used & bit) {
	*error_r = tls_error_fmt("%s: more than one %s key", where, tls_key_type_name(key));
	return -1;
    }
    if (X509_check_private_key(leaf, key) != 1) {
	ERR_clear_error();
	*error_r = tls_error_fmt("%s: the %s private key does not match the certificate",
				 where, tls_key_type_name(key));
	return -1;
    }
    if (SSL_CTX_use_cert_and_key(ctx, leaf, key, chain, 1) != 1) {
	const char *why = tls_library_errors();

	*error_r = tls_error_fmt("%s: cannot use %s key and certificate: %s", where,
				 tls_key_type_name(key), why ? why : "unknown error");
	return -1;
    }
    *types_used |= bit;
    return 0;
}

/* tls_use_group - items[first..last) hold one key and its chain */
static int tls_use_group(SSL_CTX *ctx, TLS_PEM_LIST *pl, int first, int last,
			         unsigned *types_used, const char *where,
			         const char **error_r)
{
    EVP_PKEY *key = NULL;
    X509   *leaf = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    int     ret = -1;

    if (chain == NULL)
	msg_fatal("out of memory");
    for (int i = first; i < last; i++) {
	if (pl->items[i].key) {
	    if (key) {
		*error_r = tls_error_fmt("%s: two private keys for one certificate chain", where);
		goto out;
	    }
	    key = pl->items[i].key;
	} else if (leaf == NULL) {
	    leaf = pl->items[i].cert;
	} else if (!sk_X509_push(chain, pl->items[i].cert)) {
	    msg_fatal("out of memory");
	}
    }
    if (key == NULL) {
	*error_r = tls_error_fmt("%s: no private key", where);
	goto out;
    }
    if (leaf == NULL) {
	*error_r = tls_error_fmt("%s: no certificate for the %s private key", where,
				 tls_key_type_name(key));
	goto out;
    }
    ret = tls_use_chain(ctx, key, leaf, chain, types_used, where, error_r);
out:
    sk_X509_free(chain);			/* the items stay owned by pl */
    return ret;
}

/* tls_load_cert_key - certificate chain and key, separate files or one */
int     tls_load_cert_key(SSL_CTX *ctx, const char *cert_file, const char *key_file,
			          const char **error_r)
{
    TLS_PEM_LIST *pl = mycalloc(1, sizeof(*pl));
    unsigned types = 0;
    int     ret = -1;

    if (key_file == NULL || *key_file == 0)
	key_file = cert_file;
    if (tls_pem_read(pl, cert_file, error_r) < 0)
	goto out;
    if (strcmp(key_file, cert_file) != 0 && tls_pem_read(pl, key_file, error_r) < 0)
	goto out;
    ret = tls_use_group(ctx, pl, 0, pl->count, &types, cert_file, error_r);
out:
    tls_pem_list_free(pl);
    myfree(pl);
    return ret;
}

/* tls_load_chain_files - Postfix's smtpd_tls_chain_files: in each file, each
 * private key is followed by its certificate chain (leaf first), or the leaf
 * certificate comes first, then its key, then the rest of the chain. */
int     tls_load_chain_files(SSL_CTX *ctx, const char *files, const char **error_r)
{
    ARGV   *av = argv_split_list(files);
    unsigned types = 0;
    int     ret = -1;

    for (int f = 0; f < av->argc; f++) {
	TLS_PEM_LIST *pl = mycalloc(1, sizeof(*pl));
	const char *file = av->argv[f];
	int     i = 0, rc = 0;

	if (tls_pem_read(pl, file, error_r) < 0) {
	    rc = -1;
	} else {
	    while (i < pl->count && rc == 0) {
		int     start = i;

		if (pl->items[i].key) {
		    i++;
		} else if (i + 1 < pl->count && pl->items[i + 1].key) {
		    i += 2;
		} else {
		    *error_r = tls_error_fmt("%s: certificate without a private key"
					     " (each key must be next to its certificate)",
					     file);
		    rc = -1;
		    break;
		}
		while (i < pl->count && pl->items[i].cert)
		    i++;
		rc = tls_use_group(ctx, pl, start, i, &types, file, error_r);
	    }
	}
	tls_pem_list_free(pl);
	myfree(pl);
	if (rc < 0)
	    goto out;
    }
    ret = 0;
out:
    argv_free(&av);
    return ret;
}
