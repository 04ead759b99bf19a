/* pop3_proto.c - POP3 command parser, UIDL format expansion, message
 * encoder (see pop3_proto.h for the contracts).
 *
 * Limits: a keyword of at most POP3_VERB_MAX letters, POP3_ARGS_MAX
 * arguments; the caller bounds the line length. A UIDL format expands to
 * at most 70 characters (checked once at start-up by pop3_uidl_check).
 * The encoder keeps a few bytes of state, so messages of any size stream
 * through it in chunks.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "msg.h"
#include "pop3_proto.h"

/* pop3_cmd_parse - split a command line into keyword and arguments */
int     pop3_cmd_parse(const char *line, size_t len, POP3_CMD *cmd, const char **error_r)
{
    size_t  i = 0, n = 0;
    char   *buf = cmd->argbuf;

    cmd->argc = 0;
    cmd->verb[0] = 0;
    cmd->rest = line + len;
    if (len > POP3_LINE_MAX) {
	*error_r = "Command line too long";
	return -1;
    }
    for (size_t k = 0; k < len; k++) {
	unsigned char c = (unsigned char) line[k];

	if (c == 0 || (c < 0x20 && c != '\t') || c == 0x7f) {
	    *error_r = "Invalid characters in command";
	    return -1;
	}
    }
    memcpy(buf, line, len);
    buf[len] = 0;
    while (i < len && isalpha((unsigned char) buf[i])) {
	if (n >= POP3_VERB_MAX) {
	    *error_r = "Unknown command";
	    return -1;
	}
	cmd->verb[n++] = (char) toupper((unsigned char) buf[i++]);
    }
    cmd->verb[n] = 0;
    if (n == 0 || (i < len && buf[i] != ' ')) {
	*error_r = len == 0 ? "Empty command" : "Unknown command";
	return -1;
    }
    if (i < len)
	cmd->rest = line + i + 1;
    while (i < len) {
	while (i < len && buf[i] == ' ')
	    buf[i++] = 0;
	if (i >= len)
	    break;
	if (cmd->argc >= POP3_ARGS_MAX) {
	    *error_r = "Too many arguments";
	    return -1;
	}
	cmd->args[cmd->argc++] = buf + i;
	while (i < len && buf[i] != ' ')
	    i++;
    }
    return 0;
}

/* pop3_cmd_wipe - zero the argument copy */
void    pop3_cmd_wipe(POP3_CMD *cmd)
{
    volatile char *p = cmd->argbuf;

    for (size_t i = 0; i < sizeof(cmd->argbuf); i++)
	p[i] = 0;
    cmd->argc = 0;
}

/* pop3_number - a decimal message number in 1..max (or 0..max) */
long    pop3_number(const char *arg, long max, bool allow_zero)
{
    long    v = 0;

    if (arg == NULL || *arg == 0 || strlen(arg) > 10)
	return -1;
    for (const char *p = arg; *p; p++) {
	if (*p < '0' || *p > '9')
	    return -1;
	v = v * 10 + (*p - '0');
    }
    if ((v == 0 && !allow_zero) || v > max)
	return -1;
    return v;
}

/* uidl_spec - parse one %-spec at fmt; returns bytes used or 0 */
static size_t uidl_spec(const char *fmt, int *width_r, bool *hex_r, char *var_r)
{
    const char *p = fmt + 1;
    int     width = 0;

    *hex_r = false;
    if (*p == '%') {
	*var_r = '%';
	*width_r = 0;
	return 2;
    }
    while (*p >= '0' && *p <= '9') {
	width = width * 10 + (*p++ - '0');
	if (width > 20)
	    return 0;
    }
    if (*p == 'X') {
	*hex_r = true;
	p++;
    }
    if (*p != 'u' && *p != 'v')
	return 0;
    *var_r = *p++;
    *width_r = width;
    return (size_t) (p - fmt);
}

/* pop3_uidl_check - validate a UIDL format */
int     pop3_uidl_check(const char *fmt, const char **error_r)
{
    size_t  max = 0;

    if (*fmt == 0) {
	*error_r = "pop3_uidl_format is empty";
	return -1;
    }
    for (const char *p = fmt; *p;) {
	if (*p == '%') {
	    int     width;
	    bool    hex;
	    char    var;
	    size_t  used = uidl_spec(p, &width, &hex, &var);

	    if (used == 0) {
		*error_r = "pop3_uidl_format: unsupported variable (only %u, %v, %% "
		    "with an optional width and X modifier)";
		return -1;
	    }
	    max += var == '%' ? 1 : (size_t) (width > 10 ? width : 10);
	    p += used;
	} else {
	    if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e) {
		*error_r = "pop3_uidl_format: characters must be 0x21..0x7e";
		return -1;
	    }
	    max++;
	    p++;
	}
    }
    if (max > 70) {
	*error_r = "pop3_uidl_format: result may exceed 70 characters";
	return -1;
    }
    return 0;
}

/* pop3_uidl_expand - the UIDL of one message */
void    pop3_uidl_expand(VSTRING *out, const char *fmt, uint32_t uid, uint32_t uidvalidity)
{
    for (const char *p = fmt; *p;) {
	int     width;
	bool    hex;
	char    var;
	size_t  used;

	if (*p != '%' || (used = uidl_spec(p, &width, &hex, &var)) == 0) {
	    vstring_addch(out, *p++);
	    continue;
	}
	p += used;
	if (var == '%')
	    vstring_addch(out, '%');
	else
	    vstring_fmt_append(out, hex ? "%0*x" : "%0*u", width,
			       (unsigned) (var == 'u' ? uid : uidvalidity));
    }
}

/* pop3_enc_init - start encoding a message */
void    pop3_enc_init(POP3_ENC *enc, long body_lines)
{
    memset(enc, 0, sizeof(*enc));
    enc->bol = true;
    enc->lines_left = body_lines;
}

/* pop3_enc_feed - encode a chunk */
bool    pop3_enc_feed(POP3_ENC *enc, VSTRING *out, const char *data, size_t len)
{
    const char *p = data, *end = data + len;

    while (p < end && !enc->done) {
	const char *nl;
	size_t  span;

	if (enc->bol) {
	    if (enc->in_body && enc->lines_left == 0) {
		enc->done = true;
		break;
	    }
	    if (*p == '.')
		vstring_addch(out, '.');
	    enc->bol = false;
	}
	nl = memchr(p, '\n', (size_t) (end - p));
	span = (size_t) ((nl ? nl : end) - p);
	if (span > 0) {
	    vstring_catn(out, p, span);
	    enc->cr = p[span - 1] == '\r';
	    enc->line_len += span;
	    p += span;
	}
	if (nl == NULL)
	    break;
	/* the LF */
	if (!enc->cr)
	    vstring_addch(out, '\r');
	vstring_addch(out, '\n');
	p++;
	if (!enc->in_body) {
	    if (enc->line_len == 0 || (enc->line_len == 1 && enc->cr))
		enc->in_body = true;
	} else if (enc->lines_left > 0)
	    enc->lines_left--;
	enc->bol = true;
	enc->cr = false;
	enc->line_len = 0;
    }
    if (enc->bol && enc->in_body && enc->lines_left == 0)
	enc->done = true;
    return !enc->done;
}

/* pop3_enc_finish - end the message */
void    pop3_enc_finish(POP3_ENC *enc, VSTRING *out)
{
    if (!enc->bol) {
	if (!enc->cr)
	    vstring_addch(out, '\r');
	vstring_addch(out, '\n');
    }
    vstring_cat(out, ".\r\n");
}
