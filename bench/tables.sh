#!/bin/sh
# bench/tables.sh - lookup-table build and lookup speed, next to Postfix.
#
# Usage: bench/tables.sh [N] [LOOKUPS]   (defaults 1000000 and 200000)
# Builds an N-entry table with our postmap and, when Debian's postfix (and
# postfix-lmdb) is installed, with Postfix's postmap lmdb: and hash: on the
# same source; then times LOOKUPS random keys through "postmap -q -" for
# each, and our in-process lookup rate (build/bench/dict_bench). Prints
# seconds and ratios (Postfix time / our time: above 1 means we are faster).
set -eu
cd "$(dirname "$0")/.."
B=${POSTHORN_BUILD:-build}
N=${1:-1000000}
L=${2:-200000}
OURS=$B/bin/postmap
BENCH=$B/bench/dict_bench
[ -x "$OURS" ] && [ -x "$BENCH" ] || { echo "tables.sh: build first (make)" >&2; exit 1; }
dir=$(mktemp -d /tmp/tables-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

"$BENCH" gen "$dir/src" "$N"
"$BENCH" keys "$N" "$L" > "$dir/keys"
cp "$dir/src" "$dir/ours"

t0=$(now); "$OURS" "lmdb:$dir/ours"; t1=$(now)
ours_build=$(elapsed "$t0" "$t1")
t0=$(now); n=$("$OURS" -q - "lmdb:$dir/ours" < "$dir/keys" | wc -l); t1=$(now)
ours_q=$(elapsed "$t0" "$t1")
[ "$n" = "$L" ] || { echo "tables.sh: our postmap -q - found $n of $L keys" >&2; exit 1; }
echo "entries: $N, lookups: $L"
echo "posthorn postmap lmdb:  build ${ours_build}s  postmap -q - ${ours_q}s ($(ratio "$L" "$ours_q" | awk '{printf "%d", $1}') lookups/s)"
"$BENCH" lookup "lmdb:$dir/ours" "$N" 1000000 | sed 's/^/posthorn in-process /'

PF=/usr/sbin/postmap
if [ -x "$PF" ]; then
    for t in lmdb hash; do
        cp "$dir/src" "$dir/pf_$t"
        t0=$(now)
        if ! "$PF" "$t:$dir/pf_$t" 2>"$dir/err"; then
            echo "postfix postmap $t: failed: $(head -1 "$dir/err")"; continue
        fi
        t1=$(now)
        pb=$(elapsed "$t0" "$t1")
        t0=$(now); n=$("$PF" -q - "$t:$dir/pf_$t" < "$dir/keys" | wc -l); t1=$(now)
        pq=$(elapsed "$t0" "$t1")
        echo "postfix  postmap $t:$( [ $t = hash ] && echo ' ')  build ${pb}s  postmap -q - ${pq}s ($(ratio "$L" "$pq" | awk '{printf "%d", $1}') lookups/s, found $n)"
        echo "  ratio postfix/posthorn: build $(ratio "$pb" "$ours_build")x  lookups $(ratio "$pq" "$ours_q")x"
    done
else
    echo "postfix not installed: no comparison (apt-get install postfix postfix-lmdb)"
fi
