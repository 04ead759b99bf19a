/* cmd_list.c - LIST, LSUB, NAMESPACE, STATUS, and LIST-EXTENDED
 * (RFC 5258) with LIST-STATUS (RFC 5819) and RFC 6154's SPECIAL-USE.
 *
 * Patterns: reference and pattern are joined, '*' matches anything and
 * '%' anything but the hierarchy separator; INBOX matches in any case.
 * Matching is on UTF-8 names (patterns are decoded from modified UTF-7
 * first); the backtracking matcher is bounded by limiting patterns to
 * 16 wildcards.
 *
 * Extended LIST: LIST [(select-opts)] ref (pat | (pat ...)) [RETURN
 * (return-opts)]. Selection options SUBSCRIBED, REMOTE (no remote
 * mailboxes here: a no-op), RECURSIVEMATCH (only with SUBSCRIBED or
 * SPECIAL-USE, else BAD) and SPECIAL-USE; return options SUBSCRIBED,
 * CHILDREN, SPECIAL-USE and STATUS (items). Children and special-use
 * attributes are always returned (RFC 5258 and 6154 allow it). Names
 * that do not exist but are shown (subscribed, or a parent) carry
 * \NonExistent; RECURSIVEMATCH adds ("CHILDINFO" ("SUBSCRIBED")) etc.
 * to a matching name with a descendant that satisfies the selection.
 * STATUS data follows the LIST line of each selectable mailbox; a
 * mailbox whose status cannot be read gets none. Unknown options and
 * malformed syntax are BAD. Limits: 32 patterns.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "htable.h"
#include "imap_utf7.h"
#include "imapd.h"
#include "msg.h"
#include "mymalloc.h"

/* status_items_ok - a valid, non-empty STATUS item list */
static bool status_items_ok(const IMAP_ARG *items)
{
    if (items->type != IMAP_ARG_LIST || items->len == 0)
	return false;
    for (size_t i = 0; i < items->len; i++) {
	const IMAP_ARG *a = &items->list[i];

	if (!(imap_arg_is_atom(a, "MESSAGES") || imap_arg_is_atom(a, "RECENT")
	      || imap_arg_is_atom(a, "UIDNEXT") || imap_arg_is_atom(a, "UIDVALIDITY")
	      || imap_arg_is_atom(a, "UNSEEN") || imap_arg_is_atom(a, "HIGHESTMODSEQ")))
	    return false;
    }
    return true;
}

/* status_send - the untagged STATUS of a UTF-8 mailbox name; -1 (*err_r)
 * when it cannot be read */
static int status_send(IMAPD_SESSION *s, const char *name, const IMAP_ARG *items,
		               const char **err_r)
{
    VSTRING *line;
    MSTORE_VIEW v;
    uint32_t unseen = 0;

    if (mstore_status(s->store, name, &v, &unseen, err_r) < 0)
	return -1;
    line = vstring_alloc(128);
    vstring_cat(line, "* STATUS ");
    imapd_quote_mailbox(line, name);
    vstring_cat(line, " (");
    for (size_t i = 0; i < items->len; i++) {
	const IMAP_ARG *a = &items->list[i];
	unsigned long long val = imap_arg_is_atom(a, "MESSAGES") ? v.count
	    : imap_arg_is_atom(a, "RECENT") ? v.recent
	    : imap_arg_is_atom(a, "UIDNEXT") ? v.uidnext
	    : imap_arg_is_atom(a, "UIDVALIDITY") ? v.uidvalidity
	    : imap_arg_is_atom(a, "UNSEEN") ? unseen : v.highestmodseq;
	char    upper[32];
	size_t  k;

	for (k = 0; a->str[k] && k < sizeof(upper) - 1; k++)
	    upper[k] = (char) toupper((unsigned char) a->str[k]);
	upper[k] = 0;
	vstring_fmt_append(line, "%s%s %llu", i ? " " : "", upper, val);
    }
    vstring_cat(line, ")\r\n");
    imapd_send_raw(s, STR(line), LEN(line));
    vstring_free(&line);
    return 0;
}

/* list_match - wildcard match of name against pattern */
static bool list_match(const char *pat, const char *name, char sep)
{
    while (*pat) {
	if (*pat == '*' || *pat == '%') {
	    bool    star = *pat == '*';

	    pat++;
	    for (const char *n = name;; n++) {
		if (list_match(pat, n, sep))
		    return true;
		if (*n == 0 || (!star && *n == sep))
		    return false;
	    }
	}
	if (*name == 0 || *pat != *name)
	    return false;
	pat++;
	name++;
    }
    return *name == 0;
}

