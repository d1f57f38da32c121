//! Issue 22's figures: a simulated January behind a 20 A fuse, the household simulator's load
//! and two chargers whose cars want 16 A each evening, with and without the peak guard. The
//! month's billed peak and its cost by each operator's rule, the energy the cars still got, and
//! the time above the fuse.
//!
//! The loop is the product's own pieces as pure functions, stepped every 10 s (a month over
//! HTTP would take a month): the meter's reading is the household plus what the chargers drew;
//! the guard's headroom is the forwarder's (`backend::capacity::guard_level`,
//! `guard_allowed_kw`, `guard_headroom_a`, the update's headroom the lower of the fuse's and the
//! guard's); the simulator's load balancer shares it (`chargeamps_sim::balance::allocate`, its
//! margin and its ramp), and the chargers draw the new setpoints until the next reading.

use backend::capacity::{self, HourMean, Month};
use chargeamps_sim::balance::{ChargerNeed, Situation, allocate, ramp};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use model::charging::PeakGuard;

const FUSE_A: f64 = 20.0;
const STEP_S: i64 = 10;
const TZ: &str = "Europe/Stockholm";
const V: f64 = 230.0;

/// A car: which phases its charger uses, when it comes home and leaves (local minutes since
/// midnight), and the energy it wants each evening (kWh).
struct Car {
    name: &'static str,
    phases: [bool; 3],
    arrives_min: i64,
    leaves_min: i64,
    wants_kwh: f64,
}

const CARS: [Car; 2] = [
    Car {
        name: "Garage (3-phase, 11 kW)",
        phases: [true, true, true],
        arrives_min: 17 * 60 + 30,
        leaves_min: 7 * 60,
        wants_kwh: 20.0,
    },
    Car {
        name: "Carport (1-phase on L2, 3.7 kW)",
        phases: [false, true, false],
        arrives_min: 18 * 60,
        leaves_min: 7 * 60 + 30,
        wants_kwh: 10.0,
    },
];

/// What one month came to.
struct Outcome {
    hours: Vec<HourMean>,
    delivered_kwh: f64,
    wanted_kwh: f64,
    /// Seconds above the fuse on some phase: in the step a household load switched on, and
    /// after that (the loop had a reading to act on).
    over_step_s: i64,
    over_settled_s: i64,
    worst_over_a: f64,
}

