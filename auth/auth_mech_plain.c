/* auth_mech_plain - SASL PLAIN (RFC 4616): "authzid NUL authcid NUL passwd".
 *
 * Contract: without an initial response the server sends an empty
 * challenge and takes the response from CONT. The authorization identity
 * must be empty or equal to the authentication identity: master-user
 * logins (log in as someone else) are not supported and fail.
 * Malformed responses (wrong number of NULs, empty user) fail. The
 * decoded buffer is wiped by the caller.
 */
#include "sys_defs.h"

#include <string.h>

#include "auth.h"

/* auth_mech_plain_response - parse and verify one response */
static void auth_mech_plain_response(AUTH_REQUEST *req, const unsigned char *data, size_t len)
{
    const char *p = (const char *) data;
    const char *nul1 = memchr(p, 0, len);
    const char *nul2 = nul1 ? memchr(nul1 + 1, 0, len - (size_t) (nul1 + 1 - p)) : NULL;

    if (nul1 == NULL || nul2 == NULL || memchr(nul2 + 1, 0, len - (size_t) (nul2 + 1 - p)) != NULL
        || nul2 == nul1 + 1) {
        auth_request_fail(req, "Invalid PLAIN response", false);
        return;
    }
    /* the password runs to the end of the buffer, which the caller has
     * NUL-terminated (VSTRING), so all three parts are C strings */
    auth_request_verify_plain(req, p, nul1 + 1, nul2 + 1);
}

/* auth_mech_plain_start - initial response or empty challenge */
static void auth_mech_plain_start(AUTH_REQUEST *req, const unsigned char *data, size_t len,
                                  bool has_data)
{
    if (!has_data) {
        auth_request_continue(req, "", 0);
        return;
    }
    auth_mech_plain_response(req, data, len);
}

/* auth_mech_plain_cont - the response to the empty challenge */
static void auth_mech_plain_cont(AUTH_REQUEST *req, const unsigned char *data, size_t len)
{
    auth_mech_plain_response(req, data, len);
}

const AUTH_MECH auth_mech_plain = {
    "PLAIN", true, auth_mech_plain_start, auth_mech_plain_cont,
};
