/* imap_seqset.c - IMAP sequence sets ("1:3,5,7:*") against a view.
 *
 * Contract: imap_seqset_parse maps a set of sequence numbers (or UIDs)
 * to the sorted, duplicate-free UIDs of the view it names. A sequence
 * number above the message count is an error (the client cannot know
 * it); UIDs that are not in the view are skipped (RFC 3501 6.4.8).
 * "*" is the last message (for UIDs: the highest UID, or when the
 * mailbox is empty, nothing). Limits: numbers are 32-bit non-zero; the
 * set text is bounded by the command line length; work is O(set + view).
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "mymalloc.h"

/* seq_number - a nz-number or '*' at *pp; 0 on error */
static int seq_number(const char **pp, uint32_t star, uint32_t *n_r)
{
    const char *p = *pp;
    uint64_t n = 0;

    if (*p == '*') {
	*n_r = star;
	*pp = p + 1;
	return 1;
    }
    if (!isdigit((unsigned char) *p) || *p == '0')
	return 0;
    while (isdigit((unsigned char) *p)) {
	n = n * 10 + (uint64_t) (*p++ - '0');
	if (n > UINT32_MAX)
	    return 0;
    }
    *n_r = (uint32_t) n;
    *pp = p;
    return 1;
}

/* uid_index - first view index with uid >= u */
static uint32_t uid_index(const MSTORE_VIEW *v, uint32_t u)
{
    uint32_t lo = 0, hi = v->count;

    while (lo < hi) {
	uint32_t mid = lo + (hi - lo) / 2;

	if (v->msgs[mid].uid < u)
	    lo = mid + 1;
	else
	    hi = mid;
    }
    return lo;
}

/* imap_seqset_parse - set text to UIDs of the view */
int     imap_seqset_parse(const char *set, const MSTORE_VIEW *view, bool uid,
			  MSTORE_UIDS *uids, const char **error_r)
{
    unsigned char *mark;
    const char *p = set;
    uint32_t star = uid ? (view->count ? view->msgs[view->count - 1].uid : 0) : view->count;

    mstore_uids_reset(uids);
    if (*p == 0) {
	*error_r = "Empty sequence set";
	return -1;
    }
    if (strcmp(set, "$") == 0) {
	*error_r = "Search result references are not supported";
	return -1;
    }
    mark = mymalloc(view->count + 1);
    memset(mark, 0, view->count + 1);
    for (;;) {
	uint32_t a, b;

	if (!seq_number(&p, star, &a))
	    goto bad;
	b = a;
	if (*p == ':') {
	    p++;
	    if (!seq_number(&p, star, &b))
		goto bad;
	}
	if (a > b) {
	    uint32_t t = a;

	    a = b;
	    b = t;
	}
	if (uid) {
	    if (a == 0)
		a = 1;			/* "*" in an empty mailbox */
	    for (uint32_t i = uid_index(view, a); i < view->count && view->msgs[i].uid <= b; i++)
		mark[i] = 1;
	} else {
	    if (a == 0 || b > view->count) {
		myfree(mark);
		*error_r = "Invalid messageset";
		return -1;
	    }
	    for (uint32_t i = a; i <= b; i++)
		mark[i - 1] = 1;
	}
	if (*p == 0)
	    break;
	if (*p++ != ',')
	    goto bad;
    }
    for (uint32_t i = 0; i < view->count; i++)
	if (mark[i])
	    mstore_uids_add(uids, view->msgs[i].uid);
    myfree(mark);
    return 0;

bad:
    myfree(mark);
    *error_r = "Invalid sequence set";
    return -1;
}

/* imap_seqset_format - sorted UIDs as a compact set "1:3,7" */
void    imap_seqset_format(VSTRING *out, const MSTORE_UIDS *uids)
{
    for (size_t i = 0; i < uids->len;) {
	size_t  j = i;

	while (j + 1 < uids->len && uids->uids[j + 1] == uids->uids[j] + 1)
	    j++;
	vstring_fmt_append(out, "%s%u", i ? "," : "", uids->uids[i]);
	if (j > i)
	    vstring_fmt_append(out, ":%u", uids->uids[j]);
	i = j + 1;
    }
}

/* imap_seqset_contains - uid is in a UID set text ("1:5,7"; '*' is
 * the highest), without a view: for UIDs that are gone */
bool    imap_seqset_contains(const char *set, uint32_t uid)
{
    const char *p = set;

    while (*p) {
	char   *end;
	unsigned long a, b;

	a = *p == '*' ? UINT32_MAX : strtoul(p, &end, 10);
	if (*p == '*')
	    end = (char *) p + 1;
	b = a;
	if (*end == ':') {
	    p = end + 1;
	    b = *p == '*' ? UINT32_MAX : strtoul(p, &end, 10);
	    if (*p == '*')
		end = (char *) p + 1;
	}
	if ((uid >= a && uid <= b) || (uid >= b && uid <= a))
	    return true;
	if (*end != ',')
	    return false;
	p = end + 1;
    }
    return false;
}
