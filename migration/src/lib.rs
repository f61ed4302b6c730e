//! Schema migrations. The server applies pending ones at start-up
//! (`todo-graphql migrate` does only that); `cargo run -p migration
//! --features cli -- --help` is sea-orm's own CLI for the same list.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_users_and_tasks;
mod m20261203_000001_api_tokens;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261125_000001_users_and_tasks::Migration), Box::new(m20261203_000001_api_tokens::Migration)]
    }
}
