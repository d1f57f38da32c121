//! A site's wall clock in the browser, which has no time-zone database of ours: the UTC offsets
//! over the days a page shows, so a time is written right on either side of a daylight-saving
//! change (a plan made at 22:00 that ends after the clocks went forward, a graph left open on a
//! wall tablet through the night of the change).

use serde::{Deserialize, Serialize};

/// The UTC offsets of a site's time zone: `(from, offset)` pairs, `from` in ms UTC, oldest first;
/// each offset applies from its instant until the next one's. The server fills it from the
/// time-zone database for the days around now (`backend::schedule::local_clock`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalClock(pub Vec<(i64, i32)>);

impl LocalClock {
    /// One offset for all time (the first entry's offset also holds before it; its instant is
    /// 1970, not `i64::MIN`, which a browser's JSON numbers could not carry).
    pub fn fixed(offset_s: i32) -> Self {
        LocalClock(vec![(0, offset_s)])
    }

    /// The offset (s) in force at `ms` (UTC); before the first entry, the first one's.
    pub fn offset_at(&self, ms: i64) -> i32 {
        self.0
            .iter()
            .rev()
            .find(|(from, _)| *from <= ms)
            .or(self.0.first())
            .map_or(0, |(_, offset)| *offset)
    }

    /// `HH:MM:SS` of `ms` (UTC) on the site's clock.
    pub fn time(&self, ms: i64) -> String {
        let s = (ms.div_euclid(1000) + i64::from(self.offset_at(ms))).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }

    /// `HH:MM` of `ms` (UTC) on the site's clock.
    pub fn hm(&self, ms: i64) -> String {
        let mut time = self.time(ms);
        time.truncate(5);
        time
    }
}

#[cfg(test)]
mod tests {
    use super::LocalClock;

    /// Stockholm around the night of 29 March 2026: CET until 01:00 UTC, CEST after.
    fn spring() -> LocalClock {
        LocalClock(vec![(1_774_000_000_000, 3600), (1_774_746_000_000, 7200)])
    }

    #[test]
    fn each_time_is_written_with_the_offset_in_force_then() {
        let cases = [
            ("an hour before the change", 1_774_742_400_000, "01:00:00"),
            ("a second before", 1_774_745_999_000, "01:59:59"),
            (
                "at the change: 02:00 is 03:00",
                1_774_746_000_000,
                "03:00:00",
            ),
            ("the morning after", 1_774_767_600_000, "09:00:00"),
            (
                "before the first entry: the first offset",
                1_700_000_000_000,
                "23:13:20",
            ),
        ];
        for (name, ms, want) in cases {
            assert_eq!(spring().time(ms), want, "{name}");
        }
        assert_eq!(spring().hm(1_774_767_600_000), "09:00");
    }

    #[test]
    fn fixed_and_empty_clocks() {
        // 2026-11-27T10:15:30Z in Stockholm (UTC+1).
        assert_eq!(LocalClock::fixed(3600).time(1_795_774_530_000), "11:15:30");
        assert_eq!(LocalClock::default().time(1_795_774_530_000), "10:15:30");
        assert_eq!(LocalClock::fixed(0).time(-1000), "23:59:59");
    }
}
