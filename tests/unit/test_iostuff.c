/* test_iostuff - whole-buffer write and pread, short transfers, errors. */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "iostuff.h"
#include "msg.h"
#include "unit.h"

static char tmpfile_name[] = "/tmp/test_iostuff.XXXXXX";

TEST(test_write_then_pread)
{
    static char big[300000];			/* more than a pipe holds */
    char    back[sizeof(big)];
    int     fd;

    for (size_t i = 0; i < sizeof(big); i++)
	big[i] = (char) (i * 7 + 3);
    CHECK((fd = mkstemp(tmpfile_name)) >= 0);
    CHECK_INT(iostuff_write_all(fd, big, sizeof(big)), 0);
    CHECK_INT(iostuff_write_all(fd, "", 0), 0);
    CHECK_INT(iostuff_pread_all(fd, back, sizeof(back), 0), sizeof(big));
    CHECK(memcmp(back, big, sizeof(big)) == 0);
    /* At an offset; short at end of file; nothing past it. */
    CHECK_INT(iostuff_pread_all(fd, back, 10, 5), 10);
    CHECK(memcmp(back, big + 5, 10) == 0);
    CHECK_INT(iostuff_pread_all(fd, back, 100, sizeof(big) - 4), 4);
    CHECK(memcmp(back, big + sizeof(big) - 4, 4) == 0);
    CHECK_INT(iostuff_pread_all(fd, back, 100, sizeof(big) + 10), 0);
    close(fd);
    unlink(tmpfile_name);
}

/* on_alarm - interrupt blocking writes (installed without SA_RESTART) */
static void on_alarm(int sig PH_UNUSED)
{
}

TEST(test_interrupted_writes)
{
    static char big[1 << 20];
    struct sigaction sa;
    struct itimerval it = {{0, 2000}, {0, 2000}};
    int     pfd[2], st;
    pid_t   pid;

    for (size_t i = 0; i < sizeof(big); i++)
	big[i] = (char) (i % 251);
    CHECK_INT(pipe(pfd), 0);
    if ((pid = fork()) == 0) {
	static char got[sizeof(big)];
	size_t  total = 0;
	ssize_t n;

	close(pfd[1]);
	while (total < sizeof(got)
	       && (n = read(pfd[0], got + total, 8192)) > 0) {
	    total += (size_t) n;
	    usleep(200);			/* a slow reader: the writer blocks */
	}
	_exit(total == sizeof(big) && memcmp(got, big, sizeof(big)) == 0 ? 0 : 1);
    }
    close(pfd[0]);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;			/* no SA_RESTART: EINTR, short writes */
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_INT(iostuff_write_all(pfd[1], big, sizeof(big)), 0);
    memset(&it, 0, sizeof(it));
    setitimer(ITIMER_REAL, &it, NULL);
    close(pfd[1]);
    CHECK_INT(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(test_errors)
{
    char    buf[4];
    int     pfd[2];

    errno = 0;
    CHECK_INT(iostuff_write_all(-1, "abc", 3), -1);
    CHECK_INT(errno, EBADF);
    CHECK_INT(iostuff_pread_all(-1, buf, sizeof(buf), 0), -1);
    CHECK_INT(errno, EBADF);
    /* A pipe cannot pread; a closed reader is EPIPE, not a hang. */
    CHECK_INT(pipe(pfd), 0);
    CHECK_INT(iostuff_pread_all(pfd[0], buf, sizeof(buf), 0), -1);
    CHECK_INT(errno, ESPIPE);
    close(pfd[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK_INT(iostuff_write_all(pfd[1], "abc", 3), -1);
    CHECK_INT(errno, EPIPE);
    close(pfd[1]);
}

int main(void)
{
    msg_init("test_iostuff", MSG_TO_STDERR);
    RUN(test_write_then_pread);
    RUN(test_interrupted_writes);
    RUN(test_errors);
    return unit_done();
}
