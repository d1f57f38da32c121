//! Adaptive charging against a real database: optiCharge plans with the prices there are, plans
//! again when more are published, and never drops what is running; decisions follow the clock.

use std::sync::Arc;

use backend::clock::{Clock, OffsetClock};
use backend::licences::{self, LicenceKey};
use backend::{Database, Services, accounts, charging, monitors, reporters, sites};
use model::charging::{AdaptiveInput, Decision, PriceSlot};
use model::monitor::MonitorInput;
use model::reporter::ReporterInput;
use model::{Account, Capability, PriceArea, Role, SiteInput};

struct World {
    s: Services,
    clock: Arc<OffsetClock>,
    anna: Account,
    reporter: i64,
    _dir: tempfile::TempDir,
}

fn at(local: &str) -> i64 {
    let tz = jiff::tz::TimeZone::get("Europe/Stockholm").unwrap();
    local
        .parse::<jiff::civil::DateTime>()
        .unwrap()
        .to_zoned(tz)
        .unwrap()
        .timestamp()
        .as_millisecond()
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = backend::testing::database_url(dir.path()).await;
    let key = LicenceKey::from_hex(&"5a".repeat(32)).unwrap();
    let clock = Arc::new(OffsetClock::default());
    let s = Services::new(&Database::connect(&url).await.unwrap())
        .with_licence_key(Some(key.clone()))
        .with_charging_clock(clock.clone());
    s.ingest.spawn_detached();
    let anna = accounts::sign_up(
        &s,
        "anna@example.se",
        "Kvarnvägen-Laddbox-42",
        Role::Owner,
        None,
    )
    .await
    .unwrap()
    .account()
    .unwrap();
    let site = SiteInput {
        name: "Villa Ek".into(),
        address: String::new(),
        time_zone: "Europe/Stockholm".into(),
        price_area: "SE3".into(),
        main_fuse_a: "25".into(),
    };
    let site = sites::create(&s, &anna, &site, "").await.unwrap();
    let monitor = MonitorInput {
        site_id: site.to_string(),
        name: "Mains".into(),
        phases: "3".into(),
        kind: "http".into(),
    };
    let monitor = monitors::create(&s, &anna, &monitor)
        .await
        .unwrap()
        .monitor_id;
    let code = licences::mint(&s, &key, Capability::ChargeAmps, 1)
        .await
        .unwrap()
        .remove(0);
    licences::redeem(&s, &anna, &code).await.unwrap().unwrap();
    let creds = reporters::new_credentials(&s, &anna).await.unwrap();
    let input = ReporterInput {
        site_id: site.to_string(),
        kind: "charge_amps".into(),
        name: "Garage".into(),
        serial: creds.serial,
        main_fuse_a: "25".into(),
        monitor_id: monitor.to_string(),
        ..Default::default()
    };
    let reporter = reporters::create(&s, &anna, &input).await.unwrap();
    World {
        s,
        clock,
        anna,
        reporter,
        _dir: dir,
    }
}

/// Hourly prices from `from` (local), one per hour.
async fn prices(w: &World, from: &str, list: &[f64]) {
    let start = at(from);
    let slots: Vec<PriceSlot> = list
        .iter()
        .enumerate()
        .map(|(k, p)| PriceSlot {
            start_ms: start + k as i64 * 3_600_000,
            end_ms: start + (k as i64 + 1) * 3_600_000,
            price: *p,
        })
        .collect();
    w.s.charging
        .store_prices(PriceArea::SE3, &slots, "test", 0)
        .await
        .unwrap();
}

fn opti(hours: &str) -> AdaptiveInput {
    AdaptiveInput {
        mode: "opticharge".into(),
        ready_by: "07:00".into(),
        want: "hours".into(),
        amount: hours.into(),
        power_kw: "11".into(),
        ..Default::default()
    }
}

async fn refresh(w: &World) {
    for record in w.s.charging.active_chargings().await.unwrap() {
        charging::refresh(&w.s, record, w.clock.now_ms())
            .await
            .unwrap();
    }
}

fn decision(w: &World) -> Decision {
    w.s.charging_board.decide(w.reporter, w.clock.now_ms()).0
}

#[tokio::test]
async fn a_plan_on_todays_prices_is_made_again_when_tomorrows_come() {
    let w = world().await;
    w.clock.set(at("2026-12-01T20:00:00"));
    // Today's prices only: 20:00 to midnight, the cheapest at 22:00.
    prices(&w, "2026-12-01T20:00:00", &[3.0, 2.0, 1.0, 2.5]).await;
    let view = charging::set(&w.s, &w.anna, w.reporter, &opti("1"))
        .await
        .unwrap();
    let plan = view.plan.unwrap();
    assert_eq!(
        plan.slots.first().unwrap().start_ms,
        at("2026-12-01T22:00:00")
    );
    assert_eq!(
        plan.prices_until_ms,
        Some(at("2026-12-02T00:00:00")),
        "it says what it does not know"
    );
    assert_eq!(
        decision(&w),
        Decision::WaitingFor {
            from_ms: Some(at("2026-12-01T22:00:00"))
        }
    );

    // Tomorrow's arrive with a cheaper night: planned again.
    prices(
        &w,
        "2026-12-02T00:00:00",
        &[0.5, 0.4, 0.3, 0.2, 0.9, 1.5, 2.0],
    )
    .await;
    refresh(&w).await;
    let view = charging::view(&w.s, &w.anna, w.reporter).await.unwrap();
    let plan = view.plan.unwrap();
    assert_eq!(
        plan.slots.first().unwrap().start_ms,
        at("2026-12-02T03:00:00")
    );
    assert_eq!(plan.prices_until_ms, None);
    assert!(plan.saving > 0.0);
}

