//! P1 / HAN smart-meter telegrams (DSMR 2.2–5.0, Swedish HAN; IEC 62056-21 mode D) into
//! [`Reading`]s.
//!
//! A telegram runs from a `/` header line to a `!` line that carries a CRC16 (ARC: polynomial
//! 0xA001, initial 0, over every byte from `/` through `!`) in DSMR 4 and later; DSMR 2.2/3
//! telegrams end in a bare `!`. A body may hold several telegrams. Lines the parser does not
//! need are skipped; a value it needs that does not parse rejects the body, naming the line.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use crate::readings::{Limits, NOMINAL_VOLTAGE_V, Reading, Rejection, check};

const CRC16_ARC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_ARC);

/// OBIS codes per phase L1, L2, L3.
const CURRENT: [&str; 3] = ["1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"];
const VOLTAGE: [&str; 3] = ["1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"];
const POWER_IMPORT: [&str; 3] = ["1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0"];
const POWER_EXPORT: [&str; 3] = ["1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0"];
const TOTAL_POWER_IMPORT: &str = "1-0:1.7.0";
const TOTAL_POWER_EXPORT: &str = "1-0:2.7.0";
const TIMESTAMP: &str = "0-0:1.0.0";

/// Values gathered from one telegram, before they become a reading.
#[derive(Default)]
struct Fields {
    ts: Option<i64>,
    current: [Option<f64>; 3],
    voltage: [Option<f64>; 3],
    power_import_kw: [Option<f64>; 3],
    power_export_kw: [Option<f64>; 3],
    total_import_kw: Option<f64>,
    total_export_kw: Option<f64>,
    import_total: Option<f64>,
    import_tariffs: Option<f64>,
    export_total: Option<f64>,
    export_tariffs: Option<f64>,
}

/// Parses every telegram in `body`. Telegrams without a timestamp (DSMR 2.2/3) get the time of
/// receipt, `limits.now_ms`.
pub fn parse(body: &[u8], limits: &Limits) -> Result<Vec<Reading>, Rejection> {
    let mut readings = Vec::new();
    // (line number of the header, byte offset of '/', fields so far)
    let mut open: Option<(usize, usize, Fields)> = None;
    let mut offset = 0;
    for (index, raw) in body.split_inclusive(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let start = offset;
        offset += raw.len();
        let line = trim_line_end(raw);
        match &mut open {
            None => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if line.first() != Some(&b'/') {
                    return Err(Rejection::at_line(
                        number,
                        "expected a telegram header starting with '/'",
                    ));
                }
                if readings.len() >= crate::readings::MAX_READINGS_PER_REQUEST {
                    return Err(Rejection::at_line(
                        number,
                        format!(
                            "more than {} telegrams; send at most that many per request",
                            crate::readings::MAX_READINGS_PER_REQUEST
                        ),
                    ));
                }
                open = Some((number, start, Fields::default()));
            }
            Some((_, begin, fields)) => {
                if line.first() == Some(&b'!') {
                    let checked = &body[*begin..=start];
                    verify_crc(checked, &line[1..], number)?;
                    let fields = std::mem::take(fields);
                    open = None;
                    let reading =
                        into_reading(fields, limits).map_err(|e| Rejection::at_line(number, e))?;
                    readings.push(reading);
                } else if line.first() == Some(&b'/') {
                    return Err(Rejection::at_line(
                        number,
                        "a new telegram starts before the previous one ended with '!'",
                    ));
                } else {
                    read_line(line, fields).map_err(|e| Rejection::at_line(number, e))?;
                }
            }
        }
    }
    if let Some((header, ..)) = open {
        return Err(Rejection::at_line(
            header,
            "the telegram starting here has no end line ('!'); it may have been cut off",
        ));
    }
    if readings.is_empty() {
        return Err(Rejection::new(
            "no telegram in the body: expected lines from '/' to '!'",
        ));
    }
    Ok(readings)
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// `after_bang`: what follows '!' on the end line: nothing (DSMR < 4) or four hex digits.
fn verify_crc(checked: &[u8], after_bang: &[u8], line: usize) -> Result<(), Rejection> {
    let given = std::str::from_utf8(after_bang).unwrap_or("?").trim();
    if given.is_empty() {
        return Ok(());
    }
    let valid_shape = given.len() == 4 && given.bytes().all(|b| b.is_ascii_hexdigit());
    let Some(given_value) = valid_shape
        .then(|| u16::from_str_radix(given, 16).ok())
        .flatten()
    else {
        return Err(Rejection::at_line(
            line,
            format!("the CRC must be four hex digits, not {given:?}"),
        ));
    };
    let computed = CRC16_ARC.checksum(checked);
    if computed != given_value {
        return Err(Rejection::at_line(
            line,
            format!(
                "CRC mismatch: the telegram says {given}, its content gives {computed:04X}; it was corrupted on the way"
            ),
        ));
    }
    Ok(())
}

