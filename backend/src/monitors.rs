//! Monitors: registering them on a site, their device tokens, the ingest of their readings, the
//! live snapshot and history. People reach a monitor through its site ([`access::require`]);
//! devices through the monitor's token.

use base64::Engine;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use model::monitor::{
    DeviceToken, History, HistoryView, LIVE_WINDOW_MS, LiveSnapshot, MonitorInput, Resolution,
};
use model::{Account, FieldError, Monitor};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::access::{self, Need};
use crate::db::{DeviceRecord, MonitorRecord, WriteJob};
use crate::readings::{Limits, Reading, Rejection};
use crate::{Error, Services};

/// What the ingest API needs of a monitor, kept by id so a meter's request (one a second, from
/// thousands of meters) costs no database read to authenticate. What would make an entry wrong
/// clears it at once in this process (a new token, a deleted monitor, a site's new time zone);
/// entries also expire, bounding what another server process changed.
#[derive(Default)]
pub struct DeviceCache {
    entries: std::sync::Mutex<std::collections::HashMap<i64, (DeviceRecord, std::time::Instant)>>,
}

/// How long a device record is trusted without reading it again.
const DEVICE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

impl DeviceCache {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, (DeviceRecord, std::time::Instant)>>
    {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, monitor_id: i64) -> Option<DeviceRecord> {
        self.lock()
            .get(&monitor_id)
            .filter(|(_, at)| at.elapsed() < DEVICE_CACHE_TTL)
            .map(|(d, _)| d.clone())
    }

    fn put(&self, device: DeviceRecord) {
        self.lock()
            .insert(device.id, (device, std::time::Instant::now()));
    }

    pub fn forget(&self, monitor_id: i64) {
        self.lock().remove(&monitor_id);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Device tokens start with this, so a leaked one is recognisable in logs and scanners.
pub const TOKEN_PREFIX: &str = "amp_";

fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&token);
    (token, hash)
}

fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// The monitor as pages show it: offline past the server's limit, as its reporters count it.
fn shown(services: &Services, monitor: Monitor) -> Monitor {
    Monitor {
        offline_after_ms: services.silent_after_ms,
        ..monitor
    }
}

pub async fn list(services: &Services, actor: &Account) -> Result<Vec<Monitor>, Error> {
    Ok(services
        .monitors
        .monitors_for(actor.id)
        .await?
        .into_iter()
        .map(|r| shown(services, r.monitor))
        .collect())
}

/// The monitor, when `actor` may work on its site; else [`Error::NotFound`].
pub async fn get(
    services: &Services,
    actor: &Account,
    monitor_id: i64,
) -> Result<MonitorRecord, Error> {
    let record = services
        .monitors
        .monitor(monitor_id)
        .await?
        .ok_or(Error::NotFound)?;
    access::require(services, actor, record.monitor.site_id, Need::Work).await?;
    Ok(record)
}

/// Registers a monitor; its device token is in the answer and nowhere else.
pub async fn create(
    services: &Services,
    actor: &Account,
    input: &MonitorInput,
) -> Result<DeviceToken, Error> {
    let monitor = input.validate()?;
    access::require(services, actor, monitor.site_id, Need::Work)
        .await
        .map_err(|e| match e {
            Error::NotFound => FieldError::new("site_id", "error.monitor_site_required").into(),
            e => e,
        })?;
    let (token, hash) = new_token();
    let monitor_id = services
        .monitors
        .create_monitor(&monitor, &hash, actor.id)
        .await?;
    Ok(DeviceToken { monitor_id, token })
}

/// A new token; the old one stops working at once.
pub async fn rotate_token(
    services: &Services,
    actor: &Account,
    monitor_id: i64,
) -> Result<DeviceToken, Error> {
    get(services, actor, monitor_id).await?;
    let (token, hash) = new_token();
    services
        .monitors
        .set_token(monitor_id, &hash, actor.id)
        .await?;
    // The old token stops working on every process at once.
    services.device_changed(Some(monitor_id));
    Ok(DeviceToken { monitor_id, token })
}

