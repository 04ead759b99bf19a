/* auth_var.h - Dovecot-style %-variables in auth templates.
 *
 * %u user (full), %n user part before '@', %d domain after '@' (empty
 * when none), %s service, %r remote IP, %l local IP, %h home, %% a '%'.
 * Long names %{user} %{username} %{domain} %{service} %{rip} %{lip}
 * %{home}. Modifiers between '%' and the letter: L lower case, U upper
 * case (%Lu, %Ln). An unknown variable or modifier is an error, so a typo
 * in main.cf is reported instead of silently expanding to nothing.
 */
#ifndef AUTH_VAR_H
#define AUTH_VAR_H

#include "sys_defs.h"
#include "vstring.h"

typedef struct auth_vars {
    const char *user;
    const char *service;
    const char *rip;
    const char *lip;
    const char *home;
} AUTH_VARS;

/* auth_var_expand - append the expansion of tmpl to out; 0, or -1 with
 * *error_r (static text) */
int auth_var_expand(VSTRING *out, const char *tmpl, const AUTH_VARS *vars,
                    const char **error_r);

#endif
