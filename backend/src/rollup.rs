//! Rollups: per monitor, per minute, hour and local day, the min / mean / max current of each
//! phase and what energy needs. Built in memory for a batch of new readings, then merged into
//! the stored rows ([`Agg::merge`] is what the database's upsert does too).

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use model::monitor::{HistoryBucket, PhaseStats, Resolution};

use crate::readings::{NOMINAL_VOLTAGE_V, Reading};

/// One bucket's aggregate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub n: i64,
    pub ts_min: i64,
    pub ts_max: i64,
    /// Per phase: (min, max, sum) of current.
    pub current: [Option<(f64, f64, f64)>; 3],
    /// Sum of the total power of the readings (W).
    pub p_sum: f64,
    pub import: Option<(f64, f64)>,
    pub export: Option<(f64, f64)>,
}

fn merge_range(a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, b) => a.or(b),
    }
}

impl Agg {
    pub fn of(r: &Reading) -> Self {
        let mut current = [None; 3];
        for (slot, i) in current.iter_mut().zip(r.current_a) {
            *slot = i.map(|i| (i, i, i));
        }
        Agg {
            n: 1,
            ts_min: r.ts,
            ts_max: r.ts,
            current,
            p_sum: total_power_w(r),
            import: r.import_kwh.map(|e| (e, e)),
            export: r.export_kwh.map(|e| (e, e)),
        }
    }

    pub fn merge(&mut self, other: &Agg) {
        self.n += other.n;
        self.ts_min = self.ts_min.min(other.ts_min);
        self.ts_max = self.ts_max.max(other.ts_max);
        for (mine, theirs) in self.current.iter_mut().zip(other.current) {
            *mine = match (*mine, theirs) {
                (Some((a0, a1, a2)), Some((b0, b1, b2))) => Some((a0.min(b0), a1.max(b1), a2 + b2)),
                (a, b) => a.or(b),
            };
        }
        self.p_sum += other.p_sum;
        self.import = merge_range(self.import, other.import);
        self.export = merge_range(self.export, other.export);
    }

    fn bucket_ms(&self, resolution: Resolution, start: i64) -> i64 {
        match resolution {
            Resolution::Minute => 60_000,
            Resolution::Hour => 3_600_000,
            // A local day: covered span only, see `energy_kwh`.
            Resolution::Day => (self.ts_max - start).max(0) + 1,
        }
    }

    /// Energy (import, export) in kWh. With counters: their growth since the previous bucket
    /// (`previous_max`) or within this one. Without: mean power × the time the readings cover.
    pub fn energy_kwh(
        &self,
        previous: Option<&Agg>,
        resolution: Resolution,
        start: i64,
    ) -> (f64, f64) {
        let grown = |now: Option<(f64, f64)>, before: Option<(f64, f64)>| {
            now.map(|(lo, hi)| (hi - before.map(|(_, b)| b).unwrap_or(lo)).max(0.0))
        };
        let import = grown(self.import, previous.and_then(|p| p.import));
        let export = grown(self.export, previous.and_then(|p| p.export));
        if let (Some(i), Some(e)) = (import, export) {
            return (i, e);
        }
        // No counters: integrate power over the covered time (one interval per reading).
        let covered_ms = if self.n > 1 {
            let span = (self.ts_max - self.ts_min) as f64;
            (span * self.n as f64 / (self.n - 1) as f64)
                .min(self.bucket_ms(resolution, start) as f64)
        } else {
            0.0
        };
        let mean_w = self.p_sum / self.n as f64;
        let kwh = mean_w * covered_ms / 3_600_000.0 / 1000.0;
        (
            import.unwrap_or(kwh.max(0.0)),
            export.unwrap_or((-kwh).max(0.0)),
        )
    }

    pub fn to_bucket(
        &self,
        start: i64,
        local: String,
        previous: Option<&Agg>,
        resolution: Resolution,
    ) -> HistoryBucket {
        let (import_kwh, export_kwh) = self.energy_kwh(previous, resolution, start);
        HistoryBucket {
            start,
            local,
            readings: self.n,
            phases: self.current.map(|c| {
                c.map(|(min, max, sum)| PhaseStats {
                    min,
                    mean: sum / self.n as f64,
                    max,
                })
            }),
            import_kwh,
            export_kwh,
        }
    }
}

/// The reading's total power (W): measured per phase where it can be, else current × voltage
/// (nominal where the meter gives none).
pub fn total_power_w(r: &Reading) -> f64 {
    (0..3)
        .map(|p| match (r.power_w[p], r.current_a[p]) {
            (Some(w), _) => w,
            (None, Some(i)) => i * r.voltage_v[p].unwrap_or(NOMINAL_VOLTAGE_V),
            (None, None) => 0.0,
        })
        .sum()
}

/// The start (ms UTC) of the bucket holding `ts`. Days are the site's local calendar days.
pub struct Bucketer {
    tz: TimeZone,
    /// The last local day seen: [start, end).
    day: Option<(i64, i64)>,
}

impl Bucketer {
    pub fn new(tz: TimeZone) -> Self {
        Self { tz, day: None }
    }

