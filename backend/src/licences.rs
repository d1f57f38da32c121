//! Integration licences: minting (operator CLI), verifying, redeeming once, revoking.
//!
//! A code carries capability, a 40-bit random serial and a 40-bit MAC (HMAC-SHA256 under the
//! operator's key, truncated). Anyone holding the key can verify a code offline; without it, a
//! forged code has a 1 in 2^40 chance per try, and every try costs an online request.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use model::licence::{self, CodeError, PAYLOAD_LEN};
use model::{Account, ActiveLicence, Capability};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

use crate::{Error, Services, StoreError};

/// The secret that signs licence codes. At least 32 bytes; never in the repository.
#[derive(Clone)]
pub struct LicenceKey(Arc<[u8]>);

impl std::fmt::Debug for LicenceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LicenceKey(***)")
    }
}

/// Shortest key accepted, in bytes (the HMAC-SHA256 block strength).
pub const MIN_KEY_BYTES: usize = 32;

impl LicenceKey {
    /// From hex text (64 or more hex digits).
    pub fn from_hex(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("expected hexadecimal digits");
        }
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("checked hex"))
            .collect();
        if bytes.len() < MIN_KEY_BYTES {
            return Err("expected at least 32 bytes (64 hex digits)");
        }
        Ok(Self(bytes.into()))
    }

    fn mac(&self, capability: u8, serial: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"ampwise-licence-v1");
        mac.update(&[capability]);
        mac.update(serial);
        mac
    }
}

const SERIAL_BYTES: usize = 5;
const MAC_BYTES: usize = 5;

/// A code that verified: what it grants and its serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub capability: Capability,
    pub serial: i64,
}

/// Why a code does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    #[error(transparent)]
    Format(#[from] CodeError),
    #[error("not a genuine licence code")]
    Forged,
    #[error("the code grants a capability this server does not know")]
    UnknownCapability,
}

impl LicenceError {
    pub fn key(&self) -> &'static str {
        match self {
            LicenceError::Format(e) => e.key(),
            LicenceError::Forged => "error.licence_not_a_code",
            LicenceError::UnknownCapability => "error.licence_unknown_capability",
        }
    }
}

/// A new code for `capability` with a random serial.
pub fn mint_code(key: &LicenceKey, capability: Capability) -> (String, i64) {
    let mut serial = [0u8; SERIAL_BYTES];
    OsRng.fill_bytes(&mut serial);
    (sign(key, capability.id(), serial), serial_number(&serial))
}

fn sign(key: &LicenceKey, capability: u8, serial: [u8; SERIAL_BYTES]) -> String {
    let tag = key.mac(capability, &serial).finalize().into_bytes();
    let mut payload = [0u8; PAYLOAD_LEN];
    payload[0] = capability;
    payload[1..=SERIAL_BYTES].copy_from_slice(&serial);
    payload[1 + SERIAL_BYTES..].copy_from_slice(&tag[..MAC_BYTES]);
    licence::encode(&payload)
}

fn serial_number(serial: &[u8]) -> i64 {
    serial.iter().fold(0i64, |n, &b| (n << 8) | i64::from(b))
}

/// Checks a typed or scanned code: its format, then its MAC (in constant time), then that the
/// capability is one we know.
pub fn verify(key: &LicenceKey, typed: &str) -> Result<Verified, LicenceError> {
    let payload = licence::decode(typed)?;
    let (capability, serial, tag) = (
        payload[0],
        &payload[1..=SERIAL_BYTES],
        &payload[1 + SERIAL_BYTES..],
    );
    key.mac(capability, serial)
        .verify_truncated_left(tag)
        .map_err(|_| LicenceError::Forged)?;
    let capability = Capability::from_id(capability).ok_or(LicenceError::UnknownCapability)?;
    Ok(Verified {
        capability,
        serial: serial_number(serial),
    })
}

/// Why a redemption was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Invalid(LicenceError),
    /// Someone else redeemed it.
    AlreadyUsed,
    /// This account redeemed it before; the capability is active.
    AlreadyYours,
    Revoked,
}

