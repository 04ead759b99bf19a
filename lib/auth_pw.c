/* auth_pw - "posthorn pw": generate or test a password hash.
 *
 * Contract: see auth_pw.h. Messages go to stderr; the hash to stdout.
 * The password is wiped from memory before returning. Limits: a typed
 * password is at most AUTH_PW_MAX bytes.
 */
#include "sys_defs.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth_pw.h"
#include "config.h"
#include "password_scheme.h"
#include "vstring.h"

#define AUTH_PW_MAX 1024

/* auth_pw_prompt - read one line from the terminal without echo */
static int auth_pw_prompt(const char *prompt, char *buf, size_t size)
{
    FILE *tty = fopen("/dev/tty", "r+");
    FILE *in = tty ? tty : stdin;
    struct termios old, quiet;
    bool restore = false;
    size_t len;

    fputs(prompt, tty ? tty : stderr);
    fflush(tty ? tty : stderr);
    if (isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
        restore = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
    }
    if (fgets(buf, (int) size, in) == NULL)
        buf[0] = 0;
    if (restore) {
        tcsetattr(fileno(in), TCSAFLUSH, &old);
        fputc('\n', tty ? tty : stderr);
    }
    if (tty)
        fclose(tty);
    len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = 0;
    else if (len == size - 1)
        return -1;			/* too long */
    return 0;
}

/* auth_pw_command - the pw subcommand */
int auth_pw_command(int argc, char **argv)
{
    const char *scheme = var_auth_default_password_scheme && *var_auth_default_password_scheme
        ? var_auth_default_password_scheme : "SHA512-CRYPT";
    const char *password = NULL;
    const char *test = NULL;
    char buf1[AUTH_PW_MAX], buf2[AUTH_PW_MAX];
    VSTRING *out = vstring_alloc(128);
    const char *err;
    int ch, ret = 1;

    optind = 1;
    opterr = 0;
    while ((ch = getopt(argc, argv, "s:p:t:")) != -1) {
        switch (ch) {
        case 's':
            scheme = optarg;
            break;
        case 'p':
            password = optarg;
            break;
        case 't':
            test = optarg;
            break;
        default:
            fprintf(stderr, "usage: posthorn pw [-s scheme] [-p password] [-t hash]\n");
            vstring_free(&out);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: posthorn pw [-s scheme] [-p password] [-t hash]\n");
        vstring_free(&out);
        return 2;
    }
    if (password == NULL) {
        if (auth_pw_prompt("Enter new password: ", buf1, sizeof(buf1)) < 0) {
            fprintf(stderr, "posthorn pw: password too long\n");
            goto done;
        }
        if (test == NULL) {
            if (auth_pw_prompt("Retype new password: ", buf2, sizeof(buf2)) < 0
                || strcmp(buf1, buf2) != 0) {
                fprintf(stderr, "posthorn pw: passwords don't match\n");
                goto done;
            }
        }
        if (buf1[0] == 0) {
            fprintf(stderr, "posthorn pw: empty passwords are not allowed\n");
            goto done;
        }
        password = buf1;
    }
    if (test != NULL) {
        int r = password_verify(password, test, scheme, &err);

        if (r == PASSWORD_ERROR)
            fprintf(stderr, "posthorn pw: %s\n", err);
        else
            printf("%s (%s)\n", test, r == PASSWORD_MATCH ? "verified" : "mismatch");
        ret = r == PASSWORD_MATCH ? 0 : 1;
        goto done;
    }
    if (password_generate(out, password, scheme, &err) < 0) {
        fprintf(stderr, "posthorn pw: %s: %s\n", scheme, err);
        goto done;
    }
    printf("%s\n", STR(out));
    ret = 0;
done:
    explicit_bzero(buf1, sizeof(buf1));
    explicit_bzero(buf2, sizeof(buf2));
    vstring_wipe(out);
    vstring_free(&out);
    return ret;
}
