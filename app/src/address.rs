//! The page's address (its route's `:id`, its query) and going to another page, the same in
//! every build. The app uses these, never leptos_router's hooks: on the server (and in a wasm
//! built without a bundle) they are the router's; a browser bundle (`cfg(bundle)`: bundle.rs)
//! has no router and reads the browser's address, where another page is that page's own load
//! and the same page with another query is a new entry in the browser's history (read back on
//! Back and Forward). A router hook called from a page would compile everywhere and panic only
//! in the bundles: `the_app_calls_no_router_hook_but_here` (below) keeps them out.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

/// The route's `:id`, when it is a number.
pub fn use_id() -> impl Fn() -> Option<i64> + Copy + Send + Sync + 'static {
    #[cfg(not(bundle))]
    {
        let params = leptos_router::hooks::use_params_map();
        move || params.read().get("id").and_then(|id| id.parse().ok())
    }
    // The id of the address the bundle drew this page for (lib.rs: `page_here`).
    #[cfg(bundle)]
    {
        let id = use_context::<Matched>().and_then(|Matched(id)| id);
        move || id
    }
}

/// The `:id` of the address a bundle drew its page for (each is its own page load).
#[cfg(bundle)]
#[derive(Clone, Copy)]
pub struct Matched(pub Option<i64>);

/// The page's query (`?site=3&step=2`), followed through Back and Forward.
pub fn use_query() -> Memo<ParamsMap> {
    #[cfg(not(bundle))]
    return leptos_router::hooks::use_query_map();
    #[cfg(bundle)]
    {
        let query = RwSignal::new(browser_query());
        let listener =
            window_event_listener(leptos::ev::popstate, move |_| query.set(browser_query()));
        on_cleanup(move || listener.remove());
        Memo::new(move |_| query.get())
    }
}

/// The browser's query, each value decoded as the browser's `URLSearchParams` decodes it.
#[cfg(bundle)]
fn browser_query() -> ParamsMap {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    query_of(&search)
}

/// `search` (with or without its `?`) as the router reads a query: `+` is a space, `%XX` a byte.
#[cfg_attr(
    not(any(bundle, test)),
    allow(dead_code, reason = "the router reads the query itself")
)]
fn query_of(search: &str) -> ParamsMap {
    let decode = |text: &str| crate::percent_decoded(&text.replace('+', " "));
    let mut query = ParamsMap::new();
    for pair in search.trim_start_matches('?').split('&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        query.insert(decode(key), decode(value));
    }
    query
}

/// Goes to `url` (a path of ours, with its query): through the router where there is one.
/// Without one, the same page with another query is a new entry in the browser's history (the
/// page follows [`use_query`]) and another page is its own load.
pub fn use_go() -> impl Fn(&str) + Clone + 'static {
    #[cfg(not(bundle))]
    {
        let navigate = leptos_router::hooks::use_navigate();
        move |url: &str| navigate(url, Default::default())
    }
    #[cfg(bundle)]
    |url: &str| {
        let Some(window) = web_sys::window() else {
            return;
        };
        let here = window.location().pathname().unwrap_or_default();
        let path = url.split(['?', '#']).next().unwrap_or_default();
        if path != here {
            let _ = window.location().assign(url);
            return;
        }
        let pushed = window.history().and_then(|history| {
            history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url))
        });
        match pushed.and_then(|()| web_sys::Event::new("popstate")) {
            Ok(moved) => {
                let _ = window.dispatch_event(&moved);
                window.scroll_to_with_x_and_y(0.0, 0.0);
            }
            Err(_) => {
                let _ = window.location().assign(url);
            }
        }
    }
}

/// Goes to `url` in place of this page (Back skips it): the login page on to where the
/// visitor was going.
pub fn use_go_instead() -> impl Fn(&str) + Clone + 'static {
    #[cfg(not(bundle))]
    {
        let navigate = leptos_router::hooks::use_navigate();
        move |url: &str| {
            navigate(
                url,
                leptos_router::NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            )
        }
    }
    #[cfg(bundle)]
    |url: &str| {
        if let Some(window) = web_sys::window() {
            let _ = window.location().replace(url);
        }
    }
}

/// The page's path and query (`/settings/reporters/new?step=2`), as they are when asked.
pub fn use_here() -> impl Fn() -> String + Clone + Send + Sync + 'static {
    #[cfg(not(bundle))]
    {
        let location = leptos_router::hooks::use_location();
        move || {
            crate::with_query(
                &location.pathname.get_untracked(),
                &location.search.get_untracked(),
            )
        }
    }
    #[cfg(bundle)]
    || {
        let address = web_sys::window().map(|w| w.location());
        let part = |read: fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>| {
            address
                .as_ref()
                .and_then(|a| read(a).ok())
                .unwrap_or_default()
        };
        crate::with_query(
            &part(web_sys::Location::pathname),
            &part(web_sys::Location::search),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::query_of;

    #[test]
    fn a_query_reads_as_the_browser_reads_it() {
        let cases = [
            ("empty", "", vec![]),
            ("just the mark", "?", vec![]),
            (
                "two values",
                "?site=3&step=2",
                vec![("site", "3"), ("step", "2")],
            ),
            ("no mark", "view=week", vec![("view", "week")]),
            ("escaped", "?code=AB%2DCD", vec![("code", "AB-CD")]),
            ("plus is a space", "?q=a+b", vec![("q", "a b")]),
            ("a key alone", "?created", vec![("created", "")]),
            ("empty pairs", "?&a=1&&", vec![("a", "1")]),
        ];
        for (name, search, expected) in cases {
            let query = query_of(search);
            for (key, value) in &expected {
                assert_eq!(query.get(key).as_deref(), Some(*value), "{name}: {key}");
            }
            assert_eq!(query.into_iter().count(), expected.len(), "{name}");
        }
    }

    /// The app reaches the address only through this module (see its first lines).
    #[test]
    fn the_app_calls_no_router_hook_but_here() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(&src).unwrap() {
            let file = entry.unwrap().path();
            if file.extension().is_none_or(|e| e != "rs") || file.ends_with("address.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for hook in [
                "use_navigate",
                "use_params",
                "use_query_map",
                "use_location",
            ] {
                assert!(
                    !text.contains(hook),
                    "{} calls {hook}: use crate::address",
                    file.display()
                );
            }
        }
    }
}
