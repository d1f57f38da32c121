//! The telegram parser against real meters' telegrams (tests/fixtures/telegrams, with their
//! sources), and fuzzed with mutations of them.

use std::path::{Path, PathBuf};

use backend::readings::{Limits, Reading};
use backend::telegram::parse;
use jiff::Timestamp;
use proptest::prelude::*;
use rstest::rstest;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/telegrams")
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(file)).unwrap()
}

/// Receipt time for telegrams without a timestamp, and a window that takes every recorded date.
fn limits(phases: u8) -> Limits {
    Limits {
        phases,
        now_ms: "2026-11-27T12:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond(),
        oldest_ms: 0,
    }
}

#[derive(serde::Deserialize)]
struct Entry {
    file: String,
    crc_status: String,
    per_phase_obis: Vec<String>,
}

fn index() -> Vec<Entry> {
    serde_json::from_slice(&read("INDEX.json")).unwrap()
}

/// Every file in the index: a valid CRC (or none, DSMR < 4) parses unless the telegram has no
/// per-phase data at all or a date that cannot be; a failing CRC or a missing end is refused.
#[test]
fn every_recorded_telegram_is_accepted_or_refused_for_the_right_reason() {
    let entries = index();
    assert!(entries.len() >= 40, "the index lists {}", entries.len());
    let mut parsed = 0;
    for entry in entries {
        let body = read(&entry.file);
        let three_phase = entry
            .per_phase_obis
            .iter()
            .any(|c| c == "1-0:51.7.0" || c == "1-0:41.7.0");
        let result = parse(&body, &limits(if three_phase { 3 } else { 1 }));
        match entry.crc_status.as_str() {
            "FAIL" => {
                let err = result.expect_err(&entry.file);
                assert!(
                    err.error.contains("CRC") || err.error.contains("timestamp"),
                    "{}: {err:?}",
                    entry.file
                );
                if err.error.contains("CRC") {
                    assert!(err.line.is_some(), "{}: {err:?}", entry.file);
                }
            }
            "no '!'" => {
                let err = result.expect_err(&entry.file);
                assert!(err.error.contains("no end line"), "{}: {err:?}", entry.file);
            }
            "PASS" | "no CRC (DSMR<4)" => match result {
                Ok(readings) => {
                    assert_eq!(readings.len(), 1, "{}", entry.file);
                    parsed += 1;
                }
                // Meters that report neither per-phase values nor total power, and spec
                // examples with impossible dates, are refused with a reason.
                Err(err) => assert!(
                    err.error.contains("neither current nor power")
                        || err.error.contains("timestamp"),
                    "{}: {err:?}",
                    entry.file
                ),
            },
            other => panic!("{}: unknown status {other}", entry.file),
        }
    }
    assert!(parsed >= 14, "only {parsed} telegrams parsed");
}

fn at(utc: &str) -> i64 {
    utc.parse::<Timestamp>().unwrap().as_millisecond()
}

