//! Service logic behind the OpenStack APIs: validation, policy, quotas, placement, and the
//! identity, image, network, compute and volume services. HTTP stays in `api`; SQL stays in
//! `store`. Core decides and never changes a cloud: it asks clouds only through the
//! read-only query traits of `hybridstack-driver`, and writes operations (`operations`) that
//! the engine carries out. The calls that change a cloud are declared in
//! `hybridstack-driver-act`, which core does not depend on, so they cannot be named here:
//!
//! ```compile_fail
//! use hybridstack_driver_act::Compute;
//! ```
//!
//! `clouds` is the ground floor every service is built on; services are built in
//! dependency order (clouds, then images and networking, then compute with volumes) and
//! nothing is wired after construction.

pub mod clock;
pub mod clouds;
pub mod compute;
mod documents;
mod error;
pub mod identity;
pub mod images;
pub mod installation;
pub mod keys;
pub mod network;
pub mod operations;
pub mod policy;
pub mod secrets;
pub mod volume;

pub use error::CoreError;

/// Free-form attributes kept as a JSON object (Keystone's `extra`, Glance's properties).
pub type Extra = serde_json::Map<String, serde_json::Value>;
