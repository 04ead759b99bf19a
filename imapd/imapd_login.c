/* imapd_login.c - the commands of the not-authenticated state and the
 * ones valid in every state: CAPABILITY, NOOP, LOGOUT, LOGIN,
 * AUTHENTICATE (PLAIN, LOGIN, SASL-IR), ID, ENABLE; and the switch to
 * the authenticated state (userdb lookup, mailbox storage).
 *
 * Passwords go to the auth service (queue_directory/private/auth) and
 * are wiped from our buffers; plaintext logins are refused on an
 * insecure connection when disable_plaintext_auth is set (loopback counts
 * as secure, as Dovecot does).
 */
#include "sys_defs.h"

#include <string.h>
#include <unistd.h>

#include "auth_client.h"
#include "base64_code.h"
#include "config.h"
#include "imapd.h"
#include "login_userip.h"
#include "login_split.h"
#include "msg.h"
#include "mymalloc.h"

/* cmd_capability - CAPABILITY */
void    cmd_capability(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *cap = vstring_alloc(128);

    (void) args;
    if (count != 0) {
	imapd_bad(s, "CAPABILITY takes no arguments");
	vstring_free(&cap);
	return;
    }
    imapd_capability(s, cap);
    imapd_send(s, "* CAPABILITY %s\r\n", STR(cap));
    imapd_ok(s, "Capability completed.");
    vstring_free(&cap);
}

/* cmd_noop - NOOP (updates follow from the session loop) */
void    cmd_noop(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    (void) args;
    if (count != 0)
	imapd_bad(s, "NOOP takes no arguments");
    else
	imapd_ok(s, "NOOP completed.");
}

/* cmd_logout - LOGOUT */
void    cmd_logout(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    (void) args;
    (void) count;
    imapd_send(s, "* BYE Logging out\r\n");
    imapd_close_folder(s);
    s->state = IMAPD_LOGOUT;
    imapd_ok(s, "Logout completed.");
}

/* cmd_id - ID (RFC 2971) */
void    cmd_id(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    if (count != 1 || (!imap_arg_is_nil(&args[0]) && args[0].type != IMAP_ARG_LIST)) {
	imapd_bad(s, "Invalid ID arguments");
	return;
    }
    imapd_send(s, "* ID (\"name\" \"Posthorn\")\r\n");
    imapd_ok(s, "ID completed.");
}

/* cmd_enable - ENABLE (RFC 5161): CONDSTORE, QRESYNC */
void    cmd_enable(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    VSTRING *on = vstring_alloc(32);

    if (count == 0) {
	imapd_bad(s, "ENABLE needs capability names");
	vstring_free(&on);
	return;
    }
    for (size_t i = 0; i < count; i++) {
	if (args[i].type != IMAP_ARG_ATOM) {
	    imapd_bad(s, "Invalid capability name");
	    vstring_free(&on);
	    return;
	}
	if (strcasecmp(args[i].str, "CONDSTORE") == 0 && !s->condstore) {
	    s->condstore = true;
	    vstring_cat(on, " CONDSTORE");
	} else if (strcasecmp(args[i].str, "QRESYNC") == 0 && !s->qresync) {
	    s->qresync = s->condstore = true;
	    vstring_cat(on, " QRESYNC");
	}
    }
    imapd_send(s, "* ENABLED%s\r\n", STR(on));
    imapd_ok(s, "Enabled.");
    vstring_free(&on);
}

/* imapd_open_store - open the user's mail storage: authenticated state */
int     imapd_open_store(IMAPD_SESSION *s, const char *user, const char *home,
			 const char *location, const char **error_r)
{
    MSTORE_SETTINGS set;

    memset(&set, 0, sizeof(set));
    s->home = home ? mystrdup(home) : NULL;
    set.location = location;
    set.home = s->home;
    set.separator = var_imap_hierarchy_separator[0] == '/' ? '/' : '.';
    set.quota = var_mail_quota;
    if ((s->store = mstore_open(&set, error_r)) == NULL)
	return -1;
    if (mstore_ensure_special(s->store, error_r) < 0)
	msg_warn("%s: creating special-use folders: %s", user, *error_r);
    s->user = mystrdup(user);
    s->state = IMAPD_AUTH;
    return 0;
}

/* imapd_post_login - userdb lookup (unprivileged: no change of uid),
 * storage open, authenticated state */
int     imapd_post_login(IMAPD_SESSION *s, const char *user, const char **error_r)
{
    AUTH_CLIENT_USER *u = auth_client_user_alloc();
    int     r;

    if (login_split_user(user, "imap", u, error_r) < 0) {
	auth_client_user_free(&u);
	return -1;
    }
    r = imapd_open_store(s, user, LEN(u->home) ? STR(u->home) : NULL,
			 login_mail_location(u), error_r);
    auth_client_user_free(&u);
    return r;
}

