/* smtp_sasl - SASL client authentication through libsasl2.
 *
 * Contract: smtp_sasl_passwd() finds "user:password" in
 * smtp_sasl_password_maps for a session, trying "[host]:port", "host",
 * the request's nexthop as given ("[relay.example]:587") and, for a plain
 * domain nexthop, the domain. smtp_sasl_auth() runs AUTH with the best
 * mechanism libsasl2 picks from what the server offered, restricted by
 * smtp_sasl_security_options (or smtp_sasl_tls_security_options over TLS):
 * noplaintext, noactive, nodictionary, noanonymous, mutual_auth. With the
 * default "noplaintext, noanonymous", PLAIN and LOGIN are only used over
 * TLS (as Postfix). No SASL security layer is negotiated (max_ssf 0).
 * The password is held only for the exchange; buffers are wiped.
 * Limits: AUTH_MAX_STEPS challenges at most.
 */
#include "sys_defs.h"

#include <string.h>
#include <strings.h>

#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "argv.h"
#include "config.h"
#include "maps.h"
#include "msg.h"
#include "mymalloc.h"
#include "smtp.h"

#define AUTH_MAX_STEPS 20

/* libsasl2 stores callbacks as int (*)(void); void (*)(void) in between
 * keeps the compiler's function-cast check quiet. */
#define SMTP_SASL_CB(fn) ((int (*)(void)) (void (*)(void)) (fn))

static MAPS *smtp_sasl_maps;
static bool smtp_sasl_ready;

typedef struct smtp_sasl_ctx {
    const char *user;
    sasl_secret_t *secret;
} SMTP_SASL_CTX;

/* smtp_sasl_init - open smtp_sasl_password_maps while privileged (the
 * password file is usually readable by root only) */
void smtp_sasl_init(void)
{
    if (var_smtp_sasl_auth_enable && smtp_sasl_maps == NULL && var_smtp_sasl_password_maps
	&& *var_smtp_sasl_password_maps)
	smtp_sasl_maps = maps_create("smtp_sasl_password_maps", var_smtp_sasl_password_maps,
				     DICT_FLAG_FOLD_FIX);
}

/* smtp_sasl_passwd - see smtp.h */
int smtp_sasl_passwd(SMTP_SESSION *sess, const char *nexthop, VSTRING *user, VSTRING *pass)
{
    VSTRING *key = vstring_alloc(100);
    const char *value = NULL, *error, *colon;
    int rc = DICT_NOTFOUND;
    const char *keys[4];

    if (smtp_sasl_maps == NULL) {
	if (var_smtp_sasl_password_maps == NULL || *var_smtp_sasl_password_maps == 0) {
	    vstring_free(&key);
	    return 0;
	}
	smtp_sasl_maps = maps_create("smtp_sasl_password_maps", var_smtp_sasl_password_maps,
				     DICT_FLAG_FOLD_FIX);
    }
    vstring_fmt(key, "[%s]:%u", sess->host, sess->port);
    keys[0] = STR(key);
    keys[1] = sess->host;
    keys[2] = nexthop;
    keys[3] = NULL;
    for (int i = 0; keys[i] && rc == DICT_NOTFOUND; i++)
	rc = maps_find(smtp_sasl_maps, keys[i], DICT_LOOKUP_FOLD, &value, &error);
    vstring_free(&key);
    if (rc == DICT_ERROR) {
	msg_warn("smtp_sasl_password_maps: %s", error);
	return -1;
    }
    if (rc != DICT_FOUND)
	return 0;
    if ((colon = strchr(value, ':')) == NULL) {
	vstring_set(user, value);
	vstring_reset(pass);
    } else {
	vstring_setn(user, value, (size_t) (colon - value));
	vstring_set(pass, colon + 1);
    }
    return 1;
}

/* smtp_sasl_get_user - libsasl2 callback: the user / authname */
static int smtp_sasl_get_user(void *context, int id, const char **result, unsigned *len)
{
    SMTP_SASL_CTX *ctx = context;

    if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME)
	return SASL_FAIL;
    *result = ctx->user;
    if (len)
	*len = (unsigned) strlen(ctx->user);
    return SASL_OK;
}

/* smtp_sasl_get_pass - libsasl2 callback: the password */
static int smtp_sasl_get_pass(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
    SMTP_SASL_CTX *ctx = context;

    (void) conn;
    if (id != SASL_CB_PASS)
	return SASL_FAIL;
    *psecret = ctx->secret;
    return SASL_OK;
}

/* smtp_sasl_flags - security option words to SASL_SEC_* bits */
static unsigned smtp_sasl_flags(const char *options)
{
    ARGV *words = argv_split_list(options ? options : "");
    unsigned flags = 0;

    for (int i = 0; i < words->argc; i++) {
	const char *w = words->argv[i];

	if (strcasecmp(w, "noplaintext") == 0)
	    flags |= SASL_SEC_NOPLAINTEXT;
	else if (strcasecmp(w, "noactive") == 0)
	    flags |= SASL_SEC_NOACTIVE;
	else if (strcasecmp(w, "nodictionary") == 0)
	    flags |= SASL_SEC_NODICTIONARY;
	else if (strcasecmp(w, "noanonymous") == 0)
	    flags |= SASL_SEC_NOANONYMOUS;
	else if (strcasecmp(w, "mutual_auth") == 0)
	    flags |= SASL_SEC_MUTUAL_AUTH;
	else
	    msg_warn("unknown SASL security option \"%s\": ignored", w);
    }
    argv_free(&words);
    return flags;
}

