//! The printed form of an integration licence code: `A7K3M-9QXRT-2HNCW-4PZE8`.
//!
//! 20 characters in four groups of five, from an alphabet of 30 without look-alikes (no 0/O,
//! 1/I/L, and no U, which reads as V). Typing is case-insensitive and ignores spaces and dashes. The first character
//! is the format version; the last is a Luhn mod-30 check character, which catches every single
//! mistyped character and every swap of two neighbours before the code reaches the server.
//! Between them, 18 characters carry 11 bytes: capability, serial and MAC. The MAC is checked on
//! the server only (it needs the key); this module knows nothing of keys.

/// The symbols, in value order.
pub const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const N: u32 = 30;

/// The format version character of codes this module writes.
pub const VERSION_V1: u8 = b'A';
/// Characters in a code, without the dashes.
pub const CODE_LEN: usize = 20;
const PAYLOAD_CHARS: usize = 18;
/// Bytes carried: capability (1), serial (5), MAC (5).
pub const PAYLOAD_LEN: usize = 11;
const GROUP: usize = 5;

/// Why typed text is not a licence code. Each has a message key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a licence code has 20 characters; this has {0}")]
    Length(usize),
    #[error("{0:?} is not used in licence codes")]
    Character(char),
    #[error("unknown code format")]
    Version,
    #[error("a character is mistyped")]
    Check,
}

impl CodeError {
    pub fn key(&self) -> &'static str {
        match self {
            CodeError::Length(_) => "error.licence_length",
            CodeError::Character(_) => "error.licence_character",
            CodeError::Version => "error.licence_not_a_code",
            CodeError::Check => "error.licence_mistyped",
        }
    }
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Luhn mod N: doubles every second value from the right, so a single substitution and an
/// adjacent transposition always change the sum.
fn check_char(body: &[u8]) -> u8 {
    let mut sum = 0;
    for (i, &c) in body.iter().rev().enumerate() {
        let mut v = value(c).expect("body is in the alphabet");
        if i % 2 == 0 {
            v *= 2;
            v = v / N + v % N;
        }
        sum += v;
    }
    ALPHABET[((N - sum % N) % N) as usize]
}

/// Upper-case symbols only, with spaces, dashes and dots removed.
fn compact(typed: &str) -> Result<Vec<u8>, CodeError> {
    let mut out = Vec::with_capacity(CODE_LEN);
    for c in typed.chars() {
        if c.is_whitespace() || c == '-' || c == '.' {
            continue;
        }
        let up = c.to_ascii_uppercase();
        if !up.is_ascii() || value(up as u8).is_none() {
            return Err(CodeError::Character(c));
        }
        out.push(up as u8);
    }
    Ok(out)
}

