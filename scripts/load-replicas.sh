#!/usr/bin/env bash
# Load figures of the emission API's two hot requests, on one machine, side by side in one run:
#   upload-url  POST /data/upload-url (reserve a key, sign a POST policy): one SQLite or PostgreSQL write per request
#   parts       POST /data/uploads/ID/parts {"part_numbers":[1]} (read the upload, sign one part URL)
# for each topology:
#   sqlite      one release `cqube-emit serve`, state in SQLite (the default)
#   postgres    one replica, state in PostgreSQL (the local server, a database this script creates and drops)
#   2 replicas  two replicas on that database behind haproxy (round-robin, loopback)
# Each replica runs its own embedded store; neither request touches the store (presigning is local signing), so
# the store does not enter these figures. wrk -t LOAD_THREADS -c LOAD_CONNECTIONS for LOAD_SECONDS per cell. wrk,
# haproxy, PostgreSQL and the servers share this machine's cores: the figures are of the whole machine.
#
# usage: scripts/load-replicas.sh [BIN]   (default: the release build, built first)
# env:   LOAD_CONNECTIONS (16), LOAD_SECONDS (20), LOAD_THREADS (2)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
CONNECTIONS=${LOAD_CONNECTIONS:-16}
DURATION=${LOAD_SECONDS:-20}
THREADS=${LOAD_THREADS:-2}
DIR=$(mktemp -d)
DB=cqe_load_$$
URL=postgresql://postgres@127.0.0.1:5432/$DB
BIN=${1:-}
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

need wrk "apt-get install wrk"
need haproxy "apt-get install haproxy"
need psql "scripts/setup.sh starts PostgreSQL"
need curl
if [[ -z $BIN ]]; then
    echo "building cqube-emit (release)" >&2
    (cd "$ROOT" && cargo build --release -q -p cqube-emit)
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/cqube-emit
fi
"$ROOT/scripts/ensure-databases.sh" >/dev/null
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"

# serve NAME [ARGS...]: a replica with its own data directory; sets BASE to its base URL (…/data).
serve() {
    local name=$1; shift
    "$BIN" serve --data-dir "$DIR/$name" --listen 127.0.0.1:0 "$@" >"$DIR/$name.url" 2>"$DIR/$name.log" &
    PIDS+=($!)
    for _ in $(seq 100); do [[ -s $DIR/$name.url ]] && break; sleep 0.1; done
    [[ -s $DIR/$name.url ]] || { echo "${0##*/}: serve $name did not start (see $DIR/$name.log)" >&2; exit 1; }
    BASE=$(head -n1 "$DIR/$name.url")
}

# measure LABEL BASE TOKEN: one row per request kind.
measure() {
    local label=$1 base=$2 token=$3 upload out
    upload=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"source": "student_attendance", "filename": "student_attendance/student_attendance.zip"}' \
        "$base/uploads" | python3 -c 'import json, sys; print(json.load(sys.stdin)["upload_id"])')
    for kind in upload-url parts; do
        if [[ $kind == parts ]]; then
            export LOAD_BODY='{"part_numbers": [1]}' TARGET=$base/uploads/$upload/parts
        else
            export LOAD_BODY='{"filename": "student_attendance/student_attendance.zip"}' TARGET=$base/upload-url
        fi
        out=$(CQUBE_EMIT_TOKEN=$token wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
            -s "$ROOT/scripts/load-upload-url.lua" "$TARGET")
        printf '%s\t%s\t%s\t%s\n' "$label" "$kind" \
            "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")" \
            "$(sed -n 's/^non-200 answers: \([0-9]*\); p50 latency \([0-9.]*\) ms, p99 \([0-9.]*\) ms$/\2\t\3\t\1/p' <<<"$out")"
    done
}

echo "load: $CONNECTIONS connections, $THREADS wrk threads, ${DURATION} s per cell" >&2
printf 'topology\trequest\trequests_per_s\tp50_ms\tp99_ms\tnon_200\n'

serve sqlite
measure sqlite "$BASE" "$("$BIN" token create --name load --data-dir "$DIR/sqlite")"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

token=$("$BIN" token create --name load --database-url "$URL")
serve a --database-url "$URL"
a=$BASE
measure postgres "$a" "$token"

serve b --database-url "$URL"
b=$BASE
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$DIR/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend api
    bind 127.0.0.1:$port
    default_backend replicas
backend replicas
    balance roundrobin
    server a ${a#http://}
    server b ${b#http://}
CFG
sed -i 's|\(server [ab] [0-9.:]*\)/data$|\1|' "$DIR/haproxy.cfg"
haproxy -f "$DIR/haproxy.cfg" -db >"$DIR/haproxy.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
measure "2 replicas" "http://127.0.0.1:$port/data" "$token"
