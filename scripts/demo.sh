#!/usr/bin/env bash
# The newcomer's first five minutes (`make run`): start the emission API on its embedded store in a temporary
# directory, create a token, generate a small cqube_emission folder, emit it in dependency order, print the
# acknowledgements and the bucket listing, and stop the server.
set -euo pipefail

TARGET=${CARGO_TARGET_DIR:-target}
BIN=${CQUBE_EMIT_BIN:-$TARGET/release/cqube-emit}
[[ -x $BIN ]] || BIN=$TARGET/debug/cqube-emit
[[ -x $BIN ]] || { echo "build first: cargo build --release -p cqube-emit" >&2; exit 2; }

WORK=$(mktemp -d -t cqube-demo.XXXXXX)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== 1. the emission API on its embedded store (data in $WORK/server)"
"$BIN" serve --data-dir "$WORK/server" --listen 127.0.0.1:0 >"$WORK/url" 2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 100); do [[ -s $WORK/url ]] && break; sleep 0.1; done
API=$(head -n1 "$WORK/url")
[[ $API == http* ]] || { echo "the server did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
echo "   API: $API"

echo "== 2. a token (shown once, kept only as a hash by the server)"
export CQUBE_EMIT_TOKEN
CQUBE_EMIT_TOKEN=$("$BIN" token create --name demo --admin --data-dir "$WORK/server")
echo "   token: ${CQUBE_EMIT_TOKEN:0:17}…"
export CQUBE_EMIT_API=$API CQUBE_EMIT_JOURNAL_DIR=$WORK/journal

echo "== 3. a small cqube_emission folder: every data source, referentially consistent"
"$BIN" gen --all "$WORK/cqube_emission" --rows 2000 --quiet
echo "   $(find "$WORK/cqube_emission" -name '*.zip' | wc -l) zips, $(du -sh "$WORK/cqube_emission" | cut -f1)"

echo "== 4. the plan: masters first, dependents under what they wait for"
"$BIN" plan "$WORK/cqube_emission" | sed "s|$WORK/||" | awk 'NR <= 25'
echo "   …"

echo "== 5. emit: each zip checked, streamed in parts, acknowledged (rows, bytes, sha256 checked against what was sent)"
"$BIN" emit --no-progress "$WORK/cqube_emission"

echo "== 6. the emission bucket (cqube-emit ls: list_s3_files, every page)"
"$BIN" ls -q | sed 's/^/   /'

echo "== 7. fetch one object (cqube-emit get: download_uri) and verify another (zip CRC, header, rows)"
KEY=$("$BIN" ls -q emission/school_master/ | awk 'NR == 1 { print $NF }')
(cd "$WORK" && "$BIN" get "$KEY")
"$BIN" verify "$KEY"
echo "== done; stopping the server"
