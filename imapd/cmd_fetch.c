/* cmd_fetch - FETCH / UID FETCH: FLAGS, UID, INTERNALDATE, RFC822.SIZE,
 * RFC822, RFC822.HEADER, RFC822.TEXT, ENVELOPE, BODY, BODYSTRUCTURE,
 * BODY[section]<partial>, BODY.PEEK, MODSEQ, the ALL/FAST/FULL macros
 * and the CHANGEDSINCE modifier (CONDSTORE).
 *
 * Items are parsed once into a list, then each message is read only when
 * an item needs its text: ENVELOPE, BODY and BODYSTRUCTURE come from the
 * index's cache (mstore_cache_get) once computed, so a client listing a
 * folder's envelopes reads each file once, ever (RFC822.SIZE computed from
 * a read file is remembered too; the cache writes of one command reach
 * the index in one transaction, see imapd_dispatch). Fetching a body part without PEEK sets \Seen (unless
 * the mailbox is read-only) and reports the new FLAGS.
 * Limits: 100 items per command; messages are read whole (bounded by
 * the size they were accepted with). In a post-login server a FETCH
 * pauses between messages while the client has much output to read
 * (imapd_congested; the loop resumes it).
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "imap_mime.h"
#include "imapd.h"
#include "msg.h"
#include "mymalloc.h"

#define FI_FLAGS	1
#define FI_UID		2
#define FI_INTERNALDATE	3
#define FI_SIZE		4
#define FI_ENVELOPE	5
#define FI_BODY		6
#define FI_BODYSTRUCTURE 7
#define FI_SECTION	8
#define FI_MODSEQ	9
#define FI_RFC822	10
#define FI_RFC822_HEADER 11
#define FI_RFC822_TEXT	12

#define FETCH_MAX_ITEMS 100

typedef struct fetch_item {
    int     kind;
    bool    peek;
    IMAP_SECTION sec;
    bool    partial;
    uint64_t offset, length;
} FETCH_ITEM;

typedef struct fetch_ctx {
    FETCH_ITEM items[FETCH_MAX_ITEMS];
    size_t  count;
    bool    need_text, need_mime, sets_seen, has_flags, has_uid, has_modseq;
    bool    need_raw;		/* sections or RFC822*: the file must be read */
    VSTRING *blob[3];		/* ENVELOPE, BODYSTRUCTURE, BODY of a message */
} FETCH_CTX;

/* Blob slots and their mstore cache kinds. */
#define BLOB_ENVELOPE	0
#define BLOB_BS		1
#define BLOB_BODY	2
static const int blob_kind[3] = {MSTORE_CACHE_ENVELOPE, MSTORE_CACHE_BODYSTRUCTURE,
MSTORE_CACHE_BODY};

