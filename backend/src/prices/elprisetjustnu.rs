//! elprisetjustnu.se: free, no key. `GET /api/v1/prices/YYYY/MM-DD_SE3.json` answers a list of
//! `{"SEK_per_kWh", "EUR_per_kWh", "EXR", "time_start", "time_end"}` (RFC 3339 with offset,
//! 15-minute slots since 1 October 2025, hourly before); 404 until the day is published.

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use model::PriceArea;
use model::charging::PriceSlot;
use serde::Deserialize;

use super::{Day, Source, SourceError, Unit};

pub struct ElprisetJustNu {
    pub http: reqwest::Client,
    /// `https://www.elprisetjustnu.se` in production.
    pub base_url: String,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "SEK_per_kWh")]
    sek_per_kwh: f64,
    time_start: String,
    time_end: String,
}

/// Parses an answer of the API.
pub fn parse(body: &[u8]) -> Result<Day, SourceError> {
    let entries: Vec<Entry> =
        serde_json::from_slice(body).map_err(|e| SourceError::Garbage(e.to_string()))?;
    let time = |t: &str| {
        t.parse::<Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|e| SourceError::Garbage(format!("{t:?}: {e}")))
    };
    let slots = entries
        .iter()
        .map(|e| {
            Ok(PriceSlot {
                start_ms: time(&e.time_start)?,
                end_ms: time(&e.time_end)?,
                price: e.sek_per_kwh,
            })
        })
        .collect::<Result<Vec<_>, SourceError>>()?;
    Ok(Day {
        unit: Unit::SekPerKwh,
        slots,
    })
}

#[async_trait]
impl Source for ElprisetJustNu {
    fn name(&self) -> &'static str {
        "elprisetjustnu.se"
    }

    async fn day(&self, area: PriceArea, date: Date) -> Result<Option<Day>, SourceError> {
        let url = format!(
            "{}/api/v1/prices/{}/{}_{}.json",
            self.base_url.trim_end_matches('/'),
            date.year(),
            date.strftime("%m-%d"),
            area.as_str()
        );
        match super::get(&self.http, &url).await? {
            Some(body) => parse(&body).map(Some),
            None => Ok(None),
        }
    }
}
