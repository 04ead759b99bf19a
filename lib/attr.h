/* attr.h - typed, named, end-marked messages between processes.
 *
 * Wire format of one message (all text, so it can be read in a trace):
 *     name=value\n  ...  \n          (an empty line ends the message)
 * Names are [a-z0-9_] up to ATTR_NAME_MAX bytes. Values are any bytes but
 * NUL; '\n', '\\' and '%' inside values are sent as %0A, %5C, %25 (so a value
 * never spans lines). Integers are decimal, optionally negative.
 *
 * Strict scanning (attr_scan): attributes must arrive in exactly the order
 * given; a missing, unexpected, repeated or malformed attribute, an
 * overlong name/value, more than ATTR_MAX_COUNT attributes, or EOF inside a
 * message is an error (-1, with a reason in *error_r). ATTR_FLAG_MORE allows
 * extra attributes after the listed ones (they are skipped up to the end).
 *
 * Every socket protocol starts with a handshake: the server sends
 *     proto=NAME\nversion=N\n\n
 * and the client checks it with attr_expect_hello().
 */
#ifndef ATTR_H
#define ATTR_H

#include "sys_defs.h"
#include "stream.h"
#include "vstring.h"

#define ATTR_NAME_MAX   64
#define ATTR_VALUE_MAX  (1024 * 1024)
#define ATTR_MAX_COUNT  4096

enum attr_type {
    ATTR_END = 0,	/* terminates the argument list */
    ATTR_STR,		/* print: const char *name, const char *value;
			 * scan: const char *name, VSTRING *value */
    ATTR_INT,		/* print: const char *name, long value;
			 * scan: const char *name, long *value */
    ATTR_OPT_STR,	/* scan only: like ATTR_STR but may be absent (value reset) */
};

#define ATTR_FLAG_NONE 0
#define ATTR_FLAG_MORE (1 << 0)	/* scan: allow (and skip) trailing extras */

/* attr_print - write one message (buffered; call stream_flush). 0 or -1 */
int attr_print(STREAM *sp, ...);
/* attr_scan - read one message strictly (see above). Returns the number of
 * attributes stored, 0 on clean EOF before any byte, -1 on error. */
int attr_scan(STREAM *sp, int flags, const char **error_r, ...);

/* A whole message as a list, for servers that dispatch on a "request"
 * attribute before knowing the rest. */
typedef struct attr_list {
    int     count;
    char  **names;
    VSTRING **values;
    int     size;
} ATTR_LIST;

ATTR_LIST *attr_list_alloc(void);
void attr_list_free(ATTR_LIST **alp);
/* attr_list_scan - read one message of any attributes; same return values */
int attr_list_scan(STREAM *sp, ATTR_LIST *al, const char **error_r);
/* attr_list_get - the value of name, or NULL */
const char *attr_list_get(const ATTR_LIST *al, const char *name);

/* attr_send_hello / attr_expect_hello - protocol handshake; expect returns
 * 0 or -1 with *error_r naming what was wrong (other protocol, version) */
int attr_send_hello(STREAM *sp, const char *proto, int version);
int attr_expect_hello(STREAM *sp, const char *proto, int version, const char **error_r);

#endif
