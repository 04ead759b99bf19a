/* mstore_sync - bring a folder's index records in line with its Maildir.
 *
 * Contract: called inside the caller's LMDB write transaction (which
 * serializes all syncs of one user). A full scan reads cur/ and new/ once;
 * records whose base name was not seen get a second readdir of cur/
 * before they count as expunged, because a rename by another program
 * while we read the directory can hide an entry from one pass. Files in
 * new/, and files in cur/ unknown to the index, get the next UIDs in
 * arrival order (the seconds and microseconds at the start of Maildir
 * names, then the name) and are renamed into cur/ with ",U=<uid>" added
 * (renameat2 RENAME_NOREPLACE, so a name clash never overwrites a file).
 * A file that disappears before we rename it is simply not added (no UID
 * is used up). Flags in names changed by other programs replace the
 * record's flags (keywords a-z too; keyword bits 26-31 exist only in the
 * index).
 *
 * Rebuild (no folder record): UIDVALIDITY and UIDNEXT from
 * posthorn-uidvalidity when present, keyword names from posthorn-keywords,
 * UIDs from ",U=" in cur/ names when unique; everything else gets new
 * UIDs above them.
 *
 * Limits: file names longer than NAME_MAX are not created; a folder
 * whose UIDs reach 2^32-1 fails to sync (reported).
 */
#include "sys_defs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "mstore_private.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* Flag letters in ASCII order, as Maildir wants them. */
static const struct {
    char    letter;
    uint32_t flag;
} mstore_letters[] = {
    {'D', MSTORE_DRAFT},
    {'F', MSTORE_FLAGGED},
    {'P', MSTORE_PASSED},
    {'R', MSTORE_ANSWERED},
    {'S', MSTORE_SEEN},
    {'T', MSTORE_DELETED},
};

/* mstore_parse_num - digits after a ",X=" tag, up to ',' or the end */
static bool mstore_parse_num(const char *cp, const char *end, uint64_t *v_r)
{
    uint64_t v = 0;

    if (cp >= end || *cp < '0' || *cp > '9')
	return false;
    for (; cp < end && *cp >= '0' && *cp <= '9'; cp++) {
	if (v > (UINT64_MAX - 9) / 10)
	    return false;
	v = v * 10 + (uint64_t) (*cp - '0');
    }
    if (cp < end && *cp != ',')
	return false;
    *v_r = v;
    return true;
}

/* mstore_fname_parse - split a Maildir file name */
void    mstore_fname_parse(const char *name, MSTORE_FNAME *fn)
{
    const char *info = strstr(name, ":2,");
    const char *end;
    uint64_t v;

    memset(fn, 0, sizeof(*fn));
    end = info ? info : name + strlen(name);
    fn->base_len = (size_t) (end - name);
    if (info) {
	fn->has_info = true;
	for (const char *cp = info + 3; *cp; cp++) {
	    if (*cp >= 'a' && *cp <= 'z')
		fn->kwletters |= 1u << (*cp - 'a');
	    for (size_t i = 0; i < PH_ARRAY_LEN(mstore_letters); i++)
		if (*cp == mstore_letters[i].letter)
		    fn->flags |= mstore_letters[i].flag;
	}
    }
    /* ",S=", ",W=", ",U=" tags anywhere after the first '.' of the base. */
    for (const char *cp = memchr(name, ',', fn->base_len); cp && cp < end;
	 cp = memchr(cp + 1, ',', (size_t) (end - cp - 1))) {
	if (cp + 3 > end || cp[2] != '=')
	    continue;
	if (!mstore_parse_num(cp + 3, end, &v))
	    continue;
	if (cp[1] == 'S') {
	    fn->has_size = true;
	    fn->size = v;
	} else if (cp[1] == 'W') {
	    fn->has_vsize = true;
	    fn->vsize = v;
	} else if (cp[1] == 'U' && v > 0 && v < UINT32_MAX) {
	    fn->has_uid = true;
	    fn->uid = (uint32_t) v;
	}
	if (cp + 1 >= end)
	    break;
    }
}

