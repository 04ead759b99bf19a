/* imap_parser.c - IMAP command assembly (lines + literals) and tokenizing.
 *
 * Contract: see imap_parser.h. The assembler keeps the command's line
 * text in one buffer, with a '\n' marker where a line that announced a
 * literal ended (a line can hold no LF, so the marker is unambiguous),
 * and each literal's bytes in a buffer of its own. The tokenizer walks
 * the line text and takes the next literal at each "{N}\n" marker.
 * Decoded atoms and quoted strings go into one buffer sized up front
 * (never more than twice the line text), so their pointers stay put.
 *
 * Limits: see IMAP_PARSER_LIMITS. A line being skipped after an error
 * still has its literals honoured: a synchronizing one ends the command
 * (the client waits for a "+" that never comes), a non-synchronizing one
 * is read and thrown away without storing it when it is within the
 * literal limit, else the session must end (FATAL).
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "imap_parser.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define ST_LINE		0	/* collecting line text */
#define ST_LITERAL	1	/* storing literal bytes */
#define ST_SKIP		2	/* discarding a bad line up to LF */
#define ST_SKIP_LIT	3	/* discarding a literal of a bad command */
#define ST_STOPPED	4	/* DONE/ERROR/FATAL given: wait for reset */

struct imap_args {
    IMAP_ARG *list;
    size_t  count;
    char   *strbuf;
};

struct imap_parser {
    IMAP_PARSER_LIMITS lim;
    int     state;
    bool    line_mode;
    VSTRING *text;		/* line text with '\n' literal markers */
    size_t  seg_start;		/* where the current line began in text */
    bool    in_quote, escaped;	/* quoted-string state of the current line */
    VSTRING **lits;		/* literal buffers (reused) */
    size_t  nlits, lits_size;
    size_t  lit_left;		/* bytes still to come for the literal */
    size_t  lit_total;
    bool    lit_nul;		/* the literal held a NUL */
    char    tail[32];		/* last bytes of a skipped line */
    size_t  tail_len;
    const char *error;
    VSTRING *tag;
    bool    have_tag;
    IMAP_CMD cmd;
    IMAP_ARGS args;		/* the tokenized command */
    size_t  strbuf_size;
};

/* Tokenizer state. */
typedef struct tok {
    const char *text;
    size_t  len;
    size_t  pos;
    VSTRING **lits;
    size_t  nlits, lit_next;
    char   *out;		/* decoded strings */
    size_t  out_len;
    unsigned depth, max_depth;
    unsigned nargs, max_args;
    const char *error;
} TOK;

/* imap_parser_create - a parser with limits */
IMAP_PARSER *imap_parser_create(const IMAP_PARSER_LIMITS *limits)
{
    IMAP_PARSER *p = mymalloc(sizeof(*p));

    memset(p, 0, sizeof(*p));
    if (limits)
	p->lim = *limits;
    if (p->lim.max_line == 0)
	p->lim.max_line = 65536;
    if (p->lim.max_literal == 0)
	p->lim.max_literal = 64 * 1024 * 1024;
    if (p->lim.max_literal_total == 0)
	p->lim.max_literal_total = p->lim.max_literal;
    if (p->lim.max_depth == 0)
	p->lim.max_depth = 32;
    if (p->lim.max_args == 0)
	p->lim.max_args = 10000;
    p->text = vstring_alloc(256);
    p->tag = vstring_alloc(32);
    return p;
}

/* imap_arg_list_free - release a list's items recursively */
static void imap_arg_list_free(IMAP_ARG *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
	if (list[i].type == IMAP_ARG_LIST)
	    imap_arg_list_free(list[i].list, list[i].len);
    myfree(list);
}

/* imap_parser_clear_args - drop the tokenized command */
static void imap_parser_clear_args(IMAP_PARSER *p)
{
    if (p->args.list)
	imap_arg_list_free(p->args.list, p->args.count);
    p->args.list = NULL;
    p->args.count = 0;
    memset(&p->cmd, 0, sizeof(p->cmd));
}

