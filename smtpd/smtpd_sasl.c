/* smtpd_sasl.c - SMTP AUTH (RFC 4954) for smtpd: EHLO advertisement, the
 * AUTH verb and the SASL exchange, through one of two back ends:
 *
 *   smtpd_sasl_type = dovecot (default): the Dovecot authentication
 *	protocol on the UNIX socket smtpd_sasl_path (relative to
 *	queue_directory unless absolute): Posthorn's auth service or a real
 *	Dovecot's auth-client socket, through lib/auth_client.
 *   smtpd_sasl_type = cyrus: libsasl2's server side; smtpd_sasl_path is
 *	the application name (smtpd -> smtpd.conf in the Cyrus configuration
 *	path, or in cyrus_sasl_config_path when that is set).
 *
 * Contract (smtpd_sasl.h; Postfix's names, replies and log lines):
 *   EHLO offers "AUTH mech ..." when smtpd_sasl_auth_enable is on, the
 *   client is not in smtpd_sasl_exceptions_networks, and the mechanism
 *   list filtered by smtpd_sasl_security_options (smtpd_sasl_tls_
 *   security_options once TLS is active: noplaintext, noanonymous,
 *   nodictionary, mutual_auth, forward_secrecy) is not empty. With
 *   smtpd_tls_auth_only AUTH is hidden until TLS is active (and AUTH then
 *   gets 538 5.7.11). broken_sasl_auth_clients adds "AUTH=mech ...".
 *   A failed login is logged as "warning: name[addr]: SASL PLAIN
 *   authentication failed: reason" (what fail2ban's postfix filter looks
 *   for) and answered "535 5.7.8 Error: authentication failed: reason"
 *   (454 4.7.0 for a temporary failure). Success: "235 2.7.0
 *   Authentication successful"; the session's protocol becomes ESMTPA or
 *   ESMTPSA and the login name and mechanism go into the queue file and
 *   the "ID: client=..." log line (smtpd.c).
 *
 * Credentials: decoded responses and the command lines that carried them
 * are wiped (vstring_wipe) as soon as they were passed on.
 *
 * Limits: one SASL exchange at a time; each response line is bounded by
 * line_length_limit ("500 5.5.6 Authentication exchange line is too
 * long"); an exchange has at most SMTPD_SASL_MAX_STEPS round trips. No SASL
 * security layers (ssf 0). smtpd_sasl_local_domain is passed to libsasl2
 * as the user realm; the Dovecot protocol has no realm field, so it is not
 * used there. smtpd_sasl_path of the form inet:host:port is not supported.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <sasl/sasl.h>

#include "argv.h"
#include "auth_client.h"
#include "base64_code.h"
#include "config.h"
#include "match_list.h"
#include "msg.h"
#include "mymalloc.h"
#include "stream.h"
#include "vstring.h"

#include "smtpd.h"
#include "smtpd_chat.h"
#include "smtpd_sasl.h"

#define SMTPD_SASL_MAX_STEPS 20

/* Security option bits (smtpd_sasl_security_options). */
#define SEC_NOPLAINTEXT   (1 << 0)
#define SEC_NOANONYMOUS   (1 << 1)
#define SEC_NODICTIONARY  (1 << 2)
#define SEC_NOACTIVE      (1 << 3)
#define SEC_MUTUAL_AUTH   (1 << 4)
#define SEC_FORWARD_SECRECY (1 << 5)

struct smtpd_sasl {
    AUTH_CLIENT *ac;		/* dovecot: the auth connection, or NULL */
    sasl_conn_t *conn;		/* cyrus: the SASL connection, or NULL */
    bool    broken;		/* the back end failed for this session */
    ARGV   *mechs;		/* mechanisms offered in the last EHLO */
    VSTRING *data;		/* decoded challenge / response / result */
    VSTRING *line;		/* the client's response lines */
};

