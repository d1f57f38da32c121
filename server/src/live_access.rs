//! Open live streams end when their viewer loses access: on a sign-out, an installer revoked, a
//! site or monitor deleted (each moves `Services::access_changes`), and at the latest after a
//! periodic re-check (a session that simply expired, a change made by another process).

use std::future::Future;
use std::time::Duration;

use backend::{Database, Services};
use model::Account;
use tower_sessions::session::Id;
use tower_sessions::{Session, SessionStore};
use tower_sessions_sqlx_store::SqliteStore;

use crate::AppState;

/// The longest a stream goes without looking at its viewer's access again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(30);

/// Whether the session `id` still signs in `account_id` (not signed out, not expired).
async fn session_holds(db: &Database, id: Id, account_id: i64) -> bool {
    let store = match db {
        Database::Sqlite(repo) => SqliteStore::new(repo.pool().clone()),
    };
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
    let mut changes = services.access_changes.subscribe();
    loop {
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::time::sleep(RECHECK_EVERY) => {}
        }
        if !session_holds(&state.db, id, account_id).await {
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
