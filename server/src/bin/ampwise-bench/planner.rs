//! The optiCharge planner's speed and what it saves on real charging sessions:
//!
//! - a plan over a 7-day window of 15-minute slots (672);
//! - a year of daily plans for one site (18:00 to 07:00, 4 hours, SE3 2023);
//! - the sessions of `../shared/data/ev-sessions/norway_12_locations_2018_2021.csv` (plug-in,
//!   plug-out, kWh) on real SE3 prices of 2023–2024 (each session moved by whole weeks, so its
//!   weekday and season stay): mean cost with optiCharge against charging at plug-in, and the
//!   share of sessions full by departure.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::Instant;

use anyhow::Context;
use model::charging::{PlanRequest, PriceSlot, Want};

use super::percentile;

/// SEK per EUR for the costs (the 2023–2024 average was about 11.5).
const EUR_SEK: f64 = 11.5;
/// A home charger's power (kW): 32 A single-phase, common in Norwegian housing cooperatives.
const POWER_KW: f64 = 7.4;

/// Hourly SE3 prices (SEK/kWh) by hour start (ms UTC), from the shared file.
fn se3_prices(data: &str) -> anyhow::Result<BTreeMap<i64, f64>> {
    let path = format!("{data}/prices/se1-se4_dayahead_hourly_eur_mwh_utc.csv");
    let file = std::fs::File::open(&path).with_context(|| format!("reading {path}"))?;
    let mut out = BTreeMap::new();
    for line in std::io::BufReader::new(file).lines().skip(1) {
        let line = line?;
        let f: Vec<&str> = line.split(',').collect();
        let start: jiff::Timestamp = f[0].parse()?;
        out.insert(
            start.as_millisecond(),
            f[3].parse::<f64>()? * EUR_SEK / 1000.0,
        );
    }
    Ok(out)
}

fn quarters(prices: &BTreeMap<i64, f64>, from: i64, until: i64) -> Vec<PriceSlot> {
    let hourly: Vec<PriceSlot> = prices
        .range((from - 3_600_000)..until)
        .map(|(start, price)| PriceSlot {
            start_ms: *start,
            end_ms: start + 3_600_000,
            price: *price,
        })
        .collect();
    backend::planner::quarter_hours(&hourly)
}

