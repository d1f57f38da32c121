//! Login attempts are limited per account (against guessing one password from many addresses)
//! and per client address (against trying many accounts from one place).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Per account: a burst of 5, then one more every 12 s (5 a minute).
const PER_ACCOUNT: (u32, u32) = (5, 5);
/// Per address: a burst of 20, then one more every 3 s (20 a minute); a shared office or school
/// network has several people signing in.
const PER_ADDRESS: (u32, u32) = (20, 20);
/// Forget keys that are back to full burst when there are more than this many.
const TIDY_ABOVE_KEYS: usize = 10_000;

pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota((per_minute, burst): (u32, u32)) -> Quota {
    let nz = |n: u32| NonZeroU32::new(n).expect("limits are positive");
    Quota::per_minute(nz(per_minute)).allow_burst(nz(burst))
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(quota(PER_ACCOUNT), quota(PER_ADDRESS))
    }
}

impl LoginLimiter {
    pub fn new(per_account: Quota, per_address: Quota) -> Self {
        Self {
            per_account: RateLimiter::keyed(per_account),
            per_address: RateLimiter::keyed(per_address),
        }
    }

    /// Counts one attempt. `Err(seconds)` says how long until the next attempt is allowed.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), u64> {
        if self.per_account.len() > TIDY_ABOVE_KEYS {
            self.per_account.retain_recent();
        }
        if self.per_address.len() > TIDY_ABOVE_KEYS {
            self.per_address.retain_recent();
        }
        let now = DefaultClock::default().now();
        let wait =
            |not_until: governor::NotUntil<_>| not_until.wait_time_from(now).as_secs().max(1);
        if let Some(address) = address {
            self.per_address.check_key(&address).map_err(wait)?;
        }
        self.per_account.check_key(&email.to_string()).map_err(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixth_attempt_on_one_account_is_refused() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..5 {
            limiter.check("anna@example.se", Some(ip)).unwrap();
        }
        let wait = limiter.check("anna@example.se", Some(ip)).unwrap_err();
        assert!((1..=12).contains(&wait), "{wait}");
        // Another account is not affected.
        limiter.check("bo@example.se", Some(ip)).unwrap();
    }

    #[test]
    fn one_address_trying_many_accounts_is_refused() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.2".parse().unwrap();
        for n in 0..20 {
            limiter
                .check(&format!("user{n}@example.se"), Some(ip))
                .unwrap();
        }
        assert!(limiter.check("user99@example.se", Some(ip)).is_err());
        // Another address is not affected.
        limiter
            .check("user99@example.se", Some("192.0.2.3".parse().unwrap()))
            .unwrap();
    }
}
