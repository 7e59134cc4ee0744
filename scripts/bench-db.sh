#!/usr/bin/env bash
# PostgreSQL student_attendance -> an emission in the bucket, on the same rows, for each ROWS (default 1,000,000 and
# 10,000,000):
#   db    cqube-emit emit --source student_attendance, no INPUT: the config's postgres source (COPY via tokio-postgres)
#   pipe  psql -c "\copy student_attendance to stdout csv header" | cqube-emit emit --source student_attendance -
#   file  cqube-emit emit --source student_attendance att.csv, the same rows exported to a CSV file first
#   peer  psql -c "\copy ..." | ../shared/bench/peer_shell.sh /dev/stdin KEY (xsv fmt | pigz -K -6 | aws s3 cp -)
#   copy  psql -c "\copy ..." > /dev/null: what the database alone takes to hand the rows out (a bound, no zip)
# cqube-emit sends to a `cqube-emit serve` on its embedded store, the peer to a moto_server, both started here.
#
# Prints, per path: MB/s (CSV bytes of the rows / wall seconds), user+sys CPU seconds, peak RSS and the size of the
# zip that arrived (a cqube-emit path fails unless its acknowledgement counts every row), then the db/file
# throughput ratio per row count against the 1.3x target. CPU and RSS come from GNU time around `bash -c PATH`: peak
# RSS is the largest single process (cqube-emit for db and file; the largest stage of the pipeline for pipe and peer,
# not their sum), CPU_s is every process of the path. The PostgreSQL backend that runs COPY is not among them:
# pg_CPU_s is the CPU of the server's backends that ended during the path (the postmaster's cutime + cstime), which on
# this one machine competes with the client for the same cores. It counts every database's backends, so another user
# of the server shows up there.
#
# usage: scripts/bench-db.sh [ROWS...]     env: BENCH_PEERS=0 skips the peer (no moto_server, xsv, aws needed)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
PEERS=${BENCH_PEERS:-1}
PEER_DIR=${BENCH_PEER_DIR:-$ROOT/../shared/bench}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/cqube-emit
ROWS=("$@")
[[ $# -eq 0 ]] && ROWS=(1000000 10000000)

need /usr/bin/time "apt-get install time"
if [[ $PEERS == 1 ]]; then
    for tool in moto_server xsv aws pigz; do
        need "$tool" "run $PEER_DIR/setup.sh, or BENCH_PEERS=0 to skip the peer"
    done
fi
"$ROOT/scripts/ensure-databases.sh" >/dev/null
echo "building cqube-emit (release)" >&2
(cd "$ROOT" && cargo build --release -q -p cqube-emit)

export PGOPTIONS=--client-min-messages=warning
DB=cqube_bench_$$
WORK=$(mktemp -d)
PSQL=(psql -h 127.0.0.1 -U postgres -qX -v ON_ERROR_STOP=1)
cleanup() {
    stop_servers
    "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
export BENCH_DB_URL="postgresql://postgres@127.0.0.1:5432/$DB"
start_server "$BIN" "$WORK"
if [[ $PEERS == 1 ]]; then start_moto "$WORK"; fi

days=$(for d in $(seq 1 31); do printf ', CASE WHEN (g + %d) %% 17 = 0 THEN NULL ELSE (g + %d) %% 3 END::smallint AS day_%d' "$d" "$d" "$d"; done)
mapping=$(for d in $(seq 1 31); do printf 'day_%d = "%d"\n' "$d" "$d"; done)
CONFIG=$WORK/cqube-emit.toml
cat >"$CONFIG" <<TOML
[[source]]
name = "student_attendance"
type = "postgres"
url_env = "BENCH_DB_URL"
table = "student_attendance"
[source.columns]
$mapping
TOML

EMIT="'$BIN' -q --no-progress --config '$CONFIG' emit --source student_attendance"
COPY_OUT="${PSQL[*]} -d $DB -c '\\copy student_attendance to stdout csv header'"
PATHS=(db pipe file)
[[ $PEERS == 1 ]] && PATHS+=(peer)
PATHS+=(copy)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A MBPS CPU

PG_PID=$(head -n 1 "$("${PSQL[@]}" -d postgres -At -c 'SHOW data_directory')/postmaster.pid")
# CPU seconds of the backends the postmaster has reaped so far (fields 16 and 17 of its stat, in clock ticks).
pg_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($16 + $17) / hz }' "/proc/$PG_PID/stat"; }

# measure CMD: runs the shell string CMD under GNU time; prints "wall_seconds cpu_seconds peak_kib pg_cpu_seconds".
measure() {
    local pg_before
    pg_before=$(pg_cpu)
    if ! /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" bash -o pipefail -c "$1" >"$WORK/out" 2>&1; then
        echo "bench-db.sh: failed: $1" >&2
        cat "$WORK/out" "$WORK/time" >&2
        exit 1
    fi
    # The backend's CPU is counted once the postmaster has reaped it.
    while pgrep -P "$PG_PID" -f " $DB " >/dev/null; do sleep 0.05; done
    sleep 0.1
    tail -n 1 "$WORK/time" | awk -v pg="$(pg_cpu)" -v before="$pg_before" '{ print $1, $2 + $3, $4, pg - before }'
}

# zip_bytes PATH ROWS KEY: the size of the zip PATH just sent; fails unless every row arrived (cqube-emit's
# acknowledgement line says how many) or the peer's object is missing.
zip_bytes() {
    local size
    if [[ $1 == peer ]]; then
        size=$(aws s3api head-object --bucket "$S3_BUCKET" --key "$3" --endpoint-url "$S3_ENDPOINT" \
            --query ContentLength --output text)
    else
        size=$(sed -n "s/^acknowledged .*: $2 rows, \([0-9]*\) bytes.*/\1/p" "$WORK/out")
    fi
    [[ -n $size ]] || { echo "bench-db.sh: $1 did not send $2 rows:" >&2; cat "$WORK/out" >&2; exit 1; }
    echo "$size"
}

TABLE=$(printf '%-10s %-5s %8s %8s %7s %7s %8s %12s %7s' rows path csv_MB seconds MB/s CPU_s pg_CPU_s \
    peak_RSS_MiB zip_MB)
echo "$TABLE" >&2
for n in "${ROWS[@]}"; do
    echo "rows $n: creating the table and exporting it to att.csv" >&2
    "${PSQL[@]}" -d "$DB" -c "DROP TABLE IF EXISTS student_attendance; CREATE TABLE student_attendance AS
      SELECT g::bigint AS student_attendance_id, (1000000 + g)::bigint AS student_id, (29000000000 + g % 5000)::bigint AS school_id,
             CASE WHEN g % 10 = 0 THEN NULL ELSE 100000000000 + g END::bigint AS aadhaar_uid, '2023-24'::text AS academic_year,
             (g % 12 + 1)::int AS month $days FROM generate_series(1, $n) g" -c "VACUUM ANALYZE student_attendance"
    "${PSQL[@]}" -d "$DB" -c "\\copy student_attendance to '$WORK/att.csv' csv header"
    bytes=$(stat -c %s "$WORK/att.csv")
    for path in "${PATHS[@]}"; do
        case $path in
            db) cmd=$EMIT ;;
            pipe) cmd="$COPY_OUT | $EMIT -" ;;
            file) cmd="$EMIT '$WORK/att.csv'" ;;
            peer) cmd="$COPY_OUT | '$PEER_DIR/peer_shell.sh' /dev/stdin student_attendance_$n.zip" ;;
            copy) cmd="$COPY_OUT > /dev/null" ;;
        esac
        # Plain assignments, so that a failure inside the substitution stops the script (set -e).
        stats=$(measure "$cmd")
        read -r secs cpu kib pg <<<"$stats"
        zip=-
        if [[ $path != copy ]]; then
            zip=$(zip_bytes "$path" "$n" "student_attendance_$n.zip")
            zip=$(awk -v b="$zip" 'BEGIN { printf "%.1f", b / 1e6 }')
        fi
        MBPS[$n,$path]=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { print b / 1e6 / s }')
        CPU[$n,$path]=$(awk -v c="$cpu" -v pg="$pg" 'BEGIN { print c + pg }')
        row=$(printf '%-10s %-5s %8.1f %8.2f %7.1f %7.1f %8.1f %12d %7s' "$n" "$path" "$(awk -v b="$bytes" \
            'BEGIN { print b / 1e6 }')" "$secs" "${MBPS[$n,$path]}" "$cpu" "$pg" $((kib / 1024)) "$zip")
        echo "$row" >&2
        TABLE+=$'\n'$row
    done
    rm -f "$WORK/att.csv"
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "commit:  $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD || echo ' (modified)')"
echo "load:    $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "$TABLE"
echo
for n in "${ROWS[@]}"; do
    awk -v n="$n" -v db="${MBPS[$n,db]}" -v file="${MBPS[$n,file]}" -v db_cpu="${CPU[$n,db]}" \
        -v file_cpu="${CPU[$n,file]}" 'BEGIN {
        ratio = file / db
        printf "%s rows: file/db throughput %.2fx (db %.1f MB/s, file %.1f MB/s): %s 1.3x;", n, ratio, db, file,
            ratio <= 1.3 ? "within" : "NOT within"
        printf " CPU_s + pg_CPU_s: db %.1f, file %.1f\n", db_cpu, file_cpu
    }'
done
