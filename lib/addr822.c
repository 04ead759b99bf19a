/* addr822 - RFC 5322 address-list extraction, local-part (un)quoting.
 *
 * Contract: see addr822.h. Lenient by design: a header value written by
 * anyone gives a list of addresses or nothing, never a crash, and memory
 * bounded by the input length.
 *
 * Method: one pass tokenizes the value (atoms including '.', quoted
 * strings unquoted, domain literals kept with brackets, comments dropped,
 * the specials < > @ , ; : as one-character tokens); a second pass walks
 * the tokens, splitting mailboxes at ',' and ';' outside angle brackets,
 * dropping group display names (tokens before a ':' outside brackets),
 * and taking for each mailbox either what is inside <...> (less a source
 * route) or, without brackets, all of its tokens (an addr-spec).
 */
#include "sys_defs.h"

#include <string.h>

#include "addr822.h"
#include "argv.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define TOK_ATOM   'a'
#define TOK_QUOTED 'q'
#define TOK_LITERAL 'd'

typedef struct addr822_tok {
    int     type;			/* TOK_* or the special character */
    size_t  start;			/* into the token text buffer */
    size_t  len;
} ADDR822_TOK;

/* addr822_is_special - characters that end an atom */
static bool addr822_is_special(int ch)
{
    return ch == '(' || ch == ')' || ch == '<' || ch == '>' || ch == '@'
	|| ch == ',' || ch == ';' || ch == ':' || ch == '\\' || ch == '"'
	|| ch == '[' || ch == ']' || ch == ' ' || ch == '\t' || ch == '\r'
	|| ch == '\n' || ch == 0;
}

/* addr822_tokenize - split text into tokens; token text goes into buf */
static ADDR822_TOK *addr822_tokenize(const char *text, size_t len, VSTRING *buf, int *count_r)
{
    ADDR822_TOK *toks = NULL;
    int     count = 0, alloc = 0;
    size_t  i = 0;

    while (i < len) {
	int     ch = (unsigned char) text[i];
	ADDR822_TOK tok;

	if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == 0) {
	    i++;
	    continue;
	}
	if (ch == '(') {			/* comment, nested, with escapes */
	    int     depth = 0;

	    for (; i < len; i++) {
		if (text[i] == '\\' && i + 1 < len)
		    i++;
		else if (text[i] == '(')
		    depth++;
		else if (text[i] == ')' && --depth == 0) {
		    i++;
		    break;
		}
	    }
	    continue;
	}
	tok.start = LEN(buf);
	if (ch == '"') {
	    tok.type = TOK_QUOTED;
	    for (i++; i < len && text[i] != '"'; i++) {
		if (text[i] == '\\' && i + 1 < len)
		    i++;
		if (text[i] == '\r' || text[i] == '\n')
		    continue;			/* folding inside the quotes */
		vstring_addch(buf, text[i]);
	    }
	    i++;
	} else if (ch == '[') {
	    tok.type = TOK_LITERAL;
	    for (; i < len; i++) {
		if (text[i] == '\\' && i + 1 < len)
		    i++;
		if (text[i] == '\r' || text[i] == '\n' || text[i] == ' ' || text[i] == '\t')
		    continue;
		vstring_addch(buf, text[i]);
		if (text[i] == ']') {
		    i++;
		    break;
		}
	    }
	} else if (strchr("<>@,;:", ch) != NULL) {
	    tok.type = ch;
	    i++;
	} else if (ch == ')' || ch == ']' || ch == '\\') {
	    i++;				/* stray: ignore */
	    continue;
	} else {
	    tok.type = TOK_ATOM;
	    while (i < len && !addr822_is_special((unsigned char) text[i]))
		vstring_addch(buf, text[i++]);
	}
	tok.len = LEN(buf) - tok.start;
	if (count >= alloc) {
	    alloc = alloc ? 2 * alloc : 16;
	    toks = myreallocarray(toks, (size_t) alloc, sizeof(*toks));
	}
	toks[count++] = tok;
    }
    *count_r = count;
    return toks;
}