static bool smtpd_sasl_cyrus;	/* smtpd_sasl_type = cyrus */
static MATCH_LIST *smtpd_sasl_excl;	/* smtpd_sasl_exceptions_networks */
static int smtpd_sasl_sec_plain;	/* security options without TLS */
static int smtpd_sasl_sec_tls;	/* security options with TLS */

/* smtpd_sasl_sec_parse - smtpd_sasl_*security_options into bits */
static int smtpd_sasl_sec_parse(const char *param, const char *value)
{
    static const struct {
	const char *name;
	int     bit;
    } opts[] = {
	{"noplaintext", SEC_NOPLAINTEXT},
	{"noanonymous", SEC_NOANONYMOUS},
	{"nodictionary", SEC_NODICTIONARY},
	{"noactive", SEC_NOACTIVE},
	{"mutual_auth", SEC_MUTUAL_AUTH},
	{"forward_secrecy", SEC_FORWARD_SECRECY},
    };
    ARGV   *words = argv_split_list(value ? value : "");
    int     bits = 0;

    for (int i = 0; i < words->argc; i++) {
	size_t  j;

	for (j = 0; j < PH_ARRAY_LEN(opts); j++)
	    if (strcasecmp(words->argv[i], opts[j].name) == 0)
		break;
	if (j == PH_ARRAY_LEN(opts))
	    msg_fatal("parameter %s: unknown SASL security option \"%s\"", param,
		      words->argv[i]);
	bits |= opts[j].bit;
    }
    argv_free(&words);
    return bits;
}

/* smtpd_sasl_cyrus_log - libsasl2 messages into our log */
static int smtpd_sasl_cyrus_log(void *ctx, int level, const char *message)
{
    (void) ctx;
    switch (level) {
    case SASL_LOG_ERR:
    case SASL_LOG_FAIL:
	msg_warn("SASL authentication problem: %s", message);
	break;
    case SASL_LOG_WARN:
	msg_warn("SASL authentication info: %s", message);
	break;
    default:
	if (msg_verbose)
	    msg_info("SASL authentication info: %s", message);
	break;
    }
    return SASL_OK;
}

/* smtpd_sasl_cyrus_confpath - cyrus_sasl_config_path */
static int smtpd_sasl_cyrus_confpath(void *ctx, const char **path)
{
    (void) ctx;
    *path = var_cyrus_sasl_config_path;
    return SASL_OK;
}

typedef int (*smtpd_sasl_cb_fn)(void);

#define SMTPD_SASL_CB(f) ((smtpd_sasl_cb_fn) (void (*)(void)) (f))

static sasl_callback_t smtpd_sasl_callbacks[] = {
    {SASL_CB_LOG, 0, NULL},
    {SASL_CB_LIST_END, 0, NULL},		/* GETCONFPATH when configured */
    {SASL_CB_LIST_END, 0, NULL},
};

/* smtpd_sasl_pre_init - back end, options, exceptions */
void    smtpd_sasl_pre_init(void)
{
    const char *err;
    int     rc;

    if (!var_smtpd_sasl_auth_enable)
	return;
    smtpd_sasl_sec_plain = smtpd_sasl_sec_parse("smtpd_sasl_security_options",
						var_smtpd_sasl_security_options);
    smtpd_sasl_sec_tls = smtpd_sasl_sec_parse("smtpd_sasl_tls_security_options",
					      var_smtpd_sasl_tls_security_options);
    if (var_smtpd_sasl_exceptions_networks && *var_smtpd_sasl_exceptions_networks
	&& (smtpd_sasl_excl = match_list_create("smtpd_sasl_exceptions_networks",
						var_smtpd_sasl_exceptions_networks,
						MATCH_FLAG_HOST, &err)) == NULL)
	msg_fatal("parameter smtpd_sasl_exceptions_networks: %s", err);
    if (var_smtpd_sasl_type == NULL || strcasecmp(var_smtpd_sasl_type, "dovecot") == 0) {
	smtpd_sasl_cyrus = false;
    } else if (strcasecmp(var_smtpd_sasl_type, "cyrus") == 0) {
	smtpd_sasl_cyrus = true;
	smtpd_sasl_callbacks[0].proc = SMTPD_SASL_CB(smtpd_sasl_cyrus_log);
	if (var_cyrus_sasl_config_path && *var_cyrus_sasl_config_path) {
	    smtpd_sasl_callbacks[1].id = SASL_CB_GETCONFPATH;
	    smtpd_sasl_callbacks[1].proc = SMTPD_SASL_CB(smtpd_sasl_cyrus_confpath);
	}
	if ((rc = sasl_server_init(smtpd_sasl_callbacks, var_smtpd_sasl_path)) != SASL_OK)
	    msg_fatal("SASL per-process initialization failed: %s",
		      sasl_errstring(rc, NULL, NULL));
    } else {
	msg_fatal("unsupported SASL server implementation: %s (use dovecot or cyrus)",
		  var_smtpd_sasl_type);
    }
}

