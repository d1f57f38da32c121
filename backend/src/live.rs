//! Fan-out in this process, per key: the typed stream of committed readings per monitor (the
//! live pages, framed as Server-Sent Events by the server, and the reporters' forwarders both
//! subscribe), and reporters' status changes per site. Only committed readings are published,
//! so nobody sees what a restart would lose; a subscriber that falls behind (or starts late)
//! catches up from the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use model::monitor::LivePoint;
use model::reporter::ReporterLive;
use tokio::sync::broadcast;

/// Messages a slow subscriber may fall behind before it re-reads from the database.
const CAPACITY: usize = 256;

/// One broadcast channel per key (a monitor, a site), made when someone subscribes and dropped
/// when nobody listens any more.
pub struct Topics<T> {
    channels: Mutex<HashMap<i64, broadcast::Sender<T>>>,
}

impl<T> Default for Topics<T> {
    fn default() -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> Topics<T> {
    pub fn subscribe(&self, key: i64) -> broadcast::Receiver<T> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(key)
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }

    /// Whether anyone here listens to `key`.
    pub fn listened(&self, key: i64) -> bool {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.get(&key).is_some_and(|s| s.receiver_count() > 0)
    }

    /// Sends what `make` makes to the key's subscribers, if it has any (and makes something).
    pub fn publish_with(&self, key: i64, make: impl FnOnce() -> Option<T>) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sender) = channels.get(&key) else {
            return;
        };
        if sender.receiver_count() == 0 {
            channels.remove(&key);
            return;
        }
        if let Some(value) = make()
            && sender.send(value).is_err()
        {
            channels.remove(&key);
        }
    }
}

/// One committed batch of a monitor's readings, in arrival order, with room for the server's
/// framing of them as Server-Sent Events: made once, by the first viewer, for all of them (the
/// framing itself is the server's business).
pub struct Batch {
    pub points: Box<[LivePoint]>,
    framed: std::sync::OnceLock<Box<[bytes::Bytes]>>,
}

impl Batch {
    /// Each point framed by `frame`, computed once per batch.
    pub fn framed(&self, frame: impl Fn(&LivePoint) -> bytes::Bytes) -> &[bytes::Bytes] {
        self.framed
            .get_or_init(|| self.points.iter().map(frame).collect())
    }
}

pub type Points = Arc<Batch>;

/// Committed readings, per monitor.
pub type Hub = Topics<Points>;

/// The most readings one published batch carries: a live view shows 15 minutes (900 readings
/// at one a second); a backfill of days is for the history, not for the stream.
pub const BATCH_MAX: usize = 1000;

/// What of a committed batch a live viewer (or a forwarder, which sends only the newest) can
/// use: readings within the live window, at most [`BATCH_MAX`] of the newest.
pub fn viewable(points: &[LivePoint], now_ms: i64) -> Vec<LivePoint> {
    let from = now_ms - model::monitor::LIVE_WINDOW_MS;
    let mut recent: Vec<LivePoint> = points.iter().filter(|p| p.ts >= from).copied().collect();
    if recent.len() > BATCH_MAX {
        recent.sort_by_key(|p| p.ts);
        recent.drain(..recent.len() - BATCH_MAX);
    }
    recent
}

impl Topics<Points> {
    /// Publishes what viewers can show of `points` (see [`viewable`]), if anything.
    pub fn publish(&self, monitor_id: i64, points: &[LivePoint], now_ms: i64) {
        self.publish_with(monitor_id, || {
            let points = viewable(points, now_ms);
            (!points.is_empty()).then(|| {
                Arc::new(Batch {
                    points: points.into(),
                    framed: std::sync::OnceLock::new(),
                })
            })
        });
    }
}

/// Reporters' status changes, per site.
pub type StatusHub = Topics<Arc<ReporterLive>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn point(seq: i64, ts: i64) -> LivePoint {
        LivePoint {
            seq,
            ts,
            i: [Some(1.0), Some(2.0), Some(3.0)],
        }
    }

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn a_backfill_reaches_viewers_only_as_far_as_they_can_show_it() {
        let hub = Hub::default();
        let mut viewer = hub.subscribe(7);
        // Three hours of readings, one a second, stored in one request.
        let backfill: Vec<LivePoint> = (0..10_800)
            .map(|k| point(k + 1, NOW - 3 * 3_600_000 + k * 1000))
            .collect();
        hub.publish(7, &backfill, NOW);
        let batch = viewer.try_recv().unwrap();
        assert!(batch.points.len() <= BATCH_MAX, "{}", batch.points.len());
        assert_eq!(batch.points.len(), 900, "the last 15 minutes");
        let window_start = NOW - model::monitor::LIVE_WINDOW_MS;
        assert!(batch.points.iter().all(|p| p.ts >= window_start));
        assert_eq!(
            batch.points.last().unwrap().seq,
            10_800,
            "the newest is there"
        );
        // Readings only older than the window publish nothing.
        hub.publish(7, &backfill[..100], NOW);
        assert!(viewer.try_recv().is_err());
    }

    #[test]
    fn a_dense_minute_is_cut_to_the_newest() {
        let dense: Vec<LivePoint> = (0..3000).map(|k| point(k, NOW - 60_000 + k * 20)).collect();
        let kept = viewable(&dense, NOW);
        assert_eq!(kept.len(), BATCH_MAX);
        assert_eq!(kept.first().unwrap().seq, 2000);
    }
}
