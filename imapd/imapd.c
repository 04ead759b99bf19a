/* imapd.c - the IMAP4rev1 server: session loop, verb table, helpers.
 *
 * Process design: master runs one imapd process per connection
 * (single-server skeleton, master.cf maxproc bounds them). Started as
 * root (stay_root), the process splits (lib/login_split.c): a pre-login
 * child as login_user speaks the not-authenticated state (TLS, greeting,
 * CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE through the auth service, ID,
 * NOOP, LOGOUT) and hands the login to the root parent, which looks the
 * user up in the userdb, becomes the user's uid/gid for good, serves the
 * mailbox and exits after that session. Started unprivileged, one process
 * does it all as that user (a userdb uid different from ours is logged
 * and served as ours). Not done yet: one post-login process per uid
 * serving many sessions (imapd_client_limit).
 *
 * Limits: imap_max_line_length (command text), imap_literal_limit
 * (APPENDLIMIT, each literal), 32 list levels, 10000 arguments,
 * login_timeout before login, imap_autologout after, 20 protocol errors
 * in a row end the session.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth_client.h"
#include "config.h"
#include "imap_utf7.h"
#include "imapd.h"
#include "login_userip.h"
#include "login_split.h"
#include "msg.h"
#include "mymalloc.h"
#include "server.h"
#include "tls.h"

#define IMAPD_MAX_BAD 20

static VSTRING *imapd_inbuf;
static size_t imapd_inpos;
static VSTRING *imapd_tagged;		/* the tagged reply, sent after updates */
static TLS_SERVER_CTX *imapd_tls_ctx;	/* NULL: no TLS configured */
static TLS_SESSION *imapd_tls;

const IMAPD_VERB imapd_verbs[] = {
    {"CAPABILITY", cmd_capability, VERB_ANY},
    {"NOOP", cmd_noop, VERB_ANY},
    {"LOGOUT", cmd_logout, VERB_ANY},
    {"STARTTLS", cmd_starttls, VERB_NOTAUTH},
    {"LOGIN", cmd_login, VERB_NOTAUTH},
    {"AUTHENTICATE", cmd_authenticate, VERB_NOTAUTH},
    {"ID", cmd_id, VERB_ANY},
    {"ENABLE", cmd_enable, VERB_AUTH | VERB_SELECTED},
    {"SELECT", cmd_select, VERB_AUTH | VERB_SELECTED},
    {"EXAMINE", cmd_examine, VERB_AUTH | VERB_SELECTED},
    {"CREATE", cmd_create, VERB_AUTH | VERB_SELECTED},
    {"DELETE", cmd_delete, VERB_AUTH | VERB_SELECTED},
    {"RENAME", cmd_rename, VERB_AUTH | VERB_SELECTED},
    {"SUBSCRIBE", cmd_subscribe, VERB_AUTH | VERB_SELECTED},
    {"UNSUBSCRIBE", cmd_unsubscribe, VERB_AUTH | VERB_SELECTED},
    {"LIST", cmd_list, VERB_AUTH | VERB_SELECTED},
    {"LSUB", cmd_lsub, VERB_AUTH | VERB_SELECTED},
    {"NAMESPACE", cmd_namespace, VERB_AUTH | VERB_SELECTED},
    {"STATUS", cmd_status, VERB_AUTH | VERB_SELECTED},
    {"APPEND", cmd_append, VERB_AUTH | VERB_SELECTED},
    {"IDLE", cmd_idle, VERB_AUTH | VERB_SELECTED},
    {"GETQUOTAROOT", cmd_getquotaroot, VERB_AUTH | VERB_SELECTED},
    {"GETQUOTA", cmd_getquota, VERB_AUTH | VERB_SELECTED},
    {"SETQUOTA", cmd_setquota, VERB_AUTH | VERB_SELECTED},
    {"CHECK", cmd_check, VERB_SELECTED},
    {"CLOSE", cmd_close, VERB_SELECTED},
    {"UNSELECT", cmd_unselect, VERB_SELECTED},
    {"EXPUNGE", cmd_expunge, VERB_SELECTED | VERB_UID},
    {"SEARCH", cmd_search, VERB_SELECTED | VERB_UID | VERB_NO_EXPUNGE},
    {"FETCH", cmd_fetch, VERB_SELECTED | VERB_UID | VERB_NO_EXPUNGE},
    {"STORE", cmd_store, VERB_SELECTED | VERB_UID | VERB_NO_EXPUNGE},
    {"COPY", cmd_copy, VERB_SELECTED | VERB_UID},
    {"MOVE", cmd_move, VERB_SELECTED | VERB_UID},
    {"UID", cmd_uid, VERB_SELECTED},
    {NULL, NULL, 0},
};

