/* smtp.h - shared declarations of the smtp/lmtp delivery agent.
 *
 * One request (lib/deliver_request.h) is delivered by smtp_connect_deliver:
 * nexthop -> address list (smtp_connect.c, lib/dns.h), sessions
 * (smtp_proto.c: EHLO/LHLO, STARTTLS via smtp_tls.c, AUTH via smtp_sasl.c,
 * MAIL/RCPT/DATA with pipelining), an idle session kept for the next
 * request to the same destination (smtp_session_cache.c). Per-recipient
 * results collect in SMTP_STATE and go back to qmgr from smtp.c.
 */
#ifndef SMTP_H
#define SMTP_H

#include "sys_defs.h"
#include "deliver_request.h"
#include "dns.h"
#include "qfile.h"
#include "smtp_reply.h"
#include "stream.h"
#include "tls.h"
#include "vstring.h"

/* Server features from the EHLO/LHLO reply. */
#define SMTP_FEATURE_ESMTP      (1 << 0)
#define SMTP_FEATURE_PIPELINING (1 << 1)
#define SMTP_FEATURE_SIZE       (1 << 2)
#define SMTP_FEATURE_8BITMIME   (1 << 3)
#define SMTP_FEATURE_SMTPUTF8   (1 << 4)
#define SMTP_FEATURE_DSN        (1 << 5)
#define SMTP_FEATURE_STARTTLS   (1 << 6)
#define SMTP_FEATURE_AUTH       (1 << 7)


typedef struct smtp_session {
    STREAM *stream;
    TLS_SESSION *tls;
    char   *host;			/* MX host name (or the address) */
    char   *addr;			/* "192.0.2.1" or the unix socket path */
    unsigned port;			/* 0 for unix sockets */
    char   *namaddr;			/* "host[addr]:port" for logs (relay=) */
    char   *dest_key;			/* cache key: transport + nexthop */
    int     features;			/* SMTP_FEATURE_* */
    long    size_limit;			/* SIZE value; 0 = none announced */
    char   *auth_mechs;			/* AUTH mechanisms announced */
    int64_t idle_since_ms;		/* when cached */
    int     reuse_count;
    bool    lmtp;
    bool    dnssec;			/* the MX (if any) and address records
					 * that led here were DNSSEC-validated */
    DNS_RR *tlsa;       		/* level DANE: the TLSA RRset */
} SMTP_SESSION;

/* Outcome of a session attempt. */
#define SMTP_SESS_DONE 0		/* every recipient has a result */
#define SMTP_SESS_NEXT 1		/* try the next address/MX */

typedef struct smtp_rcpt_result {
    int     status;			/* -1 still pending, else DEL_STAT_* */
    char    dsn[16];
    VSTRING *reason;
    char   *relay;			/* relay= of the result */
} SMTP_RESULT;

typedef struct smtp_state {
    DELIVER_REQUEST *req;
    QFILE  *qf;
    const char *service;		/* master.cf name (smtp, relay, lmtp ...) */
    bool    lmtp;
    bool    eightbit;			/* content has 8-bit bytes (scanned) */
    bool    smtputf8;			/* envelope needs SMTPUTF8 */
    bool    tls_failed;			/* opportunistic TLS handshake failed:
					 * retry this address in plaintext */
    bool    tls_off;			/* this session: no STARTTLS */
    SMTP_RESULT *results;		/* one per req->rcpts[] */
    int64_t conn_us;			/* when the first connection started */
    /* The failure that applies to the recipients still pending when no
     * more addresses are left to try. */
    int     fail_status;
    char    fail_dsn[16];
    VSTRING *fail_reason;
    char   *fail_relay;
} SMTP_STATE;

/* smtp.c */
/* smtp_result - set recipient i's final result (first result wins) */
void smtp_result(SMTP_STATE *st, int i, int status, const char *dsn, const char *relay,
		 const char *fmt, ...) PH_PRINTF(6, 7);
/* smtp_fail - remember the session-level failure for pending recipients */
void smtp_fail(SMTP_STATE *st, int status, const char *dsn, const char *relay,
	       const char *fmt, ...) PH_PRINTF(5, 6);
/* smtp_pending - recipients without a result */
int smtp_pending(const SMTP_STATE *st);

