//! Rate limits that keep one client from hurting the others: log-in attempts (per account and
//! address pair, per address, and a ceiling per account), sign-ups per address and licence
//! redemptions per account.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Forget keys that are back to full burst when there are more than this many.
const TIDY_ABOVE_KEYS: usize = 10_000;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("limits are positive")
}

/// `burst` at once, then one more every `every`.
fn quota(burst: u32, every: Duration) -> Quota {
    Quota::with_period(every)
        .expect("periods are positive")
        .allow_burst(nz(burst))
}

/// One keyed limit: `Err(seconds)` says how long until the key may try again.
pub struct Limit<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    pub fn new(burst: u32, every: Duration) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota(burst, every)),
        }
    }

    pub fn check(&self, key: &K) -> Result<(), u64> {
        if self.limiter.len() > TIDY_ABOVE_KEYS {
            self.limiter.retain_recent();
        }
        // The limiter's own clock: a new `DefaultClock` calibrates itself (cpuid), which was a
        // third of a core at 13,000 device requests/s (BENCHMARKS.md).
        self.limiter.check_key(key).map_err(|not_until| {
            not_until
                .wait_time_from(self.limiter.clock().now())
                .as_secs()
                .max(1)
        })
    }
}

/// Where the buckets' levels live: this process's memory (one process, SQLite), or the
/// database (`rate_buckets`), so that several processes share one limit rather than each
/// allowing its own.
#[async_trait::async_trait]
pub trait Levels: Send + Sync {
    /// `key`'s level at `now_ms` (drained by one every `leak_ms`), with `delta` added unless
    /// that would take it above `cap`: the level after, and whether `delta` was added.
    async fn add(
        &self,
        key: &str,
        delta: f64,
        cap: Option<f64>,
        leak_ms: f64,
        now_ms: i64,
    ) -> anyhow::Result<(f64, bool)>;
}

/// The level `level` set at `at` has drained to by `now` (never below nothing).
fn drained(level: f64, at: i64, now: i64, leak_ms: f64) -> f64 {
    (level - (now - at).max(0) as f64 / leak_ms).max(0.0)
}

/// Levels in this process's memory.
#[derive(Default)]
pub struct MemoryLevels {
    levels: Mutex<HashMap<String, (f64, i64, f64)>>,
}

#[async_trait::async_trait]
impl Levels for MemoryLevels {
    async fn add(
        &self,
        key: &str,
        delta: f64,
        cap: Option<f64>,
        leak_ms: f64,
        now_ms: i64,
    ) -> anyhow::Result<(f64, bool)> {
        let mut levels = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        if levels.len() > TIDY_ABOVE_KEYS {
            levels.retain(|_, (level, at, leak)| drained(*level, *at, now_ms, *leak) > 0.0);
        }
        let entry = levels
            .entry(key.to_string())
            .or_insert((0.0, now_ms, leak_ms));
        let level = drained(entry.0, entry.1, now_ms, leak_ms);
        if cap.is_some_and(|cap| level + delta > cap) {
            return Ok((level, false));
        }
        let after = (level + delta).max(0.0);
        *entry = (after, now_ms.max(entry.1), leak_ms);
        Ok((after, true))
    }
}

/// Levels in PostgreSQL's `rate_buckets`, changed in one statement each (no lost updates
/// between processes).
pub struct PostgresLevels {
    pool: sqlx::PgPool,
    calls: std::sync::atomic::AtomicU64,
}

/// Rows untouched this long are empty whatever their leak, and deleted now and then.
const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;

