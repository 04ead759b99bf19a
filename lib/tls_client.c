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
 * Limits: no DANE, no fingerprint matching, no OCSP/CRL checks.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <string.h>

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
    if (props->session && LEN(props->session) > 0) {
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
    if (ts->trust == TLS_TRUST_UNTRUSTED
	&& (ts->loglevel >= 1 || props->level >= TLS_LEV_VERIFY))
	msg_info("certificate verification failed for %s: %s", ts->namaddr,
		 X509_verify_cert_error_string(vr));
    tls_session_activate(ts);
    if (props->level >= TLS_LEV_VERIFY) {
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
