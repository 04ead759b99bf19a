/* pop3d_login.c - the AUTHORIZATION state: CAPA, USER, PASS, APOP, AUTH
 * (RFC 5034: PLAIN and LOGIN, initial response, "*" to cancel), and the
 * switch to TRANSACTION through pop3d_maildrop_open.
 *
 * Passwords go to the auth service (queue_directory/private/auth) and
 * are wiped from our buffers. Response codes (RFC 2449/3206): [AUTH] for
 * credentials that were refused or may not be used here, [SYS/TEMP] for
 * a failure that is ours and may go away, [IN-USE] from the maildrop
 * lock. After POP3D_MAX_AUTH_FAILURES failures the session ends.
 */
#include "sys_defs.h"

#include <string.h>

#include "auth_client.h"
#include "base64_code.h"
#include "config.h"
#include "msg.h"
#include "login_split.h"
#include "mymalloc.h"
#include "login_userip.h"
#include "pop3d.h"

#define POP3D_MAX_AUTH_FAILURES 3

/* cmd_capa - CAPA (RFC 2449): exactly what this session can use */
void    cmd_capa(POP3D_SESSION *s, POP3_CMD *cmd)
{
    if (cmd->argc != 0) {
	pop3d_err(s, "CAPA takes no arguments.");
	return;
    }
    pop3d_ok(s, "Capability list follows");
    pop3d_send(s, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (s->state == POP3D_AUTHORIZATION) {
	if (pop3d_plaintext_ok(s))
	    pop3d_send(s, "USER\r\nSASL PLAIN LOGIN\r\n");
	if (pop3d_tls_available(s))
	    pop3d_send(s, "STLS\r\n");
    }
    if (var_pop3_expire > 0)
	pop3d_send(s, "EXPIRE %ld\r\n", var_pop3_expire / 86400);
    if (var_pop3_login_delay > 0)
	pop3d_send(s, "LOGIN-DELAY %ld\r\n", var_pop3_login_delay);
    pop3d_send(s, "IMPLEMENTATION Posthorn\r\n.\r\n");
}

/* cmd_user - USER name */
void    cmd_user(POP3D_SESSION *s, POP3_CMD *cmd)
{
    if (!pop3d_plaintext_ok(s)) {
	pop3d_err(s, "[AUTH] Plaintext authentication disallowed on non-secure "
		  "(SSL/TLS) connections.");
	return;
    }
    if (cmd->argc != 1 || strlen(cmd->args[0]) > 255) {
	pop3d_err(s, "USER needs one user name.");
	return;
    }
    myfree(s->user);
    s->user = mystrdup(cmd->args[0]);
    pop3d_ok(s, "%s", "");
}

/* pop3d_auth_done - common end of PASS, APOP and AUTH: r is
 * AUTH_CLIENT_OK/FAIL or -1 (auth service trouble); data holds the user
 * name on success */
static void pop3d_auth_done(POP3D_SESSION *s, const char *mech, int r, VSTRING *data,
			    bool temp, const char *err)
{
    const char *user = r == AUTH_CLIENT_OK ? STR(data) : s->user ? s->user : "";

    if (r < 0) {
	msg_warn("auth service: %s", err);
	pop3d_err(s, "[SYS/TEMP] Temporary authentication failure.");
	return;
    }
    if (r != AUTH_CLIENT_OK) {
	msg_info("%s authentication failed: user=<%s>, rip=%s, lip=%s%s", mech, user,
		 s->rip, s->lip, s->tls_on ? ", TLS" : "");
	myfree(s->user);
	s->user = NULL;
	if (temp) {
	    pop3d_err(s, "[SYS/TEMP] Temporary authentication failure.");
	    return;
	}
	pop3d_err(s, "[AUTH] Authentication failed.");
	if (++s->auth_failures >= POP3D_MAX_AUTH_FAILURES) {
	    msg_info("too many authentication failures from [%s]", s->rip);
	    pop3d_err(s, "Too many authentication failures.");
	    s->state = POP3D_QUIT;
	}
	return;
    }
    if (login_split_active()) {
	/* pre-login child of the split: the root parent takes over */
	pop3d_flush(s);
	login_split_handover(s->client, &s->tls, "-", user, mech, "", 0,
			     POP3D_AUTOLOGOUT + 60);
    }
    (void) pop3d_post_login(s, user, mech);
}

/* pop3d_post_login - open the maildrop (after the userdb lookup and, as
 * root, the switch to the user's uid/gid) and enter TRANSACTION; 0, or -1
 * after an -ERR reply (the session stays in AUTHORIZATION) */
int     pop3d_post_login(POP3D_SESSION *s, const char *user, const char *mech)
{
    const char *err;

    if (!login_userip_admit("pop3-userip", user, s->rip)) {
	pop3d_err(s, "[IN-USE] %s", login_userip_reason());
	myfree(s->user);
	s->user = NULL;
	return -1;
    }
    if (pop3d_maildrop_open(s, user, &err) < 0) {
	if (strncmp(err, "[IN-USE]", 8) == 0) {
	    msg_info("%s: maildrop in use, rip=%s", user, s->rip);
	    pop3d_err(s, "%s", err);
	} else {
	    msg_warn("%s: login refused: %s", user, err);
	    pop3d_err(s, "[SYS/TEMP] Couldn't open INBOX. Refer to server log.");
	}
	myfree(s->user);
	s->user = NULL;
	return -1;
    }
    msg_info("Login: user=<%s>, method=%s, rip=%s, lip=%s%s", s->user, mech, s->rip,
	     s->lip, s->tls_on ? ", TLS" : "");
    pop3d_ok(s, "Logged in.");
    return 0;
}

/* cmd_pass - PASS password (the rest of the line: spaces allowed) */
void    cmd_pass(POP3D_SESSION *s, POP3_CMD *cmd)
{
    const char *err = "";
    AUTH_CLIENT *ac;
    AUTH_CLIENT_PARAMS params = {"pop3", s->rip, s->lip, s->tls_on};
    VSTRING *data;
    bool    temp = false;
    int     r;

    if (s->user == NULL) {
	pop3d_err(s, "No user name given (USER first).");
	return;
    }
    if (!pop3d_plaintext_ok(s)) {
	pop3d_err(s, "[AUTH] Plaintext authentication disallowed on non-secure "
		  "(SSL/TLS) connections.");
	return;
    }
    if (cmd->argc == 0) {
	pop3d_err(s, "PASS needs a password.");
	return;
    }
    if ((ac = login_auth_connect(&err)) == NULL) {
	pop3d_auth_done(s, "USER", -1, NULL, false, err);
	return;
    }
    params.secured = s->secured;
    data = vstring_alloc(64);
    r = auth_client_plain(ac, &params, s->user, cmd->rest, data, &temp, &err);
    memset((char *) cmd->rest, 0, strlen(cmd->rest));
    auth_client_free(&ac);
    pop3d_auth_done(s, "USER", r, data, temp, err);
    vstring_free(&data);
}

/* cmd_apop - APOP name digest (only with pop3_enable_apop and an auth
 * service that offers the APOP mechanism) */
void    cmd_apop(POP3D_SESSION *s, POP3_CMD *cmd)
{
    const char *err = "";
    AUTH_CLIENT *ac;
    AUTH_CLIENT_PARAMS params = {"pop3", s->rip, s->lip, s->secured};
    VSTRING *resp, *data;
    bool    temp = false;
    int     r;

    if (!var_pop3_enable_apop || *s->apop_stamp == 0) {
	pop3d_err(s, "APOP is not enabled.");
	return;
    }
    if (cmd->argc != 2 || strlen(cmd->args[1]) != 32) {
	pop3d_err(s, "APOP needs a user name and an MD5 digest.");
	return;
    }
    if ((ac = login_auth_connect(&err)) == NULL) {
	pop3d_auth_done(s, "APOP", -1, NULL, false, err);
	return;
    }
    if (!auth_client_has_mech(ac, "APOP")) {
	auth_client_free(&ac);
	msg_warn("APOP is enabled but the auth service does not offer the APOP mechanism");
	pop3d_err(s, "[SYS/PERM] APOP is not available.");
	return;
    }
    resp = vstring_alloc(128);
    data = vstring_alloc(64);
    vstring_cat(resp, s->apop_stamp);
    vstring_addch(resp, 0);
    vstring_cat(resp, cmd->args[0]);
    vstring_addch(resp, 0);
    vstring_cat(resp, cmd->args[1]);
    myfree(s->user);
    s->user = mystrdup(cmd->args[0]);
    r = auth_client_begin(ac, "APOP", &params, STR(resp), LEN(resp), &err);
    if (r == 0)
	r = auth_client_reply(ac, data, &temp, &err);
    if (r == AUTH_CLIENT_CONT) {
	r = -1;
	err = "unexpected APOP continuation";
    }
    auth_client_free(&ac);
    pop3d_auth_done(s, "APOP", r, data, temp, err);
    vstring_free(&resp);
    vstring_free(&data);
}

/* pop3d_sasl_io - send a challenge, read the client's answer */
static int pop3d_sasl_io(void *ctx, const char *challenge, VSTRING *line)
{
    POP3D_SESSION *s = ctx;
    int     r;

    pop3d_send(s, "+ %s\r\n", challenge);
    if ((r = pop3d_read_line(s, line)) < 0)
	return -1;
    return r == 2 ? -2 : 0;
}

/* cmd_auth - AUTH [mechanism [initial-response]] */
void    cmd_auth(POP3D_SESSION *s, POP3_CMD *cmd)
{
    const char *mech, *err = "";
    AUTH_CLIENT *ac;
    AUTH_CLIENT_PARAMS params = {"pop3", s->rip, s->lip, s->secured};
    VSTRING *resp = NULL, *data;
    bool    temp = false;
    int     r;

    if (cmd->argc == 0) {			/* pre-RFC 5034 clients list */
	pop3d_ok(s, "%s", "");
	if (pop3d_plaintext_ok(s))
	    pop3d_send(s, "PLAIN\r\nLOGIN\r\n");
	pop3d_send(s, ".\r\n");
	return;
    }
    if (cmd->argc > 2) {
	pop3d_err(s, "AUTH needs a mechanism name.");
	return;
    }
    mech = cmd->args[0];
    if (strcasecmp(mech, "PLAIN") != 0 && strcasecmp(mech, "LOGIN") != 0) {
	pop3d_err(s, "Unsupported authentication mechanism.");
	return;
    }
    if (!pop3d_plaintext_ok(s)) {
	pop3d_err(s, "[AUTH] Plaintext authentication disallowed on non-secure "
		  "(SSL/TLS) connections.");
	return;
    }
    if (cmd->argc == 2) {
	resp = vstring_alloc(64);
	if (strcmp(cmd->args[1], "=") != 0
	    && base64_decode(resp, cmd->args[1], strlen(cmd->args[1])) < 0) {
	    pop3d_err(s, "Invalid base64 data in initial response.");
	    vstring_free(&resp);
	    return;
	}
    }
    if ((ac = login_auth_connect(&err)) == NULL) {
	if (resp)
	    vstring_free(&resp);
	pop3d_auth_done(s, mech, -1, NULL, false, err);
	return;
    }
    data = vstring_alloc(64);
    r = login_sasl(ac, mech, &params, resp, pop3d_sasl_io, s, data, &temp, &err);
    if (resp)
	vstring_free(&resp);
    auth_client_free(&ac);
    if (r == LOGIN_SASL_DISCONNECTED)
	s->state = POP3D_QUIT;
    else if (r == LOGIN_SASL_ABORTED)
	pop3d_err(s, "Authentication aborted by client.");
    else if (r == LOGIN_SASL_BAD_BASE64)
	pop3d_err(s, "Invalid base64 data in continued response.");
    else if (r == LOGIN_SASL_TOO_LONG)
	pop3d_err(s, "Response too long.");
    else
	pop3d_auth_done(s, mech, r, data, temp, err);
    vstring_free(&data);
}
