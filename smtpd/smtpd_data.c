/* smtpd_data.c - DATA and BDAT: message content into the queue file.
 *
 * Content is streamed line by line into the queue file (qfile.h): our
 * Received: header first, then the client's headers (assembled into
 * logical headers for header_checks, hop counting and Message-ID/Date
 * detection), then the body. The file is made durable (qfile_writer_
 * finish) before "250 2.0.0 Ok: queued as ID"; then qmgr is poked. In
 * LMTP mode that reply (or the failure) is repeated for each accepted
 * recipient with its address; a BDAT chunk that fails before LAST is
 * refused alone and the transaction waits for LAST to answer per recipient.
 *
 * DATA: only CR LF . CR LF ends the message, in every mode (DESIGN.md:
 * no SMTP smuggling): "<LF>.<LF>", "<CR><LF>.<LF>" and "<LF>.<CR><LF>"
 * are content. smtpd_forbid_bare_newline decides what a bare LF is:
 * normalize (the default) and no: a line end, stored as any other;
 * reject: "521 5.5.2 host Error: bare <LF> received" (logged as "bare
 * <LF> received after DATA from ...") and disconnect. Clients in smtpd_forbid_bare_newline_exclusions get "no".
 * Unlike Postfix, an excluded client does not get the old "." with bare
 * LF as end of data. A bare CR is ordinary data. Dot-unstuffing removes
 * one leading ".".
 *
 * BDAT (RFC 3030): chunks of exact byte counts, concatenated; no dot
 * handling, NUL bytes pass. Line ends are recovered the same way (CR LF or
 * LF) for the queue file's LF line ends. An error in a chunk ends the
 * transaction; later chunks are read and refused ("503 ...").
 *
 * Limits: lines longer than line_length_limit are stored in pieces (not
 * refused); message_size_limit is enforced while reading (the rest is read
 * and discarded, then "552 5.3.4 Error: message file too big");
 * header_size_limit: once the headers grow past it, the rest of the
 * message is treated as body; hopcount_limit: "554 5.4.0 Error: too many
 * hops". Header and body lines are checked against header_checks /
 * body_checks (first body_checks_size_limit bytes of the body).
 */
#include "sys_defs.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "argv.h"
#include "config.h"
#include "dict.h"
#include "mail_date.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "server.h"
#include "stream.h"
#include "vstring.h"

#include "smtpd.h"
#include "smtpd_chat.h"
#include "smtpd_check.h"
#include "smtpd_proto.h"

/* Content parser state of one message. */
typedef struct smtpd_data_ctx {
    SMTPD_STATE *state;
    bool    in_header;		/* still in the primary header section */
    bool    partial;		/* the previous piece did not end its line */
    bool    piece_in_hdr;	/* the current physical line belongs to hdr */
    bool    piece_skip;		/* the current physical line is dropped (IGNORE) */
    VSTRING *hdr;		/* the logical header being assembled */
    long    hdr_total;		/* header bytes so far */
    int     hops;		/* Received: headers, ours included */
    bool    saw_msgid;
    bool    saw_date;
    bool    too_big;		/* message_size_limit passed: discarding */
    bool    failed;		/* a write error or a reject: discarding */
    char   *reply;		/* the final reply when not 250 */
    bool    discard;
    bool    hold;
    long    body_seen;		/* body bytes inspected by body_checks */
    VSTRING *bdat_line;		/* BDAT: partial line carried across chunks */
} SMTPD_DATA_CTX;

static ARGV *header_maps;
static ARGV *body_maps;
static DICT **header_dicts;
static DICT **body_dicts;

/* smtpd_data_open_maps - open one list of check tables */
static DICT **smtpd_data_open_maps(const char *list, ARGV **names_r)
{
    ARGV   *names = argv_split_list(list);
    DICT  **dicts = mycalloc((size_t) names->argc + 1, sizeof(*dicts));
    const char *err;

    for (int i = 0; i < names->argc; i++)
	if ((dicts[i] = dict_open(names->argv[i], O_RDONLY, DICT_FLAG_NONE, &err)) == NULL)
	    msg_fatal("%s", err);
    *names_r = names;
    return dicts;
}

