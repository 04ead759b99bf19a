/* logical_line - the main.cf/master.cf logical-line reader.
 *
 * Contract: see logical_line.h. Physical lines are read with getc() into
 * a bounded VSTRING; a NUL byte or an overflow ends the read at that line
 * with an error, so memory stays bounded by max_line.
 *
 * Limits: lines are bytes (no charset handling); a CR before the newline
 * is trailing white space and dropped.
 */
#include "sys_defs.h"

#include <ctype.h>

#include "logical_line.h"

/* logical_line_read - split fp into logical lines for ops->line */
int     logical_line_read(FILE *fp, const LOGICAL_LINE_OPS *ops, void *context,
			          const char **error_r)
{
    VSTRING *phys = vstring_alloc(256);
    VSTRING *lline = vstring_alloc(256);
    int     lineno = 0, lstart = 0, ch = 0, ret = -1;
    bool    have = false;

    vstring_set_limit(phys, ops->max_line);
    vstring_set_limit(lline, ops->max_line);
    while (ch != EOF) {
	bool    nul = false;
	const char *cp;
	size_t  len, skip = 0;

	vstring_reset(phys);
	while ((ch = getc(fp)) != EOF && ch != '\n') {
	    if (ch == 0)
		nul = true;
	    vstring_addch(phys, ch);
	    if (phys->overflow)
		break;
	}
	if (ch == EOF && LEN(phys) == 0 && !phys->overflow) {
	    if (ferror(fp)) {
		*error_r = ops->error(LOGICAL_LINE_ERR_READ, lineno, NULL, 0, context);
		goto out;
	    }
	    break;
	}
	lineno++;
	cp = STR(phys);
	len = LEN(phys);
	if (nul || phys->overflow) {
	    bool    cont = have && isspace((unsigned char) cp[0]);

	    *error_r = ops->error(nul ? LOGICAL_LINE_ERR_NUL : LOGICAL_LINE_ERR_LONG, lineno,
				  cont ? STR(lline) : cp, cont ? LEN(lline) : len, context);
	    goto out;
	}
	while (len > 0 && isspace((unsigned char) cp[len - 1]))
	    len--;
	while (skip < len && isspace((unsigned char) cp[skip]))
	    skip++;
	if (skip == len || cp[skip] == '#')
	    continue;				/* blank or comment line */
	if (skip > 0) {				/* continuation line */
	    if (!have) {
		*error_r = ops->error(LOGICAL_LINE_ERR_CONT_FIRST, lineno, NULL, 0, context);
		goto out;
	    }
	    vstring_addch(lline, ' ');
	    vstring_catn(lline, cp + skip, len - skip);
	    if (lline->overflow) {
		*error_r = ops->error(LOGICAL_LINE_ERR_LOGICAL_LONG, lstart,
				      STR(lline), LEN(lline), context);
		goto out;
	    }
	    continue;
	}
	if (have && ops->line(lline, lstart, context, error_r) < 0)
	    goto out;
	vstring_setn(lline, cp, len);
	lstart = lineno;
	have = true;
    }
    if (have && ops->line(lline, lstart, context, error_r) < 0)
	goto out;
    ret = 0;
out:
    vstring_free(&phys);
    vstring_free(&lline);
    return ret;
}
