//! What both databases share: the rows as queries return them and how they become the
//! domain's values, and the rules that used to hide in the SQLite files (the usual reading
//! interval, a time as the site's clock shows it). Row structs decode from SQLite and
//! PostgreSQL alike: their columns are the same names and kinds on both.

use model::charging::{Adaptive, SitePrices};
use model::reporter::{Facts, OpenReporterTarget, Problem, ReporterKind};
use model::{Monitor, MonitorKind, PriceArea, Reporter};
use sqlx::FromRow;

use super::StoreError;
use super::charging::ChargingRecord;
use super::monitors::MonitorRecord;
use super::reporters::{ForwardConfig, ReporterRecord, StoredFacts};
use crate::rollup::Agg;

#[derive(FromRow)]
pub(crate) struct FactsRow {
    sent_ts: Option<i64>,
    reading_ts: Option<i64>,
    accepted_at: Option<i64>,
    failed_at: Option<i64>,
    problem: Option<String>,
    offline: Option<bool>,
    failures: Option<i64>,
    trouble_since: Option<i64>,
}

impl FactsRow {
    pub(crate) fn into_facts(self) -> Facts {
        Facts {
            sent_ts: self.sent_ts,
            reading_ts: self.reading_ts,
            accepted_at: self.accepted_at,
            failed_at: self.failed_at,
            problem: self.problem.as_deref().and_then(Problem::parse),
            offline: self.offline.unwrap_or(false),
            failures: self.failures.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32,
            trouble_since: self.trouble_since,
        }
    }
}

/// A reporter's facts with what a page needs to show them.
#[derive(FromRow)]
pub(crate) struct StoredFactsRow {
    id: i64,
    site_id: i64,
    paused: bool,
    #[sqlx(flatten)]
    facts: FactsRow,
}

impl StoredFactsRow {
    pub(crate) fn into_stored(self) -> StoredFacts {
        StoredFacts {
            id: self.id,
            site_id: self.site_id,
            paused: self.paused,
            facts: self.facts.into_facts(),
        }
    }
}

#[derive(FromRow)]
pub(crate) struct ReporterRow {
    id: i64,
    site_id: i64,
    site_name: String,
    time_zone: String,
    kind: String,
    name: String,
    monitor_id: i64,
    monitor_name: String,
    main_fuse_a: i64,
    serial: String,
    pin: Option<String>,
    create_token_url: Option<String>,
    update_url: Option<String>,
    username: Option<String>,
    paused: bool,
    #[sqlx(flatten)]
    facts: FactsRow,
}

fn kind(text: &str, id: i64) -> Result<ReporterKind, StoreError> {
    ReporterKind::parse(text).map_err(|_| StoreError::Corrupt(format!("reporter {id} kind")))
}

