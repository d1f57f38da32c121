//! The browser bundles are built with a patched copy of Leptos's renderer, tachys, in
//! `vendor/tachys` (vendor/README.md: the async copy of every view's hydration code dropped,
//! about 8 % of the overview's bundle). Cargo uses a `[patch]` only while its version is the one
//! the dependency tree asks for: a Leptos update that needs a newer tachys would resolve the
//! registry's crate instead and merely warn, silently dropping the patch. These fail instead.

const LOCK: &str = include_str!("../../Cargo.lock");
const VENDORED_MANIFEST: &str = include_str!("../../vendor/tachys/Cargo.toml");
const PATCHED_SOURCE: &str = include_str!("../../vendor/tachys/src/view/any_view.rs");

/// The `[[package]]` entries of Cargo.lock named `name`, each as its lines.
fn locked(name: &str) -> Vec<Vec<&'static str>> {
    LOCK.split("[[package]]")
        .map(|entry| entry.lines().map(str::trim).collect::<Vec<_>>())
        .filter(|lines| lines.contains(&format!("name = \"{name}\"").as_str()))
        .collect()
}

fn version_line(lines: &[&'static str]) -> Option<&'static str> {
    lines
        .iter()
        .copied()
        .find(|line| line.starts_with("version = "))
}

#[test]
fn the_dependency_tree_uses_the_vendored_renderer() {
    let entries = locked("tachys");
    assert_eq!(
        entries.len(),
        1,
        "one tachys in Cargo.lock, the vendored one: {entries:?}"
    );
    let entry = &entries[0];
    assert!(
        !entry.iter().any(|line| line.starts_with("source = ")),
        "Cargo.lock resolves tachys from a registry, so vendor/tachys (the patch) is not in \
         effect; re-apply the patch to the tachys release Leptos now needs (vendor/README.md): \
         {entry:?}"
    );
    let vendored = VENDORED_MANIFEST
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("version = "));
    assert_eq!(
        version_line(entry),
        vendored,
        "the vendored manifest's version"
    );
    assert!(
        !LOCK.contains("[[patch.unused]]"),
        "Cargo.lock lists an unused patch"
    );
}

#[test]
fn the_vendored_renderer_carries_the_change() {
    assert!(
        PATCHED_SOURCE.contains("Ampwise's patch"),
        "vendor/tachys/src/view/any_view.rs no longer carries the change vendor/README.md \
         describes"
    );
}
