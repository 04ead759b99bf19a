/* smtpd.c - the Posthorn SMTP server: session loop and verb table.
 *
 * SYNOPSIS
 *	smtpd [generic daemon options] (run by master; -S: one session on
 *	stdin/stdout, client "localhost"[127.0.0.1], for tests and sendmail -bs)
 *	lmtpd [generic daemon options] (the same program under another name)
 *
 * DESCRIPTION
 *	An ESMTP server (RFC 5321) with PIPELINING (RFC 2920), SIZE (RFC
 *	1870), 8BITMIME, ENHANCEDSTATUSCODES (RFC 3463, on every reply), DSN
 *	(RFC 3461), SMTPUTF8 (RFC 6531) and CHUNKING/BDAT (RFC 3030). Accepted
 *	mail goes into the queue as one queue file (lib/qfile.h) that is
 *	durable before "250 2.0.0 Ok: queued as ID"; qmgr is then woken
 *	through public/qmgr. Restrictions are applied by smtpd_check.c at
 *	connect, HELO, MAIL, RCPT, DATA and end of data.
 *
 *	Verbs live in one table (name, handler, flags): allowed before
 *	HELO/EHLO (smtpd_helo_required), counted as junk
 *	(smtpd_junk_command_limit), must be the last of a pipelined group
 *	(RFC 2920). With smtpd_forbid_unauth_pipelining (default yes), input
 *	that arrives before the greeting, after a group-ending command, or
 *	ahead of any reply before EHLO advertised PIPELINING, is logged
 *	("improper command pipelining after EHLO from name[addr]: escaped
 *	input"), answered with 554 5.5.0 and the session ends. Parameter names,
 *	replies and log lines follow Postfix: "connect from name[addr]",
 *	"ID: client=name[addr]", "lost connection after RCPT from ...",
 *	"timeout after DATA (N bytes) from ...", "too many errors after ...",
 *	"disconnect from name[addr] ehlo=1 mail=1 rcpt=1/2 data=1 quit=1
 *	commands=5/6".
 *
 *	Invoked as "lmtpd" (a link to smtpd) it is an LMTP server (RFC
 *	2033): LHLO instead of HELO/EHLO (those get "500 5.5.1"), and after
 *	the end of DATA or BDAT LAST one reply per accepted recipient, in
 *	RCPT order ("250 2.1.5 <addr> Ok: queued as ID" once the one queue
 *	file of all recipients is durable, or the same failure for each).
 *	Mail is queued as smtpd queues it, for qmgr and local/virtual
 *	delivery; recipients must be in a local or virtual domain
 *	(smtpd_check.c). Logs and parameters are smtpd's (smtpd_*).
 *
 * LIMITS
 *	line_length_limit (command lines; longer ones get "500 5.5.2 Error:
 *	line too long"), smtpd_timeout per read/write, smtpd_recipient_limit,
 *	smtpd_soft_error_limit/smtpd_hard_error_limit/smtpd_error_sleep_time,
 *	smtpd_junk_command_limit, message_size_limit, header_size_limit,
 *	hopcount_limit; see smtpd_data.c for content. A BDAT command that
 *	cannot be accepted before its chunk is read (syntax, HELO required,
 *	access denied) ends the session, since the chunk size is unknown or
 *	the chunk cannot be skipped reliably.
 *
 *	Local clients (stand-alone, loopback, or connecting from the address
 *	they connected to) and SASL-authenticated ones get
 *	rewrite_context=local and missing Message-Id:/Date: headers added,
 *	as Postfix's default local_header_rewrite_clients.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr822.h"
#include "argv.h"
#include "cleanup_rcpt.h"
#include "config.h"
#include "dict.h"
#include "htable.h"
#include "match_list.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "server.h"
#include "smtp_path.h"
#include "stream.h"
#include "vstring.h"

#include "smtpd.h"
#include "smtpd_anvil.h"
#include "smtpd_chat.h"
#include "smtpd_check.h"
#include "smtpd_proto.h"
#include "smtpd_sasl.h"
#include "smtpd_tls.h"

/* Verb table flags. */
#define SMTPD_CMD_PRE_HELO (1 << 0)	/* allowed before HELO/EHLO with smtpd_helo_required */
#define SMTPD_CMD_JUNK     (1 << 1)	/* counts towards smtpd_junk_command_limit */
#define SMTPD_CMD_LAST     (1 << 2)	/* must end a pipelined group (RFC 2920) */
#define SMTPD_CMD_PRE_TLS  (1 << 3)	/* allowed before STARTTLS at encrypt level */
#define SMTPD_CMD_SMTP     (1 << 4)	/* SMTP only: "500 5.5.1" in LMTP mode */
#define SMTPD_CMD_LMTP     (1 << 5)	/* LMTP only: unknown in SMTP mode */

typedef struct smtpd_cmd {
    const char *name;
    int     (*action) (SMTPD_STATE *, int argc, char **argv, const char *args);
    int     flags;
} SMTPD_CMD;

#define SMTPD_CMD_OK   0
#define SMTPD_CMD_ERR  (-1)

static CLEANUP_RCPT *smtpd_cleanup;	/* virtual_alias_maps expansion */
static bool smtpd_lmtp_mode;		/* invoked as "lmtpd": RFC 2033 LMTP */

/* smtpd_txn_reset - forget the current mail transaction */
void    smtpd_txn_reset(SMTPD_STATE *state)
{
    if (state->qf)
	qfile_writer_abort(&state->qf);
    smtpd_data_free(state);
    myfree(state->sender);
    state->sender = NULL;
    myfree(state->envid);
    state->envid = NULL;
    for (int i = 0; i < state->rcpt_count; i++) {
	myfree(state->rcpts[i].address);
	myfree(state->rcpts[i].orcpt);
    }
    state->rcpt_count = 0;
    if (state->rcpt_seen) {
	htable_free(&state->rcpt_seen, NULL);
	state->rcpt_seen = htable_create(16);
    }
    state->ret = 0;
    state->msg_size = 0;
    state->queue_id[0] = 0;
    state->flags &= ~(SMTPD_FLAG_SMTPUTF8 | SMTPD_FLAG_8BITMIME | SMTPD_FLAG_BDAT
		      | SMTPD_FLAG_DISCARD | SMTPD_FLAG_HOLD);
    myfree(state->hold_reason);
    state->hold_reason = NULL;
    smtpd_check_reset(state);
    state->phase = state->helo_name ? SMTPD_PHASE_HELO : SMTPD_PHASE_CONNECT;
}