/// One `ID(value*unit)(…)` line. Unknown codes and continuation lines are skipped.
fn read_line(line: &[u8], fields: &mut Fields) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Ok(()); // text messages in other encodings; nothing we read
    };
    let Some((id, rest)) = text.split_once('(') else {
        return Ok(());
    };
    let id = id.trim();
    let value = rest.split_once(')').map(|(v, _)| v).unwrap_or(rest);
    if id == TIMESTAMP {
        fields.ts = Some(parse_timestamp(value).map_err(|e| format!("{id} {e}"))?);
        return Ok(());
    }
    let slot = |codes: &[&str; 3]| codes.iter().position(|c| *c == id);
    if let Some(p) = slot(&CURRENT) {
        fields.current[p] = Some(number(id, value, &[("a", 1.0)])?);
    } else if let Some(p) = slot(&VOLTAGE) {
        fields.voltage[p] = Some(number(id, value, &[("v", 1.0)])?);
    } else if let Some(p) = slot(&POWER_IMPORT) {
        fields.power_import_kw[p] = Some(number(id, value, KILOWATT)?);
    } else if let Some(p) = slot(&POWER_EXPORT) {
        fields.power_export_kw[p] = Some(number(id, value, KILOWATT)?);
    } else if id == TOTAL_POWER_IMPORT {
        fields.total_import_kw = Some(number(id, value, KILOWATT)?);
    } else if id == TOTAL_POWER_EXPORT {
        fields.total_export_kw = Some(number(id, value, KILOWATT)?);
    } else if let Some(register) = id.strip_prefix("1-0:1.8.") {
        add_energy(
            register,
            id,
            value,
            &mut fields.import_total,
            &mut fields.import_tariffs,
        )?;
    } else if let Some(register) = id.strip_prefix("1-0:2.8.") {
        add_energy(
            register,
            id,
            value,
            &mut fields.export_total,
            &mut fields.export_tariffs,
        )?;
    }
    Ok(())
}

const KILOWATT: &[(&str, f64)] = &[("kw", 1.0), ("w", 0.001)];
const KILOWATT_HOUR: &[(&str, f64)] = &[("kwh", 1.0), ("wh", 0.001)];

/// `1-0:1.8.0` is the total; `1-0:1.8.1`, `.2`, … are tariff registers that add up to it.
fn add_energy(
    register: &str,
    id: &str,
    value: &str,
    total: &mut Option<f64>,
    tariffs: &mut Option<f64>,
) -> Result<(), String> {
    let kwh = number(id, value, KILOWATT_HOUR)?;
    if register == "0" {
        *total = Some(kwh);
    } else {
        *tariffs = Some(tariffs.unwrap_or(0.0) + kwh);
    }
    Ok(())
}

/// `value*unit` in one of `units` (case-insensitive), scaled to the first unit. A value without
/// a unit (DSMR 2.2/3 meters) is taken to be in the standard unit.
fn number(id: &str, value: &str, units: &[(&str, f64)]) -> Result<f64, String> {
    let (digits, unit) = match value.split_once('*') {
        Some((d, u)) => (d, Some(u.trim())),
        None => (value, None),
    };
    let scale = match unit {
        None => 1.0,
        Some(unit) => units
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(unit))
            .map(|(_, scale)| *scale)
            .ok_or_else(|| format!("{id} has unit {unit:?}, expected {}", units[0].0))?,
    };
    let n: f64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{id} value {digits:?} is not a number"))?;
    if !n.is_finite() {
        return Err(format!("{id} value {digits:?} is not a number"));
    }
    Ok(n * scale)
}

