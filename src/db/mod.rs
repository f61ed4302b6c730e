//! Connecting to the database and migrating it.

pub mod sqlite_reads;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Opens the pool. SQLite gets WAL, a busy timeout (concurrent writers
/// wait instead of failing) and foreign keys; every backend gets short
/// acquire timeouts, so a dead database fails requests fast. SQLite
/// connections are not pinged before each use: a local file cannot drop
/// a connection, and the ping is a round trip to sqlx's worker thread.
pub async fn connect(url: &str, max_connections: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_millis(1500))
        .idle_timeout(Duration::from_secs(300));
    if url.starts_with("sqlite:") {
        options
            .max_connections(max_connections.unwrap_or(8))
            .min_connections(1)
            .test_before_acquire(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
    } else {
        options.max_connections(max_connections.unwrap_or(16)).min_connections(1);
    }
    Database::connect(options).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The pool's open connections and how many of them are idle, for
/// `db_pool_connections`.
pub fn pool_state(db: &DatabaseConnection) -> (u32, u32) {
    use sea_orm::DatabaseConnectionType as Kind;
    match &db.inner {
        Kind::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX))
        }
        Kind::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX))
        }
        _ => (0, 0),
    }
}