/* smtpd_helo_common - HELO and EHLO */
static int smtpd_helo_common(SMTPD_STATE *state, int argc, char **argv, bool ehlo)
{
    const char *err;
    VSTRING *name;

    if (argc < 2) {
	smtpd_reply(state, "501 5.5.4 Syntax: %s hostname",
		    state->lmtp ? "LHLO" : ehlo ? "EHLO" : "HELO");
	return SMTPD_CMD_ERR;
    }
    name = vstring_alloc(100);			/* as Postfix: "HELO a b" is "a b" */
    vstring_set(name, argv[1]);
    for (int i = 2; i < argc; i++)
	vstring_fmt_append(name, " %s", argv[i]);
    smtpd_txn_reset(state);
    /* smtpd_check.h: the EHLO flag before the check, the name after it */
    if (ehlo)
	state->flags |= SMTPD_FLAG_EHLO;
    else
	state->flags &= ~SMTPD_FLAG_EHLO;
    if ((err = smtpd_check_helo(state, STR(name))) != NULL) {
	smtpd_reply(state, "%s", err);
	vstring_free(&name);
	return SMTPD_CMD_ERR;
    }
    myfree(state->helo_name);
    state->helo_name = vstring_export(&name);
    myfree(state->protocol);
    if (state->lmtp) {
	state->protocol = mystrdup((state->flags & SMTPD_FLAG_TLS) ? "LMTPS" : "LMTP");
    } else if (ehlo) {
	state->protocol = mystrdup((state->flags & SMTPD_FLAG_TLS) ?
				   ((state->flags & SMTPD_FLAG_AUTH) ? "ESMTPSA" : "ESMTPS")
				   : ((state->flags & SMTPD_FLAG_AUTH) ? "ESMTPA" : "ESMTP"));
    } else {
	state->protocol = mystrdup("SMTP");
    }
    state->phase = SMTPD_PHASE_HELO;
    return SMTPD_CMD_OK;
}

/* smtpd_helo_cmd - HELO */
static int smtpd_helo_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) args;
    if (smtpd_helo_common(state, argc, argv, false) < 0)
	return SMTPD_CMD_ERR;
    state->pipelining_ok = false;
    smtpd_reply(state, "250 %s", var_myhostname);
    return SMTPD_CMD_OK;
}

/* smtpd_ehlo_discarded - keyword is in smtpd_discard_ehlo_keywords */
static bool smtpd_ehlo_discarded(ARGV *discard, const char *keyword)
{
    for (int i = 0; i < discard->argc; i++)
	if (strcasecmp(discard->argv[i], keyword) == 0)
	    return true;
    return false;
}

/* smtpd_ehlo_cmd - EHLO and the extension list */
static int smtpd_ehlo_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    ARGV   *discard;
    ARGV   *kw;
    VSTRING *size;

    (void) args;
    if (smtpd_helo_common(state, argc, argv, true) < 0)
	return SMTPD_CMD_ERR;
    discard = argv_split_list(var_smtpd_discard_ehlo_keywords ? var_smtpd_discard_ehlo_keywords : "");
    kw = argv_alloc(12);
    size = vstring_alloc(32);
    if (var_message_size_limit > 0)
	vstring_fmt(size, "SIZE %ld", var_message_size_limit);
    else
	vstring_set(size, "SIZE");
    state->pipelining_ok = !smtpd_ehlo_discarded(discard, "PIPELINING");
    if (state->pipelining_ok)
	argv_add(kw, "PIPELINING", (char *) 0);
    if (!smtpd_ehlo_discarded(discard, "SIZE"))
	argv_add(kw, STR(size), (char *) 0);
    if (!var_disable_vrfy_command && !smtpd_ehlo_discarded(discard, "VRFY"))
	argv_add(kw, "VRFY", (char *) 0);
    if (smtpd_tls_offer(state) && !smtpd_ehlo_discarded(discard, "STARTTLS"))
	argv_add(kw, "STARTTLS", (char *) 0);
    if (!smtpd_ehlo_discarded(discard, "AUTH"))
	smtpd_sasl_ehlo(state, kw);
    if (!smtpd_ehlo_discarded(discard, "ENHANCEDSTATUSCODES"))
	argv_add(kw, "ENHANCEDSTATUSCODES", (char *) 0);
    if (!smtpd_ehlo_discarded(discard, "8BITMIME"))
	argv_add(kw, "8BITMIME", (char *) 0);
    if (!smtpd_ehlo_discarded(discard, "DSN"))
	argv_add(kw, "DSN", (char *) 0);
    if (!smtpd_ehlo_discarded(discard, "SMTPUTF8"))
	argv_add(kw, "SMTPUTF8", (char *) 0);
    if (!smtpd_ehlo_discarded(discard, "CHUNKING"))
	argv_add(kw, "CHUNKING", (char *) 0);
    smtpd_reply(state, "250%c%s", kw->argc > 0 ? '-' : ' ', var_myhostname);
    for (int i = 0; i < kw->argc; i++)
	smtpd_reply(state, "250%c%s", i == kw->argc - 1 ? ' ' : '-', kw->argv[i]);
    vstring_free(&size);
    argv_free(&kw);
    argv_free(&discard);
    return SMTPD_CMD_OK;
}

/* smtpd_lhlo_cmd - LHLO (RFC 2033): EHLO's extension list, in LMTP mode */
static int smtpd_lhlo_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    return smtpd_ehlo_cmd(state, argc, argv, args);
}

/* smtpd_skip_ws - skip spaces and tabs */
static const char *smtpd_skip_ws(const char *cp)
{
    while (*cp == ' ' || *cp == '\t')
	cp++;
    return cp;
}

/* smtpd_path_arg - "FROM:" / "TO:" then a path; returns the rest or NULL */
static const char *smtpd_path_arg(SMTPD_STATE *state, const char *args, const char *prefix,
				          int flags, const char **error_r)
{
    size_t  plen = strlen(prefix);
    const char *rest;

    args = smtpd_skip_ws(args);
    if (strncasecmp(args, prefix, plen) != 0) {
	*error_r = NULL;			/* command syntax */
	return NULL;
    }
    args = smtpd_skip_ws(args + plen);
    if (*args == 0) {
	*error_r = NULL;
	return NULL;
    }
    if (smtp_path_parse(state->path, args, flags | SMTP_PATH_FLAG_UTF8, &rest, error_r) < 0) {
	if (*error_r == NULL)
	    *error_r = "bad address";
	return NULL;
    }
    if (*rest != 0 && *rest != ' ' && *rest != '\t') {
	*error_r = "garbage after address";
	return NULL;
    }
    return rest;
}

