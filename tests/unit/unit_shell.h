/* unit_shell.h - run a shell command for a unit test (tests that make
 * certificates and the like with the openssl command).
 *
 * unit_shell(dir, fmt, ...) runs "cd DIR && (COMMAND)" with the output
 * thrown away and returns the exit status (255 when it did not exit).
 */
#ifndef UNIT_SHELL_H
#define UNIT_SHELL_H

#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "vstring.h"

static inline int unit_shell(const char *dir, const char *fmt, ...) PH_PRINTF(2, 3);

/* unit_shell - run a command in dir; its exit status */
static inline int unit_shell(const char *dir, const char *fmt, ...)
{
    VSTRING *cmd = vstring_alloc(200);
    va_list ap;
    int     st;

    vstring_fmt(cmd, "cd %s && (", dir);
    va_start(ap, fmt);
    vstring_vfmt_append(cmd, fmt, ap);
    va_end(ap);
    vstring_cat(cmd, ") >/dev/null 2>&1");
    st = system(STR(cmd));
    vstring_free(&cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

#endif
