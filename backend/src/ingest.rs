//! The write path of readings: requests queue their readings to one writer, which stores
//! whatever has queued up in one transaction (group commit: one fsync for many requests), then
//! answers each request and publishes the new readings to the live streams (here, and through
//! the bus to the other processes).
//!
//! The writer is a task the server supervises ([`Ingestor::run`]): if it dies, the requests it
//! was storing are answered with an error (never acknowledged), `/readyz` says so
//! ([`Ingestor::is_running`]) until it runs again, and queued requests wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use model::monitor::LivePoint;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::bus::{Bus, Event};
use crate::db::{MonitorRepo, StoreError, WriteJob};
use crate::live::Hub;

/// Most readings one transaction takes; more wait for the next.
const MAX_GROUP_READINGS: usize = 50_000;
/// Requests that may wait for the writer before new ones wait for room.
const QUEUE: usize = 1024;

struct Pending {
    job: WriteJob,
    reply: oneshot::Sender<Result<Vec<LivePoint>, StoreError>>,
}

#[derive(Clone)]
pub struct Ingestor {
    queue: mpsc::Sender<Pending>,
    writer: Arc<Writer>,
}

struct Writer {
    repo: Arc<dyn MonitorRepo>,
    hub: Arc<Hub>,
    bus: Arc<dyn Bus>,
    /// The queue's far end: one writer at a time holds it.
    pending: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    running: AtomicBool,
}

/// Marks the writer running for as long as it is alive (a panic unwinds through it too).
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Ingestor {
    /// The queue and its writer, not yet running.
    pub fn new(repo: Arc<dyn MonitorRepo>, hub: Arc<Hub>, bus: Arc<dyn Bus>) -> Self {
        let (queue, pending) = mpsc::channel::<Pending>(QUEUE);
        Self {
            queue,
            writer: Arc::new(Writer {
                repo,
                hub,
                bus,
                pending: tokio::sync::Mutex::new(pending),
                running: AtomicBool::new(false),
            }),
        }
    }

    /// Whether the writer runs (readiness).
    pub fn is_running(&self) -> bool {
        self.writer.running.load(Ordering::Acquire)
    }

    /// Runs the writer on a task of its own for as long as the process lives: for tools and
    /// tests without the server's supervisor.
    pub fn spawn_detached(&self) {
        let this = self.clone();
        // Ready from now: requests queue until the task below takes them.
        self.writer.running.store(true, Ordering::Release);
        tokio::spawn(async move { this.run(CancellationToken::new()).await });
    }

    /// Stores what requests queue until `stop`.
    pub async fn run(&self, stop: CancellationToken) -> anyhow::Result<()> {
        let w = &self.writer;
        let mut rx = w.pending.lock().await;
        w.running.store(true, Ordering::Release);
        let _running = Running(&w.running);
        loop {
            let first = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                first = rx.recv() => match first {
                    Some(first) => first,
                    None => return Ok(()),
                },
            };
            let mut readings = first.job.readings.len();
            let mut group = vec![first];
            while readings < MAX_GROUP_READINGS {
                match rx.try_recv() {
                    Ok(next) => {
                        readings += next.job.readings.len();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            let (jobs, replies): (Vec<WriteJob>, Vec<_>) =
                group.into_iter().map(|p| (p.job, p.reply)).unzip();
            match w.repo.store_readings(&jobs).await {
                Ok(results) => {
                    for ((job, reply), result) in jobs.iter().zip(replies).zip(results) {
                        if let Ok(points) = &result
                            && !points.is_empty()
                        {
                            w.announce(job.monitor_id, points);
                        }
                        let _ = reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, requests = replies.len(), "storing readings failed");
                    let message = e.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(StoreError::WriteFailed(message.clone())));
                    }
                }
            }
        }
    }

    /// Stores the readings durably; answers with the ones that were new, in arrival order.
    pub async fn write(&self, job: WriteJob) -> Result<Vec<LivePoint>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::WriteFailed("the writer has stopped".into());
        self.queue
            .send(Pending { job, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Writer {
    /// Committed readings to this process's viewers and forwarders, and to the others'.
    fn announce(&self, monitor_id: i64, points: &[LivePoint]) {
        let seqs = points.iter().map(|p| p.seq);
        self.bus.publish(Event::Readings {
            monitor_id,
            first: seqs.clone().min().unwrap_or_default(),
            last: seqs.max().unwrap_or_default(),
        });
        self.hub
            .publish(monitor_id, points, jiff::Timestamp::now().as_millisecond());
    }
}
