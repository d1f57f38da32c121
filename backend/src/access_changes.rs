//! Changes that can take access away, told to open live streams so they look at their viewer
//! again: everyone's (a site or monitor deleted, notifications missed) or one account's (a
//! sign-out, an installer revoked). A sign-out wakes only its own account's streams: with
//! thousands of streams open, re-checking every one of them for each sign-out anywhere was a
//! burst of three queries per stream, and every viewer's next event waited behind it.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

pub struct AccessChanges {
    everyone: watch::Sender<u64>,
    accounts: Mutex<Accounts>,
}

#[derive(Default)]
struct Accounts {
    by_id: HashMap<i64, watch::Sender<u64>>,
    /// The map is swept of accounts nobody watches any more when it grows to this.
    sweep_at: usize,
}

/// What one stream waits on: changes to everyone's access and to its own account's.
pub struct AccessWatch {
    everyone: watch::Receiver<u64>,
    mine: watch::Receiver<u64>,
}

impl Default for AccessChanges {
    fn default() -> Self {
        Self {
            everyone: watch::Sender::new(0),
            accounts: Mutex::default(),
        }
    }
}

impl AccessChanges {
    /// Every open stream looks again.
    pub fn everyone(&self) {
        self.everyone.send_modify(|n| *n += 1);
    }

    /// The open streams of `account_id` look again.
    pub fn account(&self, account_id: i64) {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(changes) = accounts.by_id.get(&account_id) {
            changes.send_modify(|n| *n += 1);
        }
    }

    /// For a stream watched by `account_id`.
    pub fn watch(&self, account_id: i64) -> AccessWatch {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if accounts.by_id.len() >= accounts.sweep_at {
            accounts
                .by_id
                .retain(|_, changes| changes.receiver_count() > 0);
            accounts.sweep_at = (accounts.by_id.len() * 2).max(64);
        }
        let mine = accounts
            .by_id
            .entry(account_id)
            .or_insert_with(|| watch::Sender::new(0))
            .subscribe();
        AccessWatch {
            everyone: self.everyone.subscribe(),
            mine,
        }
    }

    /// Accounts with a channel (watched now, or since the last sweep).
    #[cfg(test)]
    fn accounts_kept(&self) -> usize {
        self.accounts.lock().unwrap().by_id.len()
    }
}

impl AccessWatch {
    /// Resolves at the next change that concerns this stream's account.
    pub async fn changed(&mut self) {
        // The senders live as long as the `AccessChanges` (a swept channel had no receiver).
        async fn next(changes: &mut watch::Receiver<u64>) {
            if changes.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        tokio::select! {
            () = next(&mut self.everyone) => {}
            () = next(&mut self.mine) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::time::Duration;

    enum Change {
        Everyone,
        Account(i64),
    }

    /// Account 1's stream, after one change: does it look again?
    #[rstest]
    #[case::everyone(Change::Everyone, true)]
    #[case::its_account(Change::Account(1), true)]
    #[case::another_account(Change::Account(2), false)]
    #[tokio::test]
    async fn a_stream_looks_again_only_at_changes_that_concern_it(
        #[case] change: Change,
        #[case] looks_again: bool,
    ) {
        let changes = AccessChanges::default();
        let mut watch = changes.watch(1);
        let _other = changes.watch(2);
        match change {
            Change::Everyone => changes.everyone(),
            Change::Account(id) => changes.account(id),
        }
        let woke = tokio::time::timeout(Duration::from_millis(50), watch.changed())
            .await
            .is_ok();
        assert_eq!(woke, looks_again);
    }

    #[test]
    fn accounts_nobody_watches_are_swept() {
        let changes = AccessChanges::default();
        for id in 0..1000 {
            drop(changes.watch(id));
        }
        let _kept = changes.watch(5000);
        assert!(changes.accounts_kept() <= 64, "{}", changes.accounts_kept());
        // A change to an account nobody watches is nothing.
        changes.account(7);
    }
}