/* smtpd_data_init - open header_checks/body_checks */
void smtpd_data_init(void)
{
    if (var_header_checks && *var_header_checks)
	header_dicts = smtpd_data_open_maps(var_header_checks, &header_maps);
    if (var_body_checks && *var_body_checks)
	body_dicts = smtpd_data_open_maps(var_body_checks, &body_maps);
}

#define CHECK_OK      0
#define CHECK_IGNORE  1

/* smtpd_data_check - apply header_checks or body_checks to one line */
static int smtpd_data_check(SMTPD_DATA_CTX *ctx, DICT **dicts, const char *what,
			            const char *text)
{
    SMTPD_STATE *state = ctx->state;
    const char *value = NULL;
    const char *err;
    int     ret = DICT_NOTFOUND;
    const char *cp;
    const char *detail;
    VSTRING *where;

    if (dicts == NULL || ctx->failed)
	return CHECK_OK;
    for (int i = 0; dicts[i] != NULL; i++) {
	ret = dict_lookup(dicts[i], text, 0, &value, &err);
	if (ret == DICT_ERROR) {
	    msg_warn("%s: %s lookup error: %s", state->queue_id, what, err);
	    if (ctx->reply == NULL)
		ctx->reply = mystrdup("451 4.3.0 Error: queue file write error");
	    ctx->failed = true;
	    return CHECK_OK;
	}
	if (ret == DICT_FOUND)
	    break;
    }
    if (ret != DICT_FOUND)
	return CHECK_OK;

    /* action [text] */
    for (cp = value; *cp && !isspace((unsigned char) *cp); cp++)
	 /* void */ ;
    detail = cp;
    while (isspace((unsigned char) *detail))
	detail++;
    where = vstring_alloc(200);
    vstring_fmt(where, "%s %.200s from %s; from=<%s> to=<%s> proto=%s helo=<%s>",
		what, text, state->namaddr, state->sender ? state->sender : "",
		state->rcpt_count > 0 ? state->rcpts[0].address : "",
		state->protocol ? state->protocol : "SMTP",
		state->helo_name ? state->helo_name : "");
    if (strncasecmp(value, "REJECT", 6) == 0 && cp - value == 6) {
	msg_info("%s: reject: %s: %s", state->queue_id, STR(where),
		 *detail ? detail : "5.7.1 Message content rejected");
	if (ctx->reply == NULL) {
	    VSTRING *r = vstring_alloc(100);

	    if (*detail && isdigit((unsigned char) detail[0]) && detail[1] == '.')
		vstring_fmt(r, "550 %s", detail);
	    else
		vstring_fmt(r, "550 5.7.1 %s", *detail ? detail : "Message content rejected");
	    ctx->reply = vstring_export(&r);
	}
	ctx->failed = true;
    } else if (strncasecmp(value, "WARN", 4) == 0 && cp - value == 4) {
	msg_info("%s: warning: %s: %s", state->queue_id, STR(where), detail);
    } else if (strncasecmp(value, "DISCARD", 7) == 0 && cp - value == 7) {
	msg_info("%s: discard: %s: %s", state->queue_id, STR(where), detail);
	ctx->discard = true;
    } else if (strncasecmp(value, "HOLD", 4) == 0 && cp - value == 4) {
	msg_info("%s: hold: %s: %s", state->queue_id, STR(where), detail);
	ctx->hold = true;
    } else if (strncasecmp(value, "IGNORE", 6) == 0 && cp - value == 6) {
	vstring_free(&where);
	return CHECK_IGNORE;
    } else if (strncasecmp(value, "OK", 2) == 0 && cp - value == 2) {
	/* accepted: no action */
    } else {
	msg_warn("%s: unknown action \"%s\" in %s", state->queue_id, value, what);
    }
    vstring_free(&where);
    return CHECK_OK;
}

