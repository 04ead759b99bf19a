/* sendmail - the Sendmail-compatible mail submission command (also mailq).
 *
 * SYNOPSIS
 *	sendmail [options] [recipient ...]
 *	mailq [-c config_dir] [-v]          (same as sendmail -bp)
 *
 * DESCRIPTION
 *	sendmail reads a message from standard input and queues it for
 *	delivery through postdrop(1) into the maildrop queue, so local
 *	submission works while the mail daemons are stopped; then it pokes
 *	qmgr (queue_directory/public/qmgr) when that socket exists.
 *
 *	Like Postfix's cleanup for local submission, it adds Message-Id:,
 *	Date: and From: (with the -F or $NAME full name) when the message
 *	lacks them, and "To: undisclosed-recipients:;" when it has no To:
 *	or Cc:. Unqualified addresses get "@$myorigin". Bcc: and Resent-Bcc:
 *	headers are removed. Line endings become LF (CRLF accepted). A
 *	leading Unix "From " line is dropped.
 *
 * OPTIONS
 *	-t	Take recipients from To:, Cc: and Bcc: (Resent-To:, Resent-Cc:,
 *		Resent-Bcc: when the message has Resent- headers), in addition
 *		to those on the command line.
 *	-i, -oi	A line with a single "." does not end the message.
 *	-f sender, -r sender
 *		Envelope sender (default: login name @$myorigin); "<>" or ""
 *		for the null sender.
 *	-F full_name
 *		Full name for an added From: header.
 *	-N dsn	DSN notify: never, or a comma list of success, delay, failure.
 *	-R ret	DSN return: full or hdrs.   -V envid  DSN envelope ID.
 *	-B type	Body type: 7BIT or 8BITMIME.
 *	-bp	List the queue (runs postqueue -p). argv[0] "mailq" does this.
 *	-bm	Read mail from standard input and queue it (the default).
 *	-bv	Do not read or deliver a message: verify each recipient address
 *		and mail a report ("Mail Delivery Status Report", a
 *		multipart/report DSN with Action: deliverable or undeliverable
 *		per recipient) to the sender. sendmail queues a header-only
 *		message with the queue file attribute verify=yes; qmgr asks
 *		the local/virtual agents to look the addresses up without
 *		delivering (DEL_REQ_FLAG_VERIFY), answers "deliverable via
 *		TRANSPORT" itself for any other transport (no remote probe),
 *		sends the one report and removes the message. -t is refused.
 *	-bs	SMTP on standard input and output (stand-alone mode): each
 *		message goes through postdrop like any local submission;
 *		no relay or access checks apply (the user may submit anyway).
 *	-q	Flush the queue (runs postqueue -f). -q with an interval is
 *		ignored, as in Postfix.
 *	-C dir, -c dir
 *		Configuration directory (passed on to postdrop/postqueue).
 *	-v	Verbose logging (more -v, more logging).
 *	-oX..., -n, -m, -U, -G, -i, -L x, -h n, -O x, -X x, -A x, -e x
 *		Ignored for Sendmail compatibility (-oi means -i).
 *
 * EXIT STATUS
 *	As sysexits.h: 0 queued; EX_USAGE bad option; EX_DATAERR malformed
 *	message (header too large); EX_TEMPFAIL (75) no recipients or
 *	postdrop failed (as Postfix's sendmail); a
 *	sysexits code from postdrop is passed on.
 *
 * LIMITS
 *	The header section is bounded by header_size_limit; the message by
 *	message_size_limit (enforced by postdrop). Memory use does not grow
 *	with the body, which is streamed.
 */
#include "sys_defs.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr822.h"
#include "argv.h"
#include "config.h"
#include "mail_date.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "queue_id.h"
#include "server.h"
#include "smtp_path.h"
#include "vstring.h"

#define SM_MAX_RCPTS 10000

typedef struct sm_opts {
    bool    extract;			/* -t */
    bool    ignore_dot;			/* -i */
    char   *sender;			/* -f; NULL = login name */
    char   *full_name;			/* -F */
    char   *config_dir;			/* -C/-c */
    int     notify;			/* -N */
    char   *ret;			/* -R */
    char   *envid;			/* -V */
    char   *body_type;			/* -B */
    bool    verify;			/* -bv */
} SM_OPTS;

static const char *sm_user;		/* "name(uid)" for messages */

