/* master_listen - opening the listeners master hands to its children.
 *
 * inet: the service name is [host:]port; port is a number or an
 * /etc/services name (smtp, submission, imap, pop3s, ...). Without a host
 * the addresses come from inet_interfaces ("all", "loopback-only", or a
 * list of addresses/host names) filtered by inet_protocols ("all", "ipv4",
 * "ipv6", "ipv4, ipv6"). An IPv6 wildcard is bound with IPV6_V6ONLY so it
 * sits beside the IPv4 one. unix/pass: a stream socket
 * queue_directory/private|public/NAME (mode 0666; the directory is the
 * gate); unix-dgram: the same as a datagram socket; fifo: a named pipe
 * (mode 0622) opened read-write so it never reads EOF.
 *
 * The listen spec ("inet 127.0.0.1:25,[::1]:25" or "unix /path") is the
 * identity used on reload to keep listeners that did not change.
 * All descriptors are non-blocking and close-on-exec.
 */
#include "sys_defs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"
#include "master.h"

#define MASTER_BACKLOG 128

static VSTRING *master_listen_err;

/* listen_error - format *error_r text */
PH_PRINTF(1, 2) static const char *listen_error(const char *fmt, ...)
{
    va_list ap;

    if (master_listen_err == NULL)
        master_listen_err = vstring_alloc(128);
    vstring_reset(master_listen_err);
    va_start(ap, fmt);
    vstring_vfmt_append(master_listen_err, fmt, ap);
    va_end(ap);
    return STR(master_listen_err);
}

/* listen_protocols - which address families inet_protocols allows */
static void listen_protocols(bool *v4_r, bool *v6_r)
{
    ARGV *av = argv_split_list(var_inet_protocols ? var_inet_protocols : "all");

    *v4_r = *v6_r = false;
    for (int i = 0; i < av->argc; i++) {
        if (strcasecmp(av->argv[i], "all") == 0)
            *v4_r = *v6_r = true;
        else if (strcasecmp(av->argv[i], "ipv4") == 0)
            *v4_r = true;
        else if (strcasecmp(av->argv[i], "ipv6") == 0)
            *v6_r = true;
    }
    argv_free(&av);
    if (*v6_r) {
        /* "all" on a host without IPv6 means IPv4 only, as Postfix does. */
        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
            *v6_r = false;
        else
            close(fd);
    }
}

/* listen_spec_has - whether a space-separated spec holds item as a word */
static bool listen_spec_has(const char *spec, const char *item)
{
    size_t len = strlen(item);

    for (const char *cp = spec; (cp = strstr(cp, item)) != NULL; cp++)
        if (cp > spec && cp[-1] == ' ' && (cp[len] == 0 || cp[len] == ' '))
            return true;
    return false;
}

/* listen_add_host - resolve host into "addr" entries of spec */
static int listen_add_host(VSTRING *spec, const char *host, const char *port,
                           bool v4, bool v6, const char **error_r)
{
    struct addrinfo hints, *res, *ai;
    char addr[INET6_ADDRSTRLEN];
    char *h = mystrdup(host);
    size_t hl = strlen(h);
    int rc, added = 0;

    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        memmove(h, h + 1, hl - 2);
        h[hl - 2] = 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = v4 && v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((rc = getaddrinfo(h, port, &hints, &res)) != 0) {
        *error_r = listen_error("inet_interfaces: host \"%s\": %s", host, gai_strerror(rc));
        myfree(h);
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *) ai->ai_addr)->sin_addr, addr, sizeof(addr));
        else if (ai->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr, addr, sizeof(addr));
        else
            continue;
        VSTRING *one = vstring_alloc(64);

        added++;

        vstring_fmt(one, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", addr, port);
        /* getaddrinfo repeats addresses; keep each once */
        if (!listen_spec_has(STR(spec), STR(one)))
            vstring_fmt_append(spec, " %s", STR(one));
        vstring_free(&one);
    }
    freeaddrinfo(res);
    myfree(h);
    if (added == 0) {
        *error_r = listen_error("inet_interfaces: host \"%s\" has no address allowed by inet_protocols", host);
        return -1;
    }
    return 0;
}

