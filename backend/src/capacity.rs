//! Capacity tariffs: the month's billed peak as the site's grid operator counts it.
//!
//! Most Swedish grid operators bill a capacity charge on the month's peaks, each by its own rule
//! (the three highest hours on three different days, night hours at half, weekdays 07–19 only,
//! winter dearer…), and the rules change. They are not written here: they come from the
//! `grid-tariffs` crate (MIT; every Swedish operator's price lists, maintained as data with
//! each operator's source link), whose `PowerTariff` says which hours count, how (its
//! `TariffCalculationMethod` and `PowerDivide`) and what a kW costs. What is ours: turning a
//! meter's readings into the hourly mean powers the rules are applied to, and the month's
//! figures from the peaks the crate picks.

use std::collections::BTreeMap;

use grid_tariffs::{
    Country, GridOperator, Language, PowerAverage, PowerTariff, PowerTariffSimplified,
    TariffCalculationMethod,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

/// A reading: imported power (W) at a moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    pub power_w: f64,
}

/// How long a reading's power is taken to last when no next reading comes sooner: a meter that
/// goes quiet is missing data, not a constant load (DSMR meters send every 10 s, Ampwise's
/// monitors every few seconds; 15 minutes is the longest interval a Swedish meter reports).
pub const MAX_HOLD_S: i64 = 15 * 60;

/// The mean power of one hour (local hour: it starts when the site's clock shows hh:00).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HourMean {
    pub start: Timestamp,
    /// Mean imported power over the part of the hour the readings cover (kW).
    pub kw: f64,
    /// Seconds of the hour the readings cover.
    pub covered_s: i64,
}

/// The start of the local hour that holds `at` (`tz`'s offset at that moment: a 30-minute
/// offset zone's hours start at hh:30 UTC; the repeated hour when DST ends is its own hour).
pub fn local_hour_start(at: Timestamp, tz: &TimeZone) -> Timestamp {
    Timestamp::from_second(hour_start(at.as_second(), tz)).unwrap_or(at)
}

/// [`local_hour_start`] in seconds.
fn hour_start(at: i64, tz: &TimeZone) -> i64 {
    let offset = Timestamp::from_second(at)
        .map(|ts| tz.to_offset(ts).seconds() as i64)
        .unwrap_or(0);
    at - (at + offset).rem_euclid(3600)
}

/// The hourly mean powers of `samples` (any order, any interval) between `from` and `until`:
/// each reading's power lasts until the next reading, at most [`MAX_HOLD_S`]; an hour's mean is
/// its energy over the time its readings cover. Hours no reading covers are left out.
pub fn hourly_means(
    samples: &[Sample],
    from: Timestamp,
    until: Timestamp,
    tz: &TimeZone,
) -> Vec<HourMean> {
    let mut sorted: Vec<(i64, f64)> = samples
        .iter()
        .map(|s| (s.at.as_second(), s.power_w.max(0.0)))
        .collect();
    sorted.sort_by_key(|&(at, _)| at);
    let (from, until) = (from.as_second(), until.as_second());
    // hour start → (joules, covered seconds)
    let mut hours: BTreeMap<i64, (f64, i64)> = BTreeMap::new();
    for (i, &(at, watts)) in sorted.iter().enumerate() {
        let next = sorted.get(i + 1).map_or(at + MAX_HOLD_S, |&(t, _)| t);
        let mut start = at.max(from);
        let end = next.min(at + MAX_HOLD_S).min(until);
        while start < end {
            let hour = hour_start(start, tz);
            let stop = end.min(hour + 3600);
            let entry = hours.entry(hour).or_default();
            entry.0 += watts * (stop - start) as f64;
            entry.1 += stop - start;
            start = stop;
        }
    }
    hours
        .into_iter()
        .filter(|&(_, (_, covered))| covered > 0)
        .filter_map(|(start, (joules, covered))| {
            Some(HourMean {
                start: Timestamp::from_second(start).ok()?,
                kw: joules / covered as f64 / 1000.0,
                covered_s: covered,
            })
        })
        .collect()
}

