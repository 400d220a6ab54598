// `sqlx::migrate!` embeds the migration files at compile time; without this, adding one
// would not rebuild the crate, and a binary would ship without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
