//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the migration files,
//! but cargo does not know to look at that directory by itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
