/* smtp_reply.h - SMTP/LMTP server replies as a client reads them.
 *
 * smtp_reply_read() reads one reply, possibly multi-line ("250-a" ...
 * "250 z"), strictly: every line starts with the same three-digit code
 * 1xx..5xx followed by '-', ' ' or the end of the line. Lines longer than
 * SMTP_REPLY_LINE_MAX are cut (the rest is read and dropped); more than
 * SMTP_REPLY_LINES_MAX lines, a bad or changing code, EOF or a timeout
 * give -1. The text is "CODE text text ..." with continuation lines joined
 * by one space and control characters replaced by spaces, ready for logs
 * and DSNs.
 *
 * smtp_reply_dsn() takes the enhanced status code (RFC 3463) after the
 * reply code when its class matches the code's first digit ("550 5.1.1
 * ..." -> "5.1.1"), else the class default 2.0.0 / 4.0.0 / 5.0.0 (and
 * 5.0.0 for the 1xx/3xx codes that have no DSN class).
 */
#ifndef SMTP_REPLY_H
#define SMTP_REPLY_H

#include "sys_defs.h"
#include "argv.h"
#include "stream.h"
#include "vstring.h"

#define SMTP_REPLY_LINE_MAX 2048
#define SMTP_REPLY_LINES_MAX 100

/* smtp_reply_read - one reply: the code (100..599), or -1 */
int smtp_reply_read(STREAM *sp, VSTRING *text);
/* smtp_reply_read_lines - the same; lines (when not NULL) is reset and
 * gets each line's text after "ddd-" (for EHLO keywords), as sent */
int smtp_reply_read_lines(STREAM *sp, VSTRING *text, ARGV *lines);
/* smtp_reply_dsn - the enhanced status code of a reply into dsn[16] */
void smtp_reply_dsn(int code, const char *text, char dsn[16]);

#endif