/// `data`: `../shared/data`, or the toy excerpts beside this file.
pub fn run(data: &str) -> anyhow::Result<()> {
    let prices = se3_prices(data)?;
    let tz = jiff::tz::TimeZone::get("Europe/Stockholm")?;
    let local = |s: &str| -> anyhow::Result<i64> {
        Ok(s.parse::<jiff::civil::DateTime>()?
            .to_zoned(tz.clone())?
            .timestamp()
            .as_millisecond())
    };

    // A week of quarters, 4 hours wanted.
    let from = local("2023-01-09T00:00:00")?;
    let week = quarters(&prices, from, from + 7 * 86_400_000);
    let request = PlanRequest {
        from_ms: from,
        until_ms: from + 7 * 86_400_000,
        want: Want::Energy(44.0),
        power_kw: 11.0,
        max_price: None,
        min_price: Some(0.0),
        now_ms: from,
        running_slot_ms: None,
    };
    let mut times = Vec::new();
    for _ in 0..2000 {
        let started = Instant::now();
        std::hint::black_box(backend::planner::plan(
            std::hint::black_box(&request),
            &week,
        ));
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "planner, 7 days of 15-minute slots ({} slots): p50 {:.0} µs, p99 {:.0} µs",
        week.len(),
        percentile(&times, 50.0),
        percentile(&times, 99.0)
    );

    // A year of nightly plans.
    let started = Instant::now();
    let mut day = jiff::civil::date(2023, 1, 1);
    let mut plans = 0;
    let mut saving = 0.0;
    while day.year() == 2023 {
        let start = day
            .to_datetime(jiff::civil::time(18, 0, 0, 0))
            .to_zoned(tz.clone())?
            .timestamp()
            .as_millisecond();
        let end = day
            .tomorrow()?
            .to_datetime(jiff::civil::time(7, 0, 0, 0))
            .to_zoned(tz.clone())?
            .timestamp()
            .as_millisecond();
        let slots = quarters(&prices, start, end);
        let plan = backend::planner::plan(
            &PlanRequest {
                from_ms: start,
                until_ms: end,
                want: Want::Hours(4.0),
                power_kw: 11.0,
                max_price: None,
                min_price: None,
                now_ms: start,
                running_slot_ms: None,
            },
            &slots,
        );
        saving += plan.saving;
        plans += 1;
        day = day.tomorrow()?;
    }
    println!(
        "planner, a year of nightly plans (2023, 18:00–07:00, 4 h at 11 kW, with the price lookup): {plans} plans in {:.1} ms; saving {saving:.0} SEK in the year (spot only)",
        started.elapsed().as_secs_f64() * 1000.0
    );

    // Real sessions.
    let path = format!("{data}/ev-sessions/norway_12_locations_2018_2021.csv");
    let file = std::fs::File::open(&path).with_context(|| format!("reading {path}"))?;
    let oslo = jiff::tz::TimeZone::get("Europe/Oslo")?;
    let (mut n, mut full_opti, mut full_now) = (0usize, 0usize, 0usize);
    let (mut cost_opti, mut cost_now, mut kwh_total) = (0.0, 0.0, 0.0);
    for line in std::io::BufReader::new(file).lines().skip(1) {
        let line = line?;
        let f: Vec<&str> = line.split(';').collect();
        if f.len() < 7 {
            continue;
        }
        let parse_time = |s: &str| -> Option<jiff::Zoned> {
            let dt = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", s.trim()).ok()?;
            dt.to_zoned(oslo.clone()).ok()
        };
        let (Some(plug_in), Some(plug_out)) = (parse_time(f[3]), parse_time(f[4])) else {
            continue;
        };
        let Ok(kwh) = f[6].trim().replace(',', ".").parse::<f64>() else {
            continue;
        };
        if kwh <= 0.0 || plug_out <= plug_in {
            continue;
        }
        // Onto 2023–2024, by whole weeks: the weekday and the season stay.
        let weeks = match plug_in.year() {
            2018 => 261,
            2019 => 261,
            2020 => 157,
            _ => 157,
        };
        let shift = weeks * 7 * 86_400_000i64;
        let from = plug_in.timestamp().as_millisecond() + shift;
        let until = plug_out.timestamp().as_millisecond() + shift;
        let slots = quarters(&prices, from, until);
        if slots.is_empty() {
            continue;
        }
        let plan = backend::planner::plan(
            &PlanRequest {
                from_ms: from,
                until_ms: until,
                want: Want::Energy(kwh),
                power_kw: POWER_KW,
                max_price: None,
                min_price: None,
                now_ms: from,
                running_slot_ms: None,
            },
            &slots,
        );
        n += 1;
        kwh_total += plan.kwh;
        cost_opti += plan.cost;
        cost_now += plan.cost_if_now;
        full_opti += usize::from(plan.complete);
        // At once is full by departure exactly when the plan is: the same hours are available.
        full_now += usize::from(plan.complete);
    }
    println!(
        "savings on {n} real sessions (Norway 2018–2021 moved onto SE3 2023–2024, {POWER_KW} kW, spot at {EUR_SEK} SEK/EUR): mean cost {:.2} SEK with optiCharge vs {:.2} SEK charging at plug-in ({:.0} % less); {:.1} % of sessions full by departure (the same as charging at once: {:.1} %); {:.1} kWh per session",
        cost_opti / n as f64,
        cost_now / n as f64,
        (1.0 - cost_opti / cost_now) * 100.0,
        full_opti as f64 / n as f64 * 100.0,
        full_now as f64 / n as f64 * 100.0,
        kwh_total / n as f64
    );
    Ok(())
}
