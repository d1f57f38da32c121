//! Which pages a browser bundle can draw. `scripts/build-site.sh` builds the wasm three times:
//! `login` (log in, sign up), `home` (the overview) and `full` (every page). The two pages a
//! visitor opens first download only the small bundles (a phone on one bar of 4G in a
//! basement); any other page loads `full`, which then moves between all pages in the browser.
//!
//! One routes table (`routes()` in lib.rs) serves the server, the full bundle and the login
//! bundle; [`Bundle::for_path`] alone decides which bundle has which page. Every route names
//! its page with [`page!`]: in the login bundle a page sent with another bundle is
//! [`Elsewhere`] (it asks the server for that page, which sends it with the bundle that has
//! it), and its code is left out of that wasm. The overview's bundle (`cfg(home_bundle)`, set
//! by app/build.rs) has no router at all: it draws the overview in its frame and its links are plain links (the next page loads with its
//! own bundle). The router was a sixth of that bundle (284 KB brotli with it, 238 KB without:
//! BENCHMARKS.md). The server (and a wasm built without a bundle feature) has every page.

use leptos::prelude::*;

/// A browser bundle: a wasm built by `scripts/build-site.sh` with the feature of that name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bundle {
    Login,
    Home,
    Full,
}

impl Bundle {
    pub const ALL: [Bundle; 3] = [Bundle::Login, Bundle::Home, Bundle::Full];

    pub fn name(self) -> &'static str {
        match self {
            Bundle::Login => "login",
            Bundle::Home => "home",
            Bundle::Full => "full",
        }
    }

    /// The bundle the page at `path` is sent with: the smallest that has it. The one place that
    /// decides it: the server sends that bundle, and the routes table ([`page!`]) leaves a page
    /// out of every other small bundle at compile time (a `const fn` for that).
    pub const fn for_path(path: &str) -> Bundle {
        let mut path = path.as_bytes();
        while let [rest @ .., b'/'] = path {
            path = rest;
        }
        match path {
            b"/login" | b"/signup" => Bundle::Login,
            b"" => Bundle::Home,
            _ => Bundle::Full,
        }
    }

    /// The bundle this build is: `Full` on the server and in a wasm built without a bundle
    /// feature (the features `scripts/build-site.sh` builds each bundle with; `home_bundle`
    /// from app/build.rs).
    pub const THIS: Bundle = if cfg!(home_bundle) {
        Bundle::Home
    } else if cfg!(all(feature = "hydrate", feature = "bundle-login")) {
        Bundle::Login
    } else {
        Bundle::Full
    };

    /// Whether this build draws the page at `path` (a route's full path, `:id` and all): the
    /// full bundle and the server draw every page, a small bundle those sent with it.
    pub const fn draws(path: &str) -> bool {
        matches!(Self::THIS, Bundle::Full) || Self::for_path(path) as u8 == Self::THIS as u8
    }
}

/// A view of the routes table (lib.rs), named by the page's full path: the page where this
/// build draws it ([`Bundle::draws`]), otherwise [`Elsewhere`]. The choice is a constant, so a
/// small bundle's wasm leaves the other pages' code out, while every build still compiles (and
/// lints) one table with every page.
macro_rules! page {
    ($path:literal, $page:path) => {{
        const HERE: bool = $crate::bundle::Bundle::draws($path);
        let view: fn() -> ::leptos::prelude::AnyView = if HERE {
            || ::leptos::prelude::IntoAny::into_any($page())
        } else {
            $crate::bundle::elsewhere
        };
        view
    }};
}
pub(crate) use page;

/// [`Elsewhere`] as the routes table's view of a page this build leaves out. Every view in the
/// table is a `fn() -> AnyView`, so the router's code is the same for every route.
pub fn elsewhere() -> AnyView {
    Elsewhere().into_any()
}

/// The site's files as `scripts/build-site.sh` named them (by their content's hash, in
/// `pkg/assets.json`): the style sheet and each bundle's name (`NAME.js`, `NAME_bg.wasm`).
/// The server provides it to the page shell through context.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct SiteFiles {
    pub css: String,
    pub login: String,
    pub home: String,
    pub full: String,
}

impl SiteFiles {
    /// Files not named by a build: `ampwise.css` and one bundle, `ampwise`, with every page
    /// (the server's tests, a bundle built by hand).
    pub fn unnamed() -> Self {
        let name = crate::SITE_NAME.to_string();
        Self {
            css: format!("{name}.css"),
            login: name.clone(),
            home: name.clone(),
            full: name,
        }
    }

    pub fn bundle(&self, bundle: Bundle) -> &str {
        match bundle {
            Bundle::Login => &self.login,
            Bundle::Home => &self.home,
            Bundle::Full => &self.full,
        }
    }
}

/// A page this bundle lacks, reached by a link or a navigation in the browser: loads it from the
/// server instead (replacing the history entry when the router has already made one), saying
/// so meanwhile (a slow connection takes a moment).
#[component]
pub fn Elsewhere() -> impl IntoView {
    let i18n = crate::i18n::use_i18n();
    let location = leptos_router::hooks::use_location();
    Effect::new(move || {
        let path = location.pathname.get();
        let search = location.search.get();
        let hash = location.hash.get();
        let query = if search.is_empty() || search.starts_with('?') {
            ""
        } else {
            "?"
        };
        let target = format!("{path}{query}{search}{hash}");
        #[cfg(feature = "hydrate")]
        if let Some(address) = web_sys::window().map(|w| w.location()) {
            let _ = if address.pathname().ok().as_deref() == Some(path.as_str()) {
                address.replace(&target)
            } else {
                address.assign(&target)
            };
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = target;
    });
    view! { <p class="muted loading">{crate::t!(i18n, "common.loading")}</p> }
}

#[cfg(test)]
mod tests {
    use super::Bundle;

    #[test]
    fn each_page_is_sent_with_the_smallest_bundle_that_has_it() {
        let cases = [
            ("log in", "/login", Bundle::Login),
            ("sign up", "/signup", Bundle::Login),
            ("overview", "/", Bundle::Home),
            ("site", "/sites/3", Bundle::Full),
            ("settings", "/settings/reporters/new", Bundle::Full),
            ("history", "/monitors/2/history", Bundle::Full),
            ("unknown page", "/nowhere", Bundle::Full),
        ];
        for (name, path, bundle) in cases {
            assert_eq!(Bundle::for_path(path), bundle, "{name}: {path}");
            assert_eq!(
                Bundle::for_path(&format!("{path}/")),
                bundle,
                "{name}: {path} with a trailing slash"
            );
        }
    }

    #[test]
    fn the_server_draws_every_page() {
        assert_eq!(Bundle::THIS, Bundle::Full);
        for path in ["/login", "", "/settings/reporters/:id", "/nowhere"] {
            assert!(Bundle::draws(path), "{path}");
        }
    }
}
