/* test_mstore - the Maildir++ + LMDB mailbox storage. */
#include "sys_defs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mailbox.h"
#include "msg.h"
#include "mstore.h"
#include "mstore_private.h"		/* the LMDB environment: reader slots */
#include "mymalloc.h"
#include "vstring.h"
#include "unit.h"

static char tmpdir[256];
static char maildir[300];
static char location[320];
static char indexpath[340];

/* fresh - a new empty directory for one test */
static void fresh(void)
{
    static int n;
    char    cmd[400];

    if (tmpdir[0]) {
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void) !system(cmd);
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_mstore.%ld.%d", (long) getpid(), ++n);
    mkdir(tmpdir, 0700);
    snprintf(maildir, sizeof(maildir), "%s/Maildir", tmpdir);
    snprintf(location, sizeof(location), "maildir:%s", maildir);
    snprintf(indexpath, sizeof(indexpath), "%s/posthorn-index.lmdb", maildir);
}

/* open_store - open with the test location */
static MSTORE *open_store(char sep)
{
    MSTORE_SETTINGS set = {location, tmpdir, sep, ""};
    const char *why;
    MSTORE *s = mstore_open(&set, &why);

    if (s == NULL)
	fprintf(stderr, "mstore_open: %s\n", why);
    return s;
}

/* info_of - mstore_msg_info of uid; all zero (and a failed check) when
 * the call fails */
static MSTORE_MSG_INFO info_of(MSTORE_FOLDER *f, uint32_t uid)
{
    MSTORE_MSG_INFO info = {0};
    const char *why;

    if (mstore_msg_info(f, uid, &info, &why) < 0) {
	UNIT_FAIL("mstore_msg_info uid %u: %s", uid, why);
	memset(&info, 0, sizeof(info));
    }
    return info;
}

/* drop_file - another program delivers into DIR/new (tmp + rename) */
static void drop_file(const char *folder_path, int i, const char *body)
{
    char    tmp[600], fin[600];
    int     fd;

    snprintf(tmp, sizeof(tmp), "%s/tmp/1700000000.M%06dP99Q%d.otherhost", folder_path, i, i);
    snprintf(fin, sizeof(fin), "%s/new/1700000000.M%06dP99Q%d.otherhost", folder_path, i, i);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
	perror(tmp);
	return;
    }
    (void) !write(fd, body, strlen(body));
    close(fd);
    if (rename(tmp, fin) < 0)
	perror(fin);
}

/* name_cmp - qsort strings */
static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* cur_names - the names in a cur/ directory, sorted, joined by '\n' */
static char *cur_names(const char *folder_path, int *n_r)
{
    char    p[600];
    DIR    *d;
    struct dirent *de;
    char  **v = NULL;
    int     n = 0;
    VSTRING *out = vstring_alloc(1024);

    snprintf(p, sizeof(p), "%s/cur", folder_path);
    if ((d = opendir(p)) != NULL) {
	while ((de = readdir(d)) != NULL) {
	    if (de->d_name[0] == '.')
		continue;
	    v = myreallocarray(v, (size_t) n + 1, sizeof(char *));
	    v[n++] = mystrdup(de->d_name);
	}
	closedir(d);
    }
    qsort(v, (size_t) n, sizeof(char *), name_cmp);
    for (int i = 0; i < n; i++) {
	vstring_fmt_append(out, "%s\n", v[i]);
	myfree(v[i]);
    }
    myfree(v);
    if (n_r)
	*n_r = n;
    return vstring_export(&out);
}

/* count_entries - entries in a directory */
static int count_entries(const char *path)
{
    DIR    *d = opendir(path);
    struct dirent *de;
    int     n = 0;

    if (d == NULL)
	return -1;
    while ((de = readdir(d)) != NULL)
	if (de->d_name[0] != '.')
	    n++;
    closedir(d);
    return n;
}

/* append_msg - APPEND text to a folder; returns the UID */
static uint32_t append_msg(MSTORE *s, const char *folder, const char *text, uint32_t flags,
			           uint32_t *uidv_r)
{
    const char *why;
    MSTORE_APPEND *ap = mstore_append_begin(s, folder, &why);
    uint32_t uid = 0, uidv = 0;

    if (ap == NULL) {
	fprintf(stderr, "append_begin: %s\n", why);
	return 0;
    }
    if (mstore_append_write(ap, text, strlen(text), &why) < 0
	|| mstore_append_finish(&ap, flags, NULL, 1600000000, &uidv, &uid, &why) < 0) {
	fprintf(stderr, "append: %s\n", why);
	mstore_append_abort(&ap);
	return 0;
    }
    if (uidv_r)
	*uidv_r = uidv;
    return uid;
}

/* uids_of - a UID list from arguments */
static MSTORE_UIDS uids_of(int n, const uint32_t *v)
{
    MSTORE_UIDS u = {0};

    for (int i = 0; i < n; i++)
	mstore_uids_add(&u, v[i]);
    return u;
}

TEST(location_parsing)
{
    MSTORE_SETTINGS set = {"mbox:~/mail", tmpdir, '.', ""};
    const char *why;
    MSTORE *s;
    char    loc[600];
    struct stat st;

    fresh();
    CHECK(mstore_open(&set, &why) == NULL);
    CHECK(strstr(why, "only maildir") != NULL);
    set.location = "maildir:relative/Maildir";
    CHECK(mstore_open(&set, &why) == NULL);
    set.location = "maildir:~/Maildir";
    set.quota = "12X";
    CHECK(mstore_open(&set, &why) == NULL);
    set.quota = "1G";
    set.separator = '#';
    CHECK(mstore_open(&set, &why) == NULL);
    set.separator = '/';
    snprintf(loc, sizeof(loc), "maildir:~/Maildir:LAYOUT=fs:INDEX=%s/idx", tmpdir);
    set.location = loc;
    s = mstore_open(&set, &why);
    CHECK(s != NULL);
    if (s) {
	CHECK_STR(mstore_root(s), maildir);
	CHECK(mstore_separator(s) == '/');
	snprintf(loc, sizeof(loc), "%s/idx/posthorn-index.lmdb", tmpdir);
	CHECK(stat(loc, &st) == 0);
	snprintf(loc, sizeof(loc), "%s/cur", maildir);
	CHECK(stat(loc, &st) == 0 && S_ISDIR(st.st_mode));
	mstore_close(&s);
	CHECK(s == NULL);
    }
    uint64_t q;

    CHECK(mstore_quota_parse("100M", &q) == 0 && q == 100ULL << 20);
    CHECK(mstore_quota_parse("5", &q) == 0 && q == 5);
    CHECK(mstore_quota_parse("2kB", &q) == 0 && q == 2048);
    CHECK(mstore_quota_parse("", &q) == 0 && q == 0);
    CHECK(mstore_quota_parse("G", &q) == -1);
    CHECK(mstore_quota_parse("99999999999999999999", &q) == -1);
    CHECK(mstore_quota_parse("20000000T", &q) == -1);
}

