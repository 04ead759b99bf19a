/* tls_client.c - the client side of TLS for the smtp delivery agent:
 * context from smtp_tls_* settings, per-connection start with SNI, session
 * resumption and the checks of smtp_tls_security_level.
 *
 * Contract: see tls.h. The chain is verified against CAfile/CApath (plus
 * the system store with append_default_CA) and the verdict is taken after
 * the handshake: may/encrypt accept any certificate and only record the
 * trust state; verify/secure fail unless the chain is trusted and one of
 * the match names is in the certificate (X509_check_host: subjectAltName
 * DNS names, CN only when there are none; no partial wildcards; a name with
 * a leading "." matches any subdomain).
 *
 * DANE (level TLS_LEV_DANE): OpenSSL's DANE verifier (SSL_dane_enable with
 * the TLSA base domain, one SSL_dane_tlsa_add per record) decides; DANE-EE
 * matches skip the name check (DANE_FLAG_NO_DANE_EE_NAMECHECKS), DANE-TA
 * chains must name the base domain or one of match_names (SSL_add1_host).
 * Only the records tls_tlsa_usable() accepts are handed over; PKIX usages
 * 0 and 1 are never used (RFC 7672 3.1.3), so the CAfile plays no part.
 *
 * Fingerprint (level TLS_LEV_FPRINT, Postfix's "fingerprint"): after the
 * handshake the digest (props->fprint_digest) of the peer's leaf
 * certificate, or of its SubjectPublicKeyInfo, must equal one of
 * props->fprints (tls_fprint.c); the chain, CAfile and names play no part.
 * A match gives trust Verified; a mismatch or a missing certificate fails
 * with "Server certificate not verified".
 *
 * Limits: no OCSP/CRL checks.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "tls_private.h"

struct tls_client_ctx {
    SSL_CTX *ssl_ctx;
    int     loglevel;
};

/* tls_client_init - build a client context */
TLS_CLIENT_CTX *tls_client_init(const TLS_CLIENT_PARAMS *p, const char **error_r)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    TLS_CLIENT_CTX *cc;

    if (ctx == NULL) {
	const char *why = tls_library_errors();

	*error_r = tls_error_fmt("cannot create TLS client context: %s",
				 why ? why : "unknown error");
	return NULL;
    }
    if (tls_ctx_common(ctx, false, p->protocols, p->cipher_grade, p->high_cipherlist,
		       p->medium_cipherlist, p->exclude_ciphers, error_r) < 0)
	goto bad;
    if (tls_load_CA(ctx, p->CAfile, p->CApath, error_r) < 0)
	goto bad;
    if (p->append_default_CA && SSL_CTX_set_default_verify_paths(ctx) != 1) {
	(void) tls_library_errors();
	*error_r = tls_error_fmt("cannot load the system's default CA certificates");
	goto bad;
    }
    if (p->cert_file && *p->cert_file
	&& tls_load_cert_key(ctx, p->cert_file, p->key_file, error_r) < 0)
	goto bad;
    /* DANE per connection needs the context's digest tables. */
    if (SSL_CTX_dane_enable(ctx) <= 0) {
	(void) tls_library_errors();
	*error_r = tls_error_fmt("cannot enable DANE support in the TLS client context");
	goto bad;
    }
    /* Verification runs anyway; the verdict is ours, after the handshake. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    cc = mycalloc(1, sizeof(*cc));
    cc->ssl_ctx = ctx;
    cc->loglevel = p->loglevel;
    return cc;

bad:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

/* tls_client_free - release a client context */
void    tls_client_free(TLS_CLIENT_CTX **ctxp)
{
    TLS_CLIENT_CTX *cc = *ctxp;

    if (cc == NULL)
	return;
    SSL_CTX_free(cc->ssl_ctx);
    myfree(cc);
    *ctxp = NULL;
}

/* tls_client_is_literal - an address, not a host name (no SNI for those) */
static bool tls_client_is_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return strchr(name, '[') != NULL || inet_pton(AF_INET, name, buf) == 1
	|| inet_pton(AF_INET6, name, buf) == 1;
}

/* tls_client_match - is one of the names in the certificate? */
static bool tls_client_match(X509 *cert, const TLS_CLIENT_START *props)
{
    const char *single[2] = {props->servername, NULL};
    const char *const *names = props->match_names ? props->match_names : single;

    for (int i = 0; names[i]; i++) {
	const char *name = names[i];
	int     rc;

	if (*name == 0)
	    continue;
	if (tls_client_is_literal(name))
	    rc = X509_check_ip_asc(cert, name, 0);
	else
	    rc = X509_check_host(cert, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL);
	if (rc == 1)
	    return true;
    }
    ERR_clear_error();
    return false;
}

