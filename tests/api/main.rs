//! Black-box tests of CONTRACT.md through real HTTP. One binary, so the
//! crate compiles once; every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod accounts;
mod api_tokens;
mod config;
mod external;
mod faults;
mod fuzz_documents;
mod guard;
mod hostile;
mod http;
mod isolation;
mod limits;
mod metrics;
mod pagination;
mod properties;
mod rules;
mod schema;
mod security_log;
mod subscriptions;
mod tasks;
mod tokens;
mod traces;
mod validation;
mod web;
mod ws;