impl ReporterRow {
    pub(crate) fn into_record(self) -> Result<ReporterRecord, StoreError> {
        Ok(ReporterRecord {
            reporter: Reporter {
                id: self.id,
                site_id: self.site_id,
                site_name: self.site_name,
                kind: kind(&self.kind, self.id)?,
                name: self.name,
                monitor_id: self.monitor_id,
                monitor_name: self.monitor_name,
                main_fuse_a: u16::try_from(self.main_fuse_a)
                    .map_err(|_| StoreError::Corrupt(format!("reporter {} fuse", self.id)))?,
                serial: self.serial,
                pin: self.pin,
                create_token_url: self.create_token_url,
                update_url: self.update_url,
                username: self.username,
                paused: self.paused,
                facts: self.facts.into_facts(),
                silent_after_ms: 0,
                monitor_interval_ms: model::monitor::DEFAULT_INTERVAL_MS,
                clock: Default::default(),
            },
            time_zone: self.time_zone,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ConfigRow {
    id: i64,
    version: i64,
    kind: String,
    site_id: i64,
    monitor_id: i64,
    phases: i64,
    main_fuse_a: i64,
    serial: String,
    pin: Option<String>,
    create_token_url: Option<String>,
    update_url: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[sqlx(flatten)]
    facts: FactsRow,
}

impl ConfigRow {
    pub(crate) fn into_config(self) -> Result<ForwardConfig, StoreError> {
        let kind = kind(&self.kind, self.id)?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("reporter {} {what}", self.id));
        let open_reporter = match (
            kind,
            self.create_token_url,
            self.update_url,
            self.username,
            self.password,
        ) {
            (ReporterKind::OpenReporter, Some(create_token_url), Some(update_url), Some(u), p) => {
                Some(OpenReporterTarget {
                    create_token_url,
                    update_url,
                    username: u,
                    password: p,
                })
            }
            (ReporterKind::OpenReporter, ..) => return Err(corrupt("open reporter target")),
            _ => None,
        };
        Ok(ForwardConfig {
            id: self.id,
            version: self.version,
            kind,
            site_id: self.site_id,
            monitor_id: self.monitor_id,
            phases: u8::try_from(self.phases).map_err(|_| corrupt("phases"))?,
            main_fuse_a: u16::try_from(self.main_fuse_a).map_err(|_| corrupt("fuse"))?,
            serial: self.serial,
            pin: self.pin,
            open_reporter,
            facts: self.facts.into_facts(),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct MonitorRow {
    pub(crate) id: i64,
    pub(crate) site_id: i64,
    pub(crate) site_name: String,
    pub(crate) name: String,
    pub(crate) phases: i64,
    pub(crate) kind: String,
    pub(crate) is_total: bool,
    pub(crate) last_ts: Option<i64>,
    pub(crate) time_zone: String,
    pub(crate) main_fuse_a: i64,
}

impl MonitorRow {
    pub(crate) fn into_record(self, interval_ms: i64) -> Result<MonitorRecord, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("monitor {} {what}", self.id));
        Ok(MonitorRecord {
            monitor: Monitor {
                id: self.id,
                site_id: self.site_id,
                site_name: self.site_name,
                name: self.name,
                phases: u8::try_from(self.phases).map_err(|_| corrupt("phases"))?,
                kind: MonitorKind::parse(&self.kind).map_err(|_| corrupt("kind"))?,
                is_total: self.is_total,
                last_ms: self.last_ts,
                interval_ms,
                // The service puts the server's limit in.
                offline_after_ms: model::monitor::DEFAULT_OFFLINE_AFTER_MS,
                last_local: self.last_ts.and_then(|ts| local_time(ts, &self.time_zone)),
            },
            time_zone: self.time_zone,
            main_fuse_a: u16::try_from(self.main_fuse_a).map_err(|_| corrupt("main_fuse_a"))?,
        })
    }
}

/// `ts` in the site's local time: the clock time when it is today there, else date and time.
pub fn local_time(ts: i64, time_zone: &str) -> Option<String> {
    let tz = jiff::tz::TimeZone::get(time_zone).ok()?;
    let at = jiff::Timestamp::from_millisecond(ts)
        .ok()?
        .to_zoned(tz.clone());
    let today = jiff::Timestamp::now().to_zoned(tz).date();
    let format = if at.date() == today {
        "%H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M"
    };
    Some(at.strftime(format).to_string())
}

/// The usual interval of a monitor: the median gap between its newest readings.
pub fn usual_interval(newest_first: &[i64]) -> i64 {
    let mut gaps: Vec<i64> = newest_first
        .windows(2)
        .map(|w| w[0] - w[1])
        .filter(|g| *g > 0)
        .collect();
    if gaps.is_empty() {
        return model::monitor::DEFAULT_INTERVAL_MS;
    }
    gaps.sort_unstable();
    gaps[gaps.len() / 2]
}

/// How many readings' times the usual interval is taken from.
pub(crate) const INTERVAL_SAMPLE: i64 = 11;

#[derive(FromRow)]
pub(crate) struct RollupRow {
    start: i64,
    n: i64,
    ts_min: i64,
    ts_max: i64,
    i1_min: Option<f64>,
    i1_max: Option<f64>,
    i1_sum: Option<f64>,
    i2_min: Option<f64>,
    i2_max: Option<f64>,
    i2_sum: Option<f64>,
    i3_min: Option<f64>,
    i3_max: Option<f64>,
    i3_sum: Option<f64>,
    p_sum: f64,
    import_min: Option<f64>,
    import_max: Option<f64>,
    export_min: Option<f64>,
    export_max: Option<f64>,
}

fn triple(a: Option<f64>, b: Option<f64>, c: Option<f64>) -> Option<(f64, f64, f64)> {
    Some((a?, b?, c?))
}

fn pair(a: Option<f64>, b: Option<f64>) -> Option<(f64, f64)> {
    Some((a?, b?))
}

impl RollupRow {
    pub(crate) fn into_agg(self) -> (i64, Agg) {
        (
            self.start,
            Agg {
                n: self.n,
                ts_min: self.ts_min,
                ts_max: self.ts_max,
                current: [
                    triple(self.i1_min, self.i1_max, self.i1_sum),
                    triple(self.i2_min, self.i2_max, self.i2_sum),
                    triple(self.i3_min, self.i3_max, self.i3_sum),
                ],
                p_sum: self.p_sum,
                import: pair(self.import_min, self.import_max),
                export: pair(self.export_min, self.export_max),
            },
        )
    }
}

#[derive(FromRow)]
pub(crate) struct ChargingRow {
    reporter_id: i64,
    site_id: i64,
    time_zone: String,
    price_area: String,
    settings: Option<String>,
    plugged_in_ms: Option<i64>,
    plan: Option<String>,
    window_start: Option<i64>,
    window_end: Option<i64>,
    markup_ore: Option<f64>,
    grid_fee_ore: Option<f64>,
    energy_tax_ore: Option<f64>,
    vat_percent: Option<f64>,
}

impl ChargingRow {
    pub(crate) fn into_record(self) -> Result<ChargingRecord, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("reporter {} {what}", self.reporter_id));
        let adaptive = match &self.settings {
            Some(json) => serde_json::from_str(json).map_err(|_| corrupt("charging settings"))?,
            None => Adaptive::default(),
        };
        let plan = match &self.plan {
            Some(json) => Some(serde_json::from_str(json).map_err(|_| corrupt("plan"))?),
            None => None,
        };
        Ok(ChargingRecord {
            reporter_id: self.reporter_id,
            site_id: self.site_id,
            area: PriceArea::parse(&self.price_area).map_err(|_| corrupt("price area"))?,
            time_zone: self.time_zone,
            adaptive,
            plugged_in_ms: self.plugged_in_ms,
            plan,
            window: self.window_start.zip(self.window_end),
            site_prices: SitePrices {
                markup_ore: self.markup_ore,
                grid_fee_ore: self.grid_fee_ore,
                energy_tax_ore: self.energy_tax_ore,
                vat_percent: self.vat_percent,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{local_time, usual_interval};
    use rstest::rstest;

    #[rstest]
    #[case::steady(&[100, 90, 80, 70], 10)]
    #[case::one_gap_of_an_outage(&[100, 90, 80, 20, 10, 0], 10)]
    #[case::a_reading_sent_twice(&[30, 20, 20, 10, 0], 10)]
    #[case::one_reading(&[5], model::monitor::DEFAULT_INTERVAL_MS)]
    #[case::none(&[], model::monitor::DEFAULT_INTERVAL_MS)]
    fn the_usual_interval_is_the_median_gap(#[case] newest_first: &[i64], #[case] want: i64) {
        assert_eq!(usual_interval(newest_first), want);
    }

    /// Stockholm's local time, summer and winter (a reading not from today shows its date).
    #[rstest]
    #[case::winter("2026-01-15T12:00:00Z", "Europe/Stockholm", Some("2026-01-15 13:00"))]
    #[case::summer("2026-07-15T12:00:00Z", "Europe/Stockholm", Some("2026-07-15 14:00"))]
    #[case::the_hour_clocks_go_back(
        "2026-10-25T00:30:00Z",
        "Europe/Stockholm",
        Some("2026-10-25 02:30")
    )]
    #[case::after_it("2026-10-25T01:30:00Z", "Europe/Stockholm", Some("2026-10-25 02:30"))]
    #[case::unknown_zone("2026-01-15T12:00:00Z", "Mars/Olympus", None)]
    fn display_time_is_the_sites_local_time(
        #[case] at: &str,
        #[case] zone: &str,
        #[case] want: Option<&str>,
    ) {
        let ts = at.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        assert_eq!(local_time(ts, zone).as_deref(), want);
    }

    #[test]
    fn display_time_today_is_the_clock_time() {
        let now = jiff::Timestamp::now();
        let shown = local_time(now.as_millisecond(), "Europe/Stockholm").unwrap();
        let want = now
            .to_zoned(jiff::tz::TimeZone::get("Europe/Stockholm").unwrap())
            .strftime("%H:%M:%S")
            .to_string();
        assert_eq!(shown, want);
    }
}
