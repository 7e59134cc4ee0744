#!/usr/bin/env bash
# Property-based test of the API against its own description: schemathesis generates valid and invalid requests
# from the served /openapi.json and runs every check (server errors, status codes, content types, response
# schemas, schema-valid requests accepted, schema-invalid ones refused, auth) against a fresh `cqube-emit serve`
# on the embedded store, with an admin token, for a bounded time. Any failure fails the script. `make test` runs it.
#
# env: SCHEMATHESIS_SECONDS  time budget (default 120)
#      CQUBE_EMIT_BIN        binary to serve (default: the debug build, built first)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
BUDGET=${SCHEMATHESIS_SECONDS:-120}
DIR=$(mktemp -d)
trap 'stop_servers; rm -rf "$DIR"' EXIT

if ! command -v schemathesis >/dev/null; then
    echo "schemathesis.sh: pip install schemathesis" >&2
    python3 -m pip install -q 'schemathesis>=4.3,<5'
fi
BIN=${CQUBE_EMIT_BIN:-}
if [[ -z $BIN ]]; then
    (cd "$ROOT" && cargo build -q -p cqube-emit)
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/cqube-emit
fi
start_server "$BIN" "$DIR"

cd "$DIR"
schemathesis --config-file "$ROOT/scripts/schemathesis.toml" run "${CQUBE_EMIT_API%/data}/openapi.json" --url "$CQUBE_EMIT_API" \
    -H "Authorization: Bearer $CQUBE_EMIT_TOKEN" --checks all --max-time "$BUDGET" \
    --generation-database none --no-color