impl PostgresLevels {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self {
            pool,
            calls: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

#[async_trait::async_trait]
impl Levels for PostgresLevels {
    async fn add(
        &self,
        key: &str,
        delta: f64,
        cap: Option<f64>,
        leak_ms: f64,
        now_ms: i64,
    ) -> anyhow::Result<(f64, bool)> {
        let calls = self
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if calls % 10_000 == 9_999 {
            sqlx::query("DELETE FROM rate_buckets WHERE updated_at < $1")
                .bind(now_ms - FORGET_AFTER_MS)
                .execute(&self.pool)
                .await?;
        }
        // The same arithmetic as `drained`, in the row's own update.
        let added: Option<f64> = sqlx::query_scalar(
            "INSERT INTO rate_buckets AS b (key, level, updated_at) \
             VALUES ($1, GREATEST($2, 0), $3) \
             ON CONFLICT (key) DO UPDATE SET \
               level = GREATEST(GREATEST(b.level - GREATEST($3 - b.updated_at, 0) / $4, 0) + $2, 0), \
               updated_at = GREATEST(b.updated_at, $3) \
             WHERE $5::float8 IS NULL \
                OR GREATEST(b.level - GREATEST($3 - b.updated_at, 0) / $4, 0) + $2 <= $5 \
             RETURNING level",
        )
        .bind(key)
        .bind(delta)
        .bind(now_ms)
        .bind(leak_ms)
        .bind(cap)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(level) = added {
            return Ok((level, true));
        }
        let (level, at): (f64, i64) =
            sqlx::query_as("SELECT level, updated_at FROM rate_buckets WHERE key = $1")
                .bind(key)
                .fetch_one(&self.pool)
                .await?;
        Ok((drained(level, at, now_ms, leak_ms), false))
    }
}

/// The levels for `db`: shared through PostgreSQL, in memory with SQLite (one process).
pub fn levels_for(db: &crate::Database) -> std::sync::Arc<dyn Levels> {
    match db {
        crate::Database::Sqlite(_) => std::sync::Arc::new(MemoryLevels::default()),
        crate::Database::Postgres(repo) => {
            std::sync::Arc::new(PostgresLevels::new(repo.pool().clone()))
        }
    }
}

/// Attempts per key that leak away at a steady rate (a leaky bucket): each attempt adds one, a
/// successful one takes its one back, and the level falls by one every `leak`. A store that
/// fails lets the attempt through (the database it shares is failing the request anyway).
struct Bucket {
    name: &'static str,
    leak: Duration,
}

impl Bucket {
    fn leak_ms(&self) -> f64 {
        self.leak.as_secs_f64() * 1000.0
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.name)
    }

    async fn add(&self, levels: &dyn Levels, key: &str, delta: f64, now_ms: i64) -> f64 {
        match levels
            .add(&self.key(key), delta, None, self.leak_ms(), now_ms)
            .await
        {
            Ok((level, _)) => level,
            Err(e) => {
                tracing::warn!(error = %e, bucket = self.name, "a rate limit could not be counted");
                0.0
            }
        }
    }

    /// Adds one unless the level would pass `cap`: `Err(seconds)` until it would not.
    async fn take(
        &self,
        levels: &dyn Levels,
        key: &str,
        cap: f64,
        now_ms: i64,
    ) -> Result<f64, u64> {
        match levels
            .add(&self.key(key), 1.0, Some(cap), self.leak_ms(), now_ms)
            .await
        {
            Ok((level, true)) => Ok(level),
            Ok((level, false)) => {
                let over = level + 1.0 - cap;
                Err((over * self.leak.as_secs_f64()).ceil().max(1.0) as u64)
            }
            Err(e) => {
                tracing::warn!(error = %e, bucket = self.name, "a rate limit could not be checked");
                Ok(0.0)
            }
        }
    }
}

/// Log-in attempts. Guessing one account's password is refused per (account, address) pair
/// after 5 wrong ones, so a stranger who knows an e-mail address cannot lock its owner out from
/// elsewhere; one address trying many accounts is refused per address; and an account guessed
/// at from many addresses at once (a botnet) is slowed, a delay growing with each wrong
/// password, rather than refused: its owner still gets in, only slower. A successful log-in
/// does not count.
pub struct LoginLimiter {
    levels: std::sync::Arc<dyn Levels>,
}

const PER_PAIR: Bucket = Bucket {
    name: "login-pair",
    leak: Duration::from_secs(300),
};
const PER_ADDRESS: Bucket = Bucket {
    name: "login-address",
    leak: Duration::from_secs(3),
};
const PER_ACCOUNT: Bucket = Bucket {
    name: "login-account",
    leak: Duration::from_secs(36),
};

/// Wrong passwords per (account, address) before a refusal; then one more every 5 minutes.
const PAIR_CAP: f64 = 5.0;
/// Per address: a shared office or school network signs in too (20, then 20 a minute).
const ADDRESS_CAP: f64 = 20.0;
/// An account's wrong passwords from everywhere that cost nothing; past them each attempt
/// waits [`DELAY_PER_FAILURE`] more per failure, at most [`MAX_DELAY`]. They leak at 100 an hour.
const ACCOUNT_FREE: f64 = 10.0;
const DELAY_PER_FAILURE: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(10);

impl LoginLimiter {
    pub fn new(levels: std::sync::Arc<dyn Levels>) -> Self {
        Self { levels }
    }

