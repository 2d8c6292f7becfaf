#!/usr/bin/env bash
# Runs both data-quality tiers with the venv's Soda Core and exits with Soda's code
# (0 pass, 1 warnings, 2 failures, 3 errors; the worse tier wins).
#   tier 1: soda/staging_checks.yml on the lake's staged NDJSON, loaded into a scratch DuckDB
#   tier 2: soda/checks.yml on the loader's DuckDB file (scan after the loader stops)
# Environment: GFN_SODA (soda binary), GFN_DUCKDB (warehouse file), GFN_LAKE_DIR (lake
# directory of the embedded run), GFN_RUN_ID (tier 1's run; default the newest staged run),
# GFN_SODA_TIERS ("1 2", "1" or "2").
set -euo pipefail
# Soda Core otherwise retries exporting usage telemetry to collect.soda.io for seconds.
export OTEL_SDK_DISABLED=true

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
soda="${GFN_SODA:-$root/.venv/bin/soda}"
if [[ ! -x "$soda" ]]; then
  echo "soda not found at $soda: run make venv" >&2
  exit 3
fi
export GFN_DUCKDB="${GFN_DUCKDB:-data/gfn.duckdb}"
# configuration.yml names both files; tier 1 points this at its scratch file.
export GFN_STAGING_DUCKDB="${GFN_STAGING_DUCKDB:-data/staging.duckdb}"
lake="${GFN_LAKE_DIR:-data/lake}"
tiers="${GFN_SODA_TIERS:-1 2}"
worst=0

run_tier() { # name, data source, checks file
  echo "== soda tier $1: $3 on $2" >&2
  local rc=0
  "$soda" scan -d "$2" -c soda/configuration.yml "$3" || rc=$?
  if (( rc > worst )); then worst=$rc; fi
}

if [[ " $tiers " == *" 1 "* ]]; then
  # One run's staged batches: runs overlap (a re-extraction stages the same keys again), so
  # scanning every run would report duplicates the validator never saw.
  staged_root="$lake/staged/ecological_footprint"
  run_dir=""
  if [[ -n "${GFN_RUN_ID:-}" ]]; then
    run_dir="$staged_root/run=$GFN_RUN_ID"
  elif [[ -d "$staged_root" ]]; then
    run_dir="$(ls -1dt "$staged_root"/run=*/ 2>/dev/null | head -n 1)"
    run_dir="${run_dir%/}"
  fi
  if [[ -z "$run_dir" ]] || ! compgen -G "$run_dir/*.ndjson" >/dev/null; then
    echo "tier 1: no staged NDJSON under ${run_dir:-$staged_root}" >&2
    worst=3
  else
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    export GFN_STAGING_DUCKDB="$scratch/staging.duckdb"
    # The venv's duckdb (the one Soda uses) builds the table Soda reads.
    "$(dirname "$soda")/python" - "$GFN_STAGING_DUCKDB" "$run_dir/*.ndjson" <<'PY'
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE staged_ecological_footprint AS SELECT * FROM read_json_auto(?, format = 'newline_delimited')", [sys.argv[2]])
con.close()
PY
    run_tier 1 gfn_staging soda/staging_checks.yml
  fi
fi

if [[ " $tiers " == *" 2 "* ]]; then
  if [[ ! -f "$GFN_DUCKDB" ]]; then
    echo "tier 2: no warehouse file at $GFN_DUCKDB" >&2
    worst=3
  else
    run_tier 2 gfn_warehouse soda/checks.yml
  fi
fi
exit "$worst"
