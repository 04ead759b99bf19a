/* postdrop - write a locally submitted message into the maildrop queue.
 *
 * SYNOPSIS
 *	postdrop [-c config_dir] [-v]
 *
 * DESCRIPTION
 *	postdrop reads one message from standard input and writes it as a
 *	queue file (lib/qfile.h format) into queue_directory/maildrop with
 *	O_EXCL, then makes it durable (fdatasync + directory fsync) and
 *	exits 0. It is normally run by sendmail(1), not by hand. When
 *	installed it is set-gid setgid_group so that it can write into the
 *	maildrop directory (mode 1730) which ordinary users cannot list; in
 *	an unprivileged instance it simply runs as the invoking user.
 *
 * INPUT
 *	An envelope, one item per line, ended by an empty line, then the
 *	message content (LF line endings, as sendmail prepared it) up to end
 *	of file:
 *	    sender ADDRESS          once; empty for the null sender
 *	    rcpt ADDRESS            one or more
 *	    attr NAME=VALUE         only full_name, dsn_envid, dsn_ret,
 *	                            body_type, smtputf8, verify (sendmail
 *	                            -bv: "yes" makes qmgr verify, not deliver)
 *	    notify N                QFILE_NOTIFY_* bits for later rcpt lines
 *	Addresses are in internal (unquoted) form. Anything else is an error.
 *	postdrop adds the attributes uid (the real uid), origin=sendmail and
 *	rewrite_context=local itself, and prepends a Received: header naming
 *	the uid and the queue ID.
 *
 * SECURITY
 *	Input is untrusted (anyone may run postdrop): lines are bounded, only
 *	the listed attributes are accepted, the message size is bounded by
 *	message_size_limit, and when running set-gid (real and effective gid
 *	differ) for a non-root user, -c and MAIL_CONFIG are refused so a user
 *	cannot point the privileged program at a queue of their choosing. A
 *	signal or an error while writing removes the partial file.
 *
 * EXIT STATUS
 *	0 queued; EX_USAGE bad options; EX_DATAERR malformed input or a
 *	message too large; EX_TEMPFAIL queue problems (not writable, disk
 *	full). Errors go to standard error as "postdrop: fatal: ...".
 */
#include "sys_defs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "mail_date.h"
#include "mail_queue.h"
#include "msg.h"
#include "mymalloc.h"
#include "qfile.h"
#include "vstring.h"

#define POSTDROP_LINE_MAX (QFILE_MAX_VALUE + 64)

static QFILE_WRITER *postdrop_writer;
static char postdrop_path[4096];

/* postdrop_signal - remove the partial file and exit */
static void postdrop_signal(int sig)
{
    (void) sig;
    if (postdrop_path[0])
	(void) unlink(postdrop_path);
    _exit(EX_TEMPFAIL);
}

/* postdrop_cleanup - msg_fatal hook: remove the partial file */
static void postdrop_cleanup(void)
{
    if (postdrop_writer != NULL)
	qfile_writer_abort(&postdrop_writer);
}

/* postdrop_getline - read one line (without LF) of at most max bytes;
 * 1 = line, 0 = EOF before anything, -1 = too long or no LF at EOF */
static int postdrop_getline(FILE *fp, VSTRING *line, size_t max)
{
    int     ch;

    vstring_reset(line);
    while ((ch = getc(fp)) != EOF) {
	if (ch == '\n')
	    return 1;
	if (LEN(line) >= max)
	    return -1;
	vstring_addch(line, ch);
    }
    return LEN(line) == 0 ? 0 : -1;
}

/* postdrop_attr_ok - attributes sendmail may pass */
static bool postdrop_attr_ok(const char *name)
{
    static const char *const ok[] = {
	QFILE_ATTR_FULL_NAME, QFILE_ATTR_DSN_ENVID, QFILE_ATTR_DSN_RET,
	QFILE_ATTR_BODY, QFILE_ATTR_SMTPUTF8, QFILE_ATTR_VERIFY,
    };

    for (size_t i = 0; i < PH_ARRAY_LEN(ok); i++)
	if (strcmp(name, ok[i]) == 0)
	    return true;
    return false;
}

/* postdrop_envelope - read the envelope lines into the writer */
static void postdrop_envelope(QFILE_WRITER *qw, FILE *fp)
{
    VSTRING *line = vstring_alloc(256);
    const char *err;
    bool    have_sender = false;
    int     notify = 0, ret;
    int     lineno = 0;

    for (;;) {
	ret = postdrop_getline(fp, line, POSTDROP_LINE_MAX);
	lineno++;
	if (ret == 0)
	    msg_fatal_status(EX_DATAERR, "unexpected end of input in the envelope");
	if (ret < 0)
	    msg_fatal_status(EX_DATAERR, "envelope line %d: too long or unterminated", lineno);
	if (LEN(line) == 0)
	    break;
	if (strncmp(STR(line), "sender ", 7) == 0) {
	    if (have_sender)
		msg_fatal_status(EX_DATAERR, "envelope line %d: second sender", lineno);
	    if (qfile_writer_sender(qw, STR(line) + 7, &err) < 0)
		msg_fatal_status(EX_DATAERR, "envelope line %d: %s", lineno, err);
	    have_sender = true;
	} else if (strncmp(STR(line), "rcpt ", 5) == 0) {
	    if (qfile_writer_rcpt(qw, STR(line) + 5, NULL, notify, &err) < 0)
		msg_fatal_status(EX_DATAERR, "envelope line %d: %s", lineno, err);
	} else if (strncmp(STR(line), "notify ", 7) == 0) {
	    char   *end;
	    long    val = strtol(STR(line) + 7, &end, 10);

	    if (*end || end == STR(line) + 7 || val < 0 || val > 15)
		msg_fatal_status(EX_DATAERR, "envelope line %d: bad notify value", lineno);
	    notify = (int) val;
	} else if (strncmp(STR(line), "attr ", 5) == 0) {
	    char   *name = STR(line) + 5;
	    char   *eq = strchr(name, '=');

	    if (eq == NULL)
		msg_fatal_status(EX_DATAERR, "envelope line %d: attribute without '='", lineno);
	    *eq = 0;
	    if (!postdrop_attr_ok(name))
		msg_fatal_status(EX_DATAERR, "envelope line %d: attribute %s not allowed",
				 lineno, name);
	    if (qfile_writer_attr(qw, name, eq + 1, &err) < 0)
		msg_fatal_status(EX_DATAERR, "envelope line %d: %s", lineno, err);
	} else {
	    msg_fatal_status(EX_DATAERR, "envelope line %d: unknown item", lineno);
	}
    }
    if (!have_sender)
	msg_fatal_status(EX_DATAERR, "no sender in the envelope");
    if (qfile_writer_rcpt_count(qw) == 0)
	msg_fatal_status(EX_DATAERR, "no recipients in the envelope");
    vstring_free(&line);
}

