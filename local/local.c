/* local - the local (and virtual) delivery agent.
 *
 * SYNOPSIS: local [-c config_dir] [-n service] ... (started by master:
 * "local unix - n n - - local" and "virtual unix - n n - - local").
 *
 * Contract: serves lib/deliver_request.h requests from qmgr, one client
 * at a time. For each request it opens the queue file READ-ONLY (it never
 * writes it), delivers every recipient, logs each final delivery in
 * Postfix's shape ("ID: to=<a>, orig_to=<b>, relay=local, delay=...,
 * dsn=2.0.0, status=sent (delivered to maildir)") and answers one result
 * per recipient (the worst of its expansion: defer > bounce > sent).
 *
 * Recipients in mydestination: recipient_delimiter extension split;
 * alias_maps (users, remote addresses, |command, /file, :include:,
 * owner-alias); ~/.forward (forward_path); then the mailbox: home_mailbox
 * (Maildir/ or an mbox name) or mail_spool_directory/USER, or
 * mailbox_command. Recipients in virtual_mailbox_domains (or any recipient
 * when the service is named "virtual"): virtual_mailbox_maps under
 * virtual_mailbox_base as the virtual_uid_maps/virtual_gid_maps owner.
 * Remote addresses found in aliases or .forward files are written as ONE
 * new queue file per sender into incoming/ (durable before the original
 * recipient is reported as "forwarded as ID"), and qmgr is triggered.
 *
 * Privileges: as root, the process stays root (SERVER_OPTS.stay_root) and
 * switches its EFFECTIVE uid/gid/groups to the recipient before it opens
 * any file of the user (.forward, Maildir, mbox), returning to root
 * afterwards; deliveries to |commands and /files always run in a forked
 * child that became the owner for real (setgid/setuid). Started by a
 * non-root user (unprivileged instance), everything runs as that user.
 *
 * Loops: a Delivered-To: header naming the address being delivered, or an
 * expansion deeper than LOCAL_MAX_LEVEL, bounces with 5.4.6 "mail
 * forwarding loop"; an address, file or command reached twice within one
 * recipient's expansion is delivered once.
 *
 * Limits: address probes (DEL_REQ_FLAG_VERIFY) are answered by looking
 * the address up (alias, system user, virtual map) without delivering
 * and without reading .forward files; the header scan for Delivered-To: stops after LOCAL_MAX_HEADER
 * bytes.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "config.h"
#include "deliver_request.h"
#include "dict.h"
#include "mail_addr_find.h"
#include "mail_queue.h"
#include "match_list.h"
#include "msg.h"
#include "mymalloc.h"
#include "server.h"

#include "local.h"

bool    local_privileged;
MAPS   *local_alias_maps;

static MATCH_LIST *local_mydest;
static MATCH_LIST *local_vdomains;

/* local_rank - severity order of results (defer > bounce > sent) */
static int local_rank(int status)
{
    switch (status) {
    case DEL_STAT_DEFER:
	return 3;
    case DEL_STAT_BOUNCE:
	return 2;
    case DEL_STAT_SENT:
    case DEL_STAT_DISCARD:
	return 1;
    default:
	return 0;
    }
}

/* local_result - log one delivery, merge it into the recipient's result */
void local_result(const LOCAL_STATE *state, int status, const char *dsn, const char *fmt, ...)
{
    LOCAL_RCPT *lrc = state->lrc;
    DELIVER_RCPT r = *lrc->rcpt;
    VSTRING *text = vstring_alloc(100);
    va_list ap;

    va_start(ap, fmt);
    vstring_vfmt_append(text, fmt, ap);
    va_end(ap);
    r.address = (char *) state->address;
    r.orig_address = *lrc->rcpt->orig_address ? lrc->rcpt->orig_address : lrc->rcpt->address;
    deliver_log(lrc->lr->req, &r, lrc->lr->virtual_service ? "virtual" : "local", 0,
		status, dsn, STR(text));
    if (local_rank(status) > local_rank(lrc->status)) {
	lrc->status = status;
	ph_strlcpy(lrc->dsn, dsn, sizeof(lrc->dsn));
	if (status != DEL_STAT_SENT && strcasecmp(state->address, lrc->rcpt->address) != 0)
	    vstring_fmt(lrc->reason, "<%s> (expanded from <%s>): %s", state->address,
			lrc->rcpt->address, STR(text));
	else
	    vstring_set(lrc->reason, STR(text));
    }
    vstring_free(&text);
}

/* local_result_why - a mailbox.h failure: 5.x.x bounces, the rest defers */
void local_result_why(const LOCAL_STATE *state, const char *dsn, const char *why)
{
    local_result(state, dsn[0] == '5' ? DEL_STAT_BOUNCE : DEL_STAT_DEFER, dsn, "%s", why);
}

