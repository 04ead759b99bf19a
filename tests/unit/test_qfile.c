/* test_qfile - queue file format: golden bytes, round trips, hostile files,
 * in-place status, delivery logs. */
#include "sys_defs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "unit.h"
#include "vstring.h"

static char root[] = "/tmp/test_qfile.XXXXXX";

/* The golden file, written out by hand from the format in qfile.h. */
static const char golden[] =
    "V00000010 posthorn-queue 1\n"
    "T00000011 1700000000 123456\n"
    "A00000015 client_name=localhost\n"
    "A00000018 client_address=127.0.0.1\n"
    "S0000000d a@example.com\n"
    "R00000026 P 6 rfc822;b@example.org\nb@example.org\n"	/* at 146 */
    "R00000012 P 0 \nc@example.net\n"			/* at 195 */
    "M00000012 Subject: hi\n\nbody\n\n"			/* at 224 */
    "E00000021 00000000000000ea 0000000000000012\n";
#define GOLDEN_LEN (sizeof(golden) - 1)

/* read_file - whole file into a new VSTRING */
static VSTRING *read_file(const char *path)
{
    VSTRING *vp = vstring_alloc(1024);
    char    buf[4096];
    ssize_t n;
    int     fd = open(path, O_RDONLY);

    if (fd < 0)
	return vp;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
	vstring_catn(vp, buf, (size_t) n);
    close(fd);
    return vp;
}

/* mem_open - qfile_open_fd over bytes in a memfd */
static int mem_open(const void *data, size_t len, QFILE **qf_r, const char **err)
{
    int     fd = memfd_create("qfile", 0);

    if (fd < 0 || (len > 0 && write(fd, data, len) != (ssize_t) len)) {
	perror("memfd");
	exit(1);
    }
    return qfile_open_fd(fd, "mem", QFILE_OPEN_RDONLY, qf_r, err);
}

/* write_golden_message - the golden message through the writer */
static char *write_golden_message(const char *queue, VSTRING *path_r)
{
    QFILE_WRITER *qw;
    const char *err = NULL;
    char   *id;

    qw = qfile_writer_create(queue, 0600, &err);
    if (qw == NULL) {
	fprintf(stderr, "%s\n", err);
	exit(1);
    }
    id = mystrdup(qfile_writer_id(qw));
    vstring_set(path_r, qfile_writer_path(qw));
    qfile_writer_set_time(qw, 1700000000, 123456);
    /* envelope calls in a different order than on disk */
    CHECK_INT(qfile_writer_rcpt(qw, "b@example.org", "rfc822;b@example.org",
				QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_FAILURE, &err), 0);
    CHECK_INT(qfile_writer_attr(qw, "client_name", "localhost", &err), 0);
    CHECK_INT(qfile_writer_sender(qw, "a@example.com", &err), 0);
    CHECK_INT(qfile_writer_attr(qw, "client_address", "127.0.0.1", &err), 0);
    CHECK_INT(qfile_writer_rcpt(qw, "c@example.net", NULL, 0, &err), 0);
    CHECK_INT(qfile_writer_rcpt_count(qw), 2);
    CHECK_INT(qfile_writer_content(qw, "Subject: hi\n", 12, &err), 0);
    CHECK_INT(qfile_writer_content(qw, "", 0, &err), 0);
    CHECK_INT(qfile_writer_content(qw, "\nbody\n", 6, &err), 0);
    CHECK_INT(qfile_writer_content_size(qw), 18);
    CHECK_INT(qfile_writer_finish(&qw, true, &err), 0);
    CHECK(qw == NULL);
    return id;
}

TEST(test_golden_write)
{
    VSTRING *path = vstring_alloc(10);
    char   *id = write_golden_message(MAIL_QUEUE_INCOMING, path);
    VSTRING *got = read_file(STR(path));

    CHECK_INT(LEN(got), GOLDEN_LEN);
    CHECK(LEN(got) == GOLDEN_LEN && memcmp(STR(got), golden, GOLDEN_LEN) == 0);
    CHECK(mail_queue_exists(MAIL_QUEUE_INCOMING, id));
    unlink(STR(path));
    myfree(id);
    vstring_free(&got);
    vstring_free(&path);
}

