/* test_mailbox - Maildir and mbox delivery. */
#include "sys_defs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "unit.h"

static char tmpdir[256];

/* make_src - a temp file holding data, as a MAILBOX_SRC region */
static MAILBOX_SRC make_src(const char *pre, const char *data, size_t len, off_t skip)
{
    char path[300];
    MAILBOX_SRC src;

    snprintf(path, sizeof(path), "%s/src.XXXXXX", tmpdir);
    int fd = mkstemp(path);
    unlink(path);
    for (off_t i = 0; i < skip; i++)
	(void) !write(fd, "J", 1);
    (void) !write(fd, data, len);
    memset(&src, 0, sizeof(src));
    src.prologue = pre;
    src.prologue_len = strlen(pre);
    src.fd = fd;
    src.offset = skip;
    src.length = (off_t) len;
    src.sender = "alice@example.com";
    src.arrival = 1700000000;
    return src;
}

/* slurp - read a whole file */
static char *slurp(const char *path, size_t *len_r)
{
    VSTRING *buf = vstring_alloc(1024);
    int fd = open(path, O_RDONLY);
    char chunk[4096];
    ssize_t n;

    while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
	vstring_catn(buf, chunk, (size_t) n);
    if (fd >= 0)
	close(fd);
    *len_r = LEN(buf);
    return vstring_export(&buf);
}

/* count_dir - entries in a directory, excluding . and .. */
static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    if (!d)
	return -1;
    while ((e = readdir(d)) != NULL)
	if (e->d_name[0] != '.')
	    n++;
    closedir(d);
    return n;
}

TEST(test_maildir_basic)
{
    char dir[300], sub[320];
    VSTRING *path = vstring_alloc(64), *why = vstring_alloc(64);
    char dsn[16] = "";
    MAILBOX_SRC src = make_src("Return-Path: <a@b>\n", "Subject: x\n\nbody\n", 17, 100);

    snprintf(dir, sizeof(dir), "%s/Maildir/", tmpdir);
    CHECK_INT(maildir_deliver(dir, &src, 0, path, why, dsn), 0);
    size_t len;
    char *text = slurp(STR(path), &len);
    CHECK_STR(text, "Return-Path: <a@b>\nSubject: x\n\nbody\n");
    CHECK(strstr(STR(path), "/new/") != NULL);
    CHECK(strstr(STR(path), ",S=36") != NULL);
    struct stat st;
    CHECK(stat(STR(path), &st) == 0 && (st.st_mode & 0777) == 0600);
    snprintf(sub, sizeof(sub), "%s/Maildir/tmp", tmpdir);
    CHECK_INT(count_dir(sub), 0);
    snprintf(sub, sizeof(sub), "%s/Maildir/cur", tmpdir);
    CHECK_INT(count_dir(sub), 0);
    myfree(text);

    /* Unique names: many deliveries, all distinct files. */
    for (int i = 0; i < 200; i++)
	CHECK_INT(maildir_deliver(dir, &src, 0, NULL, why, dsn), 0);
    snprintf(sub, sizeof(sub), "%s/Maildir/new", tmpdir);
    CHECK_INT(count_dir(sub), 201);
    close(src.fd);
    vstring_free(&path);
    vstring_free(&why);
}

TEST(test_maildir_limit_and_errors)
{
    char dir[300];
    VSTRING *why = vstring_alloc(64);
    char dsn[16] = "";
    MAILBOX_SRC src = make_src("", "0123456789", 10, 0);

    snprintf(dir, sizeof(dir), "%s/Limited", tmpdir);
    CHECK_INT(maildir_deliver(dir, &src, 5, NULL, why, dsn), -1);
    CHECK_STR(dsn, "5.2.2");
    /* A region past the end of the source file is an I/O error, no partial file. */
    src.length = 1000;
    CHECK_INT(maildir_deliver(dir, &src, 0, NULL, why, dsn), -1);
    CHECK_STR(dsn, "4.3.0");
    char sub[320];
    snprintf(sub, sizeof(sub), "%s/Limited/tmp", tmpdir);
    CHECK_INT(count_dir(sub), 0);
    snprintf(sub, sizeof(sub), "%s/Limited/new", tmpdir);
    CHECK_INT(count_dir(sub), 0);
    /* A file where the Maildir should be. */
    snprintf(dir, sizeof(dir), "%s/plainfile", tmpdir);
    close(open(dir, O_CREAT | O_WRONLY, 0600));
    src.length = 10;
    CHECK_INT(maildir_deliver(dir, &src, 0, NULL, why, dsn), -1);
    CHECK(dsn[0] == '4');
    close(src.fd);
    vstring_free(&why);
}

TEST(test_mbox_quoting)
{
    char path[300];
    VSTRING *why = vstring_alloc(64);
    char dsn[16] = "";
    const char *msg = "Subject: hi\n\nFrom here\n>From there\nFrom\nx From y\nFrom ";
    MAILBOX_SRC src = make_src("Delivered-To: bob\n", msg, strlen(msg), 7);

    snprintf(path, sizeof(path), "%s/mbox", tmpdir);
    CHECK_INT(mbox_deliver(path, &src, 0, why, dsn), 0);
    CHECK_INT(mbox_deliver(path, &src, 0, why, dsn), 0);
    size_t len;
    char *text = slurp(path, &len);
    const char *one = "Delivered-To: bob\nSubject: hi\n\n>From here\n>From there\nFrom\nx From y\n>From \n\n";
    char *p = strstr(text, "\n");
    CHECK(strncmp(text, "From alice@example.com  ", 24) == 0);
    CHECK(p && strncmp(p + 1, one, strlen(one)) == 0);
    /* Two messages, two From_ lines at line starts. */
    int froms = 0;
    for (char *q = text; (q = strstr(q, "From alice@example.com")) != NULL; q++)
	froms++;
    CHECK_INT(froms, 2);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char lock[320];
    snprintf(lock, sizeof(lock), "%s.lock", path);
    CHECK(access(lock, F_OK) < 0);
    myfree(text);
    close(src.fd);
    vstring_free(&why);
}

