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
    /// current. `last_ts` is the time of the newest reading, if there ever was one.
    Offline { last_ts: Option<i64> },
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
}

/// One value per phase (A); `null` for a phase the monitor does not measure, or while it is
/// silent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Phases {
    pub l1: Option<f64>,
    pub l2: Option<f64>,
    pub l3: Option<f64>,
}

impl Phases {
    fn from_fn(phases: u8, f: impl Fn(usize) -> Option<f64>) -> Self {
        let value = |p: usize| if p < usize::from(phases) { f(p) } else { None };
        Self {
            l1: value(0),
            l2: value(1),
            l3: value(2),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meter {
    #[serde(flatten)]
    pub current: Phases,
    pub fuse: u16,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub online: bool,
    pub monitorid: i64,
    pub lastupdate: Option<String>,
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
    let (direct, relative, online, last_ts) = match outgoing {
        Outgoing::Reading(point) => (
            Phases::from_fn(sender.phases, |p| point.i[p].map(amps)),
            Phases::from_fn(sender.phases, |p| {
                point.i[p].map(|i| amps(headroom(fuse, i)))
            }),
            true,
            Some(point.ts),
        ),
        // No numbers to act on, and no headroom: a partner that ignores `online` still holds
        // the chargers back.
        Outgoing::Offline { last_ts } => (
            Phases::from_fn(sender.phases, |_| None),
            Phases::from_fn(sender.phases, |_| Some(0.0)),
            false,
            *last_ts,
        ),
    };
    Update {
        meters: vec![Meter {
            current: direct,
            fuse,
            kind: "consumption",
            online,
            monitorid: sender.monitor_id,
            lastupdate: last_ts.map(rfc3339),
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

    #[test]
    fn silent_monitor_is_offline_with_no_numbers_and_no_headroom() {
        let out = Outgoing::Offline {
            last_ts: Some(READ_AT),
        };
        insta::assert_snapshot!(json(&update(
            &sender(3, Some(Permission::Allowed)),
            &out,
            NOW + 31_000
        )));
    }

    #[test]
    fn export_adds_no_headroom_and_overload_is_negative() {
        let out = reading([Some(-8.0), Some(30.5), Some(0.0)]);
        let u = update(&sender(3, None), &out, NOW);
        assert_eq!(
            u.calculated.relative,
            Phases {
                l1: Some(25.0),
                l2: Some(-5.5),
                l3: Some(25.0)
            }
        );
        assert_eq!(u.calculated.direct.l1, Some(-8.0));
    }

    #[test]
    fn single_phase_monitor_reports_one_phase() {
        let out = reading([Some(9.87), None, None]);
        insta::assert_snapshot!(json(&update(&sender(1, None), &out, NOW)));
    }
}