/* fetch_add - append a simple item */
static FETCH_ITEM *fetch_add(FETCH_CTX *c, int kind)
{
    FETCH_ITEM *it;

    if (c->count >= FETCH_MAX_ITEMS)
	return NULL;
    it = &c->items[c->count++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    switch (kind) {
    case FI_FLAGS:
	c->has_flags = true;
	break;
    case FI_UID:
	c->has_uid = true;
	break;
    case FI_MODSEQ:
	c->has_modseq = true;
	break;
    case FI_ENVELOPE:
    case FI_BODY:
    case FI_BODYSTRUCTURE:
	c->need_text = c->need_mime = true;
	break;
    case FI_RFC822:
    case FI_RFC822_TEXT:
	c->sets_seen = true;
	/* FALLTHROUGH */
    case FI_RFC822_HEADER:
	c->need_text = c->need_mime = c->need_raw = true;
	break;
    }
    return it;
}

/* fetch_section_item - BODY[...]<o.n> / BODY.PEEK[...]; -1 with *err */
static int fetch_section_item(FETCH_CTX *c, const char *atom, const char **err)
{
    const char *open = strchr(atom, '['), *close, *end = atom + strlen(atom);
    FETCH_ITEM *it;
    bool    peek;

    if ((size_t) (open - atom) == 4 && strncasecmp(atom, "BODY", 4) == 0)
	peek = false;
    else if ((size_t) (open - atom) == 9 && strncasecmp(atom, "BODY.PEEK", 9) == 0)
	peek = true;
    else {
	*err = "Invalid fetch item";
	return -1;
    }
    if (end[-1] == '>') {
	const char *lt = strrchr(atom, '<');

	if (lt == NULL || lt == atom || lt[-1] != ']') {
	    *err = "Invalid partial";
	    return -1;
	}
	close = lt - 1;
    } else
	close = end - 1;
    if (*close != ']' || close < open) {
	*err = "Invalid fetch item";
	return -1;
    }
    if ((it = fetch_add(c, FI_SECTION)) == NULL) {
	*err = "Too many fetch items";
	return -1;
    }
    it->peek = peek;
    if (imap_section_parse(open + 1, (size_t) (close - open - 1), &it->sec, err) < 0) {
	imap_section_free(&it->sec);
	c->count--;
	return -1;
    }
    if (close + 1 < end) {
	char   *e;
	const char *p = close + 2;

	if (*p < '0' || *p > '9')
	    goto bad_partial;
	it->offset = strtoull(p, &e, 10);
	if (*e != '.' || e[1] < '1' || e[1] > '9')
	    goto bad_partial;
	it->length = strtoull(e + 1, &e, 10);
	if (*e != '>' || e + 1 != end || it->length == 0)
	    goto bad_partial;
	it->partial = true;
    }
    c->need_text = c->need_mime = c->need_raw = true;
    if (!peek)
	c->sets_seen = true;
    return 0;
bad_partial:
    *err = "Invalid partial";
    return -1;
}

/* fetch_parse_item - one item atom */
static int fetch_parse_item(FETCH_CTX *c, const IMAP_ARG *arg, bool macro_ok, const char **err)
{
    static const struct {
	const char *name;
	int     kind;
    }       simple[] = {
	{"FLAGS", FI_FLAGS}, {"UID", FI_UID}, {"INTERNALDATE", FI_INTERNALDATE},
	{"RFC822.SIZE", FI_SIZE}, {"ENVELOPE", FI_ENVELOPE}, {"BODY", FI_BODY},
	{"BODYSTRUCTURE", FI_BODYSTRUCTURE}, {"MODSEQ", FI_MODSEQ}, {"RFC822", FI_RFC822},
	{"RFC822.HEADER", FI_RFC822_HEADER}, {"RFC822.TEXT", FI_RFC822_TEXT},
    };

    if (arg->type != IMAP_ARG_ATOM) {
	*err = "Invalid fetch item";
	return -1;
    }
    if (macro_ok) {
	int     full = imap_arg_is_atom(arg, "FULL"), all = imap_arg_is_atom(arg, "ALL");

	if (full || all || imap_arg_is_atom(arg, "FAST")) {
	    fetch_add(c, FI_FLAGS);
	    fetch_add(c, FI_INTERNALDATE);
	    fetch_add(c, FI_SIZE);
	    if (full || all)
		fetch_add(c, FI_ENVELOPE);
	    if (full)
		fetch_add(c, FI_BODY);
	    return 0;
	}
    }
    if (strchr(arg->str, '['))
	return fetch_section_item(c, arg->str, err);
    for (size_t i = 0; i < PH_ARRAY_LEN(simple); i++) {
	if (strcasecmp(arg->str, simple[i].name) == 0) {
	    if (fetch_add(c, simple[i].kind) == NULL) {
		*err = "Too many fetch items";
		return -1;
	    }
	    return 0;
	}
    }
    *err = "Unknown fetch item";
    return -1;
}

/* fetch_body_part - append " {n}\r\ndata" for a slice of content */
static void fetch_literal(IMAPD_SESSION *s, const FETCH_ITEM *it, VSTRING *content)
{
    size_t  off = 0, len = LEN(content);

    if (it->partial) {
	off = it->offset > LEN(content) ? LEN(content) : (size_t) it->offset;
	len = LEN(content) - off;
	if (it->length < len)
	    len = (size_t) it->length;
    }
    imapd_send(s, " {%zu}\r\n", len);
    imapd_send_raw(s, STR(content) + off, len);
}

/* fetch_message - one FETCH response */
static bool fetch_message(IMAPD_SESSION *s, FETCH_CTX *c, uint32_t uid, bool add_flags,
			  VSTRING *text, VSTRING *buf)
{
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);
    uint32_t seq = mstore_folder_seq(s->folder, uid);
    const MSTORE_MSG *m;
    MSTORE_MSG_INFO info = {0};
    IMAP_MIME_PART *mime = NULL;
    const char *err;
    bool    first = true;

    if (seq == 0)
	return false;
    m = &v->msgs[seq - 1];
    /* ENVELOPE / BODYSTRUCTURE / BODY from the index cache when there */
    bool    read_file = c->need_raw;
    bool    want[3] = {false, false, false};
    bool    want_info = false;

    for (size_t i = 0; i < c->count; i++) {
	if (c->items[i].kind == FI_ENVELOPE)
	    want[BLOB_ENVELOPE] = true;
	else if (c->items[i].kind == FI_BODYSTRUCTURE)
	    want[BLOB_BS] = true;
	else if (c->items[i].kind == FI_BODY)
	    want[BLOB_BODY] = true;
	else if (c->items[i].kind == FI_INTERNALDATE || c->items[i].kind == FI_SIZE)
	    want_info = true;
    }
    /* INTERNALDATE and sizes from the index record, before any output */
    if (want_info && mstore_msg_info(s->folder, uid, &info, &err) < 0) {
	msg_warn("%s: FETCH uid %u: %s", s->user, uid, err);
	return false;
    }
    bool    have[3] = {false, false, false};

    for (int b = 0; b < 3; b++) {
	if (!want[b])
	    continue;
	vstring_reset(c->blob[b]);
	have[b] = mstore_cache_get(s->folder, uid, blob_kind[b], c->blob[b], &err) == 1;
	if (!have[b])
	    read_file = true;
    }
    if (read_file) {
	vstring_reset(text);
	if (mstore_msg_read(s->folder, uid, text, 0, &err) < 0) {
	    msg_warn("%s: FETCH uid %u: %s", s->user, uid, err);
	    return false;
	}
	mime = imap_mime_parse(STR(text), LEN(text));
	for (int b = 0; b < 3; b++) {
	    if (!want[b] || have[b])
		continue;
	    vstring_reset(c->blob[b]);
	    if (b == BLOB_ENVELOPE)
		imap_mime_envelope(c->blob[b], STR(text) + mime->hdr_off, mime->hdr_len);
	    else
		imap_mime_bodystructure(c->blob[b], mime, STR(text), b == BLOB_BS);
	    if (LEN(c->blob[b]) <= MSTORE_BLOB_MAX
		&& mstore_cache_put(s->folder, uid, blob_kind[b], STR(c->blob[b]),
				    LEN(c->blob[b]), &err) < 0)
		msg_warn("%s: caching uid %u: %s", s->user, uid, err);
	    /* with the envelope, the address fields SEARCH matches on */
	    if (b == BLOB_ENVELOPE)
		cmd_search_cache_addrs(s, uid, STR(text) + mime->hdr_off, mime->hdr_len, buf);
	}
    }
    imapd_send(s, "* %u FETCH (", seq);
#define SEP() do { if (!first) imapd_send(s, " "); first = false; } while (0)
    if (s->in_uid && !c->has_uid) {
	SEP();
	imapd_send(s, "UID %u", uid);
    }
    if (add_flags && !c->has_flags) {
	SEP();
	vstring_reset(buf);
	imapd_flags_format(buf, v, m);
	imapd_send(s, "FLAGS %s", STR(buf));
    }
    if (s->condstore && !c->has_modseq) {
	SEP();
	imapd_send(s, "MODSEQ (%llu)", (unsigned long long) m->modseq);
    }
    for (size_t i = 0; i < c->count; i++) {
	const FETCH_ITEM *it = &c->items[i];
	uint64_t vsize;

	SEP();
	vstring_reset(buf);
	switch (it->kind) {
	case FI_FLAGS:
	    imapd_flags_format(buf, v, m);
	    imapd_send(s, "FLAGS %s", STR(buf));
	    break;
	case FI_UID:
	    imapd_send(s, "UID %u", uid);
	    break;
	case FI_MODSEQ:
	    imapd_send(s, "MODSEQ (%llu)", (unsigned long long) m->modseq);
	    break;
	case FI_INTERNALDATE:
	    imapd_date_format(buf, (time_t) info.internal_date);
	    imapd_send(s, "INTERNALDATE %s", STR(buf));
	    break;
	case FI_SIZE:
	    if (mime) {
		vsize = imap_mime_crlf_size(STR(text), LEN(text));
		if (vsize != info.vsize)
		    mstore_msg_vsize_set(s->folder, uid, vsize);
	    } else if ((vsize = info.vsize) == 0
		       && mstore_msg_vsize(s->folder, uid, &vsize, &err) < 0)
		vsize = info.size;
	    imapd_send(s, "RFC822.SIZE %llu", (unsigned long long) vsize);
	    break;
	case FI_ENVELOPE:
	    imapd_send(s, "ENVELOPE ");
	    imapd_send_raw(s, STR(c->blob[BLOB_ENVELOPE]), LEN(c->blob[BLOB_ENVELOPE]));
	    break;
	case FI_BODY:
	case FI_BODYSTRUCTURE:{
		VSTRING *b = c->blob[it->kind == FI_BODY ? BLOB_BODY : BLOB_BS];

		imapd_send(s, "%s ", it->kind == FI_BODY ? "BODY" : "BODYSTRUCTURE");
		imapd_send_raw(s, STR(b), LEN(b));
		break;
	    }
	case FI_RFC822:
	case FI_RFC822_HEADER:
	case FI_RFC822_TEXT:{
		IMAP_SECTION sec = {.kind = it->kind == FI_RFC822 ? IMAP_SECTION_ALL
		    : it->kind == FI_RFC822_HEADER ? IMAP_SECTION_HEADER : IMAP_SECTION_TEXT};

		imap_section_get(buf, mime, STR(text), &sec);
		imapd_send(s, "%s", it->kind == FI_RFC822 ? "RFC822" : it->kind == FI_RFC822_HEADER
			   ? "RFC822.HEADER" : "RFC822.TEXT");
		fetch_literal(s, it, buf);
		break;
	    }
	case FI_SECTION:{
		VSTRING *name = vstring_alloc(32);

		imap_section_name(name, &it->sec);
		imapd_send(s, "BODY[%s]", STR(name));
		if (it->partial)
		    imapd_send(s, "<%llu>", (unsigned long long) it->offset);
		vstring_free(&name);
		imap_section_get(buf, mime, STR(text), &it->sec);
		fetch_literal(s, it, buf);
		break;
	    }
	}
    }
    imapd_send(s, ")\r\n");
    imap_mime_free(&mime);
    return true;
}

