//! Which pages a browser bundle draws. `scripts/build-site.sh` builds the wasm once per
//! [`Bundle`], each with only its own pages: `login` (log in, sign up), `home` (the overview),
//! `licences` (the camera; the QR decoder is loaded when needed: scan.rs), `reporters` (the
//! list, a reporter), `wizard` (the reporter wizard), `sites` (the sites' settings), `monitors`
//! (the monitors' settings), `site` (a site's live page), `history` (a monitor's history) and
//! `other` (a page that does not exist). Each page downloads only the bundle that has it (a
//! phone on one bar of 4G in a basement, an installer at a fuse box: every first load is
//! under 250 KB brotli, end2end/tests/budget.spec.ts).
//!
//! [`Bundle::for_path`] alone decides which bundle has which page. The server renders every
//! page through leptos_router (`routes()` in lib.rs); the bundles have no router (it was a sixth
//! of each: 45 KB brotli, BENCHMARKS.md). A bundle draws the page the browser loaded from the
//! table beside the routes (`pages!` in lib.rs: each route's path and its page in its frame),
//! keeping only its own pages' code ([`Bundle::draws`] is a constant). Every link is a page
//! load (the next bundle from the browser's cache once seen), and the pages reach the address
//! through `crate::address`, never the router's hooks. The server (and a wasm built without a
//! bundle feature) has every page and the router.

/// A browser bundle: a wasm built by `scripts/build-site.sh` with the feature of that name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bundle {
    Login,
    Home,
    Licences,
    Reporters,
    Wizard,
    Sites,
    Monitors,
    Site,
    History,
    Other,
}

impl Bundle {
    pub const ALL: [Bundle; 10] = [
        Bundle::Login,
        Bundle::Home,
        Bundle::Licences,
        Bundle::Reporters,
        Bundle::Wizard,
        Bundle::Sites,
        Bundle::Monitors,
        Bundle::Site,
        Bundle::History,
        Bundle::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bundle::Login => "login",
            Bundle::Home => "home",
            Bundle::Licences => "licences",
            Bundle::Reporters => "reporters",
            Bundle::Wizard => "wizard",
            Bundle::Sites => "sites",
            Bundle::Monitors => "monitors",
            Bundle::Site => "site",
            Bundle::History => "history",
            Bundle::Other => "other",
        }
    }

    /// The bundle the page at `path` is sent with. The one place that decides it: the server
    /// sends that bundle, and the pages table (`pages!` in lib.rs) leaves the page out of every
    /// other bundle at compile time (a `const fn` for that).
    pub const fn for_path(path: &str) -> Bundle {
        let path = trimmed(path.as_bytes());
        match path {
            b"/login" | b"/signup" => Bundle::Login,
            b"" => Bundle::Home,
            _ if under(path, b"/settings/licences") => Bundle::Licences,
            b"/settings/reporters/new" => Bundle::Wizard,
            _ if under(path, b"/settings/reporters") => Bundle::Reporters,
            _ if under(path, b"/settings/sites") => Bundle::Sites,
            _ if under(path, b"/settings/monitors") => Bundle::Monitors,
            _ if under(path, b"/sites") => Bundle::Site,
            _ if under(path, b"/monitors") => Bundle::History,
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
    } else if cfg!(bundle = "sites") {
        Some(Bundle::Sites)
    } else if cfg!(bundle = "monitors") {
        Some(Bundle::Monitors)
    } else if cfg!(bundle = "site") {
        Some(Bundle::Site)
    } else if cfg!(bundle = "history") {
        Some(Bundle::History)
    } else if cfg!(bundle = "other") {
        Some(Bundle::Other)
    } else {
        None
    };

    /// The bundle the page at `path` is sent with: [`Bundle::for_path`]'s for a page of the
    /// routes table (`pages`: its paths), `other` for an address no page has (it draws the page
    /// that says so; the others need not carry it).
    pub fn sending(path: &str, pages: &[&str]) -> Bundle {
        if pages.iter().any(|page| matched(page, path)) {
            Self::for_path(path)
        } else {
            Bundle::Other
        }
    }

    /// Whether this build draws the page at `path` (a route's full path, `:id` and all): the
    /// server draws every page, a bundle those sent with it.
    pub const fn draws(path: &str) -> bool {
        match Self::THIS {
            None => true,
            Some(this) => Self::for_path(path) as u8 == this as u8,
        }
    }
}

