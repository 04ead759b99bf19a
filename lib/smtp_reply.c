/* smtp_reply - read SMTP/LMTP server replies strictly and take their
 * enhanced status codes apart.
 *
 * Contract: a reply is one or more lines "ddd-text" ending with "ddd text"
 * (or "ddd" alone); every line must carry the same code. Lines longer than
 * SMTP_REPLY_LINE_MAX are cut, more than SMTP_REPLY_LINES_MAX lines, a bad
 * code, or a changing code is a protocol error (-1), as is EOF or a
 * timeout. The text keeps the code ("250 2.0.0 Ok") with continuation lines
 * joined by one space, control characters replaced by spaces.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "smtp_reply.h"

/* smtp_reply_read - see smtp_reply.h */
int smtp_reply_read(STREAM *sp, VSTRING *text)
{
    return smtp_reply_read_lines(sp, text, NULL);
}

/* smtp_reply_read_lines - see smtp_reply.h */
int smtp_reply_read_lines(STREAM *sp, VSTRING *text, ARGV *lines)
{
    VSTRING *line = vstring_alloc(128);
    int code = -1, nlines = 0, rc;

    vstring_reset(text);
    if (lines)
	argv_truncate(lines, 0);
    for (;;) {
	rc = stream_getline(sp, line, SMTP_REPLY_LINE_MAX, NULL);
	if (rc <= 0 || ++nlines > SMTP_REPLY_LINES_MAX) {
	    code = -1;
	    break;
	}
	vstring_chomp(line);
	const char *s = STR(line);

	if (LEN(line) < 3 || !isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1])
	    || !isdigit((unsigned char) s[2]) || s[0] < '1' || s[0] > '5'
	    || (LEN(line) > 3 && s[3] != ' ' && s[3] != '-')) {
	    code = -1;
	    break;
	}
	int this = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');

	if (code > 0 && this != code) {
	    code = -1;
	    break;
	}
	code = this;
	if (LEN(text) == 0) {
	    vstring_catn(text, s, 3);
	}
	if (lines)
	    argv_add(lines, LEN(line) > 4 ? s + 4 : "", (char *) 0);
	if (LEN(line) > 4) {
	    vstring_addch(text, ' ');
	    for (const char *cp = s + 4; *cp; cp++)
		vstring_addch(text, (unsigned char) *cp < 0x20 || *cp == 0x7f ? ' ' : *cp);
	}
	if (LEN(line) == 3 || s[3] == ' ')
	    break;
    }
    vstring_free(&line);
    return code;
}

/* smtp_reply_dsn - enhanced status code, or the class default */
void smtp_reply_dsn(int code, const char *text, char dsn[16])
{
    const char *cp = text;
    size_t n;
    int cls = code / 100;

    /* Skip "ddd " then look for "c.sss.ddd" whose class matches. */
    if (strlen(cp) > 4)
	cp += 4;
    else
	cp = "";
    n = strspn(cp, "0123456789.");
    if (n >= 5 && n < 16 && (cp[n] == ' ' || cp[n] == 0) && cp[0] - '0' == cls && cp[1] == '.') {
	const char *dot2 = memchr(cp + 2, '.', n - 2);

	if (dot2 && dot2 > cp + 2 && dot2 < cp + n - 1 && memchr(dot2 + 1, '.', (size_t) (cp + n - dot2 - 1)) == NULL) {
	    memcpy(dsn, cp, n);
	    dsn[n] = 0;
	    return;
	}
    }
    ph_strlcpy(dsn, cls == 2 ? "2.0.0" : cls == 4 ? "4.0.0" : "5.0.0", 16);
}
