//! The update a reporter sends: Perific's Open Reporter shape (DESIGN.md, "Contracts"), built by
//! pure functions from a reading (or the lack of one) so its JSON is snapshot-tested.

use jiff::Timestamp;
use model::monitor::{LivePoint, headroom};
use serde::Serialize;

/// What one update reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outgoing {
    /// A reading of the monitor, fresh enough to act on.
    Reading(LivePoint),
    /// The monitor has been silent past the limit: the partner must fall back to its safe
    /// current. `last` is the newest reading, if there ever was one.
    Offline { last: Option<LivePoint> },
}

impl Outgoing {
    /// The time of the reading this update is about (the last one, when offline).
    pub fn reading_ts(&self) -> Option<i64> {
        match self {
            Outgoing::Reading(p) => Some(p.ts),
            Outgoing::Offline { last } => last.map(|p| p.ts),
        }
    }
}

/// What the household allows the chargers now. Always `Allowed` until adaptive charging drives
/// it (Charge Amps only; Open Reporter has no such field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Allowed,
    Paused,
}

/// Who sends: the reporter and its monitor.
#[derive(Debug, Clone)]
pub struct Sender {
    pub reporter_id: i64,
    /// The reporter's serial number: the partner's `externalid`.
    pub serial: String,
    pub monitor_id: i64,
    /// Phases the monitor measures (1 or 3).
    pub phases: u8,
    /// Main fuse per phase (A).
    pub main_fuse_a: u16,
    /// Charge Amps adds the adaptive-charging permission; Open Reporter does not.
    pub permission: Option<Permission>,
    /// The peak guard's headroom per measured phase (A) in a counted hour, `None` when it does not
    /// limit: the update's headroom is the lower of it and the fuse's.
    pub guard_a: Option<f64>,
}

/// One value per phase (A), always a number: partners type their packets, and refused every
/// update that had a `null` (issue 21). A phase the monitor does not measure (a single-phase
/// house) is 0 A with no headroom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Phases {
    pub l1: f64,
    pub l2: f64,
    pub l3: f64,
}

impl Phases {
    fn from_fn(phases: u8, f: impl Fn(usize) -> f64) -> Self {
        let value = |p: usize| if p < usize::from(phases) { f(p) } else { 0.0 };
        Self {
            l1: value(0),
            l2: value(1),
            l3: value(2),
        }
    }
}