/* mstore_fname_build - base (with uid > 0: any U= tag replaced) + ":2," +
 * flag letters + keyword letters */
void    mstore_fname_build(VSTRING *out, const char *base, size_t base_len, uint32_t uid,
			           uint32_t flags, uint32_t keywords)
{
    vstring_reset(out);
    if (uid == 0) {
	vstring_catn(out, base, base_len);
    } else {
	/* Copy the base without ",U=digits" tags, then add ours. */
	const char *cp = base, *end = base + base_len;

	while (cp < end) {
	    const char *comma = memchr(cp, ',', (size_t) (end - cp));
	    uint64_t v;

	    if (comma == NULL) {
		vstring_catn(out, cp, (size_t) (end - cp));
		break;
	    }
	    vstring_catn(out, cp, (size_t) (comma - cp));
	    const char *next = memchr(comma + 1, ',', (size_t) (end - comma - 1));

	    if (!(comma + 3 <= end && comma[1] == 'U' && comma[2] == '='
		  && mstore_parse_num(comma + 3, end, &v)))
		vstring_catn(out, comma, (size_t) ((next ? next : end) - comma));
	    cp = next ? next : end;
	}
	vstring_fmt_append(out, ",U=%u", uid);
    }
    vstring_cat(out, ":2,");
    for (size_t i = 0; i < PH_ARRAY_LEN(mstore_letters); i++)
	if (flags & mstore_letters[i].flag)
	    vstring_addch(out, mstore_letters[i].letter);
    for (int i = 0; i < 26; i++)
	if (keywords & (1u << i))
	    vstring_addch(out, 'a' + i);
}

/* mstore_rename_noreplace - rename without replacing an existing target */
static int mstore_rename_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
    static bool unsupported;

    if (!unsupported) {
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
	    return 0;
	if (errno != EINVAL && errno != ENOSYS)
	    return -1;
	unsupported = true;
    }
    /* Fallback: link + unlink never replaces either. */
    if (linkat(fromfd, from, tofd, to, 0) < 0)
	return -1;
    (void) unlinkat(fromfd, from, 0);
    return 0;
}

/* mstore_find_file - the current name in cur/ of the file whose base is
 * that of name: 1 found (in found), 0 not */
int     mstore_find_file(MSTORE *store, const char *path, const char *name, VSTRING *found)
{
    VSTRING *dir = vstring_alloc(256);
    MSTORE_FNAME fn, fn2;
    struct dirent *de;
    DIR    *dp;
    int     status = 0;

    (void) store;
    mstore_fname_parse(name, &fn);
    vstring_fmt(dir, "%s/cur", path);
    for (int pass = 0; pass < 2 && status == 0; pass++) {
	if ((dp = opendir(STR(dir))) == NULL)
	    break;
	while ((de = readdir(dp)) != NULL) {
	    if (strncmp(de->d_name, name, fn.base_len) != 0)
		continue;
	    mstore_fname_parse(de->d_name, &fn2);
	    if (fn2.base_len == fn.base_len) {
		vstring_set(found, de->d_name);
		status = 1;
		break;
	    }
	}
	closedir(dp);
    }
    vstring_free(&dir);
    return status;
}

/* mstore_ts_cmp - compare two timestamps */
static int mstore_ts_cmp(int64_t s1, int64_t n1, int64_t s2, int64_t n2)
{
    return s1 != s2 ? (s1 < s2 ? -1 : 1) : n1 != n2 ? (n1 < n2 ? -1 : 1) : 0;
}

/* mstore_dirs_unchanged - true when new/ and cur/ are as of the last scan
 * and that scan started late enough after their mtimes to be trusted */