/* imapd_send - append formatted text to the output */
void    imapd_send(IMAPD_SESSION *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstring_vfmt_append(s->out, fmt, ap);
    va_end(ap);
    if (LEN(s->out) > 65536)
	imapd_flush(s);
}

/* imapd_send_raw - append bytes to the output */
void    imapd_send_raw(IMAPD_SESSION *s, const char *data, size_t len)
{
    vstring_catn(s->out, data, len);
    if (LEN(s->out) > 65536)
	imapd_flush(s);
}

/* imapd_flush - write the output to the client */
void    imapd_flush(IMAPD_SESSION *s)
{
    if (LEN(s->out) > 0) {
	stream_write(s->client, STR(s->out), LEN(s->out));
	vstring_reset(s->out);
    }
    stream_flush(s->client);
}

/* imapd_tagged_reply - the tagged reply, held until updates are out */
static void imapd_tagged_reply(IMAPD_SESSION *s, const char *status, const char *fmt,
			       va_list ap)
{
    vstring_fmt(imapd_tagged, "%s %s ", s->tag ? s->tag : "*", status);
    vstring_vfmt_append(imapd_tagged, fmt, ap);
    vstring_cat(imapd_tagged, "\r\n");
}

/* imapd_ok - tagged OK */
void    imapd_ok(IMAPD_SESSION *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    imapd_tagged_reply(s, "OK", fmt, ap);
    va_end(ap);
    s->bad_count = 0;
}

/* imapd_no - tagged NO */
void    imapd_no(IMAPD_SESSION *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    imapd_tagged_reply(s, "NO", fmt, ap);
    va_end(ap);
    s->bad_count = 0;
}

/* imapd_no_err - tagged NO with a storage error: its own RFC 5530 code
 * when it has one, else [code] */
void    imapd_no_err(IMAPD_SESSION *s, const char *code, const char *err)
{
    if (err && err[0] == '[')
	imapd_no(s, "%s", err);
    else
	imapd_no(s, "[%s] %s", code, err ? err : "Internal error");
}

/* imapd_bad - tagged BAD */
void    imapd_bad(IMAPD_SESSION *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    imapd_tagged_reply(s, "BAD", fmt, ap);
    va_end(ap);
    s->bad_count++;
}

/* imapd_capability - the capability list for the session's state */
void    imapd_capability(IMAPD_SESSION *s, VSTRING *out)
{
    vstring_cat(out, "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE");
    if (s->state == IMAPD_NOTAUTH) {
	if (imapd_tls_ctx && !s->tls)
	    vstring_cat(out, " STARTTLS");
	if (!imapd_plaintext_ok(s))
	    vstring_cat(out, " LOGINDISABLED");
	else
	    vstring_cat(out, " AUTH=PLAIN AUTH=LOGIN");
    } else {
	vstring_cat(out, " NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS CONDSTORE QRESYNC ESEARCH QUOTA");
	if (var_imap_literal_limit > 0)
	    vstring_fmt_append(out, " APPENDLIMIT=%ld", var_imap_literal_limit);
    }
}

