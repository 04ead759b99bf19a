/* local_forward - ~/.forward files and forwarded copies.
 *
 * Contract: local_dot_forward() tries each forward_path element in turn
 * (expanded by lib/path_expand.c with $home $user $local $domain $extension
 * $recipient $recipient_delimiter, ${name?text} ${name:text}, other names
 * from main.cf; an element that needs an undefined value such as
 * $extension of an address without one is skipped). The first file that
 * exists is read WITH THE USER'S EFFECTIVE PRIVILEGES, without following
 * a symlink, and used only when it is a regular file owned by the user
 * and not writable by group or others (otherwise: a warning and the next
* element). Its targets are expanded with the user's privileges.
 *
 * local_forward_add() collects non-local addresses per (sender,
 * Delivered-To) pair; local_forward_flush() writes each group as ONE new
 * queue file in incoming/ (as mail_owner, so qmgr can take it over; the
 * sender is the original one, or owner-alias), with a Delivered-To:
 * header when prepend_delivered_header has "forward", makes it durable
 * (qfile_writer_finish with sync), wakes qmgr, and only then reports the
 * addresses as "forwarded as ID". A failure defers them (4.3.0).
 *
 * Limits: .forward files over LOCAL_FORWARD_MAX bytes are ignored.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "path_expand.h"
#include "privs.h"
#include "server.h"
#include "target_list.h"
#include "vstring.h"

#include "local.h"

#define LOCAL_FORWARD_MAX (1024 * 1024)

typedef struct {
    const LOCAL_STATE *state;
    const char *local;
    const char *domain;
} LOCAL_PATH_CTX;

/* local_path_value - the value of one $name, NULL when undefined */
static const char *local_path_value(const char *name, size_t len, void *context)
{
    const LOCAL_PATH_CTX *ctx = context;
    const LOCAL_STATE *state = ctx->state;
    static VSTRING *tmp;
    const char *v;

#define IS(s) (strlen(s) == len && strncmp(name, s, len) == 0)
    if (IS("home"))
	return state->home;
    if (IS("user"))
	return state->user;
    if (IS("local"))
	return ctx->local;
    if (IS("domain"))
	return *ctx->domain ? ctx->domain : NULL;
    if (IS("extension"))
	return state->extension && *state->extension ? state->extension : NULL;
    if (IS("recipient"))
	return state->address;
    if (IS("recipient_delimiter"))
	return *var_recipient_delimiter ? var_recipient_delimiter : NULL;
    if (IS("shell") || IS("mailbox"))
	return NULL;
#undef IS
    if (tmp == NULL)
	tmp = vstring_alloc(32);
    vstring_setn(tmp, name, len);
    v = config_lookup(STR(tmp));
    return v && *v ? v : NULL;
}

/* local_expand_attrs - pattern with $home $user ... of the delivery */
int local_expand_attrs(VSTRING *out, const char *pattern, const LOCAL_STATE *state)
{
    VSTRING *local = vstring_alloc(64);
    const char *at = strrchr(state->address, '@');
    LOCAL_PATH_CTX ctx;
    int rc;

    vstring_setn(local, state->address, at ? (size_t) (at - state->address) : strlen(state->address));
    ctx.state = state;
    ctx.local = STR(local);
    ctx.domain = at ? at + 1 : "";
    rc = path_expand(out, pattern, local_path_value, &ctx);
    vstring_free(&local);
    return rc;
}

