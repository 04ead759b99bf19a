/* smtpd.h - the SMTP server's session state, shared by smtpd's modules.
 *
 * One SMTPD_STATE per client connection (smtpd is a single_server: one
 * session per process at a time). smtpd.c owns the session loop and the
 * verb table; smtpd_chat.c the reply batching (PIPELINING); smtpd_check.c
 * the restrictions (smtpd_*_restrictions, access maps, relay control);
 * smtpd_data.c DATA/BDAT into the queue file; smtpd_sasl.c AUTH;
 * smtpd_tls.c STARTTLS and wrapper mode. Only smtpd/ includes this header.
 */
#ifndef SMTPD_H
#define SMTPD_H

#include "sys_defs.h"
#include "argv.h"
#include "stream.h"
#include "vstring.h"

#include <netinet/in.h>
#include <sys/socket.h>

/* Session protocol state. */
enum smtpd_phase {
    SMTPD_PHASE_CONNECT,	/* greeting sent (or about to be) */
    SMTPD_PHASE_HELO,		/* HELO/EHLO done, no transaction */
    SMTPD_PHASE_MAIL,		/* MAIL FROM accepted */
    SMTPD_PHASE_RCPT,		/* at least one RCPT TO accepted */
    SMTPD_PHASE_DATA,		/* reading message content */
    SMTPD_PHASE_QUIT,		/* QUIT received or session ending */
};

/* Flag bits in SMTPD_STATE.flags */
#define SMTPD_FLAG_EHLO        (1 << 0)	/* client used EHLO */
#define SMTPD_FLAG_TLS         (1 << 1)	/* TLS is active */
#define SMTPD_FLAG_AUTH        (1 << 2)	/* SASL authenticated */
#define SMTPD_FLAG_PIPELINED   (1 << 3)	/* client sent ahead without waiting */
#define SMTPD_FLAG_MYNETWORKS  (1 << 4)	/* client matched mynetworks */
#define SMTPD_FLAG_SMTPUTF8    (1 << 5)	/* MAIL FROM had SMTPUTF8 */
#define SMTPD_FLAG_8BITMIME    (1 << 6)	/* MAIL FROM had BODY=8BITMIME */
#define SMTPD_FLAG_BDAT        (1 << 7)	/* transaction uses BDAT */
#define SMTPD_FLAG_DISCARD     (1 << 8)	/* a restriction said DISCARD */
#define SMTPD_FLAG_HOLD        (1 << 9)	/* a restriction said HOLD */
#define SMTPD_FLAG_LOCAL       (1 << 10)	/* stand-alone/local submission (-S, sendmail -bs) */

/* One accepted recipient. */
typedef struct smtpd_rcpt {
    char   *address;		/* as given, without <> */
    char   *orcpt;		/* ORCPT= (xtext-decoded form "rfc822;addr"), or NULL */
    int     notify;		/* DSN NOTIFY bits (SMTPD_NOTIFY_*), 0 = default */
} SMTPD_RCPT;

#define SMTPD_NOTIFY_NEVER   (1 << 0)
#define SMTPD_NOTIFY_SUCCESS (1 << 1)
#define SMTPD_NOTIFY_FAILURE (1 << 2)
#define SMTPD_NOTIFY_DELAY   (1 << 3)

