//! [`MonitorRepo`] on PostgreSQL. Readings of many requests go in one transaction (a group
//! commit, as on SQLite), as one multi-row INSERT per thousand readings; PostgreSQL serialises
//! the rollups' upserts row by row, so processes writing the same monitor's rollups at once
//! merge, never overwrite.

use std::collections::HashMap;

use async_trait::async_trait;
use model::MonitorKind;
use model::monitor::{LivePoint, Resolution, ValidMonitor};
use sqlx::{Postgres, QueryBuilder};

use super::super::monitors::{DeviceRecord, MonitorRecord, MonitorRepo, SeqRange, WriteJob};
use super::super::rows::{INTERVAL_SAMPLE, MonitorRow, RollupRow, usual_interval};
use super::{PgRepo, StoreError};
use crate::rollup::{Agg, aggregate};

const MONITORS: &str = "
    SELECT m.id, m.site_id, s.name AS site_name, m.name, m.phases, m.kind,
           coalesce(s.total_monitor_id = m.id, FALSE) AS is_total, m.last_ts,
           s.time_zone, s.main_fuse_a
    FROM monitors m JOIN sites s ON s.id = m.site_id";

/// Readings per INSERT: 14 binds each, far below PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 1000;
/// Rollup rows per upsert: 20 binds each.
const ROLLUPS_PER_UPSERT: usize = 1000;

/// Merges a batch's aggregate into the stored row: the arithmetic of [`Agg::merge`]. LEAST and
/// GREATEST skip NULLs, so a phase without values keeps the other side's.
const INSERT_ROLLUPS: &str = "
    INSERT INTO rollups (monitor_id, period, start, n, ts_min, ts_max,
        i1_min, i1_max, i1_sum, i2_min, i2_max, i2_sum, i3_min, i3_max, i3_sum,
        p_sum, import_min, import_max, export_min, export_max) ";
const MERGE_ROLLUPS: &str = "
    ON CONFLICT (monitor_id, period, start) DO UPDATE SET
        n = rollups.n + excluded.n,
        ts_min = LEAST(rollups.ts_min, excluded.ts_min),
        ts_max = GREATEST(rollups.ts_max, excluded.ts_max),
        i1_min = LEAST(rollups.i1_min, excluded.i1_min),
        i1_max = GREATEST(rollups.i1_max, excluded.i1_max),
        i1_sum = coalesce(rollups.i1_sum, 0) + coalesce(excluded.i1_sum, 0),
        i2_min = LEAST(rollups.i2_min, excluded.i2_min),
        i2_max = GREATEST(rollups.i2_max, excluded.i2_max),
        i2_sum = CASE WHEN rollups.i2_sum IS NULL AND excluded.i2_sum IS NULL THEN NULL
                      ELSE coalesce(rollups.i2_sum, 0) + coalesce(excluded.i2_sum, 0) END,
        i3_min = LEAST(rollups.i3_min, excluded.i3_min),
        i3_max = GREATEST(rollups.i3_max, excluded.i3_max),
        i3_sum = CASE WHEN rollups.i3_sum IS NULL AND excluded.i3_sum IS NULL THEN NULL
                      ELSE coalesce(rollups.i3_sum, 0) + coalesce(excluded.i3_sum, 0) END,
        p_sum = rollups.p_sum + excluded.p_sum,
        import_min = LEAST(rollups.import_min, excluded.import_min),
        import_max = GREATEST(rollups.import_max, excluded.import_max),
        export_min = LEAST(rollups.export_min, excluded.export_min),
        export_max = GREATEST(rollups.export_max, excluded.export_max)";

impl PgRepo {
    async fn records(&self, rows: Vec<MonitorRow>) -> Result<Vec<MonitorRecord>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            // Only the days around its newest reading: a bound on time lets the planner leave
            // out every other day's partition (planning over a year of them took 40 ms).
            let times = match row.last_ts {
                None => Vec::new(),
                Some(last) => {
                    sqlx::query_scalar(
                        "SELECT ts FROM readings WHERE monitor_id = $1 AND ts >= $2 \
                         ORDER BY ts DESC LIMIT $3",
                    )
                    .bind(row.id)
                    .bind(last - RECENT_WINDOW_MS)
                    .bind(INTERVAL_SAMPLE)
                    .fetch_all(self.pool())
                    .await?
                }
            };
            out.push(row.into_record(usual_interval(&times))?);
        }
        Ok(out)
    }
}

/// How far back from a monitor's newest reading its usual interval is looked for.
const RECENT_WINDOW_MS: i64 = 2 * 24 * 3600 * 1000;

