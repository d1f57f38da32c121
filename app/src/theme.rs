//! Light or dark: the system's setting unless the account menu fixes one. The choice is a cookie
//! the server reads, so a page arrives in its colours (no flash), as `data-theme` on `<html>`.

use leptos::prelude::*;

use crate::api;
use crate::i18n::use_i18n;
use crate::t;

pub const THEME_COOKIE: &str = "theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Theme {
    /// What the system says (`prefers-color-scheme`).
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn code(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Theme::ALL.into_iter().find(|t| t.code() == code.trim())
    }

    fn key(self) -> &'static str {
        match self {
            Theme::System => "theme.system",
            Theme::Light => "theme.light",
            Theme::Dark => "theme.dark",
        }
    }
}

/// The theme of this page: the cookie on the server, `<html data-theme>` in the browser.
pub fn initial_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get_all(http::header::COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(|h| crate::i18n::cookie(h, THEME_COOKIE).and_then(Theme::parse))
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        crate::i18n::html_attribute("data-theme")
            .and_then(|code| Theme::parse(&code))
            .unwrap_or_default()
    }
}

/// System / Light / Dark, in the account menu.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<api::SetTheme>::new();
    let current = RwSignal::new(initial_theme());
    Effect::new(move || {
        if let Some(Ok(code)) = action.value().get()
            && let Some(theme) = Theme::parse(&code)
        {
            current.set(theme);
            #[cfg(feature = "hydrate")]
            if let Some(root) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
            {
                let _ = root.set_attribute("data-theme", theme.code());
            }
        }
    });
    view! {
        <crate::components::PostForm action attr:class="lang-switch" attr:aria-label=t!(i18n, "menu.theme")>
            {Theme::ALL
                .into_iter()
                .map(|theme| {
                    view! {
                        <button
                            type="submit"
                            name="theme"
                            value=theme.code()
                            class="chip"
                            data-testid=format!("theme-{}", theme.code())
                            aria-pressed=move || (current.get() == theme).to_string()
                        >
                            {move || i18n.t(theme.key())}
                        </button>
                    }
                })
                .collect_view()}
        </crate::components::PostForm>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_read_from_their_codes_only() {
        for theme in Theme::ALL {
            assert_eq!(Theme::parse(theme.code()), Some(theme));
        }
        assert_eq!(Theme::parse("sepia"), None);
        assert_eq!(
            crate::i18n::cookie("lang=sv; theme=dark", THEME_COOKIE).and_then(Theme::parse),
            Some(Theme::Dark)
        );
    }
}
