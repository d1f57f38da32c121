//! Capacity tariffs: each operator's rule on a month of readings whose answer is known by hand.
//!
//! Each month is a meter posting every minute: a flat 1 kW house, and a few hours at a known
//! higher power (a car charging at 5–14 kW). Each case names the operator's price page (the
//! source the `grid-tariffs` crate links for that operator) and states the rule as the crate
//! encodes it and as issue 22 summarises it; the pages themselves could not be fetched from
//! this machine (no internet), so the rule is paraphrased, not quoted. The kr per kW are the
//! crate's data for that month, VAT included.

use backend::capacity::{CapacityError, HourMean, Month, Sample, hourly_means, month_peaks};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

const TZ: &str = "Europe/Stockholm";

/// A month of readings every minute: 1 kW, but `kw` during each `(start, minutes, kw)`; a start is
/// the site's clock ("2026-01-05T17:00", the earlier when the clock shows it twice) or UTC
/// ("2026-10-25T01:00:00Z").
fn month(month: &str, loads: &[(&str, i64, f64)]) -> Vec<Sample> {
    let tz = TimeZone::get(TZ).unwrap();
    let (from, until) = month.parse::<Month>().unwrap().bounds(&tz).unwrap();
    let windows: Vec<(i64, i64, f64)> = loads
        .iter()
        .map(|&(start, minutes, kw)| {
            let start = match start.parse::<Timestamp>() {
                Ok(utc) => utc,
                Err(_) => start
                    .parse::<DateTime>()
                    .unwrap()
                    .to_zoned(tz.clone())
                    .unwrap()
                    .timestamp(),
            }
            .as_second();
            (start, start + minutes * 60, kw)
        })
        .collect();
    // From an hour before the month to an hour after it: the bounds are the month's own.
    (from.as_second() - 3600..until.as_second() + 3600)
        .step_by(60)
        .map(|at| Sample {
            at: Timestamp::from_second(at).unwrap(),
            power_w: windows
                .iter()
                .find(|&&(from, to, _)| (from..to).contains(&at))
                .map_or(1000.0, |&(_, _, kw)| kw * 1000.0),
        })
        .collect()
}

/// `local` ("2026-01-05T17:00") as the UTC moment the output names.
fn utc(local: &str) -> String {
    local
        .parse::<DateTime>()
        .unwrap()
        .to_zoned(TimeZone::get(TZ).unwrap())
        .unwrap()
        .timestamp()
        .to_string()
}

struct Case {
    name: &'static str,
    operator: &'static str,
    month: &'static str,
    loads: &'static [(&'static str, i64, f64)],
    /// The counted peaks' local starts and counted kW.
    peaks: &'static [(&'static str, f64)],
    billed_kw: f64,
    cost_sek: f64,
}