/// Makes the monitor its site's total-consumption monitor.
pub async fn make_total(
    services: &Services,
    actor: &Account,
    monitor_id: i64,
) -> Result<(), Error> {
    let record = get(services, actor, monitor_id).await?;
    Ok(services
        .monitors
        .set_total_monitor(record.monitor.site_id, monitor_id)
        .await?)
}

/// Deletes the monitor with its readings; refused while a reporter forwards it.
pub async fn delete(services: &Services, actor: &Account, monitor_id: i64) -> Result<(), Error> {
    get(services, actor, monitor_id).await?;
    if services.reporters.reporters_of_monitor(monitor_id).await? > 0 {
        return Err(FieldError::new("monitor", "error.monitor_has_reporter").into());
    }
    services.monitors.delete_monitor(monitor_id).await?;
    services.device_changed(Some(monitor_id));
    services.access_changed();
    Ok(())
}

/// Why a device's request was refused before its body was read.
#[derive(Debug, PartialEq, Eq)]
pub enum DeviceRefusal {
    UnknownMonitor,
    MissingToken,
    WrongToken,
}

/// The monitor a device speaks for, when its bearer token is that monitor's.
pub async fn authorize(
    services: &Services,
    monitor_id: i64,
    bearer: Option<&str>,
) -> Result<Result<DeviceRecord, DeviceRefusal>, Error> {
    let device = match services.devices.get(monitor_id) {
        Some(device) => device,
        None => match services.monitors.device(monitor_id).await? {
            Some(device) => {
                services.devices.put(device.clone());
                device
            }
            None => return Ok(Err(DeviceRefusal::UnknownMonitor)),
        },
    };
    let Some(token) = bearer.filter(|t| !t.is_empty()) else {
        return Ok(Err(DeviceRefusal::MissingToken));
    };
    if hash_token(token) != device.token_hash {
        return Ok(Err(DeviceRefusal::WrongToken));
    }
    Ok(Ok(device))
}

/// The limits a device's readings are checked against now.
pub fn limits(services: &Services, device: &DeviceRecord) -> Limits {
    let now = now_ms();
    Limits {
        phases: device.phases,
        now_ms: now,
        oldest_ms: now - services.raw_retention_days * 86_400_000,
    }
}

/// What an ingest request achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Ingested {
    pub received: usize,
    pub stored: usize,
    /// Readings whose (monitor, time) was stored before: not stored twice.
    pub duplicates: usize,
}

pub async fn ingest(
    services: &Services,
    device: &DeviceRecord,
    readings: Vec<Reading>,
) -> Result<Ingested, Error> {
    let received = readings.len();
    let tz = zone(&device.time_zone);
    let stored = services
        .ingest
        .write(WriteJob {
            monitor_id: device.id,
            tz,
            readings,
        })
        .await?
        .len();
    Ok(Ingested {
        received,
        stored,
        duplicates: received - stored,
    })
}