/* smtpd_qualify - the address to store, in internal (unquoted) form;
 * myorigin appended when unqualified */
static char *smtpd_qualify(SMTPD_STATE *state)
{
    VSTRING *buf;

    if (state->path->is_null)
	return mystrdup("");
    buf = vstring_alloc(LEN(state->path->addr) + 64);
    addr822_unquote(buf, STR(state->path->addr));
    if (!state->path->has_domain)
	vstring_fmt_append(buf, "@%s", var_myorigin);
    return vstring_export(&buf);
}

/* smtpd_mail_cmd - MAIL FROM:<address> [parameters] */
static int smtpd_mail_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    const char *rest;
    const char *err = NULL;
    ARGV   *params;
    long    size = 0;
    int     body = 0;
    int     ret = 0;
    bool    utf8 = false;
    char   *envid = NULL;
    const char *bad = NULL;
    VSTRING *tmp;

    (void) argc;
    (void) argv;
    if (state->sender != NULL) {
	smtpd_reply(state, "503 5.5.1 Error: nested MAIL command");
	return SMTPD_CMD_ERR;
    }
    (void) dict_refresh();		/* a safe point: no lookup in progress */
    rest = smtpd_path_arg(state, args, "FROM:", SMTP_PATH_FLAG_NULL_OK | SMTP_PATH_FLAG_LOCAL_OK, &err);
    if (rest == NULL) {
	if (err == NULL)
	    smtpd_reply(state, "501 5.5.4 Syntax: MAIL FROM:<address>");
	else
	    smtpd_reply(state, "501 5.1.7 Bad sender address syntax");
	return SMTPD_CMD_ERR;
    }
    params = argv_split(rest, " \t");
    tmp = vstring_alloc(100);
    for (int i = 0; i < params->argc && bad == NULL; i++) {
	const char *p = params->argv[i];
	const char *val = strchr(p, '=');

	if (strncasecmp(p, "SIZE=", 5) == 0) {
	    char   *end;

	    if (!isdigit((unsigned char) p[5]) || strlen(p + 5) > 15
		|| (size = strtol(p + 5, &end, 10), *end != 0) || size < 0)
		bad = "501 5.5.4 Bad message size syntax";
	} else if (strncasecmp(p, "BODY=", 5) == 0) {
	    if (strcasecmp(p + 5, "8BITMIME") == 0)
		body = 8;
	    else if (strcasecmp(p + 5, "7BIT") == 0)
		body = 7;
	    else
		bad = "501 5.5.4 Bad BODY keyword syntax";
	} else if (strcasecmp(p, "SMTPUTF8") == 0) {
	    utf8 = true;
	} else if (strncasecmp(p, "RET=", 4) == 0) {
	    if (ret != 0)
		bad = "501 5.5.4 Duplicate RET parameter";
	    else if (strcasecmp(p + 4, "FULL") == 0)
		ret = 1;
	    else if (strcasecmp(p + 4, "HDRS") == 0)
		ret = 2;
	    else
		bad = "501 5.5.4 Bad RET parameter syntax";
	} else if (strncasecmp(p, "ENVID=", 6) == 0) {
	    if (envid != NULL)
		bad = "501 5.5.4 Duplicate ENVID parameter";
	    else if (p[6] == 0 || strlen(p + 6) > 100 || smtp_xtext_decode(tmp, p + 6) < 0
		     || memchr(STR(tmp), 0, LEN(tmp)) || strpbrk(STR(tmp), "\r\n"))
		bad = "501 5.5.4 Bad ENVID parameter syntax";
	    else
		envid = mystrdup(STR(tmp));
	} else if (strncasecmp(p, "AUTH=", 5) == 0) {
	    /* RFC 4954: accepted and ignored */
	} else {
	    vstring_fmt(tmp, "555 5.5.4 Unsupported option: %.100s", p);
	    bad = STR(tmp);
	}
	(void) val;
    }
    if (bad == NULL && state->path->eightbit && !utf8)
	bad = "553 5.6.7 Must declare SMTPUTF8 to send unicode address";
    if (bad != NULL) {
	smtpd_reply(state, "%s", bad);
	myfree(envid);
	vstring_free(&tmp);
	argv_free(&params);
	return SMTPD_CMD_ERR;
    }
    vstring_free(&tmp);
    argv_free(&params);
    smtpd_check_reset(state);
    if ((err = smtpd_check_size(state, size)) != NULL
	|| (err = smtpd_check_mail(state, STR(state->path->given))) != NULL
	|| (err = smtpd_anvil_message(state)) != NULL) {
	smtpd_reply(state, "%s", err);
	myfree(envid);
	smtpd_check_reset(state);
	return SMTPD_CMD_ERR;
    }
    state->sender = smtpd_qualify(state);
    state->envid = envid;
    state->ret = ret;
    state->msg_size = size;
    if (body == 8)
	state->flags |= SMTPD_FLAG_8BITMIME;
    if (utf8)
	state->flags |= SMTPD_FLAG_SMTPUTF8;
    state->phase = SMTPD_PHASE_MAIL;
    smtpd_reply(state, "250 2.1.0 Ok");
    return SMTPD_CMD_OK;
}