/* smtpd_sasl_enabled - AUTH is configured for this client at all */
static bool smtpd_sasl_enabled(SMTPD_STATE *state)
{
    const char *err;
    int     m;

    if (!var_smtpd_sasl_auth_enable || state->stand_alone)
	return false;
    if (smtpd_sasl_excl != NULL) {
	m = match_list_match(smtpd_sasl_excl, state->name, state->addr, &err);
	if (m < 0)
	    msg_warn("smtpd_sasl_exceptions_networks lookup for %s: %s", state->namaddr, err);
	if (m != 0)
	    return false;
    }
    return true;
}

/* smtpd_sasl_get - the session's SASL state, created on first use */
static struct smtpd_sasl *smtpd_sasl_get(SMTPD_STATE *state)
{
    if (state->sasl == NULL) {
	state->sasl = mycalloc(1, sizeof(*state->sasl));
	state->sasl->mechs = argv_alloc(4);
	state->sasl->data = vstring_alloc(100);
	state->sasl->line = vstring_alloc(100);
    }
    return state->sasl;
}

/* smtpd_sasl_ipport - "addr;port" for libsasl2 */
static void smtpd_sasl_ipport(VSTRING *buf, const struct sockaddr_storage *sa)
{
    char    host[INET6_ADDRSTRLEN];
    unsigned port;

    vstring_reset(buf);
    if (sa->ss_family == AF_INET) {
	const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

	if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)) == NULL)
	    return;
	port = ntohs(in->sin_port);
    } else if (sa->ss_family == AF_INET6) {
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

	if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)) == NULL)
	    return;
	port = ntohs(in6->sin6_port);
    } else {
	return;
    }
    vstring_fmt(buf, "%s;%u", host, port);
}

/* smtpd_sasl_cyrus_open - a new libsasl2 connection for the current TLS
 * state; false on error (logged) */