/* smtp_sasl_send - "PREFIX base64(data)" or "PREFIX=" for empty data */
static int smtp_sasl_send(SMTP_SESSION *sess, const char *prefix, const char *data, unsigned len)
{
    VSTRING *line = vstring_alloc(256);
    unsigned outlen = 0;
    int rc;
    char *enc = mymalloc((size_t) len * 4 / 3 + 8);

    vstring_set(line, prefix);
    if (data && len > 0) {
	if (sasl_encode64(data, len, enc, len * 4 / 3 + 8, &outlen) != SASL_OK) {
	    myfree(enc);
	    vstring_free(&line);
	    return -1;
	}
	vstring_catn(line, enc, outlen);
    } else if (data && *prefix) {
	vstring_cat(line, "=");
    }
    vstring_cat(line, "\r\n");
    rc = stream_write(sess->stream, STR(line), LEN(line));
    if (rc == 0)
	rc = stream_flush(sess->stream);
    vstring_wipe(line);
    memset(enc, 0, (size_t) len * 4 / 3 + 8);
    myfree(enc);
    vstring_free(&line);
    return rc < 0 ? -1 : 0;
}

/* smtp_sasl_auth - see smtp.h */
int smtp_sasl_auth(SMTP_SESSION *sess, const char *user, const char *pass, int *code_r,
		   VSTRING *why)
{
    SMTP_SASL_CTX ctx;
    sasl_callback_t callbacks[] = {
	{SASL_CB_USER, SMTP_SASL_CB(smtp_sasl_get_user), &ctx},
	{SASL_CB_AUTHNAME, SMTP_SASL_CB(smtp_sasl_get_user), &ctx},
	{SASL_CB_PASS, SMTP_SASL_CB(smtp_sasl_get_pass), &ctx},
	{SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *conn = NULL;
    sasl_security_properties_t props;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    VSTRING *reply = vstring_alloc(128), *cmd = vstring_alloc(64);
    char *dec = NULL;
    size_t plen = strlen(pass);
    int rc = -1, code, sr;

    *code_r = 0;
    memset(&ctx, 0, sizeof(ctx));
    ctx.user = user;
    ctx.secret = mymalloc(sizeof(sasl_secret_t) + plen + 1);
    ctx.secret->len = plen;
    memcpy(ctx.secret->data, pass, plen + 1);
    if (!smtp_sasl_ready) {
	if (sasl_client_init(NULL) != SASL_OK) {
	    vstring_set(why, "cannot initialize the SASL library");
	    goto out;
	}
	smtp_sasl_ready = true;
    }
    if (sasl_client_new("smtp", sess->host, NULL, NULL, callbacks, 0, &conn) != SASL_OK) {
	vstring_set(why, "cannot create a SASL client context");
	goto out;
    }
    memset(&props, 0, sizeof(props));
    props.max_ssf = 0;
    props.maxbufsize = 0;
    props.security_flags = smtp_sasl_flags(sess->tls ? var_smtp_sasl_tls_security_options
					   : var_smtp_sasl_security_options);
    sasl_setprop(conn, SASL_SEC_PROPS, &props);
    sr = sasl_client_start(conn, sess->auth_mechs ? sess->auth_mechs : "", NULL, &out, &outlen, &mech);
    if (sr != SASL_OK && sr != SASL_CONTINUE) {
	vstring_fmt(why, "no SASL mechanism offered by %s[%s] (%s) is allowed: %s", sess->host,
		    sess->addr, sess->auth_mechs ? sess->auth_mechs : "", sasl_errstring(sr, NULL, NULL));
	goto out;
    }
    vstring_fmt(cmd, "AUTH %s%s", mech, out ? " " : "");
    stream_set_timeout(sess->stream, (int) var_smtp_helo_timeout);
    if (smtp_sasl_send(sess, STR(cmd), out, outlen) < 0) {
	vstring_set(why, "lost connection");
	goto out;
    }
    for (int step = 0;; step++) {
	code = smtp_reply_read(sess->stream, reply);
	*code_r = code;
	if (code < 0) {
	    vstring_set(why, "lost connection");
	    goto out;
	}
	if (code == 235) {
	    rc = 0;
	    msg_info("SASL authentication to %s as %s: %s", sess->namaddr, user, mech);
	    break;
	}
	if (code != 334 || step >= AUTH_MAX_STEPS) {
	    vstring_fmt(why, "server %s[%s] said: %s", sess->host, sess->addr, STR(reply));
	    goto out;
	}
	const char *chal = LEN(reply) > 4 ? STR(reply) + 4 : "";
	size_t clen = strlen(chal);
	unsigned declen = 0;

	dec = myrealloc(dec, clen + 1);
	if (sasl_decode64(chal, (unsigned) clen, dec, (unsigned) clen + 1, &declen) != SASL_OK) {
	    smtp_sasl_send(sess, "*", NULL, 0);
	    (void) smtp_reply_read(sess->stream, reply);
	    vstring_fmt(why, "malformed SASL challenge from %s[%s]", sess->host, sess->addr);
	    goto out;
	}
	sr = sasl_client_step(conn, dec, declen, NULL, &out, &outlen);
	if (sr != SASL_OK && sr != SASL_CONTINUE) {
	    smtp_sasl_send(sess, "*", NULL, 0);
	    (void) smtp_reply_read(sess->stream, reply);
	    vstring_fmt(why, "SASL client step failed: %s", sasl_errdetail(conn));
	    goto out;
	}
	if (smtp_sasl_send(sess, "", out ? out : "", outlen) < 0) {
	    vstring_set(why, "lost connection");
	    goto out;
	}
    }

out:
    if (conn)
	sasl_dispose(&conn);
    memset(ctx.secret->data, 0, plen);
    myfree(ctx.secret);
    myfree(dec);
    vstring_free(&reply);
    vstring_free(&cmd);
    return rc;
}
