//! Every task statement, each carrying `owner_id = caller` itself
//! (CONTRACT §4): a task of someone else is indistinguishable from one that
//! does not exist. Pages use keyset cursors over (sort key, id), each order
//! served by one `(owner_id, key, id)` index.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use entity::{task, user};
use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait as _, LikeExpr, Query as SeaQuery, QueryStatementBuilder as _, SimpleExpr,
};
use std::sync::Arc;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    FromQueryResult, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, SqlErr,
    Statement, TransactionTrait, Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{now_ms, validate, ServiceError};
use crate::db::sqlite_reads::{self, SqliteReads};
use crate::events::{Event, EventBus, EventKind};

/// A bus that publishes nothing.
struct NoEvents;

#[async_trait::async_trait]
impl EventBus for NoEvents {
    async fn stage(&self, _: &DatabaseTransaction, _: Event) -> Result<(), sea_orm::DbErr> {
        Ok(())
    }
    fn committed(&self, _: Event) {}
}

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: u64 = 20;
/// Largest `first`/`last`.
pub const MAX_PAGE: u64 = 100;

/// Fields of a new task.
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub title: String,
    pub description: Option<String>,
    pub completed: Option<bool>,
}

/// A partial update: `None` leaves a field as it is; `description:
/// Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub completed: Option<bool>,
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub completed: Option<bool>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderField {
    #[default]
    CreatedAt,
    UpdatedAt,
    Title,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Asc,
    #[default]
    Desc,
}

/// Sort order of a list; newest first by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskOrder {
    pub field: OrderField,
    pub direction: Direction,
}

/// Relay-style window arguments.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// One page of tasks with their cursors.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<(String, task::Model)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// Every task matching the filter, when asked for and known from the
    /// page's own statement.
    pub total: Option<u64>,
}

/// Task operations over one database.
#[derive(Clone)]
pub struct Tasks {
    db: DatabaseConnection,
    events: Arc<dyn EventBus>,
    /// On SQLite, where reads run without sqlx's thread hop.
    reads: Option<Arc<SqliteReads>>,
}

