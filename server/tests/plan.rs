//! `ampwise plan` and the planner on real days (../shared/data/prices/notable_days.csv: the most
//! negative and the most expensive SE3 days, an all-negative day, the 23- and 25-hour days), as
//! anyone checking a plan would run it.

use rstest::rstest;
use server::plan::{PlanArgs, PlanOut, run};

const PRICES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../backend/tests/fixtures/prices/se3-notable-days-eur-mwh.csv"
);

fn plan(from: &str, until: &str, hours: f64, max: Option<f64>, min: Option<f64>) -> PlanOut {
    run(&PlanArgs {
        prices: PRICES.into(),
        area: "SE3".into(),
        from: from.into(),
        until: until.into(),
        hours: Some(hours),
        kwh: None,
        power_kw: Some(11.0),
        max_price: max,
        min_price: min,
    })
    .unwrap()
}

/// Every price in the window, per quarter (EUR/MWh).
fn window_prices(from: &str, until: &str) -> Vec<(String, f64)> {
    let out = plan(from, until, 48.0, None, None);
    out.slots.into_iter().map(|s| (s.start, s.price)).collect()
}

#[rstest]
// 2023-07-16: SE3's most negative day (−60.04 EUR/MWh at 14:00–15:00 CEST).
#[case::most_negative_day("2023-07-16T08:00:00+02:00", "2023-07-16T20:00:00+02:00", 4.0, 16)]
// 2022-08-30: SE3's most expensive hour (799.97); overnight before it.
#[case::spike_day("2022-08-29T18:00:00+02:00", "2022-08-30T07:00:00+02:00", 4.0, 16)]
// 2024-03-31: clocks forward; 22:00 to 06:00 is seven hours, 28 quarters.
#[case::spring_forward_night("2024-03-30T22:00:00+01:00", "2024-03-31T06:00:00+02:00", 7.0, 28)]
// 2023-10-29: clocks back; 22:00 to 06:00 is nine hours, 36 quarters.
#[case::fall_back_night("2023-10-28T22:00:00+02:00", "2023-10-29T06:00:00+01:00", 9.0, 36)]
#[case::all_negative_day("2024-08-24T18:00:00+02:00", "2024-08-25T18:00:00+02:00", 3.0, 12)]
fn the_cheapest_quarters_of_real_days(
    #[case] from: &str,
    #[case] until: &str,
    #[case] hours: f64,
    #[case] quarters: usize,
) {
    let out = plan(from, until, hours, None, None);
    assert_eq!(out.slots.len(), quarters);
    assert!(out.complete);
    // Optimal: nothing left out is cheaper than anything chosen.
    let chosen: std::collections::HashSet<&str> =
        out.slots.iter().map(|s| s.start.as_str()).collect();
    let worst_chosen = out.slots.iter().map(|s| s.price).fold(f64::MIN, f64::max);
    for (start, price) in window_prices(from, until) {
        if !chosen.contains(start.as_str()) {
            assert!(
                price >= worst_chosen,
                "{start} at {price} left out, {worst_chosen} chosen"
            );
        }
    }
    assert!(out.cost <= out.cost_if_now + 1e-9);
    assert!((out.saving - (out.cost_if_now - out.cost)).abs() < 1e-6);
    // kWh: 11 kW for a quarter of an hour each.
    assert!(out.slots.iter().all(|s| (s.kwh - 2.75).abs() < 1e-9));
}

#[test]
fn the_most_negative_hour_is_bought_and_pays() {
    let out = plan(
        "2023-07-16T08:00:00+02:00",
        "2023-07-16T20:00:00+02:00",
        1.0,
        None,
        None,
    );
    assert!(
        out.slots
            .iter()
            .all(|s| s.start.starts_with("2023-07-16T14:")),
        "{out:?}"
    );
    assert!(out.slots.iter().all(|s| (s.price - -60.04).abs() < 1e-9));
    // 11 kWh at −60.04 EUR/MWh: paid 0.66 EUR to charge.
    assert!((out.cost - -0.66044).abs() < 1e-6, "{}", out.cost);
}

#[test]
fn below_the_floor_it_always_charges() {
    // Every negative hour of the day, though only one hour was asked for.
    let out = plan(
        "2023-07-16T00:00:00+02:00",
        "2023-07-17T00:00:00+02:00",
        1.0,
        None,
        Some(0.0),
    );
    let negative = window_prices("2023-07-16T00:00:00+02:00", "2023-07-17T00:00:00+02:00")
        .iter()
        .filter(|(_, p)| *p < 0.0)
        .count();
    assert_eq!(negative, 13 * 4);
    assert_eq!(out.slots.len(), negative);
}

#[test]
fn never_above_the_ceiling() {
    let out = plan(
        "2022-12-12T18:00:00+01:00",
        "2022-12-13T23:00:00+01:00",
        10.0,
        Some(300.0),
        None,
    );
    assert!(out.slots.iter().all(|s| s.price <= 300.0));
    assert!(
        !out.complete,
        "10 hours under 300 EUR/MWh do not exist that day"
    );
}

#[test]
fn the_command_prints_the_documented_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ampwise"))
        .args([
            "plan",
            "--prices",
            PRICES,
            "--area",
            "SE3",
            "--from",
            "2023-01-10T18:00:00+01:00",
            "--until",
            "2023-01-11T07:00:00+01:00",
            "--kwh",
            "22",
            "--power-kw",
            "11",
            "--max-price",
            "500",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let slots = json["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 8, "22 kWh at 11 kW: two hours");
    for key in ["start", "end", "price", "kwh"] {
        assert!(slots[0].get(key).is_some(), "{key}");
    }
    assert!(slots[0]["start"].as_str().unwrap().ends_with("+01:00"));
    for key in ["cost", "cost_if_now", "saving"] {
        assert!(json[key].is_number(), "{key}");
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_ampwise"))
        .args([
            "plan",
            "--prices",
            PRICES,
            "--area",
            "SE5",
            "--from",
            "2023-01-10T18:00:00+01:00",
            "--until",
            "2023-01-11T07:00:00+01:00",
            "--hours",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no column \"SE5\""));
}
