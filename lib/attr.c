/* attr - typed, named, end-marked text messages between processes.
 *
 * Purpose: the one wire format for every internal socket protocol (queue
 * manager requests, delivery status, auth, master status), and its strict
 * scanner. See attr.h for the format.
 *
 * Contract:
 *  - attr_print() writes "name=value\n" lines and an empty line; names are
 *    checked ([a-z0-9_], 1..ATTR_NAME_MAX: a bad name or NULL value is our
 *    bug, a panic). Values are escaped: '\n' -> %0A, '\\' -> %5C,
 *    '%' -> %25; every other byte but NUL goes as is (CR and 8-bit bytes
 *    included; the scanner keeps a CR before the LF as value data).
 *  - The scanners accept exactly that: a raw NUL or backslash, a '%' not
 *    starting one of the three escapes (hex digits in either case), a name
 *    outside [a-z0-9_], a line without '=', an integer that is not
 *    -?[0-9]+ within the range of long, are errors. So are the structural
 *    problems listed in attr.h. Errors are -1 with a reason in *error_r (a
 *    static buffer, valid until the next call into this module). Reasons
 *    name attributes (always safe: names are validated before they are
 *    quoted) but never echo values.
 *  - After -1 the stream is somewhere inside a message: the caller must
 *    drop the connection, not resynchronise.
 *
 * Limits: ATTR_NAME_MAX, ATTR_VALUE_MAX (decoded bytes), ATTR_MAX_COUNT per
 * message. One line buffer per process, bounded by the encoded maximum.
 * attr_list_scan detects repeated names with a linear scan (at most
 * ATTR_MAX_COUNT^2/2 short comparisons for a hostile message).
 */
#include "sys_defs.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "msg.h"
#include "mymalloc.h"
#include "stream.h"
#include "vstring.h"

/* The longest line we ever have to accept: name, '=', fully escaped value. */
#define ATTR_LINE_MAX (ATTR_NAME_MAX + 1 + 3 * (size_t) ATTR_VALUE_MAX)

static VSTRING *attr_line;              /* the current input line */
static VSTRING *attr_errbuf;            /* reasons for *error_r */

/* attr_error - format a reason; returns -1 for "return attr_error(...)" */
static int PH_PRINTF(2, 3) attr_error(const char **error_r, const char *fmt, ...)
{
    va_list ap;

    if (attr_errbuf == 0) {
        attr_errbuf = vstring_alloc(128);
        vstring_set_limit(attr_errbuf, 512);
    }
    vstring_reset(attr_errbuf);
    va_start(ap, fmt);
    vstring_vfmt_append(attr_errbuf, fmt, ap);
    va_end(ap);
    if (error_r)
        *error_r = STR(attr_errbuf);
    return -1;
}

/* attr_name_ok - [a-z0-9_]{1,ATTR_NAME_MAX} */
static bool attr_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > ATTR_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char    c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* attr_put_value - write a value with the three escapes */
static int attr_put_value(STREAM *sp, const char *value)
{
    const char *run = value;
    const char *cp;

    for (cp = value; *cp; cp++) {
        const char *esc = *cp == '\n' ? "%0A" : *cp == '\\' ? "%5C" : *cp == '%' ? "%25" : 0;

        if (esc == 0)
            continue;
        if ((cp > run && stream_write(sp, run, (size_t) (cp - run)) < 0)
            || stream_write(sp, esc, 3) < 0)
            return -1;
        run = cp + 1;
    }
    return cp > run ? stream_write(sp, run, (size_t) (cp - run)) : 0;
}

/* attr_print - one message from (type, name, value) triples */
int     attr_print(STREAM *sp, ...)
{
    va_list ap;
    int     type;
    int     ret = 0;
    char    num[32];

    va_start(ap, sp);
    while (ret == 0 && (type = va_arg(ap, int)) != ATTR_END) {
        const char *name = va_arg(ap, const char *);

        if (name == 0 || !attr_name_ok(name, strlen(name)))
            msg_panic("attr_print: bad attribute name \"%s\"", name ? name : "(null)");
        if (stream_puts(sp, name) < 0 || stream_write(sp, "=", 1) < 0) {
            ret = -1;
            break;
        }
        switch (type) {
        case ATTR_STR:{
                const char *value = va_arg(ap, const char *);

                if (value == 0)
                    msg_panic("attr_print: null value for \"%s\"", name);
                ret = attr_put_value(sp, value);
                break;
            }
        case ATTR_INT:{
                long    value = va_arg(ap, long);
                int     n = snprintf(num, sizeof(num), "%ld", value);

                ret = stream_write(sp, num, (size_t) n);
                break;
            }
        default:
            msg_panic("attr_print: bad attribute type %d for \"%s\"", type, name);
        }
        if (ret == 0)
            ret = stream_write(sp, "\n", 1);
    }
    va_end(ap);
    if (ret == 0)
        ret = stream_write(sp, "\n", 1);
    return ret;
}

