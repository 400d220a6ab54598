//! Image repositories (Glance v2): images with tags, members and per-store locations. The
//! records are core's `Image`, `ImageMember` and `ImageLocation`.

mod image;
mod locations;
mod members;

pub use image::ImageQuery;
