//! optiCharge's planner: which price slots of a window to charge in. Pure (no clock, no I/O), so
//! it is table-tested on real days and property-tested against brute force.
//!
//! The problem: a window [from, until), a need (hours of charging, or kWh at the charger's
//! power), price slots (15-minute; hourly data split into four), an optional price the plan
//! never pays more than and one below which it always charges. Costs are linear in the time
//! charged and every slot holds at most its own length, so taking the cheapest slots first —
//! the last one in part, when energy needs it — is exactly optimal (the fractional knapsack
//! with equal weights).

use model::charging::{Plan, PlanRequest, PlannedSlot, PowerLimit, PriceSlot, Want};

/// Hours in a millisecond.
const MS_PER_HOUR: f64 = 3_600_000.0;
/// Below this much of an hour (about a third of a second) a share is rounding, not charging.
const EPSILON_H: f64 = 1e-4;

/// Hourly prices as the four quarter-hour slots the market has traded since 1 October 2025.
pub fn quarter_hours(slots: &[PriceSlot]) -> Vec<PriceSlot> {
    let mut out = Vec::with_capacity(slots.len() * 4);
    for s in slots {
        let len = s.end_ms - s.start_ms;
        if len > 15 * 60_000 && len % (15 * 60_000) == 0 {
            let mut start = s.start_ms;
            while start < s.end_ms {
                out.push(PriceSlot {
                    start_ms: start,
                    end_ms: start + 15 * 60_000,
                    price: s.price,
                });
                start += 15 * 60_000;
            }
        } else {
            out.push(*s);
        }
    }
    out
}

/// A slot's part that is usable: inside the window and not yet past (hours).
fn usable(slot: &PriceSlot, from: i64, until: i64) -> f64 {
    let start = slot.start_ms.max(from);
    let end = slot.end_ms.min(until);
    ((end - start).max(0)) as f64 / MS_PER_HOUR
}

/// The plan for `request` over `prices` (any order; overlapping slots are not expected).
pub fn plan(request: &PlanRequest, prices: &[PriceSlot]) -> Plan {
    plan_within(request, prices, &[])
}

