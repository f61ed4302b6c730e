//! Database entities of todo-graphql.
//!
//! Plain sea-orm models: no GraphQL, no HTTP. The server maps them to its own
//! output types, so adding a column never exposes it by accident.
//! Timestamps are UTC epoch milliseconds (`i64`): ordering, cursors and
//! equality are then byte-for-byte the same on SQLite and PostgreSQL.

pub mod api_token;
pub mod task;
pub mod user;