/// `YYMMDDhhmmssX`, X = S (summer time, UTC+2) or W (winter time, UTC+1): the meters' time is
/// Central European.
fn parse_timestamp(value: &str) -> Result<i64, String> {
    let bad = || format!("timestamp {value:?} is not YYMMDDhhmmss followed by S or W");
    if value.len() != 13 || !value.is_ascii() {
        return Err(bad());
    }
    let (digits, flag) = value.split_at(12);
    let offset = match flag {
        "S" | "s" => 2,
        "W" | "w" => 1,
        _ => return Err(bad()),
    };
    let part = |i: usize| digits[i..i + 2].parse::<i8>().map_err(|_| bad());
    let civil = DateTime::new(
        2000 + i16::from(part(0)?),
        part(2)?,
        part(4)?,
        part(6)?,
        part(8)?,
        part(10)?,
        0,
    )
    .map_err(|_| bad())?;
    let zone = TimeZone::fixed(Offset::constant(offset));
    let ts: Timestamp = civil.to_zoned(zone).map_err(|_| bad())?.timestamp();
    Ok(ts.as_millisecond())
}

fn into_reading(f: Fields, limits: &Limits) -> Result<Reading, String> {
    let mut reading = Reading {
        ts: f.ts.unwrap_or(limits.now_ms),
        import_kwh: f.import_total.or(f.import_tariffs),
        export_kwh: f.export_total.or(f.export_tariffs),
        voltage_v: f.voltage,
        ..Reading::default()
    };
    for phase in 0..usize::from(limits.phases) {
        let (import_kw, export_kw) = if limits.phases == 1 && f.power_import_kw[0].is_none() {
            // A single-phase meter may report only the totals.
            (f.total_import_kw, f.total_export_kw)
        } else {
            (f.power_import_kw[phase], f.power_export_kw[phase])
        };
        let net_w = match (import_kw, export_kw) {
            (None, None) => None,
            (i, e) => Some((i.unwrap_or(0.0) - e.unwrap_or(0.0)) * 1000.0),
        };
        reading.power_w[phase] = net_w;
        reading.current_a[phase] = match (f.current[phase], net_w) {
            // Meters report current unsigned; the power's direction gives its sign.
            (Some(i), Some(w)) if w < 0.0 => Some(-i.abs()),
            (Some(i), _) => Some(i),
            (None, Some(w)) => {
                reading.derived = true;
                let volts = f.voltage[phase]
                    .filter(|v| *v > 0.0)
                    .unwrap_or(NOMINAL_VOLTAGE_V);
                Some(w / volts)
            }
            (None, None) => {
                return Err(format!(
                    "the telegram has neither current nor power for L{} ({} / {})",
                    phase + 1,
                    CURRENT[phase],
                    POWER_IMPORT[phase]
                ));
            }
        };
    }
    check(&reading, limits).map_err(|(field, message)| format!("{field}: {message}"))?;
    Ok(reading)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn limits(phases: u8) -> Limits {
        Limits {
            phases,
            now_ms: i64::MAX / 2,
            oldest_ms: 0,
        }
    }

    fn with_crc(body: &str) -> String {
        let bang = body.find('!').unwrap();
        let crc = CRC16_ARC.checksum(&body.as_bytes()[..=bang]);
        format!("{}{:04X}\r\n", &body[..=bang], crc)
    }

    #[rstest]
    #[case::winter("210217184019W", "2021-02-17T17:40:19Z")]
    #[case::summer("180924132132S", "2018-09-24T11:21:32Z")]
    #[case::lowercase_flag("180924132132s", "2018-09-24T11:21:32Z")]
    fn timestamps_follow_the_dst_flag(#[case] value: &str, #[case] utc: &str) {
        let want: Timestamp = utc.parse().unwrap();
        assert_eq!(parse_timestamp(value), Ok(want.as_millisecond()));
    }

    #[rstest]
    #[case::month_zero("250000000000W")]
    #[case::no_flag("210217184019")]
    #[case::unknown_flag("210217184019X")]
    #[case::hour_34("123412341234W")]
    #[case::multibyte("21021718401éW")]
    fn impossible_timestamps_are_refused(#[case] value: &str) {
        assert!(parse_timestamp(value).is_err());
    }

    #[test]
    fn current_is_derived_from_power_where_the_meter_gives_none() {
        let body = with_crc(
            "/TEST5\r\n\r\n0-0:1.0.0(210217184019W)\r\n1-0:21.7.0(0002.300*kW)\r\n1-0:41.7.0(0000.000*kW)\r\n1-0:42.7.0(0000.460*kW)\r\n1-0:61.7.0(0000.230*kW)\r\n1-0:32.7.0(230.0*V)\r\n1-0:52.7.0(230.0*V)\r\n!",
        );
        let reading = parse(body.as_bytes(), &limits(3)).unwrap()[0];
        assert!(reading.derived);
        assert_eq!(reading.current_a, [Some(10.0), Some(-2.0), Some(1.0)]);
        assert_eq!(reading.power_w, [Some(2300.0), Some(-460.0), Some(230.0)]);
    }

    #[rstest]
    #[case::garbage_first("hello\r\n", 1, "expected a telegram header")]
    #[case::cut_off("/TEST5\r\n\r\n1-0:31.7.0(001*A)\r\n", 1, "no end line")]
    #[case::bad_number(
        "/TEST5\r\n1-0:31.7.0(0x1*A)\r\n1-0:51.7.0(1*A)\r\n1-0:71.7.0(1*A)\r\n!\r\n",
        2,
        "not a number"
    )]
    #[case::wrong_unit("/TEST5\r\n1-0:31.7.0(1*V)\r\n!\r\n", 2, "unit")]
    #[case::missing_phase("/TEST5\r\n1-0:31.7.0(1*A)\r\n1-0:51.7.0(1*A)\r\n!\r\n", 4, "L3")]
    #[case::over_current(
        "/TEST5\r\n1-0:31.7.0(1001*A)\r\n1-0:51.7.0(1*A)\r\n1-0:71.7.0(1*A)\r\n!\r\n",
        5,
        "outside"
    )]
    #[case::unpadded_crc(
        "/TEST5\r\n1-0:31.7.0(1*A)\r\n1-0:51.7.0(1*A)\r\n1-0:71.7.0(1*A)\r\n!B9F\r\n",
        5,
        "four hex digits"
    )]
    #[case::nested("/TEST5\r\n/TEST5\r\n!\r\n", 2, "before the previous one ended")]
    fn bad_telegrams_name_the_line(#[case] body: &str, #[case] line: usize, #[case] message: &str) {
        let err = parse(body.as_bytes(), &limits(3)).unwrap_err();
        assert_eq!(err.line, Some(line), "{err:?}");
        assert!(err.error.contains(message), "{err:?}");
    }

    #[test]
    fn a_body_holds_at_most_as_many_telegrams_as_json_holds_readings() {
        let one = with_crc(
            "/TEST5\r\n0-0:1.0.0(210217184019W)\r\n1-0:31.7.0(1*A)\r\n1-0:51.7.0(1*A)\r\n1-0:71.7.0(1*A)\r\n!",
        );
        let max = crate::readings::MAX_READINGS_PER_REQUEST;
        assert_eq!(
            parse(one.repeat(max).as_bytes(), &limits(3)).unwrap().len(),
            max
        );
        let err = parse(one.repeat(max + 1).as_bytes(), &limits(3)).unwrap_err();
        assert!(err.error.contains("more than 10000 telegrams"), "{err:?}");
        assert_eq!(err.line, Some(max * 6 + 1), "{err:?}");
    }

    #[test]
    fn an_empty_body_is_refused() {
        let err = parse(b"\r\n\r\n", &limits(3)).unwrap_err();
        assert!(err.error.contains("no telegram"), "{err:?}");
    }
}
