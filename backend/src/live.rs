//! Fan-out of newly stored readings to the live streams watching a monitor, in this process.
//! Only committed readings are published, so a stream never shows what a restart would lose;
//! a stream that falls behind (or reconnects) catches up from the database by `seq`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use model::monitor::LivePoint;
use tokio::sync::broadcast;

/// Batches a slow viewer may fall behind before it re-reads from the database.
const CAPACITY: usize = 256;

/// A reading and its Server-Sent Event, framed once for every viewer.
#[derive(Debug, Clone)]
pub struct Framed {
    pub point: LivePoint,
    pub event: Bytes,
}

impl Framed {
    pub fn new(point: LivePoint) -> Self {
        let data = serde_json::to_string(&point).unwrap_or_default();
        Self {
            point,
            event: Bytes::from(format!("id: {}\ndata: {data}\n\n", point.seq)),
        }
    }
}

pub type Points = Arc<[Framed]>;

#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<i64, broadcast::Sender<Points>>>,
}

impl Hub {
    pub fn subscribe(&self, monitor_id: i64) -> broadcast::Receiver<Points> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(monitor_id)
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }

    /// Frames and sends new readings to the monitor's viewers; nothing when nobody watches, so
    /// ingest pays for framing only for monitors someone has open.
    pub fn publish(&self, monitor_id: i64, points: &[LivePoint]) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sender) = channels.get(&monitor_id) else {
            return;
        };
        if sender.receiver_count() == 0 {
            channels.remove(&monitor_id);
            return;
        }
        let framed: Points = points.iter().copied().map(Framed::new).collect();
        if sender.send(framed).is_err() {
            channels.remove(&monitor_id);
        }
    }
}
