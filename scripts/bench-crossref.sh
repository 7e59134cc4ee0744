#!/usr/bin/env bash
# The cost of the cross-source check (issue 16 item 7): an attendance export read through the checks without
# masters, then with `--masters` holding a school master of many schools, and converted (zip written) for the
# denominator. Prints CPU-seconds (user + sys), wall time and peak RSS of each, and the extra CPU of the lookups as a
# share of the conversion's CPU. CPU-seconds move much less than wall time with the machine's load.
#
# env:
#   BENCH_ROWS     student_attendance rows (default 8800000, about 1 GiB)
#   BENCH_SCHOOLS  schools in the universe and the school master (default 1500000, a large state)
#   BENCH_DIR      where inputs go (default bench-out/crossref, gitignored)
#   BENCH_RUNS     runs of each command; the lowest CPU of each is kept (default 3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${BENCH_DIR:-$ROOT/bench-out/crossref}
ROWS=${BENCH_ROWS:-8800000}
SCHOOLS=${BENCH_SCHOOLS:-1500000}
RUNS=${BENCH_RUNS:-3}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/cqube-emit
TIME=/usr/bin/time
[[ -x $TIME ]] || { echo "${0##*/}: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }

echo "building cqube-emit (release)" >&2
(cd "$ROOT" && cargo build --release -q -p cqube-emit)
mkdir -p "$DIR/masters/school_master"
ATT=$DIR/student_attendance.csv
MASTER=$DIR/masters/school_master/school_mst.zip
if [[ $(cat "$DIR/inputs" 2>/dev/null) != "$ROWS $SCHOOLS" ]]; then
    echo "generating $ROWS attendance rows over $SCHOOLS schools" >&2
    "$BIN" -q gen --source school_master --schools "$SCHOOLS" --rows "$SCHOOLS" --level 1 -o "$MASTER" --format zip
    "$BIN" -q gen --source student_attendance --schools "$SCHOOLS" --rows "$ROWS" -o "$ATT"
    echo "$ROWS $SCHOOLS" >"$DIR/inputs"
fi

# measure NAME CMD...: the run with the lowest CPU of $RUNS; prints "NAME cpu wall rss_kib".
measure() {
    local name=$1 best= line
    shift
    for _ in $(seq "$RUNS"); do
        "$TIME" -f '%U %S %e %M' -o "$DIR/time.txt" "$@" >/dev/null 2>"$DIR/err.txt" || {
            [[ $? == 1 ]] || { cat "$DIR/err.txt" >&2; exit 1; }
        }
        line=$(tail -1 "$DIR/time.txt" | awk '{printf "%.2f %.2f %d", $1 + $2, $3, $4}')
        if [[ -z $best || $(echo "$line $best" | awk '{print ($1 < $4)}') == 1 ]]; then best=$line; fi
    done
    echo "$name $best"
}

{
    measure validate "$BIN" -q --no-progress validate --source student_attendance "$ATT"
    measure validate_masters "$BIN" -q --no-progress validate --source student_attendance --masters "$DIR/masters" "$ATT"
    measure masters_only "$BIN" -q --no-progress validate "$DIR/masters"
    measure convert "$BIN" -q --no-progress convert --source student_attendance "$ATT" -o "$DIR/att.zip"
} | tee "$DIR/results.txt" | awk '{printf "%-17s %8s CPU-s %8s s %8d KiB\n", $1, $2, $3, $4}'
awk '{cpu[$1] = $2} END {
    extra = cpu["validate_masters"] - cpu["validate"] - cpu["masters_only"]
    printf "lookups: %.2f CPU-s more than validate alone (masters read: %.2f CPU-s), %.1f %% of convert'\''s %.2f CPU-s\n",
        extra, cpu["masters_only"], 100 * extra / cpu["convert"], cpu["convert"]
    printf "with the masters read: %.1f %% of convert'\''s CPU\n", 100 * (extra + cpu["masters_only"]) / cpu["convert"]
}' "$DIR/results.txt"
rm -f "$DIR/att.zip"
