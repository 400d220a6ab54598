//! Image repositories (Glance v2): images with tags, members and per-store locations.

mod image;
mod locations;
mod members;

pub use image::{Image, ImageQuery};
pub use locations::ImageLocation;
pub use members::ImageMember;
