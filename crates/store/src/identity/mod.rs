//! Identity repositories (Keystone v3 resources). Filtering beyond keys happens in `core`:
//! identity tables stay small (users, projects, roles), and one query shape per table keeps
//! SQLite and PostgreSQL behaving alike.

mod app_credentials;
mod assignments;
mod catalog;
mod domains;
mod groups;
mod projects;
mod revocations;
mod roles;
mod users;

pub use app_credentials::AppCredential;
pub use assignments::{ActorType, Assignment, TargetType};
pub use catalog::{Endpoint, Region, Service};
pub use domains::Domain;
pub use groups::Group;
pub use projects::Project;
pub use revocations::RevocationEvent;
pub use roles::Role;
pub use users::User;

pub(crate) use crate::Extra;
