//! The write path of readings: requests queue their readings to one writer task, which stores
//! whatever has queued up in one transaction (group commit: one fsync for many requests), then
//! answers each request and publishes the new readings to the live streams.

use std::sync::Arc;

use model::monitor::LivePoint;
use tokio::sync::{mpsc, oneshot};

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
}

impl Ingestor {
    /// Starts the writer task; it ends when the last `Ingestor` clone is dropped.
    pub fn start(repo: Arc<dyn MonitorRepo>, hub: Arc<Hub>) -> Self {
        let (queue, mut rx) = mpsc::channel::<Pending>(QUEUE);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
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
                match repo.store_readings(&jobs).await {
                    Ok(results) => {
                        for ((job, reply), result) in jobs.iter().zip(replies).zip(results) {
                            if let Ok(points) = &result
                                && !points.is_empty()
                            {
                                hub.publish(
                                    job.monitor_id,
                                    points,
                                    jiff::Timestamp::now().as_millisecond(),
                                );
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
        });
        Self { queue }
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
