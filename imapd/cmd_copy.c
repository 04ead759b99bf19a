/* cmd_copy - COPY and MOVE (RFC 6851), also as UID commands, with the
 * UIDPLUS COPYUID answer. */
#include "sys_defs.h"

#include <string.h>

#include "imapd.h"
#include "msg.h"
#include "mymalloc.h"

/* copy_common - COPY or MOVE */
static void copy_common(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count, bool move)
{
    MSTORE_UIDS set = {0}, src = {0}, dst = {0}, gone = {0};
    VSTRING *name = vstring_alloc(64), *a = vstring_alloc(64), *b = vstring_alloc(64);
    uint32_t uidv = 0;
    const char *err;
    int     r;
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);

    if (count != 2 || args[0].type != IMAP_ARG_ATOM) {
	imapd_bad(s, "Invalid arguments");
	goto out;
    }
    if (imap_seqset_parse(args[0].str, v, s->in_uid, &set, &err) < 0) {
	imapd_bad(s, "%s", err);
	goto out;
    }
    if (imapd_mailbox_arg(s, &args[1], name) < 0)
	goto out;
    if (mstore_exists(s->store, STR(name), &err) != 1) {
	imapd_no(s, "[TRYCREATE] Mailbox doesn't exist: %.200s", STR(name));
	goto out;
    }
    if (move && s->readonly) {
	imapd_no(s, "[READ-ONLY] Mailbox is read-only");
	goto out;
    }
    if (set.len == 0) {
	imapd_ok(s, "No messages found.");
	goto out;
    }
    /* old sequence numbers of what MOVE will take away */
    uint32_t *seqs = mymalloc(set.len * sizeof(*seqs));

    for (size_t i = 0; i < set.len; i++)
	seqs[i] = mstore_folder_seq(s->folder, set.uids[i]);
    r = move ? mstore_move(s->folder, &set, STR(name), &uidv, &src, &dst, &gone, &err)
	: mstore_copy(s->folder, &set, STR(name), &uidv, &src, &dst, &err);
    if (r < 0) {
	myfree(seqs);
	imapd_no_err(s, "SERVERBUG", err);
	goto out;
    }
    imap_seqset_format(a, &src);
    imap_seqset_format(b, &dst);
    if (move) {
	if (src.len)
	    imapd_send(s, "* OK [COPYUID %u %s %s] Moved UIDs.\r\n", uidv, STR(a), STR(b));
	for (size_t i = set.len; i-- > 0;) {
	    bool    removed = false;

	    for (size_t j = 0; j < gone.len; j++)
		if (gone.uids[j] == set.uids[i])
		    removed = true;
	    if (removed && seqs[i]) {
		if (!s->qresync)
		    imapd_send(s, "* %u EXPUNGE\r\n", seqs[i]);
		if (s->exists)
		    s->exists--;
	    }
	}
	imapd_vanished(s, &gone, false);
	imapd_ok(s, "Move completed.");
    } else if (src.len)
	imapd_ok(s, "[COPYUID %u %s %s] Copy completed.", uidv, STR(a), STR(b));
    else
	imapd_ok(s, "Copy completed.");
    myfree(seqs);
out:
    mstore_uids_free(&set);
    mstore_uids_free(&src);
    mstore_uids_free(&dst);
    mstore_uids_free(&gone);
    vstring_free(&name);
    vstring_free(&a);
    vstring_free(&b);
}

/* cmd_copy - COPY */
void    cmd_copy(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    copy_common(s, args, count, false);
}

/* cmd_move - MOVE */
void    cmd_move(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    copy_common(s, args, count, true);
}
