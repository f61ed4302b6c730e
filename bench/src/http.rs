//! HTTP scenarios: closed-loop (N keep-alive connections, each its own
//! user, sending as fast as answers come) and open-loop (a fixed schedule,
//! latency measured from each request's scheduled time, so a stall is not
//! hidden by the generator waiting).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

use crate::server::Server;

pub const TASKS: &str = "{ tasks(first: 20) { edges { node { id title completed updatedAt } } pageInfo { endCursor hasNextPage } totalCount } }";

/// One seeded user: a token and a few of its task ids.
#[derive(Clone)]
pub struct User {
    pub email: String,
    pub token: String,
    pub tasks: Vec<String>,
}

/// What one run measured.
pub struct Outcome {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub latency: Histogram<u64>,
}

impl Outcome {
    pub fn json(&self, name: &str, healthz_rps: Option<f64>) -> Value {
        let rps = self.requests as f64 / self.seconds;
        let ms = |q: f64| (self.latency.value_at_quantile(q) as f64 / 1000.0 * 1000.0).round() / 1000.0;
        json!({
            "scenario": name,
            "requests_per_s": rps.round(),
            "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999),
            "max_ms": self.latency.max() as f64 / 1000.0,
            "errors": self.errors,
            "ratio_to_healthz": healthz_rps.map(|h| (rps / h * 1000.0).round() / 1000.0),
        })
    }
}

/// A tag for seeded emails, unique per call: on PostgreSQL every
/// scenario's server shares one database.
pub fn unique_tag() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// A GraphQL request body.
fn encode(query: &str, variables: Value) -> Bytes {
    Bytes::from(json!({ "query": query, "variables": variables }).to_string())
}

/// Signs one user up; its access token.
pub async fn signup(http: &reqwest::Client, gql: &str, email: &str) -> anyhow::Result<String> {
    let query = "mutation($e: String!) { signup(input: {email: $e, password: \"bench password\"}) { accessToken } }";
    let r: Value =
        http.post(gql).json(&json!({ "query": query, "variables": { "e": email } })).send().await?.json().await?;
    Ok(r["data"]["signup"]["accessToken"].as_str().with_context(|| format!("signup: {r}"))?.to_owned())
}

