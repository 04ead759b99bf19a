/* local_command - delivery to |command (aliases, .forward, :include:,
 * mailbox_command).
 *
 * Contract: the command runs in a forked child that became state.uid/
 * state.gid for real (never root), in its own process group, with the
 * home directory (or /) as working directory and a clean environment:
 * PATH=/usr/bin:/bin, HOME, USER, LOGNAME, SHELL, SENDER, RECIPIENT,
 * ORIGINAL_RECIPIENT, LOCAL, DOMAIN, EXTENSION, plus TZ and LANG when set.
 * It is run by local_command_shell + the command (or /bin/sh -c). Its
 * standard input is a From_ line, Return-Path:, X-Original-To: (when it
 * differs), Delivered-To: (prepend_delivered_header "command", and
 * always for mailbox_command), then the message.
 *
 * Results: exit 0 -> "delivered to command: CMD"; sysexits(3) codes
 * map to DSN codes (EX_TEMPFAIL and EX_OSERR defer, the others bounce);
 * any other exit status bounces (5.3.0), a signal defers (4.3.0), and
 * command_time_limit kills the process group and bounces (5.3.0). The
 * first LOCAL_MAX_OUTPUT bytes of its output are added to the reason.
 */
#include "sys_defs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "config.h"
#include "mail_addr_find.h"
#include "msg.h"
#include "mymalloc.h"
#include "privs.h"
#include "vstring.h"

#include "local.h"

/* sysexits(3) codes and what they mean to a delivery */
static const struct {
    int     code;
    const char *dsn;
    const char *text;
} local_sysexits[] = {
    {64, "5.3.0", "command line usage error"},
    {65, "5.6.0", "data format error"},
    {66, "5.3.0", "cannot open input"},
    {67, "5.1.1", "user unknown"},
    {68, "5.1.2", "host name unknown"},
    {69, "5.3.0", "service unavailable"},
    {70, "5.3.0", "internal software error"},
    {71, "4.3.0", "system resource problem"},
    {72, "5.3.0", "critical OS file missing"},
    {73, "5.2.0", "can't create output file"},
    {74, "5.3.0", "input/output error"},
    {75, "4.3.0", "temporary failure"},
    {76, "5.5.0", "remote error in protocol"},
    {77, "5.7.0", "permission denied"},
    {78, "5.3.5", "local configuration error"},
};

/* local_command_env - the child's environment */
static ARGV *local_command_env(const LOCAL_STATE *state)
{
    ARGV *env = argv_alloc(16);
    VSTRING *v = vstring_alloc(100), *local = vstring_alloc(64);
    const char *addr = state->address, *at = strrchr(addr, '@');
    const char *user = state->user, *home = state->home, *shell = "/bin/sh";
    const char *orig = *state->lrc->rcpt->orig_address ? state->lrc->rcpt->orig_address
	: state->lrc->rcpt->address;
    struct passwd *pw;
    size_t base;

    if (user == NULL && (pw = getpwuid(state->uid)) != NULL) {
	user = pw->pw_name;
	home = pw->pw_dir;
    }
    if (user && (pw = getpwnam(user)) != NULL && pw->pw_shell && *pw->pw_shell)
	shell = pw->pw_shell;
    vstring_setn(local, addr, at ? (size_t) (at - addr) : strlen(addr));
    base = mail_addr_find_split(STR(local), var_recipient_delimiter);

#define SETENV(name, value) do { \
	vstring_fmt(v, "%s=%s", (name), (value)); argv_add(env, STR(v), (char *) 0); \
    } while (0)
    SETENV("PATH", "/usr/bin:/bin");
    SETENV("HOME", home ? home : "/");
    SETENV("USER", user ? user : "");
    SETENV("LOGNAME", user ? user : "");
    SETENV("SHELL", shell);
    SETENV("SENDER", state->lrc->lr->req->sender);
    SETENV("RECIPIENT", addr);
    SETENV("ORIGINAL_RECIPIENT", orig);
    SETENV("LOCAL", STR(local));
    SETENV("DOMAIN", at ? at + 1 : "");
    SETENV("EXTENSION", base < LEN(local) ? STR(local) + base + 1 : "");
    if (getenv("TZ"))
	SETENV("TZ", getenv("TZ"));
    if (getenv("LANG"))
	SETENV("LANG", getenv("LANG"));
#undef SETENV
    vstring_free(&v);
    vstring_free(&local);
    return env;
}

