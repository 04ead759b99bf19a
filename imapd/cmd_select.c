/* cmd_select.c - SELECT, EXAMINE (with CONDSTORE), CLOSE, UNSELECT,
 * CHECK, EXPUNGE and UID EXPUNGE. */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "msg.h"
#include "mymalloc.h"

/* qresync_cmp - ascending UIDs */
static int qresync_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return x < y ? -1 : x > y;
}

/* What a client remembers: SELECT's QRESYNC parameter (RFC 7162). */
typedef struct qresync {
    uint32_t uidvalidity;
    uint64_t modseq;
    const char *known;		/* known UIDs, or NULL */
} QRESYNC;

/* qresync_parse - (uidvalidity modseq [known-uids [seq-match]]) */
static int qresync_parse(const IMAP_ARG *list, QRESYNC *qr)
{
    char   *end;
    unsigned long long n;

    if (list->len < 2 || list->len > 4 || list->list[0].type != IMAP_ARG_ATOM
	|| list->list[1].type != IMAP_ARG_ATOM)
	return -1;
    n = strtoull(list->list[0].str, &end, 10);
    if (*end || n == 0 || n > UINT32_MAX)
	return -1;
    qr->uidvalidity = (uint32_t) n;
    qr->modseq = strtoull(list->list[1].str, &end, 10);
    if (*end || !isdigit((unsigned char) list->list[1].str[0]))
	return -1;
    if (list->len >= 3) {
	if (list->list[2].type != IMAP_ARG_ATOM)
	    return -1;
	qr->known = list->list[2].str;
    }
    return 0;
}

/* qresync_report - VANISHED (EARLIER) and FETCH for what changed since
 * the client's MODSEQ */
static void qresync_report(IMAPD_SESSION *s, const QRESYNC *qr)
{
    MSTORE_CHANGES ch;
    MSTORE_UIDS gone = {0};
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);
    VSTRING *f = vstring_alloc(64);
    const char *err;

    memset(&ch, 0, sizeof(ch));
    if (mstore_changes_since(s->folder, qr->modseq, &ch, &err) < 0) {
	msg_warn("%s: QRESYNC: %s", s->user, err);
	vstring_free(&f);
	return;
    }
    /* expunged UIDs, limited to the known ones when given */
    if (qr->known) {
	for (size_t i = 0; i < ch.expunged.len; i++)
	    if (imap_seqset_contains(qr->known, ch.expunged.uids[i]))
		mstore_uids_add(&gone, ch.expunged.uids[i]);
    } else
	for (size_t i = 0; i < ch.expunged.len; i++)
	    mstore_uids_add(&gone, ch.expunged.uids[i]);
    qsort(gone.uids, gone.len, sizeof(*gone.uids), qresync_cmp);
    if (ch.expunged_incomplete) {
	/* history lost in an index rebuild: every UID below UIDNEXT that is
	 * not in the view, as ranges (the client ignores unknown ones) */
	VSTRING *set = vstring_alloc(64);
	uint32_t next = 1;

	for (uint32_t i = 0; i <= v->count; i++) {
	    uint32_t upto = i < v->count ? v->msgs[i].uid : v->uidnext;

	    if (upto > next)
		vstring_fmt_append(set, "%s%u%s", LEN(set) ? "," : "", next, "");
	    if (upto > next + 1)
		vstring_fmt_append(set, ":%u", upto - 1);
	    next = upto + 1;
	}
	if (LEN(set))
	    imapd_send(s, "* VANISHED (EARLIER) %s\r\n", STR(set));
	vstring_free(&set);
    } else
	imapd_vanished(s, &gone, true);
    for (size_t i = 0; i < ch.changed.len; i++) {
	uint32_t seq = mstore_folder_seq(s->folder, ch.changed.uids[i]);

	if (seq == 0)
	    continue;
	vstring_reset(f);
	imapd_flags_format(f, v, &v->msgs[seq - 1]);
	imapd_send(s, "* %u FETCH (UID %u FLAGS %s MODSEQ (%llu))\r\n", seq, ch.changed.uids[i],
		   STR(f), (unsigned long long) v->msgs[seq - 1].modseq);
    }
    mstore_changes_free(&ch);
    mstore_uids_free(&gone);
    vstring_free(&f);
}

/* select_common - SELECT or EXAMINE */
static void select_common(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count, bool readonly)
{
    VSTRING *name = vstring_alloc(64);
    const MSTORE_VIEW *v;
    const char *err;
    QRESYNC qr = {0};
    bool    have_qr = false;

    if (count < 1 || count > 2 || (count == 2 && args[1].type != IMAP_ARG_LIST)) {
	imapd_bad(s, "Invalid arguments");
	goto out;
    }
    if (count == 2) {
	for (size_t i = 0; i < args[1].len; i++) {
	    if (imap_arg_is_atom(&args[1].list[i], "CONDSTORE"))
		s->condstore = true;
	    else if (imap_arg_is_atom(&args[1].list[i], "QRESYNC") && s->qresync
		     && i + 1 < args[1].len && args[1].list[i + 1].type == IMAP_ARG_LIST
		     && qresync_parse(&args[1].list[i + 1], &qr) == 0) {
		have_qr = true;
		i++;
	    } else {
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
    if (have_qr && qr.uidvalidity == v->uidvalidity)
	qresync_report(s, &qr);
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
	imapd_no_err(s, "SERVERBUG", err);
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
	if (!s->qresync)
	    imapd_send(s, "* %u EXPUNGE\r\n", seqs[i]);
	if (s->exists > 0)
	    s->exists--;
    }
    imapd_vanished(s, &gone, false);
    myfree(seqs);
    imapd_ok(s, "Expunge completed.");
    mstore_uids_free(&set);
    mstore_uids_free(&gone);
}
