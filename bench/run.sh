#!/usr/bin/env bash
# The sluice benchmark in one command: builds in release, then runs the payroll matrix end to
# end against the loopback sandbox, the engine against an in-process provider stub, the CLI's
# fixed costs, payroll runs shared by 1, 2 and 4 `serve` workers on Postgres, and the peers'
# workload (1,000 durable steps of one HTTP POST each against a plain loop of the same POSTs);
# prints the tables and writes bench/results.json.
#
#   bench/run.sh                 # full matrix (1k, 10k, 100k payees), about 10 minutes on 2 cores
#   bench/run.sh --quick         # 1k payees only, about a minute (CI)
#   bench/run.sh --label after --only e2e,overhead
#
# The Postgres row uses SLUICE_BENCH_POSTGRES when set; otherwise a throwaway server with fsync
# on (scripts/postgres.sh) when PostgreSQL is installed; otherwise it is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh

if [[ -z ${SLUICE_BENCH_POSTGRES:-} ]] && find_postgres >/dev/null; then
    start_postgres durable
    export SLUICE_BENCH_POSTGRES="$PG_URL"
fi
cargo bench --bench throughput -- "$@"
