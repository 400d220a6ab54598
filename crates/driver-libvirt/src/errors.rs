//! libvirt errors in the driver's terms: what is gone, what may pass, what is final.

use hybridstack_driver::DriverError;
use virt::error::{Error, ErrorNumber};

pub(crate) fn is_missing(e: &Error) -> bool {
    matches!(
        e.code(),
        virt::enumutil::Enum::Known(
            ErrorNumber::NoDomain | ErrorNumber::NoNetwork | ErrorNumber::NoStorageVolume | ErrorNumber::NoStoragePool
        )
    )
}

pub(crate) fn lv(what: &str, e: Error) -> DriverError {
    let m = format!("{what}: {}", e.message());
    match e.code() {
        virt::enumutil::Enum::Known(
            ErrorNumber::NoDomain | ErrorNumber::NoNetwork | ErrorNumber::NoStorageVolume | ErrorNumber::NoStoragePool,
        ) => DriverError::NotFound(m),
        virt::enumutil::Enum::Known(
            ErrorNumber::SystemError | ErrorNumber::Rpc | ErrorNumber::NoConnect | ErrorNumber::OperationTimeout,
        ) => DriverError::Transient(m),
        _ => DriverError::Failed(m),
    }
}

pub(crate) fn fail(m: String) -> DriverError {
    DriverError::Failed(m)
}
