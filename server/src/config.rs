//! The server's settings: environment variables first, defaults in code. `ampwise.env.example`
//! at the repository root lists every variable with a comment.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use backend::licences::LicenceKey;
use backend::reporters::partner::PartnerAllow;

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
    /// `AMPWISE_HEADER_TIMEOUT_SECS`: a connection that has not sent a whole request head
    /// within this long (a new one, or a kept-alive one between requests) is closed.
    pub header_timeout: Duration,
    /// `AMPWISE_MAX_CONNECTIONS`: connections served at once; unset, as many as the process's
    /// file descriptors allow less a reserve (see `server::listen`).
    pub max_connections: Option<usize>,
    /// `AMPWISE_CONNECTIONS_PER_ADDRESS`: connections one client address may hold at once
    /// (not counted behind a trusted proxy, whose address every client shares).
    pub connections_per_address: usize,
    /// `AMPWISE_METRICS_ALLOW`: addresses and networks that may read `/metrics` (loopback by
    /// default).
    pub metrics_allow: Vec<AddressRange>,
    /// `AMPWISE_METRICS_TOKEN`: a bearer token that opens `/metrics` from anywhere.
    pub metrics_token: Option<String>,
    /// `AMPWISE_LOG_FORMAT`: `text` (default) or `json`. Levels come from `RUST_LOG`.
    pub log_json: bool,
    /// `AMPWISE_DEMO`: create the demo account and site at start-up if missing, and print the login.
    pub demo: bool,
    /// `AMPWISE_PUBLIC_URL`: the address users reach the site at; licence QR codes link to it.
    pub public_url: String,
    /// `AMPWISE_LICENCE_KEY`: hex, at least 32 bytes; signs and verifies licence codes.
    pub licence_key: Option<LicenceKey>,
    /// `AMPWISE_SECRETS_KEY`: 64 hex digits; seals reporter PINs and partner passwords in the
    /// database. The server does not start without it.
    pub secrets_key: Option<backend::secrets::Secrets>,
    /// `AMPWISE_RAW_RETENTION_DAYS`: raw readings are kept this many days (rollups for years).
    pub raw_retention_days: i64,
    /// `AMPWISE_DEMO_DEVICE_FILE`: with the demo, where to write the demo monitor's id and
    /// device token (JSON) for the simulator.
    pub demo_device_file: Option<PathBuf>,
    /// `AMPWISE_CHARGE_AMPS_URL`: Charge Amps' measurement link (`{url}/createtoken`,
    /// `{url}/update`); the simulator's is `http://127.0.0.1:3002/measurement`.
    pub charge_amps_url: Option<String>,
    /// `AMPWISE_PARTNER_ALLOW`: `host:port`s an Open Reporter URL may name although they are
    /// private or plain http (a simulator, a test's partner). Nothing else that is not a public
    /// https address is ever sent to.
    pub partner_allow: PartnerAllow,
    /// `AMPWISE_PARTNER_TIMEOUT_SECS`: every request to a partner gives up after this long.
    pub partner_timeout: Duration,
    /// `AMPWISE_PARTNER_RETRY_MAX_SECS`: the longest wait between attempts to a failing partner.
    pub partner_retry_max: Duration,
    /// `AMPWISE_MONITOR_SILENT_SECS`: a monitor silent this long is reported offline.
    pub monitor_silent: Duration,
    /// `AMPWISE_REPORTERS_PER_SITE`: reporters one site may have.
    pub reporters_per_site: usize,
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
            .field("header_timeout", &self.header_timeout)
            .field("max_connections", &self.max_connections)
            .field("connections_per_address", &self.connections_per_address)
            .field("metrics_allow", &self.metrics_allow)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("log_json", &self.log_json)
            .field("demo", &self.demo)
            .field("public_url", &self.public_url)
            .field("licence_key", &self.licence_key)
            .field("secrets_key", &self.secrets_key)
            .field("raw_retention_days", &self.raw_retention_days)
            .field("demo_device_file", &self.demo_device_file)
            .field("charge_amps_url", &self.charge_amps_url)
            .field("partner_allow", &self.partner_allow)
            .field("reporters_per_site", &self.reporters_per_site)
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
            header_timeout: Duration::from_secs(10),
            max_connections: None,
            connections_per_address: 256,
            metrics_allow: vec![
                AddressRange::parse("127.0.0.0/8").expect("a network"),
                AddressRange::parse("::1").expect("an address"),
            ],
            metrics_token: None,
            log_json: false,
            demo: false,
            public_url: "http://127.0.0.1:3000".into(),
            licence_key: None,
            secrets_key: None,
            raw_retention_days: backend::DEFAULT_RAW_RETENTION_DAYS,
            demo_device_file: None,
            charge_amps_url: None,
            partner_allow: PartnerAllow::default(),
            reporters_per_site: 10,
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
    problem: String,
}

