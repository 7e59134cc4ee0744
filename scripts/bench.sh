#!/usr/bin/env bash
# End-to-end comparison: `cqube-emit convert` against pigz, the peers in ../shared/bench/ and lower bounds, on
# generated exports. Prints one table: MB/s of input, peak RSS, CPU, output size, and ratios against `pigz -p 2 -6`
# on the same input (throughput: ours / pigz; size: ours / pigz). `make bench` runs it after the criterion benches.
#
# env:
#   BENCH_ROWS        student_attendance rows of the main input (default 8800000, about 1 GiB)
#   BENCH_SCHOOLS     school_master rows (default 200000, about 40 MB)
#   BENCH_PEER_ROWS   rows of the smaller attendance input the Python peers get (default 1640000, about 200 MB,
#                     as in ../shared/bench/README.md: pandas needs ~8x its input in memory)
#   BENCH_BIG=1       also run convert and pigz on a 4x input (takes minutes, needs ~5 GB of disk)
#   BENCH_PEERS=0     skip the peers (no moto, pandas, awscli, xsv needed)
#   BENCH_DIR         where inputs and outputs go (default bench-out/ in the repo, gitignored)
#   BENCH_KEEP=1      keep the generated inputs for the next run (they are regenerated when the row count changes)
#
# Every run reads its input from the page cache (the file was just written), so `cat` is the read bound.
# Peak RSS is the largest single process of a run (getrusage of the children), so for pipelines it is the
# biggest stage, not the sum.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${BENCH_DIR:-$ROOT/bench-out}
ROWS=${BENCH_ROWS:-8800000}
SCHOOLS=${BENCH_SCHOOLS:-200000}
PEER_ROWS=${BENCH_PEER_ROWS:-1640000}
PEERS=${BENCH_PEERS:-1}
PEER_DIR=${BENCH_PEER_DIR:-$ROOT/../shared/bench}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/cqube-emit
TIME=/usr/bin/time
RESULTS=$DIR/results.tsv
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

