/* auth - the Posthorn authentication service.
 *
 * SYNOPSIS
 *   auth [-c config_dir] [-n service] [-o name=value] [-v] [-S]
 *   (started by master; see conf/master.cf)
 *
 * DESCRIPTION
 *   A multi server (many clients per process, event driven) that speaks
 *   the Dovecot authentication protocol, so our smtpd/imapd/pop3d, a
 *   real Postfix (smtpd_sasl_type = dovecot) or anything else that
 *   speaks it can authenticate users against the configured passdbs.
 *   One program serves two sockets, told apart by the master.cf service
 *   name:
 *     auth         unix  -  n  n  -  1  auth   (private/auth: logins)
 *     auth-userdb  unix  -  n  n  -  1  auth   (private/auth-userdb:
 *                                               uid/gid/home lookups)
 *   A service name ending in "-userdb" or "-master" (or a command
 *   argument "userdb") selects the userdb protocol; anything else the
 *   client protocol.
 *
 * CONFIGURATION (main.cf)
 *   auth_passdb, auth_userdb (lists tried in order: passwd-file:FILE,
 *   system, static:uid=N gid=N home=TEMPLATE), auth_mechanisms,
 *   disable_plaintext_auth, auth_username_format, auth_default_realm,
 *   auth_failure_delay, auth_failure_limit, auth_failure_window,
 *   auth_default_password_scheme, first_valid_uid, last_valid_uid,
 *   auth_user (when master runs as root: the user to run as after the
 *   password databases are opened; "root" keeps root, which reading
 *   /etc/shadow needs).
 *
 * LOGGING
 *   This program logs under the name "auth" (not "posthorn/auth"): the
 *   stock fail2ban dovecot filter only accepts "auth", "dovecot" or
 *   "dovecot-auth" as the tag of "passwd-file(user,IP): Password
 *   mismatch" lines, and failed logins must be bannable out of the box.
 *
 * LIMITS
 *   The process keeps its failure counters in memory, so it does not
 *   retire after max_use clients (main.cf's max_use is overridden; a
 *   master.cf -o max_use=N still applies); a reload or restart forgets
 *   the counters. Lookups are synchronous: a slow hash (bcrypt with a high cost) holds
 *   the process for its duration.
 */
#include "sys_defs.h"

#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "server.h"

static bool auth_userdb_service;

/* auth_pre_init - open databases while still privileged */
static void auth_pre_init(const char *service, char **argv)
{
    size_t len = strlen(service);

    auth_userdb_service = (len >= 7 && strcmp(service + len - 7, "-userdb") == 0)
        || (len >= 7 && strcmp(service + len - 7, "-master") == 0)
        || (argv[0] && strcmp(argv[0], "userdb") == 0);
    if (auth_userdb_service) {
        /* REQUEST asks the client-socket process: "auth-userdb" -> "auth" */
        char   *client = mystrdup(service);

        if (len > 7 && (strcmp(client + len - 7, "-userdb") == 0
                        || strcmp(client + len - 7, "-master") == 0)) {
            client[len - 7] = 0;
            auth_master_conn_init(client);
        } else {
            auth_master_conn_init("auth");
        }
        myfree(client);
    }
    msg_set_name("auth");
    auth_mech_init();
    auth_penalty_init();
    auth_db_init();
    if ((getuid() == 0 || geteuid() == 0) && *var_auth_user && strcmp(var_auth_user, "root") != 0)
        privs_drop_user(var_auth_user);
}

/* auth_connect - a new client on either socket */
static void auth_connect(int fd, const char *service, char **argv)
{
    (void) service, (void) argv;
    if (auth_userdb_service)
        auth_master_conn_create(fd);
    else
        auth_client_conn_create(fd);
}

/* main - parameter defaults, then the multi-server skeleton */
int main(int argc, char **argv)
{
    static const SERVER_OPTS opts = {
        .pre_init = auth_pre_init,
        .no_idle_exit = true,
    };

    /* before the skeleton loads main.cf; master.cf -o options come later
     * and still win */
    config_override("max_use", "1000000");
    multi_server_main(argc, argv, auth_connect, &opts);
}
