//! Swedish and English. Every string the user sees comes from `locales/{en,sv}.json`; a unit
//! test fails when a key is missing in either file or a key used in the code is in neither.
//!
//! The language is chosen once per request on the server (the `lang` cookie, else the
//! browser's `Accept-Language`), written into `<html lang>`, and read back from there when the
//! page hydrates, so both sides render the same words.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Sv,
}

/// The cookie that remembers the user's choice.
pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Sv, Lang::En];

    pub const fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sv => "sv",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "sv" => Some(Lang::Sv),
            _ => None,
        }
    }

    /// The language's own name, for the switch (not translated: people look for their own).
    pub const fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Sv => "Svenska",
        }
    }

    /// The first of our languages in an `Accept-Language` header, by the browser's preference
    /// (q-values; ties keep header order). `sv-SE`, `sv`, `en-GB`, `en` all count. English when
    /// none matches.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default().trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or_default();
            if let Some(lang) = Lang::parse(primary)
                && q > 0.0
                && best.is_none_or(|(best_q, _)| q > best_q)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang).unwrap_or_default()
    }

    /// The value of our cookie in a `Cookie` header, if it names a language.
    pub fn from_cookie_header(header: &str) -> Option<Self> {
        cookie(header, LANG_COOKIE).and_then(Lang::parse)
    }
}

/// The value of the cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// `EN` and `SV`: `locales/{en,sv}.json` as `(key, text)` sorted by key, made by `build.rs`.
mod tables {
    include!(concat!(env!("OUT_DIR"), "/locales.rs"));
}

/// The text for `key`; the key itself when missing (the tests make sure none is).
pub fn tr(lang: Lang, key: &str) -> String {
    let table = match lang {
        Lang::En => tables::EN,
        Lang::Sv => tables::SV,
    };
    match table.binary_search_by(|(k, _)| (*k).cmp(key)) {
        Ok(i) => table[i].1.to_string(),
        Err(_) => key.to_string(),
    }
}

/// The text for `key` with each `{name}` replaced.
pub fn tr_with(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    args.iter().fold(tr(lang, key), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}

/// The current language, shared by every component through context.
#[derive(Clone, Copy)]
pub struct I18n {
    pub lang: RwSignal<Lang>,
}

impl I18n {
    /// Reactive: re-runs when the language changes.
    pub fn t(&self, key: &str) -> String {
        tr(self.lang.get(), key)
    }

    pub fn t_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        tr_with(self.lang.get(), key, args)
    }
}

/// A number with `decimals` decimals as the language writes it: Swedish with a decimal comma
/// and a real minus sign (CLDR), English with a point.
pub fn format_number(lang: Lang, value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    // -0.0 rounds to "-0.0": no sign for nothing.
    let text = if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    };
    match lang {
        Lang::En => text,
        Lang::Sv => text.replace('.', ",").replace('-', "\u{2212}"),
    }
}

impl I18n {
    /// Reactive: a number in the current language.
    pub fn num(&self, value: f64, decimals: usize) -> String {
        format_number(self.lang.get(), value, decimals)
    }
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

/// `t!(i18n, "key")`: a closure that renders the key's text and follows language changes.
#[macro_export]
macro_rules! t {
    ($i18n:expr, $key:literal) => {
        $crate::i18n::text($i18n, $key)
    };
}

/// What `t!` makes: one closure type for every text of the app, so the browser bundle has one
/// copy of the code that renders and updates a text, not one per place (a tenth of the wasm).
pub fn text(i18n: I18n, key: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    move || i18n.t(key)
}

/// The language this page is rendered in: on the server from the request, in the browser from
/// what the server wrote into `<html lang>`.
pub fn initial_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .map(|parts| request_lang(&parts.headers))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        html_attribute("lang")
            .and_then(|code| Lang::parse(&code))
            .unwrap_or_default()
    }
}

/// An attribute of the page's `<html>` (in the browser; `None` elsewhere): what the server
/// rendered from the request, read back when hydrating.
#[cfg(not(feature = "ssr"))]
pub fn html_attribute(name: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute(name))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = name;
        None
    }
}

/// Remembers `value` for a year in the cookie `name`, which the server reads on every page.
#[cfg(feature = "ssr")]
pub fn remember_in_cookie(name: &str, value: &str) -> Result<(), crate::error::AppError> {
    let cookie = format!("{name}={value}; Path=/; Max-Age=31536000; SameSite=Lax");
    let res = expect_context::<leptos_axum::ResponseOptions>();
    res.insert_header(
        http::header::SET_COOKIE,
        http::HeaderValue::from_str(&cookie).map_err(|_| crate::error::AppError::Internal)?,
    );
    Ok(())
}

/// The cookie first, then the browser's languages.
#[cfg(feature = "ssr")]
pub fn request_lang(headers: &http::HeaderMap) -> Lang {
    let header = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(";")
    };
    Lang::from_cookie_header(&header(http::header::COOKIE))
        .unwrap_or_else(|| Lang::from_accept_language(&header(http::header::ACCEPT_LANGUAGE)))
}

