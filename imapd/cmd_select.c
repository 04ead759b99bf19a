/* cmd_select.c - SELECT, EXAMINE (with CONDSTORE), CLOSE, UNSELECT,
 * CHECK, EXPUNGE and UID EXPUNGE. */
#include "sys_defs.h"

#include <string.h>

#include "imapd.h"
#include "msg.h"
#include "mymalloc.h"

/* select_common - SELECT or EXAMINE */
static void select_common(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count, bool readonly)
{
    VSTRING *name = vstring_alloc(64);
    const MSTORE_VIEW *v;
    const char *err;

    if (count < 1 || count > 2 || (count == 2 && args[1].type != IMAP_ARG_LIST)) {
	imapd_bad(s, "Invalid arguments");
	goto out;
    }
    if (count == 2) {
	for (size_t i = 0; i < args[1].len; i++) {
	    if (imap_arg_is_atom(&args[1].list[i], "CONDSTORE"))
		s->condstore = true;
	    else {
		imapd_bad(s, "Unknown SELECT parameter");
		goto out;
	    }
	}
    }
    if (imapd_mailbox_arg(s, &args[0], name) < 0)
	goto out;
    imapd_close_folder(s);
    s->folder = mstore_folder_open(s->store, STR(name), readonly ? MSTORE_OPEN_READONLY : 0, &err);
    if (s->folder == NULL) {
	imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist: %.200s", STR(name));
	goto out;
    }
    s->readonly = readonly;
    s->state = IMAPD_SELECTED;
    v = mstore_folder_view(s->folder);
    s->exists = v->count;
    imapd_permanent_flags(s);
    imapd_send(s, "* %u EXISTS\r\n* %u RECENT\r\n", v->count, v->recent);
    if (v->first_unseen)
	imapd_send(s, "* OK [UNSEEN %u] First unseen.\r\n", v->first_unseen);
    imapd_send(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n* OK [UIDNEXT %u] Predicted next UID\r\n",
	       v->uidvalidity, v->uidnext);
    imapd_send(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n", (unsigned long long) v->highestmodseq);
    imapd_ok(s, "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
	     readonly ? "Examine" : "Select");
out:
    vstring_free(&name);
}

/* cmd_select - SELECT */
void    cmd_select(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    select_common(s, args, count, false);
}

/* cmd_examine - EXAMINE */
void    cmd_examine(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    select_common(s, args, count, true);
}

/* cmd_close - CLOSE: expunge silently unless read-only, then unselect */
void    cmd_close(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    const char *err;

    (void) args;
    if (count != 0) {
	imapd_bad(s, "CLOSE takes no arguments");
	return;
    }
    if (!s->readonly && mstore_expunge(s->folder, NULL, NULL, &err) < 0)
	msg_warn("%s: CLOSE expunge: %s", s->user, err);
    imapd_close_folder(s);
    imapd_ok(s, "Close completed.");
}

/* cmd_unselect - UNSELECT (RFC 3691) */
void    cmd_unselect(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    (void) args;
    if (count != 0) {
	imapd_bad(s, "UNSELECT takes no arguments");
	return;
    }
    imapd_close_folder(s);
    imapd_ok(s, "Unselect completed.");
}

/* cmd_check - CHECK */
void    cmd_check(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    (void) args;
    if (count != 0)
	imapd_bad(s, "CHECK takes no arguments");
    else
	imapd_ok(s, "Check completed.");
}

/* cmd_expunge - EXPUNGE / UID EXPUNGE set */
void    cmd_expunge(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    MSTORE_UIDS set = {0}, gone = {0};
    const char *err;
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);

    if (count != (s->in_uid ? 1u : 0u) || (s->in_uid && args[0].type != IMAP_ARG_ATOM)) {
	imapd_bad(s, "Invalid arguments");
	return;
    }
    if (s->readonly) {
	imapd_no(s, "[READ-ONLY] Mailbox is read-only");
	return;
    }
    if (s->in_uid && imap_seqset_parse(args[0].str, v, true, &set, &err) < 0) {
	imapd_bad(s, "%s", err);
	return;
    }
    /* sequence numbers before the change, sent highest first */
    uint32_t *seqs = NULL;
    size_t  nseq = 0;

    if (s->in_uid && set.len == 0) {
	imapd_ok(s, "Expunge completed.");
	mstore_uids_free(&set);
	return;
    }
    if (mstore_expunge(s->folder, s->in_uid ? &set : NULL, &gone, &err) < 0) {
	imapd_no(s, "[SERVERBUG] Expunge failed: %s", err);
	mstore_uids_free(&set);
	return;
    }
    /* the view no longer holds them: compute the old sequence numbers
     * from the remaining ones (each gone UID's seq = its rank among the
     * remaining + gone UIDs below it + 1) */
    v = mstore_folder_view(s->folder);
    seqs = mymalloc((gone.len + 1) * sizeof(*seqs));
    for (size_t i = 0; i < gone.len; i++) {
	uint32_t below = 0, lo = 0, hi = v->count;

	while (lo < hi) {
	    uint32_t mid = (lo + hi) / 2;

	    if (v->msgs[mid].uid < gone.uids[i])
		lo = mid + 1;
	    else
		hi = mid;
	}
	below = lo;
	seqs[nseq++] = below + (uint32_t) i + 1;
    }
    for (size_t i = nseq; i-- > 0;) {
	imapd_send(s, "* %u EXPUNGE\r\n", seqs[i]);
	if (s->exists > 0)
	    s->exists--;
    }
    myfree(seqs);
    imapd_ok(s, "Expunge completed.");
    mstore_uids_free(&set);
    mstore_uids_free(&gone);
}
