//! When a reporter sends, and what: a pure state machine fed with readings, the clock and the
//! outcome of each attempt, so the forwarding loop's rules are tested without I/O or sleeping.
//!
//! - a new reading goes out at once, at most one update a second; the newest reading wins;
//! - while nothing new arrives, an update still goes every 10 s;
//! - a monitor silent past the limit (30 s) is reported offline, never as repeated old numbers;
//! - a reading older than the last one sent is never sent;
//! - after a failure the next attempt waits: capped exponential backoff with jitter, for a
//!   partner that cannot be reached or fails (5xx); what a 429 asks (`Retry-After`); and not at
//!   all for an update the partner refused (another 4xx): that reading is given up and the next
//!   fresh one goes out at once (a partner refusing packets while the meter was silent held the
//!   first reading after it back 25 s).

use model::monitor::LivePoint;
use model::reporter::{Facts, Problem};

use super::partner::Failed;
use super::payload::Outgoing;

/// The loop's timing (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// At most one update per this long.
    pub min_gap_ms: i64,
    /// At least one update per this long, new reading or not.
    pub heartbeat_ms: i64,
    /// A monitor silent longer than this is reported offline.
    pub silent_after_ms: i64,
    /// The first retry's delay; it doubles per failure up to `retry_max_ms`.
    pub retry_base_ms: i64,
    pub retry_max_ms: i64,
    /// Refused credentials are tried again more often: the installer is registering them in
    /// Partner and expects to see ACTIVE soon after.
    pub refused_retry_max_ms: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            min_gap_ms: 1_000,
            heartbeat_ms: 10_000,
            silent_after_ms: 30_000,
            retry_base_ms: 1_000,
            retry_max_ms: 30_000,
            refused_retry_max_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pacer {
    timing: Timing,
    /// The newest reading seen, by time.
    newest: Option<LivePoint>,
    facts: Facts,
    /// The newest reading dealt with: sent, or found too old to send.
    handled_ts: Option<i64>,
    last_attempt_at: Option<i64>,
    retry_at: Option<i64>,
    failures: u32,
    /// Something the partner must hear about at once (adaptive charging's decision changed).
    nudged: bool,
}

impl Pacer {
    /// Resumes from the stored facts: their cursor still holds.
    pub fn new(timing: Timing, facts: Facts) -> Self {
        Self {
            timing,
            newest: None,
            handled_ts: facts.sent_ts,
            facts,
            last_attempt_at: None,
            retry_at: None,
            failures: 0,
            nudged: false,
        }
    }

    /// Sends as soon as the one-a-second limit allows, new reading or not.
    pub fn nudge(&mut self) {
        self.nudged = true;
    }

    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// A committed reading of the monitor (in any order; only the newest counts).
    pub fn offer(&mut self, point: LivePoint) {
        if self.newest.is_none_or(|n| point.ts > n.ts) {
            self.newest = Some(point);
            self.facts.reading_ts =
                Some(self.facts.reading_ts.map_or(point.ts, |t| t.max(point.ts)));
        }
    }

    /// A reading newer than the last one dealt with is waiting.
    pub fn has_new(&self) -> bool {
        self.newest
            .is_some_and(|n| self.handled_ts.is_none_or(|handled| n.ts > handled))
    }

    /// When the next update is due (ms UTC).
    pub fn due_at(&self) -> i64 {
        let Some(last) = self.last_attempt_at else {
            return i64::MIN;
        };
        let earliest = last + self.timing.min_gap_ms;
        if let Some(retry) = self.retry_at {
            return retry.max(earliest);
        }
        if self.has_new() || self.nudged {
            earliest
        } else {
            last + self.timing.heartbeat_ms
        }
    }

    /// What to send at `now`: the newest reading while it is fresh, else that the monitor is
    /// offline. Never a reading older than the cursor.
    pub fn next(&self, now_ms: i64) -> Outgoing {
        match self.newest {
            Some(p)
                if now_ms - p.ts <= self.timing.silent_after_ms
                    && self.facts.sent_ts.is_none_or(|sent| p.ts >= sent) =>
            {
                Outgoing::Reading(p)
            }
            newest => Outgoing::Offline { last: newest },
        }
    }

