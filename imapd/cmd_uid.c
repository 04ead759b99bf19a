/* cmd_uid - UID FETCH/STORE/COPY/MOVE/SEARCH/EXPUNGE: run the command
 * with UIDs instead of sequence numbers. */
#include "sys_defs.h"

#include <string.h>

#include "imapd.h"

/* cmd_uid - UID prefix */
void    cmd_uid(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    const IMAPD_VERB *v;

    if (count < 1 || args[0].type != IMAP_ARG_ATOM) {
	imapd_bad(s, "UID needs a command");
	return;
    }
    for (v = imapd_verbs; v->name; v++)
	if ((v->flags & VERB_UID) && strcasecmp(v->name, args[0].str) == 0)
	    break;
    if (v->name == NULL) {
	imapd_bad(s, "Unknown UID command %.40s", args[0].str);
	return;
    }
    s->in_uid = true;
    v->fn(s, args + 1, count - 1);
}