/* local_forward_read - read one .forward as the user: 1 read, 0 absent/ignored */
static int local_forward_read(const LOCAL_STATE *state, const char *path, uid_t owner,
			      VSTRING *buf)
{
    struct stat st;
    char chunk[8192];
    ssize_t n;
    int fd, rc = 0;

    local_eugid_set(state->uid, state->gid);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
	if (errno != ENOENT && errno != ENOTDIR)
	    msg_warn("cannot open %s: %m (ignored)", path);
	goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
	msg_warn("file %s is not a regular file (ignored)", path);
	goto out;
    }
    if (st.st_uid != owner && !(!local_privileged && st.st_uid == getuid())) {
	msg_warn("file %s has bad owner uid %ld (ignored)", path, (long) st.st_uid);
	goto out;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
	msg_warn("file %s is group or world writable (ignored)", path);
	goto out;
    }
    if (st.st_size > LOCAL_FORWARD_MAX) {
	msg_warn("file %s is larger than %d bytes (ignored)", path, LOCAL_FORWARD_MAX);
	goto out;
    }
    vstring_reset(buf);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && LEN(buf) <= LOCAL_FORWARD_MAX)
	vstring_catn(buf, chunk, (size_t) n);
    if (n < 0)
	msg_warn("read %s: %m (ignored)", path);
    else
	rc = 1;
out:
    if (fd >= 0)
	close(fd);
    local_eugid_root();
    return rc;
}

/* local_dot_forward - the user's .forward: 1 handled, 0 none */
int local_dot_forward(LOCAL_STATE state)
{
    VSTRING *path = vstring_alloc(100), *buf = vstring_alloc(256), *local = vstring_alloc(64);
    const char *at = strrchr(state.address, '@');
    const char *raw = config_lookup_raw("forward_path");
    struct passwd *pw = getpwnam(state.user);
    uid_t owner = pw ? pw->pw_uid : (uid_t) -1;
    ARGV *paths;
    int handled = 0;

    if (raw == NULL || *raw == 0 || pw == NULL)
	goto out_nolist;
    vstring_setn(local, state.address, at ? (size_t) (at - state.address) : strlen(state.address));
    paths = argv_split_list(raw);
    for (int i = 0; i < paths->argc && !handled; i++) {
	ARGV *targets;

	LOCAL_PATH_CTX ctx = {&state, STR(local), at ? at + 1 : ""};

	if (path_expand(path, paths->argv[i], local_path_value, &ctx) != PATH_EXPAND_OK
	    || *STR(path) != '/')
	    continue;
	if (!local_forward_read(&state, STR(path), owner, buf))
	    continue;
	targets = target_list_split(STR(buf));
	if (targets->argc > 0) {
	    LOCAL_STATE fs = state;
	    VSTRING *key = vstring_alloc(100);

	    vstring_fmt(key, "forward:%s", STR(path));
	    if (!local_duplicate(&state, STR(key))) {
		fs.exp_type = LOCAL_EXP_FORWARD;
		fs.exp_from = STR(path);
		fs.delivered = state.address;
		local_expand(fs, STR(buf));
	    }
	    vstring_free(&key);
	    handled = 1;
	}
	argv_free(&targets);
    }
    argv_free(&paths);
out_nolist:
    vstring_free(&path);
    vstring_free(&buf);
    vstring_free(&local);
    return handled;
}

/* local_forward_add - remember a copy for address */
void local_forward_add(const LOCAL_STATE *state, const char *address)
{
    LOCAL_RCPT *lrc = state->lrc;
    const char *delivered = local_delivered_wanted("forward") ? state->delivered : NULL;
    VSTRING *key = vstring_alloc(100);
    LOCAL_FWD *fwd;

    vstring_fmt(key, "fwd:%s", address);
    vstring_lower(key);
    if (local_duplicate(state, STR(key))) {
	vstring_free(&key);
	return;
    }
    vstring_free(&key);
    for (fwd = lrc->fwd; fwd; fwd = fwd->next)
	if (strcmp(fwd->sender, state->sender) == 0
	    && ((fwd->delivered == NULL && delivered == NULL)
		|| (fwd->delivered && delivered && strcasecmp(fwd->delivered, delivered) == 0)))
	    break;
    if (fwd == NULL) {
	fwd = mycalloc(1, sizeof(*fwd));
	fwd->sender = mystrdup(state->sender);
	fwd->delivered = delivered ? mystrdup(delivered) : NULL;
	fwd->rcpts = argv_alloc(2);
	fwd->next = lrc->fwd;
	lrc->fwd = fwd;
    }
    argv_add(fwd->rcpts, address, (char *) 0);
}

