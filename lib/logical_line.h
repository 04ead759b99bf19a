/* logical_line.h - the main.cf/master.cf logical-line reader.
 *
 * Both configuration files share one line syntax: a line that starts with
 * white space continues the logical line before it (joined with one
 * space), blank lines and lines whose first non-blank is '#' are skipped,
 * trailing white space is dropped. Logical lines are handed to a callback
 * with the number of their first physical line.
 *
 * Errors (each becomes a message through the caller's error callback, so
 * each file keeps its own message shapes): a read error, a NUL byte, a
 * physical or logical line longer than max_line bytes, a continuation
 * line before any logical line. A callback error stops the read.
 */
#ifndef LOGICAL_LINE_H
#define LOGICAL_LINE_H

#include "sys_defs.h"
#include <stdio.h>

#include "vstring.h"

typedef enum logical_line_err {
    LOGICAL_LINE_ERR_READ,		/* errno is set */
    LOGICAL_LINE_ERR_NUL,		/* NUL byte in a physical line */
    LOGICAL_LINE_ERR_LONG,		/* physical line over max_line */
    LOGICAL_LINE_ERR_LOGICAL_LONG,	/* joined line over max_line */
    LOGICAL_LINE_ERR_CONT_FIRST,	/* continuation before any line */
} LOGICAL_LINE_ERR;

typedef struct logical_line_ops {
    size_t  max_line;
    /* line - one logical line; 0, or -1 with *error_r */
    int     (*line) (VSTRING *lline, int lstart, void *context, const char **error_r);

    /*
     * error - the message for a syntax or read error at line lineno. text
     * and len are what the broken line belongs to: the logical line it
     * continues, or the physical line itself (ERR_NUL, ERR_LONG), the
     * logical line (ERR_LOGICAL_LONG, lineno is its first line); NULL for
     * ERR_READ and ERR_CONT_FIRST.
     */
    const char *(*error) (LOGICAL_LINE_ERR err, int lineno, const char *text,
			              size_t len, void *context);
} LOGICAL_LINE_OPS;

/* logical_line_read - read fp to the end; 0, or -1 with *error_r */
int     logical_line_read(FILE *fp, const LOGICAL_LINE_OPS *ops, void *context,
			          const char **error_r);

#endif