/* smtpd_data_write - write content bytes to the queue file */
static void smtpd_data_write(SMTPD_DATA_CTX *ctx, const char *buf, size_t len)
{
    const char *err;

    if (ctx->failed || ctx->too_big || len == 0)
	return;
    if (qfile_writer_content(ctx->state->qf, buf, len, &err) < 0) {
	msg_warn("%s: queue file write error: %s", ctx->state->queue_id, err);
	if (ctx->reply == NULL)
	    ctx->reply = mystrdup("451 4.3.0 Error: queue file write error");
	ctx->failed = true;
    }
}

/* smtpd_data_date - RFC 5322 date of now appended to buf */
static void smtpd_data_date(VSTRING *buf)
{
    VSTRING *tmp = vstring_alloc(64);

    vstring_cat(buf, mail_date(tmp, time(NULL)));
    vstring_free(&tmp);
}

/* smtpd_data_hdr_name - length of the field name when line starts a header, else 0 */
static size_t smtpd_data_hdr_name(const char *line, size_t len)
{
    size_t  i = 0;
    size_t  name_len;

    while (i < len && line[i] > 32 && line[i] < 127 && line[i] != ':')
	i++;
    name_len = i;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
	i++;
    if (name_len == 0 || i >= len || line[i] != ':')
	return 0;
    return name_len;
}

/* smtpd_data_flush_hdr - one complete logical header: inspect, check, write */
static void smtpd_data_flush_hdr(SMTPD_DATA_CTX *ctx)
{
    const char *hdr = STR(ctx->hdr);
    size_t  name_len;

    if (LEN(ctx->hdr) == 0)
	return;
    name_len = smtpd_data_hdr_name(hdr, LEN(ctx->hdr));
    if (name_len == 8 && strncasecmp(hdr, "Received", 8) == 0)
	ctx->hops++;
    else if (name_len == 4 && strncasecmp(hdr, "Date", 4) == 0)
	ctx->saw_date = true;
    else if (name_len == 10 && strncasecmp(hdr, "Message-ID", 10) == 0) {
	const char *val = strchr(hdr, ':') + 1;

	while (*val == ' ' || *val == '\t' || *val == '\n')
	    val++;
	if (!ctx->saw_msgid) {
	    size_t  n = 0;

	    while (val[n] > 32 && val[n] < 127)	/* no control bytes in logs */
		n++;
	    msg_info("%s: message-id=%.*s", ctx->state->queue_id, (int) n, val);
	}
	ctx->saw_msgid = true;
    }
    if (smtpd_data_check(ctx, header_dicts, "header", hdr) != CHECK_IGNORE) {
	vstring_addch(ctx->hdr, '\n');
	smtpd_data_write(ctx, STR(ctx->hdr), LEN(ctx->hdr));
    }
    vstring_reset(ctx->hdr);
}

/* smtpd_data_end_headers - the header section is complete */
static void smtpd_data_end_headers(SMTPD_DATA_CTX *ctx)
{
    SMTPD_STATE *state = ctx->state;
    VSTRING *buf;

    smtpd_data_flush_hdr(ctx);
    ctx->in_header = false;
    if (!state->rewrite_local && !(state->flags & SMTPD_FLAG_AUTH)
	&& !var_always_add_missing_headers) {
	if (!ctx->saw_msgid)			/* as Postfix logs it */
	    msg_info("%s: message-id=<>", state->queue_id);
	return;
    }
    buf = vstring_alloc(200);
    if (!ctx->saw_msgid) {
	time_t  now = time(NULL);
	struct tm tm;
	char    stamp[32];

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	vstring_fmt(buf, "Message-Id: <%s.%s@%s>\n", stamp, state->queue_id, var_myhostname);
	smtpd_data_write(ctx, STR(buf), LEN(buf));
	msg_info("%s: message-id=<%s.%s@%s>", state->queue_id, stamp, state->queue_id,
		 var_myhostname);
	ctx->saw_msgid = true;
    }
    if (!ctx->saw_date) {
	vstring_set(buf, "Date: ");
	smtpd_data_date(buf);
	vstring_addch(buf, '\n');
	smtpd_data_write(ctx, STR(buf), LEN(buf));
	ctx->saw_date = true;
    }
    vstring_free(&buf);
}