impl Tasks {
    /// Publishes nothing: for readers (the event hub) and tools.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, events: Arc::new(NoEvents), reads: None }
    }

    /// Publishes every committed change on `events`.
    pub fn with_events(db: DatabaseConnection, events: Arc<dyn EventBus>) -> Self {
        Self { db, events, reads: None }
    }

    /// Reads through `reads` (the same SQLite file as the pool) instead of the pool.
    #[must_use]
    pub fn with_reads(mut self, reads: Option<Arc<SqliteReads>>) -> Self {
        self.reads = reads;
        self
    }

    /// Runs a select of whole tasks (and the count riding along as
    /// [`TOTAL`], when `with_total`). `heavy` reads, whose cost grows with
    /// the owner's tasks rather than the page, leave the runtime's threads.
    async fn select_tasks(
        &self,
        statement: Statement,
        with_total: bool,
        heavy: bool,
    ) -> Result<(Vec<task::Model>, Option<i64>), ServiceError> {
        let Some(reads) = &self.reads else {
            let results = self.db.query_all_raw(statement).await?;
            let total = match results.first() {
                Some(row) if with_total => Some(row.try_get::<i64>("", TOTAL)?),
                _ => None,
            };
            let rows =
                results.iter().map(|row| task::Model::from_query_result(row, "")).collect::<Result<Vec<_>, _>>()?;
            return Ok((rows, total));
        };
        let decode = if with_total { read_tasks::<true> } else { read_tasks::<false> };
        Ok(reads.query(statement, heavy, decode).await?)
    }

    /// `SELECT COUNT(*)` over `query`'s rows.
    async fn count_rows(&self, query: Select<task::Entity>, heavy: bool) -> Result<u64, ServiceError> {
        if self.reads.is_none() {
            return Ok(query.count(&self.db).await?);
        }
        let count = SeaQuery::select()
            .expr(Expr::col(Asterisk).count())
            .from_subquery(query.into_query(), "sub_query")
            .to_owned();
        self.scalar(self.db.get_database_backend().build(&count), heavy).await
    }

    /// Whether `query` has any row.
    async fn exists(&self, query: Select<task::Entity>, heavy: bool) -> Result<bool, ServiceError> {
        let backend = self.db.get_database_backend();
        let one = limited(query.select_only().expr(Expr::cust("1")), 1, backend);
        let statement = Statement {
            sql: format!("SELECT COUNT(*) AS n FROM ({}) AS sub_query", one.sql),
            values: one.values,
            db_backend: backend,
        };
        Ok(self.scalar(statement, heavy).await? > 0)
    }

    /// The one integer a statement answers (a count).
    async fn scalar(&self, statement: Statement, heavy: bool) -> Result<u64, ServiceError> {
        let Some(reads) = &self.reads else {
            let row = self.db.query_one_raw(statement).await?;
            let n = match row {
                Some(row) => row.try_get_by_index::<i64>(0)?,
                None => 0,
            };
            return Ok(u64::try_from(n).unwrap_or(0));
        };
        let n = reads.query(statement, heavy, read_integer).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Stages the event in the transaction, commits, then announces it.
    async fn commit(&self, txn: DatabaseTransaction, event: Event) -> Result<(), ServiceError> {
        Ok(crate::events::commit_and_publish(&self.events, txn, event).await?)
    }

    /// Creates a task owned by `owner`; no input can name another owner.
    pub async fn create(&self, owner: Uuid, input: NewTask) -> Result<task::Model, ServiceError> {
        let title = validate::title(&input.title)?;
        if let Some(d) = &input.description {
            validate::description(d)?;
        }
        let now = now_ms();
        let model = task::Model {
            id: Uuid::now_v7(),
            owner_id: owner,
            title_lower: title.to_lowercase(),
            title,
            description_lower: input.description.as_deref().map(str::to_lowercase),
            description: input.description,
            completed: input.completed.unwrap_or(false),
            created_at: now,
            updated_at: now,
        };
        let active = task::ActiveModel {
            id: Set(model.id),
            owner_id: Set(model.owner_id),
            title: Set(model.title.clone()),
            title_lower: Set(model.title_lower.clone()),
            description: Set(model.description.clone()),
            description_lower: Set(model.description_lower.clone()),
            completed: Set(model.completed),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = self.db.begin().await?;
        match task::Entity::insert(active).exec_without_returning(&txn).await {
            Ok(_) => {
                self.commit(txn, Event { user: owner, kind: EventKind::Created(model.id) }).await?;
                Ok(model)
            }
            // The owner's account is gone: the token outlived it.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
                Err(ServiceError::Unauthenticated)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One task of `owner`.
    pub async fn get(&self, owner: Uuid, id: Uuid) -> Result<task::Model, ServiceError> {
        let statement = limited(owned(owner).filter(task::Column::Id.eq(id)), 1, self.db.get_database_backend());
        let (rows, _) = self.select_tasks(statement, false, false).await?;
        rows.into_iter().next().ok_or(ServiceError::NotFound)
    }

    /// Applies a patch in one `UPDATE … WHERE id = ? AND owner_id = ?`.
    pub async fn update(&self, owner: Uuid, id: Uuid, patch: TaskPatch) -> Result<task::Model, ServiceError> {
        let mut update = task::Entity::update_many();
        let mut changed = false;
        if let Some(title) = &patch.title {
            let title = validate::title(title)?;
            update = update
                .col_expr(task::Column::TitleLower, Expr::value(title.to_lowercase()))
                .col_expr(task::Column::Title, Expr::value(title));
            changed = true;
        }
        if let Some(description) = &patch.description {
            if let Some(d) = description {
                validate::description(d)?;
            }
            update = update
                .col_expr(task::Column::Description, Expr::value(description.clone()))
                .col_expr(task::Column::DescriptionLower, Expr::value(description.as_deref().map(str::to_lowercase)));
            changed = true;
        }
        if let Some(completed) = patch.completed {
            update = update.col_expr(task::Column::Completed, Expr::value(completed));
            changed = true;
        }
        if changed {
            let txn = self.db.begin().await?;
            let result = update
                .col_expr(task::Column::UpdatedAt, Expr::value(now_ms()))
                .filter(task::Column::Id.eq(id))
                .filter(task::Column::OwnerId.eq(owner))
                .exec(&txn)
                .await?;
            self.commit_if_found(txn, result.rows_affected, Event { user: owner, kind: EventKind::Updated(id) })
                .await?;
        }
        match self.get(owner, id).await {
            Err(ServiceError::NotFound) => Err(self.missing(owner).await),
            other => other,
        }
    }

    /// Deletes in one `DELETE … WHERE id = ? AND owner_id = ?`.
    pub async fn delete(&self, owner: Uuid, id: Uuid) -> Result<Uuid, ServiceError> {
        let txn = self.db.begin().await?;
        let result = task::Entity::delete_many()
            .filter(task::Column::Id.eq(id))
            .filter(task::Column::OwnerId.eq(owner))
            .exec(&txn)
            .await?;
        self.commit_if_found(txn, result.rows_affected, Event { user: owner, kind: EventKind::Deleted(id) }).await?;
        Ok(id)
    }

    /// Commits a one-row change, or rolls back and explains why nothing matched.
    async fn commit_if_found(&self, txn: DatabaseTransaction, rows: u64, event: Event) -> Result<(), ServiceError> {
        if rows == 0 {
            drop(txn);
            return Err(self.missing(event.user).await);
        }
        self.commit(txn, event).await
    }

    /// Nothing matched: `NotFound`, unless the caller's account itself is
    /// gone, which makes every mutation `Unauthenticated` (CONTRACT §5).
    pub async fn missing(&self, owner: Uuid) -> ServiceError {
        match user::Entity::find_by_id(owner).count(&self.db).await {
            Ok(0) => ServiceError::Unauthenticated,
            Ok(_) => ServiceError::NotFound,
            Err(e) => e.into(),
        }
    }

    /// How many of `owner`'s tasks match `filter`, ignoring the window.
    pub async fn count(&self, owner: Uuid, filter: &TaskFilter) -> Result<u64, ServiceError> {
        self.count_rows(filtered(owner, filter), true).await
    }

    /// One window of `owner`'s tasks by keyset pagination. With
    /// `with_total`, the same statement also counts every task matching the
    /// filter (a scalar subquery the database runs once), so a page and its
    /// `totalCount` cost one round trip.
    pub async fn page(
        &self,
        owner: Uuid,
        filter: &TaskFilter,
        order: TaskOrder,
        args: &PageArgs,
        with_total: bool,
    ) -> Result<Page, ServiceError> {
        super::validate::search(filter.search.as_deref())?;
        let window = Window::new(order, args)?;
        // Walking backwards (`last`) reads in the opposite direction, then flips.
        let read_dir = if window.backward { order.direction.reversed() } else { order.direction };
        let key = order.field.column();

        let mut query = filtered(owner, filter);
        if with_total {
            let count = filtered(owner, filter).select_only().expr(Expr::col(Asterisk).count()).into_query();
            query = query.expr_as(SimpleExpr::SubQuery(None, Box::new(count.into_sub_query_statement())), TOTAL);
        }
        if let Some(cursor) = &window.cursor {
            query = query.filter(cursor.beyond(order.field, read_dir));
        }
        let query = query.order_by(key, read_dir.sql()).order_by(task::Column::Id, read_dir.sql());
        let statement = limited(query, window.size + 1, self.db.get_database_backend());
        // A search scans every task of the owner: off the runtime's threads.
        let heavy = filter.search.as_deref().is_some_and(|s| !s.is_empty());
        let (mut rows, total) = self.select_tasks(statement, with_total, heavy).await?;
        let total = match total {
            _ if !with_total => None,
            Some(n) => Some(u64::try_from(n).unwrap_or(0)),
            // No row carried the count: from the start, that means none match.
            None => window.cursor.is_none().then_some(0),
        };
        let more = rows.len() as u64 > window.size;
        rows.truncate(usize::try_from(window.size).unwrap_or(usize::MAX));
        if window.backward {
            rows.reverse();
        }

        // Is there anything on the other side of the cursor?
        let behind = match &window.cursor {
            None => false,
            Some(cursor) => {
                let query = filtered(owner, filter).filter(cursor.beyond(order.field, read_dir).not());
                self.exists(query, heavy).await?
            }
        };
        let (has_next_page, has_previous_page) = if window.backward { (behind, more) } else { (more, behind) };
        let items = rows.into_iter().map(|t| (Cursor::of(order.field, &t).encode(), t)).collect();
        Ok(Page { items, has_next_page, has_previous_page, total })
    }
}

/// The column alias of the count riding along with a page.
const TOTAL: &str = "total_count";

/// The one integer a statement answers (a count).
fn read_integer(conn: &rusqlite::Connection, sql: &str, params: &[rusqlite::types::Value]) -> rusqlite::Result<i64> {
    conn.prepare_cached(sql)?.query_row(rusqlite::params_from_iter(params.iter()), |row| row.get(0))
}

/// Decodes whole tasks straight from SQLite's row, columns found by name
/// once per statement.
fn read_tasks<const WITH_TOTAL: bool>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[rusqlite::types::Value],
) -> rusqlite::Result<(Vec<task::Model>, Option<i64>)> {
    let mut statement = conn.prepare_cached(sql)?;
    let at = |name: &str| statement.column_index(name);
    let (id, owner_id, title, title_lower) = (at("id")?, at("owner_id")?, at("title")?, at("title_lower")?);
    let (description, description_lower, completed) = (at("description")?, at("description_lower")?, at("completed")?);
    let (created_at, updated_at) = (at("created_at")?, at("updated_at")?);
    let total_at = if WITH_TOTAL { Some(at(TOTAL)?) } else { None };
    let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
    let mut tasks = Vec::with_capacity(usize::try_from(DEFAULT_PAGE + 1).unwrap_or(0));
    let mut total = None;
    while let Some(row) = rows.next()? {
        if let Some(at) = total_at {
            total = Some(row.get(at)?);
        }
        tasks.push(task::Model {
            id: sqlite_reads::uuid(row, id)?,
            owner_id: sqlite_reads::uuid(row, owner_id)?,
            title: row.get(title)?,
            title_lower: row.get(title_lower)?,
            description: row.get(description)?,
            description_lower: row.get(description_lower)?,
            completed: row.get(completed)?,
            created_at: row.get(created_at)?,
            updated_at: row.get(updated_at)?,
        });
    }
    Ok((tasks, total))
}

/// `query` with `LIMIT n` written into the SQL rather than bound: SQLite
/// (3.47+) plans with a bound LIMIT's value, so rebinding it on every page
/// expired the cached statement and re-prepared it (15 % of a page's
/// instructions in callgrind). `n` is a number, never text from a client.
fn limited<E: EntityTrait>(query: Select<E>, n: u64, backend: sea_orm::DbBackend) -> Statement {
    let mut statement = query.build(backend);
    statement.sql.push_str(" LIMIT ");
    statement.sql.push_str(&n.to_string());
    statement
}

fn owned(owner: Uuid) -> Select<task::Entity> {
    task::Entity::find().filter(task::Column::OwnerId.eq(owner))
}

fn filtered(owner: Uuid, filter: &TaskFilter) -> Select<task::Entity> {
    let mut query = owned(owner);
    if let Some(completed) = filter.completed {
        query = query.filter(task::Column::Completed.eq(completed));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        let like = |col: task::Column| Expr::col(col).like(LikeExpr::new(pattern.clone()).escape('\\'));
        query = query
            .filter(Condition::any().add(like(task::Column::TitleLower)).add(like(task::Column::DescriptionLower)));
    }
    query
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl OrderField {
    fn column(self) -> task::Column {
        match self {
            Self::CreatedAt => task::Column::CreatedAt,
            Self::UpdatedAt => task::Column::UpdatedAt,
            Self::Title => task::Column::TitleLower,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Self::CreatedAt => "c",
            Self::UpdatedAt => "u",
            Self::Title => "t",
        }
    }
}

impl Direction {
    fn reversed(self) -> Self {
        match self {
            Self::Asc => Self::Desc,
            Self::Desc => Self::Asc,
        }
    }

    fn sql(self) -> Order {
        match self {
            Self::Asc => Order::Asc,
            Self::Desc => Order::Desc,
        }
    }
}

/// The validated window of one `tasks` call.
struct Window {
    size: u64,
    backward: bool,
    cursor: Option<Cursor>,
}

impl Window {
    fn new(order: TaskOrder, args: &PageArgs) -> Result<Self, ServiceError> {
        let size = |field: &'static str, n: i32| match u64::try_from(n) {
            Ok(n) if n <= MAX_PAGE => Ok(n),
            Ok(_) => Err(ServiceError::bad_input(field, format!("`{field}` may not exceed {MAX_PAGE}"))),
            Err(_) => Err(ServiceError::bad_input(field, format!("`{field}` may not be negative"))),
        };
        let (size, backward) = match (args.first, args.last) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::bad_input("last", "Give `first` or `last`, not both"));
            }
            (Some(n), None) => (size("first", n)?, false),
            (None, Some(n)) => (size("last", n)?, true),
            (None, None) => (DEFAULT_PAGE, args.before.is_some() && args.after.is_none()),
        };
        let cursor = match (backward, &args.after, &args.before) {
            (_, Some(_), Some(_)) => {
                return Err(ServiceError::bad_input("before", "Give `after` or `before`, not both"));
            }
            (false, Some(c), None) => Some(Cursor::decode(c, order.field, "after")?),
            (true, None, Some(c)) => Some(Cursor::decode(c, order.field, "before")?),
            (false, None, Some(_)) => {
                return Err(ServiceError::bad_input("before", "`before` goes with `last`"));
            }
            (true, Some(_), None) => return Err(ServiceError::bad_input("after", "`after` goes with `first`")),
            (_, None, None) => None,
        };
        Ok(Self { size, backward, cursor })
    }
}

