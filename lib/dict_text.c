/* dict_text - logical-line reader for text table sources.
 *
 * Contract: see dict_text.h. One physical line of look-ahead decides
 * whether the next line continues the current logical line. Memory is
 * bounded: a logical line longer than DICT_KEY_MAX + DICT_VALUE_MAX + 2
 * is an error, found before more is buffered.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dict.h"
#include "dict_text.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

#define DICT_TEXT_LINE_MAX (DICT_KEY_MAX + DICT_VALUE_MAX + 2)

struct dict_text {
    FILE   *fp;
    bool    own_fp;
    char   *name;
    int     format;
    bool    strict;
    int     lineno;		/* physical lines read */
    VSTRING *phys;		/* look-ahead physical line */
    bool    have_phys;
    int     phys_line;
    bool    eof;
    bool    deferred_err;	/* look-ahead failed; report after this line */
    VSTRING *logical;
    VSTRING *key;
    VSTRING *value;
    VSTRING *err;
};

/* dict_text_fdopen - reader on an open stream */
DICT_TEXT *dict_text_fdopen(FILE *fp, const char *name, int format)
{
    DICT_TEXT *tp = mycalloc(1, sizeof(*tp));

    tp->fp = fp;
    tp->name = mystrdup(name);
    tp->format = format & 0xff;
    tp->strict = (format & DICT_TEXT_STRICT) != 0;
    tp->phys = vstring_alloc(256);
    tp->logical = vstring_alloc(256);
    tp->key = vstring_alloc(64);
    tp->value = vstring_alloc(256);
    tp->err = vstring_alloc(100);
    return tp;
}

/* dict_text_open - reader on a file */
DICT_TEXT *dict_text_open(const char *path, int format, const char **error_r)
{
    static VSTRING *err;
    FILE   *fp;
    DICT_TEXT *tp;

    if ((fp = fopen(path, "re")) == NULL) {
	if (err == NULL)
	    err = vstring_alloc(100);
	vstring_fmt(err, "open %s: %s", path, strerror(errno));
	*error_r = STR(err);
	return NULL;
    }
    tp = dict_text_fdopen(fp, path, format);
    tp->own_fp = true;
    return tp;
}

/* dict_text_name - file name for messages */
const char *dict_text_name(const DICT_TEXT *tp)
{
    return tp->name;
}

/* dict_text_close - release */
void    dict_text_close(DICT_TEXT **tpp)
{
    DICT_TEXT *tp = *tpp;

    if (tp == NULL)
	return;
    *tpp = NULL;
    if (tp->own_fp)
	fclose(tp->fp);
    myfree(tp->name);
    vstring_free(&tp->phys);
    vstring_free(&tp->logical);
    vstring_free(&tp->key);
    vstring_free(&tp->value);
    vstring_free(&tp->err);
    myfree(tp);
}

/* dict_text_fail - format an error at a line */
static int dict_text_fail(DICT_TEXT *tp, int line, const char **error_r, const char *why)
{
    vstring_fmt(tp->err, "%s, line %d: %s", tp->name, line, why);
    *error_r = STR(tp->err);
    return -1;
}

/* dict_text_read_phys - next physical line into tp->phys: 1, 0 at EOF, -1 */
static int dict_text_read_phys(DICT_TEXT *tp, const char **error_r)
{
    int     ch;
    size_t  n = 0;

    vstring_reset(tp->phys);
    for (;;) {
	ch = getc_unlocked(tp->fp);
	if (ch == EOF) {
	    if (ferror(tp->fp)) {
		vstring_fmt(tp->err, "read %s: %s", tp->name, strerror(errno));
		*error_r = STR(tp->err);
		return -1;
	    }
	    if (n == 0)
		return 0;
	    break;
	}
	n++;
	if (ch == '\n')
	    break;
	if (ch == 0)
	    return dict_text_fail(tp, tp->lineno + 1, error_r, "NUL byte in input");
	if (LEN(tp->phys) >= DICT_TEXT_LINE_MAX)
	    return dict_text_fail(tp, tp->lineno + 1, error_r, "line too long");
	vstring_addch(tp->phys, ch);
    }
    tp->lineno++;
    tp->phys_line = tp->lineno;
    if (LEN(tp->phys) > 0 && STR(tp->phys)[LEN(tp->phys) - 1] == '\r')
	vstring_truncate(tp->phys, LEN(tp->phys) - 1);
    return 1;
}

/* dict_text_skippable - blank or comment line */
static bool dict_text_skippable(const char *s)
{
    while (*s == ' ' || *s == '\t')
	s++;
    return *s == 0 || *s == '#';
}

