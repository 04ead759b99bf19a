/* tls_private.h - shared internals of tls_misc.c, tls_server.c,
 * tls_client.c and tls_certgen.c. Nothing outside lib/tls*.c includes this:
 * callers see only tls.h.
 */
#ifndef TLS_PRIVATE_H
#define TLS_PRIVATE_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"

struct tls_session {
    SSL    *ssl;
    STREAM *stream;			/* the hooks are installed on this */
    int     fd;
    bool    is_server;
    int     loglevel;
    int     timeout;			/* handshake/shutdown deadline, s */
    bool    handshake_done;		/* renegotiation is detected after it */
    bool    reneg_seen;			/* the peer tried to renegotiate */
    bool    failed;			/* fatal TLS error: no more I/O */
    bool    hooked;			/* our hooks are on the STREAM */
    TLS_TRUST trust;
    char   *namaddr;			/* host[addr] or host[addr]:port */
    char   *peer_CN;
};

/* tls_error_fmt - format into the module's static error buffer */
const char *tls_error_fmt(const char *fmt, ...) PH_PRINTF(1, 2);
/* tls_library_errors - log OpenSSL's error queue as warnings, empty it,
 * and return the first reason (or NULL when the queue was empty) */
const char *tls_library_errors(void);

/* tls_ctx_common - options both sides share (versions, ciphers, no
 * renegotiation, no compression, partial writes); 0 or -1 */
int     tls_ctx_common(SSL_CTX *ctx, bool server, const char *protocols,
		               const char *grade, const char *high, const char *medium,
		               const char *exclude, const char **error_r);
/* tls_load_CA - CAfile/CApath into the context's trust store; 0 or -1 */
int     tls_load_CA(SSL_CTX *ctx, const char *CAfile, const char *CApath,
		            const char **error_r);
/* tls_load_cert_key - one certificate chain with its key (separate files
 * or one file); 0 or -1 */
int     tls_load_cert_key(SSL_CTX *ctx, const char *cert_file, const char *key_file,
			          const char **error_r);
/* tls_load_chain_files - smtpd_tls_chain_files; 0 or -1 */
int     tls_load_chain_files(SSL_CTX *ctx, const char *files, const char **error_r);

/* tls_session_create - a session for sp over ctx (not yet handshaken) */
TLS_SESSION *tls_session_create(SSL_CTX *ctx, STREAM *sp, bool server, int loglevel,
				        const char *namaddr);
/* tls_session_handshake - SSL_accept/SSL_connect under a deadline; on
 * failure logs and returns -1 with the reason in *error_r */
int     tls_session_handshake(TLS_SESSION *ts, int timeout, const char **error_r);
/* tls_session_activate - install the STREAM hooks */
void    tls_session_activate(TLS_SESSION *ts);
/* tls_session_peer_info - fill peer_CN from the peer certificate */
void    tls_session_peer_info(TLS_SESSION *ts);
/* tls_session_log - Postfix's "... TLS connection established ..." line */
void    tls_session_log(const TLS_SESSION *ts);

#endif
