/* pop3d_maildrop.c - the post-login part: userdb lookup, the maildrop
 * lock, the session's snapshot of INBOX, and the UPDATE state.
 *
 * The maildrop is the user's INBOX in lib/mstore (Maildir + LMDB index),
 * the same one imapd serves, so UIDLs are derived from IMAP UIDs and
 * UIDVALIDITY (pop3_uidl_format) and stay stable across sessions and
 * protocols. RFC 1939's exclusive access: an flock() on
 * ROOT/posthorn-pop3.lock held for the whole session; a second POP3
 * session gets "[IN-USE]". IMAP sessions do not take it (as with
 * Dovecot), so IMAP can expunge a message a POP3 session still lists: it
 * then fails RETR/TOP with -ERR and is skipped at UPDATE.
 *
 * The message list is fixed at login (RFC 1939: numbers do not change
 * during a session); messages that arrive later are seen by the next
 * session. At QUIT, retrieved messages get \Seen (unless
 * pop3_no_flag_updates), and DELE'd messages are expunged, or, with
 * pop3_deleted_flag, get that keyword and are hidden from later POP3
 * sessions while IMAP still shows them.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "auth_client.h"
#include "config.h"
#include "msg.h"
#include "login_split.h"
#include "mymalloc.h"
#include "pop3d.h"

#define POP3D_LOCK_FILE "posthorn-pop3.lock"

/* pop3d_maildrop_lock - take the POP3 lock of the Maildir root */
static int pop3d_maildrop_lock(POP3D_SESSION *s, const char **error_r)
{
    VSTRING *path = vstring_alloc(128);
    int     fd;

    vstring_fmt(path, "%s/%s", mstore_root(s->store), POP3D_LOCK_FILE);
    fd = open(STR(path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    vstring_free(&path);
    if (fd < 0) {
	*error_r = "cannot open the POP3 lock file";
	msg_warn("open %s/%s: %m", mstore_root(s->store), POP3D_LOCK_FILE);
	return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
	int     e = errno;

	close(fd);
	if (e == EWOULDBLOCK) {
	    *error_r = "[IN-USE] Mailbox is locked by another POP3 session.";
	    return -1;
	}
	*error_r = "cannot lock the maildrop";
	return -1;
    }
    s->lock_fd = fd;
    return 0;
}

/* pop3d_maildrop_snapshot - number the visible messages of the view */
static int pop3d_maildrop_snapshot(POP3D_SESSION *s, const char **error_r)
{
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);
    uint32_t hide = 0;

    if (*var_pop3_deleted_flag) {
	const char *ignored;
	int     k = mstore_keyword_index(s->folder, var_pop3_deleted_flag, false, &ignored);

	if (k >= 0)
	    hide = 1u << k;
    }
    s->uidvalidity = v->uidvalidity;
    s->msgs = mycalloc(v->count ? v->count : 1, sizeof(*s->msgs));
    s->count = 0;
    s->total_size = 0;
    for (uint32_t i = 0; i < v->count; i++) {
	const MSTORE_MSG *m = &v->msgs[i];
	uint64_t size;

	if (m->keywords & hide)
	    continue;
	if (mstore_msg_vsize(s->folder, m->uid, &size, error_r) < 0) {
	    msg_warn("%s: UID %u: %s (not listed)", s->user, m->uid, *error_r);
	    continue;
	}
	s->msgs[s->count].uid = m->uid;
	s->msgs[s->count].size = size;
	s->total_size += size;
	s->count++;
    }
    /* Sizes counted above go to the index in one transaction. */
    const char *err;

    if (mstore_cache_flush(s->store, &err) < 0)
	msg_warn("%s: %s", s->user, err);
    return 0;
}

/* pop3d_maildrop_open - userdb lookup (as root: the switch to the
 * user's uid/gid for good), storage, lock, INBOX snapshot;
 * TRANSACTION state on success. -1 with *error_r (starting with
 * "[IN-USE]" when another POP3 session holds the lock). */
int     pop3d_maildrop_open(POP3D_SESSION *s, const char *user, const char **error_r)
{
    AUTH_CLIENT_USER *u = auth_client_user_alloc();
    MSTORE_SETTINGS set;

    if (login_split_user(user, "pop3", u, error_r) < 0) {
	auth_client_user_free(&u);
	return -1;
    }
    myfree(s->user);
    s->user = mystrdup(user);
    myfree(s->home);
    s->home = LEN(u->home) ? mystrdup(STR(u->home)) : NULL;
    memset(&set, 0, sizeof(set));
    set.location = login_mail_location(u);
    set.home = s->home;
    set.separator = var_imap_hierarchy_separator[0] == '/' ? '/' : '.';
    set.quota = "";
    s->store = mstore_open(&set, error_r);
    auth_client_user_free(&u);
    if (s->store == NULL)
	return -1;
    if (pop3d_maildrop_lock(s, error_r) < 0
	|| (s->folder = mstore_folder_open(s->store, "INBOX", var_pop3_no_flag_updates ?
					   MSTORE_OPEN_NO_RECENT : 0, error_r)) == NULL
	|| pop3d_maildrop_snapshot(s, error_r) < 0) {
	pop3d_maildrop_close(s);
	return -1;
    }
    s->state = POP3D_TRANSACTION;
    s->logged_in = true;
    return 0;
}

/* pop3d_maildrop_update - the UPDATE state: \Seen and deletions */
int     pop3d_maildrop_update(POP3D_SESSION *s, const char **error_r)
{
    MSTORE_UIDS seen = {0}, del = {0}, gone = {0};
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);
    int     ret = 0;

    for (uint32_t i = 0; i < s->count; i++) {
	const POP3D_MSG *m = &s->msgs[i];
	uint32_t seq;

	if (m->deleted) {
	    mstore_uids_add(&del, m->uid);
	} else if (m->retrieved && !var_pop3_no_flag_updates) {
	    seq = mstore_folder_seq(s->folder, m->uid);
	    if (seq && !(v->msgs[seq - 1].flags & MSTORE_SEEN))
		mstore_uids_add(&seen, m->uid);
	}
    }
    if (seen.len && mstore_store_flags(s->folder, &seen, MSTORE_FLAGS_ADD, MSTORE_SEEN, 0,
				       0, NULL, error_r) < 0)
	ret = -1;
    if (ret == 0 && del.len) {
	if (*var_pop3_deleted_flag) {
	    int     k = mstore_keyword_index(s->folder, var_pop3_deleted_flag, true, error_r);

	    if (k < 0 || mstore_store_flags(s->folder, &del, MSTORE_FLAGS_ADD, 0, 1u << k, 0,
					    NULL, error_r) < 0)
		ret = -1;
	    else
		s->expunged = (unsigned) del.len;
	} else if (mstore_store_flags(s->folder, &del, MSTORE_FLAGS_ADD, MSTORE_DELETED, 0, 0,
				      NULL, error_r) < 0
		   || mstore_expunge(s->folder, &del, &gone, error_r) < 0) {
	    ret = -1;
	} else
	    s->expunged = (unsigned) gone.len;
    }
    mstore_uids_free(&seen);
    mstore_uids_free(&del);
    mstore_uids_free(&gone);
    return ret;
}

/* pop3d_maildrop_close - release folder, storage and lock */
void    pop3d_maildrop_close(POP3D_SESSION *s)
{
    if (s->folder)
	mstore_folder_close(&s->folder);
    if (s->store)
	mstore_close(&s->store);
    if (s->lock_fd >= 0) {
	close(s->lock_fd);
	s->lock_fd = -1;
    }
    myfree(s->msgs);
    s->msgs = NULL;
}
