/* imap_mime.c - message structure for IMAP: headers, MIME parts,
 * ENVELOPE, BODYSTRUCTURE, BODY[section].
 *
 * Contract: see imap_mime.h. The parser works on byte offsets into the
 * caller's message and copies only the few header values BODYSTRUCTURE
 * needs. Header fields: a line that starts with a field name (printable
 * ASCII without ':' or white space) followed by ':' opens a field, lines
 * starting with SP or HT continue it; the header ends at an empty line,
 * or at the first line that is neither (a part that starts with body
 * text has an empty header). Multipart bodies are split at lines that
 * start with "--boundary"; the line break before a delimiter belongs to
 * the delimiter (RFC 2046 5.1.1); preamble and epilogue are not parts.
 *
 * Limits: IMAP_MIME_MAX_DEPTH, IMAP_MIME_MAX_PARTS, IMAP_MIME_MAX_ADDRS
 * (see the header). A multipart or message/rfc822 part beyond the depth
 * limit is reported as application/octet-stream so BODYSTRUCTURE stays
 * grammatical.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "argv.h"
#include "imap_mime.h"
#include "imap_parser.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

/* ---- line ends ---- */

/* imap_mime_crlf_size - size with CRLF line ends */
uint64_t imap_mime_crlf_size(const char *data, size_t len)
{
    uint64_t n = len;

    for (size_t i = 0; i < len; i++)
	if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
	    n++;
    return n;
}

/* imap_mime_crlf - append with CRLF line ends */
void imap_mime_crlf(VSTRING *out, const char *data, size_t len)
{
    size_t  start = 0;

    for (size_t i = 0; i < len; i++) {
	if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) {
	    vstring_catn(out, data + start, i - start);
	    vstring_catn(out, "\r\n", 2);
	    start = i + 1;
	}
    }
    vstring_catn(out, data + start, len - start);
}

/* count_lines - body lines: LFs, plus a last line without one */
static uint64_t count_lines(const char *data, size_t len)
{
    uint64_t n = 0;

    for (size_t i = 0; i < len; i++)
	if (data[i] == '\n')
	    n++;
    if (len > 0 && data[len - 1] != '\n')
	n++;
    return n;
}

/* ---- header fields ---- */

typedef struct hfield {
    const char *name;
    size_t  name_len;
    const char *value;		/* after the colon, up to the field's end */
    size_t  value_len;
    const char *raw;		/* the whole field with its line ends */
    size_t  raw_len;
} HFIELD;

/* line_end - index just past the LF of the line at pos (or len) */
static size_t line_end(const char *s, size_t len, size_t pos)
{
    const char *lf = memchr(s + pos, '\n', len - pos);

    return lf ? (size_t) (lf - s) + 1 : len;
}

/* is_blank_line - the line at pos is empty (LF or CRLF) */
static bool is_blank_line(const char *s, size_t len, size_t pos)
{
    return s[pos] == '\n' || (s[pos] == '\r' && pos + 1 < len && s[pos + 1] == '\n');
}

/* field_name_len - length of "name" when the line at pos is "name:" (with
 * optional white space before the colon), else 0 */
static size_t field_name_len(const char *s, size_t len, size_t pos, size_t *colon_r)
{
    size_t  i = pos;

    while (i < len && s[i] > 0x20 && s[i] < 0x7f && s[i] != ':')
	i++;
    size_t  n = i - pos;

    while (i < len && (s[i] == ' ' || s[i] == '\t'))
	i++;
    if (n == 0 || i >= len || s[i] != ':')
	return 0;
    *colon_r = i;
    return n;
}

/* header_length - where the header starting at start ends (past the blank
 * line if there is one); *body_r gets where the body starts */
static size_t header_length(const char *s, size_t end, size_t start, size_t *body_r)
{
    size_t  pos = start, colon;
    bool    have_field = false;

    while (pos < end) {
	if (is_blank_line(s, end, pos)) {
	    *body_r = line_end(s, end, pos);
	    return *body_r - start;
	}
	if ((s[pos] == ' ' || s[pos] == '\t') && have_field) {
	    pos = line_end(s, end, pos);
	    continue;
	}
	if (field_name_len(s, end, pos, &colon) == 0)
	    break;			/* body text without a blank line */
	have_field = true;
	pos = line_end(s, end, pos);
    }
    *body_r = pos;
    return pos - start;
}

/* hdr_next - the next field of a header block from *pos; false at end */
static bool hdr_next(const char *s, size_t len, size_t *pos, HFIELD *f)
{
    size_t  colon;

    while (*pos < len) {
	size_t  p = *pos, e;

	if (is_blank_line(s, len, p))
	    return false;
	e = line_end(s, len, p);
	if (s[p] == ' ' || s[p] == '\t' || (f->name_len = field_name_len(s, len, p, &colon)) == 0) {
	    *pos = e;			/* stray continuation or junk */
	    continue;
	}
	while (e < len && (s[e] == ' ' || s[e] == '\t'))
	    e = line_end(s, len, e);
	f->name = s + p;
	f->value = s + colon + 1;
	f->value_len = e - colon - 1;
	f->raw = s + p;
	f->raw_len = e - p;
	*pos = e;
	return true;
    }
    return false;
}