const CASES: &[Case] = &[
    Case {
        // goteborgenergi.se/privat/elnat/elnatsavgiften: the mean of the three highest hourly
        // mean powers, on three different days. 45 kr/kW (Standard). The 5th's two hours count once, as that day's highest.
        name: "Göteborg Energi: the three highest hours on three different days",
        operator: "goteborg-energi",
        month: "2026-01",
        loads: &[
            ("2026-01-05T17:00", 60, 9.0),
            ("2026-01-05T18:00", 60, 10.0),
            ("2026-01-06T17:00", 60, 7.0),
            ("2026-01-07T17:00", 60, 6.0),
            ("2026-01-08T17:00", 60, 5.0),
        ],
        peaks: &[
            ("2026-01-05T18:00", 10.0),
            ("2026-01-06T17:00", 7.0),
            ("2026-01-07T17:00", 6.0),
        ],
        billed_kw: 23.0 / 3.0,
        cost_sek: 23.0 / 3.0 * 45.0,
    },
    Case {
        // ellevio.se/abonnemang/elnatspriser/hus: the same three days, with the hours from
        // 22:00 to 06:00 counted at half. 81.25 kr/kW. The 14 kW at 23:00 counts as 7 kW.
        name: "Ellevio: three days, night hours at half",
        operator: "ellevio",
        month: "2026-01",
        loads: &[
            ("2026-01-12T23:00", 60, 14.0),
            ("2026-01-13T18:00", 60, 8.0),
            ("2026-01-14T18:00", 60, 6.0),
            ("2026-01-15T18:00", 60, 5.0),
        ],
        peaks: &[
            ("2026-01-12T23:00", 7.0),
            ("2026-01-13T18:00", 8.0),
            ("2026-01-14T18:00", 6.0),
        ],
        billed_kw: 7.0,
        cost_sek: 7.0 * 81.25,
    },
    Case {
        // seom.se/el/elnat/priser-och-villkor: the mean of the three highest hours of weekdays
        // 07–19 (public holidays out), 135 kr/kW November–March, 67.50 April–October.
        // Not counted: Saturday the 10th, Epiphany (the 6th), 20:00 on the 12th. Two hours of
        // one day both count.
        name: "Sollentuna: three hours of winter weekdays 07-19, holidays out",
        operator: "sollentuna-energi-miljo",
        month: "2026-01",
        loads: &[
            ("2026-01-06T12:00", 60, 10.0),
            ("2026-01-10T12:00", 60, 9.0),
            ("2026-01-12T20:00", 60, 12.0),
            ("2026-01-12T17:00", 60, 8.0),
            ("2026-01-12T18:00", 60, 7.0),
            ("2026-01-13T08:00", 60, 6.0),
            ("2026-01-14T08:00", 60, 5.0),
        ],
        peaks: &[
            ("2026-01-12T17:00", 8.0),
            ("2026-01-12T18:00", 7.0),
            ("2026-01-13T08:00", 6.0),
        ],
        billed_kw: 7.0,
        cost_sek: 7.0 * 135.0,
    },
    Case {
        // malarenergi.se/el/elnat/priser-elnat: the month's one highest hour of weekdays 07–19.
        // 18.75 kr/kW (Säkringsabonnemang).
        name: "Mälarenergi: one maximum, weekdays 07-19",
        operator: "malarenergi",
        month: "2026-01",
        loads: &[
            ("2026-01-10T12:00", 60, 10.0),
            ("2026-01-13T03:00", 60, 11.0),
            ("2026-01-13T07:00", 60, 9.0),
            ("2026-01-14T07:00", 60, 8.0),
        ],
        peaks: &[("2026-01-13T07:00", 9.0)],
        billed_kw: 9.0,
        cost_sek: 9.0 * 18.75,
    },
    Case {
        // Summer time begins on 29 March 2026 (02:00 → 03:00). The month ends at midnight on the
        // site's clock: 23:00 on the 31st counts for March, 1 April 00:00 (still 31 March in UTC)
        // does not; the short night is one hour less, not a shifted day.
        name: "Göteborg Energi in March: summer time, and the month ends at local midnight",
        operator: "goteborg-energi",
        month: "2026-03",
        loads: &[
            ("2026-03-29T03:00", 60, 8.0),
            ("2026-03-30T17:00", 60, 6.0),
            ("2026-03-31T23:00", 60, 7.0),
            ("2026-04-01T00:00", 60, 12.0),
        ],
        peaks: &[
            ("2026-03-29T03:00", 8.0),
            ("2026-03-30T17:00", 6.0),
            ("2026-03-31T23:00", 7.0),
        ],
        billed_kw: 7.0,
        cost_sek: 7.0 * 45.0,
    },
    Case {
        // Winter time begins on 25 October 2026: 02:00–03:00 comes twice. They are two hours,
        // each with its own mean (10 kW, then 4 kW; merged they would read 7 kW). 1 October
        // 00:30 (30 September in UTC) is October's.
        name: "Göteborg Energi in October: the repeated hour is two hours",
        operator: "goteborg-energi",
        month: "2026-10",
        loads: &[
            ("2026-10-01T00:00", 60, 6.0),
            ("2026-10-20T17:00", 60, 5.0),
            ("2026-10-25T02:00", 60, 10.0),
            ("2026-10-25T01:00:00Z", 60, 4.0),
        ],
        peaks: &[
            ("2026-10-01T00:00", 6.0),
            ("2026-10-20T17:00", 5.0),
            ("2026-10-25T02:00", 10.0),
        ],
        billed_kw: 7.0,
        cost_sek: 7.0 * 45.0,
    },
    Case {
        // vattenfalleldistribution.se (säkringsabonnemang 16–63 A): no capacity charge on the
        // 2026 price lists the crate has (energy and a fixed fee only).
        name: "Vattenfall: no capacity charge",
        operator: "vattenfall",
        month: "2026-01",
        loads: &[("2026-01-13T17:00", 60, 11.0)],
        peaks: &[],
        billed_kw: 0.0,
        cost_sek: 0.0,
    },
    Case {
        // eon.se/el/elnat/elnaetsabonnemang-priser: no capacity charge on the 2026 price lists
        // the crate has.
        name: "E.ON: no capacity charge",
        operator: "eon",
        month: "2026-01",
        loads: &[("2026-01-13T17:00", 60, 11.0)],
        peaks: &[],
        billed_kw: 0.0,
        cost_sek: 0.0,
    },
];