/* local_duplicate - remember key; true when it was seen before */
bool local_duplicate(const LOCAL_STATE *state, const char *key)
{
    HTABLE *dup = state->lrc->dup;

    if (htable_find(dup, key) != NULL)
	return true;
    if (var_duplicate_filter_limit <= 0 || (long) dup->used < var_duplicate_filter_limit)
	htable_enter(dup, key, (void *) 1);
    return false;
}

/* local_delivered_wanted - kind listed in prepend_delivered_header */
bool local_delivered_wanted(const char *kind)
{
    ARGV *av = argv_split_list(var_prepend_delivered_header);
    bool found = false;

    for (int i = 0; i < av->argc; i++)
	if (strcasecmp(av->argv[i], kind) == 0)
	    found = true;
    argv_free(&av);
    return found;
}

/* local_prologue - Return-Path:, X-Original-To:, Delivered-To: */
void local_prologue(VSTRING *buf, const LOCAL_STATE *state, bool with_delivered)
{
    const DELIVER_RCPT *rcpt = state->lrc->rcpt;
    const char *orig = *rcpt->orig_address ? rcpt->orig_address : rcpt->address;

    vstring_fmt(buf, "Return-Path: <%s>\n", state->lrc->lr->req->sender);
    if (strcasecmp(orig, state->address) != 0)
	vstring_fmt_append(buf, "X-Original-To: %s\n", orig);
    if (with_delivered)
	vstring_fmt_append(buf, "Delivered-To: %s\n",
			   state->delivered ? state->delivered : state->address);
}

/* local_src - the message source for mailbox.h */
void local_src(MAILBOX_SRC *src, const LOCAL_STATE *state, const VSTRING *prologue)
{
    const QFILE *qf = state->lrc->lr->qf;

    memset(src, 0, sizeof(*src));
    src->prologue = prologue ? STR(prologue) : "";
    src->prologue_len = prologue ? LEN(prologue) : 0;
    src->fd = qf->fd;
    src->offset = qf->content_offset;
    src->length = qf->content_size;
    src->sender = state->lrc->lr->req->sender;
    src->arrival = (time_t) state->lrc->lr->req->arrival_sec;
}

/* local_domain_match - one of the domain lists */
static int local_domain_match(MATCH_LIST **listp, const char *param, const char *value,
			      const char *domain, const char **error_r)
{
    if (*listp == NULL) {
	if ((*listp = match_list_create(param, value, MATCH_FLAG_DOMAIN, error_r)) == NULL)
	    return -1;
    }
    return match_list_match(*listp, domain, NULL, error_r);
}

/* local_is_local_domain - domain in mydestination */
int local_is_local_domain(const char *domain, const char **error_r)
{
    if (*domain == 0)
	return 1;
    return local_domain_match(&local_mydest, "mydestination", var_mydestination, domain, error_r);
}

/* local_is_virtual_domain - domain in virtual_mailbox_domains */
int local_is_virtual_domain(const char *domain, const char **error_r)
{
    if (*domain == 0 || *var_virtual_mailbox_domains == 0)
	return 0;
    return local_domain_match(&local_vdomains, "virtual_mailbox_domains",
			      var_virtual_mailbox_domains, domain, error_r);
}

/* local_loop_found - address named by a Delivered-To: header */
static bool local_loop_found(const LOCAL_STATE *state)
{
    const ARGV *dl = state->lrc->lr->delivered;

    for (int i = 0; i < dl->argc; i++)
	if (strcasecmp(dl->argv[i], state->address) == 0)
	    return true;
    return false;
}

