#!/usr/bin/env bash
# Load run of POST /data/upload-url (the presign-and-reserve-a-key path) against a release `cqube-emit serve` on the
# embedded store: wrk with LOAD_CONNECTIONS connections for LOAD_SECONDS, one file name, so every request competes
# for that name's keys. Prints requests/s per 5-second window (flat means constant cost per request), then how far
# the last key's timestamp is ahead of the server's clock. Figures: docs/benchmarks.md.
#
# usage: scripts/load-upload-url.sh [BIN]   (default: the release build, built first)
# env:   LOAD_CONNECTIONS (16), LOAD_SECONDS (60), LOAD_THREADS (2), LOAD_DIR (a temp dir)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
CONNECTIONS=${LOAD_CONNECTIONS:-16}
DURATION=${LOAD_SECONDS:-60}
THREADS=${LOAD_THREADS:-2}
DIR=${LOAD_DIR:-$(mktemp -d)}
BIN=${1:-}

trap 'stop_servers; [[ -n ${LOAD_DIR:-} ]] || rm -rf "$DIR"' EXIT

need wrk "apt-get install wrk"
need curl
if [[ -z $BIN ]]; then
    echo "building cqube-emit (release)" >&2
    (cd "$ROOT" && cargo build --release -q -p cqube-emit)
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/cqube-emit
fi

start_server "$BIN" "$DIR"
echo "load: $CONNECTIONS connections, $THREADS threads, ${DURATION} s, POST $CQUBE_EMIT_API/upload-url" >&2
wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency -s "$ROOT/scripts/load-upload-url.lua" \
    "$CQUBE_EMIT_API/upload-url" | sed -n '/^window_s/,$p'

# The key one more request gets, against the server's clock (same host, same time zone).
key=$(curl -sf -H "Authorization: Bearer $CQUBE_EMIT_TOKEN" -H 'Content-Type: application/json' \
    -d '{"filename": "student_attendance/student_attendance.zip"}' "$CQUBE_EMIT_API/upload-url" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["fields"]["key"])')
stamp=$(sed -E 's/.*_([0-9]{14})(_[0-9]+)?\.zip$/\1/' <<<"$key")
ahead=$(( $(date -d "${stamp:0:8} ${stamp:8:2}:${stamp:10:2}:${stamp:12:2}" +%s) - $(date +%s) ))
echo "next key: $key (${ahead} s ahead of the clock)"