/// Decodes a device's request body (JSON or telegrams, by the monitor's kind).
pub fn decode(
    services: &Services,
    device: &DeviceRecord,
    telegrams: bool,
    body: &[u8],
) -> Result<Vec<Reading>, Rejection> {
    let limits = limits(services, device);
    if telegrams {
        crate::telegram::parse(body, &limits)
    } else {
        crate::readings::decode_json(body, &limits)
    }
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// The site's total-consumption monitor with the last 15 minutes of readings; `None` when the
/// site has no monitor.
pub async fn snapshot(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<Option<LiveSnapshot>, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    let Some(record) = services.monitors.total_monitor(site_id).await? else {
        return Ok(None);
    };
    let now = now_ms();
    let points = services
        .monitors
        .live_points(record.monitor.id, 0, now - LIVE_WINDOW_MS, LIVE_POINTS_MAX)
        .await?;
    let last_seq = points.iter().map(|p| p.seq).max().unwrap_or(0);
    Ok(Some(LiveSnapshot {
        monitor: shown(services, record.monitor),
        main_fuse_a: record.main_fuse_a,
        now_ms: now,
        clock: crate::schedule::local_clock(&zone(&record.time_zone), now),
        points,
        last_seq,
    }))
}

/// At most this many readings in a live window (15 minutes at 1 per second is 900).
pub const LIVE_POINTS_MAX: i64 = 5000;

/// The days of a history view around `date` (a local date, `YYYY-MM-DD`; today by default).
fn span(view: HistoryView, date: Date) -> Result<(Date, Date), jiff::Error> {
    Ok(match view {
        HistoryView::Day => (date, date.tomorrow()?),
        HistoryView::Week => {
            let monday =
                date.checked_sub((date.weekday().to_monday_zero_offset() as i64).days())?;
            (monday, monday.checked_add(7.days())?)
        }
        HistoryView::Month => {
            let first = date.first_of_month();
            (first, first.checked_add(1.month())?)
        }
        HistoryView::Year => {
            let first = date.first_of_year();
            (first, first.checked_add(1.year())?)
        }
    })
}

fn resolution(view: HistoryView) -> Resolution {
    match view {
        HistoryView::Day => Resolution::Minute,
        HistoryView::Week => Resolution::Hour,
        HistoryView::Month | HistoryView::Year => Resolution::Day,
    }
}

/// A history view of a monitor from its rollups, in the site's local time.
pub async fn history(
    services: &Services,
    actor: &Account,
    monitor_id: i64,
    view: HistoryView,
    date: Option<&str>,
) -> Result<History, Error> {
    let record = get(services, actor, monitor_id).await?;
    let tz = zone(&record.time_zone);
    let today = Timestamp::now().to_zoned(tz.clone()).date();
    let date = match date.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => d
            .parse::<Date>()
            .map_err(|_| FieldError::new("date", "error.date_invalid"))?,
        None => today,
    };
    let invalid = |_| Error::from(FieldError::new("date", "error.date_invalid"));
    let (first, end) = span(view, date).map_err(invalid)?;
    let (previous, _) = span(view, first.yesterday().map_err(invalid)?).map_err(invalid)?;
    let midnight = |d: Date| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(invalid)
    };
    let (from, to) = (midnight(first)?, midnight(end)?);
    let resolution = resolution(view);
    // One bucket before the span, so the first bucket's energy counts from the previous one.
    let lookback = match resolution {
        Resolution::Minute => 60_000,
        Resolution::Hour => 3_600_000,
        Resolution::Day => 25 * 3_600_000,
    };
    let rows = services
        .monitors
        .rollups(monitor_id, resolution, from - lookback, to)
        .await?;
    let label = |start: i64| {
        Timestamp::from_millisecond(start)
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%dT%H:%M%:z")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let mut buckets = Vec::with_capacity(rows.len());
    let mut before = None;
    for (start, agg) in &rows {
        if *start >= from {
            buckets.push(agg.to_bucket(*start, label(*start), before, resolution));
        }
        before = Some(agg);
    }
    let ticks = ticks(view, first, end, &tz, from, to);
    Ok(History {
        from_ms: from,
        to_ms: to,
        ticks,
        monitor_id,
        monitor_name: record.monitor.name,
        view,
        resolution,
        from: first.to_string(),
        to: end.to_string(),
        last_day: end.yesterday().map_err(invalid)?.to_string(),
        previous: previous.to_string(),
        next: (end <= today).then(|| end.to_string()),
        import_kwh: buckets.iter().map(|b| b.import_kwh).sum(),
        export_kwh: buckets.iter().map(|b| b.export_kwh).sum(),
        buckets,
        main_fuse_a: record.main_fuse_a,
    })
}