/* local_command_child - in the child: become the user and exec */
PH_NORETURN static void local_command_child(const LOCAL_STATE *state, const char *command,
					    int in_fd, int out_fd, ARGV *env)
{
    ARGV *args;
    sigset_t none;

    setpgid(0, 0);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
	_exit(75);
    for (int fd = 3; fd < 1024; fd++)
	close(fd);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    local_child_privs(state->uid, state->gid);
    if (env->argc > 1 && strncmp(env->argv[1], "HOME=", 5) == 0 && chdir(env->argv[1] + 5) < 0)
	if (chdir("/") < 0)
	    _exit(75);
    if (*var_local_command_shell) {
	args = argv_split(var_local_command_shell, " \t");
	argv_add(args, command, (char *) 0);
    } else {
	args = argv_alloc(4);
	argv_add(args, "sh", "-c", command, (char *) 0);
    }
    execve(*var_local_command_shell ? args->argv[0] : "/bin/sh", args->argv, env->argv);
    _exit(75);
}

/* local_command_input - the bytes the command reads: prologue + message */
typedef struct {
    const char *pro;
    size_t  pro_len, pro_off;
    int     fd;
    off_t   off, end;
    char    buf[16384];
    size_t  len, pos;
    bool    error;			/* the queue file could not be read */
} LOCAL_INPUT;

/* local_input_fill - next chunk; false at the end */
static bool local_input_fill(LOCAL_INPUT *in)
{
    if (in->pos < in->len)
	return true;
    if (in->pro_off < in->pro_len) {
	in->len = in->pro_len - in->pro_off;
	if (in->len > sizeof(in->buf))
	    in->len = sizeof(in->buf);
	memcpy(in->buf, in->pro + in->pro_off, in->len);
	in->pro_off += in->len;
	in->pos = 0;
	return true;
    }
    if (in->off < in->end) {
	size_t want = (size_t) (in->end - in->off) < sizeof(in->buf) ? (size_t) (in->end - in->off) : sizeof(in->buf);
	ssize_t n = pread(in->fd, in->buf, want, in->off);

	if (n <= 0) {
	    in->error = true;
	    return false;
	}
	in->off += n;
	in->len = (size_t) n;
	in->pos = 0;
	return true;
    }
    return false;
}