/* imap_parser_free - release */
void imap_parser_free(IMAP_PARSER **pp)
{
    IMAP_PARSER *p = *pp;

    if (p == NULL)
	return;
    imap_parser_clear_args(p);
    for (size_t i = 0; i < p->lits_size; i++)
	if (p->lits[i])
	    vstring_free(&p->lits[i]);
    myfree(p->lits);
    myfree(p->args.strbuf);
    vstring_free(&p->text);
    vstring_free(&p->tag);
    myfree(p);
    *pp = NULL;
}

/* imap_parser_reset - forget the current command */
void imap_parser_reset(IMAP_PARSER *p)
{
    imap_parser_clear_args(p);
    vstring_reset(p->text);
    for (size_t i = 0; i < p->nlits; i++) {
	/* do not keep a huge APPEND buffer around in an idle session */
	if (p->lits[i]->size > 65536)
	    vstring_free(&p->lits[i]);
	else
	    vstring_reset(p->lits[i]);
    }
    p->nlits = 0;
    p->state = ST_LINE;
    p->seg_start = 0;
    p->in_quote = p->escaped = false;
    p->lit_left = p->lit_total = 0;
    p->lit_nul = false;
    p->tail_len = 0;
    p->error = NULL;
    p->have_tag = false;
    p->line_mode = false;
    if (p->strbuf_size > 65536 * 2 + 2) {
	myfree(p->args.strbuf);
	p->args.strbuf = NULL;
	p->strbuf_size = 0;
    }
}

/* imap_parser_set_line_mode - next command is one raw line */
void imap_parser_set_line_mode(IMAP_PARSER *p, bool on)
{
    p->line_mode = on;
}

/* imap_parser_cmd - the complete command */
const IMAP_CMD *imap_parser_cmd(const IMAP_PARSER *p)
{
    return &p->cmd;
}

/* imap_parser_error - reason for ERROR/FATAL */
const char *imap_parser_error(const IMAP_PARSER *p)
{
    return p->error ? p->error : "Invalid command";
}

/* imap_parser_tag - tag of the failed command or NULL */
const char *imap_parser_tag(const IMAP_PARSER *p)
{
    return p->have_tag ? STR(p->tag) : NULL;
}

/* imap_parser_busy - part of a command received */
bool imap_parser_busy(const IMAP_PARSER *p)
{
    return p->state != ST_LINE || LEN(p->text) > 0;
}

/* is_tag_char - astring-char except '+' (RFC 3501 tag) */
static bool is_tag_char(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && strchr("(){%*\"\\+", ch) == NULL;
}

/* is_atom_char - what we accept in an atom outside brackets: ATOM-CHAR
 * plus list wildcards, ']' and '\' (flags); 8-bit bytes are let through
 * (commands check what they need) */
static bool is_atom_char(unsigned char ch)
{
    return ch > 0x20 && ch != 0x7f && ch != '(' && ch != ')' && ch != '{'
	&& ch != '"';
}

/* imap_parser_save_tag - remember the tag at the start of the text */
static void imap_parser_save_tag(IMAP_PARSER *p)
{
    const char *s = STR(p->text);
    size_t  n = 0;

    if (p->have_tag)
	return;
    while (n < LEN(p->text) && n < 64 && is_tag_char((unsigned char) s[n]))
	n++;
    if (n > 0 && n < 64 && (n == LEN(p->text) || s[n] == ' ')) {
	vstring_setn(p->tag, s, n);
	p->have_tag = true;
    }
}

/* literal_at_end - parse "{N}" or "{N+}" ending s[0..len); 1 and
 * n_r and sync_r set when found, 0 when not, -1 for a number too big */
