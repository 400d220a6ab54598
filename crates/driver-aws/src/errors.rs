//! EC2's errors in the driver's terms: throttling and 5xx are worth a retry, a missing
//! resource is `NotFound`, other client errors are AWS refusing the request as invalid.

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use hybridstack_driver::DriverError;

pub(crate) fn aws<E, R>(what: &str, e: SdkError<E, R>) -> DriverError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().unwrap_or_default().to_string();
    let message = e.message().unwrap_or_default().to_string();
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return DriverError::Transient(format!("{what}: {}", aws_sdk_ec2::error::DisplayErrorContext(&e)))
        }
        _ => {}
    }
    let text = if message.is_empty() { format!("{what}: {code}") } else { format!("{what}: {code}: {message}") };
    if code.contains("Throttl")
        || code == "RequestLimitExceeded"
        || code.starts_with("InternalError")
        || code == "Unavailable"
    {
        DriverError::Transient(text)
    } else if code.ends_with(".NotFound") || code.ends_with("NotFound") {
        DriverError::NotFound(text)
    } else if code.is_empty() {
        DriverError::Failed(format!("{what}: {}", aws_sdk_ec2::error::DisplayErrorContext(&e)))
    } else {
        DriverError::Rejected(text)
    }
}