/// Stores `jobs` in the transaction `tx`: per job, the readings that were new (a (monitor,
/// time) stored before, or by an earlier job of the same group, is skipped).
async fn store_jobs(
    tx: &mut sqlx::PgConnection,
    jobs: &[&WriteJob],
) -> Result<Vec<Vec<LivePoint>>, StoreError> {
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
        let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO readings (monitor_id, ts, i1, i2, i3, v1, v2, v3, p1, p2, p3, \
             import_kwh, export_kwh, derived) ",
        );
        query.push_values(chunk, |mut row, (monitor_id, r)| {
            row.push_bind(*monitor_id).push_bind(r.ts);
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
        });
        query.push(" ON CONFLICT (monitor_id, ts) DO NOTHING RETURNING seq, monitor_id, ts");
        let stored: Vec<(i64, i64, i64)> = query.build_query_as().fetch_all(&mut *tx).await?;
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
    let mut buckets: HashMap<(i64, Resolution, i64), Agg> = HashMap::new();
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
    // In a fixed order: two processes upserting the same rows lock them in the same order.
    let mut buckets: Vec<_> = buckets.into_iter().collect();
    buckets.sort_unstable_by_key(|((m, r, s), _)| (*m, r.code(), *s));
    for chunk in buckets.chunks(ROLLUPS_PER_UPSERT) {
        let mut query: QueryBuilder<Postgres> = QueryBuilder::new(INSERT_ROLLUPS);
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
    let mut newest: Vec<(i64, i64)> = newest.into_iter().collect();
    newest.sort_unstable();
    for chunk in newest.chunks(ROWS_PER_INSERT) {
        let mut query: QueryBuilder<Postgres> =
            QueryBuilder::new("UPDATE monitors SET last_ts = GREATEST(last_ts, v.ts) FROM (");
        query.push_values(chunk, |mut row, (id, ts)| {
            row.push_bind(*id).push_bind(*ts);
        });
        query.push(") AS v (id, ts) WHERE monitors.id = v.id");
        query.build().execute(&mut *tx).await?;
    }
    Ok(inserted)
}

