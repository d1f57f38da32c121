//! Open live streams end when their viewer loses access: on a sign-out, an installer revoked, a
//! site or monitor deleted (each moves `Services::access_changes`), and at the latest after a
//! periodic re-check (a session that simply expired, a change made by another process).

use std::future::Future;
use std::time::Duration;

use backend::Services;
use model::Account;
use tower_sessions::session::Id;
use tower_sessions::{Session, SessionStore};

use crate::AppState;

/// The longest a stream goes without looking at its viewer's access again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(30);

/// A moment at a random point of the next `every`: the first re-check (or keep-alive) of a
/// stream. Streams opened together (every viewer reconnecting after a restart, a benchmark's
/// ten thousand) would otherwise all do theirs in the same instant, for ever after: 10,000
/// access checks at once held every viewer's next event back by up to a second.
pub fn spread_over(every: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + every.mul_f64(rand::random::<f64>())
}

/// Whether the session `id` still signs in `account_id` (not signed out, not expired).
async fn session_holds(store: &crate::sessions::Store, id: Id, account_id: i64) -> bool {
    match store.load(&id).await {
        Ok(Some(record)) => {
            record.expiry_date > time::OffsetDateTime::now_utc()
                && record
                    .data
                    .get(app::api::ssr::ACCOUNT_KEY)
                    .and_then(|v| v.as_i64())
                    == Some(account_id)
        }
        Ok(None) => false,
        // A database hiccup is not a lost access: look again next time.
        Err(e) => {
            tracing::warn!(error = %e, "re-reading a live stream's session failed");
            true
        }
    }
}

/// Resolves when the viewer signed in to `session` as `actor` may no longer watch: the session
/// ended, the account is gone, or `may_watch` (given the account as it is now) says no.
pub fn lost<F, Fut>(
    state: AppState,
    session: &Session,
    actor: &Account,
    may_watch: F,
) -> impl Future<Output = ()> + Send + 'static
where
    F: Fn(Services, Account) -> Fut + Send + 'static,
    Fut: Future<Output = Result<bool, backend::Error>> + Send + 'static,
{
    let id = session.id();
    let account_id = actor.id;
    watch(state, id, account_id, may_watch)
}

async fn watch<F, Fut>(state: AppState, id: Option<Id>, account_id: i64, may_watch: F)
where
    F: Fn(Services, Account) -> Fut + Send + 'static,
    Fut: Future<Output = Result<bool, backend::Error>> + Send + 'static,
{
    let Some(id) = id else { return };
    let services = state.services.clone();
    let mut changes = services.access_changes.watch(account_id);
    let recheck = tokio::time::sleep_until(spread_over(RECHECK_EVERY));
    tokio::pin!(recheck);
    loop {
        tokio::select! {
            () = changes.changed() => {}
            () = &mut recheck => {
                recheck.as_mut().reset(tokio::time::Instant::now() + RECHECK_EVERY);
            }
        }
        if !session_holds(&state.sessions, id, account_id).await {
            tracing::debug!(account = account_id, "live stream ended: signed out");
            return;
        }
        match backend::accounts::current(&services, account_id).await {
            Ok(None) => return,
            Ok(Some(account)) => match may_watch(services.clone(), account).await {
                Ok(false) => {
                    tracing::debug!(account = account_id, "live stream ended: no access");
                    return;
                }
                Ok(true) => {}
                Err(e) => tracing::warn!(error = %e, "re-checking a live stream's access failed"),
            },
            Err(e) => tracing::warn!(error = %e, "re-checking a live stream's account failed"),
        }
    }
}

/// The end of a live stream: the server shutting down, or the viewer losing access (`lost`,
/// watched on a task of its own, so each delivered event costs one cheap check, not a poll of
/// the watch). The returned future holds the stream's slot and stops the watch when the stream
/// is dropped (the viewer went away).
pub fn stream_end(
    state: &AppState,
    lost: impl Future<Output = ()> + Send + 'static,
    slot: StreamSlot,
) -> impl Future<Output = ()> + Send + 'static {
    let end = state.shutdown.child_token();
    let watching = end.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = watching.cancelled() => {}
            () = lost => watching.cancel(),
        }
    });
    let stop_watching = end.clone().drop_guard();
    async move {
        let _held = (stop_watching, slot);
        end.cancelled_owned().await
    }
}

/// Open live streams, counted per account and in total: one account (a script, a tab left open
/// a hundred times) cannot take the connections and memory everyone else's views need.
pub struct StreamSlots {
    per_account: usize,
    total: usize,
    open: std::sync::Mutex<(usize, std::collections::HashMap<i64, usize>)>,
}

/// One open stream's place; given back when the stream ends.
pub struct StreamSlot {
    slots: std::sync::Arc<StreamSlots>,
    account_id: i64,
}

/// Why a stream was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum NoSlot {
    Account(usize),
    Server,
}

impl StreamSlots {
    pub fn new(per_account: usize, total: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            per_account,
            total,
            open: std::sync::Mutex::new((0, std::collections::HashMap::new())),
        })
    }

    pub fn take(self: &std::sync::Arc<Self>, account_id: i64) -> Result<StreamSlot, NoSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_account) = &mut *open;
        let mine = per_account.entry(account_id).or_insert(0);
        if *mine >= self.per_account {
            return Err(NoSlot::Account(self.per_account));
        }
        if *total >= self.total {
            return Err(NoSlot::Server);
        }
        *mine += 1;
        *total += 1;
        Ok(StreamSlot {
            slots: self.clone(),
            account_id,
        })
    }

    /// Streams open now (all accounts).
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_account) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(mine) = per_account.get_mut(&self.account_id) {
            *mine -= 1;
            if *mine == 0 {
                per_account.remove(&self.account_id);
            }
        }
    }
}

/// The answer when no slot is free: 429, with when to try again.
pub fn refuse(no: NoSlot) -> axum::response::Response {
    let message = match no {
        NoSlot::Account(n) => {
            format!("this account has {n} live views open already: close one and try again")
        }
        NoSlot::Server => {
            "the server has as many live views open as it takes: try again soon".to_string()
        }
    };
    crate::monitors::too_many(message, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_account_and_in_total_and_given_back() {
        let slots = StreamSlots::new(2, 3);
        let a1 = slots.take(1).unwrap();
        let _a2 = slots.take(1).unwrap();
        assert_eq!(slots.take(1).err(), Some(NoSlot::Account(2)));
        let _b1 = slots.take(2).unwrap();
        assert_eq!(slots.take(3).err(), Some(NoSlot::Server));
        drop(a1);
        assert_eq!(slots.open(), 2);
        let _a3 = slots.take(1).unwrap();
    }
}
