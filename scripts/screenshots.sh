#!/usr/bin/env bash
# Screenshots of the operator console's main pages, into docs/console/*.png (the README shows
# them). A sandbox that loses the answer to the first swap; a payroll that succeeds and a
# settlement sweep whose swap ends in doubt; the console on loopback (the local operator);
# headless Chromium's --screenshot of each page. Needs Debian's `chromium`.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || { echo "$(basename "$0"): needs $chromium (apt-get install chromium)" >&2; exit 2; }
cargo build --quiet
sluice=$PWD/target/debug/sluice
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export SLUICE_DB=$work/sluice.db NO_COLOR=1 USER=${USER:-treasury}

"$sluice" sandbox --speed 50 --auto-pay 1s --auto-target-accounts \
    --fault 'lost_response@POST /whalestack/api/v1/swap,times=1' >"$work/sandbox.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
    curl -fsS -o /dev/null http://127.0.0.1:8788/__sandbox/ledger 2>/dev/null && break
    sleep 0.2
done

# The awaits poll every 100ms instead of every few minutes.
sed 's/poll_every: .*/poll_every: 100ms/' workflows/settlement-sweep.yaml >"$work/settlement-sweep.yaml"
"$sluice" run workflows/payroll.yaml --input payees=@workflows/data/payroll.csv --run-id run_payroll_march || true
# From the scratch directory, so the run (and the page) names the file as `settlement-sweep.yaml`.
(cd "$work" && "$sluice" run settlement-sweep.yaml --run-id run_sweep_0412) || true

(cd "$work" && exec "$sluice" console --listen 127.0.0.1:8790) >"$work/console.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
    curl -fsS -o /dev/null http://127.0.0.1:8790/ 2>/dev/null && break
    sleep 0.2
done

shoot() {
    local name=$1 path=$2
    "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/profile-$name" --hide-scrollbars --window-size=1280,1100 \
        --screenshot="docs/console/$name.png" "http://127.0.0.1:8790$path" 2>/dev/null
    echo "docs/console/$name.png"
}
shoot inbox /
shoot runs /runs
shoot run /runs/run_sweep_0412
shoot items /runs/run_payroll_march/steps/pay/items