/* list_pattern - reference + pattern as UTF-8; -1 when too complex */
static int list_pattern(const char *ref, const char *pat, VSTRING *out)
{
    VSTRING *raw = vstring_alloc(64);
    int     wild = 0;

    vstring_set(raw, ref);
    vstring_cat(raw, pat);
    for (const char *p = STR(raw); *p; p++)
	if (*p == '*' || *p == '%')
	    wild++;
    vstring_reset(out);
    if (imap_utf7_to_utf8(STR(raw), LEN(raw), out) < 0)
	vstring_set(out, STR(raw));
    if (strncasecmp(STR(out), "INBOX", 5) == 0 && (STR(out)[5] == 0))
	vstring_set(out, "INBOX");
    vstring_free(&raw);
    return wild > 16 ? -1 : 0;
}

/* list_has - the list holds name */
static bool list_has(const MSTORE_LIST *list, const char *name, size_t len)
{
    for (size_t i = 0; i < list->len; i++)
	if (strncmp(list->entries[i].name, name, len) == 0 && list->entries[i].name[len] == 0)
	    return !list->entries[i].nonexistent;
    return false;
}

/* list_parents - Maildir++ has no containers: show a missing parent of
 * name ("a" of "a.b") as \Noselect \HasChildren, once */
static void list_parents(IMAPD_SESSION *s, const MSTORE_LIST *list, const char *name,
			 const char *pattern, char sep, ARGV *done, VSTRING *line)
{
    for (const char *p = strchr(name, sep); p; p = strchr(p + 1, sep)) {
	size_t  len = (size_t) (p - name);
	bool    seen = false;

	if (list_has(list, name, len))
	    continue;
	for (int k = 0; k < done->argc && !seen; k++)
	    seen = strlen(done->argv[k]) == len && strncmp(done->argv[k], name, len) == 0;
	if (seen)
	    continue;
	argv_addn(done, name, len);
	if (!list_match(pattern, done->argv[done->argc - 1], sep))
	    continue;
	vstring_fmt(line, "* LIST (\\Noselect \\HasChildren) \"%c\" ", sep);
	imapd_quote_mailbox(line, done->argv[done->argc - 1]);
	vstring_cat(line, "\r\n");
	imapd_send_raw(s, STR(line), LEN(line));
    }
}

/* list_common - LIST or LSUB */
static void list_common(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count, bool lsub)
{
    const char *ref, *pat, *err;
    VSTRING *pattern = vstring_alloc(64), *line = vstring_alloc(128);
    MSTORE_LIST list = {0};
    char    sep = mstore_separator(s->store);
    const char *cmd = lsub ? "LSUB" : "LIST";
    ARGV   *virt = argv_alloc(4);

    if (count != 2 || (ref = imap_arg_astring(&args[0])) == NULL
	|| (pat = imap_arg_astring(&args[1])) == NULL) {
	imapd_bad(s, "%s needs a reference and a mailbox pattern", cmd);
	goto out;
    }
    if (*pat == 0 && !lsub) {
	imapd_send(s, "* LIST (\\Noselect) \"%c\" \"\"\r\n", sep);
	imapd_ok(s, "List completed.");
	goto out;
    }
    if (list_pattern(ref, pat, pattern) < 0) {
	imapd_bad(s, "Pattern has too many wildcards");
	goto out;
    }
    if (mstore_list(s->store, &list, &err) < 0) {
	imapd_no_err(s, "SERVERBUG", err);
	goto out;
    }
    for (size_t i = 0; i < list.len; i++) {
	const MSTORE_LIST_ENTRY *e = &list.entries[i];
	const char *name = e->name;
	bool    inbox = strcmp(name, "INBOX") == 0;
	bool    match = list_match(STR(pattern), name, sep)
	    || (inbox && list_match(STR(pattern), "inbox", sep) && strncasecmp(STR(pattern), "inbox", 5) == 0);

	if (!lsub)
	    list_parents(s, &list, name, STR(pattern), sep, virt, line);
	if (!match || (lsub && !e->subscribed) || (!lsub && e->nonexistent))
	    continue;
	vstring_fmt(line, "* %s (", cmd);
	if (e->nonexistent)
	    vstring_cat(line, "\\Noselect ");
	if (!lsub)
	    vstring_cat(line, e->has_children ? "\\HasChildren" : "\\HasNoChildren");
	if (e->special & MSTORE_SPECIAL_DRAFTS)
	    vstring_cat(line, " \\Drafts");
	if (e->special & MSTORE_SPECIAL_SENT)
	    vstring_cat(line, " \\Sent");
	if (e->special & MSTORE_SPECIAL_JUNK)
	    vstring_cat(line, " \\Junk");
	if (e->special & MSTORE_SPECIAL_TRASH)
	    vstring_cat(line, " \\Trash");
	if (e->special & MSTORE_SPECIAL_ARCHIVE)
	    vstring_cat(line, " \\Archive");
	if (LEN(line) > 0 && STR(line)[LEN(line) - 1] == ' ')
	    vstring_truncate(line, LEN(line) - 1);
	vstring_fmt_append(line, ") \"%c\" ", sep);
	imapd_quote_mailbox(line, name);
	vstring_cat(line, "\r\n");
	imapd_send_raw(s, STR(line), LEN(line));
    }
    imapd_ok(s, "%s completed.", lsub ? "Lsub" : "List");
out:
    mstore_list_free(&list);
    argv_free(&virt);
    vstring_free(&pattern);
    vstring_free(&line);
}

