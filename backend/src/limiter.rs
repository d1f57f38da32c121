//! Rate limits that keep one client from hurting the others: log-in attempts (per account and
//! address pair, per address, and a ceiling per account), sign-ups per address and licence
//! redemptions per account.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

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

/// Log-in attempts. Guessing one account's password is slowed per (account, address) pair, so
/// a stranger who knows an e-mail address cannot lock its owner out from elsewhere; one address
/// trying many accounts is slowed per address; and a ceiling per account bounds guessing from
/// many addresses at once (a botnet can still reach it; one address never can).
pub struct LoginLimiter {
    per_pair: Limit<(String, IpAddr)>,
    per_address: Limit<IpAddr>,
    per_account: Limit<String>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            // 5 at once, then one every 5 minutes: 12 an hour from one address.
            per_pair: Limit::new(5, Duration::from_secs(300)),
            // 20 at once, then 20 a minute: a shared office or school network signs in too.
            per_address: Limit::new(20, Duration::from_secs(3)),
            // 100 at once, then 100 an hour, from everywhere together.
            per_account: Limit::new(100, Duration::from_secs(36)),
        }
    }
}

impl LoginLimiter {
    /// Counts one attempt. `Err(seconds)` says how long until the next attempt is allowed.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), u64> {
        if let Some(address) = address {
            self.per_address.check(&address)?;
            self.per_pair.check(&(email.to_string(), address))?;
        }
        self.per_account.check(&email.to_string())
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

    #[test]
    fn guessing_from_one_address_is_slowed_after_five() {
        let limiter = LoginLimiter::default();
        for _ in 0..5 {
            limiter.check(ANNA, Some(ip("192.0.2.1"))).unwrap();
        }
        let wait = limiter.check(ANNA, Some(ip("192.0.2.1"))).unwrap_err();
        assert!((1..=300).contains(&wait), "{wait}");
        // Another account from the same address is not affected.
        limiter
            .check("bo@example.se", Some(ip("192.0.2.1")))
            .unwrap();
    }

    #[test]
    fn a_stranger_cannot_lock_the_owner_out() {
        let limiter = LoginLimiter::default();
        // Someone who knows Anna's address hammers it from theirs...
        for _ in 0..200 {
            let _ = limiter.check(ANNA, Some(ip("198.51.100.7")));
        }
        // ... and Anna, at home, still gets in.
        for _ in 0..5 {
            limiter.check(ANNA, Some(ip("192.0.2.10"))).unwrap();
        }
    }

    #[test]
    fn many_addresses_together_meet_the_ceiling() {
        let limiter = LoginLimiter::default();
        let mut allowed = 0;
        for n in 0..150u32 {
            let from = IpAddr::from([10, 0, (n / 250) as u8, (n % 250) as u8]);
            if limiter.check(ANNA, Some(from)).is_ok() {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 100);
    }

    #[test]
    fn one_address_trying_many_accounts_is_refused() {
        let limiter = LoginLimiter::default();
        for n in 0..20 {
            limiter
                .check(&format!("user{n}@example.se"), Some(ip("192.0.2.2")))
                .unwrap();
        }
        assert!(
            limiter
                .check("user99@example.se", Some(ip("192.0.2.2")))
                .is_err()
        );
        limiter
            .check("user99@example.se", Some(ip("192.0.2.3")))
            .unwrap();
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