TEST(folder_names)
{
    static const struct {
	char    sep;
	const char *name;
	const char *dir;		/* NULL: rejected */
    } cases[] = {
	{'.', "INBOX", ""},
	{'.', "inbox", ""},
	{'.', "Sent", ".Sent"},
	{'.', "Archive.2024", ".Archive.2024"},
	{'.', "inbox.sub", ".INBOX.sub"},
	{'/', "Archive/2024", ".Archive.2024"},
	{'.', "Entw\xc3\xbcrfe", ".Entw&APw-rfe"},
	{'.', "A&B", ".A&-B"},
	{'.', "../etc", NULL},
	{'/', "../etc", NULL},
	{'/', "a/../b", NULL},
	{'/', "a.b", NULL},		/* '.' is the on-disk separator */
	{'.', "a/b", NULL},
	{'.', "a..b", NULL},
	{'.', ".hidden", NULL},
	{'.', "trailing.", NULL},
	{'.', "", NULL},
	{'.', "a\tb", NULL},
	{'.', "a\x7f", NULL},
	{'.', "x*", NULL},
	{'.', "x%", NULL},
	{'.', "~root", NULL},
	{'.', "bad\xc3\x28utf8", NULL},
	{'/', "/abs", NULL},
	{'/', "a//b", NULL},
    };
    VSTRING *dir = vstring_alloc(64), *name = vstring_alloc(64);
    const char *why;

    fresh();
    for (size_t i = 0; i < PH_ARRAY_LEN(cases); i++) {
	MSTORE *s = open_store(cases[i].sep);

	if (s == NULL) {
	    UNIT_FAIL("open");
	    break;
	}
	int     rc = mstore_name_to_dir(s, cases[i].name, dir, &why);

	if (cases[i].dir == NULL) {
	    if (rc != -1)
		UNIT_FAIL("accepted \"%s\" as %s", cases[i].name, STR(dir));
	} else {
	    CHECK_INT(rc, 0);
	    CHECK_STR(STR(dir), cases[i].dir);
	}
	mstore_close(&s);
    }
    /* The long-name limit. */
    MSTORE *s = open_store('.');
    char    longname[400];

    memset(longname, 'x', 300);
    longname[300] = 0;
    CHECK(mstore_name_to_dir(s, longname, dir, &why) == -1);
    /* dir_to_name rejects what is no folder. */
    CHECK(mstore_dir_to_name(s, ".Entw&APw-rfe", name) == 0);
    CHECK_STR(STR(name), "Entw\xc3\xbcrfe");
    CHECK(mstore_dir_to_name(s, ".a.b", name) == 0);
    CHECK_STR(STR(name), "a.b");
    CHECK(mstore_dir_to_name(s, ".", name) == -1);
    CHECK(mstore_dir_to_name(s, "..", name) == -1);
    CHECK(mstore_dir_to_name(s, "..DELETED.1", name) == -1);
    CHECK(mstore_dir_to_name(s, ".a..b", name) == -1);
    CHECK(mstore_dir_to_name(s, ".bad&utf7", name) == -1);
    CHECK(mstore_dir_to_name(s, ".INBOX", name) == -1);
    mstore_close(&s);
    s = open_store('/');
    CHECK(mstore_dir_to_name(s, ".a.b", name) == 0);
    CHECK_STR(STR(name), "a/b");
    CHECK(mstore_dir_to_name(s, ".a&AC8-b", name) == -1);	/* "a/b" in one level */
    mstore_close(&s);
    vstring_free(&dir);
    vstring_free(&name);
}

TEST(sync_1000_files)
{
    MSTORE *s;
    MSTORE_FOLDER *f;
    const MSTORE_VIEW *v;
    const char *why;
    char    p[600];
    int     n;

    fresh();
    s = open_store('.');
    for (int i = 0; i < 1000; i++) {
	char    body[100];

	snprintf(body, sizeof(body), "Subject: %d\n\nbody %d\n", i, i);
	drop_file(maildir, 1000 - i, body);	/* arrival order = usec, not creation order */
    }
    f = mstore_folder_open(s, "INBOX", 0, &why);
    CHECK(f != NULL);
    if (f == NULL) {
	fprintf(stderr, "open: %s\n", why);
	mstore_close(&s);
	return;
    }
    v = mstore_folder_view(f);
    CHECK_INT(v->count, 1000);
    CHECK_INT(v->uidnext, 1001);
    CHECK_INT(v->recent, 1000);
    CHECK(v->uidvalidity > 0);
    for (uint32_t i = 0; i < v->count; i++)
	if (v->msgs[i].uid != i + 1) {
	    UNIT_FAIL("msg %u has uid %u", i, v->msgs[i].uid);
	    break;
	}
    snprintf(p, sizeof(p), "%s/new", maildir);
    CHECK_INT(count_entries(p), 0);
    char   *names = cur_names(maildir, &n);

    CHECK_INT(n, 1000);
    /* UID 1 is the earliest arrival: M000001; it carries U=1. */
    CHECK(strstr(names, "1700000000.M000001P99Q1.otherhost,U=1:2,\n") != NULL);
    CHECK(strstr(names, "1700000000.M001000P99Q1000.otherhost,U=1000:2,\n") != NULL);
    myfree(names);
    /* Message 1 is "Subject: 999" (dropped last, earliest usec). */
    VSTRING *buf = vstring_alloc(100);

    CHECK(mstore_msg_read(f, 1, buf, 0, &why) == 0);
    CHECK_STR(STR(buf), "Subject: 999\n\nbody 999\n");
    CHECK(info_of(f, 1).size == LEN(buf));
    vstring_free(&buf);
    mstore_folder_close(&f);
    /* A second session: same UIDs, nothing recent any more. */
    f = mstore_folder_open(s, "INBOX", 0, &why);
    CHECK(f != NULL);
    if (f) {
	CHECK_INT(mstore_folder_view(f)->count, 1000);
	CHECK_INT(mstore_folder_view(f)->recent, 0);
	CHECK_INT(mstore_folder_view(f)->msgs[999].uid, 1000);
	mstore_folder_close(&f);
    }
    mstore_close(&s);
}

TEST(new_delivery_gets_next_uid)
{
    MSTORE *s;
    MSTORE_FOLDER *f;
    MSTORE_UIDS exp = {0}, chg = {0};
    const char *why;

    fresh();
    s = open_store('.');
    drop_file(maildir, 1, "a\n");
    drop_file(maildir, 2, "b\n");
    f = mstore_folder_open(s, "INBOX", 0, &why);
    CHECK(f && mstore_folder_view(f)->count == 2);
    if (!f) {
	mstore_close(&s);
	return;
    }
    CHECK_INT(mstore_folder_changed(f, &why), 1);	/* our renames are too recent to trust */
    CHECK(mstore_folder_refresh(f, &exp, &chg, &why) == 0);
    usleep(150000);
    CHECK(mstore_folder_refresh(f, &exp, &chg, &why) == 0);
    CHECK_INT(mstore_folder_changed(f, &why), 0);
    /* Another program delivers, with the older-looking name: still UID 3. */
    drop_file(maildir, 0, "c\n");
    CHECK_INT(mstore_folder_changed(f, &why), 1);
    CHECK(mstore_folder_refresh(f, &exp, &chg, &why) == 0);
    CHECK_INT(exp.len, 0);
    CHECK_INT(chg.len, 0);
    CHECK_INT(mstore_folder_view(f)->count, 3);
    CHECK_INT(mstore_folder_view(f)->msgs[2].uid, 3);
    CHECK_INT(mstore_folder_view(f)->uidnext, 4);
    CHECK_INT(mstore_folder_view(f)->msgs[2].recent, 1);
    CHECK_INT(mstore_folder_seq(f, 3), 3);
    CHECK_INT(mstore_folder_seq(f, 4), 0);
    /* A file deleted by another program is expunged at the next sync. */
    char   *names = cur_names(maildir, NULL);
    char   *first = names, *nl = strchr(names, '\n');
    char    p[800];

    *nl = 0;
    snprintf(p, sizeof(p), "%s/cur/%s", maildir, first);
    CHECK(unlink(p) == 0);
    myfree(names);
    CHECK(mstore_folder_refresh(f, &exp, &chg, &why) == 0);
    CHECK_INT(exp.len, 1);
    CHECK_INT(mstore_folder_view(f)->count, 2);
    mstore_uids_free(&exp);
    mstore_uids_free(&chg);
    mstore_folder_close(&f);
    mstore_close(&s);
}

