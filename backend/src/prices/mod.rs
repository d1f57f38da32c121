//! Day-ahead spot prices: sources behind one trait ([`Source`]: elprisetjustnu, the Nord Pool
//! data portal, ENTSO-E, and recorded days for the offline demo), stored per area and slot in
//! SEK per kWh excluding VAT, fetched around the daily publication (about 13:00 CET for the next
//! day), kept for history.

pub mod elprisetjustnu;
pub mod entsoe;
pub mod nordpool;
pub mod recorded;

use async_trait::async_trait;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use model::PriceArea;
use model::charging::PriceSlot;

/// The market's day: deliveries are traded per day in Central European time.
pub fn market_tz() -> TimeZone {
    TimeZone::get("Europe/Stockholm").unwrap_or(TimeZone::UTC)
}

/// Why a source gave no prices.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("could not reach the price source: {0}")]
    Unreachable(String),
    #[error("the price source answered {0}")]
    Status(u16),
    #[error("the price source's answer is not what it documents: {0}")]
    Garbage(String),
}

/// Prices as a source gives them: per kWh in SEK, or per MWh in EUR (converted on storing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    SekPerKwh,
    SekPerMwh,
    EurPerMwh,
}

impl Unit {
    /// SEK per kWh at `eur_sek` SEK per EUR.
    pub fn to_sek_per_kwh(self, price: f64, eur_sek: f64) -> f64 {
        match self {
            Unit::SekPerKwh => price,
            Unit::SekPerMwh => price / 1000.0,
            Unit::EurPerMwh => price * eur_sek / 1000.0,
        }
    }
}

/// One delivery day's prices for an area.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub unit: Unit,
    pub slots: Vec<PriceSlot>,
}

#[async_trait]
pub trait Source: Send + Sync {
    fn name(&self) -> &'static str;
    /// The area's prices for the delivery `date` (a market day); `Ok(None)` while they are not
    /// published.
    async fn day(&self, area: PriceArea, date: Date) -> Result<Option<Day>, SourceError>;
}

/// Maps a reqwest failure to a [`SourceError`].
pub(crate) fn unreachable(e: reqwest::Error) -> SourceError {
    SourceError::Unreachable(if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "the connection failed".into()
    })
}

/// GETs `url`: the body, `None` for 404 (and 204: not published yet), an error otherwise.
pub(crate) async fn get(
    http: &reqwest::Client,
    url: &str,
) -> Result<Option<bytes::Bytes>, SourceError> {
    let response = http.get(url).send().await.map_err(unreachable)?;
    match response.status().as_u16() {
        200 => Ok(Some(response.bytes().await.map_err(unreachable)?)),
        204 | 404 => Ok(None),
        code => Err(SourceError::Status(code)),
    }
}

/// The HTTP client every source shares: a timeout on every request.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .user_agent(concat!("Ampwise/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with these settings always builds")
}

/// The ms UTC span of a market day.
pub fn day_span(date: Date) -> (i64, i64) {
    let tz = market_tz();
    let start = crate::schedule::local_ms(&tz, date, 0).unwrap_or_default();
    let end = date
        .tomorrow()
        .ok()
        .and_then(|d| crate::schedule::local_ms(&tz, d, 0))
        .unwrap_or(start + 86_400_000);
    (start, end)
}
