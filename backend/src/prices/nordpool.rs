//! The Nord Pool data portal's JSON: `DayAheadPriceIndices` (`multiIndexEntries`, one area per
//! index) and `DayAheadPrices` (`multiAreaEntries`), each entry `deliveryStart`, `deliveryEnd`
//! (UTC) and `entryPerArea` in the requested currency per MWh. No content (204) until published.

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use model::PriceArea;
use model::charging::PriceSlot;
use serde::Deserialize;

use super::{Day, Source, SourceError, Unit};

pub struct NordPool {
    pub http: reqwest::Client,
    /// `https://dataportal-api.nordpoolgroup.com` in production.
    pub base_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    currency: Option<String>,
    #[serde(default)]
    multi_index_entries: Vec<Entry>,
    #[serde(default)]
    multi_area_entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    delivery_start: String,
    delivery_end: String,
    entry_per_area: std::collections::HashMap<String, f64>,
}

/// Parses an answer for `area`; `currency` is what was asked for when the answer does not say.
pub fn parse(body: &[u8], area: PriceArea, currency: &str) -> Result<Day, SourceError> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| SourceError::Garbage(e.to_string()))?;
    let unit = match answer.currency.as_deref().unwrap_or(currency) {
        "SEK" => Unit::SekPerMwh,
        "EUR" => Unit::EurPerMwh,
        other => return Err(SourceError::Garbage(format!("currency {other:?}"))),
    };
    let time = |t: &str| {
        t.parse::<Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|e| SourceError::Garbage(format!("{t:?}: {e}")))
    };
    let mut slots = Vec::new();
    for e in answer
        .multi_index_entries
        .iter()
        .chain(&answer.multi_area_entries)
    {
        let price = e
            .entry_per_area
            .get(area.as_str())
            .copied()
            .ok_or_else(|| SourceError::Garbage(format!("no {} price", area.as_str())))?;
        slots.push(PriceSlot {
            start_ms: time(&e.delivery_start)?,
            end_ms: time(&e.delivery_end)?,
            price,
        });
    }
    Ok(Day { unit, slots })
}

#[async_trait]
impl Source for NordPool {
    fn name(&self) -> &'static str {
        "Nord Pool"
    }

    async fn day(&self, area: PriceArea, date: Date) -> Result<Option<Day>, SourceError> {
        let url = format!(
            "{}/api/DayAheadPriceIndices?date={date}&market=DayAhead&indexNames={}&currency=SEK&resolutionInMinutes=15",
            self.base_url.trim_end_matches('/'),
            area.as_str()
        );
        match super::get(&self.http, &url).await? {
            Some(body) => parse(&body, area, "SEK").map(Some),
            None => Ok(None),
        }
    }
}