/* master_listen_spec - what an entry listens on, as text */
char   *master_listen_spec(const MASTER_ENTRY *ent, const char **error_r)
{
    VSTRING *spec = vstring_alloc(100);

    if (strcmp(ent->type, "inet") == 0) {
        const char *colon = strrchr(ent->name, ':');
        char   *host = colon ? mystrndup(ent->name, (size_t) (colon - ent->name)) : NULL;
        const char *port = colon ? colon + 1 : ent->name;
        char    portbuf[16];
        bool    v4, v6;
        int     rc = 0;

        if (*port == 0 || strspn(port, "0123456789") != strlen(port)) {
            struct servent *se = getservbyname(port, "tcp");

            if (se == NULL) {
                *error_r = listen_error("%s, line %d: unknown service name \"%s\" (not a port number, not in /etc/services)",
                                        config_master_cf(), ent->line, port);
                myfree(host);
                vstring_free(&spec);
                return NULL;
            }
            snprintf(portbuf, sizeof(portbuf), "%d", ntohs((uint16_t) se->s_port));
        } else {
            long p = strtol(port, NULL, 10);

            if (p < 1 || p > 65535) {
                *error_r = listen_error("%s, line %d: bad port number \"%s\"",
                                        config_master_cf(), ent->line, port);
                myfree(host);
                vstring_free(&spec);
                return NULL;
            }
            snprintf(portbuf, sizeof(portbuf), "%ld", p);
        }
        listen_protocols(&v4, &v6);
        vstring_set(spec, "inet");
        if (host && *host && strcmp(host, "*") != 0) {
            rc = listen_add_host(spec, host, portbuf, v4, v6, error_r);
        } else {
            ARGV *ifs = argv_split_list(var_inet_interfaces ? var_inet_interfaces : "all");

            for (int i = 0; rc == 0 && i < ifs->argc; i++) {
                if (strcasecmp(ifs->argv[i], "all") == 0) {
                    if (v4)
                        vstring_fmt_append(spec, " 0.0.0.0:%s", portbuf);
                    if (v6)
                        vstring_fmt_append(spec, " [::]:%s", portbuf);
                } else if (strcasecmp(ifs->argv[i], "loopback-only") == 0) {
                    if (v4)
                        vstring_fmt_append(spec, " 127.0.0.1:%s", portbuf);
                    if (v6)
                        vstring_fmt_append(spec, " [::1]:%s", portbuf);
                } else {
                    rc = listen_add_host(spec, ifs->argv[i], portbuf, v4, v6, error_r);
                }
            }
            if (ifs->argc == 0 && rc == 0) {
                *error_r = listen_error("inet_interfaces is empty");
                rc = -1;
            }
            argv_free(&ifs);
        }
        myfree(host);
        if (rc < 0) {
            vstring_free(&spec);
            return NULL;
        }
        if (strcmp(STR(spec), "inet") == 0) {
            *error_r = listen_error("service %s: no address to listen on (inet_interfaces, inet_protocols)", ent->name);
            vstring_free(&spec);
            return NULL;
        }
    } else if (strcmp(ent->type, "unix") == 0 || strcmp(ent->type, "unix-dgram") == 0
               || strcmp(ent->type, "fifo") == 0 || strcmp(ent->type, "pass") == 0) {
        if (ent->name[0] == 0 || strstr(ent->name, "..") || ent->name[0] == '/') {
            *error_r = listen_error("%s, line %d: bad %s service name \"%s\"",
                                    config_master_cf(), ent->line, ent->type, ent->name);
            vstring_free(&spec);
            return NULL;
        }
        vstring_fmt(spec, "%s %s/%s/%s", ent->type, var_queue_directory,
                    ent->private_ ? "private" : "public", ent->name);
    } else {
        *error_r = listen_error("%s, line %d: unknown service type \"%s\"",
                                config_master_cf(), ent->line, ent->type);
        vstring_free(&spec);
        return NULL;
    }
    return vstring_export(&spec);
}

