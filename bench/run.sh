#!/usr/bin/env bash
# The sluice benchmark in one command: builds in release, then runs the payroll matrix end to
# end against the loopback sandbox, the engine against an in-process provider stub, and the
# CLI's fixed costs; prints the tables and writes bench/results.json.
#
#   bench/run.sh                 # full matrix (1k, 10k, 100k payees), about 10 minutes on 2 cores
#   bench/run.sh --quick         # 1k payees only, about a minute (CI)
#   bench/run.sh --label after --only e2e,overhead
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench throughput -- "$@"