/* unfold - value without CR/LF, leading and trailing white space */
static void unfold(VSTRING *out, const char *v, size_t len)
{
    size_t  start = LEN(out);

    while (len > 0 && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')) {
	v++;
	len--;
    }
    for (size_t i = 0; i < len; i++)
	if (v[i] != '\r' && v[i] != '\n')
	    vstring_addch(out, v[i]);
    while (LEN(out) > start && (STR(out)[LEN(out) - 1] == ' ' || STR(out)[LEN(out) - 1] == '\t'))
	vstring_truncate(out, LEN(out) - 1);
}

/* imap_mime_header_get - first field called name, unfolded */
int imap_mime_header_get(const char *hdr, size_t len, const char *name, VSTRING *value)
{
    size_t  pos = 0, nlen = strlen(name);
    HFIELD  f;

    while (hdr_next(hdr, len, &pos, &f)) {
	if (f.name_len == nlen && strncasecmp(f.name, name, nlen) == 0) {
	    vstring_reset(value);
	    unfold(value, f.value, f.value_len);
	    return 1;
	}
    }
    return 0;
}

/* ---- RFC 2045 content fields ---- */

/* skip_cfws - skip white space and (nested) comments */
static const char *skip_cfws(const char *p)
{
    for (;;) {
	while (*p == ' ' || *p == '\t')
	    p++;
	if (*p != '(')
	    return p;
	int     depth = 0;

	do {
	    if (*p == '\\' && p[1])
		p++;
	    else if (*p == '(')
		depth++;
	    else if (*p == ')')
		depth--;
	    p++;
	} while (*p && depth > 0);
    }
}

