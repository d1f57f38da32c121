//! `ampwise peaks` as someone checking a month would run it: a CSV of the household simulator's
//! January (a reading a minute, `server::simulate::Household`), with and without a car charging
//! at 11 kW on three winter weekday evenings. The rules themselves are tested with known answers
//! in backend/tests/capacity.rs; this is the command: its arguments, its JSON, its errors.

use std::io::Write;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use server::simulate::Household;

const TZ: &str = "Europe/Stockholm";

/// January 2026 from the household simulator, one reading a minute; plus 11 kW during each
/// `(UTC start, minutes)` of `car`.
fn january(car: &[(&str, i64)]) -> tempfile::NamedTempFile {
    let tz = TimeZone::get(TZ).unwrap();
    let house = Household::new(7, tz, 0.0);
    let car: Vec<(i64, i64)> = car
        .iter()
        .map(|&(start, minutes)| {
            let start = start.parse::<Timestamp>().unwrap().as_second();
            (start, start + minutes * 60)
        })
        .collect();
    let from = "2025-12-31T23:00:00Z".parse::<Timestamp>().unwrap();
    let until = "2026-01-31T23:00:00Z".parse::<Timestamp>().unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "ts,power_w").unwrap();
    for at in (from.as_second()..until.as_second()).step_by(60) {
        let amps: f64 = house.profile(at * 1000).iter().sum();
        let charging = car.iter().any(|&(from, to)| (from..to).contains(&at));
        let watts = amps * 230.0 + if charging { 11_000.0 } else { 0.0 };
        writeln!(file, "{},{watts:.0}", Timestamp::from_second(at).unwrap()).unwrap();
    }
    file.flush().unwrap();
    file
}

/// `ampwise peaks --operator OPERATOR --month MONTH --readings READINGS --tz Europe/Stockholm`.
fn ampwise_peaks(operator: &str, month: &str, readings: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ampwise"))
        .args([
            "peaks",
            "--operator",
            operator,
            "--month",
            month,
            "--readings",
        ])
        .arg(readings)
        .args(["--tz", TZ])
        .output()
        .unwrap()
}

fn peaks(operator: &str, readings: &std::path::Path) -> serde_json::Value {
    let out = ampwise_peaks(operator, "2026-01", readings);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_car_charging_in_counted_hours_raises_the_billed_peak() {
    // Three weekday evenings at dinner, 17:00–18:00 in Stockholm (16:00 UTC).
    let car = [
        ("2026-01-13T16:00:00Z", 60),
        ("2026-01-14T16:00:00Z", 60),
        ("2026-01-15T16:00:00Z", 60),
    ];
    let (without, with) = (january(&[]), january(&car));
    for operator in [
        "goteborg-energi",
        "ellevio",
        "sollentuna-energi-miljo",
        "malarenergi",
    ] {
        let before = peaks(operator, without.path());
        let after = peaks(operator, with.path());
        for key in ["operator", "rule"] {
            assert!(after[key].is_string(), "{operator}: {key}");
        }
        for key in ["billed_kw", "cost_sek"] {
            assert!(after[key].is_number(), "{operator}: {key}");
        }
        let counted = after["peaks"].as_array().unwrap();
        assert!(!counted.is_empty(), "{operator}: peaks");
        for peak in counted {
            for key in ["start", "end", "kw"] {
                assert!(peak.get(key).is_some(), "{operator}: a peak's {key}");
            }
        }
        assert!(
            counted
                .iter()
                .any(|p| p["start"] == "2026-01-13T16:00:00Z"
                    || p["start"] == "2026-01-14T16:00:00Z"),
            "{operator}: the car's evenings are counted: {counted:?}"
        );
        let rise = after["billed_kw"].as_f64().unwrap() - before["billed_kw"].as_f64().unwrap();
        assert!(
            rise > 5.0,
            "{operator}: 11 kW on top of dinner raises the billed level by more than 5 kW \
             ({before} → {after})"
        );
        assert!(
            after["cost_sek"].as_f64().unwrap() > before["cost_sek"].as_f64().unwrap(),
            "{operator}: and its cost"
        );
    }
}

#[test]
fn bad_input_is_refused_with_what_is_wrong() {
    let mut bad_line = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        bad_line,
        "ts,power_w\n2026-01-13T16:00:00Z,1200\nyesterday,1300"
    )
    .unwrap();
    let mut bad_header = tempfile::NamedTempFile::new().unwrap();
    writeln!(bad_header, "time;watts\n2026-01-13T16:00:00Z;1200").unwrap();
    let good = january(&[]);
    let cases = [
        (
            "a line that is not a reading",
            "ellevio",
            "2026-01",
            bad_line.path(),
            "line 3",
        ),
        (
            "another header",
            "ellevio",
            "2026-01",
            bad_header.path(),
            "ts,power_w",
        ),
        (
            "unknown operator",
            "nowhere-energi",
            "2026-01",
            good.path(),
            "nowhere-energi",
        ),
        ("not a month", "ellevio", "2026-1x", good.path(), "YYYY-MM"),
    ];
    for (name, operator, month, readings, says) in cases {
        let out = ampwise_peaks(operator, month, readings);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: refused");
        assert!(out.stdout.is_empty(), "{name}: no answer printed");
        assert!(stderr.contains(says), "{name}: says {says:?}: {stderr}");
    }
}
