/* tls_server.c - the server side of TLS: context from Postfix-named
 * settings (smtpd_tls_*, ssl_* mapped by each daemon) and the per-connection
 * start (STARTTLS or implicit TLS on 465/993/995).
 *
 * Contract: see tls.h. Certificates: smtpd_tls_chain_files when set (any
 * number of files, each with keys and their chains; RSA and ECDSA at once;
 * OpenSSL serves whichever the client's signature algorithms allow),
 * otherwise cert_file/key_file and eccert_file/eckey_file. Sessions: with a
 * non-zero session timeout, stateless tickets (TLS 1.2 and 1.3) valid that
 * long; processes of one service resume each other's sessions only when
 * they share a ticket key (TLS_SERVER_PARAMS.ticket_key).
 *
 * Limits: client certificates are asked for only with ask_ccert and never
 * required; their verification result only sets the trust state.
 */
#include "sys_defs.h"

#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "tls_private.h"

struct tls_server_ctx {
    SSL_CTX *ssl_ctx;
    int     loglevel;
};

static const unsigned char tls_server_sid_ctx[] = "posthorn";

/* tls_server_verify_any - ask for a client certificate, never require it */
static int tls_server_verify_any(int ok PH_UNUSED, X509_STORE_CTX *store PH_UNUSED)
{
    return 1;
}

/* tls_server_nonempty - a set string */
static bool tls_server_nonempty(const char *s)
{
    return s != NULL && *s != 0;
}

/* tls_server_init - build a server context */
TLS_SERVER_CTX *tls_server_init(const TLS_SERVER_PARAMS *p, const char **error_r)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    TLS_SERVER_CTX *sc;

    if (ctx == NULL) {
	const char *why = tls_library_errors();

	*error_r = tls_error_fmt("cannot create TLS server context: %s",
				 why ? why : "unknown error");
	return NULL;
    }
    if (tls_ctx_common(ctx, true, p->protocols, p->cipher_grade, p->high_cipherlist,
		       p->medium_cipherlist, p->exclude_ciphers, error_r) < 0)
	goto bad;

    /* Certificates and keys. */
    if (tls_server_nonempty(p->chain_files)) {
	if (tls_load_chain_files(ctx, p->chain_files, error_r) < 0)
	    goto bad;
    } else if (tls_server_nonempty(p->cert_file) || tls_server_nonempty(p->eccert_file)) {
	if (tls_server_nonempty(p->cert_file)
	    && tls_load_cert_key(ctx, p->cert_file, p->key_file, error_r) < 0)
	    goto bad;
	if (tls_server_nonempty(p->eccert_file)
	    && tls_load_cert_key(ctx, p->eccert_file, p->eckey_file, error_r) < 0)
	    goto bad;
    } else {
	*error_r = tls_error_fmt("no server certificate configured");
	goto bad;
    }
    if (tls_load_CA(ctx, p->CAfile, p->CApath, error_r) < 0)
	goto bad;
    if (p->ask_ccert) {
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_server_verify_any);
	if (tls_server_nonempty(p->CAfile)) {
	    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(p->CAfile);

	    if (names)
		SSL_CTX_set_client_CA_list(ctx, names);
	    ERR_clear_error();
	}
    }
    SSL_CTX_set_dh_auto(ctx, 1);

    /* Session resumption: stateless tickets only. */
    SSL_CTX_set_session_id_context(ctx, tls_server_sid_ctx, sizeof(tls_server_sid_ctx) - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (p->session_timeout > 0) {
	SSL_CTX_set_timeout(ctx, p->session_timeout);
	if (p->ticket_key) {
	    unsigned char keys[TLS_TICKET_KEY_LEN];

	    memcpy(keys, p->ticket_key, sizeof(keys));
	    if (SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof(keys)) != 1) {
		OPENSSL_cleanse(keys, sizeof(keys));
		(void) tls_library_errors();
		*error_r = tls_error_fmt("cannot set TLS session ticket key");
		goto bad;
	    }
	    OPENSSL_cleanse(keys, sizeof(keys));
	}
    } else {
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
    }
    sc = mycalloc(1, sizeof(*sc));
    sc->ssl_ctx = ctx;
    sc->loglevel = p->loglevel;
    return sc;

bad:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

/* tls_server_free - release a server context */
void    tls_server_free(TLS_SERVER_CTX **ctxp)
{
    TLS_SERVER_CTX *sc = *ctxp;

    if (sc == NULL)
	return;
    SSL_CTX_free(sc->ssl_ctx);
    myfree(sc);
    *ctxp = NULL;
}

/* tls_server_start - handshake as the server, then hook the STREAM */
TLS_SESSION *tls_server_start(STREAM *sp, TLS_SERVER_CTX *sc, int timeout,
			              const char *peer_name, const char *peer_addr,
			              const char **error_r)
{
    VSTRING *namaddr = vstring_alloc(100);
    TLS_SESSION *ts;
    X509   *peer;

    if (sp == NULL || sc == NULL)
	msg_panic("tls_server_start: NULL argument");
    vstring_set_limit(namaddr, 600);
    vstring_fmt(namaddr, "%s[%s]", peer_name ? peer_name : "unknown",
		peer_addr ? peer_addr : "unknown");

    /* The plaintext reply goes out first; pipelined plaintext is dropped. */
    if (stream_flush(sp) < 0) {
	*error_r = tls_error_fmt("lost connection before TLS handshake");
	msg_info("SSL_accept error from %s: %s", STR(namaddr), *error_r);
	vstring_free(&namaddr);
	return NULL;
    }
    stream_discard_input(sp);
    ts = tls_session_create(sc->ssl_ctx, sp, true, sc->loglevel, STR(namaddr));
    vstring_free(&namaddr);
    if (tls_session_handshake(ts, timeout, error_r) < 0) {
	tls_session_free(&ts);
	return NULL;
    }
    if ((peer = SSL_get0_peer_certificate(ts->ssl)) != NULL)
	ts->trust = SSL_get_verify_result(ts->ssl) == X509_V_OK ?
	    TLS_TRUST_TRUSTED : TLS_TRUST_UNTRUSTED;
    tls_session_peer_info(ts);
    tls_session_activate(ts);
    tls_session_log(ts);
    return ts;
}
