//! Storage of monitors, readings and rollups, behind its own trait so the ingest path stays
//! apart from accounts and sites.

use async_trait::async_trait;
use jiff::tz::TimeZone;
use model::monitor::{LivePoint, Resolution, ValidMonitor};
use model::{Monitor, MonitorKind};

use super::StoreError;
use crate::readings::Reading;
use crate::rollup::Agg;

/// A monitor's readings numbered `after_seq < seq <= upto_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    pub monitor_id: i64,
    pub after_seq: i64,
    pub upto_seq: i64,
}

/// A monitor with what its pages need from its site.
#[derive(Debug, Clone)]
pub struct MonitorRecord {
    pub monitor: Monitor,
    pub time_zone: String,
    pub main_fuse_a: u16,
}

/// What the ingest API needs to accept a device's request.
#[derive(Debug, Clone)]
pub struct DeviceRecord {
    pub id: i64,
    pub phases: u8,
    pub kind: MonitorKind,
    pub token_hash: Vec<u8>,
    pub time_zone: String,
}

/// One request's readings, to be stored together with other requests' in one transaction.
#[derive(Debug, Clone)]
pub struct WriteJob {
    pub monitor_id: i64,
    pub tz: TimeZone,
    pub readings: Vec<Reading>,
}

#[async_trait]
pub trait MonitorRepo: Send + Sync + 'static {
    /// Why readings cannot be stored just now (the last write failed on the disk), if so.
    fn writer_problem(&self) -> Option<String>;

    /// Creates the monitor; it becomes the site's total-consumption monitor when the site has
    /// none yet.
    /// `seen_by` is shown its device token.
    async fn create_monitor(
        &self,
        monitor: &ValidMonitor,
        token_hash: &[u8],
        seen_by: i64,
    ) -> Result<i64, StoreError>;
    /// Every monitor on the sites `account_id` may work on, by site and name.
    async fn monitors_for(&self, account_id: i64) -> Result<Vec<MonitorRecord>, StoreError>;
    async fn monitor(&self, monitor_id: i64) -> Result<Option<MonitorRecord>, StoreError>;
    /// The site's total-consumption monitor, if it has one.
    async fn total_monitor(&self, site_id: i64) -> Result<Option<MonitorRecord>, StoreError>;
    async fn device(&self, monitor_id: i64) -> Result<Option<DeviceRecord>, StoreError>;
    /// A new token, shown to `seen_by`.
    async fn set_token(
        &self,
        monitor_id: i64,
        token_hash: &[u8],
        seen_by: i64,
    ) -> Result<(), StoreError>;
    async fn set_total_monitor(&self, site_id: i64, monitor_id: i64) -> Result<(), StoreError>;
    async fn delete_monitor(&self, monitor_id: i64) -> Result<(), StoreError>;
    /// The newest reading times of a monitor, newest first (for its usual interval).
    async fn recent_times(&self, monitor_id: i64, count: i64) -> Result<Vec<i64>, StoreError>;

    /// Stores the jobs' readings and their rollups in one durable transaction. Per job: the
    /// readings that were new (a (monitor, time) seen before is skipped), or that job's error;
    /// the outer error means nothing was stored.
    async fn store_readings(
        &self,
        jobs: &[WriteJob],
    ) -> Result<Vec<Result<Vec<LivePoint>, StoreError>>, StoreError>;
    /// Readings with `seq > after_seq` and `ts >= since`, in arrival order, at most `limit`.
    async fn live_points(
        &self,
        monitor_id: i64,
        after_seq: i64,
        since: i64,
        limit: i64,
    ) -> Result<Vec<LivePoint>, StoreError>;
    /// Several monitors' readings at once (what other processes committed): per range, the
    /// readings with `after_seq < seq <= upto_seq` and `ts >= since`, in arrival order, at most
    /// `limit` per monitor, each with its monitor's id.
    async fn live_points_of(
        &self,
        ranges: &[SeqRange],
        since: i64,
        limit: i64,
    ) -> Result<Vec<(i64, LivePoint)>, StoreError> {
        let mut all = Vec::new();
        for r in ranges {
            let points = self
                .live_points(r.monitor_id, r.after_seq, since, limit)
                .await?;
            all.extend(
                points
                    .into_iter()
                    .filter(|p| p.seq <= r.upto_seq)
                    .map(|p| (r.monitor_id, p)),
            );
        }
        Ok(all)
    }
    /// The monitor's newest reading by time.
    async fn latest_point(&self, monitor_id: i64) -> Result<Option<LivePoint>, StoreError>;
    /// Rollups with `from <= start < to`, oldest first.
    async fn rollups(
        &self,
        monitor_id: i64,
        resolution: Resolution,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, Agg)>, StoreError>;
    /// Deletes raw readings older than `cutoff` (ms UTC); rollups stay. Returns how many.
    async fn delete_raw_before(&self, cutoff: i64) -> Result<u64, StoreError>;
}
