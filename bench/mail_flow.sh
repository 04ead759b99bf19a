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
# and prints accepted and delivered msgs/s, the server CPU time per
# message (master + children, reaped ones included: steadier than rates on
# a busy machine) and the ratios (above 1: we are faster / cheaper).
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

# cpu MASTER_PID -> CPU seconds used so far by master, its live children
# and the children it has reaped (utime + stime + cutime + cstime)
cpu() {
    python3 - "$1" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
m = int(sys.argv[1])
def fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()
total = 0
f = fields(m)
total += sum(int(x) for x in f[11:15])
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = fields(int(d))
        except OSError:
            continue
        if int(f[1]) == m:
            total += int(f[11]) + int(f[12])
print(total / hz)
PY
}

run() {  # run PORT MAILDIR SIZE CONC MASTER -> "accept_rate deliver_rate cpu_ms_per_msg"
    c0=$(cpu "$5")
    "$LOAD" -p "$1" -d "$2" -s "$3" -c "$4" -m "$PER" -n "$N" -r sink@bench.test -t 600 > "$dir/out" || true
    sleep 0.2
    c1=$(cpu "$5")
    a=$(sed -n 's/^accept_rate=//p' "$dir/out"); d=$(sed -n 's/^deliver_rate=//p' "$dir/out")
    ok=$(sed -n 's/^delivered=//p' "$dir/out")
    [ "$ok" = "$N" ] || echo "  (warning: only $ok of $N delivered)" >&2
    echo "$a $d $(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN {printf "%.2f", (b - a) * 1000 / n}')"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

PHMASTER=$(awk '{print $1}' "$ph/queue/pid/master.pid")
[ "$PF" = 1 ] && PFMASTER=$(awk '{print $1}' "$dir/pfq/pid/master.pid")
printf "%d messages per run, %s message(s) per connection, %s CPUs; cpu = server CPU ms per message\n" "$N" "$PER" "$(nproc)"
printf "%-6s %-4s | %-28s | %-28s | %s\n" size conc "Posthorn acc/s  del/s  cpu" "Postfix acc/s  del/s  cpu" "ratio del/s, cpu"
for s in $(echo "$SIZES" | tr , ' '); do
    for c in $(echo "$CONCS" | tr , ' '); do
        set -- $(run "$PHPORT" "$PHMAILDIR" "$s" "$c" "$PHMASTER")
        pa=$1; pd=$2; pc=$3
        if [ "$PF" = 1 ]; then
            set -- $(run "$PFPORT" "$PFMAILDIR" "$s" "$c" "$PFMASTER")
            fa=$1; fd=$2; fc=$3
        else
            fa=-; fd=-; fc=-
        fi
        printf "%-6s %-4s | %9s %8s %7s  | %9s %8s %7s  | %s %s\n" "$s" "$c" "$pa" "$pd" "$pc" "$fa" "$fd" "$fc" \
            "$(ratio "$pd" "$fd")" "$(ratio "$fc" "$pc")"
        # keep the Maildirs small between runs
        find "$PHMAILDIR/new" -type f -delete
        [ "$PF" = 1 ] && find "$PFMAILDIR/new" -type f -delete
    done
done