#[tokio::test]
async fn a_running_slot_is_never_dropped_and_the_total_stays() {
    let w = world().await;
    w.clock.set(at("2026-12-01T20:00:00"));
    prices(
        &w,
        "2026-12-01T20:00:00",
        &[3.0, 2.0, 1.0, 2.5, 0.5, 0.6, 2.0, 2.0, 2.0, 2.0, 2.0],
    )
    .await;
    charging::set(&w.s, &w.anna, w.reporter, &opti("1.5"))
        .await
        .unwrap();
    // Midnight to 01:30, the cheapest.
    w.clock.set(at("2026-12-02T00:20:00"));
    refresh(&w).await;
    assert_eq!(
        decision(&w),
        Decision::AllowedUntil {
            until_ms: Some(at("2026-12-02T01:30:00"))
        }
    );
    // A new publication makes 01:00 expensive and 04:00 cheapest: what runs now stays, the rest
    // moves.
    prices(&w, "2026-12-02T01:00:00", &[5.0, 2.0, 2.0, 0.1]).await;
    refresh(&w).await;
    let plan = charging::view(&w.s, &w.anna, w.reporter)
        .await
        .unwrap()
        .plan
        .unwrap();
    let hours: f64 = plan
        .slots
        .iter()
        .map(|s| (s.end_ms - s.start_ms) as f64 * s.share)
        .sum::<f64>()
        / 3_600_000.0;
    assert!((hours - 1.5).abs() < 1e-6, "{hours} h planned");
    assert!(
        plan.slots.iter().any(
            |s| s.start_ms <= at("2026-12-02T00:20:00") && at("2026-12-02T00:20:00") < s.end_ms
        )
    );
    // The running quarter finishes; the rest of the need moves to 04:00 (0.1 beats 0.5).
    assert_eq!(
        decision(&w),
        Decision::AllowedUntil {
            until_ms: Some(at("2026-12-02T00:30:00"))
        }
    );
    w.clock.set(at("2026-12-02T02:00:00"));
    refresh(&w).await;
    assert_eq!(
        decision(&w),
        Decision::WaitingFor {
            from_ms: Some(at("2026-12-02T04:00:00"))
        }
    );
}

#[tokio::test]
async fn without_prices_it_charges_at_once_and_says_so() {
    let w = world().await;
    w.clock.set(at("2026-12-01T20:00:00"));
    let view = charging::set(&w.s, &w.anna, w.reporter, &opti("4"))
        .await
        .unwrap();
    assert_eq!(view.decision, Decision::NoPricesYet);
    assert!(view.decision.allows());
}

/// optiCharge plans within the peak guard: in the hours the grid operator counts (Göteborg
/// Energi: all of them) an 11 kW charger gets what the level leaves, so the same need takes more
/// quarters; a level that leaves less than the charger's least current (6 A on three phases,
/// 4.1 kW) leaves nothing, and the plan says how much is missing. Turning the guard off plans at
/// full power again.
#[tokio::test]
async fn opticharge_plans_within_the_peak_guard_and_says_what_is_missing() {
    use model::charging::SiteGridInput;
    let w = world().await;
    w.clock.set(at("2026-12-01T20:00:00"));
    // 20:00 to 07:00, cheapest around midnight.
    prices(
        &w,
        "2026-12-01T20:00:00",
        &[3.0, 2.0, 1.2, 1.0, 0.5, 0.6, 0.8, 1.1, 2.0, 2.5, 3.0],
    )
    .await;
    let site = sites::list(&w.s, &w.anna).await.unwrap()[0].id;
    let guard = |mode: &str, kw: &str| SiteGridInput {
        operator: "goteborg-energi".into(),
        guard: mode.into(),
        guard_kw: kw.into(),
        ..SiteGridInput::default()
    };
    // (name, guard, level, quarters planned, kWh planned, complete)
    let cases = [
        ("no guard: 2 h at 11 kW", "off", "", 8, 22.0, true),
        // 5 kW × 97 % = 4.85 kW: 22 kWh needs 4.54 h, 19 quarters (the last in part).
        (
            "a 5 kW cap: the same energy, more quarters",
            "cap",
            "5",
            19,
            22.0,
            true,
        ),
        (
            "a 4 kW cap: below the charger's least current",
            "cap",
            "4",
            0,
            0.0,
            false,
        ),
    ];
    for (name, mode, kw, quarters, kwh, complete) in cases {
        charging::set_site_grid(&w.s, &w.anna, site, &guard(mode, kw))
            .await
            .unwrap();
        let view = charging::set(&w.s, &w.anna, w.reporter, &opti("2"))
            .await
            .unwrap();
        let plan = view.plan.expect("a plan");
        assert_eq!(plan.slots.len(), quarters, "{name}");
        assert!((plan.kwh - kwh).abs() < 1e-6, "{name}: {} kWh", plan.kwh);
        assert!((plan.wanted_kwh - 22.0).abs() < 1e-6, "{name}");
        assert_eq!(plan.complete, complete, "{name}");
        assert_eq!(plan.limited_by_guard, !complete, "{name}: says why");
        for s in &plan.slots {
            let hours = (s.end_ms - s.start_ms) as f64 * s.share / 3_600_000.0;
            let most = if mode == "cap" { 4.85 } else { 11.0 };
            assert!(s.kwh <= most * hours + 1e-9, "{name}: {s:?}");
        }
    }
}
