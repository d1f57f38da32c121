#!/usr/bin/env bash
# Builds and starts the whole local system on http://127.0.0.1:3000 with an embedded SQLite
# database in ./data (created and migrated on first start) and a demo login printed at start.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_wasm_tools
scripts/build-site.sh
step "building the server"
build_native

mkdir -p data
export AMPWISE_DATABASE_URL="${AMPWISE_DATABASE_URL:-sqlite://data/ampwise.db}"
export AMPWISE_SITE_ROOT="${AMPWISE_SITE_ROOT:-$PWD/target/site}"
export AMPWISE_DEMO="${AMPWISE_DEMO:-true}"
# The key that signs licence codes: made once per local data folder, never committed.
if [ -z "${AMPWISE_LICENCE_KEY:-}" ]; then
  [ -s data/licence.key ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > data/licence.key
  AMPWISE_LICENCE_KEY=$(cat data/licence.key)
  export AMPWISE_LICENCE_KEY
fi

# Every process started below is a child of this shell: on Ctrl-C or exit, stop them all.
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

target/debug/ampwise &
pids+=($!)
step "Ampwise: http://${AMPWISE_ADDR:-127.0.0.1:3000} (Ctrl-C stops everything)"
echo "Licence codes for this local system: scripts/licences.sh mint --count 8 --sheet data/licences"
# Returns when any process ends; the trap then stops the others.
wait -n "${pids[@]}"
