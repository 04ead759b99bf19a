/* smtpd_tls.c - STARTTLS (RFC 3207) and implicit TLS (port 465) for smtpd.
 *
 * Contract (smtpd_tls.h): the security level comes from
 * smtpd_tls_security_level (none, may, encrypt), or when that is empty
 * from the obsolete smtpd_enforce_tls (encrypt) / smtpd_use_tls (may), as
 * in Postfix. smtpd_tls_wrappermode = yes starts TLS before the greeting
 * whatever the level says. The server context is built once per process
 * in pre_init, while still privileged (key files are root-only), from
 * smtpd_tls_cert_file/key_file, eccert_file/eckey_file or chain_files;
 * at encrypt level (and in wrapper mode) the mandatory protocol and cipher
 * settings apply, at may level the opportunistic ones.
 *
 * STARTTLS: "220 2.0.0 Ready to start TLS", then the handshake with
 * smtpd_starttls_timeout; anything the client pipelined after STARTTLS is
 * discarded by tls_server_start() and never answered. Afterwards the SMTP
 * state is as at connect: the client must send EHLO again (MAIL before
 * that gets "503 5.5.1 Error: send HELO/EHLO first", smtpd.c).
 * A handshake that fails (garbage instead of a ClientHello, a stalled
 * client, a refused protocol) is logged by the TLS library and ends the
 * session ("lost connection after STARTTLS from ..."); the process goes
 * on with the next client.
 *
 * Session resumption: stateless tickets valid for
 * smtpd_tls_session_cache_timeout; all smtpd processes share one ticket
 * key kept in data_directory/smtpd_tls_ticket.key (mode 0600, replaced by
 * a fresh one when older than twice the session timeout, at least a day).
 *
 * Limits: no client certificate verification beyond smtpd_tls_ask_ccert
 * (the trust state is only logged); no per-client TLS policy.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "tls.h"
#include "vstring.h"

#include "smtpd.h"
#include "smtpd_chat.h"
#include "smtpd_proto.h"
#include "smtpd_tls.h"

static int smtpd_tls_level = TLS_LEV_NONE;	/* none, may or encrypt */
static TLS_SERVER_CTX *smtpd_tls_ctx;		/* NULL: no usable certificate */
static unsigned char smtpd_tls_ticket[TLS_TICKET_KEY_LEN];
static bool smtpd_tls_have_ticket;

#define SMTPD_TLS_TICKET_FILE "smtpd_tls_ticket.key"

/* smtpd_tls_set - a parameter value is set */
static bool smtpd_tls_set(const char *s)
{
    return s != NULL && *s != 0;
}

