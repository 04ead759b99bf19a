/* smtpd_peer.c - the SMTP client's address and verified name.
 *
 * The address comes from getpeername(). The name is the reverse (PTR)
 * name only when a forward lookup of that name gives the address back
 * (forward-confirmed reverse DNS); otherwise it is "unknown", as Postfix
 * logs it. A peer that is not an inet socket (the -S stand-alone session
 * runs on a socketpair; sendmail -bs) is "localhost"/127.0.0.1 and marks
 * the session stand-alone/local.

 *
 * Limits: lookups use the system resolver (getnameinfo/getaddrinfo), so
 * /etc/hosts answers loopback at once; a slow DNS delays the greeting.
 */
#include "sys_defs.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "argv.h"
#include "msg.h"
#include "stream.h"
#include "vstring.h"

#include "smtpd.h"
#include "smtpd_proto.h"

/* smtpd_peer_set_local - the stand-alone identity */
static void smtpd_peer_set_local(SMTPD_STATE *state)
{
    struct sockaddr_in *sin = (struct sockaddr_in *) &state->sa;

    memset(&state->sa, 0, sizeof(state->sa));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    state->salen = sizeof(*sin);
    ph_strlcpy(state->name, "localhost", sizeof(state->name));
    ph_strlcpy(state->addr, "127.0.0.1", sizeof(state->addr));
    ph_strlcpy(state->port, "0", sizeof(state->port));
    state->stand_alone = true;
    state->rewrite_local = true;
    state->flags |= SMTPD_FLAG_LOCAL;
}

/* smtpd_peer_same_addr - two socket addresses have the same IP */
static bool smtpd_peer_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
	return false;
    if (a->sa_family == AF_INET)
	return memcmp(&((const struct sockaddr_in *) a)->sin_addr,
		      &((const struct sockaddr_in *) b)->sin_addr, sizeof(struct in_addr)) == 0;
    if (a->sa_family == AF_INET6)
	return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr,
		      &((const struct sockaddr_in6 *) b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}

/* smtpd_peer_is_local - loopback, or the address the client connected to */
static bool smtpd_peer_is_local(SMTPD_STATE *state)
{
    struct sockaddr_storage me;
    socklen_t melen = sizeof(me);

    if (state->sa.ss_family == AF_INET
	&& (ntohl(((struct sockaddr_in *) &state->sa)->sin_addr.s_addr) >> 24) == 127)
	return true;
    if (state->sa.ss_family == AF_INET6
	&& IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *) &state->sa)->sin6_addr))
	return true;
    if (getsockname(stream_fd(state->client), (struct sockaddr *) &me, &melen) < 0)
	return false;
    if (me.ss_family == AF_INET6 && state->sa.ss_family == AF_INET
	&& IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *) &me)->sin6_addr))
	return memcmp(&((struct sockaddr_in6 *) &me)->sin6_addr.s6_addr[12],
		      &((struct sockaddr_in *) &state->sa)->sin_addr, 4) == 0;
    return smtpd_peer_same_addr((struct sockaddr *) &me, (struct sockaddr *) &state->sa);
}

/* smtpd_peer_lookup - forward-confirmed reverse name, or "unknown" */
static void smtpd_peer_lookup(SMTPD_STATE *state)
{
    char    host[NI_MAXHOST];
    struct addrinfo hints, *res = NULL, *ai;

    ph_strlcpy(state->name, "unknown", sizeof(state->name));
    if (getnameinfo((struct sockaddr *) &state->sa, state->salen, host, sizeof(host),
		    NULL, 0, NI_NAMEREQD) != 0)
	return;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = state->sa.ss_family;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
	return;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
	if (smtpd_peer_same_addr(ai->ai_addr, (struct sockaddr *) &state->sa)) {
	    ph_strlcpy(state->name, host, sizeof(state->name));
	    break;
	}
    }
    if (ai == NULL)
	msg_warn("hostname %s does not resolve to address %s", host, state->addr);
    freeaddrinfo(res);
}

/* smtpd_peer_init - fill in the client identity */
void    smtpd_peer_init(SMTPD_STATE *state)
{
    state->salen = sizeof(state->sa);
    if (getpeername(stream_fd(state->client), (struct sockaddr *) &state->sa, &state->salen) < 0
	|| (state->sa.ss_family != AF_INET && state->sa.ss_family != AF_INET6)) {
	smtpd_peer_set_local(state);
    } else {
	char    port[NI_MAXSERV];

	/* An IPv4-mapped IPv6 address is logged as IPv4, as Postfix does. */
	if (state->sa.ss_family == AF_INET6
	    && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *) &state->sa)->sin6_addr)) {
	    struct sockaddr_in6 sin6 = *(struct sockaddr_in6 *) &state->sa;
	    struct sockaddr_in *sin = (struct sockaddr_in *) &state->sa;

	    memset(&state->sa, 0, sizeof(state->sa));
	    sin->sin_family = AF_INET;
	    sin->sin_port = sin6.sin6_port;
	    memcpy(&sin->sin_addr, &sin6.sin6_addr.s6_addr[12], 4);
	    state->salen = sizeof(*sin);
	}
	if (getnameinfo((struct sockaddr *) &state->sa, state->salen, state->addr,
			sizeof(state->addr), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
	    ph_strlcpy(state->addr, "unknown", sizeof(state->addr));
	    ph_strlcpy(port, "0", sizeof(port));
	}
	ph_strlcpy(state->port, port, sizeof(state->port));
	smtpd_peer_lookup(state);
	state->rewrite_local = smtpd_peer_is_local(state);
    }
    snprintf(state->namaddr, sizeof(state->namaddr), "%s[%s]", state->name, state->addr);
    if (state->sa.ss_family == AF_INET6)
	snprintf(state->rfc_addr, sizeof(state->rfc_addr), "IPv6:%s", state->addr);
    else
	ph_strlcpy(state->rfc_addr, state->addr, sizeof(state->rfc_addr));
}