/* dict_text_logical - next logical line into tp->logical: 1, 0, -1 */
static int dict_text_logical(DICT_TEXT *tp, int *line_r, const char **error_r)
{
    int     st;
    const char *s;

    vstring_reset(tp->logical);
    for (;;) {
	if (!tp->have_phys) {
	    if (tp->eof)
		return LEN(tp->logical) > 0;
	    if (tp->deferred_err) {
		*error_r = STR(tp->err);
		return -1;
	    }
	    if ((st = dict_text_read_phys(tp, error_r)) < 0) {
		if (LEN(tp->logical) == 0)
		    return -1;
		tp->deferred_err = true;	/* first hand out what we have */
		return 1;
	    }
	    if (st == 0) {
		tp->eof = true;
		return LEN(tp->logical) > 0;
	    }
	    tp->have_phys = true;
	}
	s = STR(tp->phys);
	if (dict_text_skippable(s)) {
	    tp->have_phys = false;
	    continue;
	}
	if (*s == ' ' || *s == '\t') {
	    while (*s == ' ' || *s == '\t')
		s++;
	    if (LEN(tp->logical) > 0)
		vstring_addch(tp->logical, ' ');
	    else
		*line_r = tp->phys_line;
	    if (LEN(tp->logical) + strlen(s) > DICT_TEXT_LINE_MAX)
		return dict_text_fail(tp, *line_r, error_r, "line too long");
	    vstring_cat(tp->logical, s);
	    tp->have_phys = false;
	    continue;
	}
	if (LEN(tp->logical) > 0)
	    return 1;				/* keep the look-ahead */
	*line_r = tp->phys_line;
	vstring_cat(tp->logical, s);
	tp->have_phys = false;
    }
}

/* dict_text_trim - drop trailing white space */
static void dict_text_trim(VSTRING *vp)
{
    while (LEN(vp) > 0 && isspace((unsigned char) STR(vp)[LEN(vp) - 1]))
	vstring_truncate(vp, LEN(vp) - 1);
}

/* dict_text_split_map - "key whitespace value": 1, 0 (malformed), -1 */
static int dict_text_split_map(DICT_TEXT *tp, int line, const char **error_r)
{
    const char *s = STR(tp->logical);
    const char *e = s;

    while (*e && !isspace((unsigned char) *e))
	e++;
    if ((size_t) (e - s) > DICT_KEY_MAX)
	return dict_text_fail(tp, line, error_r, "key too long");
    vstring_setn(tp->key, s, (size_t) (e - s));
    while (*e && isspace((unsigned char) *e))
	e++;
    vstring_set(tp->value, e);
    dict_text_trim(tp->value);
    if (LEN(tp->value) > DICT_VALUE_MAX)
	return dict_text_fail(tp, line, error_r, "value too long");
    return LEN(tp->value) > 0;
}

/* dict_text_split_alias - "name: value" with an optional quoted name */
static int dict_text_split_alias(DICT_TEXT *tp, int line, const char **error_r)
{
    const char *s = STR(tp->logical);

    vstring_reset(tp->key);
    if (*s == '"') {
	for (s++; *s && *s != '"'; s++) {
	    if (*s == '\\' && s[1])
		s++;
	    vstring_addch(tp->key, *s);
	}
	if (*s != '"')
	    return 0;
	s++;
	while (*s == ' ' || *s == '\t')
	    s++;
	if (*s != ':')
	    return 0;
    } else {
	const char *colon = strchr(s, ':');

	if (colon == NULL)
	    return 0;
	vstring_setn(tp->key, s, (size_t) (colon - s));
	dict_text_trim(tp->key);
	s = colon;
    }
    s++;
    if (LEN(tp->key) > DICT_KEY_MAX)
	return dict_text_fail(tp, line, error_r, "name too long");
    while (*s && isspace((unsigned char) *s))
	s++;
    vstring_set(tp->value, s);
    dict_text_trim(tp->value);
    if (LEN(tp->value) > DICT_VALUE_MAX)
	return dict_text_fail(tp, line, error_r, "value too long");
    return LEN(tp->key) > 0 && LEN(tp->value) > 0;
}

/* dict_text_next - next well-formed entry */
int     dict_text_next(DICT_TEXT *tp, const char **key_r, const char **value_r,
		               int *line_r, const char **error_r)
{
    int     st, line = 0;

    for (;;) {
	if ((st = dict_text_logical(tp, &line, error_r)) <= 0)
	    return st;
	*line_r = line;
	switch (tp->format) {
	case DICT_TEXT_LINES:
	    *key_r = STR(tp->logical);
	    *value_r = NULL;
	    return 1;
	case DICT_TEXT_ALIASES:
	    st = dict_text_split_alias(tp, line, error_r);
	    break;
	default:
	    st = dict_text_split_map(tp, line, error_r);
	    break;
	}
	if (st < 0)
	    return -1;
	if (st > 0) {
	    *key_r = STR(tp->key);
	    *value_r = STR(tp->value);
	    return 1;
	}
	if (tp->format == DICT_TEXT_ALIASES) {
	    if (tp->strict)
		return dict_text_fail(tp, line, error_r, "expected format: name: value");
	    msg_warn("%s, line %d: expected format: name: value", tp->name, line);
	} else {
	    if (tp->strict)
		return dict_text_fail(tp, line, error_r, "expected format: key whitespace value");
	    msg_warn("%s, line %d: expected format: key whitespace value", tp->name, line);
	}
    }
}