/* tls_tlsa_usable - see tls.h */
bool    tls_tlsa_usable(const TLS_TLSA *rec)
{
    if (rec->usage != 2 && rec->usage != 3)
	return false;
    if (rec->selector > 1)
	return false;
    switch (rec->mtype) {
    case 0:
	return rec->len > 0;
    case 1:
	return rec->len == 32;
    case 2:
	return rec->len == 64;
    default:
	return false;
    }
}

/* tls_client_dane - arm OpenSSL's DANE verifier; 0, or -1 with *error_r */
static int tls_client_dane(SSL *ssl, const TLS_CLIENT_START *props, const char **error_r)
{
    int     usable = 0;

    if (props->dane_base == NULL || *props->dane_base == 0 || props->tlsa_count <= 0)
	msg_panic("tls_client_start: DANE without TLSA records or base domain");
    if (SSL_dane_enable(ssl, props->dane_base) <= 0) {
	(void) tls_library_errors();
	*error_r = tls_error_fmt("cannot enable DANE for %s", props->dane_base);
	return -1;
    }
    (void) SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    /* DANE-TA: names besides the base domain (RFC 7672 3.2.2). */
    for (int i = 0; props->match_names && props->match_names[i]; i++)
	if (*props->match_names[i] && strcasecmp(props->match_names[i], props->dane_base) != 0
	    && SSL_add1_host(ssl, props->match_names[i]) != 1)
	    ERR_clear_error();
    for (int i = 0; i < props->tlsa_count; i++) {
	const TLS_TLSA *t = props->tlsa + i;

	if (!tls_tlsa_usable(t))
	    continue;
	if (SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data, t->len) > 0)
	    usable++;
	else
	    ERR_clear_error();		/* e.g. a full certificate that does not parse */
    }
    if (usable == 0) {
	*error_r = tls_error_fmt("no usable TLSA records for %s", props->dane_base);
	return -1;
    }
    return 0;
}

/* tls_client_fprint - level fingerprint: does the peer's leaf certificate or
 * its public key match one of props->fprints? Logs the outcome. */
static bool tls_client_fprint(TLS_SESSION *ts, X509 *peer, const TLS_CLIENT_START *props)
{
    const char *digest = props->fprint_digest && *props->fprint_digest
	? props->fprint_digest : "sha256";
    unsigned char *der = NULL;
    const char *which = NULL, *err = NULL;
    int     len, rc = 0;

    if (props->fprints == NULL || props->fprint_count <= 0)
	msg_panic("tls_client_start: level fingerprint without fingerprints");
    if (peer == NULL) {
	msg_info("server certificate verification failed for %s: no certificate", ts->namaddr);
	return false;
    }
    if ((len = i2d_X509(peer, &der)) <= 0) {
	ERR_clear_error();
	msg_info("server certificate verification failed for %s: cannot encode the certificate",
		 ts->namaddr);
	return false;
    }
    rc = tls_fprint_match_der(der, (size_t) len, digest, props->fprints, props->fprint_count,
			      &which, &err);
    OPENSSL_free(der);
    if (rc < 0) {
	msg_warn("%s: %s", ts->namaddr, err);
	return false;
    }
    if (rc == 0) {
	/* Postfix's wording for a failed verification without a more
	 * specific cause. */
	msg_info("server certificate verification failed for %s: num=%d:%s", ts->namaddr,
		 X509_V_ERR_DANE_NO_MATCH, X509_verify_cert_error_string(X509_V_ERR_DANE_NO_MATCH));
	return false;
    }
    if (ts->loglevel >= 2)
	msg_info("%s: matched %s %s fingerprint", ts->namaddr, digest, which);
    return true;
}

