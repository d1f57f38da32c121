//! Readings as devices send them: the JSON batch of `POST /api/v1/monitors/{id}/readings`,
//! checked against physics and the clock before anything is stored. P1 / HAN telegrams become
//! the same [`Reading`]s in [`crate::telegram`].

use jiff::Timestamp;
use serde::Deserialize;

/// One timestamped sample of a monitor.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    /// ms since the Unix epoch, UTC.
    pub ts: i64,
    /// Per-phase current (A), negative = export. `None` for phases the monitor lacks.
    pub current_a: [Option<f64>; 3],
    pub voltage_v: [Option<f64>; 3],
    /// Per-phase active power (W), negative = export.
    pub power_w: [Option<f64>; 3],
    /// Energy counters (kWh).
    pub import_kwh: Option<f64>,
    pub export_kwh: Option<f64>,
    /// The current was computed from power and voltage: the meter did not report it.
    pub derived: bool,
}

/// The largest current we believe (A): beyond this a number is a fault or a unit mix-up.
pub const MAX_CURRENT_A: f64 = 1000.0;
pub const MAX_VOLTAGE_V: f64 = 500.0;
/// Per phase: 1000 A at 500 V.
pub const MAX_POWER_W: f64 = 500_000.0;
pub const MAX_ENERGY_KWH: f64 = 1e10;
/// How far ahead of the server's clock a reading may be (ms): clocks drift a little.
pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;
/// Most readings one request may carry.
pub const MAX_READINGS_PER_REQUEST: usize = 10_000;
/// Largest request body of the ingest API (bytes).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Nominal phase voltage in Sweden, for deriving current from power when the meter gives no
/// voltage (V).
pub const NOMINAL_VOLTAGE_V: f64 = 230.0;

/// A rejected request: what was wrong, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize)]
#[error("{error}")]
pub struct Rejection {
    pub error: String,
    /// The JSON field, e.g. `readings[2].current_a[0]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The line of the request body (telegrams; 1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The body is not the format at all (400), rather than a format with bad values (422).
    #[serde(skip)]
    pub malformed: bool,
}

impl Rejection {
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            field: None,
            line: None,
            malformed: false,
        }
    }

    pub fn at_field(field: impl Into<String>, error: impl std::fmt::Display) -> Self {
        let field = field.into();
        Self {
            error: format!("{field}: {error}"),
            field: Some(field),
            line: None,
            malformed: false,
        }
    }

    pub fn at_line(line: usize, error: impl std::fmt::Display) -> Self {
        Self {
            error: format!("line {line}: {error}"),
            field: None,
            line: Some(line),
            malformed: false,
        }
    }
}

/// What a reading is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub phases: u8,
    pub now_ms: i64,
    /// Readings older than this are refused: they would fall outside the raw retention window.
    pub oldest_ms: i64,
}

/// Why a reading is not plausible: `(field suffix, message)`.
pub fn check(reading: &Reading, limits: &Limits) -> Result<(), (String, String)> {
    if reading.ts > limits.now_ms + MAX_FUTURE_MS {
        return Err((
            "ts".into(),
            format!(
                "{} is more than 5 minutes ahead of the server's clock ({})",
                show_ts(reading.ts),
                show_ts(limits.now_ms)
            ),
        ));
    }
    if reading.ts < limits.oldest_ms {
        return Err((
            "ts".into(),
            format!(
                "{} is older than the raw-data window (from {})",
                show_ts(reading.ts),
                show_ts(limits.oldest_ms)
            ),
        ));
    }
    for phase in 0..3 {
        let wanted = phase < usize::from(limits.phases);
        match (reading.current_a[phase], wanted) {
            (None, true) => {
                return Err((
                    format!("current_a[{phase}]"),
                    format!(
                        "missing: this monitor has {} phase(s), L{} has no current",
                        limits.phases,
                        phase + 1
                    ),
                ));
            }
            (Some(_), false) => {
                return Err((
                    format!("current_a[{phase}]"),
                    format!(
                        "this monitor has {} phase, a value for L{} is one too many",
                        limits.phases,
                        phase + 1
                    ),
                ));
            }
            (Some(i), true) if !(-MAX_CURRENT_A..=MAX_CURRENT_A).contains(&i) => {
                return Err((
                    format!("current_a[{phase}]"),
                    format!("{i} A is outside ±{MAX_CURRENT_A} A"),
                ));
            }
            _ => {}
        }
        if let Some(v) = reading.voltage_v[phase]
            && !(0.0..=MAX_VOLTAGE_V).contains(&v)
        {
            return Err((
                format!("voltage_v[{phase}]"),
                format!("{v} V is outside 0–{MAX_VOLTAGE_V} V"),
            ));
        }
        if let Some(p) = reading.power_w[phase]
            && !(-MAX_POWER_W..=MAX_POWER_W).contains(&p)
        {
            return Err((
                format!("power_w[{phase}]"),
                format!("{p} W is outside ±{MAX_POWER_W} W"),
            ));
        }
    }
    for (name, value) in [
        ("import_kwh", reading.import_kwh),
        ("export_kwh", reading.export_kwh),
    ] {
        if let Some(e) = value
            && !(0.0..=MAX_ENERGY_KWH).contains(&e)
        {
            return Err((
                name.into(),
                format!("{e} kWh is not a meter reading (0–{MAX_ENERGY_KWH} kWh)"),
            ));
        }
    }
    Ok(())
}

