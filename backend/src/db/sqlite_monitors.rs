//! [`MonitorRepo`] on SQLite. Readings are written through one dedicated connection with
//! `synchronous = FULL`: a commit is on disk before the ingest API answers.
//!
//! Rollups are written behind: a reading is one row, and its rollup buckets are merged in
//! memory ([`Behind`]) and written about once a second ([`WRITE_ROLLUPS_EVERY`]) and before any
//! read of them, with the newest reading they count (`rollup_progress`). After a crash the
//! readings above that are counted again from the raw rows when the repo opens
//! ([`catch_up_rollups`]). The rollup upserts were most of the writer's work: one reading a
//! request went from 18,900 to over 20,000 requests/s (BENCHMARKS.md).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use model::MonitorKind;
use model::monitor::{LivePoint, Resolution, ValidMonitor};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::monitors::{DeviceRecord, MonitorRecord, MonitorRepo, WriteJob};
use super::rows::{INTERVAL_SAMPLE, MonitorRow, RollupRow, usual_interval};
use super::{SqliteRepo, StoreError};
use crate::readings::Reading;
use crate::rollup::{Agg, aggregate};

const MONITORS: &str = "
    SELECT m.id, m.site_id, s.name AS site_name, m.name, m.phases, m.kind,
           coalesce(s.total_monitor_id = m.id, 0) AS is_total, m.last_ts,
           s.time_zone, s.main_fuse_a
    FROM monitors m JOIN sites s ON s.id = m.site_id";

impl SqliteRepo {
    /// Writes the rollups kept in memory (under the writer's lock, which `conn` is). A copy is
    /// written and the buckets are cleared only once it is committed: a read whose request is
    /// dropped half-way (the client went away) loses nothing. Nothing else changes them
    /// meanwhile: every writer of them holds the writer's lock.
    async fn write_rollups(&self, conn: &mut SqliteConnection) -> Result<(), StoreError> {
        let (buckets, counted) = {
            let behind = self.behind();
            if behind.buckets.is_empty() {
                return Ok(());
            }
            (behind.buckets.clone(), behind.counted)
        };
        upsert_rollups(conn, &buckets, counted).await?;
        let mut behind = self.behind();
        behind.buckets.clear();
        behind.written_at = Instant::now();
        Ok(())
    }

    async fn records(&self, rows: Vec<MonitorRow>) -> Result<Vec<MonitorRecord>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let times = self.recent_times(row.id, INTERVAL_SAMPLE).await?;
            out.push(row.into_record(usual_interval(&times))?);
        }
        Ok(out)
    }
}

/// How long rollups may wait in memory before they are written.
pub(super) const WRITE_ROLLUPS_EVERY: Duration = Duration::from_secs(1);

type Buckets = HashMap<(i64, Resolution, i64), Agg>;

/// The rollups not yet written, and the numbering of readings.
pub(crate) struct Behind {
    buckets: Buckets,
    /// The newest reading (`seq`) the buckets count, with the rollups table.
    counted: i64,
    /// The `seq` the next reading gets: always above every reading's and `rollup_progress`'s,
    /// so readings the rollups table does not count yet are exactly those above its `seq`
    /// (SQLite would reuse the numbers of deleted newest rows).
    next_seq: i64,
    written_at: Instant,
    every: Duration,
}

fn merge_into(into: &mut Buckets, from: Buckets) {
    for (key, agg) in from {
        into.entry(key).and_modify(|a| a.merge(&agg)).or_insert(agg);
    }
}

