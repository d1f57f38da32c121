//! Rate limits that keep one client from hurting the others: log-in attempts (per account and
//! address pair, per address, and a ceiling per account), sign-ups per address and licence
//! redemptions per account.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

use governor::clock::{Clock, DefaultClock};
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
        let now = DefaultClock::default().now();
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(now).as_secs().max(1))
    }
}

/// Attempts per key that leak away at a steady rate (a leaky bucket): each attempt adds one, a
/// successful one takes its one back, and the level falls by one every `leak`.
struct Bucket<K> {
    leak: Duration,
    levels: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn new(leak: Duration) -> Self {
        Self {
            leak,
            levels: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (f64, Instant)>> {
        self.levels.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn drained(&self, level: f64, since: Instant, now: Instant) -> f64 {
        let leaked = now.saturating_duration_since(since).as_secs_f64() / self.leak.as_secs_f64();
        (level - leaked).max(0.0)
    }

    fn level(&self, key: &K, now: Instant) -> f64 {
        self.lock()
            .get(key)
            .map_or(0.0, |(level, at)| self.drained(*level, *at, now))
    }

    /// Seconds until the level is below `cap`, if it is not now.
    fn wait(&self, key: &K, cap: f64, now: Instant) -> Option<u64> {
        let over = self.level(key, now) - (cap - 1.0);
        (over > 0.0).then(|| (over * self.leak.as_secs_f64()).ceil().max(1.0) as u64)
    }

    fn add(&self, key: &K, delta: f64, now: Instant) {
        let mut levels = self.lock();
        if levels.len() > TIDY_ABOVE_KEYS {
            levels.retain(|_, (level, at)| self.drained(*level, *at, now) > 0.0);
        }
        let entry = levels.entry(key.clone()).or_insert((0.0, now));
        *entry = ((self.drained(entry.0, entry.1, now) + delta).max(0.0), now);
    }
}

/// Log-in attempts. Guessing one account's password is refused per (account, address) pair
/// after 5 wrong ones, so a stranger who knows an e-mail address cannot lock its owner out from
/// elsewhere; one address trying many accounts is refused per address; and an account guessed
/// at from many addresses at once (a botnet) is slowed, a delay growing with each wrong
/// password, rather than refused: its owner still gets in, only slower. A successful log-in
/// does not count.
pub struct LoginLimiter {
    per_pair: Bucket<(String, IpAddr)>,
    per_address: Bucket<IpAddr>,
    per_account: Bucket<String>,
}

/// Wrong passwords per (account, address) before a refusal; then one more every 5 minutes.
const PAIR_CAP: f64 = 5.0;
/// Per address: a shared office or school network signs in too (20, then 20 a minute).
const ADDRESS_CAP: f64 = 20.0;
/// An account's wrong passwords from everywhere that cost nothing; past them each attempt
/// waits [`DELAY_PER_FAILURE`] more per failure, at most [`MAX_DELAY`]. They leak at 100 an hour.
const ACCOUNT_FREE: f64 = 10.0;
const DELAY_PER_FAILURE: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(10);

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            per_pair: Bucket::new(Duration::from_secs(300)),
            per_address: Bucket::new(Duration::from_secs(3)),
            per_account: Bucket::new(Duration::from_secs(36)),
        }
    }
}