TEST(flags_round_trip)
{
    MSTORE *s;
    MSTORE_FOLDER *f;
    MSTORE_UIDS exp = {0}, chg = {0};
    const char *why;
    uint32_t one[] = {1};
    MSTORE_UIDS u = uids_of(1, one);

    fresh();
    s = open_store('.');
    drop_file(maildir, 1, "a\n");
    f = mstore_folder_open(s, "INBOX", 0, &why);
    if (!f) {
	UNIT_FAIL("open");
	mstore_close(&s);
	return;
    }
    uint64_t ms0 = mstore_folder_view(f)->msgs[0].modseq;

    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_SEEN | MSTORE_FLAGGED, 0, 0, NULL, &why) == 0);
    char   *names = cur_names(maildir, NULL);

    CHECK_STR(names, "1700000000.M000001P99Q1.otherhost,U=1:2,FS\n");
    myfree(names);
    CHECK(mstore_folder_view(f)->msgs[0].flags == (MSTORE_SEEN | MSTORE_FLAGGED));
    uint64_t ms1 = mstore_folder_view(f)->msgs[0].modseq;

    CHECK(ms1 > ms0);
    CHECK(mstore_folder_view(f)->highestmodseq == ms1);
    /* Another Maildir program (mutt) marks it replied and unflagged. */
    char    a[800], b[800];

    snprintf(a, sizeof(a), "%s/cur/1700000000.M000001P99Q1.otherhost,U=1:2,FS", maildir);
    snprintf(b, sizeof(b), "%s/cur/1700000000.M000001P99Q1.otherhost,U=1:2,RS", maildir);
    CHECK(rename(a, b) == 0);
    /* Reading before any sync finds the renamed file by its base name. */
    VSTRING *body = vstring_alloc(10);

    CHECK(mstore_msg_read(f, 1, body, 0, &why) == 0);
    CHECK_STR(STR(body), "a\n");
    vstring_free(&body);
    CHECK(mstore_folder_refresh(f, &exp, &chg, &why) == 0);
    CHECK_INT(chg.len, 1);
    CHECK(mstore_folder_view(f)->msgs[0].flags == (MSTORE_SEEN | MSTORE_ANSWERED));
    CHECK(mstore_folder_view(f)->msgs[0].modseq > ms1);
    /* Our STORE after that external rename finds the file again. */
    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_REPLACE, MSTORE_DELETED, 0, 0, NULL, &why) == 0);
    names = cur_names(maildir, NULL);
    CHECK_STR(names, "1700000000.M000001P99Q1.otherhost,U=1:2,T\n");
    myfree(names);
    /* A rename we did not see yet (external) before our STORE. */
    snprintf(a, sizeof(a), "%s/cur/1700000000.M000001P99Q1.otherhost,U=1:2,T", maildir);
    snprintf(b, sizeof(b), "%s/cur/1700000000.M000001P99Q1.otherhost,U=1:2,DT", maildir);
    CHECK(rename(a, b) == 0);
    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_REMOVE, MSTORE_DELETED, 0, 0, NULL, &why) == 0);
    names = cur_names(maildir, NULL);
    CHECK_STR(names, "1700000000.M000001P99Q1.otherhost,U=1:2,\n");
    myfree(names);
    /* Keywords: letters in the name, names in the index. */
    int     bit = mstore_keyword_index(f, "$Forwarded", true, &why);

    CHECK_INT(bit, 0);
    CHECK_INT(mstore_keyword_index(f, "$forwarded", false, &why), 0);
    CHECK_INT(mstore_keyword_index(f, "Unknown", false, &why), -1);
    CHECK_INT(mstore_keyword_index(f, "bad word", true, &why), -1);
    CHECK_INT(mstore_keyword_index(f, "\\Seen", true, &why), -1);
    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_SEEN, 1u << bit, 0, NULL, &why) == 0);
    names = cur_names(maildir, NULL);
    CHECK_STR(names, "1700000000.M000001P99Q1.otherhost,U=1:2,Sa\n");
    myfree(names);
    CHECK_INT(mstore_folder_view(f)->keyword_count, 1);
    CHECK_STR(mstore_folder_view(f)->keywords[0], "$Forwarded");
    /* CONDSTORE UNCHANGEDSINCE: a stale modseq fails. */
    MSTORE_UIDS failed = {0};

    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_FLAGGED, 0, 1, &failed, &why) == 0);
    CHECK_INT(failed.len, 1);
    CHECK(!(mstore_folder_view(f)->msgs[0].flags & MSTORE_FLAGGED));
    mstore_uids_free(&failed);
    mstore_folder_close(&f);
    /* Rebuild: flags from names, keyword names from posthorn-keywords. */
    CHECK(unlink(indexpath) == 0);
    mstore_close(&s);
    s = open_store('.');
    f = mstore_folder_open(s, "INBOX", 0, &why);
    CHECK(f != NULL);
    if (f) {
	CHECK_INT(mstore_folder_view(f)->count, 1);
	CHECK(mstore_folder_view(f)->msgs[0].flags == MSTORE_SEEN);
	CHECK(mstore_folder_view(f)->msgs[0].keywords == 1);
	CHECK_INT(mstore_folder_view(f)->keyword_count, 1);
	if (mstore_folder_view(f)->keyword_count == 1)
	    CHECK_STR(mstore_folder_view(f)->keywords[0], "$Forwarded");
	mstore_folder_close(&f);
    }
    mstore_uids_free(&u);
    mstore_uids_free(&exp);
    mstore_uids_free(&chg);
    mstore_close(&s);
}

