/* test_mail_queue - queue names, hashing, paths, create/rename/remove, scan. */
#include "sys_defs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail_queue.h"
#include "msg.h"
#include "queue_id.h"
#include "unit.h"
#include "vstring.h"

static char root[] = "/tmp/test_mail_queue.XXXXXX";

/* touch - create an empty file */
static void touch(const char *path)
{
    int     fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

    if (fd >= 0)
	close(fd);
}

/* is_file - path is a regular file */
static bool is_file(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

TEST(test_before_init_panics)
{
    VSTRING *buf = vstring_alloc(10);

    CHECK_PANICS(mail_queue_path(buf, "incoming", "ABCDEF123"));
    vstring_free(&buf);
}

TEST(test_names)
{
    CHECK(mail_queue_name_ok("maildrop"));
    CHECK(mail_queue_name_ok("incoming"));
    CHECK(mail_queue_name_ok("corrupt"));
    CHECK(mail_queue_name_ok("defer"));
    CHECK(mail_queue_name_ok("bounce"));
    CHECK(!mail_queue_name_ok("private"));
    CHECK(!mail_queue_name_ok(""));
    CHECK(!mail_queue_name_ok("../incoming"));
    CHECK(!mail_queue_name_ok(NULL));
    CHECK(mail_queue_is_message_queue("hold"));
    CHECK(!mail_queue_is_message_queue("defer"));
    CHECK(mail_queue_hashed("deferred"));
    CHECK(mail_queue_hashed("incoming"));
    CHECK(!mail_queue_hashed("maildrop"));
    CHECK(!mail_queue_hashed("corrupt"));
}

TEST(test_hash)
{
    VSTRING *buf = vstring_alloc(10);

    /* FNV-1a("ABCDEF123") = 0x43add90e: low nibbles e, 0, 9, d */
    CHECK_STR(mail_queue_hash(buf, "ABCDEF123", 1), "e");
    CHECK_STR(mail_queue_hash(buf, "ABCDEF123", 2), "e/0");
    CHECK_STR(mail_queue_hash(buf, "ABCDEF123", 4), "e/0/9/d");
    /* 0x9be1902c */
    CHECK_STR(mail_queue_hash(buf, "4Nw0Q91Z3kzAb", 3), "c/2/0");
    CHECK_PANICS(mail_queue_hash(buf, "../etc", 1));
    CHECK_PANICS(mail_queue_hash(buf, "ABC", 0));
    vstring_free(&buf);
}

TEST(test_paths)
{
    VSTRING *buf = vstring_alloc(10);
    VSTRING *exp = vstring_alloc(10);

    vstring_fmt(exp, "%s/deferred/e/ABCDEF123", root);
    CHECK_STR(mail_queue_path(buf, "deferred", "ABCDEF123"), STR(exp));
    vstring_fmt(exp, "%s/maildrop/ABCDEF123", root);
    CHECK_STR(mail_queue_path(buf, "maildrop", "ABCDEF123"), STR(exp));
    vstring_fmt(exp, "%s/active/e", root);
    CHECK_STR(mail_queue_dir(buf, "active", "ABCDEF123"), STR(exp));
    vstring_fmt(exp, "%s/active", root);
    CHECK_STR(mail_queue_dir(buf, "active", NULL), STR(exp));

    mail_queue_init(root, 2, "deferred");
    vstring_fmt(exp, "%s/deferred/e/0/ABCDEF123", root);
    CHECK_STR(mail_queue_path(buf, "deferred", "ABCDEF123"), STR(exp));
    vstring_fmt(exp, "%s/active/ABCDEF123", root);
    CHECK_STR(mail_queue_path(buf, "active", "ABCDEF123"), STR(exp));
    /* depth is clamped */
    mail_queue_init(root, 9, "deferred");
    vstring_fmt(exp, "%s/deferred/e/0/9/d/ABCDEF123", root);
    CHECK_STR(mail_queue_path(buf, "deferred", "ABCDEF123"), STR(exp));
    mail_queue_init(root, 1, "deferred, defer, bounce incoming,active,hold");
    vstring_free(&buf);
    vstring_free(&exp);
}

TEST(test_hostile_ids)
{
    static const char *const bad[] = {
	"", "../etc", "..", ".", "a/b", "ABC DEF", "ABC\nDEF", "/etc/passwd",
	"0123456789012345678901234567890123456789",	/* overlong */
	"ABC-DEF", "ABC.DEF",
    };
    VSTRING *buf = vstring_alloc(10);
    const char *err;
    char    id[QUEUE_ID_MAX];

    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++) {
	errno = 0;
	CHECK(mail_queue_path(buf, "incoming", bad[i]) == NULL);
	CHECK_INT(errno, EINVAL);
	CHECK(mail_queue_dir(buf, "incoming", bad[i]) == NULL);
	CHECK_INT(mail_queue_remove("incoming", bad[i], &err), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(mail_queue_rename(bad[i], "incoming", "active", &err), -1);
	CHECK_INT(errno, EINVAL);
	CHECK(!mail_queue_exists("incoming", bad[i]));
	CHECK_INT(mail_queue_mkdir_hash("incoming", bad[i]), -1);
    }
    CHECK(mail_queue_path(buf, "incoming", NULL) == NULL);
    CHECK(mail_queue_path(buf, "../etc", "ABCDEF123") == NULL);
    CHECK(mail_queue_path(buf, "", "ABCDEF123") == NULL);
    CHECK_INT(mail_queue_create("defer", 0600, id, NULL, &err), -1);
    CHECK_INT(mail_queue_create("nosuch", 0600, id, NULL, &err), -1);
    CHECK(mail_queue_scan_open("../etc", &err) == NULL);
    vstring_free(&buf);
}

TEST(test_create_move_remove)
{
    VSTRING *path = vstring_alloc(10);
    VSTRING *p2 = vstring_alloc(10);
    char    id[QUEUE_ID_MAX], id2[QUEUE_ID_MAX];
    const char *err = NULL;
    struct stat st;
    int     fd, fd2;

    fd = mail_queue_create("incoming", 0600, id, path, &err);
    CHECK(fd >= 0);
    if (fd < 0) {
	fprintf(stderr, "%s\n", err);
	return;
    }
    CHECK(queue_id_valid(id));
    CHECK_STR(STR(path), mail_queue_path(p2, "incoming", id));
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(write(fd, "x", 1) == 1);
    CHECK_INT(mail_queue_sync(fd, STR(path), &err), 0);
    close(fd);
    CHECK(mail_queue_exists("incoming", id));
    fd2 = mail_queue_create("incoming", 0600, id2, NULL, &err);
    CHECK(fd2 >= 0);
    CHECK(strcmp(id, id2) != 0);
    close(fd2);

    /* incoming -> active -> deferred (hash dirs made on demand) -> hold */
    CHECK_INT(mail_queue_rename(id, "incoming", "active", &err), 0);
    CHECK(!mail_queue_exists("incoming", id));
    CHECK(mail_queue_exists("active", id));
    CHECK_INT(mail_queue_rename(id, "active", "deferred", &err), 0);
    CHECK(is_file(mail_queue_path(p2, "deferred", id)));
    CHECK_INT(mail_queue_rename(id, "deferred", "hold", &err), 0);
    CHECK(mail_queue_exists("hold", id));
    /* moving something that is not there */
    errno = 0;
    CHECK_INT(mail_queue_rename(id, "deferred", "active", &err), -1);
    CHECK_INT(errno, ENOENT);
    CHECK(strstr(err, "rename") != NULL);

    /* remove_all takes the logs too */
    CHECK_INT(mail_queue_mkdir_hash("defer", id), 0);
    touch(mail_queue_path(p2, "defer", id));
    CHECK_INT(mail_queue_mkdir_hash("bounce", id), 0);
    touch(mail_queue_path(p2, "bounce", id));
    CHECK_INT(mail_queue_remove_all("hold", id, &err), 0);
    CHECK(!mail_queue_exists("hold", id));
    CHECK(!mail_queue_exists("defer", id));
    CHECK(!mail_queue_exists("bounce", id));
    errno = 0;
    CHECK_INT(mail_queue_remove("hold", id, &err), -1);
    CHECK_INT(errno, ENOENT);
    CHECK_INT(mail_queue_remove_all("incoming", id2, &err), 0);
    vstring_free(&path);
    vstring_free(&p2);
}

TEST(test_scan)
{
    VSTRING *p = vstring_alloc(10);
    MAIL_QUEUE_SCAN *scan;
    const char *err, *id;
    int     found = 0, seen_a = 0, seen_b = 0, seen_c = 0;

    /* files at depth 1 (current), depth 0 and depth 2 (older settings) */
    CHECK_INT(mail_queue_mkdir_hash("deferred", "ABCDEF123"), 0);
    touch(mail_queue_path(p, "deferred", "ABCDEF123"));
    vstring_fmt(p, "%s/deferred/ZZtop9", root);
    touch(STR(p));
    vstring_fmt(p, "%s/deferred/3", root);
    mkdir(STR(p), 0700);
    vstring_fmt(p, "%s/deferred/3/a", root);
    mkdir(STR(p), 0700);
    vstring_fmt(p, "%s/deferred/3/a/Deep42", root);
    touch(STR(p));
    /* junk that must be skipped */
    vstring_fmt(p, "%s/deferred/.hidden", root);
    touch(STR(p));
    vstring_fmt(p, "%s/deferred/bad-name", root);
    touch(STR(p));

    scan = mail_queue_scan_open("deferred", &err);
    CHECK(scan != NULL);
    if (scan == NULL)
	return;
    while ((id = mail_queue_scan_next(scan)) != NULL) {
	found++;
	if (strcmp(id, "ABCDEF123") == 0) {
	    seen_a++;
	    CHECK(strstr(mail_queue_scan_path(scan), "/deferred/e/ABCDEF123") != NULL);
	} else if (strcmp(id, "ZZtop9") == 0) {
	    seen_b++;
	} else if (strcmp(id, "Deep42") == 0) {
	    seen_c++;
	    CHECK(strstr(mail_queue_scan_path(scan), "/deferred/3/a/Deep42") != NULL);
	    CHECK(is_file(mail_queue_scan_path(scan)));
	}
    }
    CHECK_INT(errno, 0);
    CHECK_INT(found, 3);
    CHECK_INT(seen_a + seen_b + seen_c, 3);
    mail_queue_scan_close(&scan);
    CHECK(scan == NULL);

    /* empty queue */
    scan = mail_queue_scan_open("hold", &err);
    CHECK(scan != NULL);
    if (scan) {
	CHECK(mail_queue_scan_next(scan) == NULL);
	mail_queue_scan_close(&scan);
    }
    vstring_free(&p);
}

TEST(test_rehash)
{
    VSTRING *p = vstring_alloc(10);
    const char *err;
    int     moved = -1;

    /* test_scan left ZZtop9 at depth 0 and Deep42 at depth 2 in deferred,
     * ABCDEF123 in place; a same-named pair must not lose a file */
    vstring_fmt(p, "%s/deferred/ABCDEF123", root);
    touch(STR(p));
    CHECK_INT(mail_queue_rehash("deferred", &moved, &err), 0);
    CHECK_INT(moved, 2);
    CHECK(is_file(mail_queue_path(p, "deferred", "ZZtop9")));
    CHECK(is_file(mail_queue_path(p, "deferred", "Deep42")));
    CHECK(is_file(mail_queue_path(p, "deferred", "ABCDEF123")));
    vstring_fmt(p, "%s/deferred/ABCDEF123", root);
    CHECK(is_file(STR(p)));			/* not moved over the other */
    unlink(STR(p));
    CHECK_INT(mail_queue_rehash("deferred", &moved, &err), 0);
    CHECK_INT(moved, 0);
    /* a depth change moves everything */
    mail_queue_init(root, 2, "deferred");
    CHECK_INT(mail_queue_rehash("deferred", &moved, &err), 0);
    CHECK_INT(moved, 3);
    CHECK(is_file(mail_queue_path(p, "deferred", "ABCDEF123")));
    CHECK(strstr(STR(p), "/deferred/e/0/ABCDEF123") != NULL);
    mail_queue_init(root, 1, "deferred, defer, bounce incoming,active,hold");
    CHECK_INT(mail_queue_rehash("deferred", &moved, &err), 0);
    CHECK_INT(moved, 3);
    CHECK_INT(mail_queue_rehash("../x", &moved, &err), -1);
    vstring_free(&p);
}

TEST(test_mkdirs_modes)
{
    VSTRING *p = vstring_alloc(10);
    struct stat st;

    vstring_fmt(p, "%s/maildrop", root);
    CHECK(stat(STR(p), &st) == 0 && (st.st_mode & 07777) == 0730);
    vstring_fmt(p, "%s/pid", root);
    CHECK(stat(STR(p), &st) == 0 && (st.st_mode & 07777) == 0700);
    vstring_free(&p);
}

int main(void)
{
    const char *err;

    msg_init("test_mail_queue", MSG_TO_STDERR);
    if (mkdtemp(root) == NULL)
	return 1;
    RUN(test_before_init_panics);
    mail_queue_init(root, 1, "deferred, defer, bounce incoming,active,hold");
    if (mail_queue_mkdirs(0700, 0730, &err) < 0) {
	fprintf(stderr, "%s\n", err);
	return 1;
    }
    RUN(test_names);
    RUN(test_hash);
    RUN(test_paths);
    RUN(test_hostile_ids);
    RUN(test_create_move_remove);
    RUN(test_scan);
    RUN(test_rehash);
    RUN(test_mkdirs_modes);
    {
	VSTRING *cmd = vstring_alloc(100);

	vstring_fmt(cmd, "rm -rf '%s'", root);
	if (system(STR(cmd)) != 0)
	    fprintf(stderr, "cleanup failed\n");
	vstring_free(&cmd);
    }
    return unit_done();
}