/* sm_usage - complain about options */
static PH_NORETURN void sm_usage(const char *what)
{
    msg_fatal_status(EX_USAGE, "%s; usage: sendmail [-t] [-i] [-f sender] [-F name] "
		     "[-bp|-bs|-bm|-bv|-q] [-C config_dir] [-v] [recipient ...]", what);
}

/* sm_command_path - where a companion command lives: command_directory,
 * else the directory of this executable */
static char *sm_command_path(const char *name)
{
    VSTRING *path = vstring_alloc(100);
    char    self[4096];
    ssize_t n;

    vstring_fmt(path, "%s/%s", var_command_directory, name);
    if (access(STR(path), X_OK) == 0)
	return vstring_export(&path);
    if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
	char   *slash;

	self[n] = 0;
	if ((slash = strrchr(self, '/')) != NULL) {
	    *slash = 0;
	    vstring_fmt(path, "%s/%s", self, name);
	    if (access(STR(path), X_OK) == 0)
		return vstring_export(&path);
	}
    }
    vstring_fmt(path, "%s/%s", var_command_directory, name);
    return vstring_export(&path);
}

/* sm_exec_postqueue - run postqueue with one option (never returns) */
static PH_NORETURN void sm_exec_postqueue(const SM_OPTS *opts, const char *flag)
{
    char   *path = sm_command_path("postqueue");
    ARGV   *av = argv_alloc(8);

    argv_add(av, "postqueue", (char *) NULL);
    if (opts->config_dir)
	argv_add(av, "-c", opts->config_dir, (char *) NULL);
    for (int i = 0; i < msg_verbose; i++)
	argv_add(av, "-v", (char *) NULL);
    argv_add(av, flag, (char *) NULL);
    execv(path, av->argv);
    msg_fatal_status(EX_UNAVAILABLE, "execute %s: %s", path, strerror(errno));
}

/* sm_qualify - address in internal form with @myorigin when unqualified */
static char *sm_qualify(const char *addr)
{
    VSTRING *vp;

    if (*addr == 0 || strchr(addr, '@') != NULL)
	return mystrdup(addr);
    vp = vstring_alloc(64);
    vstring_fmt(vp, "%s@%s", addr, var_myorigin);
    return vstring_export(&vp);
}

/* sm_add_rcpts - parse an address list, qualify, append */
static void sm_add_rcpts(ARGV *rcpts, const char *text, size_t len)
{
    ARGV   *list = argv_alloc(4);
    int     skipped = 0;

    addr822_parse_list(list, text, len, SM_MAX_RCPTS, &skipped);
    if (skipped)
	msg_warn("%s: %d overlong or excess address(es) ignored", sm_user, skipped);
    for (int i = 0; i < list->argc; i++) {
	char   *q;

	if (rcpts->argc >= SM_MAX_RCPTS)
	    msg_fatal_status(EX_DATAERR, "%s: too many recipients", sm_user);
	q = sm_qualify(list->argv[i]);
	argv_add(rcpts, q, (char *) NULL);
	myfree(q);
    }
    argv_free(&list);
}

/* sm_getline - read a line (LF removed, a CR before it too) of at most
 * max bytes; returns 1 for a complete line, 2 for a partial one (max
 * reached, the rest follows), 0 at EOF with nothing read */
static int sm_getline(FILE *fp, VSTRING *line, size_t max)
{
    int     ch;

    vstring_reset(line);
    while ((ch = getc(fp)) != EOF) {
	if (ch == '\n') {
	    if (LEN(line) > 0 && STR(line)[LEN(line) - 1] == '\r')
		vstring_truncate(line, LEN(line) - 1);
	    return 1;
	}
	vstring_addch(line, ch);
	if (LEN(line) >= max)
	    return 2;
    }
    return LEN(line) ? 1 : 0;
}

/* sm_header_name_len - length of the field name when line starts a header */
static size_t sm_header_name_len(const char *line)
{
    size_t  n = 0;

    while (line[n] > 32 && line[n] < 127 && line[n] != ':')
	n++;
    if (n == 0 || line[n] != ':')
	return 0;
    return n;
}

/* sm_is - header name comparison */
static bool sm_is(const char *hdr, size_t nlen, const char *name)
{
    return strlen(name) == nlen && strncasecmp(hdr, name, nlen) == 0;
}

/* sm_write - write to postdrop; a broken pipe is reported by its exit */
static void sm_write(FILE *fp, const void *buf, size_t len)
{
    if (len > 0)
	(void) fwrite(buf, 1, len, fp);
}