bool    mstore_dirs_unchanged(const char *path, const MSTORE_FREC *frec)
{
    VSTRING *p = vstring_alloc(256);
    struct stat sn, sc;
    bool    same;

    vstring_fmt(p, "%s/new", path);
    same = stat(STR(p), &sn) == 0;
    vstring_fmt(p, "%s/cur", path);
    same = same && stat(STR(p), &sc) == 0;
    vstring_free(&p);
    if (!same)
	return false;
    if (mstore_ts_cmp(sn.st_mtim.tv_sec, sn.st_mtim.tv_nsec, frec->new_sec, frec->new_nsec) != 0
	|| mstore_ts_cmp(sc.st_mtim.tv_sec, sc.st_mtim.tv_nsec, frec->cur_sec, frec->cur_nsec) != 0)
	return false;
    /* A change in the same clock tick as the scan would leave the mtime
     * unchanged: trust it only when the scan began well after it. */
    int64_t slack_ns = (sn.st_mtim.tv_nsec == 0 && sc.st_mtim.tv_nsec == 0)
	? 2000000000LL : (int64_t) MSTORE_MTIME_SLACK_MS * 1000000;
    int64_t scan = frec->scan_sec * 1000000000LL + frec->scan_nsec;
    int64_t m1 = (int64_t) sn.st_mtim.tv_sec * 1000000000LL + sn.st_mtim.tv_nsec;
    int64_t m2 = (int64_t) sc.st_mtim.tv_sec * 1000000000LL + sc.st_mtim.tv_nsec;

    return scan - (m1 > m2 ? m1 : m2) >= slack_ns;
}

/* mstore_uidv_write - posthorn-uidvalidity: "<uidvalidity> <uidnext>" */
void    mstore_uidv_write(const char *path, const MSTORE_FREC *frec)
{
    VSTRING *file = vstring_alloc(256), *text = vstring_alloc(64);

    vstring_fmt(file, "%s/%s", path, MSTORE_UIDV_FILE);
    vstring_fmt(text, "%u %u\n", frec->uidvalidity, frec->uidnext);
    if (mstore_write_file(STR(file), STR(text), LEN(text)) < 0)
	msg_warn("write %s: %m", STR(file));
    vstring_free(&file);
    vstring_free(&text);
}

/* mstore_slurp - a small file's text (up to max bytes); -1 if unreadable */
static int mstore_slurp(const char *path, VSTRING *buf, size_t max)
{
    char    chunk[4096];
    ssize_t n;
    int     fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    vstring_reset(buf);
    if (fd < 0)
	return -1;
    while (LEN(buf) < max && (n = read(fd, chunk, sizeof(chunk))) > 0)
	vstring_catn(buf, chunk, (size_t) n);
    close(fd);
    return 0;
}

/* mstore_uidv_read - parse posthorn-uidvalidity: 1 read, 0 missing/bad */
static int mstore_uidv_read(const char *path, uint32_t *uidv_r, uint32_t *next_r)
{
    VSTRING *file = vstring_alloc(256), *text = vstring_alloc(64);
    unsigned long v, n;
    char   *end;
    int     ok = 0;

    vstring_fmt(file, "%s/%s", path, MSTORE_UIDV_FILE);
    if (mstore_slurp(STR(file), text, 64) == 0) {
	errno = 0;
	v = strtoul(STR(text), &end, 10);
	if (errno == 0 && end != STR(text) && *end == ' ' && v > 0 && v <= UINT32_MAX) {
	    const char *np = end + 1;

	    n = strtoul(np, &end, 10);
	    if (errno == 0 && end != np && (*end == '\n' || *end == 0) && n > 0 && n < UINT32_MAX) {
		*uidv_r = (uint32_t) v;
		*next_r = (uint32_t) n;
		ok = 1;
	    }
	}
    }
    vstring_free(&file);
    vstring_free(&text);
    return ok;
}

