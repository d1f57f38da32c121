//! Recorded prices for the offline demo: four real weeks of SE1–SE4 (`backend/data`), played
//! again on the requested dates weekday for weekday, and "published" like the real market: a day
//! from 13:00 CET the day before (by the adaptive-charging clock, so a test can move it).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::ToSpan;
use jiff::civil::Date;
use model::PriceArea;
use model::charging::PriceSlot;

use super::{Day, Source, SourceError, Unit};
use crate::clock::Clock;

const WEEKS: &str = include_str!("../../data/prices-2024-01-08-four-weeks.csv");
/// The first recorded day: a Monday.
const FIRST: Date = jiff::civil::date(2024, 1, 8);
const DAYS: i64 = 28;
/// Tomorrow's prices appear at this local time (minutes after midnight, CET).
pub const PUBLISHED_AT_MINUTE: u16 = 13 * 60;

pub struct Recorded {
    pub clock: Arc<dyn Clock>,
}

/// The recorded area's 24 hourly prices of recorded day `index` (0..28), EUR/MWh.
fn recorded_day(area: PriceArea, index: i64) -> Vec<f64> {
    let column = match area {
        PriceArea::SE1 => 1,
        PriceArea::SE2 => 2,
        PriceArea::SE3 => 3,
        PriceArea::SE4 => 4,
    };
    WEEKS
        .lines()
        .skip(1 + (index * 24) as usize)
        .take(24)
        .filter_map(|l| l.split(',').nth(column)?.parse().ok())
        .collect()
}

/// The day's prices: the recorded day of the same weekday, hour by hour in local time (on a
/// 23- or 25-hour day the last hour is dropped or repeated).
pub fn replay(area: PriceArea, date: Date) -> Vec<PriceSlot> {
    let since = (date - FIRST).get_days() as i64;
    let hours = recorded_day(area, since.rem_euclid(DAYS));
    let (start, end) = super::day_span(date);
    let mut slots = Vec::new();
    let mut t = start;
    let mut k = 0;
    while t < end {
        let price = hours
            .get(k.min(hours.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0);
        slots.push(PriceSlot {
            start_ms: t,
            end_ms: t + 3_600_000,
            price,
        });
        t += 3_600_000;
        k += 1;
    }
    slots
}

#[async_trait]
impl Source for Recorded {
    fn name(&self) -> &'static str {
        "recorded (2024, offline demo)"
    }

    async fn day(&self, area: PriceArea, date: Date) -> Result<Option<Day>, SourceError> {
        let tz = super::market_tz();
        let eve = date
            .checked_sub(1.day())
            .map_err(|e| SourceError::Garbage(e.to_string()))?;
        let published =
            crate::schedule::local_ms(&tz, eve, PUBLISHED_AT_MINUTE).unwrap_or(i64::MAX);
        if self.clock.now_ms() < published {
            return Ok(None);
        }
        Ok(Some(Day {
            unit: Unit::EurPerMwh,
            slots: replay(area, date),
        }))
    }
}
