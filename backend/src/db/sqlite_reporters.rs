//! [`ReporterRepo`] on SQLite.

use async_trait::async_trait;
use model::Capability;
use model::reporter::{Facts, Problem};
use sqlx::{QueryBuilder, Sqlite};

use super::reporters::{
    DraftRow, ForwardConfig, IssuedSerial, Lease, LeaseCensus, NewReporter, ReporterChanges,
    ReporterRecord, ReporterRepo, StoredFacts, StoredSecret,
};
use super::rows::{ConfigRow, ReporterRow, StoredFactsRow};
use super::{SqliteRepo, StoreError, conflict_or_error};
use crate::secrets::SecretKind;

const REPORTERS: &str = "
    SELECT r.id, r.site_id, s.name AS site_name, s.time_zone, r.kind, r.name, r.monitor_id,
           m.name AS monitor_name, r.main_fuse_a, r.serial, r.pin, r.create_token_url,
           r.update_url, r.username, r.paused,
           st.sent_ts, st.reading_ts, st.accepted_at, st.failed_at, st.problem, st.offline,
           st.failures, st.trouble_since
    FROM reporters r
    JOIN sites s ON s.id = r.site_id
    JOIN monitors m ON m.id = r.monitor_id
    LEFT JOIN reporter_state st ON st.reporter_id = r.id";

/// Ids per `IN (…)` list, far below SQLite's limit of 32,766 variables.
const IDS_PER_QUERY: usize = 1000;
/// Reporters' state rows per upsert: 7 binds each.
const FACTS_PER_UPSERT: usize = 1000;