impl LoginLimiter {
    /// Before a password is checked: `Err(seconds)` when this address has guessed too often
    /// (at this account or any), else how long to wait first (an account under attack). The
    /// attempt counts until [`LoginLimiter::succeeded`] takes it back.
    pub fn attempt(
        &self,
        email: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<Duration, u64> {
        let pair = address.map(|a| (email.to_string(), a));
        if let Some(address) = address {
            let waits = [
                self.per_address.wait(&address, ADDRESS_CAP, now),
                pair.as_ref()
                    .and_then(|p| self.per_pair.wait(p, PAIR_CAP, now)),
            ];
            if let Some(wait) = waits.into_iter().flatten().max() {
                return Err(wait);
            }
        }
        let account = email.to_string();
        let failures = self.per_account.level(&account, now);
        let delay = DELAY_PER_FAILURE
            .mul_f64((failures - ACCOUNT_FREE).max(0.0))
            .min(MAX_DELAY);
        self.per_account.add(&account, 1.0, now);
        if let Some(address) = address {
            self.per_address.add(&address, 1.0, now);
        }
        if let Some(pair) = &pair {
            self.per_pair.add(pair, 1.0, now);
        }
        Ok(delay)
    }

    /// The password was right: the attempt does not count.
    pub fn succeeded(&self, email: &str, address: Option<IpAddr>, now: Instant) {
        self.per_account.add(&email.to_string(), -1.0, now);
        if let Some(address) = address {
            self.per_address.add(&address, -1.0, now);
            self.per_pair.add(&(email.to_string(), address), -1.0, now);
        }
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
pub fn sign_up_limit(per_hour: u32) -> Limit<IpAddr> {
    let (burst, every) = hourly(per_hour, 5);
    Limit::new(burst, every)
}

/// Licence redemptions per account (default 30 an hour, 15 at once: an installer redeeming a
/// printed sheet of eight in a row is well inside).
pub fn redeem_limit(per_hour: u32) -> Limit<i64> {
    let (burst, every) = hourly(per_hour, 10);
    Limit::new(burst, every)
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

    const ANNA: &str = "anna@example.se";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn t0() -> Instant {
        Instant::now()
    }

    /// A wrong password from `from`: the attempt's delay, or the refusal's wait.
    fn wrong(
        limiter: &LoginLimiter,
        email: &str,
        from: &str,
        now: Instant,
    ) -> Result<Duration, u64> {
        limiter.attempt(email, Some(ip(from)), now)
    }

    #[test]
    fn guessing_from_one_address_is_refused_after_five() {
        let limiter = LoginLimiter::default();
        let now = t0();
        for _ in 0..5 {
            wrong(&limiter, ANNA, "192.0.2.1", now).unwrap();
        }
        let wait = wrong(&limiter, ANNA, "192.0.2.1", now).unwrap_err();
        assert!((1..=300).contains(&wait), "{wait}");
        // Another account from the same address is not affected...
        wrong(&limiter, "bo@example.se", "192.0.2.1", now).unwrap();
        // ... and five minutes later one more guess is allowed.
        wrong(&limiter, ANNA, "192.0.2.1", now + Duration::from_secs(301)).unwrap();
    }

    /// The review: a successful log-in counted against the limit, so a household signing in
    /// on several devices was refused.
    #[test]
    fn successful_log_ins_do_not_count() {
        let limiter = LoginLimiter::default();
        let now = t0();
        for _ in 0..50 {
            let delay = limiter.attempt(ANNA, Some(ip("192.0.2.1")), now).unwrap();
            assert_eq!(delay, Duration::ZERO);
            limiter.succeeded(ANNA, Some(ip("192.0.2.1")), now);
        }
        for _ in 0..5 {
            wrong(&limiter, ANNA, "192.0.2.1", now).unwrap();
        }
        assert!(wrong(&limiter, ANNA, "192.0.2.1", now).is_err());
    }

    #[test]
    fn a_stranger_cannot_lock_the_owner_out() {
        let limiter = LoginLimiter::default();
        let now = t0();
        // Someone who knows Anna's address hammers it from theirs...
        for _ in 0..200 {
            let _ = wrong(&limiter, ANNA, "198.51.100.7", now);
        }
        // ... and Anna, at home, still gets in, with no wait: one address's guesses are
        // refused before they count against her account.
        for _ in 0..5 {
            let delay = limiter.attempt(ANNA, Some(ip("192.0.2.10")), now).unwrap();
            assert!(delay < Duration::from_secs(2), "{delay:?}");
            limiter.succeeded(ANNA, Some(ip("192.0.2.10")), now);
        }
    }

    /// Many addresses together (a botnet) slow an account down, each wrong password a little
    /// more, and never lock its owner out.
    #[test]
    fn an_account_under_attack_is_slowed_not_locked() {
        let limiter = LoginLimiter::default();
        let now = t0();
        let mut delays = Vec::new();
        for n in 0..300u32 {
            let from = IpAddr::from([10, 0, (n / 250) as u8, (n % 250) as u8]);
            delays.push(limiter.attempt(ANNA, Some(from), now).unwrap());
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
        let owner = limiter.attempt(ANNA, Some(ip("192.0.2.10")), now).unwrap();
        assert_eq!(owner, MAX_DELAY, "the owner waits, and gets in");
        // An hour later the account is back to normal.
        let later = now + Duration::from_secs(3 * 3600);
        assert_eq!(
            limiter
                .attempt(ANNA, Some(ip("192.0.2.10")), later)
                .unwrap(),
            Duration::ZERO
        );
    }

    #[test]
    fn one_address_trying_many_accounts_is_refused() {
        let limiter = LoginLimiter::default();
        let now = t0();
        for n in 0..20 {
            wrong(&limiter, &format!("user{n}@example.se"), "192.0.2.2", now).unwrap();
        }
        assert!(wrong(&limiter, "user99@example.se", "192.0.2.2", now).is_err());
        wrong(&limiter, "user99@example.se", "192.0.2.3", now).unwrap();
    }

    #[test]
    fn sign_ups_and_redemptions_are_limited_per_key() {
        let sign_ups = sign_up_limit(SIGN_UPS_PER_HOUR);
        for _ in 0..5 {
            sign_ups.check(&ip("192.0.2.4")).unwrap();
        }
        assert!(sign_ups.check(&ip("192.0.2.4")).is_err());
        sign_ups.check(&ip("192.0.2.5")).unwrap();
        let redeems = redeem_limit(REDEEMS_PER_HOUR);
        for _ in 0..15 {
            redeems.check(&7).unwrap();
        }
        assert!(redeems.check(&7).is_err());
        redeems.check(&8).unwrap();
    }
}
