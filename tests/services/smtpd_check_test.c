/* smtpd_check_test - drive smtpd_check.c from a script, without a network.
 *
 * The golden-transcript test of the SMTP restrictions (Postfix's
 * smtpd_check.in/.ref idea). Reads commands from stdin, one per line, and
 * prints each line as ">>> line" followed by the decision: "OK" or the
 * reply text; log lines (NOQUEUE: reject: ...) appear in between, because
 * stderr is sent to stdout. Commands:
 *
 *   set NAME=VALUE      parameter override, then reload and smtpd_check_init
 *   client NAME ADDR    new session; smtpd_check_connect
 *   helo NAME / ehlo NAME
 *   mail ADDR           smtpd_check_mail ("<>" is the null sender)
 *   rcpt ADDR           smtpd_check_rcpt
 *   data / eod          smtpd_check_data / smtpd_check_eod
 *   size N              smtpd_check_size
 *   rset                smtpd_check_reset, forget sender and recipients
 *   sasl USER           the client authenticated as USER ("sasl" alone: not)
 *   pipelined yes|no    the client sent ahead
 *   queue_id ID         the transaction has a queue ID
 *   resolve ADDR        print resolve_addr's class, flags, transport, nexthop
 *   flags               print DISCARD/HOLD/MYNETWORKS flags and filter
 *
 * Usage: smtpd_check_test [-c CONFIG_DIR] < script
 * The script runs with CONFIG_DIR/main.cf (default: none, so registry
 * defaults) plus its set commands. A fatal configuration error ends the
 * run with exit status 1 after printing the fatal message.
 */
#include "../../smtpd/smtpd_check.c"
#include "../../smtpd/smtpd_dns.c"

#include <stdio.h>
#include <unistd.h>

static SMTPD_STATE test_state;

/* test_clear_transaction - forget sender and recipients */
static void test_clear_transaction(void)
{
    myfree(test_state.sender);
    test_state.sender = NULL;
    for (int i = 0; i < test_state.rcpt_count; i++)
	myfree(test_state.rcpts[i].address);
    test_state.rcpt_count = 0;
    test_state.queue_id[0] = 0;
    smtpd_check_reset(&test_state);
}

/* test_clear_session - a new client */
static void test_clear_session(void)
{
    test_clear_transaction();
    myfree(test_state.helo_name);
    test_state.helo_name = NULL;
    myfree(test_state.sasl_username);
    test_state.sasl_username = NULL;
    myfree(test_state.protocol);
    test_state.protocol = mystrdup("SMTP");
    test_state.flags = 0;
}

/* test_strip - remove <> around an address */
static char *test_strip(const char *arg)
{
    size_t  len = strlen(arg);

    if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>')
	return mystrndup(arg + 1, len - 2);
    return mystrdup(arg);
}

/* test_print - the decision */
static void test_print(const char *reply)
{
    printf("%s\n", reply ? reply : "OK");
}

/* test_reload - apply overrides and re-initialize */
static void test_reload(void)
{
    const char *error;

    if (config_load(CONFIG_FLAG_NO_WARN | CONFIG_FLAG_NO_FILE_OK, &error) < 0)
	msg_fatal("%s", error);
    smtpd_check_init();
}

/* test_resolve - print a resolve_addr result */
static void test_resolve(const char *addr)
{
    RESOLVE_REPLY *rp = resolve_reply_alloc();

    resolve_addr(addr, rp);
    printf("class=%s flags=%s%s%s transport=%s nexthop=%s recipient=%s\n",
	   resolve_class_name(rp->class),
	   (rp->flags & RESOLVE_FLAG_ROUTED) ? "routed," : "",
	   (rp->flags & RESOLVE_FLAG_ERROR) ? "error," : "",
	   (rp->flags & RESOLVE_FLAG_FAIL) ? "fail," : "",
	   STR(rp->transport), STR(rp->nexthop), STR(rp->recipient));
    resolve_reply_free(&rp);
}

