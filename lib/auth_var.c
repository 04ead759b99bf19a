/* auth_var - expand Dovecot-style %-variables (see auth_var.h).
 *
 * Contract: expansion appends to the caller's VSTRING and reads the
 * template only; missing values (NULL) expand to the empty string.
 * Limits: a template is at most as long as a main.cf value; the output
 * obeys the VSTRING's limit.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <string.h>

#include "auth_var.h"

/* auth_var_value - the bytes of one variable; false when unknown */
static bool auth_var_value(const char *name, size_t len, const AUTH_VARS *v,
                           const char **val_r, size_t *len_r)
{
    const char *user = v->user ? v->user : "";
    const char *at = strrchr(user, '@');
    const char *val = NULL;
    size_t vlen = (size_t) -1;

#define IS(s) (len == strlen(s) && strncmp(name, s, len) == 0)
    if (IS("u") || IS("user")) {
        val = user;
    } else if (IS("n") || IS("username")) {
        val = user;
        vlen = at ? (size_t) (at - user) : strlen(user);
    } else if (IS("d") || IS("domain")) {
        val = at ? at + 1 : "";
    } else if (IS("s") || IS("service")) {
        val = v->service;
    } else if (IS("r") || IS("rip")) {
        val = v->rip;
    } else if (IS("l") || IS("lip")) {
        val = v->lip;
    } else if (IS("h") || IS("home")) {
        val = v->home;
    } else {
        return false;
    }
#undef IS
    if (val == NULL)
        val = "";
    *val_r = val;
    *len_r = vlen == (size_t) -1 ? strlen(val) : vlen;
    return true;
}

/* auth_var_expand - append the expansion of tmpl */
int auth_var_expand(VSTRING *out, const char *tmpl, const AUTH_VARS *vars,
                    const char **error_r)
{
    for (const char *cp = tmpl; *cp; cp++) {
        int fold = 0;
        const char *name, *val;
        size_t nlen, vlen;

        if (*cp != '%') {
            vstring_addch(out, *cp);
            continue;
        }
        cp++;
        if (*cp == '%') {
            vstring_addch(out, '%');
            continue;
        }
        while (*cp == 'L' || *cp == 'U')
            fold = *cp++;
        if (*cp == '{') {
            const char *end = strchr(cp, '}');

            if (end == NULL) {
                *error_r = "unterminated %{ in template";
                return -1;
            }
            name = cp + 1;
            nlen = (size_t) (end - name);
            cp = end;
        } else if (*cp == 0) {
            *error_r = "template ends in '%'";
            return -1;
        } else {
            name = cp;
            nlen = 1;
        }
        if (!auth_var_value(name, nlen, vars, &val, &vlen)) {
            *error_r = "unknown %variable in template";
            return -1;
        }
        for (size_t i = 0; i < vlen; i++) {
            int ch = (unsigned char) val[i];

            vstring_addch(out, fold == 'L' ? tolower(ch) : fold == 'U' ? toupper(ch) : ch);
        }
    }
    return 0;
}