TEST(rebuild_keeps_uids)
{
    MSTORE *s;
    MSTORE_FOLDER *f;
    const char *why;
    uint32_t uidv;

    fresh();
    s = open_store('.');
    for (int i = 1; i <= 5; i++)
	drop_file(maildir, i, "x\n");
    f = mstore_folder_open(s, "INBOX", 0, &why);
    if (!f) {
	UNIT_FAIL("open");
	mstore_close(&s);
	return;
    }
    uidv = mstore_folder_view(f)->uidvalidity;
    uint64_t hms = mstore_folder_view(f)->highestmodseq;

    /* Expunge the two highest UIDs: UIDNEXT must not fall back. */
    uint32_t top[] = {4, 5};
    MSTORE_UIDS u = uids_of(2, top), gone = {0};

    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_DELETED, 0, 0, NULL, &why) == 0);
    CHECK(mstore_expunge(f, NULL, &gone, &why) == 0);
    CHECK_INT(gone.len, 2);
    CHECK_INT(mstore_folder_view(f)->count, 3);
    mstore_folder_close(&f);
    mstore_close(&s);
    CHECK(unlink(indexpath) == 0);
    drop_file(maildir, 9, "new one\n");
    s = open_store('.');
    f = mstore_folder_open(s, "INBOX", 0, &why);
    CHECK(f != NULL);
    if (f) {
	const MSTORE_VIEW *v = mstore_folder_view(f);

	CHECK_INT(v->uidvalidity, uidv);
	CHECK_INT(v->count, 4);
	CHECK_INT(v->msgs[0].uid, 1);
	CHECK_INT(v->msgs[2].uid, 3);
	CHECK_INT(v->msgs[3].uid, 6);	/* not 4: UIDNEXT was 6 */
	CHECK_INT(v->uidnext, 7);
	CHECK(v->highestmodseq > hms);
	MSTORE_CHANGES ch;

	CHECK(mstore_changes_since(f, hms, &ch, &why) == 0);
	CHECK(ch.expunged_incomplete);
	mstore_changes_free(&ch);
	mstore_folder_close(&f);
    }
    /* Rebuild through the API too. */
    CHECK(mstore_rebuild(s, "INBOX", &why) == 0);
    f = mstore_folder_open(s, "INBOX", 0, &why);
    if (f) {
	CHECK_INT(mstore_folder_view(f)->uidvalidity, uidv);
	CHECK_INT(mstore_folder_view(f)->count, 4);
	mstore_folder_close(&f);
    }
    mstore_close(&s);
    /* Without posthorn-uidvalidity the UIDs stay but UIDVALIDITY changes. */
    char    p[600];

    snprintf(p, sizeof(p), "%s/posthorn-uidvalidity", maildir);
    CHECK(unlink(p) == 0);
    sleep(1);				/* UIDVALIDITY is the time */
    CHECK(unlink(indexpath) == 0);
    s = open_store('.');
    f = mstore_folder_open(s, "INBOX", 0, &why);
    if (f) {
	CHECK(mstore_folder_view(f)->uidvalidity != uidv);
	CHECK_INT(mstore_folder_view(f)->msgs[3].uid, 6);
	mstore_folder_close(&f);
    }
    mstore_uids_free(&u);
    mstore_uids_free(&gone);
    mstore_close(&s);
}