static int literal_at_end(const char *s, size_t len, size_t *n_r, bool *sync_r)
{
    size_t  i, end;
    unsigned long long n = 0;

    if (len < 3 || s[len - 1] != '}')
	return 0;
    end = len - 1;
    *sync_r = true;
    if (s[end - 1] == '+') {
	*sync_r = false;
	end--;
    }
    i = end;
    while (i > 0 && isdigit((unsigned char) s[i - 1]))
	i--;
    if (i == end || i == 0 || s[i - 1] != '{')
	return 0;
    if (end - i > 12)
	return -1;
    for (size_t k = i; k < end; k++)
	n = n * 10 + (unsigned) (s[k] - '0');
    *n_r = (size_t) n;
    return 1;
}

/* imap_parser_stop - enter the stopped state with a result */
static int imap_parser_stop(IMAP_PARSER *p, int result, const char *error)
{
    p->state = ST_STOPPED;
    if (error)
	p->error = error;
    return result;
}

static int imap_parser_tokenize(IMAP_PARSER *p);

/* imap_parser_line_end - a LF arrived in ST_LINE; returns a result or -1
 * to keep consuming */
static int imap_parser_line_end(IMAP_PARSER *p)
{
    size_t  n = 0;
    bool    sync = true;
    int     r;

    if (LEN(p->text) > p->seg_start && STR(p->text)[LEN(p->text) - 1] == '\r')
	vstring_truncate(p->text, LEN(p->text) - 1);
    if (p->line_mode) {
	p->cmd.line = STR(p->text);
	p->cmd.line_len = LEN(p->text);
	return imap_parser_stop(p, IMAP_PARSE_DONE, NULL);
    }
    imap_parser_save_tag(p);
    r = p->in_quote ? 0 : literal_at_end(STR(p->text) + p->seg_start,
					  LEN(p->text) - p->seg_start, &n, &sync);
    if (r == 0) {
	if (LEN(p->text) == 0)
	    return imap_parser_stop(p, IMAP_PARSE_ERROR, "Empty command line");
	return imap_parser_tokenize(p);
    }
    if (r < 0 || n > p->lim.max_literal || p->lit_total + n > p->lim.max_literal_total) {
	if (sync || (r > 0 && n <= p->lim.max_literal)) {
	    if (!sync) {
		p->state = ST_SKIP_LIT;
		p->lit_left = n;
		p->error = "Literal too large";
		return -1;
	    }
	    return imap_parser_stop(p, IMAP_PARSE_ERROR, "Literal too large");
	}
	return imap_parser_stop(p, IMAP_PARSE_FATAL, "Non-synchronizing literal too large");
    }
    if (p->nlits >= p->lim.max_args)
	return imap_parser_stop(p, sync ? IMAP_PARSE_ERROR : IMAP_PARSE_FATAL,
				"Too many literals");
    if (p->nlits == p->lits_size) {
	p->lits_size = p->lits_size ? p->lits_size * 2 : 4;
	p->lits = myreallocarray(p->lits, p->lits_size, sizeof(*p->lits));
	memset(p->lits + p->nlits, 0, (p->lits_size - p->nlits) * sizeof(*p->lits));
    }
    if (p->lits[p->nlits] == NULL)
	p->lits[p->nlits] = vstring_alloc(n < 65536 ? n + 1 : 65536);
    vstring_reset(p->lits[p->nlits]);
    p->nlits++;
    p->lit_total += n;
    p->lit_left = n;
    p->lit_nul = false;
    vstring_addch(p->text, '\n');
    p->state = ST_LITERAL;
    return sync ? IMAP_PARSE_CONTINUE : -1;
}

/* imap_parser_skip_end - a LF arrived while skipping a bad line */
static int imap_parser_skip_end(IMAP_PARSER *p)
{
    size_t  n = 0;
    bool    sync = true;
    size_t  len = p->tail_len;
    int     r;

    if (len > 0 && p->tail[len - 1] == '\r')
	len--;
    r = literal_at_end(p->tail, len, &n, &sync);
    p->tail_len = 0;
    if (r == 0 || sync)
	return imap_parser_stop(p, IMAP_PARSE_ERROR, NULL);
    if (r < 0 || n > p->lim.max_literal)
	return imap_parser_stop(p, IMAP_PARSE_FATAL, "Non-synchronizing literal too large");
    p->state = ST_SKIP_LIT;
    p->lit_left = n;
    return -1;
}