/// When the repo opens: counts the readings the rollups table lacks (a crash before they were
/// written) and writes them. The numbering of readings goes on above everything stored.
pub(super) async fn catch_up_rollups(
    conn: &mut SqliteConnection,
    every: Duration,
) -> Result<Behind, StoreError> {
    let counted: i64 = sqlx::query_scalar("SELECT seq FROM rollup_progress WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let rows: Vec<ReadingRow> = sqlx::query_as(
        "SELECT r.seq, r.monitor_id, r.ts, r.i1, r.i2, r.i3, r.v1, r.v2, r.v3, r.p1, r.p2, r.p3,
                r.import_kwh, r.export_kwh, r.derived, s.time_zone
         FROM readings r JOIN monitors m ON m.id = r.monitor_id JOIN sites s ON s.id = m.site_id
         WHERE r.seq > ? ORDER BY r.seq",
    )
    .bind(counted)
    .fetch_all(&mut *conn)
    .await?;
    let newest: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM readings")
        .fetch_one(&mut *conn)
        .await?;
    let mut behind = Behind {
        buckets: HashMap::new(),
        counted,
        next_seq: counted.max(newest.unwrap_or(0)) + 1,
        written_at: Instant::now(),
        every,
    };
    if !rows.is_empty() {
        let mut by_monitor: HashMap<i64, (String, Vec<Reading>)> = HashMap::new();
        for row in rows {
            behind.counted = behind.counted.max(row.seq);
            let entry = by_monitor
                .entry(row.monitor_id)
                .or_insert_with(|| (row.time_zone.clone(), Vec::new()));
            entry.1.push(row.reading());
        }
        tracing::info!(
            readings = by_monitor.values().map(|(_, r)| r.len()).sum::<usize>(),
            "counting readings the rollups lacked (the server stopped before writing them)"
        );
        for (monitor_id, (zone, readings)) in by_monitor {
            let tz = jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC);
            for ((resolution, start), agg) in aggregate(&tz, &readings) {
                behind.buckets.insert((monitor_id, resolution, start), agg);
            }
        }
        upsert_rollups(conn, &behind.buckets, behind.counted).await?;
        behind.buckets.clear();
    }
    Ok(behind)
}