/// An operator's name as the command line takes it: "Göteborg Energi" → `goteborg-energi`,
/// "Sollentuna Energi & Miljö AB" → `sollentuna-energi-miljo-ab`, "E.ON" → `eon`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        let c = match c {
            'å' | 'ä' | 'á' | 'à' => 'a',
            'ö' | 'ø' | 'ó' => 'o',
            'é' | 'è' | 'ë' => 'e',
            'ü' | 'ú' => 'u',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if (c.is_whitespace() || c == '-' || c == '&') && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// What went wrong, in words for whoever typed the command.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CapacityError {
    #[error("no Swedish grid operator {0:?}{1}")]
    UnknownOperator(String, String),
    #[error("{operator} has no tariff {tariff:?} in {month}; its tariffs then: {known}")]
    UnknownTariff {
        operator: String,
        tariff: String,
        month: String,
        known: String,
    },
    #[error("{operator} has no price list in force in {month}")]
    NoPriceList { operator: String, month: String },
    #[error("{operator}'s capacity charge is not yet known to the tariff data (grid-tariffs)")]
    Unverified { operator: String },
    #[error("{0:?} is not a month (YYYY-MM)")]
    BadMonth(String),
    #[error("{0:?} is not a time zone")]
    BadTimeZone(String),
}

/// The Swedish operator `name` (its [`slug`], with or without a trailing `-ab`).
pub fn operator(name: &str) -> Result<&'static GridOperator, CapacityError> {
    let wanted = slug(name);
    let all = GridOperator::all_for_country(Country::SE);
    let base = |s: &str| s.strip_suffix("-ab").unwrap_or(s).to_string();
    if let Some(found) = all.iter().find(|op| {
        let s = slug(op.name());
        s == wanted || base(&s) == base(&wanted)
    }) {
        return Ok(found);
    }
    let near: Vec<String> = all
        .iter()
        .map(|op| slug(op.name()))
        .filter(|s| !wanted.is_empty() && s.contains(&wanted[..wanted.len().min(4)]))
        .take(8)
        .collect();
    let hint = if near.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", near.join(", "))
    };
    Err(CapacityError::UnknownOperator(name.to_string(), hint))
}

/// Every Swedish operator a site may choose, by name, with its tariffs (the names of its price
/// lists, in its order: the first is what a site without a tariff gets).
pub fn operators() -> Vec<model::charging::GridOperatorChoice> {
    let mut all: Vec<model::charging::GridOperatorChoice> =
        GridOperator::all_for_country(Country::SE)
            .iter()
            .map(|op| choice(op))
            .collect();
    all.sort_by_key(|op| op.name.to_lowercase());
    all
}

/// An operator as the grid form offers it.
fn choice(op: &GridOperator) -> model::charging::GridOperatorChoice {
    let mut tariffs: Vec<String> = Vec::new();
    for list in op.all_price_lists() {
        if let Some(name) = list.variant()
            && !tariffs.iter().any(|t| t == name)
        {
            tariffs.push(name.to_string());
        }
    }
    model::charging::GridOperatorChoice {
        id: slug(op.name()),
        name: op.name().to_string(),
        tariffs,
    }
}

/// The grid form's answer as stored: an operator we know (by its id), and one of its tariffs
/// or none; both empty to choose none.
pub fn validate(
    input: &model::charging::SiteGridInput,
) -> Result<model::charging::SiteGrid, model::FieldError> {
    let (operator, tariff) = (input.operator.trim(), input.tariff.trim());
    if operator.is_empty() {
        return Ok(model::charging::SiteGrid::default());
    }
    let choice = GridOperator::all_for_country(Country::SE)
        .iter()
        .find(|op| slug(op.name()) == operator)
        .map(|op| choice(op))
        .ok_or(model::FieldError::new(
            "operator",
            "error.grid_operator_unknown",
        ))?;
    let tariff = match tariff {
        "" => None,
        name => Some(
            choice
                .tariffs
                .iter()
                .find(|t| t.as_str() == name)
                .cloned()
                .ok_or(model::FieldError::new(
                    "tariff",
                    "error.grid_tariff_unknown",
                ))?,
        ),
    };
    Ok(model::charging::SiteGrid {
        operator: Some(choice.id),
        tariff,
        guard: guard_of(input)?,
    })
}

