//! Monitors (the energy meter on a house's mains), their readings as the browser sees them, and
//! the history series built from rollups. Times are milliseconds since the Unix epoch, UTC; the
//! server adds local-time labels where a page needs them.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// How a monitor delivers its readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonitorKind {
    /// Ampwise's JSON API: `POST /api/v1/monitors/{id}/readings`.
    Http,
    /// Raw P1 / HAN smart-meter telegrams: `POST /api/v1/monitors/{id}/telegrams`.
    P1,
}

impl MonitorKind {
    pub const ALL: [MonitorKind; 2] = [MonitorKind::Http, MonitorKind::P1];

    pub const fn as_str(self) -> &'static str {
        match self {
            MonitorKind::Http => "http",
            MonitorKind::P1 => "p1",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or(FieldError::new("kind", "error.monitor_kind_invalid"))
    }
}

/// Online, offline or never seen, from the time of the last reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorStatus {
    Online,
    /// A reading it usually sends by now is missing; not yet long enough for the chargers to
    /// fall back (the reporters still send its last reading).
    Silent,
    Offline,
    NeverSeen,
}

/// The interval assumed before a monitor has reported twice (ms).
pub const DEFAULT_INTERVAL_MS: i64 = 10_000;
/// How long after its newest reading a monitor is offline, unless the server says otherwise:
/// the reporters' limit (`AMPWISE_MONITOR_SILENT_SECS`), after which partners fall back to
/// their safe current. The live card, the monitor list and the reporters use the same one.
pub const DEFAULT_OFFLINE_AFTER_MS: i64 = 30_000;

/// One rule for a silent meter, wherever it is shown: silent from the first missed reading
/// (half an interval late, and a second's grace), offline past the reporters' limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// The monitor's usual interval between readings (ms).
    pub interval_ms: i64,
    /// Past this long without a reading the monitor is offline (ms).
    pub offline_after_ms: i64,
}

impl Silence {
    /// A reading is missed once this long has passed since the newest one (ms).
    pub fn missed_after_ms(&self) -> i64 {
        (self.interval_ms.max(1000) * 3 / 2 + 1000).min(self.offline_after_ms)
    }

    /// How long the monitor has been silent at `now` (ms), once a reading is missed.
    pub fn silent_for(&self, now_ms: i64, last_ms: Option<i64>) -> Option<i64> {
        last_ms
            .map(|last| now_ms - last)
            .filter(|age| *age > self.missed_after_ms())
    }
}

impl Default for Silence {
    fn default() -> Self {
        Self {
            interval_ms: DEFAULT_INTERVAL_MS,
            offline_after_ms: DEFAULT_OFFLINE_AFTER_MS,
        }
    }
}

impl MonitorStatus {
    /// `last_ms`: the newest reading's time.
    pub fn at(now_ms: i64, last_ms: Option<i64>, silence: Silence) -> Self {
        match last_ms.map(|last| now_ms - last) {
            None => MonitorStatus::NeverSeen,
            Some(age) if age <= silence.missed_after_ms() => MonitorStatus::Online,
            Some(age) if age <= silence.offline_after_ms => MonitorStatus::Silent,
            Some(_) => MonitorStatus::Offline,
        }
    }

    pub const fn key(self) -> &'static str {
        match self {
            MonitorStatus::Online => "monitor.status_online",
            MonitorStatus::Silent => "monitor.status_silent",
            MonitorStatus::Offline => "monitor.status_offline",
            MonitorStatus::NeverSeen => "monitor.status_never",
        }
    }

    pub const fn class(self) -> &'static str {
        match self {
            MonitorStatus::Online => "status-online",
            MonitorStatus::Silent => "status-waiting",
            MonitorStatus::Offline => "status-offline",
            MonitorStatus::NeverSeen => "status-never",
        }
    }
}