TEST(test_golden_read)
{
    QFILE  *qf;
    const char *err = NULL;
    char    buf[64];

    CHECK_INT(mem_open(golden, GOLDEN_LEN, &qf, &err), QFILE_OK);
    if (qf == NULL) {
	fprintf(stderr, "%s\n", err);
	return;
    }
    CHECK_INT(qf->arrival_sec, 1700000000);
    CHECK_INT(qf->arrival_usec, 123456);
    CHECK_STR(qf->sender, "a@example.com");
    CHECK_STR(qfile_attr(qf, "client_name"), "localhost");
    CHECK_STR(qfile_attr(qf, "client_address"), "127.0.0.1");
    CHECK(qfile_attr(qf, "helo_name") == NULL);
    CHECK_INT(qf->attr_count, 2);
    CHECK_INT(qf->rcpt_count, 2);
    CHECK_STR(qf->rcpts[0].address, "b@example.org");
    CHECK_STR(qf->rcpts[0].orcpt, "rfc822;b@example.org");
    CHECK_INT(qf->rcpts[0].notify, QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_FAILURE);
    CHECK_INT(qf->rcpts[0].status, 'P');
    CHECK_INT(qf->rcpts[0].offset, 146);
    CHECK_INT(qf->rcpts[0].status_offset, 156);
    CHECK_STR(qf->rcpts[1].address, "c@example.net");
    CHECK_STR(qf->rcpts[1].orcpt, "");
    CHECK_INT(qf->rcpts[1].notify, 0);
    CHECK_INT(qf->rcpts[1].index, 1);
    CHECK_INT(qf->rcpts[1].status_offset, 205);
    CHECK_INT(qf->content_offset, 234);
    CHECK_INT(qf->content_size, 18);
    CHECK_INT(qfile_rcpt_pending(qf), 2);
    CHECK_INT(qfile_content_read(qf, 0, buf, sizeof(buf)), 18);
    CHECK(memcmp(buf, "Subject: hi\n\nbody\n", 18) == 0);
    CHECK_INT(qfile_content_read(qf, 13, buf, 3), 3);
    CHECK(memcmp(buf, "bod", 3) == 0);
    CHECK_INT(qfile_content_read(qf, 18, buf, sizeof(buf)), 0);
    CHECK_INT(qfile_content_read(qf, 19, buf, sizeof(buf)), -1);
    qfile_close(&qf);
    CHECK(qf == NULL);
}

TEST(test_truncated_everywhere)
{
    QFILE  *qf;
    const char *err;
    int     incomplete = 0;

    for (size_t n = 0; n < GOLDEN_LEN; n++) {
	int     ret = mem_open(golden, n, &qf, &err);

	CHECK(ret != QFILE_OK);
	CHECK(qf == NULL);
	if (ret == QFILE_ERR_INCOMPLETE)
	    incomplete++;
	else if (ret != QFILE_ERR_CORRUPT)
	    UNIT_FAIL("length %zu: result %d", n, ret);
    }
    /* Every proper prefix lacks the trailer at its end. */
    CHECK_INT(incomplete, GOLDEN_LEN);
}

TEST(test_mutations_never_crash)
{
    static const char repl[] = {0, '\n', '\r', 'Z', ' ', 'E', (char) 0xff, '0', 'f'};
    char   *copy = mymalloc(GOLDEN_LEN);
    QFILE  *qf;
    const char *err;
    int     ok = 0, bad = 0;

    for (size_t i = 0; i < GOLDEN_LEN; i++) {
	for (size_t r = 0; r < sizeof(repl); r++) {
	    if (golden[i] == repl[r])
		continue;
	    memcpy(copy, golden, GOLDEN_LEN);
	    copy[i] = repl[r];
	    if (mem_open(copy, GOLDEN_LEN, &qf, &err) == QFILE_OK) {
		ok++;
		CHECK(qf->rcpt_count >= 1);
		CHECK(qf->content_offset + qf->content_size + 1 + QFILE_TRAILER_SIZE
		      == qf->file_size);
		qfile_close(&qf);
	    } else {
		bad++;
		CHECK(err != NULL && *err);
	    }
	}
    }
    CHECK(bad > ok);
    myfree(copy);
}