/* smtpd_data_body - one body piece */
static void smtpd_data_body(SMTPD_DATA_CTX *ctx, const char *data, size_t len, bool partial)
{
    if (body_dicts && !ctx->partial && ctx->body_seen < var_body_checks_size_limit) {
	char   *line = mystrndup(data, len);
	int     ret = smtpd_data_check(ctx, body_dicts, "body", line);

	myfree(line);
	ctx->body_seen += (long) len;
	if (ret == CHECK_IGNORE) {
	    ctx->piece_skip = true;
	    return;
	}
    }
    if (ctx->partial && ctx->piece_skip)
	return;
    ctx->piece_skip = false;
    smtpd_data_write(ctx, data, len);
    if (!partial)
	smtpd_data_write(ctx, "\n", 1);
}

/* smtpd_data_put - one piece of a physical line (partial: the line goes on) */
static void smtpd_data_put(SMTPD_DATA_CTX *ctx, const char *data, size_t len, bool partial)
{
    SMTPD_STATE *state = ctx->state;

    state->act_size += (long) len + (partial ? 0 : 1);
    if (var_message_size_limit > 0 && state->act_size > var_message_size_limit)
	ctx->too_big = true;
    if (ctx->too_big || ctx->failed)
	goto done;

    if (ctx->partial) {				/* the same physical line goes on */
	if (ctx->piece_in_hdr) {
	    if (ctx->hdr_total + (long) LEN(ctx->hdr) + (long) len > var_header_size_limit) {
		/* an oversized header: what we have becomes body */
		smtpd_data_end_headers(ctx);
		ctx->piece_in_hdr = false;
		smtpd_data_write(ctx, data, len);
		if (!partial)
		    smtpd_data_write(ctx, "\n", 1);
	    } else {
		vstring_catn(ctx->hdr, data, len);
	    }
	} else {
	    smtpd_data_body(ctx, data, len, partial);
	}
	goto done;
    }
    if (ctx->in_header) {
	bool    cont = (len > 0 && (data[0] == ' ' || data[0] == '\t') && LEN(ctx->hdr) > 0);
	bool    start = !cont && smtpd_data_hdr_name(data, len) > 0;

	if ((cont || start)
	    && ctx->hdr_total + (long) LEN(ctx->hdr) + (long) len + 1 > var_header_size_limit) {
	    cont = start = false;		/* excess header lines go to the body */
	}
	if (cont) {
	    vstring_addch(ctx->hdr, '\n');
	    vstring_catn(ctx->hdr, data, len);
	    ctx->piece_in_hdr = true;
	    goto done;
	}
	if (start) {
	    ctx->hdr_total += (long) LEN(ctx->hdr) + 1;
	    smtpd_data_flush_hdr(ctx);
	    vstring_setn(ctx->hdr, data, len);
	    ctx->piece_in_hdr = true;
	    goto done;
	}
	smtpd_data_end_headers(ctx);
	if (len > 0 || partial)			/* no empty line between headers and body */
	    smtpd_data_write(ctx, "\n", 1);
    }
    ctx->piece_in_hdr = false;
    smtpd_data_body(ctx, data, len, partial);
done:
    ctx->partial = partial;
}