/* main - postdrop command entry point */
int     main(int argc, char **argv)
{
    bool    privileged;
    const char *err;
    VSTRING *buf = vstring_alloc(256);
    VSTRING *date = vstring_alloc(64);
    char    uidbuf[32];
    char    chunk[8192];
    size_t  n;
    int     ch;

    msg_init("postdrop", MSG_TO_STDERR);
    config_set_process("postdrop");
    msg_cleanup(postdrop_cleanup);
    privileged = getuid() != 0 && (getgid() != getegid() || getuid() != geteuid());
    if (privileged && getenv("MAIL_CONFIG") != NULL)
	msg_fatal_status(EX_USAGE, "MAIL_CONFIG is not allowed when running set-gid");
    while ((ch = getopt(argc, argv, "c:rv")) != -1) {
	switch (ch) {
	case 'c':
	    if (privileged)
		msg_fatal_status(EX_USAGE, "-c requires root privileges when running set-gid");
	    config_set_dir(optarg);
	    break;
	case 'r':				/* Postfix compatibility: the only mode */
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    msg_fatal_status(EX_USAGE, "usage: postdrop [-c config_dir] [-v]");
	}
    }
    if (optind != argc)
	msg_fatal_status(EX_USAGE, "usage: postdrop [-c config_dir] [-v]");
    if (config_load(CONFIG_FLAG_NO_WARN, &err) < 0)
	msg_fatal_status(EX_TEMPFAIL, "%s", err);
    mail_queue_init(var_queue_directory, var_hash_queue_depth, var_hash_queue_names);

    signal(SIGHUP, postdrop_signal);
    signal(SIGINT, postdrop_signal);
    signal(SIGQUIT, postdrop_signal);
    signal(SIGTERM, postdrop_signal);
    signal(SIGPIPE, SIG_IGN);

    umask(022);
    if ((postdrop_writer = qfile_writer_create(MAIL_QUEUE_MAILDROP, MAIL_QUEUE_MAILDROP_MODE,
					       &err)) == NULL)
	msg_fatal_status(EX_TEMPFAIL, "%s", err);
    ph_strlcpy(postdrop_path, qfile_writer_path(postdrop_writer), sizeof(postdrop_path));
    postdrop_envelope(postdrop_writer, stdin);
    snprintf(uidbuf, sizeof(uidbuf), "%ld", (long) getuid());
    if (qfile_writer_attr(postdrop_writer, QFILE_ATTR_UID, uidbuf, &err) < 0
	|| qfile_writer_attr(postdrop_writer, QFILE_ATTR_ORIGIN, "sendmail", &err) < 0
	|| qfile_writer_attr(postdrop_writer, QFILE_ATTR_REWRITE, "local", &err) < 0)
	msg_fatal_status(EX_SOFTWARE, "%s", err);

    vstring_fmt(buf, "Received: by %s (%s, from userid %s)\n\tid %s; %s\n",
		var_myhostname, var_mail_name, uidbuf, qfile_writer_id(postdrop_writer),
		mail_date(date, time(NULL)));
    if (qfile_writer_content(postdrop_writer, STR(buf), LEN(buf), &err) < 0)
	msg_fatal_status(EX_TEMPFAIL, "%s", err);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
	if (var_message_size_limit > 0
	    && qfile_writer_content_size(postdrop_writer) + (off_t) n > var_message_size_limit)
	    msg_fatal_status(EX_DATAERR, "message file too big");
	if (qfile_writer_content(postdrop_writer, chunk, n, &err) < 0)
	    msg_fatal_status(EX_TEMPFAIL, "%s", err);
    }
    if (ferror(stdin))
	msg_fatal_status(EX_TEMPFAIL, "read message: %s", strerror(errno));
    if (msg_verbose)
	msg_info("%s: uid=%s size=%lld", qfile_writer_id(postdrop_writer), uidbuf,
		 (long long) qfile_writer_content_size(postdrop_writer));
    if (qfile_writer_finish(&postdrop_writer, true, &err) < 0) {
	postdrop_path[0] = 0;
	msg_fatal_status(EX_TEMPFAIL, "%s", err);
    }
    postdrop_path[0] = 0;
    vstring_free(&buf);
    vstring_free(&date);
    return 0;
}