#define LX_SEL_SUBSCRIBED	(1 << 0)
#define LX_SEL_REMOTE		(1 << 1)
#define LX_SEL_RECURSIVE	(1 << 2)
#define LX_SEL_SPECIAL		(1 << 3)
#define LX_RET_SUBSCRIBED	(1 << 0)
#define LX_RET_CHILDREN		(1 << 1)
#define LX_RET_SPECIAL		(1 << 2)
#define LX_RET_STATUS		(1 << 3)
#define LX_MAX_PATTERNS		32

/* One candidate name of an extended LIST. */
typedef struct lx_entry {
    char   *name;
    bool    exists, subscribed, has_children;
    unsigned special;
} LX_ENTRY;

/* lx_cmp - INBOX first, then by name */
static int lx_cmp(const void *a, const void *b)
{
    const LX_ENTRY *x = a, *y = b;
    bool    xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;

    if (xi != yi)
	return xi ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* lx_selected - the entry satisfies the selection options */
static bool lx_selected(const LX_ENTRY *e, int sel)
{
    if ((sel & LX_SEL_SUBSCRIBED) && !e->subscribed)
	return false;
    if ((sel & LX_SEL_SPECIAL) && (!e->exists || e->special == 0))
	return false;
    if (!(sel & (LX_SEL_SUBSCRIBED | LX_SEL_SPECIAL)))
	return e->exists || e->has_children;
    return true;
}

/* lx_matches - name matches one of the patterns */
static bool lx_matches(const ARGV *pats, const char *name, char sep)
{
    bool    inbox = strcmp(name, "INBOX") == 0;

    for (int i = 0; i < pats->argc; i++) {
	const char *pat = pats->argv[i];

	if (list_match(pat, name, sep)
	    || (inbox && strncasecmp(pat, "inbox", 5) == 0 && list_match(pat, "inbox", sep)))
	    return true;
    }
    return false;
}

/* lx_parse_opts - the selection or return option list; -1 after BAD */
static int lx_parse_opts(IMAPD_SESSION *s, const IMAP_ARG *list, bool ret, int *flags,
			         const IMAP_ARG **status_r)
{
    static const struct {
	const char *name;
	int     sel, ret;
    }       opts[] = {
	{"SUBSCRIBED", LX_SEL_SUBSCRIBED, LX_RET_SUBSCRIBED},
	{"REMOTE", LX_SEL_REMOTE, 0},
	{"RECURSIVEMATCH", LX_SEL_RECURSIVE, 0},
	{"SPECIAL-USE", LX_SEL_SPECIAL, LX_RET_SPECIAL},
	{"CHILDREN", 0, LX_RET_CHILDREN},
    };

    if (list->type != IMAP_ARG_LIST) {
	imapd_bad(s, "%s options must be a parenthesized list", ret ? "Return" : "Selection");
	return -1;
    }
    for (size_t i = 0; i < list->len; i++) {
	const IMAP_ARG *a = &list->list[i];
	int     bit = 0;

	if (ret && imap_arg_is_atom(a, "STATUS")) {
	    if (i + 1 >= list->len || !status_items_ok(&list->list[i + 1])) {
		imapd_bad(s, "RETURN STATUS needs a list of status items");
		return -1;
	    }
	    *status_r = &list->list[++i];
	    *flags |= LX_RET_STATUS;
	    continue;
	}
	for (size_t k = 0; k < PH_ARRAY_LEN(opts) && bit == 0; k++)
	    if (imap_arg_is_atom(a, opts[k].name))
		bit = ret ? opts[k].ret : opts[k].sel;
	if (bit == 0) {
	    imapd_bad(s, "Unknown LIST %s option", ret ? "return" : "selection");
	    return -1;
	}
	*flags |= bit;
    }
    return 0;
}

/* lx_candidates - every folder, plus the missing parents of subscribed
 * names (RECURSIVEMATCH reports on them) */
static LX_ENTRY *lx_candidates(const MSTORE_LIST *list, char sep, size_t *n_r)
{
    size_t  n = 0, alloc = list->len + 8;
    LX_ENTRY *ents = mymalloc(alloc * sizeof(*ents));
    HTABLE *seen = htable_create(list->len * 2 + 8);

    for (size_t i = 0; i < list->len; i++) {
	const MSTORE_LIST_ENTRY *e = &list->entries[i];

	ents[n] = (LX_ENTRY) {
	    mystrdup(e->name), !e->nonexistent, e->subscribed, e->has_children, e->special
	};
	htable_enter(seen, ents[n].name, NULL);
	n++;
    }
    for (size_t i = 0, nreal = n; i < nreal; i++) {
	if (!ents[i].subscribed)
	    continue;
	char   *copy = mystrdup(ents[i].name), *p;

	while ((p = strrchr(copy, sep)) != NULL) {
	    *p = 0;
	    if (htable_locate(seen, copy) != NULL)
		continue;
	    if (n == alloc) {
		alloc *= 2;
		ents = myrealloc(ents, alloc * sizeof(*ents));
	    }
	    ents[n] = (LX_ENTRY) {
		mystrdup(copy), false, false, false, 0
	    };
	    htable_enter(seen, ents[n].name, NULL);
	    n++;
	}
	myfree(copy);
    }
    htable_free(&seen, NULL);
    qsort(ents, n, sizeof(*ents), lx_cmp);
    *n_r = n;
    return ents;
}

/* list_extended - LIST with RFC 5258 syntax */
static void list_extended(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    const IMAP_ARG *status_items = NULL;
    const char *ref, *err;
    int     sel = 0, ret = 0;
    size_t  i = 0, n = 0;
    char    sep = mstore_separator(s->store);
    ARGV   *pats = argv_alloc(4);
    VSTRING *pattern = vstring_alloc(64), *line = vstring_alloc(128);
    MSTORE_LIST list = {0};
    LX_ENTRY *ents = NULL;
    bool    delimiter = false;

    if (count > 0 && args[0].type == IMAP_ARG_LIST) {
	if (lx_parse_opts(s, &args[0], false, &sel, NULL) < 0)
	    goto out;
	i = 1;
    }
    if ((sel & LX_SEL_RECURSIVE) && !(sel & (LX_SEL_SUBSCRIBED | LX_SEL_SPECIAL))) {
	imapd_bad(s, "RECURSIVEMATCH needs another selection option");
	goto out;
    }
    if (count < i + 2 || (ref = imap_arg_astring(&args[i])) == NULL) {
	imapd_bad(s, "LIST needs a reference and a mailbox pattern");
	goto out;
    }
    const IMAP_ARG *p = &args[i + 1];
    size_t  npat = p->type == IMAP_ARG_LIST ? p->len : 1;

    if (npat == 0 || npat > LX_MAX_PATTERNS) {
	imapd_bad(s, "LIST needs 1 to %d mailbox patterns", LX_MAX_PATTERNS);
	goto out;
    }
    for (size_t k = 0; k < npat; k++) {
	const char *pat = imap_arg_astring(p->type == IMAP_ARG_LIST ? &p->list[k] : p);

	if (pat == NULL) {
	    imapd_bad(s, "Invalid mailbox pattern");
	    goto out;
	}
	if (*pat == 0) {
	    delimiter = true;
	    continue;
	}
	if (list_pattern(ref, pat, pattern) < 0) {
	    imapd_bad(s, "Pattern has too many wildcards");
	    goto out;
	}
	argv_add(pats, STR(pattern), (char *) 0);
    }
    i += 2;
    if (i < count) {
	if (!imap_arg_is_atom(&args[i], "RETURN") || i + 2 != count) {
	    imapd_bad(s, "Unexpected LIST arguments");
	    goto out;
	}
	if (lx_parse_opts(s, &args[i + 1], true, &ret, &status_items) < 0)
	    goto out;
    }
    if (sel & LX_SEL_SUBSCRIBED)
	ret |= LX_RET_SUBSCRIBED;
    if (delimiter)
	imapd_send(s, "* LIST (\\Noselect) \"%c\" \"\"\r\n", sep);
    if (pats->argc > 0) {
	if (mstore_list(s->store, &list, &err) < 0) {
	    imapd_no_err(s, "SERVERBUG", err);
	    goto out;
	}
	ents = lx_candidates(&list, sep, &n);
    }
    for (size_t k = 0; k < n; k++) {
	const LX_ENTRY *e = &ents[k];
	size_t  len = strlen(e->name);
	bool    childinfo = false;

	if (!lx_matches(pats, e->name, sep))
	    continue;
	if (sel & LX_SEL_RECURSIVE)
	    for (size_t j = 0; j < n && !childinfo; j++)
		childinfo = strncmp(ents[j].name, e->name, len) == 0
		    && ents[j].name[len] == sep && lx_selected(&ents[j], sel);
	if (!lx_selected(e, sel) && !childinfo)
	    continue;
	vstring_set(line, "* LIST (");
	if (!e->exists)
	    vstring_cat(line, "\\NonExistent ");
	if (e->exists || e->has_children)
	    vstring_cat(line, e->has_children ? "\\HasChildren " : "\\HasNoChildren ");
	if ((ret & LX_RET_SUBSCRIBED) && e->subscribed)
	    vstring_cat(line, "\\Subscribed ");
	if (e->exists) {
	    if (e->special & MSTORE_SPECIAL_DRAFTS)
		vstring_cat(line, "\\Drafts ");
	    if (e->special & MSTORE_SPECIAL_SENT)
		vstring_cat(line, "\\Sent ");
	    if (e->special & MSTORE_SPECIAL_JUNK)
		vstring_cat(line, "\\Junk ");
	    if (e->special & MSTORE_SPECIAL_TRASH)
		vstring_cat(line, "\\Trash ");
	    if (e->special & MSTORE_SPECIAL_ARCHIVE)
		vstring_cat(line, "\\Archive ");
	}
	if (STR(line)[LEN(line) - 1] == ' ')
	    vstring_truncate(line, LEN(line) - 1);
	vstring_fmt_append(line, ") \"%c\" ", sep);
	imapd_quote_mailbox(line, e->name);
	if (childinfo) {
	    vstring_cat(line, " (\"CHILDINFO\" (");
	    if (sel & LX_SEL_SUBSCRIBED)
		vstring_cat(line, "\"SUBSCRIBED\"");
	    if (sel & LX_SEL_SPECIAL)
		vstring_cat(line, (sel & LX_SEL_SUBSCRIBED) ? " \"SPECIAL-USE\"" : "\"SPECIAL-USE\"");
	    vstring_cat(line, "))");
	}
	vstring_cat(line, "\r\n");
	imapd_send_raw(s, STR(line), LEN(line));
	if ((ret & LX_RET_STATUS) && e->exists && status_send(s, e->name, status_items, &err) < 0)
	    msg_info("%s: LIST-STATUS %s: %s", s->user, e->name, err);
    }
    imapd_ok(s, "List completed.");
out:
    for (size_t k = 0; k < n; k++)
	myfree(ents[k].name);
    myfree(ents);
    mstore_list_free(&list);
    argv_free(&pats);
    vstring_free(&pattern);
    vstring_free(&line);
}

/* cmd_list - LIST (RFC 3501, or RFC 5258 extended syntax) */
void    cmd_list(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    if (count > 2 || (count >= 1 && args[0].type == IMAP_ARG_LIST)
	|| (count == 2 && args[1].type == IMAP_ARG_LIST))
	list_extended(s, args, count);
    else
	list_common(s, args, count, false);
}

/* cmd_lsub - LSUB */
void    cmd_lsub(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    list_common(s, args, count, true);
}

/* cmd_namespace - NAMESPACE (RFC 2342): one personal namespace */
void    cmd_namespace(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    (void) args;
    if (count != 0) {
	imapd_bad(s, "NAMESPACE takes no arguments");
	return;
    }
    imapd_send(s, "* NAMESPACE ((\"\" \"%c\")) NIL NIL\r\n", mstore_separator(s->store));
    imapd_ok(s, "Namespace completed.");
}

/* cmd_status - STATUS mailbox (items) */
void    cmd_status(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *name = vstring_alloc(64);
    const char *err;

    if (count != 2 || !status_items_ok(&args[1])) {
	if (count == 2 && args[1].type == IMAP_ARG_LIST && args[1].len > 0)
	    imapd_bad(s, "Invalid status item");
	else
	    imapd_bad(s, "STATUS needs a mailbox and a list of items");
	goto out;
    }
    if (imapd_mailbox_arg(s, &args[0], name) < 0)
	goto out;
    if (status_send(s, STR(name), &args[1], &err) < 0) {
	imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist: %.200s", STR(name));
	goto out;
    }
    imapd_ok(s, "Status completed.");
out:
    vstring_free(&name);
}
