#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest: formatting, clippy per feature set,
# unit and integration tests, the wasm build, then the browser suite against the real binary.
# Installs what is missing (wasm32 target, wasm-bindgen-cli, npm packages, Debian's chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
start=$(date +%s)

ensure_wasm_tools
ensure_chromium

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy: server side (app with ssr)"
cargo clippy "${NATIVE[@]}" --all-targets -- -D warnings
step "clippy: browser side (app with hydrate, wasm32)"
cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings
for bundle in login home licences reporters wizard sites monitors site history other; do
  step "clippy: the $bundle browser bundle (app/src/bundle.rs)"
  cargo clippy -p frontend -p app --features "app/hydrate,app/bundle-$bundle" --target wasm32-unknown-unknown -- -D warnings
done
step "clippy: the QR decoder's wasm (qr-decoder)"
cargo clippy -p qr-decoder --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests (also builds target/debug/ampwise)"
cargo test "${NATIVE[@]}"

step "the contract suite and the server's tests again, on PostgreSQL (a throwaway local cluster)"
ensure_postgres
pg_port="${AMPWISE_TEST_PG_PORT:-54329}"
pg_root=$(mktemp -d); chmod 755 "$pg_root"
trap 'stop_postgres "$pg_root/pg"; rm -rf "$pg_root"' EXIT
# fsync off: a cluster that lives for one test run need not survive a power cut.
PG_FSYNC=off start_postgres "$pg_root/pg" "$pg_port"
# The browser suite's test of several processes uses the same cluster (end2end/cluster.spec.ts).
export AMPWISE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$pg_port/postgres"
# From here the tests of several processes fail rather than skip without it.
export AMPWISE_REQUIRE_POSTGRES=1
cargo test "${NATIVE[@]}"

step "every benchmark scenario at toy size (a change that breaks one fails here)"
# (the PostgreSQL scenarios too: ingest, history and the live stream across processes, and
# three processes with one killed)
BENCH_POSTGRES="$AMPWISE_TEST_POSTGRES" target/debug/ampwise-bench toy

step "site build (wasm)"
scripts/build-site.sh

step "browser tests (Playwright, Debian's Chromium)"
(cd end2end && npx playwright test)

echo "all checks passed in $(( $(date +%s) - start )) s; target/ holds $(du -sh target | cut -f1)"
