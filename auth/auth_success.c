/* auth_success - the successful authentications a master REQUEST may
 * claim (the Dovecot "auth cookie" check of the post-login side).
 *
 * Contract: every OK sent on a client connection is remembered as (the
 * connection's CPID, the request id, the connection's COOKIE, the
 * normalised user name, service, rip, lip) for AUTH_SUCCESS_TTL seconds.
 * auth_success_take() hands a record out at most once: it matches on
 * pid, id and cookie and removes the record it returns; a record whose
 * pid and id match but whose cookie does not is reported separately
 * (the caller logs it) and stays. Records outlive their client
 * connection (a pre-login process may be gone when its parent asks).
 * Limits: AUTH_SUCCESS_MAX records; when full the oldest is dropped
 * (its REQUEST then fails). Expired records are purged on every add and
 * take. Time is CLOCK_MONOTONIC.
 */
#include "sys_defs.h"

#include <string.h>
#include <time.h>

#include "auth.h"
#include "msg.h"
#include "mymalloc.h"

#define AUTH_SUCCESS_TTL        60
#define AUTH_SUCCESS_MAX        4096

typedef struct auth_success {
    unsigned long pid;
    unsigned id;
    char    cookie[AUTH_COOKIE_LEN + 1];
    char   *user;
    char   *service;
    char   *rip;
    char   *lip;
    time_t  expires;
    struct auth_success *next;  /* list is oldest first */
} AUTH_SUCCESS;

static AUTH_SUCCESS *auth_success_head;
static AUTH_SUCCESS **auth_success_tail = &auth_success_head;
static int auth_success_count;

/* auth_success_now - monotonic seconds */
static time_t auth_success_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* auth_success_free - release one record */
static void auth_success_free(AUTH_SUCCESS *s)
{
    myfree(s->user);
    myfree(s->service);
    myfree(s->rip);
    myfree(s->lip);
    myfree(s);
}

/* auth_success_unlink - remove *sp from the list */
static void auth_success_unlink(AUTH_SUCCESS **sp)
{
    AUTH_SUCCESS *s = *sp;

    *sp = s->next;
    if (auth_success_tail == &s->next)
        auth_success_tail = sp;
    auth_success_count--;
}

/* auth_success_purge - drop expired records (oldest first) */
static void auth_success_purge(time_t now)
{
    while (auth_success_head && auth_success_head->expires <= now) {
        AUTH_SUCCESS *s = auth_success_head;

        auth_success_unlink(&auth_success_head);
        auth_success_free(s);
    }
}

/* auth_success_add - remember an OK */
void auth_success_add(unsigned long pid, unsigned id, const char *cookie, const char *user,
                      const char *service, const char *rip, const char *lip)
{
    time_t now = auth_success_now();
    AUTH_SUCCESS *s;

    auth_success_purge(now);
    if (pid == 0 || strlen(cookie) != AUTH_COOKIE_LEN)
        return;
    if (auth_success_count >= AUTH_SUCCESS_MAX) {
        s = auth_success_head;
        auth_success_unlink(&auth_success_head);
        auth_success_free(s);
    }
    s = mycalloc(1, sizeof(*s));
    s->pid = pid;
    s->id = id;
    ph_strlcpy(s->cookie, cookie, sizeof(s->cookie));
    s->user = mystrdup(user);
    s->service = mystrdup(service ? service : "");
    s->rip = mystrdup(rip ? rip : "");
    s->lip = mystrdup(lip ? lip : "");
    s->expires = now + AUTH_SUCCESS_TTL;
    *auth_success_tail = s;
    auth_success_tail = &s->next;
    auth_success_count++;
}

/* auth_success_cookie_eq - compare without an early exit */
static bool auth_success_cookie_eq(const char *a, const char *b)
{
    unsigned char diff = 0;

    if (strlen(b) != AUTH_COOKIE_LEN)
        return false;
    for (int i = 0; i < AUTH_COOKIE_LEN; i++)
        diff |= (unsigned char) (a[i] ^ b[i]);
    return diff == 0;
}

/* auth_success_take - claim a record: AUTH_SUCCESS_FOUND (fields set,
 * record removed), AUTH_SUCCESS_NONE, or AUTH_SUCCESS_BAD_COOKIE */
int     auth_success_take(unsigned long pid, unsigned id, const char *cookie,
                          VSTRING *user, VSTRING *service, VSTRING *rip, VSTRING *lip)
{
    bool    pid_id_seen = false;

    auth_success_purge(auth_success_now());
    for (AUTH_SUCCESS **sp = &auth_success_head; *sp; sp = &(*sp)->next) {
        AUTH_SUCCESS *s = *sp;

        if (s->pid != pid || s->id != id)
            continue;
        if (!auth_success_cookie_eq(s->cookie, cookie)) {
            pid_id_seen = true;
            continue;
        }
        vstring_set(user, s->user);
        vstring_set(service, s->service);
        vstring_set(rip, s->rip);
        vstring_set(lip, s->lip);
        auth_success_unlink(sp);
        auth_success_free(s);
        return AUTH_SUCCESS_FOUND;
    }
    return pid_id_seen ? AUTH_SUCCESS_BAD_COOKIE : AUTH_SUCCESS_NONE;
}
