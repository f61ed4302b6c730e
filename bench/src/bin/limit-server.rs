//! The framework's own limit, for issue 16's side-by-side: axum +
//! async-graphql 7 with an HS256 access token verified per request and the
//! `tasks(first: 20)` page built from memory (no database). What
//! todo-graphql could reach if its own work cost nothing.
//!
//! `bench --scenario side-by-side` starts it beside the real server with the
//! same `JWT_SECRET`, so the tokens seeded through the real server work here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Schema, SimpleObject, ID};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

const TASKS_PER_USER: usize = 100;

#[derive(Clone, SimpleObject)]
struct Task {
    id: ID,
    title: String,
    completed: bool,
    updated_at: String,
}

#[derive(SimpleObject)]
struct TaskEdge {
    node: Task,
    cursor: String,
}

#[derive(SimpleObject)]
struct PageInfo {
    end_cursor: Option<String>,
    has_next_page: bool,
}

#[derive(SimpleObject)]
struct TaskConnection {
    edges: Vec<TaskEdge>,
    page_info: PageInfo,
    total_count: i64,
}

/// Each user's tasks, made on first sight and kept.
#[derive(Default)]
struct Store(RwLock<HashMap<String, Arc<Vec<Task>>>>);

impl Store {
    fn tasks(&self, user: &str) -> Arc<Vec<Task>> {
        if let Some(found) = self.0.read().unwrap_or_else(|p| p.into_inner()).get(user) {
            return found.clone();
        }
        let made: Arc<Vec<Task>> = Arc::new(
            (0..TASKS_PER_USER)
                .map(|i| Task {
                    id: ID(format!("00000000-0000-7000-8000-{i:012}")),
                    title: format!("task {i}"),
                    completed: i % 3 == 0,
                    updated_at: "2026-12-03T12:00:00.000Z".into(),
                })
                .collect(),
        );
        self.0.write().unwrap_or_else(|p| p.into_inner()).entry(user.to_owned()).or_insert(made).clone()
    }
}

struct User(String);

struct Query;

#[Object]
impl Query {
    async fn tasks(&self, ctx: &Context<'_>, first: Option<i32>) -> async_graphql::Result<TaskConnection> {
        let user = ctx.data::<User>()?;
        let all = ctx.data::<Arc<Store>>()?.tasks(&user.0);
        let first = usize::try_from(first.unwrap_or(20)).unwrap_or(20).min(100);
        let edges: Vec<TaskEdge> = all
            .iter()
            .take(first)
            .map(|t| TaskEdge { cursor: format!("c{}", t.id.as_str()), node: t.clone() })
            .collect();
        Ok(TaskConnection {
            page_info: PageInfo {
                end_cursor: edges.last().map(|e| e.cursor.clone()),
                has_next_page: all.len() > first,
            },
            edges,
            total_count: all.len() as i64,
        })
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
}

#[derive(Clone)]
struct AppState {
    schema: Schema<Query, EmptyMutation, EmptySubscription>,
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<async_graphql::Request>,
) -> Response {
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(claims) = token.and_then(|t| jsonwebtoken::decode::<Claims>(t, &state.key, &state.validation).ok()) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    Json(state.schema.execute(request.data(User(claims.claims.sub))).await).into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secret = std::env::var("JWT_SECRET")?;
    let addr: SocketAddr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into()).parse()?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["todo-graphql"]);
    validation.set_audience(&["todo-graphql"]);
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription).data(Arc::new(Store::default())).finish();
    let state = AppState {
        schema,
        key: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
        validation: Arc::new(validation),
    };
    let app =
        Router::new().route("/graphql", post(graphql)).route("/healthz", get(|| async { "ok" })).with_state(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    // The line `bench` waits for, as it does for todo-graphql's.
    eprintln!("listening on http://{}/graphql", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
