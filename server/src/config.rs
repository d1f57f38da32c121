//! The server's settings: environment variables first, defaults in code. `ampwise.env.example`
//! at the repository root lists every variable with a comment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use backend::licences::LicenceKey;

#[derive(Clone)]
pub struct Config {
    /// `AMPWISE_ADDR`: where to listen.
    pub addr: SocketAddr,
    /// `AMPWISE_DATABASE_URL`: `sqlite://PATH` (created if missing).
    pub database_url: String,
    /// `AMPWISE_SITE_ROOT`: the built site (`pkg/` with the wasm, JS and CSS, plus public files).
    pub site_root: PathBuf,
    /// `AMPWISE_SECURE_COOKIES`: mark the session cookie `Secure`; by default when
    /// `AMPWISE_PUBLIC_URL` is https.
    pub secure_cookies: bool,
    /// `AMPWISE_SESSION_DAYS`: a session ends after this many days without use.
    pub session_days: i64,
    /// `AMPWISE_SESSION_MAX_DAYS`: a session ends this many days after sign-in, however much
    /// it is used.
    pub session_max_days: i64,
    /// `AMPWISE_SIGN_UPS_PER_HOUR`: sign-ups allowed per client address (half of them at once).
    pub sign_ups_per_hour: u32,
    /// `AMPWISE_REDEEMS_PER_HOUR`: licence redemptions allowed per account (half at once).
    pub redeems_per_hour: u32,
    /// `AMPWISE_DEVICE_REQUESTS_PER_SECOND`: ingest requests allowed per monitor, sustained
    /// (a minute's worth at once); more are answered 429 with `Retry-After`.
    pub device_requests_per_second: u32,
    /// `AMPWISE_TRUSTED_PROXY_HEADER`: the header a reverse proxy in front of the server puts
    /// the client's address in (e.g. `X-Forwarded-For`, whose last entry is read). Unset: the
    /// connection's peer address, and any such header is ignored.
    pub trusted_proxy_header: Option<String>,
    /// `AMPWISE_STREAMS_PER_ACCOUNT`: live views (event streams) one account may have open.
    pub streams_per_account: usize,
    /// `AMPWISE_STREAMS_TOTAL`: live views the server keeps open in all.
    pub streams_total: usize,
    /// `AMPWISE_SESSION_TOUCH_SECS`: a session's use is recorded (its expiry moved on) at most
    /// this often.
    pub session_touch_after: Duration,
    /// `AMPWISE_REQUEST_TIMEOUT_SECS`: a request that takes longer gets 408.
    pub request_timeout: Duration,
    /// `AMPWISE_LOG_FORMAT`: `text` (default) or `json`. Levels come from `RUST_LOG`.
    pub log_json: bool,
    /// `AMPWISE_DEMO`: create the demo account and site at start-up if missing, and print the login.
    pub demo: bool,
    /// `AMPWISE_PUBLIC_URL`: the address users reach the site at; licence QR codes link to it.
    pub public_url: String,
    /// `AMPWISE_LICENCE_KEY`: hex, at least 32 bytes; signs and verifies licence codes.
    pub licence_key: Option<LicenceKey>,
    /// `AMPWISE_RAW_RETENTION_DAYS`: raw readings are kept this many days (rollups for years).
    pub raw_retention_days: i64,
    /// `AMPWISE_DEMO_DEVICE_FILE`: with the demo, where to write the demo monitor's id and
    /// device token (JSON) for the simulator.
    pub demo_device_file: Option<PathBuf>,
    /// `AMPWISE_CHARGE_AMPS_URL`: Charge Amps' measurement link (`{url}/createtoken`,
    /// `{url}/update`); the simulator's is `http://127.0.0.1:3002/measurement`.
    pub charge_amps_url: Option<String>,
    /// `AMPWISE_PARTNER_TIMEOUT_SECS`: every request to a partner gives up after this long.
    pub partner_timeout: Duration,
    /// `AMPWISE_PARTNER_RETRY_MAX_SECS`: the longest wait between attempts to a failing partner.
    pub partner_retry_max: Duration,
    /// `AMPWISE_MONITOR_SILENT_SECS`: a monitor silent this long is reported offline.
    pub monitor_silent: Duration,
    /// `AMPWISE_INSTANCE`: this process's name in the reporters' lease table (unique per
    /// process; host name and process id by default).
    pub instance: String,
    /// `AMPWISE_PRICE_SOURCE`: `elprisetjustnu` (default), `nordpool`, `entsoe`, `recorded`
    /// (real 2024 days played on today's dates, offline) or `none`.
    pub price_source: PriceSource,
    /// `AMPWISE_PRICE_URL`: the source's address, when not its public one (tests, a mirror).
    pub price_url: Option<String>,
    /// `AMPWISE_ENTSOE_TOKEN`: the ENTSO-E Transparency Platform's security token.
    pub entsoe_token: Option<String>,
    /// `AMPWISE_EUR_SEK`: SEK per EUR for sources in EUR (ENTSO-E, recorded).
    pub eur_sek: Option<f64>,
    /// `AMPWISE_TEST_CLOCK`: adaptive charging's clock can be set with `PUT /api/test/clock`.
    /// For browser tests only; never in production.
    pub test_clock: bool,
}