/// Writes `buckets` and the newest reading they count, in one transaction; buckets of a
/// monitor deleted meanwhile are dropped.
async fn upsert_rollups(
    conn: &mut SqliteConnection,
    buckets: &Buckets,
    counted: i64,
) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // First a write, so the write lock is held before the monitors are read.
    sqlx::query("UPDATE rollup_progress SET seq = max(seq, ?) WHERE id = 1")
        .bind(counted)
        .execute(&mut *tx)
        .await?;
    let alive: HashSet<i64> = sqlx::query_scalar::<_, i64>("SELECT id FROM monitors")
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let buckets: Vec<_> = buckets
        .iter()
        .filter(|((monitor_id, _, _), _)| alive.contains(monitor_id))
        .collect();
    // Many buckets per statement: a sparse backfill (one reading a minute) makes one minute
    // bucket per reading.
    for chunk in buckets.chunks(ROLLUPS_PER_UPSERT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(INSERT_ROLLUPS);
        query.push_values(chunk, |mut row, ((monitor_id, resolution, start), agg)| {
            row.push_bind(*monitor_id)
                .push_bind(resolution.code())
                .push_bind(*start)
                .push_bind(agg.n)
                .push_bind(agg.ts_min)
                .push_bind(agg.ts_max);
            for c in agg.current {
                row.push_bind(c.map(|c| c.0))
                    .push_bind(c.map(|c| c.1))
                    .push_bind(c.map(|c| c.2));
            }
            row.push_bind(agg.p_sum)
                .push_bind(agg.import.map(|e| e.0))
                .push_bind(agg.import.map(|e| e.1))
                .push_bind(agg.export.map(|e| e.0))
                .push_bind(agg.export.map(|e| e.1));
        });
        query.push(MERGE_ROLLUPS);
        query.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A stored reading with its site's time zone (counting it again after a crash).
#[derive(sqlx::FromRow)]
struct ReadingRow {
    seq: i64,
    monitor_id: i64,
    ts: i64,
    i1: Option<f64>,
    i2: Option<f64>,
    i3: Option<f64>,
    v1: Option<f64>,
    v2: Option<f64>,
    v3: Option<f64>,
    p1: Option<f64>,
    p2: Option<f64>,
    p3: Option<f64>,
    import_kwh: Option<f64>,
    export_kwh: Option<f64>,
    derived: bool,
    time_zone: String,
}

impl ReadingRow {
    fn reading(&self) -> Reading {
        Reading {
            ts: self.ts,
            current_a: [self.i1, self.i2, self.i3],
            voltage_v: [self.v1, self.v2, self.v3],
            power_w: [self.p1, self.p2, self.p3],
            import_kwh: self.import_kwh,
            export_kwh: self.export_kwh,
            derived: self.derived,
        }
    }
}

/// Columns of one reading row; 15 binds each, so a statement stays far below SQLite's limit of
/// 32,766 variables.
const ROWS_PER_INSERT: usize = 1000;
/// Rollup rows per upsert: 20 binds each.
const ROLLUPS_PER_UPSERT: usize = 800;

/// Merges a batch's aggregate into the stored row: the same arithmetic as [`Agg::merge`].
/// SQLite's two-argument min/max return NULL when either side is NULL, hence the coalesces.
const INSERT_ROLLUPS: &str = "
    INSERT INTO rollups (monitor_id, period, start, n, ts_min, ts_max,
        i1_min, i1_max, i1_sum, i2_min, i2_max, i2_sum, i3_min, i3_max, i3_sum,
        p_sum, import_min, import_max, export_min, export_max) ";
const MERGE_ROLLUPS: &str = "
    ON CONFLICT (monitor_id, period, start) DO UPDATE SET
        n = n + excluded.n,
        ts_min = min(ts_min, excluded.ts_min),
        ts_max = max(ts_max, excluded.ts_max),
        i1_min = min(coalesce(i1_min, excluded.i1_min), coalesce(excluded.i1_min, i1_min)),
        i1_max = max(coalesce(i1_max, excluded.i1_max), coalesce(excluded.i1_max, i1_max)),
        i1_sum = coalesce(i1_sum, 0) + coalesce(excluded.i1_sum, 0),
        i2_min = min(coalesce(i2_min, excluded.i2_min), coalesce(excluded.i2_min, i2_min)),
        i2_max = max(coalesce(i2_max, excluded.i2_max), coalesce(excluded.i2_max, i2_max)),
        i2_sum = CASE WHEN i2_sum IS NULL AND excluded.i2_sum IS NULL THEN NULL
                      ELSE coalesce(i2_sum, 0) + coalesce(excluded.i2_sum, 0) END,
        i3_min = min(coalesce(i3_min, excluded.i3_min), coalesce(excluded.i3_min, i3_min)),
        i3_max = max(coalesce(i3_max, excluded.i3_max), coalesce(excluded.i3_max, i3_max)),
        i3_sum = CASE WHEN i3_sum IS NULL AND excluded.i3_sum IS NULL THEN NULL
                      ELSE coalesce(i3_sum, 0) + coalesce(excluded.i3_sum, 0) END,
        p_sum = p_sum + excluded.p_sum,
        import_min = min(coalesce(import_min, excluded.import_min), coalesce(excluded.import_min, import_min)),
        import_max = max(coalesce(import_max, excluded.import_max), coalesce(excluded.import_max, import_max)),
        export_min = min(coalesce(export_min, excluded.export_min), coalesce(excluded.export_min, export_min)),
        export_max = max(coalesce(export_max, excluded.export_max), coalesce(excluded.export_max, export_max))";

/// Stores `jobs` with as few statements as there can be: one multi-row INSERT per 1,000
/// readings of all the jobs together (numbered from `next_seq` on), one UPDATE of the monitors'
/// newest times. A statement costs thread hand-offs in sqlx's SQLite driver, more than the work
/// itself for the one-reading requests of real meters, so this is what makes the single writer
/// keep up with thousands of requests a second. Per job: the readings that were new; a
/// (monitor, time) stored before, or by an earlier job of the same group, is skipped. Also the
/// rollup buckets of what was new, for [`Behind`].
async fn store_jobs(
    conn: &mut SqliteConnection,
    jobs: &[&WriteJob],
    next_seq: &mut i64,
) -> Result<(Vec<Vec<LivePoint>>, Buckets), StoreError> {
    // Each (monitor, time) goes to the first job that has it, as if the jobs ran in turn.
    let mut owner: HashMap<(i64, i64), usize> = HashMap::new();
    let mut rows: Vec<(i64, &crate::readings::Reading)> = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        for r in &job.readings {
            if let std::collections::hash_map::Entry::Vacant(e) =
                owner.entry((job.monitor_id, r.ts))
            {
                e.insert(j);
                rows.push((job.monitor_id, r));
            }
        }
    }
    let by_key: HashMap<(i64, i64), &crate::readings::Reading> =
        rows.iter().map(|(m, r)| ((*m, r.ts), *r)).collect();
    let mut inserted: Vec<Vec<LivePoint>> = vec![Vec::new(); jobs.len()];
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO readings (seq, monitor_id, ts, i1, i2, i3, v1, v2, v3, p1, p2, p3, \
             import_kwh, export_kwh, derived) ",
        );
        let first = *next_seq;
        *next_seq += chunk.len() as i64;
        query.push_values(
            chunk.iter().zip(first..),
            |mut row, ((monitor_id, r), seq)| {
                row.push_bind(seq).push_bind(*monitor_id).push_bind(r.ts);
                for i in r.current_a {
                    row.push_bind(i);
                }
                for v in r.voltage_v {
                    row.push_bind(v);
                }
                for p in r.power_w {
                    row.push_bind(p);
                }
                row.push_bind(r.import_kwh)
                    .push_bind(r.export_kwh)
                    .push_bind(r.derived);
            },
        );
        query.push(" ON CONFLICT (monitor_id, ts) DO NOTHING RETURNING seq, monitor_id, ts");
        let stored: Vec<(i64, i64, i64)> = query.build_query_as().fetch_all(&mut *conn).await?;
        for (seq, monitor_id, ts) in stored {
            if let (Some(j), Some(r)) =
                (owner.get(&(monitor_id, ts)), by_key.get(&(monitor_id, ts)))
            {
                inserted[*j].push(LivePoint {
                    seq,
                    ts,
                    i: r.current_a,
                });
            }
        }
    }
    // Rollups of what was new, per monitor in its site's time zone, merged across the jobs.
    let mut buckets: Buckets = HashMap::new();
    let mut newest: HashMap<i64, i64> = HashMap::new();
    for (job, points) in jobs.iter().zip(inserted.iter_mut()) {
        if points.is_empty() {
            continue;
        }
        points.sort_unstable_by_key(|p| p.seq);
        let fresh = points
            .iter()
            .filter_map(|p| by_key.get(&(job.monitor_id, p.ts)).copied());
        for ((resolution, start), agg) in aggregate(&job.tz, fresh) {
            buckets
                .entry((job.monitor_id, resolution, start))
                .and_modify(|a| a.merge(&agg))
                .or_insert(agg);
        }
        let last = points.iter().map(|p| p.ts).max().unwrap_or(i64::MIN);
        newest
            .entry(job.monitor_id)
            .and_modify(|t| *t = (*t).max(last))
            .or_insert(last);
    }
    let newest: Vec<(i64, i64)> = newest.into_iter().collect();
    for chunk in newest.chunks(ROWS_PER_INSERT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE monitors SET last_ts = max(coalesce(last_ts, v.column2), v.column2) FROM (",
        );
        query.push_values(chunk, |mut row, (id, ts)| {
            row.push_bind(*id).push_bind(*ts);
        });
        query.push(") AS v WHERE monitors.id = v.column1");
        query.build().execute(&mut *conn).await?;
    }
    Ok((inserted, buckets))
}