/* imapd_plaintext_ok - may the client log in with a password now */
bool    imapd_plaintext_ok(const IMAPD_SESSION *s)
{
    return login_plaintext_ok(s->tls, s->secured);
}

/* cmd_starttls - STARTTLS: OK in plaintext, then the handshake; what the
 * client pipelined after STARTTLS is thrown away */
void    cmd_starttls(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    const char *err;

    (void) args;
    if (count != 0) {
	imapd_bad(s, "STARTTLS takes no arguments");
	return;
    }
    if (imapd_tls_ctx == NULL || s->tls) {
	imapd_bad(s, s->tls ? "TLS is already active" : "TLS support isn't enabled");
	return;
    }
    imapd_send(s, "%s OK Begin TLS negotiation now.\r\n", s->tag);
    imapd_flush(s);
    vstring_reset(imapd_inbuf);
    imapd_inpos = 0;
    if ((imapd_tls = tls_server_start(s->client, imapd_tls_ctx, (int) var_login_timeout,
				      s->rip, s->rip, &err)) == NULL) {
	s->state = IMAPD_LOGOUT;
	vstring_reset(imapd_tagged);
	vstring_set(imapd_tagged, "");
	vstring_reset(s->out);
	s->tag = NULL;
	return;
    }
    s->tls = s->secured = true;
    vstring_set(imapd_tagged, " ");	/* reply already sent */
}

/* imapd_mailbox_arg - a mailbox argument (modified UTF-7 on the wire) as
 * UTF-8; -1 after a BAD reply */
int     imapd_mailbox_arg(IMAPD_SESSION *s, const IMAP_ARG *arg, VSTRING *name)
{
    const char *str = imap_arg_astring(arg);

    vstring_reset(name);
    if (str == NULL) {
	imapd_bad(s, "Invalid mailbox name");
	return -1;
    }
    if (strcasecmp(str, "INBOX") == 0) {
	vstring_set(name, "INBOX");
	return 0;
    }
    if (imap_utf7_to_utf8(str, strlen(str), name) < 0) {
	imapd_no(s, "[CANNOT] Mailbox name is not valid modified UTF-7");
	return -1;
    }
    return 0;
}

/* imapd_quote_mailbox - append a UTF-8 mailbox name as a wire string */
void    imapd_quote_mailbox(VSTRING *out, const char *utf8)
{
    VSTRING *enc = vstring_alloc(64);

    if (imap_utf8_to_utf7(utf8, strlen(utf8), enc) < 0)
	vstring_set(enc, utf8);
    imap_quote(out, STR(enc), LEN(enc));
    vstring_free(&enc);
}

/* imapd_close_folder - forget the selected mailbox */
void    imapd_close_folder(IMAPD_SESSION *s)
{
    if (s->folder)
	mstore_folder_close(&s->folder);
    s->exists = 0;
    s->readonly = false;
    if (s->state == IMAPD_SELECTED)
	s->state = IMAPD_AUTH;
}

/* imapd_flags_format - "(\Seen kw ...)" of a message */
void    imapd_flags_format(VSTRING *out, const MSTORE_VIEW *view, const MSTORE_MSG *m)
{
    static const struct {
	uint32_t bit;
	const char *name;
    }       names[] = {
	{MSTORE_SEEN, "\\Seen"}, {MSTORE_ANSWERED, "\\Answered"},
	{MSTORE_FLAGGED, "\\Flagged"}, {MSTORE_DELETED, "\\Deleted"},
	{MSTORE_DRAFT, "\\Draft"},
    };
    bool    first = true;

    vstring_addch(out, '(');
    for (size_t i = 0; i < PH_ARRAY_LEN(names); i++) {
	if (m->flags & names[i].bit) {
	    vstring_fmt_append(out, "%s%s", first ? "" : " ", names[i].name);
	    first = false;
	}
    }
    if (m->recent) {
	vstring_fmt_append(out, "%s\\Recent", first ? "" : " ");
	first = false;
    }
    for (unsigned k = 0; k < view->keyword_count && k < 32; k++) {
	if (m->keywords & (1u << k)) {
	    vstring_fmt_append(out, "%s%s", first ? "" : " ", view->keywords[k]);
	    first = false;
	}
    }
    vstring_addch(out, ')');
}

