/* auth_proto.h - the Dovecot authentication protocol: line syntax.
 *
 * Shared by the auth service (auth/) and its clients (auth_client.c).
 * A line is "COMMAND TAB arg TAB arg ..." ending in LF; arguments use
 * Dovecot's tab-escaping (\001 followed by 0 NUL, 1 \001, t TAB, r CR,
 * n LF; \001 before anything else stands for that character). Optional
 * arguments are "name=value" or bare booleans; unknown ones are ignored.
 *
 * Client protocol (client -> server): VERSION 1 x, CPID pid,
 *   AUTH id mech [service=S] [resp=B64] [secured] [rip=IP] [lip=IP] ...,
 *   CONT id B64, CANCEL id.
 * Server -> client: VERSION 1 2, MECH name [flags], SPID, CUID, COOKIE,
 *   DONE, then CONT id B64 | OK id user=U | FAIL id [user=U] [reason=R] [temp].
 * Master (userdb) protocol: VERSION 1 x, USER id name [service=S] ...
 *   -> USER id name uid=N gid=N home=H [...] | NOTFOUND id | FAIL id [reason=R].
 *
 * Errors are returned (-1 with *error_r, static text); nothing here
 * aborts on input. Limits: AUTH_PROTO_MAX_LINE bytes per line,
 * AUTH_PROTO_MAX_ARGS arguments.
 */
#ifndef AUTH_PROTO_H
#define AUTH_PROTO_H

#include "sys_defs.h"
#include "argv.h"
#include "vstring.h"

#define AUTH_PROTO_MAJOR 1
#define AUTH_PROTO_MINOR 2
#define AUTH_PROTO_MAX_LINE 16384
#define AUTH_PROTO_MAX_ARGS 64

/* auth_proto_split - split line (len bytes, no LF) at TABs into args,
 * unescaping each; -1 with *error_r for a NUL byte (raw, \001 NUL or
 * \001 0), a dangling escape or too many args */
int auth_proto_split(const char *line, size_t len, ARGV *args, const char **error_r);
/* auth_proto_escape - append str tab-escaped */
VSTRING *auth_proto_escape(VSTRING *out, const char *str);
/* auth_proto_parse_id - a request id: decimal 1..4294967295; 0 or -1 */
int auth_proto_parse_id(const char *str, unsigned *id_r);
/* auth_proto_find - value of optional arg name= among args[from..]
 * ("" for a bare boolean "name"), or NULL */
const char *auth_proto_find(const ARGV *args, int from, const char *name);

/* One AUTH request, pointing into the ARGV it was parsed from. */
typedef struct auth_proto_auth {
    unsigned id;
    const char *mech;
    const char *service;	/* NULL when absent */
    const char *resp;		/* base64 initial response, NULL when absent */
    const char *rip;
    const char *lip;
    bool    secured;
    bool    nologin;
    bool    no_penalty;
} AUTH_PROTO_AUTH;

/* auth_proto_parse_auth - args of an AUTH line (args[0] = "AUTH");
 * rip/lip must be IP addresses; 0 or -1 with *error_r */
int auth_proto_parse_auth(const ARGV *args, AUTH_PROTO_AUTH *req, const char **error_r);

/* auth_proto_valid_ip - true when str is an IPv4 or IPv6 address */
bool auth_proto_valid_ip(const char *str);

#endif