/// One group of jobs in one transaction; should one fail (its monitor was just deleted, say),
/// each on its own under a savepoint, so the others are stored.
async fn store_group(
    repo: &PgRepo,
    jobs: &[WriteJob],
) -> Result<Vec<Result<Vec<LivePoint>, StoreError>>, StoreError> {
    let mut tx = repo.pool().begin().await?;
    let all: Vec<&WriteJob> = jobs.iter().collect();
    let mut together = sqlx::Connection::begin(&mut *tx).await?;
    match store_jobs(&mut together, &all).await {
        Ok(stored) => {
            together.commit().await?;
            tx.commit().await?;
            return Ok(stored.into_iter().map(Ok).collect());
        }
        Err(_) if jobs.len() > 1 => together.rollback().await?,
        Err(e) => {
            together.rollback().await?;
            tx.commit().await?;
            return Ok(vec![Err(e)]);
        }
    }
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        match store_jobs(&mut savepoint, &[job])
            .await
            .map(|mut s| s.remove(0))
        {
            Ok(points) => {
                savepoint.commit().await?;
                results.push(Ok(points));
            }
            Err(e) => {
                savepoint.rollback().await?;
                results.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// Whether `e` is the database being unavailable (gone, full, read-only), not the request.
fn is_storage_failure(e: &StoreError) -> bool {
    match e {
        StoreError::Sqlx(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut) => true,
        StoreError::WriteFailed(_) => true,
        StoreError::Sqlx(sqlx::Error::Database(db)) => db.code().is_some_and(|c| {
            // Class 53: insufficient resources (disk full, out of memory); 57: operator
            // intervention (shutdown); 08: connection exceptions; 25006: read-only.
            c.starts_with("53") || c.starts_with("57") || c.starts_with("08") || c == "25006"
        }),
        _ => false,
    }
}

#[async_trait]
impl MonitorRepo for PgRepo {
    async fn create_monitor(
        &self,
        monitor: &ValidMonitor,
        token_hash: &[u8],
        seen_by: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO monitors (site_id, name, phases, kind, token_hash, token_seen_by)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
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
            "UPDATE sites SET total_monitor_id = $1 WHERE id = $2 AND total_monitor_id IS NULL",
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
             WHERE s.owner_id = $1
                OR EXISTS (SELECT 1 FROM site_grants g WHERE g.site_id = s.id AND g.account_id = $1)
             ORDER BY s.name, m.name, m.id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        self.records(rows).await
    }

    async fn monitor(&self, monitor_id: i64) -> Result<Option<MonitorRecord>, StoreError> {
        let rows: Vec<MonitorRow> = sqlx::query_as(&format!("{MONITORS} WHERE m.id = $1"))
            .bind(monitor_id)
            .fetch_all(self.pool())
            .await?;
        Ok(self.records(rows).await?.pop())
    }

    async fn total_monitor(&self, site_id: i64) -> Result<Option<MonitorRecord>, StoreError> {
        let rows: Vec<MonitorRow> = sqlx::query_as(&format!(
            "{MONITORS} WHERE s.id = $1 AND s.total_monitor_id = m.id"
        ))
        .bind(site_id)
        .fetch_all(self.pool())
        .await?;
        Ok(self.records(rows).await?.pop())
    }

    async fn device(&self, monitor_id: i64) -> Result<Option<DeviceRecord>, StoreError> {
        let row: Option<(i64, i64, String, Vec<u8>, String)> = sqlx::query_as(
            "SELECT m.id, m.phases, m.kind, m.token_hash, s.time_zone
             FROM monitors m JOIN sites s ON s.id = m.site_id WHERE m.id = $1",
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
        sqlx::query("UPDATE monitors SET token_hash = $1, token_seen_by = $2 WHERE id = $3")
            .bind(token_hash)
            .bind(seen_by)
            .bind(monitor_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn set_total_monitor(&self, site_id: i64, monitor_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sites SET total_monitor_id = $1
             WHERE id = $2 AND EXISTS (SELECT 1 FROM monitors WHERE id = $1 AND site_id = $2)",
        )
        .bind(monitor_id)
        .bind(site_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn delete_monitor(&self, monitor_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM monitors WHERE id = $1")
            .bind(monitor_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn recent_times(&self, monitor_id: i64, count: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT ts FROM readings WHERE monitor_id = $1 ORDER BY ts DESC LIMIT $2",
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
        let outcome = store_group(self, jobs).await;
        let failure = match &outcome {
            Err(e) if is_storage_failure(e) => Some(e.to_string()),
            Err(_) => None,
            Ok(results) => results.iter().find_map(|r| match r {
                Err(e) if is_storage_failure(e) => Some(e.to_string()),
                _ => None,
            }),
        };
        self.set_writer_problem(failure);
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
             WHERE monitor_id = $1 AND seq > $2 AND ts >= $3 ORDER BY seq LIMIT $4",
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

    async fn live_points_of(
        &self,
        ranges: &[SeqRange],
        since: i64,
        limit: i64,
    ) -> Result<Vec<(i64, LivePoint)>, StoreError> {
        let (ids, (after, upto)): (Vec<i64>, (Vec<i64>, Vec<i64>)) = ranges
            .iter()
            .map(|r| (r.monitor_id, (r.after_seq, r.upto_seq)))
            .unzip();
        // One round trip for every monitor another process wrote to since the last look.
        let rows: Vec<(i64, i64, i64, Option<f64>, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT w.monitor_id, r.seq, r.ts, r.i1, r.i2, r.i3
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS w(monitor_id, after_seq, upto_seq)
             CROSS JOIN LATERAL (
                 SELECT seq, ts, i1, i2, i3 FROM readings
                 WHERE monitor_id = w.monitor_id AND seq > w.after_seq AND seq <= w.upto_seq
                   AND ts >= $4
                 ORDER BY seq LIMIT $5) r
             ORDER BY w.monitor_id, r.seq",
        )
        .bind(&ids)
        .bind(&after)
        .bind(&upto)
        .bind(since)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(monitor_id, seq, ts, i1, i2, i3)| {
                (
                    monitor_id,
                    LivePoint {
                        seq,
                        ts,
                        i: [i1, i2, i3],
                    },
                )
            })
            .collect())
    }

    async fn latest_point(&self, monitor_id: i64) -> Result<Option<LivePoint>, StoreError> {
        // Its time first (kept on the monitor), so the planner looks at one day's partition.
        let last: Option<Option<i64>> =
            sqlx::query_scalar("SELECT last_ts FROM monitors WHERE id = $1")
                .bind(monitor_id)
                .fetch_optional(self.pool())
                .await?;
        let Some(Some(last)) = last else {
            return Ok(None);
        };
        let row: Option<(i64, i64, Option<f64>, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT seq, ts, i1, i2, i3 FROM readings WHERE monitor_id = $1 AND ts >= $2
             ORDER BY ts DESC LIMIT 1",
        )
        .bind(monitor_id)
        .bind(last - RECENT_WINDOW_MS)
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
        let rows: Vec<RollupRow> = sqlx::query_as(
            "SELECT start, n, ts_min, ts_max, i1_min, i1_max, i1_sum, i2_min, i2_max, i2_sum,
                    i3_min, i3_max, i3_sum, p_sum, import_min, import_max, export_min, export_max
             FROM rollups WHERE monitor_id = $1 AND period = $2 AND start >= $3 AND start < $4
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
        // Whole days go as partitions; what is left (the default partition, and the day the
        // cut-off falls in) by rows.
        let dropped = super::partitions::drop_readings_before(self.pool(), cutoff).await?;
        let deleted = sqlx::query("DELETE FROM readings WHERE ts < $1")
            .bind(cutoff)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(dropped + deleted)
    }
}