/// Where spot prices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    ElprisetJustNu,
    NordPool,
    Entsoe,
    Recorded,
    None,
}

/// SEK per EUR when none is configured (the 2024–2026 range is 10.9–11.8).
pub const DEFAULT_EUR_SEK: f64 = 11.5;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &backend::db::redact_url(&self.database_url))
            .field("site_root", &self.site_root)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_days", &self.session_days)
            .field("session_max_days", &self.session_max_days)
            .field("session_touch_after", &self.session_touch_after)
            .field("sign_ups_per_hour", &self.sign_ups_per_hour)
            .field("redeems_per_hour", &self.redeems_per_hour)
            .field(
                "device_requests_per_second",
                &self.device_requests_per_second,
            )
            .field("trusted_proxy_header", &self.trusted_proxy_header)
            .field("streams_per_account", &self.streams_per_account)
            .field("streams_total", &self.streams_total)
            .field("request_timeout", &self.request_timeout)
            .field("log_json", &self.log_json)
            .field("demo", &self.demo)
            .field("public_url", &self.public_url)
            .field("licence_key", &self.licence_key)
            .field("raw_retention_days", &self.raw_retention_days)
            .field("demo_device_file", &self.demo_device_file)
            .field("charge_amps_url", &self.charge_amps_url)
            .field("partner_timeout", &self.partner_timeout)
            .field("partner_retry_max", &self.partner_retry_max)
            .field("monitor_silent", &self.monitor_silent)
            .field("instance", &self.instance)
            .field("price_source", &self.price_source)
            .field("price_url", &self.price_url)
            .field("entsoe_token", &self.entsoe_token.as_ref().map(|_| "***"))
            .field("eur_sek", &self.eur_sek)
            .field("test_clock", &self.test_clock)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: "sqlite://data/ampwise.db".into(),
            site_root: PathBuf::from("target/site"),
            secure_cookies: false,
            session_days: 30,
            session_max_days: 90,
            session_touch_after: Duration::from_secs(3600),
            sign_ups_per_hour: backend::limiter::SIGN_UPS_PER_HOUR,
            redeems_per_hour: backend::limiter::REDEEMS_PER_HOUR,
            device_requests_per_second: backend::limiter::DEVICE_REQUESTS_PER_SECOND,
            trusted_proxy_header: None,
            streams_per_account: 20,
            streams_total: 20_000,
            request_timeout: Duration::from_secs(30),
            log_json: false,
            demo: false,
            public_url: "http://127.0.0.1:3000".into(),
            licence_key: None,
            raw_retention_days: backend::DEFAULT_RAW_RETENTION_DAYS,
            demo_device_file: None,
            charge_amps_url: None,
            partner_timeout: Duration::from_secs(5),
            partner_retry_max: Duration::from_secs(30),
            monitor_silent: Duration::from_secs(30),
            instance: default_instance(),
            price_source: PriceSource::ElprisetJustNu,
            price_url: None,
            entsoe_token: None,
            eur_sek: None,
            test_clock: false,
        }
    }
}