static bool smtpd_sasl_cyrus_open(SMTPD_STATE *state, struct smtpd_sasl *s)
{
    sasl_security_properties_t sec;
    struct sockaddr_storage lsa;
    socklen_t llen = sizeof(lsa);
    VSTRING *local = vstring_alloc(64);
    VSTRING *remote = vstring_alloc(64);
    int     bits = state->tls ? smtpd_sasl_sec_tls : smtpd_sasl_sec_plain;
    int     rc;

    if (s->conn)
	sasl_dispose(&s->conn);
    if (getsockname(stream_fd(state->client), (struct sockaddr *) &lsa, &llen) == 0)
	smtpd_sasl_ipport(local, &lsa);
    smtpd_sasl_ipport(remote, &state->sa);
    rc = sasl_server_new("smtp", var_myhostname,
			 var_smtpd_sasl_local_domain && *var_smtpd_sasl_local_domain ?
			 var_smtpd_sasl_local_domain : NULL,
			 LEN(local) ? STR(local) : NULL, LEN(remote) ? STR(remote) : NULL,
			 NULL, 0, &s->conn);
    vstring_free(&local);
    vstring_free(&remote);
    if (rc != SASL_OK) {
	msg_warn("SASL per-connection server initialization: %s", sasl_errstring(rc, NULL, NULL));
	s->conn = NULL;
	return false;
    }
    memset(&sec, 0, sizeof(sec));
    sec.max_ssf = 0;				/* no security layer */
    sec.maxbufsize = 0;
    if (bits & SEC_NOPLAINTEXT)
	sec.security_flags |= SASL_SEC_NOPLAINTEXT;
    if (bits & SEC_NOANONYMOUS)
	sec.security_flags |= SASL_SEC_NOANONYMOUS;
    if (bits & SEC_NODICTIONARY)
	sec.security_flags |= SASL_SEC_NODICTIONARY;
    if (bits & SEC_NOACTIVE)
	sec.security_flags |= SASL_SEC_NOACTIVE;
    if (bits & SEC_MUTUAL_AUTH)
	sec.security_flags |= SASL_SEC_MUTUAL_AUTH;
    if (bits & SEC_FORWARD_SECRECY)
	sec.security_flags |= SASL_SEC_FORWARD_SECRECY;
    if ((rc = sasl_setprop(s->conn, SASL_SEC_PROPS, &sec)) != SASL_OK) {
	msg_warn("SASL per-connection security setup: %s", sasl_errstring(rc, NULL, NULL));
	sasl_dispose(&s->conn);
	return false;
    }
    return true;
}

/* smtpd_sasl_filtered - a Dovecot mechanism the security options exclude */
static bool smtpd_sasl_filtered(AUTH_CLIENT *ac, const char *mech, int bits)
{
    static const char *const dictionary[] = {"PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"};
    static const char *const mutual[] = {"DIGEST-MD5", "GSSAPI", "SCRAM-SHA-1", "SCRAM-SHA-256"};
    bool    plaintext = auth_client_mech_plaintext(ac, mech)
	|| strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0;
    bool    found;

    if ((bits & (SEC_NOPLAINTEXT | SEC_NOACTIVE)) && plaintext)
	return true;
    if ((bits & SEC_NOANONYMOUS) && strcasecmp(mech, "ANONYMOUS") == 0)
	return true;
    if (bits & SEC_NODICTIONARY) {
	for (size_t i = 0; i < PH_ARRAY_LEN(dictionary); i++)
	    if (strcasecmp(mech, dictionary[i]) == 0)
		return true;
    }
    if (bits & SEC_MUTUAL_AUTH) {
	found = false;
	for (size_t i = 0; i < PH_ARRAY_LEN(mutual); i++)
	    found |= strcasecmp(mech, mutual[i]) == 0;
	if (!found)
	    return true;
    }
    if (bits & SEC_FORWARD_SECRECY)
	return true;				/* none of the SMTP mechanisms has it */
    return false;
}

/* smtpd_sasl_mechs - fill s->mechs for the current TLS state */
static void smtpd_sasl_mechs(SMTPD_STATE *state, struct smtpd_sasl *s)
{
    int     bits = state->tls ? smtpd_sasl_sec_tls : smtpd_sasl_sec_plain;

    argv_truncate(s->mechs, 0);
    if (s->broken)
	return;
    if (smtpd_sasl_cyrus) {
	const char *list;
	unsigned len;
	int     count;

	if (!smtpd_sasl_cyrus_open(state, s))
	    return;
	if (sasl_listmech(s->conn, NULL, "", " ", "", &list, &len, &count) != SASL_OK)
	    return;
	ARGV   *words = argv_split(list, " ");

	for (int i = 0; i < words->argc; i++)
	    argv_add(s->mechs, words->argv[i], (char *) 0);
	argv_free(&words);
	return;
    }
    if (s->ac == NULL) {
	VSTRING *path = vstring_alloc(100);
	const char *err;

	if (var_smtpd_sasl_path[0] == '/')
	    vstring_set(path, var_smtpd_sasl_path);
	else
	    vstring_fmt(path, "%s/%s", var_queue_directory, var_smtpd_sasl_path);
	s->ac = auth_client_connect(STR(path), (int) var_smtpd_timeout, &err);
	if (s->ac == NULL) {
	    msg_warn("SASL: Connect to %s failed: %s", var_smtpd_sasl_path, err);
	    s->broken = true;
	}
	vstring_free(&path);
	if (s->broken)
	    return;
    }
    const ARGV *all = auth_client_mechs(s->ac);

    for (int i = 0; i < all->argc; i++)
	if (!smtpd_sasl_filtered(s->ac, all->argv[i], bits))
	    argv_add(s->mechs, all->argv[i], (char *) 0);
}

