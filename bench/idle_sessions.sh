#!/bin/sh
# bench/idle_sessions.sh - memory per idle SMTP session, Posthorn next to Postfix.
#
# Usage: bench/idle_sessions.sh [N]   (default 50 sessions)
# Starts the instances of bench/instances.sh, opens N SMTP sessions to
# each (greeting read, EHLO sent, then idle), and sums RSS and PSS
# (/proc/PID/smaps_rollup) over the server's smtpd processes; prints the
# totals and the per-session figures (KiB). Postfix is measured when this
# runs as root and Debian's postfix is installed.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
B=${POSTHORN_BUILD:-$ROOT/build}
N=${1:-50}
PF=1
[ "$(id -u)" = 0 ] || PF=0
command -v postfix >/dev/null 2>&1 || PF=0
. "$ROOT/bench/instances.sh"
sleep 1

# mem MASTER_PID -> "procs rss_kib pss_kib" over master's smtpd children
mem() {
    procs=0; rss=0; pss=0
    for p in $(ps -o pid= --ppid "$1"); do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = smtpd ] || continue
        set -- $(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' /proc/$p/smaps_rollup 2>/dev/null || echo "0 0")
        procs=$((procs + 1)); rss=$((rss + $1)); pss=$((pss + $2))
    done
    echo "$procs $rss $pss"
}

# measure NAME PORT MASTER_PID
measure() {
    fifo=$dir/hold.$1
    mkfifo "$fifo"
    python3 - "$2" "$N" < "$fifo" > "$dir/ready.$1" <<'PY' &
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO idle.bench.test\r\n")
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            break
    socks.append((s, f))
print("ready", flush=True)
sys.stdin.read()
PY
    holder=$!
    exec 9>"$fifo"
    for _ in $(seq 1 300); do grep -q ready "$dir/ready.$1" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
    set -- "$1" $(mem "$3")
    printf "%-9s %4d sessions %4d smtpd  RSS %8d KiB (%6.0f/session)  PSS %8d KiB (%6.0f/session)\n" \
        "$1" "$N" "$2" "$3" "$(awk -v a="$3" -v n="$N" 'BEGIN {print a / n}')" \
        "$4" "$(awk -v a="$4" -v n="$N" 'BEGIN {print a / n}')"
    exec 9>&-
    wait "$holder" 2>/dev/null || true
}

measure Posthorn "$PHPORT" "$(awk '{print $1}' "$ph/queue/pid/master.pid")"
if [ "$PF" = 1 ]; then
    measure Postfix "$PFPORT" "$(awk '{print $1}' "$dir/pfq/pid/master.pid")"
fi
