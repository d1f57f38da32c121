//! Storage behind one interface, [`Repo`], with one implementation per database backend. The
//! backend is chosen from the database URL; start-up runs the embedded migrations and fails if
//! they fail.

pub mod charging;
pub mod monitors;
pub mod postgres;
pub mod reporters;
mod rows;
mod sqlite;
mod sqlite_charging;
mod sqlite_monitors;
mod sqlite_reporters;

use std::sync::Arc;

use async_trait::async_trait;
use model::site::{Kept, ValidSite};
use model::{
    Account, ActiveLicence, Capability, Role, SiteAccess, SiteDetails, SiteMember, SiteSummary,
};

pub use charging::{ChargingRecord, ChargingRepo};
pub use monitors::{DeviceRecord, MonitorRecord, MonitorRepo, SeqRange, WriteJob};
pub use postgres::PgRepo;
pub use reporters::{ForwardConfig, Lease, LeaseCensus, ReporterRecord, ReporterRepo, StoredFacts};
pub use sqlite::SqliteRepo;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated")]
    Conflict,
    /// A cap on rows (reporters on a site) was reached.
    #[error("no room for another")]
    Full,
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"
    )]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("writing readings failed: {0}")]
    WriteFailed(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// A unique constraint's violation as [`StoreError::Conflict`], anything else as it is.
pub(crate) fn conflict_or_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => err.into(),
    }
}

/// One thing on a site that another account created or saw.
#[derive(Debug, Clone)]
pub struct LeftBehindRow {
    pub account_id: i64,
    pub email: String,
    pub thing: LeftThing,
}

#[derive(Debug, Clone)]
pub enum LeftThing {
    Reporter(model::site::LeftReporter),
    Monitor(model::site::LeftMonitor),
}

/// An account row including its password hash; never leaves the server.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account: Account,
    pub password_hash: String,
}

/// Accounts and their credentials.
#[async_trait]
pub trait AccountRepo: Send + Sync + 'static {
    /// Cheap round trip, for the readiness check.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Fails with [`StoreError::Conflict`] when the e-mail address is taken.
    async fn create_account(
        &self,
        email: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<Account, StoreError>;
    async fn credentials_by_email(&self, email: &str) -> Result<Option<Credentials>, StoreError>;
    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError>;
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError>;
}

/// Sites, who may reach them (owner, installers, invitations) and what a revoked installer
/// left behind.
#[async_trait]
pub trait SiteRepo: Send + Sync + 'static {
    /// Creates a site owned by `owner_id`.
    async fn create_site(&self, owner_id: i64, site: &ValidSite) -> Result<i64, StoreError>;
    /// Creates a site held by `installer_id` with an invitation to the household at `email`.
    async fn create_invited_site(
        &self,
        installer_id: i64,
        site: &ValidSite,
        email: &str,
    ) -> Result<i64, StoreError>;
    /// Open invitations to the household at `email`.
    async fn invitations_for(
        &self,
        email: &str,
    ) -> Result<Vec<model::site::SiteInvitation>, StoreError>;
    /// Accepts (the site becomes `account_id`'s, the installer keeps access) or declines the
    /// invitation of `site_id` to `email`; `false` when there is none.
    async fn answer_invitation(
        &self,
        site_id: i64,
        account_id: i64,
        email: &str,
        accept: bool,
    ) -> Result<bool, StoreError>;
    /// How `account_id` reaches `site_id`; `None` for no access or no such site.
    async fn site_access(
        &self,
        account_id: i64,
        site_id: i64,
    ) -> Result<Option<SiteAccess>, StoreError>;
    /// The site as `account_id` sees it; `None` for no access or no such site.
    async fn site_for(
        &self,
        account_id: i64,
        site_id: i64,
    ) -> Result<Option<SiteDetails>, StoreError>;
    /// Every site `account_id` owns or was granted, by name.
    async fn sites_for(&self, account_id: i64) -> Result<Vec<SiteSummary>, StoreError>;
    async fn update_site(&self, site_id: i64, site: &ValidSite) -> Result<(), StoreError>;
    async fn delete_site(&self, site_id: i64) -> Result<(), StoreError>;

    /// Idempotent: granting twice leaves one grant.
    async fn grant(&self, site_id: i64, account_id: i64) -> Result<(), StoreError>;
    /// Returns whether there was a grant to remove.
    async fn revoke(&self, site_id: i64, account_id: i64) -> Result<bool, StoreError>;
    async fn members(&self, site_id: i64) -> Result<Vec<SiteMember>, StoreError>;
    /// The site's reporters created, and monitors whose token was last seen, by accounts other
    /// than its owner.
    async fn left_behind(&self, site_id: i64) -> Result<Vec<LeftBehindRow>, StoreError>;
    /// Makes `kept` the owner's own (it no longer counts as left behind); `false` when it is
    /// not on the site.
    async fn keep_left_behind(
        &self,
        site_id: i64,
        owner_id: i64,
        kept: Kept,
    ) -> Result<bool, StoreError>;
}

