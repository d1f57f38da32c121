//! The load balancer: how much current each charger may draw so that no phase of the main fuse
//! is overloaded. Pure, so its rules are table-tested:
//!
//! - per phase, the room is the fuse minus what the household draws without the chargers (the
//!   measurement minus the chargers' own draw at the moment it was measured); export adds none;
//! - that room is shared fairly (max-min): no charger gets more than another that wants more,
//!   unless a phase it does not use leaves the other room;
//! - a charger charges with at least 6 A per phase, or pauses (the one with the least room first);
//! - with no fresh measurement (the device said `offline`, or stopped sending) every charger falls
//!   back to the balancer's safe current.

/// The least current a charger can charge with (IEC 61851), A.
pub const MIN_CHARGING_A: f64 = 6.0;

#[derive(Debug, Clone, PartialEq)]
pub struct ChargerNeed {
    /// The phases the charger draws on (a single-phase charger on any one of them).
    pub phases: [bool; 3],
    /// The most it may draw: the charger's rating, or less if the car wants less (A).
    pub cap_a: f64,
    /// What it drew per phase when the measurement was taken (A).
    pub drawn_at_measurement: [f64; 3],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Situation {
    /// Supply max current, per phase (A).
    pub fuse_a: f64,
    /// Kept free below the fuse for what changes between two measurements (A).
    pub margin_a: f64,
    /// The measured current per phase, `None` for a phase the meter does not measure; `None`
    /// altogether when there is no fresh measurement.
    pub measured: Option<[Option<f64>; 3]>,
    /// The headroom per phase the device reported with the measurement (Open Reporter's
    /// `calculated.relative`), when it is lower than the fuse's: a site's own limit, such as a
    /// peak guard. The room is never more than it plus the chargers' draw at the measurement.
    pub headroom: Option<[Option<f64>; 3]>,
    /// Per charger, when there is no fresh measurement (A); below 6 A means paused.
    pub fallback_a: f64,
    /// The household does not allow charging now (adaptive charging).
    pub paused: bool,
    pub chargers: Vec<ChargerNeed>,
}

/// The current each charger may draw (A, whole amperes, 0 = paused).
pub fn allocate(s: &Situation) -> Vec<f64> {
    let wanting: Vec<bool> = s
        .chargers
        .iter()
        .map(|c| c.cap_a >= MIN_CHARGING_A)
        .collect();
    if s.paused {
        return vec![0.0; s.chargers.len()];
    }
    let Some(measured) = s.measured else {
        let fallback = if s.fallback_a >= MIN_CHARGING_A {
            s.fallback_a
        } else {
            0.0
        };
        return s
            .chargers
            .iter()
            .zip(&wanting)
            .map(|(c, w)| {
                if *w {
                    fallback.min(c.cap_a).floor()
                } else {
                    0.0
                }
            })
            .collect();
    };
    let mut room = [0.0; 3];
    for (p, slot) in room.iter_mut().enumerate() {
        // A phase the meter does not see has no room we know of.
        let Some(m) = measured[p] else { continue };
        let own: f64 = s.chargers.iter().map(|c| c.drawn_at_measurement[p]).sum();
        let household = (m - own).max(0.0);
        *slot = (s.fuse_a - s.margin_a - household).max(0.0);
        if let Some(reported) = s.headroom.and_then(|h| h[p]) {
            *slot = slot.min((reported + own).max(0.0));
        }
    }
    let mut active = wanting;
    loop {
        let shares = fair_shares(&s.chargers, &active, room);
        // The charger with the least below the minimum pauses; the rest share again.
        let starved = shares
            .iter()
            .enumerate()
            .filter(|(k, a)| active[*k] && **a < MIN_CHARGING_A)
            .min_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(k, _)| k);
        match starved {
            Some(k) => active[k] = false,
            None => return shares.into_iter().map(f64::floor).collect(),
        }
    }
}

