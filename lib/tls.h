/* tls.h - TLS for servers and clients over a STREAM (OpenSSL 3 inside).
 *
 * Three steps for a server (smtpd STARTTLS / port 465, imapd, pop3d):
 *   1. tls_server_init() once per process, from Postfix-named settings the
 *      daemon maps into a TLS_SERVER_PARAMS (smtpd_tls_*, ssl_*, ...).
 *   2. tls_server_start() per connection: flushes what the STREAM has
 *      buffered for writing (the "220 Ready to start TLS" reply), DISCARDS
 *      what it has buffered for reading (pipelined plaintext must not leak
 *      into the TLS session), runs the handshake under a deadline, then
 *      installs TLS read/write hooks on the STREAM: from then on
 *      stream_getline()/stream_write() and friends speak TLS.
 *   3. tls_session_stop() sends close_notify and shuts the STREAM's hooks;
 *      call it before stream_close().
 * The client side (smtp) is the same with tls_client_init/tls_client_start.
 *
 * Logging: failed handshakes are always logged ("SSL_accept error from
 * host[addr]: reason", plus "warning: TLS library problem: ..." lines);
 * with loglevel >= 1 a successful one logs Postfix's line, e.g.
 *   Anonymous TLS connection established from host[addr]: TLSv1.3 with
 *   cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
 *   Verified TLS connection established to host[addr]:25: TLSv1.3 with ...
 * A peer that tries to renegotiate gets a logged warning and the read fails.
 *
 * Errors: configuration and handshake problems come back as NULL / -1 with
 * a reason in *error_r. The text lives in static storage that stays valid
 * until the next call into this module. Only broken invariants (a NULL
 * stream) panic. Processes are single-threaded; so is this module.
 *
 * Nothing in this header exposes OpenSSL types.
 */
#ifndef TLS_H
#define TLS_H

#include "sys_defs.h"
#include "stream.h"
#include "vstring.h"

typedef struct tls_server_ctx TLS_SERVER_CTX;
typedef struct tls_client_ctx TLS_CLIENT_CTX;
typedef struct tls_session TLS_SESSION;

/* ---- protocol versions (ordered: compare with < and >) ---- */
#define TLS_PROTO_SSLv2   1
#define TLS_PROTO_SSLv3   2
#define TLS_PROTO_TLSv1   3
#define TLS_PROTO_TLSv1_1 4
#define TLS_PROTO_TLSv1_2 5
#define TLS_PROTO_TLSv1_3 6

/* tls_protocols_parse - map a protocol list in Postfix syntax to the range
 * [*min_r, *max_r] of TLS_PROTO_* values. Accepted (tokens separated by
 * white space, commas or colons; names case-insensitive):
 *   ">=TLSv1.2"  "<=TLSv1.3"              bounds
 *   "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"     exclusions
 *   "TLSv1.2:TLSv1.3"                      inclusions (only these)
 * NULL or an empty list gives the modern default TLSv1.2..TLSv1.3. Errors
 * (-1, *error_r): an unknown name, an empty result, or a result with a gap
 * ("TLSv1.1, TLSv1.3": OpenSSL can only enforce a contiguous range). */
int     tls_protocols_parse(const char *spec, int *min_r, int *max_r, const char **error_r);
/* tls_protocol_name - "TLSv1.2" for TLS_PROTO_TLSv1_2; "unknown" otherwise */
const char *tls_protocol_name(int proto);

/* ---- client security levels (smtp_tls_security_level) ---- */
typedef enum tls_level {
    TLS_LEV_NONE,			/* no TLS */
    TLS_LEV_MAY,			/* opportunistic: any certificate */
    TLS_LEV_ENCRYPT,			/* mandatory TLS, no authentication */
    TLS_LEV_FPRINT,			/* mandatory TLS, the leaf certificate
					 * or its public key must match a
					 * configured fingerprint (no CA, no
					 * name checks) */
    TLS_LEV_DANE,			/* DANE (RFC 7672): TLSA records */
    TLS_LEV_DANE_ONLY,			/* DANE, no fallback (smtp resolves
					 * it to DANE or a deferral before
					 * tls_client_start) */
    TLS_LEV_VERIFY,			/* trusted chain + name match */
    TLS_LEV_SECURE,			/* same; names come from the next-hop */
} TLS_LEVEL;