/* smtpd_data_begin - start the content: our Received: header */
static SMTPD_DATA_CTX *smtpd_data_begin(SMTPD_STATE *state)
{
    SMTPD_DATA_CTX *ctx = mycalloc(1, sizeof(*ctx));
    VSTRING *buf = vstring_alloc(300);

    ctx->state = state;
    ctx->in_header = true;
    ctx->hdr = vstring_alloc(200);
    vstring_set_limit(ctx->hdr, (size_t) var_header_size_limit + (size_t) var_line_length_limit + 2);
    ctx->bdat_line = vstring_alloc(200);
    ctx->hops = 1;				/* our own Received: header */
    state->act_size = 0;

    vstring_fmt(buf, "Received: from %s (%s [%s])\n",
		state->helo_name ? state->helo_name : state->name, state->name,
		state->rfc_addr);
    if (state->tls_summary && var_smtpd_tls_received_header) {
	vstring_fmt_append(buf, "\t(using %s)\n", state->tls_summary);
	if (!var_smtpd_tls_ask_ccert)
	    vstring_cat(buf, "\t(No client certificate requested)\n");
    }
    if (state->sasl_username && var_smtpd_sasl_authenticated_header)
	vstring_fmt_append(buf, "\t(Authenticated sender: %s)\n", state->sasl_username);
    vstring_fmt_append(buf, "\tby %s (%s) with %s id %s", var_myhostname, var_mail_name,
		       state->protocol, state->queue_id);
    if (state->rcpt_count == 1)
	vstring_fmt_append(buf, "\n\tfor <%s>; ", state->rcpts[0].address);
    else
	vstring_cat(buf, ";\n\t");
    smtpd_data_date(buf);
    vstring_addch(buf, '\n');
    smtpd_data_write(ctx, STR(buf), LEN(buf));
    vstring_free(&buf);
    return ctx;
}

/* smtpd_data_ctx_free - release the parser */
static void smtpd_data_ctx_free(SMTPD_DATA_CTX **ctxp)
{
    SMTPD_DATA_CTX *ctx = *ctxp;

    if (ctx == NULL)
	return;
    vstring_free(&ctx->hdr);
    vstring_free(&ctx->bdat_line);
    myfree(ctx->reply);
    myfree(ctx);
    *ctxp = NULL;
}

/* smtpd_data_free - release BDAT parsing state */
void    smtpd_data_free(SMTPD_STATE *state)
{
    smtpd_data_ctx_free(&state->data);
}

/* smtpd_data_reply - the end-of-data reply "NNN X.Y.Z text": once in SMTP;
 * in LMTP once per accepted recipient, in RCPT order (RFC 2033 4.2), as
 * "NNN X.Y.Z <address> text" (success: "250 2.1.5 <address> text") */
static void smtpd_data_reply(SMTPD_STATE *state, const char *reply)
{
    const char *text = reply;
    char    code[4];
    char    dsn[16];
    size_t  n;

    if (!state->lmtp || state->rcpt_count == 0) {
	smtpd_reply(state, "%s", reply);
	return;
    }
    ph_strlcpy(code, reply, sizeof(code));
    text = reply + strlen(code);
    while (*text == ' ')
	text++;
    for (n = 0; n < sizeof(dsn) - 1 && (isdigit((unsigned char) text[n]) || text[n] == '.'); n++)
	dsn[n] = text[n];
    dsn[n] = 0;
    if (n >= 5 && (text[n] == ' ' || text[n] == 0)) {
	text += n;
	while (*text == ' ')
	    text++;
    } else {
	ph_strlcpy(dsn, code[0] == '2' ? "2.0.0" : code[0] == '4' ? "4.0.0" : "5.0.0",
		   sizeof(dsn));
    }
    if (code[0] == '2')
	ph_strlcpy(dsn, "2.1.5", sizeof(dsn));
    for (int i = 0; i < state->rcpt_count; i++)
	smtpd_reply(state, "%s %s <%s> %s", code, dsn, state->rcpts[i].address, text);
}

/* smtpd_data_queued - "250 2.0.0 Ok: queued as ID" (per recipient in LMTP) */
static void smtpd_data_queued(SMTPD_STATE *state, const char *id)
{
    VSTRING *buf = vstring_alloc(64);

    vstring_fmt(buf, "250 2.0.0 Ok: queued as %s", id);
    smtpd_data_reply(state, STR(buf));
    vstring_free(&buf);
}

/* smtpd_data_finish - end of content: finish the queue file, send the reply.
 * Returns 0 for "queued" (or discarded), -1 for a failure reply. */