/* mstore_kw_write - posthorn-keywords: "<bit> <name>" lines */
void    mstore_kw_write(const char *path, char *const *keywords, unsigned n)
{
    VSTRING *file = vstring_alloc(256), *text = vstring_alloc(256);

    vstring_fmt(file, "%s/%s", path, MSTORE_KW_FILE);
    for (unsigned i = 0; i < n; i++)
	vstring_fmt_append(text, "%u %s\n", i, keywords[i]);
    if (n == 0)
	(void) unlink(STR(file));
    else if (mstore_write_file(STR(file), STR(text), LEN(text)) < 0)
	msg_warn("write %s: %m", STR(file));
    vstring_free(&file);
    vstring_free(&text);
}

/* mstore_kw_read - keyword names back from posthorn-keywords (bits in
 * order; a gap or a bad line ends the list) */
static char **mstore_kw_read(const char *path, uint32_t *n_r)
{
    VSTRING *file = vstring_alloc(256), *text = vstring_alloc(256);
    char  **kw = mycalloc(MSTORE_KEYWORDS_MAX + 1, sizeof(char *));
    uint32_t n = 0;

    vstring_fmt(file, "%s/%s", path, MSTORE_KW_FILE);
    if (mstore_slurp(STR(file), text, 65536) == 0) {
	for (char *cp = STR(text), *nl; *cp && n < MSTORE_KEYWORDS_MAX; cp = nl) {
	    char   *sp, *end;
	    unsigned long bit;

	    if ((nl = strchr(cp, '\n')) == NULL)
		break;
	    *nl++ = 0;
	    bit = strtoul(cp, &end, 10);
	    if (end == cp || *end != ' ' || bit != n)
		break;
	    sp = end + 1;
	    if (!mstore_keyword_valid(sp))
		break;
	    kw[n++] = mystrdup(sp);
	}
    }
    vstring_free(&file);
    vstring_free(&text);
    *n_r = n;
    return kw;
}

/* Bookkeeping for one scan: the index's records, their names back to
 * back in one buffer, and an open-addressing table over base names (no
 * allocation per message: a 100,000-message rescan is one pass). */
typedef struct mstore_old {
    uint32_t uid;
    uint32_t base_len;
    size_t  name_off;		/* in names */
    size_t  seen_off;		/* 0: not seen; 1: seen as stored; else
				 * offset + 2 of the new name in seen */
    MSTORE_REC rec;
} MSTORE_OLD;

typedef struct mstore_bases {
    MSTORE_OLD *old;
    size_t  nold;
    VSTRING *names;
    VSTRING *seen;
    uint32_t *slots;		/* index + 1; 0 = empty */
    size_t  mask;
} MSTORE_BASES;

/* mstore_base_hash - FNV-1a over a byte range */
static size_t mstore_base_hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < len; i++) {
	h ^= (unsigned char) p[i];
	h *= 1099511628211ULL;
    }
    /* FNV's low bits mix poorly for names that differ in a few digits;
     * a 64-bit finalizer spreads them before we mask. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t) h;
}

/* mstore_bases_index - build the table once all records are loaded */
static void mstore_bases_index(MSTORE_BASES *b)
{
    size_t  n = 16;

    while (n < b->nold * 2)
	n *= 2;
    b->slots = mycalloc(n, sizeof(uint32_t));
    b->mask = n - 1;
    for (size_t i = 0; i < b->nold; i++) {
	const char *name = STR(b->names) + b->old[i].name_off;
	size_t  h = mstore_base_hash(name, b->old[i].base_len) & b->mask;

	while (b->slots[h])
	    h = (h + 1) & b->mask;
	b->slots[h] = (uint32_t) i + 1;
    }
}

/* mstore_bases_find - the record with this base, or NULL */
static MSTORE_OLD *mstore_bases_find(const MSTORE_BASES *b, const char *base, size_t len)
{
    if (b->slots == NULL)
	return NULL;
    for (size_t h = mstore_base_hash(base, len) & b->mask; b->slots[h]; h = (h + 1) & b->mask) {
	MSTORE_OLD *o = &b->old[b->slots[h] - 1];

	if (o->base_len == len && memcmp(STR(b->names) + o->name_off, base, len) == 0)
	    return o;
    }
    return NULL;
}

