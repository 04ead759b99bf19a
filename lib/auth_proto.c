/* auth_proto - Dovecot authentication protocol line syntax (auth_proto.h).
 *
 * Contract: pure functions over caller buffers; the parsed AUTH request
 * points into the ARGV it came from. Limits: AUTH_PROTO_MAX_ARGS
 * arguments per line; the caller bounds the line length.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "auth_proto.h"

/* auth_proto_split - split and unescape one line */
int auth_proto_split(const char *line, size_t len, ARGV *args, const char **error_r)
{
    VSTRING *arg = vstring_alloc(64);
    int ret = 0;

    argv_truncate(args, 0);
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == '\t') {
            if (args->argc >= AUTH_PROTO_MAX_ARGS) {
                *error_r = "too many arguments";
                ret = -1;
                break;
            }
            argv_addn(args, STR(arg), LEN(arg));
            vstring_reset(arg);
            continue;
        }
        if (line[i] == 0) {
            *error_r = "NUL byte in line";
            ret = -1;
            break;
        }
        if (line[i] == '\001') {
            if (++i == len) {
                *error_r = "line ends in an escape";
                ret = -1;
                break;
            }
            switch (line[i]) {
            case 0:				/* \001 NUL: a raw NUL all the same */
                *error_r = "NUL byte in line";
                ret = -1;
                break;
            case '0':
                *error_r = "escaped NUL in argument";
                ret = -1;
                break;
            case '1':
                vstring_addch(arg, '\001');
                break;
            case 't':
                vstring_addch(arg, '\t');
                break;
            case 'r':
                vstring_addch(arg, '\r');
                break;
            case 'n':
                vstring_addch(arg, '\n');
                break;
            default:
                vstring_addch(arg, line[i]);
                break;
            }
            if (ret < 0)
                break;
            continue;
        }
        vstring_addch(arg, line[i]);
    }
    vstring_wipe(arg);
    vstring_free(&arg);
    return ret;
}

/* auth_proto_escape - append tab-escaped text */
VSTRING *auth_proto_escape(VSTRING *out, const char *str)
{
    for (const char *cp = str; *cp; cp++) {
        switch (*cp) {
        case '\001':
            vstring_cat(out, "\0011");
            break;
        case '\t':
            vstring_cat(out, "\001t");
            break;
        case '\r':
            vstring_cat(out, "\001r");
            break;
        case '\n':
            vstring_cat(out, "\001n");
            break;
        default:
            vstring_addch(out, *cp);
        }
    }
    return out;
}

/* auth_proto_parse_id - decimal request id */
int auth_proto_parse_id(const char *str, unsigned *id_r)
{
    unsigned long val = 0;

    if (*str == 0 || strlen(str) > 10)
        return -1;
    for (const char *cp = str; *cp; cp++) {
        if (*cp < '0' || *cp > '9')
            return -1;
        val = val * 10 + (unsigned long) (*cp - '0');
    }
    if (val == 0 || val > 4294967295UL)
        return -1;
    *id_r = (unsigned) val;
    return 0;
}

/* auth_proto_find - value of an optional argument */
const char *auth_proto_find(const ARGV *args, int from, const char *name)
{
    size_t nlen = strlen(name);

    for (int i = from; i < args->argc; i++) {
        const char *a = args->argv[i];

        if (strncmp(a, name, nlen) == 0) {
            if (a[nlen] == '=')
                return a + nlen + 1;
            if (a[nlen] == 0)
                return "";
        }
    }
    return NULL;
}

/* auth_proto_valid_ip - IPv4 or IPv6 literal */
bool auth_proto_valid_ip(const char *str)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, str, buf) == 1 || inet_pton(AF_INET6, str, buf) == 1;
}

/* auth_proto_parse_auth - one AUTH request */
int auth_proto_parse_auth(const ARGV *args, AUTH_PROTO_AUTH *req, const char **error_r)
{
    memset(req, 0, sizeof(*req));
    if (args->argc < 3 || strcmp(args->argv[0], "AUTH") != 0) {
        *error_r = "AUTH needs an id and a mechanism";
        return -1;
    }
    if (auth_proto_parse_id(args->argv[1], &req->id) < 0) {
        *error_r = "bad request id";
        return -1;
    }
    req->mech = args->argv[2];
    if (*req->mech == 0) {
        *error_r = "empty mechanism name";
        return -1;
    }
    for (int i = 3; i < args->argc; i++) {
        const char *a = args->argv[i];

        if (strncmp(a, "service=", 8) == 0)
            req->service = a + 8;
        else if (strncmp(a, "resp=", 5) == 0)
            req->resp = a + 5;
        else if (strncmp(a, "rip=", 4) == 0)
            req->rip = a + 4;
        else if (strncmp(a, "lip=", 4) == 0)
            req->lip = a + 4;
        else if (strcmp(a, "secured") == 0 || strncmp(a, "secured=", 8) == 0)
            req->secured = true;
        else if (strcmp(a, "nologin") == 0)
            req->nologin = true;
        else if (strcmp(a, "no-penalty") == 0)
            req->no_penalty = true;
    }
    if (req->rip && *req->rip && !auth_proto_valid_ip(req->rip)) {
        *error_r = "rip is not an IP address";
        return -1;
    }
    if (req->lip && *req->lip && !auth_proto_valid_ip(req->lip)) {
        *error_r = "lip is not an IP address";
        return -1;
    }
    if (req->rip && *req->rip == 0)
        req->rip = NULL;
    if (req->lip && *req->lip == 0)
        req->lip = NULL;
    return 0;
}
