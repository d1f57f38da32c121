//! Sessions at rest: the store keeps a hash of each session id, never the id itself, so a copy
//! of the sessions table (a backup, a leaked file) gives nobody a cookie that signs in.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

/// A session store whose rows are keyed by the SHA-256 of the session id (its first 128 bits:
/// the id is 128 random bits, so nothing is lost and nothing can be turned back).
#[derive(Debug, Clone)]
pub struct HashedIds<S>(pub S);

/// The key a session id is stored under.
pub fn stored_id(id: &Id) -> Id {
    let digest = Sha256::digest(id.0.to_le_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(first))
}

fn stored(record: &Record) -> Record {
    Record {
        id: stored_id(&record.id),
        ..record.clone()
    }
}

#[async_trait]
impl<S: SessionStore + Clone> SessionStore for HashedIds<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            record.id = Id::default();
            let row = stored(record);
            // 128 random bits: a collision means a broken random source, not bad luck.
            if self.0.load(&row.id).await?.is_none() {
                return self.0.save(&row).await;
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0.save(&stored(record)).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self
            .0
            .load(&stored_id(id))
            .await?
            .map(|record| Record { id: *id, ..record }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(&stored_id(id)).await
    }
}

#[async_trait]
impl<S: ExpiredDeletion + Clone> ExpiredDeletion for HashedIds<S> {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.0.delete_expired().await
    }
}

/// The session table in the server's database, whichever it is.
#[derive(Debug, Clone)]
pub enum DbStore {
    Sqlite(tower_sessions_sqlx_store::SqliteStore),
    Postgres(tower_sessions_sqlx_store::PostgresStore),
}

/// The server's session store.
pub type Store = HashedIds<DbStore>;

/// The server's session store: hashed ids over the database's session table, created if
/// missing.
pub async fn open(db: &backend::Database) -> anyhow::Result<Store> {
    use anyhow::Context;
    let store = match db {
        backend::Database::Sqlite(repo) => {
            let store = tower_sessions_sqlx_store::SqliteStore::new(repo.pool().clone());
            store
                .migrate()
                .await
                .context("creating the session table")?;
            DbStore::Sqlite(store)
        }
        backend::Database::Postgres(repo) => {
            let store = tower_sessions_sqlx_store::PostgresStore::new(repo.pool().clone());
            // Several processes starting at once create the table once (an advisory lock).
            let mut conn = repo.pool().acquire().await?;
            sqlx::query("SELECT pg_advisory_lock(7283910)")
                .execute(&mut *conn)
                .await?;
            let migrated = store.migrate().await;
            sqlx::query("SELECT pg_advisory_unlock(7283910)")
                .execute(&mut *conn)
                .await?;
            migrated.context("creating the session table")?;
            DbStore::Postgres(store)
        }
    };
    Ok(HashedIds(store))
}

#[async_trait]
impl SessionStore for DbStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            DbStore::Sqlite(s) => s.create(record).await,
            DbStore::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            DbStore::Sqlite(s) => s.save(record).await,
            DbStore::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            DbStore::Sqlite(s) => s.load(id).await,
            DbStore::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            DbStore::Sqlite(s) => s.delete(id).await,
            DbStore::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for DbStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            DbStore::Sqlite(s) => s.delete_expired().await,
            DbStore::Postgres(s) => s.delete_expired().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_sessions::MemoryStore;

    #[tokio::test]
    async fn the_store_never_holds_the_id_and_the_id_still_finds_its_session() {
        let inner = MemoryStore::default();
        let store = HashedIds(inner.clone());
        let mut record = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        store.create(&mut record).await.unwrap();
        assert!(
            inner.load(&record.id).await.unwrap().is_none(),
            "stored under the cookie's id"
        );
        let row = inner.load(&stored_id(&record.id)).await.unwrap().unwrap();
        // The stored row's own id is not the cookie's either.
        assert_ne!(row.id, record.id);
        let loaded = store.load(&record.id).await.unwrap().unwrap();
        assert_eq!(loaded.id, record.id);
        // A stored key used as a cookie opens nothing.
        assert!(store.load(&row.id).await.unwrap().is_none());
        store.delete(&record.id).await.unwrap();
        assert!(store.load(&record.id).await.unwrap().is_none());
    }
}
