/* authcli - test-only command line driver of lib/auth_client.c.
 *
 *   authcli auth SOCKET MECH USER PASSWORD [RIP [secured]]
 *       prints "MECHS a b c", then "OK user", "FAIL reason [temp]" or
 *       "ERROR text"; exit 0 / 1 / 2. MECH is PLAIN or LOGIN.
 *   authcli user SOCKET NAME
 *       prints "USER name uid gid home [extra...]", "NOTFOUND" or
 *       "ERROR text"; exit 0 / 1 / 2.
 *   authcli pw [-s SCHEME] [-p PASSWORD] [-t HASH]
 *       auth_pw_command, i.e. what "posthorn pw" runs.
 * Built only under tests/: nothing here ships.
 */
#include "sys_defs.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "auth_client.h"
#include "auth_pw.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

/* authcli_auth - one login */
static int authcli_auth(char **argv, int argc)
{
    AUTH_CLIENT_PARAMS params = {.service = "smtp"};
    VSTRING *data = vstring_alloc(100);
    const char *err;
    AUTH_CLIENT *ac;
    bool temp;
    int r, step = 0;
    char *joined;

    if (argc > 5)
        params.rip = argv[5];
    if (argc > 6 && strcmp(argv[6], "secured") == 0)
        params.secured = true;
    if ((ac = auth_client_connect(argv[1], 10, &err)) == NULL) {
        printf("ERROR %s\n", err);
        vstring_free(&data);
        return 2;
    }
    joined = argv_join(auth_client_mechs(ac), " ");
    printf("MECHS %s\n", joined);
    myfree(joined);
    if (strcasecmp(argv[2], "PLAIN") == 0) {
        r = auth_client_plain(ac, &params, argv[3], argv[4], data, &temp, &err);
    } else {
        if (auth_client_begin(ac, argv[2], &params, NULL, 0, &err) < 0) {
            printf("ERROR %s\n", err);
            auth_client_free(&ac);
            vstring_free(&data);
            return 2;
        }
        while ((r = auth_client_reply(ac, data, &temp, &err)) == AUTH_CLIENT_CONT) {
            const char *ans = step++ == 0 ? argv[3] : argv[4];

            if (auth_client_continue(ac, ans, strlen(ans), &err) < 0) {
                r = -1;
                break;
            }
        }
    }
    if (r == AUTH_CLIENT_OK)
        printf("OK %s\n", STR(data));
    else if (r == AUTH_CLIENT_FAIL)
        printf("FAIL %s%s\n", STR(data), temp ? " temp" : "");
    else
        printf("ERROR %s\n", err);
    auth_client_free(&ac);
    vstring_free(&data);
    return r == AUTH_CLIENT_OK ? 0 : r == AUTH_CLIENT_FAIL ? 1 : 2;
}

/* authcli_user - one userdb lookup */
static int authcli_user(char **argv)
{
    AUTH_CLIENT_USER *u = auth_client_user_alloc();
    const char *err;
    int r = auth_client_userdb(argv[1], argv[2], "lmtp", 10, u, &err);

    if (r > 0) {
        char *extra = argv_join(u->extra, " ");

        printf("USER %s %ld %ld %s%s%s\n", STR(u->user), u->uid, u->gid, STR(u->home),
               *extra ? " " : "", extra);
        myfree(extra);
    } else if (r == 0) {
        printf("NOTFOUND\n");
    } else {
        printf("ERROR %s\n", err);
    }
    auth_client_user_free(&u);
    return r > 0 ? 0 : r == 0 ? 1 : 2;
}

/* main - dispatch the subcommand */
int main(int argc, char **argv)
{
    msg_init("authcli", MSG_TO_STDERR);
    if (argc >= 6 && strcmp(argv[1], "auth") == 0)
        return authcli_auth(argv + 1, argc - 1);
    if (argc == 4 && strcmp(argv[1], "user") == 0)
        return authcli_user(argv + 1);
    if (argc >= 2 && strcmp(argv[1], "pw") == 0)
        return auth_pw_command(argc - 1, argv + 1);
    fprintf(stderr, "usage: authcli auth SOCKET MECH USER PASSWORD [RIP [secured]]\n"
            "       authcli user SOCKET NAME\n");
    return 2;
}
