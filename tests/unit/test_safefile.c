/* test_safefile - atomic replace, exclusive create, bounded read, mkdir -p. */
#include "sys_defs.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "msg.h"
#include "mymalloc.h"
#include "safefile.h"
#include "vstring.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_safefile.XXXXXX";

/* path - a name inside the test directory (static rotating buffers) */
static const char *path(const char *name)
{
    static char bufs[4][512];
    static int which;
    char *b = bufs[which++ % 4];

    snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
    return b;
}

/* count_entries - number of directory entries other than . and .. */
static int count_entries(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (dp == NULL)
        return -1;
    while ((de = readdir(dp)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(dp);
    return n;
}

TEST(test_write_read)
{
    const char *error = NULL;
    VSTRING *buf = vstring_alloc(10);
    struct stat st;

    CHECK_INT(safe_write_file(path("a.cf"), "one\ntwo\n", 8, 0640, &error), 0);
    CHECK_INT(safe_read_file(path("a.cf"), buf, 100), 0);
    CHECK_INT(LEN(buf), 8);
    CHECK_STR(STR(buf), "one\ntwo\n");
    CHECK_INT(stat(path("a.cf"), &st), 0);
    CHECK_INT(st.st_mode & 07777, 0640);        /* exact, whatever the umask */

    /* Replace: the old contents are gone, no temp file is left behind. */
    CHECK_INT(safe_write_file(path("a.cf"), "x", 1, 0600, &error), 0);
    CHECK_INT(safe_read_file(path("a.cf"), buf, 100), 0);
    CHECK_STR(STR(buf), "x");
    CHECK_INT(count_entries(tmpdir), 1);

    /* Binary data round trip. */
    CHECK_INT(safe_write_file(path("bin"), "a\0b\377", 4, 0600, &error), 0);
    CHECK_INT(safe_read_file(path("bin"), buf, 4), 0);
    CHECK_INT(LEN(buf), 4);
    CHECK(memcmp(STR(buf), "a\0b\377", 4) == 0);
    unlink(path("bin"));
    unlink(path("a.cf"));
    vstring_free(&buf);
}

TEST(test_read_limits)
{
    const char *error = NULL;
    VSTRING *buf = vstring_alloc(10);

    CHECK_INT(safe_write_file(path("big"), "0123456789", 10, 0600, &error), 0);
    CHECK_INT(safe_read_file(path("big"), buf, 10), 0);
    errno = 0;
    CHECK_INT(safe_read_file(path("big"), buf, 9), -1);
    CHECK_INT(errno, EFBIG);
    CHECK_INT(LEN(buf), 0);
    /* Not a regular file. */
    CHECK_INT(safe_read_file(tmpdir, buf, 100), -1);
    CHECK_INT(errno, EISDIR);
    CHECK_INT(safe_read_file("/dev/null", buf, 100), -1);
    CHECK_INT(safe_read_file(path("missing"), buf, 100), -1);
    CHECK_INT(errno, ENOENT);
    /* A symlink is not followed. */
    CHECK_INT(symlink(path("big"), path("link")), 0);
    CHECK_INT(safe_read_file(path("link"), buf, 100), -1);
    CHECK_INT(errno, ELOOP);
    unlink(path("link"));
    unlink(path("big"));
    vstring_free(&buf);
}

TEST(test_excl)
{
    int fd = safe_open_excl(path("ex"), O_WRONLY, 0604);
    struct stat st;

    CHECK(fd >= 0);
    CHECK_INT(fstat(fd, &st), 0);
    CHECK_INT(st.st_mode & 07777, 0604);
    close(fd);
    CHECK_INT(safe_open_excl(path("ex"), O_WRONLY, 0600), -1);
    CHECK_INT(errno, EEXIST);
    /* A dangling symlink planted at the name is not followed. */
    CHECK_INT(symlink(path("victim"), path("trap")), 0);
    CHECK_INT(safe_open_excl(path("trap"), O_WRONLY, 0600), -1);
    CHECK_INT(access(path("victim"), F_OK), -1);
    unlink(path("trap"));
    unlink(path("ex"));
}

TEST(test_abort_and_errors)
{
    const char *error = NULL;
    SAFE_FILE *sf;

    CHECK_INT(safe_write_file(path("keep"), "old", 3, 0600, &error), 0);
    sf = safe_file_create(path("keep"), 0600, &error);
    CHECK(sf != NULL);
    CHECK(strstr(sf->tmp_path, "/.keep.") != NULL);
    CHECK_INT(safe_file_write(sf, "new", 3), 0);
    CHECK_INT(count_entries(tmpdir), 2);
    safe_file_abort(&sf);
    CHECK(sf == NULL);
    CHECK_INT(count_entries(tmpdir), 1);

    VSTRING *buf = vstring_alloc(10);
    CHECK_INT(safe_read_file(path("keep"), buf, 100), 0);
    CHECK_STR(STR(buf), "old");

    /* A latched write error makes commit fail and leaves the target alone. */
    sf = safe_file_create(path("keep"), 0600, &error);
    CHECK(sf != NULL);
    close(sf->fd);
    int fd = open("/dev/null", O_RDONLY);       /* reuse the number, read-only */
    CHECK_INT(fd, sf->fd);
    CHECK_INT(safe_file_write(sf, "zz", 2), -1);
    CHECK_INT(sf->fd, -1);
    error = NULL;
    CHECK_INT(safe_file_commit(&sf, &error), -1);
    CHECK(sf == NULL);
    CHECK(error != NULL && strstr(error, "earlier write error") != NULL);
    CHECK_INT(count_entries(tmpdir), 1);
    CHECK_INT(safe_read_file(path("keep"), buf, 100), 0);
    CHECK_STR(STR(buf), "old");

    /* Missing directory: create fails with a reason. */
    error = NULL;
    CHECK(safe_file_create(path("nodir/x"), 0600, &error) == NULL);
    CHECK(error != NULL && strstr(error, "nodir") != NULL);
    CHECK_INT(errno, ENOENT);
    /* Target is a directory: rename fails, temp removed. */
    CHECK_INT(mkdir(path("adir"), 0700), 0);
    CHECK_INT(mkdir(path("adir/sub"), 0700), 0);
    error = NULL;
    CHECK_INT(safe_write_file(path("adir/sub"), "x", 1, 0600, &error), -1);
    CHECK(error != NULL && strstr(error, "rename") != NULL);
    CHECK_INT(count_entries(path("adir")), 1);
    rmdir(path("adir/sub"));
    rmdir(path("adir"));
    unlink(path("keep"));
    vstring_free(&buf);
}

TEST(test_mkdir_p)
{
    struct stat st;

    CHECK_INT(safe_mkdir_p(path("d1/d2//d3/"), 0750), 0);
    CHECK_INT(stat(path("d1/d2/d3"), &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_INT(st.st_mode & 07777, 0750);
    CHECK_INT(safe_mkdir_p(path("d1/d2"), 0700), 0);    /* exists: fine */
    CHECK_INT(stat(path("d1/d2"), &st), 0);
    CHECK_INT(st.st_mode & 07777, 0750);                /* not changed */
    int fd = safe_open_excl(path("d1/file"), O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK_INT(safe_mkdir_p(path("d1/file/x"), 0700), -1);
    CHECK_INT(errno, ENOTDIR);
    CHECK_INT(safe_mkdir_p(path("d1/file"), 0700), -1);
    CHECK_INT(errno, ENOTDIR);
    CHECK_INT(safe_mkdir_p("", 0700), -1);
    unlink(path("d1/file"));
    rmdir(path("d1/d2/d3"));
    rmdir(path("d1/d2"));
    rmdir(path("d1"));
}

TEST(test_fsync_dir)
{
    CHECK_INT(safe_fsync_dir(tmpdir, true), 0);
    CHECK_INT(safe_fsync_dir(path("anything"), false), 0);
    CHECK_INT(safe_fsync_dir("relative-name", false), 0);
    CHECK_INT(safe_fsync_dir(path("nodir/x"), false), -1);
}

int main(void)
{
    msg_init("test_safefile", MSG_TO_STDERR);
    umask(077);
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_write_read);
    RUN(test_read_limits);
    RUN(test_excl);
    RUN(test_abort_and_errors);
    RUN(test_mkdir_p);
    RUN(test_fsync_dir);
    rmdir(tmpdir);
    return unit_done();
}
