//! Signing up and signing in. Sessions themselves live in the HTTP layer (tower-sessions); this
//! module only says who someone is.

use std::net::IpAddr;

use model::account::normalize_email;
use model::{Account, Role};

use crate::{Error, Services, StoreError, password};

pub async fn sign_up(
    services: &Services,
    email: &str,
    password: &str,
    role: Role,
) -> Result<Account, Error> {
    let email = normalize_email(email)?;
    password::check_strength(password, &email)?;
    let hash = password::hash(password.to_string()).await;
    services
        .repo
        .create_account(&email, &hash, role)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => Error::EmailTaken,
            other => other.into(),
        })
}

/// Checks e-mail and password. Wrong e-mail and wrong password are one error, so nobody can
/// probe which addresses have accounts.
pub async fn log_in(
    services: &Services,
    email: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<Account, Error> {
    let email = normalize_email(email).map_err(|_| Error::BadCredentials)?;
    services
        .login_limiter
        .check(&email, address)
        .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
    let credentials = services.repo.credentials_by_email(&email).await?;
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    if password::verify(password.to_string(), stored).await {
        Ok(credentials.expect("verified against a stored hash").account)
    } else {
        Err(Error::BadCredentials)
    }
}

/// The account behind a session, if it still exists.
pub async fn current(services: &Services, account_id: i64) -> Result<Option<Account>, Error> {
    Ok(services.repo.account(account_id).await?)
}