fn show_ts(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{ms} ms"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    readings: Vec<WireReading>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireReading {
    ts: String,
    current_a: Vec<f64>,
    #[serde(default)]
    voltage_v: Option<Vec<f64>>,
    #[serde(default)]
    power_w: Option<Vec<f64>>,
    #[serde(default)]
    import_kwh: Option<f64>,
    #[serde(default)]
    export_kwh: Option<f64>,
}

/// Decodes and checks a JSON batch. Any bad reading rejects the whole batch, naming it.
pub fn decode_json(body: &[u8], limits: &Limits) -> Result<Vec<Reading>, Rejection> {
    let batch: Batch = serde_json::from_slice(body).map_err(|e| Rejection {
        malformed: true,
        ..Rejection::new(format!("malformed JSON: {e}"))
    })?;
    if batch.readings.is_empty() {
        return Err(Rejection::at_field(
            "readings",
            "empty: send at least one reading",
        ));
    }
    if batch.readings.len() > MAX_READINGS_PER_REQUEST {
        return Err(Rejection::at_field(
            "readings",
            format!(
                "{} readings; at most {MAX_READINGS_PER_REQUEST} per request",
                batch.readings.len()
            ),
        ));
    }
    batch
        .readings
        .into_iter()
        .enumerate()
        .map(|(n, wire)| {
            let at = |suffix: &str| format!("readings[{n}].{suffix}");
            let ts = wire
                .ts
                .parse::<Timestamp>()
                .map_err(|e| {
                    Rejection::at_field(
                        at("ts"),
                        format!("{:?} is not an RFC 3339 time: {e}", wire.ts),
                    )
                })?
                .as_millisecond();
            let reading = Reading {
                ts,
                current_a: phases(&wire.current_a, || at("current_a"), limits.phases)?,
                voltage_v: optional_phases(wire.voltage_v.as_deref(), || at("voltage_v"), limits)?,
                power_w: optional_phases(wire.power_w.as_deref(), || at("power_w"), limits)?,
                import_kwh: wire.import_kwh,
                export_kwh: wire.export_kwh,
                derived: false,
            };
            check(&reading, limits).map_err(|(field, msg)| Rejection::at_field(at(&field), msg))?;
            Ok(reading)
        })
        .collect()
}

fn phases(
    values: &[f64],
    field: impl Fn() -> String,
    phases: u8,
) -> Result<[Option<f64>; 3], Rejection> {
    if values.len() != usize::from(phases) {
        return Err(Rejection::at_field(
            field(),
            format!(
                "{} value(s) for a {phases}-phase monitor; send exactly {phases}",
                values.len()
            ),
        ));
    }
    let mut out = [None; 3];
    for (slot, v) in out.iter_mut().zip(values) {
        *slot = Some(*v);
    }
    Ok(out)
}