/// `ABCDEFGHJK…` → `ABCDE-FGHJK-…`, for display and for formatting as the user types.
pub fn group(symbols: &str) -> String {
    let mut out = String::with_capacity(symbols.len() + symbols.len() / GROUP);
    for (i, c) in symbols.chars().enumerate() {
        if i > 0 && i % GROUP == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// What the user has typed so far, cleaned and grouped (for the input field). Unknown
/// characters are dropped; at most a whole code is kept.
pub fn format_partial(typed: &str) -> String {
    let kept: String = typed
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| c.is_ascii() && value(*c as u8).is_some())
        .take(CODE_LEN)
        .collect();
    group(&kept)
}

/// Writes the code for an 11-byte payload.
pub fn encode(payload: &[u8; PAYLOAD_LEN]) -> String {
    let mut n = payload.iter().fold(0u128, |n, &b| (n << 8) | u128::from(b));
    let mut digits = [0u8; PAYLOAD_CHARS];
    for d in digits.iter_mut().rev() {
        *d = ALPHABET[(n % u128::from(N)) as usize];
        n /= u128::from(N);
    }
    let mut body = Vec::with_capacity(CODE_LEN);
    body.push(VERSION_V1);
    body.extend_from_slice(&digits);
    body.push(check_char(&body));
    group(std::str::from_utf8(&body).expect("alphabet is ASCII"))
}

/// Reads a typed or scanned code back into its payload, checking everything that can be checked
/// without the key.
pub fn decode(typed: &str) -> Result<[u8; PAYLOAD_LEN], CodeError> {
    let body = compact(typed)?;
    if body.len() != CODE_LEN {
        return Err(CodeError::Length(body.len()));
    }
    if check_char(&body[..CODE_LEN - 1]) != body[CODE_LEN - 1] {
        return Err(CodeError::Check);
    }
    if body[0] != VERSION_V1 {
        return Err(CodeError::Version);
    }
    let mut n: u128 = 0;
    for &c in &body[1..=PAYLOAD_CHARS] {
        n = n * u128::from(N) + u128::from(value(c).expect("compact checked the alphabet"));
    }
    if n >> (8 * PAYLOAD_LEN) != 0 {
        return Err(CodeError::Version);
    }
    let mut payload = [0u8; PAYLOAD_LEN];
    for (i, b) in payload.iter_mut().enumerate() {
        *b = (n >> (8 * (PAYLOAD_LEN - 1 - i))) as u8;
    }
    Ok(payload)
}

/// The code in canonical form (upper case, grouped), if it reads.
pub fn canonical(typed: &str) -> Result<String, CodeError> {
    decode(typed).map(|payload| encode(&payload))
}

/// The code inside a scanned QR text: either the bare code or a link with `?code=…`.
pub fn from_scan(text: &str) -> &str {
    let text = text.trim();
    match text.split_once("code=") {
        Some((_, rest)) => rest.split(['&', '#']).next().unwrap_or_default(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const PAYLOAD: [u8; PAYLOAD_LEN] = [1, 0, 0, 0, 0x30, 0x39, 0xde, 0xad, 0xbe, 0xef, 0x42];

    #[test]
    fn alphabet_has_no_look_alikes() {
        for c in b"01ILOU" {
            assert!(!ALPHABET.contains(c), "{}", *c as char);
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), 30);
    }

    #[test]
    fn round_trip_and_shape() {
        let code = encode(&PAYLOAD);
        assert_eq!(code.len(), 23, "{code}");
        assert_eq!(code.matches('-').count(), 3, "{code}");
        assert!(code.starts_with('A'));
        assert_eq!(decode(&code), Ok(PAYLOAD));
    }

    #[test]
    fn extremes_round_trip() {
        for payload in [[0u8; PAYLOAD_LEN], [0xff; PAYLOAD_LEN]] {
            assert_eq!(decode(&encode(&payload)), Ok(payload));
        }
    }

    #[rstest]
    #[case::lower_case(|c: &str| c.to_lowercase())]
    #[case::no_dashes(|c: &str| c.replace('-', ""))]
    #[case::spaces(|c: &str| c.replace('-', " "))]
    #[case::padded(|c: &str| format!("  {c}\n"))]
    fn typing_variants_are_accepted(#[case] vary: fn(&str) -> String) {
        let code = encode(&PAYLOAD);
        assert_eq!(decode(&vary(&code)), Ok(PAYLOAD));
        assert_eq!(canonical(&vary(&code)).unwrap(), code);
    }

    #[rstest]
    #[case::truncated("A7K3M-9QXRT-2HNCW-4PZE", CodeError::Length(19))]
    #[case::empty("", CodeError::Length(0))]
    #[case::letter_o("A7K3M-9QXRT-2HNCW-4PZEO", CodeError::Character('O'))]
    #[case::digit_zero("A7K3M-9QXRT-2HNCW-4PZE0", CodeError::Character('0'))]
    #[case::digit_one("1", CodeError::Character('1'))]
    fn malformed(#[case] typed: &str, #[case] err: CodeError) {
        assert_eq!(decode(typed), Err(err));
    }

    /// Every single-character change of a valid code is caught by the check character alone.
    #[test]
    fn every_single_substitution_is_caught() {
        for seed in 0..50u8 {
            let payload: [u8; PAYLOAD_LEN] = std::array::from_fn(|i| {
                seed.wrapping_mul(37)
                    .wrapping_add((i as u8).wrapping_mul(91))
            });
            let code: Vec<u8> = encode(&payload).replace('-', "").into_bytes();
            for pos in 0..CODE_LEN {
                for &c in ALPHABET.iter().filter(|&&c| c != code[pos]) {
                    let mut typo = code.clone();
                    typo[pos] = c;
                    let typo = String::from_utf8(typo).unwrap();
                    assert!(decode(&typo).is_err(), "{typo} passed");
                }
            }
        }
    }

    #[test]
    fn every_adjacent_swap_is_caught() {
        let code: Vec<u8> = encode(&PAYLOAD).replace('-', "").into_bytes();
        for pos in 0..CODE_LEN - 1 {
            if code[pos] == code[pos + 1] {
                continue;
            }
            let mut typo = code.clone();
            typo.swap(pos, pos + 1);
            assert_eq!(
                decode(std::str::from_utf8(&typo).unwrap()),
                Err(CodeError::Check),
                "swap at {pos}"
            );
        }
    }

    #[rstest]
    #[case::partial("a7k3m9q", "A7K3M-9Q")]
    #[case::drops_unknown("a7-k 3m0", "A7K3M")]
    #[case::stops_at_twenty("2222222222222222222222222", "22222-22222-22222-22222")]
    fn formatting_as_you_type(#[case] typed: &str, #[case] shown: &str) {
        assert_eq!(format_partial(typed), shown);
    }

    #[rstest]
    #[case::bare("A7K3M-9QXRT", "A7K3M-9QXRT")]
    #[case::link("https://ampwise.se/settings/licences?code=A7K3M-9QXRT", "A7K3M-9QXRT")]
    #[case::link_with_more("http://x/settings/licences?code=A7K3M&lang=sv", "A7K3M")]
    fn scanned_text(#[case] text: &str, #[case] code: &str) {
        assert_eq!(from_scan(text), code);
    }
}