/// Integration licences: minted, redeemed, revoked.
#[async_trait]
pub trait LicenceRepo: Send + Sync + 'static {
    /// Records a minted code for the operator's list.
    async fn record_minted_licence(
        &self,
        serial: i64,
        code: &str,
        capability: Capability,
    ) -> Result<(), StoreError>;
    /// Every minted code with who redeemed it and whether it was revoked, newest first.
    async fn minted_licences(&self) -> Result<Vec<MintedLicence>, StoreError>;
    /// Fails with [`StoreError::Conflict`] when the serial was redeemed before (by anyone).
    async fn redeem_licence(
        &self,
        serial: i64,
        code: &str,
        capability: Capability,
        account_id: i64,
    ) -> Result<(), StoreError>;
    async fn licence_holder(&self, serial: i64) -> Result<Option<i64>, StoreError>;
    async fn licence_revoked(&self, serial: i64) -> Result<bool, StoreError>;
    /// Whether this server minted the code with `serial` (and so listed it).
    async fn licence_minted(&self, serial: i64) -> Result<bool, StoreError>;
    /// Returns whether it was not revoked before.
    async fn revoke_licence(&self, serial: i64) -> Result<bool, StoreError>;
    /// The account's redeemed, unrevoked licences.
    async fn active_licences(&self, account_id: i64) -> Result<Vec<ActiveLicence>, StoreError>;
}

/// Accounts, sites and licences together, as most services need them.
pub trait Repo: AccountRepo + SiteRepo + LicenceRepo {}

impl<T: AccountRepo + SiteRepo + LicenceRepo> Repo for T {}

/// A minted licence code as the operator's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedLicence {
    pub code: String,
    pub capability: String,
    pub minted_at: String,
    pub redeemed_by: Option<String>,
    pub revoked: bool,
}

/// An open database: the backend-specific pool, for the pieces that need it (the session store),
/// and the [`Repo`] over it.
#[derive(Clone)]
pub enum Database {
    Sqlite(SqliteRepo),
    Postgres(PgRepo),
}

impl Database {
    /// Opens the database named by `url`, creating it if missing, and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Database::Sqlite(SqliteRepo::connect(url).await?))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Database::Postgres(PgRepo::connect(url).await?))
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    pub fn repo(&self) -> Arc<dyn Repo> {
        match self {
            Database::Sqlite(repo) => Arc::new(repo.clone()),
            Database::Postgres(repo) => Arc::new(repo.clone()),
        }
    }

    pub fn monitor_repo(&self) -> Arc<dyn MonitorRepo> {
        match self {
            Database::Sqlite(repo) => Arc::new(repo.clone()),
            Database::Postgres(repo) => Arc::new(repo.clone()),
        }
    }

    pub fn charging_repo(&self) -> Arc<dyn ChargingRepo> {
        match self {
            Database::Sqlite(repo) => Arc::new(repo.clone()),
            Database::Postgres(repo) => Arc::new(repo.clone()),
        }
    }

    pub fn reporter_repo(&self) -> Arc<dyn ReporterRepo> {
        match self {
            Database::Sqlite(repo) => Arc::new(repo.clone()),
            Database::Postgres(repo) => Arc::new(repo.clone()),
        }
    }

    /// Makes what the database needs ahead of time at `now_ms`: PostgreSQL's partitions of raw
    /// readings for the retention window and the coming days, and of minute rollups for the
    /// coming months (nothing on SQLite). The number made.
    pub async fn prepare(&self, now_ms: i64, retention_days: i64) -> Result<usize, StoreError> {
        match self {
            Database::Sqlite(_) => Ok(0),
            Database::Postgres(repo) => {
                postgres::partitions::ensure(repo.pool(), now_ms, retention_days).await
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(repo) => {
                repo.state_pool().close().await;
                repo.pool().close().await
            }
            Database::Postgres(repo) => repo.pool().close().await,
        }
    }
}

/// A database URL fit for logs and error messages: any password replaced by `***`, in the
/// user info (`postgres://amp:PASSWORD@db/amp`) and in the query, where libpq and sqlx also take
/// one (`postgres://db/amp?user=amp&password=PASSWORD`, `sslpassword=` for a client key).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    // The user info ends at the authority's last `@` (a password may hold one).
    let (authority, path) =
        before_query.split_at(before_query.find('/').unwrap_or(before_query.len()));
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{user}:***@{host}")
        }
        None => authority.to_string(),
    };
    let mut shown = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _))
                    if key.eq_ignore_ascii_case("password")
                        || key.eq_ignore_ascii_case("sslpassword") =>
                {
                    format!("{key}=***")
                }
                _ => pair.to_string(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::sqlite_path("sqlite://data/a.db", "sqlite://data/a.db")]
    #[case::password("postgres://amp:s3cret@db:5432/amp", "postgres://amp:***@db:5432/amp")]
    #[case::user_only("postgres://amp@db/amp", "postgres://amp:***@db/amp")]
    #[case::no_scheme("weird", "weird")]
    #[case::password_with_at("postgres://amp:p@ss@db/amp", "postgres://amp:***@db/amp")]
    #[case::query_password(
        "postgres://db/amp?user=amp&password=s3cret&sslmode=require",
        "postgres://db/amp?user=amp&password=***&sslmode=require"
    )]
    #[case::query_ssl_password(
        "postgres://db/amp?sslpassword=k3y",
        "postgres://db/amp?sslpassword=***"
    )]
    #[case::at_in_query(
        "postgres://db/amp?application_name=a@b",
        "postgres://db/amp?application_name=a@b"
    )]
    fn urls_are_redacted(#[case] url: &str, #[case] shown: &str) {
        assert_eq!(redact_url(url), shown);
    }

    #[tokio::test]
    async fn unsupported_url_is_a_clear_error_without_the_password() {
        let err = Database::connect("mysql://amp:s3cret@db/amp")
            .await
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("mysql://amp:***@db/amp"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
