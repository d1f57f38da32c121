# Shared by the scripts: progress lines and installing what a fresh machine lacks (each step
# checks first and skips what is there).

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    step "installing the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi
  local want; want=$(wasm_bindgen_version)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    step "installing wasm-bindgen-cli $want (about 4 minutes, once)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
  ensure_npm_packages
}

# Playwright and binaryen's wasm-opt (npm's build: a current binaryen without compiling one).
ensure_npm_packages() {
  if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -x end2end/node_modules/.bin/playwright ] \
     || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    step "installing npm packages (end2end/)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# Debian's Chromium; Playwright's own browser download cannot work without internet.
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    step "installing Debian's chromium"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
}

# The native packages, built and tested in one cargo invocation with one feature set. Building
# the server binary on its own (`cargo build -p server`) would leave out the dev-dependencies,
# resolve features differently and rebuild most of the dependency tree: run.sh and test.sh both
# build through this so each reuses the other's work.
NATIVE=(-p model -p backend -p app -p server -p chargeamps-sim -p qr-decoder --features app/ssr)
build_native() { cargo test "${NATIVE[@]}" --no-run; }

# PostgreSQL from Debian's packages, for `run.sh --cluster` and the tests on both databases.
# initdb and pg_ctl refuse to run as root: as root they run as the `postgres` user the package
# creates, on a data directory it owns; as anyone else, as that user. No container, no service.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_postgres() {
  if [ -z "$(pg_bin)" ]; then
    step "installing Debian's postgresql"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    # Debian's package may start its own cluster; ours is separate and on its own port.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
  fi
}

as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres DIR PORT: a cluster in DIR (made on first use) listening on 127.0.0.1:PORT,
# trusting local connections (the port is bound to loopback only). Prints nothing; the URL is
# postgres://postgres@127.0.0.1:PORT/postgres.
start_postgres() {
  local dir=$1 port=$2 bin; bin=$(pg_bin)
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  chmod 700 "$dir"
  if [ ! -s "$dir/PG_VERSION" ]; then
    as_pg_owner "$bin/initdb" -D "$dir" -A trust -U postgres -E UTF8 --no-locale >"$dir.initdb.log" 2>&1 \
      || { cat "$dir.initdb.log" >&2; return 1; }
  fi
  as_pg_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=${PG_FSYNC:-on}" \
    start >/dev/null || { tail -20 "$dir/server.log" >&2; return 1; }
}

stop_postgres() {
  local dir=$1
  [ -s "$dir/postmaster.pid" ] || return 0
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}
