/* test_anvil_clnt - the anvil client against fake servers.
 *
 * A forked child listens on a unix socket in a temporary directory and
 * plays a scripted server: the right hello and replies, a wrong protocol
 * name, a reply with a missing attribute, or a hang-up. The client must
 * report each failure through error_r, never crash or block, and
 * reconnect on the next call.
 */
#include "sys_defs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "anvil_clnt.h"
#include "msg.h"
#include "vstring.h"
#include "unit.h"

static char sock_dir[64];
static char sock_path[128];

/* fake_listen - a listening unix socket at sock_path */
static int fake_listen(void)
{
    struct sockaddr_un sun;
    int     fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    ph_strlcpy(sun.sun_path, sock_path, sizeof(sun.sun_path));
    unlink(sock_path);
    if (fd < 0 || bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0 || listen(fd, 5) < 0)
	msg_fatal("fake server: %m");
    return fd;
}

/* fake_read_request - read up to and including the empty line */
static void fake_read_request(int fd)
{
    char    buf[1];
    int     nl = 0;

    while (read(fd, buf, 1) == 1) {
	if (buf[0] == '\n') {
	    if (++nl == 2)
		return;
	} else {
	    nl = 0;
	}
    }
}

/* fake_server - accept `conns` connections; on each send hello, then for
 * each request the reply text (NULL: hang up) */
static pid_t fake_server(const char *hello, const char *const *replies, int conns)
{
    int     lfd = fake_listen();
    pid_t   pid = fork();

    if (pid != 0) {
	close(lfd);
	return pid;
    }
    for (int c = 0; c < conns; c++) {
	int     fd = accept(lfd, NULL, NULL);

	if (fd < 0)
	    _exit(1);
	if (write(fd, hello, strlen(hello)) < 0)
	    _exit(1);
	for (const char *const *r = replies; *r; r++) {
	    fake_read_request(fd);
	    if (write(fd, *r, strlen(*r)) < 0)
		_exit(1);
	}
	fake_read_request(fd);
	close(fd);
    }
    _exit(0);
}

/* fake_wait - reap the fake server */
static void fake_wait(pid_t pid)
{
    int     status;

    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
}

TEST(test_unreachable)
{
    ANVIL_CLNT *ac = anvil_clnt_create("/nonexistent/private/anvil");
    const char *err = NULL;
    long    count = -1, rate = -1;

    CHECK(anvil_clnt_connect(ac, "smtp", "192.0.2.1", &count, &rate, &err) == -1);
    CHECK(err != NULL && strstr(err, "/nonexistent/private/anvil") != NULL);
    CHECK(count == -1 && rate == -1);
    err = NULL;
    CHECK(anvil_clnt_disconnect(ac, "smtp", "192.0.2.1", &err) == -1 && err != NULL);
    anvil_clnt_free(&ac);
    CHECK(ac == NULL);
    anvil_clnt_free(&ac);			/* NULL is fine */
}

TEST(test_good_server)
{
    static const char *const replies[] = {
	"status=0\ncount=3\nrate=7\n\n",
	"status=0\nrate=2\n\n",
	"status=0\ncount=1\nrate=2\nmessage_rate=3\n\n",
	"status=0\n\n",
	NULL,
    };
    pid_t   pid = fake_server("proto=anvil\nversion=1\n\n", replies, 1);
    ANVIL_CLNT *ac = anvil_clnt_create(sock_path);
    const char *err = NULL;
    long    count = 0, rate = 0, mrate = 0;

    CHECK(anvil_clnt_connect(ac, "smtp", "192.0.2.1", &count, &rate, &err) == 0);
    CHECK(count == 3 && rate == 7);
    CHECK(anvil_clnt_message(ac, "smtp", "192.0.2.1", &rate, &err) == 0 && rate == 2);
    CHECK(anvil_clnt_lookup(ac, "smtp", "192.0.2.1", &count, &rate, &mrate, &err) == 0);
    CHECK(count == 1 && rate == 2 && mrate == 3);
    CHECK(anvil_clnt_disconnect(ac, "smtp", "192.0.2.1", &err) == 0);
    anvil_clnt_free(&ac);
    fake_wait(pid);
}

TEST(test_bad_servers)
{
    static const char *const none[] = {NULL};
    static const char *const missing[] = {"status=0\ncount=3\n\n", NULL};
    static const char *const refused[] = {"status=1\n\n", NULL};
    const char *err = NULL;
    long    count, rate;
    pid_t   pid;
    ANVIL_CLNT *ac;

    /* another protocol */
    pid = fake_server("proto=qmgr\nversion=1\n\n", none, 1);
    ac = anvil_clnt_create(sock_path);
    CHECK(anvil_clnt_connect(ac, "smtp", "192.0.2.1", &count, &rate, &err) == -1);
    CHECK(err != NULL);
    anvil_clnt_free(&ac);
    fake_wait(pid);

    /* a reply without rate */
    pid = fake_server("proto=anvil\nversion=1\n\n", missing, 1);
    ac = anvil_clnt_create(sock_path);
    err = NULL;
    CHECK(anvil_clnt_connect(ac, "smtp", "192.0.2.1", &count, &rate, &err) == -1);
    CHECK(err != NULL);
    anvil_clnt_free(&ac);
    fake_wait(pid);

    /* a refusal, then a hang-up; the client reconnects after each */
    pid = fake_server("proto=anvil\nversion=1\n\n", refused, 2);
    ac = anvil_clnt_create(sock_path);
    err = NULL;
    CHECK(anvil_clnt_connect(ac, "smtp", "192.0.2.1", &count, &rate, &err) == -1);
    CHECK(err != NULL && strstr(err, "refused") != NULL);
    err = NULL;
    CHECK(anvil_clnt_connect(ac, "smtp", "192.0.2.1", &count, &rate, &err) == -1);
    CHECK(err != NULL);
    anvil_clnt_free(&ac);
    fake_wait(pid);
}

int     main(void)
{
    msg_init("test_anvil_clnt", MSG_TO_STDERR);
    signal(SIGPIPE, SIG_IGN);
    snprintf(sock_dir, sizeof(sock_dir), "/tmp/test_anvil_clnt.XXXXXX");
    if (mkdtemp(sock_dir) == NULL)
	msg_fatal("mkdtemp: %m");
    snprintf(sock_path, sizeof(sock_path), "%s/anvil", sock_dir);
    RUN(test_unreachable);
    RUN(test_good_server);
    RUN(test_bad_servers);
    unlink(sock_path);
    rmdir(sock_dir);
    return unit_done();
}