static int smtpd_data_finish(SMTPD_STATE *state, SMTPD_DATA_CTX *ctx)
{
    const char *err;
    char    id[QUEUE_ID_MAX];
    int     ret = -1;

    if (ctx->partial && !ctx->too_big)		/* content without a final line end */
	smtpd_data_put(ctx, "", 0, false);
    if (ctx->in_header)
	smtpd_data_end_headers(ctx);
    if (ctx->too_big) {
	msg_info("%s: reject: %s from %s: 552 5.3.4 Error: message file too big; from=<%s> proto=%s helo=<%s>",
		 state->queue_id, (state->flags & SMTPD_FLAG_BDAT) ? "BDAT" : "DATA",
		 state->namaddr, state->sender, state->protocol,
		 state->helo_name ? state->helo_name : "");
	smtpd_data_reply(state, "552 5.3.4 Error: message file too big");
    } else if (ctx->reply) {
	smtpd_data_reply(state, ctx->reply);
    } else if (ctx->hops > var_hopcount_limit) {
	msg_info("%s: reject: %s from %s: 554 5.4.0 Error: too many hops; from=<%s> proto=%s helo=<%s>",
		 state->queue_id, (state->flags & SMTPD_FLAG_BDAT) ? "BDAT" : "DATA",
		 state->namaddr, state->sender, state->protocol,
		 state->helo_name ? state->helo_name : "");
	smtpd_data_reply(state, "554 5.4.0 Error: too many hops");
    } else if ((err = smtpd_check_eod(state)) != NULL) {
	smtpd_data_reply(state, err);
    } else if (ctx->discard || (state->flags & SMTPD_FLAG_DISCARD)) {
	ph_strlcpy(id, state->queue_id, sizeof(id));
	qfile_writer_abort(&state->qf);
	smtpd_data_queued(state, id);
	ret = 0;
    } else {
	ph_strlcpy(id, state->queue_id, sizeof(id));
	if (qfile_writer_finish(&state->qf, true, &err) < 0) {
	    msg_warn("%s: queue file write error: %s", id, err);
	    smtpd_data_reply(state, "451 4.3.0 Error: queue file write error");
	} else {
	    if (ctx->hold || (state->flags & SMTPD_FLAG_HOLD)) {
		if (mail_queue_rename(id, MAIL_QUEUE_INCOMING, MAIL_QUEUE_HOLD, &err) < 0)
		    msg_warn("%s: cannot move to hold queue: %s", id, err);
	    } else {
		VSTRING *path = vstring_alloc(100);
		struct stat st;

		vstring_fmt(path, "%s/%s", var_queue_directory, MAIL_QUEUE_TRIGGER_PATH);
		if (stat(STR(path), &st) == 0) {
		    char    req = MAIL_QUEUE_TRIGGER_NEW;

		    (void) trigger_send(STR(path), &req, 1);
		}
		vstring_free(&path);
	    }
	    smtpd_data_queued(state, id);
	    state->error_count = 0;		/* delivered mail resets the tarpit */
	    state->junk_cmds = 0;
	    ret = 0;
	}
    }
    return ret;
}

/* smtpd_data_check_begin - common checks before DATA/the first BDAT chunk */
static const char *smtpd_data_check_begin(SMTPD_STATE *state)
{
    if (state->rcpt_count == 0 || state->qf == NULL)
	return state->sender == NULL ? "503 5.5.1 Error: need RCPT command"
	    : "554 5.5.1 Error: no valid recipients";
    return smtpd_check_data(state);
}

/* smtpd_data_getline - one piece of a DATA line: 2 CRLF, 1 bare LF,
 * 0 partial (line_length_limit reached), -1 EOF/error/timeout */