/* smtpd_sasl_ehlo - the AUTH keyword(s) */
void    smtpd_sasl_ehlo(SMTPD_STATE *state, ARGV *kw)
{
    struct smtpd_sasl *s;
    VSTRING *buf;

    if (!smtpd_sasl_enabled(state) || state->sasl_username != NULL
	|| (var_smtpd_tls_auth_only && state->tls == NULL))
	return;
    s = smtpd_sasl_get(state);
    smtpd_sasl_mechs(state, s);
    if (s->mechs->argc == 0)
	return;
    buf = vstring_alloc(100);
    vstring_set(buf, "AUTH");
    for (int i = 0; i < s->mechs->argc; i++)
	vstring_fmt_append(buf, " %s", s->mechs->argv[i]);
    argv_add(kw, STR(buf), (char *) 0);
    if (var_broken_sasl_auth_clients) {
	STR(buf)[4] = '=';
	argv_add(kw, STR(buf), (char *) 0);
    }
    vstring_free(&buf);
}

/* smtpd_sasl_offered - mech was in the list advertised */
static bool smtpd_sasl_offered(struct smtpd_sasl *s, const char *mech)
{
    for (int i = 0; i < s->mechs->argc; i++)
	if (strcasecmp(s->mechs->argv[i], mech) == 0)
	    return true;
    return false;
}

/* smtpd_sasl_decode - a client response: "=" is empty, otherwise base64;
 * -1 when it does not decode */
static int smtpd_sasl_decode(VSTRING *out, const char *text)
{
    if (strcmp(text, "=") == 0) {
	vstring_reset(out);
	return 0;
    }
    return base64_decode(out, text, strlen(text));
}

/* Result of one exchange step (both back ends). */
#define STEP_OK    0
#define STEP_CONT  1
#define STEP_FAIL  2
#define STEP_TEMP  3

/* smtpd_sasl_dovecot_step - start (first) or continue; the result,
 * challenge, user name or reason is left in s->data */
static int smtpd_sasl_dovecot_step(SMTPD_STATE *state, struct smtpd_sasl *s, const char *mech,
				   bool first, const void *resp, size_t len, bool have_resp)
{
    AUTH_CLIENT_PARAMS params;
    const char *err;
    bool    temp;
    int     rc;

    memset(&params, 0, sizeof(params));
    params.service = "smtp";
    params.rip = state->addr;
    params.secured = state->tls != NULL;
    if (first)
	rc = auth_client_begin(s->ac, mech, &params, have_resp ? resp : NULL, len, &err);
    else
	rc = auth_client_continue(s->ac, resp, len, &err);
    if (rc == 0)
	rc = auth_client_reply(s->ac, s->data, &temp, &err);
    if (rc < 0) {
	msg_warn("%s: SASL %s: %s", state->namaddr, mech, err);
	auth_client_free(&s->ac);
	s->broken = true;
	vstring_set(s->data, "Connection lost to authentication server");
	return STEP_TEMP;
    }
    if (rc == AUTH_CLIENT_CONT)
	return STEP_CONT;
    if (rc == AUTH_CLIENT_OK)
	return STEP_OK;
    if (LEN(s->data) == 0)
	vstring_set(s->data, "authentication failure");
    return temp ? STEP_TEMP : STEP_FAIL;
}

