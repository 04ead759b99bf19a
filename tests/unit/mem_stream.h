/* mem_stream.h - a STREAM over bytes in memory, for unit tests and fuzz
 * targets (tests/fuzz includes it as "../unit/mem_stream.h").
 *
 * mem_stream_open(src, data, len, chunk) returns a stream whose reads
 * hand out data in pieces of at most chunk bytes (small pieces exercise
 * the readers' handling of partial input) and then EOF; writes are
 * discarded. src holds the read position and must outlive the stream;
 * the caller closes the stream with stream_close.
 */
#ifndef MEM_STREAM_H
#define MEM_STREAM_H

#include <string.h>

#include "stream.h"

typedef struct mem_stream_src {
    const unsigned char *data;
    size_t  len, pos, chunk;
} MEM_STREAM_SRC;

/* mem_stream_read - the next piece of the input */
static inline ssize_t mem_stream_read(STREAM *sp, void *buf, size_t len, void *ctx,
				      bool *want_write)
{
    MEM_STREAM_SRC *src = ctx;
    size_t  n = src->len - src->pos;

    (void) sp;
    (void) want_write;
    if (n > len)
	n = len;
    if (n > src->chunk)
	n = src->chunk;
    memcpy(buf, src->data + src->pos, n);
    src->pos += n;
    return (ssize_t) n;
}

/* mem_stream_write - discard */
static inline ssize_t mem_stream_write(STREAM *sp, const void *buf, size_t len, void *ctx,
				       bool *want_read)
{
    (void) sp;
    (void) buf;
    (void) ctx;
    (void) want_read;
    return (ssize_t) len;
}

/* mem_stream_open - a stream reading data through src */
static inline STREAM *mem_stream_open(MEM_STREAM_SRC *src, const void *data, size_t len,
				      size_t chunk)
{
    STREAM *sp = stream_fdopen(-1, false);

    src->data = data;
    src->len = len;
    src->pos = 0;
    src->chunk = chunk > 0 ? chunk : 1;
    stream_set_io(sp, mem_stream_read, mem_stream_write, src);
    return sp;
}

#endif