/* attr_hexval - value of a hex digit, or -1 */
static int attr_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* attr_decode - undo the escapes of one value; -1 with a reason */
static int attr_decode(const char *name, const char *src, size_t len, VSTRING *out,
                               const char **error_r)
{
    const char *end = src + len;
    const char *run = src;
    const char *cp;

    vstring_reset(out);
    for (cp = src; cp < end; cp++) {
        if (*cp == 0)
            return attr_error(error_r, "NUL byte in value of attribute \"%s\"", name);
        if (*cp == '\\')
            return attr_error(error_r, "unescaped backslash in value of attribute \"%s\"", name);
        if (*cp != '%')
            continue;
        int     hi = end - cp > 2 ? attr_hexval((unsigned char) cp[1]) : -1;
        int     lo = hi >= 0 ? attr_hexval((unsigned char) cp[2]) : -1;
        int     ch = hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;

        if (ch != '\n' && ch != '\\' && ch != '%')
            return attr_error(error_r, "bad %% escape in value of attribute \"%s\"", name);
        vstring_catn(out, run, (size_t) (cp - run));
        vstring_addch(out, ch);
        cp += 2;
        run = cp + 1;
    }
    vstring_catn(out, run, (size_t) (cp - run));
    if (LEN(out) > ATTR_VALUE_MAX)
        return attr_error(error_r, "value of attribute \"%s\" is too long", name);
    if (out->overflow)
        return attr_error(error_r, "value of attribute \"%s\" is too long", name);
    return 0;
}

/* attr_parse_long - strict -?[0-9]+ within long */
static int attr_parse_long(const char *name, const char *text, long *value_r,
                                   const char **error_r)
{
    const char *cp = text;
    char   *end;

    if (*cp == '-')
        cp++;
    if (*cp == 0)
        return attr_error(error_r, "bad integer value of attribute \"%s\"", name);
    for (; *cp; cp++)
        if (*cp < '0' || *cp > '9')
            return attr_error(error_r, "bad integer value of attribute \"%s\"", name);
    errno = 0;
    *value_r = strtol(text, &end, 10);
    if (errno == ERANGE || *end != 0)
        return attr_error(error_r, "integer value of attribute \"%s\" out of range", name);
    return 0;
}

/* Result of reading one line of a message. */
typedef struct attr_rec {
    bool    end;                    /* the empty line */
    char   *name;                   /* NUL-terminated inside attr_line */
    const char *value;              /* raw (escaped) value */
    size_t  value_len;
} ATTR_REC;

/* attr_read_rec - read and split one line; 1 ok, 0 EOF before any byte of
 * the message (first == true only), -1 error */
static int attr_read_rec(STREAM *sp, bool first, ATTR_REC *rec, const char **error_r)
{
    int     eol;
    int     ret;

    if (attr_line == 0)
        attr_line = vstring_alloc(256);
    ret = stream_getline(sp, attr_line, ATTR_LINE_MAX, &eol);
    if (ret < 0)
        return attr_error(error_r, "%s", (stream_flags(sp) & STREAM_F_TIMEOUT) ?
                          "timeout while reading attributes" : "read error");
    if (ret == 0)
        return first ? 0 : attr_error(error_r, "unexpected end of input inside message");
    char   *line = STR(attr_line);
    char   *eq = memchr(line, '=', LEN(attr_line));
    size_t  name_len = eq ? (size_t) (eq - line) : LEN(attr_line);

    if (ret == 2) {
        if (eq == 0 || name_len > ATTR_NAME_MAX)
            return attr_error(error_r, "attribute name too long");
        *eq = 0;
        if (!attr_name_ok(line, name_len))
            return attr_error(error_r, "malformed attribute name");
        return attr_error(error_r, "value of attribute \"%s\" is too long", line);
    }
    if (eol == 0)
        return attr_error(error_r, "unexpected end of input inside message");
    if (LEN(attr_line) == 0) {
        rec->end = true;
        return 1;
    }
    if (eq == 0)
        return attr_error(error_r, "malformed attribute line (no '=')");
    if (name_len > ATTR_NAME_MAX)
        return attr_error(error_r, "attribute name too long");
    if (!attr_name_ok(line, name_len))
        return attr_error(error_r, "malformed attribute name");
    *eq = 0;
    rec->end = false;
    rec->name = line;
    rec->value = eq + 1;
    rec->value_len = LEN(attr_line) - name_len - 1;
    return 1;
}

