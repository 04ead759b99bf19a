/* fuzz_memfile.h - give a fuzz input a file name without touching disk
 * (memfd_create; the name is /proc/self/fd/N). */
#ifndef FUZZ_MEMFILE_H
#define FUZZ_MEMFILE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* fuzz_memfile - replace the file's contents with data; returns its path */
static inline const char *fuzz_memfile(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];

    if (fd < 0) {
	if ((fd = memfd_create("fuzz", 0)) < 0)
	    abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t) size))
	abort();
    return path;
}

#endif
