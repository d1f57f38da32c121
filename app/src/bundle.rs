//! Which pages a browser bundle can draw. `scripts/build-site.sh` builds the wasm once per
//! [`Bundle`]: `login` (log in, sign up), `home` (the overview), `licences` (the camera; the QR
//! decoder is loaded when needed: scan.rs), `reporters` (the list, a reporter), `wizard` (the
//! reporter wizard) and `other` (every other page: sites, monitors, history). Each page
//! downloads only the bundle that has it (a phone on one bar of 4G in a basement, an installer
//! at a fuse box); moving to a page of another bundle loads it from the server.
//!
//! One routes table (`routes()` in lib.rs) serves the server and every bundle with a router;
//! [`Bundle::for_path`] alone decides which bundle has which page. Every route names its page
//! with [`page!`]: in a bundle that lacks the page it is [`Elsewhere`] (which asks the server
//! for the page; the server sends it with the bundle that has it), and its code is left out of
//! that wasm. The overview's and the wizard's bundles (`cfg(bundle = "home")`,
//! `cfg(bundle = "wizard")`, set by app/build.rs) have no router at all: each draws its one page
//! in its frame (lib.rs: `App`), its links are plain links, and the wizard keeps its steps in the
//! browser's history itself (reporters.rs: `wizard_query`, `wizard_navigate`). The router was a
//! sixth of the overview's bundle (284 KB brotli with it, 238 KB without) and of the wizard's
//! (255 KB with it, 212 KB without: BENCHMARKS.md). The server (and a wasm built without a
//! bundle feature) has every page.

use leptos::prelude::*;

/// A browser bundle: a wasm built by `scripts/build-site.sh` with the feature of that name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bundle {
    Login,
    Home,
    Licences,
    Reporters,
    Wizard,
    Other,
}

impl Bundle {
    pub const ALL: [Bundle; 6] = [
        Bundle::Login,
        Bundle::Home,
        Bundle::Licences,
        Bundle::Reporters,
        Bundle::Wizard,
        Bundle::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bundle::Login => "login",
            Bundle::Home => "home",
            Bundle::Licences => "licences",
            Bundle::Reporters => "reporters",
            Bundle::Wizard => "wizard",
            Bundle::Other => "other",
        }
    }

    /// The bundle the page at `path` is sent with. The one place that decides it: the server
    /// sends that bundle, and the routes table ([`page!`]) leaves the page out of every other
    /// bundle at compile time (a `const fn` for that).
    pub const fn for_path(path: &str) -> Bundle {
        let mut path = path.as_bytes();
        while let [rest @ .., b'/'] = path {
            path = rest;
        }
        match path {
            b"/login" | b"/signup" => Bundle::Login,
            b"" => Bundle::Home,
            _ if under(path, b"/settings/licences") => Bundle::Licences,
            b"/settings/reporters/new" => Bundle::Wizard,
            _ if under(path, b"/settings/reporters") => Bundle::Reporters,
            _ => Bundle::Other,
        }
    }

    /// The bundle this build is (`cfg(bundle)`, from the feature `scripts/build-site.sh` builds
    /// it with: app/build.rs); none on the server and in a wasm built without one.
    pub const THIS: Option<Bundle> = if cfg!(bundle = "login") {
        Some(Bundle::Login)
    } else if cfg!(bundle = "home") {
        Some(Bundle::Home)
    } else if cfg!(bundle = "licences") {
        Some(Bundle::Licences)
    } else if cfg!(bundle = "reporters") {
        Some(Bundle::Reporters)
    } else if cfg!(bundle = "wizard") {
        Some(Bundle::Wizard)
    } else if cfg!(bundle = "other") {
        Some(Bundle::Other)
    } else {
        None
    };

    /// Whether this build draws the page at `path` (a route's full path, `:id` and all): the
    /// server draws every page, a bundle those sent with it.
    pub const fn draws(path: &str) -> bool {
        match Self::THIS {
            None => true,
            Some(this) => Self::for_path(path) as u8 == this as u8,
        }
    }
}

/// `path` is `prefix` or a page under it (`/settings/reporters/7`, not `/settings/reportersx`).
const fn under(path: &[u8], prefix: &[u8]) -> bool {
    if path.len() < prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if path[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    path.len() == prefix.len() || path[prefix.len()] == b'/'
}

/// A view of the routes table (lib.rs), named by the page's full path: the page where this
/// build draws it ([`Bundle::draws`]), otherwise [`Elsewhere`]. The choice is a constant, so a
/// small bundle's wasm leaves the other pages' code out, while every build still compiles (and
/// lints) one table with every page.
macro_rules! page {
    // A parent route's layout: drawn by every bundle whose pages sit in it (all but login's).
    (layout $page:path) => {
        $crate::bundle::page!(@here !matches!(
            $crate::bundle::Bundle::THIS,
            Some($crate::bundle::Bundle::Login)
        ), $page)
    };
    ($path:literal, $page:path) => {
        $crate::bundle::page!(@here $crate::bundle::Bundle::draws($path), $page)
    };
    (@here $here:expr, $page:path) => {{
        const HERE: bool = $here;
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
/// `pkg/assets.json`): the style sheet, each bundle's name (`NAME.js`, `NAME_bg.wasm`) and the
/// QR decoder's (`qr`: not a bundle, a wasm the licences page loads when it needs it).
/// The server provides it to the page shell through context.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct SiteFiles {
    pub css: String,
    pub login: String,
    pub home: String,
    pub licences: String,
    pub reporters: String,
    pub wizard: String,
    pub other: String,
    pub qr: String,
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
            licences: name.clone(),
            reporters: name.clone(),
            wizard: name.clone(),
            other: name.clone(),
            qr: format!("{name}-qr"),
        }
    }

    pub fn bundle(&self, bundle: Bundle) -> &str {
        match bundle {
            Bundle::Login => &self.login,
            Bundle::Home => &self.home,
            Bundle::Licences => &self.licences,
            Bundle::Reporters => &self.reporters,
            Bundle::Wizard => &self.wizard,
            Bundle::Other => &self.other,
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
    fn each_page_is_sent_with_the_bundle_that_has_it() {
        let cases = [
            ("log in", "/login", Bundle::Login),
            ("sign up", "/signup", Bundle::Login),
            ("overview", "/", Bundle::Home),
            ("site", "/sites/3", Bundle::Other),
            ("history", "/monitors/2/history", Bundle::Other),
            ("settings", "/settings", Bundle::Other),
            ("sites settings", "/settings/sites/new", Bundle::Other),
            ("monitors", "/settings/monitors", Bundle::Other),
            ("licences", "/settings/licences", Bundle::Licences),
            ("reporters", "/settings/reporters", Bundle::Reporters),
            ("the wizard", "/settings/reporters/new", Bundle::Wizard),
            ("a reporter", "/settings/reporters/7", Bundle::Reporters),
            (
                "a name that only begins alike",
                "/settings/reportersx",
                Bundle::Other,
            ),
            ("login, deeper", "/login/x", Bundle::Other),
            ("unknown page", "/nowhere", Bundle::Other),
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
        assert_eq!(Bundle::THIS, None);
        for path in ["/login", "", "/settings/reporters/:id", "/nowhere"] {
            assert!(Bundle::draws(path), "{path}");
        }
    }
}
