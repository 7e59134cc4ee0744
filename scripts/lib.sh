# Helpers the benchmark scripts share; source it (`. scripts/lib.sh`) after `set -euo pipefail`.
# Messages are prefixed with the calling script's name. The caller's EXIT trap should call stop_servers.
# shellcheck shell=bash

MOTO_PID=
SERVER_PID=
STORE_ENDPOINT=

# need COMMAND [HINT]: exits 2 with a message when COMMAND is not on the PATH.
need() { command -v "$1" >/dev/null || { echo "${0##*/}: $1 not found${2:+ ($2)}" >&2; exit 2; }; }

# start_moto DIR: moto_server on a free loopback port (log in DIR/moto.log) with bucket `bench`; exports the S3
# variables the peers in ../shared/bench read.
start_moto() {
    local dir=$1 port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    moto_server -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    MOTO_PID=$!
    export S3_ENDPOINT=http://127.0.0.1:$port S3_BUCKET=bench AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
        AWS_DEFAULT_REGION=us-east-1
    for _ in $(seq 100); do
        if python3 -c "import boto3; boto3.client('s3', endpoint_url='$S3_ENDPOINT').create_bucket(Bucket='bench')" \
            2>/dev/null; then return; fi
        sleep 0.2
    done
    echo "${0##*/}: moto_server did not start (see $dir/moto.log)" >&2
    exit 1
}

# start_server BIN DIR: `BIN serve` on its embedded store in DIR/server, with an admin token; exports the API, the
# token and a journal directory (DIR/journal) for `emit`, and sets STORE_ENDPOINT to the embedded store's URL (its
# credentials are in DIR/server/store-credentials).
start_server() {
    local bin=$1 dir=$2
    rm -rf "$dir/server"
    "$bin" serve --data-dir "$dir/server" --listen 127.0.0.1:0 >"$dir/server.url" 2>"$dir/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do [[ -s $dir/server.url ]] && break; sleep 0.1; done
    [[ -s $dir/server.url ]] || { echo "${0##*/}: serve did not start (see $dir/server.log)" >&2; exit 1; }
    export CQUBE_EMIT_API CQUBE_EMIT_TOKEN CQUBE_EMIT_JOURNAL_DIR=$dir/journal
    CQUBE_EMIT_API=$(head -n1 "$dir/server.url")
    CQUBE_EMIT_TOKEN=$("$bin" token create --name bench --admin --data-dir "$dir/server")
    STORE_ENDPOINT=$(sed -n 's/^embedded store: endpoint \([^ ]*\) .*/\1/p' "$dir/server.log")
}

# stop_servers: stops what start_moto and start_server started (for the EXIT trap).
stop_servers() {
    if [[ -n $MOTO_PID ]]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}