fn optional_phases(
    values: Option<&[f64]>,
    field: impl Fn() -> String,
    limits: &Limits,
) -> Result<[Option<f64>; 3], Rejection> {
    match values {
        None => Ok([None; 3]),
        Some(values) => phases(values, field, limits.phases),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const NOW: i64 = 1_795_000_000_000; // 2026-11-18
    fn limits(phases: u8) -> Limits {
        Limits {
            phases,
            now_ms: NOW,
            oldest_ms: NOW - 7 * 86_400_000,
        }
    }

    fn ts(offset_ms: i64) -> String {
        Timestamp::from_millisecond(NOW + offset_ms)
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_full_reading_decodes() {
        let body = format!(
            r#"{{"readings":[{{"ts":"{}","current_a":[12.5,-3.25,0],"voltage_v":[231,229.5,230],"power_w":[2800,-740,0],"import_kwh":10234.5,"export_kwh":12.25}}]}}"#,
            ts(-1000)
        );
        let got = decode_json(body.as_bytes(), &limits(3)).unwrap();
        assert_eq!(
            got,
            vec![Reading {
                ts: NOW - 1000,
                current_a: [Some(12.5), Some(-3.25), Some(0.0)],
                voltage_v: [Some(231.0), Some(229.5), Some(230.0)],
                power_w: [Some(2800.0), Some(-740.0), Some(0.0)],
                import_kwh: Some(10234.5),
                export_kwh: Some(12.25),
                derived: false,
            }]
        );
    }

    #[rstest]
    #[case::not_json("{readings", None, "malformed JSON")]
    #[case::wrong_shape(r#"[1,2]"#, None, "malformed JSON")]
    #[case::typo_in_field(&format!(r#"{{"readings":[{{"ts":"{}","currents_a":[1,2,3]}}]}}"#, ts(0)), None, "unknown field `currents_a`")]
    #[case::empty(r#"{"readings":[]}"#, Some("readings"), "empty")]
    #[case::bad_time(
        r#"{"readings":[{"ts":"yesterday","current_a":[1,2,3]}]}"#,
        Some("readings[0].ts"),
        "RFC 3339"
    )]
    #[case::local_time_without_offset(
        r#"{"readings":[{"ts":"2026-11-18T10:00:00","current_a":[1,2,3]}]}"#,
        Some("readings[0].ts"),
        "RFC 3339"
    )]
    #[case::future(&format!(r#"{{"readings":[{{"ts":"{}","current_a":[1,2,3]}}]}}"#, ts(10 * 60_000)), Some("readings[0].ts"), "ahead of the server's clock")]
    #[case::too_old(&format!(r#"{{"readings":[{{"ts":"{}","current_a":[1,2,3]}}]}}"#, ts(-8 * 86_400_000)), Some("readings[0].ts"), "older than")]
    #[case::two_phases(&format!(r#"{{"readings":[{{"ts":"{}","current_a":[1,2]}}]}}"#, ts(0)), Some("readings[0].current_a"), "exactly 3")]
    #[case::current_too_high(&format!(r#"{{"readings":[{{"ts":"{}","current_a":[1,2,3]}},{{"ts":"{}","current_a":[1,1200.5,3]}}]}}"#, ts(0), ts(1)), Some("readings[1].current_a[1]"), "1200.5 A is outside")]
    #[case::voltage_negative(&format!(r#"{{"readings":[{{"ts":"{}","current_a":[1,2,3],"voltage_v":[230,-1,230]}}]}}"#, ts(0)), Some("readings[0].voltage_v[1]"), "outside 0")]
    #[case::voltage_too_high(&format!(r#"{{"readings":[{{"ts":"{}","current_a":[1,2,3],"voltage_v":[230,230,501]}}]}}"#, ts(0)), Some("readings[0].voltage_v[2]"), "501 V")]
    #[case::counter_negative(&format!(r#"{{"readings":[{{"ts":"{}","current_a":[1,2,3],"import_kwh":-5}}]}}"#, ts(0)), Some("readings[0].import_kwh"), "not a meter reading")]
    #[case::huge_number(&format!(r#"{{"readings":[{{"ts":"{}","current_a":[1e400,2,3]}}]}}"#, ts(0)), None, "malformed JSON")]
    fn bad_batches_name_what_is_wrong(
        #[case] body: &str,
        #[case] field: Option<&str>,
        #[case] message: &str,
    ) {
        let err = decode_json(body.as_bytes(), &limits(3)).unwrap_err();
        assert_eq!(err.field.as_deref(), field, "{err:?}");
        assert!(err.error.contains(message), "{err:?}");
    }

    #[test]
    fn a_single_phase_monitor_takes_one_value() {
        let body = format!(r#"{{"readings":[{{"ts":"{}","current_a":[7.5]}}]}}"#, ts(0));
        let got = decode_json(body.as_bytes(), &limits(1)).unwrap();
        assert_eq!(got[0].current_a, [Some(7.5), None, None]);
    }

    proptest::proptest! {
        /// No body panics the decoder; every body is either readings or a rejection.
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode_json(&body, &limits(3));
        }

        #[test]
        fn json_shaped_noise_never_panics(body in r#"\{"readings":\[\{"ts":"[0-9T:Z.+-]{0,30}","current_a":\[[0-9e.,-]{0,20}\](,"voltage_v":\[[0-9.,-]{0,20}\])?\}\]\}"#) {
            let _ = decode_json(body.as_bytes(), &limits(3));
        }
    }
}
