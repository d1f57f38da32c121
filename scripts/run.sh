#!/usr/bin/env bash
# Builds and starts the whole local system on http://127.0.0.1:3000 with an embedded SQLite
# database in ./data (created and migrated on first start) and a demo login printed at start,
# beside it the Charge Amps cloud simulator on http://127.0.0.1:3002 (its Partner page) and a
# simulated household whose meter sees the simulated chargers. Ctrl-C stops everything this
# script started.
#
# scripts/run.sh --cluster: the same on PostgreSQL (Debian's package, installed if missing; a
# cluster of its own in ./data/pg on 127.0.0.1:5440, run as the unprivileged `postgres` user)
# with three server processes on :3000, :3010 and :3020 sharing it. The demo login works on all
# three; the simulators post to :3000. Ctrl-C stops the processes and the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

cluster=false
case "${1:-}" in
  --cluster) cluster=true ;;
  "") ;;
  *) echo "usage: scripts/run.sh [--cluster]" >&2; exit 2 ;;
esac

ensure_wasm_tools
scripts/build-site.sh
step "building the server"
build_native

mkdir -p data
if $cluster; then
  ensure_postgres
  pg_port="${AMPWISE_PG_PORT:-5440}"
  step "PostgreSQL in data/pg on 127.0.0.1:$pg_port"
  start_postgres "$PWD/data/pg" "$pg_port"
  as_pg_owner "$(pg_bin)/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname = 'ampwise'" | grep -q 1 \
    || as_pg_owner "$(pg_bin)/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres ampwise
  export AMPWISE_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/ampwise"
fi
export AMPWISE_DATABASE_URL="${AMPWISE_DATABASE_URL:-sqlite://data/ampwise.db}"
export AMPWISE_SITE_ROOT="${AMPWISE_SITE_ROOT:-$PWD/target/site}"
export AMPWISE_DEMO="${AMPWISE_DEMO:-true}"
# The demo monitor's id and device token, for the household simulator below.
export AMPWISE_DEMO_DEVICE_FILE="${AMPWISE_DEMO_DEVICE_FILE:-data/demo-device.json}"
# The Charge Amps side: the simulator, which the server knows only by this URL.
charge_amps="${AMPWISE_CHARGE_AMPS_SIM:-127.0.0.1:3002}"
export AMPWISE_CHARGE_AMPS_URL="${AMPWISE_CHARGE_AMPS_URL:-http://$charge_amps/measurement}"
# Its Open Reporter partner too: users' partner URLs reach only public https addresses, and
# what the operator lists here (nothing else, this script included).
export AMPWISE_PARTNER_ALLOW="${AMPWISE_PARTNER_ALLOW:-$charge_amps}"
# Spot prices offline: real 2024 days played on today's dates (tomorrow's from 13:00).
export AMPWISE_PRICE_SOURCE="${AMPWISE_PRICE_SOURCE:-recorded}"
# The key that signs licence codes: made once per local data folder, never committed.
if [ -z "${AMPWISE_LICENCE_KEY:-}" ]; then
  [ -s data/licence.key ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > data/licence.key
  AMPWISE_LICENCE_KEY=$(cat data/licence.key)
  export AMPWISE_LICENCE_KEY
fi

# The key that seals reporter PINs and partner passwords in the database: also one per folder.
if [ -z "${AMPWISE_SECRETS_KEY:-}" ]; then
  [ -s data/secrets.key ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > data/secrets.key
  AMPWISE_SECRETS_KEY=$(cat data/secrets.key)
  export AMPWISE_SECRETS_KEY
fi

# Every process started below is a child of this shell: on Ctrl-C or exit, stop them all.
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if $cluster; then stop_postgres "$PWD/data/pg"; fi
}
trap cleanup INT TERM EXIT

# The server writes a fresh device file once the demo is seeded (the token is new each start).
rm -f "$AMPWISE_DEMO_DEVICE_FILE"
target/debug/ampwise &
pids+=($!)
url="http://${AMPWISE_ADDR:-127.0.0.1:3000}"
until [ -s "$AMPWISE_DEMO_DEVICE_FILE" ]; do
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the server stopped" >&2; exit 1; }
  sleep 0.2
done
# The Charge Amps simulator: the demo reporter's measurement device, a load balancer at the
# demo site's 20 A main fuse and two chargers whose cars want 16 A (kept in data/).
target/debug/chargeamps-sim --addr "$charge_amps" --state data/chargeamps-sim.json \
  --demo-device-file "$AMPWISE_DEMO_DEVICE_FILE" --demo-fuse 20 &
pids+=($!)
# A simulated household on the demo site's mains: two days of history, then a reading every
# 2 s, with the chargers' draw added. More load: curl -X PUT localhost:3001/extra-load
#   -H 'Content-Type: application/json' -d '{"current_a":[8,8,8]}'
target/debug/ampwise simulate --url "$url" --device-file "$AMPWISE_DEMO_DEVICE_FILE" \
  --interval 2 --backfill-hours 48 --control "${AMPWISE_SIMULATOR_CONTROL:-127.0.0.1:3001}" \
  --charge-amps "http://$charge_amps" &
pids+=($!)
if $cluster; then
  # Two more processes on the same database, started once the first has seeded the demo (they
  # find it there). Each prefixes its log lines with its port.
  for port in 3010 3020; do
    AMPWISE_ADDR="127.0.0.1:$port" AMPWISE_DEMO_DEVICE_FILE= target/debug/ampwise \
      > >(sed -u "s/^/[:$port] /") 2>&1 &
    pids+=($!)
  done
  step "Ampwise on PostgreSQL: $url, http://127.0.0.1:3010 and http://127.0.0.1:3020 (Ctrl-C stops everything)"
else
  step "Ampwise: $url (Ctrl-C stops everything)"
fi
echo "Charge Amps Partner (simulated): http://$charge_amps"
echo "Licence codes for this local system: scripts/licences.sh mint --count 8 --sheet data/licences"
# Returns when any process ends; the trap then stops the others.
wait -n "${pids[@]}"
