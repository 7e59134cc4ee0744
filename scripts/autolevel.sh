#!/usr/bin/env bash
# `emit --level auto` against fixed levels at three link speeds (issue 18 item 3): one generated student_attendance
# export is emitted to a `cqube-emit serve` on loopback, its part PUTs through a proxy that carries them at a fixed
# rate of compressed bytes (cqube-testkit's examples/paced_proxy.rs), at each level and at `auto`; prints the wall
# seconds of each emit as a table, and the level shares `auto` ended with.
#
# env:
#   AUTOLEVEL_ROWS    rows of the export (default 2000000, ~240 MB of CSV)
#   AUTOLEVEL_RATES   link speeds in MB/s (default "5 50 500")
#   AUTOLEVEL_LEVELS  levels to compare (default "1 3 5 7 auto")
#   AUTOLEVEL_DIR     work directory (default bench-out/autolevel in the repo, gitignored)
#   AUTOLEVEL_PROFILE cargo profile to build and run (default release; dev reuses a test build, whose hot path
#                     crates are optimized anyway, see Cargo.toml)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${AUTOLEVEL_DIR:-$ROOT/bench-out/autolevel}
ROWS=${AUTOLEVEL_ROWS:-2000000}
RATES=${AUTOLEVEL_RATES:-5 50 500}
LEVELS=${AUTOLEVEL_LEVELS:-1 3 5 7 auto}
PROFILE=${AUTOLEVEL_PROFILE:-release}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/$([[ $PROFILE == dev ]] && echo debug || echo "$PROFILE")
BIN=$TARGET/cqube-emit
PROXY=$TARGET/examples/paced_proxy
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
(cd "$ROOT" && cargo build --profile "$PROFILE" -q -p cqube-emit &&
    cargo build --profile "$PROFILE" -q -p cqube-testkit --example paced_proxy)
mkdir -p "$DIR"
PROXY_PID=
trap 'stop_servers; [[ -z $PROXY_PID ]] || kill "$PROXY_PID" 2>/dev/null || true; rm -rf "$DIR/server" "$DIR/journal"' EXIT

[[ -s $DIR/att.csv ]] && [[ $(cat "$DIR/att.rows" 2>/dev/null) == "$ROWS" ]] ||
    { "$BIN" gen --source student_attendance --rows "$ROWS" -o "$DIR/att.csv" -q && echo "$ROWS" >"$DIR/att.rows"; }
start_server "$BIN" "$DIR"
echo "input: $(stat -c %s "$DIR/att.csv") bytes of CSV ($ROWS rows), profile $PROFILE, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%-8s' "MB/s"
for level in $LEVELS; do printf '%10s' "$level"; done
printf '   %s\n' "auto's levels (share of compressed bytes)"
for rate in $RATES; do
    "$PROXY" $((rate * 1000000)) >"$DIR/proxy.url" &
    PROXY_PID=$!
    for _ in $(seq 50); do [[ -s $DIR/proxy.url ]] && break; sleep 0.1; done
    printf '%-8s' "$rate"
    shares=
    for level in $LEVELS; do
        start=$(date +%s.%N)
        HTTP_PROXY=$(cat "$DIR/proxy.url") NO_PROXY= "$BIN" -q --no-progress --json emit --level "$level" \
            --source student_attendance "$DIR/att.csv" >"$DIR/emit.jsonl"
        awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%10.1f", e - s }'
        if [[ $level == auto ]]; then
            shares=$(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if "\"summary\"" in l][0].get("levels", {})
t = sum(s.values()) or 1
print(", ".join(f"{k} {100 * v / t:.0f} %" for k, v in sorted(s.items(), key=lambda kv: int(kv[0]))))' "$DIR/emit.jsonl")
        fi
    done
    printf '   %s\n' "$shares"
    kill "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=
    rm -f "$DIR/proxy.url"
done
