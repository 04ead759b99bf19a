/* login_userip - mail_max_userip_connections: sessions per user and
 * client address (per protocol), counted by the anvil service. Used by
 * imapd and pop3d.
 *
 * Contract: login_userip_admit is called once a user has authenticated
 * and before the session is served. It adds this session to anvil's
 * counter "SERVICE:USER/ADDRESS" (SERVICE: imap-userip, pop3-userip) over a connection that stays open
 * for the life of the process, so the count drops when the session ends
 * however it ends (anvil releases what a closed client added).
 * login_userip_admit is for a process that serves one session (the count
 * lasts until it exits); a process serving many sessions counts each with
 * login_userip_enter and ends it with login_userip_leave. Over the limit the session is refused
 * and its count released at once; the refusal is logged.
 *
 * A process that gives up root calls login_userip_prepare first: the
 * anvil socket is in the mail system's private directory, which the
 * mail users cannot reach; the connection made as root is kept (if it
 * breaks later, the limit is not checked and that is logged).
 *
 * Limits: mail_max_userip_connections = 0 means no limit. Without an
 * anvil service (no private/anvil socket) or when anvil fails, logins
 * are allowed (anvil is a limit, not an authentication step); a failure
 * other than a missing socket is logged.
 */
#include "sys_defs.h"

#include <errno.h>
#include <sys/stat.h>

#include "anvil_clnt.h"
#include "config.h"
#include "login_userip.h"
#include "msg.h"
#include "mymalloc.h"
#include "vstring.h"

static ANVIL_CLNT *login_userip_clnt;
static bool login_userip_once;		/* login_userip_admit was called */
static bool login_userip_prepared;	/* login_userip_prepare looked */

/* login_userip_path - the anvil socket, or NULL when there is none
 * (ENOENT: no anvil service; anything else is logged) */
static const char *login_userip_path(VSTRING *path)
{
    struct stat st;

    vstring_fmt(path, "%s/%s", var_queue_directory, ANVIL_CLASS);
    if (stat(STR(path), &st) == 0)
	return STR(path);
    if (errno != ENOENT)
	msg_warn("mail_max_userip_connections not checked: %s: %m", STR(path));
    return NULL;
}

/* login_userip_prepare - connect to anvil now */
void    login_userip_prepare(void)
{
    VSTRING *path;
    const char *err;

    if (var_mail_max_userip_connections <= 0 || login_userip_clnt != NULL)
	return;
    login_userip_prepared = true;
    path = vstring_alloc(128);
    if (login_userip_path(path) != NULL) {
	login_userip_clnt = anvil_clnt_create(STR(path));
	if (anvil_clnt_prepare(login_userip_clnt, &err) < 0)
	    msg_warn("mail_max_userip_connections: %s", err);
    }
    vstring_free(&path);
}

/* login_userip_enter - count one more session of user from rip */
bool    login_userip_enter(const char *service, const char *user, const char *rip,
			   char **key_r)
{
    VSTRING *path, *key;
    const char *err;
    long    count = 0, rate;
    bool    ok = true;

    *key_r = NULL;
    if (var_mail_max_userip_connections <= 0)
	return true;
    if (login_userip_clnt == NULL && login_userip_prepared)
	return true;			/* no anvil service (seen as root) */
    path = vstring_alloc(128);
    if (login_userip_clnt == NULL) {
	if (login_userip_path(path) == NULL) {
	    vstring_free(&path);
	    return true;
	}
	login_userip_clnt = anvil_clnt_create(STR(path));
    }
    key = vstring_alloc(128);
    vstring_fmt(key, "%s/%s", user, rip);
    if (anvil_clnt_connect(login_userip_clnt, service, STR(key), &count, &rate,
			   &err) < 0) {
	msg_warn("%s: mail_max_userip_connections not checked: %s", user, err);
    } else if (count > var_mail_max_userip_connections) {
	msg_info("%s: login refused: Maximum number of connections from user+IP exceeded "
		 "(mail_max_userip_connections=%d), rip=%s", user,
		 (int) var_mail_max_userip_connections, rip);
	(void) anvil_clnt_disconnect(login_userip_clnt, service, STR(key), &err);
	ok = false;
    } else {
	*key_r = vstring_export(&key);
    }
    vstring_free(&path);
    if (key)
	vstring_free(&key);
    return ok;
}

/* login_userip_leave - the session counted under *keyp ended */
void    login_userip_leave(const char *service, char **keyp)
{
    const char *err;

    if (*keyp == NULL)
	return;
    if (login_userip_clnt != NULL
	&& anvil_clnt_disconnect(login_userip_clnt, service, *keyp, &err) < 0)
	msg_warn("%s: anvil disconnect: %s", *keyp, err);
    myfree(*keyp);
    *keyp = NULL;
}

/* login_userip_admit - true when user may have one more session from rip */
bool    login_userip_admit(const char *service, const char *user, const char *rip)
{
    char   *key;
    bool    ok;

    if (login_userip_once)
	return true;
    login_userip_once = true;
    ok = login_userip_enter(service, user, rip, &key);
    if (key)
	myfree(key);			/* counted until the process ends */
    return ok;
}

/* login_userip_reason - the refusal text (the caller adds its protocol's
 * response code: IMAP [UNAVAILABLE], POP3 [IN-USE]) */
const char *login_userip_reason(void)
{
    static VSTRING *buf;

    if (buf == NULL)
	buf = vstring_alloc(128);
    vstring_fmt(buf, "Maximum number of connections from user+IP exceeded "
		"(mail_max_userip_connections=%d)", (int) var_mail_max_userip_connections);
    return STR(buf);
}
