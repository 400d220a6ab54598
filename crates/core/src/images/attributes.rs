//! Glance's image attributes by who sets them, shared by the API's create and core's patch:
//! everything else a body names is a free-form property.

/// The base attributes a user sets.
pub const SETTABLE: &[&str] =
    &["name", "visibility", "protected", "os_hidden", "min_disk", "min_ram", "container_format", "disk_format", "tags"];

/// What the server keeps and no request sets.
pub const SERVER_SET: &[&str] = &[
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "direct_url",
    "stores",
];
