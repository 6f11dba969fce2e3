#!/usr/bin/env bash
# `streamml ingest` against DuckDB's COPY ... TO ... (FORMAT parquet) on the same 2 M-row, 4-column ratings CSV
# (MovieLens 100k's u.data twenty times, comma-separated, with a header), process start included, run side by side
# ROUNDS times (default 3, interleaved), medians of wall time and of CPU time (user + sys), then the outputs compared
# row by row with DuckDB. Variants: the published CLI (ReadyToRun, no instrumented PGO tier: what `dotnet publish -r`
# gives) and the plain build output (JIT), each with the schema inferred and with --schema given.
# Needs: dotnet, node + npm (installs @duckdb/node-api into the work folder). Usage: scripts/bench-ingest.sh [ROUNDS]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-3}"
work="${BENCH_INGEST_DIR:-${TMPDIR:-/tmp}/streamml-bench-ingest}"
mkdir -p "$work"
csv="$work/ratings2m.csv"
if [ ! -s "$csv" ]; then
  { echo "user_id,item_id,rating,timestamp"; for _ in $(seq 20); do tr '\t' ',' < "$repo/../shared/data/movielens_100k/u.data"; done; } > "$csv"
fi
if [ ! -d "$work/duckdb/node_modules/@duckdb/node-api" ]; then
  (cd "$work" && mkdir -p duckdb && cd duckdb && npm install --no-audit --no-fund --loglevel=error @duckdb/node-api@1.5.6-r.1 >/dev/null)
fi
cp "$repo/scripts/bench-ingest/duckdb-copy.mjs" "$work/duckdb/"
if [ -z "${SKIP_BUILD:-}" ]; then
  dotnet build "$repo/host/StreamMl.Host" -c Release --nologo -v q >/dev/null
  dotnet publish "$repo/host/StreamMl.Host" -c Release -r linux-x64 --self-contained false -o "$work/published" --nologo -v q >/dev/null
fi
jit="$repo/host/StreamMl.Host/bin/Release/net10.0/streamml"
r2r="$work/published/streamml"
schema="user_id:int64,item_id:int64,rating:int64,timestamp:int64"

declare -A wall cpu
measure() { # name command...
  local name="$1"; shift
  /usr/bin/time -o "$work/time.txt" -f "%e %U %S" "$@" >/dev/null 2>&1
  local out; out=$(tail -1 "$work/time.txt")
  wall[$name]+="$(awk '{print $1}' <<<"$out") "
  cpu[$name]+="$(awk '{printf "%.2f", $2 + $3}' <<<"$out") "
}
names=(duckdb published published-schema build build-schema)
for round in $(seq "$rounds"); do
  rm -rf "$work/out-"* "$work/duckdb.parquet"
  measure duckdb node "$work/duckdb/duckdb-copy.mjs" copy "$csv" "$work/duckdb.parquet"
  measure published "$r2r" ingest "$csv" -o "$work/out-published" --plain
  measure published-schema "$r2r" ingest "$csv" -o "$work/out-published-schema" --plain --schema "$schema"
  measure build "$jit" ingest "$csv" -o "$work/out-build" --plain
  measure build-schema "$jit" ingest "$csv" -o "$work/out-build-schema" --plain --schema "$schema"
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
duck_wall=$(median <<<"${wall[duckdb]}")
duck_cpu=$(median <<<"${cpu[duckdb]}")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), rounds: $rounds, file: $csv ($(wc -l < "$csv") lines)"
printf '%-18s %-28s %9s %-24s %9s %s\n' variant "wall s (runs)" "median" "cpu s (runs)" "median" "DuckDB/variant wall, cpu"
for name in "${names[@]}"; do
  w=$(median <<<"${wall[$name]}"); c=$(median <<<"${cpu[$name]}")
  printf '%-18s %-28s %9s %-24s %9s %s\n' "$name" "${wall[$name]}" "$w" "${cpu[$name]}" "$c" \
    "$(awk -v dw="$duck_wall" -v w="$w" -v dc="$duck_cpu" -v c="$c" 'BEGIN {printf "%.2fx, %.2fx", dw / w, dc / c}')"
done
for name in published published-schema build build-schema; do
  file=$(find "$work/out-$name" -name '*.parquet' | head -1)
  echo -n "$name vs DuckDB: "
  node "$work/duckdb/duckdb-copy.mjs" compare "$work/duckdb.parquet" "$file"
done