/* smtpd_queue_open - create the queue file at the first accepted recipient */
static int smtpd_queue_open(SMTPD_STATE *state)
{
    const char *err;
    int     ok = 0;

    if ((state->qf = qfile_writer_create(MAIL_QUEUE_INCOMING, MAIL_QUEUE_FILE_MODE, &err)) == NULL) {
	msg_warn("cannot create queue file: %s", err);
	return -1;
    }
    ph_strlcpy(state->queue_id, qfile_writer_id(state->qf), sizeof(state->queue_id));
#define ATTR(n, v) do { if ((v) && ok == 0) ok = qfile_writer_attr(state->qf, (n), (v), &err); } while (0)
    ATTR(QFILE_ATTR_CLIENT_NAME, state->name);
    ATTR(QFILE_ATTR_CLIENT_ADDR, state->addr);
    ATTR(QFILE_ATTR_CLIENT_PORT, state->port);
    ATTR(QFILE_ATTR_HELO_NAME, state->helo_name);
    ATTR(QFILE_ATTR_PROTOCOL, state->protocol);
    ATTR(QFILE_ATTR_SASL_METHOD, state->sasl_method);
    ATTR(QFILE_ATTR_SASL_USERNAME, state->sasl_username);
    ATTR(QFILE_ATTR_TLS, state->tls_summary);
    ATTR(QFILE_ATTR_DSN_ENVID, state->envid);
    ATTR(QFILE_ATTR_DSN_RET, state->ret == 1 ? "FULL" : state->ret == 2 ? "HDRS" : NULL);
    ATTR(QFILE_ATTR_BODY, (state->flags & SMTPD_FLAG_8BITMIME) ? "8BITMIME" : NULL);
    ATTR(QFILE_ATTR_SMTPUTF8, (state->flags & SMTPD_FLAG_SMTPUTF8) ? "yes" : NULL);
    ATTR(QFILE_ATTR_ORIGIN, "smtpd");
    ATTR(QFILE_ATTR_REWRITE, (state->rewrite_local || (state->flags & SMTPD_FLAG_AUTH)) ?
	 "local" : "remote");
#undef ATTR
    if (ok == 0)
	ok = qfile_writer_sender(state->qf, state->sender, &err);
    if (ok < 0) {
	msg_warn("%s: queue file envelope error: %s", state->queue_id, err);
	qfile_writer_abort(&state->qf);
	state->queue_id[0] = 0;
	return -1;
    }
    if (state->sasl_username)
	msg_info("%s: client=%s, sasl_method=%s, sasl_username=%s", state->queue_id,
		 state->namaddr, state->sasl_method ? state->sasl_method : "",
		 state->sasl_username);
    else
	msg_info("%s: client=%s", state->queue_id, state->namaddr);
    return 0;
}

/* smtpd_notify_parse - NOTIFY=NEVER | SUCCESS,FAILURE,DELAY; -1 on error */
static int smtpd_notify_parse(const char *val)
{
    ARGV   *words = argv_split(val, ",");
    int     mask = 0;

    for (int i = 0; i < words->argc && mask >= 0; i++) {
	if (strcasecmp(words->argv[i], "NEVER") == 0)
	    mask = (mask == 0 && words->argc == 1) ? SMTPD_NOTIFY_NEVER : -1;
	else if (strcasecmp(words->argv[i], "SUCCESS") == 0)
	    mask |= SMTPD_NOTIFY_SUCCESS;
	else if (strcasecmp(words->argv[i], "FAILURE") == 0)
	    mask |= SMTPD_NOTIFY_FAILURE;
	else if (strcasecmp(words->argv[i], "DELAY") == 0)
	    mask |= SMTPD_NOTIFY_DELAY;
	else
	    mask = -1;
    }
    if (words->argc == 0)
	mask = -1;
    argv_free(&words);
    return mask;
}

/* smtpd_rcpt_expand - virtual alias expansion of one accepted recipient
 * into the queue file (what Postfix's cleanup does): each final address is
 * written with the client's ORCPT, or "rfc822;ADDRESS-AS-GIVEN" when the
 * address was rewritten. 0, or -1 with the reply already queued. */
static int smtpd_rcpt_expand(SMTPD_STATE *state, SMTPD_RCPT *rcpt)
{
    const char *err;
    int     erc;
    ARGV   *list = argv_alloc(2);
    VSTRING *orcpt;
    VSTRING *key;

    erc = cleanup_rcpt_expand(smtpd_cleanup, rcpt->address, list, &err);
    if (erc == CLEANUP_RCPT_TEMP) {
	msg_warn("%s: virtual alias lookup for <%s>: %s", state->queue_id, rcpt->address, err);
	smtpd_reply(state, "451 4.3.0 <%s>: Temporary lookup failure", rcpt->address);
	argv_free(&list);
	return -1;
    }
    if (erc != CLEANUP_RCPT_OK) {
	msg_info("%s: reject: RCPT from %s: 550 5.4.6 <%s>: %s", state->queue_id,
		 state->namaddr, rcpt->address, err);
	smtpd_reply(state, "550 5.4.6 <%s>: Virtual alias expansion error: %s",
		    rcpt->address, err);
	argv_free(&list);
	return -1;
    }
    orcpt = vstring_alloc(100);
    key = vstring_alloc(100);
    for (int j = 0; j < list->argc; j++) {
	const char *addr = list->argv[j];

	vstring_set(key, addr);
	vstring_lower(key);
	if (htable_find(state->rcpt_seen, STR(key)) != NULL)
	    continue;				/* already in this queue file */
	if (rcpt->orcpt || strcasecmp(addr, rcpt->address) == 0)
	    vstring_set(orcpt, rcpt->orcpt ? rcpt->orcpt : "");
	else
	    vstring_fmt(orcpt, "rfc822;%s", rcpt->address);
	if (qfile_writer_rcpt(state->qf, addr, LEN(orcpt) ? STR(orcpt) : NULL,
			      rcpt->notify, &err) < 0) {
	    msg_warn("%s: queue file recipient error: %s", state->queue_id, err);
	    smtpd_reply(state, "451 4.3.0 Error: queue file write error");
	    vstring_free(&orcpt);
	    vstring_free(&key);
	    argv_free(&list);
	    /* The writer may hold some of this RCPT's addresses: start over. */
	    qfile_writer_abort(&state->qf);
	    state->queue_id[0] = 0;
	    for (int i = 0; i < state->rcpt_count; i++) {
		myfree(state->rcpts[i].address);
		myfree(state->rcpts[i].orcpt);
	    }
	    state->rcpt_count = 0;
	    htable_free(&state->rcpt_seen, NULL);
	    state->rcpt_seen = htable_create(16);
	    state->phase = SMTPD_PHASE_MAIL;
	    return -1;
	}
	htable_enter(state->rcpt_seen, STR(key), (void *) 1);
    }
    vstring_free(&orcpt);
    vstring_free(&key);
    argv_free(&list);
    return 0;
}

