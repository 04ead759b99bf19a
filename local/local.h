/* local.h - the local delivery agent's internal interfaces (local/ only).
 *
 * Objects:
 *   LOCAL_REQUEST  one delivery request from qmgr: the queue file (open
 *                  read-only), the Delivered-To: values found in the
 *                  message header (loop detection).
 *   LOCAL_RCPT     one recipient of the request: the result reported to
 *                  qmgr (the worst of all deliveries its expansion made:
 *                  defer > bounce > sent), the duplicate filter, and the
 *                  forwarded copies still to be queued.
 *   LOCAL_STATE    one address being delivered, at some expansion level:
 *                  the address, where it came from (alias, .forward,
 *                  :include:), the privileges that files and commands
 *                  named there run with, the sender for forwarded copies.
 *                  Passed by value: each level gets its own copy.
 *
 * Flow: local.c reads a request and calls local_deliver() for each
 * recipient. local_deliver() detects loops, then tries in order: virtual
 * mailbox domains (local_virtual.c), aliases (local_alias.c), the user's
 * .forward (local_forward.c), the mailbox (local_mailbox.c). Alias,
 * .forward and :include: contents are lists expanded by local_expand.c
 * into addresses (recursion through local_deliver, or a forwarded copy),
 * |commands (local_command.c) and /files (local_file.c).
 */
#ifndef LOCAL_H
#define LOCAL_H

#include "sys_defs.h"

#include <pwd.h>

#include "argv.h"
#include "deliver_request.h"
#include "htable.h"
#include "mailbox.h"
#include "maps.h"
#include "qfile.h"
#include "vstring.h"

#define LOCAL_MAX_LEVEL    20		/* nested alias/.forward/:include: */
#define LOCAL_MAX_HEADER   (256 * 1024)	/* header bytes scanned for loops */
#define LOCAL_MAX_OUTPUT   2048		/* command output kept for the reason */

/* Where a list of delivery targets came from (allow_mail_to_*). */
#define LOCAL_EXP_NONE     0
#define LOCAL_EXP_ALIAS    1
#define LOCAL_EXP_FORWARD  2
#define LOCAL_EXP_INCLUDE  3

/* LOCAL_STATE flags */
#define LOCAL_FLAG_NO_ALIAS   (1 << 0)	/* \user, or an alias naming itself */
#define LOCAL_FLAG_NO_FORWARD (1 << 1)	/* \user, or .forward naming the user */

typedef struct local_fwd {		/* forwarded copies with one sender */
    struct local_fwd *next;
    char   *sender;
    char   *delivered;		/* Delivered-To: of the copy, or NULL */
    ARGV   *rcpts;
} LOCAL_FWD;

typedef struct local_request {
    DELIVER_REQUEST *req;
    QFILE  *qf;
    ARGV   *delivered;		/* Delivered-To: values, lower case */
    bool    virtual_service;	/* serving as the "virtual" transport */
} LOCAL_REQUEST;

typedef struct local_rcpt {
    LOCAL_REQUEST *lr;
    DELIVER_RCPT *rcpt;
    HTABLE *dup;			/* deliveries already made */
    int     status;			/* worst DEL_STAT_* so far, -1 none */
    char    dsn[16];
    VSTRING *reason;
    LOCAL_FWD *fwd;
} LOCAL_RCPT;

typedef struct local_state {
    LOCAL_RCPT *lrc;
    int     level;
    const char *address;		/* this address (internal form) */
    const char *sender;		/* envelope sender for forwarded copies */
    const char *owner;		/* owner-alias in charge, or NULL */
    int     exp_type;		/* LOCAL_EXP_* of the list being expanded */
    const char *exp_from;		/* that alias / file, for messages */
    uid_t   uid;			/* privileges for files and commands */
    gid_t   gid;
    const char *user;		/* the local user, when known */
    const char *home;
    const char *extension;	/* address extension or NULL */
    const char *delivered;	/* Delivered-To: for deliveries */
    int     flags;			/* LOCAL_FLAG_* */
} LOCAL_STATE;

/* local.c */
extern bool local_privileged;	/* running as root: switch per recipient */
extern MAPS *local_alias_maps;
/* local_deliver - deliver one address (any expansion level) */
void local_deliver(LOCAL_STATE state);
/* local_result - log one delivery and merge it into the recipient's result */
void local_result(const LOCAL_STATE *state, int status, const char *dsn,
		  const char *fmt, ...) PH_PRINTF(4, 5);