/* smtp_connect.c */
/* smtp_connect_deliver - deliver st's request to its nexthop */
void smtp_connect_deliver(SMTP_STATE *st);
/* smtp_parse_nexthop - split "[host]:port", "host:port", "host"; lmtp
 * also "unix:/path" and "inet:host:port". *mx_r false when the brackets
 * (or LMTP, or a unix socket) say: no MX lookup. 0 or -1 with *error_r */
int smtp_parse_nexthop(const char *nexthop, bool lmtp, VSTRING *host, unsigned *port_r,
		       bool *mx_r, bool *unix_r, const char **error_r);

/* smtp_proto.c */
/* smtp_proto_deliver - run one session over sess; SMTP_SESS_* */
int smtp_proto_deliver(SMTP_STATE *st, SMTP_SESSION *sess, bool reused);
/* smtp_proto_greet - read the greeting and say EHLO/LHLO (and STARTTLS,
 * AUTH); 0, or -1 after smtp_fail() (the caller tries the next host) */
int smtp_proto_greet(SMTP_STATE *st, SMTP_SESSION *sess);
/* smtp_proto_rset - RSET on a cached session; 0 when it answered 250 */
int smtp_proto_rset(SMTP_SESSION *sess);
/* smtp_proto_quit - QUIT, ignoring the answer */
void smtp_proto_quit(SMTP_SESSION *sess);
/* smtp_session_free - close (TLS first) and free; NULLs the pointer */
void smtp_session_free(SMTP_SESSION **sessp);

/* smtp_tls.c */
/* smtp_tls_init - client context from smtp_tls_* (before the privilege
 * drop: keys); fatal on bad settings */
void smtp_tls_init(void);
/* smtp_tls_level - the level for nexthop (smtp_tls_policy_maps, else
 * smtp_tls_security_level), or -1 with why (lookup failure, bad policy).
 * *names_r gets the policy's match= list (NULL-terminated, mymalloc'ed
 * strings; the caller frees) or NULL for the defaults; at level
 * fingerprint always the well-formed fingerprints (the policy's or
 * smtp_tls_fingerprint_cert_match's, "AB:CD:..."), at least one, else -1
 * with why "client TLS configuration problem" */
int smtp_tls_level(const char *nexthop, VSTRING *why, char ***names_r);
/* smtp_tls_start - STARTTLS handshake on sess at level: SNI is the server
 * host name; names (NULL: per level) say what the certificate must
 * match: "hostname", "nexthop", "dot-nexthop" or literal names. 0 or -1
 * with *error_r */
int smtp_tls_start(SMTP_SESSION *sess, TLS_LEVEL level, const char *nexthop,
		   char **names, const char **error_r);

/* smtp_tls_dane - resolve level dane or dane-only for sess (RFC 7672):
 * TLSA lookup at _port._tcp.host when sess->dnssec; returns TLS_LEV_DANE
 * (records kept in sess->tlsa), TLS_LEV_ENCRYPT (secure TLSA RRset, all
 * unusable), TLS_LEV_MAY (no DNSSEC, no TLSA: opportunistic), or -1 with
 * why: the host must be deferred (TLSA lookup failure; dane-only without
 * usable secure TLSA records) */
int smtp_tls_dane(SMTP_STATE *st, SMTP_SESSION *sess, int level, VSTRING *why);

/* smtp_sasl.c */
/* smtp_sasl_init - open the password tables (before the privilege drop) */
void smtp_sasl_init(void);
/* smtp_sasl_passwd - user:password for this session (smtp_sasl_password_maps
 * keyed "[host]:port", "[host]", "host", nexthop); 1 found, 0 none, -1 error */
int smtp_sasl_passwd(SMTP_SESSION *sess, const char *nexthop, VSTRING *user, VSTRING *pass);
/* smtp_sasl_auth - AUTH through libsasl2; 0 ok, -1 with the reply code in
 * *code_r (0 for a local problem) and the reason in why */
int smtp_sasl_auth(SMTP_SESSION *sess, const char *user, const char *pass, int *code_r,
		   VSTRING *why);

/* smtp_session_cache.c */
/* smtp_cache_take - the cached session for dest_key, or NULL */
SMTP_SESSION *smtp_cache_take(const char *dest_key);
/* smtp_cache_put - keep sess idle for the next request (or close it) */
void smtp_cache_put(SMTP_SESSION *sess);
/* smtp_cache_flush - QUIT and close whatever is cached */
void smtp_cache_flush(void);

#endif
