//! Local-time windows to UTC, DST and all: the Simple schedule's weekly windows and optiCharge's
//! daily window. A site lives in its own time zone; a window "00:00–06:00" lasts five hours on
//! the night clocks go forward and seven on the night they go back.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use model::charging::{Minute, Window};
use model::clock::LocalClock;

/// `minute` on local `date` in ms UTC; a time the clocks skip is taken as the time after the
/// gap, a time they repeat as its first occurrence (jiff's "compatible").
pub fn local_ms(tz: &TimeZone, date: Date, minute: Minute) -> Option<i64> {
    let time = Time::new((minute / 60 % 24) as i8, (minute % 60) as i8, 0, 0).ok()?;
    let zoned = date.to_datetime(time).to_zoned(tz.clone()).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

pub fn local_date(tz: &TimeZone, ms: i64) -> Date {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
        .date()
}

/// The UTC interval of `window` when it starts on local `date`, if it is on that day.
fn occurrence(tz: &TimeZone, window: &Window, date: Date) -> Option<(i64, i64)> {
    let weekday = date.weekday().to_monday_zero_offset() as usize;
    if !window.days[weekday] {
        return None;
    }
    let start = local_ms(tz, date, window.from)?;
    let end_date = if window.to > window.from {
        date
    } else {
        date.checked_add(1.day()).ok()?
    };
    let end = local_ms(tz, end_date, window.to)?;
    (end > start).then_some((start, end))
}

/// The windows' intervals that touch [from, until), merged where they meet or overlap, by time.
pub fn intervals(
    tz: &TimeZone,
    windows: &[Window],
    from_ms: i64,
    until_ms: i64,
) -> Vec<(i64, i64)> {
    let first = local_date(tz, from_ms).checked_sub(1.day()).ok();
    let last = local_date(tz, until_ms);
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut day = first;
    while let Some(date) = day.filter(|d| *d <= last) {
        for w in windows {
            if let Some((s, e)) = occurrence(tz, w, date)
                && e > from_ms
                && s < until_ms
            {
                out.push((s, e));
            }
        }
        day = date.checked_add(1.day()).ok();
    }
    out.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(out.len());
    for (s, e) in out {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Whether the schedule allows charging at `now_ms`, and when that changes (within a week and
/// a day; `None`: not in that time).
pub fn allowed_at(tz: &TimeZone, windows: &[Window], now_ms: i64) -> (bool, Option<i64>) {
    let horizon = now_ms + 8 * 86_400_000;
    let list = intervals(tz, windows, now_ms, horizon);
    match list.iter().find(|(s, e)| *s <= now_ms && now_ms < *e) {
        Some((_, end)) => (true, Some(*end)),
        None => (false, list.iter().map(|(s, _)| *s).find(|s| *s > now_ms)),
    }
}

/// optiCharge's window around `now_ms`: from `from` (local; `None`: `plugged_in_ms`, when the
/// plan was asked for) until the next `ready_by` after that start. Once it has passed, the
/// next day's.
pub fn opti_window(
    tz: &TimeZone,
    from: Option<Minute>,
    ready_by: Minute,
    plugged_in_ms: i64,
    now_ms: i64,
) -> Option<(i64, i64)> {
    let next_at = |minute: Minute, after: i64| -> Option<i64> {
        let mut date = local_date(tz, after);
        for _ in 0..3 {
            let t = local_ms(tz, date, minute)?;
            if t > after {
                return Some(t);
            }
            date = date.checked_add(1.day()).ok()?;
        }
        None
    };
    match from {
        None => {
            // From plug-in to ready-by; after that, ready-by to ready-by (the car stays plugged).
            let mut start = plugged_in_ms;
            let mut end = next_at(ready_by, start)?;
            while end <= now_ms {
                start = end;
                end = next_at(ready_by, start)?;
            }
            Some((start, end))
        }
        Some(from) => {
            // The window that contains now, else the next one.
            let day_before = now_ms - 86_400_000 - 3_600_000;
            let start = next_at(from, day_before)?;
            let end = next_at(ready_by, start)?;
            if now_ms < end {
                Some((start, end))
            } else {
                let start = next_at(from, start)?;
                Some((start, next_at(ready_by, start)?))
            }
        }
    }
}

/// A site's clock for its pages ([`LocalClock`]): the offset two days back and every change in
/// the five days around `now_ms`, enough for a day's graph, a two-day plan, and a page left open
/// through a night.
pub fn local_clock(tz: &TimeZone, now_ms: i64) -> LocalClock {
    const DAY_MS: i64 = 86_400_000;
    let start = Timestamp::from_millisecond(now_ms - 2 * DAY_MS).unwrap_or(Timestamp::UNIX_EPOCH);
    let end = now_ms + 3 * DAY_MS;
    let mut offsets = vec![(start.as_millisecond(), tz.to_offset(start).seconds())];
    offsets.extend(
        tz.following(start)
            .map(|change| {
                (
                    change.timestamp().as_millisecond(),
                    change.offset().seconds(),
                )
            })
            .take_while(|(ms, _)| *ms <= end),
    );
    LocalClock(offsets)
}

/// Stockholm times for tests, written as local wall-clock times.
#[cfg(test)]
pub(crate) mod test_time {
    use jiff::tz::TimeZone;

    pub fn tz() -> TimeZone {
        TimeZone::get("Europe/Stockholm").unwrap()
    }

    /// `2024-03-31T02:30:00` in Stockholm, as ms UTC.
    pub fn at(local: &str) -> i64 {
        local
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(tz())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }
}

#[cfg(test)]
mod tests {
    use super::test_time::{at, tz};
    use super::*;
    use rstest::rstest;

    const EVERY_DAY: [bool; 7] = [true; 7];
    const WEEKDAYS: [bool; 7] = [true, true, true, true, true, false, false];

    fn window(days: [bool; 7], from: &str, to: &str) -> Window {
        Window {
            days,
            from: model::charging::parse_minute(from).unwrap(),
            to: model::charging::parse_minute(to).unwrap(),
        }
    }

    fn hours(intervals: &[(i64, i64)]) -> Vec<f64> {
        intervals
            .iter()
            .map(|(s, e)| (e - s) as f64 / 3_600_000.0)
            .collect()
    }

    #[rstest]
    // 2026-03-29: clocks go from 02:00 to 03:00 in Stockholm; 2026-10-25: from 03:00 to 02:00.
    #[case::ordinary_night("2026-03-27T12:00:00", vec![6.0])]
    #[case::spring_forward_night("2026-03-28T12:00:00", vec![5.0])]
    #[case::fall_back_night("2026-10-24T12:00:00", vec![7.0])]
    fn an_overnight_window_follows_the_clocks(#[case] noon: &str, #[case] want: Vec<f64>) {
        let w = [window(EVERY_DAY, "23:00", "05:00")];
        let start = at(noon);
        let got = intervals(&tz(), &w, start, start + 20 * 3_600_000);
        assert_eq!(hours(&got), want);
    }

    #[rstest]
    #[case::inside("2026-11-30T23:30:00", true, "2026-12-01T05:00:00")]
    #[case::before("2026-11-30T22:59:00", false, "2026-11-30T23:00:00")]
    #[case::after_midnight("2026-12-01T04:59:00", true, "2026-12-01T05:00:00")]
    #[case::friday_night_is_still_a_weekday_window(
        "2026-12-05T02:00:00",
        true,
        "2026-12-05T05:00:00"
    )]
    #[case::saturday_night_is_not("2026-12-05T23:30:00", false, "2026-12-07T23:00:00")]
    fn weekday_nights(#[case] now: &str, #[case] allowed: bool, #[case] change: &str) {
        let w = [window(WEEKDAYS, "23:00", "05:00")];
        assert_eq!(allowed_at(&tz(), &w, at(now)), (allowed, Some(at(change))));
    }

    #[test]
    fn windows_that_meet_are_one() {
        let w = [
            window(EVERY_DAY, "22:00", "00:00"),
            window(EVERY_DAY, "00:00", "06:00"),
        ];
        assert_eq!(
            allowed_at(&tz(), &w, at("2026-11-30T23:00:00")),
            (true, Some(at("2026-12-01T06:00:00")))
        );
    }

    #[test]
    fn no_window_never_allows() {
        assert_eq!(
            allowed_at(&tz(), &[], at("2026-11-30T23:00:00")),
            (false, None)
        );
    }

    #[rstest]
    #[case::from_now_until_seven(
        "2026-11-30T19:10:00",
        None,
        "2026-11-30T19:10:00",
        "2026-12-01T07:00:00"
    )]
    #[case::after_seven_the_next_day(
        "2026-12-01T07:30:00",
        None,
        "2026-12-01T07:00:00",
        "2026-12-02T07:00:00"
    )]
    #[case::from_six_pm_before_it(
        "2026-11-30T12:00:00",
        Some("18:00"),
        "2026-11-30T18:00:00",
        "2026-12-01T07:00:00"
    )]
    #[case::from_six_pm_in_the_night(
        "2026-12-01T03:00:00",
        Some("18:00"),
        "2026-11-30T18:00:00",
        "2026-12-01T07:00:00"
    )]
    #[case::across_the_fall_back_night(
        "2026-10-24T20:00:00",
        Some("18:00"),
        "2026-10-24T18:00:00",
        "2026-10-25T07:00:00"
    )]
    fn opticharge_windows(
        #[case] now: &str,
        #[case] from: Option<&str>,
        #[case] start: &str,
        #[case] end: &str,
    ) {
        let plugged = at("2026-11-30T19:10:00");
        let from = from.and_then(model::charging::parse_minute);
        let got = opti_window(&tz(), from, 7 * 60, plugged.min(at(now)), at(now));
        assert_eq!(got, Some((at(start), at(end))), "{now}");
    }

    #[rstest]
    #[case::before_spring_forward("2026-03-28T22:00:00", "2026-03-29T01:30:00", "01:30")]
    #[case::after_spring_forward("2026-03-28T22:00:00", "2026-03-29T03:30:00", "03:30")]
    #[case::a_plan_ending_after_fall_back("2026-10-24T22:00:00", "2026-10-25T06:00:00", "06:00")]
    #[case::an_ordinary_night("2026-11-30T22:00:00", "2026-12-01T06:00:00", "06:00")]
    fn the_pages_clock_writes_local_times_across_a_change(
        #[case] now: &str,
        #[case] local: &str,
        #[case] shown: &str,
    ) {
        let clock = local_clock(&tz(), at(now));
        assert_eq!(clock.hm(at(local)), shown);
    }
}