/* local_forward_write - one queue file; 0 with id_r, or -1 with *error_r */
static int local_forward_write(const LOCAL_RCPT *lrc, const LOCAL_FWD *fwd, char *id_r,
			       size_t id_len, const char **error_r)
{
    static const char *keep[] = {QFILE_ATTR_BODY, QFILE_ATTR_SMTPUTF8, QFILE_ATTR_DSN_ENVID,
	QFILE_ATTR_DSN_RET};
    const QFILE *qf = lrc->lr->qf;
    QFILE_WRITER *qw;
    char buf[16384];
    off_t off = 0;
    ssize_t n;

    if ((qw = qfile_writer_create(MAIL_QUEUE_INCOMING, MAIL_QUEUE_FILE_MODE, error_r)) == NULL)
	return -1;
    ph_strlcpy(id_r, qfile_writer_id(qw), id_len);
    if (qfile_writer_attr(qw, QFILE_ATTR_ORIGIN, "local", error_r) < 0
	|| qfile_writer_sender(qw, fwd->sender, error_r) < 0)
	goto fail;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
	const char *v = qfile_attr(qf, keep[i]);

	if (v && qfile_writer_attr(qw, keep[i], v, error_r) < 0)
	    goto fail;
    }
    for (int i = 0; i < fwd->rcpts->argc; i++)
	if (qfile_writer_rcpt(qw, fwd->rcpts->argv[i], NULL, 0, error_r) < 0)
	    goto fail;
    if (fwd->delivered) {
	VSTRING *hdr = vstring_alloc(100);
	int rc;

	vstring_fmt(hdr, "Delivered-To: %s\n", fwd->delivered);
	rc = qfile_writer_content(qw, STR(hdr), LEN(hdr), error_r);
	vstring_free(&hdr);
	if (rc < 0)
	    goto fail;
    }
    while ((n = qfile_content_read(qf, off, buf, sizeof(buf))) > 0) {
	if (qfile_writer_content(qw, buf, (size_t) n, error_r) < 0)
	    goto fail;
	off += n;
    }
    if (n < 0) {
	*error_r = "read error on the original queue file";
	goto fail;
    }
    return qfile_writer_finish(&qw, true, error_r);
fail:
    qfile_writer_abort(&qw);
    return -1;
}

/* local_forward_flush - queue and report the collected copies */
void local_forward_flush(LOCAL_RCPT *lrc, const LOCAL_STATE *state)
{
    LOCAL_FWD *fwd, *next;
    bool wrote = false;

    for (fwd = lrc->fwd; fwd; fwd = next) {
	char id[QUEUE_ID_MAX] = "";
	const char *err = NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	int rc;

	next = fwd->next;
	if (local_privileged && privs_lookup(var_mail_owner, &uid, &gid) < 0) {
	    err = "mail_owner is not a known user";
	    rc = -1;
	} else {
	    local_eugid_set(uid, gid);
	    rc = local_forward_write(lrc, fwd, id, sizeof(id), &err);
	    local_eugid_root();
	}
	for (int i = 0; i < fwd->rcpts->argc; i++) {
	    LOCAL_STATE s = *state;

	    s.address = fwd->rcpts->argv[i];
	    if (rc == 0)
		local_result(&s, DEL_STAT_SENT, "2.0.0", "forwarded as %s", id);
	    else
		local_result(&s, DEL_STAT_DEFER, "4.3.0", "cannot forward: %s", err);
	}
	if (rc == 0)
	    wrote = true;
	myfree(fwd->sender);
	if (fwd->delivered)
	    myfree(fwd->delivered);
	argv_free(&fwd->rcpts);
	myfree(fwd);
    }
    lrc->fwd = NULL;
    if (wrote) {
	VSTRING *path = vstring_alloc(100);

	vstring_fmt(path, "%s/%s", var_queue_directory, MAIL_QUEUE_TRIGGER_PATH);
	if (trigger_send(STR(path), "I", 1) < 0)
	    msg_warn("cannot wake up the queue manager at %s: %m", STR(path));
	vstring_free(&path);
    }
}