/* fetch_uid_cmp - ascending UIDs */
static int fetch_uid_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return x < y ? -1 : x > y;
}

/* A FETCH in progress: the messages of set from index next on. */
typedef struct fetch_run {
    FETCH_CTX *c;
    MSTORE_UIDS set, unseen;
    size_t  next;
    size_t  missing;
    bool    have_changedsince;
    uint64_t changedsince;
    VSTRING *text, *buf;
} FETCH_RUN;

/* fetch_ctx_free - release parsed items */
static void fetch_ctx_free(FETCH_CTX *c)
{
    for (size_t i = 0; i < c->count; i++)
	imap_section_free(&c->items[i].sec);
    for (int b = 0; b < 3; b++)
	vstring_free(&c->blob[b]);
    myfree(c);
}

/* fetch_run_free - release a FETCH in progress (IMAPD_CONT free) */
static void fetch_run_free(void *ctx)
{
    FETCH_RUN *run = ctx;

    fetch_ctx_free(run->c);
    mstore_uids_free(&run->set);
    mstore_uids_free(&run->unseen);
    vstring_free(&run->text);
    vstring_free(&run->buf);
    myfree(run);
}

/* fetch_run - send the responses of the messages left; false when the
 * client must read first (resume later), true when done (tagged reply
 * set, run freed) */
