/* auth_penalty - brute-force limits: failures per client address and per
 * user name.
 *
 * Contract: each failed authentication counts once against "ip:RIP" (when
 * the client passed rip=) and once against "user:NAME". A key with
 * auth_failure_limit failures within auth_failure_window is blocked until
 * auth_failure_window after its last failure; a success forgets both keys.
 * auth_failure_limit = 0 turns blocking off (the failure delay stays).
 * Limits: at most AUTH_PENALTY_MAX keys; when full, expired keys are
 * purged, and if none expired the oldest-started ones go first (an
 * attacker flooding names cannot grow memory, only age out entries).
 */
#include "sys_defs.h"

#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "htable.h"
#include "msg.h"
#include "mymalloc.h"

#define AUTH_PENALTY_MAX 100000

typedef struct auth_penalty {
    int     count;
    time_t  first;		/* start of the current window */
    time_t  last;		/* last failure */
} AUTH_PENALTY;

static HTABLE *auth_penalty_table;
static VSTRING *auth_penalty_key;

/* auth_penalty_init - empty table */
void auth_penalty_init(void)
{
    auth_penalty_table = htable_create(256);
    auth_penalty_key = vstring_alloc(100);
}

/* auth_penalty_keyname - "ip:..." or "user:..." */
static const char *auth_penalty_keyname(const char *kind, const char *val)
{
    vstring_fmt(auth_penalty_key, "%s:%s", kind, val);
    return STR(auth_penalty_key);
}

/* auth_penalty_expired - entry is past its window */
static bool auth_penalty_expired(const AUTH_PENALTY *p, time_t now)
{
    return now - p->last >= var_auth_failure_window;
}

/* auth_penalty_drop - delete one key (a copy: the entry owns the original) */
static void auth_penalty_drop(const char *key)
{
    char *copy = mystrdup(key);

    htable_delete(auth_penalty_table, copy, myfree);
    myfree(copy);
}

/* auth_penalty_purge - make room: drop expired entries, else the oldest half */
static void auth_penalty_purge(time_t now)
{
    HTABLE_ENTRY **list = htable_list(auth_penalty_table);
    time_t cutoff = now;
    size_t n = 0;

    for (HTABLE_ENTRY **ep = list; *ep; ep++) {
        if (auth_penalty_expired((*ep)->value, now))
            auth_penalty_drop((*ep)->key);
        else
            n++;
    }
    myfree(list);
    if (n < AUTH_PENALTY_MAX)
        return;
    /* nothing expired: drop entries whose window began in the older half */
    list = htable_list(auth_penalty_table);
    cutoff = now - var_auth_failure_window / 2;
    for (HTABLE_ENTRY **ep = list; *ep; ep++)
        if (((AUTH_PENALTY *) (*ep)->value)->first <= cutoff)
            auth_penalty_drop((*ep)->key);
    myfree(list);
    if (auth_penalty_table->used >= AUTH_PENALTY_MAX) {
        msg_warn("auth penalty table full (%d keys): forgetting all failures",
                 AUTH_PENALTY_MAX);
        htable_free(&auth_penalty_table, myfree);
        auth_penalty_table = htable_create(256);
    }
}

/* auth_penalty_key_blocked - one key over its limit */
static bool auth_penalty_key_blocked(const char *kind, const char *val, time_t now)
{
    AUTH_PENALTY *p;

    if (val == NULL || var_auth_failure_limit <= 0)
        return false;
    p = htable_find(auth_penalty_table, auth_penalty_keyname(kind, val));
    return p != NULL && !auth_penalty_expired(p, now) && p->count >= var_auth_failure_limit;
}

/* auth_penalty_blocked - rip or user blocked */
bool auth_penalty_blocked(const char *rip, const char *user)
{
    time_t now = time(NULL);

    return auth_penalty_key_blocked("ip", rip, now)
        || auth_penalty_key_blocked("user", user, now);
}

/* auth_penalty_count - count one failure against a key */
static int auth_penalty_count(const char *kind, const char *val, time_t now)
{
    const char *key;
    AUTH_PENALTY *p;

    if (val == NULL)
        return 0;
    key = auth_penalty_keyname(kind, val);
    if ((p = htable_find(auth_penalty_table, key)) == NULL) {
        if (auth_penalty_table->used >= AUTH_PENALTY_MAX) {
            auth_penalty_purge(now);
            key = auth_penalty_keyname(kind, val);
        }
        p = mycalloc(1, sizeof(*p));
        htable_enter(auth_penalty_table, key, p);
    }
    if (p->count == 0 || auth_penalty_expired(p, now)) {
        p->count = 0;
        p->first = now;
    }
    p->count++;
    p->last = now;
    return p->count;
}

/* auth_penalty_fail - count a failure */
int auth_penalty_fail(const char *rip, const char *user)
{
    time_t now = time(NULL);
    int a = auth_penalty_count("ip", rip, now);
    int b = auth_penalty_count("user", user, now);

    return a > b ? a : b;
}

/* auth_penalty_success - forget failures */
void auth_penalty_success(const char *rip, const char *user)
{
    if (rip)
        htable_delete(auth_penalty_table, auth_penalty_keyname("ip", rip), myfree);
    if (user)
        htable_delete(auth_penalty_table, auth_penalty_keyname("user", user), myfree);
}