/* imapd_permanent_flags - FLAGS and PERMANENTFLAGS of the folder */
void    imapd_permanent_flags(IMAPD_SESSION *s)
{
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);
    VSTRING *kw = vstring_alloc(64);

    for (unsigned k = 0; k < v->keyword_count; k++)
	vstring_fmt_append(kw, " %s", v->keywords[k]);
    imapd_send(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s)\r\n", STR(kw));
    if (s->readonly)
	imapd_send(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
    else
	imapd_send(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s)]"
		   " Flags permitted.\r\n", STR(kw),
		   v->keyword_count < MSTORE_KEYWORDS_MAX ? " \\*" : "");
    vstring_free(&kw);
}

/* imapd_flags_parse - a flag list (or one flag) into bits and keyword
 * names; -1 after a BAD reply */
int     imapd_flags_parse(IMAPD_SESSION *s, const IMAP_ARG *arg, uint32_t *flags_r,
			  ARGV *keywords)
{
    static const struct {
	const char *name;
	uint32_t bit;
    }       names[] = {
	{"\\Seen", MSTORE_SEEN}, {"\\Answered", MSTORE_ANSWERED},
	{"\\Flagged", MSTORE_FLAGGED}, {"\\Deleted", MSTORE_DELETED},
	{"\\Draft", MSTORE_DRAFT},
    };
    const IMAP_ARG *list = arg;
    size_t  n = 1;

    if (arg->type == IMAP_ARG_LIST) {
	list = arg->list;
	n = arg->len;
    }
    *flags_r = 0;
    for (size_t i = 0; i < n; i++) {
	const char *f = list[i].str;
	size_t  k;

	if (list[i].type != IMAP_ARG_ATOM) {
	    imapd_bad(s, "Invalid flag");
	    return -1;
	}
	if (f[0] == '\\') {
	    for (k = 0; k < PH_ARRAY_LEN(names); k++)
		if (strcasecmp(f, names[k].name) == 0)
		    break;
	    if (k == PH_ARRAY_LEN(names)) {
		if (strcasecmp(f, "\\Recent") == 0)
		    continue;		/* not settable: ignored */
		imapd_bad(s, "Invalid system flag %s", f);
		return -1;
	    }
	    *flags_r |= names[k].bit;
	    continue;
	}
	for (const char *p = f; *p; p++) {
	    if (strchr("()]{%*\"\\", *p) || (unsigned char) *p <= 0x20
		|| (unsigned char) *p >= 0x7f) {
		imapd_bad(s, "Invalid keyword");
		return -1;
	    }
	}
	argv_add(keywords, f, (char *) 0);
    }
    return 0;
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
"Sep", "Oct", "Nov", "Dec"};

/* imapd_date_parse - "d-Mon-yyyy" or "dd-Mon-yyyy hh:mm:ss +zzzz" */
int     imapd_date_parse(const char *text, bool with_time, time_t *when_r)
{
    struct tm tm;
    int     day = 0, year = 0, h = 0, m = 0, sec = 0, zone = 0, mon;
    const char *p = text;

    memset(&tm, 0, sizeof(tm));
    while (*p == ' ')
	p++;
    if (!isdigit((unsigned char) *p))
	return -1;
    while (isdigit((unsigned char) *p) && day < 100)
	day = day * 10 + (*p++ - '0');
    if (*p++ != '-')
	return -1;
    for (mon = 0; mon < 12; mon++)
	if (strncasecmp(p, months[mon], 3) == 0)
	    break;
    if (mon == 12 || p[3] != '-')
	return -1;
    p += 4;
    for (int i = 0; i < 4; i++) {
	if (!isdigit((unsigned char) *p))
	    return -1;
	year = year * 10 + (*p++ - '0');
    }
    if (day < 1 || day > 31 || year < 1900)
	return -1;
    if (with_time) {
	int     sign;

	if (sscanf(p, " %2d:%2d:%2d", &h, &m, &sec) != 3)
	    return -1;
	p = strchr(p, ':') + 6;
	if (*p++ != ' ' || (*p != '+' && *p != '-'))
	    return -1;
	sign = *p++ == '-' ? -1 : 1;
	for (int i = 0; i < 4; i++) {
	    if (!isdigit((unsigned char) *p))
		return -1;
	    zone = zone * 10 + (*p++ - '0');
	}
	if (h > 23 || m > 59 || sec > 60)
	    return -1;
	zone = sign * ((zone / 100) * 3600 + (zone % 100) * 60);
    }
    if (*p != 0)
	return -1;
    tm.tm_mday = day;
    tm.tm_mon = mon;
    tm.tm_year = year - 1900;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    *when_r = timegm(&tm) - zone;
    return 0;
}