static int smtpd_data_getline(SMTPD_STATE *state, VSTRING *buf)
{
    size_t  limit = (size_t) var_line_length_limit;
    int     ch;

    vstring_reset(buf);
    for (;;) {
	if ((ch = stream_getc(state->client)) == STREAM_EOF) {
	    smtpd_chat_io_status(state);
	    return -1;
	}
	if (ch == '\n') {
	    if (LEN(buf) > 0 && STR(buf)[LEN(buf) - 1] == '\r') {
		vstring_truncate(buf, LEN(buf) - 1);
		return 2;
	    }
	    return 1;
	}
	vstring_addch(buf, ch);
	if (LEN(buf) >= limit && ch != '\r')
	    return 0;
	if (LEN(buf) > limit) {			/* CR at the limit, no LF after it */
	    ch = stream_getc(state->client);
	    if (ch == '\n') {
		vstring_truncate(buf, LEN(buf) - 1);
		return 2;
	    }
	    if (ch != STREAM_EOF)
		stream_ungetc(state->client, ch);
	    return 0;
	}
    }
}

/* smtpd_data_cmd - the DATA verb */
int     smtpd_data_cmd(SMTPD_STATE *state, int argc, char **argv)
{
    const char *err;
    SMTPD_DATA_CTX *ctx;
    VSTRING *line;
    int     eol;
    int     prev_eol = 2;		/* the DATA command line ended the previous line */
    bool    prev_partial = false;
    int     ret;

    (void) argv;
    if (argc != 1) {
	smtpd_reply(state, "501 5.5.4 Syntax: DATA");
	return -1;
    }
    if (state->flags & SMTPD_FLAG_BDAT) {
	smtpd_reply(state, "503 5.5.1 Error: DATA after BDAT");
	return -1;
    }
    if ((err = smtpd_data_check_begin(state)) != NULL) {
	smtpd_reply(state, "%s", err);
	return -1;
    }
    smtpd_reply(state, "354 End data with <CR><LF>.<CR><LF>");
    smtpd_flush(state);
    state->phase = SMTPD_PHASE_DATA;
    ctx = smtpd_data_begin(state);
    line = vstring_alloc(var_line_length_limit + 2);

    for (;;) {
	if ((eol = smtpd_data_getline(state, line)) < 0) {
	    ret = -1;
	    goto out;
	}
	if (eol == 1) {
	    if (state->bare_lf == SMTPD_BARE_LF_REJECT) {
		msg_info("bare <LF> received after DATA from %s", state->namaddr);
		smtpd_reply(state, "521 5.5.2 %s Error: bare <LF> received", var_myhostname);
		state->hangup = true;
		ret = -1;
		goto out;
	    }
	}
	/* End of data: only CR LF . CR LF, whatever the bare LF mode. */
	if (!prev_partial && eol == 2 && prev_eol == 2 && LEN(line) == 1 && STR(line)[0] == '.')
	    break;
	if (!prev_partial && LEN(line) > 0 && STR(line)[0] == '.')
	    smtpd_data_put(ctx, STR(line) + 1, LEN(line) - 1, eol == 0);
	else
	    smtpd_data_put(ctx, STR(line), LEN(line), eol == 0);
	prev_partial = (eol == 0);
	if (eol != 0)
	    prev_eol = eol;
    }
    ret = smtpd_data_finish(state, ctx);
out:
    vstring_free(&line);
    smtpd_data_ctx_free(&ctx);
    smtpd_txn_reset(state);
    return ret;
}