/// One month (`days` of January 2026) under `guard` for `operator` (`None`: no cars at all).
fn month(days: i64, guard: PeakGuard, operator: &str, cars: bool) -> anyhow::Result<Outcome> {
    let tz = TimeZone::get(TZ)?;
    let (from, _) = Month {
        year: 2026,
        month: 1,
    }
    .bounds(&tz)?;
    let from_s = from.as_second();
    let until_s = from_s + days * 86_400;
    let house = server::simulate::Household::new(7, tz.clone(), 0.0);
    let options = chargeamps_sim::Options::default();
    let mut setpoint = [0.0f64; 2];
    let mut still_wants = [0.0f64; 2];
    let mut was_home = [false; 2];
    let mut out = Outcome {
        hours: Vec::new(),
        delivered_kwh: 0.0,
        wanted_kwh: 0.0,
        over_step_s: 0,
        over_settled_s: 0,
        worst_over_a: 0.0,
    };
    let (mut hour_s, mut hour_sum_kw, mut hour_n) = (i64::MIN, 0.0, 0u32);
    let mut level: Option<f64> = None;
    let mut last_household = [0.0; 3];
    for at in (from_s..until_s).step_by(STEP_S as usize) {
        let ts = Timestamp::from_second(at)?;
        let local = ts.to_zoned(tz.clone());
        let minute = i64::from(local.hour()) * 60 + i64::from(local.minute());
        // The cars: home from the evening to the morning, wanting their energy once a day.
        for (k, car) in CARS.iter().enumerate() {
            let home = cars && (minute >= car.arrives_min || minute < car.leaves_min);
            if home && !was_home[k] {
                still_wants[k] = car.wants_kwh;
                out.wanted_kwh += car.wants_kwh;
            }
            if !home {
                still_wants[k] = 0.0;
                setpoint[k] = 0.0;
            }
            was_home[k] = home;
        }
        // The meter: the household and what the chargers draw.
        let household = house.profile(at * 1000);
        let mut load = household;
        for (k, car) in CARS.iter().enumerate() {
            for (phase, on) in load.iter_mut().zip(car.phases) {
                if on {
                    *phase += setpoint[k];
                }
            }
        }
        let stepped_up = household
            .iter()
            .zip(last_household)
            .any(|(now, before)| *now > before + 0.5);
        last_household = household;
        let over = load.iter().map(|a| a - FUSE_A).fold(0.0f64, f64::max);
        if over > 0.0 {
            if stepped_up {
                out.over_step_s += STEP_S;
            } else {
                out.over_settled_s += STEP_S;
                out.worst_over_a = out.worst_over_a.max(over);
            }
        }
        for (k, car) in CARS.iter().enumerate() {
            // A car that is full takes no more.
            let phases = car.phases.iter().filter(|p| **p).count() as f64;
            let kwh = (setpoint[k] * V * phases * STEP_S as f64 / 3_600_000.0).min(still_wants[k]);
            out.delivered_kwh += kwh;
            still_wants[k] = (still_wants[k] - kwh).max(0.0);
        }
        // The hour's mean so far (the monitor's hourly rollup), and a new hour's level.
        let power_kw = load.iter().map(|a| a.max(0.0)).sum::<f64>() * V / 1000.0;
        let this_hour = capacity::local_hour_start(ts, &tz).as_second();
        if this_hour != hour_s {
            if hour_n > 0 {
                out.hours.push(HourMean {
                    start: Timestamp::from_second(hour_s)?,
                    kw: hour_sum_kw / f64::from(hour_n),
                    covered_s: 3600,
                });
            }
            hour_s = this_hour;
            (hour_sum_kw, hour_n) = (0.0, 0);
            level = capacity::guard_level(
                guard,
                operator,
                None,
                TZ,
                FUSE_A as u16,
                &out.hours,
                Timestamp::from_second(hour_s)?,
            )?;
        }
        hour_sum_kw += power_kw;
        hour_n += 1;
        // The update: the fuse's headroom, or the guard's where lower.
        let measured = load.map(Some);
        let headroom = level.map(|level| {
            let allowed = capacity::guard_allowed_kw(
                level,
                hour_sum_kw / f64::from(hour_n),
                (at - hour_s) as f64,
            );
            let guard = capacity::guard_headroom_a(allowed, measured);
            load.map(|i| Some((FUSE_A - i.max(0.0)).min(guard)))
        });
        // The balancer: shares the room, ramps up, steps down at once.
        let situation = Situation {
            fuse_a: FUSE_A,
            margin_a: options.margin_a,
            measured: Some(measured),
            headroom,
            fallback_a: 6.0,
            paused: false,
            chargers: CARS
                .iter()
                .enumerate()
                .map(|(k, car)| ChargerNeed {
                    phases: car.phases,
                    cap_a: if still_wants[k] > 0.0 { 16.0 } else { 0.0 },
                    drawn_at_measurement: car.phases.map(|on| if on { setpoint[k] } else { 0.0 }),
                })
                .collect(),
        };
        for (k, target) in allocate(&situation).into_iter().enumerate() {
            setpoint[k] = ramp(setpoint[k], target, options.ramp_step_a);
        }
    }
    if hour_n > 0 {
        out.hours.push(HourMean {
            start: Timestamp::from_second(hour_s)?,
            kw: hour_sum_kw / f64::from(hour_n),
            covered_s: 3600,
        });
    }
    Ok(out)
}

/// Prints the month for each operator: the household alone, with the cars and no guard, and
/// with the guard that never raises the month's billed level (from 3 kW) or a 5 kW cap.
pub fn run(days: i64) -> anyhow::Result<()> {
    println!(
        "january: {days} days of January 2026 behind a {FUSE_A} A fuse, household simulator (seed 7), {} and {}: {} and {} kWh each evening, 16 A wanted; 10 s steps",
        CARS[0].name, CARS[1].name, CARS[0].wants_kwh, CARS[1].wants_kwh
    );
    let guards = [
        ("household alone", PeakGuard::Off, false),
        ("cars, no guard", PeakGuard::Off, true),
        (
            "cars, never raise the billed peak (from 3 kW)",
            PeakGuard::Billed { start_w: 3000 },
            true,
        ),
        (
            "cars, never above 5 kW",
            PeakGuard::Cap { cap_w: 5000 },
            true,
        ),
    ];
    let month_id = Month {
        year: 2026,
        month: 1,
    };
    for operator in ["goteborg-energi", "ellevio", "sollentuna-energi-miljo"] {
        for (name, guard, cars) in guards {
            let started = std::time::Instant::now();
            let out = month(days, guard, operator, cars)?;
            let bill = capacity::month_peaks_of_hours(
                operator,
                None,
                month_id,
                TZ,
                FUSE_A as u16,
                &out.hours,
            )?;
            println!(
                "  {operator:<24} {name:<46} billed {:>5.2} kW {:>7.0} kr · cars got {:>6.1} of {:>6.1} kWh · above the fuse {} s at a household step, {} s after (worst {:.1} A) · {:.1} s",
                bill.billed_kw,
                bill.cost_sek,
                out.delivered_kwh,
                out.wanted_kwh,
                out.over_step_s,
                out.over_settled_s,
                out.worst_over_a,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
