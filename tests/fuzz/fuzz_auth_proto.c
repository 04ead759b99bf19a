/* fuzz_auth_proto - the Dovecot auth protocol parsers over arbitrary bytes.
 *
 * The input is cut into lines; each goes through auth_proto_split, and
 * AUTH lines through auth_proto_parse_auth; every argument is also tried
 * as base64 (as resp= and CONT data are) and as a %-variable template.
 * Split arguments are escaped again and must split back to themselves.
 * The whole input is then parsed as a passwd-file. Password hashing is
 * left out on purpose: crypt(3) with an attacker-chosen cost is slow by
 * design, and stored hashes come from the administrator.
 */
#include "sys_defs.h"

#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "auth_proto.h"
#include "auth_var.h"
#include "base64_code.h"
#include "msg.h"
#include "passwd_file.h"
#include "vstring.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
            if (args->argc > 0 && strcmp(args->argv[0], "AUTH") == 0)
                (void) auth_proto_parse_auth(args, &req, &err);
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