/* local_command - run |command */
void local_command(LOCAL_STATE state, const char *command)
{
    VSTRING *key = vstring_alloc(100), *pro = vstring_alloc(256), *out = vstring_alloc(256);
    int inp[2] = {-1, -1}, outp[2] = {-1, -1};
    bool delivered, timed_out = false;
    LOCAL_INPUT *in = NULL;
    ARGV *env = NULL;
    time_t deadline;
    int status = 0;
    pid_t pid;

    while (*command == ' ' || *command == '\t')
	command++;
    vstring_fmt(key, "command:%ld:%s", (long) state.uid, command);
    if (local_duplicate(&state, STR(key)))
	goto out;
    if (local_privs_default(&state) < 0)
	goto out;
    delivered = state.exp_type == LOCAL_EXP_NONE || local_delivered_wanted("command");
    {
	char date[64];
	struct tm tm;
	time_t t = (time_t) state.lrc->lr->req->arrival_sec;
	const char *s = state.lrc->lr->req->sender;

	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	vstring_fmt(pro, "From %s  %s\n", *s ? s : "MAILER-DAEMON", date);
	{
	    VSTRING *rest = vstring_alloc(200);

	    local_prologue(rest, &state, delivered);
	    vstring_catn(pro, STR(rest), LEN(rest));
	    vstring_free(&rest);
	}
    }
    env = local_command_env(&state);
    if (pipe2(inp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "pipe: %s", strerror(errno));
	goto out;
    }
    switch (pid = fork()) {
    case -1:
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "fork: %s", strerror(errno));
	goto out;
    case 0:
	local_command_child(&state, command, inp[0], outp[1], env);
    default:
	break;
    }
    close(inp[0]);
    close(outp[1]);
    inp[0] = outp[1] = -1;
    fcntl(inp[1], F_SETFL, O_NONBLOCK);
    fcntl(outp[0], F_SETFL, O_NONBLOCK);

    in = mycalloc(1, sizeof(*in));
    in->pro = STR(pro);
    in->pro_len = LEN(pro);
    in->fd = state.lrc->lr->qf->fd;
    in->off = state.lrc->lr->qf->content_offset;
    in->end = in->off + state.lrc->lr->qf->content_size;
    deadline = time(NULL) + var_command_time_limit;

    while (outp[0] >= 0) {
	struct pollfd pfd[2];
	int nfds = 0, timeout_ms;
	time_t now = time(NULL);

	if (now >= deadline) {
	    timed_out = true;
	    break;
	}
	timeout_ms = (int) (deadline - now) * 1000;
	if (inp[1] >= 0 && !local_input_fill(in)) {
	    if (in->error) {
		/* Never let a command see a truncated message as complete. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	    }
	    close(inp[1]);
	    inp[1] = -1;
	}
	pfd[nfds].fd = outp[0];
	pfd[nfds++].events = POLLIN;
	if (inp[1] >= 0) {
	    pfd[nfds].fd = inp[1];
	    pfd[nfds++].events = POLLOUT;
	}
	if (poll(pfd, (nfds_t) nfds, timeout_ms) < 0) {
	    if (errno == EINTR)
		continue;
	    break;
	}
	if (pfd[0].revents) {
	    char buf[4096];
	    ssize_t n = read(outp[0], buf, sizeof(buf));

	    if (n > 0) {
		if (LEN(out) < LOCAL_MAX_OUTPUT)
		    vstring_catn(out, buf, (size_t) n < LOCAL_MAX_OUTPUT - LEN(out) ? (size_t) n : LOCAL_MAX_OUTPUT - LEN(out));
	    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(outp[0]);
		outp[0] = -1;
	    }
	}
	if (nfds > 1 && pfd[1].revents) {
	    ssize_t n = write(inp[1], in->buf + in->pos, in->len - in->pos);

	    if (n > 0) {
		in->pos += (size_t) n;
	    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* The command stopped reading (EPIPE): its exit status decides. */
		close(inp[1]);
		inp[1] = -1;
	    }
	}
    }
    if (inp[1] >= 0)
	close(inp[1]);
    inp[1] = -1;
    if (timed_out) {
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
    }
    /* The output is closed: wait for the exit, bounded by the time limit. */
    for (;;) {
	pid_t w = waitpid(pid, &status, WNOHANG);

	if (w == pid)
	    break;
	if (w < 0 && errno != EINTR) {
	    status = 0;
	    break;
	}
	if (!timed_out && time(NULL) >= deadline) {
	    timed_out = true;
	    kill(-pid, SIGKILL);
	    kill(pid, SIGKILL);
	}
	usleep(10000);
    }
    for (size_t i = 0; i < LEN(out); i++)
	if ((unsigned char) STR(out)[i] < 0x20 || STR(out)[i] == 0x7f)
	    STR(out)[i] = ' ';
    while (LEN(out) > 0 && STR(out)[LEN(out) - 1] == ' ')
	vstring_truncate(out, LEN(out) - 1);

#define OUTPUT (LEN(out) ? ". Command output: " : ""), STR(out)
    if (in->error) {
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "cannot read the queue file for \"%s\": %s",
		     command, strerror(EIO));
    } else if (timed_out) {
	local_result(&state, DEL_STAT_BOUNCE, "5.3.0", "command time limit exceeded: \"%s\"%s%s",
		     command, OUTPUT);
    } else if (WIFSIGNALED(status)) {
	local_result(&state, DEL_STAT_DEFER, "4.3.0", "Command died with signal %d: \"%s\"%s%s",
		     WTERMSIG(status), command, OUTPUT);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
	local_result(&state, DEL_STAT_SENT, "2.0.0", "delivered to command: %s", command);
    } else {
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	const char *dsn = "5.3.0", *text = NULL;

	for (size_t i = 0; i < sizeof(local_sysexits) / sizeof(local_sysexits[0]); i++)
	    if (local_sysexits[i].code == code) {
		dsn = local_sysexits[i].dsn;
		text = local_sysexits[i].text;
	    }
	if (text)
	    local_result(&state, dsn[0] == '4' ? DEL_STAT_DEFER : DEL_STAT_BOUNCE, dsn,
			 "%s. Command output: %s", text, LEN(out) ? STR(out) : "(none)");
	else
	    local_result(&state, DEL_STAT_BOUNCE, dsn, "Command died with status %d: \"%s\"%s%s",
			 code, command, OUTPUT);
    }
#undef OUTPUT
out:
    for (int i = 0; i < 2; i++) {
	if (inp[i] >= 0)
	    close(inp[i]);
	if (outp[i] >= 0)
	    close(outp[i]);
    }
    if (in)
	myfree(in);
    if (env)
	argv_free(&env);
    vstring_free(&key);
    vstring_free(&pro);
    vstring_free(&out);
}