/// Signs up `users` users and gives each `tasks` tasks, through the API
/// (ten aliased `createTask` per request).
pub async fn seed(server: &Server, users: usize, tasks: usize) -> anyhow::Result<Vec<User>> {
    let gql = format!("{}/graphql", server.base);
    let run = unique_tag();
    let mut out = Vec::with_capacity(users);
    let http = reqwest::Client::new();
    for chunk in (0..users).collect::<Vec<_>>().chunks(16) {
        let made = futures_util::future::join_all(chunk.iter().map(|i| {
            let (http, gql) = (http.clone(), gql.clone());
            let email = format!("bench-{run}-{i}@example.com");
            async move {
                let email = email;
                let token = signup(&http, &gql, &email).await?;
                let mut ids = Vec::new();
                for batch in 0..tasks.div_ceil(10) {
                    let n = 10.min(tasks - batch * 10);
                    let doc = (0..n)
                        .map(|k| format!("t{k}: createTask(input: {{title: \"task {batch}-{k}\"}}) {{ id }}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    let r: Value = http
                        .post(&gql)
                        .bearer_auth(&token)
                        .json(&json!({ "query": format!("mutation {{ {doc} }}") }))
                        .send()
                        .await?
                        .json()
                        .await?;
                    if ids.len() < 20 {
                        ids.extend(
                            r["data"]
                                .as_object()
                                .into_iter()
                                .flatten()
                                .filter_map(|(_, v)| v["id"].as_str().map(str::to_owned)),
                        );
                    }
                }
                anyhow::Ok(User { email: email.clone(), token, tasks: ids })
            }
        }))
        .await;
        for u in made {
            out.push(u?);
        }
    }
    Ok(out)
}

/// The same users, each authenticating with a read-only API token
/// (CONTRACT §10) instead of its JWT.
pub async fn with_api_tokens(server: &Server, users: &[User]) -> anyhow::Result<Vec<User>> {
    let gql = format!("{}/graphql", server.base);
    let http = reqwest::Client::new();
    let query = "mutation { createApiToken(input: {name: \"bench\", scopes: [TASKS_READ]}) { token } }";
    let mut out = Vec::with_capacity(users.len());
    for user in users {
        let r: Value =
            http.post(&gql).bearer_auth(&user.token).json(&json!({ "query": query })).send().await?.json().await?;
        let token = r["data"]["createApiToken"]["token"].as_str().with_context(|| format!("createApiToken: {r}"))?;
        out.push(User { token: token.to_owned(), ..user.clone() });
    }
    Ok(out)
}

/// What a connection sends next.
#[derive(Clone, Copy)]
pub enum Load {
    Healthz,
    Typename,
    Tasks,
    /// 80 % tasks, 15 % createTask / setTaskCompleted, 5 % task(id).
    Mixed,
    Login,
}

/// One keep-alive HTTP/1.1 connection on hyper's bare client: no pool,
/// URL parsing or redirect logic per request, so the generator leaves as
/// much of the shared CPU as it can to the server. Reconnects after an error.
struct Conn {
    authority: String,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    fn new(base: &str) -> anyhow::Result<Self> {
        let authority = base.strip_prefix("http://").context("--url must be http://host:port")?.to_owned();
        let host = HeaderValue::from_str(&authority)?;
        Ok(Self { authority, host, sender: None })
    }

    async fn sender(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(&self.authority).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().context("no connection")?;
        sender.ready().await?;
        Ok(sender)
    }

    /// Status and body of one request; the connection is dropped on error.
    async fn send(&mut self, request: Request<Full<Bytes>>) -> anyhow::Result<(StatusCode, Bytes)> {
        let result = async {
            let response = self.sender().await?.send_request(request).await?;
            let status = response.status();
            Ok((status, response.into_body().collect().await?.to_bytes()))
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    fn get(&self, path: &str) -> Request<Full<Bytes>> {
        let mut r = Request::new(Full::new(Bytes::new()));
        *r.uri_mut() = Uri::try_from(path).unwrap_or_default();
        r.headers_mut().insert(HOST, self.host.clone());
        r
    }

    fn post(&self, auth: Option<&HeaderValue>, body: Bytes) -> Request<Full<Bytes>> {
        let mut r = Request::new(Full::new(body));
        *r.method_mut() = Method::POST;
        *r.uri_mut() = Uri::from_static("/graphql");
        let h = r.headers_mut();
        h.insert(HOST, self.host.clone());
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(auth) = auth {
            h.insert(AUTHORIZATION, auth.clone());
        }
        r
    }
}

/// The request bodies of one connection, encoded once.
struct Bodies {
    auth: HeaderValue,
    typename: Bytes,
    tasks: Bytes,
    login: Bytes,
}

impl Bodies {
    fn of(user: &User) -> anyhow::Result<Self> {
        Ok(Self {
            auth: HeaderValue::from_str(&format!("Bearer {}", user.token))?,
            typename: encode("{ __typename }", json!({})),
            tasks: encode(TASKS, json!({})),
            login: encode(
                "mutation($e: String!) { login(input: {email: $e, password: \"bench password\"}) { accessToken } }",
                json!({ "e": user.email }),
            ),
        })
    }
}

async fn one(conn: &mut Conn, bodies: &Bodies, user: &User, load: Load, n: u64) -> bool {
    let auth = Some(&bodies.auth);
    let request = match load {
        Load::Healthz => conn.get("/healthz"),
        Load::Typename => conn.post(auth, bodies.typename.clone()),
        Load::Tasks => conn.post(auth, bodies.tasks.clone()),
        Load::Login => conn.post(None, bodies.login.clone()),
        Load::Mixed => {
            let id = user.tasks.get((n as usize) % user.tasks.len().max(1)).cloned().unwrap_or_default();
            match n % 20 {
                0..=15 => conn.post(auth, bodies.tasks.clone()),
                16 => conn.post(auth, encode("mutation { createTask(input: {title: \"mixed\"}) { id } }", json!({}))),
                17 | 18 => conn.post(
                    auth,
                    encode(
                        "mutation($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { id } }",
                        json!({ "id": id, "c": n.is_multiple_of(2) }),
                    ),
                ),
                _ => conn.post(auth, encode("query($id: ID!) { task(id: $id) { id title } }", json!({ "id": id }))),
            }
        }
    };
    match conn.send(request).await {
        // A GraphQL error is an error here too (a login storm expects them).
        Ok((status, body)) if status.is_success() => {
            matches!(load, Load::Login | Load::Healthz) || !body.windows(9).any(|w| w == b"\"errors\":")
        }
        Ok(_) => matches!(load, Load::Login),
        Err(_) => false,
    }
}

/// How a connection paces its requests.
#[derive(Clone, Copy)]
enum Pacing {
    /// As fast as answers come, until the deadline.
    Closed { deadline: Instant },
    /// One request per `interval` from `first` (latency counts from each
    /// scheduled time, so a stall is not hidden), until `end`.
    Open { first: Instant, interval: Duration, end: Instant },
}

/// `connections` connections, each as fast as answers come, for `seconds`.
pub async fn closed_loop(
    base: &str,
    users: &[User],
    connections: usize,
    load: Load,
    seconds: f64,
) -> anyhow::Result<Outcome> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    drive(base, users, connections, load, |_| Pacing::Closed { deadline }).await
}

/// `connections` connections sending `rate` requests/s in total on a fixed
/// schedule; latency counts from each request's scheduled time.
pub async fn open_loop(
    base: &str,
    users: &[User],
    connections: usize,
    load: Load,
    rate: f64,
    seconds: f64,
) -> anyhow::Result<Outcome> {
    let interval = Duration::from_secs_f64(connections as f64 / rate);
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs_f64(seconds);
    // Spread the connections' first requests over one interval.
    let pacing =
        |c: usize| Pacing::Open { first: start + interval.mul_f64(c as f64 / connections as f64), interval, end };
    let mut outcome = drive(base, users, connections, load, pacing).await?;
    outcome.seconds = seconds;
    Ok(outcome)
}

/// Runs the connections, each paced by `pacing(its index)`, and merges
/// what they measured.
async fn drive(
    base: &str,
    users: &[User],
    connections: usize,
    load: Load,
    pacing: impl Fn(usize) -> Pacing,
) -> anyhow::Result<Outcome> {
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?));
    let (count, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (user, hist, count, errors) = (users[c % users.len()].clone(), hist.clone(), count.clone(), errors.clone());
        let mut conn = Conn::new(base)?;
        let bodies = Bodies::of(&user)?;
        let pacing = pacing(c);
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).ok();
            let mut n = c as u64;
            let mut next = match pacing {
                Pacing::Open { first, .. } => first,
                Pacing::Closed { .. } => Instant::now(),
            };
            loop {
                let scheduled = match pacing {
                    Pacing::Closed { deadline } if Instant::now() < deadline => Instant::now(),
                    Pacing::Open { end, .. } if next < end => {
                        tokio::time::sleep_until(next.into()).await;
                        next
                    }
                    _ => break,
                };
                let ok = one(&mut conn, &bodies, &user, load, n).await;
                n += 1;
                if let Some(h) = local.as_mut() {
                    let _ = h.record(scheduled.elapsed().as_micros().clamp(1, 120_000_000) as u64);
                }
                count.fetch_add(1, Ordering::Relaxed);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                if let Pacing::Open { interval, .. } = pacing {
                    next += interval;
                }
            }
            if let (Some(l), Ok(mut h)) = (local, hist.lock()) {
                let _ = h.add(l);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let latency = hist.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    Ok(Outcome { requests: count.load(Ordering::Relaxed), errors: errors.load(Ordering::Relaxed), seconds, latency })
}
