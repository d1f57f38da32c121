#!/usr/bin/env bash
# Builds the browser bundle into target/site: the wasm (size-optimised profile), its JS glue
# (wasm-bindgen), wasm-opt, the CSS and the public files. What cargo-leptos would do, without
# the 22-minute install or its downloads (which fail on a machine without internet).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

site=target/site
pkg=$site/pkg
name=ampwise

ensure_wasm_tools
step "wasm build (profile wasm-release)"
cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
mkdir -p "$pkg"
step "wasm-bindgen"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name "$name" \
  target/wasm32-unknown-unknown/wasm-release/frontend.wasm
step "wasm-opt"
# Rust's wasm32 target emits these post-MVP features; wasm-opt must be told it may keep them.
end2end/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$pkg/${name}_bg.wasm" -o "$pkg/${name}_bg.wasm"
cat style/*.css > "$pkg/$name.css"
cp -r public/. "$site/"
step "content-hashed names, brotli and gzip"
node scripts/finish-site.mjs "$pkg" "$name"