/* imap_parser_skip_byte - remember the tail of a skipped line */
static void imap_parser_skip_byte(IMAP_PARSER *p, char ch)
{
    if (p->tail_len == sizeof(p->tail)) {
	memmove(p->tail, p->tail + 1, sizeof(p->tail) - 1);
	p->tail_len--;
    }
    p->tail[p->tail_len++] = ch;
}

/* imap_parser_feed - consume bytes, report progress */
int imap_parser_feed(IMAP_PARSER *p, const char *data, size_t len, size_t *used_r)
{
    size_t  i = 0;
    int     r;

    if (p->state == ST_STOPPED)
	msg_panic("imap_parser_feed: called after a result without reset");
    while (i < len) {
	switch (p->state) {
	case ST_LITERAL:{
		size_t  take = len - i < p->lit_left ? len - i : p->lit_left;
		VSTRING *lit = p->lits[p->nlits - 1];

		if (memchr(data + i, '\0', take))
		    p->lit_nul = true;
		if (!p->lit_nul)
		    vstring_catn(lit, data + i, take);
		i += take;
		p->lit_left -= take;
		if (p->lit_left == 0) {
		    p->seg_start = LEN(p->text);
		    p->in_quote = p->escaped = false;
		    if (p->lit_nul) {
			p->error = "NUL in literal";
			p->state = ST_SKIP;
		    } else
			p->state = ST_LINE;
		}
		continue;
	    }
	case ST_SKIP_LIT:{
		size_t  take = len - i < p->lit_left ? len - i : p->lit_left;

		i += take;
		p->lit_left -= take;
		if (p->lit_left == 0)
		    p->state = ST_SKIP;
		continue;
	    }
	case ST_SKIP:{
		const char *lf = memchr(data + i, '\n', len - i);
		size_t  end = lf ? (size_t) (lf - data) : len;

		for (size_t k = end > i + sizeof(p->tail) ? end - sizeof(p->tail) : i; k < end; k++)
		    imap_parser_skip_byte(p, data[k]);
		i = end;
		if (lf) {
		    i++;
		    if ((r = imap_parser_skip_end(p)) >= 0) {
			*used_r = i;
			return r;
		    }
		}
		continue;
	    }
	case ST_LINE:{
		char    ch = data[i++];

		if (ch == '\n') {
		    if ((r = imap_parser_line_end(p)) >= 0) {
			*used_r = i;
			return r;
		    }
		    continue;
		}
		if (LEN(p->text) >= p->lim.max_line) {
		    imap_parser_save_tag(p);
		    p->error = "Command line too long";
		    p->state = ST_SKIP;
		    p->tail_len = 0;
		    imap_parser_skip_byte(p, ch);
		    continue;
		}
		vstring_addch(p->text, ch);
		if (p->in_quote) {
		    if (p->escaped)
			p->escaped = false;
		    else if (ch == '\\')
			p->escaped = true;
		    else if (ch == '"')
			p->in_quote = false;
		} else if (ch == '"')
		    p->in_quote = true;
		continue;
	    }
	default:
	    msg_panic("imap_parser_feed: bad state %d", p->state);
	}
    }
    *used_r = i;
    return IMAP_PARSE_MORE;
}

/* ---- tokenizer ---- */

/* tok_parse_list - parse items until ')' (depth > 0) or the end */
static bool tok_parse_list(TOK *t, IMAP_ARG **items_r, size_t *count_r);

/* tok_put - copy len bytes into the string buffer; returns its start */
static const char *tok_put(TOK *t, const char *s, size_t len)
{
    char   *start = t->out + t->out_len;

    memcpy(start, s, len);
    start[len] = 0;
    t->out_len += len + 1;
    return start;
}

