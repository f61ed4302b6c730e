//! SQLite reads without a thread hop. sqlx runs each SQLite statement on a
//! worker thread and sends rows back over a channel (two context switches
//! per statement, a quarter of a `tasks` request's CPU on this project's
//! box); a read that hits SQLite's page cache costs microseconds, so task
//! reads run here, on the calling thread, through read-only connections of
//! their own. Writes stay on sqlx's pool: one writer at a time, WAL,
//! `synchronous = NORMAL` and the busy timeout exactly as before; a reader
//! on WAL sees every transaction committed before its statement began.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{ffi::ErrorCode, Connection, OpenFlags};
use sea_orm::sea_query::{Value, Values};
use sea_orm::{DbErr, RuntimeErr};

/// How long a read waits on a locked database before failing, as writers do.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept; more are opened when more threads read at once.
const MAX_IDLE: usize = 8;

/// Read-only connections to one SQLite file, handed to one thread at a time.
pub struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReads").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteReads {
    /// Reads from the file `path` (already created and migrated, in WAL mode).
    /// Opening one connection now makes a bad path fail at start-up.
    pub fn open(path: &Path) -> Result<Arc<Self>, DbErr> {
        let reads = Self { path: path.to_owned(), idle: Mutex::new(Vec::new()) };
        let first = reads.connect().map_err(to_db_err)?;
        reads.give_back(first);
        Ok(Arc::new(reads))
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        // Inline reads never wait: a busy database sends the read to the
        // blocking pool, where it waits like any writer would (`read`).
        conn.busy_timeout(Duration::ZERO)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Runs `job` on this thread; only if the database is locked (a
    /// checkpoint truncating the WAL, say) does it move to the blocking pool
    /// and wait up to the busy timeout there, so no runtime thread blocks.
    pub async fn read<R, F>(self: &Arc<Self>, job: F) -> Result<R, DbErr>
    where
        F: Fn(&Connection) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        match self.run(&job, Duration::ZERO) {
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => self.read_blocking(job).await,
            other => other.map_err(to_db_err),
        }
    }

    /// Runs a statement sea-orm built, its values bound as sqlx binds them,
    /// and decodes its rows with `decode`; `heavy` as in [`Self::read_blocking`].
    pub async fn query<R: Send + 'static>(
        self: &Arc<Self>,
        statement: sea_orm::Statement,
        heavy: bool,
        decode: fn(&Connection, &str, &[rusqlite::types::Value]) -> rusqlite::Result<R>,
    ) -> Result<R, DbErr> {
        let params = statement.values.as_ref().map(params).transpose()?.unwrap_or_default();
        let sql = statement.sql;
        let job = move |conn: &Connection| decode(conn, &sql, &params);
        if heavy {
            self.read_blocking(job).await
        } else {
            self.read(job).await
        }
    }

    /// Runs `job` in the blocking pool: for reads whose cost grows with the
    /// data (a search scans every task of its owner).
    pub async fn read_blocking<R, F>(self: &Arc<Self>, job: F) -> Result<R, DbErr>
    where
        F: Fn(&Connection) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let reads = self.clone();
        tokio::task::spawn_blocking(move || reads.run(&job, BUSY_TIMEOUT))
            .await
            .map_err(|e| DbErr::Query(RuntimeErr::Internal(format!("SQLite read task: {e}"))))?
            .map_err(to_db_err)
    }

    fn run<R>(&self, job: &dyn Fn(&Connection) -> rusqlite::Result<R>, wait: Duration) -> rusqlite::Result<R> {
        let conn = self.take()?;
        if !wait.is_zero() {
            conn.busy_timeout(wait)?;
        }
        let result = job(&conn);
        if !wait.is_zero() && conn.busy_timeout(Duration::ZERO).is_err() {
            return result;
        }
        self.give_back(conn);
        result
    }
}

