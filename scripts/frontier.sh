#!/usr/bin/env bash
# The compression frontier on the same bytes: for each input of a fixed set and each convert level 1-9, the zip's
# size and CPU-seconds relative to `pigz -p 2 -6` run on exactly the uncompressed bytes our zip holds (the
# normalized pipe-CSV, `unzip -p` of a level-0 convert), side by side in one run. `make bench` runs it.
#
# Columns: size = our zip bytes / pigz's gzip bytes; cpu = pigz CPU-s / our CPU-s (user + sys), so > 1 means we
# spend less CPU than pigz for this output; wall = convert's wall seconds (2 cores). Both sides read from the page
# cache and write to a file; CPU-seconds are what a loaded machine changes least, wall the most.
#
# env:
#   FRONTIER_ROWS     student_attendance rows for the two attendance inputs (default 1000000, ~120 MB raw)
#   FRONTIER_SCHOOLS  school_master rows for the two school inputs (default 200000)
#   FRONTIER_LEVELS   levels to run (default "1 2 3 4 5 6 7 8 9")
#   FRONTIER_DIR      work directory (default bench-out/frontier in the repo, gitignored)
#   BIN               the cqube-emit binary (default: the release build in $CARGO_TARGET_DIR or target/, built first)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${FRONTIER_DIR:-$ROOT/bench-out/frontier}
ROWS=${FRONTIER_ROWS:-1000000}
SCHOOLS=${FRONTIER_SCHOOLS:-200000}
LEVELS=${FRONTIER_LEVELS:-1 2 3 4 5 6 7 8 9}
BIN_GIVEN=${BIN:-}
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/cqube-emit}
GEN=$ROOT/../shared/bench/gen_cqube.py
MOCK=$ROOT/../shared/cqube/mock_emission
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
need pigz "apt-get install pigz"
need unzip
[[ -x /usr/bin/time ]] || { echo "${0##*/}: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }
[[ -n ${BIN_GIVEN:-} ]] || (cd "$ROOT" && cargo build --release -q -p cqube-emit)
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install -q numpy
mkdir -p "$DIR"
trap 'rm -f "$DIR"/*.zip "$DIR"/*.gz "$DIR"/*.psv' EXIT

# cpu CMD...: runs CMD, prints "user+sys wall" seconds.
cpu() {
    local t
    t=$(mktemp)
    /usr/bin/time -f '%U %S %e' -o "$t" "$@"
    # The last line: time writes "Command exited with non-zero status N" first when a convert skipped rows.
    tail -n 1 "$t" | awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }'
    rm -f "$t"
}

# The inputs: NAME SOURCE FILE.
inputs=()
add() { inputs+=("$1 $2 $3"); }
[[ -s $DIR/att.csv ]] && [[ $(cat "$DIR/att.rows" 2>/dev/null) == "$ROWS" ]] ||
    { "$BIN" gen --source student_attendance --rows "$ROWS" -o "$DIR/att.csv" -q && echo "$ROWS" >"$DIR/att.rows"; }
add "gen-attendance" student_attendance "$DIR/att.csv"
[[ -s $DIR/school.csv ]] && [[ $(cat "$DIR/school.rows" 2>/dev/null) == "$SCHOOLS" ]] ||
    { "$BIN" gen --source school_master --rows "$SCHOOLS" --schools "$SCHOOLS" -o "$DIR/school.csv" -q &&
        echo "$SCHOOLS" >"$DIR/school.rows"; }
add "gen-school" school_master "$DIR/school.csv"
if [[ -f $GEN ]]; then
    [[ -s $DIR/peer-att.csv ]] && [[ $(cat "$DIR/peer-att.rows" 2>/dev/null) == "$ROWS" ]] ||
        { python3 "$GEN" attendance --rows "$ROWS" --out "$DIR/peer-att.csv" && echo "$ROWS" >"$DIR/peer-att.rows"; }
    add "gen_cqube-attendance" student_attendance "$DIR/peer-att.csv"
    [[ -s $DIR/peer-school.csv ]] && [[ $(cat "$DIR/peer-school.rows" 2>/dev/null) == "$SCHOOLS" ]] ||
        { python3 "$GEN" school --rows "$SCHOOLS" --out "$DIR/peer-school.csv" && echo "$SCHOOLS" >"$DIR/peer-school.rows"; }
    add "gen_cqube-school" school_master "$DIR/peer-school.csv"
fi
# cQube's own mock files, every zip of a source's folder concatenated (header once): small, so their CPU ratios
# are noise; their sizes are the point.
if [[ -d $MOCK ]]; then
    for src in student_attendance school_master; do
        out=$DIR/mock-$src.psv
        first=1
        for zip in "$MOCK/$src"/*.zip; do
            if ((first)); then unzip -p "$zip"; first=0; else unzip -p "$zip" | tail -n +2; fi
        done >"$out"
        add "mock-$src" "$src" "$out"
    done
fi

printf '%-24s %-10s %12s %8s %8s %8s\n' input level bytes size cpu wall
for entry in "${inputs[@]}"; do
    read -r name source file <<<"$entry"
    # The bytes our zip holds: convert at level 0 (stored), then unzip.
    "$BIN" convert --source "$source" --level 0 --on-error skip -q -o "$DIR/stored.zip" "$file" || true
    unzip -p "$DIR/stored.zip" >"$DIR/plain.psv"
    read -r pigz_cpu _ < <(cpu sh -c "pigz -p 2 -6 -c '$DIR/plain.psv' > '$DIR/plain.gz'")
    pigz_bytes=$(stat -c %s "$DIR/plain.gz")
    printf '%-24s %-10s %12d %8s %8s %8s\n' "$name" "pigz -6" "$pigz_bytes" 1.000 1.00 -
    for level in $LEVELS; do
        read -r ours_cpu wall < <(cpu "$BIN" convert --source "$source" --level "$level" --on-error skip -q \
            -o "$DIR/l$level.zip" "$file" || true)
        bytes=$(stat -c %s "$DIR/l$level.zip")
        awk -v n="$name" -v l="$level" -v b="$bytes" -v pb="$pigz_bytes" -v pc="$pigz_cpu" -v oc="$ours_cpu" -v w="$wall" \
            'BEGIN { printf "%-24s %-10s %12d %8.3f %8.2f %8.2f\n", n, "level " l, b, b / pb, (oc > 0 ? pc / oc : 0), w }'
        rm -f "$DIR/l$level.zip"
    done
    rm -f "$DIR/stored.zip" "$DIR/plain.psv" "$DIR/plain.gz"
done