/* smtpd_sasl_cyrus_step - the same through libsasl2 */
static int smtpd_sasl_cyrus_step(struct smtpd_sasl *s, const char *mech, bool first,
				 const void *resp, size_t len, bool have_resp)
{
    const char *out = NULL;
    unsigned outlen = 0;
    const void *user = NULL;
    int     rc;

    if (first)
	rc = sasl_server_start(s->conn, mech, have_resp ? resp : NULL, (unsigned) len,
			       &out, &outlen);
    else
	rc = sasl_server_step(s->conn, resp, (unsigned) len, &out, &outlen);
    vstring_reset(s->data);
    if (rc == SASL_CONTINUE) {
	vstring_catn(s->data, out ? out : "", out ? outlen : 0);
	return STEP_CONT;
    }
    if (rc == SASL_OK) {
	if (sasl_getprop(s->conn, SASL_USERNAME, &user) != SASL_OK || user == NULL) {
	    vstring_set(s->data, "no user name");
	    return STEP_FAIL;
	}
	vstring_set(s->data, (const char *) user);
	return STEP_OK;
    }
    vstring_set(s->data, sasl_errstring(rc, NULL, NULL));
    return (rc == SASL_TRYAGAIN || rc == SASL_UNAVAIL) ? STEP_TEMP : STEP_FAIL;
}

/* smtpd_sasl_abort - end an unfinished exchange on the back end */
static void smtpd_sasl_abort(struct smtpd_sasl *s)
{
    const char *err;

    if (s->ac && auth_client_cancel(s->ac, &err) < 0) {
	auth_client_free(&s->ac);
	s->broken = true;
    }
    if (s->conn)
	sasl_dispose(&s->conn);			/* reopened at the next EHLO/AUTH */
}

/* smtpd_sasl_fail - log and reply a failed exchange */
static int smtpd_sasl_fail(SMTPD_STATE *state, const char *mech, int step, const char *reason)
{
    msg_warn("%s: SASL %s authentication failed: %s", state->namaddr, mech, reason);
    if (step == STEP_TEMP)
	smtpd_reply(state, "454 4.7.0 Temporary authentication failure: %s", reason);
    else
	smtpd_reply(state, "535 5.7.8 Error: authentication failed: %s", reason);
    return -1;
}