/* expect_corrupt - golden with one substitution must be QFILE_ERR_CORRUPT
 * with text containing what */
static void expect_corrupt(const char *from, const char *to, const char *what)
{
    VSTRING *vp = vstring_alloc(400);
    const char *pos = strstr(golden, from);
    QFILE  *qf;
    const char *err = "";
    int     ret;

    if (pos == NULL || strlen(from) != strlen(to)) {
	UNIT_FAIL("bad test case %s", from);
	vstring_free(&vp);
	return;
    }
    vstring_setn(vp, golden, GOLDEN_LEN);
    memcpy(STR(vp) + (pos - golden), to, strlen(to));
    ret = mem_open(STR(vp), LEN(vp), &qf, &err);
    if (ret != QFILE_ERR_CORRUPT || strstr(err, what) == NULL)
	UNIT_FAIL("%s -> %s: result %d, \"%s\" (expected \"%s\")", from, to, ret, err, what);
    qfile_close(&qf);
    vstring_free(&vp);
}

TEST(test_corrupt_records)
{
    expect_corrupt("posthorn-queue 1", "posthorn-queue 2", "not a version 1");
    expect_corrupt("V00000010", "X00000010", "unexpected record type 'X'");
    expect_corrupt("T00000011 1700000000", "T00000011 170000000x", "malformed arrival time");
    expect_corrupt("A00000015", "A0000001G", "malformed record header");
    expect_corrupt("A00000015", "A00000016", "not terminated by LF");
    expect_corrupt("client_name=", "client_name_", "without '='");
    expect_corrupt("client_name=", "Client_name=", "bad attribute name");
    expect_corrupt("client_address=", "client_addres=\r", "bad attribute value");
    expect_corrupt("R00000026 P", "R00000026 X", "malformed recipient");
    expect_corrupt("R00000026 P 6", "R00000026 P g", "malformed recipient");
    expect_corrupt("R00000012 P 0 \nc@", "R00000012 P 0 \n\r@", "malformed recipient");
    expect_corrupt("S0000000d", "R0000000d", "unexpected recipient record");
    expect_corrupt("T00000011", "S00000011", "unexpected sender record");
    expect_corrupt("M00000012", "M00000011", "bad content record header");
    expect_corrupt("M00000012", "Z00000012", "bad content record header");
    expect_corrupt("body\n\nE", "body\nXE", "content not terminated by LF");
    expect_corrupt("00000000000000ea 0", "00000000000000eb 0", "trailer does not match");
    expect_corrupt("0000000000000012\n", "0000000000000011\n", "trailer does not match");
}

