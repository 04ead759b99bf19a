/* cmd_search - SEARCH / UID SEARCH with every RFC 3501 key, AND by
 * juxtaposition, OR, NOT, parenthesized groups, sequence and UID sets,
 * CHARSET UTF-8/US-ASCII, header and body text, CONDSTORE's MODSEQ and
 * ESEARCH's RETURN (MIN MAX COUNT ALL).
 *
 * The key list is checked once (a dry run) so a syntax error is a BAD
 * before any message is read; then each message is matched, reading its
 * file only for keys that need text. Text matching is a case-insensitive
 * substring match on the raw header values and body (no RFC 2047 or
 * transfer-encoding decoding yet). SUBJECT (and HEADER Subject) is
 * matched against the Subject in the cached ENVELOPE and FROM/TO/CC/BCC
 * against the cached address fields (MSTORE_CACHE_ADDRS) when the index
 * has them: the same unfolded values, so the same answers, without
 * opening the file; a message whose file had to be read for such a key
 * gets both cached for the next search. Limits: key nesting is bounded by the
 * parser's list depth and by 64 levels of NOT/OR.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap_mime.h"
#include "imapd.h"
#include "msg.h"
#include "mymalloc.h"

#define SET_CACHE 16

#define RET_MIN		(1 << 0)
#define RET_MAX		(1 << 1)
#define RET_COUNT	(1 << 2)
#define RET_ALL		(1 << 3)

typedef struct sctx {
    IMAPD_SESSION *s;
    const MSTORE_VIEW *v;
    uint32_t idx;		/* message index in the view */
    bool    dry;		/* syntax check only */
    VSTRING *text;
    IMAP_MIME_PART *mime;
    bool    loaded;
    int     env_state, addrs_state;	/* 0 not tried, 1 cached, -1 not, 2 filled */
    int     info_state;		/* 0 not read, 1 read, -1 failed */
    MSTORE_MSG_INFO info;	/* date and sizes of message idx */
    VSTRING *env, *addrs, *value;
    const char *err;
    unsigned depth;
    uint64_t max_modseq;
    bool    used_modseq;
    struct {
	const IMAP_ARG *arg;
	MSTORE_UIDS uids;
    }       sets[SET_CACHE];
    size_t  nsets;
} SCTX;

static bool search_key(SCTX *c, const IMAP_ARG *a, size_t n, size_t *i);

/* ci_find - case-insensitive (ASCII) substring search */
static bool ci_find(const char *hay, size_t hlen, const char *needle)
{
    size_t  nlen = strlen(needle);

    if (nlen == 0)
	return true;
    for (size_t i = 0; i + nlen <= hlen; i++) {
	size_t  k = 0;

	while (k < nlen && tolower((unsigned char) hay[i + k]) == tolower((unsigned char) needle[k]))
	    k++;
	if (k == nlen)
	    return true;
    }
    return false;
}

/* load - the message text and structure */
static bool load(SCTX *c)
{
    const char *err;

    if (c->loaded)
	return c->mime != NULL;
    c->loaded = true;
    vstring_reset(c->text);
    if (mstore_msg_read(c->s->folder, c->v->msgs[c->idx].uid, c->text, 0, &err) < 0)
	return false;
    c->mime = imap_mime_parse(STR(c->text), LEN(c->text));
    return true;
}

/* cmd_search_cache_addrs - queue the address fields record of uid */
void    cmd_search_cache_addrs(IMAPD_SESSION *s, uint32_t uid, const char *hdr, size_t len,
			               VSTRING *scratch)
{
    const char *err;

    vstring_reset(scratch);
    imap_mime_addr_fields(scratch, hdr, len);
    if (LEN(scratch) <= MSTORE_BLOB_MAX
	&& mstore_cache_put(s->folder, uid, MSTORE_CACHE_ADDRS, STR(scratch), LEN(scratch),
			    &err) < 0)
	msg_warn("%s: caching uid %u: %s", s->user, uid, err);
}