/// A silent monitor's `lastupdate` when it never sent a reading: the epoch, a time every
/// partner parses and none takes for fresh.
const NEVER: i64 = 0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meter {
    #[serde(flatten)]
    pub current: Phases,
    pub fuse: u16,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub online: bool,
    pub monitorid: i64,
    pub lastupdate: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calculated {
    /// Measured current per phase (A).
    pub direct: Phases,
    /// Headroom per phase (A): fuse − current; export adds none, so never above the fuse.
    pub relative: Phases,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdaptiveCharging {
    pub permission: Permission,
}

/// The body of an Open Reporter *Update*.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Update {
    pub meters: Vec<Meter>,
    pub timestamp: String,
    pub calculated: Calculated,
    pub externalid: String,
    pub reporterid: i64,
    pub meterstatus: &'static str,
    pub calculationmode: &'static str,
    pub protocolversion: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptivecharging: Option<AdaptiveCharging>,
}

fn rfc3339(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_string()
}

/// Amperes to the hundredth, so the JSON carries no float noise (12.600000000000001).
fn amps(a: f64) -> f64 {
    (a * 100.0).round() / 100.0
}

/// The update `sender` sends at `now_ms` for `outgoing`.
pub fn update(sender: &Sender, outgoing: &Outgoing, now_ms: i64) -> Update {
    let fuse = sender.main_fuse_a;
    // A phase without a value (not measured by this monitor, or missing from the reading)
    // counts as 0 A with no headroom.
    let current =
        |point: &LivePoint| Phases::from_fn(sender.phases, |p| point.i[p].map_or(0.0, amps));
    let (measured, direct, relative, online, last_ts) = match outgoing {
        Outgoing::Reading(point) => (
            current(point),
            current(point),
            Phases::from_fn(sender.phases, |p| {
                point.i[p].map_or(0.0, |i| {
                    let fuse_room = headroom(fuse, i);
                    amps(sender.guard_a.map_or(fuse_room, |g| fuse_room.min(g)))
                })
            }),
            true,
            point.ts,
        ),
        // The meter keeps its last known values with their time, and the calculation says the
        // fuse is fully used: a partner that ignores `online` sees no headroom and holds the
        // chargers at their minimum.
        Outgoing::Offline { last } => (
            last.as_ref()
                .map_or(Phases::from_fn(sender.phases, |_| 0.0), current),
            Phases::from_fn(3, |_| f64::from(fuse)),
            Phases::from_fn(3, |_| 0.0),
            false,
            last.map_or(NEVER, |p| p.ts),
        ),
    };
    Update {
        meters: vec![Meter {
            current: measured,
            fuse,
            kind: "consumption",
            online,
            monitorid: sender.monitor_id,
            lastupdate: rfc3339(last_ts),
        }],
        timestamp: rfc3339(now_ms),
        calculated: Calculated { direct, relative },
        externalid: sender.serial.clone(),
        reporterid: sender.reporter_id,
        meterstatus: if online { "online" } else { "offline" },
        calculationmode: "openloop",
        protocolversion: "010",
        adaptivecharging: sender
            .permission
            .map(|permission| AdaptiveCharging { permission }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-30T19:14:06Z and 412 ms later, as in ../shared/contracts.
    const READ_AT: i64 = 1_796_066_046_000;
    const NOW: i64 = READ_AT + 412;

    fn sender(phases: u8, permission: Option<Permission>) -> Sender {
        Sender {
            reporter_id: 42,
            serial: "AMPW-7K3Q-92XD".into(),
            monitor_id: 4711,
            phases,
            main_fuse_a: 25,
            permission,
            guard_a: None,
        }
    }

    fn reading(i: [Option<f64>; 3]) -> Outgoing {
        Outgoing::Reading(LivePoint {
            seq: 9,
            ts: READ_AT,
            i,
        })
    }

    fn json(update: &Update) -> String {
        serde_json::to_string_pretty(update).unwrap()
    }

    #[test]
    fn charge_amps_reading_matches_the_contract_example() {
        let out = reading([Some(12.4), Some(7.9), Some(21.3)]);
        insta::assert_snapshot!(json(&update(
            &sender(3, Some(Permission::Allowed)),
            &out,
            NOW
        )));
    }

    #[test]
    fn open_reporter_has_no_permission_field() {
        let out = reading([Some(12.4), Some(7.9), Some(21.3)]);
        let body = json(&update(&sender(3, None), &out, NOW));
        assert!(!body.contains("adaptivecharging"), "{body}");
    }

    /// The meter's last values with their time, the fuse used up, no headroom, every number a
    /// number (a partner that types its packets refused `null`s).
    #[test]
    fn silent_monitor_keeps_its_last_values_and_leaves_no_headroom() {
        let out = Outgoing::Offline {
            last: Some(LivePoint {
                seq: 9,
                ts: READ_AT,
                i: [Some(12.4), Some(7.9), Some(21.3)],
            }),
        };
        insta::assert_snapshot!(json(&update(
            &sender(3, Some(Permission::Allowed)),
            &out,
            NOW + 31_000
        )));
    }

    #[test]
    fn a_monitor_that_never_sent_is_offline_since_the_epoch() {
        let u = update(&sender(1, None), &Outgoing::Offline { last: None }, NOW);
        assert_eq!(u.meters[0].lastupdate, "1970-01-01T00:00:00Z");
        assert_eq!(
            u.calculated.relative,
            Phases {
                l1: 0.0,
                l2: 0.0,
                l3: 0.0
            }
        );
        assert_eq!(
            u.calculated.direct,
            Phases {
                l1: 25.0,
                l2: 25.0,
                l3: 25.0
            }
        );
    }

    /// Every packet, whatever the reading, has numbers where the contract has numbers.
    #[test]
    fn every_packet_keeps_the_contracts_types() {
        let outs = [
            reading([Some(1.0), None, Some(2.0)]),
            reading([Some(9.87), None, None]),
            Outgoing::Offline { last: None },
        ];
        for out in outs {
            for phases in [1, 3] {
                let body = serde_json::to_value(update(&sender(phases, None), &out, NOW)).unwrap();
                let numbers = [
                    &body["meters"][0]["l1"],
                    &body["meters"][0]["l2"],
                    &body["meters"][0]["l3"],
                    &body["calculated"]["direct"]["l1"],
                    &body["calculated"]["direct"]["l3"],
                    &body["calculated"]["relative"]["l2"],
                ];
                assert!(numbers.iter().all(|v| v.is_number()), "{body}");
                assert!(body["meters"][0]["lastupdate"].is_string(), "{body}");
            }
        }
    }

    #[test]
    fn export_adds_no_headroom_and_overload_is_negative() {
        let out = reading([Some(-8.0), Some(30.5), Some(0.0)]);
        let u = update(&sender(3, None), &out, NOW);
        assert_eq!(
            u.calculated.relative,
            Phases {
                l1: 25.0,
                l2: -5.5,
                l3: 25.0
            }
        );
        assert_eq!(u.calculated.direct.l1, -8.0);
    }

    #[test]
    fn single_phase_monitor_reports_one_phase() {
        let out = reading([Some(9.87), None, None]);
        insta::assert_snapshot!(json(&update(&sender(1, None), &out, NOW)));
    }

    /// In a counted hour the peak guard's headroom replaces the fuse's where it is lower, on
    /// each measured phase; a phase the monitor does not have stays at 0.
    #[rstest::rstest]
    #[case::the_guard_is_tighter(Some(3.5), 3, [3.5, 3.5, 3.5])]
    #[case::the_fuse_is_tighter(Some(20.0), 3, [12.6, 17.1, 3.7])]
    #[case::the_guard_takes_back(Some(-4.25), 3, [-4.25, -4.25, -4.25])]
    #[case::no_guard(None, 3, [12.6, 17.1, 3.7])]
    #[case::single_phase(Some(3.5), 1, [3.5, 0.0, 0.0])]
    fn the_guard_lowers_the_headroom(
        #[case] guard_a: Option<f64>,
        #[case] phases: u8,
        #[case] want: [f64; 3],
    ) {
        let out = reading([Some(12.4), Some(7.9), Some(21.3)]);
        let sender = Sender {
            guard_a,
            ..sender(phases, Some(Permission::Allowed))
        };
        let u = update(&sender, &out, NOW);
        assert_eq!(
            u.calculated.relative,
            Phases {
                l1: want[0],
                l2: want[1],
                l3: want[2]
            }
        );
        // What was measured is still reported as measured.
        assert_eq!(u.calculated.direct.l1, 12.4);
    }
}
