/* cmd_quota - QUOTA (RFC 9208): one quota root "" per user with the
 * STORAGE (KiB) and MESSAGE resources from mstore's usage and the
 * mail_quota limit (no limit: only usage is known, so the list is
 * empty). SETQUOTA is refused: the limit is the administrator's. */
#include "sys_defs.h"

#include <string.h>

#include "imapd.h"

/* quota_line - "* QUOTA "" (...)" */
static int quota_line(IMAPD_SESSION *s)
{
    MSTORE_QUOTA q;
    const char *err;

    if (mstore_quota_get(s->store, &q, &err) < 0) {
	imapd_no_err(s, "SERVERBUG", err);
	return -1;
    }
    if (q.limit_bytes)
	imapd_send(s, "* QUOTA \"\" (STORAGE %llu %llu)\r\n",
		   (unsigned long long) ((q.bytes + 1023) / 1024),
		   (unsigned long long) (q.limit_bytes / 1024));
    else
	imapd_send(s, "* QUOTA \"\" ()\r\n");
    return 0;
}

/* cmd_getquotaroot - GETQUOTAROOT mailbox */
void    cmd_getquotaroot(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *name = vstring_alloc(64), *line = vstring_alloc(64);
    const char *err;

    if (count != 1)
	imapd_bad(s, "GETQUOTAROOT needs a mailbox");
    else if (imapd_mailbox_arg(s, &args[0], name) == 0) {
	if (mstore_exists(s->store, STR(name), &err) != 1)
	    imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist: %.200s", STR(name));
	else {
	    vstring_cat(line, "* QUOTAROOT ");
	    imapd_quote_mailbox(line, STR(name));
	    vstring_cat(line, " \"\"\r\n");
	    imapd_send_raw(s, STR(line), LEN(line));
	    if (quota_line(s) == 0)
		imapd_ok(s, "Getquotaroot completed.");
	}
    }
    vstring_free(&name);
    vstring_free(&line);
}

/* cmd_getquota - GETQUOTA root */
void    cmd_getquota(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    const char *root;

    if (count != 1 || (root = imap_arg_astring(&args[0])) == NULL)
	imapd_bad(s, "GETQUOTA needs a quota root");
    else if (*root != 0)
	imapd_no(s, "[NONEXISTENT] Quota root doesn't exist");
    else if (quota_line(s) == 0)
	imapd_ok(s, "Getquota completed.");
}

/* cmd_setquota - SETQUOTA: not permitted */
void    cmd_setquota(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    (void) args;
    (void) count;
    imapd_no(s, "[NOPERM] Quota is set by the administrator");
}