#[test]
fn each_operators_month_is_counted_by_its_own_rule() {
    for case in CASES {
        let samples = month(case.month, case.loads);
        let got = month_peaks(
            case.operator,
            None,
            case.month.parse().unwrap(),
            TZ,
            20,
            &samples,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let peaks: Vec<(String, f64)> = got
            .peaks
            .iter()
            .map(|p| (p.start.to_string(), (p.kw * 1000.0).round() / 1000.0))
            .collect();
        let want: Vec<(String, f64)> = case.peaks.iter().map(|&(t, kw)| (utc(t), kw)).collect();
        assert_eq!(peaks, want, "{}: peaks", case.name);
        assert!(
            (got.billed_kw - case.billed_kw).abs() < 1e-3,
            "{}: billed {} kW, want {}",
            case.name,
            got.billed_kw,
            case.billed_kw
        );
        assert!(
            (got.cost_sek - case.cost_sek).abs() < 0.01,
            "{}: {} kr, want {}",
            case.name,
            got.cost_sek,
            case.cost_sek
        );
        assert!(!got.rule.is_empty(), "{}: the rule in words", case.name);
    }
}

#[test]
fn hourly_means_weigh_readings_by_the_time_they_cover() {
    let tz = TimeZone::get(TZ).unwrap();
    let at = |t: &str| t.parse::<Timestamp>().unwrap();
    let sample = |t: &str, w: f64| Sample {
        at: at(t),
        power_w: w,
    };
    let cases: Vec<(&str, Vec<Sample>, Vec<HourMean>)> = vec![
        (
            "uneven intervals: 10 kW for 45 minutes, 2 kW for 15",
            vec![
                sample("2026-01-13T16:00:00Z", 10_000.0),
                sample("2026-01-13T16:05:00Z", 10_000.0),
                sample("2026-01-13T16:20:00Z", 10_000.0),
                sample("2026-01-13T16:35:00Z", 10_000.0),
                sample("2026-01-13T16:45:00Z", 2_000.0),
                sample("2026-01-13T17:00:00Z", 0.0),
            ],
            vec![
                HourMean {
                    start: at("2026-01-13T16:00:00Z"),
                    kw: 8.0,
                    covered_s: 3600,
                },
                HourMean {
                    start: at("2026-01-13T17:00:00Z"),
                    kw: 0.0,
                    covered_s: 900,
                },
            ],
        ),
        (
            "a silent meter is missing data, not a load: 15 minutes at most",
            vec![sample("2026-01-13T16:00:00Z", 4_000.0)],
            vec![HourMean {
                start: at("2026-01-13T16:00:00Z"),
                kw: 4.0,
                covered_s: 900,
            }],
        ),
        (
            "export counts as no import",
            vec![
                sample("2026-01-13T16:00:00Z", -3_000.0),
                sample("2026-01-13T16:10:00Z", 3_000.0),
            ],
            vec![HourMean {
                start: at("2026-01-13T16:00:00Z"),
                kw: 3.0 * 15.0 / 25.0,
                covered_s: 1500,
            }],
        ),
    ];
    let (from, until) = (at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z"));
    for (name, samples, want) in cases {
        assert_eq!(hourly_means(&samples, from, until, &tz), want, "{name}");
    }
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let cases: Vec<(&str, &str, &str, &str, CapacityError)> = vec![
        (
            "unknown operator",
            "nowhere-energi",
            "2026-01",
            TZ,
            CapacityError::UnknownOperator("nowhere-energi".into(), String::new()),
        ),
        (
            "month out of range",
            "ellevio",
            "2026-13",
            TZ,
            CapacityError::BadMonth("2026-13".into()),
        ),
        (
            "unknown time zone",
            "ellevio",
            "2026-01",
            "Europe/Atlantis",
            CapacityError::BadTimeZone("Europe/Atlantis".into()),
        ),
    ];
    for (name, operator, month, tz, want) in cases {
        let got = month
            .parse::<Month>()
            .and_then(|month| month_peaks(operator, None, month, tz, 20, &[]));
        assert_eq!(got.unwrap_err(), want, "{name}");
    }
    let tariff = month_peaks(
        "goteborg-energi",
        Some("nattpris"),
        "2026-01".parse().unwrap(),
        TZ,
        20,
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        tariff.contains("Standard") && tariff.contains("nattpris"),
        "an unknown tariff lists the operator's: {tariff}"
    );
}

/// The peak guard's level for an hour: the highest mean the hour can end with and leave the
/// month's capacity charge as it is (by the operator's own rule), never under the household's
/// starting level; a cap is the cap; no level outside the hours the operator counts.
#[test]
fn the_guard_keeps_each_counted_hour_where_the_bill_stays() {
    use backend::capacity::guard_level;
    use model::charging::PeakGuard;
    // Peaks of 7, 6 and 5 kW on the 5th, 6th and 7th at 17:00 (the 7th's is 5 kW at 17:00).
    let loads: &[(&str, i64, f64)] = &[
        ("2026-01-05T17:00", 60, 7.0),
        ("2026-01-06T17:00", 60, 6.0),
        ("2026-01-07T17:00", 60, 5.0),
    ];
    let samples = month("2026-01", loads);
    let tz = TimeZone::get(TZ).unwrap();
    let (from, until) = "2026-01".parse::<Month>().unwrap().bounds(&tz).unwrap();
    let all = hourly_means(&samples, from, until, &tz);
    let billed = PeakGuard::Billed { start_w: 2000 };
    struct Guarded {
        name: &'static str,
        operator: &'static str,
        guard: PeakGuard,
        /// The hour, on the site's clock; the month so far is every hour before it.
        hour: &'static str,
        level_kw: Option<f64>,
    }
    let cases = [
        Guarded {
            // A new day's hour replaces the lowest of the three days' peaks only above it.
            name: "Göteborg Energi, a new day: up to the lowest counted day",
            operator: "goteborg-energi",
            guard: billed,
            hour: "2026-01-10T18:00",
            level_kw: Some(5.0),
        },
        Guarded {
            // The 6th's 6 kW is that day's peak: another hour that day counts only above it.
            name: "Göteborg Energi, a counted day: up to that day's own peak",
            operator: "goteborg-energi",
            guard: billed,
            hour: "2026-01-06T20:00",
            level_kw: Some(6.0),
        },
        Guarded {
            // Before any counted peak: any hour raises the bill, the household's start rules.
            name: "Göteborg Energi, the month's first hour: the starting level",
            operator: "goteborg-energi",
            guard: billed,
            hour: "2026-01-01T00:00",
            level_kw: Some(2.0),
        },
        Guarded {
            name: "a starting level above the month's peaks",
            operator: "goteborg-energi",
            guard: PeakGuard::Billed { start_w: 8000 },
            hour: "2026-01-10T18:00",
            level_kw: Some(8.0),
        },
        Guarded {
            name: "a cap is the cap, whatever the month so far",
            operator: "goteborg-energi",
            guard: PeakGuard::Cap { cap_w: 3500 },
            hour: "2026-01-10T18:00",
            level_kw: Some(3.5),
        },
        Guarded {
            name: "the guard off",
            operator: "goteborg-energi",
            guard: PeakGuard::Off,
            hour: "2026-01-10T18:00",
            level_kw: None,
        },
        Guarded {
            // Ellevio counts 22–06 at half: a night hour may reach twice the lowest peak.
            name: "Ellevio, a night hour: twice the lowest counted day",
            operator: "ellevio",
            guard: billed,
            hour: "2026-01-10T23:00",
            level_kw: Some(10.0),
        },
        Guarded {
            name: "Ellevio, an evening hour: the lowest counted day",
            operator: "ellevio",
            guard: billed,
            hour: "2026-01-10T18:00",
            level_kw: Some(5.0),
        },
        Guarded {
            // Sollentuna counts weekdays 07–19: a Saturday evening is free.
            name: "Sollentuna, a Saturday: not counted, no limit",
            operator: "sollentuna-energi-miljo",
            guard: PeakGuard::Cap { cap_w: 3500 },
            hour: "2026-01-10T18:00",
            level_kw: None,
        },
        Guarded {
            // (The crate's 07–19 holds the hour that starts at 19:00 as well.)
            name: "Sollentuna, a weekday evening: not counted",
            operator: "sollentuna-energi-miljo",
            guard: PeakGuard::Cap { cap_w: 3500 },
            hour: "2026-01-12T20:00",
            level_kw: None,
        },
        Guarded {
            name: "Sollentuna, a weekday afternoon: counted",
            operator: "sollentuna-energi-miljo",
            guard: PeakGuard::Cap { cap_w: 3500 },
            hour: "2026-01-12T16:00",
            level_kw: Some(3.5),
        },
        Guarded {
            name: "Vattenfall bills no peaks in 2026: never limited",
            operator: "vattenfall",
            guard: PeakGuard::Cap { cap_w: 3500 },
            hour: "2026-01-12T16:00",
            level_kw: None,
        },
    ];
    for case in cases {
        let hour = case
            .hour
            .parse::<DateTime>()
            .unwrap()
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp();
        let so_far: Vec<HourMean> = all.iter().filter(|h| h.start < hour).copied().collect();
        let level = guard_level(case.guard, case.operator, None, TZ, 25, &so_far, hour)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        match (level, case.level_kw) {
            (Some(got), Some(want)) => assert!(
                (got - want).abs() < 0.02,
                "{}: {got} kW, want {want}",
                case.name
            ),
            (got, want) => assert_eq!(got, want, "{}", case.name),
        }
    }
}

/// What the site may draw for the rest of the hour to end it at 97 % of the level, and the
/// headroom per phase that holds it there.
#[test]
fn the_rest_of_the_hour_gets_what_the_level_leaves() {
    use backend::capacity::{guard_allowed_kw, guard_headroom_a};
    // (name, level kW, mean so far kW, seconds into the hour, allowed kW)
    let cases = [
        (
            "the hour's start: the level, less the margin",
            5.0,
            0.0,
            0.0,
            4.85,
        ),
        (
            "half past, a quiet half: more for the rest",
            5.0,
            2.0,
            1800.0,
            7.7,
        ),
        ("half past, a busy half: little left", 5.0, 9.0, 1800.0, 0.7),
        (
            "already past the level: give back",
            5.0,
            12.0,
            2700.0,
            -16.6,
        ),
        ("the last minute counts as a minute", 5.0, 4.0, 3599.0, 55.0),
    ];
    for (name, level, so_far, elapsed, want) in cases {
        let got = guard_allowed_kw(level, so_far, elapsed);
        assert!((got - want).abs() < 1e-6, "{name}: {got}, want {want}");
    }
    // (name, allowed kW, measured A, headroom per phase A)
    let phases = [
        (
            "three phases share what the power may still grow by",
            5.0,
            [Some(4.0), Some(4.0), Some(4.0)],
            (5000.0 - 12.0 * 230.0) / 690.0,
        ),
        (
            "a single-phase monitor: all of it on its phase",
            3.0,
            [Some(10.0), None, None],
            (3000.0 - 2300.0) / 230.0,
        ),
        (
            "export is not a negative load",
            3.0,
            [Some(-10.0), Some(2.0), Some(2.0)],
            (3000.0 - 920.0) / 690.0,
        ),
        (
            "over the allowance: negative",
            1.0,
            [Some(10.0), Some(10.0), Some(10.0)],
            (1000.0 - 6900.0) / 690.0,
        ),
    ];
    for (name, allowed, measured, want) in phases {
        let got = guard_headroom_a(allowed, measured);
        assert!((got - want).abs() < 1e-9, "{name}: {got}, want {want}");
    }
}

/// The household's usual load per hour of the day, read low: a car charging at 22:00 on five
/// nights of seven does not make 22:00 a household hour; an hour with no data is 0.
#[test]
fn the_usual_load_leaves_out_the_car() {
    use backend::capacity::usual_load;
    let tz = TimeZone::get(TZ).unwrap();
    let at = |local: &str| {
        local
            .parse::<DateTime>()
            .unwrap()
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp()
    };
    let mut hours = Vec::new();
    for day in 1..=7 {
        // 22:00: 1.5 kW of household, and 11 kW more on the nights the car charges.
        let car = if day <= 5 { 11.0 } else { 0.0 };
        hours.push(HourMean {
            start: at(&format!("2026-01-{day:02}T22:00")),
            kw: 1.5 + car,
            covered_s: 3600,
        });
        // 17:00: dinner, 5 to 6 kW.
        hours.push(HourMean {
            start: at(&format!("2026-01-{day:02}T17:00")),
            kw: 5.0 + f64::from(day) / 7.0,
            covered_s: 3600,
        });
    }
    // Before `since`: not counted.
    hours.push(HourMean {
        start: at("2025-12-20T03:00"),
        kw: 9.0,
        covered_s: 3600,
    });
    let usual = usual_load(&hours, at("2026-01-01T00:00"), &tz);
    let cases = [
        ("the car's hour is the household's", 22, 1.5),
        ("dinner is dinner, read low", 17, 5.0 + 2.0 / 7.0),
        ("an hour with no data", 3, 0.0),
    ];
    for (name, hour, want) in cases {
        assert!((usual[hour] - want).abs() < 1e-9, "{name}: {}", usual[hour]);
    }
}