/// `text` without its trailing slashes (`/settings/sites/` is `/settings/sites`, `/` is ``).
const fn trimmed(mut text: &[u8]) -> &[u8] {
    while let [rest @ .., b'/'] = text {
        text = rest;
    }
    text
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

/// Whether the route `pattern` (`/sites/:id`) matches `path`, a trailing slash aside (as the
/// router reads it). By bytes, without `str::split`: this runs in every bundle with more than
/// one page, and each KB counts there.
pub fn matched(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (trimmed(pattern.as_bytes()), trimmed(path.as_bytes()));
    loop {
        match (pattern, path) {
            ([], []) => return true,
            ([b':', b'i', b'd', rest @ ..], [first, ..]) if *first != b'/' => {
                let end = path.iter().position(|b| *b == b'/').unwrap_or(path.len());
                (pattern, path) = (rest, &path[end..]);
            }
            ([want, pattern_rest @ ..], [got, path_rest @ ..]) if want == got => {
                (pattern, path) = (pattern_rest, path_rest);
            }
            _ => return false,
        }
    }
}

/// The `:id` in `path` when the route has one: its first segment that is a number (none of the
/// routes table's names is).
pub fn id_in(path: &str) -> Option<i64> {
    path.split('/').find_map(|segment| segment.parse().ok())
}

/// Whether the route `pattern` has an `:id`.
pub const fn has_id(pattern: &str) -> bool {
    let pattern = pattern.as_bytes();
    let mut i = 0;
    while i + 3 <= pattern.len() {
        if pattern[i] == b':' && pattern[i + 1] == b'i' && pattern[i + 2] == b'd' {
            return true;
        }
        i += 1;
    }
    false
}

/// How many of `pages` (the routes table's paths) this build draws.
pub const fn drawn(pages: &[&str]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < pages.len() {
        if Bundle::draws(pages[i]) {
            n += 1;
        }
        i += 1;
    }
    n
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
    pub sites: String,
    pub monitors: String,
    pub site: String,
    pub history: String,
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
            sites: name.clone(),
            monitors: name.clone(),
            site: name.clone(),
            history: name.clone(),
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
            Bundle::Sites => &self.sites,
            Bundle::Monitors => &self.monitors,
            Bundle::Site => &self.site,
            Bundle::History => &self.history,
            Bundle::Other => &self.other,
        }
    }
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
            ("site", "/sites/3", Bundle::Site),
            ("history", "/monitors/2/history", Bundle::History),
            ("settings", "/settings", Bundle::Other),
            ("sites settings", "/settings/sites", Bundle::Sites),
            ("a new site", "/settings/sites/new", Bundle::Sites),
            ("a site's settings", "/settings/sites/4", Bundle::Sites),
            ("monitors", "/settings/monitors", Bundle::Monitors),
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
    fn an_address_matches_a_route_as_the_router_reads_it() {
        let cases = [
            ("the overview", "/", "/", true, None),
            ("the overview, no slash", "/", "", true, None),
            ("a page", "/settings/sites", "/settings/sites", true, None),
            (
                "a trailing slash",
                "/settings/sites",
                "/settings/sites/",
                true,
                None,
            ),
            ("an id", "/sites/:id", "/sites/12", true, Some(12)),
            (
                "an id mid-way",
                "/monitors/:id/history",
                "/monitors/5/history",
                true,
                Some(5),
            ),
            (
                "an id that is no number",
                "/sites/:id",
                "/sites/a%20b",
                true,
                None,
            ),
            ("no id", "/sites/:id", "/sites/", false, None),
            ("deeper", "/sites/:id", "/sites/1/x", false, Some(1)),
            (
                "shallower",
                "/monitors/:id/history",
                "/monitors/5",
                false,
                Some(5),
            ),
            (
                "another page",
                "/settings/sites",
                "/settings/monitors",
                false,
                None,
            ),
            (
                "a longer name",
                "/settings/sites",
                "/settings/sitesx",
                false,
                None,
            ),
        ];
        for (name, pattern, path, matches, id) in cases {
            assert_eq!(super::matched(pattern, path), matches, "{name}");
            assert_eq!(super::id_in(path), id, "{name}: the id");
            assert_eq!(super::has_id(pattern), pattern.contains(":id"), "{name}");
        }
    }

    #[test]
    fn an_address_no_page_has_is_sent_with_the_bundle_that_says_so() {
        let pages = ["/", "/sites/:id", "/settings/sites"];
        let cases = [
            ("a page", "/sites/3", Bundle::Site),
            ("the overview", "/", Bundle::Home),
            ("a page of no route", "/sites", Bundle::Other),
            ("under a page", "/sites/3/x", Bundle::Other),
            ("beside a page", "/settings/sitesx", Bundle::Other),
        ];
        for (name, path, bundle) in cases {
            assert_eq!(Bundle::sending(path, &pages), bundle, "{name}: {path}");
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
