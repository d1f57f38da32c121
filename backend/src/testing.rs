//! For tests of this crate and the server: the database a test runs on. SQLite in the test's
//! own directory by default; with `AMPWISE_TEST_POSTGRES` set to a PostgreSQL server's URL
//! (`postgres://USER@HOST:PORT/postgres`, as `scripts/test.sh` starts one), a fresh database on
//! that server for each call, so the same tests check both backends.

use std::path::Path;

use sqlx::Connection;

/// The environment variable naming the PostgreSQL server tests run on.
pub const POSTGRES_ENV: &str = "AMPWISE_TEST_POSTGRES";

/// Whether tests run on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var_os(POSTGRES_ENV).is_some()
}

/// A URL for an empty database: `dir/test.db`, or a new database on the PostgreSQL server.
pub async fn database_url(dir: &Path) -> String {
    match std::env::var(POSTGRES_ENV) {
        Ok(server) => fresh_postgres(&server).await,
        Err(_) => format!("sqlite://{}", dir.join("test.db").display()),
    }
}

/// Creates a database with a random name on `server` and answers its URL.
pub async fn fresh_postgres(server: &str) -> String {
    let name = format!("t_{:016x}", rand::random::<u64>());
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}: cannot connect to {server}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    let _ = admin.close().await;
    with_database(server, &name)
}

/// `url` naming the database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|i| start + i))
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::with_a_database(
        "postgres://p@127.0.0.1:5433/postgres",
        "postgres://p@127.0.0.1:5433/t_1"
    )]
    #[case::without_one("postgres://p@127.0.0.1:5433", "postgres://p@127.0.0.1:5433/t_1")]
    #[case::with_options(
        "postgres://p@h/postgres?sslmode=disable",
        "postgres://p@h/t_1?sslmode=disable"
    )]
    fn the_database_name_is_replaced(#[case] url: &str, #[case] want: &str) {
        assert_eq!(with_database(url, "t_1"), want);
    }
}
