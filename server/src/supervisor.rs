//! One owner for the server's background tasks (the reporters' forwarding, pruning readings,
//! deleting expired sessions): each runs until the shared cancellation token fires, is started
//! again after a crash (an error or a panic), and [`Supervisor::shutdown`] waits for all of them,
//! so nothing still writes when the database closes.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub struct Supervisor {
    stop: CancellationToken,
    tasks: JoinSet<()>,
}

/// The wait before a crashed task starts again: long enough not to spin on a persistent fault.
const RESTART_AFTER: Duration = Duration::from_secs(1);

impl Supervisor {
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            stop,
            tasks: JoinSet::new(),
        }
    }

    /// Runs `make(stop)` until `stop` fires, starting it again whenever it fails, panics or
    /// returns early.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, make: F)
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            loop {
                let outcome = tokio::spawn(make(stop.clone())).await;
                if stop.is_cancelled() {
                    return;
                }
                match outcome {
                    Ok(Ok(())) => tracing::error!(task = name, "background task ended; restarting it"),
                    Ok(Err(e)) => {
                        tracing::error!(task = name, error = format!("{e:#}"), "background task failed; restarting it");
                    }
                    Err(e) => tracing::error!(task = name, error = %e, "background task panicked; restarting it"),
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(RESTART_AFTER) => {}
                }
            }
        });
    }

    /// Stops every task and waits until each has finished.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_crashed_task_is_started_again_and_shutdown_waits_for_it() {
        let runs = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let mut supervisor = Supervisor::new(CancellationToken::new());
        {
            let (runs, finished) = (runs.clone(), finished.clone());
            supervisor.spawn("flaky", move |stop| {
                let (runs, finished) = (runs.clone(), finished.clone());
                async move {
                    match runs.fetch_add(1, Ordering::SeqCst) {
                        0 => panic!("first run crashes"),
                        1 => anyhow::bail!("second run fails"),
                        _ => {
                            stop.cancelled().await;
                            // Work done on the way out is awaited too.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            finished.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        }
                    }
                }
            });
        }
        while runs.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        supervisor.shutdown().await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(finished.load(Ordering::SeqCst), 1);
    }
}