TEST(test_corrupt_structure)
{
    /* Duplicate attribute, missing recipients, oversized record. */
    static const char dup[] =
	"V00000010 posthorn-queue 1\n"
	"T00000003 1 0\n"
	"A00000005 a=1 2\n"
	"A00000003 a=3\n"
	"S00000000 \n"
	"R00000007 P 0 \nx@y\n"
	"M00000000 \n"
	"E00000021 000000000000006f 0000000000000000\n";
    static const char norcpt[] =
	"V00000010 posthorn-queue 1\n"
	"T00000003 1 0\n"
	"S00000000 \n"
	"M00000000 \n"
	"E00000021 000000000000003e 0000000000000000\n";
    static const char huge[] =
	"V00000010 posthorn-queue 1\n"
	"T00000003 1 0\n"
	"S7fffffff \n"
	"M00000000 \n"
	"E00000021 000000000000003e 0000000000000000\n";
    QFILE  *qf;
    const char *err = "";

    CHECK_INT(mem_open(dup, sizeof(dup) - 1, &qf, &err), QFILE_ERR_CORRUPT);
    CHECK(strstr(err, "duplicate attribute") != NULL);
    CHECK_INT(mem_open(norcpt, sizeof(norcpt) - 1, &qf, &err), QFILE_ERR_CORRUPT);
    CHECK(strstr(err, "before the first recipient") != NULL);
    CHECK_INT(mem_open(huge, sizeof(huge) - 1, &qf, &err), QFILE_ERR_CORRUPT);
    CHECK(strstr(err, "record too long") != NULL);
    CHECK(strstr(err, "mem: offset 41:") != NULL);
    /* empty and tiny files */
    CHECK_INT(mem_open("", 0, &qf, &err), QFILE_ERR_INCOMPLETE);
    CHECK_INT(mem_open("E", 1, &qf, &err), QFILE_ERR_INCOMPLETE);
    /* a trailer claiming a huge content */
    CHECK_INT(mem_open("E00000021 0000000000000000 00000000ffffffff\n", 44, &qf, &err),
	      QFILE_ERR_CORRUPT);
    CHECK_INT(mem_open("E00000021 7fffffffffffffff 0000000000000000\n", 44, &qf, &err),
	      QFILE_ERR_CORRUPT);
    CHECK_INT(mem_open("E00000021 0000000000000000 7fffffffffffffff\n", 44, &qf, &err),
	      QFILE_ERR_CORRUPT);
    /* numbers too large to represent: not a trailer at all */
    CHECK_INT(mem_open("E00000021 0000000000000000 ffffffffffffffff\n", 44, &qf, &err),
	      QFILE_ERR_INCOMPLETE);
    CHECK_INT(mem_open("E00000021 ffffffffffffffff 0000000000000000\n", 44, &qf, &err),
	      QFILE_ERR_INCOMPLETE);
}

TEST(test_writer_rejects)
{
    QFILE_WRITER *qw;
    const char *err = NULL;
    char   *big = mymalloc(QFILE_MAX_VALUE + 2);
    VSTRING *path = vstring_alloc(10);

    memset(big, 'x', QFILE_MAX_VALUE + 1);
    big[QFILE_MAX_VALUE + 1] = 0;
    qw = qfile_writer_create(MAIL_QUEUE_INCOMING, 0600, &err);
    CHECK(qw != NULL);
    if (qw == NULL)
	return;
    vstring_set(path, qfile_writer_path(qw));
    CHECK_INT(qfile_writer_attr(qw, "Bad", "v", &err), -1);
    CHECK_INT(qfile_writer_attr(qw, "", "v", &err), -1);
    CHECK_INT(qfile_writer_attr(qw, "a=b", "v", &err), -1);
    CHECK_INT(qfile_writer_attr(qw, "ok", "line\nbreak", &err), -1);
    CHECK_INT(qfile_writer_attr(qw, "ok", "cr\rhere", &err), -1);
    CHECK_INT(qfile_writer_attr(qw, "ok", big, &err), -1);
    CHECK(strstr(err, "bad value for attribute ok") != NULL);
    CHECK_INT(qfile_writer_attr(qw, "ok", "fine", &err), 0);
    CHECK_INT(qfile_writer_attr(qw, "ok", "again", &err), -1);
    CHECK(strstr(err, "duplicate") != NULL);
    CHECK_INT(qfile_writer_rcpt(qw, "", NULL, 0, &err), -1);
    CHECK_INT(qfile_writer_rcpt(qw, big, NULL, 0, &err), -1);
    CHECK_INT(qfile_writer_rcpt(qw, "a@b", "x\ny", 0, &err), -1);
    CHECK_INT(qfile_writer_sender(qw, "a\r\nRCPT TO:<x>", &err), -1);
    /* content before a sender and a recipient */
    CHECK_INT(qfile_writer_content(qw, "x", 1, &err), -1);
    CHECK(strstr(err, "no sender") != NULL);
    CHECK_INT(qfile_writer_sender(qw, "", &err), 0);
    CHECK_INT(qfile_writer_sender(qw, "", &err), -1);
    CHECK_INT(qfile_writer_content(qw, "x", 1, &err), -1);
    CHECK(strstr(err, "no recipients") != NULL);
    CHECK_INT(qfile_writer_rcpt(qw, big + 2, NULL, 0, &err), 0);	/* max size ok */
    CHECK_INT(qfile_writer_content(qw, "x\n", 2, &err), 0);
    /* misuse of the API by our own code */
    CHECK_PANICS(qfile_writer_rcpt(qw, "late@x", NULL, 0, &err));
    CHECK_PANICS(qfile_writer_sender(qw, "late@x", &err));
    qfile_writer_abort(&qw);
    CHECK(qw == NULL);
    CHECK(access(STR(path), F_OK) < 0 && errno == ENOENT);
    qfile_writer_abort(&qw);		/* NULL is fine */
    myfree(big);
    vstring_free(&path);
}