/* tls_level_parse - "none", "may", "encrypt", "fingerprint", "dane",
 * "dane-only", "verify", "secure" (case-insensitive; "" = none); -1 for
 * anything else */
int     tls_level_parse(const char *name);
/* tls_level_name - the Postfix name of a level */
const char *tls_level_name(TLS_LEVEL level);

/* ---- peer trust, as Postfix logs it ---- */
typedef enum tls_trust {
    TLS_TRUST_ANONYMOUS,		/* no peer certificate */
    TLS_TRUST_UNTRUSTED,		/* certificate, chain not verified */
    TLS_TRUST_TRUSTED,			/* chain verified (no name check) */
    TLS_TRUST_VERIFIED,			/* chain verified and name matched */
} TLS_TRUST;

/* tls_trust_name - "Anonymous", "Untrusted", "Trusted", "Verified" */
const char *tls_trust_name(TLS_TRUST trust);

/* Length of a session ticket key (name 16 + HMAC 32 + AES 32 bytes). */
#define TLS_TICKET_KEY_LEN 80

/* ---- server ---- */

/* Settings in Postfix terms. NULL/empty strings mean "not set". At least
 * one certificate must come from cert_file, eccert_file or chain_files. */
typedef struct tls_server_params {
    const char *cert_file;		/* smtpd_tls_cert_file (+ chain) */
    const char *key_file;		/* smtpd_tls_key_file (NULL: cert_file) */
    const char *eccert_file;		/* smtpd_tls_eccert_file */
    const char *eckey_file;		/* smtpd_tls_eckey_file (NULL: eccert) */
    const char *chain_files;		/* smtpd_tls_chain_files: a list of
					 * files, each with private key(s) and
					 * the certificate chain(s) */
    const char *CAfile;			/* smtpd_tls_CAfile (client certs) */
    const char *CApath;			/* smtpd_tls_CApath */
    const char *protocols;		/* smtpd_tls_protocols (Postfix syntax) */
    const char *cipher_grade;		/* "high" or "medium" (NULL: medium) */
    const char *high_cipherlist;	/* tls_high_cipherlist (NULL: default) */
    const char *medium_cipherlist;	/* tls_medium_cipherlist (NULL: default) */
    const char *exclude_ciphers;	/* smtpd_tls_exclude_ciphers (list) */
    int     session_timeout;		/* smtpd_tls_session_cache_timeout, s;
					 * 0 disables resumption */
    const unsigned char *ticket_key;	/* TLS_TICKET_KEY_LEN bytes shared by
					 * all processes of a service, or NULL
					 * for a random per-context key */
    bool    ask_ccert;			/* smtpd_tls_ask_ccert */
    int     loglevel;			/* smtpd_tls_loglevel */
} TLS_SERVER_PARAMS;

/* tls_server_init - build a server context; NULL + *error_r on bad files,
 * keys that do not match their certificates, bad protocols or ciphers.
 * Forward secrecy + AEAD suites are moved first within the chosen grade
 * and the server's order wins; no renegotiation, no compression. */
TLS_SERVER_CTX *tls_server_init(const TLS_SERVER_PARAMS *params, const char **error_r);
/* tls_server_free - release; NULLs the pointer */
void    tls_server_free(TLS_SERVER_CTX **ctxp);

/* tls_server_start - TLS handshake on sp's descriptor, at most timeout
 * seconds in total (<= 0: 300). peer_name/peer_addr are for log lines.
 * On success the STREAM speaks TLS. NULL + *error_r on failure (garbage,
 * timeout, protocol refused, ...): the error has been logged; the caller
 * drops the connection. */
TLS_SESSION *tls_server_start(STREAM *sp, TLS_SERVER_CTX *ctx, int timeout,
			              const char *peer_name, const char *peer_addr,
			              const char **error_r);

/* ---- client ---- */

typedef struct tls_client_params {
    const char *CAfile;			/* smtp_tls_CAfile */
    const char *CApath;			/* smtp_tls_CApath */
    bool    append_default_CA;		/* tls_append_default_CA */
    const char *cert_file;		/* smtp_tls_cert_file (optional) */
    const char *key_file;		/* smtp_tls_key_file (NULL: cert_file) */
    const char *protocols;		/* smtp_tls_protocols */
    const char *cipher_grade;		/* "high" or "medium" (NULL: medium) */
    const char *high_cipherlist;
    const char *medium_cipherlist;
    const char *exclude_ciphers;
    int     loglevel;			/* smtp_tls_loglevel */
} TLS_CLIENT_PARAMS;

