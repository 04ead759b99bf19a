/* qfile_priv.h - helpers shared by qfile.c and qfile_log.c (not an API).
 *
 * All of these are defined in qfile.c. None aborts on bad input.
 */
#ifndef QFILE_PRIV_H
#define QFILE_PRIV_H

#include "sys_defs.h"
#include "vstring.h"

/* qfile_error - format a reason into the module's static buffer */
const char *qfile_error(const char *fmt, ...) PH_PRINTF(1, 2);
/* qfile_rec_start - append "TYPE%08x " for len bytes of DATA */
void qfile_rec_start(VSTRING *buf, int type, size_t len);
/* qfile_hexval - exactly n lowercase hex digits, or -1 */
long long qfile_hexval(const char *cp, int n);
/* qfile_decval - 1..18 decimal digits, or -1 */
long long qfile_decval(const char *cp, size_t len);

#endif
