//! `fanout`: sockets subscribed to `taskEvents` over many users while
//! mutations arrive at a steady rate. Reports event latency (mutation
//! response to event received), lost and misdelivered events, and server
//! memory per idle socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::server::Server;
use crate::Args;

/// A received event: which socket's user, which task, when.
struct Received {
    user: usize,
    task: String,
    at: Instant,
}

pub async fn run(server: &Server, args: &Args) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let gql = format!("{}/graphql", server.base);
    let users = args.fanout_users.max(1);
    let per_user = (args.sockets / users).max(1);

    let mut tokens = Vec::with_capacity(users);
    let run_id = crate::http::unique_tag();
    for i in 0..users {
        tokens.push(crate::http::signup(&http, &gql, &format!("fanout-{run_id}-{i}@example.com")).await?);
    }

    let rss_before = server.rss_kib();
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let ws_url = gql.replacen("http://", "ws://", 1);
    let mut sockets = Vec::new();
    for (user, token) in tokens.iter().enumerate() {
        for _ in 0..per_user {
            sockets.push(open(&ws_url, token, user, received.clone()).await?);
        }
    }
    // Let every subscription start, then weigh the idle sockets.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = server.rss_kib();

    // Mutations at a steady rate, round-robin over users.
    let owners: Arc<Mutex<HashMap<String, (usize, Instant)>>> = Arc::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(1) as f64));
    let deadline = Instant::now() + Duration::from_secs(args.fanout_seconds);
    let mut inflight = Vec::new();
    let mut n = 0usize;
    while Instant::now() < deadline {
        ticker.tick().await;
        let user = n % users;
        n += 1;
        let (http, gql, token, owners) = (http.clone(), gql.clone(), tokens[user].clone(), owners.clone());
        inflight.push(tokio::spawn(async move {
            let r: Value = http
                .post(&gql)
                .bearer_auth(token)
                .json(&json!({ "query": "mutation { createTask(input: {title: \"fanout\"}) { id } }" }))
                .send()
                .await?
                .json()
                .await?;
            let id = r["data"]["createTask"]["id"].as_str().context("createTask failed")?.to_owned();
            owners.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.insert(id, (user, Instant::now()));
            anyhow::Ok(())
        }));
    }
    let mut failed = 0;
    for task in inflight {
        if !matches!(task.await, Ok(Ok(()))) {
            failed += 1;
        }
    }
    // Give the last events time to land.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for s in sockets {
        s.abort();
    }

    let owners = owners.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let received = received.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut misdelivered = 0usize;
    let mut per_task: HashMap<&str, usize> = HashMap::new();
    for r in received.iter() {
        match owners.get(&r.task) {
            Some((owner, _)) if *owner != r.user => misdelivered += 1,
            Some((_, answered)) => {
                *per_task.entry(r.task.as_str()).or_default() += 1;
                let us = r.at.saturating_duration_since(*answered).as_micros().max(1);
                latency.record(u64::try_from(us).unwrap_or(u64::MAX).min(60_000_000))?;
            }
            None => {}
        }
    }
    let expected = owners.len() * per_user;
    let delivered: usize = per_task.values().sum();
    if owners.is_empty() {
        bail!("no mutation succeeded");
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    let per_socket = match (rss_before, rss_idle) {
        (Some(a), Some(b)) => json!(((b.saturating_sub(a)) as f64 / (users * per_user) as f64 * 10.0).round() / 10.0),
        _ => Value::Null,
    };
    Ok(json!({
        "scenario": "fanout",
        "users": users,
        "sockets": users * per_user,
        "mutations": owners.len(),
        "mutation_errors": failed,
        "events_expected": expected,
        "events_delivered": delivered,
        "events_lost": expected.saturating_sub(delivered),
        "events_misdelivered": misdelivered,
        "latency_p50_ms": ms(0.5),
        "latency_p99_ms": ms(0.99),
        "latency_max_ms": latency.max() as f64 / 1000.0,
        "rss_before_sockets_kib": rss_before,
        "rss_idle_sockets_kib": rss_idle,
        "kib_per_idle_socket": per_socket,
    }))
}

/// Opens one socket for `user`, subscribes, and records every event.
async fn open(
    url: &str,
    token: &str,
    user: usize,
    received: Arc<Mutex<Vec<Received>>>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.as_str().contains("connection_ack") => {}
        other => bail!("no connection_ack: {other:?}"),
    }
    let sub = json!({ "type": "subscribe", "id": "1", "payload": { "query": "subscription { taskEvents { kind taskId } }" } });
    ws.send(Message::Text(sub.to_string().into())).await?;
    Ok(tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                let at = Instant::now();
                if let Ok(v) = serde_json::from_str::<Value>(text.as_str()) {
                    if let Some(task) = v["payload"]["data"]["taskEvents"]["taskId"].as_str() {
                        if let Ok(mut r) = received.lock() {
                            r.push(Received { user, task: task.to_owned(), at });
                        }
                    }
                }
            }
        }
    }))
}