#[rstest]
// Ellevio's Sagemcom T211 (Sweden), winter time.
#[case::ellevio_sweden(
    "esphome_p1reader_psvanstrom/ELL5_sweden_readme_example.txt",
    Reading {
        ts: at("2021-02-17T17:40:19Z"),
        current_a: [Some(4.2), Some(1.6), Some(1.7)],
        voltage_v: [Some(240.3), Some(240.1), Some(241.3)],
        power_w: [Some(1023.0), Some(350.0), Some(353.0)],
        import_kwh: Some(6678.394),
        export_kwh: Some(0.0),
        derived: false,
    }
)]
// Landis+Gyr E360: L1 and L2 export (solar), so their current is negative.
#[case::landis_gyr_exporting(
    "amshan_toreamun/EXAMPLE_DATA_A_LANDISGYR_360.txt",
    Reading {
        ts: at("2021-02-22T15:19:00Z"),
        current_a: [Some(-0.6), Some(-0.6), Some(0.3)],
        voltage_v: [Some(230.1), Some(232.2), Some(230.4)],
        power_w: [Some(-12.0), Some(-71.0), Some(63.0)],
        import_kwh: Some(896.02),
        export_kwh: Some(48.792),
        derived: false,
    }
)]
// DSMR 5 (Netherlands), summer-less: tariff registers add up to the counters.
#[case::dsmr5_tariffs(
    "dsmr_parser_ndokter/TELEGRAM_V5.txt",
    Reading {
        ts: at("2017-01-02T18:20:02Z"),
        current_a: [Some(0.48), Some(0.44), Some(0.86)],
        voltage_v: [Some(230.0), Some(230.0), Some(229.0)],
        power_w: [Some(70.0), Some(32.0), Some(142.0)],
        import_kwh: Some(4.426 + 2.399),
        export_kwh: Some(2.444),
        derived: false,
    }
)]
fn golden_readings(#[case] file: &str, #[case] want: Reading) {
    let got = parse(&read(file), &limits(3)).unwrap();
    assert_eq!(got.len(), 1);
    let got = got[0];
    assert_eq!(got.ts, want.ts);
    assert_eq!(got.derived, want.derived);
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (a, b) => a.is_none() && b.is_none(),
    };
    for p in 0..3 {
        assert!(close(got.current_a[p], want.current_a[p]), "{got:?}");
        assert!(close(got.voltage_v[p], want.voltage_v[p]), "{got:?}");
        assert!(close(got.power_w[p], want.power_w[p]), "{got:?}");
    }
    assert!(close(got.import_kwh, want.import_kwh), "{got:?}");
    assert!(close(got.export_kwh, want.export_kwh), "{got:?}");
}

#[test]
fn a_body_may_carry_several_telegrams() {
    let mut body = read("esphome_p1reader_psvanstrom/ELL5_sweden_readme_example.txt");
    body.extend(read("amshan_toreamun/EXAMPLE_DATA_C.txt"));
    body.extend(read("amshan_toreamun/EXAMPLE_DATA_KAMSTRUP.txt"));
    assert_eq!(parse(&body, &limits(3)).unwrap().len(), 3);
}

#[test]
fn one_flipped_digit_is_caught_by_the_crc() {
    let good = String::from_utf8(read("amshan_toreamun/EXAMPLE_DATA_C.txt")).unwrap();
    let bad = good.replacen("(013.6*A)", "(013.7*A)", 1);
    assert_ne!(good, bad, "the fixture changed");
    let err = parse(bad.as_bytes(), &limits(3)).unwrap_err();
    assert!(err.error.contains("CRC mismatch"), "{err:?}");
}

/// The seed corpus of the fuzzing below: every recorded telegram.
static CORPUS: std::sync::LazyLock<Vec<Vec<u8>>> =
    std::sync::LazyLock::new(|| index().iter().map(|e| read(&e.file)).collect());

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Real telegrams with bytes replaced, inserted, removed, or cut short: the parser answers
    /// with readings or a rejection, and never panics.
    #[test]
    fn mutated_telegrams_never_panic(
        pick in 0usize..64,
        edits in prop::collection::vec((0usize..4096, 0u8..4, any::<u8>()), 0..8),
        cut in prop::option::of(0usize..4096),
        phases in prop::sample::select(vec![1u8, 3]),
    ) {
        let mut body = CORPUS[pick % CORPUS.len()].clone();
        for (pos, op, byte) in edits {
            let pos = pos % (body.len() + 1);
            match op {
                0 if pos < body.len() => body[pos] = byte,
                1 => body.insert(pos, byte),
                2 if pos < body.len() => { body.remove(pos); }
                _ => body.insert(pos, b"()*!/\r\n"[usize::from(byte) % 7]),
            }
        }
        if let Some(cut) = cut {
            body.truncate(cut % (body.len() + 1));
        }
        let _ = parse(&body, &limits(phases));
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&body, &limits(3));
    }
}
