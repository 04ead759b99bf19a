/* imapd.c - the IMAP4rev1 server: verb table, helpers, process entry.
 *
 * Process design: master runs one imapd process per connection
 * (single-server skeleton, master.cf maxproc bounds them). Started as
 * root (stay_root), the process splits (lib/login_split.c): a pre-login
 * child as login_user speaks the not-authenticated state (TLS, greeting,
 * CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE through the auth service, ID,
 * NOOP, LOGOUT) and hands the login to the root parent, which has the
 * auth service confirm it and looks the user up in the userdb. With
 * imapd_client_limit > 1 the root process then passes the session on to
 * the post-login server of the user's uid/gid (imapd_post.c: one process
 * serving up to imapd_client_limit sessions of that uid) and is free for
 * the next connection; otherwise, or when no post-login server can take
 * it, the root process becomes the user's uid/gid for good, serves the
 * mailbox and exits after that session. Started unprivileged, one
 * process does it all as that user (a userdb uid different from ours is
 * logged and served as ours).
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

TLS_SERVER_CTX *imapd_tls_ctx;		/* NULL: no TLS configured */

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

/* imapd_tagged_reply - the tagged reply, held until updates are out */
static void imapd_tagged_reply(IMAPD_SESSION *s, const char *status, const char *fmt,
			       va_list ap)
{
    vstring_fmt(s->tagged, "%s %s ", s->tag ? s->tag : "*", status);
    vstring_vfmt_append(s->tagged, fmt, ap);
    vstring_cat(s->tagged, "\r\n");
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
    vstring_reset(s->inbuf);
    s->inpos = 0;
    if ((s->tls_sess = tls_server_start(s->client, imapd_tls_ctx, (int) var_login_timeout,
					s->rip, s->rip, &err)) == NULL) {
	s->state = IMAPD_LOGOUT;
	vstring_set(s->tagged, " ");	/* nothing more to say */
	vstring_reset(s->out);
	return;
    }
    s->tls = s->secured = true;
    vstring_set(s->tagged, " ");	/* reply already sent */
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

/* imapd_leftover - append the client bytes read but not yet parsed */
void    imapd_leftover(IMAPD_SESSION *s, VSTRING *out)
{
    char    buf[4096];

    if (s->inpos < LEN(s->inbuf))
	vstring_catn(out, STR(s->inbuf) + s->inpos, LEN(s->inbuf) - s->inpos);
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
    login_split_handover(s->client, &s->tls_sess, s->tag, user, mech, STR(left), LEN(left),
			 (int) var_imap_autologout + 60);
}

/* imapd_start_session - the authenticated state of a handed-over login:
 * count it (mail_max_userip_connections), open the storage, log it and
 * send the tagged OK with the capabilities; -1 after NO and BYE (the
 * session is then in LOGOUT) */
int     imapd_start_session(IMAPD_SESSION *s, const char *tag, const char *user,
			    const char *mech, const char *home, const char *location)
{
    VSTRING *cap;
    const char *err;

    if (!login_userip_enter("imap-userip", user, s->rip, &s->userip_key)) {
	imapd_send(s, "%s NO [UNAVAILABLE] %s\r\n* BYE Logging out\r\n", tag,
		   login_userip_reason());
	s->state = IMAPD_LOGOUT;
	return -1;
    }
    if (imapd_open_store(s, user, home, location, &err) < 0) {
	msg_warn("%s: login refused: %s", user, err);
	imapd_send(s, "%s NO " IMAPD_INTERNAL_ERROR "\r\n* BYE Logging out\r\n", tag);
	s->state = IMAPD_LOGOUT;
	return -1;
    }
    msg_info("Login: user=<%s>, method=%s, rip=%s, lip=%s%s", s->user, mech, s->rip, s->lip,
	     s->tls ? ", TLS" : "");
    cap = vstring_alloc(128);
    imapd_capability(s, cap);
    imapd_send(s, "%s OK [CAPABILITY %s] Logged in\r\n", tag, STR(cap));
    vstring_free(&cap);
    return 0;
}

/* imapd_run - serve one session on client: from the greeting, or (h not
 * NULL) from a pre-login process's hand-over with u its userdb data (we
 * already have the user's uid/gid) */
static void imapd_run(STREAM *client, const char *rip, const char *lip, bool loopback,
		      const LOGIN_HANDOVER *h, const AUTH_CLIENT_USER *u)
{
    IMAPD_SESSION *s = imapd_session_create(client, rip, lip, loopback);
    const char *err;

    if (h != NULL) {
	s->tls = h->tls;
	s->secured = loopback || h->tls;
	vstring_catn(s->inbuf, h->left, h->left_len);
	if (imapd_start_session(s, h->tag, h->user, h->mech, LEN(u->home) ? STR(u->home) : NULL,
				login_mail_location(u)) < 0)
	    goto done;
    } else {
	VSTRING *cap = vstring_alloc(128);

	msg_info("connect from [%s]", rip);
	if (var_imapd_tls_wrappermode) {
	    if ((s->tls_sess = tls_server_start(client, imapd_tls_ctx, (int) var_login_timeout,
						rip, rip, &err)) == NULL) {
		vstring_free(&cap);
		goto done;
	    }
	    s->tls = s->secured = true;
	}
	imapd_capability(s, cap);
	imapd_send(s, "* OK [CAPABILITY %s] %s\r\n", STR(cap), var_login_greeting);
	vstring_free(&cap);
    }
    imapd_serve_one(s);
done:
    imapd_flush(s);
    msg_info("disconnect from [%s]%s%s", rip, s->user ? " user=" : "", s->user ? s->user : "");
    imapd_session_free(&s);
}

/* imapd_prelogin - the pre-login child's session (login_split) */
static void imapd_prelogin(STREAM *client, void *ctx)
{
    const char *const *addr = ctx;

    imapd_run(client, addr[0], addr[1], addr[2] != NULL, NULL, NULL);
}

/* imapd_after_login - the root parent after a hand-over: confirm it, then
 * pass the session to a post-login server or serve it as the user */
static void imapd_after_login(STREAM *client, STREAM **postp, LOGIN_HANDOVER **hp,
			      const char *rip, const char *lip, bool loopback)
{
    AUTH_CLIENT_USER *u = auth_client_user_alloc();
    LOGIN_HANDOVER *h = *hp;
    const char *err;

    if (login_split_lookup(h->user, "imap", u, &err) < 0) {
	STREAM *post = *postp;

	msg_warn("%s: login refused: %s", h->user, err);
	stream_printf(post, "%s NO " IMAPD_INTERNAL_ERROR "\r\n* BYE Logging out\r\n", h->tag);
	(void) stream_flush(post);
	auth_client_user_free(&u);
	login_split_done(postp, hp);
	return;
    }
    if (var_imapd_client_limit > 1
	&& imapd_post_handoff(client, *postp, h, u, rip, lip, loopback)) {
	auth_client_user_free(&u);
	login_split_release(postp, hp);
	single_server_detach();
	return;
    }
    login_split_become(u);
    imapd_run(*postp, rip, lip, loopback, h, u);
    auth_client_user_free(&u);
    login_split_done(postp, hp);
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
	if (post != NULL)
	    imapd_after_login(client, &post, &h, rip, lip, loopback);
	return;
    }
    imapd_run(client, rip, lip, loopback, NULL, NULL);
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
