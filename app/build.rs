//! Two things the app's sources need from the build:
//! - `cfg(bundle = "NAME")`: this build is that browser bundle (`src/bundle.rs`: the wasm built
//!   with `hydrate` and the one feature `bundle-NAME`), which draws its pages without a router.
//! - `$OUT_DIR/locales.rs`: each `locales/*.json` as a static table sorted by key
//!   (`src/i18n.rs`), so no page parses the texts when it starts (in the browser that took
//!   ~50 ms of a warm overview's hydration on the phone profile: BENCHMARKS.md). A locale file
//!   that is not a JSON object of strings fails the build. A bundle links
//!   only the texts it shows: those in `texts/BUNDLE.keys`, kept by `scripts/build-site.sh`
//!   (which reads the linked wasm for every key its code names), and every `error.*` text (the
//!   server sends those keys). The server (and a wasm built without a bundle) has every
//!   text.

use std::collections::BTreeMap;
use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!(
        "cargo::rustc-check-cfg=cfg(bundle, values(none(), \"login\", \"home\", \"licences\", \"reporters\", \"wizard\", \"sites\", \"monitors\", \"site\", \"history\", \"other\"))"
    );
    let on = |feature: &str| std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some();
    // The bundle this wasm is (src/bundle.rs): one `bundle-*` feature with `hydrate`.
    let bundles: Vec<&str> = [
        "login",
        "home",
        "licences",
        "reporters",
        "wizard",
        "sites",
        "monitors",
        "site",
        "history",
        "other",
    ]
    .into_iter()
    .filter(|b| on(&format!("BUNDLE_{}", b.to_uppercase())))
    .collect();
    let bundle = match bundles[..] {
        [bundle] if on("HYDRATE") => Some(bundle),
        _ => None,
    };
    if let Some(bundle) = bundle {
        // `cfg(bundle)`: any bundle (a name with a value does not set the name alone).
        println!("cargo::rustc-cfg=bundle");
        println!("cargo::rustc-cfg=bundle=\"{bundle}\"");
    }
    let keep: Option<std::collections::BTreeSet<String>> = bundle.map(|bundle| {
        let file = format!("texts/{bundle}.keys");
        println!("cargo::rerun-if-changed={file}");
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(String::from)
            .collect()
    });

    let mut out = String::new();
    for (name, file) in [("EN", "../locales/en.json"), ("SV", "../locales/sv.json")] {
        println!("cargo::rerun-if-changed={file}");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let table: BTreeMap<String, String> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{file} is not a JSON object of strings: {e}"));
        writeln!(out, "pub static {name}: &[(&str, &str)] = &[").unwrap();
        if let Some(keep) = &keep
            && let Some(unknown) = keep.iter().find(|key| !table.contains_key(*key))
        {
            panic!("texts/*.keys names {unknown:?}, which {file} lacks: take it out of the list");
        }
        let kept = |key: &String| {
            keep.as_ref()
                .is_none_or(|keep| key.starts_with("error.") || keep.contains(key))
        };
        for (key, value) in table.iter().filter(|(key, _)| kept(key)) {
            // Debug-formatted `str`s are Rust string literals.
            writeln!(out, "    ({key:?}, {value:?}),").unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("locales.rs");
    std::fs::write(path, out).unwrap();
}
