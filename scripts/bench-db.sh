#!/usr/bin/env bash
# PostgreSQL student_attendance -> zip, three ways on the same rows, for 1,000,000 and 10,000,000 rows:
#   db    cqube-emit convert --source student_attendance (no INPUT: COPY through tokio-postgres)
#   pipe  psql -c "\copy (...) to stdout csv header" | cqube-emit convert -
#   file  cqube-emit convert on the same rows already in a CSV file
# Prints MB/s (CSV bytes of the rows / wall seconds) and peak RSS of cqube-emit. Usage: scripts/bench-db.sh [ROWS...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-databases.sh >/dev/null
cargo build --release -q -p cqube-emit
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/cqube-emit
ROWS=("$@")
[ $# -eq 0 ] && ROWS=(1000000 10000000)
export PGOPTIONS=--client-min-messages=warning
DB=cqube_bench_$$
WORK=$(mktemp -d)
PSQL=(psql -h 127.0.0.1 -U postgres -qX -v ON_ERROR_STOP=1)
cleanup() { "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
export BENCH_DB_URL="postgresql://postgres@127.0.0.1:5432/$DB"

days=$(for d in $(seq 1 31); do printf ', CASE WHEN (g + %d) %% 17 = 0 THEN NULL ELSE (g + %d) %% 3 END::smallint AS day_%d' "$d" "$d" "$d"; done)
mapping=$(for d in $(seq 1 31); do printf 'day_%d = "%d"\n' "$d" "$d"; done)
cat > "$WORK/cqube-emit.toml" <<TOML
[[source]]
name = "student_attendance"
type = "postgres"
url_env = "BENCH_DB_URL"
table = "student_attendance"
[source.columns]
$mapping
TOML

# Runs a command under GNU time; prints "seconds peak_kib" of the whole pipeline's cqube-emit.
measure() {
  local start end
  start=$(date +%s.%N)
  bash -c "$1" 2> "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) $(grep -o 'PEAK=[0-9]*' "$WORK/err" | tail -1 | cut -d= -f2)"
}
TIME="/usr/bin/time -f PEAK=%M"

printf '%-10s %-5s %10s %9s %9s %12s\n' rows path csv_MB seconds MB/s peak_RSS_MiB
for n in "${ROWS[@]}"; do
  "${PSQL[@]}" -d "$DB" -c "DROP TABLE IF EXISTS student_attendance; CREATE TABLE student_attendance AS
    SELECT g::bigint AS student_attendance_id, (1000000 + g)::bigint AS student_id, (29000000000 + g % 5000)::bigint AS school_id,
           CASE WHEN g % 10 = 0 THEN NULL ELSE 100000000000 + g END::bigint AS aadhaar_uid, '2023-24'::text AS academic_year,
           (g % 12 + 1)::int AS month $days FROM generate_series(1, $n) g" -c "VACUUM ANALYZE student_attendance"
  "${PSQL[@]}" -d "$DB" -c "\\copy student_attendance to '$WORK/att.csv' csv header"
  bytes=$(stat -c %s "$WORK/att.csv")
  mb=$(echo "scale=1; $bytes / 1000000" | bc)
  cd "$WORK"
  for path in db pipe file; do
    case $path in
      db)   cmd="$TIME $BIN -q convert --config cqube-emit.toml --source student_attendance -o out.zip" ;;
      pipe) cmd="${PSQL[*]} -d $DB -c '\\copy student_attendance to stdout csv header' | $TIME $BIN -q convert --config cqube-emit.toml --source student_attendance - -o out.zip" ;;
      file) cmd="$TIME $BIN -q convert --config cqube-emit.toml --source student_attendance att.csv -o out.zip" ;;
    esac
    read -r secs kib < <(measure "$cmd")
    printf '%-10s %-5s %10s %9.2f %9.1f %12d\n' "$n" "$path" "$mb" "$secs" "$(echo "$bytes / 1000000 / $secs" | bc -l)" $((kib / 1024))
  done
  cd - >/dev/null
done
