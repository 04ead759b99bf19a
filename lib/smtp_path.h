/* smtp_path.h - RFC 5321 reverse-path / forward-path parsing, xtext.
 *
 * smtp_path_parse() reads one path at the start of an SMTP command
 * argument ("<user@example.com> SIZE=123") and stops after it, so the
 * caller can go on with the ESMTP parameters. Accepted forms:
 *
 *   <mailbox>          the normal form
 *   <>                 the null path (only with SMTP_PATH_FLAG_NULL_OK)
 *   <@a,@b:mailbox>    a source route: accepted, stripped from ->addr but
 *                      kept in ->given (restrictions see what was sent)
 *   mailbox            without brackets (as Postfix accepts by default),
 *                      unless SMTP_PATH_FLAG_STRICT
 *   <postmaster>       a local part without a domain (SMTP_PATH_FLAG_LOCAL_OK)
 *
 * mailbox = local-part "@" (domain | address-literal); local-part is a
 * dot-string of atext or a quoted string with \-escapes. Bytes >= 0x80 are
 * accepted only with SMTP_PATH_FLAG_UTF8 and must then be valid UTF-8.
 *
 * Limits: local part at most SMTP_PATH_LOCAL_MAX bytes (more liberal than
 * RFC 5321's 64: real senders use long SRS/BATV local parts), domain at
 * most 255 with labels of at most 63, the whole path SMTP_PATH_MAX.
 *
 * Errors: -1 with a short reason in *error_r (static text). Nothing here
 * aborts except a NULL argument (panic).
 */
#ifndef SMTP_PATH_H
#define SMTP_PATH_H

#include "sys_defs.h"
#include "vstring.h"

#define SMTP_PATH_FLAG_NULL_OK  (1 << 0)	/* <> allowed (MAIL FROM) */
#define SMTP_PATH_FLAG_UTF8     (1 << 1)	/* 8-bit (UTF-8) allowed */
#define SMTP_PATH_FLAG_STRICT   (1 << 2)	/* <> brackets required */
#define SMTP_PATH_FLAG_LOCAL_OK (1 << 3)	/* a mailbox without @domain */

#define SMTP_PATH_LOCAL_MAX 256
#define SMTP_PATH_DOMAIN_MAX 255
#define SMTP_PATH_MAX 1024

typedef struct smtp_path {
    VSTRING *given;		/* between the brackets, as sent */
    VSTRING *addr;		/* mailbox without source route; "" = null path */
    bool    is_null;		/* <> */
    bool    has_route;		/* a source route was stripped */
    bool    eightbit;		/* contains bytes >= 0x80 */
    bool    has_domain;		/* addr has "@domain" */
} SMTP_PATH;

/* smtp_path_alloc - empty result holder */
SMTP_PATH *smtp_path_alloc(void);
/* smtp_path_free - release, NULL the caller's pointer */
void smtp_path_free(SMTP_PATH **pathp);

/* smtp_path_parse - parse a path at text (NUL-terminated); on success
 * returns 0 and sets *end_r (may be NULL) to the first byte after the
 * path; else -1 with *error_r. */
int smtp_path_parse(SMTP_PATH *path, const char *text, int flags,
		    const char **end_r, const char **error_r);

/* smtp_path_check_mailbox - validate a bare mailbox (no brackets, no
 * route); 0 or -1 with *error_r */
int smtp_path_check_mailbox(const char *mbox, size_t len, int flags, bool *has_domain_r,
			    const char **error_r);

/* smtp_xtext_decode - RFC 3461 xtext ("+2B" escapes) into out (replaced);
 * 0, or -1 for bad syntax (characters outside 33..126, '=' or a bad
 * escape) */
int smtp_xtext_decode(VSTRING *out, const char *text);
/* smtp_xtext_valid - syntax check only */
bool smtp_xtext_valid(const char *text);

/* smtp_utf8_valid - len bytes are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF) */
bool smtp_utf8_valid(const char *str, size_t len);

#endif