/* cached_field - a header value from the cache: 1 found, 0 absent, -1 not cached */
static int cached_field(SCTX *c, const char *field)
{
    uint32_t uid = c->v->msgs[c->idx].uid;
    const char *err;
    bool    subject = strcasecmp(field, "Subject") == 0;

    if (!subject && strcasecmp(field, "From") != 0 && strcasecmp(field, "To") != 0
	&& strcasecmp(field, "Cc") != 0 && strcasecmp(field, "Bcc") != 0)
	return -1;
    int    *state = subject ? &c->env_state : &c->addrs_state;
    VSTRING *blob = subject ? c->env : c->addrs;

    if (*state == 0)
	*state = mstore_cache_get(c->s->folder, uid, subject ? MSTORE_CACHE_ENVELOPE
				  : MSTORE_CACHE_ADDRS, blob, &err) == 1 ? 1 : -1;
    if (*state != 1)
	return -1;
    return subject ? imap_mime_envelope_get(STR(blob), LEN(blob), 1, c->value)
	: imap_mime_addr_field_get(STR(blob), LEN(blob), field, c->value);
}

/* cache_fill - after reading a file, cache what the next search needs */
static void cache_fill(SCTX *c)
{
    uint32_t uid = c->v->msgs[c->idx].uid;
    const char *hdr = STR(c->text) + c->mime->hdr_off;
    const char *err;

    if (c->env_state == 0)
	c->env_state = mstore_cache_get(c->s->folder, uid, MSTORE_CACHE_ENVELOPE, c->env,
					&err) == 1 ? 1 : -1;
    if (c->addrs_state == 0)
	c->addrs_state = mstore_cache_get(c->s->folder, uid, MSTORE_CACHE_ADDRS, c->addrs,
					  &err) == 1 ? 1 : -1;
    if (c->env_state < 0) {
	vstring_reset(c->value);
	imap_mime_envelope(c->value, hdr, c->mime->hdr_len);
	if (LEN(c->value) <= MSTORE_BLOB_MAX
	    && mstore_cache_put(c->s->folder, uid, MSTORE_CACHE_ENVELOPE, STR(c->value),
				LEN(c->value), &err) < 0)
	    msg_warn("%s: caching uid %u: %s", c->s->user, uid, err);
    }
    if (c->addrs_state < 0)
	cmd_search_cache_addrs(c->s, uid, hdr, c->mime->hdr_len, c->value);
    c->env_state = c->addrs_state = 2;	/* done for this message */
}

/* header_has - a header field contains value */
static bool header_has(SCTX *c, const char *field, const char *value)
{
    int     r;

    if ((r = cached_field(c, field)) >= 0)
	return r == 1 && ci_find(STR(c->value), LEN(c->value), value);
    if (!load(c))
	return false;
    if (c->env_state != 2)
	cache_fill(c);
    r = imap_mime_header_get(STR(c->text) + c->mime->hdr_off, c->mime->hdr_len, field, c->value);
    return r && ci_find(STR(c->value), LEN(c->value), value);
}

/* search_info - the internal date and sizes of the current message, read
 * from the index once per message; false when its record is gone */
static bool search_info(SCTX *c)
{
    const char *err;

    if (c->info_state == 0)
	c->info_state = mstore_msg_info(c->s->folder, c->v->msgs[c->idx].uid, &c->info,
					&err) < 0 ? -1 : 1;
    return c->info_state == 1;
}

/* day_of - days since the epoch of a time (UTC) */
static long day_of(time_t t)
{
    return (long) (t >= 0 ? t / 86400 : (t - 86399) / 86400);
}