/* addr822_emit - concatenate tokens [from, to) as an address; append it */
static void addr822_emit(ARGV *list, const ADDR822_TOK *toks, int from, int to,
			 const char *tbuf, int max_addrs, int *added, int *skipped)
{
    VSTRING *addr = vstring_alloc(64);

    for (int i = from; i < to; i++) {
	switch (toks[i].type) {
	case TOK_ATOM:
	case TOK_QUOTED:
	case TOK_LITERAL:
	    vstring_catn(addr, tbuf + toks[i].start, toks[i].len);
	    break;
	case '@':
	    vstring_addch(addr, '@');
	    break;
	default:				/* stray < > : ; dropped */
	    break;
	}
    }
    if (LEN(addr) > 0) {
	if (LEN(addr) > ADDR822_MAX_LEN || *added >= max_addrs)
	    (*skipped)++;
	else {
	    argv_addn(list, STR(addr), LEN(addr));
	    (*added)++;
	}
    }
    vstring_free(&addr);
}

/* addr822_mailbox - one mailbox's tokens [from, to) */
static void addr822_mailbox(ARGV *list, const ADDR822_TOK *toks, int from, int to,
			    const char *tbuf, int max_addrs, int *added, int *skipped)
{
    int     lt = -1, gt = to;

    for (int i = from; i < to; i++) {
	if (toks[i].type == '<') {
	    lt = i;
	    break;
	}
    }
    if (lt < 0) {
	addr822_emit(list, toks, from, to, tbuf, max_addrs, added, skipped);
	return;
    }
    for (int i = lt + 1; i < to; i++) {
	if (toks[i].type == '>') {
	    gt = i;
	    break;
	}
    }
    /* Source route: drop everything up to the last ':' inside <...>. */
    for (int i = gt - 1; i > lt; i--) {
	if (toks[i].type == ':') {
	    lt = i;
	    break;
	}
    }
    addr822_emit(list, toks, lt + 1, gt, tbuf, max_addrs, added, skipped);
}

/* addr822_parse_list - addresses of an address-list header value */
int addr822_parse_list(ARGV *list, const char *text, size_t len, int max_addrs,
		       int *skipped_r)
{
    VSTRING *tbuf = vstring_alloc(len + 1);
    ADDR822_TOK *toks;
    int     count, added = 0, skipped = 0, start = 0, angle = 0;

    if (list == NULL || text == NULL)
	msg_panic("addr822_parse_list: null argument");
    toks = addr822_tokenize(text, len, tbuf, &count);
    for (int i = 0; i <= count; i++) {
	int     type = i < count ? toks[i].type : ',';

	if (type == '<')
	    angle = 1;
	else if (type == '>')
	    angle = 0;
	else if (type == ':' && !angle) {
	    start = i + 1;			/* group display name: drop */
	} else if ((type == ',' || type == ';') && (!angle || i == count)) {
	    addr822_mailbox(list, toks, start, i, STR(tbuf), max_addrs, &added, &skipped);
	    start = i + 1;
	    angle = 0;
	}
    }
    myfree(toks);
    vstring_free(&tbuf);
    if (skipped_r)
	*skipped_r = skipped;
    return added;
}

/* addr822_atext - RFC 5322 atext */
static bool addr822_atext(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
	|| strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL || ch >= 0x80;
}

/* addr822_local_needs_quote - not a dot-atom */
bool addr822_local_needs_quote(const char *local, size_t len)
{
    if (len == 0 || local[0] == '.' || local[len - 1] == '.')
	return true;
    for (size_t i = 0; i < len; i++) {
	int     ch = (unsigned char) local[i];

	if (ch == '.') {
	    if (local[i + 1] == '.')
		return true;
	} else if (ch == 0 || !addr822_atext(ch))
	    return true;
    }
    return false;
}

/* addr822_quote - internal -> external */
const char *addr822_quote(VSTRING *out, const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t  llen = at ? (size_t) (at - addr) : strlen(addr);

    vstring_reset(out);
    if (*addr == 0)
	return STR(out);
    if (addr822_local_needs_quote(addr, llen)) {
	vstring_addch(out, '"');
	for (size_t i = 0; i < llen; i++) {
	    if (addr[i] == '"' || addr[i] == '\\')
		vstring_addch(out, '\\');
	    vstring_addch(out, addr[i]);
	}
	vstring_addch(out, '"');
    } else {
	vstring_catn(out, addr, llen);
    }
    if (at)
	vstring_cat(out, at);
    return STR(out);
}

/* addr822_unquote - external -> internal */
const char *addr822_unquote(VSTRING *out, const char *addr)
{
    bool    quoted = false;

    vstring_reset(out);
    for (const char *cp = addr; *cp; cp++) {
	if (*cp == '"') {
	    quoted = !quoted;
	} else if (*cp == '\\' && quoted && cp[1] != 0) {
	    vstring_addch(out, *++cp);
	} else {
	    vstring_addch(out, *cp);
	}
    }
    return STR(out);
}
