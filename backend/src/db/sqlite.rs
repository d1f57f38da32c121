use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use model::site::SiteInvitation;
use model::site::{Kept, ValidSite};
use model::{
    Account, ActiveLicence, Capability, PriceArea, Role, SiteAccess, SiteDetails, SiteMember,
    SiteSummary,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, FromRow, SqliteConnection, SqlitePool};
use std::sync::Arc;

use super::{Credentials, LeftBehindRow, LeftThing, MintedLicence, StoreError, conflict_or_error};

/// The embedded default: one SQLite file in WAL mode.
#[derive(Clone)]
pub struct SqliteRepo {
    pool: SqlitePool,
    /// For the forwarders' own bookkeeping (their facts, their leases): `synchronous = NORMAL`,
    /// which survives a crash but may lose the last commits to a power cut — harmless for what
    /// the next update rebuilds — and holds the one write lock for less time than a full sync,
    /// which the readings' writer would otherwise wait out.
    state_pool: SqlitePool,
    /// The connection readings are written through: `synchronous = FULL`, one writer at a time.
    writer: Arc<tokio::sync::Mutex<SqliteConnection>>,
    /// How to open the writer again after a failure.
    writer_options: SqliteConnectOptions,
    /// Why the last write of readings failed, until one succeeds.
    writer_problem: Arc<std::sync::Mutex<Option<String>>>,
    /// Rollups not yet written (`sqlite_monitors.rs`); touched only under the writer's lock.
    behind: Arc<std::sync::Mutex<super::sqlite_monitors::Behind>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

impl SqliteRepo {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_writing_rollups_every(url, super::sqlite_monitors::WRITE_ROLLUPS_EVERY).await
    }

    /// [`Self::connect`], with the rollups kept in memory up to `every` before they are written
    /// (tests: a crash before they were).
    pub async fn connect_writing_rollups_every(
        url: &str,
        every: Duration,
    ) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            // WAL: readers never block the writer. FULL: every commit is on disk before it is
            // acknowledged, so an account, a site change or a redeemed licence survives a power
            // cut, not only a crash (NORMAL would survive a SIGKILL, as the page cache does).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let state_pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options.clone().synchronous(SqliteSynchronous::Normal))
            .await?;
        let writer_options = options.synchronous(SqliteSynchronous::Full);
        let mut writer = writer_options.connect().await?;
        let behind = super::sqlite_monitors::catch_up_rollups(&mut writer, every).await?;
        Ok(Self {
            pool,
            state_pool,
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            writer_options,
            writer_problem: Arc::new(std::sync::Mutex::new(None)),
            behind: Arc::new(std::sync::Mutex::new(behind)),
        })
    }

    /// The rollups not yet written; only under the writer's lock.
    pub(super) fn behind(&self) -> std::sync::MutexGuard<'_, super::sqlite_monitors::Behind> {
        self.behind.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn writer(&self) -> &tokio::sync::Mutex<SqliteConnection> {
        &self.writer
    }

    /// After a write failed on the disk: a fresh connection (whatever state the failure left
    /// the old one in goes with it), and the reason kept for `/readyz` until a write succeeds.
    pub(super) async fn writer_failed(&self, conn: &mut SqliteConnection, why: String) {
        tracing::error!(error = %why, "storing readings failed; reconnecting the writer");
        match self.writer_options.connect().await {
            Ok(fresh) => {
                let old = std::mem::replace(conn, fresh);
                drop(old);
            }
            Err(e) => tracing::error!(error = %e, "reconnecting the readings' writer failed"),
        }
        *self
            .writer_problem
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    pub(super) fn writer_ok(&self) {
        let mut problem = self
            .writer_problem
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if problem.take().is_some() {
            tracing::info!("storing readings works again");
        }
    }

    pub(super) fn writer_problem_now(&self) -> Option<String> {
        self.writer_problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(super) fn state_pool(&self) -> &SqlitePool {
        &self.state_pool
    }
}

async fn insert_site(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    owner_id: i64,
    site: &ValidSite,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sites (owner_id, name, address, time_zone, price_area, main_fuse_a)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(owner_id)
    .bind(&site.name)
    .bind(&site.address)
    .bind(&site.time_zone)
    .bind(site.price_area.as_str())
    .bind(i64::from(site.main_fuse_a))
    .fetch_one(&mut **tx)
    .await?)
}

