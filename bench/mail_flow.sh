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

. "$ROOT/bench/instances.sh"

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
