//! Two things the app's sources need from the build:
//! - `cfg(home_bundle)`: this build is the overview's browser bundle (`src/bundle.rs`), which
//!   draws its one page without a router. One name for a combination of features that several
//!   files test.
//! - `$OUT_DIR/locales.rs`: each `locales/*.json` as a static table sorted by key
//!   (`src/i18n.rs`), so no page parses the texts when it starts (in the browser that took
//!   ~50 ms of a warm overview's hydration on the phone profile: BENCHMARKS.md). A locale file
//!   that is not a JSON object of strings fails the build.

use std::collections::BTreeMap;
use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(home_bundle)");
    let on = |feature: &str| std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some();
    if on("HYDRATE") && on("BUNDLE_HOME") && !on("BUNDLE_LOGIN") {
        println!("cargo::rustc-cfg=home_bundle");
    }

    let mut out = String::new();
    for (name, file) in [("EN", "../locales/en.json"), ("SV", "../locales/sv.json")] {
        println!("cargo::rerun-if-changed={file}");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let table: BTreeMap<String, String> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{file} is not a JSON object of strings: {e}"));
        writeln!(out, "pub static {name}: &[(&str, &str)] = &[").unwrap();
        for (key, value) in &table {
            // Debug-formatted `str`s are Rust string literals.
            writeln!(out, "    ({key:?}, {value:?}),").unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("locales.rs");
    std::fs::write(path, out).unwrap();
}