/// Redeems `typed` for `actor`: exactly once over all accounts, even under concurrent tries
/// (the serial is the redemptions table's primary key).
pub async fn redeem(
    services: &Services,
    actor: &Account,
    typed: &str,
) -> Result<Result<Capability, Refusal>, Error> {
    let Some(key) = &services.licence_key else {
        return Err(Error::Unavailable);
    };
    services
        .redeem_limit
        .check(&actor.id.to_string(), services.clock.now_ms())
        .await
        .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
    let verified = match verify(key, typed) {
        Ok(v) => v,
        Err(e) => return Ok(Err(Refusal::Invalid(e))),
    };
    // Signed with our key but never minted here: the key leaked, or the code was made
    // elsewhere. Either way it is not a code of ours.
    if !services.repo.licence_minted(verified.serial).await? {
        return Ok(Err(Refusal::Invalid(LicenceError::Forged)));
    }
    if services.repo.licence_revoked(verified.serial).await? {
        return Ok(Err(Refusal::Revoked));
    }
    let code = licence::canonical(typed).expect("verified codes are well-formed");
    match services
        .repo
        .redeem_licence(verified.serial, &code, verified.capability, actor.id)
        .await
    {
        Ok(()) => Ok(Ok(verified.capability)),
        Err(StoreError::Conflict) => match services.repo.licence_holder(verified.serial).await? {
            Some(holder) if holder == actor.id => Ok(Err(Refusal::AlreadyYours)),
            _ => Ok(Err(Refusal::AlreadyUsed)),
        },
        Err(e) => Err(e.into()),
    }
}

/// Mints `count` codes and records them for the operator's list.
pub async fn mint(
    services: &Services,
    key: &LicenceKey,
    capability: Capability,
    count: usize,
) -> Result<Vec<String>, Error> {
    let mut codes = Vec::with_capacity(count);
    while codes.len() < count {
        let (code, serial) = mint_code(key, capability);
        match services
            .repo
            .record_minted_licence(serial, &code, capability)
            .await
        {
            Ok(()) => codes.push(code),
            // A serial drawn twice (1 in 2^40 per pair): draw again.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(codes)
}

/// Revokes a code (verified first, so a typo revokes nothing). The account that redeemed it
/// loses the capability at once. Returns whether it was not revoked before.
pub async fn revoke(
    services: &Services,
    key: &LicenceKey,
    typed: &str,
) -> Result<Result<bool, LicenceError>, Error> {
    match verify(key, typed) {
        Ok(v) => Ok(Ok(services.repo.revoke_licence(v.serial).await?)),
        Err(e) => Ok(Err(e)),
    }
}

pub async fn active(services: &Services, actor: &Account) -> Result<Vec<ActiveLicence>, Error> {
    Ok(services.repo.active_licences(actor.id).await?)
}

pub async fn has(
    services: &Services,
    actor: &Account,
    capability: Capability,
) -> Result<bool, Error> {
    Ok(services
        .repo
        .active_licences(actor.id)
        .await?
        .iter()
        .any(|l| l.capability == capability))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn key(byte: u8) -> LicenceKey {
        LicenceKey::from_hex(&format!("{byte:02x}").repeat(32)).unwrap()
    }

    #[test]
    fn minted_codes_verify_under_their_key_only() {
        let (code, serial) = mint_code(&key(7), Capability::ChargeAmps);
        assert_eq!(
            verify(&key(7), &code),
            Ok(Verified {
                capability: Capability::ChargeAmps,
                serial
            })
        );
        assert_eq!(
            verify(&key(7), &code.to_lowercase().replace('-', "")).map(|v| v.serial),
            Ok(serial)
        );
        assert_eq!(verify(&key(8), &code), Err(LicenceError::Forged));
    }

    #[test]
    fn tampered_payload_with_a_valid_check_character_is_forged() {
        // Re-encode a payload with one bit flipped: the format is fine, the MAC is not.
        let (code, _) = mint_code(&key(7), Capability::ChargeAmps);
        let mut payload = licence::decode(&code).unwrap();
        for i in 0..PAYLOAD_LEN {
            payload[i] ^= 0x01;
            let tampered = licence::encode(&payload);
            let err = verify(&key(7), &tampered).unwrap_err();
            assert!(
                matches!(err, LicenceError::Forged | LicenceError::UnknownCapability),
                "byte {i}: {err:?}"
            );
            payload[i] ^= 0x01;
        }
    }

    #[test]
    fn unknown_capability_with_a_genuine_mac() {
        let code = sign(&key(7), 200, [1, 2, 3, 4, 5]);
        assert_eq!(verify(&key(7), &code), Err(LicenceError::UnknownCapability));
    }

    #[test]
    fn serials_are_random() {
        let serials: std::collections::HashSet<i64> = (0..200)
            .map(|_| mint_code(&key(7), Capability::ChargeAmps).1)
            .collect();
        assert_eq!(serials.len(), 200);
    }

    #[rstest]
    #[case::short("ab".repeat(31))]
    #[case::not_hex("zz".repeat(32))]
    #[case::odd("abc")]
    fn weak_or_malformed_keys_are_refused(#[case] text: String) {
        assert!(LicenceKey::from_hex(&text).is_err());
    }

    #[test]
    fn key_is_not_printed() {
        assert_eq!(format!("{:?}", key(7)), "LicenceKey(***)");
    }
}