/* is_token_char - RFC 2045 token (8-bit let through) */
static bool is_token_char(unsigned char ch)
{
    return ch > 0x20 && ch != 0x7f && strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* get_token - a token at p into out; returns the end, or NULL if none */
static const char *get_token(const char *p, VSTRING *out)
{
    const char *s = p;

    while (*p && is_token_char((unsigned char) *p))
	p++;
    if (p == s)
	return NULL;
    vstring_setn(out, s, (size_t) (p - s));
    return p;
}

/* get_value - a token or quoted string into out; returns the end */
static const char *get_value(const char *p, VSTRING *out)
{
    if (*p != '"')
	return get_token(p, out);
    vstring_reset(out);
    for (p++; *p && *p != '"'; p++) {
	if (*p == '\\' && p[1])
	    p++;
	vstring_addch(out, *p);
    }
    return *p == '"' ? p + 1 : p;
}

/* parse_params - "; name=value" pairs into params */
static void parse_params(const char *p, ARGV *params)
{
    VSTRING *name = vstring_alloc(16), *value = vstring_alloc(32);

    while (*p && params->argc < 200) {
	p = skip_cfws(p);
	if (*p != ';') {
	    if (*p == 0)
		break;
	    p++;			/* junk: resynchronize at the next ';' */
	    continue;
	}
	p = skip_cfws(p + 1);
	const char *q = get_token(p, name);

	if (q == NULL)
	    continue;
	q = skip_cfws(q);
	if (*q != '=') {
	    p = q;
	    continue;
	}
	q = skip_cfws(q + 1);
	const char *r = get_value(q, value);

	if (r == NULL) {
	    p = q;
	    continue;
	}
	argv_add(params, STR(name), STR(value), (char *) 0);
	p = r;
    }
    vstring_free(&name);
    vstring_free(&value);
}

/* parse_content_type - Content-Type value into the part */
static void parse_content_type(IMAP_MIME_PART *part, const char *v)
{
    VSTRING *type = vstring_alloc(16), *sub = vstring_alloc(16);
    const char *p = skip_cfws(v), *q;

    if ((q = get_token(p, type)) != NULL) {
	q = skip_cfws(q);
	if (*q == '/') {
	    q = skip_cfws(q + 1);
	    if ((q = get_token(q, sub)) != NULL) {
		myfree(part->type);
		myfree(part->subtype);
		part->type = vstring_export(&type);
		part->subtype = vstring_export(&sub);
		parse_params(q, part->params);
	    }
	}
    }
    if (type)
	vstring_free(&type);
    if (sub)
	vstring_free(&sub);
}

/* parse_disposition - Content-Disposition value into the part */
static void parse_disposition(IMAP_MIME_PART *part, const char *v)
{
    VSTRING *disp = vstring_alloc(16);
    const char *q = get_token(skip_cfws(v), disp);

    if (q != NULL) {
	part->disposition = vstring_export(&disp);
	parse_params(q, part->disp_params);
    } else
	vstring_free(&disp);
}

/* param_get - a parameter's value (case-insensitive name) or NULL */
static const char *param_get(const ARGV *params, const char *name)
{
    for (int i = 0; i + 1 < params->argc; i += 2)
	if (strcasecmp(params->argv[i], name) == 0)
	    return params->argv[i + 1];
    return NULL;
}

/* ---- structure ---- */

typedef struct mime_ctx {
    const char *msg;
    size_t  parts;
} MIME_CTX;

static void mime_parse_part(MIME_CTX *ctx, IMAP_MIME_PART *part, size_t start, size_t end,
			    bool digest_child, unsigned depth);

/* set_type - replace type/subtype */
static void set_type(IMAP_MIME_PART *part, const char *type, const char *subtype)
{
    myfree(part->type);
    myfree(part->subtype);
    part->type = mystrdup(type);
    part->subtype = mystrdup(subtype);
}

/* mime_parse_header - content fields of the part's header */
static void mime_parse_header(IMAP_MIME_PART *part, const char *s)
{
    size_t  pos = 0;
    HFIELD  f;
    VSTRING *v = vstring_alloc(64);
    const char *hdr = s + part->hdr_off;

    while (hdr_next(hdr, part->hdr_len, &pos, &f)) {
	char  **slot = NULL;

	if (f.name_len < 8 || strncasecmp(f.name, "Content-", 8) != 0)
	    continue;
	vstring_reset(v);
	unfold(v, f.value, f.value_len);
#define IS(n) (f.name_len == sizeof(n) - 1 && strncasecmp(f.name, n, f.name_len) == 0)
	if (IS("Content-Type")) {
	    if (part->params->argc == 0)
		parse_content_type(part, STR(v));
	} else if (IS("Content-Disposition")) {
	    if (part->disposition == NULL)
		parse_disposition(part, STR(v));
	} else if (IS("Content-ID"))
	    slot = &part->id;
	else if (IS("Content-Description"))
	    slot = &part->description;
	else if (IS("Content-Transfer-Encoding"))
	    slot = &part->encoding;
	else if (IS("Content-MD5"))
	    slot = &part->md5;
	else if (IS("Content-Language"))
	    slot = &part->language;
	else if (IS("Content-Location"))
	    slot = &part->location;
#undef IS
	if (slot && *slot == NULL)
	    *slot = mystrdup(STR(v));
    }
    vstring_free(&v);
}

/* delimiter_at - the line at pos is "--boundary" (1) or "--boundary--"
 * (2) with only white space after it; 0 when not */
static int delimiter_at(const char *s, size_t end, size_t pos, const char *b, size_t blen)
{
    size_t  i = pos + 2 + blen;
    int     kind = 1;

    if (i > end || s[pos] != '-' || s[pos + 1] != '-' || memcmp(s + pos + 2, b, blen) != 0)
	return 0;
    if (i + 1 < end && s[i] == '-' && s[i + 1] == '-') {
	kind = 2;
	i += 2;
    }
    while (i < end && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
	i++;
    return i == end || s[i] == '\n' ? kind : 0;
}

/* mime_add_child - a new zeroed child part */
static IMAP_MIME_PART *mime_add_child(IMAP_MIME_PART *part)
{
    part->children = myreallocarray(part->children, part->nchildren + 1, sizeof(*part->children));
    memset(part->children + part->nchildren, 0, sizeof(*part->children));
    return part->children + part->nchildren++;
}

/* mime_split - the parts of a multipart body */
static void mime_split(MIME_CTX *ctx, IMAP_MIME_PART *part, const char *boundary,
		       unsigned depth)
{
    const char *s = ctx->msg;
    size_t  end = part->body_off + part->body_len, blen = strlen(boundary);
    size_t  pos = part->body_off, cur = 0;
    bool    in_part = false;
    bool    digest = strcasecmp(part->subtype, "digest") == 0;
    size_t  starts[2];

    while (pos < end) {
	size_t  next = line_end(s, end, pos);
	int     kind = s[pos] == '-' ? delimiter_at(s, end, pos, boundary, blen) : 0;

	if (kind) {
	    if (in_part && ctx->parts < IMAP_MIME_MAX_PARTS) {
		size_t  pend = pos;

		if (pend > cur && s[pend - 1] == '\n')
		    pend--;
		if (pend > cur && s[pend - 1] == '\r')
		    pend--;
		starts[0] = cur;
		starts[1] = pend;
		ctx->parts++;
		mime_parse_part(ctx, mime_add_child(part), starts[0], starts[1], digest, depth + 1);
	    }
	    if (kind == 2) {
		in_part = false;
		break;
	    }
	    in_part = true;
	    cur = next;
	}
	pos = next;
    }
    if (in_part && cur <= end && ctx->parts < IMAP_MIME_MAX_PARTS) {
	ctx->parts++;
	mime_parse_part(ctx, mime_add_child(part), cur, end, digest, depth + 1);
    }
}

/* mime_parse_part - header, content fields and sub-structure of a part */
static void mime_parse_part(MIME_CTX *ctx, IMAP_MIME_PART *part, size_t start, size_t end,
			    bool digest_child, unsigned depth)
{
    const char *s = ctx->msg;
    size_t  body;

    part->hdr_off = start;
    part->hdr_len = header_length(s, end, start, &body);
    part->body_off = body;
    part->body_len = end - body;
    part->params = argv_alloc(4);
    part->disp_params = argv_alloc(2);
    if (digest_child)
	set_type(part, "message", "rfc822");
    else
	set_type(part, "text", "plain");
    mime_parse_header(part, s);

    if (strcasecmp(part->type, "multipart") == 0) {
	const char *boundary = param_get(part->params, "boundary");

	if (depth < IMAP_MIME_MAX_DEPTH && boundary && *boundary && strlen(boundary) <= 200)
	    mime_split(ctx, part, boundary, depth);
	if (part->nchildren == 0) {
	    if (depth >= IMAP_MIME_MAX_DEPTH)
		set_type(part, "application", "octet-stream");
	    else
		set_type(part, "text", "plain");
	}
    } else if (strcasecmp(part->type, "message") == 0
	       && strcasecmp(part->subtype, "rfc822") == 0) {
	if (depth < IMAP_MIME_MAX_DEPTH && ctx->parts < IMAP_MIME_MAX_PARTS) {
	    ctx->parts++;
	    part->message = mymalloc(sizeof(*part->message));
	    memset(part->message, 0, sizeof(*part->message));
	    mime_parse_part(ctx, part->message, part->body_off, end, false, depth + 1);
	} else
	    set_type(part, "application", "octet-stream");
    }
}

/* imap_mime_parse - the structure of a message */
IMAP_MIME_PART *imap_mime_parse(const char *msg, size_t len)
{
    IMAP_MIME_PART *root = mymalloc(sizeof(*root));
    MIME_CTX ctx = {.msg = msg, .parts = 1};

    memset(root, 0, sizeof(*root));
    mime_parse_part(&ctx, root, 0, len, false, 0);
    return root;
}

/* mime_part_release - free a part's contents (not the struct) */
static void mime_part_release(IMAP_MIME_PART *part)
{
    myfree(part->type);
    myfree(part->subtype);
    argv_free(&part->params);
    argv_free(&part->disp_params);
    myfree(part->id);
    myfree(part->description);
    myfree(part->encoding);
    myfree(part->md5);
    myfree(part->language);
    myfree(part->location);
    myfree(part->disposition);
    for (size_t i = 0; i < part->nchildren; i++)
	mime_part_release(part->children + i);
    myfree(part->children);
    if (part->message) {
	mime_part_release(part->message);
	myfree(part->message);
    }
}

/* imap_mime_free - release */
void imap_mime_free(IMAP_MIME_PART **partp)
{
    if (*partp == NULL)
	return;
    mime_part_release(*partp);
    myfree(*partp);
    *partp = NULL;
}

/* ---- ENVELOPE ---- */

#define TK_END	 0
#define TK_ATOM	 1
#define TK_QUOTED 2
#define TK_DLIT	 3
#define TK_SPECIAL 4

typedef struct atok {
    int     type;
    const char *raw;		/* as in the header */
    size_t  raw_len;
    VSTRING *text;		/* decoded (quoted strings) */
} ATOK;

/* addr_lex - the next token from *pp */
static void addr_lex(const char **pp, ATOK *t)
{
    const char *p = skip_cfws(*pp);

    vstring_reset(t->text);
    t->raw = p;
    if (*p == 0) {
	t->type = TK_END;
    } else if (*p == '"') {
	t->type = TK_QUOTED;
	for (p++; *p && *p != '"'; p++) {
	    if (*p == '\\' && p[1])
		p++;
	    vstring_addch(t->text, *p);
	}
	if (*p == '"')
	    p++;
    } else if (*p == '[') {
	t->type = TK_DLIT;
	while (*p && *p != ']')
	    p++;
	if (*p == ']')
	    p++;
	vstring_catn(t->text, t->raw, (size_t) (p - t->raw));
    } else if (strchr("<>@,;:\\])", *p) != NULL) {
	t->type = TK_SPECIAL;
	vstring_addch(t->text, *p++);
    } else {
	t->type = TK_ATOM;
	while (*p && *p != ' ' && *p != '\t' && strchr("()<>@,;:\\\"[]", *p) == NULL)
	    p++;
	if (p == t->raw) {		/* never stand still */
	    t->type = TK_SPECIAL;
	    p++;
	}
	vstring_catn(t->text, t->raw, (size_t) (p - t->raw));
    }
    t->raw_len = (size_t) (p - t->raw);
    *pp = p;
}

/* addr_emit - append one address structure */
static void addr_emit(VSTRING *out, const char *name, const char *adl, const char *mailbox,
		      const char *host)
{
    vstring_addch(out, '(');
    imap_quote_nstring(out, name);
    vstring_addch(out, ' ');
    imap_quote_nstring(out, adl);
    vstring_addch(out, ' ');
    imap_quote_nstring(out, mailbox);
    vstring_addch(out, ' ');
    imap_quote_nstring(out, host);
    vstring_addch(out, ')');
}

/* is_sp - a special token ch */
static bool is_sp(const ATOK *t, int ch)
{
    return t->type == TK_SPECIAL && STR(t->text)[0] == ch;
}

/* add_word - append a token to a phrase (space separated) or a raw
 * local part / domain (concatenated) */
static void add_word(VSTRING *v, const ATOK *t, bool raw)
{
    if (raw) {
	vstring_catn(v, t->raw, t->raw_len);
    } else {
	if (LEN(v) > 0)
	    vstring_addch(v, ' ');
	vstring_catn(v, STR(t->text), LEN(t->text));
    }
}

/* envelope_addresses - the address list of a header value, "NIL" when
 * there are none */
static void envelope_addresses(VSTRING *out, const char *value)
{
    VSTRING *phrase = vstring_alloc(32), *local = vstring_alloc(32), *domain = vstring_alloc(32);
    VSTRING *route = vstring_alloc(16);
    ATOK    t = {.text = vstring_alloc(32)};
    const char *p = value;
    size_t  start = LEN(out);
    int     count = 0;
    bool    in_group = false, have_phrase_raw = false;

    vstring_addch(out, '(');
    addr_lex(&p, &t);
    while (t.type != TK_END && count < IMAP_MIME_MAX_ADDRS) {
	vstring_reset(phrase);
	vstring_reset(local);
	have_phrase_raw = false;
	/* phrase or local part words */
	while (t.type == TK_ATOM || t.type == TK_QUOTED || t.type == TK_DLIT) {
	    add_word(phrase, &t, false);
	    add_word(local, &t, true);
	    have_phrase_raw = true;
	    addr_lex(&p, &t);
	}
	if (is_sp(&t, '<')) {
	    vstring_reset(route);
	    vstring_reset(domain);
	    VSTRING *lp = vstring_alloc(32);
	    bool    at = false;

	    addr_lex(&p, &t);
	    if (is_sp(&t, '@')) {	/* obsolete route: @a,@b: */
		while (t.type != TK_END && !is_sp(&t, ':') && !is_sp(&t, '>')) {
		    vstring_catn(route, t.raw, t.raw_len);
		    addr_lex(&p, &t);
		}
		if (is_sp(&t, ':'))
		    addr_lex(&p, &t);
	    }
	    while (t.type != TK_END && !is_sp(&t, '>')) {
		if (is_sp(&t, '@') && !at)
		    at = true;
		else if (t.type != TK_SPECIAL || is_sp(&t, '@'))
		    add_word(at ? domain : lp, &t, true);
		addr_lex(&p, &t);
	    }
	    if (is_sp(&t, '>'))
		addr_lex(&p, &t);
	    if (LEN(lp) > 0 || LEN(domain) > 0) {
		addr_emit(out, LEN(phrase) ? STR(phrase) : NULL, LEN(route) ? STR(route) : NULL,
			  STR(lp), LEN(domain) ? STR(domain) : "MISSING_DOMAIN");
		count++;
	    }
	    vstring_free(&lp);
	} else if (is_sp(&t, '@') && have_phrase_raw) {
	    vstring_reset(domain);
	    addr_lex(&p, &t);
	    while (t.type == TK_ATOM || t.type == TK_DLIT || t.type == TK_QUOTED) {
		add_word(domain, &t, true);
		addr_lex(&p, &t);
	    }
	    addr_emit(out, NULL, NULL, STR(local), LEN(domain) ? STR(domain) : "MISSING_DOMAIN");
	    count++;
	} else if (is_sp(&t, ':') && !in_group) {
	    addr_emit(out, NULL, NULL, STR(phrase), NULL);
	    count++;
	    in_group = true;
	    addr_lex(&p, &t);
	} else if (is_sp(&t, ';') && in_group) {
	    if (have_phrase_raw) {
		addr_emit(out, NULL, NULL, STR(local), "MISSING_DOMAIN");
		count++;
	    }
	    addr_emit(out, NULL, NULL, NULL, NULL);
	    in_group = false;
	    addr_lex(&p, &t);
	} else {
	    if (have_phrase_raw) {
		addr_emit(out, NULL, NULL, STR(local), "MISSING_DOMAIN");
		count++;
	    }
	    if (t.type != TK_END)
		addr_lex(&p, &t);	/* ',' or junk */
	}
    }
    if (in_group)
	addr_emit(out, NULL, NULL, NULL, NULL);
    vstring_addch(out, ')');
    if (count == 0) {
	vstring_truncate(out, start);
	vstring_cat(out, "NIL");
    }
    vstring_free(&t.text);
    vstring_free(&phrase);
    vstring_free(&local);
    vstring_free(&domain);
    vstring_free(&route);
}

/* imap_mime_envelope - the ENVELOPE of a header block */
void imap_mime_envelope(VSTRING *out, const char *hdr, size_t len)
{
    static const char *const names[] = {"Date", "Subject", "From", "Sender", "Reply-To",
	"To", "Cc", "Bcc", "In-Reply-To", "Message-ID"};
    VSTRING *v = vstring_alloc(128), *from = vstring_alloc(64);
    bool    have_from = imap_mime_header_get(hdr, len, "From", from);

    vstring_addch(out, '(');
    for (size_t i = 0; i < PH_ARRAY_LEN(names); i++) {
	bool    found = imap_mime_header_get(hdr, len, names[i], v);

	if (i > 0)
	    vstring_addch(out, ' ');
	if (i >= 2 && i <= 7) {
	    /* Sender and Reply-To default to From (RFC 3501 7.4.2) */
	    if ((i == 3 || i == 4) && (!found || LEN(v) == 0) && have_from)
		envelope_addresses(out, STR(from));
	    else if (found)
		envelope_addresses(out, STR(v));
	    else
		vstring_cat(out, "NIL");
	} else if (found)
	    imap_quote(out, STR(v), LEN(v));
	else
	    vstring_cat(out, "NIL");
    }
    vstring_addch(out, ')');
    vstring_free(&v);
    vstring_free(&from);
}

/* env_skip - past one envelope element (NIL, string, literal, list) */
static const char *env_skip(const char *p, const char *end, int depth)
{
    while (p < end && *p == ' ')
	p++;
    if (p >= end || depth > 8)
	return NULL;
    if (*p == '(') {
	for (p++;;) {
	    while (p < end && *p == ' ')
		p++;
	    if (p >= end)
		return NULL;
	    if (*p == ')')
		return p + 1;
	    if ((p = env_skip(p, end, depth + 1)) == NULL)
		return NULL;
	}
    }
    if (*p == '"') {
	for (p++; p < end; p++) {
	    if (*p == '\\')
		p++;
	    else if (*p == '"')
		return p + 1;
	}
	return NULL;
    }
    if (*p == '{') {
	size_t  n = 0;

	for (p++; p < end && *p >= '0' && *p <= '9' && n < ((size_t) 1 << 40); p++)
	    n = n * 10 + (size_t) (*p - '0');
	if (end - p < 3 || memcmp(p, "}\r\n", 3) != 0 || (size_t) (end - p - 3) < n)
	    return NULL;
	return p + 3 + n;
    }
    if (end - p >= 3 && memcmp(p, "NIL", 3) == 0)
	return p + 3;
    return NULL;
}

/* imap_mime_envelope_get - one string element of an envelope */
int     imap_mime_envelope_get(const char *env, size_t len, int index, VSTRING *value)
{
    const char *p = env, *end = env + len;

    if (len < 2 || *p != '(' || index < 0 || index > 9)
	return -1;
    p++;
    for (int i = 0; i < index; i++)
	if ((p = env_skip(p, end, 0)) == NULL)
	    return -1;
    while (p < end && *p == ' ')
	p++;
    if (p >= end)
	return -1;
    vstring_reset(value);
    if (end - p >= 3 && memcmp(p, "NIL", 3) == 0)
	return 0;
    if (*p == '"') {
	for (p++; p < end; p++) {
	    if (*p == '\\' && p + 1 < end)
		p++;
	    else if (*p == '"')
		return 1;
	    vstring_addch(value, *p);
	}
	return -1;
    }
    if (*p == '{') {
	const char *q = env_skip(p, end, 0);
	const char *data;

	if (q == NULL || (data = memchr(p, '\n', (size_t) (q - p))) == NULL)
	    return -1;
	vstring_setn(value, data + 1, (size_t) (q - data - 1));
	return 1;
    }
    return -1;
}

static const char *const addr_field_names[] = {"From", "To", "Cc", "Bcc"};

/* imap_mime_addr_fields - {present, be32 length, bytes} per field */
void    imap_mime_addr_fields(VSTRING *out, const char *hdr, size_t len)
{
    VSTRING *v = vstring_alloc(64);

    for (size_t i = 0; i < PH_ARRAY_LEN(addr_field_names); i++) {
	if (!imap_mime_header_get(hdr, len, addr_field_names[i], v)) {
	    vstring_addch(out, 0);
	    continue;
	}
	size_t  n = LEN(v) > 0xffffffff ? 0xffffffff : LEN(v);

	vstring_addch(out, 1);
	for (int shift = 24; shift >= 0; shift -= 8)
	    vstring_addch(out, (int) ((n >> shift) & 0xff));
	vstring_catn(out, STR(v), n);
    }
    vstring_free(&v);
}

/* imap_mime_addr_field_get - one field of that record */
int     imap_mime_addr_field_get(const char *rec, size_t len, const char *name, VSTRING *value)
{
    const unsigned char *p = (const unsigned char *) rec, *end = p + len;

    for (size_t i = 0; i < PH_ARRAY_LEN(addr_field_names); i++) {
	size_t  n = 0;

	if (p >= end || *p > 1)
	    return -1;
	if (*p++ == 1) {
	    if (end - p < 4)
		return -1;
	    n = ((size_t) p[0] << 24) | ((size_t) p[1] << 16) | ((size_t) p[2] << 8) | p[3];
	    p += 4;
	    if ((size_t) (end - p) < n)
		return -1;
	    if (strcasecmp(name, addr_field_names[i]) == 0) {
		vstring_setn(value, (const char *) p, n);
		return 1;
	    }
	    p += n;
	} else if (strcasecmp(name, addr_field_names[i]) == 0) {
	    vstring_reset(value);
	    return 0;
	}
    }
    return -1;
}

/* ---- BODYSTRUCTURE ---- */

/* bs_params - ("name" "value" ...) or NIL */
static void bs_params(VSTRING *out, const ARGV *params)
{
    if (params->argc < 2) {
	vstring_cat(out, "NIL");
	return;
    }
    vstring_addch(out, '(');
    for (int i = 0; i + 1 < params->argc; i += 2) {
	if (i > 0)
	    vstring_addch(out, ' ');
	imap_quote(out, params->argv[i], strlen(params->argv[i]));
	vstring_addch(out, ' ');
	imap_quote(out, params->argv[i + 1], strlen(params->argv[i + 1]));
    }
    vstring_addch(out, ')');
}

/* bs_extension - disposition, language, location */
static void bs_extension(VSTRING *out, const IMAP_MIME_PART *part)
{
    vstring_addch(out, ' ');
    if (part->disposition) {
	vstring_addch(out, '(');
	imap_quote(out, part->disposition, strlen(part->disposition));
	vstring_addch(out, ' ');
	bs_params(out, part->disp_params);
	vstring_addch(out, ')');
    } else
	vstring_cat(out, "NIL");
    vstring_addch(out, ' ');
    imap_quote_nstring(out, part->language);
    vstring_addch(out, ' ');
    imap_quote_nstring(out, part->location);
}

/* imap_mime_bodystructure - BODY or BODYSTRUCTURE of a part */
void imap_mime_bodystructure(VSTRING *out, const IMAP_MIME_PART *part, const char *msg,
			     bool extended)
{
    const char *body = msg + part->body_off;

    vstring_addch(out, '(');
    if (part->nchildren > 0) {
	for (size_t i = 0; i < part->nchildren; i++)
	    imap_mime_bodystructure(out, part->children + i, msg, extended);
	vstring_addch(out, ' ');
	imap_quote(out, part->subtype, strlen(part->subtype));
	if (extended) {
	    vstring_addch(out, ' ');
	    bs_params(out, part->params);
	    bs_extension(out, part);
	}
	vstring_addch(out, ')');
	return;
    }
    imap_quote(out, part->type, strlen(part->type));
    vstring_addch(out, ' ');
    imap_quote(out, part->subtype, strlen(part->subtype));
    vstring_addch(out, ' ');
    if (part->params->argc < 2 && strcasecmp(part->type, "text") == 0)
	vstring_cat(out, "(\"charset\" \"us-ascii\")");
    else
	bs_params(out, part->params);
    vstring_addch(out, ' ');
    imap_quote_nstring(out, part->id);
    vstring_addch(out, ' ');
    imap_quote_nstring(out, part->description);
    vstring_addch(out, ' ');
    if (part->encoding)
	imap_quote(out, part->encoding, strlen(part->encoding));
    else
	vstring_cat(out, "\"7bit\"");
    vstring_fmt_append(out, " %llu",
		  (unsigned long long) imap_mime_crlf_size(body, part->body_len));
    if (part->message) {
	vstring_addch(out, ' ');
	imap_mime_envelope(out, msg + part->message->hdr_off, part->message->hdr_len);
	vstring_addch(out, ' ');
	imap_mime_bodystructure(out, part->message, msg, extended);
	vstring_fmt_append(out, " %llu",
			   (unsigned long long) count_lines(body, part->body_len));
    } else if (strcasecmp(part->type, "text") == 0)
	vstring_fmt_append(out, " %llu",
			   (unsigned long long) count_lines(body, part->body_len));
    if (extended) {
	vstring_addch(out, ' ');
	imap_quote_nstring(out, part->md5);
	bs_extension(out, part);
    }
    vstring_addch(out, ')');
}

/* ---- sections ---- */

/* imap_section_parse - parse a section spec */
int imap_section_parse(const char *spec, size_t len, IMAP_SECTION *sec, const char **error_r)
{
    size_t  i = 0;

    memset(sec, 0, sizeof(*sec));
    while (i < len && isdigit((unsigned char) spec[i])) {
	unsigned long n = 0;

	while (i < len && isdigit((unsigned char) spec[i])) {
	    n = n * 10 + (unsigned) (spec[i++] - '0');
	    if (n > 1000000) {
		*error_r = "Invalid section number";
		return -1;
	    }
	}
	if (n == 0 || sec->nparts >= IMAP_SECTION_MAX_PARTS) {
	    *error_r = "Invalid section number";
	    return -1;
	}
	sec->parts[sec->nparts++] = (unsigned) n;
	if (i == len)
	    return 0;
	if (spec[i] != '.') {
	    *error_r = "Invalid section";
	    return -1;
	}
	i++;
	if (i == len) {
	    *error_r = "Invalid section";
	    return -1;
	}
    }
    const char *rest = spec + i;
    size_t  rlen = len - i;

#define WORD(w) (rlen >= sizeof(w) - 1 && strncasecmp(rest, w, sizeof(w) - 1) == 0)
    if (rlen == 0) {
	sec->kind = IMAP_SECTION_ALL;
	return 0;
    }
    if (rlen == 4 && WORD("TEXT"))
	sec->kind = IMAP_SECTION_TEXT;
    else if (rlen == 4 && WORD("MIME") && sec->nparts > 0)
	sec->kind = IMAP_SECTION_MIME;
    else if (rlen == 6 && WORD("HEADER"))
	sec->kind = IMAP_SECTION_HEADER;
    else if (WORD("HEADER.FIELDS")) {
	size_t  skip = 13;

	sec->kind = IMAP_SECTION_HEADER_FIELDS;
	if (rlen >= 17 && strncasecmp(rest + 13, ".NOT", 4) == 0) {
	    sec->kind = IMAP_SECTION_HEADER_FIELDS_NOT;
	    skip = 17;
	}
	if (rlen <= skip + 1 || rest[skip] != ' ') {
	    *error_r = "Missing header field list";
	    return -1;
	}
	const char *err;
	IMAP_ARGS *args = imap_parse_args(rest + skip + 1, rlen - skip - 1, 1, 1000, &err);
	size_t  n;
	const IMAP_ARG *l;

	if (args == NULL) {
	    *error_r = err;
	    return -1;
	}
	l = imap_args_list(args, &n);
	if (n != 1 || l[0].type != IMAP_ARG_LIST || l[0].len == 0) {
	    imap_args_free(&args);
	    *error_r = "Invalid header field list";
	    return -1;
	}
	sec->fields = argv_alloc((int) l[0].len);
	for (size_t k = 0; k < l[0].len; k++) {
	    const char *f = imap_arg_astring(&l[0].list[k]);
	    size_t  d;

	    if (f == NULL || *f == 0 || field_name_len(f, strlen(f), 0, &d) != 0
		|| strpbrk(f, ": \t") != NULL) {
		imap_args_free(&args);
		*error_r = "Invalid header field name";
		return -1;
	    }
	    argv_add(sec->fields, f, (char *) 0);
	}
	imap_args_free(&args);
    } else {
	*error_r = "Invalid section";
	return -1;
    }
#undef WORD
    return 0;
}

/* imap_section_free - release */
void imap_section_free(IMAP_SECTION *sec)
{
    if (sec->fields)
	argv_free(&sec->fields);
}

/* imap_section_name - the normalized spec */
void imap_section_name(VSTRING *out, const IMAP_SECTION *sec)
{
    static const char *const kinds[] = {"", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	"TEXT", "MIME"};

    for (size_t i = 0; i < sec->nparts; i++)
	vstring_fmt_append(out, "%s%u", i ? "." : "", sec->parts[i]);
    if (sec->kind != IMAP_SECTION_ALL)
	vstring_fmt_append(out, "%s%s", sec->nparts ? "." : "", kinds[sec->kind]);
    if (sec->fields) {
	vstring_cat(out, " (");
	for (int i = 0; i < sec->fields->argc; i++) {
	    if (i > 0)
		vstring_addch(out, ' ');
	    imap_quote(out, sec->fields->argv[i], strlen(sec->fields->argv[i]));
	}
	vstring_addch(out, ')');
    }
}

/* header_fields - the matching (or not matching) fields + blank line */
static void header_fields(VSTRING *out, const char *hdr, size_t len, const ARGV *fields, bool not)
{
    size_t  pos = 0;
    HFIELD  f;

    while (hdr_next(hdr, len, &pos, &f)) {
	bool    match = false;

	for (int i = 0; i < fields->argc && !match; i++)
	    match = strlen(fields->argv[i]) == f.name_len
		&& strncasecmp(fields->argv[i], f.name, f.name_len) == 0;
	if (match != not) {
	    imap_mime_crlf(out, f.raw, f.raw_len);
	    if (f.raw_len > 0 && f.raw[f.raw_len - 1] != '\n')
		vstring_cat(out, "\r\n");
	}
    }
    vstring_cat(out, "\r\n");
}

/* imap_section_get - the contents of a section */
void imap_section_get(VSTRING *out, const IMAP_MIME_PART *root, const char *msg,
		      const IMAP_SECTION *sec)
{
    const IMAP_MIME_PART *m = root;	/* the message the numbers index */
    const IMAP_MIME_PART *target = root;
    const IMAP_MIME_PART *hdrmsg = root;	/* for HEADER/TEXT */

    for (size_t i = 0; i < sec->nparts; i++) {
	unsigned n = sec->parts[i];

	if (m == NULL)
	    return;
	if (m->nchildren > 0) {
	    if (n > m->nchildren)
		return;
	    target = m->children + n - 1;
	} else if (n == 1) {
	    target = m;
	} else
	    return;
	/* the next number indexes inside target */
	if (target->message)
	    m = target->message;
	else if (target->nchildren > 0)
	    m = target;
	else
	    m = NULL;
    }
    if (sec->nparts > 0) {
	hdrmsg = target->message;	/* HEADER/TEXT of an enclosed message */
    }
    switch (sec->kind) {
    case IMAP_SECTION_ALL:
	if (sec->nparts == 0)
	    imap_mime_crlf(out, msg, root->body_off + root->body_len);
	else
	    imap_mime_crlf(out, msg + target->body_off, target->body_len);
	return;
    case IMAP_SECTION_MIME:
	imap_mime_crlf(out, msg + target->hdr_off, target->hdr_len);
	return;
    default:
	break;
    }
    if (hdrmsg == NULL)
	return;
    switch (sec->kind) {
    case IMAP_SECTION_HEADER:{
	    size_t  st = LEN(out), l;

	    imap_mime_crlf(out, msg + hdrmsg->hdr_off, hdrmsg->hdr_len);
	    /* a header without its blank line still ends with one */
	    l = LEN(out) - st;
	    if (l == 2 && memcmp(STR(out) + st, "\r\n", 2) == 0)
		return;
	    if (l >= 4 && memcmp(STR(out) + LEN(out) - 4, "\r\n\r\n", 4) == 0)
		return;
	    if (l < 2 || memcmp(STR(out) + LEN(out) - 2, "\r\n", 2) != 0)
		vstring_cat(out, "\r\n");
	    if (l > 0)
		vstring_cat(out, "\r\n");
	    return;
	}
    case IMAP_SECTION_HEADER_FIELDS:
    case IMAP_SECTION_HEADER_FIELDS_NOT:
	header_fields(out, msg + hdrmsg->hdr_off, hdrmsg->hdr_len, sec->fields,
		      sec->kind == IMAP_SECTION_HEADER_FIELDS_NOT);
	return;
    case IMAP_SECTION_TEXT:
	imap_mime_crlf(out, msg + hdrmsg->body_off, hdrmsg->body_len);
	return;
    }
}
