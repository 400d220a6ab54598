//! Identity repositories (Keystone v3 resources; the records are core's types). Filtering
//! beyond keys happens in `core`: identity tables stay small (users, projects, roles), and
//! one query shape per table keeps SQLite and PostgreSQL behaving alike.

mod app_credentials;
mod assignments;
mod catalog;
mod domains;
mod groups;
mod projects;
mod revocations;
mod roles;
mod users;

pub use revocations::RevocationEvent;