TEST(test_writer_envelope_bound)
{
    QFILE_WRITER *qw = NULL;
    char   *addr = mymalloc(QFILE_MAX_VALUE + 1);
    const char *err = NULL;
    int     n = 0;

    qw = qfile_writer_create(MAIL_QUEUE_INCOMING, 0600, &err);
    CHECK(qw != NULL);
    if (qw == NULL) {
	myfree(addr);
	return;
    }
    memset(addr, 'r', QFILE_MAX_VALUE);
    addr[QFILE_MAX_VALUE] = 0;
    while (n < QFILE_MAX_RCPTS && qfile_writer_rcpt(qw, addr, addr, 0, &err) == 0)
	n++;
    /* 64 MiB / 16 KiB per recipient: stopped by the envelope bound */
    CHECK(n > 3000 && n < 4200);
    CHECK(err != NULL && strstr(err, "envelope too large") != NULL);
    CHECK_INT(qfile_writer_attr(qw, "x", addr, &err), -1);
    CHECK_INT(qfile_writer_attr(qw, "y", "small", &err), 0);
    qfile_writer_abort(&qw);
    myfree(addr);
}

TEST(test_large_roundtrip)
{
    QFILE_WRITER *qw;
    QFILE  *qf;
    const char *err = NULL;
    char   *id;
    size_t  total = 0;
    char    chunk[1000], back[4096];
    uint32_t sum_w = 0, sum_r = 0;

    qw = qfile_writer_create(MAIL_QUEUE_INCOMING, 0600, &err);
    CHECK(qw != NULL);
    if (qw == NULL)
	return;
    id = mystrdup(qfile_writer_id(qw));
    CHECK_INT(qfile_writer_sender(qw, "big@example.com", &err), 0);
    for (int i = 0; i < 50; i++) {
	char    rcpt[64];

	snprintf(rcpt, sizeof(rcpt), "user%d@example.com", i);
	CHECK_INT(qfile_writer_rcpt(qw, rcpt, NULL, QFILE_NOTIFY_NEVER, &err), 0);
    }
    CHECK_INT(qfile_writer_attr(qw, QFILE_ATTR_HELO_NAME, "client.example", &err), 0);
    for (int i = 0; i < 300; i++) {
	for (size_t j = 0; j < sizeof(chunk); j++)
	    chunk[j] = (char) ('a' + (i + j) % 26);
	chunk[sizeof(chunk) - 1] = '\n';
	CHECK_INT(qfile_writer_content(qw, chunk, sizeof(chunk), &err), 0);
	for (size_t j = 0; j < sizeof(chunk); j++)
	    sum_w = sum_w * 31 + (unsigned char) chunk[j];
	total += sizeof(chunk);
    }
    {
	/* one chunk larger than the write buffer */
	size_t  n = 100000;
	char   *blob = mymalloc(n);

	for (size_t j = 0; j < n; j++)
	    blob[j] = (char) (j % 251);
	CHECK_INT(qfile_writer_content(qw, blob, n, &err), 0);
	for (size_t j = 0; j < n; j++)
	    sum_w = sum_w * 31 + (unsigned char) blob[j];
	total += n;
	myfree(blob);
    }
    CHECK_INT(qfile_writer_finish(&qw, true, &err), 0);

    CHECK_INT(qfile_open(MAIL_QUEUE_INCOMING, id, QFILE_OPEN_RDONLY, &qf, &err), QFILE_OK);
    if (qf == NULL) {
	fprintf(stderr, "%s\n", err);
	myfree(id);
	return;
    }
    CHECK_STR(qf->id, id);
    CHECK_STR(qf->queue, MAIL_QUEUE_INCOMING);
    CHECK_INT(qf->rcpt_count, 50);
    CHECK_STR(qf->rcpts[49].address, "user49@example.com");
    CHECK_INT(qf->rcpts[49].notify, QFILE_NOTIFY_NEVER);
    CHECK_STR(qfile_attr(qf, "helo_name"), "client.example");
    CHECK_INT(qf->content_size, total);
    for (off_t off = 0;;) {
	ssize_t n = qfile_content_read(qf, off, back, sizeof(back));

	if (n <= 0)
	    break;
	for (ssize_t j = 0; j < n; j++)
	    sum_r = sum_r * 31 + (unsigned char) back[j];
	off += n;
    }
    CHECK_INT(sum_r, sum_w);
    /* copy to a file and compare size */
    {
	int     fd = memfd_create("copy", 0);
	struct stat st;

	CHECK_INT(qfile_content_copy(qf, fd), 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t) total);
	close(fd);
    }
    qfile_close(&qf);
    CHECK_INT(mail_queue_remove(MAIL_QUEUE_INCOMING, id, &err), 0);
    myfree(id);
}

