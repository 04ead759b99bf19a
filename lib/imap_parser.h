/* imap_parser.h - IMAP command assembly and argument tokenizing.
 *
 * Two layers:
 *
 *   1. The assembler (imap_parser_feed) takes bytes as they arrive from the
 *      client and finds where a command ends: lines end in LF (an optional
 *      CR before it is dropped); a line that ends in "{N}" or "{N+}" (not
 *      inside a quoted string) announces a literal of N bytes that follows
 *      the line, after which the command continues on further lines. For a
 *      synchronizing literal ("{N}") the caller must send a continuation
 *      ("+ ...") when feed says IMAP_PARSE_CONTINUE. Literal bytes are
 *      stored apart from the line text, so literals may hold CR, LF,
 *      quotes and parentheses; NUL is refused (RFC 3501 CHAR8).
 *
 *   2. The tokenizer (run when a command is complete, and available alone
 *      as imap_parse_args) turns the line text into a tag, a command name
 *      and a tree of arguments: atoms, quoted strings (only \\ and \"
 *      escapes), literals and parenthesized lists. An atom that contains
 *      '[' runs to the matching ']' whatever is inside (spaces, lists,
 *      quoted strings), then on as an atom: "BODY.PEEK[HEADER.FIELDS
 *      (From To)]<0.100>" is one atom, which FETCH takes apart with
 *      imap_parse_args on the bracket contents. NIL is an atom; see
 *      imap_arg_is_nil.
 *
 * Bounds (IMAP_PARSER_LIMITS): line text of a command (all its lines,
 * without literal bytes), each literal's size, the total of all literal
 * bytes, the list nesting depth and the number of arguments. Exceeding one
 * gives IMAP_PARSE_ERROR with a reason and the rest of the command's line
 * skipped (the caller answers "tag BAD reason" and the session goes on),
 * except a too large non-synchronizing literal, which gives
 * IMAP_PARSE_FATAL (the client sends the bytes anyway: the caller says
 * BYE and disconnects). Memory use is bounded by those limits.
 *
 * Nothing here aborts on input; misuse by the caller (feeding after
 * DONE without imap_parser_reset, NULL handles) is a panic.
 */
#ifndef IMAP_PARSER_H
#define IMAP_PARSER_H

#include "sys_defs.h"
#include "vstring.h"

/* Argument types. */
#define IMAP_ARG_ATOM	 1
#define IMAP_ARG_QUOTED	 2
#define IMAP_ARG_LITERAL 3
#define IMAP_ARG_LIST	 4

typedef struct imap_arg {
    int     type;
    const char *str;		/* NUL-terminated (not for LIST) */
    size_t  len;		/* string length, or number of list items */
    struct imap_arg *list;	/* LIST: the items */
} IMAP_ARG;

typedef struct imap_parser_limits {
    size_t  max_line;		/* line text per command (0: 65536) */
    size_t  max_literal;	/* one literal (0: 64 MiB) */
    size_t  max_literal_total;	/* all literals of a command (0: max_literal) */
    unsigned max_depth;		/* list nesting (0: 32) */
    unsigned max_args;		/* arguments in all lists (0: 10000) */
} IMAP_PARSER_LIMITS;

typedef struct imap_parser IMAP_PARSER;

/* A complete command (valid until the next feed or reset). */
typedef struct imap_cmd {
    const char *tag;
    const char *name;		/* as sent (compare case-insensitively) */
    IMAP_ARG *args;		/* arguments after the name */
    size_t  count;
    const char *line;		/* line mode: the raw line (no CRLF) */
    size_t  line_len;
} IMAP_CMD;

/* Results of imap_parser_feed. */
#define IMAP_PARSE_MORE		0	/* everything consumed; need more */
#define IMAP_PARSE_CONTINUE	1	/* send "+ ..." for a sync literal */
#define IMAP_PARSE_DONE		2	/* imap_parser_cmd is ready */
#define IMAP_PARSE_ERROR	3	/* BAD: imap_parser_error/_tag */
#define IMAP_PARSE_FATAL	4	/* BYE and disconnect */

/* imap_parser_create - a parser with the given limits (NULL: defaults) */
IMAP_PARSER *imap_parser_create(const IMAP_PARSER_LIMITS *limits);

/* imap_parser_free - release; NULLs the pointer */
void imap_parser_free(IMAP_PARSER **pp);

/* imap_parser_feed - consume up to len bytes (*used_r gets how many) and
 * say where the command stands. After DONE, ERROR or FATAL the parser
 * stops consuming until imap_parser_reset. */
int imap_parser_feed(IMAP_PARSER *p, const char *data, size_t len, size_t *used_r);

/* imap_parser_reset - forget the current command (keeps buffers) */
void imap_parser_reset(IMAP_PARSER *p);

/* imap_parser_set_line_mode - when on, the next command is one raw line
 * (AUTHENTICATE responses, IDLE's DONE): DONE gives cmd->line only.
 * Reset by imap_parser_reset. */
void imap_parser_set_line_mode(IMAP_PARSER *p, bool on);

/* imap_parser_cmd - the complete command after DONE */
const IMAP_CMD *imap_parser_cmd(const IMAP_PARSER *p);

/* imap_parser_error - the reason after ERROR or FATAL */
const char *imap_parser_error(const IMAP_PARSER *p);

/* imap_parser_tag - the tag of the failed command, NULL when the line had
 * no valid tag (answer with "*") */
const char *imap_parser_tag(const IMAP_PARSER *p);

/* imap_parser_busy - true when part of a command has been received */
bool imap_parser_busy(const IMAP_PARSER *p);

/* ---- tokenizing alone ---- */

typedef struct imap_args IMAP_ARGS;

/* imap_parse_args - tokenize text (no literals allowed) into a list of
 * arguments; NULL with *error_r (static text) on a syntax error or a
 * limit (depth, count). The result owns copies of all strings. */
IMAP_ARGS *imap_parse_args(const char *text, size_t len, unsigned max_depth,
			   unsigned max_args, const char **error_r);

/* imap_args_list - the top-level arguments */
const IMAP_ARG *imap_args_list(const IMAP_ARGS *args, size_t *count_r);

/* imap_args_free - release; NULLs the pointer */
void imap_args_free(IMAP_ARGS **argsp);

/* ---- argument helpers ---- */

/* imap_arg_is_nil - the atom NIL (any case) */
bool imap_arg_is_nil(const IMAP_ARG *arg);

/* imap_arg_is_atom - an atom equal to word (case-insensitive) */
bool imap_arg_is_atom(const IMAP_ARG *arg, const char *word);

/* imap_arg_astring - atom, quoted or literal: the string, else NULL */
const char *imap_arg_astring(const IMAP_ARG *arg);

/* imap_arg_string - quoted or literal only: the string, else NULL */
const char *imap_arg_string(const IMAP_ARG *arg);

/* imap_quote - append str (len bytes) to out as an IMAP string: a quoted
 * string when it is short and has no CR, LF, NUL, '"' or '\\' that needs
 * more than an escape, else a literal "{N}\r\n..." */
void imap_quote(VSTRING *out, const char *str, size_t len);

/* imap_quote_nstring - as imap_quote, NIL for a NULL str */
void imap_quote_nstring(VSTRING *out, const char *str);

#endif