TEST(corrupt_index_rebuilt)
{
    MSTORE *s;
    MSTORE_FOLDER *f;
    const char *why;
    uint32_t uidv;
    char    garbage[8192];
    int     fd;

    fresh();
    s = open_store('.');
    for (int i = 1; i <= 3; i++)
	drop_file(maildir, i, "x\n");
    f = mstore_folder_open(s, "INBOX", 0, &why);
    if (!f) {
	UNIT_FAIL("open");
	mstore_close(&s);
	return;
    }
    uidv = mstore_folder_view(f)->uidvalidity;
    mstore_folder_close(&f);
    mstore_close(&s);
    memset(garbage, 'Z', sizeof(garbage));
    fd = open(indexpath, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    (void) !write(fd, garbage, sizeof(garbage));
    close(fd);
    /* Capture the warning. */
    char    logpath[600];

    snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
    int     saved = dup(2), lf = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    dup2(lf, 2);
    s = open_store('.');
    dup2(saved, 2);
    close(saved);
    close(lf);
    CHECK(s != NULL);
    if (!s)
	return;
    size_t  len;
    VSTRING *log = vstring_alloc(100);

    fd = open(logpath, O_RDONLY);
    len = (size_t) read(fd, garbage, sizeof(garbage) - 1);
    close(fd);
    garbage[len] = 0;
    CHECK(strstr(garbage, "warning:") != NULL && strstr(garbage, "unusable") != NULL);
    vstring_free(&log);
    char    aside[600];
    struct stat st;

    snprintf(aside, sizeof(aside), "%s.corrupt", indexpath);
    CHECK(stat(aside, &st) == 0);
    f = mstore_folder_open(s, "INBOX", 0, &why);
    CHECK(f != NULL);
    if (f) {
	CHECK_INT(mstore_folder_view(f)->uidvalidity, uidv);
	CHECK_INT(mstore_folder_view(f)->count, 3);
	CHECK_INT(mstore_folder_view(f)->msgs[2].uid, 3);
	mstore_folder_close(&f);
    }
    mstore_close(&s);
}

/* check_consistent - view UIDs unique, matching U= in the names */
static void check_consistent(int expect)
{
    MSTORE *s = open_store('.');
    MSTORE_FOLDER *f;
    const char *why;
    int     n;

    if (s == NULL || (f = mstore_folder_open(s, "INBOX", 0, &why)) == NULL) {
	UNIT_FAIL("reopen");
	mstore_close(&s);
	return;
    }
    const MSTORE_VIEW *v = mstore_folder_view(f);

    CHECK_INT(v->count, expect);
    for (uint32_t i = 1; i < v->count; i++)
	if (v->msgs[i].uid <= v->msgs[i - 1].uid)
	    UNIT_FAIL("UIDs not ascending at %u", i);
    CHECK(v->count == 0 || v->msgs[v->count - 1].uid < v->uidnext);
    char   *names = cur_names(maildir, &n);

    CHECK_INT(n, expect);
    /* Every U= value appears once and is a view UID. */
    char   *seen = mycalloc(v->uidnext + 1, 1);

    for (char *cp = names; (cp = strstr(cp, ",U=")) != NULL; cp += 3) {
	unsigned long u = strtoul(cp + 3, NULL, 10);

	if (u == 0 || u >= v->uidnext || seen[u]++)
	    UNIT_FAIL("bad or duplicate U=%lu", u);
	else if (mstore_folder_seq(f, (uint32_t) u) == 0)
	    UNIT_FAIL("U=%lu not in the view", u);
    }
    myfree(seen);
    myfree(names);
    mstore_folder_close(&f);
    mstore_close(&s);
}

TEST(concurrent_syncs_and_delivery)
{
    enum {
	NMSG = 300
    };
    pid_t   pids[4];
    int     status;

    fresh();
    MSTORE *s = open_store('.');

    mstore_close(&s);
    for (int p = 0; p < 4; p++) {
	fflush(NULL);
	if ((pids[p] = fork()) == 0) {
	    if (p == 3) {
		/* Another Maildir program toggling \Seen by renaming files. */
		char    dir[400], a[800], b[800];

		snprintf(dir, sizeof(dir), "%s/cur", maildir);
		for (int round = 0; round < 400; round++) {
		    DIR    *d = opendir(dir);
		    struct dirent *de;
		    int     k = 0;

		    while (d && (de = readdir(d)) != NULL) {
			char   *info = strstr(de->d_name, ":2,");

			if (info == NULL || k++ % 7 != round % 7)
			    continue;
			snprintf(a, sizeof(a), "%s/%s", dir, de->d_name);
			snprintf(b, sizeof(b), "%s/%.*s:2,%s", dir, (int) (info - de->d_name),
				 de->d_name, strchr(info + 3, 'S') ? "" : "S");
			(void) rename(a, b);	/* may lose races: fine */
		    }
		    if (d)
			closedir(d);
		    usleep(500);
		}
		_exit(0);
	    }
	    if (p == 2) {
		/* The delivery agent. */
		for (int i = 0; i < NMSG; i++) {
		    char    pre[64];
		    MAILBOX_SRC src;
		    VSTRING *why = vstring_alloc(10);
		    char    dsn[16];

		    snprintf(pre, sizeof(pre), "Subject: %d\n\nx\n", i);
		    memset(&src, 0, sizeof(src));
		    src.prologue = pre;
		    src.prologue_len = strlen(pre);
		    src.fd = -1;
		    if (maildir_deliver(maildir, &src, 0, NULL, why, dsn) < 0)
			_exit(2);
		    vstring_free(&why);
		}
		_exit(0);
	    }
	    /* Two sessions syncing and changing flags all the time. */
	    MSTORE *ms = open_store('.');
	    const char *why;
	    MSTORE_FOLDER *f = ms ? mstore_folder_open(ms, "INBOX", 0, &why) : NULL;

	    if (f == NULL)
		_exit(3);
	    for (int round = 0; round < 150; round++) {
		if (mstore_folder_refresh(f, NULL, NULL, &why) < 0)
		    _exit(4);
		const MSTORE_VIEW *v = mstore_folder_view(f);

		if (v->count > 0) {
		    MSTORE_UIDS u = {0};

		    mstore_uids_add(&u, v->msgs[(uint32_t) round % v->count].uid);
		    if (mstore_store_flags(f, &u, p ? MSTORE_FLAGS_ADD : MSTORE_FLAGS_REMOVE,
					   MSTORE_SEEN, 0, 0, NULL, &why) < 0)
			_exit(5);
		    mstore_uids_free(&u);
		}
		usleep(1000);
	    }
	    mstore_folder_close(&f);
	    mstore_close(&ms);
	    _exit(0);
	}
    }
    for (int p = 0; p < 4; p++) {
	waitpid(pids[p], &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	    UNIT_FAIL("child %d status 0x%x", p, status);
    }
    check_consistent(NMSG);
}

TEST(append_copy_move_expunge)
{
    MSTORE *s;
    MSTORE_FOLDER *f;
    const char *why;
    uint32_t uidv = 0, dv = 0;

    fresh();
    s = open_store('.');
    CHECK(mstore_create(s, "Archive", &why) == 0);
    CHECK(mstore_create(s, "Archive", &why) == -1);
    CHECK(append_msg(s, "INBOX", "Subject: one\r\n\r\nline\r\n", 0, &uidv) == 1);
    CHECK(append_msg(s, "INBOX", "Subject: two\r\n\r\nline\r\n", MSTORE_SEEN, NULL) == 2);
    CHECK(append_msg(s, "INBOX", "Subject: three\r\n\r\nbare\rcr\r\n", MSTORE_FLAGGED, NULL) == 3);
    CHECK(append_msg(s, "Nope", "x", 0, NULL) == 0);
    f = mstore_folder_open(s, "INBOX", 0, &why);
    if (!f) {
	UNIT_FAIL("open");
	mstore_close(&s);
	return;
    }
    const MSTORE_VIEW *v = mstore_folder_view(f);

    CHECK_INT(v->uidvalidity, uidv);
    CHECK_INT(v->count, 3);
    CHECK_INT(v->msgs[1].flags, MSTORE_SEEN);
    CHECK_INT(info_of(f, 1).internal_date, 1600000000);
    /* Stored with LF; RFC822.SIZE counts CRLF. */
    VSTRING *buf = vstring_alloc(100);
    uint64_t vs;

    CHECK(mstore_msg_read(f, 1, buf, 0, &why) == 0);
    CHECK_STR(STR(buf), "Subject: one\n\nline\n");
    CHECK(mstore_msg_vsize(f, 1, &vs, &why) == 0 && vs == 22);
    CHECK(mstore_msg_read(f, 3, buf, 0, &why) == 0);
    CHECK_STR(STR(buf), "Subject: three\n\nbare\rcr\n");
    CHECK(mstore_msg_vsize(f, 3, &vs, &why) == 0 && vs == 27);
    CHECK(mstore_msg_read(f, 3, buf, 5, &why) == -1);
    CHECK(mstore_msg_read(f, 99, buf, 0, &why) == -1);
    /* COPY 1,3 -> Archive: COPYUID 1:2. */
    uint32_t sel[] = {1, 3};
    MSTORE_UIDS u = uids_of(2, sel), src = {0}, dst = {0}, gone = {0};

    CHECK(mstore_copy(f, &u, "Archive", &dv, &src, &dst, &why) == 0);
    CHECK_INT(src.len, 2);
    CHECK_INT(dst.len, 2);
    CHECK(src.len == 2 && src.uids[0] == 1 && src.uids[1] == 3);
    CHECK(dst.len == 2 && dst.uids[0] == 1 && dst.uids[1] == 2);
    CHECK(dv != 0);
    CHECK(mstore_copy(f, &u, "Missing", &dv, NULL, NULL, &why) == -1);
    CHECK(strstr(why, "TRYCREATE") != NULL);
    /* MOVE 2 -> Archive: UID 3 there, expunged here. */
    uint32_t two[] = {2};
    MSTORE_UIDS u2 = uids_of(1, two);

    mstore_uids_reset(&src);
    mstore_uids_reset(&dst);
    CHECK(mstore_move(f, &u2, "Archive", &dv, &src, &dst, &gone, &why) == 0);
    CHECK(dst.len == 1 && dst.uids[0] == 3);
    CHECK(gone.len == 1 && gone.uids[0] == 2);
    CHECK_INT(v->count, 2);
    char    p[600];

    CHECK_INT(count_entries((snprintf(p, sizeof(p), "%s/cur", maildir), p)), 2);
    CHECK_INT(count_entries((snprintf(p, sizeof(p), "%s/.Archive/cur", maildir), p)), 3);
    /* EXPUNGE: only \Deleted ones; UID EXPUNGE restricts further. */
    uint64_t before = v->highestmodseq;

    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_DELETED, 0, 0, NULL, &why) == 0);
    mstore_uids_reset(&gone);
    uint32_t three[] = {3};
    MSTORE_UIDS u3 = uids_of(1, three);

    CHECK(mstore_expunge(f, &u3, &gone, &why) == 0);
    CHECK(gone.len == 1 && gone.uids[0] == 3);
    CHECK_INT(v->count, 1);
    mstore_uids_reset(&gone);
    CHECK(mstore_expunge(f, NULL, &gone, &why) == 0);
    CHECK(gone.len == 1 && gone.uids[0] == 1);
    CHECK_INT(v->count, 0);
    CHECK_INT(count_entries((snprintf(p, sizeof(p), "%s/cur", maildir), p)), 0);
    MSTORE_CHANGES ch;

    CHECK(mstore_changes_since(f, before, &ch, &why) == 0);
    CHECK_INT(ch.expunged.len, 2);
    CHECK(!ch.expunged_incomplete);
    mstore_changes_free(&ch);
    mstore_folder_close(&f);
    /* The copies keep flags and dates. */
    f = mstore_folder_open(s, "Archive", 0, &why);
    CHECK(f != NULL);
    if (f) {
	v = mstore_folder_view(f);
	CHECK_INT(v->count, 3);
	CHECK_INT(v->msgs[1].flags, MSTORE_FLAGGED);
	CHECK_INT(v->msgs[2].flags, MSTORE_SEEN);
	CHECK_INT(info_of(f, 1).internal_date, 1600000000);
	CHECK(mstore_msg_read(f, 2, buf, 0, &why) == 0);
	CHECK_STR(STR(buf), "Subject: three\n\nbare\rcr\n");
	mstore_folder_close(&f);
    }
    MSTORE_QUOTA q;

    CHECK(mstore_quota_get(s, &q, &why) == 0);
    CHECK_INT(q.messages, 3);
    mstore_uids_free(&u);
    mstore_uids_free(&u2);
    mstore_uids_free(&u3);
    mstore_uids_free(&src);
    mstore_uids_free(&dst);
    mstore_uids_free(&gone);
    vstring_free(&buf);
    mstore_close(&s);
}

