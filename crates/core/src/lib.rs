//! Service logic behind the OpenStack APIs: resource validation, policy, and the identity
//! service (tokens, assignments, catalog). HTTP stays in `api`; SQL stays in `store`.

pub mod clock;
pub mod compute;
mod error;
pub mod identity;
pub mod images;
pub mod installation;
pub mod keys;
pub mod network;
pub mod policy;
pub mod secrets;
pub mod volume;

pub use error::CoreError;
pub use hybridstack_store as store;