/* imapd_auth_done - common end of LOGIN and AUTHENTICATE */
static void imapd_auth_done(IMAPD_SESSION *s, const char *mech, int r, VSTRING *data,
			    bool temp, const char *err)
{
    VSTRING *cap;

    if (r < 0) {
	msg_warn("auth service: %s", err);
	imapd_no(s, "[UNAVAILABLE] Temporary authentication failure.");
	return;
    }
    if (r != AUTH_CLIENT_OK) {
	msg_info("%s authentication failed from [%s]", mech, s->rip);
	if (temp)
	    imapd_no(s, "[UNAVAILABLE] Temporary authentication failure.");
	else
	    imapd_no(s, "[AUTHENTICATIONFAILED] Authentication failed.");
	return;
    }
    if (login_split_active())
	imapd_handover(s, STR(data), mech);	/* does not return */
    if (!login_userip_admit("imap-userip", STR(data), s->rip)) {
	imapd_no(s, "[UNAVAILABLE] %s", login_userip_reason());
	return;
    }
    if (imapd_post_login(s, STR(data), &err) < 0) {
	msg_warn("%s: login refused: %s", STR(data), err);
	imapd_no(s, IMAPD_INTERNAL_ERROR);
	return;
    }
    msg_info("Login: user=<%s>, method=%s, rip=%s, lip=%s", s->user, mech, s->rip, s->lip);
    cap = vstring_alloc(128);
    imapd_capability(s, cap);
    imapd_ok(s, "[CAPABILITY %s] Logged in", STR(cap));
    vstring_free(&cap);
}

/* imapd_sasl_io - send a challenge, read the client's answer */
static int imapd_sasl_io(void *ctx, const char *challenge, VSTRING *line)
{
    IMAPD_SESSION *s = ctx;

    imapd_send(s, "+ %s\r\n", challenge);
    imapd_flush(s);
    return imapd_read_line(s, line);
}

/* cmd_login - LOGIN user password */
void    cmd_login(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    const char *user, *pass, *err = "";
    AUTH_CLIENT *ac;
    AUTH_CLIENT_PARAMS params = {"imap", s->rip, s->lip, s->tls};
    VSTRING *data;
    bool    temp = false;
    int     r;

    if (count != 2 || (user = imap_arg_astring(&args[0])) == NULL
	|| (pass = imap_arg_astring(&args[1])) == NULL) {
	imapd_bad(s, "LOGIN needs a user name and a password");
	return;
    }
    if (!imapd_plaintext_ok(s)) {
	imapd_no(s, "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
		 "(SSL/TLS) connections.");
	return;
    }
    if ((ac = login_auth_connect(&err)) == NULL) {
	imapd_auth_done(s, "LOGIN", -1, NULL, false, err);
	return;
    }
    data = vstring_alloc(64);
    params.secured = s->secured;
    r = auth_client_plain(ac, &params, user, pass, data, &temp, &err);
    memset((char *) pass, 0, strlen(pass));
    auth_client_free(&ac);
    imapd_auth_done(s, "LOGIN", r, data, temp, err);
    vstring_free(&data);
}

/* cmd_authenticate - AUTHENTICATE mech [initial-response] */
void    cmd_authenticate(IMAPD_SESSION *s, const IMAP_ARG *args, size_t count)
{
    const char *mech, *err = "";
    AUTH_CLIENT *ac;
    AUTH_CLIENT_PARAMS params = {"imap", s->rip, s->lip, s->secured};
    VSTRING *resp = NULL, *data;
    bool    temp = false;
    int     r;

    if (count < 1 || count > 2 || args[0].type != IMAP_ARG_ATOM
	|| (count == 2 && args[1].type != IMAP_ARG_ATOM)) {
	imapd_bad(s, "AUTHENTICATE needs a mechanism name");
	return;
    }
    mech = args[0].str;
    if (strcasecmp(mech, "PLAIN") != 0 && strcasecmp(mech, "LOGIN") != 0) {
	imapd_no(s, "Unsupported authentication mechanism.");
	return;
    }
    if (!imapd_plaintext_ok(s)) {
	imapd_no(s, "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
		 "(SSL/TLS) connections.");
	return;
    }
    if (count == 2) {
	resp = vstring_alloc(64);
	if (strcmp(args[1].str, "=") != 0
	    && base64_decode(resp, args[1].str, strlen(args[1].str)) < 0) {
	    imapd_bad(s, "Invalid base64 initial response");
	    vstring_free(&resp);
	    return;
	}
    }
    if ((ac = login_auth_connect(&err)) == NULL) {
	if (resp)
	    vstring_free(&resp);
	imapd_auth_done(s, "AUTHENTICATE", -1, NULL, false, err);
	return;
    }
    data = vstring_alloc(64);
    r = login_sasl(ac, mech, &params, resp, imapd_sasl_io, s, data, &temp, &err);
    if (resp)
	vstring_free(&resp);
    auth_client_free(&ac);
    if (r == LOGIN_SASL_DISCONNECTED || r == LOGIN_SASL_TOO_LONG) {
	s->state = IMAPD_LOGOUT;
	imapd_no(s, "Disconnected during authentication.");
    } else if (r == LOGIN_SASL_ABORTED) {
	imapd_bad(s, "Authentication aborted by client.");
    } else if (r == LOGIN_SASL_BAD_BASE64) {
	imapd_bad(s, "Invalid base64 data in continued response");
    } else
	imapd_auth_done(s, "AUTHENTICATE", r, data, temp, err);
    vstring_free(&data);
}