/* smtpd_rcpt_cmd - RCPT TO:<address> [parameters] */
static int smtpd_rcpt_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    const char *rest;
    const char *err = NULL;
    ARGV   *params;
    int     notify = 0;
    char   *orcpt = NULL;
    const char *bad = NULL;
    VSTRING *tmp;
    SMTPD_RCPT *rcpt;

    (void) argc;
    (void) argv;
    if (state->sender == NULL) {
	smtpd_reply(state, "503 5.5.1 Error: need MAIL command");
	return SMTPD_CMD_ERR;
    }
    if (state->flags & SMTPD_FLAG_BDAT) {	/* content has started */
	smtpd_reply(state, "503 5.5.1 Error: RCPT after BDAT");
	return SMTPD_CMD_ERR;
    }
    rest = smtpd_path_arg(state, args, "TO:", SMTP_PATH_FLAG_LOCAL_OK, &err);
    if (rest == NULL) {
	if (err == NULL)
	    smtpd_reply(state, "501 5.5.4 Syntax: RCPT TO:<address>");
	else
	    smtpd_reply(state, "501 5.1.3 Bad recipient address syntax");
	return SMTPD_CMD_ERR;
    }
    if (state->rcpt_count >= var_smtpd_recipient_limit) {
	smtpd_reply(state, "452 4.5.3 Error: too many recipients");
	return SMTPD_CMD_ERR;
    }
    params = argv_split(rest, " \t");
    tmp = vstring_alloc(100);
    for (int i = 0; i < params->argc && bad == NULL; i++) {
	const char *p = params->argv[i];

	if (strncasecmp(p, "NOTIFY=", 7) == 0) {
	    if (notify != 0 || (notify = smtpd_notify_parse(p + 7)) < 0)
		bad = "501 5.5.4 Bad NOTIFY parameter syntax";
	} else if (strncasecmp(p, "ORCPT=", 6) == 0) {
	    const char *semi = strchr(p + 6, ';');

	    if (orcpt != NULL || semi == NULL || semi == p + 6 || strlen(p) > 500
		|| smtp_xtext_decode(tmp, semi + 1) < 0 || LEN(tmp) == 0
		|| memchr(STR(tmp), 0, LEN(tmp)) || strpbrk(STR(tmp), "\r\n")) {
		bad = "501 5.5.4 Bad ORCPT parameter syntax";
	    } else {
		VSTRING *o = vstring_alloc(LEN(tmp) + 20);

		vstring_catn(o, p + 6, (size_t) (semi - p - 6 + 1));
		vstring_cat(o, STR(tmp));
		orcpt = vstring_export(&o);
	    }
	} else {
	    vstring_fmt(tmp, "555 5.5.4 Unsupported option: %.100s", p);
	    bad = STR(tmp);
	}
    }
    if (bad == NULL && state->path->eightbit && !(state->flags & SMTPD_FLAG_SMTPUTF8))
	bad = "553 5.6.7 Must declare SMTPUTF8 to send unicode address";
    if (bad != NULL) {
	smtpd_reply(state, "%s", bad);
	myfree(orcpt);
	vstring_free(&tmp);
	argv_free(&params);
	return SMTPD_CMD_ERR;
    }
    vstring_free(&tmp);
    argv_free(&params);
    if ((err = smtpd_check_rcpt(state, STR(state->path->given))) != NULL) {
	smtpd_reply(state, "%s", err);
	myfree(orcpt);
	return SMTPD_CMD_ERR;
    }
    if (state->qf == NULL && smtpd_queue_open(state) < 0) {
	smtpd_reply(state, "451 4.3.0 Error: queue file write error");
	myfree(orcpt);
	return SMTPD_CMD_ERR;
    }
    if (state->rcpt_count >= state->rcpt_size) {
	state->rcpt_size = state->rcpt_size ? state->rcpt_size * 2 : 8;
	state->rcpts = myreallocarray(state->rcpts, (size_t) state->rcpt_size, sizeof(*state->rcpts));
    }
    rcpt = &state->rcpts[state->rcpt_count];
    rcpt->address = smtpd_qualify(state);
    rcpt->orcpt = orcpt;
    rcpt->notify = notify;
    if (smtpd_rcpt_expand(state, rcpt) < 0) {
	myfree(rcpt->address);
	myfree(orcpt);
	return SMTPD_CMD_ERR;
    }
    state->rcpt_count++;
    state->phase = SMTPD_PHASE_RCPT;
    smtpd_reply(state, "250 2.1.5 Ok");
    return SMTPD_CMD_OK;
}

/* smtpd_data_verb - DATA */
static int smtpd_data_verb(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) args;
    return smtpd_data_cmd(state, argc, argv);
}

/* smtpd_bdat_verb - BDAT */
static int smtpd_bdat_verb(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) args;
    return smtpd_bdat_cmd(state, argc, argv);
}

/* smtpd_rset_cmd - RSET */
static int smtpd_rset_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) argv;
    (void) args;
    if (argc != 1) {
	smtpd_reply(state, "501 5.5.4 Syntax: RSET");
	return SMTPD_CMD_ERR;
    }
    smtpd_txn_reset(state);
    smtpd_reply(state, "250 2.0.0 Ok");
    return SMTPD_CMD_OK;
}

/* smtpd_noop_cmd - NOOP */
static int smtpd_noop_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) argc;
    (void) argv;
    (void) args;
    smtpd_reply(state, "250 2.0.0 Ok");
    return SMTPD_CMD_OK;
}

/* smtpd_vrfy_cmd - VRFY */
static int smtpd_vrfy_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    const char *err;
    const char *rest;

    (void) argv;
    if (var_disable_vrfy_command) {
	smtpd_reply(state, "502 5.5.1 VRFY command is disabled");
	return SMTPD_CMD_ERR;
    }
    if (argc < 2) {
	smtpd_reply(state, "501 5.5.4 Syntax: VRFY address");
	return SMTPD_CMD_ERR;
    }
    args = smtpd_skip_ws(args);
    if (smtp_path_parse(state->path, args, SMTP_PATH_FLAG_LOCAL_OK | SMTP_PATH_FLAG_UTF8,
			&rest, &err) < 0 || *smtpd_skip_ws(rest) != 0) {
	smtpd_reply(state, "501 5.1.3 Bad recipient address syntax");
	return SMTPD_CMD_ERR;
    }
    smtpd_reply(state, "252 2.0.0 %s", STR(state->path->addr));
    return SMTPD_CMD_OK;
}

/* smtpd_help_cmd - HELP */
static int smtpd_help_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) argc;
    (void) argv;
    (void) args;
    if (state->lmtp)
	smtpd_reply(state, "214 2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT");
    else
	smtpd_reply(state, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT");
    return SMTPD_CMD_OK;
}