/// [`plan`] where the charger gets less than its power in some spans: the peak guard's limits
/// in the hours the grid operator counts (`limits`, any order; a slot takes the lowest limit that
/// covers its start). Every kWh still costs its slot's price, and a slot holds at most its length
/// at its power, so the cheapest slots first stays exact. A need the window cannot hold under
/// the limits is planned as far as it goes, and the plan says the guard is why.
pub fn plan_within(request: &PlanRequest, prices: &[PriceSlot], limits: &[PowerLimit]) -> Plan {
    let from = request.from_ms.max(request.now_ms);
    let until = request.until_ms;
    let power = request.power_kw.max(0.0);
    let wanted_kwh = match request.want {
        Want::Hours(h) => h.max(0.0) * power,
        Want::Energy(kwh) => kwh.max(0.0),
    };
    let epsilon_kwh = EPSILON_H * power.max(1.0);
    // Each slot clipped to the window: charging in the slot that holds `now` (or the window's
    // start) runs from then, not from the slot's start. Its power: the charger's, or less under
    // a limit.
    let mut slots: Vec<(PriceSlot, f64, f64)> = prices
        .iter()
        .map(|s| {
            let clipped = PriceSlot {
                start_ms: s.start_ms.max(from),
                end_ms: s.end_ms.min(until),
                price: s.price,
            };
            let kw = limits
                .iter()
                .filter(|l| l.start_ms <= clipped.start_ms && clipped.start_ms < l.end_ms)
                .map(|l| l.kw.max(0.0))
                .fold(power, f64::min);
            (clipped, usable(s, from, until), kw)
        })
        .filter(|(_, h, _)| *h > EPSILON_H)
        .collect();
    slots.sort_by_key(|(s, _, _)| s.start_ms);
    // Prices known up to here; the window may reach beyond.
    let known_until = slots.last().map(|(s, _, _)| s.end_ms.min(until));
    let known_from = slots.first().map(|(s, _, _)| s.start_ms.max(from));
    let gap = known_until.is_none_or(|k| k < until) || known_from.is_none_or(|k| k > from);

    // Hours taken of each slot.
    let mut take = vec![0.0f64; slots.len()];
    let mut left = wanted_kwh;
    // A slot already being charged in stays: re-planning never stops what is running.
    if let Some(running) = request.running_slot_ms
        && let Some(k) = slots
            .iter()
            .position(|(s, _, _)| s.start_ms <= running.max(from) && running.max(from) < s.end_ms)
    {
        take[k] = slots[k].1;
        left -= slots[k].1 * slots[k].2;
    }
    // Below the floor: always charge, the whole slot.
    if let Some(floor) = request.min_price {
        for (k, (s, h, kw)) in slots.iter().enumerate() {
            if s.price < floor && take[k] == 0.0 {
                take[k] = *h;
                left -= *h * *kw;
            }
        }
    }
    // The cheapest of the rest, earlier first among equal prices, never above the ceiling.
    let mut order: Vec<usize> = (0..slots.len()).filter(|k| take[*k] == 0.0).collect();
    order.sort_by(|a, b| {
        slots[*a]
            .0
            .price
            .total_cmp(&slots[*b].0.price)
            .then(slots[*a].0.start_ms.cmp(&slots[*b].0.start_ms))
    });
    let (mut capped, mut limited) = (false, false);
    for k in order {
        if left <= epsilon_kwh {
            break;
        }
        let (slot, hours, kw) = slots[k];
        if request
            .max_price
            .is_some_and(|ceiling| slot.price > ceiling)
        {
            capped = true;
            continue;
        }
        if kw < power {
            limited = true;
        }
        if kw <= 0.0 {
            continue;
        }
        let h = hours.min(left / kw);
        take[k] = h;
        left -= h * kw;
    }
    let chosen: Vec<PlannedSlot> = slots
        .iter()
        .zip(&take)
        .filter(|(_, h)| **h > EPSILON_H)
        .filter(|((_, _, kw), _)| *kw > 0.0)
        .map(|((s, _, kw), h)| PlannedSlot {
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            price: s.price,
            share: h * MS_PER_HOUR / (s.end_ms - s.start_ms) as f64,
            kwh: h * kw,
        })
        .collect();
    let cost: f64 = chosen.iter().map(|s| s.price * s.kwh).sum();
    let planned_kwh: f64 = chosen.iter().map(|s| s.kwh).sum();
    // Charging at once instead: from the start of the window, slot after slot, until done.
    let mut at_once_left = wanted_kwh;
    let mut cost_if_now = 0.0;
    for (s, h, kw) in &slots {
        if at_once_left <= epsilon_kwh {
            break;
        }
        let kwh = (h * kw).min(at_once_left);
        cost_if_now += s.price * kwh;
        at_once_left -= kwh;
    }
    let complete = planned_kwh + epsilon_kwh >= wanted_kwh;
    Plan {
        slots: chosen,
        wanted_kwh,
        kwh: planned_kwh,
        cost,
        cost_if_now,
        saving: cost_if_now - cost,
        complete,
        capped_by_max_price: capped,
        limited_by_guard: limited && !complete,
        prices_until_ms: if gap { known_until } else { None },
    }
}