/// The lowest and highest guard level a household may set (kW): below 0.5 kW not even a
/// fridge runs; 100 kW is past any home's fuse (63 A × 3 × 230 V = 43 kW).
pub const GUARD_KW: std::ops::RangeInclusive<f64> = 0.5..=100.0;

/// The guard the form asks for: its mode, and its level in kW (`4,5` as well as `4.5`).
fn guard_of(
    input: &model::charging::SiteGridInput,
) -> Result<model::charging::PeakGuard, model::FieldError> {
    use model::charging::PeakGuard;
    let level = || {
        let text = input.guard_kw.trim().replace(',', ".");
        let kw: f64 = text
            .parse()
            .map_err(|_| model::FieldError::new("guard_kw", "error.guard_kw_number"))?;
        if !kw.is_finite() || !GUARD_KW.contains(&kw) {
            return Err(model::FieldError::new("guard_kw", "error.guard_kw_range"));
        }
        Ok((kw * 1000.0).round() as u32)
    };
    match input.guard.trim() {
        "" | "off" => Ok(PeakGuard::Off),
        "billed" => Ok(PeakGuard::Billed { start_w: level()? }),
        "cap" => Ok(PeakGuard::Cap { cap_w: level()? }),
        _ => Err(model::FieldError::new("guard", "error.guard_mode_unknown")),
    }
}

/// A calendar month of a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Month {
    pub year: i16,
    pub month: i8,
}

impl std::str::FromStr for Month {
    type Err = CapacityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || CapacityError::BadMonth(text.to_string());
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let (year, month): (i16, i8) = (
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
        );
        if year.to_string().len() != 4 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Month {
    /// The month's first and the next month's first moment in `tz`.
    pub fn bounds(self, tz: &TimeZone) -> Result<(Timestamp, Timestamp), CapacityError> {
        let first = jiff::civil::date(self.year, self.month, 1);
        let next = first
            .checked_add(jiff::Span::new().months(1))
            .map_err(|_| CapacityError::BadMonth(self.to_string()))?;
        let at = |date: jiff::civil::Date| {
            date.to_zoned(tz.clone())
                .map(|z| z.timestamp())
                .map_err(|_| CapacityError::BadMonth(self.to_string()))
        };
        Ok((at(first)?, at(next)?))
    }
}

/// A counted hour.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Peak {
    #[serde(serialize_with = "rfc3339")]
    pub start: Timestamp,
    #[serde(serialize_with = "rfc3339")]
    pub end: Timestamp,
    /// As the operator counts it (Ellevio's night hours at half).
    pub kw: f64,
    /// As measured.
    pub measured_kw: f64,
}

/// A moment as RFC 3339 in UTC (`2026-01-15T16:00:00Z`).
fn rfc3339<S: serde::Serializer>(at: &Timestamp, to: S) -> Result<S::Ok, S::Error> {
    to.collect_str(at)
}

/// One of a tariff's cost periods (winter weekdays' daytime, say) and its peaks this month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeriodPeaks {
    /// "base", "high" or "low" (the crate's load type).
    pub load: String,
    pub peaks: Vec<Peak>,
    /// The mean of the counted peaks (kW).
    pub billed_kw: f64,
    /// kr per billed kW and month, VAT included; 0 when the period costs nothing.
    pub sek_per_kw: f64,
    pub cost_sek: f64,
}

/// The month as the operator counts it: `ampwise peaks`'s answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthPeaks {
    pub operator: String,
    pub tariff: Option<String>,
    pub month: String,
    /// The rule in words (from the tariff data).
    pub rule: String,
    /// The counted peaks of the periods that cost something.
    pub peaks: Vec<Peak>,
    /// The billed level of the costliest period (kW).
    pub billed_kw: f64,
    /// The month's capacity charge, VAT included.
    pub cost_sek: f64,
    pub periods: Vec<PeriodPeaks>,
}

