/* backoff - retry arithmetic of the queue manager.
 *
 * Contract: see backoff.h. Pure integer arithmetic on seconds; negative
 * ages (clock stepped back) count as 0. No failure modes.
 */
#include "sys_defs.h"

#include "backoff.h"

/* backoff_wait - wait before the next attempt, grows with the age */
long backoff_wait(long arrival, long now, long min_backoff, long max_backoff)
{
    long age = now - arrival;

    if (min_backoff < 1)
	min_backoff = 1;
    if (max_backoff < min_backoff)
	max_backoff = min_backoff;
    if (age < min_backoff)
	return min_backoff;
    if (age > max_backoff)
	return max_backoff;
    return age;
}

/* backoff_expired - queued for lifetime or longer */
bool backoff_expired(long arrival, long now, long lifetime)
{
    long age = now - arrival;

    if (age < 0)
	age = 0;
    return age >= lifetime;
}

/* backoff_warn_due - delay warning time reached and none sent */
bool backoff_warn_due(long arrival, long now, long warning_time, bool warned)
{
    return warning_time > 0 && !warned && now - arrival >= warning_time;
}