/// Max-min fair shares of `room` per phase among the `active` chargers, each up to its cap
/// (progressive filling).
fn fair_shares(chargers: &[ChargerNeed], active: &[bool], room: [f64; 3]) -> Vec<f64> {
    let mut share = vec![0.0; chargers.len()];
    let mut frozen: Vec<bool> = active.iter().map(|a| !a).collect();
    let mut left = room;
    while frozen.iter().any(|f| !f) {
        // The level every unfrozen charger can rise to: the tightest phase's room per charger.
        let mut level = f64::INFINITY;
        let mut bottleneck = [false; 3];
        for p in 0..3 {
            let n = (0..chargers.len())
                .filter(|k| !frozen[*k] && chargers[*k].phases[p])
                .count();
            if n == 0 {
                continue;
            }
            let per = left[p] / n as f64;
            if per < level - 1e-9 {
                level = per;
                bottleneck = [false; 3];
            }
            if (per - level).abs() <= 1e-9 {
                bottleneck[p] = true;
            }
        }
        let capped: Vec<usize> = (0..chargers.len())
            .filter(|k| !frozen[*k] && chargers[*k].cap_a <= level)
            .collect();
        let fix: Vec<(usize, f64)> = if capped.is_empty() {
            (0..chargers.len())
                .filter(|k| !frozen[*k] && (0..3).any(|p| bottleneck[p] && chargers[*k].phases[p]))
                .map(|k| (k, level))
                .collect()
        } else {
            capped.into_iter().map(|k| (k, chargers[k].cap_a)).collect()
        };
        if fix.is_empty() {
            break; // a charger on no phase at all: nothing to share
        }
        for (k, amps) in fix {
            share[k] = amps.max(0.0);
            frozen[k] = true;
            for (p, l) in left.iter_mut().enumerate() {
                if chargers[k].phases[p] {
                    *l -= share[k];
                }
            }
        }
    }
    share
}