TEST(test_status_in_place)
{
    VSTRING *path = vstring_alloc(10);
    char   *id = write_golden_message(MAIL_QUEUE_INCOMING, path);
    QFILE  *qf;
    const char *err = NULL;
    VSTRING *got;

    CHECK_INT(mail_queue_rename(id, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE, &err), 0);
    CHECK_INT(qfile_open(MAIL_QUEUE_ACTIVE, id, QFILE_OPEN_RDWR, &qf, &err), QFILE_OK);
    if (qf == NULL) {
	myfree(id);
	vstring_free(&path);
	return;
    }
    CHECK_INT(qfile_rcpt_set_status(qf, 1, QFILE_RCPT_DONE, true, &err), 0);
    CHECK_INT(qfile_rcpt_pending(qf), 1);
    CHECK_PANICS(qfile_rcpt_set_status(qf, 2, QFILE_RCPT_DONE, true, &err));
    CHECK_PANICS(qfile_rcpt_set_status(qf, -1, QFILE_RCPT_DONE, true, &err));
    CHECK_PANICS(qfile_rcpt_set_status(qf, 0, 'X', true, &err));
    qfile_close(&qf);

    /* the byte on disk changed, nothing else */
    got = read_file(mail_queue_path(path, MAIL_QUEUE_ACTIVE, id));
    CHECK_INT(LEN(got), GOLDEN_LEN);
    CHECK(LEN(got) == GOLDEN_LEN && STR(got)[205] == 'D');
    if (LEN(got) == GOLDEN_LEN) {
	STR(got)[205] = 'P';
	CHECK(memcmp(STR(got), golden, GOLDEN_LEN) == 0);
    }
    vstring_free(&got);

    CHECK_INT(qfile_open(MAIL_QUEUE_ACTIVE, id, QFILE_OPEN_RDWR, &qf, &err), QFILE_OK);
    if (qf) {
	CHECK_INT(qf->rcpts[0].status, QFILE_RCPT_PENDING);
	CHECK_INT(qf->rcpts[1].status, QFILE_RCPT_DONE);
	CHECK_INT(qfile_rcpt_set_status(qf, 0, QFILE_RCPT_FAILED, false, &err), 0);
	CHECK_INT(qfile_sync(qf, &err), 0);
	qfile_close(&qf);
    }
    CHECK_INT(qfile_open(MAIL_QUEUE_ACTIVE, id, QFILE_OPEN_RDONLY, &qf, &err), QFILE_OK);
    if (qf) {
	CHECK_INT(qf->rcpts[0].status, QFILE_RCPT_FAILED);
	CHECK_INT(qfile_rcpt_pending(qf), 0);
	CHECK_PANICS(qfile_rcpt_set_status(qf, 0, QFILE_RCPT_DONE, true, &err));
	qfile_close(&qf);
    }
    CHECK_INT(mail_queue_remove(MAIL_QUEUE_ACTIVE, id, &err), 0);
    myfree(id);
    vstring_free(&path);
}

