#!/usr/bin/env bash
# Builds the browser bundles into target/site: each wasm (size-optimised profile), its JS glue
# (wasm-bindgen), wasm-opt; the CSS and the public files. What cargo-leptos would do, without
# the 22-minute install or its downloads (which fail on a machine without internet).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

site=target/site
pkg=$site/pkg
name=ampwise

ensure_wasm_tools
mkdir -p "$pkg"
# One wasm per bundle of the same app (app/src/bundle.rs: Bundle::ALL), each with only its own
# pages and no router.
bundles=(login home licences reporters wizard sites monitors site history other)
# Rust's wasm32 target emits these post-MVP features; wasm-opt must be told it may keep them.
# -Os --converge: 1-2 % fewer brotli bytes than -Oz (measured on these bundles).
optimise() {
  end2end/node_modules/.bin/wasm-opt -Os --converge --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue "$1" -o "$1"
}
for bundle in "${bundles[@]}"; do
  features=(--features "$bundle")
  step "wasm build: $bundle (profile wasm-release)"
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release "${features[@]}"
  # A bundle links only the texts in app/texts/$bundle.keys: add any its code names, and build
  # again with them (exit 10: the list grew).
  while true; do
    status=0
    node scripts/bundle-texts.mjs target/wasm32-unknown-unknown/wasm-release/frontend.wasm "$bundle" || status=$?
    [[ $status == 0 ]] && break
    [[ $status == 10 ]] || exit "$status"
    cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release "${features[@]}"
  done
  step "wasm-bindgen, wasm-opt: $bundle"
  wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name "$name-$bundle" \
    target/wasm32-unknown-unknown/wasm-release/frontend.wasm
  optimise "$pkg/$name-${bundle}_bg.wasm"
done
# Not a bundle: the QR decoder, which the licences page loads when the browser has none of its
# own (app/src/scan.rs).
step "wasm build: the QR decoder (qr-decoder)"
cargo build -p qr-decoder --lib --target wasm32-unknown-unknown --profile wasm-release
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name "$name-qr" \
  target/wasm32-unknown-unknown/wasm-release/qr_decoder.wasm
optimise "$pkg/$name-qr_bg.wasm"
cat style/*.css > "$pkg/$name.css"
cp -r public/. "$site/"
step "content-hashed names, brotli and gzip"
node scripts/finish-site.mjs "$pkg" "$name" "${bundles[@]}" --later qr