    /// Before a password is checked: `Err(seconds)` when this address has guessed too often
    /// (at this account or any), else how long to wait first (an account under attack). The
    /// attempt counts until [`LoginLimiter::succeeded`] takes it back.
    pub async fn attempt(
        &self,
        email: &str,
        address: Option<IpAddr>,
        now_ms: i64,
    ) -> Result<Duration, u64> {
        let levels = &*self.levels;
        if let Some(address) = address {
            let address = address.to_string();
            PER_ADDRESS
                .take(levels, &address, ADDRESS_CAP, now_ms)
                .await?;
            let pair = format!("{email}|{address}");
            if let Err(wait) = PER_PAIR.take(levels, &pair, PAIR_CAP, now_ms).await {
                PER_ADDRESS.add(levels, &address, -1.0, now_ms).await;
                return Err(wait);
            }
        }
        let failures = PER_ACCOUNT.add(levels, email, 1.0, now_ms).await - 1.0;
        Ok(DELAY_PER_FAILURE
            .mul_f64((failures - ACCOUNT_FREE).max(0.0))
            .min(MAX_DELAY))
    }

    /// The password was right: the attempt does not count.
    pub async fn succeeded(&self, email: &str, address: Option<IpAddr>, now_ms: i64) {
        let levels = &*self.levels;
        PER_ACCOUNT.add(levels, email, -1.0, now_ms).await;
        if let Some(address) = address {
            let address = address.to_string();
            PER_ADDRESS.add(levels, &address, -1.0, now_ms).await;
            PER_PAIR
                .add(levels, &format!("{email}|{address}"), -1.0, now_ms)
                .await;
        }
    }
}

/// So many at once, then one more every so often, per key, counted in [`Levels`] (shared by
/// the processes on one PostgreSQL database).
pub struct SharedLimit {
    levels: std::sync::Arc<dyn Levels>,
    bucket: Bucket,
    burst: f64,
}

impl SharedLimit {
    /// `Err(seconds)` says how long until `key` may try again.
    pub async fn check(&self, key: &str, now_ms: i64) -> Result<(), u64> {
        self.bucket
            .take(&*self.levels, key, self.burst, now_ms)
            .await
            .map(|_| ())
    }
}

/// `per_hour` spread over the hour, with half of it (at least `least`) allowed at once.
fn hourly(per_hour: u32, least: u32) -> (u32, Duration) {
    let per_hour = per_hour.max(1);
    (
        (per_hour / 2).max(least),
        Duration::from_micros(3_600_000_000 / u64::from(per_hour)),
    )
}

/// Sign-ups per client address (default 10 an hour, 5 at once).
pub fn sign_up_limit(levels: std::sync::Arc<dyn Levels>, per_hour: u32) -> SharedLimit {
    let (burst, every) = hourly(per_hour, 5);
    SharedLimit {
        levels,
        bucket: Bucket {
            name: "sign-up",
            leak: every,
        },
        burst: f64::from(burst),
    }
}

/// Licence redemptions per account (default 30 an hour, 15 at once: an installer redeeming a
/// printed sheet of eight in a row is well inside).
pub fn redeem_limit(levels: std::sync::Arc<dyn Levels>, per_hour: u32) -> SharedLimit {
    let (burst, every) = hourly(per_hour, 10);
    SharedLimit {
        levels,
        bucket: Bucket {
            name: "redeem",
            leak: every,
        },
        burst: f64::from(burst),
    }
}

/// Requests per monitor on the devices' ingest API (default 5 a second, and a minute's worth —
/// 300 — at once): a meter posts every second or every few; one stuck in a loop, or a copied
/// token hammering the server, is slowed for its own monitor only.
pub fn device_limit(per_second: u32) -> Limit<i64> {
    Limit::new(
        per_second.saturating_mul(60),
        Duration::from_micros(1_000_000 / u64::from(per_second.max(1))),
    )
}

pub const SIGN_UPS_PER_HOUR: u32 = 10;
pub const REDEEMS_PER_HOUR: u32 = 30;
pub const DEVICE_REQUESTS_PER_SECOND: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const ANNA: &str = "anna@example.se";
    const SEC: i64 = 1000;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(Arc::new(MemoryLevels::default()))
    }

    /// A wrong password from `from`: the attempt's delay, or the refusal's wait.
    async fn wrong(
        limiter: &LoginLimiter,
        email: &str,
        from: &str,
        now: i64,
    ) -> Result<Duration, u64> {
        limiter.attempt(email, Some(ip(from)), now).await
    }

    #[tokio::test]
    async fn guessing_from_one_address_is_refused_after_five() {
        let limiter = limiter();
        let now = 0;
        for _ in 0..5 {
            wrong(&limiter, ANNA, "192.0.2.1", now).await.unwrap();
        }
        let wait = wrong(&limiter, ANNA, "192.0.2.1", now).await.unwrap_err();
        assert!((1..=300).contains(&wait), "{wait}");
        // Another account from the same address is not affected...
        wrong(&limiter, "bo@example.se", "192.0.2.1", now)
            .await
            .unwrap();
        // ... and five minutes later one more guess is allowed.
        wrong(&limiter, ANNA, "192.0.2.1", now + 301 * SEC)
            .await
            .unwrap();
    }

    /// Two processes on one database count one limit: guesses through either add up.
    #[tokio::test]
    async fn processes_sharing_levels_share_the_limit() {
        let levels: Arc<dyn Levels> = Arc::new(MemoryLevels::default());
        let (a, b) = (
            LoginLimiter::new(levels.clone()),
            LoginLimiter::new(levels.clone()),
        );
        for n in 0..5 {
            let through = if n % 2 == 0 { &a } else { &b };
            wrong(through, ANNA, "192.0.2.1", 0).await.unwrap();
        }
        assert!(wrong(&a, ANNA, "192.0.2.1", 0).await.is_err());
        assert!(wrong(&b, ANNA, "192.0.2.1", 0).await.is_err());
        let sign_ups = [
            sign_up_limit(levels.clone(), SIGN_UPS_PER_HOUR),
            sign_up_limit(levels.clone(), SIGN_UPS_PER_HOUR),
        ];
        for n in 0..5 {
            sign_ups[n % 2].check("192.0.2.4", 0).await.unwrap();
        }
        assert!(sign_ups[1].check("192.0.2.4", 0).await.is_err());
    }

    /// The review: a successful log-in counted against the limit, so a household signing in
    /// on several devices was refused.
    #[tokio::test]
    async fn successful_log_ins_do_not_count() {
        let limiter = limiter();
        let now = 0;
        for _ in 0..50 {
            let delay = limiter
                .attempt(ANNA, Some(ip("192.0.2.1")), now)
                .await
                .unwrap();
            assert_eq!(delay, Duration::ZERO);
            limiter.succeeded(ANNA, Some(ip("192.0.2.1")), now).await;
        }
        for _ in 0..5 {
            wrong(&limiter, ANNA, "192.0.2.1", now).await.unwrap();
        }
        assert!(wrong(&limiter, ANNA, "192.0.2.1", now).await.is_err());
    }

    #[tokio::test]
    async fn a_stranger_cannot_lock_the_owner_out() {
        let limiter = limiter();
        let now = 0;
        // Someone who knows Anna's address hammers it from theirs...
        for _ in 0..200 {
            let _ = wrong(&limiter, ANNA, "198.51.100.7", now).await;
        }
        // ... and Anna, at home, still gets in, with no wait: one address's guesses are
        // refused before they count against her account.
        for _ in 0..5 {
            let delay = limiter
                .attempt(ANNA, Some(ip("192.0.2.10")), now)
                .await
                .unwrap();
            assert!(delay < Duration::from_secs(2), "{delay:?}");
            limiter.succeeded(ANNA, Some(ip("192.0.2.10")), now).await;
        }
    }

    /// Many addresses together (a botnet) slow an account down, each wrong password a little
    /// more, and never lock its owner out.
    #[tokio::test]
    async fn an_account_under_attack_is_slowed_not_locked() {
        let limiter = limiter();
        let now = 0;
        let mut delays = Vec::new();
        for n in 0..300u32 {
            let from = IpAddr::from([10, 0, (n / 250) as u8, (n % 250) as u8]);
            delays.push(limiter.attempt(ANNA, Some(from), now).await.unwrap());
        }
        assert_eq!(
            delays[5],
            Duration::ZERO,
            "the first wrong passwords cost nothing"
        );
        assert!(
            delays[20] < delays[40],
            "{:?} then {:?}",
            delays[20],
            delays[40]
        );
        assert_eq!(delays[299], MAX_DELAY);
        let owner = limiter
            .attempt(ANNA, Some(ip("192.0.2.10")), now)
            .await
            .unwrap();
        assert_eq!(owner, MAX_DELAY, "the owner waits, and gets in");
        // An hour later the account is back to normal.
        let later = now + 3 * 3600 * SEC;
        assert_eq!(
            limiter
                .attempt(ANNA, Some(ip("192.0.2.10")), later)
                .await
                .unwrap(),
            Duration::ZERO
        );
    }

    #[tokio::test]
    async fn one_address_trying_many_accounts_is_refused() {
        let limiter = limiter();
        let now = 0;
        for n in 0..20 {
            wrong(&limiter, &format!("user{n}@example.se"), "192.0.2.2", now)
                .await
                .unwrap();
        }
        assert!(
            wrong(&limiter, "user99@example.se", "192.0.2.2", now)
                .await
                .is_err()
        );
        wrong(&limiter, "user99@example.se", "192.0.2.3", now)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn sign_ups_and_redemptions_are_limited_per_key() {
        let levels: Arc<dyn Levels> = Arc::new(MemoryLevels::default());
        let sign_ups = sign_up_limit(levels.clone(), SIGN_UPS_PER_HOUR);
        for _ in 0..5 {
            sign_ups.check("192.0.2.4", 0).await.unwrap();
        }
        let wait = sign_ups.check("192.0.2.4", 0).await.unwrap_err();
        assert_eq!(wait, 360, "one more every 6 minutes");
        sign_ups.check("192.0.2.5", 0).await.unwrap();
        sign_ups.check("192.0.2.4", 360 * SEC).await.unwrap();
        let redeems = redeem_limit(levels, REDEEMS_PER_HOUR);
        for _ in 0..15 {
            redeems.check("7", 0).await.unwrap();
        }
        assert!(redeems.check("7", 0).await.is_err());
        redeems.check("8", 0).await.unwrap();
    }
}
