/* auth_pw.h - the "posthorn pw" command: hash a password.
 *
 *   posthorn pw [-s SCHEME] [-p PASSWORD] [-t HASH]
 *
 * Prints "{SCHEME}hash" for PASSWORD (default scheme
 * auth_default_password_scheme, SHA512-CRYPT); without -p it prompts
 * twice on the terminal without echo. With -t HASH it checks the password
 * against HASH instead and prints "HASH (verified)" (exit 0) or
 * "HASH (mismatch)" (exit 1), as doveadm pw -t does.
 */
#ifndef AUTH_PW_H
#define AUTH_PW_H

/* auth_pw_command - argv[0] is the subcommand name ("pw"); returns the
 * exit status (0 ok, 1 error or mismatch, 2 usage) */
int auth_pw_command(int argc, char **argv);

#endif