TEST(modseq_changes)
{
    MSTORE *s;
    MSTORE_FOLDER *f, *g;
    const char *why;

    fresh();
    s = open_store('.');
    for (int i = 0; i < 4; i++)
	append_msg(s, "INBOX", "x\r\n", 0, NULL);
    f = mstore_folder_open(s, "INBOX", 0, &why);
    g = mstore_folder_open(s, "INBOX", MSTORE_OPEN_READONLY, &why);
    if (!f || !g) {
	UNIT_FAIL("open");
	mstore_close(&s);
	return;
    }
    uint64_t m0 = mstore_folder_view(f)->highestmodseq;
    uint32_t sel[] = {2, 4};
    MSTORE_UIDS u = uids_of(2, sel), chg = {0}, exp = {0};
    MSTORE_CHANGES ch;

    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_ANSWERED, 0, 0, NULL, &why) == 0);
    CHECK(mstore_changes_since(f, m0, &ch, &why) == 0);
    CHECK(ch.changed.len == 2 && ch.changed.uids[0] == 2 && ch.changed.uids[1] == 4);
    CHECK_INT(ch.expunged.len, 0);
    mstore_changes_free(&ch);
    /* The other session sees the change on refresh. */
    CHECK_INT(mstore_folder_changed(g, &why), 1);
    CHECK(mstore_folder_refresh(g, &exp, &chg, &why) == 0);
    CHECK_INT(chg.len, 2);
    CHECK_INT(mstore_folder_view(g)->highestmodseq, mstore_folder_view(f)->highestmodseq);
    /* Unchanged STORE: no new modseq. */
    uint64_t m1 = mstore_folder_view(f)->highestmodseq;

    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_ANSWERED, 0, 0, NULL, &why) == 0);
    CHECK(mstore_folder_view(f)->highestmodseq == m1);
    mstore_uids_free(&u);
    mstore_uids_free(&chg);
    mstore_uids_free(&exp);
    mstore_folder_close(&f);
    mstore_folder_close(&g);
    mstore_close(&s);
}

TEST(rename_inbox_and_folders)
{
    MSTORE *s;
    MSTORE_FOLDER *f;
    MSTORE_LIST list;
    const char *why;
    uint32_t uidv;

    fresh();
    s = open_store('.');
    for (int i = 0; i < 3; i++)
	append_msg(s, "INBOX", "x\r\n", 0, &uidv);
    drop_file(maildir, 7, "undelivered yet\n");
    CHECK(mstore_rename(s, "INBOX", "Old", &why) == 0);
    f = mstore_folder_open(s, "INBOX", 0, &why);
    CHECK(f != NULL);
    if (f) {
	CHECK_INT(mstore_folder_view(f)->count, 0);
	CHECK(mstore_folder_view(f)->uidvalidity != uidv);
	mstore_folder_close(&f);
    }
    f = mstore_folder_open(s, "Old", 0, &why);
    CHECK(f != NULL);
    if (f) {
	CHECK_INT(mstore_folder_view(f)->count, 4);
	CHECK_INT(mstore_folder_view(f)->uidvalidity, uidv);
	CHECK_INT(mstore_folder_view(f)->msgs[2].uid, 3);
	CHECK_INT(mstore_folder_view(f)->msgs[3].uid, 4);
	mstore_folder_close(&f);
    }
    /* Folder rename moves children; targets must be free. */
    CHECK(mstore_create(s, "A", &why) == 0);
    CHECK(mstore_create(s, "A.B", &why) == 0);
    append_msg(s, "A.B", "y\r\n", 0, NULL);
    f = mstore_folder_open(s, "A.B", 0, &why);
    uidv = f ? mstore_folder_view(f)->uidvalidity : 0;
    mstore_folder_close(&f);
    CHECK(mstore_rename(s, "A", "Old", &why) == -1);
    CHECK(mstore_rename(s, "A", "A.C", &why) == -1);
    CHECK(mstore_rename(s, "Nope", "Z", &why) == -1);
    CHECK(mstore_rename(s, "A", "Z", &why) == 0);
    CHECK_INT(mstore_exists(s, "A", &why), 0);
    CHECK_INT(mstore_exists(s, "Z.B", &why), 1);
    f = mstore_folder_open(s, "Z.B", 0, &why);
    CHECK(f != NULL);
    if (f) {
	CHECK_INT(mstore_folder_view(f)->count, 1);
	CHECK_INT(mstore_folder_view(f)->uidvalidity, uidv);
	mstore_folder_close(&f);
    }
    /* List, subscriptions, special use, delete. */
    CHECK(mstore_ensure_special(s, &why) == 0);
    CHECK(mstore_ensure_special(s, &why) == 0);
    CHECK(mstore_create(s, "X.Y", &why) == 0);
    CHECK(mstore_subscribe(s, "Ghost", true, &why) == 0);
    CHECK(mstore_list(s, &list, &why) == 0);
    VSTRING *all = vstring_alloc(100);

    for (size_t i = 0; i < list.len; i++)
	vstring_fmt_append(all, "%s%s%s%s%s;", list.entries[i].name,
			   list.entries[i].subscribed ? " S" : "",
			   list.entries[i].special ? " U" : "",
			   list.entries[i].has_children ? " C" : "",
			   list.entries[i].nonexistent ? " N" : "");
    CHECK_STR(STR(all), "INBOX S;Archive S U;Drafts S U;Ghost S N;Junk S U;Old;Sent S U;"
	      "Trash S U;X C N;X.Y;Z C;Z.B;");
    mstore_list_free(&list);
    CHECK_INT(mstore_special_use(s, "Sent"), MSTORE_SPECIAL_SENT);
    CHECK_INT(mstore_special_use(s, "Old"), 0);
    CHECK(mstore_subscribe(s, "Ghost", false, &why) == 0);
    CHECK(mstore_delete(s, "INBOX", &why) == -1);
    CHECK(mstore_delete(s, "Nope", &why) == -1);
    CHECK(mstore_delete(s, "Old", &why) == 0);
    CHECK_INT(mstore_exists(s, "Old", &why), 0);
    CHECK(mstore_folder_open(s, "Old", 0, &why) == NULL);
    CHECK(strncmp(why, "[NONEXISTENT] ", 14) == 0);
    CHECK(mstore_create(s, "Z", &why) == -1);
    CHECK(strncmp(why, "[ALREADYEXISTS] ", 16) == 0);
    CHECK(mstore_create(s, "Old", &why) == 0);
    f = mstore_folder_open(s, "Old", 0, &why);
    CHECK(f && mstore_folder_view(f)->count == 0);
    mstore_folder_close(&f);
    CHECK(mstore_list(s, &list, &why) == 0);
    vstring_reset(all);
    for (size_t i = 0; i < list.len; i++)
	vstring_fmt_append(all, "%s;", list.entries[i].name);
    CHECK(strstr(STR(all), "Ghost") == NULL);
    CHECK(strstr(STR(all), "DELETED") == NULL);
    mstore_list_free(&list);
    /* Non-ASCII names are stored in modified UTF-7. */
    char    p[600];
    struct stat st;

    CHECK(mstore_create(s, "Entw\xc3\xbcrfe", &why) == 0);
    CHECK(stat((snprintf(p, sizeof(p), "%s/.Entw&APw-rfe/cur", maildir), p), &st) == 0);
    vstring_free(&all);
    mstore_close(&s);
}

