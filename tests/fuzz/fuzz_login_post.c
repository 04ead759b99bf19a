/* fuzz_login_post - a post-login imapd server's parse of the hand-over
 * line a root imapd process sends (login_post_parse) over arbitrary
 * bytes.
 *
 * An accepted line must hold what the server relies on (no tab, CR or
 * LF in a field; tag, user, mech, addresses and mail location not
 * empty; a leftover of at most LOGIN_POST_MAX_LEFT) and must come back
 * byte for byte from login_post_format: the two sides agree on the
 * format.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "login_split.h"
#include "msg.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* field_bad - a field the sender could never have sent */
static bool field_bad(const char *f, bool may_be_empty)
{
    return f == NULL || (!may_be_empty && *f == 0) || strpbrk(f, "\t\r\n") != NULL;
}

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    VSTRING *line, *again;
    LOGIN_POST *p;
    const char *err = NULL;

    if (!init) {
	msg_init("fuzz_login_post", MSG_TO_STDERR);
	init = true;
    }
    line = vstring_alloc(128);
    vstring_catn(line, (const char *) data, size);
    p = login_post_parse(STR(line), &err);
    if (p == NULL) {
	if (err == NULL || *err == 0)
	    abort();
	vstring_free(&line);
	return 0;
    }
    if (field_bad(p->tag, false) || field_bad(p->user, false) || field_bad(p->mech, false)
	|| field_bad(p->rip, false) || field_bad(p->lip, false) || field_bad(p->home, true)
	|| field_bad(p->mail, false) || p->left_len > LOGIN_POST_MAX_LEFT)
	abort();
    again = vstring_alloc(128);
    if (!login_post_format(again, p))
	abort();
    /* the input up to the first NUL, plus the LF the format adds */
    vstring_truncate(line, strlen(STR(line)));
    vstring_addch(line, '\n');
    if (LEN(again) != LEN(line) || memcmp(STR(again), STR(line), LEN(line)) != 0)
	abort();
    login_post_free(&p);
    vstring_free(&again);
    vstring_free(&line);
    return 0;
}
