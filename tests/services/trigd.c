/* trigd - test-only trigger daemon on trigger_server_main.
 *
 * Appends one line "trigger PID LEN BYTES" (bytes with non-printables as
 * '?', at most 100) to the file named by the parameter trigd_log for each
 * trigger it receives (master wakeups arrive as "W"). Built only under tests/.
 */
#include "sys_defs.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "server.h"
#include "vstring.h"

/* trigd_event - record one trigger */
static void trigd_event(const char *buf, ssize_t len, const char *service, char **argv)
{
    const char *path = config_lookup("trigd_log");
    VSTRING *line = vstring_alloc(100);
    int fd;

    (void) service, (void) argv;
    vstring_fmt(line, "trigger %ld %ld ", (long) getpid(), (long) len);
    for (ssize_t i = 0; i < len && i < 100; i++)
        vstring_addch(line, buf[i] > 0x20 && buf[i] < 0x7f ? buf[i] : '?');
    vstring_addch(line, '\n');
    if (path && *path) {
        if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
            msg_fatal("open %s: %m", path);
        if (write(fd, STR(line), LEN(line)) != (ssize_t) LEN(line))
            msg_warn("write %s: %m", path);
        close(fd);
    } else {
        msg_info("%s", STR(line));
    }
    vstring_free(&line);
}

/* main - the trigger-server skeleton does the rest */
int main(int argc, char **argv)
{
    trigger_server_main(argc, argv, trigd_event, NULL);
}