fn default_instance() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!("{host}-{}", std::process::id())
}

#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: {problem}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    problem: &'static str,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Config::default();
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        fn parse<T: std::str::FromStr>(
            name: &'static str,
            value: String,
            problem: &'static str,
        ) -> Result<T, ConfigError> {
            value.trim().parse().map_err(|_| ConfigError {
                name,
                value,
                problem,
            })
        }
        fn flag(name: &'static str, value: String) -> Result<bool, ConfigError> {
            match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError {
                    name,
                    value,
                    problem: "expected true or false",
                }),
            }
        }
        let session_days = match get("AMPWISE_SESSION_DAYS") {
            Some(v) => parse::<i64>(
                "AMPWISE_SESSION_DAYS",
                v.clone(),
                "expected a whole number of days",
            )
            .and_then(|n| {
                if (1..=365).contains(&n) {
                    Ok(n)
                } else {
                    Err(ConfigError {
                        name: "AMPWISE_SESSION_DAYS",
                        value: v,
                        problem: "expected 1 to 365",
                    })
                }
            })?,
            None => d.session_days,
        };
        let session_max_days = match get("AMPWISE_SESSION_MAX_DAYS") {
            Some(v) => parse::<i64>(
                "AMPWISE_SESSION_MAX_DAYS",
                v.clone(),
                "expected a whole number of days",
            )
            .and_then(|n| {
                if (1..=3650).contains(&n) && n >= session_days {
                    Ok(n)
                } else {
                    Err(ConfigError {
                        name: "AMPWISE_SESSION_MAX_DAYS",
                        value: v,
                        problem: "expected 1 to 3650, and at least AMPWISE_SESSION_DAYS",
                    })
                }
            })?,
            None => d.session_max_days.max(session_days),
        };
        let session_touch_after = match get("AMPWISE_SESSION_TOUCH_SECS") {
            Some(v) => Duration::from_secs(parse::<u64>(
                "AMPWISE_SESSION_TOUCH_SECS",
                v,
                "expected a whole number of seconds",
            )?),
            None => d.session_touch_after,
        };
        let positive = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(name) {
                Some(v) => parse::<u32>(name, v.clone(), "expected a whole number").and_then(|n| {
                    if n >= 1 {
                        Ok(n)
                    } else {
                        Err(ConfigError {
                            name,
                            value: v,
                            problem: "expected at least 1",
                        })
                    }
                }),
                None => Ok(default),
            }
        };
        let streams_per_account =
            positive("AMPWISE_STREAMS_PER_ACCOUNT", d.streams_per_account as u32)? as usize;
        let streams_total = positive("AMPWISE_STREAMS_TOTAL", d.streams_total as u32)? as usize;
        let sign_ups_per_hour = positive("AMPWISE_SIGN_UPS_PER_HOUR", d.sign_ups_per_hour)?;
        let redeems_per_hour = positive("AMPWISE_REDEEMS_PER_HOUR", d.redeems_per_hour)?;
        let device_requests_per_second = positive(
            "AMPWISE_DEVICE_REQUESTS_PER_SECOND",
            d.device_requests_per_second,
        )?;
        let trusted_proxy_header = match get("AMPWISE_TRUSTED_PROXY_HEADER") {
            Some(v) => Some(
                axum::http::HeaderName::from_bytes(v.trim().as_bytes())
                    .map_err(|_| ConfigError {
                        name: "AMPWISE_TRUSTED_PROXY_HEADER",
                        value: v.clone(),
                        problem: "expected an HTTP header name",
                    })?
                    .to_string(),
            ),
            None => None,
        };
        let public_url = get("AMPWISE_PUBLIC_URL")
            .map(|v| v.trim().trim_end_matches('/').to_string())
            .unwrap_or(d.public_url);
        let request_timeout = match get("AMPWISE_REQUEST_TIMEOUT_SECS") {
            Some(v) => Duration::from_secs(parse::<u64>(
                "AMPWISE_REQUEST_TIMEOUT_SECS",
                v,
                "expected whole seconds",
            )?),
            None => d.request_timeout,
        };
        let raw_retention_days = match get("AMPWISE_RAW_RETENTION_DAYS") {
            Some(v) => parse::<i64>(
                "AMPWISE_RAW_RETENTION_DAYS",
                v.clone(),
                "expected 1 to 3650",
            )
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or(ConfigError {
                name: "AMPWISE_RAW_RETENTION_DAYS",
                value: v,
                problem: "expected 1 to 3650",
            })?,
            None => d.raw_retention_days,
        };
        let seconds = |name: &'static str,
                       default: Duration,
                       range: std::ops::RangeInclusive<u64>| {
            match get(name) {
                Some(v) => parse::<u64>(name, v.clone(), "expected whole seconds")
                    .ok()
                    .filter(|s| range.contains(s))
                    .map(Duration::from_secs)
                    .ok_or(ConfigError {
                        name,
                        value: v,
                        problem: "expected whole seconds in the allowed range",
                    }),
                None => Ok(default),
            }
        };
        let partner_timeout = seconds("AMPWISE_PARTNER_TIMEOUT_SECS", d.partner_timeout, 1..=120)?;
        let partner_retry_max = seconds(
            "AMPWISE_PARTNER_RETRY_MAX_SECS",
            d.partner_retry_max,
            1..=3600,
        )?;
        let monitor_silent = seconds("AMPWISE_MONITOR_SILENT_SECS", d.monitor_silent, 5..=600)?;
        let charge_amps_url = match get("AMPWISE_CHARGE_AMPS_URL") {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                Some(v.trim().trim_end_matches('/').to_string())
            }
            Some(v) => {
                return Err(ConfigError {
                    name: "AMPWISE_CHARGE_AMPS_URL",
                    value: v,
                    problem: "expected an http:// or https:// URL",
                });
            }
            None => None,
        };
        let price_source = match get("AMPWISE_PRICE_SOURCE").as_deref().map(str::trim) {
            None | Some("elprisetjustnu") => PriceSource::ElprisetJustNu,
            Some("nordpool") => PriceSource::NordPool,
            Some("entsoe") => PriceSource::Entsoe,
            Some("recorded") => PriceSource::Recorded,
            Some("none") => PriceSource::None,
            Some(other) => {
                return Err(ConfigError {
                    name: "AMPWISE_PRICE_SOURCE",
                    value: other.into(),
                    problem: "expected elprisetjustnu, nordpool, entsoe, recorded or none",
                });
            }
        };
        let entsoe_token = get("AMPWISE_ENTSOE_TOKEN");
        if price_source == PriceSource::Entsoe && entsoe_token.is_none() {
            return Err(ConfigError {
                name: "AMPWISE_PRICE_SOURCE",
                value: "entsoe".into(),
                problem: "ENTSO-E needs a security token in AMPWISE_ENTSOE_TOKEN",
            });
        }
        let eur_sek = get("AMPWISE_EUR_SEK")
            .map(|v| {
                parse::<f64>(
                    "AMPWISE_EUR_SEK",
                    v.clone(),
                    "expected SEK per EUR, e.g. 11.5",
                )
                .ok()
                .filter(|r| (1.0..=100.0).contains(r))
                .ok_or(ConfigError {
                    name: "AMPWISE_EUR_SEK",
                    value: v,
                    problem: "expected SEK per EUR, e.g. 11.5",
                })
            })
            .transpose()?;
        let log_json = match get("AMPWISE_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(ConfigError {
                    name: "AMPWISE_LOG_FORMAT",
                    value: other.into(),
                    problem: "expected text or json",
                });
            }
        };
        Ok(Self {
            addr: get("AMPWISE_ADDR")
                .map(|v| parse("AMPWISE_ADDR", v, "expected IP:PORT, e.g. 127.0.0.1:3000"))
                .transpose()?
                .unwrap_or(d.addr),
            database_url: get("AMPWISE_DATABASE_URL").unwrap_or(d.database_url),
            site_root: get("AMPWISE_SITE_ROOT")
                .map(PathBuf::from)
                .unwrap_or(d.site_root),
            secure_cookies: get("AMPWISE_SECURE_COOKIES")
                .map(|v| flag("AMPWISE_SECURE_COOKIES", v))
                .transpose()?
                .unwrap_or(public_url.starts_with("https://")),
            session_days,
            session_max_days,
            session_touch_after,
            sign_ups_per_hour,
            redeems_per_hour,
            device_requests_per_second,
            trusted_proxy_header,
            streams_per_account,
            streams_total,
            request_timeout,
            log_json,
            demo: get("AMPWISE_DEMO")
                .map(|v| flag("AMPWISE_DEMO", v))
                .transpose()?
                .unwrap_or(d.demo),
            public_url,
            licence_key: get("AMPWISE_LICENCE_KEY")
                .map(|v| {
                    LicenceKey::from_hex(&v).map_err(|problem| ConfigError {
                        name: "AMPWISE_LICENCE_KEY",
                        value: "***".into(),
                        problem,
                    })
                })
                .transpose()?,
            raw_retention_days,
            demo_device_file: get("AMPWISE_DEMO_DEVICE_FILE").map(PathBuf::from),
            charge_amps_url,
            partner_timeout,
            partner_retry_max,
            monitor_silent,
            instance: get("AMPWISE_INSTANCE").unwrap_or(d.instance),
            price_source,
            price_url: get("AMPWISE_PRICE_URL").map(|v| v.trim().trim_end_matches('/').to_string()),
            entsoe_token,
            eur_sek,
            test_clock: get("AMPWISE_TEST_CLOCK")
                .map(|v| flag("AMPWISE_TEST_CLOCK", v))
                .transpose()?
                .unwrap_or(d.test_clock),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://data/ampwise.db");
        assert!(!c.secure_cookies && !c.demo && !c.log_json);
    }

    #[test]
    fn values_are_read() {
        let c = config(&[
            ("AMPWISE_ADDR", "0.0.0.0:8080"),
            ("AMPWISE_DATABASE_URL", "sqlite:///tmp/x.db"),
            ("AMPWISE_SECURE_COOKIES", "true"),
            ("AMPWISE_SESSION_DAYS", "7"),
            ("AMPWISE_LOG_FORMAT", "json"),
            ("AMPWISE_DEMO", "1"),
        ])
        .unwrap();
        assert_eq!(c.addr.port(), 8080);
        assert_eq!(c.database_url, "sqlite:///tmp/x.db");
        assert!(c.secure_cookies && c.log_json && c.demo);
        assert_eq!(c.session_days, 7);
    }

    #[test]
    fn cookies_are_secure_by_default_behind_https() {
        let read = |pairs: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(|name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap()
        };
        assert!(read(&[("AMPWISE_PUBLIC_URL", "https://app.ampwise.se")]).secure_cookies);
        assert!(!read(&[("AMPWISE_PUBLIC_URL", "http://127.0.0.1:3000")]).secure_cookies);
        assert!(
            !read(&[
                ("AMPWISE_PUBLIC_URL", "https://app.ampwise.se"),
                ("AMPWISE_SECURE_COOKIES", "false")
            ])
            .secure_cookies
        );
    }

    #[rstest]
    #[case::addr_without_port("AMPWISE_ADDR", "127.0.0.1")]
    #[case::flag_word("AMPWISE_SECURE_COOKIES", "maybe")]
    #[case::days_zero("AMPWISE_SESSION_DAYS", "0")]
    #[case::days_word("AMPWISE_SESSION_DAYS", "week")]
    #[case::timeout_negative("AMPWISE_REQUEST_TIMEOUT_SECS", "-1")]
    #[case::log_format("AMPWISE_LOG_FORMAT", "xml")]
    #[case::licence_key_short("AMPWISE_LICENCE_KEY", "abcd")]
    #[case::retention_zero("AMPWISE_RAW_RETENTION_DAYS", "0")]
    #[case::retention_words("AMPWISE_RAW_RETENTION_DAYS", "a week")]
    #[case::charge_amps_not_a_url("AMPWISE_CHARGE_AMPS_URL", "chargeamps.example/measurement")]
    #[case::partner_timeout_zero("AMPWISE_PARTNER_TIMEOUT_SECS", "0")]
    #[case::silent_too_short("AMPWISE_MONITOR_SILENT_SECS", "1")]
    #[case::retry_words("AMPWISE_PARTNER_RETRY_MAX_SECS", "soon")]
    #[case::price_source("AMPWISE_PRICE_SOURCE", "tibber")]
    #[case::entsoe_without_token("AMPWISE_PRICE_SOURCE", "entsoe")]
    #[case::rate_words("AMPWISE_EUR_SEK", "eleven")]
    #[case::sign_ups_zero("AMPWISE_SIGN_UPS_PER_HOUR", "0")]
    #[case::redeems_words("AMPWISE_REDEEMS_PER_HOUR", "many")]
    #[case::device_requests_zero("AMPWISE_DEVICE_REQUESTS_PER_SECOND", "0")]
    #[case::proxy_header_not_a_name("AMPWISE_TRUSTED_PROXY_HEADER", "X Forwarded For")]
    #[case::session_cap_below_idle("AMPWISE_SESSION_MAX_DAYS", "7")]
    fn bad_values_name_the_variable(#[case] name: &str, #[case] value: &str) {
        let err = config(&[(name, value)]).unwrap_err().to_string();
        assert!(err.starts_with(name), "{err}");
    }

    #[test]
    fn forwarding_settings_are_read() {
        let c = config(&[
            (
                "AMPWISE_CHARGE_AMPS_URL",
                "http://127.0.0.1:3002/measurement/",
            ),
            ("AMPWISE_PARTNER_TIMEOUT_SECS", "2"),
            ("AMPWISE_MONITOR_SILENT_SECS", "20"),
            ("AMPWISE_INSTANCE", "web-1"),
        ])
        .unwrap();
        assert_eq!(
            c.charge_amps_url.as_deref(),
            Some("http://127.0.0.1:3002/measurement")
        );
        assert_eq!(c.partner_timeout, Duration::from_secs(2));
        assert_eq!(c.monitor_silent, Duration::from_secs(20));
        assert_eq!(c.instance, "web-1");
    }

    #[test]
    fn debug_hides_database_password() {
        let c = config(&[("AMPWISE_DATABASE_URL", "postgres://amp:s3cret@db/amp")]).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("***"),
            "{shown}"
        );
    }

    #[test]
    fn licence_key_is_read_and_never_shown() {
        let hex = "c0ffee".repeat(11);
        let c = config(&[("AMPWISE_LICENCE_KEY", &hex)]).unwrap();
        assert!(c.licence_key.is_some());
        assert!(!format!("{c:?}").contains("c0ffee"));
        let err = config(&[("AMPWISE_LICENCE_KEY", "c0ffee")])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("c0ffee"), "{err}");
    }
}