typedef struct smtpd_state {
    STREAM *client;		/* the connection (TLS hooks installed when active) */
    const char *service;	/* master.cf service name */
    enum smtpd_phase phase;
    int     flags;		/* SMTPD_FLAG_* */

    /* Client identity (fixed at connect). */
    char    name[256];		/* reverse-DNS name verified forward, or "unknown" */
    char    addr[64];		/* printable address, e.g. 127.0.0.1 or ::1 */
    char    port[8];
    char    namaddr[384];	/* "name[addr]" for logs */
    struct sockaddr_storage sa;
    socklen_t salen;

    /* Session. */
    char   *helo_name;		/* last HELO/EHLO argument, or NULL */
    char   *protocol;		/* "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA",
				 * "LMTP", "LMTPS" */
    char   *sasl_method;	/* AUTH mechanism used, or NULL */
    char   *sasl_username;	/* authenticated login, or NULL */
    char   *tls_summary;	/* "TLSv1.3 with cipher ..." for Received:, or NULL */
    struct tls_session *tls;	/* the TLS session (lib/tls.h), or NULL */
    struct smtpd_sasl *sasl;	/* SASL back-end state (smtpd_sasl.c), or NULL */
    int     error_count;	/* soft/hard error accounting */
    int     junk_cmds;		/* NOOP/VRFY/RSET/... count */
    VSTRING *buffer;		/* scratch */

    /* Transaction. */
    char   *sender;		/* MAIL FROM address ("" = null sender), or NULL */
    char   *envid;		/* DSN ENVID=, or NULL */
    int     ret;		/* DSN RET=: 0 none, 1 FULL, 2 HDRS */
    long    msg_size;		/* SIZE= estimate, or 0 */
    SMTPD_RCPT *rcpts;		/* accepted recipients */
    int     rcpt_count;
    int     rcpt_size;
    char    queue_id[32];	/* set when the queue file is created, else "" */
    long    act_size;		/* bytes of content received */
    struct htable *rcpt_seen;	/* recipients written to the queue file
				 * (lowercase, after virtual alias expansion):
				 * duplicates are written once */

    /* Per-command counters for the "disconnect from" line. */
    int     cmd_counts[32];	/* indexed by verb table position */
    int     cmd_errors[32];	/* rejected instances, for "mail=1/2" */
    int     cmd_total;
    int     cmd_total_err;

    /* Restriction state (smtpd_check.c). */
    const char *reject_reply;	/* a delayed reject (smtpd_delay_reject) */
    char   *hold_reason;
    char   *filter;

    /* Protocol engine (smtpd.c, smtpd_chat.c, smtpd_data.c). */
    const char *where;		/* last command name for logs ("CONNECT", "RCPT", ...) */
    int     io_status;		/* SMTPD_IO_*: the connection is unusable */
    bool    hangup;		/* close the session after flushing replies */
    bool    last_reply_error;	/* the last reply was 4xx/5xx */
    bool    stand_alone;	/* -S: one session on stdin/stdout */
    bool    lmtp;		/* LMTP (RFC 2033): run as "lmtpd"; LHLO, one
				 * end-of-data reply per accepted recipient */
    int     bare_lf;		/* SMTPD_BARE_LF_* in effect for this client */
    VSTRING *reply_buf;		/* replies not yet written (PIPELINING) */
    char    rfc_addr[72];	/* addr, or "IPv6:addr", for Received: */
    struct qfile_writer *qf;	/* queue file being written (qfile.h) */
    long    bdat_total;		/* BDAT: bytes received in this transaction */
    bool    bdat_discard;	/* BDAT: an error occurred; discard until LAST */
    const char *bdat_error;	/* BDAT: the reply for the LAST chunk */
    struct smtpd_data_ctx *data;	/* BDAT: content parser across chunks */
    bool    pipelining_ok;	/* EHLO advertised PIPELINING to this client */
    char   *access_denied;	/* a connect-time reject, repeated to every command */
    struct smtp_path *path;	/* MAIL/RCPT/VRFY argument parser */
    bool    rewrite_local;	/* local client (stand-alone, loopback, one of our
				 * own addresses): rewrite_context=local, missing
				 * Message-Id/Date added (Postfix's default
				 * local_header_rewrite_clients) */
} SMTPD_STATE;

#define SMTPD_IO_OK      0
#define SMTPD_IO_EOF     1		/* "lost connection" */
#define SMTPD_IO_TIMEOUT 2		/* "timeout" */
#define SMTPD_IO_ERROR   3		/* write or read error: also "lost connection" */

#define SMTPD_BARE_LF_NO        0	/* bare LF is a line end, even for "." */
#define SMTPD_BARE_LF_NORMALIZE 1	/* bare LF is a line end, never ends DATA */
#define SMTPD_BARE_LF_REJECT    2	/* bare LF: 521 and disconnect */
#define SMTPD_BARE_LF_NOTE      3	/* as normalize, and log it */

/* smtpd_reply - queue one reply line (PIPELINING-aware; smtpd_chat.c) */
void smtpd_reply(SMTPD_STATE *state, const char *fmt, ...) PH_PRINTF(2, 3);
/* smtpd_flush - write out pending replies (smtpd_chat.c) */
void smtpd_flush(SMTPD_STATE *state);

#endif