cleanup() {
    stop_servers
    rm -rf "$DIR/server" "$DIR/journal"
    if [[ ${BENCH_KEEP:-0} != 1 ]]; then rm -f "$DIR"/*.csv "$DIR"/*.psv; fi
    rm -f "$DIR"/*.zip "$DIR"/*.gz
}
trap cleanup EXIT

[[ -x $TIME ]] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
need pigz "apt-get install pigz"
mkdir -p "$DIR"
: >"$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

echo "building cqube-emit (release)" >&2
(cd "$ROOT" && cargo build --release -q -p cqube-emit)

# gen SOURCE ROWS FILE [extra gen flags]: generates once per row count (the .rows marker says which).
gen() {
    local source=$1 rows=$2 file=$3
    shift 3
    if [[ -f $file && $(cat "$file.rows" 2>/dev/null) == "$rows $*" ]]; then return; fi
    echo "generating $file ($rows rows of $source)" >&2
    "$BIN" -q gen --source "$source" --rows "$rows" "$@" -o "$file"
    echo "$rows $*" >"$file.rows"
}

# run INPUT_LABEL NAME INPUT OUTPUT -- COMMAND...: times COMMAND (a shell string), records a result row.
# OUTPUT is the file whose size is reported ("-" for none). Adding a pipeline to the table is one call.
run() {
    local label=$1 name=$2 input=$3 output=$4 cmd=$5
    local stats=$DIR/time.out
    echo "  $label: $name" >&2
    if ! "$TIME" -f '%e %U %S %M %P' -o "$stats" bash -c "$cmd"; then
        echo "bench.sh: failed: $name on $label" >&2
        cat "$stats" >&2
        exit 1
    fi
    local secs user sys rss cpu size=-
    read -r secs user sys rss cpu < <(tail -n 1 "$stats")
    [[ $output != - && -f $output ]] && size=$(stat -c %s "$output")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$name" "$(stat -c %s "$input")" "$secs" "$rss" "$cpu" "$size" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" >>"$RESULTS"
    if [[ $output != - ]]; then rm -f "$output"; fi
}

# baseline INPUT_LABEL COMMA_CSV: the lower bounds and pigz on the pipe-delimited copy (the reference row).
baseline() {
    local label=$1 csv=$2 psv=${2%.csv}.psv
    tr , '|' <"$csv" >"$psv" # attendance cells never hold commas or quotes, so this is the converted text
    run "$label" "cat > /dev/null" "$csv" - "cat '$csv' > /dev/null"
    run "$label" "pigz -p 2 -6" "$psv" "$DIR/pigz.gz" "pigz -p 2 -6 -c '$psv' > '$DIR/pigz.gz'"
    run "$label" "pigz -p 2 -1" "$psv" "$DIR/pigz.gz" "pigz -p 2 -1 -c '$psv' > '$DIR/pigz.gz'"
    rm -f "$psv"
}

convert() {
    local label=$1 source=$2 csv=$3
    run "$label" "cqube-emit convert" "$csv" "$DIR/out.zip" \
        "'$BIN' -q --no-progress convert --source $source '$csv' -o '$DIR/out.zip'"
}

ATT=$DIR/attendance.csv
gen student_attendance "$ROWS" "$ATT"
LABEL="attendance $(($(stat -c %s "$ATT") / 1000000)) MB"
baseline "$LABEL" "$ATT"
convert "$LABEL" student_attendance "$ATT"
start_server "$BIN" "$DIR"
run "$LABEL" "cqube-emit emit (embedded store, loopback)" "$ATT" - \
    "'$BIN' -q --no-progress emit --source student_attendance '$ATT'"
# The same conversion into the same store, written straight to its bucket (`--s3`) with the store's credentials.
run "$LABEL" "cqube-emit emit --s3 (same store, direct)" "$ATT" - \
    "AWS_SHARED_CREDENTIALS_FILE='$DIR/server/store-credentials' AWS_PROFILE=cqube-emit-store AWS_REGION=us-east-1 \
     '$BIN' -q --no-progress emit --s3 s3://cqube-emission/bench --s3-endpoint '$STORE_ENDPOINT' --s3-path-style \
     --source student_attendance '$ATT'"
# Stock cQube's protocol against the same server (upload-url, one presigned POST per file): a converted export is
# converted twice (the first pass learns the zip's length and SHA-256), so expect about twice the CPU.
run "$LABEL" "cqube-emit emit --protocol post (same server)" "$ATT" - \
    "'$BIN' -q --no-progress emit --protocol post --source student_attendance '$ATT'"

SCH=$DIR/school_master.csv
gen school_master "$SCHOOLS" "$SCH" --schools "$SCHOOLS"
SLABEL="school_master $(($(stat -c %s "$SCH") / 1000000)) MB"
# School names hold commas and quotes, so `tr` would not give the converted text: pigz gets our own CSV entry.
"$BIN" -q --no-progress convert --source school_master "$SCH" -o "$DIR/sm.zip"
unzip -p "$DIR/sm.zip" >"$DIR/school_master.psv"
run "$SLABEL" "cat > /dev/null" "$SCH" - "cat '$SCH' > /dev/null"
run "$SLABEL" "pigz -p 2 -6" "$DIR/school_master.psv" "$DIR/pigz.gz" "pigz -p 2 -6 -c '$DIR/school_master.psv' > '$DIR/pigz.gz'"
rm -f "$DIR/school_master.psv" "$DIR/sm.zip"
convert "$SLABEL" school_master "$SCH"

if [[ $PEERS == 1 ]]; then
    need xsv "$PEER_DIR/setup.sh"
    need aws "$PEER_DIR/setup.sh"
    python3 -c 'import pandas, boto3, requests' || { echo "bench.sh: run $PEER_DIR/setup.sh" >&2; exit 2; }
    need moto_server "$PEER_DIR/setup.sh"
    start_moto "$DIR"
    run "$LABEL" "shell peer (xsv | pigz -K -6 | aws s3 cp -)" "$ATT" - "'$PEER_DIR/peer_shell.sh' '$ATT' shell.zip"
    SMALL=$DIR/attendance_small.csv
    gen student_attendance "$PEER_ROWS" "$SMALL"
    PLABEL="attendance $(($(stat -c %s "$SMALL") / 1000000)) MB"
    baseline "$PLABEL" "$SMALL"
    convert "$PLABEL" student_attendance "$SMALL"
    run "$PLABEL" "peer: Python csv module + zipfile + POST" "$SMALL" - \
        "python3 '$PEER_DIR/peer_csvmodule.py' '$SMALL' csvmodule.zip"
    run "$PLABEL" "peer: pandas reference flow + POST" "$SMALL" - \
        "python3 '$PEER_DIR/peer_reference.py' '$SMALL' reference.zip"
fi

if [[ ${BENCH_BIG:-0} == 1 ]]; then
    BIG=$DIR/attendance_big.csv
    gen student_attendance $((ROWS * 4)) "$BIG"
    BLABEL="attendance $(($(stat -c %s "$BIG") / 1000000)) MB"
    baseline "$BLABEL" "$BIG"
    convert "$BLABEL" student_attendance "$BIG"
fi

# The table: ratios are against the `pigz -p 2 -6` row of the same input.
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "commit:  $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD || echo ' (modified)')"
echo "load:    $LOAD_START at the start"
echo
awk -F'\t' '
    function rate(bytes, secs) { return secs >= 0.01 ? sprintf("%.1f", bytes / secs / 1e6) : "-" }
    $2 == "pigz -p 2 -6" { ref_mbps[$1] = $3 / $4 / 1e6; ref_size[$1] = $7 }
    { rows[NR] = $0 }
    END {
        printf "| %-22s | %-45s | %7s | %7s | %7s | %9s | %7s | %5s | %9s | %9s | %9s |\n", "input", "pipeline", "seconds",
            "MB/s", "CPU s", "MB/CPU-s", "RSS MiB", "CPU", "output MB", "x pigz -6", "size/pigz"
        printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------", "-----------------------------------------------",
            "--------:", "--------:", "--------:", "----------:", "--------:", "------:", "----------:", "----------:", "----------:"
        for (i = 1; i <= NR; i++) {
            split(rows[i], f, "\t")
            mbps = f[4] > 0 ? f[3] / f[4] / 1e6 : 0
            speed = (f[4] >= 0.01 && f[1] in ref_mbps && ref_mbps[f[1]] > 0) ? sprintf("%.2f", mbps / ref_mbps[f[1]]) : "-"
            size = (f[7] != "-" && f[1] in ref_size) ? sprintf("%.1f%%", 100 * f[7] / ref_size[f[1]]) : "-"
            out = f[7] == "-" ? "-" : sprintf("%.1f", f[7] / 1e6)
            printf "| %-22s | %-45s | %7.2f | %7s | %7.2f | %9s | %7.1f | %5s | %9s | %9s | %9s |\n", f[1], f[2], f[4],
                rate(f[3], f[4]), f[8], rate(f[3], f[8]), f[5] / 1024, f[6], out, speed, size
        }
    }' "$RESULTS"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (wall-clock columns are only comparable on an idle machine;"
echo "MB/CPU-s is the load-independent one; CPU = (user + sys) / wall)"