/* local_result_why - local_result for a mailbox.h style failure (dsn 4/5) */
void local_result_why(const LOCAL_STATE *state, const char *dsn, const char *why);
/* local_duplicate - true when key was already delivered for this recipient */
bool local_duplicate(const LOCAL_STATE *state, const char *key);
/* local_prologue - the headers added at delivery: Return-Path:,
 * X-Original-To: (when it differs), Delivered-To: (when with_delivered) */
void local_prologue(VSTRING *buf, const LOCAL_STATE *state, bool with_delivered);
/* local_delivered_wanted - is kind ("command", "file", "forward") in
 * prepend_delivered_header */
bool local_delivered_wanted(const char *kind);
/* local_src - a MAILBOX_SRC for the request's content with prologue buf */
void local_src(MAILBOX_SRC *src, const LOCAL_STATE *state, const VSTRING *prologue);
/* local_is_local_domain - domain in mydestination (1), not (0), error (-1) */
int local_is_local_domain(const char *domain, const char **error_r);
/* local_is_virtual_domain - domain in virtual_mailbox_domains: 1, 0, -1 */
int local_is_virtual_domain(const char *domain, const char **error_r);

/* local_privs.c */
/* local_eugid_set - effective uid/gid (and groups) of uid/gid; no-op unless privileged */
void local_eugid_set(uid_t uid, gid_t gid);
/* local_eugid_root - back to root */
void local_eugid_root(void);
/* local_child_privs - in a forked child: become uid/gid for real */
void local_child_privs(uid_t uid, gid_t gid);
/* local_privs_default - file and command deliveries never run as root:
 * root's become default_privs; 0, or -1 after reporting a deferral */
int local_privs_default(LOCAL_STATE *state);

/* local_alias.c */
/* local_alias - expand state.address's local part through alias_maps:
 * 1 handled (delivered, forwarded or failed), 0 not an alias */
int local_alias(LOCAL_STATE state, const char *local);

/* local_expand.c */
/* local_expand - deliver each target of a list (alias value, .forward or
 * :include: file contents) */
void local_expand(LOCAL_STATE state, const char *list);

/* local_forward.c */
/* local_dot_forward - deliver through the user's .forward: 1 handled, 0 none */
int local_dot_forward(LOCAL_STATE state);
/* local_expand_attrs - expand $home, $user, $local, $domain, $extension,
 * $recipient, $recipient_delimiter (and main.cf names) of this delivery
 * in pattern (lib/path_expand.h result codes) */
int local_expand_attrs(VSTRING *out, const char *pattern, const LOCAL_STATE *state);
/* local_forward_add - queue a copy for a non-local address */
void local_forward_add(const LOCAL_STATE *state, const char *address);
/* local_forward_flush - write the queued copies (one queue file per
 * sender) and report them */
void local_forward_flush(LOCAL_RCPT *lrc, const LOCAL_STATE *state);

/* local_mailbox.c */
/* local_mailbox - deliver to the user's mailbox (or mailbox_command) */
void local_mailbox(LOCAL_STATE state, const struct passwd *pw);
/* local_mailbox_store - deliver src to the Maildir (maildir) or mbox at
 * path with the current identity; 0, or -1 with why and dsn */
int local_mailbox_store(const char *path, bool maildir, const MAILBOX_SRC *src,
			off_t limit, VSTRING *why, char dsn[16]);
/* local_mailbox_report - log a mailbox delivery: "delivered to maildir",
 * "delivered to mailbox" (rc 0) or the failure in why and dsn */
void local_mailbox_report(const LOCAL_STATE *state, int rc, bool maildir,
			  const char *dsn, const VSTRING *why);

/* local_command.c */
/* local_command - deliver to |command as state.uid/gid */
void local_command(LOCAL_STATE state, const char *command);

/* local_file.c */
/* local_file - append to /file (mbox style) as state.uid/gid */
void local_file(LOCAL_STATE state, const char *path);

/* local_virtual.c */
/* local_virtual - deliver to a virtual mailbox */
void local_virtual(LOCAL_STATE state);
/* local_virtual_known - DICT_FOUND/NOTFOUND/ERROR for a virtual address */
int local_virtual_known(const char *address, const char **error_r);
/* local_virtual_init - open the virtual maps */
void local_virtual_init(void);

#endif
