//! The server side of Ampwise that is not HTTP: storage, accounts, sessions' users, and the one
//! place that decides who may see or change a site.
//!
//! Server functions and HTTP handlers read a [`Services`] from their context and call the plain
//! functions here, so tests can call the same functions without a browser or a router.

pub mod access;
pub mod accounts;
pub mod db;
mod error;
pub mod licences;
pub mod limiter;
pub mod password;
pub mod readings;
pub mod sites;
pub mod telegram;

use std::sync::Arc;

pub use db::{Database, Repo, StoreError};
pub use error::Error;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub repo: Arc<dyn Repo>,
    pub login_limiter: Arc<limiter::LoginLimiter>,
    /// Verifies licence codes; without it, redeeming answers [`Error::Unavailable`].
    pub licence_key: Option<licences::LicenceKey>,
}

impl Services {
    pub fn new(repo: Arc<dyn Repo>) -> Self {
        Self {
            repo,
            login_limiter: Arc::new(limiter::LoginLimiter::default()),
            licence_key: None,
        }
    }

    pub fn with_licence_key(mut self, key: Option<licences::LicenceKey>) -> Self {
        self.licence_key = key;
        self
    }
}
