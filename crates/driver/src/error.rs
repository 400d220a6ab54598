use thiserror::Error;

#[derive(Debug, Clone, Error)]
pub enum DriverError {
    /// The cloud cannot do this at all; the API turns it into a clear 4xx naming the cloud.
    #[error("not supported by this cloud: {0}")]
    NotSupported(String),
    /// The backend refused the request as invalid (its rules, not a transient fault).
    #[error("rejected by the cloud: {0}")]
    Rejected(String),
    #[error("not found in the cloud: {0}")]
    NotFound(String),
    /// Worth retrying: timeouts, throttling, a backend restarting.
    #[error("transient cloud failure: {0}")]
    Transient(String),
    #[error("cloud failure: {0}")]
    Failed(String),
}