/// What the capacity charge of `month` comes to under `operator`'s `tariff` (its first tariff
/// in force that month when `None`) for the `samples` (imported power), a site on `fuse_a`.
pub fn month_peaks(
    operator_name: &str,
    tariff: Option<&str>,
    month: Month,
    tz_name: &str,
    fuse_a: u16,
    samples: &[Sample],
) -> Result<MonthPeaks, CapacityError> {
    let tz = TimeZone::get(tz_name).map_err(|_| CapacityError::BadTimeZone(tz_name.into()))?;
    let (from, until) = month.bounds(&tz)?;
    let hours = hourly_means(samples, from, until, &tz);
    month_peaks_of_hours(operator_name, tariff, month, tz_name, fuse_a, &hours)
}

/// The operator's price list in force in `month`: `tariff`, or its first.
fn price_list(
    op: &'static GridOperator,
    tariff: Option<&str>,
    month: Month,
) -> Result<&'static grid_tariffs::PriceList, CapacityError> {
    let first = chrono::NaiveDate::from_ymd_opt(month.year.into(), month.month as u32, 1)
        .ok_or_else(|| CapacityError::BadMonth(month.to_string()))?;
    let lists = op.price_lists(first);
    match tariff {
        None => lists.first().copied(),
        Some(name) => {
            let list = lists
                .iter()
                .copied()
                .find(|l| l.variant().is_some_and(|v| slug(v) == slug(name)));
            if list.is_none() {
                return Err(CapacityError::UnknownTariff {
                    operator: op.name().to_string(),
                    tariff: name.to_string(),
                    month: month.to_string(),
                    known: lists
                        .iter()
                        .map(|l| l.variant().unwrap_or("(the only one)"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            list
        }
    }
    .ok_or_else(|| CapacityError::NoPriceList {
        operator: op.name().to_string(),
        month: month.to_string(),
    })
}

/// Whether the hour that holds `at` counts towards the month's capacity charge under the
/// operator's `tariff` (its first when `None`): some cost period of the tariff that costs
/// something holds it. Outside such hours a guard need not hold the power down.
pub fn hour_counts(
    operator_name: &str,
    tariff: Option<&str>,
    tz_name: &str,
    fuse_a: u16,
    at: Timestamp,
) -> Result<bool, CapacityError> {
    let op = operator(operator_name)?;
    let tz = TimeZone::get(tz_name).map_err(|_| CapacityError::BadTimeZone(tz_name.into()))?;
    let local = at.to_zoned(tz.clone());
    let month = Month {
        year: local.year(),
        month: local.month(),
    };
    let list = price_list(op, tariff, month)?;
    let PowerTariff::Periods { periods, .. } = list.power_tariff() else {
        return Ok(false);
    };
    let Some(utc) = chrono::DateTime::from_timestamp(hour_start(at.as_second(), &tz), 0) else {
        return Ok(false);
    };
    Ok(periods.iter().any(|period| {
        period.matches(utc)
            && period
                .cost()
                .cost_for(fuse_a, 0)
                .is_some_and(|money| money.to_f64() > 0.0)
    }))
}

/// [`month_peaks`] from the month's hourly means (a monitor's hourly rollups, say).
pub fn month_peaks_of_hours(
    operator_name: &str,
    tariff: Option<&str>,
    month: Month,
    tz_name: &str,
    fuse_a: u16,
    hours: &[HourMean],
) -> Result<MonthPeaks, CapacityError> {
    let op = operator(operator_name)?;
    let tz = TimeZone::get(tz_name).map_err(|_| CapacityError::BadTimeZone(tz_name.into()))?;
    let chrono_tz: chrono_tz::Tz = tz_name
        .parse()
        .map_err(|_| CapacityError::BadTimeZone(tz_name.into()))?;
    let list = price_list(op, tariff, month)?;
    let mut out = MonthPeaks {
        operator: op.name().to_string(),
        tariff: list.variant().map(str::to_string),
        month: month.to_string(),
        rule: String::new(),
        peaks: Vec::new(),
        billed_kw: 0.0,
        cost_sek: 0.0,
        periods: Vec::new(),
    };
    let power_tariff = list.power_tariff();
    let method = match power_tariff {
        PowerTariff::Unverified => {
            return Err(CapacityError::Unverified {
                operator: op.name().to_string(),
            });
        }
        PowerTariff::NotImplemented => {
            out.rule = "no capacity charge: this tariff bills energy, not peaks".to_string();
            return Ok(out);
        }
        PowerTariff::Periods { method, .. } => *method,
    };
    out.rule = match power_tariff.simplified(op, fuse_a, 0, Language::En) {
        PowerTariffSimplified::Periods {
            info: Some(info), ..
        } => info,
        _ => match method {
            TariffCalculationMethod::AverageDays(n) => {
                format!("the mean of the {n} highest hourly peaks, on {n} different days")
            }
            TariffCalculationMethod::AverageHours(n) => {
                format!("the mean of the {n} highest hourly peaks")
            }
        },
    };

    let (from, until) = month.bounds(&tz)?;
    let hours: Vec<HourMean> = hours
        .iter()
        .filter(|h| from <= h.start && h.start < until)
        .copied()
        .collect();
    let measured: BTreeMap<i64, f64> = hours.iter().map(|h| (h.start.as_second(), h.kw)).collect();
    let averages: Vec<PowerAverage<grid_tariffs::Actual>> = hours
        .iter()
        .filter_map(|h| {
            let utc = chrono::DateTime::from_timestamp(h.start.as_second(), 0)?;
            Some(PowerAverage::new(
                utc.with_timezone(&chrono_tz),
                (h.kw * 1000.0).round() as u32,
            ))
        })
        .collect();
    let matches = power_tariff.periods(averages, None);
    let mut costliest = f64::MIN;
    for item in matches.items() {
        let period = item.period();
        let sek_per_kw = period
            .cost()
            .cost_for(fuse_a, 0)
            .map_or(0.0, |money| money.to_f64());
        let peaks: Vec<Peak> = item
            .peaks()
            .values()
            .iter()
            .map(|p| {
                let start = p.timestamp().timestamp();
                Peak {
                    start: Timestamp::from_second(start).unwrap_or(from),
                    end: Timestamp::from_second(start + 3600).unwrap_or(until),
                    kw: p.kw(),
                    measured_kw: measured.get(&start).copied().unwrap_or(p.kw()),
                }
            })
            .collect();
        let billed_kw = if peaks.is_empty() {
            0.0
        } else {
            peaks.iter().map(|p| p.kw).sum::<f64>() / peaks.len() as f64
        };
        let cost_sek = billed_kw * sek_per_kw;
        if sek_per_kw > 0.0 {
            out.peaks.extend(peaks.iter().cloned());
            out.cost_sek += cost_sek;
            if cost_sek > costliest {
                costliest = cost_sek;
                out.billed_kw = billed_kw;
            }
        }
        out.periods.push(PeriodPeaks {
            load: format!("{:?}", period.load()).to_lowercase(),
            peaks,
            billed_kw,
            sek_per_kw,
            cost_sek,
        });
    }
    out.peaks.sort_by_key(|p| p.start);
    Ok(out)
}

/// How far under its level the guard aims an hour: the chargers follow a step down within a few
/// seconds, and the household's load changes between two readings.
pub const GUARD_MARGIN: f64 = 0.97;

/// The level the hour starting at `hour` may reach under `guard` (kW), or `None` when the guard
/// does not limit it: guard off, or an hour the operator does not count. `hours` are the
/// month's hourly means so far (the hour under way among them or not: it is left out).
///
/// For [`PeakGuard::Billed`] the level is the highest mean this hour can end with and leave the
/// month's capacity charge as it is, by the operator's own rule (found by bisection over the
/// crate's peak picking: three days' peaks, night hours at half, periods of their own all follow),
/// and never under the household's starting level.
#[allow(clippy::too_many_arguments)]
pub fn guard_level(
    guard: model::charging::PeakGuard,
    operator_name: &str,
    tariff: Option<&str>,
    tz_name: &str,
    fuse_a: u16,
    hours: &[HourMean],
    hour: Timestamp,
) -> Result<Option<f64>, CapacityError> {
    use model::charging::PeakGuard;
    if guard == PeakGuard::Off || !hour_counts(operator_name, tariff, tz_name, fuse_a, hour)? {
        return Ok(None);
    }
    let start_w = match guard {
        PeakGuard::Cap { cap_w } => return Ok(Some(f64::from(cap_w) / 1000.0)),
        PeakGuard::Billed { start_w } => start_w,
        PeakGuard::Off => return Ok(None),
    };
    let tz = TimeZone::get(tz_name).map_err(|_| CapacityError::BadTimeZone(tz_name.into()))?;
    let local = hour.to_zoned(tz);
    let month = Month {
        year: local.year(),
        month: local.month(),
    };
    let mut with: Vec<HourMean> = hours.iter().filter(|h| h.start != hour).copied().collect();
    let cost = |with: &[HourMean]| {
        month_peaks_of_hours(operator_name, tariff, month, tz_name, fuse_a, with)
            .map(|m| m.cost_sek)
    };
    let now = cost(&with)?;
    with.push(HourMean {
        start: hour,
        kw: 0.0,
        covered_s: 3600,
    });
    let mut costs_at = |kw: f64| -> Result<bool, CapacityError> {
        if let Some(last) = with.last_mut() {
            last.kw = kw;
        }
        Ok(cost(&with)? > now + 1e-6)
    };
    // The most the site can draw: every phase at the fuse.
    let most = f64::from(fuse_a) * 3.0 * crate::readings::NOMINAL_VOLTAGE_V / 1000.0;
    let level = if !costs_at(most)? {
        most
    } else {
        let (mut low, mut high) = (0.0, most);
        while high - low > 0.01 {
            let mid = (low + high) / 2.0;
            if costs_at(mid)? {
                high = mid;
            } else {
                low = mid;
            }
        }
        low
    };
    Ok(Some(level.max(f64::from(start_w) / 1000.0)))
}

/// The power the site may draw for the rest of the hour (kW) so that the hour ends at
/// [`GUARD_MARGIN`] of `level_kw`, having drawn `so_far_kw` on average for its first
/// `elapsed_s` seconds. Below 0 when the hour is already past it; the last minute is
/// treated as a minute, so the answer stays finite.
pub fn guard_allowed_kw(level_kw: f64, so_far_kw: f64, elapsed_s: f64) -> f64 {
    let elapsed = elapsed_s.clamp(0.0, 3540.0);
    (level_kw * GUARD_MARGIN * 3600.0 - so_far_kw * elapsed) / (3600.0 - elapsed)
}

/// The headroom per phase (A) that keeps the site's power at `allowed_kw`, from the measured
/// currents (`None` for a phase the monitor does not have): what the power may still grow by,
/// spread over the measured phases (a three-phase charger takes it from each). Negative: the
/// chargers must give back that much.
pub fn guard_headroom_a(allowed_kw: f64, measured_a: [Option<f64>; 3]) -> f64 {
    let v = crate::readings::NOMINAL_VOLTAGE_V;
    let phases = measured_a.iter().flatten().count().max(1) as f64;
    let now_kw: f64 = measured_a.iter().flatten().map(|i| i.max(0.0)).sum::<f64>() * v / 1000.0;
    (allowed_kw - now_kw) * 1000.0 / (v * phases)
}

/// The household's usual load per hour of the day on the site's clock (kW, index = the hour):
/// the lower quartile of the means of that hour in `hours` from `since` on, 0 for an hour of the
/// day with none. Read low, so that a car that charged in that hour on most nights (a quarter
/// of the nights free of it is enough) does not count as household.
pub fn usual_load(hours: &[HourMean], since: Timestamp, tz: &TimeZone) -> [f64; 24] {
    let mut by_hour: [Vec<f64>; 24] = std::array::from_fn(|_| Vec::new());
    for h in hours.iter().filter(|h| h.start >= since) {
        let hour = h.start.to_zoned(tz.clone()).hour();
        if let Some(slot) = by_hour.get_mut(hour as usize) {
            slot.push(h.kw);
        }
    }
    by_hour.map(|mut kw| {
        kw.sort_by(f64::total_cmp);
        kw.get(kw.len() / 4).copied().unwrap_or(0.0)
    })
}