/* sent_day - the day of the Date: header, -1 when unknown */
static long sent_day(SCTX *c)
{
    static const char *const mon[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
    "aug", "sep", "oct", "nov", "dec"};
    VSTRING *v;
    long    day = -1;

    if (!load(c))
	return -1;
    v = vstring_alloc(64);
    if (imap_mime_header_get(STR(c->text) + c->mime->hdr_off, c->mime->hdr_len, "Date", v)) {
	const char *p = STR(v);
	int     d = 0, m = -1, y = 0;

	while (*p && !isdigit((unsigned char) *p))
	    p++;
	while (isdigit((unsigned char) *p) && d < 100)
	    d = d * 10 + (*p++ - '0');
	while (*p == ' ')
	    p++;
	for (int k = 0; k < 12; k++)
	    if (strncasecmp(p, mon[k], 3) == 0)
		m = k;
	p += *p ? 3 : 0;
	while (*p == ' ')
	    p++;
	while (isdigit((unsigned char) *p) && y < 100000)
	    y = y * 10 + (*p++ - '0');
	if (y < 100)
	    y += y < 50 ? 2000 : 1900;
	if (d >= 1 && d <= 31 && m >= 0 && y >= 1900) {
	    struct tm tm = {.tm_mday = d, .tm_mon = m, .tm_year = y - 1900};

	    day = day_of(timegm(&tm));
	}
    }
    vstring_free(&v);
    return day;
}

/* in_set - the message is in a sequence/UID set (parsed once) */
static bool in_set(SCTX *c, const IMAP_ARG *a, bool uid)
{
    MSTORE_UIDS *u = NULL;
    uint32_t want = c->v->msgs[c->idx].uid;

    for (size_t k = 0; k < c->nsets; k++)
	if (c->sets[k].arg == a)
	    u = &c->sets[k].uids;
    if (u == NULL) {
	if (c->nsets == SET_CACHE)
	    return false;
	u = &c->sets[c->nsets].uids;
	c->sets[c->nsets++].arg = a;
	if (imap_seqset_parse(a->str, c->v, uid, u, &c->err) < 0)
	    return false;
    }
    size_t  lo = 0, hi = u->len;

    while (lo < hi) {
	size_t  mid = (lo + hi) / 2;

	if (u->uids[mid] < want)
	    lo = mid + 1;
	else
	    hi = mid;
    }
    return lo < u->len && u->uids[lo] == want;
}

/* is_set_atom - looks like a sequence set */
static bool is_set_atom(const IMAP_ARG *a)
{
    if (a->type != IMAP_ARG_ATOM || a->len == 0)
	return false;
    for (const char *p = a->str; *p; p++)
	if (!isdigit((unsigned char) *p) && *p != ':' && *p != ',' && *p != '*')
	    return false;
    return true;
}

/* next_string - the next argument as a string, or NULL (error set) */
static const char *next_string(SCTX *c, const IMAP_ARG *a, size_t n, size_t *i)
{
    const char *str;

    if (*i >= n || (str = imap_arg_astring(&a[*i])) == NULL) {
	c->err = "Missing search argument";
	return NULL;
    }
    (*i)++;
    return str;
}

