/* msg - logging.
 *
 * One formatted line per call, written with a single write(2) to each
 * destination so concurrent processes appending to one maillog_file never
 * interleave within a line. Lines longer than MSG_MAX_LINE are truncated.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "iostuff.h"
#include "msg.h"

#define MSG_MAX_LINE 4096

int msg_verbose;

static char msg_progname[128] = "posthorn";
static int msg_dest = MSG_TO_STDERR;
static int msg_logfd = -1;
static int msg_errors;
static void (*msg_cleanup_fn)(void);
static char msg_hostname[256];

/* msg_set_name - change the name shown in log lines */
void msg_set_name(const char *name)
{
    snprintf(msg_progname, sizeof(msg_progname), "%s", name);
    if (msg_dest & MSG_TO_SYSLOG) {
        closelog();
        openlog(msg_progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
    }
}

/* msg_init - set up name and destinations */
void msg_init(const char *name, int dest)
{
    const char *slash = strrchr(name, '/');

    /* A path (argv[0]) becomes its last component; "posthorn/x" stays. */
    if (slash && name[0] == '/')
        name = slash + 1;
    msg_dest = dest;
    msg_set_name(name);
}

/* msg_name - current name */
const char *msg_name(void)
{
    return msg_progname;
}

static const struct {
    const char *name;
    int code;
} msg_facilities[] = {
    {"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

/* msg_syslog_open - start logging to syslog */
int msg_syslog_open(const char *facility)
{
    for (size_t i = 0; i < PH_ARRAY_LEN(msg_facilities); i++) {
        if (strcasecmp(facility, msg_facilities[i].name) == 0) {
            closelog();
            openlog(msg_progname, LOG_PID | LOG_NDELAY, msg_facilities[i].code);
            msg_dest |= MSG_TO_SYSLOG;
            return 0;
        }
    }
    return -1;
}

/* msg_logfile_open - start logging to a file */
int msg_logfile_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);

    if (fd < 0)
        return -1;
    if (msg_logfd >= 0)
        close(msg_logfd);
    msg_logfd = fd;
    msg_dest |= MSG_TO_FILE;
    if (gethostname(msg_hostname, sizeof(msg_hostname) - 1) < 0)
        snprintf(msg_hostname, sizeof(msg_hostname), "localhost");
    /* Postfix logs the short host name. */
    char *dot = strchr(msg_hostname, '.');
    if (dot)
        *dot = 0;
    return 0;
}

/* msg_set_dest - replace the destination mask */
void msg_set_dest(int dest)
{
    msg_dest = dest;
}

/* msg_cleanup - register the exit hook */
void msg_cleanup(void (*fn)(void))
{
    msg_cleanup_fn = fn;
}

/* msg_error_count - errors so far */
int msg_error_count(void)
{
    return msg_errors;
}

static const char *const msg_prefix[] = {"", "warning: ", "error: ", "fatal: ", "panic: "};
static const int msg_syslog_prio[] = {LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_CRIT};

/* msg_vprintf - format and emit one line at the given level */
void msg_vprintf(int level, const char *fmt, va_list ap)
{
    char text[MSG_MAX_LINE];
    char line[MSG_MAX_LINE + 512];
    int saved_errno = errno;
    int n;

    if (level < 0 || level > MSG_LEVEL_PANIC)
        level = MSG_LEVEL_PANIC;
    n = snprintf(text, sizeof(text), "%s", msg_prefix[level]);
    errno = saved_errno;
    vsnprintf(text + n, sizeof(text) - (size_t) n, fmt, ap);
    for (unsigned char *cp = (unsigned char *) text; *cp; cp++)
        if (*cp < 0x20 || *cp == 0x7f)
            *cp = '?';

    if (msg_dest & MSG_TO_SYSLOG)
        syslog(msg_syslog_prio[level], "%s", text);
    if ((msg_dest & MSG_TO_FILE) && msg_logfd >= 0) {
        struct timespec ts;
        struct tm tm;
        char stamp[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
        n = snprintf(line, sizeof(line) - 1, "%s %s %s[%ld]: %s", stamp,
                     msg_hostname, msg_progname, (long) getpid(), text);
        if (n < 0)
            n = 0;
        if ((size_t) n > sizeof(line) - 2)
            n = (int) sizeof(line) - 2;
        line[n++] = '\n';
        (void) iostuff_write_all(msg_logfd, line, (size_t) n);
    }
    if (msg_dest & MSG_TO_STDERR) {
        const char *name = strrchr(msg_progname, '/');

        n = snprintf(line, sizeof(line) - 1, "%s: %s", name ? name + 1 : msg_progname, text);
        if (n < 0)
            n = 0;
        if ((size_t) n > sizeof(line) - 2)
            n = (int) sizeof(line) - 2;
        line[n++] = '\n';
        (void) iostuff_write_all(2, line, (size_t) n);
    }
    errno = saved_errno;
}

#define MSG_BODY(level) do { \
        va_list ap; \
        va_start(ap, fmt); \
        msg_vprintf(level, fmt, ap); \
        va_end(ap); \
    } while (0)

/* msg_info - informational */
void msg_info(const char *fmt, ...)
{
    MSG_BODY(MSG_LEVEL_INFO);
}

/* msg_warn - warning, go on */
void msg_warn(const char *fmt, ...)
{
    MSG_BODY(MSG_LEVEL_WARN);
}

/* msg_error - error, go on, counted */
void msg_error(const char *fmt, ...)
{
    MSG_BODY(MSG_LEVEL_ERROR);
    msg_errors++;
}

/* run_cleanup - call the hook once */
static void run_cleanup(void)
{
    void (*fn)(void) = msg_cleanup_fn;

    msg_cleanup_fn = NULL;
    if (fn)
        fn();
}

/* msg_fatal - environment problem: exit 1 */
void msg_fatal(const char *fmt, ...)
{
    MSG_BODY(MSG_LEVEL_FATAL);
    run_cleanup();
    exit(1);
}

/* msg_fatal_status - environment problem: exit with status */
void msg_fatal_status(int status, const char *fmt, ...)
{
    MSG_BODY(MSG_LEVEL_FATAL);
    run_cleanup();
    exit(status);
}

/* msg_panic - our own bug: abort */
void msg_panic(const char *fmt, ...)
{
    MSG_BODY(MSG_LEVEL_PANIC);
    run_cleanup();
    abort();
}