/// Whether `e` is the disk's fault (full, I/O), not the request's.
pub(super) fn is_storage_failure(e: &StoreError) -> bool {
    match e {
        StoreError::Sqlx(sqlx::Error::Io(_)) | StoreError::WriteFailed(_) => true,
        StoreError::Sqlx(sqlx::Error::Database(db)) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            // SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB
            .is_some_and(|c| matches!(c & 0xff, 10 | 11 | 13 | 14 | 26)),
        _ => false,
    }
}

#[derive(FromRow)]
struct AccountRow {
    id: i64,
    email: String,
    role: String,
    password_hash: String,
}

impl AccountRow {
    fn into_credentials(self) -> Result<Credentials, StoreError> {
        let role = Role::parse(&self.role)
            .map_err(|_| StoreError::Corrupt(format!("account {} role", self.id)))?;
        Ok(Credentials {
            account: Account {
                id: self.id,
                email: self.email,
                role,
            },
            password_hash: self.password_hash,
        })
    }
}

#[derive(FromRow)]
struct SiteRow {
    id: i64,
    name: String,
    address: String,
    time_zone: String,
    price_area: String,
    main_fuse_a: i64,
    owner_email: String,
    invited: Option<String>,
    is_owner: bool,
}

impl SiteRow {
    fn into_details(self) -> Result<SiteDetails, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("site {} {what}", self.id));
        Ok(SiteDetails {
            id: self.id,
            price_area: PriceArea::parse(&self.price_area).map_err(|_| corrupt("price_area"))?,
            main_fuse_a: u16::try_from(self.main_fuse_a).map_err(|_| corrupt("main_fuse_a"))?,
            access: if self.is_owner {
                SiteAccess::Owner
            } else {
                SiteAccess::Installer
            },
            name: self.name,
            address: self.address,
            time_zone: self.time_zone,
            owner_email: self.owner_email,
            invited: self.invited,
        })
    }
}

/// A unique-constraint violation is [`StoreError::Conflict`]; anything else is a database error.
/// Sites `?1` may see: owned, or granted. `is_owner` tells which.
const VISIBLE_SITES: &str = "
    SELECT s.id, s.name, s.address, s.time_zone, s.price_area, s.main_fuse_a,
           o.email AS owner_email, i.email AS invited, s.owner_id = ?1 AS is_owner
    FROM sites s JOIN accounts o ON o.id = s.owner_id
    LEFT JOIN site_invitations i ON i.site_id = s.id
    WHERE s.owner_id = ?1
       OR EXISTS (SELECT 1 FROM site_grants g WHERE g.site_id = s.id AND g.account_id = ?1)";

#[async_trait]
impl super::AccountRepo for SqliteRepo {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(
        &self,
        email: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<Account, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (email, password_hash, role) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or_error)?;
        Ok(Account {
            id,
            email: email.to_string(),
            role,
        })
    }

    async fn credentials_by_email(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        sqlx::query_as::<_, AccountRow>(
            "SELECT id, email, role, password_hash FROM accounts WHERE email = ?",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?
        .map(AccountRow::into_credentials)
        .transpose()
    }

    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        Ok(sqlx::query_as::<_, AccountRow>(
            "SELECT id, email, role, password_hash FROM accounts WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(AccountRow::into_credentials)
        .transpose()?
        .map(|c| c.account))
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.credentials_by_email(email).await?.map(|c| c.account))
    }
}

