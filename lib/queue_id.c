/* queue_id - unique, time-sortable queue IDs.
 *
 * Purpose: names for queue files (and the IDs in log lines) that are
 * unique on one host and sort as strings in arrival order.
 *
 * Format (QUEUE_ID_LEN = 18 characters):
 *     SSSSSS UUUU z PPPP CCC
 *   S: seconds since the epoch, 6 digits base 61 (good until the year 3600)
 *   U: microseconds, 4 digits base 61
 *   z: separator (never a digit, since the digit alphabet stops at 'y')
 *   P: process id, 4 digits base 61 (61^4 > Linux's largest pid_max, 2^22)
 *   C: per-process counter, 3 digits base 61, wrapping
 * Digits are 0-9 A-Z a-y, which is ASCII order, so fixed-width numbers
 * compare as strings exactly as they compare as numbers.
 *
 * Uniqueness: within a process, the (seconds, microseconds) pair never
 * repeats or goes backwards: when the clock did not advance (or was set
 * back) since the previous ID, the previous time plus one microsecond is
 * used. Across processes the pid differs; a pid reused at the very same
 * microsecond would need the clock to go back, and the counter makes even
 * that collision unlikely. IDs are not secret and not random.
 *
 * queue_id_valid() is the gate before an ID becomes a path component: it
 * allows only [0-9A-Za-z], so "/", ".", NUL tricks and empty names are out.
 */
#include "sys_defs.h"

#include <limits.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "msg.h"
#include "queue_id.h"

static const char queue_id_digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy";

#define QUEUE_ID_BASE 61
#define QUEUE_ID_SEC_LEN 6
#define QUEUE_ID_USEC_LEN 4
#define QUEUE_ID_PID_LEN 4
#define QUEUE_ID_CNT_LEN 3

static long long queue_id_last_sec = -1;
static long queue_id_last_usec;
static unsigned queue_id_counter;

/* queue_id_put - fixed-width base-61 number, most significant first */
static char *queue_id_put(char *cp, unsigned long long value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        cp[i] = queue_id_digits[value % QUEUE_ID_BASE];
        value /= QUEUE_ID_BASE;
    }
    return cp + width;
}

/* queue_id_digit - value of one digit, or -1 */
static int queue_id_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'y')
        return c - 'a' + 36;
    return -1;
}

/* queue_id_new - a fresh ID */
void    queue_id_new(char *buf)
{
    struct timeval tv;
    char   *cp = buf;

    if (gettimeofday(&tv, 0) < 0)
        msg_fatal("gettimeofday: %m");
    long long sec = tv.tv_sec;
    long    usec = tv.tv_usec;

    /* Never repeat or go back within this process. */
    if (sec < queue_id_last_sec || (sec == queue_id_last_sec && usec <= queue_id_last_usec)) {
        sec = queue_id_last_sec;
        usec = queue_id_last_usec + 1;
        if (usec >= 1000000) {
            sec++;
            usec = 0;
        }
    }
    queue_id_last_sec = sec;
    queue_id_last_usec = usec;
    if (sec < 0)
        msg_panic("queue_id_new: clock before the epoch");
    cp = queue_id_put(cp, (unsigned long long) sec, QUEUE_ID_SEC_LEN);
    cp = queue_id_put(cp, (unsigned long long) usec, QUEUE_ID_USEC_LEN);
    *cp++ = 'z';
    cp = queue_id_put(cp, (unsigned long long) getpid(), QUEUE_ID_PID_LEN);
    cp = queue_id_put(cp, queue_id_counter++, QUEUE_ID_CNT_LEN);
    *cp = 0;
}

/* queue_id_valid - nonempty, shorter than QUEUE_ID_MAX, [0-9A-Za-z] only */
bool    queue_id_valid(const char *id)
{
    size_t  len;

    if (id == 0)
        return false;
    for (len = 0; id[len]; len++) {
        char    c = id[len];

        if (len >= QUEUE_ID_MAX - 1)
            return false;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return len > 0;
}

/* queue_id_time - seconds encoded in an ID of our format, or -1 */
long    queue_id_time(const char *id)
{
    long long sec = 0;

    if (!queue_id_valid(id) || strlen(id) != QUEUE_ID_LEN
        || id[QUEUE_ID_SEC_LEN + QUEUE_ID_USEC_LEN] != 'z')
        return -1;
    for (int i = 0; i < QUEUE_ID_LEN; i++)
        if (i != QUEUE_ID_SEC_LEN + QUEUE_ID_USEC_LEN && queue_id_digit(id[i]) < 0)
            return -1;
    long    usec = 0;

    for (int i = 0; i < QUEUE_ID_SEC_LEN; i++)
        sec = sec * QUEUE_ID_BASE + queue_id_digit(id[i]);
    for (int i = QUEUE_ID_SEC_LEN; i < QUEUE_ID_SEC_LEN + QUEUE_ID_USEC_LEN; i++)
        usec = usec * QUEUE_ID_BASE + queue_id_digit(id[i]);
    if (usec >= 1000000 || sec > (long long) LONG_MAX)
        return -1;
    return (long) sec;
}
