//! Signing up and signing in. Sessions themselves live in the HTTP layer (tower-sessions); this
//! module only says who someone is.

use std::net::IpAddr;

use model::account::normalize_email;
use model::{Account, Role};

use crate::{Error, Services, StoreError, password};

/// What a sign-up did. The browser is answered the same way for both (the same status, body
/// and cookie), so a sign-up does not tell whether an address has an account.
#[derive(Debug)]
pub enum SignedUp {
    /// A new account, or the address's owner signing up again with its password: signed in.
    Account(Account),
    /// The address has an account and this is not its password.
    NotSignedIn,
}

impl SignedUp {
    /// The account signed in, if one is.
    pub fn account(self) -> Option<Account> {
        match self {
            SignedUp::Account(account) => Some(account),
            SignedUp::NotSignedIn => None,
        }
    }
}

pub async fn sign_up(
    services: &Services,
    email: &str,
    password: &str,
    role: Role,
    address: Option<IpAddr>,
) -> Result<SignedUp, Error> {
    let email = normalize_email(email)?;
    password::check_strength(password, &email)?;
    // Counted once the form is valid: a typo does not use up an address's sign-ups.
    if let Some(address) = address {
        services
            .sign_up_limit
            .check(&address.to_string(), services.clock.now_ms())
            .await
            .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
    }
    // One argon2 computation either way (a hash for a new address, a verification for a taken
    // one), so the time taken does not tell either.
    if services.repo.credentials_by_email(&email).await?.is_some() {
        return Ok(match log_in(services, &email, password, address).await {
            Ok(account) => SignedUp::Account(account),
            Err(Error::BadCredentials) => SignedUp::NotSignedIn,
            Err(e) => return Err(e),
        });
    }
    let hash = password::hash(password.to_string()).await;
    match services.repo.create_account(&email, &hash, role).await {
        Ok(account) => Ok(SignedUp::Account(account)),
        // Taken a moment ago by another sign-up.
        Err(StoreError::Conflict) => Ok(SignedUp::NotSignedIn),
        Err(e) => Err(e.into()),
    }
}

/// Checks e-mail and password. Wrong e-mail and wrong password are one error, so nobody can
/// probe which addresses have accounts. Attempts are limited ([`crate::limiter::LoginLimiter`]):
/// refused from an address that guessed too often, slowed for an account guessed at from
/// everywhere.
pub async fn log_in(
    services: &Services,
    email: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<Account, Error> {
    let email = normalize_email(email).map_err(|_| Error::BadCredentials)?;
    let delay = services
        .login_limiter
        .attempt(&email, address, services.clock.now_ms())
        .await
        .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let credentials = services.repo.credentials_by_email(&email).await?;
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    if password::verify(password.to_string(), stored).await {
        services
            .login_limiter
            .succeeded(&email, address, services.clock.now_ms())
            .await;
        Ok(credentials.expect("verified against a stored hash").account)
    } else {
        Err(Error::BadCredentials)
    }
}

/// How long a session may live. Its inactivity limit is the session layer's (each recorded use
/// pushes the expiry forward); these add the absolute cap and how often a use is recorded (a
/// write of the session row, so not on every request).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionRules {
    /// A session ends this long after sign-in, however much it is used.
    pub max_ms: i64,
    /// A use is recorded (the expiry moved on) when the last one is older than this.
    pub touch_after_ms: i64,
}

impl Default for SessionRules {
    fn default() -> Self {
        Self {
            max_ms: 90 * 86_400_000,
            touch_after_ms: 3_600_000,
        }
    }
}

/// What to do with a session on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStep {
    Keep,
    /// Record this use (and sign-in time, for a session from before it was kept).
    Touch,
    /// Past the absolute cap: sign out.
    End,
}

/// The step for a session signed in at `signed_in_at`, last recorded at `seen_at`.
pub fn session_step(
    rules: SessionRules,
    signed_in_at: Option<i64>,
    seen_at: Option<i64>,
    now_ms: i64,
) -> SessionStep {
    match (signed_in_at, seen_at) {
        (Some(t), _) if now_ms - t >= rules.max_ms => SessionStep::End,
        (Some(_), Some(seen)) if now_ms - seen < rules.touch_after_ms => SessionStep::Keep,
        _ => SessionStep::Touch,
    }
}

/// The account behind a session, if it still exists.
pub async fn current(services: &Services, account_id: i64) -> Result<Option<Account>, Error> {
    Ok(services.repo.account(account_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_slide_with_use_up_to_a_cap() {
        const H: i64 = 3_600_000;
        const D: i64 = 24 * H;
        let rules = SessionRules::default();
        let now = 1_000 * D;
        let cases = [
            ("just signed in", Some(now), Some(now), SessionStep::Keep),
            (
                "used within the hour",
                Some(now - 5 * D),
                Some(now - H / 2),
                SessionStep::Keep,
            ),
            (
                "used daily, recorded again",
                Some(now - 29 * D),
                Some(now - D),
                SessionStep::Touch,
            ),
            (
                "day 31 of daily use",
                Some(now - 31 * D),
                Some(now - D),
                SessionStep::Touch,
            ),
            (
                "past the cap, used a minute ago",
                Some(now - 90 * D),
                Some(now - 60_000),
                SessionStep::End,
            ),
            (
                "from before sign-in times were kept",
                None,
                None,
                SessionStep::Touch,
            ),
        ];
        for (name, signed_in, seen, want) in cases {
            assert_eq!(session_step(rules, signed_in, seen, now), want, "{name}");
        }
    }
}
