//! Types and validation shared by the browser (wasm) and the server.
//!
//! Everything here is pure: no I/O, no clock, no database. Validation returns message keys
//! (`error.*` in `locales/*.json`) so each side can show the user's language.

pub mod account;
pub mod capability;
pub mod charging;
pub mod clock;
pub mod licence;
pub mod monitor;
pub mod reporter;
pub mod site;

pub use account::{Account, Role};
pub use capability::{ActiveLicence, Capability};
pub use monitor::{Monitor, MonitorKind, MonitorStatus};
pub use reporter::{Reporter, ReporterKind, ReporterStatus};
pub use site::{PriceArea, SiteAccess, SiteDetails, SiteInput, SiteMember, SiteSummary};

/// A rejected field: which one, and the message key that says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {key}")]
pub struct FieldError {
    pub field: &'static str,
    pub key: &'static str,
}

impl FieldError {
    pub const fn new(field: &'static str, key: &'static str) -> Self {
        Self { field, key }
    }
}
