/* cmd_store - STORE / UID STORE set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT]
 * flags, with CONDSTORE's MODIFIED answer. */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "imapd.h"
#include "msg.h"

/* cmd_store - STORE */
void    cmd_store(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    MSTORE_UIDS set = {0}, failed = {0};
    ARGV   *kw = argv_alloc(4);
    uint32_t flags = 0, kwbits = 0;
    uint64_t unchanged = 0;
    size_t  i = 1;
    const char *item, *err;
    int     mode;
    bool    silent;
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);
    VSTRING *f = vstring_alloc(64);

    if (count < 3) {
	imapd_bad(s, "Invalid STORE arguments");
	goto out;
    }
    if (args[0].type != IMAP_ARG_ATOM || imap_seqset_parse(args[0].str, v, s->in_uid, &set, &err) < 0) {
	imapd_bad(s, "%s", args[0].type == IMAP_ARG_ATOM ? err : "Invalid sequence set");
	goto out;
    }
    if (args[1].type == IMAP_ARG_LIST) {
	if (args[1].len != 2 || !imap_arg_is_atom(&args[1].list[0], "UNCHANGEDSINCE")
	    || args[1].list[1].type != IMAP_ARG_ATOM) {
	    imapd_bad(s, "Invalid STORE modifier");
	    goto out;
	}
	char   *end;

	unchanged = strtoull(args[1].list[1].str, &end, 10);
	if (*end || args[1].list[1].str[0] == '-') {
	    imapd_bad(s, "Invalid UNCHANGEDSINCE");
	    goto out;
	}
	if (unchanged == 0)
	    unchanged = 0;		/* 0: every message with a modseq fails */
	s->condstore = true;
	i++;
    }
    if (count != i + 2 || args[i].type != IMAP_ARG_ATOM) {
	imapd_bad(s, "Invalid STORE arguments");
	goto out;
    }
    item = args[i].str;
    mode = MSTORE_FLAGS_REPLACE;
    if (*item == '+')
	mode = MSTORE_FLAGS_ADD, item++;
    else if (*item == '-')
	mode = MSTORE_FLAGS_REMOVE, item++;
    silent = strcasecmp(item, "FLAGS.SILENT") == 0;
    if (!silent && strcasecmp(item, "FLAGS") != 0) {
	imapd_bad(s, "Invalid STORE item");
	goto out;
    }
    if (imapd_flags_parse(s, &args[i + 1], &flags, kw) < 0)
	goto out;
    if (s->readonly) {
	imapd_no(s, "[READ-ONLY] Mailbox is read-only");
	goto out;
    }
    for (int k = 0; k < kw->argc; k++) {
	int     bit = mstore_keyword_index(s->folder, kw->argv[k], mode != MSTORE_FLAGS_REMOVE, &err);

	if (bit < 0) {
	    if (mode == MSTORE_FLAGS_REMOVE)
		continue;
	    imapd_no_err(s, "LIMIT", err);
	    goto out;
	}
	kwbits |= 1u << bit;
    }
    if (mstore_store_flags(s->folder, &set, mode, flags, kwbits, unchanged, &failed, &err) < 0) {
	imapd_no_err(s, "SERVERBUG", err);
	goto out;
    }
    v = mstore_folder_view(s->folder);
    for (size_t k = 0; k < set.len; k++) {
	uint32_t seq = mstore_folder_seq(s->folder, set.uids[k]);
	bool    was_failed = false;

	for (size_t j = 0; j < failed.len; j++)
	    if (failed.uids[j] == set.uids[k])
		was_failed = true;
	if (seq == 0 || was_failed || (silent && !s->condstore))
	    continue;
	vstring_reset(f);
	if (!silent)
	    imapd_flags_format(f, v, &v->msgs[seq - 1]);
	imapd_send(s, "* %u FETCH (", seq);
	if (s->in_uid)
	    imapd_send(s, "UID %u ", set.uids[k]);
	if (!silent)
	    imapd_send(s, "FLAGS %s%s", STR(f), s->condstore ? " " : "");
	if (s->condstore)
	    imapd_send(s, "MODSEQ (%llu)", (unsigned long long) v->msgs[seq - 1].modseq);
	imapd_send(s, ")\r\n");
    }
    if (failed.len > 0) {
	VSTRING *fs = vstring_alloc(32);

	if (!s->in_uid) {
	    MSTORE_UIDS seqs = {0};

	    for (size_t k = 0; k < failed.len; k++)
		mstore_uids_add(&seqs, mstore_folder_seq(s->folder, failed.uids[k]));
	    imap_seqset_format(fs, &seqs);
	    mstore_uids_free(&seqs);
	} else
	    imap_seqset_format(fs, &failed);
	imapd_ok(s, "[MODIFIED %s] Conditional store failed.", STR(fs));
	vstring_free(&fs);
    } else
	imapd_ok(s, "Store completed.");
out:
    mstore_uids_free(&set);
    mstore_uids_free(&failed);
    argv_free(&kw);
    vstring_free(&f);
}
