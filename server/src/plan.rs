//! `ampwise plan`: optiCharge's planner on a price file, without a server, so anyone can check a
//! plan. The file is in the shape of `../shared/data/prices/se1-se4_dayahead_hourly_eur_mwh_utc.csv`
//! (`start_utc,SE1,SE2,SE3,SE4`, one row per hour, prices per MWh); hours become four 15-minute
//! slots. Prices in the arguments and the output are in the file's unit; costs are in its
//! currency (price per MWh × MWh).

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::tz::Offset;
use model::charging::{PlanRequest, PriceSlot, Want};
use serde::Serialize;

/// The power assumed for `--hours` without `--power-kw`: a 16 A three-phase charger (kW).
pub const DEFAULT_POWER_KW: f64 = 11.0;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The price file (CSV: start_utc and one column per area, per MWh).
    #[arg(long)]
    pub prices: PathBuf,
    /// The column: SE1, SE2, SE3 or SE4.
    #[arg(long)]
    pub area: String,
    /// Plugged in (RFC 3339 with offset, e.g. 2023-01-10T18:00:00+01:00).
    #[arg(long)]
    pub from: String,
    /// Ready by (RFC 3339 with offset).
    #[arg(long)]
    pub until: String,
    /// Hours of charging wanted.
    #[arg(long, conflicts_with = "kwh", required_unless_present = "kwh")]
    pub hours: Option<f64>,
    /// Energy wanted (kWh); needs --power-kw.
    #[arg(long, requires = "power_kw")]
    pub kwh: Option<f64>,
    /// The charger's power (kW); 11 with --hours when not given.
    #[arg(long)]
    pub power_kw: Option<f64>,
    /// Never charge above this price (the file's unit).
    #[arg(long, allow_hyphen_values = true)]
    pub max_price: Option<f64>,
    /// Always charge below this price (the file's unit).
    #[arg(long, allow_hyphen_values = true)]
    pub min_price: Option<f64>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct PlanOut {
    pub slots: Vec<SlotOut>,
    pub cost: f64,
    pub cost_if_now: f64,
    pub saving: f64,
    pub kwh: f64,
    pub complete: bool,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SlotOut {
    pub start: String,
    pub end: String,
    pub price: f64,
    pub kwh: f64,
}

/// A time with its offset, so the answer reads in the same local time as the question.
fn time(text: &str, name: &str) -> anyhow::Result<(Timestamp, Offset)> {
    let t: Timestamp = text
        .parse()
        .with_context(|| format!("--{name} {text:?}: an RFC 3339 time with offset"))?;
    let offset = jiff::fmt::temporal::Pieces::parse(text)
        .ok()
        .and_then(|p| p.offset())
        .map(|o| o.to_numeric_offset())
        .unwrap_or(Offset::UTC);
    Ok((t, offset))
}

/// The area's hourly prices from `from` to `until` (ms UTC), as 15-minute slots.
pub fn read_prices(
    reader: impl BufRead,
    area: &str,
    from: i64,
    until: i64,
) -> anyhow::Result<Vec<PriceSlot>> {
    let mut lines = reader.lines();
    let header = lines.next().context("the price file is empty")??;
    let column = header
        .split(',')
        .position(|c| c.trim().eq_ignore_ascii_case(area))
        .with_context(|| format!("no column {area:?} in the price file (it has {header})"))?;
    let mut hourly = Vec::new();
    for (n, line) in lines.enumerate() {
        let line = line?;
        let fields: Vec<&str> = line.split(',').collect();
        let start: Timestamp = fields[0]
            .trim()
            .parse()
            .with_context(|| format!("line {}: {:?} is not a time", n + 2, fields[0]))?;
        let start = start.as_millisecond();
        if start + 3_600_000 <= from || start >= until {
            continue;
        }
        let price: f64 = fields
            .get(column)
            .and_then(|p| p.trim().parse().ok())
            .with_context(|| format!("line {}: no {area} price", n + 2))?;
        hourly.push(PriceSlot {
            start_ms: start,
            end_ms: start + 3_600_000,
            price,
        });
    }
    Ok(backend::planner::quarter_hours(&hourly))
}

pub fn run(args: &PlanArgs) -> anyhow::Result<PlanOut> {
    let (from, offset) = time(&args.from, "from")?;
    let (until, _) = time(&args.until, "until")?;
    if until <= from {
        bail!("--until must be after --from");
    }
    let (want, power) = match (args.hours, args.kwh) {
        (Some(h), _) if h >= 0.0 => (Want::Hours(h), args.power_kw.unwrap_or(DEFAULT_POWER_KW)),
        (_, Some(e)) if e >= 0.0 => (Want::Energy(e), args.power_kw.unwrap_or_default()),
        _ => bail!("--hours or --kwh: zero or more"),
    };
    if power <= 0.0 {
        bail!("--power-kw must be more than 0");
    }
    let file = std::fs::File::open(&args.prices)
        .with_context(|| format!("opening {}", args.prices.display()))?;
    let prices = read_prices(
        std::io::BufReader::new(file),
        &args.area,
        from.as_millisecond(),
        until.as_millisecond(),
    )?;
    // Per MWh in the file; the planner's costs are price × kWh, so per kWh here.
    let per_kwh: Vec<PriceSlot> = prices
        .iter()
        .map(|s| PriceSlot {
            price: s.price / 1000.0,
            ..*s
        })
        .collect();
    let request = PlanRequest {
        from_ms: from.as_millisecond(),
        until_ms: until.as_millisecond(),
        want,
        power_kw: power,
        max_price: args.max_price.map(|p| p / 1000.0),
        min_price: args.min_price.map(|p| p / 1000.0),
        now_ms: from.as_millisecond(),
        running_slot_ms: None,
    };
    let plan = backend::planner::plan(&request, &per_kwh);
    let show = |ms: i64| {
        Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::fixed(offset))
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let round = |x: f64| (x * 1e6).round() / 1e6;
    Ok(PlanOut {
        slots: plan
            .slots
            .iter()
            .map(|s| SlotOut {
                start: show(s.start_ms),
                end: show(s.end_ms),
                price: round(s.price * 1000.0),
                kwh: round(s.kwh),
            })
            .collect(),
        cost: round(plan.cost),
        cost_if_now: round(plan.cost_if_now),
        saving: round(plan.saving),
        kwh: round(plan.kwh),
        complete: plan.complete,
    })
}