/* One expected attribute of attr_scan. */
typedef struct attr_want {
    int     type;
    const char *name;
    void   *ptr;
} ATTR_WANT;

/* attr_store - decode a record into the caller's variable */
static int attr_store(const ATTR_WANT *w, const ATTR_REC *rec, const char **error_r)
{
    if (w->type == ATTR_INT) {
        static VSTRING *tmp;

        if (tmp == 0)
            tmp = vstring_alloc(32);
        if (rec->value_len > 24)
            return attr_error(error_r, "integer value of attribute \"%s\" out of range", w->name);
        if (attr_decode(w->name, rec->value, rec->value_len, tmp, error_r) < 0)
            return -1;
        return attr_parse_long(w->name, STR(tmp), (long *) w->ptr, error_r);
    }
    return attr_decode(w->name, rec->value, rec->value_len, (VSTRING *) w->ptr, error_r);
}

/* attr_scan - read one message strictly in the given order */
int     attr_scan(STREAM *sp, int flags, const char **error_r, ...)
{
    ATTR_WANT want[64];
    int     nwant = 0;
    va_list ap;
    int     type;
    ATTR_REC rec;
    int     stored = 0;
    int     seen = 0;
    int     ret;

    va_start(ap, error_r);
    while ((type = va_arg(ap, int)) != ATTR_END) {
        if (nwant >= (int) PH_ARRAY_LEN(want))
            msg_panic("attr_scan: too many attributes in one call");
        if (type != ATTR_STR && type != ATTR_INT && type != ATTR_OPT_STR)
            msg_panic("attr_scan: bad attribute type %d", type);
        want[nwant].type = type;
        want[nwant].name = va_arg(ap, const char *);
        want[nwant].ptr = va_arg(ap, void *);
        if (want[nwant].name == 0 || want[nwant].ptr == 0)
            msg_panic("attr_scan: null name or result pointer");
        nwant++;
    }
    va_end(ap);

    if ((ret = attr_read_rec(sp, true, &rec, error_r)) <= 0)
        return ret;
    for (int i = 0; i < nwant; i++) {
        const ATTR_WANT *w = want + i;

        if (!rec.end && strcmp(rec.name, w->name) == 0) {
            if (attr_store(w, &rec, error_r) < 0)
                return -1;
            stored++;
            seen++;
            if (attr_read_rec(sp, false, &rec, error_r) < 0)
                return -1;
            continue;
        }
        if (w->type == ATTR_OPT_STR) {
            vstring_reset((VSTRING *) w->ptr);
            continue;
        }
        if (rec.end)
            return attr_error(error_r, "missing attribute \"%s\"", w->name);
        for (int j = 0; j < i; j++)
            if (strcmp(rec.name, want[j].name) == 0)
                return attr_error(error_r, "repeated attribute \"%s\"", rec.name);
        for (int j = i + 1; j < nwant; j++)
            if (strcmp(rec.name, want[j].name) == 0)
                return attr_error(error_r, "missing attribute \"%s\"", w->name);
        return attr_error(error_r, "unexpected attribute \"%s\" (expected \"%s\")",
                          rec.name, w->name);
    }
    while (!rec.end) {
        for (int j = 0; j < nwant; j++)
            if (strcmp(rec.name, want[j].name) == 0)
                return attr_error(error_r, "repeated attribute \"%s\"", rec.name);
        if (!(flags & ATTR_FLAG_MORE))
            return attr_error(error_r, "unexpected attribute \"%s\"", rec.name);
        if (++seen > ATTR_MAX_COUNT)
            return attr_error(error_r, "too many attributes");
        if (attr_read_rec(sp, false, &rec, error_r) < 0)
            return -1;
    }
    return stored;
}