/* tls_client_start - handshake as a client and apply the security level */
TLS_SESSION *tls_client_start(STREAM *sp, TLS_CLIENT_CTX *cc,
			              const TLS_CLIENT_START *props, const char **error_r)
{
    VSTRING *namaddr = vstring_alloc(100);
    const char *name = props->peer_name ? props->peer_name
	: props->servername ? props->servername : "unknown";
    TLS_SESSION *ts;
    X509   *peer;

    if (sp == NULL || cc == NULL)
	msg_panic("tls_client_start: NULL argument");
    vstring_set_limit(namaddr, 600);
    vstring_fmt(namaddr, "%s[%s]:%u", name, props->peer_addr ? props->peer_addr : "unknown",
		props->port);
    if (stream_flush(sp) < 0) {
	*error_r = tls_error_fmt("lost connection before TLS handshake");
	msg_info("SSL_connect error to %s: %s", STR(namaddr), *error_r);
	vstring_free(&namaddr);
	return NULL;
    }
    stream_discard_input(sp);
    ts = tls_session_create(cc->ssl_ctx, sp, false, cc->loglevel, STR(namaddr));
    vstring_free(&namaddr);

    if (props->servername && *props->servername && !tls_client_is_literal(props->servername)
	&& SSL_set_tlsext_host_name(ts->ssl, props->servername) != 1)
	ERR_clear_error();			/* over-long name: no SNI */
    bool    dane = props->level == TLS_LEV_DANE || props->level == TLS_LEV_DANE_ONLY;

    if (dane && tls_client_dane(ts->ssl, props, error_r) < 0) {
	msg_info("SSL_connect error to %s: %s", ts->namaddr, *error_r);
	tls_session_free(&ts);
	return NULL;
    }
    if (!dane && props->session && LEN(props->session) > 0) {
	const unsigned char *p = (const unsigned char *) STR(props->session);
	SSL_SESSION *sess = d2i_SSL_SESSION(NULL, &p, (long) LEN(props->session));

	if (sess) {
	    (void) SSL_set_session(ts->ssl, sess);
	    SSL_SESSION_free(sess);
	}
	ERR_clear_error();
    }
    if (tls_session_handshake(ts, props->timeout, error_r) < 0) {
	tls_session_free(&ts);
	return NULL;
    }

    /* The verdict. */
    long    vr = SSL_get_verify_result(ts->ssl);

    if ((peer = SSL_get0_peer_certificate(ts->ssl)) == NULL)
	ts->trust = TLS_TRUST_ANONYMOUS;
    else if (vr == X509_V_OK)
	ts->trust = TLS_TRUST_TRUSTED;
    else
	ts->trust = TLS_TRUST_UNTRUSTED;
    tls_session_peer_info(ts);
    /* At fingerprint the chain does not matter: no noise about it. */
    if (ts->trust == TLS_TRUST_UNTRUSTED && props->level != TLS_LEV_FPRINT
	&& (ts->loglevel >= 1 || props->level >= TLS_LEV_DANE))
	msg_info("certificate verification failed for %s: %s", ts->namaddr,
		 X509_verify_cert_error_string(vr));
    tls_session_activate(ts);
    if (dane) {
	EVP_PKEY *mspki = NULL;
	X509   *mcert = NULL;
	int     depth = SSL_get0_dane_authority(ts->ssl, &mcert, &mspki);

	if (ts->trust == TLS_TRUST_TRUSTED && depth >= 0) {
	    ts->trust = TLS_TRUST_VERIFIED;
	    if (ts->loglevel >= 2) {
		uint8_t usage, selector, mtype;

		if (SSL_get0_dane_tlsa(ts->ssl, &usage, &selector, &mtype, NULL, NULL) >= 0)
		    msg_info("%s: matched TLSA record %u %u %u at depth %d", ts->namaddr,
			     usage, selector, mtype, depth);
	    }
	} else {
	    *error_r = "Server certificate not trusted";
	    (void) tls_session_stop(&ts);
	    return NULL;
	}
    } else if (props->level == TLS_LEV_FPRINT) {
	if (!tls_client_fprint(ts, peer, props)) {
	    *error_r = "Server certificate not verified";
	    (void) tls_session_stop(&ts);
	    return NULL;
	}
	ts->trust = TLS_TRUST_VERIFIED;
    } else if (props->level >= TLS_LEV_VERIFY) {
	if (ts->trust != TLS_TRUST_TRUSTED) {
	    *error_r = "Server certificate not trusted";
	} else if (!tls_client_match(peer, props)) {
	    msg_info("server certificate verification failed for %s: name mismatch%s%s",
		     ts->namaddr, ts->peer_CN ? ", CN=" : "", ts->peer_CN ? ts->peer_CN : "");
	    *error_r = "Server certificate not verified";
	} else {
	    ts->trust = TLS_TRUST_VERIFIED;
	}
	if (ts->trust != TLS_TRUST_VERIFIED) {
	    (void) tls_session_stop(&ts);
	    return NULL;
	}
    }
    tls_session_log(ts);
    return ts;
}
