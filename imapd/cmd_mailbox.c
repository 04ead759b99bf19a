/* cmd_mailbox.c - CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE. */
#include "sys_defs.h"

#include <string.h>

#include "imapd.h"
#include "msg.h"

/* strip_sep - drop one trailing hierarchy separator (CREATE "a/") */
static void strip_sep(IMAPD_SESSION *s, VSTRING *name)
{
    char    sep = mstore_separator(s->store);

    if (LEN(name) > 1 && STR(name)[LEN(name) - 1] == sep)
	vstring_truncate(name, LEN(name) - 1);
}

/* cmd_create - CREATE mailbox */
void    cmd_create(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *name = vstring_alloc(64);
    const char *err;

    if (count != 1)
	imapd_bad(s, "CREATE needs one mailbox name");
    else if (imapd_mailbox_arg(s, &args[0], name) == 0) {
	strip_sep(s, name);
	if (strcasecmp(STR(name), "INBOX") == 0)
	    imapd_no(s, "[ALREADYEXISTS] Mailbox already exists");
	else if (mstore_exists(s->store, STR(name), &err) == 1)
	    imapd_no(s, "[ALREADYEXISTS] Mailbox already exists");
	else if (mstore_create(s->store, STR(name), &err) < 0)
	    imapd_no_err(s, "CANNOT", err);
	else
	    imapd_ok(s, "Create completed.");
    }
    vstring_free(&name);
}

/* cmd_delete - DELETE mailbox */
void    cmd_delete(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *name = vstring_alloc(64);
    const char *err;

    if (count != 1)
	imapd_bad(s, "DELETE needs one mailbox name");
    else if (imapd_mailbox_arg(s, &args[0], name) == 0) {
	if (strcasecmp(STR(name), "INBOX") == 0)
	    imapd_no(s, "[CANNOT] INBOX can't be deleted.");
	else if (mstore_exists(s->store, STR(name), &err) != 1)
	    imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist: %.200s", STR(name));
	else {
	    if (s->folder && strcmp(mstore_folder_name(s->folder), STR(name)) == 0) {
		/* RFC 3501 leaves it open; we close the selection first */
		imapd_close_folder(s);
		imapd_send(s, "* BYE Selected mailbox was deleted\r\n");
		s->state = IMAPD_LOGOUT;
	    }
	    if (mstore_delete(s->store, STR(name), &err) < 0)
		imapd_no_err(s, "CANNOT", err);
	    else
		imapd_ok(s, "Delete completed.");
	}
    }
    vstring_free(&name);
}

/* cmd_rename - RENAME old new */
void    cmd_rename(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *from = vstring_alloc(64), *to = vstring_alloc(64);
    const char *err;

    if (count != 2)
	imapd_bad(s, "RENAME needs two mailbox names");
    else if (imapd_mailbox_arg(s, &args[0], from) == 0
	     && imapd_mailbox_arg(s, &args[1], to) == 0) {
	strip_sep(s, to);
	if (strcasecmp(STR(from), "INBOX") != 0 && mstore_exists(s->store, STR(from), &err) != 1)
	    imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist: %.200s", STR(from));
	else if (strcasecmp(STR(to), "INBOX") == 0 || mstore_exists(s->store, STR(to), &err) == 1)
	    imapd_no(s, "[ALREADYEXISTS] Target mailbox already exists");
	else if (mstore_rename(s->store, STR(from), STR(to), &err) < 0)
	    imapd_no_err(s, "CANNOT", err);
	else
	    imapd_ok(s, "Rename completed.");
    }
    vstring_free(&from);
    vstring_free(&to);
}

/* subscribe_common - SUBSCRIBE / UNSUBSCRIBE */
static void subscribe_common(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count, bool on)
{
    VSTRING *name = vstring_alloc(64);
    const char *err;

    if (count != 1)
	imapd_bad(s, "Needs one mailbox name");
    else if (imapd_mailbox_arg(s, &args[0], name) == 0) {
	if (mstore_subscribe(s->store, STR(name), on, &err) < 0)
	    imapd_no_err(s, "CANNOT", err);
	else
	    imapd_ok(s, "%s completed.", on ? "Subscribe" : "Unsubscribe");
    }
    vstring_free(&name);
}

/* cmd_subscribe - SUBSCRIBE */
void    cmd_subscribe(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    subscribe_common(s, args, count, true);
}

/* cmd_unsubscribe - UNSUBSCRIBE */
void    cmd_unsubscribe(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    subscribe_common(s, args, count, false);
}
