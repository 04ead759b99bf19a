/* echod - test-only line echo daemon on single_server_main.
 *
 * Greets with "220 GREETING pid=PID uid=UID gid=GID service=NAME" where
 * GREETING is the parameter echod_greeting (main.cf or -o; default
 * $myhostname), so tests can see which configuration a process runs with.
 * Then, per line: "quit" -> "221 bye" and close; "crash" -> dies by
 * SIGABRT; "exit N" -> exits with status N; "sleep N" -> "250 slept N"
 * after N seconds; "param NAME" -> "250 VALUE"; "env NAME" -> "250 =VALUE"
 * or "250 unset"; anything else -> "250 LINE".
 * With echod_fail_startup = yes it fails in post_init (tests throttling).
 * Lines are limited to 1000 bytes; the client gets 60 s per line.
 * Built only under tests/: nothing here ships.
 */
#include "sys_defs.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "server.h"
#include "stream.h"
#include "vstring.h"

/* echod_param - a parameter's value or a default */
static const char *echod_param(const char *name, const char *def)
{
    const char *val = config_lookup(name);

    return val && *val ? val : def;
}

/* echod_post_init - optional start-up failure */
static void echod_post_init(const char *service, char **argv)
{
    (void) argv;
    if (strcmp(echod_param("echod_fail_startup", "no"), "yes") == 0)
        msg_fatal("service %s: echod_fail_startup is set", service);
}

/* echod_service - one session */
static void echod_service(STREAM *sp, const char *service, char **argv)
{
    VSTRING *line = vstring_alloc(100);
    int rc;

    (void) argv;
    stream_set_timeout(sp, 60);
    stream_printf(sp, "220 %s pid=%ld uid=%ld gid=%ld service=%s\r\n",
                  echod_param("echod_greeting", var_myhostname), (long) getpid(),
                  (long) getuid(), (long) getgid(), service);
    stream_flush(sp);
    while ((rc = stream_getline(sp, line, 1000, NULL)) > 0) {
        vstring_chomp(line);
        if (strcmp(STR(line), "quit") == 0) {
            stream_puts(sp, "221 bye\r\n");
            break;
        } else if (strcmp(STR(line), "crash") == 0) {
            signal(SIGABRT, SIG_DFL);
            raise(SIGABRT);
        } else if (strncmp(STR(line), "exit ", 5) == 0) {
            exit(atoi(STR(line) + 5));
        } else if (strncmp(STR(line), "sleep ", 6) == 0) {
            sleep((unsigned) atoi(STR(line) + 6));
            stream_printf(sp, "250 slept %d\r\n", atoi(STR(line) + 6));
        } else if (strncmp(STR(line), "env ", 4) == 0) {
            const char *val = getenv(STR(line) + 4);

            stream_printf(sp, "250 %s%s\r\n", val ? "=" : "unset", val ? val : "");
        } else if (strncmp(STR(line), "param ", 6) == 0) {
            stream_printf(sp, "250 %s\r\n", echod_param(STR(line) + 6, ""));
        } else {
            stream_printf(sp, "250 %s\r\n", STR(line));
        }
        if (stream_flush(sp) < 0)
            break;
    }
    stream_flush(sp);
    vstring_free(&line);
}

/* main - the single-server skeleton does the rest */
int main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {.post_init = echod_post_init};

    single_server_main(argc, argv, echod_service, &opts);
}
