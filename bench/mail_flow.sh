#!/bin/sh
# bench/mail_flow.sh - SMTP receive + Maildir delivery throughput, next to Postfix.
#
# Usage: bench/mail_flow.sh [-n N] [-s SIZES] [-c CONCS] [-m PER_CONN] [-x]
#   -n N        messages per run (default 2000)
#   -s SIZES    message sizes in bytes, comma separated (default 2048,65536)
#   -c CONCS    client concurrencies (default 1,10,50)
#   -m PER_CONN messages per connection (default 1: a connection per message)
#   -x          Posthorn only (skip Postfix)
#
# Starts a Posthorn instance in a temp dir (loopback, a high port, smtpd ->
# qmgr -> virtual delivery into one Maildir; as root the daemons run as the
# unprivileged user phtest, like the test instances) and, when Debian's
# postfix is installed and this runs as root, a private Postfix instance in
# another temp dir (its own config_directory, queue_directory,
# data_directory, maillog_file, smtpd on another high port, virtual(8)
# delivery into a Maildir; a system Postfix on port 25 is not touched).
# For each size and concurrency it runs build/bench/smtp_load against both
# and prints accepted and delivered msgs/s and the ratio ours/Postfix
# (above 1: we are faster).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
B=${POSTHORN_BUILD:-$ROOT/build}
N=2000
SIZES=2048,65536
CONCS=1,10,50
PER=1
PF=1
while getopts "n:s:c:m:x" o; do
    case $o in
    n) N=$OPTARG ;; s) SIZES=$OPTARG ;; c) CONCS=$OPTARG ;; m) PER=$OPTARG ;; x) PF=0 ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
    esac
done
LOAD=$B/bench/smtp_load
[ -x "$LOAD" ] && [ -x "$B/bin/posthorn" ] || { echo "mail_flow.sh: build first (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || PF=0
command -v postfix >/dev/null 2>&1 || PF=0

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
$RUNAS "$B/bin/posthorn" -c "$ph" start
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

run() {  # run PORT MAILDIR SIZE CONC -> "accept_rate deliver_rate"
    "$LOAD" -p "$1" -d "$2" -s "$3" -c "$4" -m "$PER" -n "$N" -r sink@bench.test -t 600 > "$dir/out" || true
    a=$(sed -n 's/^accept_rate=//p' "$dir/out"); d=$(sed -n 's/^deliver_rate=//p' "$dir/out")
    ok=$(sed -n 's/^delivered=//p' "$dir/out")
    [ "$ok" = "$N" ] || echo "  (warning: only $ok of $N delivered)" >&2
    echo "$a $d"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

printf "%d messages per run, %s message(s) per connection, %s CPUs\n" "$N" "$PER" "$(nproc)"
printf "%-7s %-5s | %-23s | %-23s | %s\n" size conc "Posthorn acc/s  del/s" "Postfix acc/s  del/s" "ratio (delivered)"
for s in $(echo "$SIZES" | tr , ' '); do
    for c in $(echo "$CONCS" | tr , ' '); do
        set -- $(run "$PHPORT" "$PHMAILDIR" "$s" "$c")
        pa=$1; pd=$2
        if [ "$PF" = 1 ]; then
            set -- $(run "$PFPORT" "$PFMAILDIR" "$s" "$c")
            fa=$1; fd=$2
        else
            fa=-; fd=-
        fi
        printf "%-7s %-5s | %10s %10s  | %10s %10s  | %s\n" "$s" "$c" "$pa" "$pd" "$fa" "$fd" "$(ratio "$pd" "$fd")"
        # keep the Maildirs small between runs
        find "$PHMAILDIR/new" -type f -delete
        [ "$PF" = 1 ] && find "$PFMAILDIR/new" -type f -delete
    done
done
