/* cmd_list.c - LIST, LSUB, NAMESPACE, STATUS.
 *
 * Patterns: reference and pattern are joined, '*' matches anything and
 * '%' anything but the hierarchy separator; INBOX matches in any case.
 * Matching is on UTF-8 names (patterns are decoded from modified UTF-7
 * first); the backtracking matcher is bounded by limiting patterns to
 * 16 wildcards.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "argv.h"
#include "imap_utf7.h"
#include "imapd.h"
#include "msg.h"

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

/* cmd_list - LIST */
void    cmd_list(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
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
    VSTRING *name = vstring_alloc(64), *line = vstring_alloc(128);
    MSTORE_VIEW v;
    uint32_t unseen = 0;
    const char *err;

    if (count != 2 || args[1].type != IMAP_ARG_LIST || args[1].len == 0) {
	imapd_bad(s, "STATUS needs a mailbox and a list of items");
	goto out;
    }
    for (size_t i = 0; i < args[1].len; i++) {
	const IMAP_ARG *a = &args[1].list[i];

	if (!(imap_arg_is_atom(a, "MESSAGES") || imap_arg_is_atom(a, "RECENT")
	      || imap_arg_is_atom(a, "UIDNEXT") || imap_arg_is_atom(a, "UIDVALIDITY")
	      || imap_arg_is_atom(a, "UNSEEN") || imap_arg_is_atom(a, "HIGHESTMODSEQ"))) {
	    imapd_bad(s, "Invalid status item");
	    goto out;
	}
    }
    if (imapd_mailbox_arg(s, &args[0], name) < 0)
	goto out;
    if (mstore_status(s->store, STR(name), &v, &unseen, &err) < 0) {
	imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist: %.200s", STR(name));
	goto out;
    }
    vstring_cat(line, "* STATUS ");
    imapd_quote_mailbox(line, STR(name));
    vstring_cat(line, " (");
    for (size_t i = 0; i < args[1].len; i++) {
	const IMAP_ARG *a = &args[1].list[i];
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
    imapd_ok(s, "Status completed.");
out:
    vstring_free(&name);
    vstring_free(&line);
}
