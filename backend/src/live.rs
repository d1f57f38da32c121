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

    /// Sends to the key's subscribers; nothing (not even `make`) when nobody listens.
    pub fn publish_with(&self, key: i64, make: impl FnOnce() -> T) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sender) = channels.get(&key) else {
            return;
        };
        if sender.receiver_count() == 0 || sender.send(make()).is_err() {
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

impl Topics<Points> {
    pub fn publish(&self, monitor_id: i64, points: &[LivePoint]) {
        self.publish_with(monitor_id, || {
            Arc::new(Batch {
                points: points.into(),
                framed: std::sync::OnceLock::new(),
            })
        });
    }
}

/// Reporters' status changes, per site.
pub type StatusHub = Topics<Arc<ReporterLive>>;
