use hybridstack_store::StoreError;
use thiserror::Error;

/// What went wrong, in the terms the API maps to status codes. `Internal` carries detail
/// for the log only; the API shows a generic message.
#[derive(Debug, Error)]
pub enum CoreError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A feature hybridstack deliberately does not offer (a 400 naming it, never a 5xx).
    #[error("{0}")]
    NotSupported(String),
    /// The request body is larger than a limit or quota allows.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request's Content-Type is not one this operation takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn not_found(kind: &str, id: &str) -> Self {
        CoreError::NotFound(format!("Could not find {kind}: {id}."))
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CoreError::NotFound("Resource not found.".into()),
            StoreError::Conflict(m) => {
                CoreError::Conflict(format!("Conflict occurred attempting to store resource: {m}"))
            }
            other => CoreError::Internal(other.to_string()),
        }
    }
}

/// Maps a store miss to a 404 that names what was looked up.
pub(crate) trait OrNotFound<T> {
    fn or_not_found(self, kind: &str, id: &str) -> Result<T, CoreError>;
}

impl<T> OrNotFound<T> for Result<T, StoreError> {
    fn or_not_found(self, kind: &str, id: &str) -> Result<T, CoreError> {
        match self {
            Ok(v) => Ok(v),
            Err(StoreError::NotFound) => Err(CoreError::not_found(kind, id)),
            Err(e) => Err(e.into()),
        }
    }
}
