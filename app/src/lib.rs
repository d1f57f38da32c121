//! The Ampwise web app: pages, components and the server functions they call. Compiled twice:
//! with `ssr` into the server (rendering and server-function bodies), with `hydrate` into the
//! browser's wasm.

pub mod address;
pub mod api;
pub mod bundle;
mod charging;
pub mod codec;
mod components;
pub mod error;
pub mod i18n;
mod monitors;
mod pages;
mod reporters;
pub mod scan;
pub mod theme;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
#[cfg(not(bundle))]
use leptos_router::components::Router;
use model::Account;

use crate::error::AppError;
use crate::i18n::{I18n, initial_lang};

/// The name of the site's files: `/pkg/ampwise.js`, `/pkg/ampwise_bg.wasm`, `/pkg/ampwise.css`
/// when built by hand; `scripts/build-site.sh` names each bundle and appends its content's hash
/// (`ampwise-login-HASH.js`, …: [`bundle::SiteFiles`]).
pub const SITE_NAME: &str = "ampwise";

/// The page around the app: `<head>` with the style sheet and the bundle that hydrates this
/// page (the smallest that has it: [`bundle::Bundle::for_path`]), loaded by [`Boot`]. The
/// options go unread: the bundle's name and directory come from [`bundle::SiteFiles`].
pub fn shell(_options: LeptosOptions) -> impl IntoView {
    let lang = initial_lang();
    let files = use_context::<bundle::SiteFiles>().unwrap_or_else(bundle::SiteFiles::unnamed);
    #[cfg(feature = "ssr")]
    let path = use_context::<http::request::Parts>()
        .map(|parts| parts.uri.path().to_string())
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let path = String::new();
    let sent = bundle::Bundle::sending(&path, PAGES);
    let bundle = files.bundle(sent).to_string();
    // The QR decoder, for the pages that scan (loaded only when the browser cannot read a code).
    let qr = (sent == bundle::Bundle::Licences).then(|| files.qr.clone());
    view! {
        <!DOCTYPE html>
        <html lang=lang.code() data-theme=crate::theme::initial_theme().code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="theme-color" content="#0f766e" />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="apple-touch-icon" href="/icon-192.png" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // Before the style sheet: a classic script after it would wait for it.
                <Boot bundle qr />
                <link rel="stylesheet" href=format!("/pkg/{}", files.css) />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Loads the page's bundle (`/pkg/NAME.js`, `/pkg/NAME_bg.wasm`) and hydrates the page. In place
/// of Leptos's `HydrationScripts`, whose module script waits for the whole page to be parsed
/// before it even asks for the wasm: this starts the JS import and the wasm compile (from the
/// cache, for a returning visitor) while the page is still arriving, and hydrates once it is
/// parsed. On slow 4G with a 4× slower CPU that makes a returning visitor's overview
/// interactive about a tenth of a second sooner (BENCHMARKS.md). The script (`boot.js`) is a
/// classic one, so it runs as soon as the parser reaches it; hydration waits for
/// `DOMContentLoaded`, by when the resources the server streams at the page's end are in.
/// Streaming compilation needs `Content-Type: application/wasm`; when a proxy on the way
/// changes it, the wasm is compiled from its bytes instead (as wasm-bindgen's loader does).
/// With `qr` (the QR decoder's files) it also gives the page `window.ampwiseQrDecoder()`, which
/// loads the decoder the first time it is called (app/src/scan.rs).
#[component]
fn Boot(bundle: String, qr: Option<String>) -> impl IntoView {
    let nonce = leptos::nonce::use_nonce();
    let js = format!("/pkg/{bundle}.js");
    let wasm = format!("/pkg/{bundle}_bg.wasm");
    let qr = qr.map(|qr| [format!("/pkg/{qr}.js"), format!("/pkg/{qr}_bg.wasm")]);
    let script = format!(
        "({})({}, {}, {});",
        include_str!("boot.js").trim(),
        serde_json::to_string(&js).unwrap_or_default(),
        serde_json::to_string(&wasm).unwrap_or_default(),
        serde_json::to_string(&qr).unwrap_or_default(),
    );
    view! {
        <link rel="modulepreload" href=js />
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin="anonymous" />
        <script nonce=nonce>{script}</script>
    }
}

/// Who is signed in, shared through context. `refresh` re-asks the server after signing in or out.
#[derive(Clone, Copy)]
pub struct Auth {
    pub me: crate::codec::Res<Result<Option<Account>, AppError>>,
    version: RwSignal<u32>,
}

impl Auth {
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }

    /// `None` while loading; whether someone is signed in.
    pub fn signed_in(&self) -> Option<bool> {
        self.me.get().map(|me| matches!(me, Ok(Some(_))))
    }
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

/// `path` with the query `search` (with or without its `?`; nothing when empty).
pub fn with_query(path: &str, search: &str) -> String {
    match search.trim_start_matches('?') {
        "" => path.to_string(),
        query => format!("{path}?{query}"),
    }
}

/// The login page for a signed-out visitor who asked for `here` (path and query): it sends them
/// back there afterwards (a scanned licence link, say). The server's page guard and the app's
/// sign-out both use it.
pub fn login_path(here: &str) -> String {
    if here == "/" || here.is_empty() {
        "/login".to_string()
    } else {
        format!("/login?next={}", encode_component(here))
    }
}

/// Where the login and sign-up pages send someone who is signed in: `next` resolved as a
/// browser resolves it against our origin, when the result is a page of ours (never another
/// host); else the overview. The server's redirect and the browser's navigation both use it,
/// so neither accepts what the other refuses.
pub fn safe_next(next: Option<&str>) -> String {
    next.and_then(own_path).unwrap_or_else(|| "/".to_string())
}

/// `text` with its `%XX` escapes decoded (bytes that are not UTF-8 replaced).
pub(crate) fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `next` as a path (with its query and fragment) of ours after the browser's own reading of
/// it: RFC 3986's dot segments removed (`%2e` is a dot to a URL parser), and nothing that a
/// browser or a router would read as another host.
fn own_path(next: &str) -> Option<String> {
    // Browsers drop tabs and newlines anywhere in a URL and read `\` as `/`, so "/\t/evil"
    // would become "//evil", another host; their encoded forms are refused as well.
    let suspicious = |text: &str| {
        text.chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    };
    if !next.starts_with('/') || suspicious(next) || suspicious(&percent_decoded(next)) {
        return None;
    }
    let split = next.find(['?', '#']).unwrap_or(next.len());
    let (path, rest) = next.split_at(split);
    let segments: Vec<&str> = path[1..].split('/').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match percent_decoded(segment).as_str() {
            "." => {}
            ".." => {
                kept.pop();
            }
            _ => {
                kept.push(segment);
                continue;
            }
        }
        // "/a/b/.." is "/a/": the dot segment at the end leaves the slash.
        if last {
            kept.push("");
        }
    }
    let path = format!("/{}", kept.join("/"));
    // "/.//evil.example" resolves to "//evil.example"; an encoded slash ("/%2F/evil") is one
    // to a router that decodes the path.
    if path.starts_with("//") || percent_decoded(&path).starts_with("//") {
        return None;
    }
    Some(format!("{path}{rest}"))
}

/// Sends a visitor of the login or sign-up page on once they are signed in (after the form, or
/// when they come back to the page signed in): to `next` if it is a page of ours.
fn go_on_when_signed_in() {
    let auth = use_auth();
    let query = address::use_query();
    let go = address::use_go_instead();
    Effect::new(move || {
        if auth.signed_in() == Some(true) {
            let next = query.read_untracked().get("next");
            go(&safe_next(next.as_deref()));
        }
    });
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for a query value.
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let i18n = I18n {
        lang: RwSignal::new(initial_lang()),
    };
    provide_context(i18n);
    let version = RwSignal::new(0u32);
    let auth = Auth {
        me: crate::codec::resource(move || version.get(), |_| api::me()),
        version,
    };
    provide_context(auth);
    // Tells browser tests (and anyone curious) that the wasm has taken over the page.
    #[cfg(feature = "hydrate")]
    Effect::new(|| {
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    // The server renders every page through its router; a bundle draws the page the browser
    // loaded without one (bundle.rs). The router adds no markup of its own, so the one
    // hydrates what the other rendered.
    #[cfg(not(bundle))]
    let page = view! { <Router>{routes()}</Router> };
    #[cfg(bundle)]
    let page = page_here();
    view! {
        <Title formatter=move |page: String| title_text(&page) />
        {page}
    }
}

/// The document's title for a page. leptos_meta writes the server's `<title>` into the HTML
/// as it is, so a site named `</title><meta http-equiv=refresh …>` would end the title and
/// redirect everyone who opens it: on the server the title is escaped. In the browser it is set
/// as text (`document.title`), where escaping would show the entities.
pub fn title_text(page: &str) -> String {
    let title = format!("{page} · Ampwise");
    #[cfg(feature = "ssr")]
    let title = html_escape::encode_text(&title).into_owned();
    title
}

/// Every page as the server renders it: the routes table. `pages!` (below) is the same table
/// as the bundles draw it, without a router; a test in server/src/lib.rs checks that they
/// name the same pages.
#[cfg(not(bundle))]
fn routes() -> impl IntoView {
    use leptos_router::components::{ParentRoute, Redirect, Route, Routes};
    use leptos_router::{SsrMode, path};
    use monitors::{HistoryPage, MonitorsPage};
    use pages::{
        AppLayout, EditSitePage, LicencesPage, LoginPage, NewSitePage, NotFound, OverviewPage,
        SettingsLayout, SignupPage, SitePage, SitesSettingsPage,
    };
    use reporters::{NewReporterPage, ReporterPage, ReportersPage};
    view! {
        <Routes fallback=NotFound>
            // Who may see which page is decided by the server's page guard before a page
            // renders (server/src/lib.rs), and by the pages' effects after a sign-in or
            // sign-out in the browser. Not by leptos_router's Protected*Route: their
            // condition reads the account resource inside a Transition that nests the
            // page's own Suspense, and under CPU contention about one render in a thousand
            // never finished (a lost wake-up; server/tests/access.rs hung in CI).
            <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
            <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async />
            <ParentRoute path=path!("") view=AppLayout ssr=SsrMode::Async>
                <Route path=path!("") view=OverviewPage ssr=SsrMode::Async />
                <Route path=path!("sites/:id") view=SitePage ssr=SsrMode::Async />
                <Route path=path!("monitors/:id/history") view=HistoryPage ssr=SsrMode::Async />
                <ParentRoute path=path!("settings") view=SettingsLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/settings/sites" /> } />
                    <Route path=path!("sites") view=SitesSettingsPage ssr=SsrMode::Async />
                    <Route path=path!("sites/new") view=NewSitePage ssr=SsrMode::Async />
                    <Route path=path!("sites/:id") view=EditSitePage ssr=SsrMode::Async />
                    <Route path=path!("monitors") view=MonitorsPage ssr=SsrMode::Async />
                    <Route path=path!("licences") view=LicencesPage />
                    <Route path=path!("reporters") view=ReportersPage ssr=SsrMode::Async />
                    <Route path=path!("reporters/new") view=NewReporterPage ssr=SsrMode::Async />
                    <Route path=path!("reporters/:id") view=ReporterPage ssr=SsrMode::Async />
                </ParentRoute>
            </ParentRoute>
        </Routes>
    }
}

/// The table of pages as a bundle draws them: each route's full path (as in [`routes`]) and its
/// page in its frame (`bare`, `app`: the signed-in frame, `settings`: that and the settings'
/// tabs). It makes [`PAGES`] (every page's path: what the server's tests compare with the
/// router's) and, in a bundle, `page_here`: the page at the browser's address, among the pages
/// the bundle has ([`bundle::Bundle::draws`], a constant: the others' code is left out), or
/// [`pages::NotFound`] in `other`. More specific paths come first (`sites/new` before
/// `sites/:id`).
macro_rules! pages {
    ($($frame:ident $path:literal => $page:path),* $(,)?) => {
        /// Every page's route, as `pages!` lists them.
        pub const PAGES: &[&str] = &[$($path),*];

        #[cfg(bundle)]
        fn page_here() -> AnyView {
            let path = web_sys::window()
                .and_then(|w| w.location().pathname().ok())
                .unwrap_or_default();
            // A bundle of one page need not read the address to know it.
            const ONE: bool = bundle::drawn(PAGES) == 1;
            $({
                const HERE: bool = bundle::Bundle::draws($path);
                const ID: bool = bundle::has_id($path);
                if HERE && (ONE || bundle::matched($path, &path)) {
                    if ID {
                        provide_context(address::Matched(bundle::id_in(&path)));
                    }
                    return pages!(@frame $frame $page);
                }
            })*
            // The server sends an address no page has with `other` alone (`Bundle::sending`).
            if bundle::Bundle::THIS == Some(bundle::Bundle::Other) {
                pages::NotFound().into_any()
            } else {
                ().into_any()
            }
        }
    };
    (@frame bare $page:path) => { $page().into_any() };
    (@frame app $page:path) => {{
        let page = $page;
        view! { <pages::AppFrame>{page()}</pages::AppFrame> }.into_any()
    }};
    (@frame settings $page:path) => {{
        let page = $page;
        view! {
            <pages::AppFrame>
                <pages::SettingsFrame>{page()}</pages::SettingsFrame>
            </pages::AppFrame>
        }
        .into_any()
    }};
}

pages! {
    bare "/login" => pages::LoginPage,
    bare "/signup" => pages::SignupPage,
    app "/" => pages::OverviewPage,
    app "/sites/:id" => pages::SitePage,
    app "/monitors/:id/history" => monitors::HistoryPage,
    settings "/settings/sites" => pages::SitesSettingsPage,
    settings "/settings/sites/new" => pages::NewSitePage,
    settings "/settings/sites/:id" => pages::EditSitePage,
    settings "/settings/monitors" => monitors::MonitorsPage,
    settings "/settings/licences" => pages::LicencesPage,
    settings "/settings/reporters" => reporters::ReportersPage,
    settings "/settings/reporters/new" => reporters::NewReporterPage,
    settings "/settings/reporters/:id" => reporters::ReporterPage,
}

#[cfg(test)]
mod tests {
    use super::{encode_component, safe_next, with_query};

    #[test]
    fn a_path_keeps_its_query() {
        let cases = [
            ("no query", "/", "", "/"),
            ("question mark alone", "/", "?", "/"),
            ("with question mark", "/", "?next=%2F", "/?next=%2F"),
            (
                "without question mark",
                "/signup",
                "next=%2F",
                "/signup?next=%2F",
            ),
        ];
        for (name, path, search, want) in cases {
            assert_eq!(with_query(path, search), want, "{name}");
        }
    }

    #[test]
    fn next_is_only_ever_a_path_of_ours() {
        let cases = [
            (
                "a page",
                Some("/settings/licences?code=A2B3C"),
                "/settings/licences?code=A2B3C",
            ),
            ("none", None, "/"),
            ("empty", Some(""), "/"),
            ("protocol relative", Some("//evil.example/phish"), "/"),
            ("absolute", Some("https://evil.example"), "/"),
            ("backslash", Some("/\\evil.example"), "/"),
            ("tab", Some("/\t/evil.example"), "/"),
            ("newline", Some("/\n/evil.example"), "/"),
            ("carriage return", Some("/\r/evil.example"), "/"),
            ("space", Some("/ /evil.example"), "/"),
            ("no-break space", Some("/\u{a0}/evil.example"), "/"),
            ("nul", Some("/\0/evil.example"), "/"),
            ("scheme without slash", Some("javascript:alert(1)"), "/"),
            ("relative", Some("evil.example"), "/"),
            // The second review: the browser resolved this to //evil.example after log-in.
            ("dot segment then slash", Some("/.//evil.example/x"), "/"),
            ("encoded dot segment", Some("/%2e//evil.example/x"), "/"),
            (
                "encoded dot segment upper",
                Some("/%2E//evil.example/x"),
                "/",
            ),
            ("parent then slash", Some("/a/..//evil.example"), "/"),
            ("encoded parent", Some("/a/%2e%2e//evil.example"), "/"),
            ("encoded slash", Some("/%2F/evil.example"), "/"),
            ("encoded slashes", Some("/%2f%2fevil.example"), "/"),
            ("encoded backslash", Some("/%5Cevil.example"), "/"),
            ("encoded tab", Some("/%09/evil.example"), "/"),
            ("encoded newline", Some("/%0a/evil.example"), "/"),
            (
                "at sign is a path",
                Some("/@evil.example"),
                "/@evil.example",
            ),
            (
                "dot segment inside",
                Some("/settings/./licences"),
                "/settings/licences",
            ),
            (
                "parent inside",
                Some("/settings/../settings/licences?code=A"),
                "/settings/licences?code=A",
            ),
            (
                "parents past the root",
                Some("/../../settings"),
                "/settings",
            ),
            ("trailing parent", Some("/settings/sites/.."), "/settings/"),
            (
                "dots in a query",
                Some("/settings/licences?next=/.//x"),
                "/settings/licences?next=/.//x",
            ),
            (
                "encoded text in a path",
                Some("/sites/1?name=%C3%A5"),
                "/sites/1?name=%C3%A5",
            ),
        ];
        for (name, next, want) in cases {
            assert_eq!(safe_next(next), want, "{name}");
        }
    }

    #[test]
    fn next_is_encoded_as_one_query_value() {
        assert_eq!(
            encode_component("/settings/licences?code=A2B3C-D4E5F"),
            "%2Fsettings%2Flicences%3Fcode%3DA2B3C-D4E5F"
        );
    }
}
