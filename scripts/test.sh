#!/usr/bin/env bash
# The whole test suite on a fresh machine: `cargo test --all-features` (extra arguments are
# passed on), with the Postgres tests pointed at a throwaway PostgreSQL server
# (scripts/postgres.sh, fsync off) that this script starts and stops on exit. When
# SLUICE_TEST_POSTGRES already names a database, that one is used and no server is started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh

if [[ -z ${SLUICE_TEST_POSTGRES:-} ]]; then
    start_postgres fast
    export SLUICE_TEST_POSTGRES="$PG_URL"
fi
cargo test --all-features "$@"