typedef struct mstore_newfile {
    char   *name;
    bool    in_cur;
    uint32_t keep_uid;		/* rebuild: trusted U= */
    long long secs;
    long    usecs;
} MSTORE_NEWFILE;

/* mstore_newfile_cmp - arrival order */
static int mstore_newfile_cmp(const void *a, const void *b)
{
    const MSTORE_NEWFILE *x = a, *y = b;

    if (x->keep_uid != y->keep_uid)
	return x->keep_uid < y->keep_uid ? -1 : 1;
    if (x->secs != y->secs)
	return x->secs < y->secs ? -1 : 1;
    if (x->usecs != y->usecs)
	return x->usecs < y->usecs ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* mstore_newfile_add - remember a file that needs a record */
static void mstore_newfile_add(MSTORE_NEWFILE **list, size_t *n, size_t *size,
			               const char *name, bool in_cur)
{
    MSTORE_NEWFILE *nf;
    char   *end;

    if (*n == *size) {
	*size = *size ? *size * 2 : 64;
	*list = myreallocarray(*list, *size, sizeof(**list));
    }
    nf = &(*list)[(*n)++];
    nf->name = mystrdup(name);
    nf->in_cur = in_cur;
    nf->keep_uid = 0;
    nf->secs = strtoll(name, &end, 10);
    nf->usecs = (end[0] == '.' && end[1] == 'M') ? strtol(end + 2, NULL, 10) : 0;
}

/* mstore_scan_cur - one readdir pass over cur/: match bases against the
 * old records (marking them seen); unknown names go to the new list when
 * collect is set */
static int mstore_scan_cur(int curfd, MSTORE_BASES *b, MSTORE_NEWFILE **nl, size_t *nn,
			           size_t *ns, bool collect)
{
    int     fd = dup(curfd);
    DIR    *dp;
    struct dirent *de;

    if (fd < 0 || (dp = fdopendir(fd)) == NULL) {
	if (fd >= 0)
	    close(fd);
	return -1;
    }
    rewinddir(dp);
    while ((de = readdir(dp)) != NULL) {
	if (de->d_name[0] == '.')
	    continue;
	const char *info = strstr(de->d_name, ":2,");
	size_t  base_len = info ? (size_t) (info - de->d_name) : strlen(de->d_name);
	MSTORE_OLD *o = mstore_bases_find(b, de->d_name, base_len);

	if (o) {
	    if (o->seen_off == 0) {
		if (strcmp(STR(b->names) + o->name_off, de->d_name) == 0) {
		    o->seen_off = 1;
		} else {
		    o->seen_off = LEN(b->seen) + 2;
		    vstring_catn(b->seen, de->d_name, strlen(de->d_name) + 1);
		}
	    }
	} else if (collect) {
	    mstore_newfile_add(nl, nn, ns, de->d_name, true);
	}
    }
    closedir(dp);
    return 0;
}

/* mstore_scan_new - readdir of new/: everything is new */
static int mstore_scan_new(int newfd, MSTORE_NEWFILE **nl, size_t *nn, size_t *ns)
{
    int     fd = dup(newfd);
    DIR    *dp;
    struct dirent *de;

    if (fd < 0 || (dp = fdopendir(fd)) == NULL) {
	if (fd >= 0)
	    close(fd);
	return -1;
    }
    while ((de = readdir(dp)) != NULL)
	if (de->d_name[0] != '.')
	    mstore_newfile_add(nl, nn, ns, de->d_name, false);
    closedir(dp);
    return 0;
}

/* mstore_sync_scan - the full scan (see the file comment) */
static int mstore_sync_scan(MSTORE *store, MDB_txn *txn, const char *dir, const char *path,
			            MSTORE_FREC *frec, char ***kw, bool rebuild,
			            const char **error_r)
{
    VSTRING *p = vstring_alloc(256), *newname = vstring_alloc(256);
    MSTORE_BASES bases;
    MSTORE_OLD *old = NULL;
    size_t  nold = 0, oldsize = 0, nnew = 0, newsize = 0;
    MSTORE_NEWFILE *nl = NULL;
    struct stat sn, sc, st;
    struct timespec scan;
    int     curfd = -1, newfd = -1, rc, status = -1;
    uint64_t modseq = frec->highestmodseq + 1;
    bool    changed = false;
    MSTORE_FNAME fn;

    clock_gettime(CLOCK_REALTIME, &scan);
    memset(&bases, 0, sizeof(bases));
    bases.names = vstring_alloc(frec->count * 64 + 64);
    bases.seen = vstring_alloc(256);
    vstring_fmt(p, "%s/cur", path);
    if ((curfd = open(STR(p), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(curfd, &sc) < 0) {
	mstore_fail(store, error_r, "open %s: %m", STR(p));
	goto out;
    }
    vstring_fmt(p, "%s/new", path);
    if ((newfd = open(STR(p), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(newfd, &sn) < 0) {
	mstore_fail(store, error_r, "open %s: %m", STR(p));
	goto out;
    }
    /* The index's view of the folder. */
    if (!rebuild) {
	unsigned char k[8];
	MDB_cursor *cur;
	MDB_val key, val;

	mstore_key_msg(k, frec->id, 0);
	key.mv_data = k;
	key.mv_size = 8;
	if ((rc = mdb_cursor_open(txn, store->db_msgs, &cur)) != 0) {
	    mstore_fail_mdb(store, error_r, "sync", rc);
	    goto out;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	     rc == 0 && mstore_key_fid(&key) == frec->id;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
	    if (val.mv_size < sizeof(MSTORE_REC))
		continue;
	    if (nold == oldsize) {
		oldsize = oldsize ? oldsize * 2 : 256;
		old = myreallocarray(old, oldsize, sizeof(*old));
	    }
	    MSTORE_OLD *o = &old[nold];
	    const char *name = (const char *) val.mv_data + sizeof(MSTORE_REC);
	    size_t  name_len = val.mv_size - sizeof(MSTORE_REC);
	    const char *info = memmem(name, name_len, ":2,", 3);

	    memcpy(&o->rec, val.mv_data, sizeof(o->rec));
	    o->uid = mstore_key_uid(&key);
	    o->name_off = LEN(bases.names);
	    o->base_len = (uint32_t) (info ? (size_t) (info - name) : name_len);
	    o->seen_off = 0;
	    vstring_catn(bases.names, name, name_len);
	    vstring_addch(bases.names, 0);
	    nold++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
	    mstore_fail_mdb(store, error_r, "sync", rc);
	    goto out;
	}
    }
    bases.old = old;
    bases.nold = nold;
    if (nold)
	mstore_bases_index(&bases);
    if (mstore_scan_cur(curfd, &bases, &nl, &nnew, &newsize, true) < 0
	|| mstore_scan_new(newfd, &nl, &nnew, &newsize) < 0) {
	mstore_fail(store, error_r, "read %s: %m", path);
	goto out;
    }
    /* Second look for anything that seems to be gone. */
    for (size_t i = 0; i < nold; i++)
	if (old[i].seen_off == 0) {
	    (void) mstore_scan_cur(curfd, &bases, &nl, &nnew, &newsize, false);
	    break;
	}
    for (size_t i = 0; i < nold; i++) {
	MSTORE_OLD *o = &old[i];

	if (o->seen_off == 0) {
	    if (mstore_rec_del(store, txn, frec->id, o->uid, modseq) < 0) {
		goto fail_store;
	    }
	    frec->count--;
	    frec->bytes -= o->rec.size;
	    changed = true;
	    continue;
	}
	if (o->seen_off == 1)
	    continue;
	/* Renamed by someone else: take over the flags in the name. */
	const char *seen_name = STR(bases.seen) + o->seen_off - 2;

	mstore_fname_parse(seen_name, &fn);
	uint32_t defined = frec->nkeywords >= 26 ? 0x3ffffffu : ((1u << frec->nkeywords) - 1);
	uint32_t flags = fn.flags;
	uint32_t kws = (o->rec.keywords & ~0x3ffffffu) | (fn.kwletters & defined);

	if (flags != o->rec.flags || kws != o->rec.keywords) {
	    o->rec.flags = flags;
	    o->rec.keywords = kws;
	    o->rec.modseq = modseq;
	    changed = true;
	}
	if (mstore_rec_put(store, txn, frec->id, o->uid, &o->rec, seen_name,
			   strlen(seen_name), false) < 0)
	    goto fail_store;
    }
    /* Rebuild: keep unique U= values of files in cur/. */
    if (rebuild) {
	for (size_t i = 0; i < nnew; i++) {
	    mstore_fname_parse(nl[i].name, &fn);
	    if (nl[i].in_cur && fn.has_uid)
		nl[i].keep_uid = fn.uid;
	}
	if (nnew > 1)
	    qsort(nl, nnew, sizeof(*nl), mstore_newfile_cmp);
	for (size_t i = 1; i < nnew; i++)
	    if (nl[i].keep_uid && nl[i].keep_uid == nl[i - 1].keep_uid) {
		msg_warn("%s/cur: UID %u appears twice (%s, %s): the second gets a new UID",
			 path, nl[i].keep_uid, nl[i - 1].name, nl[i].name);
		nl[i].keep_uid = 0;
	    }
	for (size_t i = 0; i < nnew; i++)
	    if (nl[i].keep_uid >= frec->uidnext)
		frec->uidnext = nl[i].keep_uid + 1;
    }
    if (nnew > 1)
	qsort(nl, nnew, sizeof(*nl), mstore_newfile_cmp);
    for (size_t pass = 0; pass < 2; pass++) {
	for (size_t i = 0; i < nnew; i++) {
	    MSTORE_NEWFILE *nf = &nl[i];
	    MSTORE_REC rec;
	    uint32_t uid;
	    int     srcfd = nf->in_cur ? curfd : newfd;
	    const char *final;

	    /* Kept UIDs first (they are the lowest), then new ones. */
	    if ((pass == 0) != (nf->keep_uid != 0))
		continue;
	    mstore_fname_parse(nf->name, &fn);
	    if (nf->keep_uid) {
		uid = nf->keep_uid;
		final = nf->name;
	    } else {
		if (frec->uidnext >= UINT32_MAX - 1) {
		    mstore_fail(store, error_r, "%s: UID space exhausted", path);
		    goto out;
		}
		uid = frec->uidnext;
		mstore_fname_build(newname, nf->name, fn.base_len, uid, fn.flags,
				   fn.kwletters & (frec->nkeywords >= 26 ? 0x3ffffffu
						   : ((1u << frec->nkeywords) - 1)));
		if (LEN(newname) > NAME_MAX) {
		    msg_warn("%s/%s/%s: name too long to add a UID: skipped", path,
			     nf->in_cur ? "cur" : "new", nf->name);
		    continue;
		}
		if (mstore_rename_noreplace(srcfd, nf->name, curfd, STR(newname)) < 0) {
		    if (errno != ENOENT)
			msg_warn("rename %s/%s/%s: %m", path, nf->in_cur ? "cur" : "new", nf->name);
		    continue;			/* gone: someone else took it */
		}
		frec->uidnext++;
		final = STR(newname);
	    }
	    if (fstatat(curfd, final, &st, 0) < 0)
		continue;			/* vanished again: next sync */
	    memset(&rec, 0, sizeof(rec));
	    mstore_fname_parse(final, &fn);
	    rec.flags = fn.flags;
	    rec.keywords = fn.kwletters & (frec->nkeywords >= 26 ? 0x3ffffffu
					   : ((1u << frec->nkeywords) - 1));
	    rec.modseq = modseq;
	    rec.idate = st.st_mtim.tv_sec;
	    rec.size = (uint64_t) st.st_size;
	    rec.vsize = fn.has_vsize ? fn.vsize : 0;
	    if (mstore_rec_put(store, txn, frec->id, uid, &rec, final, strlen(final), true) < 0)
		goto fail_store;
	    frec->count++;
	    frec->bytes += rec.size;
	    changed = true;
	}
    }
    if (changed || rebuild)
	frec->highestmodseq = modseq;
    frec->new_sec = sn.st_mtim.tv_sec;
    frec->new_nsec = sn.st_mtim.tv_nsec;
    frec->cur_sec = sc.st_mtim.tv_sec;
    frec->cur_nsec = sc.st_mtim.tv_nsec;
    frec->scan_sec = scan.tv_sec;
    frec->scan_nsec = scan.tv_nsec;
    if (mstore_frec_put(store, txn, dir, frec, *kw) < 0)
	goto fail_store;
    status = 0;
    goto out;
fail_store:
    mstore_errptr(store, error_r);
out:
    if (curfd >= 0)
	close(curfd);
    if (newfd >= 0)
	close(newfd);
    myfree(old);
    myfree(bases.slots);
    vstring_free(&bases.names);
    vstring_free(&bases.seen);
    for (size_t i = 0; i < nnew; i++)
	myfree(nl[i].name);
    myfree(nl);
    vstring_free(&p);
    vstring_free(&newname);
    return status;
}

/* mstore_sync - sync (or rebuild) one folder in txn; frec and *kw get
 * the folder's record and keyword names */
int     mstore_sync(MSTORE *store, MDB_txn *txn, const char *dir, MSTORE_FREC *frec,
		            char ***kw, bool force, const char **error_r)
{
    VSTRING *path = vstring_alloc(256);
    struct stat st;
    int     rc;

    mstore_folder_path(store, dir, path);
    vstring_cat(path, "/cur");
    if (stat(STR(path), &st) < 0 || !S_ISDIR(st.st_mode)) {
	vstring_free(&path);
	return mstore_fail(store, error_r, "[NONEXISTENT] Mailbox doesn't exist");
    }
    mstore_folder_path(store, dir, path);
    if ((rc = mstore_frec_get(store, txn, dir, frec, kw)) < 0) {
	msg_warn("%s: %s: rebuilding the folder's index", STR(path), STR(store->err));
	rc = 0;
    }
    if (rc > 0) {
	if (!force && mstore_dirs_unchanged(STR(path), frec)) {
	    vstring_free(&path);
	    return 0;
	}
	rc = mstore_sync_scan(store, txn, dir, STR(path), frec, kw, false, error_r);
	vstring_free(&path);
	return rc;
    }
    /* Rebuild from the files. */
    uint32_t uidv, next;

    if (mstore_frec_new(store, txn, frec) < 0) {
	vstring_free(&path);
	return mstore_errptr(store, error_r);
    }
    bool    known = mstore_uidv_read(STR(path), &uidv, &next);

    if (known) {
	frec->uidvalidity = uidv;
	frec->uidnext = next;
    }
    *kw = mstore_kw_read(STR(path), &frec->nkeywords);
    rc = mstore_sync_scan(store, txn, dir, STR(path), frec, kw, true, error_r);
    if (rc == 0) {
	/* After a lost index, what was there counts as seen (not \Recent);
	 * in a folder never indexed before, everything is new. */
	frec->recent_floor = known ? frec->uidnext : 1;
	if (mstore_frec_put(store, txn, dir, frec, *kw) < 0)
	    rc = mstore_errptr(store, error_r);
	else
	    mstore_uidv_write(STR(path), frec);
    }
    vstring_free(&path);
    return rc;
}