/* smtpd_starttls_verb - STARTTLS */
static int smtpd_starttls_verb(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) args;
    return smtpd_starttls_cmd(state, argc, argv);
}

/* smtpd_auth_verb - AUTH */
static int smtpd_auth_verb(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) args;
    return smtpd_auth_cmd(state, argc, argv);
}

/* smtpd_quit_cmd - QUIT */
static int smtpd_quit_cmd(SMTPD_STATE *state, int argc, char **argv, const char *args)
{
    (void) argc;
    (void) argv;
    (void) args;
    smtpd_reply(state, "221 2.0.0 Bye");
    state->phase = SMTPD_PHASE_QUIT;
    return SMTPD_CMD_OK;
}

static const SMTPD_CMD smtpd_cmd_table[] = {
    {"HELO", smtpd_helo_cmd, SMTPD_CMD_PRE_HELO | SMTPD_CMD_PRE_TLS | SMTPD_CMD_LAST | SMTPD_CMD_SMTP},
    {"EHLO", smtpd_ehlo_cmd, SMTPD_CMD_PRE_HELO | SMTPD_CMD_PRE_TLS | SMTPD_CMD_LAST | SMTPD_CMD_SMTP},
    {"LHLO", smtpd_lhlo_cmd, SMTPD_CMD_PRE_HELO | SMTPD_CMD_PRE_TLS | SMTPD_CMD_LAST | SMTPD_CMD_LMTP},
    {"STARTTLS", smtpd_starttls_verb, SMTPD_CMD_PRE_HELO | SMTPD_CMD_PRE_TLS | SMTPD_CMD_LAST},
    {"AUTH", smtpd_auth_verb, SMTPD_CMD_LAST},
    {"MAIL", smtpd_mail_cmd, 0},
    {"RCPT", smtpd_rcpt_cmd, 0},
    {"DATA", smtpd_data_verb, SMTPD_CMD_LAST},
    {"BDAT", smtpd_bdat_verb, 0},
    {"RSET", smtpd_rset_cmd, SMTPD_CMD_PRE_HELO | SMTPD_CMD_JUNK},
    {"NOOP", smtpd_noop_cmd, SMTPD_CMD_PRE_HELO | SMTPD_CMD_PRE_TLS | SMTPD_CMD_JUNK | SMTPD_CMD_LAST},
    {"VRFY", smtpd_vrfy_cmd, SMTPD_CMD_JUNK | SMTPD_CMD_LAST},
    {"HELP", smtpd_help_cmd, SMTPD_CMD_PRE_HELO},
    {"QUIT", smtpd_quit_cmd, SMTPD_CMD_PRE_HELO | SMTPD_CMD_PRE_TLS},
};

#define SMTPD_CMD_UNKNOWN_INDEX ((int) PH_ARRAY_LEN(smtpd_cmd_table))

/* smtpd_log_disconnect - "disconnect from name[addr] ehlo=1 ... commands=N/M" */
static void smtpd_log_disconnect(SMTPD_STATE *state)
{
    VSTRING *buf = vstring_alloc(200);

    vstring_fmt(buf, "disconnect from %s", state->namaddr);
    for (int i = 0; i <= SMTPD_CMD_UNKNOWN_INDEX; i++) {
	int     total = state->cmd_counts[i];
	int     ok = total - state->cmd_errors[i];
	char    name[16];
	size_t  j;

	if (total == 0)
	    continue;
	ph_strlcpy(name, i < SMTPD_CMD_UNKNOWN_INDEX ? smtpd_cmd_table[i].name : "unknown",
		   sizeof(name));
	for (j = 0; name[j]; j++)
	    name[j] = (char) tolower((unsigned char) name[j]);
	if (ok == total)
	    vstring_fmt_append(buf, " %s=%d", name, total);
	else
	    vstring_fmt_append(buf, " %s=%d/%d", name, ok, total);
    }
    if (state->cmd_total_err == 0)
	vstring_fmt_append(buf, " commands=%d", state->cmd_total);
    else
	vstring_fmt_append(buf, " commands=%d/%d", state->cmd_total - state->cmd_total_err,
			   state->cmd_total);
    msg_info("%s", STR(buf));
    vstring_free(&buf);
}

/* smtpd_log_io_status - "lost connection after X from ..." / "timeout after ..." */
static void smtpd_log_io_status(SMTPD_STATE *state)
{
    const char *reason = state->io_status == SMTPD_IO_TIMEOUT ? "timeout" : "lost connection";

    if (strcmp(state->where, "DATA") == 0 || strcmp(state->where, "BDAT") == 0)
	msg_info("%s after %s (%ld bytes) from %s", reason, state->where, state->act_size,
		 state->namaddr);
    else
	msg_info("%s after %s from %s", reason, state->where, state->namaddr);
}

/* smtpd_pipelining_violation - smtpd_forbid_unauth_pipelining: log what
 * the client sent ahead (escaped, at most 100 bytes), 554, disconnect */
static void smtpd_pipelining_violation(SMTPD_STATE *state, const char *after)
{
    char    next[100];
    ssize_t n;
    VSTRING *esc = vstring_alloc(200);

    stream_set_timeout(state->client, 1);
    n = stream_read_some(state->client, next, sizeof(next));
    for (ssize_t i = 0; i < n; i++) {
	unsigned char ch = (unsigned char) next[i];

	if (ch == '\r')
	    vstring_cat(esc, "\\r");
	else if (ch == '\n')
	    vstring_cat(esc, "\\n");
	else if (ch == '\\')
	    vstring_cat(esc, "\\\\");
	else if (ch < 0x20 || ch >= 0x7f)
	    vstring_fmt_append(esc, "\\%03o", ch);
	else
	    vstring_addch(esc, (int) ch);
    }
    msg_info("improper command pipelining after %s from %s: %s", after, state->namaddr,
	     STR(esc));
    vstring_free(&esc);
    smtpd_reply(state, "554 5.5.0 Error: SMTP protocol synchronization");
    state->hangup = true;
}

static MATCH_LIST *smtpd_bare_lf_excl;	/* smtpd_forbid_bare_newline_exclusions */