/// The next setpoint of a charger: down at once, up by at most `step_a` per update, and from
/// pause straight to the minimum (a car is never started at full current before its load has
/// been measured).
pub fn ramp(previous_a: f64, target_a: f64, step_a: f64) -> f64 {
    if target_a <= previous_a || target_a < MIN_CHARGING_A {
        target_a
    } else if previous_a < MIN_CHARGING_A {
        MIN_CHARGING_A
    } else {
        target_a.min(previous_a + step_a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const THREE: [bool; 3] = [true, true, true];
    const L1: [bool; 3] = [true, false, false];
    const L2: [bool; 3] = [false, true, false];

    fn charger(phases: [bool; 3], cap_a: f64, drawing_a: f64) -> ChargerNeed {
        ChargerNeed {
            phases,
            cap_a,
            drawn_at_measurement: phases.map(|on| if on { drawing_a } else { 0.0 }),
        }
    }

    fn situation(measured: [f64; 3], chargers: Vec<ChargerNeed>) -> Situation {
        Situation {
            fuse_a: 25.0,
            margin_a: 0.0,
            measured: Some(measured.map(Some)),
            headroom: None,
            fallback_a: 6.0,
            paused: false,
            chargers,
        }
    }

    #[rstest]
    #[case::one_charger_plenty_of_room(situation([5.0, 5.0, 5.0], vec![charger(THREE, 16.0, 0.0)]), vec![16.0])]
    #[case::room_is_the_tightest_phase(situation([5.0, 14.0, 5.0], vec![charger(THREE, 16.0, 0.0)]), vec![11.0])]
    #[case::own_draw_is_not_household_load(situation([21.0, 21.0, 21.0], vec![charger(THREE, 16.0, 16.0)]), vec![16.0])]
    #[case::two_share_fairly(situation([5.0, 5.0, 5.0], vec![charger(THREE, 16.0, 0.0), charger(THREE, 16.0, 0.0)]), vec![10.0, 10.0])]
    #[case::a_car_that_wants_less_leaves_room(situation([5.0, 5.0, 5.0], vec![charger(THREE, 7.0, 0.0), charger(THREE, 32.0, 0.0)]), vec![7.0, 13.0])]
    #[case::single_phase_chargers_on_different_phases(situation([10.0, 10.0, 10.0], vec![charger(L1, 32.0, 0.0), charger(L2, 32.0, 0.0)]), vec![15.0, 15.0])]
    #[case::a_busy_phase_pauses_every_charger_on_it(situation([5.0, 20.0, 5.0], vec![charger(L2, 32.0, 0.0), charger(THREE, 32.0, 0.0)]), vec![0.0, 0.0])]
    #[case::a_busy_phase_pauses_only_its_chargers(situation([5.0, 20.0, 5.0], vec![charger(L2, 32.0, 0.0), charger(L1, 32.0, 0.0)]), vec![0.0, 20.0])]
    #[case::below_six_amps_pauses_one(situation([14.0, 14.0, 14.0], vec![charger(THREE, 16.0, 0.0), charger(THREE, 16.0, 0.0)]), vec![11.0, 0.0])]
    #[case::no_room_pauses_all(situation([24.0, 10.0, 10.0], vec![charger(THREE, 16.0, 0.0)]), vec![0.0])]
    #[case::overloaded_by_the_household(situation([30.0, 10.0, 10.0], vec![charger(THREE, 16.0, 0.0)]), vec![0.0])]
    #[case::export_adds_no_room(situation([-20.0, 5.0, 5.0], vec![charger(THREE, 32.0, 0.0)]), vec![20.0])]
    #[case::not_plugged_in(situation([5.0, 5.0, 5.0], vec![charger(THREE, 0.0, 0.0)]), vec![0.0])]
    fn shares(#[case] s: Situation, #[case] want: Vec<f64>) {
        assert_eq!(allocate(&s), want);
    }

    #[test]
    fn a_phase_the_meter_does_not_measure_has_no_room() {
        let mut s = situation(
            [5.0, 5.0, 5.0],
            vec![charger(L2, 16.0, 0.0), charger(L1, 16.0, 0.0)],
        );
        s.measured = Some([Some(5.0), None, None]);
        assert_eq!(allocate(&s), vec![0.0, 16.0]);
    }

    /// A site limit sent as headroom (the peak guard) holds the chargers under it; a headroom
    /// above the fuse's room changes nothing.
    #[rstest]
    #[case::the_guard_holds_back([Some(2.0), Some(2.0), Some(2.0)], vec![8.0])]
    #[case::the_guard_takes_back([Some(-3.0), Some(-3.0), Some(-3.0)], vec![0.0])]
    #[case::the_fuse_is_lower([Some(20.0), Some(20.0), Some(20.0)], vec![16.0])]
    #[case::a_phase_without_headroom_is_the_fuse_s([Some(2.0), None, Some(2.0)], vec![8.0])]
    fn reported_headroom(#[case] headroom: [Option<f64>; 3], #[case] want: Vec<f64>) {
        // The household draws 9 A a phase, the charger 6 A of the 15 measured.
        let mut s = situation([15.0, 15.0, 15.0], vec![charger(THREE, 16.0, 6.0)]);
        s.fuse_a = 25.0;
        s.headroom = Some(headroom);
        assert_eq!(allocate(&s), want);
    }

    #[rstest]
    #[case::offline_falls_back(6.0, false, vec![6.0, 6.0])]
    #[case::fallback_below_six_pauses(0.0, false, vec![0.0, 0.0])]
    #[case::paused_by_the_household(6.0, true, vec![0.0, 0.0])]
    fn without_a_measurement(#[case] fallback: f64, #[case] paused: bool, #[case] want: Vec<f64>) {
        let mut s = situation(
            [0.0; 3],
            vec![charger(THREE, 16.0, 0.0), charger(L1, 16.0, 0.0)],
        );
        s.measured = if paused { s.measured } else { None };
        s.fallback_a = fallback;
        s.paused = paused;
        assert_eq!(allocate(&s), want);
    }

    #[rstest]
    #[case::start_low(0.0, 16.0, 6.0)]
    #[case::then_raise(6.0, 16.0, 9.0)]
    #[case::up_to_the_target(15.0, 16.0, 16.0)]
    #[case::down_at_once(16.0, 7.0, 7.0)]
    #[case::pause_at_once(16.0, 0.0, 0.0)]
    fn ramps(#[case] previous: f64, #[case] target: f64, #[case] want: f64) {
        assert_eq!(ramp(previous, target, 3.0), want);
    }

    fn need() -> impl proptest::strategy::Strategy<Value = ChargerNeed> {
        use proptest::prelude::*;
        (0usize..4, 0.0f64..40.0, 0.0f64..32.0).prop_map(|(phases, cap, drawing)| {
            let phases = [THREE, L1, L2, [false, false, true]][phases];
            charger(phases, cap, drawing)
        })
    }

    proptest::proptest! {
        /// Whatever the household and the chargers do: no phase is given more than its room,
        /// and every charger gets 0 or at least 6 A, never more than it may draw.
        #[test]
        fn never_past_the_fuse(
            measured in proptest::array::uniform3(-30.0f64..60.0),
            chargers in proptest::collection::vec(need(), 0..5),
        ) {
            let s = situation(measured, chargers);
            let shares = allocate(&s);
            for (p, m) in measured.iter().enumerate() {
                let own: f64 = s.chargers.iter().map(|c| c.drawn_at_measurement[p]).sum();
                let room = (s.fuse_a - (m - own).max(0.0)).max(0.0);
                let given: f64 = s.chargers.iter().zip(&shares).filter(|(c, _)| c.phases[p]).map(|(_, a)| a).sum();
                proptest::prop_assert!(given <= room + 1e-9, "phase {p}: {given} > {room}");
            }
            for (c, a) in s.chargers.iter().zip(&shares) {
                proptest::prop_assert!(*a == 0.0 || (*a >= MIN_CHARGING_A && *a <= c.cap_a), "{a} for {c:?}");
            }
        }
    }
}
