/* mkman_maincf - generate the main.cf(5) manual page from the registry.
 *
 * Usage: mkman_maincf template > main.cf.5
 *
 * Copies the hand-written template (man/main.cf.5.in) to standard output
 * and replaces the line "@PARAMETERS@" with one .TP entry per parameter
 * of lib/params.def, in registry order: name, type, default as
 * `postconf -d` prints it (or a note for values computed at run time),
 * bounds for numbers, and the one-line description. "@VERSION@" anywhere
 * in the template becomes the Posthorn version.
 *
 * The generated page is committed as man/main.cf.5 (so a source tree
 * has a readable page) and rebuilt into build/man/ by make; the test
 * suite fails when the two differ, so the page never drifts from the
 * registry.
 *
 * Limits: template lines are at most 4,095 bytes. Exit 1 when the
 * template cannot be read or has no "@PARAMETERS@" line.
 */
#include "sys_defs.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "vstring.h"

/* mkman_quote - text as troff input: backslashes escaped, no control
 * character at the start of the line, minus signs as \- */
static void mkman_quote(VSTRING *out, const char *text)
{
    vstring_truncate(out, 0);
    if (*text == '.' || *text == '\'')
        vstring_cat(out, "\\&");
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            vstring_cat(out, "\\e");
        else if (*p == '-')
            vstring_cat(out, "\\-");
        else
            vstring_addch(out, *p);
    }
}

/* mkman_type - the type as a reader knows it */
static const char *mkman_type(enum param_type type)
{
    switch (type) {
    case PT_STR:
        return "text";
    case PT_LIST:
        return "list";
    case PT_INT:
        return "number";
    case PT_BOOL:
        return "yes or no";
    case PT_TIME:
        return "time";
    case PT_SIZE:
        return "size in bytes";
    }
    return "text";
}

/* mkman_params - one .TP entry per registry parameter */
static void mkman_params(void)
{
    VSTRING *q = vstring_alloc(200);

    for (size_t i = 0; i < param_count; i++) {
        const PARAM_DEF *p = &param_table[i];

        printf(".TP\n.B %s\n", p->name);
        printf("Type: %s.", mkman_type(p->type));
        if (strcmp(p->defval, "@computed") == 0) {
            printf(" Default: computed at run time.\n");
        } else if (*p->defval == 0) {
            printf(" Default: empty.\n");
        } else {
            mkman_quote(q, p->defval);
            printf(" Default:\n.RB \"\" \"%s\" .\n", STR(q));
        }
        if (p->type == PT_INT || p->type == PT_TIME || p->type == PT_SIZE) {
            if (p->min != 0 || p->max != 0)
                printf("Range: %ld to %ld%s.\n", p->min, p->max,
                       p->type == PT_TIME ? " seconds" : "");
        }
        printf(".br\n");
        mkman_quote(q, p->desc);
        printf("%s\n", STR(q));
    }
    vstring_free(&q);
}

/* main - copy the template, expanding the markers */
int     main(int argc, char **argv)
{
    char    line[4096];
    FILE   *fp;
    bool    done = false;

    if (argc != 2) {
        fprintf(stderr, "usage: mkman_maincf template\n");
        return 2;
    }
    if ((fp = fopen(argv[1], "r")) == NULL) {
        perror(argv[1]);
        return 1;
    }
    while (fgets(line, sizeof(line), fp)) {
        char   *v;

        if (strcmp(line, "@PARAMETERS@\n") == 0) {
            mkman_params();
            done = true;
            continue;
        }
        while ((v = strstr(line, "@VERSION@")) != NULL) {
            *v = 0;
            fputs(line, stdout);
            fputs(POSTHORN_VERSION, stdout);
            memmove(line, v + 9, strlen(v + 9) + 1);
        }
        fputs(line, stdout);
    }
    fclose(fp);
    if (!done) {
        fprintf(stderr, "mkman_maincf: %s: no @PARAMETERS@ line\n", argv[1]);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
