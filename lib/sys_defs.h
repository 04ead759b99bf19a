/* sys_defs.h - system-wide includes and compiler attributes.
 *
 * Every .c file in the tree includes this first. It sets no policy; it only
 * gathers the attributes the code uses so they are spelled one way.
 */
#ifndef SYS_DEFS_H
#define SYS_DEFS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#define PH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define PH_NORETURN __attribute__((noreturn))
#define PH_UNUSED __attribute__((unused))
#define PH_WARN_UNUSED __attribute__((warn_unused_result))

#define PH_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define POSTHORN_VERSION "0.1.0"

#endif
