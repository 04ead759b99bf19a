/* mechod - test-only multi-client echo daemon on multi_server_main.
 *
 * Each client gets "220 GREETING pid=PID clients=N" (N: clients open in
 * this process, itself included), then every line is answered with
 * "250 LINE"; "quit" gets "221 bye" and the connection is closed. The
 * client limit per process is the parameter mechod_client_limit (default
 * 1000). Lines are at most 1000 bytes; reads are non-blocking through the
 * event loop. Built only under tests/: nothing here ships.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "events.h"
#include "msg.h"
#include "mymalloc.h"
#include "server.h"
#include "vstring.h"

typedef struct mechod_client {
    int     fd;
    VSTRING *in;
} MECHOD_CLIENT;

static SERVER_OPTS mechod_opts;

/* mechod_reply - write a short reply (small enough never to block long) */
static int mechod_reply(int fd, const char *text)
{
    size_t len = strlen(text);

    return write(fd, text, len) == (ssize_t) len ? 0 : -1;
}

/* mechod_close - end one client */
static void mechod_close(MECHOD_CLIENT *cl)
{
    multi_server_disconnect(cl->fd);
    vstring_free(&cl->in);
    myfree(cl);
}

/* mechod_read - input from one client */
static void mechod_read(int event, int fd, void *ctx)
{
    MECHOD_CLIENT *cl = ctx;
    char    buf[1024];
    ssize_t n;
    char   *nl;

    (void) event;
    n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        mechod_close(cl);
        return;
    }
    vstring_catn(cl->in, buf, (size_t) n);
    while ((nl = memchr(STR(cl->in), '\n', LEN(cl->in))) != NULL) {
        VSTRING *line = vstring_alloc(100);
        VSTRING *out = vstring_alloc(100);
        size_t  used = (size_t) (nl - STR(cl->in)) + 1;

        vstring_setn(line, STR(cl->in), used - 1);
        vstring_chomp(line);
        memmove(STR(cl->in), STR(cl->in) + used, LEN(cl->in) - used);
        vstring_truncate(cl->in, LEN(cl->in) - used);
        if (strcmp(STR(line), "quit") == 0) {
            (void) mechod_reply(fd, "221 bye\r\n");
            vstring_free(&line);
            vstring_free(&out);
            mechod_close(cl);
            return;
        }
        vstring_fmt(out, "250 %s\r\n", STR(line));
        vstring_free(&line);
        if (mechod_reply(fd, STR(out)) < 0) {
            vstring_free(&out);
            mechod_close(cl);
            return;
        }
        vstring_free(&out);
    }
    if (LEN(cl->in) > 1000)
        mechod_close(cl);
}

/* mechod_connect - a new client */
static void mechod_connect(int fd, const char *service, char **argv)
{
    MECHOD_CLIENT *cl = mycalloc(1, sizeof(*cl));
    VSTRING *greet = vstring_alloc(100);
    const char *g = config_lookup("mechod_greeting");

    (void) service, (void) argv;
    cl->fd = fd;
    cl->in = vstring_alloc(100);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    vstring_fmt(greet, "220 %s pid=%ld clients=%d\r\n", g && *g ? g : var_myhostname,
                (long) getpid(), multi_server_client_count());
    (void) mechod_reply(fd, STR(greet));
    vstring_free(&greet);
    event_enable_read(fd, mechod_read, cl);
}

/* mechod_pre_init - the client limit from the configuration */
static void mechod_pre_init(const char *service, char **argv)
{
    const char *lim = config_lookup("mechod_client_limit");

    (void) service, (void) argv;
    if (lim && *lim)
        mechod_opts.client_limit = atoi(lim);
}

/* main - the multi-server skeleton does the rest */
int main(int argc, char **argv)
{
    mechod_opts.pre_init = mechod_pre_init;
    multi_server_main(argc, argv, mechod_connect, &mechod_opts);
}