TEST(recent_claimed_once)
{
    MSTORE *s;
    MSTORE_FOLDER *a, *b, *c;
    const char *why;
    uint32_t unseen = 99;
    MSTORE_VIEW st;

    fresh();
    s = open_store('.');
    drop_file(maildir, 1, "x\n");
    drop_file(maildir, 2, "y\n");
    CHECK(mstore_status(s, "INBOX", &st, &unseen, &why) == 0);
    CHECK_INT(st.count, 2);
    CHECK_INT(st.recent, 2);
    CHECK_INT(unseen, 2);
    c = mstore_folder_open(s, "INBOX", MSTORE_OPEN_READONLY, &why);
    a = mstore_folder_open(s, "INBOX", 0, &why);
    b = mstore_folder_open(s, "INBOX", 0, &why);
    CHECK(a && b && c);
    if (a && b && c) {
	CHECK_INT(mstore_folder_view(c)->recent, 0);
	CHECK_INT(mstore_folder_view(a)->recent, 2);
	CHECK_INT(mstore_folder_view(b)->recent, 0);
	CHECK_INT(mstore_folder_view(a)->first_unseen, 1);
	drop_file(maildir, 3, "z\n");
	CHECK(mstore_folder_refresh(b, NULL, NULL, &why) == 0);
	CHECK(mstore_folder_refresh(a, NULL, NULL, &why) == 0);
	CHECK_INT(mstore_folder_view(b)->recent, 1);
	CHECK_INT(mstore_folder_view(a)->recent, 2);
    }
    mstore_folder_close(&a);
    mstore_folder_close(&b);
    mstore_folder_close(&c);
    mstore_close(&s);
}

TEST(cache_and_crlf)
{
    MSTORE *s;
    MSTORE_FOLDER *f;
    const char *why;
    VSTRING *buf = vstring_alloc(10);
    int     state = 0;

    mstore_crlf(buf, "a\nb\r\nc", 6, &state);
    mstore_crlf(buf, "\r", 1, &state);
    mstore_crlf(buf, "\nd\n", 3, &state);
    CHECK_STR(STR(buf), "a\r\nb\r\nc\r\nd\r\n");
    state = 0;
    CHECK_INT(mstore_crlf_size("a\nb\r\nc\r", 7, &state) + mstore_crlf_size("\nd\n", 3, &state), 12);
    fresh();
    s = open_store('.');
    append_msg(s, "INBOX", "x\r\n", 0, NULL);
    f = mstore_folder_open(s, "INBOX", 0, &why);
    if (f) {
	CHECK_INT(mstore_cache_get(f, 1, MSTORE_CACHE_ENVELOPE, buf, &why), 0);
	CHECK(mstore_cache_put(f, 1, MSTORE_CACHE_ENVELOPE, "(NIL \"s\")", 9, &why) == 0);
	CHECK(mstore_cache_put(f, 7, MSTORE_CACHE_ENVELOPE, "x", 1, &why) == -1);
	CHECK_INT(mstore_cache_get(f, 1, MSTORE_CACHE_ENVELOPE, buf, &why), 1);
	CHECK_STR(STR(buf), "(NIL \"s\")");
	CHECK_INT(mstore_cache_get(f, 1, MSTORE_CACHE_BODYSTRUCTURE, buf, &why), 0);
	/* Expunge drops the blob. */
	MSTORE_UIDS u = {0};

	mstore_uids_add(&u, 1);
	CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_DELETED, 0, 0, NULL, &why) == 0);
	CHECK(mstore_expunge(f, NULL, NULL, &why) == 0);
	CHECK_INT(mstore_cache_get(f, 1, MSTORE_CACHE_ENVELOPE, buf, &why), 0);
	mstore_uids_free(&u);
	mstore_folder_close(&f);
    } else
	UNIT_FAIL("open");
    mstore_close(&s);
    vstring_free(&buf);
}

/* reader_line - count the readers that hold a transaction (a txnid) */
static int reader_line(const char *line, void *ctx)
{
    size_t  len = strlen(line);

    if (len > 1 && line[0] == ' ' && line[len - 2] >= '0' && line[len - 2] <= '9'
	&& strstr(line, "pid") == NULL)
	++*(int *) ctx;
    return 0;
}

/* index_readers - read transactions open on the index, any store */
static int index_readers(MSTORE *s)
{
    int     n = 0;

    mdb_reader_list(s->env, reader_line, &n);
    return n;
}

/* The view holds 24 bytes per message; dates and sizes come from the
 * index records through one read transaction per command, which
 * mstore_release and mstore_cache_flush end. */
TEST(msg_info_on_demand)
{
    const char *why;
    MSTORE *s, *s2;
    MSTORE_FOLDER *f, *f2;
    MSTORE_MSG_INFO info;
    MSTORE_UIDS u = {0};
    uint64_t vs = 0;

    CHECK(sizeof(MSTORE_MSG) <= 24);
    fresh();
    s = open_store('.');
    s2 = open_store('.');
    if (s == NULL || s2 == NULL) {
	UNIT_FAIL("open");
	return;
    }
    append_msg(s, "INBOX", "Subject: a\n\nx\n", 0, NULL);	/* W= in the name */
    drop_file(maildir, 2, "Subject: bb\n\ny\n");	/* no W= */
    f = mstore_folder_open(s, "INBOX", 0, &why);
    f2 = mstore_folder_open(s2, "INBOX", 0, &why);
    if (f == NULL || f2 == NULL) {
	UNIT_FAIL("folder open: %s", why);
	goto out;
    }
    CHECK_INT(index_readers(s), 0);
    info = info_of(f, 1);
    CHECK_INT(info.internal_date, 1600000000);
    CHECK_INT(info.size, 14);
    CHECK_INT(info.vsize, 17);
    CHECK_INT(index_readers(s), 1);
    info = info_of(f, 2);
    CHECK_INT(info.size, 15);
    CHECK_INT(info.vsize, 0);			/* not known yet */
    CHECK(mstore_msg_vsize(f, 2, &vs, &why) == 0 && vs == 18);
    CHECK_INT(info_of(f, 2).vsize, 18);	/* queued, seen at once */
    CHECK_INT(mstore_msg_info(f, 99, &info, &why), -1);
    CHECK_INT(index_readers(s), 1);		/* one for all those lookups */
    /* the end of a command: queue written, no read transaction left */
    CHECK(mstore_cache_flush(s, &why) == 0);
    CHECK_INT(index_readers(s), 0);
    CHECK_INT(info_of(f2, 2).vsize, 18);
    mstore_release(s2);
    CHECK_INT(index_readers(s), 0);
    mstore_release(s2);				/* twice is fine */
    /* a write of the store ends its read transaction: the next lookup
     * sees the store's own change */
    CHECK_INT(info_of(f, 1).size, 14);
    mstore_uids_add(&u, 1);
    CHECK(mstore_store_flags(f, &u, MSTORE_FLAGS_ADD, MSTORE_FLAGGED, 0, 0, NULL, &why) == 0);
    CHECK_INT(index_readers(s), 0);
    CHECK_INT(info_of(f, 1).internal_date, 1600000000);
    mstore_release(s);
    /* expunged by another session: still in this view, no record */
    CHECK(mstore_store_flags(f2, &u, MSTORE_FLAGS_ADD, MSTORE_DELETED, 0, 0, NULL, &why) == 0);
    CHECK(mstore_expunge(f2, NULL, NULL, &why) == 0);
    CHECK_INT(mstore_folder_seq(f, 1), 1);
    CHECK_INT(mstore_msg_info(f, 1, &info, &why), -1);
    CHECK(mstore_msg_vsize(f, 1, &vs, &why) == -1);
    CHECK_INT(info_of(f, 2).vsize, 18);
    mstore_release(s);
    CHECK_INT(index_readers(s), 0);
out:
    mstore_uids_free(&u);
    mstore_folder_close(&f);
    mstore_folder_close(&f2);
    mstore_close(&s);
    mstore_close(&s2);
}

