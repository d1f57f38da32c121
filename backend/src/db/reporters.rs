//! Storage of reporters, the serial numbers handed out for them, the forwarders' state and the
//! leases that say which server process forwards which reporter.

use async_trait::async_trait;
use model::reporter::{Facts, OpenReporterTarget, ReporterKind};
use model::{Capability, Reporter};

use super::StoreError;
use crate::secrets::SecretKind;

/// A reporter with its site's time zone.
#[derive(Debug, Clone)]
pub struct ReporterRecord {
    /// `silent_after_ms` and `clock` are left at 0 for the service to fill in.
    pub reporter: Reporter,
    pub time_zone: String,
}

/// A new reporter row.
#[derive(Debug, Clone)]
pub struct NewReporter {
    pub site_id: i64,
    pub monitor_id: i64,
    pub kind: ReporterKind,
    pub name: String,
    pub main_fuse_a: u16,
    pub serial: String,
    pub pin: Option<String>,
    /// The licence it holds (Charge Amps).
    pub licence_serial: Option<i64>,
    pub open_reporter: Option<OpenReporterTarget>,
    /// The site may have this many reporters at most: saving one more is [`StoreError::Full`].
    pub max_on_site: usize,
    /// Who saved it (an installer's is shown to the owner after a revoke).
    pub created_by: i64,
}

/// The editable part of a reporter.
#[derive(Debug, Clone)]
pub struct ReporterChanges {
    pub name: String,
    pub main_fuse_a: u16,
    pub monitor_id: i64,
    /// Open Reporter; a `None` password keeps the stored one.
    pub open_reporter: Option<OpenReporterTarget>,
}

/// A serial number handed out by the wizard.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedSerial {
    pub account_id: Option<i64>,
    pub pin: String,
    /// A reporter uses it.
    pub claimed: bool,
}

/// A draft as stored: its fields as JSON, and the serial (with its stored PIN) reserved for
/// it unless a reporter took it meanwhile.
#[derive(Debug, Clone)]
pub struct DraftRow {
    pub site_id: i64,
    pub site_name: String,
    pub fields_json: String,
    pub serial: Option<String>,
    pub pin: Option<String>,
    pub updated_at: i64,
}

/// A PIN or partner password as stored, with the serial it belongs to.
pub struct StoredSecret {
    pub kind: SecretKind,
    pub serial: String,
    pub value: String,
}

/// Everything a forwarder needs for one reporter, secrets included: never leaves the server.
#[derive(Clone, PartialEq)]
pub struct ForwardConfig {
    pub id: i64,
    pub version: i64,
    pub kind: ReporterKind,
    pub site_id: i64,
    pub monitor_id: i64,
    pub phases: u8,
    pub main_fuse_a: u16,
    pub serial: String,
    pub pin: Option<String>,
    pub open_reporter: Option<OpenReporterTarget>,
    /// Where the forwarder left off.
    pub facts: Facts,
}

impl std::fmt::Debug for ForwardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardConfig")
            .field("id", &self.id)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .field("monitor_id", &self.monitor_id)
            .field("serial", &self.serial)
            .field("pin", &self.pin.as_ref().map(|_| "***"))
            .field("open_reporter", &self.open_reporter)
            .finish()
    }
}

/// What the leases are divided among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseCensus {
    /// Unpaused reporters.
    pub reporters: i64,
    /// Processes forwarding now (their lease row is not expired), this one included.
    pub holders: i64,
    /// Leases this process holds.
    pub held: i64,
    /// No live process has a name before this one's: it does what one process does for all
    /// (fetching prices).
    pub leader: bool,
}

/// One reporter this process forwards: its settings' version (a change restarts the
/// forwarding) and the lease's generation (every state write names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    pub id: i64,
    pub version: i64,
    pub generation: i64,
}

/// A reporter's stored facts, for a page on another process than the one forwarding it.
#[derive(Debug, Clone)]
pub struct StoredFacts {
    pub id: i64,
    pub site_id: i64,
    pub paused: bool,
    pub facts: Facts,
}

