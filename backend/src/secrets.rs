//! Secrets at rest: reporter PINs and partner passwords are stored sealed (ChaCha20-Poly1305
//! with the operator's key, `AMPWISE_SECRETS_KEY`), so a copy of the database alone does not
//! give anyone a house's measurement link. Each value is bound to what it belongs to (its
//! kind and the reporter's serial number) as associated data: a sealed PIN copied onto another
//! row does not open.
//!
//! Stored form: `v1:` and the base64 of a random 96-bit nonce followed by the ciphertext and
//! its tag. A value without the prefix was stored before sealing began; it is read as it is
//! and sealed at the next start-up ([`crate::reporters::seal_stored_secrets`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{OsRng, RngCore};

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// What a secret is, so one cannot stand in for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A Charge Amps reporter's PIN (also while its serial is only issued).
    Pin,
    /// An Open Reporter partner's password.
    PartnerPassword,
}

impl SecretKind {
    fn label(self) -> &'static str {
        match self {
            SecretKind::Pin => "pin",
            SecretKind::PartnerPassword => "partner-password",
        }
    }
}

/// The stored value could not be opened: another key, or it was changed.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret does not open with this key (was AMPWISE_SECRETS_KEY changed?)")]
pub struct Unreadable;

/// Seals and opens secrets with one key.
#[derive(Clone)]
pub struct Secrets {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

impl Secrets {
    /// A 256-bit key as 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, &'static str> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("expected 64 hex digits (32 bytes)");
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| "expected 64 hex digits (32 bytes)")?;
        }
        Ok(Self::from_key(key))
    }

    fn from_key(key: [u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// A key of this process only (tests and tools that never meet stored secrets).
    pub fn ephemeral() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self::from_key(key)
    }

    fn aad(kind: SecretKind, serial: &str) -> Vec<u8> {
        format!("ampwise/{}/{serial}", kind.label()).into_bytes()
    }

    /// `plain` sealed for storage, bound to `kind` and `serial`.
    pub fn seal(&self, kind: SecretKind, serial: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let aad = Self::aad(kind, serial);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("ChaCha20-Poly1305 seals any message of ours");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(bytes))
    }

    /// The stored value's plain text: opened when sealed, as it is when stored before sealing.
    pub fn open(&self, kind: SecretKind, serial: &str, stored: &str) -> Result<String, Unreadable> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let bytes = STANDARD_NO_PAD.decode(encoded).map_err(|_| Unreadable)?;
        if bytes.len() < NONCE_LEN {
            return Err(Unreadable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = Self::aad(kind, serial);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| Unreadable)?;
        String::from_utf8(plain).map_err(|_| Unreadable)
    }

    /// Whether a stored value is sealed already.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Secrets {
        Secrets::from_hex(&"4b".repeat(32)).unwrap()
    }

    #[test]
    fn a_sealed_pin_opens_and_shows_nothing_of_itself() {
        let s = key();
        let sealed = s.seal(SecretKind::Pin, "AMPW-2345-6789", "40719253");
        assert!(
            Secrets::is_sealed(&sealed) && !sealed.contains("40719253"),
            "{sealed}"
        );
        assert_eq!(
            s.open(SecretKind::Pin, "AMPW-2345-6789", &sealed).unwrap(),
            "40719253"
        );
        // Sealed twice, it is stored differently (a fresh nonce each time).
        assert_ne!(
            sealed,
            s.seal(SecretKind::Pin, "AMPW-2345-6789", "40719253")
        );
    }

    #[test]
    fn a_sealed_value_opens_only_where_it_belongs_and_with_its_key() {
        let s = key();
        let sealed = s.seal(SecretKind::Pin, "AMPW-2345-6789", "40719253");
        let cases = [
            (
                "another reporter's row",
                SecretKind::Pin,
                "AMPW-2345-678A",
                &s,
            ),
            (
                "as a password",
                SecretKind::PartnerPassword,
                "AMPW-2345-6789",
                &s,
            ),
        ];
        for (name, kind, serial, secrets) in cases {
            assert!(secrets.open(kind, serial, &sealed).is_err(), "{name}");
        }
        let other = Secrets::from_hex(&"4c".repeat(32)).unwrap();
        assert!(
            other
                .open(SecretKind::Pin, "AMPW-2345-6789", &sealed)
                .is_err()
        );
        // One character in the middle changed (every bit of it counts there; a last one may
        // carry unused bits, and was sometimes 'A' already).
        let mut tampered: Vec<char> = sealed.chars().collect();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        assert!(
            s.open(SecretKind::Pin, "AMPW-2345-6789", &tampered)
                .is_err()
        );
    }

    #[test]
    fn values_stored_before_sealing_read_as_they_are() {
        assert_eq!(
            key()
                .open(SecretKind::Pin, "AMPW-2345-6789", "40719253")
                .unwrap(),
            "40719253"
        );
    }

    #[test]
    fn keys_are_64_hex_digits() {
        for bad in ["", "abcd", &"zz".repeat(32), &"4b".repeat(33)] {
            assert!(Secrets::from_hex(bad).is_err(), "{bad}");
        }
    }
}