/* search_key - evaluate the key at a[*i] (advancing *i) */
static bool search_key(SCTX *c, const IMAP_ARG *a, size_t n, size_t *i)
{
    const IMAP_ARG *k;
    const MSTORE_MSG *m;
    const char *str, *str2;
    char   *end;

    if (c->err)
	return false;
    if (*i >= n) {
	c->err = "Missing search key";
	return false;
    }
    k = &a[(*i)++];
    m = c->dry ? NULL : &c->v->msgs[c->idx];
    if (k->type == IMAP_ARG_LIST) {
	bool    all = true;
	size_t  j = 0;

	if (k->len == 0) {
	    c->err = "Empty search group";
	    return false;
	}
	while (j < k->len && !c->err)
	    if (!search_key(c, k->list, k->len, &j))
		all = false;
	return all;
    }
    if (k->type != IMAP_ARG_ATOM) {
	c->err = "Invalid search key";
	return false;
    }
    if (is_set_atom(k)) {
	if (c->dry) {
	    MSTORE_UIDS u = {0};
	    int     r = imap_seqset_parse(k->str, c->v, false, &u, &c->err);

	    mstore_uids_free(&u);
	    return r == 0;
	}
	return in_set(c, k, false);
    }
#define KEY(w) (strcasecmp(k->str, w) == 0)
#define FLAG(bit, want) (c->dry || (((m->flags & (bit)) != 0) == (want)))
    if (KEY("ALL"))
	return true;
    if (KEY("ANSWERED"))
	return FLAG(MSTORE_ANSWERED, true);
    if (KEY("UNANSWERED"))
	return FLAG(MSTORE_ANSWERED, false);
    if (KEY("DELETED"))
	return FLAG(MSTORE_DELETED, true);
    if (KEY("UNDELETED"))
	return FLAG(MSTORE_DELETED, false);
    if (KEY("DRAFT"))
	return FLAG(MSTORE_DRAFT, true);
    if (KEY("UNDRAFT"))
	return FLAG(MSTORE_DRAFT, false);
    if (KEY("FLAGGED"))
	return FLAG(MSTORE_FLAGGED, true);
    if (KEY("UNFLAGGED"))
	return FLAG(MSTORE_FLAGGED, false);
    if (KEY("SEEN"))
	return FLAG(MSTORE_SEEN, true);
    if (KEY("UNSEEN"))
	return FLAG(MSTORE_SEEN, false);
    if (KEY("RECENT"))
	return c->dry || m->recent;
    if (KEY("OLD"))
	return c->dry || !m->recent;
    if (KEY("NEW"))
	return c->dry || (m->recent && !(m->flags & MSTORE_SEEN));
    if (KEY("NOT")) {
	if (++c->depth > 64) {
	    c->err = "Search keys nested too deep";
	    return false;
	}
	bool    r = !search_key(c, a, n, i);

	c->depth--;
	return c->dry ? true : r;
    }
    if (KEY("OR")) {
	if (++c->depth > 64) {
	    c->err = "Search keys nested too deep";
	    return false;
	}
	bool    r1 = search_key(c, a, n, i);
	bool    r2 = search_key(c, a, n, i);

	c->depth--;
	return r1 || r2;
    }
    if (KEY("KEYWORD") || KEY("UNKEYWORD")) {
	bool    want = KEY("KEYWORD"), has = false;

	if ((str = next_string(c, a, n, i)) == NULL)
	    return false;
	if (c->dry)
	    return true;
	for (unsigned b = 0; b < c->v->keyword_count && b < 32; b++)
	    if (strcasecmp(c->v->keywords[b], str) == 0 && (m->keywords & (1u << b)))
		has = true;
	return has == want;
    }
    if (KEY("LARGER") || KEY("SMALLER")) {
	bool    larger = KEY("LARGER");
	uint64_t size, vs;

	if ((str = next_string(c, a, n, i)) == NULL)
	    return false;
	size = strtoull(str, &end, 10);
	if (*end || !isdigit((unsigned char) *str)) {
	    c->err = "Invalid size";
	    return false;
	}
	if (c->dry)
	    return true;
	if (!search_info(c))
	    return false;
	if ((vs = c->info.vsize) == 0) {
	    if (mstore_msg_vsize(c->s->folder, m->uid, &vs, &str2) < 0)
		vs = c->info.size;
	    else
		c->info.vsize = vs;
	}
	return larger ? vs > size : vs < size;
    }
    if (KEY("UID")) {
	if (*i >= n || !is_set_atom(&a[*i])) {
	    c->err = "Invalid UID set";
	    return false;
	}
	k = &a[(*i)++];
	if (c->dry) {
	    MSTORE_UIDS u = {0};
	    int     r = imap_seqset_parse(k->str, c->v, true, &u, &c->err);

	    mstore_uids_free(&u);
	    return r == 0;
	}
	return in_set(c, k, true);
    }
    if (KEY("MODSEQ")) {
	uint64_t ms;

	/* optional entry name and type (RFC 7162) */
	if (*i + 2 < n + 1 && *i < n && imap_arg_string(&a[*i]) != NULL)
	    *i += 2;
	if ((str = next_string(c, a, n, i)) == NULL)
	    return false;
	ms = strtoull(str, &end, 10);
	if (*end || !isdigit((unsigned char) *str)) {
	    c->err = "Invalid MODSEQ";
	    return false;
	}
	c->used_modseq = true;
	if (c->dry)
	    return true;
	return m->modseq >= ms;
    }
    if (KEY("BEFORE") || KEY("ON") || KEY("SINCE") || KEY("SENTBEFORE") || KEY("SENTON")
	|| KEY("SENTSINCE")) {
	bool    sent = toupper((unsigned char) k->str[0]) == 'S' && toupper((unsigned char) k->str[1]) == 'E'
	&& toupper((unsigned char) k->str[2]) == 'N';
	const char *op = k->str + (sent ? 4 : 0);
	time_t  when;
	long    day, have;

	if ((str = next_string(c, a, n, i)) == NULL)
	    return false;
	if (imapd_date_parse(str, false, &when) < 0) {
	    c->err = "Invalid search date";
	    return false;
	}
	if (c->dry)
	    return true;
	day = day_of(when);
	have = sent ? sent_day(c) : search_info(c) ? day_of((time_t) c->info.internal_date) : -1;
	if (have < 0)
	    return false;
	if (strcasecmp(op, "BEFORE") == 0)
	    return have < day;
	if (strcasecmp(op, "ON") == 0)
	    return have == day;
	return have >= day;
    }
    if (KEY("FROM") || KEY("TO") || KEY("CC") || KEY("BCC") || KEY("SUBJECT")) {
	const char *field = KEY("FROM") ? "From" : KEY("TO") ? "To" : KEY("CC") ? "Cc"
	: KEY("BCC") ? "Bcc" : "Subject";

	if ((str = next_string(c, a, n, i)) == NULL)
	    return false;
	return c->dry || header_has(c, field, str);
    }
    if (KEY("HEADER")) {
	if ((str = next_string(c, a, n, i)) == NULL || (str2 = next_string(c, a, n, i)) == NULL)
	    return false;
	return c->dry || header_has(c, str, str2);
    }
    if (KEY("BODY") || KEY("TEXT")) {
	bool    body = KEY("BODY");

	if ((str = next_string(c, a, n, i)) == NULL)
	    return false;
	if (c->dry)
	    return true;
	if (!load(c))
	    return false;
	if (body)
	    return ci_find(STR(c->text) + c->mime->body_off, c->mime->body_len, str);
	return ci_find(STR(c->text), LEN(c->text), str);
    }
#undef KEY
#undef FLAG
    c->err = "Unknown search key";
    return false;
}