#[async_trait]
pub trait ReporterRepo: Send + Sync + 'static {
    /// Records a serial number as handed out; [`StoreError::Conflict`] when it was before.
    async fn issue_serial(
        &self,
        serial: &str,
        pin: &str,
        account_id: i64,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    async fn issued_serial(&self, serial: &str) -> Result<Option<IssuedSerial>, StoreError>;
    /// Of the newest `limit` serials handed to the account since `since_ms`, how many no
    /// reporter uses.
    async fn unclaimed_serials(
        &self,
        account_id: i64,
        since_ms: i64,
        limit: i64,
    ) -> Result<i64, StoreError>;

    /// A licence of `capability` the account redeemed, not revoked, not held by a reporter.
    async fn free_licence(
        &self,
        account_id: i64,
        capability: Capability,
    ) -> Result<Option<i64>, StoreError>;
    async fn free_licences(
        &self,
        account_id: i64,
        capability: Capability,
    ) -> Result<usize, StoreError>;

    /// [`StoreError::Conflict`] when the serial or the licence is taken.
    async fn create_reporter(&self, new: &NewReporter) -> Result<i64, StoreError>;
    async fn reporter(&self, id: i64) -> Result<Option<ReporterRecord>, StoreError>;
    /// The reporters on every site `account_id` may work on, by site and name.
    async fn reporters_for(&self, account_id: i64) -> Result<Vec<ReporterRecord>, StoreError>;
    async fn reporters_of_site(&self, site_id: i64) -> Result<Vec<ReporterRecord>, StoreError>;
    async fn update_reporter(&self, id: i64, changes: &ReporterChanges) -> Result<(), StoreError>;
    async fn set_paused(&self, id: i64, paused: bool) -> Result<(), StoreError>;
    async fn set_pin(&self, id: i64, pin: &str) -> Result<(), StoreError>;
    /// The account's drafts on sites it may still work on, newest first.
    async fn drafts_for(&self, account_id: i64) -> Result<Vec<DraftRow>, StoreError>;
    /// Creates or replaces the draft's fields (its serial stays).
    async fn save_draft(
        &self,
        account_id: i64,
        site_id: i64,
        fields_json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Reserves `serial` for the draft (creating it when there is none).
    async fn set_draft_serial(
        &self,
        account_id: i64,
        site_id: i64,
        serial: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    async fn delete_draft(&self, account_id: i64, site_id: i64) -> Result<(), StoreError>;
    /// Secrets stored before they were sealed.
    async fn unsealed_secrets(&self) -> Result<Vec<StoredSecret>, StoreError>;
    /// Replaces `old` (as read by [`ReporterRepo::unsealed_secrets`]) with `new` where it is
    /// still stored.
    async fn replace_secret(
        &self,
        kind: SecretKind,
        serial: &str,
        old: &str,
        new: &str,
    ) -> Result<(), StoreError>;
    /// Deletes the reporter; the licence it held is free again.
    async fn delete_reporter(&self, id: i64) -> Result<(), StoreError>;
    /// How many reporters forward the monitor.
    async fn reporters_of_monitor(&self, monitor_id: i64) -> Result<i64, StoreError>;

    /// How many unpaused reporters there are, how many processes forward them (this one
    /// included) and how many `holder` holds: what [`crate::reporters::leases::plan`] divides.
    async fn lease_census(&self, holder: &str, now_ms: i64) -> Result<LeaseCensus, StoreError>;
    /// Renews `holder`'s leases until `now_ms + ttl_ms`, gives up those of `release` (their
    /// forwarding has stopped) and of paused reporters, takes at most `take` unpaused reporters
    /// whose lease is missing or expired (each with a new generation), and answers every lease
    /// `holder` now holds.
    async fn claim_leases(
        &self,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
        take: i64,
        release: &[i64],
    ) -> Result<Vec<Lease>, StoreError>;
    /// Gives up `holder`'s leases (at shutdown), so another process may take them at once.
    async fn release_leases(&self, holder: &str) -> Result<(), StoreError>;
    async fn forward_configs(&self, ids: &[i64]) -> Result<Vec<ForwardConfig>, StoreError>;
    /// Stores the forwarders' state, one transaction for all: a reporter's facts only while
    /// `holder` still holds its lease of that generation (fencing: a process that lost a lease
    /// never overwrites what the next holder wrote). Answers the ids stored.
    async fn save_facts(
        &self,
        holder: &str,
        facts: &[(Lease, Facts)],
    ) -> Result<Vec<i64>, StoreError>;
    /// The stored facts of `ids` (what another process's forwarders last wrote), with each
    /// reporter's site and whether it is paused.
    async fn stored_facts(&self, ids: &[i64]) -> Result<Vec<StoredFacts>, StoreError>;
}