    /// The outcome of sending `sent` at `now`. `jitter` in [0, 1) spreads retries.
    pub fn outcome(
        &mut self,
        now_ms: i64,
        sent: &Outgoing,
        result: Result<(), Failed>,
        jitter: f64,
    ) {
        self.last_attempt_at = Some(now_ms);
        self.nudged = false;
        match result {
            Ok(()) => {
                self.handled_ts = self.handled_ts.max(sent.reading_ts());
                self.failures = 0;
                self.retry_at = None;
                self.facts.accepted_at = Some(now_ms);
                self.facts.failures = 0;
                self.facts.trouble_since = None;
                match sent {
                    Outgoing::Reading(p) => {
                        self.facts.sent_ts = Some(self.facts.sent_ts.map_or(p.ts, |s| s.max(p.ts)));
                        self.facts.offline = false;
                    }
                    Outgoing::Offline { .. } => self.facts.offline = true,
                }
            }
            Err(Failed {
                problem,
                retry_after_ms,
            }) => {
                self.failures = self.failures.saturating_add(1);
                self.retry_at = match problem {
                    // The partner asked for a pause: as long as it said (or a backoff).
                    Problem::Status(429) => Some(
                        now_ms
                            + retry_after_ms.unwrap_or_else(|| {
                                backoff(
                                    self.timing.retry_base_ms,
                                    self.timing.retry_max_ms,
                                    self.failures,
                                    jitter,
                                )
                            }),
                    ),
                    // The partner refused this update: it will refuse it again. Give it up; the
                    // next fresh reading (or the heartbeat) goes out as usual.
                    Problem::Status(400..=499) => {
                        self.handled_ts = self.handled_ts.max(sent.reading_ts());
                        None
                    }
                    Problem::Refused => Some(
                        now_ms
                            + backoff(
                                self.timing.retry_base_ms,
                                self.timing.refused_retry_max_ms,
                                self.failures,
                                jitter,
                            ),
                    ),
                    _ => Some(
                        now_ms
                            + backoff(
                                self.timing.retry_base_ms,
                                self.timing.retry_max_ms,
                                self.failures,
                                jitter,
                            ),
                    ),
                };
                self.facts.failed_at = Some(now_ms);
                self.facts.problem = Some(problem);
                self.facts.failures = self.facts.failures.saturating_add(1);
                self.facts.trouble_since = self.facts.trouble_since.or(Some(now_ms));
            }
        }
    }
}