/* cmd_search - SEARCH */
void    cmd_search(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    SCTX    c;
    size_t  start = 0, i;
    MSTORE_UIDS found = {0};
    bool    esearch = false;
    int     ret = 0;
    VSTRING *out = vstring_alloc(256);

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.v = mstore_folder_view(s->folder);
    c.text = vstring_alloc(4096);
    c.env = vstring_alloc(256);
    c.addrs = vstring_alloc(128);
    c.value = vstring_alloc(128);
    if (count >= 2 && imap_arg_is_atom(&args[0], "RETURN")) {
	if (args[1].type != IMAP_ARG_LIST) {
	    imapd_bad(s, "Invalid RETURN options");
	    goto out;
	}
	esearch = true;
	for (size_t k = 0; k < args[1].len; k++) {
	    const IMAP_ARG *o = &args[1].list[k];

	    if (imap_arg_is_atom(o, "MIN"))
		ret |= RET_MIN;
	    else if (imap_arg_is_atom(o, "MAX"))
		ret |= RET_MAX;
	    else if (imap_arg_is_atom(o, "COUNT"))
		ret |= RET_COUNT;
	    else if (imap_arg_is_atom(o, "ALL"))
		ret |= RET_ALL;
	    else {
		imapd_bad(s, "Unknown RETURN option");
		goto out;
	    }
	}
	if (ret == 0)
	    ret = RET_ALL;
	start = 2;
    }
    if (count >= start + 1 && imap_arg_is_atom(&args[start], "CHARSET")) {
	if (count < start + 2 || imap_arg_astring(&args[start + 1]) == NULL) {
	    imapd_bad(s, "Missing charset");
	    goto out;
	}
	if (strcasecmp(args[start + 1].str, "UTF-8") != 0
	    && strcasecmp(args[start + 1].str, "US-ASCII") != 0) {
	    imapd_no(s, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	    goto out;
	}
	start += 2;
    }
    if (start >= count) {
	imapd_bad(s, "Missing search keys");
	goto out;
    }
    /* dry run: syntax */
    c.dry = true;
    for (i = start; i < count && !c.err;)
	search_key(&c, args, count, &i);
    if (c.err) {
	imapd_bad(s, "%s", c.err);
	goto out;
    }
    c.dry = false;
    vstring_cat(out, "* SEARCH");
    for (c.idx = 0; c.idx < c.v->count; c.idx++) {
	bool    match = true;

	c.loaded = false;
	c.env_state = c.addrs_state = c.info_state = 0;
	for (i = start; i < count && match;)
	    match = search_key(&c, args, count, &i);
	if (c.mime)
	    imap_mime_free(&c.mime);
	if (c.err) {
	    imapd_bad(s, "%s", c.err);
	    goto out;
	}
	if (match) {
	    uint32_t id = s->in_uid ? c.v->msgs[c.idx].uid : c.idx + 1;

	    mstore_uids_add(&found, id);
	    vstring_fmt_append(out, " %u", id);
	    if (c.v->msgs[c.idx].modseq > c.max_modseq)
		c.max_modseq = c.v->msgs[c.idx].modseq;
	}
    }
    if (esearch) {
	/* RFC 4731: one ESEARCH line with what was asked for */
	vstring_fmt(out, "* ESEARCH (TAG \"%s\")%s", s->tag, s->in_uid ? " UID" : "");
	if ((ret & RET_MIN) && found.len)
	    vstring_fmt_append(out, " MIN %u", found.uids[0]);
	if ((ret & RET_MAX) && found.len)
	    vstring_fmt_append(out, " MAX %u", found.uids[found.len - 1]);
	if (ret & RET_COUNT)
	    vstring_fmt_append(out, " COUNT %zu", found.len);
	if ((ret & RET_ALL) && found.len) {
	    vstring_cat(out, " ALL ");
	    imap_seqset_format(out, &found);
	}
	if (c.used_modseq && c.max_modseq)
	    vstring_fmt_append(out, " MODSEQ %llu", (unsigned long long) c.max_modseq);
    } else if (c.used_modseq && c.max_modseq)
	vstring_fmt_append(out, " (MODSEQ %llu)", (unsigned long long) c.max_modseq);
    if (c.used_modseq)
	s->condstore = true;
    vstring_cat(out, "\r\n");
    imapd_send_raw(s, STR(out), LEN(out));
    imapd_ok(s, "Search completed.");
out:
    for (size_t k = 0; k < c.nsets; k++)
	mstore_uids_free(&c.sets[k].uids);
    mstore_uids_free(&found);
    if (c.mime)
	imap_mime_free(&c.mime);
    vstring_free(&c.text);
    vstring_free(&c.env);
    vstring_free(&c.addrs);
    vstring_free(&c.value);
    vstring_free(&out);
}