/* attr_list_alloc - empty list */
ATTR_LIST *attr_list_alloc(void)
{
    ATTR_LIST *al = mymalloc(sizeof(*al));

    al->count = 0;
    al->size = 0;
    al->names = 0;
    al->values = 0;
    return al;
}

/* attr_list_free - release, NULL the caller's pointer */
void    attr_list_free(ATTR_LIST **alp)
{
    ATTR_LIST *al = *alp;

    if (al == 0)
        return;
    for (int i = 0; i < al->size; i++) {
        myfree(al->names[i]);
        vstring_free(&al->values[i]);
    }
    myfree(al->names);
    myfree(al->values);
    myfree(al);
    *alp = 0;
}

/* attr_list_scan - read one message of any attributes (names unique) */
int     attr_list_scan(STREAM *sp, ATTR_LIST *al, const char **error_r)
{
    ATTR_REC rec;
    int     ret;

    al->count = 0;
    if ((ret = attr_read_rec(sp, true, &rec, error_r)) <= 0)
        return ret;
    while (!rec.end) {
        for (int i = 0; i < al->count; i++)
            if (strcmp(al->names[i], rec.name) == 0)
                return attr_error(error_r, "repeated attribute \"%s\"", rec.name);
        if (al->count >= ATTR_MAX_COUNT)
            return attr_error(error_r, "too many attributes");
        if (al->count == al->size) {
            int     nsize = al->size ? al->size * 2 : 8;

            al->names = myreallocarray(al->names, (size_t) nsize, sizeof(*al->names));
            al->values = myreallocarray(al->values, (size_t) nsize, sizeof(*al->values));
            for (int i = al->size; i < nsize; i++) {
                al->names[i] = mymalloc(ATTR_NAME_MAX + 1);
                al->values[i] = vstring_alloc(16);
            }
            al->size = nsize;
        }
        ph_strlcpy(al->names[al->count], rec.name, ATTR_NAME_MAX + 1);
        if (attr_decode(rec.name, rec.value, rec.value_len, al->values[al->count], error_r) < 0)
            return -1;
        al->count++;
        if (attr_read_rec(sp, false, &rec, error_r) < 0)
            return -1;
    }
    return al->count;
}

/* attr_list_get - value by name, or NULL */
const char *attr_list_get(const ATTR_LIST *al, const char *name)
{
    for (int i = 0; i < al->count; i++)
        if (strcmp(al->names[i], name) == 0)
            return STR(al->values[i]);
    return 0;
}

/* attr_send_hello - the server's greeting; flushed */
int     attr_send_hello(STREAM *sp, const char *proto, int version)
{
    if (attr_print(sp, ATTR_STR, "proto", proto, ATTR_INT, "version", (long) version,
                   ATTR_END) < 0)
        return -1;
    return stream_flush(sp);
}

/* attr_safe_text - printable, bounded copy of peer text for an error */
static const char *attr_safe_text(VSTRING *out, const char *text)
{
    vstring_reset(out);
    for (const char *cp = text; *cp && LEN(out) < 64; cp++)
        vstring_addch(out, (*cp >= 0x21 && *cp < 0x7f && *cp != '"') ? *cp : '?');
    return STR(out);
}

/* attr_expect_hello - check the server's greeting */
int     attr_expect_hello(STREAM *sp, const char *proto, int version, const char **error_r)
{
    VSTRING *got = vstring_alloc(32);
    VSTRING *safe;
    long    got_version = 0;
    int     ret;

    ret = attr_scan(sp, ATTR_FLAG_NONE, error_r,
                    ATTR_STR, "proto", got,
                    ATTR_INT, "version", &got_version,
                    ATTR_END);
    if (ret == 0)
        ret = attr_error(error_r, "connection closed before the %s handshake", proto);
    else if (ret > 0 && strcmp(STR(got), proto) != 0) {
        safe = vstring_alloc(64);
        ret = attr_error(error_r, "peer speaks protocol \"%s\", expected \"%s\"",
                         attr_safe_text(safe, STR(got)), proto);
        vstring_free(&safe);
    } else if (ret > 0 && got_version != version)
        ret = attr_error(error_r, "peer speaks %s version %ld, expected version %d",
                         proto, got_version, version);
    else if (ret > 0)
        ret = 0;
    vstring_free(&got);
    return ret;
}