TEST(test_open_errors)
{
    QFILE  *qf;
    const char *err = NULL;
    VSTRING *path = vstring_alloc(10);
    int     fd;

    errno = 0;
    CHECK_INT(qfile_open(MAIL_QUEUE_INCOMING, "../etc", 0, &qf, &err), QFILE_ERR_SYS);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(qfile_open(MAIL_QUEUE_INCOMING, "", 0, &qf, &err), QFILE_ERR_SYS);
    CHECK_INT(qfile_open(MAIL_QUEUE_INCOMING, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0,
			 &qf, &err), QFILE_ERR_SYS);
    CHECK_INT(qfile_open(MAIL_QUEUE_DEFER, "ABCDEF", 0, &qf, &err), QFILE_ERR_SYS);
    errno = 0;
    CHECK_INT(qfile_open(MAIL_QUEUE_INCOMING, "NoSuchId1", 0, &qf, &err), QFILE_ERR_SYS);
    CHECK_INT(errno, ENOENT);
    CHECK(qf == NULL);
    /* a symlink in the queue is not followed */
    vstring_fmt(path, "%s/corrupt/Symlink1", root);
    CHECK(symlink("/etc/passwd", STR(path)) == 0);
    CHECK_INT(qfile_open(MAIL_QUEUE_CORRUPT, "Symlink1", 0, &qf, &err), QFILE_ERR_SYS);
    unlink(STR(path));
    /* an unfinished write in incoming */
    {
	QFILE_WRITER *qw = qfile_writer_create(MAIL_QUEUE_INCOMING, 0600, &err);
	char    id[QUEUE_ID_MAX];

	CHECK(qw != NULL);
	if (qw) {
	    ph_strlcpy(id, qfile_writer_id(qw), sizeof(id));
	    CHECK_INT(qfile_writer_sender(qw, "a@b", &err), 0);
	    CHECK_INT(qfile_writer_rcpt(qw, "c@d", NULL, 0, &err), 0);
	    for (int i = 0; i < 2000; i++)
		CHECK_INT(qfile_writer_content(qw, "0123456789abcdef0123456789abcdef0123456789\n",
					       43, &err), 0);
	    /* 86 KB written: past the buffer, so part is on disk */
	    CHECK_INT(qfile_open(MAIL_QUEUE_INCOMING, id, 0, &qf, &err), QFILE_ERR_INCOMPLETE);
	    CHECK(strstr(err, "unfinished") != NULL);
	    qfile_writer_abort(&qw);
	    CHECK(!mail_queue_exists(MAIL_QUEUE_INCOMING, id));
	}
    }
    /* a directory is not a queue file */
    vstring_fmt(path, "%s/corrupt", root);
    fd = open(STR(path), O_RDONLY | O_DIRECTORY);
    CHECK_INT(qfile_open_fd(fd, STR(path), 0, &qf, &err), QFILE_ERR_CORRUPT);
    vstring_free(&path);
}