/* smtpd_auth_cmd - AUTH mechanism [initial-response] */
int     smtpd_auth_cmd(SMTPD_STATE *state, int argc, char **argv)
{
    struct smtpd_sasl *s;
    char    mech[64];
    bool    first = true;
    bool    have_resp = argc == 3;
    int     step;
    int     eol;

    if (!smtpd_sasl_enabled(state)) {
	smtpd_reply(state, "503 5.5.1 Error: authentication not enabled");
	return -1;
    }
    if (var_smtpd_tls_auth_only && state->tls == NULL) {
	smtpd_reply(state, "538 5.7.11 Encryption required for requested authentication mechanism");
	return -1;
    }
    if (state->helo_name == NULL) {
	smtpd_reply(state, "503 5.5.1 Error: send HELO/EHLO first");
	return -1;
    }
    if (state->sender != NULL) {
	smtpd_reply(state, "503 5.5.1 Error: MAIL transaction in progress");
	return -1;
    }
    if (state->sasl_username != NULL) {
	smtpd_reply(state, "503 5.5.1 Error: already authenticated");
	return -1;
    }
    if (argc < 2 || argc > 3) {
	smtpd_reply(state, "501 5.5.4 Syntax: AUTH mechanism");
	return -1;
    }
    s = smtpd_sasl_get(state);
    if (s->mechs->argc == 0 || (smtpd_sasl_cyrus ? s->conn == NULL : s->ac == NULL))
	smtpd_sasl_mechs(state, s);		/* AUTH without EHLO's list */
    if (s->mechs->argc == 0) {
	smtpd_reply(state, "454 4.7.0 Temporary authentication failure: "
		    "no authentication mechanisms available");
	return -1;
    }
    ph_strlcpy(mech, argv[1], sizeof(mech));
    for (char *cp = mech; *cp; cp++)
	*cp = (char) toupper((unsigned char) *cp);
    if (strlen(argv[1]) >= sizeof(mech) || !smtpd_sasl_offered(s, mech))
	return smtpd_sasl_fail(state, mech, STEP_FAIL, "Invalid authentication mechanism");
    if (have_resp && smtpd_sasl_decode(s->data, argv[2]) < 0) {
	smtpd_reply(state, "501 5.5.2 Cannot decode response");
	return -1;
    }
    if (!have_resp)
	vstring_reset(s->data);
    vstring_set(s->line, "");
    for (int round = 0;; round++) {
	VSTRING *resp = vstring_alloc(LEN(s->data) + 1);

	vstring_catn(resp, STR(s->data), LEN(s->data));
	vstring_wipe(s->data);
	if (smtpd_sasl_cyrus)
	    step = smtpd_sasl_cyrus_step(s, mech, first, STR(resp), LEN(resp), first ? have_resp : true);
	else
	    step = smtpd_sasl_dovecot_step(state, s, mech, first, STR(resp), LEN(resp),
					   first ? have_resp : true);
	vstring_wipe(resp);
	vstring_free(&resp);
	first = false;
	if (step == STEP_OK)
	    break;
	if (step != STEP_CONT) {
	    if (smtpd_sasl_cyrus)
		smtpd_sasl_abort(s);
	    return smtpd_sasl_fail(state, mech, step, STR(s->data));
	}
	if (round >= SMTPD_SASL_MAX_STEPS) {
	    smtpd_sasl_abort(s);
	    return smtpd_sasl_fail(state, mech, STEP_FAIL, "too many authentication steps");
	}
	/* 334 challenge, then one response line */
	VSTRING *b64 = vstring_alloc(LEN(s->data) * 4 / 3 + 8);

	base64_encode(b64, STR(s->data), LEN(s->data));
	smtpd_reply(state, "334 %s", STR(b64));
	vstring_free(&b64);
	switch (smtpd_chat_getline(state, s->line, &eol)) {
	case 0:
	    smtpd_sasl_abort(s);
	    return -1;				/* lost connection / timeout */
	case 2:
	    vstring_wipe(s->line);
	    smtpd_sasl_abort(s);
	    smtpd_reply(state, "500 5.5.6 Authentication exchange line is too long");
	    return -1;
	default:
	    break;
	}
	if (strcmp(STR(s->line), "*") == 0) {
	    smtpd_sasl_abort(s);
	    smtpd_reply(state, "501 5.7.0 Authentication aborted");
	    return -1;
	}
	if (base64_decode(s->data, STR(s->line), LEN(s->line)) < 0) {
	    vstring_wipe(s->line);
	    smtpd_sasl_abort(s);
	    smtpd_reply(state, "501 5.5.2 Cannot decode response");
	    return -1;
	}
	vstring_wipe(s->line);
    }
    /* Authenticated. */
    state->sasl_username = mystrdup(STR(s->data));
    vstring_wipe(s->data);
    state->sasl_method = mystrdup(mech);
    state->flags |= SMTPD_FLAG_AUTH;
    if (state->protocol && strcmp(state->protocol, "ESMTP") == 0) {
	myfree(state->protocol);
	state->protocol = mystrdup("ESMTPA");
    } else if (state->protocol && strcmp(state->protocol, "ESMTPS") == 0) {
	myfree(state->protocol);
	state->protocol = mystrdup("ESMTPSA");
    }
    smtpd_reply(state, "235 2.7.0 Authentication successful");
    return 0;
}

/* smtpd_sasl_end - release the session's SASL state */
void    smtpd_sasl_end(SMTPD_STATE *state)
{
    struct smtpd_sasl *s = state->sasl;

    if (s == NULL)
	return;
    auth_client_free(&s->ac);
    if (s->conn)
	sasl_dispose(&s->conn);
    argv_free(&s->mechs);
    vstring_wipe(s->data);
    vstring_free(&s->data);
    vstring_wipe(s->line);
    vstring_free(&s->line);
    myfree(s);
    state->sasl = NULL;
}