#[async_trait]
impl ReporterRepo for SqliteRepo {
    async fn issue_serial(
        &self,
        serial: &str,
        pin: &str,
        account_id: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reporter_serials (serial, pin, account_id, issued_at) VALUES (?, ?, ?, ?)",
        )
        .bind(serial)
        .bind(pin)
        .bind(account_id)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(conflict_or_error)?;
        Ok(())
    }

    async fn issued_serial(&self, serial: &str) -> Result<Option<IssuedSerial>, StoreError> {
        let row: Option<(Option<i64>, String, bool)> = sqlx::query_as(
            "SELECT s.account_id, s.pin, EXISTS (SELECT 1 FROM reporters r WHERE r.serial = s.serial)
             FROM reporter_serials s WHERE s.serial = ?",
        )
        .bind(serial)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(account_id, pin, claimed)| IssuedSerial {
            account_id,
            pin,
            claimed,
        }))
    }

    async fn unclaimed_serials(
        &self,
        account_id: i64,
        since_ms: i64,
        limit: i64,
    ) -> Result<i64, StoreError> {
        // Of the newest `limit` only: bounded work however many an installer has had.
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM (
                 SELECT serial FROM reporter_serials WHERE account_id = ? AND issued_at >= ?
                 ORDER BY issued_at DESC LIMIT ?) s
             WHERE NOT EXISTS (SELECT 1 FROM reporters r WHERE r.serial = s.serial)",
        )
        .bind(account_id)
        .bind(since_ms)
        .bind(limit)
        .fetch_one(self.pool())
        .await?)
    }

    async fn free_licence(
        &self,
        account_id: i64,
        capability: Capability,
    ) -> Result<Option<i64>, StoreError> {
        // The newest first: usually the one just redeemed for this reporter, found at once
        // however many older ones are taken.
        Ok(sqlx::query_scalar(&format!(
            "{FREE_LICENCES} ORDER BY l.redeemed_at DESC, l.serial DESC LIMIT 1"
        ))
        .bind(account_id)
        .bind(capability.as_str())
        .fetch_optional(self.pool())
        .await?)
    }

    async fn free_licences(
        &self,
        account_id: i64,
        capability: Capability,
    ) -> Result<usize, StoreError> {
        let serials: Vec<i64> = sqlx::query_scalar(FREE_LICENCES)
            .bind(account_id)
            .bind(capability.as_str())
            .fetch_all(self.pool())
            .await?;
        Ok(serials.len())
    }

    async fn create_reporter(&self, new: &NewReporter) -> Result<i64, StoreError> {
        let target = new.open_reporter.as_ref();
        // The site's count is read in the insert itself: SQLite's one writer makes the two one
        // step, so saves at once cannot pass the cap together.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO reporters (site_id, monitor_id, kind, name, main_fuse_a, serial, pin,
                 licence_serial, create_token_url, update_url, username, password, created_by)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14
             WHERE (SELECT count(*) FROM reporters WHERE site_id = ?1) < ?13
             RETURNING id",
        )
        .bind(new.site_id)
        .bind(new.monitor_id)
        .bind(new.kind.as_str())
        .bind(&new.name)
        .bind(i64::from(new.main_fuse_a))
        .bind(&new.serial)
        .bind(&new.pin)
        .bind(new.licence_serial)
        .bind(target.map(|t| &t.create_token_url))
        .bind(target.map(|t| &t.update_url))
        .bind(target.map(|t| &t.username))
        .bind(target.and_then(|t| t.password.as_ref()))
        .bind(i64::try_from(new.max_on_site).unwrap_or(i64::MAX))
        .bind(new.created_by)
        .fetch_optional(self.pool())
        .await
        .map_err(conflict_or_error)?;
        id.ok_or(StoreError::Full)
    }

    async fn reporter(&self, id: i64) -> Result<Option<ReporterRecord>, StoreError> {
        sqlx::query_as::<_, ReporterRow>(&format!("{REPORTERS} WHERE r.id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(ReporterRow::into_record)
            .transpose()
    }

    async fn reporters_for(&self, account_id: i64) -> Result<Vec<ReporterRecord>, StoreError> {
        sqlx::query_as::<_, ReporterRow>(&format!(
            "{REPORTERS} WHERE s.owner_id = ?1
                OR EXISTS (SELECT 1 FROM site_grants g WHERE g.site_id = s.id AND g.account_id = ?1)
             ORDER BY s.name COLLATE NOCASE, r.name COLLATE NOCASE, r.id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(ReporterRow::into_record)
        .collect()
    }

    async fn reporters_of_site(&self, site_id: i64) -> Result<Vec<ReporterRecord>, StoreError> {
        sqlx::query_as::<_, ReporterRow>(&format!(
            "{REPORTERS} WHERE r.site_id = ? ORDER BY r.name COLLATE NOCASE, r.id"
        ))
        .bind(site_id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(ReporterRow::into_record)
        .collect()
    }

    async fn update_reporter(&self, id: i64, changes: &ReporterChanges) -> Result<(), StoreError> {
        let target = changes.open_reporter.as_ref();
        sqlx::query(
            "UPDATE reporters SET name = ?, main_fuse_a = ?, monitor_id = ?,
                 create_token_url = coalesce(?, create_token_url),
                 update_url = coalesce(?, update_url),
                 username = coalesce(?, username),
                 password = coalesce(?, password),
                 version = version + 1
             WHERE id = ?",
        )
        .bind(&changes.name)
        .bind(i64::from(changes.main_fuse_a))
        .bind(changes.monitor_id)
        .bind(target.map(|t| &t.create_token_url))
        .bind(target.map(|t| &t.update_url))
        .bind(target.map(|t| &t.username))
        .bind(target.and_then(|t| t.password.as_ref()))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn set_paused(&self, id: i64, paused: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE reporters SET paused = ?, version = version + 1 WHERE id = ?")
            .bind(paused)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn set_pin(&self, id: i64, pin: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE reporters SET pin = ?, version = version + 1 WHERE id = ?")
            .bind(pin)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn drafts_for(&self, account_id: i64) -> Result<Vec<DraftRow>, StoreError> {
        type Row = (i64, String, String, Option<String>, Option<String>, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.site_id, s.name, d.fields, rs.serial, rs.pin, d.updated_at
             FROM reporter_drafts d JOIN sites s ON s.id = d.site_id
             LEFT JOIN reporter_serials rs ON rs.serial = d.serial
                 AND NOT EXISTS (SELECT 1 FROM reporters r WHERE r.serial = rs.serial)
             WHERE d.account_id = ?1
               AND (s.owner_id = ?1
                    OR EXISTS (SELECT 1 FROM site_grants g WHERE g.site_id = s.id AND g.account_id = ?1))
             ORDER BY d.updated_at DESC",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(site_id, site_name, fields_json, serial, pin, updated_at)| DraftRow {
                    site_id,
                    site_name,
                    fields_json,
                    serial,
                    pin,
                    updated_at,
                },
            )
            .collect())
    }

    async fn save_draft(
        &self,
        account_id: i64,
        site_id: i64,
        fields_json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reporter_drafts (account_id, site_id, fields, updated_at)
             VALUES (?, ?, ?, ?)
             ON CONFLICT (account_id, site_id) DO UPDATE SET fields = excluded.fields,
                 updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(site_id)
        .bind(fields_json)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn set_draft_serial(
        &self,
        account_id: i64,
        site_id: i64,
        serial: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reporter_drafts (account_id, site_id, fields, serial, updated_at)
             VALUES (?, ?, '{}', ?, ?)
             ON CONFLICT (account_id, site_id) DO UPDATE SET serial = excluded.serial,
                 updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(site_id)
        .bind(serial)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn delete_draft(&self, account_id: i64, site_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM reporter_drafts WHERE account_id = ? AND site_id = ?")
            .bind(account_id)
            .bind(site_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn unsealed_secrets(&self) -> Result<Vec<StoredSecret>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT 'pin', serial, pin FROM reporter_serials
                 WHERE pin IS NOT NULL AND pin NOT LIKE 'v1:%'
             UNION ALL
             SELECT 'pin', serial, pin FROM reporters
                 WHERE pin IS NOT NULL AND pin NOT LIKE 'v1:%'
             UNION ALL
             SELECT 'password', serial, password FROM reporters
                 WHERE password IS NOT NULL AND password NOT LIKE 'v1:%'",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, serial, value)| StoredSecret {
                kind: if kind == "pin" {
                    SecretKind::Pin
                } else {
                    SecretKind::PartnerPassword
                },
                serial,
                value,
            })
            .collect())
    }

    async fn replace_secret(
        &self,
        kind: SecretKind,
        serial: &str,
        old: &str,
        new: &str,
    ) -> Result<(), StoreError> {
        let statements: &[&str] = match kind {
            SecretKind::Pin => &[
                "UPDATE reporter_serials SET pin = ?1 WHERE serial = ?2 AND pin = ?3",
                "UPDATE reporters SET pin = ?1 WHERE serial = ?2 AND pin = ?3",
            ],
            SecretKind::PartnerPassword => {
                &["UPDATE reporters SET password = ?1 WHERE serial = ?2 AND password = ?3"]
            }
        };
        let mut tx = self.pool().begin().await?;
        for statement in statements {
            sqlx::query(statement)
                .bind(new)
                .bind(serial)
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_reporter(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM reporters WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn reporters_of_monitor(&self, monitor_id: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM reporters WHERE monitor_id = ?")
                .bind(monitor_id)
                .fetch_one(self.pool())
                .await?,
        )
    }

    async fn lease_census(&self, holder: &str, now_ms: i64) -> Result<LeaseCensus, StoreError> {
        let (reporters, live, held, first): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM reporters WHERE paused = 0),
                    (SELECT count(*) FROM forwarders WHERE expires_at > ?2 AND holder <> ?1),
                    (SELECT count(*) FROM reporter_leases WHERE holder = ?1),
                    (SELECT count(*) FROM forwarders WHERE expires_at > ?2 AND holder < ?1)",
        )
        .bind(holder)
        .bind(now_ms)
        .fetch_one(self.state_pool())
        .await?;
        Ok(LeaseCensus {
            reporters,
            holders: live + 1,
            held,
            leader: first == 0,
        })
    }

    async fn claim_leases(
        &self,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
        take: i64,
        release: &[i64],
    ) -> Result<Vec<Lease>, StoreError> {
        // Unpaused reporters nobody holds, or whose holder stopped renewing. Looked for first, outside
        // the write (the write lock is the readings' writer's most of the time); the INSERT's
        // SELECT has a WHERE, which also tells SQLite's parser that ON CONFLICT is the INSERT's.
        let free: Option<i64> = if take > 0 {
            sqlx::query_scalar(&format!("{UNHELD} LIMIT 1"))
                .bind(now_ms)
                .fetch_optional(self.state_pool())
                .await?
        } else {
            None
        };
        let mut tx = self.state_pool().begin().await?;
        // Renewing is one row, however many reporters this process holds.
        sqlx::query(
            "INSERT INTO forwarders (holder, expires_at) VALUES (?1, ?2)
             ON CONFLICT (holder) DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(holder)
        .bind(now_ms + ttl_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM reporter_leases WHERE holder = ?
               AND reporter_id IN (SELECT id FROM reporters WHERE paused = 1)",
        )
        .bind(holder)
        .execute(&mut *tx)
        .await?;
        for chunk in release.chunks(IDS_PER_QUERY) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("DELETE FROM reporter_leases WHERE holder = ");
            query.push_bind(holder).push(" AND reporter_id IN (");
            let mut ids = query.separated(", ");
            for id in chunk {
                ids.push_bind(id);
            }
            query.push(")");
            query.build().execute(&mut *tx).await?;
        }
        if free.is_some() {
            // One new generation for every lease taken in this claim.
            let generation: i64 =
                sqlx::query_scalar("UPDATE lease_generations SET n = n + 1 RETURNING n")
                    .fetch_one(&mut *tx)
                    .await?;
            sqlx::query(
                "INSERT INTO reporter_leases (reporter_id, holder, generation)
                 SELECT r.id, ?1, ?4 FROM reporters r
                 LEFT JOIN reporter_leases l ON l.reporter_id = r.id
                 LEFT JOIN forwarders f ON f.holder = l.holder
                 WHERE r.paused = 0 AND (l.reporter_id IS NULL OR f.expires_at IS NULL OR f.expires_at <= ?2)
                 ORDER BY r.id LIMIT ?3
                 ON CONFLICT (reporter_id) DO UPDATE
                     SET holder = excluded.holder, generation = excluded.generation",
            )
            .bind(holder)
            .bind(now_ms)
            .bind(take)
            .bind(generation)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        // Read after the write lock is let go: nobody else takes a lease this holder renewed.
        let held: Vec<Lease> = sqlx::query_as(
            "SELECT r.id, r.version, l.generation
             FROM reporter_leases l JOIN reporters r ON r.id = l.reporter_id
             WHERE l.holder = ? ORDER BY r.id",
        )
        .bind(holder)
        .fetch_all(self.state_pool())
        .await?;
        Ok(held)
    }

    async fn release_leases(&self, holder: &str) -> Result<(), StoreError> {
        let mut tx = self.state_pool().begin().await?;
        sqlx::query("DELETE FROM reporter_leases WHERE holder = ?")
            .bind(holder)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM forwarders WHERE holder = ?")
            .bind(holder)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn forward_configs(&self, ids: &[i64]) -> Result<Vec<ForwardConfig>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT r.id, r.version, r.kind, r.site_id, r.monitor_id, m.phases, r.main_fuse_a,
                        r.serial, r.pin, r.create_token_url, r.update_url, r.username, r.password,
                        st.sent_ts, st.reading_ts, st.accepted_at, st.failed_at, st.problem,
                        st.offline, st.failures, st.trouble_since
                 FROM reporters r JOIN monitors m ON m.id = r.monitor_id
                 LEFT JOIN reporter_state st ON st.reporter_id = r.id
                 WHERE r.id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            query.push(")");
            for row in query
                .build_query_as::<ConfigRow>()
                .fetch_all(self.pool())
                .await?
            {
                out.push(row.into_config()?);
            }
        }
        Ok(out)
    }

    async fn save_facts(
        &self,
        holder: &str,
        facts: &[(Lease, Facts)],
    ) -> Result<Vec<i64>, StoreError> {
        if facts.is_empty() {
            return Ok(Vec::new());
        }
        let mut stored = Vec::with_capacity(facts.len());
        let mut tx = self.state_pool().begin().await?;
        for chunk in facts.chunks(FACTS_PER_UPSERT) {
            // Written only where this holder still has the lease of that generation (fencing);
            // a reporter deleted meanwhile has no lease, so nothing is written for it either.
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "WITH v (id, generation, sent_ts, reading_ts, accepted_at, failed_at, problem,
                         offline, failures, trouble_since) AS (",
            );
            query.push_values(chunk, |mut row, (lease, f)| {
                row.push_bind(lease.id)
                    .push_bind(lease.generation)
                    .push_bind(f.sent_ts)
                    .push_bind(f.reading_ts)
                    .push_bind(f.accepted_at)
                    .push_bind(f.failed_at)
                    .push_bind(f.problem.as_ref().map(Problem::code))
                    .push_bind(f.offline)
                    .push_bind(i64::from(f.failures))
                    .push_bind(f.trouble_since);
            });
            query.push(
                ") INSERT INTO reporter_state (reporter_id, sent_ts, reading_ts, accepted_at,
                     failed_at, problem, offline, failures, trouble_since)
                 SELECT v.id, v.sent_ts, v.reading_ts, v.accepted_at, v.failed_at, v.problem,
                        v.offline, v.failures, v.trouble_since
                 FROM v JOIN reporter_leases l ON l.reporter_id = v.id AND l.holder = ",
            );
            query.push_bind(holder);
            query.push(
                " AND l.generation = v.generation WHERE 1
                 ON CONFLICT (reporter_id) DO UPDATE SET sent_ts = excluded.sent_ts,
                     reading_ts = excluded.reading_ts, accepted_at = excluded.accepted_at,
                     failed_at = excluded.failed_at, problem = excluded.problem,
                     offline = excluded.offline, failures = excluded.failures,
                     trouble_since = excluded.trouble_since
                 RETURNING reporter_id",
            );
            let ids: Vec<i64> = query.build_query_scalar().fetch_all(&mut *tx).await?;
            stored.extend(ids);
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn stored_facts(&self, ids: &[i64]) -> Result<Vec<StoredFacts>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT r.id, r.site_id, r.paused, st.sent_ts, st.reading_ts, st.accepted_at,
                        st.failed_at, st.problem, st.offline, st.failures, st.trouble_since
                 FROM reporters r LEFT JOIN reporter_state st ON st.reporter_id = r.id
                 WHERE r.id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            query.push(")");
            let rows: Vec<StoredFactsRow> = query.build_query_as().fetch_all(self.pool()).await?;
            out.extend(rows.into_iter().map(StoredFactsRow::into_stored));
        }
        Ok(out)
    }
}

/// Unpaused reporters with no lease, or whose holder stopped renewing (`?1`: now).
const UNHELD: &str = "
    SELECT r.id FROM reporters r
    LEFT JOIN reporter_leases l ON l.reporter_id = r.id
    LEFT JOIN forwarders f ON f.holder = l.holder
    WHERE r.paused = 0 AND (l.reporter_id IS NULL OR f.expires_at IS NULL OR f.expires_at <= ?1)";

/// Licences of `?2` redeemed by `?1`, not revoked, and held by no reporter.
const FREE_LICENCES: &str = "
    SELECT l.serial FROM licence_redemptions l
    WHERE l.account_id = ?1 AND l.capability = ?2
      AND NOT EXISTS (SELECT 1 FROM licence_revocations v WHERE v.serial = l.serial)
      AND NOT EXISTS (SELECT 1 FROM reporters r WHERE r.licence_serial = l.serial)
";
