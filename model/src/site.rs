use serde::{Deserialize, Serialize};

use crate::FieldError;

/// The Nordic day-ahead bidding zones in Sweden; a site's spot price follows its zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PriceArea {
    SE1,
    SE2,
    SE3,
    SE4,
}

impl PriceArea {
    pub const ALL: [PriceArea; 4] = [
        PriceArea::SE1,
        PriceArea::SE2,
        PriceArea::SE3,
        PriceArea::SE4,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PriceArea::SE1 => "SE1",
            PriceArea::SE2 => "SE2",
            PriceArea::SE3 => "SE3",
            PriceArea::SE4 => "SE4",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or(FieldError::new("price_area", "error.price_area_invalid"))
    }
}

/// How the viewing account reaches a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteAccess {
    /// The household: everything, including deleting the site and granting installers.
    Owner,
    /// An installer the owner granted: may read and edit, not delete or grant.
    Installer,
}

/// A site in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSummary {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub price_area: PriceArea,
    /// Main fuse rating per phase, in A.
    pub main_fuse_a: u16,
    pub access: SiteAccess,
}

/// One site with everything its settings page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDetails {
    pub id: i64,
    pub name: String,
    pub address: String,
    /// IANA time zone name; the site's local time. Stored times are UTC.
    pub time_zone: String,
    pub price_area: PriceArea,
    /// Main fuse rating per phase, in A.
    pub main_fuse_a: u16,
    pub owner_email: String,
    /// The household's e-mail address the site waits for while its invitation is open (the
    /// installer holds the site until then).
    pub invited: Option<String>,
    pub access: SiteAccess,
}

/// A site an installer set up for this household, waiting for it to accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInvitation {
    pub site_id: i64,
    pub site_name: String,
    pub address: String,
    pub installer_email: String,
}

/// An installer who has been granted access to a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteMember {
    pub account_id: i64,
    pub email: String,
}

/// What another account (an installer, granted now or revoked) set up on a site and may still
/// use: reporters it created, which forward the site's readings where it chose, and monitors
/// whose device token it saw. The owner keeps, pauses, deletes or rotates each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftBehind {
    pub account_id: i64,
    pub email: String,
    /// The account can still work on the site (granted).
    pub has_access: bool,
    pub reporters: Vec<LeftReporter>,
    pub monitors: Vec<LeftMonitor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftReporter {
    pub id: i64,
    pub name: String,
    /// Where it sends the readings: the Open Reporter partner's host, or `None` for Charge
    /// Amps (this server's own configuration).
    pub partner: Option<String>,
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftMonitor {
    pub id: i64,
    pub name: String,
}

/// One thing left behind, as the owner keeps it: from then on it is the owner's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kept {
    Reporter(i64),
    MonitorToken(i64),
}

/// The default time zone of a new site.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Stockholm";

/// Main fuse ratings (A) we accept. Swedish homes have 16–63 A; larger buildings up to a few
/// hundred. Outside this range the number is a typo, not a fuse.
pub const MAIN_FUSE_RANGE_A: std::ops::RangeInclusive<u16> = 6..=400;

/// The standard main fuse sizes offered as suggestions (A).
pub const STANDARD_MAIN_FUSES_A: [u16; 10] = [16, 20, 25, 35, 50, 63, 80, 100, 125, 160];

const MAX_NAME_LEN: usize = 100;
const MAX_ADDRESS_LEN: usize = 300;

/// A site as typed into the form: every field still text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInput {
    pub name: String,
    pub address: String,
    pub time_zone: String,
    pub price_area: String,
    pub main_fuse_a: String,
}

/// A site that passed validation (the time zone still has to be known to the server's database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSite {
    pub name: String,
    pub address: String,
    pub time_zone: String,
    pub price_area: PriceArea,
    pub main_fuse_a: u16,
}

impl SiteInput {
    pub fn validate(&self) -> Result<ValidSite, FieldError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "error.name_required"));
        }
        if name.chars().count() > MAX_NAME_LEN {
            return Err(FieldError::new("name", "error.name_long"));
        }
        let address = self.address.trim();
        if address.chars().count() > MAX_ADDRESS_LEN {
            return Err(FieldError::new("address", "error.address_long"));
        }
        let time_zone = match self.time_zone.trim() {
            "" => DEFAULT_TIME_ZONE,
            tz => tz,
        };
        let price_area = PriceArea::parse(&self.price_area)?;
        let main_fuse_a = self
            .main_fuse_a
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|a| MAIN_FUSE_RANGE_A.contains(a))
            .ok_or(FieldError::new("main_fuse_a", "error.main_fuse_invalid"))?;
        Ok(ValidSite {
            name: name.to_string(),
            address: address.to_string(),
            time_zone: time_zone.to_string(),
            price_area,
            main_fuse_a,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn input(name: &str, tz: &str, area: &str, fuse: &str) -> SiteInput {
        SiteInput {
            name: name.into(),
            address: "Storgatan 1, Uppsala".into(),
            time_zone: tz.into(),
            price_area: area.into(),
            main_fuse_a: fuse.into(),
        }
    }

    #[rstest]
    #[case::typical(input("Villa", "Europe/Stockholm", "SE3", "20"), None)]
    #[case::default_time_zone(input("Villa", " ", "SE3", "20"), None)]
    #[case::lowercase_area(input("Villa", "", "se4", "25"), None)]
    #[case::name_missing(input("  ", "", "SE3", "20"), Some("name"))]
    #[case::name_too_long(input(&"n".repeat(101), "", "SE3", "20"), Some("name"))]
    #[case::unknown_area(input("Villa", "", "SE5", "20"), Some("price_area"))]
    #[case::fuse_not_a_number(input("Villa", "", "SE3", "twenty"), Some("main_fuse_a"))]
    #[case::fuse_decimal(input("Villa", "", "SE3", "20.5"), Some("main_fuse_a"))]
    #[case::fuse_too_small(input("Villa", "", "SE3", "5"), Some("main_fuse_a"))]
    #[case::fuse_too_large(input("Villa", "", "SE3", "401"), Some("main_fuse_a"))]
    #[case::fuse_negative(input("Villa", "", "SE3", "-20"), Some("main_fuse_a"))]
    fn validation(#[case] input: SiteInput, #[case] failing_field: Option<&str>) {
        assert_eq!(input.validate().err().map(|e| e.field), failing_field);
    }

    #[test]
    fn valid_site_is_trimmed_and_defaulted() {
        let site = input("  Villa Ek ", "", "se3", " 25 ").validate().unwrap();
        assert_eq!(site.name, "Villa Ek");
        assert_eq!(site.time_zone, DEFAULT_TIME_ZONE);
        assert_eq!(site.price_area, PriceArea::SE3);
        assert_eq!(site.main_fuse_a, 25);
    }
}