/* sm_spawn_postdrop - start postdrop with a pipe on its stdin */
static pid_t sm_spawn_postdrop(const SM_OPTS *opts, FILE **fp_r)
{
    char   *path = sm_command_path("postdrop");
    int     pfd[2];
    pid_t   pid;

    if (pipe(pfd) < 0)
	msg_fatal_status(EX_OSERR, "pipe: %s", strerror(errno));
    if ((pid = fork()) < 0)
	msg_fatal_status(EX_OSERR, "fork: %s", strerror(errno));
    if (pid == 0) {
	ARGV   *av = argv_alloc(8);

	close(pfd[1]);
	if (dup2(pfd[0], 0) < 0)
	    _exit(EX_OSERR);
	close(pfd[0]);
	argv_add(av, "postdrop", (char *) NULL);
	if (opts->config_dir)
	    argv_add(av, "-c", opts->config_dir, (char *) NULL);
	for (int i = 0; i < msg_verbose; i++)
	    argv_add(av, "-v", (char *) NULL);
	execv(path, av->argv);
	msg_fatal_status(EX_UNAVAILABLE, "execute %s: %s", path, strerror(errno));
    }
    close(pfd[0]);
    if ((*fp_r = fdopen(pfd[1], "w")) == NULL)
	msg_fatal_status(EX_OSERR, "fdopen: %s", strerror(errno));
    myfree(path);
    return pid;
}

/* sm_postdrop_start - start postdrop and send it the envelope; the caller
 * then writes the message (LF line ends) to *pd_r */
static pid_t sm_postdrop_start(const SM_OPTS *opts, const char *sender, const ARGV *rcpts,
			       FILE **pd_r)
{
    pid_t   pid = sm_spawn_postdrop(opts, pd_r);
    FILE   *pd = *pd_r;

    fprintf(pd, "sender %s\n", sender);
    if (opts->notify)
	fprintf(pd, "notify %d\n", opts->notify);
    for (int r = 0; r < rcpts->argc; r++)
	fprintf(pd, "rcpt %s\n", rcpts->argv[r]);
    if (opts->full_name && qfile_value_ok(opts->full_name, strlen(opts->full_name)))
	fprintf(pd, "attr %s=%s\n", QFILE_ATTR_FULL_NAME, opts->full_name);
    if (opts->envid && qfile_value_ok(opts->envid, strlen(opts->envid)))
	fprintf(pd, "attr %s=%s\n", QFILE_ATTR_DSN_ENVID, opts->envid);
    if (opts->ret)
	fprintf(pd, "attr %s=%s\n", QFILE_ATTR_DSN_RET,
		strcasecmp(opts->ret, "full") == 0 ? "FULL" : "HDRS");
    if (opts->body_type)
	fprintf(pd, "attr %s=%s\n", QFILE_ATTR_BODY,
		strcasecmp(opts->body_type, "7BIT") == 0 ? "7BIT" : "8BITMIME");
    if (opts->verify)
	fprintf(pd, "attr %s=yes\n", QFILE_ATTR_VERIFY);
    fputc('\n', pd);
    return pid;
}

/* sm_postdrop_finish - close postdrop's input, wait for it, wake qmgr;
 * returns 0 when the message is queued, else a sysexits code */
