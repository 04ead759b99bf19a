/* test_queue_id - uniqueness, order, validation, time decoding. */
#include "sys_defs.h"

#include <time.h>

#include "msg.h"
#include "mymalloc.h"
#include "queue_id.h"
#include "vstring.h"
#include "unit.h"

#define MANY 100000

/* cmp_id - qsort comparator for fixed-size ID slots */
static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

TEST(test_unique_sorted)
{
    char (*ids)[QUEUE_ID_MAX] = mymalloc(sizeof(*ids) * MANY);

    for (int i = 0; i < MANY; i++) {
        queue_id_new(ids[i]);
        if (strlen(ids[i]) != QUEUE_ID_LEN || !queue_id_valid(ids[i])) {
            UNIT_FAIL("bad id \"%s\"", ids[i]);
            break;
        }
        /* Generated in order: each sorts strictly after the previous. */
        if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0) {
            UNIT_FAIL("%s then %s: not increasing", ids[i - 1], ids[i]);
            break;
        }
    }
    qsort(ids, MANY, sizeof(*ids), cmp_id);
    for (int i = 1; i < MANY; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) {
            UNIT_FAIL("duplicate %s", ids[i]);
            break;
        }
    myfree(ids);
}

TEST(test_unique_across_processes)
{
    enum { NPROC = 4, PER = 20000 };
    char (*ids)[QUEUE_ID_MAX] = mymalloc(sizeof(*ids) * NPROC * PER);
    int pfd[NPROC][2];
    pid_t pids[NPROC];
    char first[QUEUE_ID_MAX];

    /* Burn one ID so the children inherit a used counter and last time. */
    queue_id_new(first);
    for (int p = 0; p < NPROC; p++) {
        CHECK_INT(pipe(pfd[p]), 0);
        fflush(NULL);
        if ((pids[p] = fork()) == 0) {
            char buf[QUEUE_ID_LEN + 1];

            close(pfd[p][0]);
            for (int i = 0; i < PER; i++) {
                queue_id_new(buf);
                buf[QUEUE_ID_LEN] = '\n';
                if (write(pfd[p][1], buf, sizeof(buf)) != (ssize_t) sizeof(buf))
                    _exit(1);
            }
            _exit(0);
        }
        close(pfd[p][1]);
    }
    int n = 0;
    for (int p = 0; p < NPROC; p++) {
        FILE *fp = fdopen(pfd[p][0], "r");
        char line[64];

        while (fgets(line, sizeof(line), fp) && n < NPROC * PER) {
            line[strcspn(line, "\n")] = 0;
            ph_strlcpy(ids[n++], line, QUEUE_ID_MAX);
        }
        fclose(fp);
        int status = 0;
        waitpid(pids[p], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_INT(n, NPROC * PER);
    qsort(ids, (size_t) n, sizeof(*ids), cmp_id);
    for (int i = 1; i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) {
            UNIT_FAIL("duplicate %s across processes", ids[i]);
            break;
        }
    /* Everything the children made sorts after what the parent made before. */
    CHECK(strcmp(first, ids[0]) < 0);
    myfree(ids);
}

TEST(test_time)
{
    char id[QUEUE_ID_MAX];
    time_t before = time(NULL);

    queue_id_new(id);
    long t = queue_id_time(id);
    CHECK(t >= (long) before && t <= (long) time(NULL) + 1);
    /* Hand-computed values: base 61, digits 0-9 A-Z a-y. */
    CHECK_INT(queue_id_time("0000010000z0000000"), 1);
    CHECK_INT(queue_id_time("0000100000z0000000"), 61);
    CHECK_INT(queue_id_time("00000y0000z0000000"), 60);
    CHECK_INT(queue_id_time("000A000000z0000000"), 10L * 61 * 61);   /* A at 61^2 */
    /* 1700000000 = 61^5*2 + ... written out digit by digit. */
    long v = 1700000000L;
    char enc[7];
    static const char dig[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy";
    for (int i = 5; i >= 0; i--) {
        enc[i] = dig[v % 61];
        v /= 61;
    }
    enc[6] = 0;
    char full[QUEUE_ID_MAX];
    snprintf(full, sizeof(full), "%s0000z0000000", enc);
    CHECK_INT(queue_id_time(full), 1700000000L);
    /* Not our layout, or bad digits: -1. */
    CHECK_INT(queue_id_time("0000010000y0000000"), -1);     /* no separator */
    CHECK_INT(queue_id_time("0000010000z000000"), -1);      /* short */
    CHECK_INT(queue_id_time("0000010000z00000000"), -1);    /* long */
    CHECK_INT(queue_id_time("00000z0000z0000000"), -1);     /* 'z' is not a digit */
    CHECK_INT(queue_id_time("000001yyyyz0000000"), -1);     /* usec >= 10^6 */
    CHECK_INT(queue_id_time("../x"), -1);
    CHECK_INT(queue_id_time(""), -1);
    CHECK_INT(queue_id_time("3F9A1B2C4D"), -1);             /* a Postfix short ID */
}

TEST(test_valid)
{
    static const char *good[] = {
        "A", "3F9A1B2C4D", "4Xyz0aBcDeFgHiJkLm", "0123456789012345678901234567890",   /* 31 */
    };
    static const char *bad[] = {
        "", "../x", "..", ".", "a/b", "/abc", "a.b", "a b", " ab", "ab\n", "a-b", "a_b",
        "ab\r", "\xc3\xa9t\xc3\xa9", "a\x7f", "01234567890123456789012345678901",   /* 32 */
        "0123456789012345678901234567890123456789012345678901234567890123456789",
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(good); i++)
        if (!queue_id_valid(good[i]))
            UNIT_FAIL("\"%s\" should be valid", good[i]);
    for (size_t i = 0; i < PH_ARRAY_LEN(bad); i++)
        if (queue_id_valid(bad[i]))
            UNIT_FAIL("\"%s\" should be invalid", bad[i]);
    CHECK(!queue_id_valid(NULL));
    /* A NUL inside a buffer ends the C string: only the part before it is
     * the ID; an ID that starts with NUL is empty and invalid. */
    static const char nul_first[] = "\0abc";
    CHECK(!queue_id_valid(nul_first));
    static const char nul_mid[] = "ab\0/../etc";
    CHECK(queue_id_valid(nul_mid));
    CHECK_INT(strlen(nul_mid), 2);
}

int main(void)
{
    msg_init("test_queue_id", MSG_TO_STDERR);
    RUN(test_unique_sorted);
    RUN(test_unique_across_processes);
    RUN(test_time);
    RUN(test_valid);
    return unit_done();
}
