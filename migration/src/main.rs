//! sea-orm-migration's CLI over this crate's migrations (`--features cli`).
use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(migration::Migrator).await;
}