#[cfg(test)]
mod number_tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::en(Lang::En, 12.345, 1, "12.3")]
    #[case::sv_decimal_comma(Lang::Sv, 12.345, 1, "12,3")]
    #[case::sv_minus(Lang::Sv, -3.25, 2, "\u{2212}3,25")]
    #[case::en_minus(Lang::En, -3.25, 2, "-3.25")]
    #[case::no_negative_zero(Lang::Sv, -0.04, 1, "0,0")]
    #[case::whole(Lang::Sv, 20.0, 0, "20")]
    fn numbers_follow_the_language(
        #[case] lang: Lang,
        #[case] value: f64,
        #[case] decimals: usize,
        #[case] want: &str,
    ) {
        assert_eq!(format_number(lang, value, decimals), want);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::collections::{BTreeSet, HashMap};

    const EN_JSON: &str = include_str!("../../locales/en.json");
    const SV_JSON: &str = include_str!("../../locales/sv.json");

    #[rstest]
    #[case::swedish_browser("sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7", Lang::Sv)]
    #[case::english_browser("en-GB,en;q=0.9", Lang::En)]
    #[case::english_first_then_swedish("en-US,en;q=0.9,sv;q=0.8", Lang::En)]
    #[case::german_then_swedish("de-DE,de;q=0.9,sv;q=0.5", Lang::Sv)]
    #[case::q_values_out_of_order("en;q=0.3,sv;q=0.8", Lang::Sv)]
    #[case::swedish_refused("sv;q=0,en;q=0.1", Lang::En)]
    #[case::nothing_we_speak("fi-FI,fi", Lang::En)]
    #[case::empty("", Lang::En)]
    #[case::garbage(";;,q=,=", Lang::En)]
    fn accept_language(#[case] header: &str, #[case] expected: Lang) {
        assert_eq!(Lang::from_accept_language(header), expected);
    }

    #[rstest]
    #[case::only("lang=sv", Some(Lang::Sv))]
    #[case::among_others("id=abc; lang=en; theme=dark", Some(Lang::En))]
    #[case::unknown_language("lang=fi", None)]
    #[case::similar_name("slang=sv", None)]
    #[case::absent("id=abc", None)]
    fn cookie(#[case] header: &str, #[case] expected: Option<Lang>) {
        assert_eq!(Lang::from_cookie_header(header), expected);
    }

    fn keys(json: &str) -> BTreeSet<String> {
        let table: HashMap<String, String> =
            serde_json::from_str(json).expect("valid JSON object of strings");
        table.into_keys().collect()
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let (en, sv) = (keys(EN_JSON), keys(SV_JSON));
        let missing_in_sv: Vec<_> = en.difference(&sv).collect();
        let missing_in_en: Vec<_> = sv.difference(&en).collect();
        assert!(
            missing_in_sv.is_empty(),
            "keys missing in sv.json: {missing_in_sv:?}"
        );
        assert!(
            missing_in_en.is_empty(),
            "keys missing in en.json: {missing_in_en:?}"
        );
    }

    #[test]
    fn no_text_is_empty() {
        for (name, json) in [("en", EN_JSON), ("sv", SV_JSON)] {
            let table: HashMap<String, String> = serde_json::from_str(json).unwrap();
            let empty: Vec<_> = table
                .iter()
                .filter(|(_, v)| v.trim().is_empty())
                .map(|(k, _)| k)
                .collect();
            assert!(empty.is_empty(), "{name}.json has empty texts: {empty:?}");
        }
    }

    /// Every `"key.like_this"` literal in the app's and backend's sources that looks like one of
    /// our keys (`section.name`) must be in the locale files, so a typo or a forgotten
    /// translation fails here rather than showing a raw key to a user.
    #[test]
    fn every_key_used_in_the_code_exists() {
        let en = keys(EN_JSON);
        let sections: BTreeSet<&str> = en.iter().filter_map(|k| k.split('.').next()).collect();
        let mut missing = Vec::new();
        for dir in ["src", "../backend/src", "../model/src"] {
            for file in rust_files(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)) {
                let text = std::fs::read_to_string(&file).unwrap();
                for literal in text.split('"').skip(1).step_by(2) {
                    let Some((section, rest)) = literal.split_once('.') else {
                        continue;
                    };
                    let key_like = !rest.is_empty()
                        && rest.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                        });
                    if sections.contains(section) && key_like && !en.contains(literal) {
                        missing.push(format!("{}: {literal}", file.display()));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys used but not translated: {missing:#?}"
        );
    }

    fn rust_files(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(rust_files(path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        out
    }

    /// The tables `build.rs` made say what the files say, for every key, and a key in neither
    /// comes back as itself.
    #[rstest]
    #[case::english(Lang::En, EN_JSON)]
    #[case::swedish(Lang::Sv, SV_JSON)]
    fn every_text_is_the_files_text(#[case] lang: Lang, #[case] json: &str) {
        let table: HashMap<String, String> = serde_json::from_str(json).unwrap();
        for (key, text) in &table {
            assert_eq!(&tr(lang, key), text, "{key}");
        }
        assert_eq!(tr(lang, "no.such_key"), "no.such_key");
        assert_eq!(tr(lang, ""), "");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            tr_with(Lang::En, "error.rate_limited", &[("seconds", "12")]),
            tr(Lang::En, "error.rate_limited").replace("{seconds}", "12")
        );
        assert!(!tr_with(Lang::Sv, "error.rate_limited", &[("seconds", "12")]).contains('{'));
    }
}
