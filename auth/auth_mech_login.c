/* auth_mech_login - the LOGIN mechanism (draft-murchison-sasl-login):
 * "Username:" and "Password:" challenges, one response each.
 *
 * Contract: an initial response is taken as the user name (what Outlook
 * and Dovecot do). The user name is kept in the request's mech_buf until
 * the password arrives and wiped with the request. NUL bytes in either
 * response fail the request.
 */
#include "sys_defs.h"

#include <string.h>

#include "auth.h"
#include "mymalloc.h"

#define LOGIN_WANT_USER 0
#define LOGIN_WANT_PASS 1

/* auth_mech_login_user - got the user name: ask for the password */
static void auth_mech_login_user(AUTH_REQUEST *req, const unsigned char *data, size_t len)
{
    if (len == 0 || memchr(data, 0, len) != NULL) {
        auth_request_fail(req, "Invalid LOGIN user name", false);
        return;
    }
    if (req->mech_buf == NULL)
        req->mech_buf = vstring_alloc(64);
    vstring_setn(req->mech_buf, data, len);
    req->mech_state = LOGIN_WANT_PASS;
    auth_request_continue(req, "Password:", 9);
}

/* auth_mech_login_start - ask for the user name unless it came along */
static void auth_mech_login_start(AUTH_REQUEST *req, const unsigned char *data, size_t len,
                                  bool has_data)
{
    req->mech_state = LOGIN_WANT_USER;
    if (has_data && len > 0) {
        auth_mech_login_user(req, data, len);
        return;
    }
    auth_request_continue(req, "Username:", 9);
}

/* auth_mech_login_cont - user name, then password */
static void auth_mech_login_cont(AUTH_REQUEST *req, const unsigned char *data, size_t len)
{
    if (req->mech_state == LOGIN_WANT_USER) {
        auth_mech_login_user(req, data, len);
        return;
    }
    if (memchr(data, 0, len) != NULL) {
        auth_request_fail(req, "Invalid LOGIN password", false);
        return;
    }
    auth_request_verify_plain(req, NULL, STR(req->mech_buf), (const char *) data);
}

const AUTH_MECH auth_mech_login = {
    "LOGIN", true, auth_mech_login_start, auth_mech_login_cont,
};