/// Axis labels for a span: every 6 hours of a day, every day of a week, weekly in a month,
/// quarterly in a year; in local time.
fn ticks(
    view: HistoryView,
    first: Date,
    end: Date,
    tz: &TimeZone,
    from: i64,
    to: i64,
) -> Vec<(f64, String)> {
    let at = |d: jiff::civil::DateTime| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .ok()
    };
    let midnight = first.to_datetime(jiff::civil::Time::midnight());
    let points: Vec<(jiff::civil::DateTime, String)> = match view {
        HistoryView::Day => (0..=4)
            .filter_map(|k| {
                let t = midnight.checked_add((6 * k).hours()).ok()?;
                Some((t, format!("{:02}:00", (6 * k) % 24)))
            })
            .collect(),
        HistoryView::Week | HistoryView::Month => {
            let step = if view == HistoryView::Week { 1 } else { 7 };
            (0..)
                .map(|k| first.checked_add((k * step).days()))
                .take_while(|d| d.as_ref().is_ok_and(|d| *d <= end))
                .filter_map(|d| d.ok())
                .map(|d| {
                    (
                        d.to_datetime(jiff::civil::Time::midnight()),
                        d.strftime("%m-%d").to_string(),
                    )
                })
                .collect()
        }
        HistoryView::Year => (0..=4)
            .filter_map(|k| {
                let d = first.checked_add((3 * k).months()).ok()?;
                Some((
                    d.to_datetime(jiff::civil::Time::midnight()),
                    d.strftime("%Y-%m").to_string(),
                ))
            })
            .collect(),
    };
    let span = (to - from).max(1) as f64;
    points
        .into_iter()
        .filter_map(|(t, label)| Some(((at(t)? - from) as f64 / span, label)))
        .collect()
}

/// The history as CSV (RFC 4180, `.` decimals, one row per bucket, local and UTC times).
pub fn history_csv(history: &History) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "start_local,start_utc,readings,\
         l1_min_a,l1_mean_a,l1_max_a,l2_min_a,l2_mean_a,l2_max_a,l3_min_a,l3_mean_a,l3_max_a,\
         import_kwh,export_kwh\r\n",
    );
    for b in &history.buckets {
        let utc = Timestamp::from_millisecond(b.start)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let _ = write!(out, "{},{utc},{}", b.local, b.readings);
        for phase in b.phases {
            match phase {
                Some(p) => {
                    let _ = write!(out, ",{:.2},{:.2},{:.2}", p.min, p.mean, p.max);
                }
                None => out.push_str(",,,"),
            }
        }
        let _ = write!(out, ",{:.3},{:.3}\r\n", b.import_kwh, b.export_kwh);
    }
    out
}

/// Deletes raw readings past the retention window; rollups stay.
pub async fn prune(services: &Services) -> Result<u64, Error> {
    let cutoff = now_ms() - services.raw_retention_days * 86_400_000;
    Ok(services.monitors.delete_raw_before(cutoff).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::day(HistoryView::Day, "2026-03-29", "2026-03-29", "2026-03-30")]
    #[case::week_from_sunday(HistoryView::Week, "2026-11-29", "2026-11-23", "2026-11-30")]
    #[case::week_from_monday(HistoryView::Week, "2026-11-23", "2026-11-23", "2026-11-30")]
    #[case::month(HistoryView::Month, "2026-02-14", "2026-02-01", "2026-03-01")]
    #[case::year(HistoryView::Year, "2026-07-01", "2026-01-01", "2027-01-01")]
    fn spans(#[case] view: HistoryView, #[case] date: &str, #[case] from: &str, #[case] to: &str) {
        let (f, t) = span(view, date.parse().unwrap()).unwrap();
        assert_eq!((f.to_string().as_str(), t.to_string().as_str()), (from, to));
    }

    #[test]
    fn a_day_has_ticks_every_six_hours_even_on_the_dst_day() {
        let tz = TimeZone::get("Europe/Stockholm").unwrap();
        let first: Date = "2026-03-29".parse().unwrap();
        let (_, end) = span(HistoryView::Day, first).unwrap();
        let ms = |d: Date| d.to_zoned(tz.clone()).unwrap().timestamp().as_millisecond();
        let t = ticks(HistoryView::Day, first, end, &tz, ms(first), ms(end));
        let labels: Vec<&str> = t.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["00:00", "06:00", "12:00", "18:00", "00:00"]);
        // 23 hours: 06:00 local is 5 hours into the day.
        assert!((t[1].0 - 5.0 / 23.0).abs() < 1e-9, "{t:?}");
        assert_eq!(t[4].0, 1.0);
    }

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(
            a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43,
            "{a}"
        );
        assert_eq!(hash_token(&a), hash_a);
        assert_ne!(hash_a, a.as_bytes());
    }
}
