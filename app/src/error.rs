//! The one error that crosses from the server to the browser. It carries what the user needs
//! (a message key, which field) and never the text of an internal failure.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("sign-in required")]
    Unauthenticated,
    #[error("not found")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    #[error("invalid {field}: {key}")]
    Invalid { field: String, key: String },
    #[error("wrong e-mail or password")]
    BadCredentials,
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("not available on this server")]
    Unavailable,
    #[error("internal error")]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("request failed")]
    Request,
}

impl FromServerFnError for AppError {
    type Encoder = crate::codec::JsonCodec;

    fn from_server_fn_error(_: ServerFnErrorErr) -> Self {
        AppError::Request
    }
}

impl AppError {
    /// The translation key of the message the user sees.
    pub fn key(&self) -> &str {
        match self {
            AppError::Unauthenticated => "error.unauthenticated",
            AppError::NotFound => "error.not_found",
            AppError::Forbidden => "error.forbidden",
            AppError::Invalid { key, .. } => key,
            AppError::BadCredentials => "error.bad_credentials",
            AppError::RateLimited { .. } => "error.rate_limited",
            AppError::Unavailable => "error.unavailable",
            AppError::Internal => "error.internal",
            AppError::Request => "error.request",
        }
    }

    /// The field the error is about, for highlighting it.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            AppError::BadCredentials => Some("email"),
            _ => None,
        }
    }

    /// The user's message in their language.
    pub fn message(&self, i18n: crate::i18n::I18n) -> String {
        match self {
            AppError::RateLimited { retry_after_secs } => {
                i18n.t_with(self.key(), &[("seconds", &retry_after_secs.to_string())])
            }
            _ => i18n.t(self.key()),
        }
    }

    #[cfg(feature = "ssr")]
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Request => StatusCode::BAD_REQUEST,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<backend::Error> for AppError {
    fn from(err: backend::Error) -> Self {
        use backend::Error as E;
        match err {
            E::NotFound => AppError::NotFound,
            E::Forbidden => AppError::Forbidden,
            E::Invalid(e) => AppError::Invalid {
                field: e.field.to_string(),
                key: e.key.to_string(),
            },
            E::BadCredentials => AppError::BadCredentials,
            E::RateLimited { retry_after_secs } => AppError::RateLimited { retry_after_secs },
            E::Unavailable => AppError::Unavailable,
            E::Store(e) => {
                tracing::error!(error = %e, "storage failed");
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<model::FieldError> for AppError {
    fn from(e: model::FieldError) -> Self {
        AppError::Invalid {
            field: e.field.to_string(),
            key: e.key.to_string(),
        }
    }
}