TEST(test_mbox_chunk_boundary)
{
    /* "From " split across the 64 KiB copy window must still be quoted. */
    size_t n = 65536 + 100;
    char *big = mymalloc(n);
    memset(big, 'a', n);
    for (size_t i = 79; i < n; i += 80)
	big[i] = '\n';
    size_t at = 65536 - 2;	/* line start two bytes before the boundary */
    big[at - 1] = '\n';
    memcpy(big + at, "From x", 6);
    big[n - 1] = '\n';
    MAILBOX_SRC src = make_src("", big, n, 0);
    char path[300];
    VSTRING *why = vstring_alloc(64);
    char dsn[16];

    snprintf(path, sizeof(path), "%s/mbox-big", tmpdir);
    CHECK_INT(mbox_deliver(path, &src, 0, why, dsn), 0);
    size_t len;
    char *text = slurp(path, &len);
    CHECK(strstr(text, "\n>From x") != NULL);
    CHECK(strstr(text, "\nFrom x") == NULL);
    myfree(text);
    myfree(big);
    close(src.fd);
    vstring_free(&why);
}

TEST(test_mbox_refusals)
{
    char path[300], target[300];
    VSTRING *why = vstring_alloc(64);
    char dsn[16];
    MAILBOX_SRC src = make_src("", "x\n", 2, 0);

    snprintf(target, sizeof(target), "%s/victim", tmpdir);
    close(open(target, O_CREAT | O_WRONLY, 0600));
    snprintf(path, sizeof(path), "%s/mbox-link", tmpdir);
    CHECK(symlink(target, path) == 0);
    CHECK_INT(mbox_deliver(path, &src, 0, why, dsn), -1);
    CHECK_STR(dsn, "5.3.5");
    struct stat st;
    CHECK(stat(target, &st) == 0 && st.st_size == 0);
    /* Hard link to another file. */
    snprintf(path, sizeof(path), "%s/mbox-hard", tmpdir);
    CHECK(link(target, path) == 0);
    CHECK_INT(mbox_deliver(path, &src, 0, why, dsn), -1);
    /* Size limit leaves the mailbox unchanged. */
    snprintf(path, sizeof(path), "%s/mbox-small", tmpdir);
    CHECK_INT(mbox_deliver(path, &src, 0, why, dsn), 0);
    CHECK(stat(path, &st) == 0);
    off_t before = st.st_size;
    CHECK_INT(mbox_deliver(path, &src, before + 3, why, dsn), -1);
    CHECK_STR(dsn, "5.2.2");
    CHECK(stat(path, &st) == 0 && st.st_size == before);
    close(src.fd);
    vstring_free(&why);
}

/* A FIFO or a too-long path as the mailbox: refused at once, never a
 * hang or a delivery to a truncated path. */
TEST(test_hostile_mailbox_paths)
{
    char path[300];
    VSTRING *why = vstring_alloc(64), *longp = vstring_alloc(5000);
    char dsn[16];
    MAILBOX_SRC src = make_src("", "x\n", 2, 0);
    int st;

    snprintf(path, sizeof(path), "%s/mbox-fifo", tmpdir);
    CHECK(mkfifo(path, 0600) == 0);
    st = UNIT_IN_CHILD(alarm(5); _exit(mbox_deliver(path, &src, 0, why, dsn) == -1
					&& strcmp(dsn, "5.3.5") == 0 ? 0 : 1));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* A path longer than PATH_MAX whose 4095-byte prefix is a real
     * directory: must fail, not deliver into the prefix. */
    vstring_fmt(longp, "%s/", tmpdir);
    while (LEN(longp) < 4095)
	vstring_addch(longp, '/');
    vstring_cat(longp, "Maildir-beyond/");
    CHECK_INT(maildir_deliver(STR(longp), &src, 0, NULL, why, dsn), -1);
    CHECK(dsn[0] == '5' || dsn[0] == '4');
    {
	char tmpsub[320];

	snprintf(tmpsub, sizeof(tmpsub), "%s/new", tmpdir);
	CHECK_INT(access(tmpsub, F_OK), -1);
    }
    close(src.fd);
    vstring_free(&why);
    vstring_free(&longp);
}

int main(void)
{
    msg_init("test_mailbox", MSG_TO_STDERR);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_mailbox.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
	msg_fatal("mkdtemp: %m");
    RUN(test_maildir_basic);
    RUN(test_maildir_limit_and_errors);
    RUN(test_mbox_quoting);
    RUN(test_mbox_chunk_boundary);
    RUN(test_mbox_refusals);
    RUN(test_hostile_mailbox_paths);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
	msg_warn("cleanup of %s failed", tmpdir);
    return unit_done();
}
