use serde::{Deserialize, Serialize};

/// What a licence unlocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// Creating *Charge Amps Charge Control* reporters.
    #[serde(rename = "integration.charge-amps")]
    ChargeAmps,
}

impl Capability {
    pub const ALL: [Capability; 1] = [Capability::ChargeAmps];

    /// The number written into licence codes.
    pub const fn id(self) -> u8 {
        match self {
            Capability::ChargeAmps => 1,
        }
    }

    pub fn from_id(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::ChargeAmps => "integration.charge-amps",
        }
    }

    /// Accepts the full name or the short one the CLI takes (`charge-amps`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.as_str().strip_prefix("integration.") == Some(s))
    }

    /// The message key of its name.
    pub const fn name_key(self) -> &'static str {
        match self {
            Capability::ChargeAmps => "licences.capability_charge_amps",
        }
    }
}

/// A licence the account holds, as the Licences page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveLicence {
    pub capability: Capability,
    pub code: String,
    /// RFC 3339, UTC.
    pub redeemed_at: String,
    /// The reporter that holds it (id, name, site's name), if one does.
    #[serde(default)]
    pub used_by: Option<(i64, String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for c in Capability::ALL {
            assert_eq!(Capability::from_id(c.id()), Some(c));
            assert_eq!(Capability::parse(c.as_str()), Some(c));
        }
        assert_eq!(
            Capability::parse("charge-amps"),
            Some(Capability::ChargeAmps)
        );
        assert_eq!(Capability::parse("open-reporter"), None);
        assert_eq!(Capability::from_id(0), None);
    }
}