/* tok_quoted - a quoted string at t->pos (on the opening quote) */
static bool tok_quoted(TOK *t, IMAP_ARG *arg)
{
    char   *start = t->out + t->out_len;
    size_t  n = 0;

    t->pos++;
    for (;;) {
	if (t->pos >= t->len) {
	    t->error = "Unterminated quoted string";
	    return false;
	}
	char    ch = t->text[t->pos++];

	if (ch == '"')
	    break;
	if (ch == '\\') {
	    if (t->pos >= t->len || (t->text[t->pos] != '"' && t->text[t->pos] != '\\')) {
		t->error = "Invalid escape in quoted string";
		return false;
	    }
	    ch = t->text[t->pos++];
	} else if (ch == '\r' || ch == '\n' || ch == '\0') {
	    t->error = ch == '\n' ? "Unterminated quoted string"
		: "Invalid character in quoted string";
	    return false;
	}
	start[n++] = ch;
    }
    start[n] = 0;
    t->out_len += n + 1;
    arg->type = IMAP_ARG_QUOTED;
    arg->str = start;
    arg->len = n;
    return true;
}

/* tok_literal - "{N}" or "{N+}" followed by the marker */
static bool tok_literal(TOK *t, IMAP_ARG *arg)
{
    size_t  i = t->pos + 1;
    unsigned long long n = 0;
    size_t  digits = 0;

    while (i < t->len && isdigit((unsigned char) t->text[i]) && digits < 13) {
	n = n * 10 + (unsigned) (t->text[i++] - '0');
	digits++;
    }
    if (i < t->len && t->text[i] == '+')
	i++;
    if (digits == 0 || i >= t->len || t->text[i] != '}' || i + 1 >= t->len
	|| t->text[i + 1] != '\n' || t->lit_next >= t->nlits
	|| LEN(t->lits[t->lit_next]) != n) {
	t->error = "Invalid literal";
	return false;
    }
    t->pos = i + 2;
    arg->type = IMAP_ARG_LITERAL;
    arg->str = STR(t->lits[t->lit_next]);
    arg->len = LEN(t->lits[t->lit_next]);
    t->lit_next++;
    return true;
}

/* tok_atom - an atom, with [...] runs taken whole */
static bool tok_atom(TOK *t, IMAP_ARG *arg)
{
    size_t  start = t->pos;

    while (t->pos < t->len) {
	unsigned char ch = (unsigned char) t->text[t->pos];

	if (ch == '[') {
	    bool    inq = false;

	    t->pos++;
	    for (;;) {
		if (t->pos >= t->len || t->text[t->pos] == '\n'
		    || t->text[t->pos] == '\r' || t->text[t->pos] == '\0') {
		    t->error = "Missing ']'";
		    return false;
		}
		ch = (unsigned char) t->text[t->pos++];
		if (inq) {
		    if (ch == '\\' && t->pos < t->len && t->text[t->pos] != '\n')
			t->pos++;
		    else if (ch == '"')
			inq = false;
		} else if (ch == '"')
		    inq = true;
		else if (ch == '[') {
		    t->error = "Nested '['";
		    return false;
		} else if (ch == ']')
		    break;
	    }
	    continue;
	}
	if (!is_atom_char(ch))
	    break;
	t->pos++;
    }
    if (t->pos == start) {
	t->error = t->text[t->pos] == '\n' ? "Invalid literal" : "Invalid characters in atom";
	return false;
    }
    if (t->pos < t->len && (t->text[t->pos] == '"' || t->text[t->pos] == '{'
			    || (unsigned char) t->text[t->pos] < 0x20)
	&& t->text[t->pos] != ' ') {
	t->error = "Invalid characters in atom";
	return false;
    }
    arg->type = IMAP_ARG_ATOM;
    arg->str = tok_put(t, t->text + start, t->pos - start);
    arg->len = t->pos - start;
    return true;
}

