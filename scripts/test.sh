#!/usr/bin/env bash
# The whole test suite on a fresh machine: `cargo test --all-features` (extra arguments are
# passed on), with the Postgres tests pointed at a throwaway PostgreSQL server
# (scripts/postgres.sh, fsync off) that this script starts and stops on exit, and Python's
# aiosmtpd installed for the email test, and Debian's Chromium and chromedriver for the
# console's browser test. When
# SLUICE_TEST_POSTGRES already names a database, that one is used and no server is started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh

# The email test starts Python's aiosmtpd (from PyPI), a real SMTP server; install it where it
# is missing.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "$(basename "$0"): installing aiosmtpd" >&2
    python3 -m pip install --quiet aiosmtpd
fi

# The console's end-to-end test drives headless Chromium through chromedriver (WebDriver).
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "$(basename "$0"): installing chromium and chromium-driver" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [[ -z ${SLUICE_TEST_POSTGRES:-} ]]; then
    start_postgres fast
    export SLUICE_TEST_POSTGRES="$PG_URL"
fi
cargo test --all-features "$@"
