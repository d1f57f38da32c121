//! The ENTSO-E Transparency Platform, document A44 (day-ahead prices): XML with one or more
//! `TimeSeries`, each `Period` a `timeInterval` start, a `resolution` (PT15M or PT60M) and
//! `Point`s (`position` from 1, `price.amount` in EUR per MWh). With curve type A03 a point is
//! left out when its price equals the one before. Needs a security token (configuration).

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use model::PriceArea;
use model::charging::PriceSlot;
use quick_xml::events::Event;

use super::{Day, Source, SourceError, Unit};

pub struct Entsoe {
    pub http: reqwest::Client,
    /// `https://web-api.tp.entsoe.eu/api` in production.
    pub base_url: String,
    pub token: String,
}

/// The bidding zones' EIC codes.
pub fn eic(area: PriceArea) -> &'static str {
    match area {
        PriceArea::SE1 => "10Y1001A1001A44P",
        PriceArea::SE2 => "10Y1001A1001A45N",
        PriceArea::SE3 => "10Y1001A1001A46L",
        PriceArea::SE4 => "10Y1001A1001A47J",
    }
}

#[derive(Default)]
struct Period {
    start: Option<i64>,
    end: Option<i64>,
    step_ms: Option<i64>,
    points: Vec<(i64, f64)>,
}

fn garbage(what: impl std::fmt::Display) -> SourceError {
    SourceError::Garbage(what.to_string())
}

fn time(text: &str) -> Result<i64, SourceError> {
    // ENTSO-E writes minutes without seconds: 2023-12-31T23:00Z.
    let full = if text.len() == 17 && text.ends_with('Z') {
        format!("{}:00Z", &text[..16])
    } else {
        text.to_string()
    };
    full.parse::<Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| garbage(format!("{text:?}: {e}")))
}

/// Parses an A44 document into slots (EUR per MWh).
pub fn parse(xml: &str) -> Result<Day, SourceError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut periods: Vec<Period> = Vec::new();
    let mut position: Option<i64> = None;
    loop {
        match reader.read_event().map_err(garbage)? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "Period" {
                    periods.push(Period::default());
                }
                path.push(name);
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(garbage)?.trim().to_string();
                let Some(tag) = path.last().map(String::as_str) else {
                    continue;
                };
                let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
                match (parent, tag) {
                    (_, "currency_Unit.name") if text != "EUR" => {
                        return Err(garbage(format!("currency {text}")));
                    }
                    (_, "price_Measure_Unit.name") if text != "MWH" => {
                        return Err(garbage(format!("unit {text}")));
                    }
                    (Some("timeInterval"), "start") => {
                        if let Some(p) = periods.last_mut() {
                            p.start = Some(time(&text)?);
                        }
                    }
                    (Some("timeInterval"), "end") => {
                        if let Some(p) = periods.last_mut() {
                            p.end = Some(time(&text)?);
                        }
                    }
                    (Some("Period"), "resolution") => {
                        let step = match text.as_str() {
                            "PT15M" => 15 * 60_000,
                            "PT30M" => 30 * 60_000,
                            "PT60M" => 60 * 60_000,
                            other => return Err(garbage(format!("resolution {other}"))),
                        };
                        if let Some(p) = periods.last_mut() {
                            p.step_ms = Some(step);
                        }
                    }
                    (Some("Point"), "position") => {
                        position = Some(text.parse().map_err(garbage)?);
                    }
                    (Some("Point"), "price.amount") => {
                        let price: f64 = text.parse().map_err(garbage)?;
                        let pos = position
                            .take()
                            .ok_or_else(|| garbage("a price before its position"))?;
                        if let Some(p) = periods.last_mut() {
                            p.points.push((pos, price));
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut slots = Vec::new();
    for p in periods {
        let (Some(start), Some(end), Some(step)) = (p.start, p.end, p.step_ms) else {
            return Err(garbage("a Period without its interval or resolution"));
        };
        let count = (end - start) / step;
        let mut points = p.points;
        points.sort_by_key(|(pos, _)| *pos);
        // A03: a missing position repeats the price before it.
        let mut given = points.into_iter().peekable();
        let mut price = None;
        for pos in 1..=count {
            while let Some((_, p)) = given.next_if(|(q, _)| *q <= pos) {
                price = Some(p);
            }
            let Some(price) = price else {
                return Err(garbage(format!("no price for position {pos}")));
            };
            let slot_start = start + (pos - 1) * step;
            slots.push(PriceSlot {
                start_ms: slot_start,
                end_ms: slot_start + step,
                price,
            });
        }
    }
    slots.sort_by_key(|s| s.start_ms);
    Ok(Day {
        unit: Unit::EurPerMwh,
        slots,
    })
}

#[async_trait]
impl Source for Entsoe {
    fn name(&self) -> &'static str {
        "ENTSO-E"
    }

    async fn day(&self, area: PriceArea, date: Date) -> Result<Option<Day>, SourceError> {
        let (start, end) = super::day_span(date);
        let stamp = |ms: i64| {
            Timestamp::from_millisecond(ms)
                .map(|t| t.strftime("%Y%m%d%H%M").to_string())
                .unwrap_or_default()
        };
        let url = format!(
            "{}?securityToken={}&documentType=A44&in_Domain={zone}&out_Domain={zone}&periodStart={}&periodEnd={}",
            self.base_url,
            self.token,
            stamp(start),
            stamp(end),
            zone = eic(area),
        );
        let Some(body) = super::get(&self.http, &url).await? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&body);
        // "No matching data found" comes as an Acknowledgement document, not an error status.
        if text.contains("Acknowledgement_MarketDocument") {
            return Ok(None);
        }
        parse(&text).map(Some)
    }
}