/* imapd_date_format - INTERNALDATE text (UTC) */
void    imapd_date_format(VSTRING *out, time_t when)
{
    struct tm tm;

    gmtime_r(&when, &tm);
    vstring_fmt_append(out, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
		       months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* imapd_vanished - "* VANISHED [(EARLIER)] uids" when QRESYNC is on
 * (uids sorted); nothing otherwise or for an empty list */
void    imapd_vanished(IMAPD_SESSION *s, const MSTORE_UIDS *uids, bool earlier)
{
    VSTRING *set;

    if ((!s->qresync && !earlier) || uids->len == 0)
	return;
    set = vstring_alloc(64);
    imap_seqset_format(set, uids);
    imapd_send(s, "* VANISHED %s%s\r\n", earlier ? "(EARLIER) " : "", STR(set));
    vstring_free(&set);
}

/* imapd_updates - tell the client what changed in the selected mailbox */
void    imapd_updates(IMAPD_SESSION *s, bool allow_expunge)
{
    MSTORE_UIDS expunged = {0}, changed = {0};
    MSTORE_UIDS old = {0};
    const MSTORE_VIEW *v;
    const char *err;

    if (s->folder == NULL)
	return;
    if (!allow_expunge)
	return;				/* FETCH/STORE/SEARCH: next command */
    v = mstore_folder_view(s->folder);
    for (uint32_t i = 0; i < v->count; i++)
	mstore_uids_add(&old, v->msgs[i].uid);
    if (mstore_folder_refresh(s->folder, &expunged, &changed, &err) < 0) {
	msg_warn("%s: refresh %s: %s", s->user, mstore_folder_name(s->folder), err);
	goto out;
    }
    /* EXPUNGE, highest sequence first so earlier numbers stay right */
    for (size_t i = expunged.len; i-- > 0;) {
	size_t  lo = 0, hi = old.len;

	while (lo < hi) {
	    size_t  mid = (lo + hi) / 2;

	    if (old.uids[mid] < expunged.uids[i])
		lo = mid + 1;
	    else
		hi = mid;
	}
	if (lo < old.len && old.uids[lo] == expunged.uids[i] && lo < s->exists) {
	    if (!s->qresync)
		imapd_send(s, "* %zu EXPUNGE\r\n", lo + 1);
	    s->exists--;
	}
    }
    imapd_vanished(s, &expunged, false);
    v = mstore_folder_view(s->folder);
    if (v->count != s->exists) {
	s->exists = v->count;
	imapd_send(s, "* %u EXISTS\r\n* %u RECENT\r\n", v->count, v->recent);
    }
    for (size_t i = 0; i < changed.len; i++) {
	uint32_t seq = mstore_folder_seq(s->folder, changed.uids[i]);
	VSTRING *f = vstring_alloc(64);

	if (seq == 0)
	    continue;
	imapd_flags_format(f, v, &v->msgs[seq - 1]);
	imapd_send(s, "* %u FETCH (UID %u FLAGS %s", seq, changed.uids[i], STR(f));
	if (s->condstore)
	    imapd_send(s, " MODSEQ (%llu)", (unsigned long long) v->msgs[seq - 1].modseq);
	imapd_send(s, ")\r\n");
	vstring_free(&f);
    }
out:
    mstore_uids_free(&expunged);
    mstore_uids_free(&changed);
    mstore_uids_free(&old);
}

/* imapd_read - the next command (or line in line mode): DONE, ERROR,
 * FATAL, or -1 at EOF/timeout. Sends "+" for synchronizing literals. */
static int imapd_read(IMAPD_SESSION *s)
{
    for (;;) {
	if (imapd_inpos < LEN(imapd_inbuf)) {
	    size_t  used;
	    int     r = imap_parser_feed(s->parser, STR(imapd_inbuf) + imapd_inpos,
					 LEN(imapd_inbuf) - imapd_inpos, &used);

	    imapd_inpos += used;
	    if (r == IMAP_PARSE_CONTINUE) {
		imapd_send(s, "+ OK\r\n");
		imapd_flush(s);
		continue;
	    }
	    if (r != IMAP_PARSE_MORE)
		return r;
	}
	imapd_flush(s);
	vstring_reset(imapd_inbuf);
	imapd_inpos = 0;
	stream_set_timeout(s->client, s->state == IMAPD_NOTAUTH ? (int) var_login_timeout
			   : (int) var_imap_autologout);
	ssize_t n = stream_read_some(s->client, vstring_reserve(imapd_inbuf, 16384), 16384);

	if (n <= 0)
	    return -1;
	vstring_commit(imapd_inbuf, (size_t) n);
    }
}

/* imapd_read_line - one raw line (AUTHENTICATE, IDLE); 0 or -1 */
int     imapd_read_line(IMAPD_SESSION *s, VSTRING *line);

int     imapd_read_line(IMAPD_SESSION *s, VSTRING *line)
{
    int     r;

    imap_parser_reset(s->parser);
    imap_parser_set_line_mode(s->parser, true);
    r = imapd_read(s);
    if (r == IMAP_PARSE_DONE)
	vstring_setn(line, imap_parser_cmd(s->parser)->line, imap_parser_cmd(s->parser)->line_len);
    imap_parser_reset(s->parser);
    return r == IMAP_PARSE_DONE ? 0 : -1;
}

/* imapd_leftover - append the client bytes read but not yet parsed */
void    imapd_leftover(IMAPD_SESSION *s, VSTRING *out)
{
    char    buf[4096];

    if (imapd_inpos < LEN(imapd_inbuf))
	vstring_catn(out, STR(imapd_inbuf) + imapd_inpos, LEN(imapd_inbuf) - imapd_inpos);
    while (stream_pending(s->client) > 0 && LEN(out) < 1024 * 1024) {
	ssize_t n = stream_read_some(s->client, buf, sizeof(buf));

	if (n <= 0)
	    break;
	vstring_catn(out, buf, (size_t) n);
    }
}

/* imapd_handover - report a login to the root parent (pre-login child
 * of the split); does not return */
void    imapd_handover(IMAPD_SESSION *s, const char *user, const char *mech)
{
    VSTRING *left = vstring_alloc(256);

    imapd_flush(s);
    imapd_leftover(s, left);
    login_split_handover(s->client, &imapd_tls, s->tag, user, mech, STR(left), LEN(left),
			 (int) var_imap_autologout + 60);
}

/* imapd_input_pending - client bytes already buffered */
bool    imapd_input_pending(IMAPD_SESSION *s);

bool    imapd_input_pending(IMAPD_SESSION *s)
{
    return imapd_inpos < LEN(imapd_inbuf) || stream_pending(s->client) > 0;
}

/* imapd_dispatch - run one parsed command */
static void imapd_dispatch(IMAPD_SESSION *s, const IMAP_CMD *cmd)
{
    const IMAPD_VERB *v;
    int     need;

    s->tag = cmd->tag;
    vstring_reset(imapd_tagged);
    for (v = imapd_verbs; v->name; v++)
	if (strcasecmp(v->name, cmd->name) == 0)
	    break;
    need = s->state == IMAPD_NOTAUTH ? VERB_NOTAUTH
	: s->state == IMAPD_AUTH ? VERB_AUTH : VERB_SELECTED | VERB_AUTH;
    if (v->name == NULL)
	imapd_bad(s, "Unknown command %.40s", cmd->name);
    else if ((v->flags & need) == 0 || (s->state == IMAPD_SELECTED && v->flags == VERB_NOTAUTH)
	     || ((v->flags & VERB_SELECTED) && !(v->flags & VERB_AUTH)
		 && s->state != IMAPD_SELECTED))
	imapd_bad(s, "Command %s is not valid in this state", v->name);
    else {
	s->in_uid = false;
	v->fn(s, cmd->args, cmd->count);
	if (s->state == IMAPD_SELECTED && LEN(imapd_tagged) > 0
	    && strncmp(STR(imapd_tagged) + strlen(s->tag), " BAD", 4) != 0) {
	    bool    no_expunge = (v->flags & VERB_NO_EXPUNGE) && !s->in_uid;

	    imapd_updates(s, !no_expunge);
	}
    }
    /* Cache entries computed by this command: one index transaction. */
    const char *err;

    if (s->store && mstore_cache_flush(s->store, &err) < 0)
	msg_warn("%s: %s", s->user, err);
    if (LEN(imapd_tagged) == 0 && s->state != IMAPD_LOGOUT)
	imapd_bad(s, "Internal error: no reply");
    if (strcmp(STR(imapd_tagged), " ") != 0)
	imapd_send_raw(s, STR(imapd_tagged), LEN(imapd_tagged));
}

/* imapd_run - serve one session on client: from the greeting, or (h not
 * NULL) from a pre-login process's hand-over */
static void imapd_run(STREAM *client, const char *rip, const char *lip, bool loopback,
		      const LOGIN_HANDOVER *h)
{
    IMAPD_SESSION s;
    IMAP_PARSER_LIMITS lim = {
	.max_line = (size_t) var_imap_max_line_length,
	.max_literal = var_imap_literal_limit > 0 ? (size_t) var_imap_literal_limit : (size_t) 1 << 30,
    };
    VSTRING *cap = vstring_alloc(128);

    memset(&s, 0, sizeof(s));
    s.client = client;
    s.parser = imap_parser_create(&lim);
    s.out = vstring_alloc(4096);
    imapd_inbuf = vstring_alloc(16384);
    imapd_tagged = vstring_alloc(256);
    imapd_inpos = 0;
    s.rip = rip;
    s.lip = lip;
    s.secured = loopback;
    if (h != NULL) {
	const char *err;

	s.tls = h->tls;
	s.secured = loopback || h->tls;
	vstring_catn(imapd_inbuf, h->left, h->left_len);
	s.tag = h->tag;
	if (!login_userip_admit("imap-userip", h->user, rip)) {
	    imapd_send(&s, "%s NO [UNAVAILABLE] %s\r\n* BYE Logging out\r\n", h->tag, login_userip_reason());
	    imapd_flush(&s);
	    goto done;
	}
	if (imapd_post_login(&s, h->user, &err) < 0) {
	    msg_warn("%s: login refused: %s", h->user, err);
	    imapd_send(&s, "%s NO [UNAVAILABLE] Internal error occurred. Refer to server log.\r\n"
		       "* BYE Logging out\r\n", h->tag);
	    imapd_flush(&s);
	    goto done;
	}
	msg_info("Login: user=<%s>, method=%s, rip=%s, lip=%s%s", s.user, h->mech, rip, lip,
		 h->tls ? ", TLS" : "");
	imapd_capability(&s, cap);
	imapd_send(&s, "%s OK [CAPABILITY %s] Logged in\r\n", h->tag, STR(cap));
	s.tag = NULL;
	goto loop;
    }
    msg_info("connect from [%s]", rip);
    if (var_imapd_tls_wrappermode) {
	const char *err;

	if ((imapd_tls = tls_server_start(client, imapd_tls_ctx, (int) var_login_timeout,
					  rip, rip, &err)) == NULL)
	    goto done;
	s.tls = s.secured = true;
    }
    imapd_capability(&s, cap);
    imapd_send(&s, "* OK [CAPABILITY %s] %s\r\n", STR(cap), var_login_greeting);
loop:
    while (s.state != IMAPD_LOGOUT) {
	int     r = imapd_read(&s);

	if (r < 0) {
	    if (stream_flags(client) & STREAM_F_TIMEOUT) {
		imapd_send(&s, "* BYE Disconnected for inactivity.\r\n");
		msg_info("%s: disconnected for inactivity from [%s]",
			 s.user ? s.user : "(pre-login)", rip);
	    }
	    break;
	}
	if (r == IMAP_PARSE_DONE) {
	    imapd_dispatch(&s, imap_parser_cmd(s.parser));
	} else if (r == IMAP_PARSE_ERROR) {
	    const char *tag = imap_parser_tag(s.parser);

	    imapd_send(&s, "%s BAD Error in IMAP command: %s\r\n", tag ? tag : "*",
		       imap_parser_error(s.parser));
	    s.bad_count++;
	} else {
	    imapd_send(&s, "* BYE %s\r\n", imap_parser_error(s.parser));
	    break;
	}
	imap_parser_reset(s.parser);
	if (s.bad_count >= IMAPD_MAX_BAD) {
	    imapd_send(&s, "* BYE Too many invalid IMAP commands.\r\n");
	    break;
	}
    }
    imapd_flush(&s);
done:
    if (imapd_tls)
	tls_session_stop(&imapd_tls);
    msg_info("disconnect from [%s]%s%s", rip, s.user ? " user=" : "", s.user ? s.user : "");
    imapd_close_folder(&s);
    if (s.store)
	mstore_close(&s.store);
    imap_parser_free(&s.parser);
    vstring_free(&s.out);
    vstring_free(&imapd_inbuf);
    vstring_free(&imapd_tagged);
    vstring_free(&cap);
    myfree(s.user);
    myfree(s.home);
}

/* imapd_prelogin - the pre-login child's session (login_split) */
static void imapd_prelogin(STREAM *client, void *ctx)
{
    const char *const *addr = ctx;

    imapd_run(client, addr[0], addr[1], addr[2] != NULL, NULL);
}

/* imapd_service - one client connection */
static void imapd_service(STREAM *client, const char *service, char **argv)
{
    char    rip[64], lip[64];
    bool    loopback;

    (void) service;
    (void) argv;
    login_peer_addresses(stream_fd(client), rip, lip, sizeof(rip), &loopback);
    if (geteuid() == 0) {
	const char *addr[3] = {rip, lip, loopback ? "" : NULL};
	LOGIN_HANDOVER *h;
	STREAM *post = login_split(client, imapd_prelogin, addr, &h);

	/* only the privileged parent returns here, after the hand-over */
	if (post != NULL) {
	    imapd_run(post, rip, lip, loopback, h);
	    login_split_done(&post, &h);
	}
	return;
    }
    imapd_run(client, rip, lip, loopback, NULL);
}

/* imapd_pre_init - TLS keys are read before privileges are dropped */
static void imapd_pre_init(const char *service, char **argv)
{
    (void) argv;
    imapd_tls_ctx = login_tls_init(service, "imapd_tls_wrappermode",
				   var_imapd_tls_wrappermode);
}

/* main - the single-server skeleton with the IMAP service */
int     main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {.pre_init = imapd_pre_init, .stay_root = true};

    single_server_main(argc, argv, imapd_service, &opts);
}