/* listen_inet - one TCP listener on "addr:port" or "[addr6]:port" */
static int listen_inet(const char *where, const char **error_r)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const char *colon = strrchr(where, ':');
    char   *host = mystrndup(where, (size_t) (colon - where));
    int     port = atoi(colon + 1);
    int     on = 1, fd;

    memset(&ss, 0, sizeof(ss));
    if (host[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;

        host[strlen(host) - 1] = 0;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t) port);
        inet_pton(AF_INET6, host + 1, &s6->sin6_addr);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t) port);
        inet_pton(AF_INET, host, &s4->sin_addr);
        len = sizeof(*s4);
    }
    myfree(host);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error_r = listen_error("socket for %s: %s", where, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, MASTER_BACKLOG) < 0) {
        *error_r = listen_error("bind %s: %s", where, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* listen_local - unix socket or fifo at path */
static int listen_local(const char *type, const char *path, const char **error_r)
{
    struct sockaddr_un sun;
    int     fd;

    if (strcmp(type, "fifo") == 0) {
        struct stat st;

        if (lstat(path, &st) == 0 && !S_ISFIFO(st.st_mode))
            unlink(path);
        if (mkfifo(path, 0622) < 0 && errno != EEXIST) {
            *error_r = listen_error("mkfifo %s: %s", path, strerror(errno));
            return -1;
        }
        chmod(path, 0622);
        if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
            *error_r = listen_error("open fifo %s: %s", path, strerror(errno));
            return -1;
        }
        return fd;
    }
    if (strlen(path) >= sizeof(sun.sun_path)) {
        *error_r = listen_error("socket path too long: %s", path);
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, (strcmp(type, "unix-dgram") == 0 ? SOCK_DGRAM : SOCK_STREAM)
                | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error_r = listen_error("socket: %s", strerror(errno));
        return -1;
    }
    (void) unlink(path);
    if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0
        || (strcmp(type, "unix-dgram") != 0 && listen(fd, MASTER_BACKLOG) < 0)) {
        *error_r = listen_error("bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    chmod(path, 0666);
    return fd;
}

/* master_listen_open - open the listeners of serv->listen_spec */
int master_listen_open(MASTER_SERV *serv, const char **error_r)
{
    ARGV   *av = argv_split(serv->listen_spec, " ");

    serv->listen_fds = mycalloc((size_t) av->argc, sizeof(int));
    serv->listen_count = 0;
    if (strcmp(av->argv[0], "inet") == 0) {
        for (int i = 1; i < av->argc; i++) {
            int fd = listen_inet(av->argv[i], error_r);

            if (fd < 0) {
                master_listen_close(serv, false);
                argv_free(&av);
                return -1;
            }
            serv->listen_fds[serv->listen_count++] = fd;
        }
    } else {
        int fd = listen_local(av->argv[0], av->argv[1], error_r);

        if (fd < 0) {
            argv_free(&av);
            return -1;
        }
        serv->listen_fds[serv->listen_count++] = fd;
        myfree(serv->sock_path);
        serv->sock_path = mystrdup(av->argv[1]);
    }
    argv_free(&av);
    if (master_verbose)
        msg_info("listening: %s", serv->listen_spec);
    return 0;
}

/* master_listen_close - close listeners; remove the socket/fifo file */
void master_listen_close(MASTER_SERV *serv, bool remove_file)
{
    for (int i = 0; i < serv->listen_count; i++)
        close(serv->listen_fds[i]);
    serv->listen_count = 0;
    myfree(serv->listen_fds);
    serv->listen_fds = NULL;
    if (remove_file && serv->sock_path)
        (void) unlink(serv->sock_path);
}