/// A monitor as the settings page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Monitor {
    pub id: i64,
    pub site_id: i64,
    pub site_name: String,
    pub name: String,
    pub phases: u8,
    pub kind: MonitorKind,
    /// Whether this monitor measures the site's total consumption.
    pub is_total: bool,
    /// The newest reading (ms UTC), if any.
    pub last_ms: Option<i64>,
    /// The monitor's usual interval between readings (ms).
    pub interval_ms: i64,
    /// Past this long without a reading it is offline (ms; the server's reporter limit).
    #[serde(default = "default_offline_after")]
    pub offline_after_ms: i64,
    /// The newest reading in the site's local time: `HH:MM:SS` when it was today, else
    /// `YYYY-MM-DD HH:MM`.
    pub last_local: Option<String>,
}

fn default_offline_after() -> i64 {
    DEFAULT_OFFLINE_AFTER_MS
}

impl Monitor {
    pub fn silence(&self) -> Silence {
        Silence {
            interval_ms: self.interval_ms,
            offline_after_ms: self.offline_after_ms,
        }
    }

    pub fn status(&self, now_ms: i64) -> MonitorStatus {
        MonitorStatus::at(now_ms, self.last_ms, self.silence())
    }
}

const MAX_NAME_LEN: usize = 100;

/// The add-monitor form, every field still text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorInput {
    pub site_id: String,
    pub name: String,
    pub phases: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidMonitor {
    pub site_id: i64,
    pub name: String,
    pub phases: u8,
    pub kind: MonitorKind,
}

impl MonitorInput {
    pub fn validate(&self) -> Result<ValidMonitor, FieldError> {
        let site_id = self
            .site_id
            .trim()
            .parse::<i64>()
            .map_err(|_| FieldError::new("site_id", "error.monitor_site_required"))?;
        let name = self.name.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "error.name_required"));
        }
        if name.chars().count() > MAX_NAME_LEN {
            return Err(FieldError::new("name", "error.name_long"));
        }
        let phases = match self.phases.trim() {
            "1" => 1,
            "3" => 3,
            _ => return Err(FieldError::new("phases", "error.phases_invalid")),
        };
        Ok(ValidMonitor {
            site_id,
            name: name.to_string(),
            phases,
            kind: MonitorKind::parse(&self.kind)?,
        })
    }
}

/// A newly made or rotated device token: shown once, stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceToken {
    pub monitor_id: i64,
    pub token: String,
}

/// One reading on the live graph. `seq` orders readings by arrival and is the SSE event id.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LivePoint {
    pub seq: i64,
    /// ms UTC.
    pub ts: i64,
    /// Current per phase (A); `None` for phases a single-phase monitor does not have.
    pub i: [Option<f64>; 3],
}

/// What the live panel starts from: server-rendered, then kept up to date by the event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSnapshot {
    pub monitor: Monitor,
    pub main_fuse_a: u16,
    /// The server's clock when the snapshot was taken (ms UTC).
    pub now_ms: i64,
    /// The site's clock, for time labels.
    pub clock: crate::clock::LocalClock,
    /// The readings of the last [`LIVE_WINDOW_MS`], oldest first.
    pub points: Vec<LivePoint>,
    /// The newest `seq` the snapshot saw; the stream continues after it.
    pub last_seq: i64,
}

/// The live graph's window: 15 minutes.
pub const LIVE_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Headroom per phase: main fuse − measured current. Export (negative current) does not add
/// headroom above the fuse.
pub fn headroom(main_fuse_a: u16, current_a: f64) -> f64 {
    f64::from(main_fuse_a) - current_a.max(0.0)
}

/// A history page's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryView {
    Day,
    Week,
    Month,
    Year,
}

impl HistoryView {
    pub const ALL: [HistoryView; 4] = [
        HistoryView::Day,
        HistoryView::Week,
        HistoryView::Month,
        HistoryView::Year,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            HistoryView::Day => "day",
            HistoryView::Week => "week",
            HistoryView::Month => "month",
            HistoryView::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub const fn key(self) -> &'static str {
        match self {
            HistoryView::Day => "history.day",
            HistoryView::Week => "history.week",
            HistoryView::Month => "history.month",
            HistoryView::Year => "history.year",
        }
    }
}