/* local_deliver - deliver one address at any expansion level */
void local_deliver(LOCAL_STATE state)
{
    VSTRING *key = vstring_alloc(100), *local = vstring_alloc(64), *user = vstring_alloc(64);
    const char *at = strrchr(state.address, '@');
    const char *domain = at ? at + 1 : "";
    const char *err = NULL;
    struct passwd *pw;
    size_t base_len;
    int rc;

    if (state.level > LOCAL_MAX_LEVEL) {
	local_result(&state, DEL_STAT_BOUNCE, "5.4.6", "mail forwarding loop for %s", state.address);
	goto out;
    }
    if (local_loop_found(&state)) {
	local_result(&state, DEL_STAT_BOUNCE, "5.4.6", "mail forwarding loop for %s", state.address);
	goto out;
    }
    vstring_fmt(key, "rcpt:%s:%d", state.address, state.flags);
    vstring_lower(key);
    if (state.level > 0 && local_duplicate(&state, STR(key)))
	goto out;

    /* Virtual mailbox domains, or everything for the "virtual" service. */
    if (state.lrc->lr->virtual_service) {
	local_virtual(state);
	goto out;
    }
    if ((rc = local_is_local_domain(domain, &err)) < 0) {
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "mydestination lookup failed: %s", err);
	goto out;
    }
    if (rc == 0) {
	if ((rc = local_is_virtual_domain(domain, &err)) < 0) {
	    local_result(&state, DEL_STAT_DEFER, "4.3.0", "virtual_mailbox_domains lookup failed: %s", err);
	    goto out;
	}
	if (rc > 0 && state.level == 0) {
	    local_virtual(state);
	    goto out;
	}
	/* A remote address found in an alias or .forward: a new message. */
	if (state.level > 0 || rc > 0) {
	    local_forward_add(&state, state.address);
	    goto out;
	}
	/* Given to us by qmgr for another domain: deliver by local part. */
    }
    if (at)
	vstring_setn(local, state.address, (size_t) (at - state.address));
    else
	vstring_set(local, state.address);
    vstring_lower(local);
    if (LEN(local) == 0) {
	local_result(&state, DEL_STAT_BOUNCE, "5.1.3", "bad address syntax");
	goto out;
    }
    if (!(state.flags & LOCAL_FLAG_NO_ALIAS) && local_alias(state, STR(local)))
	goto out;

    base_len = mail_addr_find_split(STR(local), var_recipient_delimiter);
    vstring_setn(user, STR(local), base_len);
    state.extension = base_len < LEN(local) ? STR(local) + base_len + 1 : NULL;
    errno = 0;
    if ((pw = getpwnam(STR(user))) == NULL) {
	if (errno != 0 && errno != ENOENT && errno != ESRCH && errno != EBADF && errno != EPERM) {
	    local_result(&state, DEL_STAT_DEFER, "4.3.0", "user lookup for \"%s\" failed: %s",
			 STR(user), strerror(errno));
	} else if (state.owner && state.level > 0) {
	    /* Errors of an owned list go to its owner: let qmgr bounce a
	     * copy sent with the owner as sender. */
	    local_forward_add(&state, state.address);
	} else {
	    local_result(&state, DEL_STAT_BOUNCE, "5.1.1", "unknown user: \"%s\"", STR(user));
	}
	goto out;
    }
    state.user = pw->pw_name;
    state.home = pw->pw_dir;
    state.uid = local_privileged ? pw->pw_uid : getuid();
    state.gid = local_privileged ? pw->pw_gid : getgid();
    state.delivered = state.address;
    state.exp_type = LOCAL_EXP_NONE;
    {
	/* getpwnam's storage is reused by the lookups below: keep a copy. */
	struct passwd copy = *pw;
	char   *name = mystrdup(pw->pw_name), *home = mystrdup(pw->pw_dir);

	copy.pw_name = name;
	copy.pw_dir = home;
	state.user = name;
	state.home = home;
	if ((state.flags & LOCAL_FLAG_NO_FORWARD) || !local_dot_forward(state))
	    local_mailbox(state, &copy);
	myfree(name);
	myfree(home);
    }
out:
    vstring_free(&key);
    vstring_free(&local);
    vstring_free(&user);
}

/* local_scan_headers - collect Delivered-To: values from the header */
static void local_scan_headers(LOCAL_REQUEST *lr)
{
    off_t size = lr->qf->content_size < LOCAL_MAX_HEADER ? lr->qf->content_size : LOCAL_MAX_HEADER;
    char   *buf = mymalloc((size_t) size + 1);
    ssize_t n = 0, got;
    char   *cp, *end, *eol;

    while (n < size && (got = qfile_content_read(lr->qf, n, buf + n, (size_t) (size - n))) > 0)
	n += got;
    buf[n] = 0;
    end = buf + n;
    for (cp = buf; cp < end && *cp != '\n'; cp = eol + 1) {
	if ((eol = memchr(cp, '\n', (size_t) (end - cp))) == NULL)
	    break;
	if ((size_t) (eol - cp) > 13 && strncasecmp(cp, "Delivered-To:", 13) == 0) {
	    char   *v = cp + 13, *e = eol;

	    while (v < e && isspace((unsigned char) *v))
		v++;
	    while (e > v && isspace((unsigned char) e[-1]))
		e--;
	    if (e > v)
		argv_addn(lr->delivered, v, (size_t) (e - v));
	}
    }
    myfree(buf);
}