/* tok_parse_list - items until ')' or the end of the text */
static bool tok_parse_list(TOK *t, IMAP_ARG **items_r, size_t *count_r)
{
    IMAP_ARG *items = NULL;
    size_t  count = 0, size = 0;
    bool    need_sep = false;

    for (;;) {
	if (t->pos >= t->len) {
	    if (t->depth > 0) {
		t->error = "Missing ')'";
		goto fail;
	    }
	    break;
	}
	char    ch = t->text[t->pos];

	if (ch == ')') {
	    if (t->depth == 0) {
		t->error = "Unexpected ')'";
		goto fail;
	    }
	    t->pos++;
	    break;
	}
	if (need_sep) {
	    if (ch != ' ') {
		t->error = "Missing space between arguments";
		goto fail;
	    }
	    t->pos++;
	    need_sep = false;
	    if (t->pos >= t->len || t->text[t->pos] == ' ' || t->text[t->pos] == ')') {
		t->error = "Unexpected space";
		goto fail;
	    }
	    continue;
	}
	if (++t->nargs > t->max_args) {
	    t->error = "Too many arguments";
	    goto fail;
	}
	if (count == size) {
	    size = size ? size * 2 : 4;
	    items = myreallocarray(items, size, sizeof(*items));
	}
	IMAP_ARG *arg = items + count;

	memset(arg, 0, sizeof(*arg));
	if (ch == '(') {
	    if (t->depth >= t->max_depth) {
		t->error = "Too deep nesting";
		goto fail;
	    }
	    t->pos++;
	    t->depth++;
	    arg->type = IMAP_ARG_LIST;
	    count++;
	    if (!tok_parse_list(t, &arg->list, &arg->len)) {
		count--;
		goto fail;
	    }
	    t->depth--;
	} else {
	    bool    ok = ch == '"' ? tok_quoted(t, arg)
		: ch == '{' ? tok_literal(t, arg) : tok_atom(t, arg);

	    if (!ok)
		goto fail;
	    count++;
	}
	need_sep = true;
    }
    *items_r = items ? items : mymalloc(sizeof(*items));
    *count_r = count;
    return true;

fail:
    imap_arg_list_free(items, count);
    return false;
}

/* tok_run - tokenize t->text from t->pos into args */
static bool tok_run(TOK *t, IMAP_ARGS *args)
{
    args->list = NULL;
    args->count = 0;
    return tok_parse_list(t, &args->list, &args->count);
}

