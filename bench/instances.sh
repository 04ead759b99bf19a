# bench/instances.sh - sourced by mail_flow.sh and idle_sessions.sh: a
# Posthorn instance and (PF=1, root, Debian's postfix installed) a private
# Postfix instance in one temp dir, both on loopback high ports delivering
# sink@bench.test into a Maildir. Needs ROOT, B and PF set; sets dir,
# PHPORT, PHMAILDIR, PFPORT, PFMAILDIR, RUNAS and an EXIT trap that stops
# both and removes the temp dir.
dir=$(mktemp -d /tmp/mail-flow.XXXXXX)
chmod 755 "$dir"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- Posthorn ---------------------------------------------------------------
ph=$dir/ph
mkdir -p "$ph/vmail/bench.test/sink/new" "$ph/vmail/bench.test/sink/cur" "$ph/vmail/bench.test/sink/tmp"
RUNAS=""
if [ "$(id -u)" = 0 ]; then
    id phtest >/dev/null 2>&1 || useradd --system --no-create-home --user-group --shell /usr/sbin/nologin phtest
    PHUSER=phtest
    RUNAS="setpriv --reuid=$(id -u phtest) --regid=$(id -g phtest) --clear-groups --"
else
    PHUSER=$(id -un)
fi
PHUID=$(id -u "$PHUSER"); PHGID=$(id -g "$PHUSER")
PHPORT=$(free_port)
cat > "$ph/main.cf" <<EOF
config_directory = $ph
queue_directory = $ph/queue
data_directory = $ph/data
daemon_directory = $B/libexec
command_directory = $B/bin
maillog_file = $ph/maillog
inet_interfaces = 127.0.0.1
mail_owner = $PHUSER
setgid_group = $(id -gn "$PHUSER")
myhostname = posthorn.bench
mydestination = posthorn.bench
alias_maps =
local_recipient_maps =
virtual_mailbox_domains = bench.test
virtual_mailbox_maps = inline:{ sink@bench.test=bench.test/sink/ }
virtual_mailbox_base = $ph/vmail
virtual_uid_maps = static:$PHUID
virtual_gid_maps = static:$PHGID
virtual_minimum_uid = 0
EOF
cat > "$ph/master.cf" <<EOF
$PHPORT inet n - n - 100 smtpd
qmgr unix n - n 300 1 qmgr
local unix - n n - - local
virtual unix - n n - - local
anvil unix - - n - 1 anvil
EOF
chown -R "$PHUID:$PHGID" "$ph"

cleanup() {
    $RUNAS "$B/bin/posthorn" -c "$ph" stop >/dev/null 2>&1 || true
    [ "$PF" = 1 ] && postfix -c "$dir/pf" stop >/dev/null 2>&1 || true
    sleep 0.5
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
$RUNAS "$B/bin/posthorn" -c "$ph" start >/dev/null 2>&1
PHMAILDIR=$ph/vmail/bench.test/sink

# --- Postfix -------------------------------------------------------------------
if [ "$PF" = 1 ]; then
    pf=$dir/pf
    cp -a /etc/postfix "$pf"
    PFPORT=$(free_port)
    mkdir -p "$dir/pfq" "$dir/pfdata" "$dir/pfmail/bench.test/sink"
    chown -R nobody:nogroup "$dir/pfmail"
    chown postfix "$dir/pfdata"
    # a fresh main.cf: the system one may carry anything
    cat > "$pf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/pfq
data_directory = $dir/pfdata
maillog_file = $dir/pf.log
maillog_file_prefixes = $dir
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench
mydestination = postfix.bench
alias_maps =
alias_database =
local_recipient_maps =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = bench.test
virtual_mailbox_maps = inline:{ sink@bench.test=bench.test/sink/ }
virtual_mailbox_base = $dir/pfmail
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 100
smtpd_banner = \$myhostname ESMTP
biff = no
EOF
    # only our listener (no port 25), nothing chrooted
    postconf -c "$pf" -M# smtp/inet submission/inet smtps/inet >/dev/null 2>&1 || true
    echo "$PFPORT inet n - n - 100 smtpd" >> "$pf/master.cf"
    postconf -c "$pf" -F '*/*/chroot = n'
    postfix -c "$pf" start >/dev/null 2>&1 || { echo "mail_flow.sh: private postfix did not start:" >&2; tail "$dir/pf.log" >&2; PF=0; }
    PFMAILDIR=$dir/pfmail/bench.test/sink
fi
sleep 1

