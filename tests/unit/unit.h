/* unit.h - the unit test harness: one file per lib module.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   int main(void) { RUN(name); ... return unit_done(); }
 *
 * A test passes when all its checks pass. CHECK_PANICS/CHECK_EXITS run a
 * statement in a forked child (stderr silenced) and expect abort()/exit.
 * unit_done() prints "test_x: N passed, N failed" and returns the exit code.
 */
#ifndef UNIT_H
#define UNIT_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

static int unit_passed, unit_failed, unit_cur_failed;
static const char *unit_cur_name;

#define TEST(name) static void name(void)

#define UNIT_FAIL(...) do { \
        fprintf(stderr, "FAIL %s (%s:%d): ", unit_cur_name, __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
        unit_cur_failed++; \
    } while (0)

#define CHECK(cond) do { if (!(cond)) UNIT_FAIL("%s", #cond); } while (0)
#define CHECK_INT(a, b) do { long long _a = (long long) (a), _b = (long long) (b); \
        if (_a != _b) UNIT_FAIL("%s == %lld, expected %lld", #a, _a, _b); } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
        if (_a == NULL || _b == NULL ? _a != _b : strcmp(_a, _b) != 0) \
            UNIT_FAIL("%s == \"%s\", expected \"%s\"", #a, _a ? _a : "(null)", _b ? _b : "(null)"); \
    } while (0)

/* unit_child - run in a fork; returns the wait status */
#define UNIT_IN_CHILD(stmt) ({ \
        fflush(NULL); \
        pid_t _pid = fork(); \
        if (_pid == 0) { \
            int _dn = open("/dev/null", O_WRONLY); \
            if (_dn >= 0) dup2(_dn, 2); \
            signal(SIGABRT, SIG_DFL); \
            stmt; \
            _exit(0); \
        } \
        int _ws = 0; \
        waitpid(_pid, &_ws, 0); \
        _ws; })

#define CHECK_PANICS(stmt) do { int _st = UNIT_IN_CHILD(stmt); \
        if (!(WIFSIGNALED(_st) && WTERMSIG(_st) == SIGABRT)) \
            UNIT_FAIL("%s did not panic (status 0x%x)", #stmt, _st); } while (0)
#define CHECK_EXITS(stmt, code) do { int _st = UNIT_IN_CHILD(stmt); \
        if (!(WIFEXITED(_st) && WEXITSTATUS(_st) == (code))) \
            UNIT_FAIL("%s did not exit %d (status 0x%x)", #stmt, (code), _st); } while (0)

#define RUN(name) do { \
        unit_cur_name = #name; unit_cur_failed = 0; \
        name(); \
        if (unit_cur_failed) unit_failed++; else unit_passed++; \
    } while (0)

static inline int unit_done(const char *file)
{
    const char *base = strrchr(file, '/');

    printf("%s: %d passed, %d failed\n", base ? base + 1 : file, unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}
#define unit_done() unit_done(__FILE__)

#endif
