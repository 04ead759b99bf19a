/* vstring - growable, binary-safe strings.
 *
 * Growth doubles the allocation; every size computation is checked.
 */
#include "sys_defs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mymalloc.h"
#include "msg.h"
#include "vstring.h"

/* vstring_alloc - new string */
VSTRING *vstring_alloc(size_t init)
{
    VSTRING *vp = mymalloc(sizeof(*vp));

    if (init < 16)
        init = 16;
    vp->data = mymalloc(init);
    vp->data[0] = 0;
    vp->len = 0;
    vp->size = init;
    vp->limit = 0;
    vp->overflow = false;
    return vp;
}

/* vstring_free - release */
void vstring_free(VSTRING **vpp)
{
    if (*vpp) {
        myfree((*vpp)->data);
        myfree(*vpp);
        *vpp = NULL;
    }
}

/* vstring_set_limit - cap the length */
void vstring_set_limit(VSTRING *vp, size_t limit)
{
    vp->limit = limit;
}

/* vstring_reset - empty */
VSTRING *vstring_reset(VSTRING *vp)
{
    vp->len = 0;
    vp->data[0] = 0;
    vp->overflow = false;
    return vp;
}

/* vstring_truncate - shorten */
VSTRING *vstring_truncate(VSTRING *vp, size_t len)
{
    if (len < vp->len) {
        vp->len = len;
        vp->data[len] = 0;
    }
    return vp;
}

/* vstring_room - how many more bytes may be appended, given the limit */
static size_t vstring_room(VSTRING *vp, size_t want)
{
    size_t max = vp->limit ? vp->limit : VSTRING_HARD_MAX;

    if (vp->len >= max) {
        if (!vp->limit && want)
            msg_panic("vstring: unbounded string grew past %zu bytes", max);
        vp->overflow = vp->overflow || want > 0;
        return 0;
    }
    if (want > max - vp->len) {
        if (!vp->limit)
            msg_panic("vstring: unbounded string grew past %zu bytes", max);
        vp->overflow = true;
        return max - vp->len;
    }
    return want;
}

/* vstring_grow - make the allocation hold len + n + 1 bytes */
static void vstring_grow(VSTRING *vp, size_t n)
{
    size_t need = vp->len + n + 1;

    if (need <= vp->size)
        return;
    size_t nsize = vp->size;
    while (nsize < need)
        nsize = nsize > SIZE_MAX / 2 ? need : nsize * 2;
    vp->data = myrealloc(vp->data, nsize);
    vp->size = nsize;
}

/* vstring_reserve - room for n more bytes (limit not applied; commit applies it) */
char *vstring_reserve(VSTRING *vp, size_t n)
{
    if (n > VSTRING_HARD_MAX)
        msg_panic("vstring_reserve: %zu bytes", n);
    vstring_grow(vp, n);
    return vp->data + vp->len;
}

/* vstring_commit - account for bytes written into reserved space */
void vstring_commit(VSTRING *vp, size_t n)
{
    if (vp->len + n + 1 > vp->size)
        msg_panic("vstring_commit: %zu bytes past the reservation", n);
    n = vstring_room(vp, n);
    vp->len += n;
    vp->data[vp->len] = 0;
}

/* vstring_catn - append bytes */
VSTRING *vstring_catn(VSTRING *vp, const void *data, size_t len)
{
    len = vstring_room(vp, len);
    if (len == 0)
        return vp;
    vstring_grow(vp, len);
    memmove(vp->data + vp->len, data, len);
    vp->len += len;
    vp->data[vp->len] = 0;
    return vp;
}

/* vstring_cat - append a C string */
VSTRING *vstring_cat(VSTRING *vp, const char *str)
{
    return vstring_catn(vp, str, strlen(str));
}

/* vstring_setn - replace with bytes (data may point into vp itself) */
VSTRING *vstring_setn(VSTRING *vp, const void *data, size_t len)
{
    if ((const char *) data >= vp->data && (const char *) data < vp->data + vp->size) {
        size_t off = (size_t) ((const char *) data - vp->data);

        memmove(vp->data, vp->data + off, len);
        vp->len = 0;
        vp->overflow = false;
        len = vstring_room(vp, len);
        vp->len = len;
        vp->data[len] = 0;
        return vp;
    }
    vstring_reset(vp);
    return vstring_catn(vp, data, len);
}

/* vstring_set - replace with a C string */
VSTRING *vstring_set(VSTRING *vp, const char *str)
{
    return vstring_setn(vp, str, strlen(str));
}

/* vstring_addch - append a byte */
VSTRING *vstring_addch(VSTRING *vp, int ch)
{
    char c = (char) ch;

    return vstring_catn(vp, &c, 1);
}

/* vstring_vfmt_append - append formatted text */
VSTRING *vstring_vfmt_append(VSTRING *vp, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(vp->data + vp->len, vp->size - vp->len, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        msg_panic("vstring_vfmt_append: bad format \"%s\"", fmt);
    if ((size_t) n >= vp->size - vp->len) {
        vstring_grow(vp, (size_t) n);
        n = vsnprintf(vp->data + vp->len, vp->size - vp->len, fmt, ap);
    }
    size_t keep = vstring_room(vp, (size_t) n);
    vp->len += keep;
    vp->data[vp->len] = 0;
    return vp;
}

/* vstring_fmt_append - append formatted text */
VSTRING *vstring_fmt_append(VSTRING *vp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstring_vfmt_append(vp, fmt, ap);
    va_end(ap);
    return vp;
}

/* vstring_fmt - replace with formatted text */
VSTRING *vstring_fmt(VSTRING *vp, const char *fmt, ...)
{
    va_list ap;

    vstring_reset(vp);
    va_start(ap, fmt);
    vstring_vfmt_append(vp, fmt, ap);
    va_end(ap);
    return vp;
}

/* vstring_export - take the buffer */
char *vstring_export(VSTRING **vpp)
{
    char *data = (*vpp)->data;

    myfree(*vpp);
    *vpp = NULL;
    return data;
}

/* vstring_wipe - zero the contents */
void vstring_wipe(VSTRING *vp)
{
    volatile char *p = vp->data;

    for (size_t i = 0; i < vp->size; i++)
        p[i] = 0;
    vstring_reset(vp);
}

/* vstring_lower - fold case */
VSTRING *vstring_lower(VSTRING *vp)
{
    for (size_t i = 0; i < vp->len; i++)
        vp->data[i] = (char) tolower((unsigned char) vp->data[i]);
    return vp;
}

/* vstring_chomp - drop trailing CR LF */
VSTRING *vstring_chomp(VSTRING *vp)
{
    while (vp->len > 0 && (vp->data[vp->len - 1] == '\n' || vp->data[vp->len - 1] == '\r'))
        vp->data[--vp->len] = 0;
    return vp;
}

/* ph_strlcpy - bounded copy */
size_t ph_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);

    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;

        memcpy(dst, src, n);
        dst[n] = 0;
    }
    return len;
}
