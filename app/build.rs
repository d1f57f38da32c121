//! `cfg(home_bundle)`: this build is the overview's browser bundle (`src/bundle.rs`), which
//! draws its one page without a router. One name for a combination of features that several
//! files test.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(home_bundle)");
    let on = |feature: &str| std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some();
    if on("HYDRATE") && on("BUNDLE_HOME") && !on("BUNDLE_LOGIN") {
        println!("cargo::rustc-cfg=home_bundle");
    }
}