#[async_trait]
impl super::SiteRepo for SqliteRepo {
    async fn create_site(&self, owner_id: i64, site: &ValidSite) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_site(&mut tx, owner_id, site).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn create_invited_site(
        &self,
        installer_id: i64,
        site: &ValidSite,
        email: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_site(&mut tx, installer_id, site).await?;
        sqlx::query("INSERT INTO site_invitations (site_id, email, invited_by) VALUES (?, ?, ?)")
            .bind(id)
            .bind(email)
            .bind(installer_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn invitations_for(&self, email: &str) -> Result<Vec<SiteInvitation>, StoreError> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT s.id, s.name, s.address, a.email FROM site_invitations i
             JOIN sites s ON s.id = i.site_id JOIN accounts a ON a.id = i.invited_by
             WHERE i.email = ? ORDER BY i.created_at, s.id",
        )
        .bind(email)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(site_id, site_name, address, installer_email)| SiteInvitation {
                    site_id,
                    site_name,
                    address,
                    installer_email,
                },
            )
            .collect())
    }

    async fn answer_invitation(
        &self,
        site_id: i64,
        account_id: i64,
        email: &str,
        accept: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let installer: Option<i64> = sqlx::query_scalar(
            "DELETE FROM site_invitations WHERE site_id = ? AND email = ? RETURNING invited_by",
        )
        .bind(site_id)
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(installer) = installer else {
            return Ok(false);
        };
        if accept {
            sqlx::query("UPDATE sites SET owner_id = ? WHERE id = ?")
                .bind(account_id)
                .bind(site_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO site_grants (site_id, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(site_id)
            .bind(installer)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn site_access(
        &self,
        account_id: i64,
        site_id: i64,
    ) -> Result<Option<SiteAccess>, StoreError> {
        let is_owner: Option<bool> = sqlx::query_scalar(
            "SELECT s.owner_id = ?1 FROM sites s
             WHERE s.id = ?2 AND (s.owner_id = ?1
                OR EXISTS (SELECT 1 FROM site_grants g WHERE g.site_id = s.id AND g.account_id = ?1))",
        )
        .bind(account_id)
        .bind(site_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(is_owner.map(|owner| {
            if owner {
                SiteAccess::Owner
            } else {
                SiteAccess::Installer
            }
        }))
    }

    async fn site_for(
        &self,
        account_id: i64,
        site_id: i64,
    ) -> Result<Option<SiteDetails>, StoreError> {
        sqlx::query_as::<_, SiteRow>(&format!("SELECT * FROM ({VISIBLE_SITES}) WHERE id = ?2"))
            .bind(account_id)
            .bind(site_id)
            .fetch_optional(&self.pool)
            .await?
            .map(SiteRow::into_details)
            .transpose()
    }

    async fn sites_for(&self, account_id: i64) -> Result<Vec<SiteSummary>, StoreError> {
        sqlx::query_as::<_, SiteRow>(&format!(
            "{VISIBLE_SITES} ORDER BY s.name COLLATE NOCASE, s.id"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            let d = row.into_details()?;
            Ok(SiteSummary {
                id: d.id,
                name: d.name,
                address: d.address,
                price_area: d.price_area,
                main_fuse_a: d.main_fuse_a,
                access: d.access,
            })
        })
        .collect()
    }

    async fn update_site(&self, site_id: i64, site: &ValidSite) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sites SET name = ?, address = ?, time_zone = ?, price_area = ?, main_fuse_a = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
        )
        .bind(&site.name)
        .bind(&site.address)
        .bind(&site.time_zone)
        .bind(site.price_area.as_str())
        .bind(i64::from(site.main_fuse_a))
        .bind(site_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_site(&self, site_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sites WHERE id = ?")
            .bind(site_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn grant(&self, site_id: i64, account_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO site_grants (site_id, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(site_id)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn revoke(&self, site_id: i64, account_id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM site_grants WHERE site_id = ? AND account_id = ?")
            .bind(site_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn members(&self, site_id: i64) -> Result<Vec<SiteMember>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT a.id, a.email FROM site_grants g JOIN accounts a ON a.id = g.account_id
             WHERE g.site_id = ? ORDER BY a.email",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(account_id, email)| SiteMember { account_id, email })
            .collect())
    }

    async fn left_behind(&self, site_id: i64) -> Result<Vec<LeftBehindRow>, StoreError> {
        type Row = (String, i64, String, i64, String, Option<String>, bool);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT 'reporter', a.id, a.email, r.id, r.name,
                    CASE r.kind WHEN 'open_reporter' THEN r.update_url END, r.paused
             FROM reporters r JOIN sites s ON s.id = r.site_id
             JOIN accounts a ON a.id = r.created_by
             WHERE r.site_id = ?1 AND r.created_by <> s.owner_id
             UNION ALL
             SELECT 'monitor', a.id, a.email, m.id, m.name, NULL, 0
             FROM monitors m JOIN sites s ON s.id = m.site_id
             JOIN accounts a ON a.id = m.token_seen_by
             WHERE m.site_id = ?1 AND m.token_seen_by <> s.owner_id
             ORDER BY 3, 1 DESC, 5",
        )
        .bind(site_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(what, account_id, email, id, name, partner, paused)| {
                let thing = if what == "reporter" {
                    LeftThing::Reporter(model::site::LeftReporter {
                        id,
                        name,
                        partner,
                        paused,
                    })
                } else {
                    LeftThing::Monitor(model::site::LeftMonitor { id, name })
                };
                LeftBehindRow {
                    account_id,
                    email,
                    thing,
                }
            })
            .collect())
    }

    async fn keep_left_behind(
        &self,
        site_id: i64,
        owner_id: i64,
        kept: Kept,
    ) -> Result<bool, StoreError> {
        let (sql, id) = match kept {
            Kept::Reporter(id) => (
                "UPDATE reporters SET created_by = ? WHERE id = ? AND site_id = ?",
                id,
            ),
            Kept::MonitorToken(id) => (
                "UPDATE monitors SET token_seen_by = ? WHERE id = ? AND site_id = ?",
                id,
            ),
        };
        let done = sqlx::query(sql)
            .bind(owner_id)
            .bind(id)
            .bind(site_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl super::LicenceRepo for SqliteRepo {
    async fn record_minted_licence(
        &self,
        serial: i64,
        code: &str,
        capability: Capability,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO licences_minted (serial, code, capability) VALUES (?, ?, ?)")
            .bind(serial)
            .bind(code)
            .bind(capability.as_str())
            .execute(&self.pool)
            .await
            .map_err(conflict_or_error)?;
        Ok(())
    }

    async fn minted_licences(&self) -> Result<Vec<MintedLicence>, StoreError> {
        let rows: Vec<(String, String, String, Option<String>, bool)> = sqlx::query_as(
            "SELECT m.code, m.capability, m.minted_at, a.email,
                    EXISTS (SELECT 1 FROM licence_revocations v WHERE v.serial = m.serial)
             FROM licences_minted m
             LEFT JOIN licence_redemptions r ON r.serial = m.serial
             LEFT JOIN accounts a ON a.id = r.account_id
             ORDER BY m.minted_at DESC, m.code",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(code, capability, minted_at, redeemed_by, revoked)| MintedLicence {
                    code,
                    capability,
                    minted_at,
                    redeemed_by,
                    revoked,
                },
            )
            .collect())
    }

    async fn redeem_licence(
        &self,
        serial: i64,
        code: &str,
        capability: Capability,
        account_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO licence_redemptions (serial, code, capability, account_id) VALUES (?, ?, ?, ?)")
            .bind(serial)
            .bind(code)
            .bind(capability.as_str())
            .bind(account_id)
            .execute(&self.pool)
            .await
            .map_err(conflict_or_error)?;
        Ok(())
    }

    async fn licence_holder(&self, serial: i64) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT account_id FROM licence_redemptions WHERE serial = ?")
                .bind(serial)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn licence_revoked(&self, serial: i64) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM licence_revocations WHERE serial = ?)",
            )
            .bind(serial)
            .fetch_one(&self.pool)
            .await?,
        )
    }

    async fn licence_minted(&self, serial: i64) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM licences_minted WHERE serial = ?)")
                .bind(serial)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn revoke_licence(&self, serial: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO licence_revocations (serial) VALUES (?) ON CONFLICT DO NOTHING",
        )
        .bind(serial)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn active_licences(&self, account_id: i64) -> Result<Vec<ActiveLicence>, StoreError> {
        type Row = (
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.capability, r.code, r.redeemed_at, rep.id, rep.name, s.name
             FROM licence_redemptions r
             LEFT JOIN reporters rep ON rep.licence_serial = r.serial
             LEFT JOIN sites s ON s.id = rep.site_id
             WHERE r.account_id = ?
               AND NOT EXISTS (SELECT 1 FROM licence_revocations v WHERE v.serial = r.serial)
             ORDER BY r.redeemed_at",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(capability, code, redeemed_at, id, name, site)| {
                let capability = Capability::parse(&capability)
                    .ok_or_else(|| StoreError::Corrupt(format!("licence {code} capability")))?;
                Ok(ActiveLicence {
                    capability,
                    code,
                    redeemed_at,
                    used_by: id
                        .zip(name)
                        .map(|(id, name)| (id, name, site.unwrap_or_default())),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection commits with `synchronous = FULL` (2): the SIGKILL test cannot tell
    /// (the page cache survives a killed process), so this checks the setting itself.
    #[tokio::test]
    async fn every_commit_waits_for_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let repo = SqliteRepo::connect(&url).await.unwrap();
        let writer: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *repo.writer().lock().await)
            .await
            .unwrap();
        assert_eq!(writer, 2, "the readings' writer");
        for _ in 0..8 {
            let mut conn = repo.pool().acquire().await.unwrap();
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(level, 2, "a pool connection (accounts, sites, licences)");
        }
        let state: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(repo.state_pool())
            .await
            .unwrap();
        assert_eq!(state, 1, "the forwarders' bookkeeping: NORMAL");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(repo.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