/* tls_client_init - build a client context; NULL + *error_r on error */
TLS_CLIENT_CTX *tls_client_init(const TLS_CLIENT_PARAMS *params, const char **error_r);
/* tls_client_free - release; NULLs the pointer */
void    tls_client_free(TLS_CLIENT_CTX **ctxp);

/* One TLSA record (RFC 6698) as DNS delivered it. */
typedef struct tls_tlsa {
    unsigned char usage;		/* 2 DANE-TA, 3 DANE-EE (0/1: unusable
					 * in SMTP, RFC 7672 3.1.3) */
    unsigned char selector;		/* 0 certificate, 1 SubjectPublicKeyInfo */
    unsigned char mtype;		/* 0 full, 1 SHA-256, 2 SHA-512 */
    const unsigned char *data;
    size_t  len;
} TLS_TLSA;

/* tls_tlsa_usable - a record the SMTP client can use: usage 2 or 3,
 * selector 0 or 1, matching type 0, 1 or 2 with the right digest length */
bool    tls_tlsa_usable(const TLS_TLSA *rec);

/* ---- fingerprints (smtp_tls_fingerprint_cert_match, "fingerprint
 * match=...") ---- */

#define TLS_FPRINT_MAX 64		/* bytes: the longest digest OpenSSL
					 * has (EVP_MAX_MD_SIZE, SHA-512) */

/* One fingerprint, decoded. */
typedef struct tls_fprint {
    unsigned char md[TLS_FPRINT_MAX];
    size_t  len;			/* 1..TLS_FPRINT_MAX */
} TLS_FPRINT;

/* tls_fprint_decode - one fingerprint in Postfix's syntax: pairs of hex
 * digits (either case), each pair optionally followed by one ":" when
 * another pair follows ("AB:cd:0F", "ABCD0F", "AB:CD0F"). Rejected (-1):
 * empty text, an odd number of digits, a non-hex byte, a leading,
 * trailing or doubled colon, more than TLS_FPRINT_MAX bytes. 0 on
 * success, with fp filled in. */
int     tls_fprint_decode(const char *text, TLS_FPRINT *fp);
/* tls_fprint_encode - "AB:CD:..." (upper case, as Postfix prints them)
 * into buf; returns buf's text */
const char *tls_fprint_encode(const TLS_FPRINT *fp, VSTRING *buf);
/* tls_fprint_digest_check - name is a digest OpenSSL can compute here
 * ("md5", "sha1", "sha256", "sha512", or any other name OpenSSL knows,
 * case-insensitive) with a fixed output of at most TLS_FPRINT_MAX bytes.
 * 0, or -1 with *error_r ("Digest algorithm \"x\" not found") */
int     tls_fprint_digest_check(const char *name, const char **error_r);
/* tls_fprint_match_der - does the DER certificate (len bytes) match one of
 * fps[0..count-1], by the digest (see tls_fprint_digest_check) of the
 * whole certificate or of its SubjectPublicKeyInfo? 1 (*which_r, when
 * not NULL, gets "certificate" or "public key"), 0 (no match), -1 (*error_r:
 * the DER does not parse, the digest is unknown). */
int     tls_fprint_match_der(const unsigned char *der, size_t len, const char *digest,
			             const TLS_FPRINT *fps, int count, const char **which_r,
			             const char **error_r);

/* Per-connection client settings. */
typedef struct tls_client_start_params {
    TLS_LEVEL level;			/* may, encrypt, fingerprint, verify,
					 * secure, dane */
    const char *servername;		/* SNI (not sent for IP literals) */
    const char *const *match_names;	/* names accepted in the server
					 * certificate (NULL-terminated; a
					 * leading "." matches subdomains);
					 * NULL: { servername } */
    const char *peer_name;		/* for logs: host[addr]:port */
    const char *peer_addr;
    unsigned port;
    int     timeout;			/* handshake deadline, s (<= 0: 300) */
    const VSTRING *session;		/* from tls_session_save: resume */
    /* level DANE: the usable TLSA records (at least one) and the TLSA base
     * domain; match_names then lists the other names a DANE-TA chain's
     * certificate may carry (DANE-EE: no name check, RFC 7672 3.1.1). */
    const TLS_TLSA *tlsa;
    int     tlsa_count;
    const char *dane_base;
    /* level fingerprint: the leaf certificate or its public key must match
     * one of these (at least one) under fprint_digest (NULL: sha256). */
    const TLS_FPRINT *fprints;
    int     fprint_count;
    const char *fprint_digest;
} TLS_CLIENT_START;

