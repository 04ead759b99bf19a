/* test_server - trigger_send against fifos, unix sockets and bad targets.
 *
 * The skeletons themselves (accept loop, status records, use/idle limits,
 * reload behaviour) run whole processes and are tested end to end in
 * tests/integration/test_master.py.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "msg.h"
#include "server.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_server.XXXXXX";
static char pathbuf[256];

/* path - a name in the scratch directory */
static const char *path(const char *name)
{
    snprintf(pathbuf, sizeof(pathbuf), "%s/%s", tmpdir, name);
    return pathbuf;
}

TEST(test_fifo)
{
    char buf[16];
    int fd;

    CHECK_INT(mkfifo(path("fifo"), 0600), 0);
    fd = open(path("fifo"), O_RDWR | O_NONBLOCK);
    CHECK(fd >= 0);
    CHECK_INT(trigger_send(path("fifo"), "W", 1), 0);
    CHECK_INT(trigger_send(path("fifo"), "AB", 2), 0);
    CHECK_INT(read(fd, buf, sizeof(buf)), 3);
    CHECK(memcmp(buf, "WAB", 3) == 0);
    close(fd);
    /* a fifo with no reader: refused at once, never blocks */
    CHECK_INT(trigger_send(path("fifo"), "W", 1), -1);
    unlink(path("fifo"));
}

TEST(test_socket)
{
    struct sockaddr_un sun;
    char buf[16];
    int lfd, cfd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    CHECK(strlen(path("sock")) < sizeof(sun.sun_path));
    memcpy(sun.sun_path, pathbuf, strlen(pathbuf) + 1);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(lfd >= 0);
    CHECK_INT(bind(lfd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    CHECK_INT(listen(lfd, 5), 0);
    CHECK_INT(trigger_send(path("sock"), "W", 1), 0);
    cfd = accept(lfd, NULL, NULL);
    CHECK(cfd >= 0);
    CHECK_INT(read(cfd, buf, sizeof(buf)), 1);
    CHECK(buf[0] == 'W');
    CHECK_INT(read(cfd, buf, sizeof(buf)), 0);	/* sender closed */
    close(cfd);
    close(lfd);
    /* nobody listening any more */
    CHECK_INT(trigger_send(path("sock"), "W", 1), -1);
    unlink(path("sock"));
}

TEST(test_bad_targets)
{
    char longname[200];

    CHECK_INT(trigger_send(path("missing"), "W", 1), -1);
    CHECK_INT(errno, ENOENT);
    /* a regular file is neither a fifo nor a socket */
    close(open(path("file"), O_WRONLY | O_CREAT, 0600));
    CHECK_INT(trigger_send(path("file"), "W", 1), -1);
    unlink(path("file"));
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    CHECK_INT(trigger_send(longname, "W", 1), -1);
}

TEST(test_service_name_default)
{
    CHECK_STR(server_service_name(), "");
}

int main(void)
{
    msg_init("test_server", MSG_TO_STDERR);
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_fifo);
    RUN(test_socket);
    RUN(test_bad_targets);
    RUN(test_service_name_default);
    rmdir(tmpdir);
    return unit_done();
}
