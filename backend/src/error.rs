use model::FieldError;

use crate::StoreError;

/// What a service call can fail with. The HTTP boundary turns each into a status and a message
/// key; [`Error::Store`] is logged there and shown only as a generic failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    #[error("invalid input: {0}")]
    Invalid(#[from] FieldError),
    #[error("wrong e-mail or password")]
    BadCredentials,
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A feature this server was not configured for (e.g. licences without a key).
    #[error("not configured on this server")]
    Unavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}
