/* mstore_bench - how long opening (SELECT) a big Maildir takes.
 *
 * Usage:
 *	mstore_bench [-d DIR] [N ...]	(default N: 10000 100000)
 *
 * For each N: writes N ~1 KiB messages into DIR/mbN/Maildir/new (plain
 * files, as a delivery agent leaves them; no fsync, this measures the
 * storage layer, not the disk), then times:
 *   cold:    first open, no index: every file moved to cur/ and indexed
 *   rescan:  second open: directory re-read (our own renames made the
 *            mtimes untrusted), nothing to change
 *   warm:    open of an unchanged folder (best and median of 9)
 *   rebuild: index deleted, open again (UIDs taken from the names)
 *   refresh: one new delivery, then a refresh of an open folder
 * and checks the counts (a wrong count exits 1). Output lines:
 *   "N=100000 cold: 2.345 s" etc., then "index: X bytes (Y per message)".
 * DIR (default /tmp) must have room for N KiB per N; the data is removed.
 */
#include "sys_defs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "mstore.h"
#include "vstring.h"

/* now - monotonic seconds */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* make_maildir - N plain files in new/ */
static void make_maildir(const char *root, int n)
{
    char    path[600], body[1100];
    VSTRING *cmd = vstring_alloc(100);

    vstring_fmt(cmd, "mkdir -p %s/new %s/cur %s/tmp", root, root, root);
    if (system(STR(cmd)) != 0)
	msg_fatal("%s failed", STR(cmd));
    for (int i = 0; i < n; i++) {
	int     len = snprintf(body, sizeof(body),
			       "Return-Path: <a@example.com>\nFrom: a@example.com\n"
			       "To: b@example.com\nSubject: message %d\n"
			       "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n", i);

	while (len < 1000) {
	    body[len] = (len % 64 == 63) ? '\n' : 'x';
	    len++;
	}
	body[len++] = '\n';
	snprintf(path, sizeof(path), "%s/new/%d.M%06dP1Q%d.benchhost,S=%d", root,
		 1700000000 + i / 1000000, i % 1000000, i, len);
	int     fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, body, (size_t) len) != len)
	    msg_fatal("write %s: %m", path);
	close(fd);
    }
    vstring_free(&cmd);
}

/* open_count - open INBOX, return its count and the time taken */
static double open_count(const MSTORE_SETTINGS *set, uint32_t *count_r)
{
    const char *why;
    double  t0 = now();
    MSTORE *s = mstore_open(set, &why);
    MSTORE_FOLDER *f;

    if (s == NULL)
	msg_fatal("open: %s", why);
    if ((f = mstore_folder_open(s, "INBOX", 0, &why)) == NULL)
	msg_fatal("select: %s", why);
    *count_r = mstore_folder_view(f)->count;
    mstore_folder_close(&f);
    mstore_close(&s);
    return now() - t0;
}

/* dbl_cmp - qsort doubles */
static int dbl_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

/* bench_one - the whole sequence for one N */
static int bench_one(const char *dir, int n)
{
    char    root[512], loc[600], idx[600];
    MSTORE_SETTINGS set;
    uint32_t count;
    double  t, warm[9];
    int     status = 0;
    struct stat st;
    VSTRING *cmd = vstring_alloc(100);

    snprintf(root, sizeof(root), "%s/mstore_bench.%ld.%d/Maildir", dir, (long) getpid(), n);
    snprintf(loc, sizeof(loc), "maildir:%s", root);
    snprintf(idx, sizeof(idx), "%s/posthorn-index.lmdb", root);
    set.location = loc;
    set.home = dir;
    set.separator = '.';
    set.quota = "";
    t = now();
    make_maildir(root, n);
    printf("N=%d create: %.3f s\n", n, now() - t);
    fflush(stdout);
    t = open_count(&set, &count);
    printf("N=%d cold: %.3f s (%u messages)\n", n, t, count);
    if ((int) count != n)
	status = 1;
    usleep(200000);				/* let the mtimes age past the slack */
    t = open_count(&set, &count);
    printf("N=%d rescan: %.3f s\n", n, t);
    for (int i = 0; i < 9; i++) {
	warm[i] = open_count(&set, &count);
	if ((int) count != n)
	    status = 1;
    }
    qsort(warm, 9, sizeof(double), dbl_cmp);
    printf("N=%d warm: best %.4f s, median %.4f s\n", n, warm[0], warm[4]);
    if (stat(idx, &st) == 0)
	printf("N=%d index: %lld bytes (%lld per message)\n", n, (long long) st.st_size,
	       (long long) st.st_size / n);
    /* Refresh of an open folder after one delivery. */
    {
	const char *why;
	MSTORE *s = mstore_open(&set, &why);
	MSTORE_FOLDER *f = s ? mstore_folder_open(s, "INBOX", 0, &why) : NULL;
	char    path[700];

	if (f == NULL)
	    msg_fatal("open: %s", why);
	snprintf(path, sizeof(path), "%s/new/1800000000.M1P1Q1.benchhost", root);
	int     fd = open(path, O_WRONLY | O_CREAT, 0600);

	if (fd < 0 || write(fd, "x\n", 2) != 2)
	    msg_fatal("write %s: %m", path);
	close(fd);
	t = now();
	if (mstore_folder_refresh(f, NULL, NULL, &why) < 0)
	    msg_fatal("refresh: %s", why);
	printf("N=%d refresh after 1 delivery: %.4f s\n", n, now() - t);
	if ((int) mstore_folder_view(f)->count != n + 1)
	    status = 1;
	mstore_folder_close(&f);
	mstore_close(&s);
    }
    unlink(idx);
    t = open_count(&set, &count);
    printf("N=%d rebuild (index deleted): %.3f s\n", n, t);
    if ((int) count != n + 1)
	status = 1;
    vstring_fmt(cmd, "rm -rf %s/mstore_bench.%ld.%d", dir, (long) getpid(), n);
    if (system(STR(cmd)) != 0)
	msg_warn("%s failed", STR(cmd));
    vstring_free(&cmd);
    fflush(stdout);
    return status;
}

int     main(int argc, char **argv)
{
    const char *dir = "/tmp";
    int     ch, status = 0, any = 0;

    msg_init("mstore_bench", MSG_TO_STDERR);
    while ((ch = getopt(argc, argv, "d:")) > 0) {
	if (ch == 'd')
	    dir = optarg;
	else
	    msg_fatal("usage: mstore_bench [-d DIR] [N ...]");
    }
    for (int i = optind; i < argc; i++) {
	int     n = atoi(argv[i]);

	if (n <= 0)
	    msg_fatal("bad N: %s", argv[i]);
	status |= bench_one(dir, n);
	any = 1;
    }
    if (!any) {
	status |= bench_one(dir, 10000);
	status |= bench_one(dir, 100000);
    }
    if (status)
	printf("FAILED: a message count was wrong\n");
    return status;
}
