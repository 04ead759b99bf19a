/* argv - arrays of strings. */
#include "sys_defs.h"

#include <stdarg.h>
#include <string.h>

#include "argv.h"
#include "mymalloc.h"
#include "msg.h"
#include "vstring.h"

/* argv_alloc - empty array */
ARGV *argv_alloc(int init)
{
    ARGV *ap = mymalloc(sizeof(*ap));

    if (init < 4)
        init = 4;
    ap->size = init;
    ap->argc = 0;
    ap->argv = mycalloc((size_t) init + 1, sizeof(char *));
    return ap;
}

/* argv_free - release */
void argv_free(ARGV **app)
{
    ARGV *ap = *app;

    if (ap == NULL)
        return;
    for (int i = 0; i < ap->argc; i++)
        myfree(ap->argv[i]);
    myfree(ap->argv);
    myfree(ap);
    *app = NULL;
}

/* argv_push - append an owned string */
static void argv_push(ARGV *ap, char *str)
{
    if (ap->argc >= ap->size) {
        if (ap->size > (1 << 28))
            msg_panic("argv: too many elements");
        ap->size *= 2;
        ap->argv = myreallocarray(ap->argv, (size_t) ap->size + 1, sizeof(char *));
    }
    ap->argv[ap->argc++] = str;
    ap->argv[ap->argc] = NULL;
}

/* argv_add - append copies */
void argv_add(ARGV *ap, ...)
{
    va_list va;
    const char *s;

    va_start(va, ap);
    while ((s = va_arg(va, const char *)) != NULL)
        argv_push(ap, mystrdup(s));
    va_end(va);
}

/* argv_addn - append a bounded copy */
void argv_addn(ARGV *ap, const char *str, size_t len)
{
    argv_push(ap, mystrndup(str, len));
}

/* argv_split - split at delimiters */
ARGV *argv_split(const char *str, const char *delim)
{
    ARGV *ap = argv_alloc(4);
    const char *cp = str;

    for (;;) {
        cp += strspn(cp, delim);
        if (*cp == 0)
            break;
        size_t n = strcspn(cp, delim);
        argv_addn(ap, cp, n);
        cp += n;
    }
    return ap;
}

/* argv_split_list - white space and commas */
ARGV *argv_split_list(const char *str)
{
    return argv_split(str, " \t\r\n,");
}

/* argv_truncate - shorten */
void argv_truncate(ARGV *ap, int n)
{
    if (n < 0)
        msg_panic("argv_truncate: bad length %d", n);
    while (ap->argc > n)
        myfree(ap->argv[--ap->argc]);
    ap->argv[ap->argc] = NULL;
}

/* argv_join - concatenate with separator */
char *argv_join(const ARGV *ap, const char *sep)
{
    VSTRING *buf = vstring_alloc(64);

    for (int i = 0; i < ap->argc; i++) {
        if (i)
            vstring_cat(buf, sep);
        vstring_cat(buf, ap->argv[i]);
    }
    return vstring_export(&buf);
}
