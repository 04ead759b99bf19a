/* backoff.h - retry arithmetic of the queue manager (pure functions).
 *
 * A deferred message's next delivery attempt is stored as the modification
 * time of its file in deferred/ (as Postfix does). The wait grows with the
 * message's age, so successive waits roughly double:
 *
 *   wait = clamp(now - arrival, minimal_backoff_time, maximal_backoff_time)
 *
 * A message has expired when it has been queued for lifetime seconds or
 * more (maximal_queue_lifetime, or bounce_queue_lifetime for null-sender
 * mail); lifetime 0 means "try once".
 *
 * Delay warnings: due when delay_warning_time > 0, the message is at least
 * that old and no warning was sent yet.
 */
#ifndef BACKOFF_H
#define BACKOFF_H

#include "sys_defs.h"

/* backoff_wait - seconds until the next attempt of a message that arrived
 * at arrival and is deferred at now (min <= result <= max; max < min is
 * treated as max = min) */
long backoff_wait(long arrival, long now, long min_backoff, long max_backoff);
/* backoff_expired - true when a message of that arrival time has been
 * queued for lifetime seconds or more at now */
bool backoff_expired(long arrival, long now, long lifetime);
/* backoff_warn_due - true when a delay warning is due */
bool backoff_warn_due(long arrival, long now, long warning_time, bool warned);

#endif