/// The rollup a history bucket comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Minute,
    Hour,
    /// A local calendar day of the site (23, 24 or 25 hours).
    Day,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    pub const fn code(self) -> &'static str {
        match self {
            Resolution::Minute => "m",
            Resolution::Hour => "h",
            Resolution::Day => "d",
        }
    }
}

/// Per-phase current over a bucket (A).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

/// One bucket of a history series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryBucket {
    /// Bucket start, ms UTC.
    pub start: i64,
    /// The start in the site's local time, ISO 8601 with offset (for CSV and labels).
    pub local: String,
    pub readings: i64,
    pub phases: [Option<PhaseStats>; 3],
    /// Imported energy (kWh): from the meter's counters where it has them, else estimated from
    /// power.
    pub import_kwh: f64,
    pub export_kwh: f64,
}

/// A history page: the span, its buckets and totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub monitor_id: i64,
    pub monitor_name: String,
    pub view: HistoryView,
    pub resolution: Resolution,
    /// The first local day of the span, `YYYY-MM-DD`.
    pub from: String,
    /// The day after the span, `YYYY-MM-DD`.
    pub to: String,
    /// The span's last day, `YYYY-MM-DD`.
    pub last_day: String,
    /// The span before this one and the one after (their first days), for paging; no later
    /// span once this one reaches today.
    pub previous: String,
    pub next: Option<String>,
    /// The span in ms UTC: [from_ms, to_ms).
    pub from_ms: i64,
    pub to_ms: i64,
    /// Axis labels in the site's local time: (fraction of the span, label).
    pub ticks: Vec<(f64, String)>,
    pub buckets: Vec<HistoryBucket>,
    pub import_kwh: f64,
    pub export_kwh: f64,
    pub main_fuse_a: u16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// A meter reporting every 2 s, offline after 30 s: silent from the first missed reading
    /// (issue 21: the live card said "Offline" after 5 s while the reporter said ACTIVE for
    /// 25 s more).
    #[rstest]
    #[case::never(None, MonitorStatus::NeverSeen)]
    #[case::just_now(Some(100_000), MonitorStatus::Online)]
    #[case::next_reading_not_yet_late(Some(100_000 - 4_000), MonitorStatus::Online)]
    #[case::a_reading_missed(Some(100_000 - 4_001), MonitorStatus::Silent)]
    #[case::silent_up_to_the_limit(Some(100_000 - 30_000), MonitorStatus::Silent)]
    #[case::offline_past_the_limit(Some(100_000 - 30_001), MonitorStatus::Offline)]
    fn status_follows_the_last_reading(#[case] last: Option<i64>, #[case] want: MonitorStatus) {
        let silence = Silence {
            interval_ms: 2_000,
            offline_after_ms: 30_000,
        };
        assert_eq!(MonitorStatus::at(100_000, last, silence), want);
    }

    #[rstest]
    #[case::import(20, 12.5, 7.5)]
    #[case::over_the_fuse(20, 23.0, -3.0)]
    #[case::export_adds_nothing(20, -8.0, 20.0)]
    fn headroom_per_phase(#[case] fuse: u16, #[case] current: f64, #[case] want: f64) {
        assert_eq!(headroom(fuse, current), want);
    }

    fn input(site: &str, name: &str, phases: &str, kind: &str) -> MonitorInput {
        MonitorInput {
            site_id: site.into(),
            name: name.into(),
            phases: phases.into(),
            kind: kind.into(),
        }
    }

    #[rstest]
    #[case::http_three_phase(input("4", "Mains", "3", "http"), None)]
    #[case::p1_single_phase(input("4", " Mains ", "1", "p1"), None)]
    #[case::no_site(input("", "Mains", "3", "http"), Some("site_id"))]
    #[case::no_name(input("4", " ", "3", "http"), Some("name"))]
    #[case::two_phases(input("4", "Mains", "2", "http"), Some("phases"))]
    #[case::unknown_kind(input("4", "Mains", "3", "mqtt"), Some("kind"))]
    fn monitor_form(#[case] input: MonitorInput, #[case] failing: Option<&str>) {
        assert_eq!(input.validate().err().map(|e| e.field), failing);
    }
}
