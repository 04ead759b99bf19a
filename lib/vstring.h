/* vstring.h - growable, binary-safe strings with a stable handle.
 *
 * The one way to build text in Posthorn. A VSTRING * stays valid for the
 * life of the string; only ->data moves when it grows, so callers never
 * reassign a returned pointer. The contents are always NUL-terminated
 * (the terminator is not counted in the length) and may contain NULs.
 *
 * Bounds: vstring_set_limit(vp, max) caps the length; an operation that
 * would pass the cap stores what fits and sets vp->overflow (sticky until
 * vstring_reset). Without a limit, growth past VSTRING_HARD_MAX is a panic
 * (our bug: every input path must set a limit).
 */
#ifndef VSTRING_H
#define VSTRING_H

#include "sys_defs.h"
#include <stdarg.h>

typedef struct vstring {
    char   *data;		/* always NUL-terminated */
    size_t  len;		/* bytes used, excluding the terminator */
    size_t  size;		/* bytes allocated */
    size_t  limit;		/* 0: none (VSTRING_HARD_MAX), else max len */
    bool    overflow;		/* an operation was truncated by limit */
} VSTRING;

#define VSTRING_HARD_MAX ((size_t) 1 << 31)

#define STR(vp) ((vp)->data)
#define LEN(vp) ((vp)->len)

/* vstring_alloc - new empty string with room for init bytes */
VSTRING *vstring_alloc(size_t init);
/* vstring_free - release and NULL the caller's pointer */
void vstring_free(VSTRING **vpp);
/* vstring_set_limit - cap the length (0: no cap) */
void vstring_set_limit(VSTRING *vp, size_t limit);
/* vstring_reset - make empty, clear overflow */
VSTRING *vstring_reset(VSTRING *vp);
/* vstring_truncate - shorten to len (no-op when already shorter) */
VSTRING *vstring_truncate(VSTRING *vp, size_t len);
/* vstring_reserve - make room for n more bytes; returns pointer to the end */
char   *vstring_reserve(VSTRING *vp, size_t n);
/* vstring_commit - after writing n bytes at vstring_reserve()'s pointer */
void vstring_commit(VSTRING *vp, size_t n);

/* vstring_set - replace contents with a C string */
VSTRING *vstring_set(VSTRING *vp, const char *str);
/* vstring_setn - replace contents with len bytes */
VSTRING *vstring_setn(VSTRING *vp, const void *data, size_t len);
/* vstring_cat - append a C string */
VSTRING *vstring_cat(VSTRING *vp, const char *str);
/* vstring_catn - append len bytes */
VSTRING *vstring_catn(VSTRING *vp, const void *data, size_t len);
/* vstring_addch - append one byte */
VSTRING *vstring_addch(VSTRING *vp, int ch);
/* vstring_fmt - replace contents with printf-formatted text */
VSTRING *vstring_fmt(VSTRING *vp, const char *fmt, ...) PH_PRINTF(2, 3);
/* vstring_fmt_append - append printf-formatted text */
VSTRING *vstring_fmt_append(VSTRING *vp, const char *fmt, ...) PH_PRINTF(2, 3);
/* vstring_vfmt_append - va_list form */
VSTRING *vstring_vfmt_append(VSTRING *vp, const char *fmt, va_list ap) PH_PRINTF(2, 0);
/* vstring_export - take the buffer (caller frees with myfree); frees the handle */
char   *vstring_export(VSTRING **vpp);
/* vstring_wipe - overwrite contents with zeros (credentials), then reset */
void vstring_wipe(VSTRING *vp);
/* vstring_lower - fold ASCII to lower case in place */
VSTRING *vstring_lower(VSTRING *vp);
/* vstring_chomp - drop trailing CR/LF */
VSTRING *vstring_chomp(VSTRING *vp);

/* Convenience: copy a C string into a fixed buffer, always terminating;
 * returns the length of src (>= size means it was truncated). */
size_t ph_strlcpy(char *dst, const char *src, size_t size);

#endif