/* smtpd_bare_lf_mode - smtpd_forbid_bare_newline for this client */
static int smtpd_bare_lf_mode(SMTPD_STATE *state)
{
    const char *v = var_smtpd_forbid_bare_newline ? var_smtpd_forbid_bare_newline : "normalize";
    const char *err;
    int     excl;

    if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
	return SMTPD_BARE_LF_NO;
    if (smtpd_bare_lf_excl != NULL) {
	excl = match_list_match(smtpd_bare_lf_excl, state->name, state->addr, &err);
	if (excl < 0)
	    msg_warn("%s lookup for %s: %s", "smtpd_forbid_bare_newline_exclusions",
		     state->namaddr, err);
	if (excl > 0)
	    return SMTPD_BARE_LF_NO;
    }
    if (strcasecmp(v, "reject") == 0 || strcasecmp(v, "yes") == 0
	|| strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
	return SMTPD_BARE_LF_REJECT;
    return SMTPD_BARE_LF_NORMALIZE;
}

/* smtpd_bare_lf_init - validate smtpd_forbid_bare_newline, open the exclusions */
static void smtpd_bare_lf_init(void)
{
    static const char *const modes[] = {
	"normalize", "reject", "yes", "true", "1", "no", "false", "0",
    };
    const char *v = var_smtpd_forbid_bare_newline ? var_smtpd_forbid_bare_newline : "normalize";
    const char *err;
    size_t  i;

    for (i = 0; i < PH_ARRAY_LEN(modes); i++)
	if (strcasecmp(v, modes[i]) == 0)
	    break;
    if (i == PH_ARRAY_LEN(modes))
	msg_fatal("parameter smtpd_forbid_bare_newline: bad value \"%s\" "
		  "(use normalize, reject or no)", v);
    if (var_smtpd_forbid_bare_newline_exclusions && *var_smtpd_forbid_bare_newline_exclusions
	&& (smtpd_bare_lf_excl = match_list_create("smtpd_forbid_bare_newline_exclusions",
					   var_smtpd_forbid_bare_newline_exclusions,
						   MATCH_FLAG_HOST, &err)) == NULL)
	msg_fatal("parameter smtpd_forbid_bare_newline_exclusions: %s", err);
}

/* smtpd_argv_wipe - zero the strings of an ARGV (credentials) */
static void smtpd_argv_wipe(ARGV *av)
{
    for (int i = 0; i < av->argc; i++)
	explicit_bzero(av->argv[i], strlen(av->argv[i]));
}

/* smtpd_proto - the command loop of one session */
static void smtpd_proto(SMTPD_STATE *state)
{
    const char *err;
    ARGV   *argv = NULL;

    /* Implicit TLS (smtps, 465) comes before anything else. */
    if (!smtpd_tls_wrapper(state)) {
	smtpd_log_io_status(state);
	return;
    }
    /* Early talkers: input before our greeting. */
    if (!state->stand_alone && var_smtpd_forbid_unauth_pipelining
	&& smtpd_chat_pending(state, 0)) {
	smtpd_pipelining_violation(state, "CONNECT");
	smtpd_flush(state);
	return;
    }
    if ((err = smtpd_check_connect(state)) != NULL)
	state->access_denied = mystrdup(err);
    if ((err = smtpd_anvil_connect(state)) != NULL) {
	smtpd_reply(state, "%s", err);
	smtpd_flush(state);
	return;
    }
    smtpd_reply(state, "220 %s", var_smtpd_banner);

    while (state->phase != SMTPD_PHASE_QUIT && !state->hangup) {
	const SMTPD_CMD *cmd = NULL;
	int     idx;
	int     eol = 2;
	int     ret;
	const char *cp;
	const char *args;
	size_t  vlen;

	if (state->error_count >= var_smtpd_hard_error_limit) {
	    msg_info("too many errors after %s from %s", state->where, state->namaddr);
	    smtpd_reply(state, "421 4.7.0 %s Error: too many errors", var_myhostname);
	    break;
	}
	ret = smtpd_chat_getline(state, state->buffer, &eol);
	if (ret == 0)
	    break;
	if (eol == 1 && state->bare_lf == SMTPD_BARE_LF_REJECT) {
	    msg_info("bare <LF> received after %s from %s", state->where, state->namaddr);
	    smtpd_reply(state, "521 5.5.2 %s Error: bare <LF> received", var_myhostname);
	    break;
	}
	if (ret == 2) {
	    state->where = "UNKNOWN";
	    state->cmd_counts[SMTPD_CMD_UNKNOWN_INDEX]++;
	    state->cmd_errors[SMTPD_CMD_UNKNOWN_INDEX]++;
	    state->cmd_total++;
	    state->cmd_total_err++;
	    smtpd_reply(state, "500 5.5.2 Error: line too long");
	    continue;
	}
	cp = smtpd_skip_ws(STR(state->buffer));
	for (vlen = 0; cp[vlen] && cp[vlen] != ' ' && cp[vlen] != '\t'; vlen++)
	     /* void */ ;
	if (vlen == 0 || memchr(STR(state->buffer), 0, LEN(state->buffer)) != NULL) {
	    state->where = "UNKNOWN";
	    state->cmd_counts[SMTPD_CMD_UNKNOWN_INDEX]++;
	    state->cmd_errors[SMTPD_CMD_UNKNOWN_INDEX]++;
	    state->cmd_total++;
	    state->cmd_total_err++;
	    smtpd_reply(state, "500 5.5.2 Error: bad syntax");
	    continue;
	}
	for (idx = 0; idx < SMTPD_CMD_UNKNOWN_INDEX; idx++) {
	    if (strlen(smtpd_cmd_table[idx].name) == vlen
		&& strncasecmp(cp, smtpd_cmd_table[idx].name, vlen) == 0) {
		cmd = &smtpd_cmd_table[idx];
		break;
	    }
	}
	if (cmd != NULL && (cmd->flags & SMTPD_CMD_LMTP) && !state->lmtp) {
	    cmd = NULL;				/* LHLO is no SMTP command */
	    idx = SMTPD_CMD_UNKNOWN_INDEX;
	}
	args = cp + vlen;
	state->cmd_counts[idx]++;
	state->cmd_total++;
	if (cmd == NULL) {
	    state->where = "UNKNOWN";
	    state->cmd_errors[idx]++;
	    state->cmd_total_err++;
	    smtpd_reply(state, "502 5.5.2 Error: command not recognized");
	    continue;
	}
	if (state->lmtp && (cmd->flags & SMTPD_CMD_SMTP)) {	/* RFC 2033 4.1 */
	    state->where = cmd->name;
	    state->cmd_errors[idx]++;
	    state->cmd_total_err++;
	    smtpd_reply(state, "500 5.5.1 Error: %s is not an LMTP command, send LHLO", cmd->name);
	    continue;
	}

	/* Pipelining where RFC 2920 forbids it, or before EHLO offered it
	 * (a BDAT chunk follows its command by definition). */
	if (!state->stand_alone && var_smtpd_forbid_unauth_pipelining
	    && cmd->action != smtpd_quit_cmd
	    && ((cmd->flags & SMTPD_CMD_LAST)
		|| (!state->pipelining_ok && cmd->action != smtpd_bdat_verb))
	    && smtpd_chat_pending(state, 0)) {
	    state->cmd_errors[idx]++;
	    state->cmd_total_err++;
	    state->where = cmd->name;
	    smtpd_pipelining_violation(state, cmd->name);
	    break;
	}
	if ((cmd->flags & SMTPD_CMD_JUNK) && !state->stand_alone
	    && state->junk_cmds++ >= var_smtpd_junk_command_limit)
	    state->error_count++;
	state->where = cmd->name;
	state->last_reply_error = false;
	if (smtpd_tls_required(state) && !(cmd->flags & SMTPD_CMD_PRE_TLS)) {
	    smtpd_reply(state, "530 5.7.0 Must issue a STARTTLS command first");
	    ret = SMTPD_CMD_ERR;
	    if (cmd->action == smtpd_bdat_verb)
		state->hangup = true;		/* the chunk would be read as commands */
	} else if ((var_smtpd_helo_required || (state->flags & SMTPD_FLAG_TLS) || state->lmtp)
		   && state->helo_name == NULL && !(cmd->flags & SMTPD_CMD_PRE_HELO)) {
	    smtpd_reply(state, state->lmtp ? "503 5.5.1 Error: send LHLO first"
			: "503 5.5.1 Error: send HELO/EHLO first");
	    ret = SMTPD_CMD_ERR;
	    if (cmd->action == smtpd_bdat_verb)
		state->hangup = true;		/* the chunk would be read as commands */
	} else if (state->access_denied && cmd->action != smtpd_quit_cmd
	    && cmd->action != smtpd_noop_cmd && cmd->action != smtpd_rset_cmd) {
	    smtpd_reply(state, "%s", state->access_denied);
	    ret = SMTPD_CMD_ERR;
	    if (cmd->action == smtpd_bdat_verb)
		state->hangup = true;		/* the chunk would be read as commands */
	} else {
	    ARGV   *words = argv_split(args, " \t");

	    argv_free(&argv);
	    argv = argv_alloc(words->argc + 1);
	    argv_addn(argv, cp, vlen);
	    for (int i = 0; i < words->argc; i++)
		argv_add(argv, words->argv[i], (char *) 0);
	    smtpd_argv_wipe(words);
	    argv_free(&words);
	    ret = cmd->action(state, argv->argc, argv->argv, args);
	    if (cmd->action == smtpd_auth_verb) {	/* the initial response */
		smtpd_argv_wipe(argv);
		vstring_wipe(state->buffer);
	    }
	}
	if (ret < 0 || state->last_reply_error) {
	    state->cmd_errors[idx]++;
	    state->cmd_total_err++;
	}
	if (cmd->action == smtpd_data_verb || cmd->action == smtpd_bdat_verb) {
	    if (state->io_status == SMTPD_IO_OK && state->phase != SMTPD_PHASE_DATA)
		state->where = "END-OF-MESSAGE";
	}
	if (state->io_status != SMTPD_IO_OK)
	    break;
    }
    argv_free(&argv);

    if (state->io_status == SMTPD_IO_TIMEOUT) {
	smtpd_log_io_status(state);
	state->io_status = SMTPD_IO_OK;		/* try to tell the client */
	smtpd_reply(state, "421 4.4.2 %s Error: timeout exceeded", var_myhostname);
	stream_clearerr(state->client);
	smtpd_flush(state);
    } else if (state->io_status != SMTPD_IO_OK) {
	smtpd_log_io_status(state);
    } else {
	smtpd_flush(state);
    }
}

/* smtpd_service - one client connection */
static void smtpd_service(STREAM *client, const char *service, char **argv)
{
    SMTPD_STATE *state = mycalloc(1, sizeof(*state));

    (void) argv;
    state->client = client;
    state->service = service;
    state->phase = SMTPD_PHASE_CONNECT;
    state->where = "CONNECT";
    state->buffer = vstring_alloc(512);
    state->path = smtp_path_alloc();
    state->lmtp = smtpd_lmtp_mode;
    state->protocol = mystrdup(state->lmtp ? "LMTP" : "SMTP");
    state->rcpt_seen = htable_create(16);
    (void) dict_refresh();		/* a rebuilt table (postmap) takes effect now */
    smtpd_chat_init(state);
    stream_set_timeout(client, (int) var_smtpd_timeout);
    smtpd_peer_init(state);
    state->bare_lf = smtpd_bare_lf_mode(state);
    msg_info("connect from %s", state->namaddr);

    smtpd_proto(state);

    smtpd_anvil_disconnect(state);
    smtpd_txn_reset(state);
    smtpd_sasl_end(state);
    smtpd_tls_end(state);
    smtpd_log_disconnect(state);
    smtpd_chat_free(state);
    vstring_free(&state->buffer);
    smtp_path_free(&state->path);
    myfree(state->rcpts);
    htable_free(&state->rcpt_seen, NULL);
    myfree(state->helo_name);
    myfree(state->protocol);
    myfree(state->sasl_method);
    myfree(state->sasl_username);
    myfree(state->tls_summary);
    myfree(state->access_denied);
    myfree(state->hold_reason);
    myfree(state->filter);
    myfree(state);
}

/* smtpd_pre_init - before the privilege drop: tables, restrictions, queue */
static void smtpd_pre_init(const char *service, char **argv)
{
    (void) service;
    (void) argv;
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);
    smtpd_check_init();
    smtpd_data_init();
    smtpd_bare_lf_init();
    smtpd_tls_pre_init();
    smtpd_sasl_pre_init();
    smtpd_cleanup = cleanup_rcpt_create(var_virtual_alias_maps);
}

/* main - the skeleton does the rest */
int     main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {
	.pre_init = smtpd_pre_init,
    };
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;

    /* One program, two protocols (as sendmail/mailq): the name decides. */
    if (argc > 0)
	smtpd_lmtp_mode = strcmp(slash ? slash + 1 : argv[0], "lmtpd") == 0;

    single_server_main(argc, argv, smtpd_service, &opts);
}