/* smtpd_bdat_feed - split BDAT bytes into lines for the content parser */
static void smtpd_bdat_feed(SMTPD_DATA_CTX *ctx, const char *buf, size_t len)
{
    size_t  limit = (size_t) var_line_length_limit;
    const char *cp = buf;
    const char *end = buf + len;

    while (cp < end) {
	const char *nl = memchr(cp, '\n', (size_t) (end - cp));
	size_t  n = nl ? (size_t) (nl - cp) : (size_t) (end - cp);

	vstring_catn(ctx->bdat_line, cp, n);
	cp += n;
	if (nl) {
	    cp++;
	    if (LEN(ctx->bdat_line) > 0 && STR(ctx->bdat_line)[LEN(ctx->bdat_line) - 1] == '\r')
		vstring_truncate(ctx->bdat_line, LEN(ctx->bdat_line) - 1);
	    smtpd_data_put(ctx, STR(ctx->bdat_line), LEN(ctx->bdat_line), false);
	    vstring_reset(ctx->bdat_line);
	}
	while (LEN(ctx->bdat_line) > limit) {
	    /* a long line: store a piece, keep a trailing CR for the next LF */
	    size_t  piece = limit;

	    smtpd_data_put(ctx, STR(ctx->bdat_line), piece, true);
	    memmove(STR(ctx->bdat_line), STR(ctx->bdat_line) + piece, LEN(ctx->bdat_line) - piece);
	    vstring_truncate(ctx->bdat_line, LEN(ctx->bdat_line) - piece);
	}
    }
}

/* smtpd_bdat_cmd - the BDAT verb (RFC 3030) */
int     smtpd_bdat_cmd(SMTPD_STATE *state, int argc, char **argv)
{
    char   *end;
    long    size;
    bool    last = false;
    const char *err = NULL;
    char    buf[65536];
    int     ret;

    if (argc < 2 || argc > 3 || !isdigit((unsigned char) argv[1][0])
	|| strlen(argv[1]) > 12
	|| (size = strtol(argv[1], &end, 10), *end != 0)
	|| (argc == 3 && strcasecmp(argv[2], "LAST") != 0)) {
	/* The chunk size is unknown: its bytes would be read as commands. */
	msg_info("%s: BDAT syntax error from %s", state->queue_id[0] ? state->queue_id : "NOQUEUE",
		 state->namaddr);
	smtpd_reply(state, "501 5.5.4 Syntax: BDAT count [LAST]");
	state->hangup = true;
	return -1;
    }
    last = (argc == 3);

    /* Decide before reading, so that errors discard the chunk. */
    if (!(state->flags & SMTPD_FLAG_BDAT)) {
	if ((err = smtpd_data_check_begin(state)) == NULL) {
	    state->flags |= SMTPD_FLAG_BDAT;
	    state->phase = SMTPD_PHASE_DATA;
	    state->data = smtpd_data_begin(state);
	}
    }
    while (size > 0) {
	ssize_t n = stream_read(state->client, buf,
				(size_t) (size < (long) sizeof(buf) ? size : (long) sizeof(buf)));

	if (n <= 0) {
	    smtpd_chat_io_status(state);
	    if (state->io_status == SMTPD_IO_OK)
		state->io_status = SMTPD_IO_EOF;
	    smtpd_txn_reset(state);
	    return -1;
	}
	size -= n;
	if (err == NULL)
	    smtpd_bdat_feed(state->data, buf, (size_t) n);
    }
    if (err != NULL) {
	smtpd_reply(state, "%s", err);
	return -1;
    }
    if ((state->data->too_big || state->data->failed) && state->lmtp && !last) {
	/* LMTP: the per-recipient replies come after BDAT LAST; until then
	 * each chunk is read, discarded and refused (RFC 2033 4.2) */
	smtpd_reply(state, "%s", state->data->too_big ? "552 5.3.4 Error: message file too big"
		    : state->data->reply ? state->data->reply
		    : "451 4.3.0 Error: queue file write error");
	return -1;
    }
    if (state->data->too_big || state->data->failed) {
	ret = smtpd_data_finish(state, state->data);
	smtpd_data_free(state);
	smtpd_txn_reset(state);
	return ret;
    }
    if (!last) {
	smtpd_reply(state, "250 2.0.0 Ok: %s bytes", argv[1]);
	return 0;
    }
    if (LEN(state->data->bdat_line) > 0) {
	smtpd_data_put(state->data, STR(state->data->bdat_line), LEN(state->data->bdat_line), false);
	vstring_reset(state->data->bdat_line);
    }
    ret = smtpd_data_finish(state, state->data);
    smtpd_data_free(state);
    smtpd_txn_reset(state);
    return ret;
}