#[async_trait]
impl MonitorRepo for SqliteRepo {
    async fn create_monitor(
        &self,
        monitor: &ValidMonitor,
        token_hash: &[u8],
        seen_by: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO monitors (site_id, name, phases, kind, token_hash, token_seen_by)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(monitor.site_id)
        .bind(&monitor.name)
        .bind(i64::from(monitor.phases))
        .bind(monitor.kind.as_str())
        .bind(token_hash)
        .bind(seen_by)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE sites SET total_monitor_id = ? WHERE id = ? AND total_monitor_id IS NULL",
        )
        .bind(id)
        .bind(monitor.site_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn monitors_for(&self, account_id: i64) -> Result<Vec<MonitorRecord>, StoreError> {
        let rows: Vec<MonitorRow> = sqlx::query_as(&format!(
            "{MONITORS}
             WHERE s.owner_id = ?1
                OR EXISTS (SELECT 1 FROM site_grants g WHERE g.site_id = s.id AND g.account_id = ?1)
             ORDER BY s.name, m.name, m.id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        self.records(rows).await
    }

    async fn monitor(&self, monitor_id: i64) -> Result<Option<MonitorRecord>, StoreError> {
        let rows: Vec<MonitorRow> = sqlx::query_as(&format!("{MONITORS} WHERE m.id = ?"))
            .bind(monitor_id)
            .fetch_all(self.pool())
            .await?;
        Ok(self.records(rows).await?.pop())
    }

    async fn total_monitor(&self, site_id: i64) -> Result<Option<MonitorRecord>, StoreError> {
        let rows: Vec<MonitorRow> = sqlx::query_as(&format!(
            "{MONITORS} WHERE s.id = ? AND s.total_monitor_id = m.id"
        ))
        .bind(site_id)
        .fetch_all(self.pool())
        .await?;
        Ok(self.records(rows).await?.pop())
    }

    async fn device(&self, monitor_id: i64) -> Result<Option<DeviceRecord>, StoreError> {
        let row: Option<(i64, i64, String, Vec<u8>, String)> = sqlx::query_as(
            "SELECT m.id, m.phases, m.kind, m.token_hash, s.time_zone
             FROM monitors m JOIN sites s ON s.id = m.site_id WHERE m.id = ?",
        )
        .bind(monitor_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(id, phases, kind, token_hash, time_zone)| {
            let corrupt = || StoreError::Corrupt(format!("monitor {id}"));
            Ok(DeviceRecord {
                id,
                phases: u8::try_from(phases).map_err(|_| corrupt())?,
                kind: MonitorKind::parse(&kind).map_err(|_| corrupt())?,
                token_hash,
                time_zone,
            })
        })
        .transpose()
    }

    async fn set_token(
        &self,
        monitor_id: i64,
        token_hash: &[u8],
        seen_by: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE monitors SET token_hash = ?, token_seen_by = ? WHERE id = ?")
            .bind(token_hash)
            .bind(seen_by)
            .bind(monitor_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn set_total_monitor(&self, site_id: i64, monitor_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sites SET total_monitor_id = ?1
             WHERE id = ?2 AND EXISTS (SELECT 1 FROM monitors WHERE id = ?1 AND site_id = ?2)",
        )
        .bind(monitor_id)
        .bind(site_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn delete_monitor(&self, monitor_id: i64) -> Result<(), StoreError> {
        // Readings and rollups go with it (ON DELETE CASCADE); in one transaction through the
        // writer so no ingest batch interleaves.
        let mut conn = self.writer().lock().await;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query("DELETE FROM monitors WHERE id = ?")
            .bind(monitor_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recent_times(&self, monitor_id: i64, count: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT ts FROM readings WHERE monitor_id = ? ORDER BY ts DESC LIMIT ?",
        )
        .bind(monitor_id)
        .bind(count)
        .fetch_all(self.pool())
        .await?)
    }

    fn writer_problem(&self) -> Option<String> {
        self.writer_problem_now()
    }

    async fn store_readings(
        &self,
        jobs: &[WriteJob],
    ) -> Result<Vec<Result<Vec<LivePoint>, StoreError>>, StoreError> {
        let mut conn = self.writer().lock().await;
        let mut next_seq = self.behind().next_seq;
        let outcome = store_group(&mut conn, jobs, &mut next_seq).await;
        self.behind().next_seq = next_seq;
        let failure = match &outcome {
            Err(e) => Some(e.to_string()),
            Ok((results, _)) => results.iter().find_map(|r| match r {
                Err(e) if super::sqlite::is_storage_failure(e) => Some(e.to_string()),
                _ => None,
            }),
        };
        let outcome = outcome.map(|(results, buckets)| {
            let mut behind = self.behind();
            let newest = results.iter().flatten().flatten().map(|p| p.seq).max();
            behind.counted = behind.counted.max(newest.unwrap_or(0));
            merge_into(&mut behind.buckets, buckets);
            results
        });
        match failure {
            Some(why) => self.writer_failed(&mut conn, why).await,
            None => self.writer_ok(),
        }
        // The rollups, once a second: their write is not the readings' (those are on disk), so a
        // failure here is logged and they are written with the next.
        let due = {
            let behind = self.behind();
            !behind.buckets.is_empty() && behind.written_at.elapsed() >= behind.every
        };
        if due && let Err(e) = self.write_rollups(&mut conn).await {
            tracing::error!(error = %e, "writing rollups failed; kept in memory for the next try");
        }
        outcome
    }

    async fn live_points(
        &self,
        monitor_id: i64,
        after_seq: i64,
        since: i64,
        limit: i64,
    ) -> Result<Vec<LivePoint>, StoreError> {
        let rows: Vec<(i64, i64, Option<f64>, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT seq, ts, i1, i2, i3 FROM readings
             WHERE monitor_id = ? AND seq > ? AND ts >= ? ORDER BY seq LIMIT ?",
        )
        .bind(monitor_id)
        .bind(after_seq)
        .bind(since)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, ts, i1, i2, i3)| LivePoint {
                seq,
                ts,
                i: [i1, i2, i3],
            })
            .collect())
    }

    async fn latest_point(&self, monitor_id: i64) -> Result<Option<LivePoint>, StoreError> {
        let row: Option<(i64, i64, Option<f64>, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT seq, ts, i1, i2, i3 FROM readings WHERE monitor_id = ? ORDER BY ts DESC LIMIT 1",
        )
        .bind(monitor_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(seq, ts, i1, i2, i3)| LivePoint {
            seq,
            ts,
            i: [i1, i2, i3],
        }))
    }

    async fn rollups(
        &self,
        monitor_id: i64,
        resolution: Resolution,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, Agg)>, StoreError> {
        // What is still in memory is written first: a read sees every acknowledged reading.
        if !self.behind().buckets.is_empty() {
            let mut conn = self.writer().lock().await;
            // (Empty again if another read wrote them while this one waited for the lock.)
            self.write_rollups(&mut conn).await?;
        }
        let rows: Vec<RollupRow> = sqlx::query_as(
            "SELECT start, n, ts_min, ts_max, i1_min, i1_max, i1_sum, i2_min, i2_max, i2_sum,
                    i3_min, i3_max, i3_sum, p_sum, import_min, import_max, export_min, export_max
             FROM rollups WHERE monitor_id = ? AND period = ? AND start >= ? AND start < ?
             ORDER BY start",
        )
        .bind(monitor_id)
        .bind(resolution.code())
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(RollupRow::into_agg).collect())
    }

    async fn delete_raw_before(&self, cutoff: i64) -> Result<u64, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM monitors")
            .fetch_all(self.pool())
            .await?;
        let mut deleted = 0;
        for id in ids {
            // Per monitor, so the (monitor_id, ts) index does the work; through the writer so
            // ingest batches are not kept waiting on a busy lock.
            let mut conn = self.writer().lock().await;
            deleted += sqlx::query("DELETE FROM readings WHERE monitor_id = ? AND ts < ?")
                .bind(id)
                .bind(cutoff)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }
}

type GroupOutcome = (Vec<Result<Vec<LivePoint>, StoreError>>, Buckets);

/// One group of jobs in one transaction; should one fail (its monitor was just deleted, say),
/// each on its own under a savepoint, so the others are stored. With the rollup buckets of what
/// was committed.
async fn store_group(
    conn: &mut sqlx::SqliteConnection,
    jobs: &[WriteJob],
    next_seq: &mut i64,
) -> Result<GroupOutcome, StoreError> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let all: Vec<&WriteJob> = jobs.iter().collect();
    let mut together = sqlx::Connection::begin(&mut *tx).await?;
    match store_jobs(&mut together, &all, next_seq).await {
        Ok((stored, buckets)) => {
            together.commit().await?;
            tx.commit().await?;
            return Ok((stored.into_iter().map(Ok).collect(), buckets));
        }
        Err(_) if jobs.len() > 1 => together.rollback().await?,
        Err(e) => {
            together.rollback().await?;
            tx.commit().await?;
            return Ok((vec![Err(e)], HashMap::new()));
        }
    }
    let mut results = Vec::with_capacity(jobs.len());
    let mut committed: Buckets = HashMap::new();
    for job in jobs {
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        match store_jobs(&mut savepoint, &[job], next_seq).await {
            Ok((mut points, buckets)) => {
                savepoint.commit().await?;
                results.push(Ok(points.remove(0)));
                merge_into(&mut committed, buckets);
            }
            Err(e) => {
                savepoint.rollback().await?;
                results.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok((results, committed))
}