/// Whether the plan charges at `now_ms`, and until when the answer holds (ms).
pub fn charging_at(plan: &Plan, now_ms: i64) -> (bool, Option<i64>) {
    let current = plan
        .slots
        .iter()
        .find(|s| s.start_ms <= now_ms && now_ms < s.end_ms);
    match current {
        Some(s) => {
            // A slot charged in part is charged from its start: the car is topped up first.
            let end = s.start_ms + ((s.end_ms - s.start_ms) as f64 * s.share).round() as i64;
            if now_ms < end {
                // Until the end of a run of consecutive chosen slots.
                let mut until = end;
                for next in &plan.slots {
                    if next.start_ms == until && next.share >= 1.0 - 1e-9 {
                        until = next.end_ms;
                    }
                }
                (true, Some(until))
            } else {
                (
                    false,
                    plan.slots.iter().map(|s| s.start_ms).find(|t| *t > now_ms),
                )
            }
        }
        None => (
            false,
            plan.slots.iter().map(|s| s.start_ms).find(|t| *t > now_ms),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;
    const Q: i64 = 15 * 60_000;

    fn slots(prices: &[f64]) -> Vec<PriceSlot> {
        prices
            .iter()
            .enumerate()
            .map(|(k, p)| PriceSlot {
                start_ms: k as i64 * Q,
                end_ms: (k as i64 + 1) * Q,
                price: *p,
            })
            .collect()
    }

    fn request(n: usize, want: Want) -> PlanRequest {
        PlanRequest {
            from_ms: 0,
            until_ms: n as i64 * Q,
            want,
            power_kw: 4.0,
            max_price: None,
            min_price: None,
            now_ms: 0,
            running_slot_ms: None,
        }
    }

    fn starts(plan: &Plan) -> Vec<i64> {
        plan.slots.iter().map(|s| s.start_ms / Q).collect()
    }

    #[test]
    fn the_cheapest_slots_with_the_last_one_in_part() {
        // 4 kW for 2.5 kWh is 37.5 minutes: two slots and half of a third.
        let prices = slots(&[5.0, 1.0, 3.0, 2.0, 9.0]);
        let p = plan(&request(5, Want::Energy(2.5)), &prices);
        assert_eq!(starts(&p), [1, 2, 3]);
        let share: Vec<f64> = p.slots.iter().map(|s| s.share).collect();
        assert_eq!(share, [1.0, 0.5, 1.0]);
        assert!((p.kwh - 2.5).abs() < 1e-9 && p.complete);
        assert!(
            (p.cost - (1.0 + 0.5 * 3.0 + 2.0)).abs() < 1e-9,
            "{}",
            p.cost
        );
        // At once: 5, 1, then half of 3.
        assert!((p.cost_if_now - (5.0 + 1.0 + 1.5)).abs() < 1e-9);
    }

    /// The peak guard's limits: a slot gives what its limit lets through, the plan moves to the
    /// next cheapest for the rest, and says when the window cannot hold the need.
    #[rstest::rstest]
    #[case::a_limit_halves_the_cheap_slots(2.0, 3.0, &[0, 1, 2, 3], 3.0, true)]
    #[case::no_room_in_the_cheap_slots(0.0, 2.0, &[2, 3], 2.0, true)]
    #[case::the_window_cannot_hold_it(0.0, 3.0, &[2, 3], 2.0, false)]
    #[case::a_limit_above_the_power_changes_nothing(9.0, 2.0, &[0, 1], 2.0, true)]
    fn within_the_guard(
        #[case] limit_kw: f64,
        #[case] want_kwh: f64,
        #[case] chosen: &[i64],
        #[case] kwh: f64,
        #[case] complete: bool,
    ) {
        // 4 kW; the two cheap slots are in a counted hour the guard limits.
        let prices = slots(&[1.0, 1.0, 5.0, 5.0]);
        let limits = [PowerLimit {
            start_ms: 0,
            end_ms: 2 * Q,
            kw: limit_kw,
        }];
        let p = plan_within(&request(4, Want::Energy(want_kwh)), &prices, &limits);
        assert_eq!(starts(&p), chosen);
        assert!((p.kwh - kwh).abs() < 1e-9, "{} kWh", p.kwh);
        assert_eq!(p.complete, complete);
        assert_eq!(p.limited_by_guard, !complete, "says the guard is why");
        assert!((p.wanted_kwh - want_kwh).abs() < 1e-9);
    }

    #[test]
    fn never_above_the_ceiling_and_says_so() {
        let prices = slots(&[5.0, 1.0, 3.0, 2.0]);
        let p = plan(
            &PlanRequest {
                max_price: Some(2.5),
                ..request(4, Want::Hours(1.0))
            },
            &prices,
        );
        assert_eq!(starts(&p), [1, 3]);
        assert!(!p.complete && p.capped_by_max_price);
    }

    #[test]
    fn always_below_the_floor_even_past_the_need() {
        let prices = slots(&[-1.0, 4.0, -2.0, 3.0, 1.0]);
        let p = plan(
            &PlanRequest {
                min_price: Some(0.0),
                ..request(5, Want::Hours(0.25))
            },
            &prices,
        );
        assert_eq!(starts(&p), [0, 2]);
    }

    #[test]
    fn a_running_slot_is_kept_when_prices_change() {
        let prices = slots(&[3.0, 1.0, 1.0, 1.0]);
        let p = plan(
            &PlanRequest {
                running_slot_ms: Some(0),
                ..request(4, Want::Hours(0.5))
            },
            &prices,
        );
        assert_eq!(starts(&p), [0, 1]);
    }

    #[test]
    fn the_past_is_not_planned_and_unknown_prices_are_said() {
        let prices = slots(&[1.0, 2.0, 3.0]);
        let p = plan(
            &PlanRequest {
                now_ms: Q + Q / 2,
                until_ms: 8 * Q,
                ..request(8, Want::Hours(0.5))
            },
            &prices,
        );
        // Half of slot 1 is left, from now, then slot 2.
        assert_eq!(p.slots[0].start_ms, Q + Q / 2);
        assert_eq!(p.slots[0].share, 1.0);
        assert_eq!(p.slots[1].start_ms, 2 * Q);
        assert_eq!(p.prices_until_ms, Some(3 * Q));
    }

    #[test]
    fn hourly_prices_become_quarters() {
        let hourly = [PriceSlot {
            start_ms: 0,
            end_ms: H,
            price: 7.0,
        }];
        let q = quarter_hours(&hourly);
        assert_eq!(q.len(), 4);
        assert!(
            q.iter()
                .all(|s| s.end_ms - s.start_ms == Q && s.price == 7.0)
        );
    }

    #[test]
    fn charging_follows_the_plan() {
        let prices = slots(&[5.0, 1.0, 1.0, 9.0, 2.0]);
        let p = plan(&request(5, Want::Hours(0.625)), &prices);
        assert_eq!(starts(&p), [1, 2, 4]);
        assert_eq!(charging_at(&p, 0), (false, Some(Q)));
        assert_eq!(charging_at(&p, Q + 1), (true, Some(3 * Q)));
        assert_eq!(charging_at(&p, 3 * Q), (false, Some(4 * Q)));
        // Half of the last slot: charging for its first half.
        assert_eq!(charging_at(&p, 4 * Q + 60_000), (true, Some(4 * Q + Q / 2)));
        assert_eq!(charging_at(&p, 4 * Q + Q / 2), (false, None));
    }

    /// Every way to charge `need` whole slots out of `prices` (no ceiling, no floor).
    fn brute_force_cost(prices: &[f64], need: usize) -> f64 {
        let n = prices.len();
        let mut best = f64::INFINITY;
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != need {
                continue;
            }
            let cost: f64 = (0..n)
                .filter(|k| mask & (1 << k) != 0)
                .map(|k| prices[k])
                .sum();
            best = best.min(cost);
        }
        best
    }

    proptest! {
        #[test]
        fn never_above_the_ceiling_nor_outside_the_window(
            prices in proptest::collection::vec(-50.0f64..500.0, 1..96),
            from in 0usize..40, len in 1usize..96, hours in 0.0f64..12.0,
            ceiling in proptest::option::of(-20.0f64..300.0),
        ) {
            let prices = slots(&prices);
            let r = PlanRequest {
                from_ms: from as i64 * Q,
                until_ms: (from + len) as i64 * Q,
                max_price: ceiling,
                ..request(0, Want::Hours(hours))
            };
            let p = plan(&r, &prices);
            for s in &p.slots {
                prop_assert!(ceiling.is_none_or(|c| s.price <= c));
                prop_assert!(s.start_ms < r.until_ms && s.end_ms > r.from_ms, "outside the window");
                prop_assert!(s.share > 0.0 && s.share <= 1.0 + 1e-9);
            }
            // Never more than needed, and as many slots as the need takes at most.
            prop_assert!(p.kwh <= hours * r.power_kw + 1e-6);
            let full = p.slots.iter().filter(|s| s.share > 1.0 - 1e-9).count();
            prop_assert!(full as f64 <= (hours * 4.0).floor() + 1e-9);
            prop_assert!(p.slots.len() as f64 <= (hours * 4.0).ceil() + 1.0);
        }

        #[test]
        fn as_cheap_as_any_other_choice(
            prices in proptest::collection::vec(-50.0f64..500.0, 1..12),
            need in 0usize..12,
        ) {
            let need = need.min(prices.len());
            let p = plan(&request(prices.len(), Want::Hours(need as f64 / 4.0)), &slots(&prices));
            // 4 kW for a quarter of an hour: 1 kWh a slot, so the cost is the sum of the prices.
            let best = brute_force_cost(&prices, need);
            prop_assert!((p.cost - best).abs() < 1e-6, "plan {} vs best {}", p.cost, best);
            prop_assert!(p.cost <= p.cost_if_now + 1e-9);
        }
    }
}
