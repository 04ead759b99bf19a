/* fuzz_auth_proto - the Dovecot auth protocol parsers over arbitrary bytes.
 *
 * The input is cut into lines; each goes through auth_proto_split, and
 * AUTH lines through auth_proto_parse_auth; the argument checks of the
 * other commands (auth/ cannot be linked here, but its dispatchers only
 * use these lib/ calls) are applied as auth_master_conn.c and
 * auth_client_conn.c do: USER/REQUEST ids, REQUEST's client pid, client
 * id and cookie, XREQUEST's pid, id and cookie, CPID, CONT/CANCEL ids,
 * service=/rip=/lip= lookups. auth_proto_parse_id and
 * auth_client_cookie_ok are checked against reference definitions; every argument is also tried
 * as base64 (as resp= and CONT data are) and as a %-variable template.
 * Split arguments are escaped again and must split back to themselves.
 * The whole input is then parsed as a passwd-file. Password hashing is
 * left out on purpose: crypt(3) with an attacker-chosen cost is slow by
 * design, and stored hashes come from the administrator.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "auth_client.h"
#include "auth_proto.h"
#include "auth_var.h"
#include "base64_code.h"
#include "msg.h"
#include "passwd_file.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_id - auth_proto_parse_id against its definition: 1 to 10
 * decimal digits, value 1..4294967295 */
static bool fuzz_id(const char *str, unsigned *id_r)
{
    unsigned long long val = 0;
    size_t  len = strlen(str);
    unsigned id = 0;
    int     r = auth_proto_parse_id(str, &id);
    bool    want = len >= 1 && len <= 10 && strspn(str, "0123456789") == len;

    if (want) {
	for (const char *cp = str; *cp; cp++)
	    val = val * 10 + (unsigned long long) (*cp - '0');
	want = val >= 1 && val <= 4294967295ULL;
    }
    if ((r == 0) != want || (r == 0 && id != val))
	abort();
    if (id_r)
	*id_r = id;
    return r == 0;
}

/* fuzz_cookie - auth_client_cookie_ok against its definition */
static bool fuzz_cookie(const char *str)
{
    bool    want = strlen(str) == 32;

    for (const char *cp = str; want && *cp; cp++)
	want = isxdigit((unsigned char) *cp) != 0;
    if (auth_client_cookie_ok(str) != want)
	abort();
    return want;
}

/* fuzz_optional - service=/rip=/lip= as the auth service reads them */
static void fuzz_optional(const ARGV *args, int from)
{
    const char *v;

    (void) auth_proto_find(args, from, "service");
    if ((v = auth_proto_find(args, from, "rip")) != NULL)
	(void) auth_proto_valid_ip(v);
    if ((v = auth_proto_find(args, from, "lip")) != NULL)
	(void) auth_proto_valid_ip(v);
}

/* fuzz_command - the per-command argument checks of auth/ */
static void fuzz_command(const ARGV *args)
{
    const char *cmd = args->argv[0];
    unsigned id, pid, auth_id;

    if (strcmp(cmd, "VERSION") == 0) {
	(void) (args->argc >= 3 && strcmp(args->argv[1], "1") == 0);
    } else if (strcmp(cmd, "CPID") == 0) {
	if (args->argc >= 2)
	    (void) fuzz_id(args->argv[1], NULL);
    } else if (strcmp(cmd, "CONT") == 0 || strcmp(cmd, "CANCEL") == 0) {
	if (args->argc >= 2)
	    (void) fuzz_id(args->argv[1], &id);
    } else if (strcmp(cmd, "USER") == 0 || strcmp(cmd, "PASS") == 0 || strcmp(cmd, "LIST") == 0) {
	if (args->argc >= 2 && fuzz_id(args->argv[1], &id) && args->argc >= 3)
	    fuzz_optional(args, 3);
    } else if (strcmp(cmd, "REQUEST") == 0) {
	if (args->argc >= 5 && fuzz_id(args->argv[1], &id) && fuzz_id(args->argv[2], &pid)
	    && fuzz_id(args->argv[3], &auth_id))
	    (void) fuzz_cookie(args->argv[4]);
    } else if (strcmp(cmd, "XREQUEST") == 0) {
	if (args->argc >= 4 && fuzz_id(args->argv[1], &pid) && fuzz_id(args->argv[2], &auth_id))
	    (void) fuzz_cookie(args->argv[3]);
    } else if (strcmp(cmd, "XUSER") == 0) {
	fuzz_optional(args, 2);
    }
    for (int i = 1; i < args->argc; i++) {	/* every argument as id and cookie */
	(void) fuzz_id(args->argv[i], NULL);
	(void) fuzz_cookie(args->argv[i]);
    }
}

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    const char *text = (const char *) data;
    ARGV *args = argv_alloc(8);
    ARGV *again = argv_alloc(8);
    ARGV *warnings = argv_alloc(2);
    VSTRING *buf = vstring_alloc(100);
    AUTH_VARS vars = {.user = "user@example.com", .service = "smtp", .rip = "127.0.0.1"};
    AUTH_PROTO_AUTH req;
    PASSWD_FILE *pf;
    const char *err;
    size_t pos = 0;

    if (!init) {
        msg_init("fuzz_auth_proto", MSG_TO_STDERR);
        init = true;
    }
    while (pos < size) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t len = nl ? (size_t) (nl - (text + pos)) : size - pos;

        if (auth_proto_split(text + pos, len, args, &err) == 0) {
            if (memchr(text + pos, 0, len) != NULL)
                abort();			/* a NUL byte, escaped or not, is refused */
            if (args->argc > 0 && strcmp(args->argv[0], "AUTH") == 0)
                (void) auth_proto_parse_auth(args, &req, &err);
            if (args->argc > 0)
                fuzz_command(args);
            vstring_reset(buf);
            for (int i = 0; i < args->argc; i++) {
                if (i > 0)
                    vstring_addch(buf, '\t');
                auth_proto_escape(buf, args->argv[i]);
            }
            if (auth_proto_split(STR(buf), LEN(buf), again, &err) != 0 || again->argc != args->argc)
                abort();
            for (int i = 0; i < args->argc; i++)
                if (strcmp(args->argv[i], again->argv[i]) != 0)
                    abort();
            for (int i = 0; i < args->argc; i++) {
                (void) base64_decode(buf, args->argv[i], strlen(args->argv[i]));
                vstring_reset(buf);
                (void) auth_var_expand(buf, args->argv[i], &vars, &err);
            }
        }
        pos += len + 1;
    }
    pf = passwd_file_parse("fuzz", text, size, warnings);
    passwd_file_free(&pf);
    argv_free(&args);
    argv_free(&again);
    argv_free(&warnings);
    vstring_free(&buf);
    return 0;
}