/// A statement's bound values as SQLite parameters, as sqlx would bind them
/// (a UUID as its 16 bytes, a bool as 0 or 1).
pub fn params(values: &Values) -> Result<Vec<rusqlite::types::Value>, DbErr> {
    use rusqlite::types::Value as Sql;
    values
        .0
        .iter()
        .map(|v| {
            Ok(match v {
                Value::Bool(v) => v.map_or(Sql::Null, |b| Sql::Integer(i64::from(b))),
                Value::Int(v) => v.map_or(Sql::Null, |n| Sql::Integer(i64::from(n))),
                Value::BigInt(v) => v.map_or(Sql::Null, Sql::Integer),
                Value::Unsigned(v) => v.map_or(Sql::Null, |n| Sql::Integer(i64::from(n))),
                Value::BigUnsigned(v) => match v {
                    None => Sql::Null,
                    Some(n) => Sql::Integer(i64::try_from(*n).map_err(|_| unsupported(v))?),
                },
                Value::String(v) => v.as_ref().map_or(Sql::Null, |s| Sql::Text(s.clone())),
                Value::Bytes(v) => v.as_ref().map_or(Sql::Null, |b| Sql::Blob(b.clone())),
                Value::Uuid(v) => v.map_or(Sql::Null, |u| Sql::Blob(u.as_bytes().to_vec())),
                other => return Err(unsupported(other)),
            })
        })
        .collect()
}

fn unsupported(value: &impl std::fmt::Debug) -> DbErr {
    DbErr::Query(RuntimeErr::Internal(format!("no SQLite parameter for {value:?}")))
}

/// A UUID column as sqlx stores it on SQLite (16 bytes), or as text.
pub fn uuid(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<uuid::Uuid> {
    use rusqlite::types::{FromSqlError, ValueRef};
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Blob, e)
    };
    match row.get_ref(index)? {
        ValueRef::Blob(b) => uuid::Uuid::from_slice(b).map_err(|e| bad(Box::new(e))),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(Box::new(FromSqlError::InvalidType))),
        _ => Err(bad(Box::new(FromSqlError::InvalidType))),
    }
}

fn to_db_err(e: rusqlite::Error) -> DbErr {
    DbErr::Query(RuntimeErr::Internal(format!("SQLite read: {e}")))
}

#[cfg(test)]
mod tests {
    // Unit tests only, never a request path: a failed unwrap is the test failing.
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn database() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let conn = Connection::open(&path).unwrap();
        let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
        conn.execute_batch("CREATE TABLE t (id BLOB, n INTEGER); INSERT INTO t VALUES (NULL, 1);").unwrap();
        (dir, path)
    }

    fn count(conn: &Connection) -> rusqlite::Result<i64> {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_locked_database_is_waited_for_off_the_runtime_and_then_read() {
        let (_dir, path) = database();
        let reads = SqliteReads::open(&path).unwrap();
        // A writer holding the file exclusively: an inline read gets SQLITE_BUSY.
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; INSERT INTO t VALUES (NULL, 2);")
            .unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            holder.execute_batch("COMMIT").unwrap();
            drop(holder);
        });
        // Not an error: the read moved to the blocking pool, waited, and saw the commit.
        assert_eq!(reads.read(count).await.unwrap(), 2);
        release.join().unwrap();
        // The connection went back to the pool without its busy timeout.
        assert_eq!(reads.read(count).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn values_bind_as_sqlx_stores_them_and_uuids_read_back() {
        let (_dir, path) = database();
        let writer = Connection::open(&path).unwrap();
        let id = uuid::Uuid::now_v7();
        let values = Values(vec![Value::Uuid(Some(id)), Value::Bool(Some(true))]);
        writer.execute("INSERT INTO t VALUES (?, ?)", rusqlite::params_from_iter(params(&values).unwrap())).unwrap();
        let reads = SqliteReads::open(&path).unwrap();
        let (got, n) = reads
            .read(|c| {
                c.query_row("SELECT id, n FROM t WHERE id IS NOT NULL", [], |r| Ok((uuid(r, 0)?, r.get::<_, i64>(1)?)))
            })
            .await
            .unwrap();
        assert_eq!((got, n), (id, 1));
        assert!(params(&Values(vec![Value::Float(Some(1.5))])).is_err(), "an unknown kind of value is refused");
    }
}