/* test_command - run one script line */
static void test_command(char *line)
{
    ARGV   *av = argv_split(line, " \t");
    const char *cmd = av->argc > 0 ? av->argv[0] : "";
    const char *arg = av->argc > 1 ? av->argv[1] : NULL;
    char   *addr;
    const char *reply;

    if (strcmp(cmd, "set") == 0 && arg) {
	const char *rest = line + strspn(line, " \t") + 3;

	rest += strspn(rest, " \t");
	char   *copy = mystrdup(rest);
	char   *eq = strchr(copy, '=');

	if (eq == NULL) {
	    printf("bad set command\n");
	} else {
	    char   *name = copy, *value = eq + 1;

	    *eq = 0;
	    while (eq > name && (eq[-1] == ' ' || eq[-1] == '\t'))
		*--eq = 0;
	    value += strspn(value, " \t");
	    config_override(name, value);
	    test_reload();
	    printf("OK\n");
	}
	myfree(copy);
    } else if (strcmp(cmd, "client") == 0 && av->argc == 3) {
	test_clear_session();
	ph_strlcpy(test_state.name, av->argv[1], sizeof(test_state.name));
	ph_strlcpy(test_state.addr, av->argv[2], sizeof(test_state.addr));
	snprintf(test_state.namaddr, sizeof(test_state.namaddr), "%s[%s]",
		 test_state.name, test_state.addr);
	test_print(smtpd_check_connect(&test_state));
    } else if ((strcmp(cmd, "helo") == 0 || strcmp(cmd, "ehlo") == 0) && arg) {
	bool    ehlo = cmd[0] == 'e';

	if (ehlo)
	    test_state.flags |= SMTPD_FLAG_EHLO;
	else
	    test_state.flags &= ~SMTPD_FLAG_EHLO;
	myfree(test_state.protocol);
	test_state.protocol = mystrdup(ehlo ? "ESMTP" : "SMTP");
	reply = smtpd_check_helo(&test_state, arg);
	if (reply == NULL) {
	    myfree(test_state.helo_name);
	    test_state.helo_name = mystrdup(arg);
	}
	test_print(reply);
    } else if (strcmp(cmd, "mail") == 0 && arg) {
	test_clear_transaction();
	addr = test_strip(arg);
	reply = smtpd_check_mail(&test_state, addr);
	if (reply == NULL)
	    test_state.sender = addr;
	else
	    myfree(addr);
	test_print(reply);
    } else if (strcmp(cmd, "rcpt") == 0 && arg) {
	addr = test_strip(arg);
	reply = smtpd_check_rcpt(&test_state, addr);
	if (reply == NULL) {
	    if (test_state.rcpt_count >= test_state.rcpt_size) {
		test_state.rcpt_size = test_state.rcpt_size * 2 + 4;
		test_state.rcpts = myreallocarray(test_state.rcpts, (size_t) test_state.rcpt_size,
						  sizeof(*test_state.rcpts));
	    }
	    memset(&test_state.rcpts[test_state.rcpt_count], 0, sizeof(SMTPD_RCPT));
	    test_state.rcpts[test_state.rcpt_count++].address = addr;
	} else {
	    myfree(addr);
	}
	test_print(reply);
    } else if (strcmp(cmd, "data") == 0) {
	test_print(smtpd_check_data(&test_state));
    } else if (strcmp(cmd, "eod") == 0) {
	test_print(smtpd_check_eod(&test_state));
    } else if (strcmp(cmd, "size") == 0 && arg) {
	test_print(smtpd_check_size(&test_state, strtol(arg, NULL, 10)));
    } else if (strcmp(cmd, "rset") == 0) {
	test_clear_transaction();
	test_print(NULL);
    } else if (strcmp(cmd, "sasl") == 0) {
	myfree(test_state.sasl_username);
	test_state.sasl_username = arg ? mystrdup(arg) : NULL;
	if (arg)
	    test_state.flags |= SMTPD_FLAG_AUTH;
	else
	    test_state.flags &= ~SMTPD_FLAG_AUTH;
	test_print(NULL);
    } else if (strcmp(cmd, "pipelined") == 0 && arg) {
	if (strcmp(arg, "yes") == 0)
	    test_state.flags |= SMTPD_FLAG_PIPELINED;
	else
	    test_state.flags &= ~SMTPD_FLAG_PIPELINED;
	test_print(NULL);
    } else if (strcmp(cmd, "queue_id") == 0 && arg) {
	ph_strlcpy(test_state.queue_id, arg, sizeof(test_state.queue_id));
	test_print(NULL);
    } else if (strcmp(cmd, "resolve") == 0 && arg) {
	test_resolve(arg);
    } else if (strcmp(cmd, "flags") == 0) {
	printf("flags:%s%s%s filter=%s hold=%s\n",
	       (test_state.flags & SMTPD_FLAG_MYNETWORKS) ? " mynetworks" : "",
	       (test_state.flags & SMTPD_FLAG_DISCARD) ? " discard" : "",
	       (test_state.flags & SMTPD_FLAG_HOLD) ? " hold" : "",
	       test_state.filter ? test_state.filter : "-",
	       test_state.hold_reason ? test_state.hold_reason : "-");
    } else {
	printf("unknown command\n");
    }
    argv_free(&av);
}

/* main - read the script */
int     main(int argc, char **argv)
{
    VSTRING *line = vstring_alloc(200);
    FILE   *fp = stdin;
    char    buf[4096];
    int     ch;

    msg_init("smtpd_check_test", MSG_TO_STDERR);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (dup2(1, 2) < 0)
	msg_fatal("dup2: %m");
    config_set_dir("/nonexistent");
    while ((ch = getopt(argc, argv, "c:")) != -1) {
	if (ch == 'c')
	    config_set_dir(optarg);
	else
	    msg_fatal("usage: %s [-c config_dir] < script", argv[0]);
    }
    test_state.protocol = mystrdup("SMTP");
    ph_strlcpy(test_state.name, "unknown", sizeof(test_state.name));
    ph_strlcpy(test_state.addr, "127.0.0.1", sizeof(test_state.addr));
    ph_strlcpy(test_state.namaddr, "unknown[127.0.0.1]", sizeof(test_state.namaddr));
    test_state.service = "smtp";
    test_reload();

    while (fgets(buf, sizeof(buf), fp) != NULL) {
	vstring_set(line, buf);
	vstring_chomp(line);
	if (LEN(line) == 0 || STR(line)[0] == '#') {
	    printf("%s\n", STR(line));
	    continue;
	}
	printf(">>> %s\n", STR(line));
	test_command(STR(line));
    }
    test_clear_session();
    myfree(test_state.protocol);
    myfree(test_state.rcpts);
    vstring_free(&line);
    return 0;
}