TEST(test_logs)
{
    static const char id[] = "LogTest1";
    QFILE_LOG_ENTRY e = {
	.time = 1700000100, .rcpt_index = 1, .dsn_status = "4.4.1",
	.action = "delayed", .address = "c@example.net", .orcpt = "",
	.mta = "mx.example.net", .reason = "connect to mx.example.net: Connection refused",
    };
    QFILE_LOG *log;
    const QFILE_LOG_ENTRY *ep;
    const char *err = NULL;
    VSTRING *path = vstring_alloc(10);
    int     fd;

    CHECK_INT(qfile_log_read(MAIL_QUEUE_DEFER, id, &log, &err), 0);
    CHECK(log == NULL);
    CHECK_INT(qfile_log_append(MAIL_QUEUE_DEFER, id, &e, true, &err), 0);
    e.rcpt_index = 0;
    e.address = "b@example.org";
    e.reason = "hostile\r\nL00000001 x\n\ttext\x7f";
    CHECK_INT(qfile_log_append(MAIL_QUEUE_DEFER, id, &e, false, &err), 0);
    CHECK_INT(qfile_log_append(MAIL_QUEUE_INCOMING, id, &e, false, &err), -1);
    CHECK_INT(qfile_log_append(MAIL_QUEUE_DEFER, "../x", &e, false, &err), -1);

    /* a torn last record is ignored */
    fd = open(mail_queue_path(path, MAIL_QUEUE_DEFER, id), O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "L00000040 1700", 14) == 14);
    close(fd);

    CHECK_INT(qfile_log_read(MAIL_QUEUE_DEFER, id, &log, &err), 0);
    CHECK_INT(qfile_log_count(log), 2);
    if (qfile_log_count(log) == 2) {
	ep = qfile_log_entry(log, 0);
	CHECK_INT(ep->time, 1700000100);
	CHECK_INT(ep->rcpt_index, 1);
	CHECK_STR(ep->dsn_status, "4.4.1");
	CHECK_STR(ep->action, "delayed");
	CHECK_STR(ep->address, "c@example.net");
	CHECK_STR(ep->orcpt, "");
	CHECK_STR(ep->mta, "mx.example.net");
	CHECK_STR(ep->reason, "connect to mx.example.net: Connection refused");
	ep = qfile_log_entry(log, 1);
	CHECK_INT(ep->rcpt_index, 0);
	CHECK_STR(ep->reason, "hostile  L00000001 x  text ");
    }
    CHECK_PANICS(qfile_log_entry(log, 2));
    qfile_log_free(&log);
    CHECK(log == NULL);
    CHECK_INT(mail_queue_remove(MAIL_QUEUE_DEFER, id, &err), 0);

    /* malformed logs */
    CHECK_INT(qfile_log_parse("X00000001 a\n", 12, "t", &log, &err), -1);
    CHECK(strstr(err, "t: offset 0") != NULL);
    CHECK_INT(qfile_log_parse("L00000001 a\n", 12, "t", &log, &err), -1);
    CHECK_INT(qfile_log_parse("L00000001 ab", 12, "t", &log, &err), -1);
    CHECK_INT(qfile_log_parse("L0000000d 1\n2\n3\n4\n5\n6\n7\n", 24, "t", &log, &err), -1);
    CHECK_INT(qfile_log_parse("L00000011 1\n2\n3\n4\n5\n6\n7\n8\n9\n", 28, "t", &log, &err), -1);
    CHECK_INT(qfile_log_parse("L0000000f x\n0\n3\n4\n5\n6\n7\n8\n", 26, "t", &log, &err), -1);
    CHECK_INT(qfile_log_parse("L0000000f 1\n0\n3\n4\n5\n6\n7\n8\n", 26, "t", &log, &err), 0);
    CHECK_INT(qfile_log_count(log), 1);
    qfile_log_free(&log);
    CHECK_INT(qfile_log_parse("", 0, "t", &log, &err), 0);
    CHECK_INT(qfile_log_count(log), 0);
    qfile_log_free(&log);
    vstring_free(&path);
}

int main(void)
{
    const char *err;

    msg_init("test_qfile", MSG_TO_STDERR);
    if (mkdtemp(root) == NULL)
	return 1;
    mail_queue_init(root, 1, "deferred defer bounce incoming active hold");
    if (mail_queue_mkdirs(0700, 0700, &err) < 0) {
	fprintf(stderr, "%s\n", err);
	return 1;
    }
    RUN(test_golden_write);
    RUN(test_golden_read);
    RUN(test_truncated_everywhere);
    RUN(test_mutations_never_crash);
    RUN(test_corrupt_records);
    RUN(test_corrupt_structure);
    RUN(test_writer_rejects);
    RUN(test_writer_envelope_bound);
    RUN(test_large_roundtrip);
    RUN(test_status_in_place);
    RUN(test_open_errors);
    RUN(test_logs);
    {
	VSTRING *cmd = vstring_alloc(100);

	vstring_fmt(cmd, "rm -rf '%s'", root);
	if (system(STR(cmd)) != 0)
	    fprintf(stderr, "cleanup failed\n");
	vstring_free(&cmd);
    }
    return unit_done();
}