/* local_probe - address verification: look the address up, deliver nothing */
static void local_probe(LOCAL_RCPT *lrc)
{
    VSTRING *local = vstring_alloc(64);
    const char *addr = lrc->rcpt->address, *at = strrchr(addr, '@');
    const char *value, *err = NULL;
    LOCAL_STATE state;
    int rc;

    memset(&state, 0, sizeof(state));
    state.lrc = lrc;
    state.address = addr;
    if (lrc->lr->virtual_service || (at && local_is_local_domain(at + 1, &err) == 0
				      && local_is_virtual_domain(at + 1, &err) == 1)) {
	rc = local_virtual_known(addr, &err);
    } else {
	vstring_setn(local, addr, at ? (size_t) (at - addr) : strlen(addr));
	vstring_lower(local);
	rc = local_alias_maps ? maps_find(local_alias_maps, STR(local), DICT_LOOKUP_FOLD, &value, &err)
	    : DICT_NOTFOUND;
	if (rc == DICT_NOTFOUND) {
	    vstring_truncate(local, mail_addr_find_split(STR(local), var_recipient_delimiter));
	    rc = getpwnam(STR(local)) ? DICT_FOUND : DICT_NOTFOUND;
	}
    }
    if (rc == DICT_FOUND)
	local_result(&state, DEL_STAT_SENT, "2.0.0", "deliverable address");
    else if (rc == DICT_NOTFOUND)
	local_result(&state, DEL_STAT_BOUNCE, "5.1.1", "unknown user: \"%s\"", addr);
    else
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "address lookup failed: %s", err ? err : "unknown error");
    vstring_free(&local);
}

/* local_service - one qmgr connection: one request */
static void local_service(STREAM *client, const char *service, char **argv)
{
    DELIVER_REQUEST req;
    LOCAL_REQUEST lr;
    const char *err = NULL;
    int rc;

    (void) argv;
    memset(&lr, 0, sizeof(lr));
    if (!deliver_request_accept(client, (int) var_ipc_timeout, &req))
	return;
    dict_refresh();
    lr.req = &req;
    lr.virtual_service = strcmp(service, "virtual") == 0;
    lr.delivered = argv_alloc(4);
    rc = qfile_open(req.queue_name, req.queue_id, QFILE_OPEN_RDONLY, &lr.qf, &err);
    if (rc != QFILE_OK)
	msg_warn("%s: %s", req.queue_id, err);
    else
	local_scan_headers(&lr);

    for (int i = 0; i < req.rcpt_count; i++) {
	LOCAL_RCPT lrc;
	LOCAL_STATE state;

	memset(&lrc, 0, sizeof(lrc));
	lrc.lr = &lr;
	lrc.rcpt = &req.rcpts[i];
	lrc.dup = htable_create(10);
	lrc.status = -1;
	lrc.reason = vstring_alloc(100);
	memset(&state, 0, sizeof(state));
	state.lrc = &lrc;
	state.address = lrc.rcpt->address;
	state.sender = req.sender;
	state.uid = getuid();
	state.gid = getgid();
	if (lr.qf == NULL)
	    local_result(&state, DEL_STAT_DEFER, "4.3.0", "cannot open queue file: %s", err);
	else if (req.flags & DEL_REQ_FLAG_VERIFY)
	    local_probe(&lrc);
	else {
	    local_deliver(state);
	    local_forward_flush(&lrc, &state);
	}
	if (lrc.status < 0)
	    local_result(&state, DEL_STAT_BOUNCE, "5.3.0", "alias or forward expansion gave no recipients");
	if (deliver_result_send(client, lrc.rcpt->index, lrc.status, lrc.dsn, STR(lrc.reason)) < 0)
	    msg_warn("%s: lost connection to queue manager", req.queue_id);
	htable_free(&lrc.dup, NULL);
	vstring_free(&lrc.reason);
    }
    if (deliver_done_send(client, req.rcpt_count) < 0 || stream_flush(client) < 0)
	msg_warn("%s: cannot send results to queue manager", req.queue_id);
    qfile_close(&lr.qf);
    argv_free(&lr.delivered);
    deliver_request_free(&req);
}

/* local_pre_init - open tables while privileged */
static void local_pre_init(const char *service, char **argv)
{
    (void) argv;
    local_privileged = geteuid() == 0;
    if (strcmp(service, "virtual") == 0) {
	/* Log as Postfix's virtual(8) does: posthorn/virtual[pid]. */
	VSTRING *name = vstring_alloc(32);

	vstring_fmt(name, "%s/virtual", var_syslog_name);
	msg_set_name(STR(name));
	vstring_free(&name);
    }
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);
    if (*var_alias_maps)
	local_alias_maps = maps_create("alias_maps", var_alias_maps, DICT_FLAG_FOLD_FIX);
    local_virtual_init();
    signal(SIGPIPE, SIG_IGN);
}

/* main - the parameters and one call into the server skeleton */
int     main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {
	.pre_init = local_pre_init,
	.stay_root = true,
    };

    single_server_main(argc, argv, local_service, &opts);
}
