/* queue_id.h - unique, time-sortable queue IDs.
 *
 * Postfix-style long IDs: 10 characters of seconds and 5 of microseconds
 * ... in base-52-ish, "Z"-free alphabet, then "z" + inode-derived suffix.
 * Ours: QUEUE_ID_LEN characters [0-9A-Za-y], sorting in time order as
 * strings: 6 chars seconds since the epoch (base 61), 4 chars microseconds,
 * then 'z' and a per-process unique part derived from pid and a counter.
 * queue_id_valid() is the only gate before an ID becomes part of a path.
 */
#ifndef QUEUE_ID_H
#define QUEUE_ID_H

#include "sys_defs.h"

#define QUEUE_ID_MAX 32
#define QUEUE_ID_LEN 18		/* what queue_id_new() makes: 6+4+1+4+3 */

/* queue_id_new - write a fresh ID into buf (at least QUEUE_ID_MAX bytes) */
void queue_id_new(char *buf);
/* queue_id_valid - syntax check: nonempty, < QUEUE_ID_MAX, [0-9A-Za-z] only */
bool queue_id_valid(const char *id);
/* queue_id_time - arrival time encoded in a valid ID (seconds), or -1 */
long queue_id_time(const char *id);

#endif