static bool fetch_run(IMAPD_SESSION *s, void *ctx)
{
    FETCH_RUN *run = ctx;
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);

    while (run->next < run->set.len) {
	uint32_t uid = run->set.uids[run->next++];
	uint32_t seq = mstore_folder_seq(s->folder, uid);
	bool    add_flags = false;

	if (seq == 0)
	    continue;
	if (run->have_changedsince && v->msgs[seq - 1].modseq <= run->changedsince)
	    continue;
	for (size_t k = 0; k < run->unseen.len && !add_flags; k++)
	    add_flags = run->unseen.uids[k] == uid;
	if (!fetch_message(s, run->c, uid, add_flags, run->text, run->buf))
	    run->missing++;
	if (imapd_congested(s) && run->next < run->set.len) {
	    /* no index snapshot held while the client reads */
	    mstore_release(s->store);
	    return false;
	}
    }
    if (run->missing)
	imapd_no(s, "Some messages could not be FETCHed");
    else
	imapd_ok(s, "Fetch completed.");
    fetch_run_free(run);
    return true;
}

/* cmd_fetch - FETCH */
void    cmd_fetch(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    FETCH_CTX *c = mymalloc(sizeof(*c));
    FETCH_RUN *run;
    MSTORE_UIDS set = {0}, unseen = {0};
    const MSTORE_VIEW *v = mstore_folder_view(s->folder);
    const char *err;
    uint64_t changedsince = 0;
    bool    have_changedsince = false, vanished = false;
    VSTRING *text = vstring_alloc(4096), *buf = vstring_alloc(1024);

    memset(c, 0, sizeof(*c));
    for (int b = 0; b < 3; b++)
	c->blob[b] = vstring_alloc(256);
    if (count < 2 || count > 3 || args[0].type != IMAP_ARG_ATOM) {
	imapd_bad(s, "Invalid FETCH arguments");
	goto out;
    }
    if (imap_seqset_parse(args[0].str, v, s->in_uid, &set, &err) < 0) {
	imapd_bad(s, "%s", err);
	goto out;
    }
    if (args[1].type == IMAP_ARG_LIST) {
	for (size_t i = 0; i < args[1].len; i++)
	    if (fetch_parse_item(c, &args[1].list[i], false, &err) < 0) {
		imapd_bad(s, "%s", err);
		goto out;
	    }
    } else if (fetch_parse_item(c, &args[1], true, &err) < 0) {
	imapd_bad(s, "%s", err);
	goto out;
    }
    if (count == 3) {
	char   *e;
	const IMAP_ARG *mod = &args[2];

	if (mod->type != IMAP_ARG_LIST || mod->len == 0) {
	    imapd_bad(s, "Invalid FETCH modifier");
	    goto out;
	}
	for (size_t k = 0; k < mod->len; k++) {
	    if (imap_arg_is_atom(&mod->list[k], "CHANGEDSINCE") && k + 1 < mod->len
		&& mod->list[k + 1].type == IMAP_ARG_ATOM) {
		changedsince = strtoull(mod->list[k + 1].str, &e, 10);
		if (*e || !isdigit((unsigned char) mod->list[k + 1].str[0])) {
		    imapd_bad(s, "Invalid CHANGEDSINCE");
		    goto out;
		}
		have_changedsince = true;
		k++;
	    } else if (imap_arg_is_atom(&mod->list[k], "VANISHED") && s->qresync && s->in_uid) {
		vanished = true;
	    } else {
		imapd_bad(s, "Invalid FETCH modifier");
		goto out;
	    }
	}
	if (vanished && !have_changedsince) {
	    imapd_bad(s, "VANISHED needs CHANGEDSINCE");
	    goto out;
	}
	s->condstore = true;
    }
    if (vanished) {
	/* RFC 7162 3.2.6: UIDs of the set expunged since CHANGEDSINCE */
	MSTORE_CHANGES ch;
	MSTORE_UIDS gone = {0};

	memset(&ch, 0, sizeof(ch));
	if (mstore_changes_since(s->folder, changedsince, &ch, &err) == 0) {
	    for (size_t k = 0; k < ch.expunged.len; k++)
		if (imap_seqset_contains(args[0].str, ch.expunged.uids[k]))
		    mstore_uids_add(&gone, ch.expunged.uids[k]);
	    qsort(gone.uids, gone.len, sizeof(*gone.uids), fetch_uid_cmp);
	    imapd_vanished(s, &gone, true);
	}
	mstore_changes_free(&ch);
	mstore_uids_free(&gone);
    }
    if (c->has_modseq)
	s->condstore = true;
    /* \Seen first, so the FLAGS we send are the new ones */
    if (c->sets_seen && !s->readonly) {
	for (size_t i = 0; i < set.len; i++) {
	    uint32_t seq = mstore_folder_seq(s->folder, set.uids[i]);

	    if (seq && !(v->msgs[seq - 1].flags & MSTORE_SEEN))
		mstore_uids_add(&unseen, set.uids[i]);
	}
	if (unseen.len && mstore_store_flags(s->folder, &unseen, MSTORE_FLAGS_ADD, MSTORE_SEEN,
					     0, 0, NULL, &err) < 0)
	    msg_warn("%s: setting \\Seen: %s", s->user, err);
	v = mstore_folder_view(s->folder);
    }
    run = mymalloc(sizeof(*run));
    memset(run, 0, sizeof(*run));
    run->c = c;
    run->set = set;
    run->unseen = unseen;
    run->have_changedsince = have_changedsince;
    run->changedsince = changedsince;
    run->text = text;
    run->buf = buf;
    if (!fetch_run(s, run)) {
	s->cont.run = fetch_run;
	s->cont.free = fetch_run_free;
	s->cont.ctx = run;
    }
    return;

out:
    fetch_ctx_free(c);
    mstore_uids_free(&set);
    mstore_uids_free(&unseen);
    vstring_free(&text);
    vstring_free(&buf);
}
