/* msg.h - logging with five fixed levels.
 *
 *  msg_info   something happened (no prefix)
 *  msg_warn   something is off; go on ("warning: ")
 *  msg_error  an error; go on, counted ("error: ")
 *  msg_fatal  an environment problem: run cleanup hook, exit(1) ("fatal: ")
 *  msg_panic  our own bug: run cleanup hook, abort() ("panic: ")
 *
 * Output goes to any combination of: syslog (facility from msg_syslog_open,
 * default LOG_MAIL, ident "posthorn/NAME"), a log file (maillog_file: one
 * O_APPEND write per line, Postfix's line shape "Mon DD HH:MM:SS host
 * posthorn/smtpd[pid]: text"; /dev/stdout works), and stderr ("NAME: text",
 * for interactive commands). Control characters in the text are replaced by
 * '?', so no client-supplied string can forge a log line.
 */
#ifndef MSG_H
#define MSG_H

#include "sys_defs.h"
#include <stdarg.h>

#define MSG_TO_STDERR 1
#define MSG_TO_SYSLOG 2
#define MSG_TO_FILE   4

extern int msg_verbose;

/* msg_init - set the program name; dest is a mask of MSG_TO_* */
void msg_init(const char *name, int dest);
/* msg_set_name - change the program name ("posthorn/smtpd") */
void msg_set_name(const char *name);
/* msg_name - the current program name */
const char *msg_name(void);
/* msg_syslog_open - log to syslog with this facility name ("mail", "local0"...);
 * returns -1 for an unknown facility name */
int msg_syslog_open(const char *facility);
/* msg_logfile_open - log to this file (append); returns -1 and sets errno on error */
int msg_logfile_open(const char *path);
/* msg_set_dest - replace the destination mask */
void msg_set_dest(int dest);
/* msg_cleanup - run fn before exit on fatal/panic (once) */
void msg_cleanup(void (*fn)(void));
/* msg_error_count - how many msg_error calls so far */
int msg_error_count(void);

void msg_info(const char *fmt, ...) PH_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) PH_PRINTF(1, 2);
void msg_error(const char *fmt, ...) PH_PRINTF(1, 2);
void msg_fatal(const char *fmt, ...) PH_PRINTF(1, 2) PH_NORETURN;
void msg_fatal_status(int status, const char *fmt, ...) PH_PRINTF(2, 3) PH_NORETURN;
void msg_panic(const char *fmt, ...) PH_PRINTF(1, 2) PH_NORETURN;
void msg_vprintf(int level, const char *fmt, va_list ap) PH_PRINTF(2, 0);

#define MSG_LEVEL_INFO  0
#define MSG_LEVEL_WARN  1
#define MSG_LEVEL_ERROR 2
#define MSG_LEVEL_FATAL 3
#define MSG_LEVEL_PANIC 4

#endif