/// Opaque position in one ordering: the sort key and the id of a task.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// Which ordering (`c`, `u`, `t`): a cursor is only valid for its own.
    o: String,
    k: Key,
    i: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Key {
    Millis(i64),
    Text(String),
}

impl Cursor {
    fn of(field: OrderField, task: &task::Model) -> Self {
        let k = match field {
            OrderField::CreatedAt => Key::Millis(task.created_at),
            OrderField::UpdatedAt => Key::Millis(task.updated_at),
            OrderField::Title => Key::Text(task.title_lower.clone()),
        };
        Self { o: field.tag().to_owned(), k, i: task.id }
    }

    fn encode(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(raw: &str, field: OrderField, arg: &'static str) -> Result<Self, ServiceError> {
        let bad = || ServiceError::bad_input(arg, format!("`{arg}` is not a valid cursor for this order"));
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let key_fits = matches!(
            (field, &cursor.k),
            (OrderField::Title, Key::Text(_)) | (OrderField::CreatedAt | OrderField::UpdatedAt, Key::Millis(_))
        );
        if cursor.o != field.tag() || !key_fits {
            return Err(bad());
        }
        Ok(cursor)
    }

    /// Rows strictly after this cursor when reading in `dir`.
    fn beyond(&self, field: OrderField, dir: Direction) -> Condition {
        let key = field.column();
        let value: Value = match &self.k {
            Key::Millis(v) => (*v).into(),
            Key::Text(v) => v.clone().into(),
        };
        let (key_past, id_past): (SimpleExpr, SimpleExpr) = match dir {
            Direction::Desc => (key.lt(value.clone()), task::Column::Id.lt(self.i)),
            Direction::Asc => (key.gt(value.clone()), task::Column::Id.gt(self.i)),
        };
        Condition::any().add(key_past).add(Condition::all().add(key.eq(value)).add(id_past))
    }
}