/* Cache writes are queued and reach the index in one transaction. */
TEST(cache_batched)
{
    VSTRING *buf = vstring_alloc(64);
    const char *why;
    MSTORE *s, *s2;
    MSTORE_FOLDER *f, *f2;
    uint64_t vs = 0;

    fresh();
    s = open_store('.');
    append_msg(s, "INBOX", "Subject: a\n\nx\n", 0, NULL);
    append_msg(s, "INBOX", "Subject: b\n\ny\n", 0, NULL);
    f = mstore_folder_open(s, "INBOX", 0, &why);
    s2 = open_store('.');
    f2 = s2 ? mstore_folder_open(s2, "INBOX", 0, &why) : NULL;
    if (f && f2) {
	CHECK(mstore_cache_put(f, 1, MSTORE_CACHE_ENVELOPE, "E1", 2, &why) == 0);
	mstore_msg_vsize_set(f, 2, 99);
	CHECK(mstore_msg_vsize(f, 2, &vs, &why) == 0 && vs == 99);
	/* queued: this store sees it, another one not yet */
	CHECK_INT(mstore_cache_get(f, 1, MSTORE_CACHE_ENVELOPE, buf, &why), 1);
	CHECK_INT(mstore_cache_get(f2, 1, MSTORE_CACHE_ENVELOPE, buf, &why), 0);
	CHECK(mstore_cache_flush(s, &why) == 0);
	/* f2's lookups see s's writes from its next command on */
	CHECK_INT(mstore_cache_get(f2, 1, MSTORE_CACHE_ENVELOPE, buf, &why), 0);
	mstore_release(s2);
	CHECK_INT(mstore_cache_get(f2, 1, MSTORE_CACHE_ENVELOPE, buf, &why), 1);
	CHECK_STR(STR(buf), "E1");
	CHECK(mstore_cache_flush(s, &why) == 0);	/* empty queue */
	/* a full batch flushes by itself */
	for (int i = 0; i < 1000; i++)
	    CHECK(mstore_cache_put(f, 2, MSTORE_CACHE_BODY, "B", 1, &why) == 0);
	mstore_release(s2);
	CHECK_INT(mstore_cache_get(f2, 2, MSTORE_CACHE_BODY, buf, &why), 1);
	/* queued for a message expunged by the other store: dropped */
	CHECK(mstore_cache_put(f, 1, MSTORE_CACHE_BODYSTRUCTURE, "S", 1, &why) == 0);
	MSTORE_UIDS u = {0};

	mstore_uids_add(&u, 1);
	CHECK(mstore_store_flags(f2, &u, MSTORE_FLAGS_ADD, MSTORE_DELETED, 0, 0, NULL, &why) == 0);
	CHECK(mstore_expunge(f2, NULL, NULL, &why) == 0);
	mstore_uids_free(&u);
	CHECK(mstore_cache_flush(s, &why) == 0);
	CHECK_INT(mstore_cache_get(f2, 1, MSTORE_CACHE_BODYSTRUCTURE, buf, &why), 0);
    } else
	UNIT_FAIL("open");
    mstore_folder_close(&f);
    mstore_folder_close(&f2);
    mstore_close(&s);
    /* the size was written: a new store reads it from the index */
    s = open_store('.');
    f = s ? mstore_folder_open(s, "INBOX", 0, &why) : NULL;
    if (f) {
	const MSTORE_VIEW *v = mstore_folder_view(f);

	CHECK(v->count == 1 && v->msgs[0].uid == 2 && info_of(f, 2).vsize == 99);
    } else
	UNIT_FAIL("reopen");
    mstore_folder_close(&f);
    mstore_close(&s);
    mstore_close(&s2);
    vstring_free(&buf);
}

TEST(quota_enforced)
{
    MSTORE_SETTINGS set = {location, tmpdir, '.', "100"};
    const char *why;
    MSTORE *s;

    fresh();
    s = mstore_open(&set, &why);
    CHECK(s != NULL);
    if (!s)
	return;
    char    big[200];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK(append_msg(s, "INBOX", "small\r\n", 0, NULL) == 1);
    MSTORE_APPEND *ap = mstore_append_begin(s, "INBOX", &why);
    uint32_t uv, uid;

    CHECK(ap != NULL);
    mstore_append_write(ap, big, strlen(big), &why);
    CHECK(mstore_append_finish(&ap, 0, NULL, 0, &uv, &uid, &why) == -1);
    CHECK(strstr(why, "OVERQUOTA") != NULL);
    CHECK(ap == NULL);
    char    p[600];

    CHECK_INT(count_entries((snprintf(p, sizeof(p), "%s/tmp", maildir), p)), 0);
    MSTORE_QUOTA q;

    CHECK(mstore_quota_get(s, &q, &why) == 0);
    CHECK_INT(q.limit_bytes, 100);
    CHECK_INT(q.bytes, 6);
    mstore_close(&s);
}

int     main(void)
{
    msg_init("test_mstore", MSG_TO_STDERR);
    RUN(location_parsing);
    RUN(folder_names);
    RUN(sync_1000_files);
    RUN(new_delivery_gets_next_uid);
    RUN(flags_round_trip);
    RUN(rebuild_keeps_uids);
    RUN(corrupt_index_rebuilt);
    RUN(concurrent_syncs_and_delivery);
    RUN(append_copy_move_expunge);
    RUN(modseq_changes);
    RUN(rename_inbox_and_folders);
    RUN(recent_claimed_once);
    RUN(cache_and_crlf);
    RUN(cache_batched);
    RUN(msg_info_on_demand);
    RUN(quota_enforced);
    fresh();
    rmdir(tmpdir);
    return unit_done();
}