/* tls_client_start - handshake as a client and check the server per level:
 * at fingerprint the digest of the leaf certificate or of its public key
 * must equal one of props->fprints (no CA or name checks) or the
 * handshake fails with "Server certificate not verified" (sessions may
 * be resumed: the check runs on the certificate the session carries); a
 * match gives trust Verified.
 * at DANE the chain must match one of props->tlsa (OpenSSL's DANE
 * verifier; no session resumption) or the handshake fails with "Server
 * certificate not trusted"; a match gives trust Verified.
 * at verify/secure an untrusted chain fails with "Server certificate not
 * trusted" and a name mismatch with "Server certificate not verified"; at
 * may/encrypt any certificate is accepted and only the trust state
 * records what was found (Untrusted or Trusted; names are checked only at
 * verify/secure, as Postfix does). NULL + *error_r on failure. */
TLS_SESSION *tls_client_start(STREAM *sp, TLS_CLIENT_CTX *ctx,
			              const TLS_CLIENT_START *props, const char **error_r);

/* ---- an established session ---- */

/* tls_session_protocol - "TLSv1.3" */
const char *tls_session_protocol(const TLS_SESSION *ts);
/* tls_session_cipher - "TLS_AES_256_GCM_SHA384" */
const char *tls_session_cipher(const TLS_SESSION *ts);
/* tls_session_bits - cipher strength in bits; *alg_bits_r (may be NULL)
 * the algorithm's key size */
int     tls_session_bits(const TLS_SESSION *ts, int *alg_bits_r);
/* tls_session_trust - what the peer's certificate was found to be */
TLS_TRUST tls_session_trust(const TLS_SESSION *ts);
/* tls_session_reused - the handshake resumed an earlier session */
bool    tls_session_reused(const TLS_SESSION *ts);
/* tls_session_peer_CN - the peer certificate's subject CN, or NULL */
const char *tls_session_peer_CN(const TLS_SESSION *ts);
/* tls_session_summary - "TLSv1.3 with cipher X (256/256 bits)": the text
 * of the log line and of a Received: header's "using" clause */
void    tls_session_summary(const TLS_SESSION *ts, VSTRING *buf);
/* tls_session_save - client: the session in DER form for a later
 * TLS_CLIENT_START.session (TLS 1.3 tickets arrive after the handshake,
 * so save after the first reply was read); 0, or -1 when there is none */
int     tls_session_save(const TLS_SESSION *ts, VSTRING *buf);

/* tls_session_stop - flush the STREAM, send close_notify (bounded by the
 * handshake timeout, skipped after an error), replace the STREAM's hooks
 * with closed ones (reads give EOF, writes EPIPE: no plaintext can follow
 * TLS on the connection) and free the session; NULLs the pointer. Returns
 * 0, or -1 when pending output could not be flushed or the session had
 * failed (the session is freed anyway). */
int     tls_session_stop(TLS_SESSION **tsp);
/* tls_session_free - free without touching the STREAM (it was closed
 * already, or belongs to another process); NULLs the pointer */
void    tls_session_free(TLS_SESSION **tsp);

/* ---- certificates ---- */

#define TLS_KEY_RSA   1			/* RSA 2048 */
#define TLS_KEY_ECDSA 2			/* EC P-256 */

/* tls_make_self_signed - for `posthorn tls new-server-cert`: a new RSA
 * 2048 key and a self-signed certificate for hostname (CN and
 * subjectAltName; an IP literal becomes an IP SAN), valid 10 years. The
 * key file is written with mode 0600, the certificate with 0644, each
 * atomically (temp + fsync + rename). key_path NULL or equal to cert_path
 * writes one file, key first then certificate (smtpd_tls_chain_files
 * form), mode 0600. 0, or -1 + *error_r. */
int     tls_make_self_signed(const char *cert_path, const char *key_path,
			             const char *hostname, const char **error_r);
/* tls_make_self_signed_key - the same with key_type TLS_KEY_RSA/ECDSA */
int     tls_make_self_signed_key(const char *cert_path, const char *key_path,
			                 const char *hostname, int key_type,
			                 const char **error_r);

#endif