/* imap_parser_tokenize - the command is complete: tag, name, args */
static int imap_parser_tokenize(IMAP_PARSER *p)
{
    const char *s = STR(p->text);
    size_t  len = LEN(p->text);
    size_t  i = 0, need = 2 * len + 2;
    TOK     t;

    if (!p->have_tag)
	return imap_parser_stop(p, IMAP_PARSE_ERROR, "Invalid tag");
    i = LEN(p->tag);
    if (i >= len || s[i] != ' ')
	return imap_parser_stop(p, IMAP_PARSE_ERROR, "Missing command name");
    i++;
    size_t  name_start = i;

    while (i < len && (isalnum((unsigned char) s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
	i++;
    if (i == name_start || (i < len && s[i] != ' '))
	return imap_parser_stop(p, IMAP_PARSE_ERROR, "Invalid command name");
    if (need > p->strbuf_size) {
	myfree(p->args.strbuf);
	p->args.strbuf = mymalloc(need);
	p->strbuf_size = need;
    }
    memset(&t, 0, sizeof(t));
    t.text = s;
    t.len = len;
    t.out = p->args.strbuf;
    t.lits = p->lits;
    t.nlits = p->nlits;
    t.max_depth = p->lim.max_depth;
    t.max_args = p->lim.max_args;
    p->cmd.tag = STR(p->tag);
    p->cmd.name = tok_put(&t, s + name_start, i - name_start);
    if (i < len) {
	i++;				/* the space */
	if (i >= len || s[i] == ' ')
	    return imap_parser_stop(p, IMAP_PARSE_ERROR, "Unexpected space");
    }
    t.pos = i;
    if (!tok_run(&t, &p->args))
	return imap_parser_stop(p, IMAP_PARSE_ERROR, t.error);
    if (t.lit_next != t.nlits)
	return imap_parser_stop(p, IMAP_PARSE_ERROR, "Invalid literal");
    p->cmd.args = p->args.list;
    p->cmd.count = p->args.count;
    return imap_parser_stop(p, IMAP_PARSE_DONE, NULL);
}

/* imap_parse_args - tokenize literal-free text */
IMAP_ARGS *imap_parse_args(const char *text, size_t len, unsigned max_depth,
			   unsigned max_args, const char **error_r)
{
    IMAP_ARGS *args = mymalloc(sizeof(*args));
    TOK     t;

    memset(&t, 0, sizeof(t));
    t.text = text;
    t.len = len;
    t.out = args->strbuf = mymalloc(2 * len + 2);
    t.max_depth = max_depth ? max_depth : 32;
    t.max_args = max_args ? max_args : 10000;
    if (memchr(text, '\n', len) != NULL) {
	*error_r = "Invalid characters";
	myfree(args->strbuf);
	myfree(args);
	return NULL;
    }
    if (!tok_run(&t, args)) {
	*error_r = t.error;
	myfree(args->strbuf);
	myfree(args);
	return NULL;
    }
    return args;
}

/* imap_args_list - the top-level arguments */
const IMAP_ARG *imap_args_list(const IMAP_ARGS *args, size_t *count_r)
{
    *count_r = args->count;
    return args->list;
}

/* imap_args_free - release */
void imap_args_free(IMAP_ARGS **argsp)
{
    IMAP_ARGS *args = *argsp;

    if (args == NULL)
	return;
    imap_arg_list_free(args->list, args->count);
    myfree(args->strbuf);
    myfree(args);
    *argsp = NULL;
}

/* ---- helpers ---- */

/* imap_arg_is_atom - atom equal to word */
bool imap_arg_is_atom(const IMAP_ARG *arg, const char *word)
{
    return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0;
}

/* imap_arg_is_nil - the atom NIL */
bool imap_arg_is_nil(const IMAP_ARG *arg)
{
    return imap_arg_is_atom(arg, "NIL");
}

/* imap_arg_astring - atom/quoted/literal string */
const char *imap_arg_astring(const IMAP_ARG *arg)
{
    return arg->type == IMAP_ARG_LIST ? NULL : arg->str;
}

/* imap_arg_string - quoted/literal string */
const char *imap_arg_string(const IMAP_ARG *arg)
{
    return arg->type == IMAP_ARG_QUOTED || arg->type == IMAP_ARG_LITERAL ? arg->str : NULL;
}

/* imap_quote - append an IMAP string */
void imap_quote(VSTRING *out, const char *str, size_t len)
{
    bool    literal = len > 1024;

    for (size_t i = 0; i < len && !literal; i++) {
	unsigned char ch = (unsigned char) str[i];

	if (ch == '\r' || ch == '\n' || ch == 0 || ch >= 0x80)
	    literal = true;
    }
    if (literal) {
	vstring_fmt_append(out, "{%zu}\r\n", len);
	vstring_catn(out, str, len);
	return;
    }
    vstring_addch(out, '"');
    for (size_t i = 0; i < len; i++) {
	if (str[i] == '"' || str[i] == '\\')
	    vstring_addch(out, '\\');
	vstring_addch(out, str[i]);
    }
    vstring_addch(out, '"');
}

/* imap_quote_nstring - string or NIL */
void imap_quote_nstring(VSTRING *out, const char *str)
{
    if (str == NULL)
	vstring_cat(out, "NIL");
    else
	imap_quote(out, str, strlen(str));
}