impl ConfigError {
    fn new(name: &'static str, value: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            name,
            value: value.into(),
            problem: problem.into(),
        }
    }
}

/// A whole-number setting and the values it may take: start-up stops on anything else, with
/// a message naming the variable, the value and the range (a value out of range must never
/// reach code that divides by it or builds a rate limit from it).
#[derive(Debug, Clone, Copy)]
pub struct Number {
    pub name: &'static str,
    pub min: u64,
    pub max: u64,
    pub unit: &'static str,
}

const fn number(name: &'static str, min: u64, max: u64, unit: &'static str) -> Number {
    Number {
        name,
        min,
        max,
        unit,
    }
}

/// Every whole-number setting with its range.
pub const NUMBERS: &[Number] = &[
    number("AMPWISE_SESSION_DAYS", 1, 365, "days"),
    number("AMPWISE_SESSION_MAX_DAYS", 1, 3650, "days"),
    number("AMPWISE_SESSION_TOUCH_SECS", 0, 86_400, "seconds"),
    number("AMPWISE_SIGN_UPS_PER_HOUR", 1, 1_000_000_000, "sign-ups"),
    number("AMPWISE_REDEEMS_PER_HOUR", 1, 1_000_000_000, "redemptions"),
    // Above a million a second the limiter's period would round to nothing.
    number(
        "AMPWISE_DEVICE_REQUESTS_PER_SECOND",
        1,
        1_000_000,
        "requests",
    ),
    number("AMPWISE_STREAMS_PER_ACCOUNT", 1, 1_000_000, "streams"),
    number("AMPWISE_STREAMS_TOTAL", 1, 1_000_000, "streams"),
    number("AMPWISE_REQUEST_TIMEOUT_SECS", 1, 3600, "seconds"),
    number("AMPWISE_RAW_RETENTION_DAYS", 1, 3650, "days"),
    number("AMPWISE_PARTNER_TIMEOUT_SECS", 1, 120, "seconds"),
    number("AMPWISE_PARTNER_RETRY_MAX_SECS", 1, 3600, "seconds"),
    number("AMPWISE_MONITOR_SILENT_SECS", 5, 600, "seconds"),
    number("AMPWISE_HEADER_TIMEOUT_SECS", 1, 10, "seconds"),
    number("AMPWISE_MAX_CONNECTIONS", 16, 1_000_000, "connections"),
    number(
        "AMPWISE_CONNECTIONS_PER_ADDRESS",
        1,
        1_000_000,
        "connections",
    ),
    number("AMPWISE_REPORTERS_PER_SITE", 1, 1000, "reporters"),
];

/// `AMPWISE_EUR_SEK`'s range: the one setting with decimals.
pub const EUR_SEK_RANGE: std::ops::RangeInclusive<f64> = 1.0..=100.0;

/// An address or a network (`10.0.0.0/8`, `::1`) from a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    pub network: IpAddr,
    pub prefix: u8,
}