static int sm_postdrop_finish(pid_t pid, FILE *pd)
{
    VSTRING *path = vstring_alloc(256);
    int     status;

    if (fclose(pd) != 0 && msg_verbose)
	msg_warn("write to postdrop: %s", strerror(errno));
    while (waitpid(pid, &status, 0) < 0) {
	if (errno != EINTR)
	    msg_fatal_status(EX_OSERR, "waitpid: %s", strerror(errno));
    }
    if (!WIFEXITED(status)) {
	msg_warn("%s: postdrop terminated by signal %d", sm_user,
		 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	vstring_free(&path);
	return EX_TEMPFAIL;
    }
    if (WEXITSTATUS(status) != 0) {
	int     code = WEXITSTATUS(status);

	vstring_free(&path);
	return code >= EX__BASE && code <= EX__MAX ? code : EX_TEMPFAIL;
    }

    /* Wake up qmgr when it is running; the periodic scan finds it anyway. */
    vstring_fmt(path, "%s/%s", var_queue_directory, MAIL_QUEUE_TRIGGER_PATH);
    {
	struct stat st;
	char    req = MAIL_QUEUE_TRIGGER_NEW;

	if (stat(STR(path), &st) == 0 && trigger_send(STR(path), &req, 1) < 0 && msg_verbose)
	    msg_warn("trigger %s: %s", STR(path), strerror(errno));
    }
    vstring_free(&path);
    return 0;
}

/* sm_opt_arg - the value of an option: attached or the next argument */
static const char *sm_opt_arg(char **argv, int *ip, const char *arg)
{
    if (arg[2])
	return arg + 2;
    if (argv[*ip + 1] == NULL)
	sm_usage("option requires an argument");
    return argv[++*ip];
}

/* sm_parse_notify - -N value into QFILE_NOTIFY_* bits */
static int sm_parse_notify(const char *val)
{
    ARGV   *av = argv_split(val, ", ");
    int     bits = 0;

    for (int i = 0; i < av->argc; i++) {
	if (strcasecmp(av->argv[i], "never") == 0)
	    bits |= QFILE_NOTIFY_NEVER;
	else if (strcasecmp(av->argv[i], "success") == 0)
	    bits |= QFILE_NOTIFY_SUCCESS;
	else if (strcasecmp(av->argv[i], "failure") == 0)
	    bits |= QFILE_NOTIFY_FAILURE;
	else if (strcasecmp(av->argv[i], "delay") == 0)
	    bits |= QFILE_NOTIFY_DELAY;
	else
	    sm_usage("bad -N value");
    }
    if ((bits & QFILE_NOTIFY_NEVER) && bits != QFILE_NOTIFY_NEVER)
	sm_usage("-N never cannot be combined with other values");
    argv_free(&av);
    return bits;
}

/* sm_strip_angle - "<addr>" -> "addr" */
static char *sm_strip_angle(const char *val)
{
    size_t  len = strlen(val);

    if (len >= 2 && val[0] == '<' && val[len - 1] == '>')
	return mystrndup(val + 1, len - 2);
    return mystrdup(val);
}

/* main - sendmail command entry point */
/* sm_reply - one SMTP reply line to stdout, flushed when asked */
static void sm_reply(bool flush, const char *fmt, ...) PH_PRINTF(2, 3);
static void sm_reply(bool flush, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputs("\r\n", stdout);
    if (flush)
	fflush(stdout);
}

/* sm_smtp_line - read one command line without CR LF; 1 ok, 2 too long, 0 EOF */
static int sm_smtp_line(VSTRING *line, size_t max)
{
    int     ret;

    fflush(stdout);
    ret = sm_getline(stdin, line, max);
    if (ret == 0)
	return 0;
    if (LEN(line) > 0 && STR(line)[LEN(line) - 1] == '\r')
	vstring_truncate(line, LEN(line) - 1);
    return ret == 1 ? 1 : 2;
}

/* sm_smtp_path - parse "<addr> [params]" after FROM:/TO:; the address is
 * qualified with myorigin; NULL with a reply already sent on error */
static char *sm_smtp_path(const char *arg, int flags)
{
    SMTP_PATH *path = smtp_path_alloc();
    const char *end, *why;
    char   *addr = NULL;

    while (*arg == ' ')
	arg++;
    if (smtp_path_parse(path, arg, flags | SMTP_PATH_FLAG_LOCAL_OK | SMTP_PATH_FLAG_UTF8,
			&end, &why) < 0)
	sm_reply(false, "501 5.1.7 Bad address syntax: %s", why);
    else if (path->is_null)
	addr = mystrdup("");
    else
	addr = sm_qualify(STR(path->addr));
    smtp_path_free(&path);
    return addr;
}

/* sm_smtp_session - sendmail -bs: SMTP on stdin/stdout, each message
 * handed to postdrop like a command-line submission. Like Postfix's
 * stand-alone mode there are no relay or access checks: the user can
 * submit through sendmail anyway. Returns the exit status. */
static int sm_smtp_session(const SM_OPTS *opts)
{
    VSTRING *line = vstring_alloc(512);
    ARGV   *rcpts = argv_alloc(8);
    char   *sender = NULL;
    bool    helo = false;
    int     errors = 0;
    int     ret;

    sm_reply(true, "220 %s ESMTP %s", var_myhostname, var_mail_name);
    while ((ret = sm_smtp_line(line, var_line_length_limit)) != 0) {
	char   *cmd = STR(line);
	const char *arg = cmd + strcspn(cmd, " ");

	while (*arg == ' ')
	    arg++;
	if (errors >= var_smtpd_hard_error_limit) {
	    sm_reply(true, "421 4.7.0 %s Error: too many errors", var_myhostname);
	    break;
	}
	if (ret == 2) {
	    sm_reply(false, "500 5.5.2 Error: line too long");
	    errors++;
	} else if (strncasecmp(cmd, "EHLO", 4) == 0 && (cmd[4] == 0 || cmd[4] == ' ')) {
	    sm_reply(false, "250-%s", var_myhostname);
	    sm_reply(false, "250-PIPELINING");
	    sm_reply(false, "250-SIZE %ld", var_message_size_limit);
	    sm_reply(false, "250-8BITMIME");
	    sm_reply(false, "250 ENHANCEDSTATUSCODES");
	    helo = true;
	} else if (strncasecmp(cmd, "HELO", 4) == 0 && (cmd[4] == 0 || cmd[4] == ' ')) {
	    sm_reply(false, "250 %s", var_myhostname);
	    helo = true;
	} else if (strncasecmp(cmd, "MAIL FROM:", 10) == 0) {
	    if (sender) {
		sm_reply(false, "503 5.5.1 Error: nested MAIL command");
		errors++;
	    } else if ((sender = sm_smtp_path(cmd + 10, SMTP_PATH_FLAG_NULL_OK)) == NULL) {
		errors++;
	    } else {
		sm_reply(false, "250 2.1.0 Ok");
	    }
	} else if (strncasecmp(cmd, "RCPT TO:", 8) == 0) {
	    char   *rcpt;

	    if (sender == NULL) {
		sm_reply(false, "503 5.5.1 Error: need MAIL command");
		errors++;
	    } else if (rcpts->argc >= SM_MAX_RCPTS) {
		sm_reply(false, "452 4.5.3 Error: too many recipients");
	    } else if ((rcpt = sm_smtp_path(cmd + 8, 0)) == NULL) {
		errors++;
	    } else {
		argv_add(rcpts, rcpt, (char *) NULL);
		myfree(rcpt);
		sm_reply(false, "250 2.1.5 Ok");
	    }
	} else if (strcasecmp(cmd, "DATA") == 0) {
	    FILE   *tmp, *pd;
	    long    size = 0;
	    bool    too_big = false;
	    int     status;
	    pid_t   pid;

	    if (sender == NULL || rcpts->argc == 0) {
		sm_reply(false, "503 5.5.1 Error: need %s command", sender ? "RCPT" : "MAIL");
		errors++;
		continue;
	    }
	    if ((tmp = tmpfile()) == NULL) {
		sm_reply(false, "451 4.3.0 Error: cannot create temporary file");
		continue;
	    }
	    sm_reply(true, "354 End data with <CR><LF>.<CR><LF>");
	    for (;;) {
		if ((ret = sm_smtp_line(line, 8192)) == 0) {
		    fclose(tmp);
		    goto out;			/* lost connection inside DATA */
		}
		if (ret == 1 && strcmp(STR(line), ".") == 0)
		    break;
		const char *text = STR(line) + (STR(line)[0] == '.');
		size_t  len = strlen(text);

		size += (long) len + 1;
		if (var_message_size_limit > 0 && size > var_message_size_limit)
		    too_big = true;
		if (!too_big) {
		    sm_write(tmp, text, len);
		    if (ret == 1)
			fputc('\n', tmp);
		}
	    }
	    if (too_big) {
		sm_reply(false, "552 5.3.4 Error: message file too big");
	    } else if (ferror(tmp) || fflush(tmp) != 0 || fseek(tmp, 0, SEEK_SET) != 0) {
		sm_reply(false, "451 4.3.0 Error: temporary file write error");
	    } else {
		char    buf[8192];
		size_t  n;

		pid = sm_postdrop_start(opts, sender, rcpts, &pd);
		while ((n = fread(buf, 1, sizeof(buf), tmp)) > 0)
		    sm_write(pd, buf, n);
		if ((status = sm_postdrop_finish(pid, pd)) == 0)
		    sm_reply(false, "250 2.0.0 Ok: queued");
		else
		    sm_reply(false, "451 4.3.0 Error: queue file write error");
	    }
	    fclose(tmp);
	    myfree(sender);
	    sender = NULL;
	    argv_truncate(rcpts, 0);
	} else if (strcasecmp(cmd, "RSET") == 0) {
	    myfree(sender);
	    sender = NULL;
	    argv_truncate(rcpts, 0);
	    sm_reply(false, "250 2.0.0 Ok");
	} else if (strncasecmp(cmd, "NOOP", 4) == 0 && (cmd[4] == 0 || cmd[4] == ' ')) {
	    sm_reply(false, "250 2.0.0 Ok");
	} else if (strncasecmp(cmd, "VRFY", 4) == 0 && (cmd[4] == 0 || cmd[4] == ' ')) {
	    sm_reply(false, "252 2.0.0 %s", arg);
	} else if (strcasecmp(cmd, "QUIT") == 0) {
	    sm_reply(true, "221 2.0.0 Bye");
	    break;
	} else {
	    sm_reply(false, "502 5.5.2 Error: command not recognized");
	    errors++;
	}
	(void) helo;
    }
out:
    fflush(stdout);
    myfree(sender);
    argv_free(&rcpts);
    vstring_free(&line);
    return 0;
}

/* sm_verify - sendmail -bv: queue a verify-only message (no input is
 * read) for the recipients; 0 when queued, or exits */
static int sm_verify(const SM_OPTS *opts, const ARGV *rcpts, VSTRING *buf, VSTRING *addr)
{
    char    id[QUEUE_ID_MAX], stamp[32];
    time_t  now = time(NULL);
    struct tm tm;
    FILE   *pd;
    pid_t   pid;
    int     status;

    if (opts->extract)
	msg_fatal_status(EX_USAGE, "%s: -t cannot be used with -bv: give the "
			 "recipients on the command line", sm_user);
    pid = sm_postdrop_start(opts, opts->sender, rcpts, &pd);
    queue_id_new(id);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    addr822_quote(addr, opts->sender);
    fprintf(pd, "Message-Id: <%s.%s@%s>\n", stamp, id, var_myhostname);
    fprintf(pd, "Date: %s\n", mail_date(buf, now));
    fprintf(pd, "From: %s\n", *opts->sender ? STR(addr) : "MAILER-DAEMON");
    fputs("To: undisclosed-recipients:;\n", pd);
    fputs("Subject: address verification probe (sendmail -bv)\n\n", pd);
    if ((status = sm_postdrop_finish(pid, pd)) != 0)
	msg_fatal_status(status, "%s: verification request not queued", sm_user);
    if (msg_verbose)
	msg_info("%s: verification request queued: the report goes to <%s>",
		 sm_user, opts->sender);
    return 0;
}

int     main(int argc, char **argv)
{
    SM_OPTS opts;
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *err;
    char    mode = 'm';
    int     i;
    int     exit_status = 0;
    ARGV   *rcpts = argv_alloc(8), *rcpts_to = argv_alloc(8), *rcpts_resent = argv_alloc(8);
    ARGV   *headers = argv_alloc(32);
    VSTRING *line = vstring_alloc(256), *hdr = vstring_alloc(256), *vp = vstring_alloc(256);
    bool    have_from = false, have_date = false, have_msgid = false, have_to = false;
    bool    have_resent = false, ended = false;
    size_t  hdr_total = 0;
    char   *body_first = NULL;
    FILE   *pd;
    pid_t   pid;
    int     status, ret;
    struct passwd *pw;
    char    userbuf[256];

    memset(&opts, 0, sizeof(opts));
    msg_init(strcmp(base, "mailq") == 0 ? "mailq" : "sendmail", MSG_TO_STDERR);
    config_set_process("sendmail");
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(base, "mailq") == 0)
	mode = 'p';

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
	const char *arg = argv[i];

	if (strcmp(arg, "--") == 0) {
	    i++;
	    break;
	}
	switch (arg[1]) {
	case 't':
	    opts.extract = true;
	    break;
	case 'i':
	    opts.ignore_dot = true;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	case 'o':
	    if (strcmp(arg, "-oi") == 0)
		opts.ignore_dot = true;
	    break;				/* -oXvalue: ignored */
	case 'f':
	case 'r':
	    myfree(opts.sender);
	    opts.sender = sm_strip_angle(sm_opt_arg(argv, &i, arg));
	    break;
	case 'F':
	    myfree(opts.full_name);
	    opts.full_name = mystrdup(sm_opt_arg(argv, &i, arg));
	    break;
	case 'C':
	case 'c':
	    myfree(opts.config_dir);
	    opts.config_dir = mystrdup(sm_opt_arg(argv, &i, arg));
	    config_set_dir(opts.config_dir);
	    break;
	case 'N':
	    opts.notify = sm_parse_notify(sm_opt_arg(argv, &i, arg));
	    break;
	case 'R':
	    opts.ret = mystrdup(sm_opt_arg(argv, &i, arg));
	    if (strcasecmp(opts.ret, "full") != 0 && strcasecmp(opts.ret, "hdrs") != 0)
		sm_usage("bad -R value");
	    break;
	case 'V':
	    opts.envid = mystrdup(sm_opt_arg(argv, &i, arg));
	    break;
	case 'B':
	    opts.body_type = mystrdup(sm_opt_arg(argv, &i, arg));
	    if (strcasecmp(opts.body_type, "8BITMIME") != 0
		&& strcasecmp(opts.body_type, "7BIT") != 0)
		sm_usage("bad -B value");
	    break;
	case 'L':
	case 'h':
	case 'O':
	case 'X':
	case 'A':
	case 'e':
	    (void) sm_opt_arg(argv, &i, arg);	/* ignored */
	    break;
	case 'n':
	case 'm':
	case 'U':
	case 'G':
	    break;
	case 'b':
	    if (arg[2] && arg[3] == 0 && strchr("pmsdv", arg[2]) != NULL)
		mode = arg[2];
	    else
		sm_usage("unsupported -b option");
	    break;
	case 'q':
	    /* -q alone flushes; -q with an interval is daemon mode: ignored */
	    mode = arg[2] == 0 ? 'q' : 'Q';
	    break;
	default:
	    msg_error("illegal option -- %c", arg[1] ? arg[1] : '-');
	    sm_usage("bad option");
	}
    }

    if (config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &err) < 0)
	msg_fatal_status(EX_CONFIG, "%s", err);
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);

    switch (mode) {
    case 'p':
	sm_exec_postqueue(&opts, "-p");
    case 'q':
	sm_exec_postqueue(&opts, "-f");
    case 'Q':
	return 0;
    case 's':
	pw = getpwuid(getuid());
	snprintf(userbuf, sizeof(userbuf), "%s(%ld)", pw ? pw->pw_name : "unknown", (long) getuid());
	sm_user = userbuf;
	exit_status = sm_smtp_session(&opts);
	goto done;
    case 'd':
	msg_fatal_status(EX_UNAVAILABLE, "-bd is not supported: use \"posthorn start\"");
    case 'v':
	opts.verify = true;
	break;
    default:
	break;
    }

    pw = getpwuid(getuid());
    snprintf(userbuf, sizeof(userbuf), "%s(%ld)", pw ? pw->pw_name : "unknown", (long) getuid());
    sm_user = userbuf;
    if (opts.sender == NULL) {
	if (pw == NULL)
	    msg_fatal_status(EX_OSERR, "%s: no login name found for user ID %ld",
			     sm_user, (long) getuid());
	opts.sender = mystrdup(pw->pw_name);
    }
    {
	char   *q = sm_qualify(opts.sender);

	myfree(opts.sender);
	opts.sender = q;
    }
    if (opts.full_name == NULL && getenv("NAME") != NULL)
	opts.full_name = mystrdup(getenv("NAME"));
    for (; i < argc; i++)
	sm_add_rcpts(rcpts, argv[i], strlen(argv[i]));
    if (!opts.extract && rcpts->argc == 0)
	msg_fatal_status(EX_TEMPFAIL, "%s: Recipient addresses must be specified on "
			 "the command line or via the -t option", sm_user);
    if (opts.verify) {
	exit_status = sm_verify(&opts, rcpts, vp, hdr);
	goto done;
    }

    /* Read the header section: logical headers (with folded lines). */
    for (bool first = true;; first = false) {
	ret = sm_getline(stdin, line, var_header_size_limit + 1);
	if (ret == 0) {
	    ended = true;
	    break;
	}
	if (!opts.ignore_dot && ret == 1 && strcmp(STR(line), ".") == 0) {
	    ended = true;
	    break;
	}
	if (first && strncmp(STR(line), "From ", 5) == 0)
	    continue;				/* Unix mailbox From_ line */
	hdr_total += LEN(line) + 1;
	if (hdr_total > (size_t) var_header_size_limit)
	    msg_fatal_status(EX_DATAERR, "%s: message header size exceeds "
			     "header_size_limit (%ld bytes)", sm_user, var_header_size_limit);
	if (LEN(line) == 0)
	    break;
	if ((STR(line)[0] == ' ' || STR(line)[0] == '\t') && headers->argc > 0) {
	    char   *prev = headers->argv[headers->argc - 1];

	    vstring_fmt(vp, "%s\n%s", prev, STR(line));
	    argv_truncate(headers, headers->argc - 1);
	    argv_add(headers, STR(vp), (char *) NULL);
	    continue;
	}
	if (sm_header_name_len(STR(line)) == 0) {
	    body_first = mystrdup(STR(line));	/* not a header: body starts */
	    break;
	}
	argv_add(headers, STR(line), (char *) NULL);
    }

    /* Look at the headers. */
    for (int h = 0; h < headers->argc; h++) {
	const char *text = headers->argv[h];
	size_t  nlen = sm_header_name_len(text);
	const char *val = text + nlen + 1;

	if (sm_is(text, nlen, "From"))
	    have_from = true;
	else if (sm_is(text, nlen, "Date"))
	    have_date = true;
	else if (sm_is(text, nlen, "Message-Id"))
	    have_msgid = true;
	else if (sm_is(text, nlen, "To") || sm_is(text, nlen, "Cc"))
	    have_to = true;
	if (strncasecmp(text, "Resent-", 7) == 0)
	    have_resent = true;
	if (opts.extract) {
	    if (sm_is(text, nlen, "To") || sm_is(text, nlen, "Cc") || sm_is(text, nlen, "Bcc"))
		sm_add_rcpts(rcpts_to, val, strlen(val));
	    else if (sm_is(text, nlen, "Resent-To") || sm_is(text, nlen, "Resent-Cc")
		     || sm_is(text, nlen, "Resent-Bcc"))
		sm_add_rcpts(rcpts_resent, val, strlen(val));
	}
    }
    if (opts.extract) {
	ARGV   *from = have_resent ? rcpts_resent : rcpts_to;

	for (int r = 0; r < from->argc; r++)
	    argv_add(rcpts, from->argv[r], (char *) NULL);
	if (rcpts->argc == 0)
	    msg_fatal_status(EX_TEMPFAIL, "%s: No recipient addresses found in message header",
			     sm_user);
    }

    /* Hand the envelope and the message to postdrop. */
    pid = sm_postdrop_start(&opts, opts.sender, rcpts, &pd);

    for (int h = 0; h < headers->argc; h++) {
	const char *text = headers->argv[h];
	size_t  nlen = sm_header_name_len(text);

	if (sm_is(text, nlen, "Bcc") || sm_is(text, nlen, "Resent-Bcc"))
	    continue;
	fprintf(pd, "%s\n", text);
    }
    if (!have_msgid) {
	char    id[QUEUE_ID_MAX], stamp[32];
	time_t  now = time(NULL);
	struct tm tm;

	queue_id_new(id);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	fprintf(pd, "Message-Id: <%s.%s@%s>\n", stamp, id, var_myhostname);
    }
    if (!have_date)
	fprintf(pd, "Date: %s\n", mail_date(vp, time(NULL)));
    if (!have_from) {
	addr822_quote(hdr, opts.sender);
	if (opts.full_name && *opts.full_name
	    && qfile_value_ok(opts.full_name, strlen(opts.full_name))) {
	    /* quote the display name when it has specials */
	    if (strpbrk(opts.full_name, "()<>[]:;@\\,.\"") != NULL) {
		fputs("From: \"", pd);
		for (const char *cp = opts.full_name; *cp; cp++) {
		    if (*cp == '"' || *cp == '\\')
			fputc('\\', pd);
		    fputc(*cp, pd);
		}
		fprintf(pd, "\" <%s>\n", STR(hdr));
	    } else {
		fprintf(pd, "From: %s <%s>\n", opts.full_name, STR(hdr));
	    }
	} else {
	    fprintf(pd, "From: %s\n", STR(hdr));
	}
    }
    if (!have_to)
	fputs("To: undisclosed-recipients:;\n", pd);
    fputc('\n', pd);

    /* The body, streamed. */
    if (body_first) {
	fprintf(pd, "%s\n", body_first);
	myfree(body_first);
    }
    if (!ended) {
	bool    at_start = true;

	while ((ret = sm_getline(stdin, line, 8192)) != 0) {
	    if (at_start && ret == 1 && !opts.ignore_dot && strcmp(STR(line), ".") == 0)
		break;
	    sm_write(pd, STR(line), LEN(line));
	    if (ret == 1)
		fputc('\n', pd);
	    at_start = ret == 1;
	}
    }
    if ((status = sm_postdrop_finish(pid, pd)) != 0)
	msg_fatal_status(status, "%s: message not queued", sm_user);
done:
    argv_free(&rcpts);
    argv_free(&rcpts_to);
    argv_free(&rcpts_resent);
    argv_free(&headers);
    vstring_free(&line);
    vstring_free(&hdr);
    vstring_free(&vp);
    myfree(opts.sender);
    myfree(opts.full_name);
    myfree(opts.config_dir);
    myfree(opts.ret);
    myfree(opts.envid);
    myfree(opts.body_type);
    return exit_status;
}
