/* pop3_proto.h - POP3 wire helpers shared by pop3d, its tests and fuzz
 * targets: the command line parser, the pop3_uidl_format expander, and the
 * message encoder (LF -> CRLF, dot-stuffing, TOP line limit).
 *
 * Nothing here does I/O or aborts on input: every function takes bytes a
 * client (or a mailbox file) controls and returns an error or a bounded
 * result. Misuse by the caller (NULL pointers) is a panic.
 */
#ifndef POP3_PROTO_H
#define POP3_PROTO_H

#include "sys_defs.h"
#include "vstring.h"

#define POP3_VERB_MAX	8		/* longest keyword accepted (RFC: 3-4) */
#define POP3_ARGS_MAX	4		/* arguments kept at most */
#define POP3_LINE_MAX	4096		/* longest command line (without CRLF) */

/* One parsed command line. args[] point into argbuf; rest into the
 * caller's line. Holds a copy of credentials: the caller wipes it
 * (pop3_cmd_wipe) after PASS/AUTH. */
typedef struct pop3_cmd {
    char    verb[POP3_VERB_MAX + 1];	/* upper case */
    const char *args[POP3_ARGS_MAX];
    int     argc;
    const char *rest;			/* everything after "VERB " verbatim
					 * (PASS: passwords may hold spaces) */
    char    argbuf[POP3_LINE_MAX + 1];
} POP3_CMD;

/* pop3_cmd_parse - split a command line (without CRLF; len bytes, may hold
 * NULs; line[len] must be a NUL) into keyword and space-separated
 * arguments. Returns 0, or -1 with *error_r for an empty line, a line
 * over POP3_LINE_MAX, a NUL or control byte, a keyword that is not
 * 1..POP3_VERB_MAX letters, or more than POP3_ARGS_MAX arguments. */
int     pop3_cmd_parse(const char *line, size_t len, POP3_CMD *cmd, const char **error_r);

/* pop3_cmd_wipe - zero the argument copy (credentials) */
void    pop3_cmd_wipe(POP3_CMD *cmd);

/* pop3_number - a message number or count argument: decimal digits only,
 * 1..max (0 allowed when allow_zero); -1 when invalid */
long    pop3_number(const char *arg, long max, bool allow_zero);

/* pop3_uidl_check - validate a pop3_uidl_format (Dovecot syntax: %u UID,
 * %v UIDVALIDITY, %% a percent sign; an optional zero-padded width and the
 * X (hex) modifier: "%08Xu%08Xv"). -1 with *error_r on anything else, or
 * when the expansion could exceed 70 characters (RFC 1939) or contain a
 * character outside 0x21..0x7e. */
int     pop3_uidl_check(const char *fmt, const char **error_r);

/* pop3_uidl_expand - append the UIDL of (uid, uidvalidity) per a format
 * that passed pop3_uidl_check (hex digits are lower case, as Dovecot) */
void    pop3_uidl_expand(VSTRING *out, const char *fmt, uint32_t uid, uint32_t uidvalidity);

/* The RETR/TOP encoder: message bytes in (LF or CRLF line ends, in any
 * chunking), wire bytes out: CRLF line ends (a CR already before an LF is
 * kept, bare CRs pass unchanged), a '.' doubled at the start of a line.
 * With a line limit (TOP n) it stops after the header, the empty line
 * and n body lines. pop3_enc_finish ends the last line and adds ".\r\n". */
typedef struct pop3_enc {
    bool    bol;			/* at the start of a line */
    bool    cr;				/* previous byte was CR */
    bool    in_body;			/* past the empty line */
    bool    done;			/* line limit reached */
    size_t  line_len;			/* bytes of the current line */
    long    lines_left;			/* body lines still to send; -1: all */
} POP3_ENC;

/* pop3_enc_init - start; body_lines -1 for the whole message (RETR) */
void    pop3_enc_init(POP3_ENC *enc, long body_lines);

/* pop3_enc_feed - encode len bytes of data into out; returns false once
 * the line limit is reached (the rest need not be fed) */
bool    pop3_enc_feed(POP3_ENC *enc, VSTRING *out, const char *data, size_t len);

/* pop3_enc_finish - CRLF when the last line lacks one, then ".\r\n" */
void    pop3_enc_finish(POP3_ENC *enc, VSTRING *out);

#endif