/* smtpd_tls_ticket_load - read or create the shared ticket key */
static void smtpd_tls_ticket_load(void)
{
    VSTRING *path = vstring_alloc(100);
    VSTRING *tmp = vstring_alloc(100);
    struct stat st;
    long    max_age = 2 * var_smtpd_tls_session_cache_timeout;
    int     fd;

    if (max_age < 86400)
	max_age = 86400;
    if (!smtpd_tls_set(var_data_directory) || var_smtpd_tls_session_cache_timeout <= 0)
	goto done;
    vstring_fmt(path, "%s/%s", var_data_directory, SMTPD_TLS_TICKET_FILE);
    if (lstat(STR(path), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == TLS_TICKET_KEY_LEN
	&& time((time_t *) 0) - st.st_mtime < max_age
	&& (fd = open(STR(path), O_RDONLY | O_NOFOLLOW)) >= 0) {
	ssize_t n = read(fd, smtpd_tls_ticket, sizeof(smtpd_tls_ticket));

	close(fd);
	if (n == (ssize_t) sizeof(smtpd_tls_ticket)) {
	    smtpd_tls_have_ticket = true;
	    goto done;
	}
    }
    /* A new key: temp file + rename, so readers never see a partial one. */
    if (getrandom(smtpd_tls_ticket, sizeof(smtpd_tls_ticket), 0)
	!= (ssize_t) sizeof(smtpd_tls_ticket)) {
	msg_warn("cannot make a TLS ticket key: %s", strerror(errno));
	goto done;
    }
    vstring_fmt(tmp, "%s.%ld", STR(path), (long) getpid());
    if ((fd = open(STR(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)) < 0) {
	msg_warn("cannot create %s: %s", STR(tmp), strerror(errno));
	smtpd_tls_have_ticket = true;		/* per-process key */
	goto done;
    }
    if (write(fd, smtpd_tls_ticket, sizeof(smtpd_tls_ticket)) != (ssize_t) sizeof(smtpd_tls_ticket)
	|| fsync(fd) < 0 || close(fd) < 0 || rename(STR(tmp), STR(path)) < 0) {
	msg_warn("cannot write %s: %s", STR(path), strerror(errno));
	(void) unlink(STR(tmp));
    }
    smtpd_tls_have_ticket = true;
done:
    vstring_free(&path);
    vstring_free(&tmp);
}

/* smtpd_tls_pre_init - level, context, ticket key (still privileged) */
void    smtpd_tls_pre_init(void)
{
    TLS_SERVER_PARAMS p;
    const char *err;
    bool    mandatory;

    if (smtpd_tls_set(var_smtpd_tls_security_level)) {
	smtpd_tls_level = tls_level_parse(var_smtpd_tls_security_level);
	if (smtpd_tls_level != TLS_LEV_NONE && smtpd_tls_level != TLS_LEV_MAY
	    && smtpd_tls_level != TLS_LEV_ENCRYPT)
	    msg_fatal("parameter smtpd_tls_security_level: bad value \"%s\" "
		      "(use none, may or encrypt)", var_smtpd_tls_security_level);
    } else if (var_smtpd_enforce_tls) {
	smtpd_tls_level = TLS_LEV_ENCRYPT;
    } else if (var_smtpd_use_tls) {
	smtpd_tls_level = TLS_LEV_MAY;
    } else {
	smtpd_tls_level = TLS_LEV_NONE;
    }
    if (smtpd_tls_level == TLS_LEV_NONE && !var_smtpd_tls_wrappermode)
	return;
    if (!smtpd_tls_set(var_smtpd_tls_cert_file) && !smtpd_tls_set(var_smtpd_tls_eccert_file)
	&& !smtpd_tls_set(var_smtpd_tls_chain_files)) {
	msg_warn("No server certs available. TLS won't be enabled");
	return;
    }
    smtpd_tls_ticket_load();
    mandatory = smtpd_tls_level == TLS_LEV_ENCRYPT || var_smtpd_tls_wrappermode;
    memset(&p, 0, sizeof(p));
    p.cert_file = var_smtpd_tls_cert_file;
    p.key_file = smtpd_tls_set(var_smtpd_tls_key_file) ? var_smtpd_tls_key_file : NULL;
    p.eccert_file = var_smtpd_tls_eccert_file;
    p.eckey_file = smtpd_tls_set(var_smtpd_tls_eckey_file) ? var_smtpd_tls_eckey_file : NULL;
    p.chain_files = var_smtpd_tls_chain_files;
    p.CAfile = var_smtpd_tls_CAfile;
    p.CApath = var_smtpd_tls_CApath;
    p.protocols = mandatory ? var_smtpd_tls_mandatory_protocols : var_smtpd_tls_protocols;
    p.cipher_grade = mandatory ? var_smtpd_tls_mandatory_ciphers : var_smtpd_tls_ciphers;
    p.high_cipherlist = var_tls_high_cipherlist;
    p.medium_cipherlist = var_tls_medium_cipherlist;
    p.exclude_ciphers = var_smtpd_tls_exclude_ciphers;
    p.session_timeout = (int) var_smtpd_tls_session_cache_timeout;
    p.ticket_key = smtpd_tls_have_ticket ? smtpd_tls_ticket : NULL;
    p.ask_ccert = var_smtpd_tls_ask_ccert;
    p.loglevel = (int) var_smtpd_tls_loglevel;
    if ((smtpd_tls_ctx = tls_server_init(&p, &err)) == NULL)
	msg_warn("cannot initialize the TLS server: %s; TLS is not available", err);
    memset(smtpd_tls_ticket, 0, sizeof(smtpd_tls_ticket));
}

/* smtpd_tls_asked_ccert - smtpd_tls_ask_ccert is in effect */
bool    smtpd_tls_asked_ccert(void)
{
    return var_smtpd_tls_ask_ccert;
}

/* smtpd_tls_offer - EHLO may advertise STARTTLS */
bool    smtpd_tls_offer(const SMTPD_STATE *state)
{
    if (state->tls != NULL || state->stand_alone)
	return false;
    if (smtpd_tls_level == TLS_LEV_ENCRYPT)
	return true;				/* 454 when no context */
    return smtpd_tls_level == TLS_LEV_MAY && smtpd_tls_ctx != NULL;
}

/* smtpd_tls_required - encrypt level and no TLS yet */
bool    smtpd_tls_required(const SMTPD_STATE *state)
{
    return smtpd_tls_level == TLS_LEV_ENCRYPT && state->tls == NULL && !state->stand_alone;
}

/* smtpd_tls_established - record the session in the state */
static void smtpd_tls_established(SMTPD_STATE *state)
{
    VSTRING *buf = vstring_alloc(100);

    tls_session_summary(state->tls, buf);
    myfree(state->tls_summary);
    state->tls_summary = vstring_export(&buf);
    state->flags |= SMTPD_FLAG_TLS;
}

/* smtpd_tls_handshake - run the server handshake; false on failure */
static bool smtpd_tls_handshake(SMTPD_STATE *state)
{
    const char *err;
    int     one = 1;

    /* TLS writes records, often several per reply (a 1.3 session ticket
     * and the greeting): do not let Nagle hold them for the peer's ACK */
    (void) setsockopt(stream_fd(state->client), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    state->tls = tls_server_start(state->client, smtpd_tls_ctx, (int) var_smtpd_starttls_timeout,
				  state->name, state->addr, &err);
    stream_set_timeout(state->client, (int) var_smtpd_timeout);
    if (state->tls == NULL) {
	state->io_status = SMTPD_IO_EOF;	/* "lost connection after ..." */
	return false;
    }
    smtpd_tls_established(state);
    return true;
}

/* smtpd_tls_wrapper - implicit TLS before the greeting */
bool    smtpd_tls_wrapper(SMTPD_STATE *state)
{
    if (!var_smtpd_tls_wrappermode || state->stand_alone)
	return true;
    if (smtpd_tls_ctx == NULL) {
	msg_warn("Wrapper-mode request dropped from %s for service %s."
		 " TLS context initialization failed."
		 " For details see earlier warnings in your logs.",
		 state->namaddr, state->service ? state->service : "smtpd");
	state->io_status = SMTPD_IO_EOF;
	return false;
    }
    return smtpd_tls_handshake(state);
}

/* smtpd_starttls_cmd - STARTTLS */
int     smtpd_starttls_cmd(SMTPD_STATE *state, int argc, char **argv)
{
    (void) argv;
    if (argc != 1) {
	smtpd_reply(state, "501 5.5.4 Syntax: STARTTLS");
	return -1;
    }
    if (state->tls != NULL) {
	smtpd_reply(state, "554 5.5.1 Error: TLS already active");
	return -1;
    }
    if (!smtpd_tls_offer(state)) {
	smtpd_reply(state, "502 5.5.1 Error: command not implemented");
	return -1;
    }
    if (smtpd_tls_ctx == NULL) {
	smtpd_reply(state, "454 4.7.0 TLS not available due to local problem");
	return -1;
    }
    smtpd_reply(state, "220 2.0.0 Ready to start TLS");
    smtpd_flush(state);
    if (state->io_status != SMTPD_IO_OK)
	return -1;
    if (!smtpd_tls_handshake(state))
	return -1;
    /* RFC 3207 section 4.2: forget everything learned before TLS. */
    smtpd_txn_reset(state);
    myfree(state->helo_name);
    state->helo_name = NULL;
    myfree(state->protocol);
    state->protocol = mystrdup("SMTP");
    state->flags &= ~SMTPD_FLAG_EHLO;
    state->pipelining_ok = false;
    state->phase = SMTPD_PHASE_CONNECT;
    return 0;
}

/* smtpd_tls_end - close_notify and release */
void    smtpd_tls_end(SMTPD_STATE *state)
{
    if (state->tls == NULL)
	return;
    /* stop, not free: it also replaces the STREAM's hooks, so nothing can
     * reach the freed session or leak out in plaintext afterwards */
    (void) tls_session_stop(&state->tls);
}
