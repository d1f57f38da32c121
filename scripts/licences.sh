#!/usr/bin/env bash
# The operator's licence CLI against the local system that scripts/run.sh runs (same database,
# same key): `scripts/licences.sh mint --count 8 --sheet data/licences`, `… list`, `… revoke CODE`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -s data/licence.key ] || { echo "no data/licence.key: start scripts/run.sh once first" >&2; exit 1; }
[ -x target/debug/ampwise ] || { echo "no target/debug/ampwise: run scripts/run.sh first" >&2; exit 1; }
AMPWISE_DATABASE_URL="${AMPWISE_DATABASE_URL:-sqlite://data/ampwise.db}" \
AMPWISE_LICENCE_KEY="${AMPWISE_LICENCE_KEY:-$(cat data/licence.key)}" \
  exec target/debug/ampwise licences "$@"