impl AddressRange {
    pub fn parse(text: &str) -> Option<Self> {
        let (ip, prefix) = match text.trim().split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = ip.parse().ok()?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= bits)?,
            None => bits,
        };
        Some(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let masked = |bits: u128, width: u32| {
            let shift = width - u32::from(self.prefix);
            if shift >= 128 { 0 } else { bits >> shift }
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                masked(u128::from(u32::from(n)), 32) == masked(u128::from(u32::from(i)), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                masked(u128::from(n), 128) == masked(u128::from(i), 128)
            }
            _ => false,
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Config::default();
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        // A whole-number setting within its range (from `NUMBERS`), or `default`.
        let whole = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            let Some(value) = get(name) else {
                return Ok(default);
            };
            let range = NUMBERS
                .iter()
                .find(|n| n.name == name)
                .expect("every whole-number setting is in NUMBERS");
            value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (range.min..=range.max).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(
                        name,
                        value.clone(),
                        format!(
                            "expected a whole number of {} from {} to {}",
                            range.unit, range.min, range.max
                        ),
                    )
                })
        };
        let secs =
            |name, default: Duration| whole(name, default.as_secs()).map(Duration::from_secs);
        let small = |name, default: u32| whole(name, u64::from(default)).map(|n| n as u32);
        let count = |name, default: usize| whole(name, default as u64).map(|n| n as usize);
        fn flag(name: &'static str, value: String) -> Result<bool, ConfigError> {
            match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::new(name, value, "expected true or false")),
            }
        }
        let session_days = whole("AMPWISE_SESSION_DAYS", d.session_days as u64)? as i64;
        let session_max_days = match get("AMPWISE_SESSION_MAX_DAYS") {
            Some(v) => {
                let days = whole("AMPWISE_SESSION_MAX_DAYS", 0)? as i64;
                if days < session_days {
                    return Err(ConfigError::new(
                        "AMPWISE_SESSION_MAX_DAYS",
                        v,
                        "expected at least AMPWISE_SESSION_DAYS",
                    ));
                }
                days
            }
            None => d.session_max_days.max(session_days),
        };
        let trusted_proxy_header = match get("AMPWISE_TRUSTED_PROXY_HEADER") {
            Some(v) => Some(
                axum::http::HeaderName::from_bytes(v.trim().as_bytes())
                    .map_err(|_| {
                        ConfigError::new(
                            "AMPWISE_TRUSTED_PROXY_HEADER",
                            v.clone(),
                            "expected an HTTP header name",
                        )
                    })?
                    .to_string(),
            ),
            None => None,
        };
        let public_url = get("AMPWISE_PUBLIC_URL")
            .map(|v| v.trim().trim_end_matches('/').to_string())
            .unwrap_or(d.public_url);
        let charge_amps_url = match get("AMPWISE_CHARGE_AMPS_URL") {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                Some(v.trim().trim_end_matches('/').to_string())
            }
            Some(v) => {
                return Err(ConfigError::new(
                    "AMPWISE_CHARGE_AMPS_URL",
                    v,
                    "expected an http:// or https:// URL",
                ));
            }
            None => None,
        };
        let partner_allow = match get("AMPWISE_PARTNER_ALLOW") {
            Some(v) => PartnerAllow::parse(&v).map_err(|why| {
                ConfigError::new(
                    "AMPWISE_PARTNER_ALLOW",
                    v.clone(),
                    format!("expected host:port entries separated by commas: {why}"),
                )
            })?,
            None => PartnerAllow::default(),
        };
        let price_source = match get("AMPWISE_PRICE_SOURCE").as_deref().map(str::trim) {
            None | Some("elprisetjustnu") => PriceSource::ElprisetJustNu,
            Some("nordpool") => PriceSource::NordPool,
            Some("entsoe") => PriceSource::Entsoe,
            Some("recorded") => PriceSource::Recorded,
            Some("none") => PriceSource::None,
            Some(other) => {
                return Err(ConfigError::new(
                    "AMPWISE_PRICE_SOURCE",
                    other,
                    "expected elprisetjustnu, nordpool, entsoe, recorded or none",
                ));
            }
        };
        let entsoe_token = get("AMPWISE_ENTSOE_TOKEN");
        if price_source == PriceSource::Entsoe && entsoe_token.is_none() {
            return Err(ConfigError::new(
                "AMPWISE_PRICE_SOURCE",
                "entsoe",
                "ENTSO-E needs a security token in AMPWISE_ENTSOE_TOKEN",
            ));
        }
        let eur_sek = get("AMPWISE_EUR_SEK")
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| EUR_SEK_RANGE.contains(r))
                    .ok_or_else(|| {
                        ConfigError::new(
                            "AMPWISE_EUR_SEK",
                            v.clone(),
                            format!(
                                "expected SEK per EUR from {} to {}, e.g. 11.5",
                                EUR_SEK_RANGE.start(),
                                EUR_SEK_RANGE.end()
                            ),
                        )
                    })
            })
            .transpose()?;
        let log_json = match get("AMPWISE_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(ConfigError::new(
                    "AMPWISE_LOG_FORMAT",
                    other,
                    "expected text or json",
                ));
            }
        };
        let metrics_allow = match get("AMPWISE_METRICS_ALLOW") {
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(|e| {
                    AddressRange::parse(e).ok_or_else(|| {
                        ConfigError::new(
                            "AMPWISE_METRICS_ALLOW",
                            v.clone(),
                            format!("{e:?} is not an address or network (127.0.0.1, 10.0.0.0/8)"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => d.metrics_allow,
        };
        let metrics_token = match get("AMPWISE_METRICS_TOKEN") {
            Some(v) if v.trim().len() >= 16 => Some(v.trim().to_string()),
            Some(_) => {
                return Err(ConfigError::new(
                    "AMPWISE_METRICS_TOKEN",
                    "***",
                    "expected at least 16 characters",
                ));
            }
            None => None,
        };
        let max_connections = match get("AMPWISE_MAX_CONNECTIONS") {
            Some(_) => Some(count("AMPWISE_MAX_CONNECTIONS", 0)?),
            None => None,
        };
        Ok(Self {
            addr: get("AMPWISE_ADDR")
                .map(|v| {
                    v.trim().parse().map_err(|_| {
                        ConfigError::new(
                            "AMPWISE_ADDR",
                            v.clone(),
                            "expected IP:PORT, e.g. 127.0.0.1:3000",
                        )
                    })
                })
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
            session_touch_after: secs("AMPWISE_SESSION_TOUCH_SECS", d.session_touch_after)?,
            sign_ups_per_hour: small("AMPWISE_SIGN_UPS_PER_HOUR", d.sign_ups_per_hour)?,
            redeems_per_hour: small("AMPWISE_REDEEMS_PER_HOUR", d.redeems_per_hour)?,
            device_requests_per_second: small(
                "AMPWISE_DEVICE_REQUESTS_PER_SECOND",
                d.device_requests_per_second,
            )?,
            trusted_proxy_header,
            streams_per_account: count("AMPWISE_STREAMS_PER_ACCOUNT", d.streams_per_account)?,
            streams_total: count("AMPWISE_STREAMS_TOTAL", d.streams_total)?,
            request_timeout: secs("AMPWISE_REQUEST_TIMEOUT_SECS", d.request_timeout)?,
            header_timeout: secs("AMPWISE_HEADER_TIMEOUT_SECS", d.header_timeout)?,
            max_connections,
            connections_per_address: count(
                "AMPWISE_CONNECTIONS_PER_ADDRESS",
                d.connections_per_address,
            )?,
            metrics_allow,
            metrics_token,
            log_json,
            demo: get("AMPWISE_DEMO")
                .map(|v| flag("AMPWISE_DEMO", v))
                .transpose()?
                .unwrap_or(d.demo),
            public_url,
            licence_key: get("AMPWISE_LICENCE_KEY")
                .map(|v| {
                    LicenceKey::from_hex(&v)
                        .map_err(|problem| ConfigError::new("AMPWISE_LICENCE_KEY", "***", problem))
                })
                .transpose()?,
            secrets_key: get("AMPWISE_SECRETS_KEY")
                .map(|v| {
                    backend::secrets::Secrets::from_hex(&v)
                        .map_err(|problem| ConfigError::new("AMPWISE_SECRETS_KEY", "***", problem))
                })
                .transpose()?,
            raw_retention_days: whole("AMPWISE_RAW_RETENTION_DAYS", d.raw_retention_days as u64)?
                as i64,
            demo_device_file: get("AMPWISE_DEMO_DEVICE_FILE").map(PathBuf::from),
            charge_amps_url,
            partner_allow,
            partner_timeout: secs("AMPWISE_PARTNER_TIMEOUT_SECS", d.partner_timeout)?,
            partner_retry_max: secs("AMPWISE_PARTNER_RETRY_MAX_SECS", d.partner_retry_max)?,
            monitor_silent: secs("AMPWISE_MONITOR_SILENT_SECS", d.monitor_silent)?,
            reporters_per_site: count("AMPWISE_REPORTERS_PER_SITE", d.reporters_per_site)?,
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
    #[case::partner_allow_without_port("AMPWISE_PARTNER_ALLOW", "127.0.0.1")]
    #[case::partner_allow_url("AMPWISE_PARTNER_ALLOW", "http://127.0.0.1:3002/")]
    #[case::metrics_allow_words("AMPWISE_METRICS_ALLOW", "localhost")]
    #[case::metrics_allow_prefix("AMPWISE_METRICS_ALLOW", "10.0.0.0/33")]
    #[case::metrics_token_short("AMPWISE_METRICS_TOKEN", "abc")]
    #[case::secrets_key_short("AMPWISE_SECRETS_KEY", "abcd")]
    fn bad_values_name_the_variable(#[case] name: &str, #[case] value: &str) {
        let err = config(&[(name, value)]).unwrap_err().to_string();
        assert!(err.starts_with(name), "{err}");
    }

    /// Every whole-number setting with the values that broke start-up before (a bench's
    /// `AMPWISE_DEVICE_REQUESTS_PER_SECOND=100000000` panicked: "periods are positive"): each is
    /// taken within its range, and anything else stops start-up with the variable, the value
    /// and the range in the message.
    #[test]
    fn every_number_is_checked_against_its_range() {
        let max = u64::MAX.to_string();
        for n in NUMBERS {
            let top = n.max.to_string();
            let cases: [(&str, &str, bool); 6] = [
                ("zero", "0", n.min == 0),
                ("one", "1", n.min <= 1),
                ("its maximum", &top, true),
                ("u64::MAX", &max, false),
                ("negative", "-1", false),
                ("text", "many", false),
            ];
            for (case, value, ok) in cases {
                // The cap on sessions must not be below the idle limit's default (30 days).
                let extra =
                    (n.name == "AMPWISE_SESSION_MAX_DAYS").then_some(("AMPWISE_SESSION_DAYS", "1"));
                let mut vars = vec![(n.name, value)];
                vars.extend(extra);
                match (config(&vars), ok) {
                    (Ok(_), true) => {}
                    (Err(e), false) => {
                        let e = e.to_string();
                        let range = format!("from {} to {}", n.min, n.max);
                        assert!(
                            e.starts_with(n.name) && e.contains(value) && e.contains(&range),
                            "{}={value} ({case}): {e}",
                            n.name
                        );
                    }
                    (Ok(_), false) => panic!("{}={value} ({case}) was taken", n.name),
                    (Err(e), true) => panic!("{}={value} ({case}) was refused: {e}", n.name),
                }
            }
        }
    }

    #[rstest]
    #[case::zero("0", false)]
    #[case::one("1", true)]
    #[case::its_maximum("100", true)]
    #[case::u64_max("18446744073709551615", false)]
    #[case::negative("-1", false)]
    #[case::text("eleven", false)]
    #[case::not_a_number("NaN", false)]
    fn the_exchange_rate_is_checked_against_its_range(#[case] value: &str, #[case] ok: bool) {
        let got = config(&[("AMPWISE_EUR_SEK", value)]);
        assert_eq!(got.is_ok(), ok, "{value}: {:?}", got.err());
        if let Err(e) = got {
            assert!(e.to_string().contains("from 1 to 100"), "{e}");
        }
    }

    #[rstest]
    #[case::loopback_default("", "127.0.0.1", true)]
    #[case::loopback_v6_default("", "::1", true)]
    #[case::other_by_default("", "192.0.2.7", false)]
    #[case::network("10.0.0.0/8", "10.20.30.40", true)]
    #[case::outside_network("10.0.0.0/8", "11.0.0.1", false)]
    #[case::single("192.0.2.7", "192.0.2.7", true)]
    #[case::mapped_v4("192.0.2.0/24", "::ffff:192.0.2.9", true)]
    #[case::v6_network("2001:db8::/32", "2001:db8::9", true)]
    fn metrics_addresses_are_ranges(#[case] allow: &str, #[case] ip: &str, #[case] ok: bool) {
        let c = if allow.is_empty() {
            config(&[]).unwrap()
        } else {
            config(&[("AMPWISE_METRICS_ALLOW", allow)]).unwrap()
        };
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(c.metrics_allow.iter().any(|r| r.contains(ip)), ok);
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