/// The delay before retry `n` (1-based): `base · 2^(n−1)` capped at `cap`, of which a random
/// half is taken off ("equal jitter"), so many reporters failing together do not retry together.
pub fn backoff(base_ms: i64, cap_ms: i64, n: u32, jitter: f64) -> i64 {
    let full = base_ms
        .saturating_mul(1i64 << (n.saturating_sub(1)).min(30))
        .min(cap_ms);
    full - (full as f64 / 2.0 * jitter.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const T0: i64 = 1_800_000_000_000;

    fn point(seq: i64, at_s: f64) -> LivePoint {
        LivePoint {
            seq,
            ts: T0 + (at_s * 1000.0) as i64,
            i: [Some(seq as f64), Some(1.0), Some(1.0)],
        }
    }

    /// What happens in a run of the loop: readings arrive, the pacer sends when due.
    #[derive(Debug, Clone)]
    enum Event {
        /// A reading with this seq, measured at this second, arrives at the second given.
        Reading {
            seq: i64,
            measured_s: f64,
            arrives_s: f64,
        },
        /// Every attempt from this second on fails with this problem (None: succeeds).
        Partner {
            from_s: f64,
            problem: Option<Problem>,
        },
        /// From this second on the partner answers 429 with this `Retry-After`.
        Throttled { from_s: f64, retry_after_s: i64 },
    }
    use Event::*;

    /// Sends as they happen over `seconds`: (second, what), where what is `r<seq>`, `offline`,
    /// or `x` for a failed attempt.
    fn run(events: &[Event], seconds: f64) -> Vec<(f64, String)> {
        let mut pacer = Pacer::new(Timing::default(), Facts::default());
        let mut sent = Vec::new();
        let mut partner = None;
        let step = 100; // ms
        let mut t = T0;
        while t <= T0 + (seconds * 1000.0) as i64 {
            for e in events {
                match e.clone() {
                    Reading {
                        seq,
                        measured_s,
                        arrives_s,
                    } if T0 + (arrives_s * 1000.0) as i64 == t => {
                        pacer.offer(point(seq, measured_s));
                    }
                    Partner { from_s, problem } if T0 + (from_s * 1000.0) as i64 == t => {
                        partner = problem.map(Failed::from)
                    }
                    Throttled {
                        from_s,
                        retry_after_s,
                    } if T0 + (from_s * 1000.0) as i64 == t => {
                        partner = Some(Failed {
                            problem: Problem::Status(429),
                            retry_after_ms: Some(retry_after_s * 1000),
                        })
                    }
                    _ => {}
                }
            }
            if t >= pacer.due_at() {
                let out = pacer.next(t);
                let what = match (&partner, out) {
                    (Some(_), _) => "x".to_string(),
                    (None, Outgoing::Reading(p)) => format!("r{}", p.seq),
                    (None, Outgoing::Offline { .. }) => "offline".to_string(),
                };
                sent.push(((t - T0) as f64 / 1000.0, what));
                let result = partner.clone().map_or(Ok(()), Err);
                pacer.outcome(t, &out, result, 0.0);
            }
            t += step;
        }
        sent
    }

    fn at(list: &[(f64, &str)]) -> Vec<(f64, String)> {
        list.iter().map(|(t, s)| (*t, s.to_string())).collect()
    }

    #[rstest]
    #[case::a_reading_goes_out_at_once(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 }], 2.0,
        &[(0.0, "r1")])]
    #[case::at_most_one_a_second_and_the_newest_wins(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Reading { seq: 2, measured_s: 0.2, arrives_s: 0.2 },
          Reading { seq: 3, measured_s: 0.5, arrives_s: 0.5 }], 3.0,
        &[(0.0, "r1"), (1.0, "r3")])]
    #[case::a_heartbeat_every_ten_seconds_while_silent(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 }], 25.0,
        &[(0.0, "r1"), (10.0, "r1"), (20.0, "r1")])]
    #[case::silent_past_thirty_seconds_is_offline(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 }], 45.0,
        &[(0.0, "r1"), (10.0, "r1"), (20.0, "r1"), (30.0, "r1"), (40.0, "offline")])]
    #[case::back_online_at_once(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Reading { seq: 2, measured_s: 45.5, arrives_s: 45.5 }], 47.0,
        &[(0.0, "r1"), (10.0, "r1"), (20.0, "r1"), (30.0, "r1"), (40.0, "offline"), (45.5, "r2")])]
    #[case::an_older_reading_arriving_late_is_not_sent(
        &[Reading { seq: 2, measured_s: 5.0, arrives_s: 5.0 },
          Reading { seq: 1, measured_s: 4.0, arrives_s: 6.5 }], 8.0,
        &[(0.0, "offline"), (5.0, "r2")])]
    #[case::a_monitor_that_never_reported_is_offline_from_the_start(
        &[], 12.0,
        &[(0.0, "offline"), (10.0, "offline")])]
    #[case::a_stale_first_reading_is_not_sent_as_fresh(
        &[Reading { seq: 1, measured_s: -40.0, arrives_s: 0.0 }], 1.0,
        &[(0.0, "offline")])]
    #[case::failures_back_off_exponentially_to_thirty_seconds(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Partner { from_s: 0.0, problem: Some(Problem::Unreachable) }], 100.0,
        &[(0.0, "x"), (1.0, "x"), (3.0, "x"), (7.0, "x"), (15.0, "x"), (31.0, "x"), (61.0, "x"), (91.0, "x")])]
    #[case::refused_credentials_are_retried_within_ten_seconds(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Partner { from_s: 0.0, problem: Some(Problem::Refused) }], 40.0,
        &[(0.0, "x"), (1.0, "x"), (3.0, "x"), (7.0, "x"), (15.0, "x"), (25.0, "x"), (35.0, "x")])]
    #[case::recovery_sends_the_newest_reading(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Partner { from_s: 0.0, problem: Some(Problem::Unreachable) },
          Reading { seq: 2, measured_s: 2.0, arrives_s: 2.0 },
          Partner { from_s: 2.5, problem: None }], 8.0,
        &[(0.0, "x"), (1.0, "x"), (3.0, "r2")])]
    // The review: a partner that refused the offline packets (400) was backed off, and the first
    // reading after the meter came back went out 25.5 s late.
    #[case::a_refused_update_is_given_up_and_the_next_fresh_reading_goes_at_once(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Partner { from_s: 0.0, problem: Some(Problem::Status(400)) },
          Reading { seq: 2, measured_s: 3.5, arrives_s: 3.5 },
          Partner { from_s: 3.0, problem: None }], 5.0,
        &[(0.0, "x"), (3.5, "r2")])]
    #[case::offline_packets_refused_then_the_meter_returns(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Partner { from_s: 35.0, problem: Some(Problem::Status(400)) },
          Partner { from_s: 52.0, problem: None },
          Reading { seq: 2, measured_s: 52.3, arrives_s: 52.3 }], 53.0,
        &[(0.0, "r1"), (10.0, "r1"), (20.0, "r1"), (30.0, "r1"), (40.0, "x"), (50.0, "x"), (52.3, "r2")])]
    #[case::a_throttled_partner_is_left_alone_as_long_as_it_asks(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Throttled { from_s: 0.0, retry_after_s: 5 },
          Reading { seq: 2, measured_s: 1.0, arrives_s: 1.0 },
          Partner { from_s: 2.0, problem: None }], 6.0,
        &[(0.0, "x"), (5.0, "r2")])]
    #[case::a_failing_partner_5xx_is_backed_off(
        &[Reading { seq: 1, measured_s: 0.0, arrives_s: 0.0 },
          Partner { from_s: 0.0, problem: Some(Problem::Status(503)) }], 8.0,
        &[(0.0, "x"), (1.0, "x"), (3.0, "x"), (7.0, "x")])]
    fn the_loop_sends_when_it_should(
        #[case] events: &[Event],
        #[case] seconds: f64,
        #[case] want: &[(f64, &str)],
    ) {
        assert_eq!(run(events, seconds), at(want));
    }

    #[test]
    fn the_cursor_survives_a_restart() {
        let facts = Facts {
            sent_ts: Some(point(5, 10.0).ts),
            ..Facts::default()
        };
        let mut pacer = Pacer::new(Timing::default(), facts);
        // The database's newest reading is the one sent before the restart: nothing new.
        pacer.offer(point(5, 10.0));
        assert!(!pacer.has_new());
        assert_eq!(pacer.next(T0 + 11_000), Outgoing::Reading(point(5, 10.0)));
        // An older one (from another path) is never sent.
        let mut older = Pacer::new(Timing::default(), pacer.facts().clone());
        older.offer(point(4, 9.0));
        assert!(matches!(older.next(T0 + 11_000), Outgoing::Offline { .. }));
    }

    #[test]
    fn facts_record_what_happened() {
        let mut pacer = Pacer::new(Timing::default(), Facts::default());
        pacer.offer(point(1, 0.0));
        let out = pacer.next(T0);
        pacer.outcome(T0 + 50, &out, Ok(()), 0.0);
        assert_eq!(pacer.facts().accepted_at, Some(T0 + 50));
        assert_eq!(pacer.facts().sent_ts, Some(T0));
        pacer.outcome(T0 + 1_000, &out, Err(Problem::Unreachable.into()), 0.0);
        assert_eq!(pacer.facts().failed_at, Some(T0 + 1_000));
        assert_eq!(pacer.facts().problem, Some(Problem::Unreachable));
        let offline = pacer.next(T0 + 60_000);
        pacer.outcome(T0 + 60_000, &offline, Ok(()), 0.0);
        assert!(pacer.facts().offline);
    }

    /// "Refused 3 times, since 14:02": the count and when the trouble began, not the last
    /// retry; both reset by an accepted update.
    #[test]
    fn failures_are_counted_from_when_the_trouble_began() {
        let mut pacer = Pacer::new(Timing::default(), Facts::default());
        pacer.offer(point(1, 0.0));
        let out = pacer.next(T0);
        for (k, at) in [T0, T0 + 1_000, T0 + 3_000].into_iter().enumerate() {
            pacer.outcome(at, &out, Err(Problem::Refused.into()), 0.0);
            assert_eq!(pacer.facts().failures, k as u32 + 1);
        }
        assert_eq!(
            (pacer.facts().trouble_since, pacer.facts().failed_at),
            (Some(T0), Some(T0 + 3_000))
        );
        pacer.outcome(T0 + 7_000, &out, Ok(()), 0.0);
        assert_eq!(
            (pacer.facts().failures, pacer.facts().trouble_since),
            (0, None)
        );
    }

    #[rstest]
    #[case::first(1, 0.0, 1_000)]
    #[case::second(2, 0.0, 2_000)]
    #[case::capped(9, 0.0, 30_000)]
    #[case::jitter_takes_up_to_half(9, 1.0, 15_000)]
    #[case::huge_n_does_not_overflow(u32::MAX, 0.5, 22_500)]
    fn backoff_is_capped_and_jittered(#[case] n: u32, #[case] jitter: f64, #[case] want: i64) {
        assert_eq!(backoff(1_000, 30_000, n, jitter), want);
    }
}