    pub fn start(&mut self, resolution: Resolution, ts: i64) -> i64 {
        match resolution {
            Resolution::Minute => ts.div_euclid(60_000) * 60_000,
            Resolution::Hour => ts.div_euclid(3_600_000) * 3_600_000,
            Resolution::Day => {
                if let Some((start, end)) = self.day
                    && (start..end).contains(&ts)
                {
                    return start;
                }
                let (start, end) = local_day(&self.tz, ts);
                self.day = Some((start, end));
                start
            }
        }
    }
}

/// The local calendar day around `ts`: [midnight, next midnight) in ms UTC.
pub fn local_day(tz: &TimeZone, ts: i64) -> (i64, i64) {
    let zoned = Timestamp::from_millisecond(ts)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone());
    let start = zoned.start_of_day().map(|z| z.timestamp());
    let end = zoned
        .tomorrow()
        .and_then(|z| z.start_of_day())
        .map(|z| z.timestamp());
    match (start, end) {
        (Ok(s), Ok(e)) => (s.as_millisecond(), e.as_millisecond()),
        _ => {
            let s = ts.div_euclid(86_400_000) * 86_400_000;
            (s, s + 86_400_000)
        }
    }
}

/// The aggregates of `readings` per (resolution, bucket start).
pub fn aggregate<'a>(
    tz: &TimeZone,
    readings: impl IntoIterator<Item = &'a Reading>,
) -> HashMap<(Resolution, i64), Agg> {
    let mut buckets: HashMap<(Resolution, i64), Agg> = HashMap::new();
    let mut bucketer = Bucketer::new(tz.clone());
    for r in readings {
        let agg = Agg::of(r);
        for resolution in Resolution::ALL {
            let start = bucketer.start(resolution, r.ts);
            buckets
                .entry((resolution, start))
                .and_modify(|a| a.merge(&agg))
                .or_insert(agg);
        }
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(ts: i64, i: [f64; 3], import: Option<f64>) -> Reading {
        Reading {
            ts,
            current_a: i.map(Some),
            import_kwh: import,
            export_kwh: import.map(|_| 0.0),
            ..Reading::default()
        }
    }

    fn stockholm() -> TimeZone {
        TimeZone::get("Europe/Stockholm").unwrap()
    }

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn minute_hour_and_day_buckets_hold_min_mean_max() {
        let t = ms("2026-11-27T10:15:30Z");
        let readings = [
            reading(t, [10.0, 1.0, -4.0], Some(100.0)),
            reading(t + 10_000, [20.0, 3.0, -2.0], Some(100.1)),
            reading(t + 40_000, [15.0, 2.0, 0.0], Some(100.2)),
        ];
        let buckets = aggregate(&stockholm(), &readings);
        assert_eq!(buckets.len(), 2 + 1 + 1, "{buckets:?}");
        let minute = buckets[&(Resolution::Minute, ms("2026-11-27T10:15:00Z"))];
        assert_eq!(minute.n, 2);
        assert_eq!(minute.current[0], Some((10.0, 20.0, 30.0)));
        assert_eq!(minute.current[2], Some((-4.0, -2.0, -6.0)));
        let day = buckets[&(Resolution::Day, ms("2026-11-26T23:00:00Z"))];
        assert_eq!(day.n, 3);
        assert_eq!(day.import, Some((100.0, 100.2)));
    }

    #[test]
    fn local_days_follow_dst() {
        let tz = stockholm();
        // Spring forward: 23 hours. Fall back: 25 hours.
        let (s, e) = local_day(&tz, ms("2026-03-29T12:00:00Z"));
        assert_eq!((s, e - s), (ms("2026-03-28T23:00:00Z"), 23 * 3_600_000));
        let (s, e) = local_day(&tz, ms("2026-10-25T12:00:00Z"));
        assert_eq!((s, e - s), (ms("2026-10-24T22:00:00Z"), 25 * 3_600_000));
    }

    #[test]
    fn energy_comes_from_counters_across_buckets() {
        let mut earlier = Agg::of(&reading(0, [1.0; 3], Some(10.0)));
        earlier.merge(&Agg::of(&reading(30_000, [1.0; 3], Some(10.5))));
        let mut later = Agg::of(&reading(60_000, [1.0; 3], Some(10.6)));
        later.merge(&Agg::of(&reading(90_000, [1.0; 3], Some(11.0))));
        let (import, _) = later.energy_kwh(Some(&earlier), Resolution::Minute, 60_000);
        assert!((import - 0.5).abs() < 1e-9, "{import}");
        let (import, _) = later.energy_kwh(None, Resolution::Minute, 60_000);
        assert!((import - 0.4).abs() < 1e-9, "{import}");
    }

    #[test]
    fn energy_without_counters_integrates_power() {
        // 10 A on each phase at 230 V = 6.9 kW for a full hour of 1-minute readings.
        let mut agg = Agg::of(&reading(0, [10.0; 3], None));
        for k in 1..60 {
            agg.merge(&Agg::of(&reading(k * 60_000, [10.0; 3], None)));
        }
        let (import, export) = agg.energy_kwh(None, Resolution::Hour, 0);
        assert!((import - 6.9).abs() < 1e-9, "{import}");
        assert_eq!(export, 0.0);
    }
}
