#!/bin/sh
# imap_side_by_side.sh - Posthorn imapd vs Debian's Dovecot, same Maildir,
# same run, same client; prints a table of figures and ratios.
#
# usage: bench/imap_side_by_side.sh [--big] [--idle N]
#   default: a 10,000 message folder and 1,000 connections in IDLE
#   --big:   a 100,000 message folder as well (takes much longer)
#   --idle N: N idle connections instead of 1,000 (0: skip)
#
# Needs root. Installs dovecot-imapd when missing and stops the system
# dovecot that the package starts (only a private `dovecot -c CONFIG` is
# measured), builds the tree (build/), then runs bench/imap_bench.py. See
# bench/imap_bench.py for what is measured and how.
set -eu
cd "$(dirname "$0")/.."

sizes=10000
idle=1000
while [ $# -gt 0 ]; do
    case "$1" in
    --big) sizes=10000,100000 ;;
    --idle) idle="$2"; shift ;;
    *) echo "usage: $0 [--big] [--idle N]" >&2; exit 2 ;;
    esac
    shift
done

if [ "$(id -u)" != 0 ]; then
    echo "imap_side_by_side: needs root (dovecot and the instance user)" >&2
    exit 2
fi
if [ ! -x /usr/lib/dovecot/imap ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
    # the package may start the system service: we measure a private one only
    if command -v systemctl >/dev/null 2>&1; then
        systemctl stop dovecot >/dev/null 2>&1 || true
    fi
    if [ -f /run/dovecot/master.pid ]; then
        doveadm stop >/dev/null 2>&1 || true
    fi
fi
[ -f Makefile ] || ./configure >/dev/null
make -j2 >/dev/null
# 1,000 sessions x (socket + files) in each server and in the client
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 bench/imap_bench.py --sizes "$sizes" --idle "$idle"
