/* cmd_append - APPEND mailbox [(flags)] [date-time] literal, with the
 * UIDPLUS APPENDUID answer. The literal is bounded by the parser
 * (imap_literal_limit = APPENDLIMIT). */
#include "sys_defs.h"

#include <string.h>

#include "argv.h"
#include "imapd.h"
#include "msg.h"

/* cmd_append - APPEND */
void    cmd_append(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *name = vstring_alloc(64);
    ARGV   *kw = argv_alloc(4);
    uint32_t flags = 0, uidv = 0, uid = 0;
    time_t  when = 0;
    size_t  i = 1;
    const char *err;
    MSTORE_APPEND *ap;

    if (count < 2 || count > 4) {
	imapd_bad(s, "Invalid APPEND arguments");
	goto out;
    }
    if (args[i].type == IMAP_ARG_LIST) {
	if (imapd_flags_parse(s, &args[i], &flags, kw) < 0)
	    goto out;
	i++;
    }
    if (i < count - 1) {
	if (args[i].type != IMAP_ARG_QUOTED || imapd_date_parse(args[i].str, true, &when) < 0) {
	    imapd_bad(s, "Invalid date-time");
	    goto out;
	}
	i++;
    }
    if (i != count - 1 || args[i].type != IMAP_ARG_LITERAL) {
	imapd_bad(s, "APPEND needs a message literal");
	goto out;
    }
    if (imapd_mailbox_arg(s, &args[0], name) < 0)
	goto out;
    if (args[i].len == 0) {
	imapd_no(s, "Can't save a zero byte message");
	goto out;
    }
    if ((ap = mstore_append_begin(s->store, STR(name), &err)) == NULL) {
	if (mstore_exists(s->store, STR(name), &err) != 1)
	    imapd_no(s, "[TRYCREATE] Mailbox doesn't exist: %.200s", STR(name));
	else
	    imapd_no_err(s, "SERVERBUG", err);
	goto out;
    }
    if (mstore_append_write(ap, args[i].str, args[i].len, &err) < 0) {
	mstore_append_abort(&ap);
	imapd_no_err(s, "SERVERBUG", err);
	goto out;
    }
    if (mstore_append_finish(&ap, flags, kw->argc ? (const char *const *) kw->argv : NULL,
			     when, &uidv, &uid, &err) < 0) {
	imapd_no_err(s, "SERVERBUG", err);
	goto out;
    }
    imapd_ok(s, "[APPENDUID %u %u] Append completed.", uidv, uid);
out:
    vstring_free(&name);
    argv_free(&kw);
}
